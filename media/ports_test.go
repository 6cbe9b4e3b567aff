package media

import (
	"errors"
	"net"
	"net/netip"
	"syscall"
	"testing"
)

func TestNewPortAllocatorRejectsBadOptions(t *testing.T) {
	cases := []struct {
		name string
		o    PortAllocatorOptions
	}{
		{"no ip", PortAllocatorOptions{Min: 20000, Max: 20001}},
		{"min 0", PortAllocatorOptions{IP: loopback, Min: 0, Max: 20001}},
		{"max too big", PortAllocatorOptions{IP: loopback, Min: 65000, Max: 70000}},
		{"min > max", PortAllocatorOptions{IP: loopback, Min: 20002, Max: 20000}},
		{"no pair", PortAllocatorOptions{IP: loopback, Min: 20001, Max: 20002}},
	}
	for _, c := range cases {
		if _, err := NewPortAllocator(c.o); err == nil {
			t.Errorf("%s: no error", c.name)
		}
	}
}

func TestPortAllocatorEvenPortsWithRTCPNext(t *testing.T) {
	lo, hi := freePortRange(t, 4)
	// An odd Min is rounded up; the last even port has no room for RTCP.
	a, err := NewPortAllocator(PortAllocatorOptions{IP: loopback, Min: lo - 1, Max: hi})
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 4; i++ {
		s := openSocket(t, a)
		port := int(s.LocalAddr().Port())
		if port%2 != 0 || port < lo || port+1 > hi {
			t.Fatalf("socket %d on port %d, want even in %d-%d", i, port, lo, hi)
		}
		if want := lo + 2*i; port != want {
			t.Errorf("socket %d on port %d, want %d (round robin from Min)", i, port, want)
		}
		if got := s.LocalRTCPAddr().Port(); int(got) != port+1 {
			t.Errorf("RTCP port %d, want %d", got, port+1)
		}
		// Both ports must really be bound.
		for _, p := range []int{port, port + 1} {
			c, err := net.ListenUDP("udp4", net.UDPAddrFromAddrPort(netip.AddrPortFrom(loopback, uint16(p))))
			if err == nil {
				c.Close()
				t.Errorf("port %d is not bound by the socket", p)
			} else if !errors.Is(err, syscall.EADDRINUSE) {
				t.Errorf("port %d: %v", p, err)
			}
		}
	}
	if got := a.InUse(); got != 4 {
		t.Errorf("InUse = %d, want 4", got)
	}
}

func TestPortAllocatorExhaustion(t *testing.T) {
	a, st := newTestAllocator(t, 2)
	openSocket(t, a)
	openSocket(t, a)
	s, err := a.Open()
	if !errors.Is(err, ErrNoPorts) {
		t.Fatalf("third Open = %v, %v; want ErrNoPorts", s, err)
	}
	if got := st.Snapshot().PortsExhausted; got != 1 {
		t.Errorf("PortsExhausted = %d, want 1", got)
	}
	if got := a.InUse(); got != 2 {
		t.Errorf("InUse = %d, want 2", got)
	}
}

func TestPortAllocatorReuseAfterClose(t *testing.T) {
	a, _ := newTestAllocator(t, 2)
	s1 := openSocket(t, a)
	s2 := openSocket(t, a)
	port1 := s1.LocalAddr()
	if err := s1.Close(); err != nil {
		t.Fatal(err)
	}
	if err := s1.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
	if got := a.InUse(); got != 1 {
		t.Errorf("InUse after Close = %d, want 1", got)
	}
	s3 := openSocket(t, a)
	if s3.LocalAddr() != port1 {
		t.Errorf("reopened on %s, want the freed %s", s3.LocalAddr(), port1)
	}
	s2.Close()
	s3.Close()
	if got := a.InUse(); got != 0 {
		t.Errorf("InUse after closing all = %d, want 0", got)
	}
}

func TestPortAllocatorRoundRobin(t *testing.T) {
	a, _ := newTestAllocator(t, 3)
	s1 := openSocket(t, a)
	first := s1.LocalAddr()
	s1.Close()
	// The freed pair is the last to be handed out again.
	s2 := openSocket(t, a)
	if s2.LocalAddr() == first {
		t.Errorf("freed pair %s reused at once", first)
	}
}

func TestPortAllocatorSkipsPortsHeldElsewhere(t *testing.T) {
	lo, hi := freePortRange(t, 4)
	hold := func(port int) *net.UDPConn {
		c, err := net.ListenUDP("udp4", net.UDPAddrFromAddrPort(netip.AddrPortFrom(loopback, uint16(port))))
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	// Another "process" holds the RTP port of pair 1 and the RTCP port of pair 2.
	rtpHeld, rtcpHeld := hold(lo+2), hold(lo+5)
	a, err := NewPortAllocator(PortAllocatorOptions{IP: loopback, Min: lo, Max: hi})
	if err != nil {
		t.Fatal(err)
	}
	s1 := openSocket(t, a)
	s2 := openSocket(t, a)
	if got := int(s1.LocalAddr().Port()); got != lo {
		t.Errorf("first socket on %d, want %d", got, lo)
	}
	if got := int(s2.LocalAddr().Port()); got != lo+6 {
		t.Errorf("second socket on %d, want %d (pairs at %d and %d are taken)", got, lo+6, lo+2, lo+4)
	}
	if _, err := a.Open(); !errors.Is(err, ErrNoPorts) {
		t.Fatalf("Open with all free pairs used = %v, want ErrNoPorts", err)
	}
	// The skipped pairs were not left half-bound: once freed elsewhere they work.
	rtpHeld.Close()
	rtcpHeld.Close()
	s3 := openSocket(t, a)
	s4 := openSocket(t, a)
	got := map[int]bool{int(s3.LocalAddr().Port()): true, int(s4.LocalAddr().Port()): true}
	if !got[lo+2] || !got[lo+4] {
		t.Errorf("after release got ports %v, want %d and %d", got, lo+2, lo+4)
	}
}
