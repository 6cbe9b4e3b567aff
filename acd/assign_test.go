package acd

import (
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/switchboard-voice/switchboard/store"
)

// restart closes the ACD and starts a new one on the same store and clock.
func (e *env) restart() *env {
	e.t.Helper()
	e.a.Close()
	return newEnvOn(e.t, e.st, e.clock)
}

// offerOrder enqueues one caller and lists the agents it is offered to, one
// after the other, each declining.
func offerOrder(e *env, queue string, n int) []string {
	e.t.Helper()
	c := newCall("order-call", "+15550001", "Order")
	e.enqueue(queue, c)
	var order []string
	for range n {
		ag := e.offeredTo(c.ID())
		if ag == "" {
			e.t.Fatalf("after %v, the call rings no agent", order)
		}
		order = append(order, ag)
		e.must(e.a.Decline(e.ctx, ag, c.ID()))
	}
	if ag := e.offeredTo(c.ID()); ag != "" {
		e.t.Fatalf("after every agent declined, the call rings %s again", ag)
	}
	return order
}

func TestStrategiesOrderAgents(t *testing.T) {
	ago := func(d time.Duration) time.Time { return t0.Add(-d) }
	cases := []struct {
		strategy string
		states   map[string]store.AgentState
		want     []string
	}{
		{
			// Longest since the last call first; never called before all.
			strategy: LongestIdle,
			states: map[string]store.AgentState{
				"a": {LastCallEnded: ago(10 * time.Minute)},
				"b": {},
				"c": {LastCallEnded: ago(time.Hour)},
				"d": {LastCallEnded: ago(time.Minute)},
			},
			want: []string{"b", "c", "a", "d"},
		},
		{
			// Least recently offered first; never offered before all.
			strategy: RoundRobin,
			states: map[string]store.AgentState{
				"a": {LastOffered: ago(time.Minute), LastCallEnded: ago(time.Hour)},
				"b": {LastOffered: ago(5 * time.Minute)},
				"c": {},
				"d": {LastOffered: ago(3 * time.Minute)},
			},
			want: []string{"c", "b", "d", "a"},
		},
		{
			// Fewest calls first; ties: longest idle.
			strategy: FewestCalls,
			states: map[string]store.AgentState{
				"a": {CallsTaken: 5, LastCallEnded: ago(time.Hour)},
				"b": {CallsTaken: 2, LastCallEnded: ago(time.Minute)},
				"c": {CallsTaken: 2, LastCallEnded: ago(10 * time.Minute)},
				"d": {},
			},
			want: []string{"d", "c", "b", "a"},
		},
		{
			// Least talk time first; ties: longest idle.
			strategy: LeastTalkTime,
			states: map[string]store.AgentState{
				"a": {TalkTime: 10 * time.Minute, LastCallEnded: ago(time.Hour)},
				"b": {TalkTime: time.Minute, LastCallEnded: ago(time.Minute)},
				"c": {TalkTime: 5 * time.Minute},
				"d": {TalkTime: time.Minute, LastCallEnded: ago(2 * time.Minute)},
			},
			want: []string{"d", "b", "c", "a"},
		},
	}
	for _, tc := range cases {
		t.Run(tc.strategy, func(t *testing.T) {
			e := newEnv(t)
			q := e.queue("sales", tc.strategy)
			for _, id := range []string{"a", "b", "c", "d"} {
				e.agent(id, store.StatusAvailable, q.ID)
				s := tc.states[id]
				s.AgentID, s.StatusSince = id, t0.Add(-time.Hour)
				e.must(e.st.PutAgentState(e.ctx, s))
			}
			e = e.restart() // the ACD reads the states back from the store
			if got := offerOrder(e, "sales", 4); !slices.Equal(got, tc.want) {
				t.Fatalf("%s offered to %v, want %v", tc.strategy, got, tc.want)
			}
		})
	}
}

