package call

import (
	"context"
	"errors"
	"time"

	"github.com/switchboard-voice/switchboard/media"
)

// reofferTimeout bounds how long the bridge waits for a leg to answer a
// relayed re-offer (RFC 3261 Timer B is 32 s).
const reofferTimeout = 32 * time.Second

// Dial places an outgoing leg for the call with d and bridges it to the
// caller: progress and early media are relayed, the caller is answered when
// the far end answers, re-offers are relayed both ways, and a hang-up on
// either side ends the call. Dial returns when the call has ended.
func (c *Call) Dial(ctx context.Context, d Dialer, r DialRequest) error {
	return c.DialInOrder(ctx, d, []DialRequest{r})
}

// dialOne places one outgoing leg and bridges the caller to it. With
// failOver, a failure that FailsOver (before the far end answers) leaves
// the call up and returns a *FailedOver, so that the next trunk can be
// tried; any other failure ends the call with its cause.
func (c *Call) dialOne(ctx context.Context, d Dialer, r DialRequest, failOver bool) error {
	r.Offer = c.in.Offer()
	r.CallID = c.ID()
	out, err := d.Dial(ctx, r)
	if err != nil {
		cause := CauseOf(err)
		if failOver && FailsOver(cause) {
			return &FailedOver{Trunk: r.Trunk, Cause: cause}
		}
		c.End(ctx, cause)
		return err
	}
	c.mu.Lock()
	c.legs = append(c.legs, out)
	c.record.OutTrunk = r.Trunk
	c.mu.Unlock()
	c.log.Info("dialling", "out_trunk", r.Trunk, "leg", out.ID())
	if !c.pausePump() {
		// The caller hung up while the leg was being placed.
		c.End(ctx, Cancelled)
		return ErrEnded
	}
	defer c.resumePump()
	err = c.bridge(ctx, out, failOver)
	var fo *FailedOver
	if errors.As(err, &fo) {
		fo.Trunk = r.Trunk
	}
	return err
}

// CauseOf extracts a Cause from err, defaulting to 500.
func CauseOf(err error) Cause {
	var c Cause
	if errors.As(err, &c) {
		return c
	}
	var pc *Cause
	if errors.As(err, &pc) && pc != nil {
		return *pc
	}
	return ServerError
}

// bridge is the call's signalling loop between the caller and out.
// With failOver, the out leg's failure before it answers, when it
// FailsOver, returns a *FailedOver instead of ending the call.
func (c *Call) bridge(ctx context.Context, out Leg, failOver bool) error {
	inEv, outEv := c.in.Events(), out.Events()
	offer := c.in.Offer()
	// The switch may have answered the caller already (prompts, a queue):
	// then the far end's answer only connects the media, transcoding if the
	// codecs differ, and its early media is not relayed.
	answered := c.State() == StateAnswered
	farAnswered := false
	dirs := newDirections()
	if offer != nil {
		dirs.party[c.in], dirs.conveyed[c.in] = offer.Direction, offer.Direction
	}
	for {
		select {
		case <-ctx.Done():
			c.End(context.WithoutCancel(ctx), Shutdown)
			return ctx.Err()

		case <-c.done:
			// Ended outside the loop (the ACD for an agent's hang-up,
			// media supervision): End hung up the legs it had; out too.
			_ = out.Hangup(context.WithoutCancel(ctx), Normal)
			return nil

		case ev, ok := <-outEv:
			if !ok {
				outEv = nil
				continue
			}
			switch e := ev.(type) {
			case Progress:
				if answered {
					continue
				}
				var early *media.Description
				if e.Early != nil {
					d := answerTo(offer, *e.Early)
					early = &d
					c.setState(StateEarlyMedia)
				} else {
					c.setState(StateRinging)
				}
				if err := c.in.Progress(ctx, e.Ringing, early); err != nil {
					c.log.Warn("relay progress", "error", err)
				}
				if early != nil {
					c.connect(out)
				}
			case Answered:
				if farAnswered {
					continue
				}
				farAnswered = true
				dirs.party[out] = e.Answer.Direction
				if answered {
					c.connect(out)
					c.log.Info("far end answered (caller already answered)")
					c.startSupervision(ctx)
					continue
				}
				d := answerTo(offer, e.Answer)
				if _, err := c.in.Answer(ctx, d); err != nil {
					c.log.Warn("answer caller", "error", err)
					c.End(ctx, CauseOf(err))
					return err
				}
				dirs.conveyed[out] = d.Direction
				answered = true
				c.setState(StateAnswered)
				c.connect(out)
				c.log.Info("call answered")
				c.startSupervision(ctx)
			case Reoffer:
				if !farAnswered {
					// An UPDATE in the far end's early dialog (RFC
					// 3311): answered on its leg alone, never passed on.
					c.reofferLocal(ctx, out, c.in, e, dirs)
				} else {
					c.reoffer(ctx, out, c.in, e, dirs)
				}
				c.connect(out)
			case DTMF:
				c.relayDTMF(out, c.in, e)
			case Ended:
				if failOver && !farAnswered && FailsOver(e.Cause) {
					c.dropLeg(out)
					return &FailedOver{Cause: e.Cause}
				}
				c.End(ctx, e.Cause)
				return nil
			}

		case ev, ok := <-inEv:
			if !ok {
				inEv = nil
				continue
			}
			switch e := ev.(type) {
			case Reoffer:
				if !answered {
					// An UPDATE in the early dialog (RFC 3311), while the
					// caller hears early media: answered on the caller's
					// leg alone; the far end's leg is still being set up.
					if c.State() != StateEarlyMedia {
						e.Reply <- OfferReply{Err: &Cause{Code: 491, Reason: "Request Pending"}}
						continue
					}
					c.reofferLocal(ctx, c.in, out, e, dirs)
					// The far end's answer is fitted to the caller's
					// latest offer: the 200 keeps what the UPDATE agreed.
					offer = c.in.Offer()
					c.connect(out)
					continue
				}
				c.reoffer(ctx, c.in, out, e, dirs)
				c.connect(out)
			case DTMF:
				c.relayDTMF(c.in, out, e)
			case Ended:
				c.End(ctx, e.Cause)
				return nil
			}
		}
	}
}

