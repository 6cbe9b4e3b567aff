package api

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"sort"
	"strings"
	"sync"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/legacy"
)

// specChecker validates the API's answers against its OpenAPI document
// with kin-openapi.
type specChecker struct {
	doc    *openapi3.T
	router routers.Router
	mu     sync.Mutex
	// checked counts answers validated, by "METHOD path-template status".
	checked map[string]int
}

// newSpecChecker loads doc (the server's document) and validates it: a
// document kin-openapi refuses fails the test.
func newSpecChecker(t *testing.T, doc map[string]any) *specChecker {
	t.Helper()
	raw, err := json.Marshal(doc)
	if err != nil {
		t.Fatal(err)
	}
	loader := openapi3.NewLoader()
	spec, err := loader.LoadFromData(raw)
	if err != nil {
		t.Fatalf("load the OpenAPI document: %v", err)
	}
	if err := spec.Validate(context.Background(), openapi3.EnableExamplesValidation()); err != nil {
		t.Fatalf("the OpenAPI document is invalid: %v", err)
	}
	router, err := legacy.NewRouter(spec)
	if err != nil {
		t.Fatal(err)
	}
	return &specChecker{doc: spec, router: router, checked: map[string]int{}}
}

// validate checks one answer to req; it returns nil for paths and methods
// the document does not have (the catch-all 404 and 405).
func (s *specChecker) validate(req *http.Request, status int, header http.Header, body []byte) error {
	route, params, err := s.router.FindRoute(req)
	var re *routers.RouteError
	if errors.As(err, &re) {
		return nil
	}
	if err != nil {
		return err
	}
	in := &openapi3filter.ResponseValidationInput{
		RequestValidationInput: &openapi3filter.RequestValidationInput{Request: req, PathParams: params, Route: route},
		Status:                 status,
		Header:                 header,
		Options:                &openapi3filter.Options{IncludeResponseStatus: true, MultiError: true},
	}
	in.SetBodyBytes(body)
	if err := openapi3filter.ValidateResponse(context.Background(), in); err != nil {
		return err
	}
	s.mu.Lock()
	s.checked[req.Method+" "+route.Path+" "+http.StatusText(status)]++
	s.mu.Unlock()
	return nil
}

// check fails the test when an answer does not match the document.
func (s *specChecker) check(t *testing.T, req *http.Request, res *http.Response, body []byte) {
	t.Helper()
	if err := s.validate(req, res.StatusCode, res.Header, body); err != nil {
		t.Errorf("%s %s: answer %d %s does not match the OpenAPI document: %v", req.Method, req.URL.Path,
			res.StatusCode, bytes.TrimSpace(body), err)
	}
}

