package audio

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// Clip is decoded mono 16-bit linear PCM at Rate samples per second.
type Clip struct {
	Rate    int
	Samples []int16
}

// Duration returns the playing time of the clip (0 for a zero rate).
func (c *Clip) Duration() time.Duration {
	if c == nil || c.Rate <= 0 {
		return 0
	}
	return time.Duration(len(c.Samples)) * time.Second / time.Duration(c.Rate)
}

// Load reads and decodes the audio file at path, choosing the decoder by the
// file's extension: ".wav" (DecodeWAV) or ".mp3" (DecodeMP3), in any case.
// Errors name the file, for example
// "prompt.wav: 24-bit samples not supported, want 16-bit PCM".
func Load(path string) (*Clip, error) {
	var decode func(*bytes.Reader) (*Clip, error)
	switch ext := strings.ToLower(filepath.Ext(path)); ext {
	case ".wav":
		decode = func(r *bytes.Reader) (*Clip, error) { return DecodeWAV(r) }
	case ".mp3":
		decode = func(r *bytes.Reader) (*Clip, error) { return DecodeMP3(r) }
	default:
		return nil, fmt.Errorf("%s: unsupported file type %q, want .wav or .mp3", path, ext)
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err // *PathError names the file
	}
	c, err := decode(bytes.NewReader(data))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return c, nil
}

// toMono averages interleaved 16-bit little-endian frames of channels
// samples each into mono samples.
func toMono(data []byte, channels int) []int16 {
	frameBytes := 2 * channels
	n := len(data) / frameBytes
	out := make([]int16, n)
	for i := range out {
		f := data[i*frameBytes : (i+1)*frameBytes]
		if channels == 1 {
			out[i] = int16(uint16(f[0]) | uint16(f[1])<<8)
			continue
		}
		var sum int
		for ch := 0; ch < channels; ch++ {
			sum += int(int16(uint16(f[2*ch]) | uint16(f[2*ch+1])<<8))
		}
		out[i] = int16(sum / channels)
	}
	return out
}
