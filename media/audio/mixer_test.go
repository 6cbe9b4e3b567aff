package audio

import (
	"math"
	"slices"
	"sync"
	"testing"
	"time"
)

const (
	mixRate  = 8000
	musicAmp = 0.5
	annAmp   = 0.1
)

// musicClip is 1 s of 500 Hz as a cosine: every 20 ms frame starts at a
// peak, where an instant gain change would click hardest.
func musicClip() *Clip {
	return &Clip{Rate: mixRate, Samples: sine(mixRate, 500, musicAmp, math.Pi/2, mixRate)}
}

// annClip is 1 s of 1100 Hz, starting and ending at zero.
func annClip() *Clip {
	return &Clip{Rate: mixRate, Samples: sine(mixRate, 1100, annAmp, 0, mixRate)}
}

// runMixer plays music alone for 0.5 s, then announces annClip and plays
// on for 1.5 s. It returns the output and, per frame, Announcing().
func runMixer(t *testing.T, o MixerOptions) ([]int16, []bool) {
	t.Helper()
	m := NewMixer(mixRate, o)
	m.SetMusic(NewPlayer(musicClip(), mixRate, true))
	frame := make([]int16, mixRate/50)
	var out []int16
	var ann []bool
	for i := range 100 {
		if i == 25 {
			m.Announce(NewPlayer(annClip(), mixRate, false))
		}
		if n := m.Read(frame); n != len(frame) {
			t.Fatalf("Mixer.Read = %d, want %d", n, len(frame))
		}
		out = append(out, frame...)
		ann = append(ann, m.Announcing())
	}
	return out, ann
}

// at returns the samples from time from to time to of out.
func at(out []int16, from, to time.Duration) []int16 {
	return out[int(from.Seconds()*mixRate):int(to.Seconds()*mixRate)]
}

func TestMixerDucking(t *testing.T) {
	out, ann := runMixer(t, MixerOptions{})
	const ms = time.Millisecond
	full := musicAmp * fullScale

	// Windows of whole 20 ms frames: whole periods of both tones.
	before := at(out, 200*ms, 500*ms)
	during := at(out, 600*ms, 1400*ms)
	after := at(out, 1600*ms, 2000*ms)

	check := func(name string, w []int16, music, ann float64) {
		t.Helper()
		if got := amplitude(w, mixRate, 500) / full; math.Abs(got-music) > 0.02 {
			t.Errorf("%s: music at ×%.3f, want ×%.2f", name, got, music)
		}
		if got := amplitude(w, mixRate, 1100) / (annAmp * fullScale); math.Abs(got-ann) > 0.02 {
			t.Errorf("%s: announcement at ×%.3f, want ×%.2f", name, got, ann)
		}
	}
	check("before", before, 1, 0)
	check("during", during, DefaultDuck, 1)
	check("after", after, 1, 0)

	d := detect(t, during, mixRate)
	if !d.Present(500) || !d.Present(1100) {
		t.Errorf("during the announcement: 500 Hz %v (%.2f), 1100 Hz %v (%.2f), want both",
			d.Present(500), d.RelativePower(500), d.Present(1100), d.RelativePower(1100))
	}
	if d := detect(t, after, mixRate); !d.Present(500) || d.Present(1100) {
		t.Errorf("after the announcement: 500 Hz %v, 1100 Hz %v, want only 500", d.Present(500), d.Present(1100))
	}

	// Announcing from the Announce (frame 25) until the 1 s clip ends.
	for i, a := range ann {
		if want := i >= 25 && i < 75; a != want {
			t.Errorf("frame %d: Announcing %v, want %v", i, a, want)
		}
	}

	// The gain ramps: the first frame of the announcement still has the
	// music near full level (a 50 ms ramp from 1 to 0.25 averages 0.85 over
	// its first 20 ms).
	if g := amplitude(at(out, 500*ms, 520*ms), mixRate, 500) / full; g < 0.75 || g > 0.95 {
		t.Errorf("music in the first 20 ms of the announcement at ×%.3f, want ramping (about ×0.85)", g)
	}
	// No click: the curvature of the mix stays within that of its parts.
	bound := (maxCurve(musicClip().Samples) + maxCurve(annClip().Samples)) * 6 / 5
	if c := maxCurve(out[mixRate/10:]); c > bound {
		t.Errorf("mix curvature %d, want ≤ %d (a click)", c, bound)
	}
}

// TestMixerInstantClicks checks that the click measure of TestMixerDucking
// can fail: without a ramp the ducking clicks.
func TestMixerInstantClicks(t *testing.T) {
	out, _ := runMixer(t, MixerOptions{Ramp: -1})
	bound := (maxCurve(musicClip().Samples) + maxCurve(annClip().Samples)) * 6 / 5
	if c := maxCurve(out[mixRate/10:]); c <= bound {
		t.Errorf("unramped mix curvature %d, want > %d", c, bound)
	}
	if g := amplitude(at(out, 500*time.Millisecond, 520*time.Millisecond), mixRate, 500) / (musicAmp * fullScale); math.Abs(g-DefaultDuck) > 0.02 {
		t.Errorf("unramped: music in the first 20 ms of the announcement at ×%.3f, want ×%.2f", g, DefaultDuck)
	}
}

func TestMixerOptions(t *testing.T) {
	m := NewMixer(8000, MixerOptions{Duck: -1})
	m.SetMusic(NewPlayer(musicClip(), 8000, true))
	m.Announce(NewPlayer(&Clip{Rate: 8000, Samples: make([]int16, 8000)}, 8000, false))
	out := readAll(m, 8000, 4000)
	if a := amplitude(out[2400:4000], 8000, 500); a > 1 {
		t.Errorf("Duck < 0: music at amplitude %.1f under the announcement, want muted", a)
	}
}

