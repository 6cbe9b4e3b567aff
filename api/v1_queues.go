package api

import (
	"net/http"
	"time"

	"github.com/switchboard-voice/switchboard/acd"
	"github.com/switchboard-voice/switchboard/config"
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
	Callbacks       int       `json:"callbacks"` // automated callback requests waiting or offered
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

// QueueInput creates or changes a queue; absent fields keep their value
// (or take their default). Its name is its id.
type QueueInput struct {
	Name            *string  `json:"name,omitempty"`
	AutoAssign      *bool    `json:"auto_assign,omitempty"`
	Strategy        *string  `json:"strategy,omitempty"`
	RingTimeout     *float64 `json:"ring_timeout,omitempty"`
	WrapUp          *float64 `json:"wrap_up,omitempty"`
	WaitingStrategy *string  `json:"waiting_strategy,omitempty"`
	Priority        *int     `json:"priority,omitempty"`
	ServiceLevel    *float64 `json:"service_level_threshold,omitempty"`
}

// queueFields maps the configuration's queue keys to the API's fields
// where they differ.
var queueFields = map[string]string{"service_level": "service_level_threshold"}

// config is the input as the configuration's queue (and its checks) sees
// it, over cur (the queue's settings before the change, their defaults
// filled): a value the body gives is checked as given.
func (in QueueInput) config(cur config.Queue) config.Queue {
	cur.ApplyDefaults()
	if in.Name != nil {
		cur.Name = *in.Name
	}
	if in.AutoAssign != nil {
		cur.AutoAssign = *in.AutoAssign
	}
	if in.Strategy != nil {
		cur.Strategy = *in.Strategy
	}
	if in.RingTimeout != nil {
		cur.RingTimeout = fromSeconds(*in.RingTimeout)
	}
	if in.WrapUp != nil {
		cur.WrapUp = fromSeconds(*in.WrapUp)
	}
	if in.WaitingStrategy != nil {
		cur.WaitingStrategy = *in.WaitingStrategy
	}
	if in.Priority != nil {
		cur.Priority = *in.Priority
	}
	if in.ServiceLevel != nil {
		cur.ServiceLevel = fromSeconds(*in.ServiceLevel)
	}
	return cur
}

func configQueue(q store.Queue) config.Queue {
	return config.Queue{Name: q.Name, AutoAssign: q.AutoAssign, Strategy: q.Strategy, RingTimeout: q.RingTimeout,
		WrapUp: q.WrapUp, WaitingStrategy: q.WaitingStrategy, Priority: q.Priority, ServiceLevel: q.ServiceLevel}
}

// storeQueue is q as the ACD keeps it: its id is its name.
func storeQueue(q config.Queue) store.Queue {
	return store.Queue{ID: q.Name, Name: q.Name, AutoAssign: q.AutoAssign, Strategy: q.Strategy, RingTimeout: q.RingTimeout,
		WrapUp: q.WrapUp, WaitingStrategy: q.WaitingStrategy, Priority: q.Priority, ServiceLevel: q.ServiceLevel}
}

// checkQueue adds what is wrong with q (its settings as the configuration
// checks them, and its waiting strategy, which must exist) to ps. Only the
// fields in only are checked when it is not nil.
func (v *v1) checkQueue(r *http.Request, ps *problems, q config.Queue, only map[string]bool) {
	ps.addConfig(q.Check(), queueFields, only)
	if ws := q.WaitingStrategy; ws != "" && config.NameProblem(ws) == "" && (only == nil || only["waiting_strategy"]) {
		if _, err := v.findStrategy(r, ws); err != nil {
			ps.add("waiting_strategy", "unknown waiting strategy %q: create it first (POST /api/v1/waiting-strategies)", ws)
		}
	}
}

func queueView(q store.Queue, st *acd.QueueStats) Queue {
	out := Queue{ID: q.ID, Name: q.Name, AutoAssign: q.AutoAssign, Strategy: q.Strategy, RingTimeout: seconds(q.RingTimeout),
		WrapUp: seconds(q.WrapUp), WaitingStrategy: q.WaitingStrategy, Priority: q.Priority,
		ServiceLevel: seconds(q.ServiceLevel), Managed: q.Managed}
	if st != nil {
		out.Stats = &QueueStats{Waiting: st.Waiting, Ringing: st.Ringing, Callbacks: st.Callbacks, LongestWait: seconds(st.LongestWait),
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
	ps, _, ok := readBody(w, r, &in)
	if !ok {
		return
	}
	q := in.config(config.Queue{})
	v.checkQueue(r, &ps, q, nil)
	if ps.reply(w) {
		return
	}
	created, err := v.c.ACD.CreateQueue(ctx(r), storeQueue(q))
	if err != nil {
		writeErr(w, err)
		return
	}
	w.Header().Set("Location", "/api/v1/queues/"+created.ID)
	v.writeQueue(w, http.StatusCreated, created.ID)
}

func (v *v1) patchQueue(w http.ResponseWriter, r *http.Request, p principal) {
	cur, err := v.c.ACD.GetQueue(r.PathValue("id"))
	if err != nil {
		writeErr(w, err)
		return
	}
	var in QueueInput
	ps, seen, ok := readBody(w, r, &in)
	if !ok {
		return
	}
	if in.Name != nil && *in.Name != cur.Name {
		ps.add("name", "cannot be changed: a queue's name is its id (create another queue)")
	}
	q := in.config(configQueue(cur))
	delete(seen, "name")
	v.checkQueue(r, &ps, q, seen)
	if ps.reply(w) {
		return
	}
	next := storeQueue(q)
	next.ID, next.Name = cur.ID, cur.Name
	if _, err := v.c.ACD.UpdateQueue(ctx(r), next); err != nil {
		writeErr(w, err)
		return
	}
	v.writeQueue(w, http.StatusOK, cur.ID)
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
