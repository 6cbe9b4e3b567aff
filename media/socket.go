package media

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"

	"github.com/switchboard-voice/switchboard/media/dtmf"
	"github.com/switchboard-voice/switchboard/media/quality"
)

// ErrNoRemote is returned by WriteRTP and WriteRTCP while a socket has no
// address to send to: none was set, or SDP put the leg on hold with 0.0.0.0,
// and no packet has latched a peer yet.
var ErrNoRemote = errors.New("media: no remote address")

// PacketConn is the packet transport a [Socket] reads and writes: a UDP
// socket (*net.UDPConn satisfies it) or anything that carries datagrams
// between the switch and one party, such as the tracks of a WebRTC
// PeerConnection.
//
// ReadFromUDPAddrPort blocks until a packet arrives and returns its source;
// after Close it must return an error wrapping [net.ErrClosed]. Other read
// errors are taken as transient and reading goes on. A socket's reader
// goroutine is the only caller of ReadFromUDPAddrPort, with the socket's own
// buffer; WriteToUDPAddrPort may be called from any goroutine and must not
// keep b after it returns. Neither should allocate: they are on the hot path.
type PacketConn interface {
	ReadFromUDPAddrPort(b []byte) (n int, addr netip.AddrPort, err error)
	WriteToUDPAddrPort(b []byte, addr netip.AddrPort) (int, error)
	Close() error
}

var _ PacketConn = (*net.UDPConn)(nil)

// SocketOptions describe a [Socket] made with [NewSocket] over transports
// that did not come from a [PortAllocator].
type SocketOptions struct {
	// RTP and RTCP carry the two halves of the stream; both are required,
	// and the socket owns them (Close closes them).
	RTP, RTCP PacketConn
	// Local is the address the socket reports as its own (LocalAddr; RTCP
	// is said to be on the next port). It is informational: nothing binds it.
	Local netip.AddrPort
	// Stats receives the socket's counters; nil gives it counters of its own.
	Stats *Stats
	// RTCPInterval is how often the socket sends an RTCP report of its
	// own to its peer; 0 sends none.
	RTCPInterval time.Duration
	// Pushed: the transport has a reader of its own, which hands packets in
	// with [Socket.ReceiveRTP] and [Socket.ReceiveRTCP] (one goroutine
	// each); the socket starts no reader and only writes to RTP and RTCP.
	Pushed bool
}

// ErrSocketOptions is returned (wrapped) by NewSocket for incomplete options.
var ErrSocketOptions = errors.New("media: bad socket options")

// NewSocket starts a socket over o.RTP and o.RTCP, with its reader
// goroutines (none when o.Pushed). It behaves as one from [PortAllocator.Open], except that Close
// gives no port back, and that a [Transcoder] between it and a socket of an
// allocator is paced by the allocator's media clock (between two sockets of
// NewSocket, by a clock of the first one's own).
func NewSocket(o SocketOptions) (*Socket, error) {
	if o.RTP == nil || o.RTCP == nil {
		return nil, fmt.Errorf("%w: RTP and RTCP transports are required", ErrSocketOptions)
	}
	if o.Stats == nil {
		o.Stats = new(Stats)
	}
	return newSocket(o, nil, 0, new(mediaClock)), nil
}

