package media

import (
	"net"
	"testing"
	"time"

	"github.com/pion/rtcp"
	"github.com/switchboard-voice/switchboard/media/quality"
)

// readRTCP reads compound RTCP packets on c until one starts with a report
// from ssrc that satisfies ok, and returns it with its arrival time.
func readRTCP(t *testing.T, c *net.UDPConn, ssrc uint32, ok func(rtcp.Packet) bool) (rtcp.Packet, time.Time) {
	t.Helper()
	for i := 0; i < 100; i++ {
		b, _ := recvPacket(t, c)
		at := time.Now()
		pkts, err := rtcp.Unmarshal(b)
		if err != nil {
			t.Fatalf("the socket sent malformed RTCP: %v", err)
		}
		if len(pkts) < 2 {
			t.Fatalf("compound of %d packets, want a report and SDES", len(pkts))
		}
		if _, isSDES := pkts[1].(*rtcp.SourceDescription); !isSDES {
			t.Fatalf("second packet %T, want SDES", pkts[1])
		}
		var from uint32
		switch r := pkts[0].(type) {
		case *rtcp.SenderReport:
			from = r.SSRC
		case *rtcp.ReceiverReport:
			from = r.SSRC
		default:
			t.Fatalf("compound starts with %T, want SR or RR", pkts[0])
		}
		if from != ssrc {
			t.Fatalf("report from SSRC %#x, want the socket's %#x", from, ssrc)
		}
		if ok(pkts[0]) {
			return pkts[0], at
		}
	}
	t.Fatal("no fitting report in 100")
	return nil, time.Time{}
}

// blockAbout returns the reception report block about ssrc in r, if any.
func blockAbout(r rtcp.Packet, ssrc uint32) (rtcp.ReceptionReport, bool) {
	var blocks []rtcp.ReceptionReport
	switch r := r.(type) {
	case *rtcp.SenderReport:
		blocks = r.Reports
	case *rtcp.ReceiverReport:
		blocks = r.Reports
	}
	for _, b := range blocks {
		if b.SSRC == ssrc {
			return b, true
		}
	}
	return rtcp.ReceptionReport{}, false
}

// TestSocketRTCPReports: a socket of an allocator with an RTCP interval
// reports to its peer (RR while it only receives, SR once it sends, with a
// block about the peer's stream echoing the peer's SR), and measures the
// round trip from the peer's answer to its own SR.
func TestSocketRTCPReports(t *testing.T) {
	alloc, st := newTestAllocatorRTCP(t, 1, 100*time.Millisecond)
	s := openSocket(t, alloc)
	s.Configure(StreamConfig{Audio: pcmu})
	peerRTP, peerRTCP := listenPeerPair(t)
	s.SetRemote(addrOf(peerRTP)) // RTCP goes to the next port
	const peerSSRC = 0x5eed      // mkRTP's

	// The peer sends media and a sender report.
	for seq := uint16(1); seq <= 5; seq++ {
		send(t, peerRTP, mkRTP(t, 0, seq, seq == 1), s.LocalAddr())
	}
	peerSR := &rtcp.SenderReport{SSRC: peerSSRC, NTPTime: quality.NTPTime(time.Now()), RTPTime: 800, PacketCount: 5, OctetCount: 800}
	b, err := peerSR.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	send(t, peerRTCP, b, s.LocalRTCPAddr())
	waitFor(t, "the peer's SR counted", func() bool { return st.RTCPReceived.Load() == 1 })

	// While the socket sends nothing it sends receiver reports about the
	// peer's stream, with LSR from the peer's SR.
	rr, _ := readRTCP(t, peerRTCP, s.SSRC(), func(p rtcp.Packet) bool {
		blk, ok := blockAbout(p, peerSSRC)
		_, isRR := p.(*rtcp.ReceiverReport)
		return isRR && ok && blk.LastSenderReport != 0
	})
	blk, _ := blockAbout(rr, peerSSRC)
	if want := uint32(peerSR.NTPTime >> 16); blk.LastSenderReport != want || blk.LastSequenceNumber != 5 || blk.TotalLost != 0 {
		t.Fatalf("report block %+v, want LSR %#x, highest seq 5, none lost", blk, want)
	}

	// Once it sends, its reports are sender reports.
	if err := s.WriteRTP(mkRTP(t, 0, 1, false)); err != nil {
		t.Fatal(err)
	}
	recvPacket(t, peerRTP)
	srPkt, srAt := readRTCP(t, peerRTCP, s.SSRC(), func(p rtcp.Packet) bool {
		_, isSR := p.(*rtcp.SenderReport)
		return isSR
	})
	sr := srPkt.(*rtcp.SenderReport)
	if sr.PacketCount != 1 || sr.OctetCount != 160 {
		t.Fatalf("SR counts %d packets %d octets, want 1 and 160", sr.PacketCount, sr.OctetCount)
	}

	// The peer answers with a receiver report about the socket's stream:
	// LSR from that SR, DLSR the time it held it. The socket now knows
	// the round trip. (Each SR gets an answer until it does, in case one
	// round trip rounds to zero at 1/65536 s.)
	deadline := time.Now().Add(testTimeout)
	for s.Quality().Snapshot(time.Now()).RTT <= 0 {
		if time.Now().After(deadline) {
			t.Fatal("RTT still unknown after answering the socket's sender reports")
		}
		hold := time.Since(srAt)
		answer := &rtcp.ReceiverReport{SSRC: peerSSRC, Reports: []rtcp.ReceptionReport{{
			SSRC:               s.SSRC(),
			LastSequenceNumber: 1,
			LastSenderReport:   uint32(sr.NTPTime >> 16),
			Delay:              uint32(hold * (1 << 16) / time.Second),
		}}}
		b, err := answer.Marshal()
		if err != nil {
			t.Fatal(err)
		}
		send(t, peerRTCP, b, s.LocalRTCPAddr())
		if err := s.WriteRTP(mkRTP(t, 0, 2, false)); err != nil { // stay a sender
			t.Fatal(err)
		}
		recvPacket(t, peerRTP)
		srPkt, srAt = readRTCP(t, peerRTCP, s.SSRC(), func(p rtcp.Packet) bool {
			_, isSR := p.(*rtcp.SenderReport)
			return isSR
		})
		sr = srPkt.(*rtcp.SenderReport)
	}
	rtt := s.Quality().Snapshot(time.Now()).RTT
	if rtt >= time.Second {
		t.Fatalf("RTT %v over loopback", rtt)
	}
	t.Logf("RTT %v", rtt)
	if n := st.RTCPSent.Load(); n < 2 {
		t.Fatalf("RTCPSent = %d, want the reports read", n)
	}
}
