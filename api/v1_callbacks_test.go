package api

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/switchboard-voice/switchboard/store"
)

// callbackIDs lists the ids of a JSON list of callbacks.
func callbackIDs(t *testing.T, body string) []string {
	t.Helper()
	var cs []Callback
	if err := json.Unmarshal([]byte(body), &cs); err != nil {
		t.Fatalf("not a list of callbacks: %v: %s", err, body)
	}
	out := []string{}
	for _, c := range cs {
		out = append(out, c.ID)
	}
	return out
}

// TestAPICallbackConfigs: supervisors create, replace and delete callback
// configurations, agents read them; those of the configuration are
// read-only (409); every problem of a body is a 400 on its field.
func TestAPICallbackConfigs(t *testing.T) {
	srv, a := contactServer(t)
	if err := a.ApplyCallbackConfigs(context.Background(), []store.CallbackConfig{
		{Name: "support-callback", Type: "automated", Queue: "support", Retries: 2, RetryDelay: 10 * time.Second,
			Priority: "queue_position", ConfirmationFile: "tone-1500.wav"}}); err != nil {
		t.Fatal(err)
	}
	code, body := request(t, srv, "POST", "/api/v1/callback-configs", testKey,
		`{"name":"support-manual","type":"manual","queue":"support","retry_delay":60,"confirmation":{"say":"We will call you back"}}`)
	var created CallbackConfig
	if err := json.Unmarshal([]byte(body), &created); code != 201 || err != nil || created.ID != "support-manual" ||
		created.Retries != 2 || created.RetryDelay != 60 || created.Managed || created.Confirmation.Say == "" {
		t.Fatalf("create: %d %s", code, body)
	}
	if code, body := request(t, srv, "POST", "/api/v1/callback-configs", testKey,
		`{"name":"support-manual","type":"manual","queue":"support"}`); code != 409 {
		t.Errorf("create a taken name: %d %s, want 409", code, body)
	}
	if code, body := request(t, srv, "POST", "/api/v1/callback-configs", "agent1-token",
		`{"name":"x","type":"manual","queue":"support"}`); code != 403 {
		t.Errorf("an agent created a callback config: %d %s", code, body)
	}
	code, body = request(t, srv, "POST", "/api/v1/callback-configs", testKey,
		`{"name":"Bad Name","type":"sometimes","queue":"support","retries":11,"retry_delay":1,"priority":"first"}`)
	for _, f := range []string{"name", "type", "retries", "retry_delay", "priority"} {
		if code != 400 || !strings.Contains(body, `"field":"`+f+`"`) {
			t.Errorf("bad config: %d %s, want 400 naming %s", code, body, f)
		}
	}
	if code, body := request(t, srv, "POST", "/api/v1/callback-configs", testKey,
		`{"name":"x","type":"manual","queue":"nowhere"}`); code != 400 || !strings.Contains(body, `"field":"queue"`) {
		t.Errorf("unknown queue: %d %s, want 400 on queue", code, body)
	}

	code, body = request(t, srv, "GET", "/api/v1/callback-configs", "agent1-token", "")
	var list []CallbackConfig
	if err := json.Unmarshal([]byte(body), &list); code != 200 || err != nil || len(list) != 2 ||
		list[0].Name != "support-callback" || !list[0].Managed || list[0].RetryDelay != 10 || list[1].Name != "support-manual" {
		t.Fatalf("list: %d %s", code, body)
	}
	if code, body := request(t, srv, "GET", "/api/v1/callback-configs/support-callback", "agent2-token", ""); code != 200 ||
		!strings.Contains(body, `"priority":"queue_position"`) {
		t.Errorf("get: %d %s", code, body)
	}
	code, body = request(t, srv, "PUT", "/api/v1/callback-configs/support-manual", testKey,
		`{"type":"manual","queue":"support","retries":0}`)
	if code != 200 || !strings.Contains(body, `"retries":0`) || !strings.Contains(body, `"retry_delay":300`) {
		t.Errorf("replace: %d %s, want retries 0 and the default delay", code, body)
	}
	if code, body := request(t, srv, "PUT", "/api/v1/callback-configs/support-manual", testKey,
		`{"name":"other","type":"manual","queue":"support"}`); code != 400 || !strings.Contains(body, `"field":"name"`) {
		t.Errorf("rename: %d %s, want 400 on name", code, body)
	}
	for _, r := range []struct{ method, body string }{{"PUT", `{"type":"manual","queue":"support"}`}, {"DELETE", ""}} {
		if code, body := request(t, srv, r.method, "/api/v1/callback-configs/support-callback", testKey, r.body); code != 409 ||
			!strings.Contains(body, "managed by config") {
			t.Errorf("%s a managed config: %d %s, want 409", r.method, code, body)
		}
	}
	if code, _ := request(t, srv, "DELETE", "/api/v1/callback-configs/support-manual", testKey, ""); code != 204 {
		t.Errorf("delete: %d", code)
	}
	if code, _ := request(t, srv, "GET", "/api/v1/callback-configs/support-manual", testKey, ""); code != 404 {
		t.Errorf("get deleted: %d, want 404", code)
	}
}

