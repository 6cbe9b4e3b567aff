package api

import (
	"net/http"
	"slices"
	"time"

	"github.com/switchboard-voice/switchboard/acd"
	"github.com/switchboard-voice/switchboard/config"
	"github.com/switchboard-voice/switchboard/store"
)

// CallbackConfig is a callback configuration as the API shows it;
// durations are in seconds.
type CallbackConfig struct {
	ID           string       `json:"id"`
	Name         string       `json:"name"`
	Type         string       `json:"type"`
	Queue        string       `json:"queue"`
	Retries      int          `json:"retries"`
	RetryDelay   float64      `json:"retry_delay"`
	Priority     string       `json:"priority"`
	Confirmation Confirmation `json:"confirmation"`
	CallerID     string       `json:"caller_id"`
	Schedule     string       `json:"schedule"`
	Managed      bool         `json:"managed"`
	CreatedAt    time.Time    `json:"created_at"`
	UpdatedAt    time.Time    `json:"updated_at"`
}

// Confirmation is what a customer hears once a callback is requested: a
// file or a text (one of them).
type Confirmation struct {
	File string `json:"file"`
	Say  string `json:"say"`
}

// CallbackConfigInput creates or replaces a callback configuration (the
// configuration's callbacks entries, with the retry delay in seconds); its
// name is its id. Absent fields take their default.
type CallbackConfigInput struct {
	Name         string        `json:"name"`
	Type         string        `json:"type"`
	Queue        string        `json:"queue"`
	Retries      *int          `json:"retries,omitempty"`
	RetryDelay   *float64      `json:"retry_delay,omitempty"`
	Priority     string        `json:"priority"`
	Confirmation *Confirmation `json:"confirmation,omitempty"`
	CallerID     string        `json:"caller_id"`
	Schedule     string        `json:"schedule"`
}

// Callback is a callback request as the API shows it; durations are in
// seconds.
type Callback struct {
	ID             string    `json:"id"`
	Config         string    `json:"config"`
	Type           string    `json:"type"`
	Queue          string    `json:"queue"`
	Retries        int       `json:"retries"`
	RetryDelay     float64   `json:"retry_delay"`
	Number         string    `json:"number"`
	ConversationID string    `json:"conversation_id"`
	Enqueued       time.Time `json:"enqueued"`
	CreatedAt      time.Time `json:"created_at"`
	UpdatedAt      time.Time `json:"updated_at"`
	Status         string    `json:"status"`
	AgentID        string    `json:"agent_id"`
	AttemptsMade   int       `json:"attempts_made"`
	// NextAttemptAt is when a no_reply request goes back in queue.
	NextAttemptAt *time.Time `json:"next_attempt_at,omitempty"`
	// Closed: no attempt is left (done, or no_reply with no retry).
	Closed   bool                    `json:"closed"`
	Attempts []store.CallbackAttempt `json:"attempts"`
}

// CallbackInput is a supervisor's request to call a customer back.
type CallbackInput struct {
	Config         string `json:"config"`
	Number         string `json:"number"`
	Queue          string `json:"queue"`
	ConversationID string `json:"conversation_id"`
}

func callbackConfigView(c store.CallbackConfig) CallbackConfig {
	return CallbackConfig{ID: c.ID, Name: c.Name, Type: c.Type, Queue: c.Queue, Retries: c.Retries,
		RetryDelay: seconds(c.RetryDelay), Priority: c.Priority,
		Confirmation: Confirmation{File: c.ConfirmationFile, Say: c.ConfirmationSay}, CallerID: c.CallerID,
		Schedule: c.Schedule, Managed: c.Managed, CreatedAt: c.CreatedAt, UpdatedAt: c.UpdatedAt}
}