// Socket is one leg's media endpoint at the switch: an RTP UDP socket on an
// even port and an RTCP UDP socket on the next (odd) port, with one reader
// goroutine each. Get one from [PortAllocator.Open], or make one over other
// transports with [NewSocket].
//
// Received packets go to the socket's [Sink]; packets are sent with WriteRTP
// and WriteRTCP to the current peer (see [Socket.SetRemote] for latching).
// All methods are safe for concurrent use.
type Socket struct {
	rtpConn  PacketConn
	rtcpConn PacketConn
	local    netip.AddrPort
	stats    *Stats
	alloc    *PortAllocator // nil for a socket of NewSocket
	slot     int
	clock    *mediaClock // paces transcoders (see transcoderClock)
	epoch    time.Time   // monotonic origin of lastRTP

	sink     atomic.Pointer[sinkRef]
	taps     atomic.Pointer[[]Sink] // see AddTap; nil: none
	rtpPeer  atomic.Pointer[peer]
	rtcpPeer atomic.Pointer[peer]
	mux      atomic.Bool
	lastRTP  atomic.Int64 // nanoseconds since epoch + 1; 0 = nothing received yet
	closing  atomic.Bool
	closed   chan struct{}

	cfg     atomic.Pointer[StreamConfig]
	onDTMF  atomic.Pointer[func(digit rune, d time.Duration)]
	monitor *quality.Monitor

	// Owned by the RTP reader goroutine (or ReceiveRTP's caller).
	det      *dtmf.Detector
	detClock uint32
	detLast  time.Time // when the last telephone-event packet arrived

	// wmu serialises sending RTP: the stream's numbering and the SRTP
	// output buffer.
	wmu    sync.Mutex
	out    outStream
	encBuf [bufSize + 64]byte

	dtmfMu sync.Mutex // one digit at a time

	readers   sync.WaitGroup
	closeOnce sync.Once
	closeErr  error

	rtpBuf  [bufSize]byte
	rtcpBuf [bufSize]byte
	rtcpOut [bufSize + 64]byte // owned by the report goroutine
}

// newSocket wraps an RTP/RTCP transport pair and starts its readers. alloc
// (nil for NewSocket) gets slot back on Close.
func newSocket(o SocketOptions, alloc *PortAllocator, slot int, clock *mediaClock) *Socket {
	s := &Socket{
		rtpConn:  o.RTP,
		rtcpConn: o.RTCP,
		local:    o.Local,
		stats:    o.Stats,
		alloc:    alloc,
		slot:     slot,
		clock:    clock,
		epoch:    time.Now(),
		closed:   make(chan struct{}),
		out:      newOutStream(),
	}
	s.monitor = quality.NewMonitor(quality.Options{ClockRate: 8000, SSRC: s.out.ssrc, CNAME: "switchboard@" + o.Local.String()})
	s.rtpPeer.Store(&peer{})
	s.rtcpPeer.Store(&peer{})
	if !o.Pushed {
		s.readers.Add(2)
		go s.read(s.rtpConn, s.rtpBuf[:], &s.rtpPeer, classify)
		go s.read(s.rtcpConn, s.rtcpBuf[:], &s.rtcpPeer, classifyRTCP)
	}
	if o.RTCPInterval > 0 {
		s.readers.Add(1)
		go s.report(o.RTCPInterval)
	}
	return s
}

// Configure sets what the leg negotiated for the stream (codec, events,
// SRTP, direction). It may be called while packets flow, e.g. after a
// re-INVITE; bridges read it with [Socket.Config]. The quality monitor
// expects packets from the party only while c.Sending (see
// [quality.Monitor.SetExpected]): what it does not send on hold is not loss.
func (s *Socket) Configure(c StreamConfig) {
	s.cfg.Store(&c)
	s.monitor.SetExpected(c.Sending)
	if c.Audio.ClockRate > 0 {
		s.monitor.SetClockRate(int(c.Audio.ClockRate))
		s.wmu.Lock()
		s.out.Clock = c.Audio.ClockRate
		s.wmu.Unlock()
	}
}

// Config returns the stream's configuration (the zero value before Configure).
func (s *Socket) Config() StreamConfig {
	if c := s.cfg.Load(); c != nil {
		return *c
	}
	return StreamConfig{}
}

// OnDTMF sets f to be called, on the reader goroutine, once for every digit
// the party sends as RFC 4733 telephone-events, when the digit ends. f must
// not block.
func (s *Socket) OnDTMF(f func(digit rune, d time.Duration)) { s.onDTMF.Store(&f) }

// Quality is the stream's monitor: receive statistics, RTCP reports, MOS.
func (s *Socket) Quality() *quality.Monitor { return s.monitor }

// SSRC is the synchronisation source of everything the socket sends.
func (s *Socket) SSRC() uint32 { return s.out.ssrc }

// LocalAddr is the RTP address the socket is bound to; RTCP is on the next port.
func (s *Socket) LocalAddr() netip.AddrPort { return s.local }

// LocalRTCPAddr is the RTCP address the socket is bound to.
func (s *Socket) LocalRTCPAddr() netip.AddrPort {
	return netip.AddrPortFrom(s.local.Addr(), s.local.Port()+1)
}

