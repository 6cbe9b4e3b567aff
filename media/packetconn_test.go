package media

import (
	"errors"
	"net"
	"net/netip"
	"runtime"
	"sync"
	"testing"
)

// memConn is a PacketConn of the test's own: packets put on in are read
// from from; packets written go to out.
type memConn struct {
	in   chan []byte
	out  chan []byte
	from netip.AddrPort

	once   sync.Once
	closed chan struct{}
}

func newMemConn(from netip.AddrPort) *memConn {
	return &memConn{in: make(chan []byte, 16), out: make(chan []byte, 16), from: from, closed: make(chan struct{})}
}

func (c *memConn) ReadFromUDPAddrPort(b []byte) (int, netip.AddrPort, error) {
	select {
	case p := <-c.in:
		return copy(b, p), c.from, nil
	case <-c.closed:
		return 0, netip.AddrPort{}, net.ErrClosed
	}
}

func (c *memConn) WriteToUDPAddrPort(b []byte, _ netip.AddrPort) (int, error) {
	select {
	case <-c.closed:
		return 0, net.ErrClosed
	case c.out <- append([]byte(nil), b...):
		return len(b), nil
	default:
		return 0, errors.New("memConn: out full")
	}
}

func (c *memConn) Close() error {
	c.once.Do(func() { close(c.closed) })
	return nil
}

var memPeer = netip.MustParseAddrPort("[100::1]:9")

func newMemSocket(t *testing.T, stats *Stats) (*Socket, *memConn, *memConn) {
	t.Helper()
	rtp, rtcp := newMemConn(memPeer), newMemConn(memPeer)
	s, err := NewSocket(SocketOptions{RTP: rtp, RTCP: rtcp, Local: netip.MustParseAddrPort("[100::2]:9"), Stats: stats})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s, rtp, rtcp
}

func TestNewSocketNeedsTransports(t *testing.T) {
	if _, err := NewSocket(SocketOptions{RTP: newMemConn(memPeer)}); !errors.Is(err, ErrSocketOptions) {
		t.Fatalf("NewSocket without RTCP: %v, want ErrSocketOptions", err)
	}
}

// TestNewSocketRelaysWithUDPSocket relays both ways between a socket over
// UDP (from an allocator) and one over another transport.
func TestNewSocketRelaysWithUDPSocket(t *testing.T) {
	before := runtime.NumGoroutine()
	alloc, st := newTestAllocator(t, 1)
	udp := openSocket(t, alloc)
	p := listenPeer(t)
	udp.SetRemote(addrOf(p))
	mem, in, rtcpConn := newMemSocket(t, nil)
	if mem.LocalAddr() != netip.MustParseAddrPort("[100::2]:9") {
		t.Fatalf("LocalAddr %v", mem.LocalAddr())
	}
	r := NewRelay(udp, mem)

	// Nothing to send to before a packet latches or SetRemote.
	if err := mem.WriteRTP(mkRTP(t, 0, 1, false)); !errors.Is(err, ErrNoRemote) {
		t.Fatalf("WriteRTP without a peer: %v", err)
	}
	sent := mkRTP(t, 0, 10, true)
	in.in <- sent
	got, _ := recvPacket(t, p)
	mustRelayed(t, got, sent, udp)
	if mem.Remote() != memPeer {
		t.Fatalf("latched %v, want %v", mem.Remote(), memPeer)
	}
	sent = mkRTP(t, 0, 20, false)
	send(t, p, sent, udp.LocalAddr())
	mustRelayed(t, next(t, in.out), sent, mem)
	in.in <- mkRR(t, 1)
	in.in <- []byte("not RTP")
	rtcpConn.in <- mkRR(t, 2)
	waitFor(t, "RTCP counted", func() bool { return mem.stats.RTCPReceived.Load() == 2 })
	waitFor(t, "garbage counted", func() bool { return mem.stats.DroppedInvalid.Load() == 1 })
	if mem.stats == st || mem.stats.PacketsReceived.Load() != 1 || st.PacketsRelayed.Load() != 1 {
		t.Fatalf("stats: own %+v, allocator's %+v", mem.stats.Snapshot(), st.Snapshot())
	}

	r.Stop()
	if err := mem.Close(); err != nil {
		t.Fatal(err)
	}
	if !closed(in.closed) || !closed(rtcpConn.closed) {
		t.Fatal("Close left the transports open")
	}
	if n := alloc.InUse(); n != 1 {
		t.Fatalf("allocator InUse %d after closing the other socket, want 1", n)
	}
	udp.Close()
	waitFor(t, "reader goroutines to exit", func() bool { return runtime.NumGoroutine() <= before })
}

func closed(ch chan struct{}) bool {
	select {
	case <-ch:
		return true
	default:
		return false
	}
}

// TestTranscoderClockOfNewSocket: a transcoder between a socket of NewSocket
// and one of an allocator is paced by the allocator's (the node's) clock,
// whichever comes first; between two of NewSocket, by the first's own.
func TestTranscoderClockOfNewSocket(t *testing.T) {
	alloc, _ := newTestAllocator(t, 1)
	udp := openSocket(t, alloc)
	m1, _, _ := newMemSocket(t, nil)
	m2, _, _ := newMemSocket(t, nil)
	if transcoderClock(m1, udp) != &alloc.clock || transcoderClock(udp, m1) != &alloc.clock {
		t.Fatal("transcoder not on the allocator's clock")
	}
	if transcoderClock(m1, m2) != m1.clock || m1.clock == m2.clock {
		t.Fatal("two NewSocket sockets: want the first's own clock")
	}
	udp.Configure(StreamConfig{Audio: pcmu})
	m1.Configure(StreamConfig{Audio: opus111})
	tc, err := NewTranscoder(m1, udp)
	if err != nil {
		t.Fatal(err)
	}
	defer tc.Stop()
	found := false
	for _, s := range alloc.clock.shards {
		if tc.clk.shard == s {
			found = true
		}
	}
	if !found {
		t.Fatal("transcoder registered on another clock")
	}
}
