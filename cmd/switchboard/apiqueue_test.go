package main

import (
	"context"
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/switchboard-voice/switchboard/api"
	"github.com/switchboard-voice/switchboard/config"
	"github.com/switchboard-voice/switchboard/gateway/agent"
	"github.com/switchboard-voice/switchboard/sip/siptest"
)

// salesFlow is contact-center.yaml with +15550200 routed to a flow whose
// queue (billing), which the YAML does not declare: it is created through the API.
func salesFlow(t *testing.T, queue string) func(c *config.Config) {
	return fromFile(t, ccConfig, func(c *config.Config) {
		c.Routes = append([]config.Route{{Name: "sales", Match: config.RouteMatch{To: "+15550200"}, Flow: "sales"}}, c.Routes...)
		c.Flows["sales"] = []config.Action{{Queue: &config.QueueAction{Name: queue}}}
	})
}

// TestCCAPIQueueSIPp: a flow names queue billing, which the YAML does not
// declare (validate warns, the switch starts). A supervisor creates the
// queue through the REST API with automatic assignment on, and an agent in
// it without a token: the switch makes one and returns it. The agent signs
// in with it over WebRTC (gateway/agent). SIPp calls +15550200: the call is
// routed to the API's queue, offered to the agent, who answers and hears
// SIPp's 1 kHz PCMU tone, then hangs up (SIPp completes, exit 0).
func TestCCAPIQueueSIPp(t *testing.T) {
	requireSIPp(t)
	h := newHarness(t, salesFlow(t, "billing"))
	if len(h.cfg.Warnings) != 1 || !strings.Contains(h.cfg.Warnings[0].String(), `queue "billing" is not under queues`) {
		t.Errorf("config warnings %v, want one about queue billing", h.cfg.Warnings)
	}
	base := "http://" + h.node.http.Addr()
	sup := agent.NewAPI(base, supervisorKey)

	var q queueView
	if err := sup.Do(h.ctx, http.MethodPost, "/api/v1/queues", map[string]any{"name": "billing", "auto_assign": true, "ring_timeout": 10}, &q); err != nil {
		t.Fatalf("create queue billing: %v", err)
	}
	if q.ID != "billing" || q.Name != "billing" || !q.AutoAssign || q.Managed {
		t.Fatalf("queue %+v, want id billing (its name), auto_assign on, not managed", q)
	}
	var created struct {
		agentView
		Token string `json:"token"`
	}
	if err := sup.Do(h.ctx, http.MethodPost, "/api/v1/agents", map[string]any{"id": "sam", "name": "Sam", "queues": []string{"billing"}}, &created); err != nil {
		t.Fatalf("create agent sam: %v", err)
	}
	if created.ID != "sam" || created.Token == "" || len(created.Queues) != 1 || created.Queues[0] != "billing" {
		t.Fatalf("agent %+v, want sam in queue billing with a token made by the switch", created)
	}
	sam := h.login("sam", created.Token)

	port, mediaPort := freePort(t), freePorts(t, 4)
	ctx, cancel := context.WithTimeout(h.ctx, 45*time.Second)
	defer cancel()
	uac := startSIPp(t, ctx, "uac", h.sip, "-sf", "uac_agent.xml", "-s", "+15550200",
		"-i", "127.0.0.1", "-p", strconv.Itoa(port), "-mi", "127.0.0.1", "-mp", strconv.Itoa(mediaPort),
		"-m", "1", "-timeout", "40", "-timeout_error")

	offer := sam.next("call.offered", 10*time.Second)
	callID := offer.Field("call_id")
	if offer.Field("queue") != "billing" || offer.Field("queue_id") != "billing" || offer.Field("ring_timeout") != "10" {
		t.Errorf("call.offered %s, want queue billing ringing 10 s", offer.Data)
	}
	if err := sam.panel.Answer(h.ctx, callID); err != nil {
		t.Fatal(err)
	}
	sam.next("call.answered", 5*time.Second)
	sam.hears(1000, "the SIPp caller's PCMU tone")
	if err := sam.panel.Hangup(h.ctx, callID); err != nil {
		t.Fatal(err)
	}
	if code := uac.wait(t, 15*time.Second); code != 0 {
		t.Errorf("sipp uac exit %d, want 0 (the agent's BYE completes the call)\n%s", code, tail(uac.out.String(), 3000))
	}
	rec, err := h.node.contact.store.GetCallRecord(h.ctx, callID)
	if err != nil {
		t.Fatal(err)
	}
	if rec.Result != "answered" || rec.Queue != "billing" || rec.AgentID != "sam" {
		t.Errorf("call record %+v, want answered in queue billing by sam", rec)
	}
}

