package audio

import (
	"testing"
	"time"
)

// TestRepeatAnnouncesEveryInterval: music plays alone until the interval,
// then the message is heard over it, then the music alone again until the
// next interval.
func TestRepeatAnnouncesEveryInterval(t *testing.T) {
	const rate = 8000
	r := NewRepeat(rate, toneClip(rate, 600, 0.3, 2*time.Second), toneClip(rate, 800, 0.3, 500*time.Millisecond), time.Second)
	frame := make([]int16, rate/50)
	// read reads d of audio.
	read := func(d time.Duration) []int16 {
		var out []int16
		for range int(d / (20 * time.Millisecond)) {
			if n := r.Read(frame); n != len(frame) {
				t.Fatalf("Read = %d, want %d", n, len(frame))
			}
			out = append(out, frame...)
		}
		return out
	}
	// has: hz is in the last 100 ms of x at a tenth of the tones' level
	// or more (the music ducked under the message is still there).
	has := func(x []int16, hz float64) bool { return amplitude(x[len(x)-rate/10:], rate, hz) > 0.03*fullScale }
	first := read(800 * time.Millisecond)
	if !has(first, 600) || has(first, 800) {
		t.Fatalf("before the interval: 600 Hz %v, 800 Hz %v; want music alone", has(first, 600), has(first, 800))
	}
	during := read(500 * time.Millisecond) // 1.1–1.3 s: the message plays
	if !has(during, 800) {
		t.Errorf("at the interval: no 800 Hz message")
	}
	after := read(500 * time.Millisecond) // 1.6–1.8 s: the message is over
	if has(after, 800) || !has(after, 600) {
		t.Errorf("after the message: 600 Hz %v, 800 Hz %v; want music alone", has(after, 600), has(after, 800))
	}
	again := read(400 * time.Millisecond) // 2.0–2.2 s: the second message
	if !has(again, 800) {
		t.Errorf("one interval later: no second message")
	}
}

// TestHoldMusicLoops: the built-in music is 8 s, starts and ends silent
// enough to loop without a click, and is not silent.
func TestHoldMusicLoops(t *testing.T) {
	c := HoldMusic()
	if c.Rate != 8000 || len(c.Samples) != 4*8000 {
		t.Fatalf("HoldMusic: %d Hz, %d samples; want 8000 Hz, 4 s", c.Rate, len(c.Samples))
	}
	var peak int16
	for _, s := range c.Samples {
		peak = max(peak, s, -s)
	}
	if peak < 2000 {
		t.Errorf("peak %d: the music is nearly silent", peak)
	}
	if last := c.Samples[len(c.Samples)-1]; last > 200 || last < -200 {
		t.Errorf("last sample %d: the loop point clicks", last)
	}
}
