package api

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/coder/websocket/wsjson"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/switchboard-voice/switchboard/acd"
	"github.com/switchboard-voice/switchboard/store"
)

const testKey = "supervisor-key"

// contactServer is the API on a real ACD over a real (in-memory) SQLite
// store, with a config-managed queue and agents and one API key.
func contactServer(t *testing.T) (*httptest.Server, *acd.ACD) {
	t.Helper()
	ctx := context.Background()
	st, err := store.Open(ctx, "sqlite://:memory:")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	a, err := acd.New(ctx, acd.Options{Store: st, HeartbeatTimeout: -1, Log: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { a.Close() })
	err = a.ApplyConfig(ctx, []store.Queue{{ID: "support", Name: "support", AutoAssign: true, RingTimeout: 10 * time.Second}},
		[]acd.AgentSpec{
			{Agent: store.Agent{ID: "agent1", Name: "One", Queues: []string{"support"}, Status: store.StatusOffline}, Token: "agent1-token"},
			{Agent: store.Agent{ID: "agent2", Name: "Two", Queues: []string{"support"}, Status: store.StatusOffline}, Token: "agent2-token"},
		})
	if err != nil {
		t.Fatal(err)
	}
	c := &Contact{ACD: a, Strategies: st,
		Keys: func() map[string]string { return map[string]string{testKey: "ops"} },
		ManagedStrategies: func() map[string]WaitingStrategy {
			return map[string]WaitingStrategy{"default": {ID: "default", Name: "default", Music: "music.wav", Managed: true}}
		},
		CheckStrategy: func(w WaitingStrategy) []FieldProblem {
			if w.Announcement != nil && w.Announcement.File != "" && w.Announcement.Every <= 0 {
				return []FieldProblem{{Field: "announcement.every", Problem: "is required with an announcement file"}}
			}
			return nil
		},
	}
	srv := httptest.NewServer(New(Options{Gatherer: prometheus.NewRegistry(), Contact: c}).Handler())
	t.Cleanup(srv.Close)
	return srv, a
}

// request makes one request and returns the status and body.
func request(t *testing.T, srv *httptest.Server, method, path, token, body string) (int, string) {
	t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, srv.URL+path, rd)
	if err != nil {
		t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	res, err := srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return res.StatusCode, string(b)
}

func TestAPIAuth(t *testing.T) {
	srv, _ := contactServer(t)
	for _, tc := range []struct {
		method, path, token, body string
		want                      int
		says                      string
	}{
		{"GET", "/api/v1/agents", "", "", 401, "missing credentials"},
		{"GET", "/api/v1/agents", "wrong-token", "", 401, "invalid credentials"},
		{"GET", "/api/v1/agents", "agent1-token", "", 403, "supervisor"},
		{"GET", "/api/v1/agents", testKey, "", 200, `"id":"agent1"`},
		{"GET", "/api/v1/agents/agent1", "agent1-token", "", 200, `"id":"agent1"`},
		{"GET", "/api/v1/agents/agent2", "agent1-token", "", 403, "only on itself"},
		{"PUT", "/api/v1/agents/agent2/status", "agent1-token", `{"status":"available"}`, 403, "only on itself"},
		{"PUT", "/api/v1/agents/agent1/status", "agent1-token", `{"status":"available"}`, 200, `"status":"available"`},
		{"POST", "/api/v1/calls/nope/answer", testKey, "", 403, "only an agent"},
		{"POST", "/api/v1/calls/nope/answer", "agent1-token", "", 404, "nope"},
		{"GET", "/api/v1/agents/nobody", testKey, "", 404, "nobody"},
		{"GET", "/api/v1/nothing", testKey, "", 404, "no such API path"},
	} {
		code, body := request(t, srv, tc.method, tc.path, tc.token, tc.body)
		if code != tc.want || !strings.Contains(body, tc.says) {
			t.Errorf("%s %s (token %q): %d %s, want %d with %q", tc.method, tc.path, tc.token, code, body, tc.want, tc.says)
		}
	}
}

func TestAPIValidation(t *testing.T) {
	srv, _ := contactServer(t)
	for _, tc := range []struct {
		method, path, body string
		want               int
		field, says        string
	}{
		{"POST", "/api/v1/agents", `{"id":"a3","capacity":"two"}`, 400, "capacity", "must be a number"},
		{"POST", "/api/v1/agents", `{"id":"a3","colour":"red"}`, 400, "colour", "unknown field"},
		{"POST", "/api/v1/agents", `{"id":"a3","token":"short"}`, 400, "token", "at least 8"},
		{"POST", "/api/v1/agents", `{"id":"a3","name":"Three","queues":["nope"]}`, 400, "queues", "nope"},
		{"POST", "/api/v1/agents", `{"id":"a3"`, 400, "", "invalid JSON"},
		{"PUT", "/api/v1/agents/agent1/status", `{"status":"sleeping"}`, 400, "status", "sleeping"},
		{"POST", "/api/v1/queues", `{"name":"sales","ring_timeout":2}`, 400, "ring_timeout", ""},
		{"POST", "/api/v1/queues", `{"name":"sales","waiting_strategy":"ghost"}`, 400, "waiting_strategy", "ghost"},
		{"POST", "/api/v1/waiting-strategies", `{"name":"quiet","announcement":{"file":"a.wav"}}`, 400, "announcement.every", "required"},
		{"POST", "/api/v1/calls/x/dtmf", `{"digits":"12#"}`, 403, "", "only an agent"},
	} {
		code, body := request(t, srv, tc.method, tc.path, testKey, tc.body)
		var e apiError
		_ = json.Unmarshal([]byte(body), &e)
		if code != tc.want || e.Field != tc.field || !strings.Contains(body, tc.says) {
			t.Errorf("%s %s %s: %d %s, want %d field %q with %q", tc.method, tc.path, tc.body, code, body, tc.want, tc.field, tc.says)
		}
	}
}

// TestAPIManagedObjects: objects from the configuration are read-only (409
// "managed by config"); those created through the API can be changed.
func TestAPIManagedObjects(t *testing.T) {
	srv, _ := contactServer(t)
	for _, tc := range []struct{ method, path, body string }{
		{"PATCH", "/api/v1/agents/agent1", `{"name":"Renamed"}`},
		{"DELETE", "/api/v1/agents/agent2", ""},
		{"PATCH", "/api/v1/queues/support", `{"auto_assign":false}`},
		{"DELETE", "/api/v1/queues/support", ""},
		{"PUT", "/api/v1/waiting-strategies/default", `{"name":"default"}`},
		{"DELETE", "/api/v1/waiting-strategies/default", ""},
	} {
		if code, body := request(t, srv, tc.method, tc.path, testKey, tc.body); code != 409 || !strings.Contains(body, "managed by config") {
			t.Errorf("%s %s: %d %s, want 409 managed by config", tc.method, tc.path, code, body)
		}
	}
	code, body := request(t, srv, "POST", "/api/v1/queues", testKey, `{"name":"sales","auto_assign":true,"ring_timeout":15}`)
	if code != 201 || !strings.Contains(body, `"ring_timeout":15`) || !strings.Contains(body, `"managed":false`) {
		t.Fatalf("create queue: %d %s", code, body)
	}
	var q Queue
	_ = json.Unmarshal([]byte(body), &q)
	if code, body := request(t, srv, "PATCH", "/api/v1/queues/"+q.ID, testKey, `{"strategy":"round_robin"}`); code != 200 || !strings.Contains(body, `"strategy":"round_robin"`) {
		t.Errorf("patch queue: %d %s", code, body)
	}
	code, body = request(t, srv, "POST", "/api/v1/waiting-strategies", testKey, `{"name":"quiet","music":"m.wav","max_wait":120}`)
	if code != 201 {
		t.Fatalf("create strategy: %d %s", code, body)
	}
	var ws WaitingStrategy
	_ = json.Unmarshal([]byte(body), &ws)
	if code, body := request(t, srv, "PUT", "/api/v1/waiting-strategies/"+ws.ID, testKey, `{"name":"quiet","music":"other.wav"}`); code != 200 || !strings.Contains(body, "other.wav") {
		t.Errorf("put strategy: %d %s", code, body)
	}
	if code, body := request(t, srv, "GET", "/api/v1/waiting-strategies", testKey, ""); code != 200 || !strings.Contains(body, "other.wav") || !strings.Contains(body, `"managed":true`) {
		t.Errorf("list strategies: %d %s", code, body)
	}
	if code, _ := request(t, srv, "DELETE", "/api/v1/waiting-strategies/"+ws.ID, testKey, ""); code != 204 {
		t.Errorf("delete strategy: %d", code)
	}
	if code, _ := request(t, srv, "GET", "/api/v1/waiting-strategies/"+ws.ID, testKey, ""); code != 404 {
		t.Errorf("deleted strategy: %d, want 404", code)
	}
}

// TestOpenAPIMatchesRoutes walks the OpenAPI document: every operation it
// lists is served (never the catch-all 404 or a 405), and the document
// lists every operation the server has.
func TestOpenAPIMatchesRoutes(t *testing.T) {
	srv, _ := contactServer(t)
	code, body := request(t, srv, "GET", "/api/v1/openapi.json", "", "")
	if code != 200 {
		t.Fatalf("openapi.json: %d", code)
	}
	var doc struct {
		OpenAPI string                               `json:"openapi"`
		Paths   map[string]map[string]map[string]any `json:"paths"`
	}
	if err := json.Unmarshal([]byte(body), &doc); err != nil {
		t.Fatal(err)
	}
	if doc.OpenAPI != "3.1.0" {
		t.Errorf("openapi %q", doc.OpenAPI)
	}
	n := 0
	for path, ops := range doc.Paths {
		for method := range ops {
			n++
			p := strings.NewReplacer("{id}", "agent1").Replace(path)
			code, body := request(t, srv, strings.ToUpper(method), p, "agent1-token", "")
			if strings.Contains(body, "no such API path") || code == http.StatusMethodNotAllowed {
				t.Errorf("%s %s is in the document but not served: %d %s", method, path, code, body)
			}
		}
	}
	v := newV1(&Contact{})
	if n != len(v.routes) {
		t.Errorf("document lists %d operations, the server has %d", n, len(v.routes))
	}
	for _, rt := range v.routes {
		if doc.Paths[rt.path][strings.ToLower(rt.method)] == nil {
			t.Errorf("%s %s is served but not in the document", rt.method, rt.path)
		}
	}
	// A method the document does not list is not served either.
	if code, _ := request(t, srv, "PUT", "/api/v1/queues", testKey, `{}`); code != http.StatusMethodNotAllowed {
		t.Errorf("PUT /api/v1/queues: %d, want 405", code)
	}
}

// TestAgentEventsSocket: an agent's events arrive on its WebSocket, the
// current status first; another agent's socket is refused.
func TestAgentEventsSocket(t *testing.T) {
	srv, _ := contactServer(t)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	url := "ws" + strings.TrimPrefix(srv.URL, "http") + "/api/v1/agents/agent1/events"
	if _, res, err := websocket.Dial(ctx, url+"?access_token=agent2-token", nil); err == nil || res == nil || res.StatusCode != 403 {
		t.Errorf("another agent's socket: %v %v, want 403", err, res)
	}
	conn, _, err := websocket.Dial(ctx, url, &websocket.DialOptions{HTTPHeader: http.Header{"Authorization": {"Bearer agent1-token"}}})
	if err != nil {
		t.Fatal(err)
	}
	defer conn.CloseNow()
	read := func() map[string]any {
		var ev map[string]any
		if err := wsjson.Read(ctx, conn, &ev); err != nil {
			t.Fatal(err)
		}
		return ev
	}
	if ev := read(); ev["type"] != "status.changed" || ev["data"].(map[string]any)["status"] != "offline" {
		t.Errorf("first event %v, want status.changed offline", ev)
	}
	if code, body := request(t, srv, "PUT", "/api/v1/agents/agent1/status", "agent1-token", `{"status":"away"}`); code != 200 {
		t.Fatalf("status: %d %s", code, body)
	}
	if ev := read(); ev["type"] != "status.changed" || ev["data"].(map[string]any)["status"] != "away" {
		t.Errorf("event %v, want status.changed away", ev)
	}
}

// TestWebMountedBesideAPI: the panel at / does not clash with the API's
// routes: each path reaches its own handler.
func TestWebMountedBesideAPI(t *testing.T) {
	web := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { _, _ = io.WriteString(w, "panel") })
	mux := New(Options{Gatherer: prometheus.NewRegistry(), Contact: &Contact{ACD: nil}, Web: web}).Handler()
	for path, want := range map[string]string{"/": "panel", "/app.js": "panel", "/api/v1/nothing": "no such API path"} {
		rec := httptest.NewRecorder()
		mux.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, path, nil))
		if !strings.Contains(rec.Body.String(), want) {
			t.Errorf("GET %s: %d %q, want %q", path, rec.Code, rec.Body.String(), want)
		}
	}
}
