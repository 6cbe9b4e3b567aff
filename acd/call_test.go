package acd

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/switchboard-voice/switchboard/call"
	"github.com/switchboard-voice/switchboard/store"
)

func TestAnswerHandsTheAgentLegToTheTicket(t *testing.T) {
	e := newEnv(t)
	e.queue("q", LongestIdle)
	e.agent("a", "available", "q")
	evA, _ := e.a.Subscribe("a")
	c := newCall("c1", "+15550001", "")
	tk := e.enqueue("q", c)
	e.clock.Advance(7 * time.Second)
	e.answer("a", "c1")

	var as call.Assignment
	select {
	case as = <-tk.Found():
	default:
		t.Fatal("Answer returned but the ticket has no assignment")
	}
	if as.Agent != "a" || as.Dialer == nil {
		t.Fatalf("assignment %+v", as)
	}
	leg, err := as.Dialer.Dial(e.ctx, call.DialRequest{})
	e.must(err)
	if leg != call.Leg(e.media.leg("c1")) {
		t.Fatalf("the dialer hands back %v, not the attached leg", leg)
	}
	tk.Leave() // the dialplan leaves once found: no abandonment
	e.wantSystem("a", SystemOnCall)
	next(t, evA, EventCallAnswered)
	r := e.record("c1")
	if r.AgentID != "a" || !r.Answered.Equal(t0.Add(7*time.Second)) || r.Result != "" || !r.Ended.IsZero() {
		t.Fatalf("record %+v", r)
	}
	conv, err := e.st.GetConversation(e.ctx, tk.ConversationID())
	e.must(err)
	if conv.AgentID != "a" {
		t.Fatalf("conversation %+v not assigned to a", conv)
	}
	// The caller hangs up: the agent's leg is hung up, wrap-up starts.
	e.clock.Advance(time.Minute)
	c.hangup()
	ws := next(t, evA, EventWrapUpStarted).Data.(WrapUpData)
	if !ws.EndsAt.Equal(t0.Add(67*time.Second + DefaultWrapUp)) {
		t.Fatalf("wrap-up ends at %v", ws.EndsAt)
	}
	eventually(t, "agent leg hung up", e.media.leg("c1").isHung)
	r = e.record("c1")
	if r.Result != "answered" || !r.Ended.Equal(t0.Add(67*time.Second)) {
		t.Fatalf("record %+v", r)
	}
	info := e.state("a")
	if info.State.TalkTime != time.Minute || info.State.CallsTaken != 1 || !info.State.LastCallEnded.Equal(t0.Add(67*time.Second)) {
		t.Fatalf("agent state %+v", info.State)
	}
}

func TestMediaFailureMovesTheOffer(t *testing.T) {
	e := newEnv(t)
	e.queue("q", LongestIdle)
	e.agent("a", "available", "q")
	e.agent("b", "available", "q")
	e.media.failFor("a", errors.New("no WebRTC session"))
	tk := e.enqueue("q", newCall("c1", "+15550001", ""))
	wantErr(t, e.a.Answer(e.ctx, "a", "c1"), ErrMedia)
	if got := e.offeredTo("c1"); got != "b" {
		t.Fatalf("after a's media failed c1 rings %q, want b", got)
	}
	e.answer("b", "c1")
	if as := <-tk.Found(); as.Agent != "b" {
		t.Fatalf("assignment to %s", as.Agent)
	}

	// No Media at all.
	e2 := newEnv(t, func(o *Options) { o.Media = nil })
	e2.queue("q", LongestIdle)
	e2.agent("a", "available", "q")
	e2.enqueue("q", newCall("c1", "+15550001", ""))
	wantErr(t, e2.a.Answer(e2.ctx, "a", "c1"), ErrMedia)
	e2.wantSystem("a", SystemIdle)
}

