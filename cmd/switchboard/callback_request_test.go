package main

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/switchboard-voice/switchboard/call"
	"github.com/switchboard-voice/switchboard/config"
	"github.com/switchboard-voice/switchboard/dialplan"
	"github.com/switchboard-voice/switchboard/sip/siptest"
	"github.com/switchboard-voice/switchboard/store"
)

// testCallbacks stands for the ACD's callback requests: it records each
// request and answers with a confirmation file, or with err.
type testCallbacks struct {
	err  error
	mu   sync.Mutex
	reqs []string // "name queue caller"
}

func (cb *testCallbacks) Request(_ context.Context, c *call.Call, name, queue string) (dialplan.CallbackConfirmation, error) {
	cb.mu.Lock()
	defer cb.mu.Unlock()
	cb.reqs = append(cb.reqs, name+" "+queue+" "+c.Inbound().From().Number)
	if cb.err != nil {
		return dialplan.CallbackConfirmation{}, cb.err
	}
	return dialplan.CallbackConfirmation{File: audioDir + "tone-1500.wav"}, nil
}

func (cb *testCallbacks) requests() []string {
	cb.mu.Lock()
	defer cb.mu.Unlock()
	return append([]string(nil), cb.reqs...)
}

// waitingQueues stands for the ACD's queues: no agent is ever found; each
// ticket records how its caller left ("leave", or the LeaveFor reason).
type waitingQueues struct {
	mu   sync.Mutex
	left []string
}

func (q *waitingQueues) Enqueue(context.Context, string, *call.Call) (dialplan.Ticket, error) {
	return &waitingTicket{q: q}, nil
}

func (q *waitingQueues) leaves() []string {
	q.mu.Lock()
	defer q.mu.Unlock()
	return append([]string(nil), q.left...)
}

type waitingTicket struct {
	q    *waitingQueues
	once sync.Once
}

func (t *waitingTicket) Found() <-chan call.Assignment { return nil }
func (t *waitingTicket) Leave()                        { t.LeaveFor("leave") }
func (t *waitingTicket) LeaveFor(reason string) {
	t.once.Do(func() {
		t.q.mu.Lock()
		t.q.left = append(t.q.left, reason)
		t.q.mu.Unlock()
	})
}

// callbackWaiting is waitingConfig with key 1 of the announcement asking
// for a callback of support-callback.
func callbackWaiting(c *config.Config) {
	waitingConfig(0)(c)
	ws := c.WaitingStrategies["default"]
	ws.Announcement.ResponseCodes = map[string]config.ResponseCode{"1": {Callback: "support-callback"}}
	c.WaitingStrategies["default"] = ws
}

// pressDuringAnnouncement waits for the announcement (1100 Hz) and presses
// key 1 while it plays.
func pressDuringAnnouncement(t testing.TB, h *harness, c *siptest.Call) {
	t.Helper()
	waitToneBy(t, c, 700, 4*time.Second, "music")
	waitToneBy(t, c, 1100, 6*time.Second, "announcement")
	if err := c.SendDTMF(h.ctx, '1', 100*time.Millisecond); err != nil && !endsSoon(c.Ended()) {
		t.Fatal(err)
	}
}

// TestCallbackRequestedInQueue: the caller presses 1 during the
// announcement; the callback is requested for its queue and number, the
// caller leaves the queue as a callback (not abandoned), hears the
// confirmation (1500 Hz) without the music, and the switch ends the call
// normally (a BYE without a Reason, not 480).
func TestCallbackRequestedInQueue(t *testing.T) {
	q, cb := &waitingQueues{}, &testCallbacks{}
	h := newHarnessWith(t, callbackWaiting, nodeOptions{Queues: q, Callbacks: cb})
	c, err := h.caller.Invite(h.ctx, h.target("+15550100"), siptest.InviteOptions{ToneHz: callerHz})
	if err != nil || c.Status() != 200 {
		t.Fatalf("invite: %v (status %d)", err, c.Status())
	}
	pressDuringAnnouncement(t, h, c)
	heardAlone(t, c, 1500, 700, 3*time.Second, "the confirmation")
	waitEnded(t, c, "caller")
	// A normal end carries no Reason; a failure (480) would.
	if bye := c.Bye(); bye == nil || reasons(bye) != "" {
		t.Errorf("BYE, want one from the switch without a Reason (normal clearing):\n%v", bye)
	}
	if got := cb.requests(); len(got) != 1 || !strings.HasPrefix(got[0], "support-callback support ") {
		t.Errorf("requests %q, want one of support-callback for queue support", got)
	}
	if got := q.leaves(); len(got) != 1 || got[0] != dialplan.LeaveCallback {
		t.Errorf("left the queue as %q, want [%s]", got, dialplan.LeaveCallback)
	}
}

// TestCallbackRequestFailsCallerWaits: when the request fails, or the
// switch takes no callback requests, the key is ignored: the caller keeps
// its place, hearing the music, and nothing ends the call.
func TestCallbackRequestFailsCallerWaits(t *testing.T) {
	for _, tc := range []struct {
		name string
		cb   *testCallbacks
		log  string
	}{
		{"request fails", &testCallbacks{err: errors.New("store down")}, "callback request failed"},
		{"no callbacks", nil, "callback key ignored"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			q := &waitingQueues{}
			o := nodeOptions{Queues: q}
			if tc.cb != nil {
				o.Callbacks = tc.cb
			}
			h := newHarnessWith(t, callbackWaiting, o)
			c, err := h.caller.Invite(h.ctx, h.target("+15550100"), siptest.InviteOptions{ToneHz: callerHz})
			if err != nil || c.Status() != 200 {
				t.Fatalf("invite: %v (status %d)", err, c.Status())
			}
			pressDuringAnnouncement(t, h, c)
			deadline := time.Now().Add(5 * time.Second)
			for !strings.Contains(h.logs.String(), tc.log) && time.Now().Before(deadline) {
				time.Sleep(20 * time.Millisecond)
			}
			if !strings.Contains(h.logs.String(), tc.log) {
				t.Fatalf("log lacks %q", tc.log)
			}
			heardAlone(t, c, 700, 1500, 4*time.Second, "the music again, no confirmation")
			if endsSoon(c.Ended()) {
				t.Fatalf("the call ended: %v", c.Bye())
			}
			if tc.cb != nil && len(tc.cb.requests()) != 1 {
				t.Errorf("requests %q, want the one that failed", tc.cb.requests())
			}
			if got := q.leaves(); len(got) != 0 {
				t.Errorf("left the queue as %q while still waiting", got)
			}
			if err := c.Hangup(h.ctx); err != nil {
				t.Fatal(err)
			}
		})
	}
}

