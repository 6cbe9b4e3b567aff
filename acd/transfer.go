package acd

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/switchboard-voice/switchboard/call"
)

// Calls is what the ACD needs of the switch beyond agents' media (package
// cmd wires it from the dialplan and the SIP trunks): the music callers hear
// on hold and during transfers, and legs to external numbers.
type Calls interface {
	// HoldMusic is what a caller on hold in queue hears.
	HoldMusic(ctx context.Context, queue string) *call.Music
	// TransferMusic is what a caller hears while a transfer's target rings.
	TransferMusic(ctx context.Context) *call.Music
	// QueueMusic is what a caller transferred to queue hears while it waits
	// there (the queue's waiting strategy).
	QueueMusic(ctx context.Context, queue string) *call.Music
	// TransferTimeout bounds how long a transfer's target may take to answer.
	TransferTimeout() time.Duration
	// External is how to reach an external number through the outbound
	// routes, with from as the caller ID; an error when no route leads there.
	External(ctx context.Context, number, from string) (call.Dialer, call.DialRequest, error)
	// Outbound is how an agent's call to number leaves with the voice
	// number from as its caller ID (from's trunk, else the outbound
	// routes); an error wrapping ErrForbidden when from is not a voice
	// number.
	Outbound(ctx context.Context, number, from string) (call.Dialer, call.DialRequest, error)
	// NewCall starts the call id anchored on an agent's leg, observed like
	// the switch's other calls (metrics, quality notices).
	NewCall(ctx context.Context, anchor call.Leg, id string) *call.Call
	// Ringback is what an agent hears while the customer it calls rings
	// and the network sends no early media.
	Ringback() *call.Music
	// ScheduleOpen reports whether the named schedule is open at t.
	ScheduleOpen(name string, t time.Time) bool
}

// Transfer kinds.
const (
	TransferAgent  = "agent"
	TransferQueue  = "queue"
	TransferNumber = "number"
)

// Transfer events, sent to the transferring agent.
const (
	EventTransferStarted   = "transfer.started"
	EventTransferSucceeded = "transfer.succeeded"
	EventTransferFailed    = "transfer.failed"
)

// TransferTarget is where an agent sends its caller: exactly one of Agent,
// Queue and Number (with From, the caller ID the external leg shows).
type TransferTarget struct {
	Agent  string `json:"agent,omitempty"`
	Queue  string `json:"queue,omitempty"`
	Number string `json:"number,omitempty"`
	From   string `json:"from,omitempty"`
}

// TransferData comes with the transfer events. Cause (transfer.failed) says
// why: declined, timeout, a SIP status and reason, abandoned.
type TransferData struct {
	TransferID     string `json:"transfer_id"`
	CallID         string `json:"call_id"`
	ConversationID string `json:"conversation_id,omitempty"`
	Kind           string `json:"kind"`
	Target         string `json:"target"`
	Cause          string `json:"cause,omitempty"`
	Code           int    `json:"code,omitempty"`
}

// transfer is a blind transfer under way: the transferring agent is in
// wrap-up already, the caller hears music, and the target rings (an agent
// offer, the caller waiting in another queue, an external leg).
type transfer struct {
	id       string
	kind     string
	target   string
	by       *agent    // the transferring agent, rung again on failure
	started  time.Time // when the request came
	rang     time.Time // when the target started ringing (zero: not yet)
	deadline time.Time
	home     *queue // the queue the call was in before
}

