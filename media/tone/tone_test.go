package tone

import (
	"math"
	"math/rand/v2"
	"testing"
	"time"
)

const rate = 8000

// feed writes d worth of 20 ms frames from the generators (mixed) into det.
func feed(det *Detector, d time.Duration, gens ...*Generator) {
	frame := make([]int16, rate/50)
	for range int(d / (20 * time.Millisecond)) {
		clear(frame)
		for _, g := range gens {
			g.Add(frame)
		}
		det.Write(frame)
	}
}

func TestToneDetected(t *testing.T) {
	det := NewDetector(rate, time.Second)
	feed(det, time.Second, NewGenerator(rate, 440, 0.5))

	if r := det.RelativePower(440); r < 0.9 {
		t.Errorf("RelativePower(440) = %.3f, want ≥ 0.9", r)
	}
	if !det.Present(440) {
		t.Error("440 Hz not present")
	}
	if r := det.RelativePower(1000); r > 0.01 {
		t.Errorf("RelativePower(1000) = %.3f, want ≈ 0", r)
	}
	if det.Present(1000) {
		t.Error("1000 Hz present in a 440 Hz tone")
	}
	if f, r := det.Dominant([]float64{350, 440, 1000, 2000}); f != 440 || r < 0.9 {
		t.Errorf("Dominant = %v Hz (%.3f), want 440", f, r)
	}
}

func TestTwoTonesDetected(t *testing.T) {
	det := NewDetector(rate, time.Second)
	feed(det, time.Second, NewGenerator(rate, 440, 0.3), NewGenerator(rate, 1000, 0.3))
	for _, f := range []float64{440, 1000} {
		if r := det.RelativePower(f); r < 0.4 || r > 0.6 {
			t.Errorf("RelativePower(%v) = %.3f, want ≈ 0.5", f, r)
		}
		if !det.Present(f) {
			t.Errorf("%v Hz not present in a mix", f)
		}
	}
	for _, f := range []float64{350, 620, 1400, 2600} {
		if det.Present(f) {
			t.Errorf("%v Hz present in a 440+1000 mix (%.3f)", f, det.RelativePower(f))
		}
	}
}

func TestSilenceAndNoiseDetectNothing(t *testing.T) {
	candidates := []float64{300, 440, 697, 1000, 1633, 2000, 3000}

	silence := NewDetector(rate, time.Second)
	feed(silence, time.Second) // no generators: zeros
	for _, f := range candidates {
		if silence.Present(f) || silence.RelativePower(f) != 0 {
			t.Errorf("silence: %v Hz present (%.3f)", f, silence.RelativePower(f))
		}
	}
	if f, r := silence.Dominant(candidates); f != 0 || r != 0 {
		t.Errorf("silence: Dominant = %v (%.3f), want 0", f, r)
	}

	noise := NewDetector(rate, time.Second)
	rng := rand.New(rand.NewPCG(1, 2))
	buf := make([]int16, rate)
	for i := range buf {
		buf[i] = int16(rng.NormFloat64() * 6000)
	}
	noise.Write(buf)
	for _, f := range candidates {
		if noise.Present(f) {
			t.Errorf("noise: %v Hz present (%.3f)", f, noise.RelativePower(f))
		}
	}
}

func TestEmptyAndShortWindow(t *testing.T) {
	det := NewDetector(rate, time.Second)
	if det.Present(440) || det.RelativePower(440) != 0 || det.Len() != 0 {
		t.Fatal("empty detector reports a tone")
	}
	g := NewGenerator(rate, 440, 0.5)
	frame := make([]int16, 100) // less than one 20 ms block
	g.Fill(frame)
	det.Write(frame)
	if det.RelativePower(440) != 0 {
		t.Error("partial block counted")
	}
	g.Fill(frame)
	det.Write(frame)
	if !det.Present(440) {
		t.Error("440 Hz not present after one block")
	}
}

