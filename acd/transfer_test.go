package acd

import (
	"context"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/switchboard-voice/switchboard/call"
	"github.com/switchboard-voice/switchboard/store"
)

// fakeCalls is acd.Calls without a switch: no music, and every number
// reached through one dialer.
type fakeCalls struct {
	timeout time.Duration
	closed  string // a schedule that is closed; every other is open
}

func (fakeCalls) HoldMusic(context.Context, string) *call.Music  { return nil }
func (fakeCalls) TransferMusic(context.Context) *call.Music      { return nil }
func (fakeCalls) QueueMusic(context.Context, string) *call.Music { return nil }
func (f fakeCalls) TransferTimeout() time.Duration               { return f.timeout }
func (fakeCalls) External(_ context.Context, number, from string) (call.Dialer, call.DialRequest, error) {
	return nil, call.DialRequest{To: number, From: call.Party{Number: from}}, nil
}

func (fakeCalls) Outbound(_ context.Context, number, from string) (call.Dialer, call.DialRequest, error) {
	return nil, call.DialRequest{}, errors.New("no outbound calls without a switch")
}
func (fakeCalls) NewCall(context.Context, call.Leg, string) *call.Call { return nil }
func (fakeCalls) Ringback() *call.Music                                { return nil }
func (f fakeCalls) ScheduleOpen(name string, _ time.Time) bool         { return name != f.closed }

func withCalls(timeout time.Duration) func(*Options) {
	return func(o *Options) { o.Calls = fakeCalls{timeout: timeout} }
}

// TestTransferToAgentAndBack: a's caller goes to b: a is in wrap-up at
// once and its leg released; b is offered the call as "transferred"; b
// declines and a is rung again (transfer.failed); a answers and its new leg
// joins the call.
func TestTransferToAgentAndBack(t *testing.T) {
	e := newEnv(t, withCalls(30*time.Second), noHeartbeat)
	e.queue("q", LongestIdle)
	e.agent("a", "available", "q")
	c := newCall("c1", "+15550001", "")
	e.enqueue("q", c)
	e.answer("a", "c1")
	e.agent("b", "available", "q")
	evA, stopA := e.a.Subscribe("a")
	defer stopA()
	evB, stopB := e.a.Subscribe("b")
	defer stopB()

	id, err := e.a.Transfer(e.ctx, "a", "c1", TransferTarget{Agent: "b"})
	e.must(err)
	if ev := next(t, evA, EventTransferStarted); ev.Data.(TransferData).TransferID != id {
		t.Errorf("transfer.started %+v, want id %s", ev.Data, id)
	}
	e.wantSystem("a", SystemWrapUp)
	offer := next(t, evB, EventCallOffered).Data.(OfferData)
	if offer.Type != CallTransferred || offer.TransferredBy != "Agent a" {
		t.Errorf("b's offer %+v, want transferred by Agent a", offer)
	}
	if got := c.partyCalls(); !slices.Equal(got, []string{"release:agent-a-c1"}) {
		t.Errorf("party commands %v, want a's leg released", got)
	}
	if calls := e.a.LiveCalls(); len(calls) != 1 || calls[0].State != "transferring" || calls[0].Transfer.Target != "b" {
		t.Errorf("live calls %+v, want c1 transferring to b", calls)
	}

	e.must(e.a.Decline(e.ctx, "b", "c1"))
	if ev := next(t, evA, EventTransferFailed); ev.Data.(TransferData).Cause != "declined" {
		t.Errorf("transfer.failed %+v, want cause declined", ev.Data)
	}
	if got := e.ringing("a"); got != "c1" {
		t.Fatalf("after the failed transfer a rings for %q, want c1", got)
	}
	e.answer("a", "c1")
	if got := c.partyCalls(); len(got) != 2 || got[1] != "join:agent-a-c1" {
		t.Errorf("party commands %v, want a's new leg joined", got)
	}
	e.wantSystem("a", SystemOnCall)
}