// Transfer sends the agent's caller to t (a blind transfer) and returns the
// transfer's id at once. The agent is released into wrap-up; the caller
// hears transfer music (a queue's waiting music for a queue) until the
// target answers. A target that declines, does not answer in time or fails
// sends the caller back to the agent, who is rung again (transfer.failed).
//
// Errors: ErrInvalid (not exactly one target, the agent itself), ErrNotFound
// (no such agent or queue), ErrForbidden (an agent not in the call's queue, a
// queue without automatic assignment, a number not allowed), ErrState (the
// call is not the agent's in progress, a target agent not available).
func (a *ACD) Transfer(ctx context.Context, agentID, callID string, t TransferTarget) (string, error) {
	n := 0
	for _, s := range []string{t.Agent, t.Queue, t.Number} {
		if s != "" {
			n++
		}
	}
	if n != 1 {
		return "", invalid("target", "exactly one of agent, queue and number is needed")
	}
	var dialer call.Dialer
	var req call.DialRequest
	addNumber := false // a manual number, added once the transfer is accepted
	if t.Number != "" {
		if a.dialing == nil {
			return "", fmt.Errorf("%w: external transfers are not configured", ErrForbidden)
		}
		var err error
		if addNumber, err = a.externalNumber(ctx, t.Number); err != nil {
			return "", err
		}
		if dialer, req, err = a.dialing.External(ctx, t.Number, t.From); err != nil {
			return "", fmt.Errorf("%w: %v", ErrForbidden, err)
		}
	}

	now, err := a.begin()
	if err != nil {
		return "", err
	}
	ag, e, err := a.connectedLocked(agentID, callID)
	var target *agent
	var tq *queue
	switch {
	case err != nil:
	case e.holdBusy:
		err = fmt.Errorf("%w: a hold change is under way", ErrState)
	case t.Agent != "":
		target, err = a.agentLocked(t.Agent)
		switch {
		case err != nil:
		case target == ag:
			err = invalid("agent", "an agent cannot transfer a call to itself")
		case !slices.Contains(e.q.members, target):
			err = fmt.Errorf("%w: agent %q is not a member of queue %q", ErrForbidden, t.Agent, e.q.cfg.Name)
		case !target.canTake():
			err = fmt.Errorf("%w: agent %q is not available", ErrState, t.Agent)
		}
	case t.Queue != "":
		tq = a.lookupQueue(t.Queue)
		switch {
		case tq == nil:
			err = fmt.Errorf("%w: queue %q", ErrNotFound, t.Queue)
		case !tq.cfg.AutoAssign:
			err = fmt.Errorf("%w: queue %q has automatic assignment off", ErrForbidden, t.Queue)
		}
	}
	if err != nil {
		a.end()
		return "", err
	}
	timeout := DefaultTransferTimeout
	if a.dialing != nil {
		if d := a.dialing.TransferTimeout(); d > 0 {
			timeout = d
		}
	}
	tr := &transfer{id: newID(), by: ag, started: now, deadline: now.Add(timeout), home: e.q}
	switch {
	case target != nil:
		tr.kind, tr.target = TransferAgent, target.cfg.ID
	case tq != nil:
		tr.kind, tr.target = TransferQueue, tq.cfg.Name
	default:
		tr.kind, tr.target = TransferNumber, t.Number
		req.Timeout = timeout
	}
	leg := e.leg
	a.releaseForTransferLocked(e, ag, tr, now)
	a.end()
	if addNumber {
		if err := a.addManualNumber(a.ctx, t.Number); err != nil {
			a.log.Error("add the transfer's number to the phone book", "number", t.Number, "error", err)
		}
	}

	// The music is prepared without the mutex: it may read files or render
	// speech, and asks the ACD for the queue's settings.
	var music *call.Music
	switch {
	case a.dialing == nil:
	case tq != nil:
		music = a.dialing.QueueMusic(a.ctx, tr.target)
	default:
		music = a.dialing.TransferMusic(a.ctx)
	}

	// The agent's leg leaves the call; the caller hears the music.
	if err := e.c.Release(ctx, leg, call.Normal, music); err != nil {
		a.log.Warn("transfer: release the agent's leg", "call_id", callID, "error", err)
		a.hangupLeg(leg, callID)
	}

	now, err = a.begin()
	if err != nil {
		return tr.id, nil
	}
	defer a.end()
	if e.transfer != tr || e.state == stDone {
		return tr.id, nil // the caller hung up meanwhile
	}
	switch tr.kind {
	case TransferAgent:
		if !target.canTake() {
			a.failTransferLocked(e, now, "target_unavailable", 0)
			break
		}
		a.offerLocked(e, target, now)
		tr.rang = now
	case TransferQueue:
		a.moveLocked(e, tq)
		e.state = stWaiting
		tq.insertWaiting(e)
	case TransferNumber:
		e.state = stExternal
		tr.rang = now
		go a.dialExternal(e, tr, dialer, req, music)
	}
	return tr.id, nil
}

