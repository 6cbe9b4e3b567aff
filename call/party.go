package call

import (
	"context"
	"errors"
	"log/slog"
	"slices"
	"sync"

	"github.com/switchboard-voice/switchboard/media"
	"github.com/switchboard-voice/switchboard/media/audio"
)

// Music is what the switch plays to the anchor while no party's media
// reaches it (hold music, transfer music). New makes a Source of PCM at
// rate, which the call paces; it is called each time the music starts. The
// call tells one Music from another by pointer: the same *Music playing
// when media is re-joined keeps playing, uninterrupted.
type Music struct {
	New func(rate int) audio.Source
}

// cmdKind says what a command asks of the bridge loop.
type cmdKind int

const (
	cmdHold    cmdKind = iota // hold or resume a leg
	cmdRelease                // the party leaves; the call stays up
	cmdJoin                   // an answered leg becomes the party
	cmdDial                   // place a leg as the party
)

// command is a request to the bridge loop, the call's one owner; reply has
// room for the one answer.
type command struct {
	kind   cmdKind
	leg    Leg
	on     bool
	music  *Music // hold: the anchor's music while leg is held; release, dial: until a party joins
	cause  Cause
	dialer Dialer
	req    DialRequest
	place  PlaceOptions
	reply  chan error
	// internal: the loop's own re-offer (the caller resumed after its
	// party left), not a hold anyone asked for.
	internal bool
}

// errNotBridged refuses a command for a leg the running bridge does not join.
var errNotBridged = errors.New("call: the leg is not bridged in this call")

// errPartyPresent refuses a party while another is joined (or the anchor is
// not answered yet).
var errPartyPresent = errors.New("call: a party is already joined")

// do hands cmd to the bridge loop and waits for its outcome. It waits for a
// bridge to run, or for the call or ctx to end; once the loop has taken the
// command it always replies (at once, when the leg answers, or ErrEnded
// when the call ends first), and the caller learns the outcome of what may
// already be on the wire, not ctx's.
func (c *Call) do(ctx context.Context, cmd command) error {
	cmd.reply = make(chan error, 1)
	select {
	case c.cmds <- cmd:
	case <-c.done:
		return ErrEnded
	case <-ctx.Done():
		return ctx.Err()
	}
	return <-cmd.reply
}

// Hold puts one of the call's bridged legs on hold (on: the switch
// re-offers it inactive, so its media stops both ways) or takes it off (it
// is re-offered what the other leg's party last asked for: sendrecv, or
// sendonly while that party holds). The bridge is the one owner of its
// legs' directions: a hold the switch places and the parties' own re-offers
// are combined there, never by two writers.
func (c *Call) Hold(ctx context.Context, leg Leg, on bool) error {
	return c.HoldWith(ctx, leg, on, nil)
}

// HoldWith is Hold with music: while the switch holds the party, the anchor
// hears music instead of silence (and its own re-offers are answered as if
// the switch were its party).
func (c *Call) HoldWith(ctx context.Context, leg Leg, on bool, music *Music) error {
	return c.do(ctx, command{kind: cmdHold, leg: leg, on: on, music: music})
}

// Release takes the party leg out of the call without ending it: leg is
// hung up with cause, and the anchor hears feed (or silence) until another
// party joins (Join, DialParty).
func (c *Call) Release(ctx context.Context, leg Leg, cause Cause, feed *Music) error {
	return c.do(ctx, command{kind: cmdRelease, leg: leg, cause: cause, music: feed})
}

// Join makes leg, already answered (an agent's), the call's party: media is
// joined to the anchor at once. The anchor's own hold is not passed on to
// it: its party hears silence.
func (c *Call) Join(ctx context.Context, leg Leg) error {
	return c.do(ctx, command{kind: cmdJoin, leg: leg})
}

// DialParty places a leg with d and r as the call's party, while the call
// has none, and returns once it answered and joined (nil) or failed (its
// Cause); the call stays up either way. While it rings the anchor hears
// feed (nil: what it heard), or the party's early media once it sends any.
func (c *Call) DialParty(ctx context.Context, d Dialer, r DialRequest, feed *Music) error {
	return c.Place(ctx, d, r, PlaceOptions{Feed: feed})
}

