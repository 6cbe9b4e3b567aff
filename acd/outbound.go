package acd

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/switchboard-voice/switchboard/call"
	"github.com/switchboard-voice/switchboard/store"
)

// Outbound calls: an agent calls a customer. The call is anchored on the
// agent's leg from its media session (no new connection) while the
// customer rings: the agent hears a ringback tone, or the network's early
// media, and the customer hears nothing of the agent until it answers.
// Once it answers, the customer's leg becomes the call's anchor and the
// agent's its party, so the call is then like one the customer made: hold,
// transfers and wrap-up work the same. Automated callbacks are entries in
// their queue's waiting list, offered like calls; answering one places the
// outbound call.

// Agent events of an outbound call (call.answered and call.ended as for any
// call).
const (
	EventCallDialing    = "call.dialing"
	EventCallRinging    = "call.ringing"
	EventCallEarlyMedia = "call.early_media"
	EventCallFailed     = "call.failed"
)

// CallOutbound is the type of a call an agent places.
const CallOutbound = "outbound"

// stDialing: an outbound call whose customer has not answered yet.
const stDialing entryState = 100

// OutboundRequest is an agent's call to a customer.
type OutboundRequest struct {
	// To is the customer's number, E.164; the phone book's rules apply.
	To string
	// From is the caller ID: one of the voice numbers.
	From string
	// Queue is the queue the call counts in: one of the agent's ("" its
	// first).
	Queue string
}

// OutboundCall is the call PlaceCall placed.
type OutboundCall struct {
	CallID         string `json:"call_id"`
	ConversationID string `json:"conversation_id"`
}

// DialData comes with call.dialing.
type DialData struct {
	CallID         string `json:"call_id"`
	ConversationID string `json:"conversation_id"`
	To             string `json:"to"`
	From           string `json:"from"`
	Queue          string `json:"queue"`
	CallbackID     string `json:"callback_id,omitempty"`
}

// FailedData comes with call.failed: the SIP status that ended the attempt.
type FailedData struct {
	CallID         string `json:"call_id"`
	ConversationID string `json:"conversation_id"`
	SIPCode        int    `json:"sip_code"`
	Reason         string `json:"reason"`
}

// outbound is what an entry of an outbound call needs to place it.
type outbound struct {
	dialer call.Dialer
	req    call.DialRequest
	// told: call.ringing and call.early_media are sent once each.
	rang, early bool
	// hungUp: the agent hung up before the customer answered.
	hungUp bool
	// agentID is the calling agent's (read without the mutex).
	agentID string
	// addNumber: the customer's number goes into the phone book (a manual
	// number the agent typed).
	addNumber bool
	// The conversation as it was before the call (restored when nobody
	// answers): a new one is closed, a joined one gets its agent back.
	newConv    bool
	prevAgent  string
	prevStatus string
}

// PlaceCall has the agent call r.To from r.From. The agent must be in no
// call (ErrState); r.To must pass the phone book's rules (ErrInvalid,
// ErrForbidden) and r.From be a voice number (ErrForbidden); an open
// conversation of the customer assigned to another agent blocks the call
// (ErrState naming that agent). The call joins the customer's open
// conversation (unassigned or the agent's) or starts one. It returns once
// the call is being placed; its progress reaches the agent as events.
func (a *ACD) PlaceCall(ctx context.Context, agentID string, r OutboundRequest) (OutboundCall, error) {
	return a.placeCall(ctx, agentID, r, nil)
}

