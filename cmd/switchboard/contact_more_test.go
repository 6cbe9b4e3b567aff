package main

import (
	"context"
	"net/http"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/switchboard-voice/switchboard/config"
	"github.com/switchboard-voice/switchboard/gateway/agent"
	"github.com/switchboard-voice/switchboard/sip/siptest"
	"github.com/switchboard-voice/switchboard/store"
)

// ccConfig is the contact-center reference configuration.
const ccConfig = "../../testdata/config/contact-center.yaml"

// supervisorKey is contact-center.yaml's API key.
const supervisorKey = "test-key"

// connect connects agent id's events socket and media session without
// changing its status (login then makes it Available).
func (h *harness) connect(id, token string) (*simAgent, string) {
	h.t.Helper()
	a := h.openAgent(id, token)
	first := a.next("status.changed", 5*time.Second) // the socket's first event: the current status
	return a, first.Field("status")
}

// openAgent opens the agent's events socket and WHIP media session.
func (h *harness) openAgent(id, token string) *simAgent {
	h.t.Helper()
	p := agent.NewPanel("http://"+h.node.http.Addr(), id, token)
	ev, err := p.Events(h.ctx)
	if err != nil {
		h.t.Fatal(err)
	}
	m, err := agent.Connect(h.ctx, p.WHIP(), token, agent.Options{ToneHz: agentHz, LoopbackOnly: true})
	if err != nil {
		h.t.Fatalf("agent %s WHIP: %v", id, err)
	}
	h.t.Cleanup(func() { m.Close() })
	return &simAgent{t: h.t, id: id, panel: p, media: m, events: ev}
}

// setStatus sets the agent's status and waits for the switch to confirm it.
func (a *simAgent) setStatus(ctx context.Context, status string) {
	a.t.Helper()
	if err := a.panel.SetStatus(ctx, status); err != nil {
		a.t.Fatalf("agent %s: set %s: %v", a.id, status, err)
	}
	// A status.changed already on its way (e.g. the wrap-up's) may come
	// first: wait for the one with the new status.
	deadline := time.Now().Add(5 * time.Second)
	for {
		ev := a.next("status.changed", time.Until(deadline))
		if ev.Field("status") == status {
			return
		}
	}
}

// quiet fails the test if the agent gets an event of type typ within d;
// it returns the types of the events it saw meanwhile.
func (a *simAgent) quiet(typ string, d time.Duration) []string {
	a.t.Helper()
	deadline := time.After(d)
	var seen []string
	for {
		select {
		case ev, ok := <-a.events:
			if !ok {
				a.t.Fatalf("agent %s: events socket closed (saw %v)", a.id, seen)
			}
			if ev.Type == typ {
				a.t.Fatalf("agent %s: unexpected %s %s (saw %v)", a.id, typ, ev.Data, seen)
			}
			seen = append(seen, ev.Type)
		case <-deadline:
			return seen
		}
	}
}

// apiGet GETs path from the API at base (host:port) with the supervisor's
// key and decodes the JSON answer into out.
func apiGet(t *testing.T, ctx context.Context, base, path string, out any) {
	t.Helper()
	if err := agent.NewAPI("http://"+base, supervisorKey).Do(ctx, http.MethodGet, path, nil, out); err != nil {
		t.Fatalf("GET %s: %v", path, err)
	}
}

// queueView is the part of GET /api/v1/queues/{id} the tests read.
type queueView struct {
	ID         string `json:"id"`
	Name       string `json:"name"`
	AutoAssign bool   `json:"auto_assign"`
	Managed    bool   `json:"managed"`
	Stats      *struct {
		Waiting         int `json:"waiting"`
		Ringing         int `json:"ringing"`
		AvailableAgents int `json:"available_agents"`
		Agents          int `json:"agents"`
		Offered         int `json:"offered"`
		Answered        int `json:"answered"`
		Abandoned       int `json:"abandoned"`
	} `json:"stats"`
}

// agentView is the part of GET /api/v1/agents the tests read.
type agentView struct {
	ID     string   `json:"id"`
	Name   string   `json:"name"`
	Status string   `json:"status"`
	System string   `json:"system"`
	Queues []string `json:"queues"`
}

