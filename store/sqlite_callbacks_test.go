package store

import (
	"context"
	"sync"
	"testing"
	"time"
)

func TestCallbackConfigs(t *testing.T) {
	eachDB(t, func(t *testing.T, s *SQLite) {
		ctx := context.Background()
		auto := CallbackConfig{ID: "support-callback", Name: "support-callback", Type: CallbackAutomated, Queue: "support",
			Retries: 2, RetryDelay: 10 * time.Second, Priority: "queue_position", ConfirmationFile: "tone.wav",
			CallerID: "+15550100", Schedule: "office", Managed: true}
		must(t, s.PutCallbackConfig(ctx, auto))
		must(t, s.PutCallbackConfig(ctx, CallbackConfig{ID: "manual", Name: "manual", Type: CallbackManual,
			Queue: "support", RetryDelay: time.Minute, ConfirmationSay: "We will call you"}))
		got, err := s.GetCallbackConfig(ctx, "support-callback")
		must(t, err)
		want := auto
		want.CreatedAt, want.UpdatedAt = t0, t0
		wantEqual(t, "callback config", got, want)

		list, err := s.ListCallbackConfigs(ctx)
		must(t, err)
		wantEqual(t, "configs by name", []string{list[0].Name, list[1].Name}, []string{"manual", "support-callback"})
		wantEqual(t, "manual's say", list[0].ConfirmationSay, "We will call you")

		err = s.PutCallbackConfig(ctx, CallbackConfig{ID: "other", Name: "manual", Type: CallbackManual, Queue: "q"})
		wantErr(t, err, ErrConflict)
		must(t, s.DeleteCallbackConfig(ctx, "manual"))
		wantErr(t, s.DeleteCallbackConfig(ctx, "manual"), ErrNotFound)
		_, err = s.GetCallbackConfig(ctx, "manual")
		wantErr(t, err, ErrNotFound)
	})
}