func (a *ACD) placeCall(ctx context.Context, agentID string, r OutboundRequest, cb *store.Callback) (OutboundCall, error) {
	addNumber := false // a manual number, added once the call is placed
	if cb == nil {
		var err error
		if addNumber, err = a.externalNumber(ctx, r.To); err != nil {
			return OutboundCall{}, err
		}
	} else if msg := e164Problem(r.To); msg != "" {
		return OutboundCall{}, invalid("to", "%s", msg)
	}
	if a.dialing == nil || a.media == nil {
		return OutboundCall{}, fmt.Errorf("%w: outbound calls are not available", ErrState)
	}
	d, req, err := a.dialing.Outbound(ctx, r.To, r.From)
	if err != nil {
		return OutboundCall{}, err
	}
	now, err := a.begin()
	if err != nil {
		return OutboundCall{}, err
	}
	defer a.end()
	ag, err := a.agentLocked(agentID)
	if err != nil {
		return OutboundCall{}, err
	}
	if ag.entry != nil {
		return OutboundCall{}, fmt.Errorf("%w: agent %q has a call already (one call at a time)", ErrState, agentID)
	}
	q, err := a.outboundQueueLocked(ag, r.Queue)
	if err != nil {
		return OutboundCall{}, err
	}
	var conv store.Conversation
	isNew := false
	if cb != nil {
		conv, err = a.st.GetConversation(ctx, cb.ConversationID)
		if conv, err = stored(conv, err, "conversation", cb.ConversationID); err != nil {
			return OutboundCall{}, err
		}
	} else if conv, isNew, err = a.outboundConversationLocked(ctx, ag, r.To, q, now); err != nil {
		return OutboundCall{}, err
	}
	cbID := ""
	if cb != nil {
		cbID = cb.ID
	}
	e := a.newOutboundWithLocked(ag, q, conv, isNew, r, now, newID(), cbID,
		&outbound{dialer: d, req: req, addNumber: addNumber})
	go a.dialOutbound(e)
	return OutboundCall{CallID: e.id, ConversationID: e.conv}, nil
}

// outboundQueueLocked is the queue an agent's call counts in: name, which
// must be one of the agent's queues, else the agent's first.
func (a *ACD) outboundQueueLocked(ag *agent, name string) (*queue, error) {
	if name == "" {
		for _, id := range ag.cfg.Queues {
			if q := a.queues[id]; q != nil {
				return q, nil
			}
		}
		return nil, invalid("queue", "agent %q is in no queue", ag.cfg.ID)
	}
	q := a.lookupQueue(name)
	if q == nil {
		return nil, invalid("queue", "no queue %q", name)
	}
	if !a.inQueueLocked(ag, name) {
		return nil, fmt.Errorf("%w: agent %q is not in queue %q", ErrForbidden, ag.cfg.ID, q.cfg.Name)
	}
	return q, nil
}

// outboundConversationLocked is the conversation an agent's call to number
// joins: the customer's open one when it is unassigned or the agent's
// (another agent's blocks the call), else a new one.
func (a *ACD) outboundConversationLocked(ctx context.Context, ag *agent, number string, q *queue, now time.Time) (store.Conversation, bool, error) {
	c, err := a.st.OpenConversation(ctx, number)
	switch {
	case errors.Is(err, store.ErrNotFound):
		return store.Conversation{ID: newID(), CustomerNumber: number, Queue: q.cfg.ID, Status: store.ConversationOpen,
			CreatedAt: now, UpdatedAt: now}, true, nil
	case err != nil:
		return store.Conversation{}, false, fmt.Errorf("acd: find conversation: %w", err)
	case c.AgentID != "" && c.AgentID != ag.cfg.ID:
		name := c.AgentID
		if other := a.agents[c.AgentID]; other != nil {
			name = other.cfg.Name
		}
		return store.Conversation{}, false, &busyError{fmt.Sprintf("%s (%s) has this customer's open conversation", name, c.AgentID)}
	}
	return c, false, nil
}

