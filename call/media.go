package call

import (
	"context"
	"time"

	"github.com/switchboard-voice/switchboard/media"
	"github.com/switchboard-voice/switchboard/media/quality"
)

// mediaTimeout ends a call whose party stopped sending RTP.
var mediaTimeout = Cause{Code: 408, Reason: "Media timeout"}

// connect (re)builds the media bridge between the caller and out from what
// each leg negotiated: a relay when the codecs match (or are the two G.711
// laws), a transcoder otherwise. It runs after every offer/answer. With
// oneWay, out hears nothing of the anchor (a party not answered yet).
func (c *Call) connect(out Leg, oneWay bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.state == StateEnded {
		return
	}
	b, err := media.Connect(c.Anchor().Socket(), out.Socket(), c.media)
	if err != nil {
		c.log.Error("media bridge", "error", err)
		c.media = nil
		return
	}
	if b != c.media {
		ca, cb := c.Anchor().Socket().Config(), out.Socket().Config()
		c.log.Info("media bridge", "transcoding", b.Transcoding(),
			"caller_codec", ca.Audio.Name, "callee_codec", cb.Audio.Name)
	}
	c.media = b
	b.Block(media.AToB, oneWay)
	if b.Transcoding() {
		c.record.Transcoded = true
	}
}

// relayDTMF sends a digit from one leg to the other, unless a relay has
// already forwarded its telephone-events. Digits to one leg go out in
// order, one at a time, without holding up the bridge loop.
func (c *Call) relayDTMF(from, to Leg, e DTMF) {
	c.emit(Notice{Kind: NoticeDTMF, Leg: from.ID(), Inbound: from == c.Anchor(), Digit: e.Digit})
	c.mu.Lock()
	forwarded := e.InBand && c.media != nil && !c.media.Transcoding() &&
		from.Socket().Config().HasEvents() && to.Socket().Config().HasEvents()
	q := c.dtmf[to]
	if q == nil && !forwarded {
		q = make(chan DTMF, 32)
		c.dtmf[to] = q
		go c.sendDigits(to, q)
	}
	c.mu.Unlock()
	if forwarded {
		return
	}
	select {
	case q <- e:
	default:
		c.log.Warn("DTMF queue full: digit dropped", "leg", to.ID(), "digit", string(e.Digit))
	}
}

func (c *Call) sendDigits(to Leg, q chan DTMF) {
	for {
		select {
		case <-c.done:
			return
		case e := <-q:
			ctx, cancel := context.WithTimeout(c.ctx, 10*time.Second)
			if err := to.SendDTMF(ctx, e.Digit, e.Duration); err != nil {
				c.log.Warn("send DTMF", "leg", to.ID(), "error", err)
			}
			cancel()
		}
	}
}

// startSupervision starts supervise once, when the caller is first
// answered: by the far end's answer, or by the switch itself (prompts, a
// queue), so a caller who goes silent while waiting is timed out too.
func (c *Call) startSupervision(ctx context.Context) {
	c.superviseOnce.Do(func() { go c.supervise(context.WithoutCancel(ctx)) })
}

// supervise watches the call's legs until it ends: a leg that should send
// media (not on hold) and has sent no RTP for the media timeout ends the
// call; a leg whose MOS falls below 4 (or recovers) is notified. A leg is
// watched from the first check after its media is agreed (legs join as the
// call dials them).
func (c *Call) supervise(ctx context.Context) {
	type watched struct {
		since time.Time // when the media time-out starts counting
		weak  quality.Weak
	}
	seen := map[Leg]*watched{}
	check := min(time.Second, c.opts.QualityInterval)
	if t := c.opts.MediaTimeout; t > 0 && t < 4*check {
		check = t / 4
	}
	// Quality is judged every qualityTicks checks: the quality interval,
	// rounded to whole checks.
	qualityTicks := max(int((c.opts.QualityInterval+check/2)/check), 1)
	tick := time.NewTicker(check)
	defer tick.Stop()
	ticks := 0
	for {
		select {
		case <-c.done:
			return
		case now := <-tick.C:
			c.mu.Lock()
			legs := append([]Leg(nil), c.legs...)
			c.mu.Unlock()
			ticks++
			qualityDue := ticks%qualityTicks == 0
			for _, l := range legs {
				s := l.Socket()
				cfg := s.Config()
				if cfg.Audio.Name == "" {
					continue // media not agreed yet (still ringing)
				}
				w := seen[l]
				if w == nil {
					w = &watched{since: now}
					seen[l] = w
				}
				if t := c.opts.MediaTimeout; t > 0 && cfg.Sending {
					last := s.LastReceived()
					if last.Before(w.since) {
						last = w.since
					}
					if now.Sub(last) >= t {
						c.log.Warn("media timeout: no RTP", "leg", l.ID(), "silent_for", now.Sub(last).Round(time.Millisecond))
						c.End(ctx, mediaTimeout)
						return
					}
				}
				if !qualityDue {
					continue
				}
				snap := s.Quality().Snapshot(now)
				if snap.PacketsReceived == 0 {
					continue
				}
				if isWeak, changed := w.weak.Update(snap.MOS); changed {
					c.log.Info("leg quality", "leg", l.ID(), "weak", isWeak, "mos", snap.MOS,
						"loss_percent", snap.IntervalLossPercent, "jitter", snap.Jitter, "rtt", snap.RTT)
					c.emit(Notice{Kind: NoticeQuality, Leg: l.ID(), Inbound: l == c.Anchor(), Weak: isWeak, MOS: snap.MOS})
				}
			}
		}
	}
}

// legQuality summarises each leg's stream over the whole call.
func legQuality(legs []Leg) []LegQuality {
	var out []LegQuality
	now := time.Now()
	for _, l := range legs {
		s := l.Socket()
		if s == nil {
			continue
		}
		m := s.Quality().Snapshot(now)
		if m.PacketsReceived == 0 {
			continue
		}
		out = append(out, LegQuality{
			Leg:             l.ID(),
			Codec:           s.Config().Audio.Name,
			PacketsReceived: m.PacketsReceived,
			PacketsLost:     m.PacketsLost,
			LossPercent:     m.LossPercent,
			Jitter:          m.Jitter,
			RTT:             m.RTT,
			MOS:             quality.MOS(m.RTT/2, m.Jitter, m.LossPercent),
		})
	}
	return out
}
