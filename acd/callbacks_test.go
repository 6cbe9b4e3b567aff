package acd

import (
	"path/filepath"
	"reflect"
	"sync"
	"testing"
	"time"

	"github.com/switchboard-voice/switchboard/store"
)

func callbackConfigNames(t *testing.T, e *env) map[string]bool {
	t.Helper()
	cs, err := e.a.CallbackConfigs(e.ctx)
	e.must(err)
	out := map[string]bool{}
	for _, c := range cs {
		out[c.Name] = c.Managed
	}
	return out
}

func TestCallbackConfigsManagedAndCRUD(t *testing.T) {
	e := newEnv(t)
	e.queue("support", LongestIdle)
	created, err := e.a.CreateCallbackConfig(e.ctx, store.CallbackConfig{Name: "later", Type: "Manual", Queue: "support"})
	e.must(err)
	if created.ID != "later" || created.Type != store.CallbackManual || created.RetryDelay != DefaultCallbackRetryDelay ||
		created.Managed || !created.CreatedAt.Equal(t0) {
		t.Fatalf("created %+v, want id = name, type lower case, the default delay, not managed", created)
	}
	_, err = e.a.CreateCallbackConfig(e.ctx, store.CallbackConfig{Name: "later", Type: "manual", Queue: "support"})
	wantErr(t, err, ErrConflict)
	for _, bad := range []store.CallbackConfig{
		{Name: "x", Type: "sometimes", Queue: "support"},
		{Name: "x", Type: "manual", Queue: "nowhere"},
		{Name: "x", Type: "manual", Queue: "support", Priority: CallbackQueuePosition},
		{Name: "x", Type: "automated", Queue: "support", Priority: "first"},
		{Name: "x", Type: "automated", Queue: "support", Retries: 11},
		{Name: "x", Type: "automated", Queue: "support", RetryDelay: time.Second},
		{Name: "x", Type: "automated", Queue: "support", ConfirmationFile: "a.wav", ConfirmationSay: "hi"},
		{Name: " ", Type: "automated", Queue: "support"},
	} {
		_, err := e.a.CreateCallbackConfig(e.ctx, bad)
		wantErr(t, err, ErrInvalid)
	}

	auto := store.CallbackConfig{Name: "support-callback", Type: "automated", Queue: "support", Retries: 2,
		RetryDelay: 10 * time.Second, Priority: CallbackQueuePosition, ConfirmationFile: "tone.wav"}
	e.must(e.a.ApplyCallbackConfigs(e.ctx, []store.CallbackConfig{auto,
		{Name: "later", Type: "manual", Queue: "support", Retries: 1}})) // takes "later" over
	if got := callbackConfigNames(t, e); !reflect.DeepEqual(got, map[string]bool{"support-callback": true, "later": true}) {
		t.Fatalf("configs after apply = %v, want both managed", got)
	}
	_, err = e.a.UpdateCallbackConfig(e.ctx, store.CallbackConfig{Name: "later", Type: "manual", Queue: "support"})
	wantErr(t, err, ErrManaged)
	wantErr(t, e.a.DeleteCallbackConfig(e.ctx, "support-callback"), ErrManaged)
	wantErr(t, e.a.ApplyCallbackConfigs(e.ctx, []store.CallbackConfig{{Name: "y", Type: "manual", Queue: "nowhere"}}), ErrInvalid)
	if got := callbackConfigNames(t, e); len(got) != 2 {
		t.Fatalf("a refused apply changed the configs: %v", got)
	}

	// Dropped from the configuration: removed; the API's own stay and
	// may be changed.
	e.must(e.a.ApplyCallbackConfigs(e.ctx, []store.CallbackConfig{auto}))
	if got := callbackConfigNames(t, e); !reflect.DeepEqual(got, map[string]bool{"support-callback": true}) {
		t.Fatalf("configs after the second apply = %v", got)
	}
	_, err = e.a.CreateCallbackConfig(e.ctx, store.CallbackConfig{Name: "mine", Type: "manual", Queue: "support"})
	e.must(err)
	upd, err := e.a.UpdateCallbackConfig(e.ctx, store.CallbackConfig{Name: "mine", Type: "manual", Queue: "support", Retries: 4})
	e.must(err)
	if upd.Retries != 4 {
		t.Errorf("updated retries = %d, want 4", upd.Retries)
	}
	e.must(e.a.DeleteCallbackConfig(e.ctx, "mine"))
	_, err = e.a.CallbackConfig(e.ctx, "mine")
	wantErr(t, err, ErrNotFound)
}

