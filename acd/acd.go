// Package acd is the contact-center core: queues, agents and their statuses,
// automatic agent assignment, ring time-outs, wrap-up, conversations and
// queue statistics (SPEC §4).
//
// # Wiring
//
// The dialplan reaches the ACD through its own Queues/Ticket interfaces: a
// two-line adapter whose Enqueue(ctx, queue, *call.Call) calls ACD.Enqueue
// (a *call.Call is a Caller) and returns the *Ticket, which has Found and
// Leave. Package gateway implements Media; the API maps the errors below.
//
// # Concurrency
//
// One mutex guards the whole ACD: every decision (an assignment, a time-out,
// an agent's command) runs under it, so at most one assignment runs per queue
// (and in fact per ACD) at a time. Store writes happen under the mutex, so what
// is stored always follows the order of decisions. Calls out of the ACD that
// may take time or call back (Media.Attach, Caller.Hold, ending a call,
// sending DTMF, hanging up a leg) run with the mutex released.
//
// # Time
//
// Decisions read stored timestamps (store.AgentState: RingingUntil,
// WrapUpUntil, LastHeartbeat, LastCallEnded, ...) against Options.Now; there is
// no timer per agent. One timer is armed for the ACD's next deadline (the
// earliest ring time-out, wrap-up end, heartbeat deadline or callback retry)
// and calls Tick, which processes every deadline that has passed. Every
// command processes passed deadlines first, so its checks see the state as of
// Now. Tests drive a fake clock and call Tick themselves.
//
// # Decisions worth knowing
//
//   - An agent who lets an offer ring out (ring time-out) goes back to the
//     status it chose, normally Available (the SPEC's "moves to the next
//     available agent"); it is not set Away. The call is then offered to the
//     next agent. An agent who declined a call or let it ring out is not
//     offered that same call again while it waits (other callers, yes): with
//     longest idle the same agent would otherwise be first again at once.
//   - An agent whose heartbeat is older than Options.HeartbeatTimeout is set
//     Offline; an offer ringing for it moves on. A call it is on goes on.
//   - Answering asks Options.Media for the agent's leg; the caller's Ticket
//     then delivers an Assignment whose Dialer hands that leg back. If Media is
//     nil or Attach fails, the offer moves to the next agent (ErrMedia).
//   - Hold and Resume ask the call to hold the agent's leg (Caller.Hold): the
//     call's bridge owns its legs' media directions, so the agent's hold and
//     the customer's own re-offers are combined in one place. The agent's
//     leg's end reaches the ACD through the call (the bridge watches the
//     leg's Done and ends the call, which the ACD watches).
//   - Capacity counts the conversations not Closed assigned to the agent (a
//     conversation is assigned to the agent who answers its call). An agent's
//     Capacity of 0 means DefaultCapacity.
//   - Restart: New loads queues, agents, their states and conversations from
//     the store. Calls that were live when the switch stopped (call records
//     with no Ended) are closed: "abandoned" if they were never answered,
//     "interrupted" if they were. Agents lose the system state of those calls
//     (ringing, on call, on hold); a wrap-up still running is kept. Agents that
//     were not Offline get one heartbeat time-out from New to send a heartbeat.
//   - Statistics: live figures are computed on request; cumulative ones count
//     from New (or ResetStats). Call records in the store keep the history.
package acd

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"sync"
	"time"

	"github.com/switchboard-voice/switchboard/call"
	"github.com/switchboard-voice/switchboard/store"
)

// Defaults (SPEC §4).
const (
	// DefaultQueueName is the queue that always exists; like every queue's,
	// its id is its name.
	DefaultQueueName        = "default"
	DefaultRingTimeout      = 30 * time.Second
	MinRingTimeout          = 3 * time.Second
	MaxRingTimeout          = 60 * time.Second
	DefaultWrapUp           = 30 * time.Second
	WrapUpExtension         = 10 * time.Second
	DefaultServiceLevel     = 20 * time.Second
	DefaultHeartbeatTimeout = 30 * time.Second
	// DefaultCapacity is the number of conversations not Closed an agent may
	// hold when its Capacity is 0.
	DefaultCapacity = 10
	// DefaultEventBuffer is each subscription's buffer.
	DefaultEventBuffer = 64
	// dtmfDuration is how long each digit an agent sends to the caller lasts.
	dtmfDuration = 100 * time.Millisecond
)

