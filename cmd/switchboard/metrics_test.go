package main

import (
	"strconv"
	"testing"
	"time"

	"github.com/switchboard-voice/switchboard/sip/siptest"
)

// waitMetricFunc polls /metrics until the sample name satisfies ok
// (bounded) and returns its last value.
func (h *harness) waitMetricFunc(name string, ok func(v float64) bool, what string) float64 {
	h.t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		v, err := strconv.ParseFloat(h.metric(name), 64)
		if err == nil && ok(v) {
			return v
		}
		if time.Now().After(deadline) {
			h.t.Fatalf("%s = %s, want %s", name, h.metric(name), what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestQueueAndAgentMetrics: /metrics follows a caller through queue support
// (contact-center.yaml): waiting with the only agent away (waiting calls,
// longest wait, no available agent, no service level yet), offered to the
// agent once it is Available (ringing), answered (on call, service level
// 1), and the agent in wrap-up after the caller hangs up.
func TestQueueAndAgentMetrics(t *testing.T) {
	h := newHarness(t, fromFile(t, ccConfig, nil))
	const (
		waiting   = `switchboard_queue_waiting_calls{queue="support"}`
		longest   = `switchboard_queue_longest_wait_seconds{queue="support"}`
		available = `switchboard_queue_available_agents{queue="support"}`
		sl        = `switchboard_queue_service_level_ratio{queue="support"}`
	)
	agents := func(state string) string { return `switchboard_agents{state="` + state + `"}` }
	h.waitMetric(waiting, "0")
	h.waitMetric(agents("offline"), "3") // agent1, agent2 (support) and agent3 (sales)
	h.waitMetric(agents("on_call"), "0")
	if got := h.metric(sl); got != "<no "+sl+">" {
		t.Errorf("service level before any call: %s, want no sample", got)
	}

	a1, _ := h.connect("agent1", "agent1-token")
	a1.setStatus(h.ctx, "away")
	h.waitMetric(agents("away"), "1")
	h.waitMetric(agents("offline"), "2")

	c, err := h.caller.Invite(h.ctx, h.target("+15550100"), siptest.InviteOptions{ToneHz: callerHz})
	if err != nil || c.Status() != 200 {
		t.Fatalf("invite: %v (status %d)", err, c.Status())
	}
	h.waitMetric(waiting, "1")
	h.waitMetric(available, "0")
	h.waitMetricFunc(longest, func(v float64) bool { return v >= 0.3 }, "a wait of at least 0.3 s")

	a1.setStatus(h.ctx, "available")
	offer := a1.next("call.offered", 5*time.Second)
	h.waitMetric(agents("ringing"), "1")
	if err := a1.panel.Answer(h.ctx, offer.Field("call_id")); err != nil {
		t.Fatal(err)
	}
	a1.next("call.answered", 5*time.Second)
	h.waitMetric(agents("on_call"), "1")
	h.waitMetric(agents("ringing"), "0")
	h.waitMetric(waiting, "0")
	h.waitMetric(longest, "0")
	h.waitMetric(sl, "1")

	if err := c.Hangup(h.ctx); err != nil {
		t.Fatal(err)
	}
	a1.next("wrapup.started", 5*time.Second)
	h.waitMetric(agents("wrap_up"), "1")
	h.waitMetric(agents("on_call"), "0")
}
