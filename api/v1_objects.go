package api

import (
	"context"
	"net/http"
	"time"

	"github.com/switchboard-voice/switchboard/acd"
	"github.com/switchboard-voice/switchboard/store"
)

// Agent is an agent as the API shows it; durations are in seconds.
type Agent struct {
	ID                string     `json:"id"`
	Name              string     `json:"name"`
	Status            string     `json:"status"` // available, busy, away, offline
	System            string     `json:"system"` // "", ringing, on_call, on_hold, wrap_up
	Capacity          int        `json:"capacity"`
	WrapUp            float64    `json:"wrap_up"` // 0 = the queue's
	Queues            []string   `json:"queues"`
	Managed           bool       `json:"managed"`
	OpenConversations int        `json:"open_conversations"`
	CallID            string     `json:"call_id,omitempty"`
	RingingUntil      *time.Time `json:"ringing_until,omitempty"`
	WrapUpUntil       *time.Time `json:"wrap_up_until,omitempty"`
	LastHeartbeat     *time.Time `json:"last_heartbeat,omitempty"`
	CallsTaken        int        `json:"calls_taken"`
	TalkTime          float64    `json:"talk_time"`
}

// AgentInput creates or changes an agent; absent fields keep their value.
type AgentInput struct {
	ID       *string   `json:"id"`
	Name     *string   `json:"name"`
	Token    *string   `json:"token"`
	Queues   *[]string `json:"queues"`
	Capacity *int      `json:"capacity"`
	WrapUp   *float64  `json:"wrap_up"`
}

// StatusInput sets an agent's status.
type StatusInput struct {
	Status string `json:"status"`
}

// WrapUp is when an agent's wrap-up ends.
type WrapUp struct {
	EndsAt time.Time `json:"ends_at"`
}

// ConversationInput sets a conversation's status (open, waiting, solved,
// closed) and notes.
type ConversationInput struct {
	Status string  `json:"status"`
	Notes  *string `json:"notes"`
}

// DTMFInput sends keys.
type DTMFInput struct {
	Digits string `json:"digits"`
}

func seconds(d time.Duration) float64 { return d.Seconds() }

func fromSeconds(s float64) time.Duration { return time.Duration(s * float64(time.Second)) }

func timePtr(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	return &t
}

func agentView(i acd.AgentInfo) Agent {
	q := i.Queues
	if q == nil {
		q = []string{}
	}
	return Agent{ID: i.ID, Name: i.Name, Status: i.Status, System: i.State.System, Capacity: i.Capacity,
		WrapUp: seconds(i.WrapUp), Queues: q, Managed: i.Managed, OpenConversations: i.OpenConversations,
		CallID: i.State.CallID, RingingUntil: timePtr(i.State.RingingUntil), WrapUpUntil: timePtr(i.State.WrapUpUntil),
		LastHeartbeat: timePtr(i.State.LastHeartbeat), CallsTaken: i.State.CallsTaken, TalkTime: seconds(i.State.TalkTime)}
}

// apply copies the input's fields onto an agent spec.
func (in AgentInput) apply(s *acd.AgentSpec) {
	if in.ID != nil {
		s.Agent.ID = *in.ID
	}
	if in.Name != nil {
		s.Agent.Name = *in.Name
	}
	if in.Token != nil {
		s.Token = *in.Token
	}
	if in.Queues != nil {
		s.Agent.Queues = *in.Queues
	}
	if in.Capacity != nil {
		s.Agent.Capacity = *in.Capacity
	}
	if in.WrapUp != nil {
		s.Agent.WrapUp = fromSeconds(*in.WrapUp)
	}
}

func (v *v1) listAgents(w http.ResponseWriter, r *http.Request, p principal) {
	out := []Agent{}
	for _, a := range v.c.ACD.ListAgents() {
		out = append(out, agentView(a))
	}
	writeJSON(w, http.StatusOK, out)
}

func (v *v1) writeAgent(w http.ResponseWriter, code int, id string) {
	a, err := v.c.ACD.GetAgent(id)
	if err != nil {
		writeErr(w, err)
		return
	}
	writeJSON(w, code, agentView(a))
}

