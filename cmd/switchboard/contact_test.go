package main

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/switchboard-voice/switchboard/gateway/agent"
	"github.com/switchboard-voice/switchboard/sip/siptest"
)

// agentHz is the tone simulated agents send.
const agentHz = 1300.0

// simAgent is an agent as a browser would be: its panel (REST API and
// events socket) and its WebRTC media session (WHIP).
type simAgent struct {
	t      testing.TB
	id     string
	panel  *agent.Panel
	media  *agent.Client
	events <-chan agent.Event
}

// login connects agent id's events socket and media, then makes it
// Available.
func (h *harness) login(id, token string) *simAgent {
	h.t.Helper()
	a, _ := h.connect(id, token)
	a.setStatus(h.ctx, "available")
	return a
}

// next waits for the agent's next event of type typ, skipping others.
func (a *simAgent) next(typ string, within time.Duration) agent.Event {
	a.t.Helper()
	deadline := time.After(within)
	var seen []string
	for {
		select {
		case ev, ok := <-a.events:
			if !ok {
				a.t.Fatalf("agent %s: events socket closed waiting for %s (saw %v)", a.id, typ, seen)
			}
			if ev.Type == typ {
				return ev
			}
			seen = append(seen, ev.Type)
		case <-deadline:
			a.t.Fatalf("agent %s: no %s within %v (saw %v)", a.id, typ, within, seen)
		}
	}
}

// hears waits for the agent's media to carry hz.
func (a *simAgent) hears(hz float64, what string) {
	a.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := a.media.WaitTone(ctx, hz); err != nil {
		a.t.Fatalf("agent %s does not hear %s (%.0f Hz): %v", a.id, what, hz, err)
	}
}

// TestContactCenterCall is testdata/config/contact-center.yaml end to end:
// a PCMU caller to +15550100 waits in queue support under the waiting
// strategy; agent1, logged in through WHIP and its events socket, is
// offered the call, answers it, and the tones cross (G.711 ↔ Opus); the
// caller hangs up, the agent wraps up (5 s), and only then takes the next
// call, on the same media session; the agent hangs that one up.
func TestContactCenterCall(t *testing.T) {
	h := newHarness(t, fromFile(t, "../../testdata/config/contact-center.yaml", nil))
	a1 := h.login("agent1", "agent1-token")

	c, err := h.caller.Invite(h.ctx, h.target("+15550100"), siptest.InviteOptions{ToneHz: callerHz})
	if err != nil || c.Status() != 200 {
		t.Fatalf("invite: %v (status %d)", err, c.Status())
	}
	offer := a1.next("call.offered", 5*time.Second)
	if offer.Field("queue") != "support" || offer.Field("type") != "regular" || offer.Field("ring_timeout") != "10" ||
		offer.Field("customer_number") == "" || offer.Field("customer_name") != "Caller "+offer.Field("customer_number") {
		t.Errorf("call.offered %s", offer.Data)
	}
	waitToneBy(t, c, 500, 3*time.Second, "greeting while the agent's phone rings")
	callID := offer.Field("call_id")
	if err := a1.panel.Answer(h.ctx, callID); err != nil {
		t.Fatal(err)
	}
	a1.next("call.answered", 5*time.Second)
	a1.hears(callerHz, "the caller")
	heardAlone(t, c, agentHz, 700, 5*time.Second, "the agent, the waiting strategy stopped")

	// The agent's keys reach the caller (RFC 4733 on the caller's leg).
	if err := a1.panel.SendDTMF(h.ctx, callID, "12#"); err != nil {
		t.Fatal(err)
	}
	dctx, dcancel := context.WithTimeout(h.ctx, 5*time.Second)
	digits, err := c.WaitDigits(dctx, 3)
	dcancel()
	if err != nil || len(digits) != 3 || digits[0].Digit != '1' || digits[1].Digit != '2' || digits[2].Digit != '#' {
		t.Errorf("caller got digits %v (%v), want 1 2 #", digits, err)
	}
	// Hold: no audio either way; resume: both again.
	if err := a1.panel.Hold(h.ctx, callID); err != nil {
		t.Fatal(err)
	}
	time.Sleep(300 * time.Millisecond)
	c.ResetAudio()
	a1.media.ResetAudio()
	time.Sleep(600 * time.Millisecond)
	if c.Hears(agentHz) || a1.media.Hears(callerHz) {
		t.Errorf("on hold: caller hears the agent %v, agent hears the caller %v; want neither", c.Hears(agentHz), a1.media.Hears(callerHz))
	}
	if err := a1.panel.Resume(h.ctx, callID); err != nil {
		t.Fatal(err)
	}
	a1.hears(callerHz, "the caller after resume")
	waitToneBy(t, c, agentHz, 3*time.Second, "the agent after resume")

	if err := c.Hangup(h.ctx); err != nil {
		t.Fatal(err)
	}
	if ev := a1.next("call.ended", 5*time.Second); ev.Field("call_id") != callID {
		t.Errorf("call.ended %s", ev.Data)
	}
	wrap := a1.next("wrapup.started", 5*time.Second)
	// In the wrap-up the agent closes the conversation (a conversation not
	// Closed counts against the agent's capacity).
	conv, err := a1.panel.SetConversation(h.ctx, offer.Field("conversation_id"), "closed", "caller asked about billing")
	if err != nil || conv["status"] != "closed" || conv["notes"] != "caller asked about billing" {
		t.Errorf("close conversation: %v %v", err, conv)
	}
	endsAt, err := time.Parse(time.RFC3339Nano, wrap.Field("ends_at"))
	if err != nil || endsAt.Sub(wrap.At) < 4*time.Second || endsAt.Sub(wrap.At) > 6*time.Second {
		t.Errorf("wrapup.started %s: want ends_at about 5 s after it", wrap.Data)
	}

	// The next caller is not offered during the wrap-up.
	c2, err := h.caller.Invite(h.ctx, h.target("+15550100"), siptest.InviteOptions{ToneHz: callerHz})
	if err != nil || c2.Status() != 200 {
		t.Fatalf("second invite: %v (status %d)", err, c2.Status())
	}
	a1.next("wrapup.ended", 8*time.Second)
	offer2 := a1.next("call.offered", 5*time.Second)
	if offer2.At.Before(endsAt.Add(-100 * time.Millisecond)) {
		t.Errorf("second call offered at %v, during the wrap-up (ends %v)", offer2.At, endsAt)
	}
	a1.media.ResetAudio()
	if err := a1.panel.Answer(h.ctx, offer2.Field("call_id")); err != nil {
		t.Fatal(err)
	}
	a1.hears(callerHz, "the second caller, on the same media session")
	waitToneBy(t, c2, agentHz, 5*time.Second, "the agent on the second call")
	if err := a1.panel.Hangup(h.ctx, offer2.Field("call_id")); err != nil {
		t.Fatal(err)
	}
	waitEnded(t, c2, "second caller")
	if bye := c2.Bye(); bye == nil {
		t.Error("the second caller got no BYE from the agent's hang-up")
	}
	a1.next("wrapup.started", 5*time.Second)
}