// newOutboundWithLocked makes the entry of the agent's call to r.To: the agent
// is on it, the conversation is the agent's, the record is written and the
// agent told call.dialing.
func (a *ACD) newOutboundWithLocked(ag *agent, q *queue, conv store.Conversation, isNew bool, r OutboundRequest, now time.Time,
	id, cbID string, out *outbound) *entry {
	if ag.st.System == SystemWrapUp {
		a.endWrapUpLocked(ag, now, "call")
	}
	kind := CallOutbound
	if cbID != "" {
		kind = CallCallback
	}
	out.agentID, out.newConv, out.prevAgent, out.prevStatus = ag.cfg.ID, isNew, conv.AgentID, conv.Status
	e := &entry{id: id, q: q, party: call.Party{Number: r.To, Name: conv.CustomerName}, kind: kind,
		enq: now, state: stDialing, agent: ag, conv: conv.ID, stop: make(chan struct{}), cbID: cbID, out: out}
	ag.entry = e
	ag.st.System, ag.st.CallID = SystemOnCall, e.id
	a.putState(ag)
	conv.AgentID, conv.Queue, conv.UpdatedAt = ag.cfg.ID, q.cfg.ID, now
	if conv.Status == store.ConversationClosed {
		conv.Status = store.ConversationOpen
	}
	if err := a.st.PutConversation(a.ctx, conv); err != nil {
		a.log.Error("store conversation", "call_id", e.id, "conversation", conv.ID, "error", err)
	}
	a.trackConvLocked(conv.ID, ag.cfg.ID, conv.Status)
	e.rec = store.CallRecord{ID: e.id, ConversationID: conv.ID, Queue: q.cfg.ID, AgentID: ag.cfg.ID, From: r.From,
		To: r.To, Enqueued: now}
	a.putRecord(e.rec)
	a.calls[e.id] = e
	a.addEvent(conv.ID, now, "dialing", map[string]any{"call_id": e.id, "agent": ag.cfg.ID, "to": r.To, "from": r.From})
	a.publishLocked(ag.cfg.ID, EventCallDialing, now, DialData{CallID: e.id, ConversationID: conv.ID, To: r.To,
		From: r.From, Queue: q.cfg.Name, CallbackID: e.cbID})
	a.publishStatusLocked(ag, now)
	a.log.Info("agent calls a customer", "call_id", e.id, "agent", ag.cfg.ID, "queue", q.cfg.Name,
		"conversation", conv.ID, "callback_id", e.cbID)
	return e
}

// dialOutbound places the customer's leg from the agent's media session and
// follows it until it answers (then watch follows the call) or fails.
func (a *ACD) dialOutbound(e *entry) {
	ctx := a.ctx
	agentID := e.out.agentID
	if e.out.addNumber {
		if err := a.addManualNumber(ctx, e.party.Number); err != nil {
			a.log.Error("add the call's number to the phone book", "number", e.party.Number, "error", err)
		}
	}
	leg, err := a.media.Attach(ctx, agentID, e.id)
	if err == nil && leg == nil {
		err = errors.New("no leg")
	}
	if err != nil {
		a.log.Error("agent media failed: the call is not placed", "call_id", e.id, "agent", agentID, "error", err)
		a.outboundFailed(e, call.Cause{Code: 480, Reason: "Agent media unavailable"}, "media")
		return
	}
	c := a.dialing.NewCall(ctx, leg, e.id)
	if _, err := a.begin(); err != nil {
		c.End(ctx, call.Shutdown)
		return
	}
	e.c, e.leg = c, leg
	hungUp := e.out.hungUp
	a.end()
	if hungUp {
		c.End(ctx, call.Cancelled)
		a.outboundFailed(e, call.Cancelled, "agent")
		return
	}
	go func() {
		if err := c.Run(ctx); err != nil && !errors.Is(err, call.ErrEnded) {
			a.log.Debug("outbound call bridge", "call_id", e.id, "error", err)
		}
	}()
	err = c.Place(ctx, e.out.dialer, e.out.req, call.PlaceOptions{
		Ringback: a.dialing.Ringback(), Anchor: true,
		Progress: func(p call.Progress) { a.outboundProgress(e, p) },
	})
	now, berr := a.begin()
	if berr != nil {
		c.End(ctx, call.Shutdown)
		return
	}
	if err == nil && e.state == stDialing {
		a.outboundAnsweredLocked(e, now)
		a.end()
		go a.watch(e)
		return
	}
	why := "failed"
	select {
	case <-leg.Done():
		why = "media" // the agent's session ended while the customer rang
	default:
	}
	if e.out.hungUp {
		why = "agent"
	}
	a.end()
	cause := call.CauseOf(err)
	if errors.Is(err, call.ErrEnded) {
		cause = call.Cancelled
	}
	c.End(ctx, cause) // its record says why (busy, no answer, cancelled)
	a.outboundFailed(e, cause, why)
}

