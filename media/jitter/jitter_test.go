package jitter

import (
	"bytes"
	"encoding/binary"
	"math/rand"
	"sort"
	"testing"
	"time"
)

const frame = 20 * time.Millisecond

// pkt is one simulated packet arrival.
type pkt struct {
	seq  uint16
	ts   uint32
	ssrc uint32
	at   time.Duration // arrival, relative to the simulation start
	body []byte
}

// played is one frame returned by Pop, with its payloads copied.
type played struct {
	at      time.Duration
	status  Status
	seq     uint16
	ts      uint32
	payload []byte
	next    []byte
}

// payloadFor builds a recognisable payload: the sequence number, the SSRC
// and filler.
func payloadFor(seq uint16, ssrc uint32) []byte {
	p := make([]byte, 160)
	binary.BigEndian.PutUint16(p, seq)
	binary.BigEndian.PutUint32(p[2:], ssrc)
	for i := 6; i < len(p); i++ {
		p[i] = byte(seq) ^ byte(i)
	}
	return p
}

// stream makes n packets of 20 ms at 8 kHz, nominally arriving every 20 ms
// from start, plus offset(i).
func stream(n int, seq0 uint16, ts0, ssrc uint32, start time.Duration, offset func(i int) time.Duration) []pkt {
	ps := make([]pkt, 0, n)
	for i := 0; i < n; i++ {
		seq := seq0 + uint16(i)
		at := start + time.Duration(i)*frame
		if offset != nil {
			at += offset(i)
		}
		ps = append(ps, pkt{seq: seq, ts: ts0 + uint32(i)*160, ssrc: ssrc, at: at, body: payloadFor(seq, ssrc)})
	}
	return ps
}

// sim is a simulation result.
type sim struct {
	frames   []played
	maxDepth int
	b        *Buffer
}

// run pushes the packets in arrival order (stable for equal times) and pops
// every frame period from time 0 until end, with simulated time only.
func run(t testing.TB, b *Buffer, ps []pkt, end time.Duration) sim {
	t.Helper()
	sort.SliceStable(ps, func(i, j int) bool { return ps[i].at < ps[j].at })
	t0 := time.Unix(1000, 0)
	r := sim{b: b}
	i := 0
	for now := time.Duration(0); now <= end; now += frame {
		for ; i < len(ps) && ps[i].at <= now; i++ {
			p := ps[i]
			b.Push(p.seq, p.ts, p.ssrc, p.body, t0.Add(p.at))
			if d := b.Stats().Depth; d > r.maxDepth {
				r.maxDepth = d
			}
		}
		f := b.Pop(t0.Add(now))
		r.frames = append(r.frames, played{
			at: now, status: f.Status, seq: f.Seq, ts: f.TS,
			payload: bytes.Clone(f.Payload), next: bytes.Clone(f.Next),
		})
	}
	return r
}

// ready returns the Ready frames, checking that each payload is the packet
// its Seq names.
func (r sim) ready(t *testing.T) []played {
	t.Helper()
	var out []played
	for _, f := range r.frames {
		if f.status != Ready {
			continue
		}
		if got := binary.BigEndian.Uint16(f.payload); got != f.seq {
			t.Fatalf("at %v: frame seq %d carries payload of seq %d", f.at, f.seq, got)
		}
		out = append(out, f)
	}
	return out
}

func (r sim) count(s Status) int {
	n := 0
	for _, f := range r.frames {
		if f.status == s {
			n++
		}
	}
	return n
}

// checkIncreasing checks that the Ready frames' sequence numbers strictly
// increase (modulo wrap) and returns how many there are.
func checkIncreasing(t *testing.T, fs []played) {
	t.Helper()
	for i := 1; i < len(fs); i++ {
		if d := int16(fs[i].seq - fs[i-1].seq); d <= 0 {
			t.Fatalf("played seq %d after %d", fs[i].seq, fs[i-1].seq)
		}
	}
}