// TestAPICallbacks: a supervisor requests callbacks; agents list those of
// their queues with filters; two agents race to assign the same one over
// HTTP: exactly one 200, one 409.
func TestAPICallbacks(t *testing.T) {
	srv, a := contactServer(t)
	ctx := context.Background()
	if _, err := a.CreateQueue(ctx, store.Queue{Name: "sales"}); err != nil {
		t.Fatal(err)
	}
	if err := a.ApplyCallbackConfigs(ctx, []store.CallbackConfig{
		{Name: "support-manual", Type: "manual", Queue: "support"},
		{Name: "support-callback", Type: "automated", Queue: "support"}}); err != nil {
		t.Fatal(err)
	}
	create := func(body string) Callback {
		t.Helper()
		code, out := request(t, srv, "POST", "/api/v1/callbacks", testKey, body)
		var cb Callback
		if err := json.Unmarshal([]byte(out), &cb); code != 201 || err != nil || cb.ID == "" || cb.Status != store.CallbackInQueue {
			t.Fatalf("request callback %s: %d %s", body, code, out)
		}
		return cb
	}
	manual := create(`{"config":"support-manual","number":"+15550142"}`)
	auto := create(`{"config":"support-callback","number":"+15550143"}`)
	sales := create(`{"config":"support-manual","number":"+15550144","queue":"sales"}`)
	if manual.ConversationID == "" || manual.Queue != "support" || sales.Queue != "sales" {
		t.Errorf("created %+v and %+v", manual, sales)
	}
	for _, bad := range []struct {
		body string
		code int
	}{
		{`{"config":"support-manual","number":"5550142"}`, 400},
		{`{"number":"+15550142"}`, 400},
		{`{"config":"nope","number":"+15550142"}`, 404},
		{`{"config":"support-manual","number":"+15550142","queue":"nowhere"}`, 404},
	} {
		if code, body := request(t, srv, "POST", "/api/v1/callbacks", testKey, bad.body); code != bad.code {
			t.Errorf("request %s: %d %s, want %d", bad.body, code, body, bad.code)
		}
	}
	if code, body := request(t, srv, "POST", "/api/v1/callbacks", "agent1-token", `{"config":"support-manual","number":"+15550142"}`); code != 403 {
		t.Errorf("an agent requested a callback: %d %s", code, body)
	}

	today := time.Now().UTC().Format(time.DateOnly)
	yesterday := time.Now().UTC().AddDate(0, 0, -1).Format(time.DateOnly)
	for _, tc := range []struct {
		query, token string
		want         []string
	}{
		{"", testKey, []string{manual.ID, auto.ID, sales.ID}},
		{"", "agent1-token", []string{manual.ID, auto.ID}},
		{"?status=in_queue&type=manual", "agent1-token", []string{manual.ID}},
		{"?type=manual", testKey, []string{manual.ID, sales.ID}},
		{"?from=" + today + "&to=" + today, "agent2-token", []string{manual.ID, auto.ID}},
		{"?to=" + yesterday, testKey, []string{}},
		{"?status=done", testKey, []string{}},
	} {
		code, body := request(t, srv, "GET", "/api/v1/callbacks"+tc.query, tc.token, "")
		if code != 200 {
			t.Errorf("GET /api/v1/callbacks%s: %d %s", tc.query, code, body)
			continue
		}
		if got := callbackIDs(t, body); strings.Join(got, ",") != strings.Join(tc.want, ",") {
			t.Errorf("GET /api/v1/callbacks%s as %s = %v, want %v", tc.query, tc.token, got, tc.want)
		}
	}
	for _, q := range []string{"?status=lost", "?type=robot", "?from=yesterday"} {
		if code, body := request(t, srv, "GET", "/api/v1/callbacks"+q, testKey, ""); code != 400 {
			t.Errorf("GET /api/v1/callbacks%s: %d %s, want 400", q, code, body)
		}
	}
	if code, body := request(t, srv, "GET", "/api/v1/callbacks/"+sales.ID, "agent1-token", ""); code != 403 {
		t.Errorf("an agent read another queue's callback: %d %s", code, body)
	}
	if code, body := request(t, srv, "GET", "/api/v1/callbacks/"+manual.ID, "agent1-token", ""); code != 200 ||
		!strings.Contains(body, `"number":"+15550142"`) {
		t.Errorf("get callback: %d %s", code, body)
	}
	if code, _ := request(t, srv, "GET", "/api/v1/callbacks/nope", testKey, ""); code != 404 {
		t.Errorf("get unknown callback: %d, want 404", code)
	}
	if code, body := request(t, srv, "POST", "/api/v1/callbacks/"+auto.ID+"/assign", "agent1-token", ""); code != 409 {
		t.Errorf("assign an automated callback: %d %s, want 409", code, body)
	}
	if code, body := request(t, srv, "POST", "/api/v1/callbacks/"+sales.ID+"/assign", "agent1-token", ""); code != 403 {
		t.Errorf("assign another queue's callback: %d %s, want 403", code, body)
	}
	if code, body := request(t, srv, "POST", "/api/v1/callbacks/"+manual.ID+"/assign", testKey, ""); code != 403 {
		t.Errorf("a supervisor assigned a callback to itself: %d %s, want 403", code, body)
	}

	// Two agents race for the same callback over HTTP.
	var wg sync.WaitGroup
	codes := make([]int, 2)
	bodies := make([]string, 2)
	start := make(chan struct{})
	for i, token := range []string{"agent1-token", "agent2-token"} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			req, err := http.NewRequest("POST", srv.URL+"/api/v1/callbacks/"+manual.ID+"/assign", nil)
			if err != nil {
				t.Error(err)
				return
			}
			req.Header.Set("Authorization", "Bearer "+token)
			<-start
			res, err := srv.Client().Do(req)
			if err != nil {
				t.Error(err)
				return
			}
			defer res.Body.Close()
			b, _ := io.ReadAll(res.Body)
			codes[i], bodies[i] = res.StatusCode, string(b)
		}()
	}
	close(start)
	wg.Wait()
	winner := -1
	switch {
	case codes[0] == 200 && codes[1] == 409:
		winner = 0
	case codes[0] == 409 && codes[1] == 200:
		winner = 1
	default:
		t.Fatalf("race: %v %v, want one 200 and one 409", codes, bodies)
	}
	var won Callback
	if err := json.Unmarshal([]byte(bodies[winner]), &won); err != nil || won.Status != store.CallbackAssigned ||
		won.AgentID != []string{"agent1", "agent2"}[winner] {
		t.Errorf("winner's answer: %s", bodies[winner])
	}
	code, body := request(t, srv, "GET", "/api/v1/callbacks?status=assigned", testKey, "")
	if ids := callbackIDs(t, body); code != 200 || len(ids) != 1 || ids[0] != manual.ID {
		t.Errorf("assigned after the race: %d %s", code, body)
	}
	if code, body := request(t, srv, "POST", "/api/v1/callbacks/"+manual.ID+"/assign", "agent1-token", ""); code != 409 {
		t.Errorf("assign an assigned callback again: %d %s, want 409", code, body)
	}
}
