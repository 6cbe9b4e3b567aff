// Package dialplan runs calls: routes match an incoming call (trunk, caller,
// called number) and name a flow; a flow is a list of actions run in order.
// This first engine knows the dial and hangup actions; answer, play, gather,
// working hours and queues join the same Run loop.
package dialplan

import (
	"context"
	"fmt"
	"log/slog"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/switchboard-voice/switchboard/call"
	"github.com/switchboard-voice/switchboard/config"
)

// Engine routes and runs calls with one configuration. Build a new Engine to
// apply a new configuration; calls in progress keep the one they started with.
type Engine struct {
	routes []route
	flows  map[string][]config.Action
	cfg    *config.Config
	dialer call.Dialer
	log    *slog.Logger
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
	if log == nil {
		log = slog.Default()
	}
	e := &Engine{flows: cfg.Flows, cfg: cfg, dialer: dialer, log: log}
	for i, r := range cfg.Routes {
		e.routes = append(e.routes, route{Route: r, index: i, from: matcher(r.Match.From), to: matcher(r.Match.To)})
	}
	return e
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
func (e *Engine) Match(r Request) (config.Route, int, bool) {
	for _, rt := range e.routes {
		m := rt.Match
		if m.Trunk != "" && m.Trunk != r.Trunk {
			continue
		}
		if rt.from != nil && !rt.from(r.From) {
			continue
		}
		if rt.to != nil && !rt.to(r.To) {
			continue
		}
		return rt.Route, rt.index, true
	}
	return config.Route{}, -1, false
}

// notFound is the answer to a call no route matches.
var notFound = call.Cause{Code: 404, Reason: "Not Found"}

// flowEnded ends a call whose flow ran out of actions.
var flowEnded = call.Cause{Code: 480, Reason: "Flow ended"}

// Run routes c and runs its flow until the call ends.
func (e *Engine) Run(ctx context.Context, c *call.Call) {
	in := c.Inbound()
	req := Request{Trunk: in.Trunk(), From: in.From().Number, To: in.To().Number, At: time.Now()}
	rt, idx, ok := e.Match(req)
	if !ok {
		c.Log().Info("no route", "to", req.To, "from", req.From)
		c.End(ctx, notFound)
		return
	}
	c.Log().Info("routed", "route", routeName(rt, idx), "flow", rt.Flow, "to", req.To)
	for _, a := range e.flows[rt.Flow] {
		switch {
		case a.Dial != nil:
			_ = c.Dial(ctx, e.dialer, call.DialRequest{
				Trunk:       a.Dial.Trunk,
				To:          dialNumber(a.Dial, req.To),
				From:        in.From(),
				MaxForwards: in.MaxForwards(),
				Timeout:     a.Dial.Timeout,
			})
			return
		case a.Hangup != nil:
			c.End(ctx, hangupCause(a.Hangup))
			return
		}
	}
	c.End(ctx, flowEnded)
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
	for _, a := range e.flows[rt.Flow] {
		switch {
		case a.Dial != nil:
			timeout := a.Dial.Timeout
			src := "dial.timeout"
			if timeout <= 0 {
				timeout, src = e.cfg.SIP.RingTimeout, "sip.ring_timeout"
			}
			p.Steps = append(p.Steps, fmt.Sprintf("dial %s on trunk %s, ringing up to %s (%s)",
				dialNumber(a.Dial, r.To), a.Dial.Trunk, timeout, src))
			p.Outcome = "bridged to trunk " + a.Dial.Trunk + " when it answers; its failure is the caller's"
			return p
		case a.Hangup != nil:
			c := hangupCause(a.Hangup)
			p.Steps = append(p.Steps, fmt.Sprintf("hang up with %d %s", c.Code, c.Reason))
			p.Outcome = fmt.Sprintf("refused: %d %s", c.Code, c.Reason)
			return p
		}
	}
	p.Outcome = fmt.Sprintf("ended: %d %s (the flow has no more actions)", flowEnded.Code, flowEnded.Reason)
	return p
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
		for _, c := range []struct{ k, v string }{{"trunk", m.Trunk}, {"from", m.From}, {"to", m.To}} {
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