func TestWrapUp(t *testing.T) {
	// talk sets up one answered call to agent a and ends it.
	talk := func(e *env, agentID, callID string) {
		e.t.Helper()
		e.enqueue("q", newCall(callID, "+1555"+callID, ""))
		e.answer(agentID, callID)
		e.clock.Advance(10 * time.Second)
		e.must(e.a.Hangup(e.ctx, agentID, callID))
	}
	t.Run("default", func(t *testing.T) {
		e := newEnv(t, noHeartbeat)
		e.queue("q", LongestIdle)
		e.agent("a", "available", "q")
		talk(e, "a", "c1")
		end := t0.Add(10 * time.Second).Add(30 * time.Second)
		if got := e.state("a").State; got.System != SystemWrapUp || !got.WrapUpUntil.Equal(end) {
			t.Fatalf("state %+v, want wrap-up until %v", got, end)
		}
		// Busy during wrap-up: a new caller waits.
		e.enqueue("q", newCall("c2", "+15550002", ""))
		e.clock.Advance(29 * time.Second)
		e.a.Tick()
		if got := e.offeredTo("c2"); got != "" {
			t.Fatalf("c2 offered to %s during wrap-up", got)
		}
		e.clock.Advance(time.Second)
		e.a.Tick()
		if got := e.ringing("a"); got != "c2" {
			t.Fatalf("after wrap-up a rings for %q, want c2", got)
		}
	})
	t.Run("queue and agent override", func(t *testing.T) {
		e := newEnv(t, noHeartbeat)
		e.queue("q", LongestIdle, func(q *store.Queue) { q.WrapUp = 20 * time.Second })
		e.agent("a", "available", "q")
		_, err := e.a.CreateAgent(e.ctx, AgentSpec{Agent: store.Agent{ID: "b", Name: "B", Status: "available",
			WrapUp: 45 * time.Second, Queues: []string{"q"}}})
		e.must(err)
		talk(e, "a", "c1")
		if got := e.state("a").State.WrapUpUntil; !got.Equal(e.clock.Now().Add(20 * time.Second)) {
			t.Fatalf("queue wrap-up until %v", got)
		}
		talk(e, "b", "c2")
		if got := e.state("b").State.WrapUpUntil; !got.Equal(e.clock.Now().Add(45 * time.Second)) {
			t.Fatalf("agent wrap-up until %v", got)
		}
	})
	t.Run("extend and clear", func(t *testing.T) {
		e := newEnv(t, noHeartbeat)
		e.queue("q", LongestIdle)
		e.agent("a", "available", "q")
		evA, _ := e.a.Subscribe("a")
		wantErr(t, errOnly(e.a.ExtendWrapUp(e.ctx, "a")), ErrState)
		wantErr(t, e.a.ClearWrapUp(e.ctx, "a"), ErrState)
		talk(e, "a", "c1")
		start := e.clock.Now()
		for i := 1; i <= 2; i++ {
			until, err := e.a.ExtendWrapUp(e.ctx, "a")
			e.must(err)
			if want := start.Add(30*time.Second + time.Duration(i)*WrapUpExtension); !until.Equal(want) {
				t.Fatalf("extension %d: until %v, want %v", i, until, want)
			}
		}
		e.clock.Advance(49 * time.Second)
		e.a.Tick()
		e.wantSystem("a", SystemWrapUp)
		e.enqueue("q", newCall("c2", "+15550002", ""))
		e.must(e.a.ClearWrapUp(e.ctx, "a"))
		next(t, evA, EventWrapUpEnded)
		if got := e.ringing("a"); got != "c2" {
			t.Fatalf("after clearing wrap-up a rings for %q, want c2", got)
		}
	})
}

// noHeartbeat turns the heartbeat check off.
func noHeartbeat(o *Options) { o.HeartbeatTimeout = -1 }

func errOnly(_ any, err error) error { return err }