// SetRemote sets the peer's RTP address from SDP and re-arms latching for RTP
// and RTCP: packets go to rtp until the next packet received, whose source
// becomes the peer. The RTCP port latches only to a source on the IP address
// of the RTP peer or of the SDP's a=rtcp address (see [Socket.SetRemoteRTCP]):
// RTCP from anyone else is dropped as foreign. RTCP goes to rtp's port + 1 (or to the latched RTP
// address's port + 1) unless [Socket.SetRemoteRTCP] says otherwise.
//
// A zero or unspecified address (c=IN IP4 0.0.0.0, the old way to hold) means
// send nothing until a packet latches.
func (s *Socket) SetRemote(rtp netip.AddrPort) {
	s.rtpPeer.Store(&peer{addr: normalize(rtp)})
	s.rtcpPeer.Store(&peer{})
}

// SetRemoteStrict sets the peer's RTP address from SDP without latching:
// RTP is accepted only from rtp. For several peers sending to one socket at
// once (forked early dialogs), where latching would take whichever packet
// comes first. The RTCP peer is left as SetRemote and SetRemoteRTCP made it.
func (s *Socket) SetRemoteStrict(rtp netip.AddrPort) {
	s.rtpPeer.Store(&peer{addr: normalize(rtp), latched: true})
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
//
// The packet is renumbered in place into the socket's own stream (SSRC,
// sequence number, timestamp: see StreamConfig) and protected with SRTP when
// the stream is configured for it.
func (s *Socket) WriteRTP(b []byte) error {
	return s.writeRTP(b, false)
}

func (s *Socket) writeRTP(b []byte, injected bool) error {
	to := s.rtpPeer.Load().addr
	if !sendable(to) {
		s.stats.drop(&s.stats.DroppedNoRemote)
		return ErrNoRemote
	}
	if len(b) < rtpHeaderLen {
		return errShortRTP
	}
	now := time.Now()
	cfg := s.cfg.Load()
	s.wmu.Lock()
	if injected {
		s.out.inject(b, now)
	} else {
		s.out.rewrite(b, now)
	}
	out := b
	if cfg != nil && cfg.SRTP != nil {
		var err error
		if out, err = cfg.SRTP.EncryptRTP(s.encBuf[:0], b); err != nil {
			s.wmu.Unlock()
			s.stats.drop(&s.stats.WriteErrors)
			return err
		}
	}
	_, err := s.rtpConn.WriteToUDPAddrPort(out, to)
	s.wmu.Unlock()
	if err != nil {
		s.stats.drop(&s.stats.WriteErrors)
		return err
	}
	s.monitor.Sent(binary.BigEndian.Uint32(b[4:]), len(b)-rtpHeaderLen, now)
	return nil
}

var errShortRTP = errors.New("media: RTP packet shorter than its header")

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
	if cfg := s.cfg.Load(); cfg != nil && cfg.SRTP != nil {
		var err error
		if b, err = cfg.SRTP.EncryptRTCP(s.rtcpOut[:0], b); err != nil {
			s.stats.drop(&s.stats.WriteErrors)
			return err
		}
	}
	if _, err := conn.WriteToUDPAddrPort(b, to); err != nil {
		s.stats.drop(&s.stats.WriteErrors)
		return err
	}
	return nil
}

// report sends an RTCP report every interval while the socket is open.
func (s *Socket) report(interval time.Duration) {
	defer s.readers.Done()
	t := time.NewTicker(interval)
	defer t.Stop()
	var buf [512]byte
	for {
		select {
		case <-s.closed:
			return
		case now := <-t.C:
			if !sendable(s.Remote()) {
				continue
			}
			pkt, err := s.monitor.Report(buf[:0], now)
			if err != nil {
				continue
			}
			if s.WriteRTCP(pkt) == nil {
				s.stats.RTCPSent.Add(1)
			}
		}
	}
}

// ErrNoEvents is returned by SendDTMF on a stream without telephone-event.
var ErrNoEvents = errors.New("media: stream has no telephone-event")

// dtmfGap is the pause after a digit before the next one starts.
const dtmfGap = 50 * time.Millisecond

