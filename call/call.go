package call

import (
	"cmp"
	"context"
	"log/slog"
	"sync"
	"sync/atomic"
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
	// Transcoded is true when the call's media was ever decoded and
	// re-encoded (different codecs on its legs).
	Transcoded bool
	// MediaTimeout is true when the call was hung up because a leg sent no RTP.
	MediaTimeout bool
	// Quality has one entry per leg that carried media, measured by the
	// switch over the whole call.
	Quality []LegQuality
}

// LegQuality is what the switch measured on one leg's stream.
type LegQuality struct {
	Leg             string
	Codec           string
	PacketsReceived uint64
	PacketsLost     int64
	LossPercent     float64
	Jitter          time.Duration
	RTT             time.Duration // 0 when the peer sent no usable RTCP
	MOS             float64
}

// Options tune a call's media supervision.
type Options struct {
	// MediaTimeout hangs the call up when a leg that should be sending
	// (not on hold) has sent no RTP for this long; 0 = never.
	MediaTimeout time.Duration
	// QualityInterval is how often each leg's MOS is evaluated for
	// "connection is weak" notices; 0 = 5 s.
	QualityInterval time.Duration
	// ID is the call's id; "" takes the anchor leg's. A call the switch
	// starts on an agent's leg takes the contact center's call id.
	ID string
}

// NoticeKind says what a Notice reports.
type NoticeKind int

// Notices a call sends to its observers.
const (
	// NoticeDTMF: a party pressed a key.
	NoticeDTMF NoticeKind = iota
	// NoticeQuality: a leg's connection became weak (MOS below 4) or recovered.
	NoticeQuality
)

// Notice is something observers of a call (the dialplan, the agent panel,
// metrics) may want to know while it runs.
type Notice struct {
	Kind    NoticeKind
	Leg     string // the leg's ID
	Inbound bool   // the leg is the caller's
	Digit   rune
	Weak    bool
	MOS     float64
}

// Call is one call through the switch: its anchor leg (the customer), the
// parties that join and leave it one at a time, and the media between them.
// A single mutex guards its fields; once a party is dialled, the bridge
// loop (bridge.go) is the call's one owner: it alone drives signalling
// between legs, and commands (hold, release, join, dial a party) reach it
// through cmds.
type Call struct {
	log *slog.Logger
	ctx context.Context // for the call's own work (see New)

	mu sync.Mutex
	// anchor is the anchor leg (Anchor; Inbound when it is a leg the
	// switch answers). The bridge loop may swap it (a REFER from it, an
	// agent's customer answering); everyone else reads it through Anchor
	// and Inbound.
	anchor atomic.Pointer[legRef]
	legs   []Leg
	state  State
	record Record
	media  media.Bridge
	done   chan struct{}
	onEnd  []func(Record)
	notify []func(Notice)
	opts   Options
	dtmf   map[Leg]chan DTMF  // per receiving leg, drained by one sender goroutine
	local  *media.Description // the switch's own answer to the caller (prompts), if any
	vars   map[string]string  // the dialplan's variables (set action), read by the ACD too

	superviseOnce sync.Once // supervise starts when the caller is first answered

	// The pump (local.go) reads the caller's events when no bridge does.
	pumpPause, pumpResume, pumpDone chan struct{}
	digits                          chan DTMF

	cmds    chan command // commands to the bridge loop
	feed    feeder       // music played to the anchor
	onRefer ReferHandler
}

// New starts a call anchored on a leg: the customer's. The anchor is
// usually the caller's leg (an Inbound, answered by the switch); it may be
// any leg, such as one the switch placed, which is then taken as answered.
// Only the anchor's end (or End) ends the call.
//
// ctx is the context the call's own work runs under (its pump, digits sent
// to legs, hang-ups it decides): the request's that created it, without its
// cancellation, since the call outlives the request.
func New(ctx context.Context, anchor Leg, log *slog.Logger, o Options) *Call {
	if o.QualityInterval <= 0 {
		o.QualityInterval = 5 * time.Second
	}
	c := &Call{
		ctx:    context.WithoutCancel(ctx),
		opts:   o,
		dtmf:   map[Leg]chan DTMF{},
		cmds:   make(chan command),
		legs:   []Leg{anchor},
		done:   make(chan struct{}),
		state:  StateSetup,
		record: Record{CallID: cmp.Or(o.ID, anchor.ID()), Start: time.Now()},
	}
	c.anchor.Store(&legRef{anchor})
	if in, ok := anchor.(Inbound); ok {
		c.record.Trunk, c.record.From, c.record.To = in.Trunk(), in.From().Number, in.To().Number
	} else {
		c.state = StateAnswered
		c.record.Answer = c.record.Start
	}
	c.log = log.With("call_id", c.record.CallID, "trunk", c.record.Trunk)
	c.startPump()
	return c
}

// ID is the call's id: Options.ID, else the anchor leg's at the start.
func (c *Call) ID() string { return c.record.CallID }

// Inbound returns the caller's leg: the anchor when it is a leg the switch
// answers, else nil.
func (c *Call) Inbound() Inbound {
	in, _ := c.Anchor().(Inbound)
	return in
}

// Anchor returns the anchor leg.
func (c *Call) Anchor() Leg { return c.anchor.Load().leg }

// legRef boxes a Leg for atomic.Pointer.
type legRef struct{ leg Leg }

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

// OnNotice registers f to receive the call's notices (digits, quality). f
// runs on the call's goroutines and must not block.
func (c *Call) OnNotice(f func(Notice)) {
	c.mu.Lock()
	c.notify = append(c.notify, f)
	c.mu.Unlock()
}

func (c *Call) emit(n Notice) {
	c.mu.Lock()
	fs := c.notify
	c.mu.Unlock()
	for _, f := range fs {
		f(n)
	}
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
	bridge := c.media
	c.record.End = time.Now()
	c.record.Quality = legQuality(legs)
	if cause == mediaTimeout {
		c.record.MediaTimeout = true
	}
	c.record.Cause = cause
	if c.record.Result == "" {
		c.record.Result = resultOf(cause, !c.record.Answer.IsZero())
	}
	rec := c.record
	hooks := c.onEnd
	c.mu.Unlock()

	if bridge != nil {
		bridge.Stop()
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

// Set sets one of the call's variables (the dialplan's set action); other
// parts of the switch read well-known ones, such as a queue's caller
// priority.
func (c *Call) Set(name, value string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.vars == nil {
		c.vars = map[string]string{}
	}
	c.vars[name] = value
}

// Var is the value of one of the call's variables, "" when unset.
func (c *Call) Var(name string) string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.vars[name]
}
