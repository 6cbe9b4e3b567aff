package api

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/coder/websocket/wsjson"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/switchboard-voice/switchboard/acd"
	"github.com/switchboard-voice/switchboard/config"
	"github.com/switchboard-voice/switchboard/dialplan/prompt"
	"github.com/switchboard-voice/switchboard/store"
)

const testKey = "supervisor-key"

// apiServer is the API under test, served over HTTP; request checks every
// answer against the OpenAPI document.
type apiServer struct {
	*httptest.Server
	spec *specChecker
}

// contactServer is the API on a real ACD over a real (in-memory) SQLite
// store, with a config-managed queue and agents and one API key.
func contactServer(t *testing.T) (*apiServer, *acd.ACD) {
	t.Helper()
	c, a := testContact(t)
	srv := httptest.NewServer(New(Options{Gatherer: prometheus.NewRegistry(), Contact: c}).Handler())
	t.Cleanup(srv.Close)
	return &apiServer{Server: srv, spec: newSpecChecker(t, newV1(c).document())}, a
}

// testContact is a contact center on a real ACD over a real (in-memory)
// SQLite store, with a config-managed queue, agents agent1 and agent2 and
// one API key.
func testContact(t *testing.T) (*Contact, *acd.ACD) {
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
	// Prompts the strategies of the tests name, as uploads would have left them.
	for _, id := range []string{"prompt-aaaaaaaaaaaaaaaaaaaaaaaa", "prompt-bbbbbbbbbbbbbbbbbbbbbbbb", "prompt-cccccccccccccccccccccccc"} {
		if err := st.AddPrompt(ctx, store.Prompt{ID: id, Name: "t.wav", Format: ".wav", Size: 1, Duration: time.Second}); err != nil {
			t.Fatal(err)
		}
	}
	promptDir := t.TempDir()
	c := &Contact{ACD: a, Strategies: st, Prompts: st, PromptDir: func() string { return promptDir },
		Converter: prompt.New(prompt.Options{CacheDir: t.TempDir()}),
		Keys:      func() map[string]string { return map[string]string{testKey: "ops"} },
		ManagedStrategies: func() map[string]WaitingStrategy {
			return map[string]WaitingStrategy{"default": {ID: "default", Managed: true,
				WaitingStrategyInput: WaitingStrategyInput{Name: "default", Music: "music.wav"}}}
		},
		CheckStrategy: func(w WaitingStrategyInput) []FieldProblem {
			var out []FieldProblem
			if w.Announcement != nil && w.Announcement.File != "" && w.Announcement.Every <= 0 {
				out = append(out, FieldProblem{Field: "announcement.every", Problem: "is required with an announcement file"})
			}
			if w.MaxWait < 0 {
				out = append(out, FieldProblem{Field: "max_wait", Problem: "must not be negative"})
			}
			return out
		},
	}
	return c, a
}

