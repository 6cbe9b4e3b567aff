package main

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/switchboard-voice/switchboard/config"
	"github.com/switchboard-voice/switchboard/gateway/agent"
	"github.com/switchboard-voice/switchboard/sip/siptest"
)

// Tones of testdata/config/contact-center.yaml's hold and transfers.
const (
	holdMusicHz       = 600.0
	holdAnnounceHz    = 800.0
	transferMusicHz   = 400.0
	transferMessageHz = 1200.0
	earlyHz           = 1700.0 // a network's early media
)

// transferHarness runs testdata/config/contact-center.yaml with its pstn
// trunk replaced by the harness's far end (the test UA, not 5080).
func transferHarness(t testing.TB, change func(c *config.Config)) *harness {
	t.Helper()
	return newHarness(t, fromFile(t, "../../testdata/config/contact-center.yaml", func(c *config.Config) {
		for i := range c.Routes {
			if c.Routes[i].Outbound == "pstn" {
				c.Routes[i].Outbound = "far-end"
			}
		}
		if change != nil {
			change(c)
		}
	}))
}

// answered places a call to the support queue and has a answer it: both
// tones cross. It returns the caller's call, its id and its conversation.
func (h *harness) answered(a *simAgent) (*siptest.Call, string, string) {
	h.t.Helper()
	c, err := h.caller.Invite(h.ctx, h.target("+15550100"), siptest.InviteOptions{ToneHz: callerHz})
	if err != nil || c.Status() != 200 {
		h.t.Fatalf("invite: %v (status %d)", err, c.Status())
	}
	offer := a.next("call.offered", 5*time.Second)
	callID := offer.Field("call_id")
	if err := a.panel.Answer(h.ctx, callID); err != nil {
		h.t.Fatal(err)
	}
	a.next("call.answered", 5*time.Second)
	a.hears(callerHz, "the caller")
	waitToneBy(h.t, c, agentHz, 5*time.Second, "the agent")
	return c, callID, offer.Field("conversation_id")
}

// waitSystem waits for a status.changed with the agent's system state
// system (one already on its way may come first).
func (a *simAgent) waitSystem(system string) {
	a.t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		if ev := a.next("status.changed", time.Until(deadline)); ev.Field("system") == system {
			return
		}
	}
}

// silent checks that the agent hears nothing of the caller for a while.
func (a *simAgent) silent(hz float64, what string) {
	a.t.Helper()
	a.media.ResetAudio()
	time.Sleep(600 * time.Millisecond)
	if a.media.Hears(hz) {
		a.t.Errorf("agent %s hears %s (%.0f Hz); want silence", a.id, what, hz)
	}
}

// TestHoldWithMusic: the agent holds the call: the customer hears the hold
// music (600 Hz) with its announcement (800 Hz) about every 10 s, the agent
// hears nothing and is on_hold (the customer's own hold meanwhile:
// TestAgentHoldOwnedByBridge); resume brings both tones back.
func TestHoldWithMusic(t *testing.T) {
	h := transferHarness(t, nil)
	a1 := h.login("agent1", "agent1-token")
	c, callID, convID := h.answered(a1)

	if err := a1.panel.Hold(h.ctx, callID); err != nil {
		t.Fatal(err)
	}
	a1.waitSystem("on_hold")
	held := time.Now()
	heardAlone(t, c, holdMusicHz, agentHz, 5*time.Second, "the hold music")
	a1.silent(callerHz, "the caller on hold")
	c.ResetAudio()
	waitToneBy(t, c, holdAnnounceHz, 15*time.Second, "the hold announcement")
	if d := time.Since(held); d < 8*time.Second || d > 13*time.Second {
		t.Errorf("the announcement came %v after the hold, want about 10 s", d.Round(100*time.Millisecond))
	}
	if err := a1.panel.Resume(h.ctx, callID); err != nil {
		t.Fatal(err)
	}
	a1.media.ResetAudio()
	a1.hears(callerHz, "the caller after resume")
	heardAlone(t, c, agentHz, holdMusicHz, 5*time.Second, "the agent after resume")

	conv := h.conversationEvents(convID)
	if !strings.Contains(conv, "hold.started") || !strings.Contains(conv, "hold.ended") {
		t.Errorf("conversation events %s lack hold.started and hold.ended", conv)
	}
	if err := c.Hangup(h.ctx); err != nil {
		t.Fatal(err)
	}
	a1.next("call.ended", 5*time.Second)
	h.waitMetric("switchboard_active_calls", "0")
}

