package audio

import (
	"fmt"
	"math"
	"testing"
	"time"
)

func TestResampleKeepsTone(t *testing.T) {
	const amp = 0.5
	for _, r := range [][2]int{
		{48000, 8000}, {8000, 48000}, {16000, 8000}, {8000, 16000},
		{44100, 8000}, {11025, 16000}, {22050, 48000}, {32000, 8000},
	} {
		in, out := r[0], r[1]
		t.Run(fmt.Sprintf("%d-%d", in, out), func(t *testing.T) {
			src := &Clip{Rate: in, Samples: sine(in, 1000, amp, 0, in)} // 1 s
			c := src.Resample(out)
			if c.Rate != out {
				t.Fatalf("rate %d, want %d", c.Rate, out)
			}
			if d := c.Duration() - time.Second; d < -time.Millisecond || d > time.Millisecond {
				t.Errorf("duration %v, want 1s", c.Duration())
			}
			mid := c.Samples[out/4 : out*3/4] // whole periods of 1 kHz
			if d := detect(t, mid, out); !d.Present(1000) {
				t.Errorf("1 kHz not detected (relative power %.3f)", d.RelativePower(1000))
			}
			if a := amplitude(mid, out, 1000) / (amp * fullScale); a < 0.98 || a > 1.02 {
				t.Errorf("1 kHz amplitude ×%.4f, want ×1", a)
			}
			// Whatever is not the tone is noise and distortion: keep it
			// 60 dB down.
			var noise float64
			ph := phaseOf(mid, out, 1000)
			for i, v := range mid {
				e := float64(v) - amp*fullScale*math.Sin(ph+2*math.Pi*1000*float64(i)/float64(out))
				noise += e * e
			}
			noiseRMS := math.Sqrt(noise / float64(len(mid)))
			if snr := 20 * math.Log10(amp*fullScale/math.Sqrt2/noiseRMS); snr < 60 {
				t.Errorf("SNR %.1f dB, want ≥ 60", snr)
			}
		})
	}
}

// phaseOf is the phase of the hz sine in s (s ≈ A·sin(phase + ωi)).
func phaseOf(s []int16, rate int, hz float64) float64 {
	var re, im float64
	for i, v := range s {
		w := 2 * math.Pi * hz * float64(i) / float64(rate)
		re += float64(v) * math.Sin(w)
		im += float64(v) * math.Cos(w)
	}
	return math.Atan2(im, re)
}

func TestResampleAntiAlias(t *testing.T) {
	const amp = 0.5
	for _, tt := range []struct {
		hz, alias float64 // input tone at 48 kHz, where it would land at 8 kHz
		maxDB     float64 // largest level allowed, relative to the input
	}{
		{6000, 2000, -60},
		{4500, 3500, -60},
		{3900, 3900, -40}, // just under the new Nyquist: in the stop band
	} {
		src := &Clip{Rate: 48000, Samples: sine(48000, tt.hz, amp, 0, 48000)}
		c := src.Resample(8000)
		mid := c.Samples[2000:6000]
		a := amplitude(mid, 8000, tt.alias) / (amp * fullScale)
		if db := 20 * math.Log10(a); db > tt.maxDB {
			t.Errorf("%.0f Hz at 48 kHz -> %.0f Hz at 8 kHz at %.1f dB, want ≤ %.0f dB", tt.hz, tt.alias, db, tt.maxDB)
		}
		if d := detect(t, mid, 8000); d.Present(tt.alias) {
			t.Errorf("%.0f Hz at 48 kHz: alias at %.0f Hz detected", tt.hz, tt.alias)
		}
	}
	// 3.3 kHz is in the pass band and must survive.
	src := &Clip{Rate: 48000, Samples: sine(48000, 3300, amp, 0, 48000)}
	mid := src.Resample(8000).Samples[2000:6000]
	if a := amplitude(mid, 8000, 3300) / (amp * fullScale); a < 0.9 {
		t.Errorf("3300 Hz kept at ×%.3f, want ≥ 0.9", a)
	}
}

func TestResampleSameRate(t *testing.T) {
	c := &Clip{Rate: 8000, Samples: testSamples}
	if c.Resample(8000) != c {
		t.Error("Resample to the same rate did not return the clip itself")
	}
	if c.Resample(0) != c {
		t.Error("Resample(0) did not return the clip itself")
	}
	empty := (&Clip{Rate: 48000}).Resample(8000)
	if empty.Rate != 8000 || len(empty.Samples) != 0 {
		t.Errorf("empty clip resampled to %d Hz, %d samples", empty.Rate, len(empty.Samples))
	}
}

func TestDuration(t *testing.T) {
	if d := (&Clip{Rate: 8000, Samples: make([]int16, 12000)}).Duration(); d != 1500*time.Millisecond {
		t.Errorf("Duration %v, want 1.5s", d)
	}
	if d := (&Clip{}).Duration(); d != 0 {
		t.Errorf("Duration of an empty clip %v, want 0", d)
	}
}

func TestDecodeMP3(t *testing.T) {
	// 0.5 s of 1 kHz, 22050 Hz mono (MPEG-2 Layer III, 32 kbit/s), made with
	//	ffmpeg -f lavfi -i sine=frequency=1000:sample_rate=22050:duration=0.5 \
	//	  -af volume=0.5 -ac 1 -c:a libmp3lame -b:a 32k -map_metadata -1 \
	//	  -write_xing 0 -id3v2_version 0 testdata/tone1k.mp3
	c, err := Load("testdata/tone1k.mp3")
	if err != nil {
		t.Fatal(err)
	}
	if c.Rate != 22050 {
		t.Errorf("rate %d, want 22050", c.Rate)
	}
	if d := c.Duration(); d < 450*time.Millisecond || d > 700*time.Millisecond {
		t.Errorf("duration %v, want about 0.5s", d)
	}
	c8 := c.Resample(8000)
	mid := c8.Samples[800:2800] // 100..350 ms
	d := detect(t, mid, 8000)
	if !d.Present(1000) {
		t.Errorf("1 kHz not detected in the MP3 (relative power %.3f, level %.0f)", d.RelativePower(1000), d.Level())
	}
	for _, f := range []float64{500, 2000, 3000} {
		if d.Present(f) {
			t.Errorf("%.0f Hz detected in a 1 kHz MP3", f)
		}
	}
}

func BenchmarkResample48kTo8k(b *testing.B) {
	c := &Clip{Rate: 48000, Samples: sine(48000, 1000, 0.5, 0, 48000)}
	b.ReportAllocs()
	for b.Loop() {
		c.Resample(8000)
	}
}