func TestInOrder(t *testing.T) {
	b := New(Options{})
	const n = 500
	ps := stream(n, 1000, 12345, 1, 5*time.Millisecond, nil)
	r := run(t, b, ps, (n+20)*frame)
	fs := r.ready(t)
	if len(fs) != n {
		t.Fatalf("played %d frames, want %d", len(fs), n)
	}
	for i, f := range fs {
		if f.seq != uint16(1000+i) || f.ts != 12345+uint32(i)*160 {
			t.Fatalf("frame %d: seq %d ts %d", i, f.seq, f.ts)
		}
	}
	// Playout is continuous: no concealment from the first Ready to the last.
	first, last := -1, -1
	for i, f := range r.frames {
		if f.status == Ready {
			if first < 0 {
				first = i
			}
			last = i
		}
	}
	if last-first+1 != n {
		t.Errorf("playout spans %d frames for %d packets", last-first+1, n)
	}
	st := b.Stats()
	if st.Lost != 0 || st.Late != 0 || st.Duplicate != 0 || st.Dropped != 0 || st.Resets != 0 {
		t.Errorf("stats %+v", st)
	}
	if st.Delay != 20*time.Millisecond {
		t.Errorf("target delay %v, want MinDelay", st.Delay)
	}
	if r.maxDepth > 2 {
		t.Errorf("max depth %d, want <= 2", r.maxDepth)
	}
	if st.Pushed != n || st.Played != n {
		t.Errorf("pushed %d played %d", st.Pushed, st.Played)
	}
	// The first packet arrived at 5 ms and waits the 20 ms target.
	if r.frames[first].at < 25*time.Millisecond || r.frames[first].at > 45*time.Millisecond {
		t.Errorf("playout started at %v", r.frames[first].at)
	}
}

func TestReorderDuplicate(t *testing.T) {
	b := New(Options{})
	const n = 400
	// Swap pairs: 1,0,3,2,... each 20 ms apart.
	ps := stream(n, 200, 0, 7, 5*time.Millisecond, func(i int) time.Duration {
		if i%2 == 0 {
			return frame
		}
		return -frame
	})
	dups := 0
	for i := 0; i < n; i += 7 {
		p := ps[i]
		p.at += 3 * time.Millisecond // right after the original
		ps = append(ps, p)
		dups++
		if i%3 == 0 {
			p.at += 100 * time.Millisecond // long after it was played
			ps = append(ps, p)
			dups++
		}
	}
	r := run(t, b, ps, (n+20)*frame)
	fs := r.ready(t)
	checkIncreasing(t, fs)
	if len(fs) != n {
		t.Errorf("played %d frames, want %d", len(fs), n)
	}
	st := b.Stats()
	if st.Duplicate != uint64(dups) {
		t.Errorf("duplicates %d, want %d", st.Duplicate, dups)
	}
	if st.Lost != 0 || st.Late != 0 {
		t.Errorf("lost %d late %d, want 0", st.Lost, st.Late)
	}
	if st.Delay <= 20*time.Millisecond {
		t.Errorf("target delay %v did not grow with reordering", st.Delay)
	}
}