// conversationEvents lists the types of the events of the conversation
// callID joined, from the store.
func (h *harness) conversationEvents(convID string) string {
	h.t.Helper()
	evs, err := h.node.contact.store.ListEvents(h.ctx, convID)
	if err != nil {
		h.t.Fatalf("conversation %s events: %v", convID, err)
	}
	var types []string
	for _, ev := range evs {
		types = append(types, ev.Type)
	}
	return strings.Join(types, " ")
}

// TestTransferToAgent: agent1 transfers the caller to agent2: the caller
// hears the transfer music (400 Hz) while agent2 rings, agent2's offer says
// "transferred" by Agent One, agent1 is in wrap-up at once; agent2 answers
// and the tones cross; agent1 learns transfer.succeeded.
func TestTransferToAgent(t *testing.T) {
	h := transferHarness(t, nil)
	a1 := h.login("agent1", "agent1-token")
	c, callID, _ := h.answered(a1)
	a2 := h.login("agent2", "agent2-token")

	start := time.Now()
	id, err := a1.panel.Transfer(h.ctx, callID, map[string]string{"agent": "agent2"})
	if err != nil || id == "" {
		t.Fatalf("transfer: %q, %v", id, err)
	}
	offer := a2.next("call.offered", 5*time.Second)
	t.Logf("transfer set-up (request → target rings): %v", time.Since(start))
	if offer.Field("type") != "transferred" || offer.Field("transferred_by") != "Agent One" || offer.Field("call_id") != callID {
		t.Errorf("agent2's offer: %s; want type transferred by Agent One", offer.Data)
	}
	if ev := a1.next("transfer.started", 5*time.Second); ev.Field("transfer_id") != id {
		t.Errorf("transfer.started %s, want id %s", ev.Data, id)
	}
	a1.next("wrapup.started", 5*time.Second)
	heardAlone(t, c, transferMusicHz, agentHz, 5*time.Second, "the transfer music")

	if err := a2.panel.Answer(h.ctx, callID); err != nil {
		t.Fatal(err)
	}
	a2.next("call.answered", 5*time.Second)
	a2.hears(callerHz, "the caller, transferred")
	heardAlone(t, c, agentHz, transferMusicHz, 5*time.Second, "agent2")
	if ev := a1.next("transfer.succeeded", 5*time.Second); ev.Field("transfer_id") != id {
		t.Errorf("transfer.succeeded %s, want id %s", ev.Data, id)
	}
	if err := c.Hangup(h.ctx); err != nil {
		t.Fatal(err)
	}
	a2.next("call.ended", 5*time.Second)
	h.waitMetric("switchboard_active_calls", "0")
}

// TestTransferDeclinedReturns: agent2 declines the transfer: agent1 learns
// transfer.failed and is rung again; it answers and talks to the caller.
func TestTransferDeclinedReturns(t *testing.T) {
	h := transferHarness(t, nil)
	a1 := h.login("agent1", "agent1-token")
	c, callID, _ := h.answered(a1)
	a2 := h.login("agent2", "agent2-token")

	if _, err := a1.panel.Transfer(h.ctx, callID, map[string]string{"agent": "agent2"}); err != nil {
		t.Fatal(err)
	}
	a2.next("call.offered", 5*time.Second)
	if err := a2.panel.Decline(h.ctx, callID); err != nil {
		t.Fatal(err)
	}
	if ev := a1.next("transfer.failed", 5*time.Second); ev.Field("cause") != "declined" {
		t.Errorf("transfer.failed %s, want cause declined", ev.Data)
	}
	back := a1.next("call.offered", 5*time.Second)
	if back.Field("call_id") != callID {
		t.Fatalf("agent1 rung again for %s, want %s", back.Field("call_id"), callID)
	}
	h.takesBack(a1, c, callID)
}

