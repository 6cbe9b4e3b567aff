package quality

import (
	"errors"
	"math/rand/v2"
	"sync"
	"testing"
	"time"

	"github.com/pion/rtcp"
)

func TestNTPTime(t *testing.T) {
	// 1970-01-01 is 2208988800 s after 1900-01-01; half a second is 1<<31.
	got := NTPTime(time.Unix(0, 500_000_000))
	if want := uint64(2208988800)<<32 | 1<<31; got != want {
		t.Errorf("NTPTime = %#x, want %#x", got, want)
	}
	// 2026-03-01T12:00:00Z is Unix 1772366400.
	if got, want := NTPTime(t0)>>32, uint64(1772366400+2208988800); got != want {
		t.Errorf("NTPTime(t0) seconds = %d, want %d", got, want)
	}
}

// parseReport parses a Report with pion/rtcp and checks its CNAME.
func parseReport(t *testing.T, buf []byte, cname string) []rtcp.Packet {
	t.Helper()
	pkts, err := rtcp.Unmarshal(buf)
	if err != nil {
		t.Fatalf("rtcp.Unmarshal: %v", err)
	}
	if len(pkts) != 2 {
		t.Fatalf("%d packets, want 2", len(pkts))
	}
	c := rtcp.CompoundPacket(pkts)
	if err := c.Validate(); err != nil {
		t.Errorf("compound packet invalid: %v", err)
	}
	if got, err := c.CNAME(); err != nil || got != cname {
		t.Errorf("CNAME = %q, %v; want %q", got, err, cname)
	}
	return pkts
}

