package quality

import (
	"math"
	"testing"
	"time"

	"github.com/pion/rtcp"
)

var t0 = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

const (
	ptime       = 20 * time.Millisecond
	tsPerPacket = 160 // 20 ms at 8000 Hz
	remoteSSRC  = 0x11223344
)

type rtpPacket struct {
	seq uint16
	ts  uint32
	at  time.Time
}

// stream returns n packets of a 20 ms, 8000 Hz stream arriving on time.
func stream(seq uint16, ts uint32, n int, start time.Time) []rtpPacket {
	p := make([]rtpPacket, n)
	for i := range p {
		p[i] = rtpPacket{seq + uint16(i), ts + uint32(i*tsPerPacket), start.Add(time.Duration(i) * ptime)}
	}
	return p
}

func observe(m *Monitor, ssrc uint32, pkts []rtpPacket) {
	for _, p := range pkts {
		m.Observe(p.seq, p.ts, ssrc, false, 160, p.at)
	}
}

func newTestMonitor() *Monitor {
	return NewMonitor(Options{ClockRate: 8000, CNAME: "test@switch", SSRC: 0xcafe})
}

// reportBlock builds a Report, parses it with pion/rtcp and returns its
// single reception report block.
func reportBlock(t *testing.T, m *Monitor, now time.Time) rtcp.ReceptionReport {
	t.Helper()
	buf, err := m.Report(nil, now)
	if err != nil {
		t.Fatalf("Report: %v", err)
	}
	pkts, err := rtcp.Unmarshal(buf)
	if err != nil {
		t.Fatalf("rtcp.Unmarshal: %v", err)
	}
	var reports []rtcp.ReceptionReport
	switch p := pkts[0].(type) {
	case *rtcp.ReceiverReport:
		reports = p.Reports
	case *rtcp.SenderReport:
		reports = p.Reports
	default:
		t.Fatalf("first packet is %T", p)
	}
	if len(reports) != 1 {
		t.Fatalf("%d report blocks, want 1", len(reports))
	}
	return reports[0]
}

func checkCounts(t *testing.T, s Snapshot, received, expected uint64, lost int64) {
	t.Helper()
	if s.PacketsReceived != received || s.PacketsExpected != expected || s.PacketsLost != lost {
		t.Errorf("received/expected/lost = %d/%d/%d, want %d/%d/%d",
			s.PacketsReceived, s.PacketsExpected, s.PacketsLost, received, expected, lost)
	}
}

func TestObserveNoLoss(t *testing.T) {
	m := newTestMonitor()
	pkts := stream(1000, 5000, 500, t0)
	observe(m, remoteSSRC, pkts)
	end := pkts[len(pkts)-1].at
	s := m.Snapshot(end)
	checkCounts(t, s, 500, 500, 0)
	if s.LossPercent != 0 || s.IntervalLossPercent != 0 {
		t.Errorf("loss %v%% / interval %v%%, want 0", s.LossPercent, s.IntervalLossPercent)
	}
	if s.Jitter != 0 {
		t.Errorf("jitter %v with constant spacing, want 0", s.Jitter)
	}
	if s.OctetsReceived != 500*160 {
		t.Errorf("octets %d, want %d", s.OctetsReceived, 500*160)
	}
	if !s.LastReceived.Equal(end) {
		t.Errorf("LastReceived %v, want %v", s.LastReceived, end)
	}
	if s.Interval != 499*ptime {
		t.Errorf("Interval %v, want %v", s.Interval, 499*ptime)
	}
	// 0 latency, 0 jitter, 0 loss: 4.404394368 (see TestMOS).
	if math.Abs(s.MOS-4.404394368) > 1e-6 {
		t.Errorf("MOS %v, want 4.4044", s.MOS)
	}
	rb := reportBlock(t, m, end)
	if rb.SSRC != remoteSSRC || rb.FractionLost != 0 || rb.TotalLost != 0 || rb.LastSequenceNumber != 1499 || rb.Jitter != 0 {
		t.Errorf("report block %+v", rb)
	}
}

