package acd

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/switchboard-voice/switchboard/call"
	"github.com/switchboard-voice/switchboard/store"
)

type entryState int

const (
	stWaiting      entryState = iota // in the queue, not offered
	stOffered                        // ringing an agent
	stAnswering                      // the agent answered; its media is being attached
	stConnected                      // the agent has the call
	stTransferring                   // a transfer released the agent; its target is not ringing yet
	stExternal                       // a transfer's external leg rings
	stDone                           // ended or left
)

// entry is a caller the ACD handles, from Enqueue to the end of its call.
type entry struct {
	id    string
	c     Caller
	q     *queue
	party call.Party
	kind  string
	prio  int
	enq   time.Time
	seq   uint64
	state entryState
	agent *agent
	// tried are the agents that declined or missed this call.
	tried     map[string]bool
	conv      string
	rec       store.CallRecord
	found     chan call.Assignment
	stop      chan struct{} // closed when the entry is done
	leg       call.Leg
	answered  time.Time
	onHold    bool
	holdBusy  bool
	heldAt    time.Time     // when the hold under way started
	heldTotal time.Duration // time on hold so far
	// transfer is the blind transfer under way, if any; bridged says the
	// call's bridge runs (an agent had it): a new agent's leg then joins the
	// call directly instead of through the Ticket.
	transfer *transfer
	bridged  bool
	// endedBy says who ended a connected call ("agent" when the agent hung
	// up through Hangup).
	endedBy string
	// out is an outbound call's (kind outbound or callback) dialling;
	// cbID the callback request it serves; late: an automated callback of
	// priority inbound_first, served after every inbound caller.
	out   *outbound
	cbID  string
	late  bool
	sched string // a callback's schedule: not offered while it is closed
}

func (e *entry) finish() {
	if e.state != stDone {
		e.state = stDone
		close(e.stop)
	}
}

// EnqueueOptions describe a caller beyond its call.
type EnqueueOptions struct {
	// Priority: higher is served first within the queue (default 0).
	Priority int
	// Type is shown with the offer: regular (default), transferred, callback.
	Type string
	// CustomerName is the name agents see; "" is the caller's display name.
	CustomerName string
}

// Ticket is a caller's place in a queue. The dialplan reaches it through its
// own Queues/Ticket interfaces.
type Ticket struct {
	a *ACD
	e *entry
}

// Found delivers the agent once one answers: the Assignment's Dialer hands
// back the agent's leg.
func (t *Ticket) Found() <-chan call.Assignment { return t.e.found }

// Leave takes the caller out of the queue (hang-up, response code, maximum
// wait): an offer ringing for it is withdrawn and its record says
// "abandoned". After the agent was found, Leave does nothing: the ACD follows
// the call until it ends. It is idempotent.
func (t *Ticket) Leave() {
	a, e := t.a, t.e
	now, err := a.begin()
	if err != nil {
		return
	}
	switch e.state {
	case stWaiting, stOffered, stAnswering:
		a.abandonLocked(e, now, "left")
	}
	a.end()
}

// LeaveFor takes the caller out of the queue for reason. A caller who
// requested a callback (reason "callback") is not abandoned: its record's
// result is callback, the queue does not count it in its abandon rate, and
// an offer ringing for it is withdrawn. Any other reason is Leave's. Like
// Leave, it does nothing once an agent has the call.
func (t *Ticket) LeaveFor(reason string) {
	if reason != resultCallback {
		t.Leave()
		return
	}
	a, e := t.a, t.e
	now, err := a.begin()
	if err != nil {
		return
	}
	defer a.end()
	switch e.state {
	case stWaiting, stOffered, stAnswering:
		a.leaveLocked(e, now, reason, resultCallback)
	}
}

// resultCallback closes the record of a caller who left its queue with a
// callback request.
const resultCallback = "callback"

// CallID is the call's id.
func (t *Ticket) CallID() string { return t.e.id }

// ConversationID is the conversation the call joined.
func (t *Ticket) ConversationID() string { return t.e.conv }

// Enqueue puts c in the queue named queue (a name or an id) with default
// options; see EnqueueWith.
func (a *ACD) Enqueue(ctx context.Context, queue string, c Caller) (*Ticket, error) {
	return a.EnqueueWith(ctx, queue, c, EnqueueOptions{})
}

