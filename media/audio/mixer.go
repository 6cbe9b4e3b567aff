package audio

import (
	"math"
	"sync"
	"time"
)

const (
	// DefaultDuck is the music's gain under an announcement, about -12 dB.
	DefaultDuck = 0.25
	// DefaultRamp is how long a gain change takes.
	DefaultRamp = 50 * time.Millisecond
)

// MixerOptions configures a Mixer. The zero value gives the defaults.
type MixerOptions struct {
	// Duck is the music's gain while an announcement plays, from 0 to 1.
	// Zero means DefaultDuck; a negative value mutes the music.
	Duck float64
	// Ramp is how long a gain change takes (ducking, restoring, fading a
	// replaced source in or out), so that no change clicks. Zero means
	// DefaultRamp; a negative value switches gains at once.
	Ramp time.Duration
}

// voice is one source playing in a Mixer, with a gain that moves linearly
// towards target by step per sample.
type voice struct {
	src                Source
	gain, target, step float64
}

// Mixer is a Source that plays music with announcements over it. While an
// announcement plays, the music is lowered to MixerOptions.Duck; when it ends
// the music comes back to full level. Every gain change is a linear ramp of
// MixerOptions.Ramp: new music fades in, replaced music and a replaced
// announcement fade out, so switching never clicks. Announcements start at
// full level, as recorded.
//
// SetMusic, Announce and Announcing may be called from one goroutine while
// another calls Read. Sources are read with the Mixer's lock held, so they
// must not call back into the Mixer.
type Mixer struct {
	mu       sync.Mutex
	duck     float64
	ramp     float64 // samples
	music    voice
	oldMusic voice // fading out after SetMusic
	ann      voice
	oldAnn   voice // fading out after Announce
	buf      []int16
	acc      []float64
}

// NewMixer returns a Mixer producing frames at rate samples per second.
// Its sources must produce frames at the same rate.
func NewMixer(rate int, o MixerOptions) *Mixer {
	m := &Mixer{duck: DefaultDuck}
	switch {
	case o.Duck < 0:
		m.duck = 0
	case o.Duck > 0:
		m.duck = min(o.Duck, 1)
	}
	ramp := o.Ramp
	if ramp == 0 {
		ramp = DefaultRamp
	}
	if ramp > 0 {
		m.ramp = ramp.Seconds() * float64(rate)
	}
	n := max(rate/50, 1)
	m.buf = make([]int16, n)
	m.acc = make([]float64, n)
	return m
}

// SetMusic replaces the music with s (nil for none). Music normally loops
// (a looping Player); music that ends is dropped. The new music fades in and
// the old one fades out. s must not be the current music.
func (m *Mixer) SetMusic(s Source) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.music.src != nil {
		m.oldMusic = m.music
		m.setTarget(&m.oldMusic, 0)
	}
	m.music = voice{src: s}
	if s != nil {
		m.setTarget(&m.music, m.musicGain())
	}
}

// Announce plays s over the music, with the music ducked, until s ends. It
// replaces the current announcement, which fades out; nil just stops the
// current one.
func (m *Mixer) Announce(s Source) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.ann.src != nil {
		m.oldAnn = m.ann
		m.setTarget(&m.oldAnn, 0)
	}
	m.ann = voice{src: s, gain: 1, target: 1}
}

// Announcing reports whether an announcement is playing.
func (m *Mixer) Announcing() bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.ann.src != nil
}

// Read fills frame with the mix and returns len(frame): the Mixer never ends
// and plays silence when it has nothing to play.
func (m *Mixer) Read(frame []int16) int {
	m.mu.Lock()
	defer m.mu.Unlock()
	for off := 0; off < len(frame); off += len(m.buf) {
		m.mixChunk(frame[off:min(off+len(m.buf), len(frame))])
	}
	return len(frame)
}

// mixChunk mixes at most len(m.buf) samples into out.
func (m *Mixer) mixChunk(out []int16) {
	acc := m.acc[:len(out)]
	clear(acc)
	m.add(&m.oldAnn, acc)
	m.add(&m.ann, acc)
	if m.music.src != nil {
		if g := m.musicGain(); g != m.music.target {
			m.setTarget(&m.music, g)
		}
	}
	m.add(&m.music, acc)
	m.add(&m.oldMusic, acc)
	for i, v := range acc {
		out[i] = saturate(math.Round(v))
	}
}

// add reads len(acc) samples of v and adds them to acc at v's ramped gain,
// dropping v when its source ends or it has faded out.
func (m *Mixer) add(v *voice, acc []float64) {
	if v.src == nil {
		return
	}
	buf := m.buf[:len(acc)]
	n := v.src.Read(buf)
	clear(buf[n:])
	g, t, step := v.gain, v.target, v.step
	for i, s := range buf {
		if g < t {
			g = min(g+step, t)
		} else if g > t {
			g = max(g-step, t)
		}
		acc[i] += g * float64(s)
	}
	v.gain = g
	if n < len(acc) || (t == 0 && g == 0) {
		*v = voice{}
	}
}

// musicGain is the music's target gain in the current state.
func (m *Mixer) musicGain() float64 {
	if m.ann.src != nil {
		return m.duck
	}
	return 1
}

// setTarget starts a ramp of v's gain to target, taking m.ramp samples.
func (m *Mixer) setTarget(v *voice, target float64) {
	v.target = target
	d := math.Abs(target - v.gain)
	v.step = d
	if m.ramp > 1 {
		v.step = d / m.ramp
	}
}

// Mix writes to dst the saturating sum of srcs, sample by sample; a source
// shorter than dst counts as silence past its end. dst may be one of srcs
// (Mix(dst, dst, other) adds other into dst). Mix does not allocate.
func Mix(dst []int16, srcs ...[]int16) {
	for i := range dst {
		var sum int32
		for _, s := range srcs {
			if i < len(s) {
				sum += int32(s[i])
			}
		}
		dst[i] = int16(max(math.MinInt16, min(math.MaxInt16, sum)))
	}
}