// TestCCSIPpCaller: SIPp is the carrier's caller (PCMU, a 1 kHz tone
// streamed for the whole call) to +15550100 under contact-center.yaml.
// agent1, logged in over WebRTC, is offered the call, answers it through the
// API and hears the caller's tone (G.711 → Opus) for as long as the call
// lasts; it hangs up through the API: SIPp gets the BYE and completes the
// call (exit 0), the agent wraps up, and the call record says answered.
func TestCCSIPpCaller(t *testing.T) {
	requireSIPp(t)
	h := newHarness(t, fromFile(t, ccConfig, nil))
	a1 := h.login("agent1", "agent1-token")

	port, mediaPort := freePort(t), freePorts(t, 4)
	ctx, cancel := context.WithTimeout(h.ctx, 45*time.Second)
	defer cancel()
	uac := startSIPp(t, ctx, "uac", h.sip, "-sf", "uac_agent.xml", "-s", "+15550100",
		"-i", "127.0.0.1", "-p", strconv.Itoa(port), "-mi", "127.0.0.1", "-mp", strconv.Itoa(mediaPort),
		"-m", "1", "-timeout", "40", "-timeout_error")

	offer := a1.next("call.offered", 10*time.Second)
	callID := offer.Field("call_id")
	if offer.Field("queue") != "support" || !strings.HasPrefix(offer.Field("customer_number"), "+1555777") ||
		offer.Field("customer_name") != "Caller "+offer.Field("customer_number") {
		t.Errorf("call.offered %s", offer.Data)
	}
	if err := a1.panel.Answer(h.ctx, callID); err != nil {
		t.Fatal(err)
	}
	if ev := a1.next("call.answered", 5*time.Second); ev.Field("call_id") != callID {
		t.Errorf("call.answered %s, want call %s", ev.Data, callID)
	}
	a1.hears(1000, "the SIPp caller's PCMU tone")
	// Still there a few seconds into the call: SIPp streams it throughout.
	time.Sleep(3 * time.Second)
	a1.media.ResetAudio()
	a1.hears(1000, "the SIPp caller's tone, 3 s later")

	if err := a1.panel.Hangup(h.ctx, callID); err != nil {
		t.Fatal(err)
	}
	if ev := a1.next("call.ended", 5*time.Second); ev.Field("call_id") != callID {
		t.Errorf("call.ended %s, want call %s", ev.Data, callID)
	}
	if ev := a1.next("wrapup.started", 5*time.Second); ev.Field("call_id") != callID {
		t.Errorf("wrapup.started %s, want call %s", ev.Data, callID)
	}
	if code := uac.wait(t, 15*time.Second); code != 0 {
		t.Errorf("sipp uac exit %d, want 0 (the agent's BYE completes the call)\n%s", code, tail(uac.out.String(), 3000))
	}
	// The call is over for the switch too: its handler returned (an agent's
	// hang-up once left the bridge loop waiting for ever).
	h.waitMetric("switchboard_active_calls", "0")
	if logs := h.logs.String(); !strings.Contains(logs, "transcoding=true caller_codec=PCMU callee_codec=opus") {
		t.Error("no PCMU ↔ Opus transcoding bridge in the logs")
	}
	rec, err := h.node.contact.store.GetCallRecord(h.ctx, callID)
	if err != nil {
		t.Fatal(err)
	}
	if rec.Result != "answered" || rec.AgentID != "agent1" || rec.Answered.IsZero() || rec.Ended.IsZero() ||
		rec.Queue != "support" || rec.Trunk != "carrier" {
		t.Errorf("call record %+v", rec)
	}
}

// TestCCWaitsUntilAvailable: nobody is Available, so the caller hears the
// waiting strategy: the greeting (500 Hz), then the music (700 Hz). agent1
// connects and says it is away: it is not offered the call. Once it is
// Available, it is offered the call at once, answers, and the tones cross.
func TestCCWaitsUntilAvailable(t *testing.T) {
	h := newHarness(t, fromFile(t, ccConfig, nil))
	c, err := h.caller.Invite(h.ctx, h.target("+15550100"), siptest.InviteOptions{From: "+15551234", ToneHz: callerHz})
	if err != nil || c.Status() != 200 {
		t.Fatalf("invite: %v (status %d)", err, c.Status())
	}
	heardAlone(t, c, 500, 700, 3*time.Second, "greeting")
	c.ResetAudio()
	waitToneBy(t, c, 700, 4*time.Second, "music after the greeting")

	a1, status := h.connect("agent1", "agent1-token")
	if status != "offline" {
		t.Errorf("agent1 starts %q, want offline", status)
	}
	a1.setStatus(h.ctx, "away")
	seen := a1.quiet("call.offered", 2*time.Second)
	t.Logf("agent1 away for 2 s: events %v", seen)
	heardAlone(t, c, 700, agentHz, 2*time.Second, "music while the only agent is away")

	a1.setStatus(h.ctx, "available")
	offer := a1.next("call.offered", 3*time.Second)
	if offer.Field("queue") != "support" || offer.Field("customer_number") != "+15551234" {
		t.Errorf("call.offered %s", offer.Data)
	}
	if err := a1.panel.Answer(h.ctx, offer.Field("call_id")); err != nil {
		t.Fatal(err)
	}
	a1.next("call.answered", 5*time.Second)
	a1.hears(callerHz, "the caller")
	heardAlone(t, c, agentHz, 700, 5*time.Second, "the agent, the music stopped")

	if err := c.Hangup(h.ctx); err != nil {
		t.Fatal(err)
	}
	if ev := a1.next("call.ended", 5*time.Second); ev.Field("call_id") != offer.Field("call_id") {
		t.Errorf("call.ended %s", ev.Data)
	}
	a1.next("wrapup.started", 5*time.Second)
	h.waitMetric("switchboard_active_calls", "0")
}

