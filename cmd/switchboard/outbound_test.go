package main

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/switchboard-voice/switchboard/config"
	"github.com/switchboard-voice/switchboard/gateway/agent"
	"github.com/switchboard-voice/switchboard/sip/siptest"
)

// ringbackHz is one of the two tones of the built-in ringback (440 + 480).
const ringbackHz = 480.0

// outboundHarness runs testdata/config/contact-center.yaml with its pstn
// trunk (routes and voice numbers) replaced by the harness's far end.
func outboundHarness(t testing.TB, change func(c *config.Config)) *harness {
	t.Helper()
	return transferHarness(t, func(c *config.Config) {
		voiceToFarEnd(c)
		if change != nil {
			change(c)
		}
	})
}

// voiceToFarEnd makes the voice numbers of the pstn trunk leave through
// the harness's far end.
func voiceToFarEnd(c *config.Config) {
	for i := range c.VoiceNumbers {
		if c.VoiceNumbers[i].Trunk == "pstn" {
			c.VoiceNumbers[i].Trunk = "far-end"
		}
	}
}

// noInvite checks that no INVITE reaches the far end for a while (one in
// flight would arrive within it).
func (h *harness) noInvite(what string) {
	h.t.Helper()
	select {
	case in := <-h.far.Incoming():
		h.t.Fatalf("%s: an INVITE left for %s", what, in.Request().Recipient.User)
	case <-time.After(300 * time.Millisecond):
	}
}

// wantStatus checks that err is an API answer with status code.
func wantStatus(t testing.TB, err error, code int, what string) *agent.StatusError {
	t.Helper()
	var se *agent.StatusError
	if !errors.As(err, &se) || se.Code != code {
		t.Fatalf("%s: %v, want %d", what, err, code)
	}
	return se
}

// TestOutboundCall: agent1 calls +15550142 from +15550100. The far end
// rings without SDP (the agent hears the ringback tone), then sends early
// media (a 183 with SDP: the agent hears its tone, and the far end hears
// nothing of the agent), then answers: the tones cross both ways. The
// customer hangs up; the agent wraps up.
func TestOutboundCall(t *testing.T) {
	h := outboundHarness(t, nil)
	a1 := h.login("agent1", "agent1-token")

	_, err := a1.panel.Call(h.ctx, "+15550142", "+15559999", "")
	wantStatus(t, err, 403, "a from that is not a voice number")
	_, err = a1.panel.Call(h.ctx, "+15550199", "+15550100", "")
	wantStatus(t, err, 403, "a to outside the phone book")
	_, err = a1.panel.Call(h.ctx, "5550142", "+15550100", "")
	wantStatus(t, err, 400, "a to that is not E.164")
	_, err = a1.panel.Call(h.ctx, "+15550142", "+15550100", "sales")
	wantStatus(t, err, 403, "a queue the agent is not in")
	h.noInvite("refused calls")

	start := time.Now()
	out, err := a1.panel.Call(h.ctx, "+15550142", "+15550100", "")
	if err != nil {
		t.Fatal(err)
	}
	in := h.nextIncoming()
	t.Logf("agent's request → INVITE: %v", time.Since(start))
	if u := in.Request().Recipient.User; u != "+15550142" {
		t.Errorf("INVITE to %s, want +15550142", u)
	}
	if from := in.Request().From().Address.User; from != "+15550100" {
		t.Errorf("INVITE from %s, want the voice number +15550100", from)
	}
	if ev := a1.next("call.dialing", 5*time.Second); ev.Field("call_id") != out.CallID || ev.Field("to") != "+15550142" {
		t.Errorf("call.dialing %s, want call %s to +15550142", ev.Data, out.CallID)
	}
	a1.silent(ringbackHz, "a ringback tone before the customer rings")
	if err := in.Ring(false); err != nil {
		t.Fatal(err)
	}
	a1.next("call.ringing", 5*time.Second)
	a1.hears(ringbackHz, "the ringback tone")

	if err := in.Progress(siptest.AnswerOptions{ToneHz: earlyHz}); err != nil {
		t.Fatal(err)
	}
	a1.next("call.early_media", 5*time.Second)
	a1.hears(earlyHz, "the network's early media")
	early := in.EarlyCall()
	if early == nil {
		t.Fatal("no early media session at the far end")
	}
	// The agent's microphone is held back until the answer.
	if err := silentFor(early, agentHz, time.Second); err != nil {
		t.Errorf("before the answer: %v", err)
	}

	fc, err := in.Answer(siptest.AnswerOptions{ToneHz: farHz})
	if err != nil {
		t.Fatal(err)
	}
	if ev := a1.next("call.answered", 5*time.Second); ev.Field("call_id") != out.CallID {
		t.Errorf("call.answered for %s, want %s", ev.Field("call_id"), out.CallID)
	}
	waitTone(t, fc, agentHz, "the customer hears the agent")
	a1.media.ResetAudio()
	a1.hears(farHz, "the customer")

	if err := fc.Hangup(h.ctx); err != nil {
		t.Fatal(err)
	}
	if ev := a1.next("call.ended", 5*time.Second); ev.Field("call_id") != out.CallID {
		t.Errorf("call.ended for %s, want %s", ev.Field("call_id"), out.CallID)
	}
	a1.next("wrapup.started", 5*time.Second)
	conv := h.conversationEvents(out.ConversationID)
	for _, want := range []string{"dialing", "answered", "ended", "wrap_up"} {
		if !strings.Contains(conv, want) {
			t.Errorf("conversation events %q lack %s", conv, want)
		}
	}
	h.waitMetric("switchboard_active_calls", "0")
}