// TestTransferToQueue: agent1 sends the caller to queue sales, where agent3
// answers; a transfer to a queue without automatic assignment is 403, to
// an agent outside the call's queue 403, to a busy agent 409, to nothing
// 400, to an unknown queue 404.
func TestTransferToQueue(t *testing.T) {
	h := transferHarness(t, func(c *config.Config) {
		c.Queues = append(c.Queues, config.Queue{Name: "manual", RingTimeout: 10 * time.Second})
	})
	a1 := h.login("agent1", "agent1-token")
	c, callID, _ := h.answered(a1)
	a3 := h.login("agent3", "agent3-token")

	for _, tc := range []struct {
		target map[string]string
		code   int
	}{
		{map[string]string{}, 400},
		{map[string]string{"agent": "agent2", "queue": "sales"}, 400},
		{map[string]string{"queue": "manual"}, 403},
		{map[string]string{"queue": "nope"}, 404},
		{map[string]string{"agent": "agent3"}, 403}, // not in support
		{map[string]string{"agent": "agent2"}, 409}, // not logged in: offline
		{map[string]string{"number": "+15550199"}, 403},
	} {
		_, err := a1.panel.Transfer(h.ctx, callID, tc.target)
		var se *agent.StatusError
		if !errors.As(err, &se) || se.Code != tc.code {
			t.Errorf("transfer to %v: %v, want %d", tc.target, err, tc.code)
		}
	}
	if _, err := a1.panel.Transfer(h.ctx, callID, map[string]string{"queue": "sales"}); err != nil {
		t.Fatal(err)
	}
	offer := a3.next("call.offered", 5*time.Second)
	if offer.Field("queue") != "sales" || offer.Field("type") != "transferred" {
		t.Errorf("agent3's offer %s, want queue sales, type transferred", offer.Data)
	}
	if err := a3.panel.Answer(h.ctx, callID); err != nil {
		t.Fatal(err)
	}
	a3.hears(callerHz, "the caller, transferred to sales")
	heardAlone(t, c, agentHz, transferMusicHz, 5*time.Second, "agent3")
	a1.next("transfer.succeeded", 5*time.Second)
	if err := c.Hangup(h.ctx); err != nil {
		t.Fatal(err)
	}
	h.waitMetric("switchboard_active_calls", "0")
}

// TestTransferToNumber: agent1 sends the caller to +15550142 (the phone
// book's Escalations): the far end rings (the caller hears the transfer
// music), sends early media (the caller hears it instead of the music),
// answers, and the tones cross; a number outside the phone book is
// refused with 403 and no INVITE leaves.
func TestTransferToNumber(t *testing.T) {
	h := transferHarness(t, nil)
	a1 := h.login("agent1", "agent1-token")
	c, callID, _ := h.answered(a1)

	_, err := a1.panel.Transfer(h.ctx, callID, map[string]string{"number": "+15550199"})
	wantStatus(t, err, 403, "transfer to a number outside the phone book")
	h.noInvite("a number outside the phone book")

	start := time.Now()
	if _, err := a1.panel.Transfer(h.ctx, callID, map[string]string{"number": "+15550142", "from": "+15550100"}); err != nil {
		t.Fatal(err)
	}
	in := h.nextIncoming()
	t.Logf("transfer set-up (request → INVITE): %v", time.Since(start))
	if u := in.Request().Recipient.User; u != "+15550142" {
		t.Errorf("INVITE to %s, want +15550142", u)
	}
	if err := in.Ring(false); err != nil {
		t.Fatal(err)
	}
	heardAlone(t, c, transferMusicHz, agentHz, 5*time.Second, "the transfer music while the number rings")
	// The network's early media (a 183 with SDP) replaces the music.
	if err := in.Progress(siptest.AnswerOptions{ToneHz: earlyHz}); err != nil {
		t.Fatal(err)
	}
	heardAlone(t, c, earlyHz, transferMusicHz, 5*time.Second, "the number's early media")
	fc, err := in.Answer(siptest.AnswerOptions{ToneHz: farHz})
	if err != nil {
		t.Fatal(err)
	}
	waitTone(t, fc, callerHz, "the far end hears the caller")
	heardAlone(t, c, farHz, transferMusicHz, 5*time.Second, "the caller hears the far end")
	a1.next("transfer.succeeded", 5*time.Second)
	h.hangup(c, fc)
	h.waitMetric("switchboard_active_calls", "0")
}