func TestAgentCommands(t *testing.T) {
	e := newEnv(t)
	e.queue("q", LongestIdle)
	e.agent("a", "available", "q")
	e.agent("b", "available", "q")
	c := newCall("c1", "+15550001", "")
	tk := e.enqueue("q", c)
	wantErr(t, e.a.SendDTMF(e.ctx, "a", "c1", "1"), ErrState) // ringing, not answered
	e.answer("a", "c1")

	wantErr(t, e.a.SendDTMF(e.ctx, "b", "c1", "1"), ErrForbidden)
	err := e.a.SendDTMF(e.ctx, "a", "c1", "12x")
	var inv *InvalidError
	if !errors.As(err, &inv) || inv.Field != "digits" || !errors.Is(err, ErrInvalid) {
		t.Fatalf("bad digits: %v", err)
	}
	e.must(e.a.SendDTMF(e.ctx, "a", "c1", "12*#a"))
	if got := c.in.digits(); got != "12*#A" {
		t.Fatalf("caller got digits %q", got)
	}

	wantErr(t, e.a.Hold(e.ctx, "b", "c1"), ErrForbidden)
	wantErr(t, e.a.Resume(e.ctx, "a", "c1"), ErrState)
	e.must(e.a.Hold(e.ctx, "a", "c1"))
	e.wantSystem("a", SystemOnHold)
	wantErr(t, e.a.Hold(e.ctx, "a", "c1"), ErrState)
	c.setHoldErr(errors.New("no music"))
	if err := e.a.Resume(e.ctx, "a", "c1"); err == nil {
		t.Fatal("a failing hook did not fail Resume")
	}
	e.wantSystem("a", SystemOnHold)
	c.setHoldErr(nil)
	e.must(e.a.Resume(e.ctx, "a", "c1"))
	e.wantSystem("a", SystemOnCall)
	if holds, want := c.holdCalls(), []string{"agent-a-c1:true", "agent-a-c1:false", "agent-a-c1:false"}; fmt.Sprint(holds) != fmt.Sprint(want) {
		t.Fatalf("the call's Hold calls %v, want %v", holds, want)
	}

	wantErr(t, e.a.Hangup(e.ctx, "b", "c1"), ErrForbidden)
	e.must(e.a.Hangup(e.ctx, "a", "c1"))
	if cause := c.ended(); cause == nil || cause.Code != 200 {
		t.Fatalf("the caller's call was ended with %v", cause)
	}
	e.wantSystem("a", SystemWrapUp)
	// The caller's end may reach the ACD's watcher first, which then hangs
	// up the agent's leg on its own goroutine.
	eventually(t, "agent leg hung up", e.media.leg("c1").isHung)
	types := e.eventTypes(tk.ConversationID())
	for _, want := range []string{"queued", "offered", "answered", "hold.started", "hold.ended", "ended", "wrap_up"} {
		if count(types, want) == 0 {
			t.Fatalf("conversation events %v lack %s", types, want)
		}
	}
	wantErr(t, e.a.Hangup(e.ctx, "a", "c1"), ErrNotFound)

	// Conversation status and notes, during wrap-up.
	notes := "asked for a refund"
	wantErr(t, errOnly(e.a.SetConversation(e.ctx, "b", tk.ConversationID(), "solved", nil)), ErrForbidden)
	wantErr(t, errOnly(e.a.SetConversation(e.ctx, "a", tk.ConversationID(), "done", nil)), ErrInvalid)
	wantErr(t, errOnly(e.a.SetConversation(e.ctx, "a", "nope", "solved", nil)), ErrNotFound)
	conv, err := e.a.SetConversation(e.ctx, "a", tk.ConversationID(), store.ConversationWaiting, &notes)
	e.must(err)
	stored, err := e.st.GetConversation(e.ctx, tk.ConversationID())
	e.must(err)
	if stored.Status != store.ConversationWaiting || stored.Notes != notes || conv.Notes != notes {
		t.Fatalf("conversation %+v", stored)
	}
	if count(e.eventTypes(tk.ConversationID()), "status_changed") != 1 {
		t.Fatal("no status_changed event")
	}
}

func TestQualityWarningAndSlowSubscriber(t *testing.T) {
	e := newEnv(t, func(o *Options) { o.EventBuffer = 4 })
	e.queue("q", LongestIdle)
	e.agent("a", "available", "q")
	ch, cancel := e.a.Subscribe("a")
	e.enqueue("q", newCall("c1", "+15550001", ""))
	e.answer("a", "c1")
	// Nobody reads ch: far more events than its buffer must not block.
	for range 50 {
		e.a.QualityWarning("c1", "caller")
	}
	e.a.QualityWarning("unknown", "agent") // ignored
	if e.a.Dropped() == 0 {
		t.Fatal("no event counted as dropped")
	}
	evs := drain(ch)
	if len(evs) != 4 {
		t.Fatalf("%d events buffered, want 4", len(evs))
	}
	last := evs[len(evs)-1]
	if last.Type != EventQualityWarning || last.Data.(QualityData) != (QualityData{CallID: "c1", Side: "caller"}) {
		t.Fatalf("newest event %+v", last)
	}
	b, err := json.Marshal(last)
	e.must(err)
	var back map[string]any
	e.must(json.Unmarshal(b, &back))
	if back["type"] != "quality.warning" || back["data"].(map[string]any)["side"] != "caller" {
		t.Fatalf("JSON %s", b)
	}
	cancel()
	cancel()
	if _, ok := <-ch; ok {
		t.Fatal("the channel is open after cancel")
	}
}

