package main

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/switchboard-voice/switchboard/sip/siptest"
)

// BenchmarkAnswerToAudio measures, through the whole stack (a SIP caller
// with a tone, the dialplan's queue, the ACD, the agent's WHIP session and
// the G.711→Opus transcoder), the time from the agent's answer request to
// the caller's first audible audio decoded at the agent. One call per
// iteration, answered 1.2 s after the offer as a person would; it reports
// the p50 and p99 (run it with -benchtime 50x).
func BenchmarkAnswerToAudio(b *testing.B) {
	h := newHarness(b, fromFile(b, "../../testdata/config/contact-center.yaml", nil))
	a := h.login("agent1", "agent1-token")
	var d []time.Duration
	for b.Loop() {
		c, err := h.caller.Invite(h.ctx, h.target("+15550100"), siptest.InviteOptions{ToneHz: callerHz})
		if err != nil || c.Status() != 200 {
			b.Fatalf("invite: %v", err)
		}
		offer := a.next("call.offered", 5*time.Second)
		// A person takes a moment to answer (the caller hears the waiting
		// strategy meanwhile).
		time.Sleep(1200 * time.Millisecond)
		a.media.ResetAudio()
		start := time.Now()
		if err := a.panel.Answer(h.ctx, offer.Field("call_id")); err != nil {
			b.Fatal(err)
		}
		ctx, cancel := context.WithTimeout(h.ctx, 5*time.Second)
		for a.media.FirstAudio().IsZero() && ctx.Err() == nil {
			time.Sleep(500 * time.Microsecond)
		}
		cancel()
		first := a.media.FirstAudio()
		if first.IsZero() {
			b.Fatal("no audio at the agent")
		}
		d = append(d, first.Sub(start))
		_ = c.Hangup(h.ctx)
		wrap := a.next("wrapup.started", 5*time.Second)
		if _, err := a.panel.SetConversation(h.ctx, wrap.Field("conversation_id"), "closed", ""); err != nil {
			b.Fatal(err)
		}
		if err := a.panel.ClearWrapUp(h.ctx); err != nil {
			b.Fatal(err)
		}
		a.next("wrapup.ended", 5*time.Second)
	}
	slices.Sort(d)
	q := func(p float64) float64 {
		return float64(d[min(len(d)-1, int(p*float64(len(d))))]) / float64(time.Millisecond)
	}
	b.ReportMetric(q(0.5), "p50-ms")
	b.ReportMetric(q(0.99), "p99-ms")
	b.ReportMetric(0, "ns/op")
}