// TestTransferToNumberBusyReturns: the external number answers 486: the
// caller stays up (hearing the transfer music), agent1 learns
// transfer.failed with code 486 and is rung again, answers, and talks to
// the caller.
func TestTransferToNumberBusyReturns(t *testing.T) {
	h := transferHarness(t, nil)
	a1 := h.login("agent1", "agent1-token")
	c, callID, _ := h.answered(a1)
	if _, err := a1.panel.Transfer(h.ctx, callID, map[string]string{"number": "+15550142"}); err != nil {
		t.Fatal(err)
	}
	in := h.nextIncoming()
	if err := in.Reject(486, "Busy Here"); err != nil {
		t.Fatal(err)
	}
	if ev := a1.next("transfer.failed", 5*time.Second); ev.Field("code") != "486" {
		t.Errorf("transfer.failed %s, want code 486", ev.Data)
	}
	if back := a1.next("call.offered", 5*time.Second); back.Field("call_id") != callID {
		t.Fatalf("agent1 rung again for %s, want %s", back.Field("call_id"), callID)
	}
	select {
	case <-c.Ended():
		t.Fatal("the caller was hung up after the failed transfer")
	default:
	}
	heardAlone(t, c, transferMusicHz, agentHz, 3*time.Second, "the transfer music while agent1 is rung again")
	h.takesBack(a1, c, callID)
}