// EnqueueWith puts c in a queue. The caller's number joins its conversation
// not Closed, or starts one; a call record is written. Assignment runs at
// once when the queue has automatic assignment on.
func (a *ACD) EnqueueWith(ctx context.Context, queue string, c Caller, o EnqueueOptions) (*Ticket, error) {
	switch o.Type {
	case "":
		o.Type = CallRegular
	case CallRegular, CallTransferred, CallCallback:
	default:
		return nil, invalid("type", "%q is not one of regular, transferred, callback", o.Type)
	}
	now, err := a.begin()
	if err != nil {
		return nil, err
	}
	defer a.end()
	q := a.lookupQueue(queue)
	if q == nil {
		return nil, fmt.Errorf("%w: queue %q", ErrNotFound, queue)
	}
	id := c.ID()
	if _, live := a.calls[id]; live {
		return nil, fmt.Errorf("%w: call %q is already handled", ErrState, id)
	}
	var party call.Party
	var trunk, to string
	if in := c.Inbound(); in != nil {
		party, trunk, to = in.From(), in.Trunk(), in.To().Number
	}
	if o.CustomerName != "" {
		party.Name = o.CustomerName
	}
	conv, joined, err := a.joinConversationLocked(ctx, party, q, now)
	if err != nil {
		return nil, err
	}
	a.seq++
	e := &entry{
		id: id, c: c, q: q, party: party, kind: o.Type, prio: o.Priority, enq: now, seq: a.seq,
		conv: conv.ID, found: make(chan call.Assignment, 1), stop: make(chan struct{}),
	}
	e.rec = store.CallRecord{
		ID: id, ConversationID: conv.ID, Queue: q.cfg.ID, Trunk: trunk, From: party.Number, To: to,
		Priority: o.Priority, Enqueued: now,
	}
	if err := a.st.PutCallRecord(ctx, e.rec); err != nil {
		return nil, fmt.Errorf("acd: store call record: %w", err)
	}
	a.addEvent(conv.ID, now, "queued", map[string]any{
		"call_id": id, "queue": q.cfg.Name, "priority": o.Priority, "type": o.Type})
	a.calls[id] = e
	q.in[e] = struct{}{}
	q.insertWaiting(e)
	q.stats.offered++
	a.log.Info("call queued", "call_id", id, "queue", q.cfg.Name, "priority", o.Priority, "type", o.Type,
		"conversation", conv.ID, "joined_conversation", joined, "auto_assign", q.cfg.AutoAssign,
		"waiting", len(q.in))
	go a.watch(e)
	return &Ticket{a: a, e: e}, nil
}

// joinConversationLocked finds the customer's conversation not Closed or
// starts one. Callers without a number always start one.
func (a *ACD) joinConversationLocked(ctx context.Context, p call.Party, q *queue, now time.Time) (store.Conversation, bool, error) {
	if p.Number != "" {
		c, err := a.st.OpenConversation(ctx, p.Number)
		switch {
		case err == nil:
			if c.CustomerName == "" {
				c.CustomerName = p.Name
			}
			c.Queue, c.UpdatedAt = q.cfg.ID, now
			if err := a.st.PutConversation(ctx, c); err != nil {
				return store.Conversation{}, false, fmt.Errorf("acd: store conversation: %w", err)
			}
			return c, true, nil
		case !errors.Is(err, store.ErrNotFound):
			return store.Conversation{}, false, fmt.Errorf("acd: find conversation: %w", err)
		}
	}
	c := store.Conversation{
		ID: newID(), CustomerNumber: p.Number, CustomerName: p.Name, Queue: q.cfg.ID,
		Status: store.ConversationOpen, CreatedAt: now, UpdatedAt: now,
	}
	if err := a.st.PutConversation(ctx, c); err != nil {
		return store.Conversation{}, false, fmt.Errorf("acd: store conversation: %w", err)
	}
	return c, false, nil
}

// watch follows a call until it ends or leaves the ACD.
func (a *ACD) watch(e *entry) {
	select {
	case <-e.c.Done():
	case <-e.stop:
		return
	case <-a.done:
		return
	}
	now, err := a.begin()
	if err != nil {
		return
	}
	var leg call.Leg
	if e.transfer != nil {
		a.endTransferLocked(e, now, "abandoned")
	}
	switch e.state {
	case stWaiting, stOffered, stAnswering, stTransferring, stExternal:
		a.abandonLocked(e, now, "hangup")
	case stConnected:
		why := e.endedBy
		if why == "" {
			why = "hangup"
		}
		leg = a.finishLocked(e, now, why)
	}
	a.end()
	a.hangupLeg(leg, e.id)
}

