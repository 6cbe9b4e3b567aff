package api

import (
	"context"
	"errors"
	"net/http"
	"strings"

	"github.com/switchboard-voice/switchboard/acd"
	"github.com/switchboard-voice/switchboard/config"
	"github.com/switchboard-voice/switchboard/store"
)

// Contact is the contact center the REST API under /api/v1 serves.
type Contact struct {
	ACD *acd.ACD
	// Strategies keeps waiting strategies created through the API.
	Strategies store.WaitingStrategies
	// ManagedStrategies lists the configuration's waiting strategies
	// (read-only through the API) by name, as API objects.
	ManagedStrategies func() map[string]WaitingStrategy
	// CheckStrategy validates a strategy created or changed through the API
	// (files, flows, timings) as the configuration's are, each problem
	// naming its field; its name is checked already.
	CheckStrategy func(w WaitingStrategyInput) []FieldProblem
	// CheckCallbackConfig validates what the configuration knows of a
	// callback configuration created or changed through the API (its
	// caller ID is a voice number, its schedule exists, its confirmation
	// file may be read), each problem naming its field; its own settings
	// are checked already.
	CheckCallbackConfig func(c config.CallbackConfig) []FieldProblem
	// VoiceNumbers are the numbers agents call customers from (read at
	// each request).
	VoiceNumbers func() []config.VoiceNumber
	// Keys are the supervisors' API keys: key → name. Read at each request,
	// so a reload applies at once.
	Keys func() map[string]string
	// WHIP serves the agents' media sessions under /whip.
	WHIP http.Handler
	// Prompts keeps the uploaded prompts' metadata, PromptDir (read at each
	// request) is the directory their audio is kept in, and Converter
	// converts an upload into it. Without them /api/v1/prompts answers 503.
	Prompts   store.Prompts
	PromptDir func() string
	Converter PromptConverter
}

// FieldProblem is one thing wrong in a request: Field is the body's field
// ("capacity", "queues[1]", "announcement.every"), "" for the body as a
// whole.
type FieldProblem struct {
	Field   string `json:"field"`
	Problem string `json:"problem"`
}

// principal is who sent a request: a supervisor (API key) or an agent
// (bearer token).
type principal struct {
	supervisor string // key name
	agent      string // agent id
}

// route is one operation of the API; the OpenAPI document is made from the
// same table the mux is.
type route struct {
	method, path string
	// summary is a line; desc says what the operation does and answers.
	summary, desc string
	// who may call it: "supervisor", "agent" (its own objects) or "both".
	who string
	// body is the request schema ("" for none), reply the response schema
	// ("" for none) of the success status code.
	body, reply string
	code        int
	// errs are statuses it may answer besides those every operation may
	// (401, 403, 500), those of a body (400, 415), of an {id} (404) and of
	// a change (409).
	errs []int
	// queryToken accepts the credentials as ?access_token= too (the
	// events WebSocket: a browser cannot give it headers); every other
	// route takes them only from the Authorization header.
	queryToken bool
	// query lists the query parameters it takes.
	query   []queryParam
	handler func(w http.ResponseWriter, r *http.Request, p principal)
}

// queryParam is an optional query parameter of a route (a string).
type queryParam struct{ name, desc, example string }

// v1 holds the API's handlers.
type v1 struct {
	c      *Contact
	routes []route
}

