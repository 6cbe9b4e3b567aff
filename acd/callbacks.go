package acd

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/switchboard-voice/switchboard/call"
	"github.com/switchboard-voice/switchboard/store"
)

// Callbacks: configurations (how requests of one kind are handled) and
// requests to call a customer back, kept in the store. Configurations of
// the YAML file are managed (ApplyCallbackConfigs) and read-only through the
// API. A request goes in_queue → assigned → active → done, or no_reply after
// a failed attempt, then back in_queue after its retry delay while retries
// remain, else closed. Due retries are deadlines of the ACD's one timer, not
// a timer each; New loads them, so a restart resumes them on time. Dialling
// is the caller's: it reports each attempt with CallbackAttempt.

// Callback configuration bounds and defaults (config.CallbackConfig's).
const (
	DefaultCallbackRetries    = 2
	MaxCallbackRetries        = 10
	DefaultCallbackRetryDelay = 5 * time.Minute
	MinCallbackRetryDelay     = 10 * time.Second
	MaxCallbackRetryDelay     = 24 * time.Hour
	// CallbackInboundFirst and CallbackQueuePosition are the priority
	// modes of automated callbacks.
	CallbackInboundFirst  = "inbound_first"
	CallbackQueuePosition = "queue_position"
)

// Attempt outcomes (store.CallbackAttempt.Outcome).
const (
	AttemptAnswered = "answered"
	AttemptNoReply  = "no_reply"
)

// callbackStatuses are the statuses a filter may name.
var callbackStatuses = []string{store.CallbackInQueue, store.CallbackAssigned, store.CallbackActive,
	store.CallbackNoReply, store.CallbackDone}

// CallbackRequest asks for a customer to be called back.
type CallbackRequest struct {
	// Config names the callback configuration (required).
	Config string
	// Number is the customer's, E.164 (required).
	Number string
	// Queue overrides the configuration's queue; "" keeps it.
	Queue string
	// Enqueued is when the customer's call started waiting; zero: now.
	Enqueued time.Time
	// ConversationID is the customer's call's conversation; "" joins the
	// customer's open conversation, or starts one.
	ConversationID string
}

// normalizeCallbackConfig fills defaults and validates c against the ACD's
// queues (under the mutex).
func (a *ACD) normalizeCallbackConfigLocked(c *store.CallbackConfig) error {
	c.Name = strings.TrimSpace(c.Name)
	if c.Name == "" {
		return invalid("name", "a callback configuration needs a name")
	}
	c.ID = c.Name
	c.Type, c.Priority = strings.ToLower(c.Type), strings.ToLower(c.Priority)
	switch c.Type {
	case store.CallbackAutomated:
		if c.Priority == "" {
			c.Priority = CallbackInboundFirst
		}
		if c.Priority != CallbackInboundFirst && c.Priority != CallbackQueuePosition {
			return invalid("priority", "%q is not one of inbound_first, queue_position", c.Priority)
		}
	case store.CallbackManual:
		if c.Priority != "" {
			return invalid("priority", "applies to automated callbacks only")
		}
	default:
		return invalid("type", "%q is not one of automated, manual", c.Type)
	}
	q := a.lookupQueue(c.Queue)
	if q == nil {
		return invalid("queue", "no queue %q", c.Queue)
	}
	c.Queue = q.cfg.Name
	if c.Retries < 0 || c.Retries > MaxCallbackRetries {
		return invalid("retries", "%d is outside 0–%d", c.Retries, MaxCallbackRetries)
	}
	if c.RetryDelay == 0 {
		c.RetryDelay = DefaultCallbackRetryDelay
	}
	if c.RetryDelay < MinCallbackRetryDelay || c.RetryDelay > MaxCallbackRetryDelay {
		return invalid("retry_delay", "%s is outside 10s–24h", c.RetryDelay)
	}
	if c.ConfirmationFile != "" && c.ConfirmationSay != "" {
		return invalid("confirmation", "has both a file and a text: use one")
	}
	return nil
}