// Strategies of assignment.
const (
	LongestIdle   = "longest_idle"
	RoundRobin    = "round_robin"
	FewestCalls   = "fewest_calls"
	LeastTalkTime = "least_talk_time"
	Random        = "random"
)

// System states of an agent (store.AgentState.System).
const (
	SystemIdle     = ""
	SystemRinging  = "ringing"
	SystemOnCall   = "on_call"
	SystemOnHold   = "on_hold"
	SystemWrapUp   = "wrap_up"
	resultAnswered = "answered"
	resultAbandon  = "abandoned"
	resultBroken   = "interrupted"
)

// Call types shown with an offer.
const (
	CallRegular     = "regular"
	CallTransferred = "transferred"
	CallCallback    = "callback"
)

// Errors the API maps onto HTTP statuses; check them with errors.Is.
var (
	ErrNotFound  = errors.New("acd: not found")
	ErrForbidden = errors.New("acd: forbidden")
	ErrConflict  = errors.New("acd: already exists")
	ErrState     = errors.New("acd: not allowed in the current state")
	ErrInvalid   = errors.New("acd: invalid")
	ErrManaged   = errors.New("acd: managed by the configuration")
	ErrMedia     = errors.New("acd: agent media unavailable")
	ErrClosed    = errors.New("acd: closed")
	// ErrUnavailable: the switch cannot place the call (no route leads to
	// the number).
	ErrUnavailable = errors.New("acd: unavailable")
)

// InvalidError names the field that is wrong; errors.Is(err, ErrInvalid) holds.
type InvalidError struct {
	Field  string
	Reason string
}

func (e *InvalidError) Error() string {
	return fmt.Sprintf("acd: invalid %s: %s", e.Field, e.Reason)
}

// Is makes errors.Is(err, ErrInvalid) true.
func (e *InvalidError) Is(target error) bool { return target == ErrInvalid }

func invalid(field, format string, args ...any) error {
	return &InvalidError{Field: field, Reason: fmt.Sprintf(format, args...)}
}

// stored maps a store lookup's outcome to the ACD's errors: store.ErrNotFound
// becomes ErrNotFound naming what and id; any other error is wrapped.
func stored[T any](v T, err error, what, id string) (T, error) {
	var zero T
	if errors.Is(err, store.ErrNotFound) {
		return zero, fmt.Errorf("%w: %s %q", ErrNotFound, what, id)
	}
	if err != nil {
		return zero, fmt.Errorf("acd: get %s: %w", what, err)
	}
	return v, nil
}

// Store is what the ACD needs of the database (store.Store has it).
type Store interface {
	store.Agents
	store.Queues
	store.Conversations
	store.Contacts
	store.Callbacks
}

// Media connects an agent's media session to a call (package gateway
// implements it): Attach returns the agent's leg for the call, which emits
// call.Answered at once so that the dialplan bridges it.
type Media interface {
	Attach(ctx context.Context, agentID, callID string) (call.Leg, error)
}

// Caller is what the ACD needs of a waiting call; *call.Call has it.
type Caller interface {
	ID() string
	// Inbound is the caller's leg: the customer (From), DTMF to the caller.
	Inbound() call.Inbound
	// Anchor is the customer's leg: the caller's, or the customer an
	// agent called once it answered (DTMF goes there).
	Anchor() call.Leg
	Done() <-chan struct{}
	End(ctx context.Context, cause call.Cause)
	// HoldWith holds (on) or resumes one of the call's bridged legs, the
	// agent's, with music for the caller: the call's bridge owns its legs'
	// directions, so a caller's own hold and the agent's are combined in
	// one place.
	HoldWith(ctx context.Context, leg call.Leg, on bool, music *call.Music) error
	// Release takes the agent's leg out of the call (a transfer); the
	// caller hears feed.
	Release(ctx context.Context, leg call.Leg, cause call.Cause, feed *call.Music) error
	// Join joins an agent's answered leg to the call (after a transfer).
	Join(ctx context.Context, leg call.Leg) error
	// DialParty places an external leg as the call's party (a transfer to a
	// number): nil once it answered, its cause when it failed.
	DialParty(ctx context.Context, d call.Dialer, r call.DialRequest, feed *call.Music) error
}

var _ Caller = (*call.Call)(nil)