func (a *ACD) hangupLeg(leg call.Leg, callID string) {
	if leg == nil {
		return
	}
	ctx, cancel := context.WithTimeout(a.ctx, 5*time.Second)
	defer cancel()
	if err := leg.Hangup(ctx, call.Normal); err != nil {
		a.log.Debug("hang up agent leg", "call_id", callID, "error", err)
	}
}

// abandonLocked takes a caller out before an agent had it: the offer
// ringing for it, if any, is withdrawn. A call being answered is released by
// Answer.
func (a *ACD) abandonLocked(e *entry, now time.Time, reason string) {
	a.leaveLocked(e, now, reason, resultAbandon)
}

// leaveLocked takes a caller out before an agent had it, its record
// closed with result: abandoned (counted in the queue's abandon rate,
// event abandoned), or callback (a callback requested instead, event
// left). An offer ringing for it is withdrawn; a call being answered is
// released by Answer, which finds the entry done.
func (a *ACD) leaveLocked(e *entry, now time.Time, reason, result string) {
	q := e.q
	event := "left"
	if result == resultAbandon {
		event = "abandoned"
	}
	switch e.state {
	case stOffered:
		a.releaseAgentLocked(e.agent, e, now, result) // call.ended: abandoned, callback
	case stWaiting:
		q.removeWaiting(e)
	}
	e.finish()
	delete(q.in, e)
	if a.calls[e.id] == e {
		delete(a.calls, e.id)
	}
	e.rec.Ended, e.rec.Result = now, result
	a.putRecord(e.rec)
	if result == resultAbandon {
		q.stats.abandoned++
	}
	a.addEvent(e.conv, now, event, map[string]any{
		"call_id": e.id, "reason": reason, "waited": now.Sub(e.enq).String()})
	a.log.Info("caller left the queue", "call_id", e.id, "queue", q.cfg.Name, "reason", reason, "result", result,
		"waited", now.Sub(e.enq))
}

// callOfLocked finds the agent and its call: ErrNotFound for either,
// ErrForbidden when the call is not the agent's.
func (a *ACD) callOfLocked(agentID, callID string) (*agent, *entry, error) {
	ag, err := a.agentLocked(agentID)
	if err != nil {
		return nil, nil, err
	}
	e := a.calls[callID]
	if e == nil {
		return nil, nil, fmt.Errorf("%w: call %q", ErrNotFound, callID)
	}
	if e.agent != ag {
		return nil, nil, fmt.Errorf("%w: call %q is not offered to or handled by agent %q", ErrForbidden, callID, agentID)
	}
	return ag, e, nil
}

