package codec

import (
	"fmt"

	"github.com/zaf/g711"
)

const g711Rate = 8000

// Conversion tables between the two G.711 laws, built once through linear
// PCM (decode with one law, encode with the other) and never modified.
var (
	ulawToAlaw = buildTable(g711.DecodeUlawFrame, g711.EncodeAlawFrame)
	alawToUlaw = buildTable(g711.DecodeAlawFrame, g711.EncodeUlawFrame)
)

func buildTable(dec func(uint8) int16, enc func(int16) uint8) [256]byte {
	var t [256]byte
	for i := range t {
		t[i] = enc(dec(uint8(i)))
	}
	return t
}

// PCMUToPCMA converts G.711 u-law bytes to A-law by table lookup, as decoding
// to linear PCM and encoding again would. It converts min(len(dst),
// len(src)) bytes; dst and src are meant to have the same length and may be
// the same slice.
func PCMUToPCMA(dst, src []byte) { convert(dst, src, &ulawToAlaw) }

// PCMAToPCMU converts G.711 A-law bytes to u-law by table lookup, as decoding
// to linear PCM and encoding again would. It converts min(len(dst),
// len(src)) bytes; dst and src are meant to have the same length and may be
// the same slice.
func PCMAToPCMU(dst, src []byte) { convert(dst, src, &alawToUlaw) }

func convert(dst, src []byte, t *[256]byte) {
	n := min(len(dst), len(src))
	dst, src = dst[:n], src[:n]
	for i, b := range src {
		dst[i] = t[b]
	}
}

type g711Encoder struct {
	alaw bool
}

func (e *g711Encoder) SampleRate() int { return g711Rate }

func (e *g711Encoder) Encode(pcm []int16, payload []byte) (int, error) {
	if len(payload) < len(pcm) {
		return 0, fmt.Errorf("%w: payload has %d bytes, need %d", ErrBufferTooSmall, len(payload), len(pcm))
	}
	payload = payload[:len(pcm)]
	if e.alaw {
		for i, s := range pcm {
			payload[i] = g711.EncodeAlawFrame(s)
		}
	} else {
		for i, s := range pcm {
			payload[i] = g711.EncodeUlawFrame(s)
		}
	}
	return len(pcm), nil
}

type g711Decoder struct {
	alaw bool
	plc  plc
}

func (d *g711Decoder) SampleRate() int { return g711Rate }

func (d *g711Decoder) Decode(payload []byte, pcm []int16) (int, error) {
	if len(pcm) < len(payload) {
		return 0, fmt.Errorf("%w: pcm has %d samples, payload needs %d", ErrBufferTooSmall, len(pcm), len(payload))
	}
	out := pcm[:len(payload)]
	if d.alaw {
		for i, b := range payload {
			out[i] = g711.DecodeAlawFrame(b)
		}
	} else {
		for i, b := range payload {
			out[i] = g711.DecodeUlawFrame(b)
		}
	}
	d.plc.good(out)
	return len(out), nil
}

// Conceal synthesises samples samples of audio for a lost packet from the
// recent history (see plc); next is ignored, G.711 carries no redundancy.
func (d *g711Decoder) Conceal(next []byte, pcm []int16, samples int) (int, error) {
	if samples < 0 {
		return 0, fmt.Errorf("%w: negative sample count %d", ErrBufferTooSmall, samples)
	}
	if len(pcm) < samples {
		return 0, fmt.Errorf("%w: pcm has %d samples, need %d", ErrBufferTooSmall, len(pcm), samples)
	}
	d.plc.conceal(pcm[:samples])
	return samples, nil
}