// TestReferFromFarEnd: a B2BUA call whose far end holds, then sends REFER
// to +15550142: with refer: allow the far end gets 202 and NOTIFYs (100,
// then 200), the caller is resumed (sendrecv) and talks to the target; the
// referrer is hung up. With the default (reject), 603.
func TestReferFromFarEnd(t *testing.T) {
	for _, allow := range []bool{false, true} {
		t.Run(map[bool]string{false: "default", true: "allow"}[allow], func(t *testing.T) {
			h := newHarness(t, func(c *config.Config) {
				if allow {
					c.Trunks[1].Refer = "allow"
				}
				c.Routes = append([]config.Route{{Name: "escalations", Match: config.RouteMatch{To: "+15550142"}, Outbound: "far-end"}}, c.Routes...)
				c.Contacts = []config.Contact{{Name: "Escalations", Numbers: []string{"+15550142"}, Tags: []string{"external_number"}}}
			})
			ans := h.answerNext(farHz)
			c, err := h.caller.Invite(h.ctx, h.target("+15550111"), siptest.InviteOptions{ToneHz: callerHz})
			if err != nil || c.Status() != 200 {
				t.Fatalf("invite: %v (status %d)", err, c.Status())
			}
			fc := h.waitCall(ans)
			waitTone(t, c, farHz, "the far end")
			if allow {
				// Phones hold before they transfer: the caller is re-offered
				// sendonly, and must be resumed once the far end has left.
				if _, err := fc.Hold(h.ctx); err != nil {
					t.Fatal(err)
				}
				if ri := recv(t, c.Reinvites(), "the hold passed on to the caller"); ri.Direction != siptest.SendOnly {
					t.Errorf("caller re-offered %q, want sendonly", ri.Direction)
				}
			}

			res, err := fc.Refer(h.ctx, "<sip:+15550142@"+h.sip+">", nil)
			if err != nil {
				t.Fatal(err)
			}
			if !allow {
				if res.StatusCode != 603 {
					t.Errorf("REFER with the default: %d, want 603", res.StatusCode)
				}
				h.hangup(c, fc)
				return
			}
			if res.StatusCode != 202 {
				t.Fatalf("REFER: %d, want 202", res.StatusCode)
			}
			in := h.nextIncoming()
			if u := in.Request().Recipient.User; u != "+15550142" {
				t.Errorf("INVITE to %s, want +15550142", u)
			}
			target, err := in.Answer(siptest.AnswerOptions{ToneHz: earlyHz})
			if err != nil {
				t.Fatal(err)
			}
			var frags []string
			deadline := time.After(5 * time.Second)
			for len(frags) == 0 || !strings.HasPrefix(frags[len(frags)-1], "SIP/2.0 200") {
				select {
				case n := <-fc.Notifies():
					frags = append(frags, strings.TrimSpace(string(n.Body())))
				case <-deadline:
					t.Fatalf("NOTIFYs %q: no final 200", frags)
				}
			}
			if !strings.HasPrefix(frags[0], "SIP/2.0 100") {
				t.Errorf("first NOTIFY %q, want 100 Trying", frags[0])
			}
			waitEnded(t, fc, "the referrer")
			heardAlone(t, c, earlyHz, farHz, 5*time.Second, "the caller hears the REFER's target")
			waitTone(t, target, callerHz, "the target hears the caller")
			h.hangup(c, target)
			h.waitMetric("switchboard_active_calls", "0")
		})
	}
}

// TestReferFromCaller: the caller's side (the carrier, refer: allow) sends
// REFER to +15550142 in a B2BUA call: 202 and NOTIFYs to it; the far end it
// was talking to hears the transfer music, then talks to the target, and
// the REFER's sender is hung up after the final NOTIFY.
func TestReferFromCaller(t *testing.T) {
	h := newHarness(t, func(c *config.Config) {
		c.Trunks[0].Refer = "allow"
		c.Transfers.Music = audioDir + "tone-400.wav"
		c.Routes = append([]config.Route{{Name: "escalations", Match: config.RouteMatch{To: "+15550142"}, Outbound: "far-end"}}, c.Routes...)
		c.Contacts = []config.Contact{{Name: "Escalations", Numbers: []string{"+15550142"}, Tags: []string{"external_number"}}}
	})
	c, fc := h.connected()
	waitTone(t, c, farHz, "the far end")
	res, err := c.Refer(h.ctx, "<tel:+15550142>", nil)
	if err != nil || res.StatusCode != 202 {
		t.Fatalf("REFER from the caller: %v %v, want 202", res, err)
	}
	in := h.nextIncoming()
	if u := in.Request().Recipient.User; u != "+15550142" {
		t.Errorf("INVITE to %s, want +15550142", u)
	}
	if err := in.Ring(false); err != nil {
		t.Fatal(err)
	}
	heardAlone(t, fc, transferMusicHz, callerHz, 5*time.Second, "the far end hears the transfer music")
	target, err := in.Answer(siptest.AnswerOptions{ToneHz: earlyHz})
	if err != nil {
		t.Fatal(err)
	}
	var last string
	deadline := time.After(5 * time.Second)
	for !strings.HasPrefix(last, "SIP/2.0 200") {
		select {
		case n := <-c.Notifies():
			last = strings.TrimSpace(string(n.Body()))
		case <-deadline:
			t.Fatalf("no final NOTIFY 200 (last %q)", last)
		}
	}
	waitEnded(t, c, "the REFER's sender")
	heardAlone(t, fc, earlyHz, callerHz, 5*time.Second, "the far end hears the target")
	waitTone(t, target, farHz, "the target hears the far end")
	h.hangup(fc, target)
	h.waitMetric("switchboard_active_calls", "0")
}