func TestConversationJoining(t *testing.T) {
	e := newEnv(t)
	e.queue("q", LongestIdle)
	e.agent("a", "available", "q")
	serve := func(id string) *Ticket {
		t.Helper()
		tk := e.enqueue("q", newCall(id, "+15557777", "Grace"))
		e.answer("a", id)
		e.must(e.a.Hangup(e.ctx, "a", id))
		e.must(e.a.ClearWrapUp(e.ctx, "a"))
		return tk
	}
	first := serve("c1")
	_, err := e.a.SetConversation(e.ctx, "a", first.ConversationID(), store.ConversationSolved, nil)
	e.must(err)
	second := serve("c2") // Solved is not Closed: the same conversation
	if second.ConversationID() != first.ConversationID() {
		t.Fatalf("the second call started conversation %s, want %s", second.ConversationID(), first.ConversationID())
	}
	other := e.enqueue("q", newCall("o1", "+15550000", ""))
	if other.ConversationID() == first.ConversationID() {
		t.Fatal("another customer joined the conversation")
	}
	other.Leave()
	if n := count(e.eventTypes(first.ConversationID()), "queued"); n != 2 {
		t.Fatalf("conversation has %d queued events, want 2", n)
	}
	_, err = e.a.SetConversation(e.ctx, "a", first.ConversationID(), store.ConversationClosed, nil)
	e.must(err)
	third := e.enqueue("q", newCall("c3", "+15557777", "Grace"))
	if third.ConversationID() == first.ConversationID() {
		t.Fatal("a call joined a Closed conversation")
	}
	conv, err := e.st.GetConversation(e.ctx, third.ConversationID())
	e.must(err)
	if conv.CustomerNumber != "+15557777" || conv.CustomerName != "Grace" || conv.Status != store.ConversationOpen {
		t.Fatalf("new conversation %+v", conv)
	}
}

func TestStats(t *testing.T) {
	e := newEnv(t, noHeartbeat)
	q := e.queue("q", LongestIdle) // service level 20 s
	if q.ServiceLevel != 20*time.Second {
		t.Fatalf("service level %v", q.ServiceLevel)
	}
	e.agent("a", "away", "q")
	e.agent("b", "away", "q")
	c1, c2, c3 := newCall("c1", "+15550001", ""), newCall("c2", "+15550002", ""), newCall("c3", "+15550003", "")
	e.enqueue("q", c1)
	e.clock.Advance(5 * time.Second)
	t3 := e.enqueue("q", c3)
	e.clock.Advance(5 * time.Second) // c1 waited 10 s
	t3.Leave()                       // c3 abandons after 5 s
	e.must(e.a.SetStatus(e.ctx, "a", "available"))
	e.answer("a", "c1")
	e.enqueue("q", c2)
	e.clock.Advance(30 * time.Second) // c2 waits 30 s
	e.must(e.a.SetStatus(e.ctx, "b", "available"))
	e.answer("b", "c2")
	e.clock.Advance(30 * time.Second)
	e.must(e.a.Hangup(e.ctx, "b", "c2")) // c2: 30 s talk
	e.clock.Advance(10 * time.Second)
	e.must(e.a.ClearWrapUp(e.ctx, "b")) // + 10 s wrap-up = 40 s
	e.clock.Advance(20 * time.Second)
	e.must(e.a.Hangup(e.ctx, "a", "c1")) // c1: 90 s talk
	e.enqueue("q", newCall("c4", "+15550004", ""))
	e.clock.Advance(30 * time.Second)
	e.a.Tick() // a's wrap-up (30 s) ends: 120 s handle time; b takes c4

	s, err := e.a.Stats("q")
	e.must(err)
	want := QueueStats{
		QueueID: q.ID, Queue: "q", Waiting: 1, Ringing: 1, LongestWait: 30 * time.Second,
		AvailableAgents: 1, Agents: 2, Since: t0,
		Offered: 4, Answered: 2, Abandoned: 1, AnsweredInSL: 1,
		ServiceLevel: 1.0 / 3, ASA: 20 * time.Second, AbandonRate: 1.0 / 3,
		Handled: 2, AHT: 80 * time.Second,
	}
	if s != want {
		t.Fatalf("stats\n got %+v\nwant %+v", s, want)
	}
	if all := e.a.AllStats(); len(all) != 2 || all[1].Queue != "q" {
		t.Fatalf("all stats %+v", all)
	}
	e.a.ResetStats()
	s, err = e.a.Stats("q")
	e.must(err)
	if s.Offered != 0 || s.Waiting != 1 {
		t.Fatalf("after reset %+v", s)
	}
}