func TestSlidingWindowForgets(t *testing.T) {
	det := NewDetector(rate, 500*time.Millisecond)
	feed(det, time.Second, NewGenerator(rate, 440, 0.5))
	// Odd-sized writes exercise blocks wrapping around the ring.
	g := NewGenerator(rate, 1000, 0.5)
	frame := make([]int16, 333)
	for range 13 {
		g.Fill(frame)
		det.Write(frame)
	}
	if det.Present(440) {
		t.Errorf("440 Hz still present after the window moved on (%.3f)", det.RelativePower(440))
	}
	if r := det.RelativePower(1000); r < 0.9 {
		t.Errorf("RelativePower(1000) = %.3f after wrap, want ≥ 0.9", r)
	}
	// One write larger than the ring.
	big := make([]int16, 3*rate)
	NewGenerator(rate, 697, 0.5).Fill(big)
	det.Write(big)
	if !det.Present(697) || det.Present(1000) {
		t.Error("large write did not replace the window")
	}
	det.Reset()
	if det.Len() != 0 || det.Present(697) {
		t.Error("Reset left samples")
	}
}

func TestGeneratorPhaseContinuous(t *testing.T) {
	// Frames of any size must join into the same wave as one long fill.
	long := make([]int16, 1000)
	NewGenerator(rate, 440, 0.8).Fill(long)
	g := NewGenerator(rate, 440, 0.8)
	var joined []int16
	for _, n := range []int{160, 7, 333, 500} {
		f := make([]int16, n)
		g.Fill(f)
		joined = append(joined, f...)
	}
	for i := range long {
		if long[i] != joined[i] {
			t.Fatalf("sample %d: %d != %d", i, joined[i], long[i])
		}
	}
	peak := 0.0
	for _, v := range long {
		peak = math.Max(peak, math.Abs(float64(v)))
	}
	if want := 0.8 * math.MaxInt16; math.Abs(peak-want) > 0.01*want {
		t.Errorf("peak %v, want ≈ %v", peak, want)
	}
}

func TestGeneratorSilentAndSaturating(t *testing.T) {
	f := []int16{1, 2, 3}
	NewGenerator(rate, 0, 1).Fill(f)
	if f[0] != 0 || f[1] != 0 || f[2] != 0 {
		t.Errorf("0 Hz not silent: %v", f)
	}
	frame := make([]int16, 160)
	for range 3 {
		NewGenerator(rate, 440, 1).Add(frame)
	}
	for _, v := range frame {
		if v > math.MaxInt16 || v < math.MinInt16 {
			t.Fatal("overflow")
		}
	}
}

func TestNoAllocations(t *testing.T) {
	g := NewGenerator(rate, 440, 0.5)
	det := NewDetector(rate, time.Second)
	frame := make([]int16, 160)
	allocs := testing.AllocsPerRun(100, func() {
		g.Fill(frame)
		det.Write(frame)
		_ = det.Present(440)
	})
	if allocs != 0 {
		t.Errorf("%v allocations per frame, want 0", allocs)
	}
}

// BenchmarkGenerator20ms fills one 20 ms frame at 8 kHz.
func BenchmarkGenerator20ms(b *testing.B) {
	g := NewGenerator(rate, 440, 0.5)
	frame := make([]int16, rate/50)
	b.ReportAllocs()
	for b.Loop() {
		g.Fill(frame)
	}
}

// BenchmarkDetector20ms writes one 20 ms frame and asks for one frequency
// over a 20 ms window: the per-frame cost of Goertzel.
func BenchmarkDetector20ms(b *testing.B) {
	g := NewGenerator(rate, 440, 0.5)
	det := NewDetector(rate, 20*time.Millisecond)
	frame := make([]int16, rate/50)
	g.Fill(frame)
	b.ReportAllocs()
	for b.Loop() {
		det.Write(frame)
		_ = det.RelativePower(440)
	}
}

// BenchmarkDetectorWindow1s asks for one frequency over a full 1 s window
// (50 frames), as a test UA does when polling.
func BenchmarkDetectorWindow1s(b *testing.B) {
	det := NewDetector(rate, time.Second)
	feed(det, time.Second, NewGenerator(rate, 440, 0.5))
	b.ReportAllocs()
	for b.Loop() {
		_ = det.RelativePower(440)
	}
}
