package api

import (
	"net/http"
	"time"

	"github.com/switchboard-voice/switchboard/acd"
	"github.com/switchboard-voice/switchboard/store"
)

// Queue is a queue as the API shows it, with its statistics; durations
// are in seconds.
type Queue struct {
	ID              string      `json:"id"`
	Name            string      `json:"name"`
	AutoAssign      bool        `json:"auto_assign"`
	Strategy        string      `json:"strategy"`
	RingTimeout     float64     `json:"ring_timeout"`
	WrapUp          float64     `json:"wrap_up"`
	WaitingStrategy string      `json:"waiting_strategy"`
	Priority        int         `json:"priority"`
	ServiceLevel    float64     `json:"service_level_threshold"`
	Managed         bool        `json:"managed"`
	Stats           *QueueStats `json:"stats,omitempty"`
}

// QueueStats are a queue's live and cumulative figures.
type QueueStats struct {
	Waiting         int       `json:"waiting"`
	Ringing         int       `json:"ringing"`
	LongestWait     float64   `json:"longest_wait"`
	AvailableAgents int       `json:"available_agents"`
	Agents          int       `json:"agents"`
	Since           time.Time `json:"since"`
	Offered         int       `json:"offered"`
	Answered        int       `json:"answered"`
	Abandoned       int       `json:"abandoned"`
	ServiceLevel    float64   `json:"service_level"` // share answered within the threshold
	ASA             float64   `json:"asa"`
	AbandonRate     float64   `json:"abandon_rate"`
	AHT             float64   `json:"aht"`
}

// QueueInput creates or changes a queue; absent fields keep their value.
type QueueInput struct {
	ID              *string  `json:"id"`
	Name            *string  `json:"name"`
	AutoAssign      *bool    `json:"auto_assign"`
	Strategy        *string  `json:"strategy"`
	RingTimeout     *float64 `json:"ring_timeout"`
	WrapUp          *float64 `json:"wrap_up"`
	WaitingStrategy *string  `json:"waiting_strategy"`
	Priority        *int     `json:"priority"`
	ServiceLevel    *float64 `json:"service_level_threshold"`
}

func (in QueueInput) apply(q *store.Queue) {
	if in.ID != nil {
		q.ID = *in.ID
	}
	if in.Name != nil {
		q.Name = *in.Name
	}
	if in.AutoAssign != nil {
		q.AutoAssign = *in.AutoAssign
	}
	if in.Strategy != nil {
		q.Strategy = *in.Strategy
	}
	if in.RingTimeout != nil {
		q.RingTimeout = fromSeconds(*in.RingTimeout)
	}
	if in.WrapUp != nil {
		q.WrapUp = fromSeconds(*in.WrapUp)
	}
	if in.WaitingStrategy != nil {
		q.WaitingStrategy = *in.WaitingStrategy
	}
	if in.Priority != nil {
		q.Priority = *in.Priority
	}
	if in.ServiceLevel != nil {
		q.ServiceLevel = fromSeconds(*in.ServiceLevel)
	}
}

func queueView(q store.Queue, st *acd.QueueStats) Queue {
	out := Queue{ID: q.ID, Name: q.Name, AutoAssign: q.AutoAssign, Strategy: q.Strategy, RingTimeout: seconds(q.RingTimeout),
		WrapUp: seconds(q.WrapUp), WaitingStrategy: q.WaitingStrategy, Priority: q.Priority,
		ServiceLevel: seconds(q.ServiceLevel), Managed: q.Managed}
	if st != nil {
		out.Stats = &QueueStats{Waiting: st.Waiting, Ringing: st.Ringing, LongestWait: seconds(st.LongestWait),
			AvailableAgents: st.AvailableAgents, Agents: st.Agents, Since: st.Since, Offered: st.Offered,
			Answered: st.Answered, Abandoned: st.Abandoned, ServiceLevel: st.ServiceLevel, ASA: seconds(st.ASA),
			AbandonRate: st.AbandonRate, AHT: seconds(st.AHT)}
	}
	return out
}

func (v *v1) writeQueue(w http.ResponseWriter, code int, id string) {
	q, err := v.c.ACD.GetQueue(id)
	if err != nil {
		writeErr(w, err)
		return
	}
	st, err := v.c.ACD.Stats(q.ID)
	if err != nil {
		writeErr(w, err)
		return
	}
	writeJSON(w, code, queueView(q, &st))
}

func (v *v1) listQueues(w http.ResponseWriter, r *http.Request, p principal) {
	stats := map[string]*acd.QueueStats{}
	for _, s := range v.c.ACD.AllStats() {
		stats[s.QueueID] = &s
	}
	out := []Queue{}
	for _, q := range v.c.ACD.ListQueues() {
		out = append(out, queueView(q, stats[q.ID]))
	}
	writeJSON(w, http.StatusOK, out)
}

func (v *v1) getQueue(w http.ResponseWriter, r *http.Request, p principal) {
	v.writeQueue(w, http.StatusOK, r.PathValue("id"))
}

func (v *v1) createQueue(w http.ResponseWriter, r *http.Request, p principal) {
	var in QueueInput
	if !decode(w, r, &in) {
		return
	}
	var q store.Queue
	in.apply(&q)
	if !v.strategyExists(w, r, q.WaitingStrategy) {
		return
	}
	q, err := v.c.ACD.CreateQueue(ctx(r), q)
	if err != nil {
		writeErr(w, err)
		return
	}
	w.Header().Set("Location", "/api/v1/queues/"+q.ID)
	v.writeQueue(w, http.StatusCreated, q.ID)
}

func (v *v1) patchQueue(w http.ResponseWriter, r *http.Request, p principal) {
	q, err := v.c.ACD.GetQueue(r.PathValue("id"))
	if err != nil {
		writeErr(w, err)
		return
	}
	var in QueueInput
	if !decode(w, r, &in) {
		return
	}
	if in.ID != nil && *in.ID != q.ID {
		writeJSON(w, http.StatusBadRequest, apiError{Error: "id: cannot be changed", Field: "id"})
		return
	}
	in.apply(&q)
	if !v.strategyExists(w, r, q.WaitingStrategy) {
		return
	}
	if _, err := v.c.ACD.UpdateQueue(ctx(r), q); err != nil {
		writeErr(w, err)
		return
	}
	v.writeQueue(w, http.StatusOK, q.ID)
}

func (v *v1) deleteQueue(w http.ResponseWriter, r *http.Request, p principal) {
	q, err := v.c.ACD.GetQueue(r.PathValue("id"))
	if err != nil {
		writeErr(w, err)
		return
	}
	if err := v.c.ACD.DeleteQueue(ctx(r), q.ID); err != nil {
		writeErr(w, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// strategyExists refuses a queue naming an unknown waiting strategy.
func (v *v1) strategyExists(w http.ResponseWriter, r *http.Request, name string) bool {
	if name == "" {
		return true
	}
	if _, err := v.findStrategy(r, name); err != nil {
		writeJSON(w, http.StatusBadRequest, apiError{Error: "waiting_strategy: unknown waiting strategy " + quote(name), Field: "waiting_strategy"})
		return false
	}
	return true
}