// TestCCAutoAssignOff: contact-center.yaml with automatic assignment off for
// queue support: an Available agent is never offered the caller, who keeps
// hearing the music; the queue's statistics show the caller waiting and the
// agent available. When the caller hangs up, the queue counts it abandoned.
func TestCCAutoAssignOff(t *testing.T) {
	h := newHarness(t, fromFile(t, ccConfig, func(c *config.Config) {
		found := false
		for i := range c.Queues {
			if c.Queues[i].Name == "support" {
				if !c.Queues[i].AutoAssign {
					t.Errorf("contact-center.yaml: support has auto_assign off already")
				}
				c.Queues[i].AutoAssign, found = false, true
			}
		}
		if !found {
			t.Fatal("contact-center.yaml has no queue support")
		}
	}))
	a1 := h.login("agent1", "agent1-token")
	c, err := h.caller.Invite(h.ctx, h.target("+15550100"), siptest.InviteOptions{From: "+15551234", ToneHz: callerHz})
	if err != nil || c.Status() != 200 {
		t.Fatalf("invite: %v (status %d)", err, c.Status())
	}
	waitToneBy(t, c, 500, 3*time.Second, "greeting")
	seen := a1.quiet("call.offered", 3*time.Second)
	t.Logf("agent1 Available for 3 s: events %v", seen)
	heardAlone(t, c, 700, agentHz, 3*time.Second, "music: nobody was assigned")
	if a1.media.Hears(callerHz) {
		t.Error("the agent hears the waiting caller")
	}

	var q queueView
	apiGet(t, h.ctx, h.node.http.Addr(), "/api/v1/queues/support", &q)
	if q.AutoAssign || q.Stats == nil || q.Stats.Waiting != 1 || q.Stats.Ringing != 0 || q.Stats.AvailableAgents != 1 {
		t.Errorf("queue support: %+v stats %+v; want auto_assign off, 1 waiting (not ringing), 1 available agent", q, q.Stats)
	}
	var ag agentView
	apiGet(t, h.ctx, h.node.http.Addr(), "/api/v1/agents/agent1", &ag)
	if ag.Status != "available" || ag.System != "" {
		t.Errorf("agent1: %+v, want available and idle", ag)
	}

	if err := c.Hangup(h.ctx); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(3 * time.Second)
	for {
		apiGet(t, h.ctx, h.node.http.Addr(), "/api/v1/queues/support", &q)
		if q.Stats != nil && q.Stats.Waiting == 0 && q.Stats.Abandoned == 1 || time.Now().After(deadline) {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	if q.Stats == nil || q.Stats.Waiting != 0 || q.Stats.Abandoned != 1 || q.Stats.Answered != 0 {
		t.Errorf("queue support after the hang-up: stats %+v; want nobody waiting, 1 abandoned", q.Stats)
	}
}

// TestCCRestartKeepsState: a node on a database file; agent1 answers a
// call, the caller hangs up and the agent marks the conversation "waiting"
// with notes; a second caller waits (agent1 is away) when the node shuts
// down. A new node on the same file has the agents and the queue, the
// conversation with its status and notes, the first call answered and the
// waiting one abandoned, nothing live.
func TestCCRestartKeepsState(t *testing.T) {
	db := filepath.Join(t.TempDir(), "switchboard.db")
	h := newHarness(t, func(c *config.Config) {
		fromFile(t, ccConfig, nil)(c)
		c.Storage.Database = "sqlite://" + db
	})
	a1 := h.login("agent1", "agent1-token")

	c1, err := h.caller.Invite(h.ctx, h.target("+15550100"), siptest.InviteOptions{From: "+15551111", ToneHz: callerHz})
	if err != nil || c1.Status() != 200 {
		t.Fatalf("invite: %v (status %d)", err, c1.Status())
	}
	offer := a1.next("call.offered", 5*time.Second)
	call1, conv1 := offer.Field("call_id"), offer.Field("conversation_id")
	if call1 == "" || conv1 == "" {
		t.Fatalf("call.offered %s: no call or conversation id", offer.Data)
	}
	if err := a1.panel.Answer(h.ctx, call1); err != nil {
		t.Fatal(err)
	}
	a1.next("call.answered", 5*time.Second)
	a1.hears(callerHz, "the first caller")
	if err := c1.Hangup(h.ctx); err != nil {
		t.Fatal(err)
	}
	a1.next("call.ended", 5*time.Second)
	a1.next("wrapup.started", 5*time.Second)
	const notes = "customer will send the invoice number"
	conv, err := a1.panel.SetConversation(h.ctx, conv1, "waiting", notes)
	if err != nil || conv["status"] != "waiting" || conv["notes"] != notes {
		t.Fatalf("set conversation: %v %v", err, conv)
	}

	// A second caller waits: the only agent who could take it is away.
	a1.setStatus(h.ctx, "away")
	c2, err := h.caller.Invite(h.ctx, h.target("+15550100"), siptest.InviteOptions{From: "+15552222", ToneHz: callerHz})
	if err != nil || c2.Status() != 200 {
		t.Fatalf("second invite: %v (status %d)", err, c2.Status())
	}
	waitToneBy(t, c2, 500, 3*time.Second, "greeting for the second caller")
	var q queueView
	apiGet(t, h.ctx, h.node.http.Addr(), "/api/v1/queues/support", &q)
	if q.Stats == nil || q.Stats.Waiting != 1 {
		t.Fatalf("queue support before the shutdown: stats %+v, want 1 waiting", q.Stats)
	}

	sctx, scancel := context.WithTimeout(h.ctx, 10*time.Second)
	h.node.shutdown(sctx)
	scancel()
	waitEnded(t, c2, "waiting caller at shutdown")
	if bye := c2.Bye(); bye == nil || !strings.Contains(bye.String(), "Switch shutting down") {
		t.Errorf("the waiting caller's BYE at shutdown:\n%v", bye)
	}

	// A new node on the same database (new ports).
	logs2 := &logBuffer{}
	n2, err := startNodeWith(h.ctx, h.cfg, testLogger(t, logs2), nodeOptions{})
	if err != nil {
		t.Fatalf("restart: %v", err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		n2.shutdown(ctx)
	})
	base := n2.http.Addr()

	var agents []agentView
	apiGet(t, h.ctx, base, "/api/v1/agents", &agents)
	byID := map[string]agentView{}
	for _, a := range agents {
		byID[a.ID] = a
	}
	for _, id := range []string{"agent1", "agent2"} {
		a, ok := byID[id]
		if !ok {
			t.Errorf("agent %s missing after the restart (agents %+v)", id, agents)
			continue
		}
		if len(a.Queues) != 1 || a.Queues[0] != "support" {
			t.Errorf("agent %s queues %v, want [support]", id, a.Queues)
		}
	}
	if a := byID["agent1"]; a.Status != "away" || a.System == "ringing" || a.System == "on_call" {
		t.Errorf("agent1 after the restart: %+v, want the status it chose (away), no call", a)
	}
	apiGet(t, h.ctx, base, "/api/v1/queues/support", &q)
	if q.ID != "support" || !q.AutoAssign || q.Stats == nil || q.Stats.Waiting != 0 {
		t.Errorf("queue support after the restart: %+v stats %+v", q, q.Stats)
	}

	st := n2.contact.store
	got, err := st.GetConversation(h.ctx, conv1)
	if err != nil {
		t.Fatalf("conversation %s after the restart: %v", conv1, err)
	}
	if got.Status != store.ConversationWaiting || got.Notes != notes || got.AgentID != "agent1" ||
		got.CustomerNumber != "+15551111" {
		t.Errorf("conversation after the restart: %+v", got)
	}
	r1, err := st.GetCallRecord(h.ctx, call1)
	if err != nil {
		t.Fatal(err)
	}
	if r1.Result != "answered" || r1.AgentID != "agent1" || r1.ConversationID != conv1 || r1.Ended.IsZero() {
		t.Errorf("first call's record: %+v", r1)
	}
	all, err := st.ListCallRecords(h.ctx, time.Time{}, false)
	if err != nil {
		t.Fatal(err)
	}
	var waited *store.CallRecord
	for i := range all {
		if all[i].From == "+15552222" {
			waited = &all[i]
		}
	}
	if len(all) != 2 || waited == nil {
		t.Fatalf("call records after the restart: %+v, want the two calls", all)
	}
	if waited.Result != "abandoned" || !waited.Answered.IsZero() || waited.Ended.IsZero() || waited.AgentID != "" ||
		waited.ConversationID == conv1 {
		t.Errorf("waiting call's record: %+v, want abandoned, never answered", *waited)
	}
	live, err := st.ListCallRecords(h.ctx, time.Time{}, true)
	if err != nil {
		t.Fatal(err)
	}
	if len(live) != 0 {
		t.Errorf("live call records after the restart: %+v", live)
	}
}