// TestOutboundHangupBeforeAnswer: the agent hangs up while the customer
// rings: the far end gets CANCEL, the agent is idle again (no wrap-up).
func TestOutboundHangupBeforeAnswer(t *testing.T) {
	h := outboundHarness(t, nil)
	a1 := h.login("agent1", "agent1-token")
	out, err := a1.panel.Call(h.ctx, "+15550142", "+15550100", "")
	if err != nil {
		t.Fatal(err)
	}
	in := h.nextIncoming()
	if err := in.Ring(false); err != nil {
		t.Fatal(err)
	}
	a1.next("call.ringing", 5*time.Second)
	if err := a1.panel.Hangup(h.ctx, out.CallID); err != nil {
		t.Fatal(err)
	}
	select {
	case <-in.Cancelled():
	case <-time.After(5 * time.Second):
		t.Fatal("the far end got no CANCEL")
	}
	if ev := a1.next("call.ended", 5*time.Second); ev.Field("reason") != "agent" {
		t.Errorf("call.ended %s, want reason agent", ev.Data)
	}
	a1.waitSystem("")
	// The agent may call again at once.
	if _, err := a1.panel.Call(h.ctx, "+15550142", "+15550100", ""); err != nil {
		t.Fatalf("second call: %v", err)
	}
	in = h.nextIncoming()
	if err := in.Reject(486, "Busy Here"); err != nil {
		t.Fatal(err)
	}
	if ev := a1.next("call.failed", 5*time.Second); ev.Field("sip_code") != "486" {
		t.Errorf("call.failed %s, want sip_code 486", ev.Data)
	}
	a1.waitSystem("")
	// The call records say what happened: cancelled, then busy (not
	// answered, though the agent's leg was).
	h.waitMetric(`switchboard_calls_total{result="cancelled"}`, "1")
	h.waitMetric(`switchboard_calls_total{result="busy"}`, "1")
	h.waitMetric(`switchboard_calls_total{result="answered"}`, `<no switchboard_calls_total{result="answered"}>`)
	// Calls nobody answered leave no open conversation on the agent's
	// capacity.
	if open := agentAsSupervisor(t, h, "agent1")["open_conversations"]; open != 0.0 {
		t.Errorf("agent1 has %v open conversations after two unanswered calls, want 0", open)
	}
}

