package media

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"
)

// ErrNoRemote is returned by WriteRTP and WriteRTCP while a socket has no
// address to send to: none was set, or SDP put the leg on hold with 0.0.0.0,
// and no packet has latched a peer yet.
var ErrNoRemote = errors.New("media: no remote address")

// Socket is one leg's media endpoint at the switch: an RTP UDP socket on an
// even port and an RTCP UDP socket on the next (odd) port, with one reader
// goroutine each. Get one from [PortAllocator.Open].
//
// Received packets go to the socket's [Sink]; packets are sent with WriteRTP
// and WriteRTCP to the current peer (see [Socket.SetRemote] for latching).
// All methods are safe for concurrent use.
type Socket struct {
	rtpConn  *net.UDPConn
	rtcpConn *net.UDPConn
	local    netip.AddrPort
	stats    *Stats
	alloc    *PortAllocator
	slot     int
	epoch    time.Time // monotonic origin of lastRTP

	sink     atomic.Pointer[sinkRef]
	rtpPeer  atomic.Pointer[peer]
	rtcpPeer atomic.Pointer[peer]
	mux      atomic.Bool
	lastRTP  atomic.Int64 // nanoseconds since epoch + 1; 0 = nothing received yet
	closing  atomic.Bool

	readers   sync.WaitGroup
	closeOnce sync.Once
	closeErr  error

	rtpBuf  [bufSize]byte
	rtcpBuf [bufSize]byte
}

// newSocket wraps a bound RTP/RTCP pair and starts its readers.
func newSocket(rtpConn, rtcpConn *net.UDPConn, local netip.AddrPort, alloc *PortAllocator, slot int) *Socket {
	s := &Socket{
		rtpConn:  rtpConn,
		rtcpConn: rtcpConn,
		local:    local,
		stats:    alloc.stats,
		alloc:    alloc,
		slot:     slot,
		epoch:    time.Now(),
	}
	s.rtpPeer.Store(&peer{})
	s.rtcpPeer.Store(&peer{})
	s.readers.Add(2)
	go s.read(s.rtpConn, s.rtpBuf[:], &s.rtpPeer, classify)
	go s.read(s.rtcpConn, s.rtcpBuf[:], &s.rtcpPeer, classifyRTCP)
	return s
}

// LocalAddr is the RTP address the socket is bound to; RTCP is on the next port.
func (s *Socket) LocalAddr() netip.AddrPort { return s.local }

// LocalRTCPAddr is the RTCP address the socket is bound to.
func (s *Socket) LocalRTCPAddr() netip.AddrPort {
	return netip.AddrPortFrom(s.local.Addr(), s.local.Port()+1)
}

// SetRemote sets the peer's RTP address from SDP and re-arms latching for RTP
// and RTCP: packets go to rtp until the next packet received, whose source
// becomes the peer. RTCP goes to rtp's port + 1 (or to the latched RTP
// address's port + 1) unless [Socket.SetRemoteRTCP] says otherwise.
//
// A zero or unspecified address (c=IN IP4 0.0.0.0, the old way to hold) means
// send nothing until a packet latches.
func (s *Socket) SetRemote(rtp netip.AddrPort) {
	s.rtpPeer.Store(&peer{addr: normalize(rtp)})
	s.rtcpPeer.Store(&peer{})
}

// SetRemoteRTCP sets the peer's RTCP address (SDP a=rtcp) and re-arms RTCP
// latching.
func (s *Socket) SetRemoteRTCP(rtcp netip.AddrPort) {
	s.rtcpPeer.Store(&peer{addr: normalize(rtcp), fixed: true})
}

// SetRTCPMux turns RTCP multiplexing (RFC 5761, a=rtcp-mux) on or off for
// sending: when on, WriteRTCP sends from the RTP port to the peer's RTP
// address. RTCP arriving muxed on the RTP port is accepted either way.
func (s *Socket) SetRTCPMux(on bool) { s.mux.Store(on) }

// Remote is the current RTP peer: the latched source, or else the address
// from SetRemote. It is the zero AddrPort before SetRemote and any packet.
func (s *Socket) Remote() netip.AddrPort { return s.rtpPeer.Load().addr }

// RemoteRTCP is where WriteRTCP sends now; the zero AddrPort if nowhere.
func (s *Socket) RemoteRTCP() netip.AddrPort {
	if s.mux.Load() {
		return s.Remote()
	}
	if p := s.rtcpPeer.Load(); p.latched || p.fixed {
		return p.addr
	}
	rtp := s.rtpPeer.Load().addr
	if !sendable(rtp) || rtp.Port() == 65535 {
		return netip.AddrPort{}
	}
	return netip.AddrPortFrom(rtp.Addr(), rtp.Port()+1)
}