// TestOpenAPIDocument: kin-openapi (v0.153.0) accepts the document and its
// examples (newSpecChecker); every operation has a summary, a description
// and an example of its bodies, and every schema and property a
// description; the bounds and enums are those the configuration enforces.
func TestOpenAPIDocument(t *testing.T) {
	srv, _ := contactServer(t)
	doc := srv.spec.doc
	if doc.OpenAPI != "3.1.0" {
		t.Errorf("openapi %q", doc.OpenAPI)
	}
	for path, item := range doc.Paths.Map() {
		for method, op := range item.Operations() {
			where := method + " " + path
			if op.Summary == "" || len(op.Description) < 40 || op.OperationID == "" || len(op.Tags) != 1 {
				t.Errorf("%s: summary %q, description %q, operationId %q, tags %v", where, op.Summary, op.Description, op.OperationID, op.Tags)
			}
			if rb := op.RequestBody; rb != nil {
				mt := rb.Value.Content.Get("application/json")
				if path == "/api/v1/prompts" {
					mt = rb.Value.Content.Get("multipart/form-data")
				}
				if !rb.Value.Required || mt == nil || mt.Example == nil {
					t.Errorf("%s: request body not required or without example", where)
				}
			}
			for code, r := range op.Responses.Map() {
				if r.Value.Description == nil || *r.Value.Description == "" {
					t.Errorf("%s %s: no description", where, code)
				}
				for ct, mt := range r.Value.Content {
					if mt.Example == nil {
						t.Errorf("%s %s %s: no example", where, code, ct)
					}
				}
			}
			for _, want := range []string{"401", "403", "500"} {
				if op.Responses.Value(want) == nil {
					t.Errorf("%s: %s is not documented", where, want)
				}
			}
		}
	}
	for name, s := range doc.Components.Schemas {
		if s.Value.Description == "" || len(s.Value.Examples) == 0 {
			t.Errorf("schema %s: no description or example", name)
		}
		for prop, p := range s.Value.Properties {
			if p.Value.Description == "" {
				t.Errorf("schema %s: property %s has no description", name, prop)
			}
		}
	}
	schema := func(name string) *openapi3.Schema { return doc.Components.Schemas[name].Value }
	agent := schema("AgentInput")
	if got := agent.Required; len(got) != 1 || got[0] != "id" {
		t.Errorf("AgentInput required %v, want [id]", got)
	}
	capacity := agent.Properties["capacity"].Value
	if capacity.Min == nil || *capacity.Min != 1 || capacity.Max == nil || *capacity.Max != 100 {
		t.Errorf("capacity bounds %v–%v, want the configuration's 1–100", capacity.Min, capacity.Max)
	}
	if p := agent.Properties["id"].Value; p.Pattern != "^[a-z0-9_-]{1,64}$" {
		t.Errorf("agent id pattern %q", p.Pattern)
	}
	if p := agent.Properties["token"].Value; p.MinLength != 8 {
		t.Errorf("token minLength %d, want 8", p.MinLength)
	}
	rt := schema("QueueInput").Properties["ring_timeout"].Value
	if rt.Min == nil || *rt.Min != 3 || rt.Max == nil || *rt.Max != 60 {
		t.Errorf("ring_timeout bounds %v–%v, want 3–60", rt.Min, rt.Max)
	}
	if req := schema("QueueInput").Required; len(req) != 1 || req[0] != "name" {
		t.Errorf("QueueInput required %v, want [name]", req)
	}
	var strategies []string
	for _, e := range schema("Queue").Properties["strategy"].Value.Enum {
		strategies = append(strategies, e.(string))
	}
	if strings.Join(strategies, " ") != "longest_idle round_robin fewest_calls least_talk_time random" {
		t.Errorf("strategy enum %v", strategies)
	}
	if len(schema("Agent").Properties["status"].Value.Enum) != 4 {
		t.Errorf("agent status enum %v", schema("Agent").Properties["status"].Value.Enum)
	}
}

// TestOpenAPIValidationCatchesMistakes: the check the API tests run on
// every answer fails on answers the document does not allow, so a test
// whose answers pass it proves something.
func TestOpenAPIValidationCatchesMistakes(t *testing.T) {
	srv, _ := contactServer(t)
	get := httptest.NewRequest("GET", "/api/v1/agents/agent1", nil)
	json := http.Header{"Content-Type": {"application/json"}}
	good := `{"id":"agent1","name":"One","status":"offline","system":"","capacity":10,"wrap_up":0,"queues":["support"],` +
		`"managed":true,"open_conversations":0,"calls_taken":0,"talk_time":0}`
	if err := srv.spec.validate(get, 200, json, []byte(good)); err != nil {
		t.Fatalf("a good answer fails: %v", err)
	}
	for name, tc := range map[string]struct {
		status int
		body   string
	}{
		"wrong type":          {200, strings.Replace(good, `"capacity":10`, `"capacity":"10"`, 1)},
		"out of bounds":       {200, strings.Replace(good, `"capacity":10`, `"capacity":500`, 1)},
		"not in the enum":     {200, strings.Replace(good, `"offline"`, `"sleeping"`, 1)},
		"missing field":       {200, strings.Replace(good, `"managed":true,`, ``, 1)},
		"undocumented field":  {200, strings.Replace(good, `{`, `{"colour":"red",`, 1)},
		"undocumented status": {418, `{"error":"teapot"}`},
		"error without error": {404, `{"field":"x"}`},
	} {
		if err := srv.spec.validate(get, tc.status, json, []byte(tc.body)); err == nil {
			t.Errorf("%s: %d %s passes", name, tc.status, tc.body)
		}
	}
}