// callbackEnv is an ACD with queue support (agents a and b), queue sales
// (agent s), and configurations manual (retries 1, 10 s) and auto.
func callbackEnv(t *testing.T, e *env) {
	t.Helper()
	e.queue("support", LongestIdle)
	e.queue("sales", LongestIdle)
	e.agent("a", store.StatusAway, "support")
	e.agent("b", store.StatusAway, "support")
	e.agent("s", store.StatusAway, "sales")
	e.must(e.a.ApplyCallbackConfigs(e.ctx, []store.CallbackConfig{
		{Name: "manual", Type: "manual", Queue: "support", Retries: 1, RetryDelay: 10 * time.Second},
		{Name: "auto", Type: "automated", Queue: "support"},
	}))
}

func TestCallbackManualLifecycle(t *testing.T) {
	e := newEnv(t)
	callbackEnv(t, e)
	_, err := e.a.RequestCallback(e.ctx, CallbackRequest{Config: "manual", Number: "5550142"})
	wantErr(t, err, ErrInvalid)
	_, err = e.a.RequestCallback(e.ctx, CallbackRequest{Config: "nope", Number: "+15550142"})
	wantErr(t, err, ErrNotFound)

	enq := t0.Add(-time.Minute)
	cb, err := e.a.RequestCallback(e.ctx, CallbackRequest{Config: "manual", Number: "+15550142", Enqueued: enq})
	e.must(err)
	if cb.Status != store.CallbackInQueue || cb.Queue != "support" || cb.Type != store.CallbackManual ||
		cb.ConversationID == "" || !cb.Enqueued.Equal(enq) || cb.Retries != 1 {
		t.Fatalf("requested %+v", cb)
	}
	auto, err := e.a.RequestCallback(e.ctx, CallbackRequest{Config: "auto", Number: "+15550143", Queue: "sales"})
	e.must(err)

	_, err = e.a.AssignCallback(e.ctx, "s", cb.ID)
	wantErr(t, err, ErrForbidden) // not in support
	_, err = e.a.AssignCallback(e.ctx, "s", auto.ID)
	wantErr(t, err, ErrState) // automated
	_, err = e.a.AssignCallback(e.ctx, "a", "nope")
	wantErr(t, err, ErrNotFound)
	got, err := e.a.AssignCallback(e.ctx, "a", cb.ID)
	e.must(err)
	if got.Status != store.CallbackAssigned || got.AgentID != "a" {
		t.Fatalf("assigned %+v", got)
	}
	_, err = e.a.AssignCallback(e.ctx, "b", cb.ID)
	wantErr(t, err, ErrState)
	_, err = e.a.CallbackDialing(e.ctx, cb.ID, "b")
	wantErr(t, err, ErrState) // assigned to a

	// The first attempt fails: no_reply until the retry delay passed.
	_, err = e.a.CallbackDialing(e.ctx, cb.ID, "a")
	e.must(err)
	got, err = e.a.CallbackAttempt(e.ctx, cb.ID, "a", 486, "Busy Here", false)
	e.must(err)
	if got.Status != store.CallbackNoReply || !got.NextAttemptAt.Equal(t0.Add(10*time.Second)) || got.AttemptsMade != 1 {
		t.Fatalf("after a failed attempt %+v", got)
	}
	_, err = e.a.CallbackAttempt(e.ctx, cb.ID, "a", 486, "Busy Here", false)
	wantErr(t, err, ErrState) // no_reply: not being called
	e.clock.Advance(9 * time.Second)
	e.a.Tick()
	if got, _ = e.a.Callback(e.ctx, cb.ID); got.Status != store.CallbackNoReply {
		t.Fatalf("status %s before the retry delay, want no_reply", got.Status)
	}
	e.clock.Advance(time.Second)
	e.a.Tick()
	if got, _ = e.a.Callback(e.ctx, cb.ID); got.Status != store.CallbackInQueue || got.AgentID != "" || !got.NextAttemptAt.IsZero() {
		t.Fatalf("after the retry delay %+v, want in_queue, no agent", got)
	}

	// The retry (by another agent) fails too: no retry left, closed.
	_, err = e.a.AssignCallback(e.ctx, "b", cb.ID)
	e.must(err)
	got, err = e.a.CallbackAttempt(e.ctx, cb.ID, "b", 408, "Request Timeout", false)
	e.must(err)
	if got.Status != store.CallbackNoReply || !got.NextAttemptAt.IsZero() || got.AttemptsMade != 2 || len(got.Attempts) != 2 {
		t.Fatalf("after the last attempt %+v, want no_reply, closed (no next attempt), with 2 attempts", got)
	}
	stored, err := e.a.Callback(e.ctx, cb.ID)
	e.must(err)
	want := []store.CallbackAttempt{
		{At: t0, AgentID: "a", SIPCode: 486, Reason: "Busy Here", Outcome: AttemptNoReply},
		{At: t0.Add(10 * time.Second), AgentID: "b", SIPCode: 408, Reason: "Request Timeout", Outcome: AttemptNoReply},
	}
	if !reflect.DeepEqual(stored.Attempts, want) {
		t.Errorf("stored attempts %+v, want %+v", stored.Attempts, want)
	}
	wantEvents := []string{"callback.requested", "callback.assigned", "callback.active", "callback.attempt",
		"callback.no_reply", "callback.requeued", "callback.assigned", "callback.attempt", "callback.no_reply",
		"callback.closed"}
	if got := e.eventTypes(cb.ConversationID); !reflect.DeepEqual(got, wantEvents) {
		t.Errorf("events %v, want %v", got, wantEvents)
	}

	// An answered attempt is done.
	cb2, err := e.a.RequestCallback(e.ctx, CallbackRequest{Config: "manual", Number: "+15550144"})
	e.must(err)
	_, err = e.a.AssignCallback(e.ctx, "b", cb2.ID)
	e.must(err)
	got, err = e.a.CallbackAttempt(e.ctx, cb2.ID, "b", 200, "OK", true)
	e.must(err)
	if got.Status != store.CallbackDone {
		t.Fatalf("answered: status %s, want done", got.Status)
	}

	// Lists: by status, type, queue and date.
	ids := func(f store.CallbackFilter) []string {
		t.Helper()
		cs, err := e.a.Callbacks(e.ctx, f)
		e.must(err)
		out := []string{}
		for _, c := range cs {
			out = append(out, c.ID)
		}
		return out
	}
	if got := ids(store.CallbackFilter{Status: store.CallbackInQueue}); !reflect.DeepEqual(got, []string{auto.ID}) {
		t.Errorf("in_queue = %v, want the automated one", got)
	}
	if got := ids(store.CallbackFilter{Type: store.CallbackManual, Queues: []string{"support"}}); !reflect.DeepEqual(got, []string{cb.ID, cb2.ID}) {
		t.Errorf("manual of support = %v", got)
	}
	if got := ids(store.CallbackFilter{From: t0.Add(time.Second)}); !reflect.DeepEqual(got, []string{cb2.ID}) {
		t.Errorf("from t0+1s = %v, want the last", got)
	}
	_, err = e.a.Callbacks(e.ctx, store.CallbackFilter{Status: "lost"})
	wantErr(t, err, ErrInvalid)
	names, err := e.a.AgentQueueNames("s")
	e.must(err)
	if !reflect.DeepEqual(names, []string{"sales"}) {
		t.Errorf("queues of s = %v", names)
	}
}

