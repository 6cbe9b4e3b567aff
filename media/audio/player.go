package audio

import "time"

// Source produces consecutive frames of 16-bit mono linear PCM.
type Source interface {
	// Read fills frame (rate/50 samples for 20 ms) and returns the number of
	// samples written. A source that has ended returns fewer than
	// len(frame), and 0 from then on. Read never allocates.
	Read(frame []int16) int
}

// loopFade is the length of the cross-fade that joins the end of a looped
// clip to its start.
const loopFade = 15 * time.Millisecond

// Player plays a Clip as a Source, once or in a loop.
//
// A looped clip is joined end to start without a gap and without a click,
// whatever its last and first samples are. At construction, at the clip's own
// rate, the wrap from the last sample to the first is compared with the largest step between
// neighbouring samples in the 5 ms on either side of it. If it is no larger,
// the clip already loops smoothly (a prepared loop, or silence at both ends)
// and is played as it is, resampled if need be as one period of a periodic
// signal so that the join stays smooth at the new rate. Otherwise the last F samples (F = 15 ms, at most a
// quarter of the clip) are cross-faded linearly into the first F, and the
// loop body is the clip without its last F samples. Sample i < F of the body
// is
//
//	head[i]·(i+1)/(F+1) + tail[i]·(F-i)/(F+1)
//
// so the body's last sample (original sample N-F-1) runs straight on into
// what is almost original sample N-F, and the fade ends in original sample
// F: every step of the loop is a step of the original clip, give or take a
// small fraction of the two signals' difference. A linear fade never leaves
// the range of its two inputs, so it cannot clip. The first pass plays the
// clip's own start, unblended; each pass then lasts N-F samples (counted
// after resampling).
//
// A Player is not safe for concurrent use.
type Player struct {
	body   []int16 // samples of one pass; for a loop, the head is blended
	intro  []int16 // original head played instead of the blend on the first pass
	loop   bool
	pos    int  // next sample of body
	looped bool // a loop has wrapped at least once
}

// NewPlayer returns a Player of c at rate samples per second, resampling c
// once here when its rate differs (a non-positive rate means c.Rate). With
// loop set, the clip repeats forever with no gap and no click (see Player);
// otherwise it plays once. A nil or empty clip plays nothing.
func NewPlayer(c *Clip, rate int, loop bool) *Player {
	p := &Player{loop: loop}
	if c == nil || len(c.Samples) == 0 {
		return p
	}
	if rate <= 0 {
		rate = c.Rate
	}
	if !loop {
		p.body = c.Resample(rate).Samples
		return p
	}
	if loopsSmoothly(c.Samples, c.Rate) {
		p.body = c.resample(rate, true).Samples
		return p
	}
	c = c.Resample(rate)
	n := len(c.Samples)
	f := min(int(loopFade.Seconds()*float64(rate)), n/4)
	body := make([]int16, n-f)
	copy(body, c.Samples)
	for i := range f {
		head, tail := int32(c.Samples[i]), int32(c.Samples[n-f+i])
		body[i] = int16((head*int32(i+1) + tail*int32(f-i)) / int32(f+1))
	}
	p.body = body
	p.intro = c.Samples[:f]
	return p
}

// loopsSmoothly reports whether the step from the last sample of s to the
// first is no larger than the largest step within 5 ms of either end.
func loopsSmoothly(s []int16, rate int) bool {
	n := len(s)
	w := min(max(rate/200, 1), n-1)
	local := 0
	for i := 1; i <= w; i++ {
		local = max(local, absDiff(s[i], s[i-1]), absDiff(s[n-i], s[n-i-1]))
	}
	return absDiff(s[0], s[n-1]) <= local
}

func absDiff(a, b int16) int {
	d := int(a) - int(b)
	if d < 0 {
		return -d
	}
	return d
}

// Read fills frame with the next samples and returns how many it wrote; the
// rest of frame, if any, is cleared. A looping player always fills the whole
// frame; a non-looping one returns less than len(frame) when the clip ends
// and 0 from then on.
func (p *Player) Read(frame []int16) int {
	n := 0
	for n < len(frame) && len(p.body) > 0 {
		if p.pos >= len(p.body) {
			if !p.loop {
				break
			}
			p.pos = 0
			p.looped = true
		}
		src := p.body
		if !p.looped && p.pos < len(p.intro) {
			src = p.intro
		}
		c := copy(frame[n:], src[p.pos:])
		n += c
		p.pos += c
	}
	clear(frame[n:])
	return n
}

// Done reports whether a non-looping player has played its whole clip (or
// the clip was empty). A looping player with a non-empty clip is never done.
func (p *Player) Done() bool {
	return len(p.body) == 0 || (!p.loop && p.pos >= len(p.body))
}

// Rewind starts the clip again from its beginning.
func (p *Player) Rewind() {
	p.pos = 0
	p.looped = false
}