func TestQueueAndAgentCRUD(t *testing.T) {
	e := newEnv(t)
	def, err := e.a.GetQueue(DefaultQueueName)
	e.must(err)
	if def.RingTimeout != 30*time.Second || def.WrapUp != 30*time.Second || def.Strategy != LongestIdle {
		t.Fatalf("Default queue %+v", def)
	}
	for _, tc := range []struct {
		q     store.Queue
		field string
	}{
		{store.Queue{Name: "x", RingTimeout: 2 * time.Second}, "ring_timeout"},
		{store.Queue{Name: "x", RingTimeout: 61 * time.Second}, "ring_timeout"},
		{store.Queue{Name: "x", Strategy: "skills"}, "strategy"},
		{store.Queue{Name: " "}, "name"},
		{store.Queue{Name: "x", WrapUp: -time.Second}, "wrap_up"},
	} {
		_, err := e.a.CreateQueue(e.ctx, tc.q)
		var inv *InvalidError
		if !errors.As(err, &inv) || inv.Field != tc.field {
			t.Fatalf("CreateQueue(%+v): %v, want invalid %s", tc.q, err, tc.field)
		}
	}
	for _, rt := range []time.Duration{3 * time.Second, 60 * time.Second} {
		_, err := e.a.CreateQueue(e.ctx, store.Queue{Name: fmt.Sprint("rt", rt), RingTimeout: rt})
		e.must(err)
	}
	q := e.queue("support", RoundRobin)
	wantErr(t, errOnly(e.a.CreateQueue(e.ctx, store.Queue{Name: "support"})), ErrConflict)
	wantErr(t, e.a.DeleteQueue(e.ctx, def.ID), ErrForbidden)

	_, err = e.a.CreateAgent(e.ctx, AgentSpec{Agent: store.Agent{Name: "X", Queues: []string{"nope"}}})
	var inv *InvalidError
	if !errors.As(err, &inv) || inv.Field != "queues" {
		t.Fatalf("agent in a missing queue: %v", err)
	}
	ag, err := e.a.CreateAgent(e.ctx, AgentSpec{Agent: store.Agent{Name: "Lin", Queues: []string{"support"}}, Token: "s3cret"})
	e.must(err)
	if ag.ID == "" || ag.Status != store.StatusOffline || ag.Capacity != DefaultCapacity || ag.Queues[0] != q.ID {
		t.Fatalf("agent %+v", ag)
	}
	got, err := e.a.AgentByToken(e.ctx, "s3cret")
	e.must(err)
	if got.ID != ag.ID {
		t.Fatalf("token finds %s", got.ID)
	}
	wantErr(t, errOnly(e.a.AgentByToken(e.ctx, "wrong")), ErrNotFound)
	stored, err := e.st.GetAgent(e.ctx, ag.ID)
	e.must(err)
	if stored.TokenHash != HashToken("s3cret") || len(stored.TokenHash) != 64 {
		t.Fatalf("stored token hash %q", stored.TokenHash)
	}
	ag.Name, ag.Capacity = "Lin Y", 3
	up, err := e.a.UpdateAgent(e.ctx, AgentSpec{Agent: ag})
	e.must(err)
	if up.Name != "Lin Y" || up.Capacity != 3 || up.TokenHash != stored.TokenHash {
		t.Fatalf("updated %+v", up)
	}
	// A queue with callers cannot go; its agents leave a deleted queue.
	tk := e.enqueue("support", newCall("c1", "+15550001", ""))
	wantErr(t, e.a.DeleteQueue(e.ctx, q.ID), ErrState)
	tk.Leave()
	e.must(e.a.DeleteQueue(e.ctx, q.ID))
	if info := e.state(ag.ID); len(info.Queues) != 0 {
		t.Fatalf("agent still in %v", info.Queues)
	}
	e.must(e.a.DeleteAgent(e.ctx, ag.ID))
	wantErr(t, errOnly(e.a.GetAgent(ag.ID)), ErrNotFound)
	wantErr(t, errOnly(e.a.AgentByToken(e.ctx, "s3cret")), ErrNotFound)
}