// outboundProgress tells the agent its customer rings, or that the network
// sends early media.
func (a *ACD) outboundProgress(e *entry, p call.Progress) {
	// On the call's bridge loop: the mutex only, no deadlines or
	// assignment run here.
	a.mu.Lock()
	defer a.mu.Unlock()
	now := a.now()
	if a.closed || e.state != stDialing || e.agent == nil {
		return
	}
	id := e.agent.cfg.ID
	if p.Ringing && !e.out.rang {
		e.out.rang = true
		a.publishLocked(id, EventCallRinging, now, CallData{CallID: e.id, ConversationID: e.conv})
	}
	if p.Early != nil && !e.out.early {
		e.out.early = true
		a.publishLocked(id, EventCallEarlyMedia, now, CallData{CallID: e.id, ConversationID: e.conv})
	}
}

// outboundAnsweredLocked: the customer answered; the agent talks to it.
func (a *ACD) outboundAnsweredLocked(e *entry, now time.Time) {
	ag := e.agent
	e.state, e.answered = stConnected, now
	e.rec.Answered = now
	a.putRecord(e.rec)
	ag.st.CallsTaken++
	a.putState(ag)
	a.addEvent(e.conv, now, "answered", map[string]any{"call_id": e.id, "agent": ag.cfg.ID, "direction": CallOutbound})
	a.publishLocked(ag.cfg.ID, EventCallAnswered, now, CallData{CallID: e.id, ConversationID: e.conv})
	a.publishStatusLocked(ag, now)
	a.log.Info("customer answered the agent's call", "call_id", e.id, "agent", ag.cfg.ID)
	if e.cbID != "" {
		go a.followCallback(e.cbID, e.out.agentID, e.stop)
	}
}

// followCallback records that a callback's customer answered (the request
// stays active while they talk) and, once the call is over whichever way
// it ends (hang-up, transfer), that it is done. A restart meanwhile finds
// it active with an answered attempt and makes it done (loadCallbacks).
func (a *ACD) followCallback(cbID, agentID string, over <-chan struct{}) {
	if _, err := a.callbackAttempt(a.ctx, cbID, agentID, 200, "OK", true, true); err != nil {
		a.log.Error("record callback attempt", "callback_id", cbID, "error", err)
	}
	select {
	case <-over:
	case <-a.done:
		return
	}
	if err := a.callbackDone(a.ctx, cbID, agentID); err != nil {
		a.log.Error("callback done", "callback_id", cbID, "error", err)
	}
}

// outboundFailed ends an outbound call the customer never answered: the
// agent is told call.failed (with the SIP status) and call.ended, and is
// idle again (no wrap-up: there was no conversation); a callback's attempt
// is recorded.
func (a *ACD) outboundFailed(e *entry, cause call.Cause, why string) {
	now, err := a.begin()
	if err != nil {
		return
	}
	ag := e.agent
	if e.state == stDone || ag == nil {
		a.end()
		return
	}
	agentID := e.out.agentID
	e.finish()
	if a.calls[e.id] == e {
		delete(a.calls, e.id)
	}
	e.rec.Ended, e.rec.Result = now, resultFailed
	a.putRecord(e.rec)
	a.restoreConversationLocked(e, now)
	a.addEvent(e.conv, now, "failed", map[string]any{"call_id": e.id, "agent": agentID, "sip_code": cause.Code,
		"reason": cause.Reason, "by": why})
	if why != "agent" {
		a.publishLocked(agentID, EventCallFailed, now, FailedData{CallID: e.id, ConversationID: e.conv,
			SIPCode: cause.Code, Reason: cause.Reason})
	}
	a.releaseAgentLocked(ag, e, now, why)
	a.log.Info("agent's call failed", "call_id", e.id, "agent", agentID, "cause", cause.String(), "by", why)
	cbID := e.cbID
	a.end()
	if cbID == "" {
		return
	}
	if why == "media" || why == "agent" {
		// The agent's side ended it (its media, its hang-up): the
		// customer was not tried; the request is called again.
		if err := a.callbackNotTried(a.ctx, cbID, agentID); err != nil {
			a.log.Error("callback back", "callback_id", cbID, "error", err)
		}
		return
	}
	if _, err := a.CallbackAttempt(a.ctx, cbID, agentID, cause.Code, cause.Reason, false); err != nil {
		a.log.Error("record callback attempt", "callback_id", cbID, "error", err)
	}
}

