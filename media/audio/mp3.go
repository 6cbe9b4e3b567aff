package audio

import (
	"fmt"
	"io"

	"github.com/hajimehoshi/go-mp3"
)

// DecodeMP3 decodes an MPEG-1/2 Layer III stream with
// github.com/hajimehoshi/go-mp3 and mixes it down to mono at the stream's
// rate (the decoder always yields stereo; the two channels are averaged).
func DecodeMP3(r io.Reader) (*Clip, error) {
	d, err := mp3.NewDecoder(r)
	if err != nil {
		return nil, fmt.Errorf("decoding MP3: %w", err)
	}
	rate := d.SampleRate()
	if rate <= 0 {
		return nil, fmt.Errorf("decoding MP3: invalid sample rate %d", rate)
	}
	pcm, err := io.ReadAll(d)
	if err != nil {
		return nil, fmt.Errorf("decoding MP3: %w", err)
	}
	return &Clip{Rate: rate, Samples: toMono(pcm, 2)}, nil
}