// PlaceOptions say how Place places a party.
type PlaceOptions struct {
	// Feed plays to the anchor while the party is placed without early
	// media (nil: what it heard), such as transfer music.
	Feed *Music
	// Ringback, if set, replaces Feed from the party's first ringing
	// (a 180 without early media): a ringback tone.
	Ringback *Music
	// Progress, if set, is told the party's progress (ringing, early
	// media) on the bridge loop: it must not block.
	Progress func(Progress)
	// Anchor: once the party answers it becomes the call's anchor and the
	// anchor its party. An agent's leg places a customer this way, and the
	// call then is as if the customer had called the agent.
	Anchor bool
}

// Place is DialParty with options. Until the party answers, its early
// media reaches the anchor and nothing of the anchor reaches it.
func (c *Call) Place(ctx context.Context, d Dialer, r DialRequest, o PlaceOptions) error {
	return c.do(ctx, command{kind: cmdDial, dialer: d, req: r, music: o.Feed, place: o})
}

// ReferPlan is how a REFER's target is reached: the leg to place, and what
// the anchor hears while it rings.
type ReferPlan struct {
	Dialer  Dialer
	Request DialRequest
	Music   *Music
}

// ReferHandler decides a REFER from a party: the plan to reach its target,
// or an error (a Cause: 403 for a number not allowed, say) that the party is
// told in the subscription's final NOTIFY.
type ReferHandler func(ctx context.Context, c *Call, from Leg, r Refer) (ReferPlan, error)

// OnRefer sets how the call answers its parties' REFERs; without a handler
// they are declined (603).
func (c *Call) OnRefer(h ReferHandler) {
	c.mu.Lock()
	c.onRefer = h
	c.mu.Unlock()
}

// referTarget plans and places the target of r, a REFER from referrer,
// and returns its leg and what the other party hears while it rings; when
// it cannot (refused, no route, the dial failed) it tells the REFER's
// sender why and returns a nil leg.
func (c *Call) referTarget(ctx context.Context, referrer Leg, r Refer) (Leg, *Music) {
	pl, err := c.referPlan(ctx, referrer, r)
	if err != nil {
		cause := CauseOf(err)
		c.log.Info("REFER refused", "leg", referrer.ID(), "target", r.Target, "cause", cause.String())
		r.Notify(cause.Code, cause.Reason)
		return nil, nil
	}
	leg, cause := c.place(ctx, pl.Dialer, pl.Request)
	if cause != nil {
		r.Notify(cause.Code, cause.Reason)
		return nil, nil
	}
	return leg, pl.Music
}

func (c *Call) referPlan(ctx context.Context, from Leg, r Refer) (ReferPlan, error) {
	c.mu.Lock()
	h := c.onRefer
	c.mu.Unlock()
	if h == nil {
		return ReferPlan{}, Cause{Code: 603, Reason: "Decline"}
	}
	pl, err := h(ctx, c, from, r)
	if err == nil && pl.Dialer == nil {
		err = Cause{Code: 603, Reason: "Decline"}
	}
	return pl, err
}

// placement is a party being placed: DialParty's caller, or a REFER's
// subscription, learns its outcome.
type placement struct {
	reply chan error // DialParty's
	refer *Refer     // a REFER's
	// onProgress, ringback and anchor are Place's options.
	onProgress func(Progress)
	ringback   *Music
	anchor     bool
}

func (pl *placement) progress(e Progress, log *slog.Logger) {
	if pl.refer != nil && e.Ringing {
		pl.refer.Notify(180, "Ringing")
	}
	if pl.onProgress != nil {
		pl.onProgress(e)
	}
	log.Info("party progress", "ringing", e.Ringing, "early_media", e.Early != nil)
}

func (pl *placement) succeed() {
	if pl.reply != nil {
		pl.reply <- nil
	}
	if pl.refer != nil {
		pl.refer.Notify(200, "OK")
	}
}

// fail tells the placement's owner cause; a nil placement is a no-op.
func (pl *placement) fail(cause Cause) {
	if pl == nil {
		return
	}
	if pl.reply != nil {
		pl.reply <- cause
	}
	if pl.refer != nil {
		pl.refer.Notify(cause.Code, cause.Reason)
	}
}