func TestCallbacks(t *testing.T) {
	eachDB(t, func(t *testing.T, s *SQLite) {
		ctx := context.Background()
		day := time.Date(2025, 3, 1, 9, 0, 0, 0, time.UTC)
		a := Callback{ID: "cb1", Config: "support-callback", Type: CallbackAutomated, Queue: "support", Retries: 2,
			RetryDelay: 10 * time.Second,
			Number:     "+15550142", ConversationID: "conv1", Enqueued: day.Add(-time.Minute), CreatedAt: day,
			UpdatedAt: day, Status: CallbackInQueue}
		b := Callback{ID: "cb2", Config: "manual", Type: CallbackManual, Queue: "sales", Number: "+15550143",
			CreatedAt: day.Add(time.Hour), UpdatedAt: day.Add(time.Hour), Status: CallbackInQueue}
		c := Callback{ID: "cb3", Config: "manual", Type: CallbackManual, Queue: "support", Number: "+15550144",
			CreatedAt: day.Add(24 * time.Hour), UpdatedAt: day.Add(24 * time.Hour), Status: CallbackDone}
		for _, x := range []Callback{c, b, a} {
			must(t, s.PutCallback(ctx, x))
		}
		got, err := s.GetCallback(ctx, "cb1")
		must(t, err)
		want := a
		want.Attempts = []CallbackAttempt{}
		wantEqual(t, "callback cb1", got, want)
		_, err = s.GetCallback(ctx, "nope")
		wantErr(t, err, ErrNotFound)

		ids := func(f CallbackFilter) []string {
			t.Helper()
			list, err := s.ListCallbacks(ctx, f)
			must(t, err)
			out := []string{}
			for _, x := range list {
				out = append(out, x.ID)
			}
			return out
		}
		wantEqual(t, "all, oldest first", ids(CallbackFilter{}), []string{"cb1", "cb2", "cb3"})
		wantEqual(t, "in queue", ids(CallbackFilter{Status: CallbackInQueue}), []string{"cb1", "cb2"})
		wantEqual(t, "manual in queue", ids(CallbackFilter{Status: CallbackInQueue, Type: CallbackManual}), []string{"cb2"})
		wantEqual(t, "from", ids(CallbackFilter{From: day.Add(time.Hour)}), []string{"cb2", "cb3"})
		wantEqual(t, "to (exclusive)", ids(CallbackFilter{To: day.Add(time.Hour)}), []string{"cb1"})
		wantEqual(t, "queues", ids(CallbackFilter{Queues: []string{"support"}}), []string{"cb1", "cb3"})
		wantEqual(t, "no queues", ids(CallbackFilter{Queues: []string{}}), []string{})

		// Only one of two concurrent conditional updates wins.
		var wg sync.WaitGroup
		wins := make([]bool, 2)
		for i, agent := range []string{"agent1", "agent2"} {
			wg.Add(1)
			go func() {
				defer wg.Done()
				x := b
				x.Status, x.AgentID = CallbackAssigned, agent
				ok, err := s.UpdateCallbackIf(ctx, x, CallbackInQueue)
				if err != nil {
					t.Error(err)
				}
				wins[i] = ok
			}()
		}
		wg.Wait()
		if wins[0] == wins[1] {
			t.Fatalf("conditional updates: %v, want exactly one", wins)
		}
		got, err = s.GetCallback(ctx, "cb2")
		must(t, err)
		winner := map[bool]string{true: "agent1", false: "agent2"}[wins[0]]
		wantEqual(t, "cb2 after the race", []string{got.Status, got.AgentID}, []string{CallbackAssigned, winner})
		_, err = s.UpdateCallbackIf(ctx, Callback{ID: "nope", Status: CallbackAssigned}, CallbackInQueue)
		wantErr(t, err, ErrNotFound)

		// Attempts append in order with the request's new state.
		a.Status, a.AttemptsMade, a.NextAttemptAt = CallbackNoReply, 1, day.Add(10*time.Minute)
		must(t, s.AddCallbackAttempt(ctx, a, CallbackAttempt{At: day.Add(5 * time.Minute), AgentID: "agent1",
			SIPCode: 486, Reason: "Busy Here", Outcome: "no_reply"}))
		a.Status, a.AttemptsMade, a.NextAttemptAt = CallbackDone, 2, time.Time{}
		must(t, s.AddCallbackAttempt(ctx, a, CallbackAttempt{At: day.Add(20 * time.Minute), AgentID: "agent2",
			SIPCode: 200, Reason: "OK", Outcome: "answered"}))
		got, err = s.GetCallback(ctx, "cb1")
		must(t, err)
		wantEqual(t, "cb1 status", []any{got.Status, got.AttemptsMade, got.NextAttemptAt}, []any{CallbackDone, 2, time.Time{}})
		wantEqual(t, "cb1 attempts", got.Attempts, []CallbackAttempt{
			{At: day.Add(5 * time.Minute), AgentID: "agent1", SIPCode: 486, Reason: "Busy Here", Outcome: "no_reply"},
			{At: day.Add(20 * time.Minute), AgentID: "agent2", SIPCode: 200, Reason: "OK", Outcome: "answered"},
		})
		list, err := s.ListCallbacks(ctx, CallbackFilter{Status: CallbackDone})
		must(t, err)
		wantEqual(t, "listed attempts", len(list[0].Attempts), 2)
		// Listed together, each request has its own attempts.
		all, err := s.ListCallbacks(ctx, CallbackFilter{})
		must(t, err)
		counts := map[string]int{}
		for _, x := range all {
			counts[x.ID] = len(x.Attempts)
			if x.Attempts == nil {
				t.Errorf("%s: nil attempts, want an empty list", x.ID)
			}
		}
		wantEqual(t, "attempts by request", counts, map[string]int{"cb1": 2, "cb2": 0, "cb3": 0})
		err = s.AddCallbackAttempt(ctx, Callback{ID: "nope"}, CallbackAttempt{Outcome: "no_reply"})
		wantErr(t, err, ErrNotFound)
	})
}
