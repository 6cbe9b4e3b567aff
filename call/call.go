package call

import (
	"context"
	"log/slog"
	"sync"
	"time"

	"github.com/switchboard-voice/switchboard/media"
)

// State is where a call is in its life.
type State int

// Call states.
const (
	StateSetup State = iota
	StateRinging
	StateEarlyMedia
	StateAnswered
	StateEnded
)

func (s State) String() string {
	return [...]string{"setup", "ringing", "early_media", "answered", "ended"}[s]
}

// Record is a call detail record.
type Record struct {
	CallID   string
	Trunk    string
	OutTrunk string
	From     string
	To       string
	Start    time.Time
	Answer   time.Time // zero when never answered
	End      time.Time
	Cause    Cause
	// Result summarises the outcome for metrics: answered, busy, no_answer,
	// cancelled, failed, rejected.
	Result string
}

// Call is one call through the switch: its inbound leg, the legs it dials and
// the media bridge between them. A single mutex guards its fields; the bridge
// loop in Connect is the only goroutine that drives signalling between legs.
type Call struct {
	log *slog.Logger

	mu     sync.Mutex
	in     Inbound
	legs   []Leg
	state  State
	record Record
	relay  *media.Relay
	done   chan struct{}
	onEnd  []func(Record)
}

// New starts a call for an inbound leg.
func New(in Inbound, log *slog.Logger) *Call {
	c := &Call{
		in:    in,
		legs:  []Leg{in},
		done:  make(chan struct{}),
		state: StateSetup,
		record: Record{
			CallID: in.ID(),
			Trunk:  in.Trunk(),
			From:   in.From().Number,
			To:     in.To().Number,
			Start:  time.Now(),
		},
	}
	c.log = log.With("call_id", in.ID(), "trunk", in.Trunk())
	return c
}

// ID is the inbound leg's ID.
func (c *Call) ID() string { return c.record.CallID }

// Inbound returns the caller's leg.
func (c *Call) Inbound() Inbound { return c.in }

// Log is the call's logger (call ID and trunk attached).
func (c *Call) Log() *slog.Logger { return c.log }

// State returns the call's current state.
func (c *Call) State() State {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.state
}

// Done is closed when the call has ended.
func (c *Call) Done() <-chan struct{} { return c.done }

// Record returns a copy of the call detail record so far.
func (c *Call) Record() Record {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.record
}

// OnEnd registers f to run with the final record when the call ends.
func (c *Call) OnEnd(f func(Record)) {
	c.mu.Lock()
	c.onEnd = append(c.onEnd, f)
	c.mu.Unlock()
}

func (c *Call) setState(s State) {
	c.mu.Lock()
	c.state = s
	if s == StateAnswered {
		c.record.Answer = time.Now()
	}
	c.mu.Unlock()
}

// End finishes the call with cause, hanging up every leg still up.
// It is idempotent.
func (c *Call) End(ctx context.Context, cause Cause) {
	c.mu.Lock()
	if c.state == StateEnded {
		c.mu.Unlock()
		return
	}
	c.state = StateEnded
	legs := append([]Leg(nil), c.legs...)
	relay := c.relay
	c.record.End = time.Now()
	c.record.Cause = cause
	if c.record.Result == "" {
		c.record.Result = resultOf(cause, !c.record.Answer.IsZero())
	}
	rec := c.record
	hooks := c.onEnd
	c.mu.Unlock()

	if relay != nil {
		relay.Stop()
	}
	for _, l := range legs {
		if err := l.Hangup(ctx, cause); err != nil {
			c.log.Debug("hang up leg", "leg", l.ID(), "error", err)
		}
	}
	close(c.done)
	for _, f := range hooks {
		f(rec)
	}
	c.log.Info("call ended", "cause", cause.String(), "result", rec.Result,
		"duration", rec.End.Sub(rec.Start).Round(time.Millisecond))
}

func resultOf(cause Cause, answered bool) string {
	if answered {
		return "answered"
	}
	switch cause.Code {
	case 486, 600:
		return "busy"
	case 480, 408:
		return "no_answer"
	case 487:
		return "cancelled"
	case 403, 404, 401, 407, 483, 488:
		return "rejected"
	}
	return "failed"
}
