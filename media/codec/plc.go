package codec

import "math"

// Packet-loss concealment for G.711 after ITU-T G.711 Appendix I, without its
// 3.75 ms output delay:
//
//   - the last 48.75 ms of output are kept as history;
//   - at the start of a loss the pitch period is estimated by normalised
//     autocorrelation of the last 20 ms of history over lags of 5–15 ms, and
//     the last period is repeated; an offset fading over a quarter period
//     keeps the first synthetic samples continuous with the last real ones;
//   - after the first 10 ms of a loss the output is attenuated linearly by
//     20 % per 10 ms, reaching silence at 60 ms;
//   - the first good frame after a loss is cross-faded with the continued
//     synthetic signal over 4 ms, plus 4 ms per further 10 ms of loss (at
//     most 10 ms), so there is no click.
const (
	plcHistory  = 390 // 48.75 ms at 8000 Hz
	plcPitchMin = 40  // 5 ms (200 Hz)
	plcPitchMax = 120 // 15 ms (66.7 Hz)
	plcCorrLen  = 160 // 20 ms correlation window
	plcTenMs    = 80
	plcHold     = plcTenMs // 10 ms at full level
	plcFadeLen  = 400      // then 50 ms to silence
	plcOLAMin   = 32       // 4 ms cross-fade into the first good frame
	plcOLAStep  = 32       // + 4 ms per further 10 ms of loss
	plcOLAMax   = 80       // at most 10 ms
)

// plc holds the concealment state of one G.711 stream. The zero value is
// ready: before any good frame it conceals with silence.
type plc struct {
	hist   [plcHistory]int16 // most recent output, oldest first
	period [plcPitchMax]int16
	plen   int     // pitch period in samples while concealing
	pos    int     // next read position in period
	lost   int     // samples concealed in the current loss; 0 when none
	offset float64 // start-of-loss continuity offset
	offLen int     // samples over which offset fades
}

// good is called with each decoded frame; it cross-fades out of a loss, then
// records the frame in the history.
func (p *plc) good(pcm []int16) {
	if p.lost > 0 {
		n := plcOLAMin
		if extra := (p.lost - plcTenMs) / plcTenMs; extra > 0 {
			n += extra * plcOLAStep
		}
		n = min(n, plcOLAMax)
		for i := range min(n, len(pcm)) {
			w := float64(i+1) / float64(n+1)
			pcm[i] = clamp16(w*float64(pcm[i]) + (1-w)*p.next())
		}
		p.lost = 0
	}
	p.push(pcm)
}

// conceal fills out with synthetic audio and records it in the history.
func (p *plc) conceal(out []int16) {
	if len(out) == 0 {
		return
	}
	if p.lost == 0 {
		p.start()
	}
	for i := range out {
		out[i] = clamp16(p.next())
	}
	p.push(out)
}

// start sets up the repetition of the last pitch period at the start of a
// loss.
func (p *plc) start() {
	h := p.hist[:]
	end := len(h)
	p.plen = pitch(h)
	copy(p.period[:p.plen], h[end-p.plen:])
	p.pos = 0
	// The real signal went from h[end-plen-1] to h[end-plen]; it now goes
	// from h[end-1] to h[end-plen]. Shift the start by the difference and
	// let the shift fade out over a quarter period.
	p.offset = float64(h[end-1]) - float64(h[end-p.plen-1])
	p.offLen = p.plen / 4
}

// next returns the next synthetic sample (unclamped) and advances.
func (p *plc) next() float64 {
	v := float64(p.period[p.pos])
	if p.lost < p.offLen {
		v += p.offset * (1 - float64(p.lost)/float64(p.offLen))
	}
	switch {
	case p.lost >= plcHold+plcFadeLen:
		v = 0
	case p.lost >= plcHold:
		v *= 1 - float64(p.lost-plcHold)/plcFadeLen
	}
	p.pos++
	if p.pos == p.plen {
		p.pos = 0
	}
	p.lost++
	return v
}

// push appends s to the history, dropping the oldest samples.
func (p *plc) push(s []int16) {
	if len(s) >= plcHistory {
		copy(p.hist[:], s[len(s)-plcHistory:])
		return
	}
	copy(p.hist[:], p.hist[len(s):])
	copy(p.hist[plcHistory-len(s):], s)
}

// pitch returns the lag in [plcPitchMin, plcPitchMax] that maximises the
// normalised correlation of the last plcCorrLen samples of h with the samples
// lag earlier.
func pitch(h []int16) int {
	end := len(h)
	x := h[end-plcCorrLen:]
	best, bestScore := plcPitchMin, math.Inf(-1)
	for lag := plcPitchMin; lag <= plcPitchMax; lag++ {
		y := h[end-plcCorrLen-lag : end-lag]
		var c, e int64
		for i, v := range x {
			w := int64(y[i])
			c += int64(v) * w
			e += w * w
		}
		if e == 0 {
			continue
		}
		score := float64(c) * math.Abs(float64(c)) / float64(e)
		if score > bestScore {
			best, bestScore = lag, score
		}
	}
	return best
}

func clamp16(v float64) int16 {
	v = math.Round(v)
	switch {
	case v > math.MaxInt16:
		return math.MaxInt16
	case v < math.MinInt16:
		return math.MinInt16
	}
	return int16(v)
}