// ApplyCallbackConfigs makes configs (the configuration's, at start and on
// reload) the managed callback configurations: each is created, or
// replaced when one of the same name exists (one the API created is taken
// over); managed ones no longer listed are removed. Everything is validated
// before anything is written. Requests keep what they took from their
// configuration.
func (a *ACD) ApplyCallbackConfigs(ctx context.Context, configs []store.CallbackConfig) error {
	now, err := a.begin()
	if err != nil {
		return err
	}
	defer a.end()
	seen := map[string]bool{}
	want := make([]store.CallbackConfig, 0, len(configs))
	for i, c := range configs {
		if err := a.normalizeCallbackConfigLocked(&c); err != nil {
			return fmt.Errorf("callbacks[%d] %q: %w", i, c.Name, err)
		}
		if seen[c.ID] {
			return fmt.Errorf("callbacks[%d] %q: %w", i, c.Name, invalid("name", "declared twice"))
		}
		seen[c.ID] = true
		want = append(want, c)
	}
	all, err := a.st.ListCallbackConfigs(ctx)
	if err != nil {
		return fmt.Errorf("acd: list callback configs: %w", err)
	}
	old := map[string]store.CallbackConfig{}
	for _, c := range all {
		old[c.ID] = c
		if c.Managed && !seen[c.ID] {
			if err := a.st.DeleteCallbackConfig(ctx, c.ID); err != nil && !errors.Is(err, store.ErrNotFound) {
				return fmt.Errorf("acd: delete callback config %q: %w", c.Name, err)
			}
			a.log.Info("callback config removed with the configuration", "callback_config", c.Name)
		}
	}
	for _, c := range want {
		c.Managed, c.CreatedAt, c.UpdatedAt = true, now, now
		if o, ok := old[c.ID]; ok {
			c.CreatedAt = o.CreatedAt
		}
		if err := a.st.PutCallbackConfig(ctx, c); err != nil {
			return fmt.Errorf("acd: store callback config %q: %w", c.Name, err)
		}
	}
	a.log.Info("callback configs applied", "callback_configs", len(want))
	return nil
}

// CallbackConfigs lists every callback configuration by name.
func (a *ACD) CallbackConfigs(ctx context.Context) ([]store.CallbackConfig, error) {
	cs, err := a.st.ListCallbackConfigs(ctx)
	if err != nil {
		return nil, fmt.Errorf("acd: list callback configs: %w", err)
	}
	return cs, nil
}

// CallbackConfig returns the callback configuration id (its name);
// ErrNotFound when there is none.
func (a *ACD) CallbackConfig(ctx context.Context, id string) (store.CallbackConfig, error) {
	c, err := a.st.GetCallbackConfig(ctx, id)
	return stored(c, err, "callback config", id)
}

// CreateCallbackConfig adds a callback configuration; its name is its id.
// A name taken is ErrConflict, a configuration not valid ErrInvalid.
func (a *ACD) CreateCallbackConfig(ctx context.Context, c store.CallbackConfig) (store.CallbackConfig, error) {
	now, err := a.begin()
	if err != nil {
		return store.CallbackConfig{}, err
	}
	defer a.end()
	if err := a.normalizeCallbackConfigLocked(&c); err != nil {
		return store.CallbackConfig{}, err
	}
	if _, err := a.st.GetCallbackConfig(ctx, c.ID); err == nil {
		return store.CallbackConfig{}, fmt.Errorf("%w: callback config %q", ErrConflict, c.Name)
	}
	c.Managed, c.CreatedAt, c.UpdatedAt = false, now, now
	if err := a.st.PutCallbackConfig(ctx, c); err != nil {
		return store.CallbackConfig{}, fmt.Errorf("acd: store callback config: %w", err)
	}
	a.log.Info("callback config created", "callback_config", c.Name, "type", c.Type, "queue", c.Queue)
	return c, nil
}

// UpdateCallbackConfig replaces the callback configuration c.Name; a
// managed one is ErrManaged. Requests made already keep what they took.
func (a *ACD) UpdateCallbackConfig(ctx context.Context, c store.CallbackConfig) (store.CallbackConfig, error) {
	now, err := a.begin()
	if err != nil {
		return store.CallbackConfig{}, err
	}
	defer a.end()
	if err := a.normalizeCallbackConfigLocked(&c); err != nil {
		return store.CallbackConfig{}, err
	}
	old, err := a.CallbackConfig(ctx, c.ID)
	if err != nil {
		return store.CallbackConfig{}, err
	}
	if old.Managed {
		return store.CallbackConfig{}, fmt.Errorf("%w: callback config %q", ErrManaged, old.Name)
	}
	c.Managed, c.CreatedAt, c.UpdatedAt = false, old.CreatedAt, now
	if err := a.st.PutCallbackConfig(ctx, c); err != nil {
		return store.CallbackConfig{}, fmt.Errorf("acd: store callback config: %w", err)
	}
	a.log.Info("callback config updated", "callback_config", c.Name)
	return c, nil
}