// SendDTMF sends digit as RFC 4733 telephone-events on the stream (start
// packet with the marker bit, updates every 20 ms, the end packet three
// times), interleaved with whatever audio the stream carries. Digits sent
// concurrently go one after the other. It returns when the digit is sent.
func (s *Socket) SendDTMF(ctx context.Context, digit rune, d time.Duration) error {
	cfg := s.cfg.Load()
	if cfg == nil || !cfg.HasEvents() {
		return ErrNoEvents
	}
	s.dtmfMu.Lock()
	defer s.dtmfMu.Unlock()
	const interval = 20 * time.Millisecond
	g := dtmf.NewGenerator(int(cfg.Event.ClockRate), interval)
	s.wmu.Lock()
	start := s.out.timestampAt(time.Now())
	s.wmu.Unlock()
	if err := g.Start(digit, d, start); err != nil {
		return err
	}
	var pkt [rtpHeaderLen + 16]byte
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		payload, marker, ts, done := g.Next(pkt[rtpHeaderLen:])
		// Sequence number and SSRC are the stream's (writeRTP injects).
		putRTPHeader(pkt[:], cfg.Event.PayloadType, marker, 0, ts, 0)
		if err := s.writeRTP(pkt[:rtpHeaderLen+len(payload)], true); err != nil && !errors.Is(err, ErrNoRemote) {
			return err
		}
		if done {
			break
		}
		select {
		case <-t.C:
		case <-ctx.Done():
			return ctx.Err()
		case <-s.closed:
			return net.ErrClosed
		}
	}
	select {
	case <-time.After(dtmfGap):
	case <-ctx.Done():
	case <-s.closed:
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

// Close closes both transports (UDP sockets), waits for the reader
// goroutines to return and gives the port pair back to the allocator, if
// the socket came from one. It is idempotent. It must not be called from
// this socket's own Sink callbacks (it would wait for itself).
func (s *Socket) Close() error {
	s.closeOnce.Do(func() {
		s.closing.Store(true)
		close(s.closed)
		err := errors.Join(s.rtpConn.Close(), s.rtcpConn.Close())
		s.readers.Wait()
		if s.alloc != nil {
			s.alloc.release(s.slot)
		}
		if err != nil {
			s.closeErr = fmt.Errorf("media: close socket %s: %w", s.local, err)
		}
	})
	return s.closeErr
}

// read is a reader goroutine: it owns buf and hands each packet to receive.
func (s *Socket) read(conn PacketConn, buf []byte, p *atomic.Pointer[peer], kindOf func([]byte) packetKind) {
	defer s.readers.Done()
	for {
		n, from, err := conn.ReadFromUDPAddrPort(buf)
		if err != nil {
			if errors.Is(err, net.ErrClosed) || s.closing.Load() {
				return
			}
			continue // transient (e.g. a truncated or refused datagram): keep reading
		}
		s.receive(buf[:n], from, p, kindOf)
	}
}

// ReceiveRTP takes an RTP packet from the transport of a Pushed socket, as
// its reader would have read it from from; pkt may be decrypted in place.
// One goroutine calls it.
func (s *Socket) ReceiveRTP(pkt []byte, from netip.AddrPort) {
	if !s.closing.Load() {
		s.receive(pkt, from, &s.rtpPeer, classify)
	}
}

// ReceiveRTCP is ReceiveRTP for RTCP (another goroutine may call it).
func (s *Socket) ReceiveRTCP(pkt []byte, from netip.AddrPort) {
	if !s.closing.Load() {
		s.receive(pkt, from, &s.rtcpPeer, classifyRTCP)
	}
}

// receive checks a packet, latches or checks its source against p and hands
// it to the sink. Nothing here allocates or logs per packet.
func (s *Socket) receive(pkt []byte, from netip.AddrPort, p *atomic.Pointer[peer], kindOf func([]byte) packetKind) {
	st := s.stats
	n := len(pkt)
	kind := kindOf(pkt)
	if kind == kindInvalid {
		st.drop(&st.DroppedInvalid)
		return
	}
	var ok, latched bool
	if p == &s.rtcpPeer {
		ok, latched = latchRTCP(p, s.rtpPeer.Load().addr, from)
	} else {
		ok, latched = latch(p, from)
	}
	if !ok {
		st.drop(&st.DroppedForeign)
		return
	}
	if latched {
		st.Latches.Add(1)
	}
	cfg := s.cfg.Load()
	if cfg != nil && cfg.SRTP != nil {
		var err error
		if kind == kindRTP {
			pkt, err = cfg.SRTP.DecryptRTP(pkt)
		} else {
			pkt, err = cfg.SRTP.DecryptRTCP(pkt)
		}
		if err != nil {
			st.drop(&st.DroppedSRTP)
			return
		}
	}
	now := time.Now()
	if kind == kindRTCP {
		// RTCP ends here: each leg is its own RTP session, measured
		// and reported by the switch (see Socket.Quality).
		st.RTCPReceived.Add(1)
		_ = s.monitor.HandleRTCP(pkt, now)
		return
	}
	s.lastRTP.Store(int64(now.Sub(s.epoch)) + 1)
	st.PacketsReceived.Add(1)
	st.BytesReceived.Add(uint64(n))
	payload := rtpPayload(pkt)
	s.monitor.Observe(binary.BigEndian.Uint16(pkt[2:]), binary.BigEndian.Uint32(pkt[4:]),
		binary.BigEndian.Uint32(pkt[8:]), pkt[1]&0x80 != 0, len(payload), now)
	if cfg != nil && cfg.HasEvents() && pkt[1]&0x7f == cfg.Event.PayloadType {
		s.detLast = now
		s.feedDTMF(pkt, payload, cfg.Event.ClockRate)
	} else if s.det != nil && s.det.Open() {
		// A digit whose end packets were all lost ends after the
		// detector's time-out, checked as audio goes on.
		if r, ok := s.det.Expire(now.Sub(s.detLast)); ok {
			s.reportDigit(r)
		}
	}
	if taps := s.taps.Load(); taps != nil {
		for _, t := range *taps {
			t.HandleRTP(pkt, s)
		}
	}
	ref := s.sink.Load()
	if ref == nil {
		st.drop(&st.DroppedNoSink)
		return
	}
	ref.sink.HandleRTP(pkt, s)
}

// AddTap adds t to the sinks that see every packet the socket receives,
// before its Sink (a relay, a transcoder) does, and whatever that sink is:
// a recorder follows a leg across every re-join of the call's media. A tap
// must not modify pkt, must copy what it keeps and must not block (hand
// the work to its own goroutine through a bounded buffer, and count what it
// drops). With no tap, the receive path costs one atomic load.
func (s *Socket) AddTap(t Sink) {
	for {
		cur := s.taps.Load()
		var next []Sink
		if cur != nil {
			next = append(next, *cur...)
		}
		next = append(next, t)
		if s.taps.CompareAndSwap(cur, &next) {
			return
		}
	}
}

// RemoveTap removes t (added with AddTap); a packet being delivered may
// still reach it.
func (s *Socket) RemoveTap(t Sink) {
	for {
		cur := s.taps.Load()
		if cur == nil {
			return
		}
		next := make([]Sink, 0, len(*cur))
		for _, x := range *cur {
			if x != t {
				next = append(next, x)
			}
		}
		p := &next
		if len(next) == 0 {
			p = nil
		}
		if s.taps.CompareAndSwap(cur, p) {
			return
		}
	}
}

// feedDTMF passes a telephone-event packet to the stream's detector and
// reports each digit once, when it ends.
func (s *Socket) feedDTMF(pkt, payload []byte, clock uint32) {
	if s.det == nil || s.detClock != clock {
		s.det, s.detClock = dtmf.NewDetector(int(clock)), clock
	}
	reports, n := s.det.Feed(pkt[1]&0x80 != 0, binary.BigEndian.Uint32(pkt[4:]), payload)
	for _, r := range reports[:n] {
		if r.End {
			s.reportDigit(r)
		}
	}
}

func (s *Socket) reportDigit(r dtmf.Report) {
	s.stats.DTMFReceived.Add(1)
	if f := s.onDTMF.Load(); f != nil {
		(*f)(r.Digit, r.Duration)
	}
}