func callbackView(c store.Callback) Callback {
	out := Callback{ID: c.ID, Config: c.Config, Type: c.Type, Queue: c.Queue, Retries: c.Retries,
		RetryDelay: seconds(c.RetryDelay), Number: c.Number, ConversationID: c.ConversationID, Enqueued: c.Enqueued,
		CreatedAt: c.CreatedAt, UpdatedAt: c.UpdatedAt, Status: c.Status, AgentID: c.AgentID,
		AttemptsMade: c.AttemptsMade, Attempts: c.Attempts}
	if !c.NextAttemptAt.IsZero() {
		out.NextAttemptAt = &c.NextAttemptAt
	}
	out.Closed = c.Status == store.CallbackDone || (c.Status == store.CallbackNoReply && c.NextAttemptAt.IsZero())
	if out.Attempts == nil {
		out.Attempts = []store.CallbackAttempt{}
	}
	return out
}

// config is the input as the configuration's callback entry (and its
// checks) sees it, defaults applied.
func (in CallbackConfigInput) config() config.CallbackConfig {
	c := config.CallbackConfig{Type: in.Type, Queue: in.Queue, Retries: in.Retries, Priority: in.Priority,
		CallerID: in.CallerID, Schedule: in.Schedule}
	if in.RetryDelay != nil {
		c.RetryDelay = fromSeconds(*in.RetryDelay) // 0: the default, as in the YAML
	}
	if in.Confirmation != nil {
		c.Confirmation = config.Confirmation{File: in.Confirmation.File, Say: in.Confirmation.Say}
	}
	c.ApplyDefaults()
	return c
}

// callbackRoutes are the operations on callbacks.
func (v *v1) callbackRoutes() []route {
	return []route{
		{method: "GET", path: "/api/v1/callback-configs", summary: "List callback configurations", who: "both",
			reply: "CallbackConfigList", code: 200, handler: v.listCallbackConfigs,
			desc: "Every callback configuration, those of the configuration (managed) and those created through the API, " +
				"ordered by name."},
		{method: "POST", path: "/api/v1/callback-configs", summary: "Create a callback configuration", who: "supervisor",
			body: "CallbackConfigInput", reply: "CallbackConfig", code: 201, handler: v.createCallbackConfig,
			desc: "Creates a callback configuration; its name is its id. The queue must exist, the caller ID must be one of " +
				"the configuration's voice_numbers and the schedule one of its schedules. 409 when the name is taken."},
		{method: "GET", path: "/api/v1/callback-configs/{id}", summary: "Get a callback configuration", who: "both",
			reply: "CallbackConfig", code: 200, handler: v.getCallbackConfig,
			desc: "One callback configuration."},
		{method: "PUT", path: "/api/v1/callback-configs/{id}", summary: "Replace a callback configuration", who: "supervisor",
			body: "CallbackConfigInput", reply: "CallbackConfig", code: 200, handler: v.putCallbackConfig,
			desc: "Replaces every setting (absent ones take their default); the name cannot change. Requests made " +
				"already keep the queue, retries and retry delay they had. One of the configuration is read-only " +
				"(409 managed by config)."},
		{method: "DELETE", path: "/api/v1/callback-configs/{id}", summary: "Delete a callback configuration", who: "supervisor",
			code: 204, handler: v.deleteCallbackConfig,
			desc: "Deletes a callback configuration created through the API; its requests stay. One of the configuration " +
				"is read-only (409 managed by config)."},
		{method: "GET", path: "/api/v1/callbacks", summary: "List callback requests", who: "both",
			reply: "CallbackList", code: 200, errs: []int{400}, handler: v.listCallbacks,
			query: []queryParam{
				{"status", "Only requests with this status: in_queue, assigned, active, no_reply (closed ones too) or done.", "in_queue"},
				{"type", "Only requests of this type: automated or manual.", "manual"},
				{"from", "Only requests made at or after this time (RFC 3339), or on or after this day (YYYY-MM-DD, UTC).", "2025-03-01"},
				{"to", "Only requests made before this time (RFC 3339), or on or before this day (YYYY-MM-DD, UTC).", "2025-03-31"},
			},
			desc: "Callback requests, oldest first, with their attempts. An agent sees those of its queues; a supervisor every one."},
		{method: "POST", path: "/api/v1/callbacks", summary: "Request a callback", who: "supervisor",
			body: "CallbackInput", reply: "Callback", code: 201, errs: []int{404}, handler: v.createCallback,
			desc: "Stores a request to call the number back, in_queue, under a callback configuration (its queue unless " +
				"queue is given). Without conversation_id it joins the customer's open conversation, or starts one; the " +
				"conversation logs callback.requested. 404 for an unknown configuration, queue or conversation."},
		{method: "GET", path: "/api/v1/callbacks/{id}", summary: "Get a callback request", who: "both",
			reply: "Callback", code: 200, handler: v.getCallback,
			desc: "One request with its attempts. An agent may read only those of its queues."},
		{method: "POST", path: "/api/v1/callbacks/{id}/assign", summary: "Take a manual callback", who: "agent",
			reply: "Callback", code: 200, handler: v.assignCallback,
			desc: "Assigns the manual request to the agent, who then calls the customer back. Atomic: of two agents taking " +
				"the same request one gets it, the other 409. 403 for a request of a queue the agent is not in; 409 for an " +
				"automated request (the switch offers those) or one not in_queue."},
	}
}