// request makes one request and returns the status and body; the answer
// must match the OpenAPI document (status, headers, body).
func request(t *testing.T, srv *apiServer, method, path, token, body string) (int, string) {
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
	srv.spec.check(t, req, res, b)
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
		{"POST", "/api/v1/agents", `{"id":"a3","capacity":"two"}`, 400, "capacity", "must be an integer, not string"},
		{"POST", "/api/v1/agents", `{"id":"a3","colour":"red"}`, 400, "colour", "unknown field"},
		{"POST", "/api/v1/agents", `{"id":"a3","token":"short"}`, 400, "token", "at least 8"},
		{"POST", "/api/v1/agents", `{"id":"a3","name":"Three","queues":["nope"]}`, 400, "queues[0]", "nope"},
		{"POST", "/api/v1/agents", `{"id":"a3"`, 400, "", "invalid JSON"},
		{"POST", "/api/v1/agents", `{"id":"a3"} {}`, 400, "", "nothing after it"},
		{"POST", "/api/v1/agents", `["a3"]`, 400, "", "must be a JSON object"},
		{"POST", "/api/v1/agents", `{"name":"Three"}`, 400, "id", "is required"},
		{"POST", "/api/v1/agents", `{"id":"Agent 3"}`, 400, "id", "use lowercase letters, digits, '-' and '_'"},
		{"POST", "/api/v1/agents", `{"id":"a3","capacity":101}`, 400, "capacity", "must be from 1 to 100, not 101"},
		{"POST", "/api/v1/agents", `{"id":"a3","capacity":0}`, 400, "capacity", "must be from 1 to 100, not 0"},
		{"POST", "/api/v1/agents", `{"id":"` + strings.Repeat("a", 65) + `"}`, 400, "id", "at most 64 characters"},
		{"PATCH", "/api/v1/agents/agent1", `{"id":"agent9"}`, 400, "id", "cannot be changed"},
		{"PUT", "/api/v1/agents/agent1/status", `{"status":"sleeping"}`, 400, "status", "sleeping"},
		{"POST", "/api/v1/queues", `{"name":"sales","ring_timeout":2}`, 400, "ring_timeout", "must be from 3s to 1m0s, not 2s"},
		{"POST", "/api/v1/queues", `{"name":"sales","waiting_strategy":"ghost"}`, 400, "waiting_strategy", "ghost"},
		{"POST", "/api/v1/queues", `{"name":"Sales Team"}`, 400, "name", `Sales Team`},
		{"POST", "/api/v1/queues", `{"auto_assign":true}`, 400, "name", "is required"},
		{"POST", "/api/v1/queues", `{"id":"q1","name":"q1"}`, 400, "id", "unknown field"},
		{"POST", "/api/v1/queues", `{"name":"sales","service_level_threshold":-1}`, 400, "service_level_threshold", "must not be negative"},
		{"PATCH", "/api/v1/queues/default", `{"name":"other"}`, 400, "name", "cannot be changed"},
		{"POST", "/api/v1/waiting-strategies", `{"name":"quiet","announcement":{"file":"prompt-bbbbbbbbbbbbbbbbbbbbbbbb"}}`, 400, "announcement.every", "required"},
		{"POST", "/api/v1/waiting-strategies", `{"name":"quiet","announcement":{"file":"prompt-bbbbbbbbbbbbbbbbbbbbbbbb","every":"often"}}`, 400, "announcement.every", "must be a number, not string"},
		{"POST", "/api/v1/waiting-strategies", `{"name":"Quiet Music"}`, 400, "name", `Quiet Music`},
		{"POST", "/api/v1/waiting-strategies", `{"id":"x","name":"quiet"}`, 400, "id", "unknown field"},
		{"PUT", "/api/v1/agents/agent1/status", `{}`, 400, "status", `is not one of available, busy, away, offline`},
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

// TestAPIListsEveryProblem: a body with several mistakes is answered 400
// with every one of them, each naming its field, in the body's order and
// then the checks' — the same for agents, queues and waiting strategies.
func TestAPIListsEveryProblem(t *testing.T) {
	srv, _ := contactServer(t)
	for _, tc := range []struct {
		path, body string
		want       []FieldProblem
	}{
		{"/api/v1/agents", `{"id":"Ann Lee","colour":"red","capacity":500,"wrap_up":"long","token":"short","queues":["support","nope","Bad Queue"]}`,
			[]FieldProblem{
				{"colour", "unknown field"},
				{"wrap_up", "must be a number, not string"},
				{"id", `invalid name "Ann Lee": use lowercase letters, digits, '-' and '_'`},
				{"token", "is too short: use at least 8 characters"},
				{"queues[2]", `invalid name "Bad Queue": use lowercase letters, digits, '-' and '_'`},
				{"capacity", "must be from 1 to 100, not 500"},
				{"queues[1]", `no queue "nope"`},
			}},
		{"/api/v1/queues", `{"name":"sales desk","strategy":"fastest","ring_timeout":90,"wrap_up":-5,"priority":"high","waiting_strategy":"ghost"}`,
			[]FieldProblem{
				{"priority", "must be an integer, not string"},
				{"name", `invalid name "sales desk": use lowercase letters, digits, '-' and '_'`},
				{"strategy", `unknown strategy "fastest": use one of longest_idle, round_robin, fewest_calls, least_talk_time, random`},
				{"ring_timeout", "must be from 3s to 1m0s, not 1m30s"},
				{"wrap_up", "must not be negative"},
				{"waiting_strategy", `unknown waiting strategy "ghost": create it first (POST /api/v1/waiting-strategies)`},
			}},
		{"/api/v1/waiting-strategies", `{"name":"quiet","max_wait":-1,"music":7,"announcement":{"file":"prompt-bbbbbbbbbbbbbbbbbbbbbbbb","colour":"red"}}`,
			[]FieldProblem{
				{"music", "must be a string, not number"},
				{"announcement.colour", "unknown field"},
				{"announcement.every", "is required with an announcement file"},
				{"max_wait", "must not be negative"},
			}},
	} {
		code, body := request(t, srv, "POST", tc.path, testKey, tc.body)
		var e apiError
		if err := json.Unmarshal([]byte(body), &e); err != nil || code != 400 {
			t.Errorf("POST %s: %d %s, want 400", tc.path, code, body)
			continue
		}
		if !reflect.DeepEqual(e.Problems, tc.want) || e.Field != tc.want[0].Field {
			t.Errorf("POST %s %s:\n got %+v\nwant %+v", tc.path, tc.body, e.Problems, tc.want)
		}
		for _, p := range tc.want {
			if !strings.Contains(e.Error, p.Field+": "+p.Problem) {
				t.Errorf("POST %s: error %q lacks %s: %s", tc.path, e.Error, p.Field, p.Problem)
			}
		}
	}
}

// TestAPIAgentWithoutToken: an agent created without a token gets one made
// by the switch, returned once in the 201 answer: the agent signs in with
// it; GET never shows it; a token given is never echoed.
func TestAPIAgentWithoutToken(t *testing.T) {
	srv, _ := contactServer(t)
	code, body := request(t, srv, "POST", "/api/v1/agents", testKey, `{"id":"ann","name":"Ann Lee","queues":["support"]}`)
	var a Agent
	if err := json.Unmarshal([]byte(body), &a); err != nil || code != 201 || a.ID != "ann" || len(a.Token) < 32 {
		t.Fatalf("create without a token: %d %s, want 201 with a token", code, body)
	}
	if code, body := request(t, srv, "GET", "/api/v1/agents/ann", a.Token, ""); code != 200 || !strings.Contains(body, `"id":"ann"`) {
		t.Errorf("the agent signs in with the token it was given: %d %s", code, body)
	}
	if code, body := request(t, srv, "PUT", "/api/v1/agents/ann/status", a.Token, `{"status":"available"}`); code != 200 {
		t.Errorf("the agent sets its status with its token: %d %s", code, body)
	}
	if _, body := request(t, srv, "GET", "/api/v1/agents/ann", testKey, ""); strings.Contains(body, a.Token) || strings.Contains(body, `"token"`) {
		t.Errorf("GET shows the token: %s", body)
	}
	code, body = request(t, srv, "POST", "/api/v1/agents", testKey, `{"id":"bob"}`)
	var b Agent
	if err := json.Unmarshal([]byte(body), &b); err != nil || code != 201 || b.Token == "" || b.Token == a.Token {
		t.Errorf("second agent: %d %s, want its own token", code, body)
	}
	if code, body := request(t, srv, "POST", "/api/v1/agents", testKey, `{"id":"cyd","token":"cyd-secret-token"}`); code != 201 || strings.Contains(body, "cyd-secret-token") {
		t.Errorf("an agent with a token: %d %s, want 201 without the token echoed", code, body)
	}
	if code, _ := request(t, srv, "GET", "/api/v1/agents/cyd", "cyd-secret-token", ""); code != 200 {
		t.Errorf("the given token: %d", code)
	}
}

// TestAPIIdsAreNames: a queue's and a waiting strategy's id is its name,
// what flows and queues name; an agent's id is the one given. Names follow
// the configuration's rule.
func TestAPIIdsAreNames(t *testing.T) {
	srv, _ := contactServer(t)
	code, body := request(t, srv, "POST", "/api/v1/waiting-strategies", testKey, `{"name":"quiet","music":"prompt-aaaaaaaaaaaaaaaaaaaaaaaa"}`)
	if code != 201 || !strings.Contains(body, `"id":"quiet","name":"quiet"`) {
		t.Fatalf("create strategy: %d %s", code, body)
	}
	code, body = request(t, srv, "POST", "/api/v1/queues", testKey, `{"name":"sales","auto_assign":true,"waiting_strategy":"quiet"}`)
	if code != 201 || !strings.Contains(body, `"id":"sales","name":"sales"`) {
		t.Fatalf("create queue: %d %s", code, body)
	}
	if code, body := request(t, srv, "POST", "/api/v1/queues", testKey, `{"name":"sales"}`); code != 409 {
		t.Errorf("a second queue sales: %d %s, want 409", code, body)
	}
	if code, body := request(t, srv, "POST", "/api/v1/waiting-strategies", testKey, `{"name":"default"}`); code != 409 || !strings.Contains(body, "managed by config") {
		t.Errorf("a strategy named like the configuration's: %d %s, want 409 managed by config", code, body)
	}
	if code, body := request(t, srv, "PUT", "/api/v1/waiting-strategies/quiet", testKey, `{"name":"loud"}`); code != 400 || !strings.Contains(body, "cannot be changed") {
		t.Errorf("rename a strategy: %d %s, want 400", code, body)
	}
	if code, body := request(t, srv, "DELETE", "/api/v1/waiting-strategies/quiet", testKey, ""); code != 409 || !strings.Contains(body, `queue \"sales\" uses`) {
		t.Errorf("delete a strategy a queue uses: %d %s, want 409", code, body)
	}
	var qs []Queue
	_, body = request(t, srv, "GET", "/api/v1/queues", testKey, "")
	_ = json.Unmarshal([]byte(body), &qs)
	var ids []string
	for _, q := range qs {
		ids = append(ids, q.ID+"="+q.Name)
	}
	if strings.Join(ids, " ") != "default=default sales=sales support=support" {
		t.Errorf("queues %v, want every id equal to its name", ids)
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
	code, body = request(t, srv, "POST", "/api/v1/waiting-strategies", testKey, `{"name":"quiet","music":"prompt-aaaaaaaaaaaaaaaaaaaaaaaa","max_wait":120}`)
	if code != 201 {
		t.Fatalf("create strategy: %d %s", code, body)
	}
	var ws WaitingStrategy
	_ = json.Unmarshal([]byte(body), &ws)
	if code, body := request(t, srv, "PUT", "/api/v1/waiting-strategies/"+ws.ID, testKey, `{"name":"quiet","music":"prompt-cccccccccccccccccccccccc"}`); code != 200 || !strings.Contains(body, "prompt-cccccccccccccccccccccccc") {
		t.Errorf("put strategy: %d %s", code, body)
	}
	if code, body := request(t, srv, "GET", "/api/v1/waiting-strategies", testKey, ""); code != 200 || !strings.Contains(body, "prompt-cccccccccccccccccccccccc") || !strings.Contains(body, `"managed":true`) {
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

// TestConfigAndACDAgree: the ACD (which may not import config) keeps its own
// copy of the queue rules as a second guard; they are the configuration's,
// which the API checks first.
func TestConfigAndACDAgree(t *testing.T) {
	if config.MinQueueRingTimeout != acd.MinRingTimeout || config.MaxQueueRingTimeout != acd.MaxRingTimeout ||
		config.DefaultQueueRingTimeout != acd.DefaultRingTimeout || config.DefaultWrapUp != acd.DefaultWrapUp ||
		config.DefaultServiceLevel != acd.DefaultServiceLevel || config.DefaultAgentCapacity != acd.DefaultCapacity ||
		config.DefaultHeartbeatTimeout != acd.DefaultHeartbeatTimeout || config.DefaultQueue != acd.DefaultQueueName {
		t.Error("config's and acd's queue and agent defaults or bounds differ")
	}
	if config.DefaultCallbackRetries != acd.DefaultCallbackRetries || config.MaxCallbackRetries != acd.MaxCallbackRetries ||
		config.DefaultCallbackRetryDelay != acd.DefaultCallbackRetryDelay ||
		config.MinCallbackRetryDelay != acd.MinCallbackRetryDelay || config.MaxCallbackRetryDelay != acd.MaxCallbackRetryDelay ||
		config.DefaultCallbackPriority != acd.CallbackInboundFirst ||
		!reflect.DeepEqual(config.CallbackPriorities, []string{acd.CallbackInboundFirst, acd.CallbackQueuePosition}) ||
		!reflect.DeepEqual(config.CallbackTypes, []string{store.CallbackAutomated, store.CallbackManual}) ||
		config.TagExternalNumber != acd.TagExternalNumber {
		t.Error("config's and acd's callback defaults, bounds or names, or the phone book's tag, differ")
	}
	want := []string{acd.LongestIdle, acd.RoundRobin, acd.FewestCalls, acd.LeastTalkTime, acd.Random}
	if !reflect.DeepEqual(config.QueueStrategies, want) || config.DefaultQueueStrategy != acd.LongestIdle {
		t.Errorf("strategies: config %v, acd %v", config.QueueStrategies, want)
	}
}