// DefaultTransferTimeout bounds a transfer when Calls gives no time-out.
const DefaultTransferTimeout = 30 * time.Second

// releaseForTransferLocked ends the transferring agent's part of the call:
// its talk is counted and it goes to wrap-up at once; the caller's entry
// lives on with the transfer.
func (a *ACD) releaseForTransferLocked(e *entry, ag *agent, tr *transfer, now time.Time) {
	talk := now.Sub(e.answered)
	a.addEvent(e.conv, now, "transfer.started", map[string]any{
		"call_id": e.id, "agent": ag.cfg.ID, "transfer_id": tr.id, "kind": tr.kind, "target": tr.target,
		"talk": talk.String()})
	a.log.Info("transfer started", "call_id", e.id, "agent", ag.cfg.ID, "transfer_id", tr.id, "kind", tr.kind,
		"target", tr.target)
	e.transfer, e.bridged = tr, true
	e.kind = CallTransferred
	e.tried = nil
	e.onHold = false
	a.publishLocked(ag.cfg.ID, EventTransferStarted, now, a.transferData(e, tr, "", 0))
	a.wrapUpLocked(e, ag, now, "transferred", talk)
	e.agent, e.leg = nil, nil
	e.state = stTransferring
	a.transferring[e] = struct{}{}
}

func (a *ACD) transferData(e *entry, tr *transfer, cause string, code int) TransferData {
	return TransferData{TransferID: tr.id, CallID: e.id, ConversationID: e.conv, Kind: tr.kind, Target: tr.target,
		Cause: cause, Code: code}
}

// moveLocked makes q the entry's queue (a transfer to a queue, or back
// home): it keeps its original enqueue time.
func (a *ACD) moveLocked(e *entry, q *queue) {
	if e.q == q {
		q.in[e] = struct{}{}
		return
	}
	e.q.removeWaiting(e)
	delete(e.q.in, e)
	e.q = q
	q.in[e] = struct{}{}
	e.rec.Queue = q.cfg.ID
}

// transferSucceededLocked: the target answered (an agent of the target or
// of a queue: connectLocked; an external number: dialExternal).
func (a *ACD) transferSucceededLocked(e *entry, now time.Time, who string) {
	tr := e.transfer
	if tr == nil {
		return
	}
	e.transfer = nil
	delete(a.transferring, e)
	setup := ""
	if !tr.rang.IsZero() {
		setup = tr.rang.Sub(tr.started).String()
	}
	a.addEvent(e.conv, now, "transfer.succeeded", map[string]any{
		"call_id": e.id, "transfer_id": tr.id, "kind": tr.kind, "target": tr.target, "answered_by": who})
	a.publishLocked(tr.by.cfg.ID, EventTransferSucceeded, now, a.transferData(e, tr, "", 0))
	a.log.Info("transfer succeeded", "call_id", e.id, "transfer_id", tr.id, "kind", tr.kind, "target", tr.target,
		"answered_by", who, "setup", setup, "took", now.Sub(tr.started))
}

// failTransferLocked ends a transfer that did not reach its target: the
// transferring agent is told why and rung again; when it cannot take the
// call, the caller waits in its queue.
func (a *ACD) failTransferLocked(e *entry, now time.Time, cause string, code int) {
	tr := e.transfer
	if tr == nil {
		return
	}
	e.transfer = nil
	delete(a.transferring, e)
	a.addEvent(e.conv, now, "transfer.failed", map[string]any{
		"call_id": e.id, "transfer_id": tr.id, "kind": tr.kind, "target": tr.target, "cause": cause, "code": code})
	a.publishLocked(tr.by.cfg.ID, EventTransferFailed, now, a.transferData(e, tr, cause, code))
	a.log.Info("transfer failed: back to the transferring agent", "call_id", e.id, "transfer_id", tr.id,
		"kind", tr.kind, "target", tr.target, "cause", cause, "agent", tr.by.cfg.ID)
	if (e.state == stOffered || e.state == stAnswering) && e.agent != nil {
		// The target was ringing, or answering when its media failed.
		a.releaseAgentLocked(e.agent, e, now, "transfer_failed")
		e.agent = nil
	}
	a.moveLocked(e, tr.home)
	e.q.removeWaiting(e)
	e.kind = CallRegular
	back := tr.by
	if a.agents[back.cfg.ID] == back && back.entry == nil && back.cfg.Status != "offline" {
		if back.st.System == SystemWrapUp {
			a.endWrapUpLocked(back, now, "transfer_failed")
		}
		a.offerLocked(e, back, now)
		return
	}
	e.state = stWaiting
	e.q.insertWaiting(e)
}