func (v *v1) listCallbackConfigs(w http.ResponseWriter, r *http.Request, p principal) {
	cs, err := v.c.ACD.CallbackConfigs(ctx(r))
	if err != nil {
		writeErr(w, err)
		return
	}
	out := make([]CallbackConfig, 0, len(cs))
	for _, c := range cs {
		out = append(out, callbackConfigView(c))
	}
	writeJSON(w, http.StatusOK, out)
}

func (v *v1) getCallbackConfig(w http.ResponseWriter, r *http.Request, p principal) {
	c, err := v.c.ACD.CallbackConfig(ctx(r), r.PathValue("id"))
	if err != nil {
		writeErr(w, err)
		return
	}
	writeJSON(w, http.StatusOK, callbackConfigView(c))
}

// checkCallbackConfig reads a callback configuration from the body: nil and
// an answer written when it has problems.
func (v *v1) checkCallbackConfig(w http.ResponseWriter, r *http.Request, name string) *store.CallbackConfig {
	var in CallbackConfigInput
	ps, _, ok := readBody(w, r, &in)
	if !ok {
		return nil
	}
	if name != "" && in.Name != "" && in.Name != name {
		ps.add("name", "cannot change (%s)", name)
	}
	if name != "" {
		in.Name = name
	}
	if msg := config.NameProblem(in.Name); msg != "" && !ps.has("name") {
		ps.add("name", "%s", msg)
	}
	c := in.config()
	ps.addConfig(c.Check(), nil, unchecked(ps, nil, "type", "queue", "retries", "retry_delay", "priority",
		"confirmation", "caller_id", "schedule"))
	if v.c.CheckCallbackConfig != nil {
		for _, fp := range v.c.CheckCallbackConfig(c) {
			if !ps.has(topField(fp.Field)) {
				ps = append(ps, fp)
			}
		}
	}
	if ps.reply(w) {
		return nil
	}
	return &store.CallbackConfig{Name: in.Name, Type: c.Type, Queue: c.Queue, Retries: *c.Retries,
		RetryDelay: c.RetryDelay, Priority: c.Priority, ConfirmationFile: c.Confirmation.File,
		ConfirmationSay: c.Confirmation.Say, CallerID: c.CallerID, Schedule: c.Schedule}
}

func (v *v1) createCallbackConfig(w http.ResponseWriter, r *http.Request, p principal) {
	c := v.checkCallbackConfig(w, r, "")
	if c == nil {
		return
	}
	created, err := v.c.ACD.CreateCallbackConfig(ctx(r), *c)
	if err != nil {
		writeErr(w, err)
		return
	}
	w.Header().Set("Location", "/api/v1/callback-configs/"+created.ID)
	writeJSON(w, http.StatusCreated, callbackConfigView(created))
}

func (v *v1) putCallbackConfig(w http.ResponseWriter, r *http.Request, p principal) {
	cur, err := v.c.ACD.CallbackConfig(ctx(r), r.PathValue("id"))
	if err != nil {
		writeErr(w, err)
		return
	}
	if cur.Managed {
		writeErr(w, acd.ErrManaged)
		return
	}
	c := v.checkCallbackConfig(w, r, cur.Name)
	if c == nil {
		return
	}
	updated, err := v.c.ACD.UpdateCallbackConfig(ctx(r), *c)
	if err != nil {
		writeErr(w, err)
		return
	}
	writeJSON(w, http.StatusOK, callbackConfigView(updated))
}

