package audio

import (
	"math"
	"math/cmplx"
	"testing"
	"time"

	"github.com/switchboard-voice/switchboard/media/tone"
)

const fullScale = math.MaxInt16

// sine returns n samples of amp·fullScale·sin(phase + 2π·hz·i/rate).
func sine(rate int, hz, amp, phase float64, n int) []int16 {
	s := make([]int16, n)
	for i := range s {
		s[i] = int16(math.Round(amp * fullScale * math.Sin(phase+2*math.Pi*hz*float64(i)/float64(rate))))
	}
	return s
}

// toneClip is a clip of a tone at rate made by tone.Generator.
func toneClip(rate int, hz, amp float64, d time.Duration) *Clip {
	s := make([]int16, int(d.Seconds()*float64(rate)))
	tone.NewGenerator(rate, hz, amp).Fill(s)
	return &Clip{Rate: rate, Samples: s}
}

// amplitude is the peak amplitude, in int16 units, of the hz component of s
// (a single DFT bin; exact when s holds whole periods).
func amplitude(s []int16, rate int, hz float64) float64 {
	var x complex128
	w := -2 * math.Pi * hz / float64(rate)
	for i, v := range s {
		x += complex(float64(v), 0) * cmplx.Rect(1, w*float64(i))
	}
	return 2 * cmplx.Abs(x) / float64(len(s))
}

// maxStep is the largest |s[i]-s[i-1]|.
func maxStep(s []int16) int {
	m := 0
	for i := 1; i < len(s); i++ {
		m = max(m, abs(int(s[i])-int(s[i-1])))
	}
	return m
}

// maxCurve is the largest |s[i]-2s[i-1]+s[i-2]|: a click (a step) shows up
// in it as large as the step, while a sine of amplitude A and frequency f
// stays below A·(2π·f/rate)².
func maxCurve(s []int16) int {
	m := 0
	for i := 2; i < len(s); i++ {
		m = max(m, abs(int(s[i])-2*int(s[i-1])+int(s[i-2])))
	}
	return m
}

func abs(x int) int {
	if x < 0 {
		return -x
	}
	return x
}

// detect runs a tone.Detector over s and returns it.
func detect(t *testing.T, s []int16, rate int) *tone.Detector {
	t.Helper()
	d := tone.NewDetector(rate, time.Duration(len(s))*time.Second/time.Duration(rate))
	d.Write(s)
	return d
}

// readAll reads n samples from src in 20 ms frames.
func readAll(src Source, rate, n int) []int16 {
	out := make([]int16, 0, n)
	frame := make([]int16, rate/50)
	for len(out) < n {
		k := src.Read(frame)
		out = append(out, frame[:k]...)
		if k < len(frame) {
			break
		}
	}
	return out
}