func TestJitterAndLoss(t *testing.T) {
	rng := rand.New(rand.NewSource(42))
	b := New(Options{})
	const n = 3000
	all := stream(n, 65000, 4e9, 99, 100*time.Millisecond, func(int) time.Duration {
		return time.Duration(rng.Int63n(int64(80*time.Millisecond))) - 40*time.Millisecond
	})
	var ps []pkt
	dropped := 0
	for _, p := range all {
		if rng.Float64() < 0.05 {
			dropped++
			continue
		}
		ps = append(ps, p)
	}
	// Adaptation phase: the first 10 s.
	sort.SliceStable(ps, func(i, j int) bool { return ps[i].at < ps[j].at })
	t0 := time.Unix(1000, 0)
	var frames []played
	var late10 uint64
	maxDepth := 0
	i := 0
	for now := time.Duration(0); now <= (n+20)*frame; now += frame {
		for ; i < len(ps) && ps[i].at <= now; i++ {
			p := ps[i]
			b.Push(p.seq, p.ts, p.ssrc, p.body, t0.Add(p.at))
			maxDepth = max(maxDepth, b.Stats().Depth)
		}
		if now == 10*time.Second {
			late10 = b.Stats().Late
		}
		f := b.Pop(t0.Add(now))
		frames = append(frames, played{at: now, status: f.Status, seq: f.Seq, payload: bytes.Clone(f.Payload)})
		if st := b.Stats(); st.Delay > 200*time.Millisecond {
			t.Fatalf("target %v above MaxDelay", st.Delay)
		}
	}
	r := sim{frames: frames, maxDepth: maxDepth, b: b}
	fs := r.ready(t)
	checkIncreasing(t, fs)
	st := b.Stats()
	lossPct := 100 * float64(st.Lost) / n
	t.Logf("sent %d, not delivered %d; stats %+v", n, dropped, st)
	if lossPct < 2 || lossPct > 8 {
		t.Errorf("lost %.1f%%, want 2-8%%", lossPct)
	}
	if len(fs)+int(st.Lost) < n-10 || len(fs)+int(st.Lost) > n+10 {
		t.Errorf("played %d + lost %d, want about %d", len(fs), st.Lost, n)
	}
	adaptedLate := float64(st.Late-late10) / float64(n-500)
	if adaptedLate >= 0.01 {
		t.Errorf("late after adaptation %.2f%%, want < 1%%", 100*adaptedLate)
	}
	if st.Delay <= 40*time.Millisecond || st.Delay > 200*time.Millisecond {
		t.Errorf("target delay %v, want in (40ms, 200ms]", st.Delay)
	}
	if st.Jitter < 10*time.Millisecond || st.Jitter > 50*time.Millisecond {
		t.Errorf("jitter estimate %v, want about 27ms", st.Jitter)
	}
	if maxDepth > 10 {
		t.Errorf("depth %d above MaxDelay/Frame", maxDepth)
	}
}

func TestLateBurst(t *testing.T) {
	b := New(Options{})
	// 50 packets on time, then 15 packets stuck for 300 ms arriving at once,
	// then the stream continues on time.
	ps := stream(200, 0, 0, 5, 5*time.Millisecond, func(i int) time.Duration {
		if i >= 50 && i < 65 {
			return time.Duration(64-i)*frame + 300*time.Millisecond - 14*frame
		}
		return 0
	})
	// All 15 arrive at the same instant.
	for i := 50; i < 65; i++ {
		if ps[i].at != ps[50].at {
			t.Fatalf("burst not simultaneous: %v vs %v", ps[i].at, ps[50].at)
		}
	}
	if ps[50].at-(5*time.Millisecond+50*frame) != 300*time.Millisecond {
		t.Fatalf("burst is %v late", ps[50].at-(5*time.Millisecond+50*frame))
	}
	r := run(t, b, ps, 230*frame)
	fs := r.ready(t)
	checkIncreasing(t, fs)
	st := b.Stats()
	t.Logf("stats %+v", st)
	if r.maxDepth > 10 {
		t.Errorf("depth reached %d packets, MaxDelay allows 10", r.maxDepth)
	}
	if st.Dropped == 0 {
		t.Error("no packet dropped")
	}
	if st.Lost != 0 {
		t.Errorf("lost %d, want 0", st.Lost)
	}
	if got := fs[len(fs)-1].seq; got != 199 {
		t.Errorf("last played %d, want 199", got)
	}
	// After the burst playout is back near the target: the last packet is
	// played within a few frames of its arrival.
	var lastAt time.Duration
	for _, f := range r.frames {
		if f.status == Ready && f.seq == 199 {
			lastAt = f.at
		}
	}
	if d := lastAt - ps[199].at; d > 80*time.Millisecond {
		t.Errorf("delay after burst %v, want <= 80ms", d)
	}
}