// TestOutboundConversationOfAnotherAgent: agent2 talked to +15550142 and
// its conversation is open: agent1's call to that number is refused with
// 409 naming agent2, and no INVITE leaves; agent2 may call again.
func TestOutboundConversationOfAnotherAgent(t *testing.T) {
	h := outboundHarness(t, nil)
	a1 := h.login("agent1", "agent1-token")
	a2 := h.login("agent2", "agent2-token")
	out, err := a2.panel.Call(h.ctx, "+15550142", "+15550100", "")
	if err != nil {
		t.Fatal(err)
	}
	in := h.nextIncoming()
	fc, err := in.Answer(siptest.AnswerOptions{ToneHz: farHz})
	if err != nil {
		t.Fatal(err)
	}
	a2.next("call.answered", 5*time.Second)
	_, err = a1.panel.Call(h.ctx, "+15550142", "+15550100", "")
	se := wantStatus(t, err, 409, "agent1 calls agent2's customer")
	if !strings.Contains(se.Body, "agent2") {
		t.Errorf("409 %s does not name agent2", se.Body)
	}
	_, err = a2.panel.Call(h.ctx, "+15550142", "+15550100", "")
	wantStatus(t, err, 409, "a second call while on a call")
	h.noInvite("refused calls")
	if err := a2.panel.Hangup(h.ctx, out.CallID); err != nil {
		t.Fatal(err)
	}
	<-fc.Ended()
	a2.next("wrapup.started", 5*time.Second)
	_, err = a1.panel.Call(h.ctx, "+15550142", "+15550100", "")
	wantStatus(t, err, 409, "agent1 calls agent2's customer in wrap-up")
	h.noInvite("refused call after wrap-up")
}

// TestOutboundCallHoldAndTransfer: once the customer agent1 called answers,
// the call is like one the customer made: agent1's hold plays the hold
// music to the customer, and a transfer to agent2 hands the customer over.
func TestOutboundCallHoldAndTransfer(t *testing.T) {
	h := outboundHarness(t, nil)
	a1 := h.login("agent1", "agent1-token")
	a2 := h.login("agent2", "agent2-token")
	a2.setStatus(h.ctx, "away")
	out, err := a1.panel.Call(h.ctx, "+15550142", "+15550100", "support")
	if err != nil {
		t.Fatal(err)
	}
	fc, err := h.nextIncoming().Answer(siptest.AnswerOptions{ToneHz: farHz})
	if err != nil {
		t.Fatal(err)
	}
	a1.next("call.answered", 5*time.Second)
	waitTone(t, fc, agentHz, "the customer hears agent1")

	if err := a1.panel.Hold(h.ctx, out.CallID); err != nil {
		t.Fatal(err)
	}
	a1.waitSystem("on_hold")
	heardAlone(t, fc, holdMusicHz, agentHz, 5*time.Second, "the hold music")
	if err := a1.panel.Resume(h.ctx, out.CallID); err != nil {
		t.Fatal(err)
	}
	heardAlone(t, fc, agentHz, holdMusicHz, 5*time.Second, "agent1 after resume")

	a2.setStatus(h.ctx, "available")
	if _, err := a1.panel.Transfer(h.ctx, out.CallID, map[string]string{"agent": "agent2"}); err != nil {
		t.Fatal(err)
	}
	offer := a2.next("call.offered", 5*time.Second)
	if offer.Field("customer_number") != "+15550142" {
		t.Errorf("agent2's offer %s, want the customer +15550142", offer.Data)
	}
	if err := a2.panel.Answer(h.ctx, offer.Field("call_id")); err != nil {
		t.Fatal(err)
	}
	a2.next("call.answered", 5*time.Second)
	a2.hears(farHz, "the customer")
	a1.next("wrapup.started", 5*time.Second)
	if err := fc.Hangup(h.ctx); err != nil {
		t.Fatal(err)
	}
	a2.next("call.ended", 5*time.Second)
	h.waitMetric("switchboard_active_calls", "0")
}
