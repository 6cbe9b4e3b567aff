package audio

import (
	"math"
	"time"
)

// HoldMusic is the built-in hold music at 8000 Hz: a 4-second loop of soft
// arpeggios (C, A minor, F, G), each note a sine with its first two
// overtones under a decaying envelope, silent at the loop point. It plays
// where no music is configured (hold, transfers).
func HoldMusic() *Clip {
	const rate = 8000
	chords := [][]float64{
		{261.63, 329.63, 392.00, 523.25}, // C
		{220.00, 261.63, 329.63, 440.00}, // A minor
		{174.61, 220.00, 261.63, 349.23}, // F
		{196.00, 246.94, 293.66, 392.00}, // G
	}
	const note = rate / 4 // 250 ms per note, 4 notes per chord, 2 s per chord
	c := &Clip{Rate: rate, Samples: make([]int16, note*4*len(chords))}
	for ci, chord := range chords {
		for ni, f := range chord {
			start := (ci*4 + ni) * note
			for i := 0; i < 2*note && start+i < len(c.Samples); i++ {
				t := float64(i) / rate
				env := math.Exp(-3*t) * math.Min(1, float64(i)/80) // soft attack, decay
				if start+i >= len(c.Samples)-note/2 {
					env *= float64(len(c.Samples)-start-i) / float64(note/2) // fade to the loop point
				}
				v := math.Sin(2*math.Pi*f*t) + 0.3*math.Sin(4*math.Pi*f*t) + 0.1*math.Sin(6*math.Pi*f*t)
				c.Samples[start+i] += int16(0.18 * 32767 * env * v / 1.4)
			}
		}
	}
	return c
}

// Repeat is music with a message announced over it (the music ducked) every
// interval: hold music with its announcement, transfer music with its
// message. Time is counted in samples read, so the message keeps its
// rhythm at whatever pace the reader plays; the first message starts one
// interval in. It never ends. Read does not allocate.
type Repeat struct {
	mix   *Mixer
	msg   *Clip
	rate  int
	every int // samples between message starts; 0: no message
	left  int // samples until the next message starts
}

// NewRepeat plays music (a Clip looped; nil: silence) at rate, with msg
// (nil: none) every interval.
func NewRepeat(rate int, music, msg *Clip, every time.Duration) *Repeat {
	r := &Repeat{mix: NewMixer(rate, MixerOptions{}), rate: rate}
	if music != nil {
		r.mix.SetMusic(NewPlayer(music, rate, true))
	}
	if msg != nil && every > 0 {
		r.msg = msg
		r.every = max(int(every.Seconds()*float64(rate)), 1)
		r.left = r.every
	}
	return r
}

// Read implements Source: it fills frame and returns len(frame).
func (r *Repeat) Read(frame []int16) int {
	if r.every > 0 {
		r.left -= len(frame)
		if r.left <= 0 {
			r.mix.Announce(NewPlayer(r.msg, r.rate, false))
			r.left += r.every
		}
	}
	return r.mix.Read(frame)
}
