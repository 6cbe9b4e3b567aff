package main

import (
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/switchboard-voice/switchboard/config"
	"github.com/switchboard-voice/switchboard/sip/siptest"
)

// qualityInterval is how often the switch judges each leg's quality
// (rtp.rtcp_interval) in these tests: ten 20 ms packets per judgement.
const qualityInterval = 200 * time.Millisecond

// qualityCall is a call under contact-center.yaml judged every
// qualityInterval: a PCMU caller to +15550100 answered by agent1 over
// WebRTC, the tones crossing, and a second of steady media judged.
func qualityCall(t *testing.T) (*harness, *simAgent, *siptest.Call, string) {
	h := newHarness(t, func(c *config.Config) {
		fromFile(t, ccConfig, nil)(c)
		c.RTP.RTCPInterval = qualityInterval
	})
	a := h.login("agent1", "agent1-token")
	c, err := h.caller.Invite(h.ctx, h.target("+15550100"), siptest.InviteOptions{ToneHz: callerHz})
	if err != nil || c.Status() != 200 {
		t.Fatalf("invite: %v (status %d)", err, c.Status())
	}
	callID := a.next("call.offered", 5*time.Second).Field("call_id")
	if err := a.panel.Answer(h.ctx, callID); err != nil {
		t.Fatal(err)
	}
	a.next("call.answered", 5*time.Second)
	a.hears(callerHz, "the caller")
	waitToneBy(t, c, agentHz, 5*time.Second, "the agent")
	a.mediaFor(time.Second)
	h.noWarning(a, "a clean call")
	return h, a, c, callID
}

// mediaFor lets d of media pass, by the media's clock: it waits until the
// agent has received d's worth of 20 ms packets from the switch (the call's
// audio, or the session's silence while the agent does not hear the call),
// or has numbered as many of its own (it sends few while muted, and the
// switch sends it nothing while the customer is silent).
func (a *simAgent) mediaFor(d time.Duration) {
	a.t.Helper()
	frames := func() (received, sent uint64) {
		s, dropped := a.media.RTPSent()
		return a.media.PacketsReceived(), s + dropped
	}
	r0, s0 := frames()
	n := uint64(d / (20 * time.Millisecond))
	waitFor(a.t, "media to flow for "+d.String(), 3*d+5*time.Second, func() bool {
		r, s := frames()
		return r-r0 >= n || s-s0 >= n
	})
}