// dialExternal places the external leg of a transfer to a number and
// reports its outcome.
func (a *ACD) dialExternal(e *entry, tr *transfer, d call.Dialer, r call.DialRequest, music *call.Music) {
	err := e.c.DialParty(a.ctx, d, r, music)
	now, berr := a.begin()
	if berr != nil {
		return
	}
	defer a.end()
	if e.transfer != tr || e.state == stDone {
		return
	}
	if err == nil {
		a.transferSucceededLocked(e, now, tr.target)
		// The call now belongs to the external party: the ACD's part ends.
		e.finish()
		delete(e.q.in, e)
		if a.calls[e.id] == e {
			delete(a.calls, e.id)
		}
		e.rec.Ended, e.rec.Result = now, resultTransferred
		a.putRecord(e.rec)
		return
	}
	cause := call.CauseOf(err)
	select {
	case <-e.c.Done():
		return // the caller hung up: watch closes the entry; nobody is rung again
	default:
	}
	if errors.Is(err, call.ErrEnded) {
		return
	}
	a.failTransferLocked(e, now, cause.Reason, cause.Code)
}

// resultTransferred closes a call record whose caller was transferred out
// of the contact center (an external number).
const resultTransferred = "transferred"

// transferDeadlinesLocked fails the transfers whose time-out passed.
func (a *ACD) transferDeadlinesLocked(now time.Time) {
	for e := range a.transferring {
		tr := e.transfer
		if tr != nil && tr.kind != TransferNumber && !now.Before(tr.deadline) && e.state != stConnected &&
			e.state != stAnswering {
			a.failTransferLocked(e, now, "timeout", 408)
		}
	}
}

// nextTransferDeadline is the earliest transfer time-out the timer must wake
// for (external legs time out on their own).
func (a *ACD) nextTransferDeadline() time.Time {
	var next time.Time
	for e := range a.transferring {
		if tr := e.transfer; tr != nil && tr.kind != TransferNumber && (next.IsZero() || tr.deadline.Before(next)) {
			next = tr.deadline
		}
	}
	return next
}

// endTransferLocked closes a transfer the caller ended (hung up): the
// transferring agent is told, nobody is rung again.
func (a *ACD) endTransferLocked(e *entry, now time.Time, cause string) {
	tr := e.transfer
	e.transfer = nil
	delete(a.transferring, e)
	a.addEvent(e.conv, now, "transfer.failed", map[string]any{
		"call_id": e.id, "transfer_id": tr.id, "kind": tr.kind, "target": tr.target, "cause": cause})
	a.publishLocked(tr.by.cfg.ID, EventTransferFailed, now, a.transferData(e, tr, cause, 0))
}

// TargetAgent is an agent a call may be transferred to.
type TargetAgent struct {
	ID        string `json:"id"`
	Name      string `json:"name"`
	Status    string `json:"status"`
	System    string `json:"system"`
	Available bool   `json:"available"`
}

// TargetQueue is a queue a call may be transferred to.
type TargetQueue struct {
	ID   string `json:"id"`
	Name string `json:"name"`
}

// TransferTargets are where the agent may send its call: the other agents
// of the call's queue (available ones first, then by name) and the queues
// with automatic assignment (by name). AllowManualNumbers says whether
// the agent may type a number of no contact (transfers.allow_manual_numbers),
// so that the panel offers free entry only when the switch accepts it.
type TransferTargets struct {
	Agents             []TargetAgent `json:"agents"`
	Queues             []TargetQueue `json:"queues"`
	AllowManualNumbers bool          `json:"allow_manual_numbers"`
}

