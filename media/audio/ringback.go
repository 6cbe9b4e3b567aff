package audio

import "math"

// Ringback is the ringback tone an agent hears while the customer it calls
// rings and the network sends no early media: 440 Hz + 480 Hz (the North
// American tone, ITU-T E.180), 2 s on and 4 s off, at 8000 Hz. Looped by a
// Player it rings until the customer answers.
func Ringback() *Clip {
	const rate = 8000
	on, total := 2*rate, 6*rate
	c := &Clip{Rate: rate, Samples: make([]int16, total)}
	const ramp = 80 // 10 ms up and down: no click
	for i := range on {
		t := float64(i) / rate
		env := math.Min(1, math.Min(float64(i), float64(on-1-i))/ramp)
		v := math.Sin(2*math.Pi*440*t) + math.Sin(2*math.Pi*480*t)
		c.Samples[i] = int16(0.2 * 32767 * env * v / 2)
	}
	return c
}