// DeleteCallbackConfig removes a callback configuration; a managed one is
// ErrManaged. Its requests stay.
func (a *ACD) DeleteCallbackConfig(ctx context.Context, id string) error {
	if _, err := a.begin(); err != nil {
		return err
	}
	defer a.end()
	old, err := a.CallbackConfig(ctx, id)
	if err != nil {
		return err
	}
	if old.Managed {
		return fmt.Errorf("%w: callback config %q", ErrManaged, old.Name)
	}
	if err := a.st.DeleteCallbackConfig(ctx, id); err != nil && !errors.Is(err, store.ErrNotFound) {
		return fmt.Errorf("acd: delete callback config: %w", err)
	}
	a.log.Info("callback config deleted", "callback_config", id)
	return nil
}

// RequestCallback stores a request to call r.Number back, in_queue, and
// adds callback.requested to its conversation. An unknown configuration or
// queue is ErrNotFound; a request not valid ErrInvalid.
func (a *ACD) RequestCallback(ctx context.Context, r CallbackRequest) (store.Callback, error) {
	if msg := e164Problem(r.Number); msg != "" {
		return store.Callback{}, invalid("number", "%s", msg)
	}
	now, err := a.begin()
	if err != nil {
		return store.Callback{}, err
	}
	defer a.end()
	cfg, err := a.CallbackConfig(ctx, r.Config)
	if err != nil {
		return store.Callback{}, err
	}
	qname := cfg.Queue
	if r.Queue != "" {
		qname = r.Queue
	}
	q := a.lookupQueue(qname)
	if q == nil {
		return store.Callback{}, fmt.Errorf("%w: queue %q", ErrNotFound, qname)
	}
	if r.Enqueued.IsZero() {
		r.Enqueued = now
	}
	if r.ConversationID == "" {
		conv, _, err := a.joinConversationLocked(ctx, call.Party{Number: r.Number}, q, now)
		if err != nil {
			return store.Callback{}, err
		}
		r.ConversationID = conv.ID
	} else if c, err := a.st.GetConversation(ctx, r.ConversationID); err != nil {
		_, err = stored(c, err, "conversation", r.ConversationID)
		return store.Callback{}, err
	}
	cb := store.Callback{ID: newID(), Config: cfg.Name, Type: cfg.Type, Queue: q.cfg.Name, Retries: cfg.Retries,
		RetryDelay: cfg.RetryDelay, Number: r.Number, ConversationID: r.ConversationID, Enqueued: r.Enqueued,
		CreatedAt: now, UpdatedAt: now, Status: store.CallbackInQueue, Attempts: []store.CallbackAttempt{}}
	if err := a.st.PutCallback(ctx, cb); err != nil {
		return store.Callback{}, fmt.Errorf("acd: store callback: %w", err)
	}
	if cb.Type == store.CallbackAutomated {
		a.queueCallbackLocked(cb, cfg.Priority, cfg.Schedule)
	}
	a.addEvent(cb.ConversationID, now, "callback.requested", map[string]any{
		"callback_id": cb.ID, "config": cb.Config, "type": cb.Type, "queue": cb.Queue, "number": cb.Number})
	a.log.Info("callback requested", "callback_id", cb.ID, "callback_config", cb.Config, "queue", cb.Queue)
	return cb, nil
}

// Callbacks lists the requests f selects, oldest first. An unknown status
// or type is ErrInvalid.
func (a *ACD) Callbacks(ctx context.Context, f store.CallbackFilter) ([]store.Callback, error) {
	if f.Status != "" && !slices.Contains(callbackStatuses, f.Status) {
		return nil, invalid("status", "%q is not one of %s", f.Status, strings.Join(callbackStatuses, ", "))
	}
	if f.Type != "" && f.Type != store.CallbackAutomated && f.Type != store.CallbackManual {
		return nil, invalid("type", "%q is not one of automated, manual", f.Type)
	}
	cs, err := a.st.ListCallbacks(ctx, f)
	if err != nil {
		return nil, fmt.Errorf("acd: list callbacks: %w", err)
	}
	return cs, nil
}

