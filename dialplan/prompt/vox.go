package prompt

import "github.com/switchboard-voice/switchboard/media/audio"

// VOXRate is the sample rate File assumes for .vox files, which have no
// header: 8000 Hz, the usual rate of telephony VOX prompts.
const VOXRate = 8000

// voxSteps is the Dialogic (OKI) ADPCM step size table.
var voxSteps = [49]int{
	16, 17, 19, 21, 23, 25, 28, 31, 34, 37, 41, 45, 50, 55, 60, 66,
	73, 80, 88, 97, 107, 118, 130, 143, 157, 173, 190, 209, 230, 253, 279, 307,
	337, 371, 408, 449, 494, 544, 598, 658, 724, 796, 876, 963, 1060, 1166, 1282, 1411,
	1552,
}

// voxIndexAdjust is the step index change for the magnitude of a code.
var voxIndexAdjust = [8]int{-1, -1, -1, -1, 2, 4, 6, 8}

// DecodeVOX decodes Dialogic VOX data, headerless mono 4-bit OKI ADPCM
// (high nibble first, 12-bit samples, decoder starting at zero with the
// smallest step), into a clip at rate with samples scaled to 16 bits. It is
// the same decoding as ffmpeg's adpcm_ima_oki. Every byte string is valid
// VOX data: two samples per byte.
func DecodeVOX(data []byte, rate int) *audio.Clip {
	out := make([]int16, 2*len(data))
	predictor, index := 0, 0
	expand := func(code byte) int16 {
		step := voxSteps[index]
		index = min(max(index+voxIndexAdjust[code&7], 0), len(voxSteps)-1)
		diff := ((2*int(code&7) + 1) * step) >> 3
		if code&8 != 0 {
			predictor -= diff
		} else {
			predictor += diff
		}
		predictor = min(max(predictor, -2048), 2047)
		return int16(predictor * 16)
	}
	for i, b := range data {
		out[2*i] = expand(b >> 4)
		out[2*i+1] = expand(b & 0x0f)
	}
	return &audio.Clip{Rate: rate, Samples: out}
}

// EncodeVOX encodes 16-bit samples as Dialogic VOX data (the inverse of
// DecodeVOX; no header, the rate is the caller's to remember): each code is
// chosen by running the decoder's own step.
func EncodeVOX(samples []int16) []byte {
	out := make([]byte, (len(samples)+1)/2)
	predictor, index := 0, 0
	for i, s := range samples {
		target := int(s) / 16
		step := voxSteps[index]
		diff := target - predictor
		var code int
		if diff < 0 {
			code = 8
			diff = -diff
		}
		// Magnitude m with ((2m+1)*step)>>3 closest to diff.
		m := min(max((8*diff/step-1+1)/2, 0), 7)
		code |= m
		d := ((2*m + 1) * step) >> 3
		if code&8 != 0 {
			predictor -= d
		} else {
			predictor += d
		}
		predictor = min(max(predictor, -2048), 2047)
		index = min(max(index+voxIndexAdjust[m], 0), 48)
		if i%2 == 0 {
			out[i/2] = byte(code) << 4
		} else {
			out[i/2] |= byte(code)
		}
	}
	return out
}