// TestCallbackRequestedFromGather: the away message's branch 1 requests a
// callback of support-manual (no queue): the caller hears the confirmation
// and the call ends normally. Without callback requests the key counts as
// no branch: the gather's default flow ends the call with 480 Closed.
func TestCallbackRequestedFromGather(t *testing.T) {
	away := func(c *config.Config) {
		c.Flows = map[string][]config.Action{
			"out": {
				{Answer: &config.AnswerAction{}},
				{Gather: &config.GatherAction{Prompt: audioDir + "tone-900.wav", Timeout: 2 * time.Second,
					Branches: map[string]config.ResponseCode{"1": {Callback: "support-manual"}}, Default: "closed", NoInput: "closed"}},
			},
			"closed": {{Hangup: &config.HangupAction{Code: 480, Reason: "Closed"}}},
		}
	}
	for _, tc := range []struct {
		name   string
		cb     *testCallbacks
		reason string
	}{
		{"requested", &testCallbacks{}, ""}, // normal clearing: no Reason
		{"no callbacks", nil, `SIP;cause=480;text="Closed"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			o := nodeOptions{Queues: &waitingQueues{}}
			if tc.cb != nil {
				o.Callbacks = tc.cb
			}
			h := newHarnessWith(t, away, o)
			c, err := h.caller.Invite(h.ctx, h.target("+15550100"), siptest.InviteOptions{ToneHz: callerHz})
			if err != nil || c.Status() != 200 {
				t.Fatalf("invite: %v (status %d)", err, c.Status())
			}
			waitToneBy(t, c, 900, 2*time.Second, "away message")
			if err := c.SendDTMF(h.ctx, '1', 100*time.Millisecond); err != nil && !endsSoon(c.Ended()) {
				t.Fatal(err)
			}
			if tc.cb != nil {
				c.ResetAudio()
				waitToneBy(t, c, 1500, 3*time.Second, "the confirmation")
			}
			waitEnded(t, c, "caller")
			if bye := c.Bye(); bye == nil || reasons(bye) != tc.reason {
				t.Errorf("BYE, want Reason %q:\n%v", tc.reason, bye)
			}
			if tc.cb != nil {
				if got := tc.cb.requests(); len(got) != 1 || !strings.HasPrefix(got[0], "support-manual  ") {
					t.Errorf("requests %q, want one of support-manual without a queue", got)
				}
			}
		})
	}
}

// TestCallbackRequestStoredByACD: testdata/config/contact-center.yaml, whose
// key 1 of the announcement asks for a support-callback (the announcement
// here every 3 s instead of 10): the caller's
// request is stored by the ACD (in queue, the caller's number, its queue,
// enqueue time and conversation), the caller hears the confirmation and
// the call's record says callback, not abandoned.
func TestCallbackRequestStoredByACD(t *testing.T) {
	h := newHarness(t, fromFile(t, "../../testdata/config/contact-center.yaml", announceEvery3s))
	c := h.requestCallbackByPhone("+15557770001")
	cbs, err := h.node.contact.acd.Callbacks(h.ctx, store.CallbackFilter{})
	if err != nil {
		t.Fatal(err)
	}
	if len(cbs) != 1 || cbs[0].Status != store.CallbackInQueue || cbs[0].Queue != "support" ||
		cbs[0].Config != "support-callback" || cbs[0].Number != "+15557770001" || cbs[0].ConversationID == "" {
		t.Fatalf("callbacks %+v, want one in queue for support-callback with the caller's number and conversation", cbs)
	}
	rec, err := h.node.contact.store.GetCallRecord(h.ctx, c.CallID())
	if err != nil {
		t.Fatal(err)
	}
	if rec.Result != "callback" {
		t.Errorf("call record result %q, want callback", rec.Result)
	}
}

// announceEvery3s plays the reference config's announcement (whose key 1
// asks for a support-callback) every 3 s instead of 10.
func announceEvery3s(c *config.Config) {
	ws := c.WaitingStrategies["default"]
	ws.Announcement.Every = 3 * time.Second
	c.WaitingStrategies["default"] = ws
}

// requestCallbackByPhone calls the reference config's +15550100 from
// number, presses 1 during the announcement, hears the confirmation and
// waits for the switch to end the call, which it returns.
func (h *harness) requestCallbackByPhone(number string) *siptest.Call {
	h.t.Helper()
	c, err := h.caller.Invite(h.ctx, h.target("+15550100"), siptest.InviteOptions{ToneHz: callerHz, From: number})
	if err != nil || c.Status() != 200 {
		h.t.Fatalf("invite: %v (status %d)", err, c.Status())
	}
	pressDuringAnnouncement(h.t, h, c)
	heardAlone(h.t, c, 1500, 700, 3*time.Second, "the confirmation")
	waitEnded(h.t, c, "caller")
	return c
}