func TestWrap(t *testing.T) {
	b := New(Options{})
	const n = 300
	// Swap the packets on both sides of the wrap too.
	ps := stream(n, 65436, 0xFFFFF000, 3, 5*time.Millisecond, func(i int) time.Duration {
		switch i {
		case 99:
			return frame
		case 100:
			return -frame
		}
		return 0
	})
	if ps[99].seq != 65535 || ps[100].seq != 0 {
		t.Fatalf("wrap at %d,%d", ps[99].seq, ps[100].seq)
	}
	r := run(t, b, ps, (n+20)*frame)
	fs := r.ready(t)
	checkIncreasing(t, fs)
	if len(fs) != n {
		t.Errorf("played %d, want %d", len(fs), n)
	}
	if st := b.Stats(); st.Lost != 0 || st.Late != 0 || st.Resets != 0 || st.Dropped != 0 {
		t.Errorf("stats %+v", st)
	}
}

func TestSSRCChange(t *testing.T) {
	b := New(Options{})
	a := stream(100, 1000, 5000, 0xA, 5*time.Millisecond, nil)
	c := stream(100, 40000, 777777, 0xB, 5*time.Millisecond+100*frame, nil)
	r := run(t, b, append(a, c...), 220*frame)
	fs := r.ready(t)
	st := b.Stats()
	if st.Resets != 1 {
		t.Errorf("resets %d, want 1", st.Resets)
	}
	if st.Lost != 0 {
		t.Errorf("lost %d, want 0", st.Lost)
	}
	// Frames between the last packet of A and the first of B.
	lastA, firstB := -1, -1
	for i, f := range r.frames {
		if f.status != Ready {
			continue
		}
		switch ssrc := binary.BigEndian.Uint32(f.payload[2:]); ssrc {
		case 0xA:
			if firstB >= 0 {
				t.Fatalf("stream A played after B")
			}
			lastA = i
		case 0xB:
			if firstB < 0 {
				firstB = i
			}
		}
	}
	if lastA < 0 || firstB < 0 {
		t.Fatal("a stream was not played")
	}
	for _, f := range r.frames[lastA+1 : firstB] {
		if f.status == Lost {
			t.Errorf("Lost frame at %v during the switch", f.at)
		}
	}
	if gap := firstB - lastA - 1; gap > 3 {
		t.Errorf("%d frames between streams, want <= 3", gap)
	}
	var bs []played
	for _, f := range fs {
		if binary.BigEndian.Uint32(f.payload[2:]) == 0xB {
			bs = append(bs, f)
		}
	}
	checkIncreasing(t, bs)
	if len(bs) != 100 || bs[0].seq != 40000 {
		t.Errorf("played %d packets of B from %d", len(bs), bs[0].seq)
	}
}

func TestSeqJumpResets(t *testing.T) {
	b := New(Options{})
	a := stream(50, 1000, 0, 1, 5*time.Millisecond, nil)
	c := stream(50, 1000+500, 50*160, 1, 5*time.Millisecond+50*frame, nil)          // seq jump
	d := stream(50, 1000+550, 50*160+8000*60, 1, 5*time.Millisecond+100*frame, nil) // 60 s timestamp jump
	r := run(t, b, append(append(a, c...), d...), 170*frame)
	st := b.Stats()
	if st.Resets != 2 || st.Lost != 0 {
		t.Errorf("resets %d lost %d, want 2 and 0", st.Resets, st.Lost)
	}
	// A reset flushes what is left of the old stream (at most the target).
	if got := len(r.ready(t)); got+int(st.Dropped) != 150 || st.Dropped > 2 {
		t.Errorf("played %d, dropped %d, want 150 in all", got, st.Dropped)
	}
}

