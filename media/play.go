package media

import (
	"context"
	"errors"
	"fmt"
	"net"
	"time"

	"github.com/switchboard-voice/switchboard/media/audio"
	"github.com/switchboard-voice/switchboard/media/codec"
)

// PlayRate is the PCM rate a player must produce for a socket's codec: 8000
// for G.711, 48000 for Opus (so prompts keep their bandwidth towards
// browsers).
func PlayRate(c Codec) int {
	if c.Is("opus") {
		return 48000
	}
	return int(c.ClockRate)
}

// Play sends src to the socket's party in the leg's codec, one 20 ms packet
// at a time paced by the clock, until src ends or ctx is done. src must
// produce PCM at PlayRate of the socket's codec: an [audio.Player] or
// [audio.Mixer] made for that rate. Whatever else the socket sends meanwhile
// (a bridge) is interleaved, so stop the bridge towards this leg first.
func Play(ctx context.Context, s *Socket, src audio.Source) error {
	cfg := s.Config()
	if cfg.Audio.Name == "" {
		return errors.New("media: play: the leg has no codec yet")
	}
	rate := PlayRate(cfg.Audio)
	enc, err := codec.NewEncoder(cfg.Audio.Name, rate, cfg.Encoder)
	if err != nil {
		return fmt.Errorf("media: play: %w", err)
	}
	frame := make([]int16, codec.FrameSamples(rate))
	var pkt [bufSize]byte
	out := newFrameStream(cfg.Audio.PayloadType, cfg.Audio.ClockRate/50)
	timer := time.NewTimer(0)
	defer timer.Stop()
	next := time.Now()
	for {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-s.closed:
			return net.ErrClosed
		case <-timer.C:
		}
		n := src.Read(frame)
		if n == 0 {
			return nil
		}
		clear(frame[n:])
		m, err := enc.Encode(frame, pkt[rtpHeaderLen:])
		if err != nil {
			return fmt.Errorf("media: play: %w", err)
		}
		if err := s.WriteRTP(out.packet(pkt[:], m)); err != nil && !errors.Is(err, ErrNoRemote) {
			return err
		}
		// Paced by the clock: a late tick is caught up, not lost.
		next = next.Add(frameInterval)
		wait := time.Until(next)
		if wait < -5*frameInterval {
			next, wait = time.Now(), 0
		}
		timer.Reset(max(wait, 0))
	}
}
