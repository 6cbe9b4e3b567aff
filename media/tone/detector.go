package tone

import (
	"math"
	"time"
)

// DefaultThreshold is the relative power (see Detector.RelativePower) at or
// above which Detector.Present reports a tone. A clean tone measures close to
// 1, each of two equally loud tones about 0.5, G.711 coding noise or a second
// tone 10 dB louder still leave well above 0.05; white noise measures about
// 2/(samples per block), that is near 0.01 at 8 kHz.
const DefaultThreshold = 0.2

// DefaultMinLevel is the RMS level, in int16 units, below which the window is
// treated as silence and no tone is present (about -70 dBFS).
const DefaultMinLevel = 10.0

// Detector measures how much of the signal power in a sliding window lies at
// a given frequency, with the Goertzel algorithm.
//
// Samples are kept in a ring of the last window's worth. The window is split
// into blocks of 20 ms; each block is analysed on its own and the powers are
// summed (non-coherent averaging), so a phase jump in the signal (a lost or
// re-timed RTP packet) costs at most one block instead of cancelling the
// whole window. The frequency resolution is therefore about 50 Hz: tones
// closer than that are not told apart.
//
// A Detector is not safe for concurrent use.
type Detector struct {
	sampleRate float64
	ring       []int16
	pos        int // next write index
	full       bool
	block      int

	// Threshold is the relative power at or above which Present reports a
	// tone; NewDetector sets DefaultThreshold.
	Threshold float64
	// MinLevel is the RMS level (int16 units) under which the window counts
	// as silence; NewDetector sets DefaultMinLevel.
	MinLevel float64
}

// NewDetector returns a detector for audio at sampleRate that looks at the
// last window of samples (rounded to whole 20 ms blocks, at least one).
func NewDetector(sampleRate int, window time.Duration) *Detector {
	block := sampleRate / 50
	if block < 1 {
		block = 1
	}
	n := int(window.Seconds() * float64(sampleRate))
	blocks := (n + block - 1) / block
	if blocks < 1 {
		blocks = 1
	}
	return &Detector{
		sampleRate: float64(sampleRate),
		ring:       make([]int16, blocks*block),
		block:      block,
		Threshold:  DefaultThreshold,
		MinLevel:   DefaultMinLevel,
	}
}

// Write appends samples to the window, dropping the oldest ones.
func (d *Detector) Write(samples []int16) {
	if len(samples) >= len(d.ring) {
		copy(d.ring, samples[len(samples)-len(d.ring):])
		d.pos, d.full = 0, true
		return
	}
	n := copy(d.ring[d.pos:], samples)
	if n < len(samples) {
		copy(d.ring, samples[n:])
	}
	d.pos += len(samples)
	if d.pos >= len(d.ring) {
		d.pos -= len(d.ring)
		d.full = true
	}
}

// Reset empties the window.
func (d *Detector) Reset() {
	d.pos, d.full = 0, false
	clear(d.ring)
}

// Len returns how many samples the window holds.
func (d *Detector) Len() int {
	if d.full {
		return len(d.ring)
	}
	return d.pos
}

// Level returns the RMS level of the window in int16 units (0 when empty).
func (d *Detector) Level() float64 {
	var energy float64
	n := 0
	d.blocks(func(a, b []int16) {
		for _, v := range a {
			energy += float64(v) * float64(v)
		}
		for _, v := range b {
			energy += float64(v) * float64(v)
		}
		n += len(a) + len(b)
	})
	if n == 0 {
		return 0
	}
	return math.Sqrt(energy / float64(n))
}

// RelativePower returns the power at hz divided by the total power of the
// window, between 0 and 1. Only whole 20 ms blocks count; it returns 0 while
// the window holds less than one block or only silence.
func (d *Detector) RelativePower(hz float64) float64 {
	coeff := 2 * math.Cos(2*math.Pi*hz/d.sampleRate)
	var tonal, energy float64
	d.blocks(func(a, b []int16) {
		var s1, s2, e float64
		s1, s2, e = goertzel(a, coeff, s1, s2, e)
		s1, s2, e = goertzel(b, coeff, s1, s2, e)
		// |X(f)|² of the block.
		tonal += s1*s1 + s2*s2 - coeff*s1*s2
		energy += e
	})
	if energy == 0 {
		return 0
	}
	// A sine of amplitude A over N samples gives |X|² ≈ (A·N/2)² and an
	// energy of N·A²/2: scale so that a pure tone measures 1.
	r := tonal * 2 / (float64(d.block) * energy)
	return math.Max(0, math.Min(1, r))
}

// Present reports whether a tone at hz is in the window: the window is louder
// than MinLevel and RelativePower(hz) is at least Threshold.
func (d *Detector) Present(hz float64) bool {
	if d.Level() < d.MinLevel {
		return false
	}
	return d.RelativePower(hz) >= d.Threshold
}

// Dominant returns the candidate frequency with the highest relative power and
// that power. It returns (0, 0) for no candidates or a window below MinLevel.
func (d *Detector) Dominant(candidates []float64) (float64, float64) {
	if len(candidates) == 0 || d.Level() < d.MinLevel {
		return 0, 0
	}
	best, bestRatio := 0.0, -1.0
	for _, f := range candidates {
		if r := d.RelativePower(f); r > bestRatio {
			best, bestRatio = f, r
		}
	}
	return best, bestRatio
}

// blocks calls fn for each whole block in the window, oldest first. A block
// that wraps around the end of the ring comes as two parts (b is empty
// otherwise); fn treats a then b as one run of samples.
func (d *Detector) blocks(fn func(a, b []int16)) {
	whole := d.Len() / d.block * d.block
	if whole == 0 {
		return
	}
	// Skip the partial block at the oldest end so the newest samples count.
	start := d.pos - whole
	if start < 0 {
		start += len(d.ring)
	}
	for i := 0; i < whole; i += d.block {
		s := (start + i) % len(d.ring)
		if e := s + d.block; e <= len(d.ring) {
			fn(d.ring[s:e], nil)
		} else {
			fn(d.ring[s:], d.ring[:e-len(d.ring)])
		}
	}
}

// goertzel runs the Goertzel recurrence over x from state (s1, s2) and adds
// the energy of x to e.
func goertzel(x []int16, coeff, s1, s2, e float64) (float64, float64, float64) {
	for _, v := range x {
		f := float64(v)
		s1, s2 = f+coeff*s1-s2, s1
		e += f * f
	}
	return s1, s2, e
}