func newV1(c *Contact) *v1 {
	v := &v1{c: c}
	v.routes = []route{
		{method: "GET", path: "/api/v1/agents", summary: "List agents with their state", who: "supervisor",
			reply: "AgentList", code: 200, handler: v.listAgents,
			desc: "Every agent, those of the configuration (managed) and those created through the API, ordered by name, " +
				"with the status it chose and the switch's state of it (ringing, on a call, in wrap-up)."},
		{method: "POST", path: "/api/v1/agents", summary: "Create an agent", who: "supervisor",
			body: "AgentInput", reply: "Agent", code: 201, handler: v.createAgent,
			desc: "Creates an agent, offline. Its id is a name (lowercase letters, digits, '-' and '_'). " +
				"Without a token, the switch makes one and returns it in this answer's token field, and never again: " +
				"the agent signs in with it (Authorization: Bearer TOKEN). Every problem of the body is listed in one 400."},
		{method: "GET", path: "/api/v1/agents/{id}", summary: "Get an agent", who: "both",
			reply: "Agent", code: 200, handler: v.getAgent,
			desc: "One agent with its state. An agent may read only itself."},
		{method: "PATCH", path: "/api/v1/agents/{id}", summary: "Change an agent", who: "supervisor",
			body: "AgentPatch", reply: "Agent", code: 200, handler: v.patchAgent,
			desc: "Changes the fields the body has; the others keep their value. The id cannot change. " +
				"An agent of the configuration is read-only (409 managed by config)."},
		{method: "DELETE", path: "/api/v1/agents/{id}", summary: "Delete an agent", who: "supervisor",
			code: 204, handler: v.deleteAgent,
			desc: "Deletes an agent created through the API; a call ringing for it moves on. " +
				"An agent of the configuration is read-only (409 managed by config)."},
		{method: "PUT", path: "/api/v1/agents/{id}/status", summary: "Set the agent's status", who: "both",
			body: "StatusInput", reply: "Agent", code: 200, handler: v.setStatus,
			desc: "Sets the status the agent chose: available (offered calls), busy, away or offline. " +
				"An agent that becomes available is offered the longest-waiting caller of its queues at once."},
		{method: "POST", path: "/api/v1/agents/{id}/heartbeat", summary: "Prove the agent is there", who: "agent",
			code: 204, handler: v.heartbeat,
			desc: "An agent that sends no heartbeat for acd.heartbeat_timeout (30 s by default) goes offline, " +
				"and a call ringing for it moves on."},
		{method: "POST", path: "/api/v1/agents/{id}/wrapup/extend", summary: "Add 10 s to the agent's wrap-up", who: "agent",
			reply: "WrapUp", code: 200, handler: v.extendWrapUp,
			desc: "Adds 10 seconds to the wrap-up running and answers when it now ends; 409 when the agent is not in wrap-up."},
		{method: "DELETE", path: "/api/v1/agents/{id}/wrapup", summary: "End the agent's wrap-up", who: "agent",
			code: 204, handler: v.clearWrapUp,
			desc: "Ends the wrap-up running: the agent may be offered the next call at once."},
		{method: "GET", path: "/api/v1/agents/{id}/events", summary: "The agent's events (WebSocket)", who: "both",
			reply: "Event", code: 101, errs: []int{426}, queryToken: true, handler: v.events,
			desc: "Upgrades to a WebSocket (browsers give the token as ?access_token=TOKEN) on which the switch sends the " +
				"agent's events as JSON text messages, each an Event; the first is status.changed with the current status. " +
				"A request that is not a WebSocket handshake is answered 426."},
		{method: "PATCH", path: "/api/v1/conversations/{id}", summary: "Set a conversation's status and notes", who: "agent",
			body: "ConversationInput", reply: "Conversation", code: 200, handler: v.patchConversation,
			desc: "The agent who answered the conversation's call sets its status (open, waiting, solved, closed) and notes, " +
				"during or after the wrap-up. A conversation not closed takes the same customer's next call."},
		{method: "GET", path: "/api/v1/queues", summary: "List queues with live statistics", who: "both",
			reply: "QueueList", code: 200, handler: v.listQueues,
			desc: "Every queue, those of the configuration (managed) and those created through the API, ordered by name, " +
				"each with its live and cumulative statistics."},
		{method: "POST", path: "/api/v1/queues", summary: "Create a queue", who: "supervisor",
			body: "QueueInput", reply: "Queue", code: 201, handler: v.createQueue,
			desc: "Creates a queue. Its name is its id, and the name a flow's queue action uses: " +
				"a flow may name a queue created here (validate warns that the file does not declare it). " +
				"Automatic assignment is off unless auto_assign is true. Every problem of the body is listed in one 400."},
		{method: "GET", path: "/api/v1/queues/{id}", summary: "Get a queue with live statistics", who: "both",
			reply: "Queue", code: 200, handler: v.getQueue,
			desc: "One queue and its statistics."},
		{method: "PATCH", path: "/api/v1/queues/{id}", summary: "Change a queue", who: "supervisor",
			body: "QueuePatch", reply: "Queue", code: 200, handler: v.patchQueue,
			desc: "Changes the fields the body has; the others keep their value. The name (the id) cannot change. " +
				"A queue of the configuration is read-only (409 managed by config)."},
		{method: "DELETE", path: "/api/v1/queues/{id}", summary: "Delete a queue nobody waits in", who: "supervisor",
			code: 204, handler: v.deleteQueue,
			desc: "Deletes a queue created through the API; its agents leave it. 409 while callers wait in it; " +
				"the default queue cannot be deleted (403)."},
		{method: "POST", path: "/api/v1/prompts", summary: "Upload a prompt", who: "supervisor",
			body: "PromptUpload", reply: "Prompt", code: 201, errs: []int{413, 503}, handler: v.uploadPrompt,
			desc: "Uploads an audio file (multipart/form-data, the file in the part named \"file\"): " +
				".mp2 .mp3 .ircam .m4a .m4r .voc .vox .wav, at most 4 MB (413 above, 415 for another format or " +
				"content that does not decode). It is converted once (with ffmpeg; VOX decoded as 8 kHz Dialogic ADPCM) " +
				"into the WAV the switch plays, kept under the prompt upload directory, and given an id: waiting " +
				"strategies name prompts by that id, never by a path."},
		{method: "GET", path: "/api/v1/prompts", summary: "List prompts", who: "supervisor",
			reply: "PromptList", code: 200, errs: []int{503}, handler: v.listPrompts,
			desc: "Every uploaded prompt, oldest first."},
		{method: "GET", path: "/api/v1/prompts/{id}", summary: "Get a prompt", who: "supervisor",
			reply: "Prompt", code: 200, errs: []int{503}, handler: v.getPrompt,
			desc: "One uploaded prompt: its original file name, format, size and duration."},
		{method: "DELETE", path: "/api/v1/prompts/{id}", summary: "Delete a prompt", who: "supervisor",
			code: 204, errs: []int{503}, handler: v.deletePrompt,
			desc: "Deletes an uploaded prompt and its audio; 409 while a waiting strategy names it."},
		{method: "GET", path: "/api/v1/waiting-strategies", summary: "List waiting strategies", who: "supervisor",
			reply: "WaitingStrategyList", code: 200, handler: v.listStrategies,
			desc: "Every waiting strategy, those of the configuration (managed) and those created through the API, ordered by name."},
		{method: "POST", path: "/api/v1/waiting-strategies", summary: "Create a waiting strategy", who: "supervisor",
			body: "WaitingStrategyInput", reply: "WaitingStrategy", code: 201, errs: []int{503}, handler: v.createStrategy,
			desc: "Creates a waiting strategy, checked like the configuration's (files, flows, timings). " +
				"Its name is its id, and the name queues and flows use. Every problem of the body is listed in one 400."},
		{method: "GET", path: "/api/v1/waiting-strategies/{id}", summary: "Get a waiting strategy", who: "supervisor",
			reply: "WaitingStrategy", code: 200, handler: v.getStrategy,
			desc: "One waiting strategy."},
		{method: "PUT", path: "/api/v1/waiting-strategies/{id}", summary: "Replace a waiting strategy", who: "supervisor",
			body: "WaitingStrategyReplace", reply: "WaitingStrategy", code: 200, errs: []int{503}, handler: v.putStrategy,
			desc: "Replaces a waiting strategy created through the API; calls that wait already keep the one they started with. " +
				"The name (the id) cannot change. A strategy of the configuration is read-only (409 managed by config)."},
		{method: "DELETE", path: "/api/v1/waiting-strategies/{id}", summary: "Delete a waiting strategy", who: "supervisor",
			code: 204, handler: v.deleteStrategy,
			desc: "Deletes a waiting strategy created through the API; 409 while a queue uses it."},
		{method: "GET", path: "/api/v1/contacts", summary: "List or search the phone book", who: "both",
			reply: "ContactList", code: 200, errs: []int{400}, handler: v.listContacts,
			query: []queryParam{
				{"q", "Only contacts whose name (any case) or one of whose numbers contains this text.", "+1555"},
				{"tag", "Only contacts with this tag, e.g. external_number (the numbers external transfers may dial).", config.TagExternalNumber},
			},
			desc: "The contacts of the phone book, those of the configuration (managed) and those created through the API " +
				"(or added by a transfer to a manual number), ordered by name. Agents search it to pick a transfer target. " +
				"400 for a tag that is not a lowercase word or a q longer than 64 bytes."},
		{method: "POST", path: "/api/v1/contacts", summary: "Add a contact to the phone book", who: "supervisor",
			body: "ContactInput", reply: "Contact", code: 201, handler: v.createContact,
			desc: "Adds a contact with a name, E.164 numbers and tags; the switch makes its id. A number belongs to one " +
				"contact only (409 when another has it). External transfers dial only numbers of contacts tagged " +
				"external_number. Every problem of the body is listed in one 400."},
		{method: "GET", path: "/api/v1/contacts/{id}", summary: "Get a contact", who: "both",
			reply: "Contact", code: 200, handler: v.getContact,
			desc: "One contact of the phone book."},
		{method: "PATCH", path: "/api/v1/contacts/{id}", summary: "Change a contact", who: "supervisor",
			body: "ContactPatch", reply: "Contact", code: 200, handler: v.patchContact,
			desc: "Changes the fields the body has; the others keep their value (a list given replaces the old one). " +
				"A contact of the configuration is read-only (409 managed by config); a number another contact has is 409."},
		{method: "DELETE", path: "/api/v1/contacts/{id}", summary: "Delete a contact", who: "supervisor",
			code: 204, handler: v.deleteContact,
			desc: "Deletes a contact created through the API. A contact of the configuration is read-only (409 managed by config)."},
		{method: "POST", path: "/api/v1/calls/{id}/answer", summary: "Answer the call offered to the agent", who: "agent",
			code: 204, handler: v.callAction(v.c.ACD.Answer),
			desc: "Connects the call ringing for the agent to the agent's media session (POST /whip first; 409 without one)."},
		{method: "POST", path: "/api/v1/calls/{id}/decline", summary: "Decline the call offered to the agent", who: "agent",
			code: 204, handler: v.callAction(v.c.ACD.Decline),
			desc: "Declines the call ringing for the agent: it is offered to the next available agent at once."},
		{method: "POST", path: "/api/v1/calls/{id}/hangup", summary: "End the agent's call", who: "agent",
			code: 204, handler: v.callAction(v.c.ACD.Hangup),
			desc: "Ends the agent's call (the caller gets a BYE); the agent's wrap-up starts."},
		{method: "POST", path: "/api/v1/calls/{id}/hold", summary: "Put the caller on hold", who: "agent",
			code: 204, handler: v.callAction(v.c.ACD.Hold),
			desc: "The caller hears the queue's music on hold (with its announcement, every 10 s by default) and the agent " +
				"hears silence until resume; the agent's state is on_hold. The conversation logs hold.started and hold.ended " +
				"with the time held."},
		{method: "POST", path: "/api/v1/calls/{id}/resume", summary: "Take the caller off hold", who: "agent",
			code: 204, handler: v.callAction(v.c.ACD.Resume),
			desc: "Carries the audio both ways again."},
		{method: "POST", path: "/api/v1/calls/{id}/transfer", summary: "Transfer the caller (blind)", who: "agent",
			body: "TransferInput", reply: "TransferStarted", code: 202, handler: v.transfer,
			desc: "Sends the agent's caller to exactly one target: an agent of the call's queue (it rings and may decline), " +
				"a queue with automatic assignment (the caller waits there under its waiting strategy, keeping its enqueue time), " +
				"or an external number (E.164, through the outbound routes; only numbers of contacts tagged external_number " +
				"unless transfers.allow_manual_numbers). The agent goes to wrap-up at once; the caller hears transfer music " +
				"(or the network's early media) until the target answers. A target that declines, fails or does not answer " +
				"within transfers.timeout sends the caller back to the agent, who is rung again. The agent's events " +
				"transfer.started, transfer.succeeded and transfer.failed follow the transfer. 400 for a body that is not " +
				"exactly one target, 403 for an agent not in the queue, a queue without automatic assignment or a number not " +
				"allowed, 404 for an unknown agent or queue, 409 for a target agent not available or a call not in progress."},
		{method: "GET", path: "/api/v1/calls", summary: "List live calls", who: "supervisor",
			reply: "LiveCallList", code: 200, handler: v.liveCalls,
			desc: "Every call the contact center follows, oldest first: waiting, ringing an agent, talking, on hold (since when) " +
				"or in a transfer (its kind and target)."},
		{method: "GET", path: "/api/v1/calls/{id}/transfer-targets", summary: "Where the agent may transfer its call", who: "agent",
			reply: "TransferTargets", code: 200, handler: v.transferTargets,
			desc: "The other agents of the call's queue (available ones first), the queues with automatic assignment " +
				"and whether a number of no contact may be typed (transfers.allow_manual_numbers): " +
				"what the panel's Transfer dialog offers. 409 when the call is not the agent's in progress."},
		{method: "POST", path: "/api/v1/calls/{id}/dtmf", summary: "Send keys to the caller", who: "agent",
			body: "DTMFInput", code: 204, handler: v.dtmf,
			desc: "Sends the digits to the caller as RFC 4733 telephone-events, 100 ms each."},
	}
	v.routes = append(v.routes, v.callbackRoutes()...)
	v.routes = append(v.routes, v.outboundRoutes()...)
	return v
}