// Options configure an ACD.
type Options struct {
	Store Store
	// Media gives agents' legs on answer; nil: answering fails and the offer
	// moves on.
	Media Media
	// Calls gives hold and transfer music and external legs; nil: holds
	// are silent and transfers to numbers are refused.
	Calls Calls
	Log   *slog.Logger
	// Now is the clock; nil: time.Now.
	Now func() time.Time
	// HeartbeatTimeout sets an agent Offline when its last heartbeat is older;
	// 0: DefaultHeartbeatTimeout; negative: heartbeats are not checked.
	HeartbeatTimeout time.Duration
	// Rand drives the random strategy; nil: a randomly seeded source.
	Rand *rand.Rand
	// EventBuffer is each subscription's buffer; 0: DefaultEventBuffer.
	EventBuffer int
	// AllowManualNumbers lets external transfers dial numbers of no contact
	// tagged external_number (transfers.allow_manual_numbers; see
	// CheckExternalNumber and SetAllowManualNumbers).
	AllowManualNumbers bool
}

// ACD is the contact-center core. Its methods are safe for concurrent use.
type ACD struct {
	st      Store
	media   Media
	dialing Calls
	log     *slog.Logger
	now     func() time.Time
	hb      time.Duration
	rng     *rand.Rand
	evBuf   int
	ctx     context.Context // for writes that no request carries

	mu      sync.Mutex
	closed  bool
	done    chan struct{}
	queues  map[string]*queue // by id
	order   []*queue          // by priority, for assignment
	agents  map[string]*agent
	byToken map[string]*agent
	calls   map[string]*entry // live calls by id
	// transferring are the calls whose transfer is under way.
	transferring map[*entry]struct{}
	convOwner    map[string]*convInfo // conversations not Closed that have an agent
	seq          uint64
	timer        *time.Timer
	timerAt      time.Time
	subs         map[string]map[*subscription]struct{}
	dropped      uint64
	since        time.Time // cumulative stats count from here
	elig         []*agent  // scratch for pick
	book         phoneBook
	// cbDue are the callback requests waiting for a retry: id → when it
	// goes back in queue (deadlines of the one timer).
	cbDue map[string]time.Time
	// cbNext is the earliest of cbDue (zero: none), so that the deadline
	// runs of every command do not scan them all; it may be early (a
	// request closed meanwhile), never late.
	cbNext time.Time
	// cbEntries are the automated callback requests in their queues'
	// waiting lists (or offered), by request id.
	cbEntries map[string]*entry
}

type convInfo struct {
	agent  string
	status string
}