// Callback returns the request id with its attempts; ErrNotFound when there
// is none.
func (a *ACD) Callback(ctx context.Context, id string) (store.Callback, error) {
	c, err := a.st.GetCallback(ctx, id)
	return stored(c, err, "callback", id)
}

// AgentQueueNames returns the names of the agent's queues; ErrNotFound for
// an unknown agent.
func (a *ACD) AgentQueueNames(agentID string) ([]string, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	ag, ok := a.agents[agentID]
	if !ok {
		return nil, fmt.Errorf("%w: agent %q", ErrNotFound, agentID)
	}
	names := []string{}
	for _, id := range ag.cfg.Queues {
		if q, ok := a.queues[id]; ok {
			names = append(names, q.cfg.Name)
		}
	}
	return names, nil
}

// AssignCallback gives the manual request id to the agent, atomically: of
// two agents taking it, one gets it and the other ErrState. The agent must
// be in the request's queue (ErrForbidden); an automated request, or one
// not in_queue, is ErrState.
func (a *ACD) AssignCallback(ctx context.Context, agentID, id string) (store.Callback, error) {
	now, err := a.begin()
	if err != nil {
		return store.Callback{}, err
	}
	defer a.end()
	ag, ok := a.agents[agentID]
	if !ok {
		return store.Callback{}, fmt.Errorf("%w: agent %q", ErrNotFound, agentID)
	}
	cb, err := a.Callback(ctx, id)
	if err != nil {
		return store.Callback{}, err
	}
	if !a.inQueueLocked(ag, cb.Queue) {
		return store.Callback{}, fmt.Errorf("%w: agent %q is not in queue %q", ErrForbidden, agentID, cb.Queue)
	}
	if cb.Type != store.CallbackManual {
		return store.Callback{}, fmt.Errorf("%w: callback %s is automated: the switch offers it", ErrState, id)
	}
	if cb.Status != store.CallbackInQueue {
		return store.Callback{}, fmt.Errorf("%w: callback %s is %s (agent %q)", ErrState, id, cb.Status, cb.AgentID)
	}
	cb.Status, cb.AgentID, cb.UpdatedAt = store.CallbackAssigned, agentID, now
	ok, err = a.st.UpdateCallbackIf(ctx, cb, store.CallbackInQueue)
	if err != nil {
		return store.Callback{}, fmt.Errorf("acd: assign callback: %w", err)
	}
	if !ok { // another switch process took it meanwhile
		return store.Callback{}, fmt.Errorf("%w: callback %s was assigned meanwhile", ErrState, id)
	}
	a.addEvent(cb.ConversationID, now, "callback.assigned", map[string]any{"callback_id": cb.ID, "agent_id": agentID})
	a.log.Info("callback assigned", "callback_id", cb.ID, "agent", agentID)
	return cb, nil
}

// inQueueLocked reports whether ag is a member of the queue named name.
func (a *ACD) inQueueLocked(ag *agent, name string) bool {
	q := a.lookupQueue(name)
	return q != nil && slices.Contains(ag.cfg.Queues, q.cfg.ID)
}

// CallbackDialing marks the request id active: agentID calls the customer
// (the dialling code calls it as the attempt starts). The request must be
// in_queue or assigned to agentID (ErrState).
func (a *ACD) CallbackDialing(ctx context.Context, id, agentID string) (store.Callback, error) {
	now, err := a.begin()
	if err != nil {
		return store.Callback{}, err
	}
	defer a.end()
	cb, err := a.Callback(ctx, id)
	if err != nil {
		return store.Callback{}, err
	}
	switch {
	case cb.Status == store.CallbackInQueue:
	case cb.Status == store.CallbackAssigned && cb.AgentID == agentID:
	default:
		return store.Callback{}, fmt.Errorf("%w: callback %s is %s (agent %q)", ErrState, id, cb.Status, cb.AgentID)
	}
	prev := cb.Status
	cb.Status, cb.AgentID, cb.UpdatedAt = store.CallbackActive, agentID, now
	ok, err := a.st.UpdateCallbackIf(ctx, cb, prev)
	if err != nil {
		return store.Callback{}, fmt.Errorf("acd: callback dialing: %w", err)
	}
	if !ok {
		return store.Callback{}, fmt.Errorf("%w: callback %s changed meanwhile", ErrState, id)
	}
	a.addEvent(cb.ConversationID, now, "callback.active", map[string]any{"callback_id": cb.ID, "agent_id": agentID})
	return cb, nil
}

