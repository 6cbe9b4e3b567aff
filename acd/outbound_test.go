package acd

import (
	"fmt"
	"testing"
	"time"

	"github.com/switchboard-voice/switchboard/store"
)

// callbackAndCall puts a callback request (enqueued first) and then a
// call in queue q while agent a is away, and returns the request and the
// call's id. The config "cb" has the given priority and schedule.
func callbackAndCall(t *testing.T, e *env, priority, schedule string) (store.Callback, string) {
	t.Helper()
	_, err := e.a.CreateCallbackConfig(e.ctx, store.CallbackConfig{Name: "cb", Type: "automated", Queue: "q",
		Priority: priority, Schedule: schedule})
	e.must(err)
	cb, err := e.a.RequestCallback(e.ctx, CallbackRequest{Config: "cb", Number: "+15550142"})
	e.must(err)
	e.clock.Advance(time.Second)
	e.enqueue("q", newCall("c1", "+15550001", ""))
	return cb, "c1"
}

// TestCallbackPriorityModes: with one waiting call and one automated
// callback requested before it, inbound_first offers the call first and
// queue_position the callback (its original place); either way the other
// is offered next.
func TestCallbackPriorityModes(t *testing.T) {
	for _, tc := range []struct{ priority, first string }{
		{CallbackInboundFirst, "call"},
		{CallbackQueuePosition, "callback"},
	} {
		t.Run(tc.priority, func(t *testing.T) {
			e := newEnv(t, withCalls(30*time.Second), noHeartbeat)
			e.queue("q", LongestIdle)
			e.agent("a", "away", "q")
			ev, stop := e.a.Subscribe("a")
			defer stop()
			cb, callID := callbackAndCall(t, e, tc.priority, "")
			e.must(e.a.SetStatus(e.ctx, "a", "available"))
			offer := next(t, ev, EventCallOffered).Data.(OfferData)
			got := "call"
			if offer.Type == CallCallback {
				got = "callback"
				if offer.CallbackID != cb.ID || offer.CustomerNumber != "+15550142" {
					t.Errorf("callback offer %+v, want request %s to +15550142", offer, cb.ID)
				}
			} else if offer.CallID != callID {
				t.Errorf("offered %s, want %s", offer.CallID, callID)
			}
			if got != tc.first {
				t.Fatalf("%s: offered the %s first, want the %s", tc.priority, got, tc.first)
			}
			e.must(e.a.Decline(e.ctx, "a", offer.CallID))
			// Declined: the other is offered next (to the same agent:
			// the declined one is not offered to it again).
			second := next(t, ev, EventCallOffered).Data.(OfferData)
			if second.CallID == offer.CallID {
				t.Fatalf("the declined %s was offered again", offer.CallID)
			}
		})
	}
}

// TestCallbackNotOfferedOutsideSchedule: a callback whose schedule is
// closed waits while the call queued after it is offered.
func TestCallbackNotOfferedOutsideSchedule(t *testing.T) {
	e := newEnv(t, func(o *Options) { o.Calls = fakeCalls{timeout: time.Minute, closed: "office"} }, noHeartbeat)
	e.queue("q", LongestIdle)
	e.agent("a", "away", "q")
	ev, stop := e.a.Subscribe("a")
	defer stop()
	callbackAndCall(t, e, CallbackQueuePosition, "office")
	e.must(e.a.SetStatus(e.ctx, "a", "available"))
	if offer := next(t, ev, EventCallOffered).Data.(OfferData); offer.Type == CallCallback {
		t.Fatalf("the callback was offered outside its schedule: %+v", offer)
	}
	e.must(e.a.Decline(e.ctx, "a", "c1"))
	for _, x := range drain(ev) {
		if x.Type == EventCallOffered && x.Data.(OfferData).Type == CallCallback {
			t.Fatalf("the callback was offered outside its schedule: %+v", x.Data)
		}
	}
}