// restoreConversationLocked undoes what an unanswered call did to its
// conversation: one it started is closed, one it joined gets its agent
// back (so neither counts against the agent's capacity).
func (a *ACD) restoreConversationLocked(e *entry, now time.Time) {
	c, err := a.st.GetConversation(a.ctx, e.conv)
	if err != nil {
		a.log.Error("load conversation", "call_id", e.id, "conversation", e.conv, "error", err)
		return
	}
	if e.out.newConv {
		c.Status = store.ConversationClosed
	} else {
		c.AgentID, c.Status = e.out.prevAgent, e.out.prevStatus
	}
	c.UpdatedAt = now
	if err := a.st.PutConversation(a.ctx, c); err != nil {
		a.log.Error("store conversation", "call_id", e.id, "conversation", e.conv, "error", err)
		return
	}
	a.trackConvLocked(c.ID, c.AgentID, c.Status)
}

// resultFailed closes the record of an outbound call nobody answered.
const resultFailed = "failed"

// queueCallbackLocked puts an automated callback request in_queue in its
// queue's waiting list, to be offered like a call: in its original place
// among the callers (priority queue_position) or after all of them
// (inbound_first); it is not offered while schedule (if any) is closed. It
// returns the entry; nil when the queue is gone.
func (a *ACD) queueCallbackLocked(cb store.Callback, priority, schedule string) *entry {
	q := a.lookupQueue(cb.Queue)
	if q == nil {
		a.log.Warn("callback's queue is gone: it is not offered", "callback_id", cb.ID, "queue", cb.Queue)
		return nil
	}
	a.seq++
	e := &entry{id: newID(), q: q, party: call.Party{Number: cb.Number}, kind: CallCallback, enq: cb.Enqueued,
		seq: a.seq, conv: cb.ConversationID, stop: make(chan struct{}), cbID: cb.ID,
		late: priority != CallbackQueuePosition, sched: schedule}
	a.calls[e.id] = e
	a.cbEntries[cb.ID] = e
	q.in[e] = struct{}{}
	q.insertWaiting(e)
	return e
}

// isCallback reports whether e is an automated callback request waiting in
// its queue or offered (not yet an outbound call).
func (e *entry) isCallback() bool { return e.cbID != "" && e.out == nil }

// unqueueCallbackLocked takes an automated callback out of its queue's
// waiting list (it is being dialled, or was closed).
func (a *ACD) unqueueCallbackLocked(e *entry) {
	e.q.removeWaiting(e)
	delete(e.q.in, e)
	delete(a.cbEntries, e.cbID)
}