// waitFor polls cond until it holds or within passes (then the test fails).
func waitFor(t testing.TB, what string, within time.Duration, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(within)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s", within, what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// noWarning fails the test if the agent got a quality.warning (during what)
// among its events so far or within a few quality intervals; it shows the
// switch's quality judgements when it does.
func (h *harness) noWarning(a *simAgent, what string) {
	h.t.Helper()
	deadline := time.After(3 * qualityInterval)
	for {
		select {
		case ev, ok := <-a.events:
			if !ok {
				h.t.Fatalf("%s: events socket closed", what)
			}
			if ev.Type == "quality.warning" {
				h.t.Fatalf("%s: quality.warning %s; the switch's judgements:\n%s", what, ev.Data, h.qualityLines())
			}
		case <-deadline:
			return
		}
	}
}

// qualityLines is what the switch logged about the legs' quality.
func (h *harness) qualityLines() string {
	var out []string
	for _, line := range strings.Split(h.logs.String(), "\n") {
		if strings.Contains(line, `msg="leg quality"`) {
			out = append(out, line)
		}
	}
	return strings.Join(out, "\n")
}

// warned waits for a quality.warning about side on callID and checks that
// the switch judged that leg weak for loss: some, and not more than twice
// the wantLoss percent sent (the interval judged weak first may have seen
// only the start of it). The customer's leg is the one whose ID is the
// caller's Call-ID, c's.
func (h *harness) warned(a *simAgent, c *siptest.Call, callID, side string, wantLoss float64) {
	h.t.Helper()
	start := time.Now()
	ev := a.next("quality.warning", 5*time.Second)
	h.t.Logf("quality.warning about the %s %v after the loss started", side, time.Since(start).Round(time.Millisecond))
	if ev.Field("call_id") != callID || ev.Field("side") != side {
		h.t.Fatalf("quality.warning %s, want call %s side %s", ev.Data, callID, side)
	}
	lines := h.qualityLines()
	var loss float64 = -1
	for _, line := range strings.Split(lines, "\n") {
		if !strings.Contains(line, "weak=true") {
			continue
		}
		if (side == "customer") != strings.Contains(line, "leg="+c.CallID()) {
			continue
		}
		_, v, ok := strings.Cut(line, "loss_percent=")
		if !ok {
			continue
		}
		v, _, _ = strings.Cut(v, " ")
		loss, _ = strconv.ParseFloat(v, 64)
	}
	if loss <= 0 || loss > wantLoss*2 {
		h.t.Errorf("the %s's leg judged weak at %.1f %% loss, want about %.0f %%; judgements:\n%s", side, loss, wantLoss, lines)
	}
	h.t.Logf("the switch's judgements:\n%s", lines)
}

// TestQualityHoldMuteWebRTC: the agent's hold and resume (its packets are
// dropped at the switch while the browser keeps numbering them), and its
// mute and unmute (DTX: a packet every 400 ms), raise no quality.warning;
// 20 % of its packets lost does, about the agent's side.
func TestQualityHoldMuteWebRTC(t *testing.T) {
	h, a, c, callID := qualityCall(t)

	for range 2 {
		if err := a.panel.Hold(h.ctx, callID); err != nil {
			t.Fatal(err)
		}
		a.mediaFor(time.Second)
		if err := a.panel.Resume(h.ctx, callID); err != nil {
			t.Fatal(err)
		}
		waitToneBy(t, c, agentHz, 5*time.Second, "the agent after resume")
		a.mediaFor(time.Second)
		h.noWarning(a, "the agent's hold and resume")
	}

	a.media.Mute(true)
	a.mediaFor(1500 * time.Millisecond)
	a.media.Mute(false)
	c.ResetAudio()
	waitToneBy(t, c, agentHz, 5*time.Second, "the agent after unmuting")
	a.mediaFor(time.Second)
	h.noWarning(a, "the agent's mute and unmute")

	a.media.SetLoss(0.2)
	h.warned(a, c, callID, "agent", 20)
	if sent, dropped := a.media.RTPSent(); dropped == 0 || sent == 0 {
		t.Errorf("agent sent %d packets and dropped %d", sent, dropped)
	}
}

// TestQualityHoldSIP: the customer's holds over SIP raise no
// quality.warning: sendonly (the customer keeps sending, the agent's leg
// stops), inactive with the customer numbering the packets it does not send
// (its sequence numbers jump on resume), and inactive with its timestamps
// frozen; nor does its phone's mute; 20 % of the customer's packets lost
// does, about the customer.
func TestQualityHoldSIP(t *testing.T) {
	h, a, c, callID := qualityCall(t)

	hold := func(direction string, pause siptest.Pause, what string) {
		t.Helper()
		c.SetPause(pause)
		if _, err := c.Reinvite(h.ctx, direction); err != nil {
			t.Fatalf("%s: %v", what, err)
		}
		a.mediaFor(time.Second)
		if dir, err := c.Resume(h.ctx); err != nil || dir != siptest.SendRecv {
			t.Fatalf("%s: resume answered %q: %v", what, dir, err)
		}
		a.hears(callerHz, "the caller after "+what)
		a.mediaFor(time.Second)
		h.noWarning(a, what)
	}
	hold(siptest.SendOnly, siptest.PauseClock, "the customer's hold (sendonly)")
	hold(siptest.Inactive, siptest.PauseSkip, "the customer's hold (inactive, sequence numbers running on)")
	hold(siptest.Inactive, siptest.PauseFreeze, "the customer's hold (inactive, timestamps frozen)")

	// The customer's phone mutes without a word to the switch, its
	// timestamps frozen: the switch sees five seconds of nothing, then
	// packets that carry on as if no time had passed (taken for jitter,
	// 5 s / 16 = 312 ms of it, before the fix).
	c.SetPause(siptest.PauseFreeze)
	c.Mute(true)
	a.mediaFor(5 * time.Second)
	c.Mute(false)
	a.hears(callerHz, "the caller after unmuting")
	a.mediaFor(time.Second)
	h.noWarning(a, "the customer's mute and unmute (timestamps frozen)")

	c.SetImpairment(siptest.Impairment{Loss: 0.2, Seed: 3})
	h.warned(a, c, callID, "customer", 20)
}