func TestStop(t *testing.T) {
	b := New(Options{})
	a := stream(100, 10, 0, 1, 5*time.Millisecond, nil)
	// Resumes 2 s later, sequence numbers continuing (silence suppression).
	c := stream(50, 110, 100*160+16000, 1, 5*time.Millisecond+200*frame, nil)
	r := run(t, b, append(a, c...), 260*frame)
	last := -1
	for i, f := range r.frames {
		if f.status == Ready && f.seq == 109 {
			last = i
		}
	}
	if last < 0 {
		t.Fatal("first stream not played")
	}
	lost, empty := 0, 0
	for _, f := range r.frames[last+1:] {
		if f.status == Ready {
			break
		}
		switch f.status {
		case Lost:
			if empty > 0 {
				t.Fatalf("Lost at %v after Empty", f.at)
			}
			lost++
		case Empty:
			empty++
		}
	}
	// Concealment lasts at most MaxDelay, then Empty.
	if lost > 11 {
		t.Errorf("%d Lost frames after the stream stopped, want <= 11", lost)
	}
	if empty < 70 {
		t.Errorf("only %d Empty frames during the 2 s pause", empty)
	}
	st := b.Stats()
	if st.Lost != 0 {
		t.Errorf("lost %d, want 0", st.Lost)
	}
	fs := r.ready(t)
	checkIncreasing(t, fs)
	if len(fs) != 150 {
		t.Errorf("played %d, want 150 (stream resumed)", len(fs))
	}
	// A stopped stream yields Empty, not an endless run of Lost.
	b2 := New(Options{})
	r2 := run(t, b2, stream(10, 0, 0, 1, 0, nil), 100*frame)
	if tail := r2.frames[len(r2.frames)-50:]; tail[0].status != Empty || tail[49].status != Empty {
		t.Errorf("stopped stream: %v ... %v", tail[0].status, tail[49].status)
	}
	if n := r2.count(Lost); n > 11 {
		t.Errorf("%d Lost frames for a stopped stream", n)
	}
}

func TestNextOnLost(t *testing.T) {
	b := New(Options{MinDelay: 60 * time.Millisecond})
	ps := stream(100, 500, 0, 1, 5*time.Millisecond, nil)
	ps = append(ps[:40], ps[41:]...) // seq 540 never arrives
	r := run(t, b, ps, 120*frame)
	var lost []played
	for _, f := range r.frames {
		if f.status == Lost {
			lost = append(lost, f)
		}
	}
	if len(lost) == 0 || lost[0].seq != 540 {
		t.Fatalf("lost frames %+v, want one for seq 540", lost)
	}
	if !bytes.Equal(lost[0].next, payloadFor(541, 1)) {
		t.Errorf("Next is %x, want payload of 541", lost[0].next)
	}
	if lost[0].ts != 40*160 {
		t.Errorf("Lost TS %d, want %d", lost[0].ts, 40*160)
	}
	if st := b.Stats(); st.Lost != 1 || st.Played != 99 {
		t.Errorf("lost %d played %d", st.Lost, st.Played)
	}
	fs := r.ready(t)
	checkIncreasing(t, fs)
}

func TestTooBigAndReset(t *testing.T) {
	b := New(Options{MaxPayload: 200})
	now := time.Unix(0, 0)
	b.Push(1, 0, 1, make([]byte, 201), now)
	if st := b.Stats(); st.Dropped != 1 || st.Depth != 0 {
		t.Fatalf("too big: %+v", st)
	}
	b.Push(1, 0, 1, make([]byte, 200), now)
	b.Push(2, 160, 1, make([]byte, 200), now)
	b.Reset()
	st := b.Stats()
	if st.Resets != 1 || st.Depth != 0 || st.Dropped != 3 {
		t.Fatalf("after reset: %+v", st)
	}
	if f := b.Pop(now.Add(time.Second)); f.Status != Empty {
		t.Fatalf("after reset: %v", f.Status)
	}
}