func TestApplyConfigManagesObjects(t *testing.T) {
	e := newEnv(t)
	queues := []store.Queue{
		{Name: "support", AutoAssign: true, RingTimeout: 15 * time.Second},
		{Name: "sales", Strategy: FewestCalls},
	}
	agents := []AgentSpec{
		{Agent: store.Agent{ID: "ann", Name: "Ann", Queues: []string{"support", "sales"}}, Token: "tok-ann"},
		{Agent: store.Agent{ID: "bob", Name: "Bob", Queues: []string{"sales"}}, Token: "tok-bob"},
	}
	e.must(e.a.ApplyConfig(e.ctx, queues, agents))
	sup, err := e.a.GetQueue("support")
	e.must(err)
	if !sup.Managed || sup.ID != "support" || sup.RingTimeout != 15*time.Second || sup.WrapUp != DefaultWrapUp {
		t.Fatalf("support %+v", sup)
	}
	wantErr(t, errOnly(e.a.UpdateQueue(e.ctx, sup)), ErrManaged)
	wantErr(t, e.a.DeleteQueue(e.ctx, "support"), ErrManaged)
	wantErr(t, e.a.DeleteAgent(e.ctx, "ann"), ErrManaged)
	wantErr(t, errOnly(e.a.UpdateAgent(e.ctx, AgentSpec{Agent: store.Agent{ID: "ann", Name: "A"}})), ErrManaged)
	ann, err := e.a.AgentByToken(e.ctx, "tok-ann")
	e.must(err)
	if ann.ID != "ann" || !ann.Managed || len(ann.Queues) != 2 {
		t.Fatalf("ann %+v", ann)
	}
	stored, err := e.st.GetAgent(e.ctx, "ann")
	e.must(err)
	if stored.TokenHash != HashToken("tok-ann") {
		t.Fatal("token not stored as its SHA-256")
	}
	// Statuses survive a reload.
	e.must(e.a.SetStatus(e.ctx, "ann", "available"))

	// Reload: sales and bob are gone, ann changes queues and token. Not
	// while a caller waits in sales: it would never be offered again.
	agents = []AgentSpec{{Agent: store.Agent{ID: "ann", Name: "Ann", Queues: []string{"support"}}, Token: "tok-ann-2"}}
	tk := e.enqueue("sales", newCall("w1", "+15550009", ""))
	wantErr(t, e.a.ApplyConfig(e.ctx, queues[:1], agents), ErrState)
	tk.Leave()
	e.must(e.a.ApplyConfig(e.ctx, queues[:1], agents))
	wantErr(t, errOnly(e.a.GetQueue("sales")), ErrNotFound)
	wantErr(t, errOnly(e.a.GetAgent("bob")), ErrNotFound)
	wantErr(t, errOnly(e.a.AgentByToken(e.ctx, "tok-ann")), ErrNotFound)
	info := e.state("ann")
	if info.Status != store.StatusAvailable || len(info.Queues) != 1 || info.Queues[0] != "support" {
		t.Fatalf("ann after reload %+v", info)
	}
	if _, err := e.a.GetQueue(DefaultQueueName); err != nil {
		t.Fatal("the Default queue went with the reload")
	}
	// A bad configuration changes nothing.
	bad := []store.Queue{{Name: "support", RingTimeout: time.Hour}}
	wantErr(t, e.a.ApplyConfig(e.ctx, bad, agents), ErrInvalid)
	if q, _ := e.a.GetQueue("support"); q.RingTimeout != 15*time.Second {
		t.Fatalf("support changed by a refused configuration: %+v", q)
	}
	wantErr(t, e.a.ApplyConfig(e.ctx, queues[:1], []AgentSpec{{Agent: store.Agent{ID: "z", Queues: []string{"sales"}}}}), ErrInvalid)
}