// TestTransferTimesOut: a transfer to a queue nobody answers in
// transfers.timeout goes back to the transferring agent.
func TestTransferTimesOut(t *testing.T) {
	e := newEnv(t, withCalls(20*time.Second), noHeartbeat)
	e.queue("q", LongestIdle)
	e.queue("sales", LongestIdle)
	e.agent("a", "available", "q")
	c := newCall("c1", "+15550001", "")
	e.enqueue("q", c)
	e.answer("a", "c1")
	evA, stop := e.a.Subscribe("a")
	defer stop()
	_, err := e.a.Transfer(e.ctx, "a", "c1", TransferTarget{Queue: "sales"})
	e.must(err)
	e.clock.Advance(19 * time.Second)
	e.a.Tick()
	if e.ringing("a") != "" {
		t.Fatal("a rung back before the time-out")
	}
	e.clock.Advance(2 * time.Second)
	e.a.Tick()
	if ev := next(t, evA, EventTransferFailed); ev.Data.(TransferData).Cause != "timeout" {
		t.Errorf("transfer.failed %+v, want cause timeout", ev.Data)
	}
	if got := e.ringing("a"); got != "c1" {
		t.Fatalf("after the time-out a rings for %q, want c1", got)
	}
}

// TestTransferRefused: each bad target gets its error and changes nothing.
func TestTransferRefused(t *testing.T) {
	e := newEnv(t, withCalls(0), noHeartbeat)
	e.queue("q", LongestIdle)
	e.queue("manual", LongestIdle, func(q *store.Queue) { q.AutoAssign = false })
	e.queue("other", LongestIdle)
	e.agent("a", "available", "q")
	e.agent("away", "away", "q")
	e.agent("x", "available", "other")
	c := newCall("c1", "+15550001", "")
	e.enqueue("q", c)
	e.answer("a", "c1")
	for _, tc := range []struct {
		t    TransferTarget
		want error
	}{
		{TransferTarget{}, ErrInvalid},
		{TransferTarget{Agent: "x", Queue: "q"}, ErrInvalid},
		{TransferTarget{Agent: "a"}, ErrInvalid},
		{TransferTarget{Agent: "nobody"}, ErrNotFound},
		{TransferTarget{Agent: "x"}, ErrForbidden},
		{TransferTarget{Agent: "away"}, ErrState},
		{TransferTarget{Queue: "nope"}, ErrNotFound},
		{TransferTarget{Queue: "manual"}, ErrForbidden},
		{TransferTarget{Number: "1555"}, ErrInvalid},
	} {
		if _, err := e.a.Transfer(e.ctx, "a", "c1", tc.t); !errors.Is(err, tc.want) {
			t.Errorf("Transfer(%+v) = %v, want %v", tc.t, err, tc.want)
		}
	}
	if _, err := e.a.Transfer(e.ctx, "x", "c1", TransferTarget{Queue: "other"}); !errors.Is(err, ErrForbidden) {
		t.Errorf("another agent's call: %v, want ErrForbidden", err)
	}
	e.wantSystem("a", SystemOnCall)
	if got := c.partyCalls(); len(got) != 0 {
		t.Errorf("refused transfers moved parties: %v", got)
	}
	tt, err := e.a.TransferTargets("a", "c1")
	e.must(err)
	if len(tt.Agents) != 1 || tt.Agents[0].ID != "away" || tt.Agents[0].Available {
		t.Errorf("targets' agents %+v, want away (not available)", tt.Agents)
	}
	if len(tt.Queues) != 2 || tt.Queues[0].Name != "other" || tt.Queues[1].Name != "q" {
		t.Errorf("targets' queues %+v, want other and q (auto-assign on)", tt.Queues)
	}
	if tt.AllowManualNumbers {
		t.Error("targets allow manual numbers by default")
	}
	e.a.SetAllowManualNumbers(true)
	if tt, err = e.a.TransferTargets("a", "c1"); err != nil || !tt.AllowManualNumbers {
		t.Errorf("with transfers.allow_manual_numbers the targets say %+v (%v), want allow_manual_numbers", tt, err)
	}
}