func TestConcurrent(t *testing.T) {
	b := New(Options{})
	t0 := time.Unix(0, 0)
	done := make(chan struct{})
	go func() {
		defer close(done)
		p := make([]byte, 160)
		for i := 0; i < 2000; i++ {
			b.Push(uint16(i), uint32(i)*160, 1, p, t0.Add(time.Duration(i)*frame))
		}
	}()
	for i := 0; i < 2000; i++ {
		f := b.Pop(t0.Add(time.Duration(i) * frame))
		_ = f.Payload
	}
	<-done
}

func TestNoAllocs(t *testing.T) {
	b := New(Options{ClockRate: 48000})
	p := make([]byte, 120)
	t0 := time.Unix(0, 0)
	i := 0
	step := func() {
		at := t0.Add(time.Duration(i) * frame)
		b.Push(uint16(i), uint32(i)*960, 1, p, at)
		b.Pop(at.Add(5 * time.Millisecond))
		i++
	}
	for range 100 {
		step()
	}
	if a := testing.AllocsPerRun(1000, step); a != 0 {
		t.Errorf("Push+Pop allocates %v times", a)
	}
	if st := b.Stats(); st.Played < 1000 {
		t.Errorf("played %d", st.Played)
	}
}

func BenchmarkPushPop(b *testing.B) {
	buf := New(Options{ClockRate: 48000})
	p := make([]byte, 120)
	t0 := time.Unix(0, 0)
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		at := t0.Add(time.Duration(i) * frame)
		buf.Push(uint16(i), uint32(i)*960, 1, p, at)
		buf.Pop(at.Add(5 * time.Millisecond))
	}
}

// TestFirstHold: a steady stream with FirstHold = Frame/2 starts playing a
// frame sooner than with the target hold, plays every packet without
// concealment, and a restart after a stall waits the full target again.
func TestFirstHold(t *testing.T) {
	start := func(o Options, ps []pkt) (first time.Duration, played int, st Stats) {
		b := New(o)
		r := run(t, b, ps, time.Duration(len(ps)+20)*frame)
		first = -1
		for _, f := range r.frames {
			if f.status == Ready && first < 0 {
				first = f.at
			}
		}
		return first, len(r.ready(t)), b.Stats()
	}
	// The first packet arrives at 5 ms: held for the 20 ms target it plays
	// at the Pop at 40 ms, held 10 ms at the Pop at 20 ms.
	ps := stream(100, 7, 0, 1, 5*time.Millisecond, nil)
	full, n1, st1 := start(Options{}, ps)
	half, n2, st2 := start(Options{FirstHold: frame / 2}, stream(100, 7, 0, 1, 5*time.Millisecond, nil))
	if full != 40*time.Millisecond || half != 20*time.Millisecond {
		t.Errorf("first playout at %v (target hold) and %v (FirstHold), want 40ms and 20ms", full, half)
	}
	if n1 != 100 || n2 != 100 || st1.Lost != 0 || st2.Lost != 0 {
		t.Errorf("played %d and %d of 100, lost %d and %d", n1, n2, st1.Lost, st2.Lost)
	}
	// A second stream (new SSRC) after the first stops: the target again.
	two := append(stream(20, 7, 0, 1, 5*time.Millisecond, nil), stream(20, 500, 0, 2, 5*time.Millisecond+time.Second, nil)...)
	b := New(Options{FirstHold: frame / 2})
	r := run(t, b, two, 2*time.Second)
	var second time.Duration = -1
	for _, f := range r.frames {
		if f.status == Ready && f.seq == 500 {
			second = f.at
		}
	}
	if second != time.Second+40*time.Millisecond {
		t.Errorf("second stream first played at %v, want 1.04s (the target hold)", second)
	}
}