func TestReportRoundTrip(t *testing.T) {
	const (
		ssrcA, ssrcB = 0xaaaa0001, 0xbbbb0002
		delay        = 30 * time.Millisecond
	)
	a := NewMonitor(Options{ClockRate: 8000, CNAME: "a@example.org", SSRC: ssrcA})
	b := NewMonitor(Options{ClockRate: 8000, CNAME: "b@example.org", SSRC: ssrcB})

	// Before anything was sent or received: an empty RR and the SDES.
	buf, err := a.Report(nil, t0)
	if err != nil {
		t.Fatal(err)
	}
	pkts := parseReport(t, buf, "a@example.org")
	if rr, ok := pkts[0].(*rtcp.ReceiverReport); !ok || rr.SSRC != ssrcA || len(rr.Reports) != 0 {
		t.Fatalf("first report = %v, want an empty RR from A", pkts[0])
	}

	// A sends 500 packets to B; every 25th is lost (20 = 4 %).
	now := t0
	for i := range 500 {
		ts := uint32(1000 + i*tsPerPacket)
		a.Sent(ts, 160, now)
		if i%25 != 5 {
			b.Observe(uint16(40000+i), ts, ssrcA, false, 160, now.Add(delay))
		}
		now = now.Add(ptime)
	}

	// A's report is an SR without report blocks.
	t1 := now.Add(5 * time.Millisecond)
	buf, err = a.Report(nil, t1)
	if err != nil {
		t.Fatal(err)
	}
	pkts = parseReport(t, buf, "a@example.org")
	sr, ok := pkts[0].(*rtcp.SenderReport)
	if !ok {
		t.Fatalf("A's report starts with %T, want an SR", pkts[0])
	}
	// The last packet (ts 1000+499*160) was sent 25 ms = 200 units before t1.
	if sr.SSRC != ssrcA || sr.PacketCount != 500 || sr.OctetCount != 500*160 ||
		sr.NTPTime != NTPTime(t1) || sr.RTPTime != 1000+499*160+200 || len(sr.Reports) != 0 {
		t.Errorf("SR = %v", sr)
	}
	if err := b.HandleRTCP(buf, t1.Add(delay)); err != nil {
		t.Fatalf("B.HandleRTCP(SR): %v", err)
	}

	// B has sent nothing: its report is an RR about A's stream, 1.3 s later.
	t2 := t1.Add(delay + 1300*time.Millisecond)
	buf, err = b.Report(nil, t2)
	if err != nil {
		t.Fatal(err)
	}
	pkts = parseReport(t, buf, "b@example.org")
	rr, ok := pkts[0].(*rtcp.ReceiverReport)
	if !ok || len(rr.Reports) != 1 {
		t.Fatalf("B's report = %v, want an RR with one block", pkts[0])
	}
	rb := rr.Reports[0]
	// fraction = floor(20 * 256 / 500) = 10; DLSR = 1.3 s * 65536 = 85196.8.
	if rb.SSRC != ssrcA || rb.FractionLost != 10 || rb.TotalLost != 20 ||
		rb.LastSequenceNumber != 40499 || rb.LastSenderReport != uint32(NTPTime(t1)>>16) ||
		rb.Delay != 85196 {
		t.Errorf("B's report block = %+v", rb)
	}
	if err := a.HandleRTCP(buf, t2.Add(delay)); err != nil {
		t.Fatalf("A.HandleRTCP(RR): %v", err)
	}

	sa := a.Snapshot(t2.Add(delay))
	if d := sa.RTT - 2*delay; d < -time.Millisecond || d > time.Millisecond {
		t.Errorf("A's RTT = %v, want %v", sa.RTT, 2*delay)
	}
	// 10/256 = 3.90625 %.
	if sa.RemoteLossPercent != 3.90625 || sa.RemotePacketsLost != 20 || sa.RemoteJitter != 0 {
		t.Errorf("A's remote view: loss %v%%, lost %d, jitter %v", sa.RemoteLossPercent, sa.RemotePacketsLost, sa.RemoteJitter)
	}
	if sa.PacketsSent != 500 || sa.OctetsSent != 80000 {
		t.Errorf("A sent %d packets, %d octets", sa.PacketsSent, sa.OctetsSent)
	}
	sb := b.Snapshot(t2)
	if sb.LossPercent != 4 || sb.PacketsLost != 20 || sb.RTT != 0 {
		t.Errorf("B: loss %v%%, lost %d, RTT %v; want 4%%, 20, 0", sb.LossPercent, sb.PacketsLost, sb.RTT)
	}

	// Now B sends to A too: B's next report is an SR carrying the block,
	// and A's reply (an SR with a block about B) gives B its RTT.
	now = t2.Add(10 * time.Millisecond)
	for i := range 50 {
		ts := uint32(9000 + i*tsPerPacket)
		b.Sent(ts, 80, now)
		a.Observe(uint16(7+i), ts, ssrcB, false, 80, now.Add(delay))
		a.Sent(uint32(2000+i*tsPerPacket), 160, now)
		now = now.Add(ptime)
	}
	t3 := now
	buf, err = b.Report(nil, t3)
	if err != nil {
		t.Fatal(err)
	}
	pkts = parseReport(t, buf, "b@example.org")
	srB, ok := pkts[0].(*rtcp.SenderReport)
	if !ok || len(srB.Reports) != 1 || srB.Reports[0].SSRC != ssrcA || srB.PacketCount != 50 {
		t.Fatalf("B's second report = %v, want an SR with one block about A", pkts[0])
	}
	if err := a.HandleRTCP(buf, t3.Add(delay)); err != nil {
		t.Fatal(err)
	}
	t4 := t3.Add(delay + 700*time.Millisecond)
	buf, err = a.Report(nil, t4)
	if err != nil {
		t.Fatal(err)
	}
	pkts = parseReport(t, buf, "a@example.org")
	srA, ok := pkts[0].(*rtcp.SenderReport)
	if !ok || len(srA.Reports) != 1 || srA.Reports[0].SSRC != ssrcB || srA.Reports[0].TotalLost != 0 {
		t.Fatalf("A's second report = %v, want an SR with a lossless block about B", pkts[0])
	}
	if err := b.HandleRTCP(buf, t4.Add(delay)); err != nil {
		t.Fatal(err)
	}
	if rtt := b.Snapshot(t4.Add(delay)).RTT; rtt-2*delay < -time.Millisecond || rtt-2*delay > time.Millisecond {
		t.Errorf("B's RTT = %v, want %v", rtt, 2*delay)
	}
	if rtt := a.Snapshot(t4).RTT; rtt-2*delay < -time.Millisecond || rtt-2*delay > time.Millisecond {
		t.Errorf("A's RTT after B's SR = %v, want %v", rtt, 2*delay)
	}
}

func TestReportCNAMETooLong(t *testing.T) {
	long := make([]byte, 256)
	for i := range long {
		long[i] = 'x'
	}
	m := NewMonitor(Options{CNAME: string(long)})
	if _, err := m.Report(nil, t0); !errors.Is(err, ErrCNAMETooLong) {
		t.Errorf("Report with a 256-byte CNAME: %v, want ErrCNAMETooLong", err)
	}
	m = NewMonitor(Options{CNAME: string(long[:255])})
	buf, err := m.Report(nil, t0)
	if err != nil {
		t.Fatal(err)
	}
	parseReport(t, buf, string(long[:255]))
}