// answerCallback: the agent answered an automated callback's offer. The
// request is assigned to the agent, then active as the switch calls the
// customer from the agent's leg, with the configuration's caller ID (a
// configuration deleted since: the first voice number).
func (a *ACD) answerCallback(ctx context.Context, ag *agent, e *entry) error {
	agentID := ag.cfg.ID
	// back hands the offer back (the next agent is offered it).
	back := func(err error) error {
		if now, berr := a.begin(); berr == nil {
			if e.state == stAnswering {
				a.returnOfferLocked(e, now, "media")
			} else {
				a.releaseAgentLocked(ag, e, now, "withdrawn") // the offer went away meanwhile
			}
			a.end()
		}
		return err
	}
	if a.dialing == nil || a.media == nil {
		return back(fmt.Errorf("%w: outbound calls are not available", ErrMedia))
	}
	cb, err := a.Callback(ctx, e.cbID)
	if err != nil {
		return back(err)
	}
	cfg, err := a.CallbackConfig(ctx, cb.Config)
	if err != nil && !errors.Is(err, ErrNotFound) {
		return back(err)
	}
	now, err := a.begin()
	if err != nil {
		return err
	}
	if e.state != stAnswering {
		a.releaseAgentLocked(ag, e, now, "withdrawn")
		a.end()
		return fmt.Errorf("%w: callback %s is no longer offered", ErrState, cb.ID)
	}
	cb.Status, cb.AgentID, cb.UpdatedAt = store.CallbackAssigned, agentID, now
	ok, err := a.st.UpdateCallbackIf(ctx, cb, store.CallbackInQueue)
	if err != nil {
		a.end()
		return back(fmt.Errorf("acd: assign callback: %w", err))
	}
	// The offer's entry is done either way: the outbound call, if any, is
	// a new entry under the same call id.
	a.unqueueCallbackLocked(e)
	e.finish()
	delete(a.calls, e.id)
	if !ok { // changed elsewhere (another switch process): not ours
		a.releaseAgentLocked(ag, e, now, "withdrawn")
		a.end()
		return fmt.Errorf("%w: callback %s changed meanwhile", ErrState, cb.ID)
	}
	a.addEvent(cb.ConversationID, now, "callback.assigned", map[string]any{"callback_id": cb.ID, "agent_id": agentID})
	a.end()

	d, req, err := a.dialing.Outbound(a.ctx, cb.Number, cfg.CallerID)
	if err != nil {
		// No way to the customer (no route, a caller ID no longer a voice
		// number): an attempt that failed, so that retries run out
		// rather than agents being rung for it forever.
		a.log.Error("callback cannot be dialled", "callback_id", cb.ID, "error", err)
		if now, berr := a.begin(); berr == nil {
			a.publishLocked(agentID, EventCallFailed, now, FailedData{CallID: e.id, ConversationID: e.conv,
				SIPCode: 503, Reason: "No route to the customer"})
			a.releaseAgentLocked(ag, e, now, "failed")
			a.end()
		}
		if _, aerr := a.CallbackAttempt(a.ctx, cb.ID, agentID, 503, "No route to the customer", false); aerr != nil {
			a.log.Error("record callback attempt", "callback_id", cb.ID, "error", aerr)
		}
		return fmt.Errorf("%w: %v", ErrUnavailable, err)
	}
	now, err = a.begin()
	if err != nil {
		return err
	}
	conv, err := a.st.GetConversation(a.ctx, cb.ConversationID)
	if err != nil {
		conv = store.Conversation{ID: cb.ConversationID, CustomerNumber: cb.Number, Status: store.ConversationOpen,
			CreatedAt: now}
	}
	ag.entry = nil // the offer's; the call's is next
	ag.st.RingingUntil = time.Time{}
	r := OutboundRequest{To: cb.Number, From: cfg.CallerID, Queue: e.q.cfg.Name}
	oc := a.newOutboundWithLocked(ag, e.q, conv, false, r, now, e.id, cb.ID,
		&outbound{dialer: d, req: req})
	a.end()
	// The request's own context from here: the answer's HTTP request may
	// be gone, the call goes on.
	if _, err := a.CallbackDialing(a.ctx, cb.ID, agentID); err != nil {
		a.log.Error("callback active", "callback_id", cb.ID, "error", err)
	}
	go a.dialOutbound(oc)
	return nil
}