func TestRoundRobinRotates(t *testing.T) {
	e := newEnv(t)
	e.queue("rr", RoundRobin)
	for _, id := range []string{"a", "b", "c"} {
		e.agent(id, "available", "rr")
	}
	// Each offer moves its agent to the back: three calls in a row, answered
	// and wrapped up, go to three agents, then the first again.
	var got []string
	for i := range 4 {
		c := newCall(fmt.Sprintf("rr-%d", i), fmt.Sprintf("+1555000%d", i), "")
		e.enqueue("rr", c)
		ag := e.offeredTo(c.ID())
		got = append(got, ag)
		e.answer(ag, c.ID())
		e.must(e.a.Hangup(e.ctx, ag, c.ID()))
		e.must(e.a.ClearWrapUp(e.ctx, ag))
		e.clock.Advance(time.Second)
	}
	if want := []string{"a", "b", "c", "a"}; !slices.Equal(got, want) {
		t.Fatalf("round robin offered to %v, want %v", got, want)
	}
}

func TestRandomStrategy(t *testing.T) {
	e := newEnv(t)
	q := e.queue("lottery", Random)
	ids := []string{"a", "b", "c", "d"}
	for _, id := range ids {
		e.agent(id, "available", q.ID)
	}
	e.agent("away", "away", q.ID)
	// The decision itself: each eligible agent about a quarter of the time.
	e.a.mu.Lock()
	var elig []*agent
	for _, id := range ids {
		elig = append(elig, e.a.agents[id])
	}
	counts := map[string]int{}
	const n = 4000
	for range n {
		counts[e.a.best(Random, elig, map[string]bool{"c": true}).cfg.ID]++
	}
	e.a.mu.Unlock()
	if counts["c"] != 0 {
		t.Fatalf("random picked a skipped agent %d times", counts["c"])
	}
	for _, id := range []string{"a", "b", "d"} {
		if c := counts[id]; c < n/3-200 || c > n/3+200 {
			t.Fatalf("random picked %s %d times of %d: %v", id, c, n, counts)
		}
	}
	// Through the ACD: only Available agents are offered, each once.
	got := offerOrder(e, "lottery", 4)
	slices.Sort(got)
	if !slices.Equal(got, ids) {
		t.Fatalf("random offered to %v, want each of %v once", got, ids)
	}
}

func TestAutoAssignOffNeverOffers(t *testing.T) {
	e := newEnv(t)
	def, err := e.a.GetQueue(DefaultQueueName)
	e.must(err)
	if def.AutoAssign {
		t.Fatal("the Default queue has automatic assignment on by default")
	}
	q, err := e.a.CreateQueue(e.ctx, store.Queue{Name: "manual"})
	e.must(err)
	if q.AutoAssign {
		t.Fatal("a new queue has automatic assignment on by default")
	}
	e.agent("a", "available", def.ID, q.ID)
	c1, c2 := newCall("c1", "+15550001", ""), newCall("c2", "+15550002", "")
	e.enqueue(DefaultQueueName, c1)
	e.enqueue("manual", c2)
	for range 3 {
		e.clock.Advance(20 * time.Second)
		e.must(e.a.Heartbeat("a"))
		e.a.Tick()
	}
	e.wantSystem("a", SystemIdle)
	s, err := e.a.Stats("manual")
	e.must(err)
	if s.Waiting != 1 || s.AvailableAgents != 1 {
		t.Fatalf("stats %+v, want 1 waiting and 1 available agent", s)
	}
	// Turning it on offers the waiting caller at once.
	q.AutoAssign = true
	_, err = e.a.UpdateQueue(e.ctx, q)
	e.must(err)
	if got := e.ringing("a"); got != "c2" {
		t.Fatalf("after auto-assign on, agent rings for %q, want c2", got)
	}
}

