package main

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/switchboard-voice/switchboard/sip/siptest"
)

// TestReofferPendingBridgeReads holds the far end's answer to the hold the
// caller relays to it (a slow far end: the re-offer stays pending in the
// bridge) and checks that the bridge keeps reading both legs meanwhile.
// The far end's digits (more than a leg's event channel holds) and the
// caller's reach the other side, and a hang-up on either side ends the call
// and releases everything, all while the re-INVITE is still unanswered.
// Before, the bridge sat in the re-offer for up to 32 s (Timer B) and a leg
// that ended meanwhile could lose its end to a full event channel.
func TestReofferPendingBridgeReads(t *testing.T) {
	for _, tc := range []struct {
		name      string
		farHangup bool // else the caller hangs up
	}{
		{"far end sends digits and hangs up", true},
		{"caller sends digits and hangs up", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t, nil)
			farCall := h.answerNext(farHz)
			c, err := h.caller.Invite(h.ctx, h.target("+15550100"), siptest.InviteOptions{ToneHz: callerHz})
			if err != nil || c.Status() != 200 {
				t.Fatalf("invite: %v", err)
			}
			fc := h.waitCall(farCall)
			waitTone(t, fc, callerHz, "far end")

			held, release := fc.HoldReinvites()
			defer release()
			holdDone := make(chan error, 1)
			go func() {
				_, err := c.Hold(h.ctx)
				holdDone <- err
			}()
			if ri := recv(t, held, "re-INVITE held at the far end"); !strings.Contains(string(ri.Body()), "a=sendonly") {
				t.Fatalf("far end re-offered:\n%s\nwant sendonly", ri.Body())
			}

			// The re-offer is pending; digits cross both ways.
			from, to, n := c, fc, 4
			if tc.farHangup {
				from, to, n = fc, c, 20 // more than a SIP leg's 16 buffered events
			}
			digits := "0123456789*#ABCD0123456789"[:n]
			for _, d := range digits {
				if err := from.SendDTMFInfo(h.ctx, d, 60*time.Millisecond); err != nil {
					t.Fatalf("send %q: %v", d, err)
				}
			}
			ctx, cancel := context.WithTimeout(h.ctx, 15*time.Second)
			got, err := to.WaitDigits(ctx, n)
			cancel()
			if err != nil {
				t.Fatalf("digits while a re-offer is pending: %v (got %d)", err, len(got))
			}
			for i, d := range got {
				if d.Digit != rune(digits[i]) {
					t.Fatalf("digit %d is %q, want %q", i, d.Digit, digits[i])
				}
			}
			select {
			case err := <-holdDone:
				t.Fatalf("hold finished while the far end held its answer: %v", err)
			default:
			}

			// One side hangs up with the re-offer still pending: the other
			// side's call ends, the caller's re-INVITE is answered.
			if err := from.Hangup(h.ctx); err != nil {
				t.Fatal(err)
			}
			waitEnded(t, to, "the other side")
			if !to.ByeReceived() {
				t.Error("the other side got no BYE")
			}
			if err := recv(t, holdDone, "the caller's re-INVITE to end"); err == nil {
				t.Error("the caller's hold succeeded on a call that ended under it")
			}
			deadline := time.Now().Add(5 * time.Second)
			for h.node.sip.ActiveLegs() != 0 && time.Now().Before(deadline) {
				time.Sleep(20 * time.Millisecond)
			}
			if n := h.node.sip.ActiveLegs(); n != 0 {
				t.Errorf("%d legs left after the call ended", n)
			}
			if n := h.node.ports.InUse(); n != 0 {
				t.Errorf("%d RTP port pairs still open", n)
			}
			h.waitMetric("switchboard_active_calls", "0")
		})
	}
}

// TestAgentHoldOwnedByBridge: the agent holds the call (the panel), then
// the customer holds and resumes on its own. The bridge owns both legs'
// directions: while the agent's hold stands, the customer hears hold music,
// so its re-offers are answered as the switch's own (recvonly to its
// sendonly, sendrecv to its resume) and the agent's leg is not re-offered;
// the customer's resume does not bring the agent's audio back. The
// agent's resume then joins both ways again.
func TestAgentHoldOwnedByBridge(t *testing.T) {
	h := newHarness(t, fromFile(t, "../../testdata/config/contact-center.yaml", nil))
	a1 := h.login("agent1", "agent1-token")
	c, err := h.caller.Invite(h.ctx, h.target("+15550100"), siptest.InviteOptions{ToneHz: callerHz})
	if err != nil || c.Status() != 200 {
		t.Fatalf("invite: %v (status %d)", err, c.Status())
	}
	callID := a1.next("call.offered", 5*time.Second).Field("call_id")
	if err := a1.panel.Answer(h.ctx, callID); err != nil {
		t.Fatal(err)
	}
	a1.next("call.answered", 5*time.Second)
	a1.hears(callerHz, "the caller")
	waitToneBy(t, c, agentHz, 5*time.Second, "the agent")

	if err := a1.panel.Hold(h.ctx, callID); err != nil {
		t.Fatal(err)
	}
	if dir, err := c.Hold(h.ctx); err != nil || dir != "recvonly" {
		t.Errorf("customer's hold during the agent's: answered %q (%v), want recvonly", dir, err)
	}
	if dir, err := c.Resume(h.ctx); err != nil || dir != "sendrecv" {
		t.Errorf("customer's resume during the agent's hold: answered %q (%v), want sendrecv", dir, err)
	}
	heardAlone(t, c, holdMusicHz, agentHz, 5*time.Second, "the hold music after the customer's resume")
	if err := a1.panel.Resume(h.ctx, callID); err != nil {
		t.Fatal(err)
	}
	a1.media.ResetAudio()
	a1.hears(callerHz, "the caller after the agent's resume")
	c.ResetAudio()
	waitToneBy(t, c, agentHz, 5*time.Second, "the agent after its resume")
	// The customer's next re-offer is answered from the agent's direction
	// again.
	if dir, err := c.Hold(h.ctx); err != nil || dir != "recvonly" {
		t.Errorf("customer's hold after the agent's resume: answered %q (%v), want recvonly", dir, err)
	}
	if err := c.Hangup(h.ctx); err != nil {
		t.Fatal(err)
	}
	a1.next("call.ended", 5*time.Second)
	h.waitMetric("switchboard_active_calls", "0")
}
