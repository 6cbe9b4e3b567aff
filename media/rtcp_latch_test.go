package media

import (
	"net"
	"net/netip"
	"testing"
)

// listenPeerOn opens a UDP socket standing for a far end on another loopback
// address (Linux routes all of 127.0.0.0/8 to lo).
func listenPeerOn(tb testing.TB, ip string) *net.UDPConn {
	tb.Helper()
	c, err := net.ListenUDP("udp4", net.UDPAddrFromAddrPort(netip.AddrPortFrom(netip.MustParseAddr(ip), 0)))
	if err != nil {
		tb.Fatalf("listen on %s (a second loopback address): %v", ip, err)
	}
	tb.Cleanup(func() { c.Close() })
	return c
}

// TestSocketRTCPLatchesOnlyToTheParty: RTCP from a stranger on another
// address (127.0.0.2) is dropped as foreign and never latches the RTCP port,
// whether it comes before the party's RTP, after it, or before the party's
// own RTCP; RTCP from the party's RTP address (any port: NAT) latches.
func TestSocketRTCPLatchesOnlyToTheParty(t *testing.T) {
	a, st := newTestAllocator(t, 2)
	rr := mkRR(t, 7)

	t.Run("nothing known yet", func(t *testing.T) {
		s := openSocket(t, a)
		stranger := listenPeerOn(t, "127.0.0.2")
		before := st.Snapshot()
		send(t, stranger, rr, s.LocalRTCPAddr())
		waitFor(t, "the stranger's RTCP dropped", func() bool { return st.DroppedForeign.Load() == before.DroppedForeign+1 })
		if s.RemoteRTCP().IsValid() {
			t.Fatalf("RTCP port latched to %s before the party was known", s.RemoteRTCP())
		}

		// The party's RTP latches the RTP port; RTCP from its address
		// (another port) latches the RTCP port, the stranger's is still foreign.
		party, partyRTCP := listenPeer(t), listenPeer(t)
		s.SetSink(newCaptureSink())
		send(t, party, mkRTP(t, 0, 1, false), s.LocalAddr())
		waitFor(t, "the party's RTP", func() bool { return s.Remote() == addrOf(party) })
		send(t, stranger, rr, s.LocalRTCPAddr())
		waitFor(t, "the stranger's RTCP dropped again", func() bool { return st.DroppedForeign.Load() == before.DroppedForeign+2 })
		send(t, partyRTCP, rr, s.LocalRTCPAddr())
		waitFor(t, "the party's RTCP counted", func() bool { return st.RTCPReceived.Load() == before.RTCPReceived+1 })
		if s.RemoteRTCP() != addrOf(partyRTCP) {
			t.Fatalf("RTCP remote %s, want the party's %s", s.RemoteRTCP(), addrOf(partyRTCP))
		}
	})

	t.Run("SDP addresses", func(t *testing.T) {
		s := openSocket(t, a)
		stranger := listenPeerOn(t, "127.0.0.2")
		sdpRTP := listenPeer(t)
		s.SetRemote(addrOf(sdpRTP))
		before := st.Snapshot()
		send(t, stranger, rr, s.LocalRTCPAddr())
		waitFor(t, "the stranger's RTCP dropped", func() bool { return st.DroppedForeign.Load() == before.DroppedForeign+1 })
		want := netip.AddrPortFrom(addrOf(sdpRTP).Addr(), addrOf(sdpRTP).Port()+1)
		if got := s.RemoteRTCP(); got != want {
			t.Fatalf("RTCP remote %s after a stranger's RTCP, want the derived %s", got, want)
		}
		if st.RTCPReceived.Load() != before.RTCPReceived {
			t.Fatal("the stranger's RTCP was accepted")
		}

		// a=rtcp on a third address: RTCP from there latches.
		rtcpHost := listenPeerOn(t, "127.0.0.3")
		s.SetRemoteRTCP(addrOf(rtcpHost))
		send(t, stranger, rr, s.LocalRTCPAddr())
		waitFor(t, "the stranger's RTCP dropped again", func() bool { return st.DroppedForeign.Load() == before.DroppedForeign+2 })
		send(t, rtcpHost, rr, s.LocalRTCPAddr())
		waitFor(t, "the a=rtcp host's RTCP counted", func() bool { return st.RTCPReceived.Load() == before.RTCPReceived+1 })
		if s.RemoteRTCP() != addrOf(rtcpHost) {
			t.Fatalf("RTCP remote %s, want %s", s.RemoteRTCP(), addrOf(rtcpHost))
		}
	})
}