func TestCapacityAndOneCallAtATime(t *testing.T) {
	e := newEnv(t)
	e.queue("q", LongestIdle)
	_, err := e.a.CreateAgent(e.ctx, AgentSpec{Agent: store.Agent{ID: "a", Name: "A", Status: "available",
		Capacity: 1, Queues: []string{"q"}}})
	e.must(err)

	c1 := newCall("c1", "+15550001", "")
	t1 := e.enqueue("q", c1)
	e.answer("a", "c1")
	// One call at a time: a second caller waits while a is on the call.
	c2 := newCall("c2", "+15550002", "")
	e.enqueue("q", c2)
	e.wantSystem("a", SystemOnCall)
	if ag := e.offeredTo("c2"); ag != "" {
		t.Fatalf("c2 offered to %s while a is on a call", ag)
	}
	e.must(e.a.Hangup(e.ctx, "a", "c1"))
	e.must(e.a.ClearWrapUp(e.ctx, "a"))
	// a holds c1's conversation (open): with capacity 1 it takes no more.
	info := e.state("a")
	if info.OpenConversations != 1 || info.State.System != SystemIdle {
		t.Fatalf("agent after wrap-up: %+v", info)
	}
	if ag := e.offeredTo("c2"); ag != "" {
		t.Fatalf("c2 offered to %s beyond its capacity", ag)
	}
	// Solved is not Closed: still full.
	_, err = e.a.SetConversation(e.ctx, "a", t1.ConversationID(), store.ConversationSolved, nil)
	e.must(err)
	if ag := e.offeredTo("c2"); ag != "" {
		t.Fatalf("c2 offered to %s with a solved (not closed) conversation", ag)
	}
	_, err = e.a.SetConversation(e.ctx, "a", t1.ConversationID(), store.ConversationClosed, nil)
	e.must(err)
	if got := e.ringing("a"); got != "c2" {
		t.Fatalf("after closing the conversation a rings for %q, want c2", got)
	}
}

func TestRingTimeoutRollsToNextAgent(t *testing.T) {
	e := newEnv(t)
	e.queue("q", LongestIdle, func(q *store.Queue) { q.RingTimeout = 20 * time.Second })
	e.agent("a", "available", "q")
	e.agent("b", "available", "q")
	evA, _ := e.a.Subscribe("a")
	c := newCall("c1", "+15550001", "Ada")
	tk := e.enqueue("q", c)

	offer := next(t, evA, EventCallOffered).Data.(OfferData)
	if offer.CallID != "c1" || offer.Queue != "q" || offer.Type != CallRegular || offer.CustomerName != "Ada" ||
		offer.CustomerNumber != "+15550001" || offer.RingTimeout != 20 || !offer.ExpiresAt.Equal(t0.Add(20*time.Second)) {
		t.Fatalf("offer %+v", offer)
	}
	if got := e.state("a").State.RingingUntil; !got.Equal(t0.Add(20 * time.Second)) {
		t.Fatalf("RingingUntil %v", got)
	}
	e.clock.Advance(19 * time.Second)
	e.a.Tick()
	if got := e.offeredTo("c1"); got != "a" {
		t.Fatalf("before the time-out the call rings %q, want a", got)
	}
	e.clock.Advance(time.Second)
	e.a.Tick()
	if got := e.offeredTo("c1"); got != "b" {
		t.Fatalf("after the time-out the call rings %q, want b", got)
	}
	ended := next(t, evA, EventCallEnded).Data.(CallData)
	if ended.Reason != "timeout" {
		t.Fatalf("a was told %+v", ended)
	}
	// a goes back to the status it chose: Available and idle.
	info := e.state("a")
	if info.Status != store.StatusAvailable || info.State.System != SystemIdle {
		t.Fatalf("a after missing the call: %s/%q", info.Status, info.State.System)
	}
	// b misses it too: nobody else, the call waits.
	e.must(e.a.Heartbeat("a"))
	e.must(e.a.Heartbeat("b"))
	e.clock.Advance(20 * time.Second)
	e.a.Tick()
	if got := e.offeredTo("c1"); got != "" {
		t.Fatalf("the call rings %s again", got)
	}
	types := e.eventTypes(tk.ConversationID())
	if n := count(types, "timed_out"); n != 2 {
		t.Fatalf("conversation events %v: want 2 timed_out", types)
	}
	// A caller arriving later is offered to a, who is still Available.
	e.must(e.a.Heartbeat("a"))
	e.must(e.a.Heartbeat("b"))
	e.enqueue("q", newCall("c2", "+15550002", ""))
	if got := e.offeredTo("c2"); got != "a" {
		t.Fatalf("c2 rings %q, want a", got)
	}
}