func TestCallbackAssignRace(t *testing.T) {
	e := newEnv(t)
	callbackEnv(t, e)
	cb, err := e.a.RequestCallback(e.ctx, CallbackRequest{Config: "manual", Number: "+15550142"})
	e.must(err)
	var wg sync.WaitGroup
	errs := make([]error, 2)
	for i, id := range []string{"a", "b"} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, errs[i] = e.a.AssignCallback(e.ctx, id, cb.ID)
		}()
	}
	wg.Wait()
	if (errs[0] == nil) == (errs[1] == nil) {
		t.Fatalf("assign errors %v, want exactly one success", errs)
	}
	for _, err := range errs {
		if err != nil {
			wantErr(t, err, ErrState)
		}
	}
}

// TestCallbackRetryAfterRestart: a request waiting for its retry goes back
// in queue at its due time after a restart.
func TestCallbackRetryAfterRestart(t *testing.T) {
	dsn := "sqlite://" + filepath.Join(t.TempDir(), "acd.db")
	clock := &fakeClock{t: t0}
	st := openStore(t, dsn)
	e := newEnvOn(t, st, clock)
	callbackEnv(t, e)
	cb, err := e.a.RequestCallback(e.ctx, CallbackRequest{Config: "manual", Number: "+15550142"})
	e.must(err)
	_, err = e.a.AssignCallback(e.ctx, "a", cb.ID)
	e.must(err)
	_, err = e.a.CallbackAttempt(e.ctx, cb.ID, "a", 480, "Temporarily Unavailable", false)
	e.must(err)
	e.a.Close()
	e.must(st.Close())

	clock.Advance(4 * time.Second)
	st2 := openStore(t, dsn)
	t.Cleanup(func() { st2.Close() })
	e2 := newEnvOn(t, st2, clock)
	if got, _ := e2.a.Callback(e2.ctx, cb.ID); got.Status != store.CallbackNoReply {
		t.Fatalf("after restart %s, want no_reply until due", got.Status)
	}
	clock.Advance(6 * time.Second)
	e2.a.Tick()
	if got, _ := e2.a.Callback(e2.ctx, cb.ID); got.Status != store.CallbackInQueue {
		t.Fatalf("at its due time after restart %s, want in_queue", got.Status)
	}
}
