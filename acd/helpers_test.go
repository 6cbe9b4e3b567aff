package acd

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/switchboard-voice/switchboard/call"
	"github.com/switchboard-voice/switchboard/store"
)

// t0 is the fake clock's start (whole milliseconds: the store keeps those).
var t0 = time.Date(2026, 1, 5, 9, 0, 0, 0, time.UTC)

type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// fakeIn is the caller's leg: only what the ACD uses.
type fakeIn struct {
	call.Inbound
	id   string
	from call.Party
	mu   sync.Mutex
	dtmf []rune
}

func (f *fakeIn) ID() string       { return f.id }
func (f *fakeIn) From() call.Party { return f.from }
func (f *fakeIn) To() call.Party   { return call.Party{Number: "+442071234567"} }
func (f *fakeIn) Trunk() string    { return "carrier-a" }
func (f *fakeIn) SendDTMF(_ context.Context, d rune, _ time.Duration) error {
	f.mu.Lock()
	f.dtmf = append(f.dtmf, d)
	f.mu.Unlock()
	return nil
}

func (f *fakeIn) digits() string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return string(f.dtmf)
}

// fakeCall is a caller without SIP.
type fakeCall struct {
	in    *fakeIn
	done  chan struct{}
	once  sync.Once
	mu    sync.Mutex
	cause *call.Cause
	holds []string // "leg:on" per Hold
	hold  error    // what Hold returns
	// parties are the party commands: release:LEG, join:LEG, dial:NUMBER.
	parties []string
	dial    error // what DialParty returns
}

func newCall(id, number, name string) *fakeCall {
	return &fakeCall{in: &fakeIn{id: id, from: call.Party{Number: number, Name: name}}, done: make(chan struct{})}
}

func (c *fakeCall) ID() string            { return c.in.id }
func (c *fakeCall) Inbound() call.Inbound { return c.in }
func (c *fakeCall) Anchor() call.Leg      { return c.in }
func (c *fakeCall) Done() <-chan struct{} { return c.done }
func (c *fakeCall) hangup()               { c.End(context.Background(), call.Normal) }
func (c *fakeCall) End(_ context.Context, cause call.Cause) {
	c.once.Do(func() {
		c.mu.Lock()
		c.cause = &cause
		c.mu.Unlock()
		close(c.done)
	})
}

// HoldWith records the hold (and fails with c.hold, when set).
func (c *fakeCall) HoldWith(_ context.Context, leg call.Leg, on bool, _ *call.Music) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.holds = append(c.holds, fmt.Sprintf("%s:%v", leg.ID(), on))
	return c.hold
}

// Release records that leg left (and hangs it up, as the call does).
func (c *fakeCall) Release(ctx context.Context, leg call.Leg, cause call.Cause, _ *call.Music) error {
	c.mu.Lock()
	c.parties = append(c.parties, "release:"+leg.ID())
	c.mu.Unlock()
	return leg.Hangup(ctx, cause)
}

// Join records that leg joined.
func (c *fakeCall) Join(_ context.Context, leg call.Leg) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.parties = append(c.parties, "join:"+leg.ID())
	return nil
}

// DialParty records the request and fails with c.dial, when set.
func (c *fakeCall) DialParty(_ context.Context, _ call.Dialer, r call.DialRequest, _ *call.Music) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.parties = append(c.parties, "dial:"+r.To)
	return c.dial
}

func (c *fakeCall) partyCalls() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]string(nil), c.parties...)
}

func (c *fakeCall) setHoldErr(err error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.hold = err
}

func (c *fakeCall) holdCalls() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]string(nil), c.holds...)
}

func (c *fakeCall) ended() *call.Cause {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.cause
}

// fakeLeg is an agent's leg.
type fakeLeg struct {
	call.Leg
	id   string
	mu   sync.Mutex
	hung bool
}

func (l *fakeLeg) ID() string { return l.id }
func (l *fakeLeg) Hangup(context.Context, call.Cause) error {
	l.mu.Lock()
	l.hung = true
	l.mu.Unlock()
	return nil
}

func (l *fakeLeg) isHung() bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.hung
}

type fakeMedia struct {
	mu   sync.Mutex
	fail map[string]error // by agent
	legs map[string]*fakeLeg
}

func (m *fakeMedia) Attach(_ context.Context, agentID, callID string) (call.Leg, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if err := m.fail[agentID]; err != nil {
		return nil, err
	}
	l := &fakeLeg{id: "agent-" + agentID + "-" + callID}
	if m.legs == nil {
		m.legs = map[string]*fakeLeg{}
	}
	m.legs[callID] = l
	return l, nil
}

func (m *fakeMedia) leg(callID string) *fakeLeg {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.legs[callID]
}

func (m *fakeMedia) failFor(agentID string, err error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.fail == nil {
		m.fail = map[string]error{}
	}
	m.fail[agentID] = err
}

type env struct {
	t     *testing.T
	ctx   context.Context
	clock *fakeClock
	st    *store.SQLite
	media *fakeMedia
	a     *ACD
	opts  Options
}