// TestAPIAnswersMatchTheDocument runs the API's tests' requests and lists
// the answers validated, so that a change that stops validating shows.
func TestAPIAnswersMatchTheDocument(t *testing.T) {
	srv, _ := contactServer(t)
	for _, r := range []struct{ method, path, token, body string }{
		{"GET", "/api/v1/agents", testKey, ""},
		{"GET", "/api/v1/agents/agent1", "agent1-token", ""},
		{"POST", "/api/v1/agents", testKey, `{"id":"ann","queues":["support"]}`},
		{"POST", "/api/v1/agents", testKey, `{"id":"Ann Lee","capacity":500,"colour":"red"}`},
		{"PATCH", "/api/v1/agents/ann", testKey, `{"capacity":3}`},
		{"PUT", "/api/v1/agents/ann/status", testKey, `{"status":"away"}`},
		{"POST", "/api/v1/queues", testKey, `{"name":"sales","auto_assign":true}`},
		{"GET", "/api/v1/queues", testKey, ""},
		{"GET", "/api/v1/queues/sales", "agent1-token", ""},
		{"PATCH", "/api/v1/queues/sales", testKey, `{"priority":2}`},
		{"POST", "/api/v1/waiting-strategies", testKey, `{"name":"quiet","music":"prompt-aaaaaaaaaaaaaaaaaaaaaaaa","announcement":{"file":"prompt-bbbbbbbbbbbbbbbbbbbbbbbb","every":30,"response_codes":{"1":"callback"}}}`},
		{"GET", "/api/v1/waiting-strategies", testKey, ""},
		{"GET", "/api/v1/waiting-strategies/quiet", testKey, ""},
		{"PUT", "/api/v1/waiting-strategies/quiet", testKey, `{"music":"prompt-cccccccccccccccccccccccc"}`},
		{"DELETE", "/api/v1/waiting-strategies/quiet", testKey, ""},
		{"POST", "/api/v1/agents/agent1/heartbeat", "agent1-token", ""},
		{"POST", "/api/v1/agents/agent1/wrapup/extend", "agent1-token", ""},
		{"GET", "/api/v1/agents/agent1/events", "agent1-token", ""},
		{"PATCH", "/api/v1/conversations/nope", "agent1-token", `{"status":"closed"}`},
		{"POST", "/api/v1/calls/nope/dtmf", "agent1-token", `{"digits":"12#"}`},
		{"DELETE", "/api/v1/queues/sales", testKey, ""},
		{"DELETE", "/api/v1/agents/ann", testKey, ""},
		{"GET", "/api/v1/agents", "", ""},
		{"POST", "/api/v1/queues", testKey, `[1]`},
	} {
		request(t, srv, r.method, r.path, r.token, r.body)
	}
	srv.spec.mu.Lock()
	defer srv.spec.mu.Unlock()
	var seen []string
	for k := range srv.spec.checked {
		seen = append(seen, k)
	}
	sort.Strings(seen)
	t.Logf("answers validated against the document:\n%s", strings.Join(seen, "\n"))
	for _, want := range []string{
		"POST /api/v1/agents Created", "POST /api/v1/agents Bad Request", "GET /api/v1/agents Unauthorized",
		"GET /api/v1/agents/{id}/events Upgrade Required", "POST /api/v1/agents/{id}/wrapup/extend Conflict",
		"DELETE /api/v1/waiting-strategies/{id} No Content", "PATCH /api/v1/conversations/{id} Not Found",
	} {
		if srv.spec.checked[want] == 0 {
			t.Errorf("no answer %q was validated", want)
		}
	}
}

// TestStrategyResponseCodeForms: a waiting strategy's response codes take
// a flow's name or {"callback": NAME} and are shown back in the same form;
// another shape is a 400 naming both forms. Answers match the document.
func TestStrategyResponseCodeForms(t *testing.T) {
	srv, _ := contactServer(t)
	body := `{"name":"cb","announcement":{"file":"prompt-bbbbbbbbbbbbbbbbbbbbbbbb","every":30,` +
		`"response_codes":{"1":{"callback":"support-callback"},"2":"callback"}}}`
	if code, out := request(t, srv, "POST", "/api/v1/waiting-strategies", testKey, body); code != 201 {
		t.Fatalf("POST: %d %s", code, out)
	}
	code, out := request(t, srv, "GET", "/api/v1/waiting-strategies/cb", testKey, "")
	if want := `"response_codes":{"1":{"callback":"support-callback"},"2":"callback"}`; code != 200 || !strings.Contains(out, want) {
		t.Errorf("GET: %d %s, want %s", code, out, want)
	}
	bad := `{"name":"bad","announcement":{"file":"prompt-bbbbbbbbbbbbbbbbbbbbbbbb","every":30,"response_codes":{"1":{"callbak":"x"}}}}`
	if code, out := request(t, srv, "POST", "/api/v1/waiting-strategies", testKey, bad); code != 400 || !strings.Contains(out, `{\"callback\": NAME}`) {
		t.Errorf("POST with a misspelt key: %d %s, want 400 naming the forms", code, out)
	}
}