// CallbackAttempt records an attempt of agentID to call the request id back
// (code and reason: the SIP result) and moves the request on: done when the
// customer answered; otherwise no_reply, back in_queue after its retry delay
// while retries remain, else closed. The request must be assigned or
// active (ErrState). Events: callback.attempt, then callback.done, or
// callback.no_reply (and callback.closed).
func (a *ACD) CallbackAttempt(ctx context.Context, id, agentID string, code int, reason string, answered bool) (store.Callback, error) {
	return a.callbackAttempt(ctx, id, agentID, code, reason, answered, false)
}

// callbackAttempt is CallbackAttempt; with talking, an answered attempt
// leaves the request active while the customer talks (callbackDone ends
// it).
func (a *ACD) callbackAttempt(ctx context.Context, id, agentID string, code int, reason string, answered, talking bool) (store.Callback, error) {
	now, err := a.begin()
	if err != nil {
		return store.Callback{}, err
	}
	defer a.end()
	cb, err := a.Callback(ctx, id)
	if err != nil {
		return store.Callback{}, err
	}
	if cb.Status != store.CallbackAssigned && cb.Status != store.CallbackActive {
		return store.Callback{}, fmt.Errorf("%w: callback %s is %s, not being called", ErrState, id, cb.Status)
	}
	at := store.CallbackAttempt{At: now, AgentID: agentID, SIPCode: code, Reason: reason, Outcome: AttemptNoReply}
	if answered {
		at.Outcome = AttemptAnswered
	}
	cb.AttemptsMade++
	cb.UpdatedAt, cb.AgentID = now, agentID
	retry := false
	switch {
	case answered && talking:
		cb.Status, cb.NextAttemptAt = store.CallbackActive, time.Time{}
	case answered:
		cb.Status, cb.NextAttemptAt = store.CallbackDone, time.Time{}
	case cb.AttemptsMade <= cb.Retries:
		cb.Status, cb.NextAttemptAt, retry = store.CallbackNoReply, now.Add(cb.RetryDelay), true
	default:
		cb.Status, cb.NextAttemptAt = store.CallbackNoReply, time.Time{} // stays no_reply, closed
	}
	if err := a.st.AddCallbackAttempt(ctx, cb, at); err != nil {
		return store.Callback{}, fmt.Errorf("acd: callback attempt: %w", err)
	}
	cb.Attempts = append(cb.Attempts, at)
	a.addEvent(cb.ConversationID, now, "callback.attempt", map[string]any{"callback_id": cb.ID, "agent_id": agentID,
		"attempt": cb.AttemptsMade, "sip_code": code, "reason": reason, "outcome": at.Outcome})
	switch {
	case answered && talking:
	case answered:
		a.addEvent(cb.ConversationID, now, "callback.done", map[string]any{"callback_id": cb.ID, "agent_id": agentID})
	case retry:
		a.dueLocked(cb.ID, cb.NextAttemptAt)
		a.addEvent(cb.ConversationID, now, "callback.no_reply", map[string]any{"callback_id": cb.ID,
			"retries_left": cb.Retries - cb.AttemptsMade + 1, "retry_at": cb.NextAttemptAt})
	default:
		a.addEvent(cb.ConversationID, now, "callback.no_reply", map[string]any{"callback_id": cb.ID, "retries_left": 0})
		a.addEvent(cb.ConversationID, now, "callback.closed", map[string]any{"callback_id": cb.ID,
			"attempts": cb.AttemptsMade})
	}
	a.log.Info("callback attempt", "callback_id", cb.ID, "agent", agentID, "sip_code", code, "status", cb.Status)
	return cb, nil
}

