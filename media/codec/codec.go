// Package codec encodes and decodes the audio payloads carried in RTP: G.711
// (PCMU, PCMA) and Opus.
//
// Audio inside the switch is linear 16-bit mono PCM in frames of
// FrameDuration. G.711 always runs at 8000 samples/s; Opus is opened at the
// PCM rate of the bridge (8000 when any leg is G.711, so the G.711<->Opus path
// needs no resampler).
//
// RTP clock: Opus in RTP always uses a 48000 Hz timestamp clock (RFC 7587,
// section 4.1) whatever the PCM rate the Decoder or Encoder is opened at; a
// 20 ms Opus packet advances the RTP timestamp by 960 even when this package
// decodes it to 160 samples at 8000 Hz. Converting timestamps is the caller's
// business. G.711 uses an 8000 Hz clock, one tick per sample.
//
// Decoders and Encoders keep state between frames and are not safe for
// concurrent use. Once created they do not allocate: Encode, Decode, Conceal,
// PCMUToPCMA and PCMAToPCMU write into the caller's buffers.
package codec

import (
	"errors"
	"fmt"
	"strings"
	"time"
)

// FrameDuration is the duration of one audio frame inside the switch.
const FrameDuration = 20 * time.Millisecond

// Errors returned by this package, possibly wrapped (test with errors.Is).
var (
	// ErrUnknownCodec is returned for a codec name other than PCMU, PCMA
	// or opus.
	ErrUnknownCodec = errors.New("codec: unknown codec")
	// ErrUnsupportedRate is returned for a sample rate the codec cannot run
	// at.
	ErrUnsupportedRate = errors.New("codec: unsupported sample rate")
	// ErrInvalidOption is returned by NewEncoder for Options out of range.
	ErrInvalidOption = errors.New("codec: invalid option")
	// ErrBufferTooSmall is returned when an output buffer cannot hold the
	// result.
	ErrBufferTooSmall = errors.New("codec: buffer too small")
	// ErrCorruptPayload is returned when a payload cannot be decoded.
	ErrCorruptPayload = errors.New("codec: corrupt payload")
)

// Decoder turns one RTP payload into PCM at its SampleRate.
type Decoder interface {
	// Decode decodes payload into pcm and returns the number of samples
	// written (mono). len(pcm) >= MaxFrameSamples(SampleRate()) is always
	// enough; G.711 needs len(pcm) >= len(payload).
	Decode(payload []byte, pcm []int16) (int, error)
	// Conceal produces one frame of samples samples for a lost packet into
	// pcm and returns the number of samples written. next is the payload of
	// the packet after the lost one when the caller has it (Opus then uses
	// its in-band FEC data, falling back to PLC), or nil. For Opus, samples
	// must be a multiple of 2.5 ms.
	Conceal(next []byte, pcm []int16, samples int) (int, error)
	// SampleRate returns the PCM sample rate in Hz.
	SampleRate() int
}

// Encoder turns PCM frames into RTP payloads.
type Encoder interface {
	// Encode encodes one frame (FrameDuration: SampleRate()/50 samples;
	// Opus also takes 2.5, 5, 10, 40 and 60 ms) into payload and returns
	// the payload length. For Opus, a payload of 1275 bytes always fits.
	Encode(pcm []int16, payload []byte) (int, error)
	// SampleRate returns the PCM sample rate in Hz.
	SampleRate() int
}

// Options tune an Opus encoder; G.711 encoders ignore them. The zero value
// gives the defaults.
type Options struct {
	// Complexity is the Opus encoder complexity: 1–10 as given, 0 selects
	// DefaultComplexity, and a negative value selects complexity 0 (the
	// cheapest).
	Complexity int
	// Bitrate is the target bit rate in bits/s (500–512000). 0 selects a
	// per-rate default: 24000 at 8000 and 12000 Hz, 32000 at 16000 and
	// 24000 Hz, 40000 at 48000 Hz.
	Bitrate int
	// FEC turns on Opus in-band forward error correction; it only takes
	// effect with PacketLossPerc > 0.
	FEC bool
	// PacketLossPerc is the expected packet loss in percent (0–100), a hint
	// for FEC.
	PacketLossPerc int
	// MaxPlaybackRate is the peer's maxplaybackrate fmtp parameter; it
	// limits the encoded bandwidth: <=8000 narrowband, <=12000 mediumband,
	// <=16000 wideband, <=24000 superwideband, else fullband. 0 means no
	// limit.
	MaxPlaybackRate int
	// DTX turns on discontinuous transmission: during silence Encode
	// returns payloads of 1 or 2 bytes, which need not be sent.
	DTX bool
}

// OpusSettings are Options for a configured complexity (nil: the default;
// 0 is the cheapest, not the default) and bit rate (0: per-rate default).
func OpusSettings(complexity *int, bitrate int) Options {
	o := Options{Bitrate: bitrate}
	if complexity != nil {
		o.Complexity = *complexity
		if *complexity == 0 {
			o.Complexity = -1 // negative selects 0
		}
	}
	return o
}

// DefaultComplexity is the Opus complexity used when Options.Complexity is 0.
const DefaultComplexity = 5

// FrameSamples returns the number of samples in one FrameDuration at rate.
func FrameSamples(rate int) int { return rate / 50 }

// MaxFrameSamples returns the most samples one Decode can return at rate: an
// Opus packet holds up to 120 ms.
func MaxFrameSamples(rate int) int { return rate * 120 / 1000 }

// Codec names accepted by NewDecoder and NewEncoder (case-insensitive).
const (
	PCMU = "PCMU"
	PCMA = "PCMA"
	Opus = "opus"
)

// Supported reports whether NewDecoder and NewEncoder know the codec name
// (case-insensitive), without building either.
func Supported(name string) bool {
	return strings.EqualFold(name, PCMU) || strings.EqualFold(name, PCMA) || strings.EqualFold(name, Opus)
}

// NewDecoder returns a decoder for the codec name ("PCMU", "PCMA" or "opus",
// case-insensitive) producing mono PCM at rate. G.711 requires rate 8000;
// Opus takes 8000, 12000, 16000, 24000 or 48000.
func NewDecoder(name string, rate int) (Decoder, error) {
	switch {
	case strings.EqualFold(name, PCMU), strings.EqualFold(name, PCMA):
		if rate != g711Rate {
			return nil, fmt.Errorf("%w: %s at %d Hz (G.711 is 8000 Hz only)", ErrUnsupportedRate, name, rate)
		}
		return &g711Decoder{alaw: strings.EqualFold(name, PCMA)}, nil
	case strings.EqualFold(name, Opus):
		return newOpusDecoder(rate)
	}
	return nil, fmt.Errorf("%w: %q", ErrUnknownCodec, name)
}

// NewEncoder returns an encoder for the codec name ("PCMU", "PCMA" or "opus",
// case-insensitive) taking mono PCM at rate, with the rate rules of
// NewDecoder. o tunes Opus and is ignored for G.711.
func NewEncoder(name string, rate int, o Options) (Encoder, error) {
	switch {
	case strings.EqualFold(name, PCMU), strings.EqualFold(name, PCMA):
		if rate != g711Rate {
			return nil, fmt.Errorf("%w: %s at %d Hz (G.711 is 8000 Hz only)", ErrUnsupportedRate, name, rate)
		}
		return &g711Encoder{alaw: strings.EqualFold(name, PCMA)}, nil
	case strings.EqualFold(name, Opus):
		return newOpusEncoder(rate, o)
	}
	return nil, fmt.Errorf("%w: %q", ErrUnknownCodec, name)
}
