package call

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/switchboard-voice/switchboard/media"
	"github.com/switchboard-voice/switchboard/media/audio"
)

// The caller's leg events are read by one goroutine for the whole call, the
// pump. While the call is bridged (Dial) the bridge loop reads them itself:
// it pauses the pump first and resumes it when the bridge ends. Otherwise
// (prompts, menus, waiting in a queue) the pump handles them: a hang-up ends
// the call (the leg's Done, never lost), digits go to Digits, and a re-offer
// (hold) is answered from the caller's own stream.

// startPump starts the pump; New calls it.
func (c *Call) startPump() {
	c.pumpPause = make(chan struct{})
	c.pumpResume = make(chan struct{})
	c.pumpDone = make(chan struct{})
	c.digits = make(chan DTMF, 32)
	go c.pump()
}

func (c *Call) pump() {
	defer close(c.pumpDone)
	events := c.Anchor().Events()
	for {
		select {
		case <-c.pumpPause:
			<-c.pumpResume
		case <-c.done:
			return
		case <-c.Anchor().Done():
			c.End(c.ctx, c.Anchor().Cause())
			return
		case ev := <-events:
			c.handleLocal(ev)
		}
	}
}

// pausePump hands the caller's events to the bridge; it reports false when
// the pump has already ended (the caller hung up).
func (c *Call) pausePump() bool {
	select {
	case c.pumpPause <- struct{}{}:
		return true
	case <-c.pumpDone:
		return false
	}
}

// resumePump gives the caller's events back to the pump.
func (c *Call) resumePump() {
	select {
	case c.pumpResume <- struct{}{}:
	case <-c.pumpDone:
	}
}

// handleLocal handles one event of the caller's leg while no bridge runs.
func (c *Call) handleLocal(ev Event) {
	switch e := ev.(type) {
	case DTMF:
		c.emit(Notice{Kind: NoticeDTMF, Leg: c.Anchor().ID(), Inbound: true, Digit: e.Digit})
		select {
		case c.digits <- e:
		default:
			// Nobody is gathering: the oldest digit makes room.
			select {
			case <-c.digits:
			default:
			}
			c.digits <- e
		}
	case Refer:
		// No party to hand the caller to (prompts, a queue): declined.
		e.Notify(603, "Decline")
	case Reoffer:
		c.mu.Lock()
		local := c.local
		c.mu.Unlock()
		if local == nil || e.Offer == nil {
			e.Reply <- OfferReply{Err: &Cause{Code: 491, Reason: "Request Pending"}}
			return
		}
		answerAlone(e, *local)
	}
}

// answerAlone answers a re-offer on its own leg from own, the switch's own
// side of that leg's stream (no other leg is asked): 488 when the offer
// keeps no codec the switch can use.
func answerAlone(e Reoffer, own media.Description) {
	ans := answerTo(e.Offer, own)
	if len(ans.Audio()) == 0 {
		e.Reply <- OfferReply{Err: &NotAcceptable}
		return
	}
	e.Reply <- OfferReply{Answer: ans}
}

// Digits delivers the keys the caller presses while the call is not bridged
// (menus, waiting-strategy response codes), in order. Up to 32 wait unread;
// beyond that the oldest is dropped.
func (c *Call) Digits() <-chan DTMF { return c.digits }

// ClearDigits drops digits pressed before now (type-ahead a menu should not
// see).
func (c *Call) ClearDigits() {
	for {
		select {
		case <-c.digits:
		default:
			return
		}
	}
}

// errNotInbound: the anchor is not a leg the switch answers (no ringing,
// early media or answer to send).
var errNotInbound = errors.New("call: the anchor is not an inbound leg")

// errLateOffer: the caller sent no offer; the switch offers in its 200.
var errLateOffer = errors.New("call: late offer")

// localAnswer is the switch's answer to the caller's offer when the switch
// itself plays to the caller: the first codec of the offer it can encode,
// with telephone-event at that codec's clock when offered.
func (c *Call) localAnswer() (media.Description, error) {
	if c.Inbound() == nil {
		return media.Description{}, errNotInbound
	}
	offer := c.Inbound().Offer()
	if offer == nil {
		return media.Description{}, errLateOffer
	}
	d := answerTo(offer, media.Description{Direction: media.SendRecv, Ptime: 20})
	if len(d.Audio()) == 0 {
		return d, NotAcceptable
	}
	return d, nil
}

// Answer answers the caller with the switch's own media (prompts, menus,
// music) before or without any other leg. It returns once the caller has
// confirmed (ACK). Answering twice is a no-op.
func (c *Call) Answer(ctx context.Context) error {
	c.mu.Lock()
	answered := c.state == StateAnswered
	c.mu.Unlock()
	if answered {
		return nil
	}
	d, err := c.localAnswer()
	if errors.Is(err, errLateOffer) {
		d = media.Description{Direction: media.SendRecv, Ptime: 20}
	} else if err != nil {
		return err
	}
	agreed, err := c.Inbound().Answer(ctx, d)
	if err != nil {
		return err
	}
	c.mu.Lock()
	c.local = &agreed
	c.mu.Unlock()
	c.setState(StateAnswered)
	c.startSupervision(ctx)
	c.log.Info("call answered by the switch", "codec", c.Anchor().Socket().Config().Audio.Name)
	return nil
}

// EarlyMedia sends 183 Session Progress with SDP, so that what the switch
// plays reaches the caller before (or without) an answer. It needs the
// caller's offer in the INVITE.
func (c *Call) EarlyMedia(ctx context.Context) error {
	d, err := c.localAnswer()
	if err != nil {
		return fmt.Errorf("early media: %w", err)
	}
	if err := c.Inbound().Progress(ctx, false, &d); err != nil {
		return err
	}
	c.mu.Lock()
	c.local = &d
	if c.state == StateSetup || c.state == StateRinging {
		c.state = StateEarlyMedia
	}
	c.mu.Unlock()
	return nil
}

// PlayRate is the PCM rate sources played to the caller must produce
// (media.PlayRate of the caller's codec); 0 before Answer or EarlyMedia.
func (c *Call) PlayRate() int {
	a := c.Anchor().Socket().Config().Audio
	if a.Name == "" {
		return 0
	}
	return media.PlayRate(a)
}

// Play plays src to the caller (answered or in early media) until src ends,
// ctx is done or the call ends.
func (c *Call) Play(ctx context.Context, src audio.Source) error {
	if c.PlayRate() == 0 {
		return errors.New("call: play before answer or early media")
	}
	pctx, cancel := context.WithCancel(ctx)
	defer cancel()
	go func() {
		select {
		case <-c.done:
			cancel()
		case <-pctx.Done():
		}
	}()
	err := media.Play(pctx, c.Anchor().Socket(), src)
	if c.isEnded() {
		return ErrEnded
	}
	return err
}

// ErrEnded is returned by what the switch does to a call that has ended.
var ErrEnded = errors.New("call: ended")

func (c *Call) isEnded() bool {
	select {
	case <-c.done:
		return true
	default:
		return false
	}
}

// Sleep waits d, or until ctx is done or the call ends (ErrEnded).
func (c *Call) Sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	case <-c.done:
		return ErrEnded
	}
}

// Ring sends 180 Ringing to the caller.
func (c *Call) Ring(ctx context.Context) error {
	if c.Inbound() == nil {
		return errNotInbound
	}
	if err := c.Inbound().Progress(ctx, true, nil); err != nil {
		return err
	}
	c.mu.Lock()
	if c.state == StateSetup {
		c.state = StateRinging
	}
	c.mu.Unlock()
	return nil
}
