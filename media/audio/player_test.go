package audio

import (
	"bytes"
	"math"
	"slices"
	"testing"
	"time"

	"github.com/switchboard-voice/switchboard/media/tone"
)

// toneSequence is 440, 880 and 1320 Hz for 200 ms each at 8 kHz, phase
// continuous, starting at a negative peak and cut so that it ends at a
// positive peak: looping it naively jumps by almost full scale.
func toneSequence() []int16 {
	const rate, amp = 8000, 0.5
	var s []int16
	phase := -math.Pi / 2
	for _, hz := range []float64{440, 880, 1320} {
		for range rate / 5 {
			s = append(s, int16(math.Round(amp*fullScale*math.Sin(phase))))
			phase += 2 * math.Pi * hz / rate
		}
	}
	// End on the highest sample of the last 5 ms.
	end := len(s) - 40
	for i := end; i < len(s); i++ {
		if s[i] > s[end] {
			end = i
		}
	}
	return s[:end+1]
}

func TestPlayerLoopSequence(t *testing.T) {
	const rate = 8000
	// Through a WAV file, as a prompt would be.
	var b bytes.Buffer
	if err := EncodeWAV(&b, &Clip{Rate: rate, Samples: toneSequence()}); err != nil {
		t.Fatal(err)
	}
	clip, err := DecodeWAV(&b)
	if err != nil {
		t.Fatal(err)
	}
	n := len(clip.Samples)

	// The clip steps by at most inside; looping it naively would click.
	inside := maxStep(clip.Samples)
	bound := inside + inside/10
	naive := slices.Concat(clip.Samples, clip.Samples, clip.Samples)
	if ms := maxStep(naive); ms <= bound {
		t.Fatalf("naive loop steps by %d, not more than %d: the clip does not test the loop point", ms, bound)
	}

	p := NewPlayer(clip, rate, true)
	fade := rate * 15 / 1000
	period := n - fade
	out := readAll(p, rate, 3*period+rate/50)
	if len(out) < 3*period {
		t.Fatalf("read %d samples, want %d", len(out), 3*period)
	}
	if p.Done() {
		t.Error("looping player reports Done")
	}

	// No click anywhere, loop points included.
	if ms := maxStep(out); ms > bound {
		i := 1
		for abs(int(out[i])-int(out[i-1])) != ms {
			i++
		}
		t.Errorf("looped output steps by %d at sample %d (period %d), want ≤ %d", ms, i, period, bound)
	}
	// The first pass is the clip itself; later passes repeat exactly.
	if !slices.Equal(out[:period], clip.Samples[:period]) {
		t.Error("first pass differs from the clip")
	}
	for k := 2; k < 3; k++ {
		if !slices.Equal(out[k*period:(k+1)*period], out[period:2*period]) {
			t.Errorf("pass %d differs from pass 1", k)
		}
	}

	// Each pass plays the three tones in order.
	freqs := []float64{440, 880, 1320}
	seg := rate / 5
	for k := range 3 {
		for i, want := range freqs {
			start := k*period + i*seg + seg/4 // 50 ms into the tone
			w := out[start : start+seg/2]     // 100 ms
			d := detect(t, w, rate)
			if got, _ := d.Dominant(freqs); got != want || !d.Present(want) {
				t.Errorf("pass %d tone %d: dominant %.0f Hz, want %.0f Hz", k, i, got, want)
			}
		}
	}

	// Rewind starts again with the unblended first pass.
	p.Rewind()
	again := readAll(p, rate, period)
	if !slices.Equal(again[:period], clip.Samples[:period]) {
		t.Error("after Rewind the first pass differs from the clip")
	}
}

func TestPlayerLoopResampled(t *testing.T) {
	// A 48 kHz tone looped at 8 kHz: still the tone, and no click although
	// the clip runs from a negative peak to a positive one.
	c := &Clip{Rate: 48000, Samples: sine(48000, 1000, 0.5, -math.Pi/2, 300*48+24+1)}
	p := NewPlayer(c, 8000, true)
	out := readAll(p, 8000, 8000)
	d := tone.NewDetector(8000, 0)
	for i := 0; i+160 <= len(out); i += 160 {
		d.Write(out[i : i+160])
		if !d.Present(1000) {
			t.Fatalf("frame at %d: 1 kHz not detected", i)
		}
	}
	// Skip the first 5 ms: the clip starts at a peak, out of silence, and
	// band-limiting that start rings.
	ref := sine(8000, 1000, 0.5, 0, 800)
	if ms, bound := maxStep(out[40:]), maxStep(ref)*11/10; ms > bound {
		t.Errorf("looped output steps by %d, want ≤ %d", ms, bound)
	}
}

func TestPlayerOnce(t *testing.T) {
	c := &Clip{Rate: 16000, Samples: sine(16000, 500, 0.5, 0, 16000/2+123)}
	p := NewPlayer(c, 8000, false)
	frame := make([]int16, 160)
	total, reads := 0, 0
	for !p.Done() {
		n := p.Read(frame)
		total += n
		reads++
		if n < len(frame) {
			for i, v := range frame[n:] {
				if v != 0 {
					t.Fatalf("sample %d past the end is %d, want 0", n+i, v)
				}
			}
		}
		if reads > 100 {
			t.Fatal("player never done")
		}
	}
	if want := (len(c.Samples) + 1) / 2; total != want {
		t.Errorf("played %d samples, want %d", total, want)
	}
	if n := p.Read(frame); n != 0 {
		t.Errorf("Read after the end = %d, want 0", n)
	}
	p.Rewind()
	if p.Done() {
		t.Error("Done after Rewind")
	}
	if n := p.Read(frame); n != len(frame) {
		t.Errorf("Read after Rewind = %d, want %d", n, len(frame))
	}

	for _, c := range []*Clip{nil, {Rate: 8000}} {
		for _, loop := range []bool{false, true} {
			p := NewPlayer(c, 8000, loop)
			if !p.Done() || p.Read(frame) != 0 {
				t.Errorf("empty clip (loop %v): not done", loop)
			}
		}
	}
}

func TestPlayerReadAllocs(t *testing.T) {
	p := NewPlayer(toneClip(48000, 440, 0.5, 300*time.Millisecond), 8000, true)
	frame := make([]int16, 160)
	if a := testing.AllocsPerRun(200, func() { p.Read(frame) }); a != 0 {
		t.Errorf("Player.Read: %v allocations, want 0", a)
	}
}

func BenchmarkPlayerRead(b *testing.B) {
	p := NewPlayer(toneClip(8000, 440, 0.5, time.Second), 8000, true)
	frame := make([]int16, 160)
	b.ReportAllocs()
	for b.Loop() {
		p.Read(frame)
	}
}

func TestPlayerPreparedLoop(t *testing.T) {
	// 1 s of 500 Hz at 48 kHz is a perfect loop: played looped at 8 kHz it
	// must stay a clean, steady tone across the loop points.
	c := &Clip{Rate: 48000, Samples: sine(48000, 500, 0.5, 0, 48000)}
	out := readAll(NewPlayer(c, 8000, true), 8000, 3*8000)
	want := sine(8000, 500, 0.5, 0, len(out))
	worst := 0
	for i := range out {
		worst = max(worst, abs(int(out[i])-int(want[i])))
	}
	if worst > 5 {
		t.Errorf("looped tone deviates from a steady 500 Hz by up to %d", worst)
	}
}