// CallCallback has the agent call back the customer of the manual request
// id assigned to it, from the configuration's caller ID: the request is
// active while the call rings and talks, then done or no_reply (see
// CallbackAttempt). ErrState when it is not assigned to the agent.
func (a *ACD) CallCallback(ctx context.Context, agentID, id string) (OutboundCall, error) {
	cb, err := a.Callback(ctx, id)
	if err != nil {
		return OutboundCall{}, err
	}
	if cb.Type != store.CallbackManual {
		return OutboundCall{}, fmt.Errorf("%w: callback %s is automated: the switch offers it", ErrState, id)
	}
	if cb.Status != store.CallbackAssigned || cb.AgentID != agentID {
		return OutboundCall{}, fmt.Errorf("%w: callback %s is %s (agent %q): assign it to yourself first", ErrState, id,
			cb.Status, cb.AgentID)
	}
	cfg, err := a.CallbackConfig(ctx, cb.Config)
	if err != nil {
		return OutboundCall{}, err
	}
	active, err := a.CallbackDialing(ctx, id, agentID)
	if err != nil {
		return OutboundCall{}, err
	}
	oc, err := a.placeCall(ctx, agentID, OutboundRequest{To: cb.Number, From: cfg.CallerID, Queue: cb.Queue}, &active)
	if err != nil {
		// Not placed: the request stays the agent's to call.
		back := active
		back.Status, back.UpdatedAt = store.CallbackAssigned, a.now()
		if _, uerr := a.st.UpdateCallbackIf(a.ctx, back, store.CallbackActive); uerr != nil {
			a.log.Error("callback back to assigned", "callback_id", id, "error", uerr)
		}
		return OutboundCall{}, err
	}
	return oc, nil
}

// busyError refuses a call whose customer another agent is talking with:
// a short message for the agent's panel; errors.Is(err, ErrState) holds.
type busyError struct{ msg string }

func (e *busyError) Error() string { return e.msg }

func (e *busyError) Is(target error) bool { return target == ErrState }

// closeQueueCallbacksLocked closes the automated callback requests waiting
// in q, which is being deleted: nobody would call them (callback.closed);
// an offer ringing for one is withdrawn.
func (a *ACD) closeQueueCallbacksLocked(ctx context.Context, q *queue) {
	now := a.now()
	for e := range q.in {
		if !e.isCallback() {
			continue
		}
		if (e.state == stOffered || e.state == stAnswering) && e.agent != nil {
			a.releaseAgentLocked(e.agent, e, now, "deleted")
		}
		a.unqueueCallbackLocked(e)
		e.finish()
		delete(a.calls, e.id)
		cb, err := a.Callback(ctx, e.cbID)
		if err != nil || cb.Status != store.CallbackInQueue {
			continue
		}
		a.closeCallbackLocked(ctx, cb, now, q.cfg.Name)
	}
}

// closeCallbackLocked closes the request cb, whose queue (named queue) is
// gone: no_reply with no retry (callback.closed).
func (a *ACD) closeCallbackLocked(ctx context.Context, cb store.Callback, now time.Time, queue string) {
	prev := cb.Status
	cb.Status, cb.AgentID, cb.NextAttemptAt, cb.UpdatedAt = store.CallbackNoReply, "", time.Time{}, now
	if ok, err := a.st.UpdateCallbackIf(ctx, cb, prev); err != nil || !ok {
		a.log.Error("close callback of a deleted queue", "callback_id", cb.ID, "error", err)
		return
	}
	delete(a.cbDue, cb.ID)
	a.addEvent(cb.ConversationID, now, "callback.closed", map[string]any{"callback_id": cb.ID,
		"reason": "queue deleted", "queue": queue})
	a.log.Warn("callback closed: its queue was deleted", "callback_id", cb.ID, "queue", queue)
}

// orphanLocked closes an automated request whose queue is gone and
// reports it: it would be put in no waiting list.
func (a *ACD) orphanLocked(ctx context.Context, cb store.Callback, now time.Time) bool {
	if cb.Type != store.CallbackAutomated || a.lookupQueue(cb.Queue) != nil {
		return false
	}
	a.closeCallbackLocked(ctx, cb, now, cb.Queue)
	return true
}
