package main

import (
	"context"
	"strconv"
	"testing"
	"time"
)

// sippToneHz is the tone of testdata/sipp/tone_1000hz.pcmu.
const sippToneHz = 1000.0

// TestOutboundCallSIPp is issue 14's outbound call against a SIPp far end
// (testdata/sipp/uas_early_media.xml, the reference config's pstn trunk
// pointed at SIPp's port, a free one instead of 5080): agent1 calls
// +15550142 from +15550100; SIPp answers 183 with SDP, is silent 1.5 s,
// then plays its 1 kHz tone as early media for 2 s before its 200. It
// echoes every RTP packet it receives (-rtp_echo) at any time, so in the
// silence the agent would hear its own tone come back had its media reached
// the far end before the answer: it must not; then it must hear the early
// tone. After the answer it hears its own tone echoed (media both ways).
// The agent hangs up: SIPp gets the BYE and exits 0.
func TestOutboundCallSIPp(t *testing.T) {
	requireSIPp(t)
	uasPort, uasMedia := freePort(t), freePorts(t, 4)
	h := newHarness(t, fromFile(t, "../../testdata/config/contact-center.yaml", pstnAt(uasPort)))
	ctx, cancel := context.WithTimeout(h.ctx, 45*time.Second)
	defer cancel()
	uas := startSIPp(t, ctx, "uas", "-sf", "uas_early_media.xml", "-i", "127.0.0.1", "-p", strconv.Itoa(uasPort),
		"-mi", "127.0.0.1", "-mp", strconv.Itoa(uasMedia), "-rtp_echo", "-m", "1", "-d", "2000",
		"-timeout", "40", "-timeout_error")
	a1 := h.login("agent1", "agent1-token")

	out, err := a1.panel.Call(h.ctx, "+15550142", "+15550100", "")
	if err != nil {
		t.Fatal(err)
	}
	if ev := a1.next("call.early_media", 10*time.Second); ev.Field("call_id") != out.CallID {
		t.Errorf("call.early_media for %s, want %s", ev.Field("call_id"), out.CallID)
	}
	// S: from the 183 to the early tone (no RTP from the far end yet).
	a1.earlySilence()
	a1.hears(sippToneHz, "SIPp's early tone")

	if ev := a1.next("call.answered", 10*time.Second); ev.Field("call_id") != out.CallID {
		t.Errorf("call.answered for %s, want %s", ev.Field("call_id"), out.CallID)
	}
	a1.media.ResetAudio()
	a1.hears(agentHz, "its own tone, echoed by SIPp after the answer")

	if err := a1.panel.Hangup(h.ctx, out.CallID); err != nil {
		t.Fatal(err)
	}
	if ev := a1.next("call.ended", 5*time.Second); ev.Field("call_id") != out.CallID {
		t.Errorf("call.ended for %s, want %s", ev.Field("call_id"), out.CallID)
	}
	if got := uas.wait(t, 20*time.Second); got != 0 {
		t.Errorf("SIPp far end exit %d, want 0\n%s", got, tail(uas.out.String(), 2000))
	}
	h.waitMetric("switchboard_active_calls", "0")
}

// earlySilence follows the silence of uas_early_media.xml's early phase,
// until the agent hears SIPp's tone: the agent must not hear its own tone
// echoed by SIPp meanwhile, nor be answered. The silence lasts 1.5 s: less
// than 0.8 s of it is a test too slow to tell.
func (a *simAgent) earlySilence() {
	a.t.Helper()
	start := time.Now()
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	deadline := time.After(5 * time.Second)
	for !a.media.Hears(sippToneHz) {
		if a.media.Hears(agentHz) {
			a.t.Fatalf("early media: the agent hears its own tone (%.0f Hz) echoed by SIPp: its media reached the far end before the answer", agentHz)
		}
		select {
		case ev := <-a.events:
			if ev.Type == "call.answered" {
				a.t.Fatal("early media: answered before SIPp's tone came")
			}
		case <-deadline:
			a.t.Fatalf("early media: SIPp's tone (%.0f Hz) did not come within 5 s", sippToneHz)
		case <-tick.C:
		}
	}
	if d := time.Since(start); d < 800*time.Millisecond {
		a.t.Fatalf("the early silence lasted %v, want ≥ 0.8 s (1.5 s in the scenario)", d)
	}
}
