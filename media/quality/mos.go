package quality

import "time"

// MOS estimates the mean opinion score (1 to 4.5) of a voice stream with a
// simplified ITU-T G.107 E-model:
//
//	EL  = latency (ms) + 2*jitter (ms) + 10 ms
//	R   = 93.2 - EL/40             if EL < 160
//	R   = 93.2 - (EL - 120)/10     otherwise
//	R  -= 2.5 * lossPercent
//	R   clamped to [0, 100]
//	MOS = 1 + 0.035*R + 7e-6*R*(R-60)*(100-R), clamped to [1, 4.5]
//
// latency is the one-way delay (half the round-trip time), jitter the
// interarrival jitter and lossPercent the packet loss in percent.
func MOS(latency, jitter time.Duration, lossPercent float64) float64 {
	el := ms(latency) + 2*ms(jitter) + 10
	var r float64
	if el < 160 {
		r = 93.2 - el/40
	} else {
		r = 93.2 - (el-120)/10
	}
	r -= 2.5 * lossPercent
	r = min(max(r, 0), 100)
	mos := 1 + 0.035*r + 7e-6*r*(r-60)*(100-r)
	return min(max(mos, 1), 4.5)
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

// Weak thresholds: a stream becomes weak when its MOS drops below
// weakBelow and recovers when it rises to weakRecover or more.
const (
	weakBelow   = 4.0
	weakRecover = weakBelow + 0.1
)

// Weak tracks whether a series of MOS values is weak, with hysteresis so
// that a MOS hovering around the threshold does not flap: the state turns
// weak when a MOS below 4.0 is seen, and turns back to not weak only when a
// MOS of at least 4.1 is seen. Values in [4.0, 4.1) keep the current state.
// The zero value is not weak.
type Weak struct {
	weak bool
}

// Update feeds the next MOS value and reports the resulting state and
// whether it changed.
func (w *Weak) Update(mos float64) (weak, changed bool) {
	switch {
	case !w.weak && mos < weakBelow:
		w.weak = true
		return true, true
	case w.weak && mos >= weakRecover:
		w.weak = false
		return false, true
	}
	return w.weak, false
}
