//go:build ignore

// Command gen writes the reference tones in testdata/audio: 2-second sine
// tones of 16-bit mono PCM at 8000 Hz, peak amplitude 0.5 of full scale;
// and hold-music.wav, the demo's hold music: the switch's built-in hold
// music (audio.HoldMusic), a 4-second loop of soft arpeggios.
// Each file holds a whole number of cycles (2 s times a whole number of Hz)
// and starts at phase zero, so it loops without a click.
//
// Run from the repository root:
//
//	go run testdata/audio/gen.go
package main

import (
	"bytes"
	"flag"
	"fmt"
	"log"
	"math"
	"os"
	"path/filepath"

	"github.com/switchboard-voice/switchboard/media/audio"
)

const (
	rate      = 8000
	seconds   = 2
	amplitude = 0.5
)

var freqs = []int{300, 400, 500, 600, 700, 800, 900, 1100, 1200, 1500}

func main() {
	dir := flag.String("dir", filepath.Join("testdata", "audio"), "output directory")
	flag.Parse()
	for _, f := range freqs {
		n := rate * seconds
		if n*f%rate != 0 { // sample n (the loop's restart) must be at phase 0
			log.Fatalf("%d Hz: %d samples are not a whole number of cycles", f, n)
		}
		c := &audio.Clip{Rate: rate, Samples: make([]int16, n)}
		for i := range c.Samples {
			// Phase from the sample index modulo one period's worth of
			// cycles, so rounding does not drift over the clip.
			ph := 2 * math.Pi * float64(i*f%rate) / rate
			c.Samples[i] = int16(math.Round(amplitude * 32767 * math.Sin(ph)))
		}
		var buf bytes.Buffer
		if err := audio.EncodeWAV(&buf, c); err != nil {
			log.Fatal(err)
		}
		name := filepath.Join(*dir, fmt.Sprintf("tone-%d.wav", f))
		if err := os.WriteFile(name, buf.Bytes(), 0o644); err != nil {
			log.Fatal(err)
		}
		fmt.Printf("%s: %d Hz, %d samples, %d cycles\n", name, f, n, f*seconds)
	}
	music(filepath.Join(*dir, "hold-music.wav"))
}

// music writes the demo's hold music: the switch's built-in hold music
// (audio.HoldMusic).
func music(name string) {
	c := audio.HoldMusic()
	var buf bytes.Buffer
	if err := audio.EncodeWAV(&buf, c); err != nil {
		log.Fatal(err)
	}
	if err := os.WriteFile(name, buf.Bytes(), 0o644); err != nil {
		log.Fatal(err)
	}
	fmt.Printf("%s: %d samples\n", name, len(c.Samples))
}
