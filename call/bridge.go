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

// answerSettle bounds how long a caller's re-offer waits for the caller's
// Answer (whose ACK came before it) to be taken by the bridge.
const answerSettle = time.Second

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
	if c.Inbound() != nil {
		r.Offer = c.Inbound().Offer()
	}
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
	err = c.bridge(ctx, out, failOver, !r.KeepHold)
	var fo *FailedOver
	if errors.As(err, &fo) {
		fo.Trunk = r.Trunk
	}
	return err
}

// Run runs the call's bridge loop with no party yet, until the call ends:
// for a call anchored on a leg the switch already has (an agent's), whose
// party is then placed with Place. It returns when the call has ended.
func (c *Call) Run(ctx context.Context) error {
	if !c.pausePump() {
		return ErrEnded
	}
	defer c.resumePump()
	return c.bridge(ctx, nil, false, true)
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

// bridge is the call's signalling loop: the call's owner from the moment a
// party is dialled until the call ends. It joins the anchor (the caller) to
// one party at a time, out, which may leave (Release) while the call stays
// up, be replaced (Join, DialParty), or be parked while a REFER's target
// rings. With failOver, the first party's failure before it answers, when
// it FailsOver, returns a *FailedOver instead of ending the call.
//
// The loop never stops reading a leg while it waits for the other: a
// re-offer in progress (the other leg being re-offered its direction, then
// the offering leg applying the answer) is a state of the loop, pending,
// and its steps arrive as cases of the same select. While one is pending,
// a new re-offer from either leg is refused with 491 (RFC 3261 §14.2).
// Each leg's end is seen on its Done channel, never lost to a full event
// channel.
func (c *Call) bridge(ctx context.Context, first Leg, failOver, conveyHold bool) error {
	inEv := c.Anchor().Events()
	var offer *media.Description
	if c.Inbound() != nil {
		offer = c.Inbound().Offer()
	}
	// The switch may have answered the caller already (prompts, a queue):
	// then the far end's answer only connects the media, transcoding if the
	// codecs differ, and its early media is not relayed.
	answered := c.Inbound() == nil || c.State() == StateAnswered
	dirs := newDirections()
	if offer != nil {
		dirs.party[c.Anchor()], dirs.conveyed[c.Anchor()] = offer.Direction, offer.Direction
	}
	// The party: out, its events and end, whether it answered, whether
	// media may flow to it (early media or answered), whether the anchor's
	// own hold is passed on to it (a dialled far end: yes; an agent's leg
	// the switch joined: no, it just hears silence).
	var (
		out         Leg
		outEv       <-chan Event
		outDone     <-chan struct{}
		farAnswered bool
		joinable    bool
		convey      bool
	)
	setOut := func(l Leg, answeredAlready, conveyHold bool) {
		out, farAnswered, joinable, convey = l, answeredAlready, answeredAlready, conveyHold
		outEv, outDone = nil, nil
		if l != nil {
			outEv, outDone = l.Events(), l.Done()
		}
	}
	setOut(first, false, conveyHold)
	// A party being placed by DialParty or for a REFER: told the outcome
	// once it answers or fails. A REFER's sender waits parked meanwhile.
	var (
		placing    *placement
		parked     Leg
		parkedEv   <-chan Event
		parkedDone <-chan struct{}
	)
	setParked := func(l Leg) {
		parked, parkedEv, parkedDone = l, nil, nil
		if l != nil {
			parkedEv, parkedDone = l.Events(), l.Done()
		}
	}
	// feed plays to the anchor while no party's media is joined to it;
	// music plays while the switch holds the party with music.
	var feed, music *Music
	var p *pendingReoffer
	var holds []command // waiting for p to end
	// rejoin rebuilds the anchor's media after every change: joined to the
	// party when there is one whose media may flow and that the switch does
	// not hold with music; otherwise fed by the player (or silent).
	rejoin := func() {
		if out != nil && joinable && !(dirs.held[out] && music != nil) {
			c.stopFeed()
			// A party being placed sends its early media to the
			// anchor, and hears nothing of it until it answers.
			c.connect(out, placing != nil && !farAnswered)
			return
		}
		c.unjoin()
		src := feed
		if out != nil && dirs.held[out] {
			src = music
		}
		c.startFeed(ctx, src)
	}
	// answering: the caller's Answer in flight. A SIP caller's waits for
	// its ACK (and PRACK), up to 64·T1: the loop reads both legs meanwhile,
	// and refuses re-offers with 491 until the caller's dialog is confirmed.
	var answering <-chan error
	// callerAnswered takes the outcome of the caller's Answer; an error
	// ends the call and is returned.
	callerAnswered := func(err error) error {
		answering = nil
		if err != nil {
			c.log.Warn("answer caller", "error", err)
			c.End(context.WithoutCancel(ctx), CauseOf(err))
			return err
		}
		answered = true
		c.setState(StateAnswered)
		rejoin()
		c.log.Info("call answered")
		c.startSupervision(ctx)
		return nil
	}
	// answerSettled reports whether the caller's Answer is over, taking its
	// outcome when it is ready or within wait. The caller's re-offer comes
	// once its dialog is confirmed (its ACK came, so Answer is returning),
	// and must not lose that race to a goroutine not yet scheduled: it
	// waits up to answerSettle; the far end's does not wait.
	answerSettled := func(wait time.Duration) (bool, error) {
		if answering == nil {
			return true, nil
		}
		var timeout <-chan time.Time
		if wait > 0 {
			t := time.NewTimer(wait)
			defer t.Stop()
			timeout = t.C
		}
		select {
		case err := <-answering:
			return true, callerAnswered(err)
		case <-timeout:
			return false, nil
		default:
			if timeout == nil {
				return false, nil
			}
		}
		select {
		case err := <-answering:
			return true, callerAnswered(err)
		case <-timeout:
			return false, nil
		}
	}
	// referring: a REFER's target being planned and placed off the loop
	// (the plan may read the phone book or render speech): its outcome
	// arrives as a case of the loop.
	var referring chan referred
	// refer plans and places the target of e, a REFER from referrer.
	refer := func(referrer Leg, e Refer, fromAnchor bool) {
		ch := make(chan referred, 1)
		referring = ch
		go func() {
			leg, music := c.referTarget(ctx, referrer, e)
			ch <- referred{leg: leg, music: music, referrer: referrer, refer: e, fromAnchor: fromAnchor}
		}()
	}
	defer func() {
		p.stop()
		for _, h := range holds {
			h.reply <- ErrEnded
		}
		if ch := referring; ch != nil {
			// A target placed after the call ended is hung up.
			go func() {
				if rd := <-ch; rd.leg != nil {
					rd.refer.Notify(487, "Request Terminated")
					c.hangupParted(ctx, rd.leg, Normal)
				}
			}()
		}
		placing.fail(Cause{Code: 487, Reason: "Call ended"})
		c.stopFeed()
		if parked != nil {
			// A REFER's sender waiting for its target, on any way out.
			c.hangupParted(ctx, parked, Normal)
		}
	}()
	// hold starts h, a hold or resume of out or of the anchor; the anchor
	// hears h's music while the switch holds out.
	hold := func(h command) *pendingReoffer {
		if h.on && h.leg == out {
			music = h.music
		}
		return c.startHold(ctx, h, out, dirs)
	}
	// settle moves the loop on after a step of a re-offer or hold: when it
	// is over, media is re-joined with what each leg now uses, and the next
	// hold waiting starts.
	var settle func(next *pendingReoffer)
	settle = func(next *pendingReoffer) {
		p = next
		if p != nil {
			return
		}
		rejoin()
		if len(holds) > 0 {
			h := holds[0]
			holds = holds[1:]
			if out == nil || (h.leg != out && h.leg != c.Anchor()) {
				h.reply <- errNotBridged
				settle(nil)
				return
			}
			settle(hold(h))
		}
	}
	// leave takes out away from the anchor (released, failed, parked):
	// what is pending with it is dropped and the anchor is fed.
	leave := func() {
		p.stop()
		p = nil
		for _, h := range holds {
			h.reply <- errNotBridged
		}
		holds = nil
		c.dropLeg(out)
		// The party that leaves may have put the caller on hold (its
		// sendonly re-offer passed on): the caller is re-offered sendrecv,
		// to hear the music and whoever joins next.
		told, conveyed := dirs.conveyed[out]
		delete(dirs.held, out)
		delete(dirs.party, out)
		delete(dirs.conveyed, out)
		delete(dirs.music, out)
		setOut(nil, false, false)
		music = nil
		rejoin()
		if conveyed && told != media.SendRecv && !dirs.held[c.Anchor()] {
			c.log.Info("the party that left had held the caller: the caller is resumed", "direction", told.String())
			resume := command{kind: cmdHold, leg: c.Anchor(), reply: make(chan error, 1), internal: true}
			p = &pendingReoffer{to: c.Anchor(), hold: &resume}
			c.update(ctx, p, c.Anchor(), media.SendRecv)
		}
	}
	// placed ends a placement: the party answered (cause nil) and is
	// joined, or failed and is gone; a parked REFER sender is hung up or
	// joined back.
	placed := func(cause *Cause) {
		pl := placing
		placing = nil
		if cause == nil {
			pl.succeed()
			if parked != nil {
				c.hangupParted(ctx, parked, Normal)
				setParked(nil)
			}
			rejoin()
			return
		}
		pl.fail(*cause)
		if parked != nil {
			c.log.Info("transfer failed: the party is joined back", "leg", parked.ID(), "cause", cause.String())
			c.addLeg(parked)
			setOut(parked, true, true)
			setParked(nil)
		}
		rejoin()
	}
	// settleApplied ends p when its offering leg has applied the answer
	// already: the leg sends its final response right after, and the
	// party's next re-offer may reach the loop before the applied case is
	// chosen (select picks among ready cases at random); it must not get
	// 491 for an offer that is over.
	settleApplied := func() {
		if p == nil || p.applied == nil {
			return
		}
		select {
		case <-p.applied:
			p.stop()
			settle(nil)
		default:
		}
	}
	for {
		var updated <-chan updateResult
		var applied <-chan struct{}
		var expired <-chan time.Time
		if p != nil {
			updated, applied = p.updated, p.applied
			if p.timer != nil {
				expired = p.timer.C
			}
		}
		select {
		case <-ctx.Done():
			c.End(context.WithoutCancel(ctx), Shutdown)
			return ctx.Err()

		case <-c.done:
			// Ended outside the loop (the ACD for an agent's hang-up,
			// media supervision): End hung up the legs it had; out too.
			if out != nil {
				_ = out.Hangup(context.WithoutCancel(ctx), Normal)
			}
			if parked != nil {
				_ = parked.Hangup(context.WithoutCancel(ctx), Normal)
			}
			return nil

		case <-c.Anchor().Done():
			p.stop() // before End: no Update on out overlaps its Hangup
			p = nil
			if parked != nil {
				c.addLeg(parked) // End hangs it up
			}
			c.End(context.WithoutCancel(ctx), c.Anchor().Cause())
			return nil

		case <-parkedDone:
			// A REFER's sender hung up while its target rings (many do,
			// once the REFER is accepted): the transfer goes on, and a
			// failure then ends the call.
			c.log.Info("the transferring party left", "leg", parked.ID())
			setParked(nil)

		case rd := <-referring:
			referring = nil
			if rd.leg == nil {
				continue // refused or not placed: its sender was told
			}
			// The call may have moved on while the target was placed: the
			// referrer must still hold its place, with no other party
			// being placed.
			still := placing == nil && parked == nil && out != nil && farAnswered && !dirs.held[out]
			if rd.fromAnchor {
				still = still && rd.referrer == c.Anchor() && p == nil
			} else {
				still = still && rd.referrer == out
			}
			if !still {
				c.log.Info("REFER target placed after the call moved on: hung up", "target", rd.refer.Target)
				rd.refer.Notify(487, "Request Terminated")
				c.hangupParted(ctx, rd.leg, Normal)
				continue
			}
			e := rd.refer
			feed = rd.music
			if rd.fromAnchor {
				// The anchor's party asks to be replaced by the target:
				// the party joined now becomes the anchor (it stays in
				// the call), the REFER's sender is parked, and the
				// target is placed as the party, as for a party's REFER.
				c.log.Info("REFER from the anchor: its party becomes the anchor", "from", rd.referrer.ID(),
					"anchor", out.ID(), "to", rd.leg.ID(), "target", e.Target)
				party := out
				for _, h := range holds {
					h.reply <- errNotBridged
				}
				holds = nil
				c.unjoin()
				c.swapAnchor(party)
				inEv = party.Events()
				c.dropLeg(rd.referrer)
			} else {
				c.log.Info("REFER: transferring", "from", out.ID(), "to", rd.leg.ID(), "target", e.Target)
				leave()
			}
			setParked(rd.referrer)
			setOut(rd.leg, false, true)
			placing = &placement{refer: &e} // the leg sent 100 Trying already
			rejoin()

		case ev := <-parkedEv:
			c.handleAside(parked, ev)

		case <-outDone:
			if c.isEnding() {
				// End hung out up: the call is over, not failed over.
				return nil
			}
			cause := out.Cause()
			if placing != nil && !farAnswered {
				c.log.Info("party failed", "leg", out.ID(), "cause", cause.String())
				refer := placing.refer != nil
				leave()
				placed(&cause)
				if refer && out == nil {
					// A REFER's target failed and its sender hung up
					// meanwhile: nobody is left to talk to. A party
					// DialParty placed fails back to its caller (the
					// ACD rings the transferring agent again), and the
					// call stays up.
					c.End(ctx, cause)
					return nil
				}
				continue
			}
			p.stop()
			p = nil
			if failOver && !farAnswered && FailsOver(cause) {
				c.dropLeg(out)
				return &FailedOver{Cause: cause}
			}
			c.End(ctx, cause)
			return nil

		case cmd := <-c.cmds:
			switch cmd.kind {
			case cmdHold:
				switch {
				case out == nil || (cmd.leg != out && cmd.leg != c.Anchor()):
					cmd.reply <- errNotBridged
				case !farAnswered || !answered:
					cmd.reply <- Cause{Code: 491, Reason: "Request Pending"}
				case p != nil:
					holds = append(holds, cmd)
				default:
					settle(hold(cmd))
				}
			case cmdRelease:
				if out == nil || cmd.leg != out || placing != nil {
					cmd.reply <- errNotBridged
					continue
				}
				c.log.Info("party leaves the call", "leg", out.ID(), "cause", cmd.cause.String())
				gone := out
				feed = cmd.music
				leave()
				c.hangupParted(ctx, gone, cmd.cause)
				cmd.reply <- nil
			case cmdJoin:
				if out != nil || !answered {
					cmd.reply <- errPartyPresent
					continue
				}
				c.addLeg(cmd.leg)
				setOut(cmd.leg, true, false)
				c.log.Info("party joins the call", "leg", cmd.leg.ID())
				rejoin()
				cmd.reply <- nil
			case cmdDial:
				if out != nil || !answered {
					cmd.reply <- errPartyPresent
					continue
				}
				leg, cause := c.place(ctx, cmd.dialer, cmd.req)
				if cause != nil {
					cmd.reply <- *cause
					continue
				}
				if cmd.music != nil {
					feed = cmd.music
				}
				if cmd.place.Anchor {
					// The call is the party's (a customer an agent calls):
					// answered when it answers, to and from its numbers.
					c.mu.Lock()
					c.record.Answer, c.record.OutTrunk = time.Time{}, cmd.req.Trunk
					c.record.From, c.record.To = cmd.req.From.Number, cmd.req.To
					c.mu.Unlock()
				}
				setOut(leg, false, true)
				placing = &placement{reply: cmd.reply, onProgress: cmd.place.Progress, ringback: cmd.place.Ringback,
					anchor: cmd.place.Anchor}
				rejoin()
			}

		case res := <-updated:
			settle(c.reofferUpdated(p, res, dirs))

		case <-applied:
			p.stop()
			settle(nil)

		case <-expired:
			c.log.Warn("leg did not apply its re-offer's answer", "leg", p.from.ID())
			p.stop()
			settle(nil)

		case ev := <-outEv:
			switch e := ev.(type) {
			case Progress:
				if answered {
					// A party placed for a transfer: its early media (a
					// network's tones, announcements) replaces the music.
					if placing != nil && !farAnswered {
						placing.progress(e, c.log)
						switch {
						case e.Early != nil && !joinable:
							joinable = true
							rejoin()
						case e.Ringing && placing.ringback != nil && feed != placing.ringback:
							feed = placing.ringback
							rejoin()
						}
					}
					continue
				}
				var early *media.Description
				if e.Early != nil {
					offer = c.Inbound().Offer() // the caller's latest: an early UPDATE's
					d := answerTo(offer, *e.Early)
					early = &d
					c.setState(StateEarlyMedia)
				} else {
					c.setState(StateRinging)
				}
				if err := c.Inbound().Progress(ctx, e.Ringing, early); err != nil {
					c.log.Warn("relay progress", "error", err)
				}
				if early != nil {
					joinable = true
					rejoin()
				}
			case Answered:
				if farAnswered {
					continue
				}
				farAnswered, joinable = true, true
				dirs.party[out] = e.Answer.Direction
				if answered {
					c.log.Info("far end answered (caller already answered)", "leg", out.ID())
					if placing != nil && placing.anchor {
						// The placed party is the customer: it becomes
						// the anchor, and the leg that placed it (an
						// agent's) its party, as if the customer had
						// called in.
						party, old := out, c.Anchor()
						c.log.Info("the answered party becomes the anchor", "anchor", party.ID(), "party", old.ID())
						c.unjoin()
						c.swapAnchor(party)
						c.setState(StateAnswered) // the call's answer time
						inEv = party.Events()
						setOut(old, true, false)
						delete(dirs.conveyed, party)
					}
					if placing != nil {
						placed(nil)
					} else {
						rejoin()
					}
					c.startSupervision(ctx)
					continue
				}
				offer = c.Inbound().Offer() // the caller's latest: an early UPDATE's
				d := answerTo(offer, e.Answer)
				dirs.conveyed[out] = d.Direction
				ch := make(chan error, 1) // the goroutine never waits for the loop
				answering = ch
				go func() {
					_, err := c.Inbound().Answer(ctx, d)
					ch <- err
				}()
			case Reoffer:
				settled, err := answerSettled(0)
				if err != nil {
					refusePending(e)
					return err
				}
				settleApplied()
				if p != nil || !settled {
					refusePending(e)
					continue
				}
				// Before the far end answers, its UPDATE (RFC 3311) is
				// answered on its own leg alone, never passed on.
				settle(c.startReoffer(ctx, out, c.Anchor(), e, dirs, !farAnswered))
			case DTMF:
				if farAnswered {
					c.relayDTMF(out, c.Anchor(), e)
				}
			case Refer:
				if placing != nil || parked != nil || referring != nil || !farAnswered || !answered || dirs.held[out] {
					e.Notify(491, "Request Pending")
					continue
				}
				refer(out, e, false)
			}

		case err := <-answering:
			if err := callerAnswered(err); err != nil {
				return err
			}

		case ev := <-inEv:
			if out == nil || (placing != nil && !farAnswered) {
				// No party is joined: the switch answers the caller alone.
				if r, ok := ev.(Refer); ok {
					r.Notify(603, "Decline")
					continue
				}
				c.handleAside(c.Anchor(), ev)
				continue
			}
			switch e := ev.(type) {
			case Reoffer:
				settled, err := answerSettled(answerSettle)
				if err != nil {
					refusePending(e)
					return err
				}
				settleApplied()
				if p != nil || !settled {
					refusePending(e)
					continue
				}
				if !answered {
					// An UPDATE in the early dialog (RFC 3311), while the
					// caller hears early media: answered on the caller's
					// leg alone; the far end's leg is still being set up.
					if c.State() != StateEarlyMedia {
						refusePending(e)
						continue
					}
					// The far end's answer is fitted to the caller's latest
					// offer (offer is re-read when it answers): the 200
					// keeps what the UPDATE agreed.
					settle(c.startReoffer(ctx, c.Anchor(), out, e, dirs, true))
					continue
				}
				// The caller's own hold is passed on to a far end, never
				// to a party the switch joined (an agent hears silence).
				settle(c.startReoffer(ctx, c.Anchor(), out, e, dirs, !convey))
			case DTMF:
				c.relayDTMF(c.Anchor(), out, e)
			case Refer:
				// The anchor's party asks to be replaced by the target:
				// the party joined now becomes the anchor (it stays in
				// the call), the REFER's sender is parked, and the
				// target is placed as the party, as for a party's REFER.
				if placing != nil || parked != nil || referring != nil || !farAnswered || !answered || dirs.held[out] || p != nil {
					e.Notify(491, "Request Pending")
					continue
				}
				refer(c.Anchor(), e, true)
			}
		}
	}
}

// referred is a REFER's target placed off the bridge loop (nil leg: the
// REFER was refused or the target not placed, and its sender told).
type referred struct {
	leg        Leg
	music      *Music
	referrer   Leg
	refer      Refer
	fromAnchor bool
}

// refusePending answers a re-offer the bridge cannot take now (another is
// in progress, or the dialog is not ready for it) with 491.
func refusePending(r Reoffer) {
	r.Reply <- OfferReply{Err: &Cause{Code: 491, Reason: "Request Pending"}}
}

// isEnding reports whether End has begun (it hangs the legs up before it
// closes done).
func (c *Call) isEnding() bool { return c.State() == StateEnded }

// directions is what a bridge knows of its legs' media directions: as each
// party's SDP last said it (party), and the direction of each leg last
// carried to the other leg (conveyed). A missing entry is sendrecv.
//
// held marks the legs the switch holds (Hold): such a leg stays inactive
// whatever the other party asks, and on resume it is re-offered what the
// other leg's party last asked for (conveyed).
//
// music marks the held legs whose other party hears music meanwhile: the
// switch, not that leg's party, is then what the other party talks to.
type directions struct {
	party    map[Leg]media.Direction
	conveyed map[Leg]media.Direction
	held     map[Leg]bool
	music    map[Leg]bool
}

func newDirections() directions {
	return directions{party: map[Leg]media.Direction{}, conveyed: map[Leg]media.Direction{},
		held: map[Leg]bool{}, music: map[Leg]bool{}}
}

// told is the direction leg was last offered by the switch: inactive while
// the switch holds it, else what the other leg's party asked for.
func (d directions) told(leg, other Leg) media.Direction {
	if d.held[leg] {
		return media.Inactive
	}
	if dir, ok := d.conveyed[other]; ok {
		return dir
	}
	return media.SendRecv
}

// pendingReoffer is a re-offer from one leg the bridge is answering, in one
// of two steps: the other leg is being re-offered its new direction
// (updated, fed by a goroutine running to.Update), or the answer is sent
// and the offering leg is applying it to its socket (applied, bounded by
// timer).
type pendingReoffer struct {
	from, to Leg
	r        Reoffer
	hold     *command // a hold the switch places on to, instead of a re-offer from from
	ans      media.Description
	updated  chan updateResult
	cancel   context.CancelFunc // the update's context
	applied  <-chan struct{}
	timer    *time.Timer
}

type updateResult struct {
	got media.Description
	err error
}

// stop releases what p holds: the update's context (a leg still being
// re-offered is told to give up) and the timer. A re-offer not answered
// yet is refused (487: the bridge ends under it), so that its leg's
// transaction ends now. A nil p is a no-op.
func (p *pendingReoffer) stop() {
	if p == nil {
		return
	}
	if p.updated != nil {
		p.updated = nil
		if p.hold != nil {
			p.hold.reply <- ErrEnded
		} else {
			p.r.Reply <- OfferReply{Err: &Cancelled}
		}
	}
	if p.cancel != nil {
		p.cancel()
	}
	if p.timer != nil {
		p.timer.Stop()
	}
}

// startReoffer answers a re-offer from one leg on that leg, with that
// leg's own codecs (the offer, already limited to its trunk's): the other
// leg's codec when offered (media is relayed), else the one the leg uses
// now, else the first the switch can transcode. The other leg is re-offered
// only what must change for it: the offer's direction, when it differs
// from what it was last told (hold, resume), with its own codecs; local
// (an early dialog, the other leg not confirmed yet) re-offers it nothing.
// A codec change needs nothing from it.
//
// It returns the re-offer still pending (the bridge loop carries on with
// it), or nil when it is over: refused, or answered on a leg that reports
// no Applied. The loop re-joins media when it is over.
func (c *Call) startReoffer(ctx context.Context, from, to Leg, r Reoffer, dirs directions, local bool) *pendingReoffer {
	if r.Offer == nil {
		r.Reply <- OfferReply{Err: &Cause{Code: 488, Reason: "Offerless re-INVITE not supported"}}
		return nil
	}
	offer := r.Offer
	prefer := media.Description{Codecs: []media.Codec{to.Socket().Config().Audio, from.Socket().Config().Audio}}
	ans := answerTo(offer, prefer)
	if len(ans.Audio()) == 0 {
		r.Reply <- OfferReply{Err: &NotAcceptable}
		return nil
	}
	p := &pendingReoffer{from: from, to: to, r: r, ans: ans}
	if offer.Direction != dirs.conveyed[from] && !local {
		if dirs.held[to] || dirs.music[to] {
			// The switch holds the other leg: it stays inactive, and is
			// offered this direction when it is resumed.
			dirs.conveyed[from] = offer.Direction
			return c.answerReoffer(p, dirs)
		}
		c.log.Info("re-offering direction", "from", from.ID(), "to", to.ID(), "direction", offer.Direction.String())
		c.update(ctx, p, to, offer.Direction)
		return p
	}
	return c.answerReoffer(p, dirs)
}

// update re-offers leg dir (with its own codecs) on a goroutine; the
// answer comes back to the bridge loop on p.updated.
func (c *Call) update(ctx context.Context, p *pendingReoffer, leg Leg, dir media.Direction) {
	uctx, cancel := context.WithTimeout(ctx, reofferTimeout)
	ch := make(chan updateResult, 1) // the goroutine never waits for the loop
	p.updated, p.cancel = ch, cancel
	go func() {
		got, err := leg.Update(uctx, media.Description{Direction: dir})
		ch <- updateResult{got: got, err: err}
	}()
}

// startHold holds or resumes h.leg: it is re-offered the direction it is
// now to have, when that changed. It returns the hold still pending, or
// nil when it is over (answered at once).
func (c *Call) startHold(ctx context.Context, h command, out Leg, dirs directions) *pendingReoffer {
	other := out
	if h.leg == out {
		other = c.Anchor()
	}
	if h.on && h.music != nil {
		dirs.music[h.leg] = true
	} else {
		delete(dirs.music, h.leg)
	}
	was := dirs.told(h.leg, other)
	dirs.held[h.leg] = h.on
	want := dirs.told(h.leg, other)
	if want == was {
		h.reply <- nil
		return nil
	}
	c.log.Info("switch re-offers a leg for hold", "leg", h.leg.ID(), "hold", h.on, "direction", want.String())
	p := &pendingReoffer{to: h.leg, hold: &h}
	c.update(ctx, p, h.leg, want)
	return p
}

// reofferUpdated takes the other leg's answer to the direction it was
// re-offered, and answers the pending re-offer.
func (c *Call) reofferUpdated(p *pendingReoffer, res updateResult, dirs directions) *pendingReoffer {
	p.cancel()
	p.updated, p.cancel = nil, nil
	if h := p.hold; h != nil {
		if res.err != nil {
			if !h.internal {
				dirs.held[p.to] = !h.on // the leg's party did not take it
				if h.on {
					delete(dirs.music, p.to)
				}
			}
			c.log.Warn("hold re-offer failed", "leg", p.to.ID(), "hold", h.on, "error", res.err)
			h.reply <- res.err
			return nil
		}
		dirs.party[p.to] = res.got.Direction
		h.reply <- nil
		return nil
	}
	if res.err != nil {
		cause := CauseOf(res.err)
		c.log.Warn("re-offer to the other leg failed", "from", p.from.ID(), "to", p.to.ID(), "cause", cause.String())
		p.r.Reply <- OfferReply{Err: &cause}
		return nil
	}
	dirs.party[p.to] = res.got.Direction
	dirs.conveyed[p.from] = p.r.Offer.Direction
	return c.answerReoffer(p, dirs)
}

// answerReoffer sends the answer to the offering leg; the re-offer stays
// pending until the leg's socket uses it (Applied), bounded by
// reofferTimeout.
func (c *Call) answerReoffer(p *pendingReoffer, dirs directions) *pendingReoffer {
	offer, ans := p.r.Offer, p.ans
	// The switch sends to this leg what the other leg's party sends, and
	// takes what the other leg's party takes.
	ans.Direction = dirs.party[p.to].AnswerTo(offer.Direction)
	if dirs.music[p.to] {
		// The other leg is held and this one hears music: the switch
		// sends, whatever that leg's party said.
		ans.Direction = media.SendRecv.AnswerTo(offer.Direction)
	}
	if dirs.held[p.from] {
		// The switch holds this leg: its own re-offer (a refresh with
		// sendrecv, say) does not take it off hold.
		ans.Direction = media.Inactive
	}
	ans.Ptime, ans.RTCPMux = 20, offer.RTCPMux
	dirs.party[p.from] = offer.Direction
	c.log.Info("answering re-offer", "leg", p.from.ID(), "codec", ans.Audio()[0].Name, "direction", ans.Direction.String())
	p.r.Reply <- OfferReply{Answer: ans}
	if p.r.Applied == nil {
		return nil
	}
	p.applied = p.r.Applied
	p.timer = time.NewTimer(reofferTimeout)
	return p
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