func TestHandleRTCPIgnoresOtherPackets(t *testing.T) {
	m := newTestMonitor()
	bye, _ := (&rtcp.Goodbye{Sources: []uint32{remoteSSRC}, Reason: "bye"}).Marshal()
	app, _ := (&rtcp.ApplicationDefined{SSRC: remoteSSRC, Name: "test", Data: []byte{1, 2, 3, 4}}).Marshal()
	pli, _ := (&rtcp.PictureLossIndication{SenderSSRC: 1, MediaSSRC: 2}).Marshal()
	unknown := []byte{0x80, 210, 0, 1, 1, 2, 3, 4}
	// A report block about someone else is ignored too.
	rr, _ := (&rtcp.ReceiverReport{SSRC: remoteSSRC, Reports: []rtcp.ReceptionReport{
		{SSRC: 0xdead, FractionLost: 200, TotalLost: 99, LastSenderReport: 1, Delay: 1},
	}}).Marshal()
	for _, p := range [][]byte{bye, app, pli, unknown, rr, append(append(rr, bye...), app...)} {
		if err := m.HandleRTCP(p, t0); err != nil {
			t.Errorf("HandleRTCP(% x): %v", p, err)
		}
	}
	if s := m.Snapshot(t0); s.RTT != 0 || s.RemoteLossPercent != 0 || s.RemotePacketsLost != 0 {
		t.Errorf("state changed: %+v", s)
	}
}

func TestHandleRTCPMalformed(t *testing.T) {
	a := newTestMonitor()
	a.Observe(1, 0, remoteSSRC, false, 160, t0)
	a.Sent(0, 160, t0)
	valid, err := a.Report(nil, t0) // SR (52 bytes) + SDES
	if err != nil {
		t.Fatal(err)
	}
	srLen := 4 * (int(valid[2])<<8 | int(valid[3]) + 1)

	m := newTestMonitor()
	if err := m.HandleRTCP(valid, t0); err != nil {
		t.Fatalf("valid report: %v", err)
	}
	// Every truncation not at a packet boundary is an error.
	for n := range len(valid) {
		err := m.HandleRTCP(valid[:n], t0)
		if n == srLen {
			if err != nil {
				t.Errorf("SR alone: %v", err)
			}
			continue
		}
		if !errors.Is(err, ErrMalformed) {
			t.Errorf("truncated to %d bytes: err = %v, want ErrMalformed", n, err)
		}
	}

	mutate := func(f func(p []byte)) []byte {
		p := append([]byte(nil), valid...)
		f(p)
		return p
	}
	bad := map[string][]byte{
		"version 1":           mutate(func(p []byte) { p[0] = 0x41 }),
		"length too large":    mutate(func(p []byte) { p[3] = 0xff }),
		"second length large": mutate(func(p []byte) { p[srLen+3] = 0xff }),
		"SR with 2 blocks":    mutate(func(p []byte) { p[0] = 0x82 }),
		"SR too short":        {0x80, 200, 0, 1, 0, 0, 0, 1},
		"RR with a block":     {0x81, 201, 0, 1, 0, 0, 0, 1},
		"trailing bytes":      append(append([]byte(nil), valid...), 0x80, 201),
	}
	for name, p := range bad {
		if err := m.HandleRTCP(p, t0); !errors.Is(err, ErrMalformed) {
			t.Errorf("%s: err = %v, want ErrMalformed", name, err)
		}
	}

	// Random corruption must never panic.
	rng := rand.New(rand.NewPCG(1, 2))
	for range 20000 {
		p := append([]byte(nil), valid[:rng.IntN(len(valid)+1)]...)
		for range 1 + rng.IntN(4) {
			if len(p) > 0 {
				p[rng.IntN(len(p))] = byte(rng.Uint32())
			}
		}
		_ = m.HandleRTCP(p, t0)
	}
}

func TestConcurrentUse(t *testing.T) {
	a, b := newTestMonitor(), NewMonitor(Options{ClockRate: 8000, CNAME: "b", SSRC: remoteSSRC})
	var wg sync.WaitGroup
	wg.Add(3)
	go func() { // reader
		defer wg.Done()
		for i := range 2000 {
			a.Observe(uint16(i), uint32(i*tsPerPacket), remoteSSRC, false, 160, t0.Add(time.Duration(i)*ptime))
		}
	}()
	go func() { // sender
		defer wg.Done()
		for i := range 2000 {
			a.Sent(uint32(i*tsPerPacket), 160, t0.Add(time.Duration(i)*ptime))
		}
	}()
	go func() { // ticker
		defer wg.Done()
		var buf []byte
		for i := range 200 {
			now := t0.Add(time.Duration(i) * 200 * time.Millisecond)
			b.Sent(uint32(i), 160, now)
			rep, err := b.Report(nil, now)
			if err != nil {
				t.Error(err)
				return
			}
			if err := a.HandleRTCP(rep, now); err != nil {
				t.Error(err)
				return
			}
			buf, _ = a.Report(buf[:0], now)
			a.SetSSRC(0xcafe)
			a.SetClockRate(8000)
			a.Snapshot(now)
		}
	}()
	wg.Wait()
	if s := a.Snapshot(t0.Add(time.Minute)); s.PacketsReceived != 2000 || s.PacketsSent != 2000 {
		t.Errorf("received %d, sent %d; want 2000, 2000", s.PacketsReceived, s.PacketsSent)
	}
}