// TestLegsComeAndGoLeaveNothing: one call whose legs change five times
// (hold, resume, transfer, failed transfer, hang-up) leaves no leg, media
// port or goroutine behind.
func TestLegsComeAndGoLeaveNothing(t *testing.T) {
	h := transferHarness(t, nil)
	a1 := h.login("agent1", "agent1-token")
	a2 := h.login("agent2", "agent2-token")
	a2.setStatus(h.ctx, "busy") // the queue's calls go to agent1; agent2 is made available for the transfer
	// Warm up: one call end to end, so that pools and idle connections
	// exist before the baseline.
	c, callID, _ := h.answered(a1)
	if err := c.Hangup(h.ctx); err != nil {
		t.Fatal(err)
	}
	a1.next("call.ended", 5*time.Second)
	if err := a1.panel.ClearWrapUp(h.ctx); err != nil {
		t.Fatal(err)
	}
	h.waitMetric("switchboard_active_calls", "0")
	baseG, basePorts := goroutines(), h.node.ports.InUse()

	c, callID, _ = h.answered(a1)
	if err := a1.panel.Hold(h.ctx, callID); err != nil {
		t.Fatal(err)
	}
	waitToneBy(t, c, holdMusicHz, 5*time.Second, "the hold music")
	if err := a1.panel.Resume(h.ctx, callID); err != nil {
		t.Fatal(err)
	}
	a2.setStatus(h.ctx, "available")
	if _, err := a1.panel.Transfer(h.ctx, callID, map[string]string{"agent": "agent2"}); err != nil {
		t.Fatal(err)
	}
	a2.next("call.offered", 5*time.Second)
	if err := a2.panel.Decline(h.ctx, callID); err != nil {
		t.Fatal(err)
	}
	a1.next("transfer.failed", 5*time.Second)
	if err := a1.panel.Answer(h.ctx, callID); err != nil {
		t.Fatal(err)
	}
	waitToneBy(t, c, agentHz, 5*time.Second, "agent1 again")
	if err := c.Hangup(h.ctx); err != nil {
		t.Fatal(err)
	}
	h.waitMetric("switchboard_active_calls", "0")

	deadline := time.Now().Add(10 * time.Second)
	for {
		g, ports, legs := goroutines(), h.node.ports.InUse(), h.node.sip.ActiveLegs()
		if g <= baseG+2 && ports == basePorts && legs == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("after the call: %d goroutines (before %d), %d ports in use (before %d), %d SIP legs",
				g, baseG, ports, basePorts, legs)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func goroutines() int {
	runtime.GC()
	return runtime.NumGoroutine()
}

// BenchmarkTransferSetup measures a blind transfer's set-up: from the
// request to the target agent's offer (the target rings), one call
// transferred back and forth between two agents. It reports p50 and p99.
func BenchmarkTransferSetup(b *testing.B) {
	h := newHarness(b, fromFile(b, "../../testdata/config/contact-center.yaml", nil))
	a1 := h.login("agent1", "agent1-token")
	a2 := h.login("agent2", "agent2-token")
	a2.setStatus(h.ctx, "busy")
	c, err := h.caller.Invite(h.ctx, h.target("+15550100"), siptest.InviteOptions{ToneHz: callerHz})
	if err != nil || c.Status() != 200 {
		b.Fatalf("invite: %v", err)
	}
	defer c.Hangup(h.ctx)
	callID := a1.next("call.offered", 5*time.Second).Field("call_id")
	if err := a1.panel.Answer(h.ctx, callID); err != nil {
		b.Fatal(err)
	}
	a2.setStatus(h.ctx, "available")
	var took []time.Duration
	from, to := a1, a2
	b.ResetTimer()
	for range b.N {
		start := time.Now()
		if _, err := from.panel.Transfer(h.ctx, callID, map[string]string{"agent": to.id}); err != nil {
			b.Fatal(err)
		}
		to.next("call.offered", 5*time.Second)
		took = append(took, time.Since(start))
		if err := to.panel.Answer(h.ctx, callID); err != nil {
			b.Fatal(err)
		}
		to.next("call.answered", 5*time.Second)
		from.next("wrapup.started", 5*time.Second)
		if err := from.panel.ClearWrapUp(h.ctx); err != nil {
			b.Fatal(err)
		}
		from.waitSystem("")
		from, to = to, from
	}
	b.StopTimer()
	slices.Sort(took)
	b.ReportMetric(float64(took[len(took)/2].Microseconds())/1000, "p50-ms")
	b.ReportMetric(float64(took[len(took)*99/100].Microseconds())/1000, "p99-ms")
}

// TestTransferToNumberSIPp: the external number is a SIPp far end (the
// reference config's pstn trunk, pointed at SIPp's port) that answers and
// echoes RTP: the caller transferred to +15550142 hears its own tone come
// back through the switch; its hang-up ends SIPp's call (exit 0).
func TestTransferToNumberSIPp(t *testing.T) {
	requireSIPp(t)
	uasPort, uasMedia := freePort(t), freePorts(t, 4)
	h := newHarness(t, fromFile(t, "../../testdata/config/contact-center.yaml", pstnAt(uasPort)))
	ctx, cancel := context.WithTimeout(h.ctx, 45*time.Second)
	defer cancel()
	uas := startSIPp(t, ctx, "uas", "-sf", "uas_echo.xml", "-i", "127.0.0.1", "-p", strconv.Itoa(uasPort),
		"-mi", "127.0.0.1", "-mp", strconv.Itoa(uasMedia), "-rtp_echo", "-m", "1", "-timeout", "40", "-timeout_error")
	a1 := h.login("agent1", "agent1-token")
	c, callID, _ := h.answered(a1)
	if _, err := a1.panel.Transfer(h.ctx, callID, map[string]string{"number": "+15550142", "from": "+15550100"}); err != nil {
		t.Fatal(err)
	}
	a1.next("transfer.succeeded", 10*time.Second)
	heardAlone(t, c, callerHz, transferMusicHz, 5*time.Second, "the caller's own tone, echoed by SIPp")
	if err := c.Hangup(h.ctx); err != nil {
		t.Fatal(err)
	}
	if got := uas.wait(t, 20*time.Second); got != 0 {
		t.Errorf("SIPp far end exit %d, want 0\n%s", got, tail(uas.out.String(), 2000))
	}
	h.waitMetric("switchboard_active_calls", "0")
}

// pstnAt points the reference config's pstn trunk at a far end (SIPp) on
// 127.0.0.1:port.
func pstnAt(port int) func(c *config.Config) {
	return func(c *config.Config) {
		for i := range c.Trunks {
			if c.Trunks[i].Name == "pstn" {
				c.Trunks[i].Outbound.URI = fmt.Sprintf("sip:127.0.0.1:%d;transport=udp", port)
			}
		}
	}
}

// takesBack: a, rung again after a failed transfer, answers callID: it
// hears the caller, the caller hears it and no more transfer music; the
// caller hangs up and no call is left.
func (h *harness) takesBack(a *simAgent, c *siptest.Call, callID string) {
	h.t.Helper()
	if err := a.panel.Answer(h.ctx, callID); err != nil {
		h.t.Fatal(err)
	}
	a.media.ResetAudio()
	a.hears(callerHz, "the caller, back")
	heardAlone(h.t, c, agentHz, transferMusicHz, 5*time.Second, a.id+" again")
	if err := c.Hangup(h.ctx); err != nil {
		h.t.Fatal(err)
	}
	h.waitMetric("switchboard_active_calls", "0")
}
