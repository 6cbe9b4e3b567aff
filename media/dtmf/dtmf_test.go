package dtmf

import (
	"errors"
	"testing"
	"time"
)

// packet is one generated telephone-event packet.
type packet struct {
	marker  bool
	ts      uint32
	payload [4]byte
	event   Event
}

// generate runs g.Start and Next to completion and returns the packets.
func generate(t testing.TB, g *Generator, digit rune, d time.Duration, ts uint32) []packet {
	t.Helper()
	if err := g.Start(digit, d, ts); err != nil {
		t.Fatalf("Start(%q): %v", digit, err)
	}
	var pkts []packet
	var buf [16]byte
	for i := 0; ; i++ {
		if i > 1000 {
			t.Fatal("generator never done")
		}
		if !g.Busy() {
			t.Fatal("not busy before done")
		}
		payload, marker, pts, done := g.Next(buf[:])
		p := packet{marker: marker, ts: pts}
		if copy(p.payload[:], payload) != 4 {
			t.Fatalf("payload length %d", len(payload))
		}
		if err := p.event.Unmarshal(payload); err != nil {
			t.Fatal(err)
		}
		pkts = append(pkts, p)
		if done {
			break
		}
	}
	if g.Busy() {
		t.Fatal("busy after done")
	}
	return pkts
}

func TestGenerator(t *testing.T) {
	for _, c := range []struct {
		rate  int
		scale uint16
	}{{8000, 1}, {48000, 6}} {
		g := NewGenerator(c.rate, 0)
		const ts = 0xFFFFFF00 // near the wrap: the timestamp must not move
		pkts := generate(t, g, '5', 100*time.Millisecond, ts)
		// 160, 320, 480, 640 (x scale), then 800 three times.
		if len(pkts) != 7 {
			t.Fatalf("%d Hz: %d packets, want 7", c.rate, len(pkts))
		}
		for i, p := range pkts {
			if p.marker != (i == 0) {
				t.Errorf("%d Hz: packet %d marker %v", c.rate, i, p.marker)
			}
			if p.ts != ts {
				t.Errorf("%d Hz: packet %d ts %d, want %d", c.rate, i, p.ts, uint32(ts))
			}
			e := p.event
			if e.Code != 5 || e.Volume != 10 {
				t.Errorf("%d Hz: packet %d %+v", c.rate, i, e)
			}
			want := uint16(min(i+1, 5)) * 160 * c.scale
			if e.Duration != want {
				t.Errorf("%d Hz: packet %d duration %d, want %d", c.rate, i, e.Duration, want)
			}
			if e.End != (i >= 4) {
				t.Errorf("%d Hz: packet %d end %v", c.rate, i, e.End)
			}
		}
		var buf [4]byte
		if p, _, _, done := g.Next(buf[:]); p != nil || !done {
			t.Errorf("Next when idle = %v, %v", p, done)
		}
	}
}

func TestGeneratorDurations(t *testing.T) {
	g := NewGenerator(8000, 0)
	for _, c := range []struct {
		in   time.Duration
		want uint16
	}{
		{0, 800},                         // default 100 ms
		{time.Millisecond, 320},          // clamped to 40 ms
		{110 * time.Millisecond, 880},    // not a multiple of the interval
		{time.Minute, 40000},             // clamped to 5 s
		{1234 * time.Millisecond, 9872},  // arbitrary
		{65 * time.Millisecond, 520},     // arbitrary
		{40 * time.Millisecond, 320},     // minimum
		{5000 * time.Millisecond, 40000}, // maximum
	} {
		pkts := generate(t, g, '#', c.in, 1000)
		last := pkts[len(pkts)-1].event
		if last.Duration != c.want || last.Code != 11 {
			t.Errorf("Start(%v): final %+v, want duration %d", c.in, last, c.want)
		}
		// Durations never decrease and the last three packets are the
		// only end packets.
		for i, p := range pkts {
			if i > 0 && p.event.Duration < pkts[i-1].event.Duration {
				t.Errorf("Start(%v): duration decreases at %d", c.in, i)
			}
			if p.event.End != (i >= len(pkts)-3) {
				t.Errorf("Start(%v): packet %d end %v", c.in, i, p.event.End)
			}
		}
	}
}

