package media

import (
	"bytes"
	"errors"
	"net"
	"net/netip"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/pion/rtcp"
)

// listenPeerPair opens a far end's RTP and RTCP sockets on ports n and n+1.
func listenPeerPair(t *testing.T) (rtpConn, rtcpConn *net.UDPConn) {
	t.Helper()
	lo, _ := freePortRange(t, 1)
	var conns [2]*net.UDPConn
	for i := range conns {
		c, err := net.ListenUDP("udp4", net.UDPAddrFromAddrPort(netip.AddrPortFrom(loopback, uint16(lo+i))))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close() })
		conns[i] = c
	}
	return conns[0], conns[1]
}

func mkRR(t *testing.T, ssrc uint32) []byte {
	t.Helper()
	b, err := (&rtcp.ReceiverReport{SSRC: ssrc}).Marshal()
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestSocketDeliversToSinkAndSwaps(t *testing.T) {
	a, st := newTestAllocator(t, 1)
	s := openSocket(t, a)
	p := listenPeer(t)
	first, second := newCaptureSink(), newCaptureSink()

	s.SetSink(first)
	pkt := mkRTP(t, 0, 1, false)
	send(t, p, pkt, s.LocalAddr())
	if got := next(t, first.rtp); !bytes.Equal(got, pkt) {
		t.Fatalf("first sink got %x, want %x", got, pkt)
	}

	s.SetSink(second)
	pkt = mkRTP(t, 0, 2, false)
	send(t, p, pkt, s.LocalAddr())
	if got := next(t, second.rtp); !bytes.Equal(got, pkt) {
		t.Fatalf("second sink got %x, want %x", got, pkt)
	}
	if len(first.rtp) != 0 {
		t.Error("old sink still receives after SetSink")
	}

	s.SetSink(nil)
	send(t, p, mkRTP(t, 0, 3, false), s.LocalAddr())
	waitFor(t, "a no-sink drop", func() bool { return st.DroppedNoSink.Load() == 1 })
	if got := st.Snapshot(); got.PacketsReceived != 3 || got.PacketsDropped != 1 {
		t.Errorf("stats %+v, want 3 received, 1 dropped", got)
	}
}

func TestSocketDropsGarbageAcceptsMuxedRTCP(t *testing.T) {
	a, st := newTestAllocator(t, 1)
	s := openSocket(t, a)
	sink := newCaptureSink()
	s.SetSink(sink)
	stranger, p := listenPeer(t), listenPeer(t)

	good := mkRTP(t, 0, 1, false)
	// Garbage from a stranger must neither reach the sink nor latch.
	send(t, stranger, []byte("hello"), s.LocalAddr())                   // too short
	send(t, stranger, append([]byte{0x40}, good[1:]...), s.LocalAddr()) // version 1
	send(t, stranger, bytes.Repeat([]byte{0xff}, 100), s.LocalAddr())   // version 3
	send(t, stranger, good, s.LocalRTCPAddr())                          // RTP on the RTCP port
	waitFor(t, "4 invalid drops", func() bool { return st.DroppedInvalid.Load() == 4 })

	rr := mkRR(t, 7)
	send(t, p, rr, s.LocalAddr()) // RTCP muxed on the RTP port (RFC 5761): accepted, latches, ends at the socket
	waitFor(t, "muxed RTCP counted", func() bool { return st.RTCPReceived.Load() == 1 })
	send(t, p, good, s.LocalAddr())
	if got := next(t, sink.rtp); !bytes.Equal(got, good) {
		t.Fatalf("RTP delivered as %x, want %x (the RTCP must not reach the sink)", got, good)
	}
	if len(sink.rtp) != 0 {
		t.Error("garbage reached the sink")
	}
	snap := st.Snapshot()
	if snap.Latches != 1 || snap.DroppedForeign != 0 || snap.RTCPReceived != 1 || snap.PacketsReceived != 1 {
		t.Errorf("stats %+v, want 1 latch, no foreign drop, 1 RTCP, 1 RTP", snap)
	}
	if s.Remote() != addrOf(p) {
		t.Errorf("latched %s, want %s", s.Remote(), addrOf(p))
	}
}

func TestSocketSendsToSDPRemoteUntilLatched(t *testing.T) {
	a, st := newTestAllocator(t, 1)
	s := openSocket(t, a)
	sdp, nat := listenPeer(t), listenPeer(t)
	s.SetRemote(addrOf(sdp))

	orig := mkRTP(t, 0, 1, false)
	pkt := append([]byte(nil), orig...)
	if err := s.WriteRTP(pkt); err != nil {
		t.Fatal(err)
	}
	// WriteRTP renumbers the packet in place into the socket's stream:
	// pkt is what was sent.
	got, from := recvPacket(t, sdp)
	if !bytes.Equal(got, pkt) || from != s.LocalAddr() {
		t.Fatalf("SDP remote got %x from %s, want %x", got, from, pkt)
	}
	mustRelayed(t, got, orig, s)

	// The peer's packets come from another address (NAT): latch onto it.
	send(t, nat, mkRTP(t, 0, 1, false), s.LocalAddr())
	waitFor(t, "a latch", func() bool { return s.Remote() == addrOf(nat) })
	if err := s.WriteRTP(pkt); err != nil {
		t.Fatal(err)
	}
	if got, from := recvPacket(t, nat); !bytes.Equal(got, pkt) || from != s.LocalAddr() {
		t.Fatalf("latched peer got %x from %s", got, from)
	}
	expectSilence(t, sdp)
	waitFor(t, "the latch counted", func() bool { return st.Latches.Load() == 1 })
}

func TestSocketDropsForeignSourceAndSetRemoteRearms(t *testing.T) {
	a, st := newTestAllocator(t, 1)
	s := openSocket(t, a)
	sink := newCaptureSink()
	s.SetSink(sink)
	p, hijacker, q := listenPeer(t), listenPeer(t), listenPeer(t)
	s.SetRemote(addrOf(p))

	send(t, p, mkRTP(t, 0, 1, false), s.LocalAddr())
	next(t, sink.rtp)
	send(t, hijacker, mkRTP(t, 0, 99, false), s.LocalAddr())
	send(t, hijacker, mkRR(t, 99), s.LocalAddr())
	waitFor(t, "2 foreign drops", func() bool { return st.DroppedForeign.Load() == 2 })
	send(t, p, mkRTP(t, 0, 2, false), s.LocalAddr())
	if seq := parseRTP(t, next(t, sink.rtp)).SequenceNumber; seq != 2 {
		t.Fatalf("sink got seq %d, want 2 (the hijacker's packet must be dropped)", seq)
	}
	if s.Remote() != addrOf(p) {
		t.Fatalf("remote moved to %s", s.Remote())
	}

	// A re-INVITE moves the peer: send to the new SDP address, latch again.
	s.SetRemote(addrOf(q))
	if err := s.WriteRTP(mkRTP(t, 0, 3, false)); err != nil {
		t.Fatal(err)
	}
	recvPacket(t, q)
	send(t, q, mkRTP(t, 0, 4, false), s.LocalAddr())
	if seq := parseRTP(t, next(t, sink.rtp)).SequenceNumber; seq != 4 {
		t.Fatalf("sink got seq %d, want 4", seq)
	}
	send(t, p, mkRTP(t, 0, 5, false), s.LocalAddr())
	waitFor(t, "the old peer dropped", func() bool { return st.DroppedForeign.Load() == 3 })
	if n := st.Latches.Load(); n != 2 {
		t.Errorf("Latches = %d, want 2", n)
	}
}

func TestSocketHoldAddressSendsNothingUntilLatched(t *testing.T) {
	a, st := newTestAllocator(t, 1)
	s := openSocket(t, a)
	p := listenPeer(t)
	pkt := mkRTP(t, 0, 1, false)

	if err := s.WriteRTP(pkt); !errors.Is(err, ErrNoRemote) {
		t.Fatalf("WriteRTP before SetRemote = %v, want ErrNoRemote", err)
	}
	s.SetRemote(netip.MustParseAddrPort("0.0.0.0:5004"))
	if err := s.WriteRTP(pkt); !errors.Is(err, ErrNoRemote) {
		t.Fatalf("WriteRTP on hold = %v, want ErrNoRemote", err)
	}
	if err := s.WriteRTCP(mkRR(t, 1)); !errors.Is(err, ErrNoRemote) {
		t.Fatalf("WriteRTCP on hold = %v, want ErrNoRemote", err)
	}
	if got := st.Snapshot(); got.DroppedNoRemote != 3 || got.PacketsDropped != 3 {
		t.Errorf("stats %+v, want 3 no-remote drops", got)
	}

	send(t, p, pkt, s.LocalAddr())
	waitFor(t, "a latch", func() bool { return s.Remote() == addrOf(p) })
	if err := s.WriteRTP(pkt); err != nil {
		t.Fatal(err)
	}
	recvPacket(t, p)
}

func TestSocketRTCPAddressing(t *testing.T) {
	a, st := newTestAllocator(t, 1)
	s := openSocket(t, a)
	sink := newCaptureSink()
	s.SetSink(sink)
	peerRTP, peerRTCP := listenPeerPair(t)
	rr := mkRR(t, 1)

	// Derived: RTP port + 1.
	s.SetRemote(addrOf(peerRTP))
	if err := s.WriteRTCP(rr); err != nil {
		t.Fatal(err)
	}
	if got, from := recvPacket(t, peerRTCP); !bytes.Equal(got, rr) || from != s.LocalRTCPAddr() {
		t.Fatalf("derived RTCP peer got %x from %s", got, from)
	}

	// Explicit (a=rtcp), then latched on the first RTCP packet received.
	explicit, natted := listenPeer(t), listenPeer(t)
	s.SetRemoteRTCP(addrOf(explicit))
	if err := s.WriteRTCP(rr); err != nil {
		t.Fatal(err)
	}
	recvPacket(t, explicit)
	send(t, natted, rr, s.LocalRTCPAddr())
	waitFor(t, "RTCP counted", func() bool { return st.RTCPReceived.Load() == 1 })
	if len(sink.rtp) != 0 {
		t.Fatal("RTCP reached the sink")
	}
	if s.RemoteRTCP() != addrOf(natted) {
		t.Fatalf("RTCP remote %s, want latched %s", s.RemoteRTCP(), addrOf(natted))
	}
	if err := s.WriteRTCP(rr); err != nil {
		t.Fatal(err)
	}
	recvPacket(t, natted)

	// rtcp-mux: RTCP leaves the RTP port for the RTP peer.
	s.SetRTCPMux(true)
	if err := s.WriteRTCP(rr); err != nil {
		t.Fatal(err)
	}
	if got, from := recvPacket(t, peerRTP); !bytes.Equal(got, rr) || from != s.LocalAddr() {
		t.Fatalf("muxed RTCP got %x from %s", got, from)
	}
}

func TestSocketLastReceived(t *testing.T) {
	a, st := newTestAllocator(t, 1)
	s := openSocket(t, a)
	sink := newCaptureSink()
	s.SetSink(sink)
	p := listenPeer(t)
	if !s.LastReceived().IsZero() {
		t.Fatal("LastReceived set before any packet")
	}
	send(t, p, mkRR(t, 1), s.LocalAddr())
	waitFor(t, "RTCP counted", func() bool { return st.RTCPReceived.Load() == 1 })
	if !s.LastReceived().IsZero() {
		t.Fatal("RTCP counted as media")
	}
	before := time.Now()
	send(t, p, mkRTP(t, 0, 1, false), s.LocalAddr())
	next(t, sink.rtp)
	got := s.LastReceived()
	if got.Before(before) || got.After(time.Now()) {
		t.Fatalf("LastReceived %v not within [%v, now]", got, before)
	}
}

// socketGoroutines counts the goroutines running a socket's reader: the
// whole process's count moves with other tests' goroutines ending late.
func socketGoroutines() int {
	buf := make([]byte, 1<<20)
	for {
		n := runtime.Stack(buf, true)
		if n < len(buf) {
			return strings.Count(string(buf[:n]), "media.(*Socket).read(")
		}
		buf = make([]byte, 2*len(buf))
	}
}

func TestSocketCloseStopsReaders(t *testing.T) {
	a, _ := newTestAllocator(t, 4)
	before := socketGoroutines()
	var socks []*Socket
	for i := 0; i < 4; i++ {
		s, err := a.Open()
		if err != nil {
			t.Fatal(err)
		}
		socks = append(socks, s)
	}
	// Two readers per socket (RTP and RTCP), once their goroutines run.
	waitFor(t, "8 socket readers", func() bool { return socketGoroutines() >= before+8 })
	for _, s := range socks {
		s.SetRemote(netip.MustParseAddrPort("127.0.0.1:9"))
		if err := s.Close(); err != nil {
			t.Fatal(err)
		}
		if err := s.Close(); err != nil {
			t.Fatalf("second Close: %v", err)
		}
		if err := s.WriteRTP(mkRTP(t, 0, 1, false)); !errors.Is(err, net.ErrClosed) {
			t.Errorf("WriteRTP after Close = %v, want net.ErrClosed", err)
		}
	}
	waitFor(t, "reader goroutines to exit", func() bool { return socketGoroutines() <= before })
	if n := a.InUse(); n != 0 {
		t.Errorf("InUse = %d after closing all, want 0", n)
	}
}