// place dials a party for the running bridge: the anchor's offer when it
// has one (else the dialer offers its trunk's codecs).
func (c *Call) place(ctx context.Context, d Dialer, r DialRequest) (Leg, *Cause) {
	if c.Inbound() != nil && r.Offer == nil {
		r.Offer = c.Inbound().Offer()
	}
	r.CallID = c.ID()
	leg, err := d.Dial(ctx, r)
	if err != nil {
		cause := CauseOf(err)
		c.log.Info("placing a party failed", "to", r.To, "trunk", r.Trunk, "cause", cause.String())
		return nil, &cause
	}
	c.addLeg(leg)
	c.log.Info("placing a party", "to", r.To, "trunk", r.Trunk, "leg", leg.ID())
	return leg, nil
}

// addLeg records a leg of the call (End hangs it up, supervision watches it).
func (c *Call) addLeg(l Leg) {
	c.mu.Lock()
	if !slices.Contains(c.legs, l) {
		c.legs = append(c.legs, l)
	}
	c.mu.Unlock()
}

// hangupParted hangs up a leg that left the call, without holding up the
// loop (a BYE may wait for its response).
func (c *Call) hangupParted(ctx context.Context, l Leg, cause Cause) {
	c.mu.Lock()
	c.legs = slices.DeleteFunc(c.legs, func(x Leg) bool { return x == l })
	c.mu.Unlock()
	ctx = context.WithoutCancel(ctx)
	go func() {
		if err := l.Hangup(ctx, cause); err != nil {
			c.log.Debug("hang up parted leg", "leg", l.ID(), "error", err)
		}
	}()
}

// handleAside handles an event of a leg whose media is joined to no one
// (the anchor alone, a parked party): digits are noticed (the anchor's are
// gathered), a re-offer is answered from the leg's own stream, a REFER is
// declined.
func (c *Call) handleAside(l Leg, ev Event) {
	switch e := ev.(type) {
	case DTMF:
		if l == c.Anchor() {
			c.handleLocal(ev)
		}
	case Reoffer:
		if e.Offer == nil {
			e.Reply <- OfferReply{Err: &Cause{Code: 488, Reason: "Offerless re-INVITE not supported"}}
			return
		}
		answerAlone(e, media.Description{Direction: media.SendRecv, Ptime: 20, RTCPMux: e.Offer.RTCPMux,
			Codecs: []media.Codec{l.Socket().Config().Audio}})
	case Refer:
		e.Notify(491, "Request Pending")
	}
}

// feeder plays a *Music to the anchor: the music of a hold or transfer.
type feeder struct {
	mu     sync.Mutex
	src    *Music
	cancel context.CancelFunc
	done   chan struct{}
}

// startFeed plays src to the anchor, unless it already does; a nil src
// stops what plays. The anchor must have its codec (answered).
func (c *Call) startFeed(ctx context.Context, src *Music) {
	f := &c.feed
	f.mu.Lock()
	same := f.cancel != nil && src != nil && f.src == src
	f.mu.Unlock()
	if same {
		return
	}
	c.stopFeed()
	if src == nil || src.New == nil || c.PlayRate() == 0 {
		return
	}
	pctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	done := make(chan struct{})
	f.mu.Lock()
	f.src, f.cancel, f.done = src, cancel, done
	f.mu.Unlock()
	s := src.New(c.PlayRate())
	go func() {
		defer close(done)
		if err := c.Play(pctx, s); err != nil && !errors.Is(err, context.Canceled) && !errors.Is(err, ErrEnded) {
			c.log.Warn("music to the caller", "error", err)
		}
	}()
}

// stopFeed stops the music and waits until it has stopped, so that what
// joins next is not interleaved with it.
func (c *Call) stopFeed() {
	f := &c.feed
	f.mu.Lock()
	cancel, done := f.cancel, f.done
	f.src, f.cancel, f.done = nil, nil, nil
	f.mu.Unlock()
	if cancel != nil {
		cancel()
		<-done
	}
}

// unjoin stops the media bridge between the anchor and any party.
func (c *Call) unjoin() {
	c.mu.Lock()
	b := c.media
	c.media = nil
	c.mu.Unlock()
	if b != nil {
		b.Stop()
	}
}

// swapAnchor makes party the call's anchor (a REFER from the anchor hands
// the call to its party; a customer an agent called answers). Only the
// bridge loop calls it.
func (c *Call) swapAnchor(party Leg) {
	c.stopFeed()
	c.anchor.Store(&legRef{party})
}