// TestAutomatedCallbacksSurviveRestart: requests in queue (and one that
// was being called when the switch stopped) are offered again by the next
// ACD on the same store.
func TestAutomatedCallbacksSurviveRestart(t *testing.T) {
	st := openStore(t, "sqlite://"+t.TempDir()+"/acd.db")
	clock := &fakeClock{t: t0}
	e := newEnvOn(t, st, clock, withCalls(time.Minute), noHeartbeat)
	e.queue("q", LongestIdle)
	e.agent("a", "away", "q")
	_, err := e.a.CreateCallbackConfig(e.ctx, store.CallbackConfig{Name: "cb", Type: "automated", Queue: "q"})
	e.must(err)
	var ids []string
	for i := range 2 {
		cb, err := e.a.RequestCallback(e.ctx, CallbackRequest{Config: "cb", Number: fmt.Sprintf("+1555014%d", i)})
		e.must(err)
		ids = append(ids, cb.ID)
	}
	_, err = e.a.CallbackDialing(e.ctx, ids[1], "a") // being called when the switch stops
	e.must(err)
	e.must(e.a.Close())

	e2 := newEnvOn(t, st, clock, withCalls(time.Minute), noHeartbeat)
	ev, stop := e2.a.Subscribe("a")
	defer stop()
	cb, err := e2.a.Callback(e2.ctx, ids[1])
	e2.must(err)
	if cb.Status != store.CallbackInQueue {
		t.Errorf("the request being called at the stop is %s after the restart, want in_queue", cb.Status)
	}
	e2.must(e2.a.SetStatus(e2.ctx, "a", "available"))
	seen := map[string]bool{}
	for range 2 {
		offer := next(t, ev, EventCallOffered).Data.(OfferData)
		seen[offer.CallbackID] = true
		e2.must(e2.a.Decline(e2.ctx, "a", offer.CallID))
	}
	if !seen[ids[0]] || !seen[ids[1]] {
		t.Errorf("offered after the restart: %v, want both %v", seen, ids)
	}
}

// TestAutomatedRetryOfferedAtDueTime: an automated request whose attempt
// failed waits its retry delay, across a restart, and only then is offered
// to the available agent again.
func TestAutomatedRetryOfferedAtDueTime(t *testing.T) {
	st := openStore(t, "sqlite://"+t.TempDir()+"/acd.db")
	clock := &fakeClock{t: t0}
	e := newEnvOn(t, st, clock, withCalls(time.Minute), noHeartbeat)
	e.queue("q", LongestIdle)
	e.agent("a", "away", "q")
	_, err := e.a.CreateCallbackConfig(e.ctx, store.CallbackConfig{Name: "cb", Type: "automated", Queue: "q",
		RetryDelay: 10 * time.Second, Retries: 1})
	e.must(err)
	cb, err := e.a.RequestCallback(e.ctx, CallbackRequest{Config: "cb", Number: "+15550142"})
	e.must(err)
	_, err = e.a.CallbackDialing(e.ctx, cb.ID, "a")
	e.must(err)
	_, err = e.a.CallbackAttempt(e.ctx, cb.ID, "a", 480, "Temporarily Unavailable", false)
	e.must(err)
	e.must(e.a.Close())

	clock.Advance(4 * time.Second)
	e2 := newEnvOn(t, st, clock, withCalls(time.Minute), noHeartbeat)
	ev, stop := e2.a.Subscribe("a")
	defer stop()
	e2.must(e2.a.SetStatus(e2.ctx, "a", "available"))
	for _, x := range drain(ev) {
		if x.Type == EventCallOffered {
			t.Fatalf("offered before its retry is due: %+v", x.Data)
		}
	}
	clock.Advance(6 * time.Second)
	e2.a.Tick()
	if offer := next(t, ev, EventCallOffered).Data.(OfferData); offer.CallbackID != cb.ID {
		t.Fatalf("offer %+v at the due time, want callback %s", offer, cb.ID)
	}
}

// TestCallbacksApartInStats: waiting callbacks count in the queue's
// callbacks, not among its waiting callers (nor the longest wait), and are
// not live calls.
func TestCallbacksApartInStats(t *testing.T) {
	e := newEnv(t, withCalls(time.Minute), noHeartbeat)
	e.queue("q", LongestIdle)
	callbackAndCall(t, e, CallbackQueuePosition, "")
	e.clock.Advance(time.Second)
	st, err := e.a.Stats("q")
	e.must(err)
	if st.Waiting != 1 || st.Callbacks != 1 || st.LongestWait != time.Second {
		t.Errorf("stats waiting %d callbacks %d longest %v, want 1, 1, 1s (the caller's)", st.Waiting, st.Callbacks, st.LongestWait)
	}
	if live := e.a.LiveCalls(); len(live) != 1 || live[0].CallID != "c1" {
		t.Errorf("live calls %+v, want the caller alone", live)
	}
}

