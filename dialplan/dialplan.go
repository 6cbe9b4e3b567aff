// Package dialplan runs calls: routes match an incoming call (trunk, caller,
// called number) and name a flow; a flow is a list of actions run in order:
// answer, early_media, play, say, working_hours, goto, gather, queue (with
// a waiting strategy), dial, set and hangup.
package dialplan

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/switchboard-voice/switchboard/call"
	"github.com/switchboard-voice/switchboard/config"
	"github.com/switchboard-voice/switchboard/config/schedule"
	"github.com/switchboard-voice/switchboard/dialplan/prompt"
	"github.com/switchboard-voice/switchboard/media/audio"
)

// Engine routes and runs calls with one configuration. Build a new Engine to
// apply a new configuration; calls in progress keep the one they started with.
type Engine struct {
	routes    []route
	flows     map[string][]config.Action
	cfg       *config.Config
	dialer    call.Dialer
	log       *slog.Logger
	schedules map[string]*schedule.Compiled
	prompts   *prompt.Library
	queues    Queues
	callbacks Callbacks
	now       func() time.Time
	strategy  func(ctx context.Context, queue, named string) (config.WaitingStrategy, bool)
	// builtinMusic is audio.HoldMusic, synthesized once per engine when a
	// hold or transfer first needs it.
	builtinMusic func() *audio.Clip
}

// Options are an engine's dependencies beyond its configuration.
type Options struct {
	Dialer call.Dialer
	Log    *slog.Logger
	// Prompts prepares speech and audio files; nil makes a library caching
	// under the configuration's prompts.cache_dir and reading audio files
	// only from its prompt directories (Library).
	Prompts *prompt.Library
	// Now is the engine's clock (working hours); nil is time.Now.
	Now func() time.Time
	// Queues finds agents for queue actions; nil holds callers under their
	// waiting strategy (HoldQueues).
	Queues Queues
	// WaitingStrategy finds the strategy a queue action plays: the one it
	// names, or (named == "") the queue's own; strategies created through
	// the API live outside the configuration. nil: the configuration's
	// waiting_strategies only.
	WaitingStrategy func(ctx context.Context, queue, named string) (config.WaitingStrategy, bool)
	// Callbacks stores the callback requests of response codes and gather
	// branches {callback: NAME}; nil: such keys are logged and ignored.
	Callbacks Callbacks
}

// route is a config route with its patterns compiled.
type route struct {
	config.Route
	index    int
	from, to func(number string) bool // nil = any
}

// New makes an engine for cfg (already validated); dialer places the legs
// dial actions ask for.
func New(cfg *config.Config, dialer call.Dialer, log *slog.Logger) *Engine {
	return NewWithOptions(cfg, Options{Dialer: dialer, Log: log})
}

