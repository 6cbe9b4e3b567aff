package codec

import (
	"errors"
	"fmt"

	"github.com/hraban/opus"
)

func checkOpusRate(rate int) error {
	switch rate {
	case 8000, 12000, 16000, 24000, 48000:
		return nil
	}
	return fmt.Errorf("%w: opus at %d Hz (want 8000, 12000, 16000, 24000 or 48000)", ErrUnsupportedRate, rate)
}

// defaultBitrate is the Opus bit rate used when Options.Bitrate is 0.
func defaultBitrate(rate int) int {
	switch {
	case rate <= 12000:
		return 24000
	case rate <= 24000:
		return 32000
	}
	return 40000
}

// bandwidth maps a maxplaybackrate to the widest Opus bandwidth it allows.
func bandwidth(maxPlaybackRate int) opus.Bandwidth {
	switch {
	case maxPlaybackRate <= 8000:
		return opus.Narrowband
	case maxPlaybackRate <= 12000:
		return opus.Mediumband
	case maxPlaybackRate <= 16000:
		return opus.Wideband
	case maxPlaybackRate <= 24000:
		return opus.SuperWideband
	}
	return opus.Fullband
}

type opusEncoder struct {
	enc  *opus.Encoder
	rate int
}

func newOpusEncoder(rate int, o Options) (*opusEncoder, error) {
	if err := checkOpusRate(rate); err != nil {
		return nil, err
	}
	complexity := o.Complexity
	switch {
	case complexity == 0:
		complexity = DefaultComplexity
	case complexity < 0:
		complexity = 0
	case complexity > 10:
		return nil, fmt.Errorf("%w: complexity %d (want 0–10)", ErrInvalidOption, o.Complexity)
	}
	bitrate := o.Bitrate
	if bitrate == 0 {
		bitrate = defaultBitrate(rate)
	}
	if bitrate < 500 || bitrate > 512000 {
		return nil, fmt.Errorf("%w: bitrate %d (want 500–512000)", ErrInvalidOption, o.Bitrate)
	}
	if o.PacketLossPerc < 0 || o.PacketLossPerc > 100 {
		return nil, fmt.Errorf("%w: packet loss %d%% (want 0–100)", ErrInvalidOption, o.PacketLossPerc)
	}
	if o.MaxPlaybackRate < 0 {
		return nil, fmt.Errorf("%w: max playback rate %d", ErrInvalidOption, o.MaxPlaybackRate)
	}
	enc, err := opus.NewEncoder(rate, 1, opus.AppVoIP)
	if err != nil {
		return nil, fmt.Errorf("codec: opus encoder: %w", err)
	}
	settings := []struct {
		name string
		set  func() error
	}{
		{"complexity", func() error { return enc.SetComplexity(complexity) }},
		{"bitrate", func() error { return enc.SetBitrate(bitrate) }},
		{"in-band FEC", func() error { return enc.SetInBandFEC(o.FEC) }},
		{"packet loss", func() error { return enc.SetPacketLossPerc(o.PacketLossPerc) }},
		{"DTX", func() error { return enc.SetDTX(o.DTX) }},
		{"max bandwidth", func() error {
			if o.MaxPlaybackRate == 0 {
				return nil
			}
			return enc.SetMaxBandwidth(bandwidth(o.MaxPlaybackRate))
		}},
	}
	for _, s := range settings {
		if err := s.set(); err != nil {
			return nil, fmt.Errorf("codec: opus encoder %s: %w", s.name, err)
		}
	}
	return &opusEncoder{enc: enc, rate: rate}, nil
}

func (e *opusEncoder) SampleRate() int { return e.rate }

func (e *opusEncoder) Encode(pcm []int16, payload []byte) (int, error) {
	if len(payload) == 0 {
		return 0, fmt.Errorf("%w: empty payload buffer", ErrBufferTooSmall)
	}
	// The binding writes up to cap(payload); hold it to len.
	n, err := e.enc.Encode(pcm, payload[:len(payload):len(payload)])
	if err != nil {
		if errors.Is(err, opus.ErrBufferTooSmall) {
			return 0, fmt.Errorf("%w: %w", ErrBufferTooSmall, err)
		}
		return 0, fmt.Errorf("codec: opus encode of %d samples: %w", len(pcm), err)
	}
	return n, nil
}

type opusDecoder struct {
	dec  *opus.Decoder
	rate int
}

func newOpusDecoder(rate int) (*opusDecoder, error) {
	if err := checkOpusRate(rate); err != nil {
		return nil, err
	}
	dec, err := opus.NewDecoder(rate, 1)
	if err != nil {
		return nil, fmt.Errorf("codec: opus decoder: %w", err)
	}
	return &opusDecoder{dec: dec, rate: rate}, nil
}

func (d *opusDecoder) SampleRate() int { return d.rate }

func (d *opusDecoder) Decode(payload []byte, pcm []int16) (int, error) {
	if len(payload) == 0 {
		return 0, fmt.Errorf("%w: empty opus payload", ErrCorruptPayload)
	}
	if len(pcm) == 0 {
		return 0, fmt.Errorf("%w: empty pcm buffer", ErrBufferTooSmall)
	}
	// The binding decodes up to cap(pcm) samples; hold it to len.
	n, err := d.dec.Decode(payload, pcm[:len(pcm):len(pcm)])
	if err != nil {
		return 0, d.wrap(err)
	}
	return n, nil
}

func (d *opusDecoder) Conceal(next []byte, pcm []int16, samples int) (int, error) {
	if samples <= 0 || samples > MaxFrameSamples(d.rate) || samples%(d.rate/400) != 0 {
		return 0, fmt.Errorf("codec: opus conceal of %d samples: want a multiple of %d up to %d",
			samples, d.rate/400, MaxFrameSamples(d.rate))
	}
	if len(pcm) < samples {
		return 0, fmt.Errorf("%w: pcm has %d samples, need %d", ErrBufferTooSmall, len(pcm), samples)
	}
	// libopus conceals exactly as many samples as the buffer holds.
	out := pcm[:samples:samples]
	if len(next) > 0 {
		// DecodeFEC falls back to PLC when next carries no FEC data. A
		// corrupt next packet is reported when it is decoded; here it only
		// means plain PLC.
		if err := d.dec.DecodeFEC(next, out); err == nil {
			return samples, nil
		}
	}
	if err := d.dec.DecodePLC(out); err != nil {
		return 0, d.wrap(err)
	}
	return samples, nil
}

func (d *opusDecoder) wrap(err error) error {
	if errors.Is(err, opus.ErrBufferTooSmall) {
		return fmt.Errorf("%w: %w", ErrBufferTooSmall, err)
	}
	return fmt.Errorf("%w: %w", ErrCorruptPayload, err)
}