// callbackDone: the call of an answered attempt is over; the request is
// done (callback.done).
func (a *ACD) callbackDone(ctx context.Context, id, agentID string) error {
	return a.withCallback(ctx, id, func(cb store.Callback, now time.Time) error {
		return a.markDoneLocked(ctx, cb, agentID, now)
	})
}

// withCallback runs f with the request id under the mutex.
func (a *ACD) withCallback(ctx context.Context, id string, f func(cb store.Callback, now time.Time) error) error {
	now, err := a.begin()
	if err != nil {
		return err
	}
	defer a.end()
	cb, err := a.Callback(ctx, id)
	if err != nil {
		return err
	}
	return f(cb, now)
}

func (a *ACD) markDoneLocked(ctx context.Context, cb store.Callback, agentID string, now time.Time) error {
	if cb.Status != store.CallbackActive && cb.Status != store.CallbackAssigned {
		return fmt.Errorf("%w: callback %s is %s, not being called", ErrState, cb.ID, cb.Status)
	}
	prev := cb.Status
	cb.Status, cb.UpdatedAt = store.CallbackDone, now
	if _, err := a.st.UpdateCallbackIf(ctx, cb, prev); err != nil {
		return fmt.Errorf("acd: callback done: %w", err)
	}
	a.addEvent(cb.ConversationID, now, "callback.done", map[string]any{"callback_id": cb.ID, "agent_id": agentID})
	a.log.Info("callback done", "callback_id", cb.ID, "agent", agentID)
	return nil
}

// callbackNotTried: the call of request id ended on the agent's side
// before the customer answered (its media failed, it hung up): no attempt
// counts. An automated request goes back in its queue, a manual one stays
// assigned to the agent (callback.returned).
func (a *ACD) callbackNotTried(ctx context.Context, id, agentID string) error {
	return a.withCallback(ctx, id, func(cb store.Callback, now time.Time) error {
		if cb.Status != store.CallbackActive && cb.Status != store.CallbackAssigned || a.orphanLocked(ctx, cb, now) {
			return nil
		}
		prev := cb.Status
		if cb.Type == store.CallbackAutomated {
			cb.Status, cb.AgentID = store.CallbackInQueue, ""
		} else {
			cb.Status, cb.AgentID = store.CallbackAssigned, agentID
		}
		cb.UpdatedAt = now
		ok, err := a.st.UpdateCallbackIf(ctx, cb, prev)
		if err != nil || !ok {
			return err
		}
		if cb.Type == store.CallbackAutomated {
			cfg, _ := a.CallbackConfig(ctx, cb.Config)
			if e := a.queueCallbackLocked(cb, cfg.Priority, cfg.Schedule); e != nil {
				// Not straight back to the agent whose side failed: it
				// is offered to it again once it is available anew.
				e.tried = map[string]bool{agentID: true}
			}
		}
		a.addEvent(cb.ConversationID, now, "callback.returned", map[string]any{"callback_id": cb.ID, "agent_id": agentID,
			"status": cb.Status})
		return nil
	})
}

// forgetMissesLocked lets the automated callbacks ag missed (declined, not
// answered in time) be offered to it again: it is available anew, or ended
// a call. A caller's misses last as long as its call; a callback's would
// last for good.
func (a *ACD) forgetMissesLocked(ag *agent) {
	for _, e := range a.cbEntries {
		delete(e.tried, ag.cfg.ID)
	}
}