// TestMissedCallbackOfferedAgain: a callback the only agent declined is
// not offered to it again at once, but is once the agent is available
// anew (a caller's misses last its call; a callback's would last for good).
func TestMissedCallbackOfferedAgain(t *testing.T) {
	e := newEnv(t, withCalls(time.Minute), noHeartbeat)
	e.queue("q", LongestIdle)
	e.agent("a", "away", "q")
	ev, stop := e.a.Subscribe("a")
	defer stop()
	_, err := e.a.CreateCallbackConfig(e.ctx, store.CallbackConfig{Name: "cb", Type: "automated", Queue: "q"})
	e.must(err)
	cb, err := e.a.RequestCallback(e.ctx, CallbackRequest{Config: "cb", Number: "+15550142"})
	e.must(err)
	e.must(e.a.SetStatus(e.ctx, "a", "available"))
	offer := next(t, ev, EventCallOffered).Data.(OfferData)
	e.must(e.a.Decline(e.ctx, "a", offer.CallID))
	if got := e.ringing("a"); got != "" {
		t.Fatalf("offered %s again right after the decline", got)
	}
	e.must(e.a.SetStatus(e.ctx, "a", "away"))
	e.must(e.a.SetStatus(e.ctx, "a", "available"))
	if again := next(t, ev, EventCallOffered).Data.(OfferData); again.CallbackID != cb.ID {
		t.Fatalf("offer %+v once available again, want callback %s", again, cb.ID)
	}
}

// TestCallbacksBeingCalledAtRestart: after a restart, a request whose
// customer had answered is done (its call died with the switch, the
// customer was reached) and a manual one being called is its agent's to
// call again (assigned).
func TestCallbacksBeingCalledAtRestart(t *testing.T) {
	st := openStore(t, "sqlite://"+t.TempDir()+"/acd.db")
	clock := &fakeClock{t: t0}
	e := newEnvOn(t, st, clock, withCalls(time.Minute), noHeartbeat)
	e.queue("q", LongestIdle)
	e.agent("a", "away", "q")
	for _, c := range []store.CallbackConfig{{Name: "auto", Type: "automated", Queue: "q"}, {Name: "man", Type: "manual", Queue: "q"}} {
		_, err := e.a.CreateCallbackConfig(e.ctx, c)
		e.must(err)
	}
	reached, err := e.a.RequestCallback(e.ctx, CallbackRequest{Config: "auto", Number: "+15550142"})
	e.must(err)
	_, err = e.a.CallbackDialing(e.ctx, reached.ID, "a")
	e.must(err)
	_, err = e.a.callbackAttempt(e.ctx, reached.ID, "a", 200, "OK", true, true)
	e.must(err)
	if got, _ := e.a.Callback(e.ctx, reached.ID); got.Status != store.CallbackActive {
		t.Fatalf("talking: %s, want active", got.Status)
	}
	manual, err := e.a.RequestCallback(e.ctx, CallbackRequest{Config: "man", Number: "+15550143"})
	e.must(err)
	_, err = e.a.AssignCallback(e.ctx, "a", manual.ID)
	e.must(err)
	_, err = e.a.CallbackDialing(e.ctx, manual.ID, "a")
	e.must(err)
	e.must(e.a.Close())

	e2 := newEnvOn(t, st, clock, withCalls(time.Minute), noHeartbeat)
	if got, _ := e2.a.Callback(e2.ctx, reached.ID); got.Status != store.CallbackDone {
		t.Errorf("reached request after the restart: %s, want done", got.Status)
	}
	if got, _ := e2.a.Callback(e2.ctx, manual.ID); got.Status != store.CallbackAssigned || got.AgentID != "a" {
		t.Errorf("manual request being called at the restart: %s (agent %q), want assigned to a", got.Status, got.AgentID)
	}
	st2, err := e2.a.Stats("q")
	e2.must(err)
	if st2.Callbacks != 0 {
		t.Errorf("%d callbacks in queue after the restart, want none (done, and a manual one)", st2.Callbacks)
	}
}