// register adds the API's routes to mux.
func (v *v1) register(mux *http.ServeMux) {
	for _, rt := range v.routes {
		mux.HandleFunc(rt.method+" "+rt.path, v.authed(rt))
	}
	mux.HandleFunc("GET /api/v1/openapi.json", v.openapi)
	mux.HandleFunc("/api/v1/", v.notFound)
	if v.c.WHIP != nil {
		mux.Handle("/whip", v.c.WHIP)
		mux.Handle("/whip/", v.c.WHIP)
	}
}

// notFound answers what no route took: 405 with Allow when the path exists
// with other methods, else 404.
func (v *v1) notFound(w http.ResponseWriter, r *http.Request) {
	var allow []string
	for _, rt := range v.routes {
		if pathMatches(rt.path, r.URL.Path) {
			allow = append(allow, rt.method)
		}
	}
	if len(allow) > 0 {
		w.Header().Set("Allow", strings.Join(allow, ", "))
		writeError(w, http.StatusMethodNotAllowed, r.Method+" is not allowed on "+r.URL.Path+"; use "+strings.Join(allow, ", "))
		return
	}
	writeError(w, http.StatusNotFound, "no such API path: "+r.URL.Path)
}

// pathMatches reports whether path fits pattern ({name} is one segment).
func pathMatches(pattern, path string) bool {
	ps, xs := strings.Split(pattern, "/"), strings.Split(strings.TrimSuffix(path, "/"), "/")
	if len(ps) != len(xs) {
		return false
	}
	for i := range ps {
		if ps[i] != xs[i] && !(strings.HasPrefix(ps[i], "{") && xs[i] != "") {
			return false
		}
	}
	return true
}