// Answer takes the call ringing for the agent: the agent's leg comes from
// Options.Media and is handed to the caller's Ticket; the agent is then on
// the call. If Media is nil or fails, the offer moves to the next agent and
// ErrMedia is returned.
func (a *ACD) Answer(ctx context.Context, agentID, callID string) error {
	if _, err := a.begin(); err != nil {
		return err
	}
	ag, e, err := a.callOfLocked(agentID, callID)
	if err == nil && e.state != stOffered {
		err = fmt.Errorf("%w: call %q is not ringing", ErrState, callID)
	}
	if err != nil {
		a.end()
		return err
	}
	e.state = stAnswering
	a.log.Info("agent answers", "call_id", callID, "agent", agentID, "queue", e.q.cfg.Name)
	a.end()
	if e.isCallback() {
		return a.answerCallback(ctx, ag, e)
	}

	var leg call.Leg
	err = errors.New("no agent media is configured")
	if a.media != nil {
		leg, err = a.media.Attach(ctx, agentID, callID)
		if err == nil && leg == nil {
			err = errors.New("no leg")
		}
	}

	now, berr := a.begin()
	if berr != nil {
		a.hangupLeg(leg, callID)
		return berr
	}
	if e.state != stAnswering { // the caller left meanwhile
		a.releaseAgentLocked(ag, e, now, "abandoned")
		a.end()
		a.hangupLeg(leg, callID)
		return fmt.Errorf("%w: call %q ended before it was answered", ErrState, callID)
	}
	if err != nil {
		a.log.Error("agent media failed: offer moves on", "call_id", callID, "agent", agentID,
			"queue", e.q.cfg.Name, "error", err)
		a.returnOfferLocked(e, now, "media")
		a.end()
		a.hangupLeg(leg, callID)
		return fmt.Errorf("%w: %v", ErrMedia, err)
	}
	bridged := e.bridged
	a.connectLocked(e, ag, leg, now)
	a.end()
	if bridged {
		// A transferred caller: the call's bridge runs; the agent's leg
		// joins it.
		if err := e.c.Join(ctx, leg); err != nil {
			a.log.Warn("join the agent's leg", "call_id", callID, "agent", agentID, "error", err)
			a.hangupLeg(leg, callID)
			if now, berr := a.begin(); berr == nil {
				// The agent did not get the call: it is idle again and
				// the caller waits for the next agent (a caller who hung
				// up is closed by watch).
				if e.state == stConnected && e.agent == ag {
					a.releaseAgentLocked(ag, e, now, "media")
					e.agent, e.leg, e.state = nil, nil, stWaiting
					e.q.in[e] = struct{}{}
					e.q.insertWaiting(e)
				}
				a.end()
			}
			return fmt.Errorf("%w: call %q: %v", ErrState, callID, err)
		}
	}
	return nil
}

type legDialer struct{ leg call.Leg }

// Dial hands back the agent's leg, already answered.
func (d legDialer) Dial(context.Context, call.DialRequest) (call.Leg, error) { return d.leg, nil }

func (a *ACD) connectLocked(e *entry, ag *agent, leg call.Leg, now time.Time) {
	q := e.q
	e.state, e.leg, e.answered = stConnected, leg, now
	delete(q.in, e)
	ag.st.System, ag.st.RingingUntil = SystemOnCall, time.Time{}
	ag.st.CallsTaken++
	a.putState(ag)

	if c, err := a.st.GetConversation(a.ctx, e.conv); err != nil {
		a.log.Error("load conversation", "call_id", e.id, "conversation", e.conv, "error", err)
	} else {
		c.AgentID, c.UpdatedAt = ag.cfg.ID, now
		if c.Status == store.ConversationClosed {
			c.Status = store.ConversationOpen // closed while the caller waited: the call reopens it
		}
		if err := a.st.PutConversation(a.ctx, c); err != nil {
			a.log.Error("store conversation", "call_id", e.id, "conversation", e.conv, "error", err)
		}
		a.trackConvLocked(c.ID, c.AgentID, c.Status)
	}
	if e.rec.Answered.IsZero() {
		e.rec.Answered = now
	}
	e.rec.AgentID = ag.cfg.ID
	a.putRecord(e.rec)

	wait := now.Sub(e.enq)
	if !e.bridged {
		// A transferred caller was answered once already: the queue's
		// statistics count its first answer.
		q.stats.answered++
		q.stats.waitSum += wait
		if wait <= q.cfg.ServiceLevel {
			q.stats.inSL++
		}
	}
	a.addEvent(e.conv, now, "answered", map[string]any{"call_id": e.id, "agent": ag.cfg.ID, "waited": wait.String()})
	a.publishLocked(ag.cfg.ID, EventCallAnswered, now, CallData{CallID: e.id, ConversationID: e.conv})
	a.publishStatusLocked(ag, now)
	if e.transfer != nil {
		a.transferSucceededLocked(e, now, ag.cfg.ID)
	}
	if !e.bridged {
		select {
		case e.found <- call.Assignment{Agent: ag.cfg.ID, Dialer: legDialer{leg}, Request: call.DialRequest{To: ag.cfg.ID, KeepHold: true}}:
		default:
		}
	}
	a.log.Info("call answered", "call_id", e.id, "agent", ag.cfg.ID, "queue", q.cfg.Name, "waited", wait)
}