// NewWithOptions makes an engine for cfg (already validated) with o.
func NewWithOptions(cfg *config.Config, o Options) *Engine {
	if o.Log == nil {
		o.Log = slog.Default()
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Prompts == nil {
		o.Prompts = Library(cfg)
	}
	if o.Queues == nil {
		o.Queues = HoldQueues{}
	}
	e := &Engine{flows: cfg.Flows, cfg: cfg, dialer: o.Dialer, log: o.Log, prompts: o.Prompts, now: o.Now, queues: o.Queues,
		callbacks: o.Callbacks, strategy: o.WaitingStrategy, schedules: map[string]*schedule.Compiled{},
		builtinMusic: sync.OnceValue(audio.HoldMusic)}
	if e.strategy == nil {
		e.strategy = func(_ context.Context, queue, named string) (config.WaitingStrategy, bool) {
			ws, ok := cfg.WaitingStrategies[strategyName(cfg, queue, named)]
			return ws, ok
		}
	}
	for i, r := range cfg.Routes {
		e.routes = append(e.routes, route{Route: r, index: i, from: matcher(r.Match.From), to: matcher(r.Match.To)})
	}
	for _, sc := range cfg.Schedules {
		if c, err := schedule.Compile(sc); err == nil {
			e.schedules[sc.Name] = c
		}
	}
	return e
}

// strategyName is the waiting strategy a queue action plays as the
// configuration says: the one it names, else its queue's.
func strategyName(cfg *config.Config, queue, named string) string {
	if named != "" {
		return named
	}
	for _, q := range cfg.Queues {
		if q.Name == queue {
			return q.WaitingStrategy
		}
	}
	return ""
}

// matcher compiles a route's number pattern: empty matches anything; a
// pattern between slashes is a regular expression (matched against the
// number as received); anything else is exact or wildcard ('*', '?', see
// call.MatchNumber). A regular expression that does not compile (config
// validation refuses it) matches nothing.
func matcher(p string) func(string) bool {
	switch {
	case p == "":
		return nil
	case config.IsRegexPattern(p):
		re, err := regexp.Compile(p[1 : len(p)-1])
		if err != nil {
			return func(string) bool { return false }
		}
		return re.MatchString
	}
	return func(n string) bool { return call.MatchNumber(p, n) }
}

// Request is what routing looks at.
type Request struct {
	Trunk string
	From  string
	To    string
	At    time.Time
}

// Match returns the first route matching r, its index, and whether one did.
// Outbound routes (config.Route.Outbound) never match a call that comes in.
func (e *Engine) Match(r Request) (config.Route, int, bool) {
	for _, rt := range e.routes {
		m := rt.Match
		if rt.Outbound != "" {
			continue // a route for the switch's own calls (OutboundTrunk)
		}
		if m.Trunk != "" && m.Trunk != r.Trunk {
			continue
		}
		if rt.from != nil && !rt.from(r.From) {
			continue
		}
		if rt.to != nil && !rt.to(r.To) {
			continue
		}
		if m.Schedule != "" {
			if sc := e.schedules[m.Schedule]; sc == nil || !sc.Open(r.At) {
				continue
			}
		}
		return rt.Route, rt.index, true
	}
	return config.Route{}, -1, false
}

// notFound is the answer to a call no route matches.
var notFound = call.Cause{Code: 404, Reason: "Not Found"}

// flowEnded ends a call whose flow ran out of actions.
var flowEnded = call.Cause{Code: 480, Reason: "Flow ended"}

// endGrace is how long a failed action waits for the call's own end before
// ending it as a server error.
const endGrace = 200 * time.Millisecond

// maxSteps bounds the actions one call runs (validation refuses flows that
// loop through goto; this is a second guard).
const maxSteps = 1000

// Run routes c and runs its flow until the call ends.
func (e *Engine) Run(ctx context.Context, c *call.Call) {
	in := c.Inbound()
	req := Request{Trunk: in.Trunk(), From: in.From().Number, To: in.To().Number, At: e.now()}
	rt, idx, ok := e.Match(req)
	if !ok {
		c.Log().Info("no route", "to", req.To, "from", req.From)
		c.End(ctx, notFound)
		return
	}
	c.Log().Info("routed", "route", routeName(rt, idx), "flow", rt.Flow, "to", req.To)
	_, stopped := e.walk(rt.Flow, func(flow string, i int, a config.Action) (string, bool) {
		next, err := e.run(ctx, c, req, a)
		switch {
		case errors.Is(err, call.ErrEnded), errors.Is(err, errDone), ctx.Err() != nil:
			return "", true
		case err != nil:
			// An action fails when its leg goes away under it (the caller's
			// BYE, the switch draining); the leg's end, reported by the pump
			// just after, is then the call's cause, not an error.
			select {
			case <-c.Done():
				return "", true
			case <-time.After(endGrace):
			}
			c.Log().Warn("flow action failed", "flow", flow, "action", i, "error", err)
			c.End(ctx, call.ServerError)
			return "", true
		}
		if next != "" {
			c.Log().Info("flow", "from", flow, "to", next)
		}
		return next, false
	})
	if !stopped {
		c.End(ctx, flowEnded)
	}
}

// walk goes through the flows from start the way a call does: step gets each
// action (with its flow and 1-based position) and returns the flow to go on
// with ("" = the next action) and whether the walk stops there. Without a
// stop the walk ends when a flow runs out of actions (ranOut names it), or
// after maxSteps actions (ranOut is "").
func (e *Engine) walk(start string, step func(flow string, i int, a config.Action) (next string, stop bool)) (ranOut string, stopped bool) {
	flow, actions := start, e.flows[start]
	for n, i := 0, 0; n < maxSteps; n++ {
		if i >= len(actions) {
			return flow, false
		}
		a := actions[i]
		i++
		next, stop := step(flow, i, a)
		if stop {
			return "", true
		}
		if next != "" {
			flow, actions, i = next, e.flows[next], 0
		}
	}
	return "", false
}

// workingHours decides a working_hours action at: the flow to go on with
// ("" = the next action) and why.
func (e *Engine) workingHours(w *config.WorkingHoursAction, at time.Time) (next, why string) {
	sc := e.schedules[w.Schedule]
	if sc == nil {
		return w.Closed, "unknown schedule"
	}
	if sc.Open(at) {
		return w.Open, sc.Explain(at)
	}
	return w.Closed, sc.Explain(at)
}

// errDone: the action finished the call (dial, hangup).
var errDone = errors.New("dialplan: call done")

// run performs one action; next names a flow to continue with.
func (e *Engine) run(ctx context.Context, c *call.Call, req Request, a config.Action) (next string, err error) {
	switch {
	case a.Answer != nil:
		return "", e.answer(ctx, c, a.Answer, false)
	case a.EarlyMedia != nil:
		return "", e.answer(ctx, c, a.EarlyMedia, true)
	case a.Play != nil:
		clip, err := e.prompts.File(ctx, e.path(a.Play.File))
		if err != nil {
			return "", err
		}
		return "", e.play(ctx, c, clip, a.Play.Duration)
	case a.Say != nil:
		sp := speech(a.Say)
		sp.Text = config.ExpandVars(sp.Text, vars(c, req))
		clip, err := e.prompts.Say(ctx, sp)
		if err != nil {
			return "", err
		}
		return "", e.play(ctx, c, clip, 0)
	case a.WorkingHours != nil:
		next, why := e.workingHours(a.WorkingHours, e.now())
		c.Log().Info("working hours", "schedule", a.WorkingHours.Schedule, "decision", why, "next_flow", next)
		return next, nil
	case a.Goto != nil:
		return a.Goto.Flow, nil
	case a.Gather != nil:
		return e.gather(ctx, c, a.Gather)
	case a.Queue != nil:
		return e.queue(ctx, c, a.Queue)
	case a.Set != nil:
		lookup := vars(c, req)
		for _, name := range slices.Sorted(maps.Keys(a.Set)) {
			v := config.ExpandVars(a.Set[name], lookup)
			c.Set(name, v)
			c.Log().Info("set", "variable", name, "value", v)
		}
		return "", nil
	case a.Dial != nil:
		in := c.Inbound()
		to := config.ExpandVars(dialNumber(a.Dial, req.To), vars(c, req))
		var reqs []call.DialRequest
		for _, t := range a.Dial.TrunkList() {
			reqs = append(reqs, call.DialRequest{
				Trunk:       t,
				To:          to,
				From:        in.From(),
				MaxForwards: in.MaxForwards(),
				Timeout:     a.Dial.Timeout,
			})
		}
		_ = c.DialInOrder(ctx, e.dialer, reqs)
		return "", errDone
	case a.Hangup != nil:
		cause := hangupCause(a.Hangup)
		cause.Reason = config.ExpandVars(cause.Reason, vars(c, req))
		c.End(ctx, cause)
		return "", errDone
	}
	return "", nil
}

// vars looks up a call's variables for {{name}}: the built-in ones, then
// those its set actions gave it.
func vars(c *call.Call, req Request) func(string) string {
	return func(name string) string {
		in := c.Inbound()
		switch name {
		case "caller":
			return req.From
		case "caller_name":
			return in.From().Name
		case "called":
			return req.To
		case "trunk":
			return req.Trunk
		case "call_id":
			return c.ID()
		}
		return c.Var(name)
	}
}

// answer answers (or, early, sends 183 for) the call, ringing first when asked.
func (e *Engine) answer(ctx context.Context, c *call.Call, a *config.AnswerAction, early bool) error {
	if a.Ring > 0 {
		if err := c.Ring(ctx); err != nil {
			return err
		}
		if err := c.Sleep(ctx, a.Ring); err != nil {
			return err
		}
	}
	if early {
		return c.EarlyMedia(ctx)
	}
	return c.Answer(ctx)
}

// play plays clip to the caller, answering first if nothing has; with a
// duration it loops the clip (or cuts it) to that length.
func (e *Engine) play(ctx context.Context, c *call.Call, clip *audio.Clip, d time.Duration) error {
	if c.PlayRate() == 0 {
		if err := c.Answer(ctx); err != nil {
			return err
		}
	}
	src := audio.NewPlayer(clip, c.PlayRate(), d > 0)
	if d <= 0 {
		return c.Play(ctx, src)
	}
	pctx, cancel := context.WithTimeout(ctx, d)
	defer cancel()
	err := c.Play(pctx, src)
	if errors.Is(err, context.DeadlineExceeded) && ctx.Err() == nil {
		return nil
	}
	return err
}

// Gather defaults.
const (
	defaultGatherTimeout     = 5 * time.Second
	defaultInterDigitTimeout = 3 * time.Second
)

// gather collects keys over an optional prompt (stopped by the first key)
// and returns the flow its branches name for them.
func (e *Engine) gather(ctx context.Context, c *call.Call, g *config.GatherAction) (string, error) {
	if c.PlayRate() == 0 {
		if err := c.Answer(ctx); err != nil {
			return "", err
		}
	}
	maxDigits := max(g.MaxDigits, 1)
	term := g.Terminator
	if term == "" {
		term = "#"
	}
	first, inter := g.Timeout, g.InterDigitTimeout
	if first <= 0 {
		first = defaultGatherTimeout
	}
	if inter <= 0 {
		inter = defaultInterDigitTimeout
	}
	c.ClearDigits()
	pctx, stopPrompt := context.WithCancel(ctx)
	promptDone := make(chan error, 1)
	finished := make(chan struct{})
	// The prompt stops before gather returns: the next action may play.
	defer func() {
		stopPrompt()
		<-finished
	}()
	if g.Prompt != "" {
		clip, err := e.prompts.File(ctx, e.path(g.Prompt))
		if err != nil {
			close(finished)
			return "", err
		}
		go func() {
			defer close(finished)
			promptDone <- c.Play(pctx, audio.NewPlayer(clip, c.PlayRate(), false))
		}()
	} else {
		promptDone <- nil
		close(finished)
	}
	var keyed []rune
	var timer <-chan time.Time // starts when the prompt ends, or with the first key
	for {
		select {
		case err := <-promptDone:
			promptDone = nil
			if errors.Is(err, call.ErrEnded) {
				return "", err
			}
			if len(keyed) == 0 {
				timer = time.After(first)
			}
		case d := <-c.Digits():
			stopPrompt()
			if string(d.Digit) == term {
				return e.branch(ctx, c, g, string(keyed))
			}
			keyed = append(keyed, d.Digit)
			if len(keyed) >= maxDigits {
				return e.branch(ctx, c, g, string(keyed))
			}
			timer = time.After(inter)
		case <-timer:
			return e.branch(ctx, c, g, string(keyed))
		case <-ctx.Done():
			return "", ctx.Err()
		case <-c.Done():
			return "", call.ErrEnded
		}
	}
}

// branch picks the flow for what was keyed, or requests the callback its
// branch names. A callback that is not requested (no Callbacks, a failed
// request) is as if no branch matched: the default.
func (e *Engine) branch(ctx context.Context, c *call.Call, g *config.GatherAction, keyed string) (string, error) {
	code, how := g.Branches[keyed], "branch"
	next := code.Flow
	c.Set("digits", keyed)
	switch {
	case keyed == "":
		next, how = g.NoInput, "no input"
	case code.Callback != "":
		c.Log().Info("gathered", "digits", keyed, "outcome", "callback", "callback", code.Callback)
		if done, err := e.requestCallback(ctx, c, code.Callback, "", nil); done {
			return "", err
		}
		next, how = g.Default, "default (callback not requested)"
	case next == "":
		next, how = g.Default, "default"
	}
	c.Log().Info("gathered", "digits", keyed, "outcome", how, "flow", next)
	return next, nil
}

// path resolves a prompt file relative to the configuration file.
func (e *Engine) path(p string) string { return resolve(e.cfg, p) }

func speech(s *config.SayAction) prompt.Speech {
	return prompt.Speech{Text: s.Text, Language: s.Language, Voice: s.Voice, Rate: s.Rate}
}

// dialNumber is the number a dial action calls: its own, or the called number.
func dialNumber(d *config.DialAction, to string) string {
	if d.Number != "" {
		return d.Number
	}
	return to
}

func hangupCause(h *config.HangupAction) call.Cause {
	reason := h.Reason
	if reason == "" {
		reason = "Rejected by dialplan"
	}
	return call.Cause{Code: h.Code, Reason: reason}
}

func routeName(r config.Route, idx int) string {
	if r.Name != "" {
		return r.Name
	}
	return "#" + strconv.Itoa(idx)
}

// Plan is what the engine would do with a call, without placing it: the
// route matched and the steps of its flow (`switchboard route test`).
type Plan struct {
	Request Request
	Matched bool
	Route   config.Route
	Index   int
	Steps   []string
	Outcome string
}

// Explain routes r and walks its flow the way Run would.
func (e *Engine) Explain(r Request) Plan {
	p := Plan{Request: r, Index: -1}
	rt, idx, ok := e.Match(r)
	if !ok {
		p.Outcome = fmt.Sprintf("refused: %d %s (no route matches)", notFound.Code, notFound.Reason)
		return p
	}
	p.Matched, p.Route, p.Index = true, rt, idx
	answered := false // answer, play, say, gather and queue answer the call
	// Variables as far as the plan knows them; the rest stay {{name}}.
	known := map[string]string{"caller": r.From, "called": r.To, "trunk": r.Trunk}
	expand := func(s string) string {
		return config.ExpandVars(s, func(n string) string {
			if v, ok := known[n]; ok {
				return v
			}
			return "{{" + n + "}}"
		})
	}
	ranOut, stopped := e.walk(rt.Flow, func(_ string, _ int, a config.Action) (next string, stop bool) {
		switch {
		case a.Answer != nil:
			answered = true
			p.Steps = append(p.Steps, ring(a.Answer)+"answer (200 OK)")
		case a.EarlyMedia != nil:
			p.Steps = append(p.Steps, ring(a.EarlyMedia)+"early media (183 with SDP)")
		case a.Play != nil:
			answered = true
			how := "once"
			if a.Play.Duration > 0 {
				how = "for " + a.Play.Duration.String() + ", looped"
			}
			p.Steps = append(p.Steps, fmt.Sprintf("play %s %s", a.Play.File, how))
		case a.Say != nil:
			answered = true
			sp := speech(a.Say)
			p.Steps = append(p.Steps, fmt.Sprintf("say %q (espeak-ng, language %s)", expand(sp.Text), orDefault(sp.Language, "en")))
		case a.WorkingHours != nil:
			w := a.WorkingHours
			var why string
			next, why = e.workingHours(w, r.At)
			where := "the next action"
			if next != "" {
				where = "flow " + next
			}
			p.Steps = append(p.Steps, fmt.Sprintf("working hours %s: %s → %s", w.Schedule, why, where))
		case a.Goto != nil:
			next = a.Goto.Flow
			p.Steps = append(p.Steps, "go to flow "+next)
		case a.Queue != nil:
			ws, _ := e.strategy(context.Background(), a.Queue.Name, a.Queue.WaitingStrategy) // a dry run, not a call
			step := "queue " + a.Queue.Name + " (waiting strategy " + orDefault(strategyName(e.cfg, a.Queue.Name, a.Queue.WaitingStrategy), "none") + ")"
			if ws.MaxWait > 0 {
				step += ", at most " + ws.MaxWait.String()
			}
			p.Steps = append(p.Steps, step)
			p.Outcome = "waits for an agent in queue " + a.Queue.Name
			if ws.MaxWait > 0 && ws.MaxWaitFlow == "" {
				p.Outcome += fmt.Sprintf("; after the maximum wait: %d %s", maxWaitCause.Code, maxWaitCause.Reason)
			}
			if ws.MaxWait > 0 && ws.MaxWaitFlow != "" {
				p.Outcome += "; after the maximum wait: flow " + ws.MaxWaitFlow
			}
			return "", true
		case a.Gather != nil:
			answered = true
			// The keys decide; the plan follows the no-input path.
			p.Steps = append(p.Steps, describeGather(a.Gather)+" (following: no input)")
			next = a.Gather.NoInput
		case a.Dial != nil:
			timeout := a.Dial.Timeout
			src := "dial.timeout"
			if timeout <= 0 {
				timeout, src = e.cfg.SIP.RingTimeout, "sip.ring_timeout"
			}
			trunks := a.Dial.TrunkList()
			if len(trunks) == 1 {
				p.Steps = append(p.Steps, fmt.Sprintf("dial %s on trunk %s, ringing up to %s (%s)",
					expand(dialNumber(a.Dial, r.To)), trunks[0], timeout, src))
				p.Outcome = "bridged to trunk " + trunks[0] + " when it answers; its failure is the caller's"
				return "", true
			}
			p.Steps = append(p.Steps, fmt.Sprintf("dial %s on trunks %s in order, ringing up to %s (%s) on each",
				expand(dialNumber(a.Dial, r.To)), strings.Join(trunks, ", "), timeout, src))
			p.Outcome = "bridged to the first of trunks " + strings.Join(trunks, ", ") +
				" that answers; a trunk that is down, unreachable, times out (408) or answers 5xx passes the call to the next;" +
				" any other failure, or the last trunk's, is the caller's"
			return "", true
		case a.Set != nil:
			for _, name := range slices.Sorted(maps.Keys(a.Set)) {
				known[name] = expand(a.Set[name])
				p.Steps = append(p.Steps, fmt.Sprintf("set %s = %q", name, known[name]))
			}
		case a.Hangup != nil:
			c := hangupCause(a.Hangup)
			c.Reason = expand(c.Reason)
			p.Steps = append(p.Steps, fmt.Sprintf("hang up with %d %s", c.Code, c.Reason))
			p.Outcome = fmt.Sprintf("refused: %d %s", c.Code, c.Reason)
			if answered {
				p.Outcome = fmt.Sprintf("ended with BYE (Reason: %d %s)", c.Code, c.Reason)
			}
			return "", true
		}
		return next, false
	})
	switch {
	case stopped:
	case ranOut != "":
		p.Outcome = fmt.Sprintf("ended: %d %s (flow %s has no more actions)", flowEnded.Code, flowEnded.Reason, ranOut)
	default:
		p.Outcome = "stopped after too many steps"
	}
	return p
}

func describeGather(g *config.GatherAction) string {
	var b strings.Builder
	fmt.Fprintf(&b, "gather up to %d key(s)", max(g.MaxDigits, 1))
	if g.Prompt != "" {
		fmt.Fprintf(&b, " over %s", g.Prompt)
	}
	keys := make([]string, 0, len(g.Branches))
	for k := range g.Branches {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		if cb := g.Branches[k].Callback; cb != "" {
			fmt.Fprintf(&b, "; %s → callback request %s (its confirmation, then the call ends)", k, cb)
			continue
		}
		fmt.Fprintf(&b, "; %s → flow %s", k, g.Branches[k].Flow)
	}
	for _, o := range []struct{ what, flow string }{{"other keys", g.Default}, {"no input", g.NoInput}} {
		where := "the next action"
		if o.flow != "" {
			where = "flow " + o.flow
		}
		fmt.Fprintf(&b, "; %s → %s", o.what, where)
	}
	return b.String()
}

func ring(a *config.AnswerAction) string {
	if a.Ring > 0 {
		return "ring (180) for " + a.Ring.String() + ", then "
	}
	return ""
}

func orDefault(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

// String renders the plan for people, one fact per line.
func (p Plan) String() string {
	var b strings.Builder
	r := p.Request
	fmt.Fprintf(&b, "call: trunk %s, from %q, to %q, at %s\n", r.Trunk, r.From, r.To, r.At.Format(time.RFC3339))
	if !p.Matched {
		b.WriteString("route: none\n")
	} else {
		m := p.Route.Match
		var conds []string
		for _, c := range []struct{ k, v string }{{"trunk", m.Trunk}, {"from", m.From}, {"to", m.To}, {"schedule", m.Schedule}} {
			if c.v != "" {
				conds = append(conds, fmt.Sprintf("%s=%q", c.k, c.v))
			}
		}
		if len(conds) == 0 {
			conds = []string{"anything"}
		}
		fmt.Fprintf(&b, "route: routes[%d] %s (matches %s)\n", p.Index, routeName(p.Route, p.Index), strings.Join(conds, ", "))
		fmt.Fprintf(&b, "flow: %s\n", p.Route.Flow)
		for i, s := range p.Steps {
			fmt.Fprintf(&b, "  %d. %s\n", i+1, s)
		}
	}
	fmt.Fprintf(&b, "outcome: %s\n", p.Outcome)
	return b.String()
}