// New loads the ACD's state from o.Store (creating the Default queue if it
// is missing) and closes the calls a previous run left live.
func New(ctx context.Context, o Options) (*ACD, error) {
	if o.Store == nil {
		return nil, errors.New("acd: no store")
	}
	if o.Log == nil {
		o.Log = slog.Default()
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.HeartbeatTimeout == 0 {
		o.HeartbeatTimeout = DefaultHeartbeatTimeout
	}
	if o.Rand == nil {
		o.Rand = rand.New(rand.NewPCG(rand.Uint64(), rand.Uint64()))
	}
	if o.EventBuffer <= 0 {
		o.EventBuffer = DefaultEventBuffer
	}
	a := &ACD{
		st:           o.Store,
		media:        o.Media,
		dialing:      o.Calls,
		log:          o.Log.With("component", "acd"),
		now:          o.Now,
		hb:           o.HeartbeatTimeout,
		rng:          o.Rand,
		evBuf:        o.EventBuffer,
		ctx:          context.WithoutCancel(ctx),
		done:         make(chan struct{}),
		queues:       map[string]*queue{},
		agents:       map[string]*agent{},
		byToken:      map[string]*agent{},
		calls:        map[string]*entry{},
		transferring: map[*entry]struct{}{},
		convOwner:    map[string]*convInfo{},
		subs:         map[string]map[*subscription]struct{}{},
		cbDue:        map[string]time.Time{},
		cbEntries:    map[string]*entry{},
	}
	a.book.manual.Store(o.AllowManualNumbers)
	if err := a.load(ctx); err != nil {
		return nil, err
	}
	a.mu.Lock()
	now := a.now()
	a.since = now
	a.settleLocked(now)
	a.mu.Unlock()
	return a, nil
}

// load reads the store (New only, before the ACD is shared).
func (a *ACD) load(ctx context.Context) error {
	now := a.now()
	qs, err := a.st.ListQueues(ctx)
	if err != nil {
		return fmt.Errorf("acd: load queues: %w", err)
	}
	for _, q := range qs {
		fillQueueDefaults(&q)
		a.queues[q.ID] = &queue{cfg: q, in: map[*entry]struct{}{}}
	}
	if a.lookupQueue(DefaultQueueName) == nil {
		q := store.Queue{ID: DefaultQueueName, Name: DefaultQueueName, CreatedAt: now, UpdatedAt: now}
		fillQueueDefaults(&q)
		if err := a.st.PutQueue(ctx, q); err != nil {
			return fmt.Errorf("acd: create the Default queue: %w", err)
		}
		a.queues[q.ID] = &queue{cfg: q, in: map[*entry]struct{}{}}
		a.log.Info("created the Default queue", "queue", q.Name)
	}

	states, err := a.st.ListAgentStates(ctx)
	if err != nil {
		return fmt.Errorf("acd: load agent states: %w", err)
	}
	byAgent := map[string]store.AgentState{}
	for _, s := range states {
		byAgent[s.AgentID] = s
	}
	ags, err := a.st.ListAgents(ctx)
	if err != nil {
		return fmt.Errorf("acd: load agents: %w", err)
	}
	for _, ac := range ags {
		s, ok := byAgent[ac.ID]
		if !ok {
			s = store.AgentState{AgentID: ac.ID, StatusSince: ac.UpdatedAt}
		}
		changed := !ok
		switch s.System {
		case SystemIdle:
		case SystemWrapUp:
			if !s.WrapUpUntil.After(now) {
				s.System, s.WrapUpUntil, s.CallID = SystemIdle, time.Time{}, ""
				changed = true
			}
		default: // ringing, on call or on hold: that call died with the switch
			s.System, s.RingingUntil, s.WrapUpUntil, s.CallID = SystemIdle, time.Time{}, time.Time{}, ""
			changed = true
		}
		if ac.Status != store.StatusOffline && a.hb > 0 {
			s.LastHeartbeat = now // one time-out's grace to reconnect
			changed = true
		}
		ag := &agent{cfg: ac, st: s}
		a.agents[ac.ID] = ag
		if ac.TokenHash != "" {
			a.byToken[ac.TokenHash] = ag
		}
		if changed {
			if err := a.st.PutAgentState(ctx, s); err != nil {
				return fmt.Errorf("acd: agent %s state: %w", ac.ID, err)
			}
		}
	}
	a.rebuildLocked()

	convs, err := a.st.ListConversations(ctx, 0)
	if err != nil {
		return fmt.Errorf("acd: load conversations: %w", err)
	}
	for _, c := range convs {
		a.trackConvLocked(c.ID, c.AgentID, c.Status)
	}

	if err := a.loadCallbacks(ctx); err != nil {
		return err
	}

	live, err := a.st.ListCallRecords(ctx, time.Time{}, true)
	if err != nil {
		return fmt.Errorf("acd: load live calls: %w", err)
	}
	for _, r := range live {
		r.Ended = now
		r.Result = resultAbandon
		if !r.Answered.IsZero() {
			r.Result = resultBroken
		}
		if err := a.st.PutCallRecord(ctx, r); err != nil {
			return fmt.Errorf("acd: close call record %s: %w", r.ID, err)
		}
		if r.ConversationID != "" {
			a.addEvent(r.ConversationID, now, "ended", map[string]any{
				"call_id": r.ID, "result": r.Result, "reason": "switch restarted"})
		}
		a.log.Warn("call left live by a previous run closed", "call_id", r.ID, "queue", r.Queue,
			"agent", r.AgentID, "result", r.Result)
	}
	return nil
}

// Close stops the timer and every subscription; tickets of callers still
// waiting deliver nothing more. The store is the caller's to close.
func (a *ACD) Close() error {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.closed {
		return nil
	}
	a.closed = true
	close(a.done)
	if a.timer != nil {
		a.timer.Stop()
	}
	for id, set := range a.subs {
		for s := range set {
			close(s.ch)
		}
		delete(a.subs, id)
	}
	return nil
}

// Tick processes every deadline that has passed (ring time-outs, wrap-up
// ends, missed heartbeats), runs assignment and arms the timer for the next
// deadline. The ACD's timer calls it; tests with a fake clock call it too.
func (a *ACD) Tick() {
	if _, err := a.begin(); err != nil {
		return
	}
	a.timerAt = time.Time{} // re-arm even for the same deadline
	a.end()
}

// begin takes the mutex and processes passed deadlines. On error the mutex
// is not held.
func (a *ACD) begin() (time.Time, error) {
	a.mu.Lock()
	if a.closed {
		a.mu.Unlock()
		return time.Time{}, ErrClosed
	}
	now := a.now()
	a.advanceLocked(now)
	return now, nil
}

// end runs assignment, re-arms the timer and releases the mutex.
func (a *ACD) end() {
	a.settleLocked(a.now())
	a.mu.Unlock()
}

func (a *ACD) settleLocked(now time.Time) {
	if a.closed {
		return
	}
	a.assignLocked(now)
	a.rescheduleLocked(now)
}

// advanceLocked processes every deadline at or before now.
func (a *ACD) advanceLocked(now time.Time) {
	for _, ag := range a.agents {
		if a.hb > 0 && ag.cfg.Status != store.StatusOffline && !now.Before(ag.st.LastHeartbeat.Add(a.hb)) {
			a.log.Info("heartbeat missed: agent set offline", "agent", ag.cfg.ID,
				"last_heartbeat", ag.st.LastHeartbeat)
			if ag.entry != nil && ag.entry.state == stOffered {
				a.returnOfferLocked(ag.entry, now, "heartbeat")
			}
			a.setStatusLocked(ag, store.StatusOffline, now)
		}
		switch ag.st.System {
		case SystemRinging:
			if ag.entry != nil && ag.entry.state == stOffered && !now.Before(ag.st.RingingUntil) {
				a.returnOfferLocked(ag.entry, now, "timeout")
			}
		case SystemWrapUp:
			if !now.Before(ag.st.WrapUpUntil) {
				a.endWrapUpLocked(ag, now, "timer")
			}
		}
	}
	a.transferDeadlinesLocked(now)
	a.callbackDeadlinesLocked(now)
}

// rescheduleLocked arms the timer for the earliest deadline after now.
func (a *ACD) rescheduleLocked(now time.Time) {
	var next time.Time
	earlier := func(t time.Time) {
		if !t.IsZero() && (next.IsZero() || t.Before(next)) {
			next = t
		}
	}
	for _, ag := range a.agents {
		if a.hb > 0 && ag.cfg.Status != store.StatusOffline {
			earlier(ag.st.LastHeartbeat.Add(a.hb))
		}
		switch ag.st.System {
		case SystemRinging:
			if ag.entry != nil && ag.entry.state == stOffered {
				earlier(ag.st.RingingUntil)
			}
		case SystemWrapUp:
			earlier(ag.st.WrapUpUntil)
		}
	}
	earlier(a.nextTransferDeadline())
	earlier(a.nextCallbackDue())
	if next.IsZero() {
		if a.timer != nil {
			a.timer.Stop()
		}
		a.timerAt = time.Time{}
		return
	}
	if next.Equal(a.timerAt) {
		return
	}
	a.timerAt = next
	d := max(next.Sub(now), time.Millisecond)
	if a.timer == nil {
		a.timer = time.AfterFunc(d, a.Tick)
		return
	}
	a.timer.Reset(d)
}

// addEvent stores a conversation event; failures are logged.
func (a *ACD) addEvent(convID string, at time.Time, typ string, data any) {
	if convID == "" {
		return
	}
	raw, err := jsonRaw(data)
	if err == nil {
		_, err = a.st.AddEvent(a.ctx, store.Event{ConversationID: convID, At: at, Type: typ, Data: raw})
	}
	if err != nil {
		a.log.Error("store conversation event", "conversation", convID, "type", typ, "error", err)
	}
}

func (a *ACD) putState(ag *agent) {
	if a.agents[ag.cfg.ID] != ag {
		return // deleted meanwhile
	}
	if err := a.st.PutAgentState(a.ctx, ag.st); err != nil {
		a.log.Error("store agent state", "agent", ag.cfg.ID, "error", err)
	}
}

func (a *ACD) putRecord(r store.CallRecord) {
	if err := a.st.PutCallRecord(a.ctx, r); err != nil {
		a.log.Error("store call record", "call_id", r.ID, "error", err)
	}
}