// directions is what a bridge knows of its legs' media directions: as each
// party's SDP last said it (party), and the direction of each leg last
// carried to the other leg (conveyed). A missing entry is sendrecv.
type directions struct {
	party    map[Leg]media.Direction
	conveyed map[Leg]media.Direction
}

func newDirections() directions {
	return directions{party: map[Leg]media.Direction{}, conveyed: map[Leg]media.Direction{}}
}

// reoffer answers a re-offer from one leg on that leg, with that leg's own
// codecs (the offer, already limited to its trunk's): the other leg's codec
// when offered (media is relayed), else the one the leg uses now, else the
// first the switch can transcode. The other leg is re-offered only what
// must change for it: the offer's direction, when it differs from what it
// was last told (hold, resume), with its own codecs. A codec change needs
// nothing from it. The caller re-joins media after reoffer returns; the
// leg's socket uses the answer by then.
func (c *Call) reoffer(ctx context.Context, from, to Leg, r Reoffer, dirs directions) {
	c.reofferOn(ctx, from, to, r, dirs, false)
}

// reofferLocal answers a re-offer from one leg on that leg only: the other
// leg is not re-offered anything (it is not confirmed yet: an early dialog).
func (c *Call) reofferLocal(ctx context.Context, from, to Leg, r Reoffer, dirs directions) {
	c.reofferOn(ctx, from, to, r, dirs, true)
}

func (c *Call) reofferOn(ctx context.Context, from, to Leg, r Reoffer, dirs directions, local bool) {
	if r.Offer == nil {
		r.Reply <- OfferReply{Err: &Cause{Code: 488, Reason: "Offerless re-INVITE not supported"}}
		return
	}
	offer := r.Offer
	prefer := media.Description{Codecs: []media.Codec{to.Socket().Config().Audio, from.Socket().Config().Audio}}
	ans := answerTo(offer, prefer)
	if len(ans.Audio()) == 0 {
		r.Reply <- OfferReply{Err: &NotAcceptable}
		return
	}
	if offer.Direction != dirs.conveyed[from] && !local {
		c.log.Info("re-offering direction", "from", from.ID(), "to", to.ID(), "direction", offer.Direction.String())
		uctx, cancel := context.WithTimeout(ctx, reofferTimeout)
		got, err := to.Update(uctx, media.Description{Direction: offer.Direction})
		cancel()
		if err != nil {
			cause := CauseOf(err)
			r.Reply <- OfferReply{Err: &cause}
			return
		}
		dirs.party[to] = got.Direction
		dirs.conveyed[from] = offer.Direction
	}
	// The switch sends to this leg what the other leg's party sends, and
	// takes what the other leg's party takes.
	ans.Direction = dirs.party[to].AnswerTo(offer.Direction)
	ans.Ptime, ans.RTCPMux = 20, offer.RTCPMux
	dirs.party[from] = offer.Direction
	c.log.Info("answering re-offer", "leg", from.ID(), "codec", ans.Audio()[0].Name, "direction", ans.Direction.String())
	r.Reply <- OfferReply{Answer: ans}
	if r.Applied == nil {
		return
	}
	t := time.NewTimer(reofferTimeout)
	defer t.Stop()
	select {
	case <-r.Applied:
	case <-c.done:
	case <-ctx.Done():
	case <-t.C:
		c.log.Warn("leg did not apply its re-offer's answer", "leg", from.ID())
	}
}

// answerTo fits ans, produced by the far leg, as an answer to offer from the
// near leg. The direction never exceeds what the offer allows (a sendonly
// offer is never answered sendrecv). Codecs: when the far leg's audio codec
// is one the near leg offered, the answer keeps it, with the near leg's
// payload type numbers, and media is relayed; otherwise the answer takes the
// first codec of the offer the switch can transcode, and media is
// transcoded. Telephone-event follows at the chosen codec's clock rate when
// the offer has it. With no offer (late offer) ans is used as it is and the
// near leg completes it with its own codecs.
func answerTo(offer *media.Description, ans media.Description) media.Description {
	out := ans.Clone()
	if offer == nil {
		return out
	}
	out.Direction = ans.Direction.AnswerTo(offer.Direction)
	out.Codecs = nil
	var chosen *media.Codec
	for _, a := range ans.Audio() {
		for _, o := range offer.Audio() {
			if o.Is(a.Name) && o.ClockRate == a.ClockRate {
				chosen = &o
				break
			}
		}
		if chosen != nil {
			break
		}
	}
	if chosen == nil {
		for _, o := range offer.Audio() {
			if media.Transcodable(o) {
				chosen = &o
				break
			}
		}
	}
	if chosen == nil {
		return out // no audio codec: the near leg refuses it (488)
	}
	out.Codecs = append(out.Codecs, *chosen)
	for _, o := range offer.Codecs {
		if o.Is("telephone-event") && o.ClockRate == chosen.ClockRate {
			out.Codecs = append(out.Codecs, o)
			break
		}
	}
	return out
}