// authed checks the caller's credentials and role before h runs.
func (v *v1) authed(rt route) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		p, err := v.authenticate(r, rt.queryToken)
		if err != nil {
			w.Header().Set("WWW-Authenticate", `Bearer realm="switchboard"`)
			writeError(w, http.StatusUnauthorized, err.Error())
			return
		}
		switch {
		case rt.who == "supervisor" && p.supervisor == "":
			writeError(w, http.StatusForbidden, "this needs a supervisor's API key")
			return
		case rt.who == "agent" && p.agent == "":
			writeError(w, http.StatusForbidden, "only an agent may do this, with its own token")
			return
		}
		rt.handler(w, r, p)
	}
}

// authenticate reads `Authorization: Bearer TOKEN`, or, where query is
// true (the events WebSocket, which browsers cannot give headers),
// `?access_token=TOKEN`.
func (v *v1) authenticate(r *http.Request, query bool) (principal, error) {
	token, ok := bearer(r)
	if !ok && r.URL.Query().Has("access_token") {
		if !query {
			return principal{}, errors.New("access_token in the query is accepted only on the events WebSocket: send Authorization: Bearer <API key or agent token>")
		}
		token = strings.TrimSpace(r.URL.Query().Get("access_token"))
	}
	if token == "" {
		return principal{}, errors.New("missing credentials: send Authorization: Bearer <API key or agent token>")
	}
	if name, ok := supervisorKey(v.c.Keys, token); ok {
		return principal{supervisor: name}, nil
	}
	a, err := v.c.ACD.AgentByToken(r.Context(), token)
	if err != nil {
		return principal{}, errors.New("invalid credentials: no API key or agent token matches")
	}
	return principal{agent: a.ID}, nil
}