func TestGeneratorErrors(t *testing.T) {
	g := NewGenerator(8000, 20*time.Millisecond)
	if err := g.Start('x', 0, 0); !errors.Is(err, ErrInvalidDigit) {
		t.Errorf("Start('x') = %v", err)
	}
	if g.Busy() {
		t.Error("busy after failed Start")
	}
	if err := g.Start('1', 0, 0); err != nil {
		t.Fatal(err)
	}
	if err := g.Start('2', 0, 0); !errors.Is(err, ErrBusy) {
		t.Errorf("Start while busy = %v", err)
	}
	if p, _, _, done := g.Next(make([]byte, 3)); p != nil || !done {
		t.Error("Next with a short buffer returned a payload")
	}
}

// TestGeneratorLongEvent checks the segmentation of events longer than 0xFFFF
// clock units (RFC 4733 §2.5.1.3).
func TestGeneratorLongEvent(t *testing.T) {
	g := NewGenerator(48000, 0)
	const start = 0xFFFF0000 // the segments' timestamps wrap
	pkts := generate(t, g, '0', 3*time.Second, start)
	var total uint64
	seg := uint32(start)
	for i, p := range pkts {
		if p.marker != (i == 0) {
			t.Errorf("packet %d marker %v", i, p.marker)
		}
		if p.ts != seg {
			if p.ts-seg != 0xFFFF || pkts[i-1].event.Duration != 0xFFFF || pkts[i-1].event.End {
				t.Fatalf("packet %d: ts %d after segment %d ending with %+v", i, p.ts, seg, pkts[i-1].event)
			}
			seg = p.ts
		}
		total = uint64(p.ts-start) + uint64(p.event.Duration)
	}
	if total != 3*48000 {
		t.Errorf("total duration %d, want %d", total, 3*48000)
	}
	if n := (seg - start) / 0xFFFF; n != 2 {
		t.Errorf("%d segment boundaries, want 2", n)
	}
}

// feed feeds pkts to d and returns all reports.
func feed(d *Detector, pkts []packet) []Report {
	var out []Report
	for _, p := range pkts {
		r, n := d.Feed(p.marker, p.ts, p.payload[:])
		out = append(out, r[:n]...)
	}
	return out
}

func checkReports(t *testing.T, got []Report, want ...Report) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("reports = %+v, want %+v", got, want)
	}
	for i := range got {
		if got[i] != want[i] {
			t.Errorf("report %d = %+v, want %+v", i, got[i], want[i])
		}
	}
}

func TestDetector(t *testing.T) {
	for _, rate := range []int{8000, 48000} {
		g := NewGenerator(rate, 0)
		pkts := generate(t, g, '5', 100*time.Millisecond, 1234)
		d := NewDetector(rate)
		got := feed(d, pkts)
		checkReports(t, got,
			Report{Digit: '5', Begin: true, Duration: 20 * time.Millisecond, Timestamp: 1234},
			Report{Digit: '5', End: true, Duration: 100 * time.Millisecond, Timestamp: 1234})
		if d.Open() {
			t.Error("open after end")
		}
		// The same packets again (duplicates, retransmissions): nothing.
		if got := feed(d, pkts); len(got) != 0 {
			t.Errorf("%d Hz: duplicates reported %+v", rate, got)
		}
		// Every packet doubled within the stream.
		d = NewDetector(rate)
		var doubled []packet
		for _, p := range pkts {
			doubled = append(doubled, p, p)
		}
		if got := feed(d, doubled); len(got) != 2 || !got[0].Begin || !got[1].End || got[1].Duration != 100*time.Millisecond {
			t.Errorf("%d Hz: doubled packets reported %+v", rate, got)
		}
	}
}

func TestDetectorLostStart(t *testing.T) {
	pkts := generate(t, NewGenerator(8000, 0), '#', 100*time.Millisecond, 50)
	d := NewDetector(8000)
	got := feed(d, pkts[4:]) // only the end packets
	checkReports(t, got,
		Report{Digit: '#', Begin: true, End: true, Duration: 100 * time.Millisecond, Timestamp: 50})
}