func TestObserveLossEvery20th(t *testing.T) {
	m := newTestMonitor()
	var kept []rtpPacket
	for i, p := range stream(0, 0, 1000, t0) {
		if i%20 != 10 { // the last packet is kept so expected is 1000
			kept = append(kept, p)
		}
	}
	observe(m, remoteSSRC, kept)
	now := kept[len(kept)-1].at
	s := m.Snapshot(now)
	checkCounts(t, s, 950, 1000, 50)
	if s.LossPercent != 5 || s.IntervalLossPercent != 5 {
		t.Errorf("loss %v%% / interval %v%%, want 5", s.LossPercent, s.IntervalLossPercent)
	}
	// MOS at 5 % loss, nothing else: 4.040895962 (see TestMOS).
	if math.Abs(s.MOS-4.040895962) > 1e-6 {
		t.Errorf("MOS %v, want 4.0409", s.MOS)
	}
	// Fraction lost = floor(50 * 256 / 1000) = 12.
	rb := reportBlock(t, m, now)
	if rb.FractionLost != 12 || rb.TotalLost != 50 || rb.LastSequenceNumber != 999 {
		t.Errorf("report block %+v, want fraction 12, lost 50, highest 999", rb)
	}

	// The next interval has no loss: both the report and the snapshot
	// interval start afresh while the cumulative figures stay.
	next := stream(1000, 1000*tsPerPacket, 100, now.Add(ptime))
	observe(m, remoteSSRC, next)
	now = next[len(next)-1].at
	rb = reportBlock(t, m, now)
	if rb.FractionLost != 0 || rb.TotalLost != 50 {
		t.Errorf("second report block %+v, want fraction 0, lost 50", rb)
	}
	s = m.Snapshot(now)
	checkCounts(t, s, 1050, 1100, 50)
	if s.IntervalLossPercent != 0 || s.Interval != 100*ptime {
		t.Errorf("interval loss %v%% over %v, want 0%% over %v", s.IntervalLossPercent, s.Interval, 100*ptime)
	}
}

func TestObserveReorderingIsNotLoss(t *testing.T) {
	m := newTestMonitor()
	pkts := stream(65000, 0, 300, t0) // also crosses the wrap
	for i := 0; i+1 < len(pkts); i += 10 {
		pkts[i], pkts[i+1] = pkts[i+1], pkts[i]
	}
	// One packet 50 places late.
	late := pkts[100]
	copy(pkts[100:], pkts[101:151])
	pkts[150] = late
	observe(m, remoteSSRC, pkts)
	s := m.Snapshot(t0.Add(10 * time.Second))
	checkCounts(t, s, 300, 300, 0)
	if s.Duplicates != 0 {
		t.Errorf("%d duplicates, want 0", s.Duplicates)
	}
	// The first packet arrived second: it is before the base and must
	// still not make the loss negative.
	rb := reportBlock(t, m, t0.Add(10*time.Second))
	if rb.TotalLost != 0 || rb.FractionLost != 0 {
		t.Errorf("report block %+v, want no loss", rb)
	}
}

func TestObserveSequenceWrap(t *testing.T) {
	m := newTestMonitor()
	pkts := stream(65500, 0, 100, t0) // 65500..65535, 0..63
	pkts = append(pkts[:50], pkts[51:]...)
	observe(m, remoteSSRC, pkts)
	s := m.Snapshot(t0.Add(2 * time.Second))
	checkCounts(t, s, 99, 100, 1)
	rb := reportBlock(t, m, t0.Add(2*time.Second))
	if want := uint32(1<<16 | 63); rb.LastSequenceNumber != want {
		t.Errorf("extended highest seq %#x, want %#x", rb.LastSequenceNumber, want)
	}
	if rb.TotalLost != 1 {
		t.Errorf("cumulative lost %d, want 1", rb.TotalLost)
	}
	// A late packet from before the wrap is recognized as a duplicate.
	m.Observe(65530, 30*tsPerPacket, remoteSSRC, false, 160, t0.Add(3*time.Second))
	if s := m.Snapshot(t0.Add(3 * time.Second)); s.Duplicates != 1 || s.PacketsReceived != 99 {
		t.Errorf("after late duplicate: duplicates %d, received %d, want 1, 99", s.Duplicates, s.PacketsReceived)
	}
}