func count(s []string, v string) int {
	n := 0
	for _, x := range s {
		if x == v {
			n++
		}
	}
	return n
}

func TestDeclineMovesOnAtOnce(t *testing.T) {
	e := newEnv(t)
	e.queue("q", LongestIdle)
	e.agent("a", "available", "q")
	e.agent("b", "available", "q")
	e.agent("x", "available") // in no queue
	e.enqueue("q", newCall("c1", "+15550001", ""))
	if got := e.offeredTo("c1"); got != "a" {
		t.Fatalf("c1 rings %q, want a", got)
	}
	wantErr(t, e.a.Decline(e.ctx, "b", "c1"), ErrForbidden)
	wantErr(t, e.a.Answer(e.ctx, "x", "c1"), ErrForbidden)
	wantErr(t, e.a.Decline(e.ctx, "a", "nope"), ErrNotFound)
	wantErr(t, e.a.Decline(e.ctx, "nobody", "c1"), ErrNotFound)
	wantErr(t, e.a.Hangup(e.ctx, "a", "c1"), ErrState) // ringing: decline, not hang up
	e.must(e.a.Decline(e.ctx, "a", "c1"))
	// No clock change, no Tick: b rings at once.
	if got := e.offeredTo("c1"); got != "b" {
		t.Fatalf("after a declined, c1 rings %q, want b", got)
	}
	e.wantSystem("a", SystemIdle)
	wantErr(t, e.a.Answer(e.ctx, "a", "c1"), ErrForbidden)
	e.answer("b", "c1")
	wantErr(t, e.a.Answer(e.ctx, "b", "c1"), ErrState)
	wantErr(t, e.a.Decline(e.ctx, "b", "c1"), ErrState)
}

func TestWaitsUntilAnAgentIsAvailable(t *testing.T) {
	e := newEnv(t)
	e.queue("q", LongestIdle)
	e.agent("a", "away", "q")
	e.agent("b", "busy", "q")
	e.agent("c", "offline", "q")
	e.enqueue("q", newCall("c1", "+15550001", ""))
	e.clock.Advance(10 * time.Second)
	e.a.Tick()
	if got := e.offeredTo("c1"); got != "" {
		t.Fatalf("c1 rings %s, who is not Available", got)
	}
	e.must(e.a.SetStatus(e.ctx, "c", "available"))
	if got := e.offeredTo("c1"); got != "c" {
		t.Fatalf("c1 rings %q, want c who became Available", got)
	}
	wantErr(t, e.a.SetStatus(e.ctx, "c", "lunch"), ErrInvalid)
}

func TestMissedHeartbeatSetsOfflineAndMovesTheOffer(t *testing.T) {
	e := newEnv(t, func(o *Options) { o.HeartbeatTimeout = 30 * time.Second })
	e.queue("q", LongestIdle, func(q *store.Queue) { q.RingTimeout = 60 * time.Second })
	e.agent("a", "available", "q")
	e.agent("b", "available", "q")
	evA, _ := e.a.Subscribe("a")
	e.enqueue("q", newCall("c1", "+15550001", ""))
	if got := e.offeredTo("c1"); got != "a" {
		t.Fatalf("c1 rings %q, want a", got)
	}
	e.clock.Advance(20 * time.Second)
	e.must(e.a.Heartbeat("b"))
	e.clock.Advance(9 * time.Second)
	e.a.Tick()
	if got := e.offeredTo("c1"); got != "a" {
		t.Fatalf("before the heartbeat deadline c1 rings %q, want a", got)
	}
	e.clock.Advance(time.Second) // a's last heartbeat (creation) is 30 s old
	e.a.Tick()
	if got := e.offeredTo("c1"); got != "b" {
		t.Fatalf("after a missed its heartbeat c1 rings %q, want b", got)
	}
	info := e.state("a")
	if info.Status != store.StatusOffline || info.State.System != SystemIdle {
		t.Fatalf("a: %s/%q, want offline/idle", info.Status, info.State.System)
	}
	stored, err := e.st.GetAgent(e.ctx, "a")
	e.must(err)
	if stored.Status != store.StatusOffline {
		t.Fatalf("stored status %q", stored.Status)
	}
	for next(t, evA, EventStatusChanged).Data.(StatusData).Status != store.StatusOffline {
	}
}