func TestMixerReplace(t *testing.T) {
	m := NewMixer(mixRate, MixerOptions{})
	m.SetMusic(NewPlayer(musicClip(), mixRate, true))
	out := readAll(m, mixRate, mixRate/2)
	// Replace the music with 700 Hz and the announcement twice.
	m.SetMusic(NewPlayer(&Clip{Rate: mixRate, Samples: sine(mixRate, 700, musicAmp, math.Pi/2, mixRate)}, mixRate, true))
	m.Announce(NewPlayer(annClip(), mixRate, true))
	out = append(out, readAll(m, mixRate, mixRate/2)...)
	m.Announce(NewPlayer(&Clip{Rate: mixRate, Samples: sine(mixRate, 1500, annAmp, math.Pi/2, mixRate)}, mixRate, false))
	out = append(out, readAll(m, mixRate, mixRate/2)...)
	m.Announce(nil)
	if m.Announcing() {
		t.Error("Announcing after Announce(nil)")
	}
	out = append(out, readAll(m, mixRate, mixRate/2)...)
	m.SetMusic(nil)
	out = append(out, readAll(m, mixRate, mixRate/2)...)

	for _, tt := range []struct {
		from int // 0.5 s steps
		want []float64
		not  []float64
	}{
		{0, []float64{500}, []float64{700, 1100, 1500}},
		{1, []float64{700, 1100}, []float64{500, 1500}},
		{2, []float64{700, 1500}, []float64{500, 1100}},
		{3, []float64{700}, []float64{500, 1100, 1500}},
	} {
		w := out[tt.from*mixRate/2+mixRate/10 : (tt.from+1)*mixRate/2]
		d := detect(t, w, mixRate)
		for _, f := range tt.want {
			if !d.Present(f) {
				t.Errorf("part %d: %.0f Hz missing", tt.from, f)
			}
		}
		for _, f := range tt.not {
			if d.Present(f) {
				t.Errorf("part %d: %.0f Hz present", tt.from, f)
			}
		}
	}
	if tail := out[4*mixRate/2+mixRate/10:]; slices.ContainsFunc(tail, func(v int16) bool { return v != 0 }) {
		t.Error("not silent after SetMusic(nil)")
	}
	// Replacing fades, so no switch clicks (the 1500 Hz announcement starts
	// at a peak by itself: leave out its first samples).
	bound := (maxCurve(sine(mixRate, 700, musicAmp, 0, 100)) + maxCurve(sine(mixRate, 1500, annAmp, 0, 100))) * 6 / 5
	for _, w := range [][]int16{out[mixRate/10 : mixRate], out[mixRate+2 : 5*mixRate/2]} {
		if c := maxCurve(w); c > bound {
			t.Errorf("curvature %d, want ≤ %d (a click)", c, bound)
		}
	}
}

func TestMixerConcurrent(t *testing.T) {
	m := NewMixer(mixRate, MixerOptions{})
	music, ann := musicClip(), annClip()
	var wg sync.WaitGroup
	wg.Go(func() {
		for i := range 200 {
			if i%2 == 0 {
				m.SetMusic(NewPlayer(music, mixRate, true))
			} else {
				m.Announce(NewPlayer(ann, mixRate, false))
			}
			m.Announcing()
		}
	})
	frame := make([]int16, mixRate/50)
	for range 200 {
		m.Read(frame)
	}
	wg.Wait()
}

func TestMixerReadAllocs(t *testing.T) {
	m := NewMixer(mixRate, MixerOptions{})
	m.SetMusic(NewPlayer(musicClip(), mixRate, true))
	m.Announce(NewPlayer(annClip(), mixRate, true))
	frame := make([]int16, mixRate/50)
	if a := testing.AllocsPerRun(200, func() { m.Read(frame) }); a != 0 {
		t.Errorf("Mixer.Read: %v allocations, want 0", a)
	}
	big := make([]int16, 3*mixRate/50+7) // longer than a frame: mixed in chunks
	if a := testing.AllocsPerRun(50, func() { m.Read(big) }); a != 0 {
		t.Errorf("Mixer.Read of a long frame: %v allocations, want 0", a)
	}
}

func TestMix(t *testing.T) {
	a := []int16{1, 30000, -30000, 100, 5}
	b := []int16{2, 30000, -30000, -100}
	dst := make([]int16, 5)
	Mix(dst, a, b)
	if want := []int16{3, 32767, -32768, 0, 5}; !slices.Equal(dst, want) {
		t.Errorf("Mix = %v, want %v", dst, want)
	}
	Mix(dst, dst, []int16{10, -10})
	if want := []int16{13, 32757, -32768, 0, 5}; !slices.Equal(dst, want) {
		t.Errorf("Mix into itself = %v, want %v", dst, want)
	}
	Mix(dst)
	if !slices.Equal(dst, make([]int16, 5)) {
		t.Errorf("Mix of nothing = %v, want silence", dst)
	}
	x, y := make([]int16, 160), make([]int16, 160)
	if n := testing.AllocsPerRun(100, func() { Mix(dst, x, y) }); n != 0 {
		t.Errorf("Mix: %v allocations, want 0", n)
	}
}

func BenchmarkMixerRead(b *testing.B) {
	m := NewMixer(mixRate, MixerOptions{})
	m.SetMusic(NewPlayer(musicClip(), mixRate, true))
	m.Announce(NewPlayer(annClip(), mixRate, true))
	frame := make([]int16, mixRate/50)
	b.ReportAllocs()
	for b.Loop() {
		m.Read(frame)
	}
}

func BenchmarkMix(b *testing.B) {
	dst, x, y := make([]int16, 160), make([]int16, 160), make([]int16, 160)
	b.ReportAllocs()
	for b.Loop() {
		Mix(dst, x, y)
	}
}
