package audio

import "testing"

// TestRingbackCadence: 440 and 480 Hz for the first two seconds, silence
// for the next four, and again when looped.
func TestRingbackCadence(t *testing.T) {
	const rate = 16000 // played at the agent's rate: resampled
	p := NewPlayer(Ringback(), rate, true)
	read := func(samples int) []int16 {
		out := make([]int16, samples)
		for off := 0; off < samples; {
			n := p.Read(out[off:min(off+rate/50, samples)])
			if n == 0 {
				t.Fatal("ringback ended")
			}
			off += n
		}
		return out
	}
	for cycle := range 2 {
		on := read(2 * rate)
		for _, hz := range []float64{440, 480} {
			if a := amplitude(on[rate/2:rate], rate, hz); a < 0.03*fullScale {
				t.Errorf("cycle %d: %.0f Hz at %.0f during the tone, want it heard", cycle, hz, a)
			}
		}
		off := read(4 * rate)
		if a := amplitude(off[rate:2*rate], rate, 440); a > 0.001*fullScale {
			t.Errorf("cycle %d: 440 Hz at %.0f during the pause, want silence", cycle, a)
		}
	}
}
