package acd

import (
	"context"
	"fmt"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/switchboard-voice/switchboard/store"
)

const (
	benchAgents  = 1000
	benchWaiting = 10000
)

// benchACD is an ACD whose queue has benchAgents Available agents and
// benchWaiting callers waiting, none offered yet.
func benchACD(b *testing.B, strategy string) (*ACD, *queue) {
	return benchACDWith(b, strategy, nil)
}

// benchACDWith is benchACD with callbacks: before the callers, callbacks
// requests the given number of automated callbacks (priority and schedule
// of config cb) waiting in the same queue; the schedule "closed" is.
func benchACDWith(b *testing.B, strategy string, callbacks *benchCallbacks) (*ACD, *queue) {
	b.Helper()
	ctx := context.Background()
	st := openStore(b, "sqlite://:memory:")
	b.Cleanup(func() { st.Close() })
	clock := &fakeClock{t: t0}
	a, err := New(ctx, Options{Store: st, Log: testLog(b), Now: clock.Now, HeartbeatTimeout: -1,
		Rand: rand.New(rand.NewPCG(1, 2)), Calls: fakeCalls{closed: "closed"}})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { a.Close() })
	// Automatic assignment off while callers arrive, so that none is offered.
	qc, err := a.CreateQueue(ctx, store.Queue{Name: "bench", Strategy: strategy})
	if err != nil {
		b.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(3, 4))
	for i := range benchAgents {
		id := fmt.Sprintf("agent-%04d", i)
		if _, err := a.CreateAgent(ctx, AgentSpec{Agent: store.Agent{ID: id, Name: id, Status: "available",
			Queues: []string{qc.ID}}}); err != nil {
			b.Fatal(err)
		}
		// Varied histories, as the strategies read them.
		s := &a.agents[id].st
		s.LastCallEnded = t0.Add(-time.Duration(rng.IntN(3600)) * time.Second)
		s.LastOffered = t0.Add(-time.Duration(rng.IntN(3600)) * time.Second)
		s.CallsTaken = rng.IntN(50)
		s.TalkTime = time.Duration(rng.IntN(3600)) * time.Second
	}
	waiting := benchWaiting
	if callbacks != nil {
		if _, err := a.CreateCallbackConfig(ctx, store.CallbackConfig{Name: "cb", Type: store.CallbackAutomated,
			Queue: "bench", Priority: callbacks.priority, Schedule: callbacks.schedule}); err != nil {
			b.Fatal(err)
		}
		for i := range callbacks.n {
			if _, err := a.RequestCallback(ctx, CallbackRequest{Config: "cb", Number: fmt.Sprintf("+1777%07d", i)}); err != nil {
				b.Fatal(err)
			}
			clock.Advance(time.Millisecond)
		}
		waiting += callbacks.n
	}
	for i := range benchWaiting {
		c := newCall(fmt.Sprintf("call-%05d", i), fmt.Sprintf("+1555%07d", i), "")
		prio := rng.IntN(3)
		if callbacks != nil {
			prio = 0 // callers and callbacks ordered by time alone
		}
		if _, err := a.EnqueueWith(ctx, "bench", c, EnqueueOptions{Priority: prio}); err != nil {
			b.Fatal(err)
		}
		clock.Advance(time.Millisecond)
	}
	a.mu.Lock()
	q := a.queues[qc.ID]
	q.cfg.AutoAssign = true
	a.mu.Unlock()
	if len(q.waiting) != waiting || len(q.members) != benchAgents {
		b.Fatalf("%d waiting, %d members", len(q.waiting), len(q.members))
	}
	return a, q
}

// BenchmarkAssign is one assignment decision (the next caller and the agent
// the strategy puts first) with 1,000 Available agents and 10,000 callers
// waiting.
func BenchmarkAssign(b *testing.B) {
	for _, strategy := range []string{LongestIdle, RoundRobin, FewestCalls, LeastTalkTime, Random} {
		b.Run(strategy, func(b *testing.B) {
			a, q := benchACD(b, strategy)
			a.mu.Lock()
			defer a.mu.Unlock()
			for b.Loop() {
				e, ag := a.pickLocked(q)
				if e == nil || ag == nil {
					b.Fatal("no decision")
				}
			}
		})
	}
}

// benchCallbacks are automated callbacks waiting in a benchmark's queue.
type benchCallbacks struct {
	n                  int
	priority, schedule string
}

// BenchmarkAssignCallbacks is BenchmarkAssign with 10,000 automated
// callbacks waiting too (requested before the 10,000 callers): in their
// place (queue_position: the decision takes the first callback), after the
// callers (inbound_first), or at the head but outside their schedule (the
// decision passes over all 10,000 to reach a caller).
func BenchmarkAssignCallbacks(b *testing.B) {
	for _, tc := range []struct {
		name string
		cb   benchCallbacks
		kind string // what the decision picks
	}{
		{"queue_position", benchCallbacks{benchWaiting, CallbackQueuePosition, ""}, CallCallback},
		{"inbound_first", benchCallbacks{benchWaiting, CallbackInboundFirst, ""}, CallRegular},
		{"outside_schedule", benchCallbacks{benchWaiting, CallbackQueuePosition, "closed"}, CallRegular},
	} {
		b.Run(tc.name, func(b *testing.B) {
			a, q := benchACDWith(b, LongestIdle, &tc.cb)
			a.mu.Lock()
			defer a.mu.Unlock()
			for b.Loop() {
				e, ag := a.pickLocked(q)
				if e == nil || ag == nil || e.kind != tc.kind {
					b.Fatalf("decision %v, want a %s", e, tc.kind)
				}
			}
		})
	}
}

// BenchmarkAssignOffer is a decision with what follows it: the offer (agent
// state and conversation event written to the in-memory SQLite store, the
// agent's event published) and the offer taken back, the caller going back
// to its place.
func BenchmarkAssignOffer(b *testing.B) {
	a, q := benchACD(b, LongestIdle)
	a.mu.Lock()
	defer a.mu.Unlock()
	now := a.now()
	for b.Loop() {
		e, ag := a.pickLocked(q)
		if e == nil {
			b.Fatal("no decision")
		}
		a.offerLocked(e, ag, now)
		a.returnOfferLocked(e, now, "declined")
		e.tried = nil
	}
}

// BenchmarkEnqueue is a caller joining a queue of 10,000 (conversation
// looked up and written, call record written) with no agent free.
func BenchmarkEnqueue(b *testing.B) {
	a, _ := benchACD(b, LongestIdle)
	a.mu.Lock()
	for _, ag := range a.agents {
		ag.cfg.Status = store.StatusAway
	}
	a.mu.Unlock()
	ctx := context.Background()
	i := 0
	for b.Loop() {
		i++
		c := newCall(fmt.Sprintf("more-%d", i), fmt.Sprintf("+1666%07d", i), "")
		if _, err := a.Enqueue(ctx, "bench", c); err != nil {
			b.Fatal(err)
		}
	}
}
