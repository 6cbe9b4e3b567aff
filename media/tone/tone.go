// Package tone generates sine tones into 16-bit PCM frames and detects them
// with the Goertzel algorithm.
//
// It is meant for checking audio by content: one side of a call sends a tone
// of a known frequency, the far side asks whether it hears it. Both types work
// on linear 16-bit mono PCM at any sample rate and do not allocate per frame.
// Neither type is safe for concurrent use; guard them with a mutex when frames
// are written and read from different goroutines.
package tone

import "math"

// Generator produces a sine wave. Successive calls to Fill or Add continue the
// wave where the previous call stopped (the phase is continuous across
// frames, and across changes of frequency).
type Generator struct {
	sampleRate float64
	freq       float64
	amp        float64 // peak, in int16 units
	phase      float64 // radians, in [0, 2π)
	step       float64 // radians per sample
}

// NewGenerator returns a generator of a sine of freqHz at sampleRate samples
// per second. amplitude is the peak as a fraction of full scale (0..1; 0.5 is
// about -6 dBFS); values outside that range are clamped. A frequency of 0 (or
// an amplitude of 0) produces silence.
func NewGenerator(sampleRate int, freqHz, amplitude float64) *Generator {
	g := &Generator{sampleRate: float64(sampleRate)}
	g.SetAmplitude(amplitude)
	g.SetFrequency(freqHz)
	return g
}

// SetFrequency changes the frequency; the phase continues from where it is.
func (g *Generator) SetFrequency(hz float64) {
	if hz < 0 {
		hz = 0
	}
	g.freq = hz
	if g.sampleRate > 0 {
		g.step = 2 * math.Pi * hz / g.sampleRate
	}
}

// Frequency returns the current frequency in Hz.
func (g *Generator) Frequency() float64 { return g.freq }

// SetAmplitude sets the peak as a fraction of full scale, clamped to 0..1.
func (g *Generator) SetAmplitude(a float64) {
	g.amp = math.Max(0, math.Min(1, a)) * math.MaxInt16
}

// Fill overwrites frame with the next len(frame) samples of the tone.
func (g *Generator) Fill(frame []int16) {
	if g.freq == 0 || g.amp == 0 {
		clear(frame)
		return
	}
	for i := range frame {
		frame[i] = int16(math.Round(g.amp * math.Sin(g.phase)))
		g.advance()
	}
}

// Add mixes the next len(frame) samples of the tone into frame, saturating at
// the int16 limits. Several generators adding into one frame give a mix of
// tones.
func (g *Generator) Add(frame []int16) {
	if g.freq == 0 || g.amp == 0 {
		return
	}
	for i := range frame {
		v := float64(frame[i]) + math.Round(g.amp*math.Sin(g.phase))
		frame[i] = saturate(v)
		g.advance()
	}
}

func (g *Generator) advance() {
	g.phase += g.step
	if g.phase >= 2*math.Pi {
		g.phase = math.Mod(g.phase, 2*math.Pi)
	}
}

func saturate(v float64) int16 {
	switch {
	case v > math.MaxInt16:
		return math.MaxInt16
	case v < math.MinInt16:
		return math.MinInt16
	}
	return int16(v)
}