// TestCallToUnknownQueue: a flow names a queue that neither the YAML
// declares nor the API created: the call is refused before it is answered,
// 480 "Queue nowhere does not exist", with a log line naming the call and
// the queue.
func TestCallToUnknownQueue(t *testing.T) {
	h := newHarness(t, salesFlow(t, "nowhere"))
	c, err := h.caller.Invite(h.ctx, h.target("+15550200"), siptest.InviteOptions{ToneHz: callerHz})
	if err == nil && c.Status() == 200 {
		_ = c.Hangup(h.ctx)
	}
	if c == nil || c.Status() != 480 || c.Response() == nil || c.Response().Reason != "Queue nowhere does not exist" {
		var got string
		if c != nil && c.Response() != nil {
			got = c.Response().StartLine()
		}
		t.Fatalf("caller got %q (%v), want 480 Queue nowhere does not exist", got, err)
	}
	deadline := time.Now().Add(3 * time.Second)
	var line string
	for line == "" && time.Now().Before(deadline) {
		for _, l := range strings.Split(h.logs.String(), "\n") {
			if strings.Contains(l, "queue does not exist") {
				line = l
			}
		}
		if line == "" {
			time.Sleep(20 * time.Millisecond)
		}
	}
	if !strings.Contains(line, "call_id=") || !strings.Contains(line, "queue=nowhere") || !strings.Contains(line, "level=WARN") {
		t.Errorf("log line %q, want a warning with call_id and queue=nowhere", line)
	}
	h.waitMetric("switchboard_active_calls", "0")
}

// TestValidateWarnsOfQueuesOutsideTheFile: validate accepts a flow naming a
// queue and a waiting strategy the file does not declare (they may be
// created through the API), says so on stderr as warnings with file, line
// and key, and exits 0 with OK.
func TestValidateWarnsOfQueuesOutsideTheFile(t *testing.T) {
	cfg := filepath.Join(t.TempDir(), "switchboard.yaml")
	if err := os.WriteFile(cfg, []byte(`node: {name: t}
sip: {listen: ["udp://127.0.0.1:5060"]}
trunks:
  - {name: carrier, inbound: {allow: [127.0.0.1]}}
routes:
  - {match: {to: "*"}, flow: sales}
flows:
  sales:
    - queue: {name: sales, waiting_strategy: quiet}
`), 0o644); err != nil {
		t.Fatal(err)
	}
	stdout, stderr, err := runCLI(t, "validate", "--config", cfg)
	if err != nil || strings.TrimSpace(stdout) != cfg+": OK" {
		t.Fatalf("validate: %v\nstdout: %s\nstderr: %s", err, stdout, stderr)
	}
	want := cfg + `:9: warning: flows.sales[0].queue.name: queue "sales" is not under queues: it must be created through the API (POST /api/v1/queues) before a call reaches it, or the call fails with 480
` + cfg + `:9: warning: flows.sales[0].queue.waiting_strategy: waiting strategy "quiet" is not under waiting_strategies: it must be created through the API (POST /api/v1/waiting-strategies), or the caller waits in silence
`
	if stderr != want {
		t.Errorf("validate stderr:\n%s\nwant:\n%s", stderr, want)
	}
}

// TestFlowPlaysAPIStrategy: a flow names a waiting strategy the YAML does
// not declare; created through the API (id = name) with an uploaded prompt
// as its music, it is what the caller hears: that music (700 Hz), not the
// YAML's default strategy's greeting.
func TestFlowPlaysAPIStrategy(t *testing.T) {
	h := newHarness(t, fromFile(t, ccConfig, func(c *config.Config) {
		c.Routes = append([]config.Route{{Name: "quiet", Match: config.RouteMatch{To: "+15550400"}, Flow: "quiet"}}, c.Routes...)
		c.Flows["quiet"] = []config.Action{{Queue: &config.QueueAction{Name: "support", WaitingStrategy: "quiet"}}}
	}))
	sup := agent.NewAPI("http://"+h.node.http.Addr(), supervisorKey)
	var ws struct {
		ID   string `json:"id"`
		Name string `json:"name"`
	}
	requireFFmpeg(t) // uploads are converted with ffmpeg
	wav, err := os.ReadFile(audioDir + "tone-700.wav")
	if err != nil {
		t.Fatal(err)
	}
	code, body := upload(t, h, "tone-700.wav", wav, "")
	var p api.Prompt
	if code != http.StatusCreated || json.Unmarshal(body, &p) != nil {
		t.Fatalf("upload: %d %s", code, body)
	}
	if err := sup.Do(h.ctx, http.MethodPost, "/api/v1/waiting-strategies", map[string]any{"name": "quiet", "music": p.ID}, &ws); err != nil {
		t.Fatalf("create waiting strategy quiet: %v", err)
	}
	if ws.ID != "quiet" || ws.Name != "quiet" {
		t.Fatalf("strategy %+v, want id quiet (its name)", ws)
	}
	c, err := h.caller.Invite(h.ctx, h.target("+15550400"), siptest.InviteOptions{ToneHz: callerHz})
	if err != nil || c.Status() != 200 {
		t.Fatalf("invite: %v (status %d)", err, c.Status())
	}
	heardAlone(t, c, 700, 500, 3*time.Second, "the API strategy's music")
	if err := c.Hangup(h.ctx); err != nil {
		t.Fatal(err)
	}
	if logs := h.logs.String(); strings.Contains(logs, "waiting strategy does not exist") || !strings.Contains(logs, "strategy_found=true") {
		t.Error("the flow's waiting strategy was not found")
	}
}