// SetSink atomically replaces where received packets go; nil drops them (and
// counts them in Stats.DroppedNoSink). A packet already being delivered may
// still reach the previous sink.
func (s *Socket) SetSink(k Sink) {
	if k == nil {
		s.sink.Store(nil)
		return
	}
	s.sink.Store(&sinkRef{sink: k})
}

// replaceSink swaps old for k only if old is the current sink, so that a
// component detaching itself never removes a sink installed after it.
// old must hold a comparable type.
func (s *Socket) replaceSink(old, k Sink) bool {
	var next *sinkRef
	if k != nil {
		next = &sinkRef{sink: k}
	}
	for {
		cur := s.sink.Load()
		if cur == nil || cur.sink != old {
			return false
		}
		if s.sink.CompareAndSwap(cur, next) {
			return true
		}
	}
}

// WriteRTP sends one RTP packet to the current peer. It returns ErrNoRemote
// (and counts a drop) when there is no peer to send to. It does not allocate.
func (s *Socket) WriteRTP(b []byte) error {
	to := s.rtpPeer.Load().addr
	if !sendable(to) {
		s.stats.drop(&s.stats.DroppedNoRemote)
		return ErrNoRemote
	}
	if _, err := s.rtpConn.WriteToUDPAddrPort(b, to); err != nil {
		s.stats.drop(&s.stats.WriteErrors)
		return err
	}
	return nil
}

// WriteRTCP sends one (compound) RTCP packet to the peer's RTCP address, or
// muxed to its RTP address after SetRTCPMux(true). Like WriteRTP it returns
// ErrNoRemote when there is nowhere to send and does not allocate.
func (s *Socket) WriteRTCP(b []byte) error {
	conn := s.rtcpConn
	if s.mux.Load() {
		conn = s.rtpConn
	}
	to := s.RemoteRTCP()
	if !sendable(to) {
		s.stats.drop(&s.stats.DroppedNoRemote)
		return ErrNoRemote
	}
	if _, err := conn.WriteToUDPAddrPort(b, to); err != nil {
		s.stats.drop(&s.stats.WriteErrors)
		return err
	}
	return nil
}

// LastReceived is when the last RTP packet from the peer arrived, or the zero
// Time if none has. It carries a monotonic clock reading, so time.Since on it
// is immune to wall-clock steps. RTCP does not count: a peer that sends only
// RTCP sends no media.
func (s *Socket) LastReceived() time.Time {
	n := s.lastRTP.Load()
	if n == 0 {
		return time.Time{}
	}
	return s.epoch.Add(time.Duration(n - 1))
}

// Close closes both UDP sockets, waits for the reader goroutines to return
// and gives the port pair back to the allocator. It is idempotent. It must
// not be called from this socket's own Sink callbacks (it would wait for
// itself).
func (s *Socket) Close() error {
	s.closeOnce.Do(func() {
		s.closing.Store(true)
		err := errors.Join(s.rtpConn.Close(), s.rtcpConn.Close())
		s.readers.Wait()
		s.alloc.release(s.slot)
		if err != nil {
			s.closeErr = fmt.Errorf("media: close socket %s: %w", s.local, err)
		}
	})
	return s.closeErr
}

// read is a reader goroutine: it owns buf, checks each packet, latches or
// checks its source against p and hands it to the sink. Nothing here
// allocates or logs per packet.
func (s *Socket) read(conn *net.UDPConn, buf []byte, p *atomic.Pointer[peer], kindOf func([]byte) packetKind) {
	defer s.readers.Done()
	st := s.stats
	for {
		n, from, err := conn.ReadFromUDPAddrPort(buf)
		if err != nil {
			if errors.Is(err, net.ErrClosed) || s.closing.Load() {
				return
			}
			continue // transient (e.g. a truncated or refused datagram): keep reading
		}
		pkt := buf[:n]
		kind := kindOf(pkt)
		if kind == kindInvalid {
			st.drop(&st.DroppedInvalid)
			continue
		}
		ok, latched := latch(p, from)
		if !ok {
			st.drop(&st.DroppedForeign)
			continue
		}
		if latched {
			st.Latches.Add(1)
		}
		ref := s.sink.Load()
		if kind == kindRTP {
			s.lastRTP.Store(int64(time.Since(s.epoch)) + 1)
			st.PacketsReceived.Add(1)
			st.BytesReceived.Add(uint64(n))
			if ref == nil {
				st.drop(&st.DroppedNoSink)
				continue
			}
			ref.sink.HandleRTP(pkt, s)
			continue
		}
		st.RTCPReceived.Add(1)
		if ref == nil {
			st.drop(&st.DroppedNoSink)
			continue
		}
		ref.sink.HandleRTCP(pkt, s)
	}
}