func TestObserveDuplicates(t *testing.T) {
	m := newTestMonitor()
	var pkts []rtpPacket
	for i, p := range stream(100, 0, 200, t0) {
		pkts = append(pkts, p)
		if i%5 == 0 {
			pkts = append(pkts, p) // immediate duplicate
		}
		if i%50 == 49 {
			pkts = append(pkts, pkts[len(pkts)-30]) // late duplicate
		}
	}
	observe(m, remoteSSRC, pkts)
	s := m.Snapshot(t0.Add(5 * time.Second))
	checkCounts(t, s, 200, 200, 0)
	if s.Duplicates != 40+4 {
		t.Errorf("%d duplicates, want 44", s.Duplicates)
	}
	if rb := reportBlock(t, m, t0.Add(5*time.Second)); rb.TotalLost != 0 {
		t.Errorf("cumulative lost %d, want 0", rb.TotalLost)
	}
}

func TestObserveSSRCChange(t *testing.T) {
	m := newTestMonitor()
	a := stream(30000, 0, 100, t0)
	for i := 10; i < 15; i++ {
		a[i].seq = 0 // marker: drop below
	}
	var kept []rtpPacket
	for _, p := range a {
		if p.seq != 0 {
			kept = append(kept, p)
		}
	}
	observe(m, 0xaaaa, kept) // expected 100, received 95
	b := stream(7, 123456, 100, t0.Add(2*time.Second))
	observe(m, 0xbbbb, b)
	now := b[len(b)-1].at
	s := m.Snapshot(now)
	checkCounts(t, s, 195, 200, 5)
	if s.LossPercent != 2.5 {
		t.Errorf("loss %v%%, want 2.5", s.LossPercent)
	}
	// The report is about the new source only.
	rb := reportBlock(t, m, now)
	if rb.SSRC != 0xbbbb || rb.TotalLost != 0 || rb.FractionLost != 0 || rb.LastSequenceNumber != 106 {
		t.Errorf("report block %+v, want ssrc 0xbbbb, no loss, highest 106", rb)
	}
	// The jump of timestamps between sources did not leak into the jitter.
	if s.Jitter != 0 {
		t.Errorf("jitter %v, want 0", s.Jitter)
	}
}

func TestObserveSequenceRestart(t *testing.T) {
	m := newTestMonitor()
	observe(m, remoteSSRC, stream(100, 0, 50, t0))
	// A single stray jump is ignored...
	m.Observe(40000, 50*tsPerPacket, remoteSSRC, false, 160, t0.Add(50*ptime))
	observe(m, remoteSSRC, stream(150, 51*tsPerPacket, 10, t0.Add(51*ptime)))
	s := m.Snapshot(t0.Add(time.Second))
	checkCounts(t, s, 60, 60, 0)
	// ...but two sequential packets after a jump restart the sequence space.
	observe(m, remoteSSRC, stream(20000, 61*tsPerPacket, 20, t0.Add(61*ptime)))
	s = m.Snapshot(t0.Add(2 * time.Second))
	checkCounts(t, s, 79, 79, 0) // the first of the new run only triggers the restart
}