func TestCallerPriority(t *testing.T) {
	e := newEnv(t)
	e.queue("q", LongestIdle)
	for _, id := range []string{"a", "b", "c", "d"} {
		e.agent(id, "away", "q")
	}
	calls := []struct {
		id   string
		prio int
	}{{"low1", 0}, {"high1", 5}, {"low2", 0}, {"high2", 5}}
	for i, c := range calls {
		e.enqueueWith("q", newCall(c.id, fmt.Sprintf("+1555000%d", i), ""), EnqueueOptions{Priority: c.prio})
		e.clock.Advance(time.Second)
	}
	want := map[string]string{"a": "high1", "b": "high2", "c": "low1", "d": "low2"}
	for _, id := range []string{"a", "b", "c", "d"} {
		e.must(e.a.SetStatus(e.ctx, id, "available"))
		if got := e.ringing(id); got != want[id] {
			t.Fatalf("agent %s rings for %q, want %q", id, got, want[id])
		}
	}
}

func TestQueuePriority(t *testing.T) {
	e := newEnv(t)
	e.queue("low", LongestIdle, func(q *store.Queue) { q.Priority = 1 })
	e.queue("high", LongestIdle, func(q *store.Queue) { q.Priority = 10 })
	e.agent("a", "away", "low", "high")
	e.enqueue("low", newCall("l", "+15550001", ""))
	e.clock.Advance(time.Minute)
	e.enqueue("high", newCall("h", "+15550002", ""))
	e.must(e.a.SetStatus(e.ctx, "a", "available"))
	if got := e.ringing("a"); got != "h" {
		t.Fatalf("a rings for %q, want the high-priority queue's caller h", got)
	}
}

func TestLeavingWithdrawsTheOffer(t *testing.T) {
	e := newEnv(t)
	e.queue("q", LongestIdle)
	e.agent("a", "available", "q")
	evA, _ := e.a.Subscribe("a")

	c1 := newCall("c1", "+15550001", "")
	tk := e.enqueue("q", c1)
	if e.ringing("a") != "c1" {
		t.Fatal("c1 does not ring a")
	}
	e.clock.Advance(4 * time.Second)
	tk.Leave() // e.g. a response code
	ended := next(t, evA, EventCallEnded).Data.(CallData)
	if ended.CallID != "c1" || ended.Reason != "abandoned" {
		t.Fatalf("a was told %+v", ended)
	}
	e.wantSystem("a", SystemIdle)
	r := e.record("c1")
	if r.Result != "abandoned" || !r.Ended.Equal(t0.Add(4*time.Second)) || !r.Answered.IsZero() {
		t.Fatalf("record %+v", r)
	}
	tk.Leave() // idempotent
	wantErr(t, e.a.Answer(e.ctx, "a", "c1"), ErrNotFound)

	// The caller hangs up while ringing.
	c2 := newCall("c2", "+15550002", "")
	e.enqueue("q", c2)
	if e.ringing("a") != "c2" {
		t.Fatal("c2 does not ring a")
	}
	c2.hangup()
	ended = next(t, evA, EventCallEnded).Data.(CallData)
	if ended.CallID != "c2" || ended.Reason != "abandoned" {
		t.Fatalf("a was told %+v", ended)
	}
	eventually(t, "c2's record closed", func() bool { return e.record("c2").Result == "abandoned" })
	s, err := e.a.Stats("q")
	e.must(err)
	if s.Abandoned != 2 || s.Waiting != 0 {
		t.Fatalf("stats %+v", s)
	}
}
