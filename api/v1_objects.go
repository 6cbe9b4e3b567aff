package api

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/switchboard-voice/switchboard/acd"
	"github.com/switchboard-voice/switchboard/config"
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
	// Token is the bearer token the switch made for an agent created
	// without one: only in the answer to its creation, never again.
	Token string `json:"token,omitempty"`
}

// AgentInput creates or changes an agent; absent fields keep their value.
type AgentInput struct {
	ID       *string   `json:"id,omitempty"`
	Name     *string   `json:"name,omitempty"`
	Token    *string   `json:"token,omitempty"`
	Queues   *[]string `json:"queues,omitempty"`
	Capacity *int      `json:"capacity,omitempty"`
	WrapUp   *float64  `json:"wrap_up,omitempty"`
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
	Status string  `json:"status,omitempty"`
	Notes  *string `json:"notes,omitempty"`
}

// TransferInput is a blind transfer's target: exactly one of agent, queue
// and number (with from, the caller ID shown to the number).
type TransferInput struct {
	Agent  string `json:"agent,omitempty"`
	Queue  string `json:"queue,omitempty"`
	Number string `json:"number,omitempty"`
	From   string `json:"from,omitempty"`
}

// TransferStarted is the answer to a transfer request.
type TransferStarted struct {
	TransferID string `json:"transfer_id"`
}

// DTMFInput sends keys.
type DTMFInput struct {
	Digits string `json:"digits"`
}

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

// config is the input as the configuration's agent (and its checks) sees
// it, over cur (the agent's settings before the change, their defaults
// filled): a value the body gives is checked as given.
func (in AgentInput) config(cur config.Agent) config.Agent {
	cur.ApplyDefaults()
	if in.ID != nil {
		cur.ID = *in.ID
	}
	if in.Name != nil {
		cur.Name = strings.TrimSpace(*in.Name)
	}
	if in.Token != nil {
		cur.Token = *in.Token
	}
	if in.Queues != nil {
		cur.Queues = *in.Queues
	}
	if in.Capacity != nil {
		cur.Capacity = *in.Capacity
	}
	if in.WrapUp != nil {
		cur.WrapUp = fromSeconds(*in.WrapUp)
	}
	return cur
}

// checkAgent adds what is wrong with agent a (its own settings as the
// configuration checks them, and its queues, which must exist) to ps. Only
// the fields in only are checked when it is not nil.
func (v *v1) checkAgent(ps *problems, a config.Agent, only map[string]bool) {
	ps.addConfig(a.Check(), nil, only)
	if only != nil && !only["queues"] {
		return
	}
	for i, q := range a.Queues {
		if config.NameProblem(q) != "" {
			continue // said already
		}
		if _, err := v.c.ACD.GetQueue(q); err != nil {
			ps.add(fmt.Sprintf("queues[%d]", i), "no queue %q", q)
		}
	}
}

// newToken makes an agent's bearer token: 24 random bytes, base64url.
func newToken() string {
	b := make([]byte, 24)
	_, _ = rand.Read(b) // never fails (crypto/rand)
	return base64.RawURLEncoding.EncodeToString(b)
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
	ps, _, ok := readBody(w, r, &in)
	if !ok {
		return
	}
	generated := ""
	if in.Token == nil {
		generated = newToken()
		in.Token = &generated
	}
	a := in.config(config.Agent{})
	v.checkAgent(&ps, a, nil)
	if ps.reply(w) {
		return
	}
	s := acd.AgentSpec{Token: a.Token, Agent: store.Agent{ID: a.ID, Name: cmpOr(a.Name, a.ID), Queues: a.Queues,
		Capacity: a.Capacity, WrapUp: a.WrapUp, Status: store.StatusOffline}}
	created, err := v.c.ACD.CreateAgent(ctx(r), s)
	if err != nil {
		writeErr(w, err)
		return
	}
	info, err := v.c.ACD.GetAgent(created.ID)
	if err != nil {
		writeErr(w, err)
		return
	}
	out := agentView(info)
	out.Token = generated
	w.Header().Set("Location", "/api/v1/agents/"+created.ID)
	writeJSON(w, http.StatusCreated, out)
}

func cmpOr(s, or string) string {
	if s == "" {
		return or
	}
	return s
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
	ps, seen, ok := readBody(w, r, &in)
	if !ok {
		return
	}
	if in.ID != nil && *in.ID != id {
		ps.add("id", "cannot be changed")
	}
	a := in.config(config.Agent{ID: id, Name: cur.Name, Queues: cur.Queues, Capacity: cur.Capacity, WrapUp: cur.WrapUp})
	v.checkAgent(&ps, a, seen)
	if ps.reply(w) {
		return
	}
	s := acd.AgentSpec{Agent: cur.Agent}
	s.Agent.Name, s.Agent.Queues, s.Agent.Capacity, s.Agent.WrapUp = cmpOr(a.Name, id), a.Queues, a.Capacity, a.WrapUp
	if in.Token != nil {
		s.Token = a.Token
	}
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
	if ps, _, ok := readBody(w, r, &in); !ok || ps.reply(w) {
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
	if ps, _, ok := readBody(w, r, &in); !ok || ps.reply(w) {
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

func (v *v1) transfer(w http.ResponseWriter, r *http.Request, p principal) {
	var in TransferInput
	if ps, _, ok := readBody(w, r, &in); !ok || ps.reply(w) {
		return
	}
	id, err := v.c.ACD.Transfer(ctx(r), p.agent, r.PathValue("id"),
		acd.TransferTarget{Agent: in.Agent, Queue: in.Queue, Number: in.Number, From: in.From})
	if err != nil {
		writeErr(w, err)
		return
	}
	writeJSON(w, http.StatusAccepted, TransferStarted{TransferID: id})
}

func (v *v1) liveCalls(w http.ResponseWriter, r *http.Request, p principal) {
	writeJSON(w, http.StatusOK, v.c.ACD.LiveCalls())
}

func (v *v1) transferTargets(w http.ResponseWriter, r *http.Request, p principal) {
	t, err := v.c.ACD.TransferTargets(p.agent, r.PathValue("id"))
	if err != nil {
		writeErr(w, err)
		return
	}
	writeJSON(w, http.StatusOK, t)
}

func (v *v1) dtmf(w http.ResponseWriter, r *http.Request, p principal) {
	var in DTMFInput
	if ps, _, ok := readBody(w, r, &in); !ok || ps.reply(w) {
		return
	}
	if err := v.c.ACD.SendDTMF(ctx(r), p.agent, r.PathValue("id"), in.Digits); err != nil {
		writeErr(w, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}
