// Package dialplan runs calls: routes match an incoming call (trunk, caller,
// called number) and name a flow; a flow is a list of actions run in order.
// This first engine knows the dial and hangup actions; answer, play, gather,
// working hours and queues join the same Run loop.
package dialplan

import (
	"context"
	"log/slog"
	"strconv"
	"time"

	"github.com/switchboard-voice/switchboard/call"
	"github.com/switchboard-voice/switchboard/config"
)

// Engine routes and runs calls with one configuration. Build a new Engine to
// apply a new configuration; calls in progress keep the one they started with.
type Engine struct {
	routes []config.Route
	flows  map[string][]config.Action
	dialer call.Dialer
	log    *slog.Logger
}

// New makes an engine for cfg; dialer places the legs dial actions ask for.
func New(cfg *config.Config, dialer call.Dialer, log *slog.Logger) *Engine {
	if log == nil {
		log = slog.Default()
	}
	return &Engine{routes: cfg.Routes, flows: cfg.Flows, dialer: dialer, log: log}
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
	for i, rt := range e.routes {
		m := rt.Match
		if m.Trunk != "" && m.Trunk != r.Trunk {
			continue
		}
		if m.From != "" && !call.MatchNumber(m.From, r.From) {
			continue
		}
		if m.To != "" && !call.MatchNumber(m.To, r.To) {
			continue
		}
		return rt, i, true
	}
	return config.Route{}, -1, false
}

// Run routes c and runs its flow until the call ends.
func (e *Engine) Run(ctx context.Context, c *call.Call) {
	in := c.Inbound()
	req := Request{Trunk: in.Trunk(), From: in.From().Number, To: in.To().Number, At: time.Now()}
	rt, idx, ok := e.Match(req)
	if !ok {
		c.Log().Info("no route", "to", req.To, "from", req.From)
		c.End(ctx, call.Cause{Code: 404, Reason: "Not Found"})
		return
	}
	c.Log().Info("routed", "route", routeName(rt, idx), "flow", rt.Flow, "to", req.To)
	for _, a := range e.flows[rt.Flow] {
		switch {
		case a.Dial != nil:
			number := a.Dial.Number
			if number == "" {
				number = in.To().Number
			}
			_ = c.Dial(ctx, e.dialer, call.DialRequest{
				Trunk:       a.Dial.Trunk,
				To:          number,
				From:        in.From(),
				MaxForwards: in.MaxForwards(),
				Timeout:     a.Dial.Timeout,
			})
			return
		case a.Hangup != nil:
			reason := a.Hangup.Reason
			if reason == "" {
				reason = "Rejected by dialplan"
			}
			c.End(ctx, call.Cause{Code: a.Hangup.Code, Reason: reason})
			return
		}
	}
	// A flow that runs out of actions ends the call.
	c.End(ctx, call.Cause{Code: 480, Reason: "Flow ended"})
}

func routeName(r config.Route, idx int) string {
	if r.Name != "" {
		return r.Name
	}
	return "#" + strconv.Itoa(idx)
}