func TestDetectorSameDigitTwice(t *testing.T) {
	g := NewGenerator(8000, 0)
	a := generate(t, g, '7', 100*time.Millisecond, 1000)
	b := generate(t, g, '7', 60*time.Millisecond, 1000+800+400)
	d := NewDetector(8000)
	got := feed(d, append(a, b...))
	checkReports(t, got,
		Report{Digit: '7', Begin: true, Duration: 20 * time.Millisecond, Timestamp: 1000},
		Report{Digit: '7', End: true, Duration: 100 * time.Millisecond, Timestamp: 1000},
		Report{Digit: '7', Begin: true, Duration: 20 * time.Millisecond, Timestamp: 2200},
		Report{Digit: '7', End: true, Duration: 60 * time.Millisecond, Timestamp: 2200})
	// A late end packet of the first digit is ignored.
	if got := feed(d, a[len(a)-1:]); len(got) != 0 {
		t.Errorf("late end packet reported %+v", got)
	}
}

func TestDetectorImplicitEnd(t *testing.T) {
	g := NewGenerator(8000, 0)
	a := generate(t, g, '1', 100*time.Millisecond, 0)
	b := generate(t, g, '2', 100*time.Millisecond, 1600)
	d := NewDetector(8000)
	// The end packets of '1' are all lost.
	got := feed(d, append(a[:3:3], b...))
	checkReports(t, got,
		Report{Digit: '1', Begin: true, Duration: 20 * time.Millisecond, Timestamp: 0},
		Report{Digit: '1', End: true, Duration: 60 * time.Millisecond, Timestamp: 0},
		Report{Digit: '2', Begin: true, Duration: 20 * time.Millisecond, Timestamp: 1600},
		Report{Digit: '2', End: true, Duration: 100 * time.Millisecond, Timestamp: 1600})
	// Both reports come from one Feed call, old End first.
	d = NewDetector(8000)
	feed(d, a[:3])
	r, n := d.Feed(b[0].marker, b[0].ts, b[0].payload[:])
	if n != 2 || r[0].Digit != '1' || !r[0].End || r[1].Digit != '2' || !r[1].Begin {
		t.Errorf("Feed = %+v, %d", r, n)
	}
}

func TestDetectorExpire(t *testing.T) {
	pkts := generate(t, NewGenerator(8000, 0), '9', 100*time.Millisecond, 0)
	d := NewDetector(8000)
	if _, ok := d.Expire(time.Hour); ok {
		t.Error("Expire with no event")
	}
	feed(d, pkts[:2])
	if _, ok := d.Expire(999 * time.Millisecond); ok {
		t.Error("expired before the timeout")
	}
	r, ok := d.Expire(time.Second)
	if want := (Report{Digit: '9', End: true, Duration: 40 * time.Millisecond}); !ok || r != want {
		t.Errorf("Expire = %+v, %v; want %+v", r, ok, want)
	}
	if _, ok := d.Expire(time.Hour); ok {
		t.Error("expired twice")
	}
	if got := feed(d, pkts[2:]); len(got) != 0 {
		t.Errorf("packets after expiry reported %+v", got)
	}
	d = NewDetector(8000)
	d.Timeout = 200 * time.Millisecond
	feed(d, pkts[:1])
	if _, ok := d.Expire(200 * time.Millisecond); !ok {
		t.Error("custom Timeout not honoured")
	}
}