func (v *v1) createAgent(w http.ResponseWriter, r *http.Request, p principal) {
	var in AgentInput
	if !decode(w, r, &in) {
		return
	}
	if in.Token != nil && len(*in.Token) < 8 {
		writeJSON(w, http.StatusBadRequest, apiError{Error: "token: use at least 8 characters", Field: "token"})
		return
	}
	s := acd.AgentSpec{Agent: store.Agent{Status: store.StatusOffline}}
	in.apply(&s)
	a, err := v.c.ACD.CreateAgent(ctx(r), s)
	if err != nil {
		writeErr(w, err)
		return
	}
	w.Header().Set("Location", "/api/v1/agents/"+a.ID)
	v.writeAgent(w, http.StatusCreated, a.ID)
}

func (v *v1) getAgent(w http.ResponseWriter, r *http.Request, p principal) {
	id := r.PathValue("id")
	if !p.self(w, id) {
		return
	}
	v.writeAgent(w, http.StatusOK, id)
}

func (v *v1) patchAgent(w http.ResponseWriter, r *http.Request, p principal) {
	id := r.PathValue("id")
	cur, err := v.c.ACD.GetAgent(id)
	if err != nil {
		writeErr(w, err)
		return
	}
	var in AgentInput
	if !decode(w, r, &in) {
		return
	}
	if in.ID != nil && *in.ID != id {
		writeJSON(w, http.StatusBadRequest, apiError{Error: "id: cannot be changed", Field: "id"})
		return
	}
	if in.Token != nil && len(*in.Token) < 8 {
		writeJSON(w, http.StatusBadRequest, apiError{Error: "token: use at least 8 characters", Field: "token"})
		return
	}
	s := acd.AgentSpec{Agent: cur.Agent}
	in.apply(&s)
	if _, err := v.c.ACD.UpdateAgent(ctx(r), s); err != nil {
		writeErr(w, err)
		return
	}
	v.writeAgent(w, http.StatusOK, id)
}

func (v *v1) deleteAgent(w http.ResponseWriter, r *http.Request, p principal) {
	if err := v.c.ACD.DeleteAgent(ctx(r), r.PathValue("id")); err != nil {
		writeErr(w, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func (v *v1) setStatus(w http.ResponseWriter, r *http.Request, p principal) {
	id := r.PathValue("id")
	if !p.self(w, id) {
		return
	}
	var in StatusInput
	if !decode(w, r, &in) {
		return
	}
	if err := v.c.ACD.SetStatus(ctx(r), id, in.Status); err != nil {
		writeErr(w, err)
		return
	}
	v.writeAgent(w, http.StatusOK, id)
}

func (v *v1) heartbeat(w http.ResponseWriter, r *http.Request, p principal) {
	id := r.PathValue("id")
	if !p.self(w, id) {
		return
	}
	if err := v.c.ACD.Heartbeat(id); err != nil {
		writeErr(w, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func (v *v1) extendWrapUp(w http.ResponseWriter, r *http.Request, p principal) {
	id := r.PathValue("id")
	if !p.self(w, id) {
		return
	}
	until, err := v.c.ACD.ExtendWrapUp(ctx(r), id)
	if err != nil {
		writeErr(w, err)
		return
	}
	writeJSON(w, http.StatusOK, WrapUp{EndsAt: until})
}

func (v *v1) clearWrapUp(w http.ResponseWriter, r *http.Request, p principal) {
	id := r.PathValue("id")
	if !p.self(w, id) {
		return
	}
	if err := v.c.ACD.ClearWrapUp(ctx(r), id); err != nil {
		writeErr(w, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func (v *v1) patchConversation(w http.ResponseWriter, r *http.Request, p principal) {
	var in ConversationInput
	if !decode(w, r, &in) {
		return
	}
	c, err := v.c.ACD.SetConversation(ctx(r), p.agent, r.PathValue("id"), in.Status, in.Notes)
	if err != nil {
		writeErr(w, err)
		return
	}
	writeJSON(w, http.StatusOK, c)
}

// callAction runs an agent's command on one of its calls.
func (v *v1) callAction(f func(ctx context.Context, agentID, callID string) error) func(http.ResponseWriter, *http.Request, principal) {
	return func(w http.ResponseWriter, r *http.Request, p principal) {
		if err := f(ctx(r), p.agent, r.PathValue("id")); err != nil {
			writeErr(w, err)
			return
		}
		w.WriteHeader(http.StatusNoContent)
	}
}

func (v *v1) dtmf(w http.ResponseWriter, r *http.Request, p principal) {
	var in DTMFInput
	if !decode(w, r, &in) {
		return
	}
	if err := v.c.ACD.SendDTMF(ctx(r), p.agent, r.PathValue("id"), in.Digits); err != nil {
		writeErr(w, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}