// self checks that an agent acts on itself; supervisors act on anyone.
func (p principal) self(w http.ResponseWriter, id string) bool {
	if p.supervisor != "" || p.agent == id {
		return true
	}
	writeError(w, http.StatusForbidden, "an agent may act only on itself")
	return false
}

// apiError is every error body. A 400 lists every problem of the request in
// Problems (Field is the first one's field, Error all of them in a line).
type apiError struct {
	Error    string         `json:"error"`
	Field    string         `json:"field,omitempty"`
	Problems []FieldProblem `json:"problems,omitempty"`
}

func writeError(w http.ResponseWriter, code int, msg string) {
	writeJSON(w, code, apiError{Error: msg})
}

// writeErr maps the ACD's and the store's errors onto statuses.
func writeErr(w http.ResponseWriter, err error) {
	var inv *acd.InvalidError
	switch {
	case errors.As(err, &inv):
		problems{{Field: inv.Field, Problem: inv.Reason}}.reply(w)
	case errors.Is(err, acd.ErrNotFound), errors.Is(err, store.ErrNotFound):
		writeError(w, http.StatusNotFound, trimPrefix(err))
	case errors.Is(err, acd.ErrManaged):
		writeError(w, http.StatusConflict, "managed by config: "+trimPrefix(err)+"; change it in the YAML and reload")
	case errors.Is(err, acd.ErrForbidden):
		writeError(w, http.StatusForbidden, trimPrefix(err))
	case errors.Is(err, acd.ErrConflict), errors.Is(err, acd.ErrState), errors.Is(err, store.ErrConflict):
		writeError(w, http.StatusConflict, trimPrefix(err))
	case errors.Is(err, acd.ErrMedia):
		writeError(w, http.StatusConflict, trimPrefix(err)+" (connect the agent's media with POST /whip first)")
	case errors.Is(err, acd.ErrInvalid):
		problems{{Problem: trimPrefix(err)}}.reply(w)
	case errors.Is(err, acd.ErrUnavailable):
		writeError(w, http.StatusServiceUnavailable, trimPrefix(err))
	default:
		writeError(w, http.StatusInternalServerError, err.Error())
	}
}

func trimPrefix(err error) string {
	s := err.Error()
	for _, p := range []string{"acd: ", "store: "} {
		s = strings.TrimPrefix(s, p)
	}
	return s
}

// ctx is the request's context.
func ctx(r *http.Request) context.Context { return r.Context() }
