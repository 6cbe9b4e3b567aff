package main

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/switchboard-voice/switchboard/acd"
	"github.com/switchboard-voice/switchboard/config"
	"github.com/switchboard-voice/switchboard/gateway/agent"
	"github.com/switchboard-voice/switchboard/sip/siptest"
	"github.com/switchboard-voice/switchboard/store"
)

// callbackEvents lists the callback.* events of a conversation, in order.
func (h *harness) callbackEvents(convID string) []string {
	h.t.Helper()
	var out []string
	for _, typ := range strings.Fields(h.conversationEvents(convID)) {
		if strings.HasPrefix(typ, "callback.") {
			out = append(out, typ)
		}
	}
	return out
}

// waitCallback polls the callback request id until ok holds (bounded).
func (h *harness) waitCallback(id, what string, within time.Duration, ok func(store.Callback) bool) store.Callback {
	h.t.Helper()
	deadline := time.Now().Add(within)
	for {
		cb, err := h.node.contact.acd.Callback(h.ctx, id)
		if err != nil {
			h.t.Fatal(err)
		}
		if ok(cb) {
			return cb
		}
		if time.Now().After(deadline) {
			h.t.Fatalf("callback %s: %s not within %v (status %s, %d attempts)", id, what, within, cb.Status, cb.AttemptsMade)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestAutomatedCallback is issue 14's automated callback end to end on
// testdata/config/contact-center.yaml (support-callback: retries 2, retry
// delay 10 s, priority queue_position): the caller presses 1 during the
// announcement, hears the confirmation and the call ends. agent1 signs in
// and is offered the callback ("callback", the caller's number), answers:
// the request is assigned then active and the switch dials the customer
// from +15550100. The customer does not answer twice (480): no_reply, back
// in queue after 10 s, offered again; the third attempt is answered and
// the tones cross both ways; after the call the request is done.
func TestAutomatedCallback(t *testing.T) {
	h := outboundHarness(t, announceEvery3s)
	const customer = "+15557770001"
	h.requestCallbackByPhone(customer)
	cbs, err := h.node.contact.acd.Callbacks(h.ctx, store.CallbackFilter{})
	if err != nil || len(cbs) != 1 || cbs[0].Status != store.CallbackInQueue {
		t.Fatalf("callbacks %+v (%v), want one in queue", cbs, err)
	}
	cbID, convID := cbs[0].ID, cbs[0].ConversationID

	a1 := h.login("agent1", "agent1-token")
	var attemptAt []time.Time
	for attempt := 1; attempt <= 3; attempt++ {
		offer := a1.next("call.offered", 15*time.Second)
		if offer.Field("type") != "callback" || offer.Field("customer_number") != customer || offer.Field("callback_id") != cbID {
			t.Fatalf("attempt %d: offer %s, want a callback of %s to %s", attempt, offer.Data, cbID, customer)
		}
		if err := a1.panel.Answer(h.ctx, offer.Field("call_id")); err != nil {
			t.Fatal(err)
		}
		if ev := a1.next("call.dialing", 5*time.Second); ev.Field("to") != customer || ev.Field("callback_id") != cbID {
			t.Errorf("attempt %d: call.dialing %s, want to %s for callback %s", attempt, ev.Data, customer, cbID)
		}
		in := h.nextIncoming()
		attemptAt = append(attemptAt, time.Now())
		if u := in.Request().Recipient.User; u != customer {
			t.Errorf("attempt %d: INVITE to %s, want %s", attempt, u, customer)
		}
		if from := in.Request().From().Address.User; from != "+15550100" {
			t.Errorf("attempt %d: INVITE from %s, want the caller ID +15550100", attempt, from)
		}
		h.waitCallback(cbID, "active", 5*time.Second, func(cb store.Callback) bool { return cb.Status == store.CallbackActive })
		if attempt < 3 {
			if err := in.Reject(480, "Temporarily Unavailable"); err != nil {
				t.Fatal(err)
			}
			if ev := a1.next("call.failed", 5*time.Second); ev.Field("sip_code") != "480" {
				t.Errorf("attempt %d: call.failed %s, want sip_code 480", attempt, ev.Data)
			}
			h.waitCallback(cbID, "no_reply", 5*time.Second, func(cb store.Callback) bool {
				return cb.Status == store.CallbackNoReply && cb.AttemptsMade == attempt
			})
			continue
		}
		fc, err := in.Answer(siptest.AnswerOptions{ToneHz: farHz})
		if err != nil {
			t.Fatal(err)
		}
		a1.next("call.answered", 5*time.Second)
		waitTone(t, fc, agentHz, "the customer hears the agent")
		a1.media.ResetAudio()
		a1.hears(farHz, "the customer")
		if cb := h.waitCallback(cbID, "still active while talking", time.Second, func(store.Callback) bool { return true }); cb.Status != store.CallbackActive {
			t.Errorf("while talking: status %s, want active", cb.Status)
		}
		if err := fc.Hangup(h.ctx); err != nil {
			t.Fatal(err)
		}
		a1.next("call.ended", 5*time.Second)
	}
	cb := h.waitCallback(cbID, "done", 5*time.Second, func(cb store.Callback) bool { return cb.Status == store.CallbackDone })
	if cb.AttemptsMade != 3 || len(cb.Attempts) != 3 || cb.Attempts[0].SIPCode != 480 || cb.Attempts[2].SIPCode != 200 {
		t.Errorf("attempts %+v, want 480, 480, 200", cb.Attempts)
	}
	for i := 1; i < len(attemptAt); i++ {
		if d := attemptAt[i].Sub(attemptAt[i-1]); d < 10*time.Second {
			t.Errorf("attempt %d came %v after the previous one, want at least the 10 s retry delay", i+1, d)
		}
	}
	want := []string{"callback.requested",
		"callback.assigned", "callback.active", "callback.attempt", "callback.no_reply", "callback.requeued",
		"callback.assigned", "callback.active", "callback.attempt", "callback.no_reply", "callback.requeued",
		"callback.assigned", "callback.active", "callback.attempt", "callback.done"}
	if got := h.callbackEvents(convID); !slices.Equal(got, want) {
		t.Errorf("conversation's callback events\n%v\nwant\n%v", got, want)
	}
}

// TestManualCallback: a supervisor requests a manual support-manual
// callback; agent1 and agent2 race to assign it: exactly one gets it (200),
// the other 409. The loser cannot call it (409); the winner calls the
// customer from the configuration's caller ID, the customer answers, the
// tones cross; the winner transfers the customer to the loser, who answers
// and talks to it; the request stays active until the call is over, then
// it is done.
func TestManualCallback(t *testing.T) {
	h := outboundHarness(t, nil)
	agents := map[string]*simAgent{"agent1": h.login("agent1", "agent1-token"), "agent2": h.login("agent2", "agent2-token")}
	for _, a := range agents {
		a.setStatus(h.ctx, "away") // not offered anything: manual callbacks are picked
	}
	sup := agent.NewAPI("http://"+h.node.http.Addr(), supervisorKey)
	var cb struct {
		ID     string `json:"id"`
		Status string `json:"status"`
	}
	if err := sup.Do(h.ctx, http.MethodPost, "/api/v1/callbacks", map[string]string{"config": "support-manual",
		"number": "+15557770002"}, &cb); err != nil {
		t.Fatal(err)
	}
	type result struct {
		id  string
		err error
	}
	results := make(chan result, 2)
	start := make(chan struct{})
	for id, a := range agents {
		go func() {
			<-start
			results <- result{id, a.panel.Do(h.ctx, http.MethodPost, "/api/v1/callbacks/"+cb.ID+"/assign", nil, nil)}
		}()
	}
	close(start)
	var winner, loser string
	for range 2 {
		r := <-results
		var se *agent.StatusError
		switch {
		case r.err == nil:
			winner = r.id
		case errors.As(r.err, &se) && se.Code == 409:
			loser = r.id
		default:
			t.Fatalf("%s: assign: %v", r.id, r.err)
		}
	}
	if winner == "" || loser == "" {
		t.Fatalf("winner %q, loser %q: want exactly one of each", winner, loser)
	}
	_, err := agents[loser].panel.CallCallback(h.ctx, cb.ID)
	wantStatus(t, err, 409, "the loser calls")
	h.noInvite("the loser's call")

	a := agents[winner]
	out, err := a.panel.CallCallback(h.ctx, cb.ID)
	if err != nil {
		t.Fatal(err)
	}
	in := h.nextIncoming()
	if u, from := in.Request().Recipient.User, in.Request().From().Address.User; u != "+15557770002" || from != "+15550100" {
		t.Errorf("INVITE to %s from %s, want +15557770002 from +15550100", u, from)
	}
	h.waitCallback(cb.ID, "active", 5*time.Second, func(c store.Callback) bool { return c.Status == store.CallbackActive })
	fc, err := in.Answer(siptest.AnswerOptions{ToneHz: farHz})
	if err != nil {
		t.Fatal(err)
	}
	a.next("call.answered", 5*time.Second)
	waitTone(t, fc, agentHz, "the customer hears the agent")
	a.hears(farHz, "the customer")

	other := agents[loser]
	other.setStatus(h.ctx, "available")
	if _, err := a.panel.Transfer(h.ctx, out.CallID, map[string]string{"agent": loser}); err != nil {
		t.Fatal(err)
	}
	offer := other.next("call.offered", 5*time.Second)
	if err := other.panel.Answer(h.ctx, offer.Field("call_id")); err != nil {
		t.Fatalf("%s answers the transferred callback call: %v", loser, err)
	}
	other.next("call.answered", 5*time.Second)
	other.hears(farHz, "the transferred customer")
	if c := h.waitCallback(cb.ID, "active", time.Second, func(store.Callback) bool { return true }); c.Status != store.CallbackActive {
		t.Errorf("while the customer talks to %s: %s, want active", loser, c.Status)
	}
	if err := fc.Hangup(h.ctx); err != nil {
		t.Fatal(err)
	}
	other.next("call.ended", 5*time.Second)
	done := h.waitCallback(cb.ID, "done", 5*time.Second, func(c store.Callback) bool { return c.Status == store.CallbackDone })
	if done.AgentID != winner || done.AttemptsMade != 1 {
		t.Errorf("done request %+v, want one attempt by %s", done, winner)
	}
}

// BenchmarkCallbackDial measures issue 14's figure: from the agent's answer
// to an automated callback's offer (POST .../answer) to the customer's
// INVITE at the far end. Each attempt is refused (486) and, with no
// retries, closes the request; the next iteration requests a new one.
func BenchmarkCallbackDial(b *testing.B) {
	h := outboundHarness(b, func(c *config.Config) {
		cb := c.Callbacks["support-callback"]
		zero := 0
		cb.Retries = &zero
		c.Callbacks["support-callback"] = cb
	})
	a1 := h.login("agent1", "agent1-token")
	var took []time.Duration
	b.ResetTimer()
	for i := range b.N {
		b.StopTimer()
		if _, err := h.node.contact.acd.RequestCallback(h.ctx, acd.CallbackRequest{Config: "support-callback",
			Number: fmt.Sprintf("+1555777%04d", i%10000)}); err != nil {
			b.Fatal(err)
		}
		offer := a1.next("call.offered", 5*time.Second)
		b.StartTimer()
		start := time.Now()
		if err := a1.panel.Answer(h.ctx, offer.Field("call_id")); err != nil {
			b.Fatal(err)
		}
		in := h.nextIncoming()
		took = append(took, time.Since(start))
		b.StopTimer()
		if err := in.Reject(486, "Busy Here"); err != nil {
			b.Fatal(err)
		}
		a1.next("call.failed", 5*time.Second)
		a1.waitSystem("")
		b.StartTimer()
	}
	b.StopTimer()
	slices.Sort(took)
	b.ReportMetric(float64(took[len(took)/2].Microseconds())/1000, "p50-ms")
	b.ReportMetric(float64(took[len(took)*99/100].Microseconds())/1000, "p99-ms")
}

// TestCallbackRetryAcrossRestart: an automated callback's first attempt is
// not answered (480) and the node stops while the request waits for its
// 10 s retry delay. A new node on the same database, with agent1 available
// at once, does not offer it before it is due; at its due time it is
// offered, dialled, answered, and done.
func TestCallbackRetryAcrossRestart(t *testing.T) {
	db := filepath.Join(t.TempDir(), "switchboard.db")
	h := newHarness(t, func(c *config.Config) {
		fromFile(t, "../../testdata/config/contact-center.yaml", voiceToFarEnd)(c)
		c.Storage.Database = "sqlite://" + db // the harness's part: kept across the restart
	})
	a1 := h.login("agent1", "agent1-token")
	cb, err := h.node.contact.acd.RequestCallback(h.ctx, acd.CallbackRequest{Config: "support-callback", Number: "+15557770003"})
	if err != nil {
		t.Fatal(err)
	}
	offer := a1.next("call.offered", 5*time.Second)
	if err := a1.panel.Answer(h.ctx, offer.Field("call_id")); err != nil {
		t.Fatal(err)
	}
	if err := h.nextIncoming().Reject(480, "Temporarily Unavailable"); err != nil {
		t.Fatal(err)
	}
	failedAt := time.Now()
	waiting := h.waitCallback(cb.ID, "no_reply", 5*time.Second, func(c store.Callback) bool { return c.Status == store.CallbackNoReply })
	if d := waiting.NextAttemptAt.Sub(waiting.Attempts[0].At); d != 10*time.Second {
		t.Errorf("next attempt %v after the first, want the 10 s retry delay", d)
	}

	sctx, scancel := context.WithTimeout(h.ctx, 10*time.Second)
	h.node.shutdown(sctx)
	scancel()
	h.node, err = startNodeWith(h.ctx, h.cfg, testLogger(t, h.logs), h.opts)
	if err != nil {
		t.Fatalf("restart: %v", err)
	}
	a1, status := h.connect("agent1", "agent1-token")
	if status != "available" { // the store kept it
		t.Fatalf("agent1 is %s after the restart, want available as it was", status)
	}
	offer = a1.next("call.offered", 15*time.Second)
	if since := time.Since(failedAt); since < 9*time.Second {
		t.Errorf("offered %v after the failed attempt, before its 10 s retry delay", since.Round(time.Millisecond))
	}
	if offer.Field("callback_id") != cb.ID {
		t.Fatalf("offer %s after the restart, want callback %s", offer.Data, cb.ID)
	}
	if err := a1.panel.Answer(h.ctx, offer.Field("call_id")); err != nil {
		t.Fatal(err)
	}
	fc, err := h.nextIncoming().Answer(siptest.AnswerOptions{ToneHz: farHz})
	if err != nil {
		t.Fatal(err)
	}
	a1.next("call.answered", 5*time.Second)
	a1.hears(farHz, "the customer")
	if err := fc.Hangup(h.ctx); err != nil {
		t.Fatal(err)
	}
	done := h.waitCallback(cb.ID, "done", 5*time.Second, func(c store.Callback) bool { return c.Status == store.CallbackDone })
	if done.AttemptsMade != 2 {
		t.Errorf("attempts %d, want 2", done.AttemptsMade)
	}
}