func (v *v1) deleteCallbackConfig(w http.ResponseWriter, r *http.Request, p principal) {
	if err := v.c.ACD.DeleteCallbackConfig(ctx(r), r.PathValue("id")); err != nil {
		writeErr(w, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// parseDay reads a from/to bound: an RFC 3339 time, or a day (UTC); a day
// as "to" includes the whole day.
func parseDay(s string, end bool) (time.Time, bool) {
	if t, err := time.Parse(time.RFC3339, s); err == nil {
		return t, true
	}
	t, err := time.Parse(time.DateOnly, s)
	if err != nil {
		return time.Time{}, false
	}
	if end {
		t = t.AddDate(0, 0, 1)
	}
	return t, true
}

func (v *v1) listCallbacks(w http.ResponseWriter, r *http.Request, p principal) {
	q := r.URL.Query()
	f := store.CallbackFilter{Status: q.Get("status"), Type: q.Get("type")}
	var ps problems
	for _, b := range []struct {
		name string
		dst  *time.Time
	}{{"from", &f.From}, {"to", &f.To}} {
		if s := q.Get(b.name); s != "" {
			t, ok := parseDay(s, b.name == "to")
			if !ok {
				ps.add(b.name, "%q is neither a time (RFC 3339) nor a day (YYYY-MM-DD)", s)
			}
			*b.dst = t
		}
	}
	if ps.reply(w) {
		return
	}
	if p.agent != "" {
		names, err := v.c.ACD.AgentQueueNames(p.agent)
		if err != nil {
			writeErr(w, err)
			return
		}
		f.Queues = names
	}
	cs, err := v.c.ACD.Callbacks(ctx(r), f)
	if err != nil {
		writeErr(w, err)
		return
	}
	out := make([]Callback, 0, len(cs))
	for _, c := range cs {
		out = append(out, callbackView(c))
	}
	writeJSON(w, http.StatusOK, out)
}

func (v *v1) createCallback(w http.ResponseWriter, r *http.Request, p principal) {
	var in CallbackInput
	ps, _, ok := readBody(w, r, &in)
	if !ok {
		return
	}
	if in.Config == "" && !ps.has("config") {
		ps.add("config", "is required: the callback configuration's name")
	}
	if msg := config.E164Problem(in.Number); msg != "" && !ps.has("number") {
		ps.add("number", "%s", msg)
	}
	if ps.reply(w) {
		return
	}
	cb, err := v.c.ACD.RequestCallback(ctx(r), acd.CallbackRequest{Config: in.Config, Number: in.Number,
		Queue: in.Queue, ConversationID: in.ConversationID})
	if err != nil {
		writeErr(w, err)
		return
	}
	w.Header().Set("Location", "/api/v1/callbacks/"+cb.ID)
	writeJSON(w, http.StatusCreated, callbackView(cb))
}

func (v *v1) getCallback(w http.ResponseWriter, r *http.Request, p principal) {
	cb, err := v.c.ACD.Callback(ctx(r), r.PathValue("id"))
	if err != nil {
		writeErr(w, err)
		return
	}
	if p.agent != "" {
		names, err := v.c.ACD.AgentQueueNames(p.agent)
		if err != nil {
			writeErr(w, err)
			return
		}
		if !slices.Contains(names, cb.Queue) {
			writeError(w, http.StatusForbidden, "the callback is of queue "+quote(cb.Queue)+", which the agent is not in")
			return
		}
	}
	writeJSON(w, http.StatusOK, callbackView(cb))
}

func (v *v1) assignCallback(w http.ResponseWriter, r *http.Request, p principal) {
	cb, err := v.c.ACD.AssignCallback(ctx(r), p.agent, r.PathValue("id"))
	if err != nil {
		writeErr(w, err)
		return
	}
	writeJSON(w, http.StatusOK, callbackView(cb))
}