// TestTransferToNumber: the external leg answers: the ACD lets the call go
// (record transferred); a failure rings the agent again.
func TestTransferToNumber(t *testing.T) {
	e := newEnv(t, withCalls(0), noHeartbeat)
	e.queue("q", LongestIdle)
	e.agent("a", "available", "q")
	c := newCall("c1", "+15550001", "")
	e.enqueue("q", c)
	e.answer("a", "c1")
	_, err := e.a.CreateContact(e.ctx, store.Contact{Name: "Escalations", Numbers: []string{"+15550142"},
		Tags: []string{TagExternalNumber}})
	e.must(err)
	if _, err := e.a.Transfer(e.ctx, "a", "c1", TransferTarget{Number: "+15550199"}); !errors.Is(err, ErrForbidden) {
		t.Errorf("a number outside the phone book: %v, want ErrForbidden", err)
	}
	c.dial = call.Busy
	evA, stop := e.a.Subscribe("a")
	defer stop()
	_, err = e.a.Transfer(e.ctx, "a", "c1", TransferTarget{Number: "+15550142", From: "+15550100"})
	e.must(err)
	if ev := next(t, evA, EventTransferFailed); ev.Data.(TransferData).Code != 486 {
		t.Errorf("transfer.failed %+v, want code 486", ev.Data)
	}
	eventually(t, "a rung back", func() bool { return e.ringing("a") == "c1" })
	e.answer("a", "c1")
	c.dial = nil
	_, err = e.a.Transfer(e.ctx, "a", "c1", TransferTarget{Number: "+15550142"})
	e.must(err)
	next(t, evA, EventTransferSucceeded)
	eventually(t, "record transferred", func() bool { return e.record("c1").Result == resultTransferred })
	if got := c.partyCalls(); !slices.Contains(got, "dial:+15550142") {
		t.Errorf("party commands %v, want a dial to +15550142", got)
	}
}

// TestLeaveForCallback: a caller who asks for a callback while an offer
// rings leaves without being abandoned: the agent is released, the record
// says callback, the queue's abandon count does not move.
func TestLeaveForCallback(t *testing.T) {
	e := newEnv(t, noHeartbeat)
	e.queue("q", LongestIdle)
	e.agent("a", "available", "q")
	tk := e.enqueue("q", newCall("c1", "+15550001", ""))
	if e.ringing("a") != "c1" {
		t.Fatal("c1 not offered to a")
	}
	tk.LeaveFor("callback")
	e.wantSystem("a", SystemIdle)
	if r := e.record("c1"); r.Result != resultCallback {
		t.Errorf("record result %q, want callback", r.Result)
	}
	st, err := e.a.Stats("q")
	e.must(err)
	if st.Abandoned != 0 {
		t.Errorf("abandoned %d, want 0", st.Abandoned)
	}
	tk.LeaveFor("callback") // idempotent
}

// TestTransferTargetMediaFails: the target agent answers but its media
// fails: it is idle again (not left ringing) and the transferring agent is
// rung again.
func TestTransferTargetMediaFails(t *testing.T) {
	e := newEnv(t, withCalls(30*time.Second), noHeartbeat)
	e.queue("q", LongestIdle)
	e.agent("a", "available", "q")
	e.enqueue("q", newCall("c1", "+15550001", ""))
	e.answer("a", "c1")
	e.agent("b", "available", "q")
	_, err := e.a.Transfer(e.ctx, "a", "c1", TransferTarget{Agent: "b"})
	e.must(err)
	e.media.failFor("b", errors.New("no session"))
	wantErr(t, e.a.Answer(e.ctx, "b", "c1"), ErrMedia)
	e.wantSystem("b", SystemIdle)
	if got := e.ringing("a"); got != "c1" {
		t.Fatalf("after the target's media failed a rings for %q, want c1", got)
	}
}
