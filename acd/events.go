package acd

import (
	"encoding/json"
	"time"
)

// Event types sent to agents.
const (
	EventCallOffered    = "call.offered"
	EventCallAnswered   = "call.answered"
	EventCallEnded      = "call.ended"
	EventQualityWarning = "quality.warning"
	EventWrapUpStarted  = "wrapup.started"
	EventWrapUpEnded    = "wrapup.ended"
	EventStatusChanged  = "status.changed"
)

// Event is something an agent's panel shows. Data is one of the *Data types
// below, ready for JSON.
type Event struct {
	Type string    `json:"type"`
	At   time.Time `json:"at"`
	Data any       `json:"data,omitempty"`
}

// OfferData comes with call.offered.
type OfferData struct {
	CallID         string `json:"call_id"`
	ConversationID string `json:"conversation_id"`
	QueueID        string `json:"queue_id"`
	Queue          string `json:"queue"` // the queue's name
	Type           string `json:"type"`  // regular, transferred or callback
	// TransferredBy is the name of the agent who transferred the call.
	TransferredBy  string `json:"transferred_by,omitempty"`
	CustomerName   string `json:"customer_name"`
	CustomerNumber string `json:"customer_number"`
	// CallbackID is the callback request an offer of type callback is for.
	CallbackID  string    `json:"callback_id,omitempty"`
	RingTimeout int       `json:"ring_timeout"` // seconds
	ExpiresAt   time.Time `json:"expires_at"`
}

// CallData comes with call.answered and call.ended. Reason (call.ended):
// declined, timeout, abandoned (the caller left before answer), hangup (the
// caller hung up), agent (the agent hung up), status, heartbeat, media,
// deleted.
type CallData struct {
	CallID         string `json:"call_id"`
	ConversationID string `json:"conversation_id,omitempty"`
	Reason         string `json:"reason,omitempty"`
}

// QualityData comes with quality.warning; Side is the side whose connection
// is weak (e.g. "caller" or "agent").
type QualityData struct {
	CallID string `json:"call_id"`
	Side   string `json:"side"`
}

// WrapUpData comes with wrapup.started and wrapup.ended.
type WrapUpData struct {
	CallID         string    `json:"call_id"`
	ConversationID string    `json:"conversation_id,omitempty"`
	EndsAt         time.Time `json:"ends_at,omitzero"`
}

// StatusData comes with status.changed: the chosen status and the system
// state ("" idle, ringing, on_call, on_hold, wrap_up).
type StatusData struct {
	Status string `json:"status"`
	System string `json:"system"`
}

type subscription struct {
	ch chan Event
}

// Subscribe returns the agent's events and a function that ends the
// subscription (and closes the channel). A subscriber that falls behind
// loses its oldest events, never blocks the ACD (Dropped counts them).
// Close ends every subscription.
func (a *ACD) Subscribe(agentID string) (<-chan Event, func()) {
	s := &subscription{ch: make(chan Event, a.evBuf)}
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.closed {
		close(s.ch)
		return s.ch, func() {}
	}
	set := a.subs[agentID]
	if set == nil {
		set = map[*subscription]struct{}{}
		a.subs[agentID] = set
	}
	set[s] = struct{}{}
	cancel := func() {
		a.mu.Lock()
		defer a.mu.Unlock()
		if set, ok := a.subs[agentID]; ok {
			if _, ok := set[s]; ok {
				delete(set, s)
				close(s.ch)
				if len(set) == 0 {
					delete(a.subs, agentID)
				}
			}
		}
	}
	return s.ch, cancel
}

// Dropped is how many events subscribers lost by falling behind.
func (a *ACD) Dropped() uint64 {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.dropped
}

// publishLocked sends ev to the agent's subscribers without blocking: a full
// buffer loses its oldest event. Only publishLocked sends, under the mutex.
func (a *ACD) publishLocked(agentID, typ string, at time.Time, data any) {
	ev := Event{Type: typ, At: at, Data: data}
	for s := range a.subs[agentID] {
		select {
		case s.ch <- ev:
			continue
		default:
		}
		select {
		case <-s.ch:
		default:
		}
		select {
		case s.ch <- ev:
		default:
		}
		a.dropped++
	}
}

func (a *ACD) publishStatusLocked(ag *agent, at time.Time) {
	a.publishLocked(ag.cfg.ID, EventStatusChanged, at, StatusData{Status: ag.cfg.Status, System: ag.st.System})
}

// QualityWarning tells the agent on callID that side's connection is weak.
// Unknown calls are ignored.
func (a *ACD) QualityWarning(callID, side string) {
	a.mu.Lock()
	defer a.mu.Unlock()
	e := a.calls[callID]
	if e == nil || e.agent == nil {
		return
	}
	a.log.Info("quality warning", "call_id", callID, "agent", e.agent.cfg.ID, "side", side)
	a.publishLocked(e.agent.cfg.ID, EventQualityWarning, a.now(), QualityData{CallID: callID, Side: side})
}

func jsonRaw(v any) (json.RawMessage, error) {
	if v == nil {
		return nil, nil
	}
	b, err := json.Marshal(v)
	return json.RawMessage(b), err
}