// TransferTargets lists where the agent's call in progress may go.
func (a *ACD) TransferTargets(agentID, callID string) (TransferTargets, error) {
	if _, err := a.begin(); err != nil {
		return TransferTargets{}, err
	}
	defer a.end()
	ag, e, err := a.connectedLocked(agentID, callID)
	if err != nil {
		return TransferTargets{}, err
	}
	out := TransferTargets{Agents: []TargetAgent{}, Queues: []TargetQueue{}, AllowManualNumbers: a.AllowManualNumbers()}
	for _, m := range e.q.members {
		if m == ag {
			continue
		}
		out.Agents = append(out.Agents, TargetAgent{ID: m.cfg.ID, Name: m.cfg.Name, Status: m.cfg.Status,
			System: m.st.System, Available: m.canTake()})
	}
	slices.SortStableFunc(out.Agents, func(x, y TargetAgent) int {
		if x.Available != y.Available {
			if x.Available {
				return -1
			}
			return 1
		}
		return strings.Compare(x.Name, y.Name)
	})
	for _, q := range a.order {
		if q.cfg.AutoAssign {
			out.Queues = append(out.Queues, TargetQueue{ID: q.cfg.ID, Name: q.cfg.Name})
		}
	}
	slices.SortFunc(out.Queues, func(x, y TargetQueue) int { return strings.Compare(x.Name, y.Name) })
	return out, nil
}

// LiveCall is a call the ACD follows, as the supervisor sees it.
type LiveCall struct {
	CallID         string `json:"call_id"`
	ConversationID string `json:"conversation_id"`
	Queue          string `json:"queue"`
	CustomerNumber string `json:"customer_number"`
	// State: waiting, ringing, talking, on_hold, transferring.
	State     string     `json:"state"`
	Agent     string     `json:"agent,omitempty"`
	Enqueued  time.Time  `json:"enqueued_at"`
	HeldSince *time.Time `json:"held_since,omitempty"`
	// Transfer is the transfer under way: its kind and target.
	Transfer *TransferInfo `json:"transfer,omitempty"`
}

// TransferInfo describes a transfer under way.
type TransferInfo struct {
	ID      string    `json:"id"`
	Kind    string    `json:"kind"`
	Target  string    `json:"target"`
	By      string    `json:"by"`
	Started time.Time `json:"started_at"`
}

// LiveCalls lists the calls the ACD follows, oldest first.
func (a *ACD) LiveCalls() []LiveCall {
	if _, err := a.begin(); err != nil {
		return nil
	}
	defer a.end()
	out := make([]LiveCall, 0, len(a.calls))
	for _, e := range a.calls {
		if e.isCallback() && e.state == stWaiting {
			continue // a request, not a call yet (GET /api/v1/callbacks)
		}
		out = append(out, liveCallLocked(e))
	}
	slices.SortFunc(out, func(x, y LiveCall) int { return x.Enqueued.Compare(y.Enqueued) })
	return out
}

// liveCallLocked describes e as the supervisor sees it.
func liveCallLocked(e *entry) LiveCall {
	lc := LiveCall{CallID: e.id, ConversationID: e.conv, Queue: e.q.cfg.Name, CustomerNumber: e.party.Number,
		Enqueued: e.enq}
	switch e.state {
	case stWaiting:
		lc.State = "waiting"
	case stOffered, stAnswering:
		lc.State = "ringing"
	case stDialing:
		lc.State = "dialing"
	case stConnected:
		lc.State = "talking"
		if e.onHold {
			lc.State = "on_hold"
			t := e.heldAt
			lc.HeldSince = &t
		}
	default:
		lc.State = "transferring"
	}
	if e.agent != nil {
		lc.Agent = e.agent.cfg.ID
	}
	if tr := e.transfer; tr != nil {
		lc.State = "transferring"
		lc.Transfer = &TransferInfo{ID: tr.id, Kind: tr.kind, Target: tr.target, By: tr.by.cfg.ID, Started: tr.started}
	}
	return lc
}

// LiveCall is one call the ACD follows, by id.
func (a *ACD) LiveCall(id string) (LiveCall, bool) {
	if _, err := a.begin(); err != nil {
		return LiveCall{}, false
	}
	defer a.end()
	e := a.calls[id]
	if e == nil {
		return LiveCall{}, false
	}
	return liveCallLocked(e), true
}