// finishLocked ends a connected call: its record is closed and its agent
// goes to wrap-up (the agent's wrap-up time, else the queue's, else 30 s).
// It returns the agent's leg, to be hung up without the mutex.
func (a *ACD) finishLocked(e *entry, now time.Time, reason string) call.Leg {
	ag := e.agent
	e.finish()
	if a.calls[e.id] == e {
		delete(a.calls, e.id)
	}
	talk := now.Sub(e.answered)
	e.rec.Ended, e.rec.Result = now, resultAnswered
	a.putRecord(e.rec)
	a.addEvent(e.conv, now, "ended", map[string]any{
		"call_id": e.id, "agent": ag.cfg.ID, "by": reason, "talk": talk.String()})
	a.wrapUpLocked(e, ag, now, reason, talk)
	return e.leg
}

// wrapUpLocked ends ag's part in e's call (the call ended, or the agent
// transferred it): ag goes to wrap-up (the agent's wrap-up time, else the
// queue's, else 30 s) and is told call.ended with reason.
func (a *ACD) wrapUpLocked(e *entry, ag *agent, now time.Time, reason string, talk time.Duration) {
	q := e.q
	if ag.entry == e {
		ag.entry = nil
		wrap := ag.cfg.WrapUp
		if wrap <= 0 {
			wrap = q.cfg.WrapUp
		}
		if wrap <= 0 {
			wrap = DefaultWrapUp
		}
		ag.st.System, ag.st.WrapUpUntil = SystemWrapUp, now.Add(wrap)
		ag.st.LastCallEnded = now
		ag.st.TalkTime += talk
		ag.st.CallID = e.id
		ag.wrap = wrapUp{q: q, callID: e.id, convID: e.conv, talk: talk, started: now}
		a.putState(ag)
		a.addEvent(e.conv, now, "wrap_up", map[string]any{"agent": ag.cfg.ID, "ends_at": ag.st.WrapUpUntil})
		a.publishLocked(ag.cfg.ID, EventCallEnded, now, CallData{CallID: e.id, ConversationID: e.conv, Reason: reason})
		a.publishLocked(ag.cfg.ID, EventWrapUpStarted, now, WrapUpData{
			CallID: e.id, ConversationID: e.conv, EndsAt: ag.st.WrapUpUntil})
		a.publishStatusLocked(ag, now)
	}
	a.log.Info("agent's call ended: wrap-up", "call_id", e.id, "agent", ag.cfg.ID, "queue", q.cfg.Name, "by", reason,
		"talk", talk, "wrap_up_until", ag.st.WrapUpUntil)
}

// Decline refuses the call ringing for the agent: it is offered to the next
// agent at once (not to this one again). The agent keeps its status.
func (a *ACD) Decline(ctx context.Context, agentID, callID string) error {
	now, err := a.begin()
	if err != nil {
		return err
	}
	defer a.end()
	_, e, err := a.callOfLocked(agentID, callID)
	if err != nil {
		return err
	}
	if e.state != stOffered {
		return fmt.Errorf("%w: call %q is not ringing", ErrState, callID)
	}
	a.returnOfferLocked(e, now, "declined")
	return nil
}

// connectedLocked checks that callID is the agent's call in progress.
func (a *ACD) connectedLocked(agentID, callID string) (*agent, *entry, error) {
	ag, e, err := a.callOfLocked(agentID, callID)
	if err != nil {
		return nil, nil, err
	}
	if e.state != stConnected {
		return nil, nil, fmt.Errorf("%w: call %q is not in progress", ErrState, callID)
	}
	return ag, e, nil
}

// Hangup ends the agent's call normally (both sides); the agent goes to
// wrap-up.
func (a *ACD) Hangup(ctx context.Context, agentID, callID string) error {
	if _, err := a.begin(); err != nil {
		return err
	}
	if _, e, err := a.callOfLocked(agentID, callID); err == nil && e.state == stDialing {
		// The customer has not answered: its leg is cancelled, and
		// dialOutbound ends the call (at once, or once the agent's leg is
		// attached).
		e.out.hungUp = true
		c := e.c
		a.log.Info("agent hangs up before the customer answered", "call_id", callID, "agent", agentID)
		a.end()
		if c != nil {
			c.End(ctx, call.Cancelled)
		}
		return nil
	}
	_, e, err := a.connectedLocked(agentID, callID)
	if err != nil {
		a.end()
		return err
	}
	e.endedBy = "agent"
	a.log.Info("agent hangs up", "call_id", callID, "agent", agentID, "queue", e.q.cfg.Name)
	a.end()

	e.c.End(ctx, call.Normal)

	now, err := a.begin()
	if err != nil {
		return nil
	}
	var leg call.Leg
	if e.state == stConnected {
		leg = a.finishLocked(e, now, "agent")
	}
	a.end()
	a.hangupLeg(leg, callID)
	return nil
}