// TestDeleteQueueClosesItsCallbacks: waiting callbacks do not keep a queue
// from being deleted (callers do); they are closed with it.
func TestDeleteQueueClosesItsCallbacks(t *testing.T) {
	e := newEnv(t, withCalls(time.Minute), noHeartbeat)
	q := e.queue("q", LongestIdle)
	_, err := e.a.CreateCallbackConfig(e.ctx, store.CallbackConfig{Name: "cb", Type: "automated", Queue: "q"})
	e.must(err)
	cb, err := e.a.RequestCallback(e.ctx, CallbackRequest{Config: "cb", Number: "+15550142"})
	e.must(err)
	e.must(e.a.DeleteQueue(e.ctx, q.ID))
	got, err := e.a.Callback(e.ctx, cb.ID)
	e.must(err)
	if got.Status != store.CallbackNoReply || !got.NextAttemptAt.IsZero() {
		t.Errorf("callback of the deleted queue: %s next %v, want no_reply, closed", got.Status, got.NextAttemptAt)
	}
	if live := e.a.LiveCalls(); len(live) != 0 {
		t.Errorf("live calls %+v after the delete, want none", live)
	}
}

// TestRetryOfDeletedQueueCloses: a request waiting for its retry when its
// queue is deleted is closed at its due time, not put in_queue where
// nothing would offer it.
func TestRetryOfDeletedQueueCloses(t *testing.T) {
	e := newEnv(t, withCalls(time.Minute), noHeartbeat)
	q := e.queue("q", LongestIdle)
	_, err := e.a.CreateCallbackConfig(e.ctx, store.CallbackConfig{Name: "cb", Type: "automated", Queue: "q",
		RetryDelay: 10 * time.Second})
	e.must(err)
	cb, err := e.a.RequestCallback(e.ctx, CallbackRequest{Config: "cb", Number: "+15550142"})
	e.must(err)
	_, err = e.a.CallbackDialing(e.ctx, cb.ID, "someone")
	e.must(err)
	_, err = e.a.CallbackAttempt(e.ctx, cb.ID, "someone", 480, "Temporarily Unavailable", false)
	e.must(err)
	e.must(e.a.DeleteQueue(e.ctx, q.ID))
	e.clock.Advance(10 * time.Second)
	e.a.Tick()
	got, err := e.a.Callback(e.ctx, cb.ID)
	e.must(err)
	if got.Status != store.CallbackNoReply || !got.NextAttemptAt.IsZero() {
		t.Errorf("at its due time after its queue was deleted: %s next %v, want no_reply, closed", got.Status, got.NextAttemptAt)
	}
}

// TestRefusedTransferAddsNoNumber: with manual numbers allowed, a transfer
// refused for its call (not the agent's in progress) adds nothing to the
// phone book; one accepted adds its number.
func TestRefusedTransferAddsNoNumber(t *testing.T) {
	e := newEnv(t, withCalls(time.Minute), noHeartbeat)
	e.queue("q", LongestIdle)
	e.agent("a", "available", "q")
	e.a.SetAllowManualNumbers(true)
	_, err := e.a.Transfer(e.ctx, "a", "no-such-call", TransferTarget{Number: "+15550199"})
	if err == nil {
		t.Fatal("a transfer of no call was accepted")
	}
	if cs, _ := e.a.Contacts(e.ctx, store.ContactFilter{}); len(cs) != 0 {
		t.Errorf("phone book after a refused transfer: %+v, want empty", cs)
	}
	e.enqueue("q", newCall("c1", "+15550001", ""))
	e.answer("a", "c1")
	if _, err := e.a.Transfer(e.ctx, "a", "c1", TransferTarget{Number: "+15550199"}); err != nil {
		t.Fatal(err)
	}
	if cs, _ := e.a.Contacts(e.ctx, store.ContactFilter{}); len(cs) != 1 || cs[0].Numbers[0] != "+15550199" {
		t.Errorf("phone book after an accepted transfer: %+v, want +15550199", cs)
	}
}