func testLog(t testing.TB) *slog.Logger {
	if os.Getenv("ACD_TEST_LOG") != "" {
		return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	return slog.New(slog.NewTextHandler(io.Discard, nil))
}

func openStore(t testing.TB, dsn string) *store.SQLite {
	t.Helper()
	st, err := store.Open(context.Background(), dsn)
	if err != nil {
		t.Fatalf("store.Open(%q): %v", dsn, err)
	}
	return st
}

// newEnv is an ACD on an in-memory SQLite store with a fake clock. mutate
// may change the options.
func newEnv(t *testing.T, mutate ...func(*Options)) *env {
	t.Helper()
	st := openStore(t, "sqlite://:memory:")
	t.Cleanup(func() { st.Close() })
	return newEnvOn(t, st, &fakeClock{t: t0}, mutate...)
}

func newEnvOn(t *testing.T, st *store.SQLite, clock *fakeClock, mutate ...func(*Options)) *env {
	t.Helper()
	e := &env{t: t, ctx: context.Background(), clock: clock, st: st, media: &fakeMedia{}}
	e.opts = Options{
		Store: st, Media: e.media, Log: testLog(t), Now: clock.Now,
		Rand: rand.New(rand.NewPCG(1, 2)),
	}
	for _, m := range mutate {
		m(&e.opts)
	}
	a, err := New(e.ctx, e.opts)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	t.Cleanup(func() { a.Close() })
	e.a = a
	return e
}

func (e *env) must(err error) {
	e.t.Helper()
	if err != nil {
		e.t.Fatal(err)
	}
}

func wantErr(t testing.TB, err, target error) {
	t.Helper()
	if !errors.Is(err, target) {
		t.Fatalf("got error %v, want %v", err, target)
	}
}

// queue creates a queue with automatic assignment on.
func (e *env) queue(name, strategy string, mutate ...func(*store.Queue)) store.Queue {
	e.t.Helper()
	q := store.Queue{Name: name, Strategy: strategy, AutoAssign: true}
	for _, m := range mutate {
		m(&q)
	}
	q, err := e.a.CreateQueue(e.ctx, q)
	e.must(err)
	return q
}

// agent creates an agent in queues with status.
func (e *env) agent(id, status string, queues ...string) store.Agent {
	e.t.Helper()
	ag, err := e.a.CreateAgent(e.ctx, AgentSpec{Agent: store.Agent{ID: id, Name: "Agent " + id, Status: status, Queues: queues}})
	e.must(err)
	return ag
}

func (e *env) enqueue(queue string, c *fakeCall) *Ticket {
	e.t.Helper()
	tk, err := e.a.Enqueue(e.ctx, queue, c)
	e.must(err)
	return tk
}

func (e *env) enqueueWith(queue string, c *fakeCall, o EnqueueOptions) *Ticket {
	e.t.Helper()
	tk, err := e.a.EnqueueWith(e.ctx, queue, c, o)
	e.must(err)
	return tk
}

func (e *env) state(agentID string) AgentInfo {
	e.t.Helper()
	info, err := e.a.GetAgent(agentID)
	e.must(err)
	return info
}

// ringing returns the call ringing for agentID, or "".
func (e *env) ringing(agentID string) string {
	e.t.Helper()
	s := e.state(agentID).State
	if s.System != SystemRinging {
		return ""
	}
	return s.CallID
}

// offeredTo returns the agent the call rings for, or "".
func (e *env) offeredTo(callID string) string {
	e.t.Helper()
	for _, info := range e.a.ListAgents() {
		if info.State.System == SystemRinging && info.State.CallID == callID {
			return info.ID
		}
	}
	return ""
}

func (e *env) wantSystem(agentID, system string) {
	e.t.Helper()
	if got := e.state(agentID).State.System; got != system {
		e.t.Fatalf("agent %s system state %q, want %q", agentID, got, system)
	}
}

// eventually polls cond until it holds; the ACD reacts to a caller's
// hang-up on its own goroutine.
func eventually(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(2 * time.Millisecond)
	}
}

// next returns the next event of type typ from ch, skipping others.
func next(t testing.TB, ch <-chan Event, typ string) Event {
	t.Helper()
	timeout := time.After(5 * time.Second)
	for {
		select {
		case ev, ok := <-ch:
			if !ok {
				t.Fatalf("subscription closed while waiting for %s", typ)
			}
			if ev.Type == typ {
				return ev
			}
		case <-timeout:
			t.Fatalf("no %s event", typ)
		}
	}
}

// drain returns the events buffered in ch.
func drain(ch <-chan Event) []Event {
	var out []Event
	for {
		select {
		case ev, ok := <-ch:
			if !ok {
				return out
			}
			out = append(out, ev)
		default:
			return out
		}
	}
}

// answer makes agentID answer callID.
func (e *env) answer(agentID, callID string) {
	e.t.Helper()
	e.must(e.a.Answer(e.ctx, agentID, callID))
}

// record returns a call record from the store.
func (e *env) record(callID string) store.CallRecord {
	e.t.Helper()
	r, err := e.st.GetCallRecord(e.ctx, callID)
	e.must(err)
	return r
}

func (e *env) eventTypes(convID string) []string {
	e.t.Helper()
	evs, err := e.st.ListEvents(e.ctx, convID)
	e.must(err)
	var out []string
	for _, ev := range evs {
		out = append(out, ev.Type)
	}
	return out
}