func TestJitter(t *testing.T) {
	const n = 200
	m := newTestMonitor()
	pkts := stream(0, 0, n, t0)
	for i := range pkts {
		if i%2 == 0 {
			pkts[i].at = pkts[i].at.Add(-10 * time.Millisecond)
		} else {
			pkts[i].at = pkts[i].at.Add(10 * time.Millisecond)
		}
	}
	// Every transit difference D is ±20 ms = 160 units at 8000 Hz, so
	// J(k) = J(k-1) + (160 - J(k-1))/16 from J = 0, i.e. after k
	// differences J = 160 * (1 - (15/16)^k): 112.97 after 20 packets (the
	// gain of 1/16 shows), 160 once converged.
	observe(m, remoteSSRC, pkts[:20])
	rb := reportBlock(t, m, t0.Add(time.Second))
	if want := 160 * (1 - math.Pow(15.0/16, 19)); math.Abs(float64(rb.Jitter)-want) > 1 {
		t.Errorf("report jitter after 20 packets %d units, want %.2f", rb.Jitter, want)
	}
	observe(m, remoteSSRC, pkts[20:])
	want := 160 * (1 - math.Pow(15.0/16, n-1))
	rb = reportBlock(t, m, t0.Add(5*time.Second))
	if math.Abs(float64(rb.Jitter)-want) > 1 {
		t.Errorf("report jitter %d units, want %.2f", rb.Jitter, want)
	}
	s := m.Snapshot(t0.Add(5 * time.Second))
	wantDur := time.Duration(want / 8000 * float64(time.Second))
	if d := s.Jitter - wantDur; d < -50*time.Microsecond || d > 50*time.Microsecond {
		t.Errorf("jitter %v, want %v", s.Jitter, wantDur)
	}
	// EL = 0 + 2*20 + 10 = 50 ms, R = 93.2 - 1.25 = 91.95,
	// 91.95 * 31.95 * 8.05 = 23649.310125, MOS = 1 + 3.21825 + 0.165545171 = 4.383795171
	// (the jitter is a hair under 20 ms, hence the tolerance).
	if math.Abs(s.MOS-4.3838) > 1e-3 {
		t.Errorf("MOS %v, want 4.3838", s.MOS)
	}
}

func TestJitterUnknownClockRate(t *testing.T) {
	m := NewMonitor(Options{})
	pkts := stream(0, 0, 50, t0)
	for i := range pkts {
		pkts[i].at = pkts[i].at.Add(time.Duration(i%2) * 7 * time.Millisecond)
	}
	observe(m, remoteSSRC, pkts)
	if s := m.Snapshot(t0.Add(time.Second)); s.Jitter != 0 {
		t.Errorf("jitter %v without a clock rate, want 0", s.Jitter)
	}
	m.SetClockRate(8000)
	observe(m, remoteSSRC, stream(50, 50*tsPerPacket, 50, t0.Add(time.Second)))
	if s := m.Snapshot(t0.Add(2 * time.Second)); s.Jitter != 0 || s.PacketsReceived != 100 {
		t.Errorf("jitter %v, received %d; want 0, 100", s.Jitter, s.PacketsReceived)
	}
}

func TestSnapshotEmpty(t *testing.T) {
	s := newTestMonitor().Snapshot(t0)
	if s != (Snapshot{}) {
		t.Errorf("snapshot of a fresh monitor = %+v, want zero", s)
	}
}

func TestHotPathAllocs(t *testing.T) {
	m := newTestMonitor()
	var seq uint16
	at := t0
	if n := testing.AllocsPerRun(1000, func() {
		seq++
		at = at.Add(ptime)
		m.Observe(seq, uint32(seq)*tsPerPacket, remoteSSRC, false, 160, at)
	}); n != 0 {
		t.Errorf("Observe: %v allocs, want 0", n)
	}
	if n := testing.AllocsPerRun(1000, func() {
		seq++
		at = at.Add(ptime)
		m.Sent(uint32(seq)*tsPerPacket, 160, at)
	}); n != 0 {
		t.Errorf("Sent: %v allocs, want 0", n)
	}
	buf := make([]byte, 0, 1500)
	if n := testing.AllocsPerRun(100, func() {
		at = at.Add(ptime)
		m.Sent(uint32(seq)*tsPerPacket, 160, at)
		buf, _ = m.Report(buf[:0], at)
	}); n != 0 {
		t.Errorf("Report into a large enough buffer: %v allocs, want 0", n)
	}
}