func TestDetectorIgnores(t *testing.T) {
	d := NewDetector(8000)
	if _, n := d.Feed(true, 0, []byte{1, 2, 3}); n != 0 {
		t.Error("short payload reported")
	}
	if _, n := d.Feed(true, 0, []byte{32, 10, 0, 160}); n != 0 {
		t.Error("non-key event (code 32) reported")
	}
	// A different key at the same timestamp after the end is a new event
	// (sender that does not advance the timestamp).
	r, n := d.Feed(true, 100, []byte{1, 0x8a, 0, 160})
	if n != 1 || r[0].Digit != '1' || !r[0].Begin || !r[0].End {
		t.Fatalf("Feed = %+v, %d", r, n)
	}
	r, n = d.Feed(true, 100, []byte{2, 0x8a, 0, 160})
	if n != 1 || r[0].Digit != '2' || !r[0].Begin || !r[0].End {
		t.Errorf("Feed = %+v, %d", r, n)
	}
	// After Reset an older timestamp (new SSRC) is a new event.
	d.Reset()
	r, n = d.Feed(true, 50, []byte{3, 0x0a, 0, 160})
	if n != 1 || r[0].Digit != '3' || !r[0].Begin || r[0].End {
		t.Errorf("Feed after Reset = %+v, %d", r, n)
	}
}

func TestDetectorLongEvent(t *testing.T) {
	pkts := generate(t, NewGenerator(48000, 0), 'D', 3*time.Second, 0xFFFF0000)
	d := NewDetector(48000)
	got := feed(d, pkts)
	checkReports(t, got,
		Report{Digit: 'D', Begin: true, Duration: 20 * time.Millisecond, Timestamp: 0xFFFF0000},
		Report{Digit: 'D', End: true, Duration: 3 * time.Second, Timestamp: 0xFFFF0000})
	if got := feed(d, pkts); len(got) != 0 {
		t.Errorf("duplicates reported %+v", got)
	}
}

// TestRelay carries digits from an 8000 Hz leg to a 48000 Hz leg and back.
func TestRelay(t *testing.T) {
	const digits = "159*#0AD"
	durs := []time.Duration{100, 40, 250, 60, 1000, 80, 120, 2000}
	var in []packet
	ts := uint32(0xFFFFF000)
	g8 := NewGenerator(8000, 0)
	for i, k := range digits {
		in = append(in, generate(t, g8, k, durs[i]*time.Millisecond, ts)...)
		ts += Samples(durs[i]*time.Millisecond+200*time.Millisecond, 8000)
	}
	d8, d48, g48 := NewDetector(8000), NewDetector(48000), NewGenerator(48000, 0)
	ts48 := uint32(77)
	var out []Report
	for _, r := range feed(d8, in) {
		if !r.End {
			continue
		}
		out = append(out, feed(d48, generate(t, g48, r.Digit, r.Duration, ts48))...)
		ts48 += Samples(r.Duration+200*time.Millisecond, 48000)
	}
	if len(out) != 2*len(digits) {
		t.Fatalf("%d reports: %+v", len(out), out)
	}
	for i, k := range digits {
		b, e := out[2*i], out[2*i+1]
		if b.Digit != k || !b.Begin || e.Digit != k || !e.End || e.Duration != durs[i]*time.Millisecond {
			t.Errorf("digit %d: %+v %+v, want %q for %v", i, b, e, k, durs[i]*time.Millisecond)
		}
	}
}

func TestNoAllocs(t *testing.T) {
	g := NewGenerator(8000, 0)
	d := NewDetector(8000)
	var buf [4]byte
	ts := uint32(0)
	allocs := testing.AllocsPerRun(1000, func() {
		if !g.Busy() {
			ts += 2000
			if err := g.Start('5', 0, ts); err != nil {
				panic(err)
			}
		}
		p, m, pts, _ := g.Next(buf[:])
		d.Feed(m, pts, p)
		d.Expire(0)
	})
	if allocs != 0 {
		t.Errorf("%v allocs per packet", allocs)
	}
}

func BenchmarkFeed(b *testing.B) {
	g := NewGenerator(8000, 0)
	pkts := generate(b, g, '5', 100*time.Millisecond, 0)
	d := NewDetector(8000)
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		p := &pkts[i%len(pkts)]
		if i%len(pkts) == 0 {
			d.Reset()
		}
		d.Feed(p.marker, p.ts, p.payload[:])
	}
}

func BenchmarkNext(b *testing.B) {
	g := NewGenerator(8000, 0)
	var buf [4]byte
	b.ReportAllocs()
	for b.Loop() {
		if !g.Busy() {
			_ = g.Start('5', 0, 0)
		}
		g.Next(buf[:])
	}
}