// SendDTMF sends digits (0-9, *, #, A-D) to the caller of the agent's call.
func (a *ACD) SendDTMF(ctx context.Context, agentID, callID, digits string) error {
	digits = strings.ToUpper(digits)
	if digits == "" {
		return invalid("digits", "no digits")
	}
	for _, d := range digits {
		if !strings.ContainsRune("0123456789*#ABCD", d) {
			return invalid("digits", "%q is not a DTMF digit", d)
		}
	}
	if _, err := a.begin(); err != nil {
		return err
	}
	_, e, err := a.connectedLocked(agentID, callID)
	a.end()
	if err != nil {
		return err
	}
	// The customer's leg is the call's anchor (the caller's, or the
	// customer an agent called once it answered).
	in := e.c.Anchor()
	for _, d := range digits {
		if err := in.SendDTMF(ctx, d, dtmfDuration); err != nil {
			return fmt.Errorf("acd: send DTMF to call %s: %w", callID, err)
		}
	}
	a.log.Info("agent sent DTMF", "call_id", callID, "agent", agentID, "digits", digits, "digit_count", len(digits))
	return nil
}

// Hold puts the agent's caller on hold: the call holds the agent's leg
// (it hears silence) while the caller hears the queue's music on hold, and
// the agent's state becomes on_hold. The conversation logs hold.started,
// and hold.ended with the time held.
func (a *ACD) Hold(ctx context.Context, agentID, callID string) error {
	return a.setHold(ctx, agentID, callID, true)
}

// Resume takes the agent's caller off hold; the agent is on_call again.
func (a *ACD) Resume(ctx context.Context, agentID, callID string) error {
	return a.setHold(ctx, agentID, callID, false)
}

func (a *ACD) setHold(ctx context.Context, agentID, callID string, on bool) error {
	if _, err := a.begin(); err != nil {
		return err
	}
	_, e, err := a.connectedLocked(agentID, callID)
	switch {
	case err != nil:
	case e.holdBusy:
		err = fmt.Errorf("%w: a hold change is under way", ErrState)
	case e.onHold == on && on:
		err = fmt.Errorf("%w: call %q is on hold already", ErrState, callID)
	case e.onHold == on:
		err = fmt.Errorf("%w: call %q is not on hold", ErrState, callID)
	}
	if err != nil {
		a.end()
		return err
	}
	e.holdBusy = true
	leg, c, queue := e.leg, e.c, e.q.cfg.Name
	a.end()
	// The music is prepared without the mutex: it may read files or
	// render speech, and asks the ACD for the queue's settings.
	var music *call.Music
	if on && a.dialing != nil {
		music = a.dialing.HoldMusic(a.ctx, queue)
	}

	hookErr := c.HoldWith(ctx, leg, on, music)

	now, err := a.begin()
	if err != nil {
		return err
	}
	defer a.end()
	e.holdBusy = false
	if hookErr != nil {
		a.log.Error("hold failed", "call_id", callID, "agent", agentID, "hold", on, "error", hookErr)
		return fmt.Errorf("acd: hold: %w", hookErr)
	}
	ag := e.agent
	if e.state != stConnected || ag == nil || ag.cfg.ID != agentID {
		return fmt.Errorf("%w: call %q ended", ErrState, callID)
	}
	e.onHold = on
	typ := "hold.ended"
	data := map[string]any{"call_id": callID, "agent": agentID}
	ag.st.System = SystemOnCall
	if on {
		typ = "hold.started"
		ag.st.System = SystemOnHold
		e.heldAt = now
	} else {
		held := now.Sub(e.heldAt)
		e.heldTotal += held
		data["held"] = held.String()
		data["held_total"] = e.heldTotal.String()
	}
	a.putState(ag)
	a.addEvent(e.conv, now, typ, data)
	a.publishStatusLocked(ag, now)
	a.log.Info("call "+typ, "call_id", callID, "agent", agentID, "queue", e.q.cfg.Name)
	return nil
}
