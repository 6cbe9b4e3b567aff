package audio

import "math"

// Resampler design. The low-pass cuts off at cutoffFraction of the lower of
// the two Nyquist frequencies (3600 Hz between 8 and 48 kHz). The windowed
// sinc spans zeroCrossings zero crossings of the cut-off sinc on each side,
// Kaiser-windowed with kaiserBeta: about 80 dB of stop-band attenuation and a
// transition band of about ±0.06 × cut-off, so content at and above 0.96 ×
// the lower Nyquist frequency is strongly attenuated.
const (
	cutoffFraction = 0.9
	zeroCrossings  = 48
	kaiserBeta     = 8.0
	// maxTablePhases bounds the polyphase table; rarer rate pairs with more
	// phases compute their filter taps per output sample instead.
	maxTablePhases = 4096
)

// Resample returns the clip converted to rate samples per second with a
// band-limited (Kaiser-windowed sinc, polyphase) interpolator. When the rate
// goes down, the filter is also the anti-alias low-pass: content above 0.9 ×
// the new Nyquist frequency is removed instead of folding back. The clip is
// treated as silent outside its samples. Resample returns c itself when rate
// equals c.Rate or either rate is not positive.
func (c *Clip) Resample(rate int) *Clip {
	return c.resample(rate, false)
}

// resample is Resample; with circular set, the clip is taken as one period
// of a periodic signal (a loop) instead of being silent outside its samples,
// so that a smooth loop stays smooth.
func (c *Clip) resample(rate int, circular bool) *Clip {
	if c == nil || rate <= 0 || c.Rate <= 0 || rate == c.Rate {
		return c
	}
	if len(c.Samples) == 0 {
		return &Clip{Rate: rate}
	}
	in, out := c.Rate, rate
	g := gcd(in, out)
	up, down := int64(out/g), int64(in/g) // output n is at input time n*down/up

	// Normalised cut-off: r cycles per 2 input samples, r < 1.
	r := cutoffFraction * float64(min(in, out)) / float64(in)
	half := zeroCrossings / r // filter half-length, input samples
	k := int(math.Ceil(half))
	taps := 2 * k

	// filter fills row with the taps for an output at fractional input time
	// frac in [0, 1) past input sample base: row[j] weights input
	// base-k+1+j. Each row is normalised to unit gain at DC.
	i0Beta := besselI0(kaiserBeta)
	filter := func(row []float64, frac float64) {
		var sum float64
		for j := range row {
			x := frac - float64(j-k+1)
			var v float64
			if u := x / half; u > -1 && u < 1 {
				v = r * sinc(r*x) * besselI0(kaiserBeta*math.Sqrt(1-u*u)) / i0Beta
			}
			row[j] = v
			sum += v
		}
		if sum != 0 {
			for j := range row {
				row[j] /= sum
			}
		}
	}

	var table []float64
	if up <= maxTablePhases {
		table = make([]float64, int(up)*taps)
		for p := range int(up) {
			filter(table[p*taps:(p+1)*taps], float64(p)/float64(up))
		}
	}
	scratch := make([]float64, taps)

	src := c.Samples
	nOut := int((int64(len(src))*up + down - 1) / down)
	dst := make([]int16, nOut)
	for n := range dst {
		t := int64(n) * down
		base, phase := int(t/up), t%up
		var row []float64
		if table != nil {
			row = table[int(phase)*taps : (int(phase)+1)*taps]
		} else {
			filter(scratch, float64(phase)/float64(up))
			row = scratch
		}
		first := base - k + 1
		var acc float64
		if lo, hi := max(0, -first), min(taps, len(src)-first); !circular || (lo == 0 && hi == taps) {
			for j := lo; j < hi; j++ {
				acc += row[j] * float64(src[first+j])
			}
		} else {
			for j, w := range row {
				i := (first + j) % len(src)
				if i < 0 {
					i += len(src)
				}
				acc += w * float64(src[i])
			}
		}
		dst[n] = saturate(math.Round(acc))
	}
	return &Clip{Rate: rate, Samples: dst}
}

func gcd(a, b int) int {
	for b != 0 {
		a, b = b, a%b
	}
	return a
}

func sinc(x float64) float64 {
	if x == 0 {
		return 1
	}
	x *= math.Pi
	return math.Sin(x) / x
}

// besselI0 is the modified Bessel function of the first kind, order 0, by
// its power series (converges quickly for the arguments a Kaiser window
// uses).
func besselI0(x float64) float64 {
	sum, term := 1.0, 1.0
	q := x * x / 4
	for i := 1; i < 64; i++ {
		term *= q / float64(i*i)
		sum += term
		if term < sum*1e-17 {
			break
		}
	}
	return sum
}

// saturate converts v to int16, clamping at the limits.
func saturate(v float64) int16 {
	switch {
	case v > math.MaxInt16:
		return math.MaxInt16
	case v < math.MinInt16:
		return math.MinInt16
	}
	return int16(v)
}