func TestRestartKeepsStateAndClosesLiveCalls(t *testing.T) {
	dsn := "sqlite://" + filepath.Join(t.TempDir(), "acd.db")
	clock := &fakeClock{t: t0}
	st := openStore(t, dsn)
	e := newEnvOn(t, st, clock)
	e.queue("support", RoundRobin, func(q *store.Queue) { q.WrapUp = 45 * time.Second; q.Priority = 3 })
	_, err := e.a.CreateAgent(e.ctx, AgentSpec{Agent: store.Agent{ID: "a", Name: "Ann", Status: "available",
		Capacity: 2, Queues: []string{"support"}}, Token: "tok"})
	e.must(err)
	served := e.enqueue("support", newCall("c1", "+15550001", "Ada"))
	e.answer("a", "c1")
	e.clock.Advance(time.Minute)
	e.must(e.a.Hangup(e.ctx, "a", "c1"))
	notes := "call back Monday"
	_, err = e.a.SetConversation(e.ctx, "a", served.ConversationID(), store.ConversationWaiting, &notes)
	e.must(err)
	e.must(e.a.SetStatus(e.ctx, "a", "away"))
	waiting := e.enqueue("support", newCall("c2", "+15550002", ""))
	// The switch dies: no call ends, the store is closed under the ACD.
	e.a.Close()
	e.must(st.Close())

	clock.Advance(10 * time.Second)
	st2 := openStore(t, dsn)
	t.Cleanup(func() { st2.Close() })
	e2 := newEnvOn(t, st2, clock)
	q, err := e2.a.GetQueue("support")
	e2.must(err)
	if q.Strategy != RoundRobin || q.WrapUp != 45*time.Second || q.Priority != 3 || !q.AutoAssign {
		t.Fatalf("queue after restart %+v", q)
	}
	info := e2.state("a")
	if info.Name != "Ann" || info.Status != store.StatusAway || info.Capacity != 2 || info.OpenConversations != 1 ||
		info.State.CallsTaken != 1 || info.State.TalkTime != time.Minute {
		t.Fatalf("agent after restart %+v", info)
	}
	// Still in wrap-up (45 s from the hang-up, 10 s ago).
	if info.State.System != SystemWrapUp || !info.State.WrapUpUntil.Equal(t0.Add(time.Minute+45*time.Second)) {
		t.Fatalf("wrap-up after restart %+v", info.State)
	}
	if ag, err := e2.a.AgentByToken(e2.ctx, "tok"); err != nil || ag.ID != "a" {
		t.Fatalf("token after restart: %v %v", ag.ID, err)
	}
	conv, err := st2.GetConversation(e2.ctx, served.ConversationID())
	e2.must(err)
	if conv.Status != store.ConversationWaiting || conv.Notes != notes || conv.AgentID != "a" {
		t.Fatalf("conversation after restart %+v", conv)
	}
	r, err := st2.GetCallRecord(e2.ctx, "c2")
	e2.must(err)
	if r.Result != "abandoned" || !r.Ended.Equal(clock.Now()) {
		t.Fatalf("the call waiting at the crash: %+v", r)
	}
	if types := e2.eventTypes(waiting.ConversationID()); types[len(types)-1] != "ended" {
		t.Fatalf("events of the waiting call's conversation %v", types)
	}
	r, err = st2.GetCallRecord(e2.ctx, "c1")
	e2.must(err)
	if r.Result != "answered" {
		t.Fatalf("the finished call: %+v", r)
	}
	// The same customer's next call joins the conversation kept.
	tk := e2.enqueue("support", newCall("c3", "+15550001", ""))
	if tk.ConversationID() != served.ConversationID() {
		t.Fatal("after restart the customer's call did not join its conversation")
	}
}

