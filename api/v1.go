package api

import (
	"context"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"

	"github.com/switchboard-voice/switchboard/acd"
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
	// (files, flows, timings), each problem naming its field.
	CheckStrategy func(w WaitingStrategy) []FieldProblem
	// Keys are the supervisors' API keys: key → name. Read at each request,
	// so a reload applies at once.
	Keys func() map[string]string
	// WHIP serves the agents' media sessions under /whip.
	WHIP http.Handler
}

// FieldProblem is one thing wrong in a request body.
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
	summary      string
	// who may call it: "supervisor", "agent" (its own objects) or "both".
	who     string
	body    string // request schema name, "" for none
	reply   string // response schema name, "" for none
	handler func(w http.ResponseWriter, r *http.Request, p principal)
}

// v1 holds the API's handlers.
type v1 struct {
	c      *Contact
	routes []route
}

func newV1(c *Contact) *v1 {
	v := &v1{c: c}
	v.routes = []route{
		{"GET", "/api/v1/agents", "List agents with their state", "supervisor", "", "AgentList", v.listAgents},
		{"POST", "/api/v1/agents", "Create an agent", "supervisor", "AgentInput", "Agent", v.createAgent},
		{"GET", "/api/v1/agents/{id}", "Get an agent", "both", "", "Agent", v.getAgent},
		{"PATCH", "/api/v1/agents/{id}", "Change an agent", "supervisor", "AgentInput", "Agent", v.patchAgent},
		{"DELETE", "/api/v1/agents/{id}", "Delete an agent", "supervisor", "", "", v.deleteAgent},
		{"PUT", "/api/v1/agents/{id}/status", "Set the agent's status", "both", "StatusInput", "Agent", v.setStatus},
		{"POST", "/api/v1/agents/{id}/heartbeat", "Prove the agent is there", "agent", "", "", v.heartbeat},
		{"POST", "/api/v1/agents/{id}/wrapup/extend", "Add 10 s to the agent's wrap-up", "agent", "", "WrapUp", v.extendWrapUp},
		{"DELETE", "/api/v1/agents/{id}/wrapup", "End the agent's wrap-up", "agent", "", "", v.clearWrapUp},
		{"GET", "/api/v1/agents/{id}/events", "The agent's events (WebSocket)", "both", "", "Event", v.events},
		{"PATCH", "/api/v1/conversations/{id}", "Set a conversation's status and notes", "agent", "ConversationInput", "Conversation", v.patchConversation},
		{"GET", "/api/v1/queues", "List queues with live statistics", "both", "", "QueueList", v.listQueues},
		{"POST", "/api/v1/queues", "Create a queue", "supervisor", "QueueInput", "Queue", v.createQueue},
		{"GET", "/api/v1/queues/{id}", "Get a queue with live statistics", "both", "", "Queue", v.getQueue},
		{"PATCH", "/api/v1/queues/{id}", "Change a queue", "supervisor", "QueueInput", "Queue", v.patchQueue},
		{"DELETE", "/api/v1/queues/{id}", "Delete a queue nobody waits in", "supervisor", "", "", v.deleteQueue},
		{"GET", "/api/v1/waiting-strategies", "List waiting strategies", "supervisor", "", "WaitingStrategyList", v.listStrategies},
		{"POST", "/api/v1/waiting-strategies", "Create a waiting strategy", "supervisor", "WaitingStrategy", "WaitingStrategy", v.createStrategy},
		{"GET", "/api/v1/waiting-strategies/{id}", "Get a waiting strategy", "supervisor", "", "WaitingStrategy", v.getStrategy},
		{"PUT", "/api/v1/waiting-strategies/{id}", "Replace a waiting strategy", "supervisor", "WaitingStrategy", "WaitingStrategy", v.putStrategy},
		{"DELETE", "/api/v1/waiting-strategies/{id}", "Delete a waiting strategy", "supervisor", "", "", v.deleteStrategy},
		{"POST", "/api/v1/calls/{id}/answer", "Answer the call offered to the agent", "agent", "", "", v.callAction(v.c.ACD.Answer)},
		{"POST", "/api/v1/calls/{id}/decline", "Decline the call offered to the agent", "agent", "", "", v.callAction(v.c.ACD.Decline)},
		{"POST", "/api/v1/calls/{id}/hangup", "End the agent's call", "agent", "", "", v.callAction(v.c.ACD.Hangup)},
		{"POST", "/api/v1/calls/{id}/hold", "Put the caller on hold", "agent", "", "", v.callAction(v.c.ACD.Hold)},
		{"POST", "/api/v1/calls/{id}/resume", "Take the caller off hold", "agent", "", "", v.callAction(v.c.ACD.Resume)},
		{"POST", "/api/v1/calls/{id}/dtmf", "Send keys to the caller", "agent", "DTMFInput", "", v.dtmf},
	}
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
		p, err := v.authenticate(r)
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

// authenticate reads `Authorization: Bearer TOKEN` (or, for WebSockets,
// which browsers cannot give headers, `?access_token=TOKEN`).
func (v *v1) authenticate(r *http.Request) (principal, error) {
	token, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	if !ok {
		token = r.URL.Query().Get("access_token")
	}
	token = strings.TrimSpace(token)
	if token == "" {
		return principal{}, errors.New("missing credentials: send Authorization: Bearer <API key or agent token>")
	}
	if v.c.Keys != nil {
		for key, name := range v.c.Keys() {
			if subtle.ConstantTimeCompare([]byte(key), []byte(token)) == 1 {
				return principal{supervisor: name}, nil
			}
		}
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

// apiError is every error body.
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
		writeJSON(w, http.StatusBadRequest, apiError{Error: inv.Field + ": " + inv.Reason, Field: inv.Field})
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
		writeError(w, http.StatusBadRequest, trimPrefix(err))
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

// decode reads a JSON body into dst, refusing unknown fields and wrong
// types with the field named.
func decode(w http.ResponseWriter, r *http.Request, dst any) bool {
	if ct := r.Header.Get("Content-Type"); ct != "" && !strings.HasPrefix(ct, "application/json") {
		writeError(w, http.StatusUnsupportedMediaType, "send application/json, not "+ct)
		return false
	}
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, 1<<20))
	dec.DisallowUnknownFields()
	err := dec.Decode(dst)
	if err == nil && dec.More() {
		err = errors.New("one JSON object only")
	}
	if err == nil {
		return true
	}
	var typeErr *json.UnmarshalTypeError
	var syntaxErr *json.SyntaxError
	msg, field := err.Error(), ""
	switch {
	case errors.Is(err, io.EOF):
		msg = "the body must be a JSON object"
	case errors.Is(err, io.ErrUnexpectedEOF):
		msg = "invalid JSON: the body ends too early"
	case errors.As(err, &typeErr):
		field = typeErr.Field
		msg = fmt.Sprintf("%s: must be %s, not %s", typeErr.Field, jsonKind(typeErr.Type.String()), typeErr.Value)
	case errors.As(err, &syntaxErr):
		msg = fmt.Sprintf("invalid JSON at byte %d: %v", syntaxErr.Offset, syntaxErr)
	case strings.HasPrefix(msg, "json: unknown field "):
		field = strings.Trim(strings.TrimPrefix(msg, "json: unknown field "), `"`)
		msg = fmt.Sprintf("%s: unknown field", field)
	}
	writeJSON(w, http.StatusBadRequest, apiError{Error: msg, Field: field})
	return false
}

func jsonKind(goType string) string {
	switch {
	case strings.Contains(goType, "int"), strings.Contains(goType, "float"):
		return "a number"
	case strings.Contains(goType, "bool"):
		return "true or false"
	case strings.Contains(goType, "string") && strings.HasPrefix(goType, "[]"):
		return "a list of strings"
	case strings.Contains(goType, "string"):
		return "a string"
	}
	return "a " + goType
}

// ctx is the request's context.
func ctx(r *http.Request) context.Context { return r.Context() }