// loadCallbacks reads the requests waiting for a retry (New only).
func (a *ACD) loadCallbacks(ctx context.Context) error {
	due, err := a.st.ListCallbacks(ctx, store.CallbackFilter{Status: store.CallbackNoReply})
	if err != nil {
		return fmt.Errorf("acd: load callbacks: %w", err)
	}
	for _, cb := range due {
		if !cb.NextAttemptAt.IsZero() {
			a.dueLocked(cb.ID, cb.NextAttemptAt)
		}
	}
	// Automated requests waiting, or being called when a previous run
	// stopped (that attempt died with it), are offered again.
	cfgs, err := a.st.ListCallbackConfigs(ctx)
	if err != nil {
		return fmt.Errorf("acd: load callback configurations: %w", err)
	}
	byName := map[string]store.CallbackConfig{}
	for _, c := range cfgs {
		byName[c.Name] = c
	}
	now := a.now()
	for _, status := range []string{store.CallbackInQueue, store.CallbackAssigned, store.CallbackActive} {
		cbs, err := a.st.ListCallbacks(ctx, store.CallbackFilter{Status: status})
		if err != nil {
			return fmt.Errorf("acd: load callbacks: %w", err)
		}
		for _, cb := range cbs {
			if cb.Status != store.CallbackInQueue && len(cb.Attempts) > 0 &&
				cb.Attempts[len(cb.Attempts)-1].Outcome == AttemptAnswered {
				// Reached: its call died with the switch.
				if err := a.markDoneLocked(ctx, cb, cb.AgentID, now); err != nil {
					return err
				}
				continue
			}
			if a.orphanLocked(ctx, cb, now) {
				continue
			}
			if cb.Type == store.CallbackManual {
				if cb.Status == store.CallbackActive {
					// Being called when the switch stopped: the agent's
					// to call again.
					cb.Status, cb.UpdatedAt = store.CallbackAssigned, now
					if _, err := a.st.UpdateCallbackIf(ctx, cb, store.CallbackActive); err != nil {
						return fmt.Errorf("acd: callback %s back to assigned: %w", cb.ID, err)
					}
				}
				continue
			}
			if status != store.CallbackInQueue {
				prev := cb.Status
				cb.Status, cb.AgentID, cb.UpdatedAt = store.CallbackInQueue, "", now
				if _, err := a.st.UpdateCallbackIf(ctx, cb, prev); err != nil {
					return fmt.Errorf("acd: requeue callback %s: %w", cb.ID, err)
				}
				a.log.Warn("callback being called when the switch stopped: back in queue", "callback_id", cb.ID)
			}
			c := byName[cb.Config]
			a.queueCallbackLocked(cb, c.Priority, c.Schedule)
		}
	}
	return nil
}

// callbackDeadlinesLocked puts the requests whose retry is due back
// in_queue (callback.requeued).
func (a *ACD) callbackDeadlinesLocked(now time.Time) {
	if a.cbNext.IsZero() || now.Before(a.cbNext) {
		return
	}
	defer a.recomputeDueLocked()
	for id, at := range a.cbDue {
		if now.Before(at) {
			continue
		}
		cb, err := a.st.GetCallback(a.ctx, id)
		if err != nil {
			// Left due: the next deadline run tries again.
			a.log.Error("load callback due for retry", "callback_id", id, "error", err)
			continue
		}
		delete(a.cbDue, id)
		if cb.Status != store.CallbackNoReply || a.orphanLocked(a.ctx, cb, now) {
			continue
		}
		cb.Status, cb.AgentID, cb.NextAttemptAt, cb.UpdatedAt = store.CallbackInQueue, "", time.Time{}, now
		ok, err := a.st.UpdateCallbackIf(a.ctx, cb, store.CallbackNoReply)
		if err != nil {
			a.log.Error("requeue callback", "callback_id", id, "error", err)
			continue
		}
		if ok {
			if cb.Type == store.CallbackAutomated {
				cfg, err := a.CallbackConfig(a.ctx, cb.Config)
				if err != nil {
					a.log.Warn("callback's configuration is gone: offered with defaults", "callback_id", id, "error", err)
				}
				a.queueCallbackLocked(cb, cfg.Priority, cfg.Schedule)
			}
			a.addEvent(cb.ConversationID, now, "callback.requeued", map[string]any{"callback_id": cb.ID,
				"attempts": cb.AttemptsMade})
			a.log.Info("callback back in queue for a retry", "callback_id", id, "queue", cb.Queue)
		}
	}
}

// nextCallbackDue is the earliest due retry; zero when none.
func (a *ACD) nextCallbackDue() time.Time { return a.cbNext }

// dueLocked makes the request id due for its retry at at.
func (a *ACD) dueLocked(id string, at time.Time) {
	a.cbDue[id] = at
	if a.cbNext.IsZero() || at.Before(a.cbNext) {
		a.cbNext = at
	}
}

// recomputeDueLocked sets cbNext after due requests were taken out.
func (a *ACD) recomputeDueLocked() {
	a.cbNext = time.Time{}
	for _, at := range a.cbDue {
		if a.cbNext.IsZero() || at.Before(a.cbNext) {
			a.cbNext = at
		}
	}
}