func TestClosedACD(t *testing.T) {
	e := newEnv(t)
	ch, _ := e.a.Subscribe("a")
	e.must(e.a.Close())
	if _, ok := <-ch; ok {
		t.Fatal("subscription open after Close")
	}
	wantErr(t, errOnly(e.a.Enqueue(context.Background(), DefaultQueueName, newCall("c", "1", ""))), ErrClosed)
	e.a.Tick()
}

// blockingMedia holds Attach until release is closed.
type blockingMedia struct {
	fakeMedia
	entered chan struct{}
	release chan struct{}
}

func (m *blockingMedia) Attach(ctx context.Context, agentID, callID string) (call.Leg, error) {
	close(m.entered)
	<-m.release
	return m.fakeMedia.Attach(ctx, agentID, callID)
}

func TestCallerLeavesWhileTheAgentAnswers(t *testing.T) {
	bm := &blockingMedia{entered: make(chan struct{}), release: make(chan struct{})}
	e := newEnv(t, func(o *Options) { o.Media = bm })
	e.queue("q", LongestIdle)
	e.agent("a", "available", "q")
	tk := e.enqueueWith("q", newCall("c1", "+15550001", "Kim"), EnqueueOptions{Type: CallTransferred})
	evA, _ := e.a.Subscribe("a")
	errc := make(chan error, 1)
	go func() { errc <- e.a.Answer(e.ctx, "a", "c1") }()
	<-bm.entered
	// The ring time-out passes while the media is attached: the answer stands.
	e.clock.Advance(time.Minute)
	e.must(e.a.Heartbeat("a"))
	tk.Leave()
	close(bm.release)
	wantErr(t, <-errc, ErrState)
	if next(t, evA, EventCallEnded).Data.(CallData).Reason != "abandoned" {
		t.Fatal("the agent was not told the caller left")
	}
	e.wantSystem("a", SystemIdle)
	if !bm.leg("c1").isHung() {
		t.Fatal("the attached leg was left up")
	}
	if r := e.record("c1"); r.Result != "abandoned" {
		t.Fatalf("record %+v", r)
	}
	select {
	case as := <-tk.Found():
		t.Fatalf("a caller who left was found %+v", as)
	default:
	}
	_, err := e.a.EnqueueWith(e.ctx, "q", newCall("c2", "+15550002", ""), EnqueueOptions{Type: "vip"})
	wantErr(t, err, ErrInvalid)
	_, err = e.a.Enqueue(e.ctx, "nope", newCall("c3", "+15550003", ""))
	wantErr(t, err, ErrNotFound)
}

func TestOfferShowsTheCallType(t *testing.T) {
	e := newEnv(t)
	e.queue("q", LongestIdle)
	e.agent("a", "available", "q")
	ev, _ := e.a.Subscribe("a")
	e.enqueueWith("q", newCall("c1", "+15550001", ""), EnqueueOptions{Type: CallCallback})
	if o := next(t, ev, EventCallOffered).Data.(OfferData); o.Type != CallCallback {
		t.Fatalf("offer %+v", o)
	}
}

// TestQueueIDIsItsName: a queue's id is its name, the name flows use, for
// queues created here as for the configuration's and the Default queue.
func TestQueueIDIsItsName(t *testing.T) {
	e := newEnv(t)
	def, err := e.a.GetQueue(DefaultQueueName)
	e.must(err)
	if def.ID != "default" || def.Name != "default" {
		t.Fatalf("Default queue id %q name %q, want default and default", def.ID, def.Name)
	}
	q, err := e.a.CreateQueue(e.ctx, store.Queue{Name: "sales"})
	e.must(err)
	if q.ID != "sales" {
		t.Fatalf("queue sales has id %q", q.ID)
	}
	var inv *InvalidError
	if _, err := e.a.CreateQueue(e.ctx, store.Queue{ID: "x1", Name: "billing"}); !errors.As(err, &inv) || inv.Field != "id" {
		t.Fatalf("an id other than the name: %v, want invalid id", err)
	}
	q.Name = "sales-2"
	if _, err := e.a.UpdateQueue(e.ctx, q); !errors.As(err, &inv) || inv.Field != "name" {
		t.Fatalf("rename: %v, want invalid name", err)
	}
	if got, err := e.a.GetQueue("sales"); err != nil || got.Name != "sales" {
		t.Fatalf("after a refused rename: %+v %v", got, err)
	}
}