// TestContactCenterDecline: agent1 declines, and the call is offered to
// agent2 at once; agent2 answers it.
func TestContactCenterDecline(t *testing.T) {
	h := newHarness(t, fromFile(t, "../../testdata/config/contact-center.yaml", nil))
	a1 := h.login("agent1", "agent1-token")
	a2 := h.login("agent2", "agent2-token")
	c, err := h.caller.Invite(h.ctx, h.target("+15550100"), siptest.InviteOptions{ToneHz: callerHz})
	if err != nil || c.Status() != 200 {
		t.Fatalf("invite: %v (status %d)", err, c.Status())
	}
	// Both are idle; whichever is offered first declines.
	var first, second *simAgent
	var offer agent.Event
	select {
	case ev := <-a1.events:
		first, second, offer = a1, a2, ev
	case ev := <-a2.events:
		first, second, offer = a2, a1, ev
	case <-time.After(5 * time.Second):
		t.Fatal("no agent was offered the call")
	}
	for offer.Type != "call.offered" {
		offer = first.next("call.offered", 5*time.Second)
	}
	if err := first.panel.Decline(h.ctx, offer.Field("call_id")); err != nil {
		t.Fatal(err)
	}
	// At once: well before the 10 s ring time-out would move it.
	offer2 := second.next("call.offered", 3*time.Second)
	if offer2.Field("call_id") != offer.Field("call_id") {
		t.Errorf("%s was offered %s, want the declined call %s", second.id, offer2.Field("call_id"), offer.Field("call_id"))
	}
	if err := second.panel.Answer(h.ctx, offer2.Field("call_id")); err != nil {
		t.Fatal(err)
	}
	second.hears(callerHz, "the caller")
	waitToneBy(t, c, agentHz, 5*time.Second, "the second agent")
	if err := c.Hangup(h.ctx); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(second.next("call.ended", 5*time.Second).Field("call_id"), offer.Field("call_id")) {
		t.Error("call.ended for another call")
	}
}
