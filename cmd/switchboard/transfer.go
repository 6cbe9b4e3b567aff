package main

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/switchboard-voice/switchboard/acd"
	"github.com/switchboard-voice/switchboard/call"
	"github.com/switchboard-voice/switchboard/config"
	"github.com/switchboard-voice/switchboard/dialplan"
	"github.com/switchboard-voice/switchboard/media/audio"
)

// calls gives the ACD (acd.Calls) and REFERs what they need of the running
// node: its dialplan's music, its outbound routes and its SIP dialer. The
// node sets engine and dialer once they exist.
type calls struct {
	engine func() *dialplan.Engine
	dialer call.Dialer
	cfg    func() *config.Config
	// newCall starts a call on an agent's leg (the node's call options
	// and observers).
	newCall func(ctx context.Context, anchor call.Leg, id string) *call.Call
}

// HoldMusic implements acd.Calls.
func (c *calls) HoldMusic(ctx context.Context, queue string) *call.Music {
	if e := c.engineOf(); e != nil {
		return e.HoldMusic(ctx, queue)
	}
	return nil
}

// TransferMusic implements acd.Calls.
func (c *calls) TransferMusic(ctx context.Context) *call.Music {
	if e := c.engineOf(); e != nil {
		return e.TransferMusic(ctx)
	}
	return nil
}

// QueueMusic implements acd.Calls.
func (c *calls) QueueMusic(ctx context.Context, queue string) *call.Music {
	if e := c.engineOf(); e != nil {
		return e.QueueMusic(ctx, queue)
	}
	return nil
}

// TransferTimeout implements acd.Calls: transfers.timeout (its default
// applied by the configuration).
func (c *calls) TransferTimeout() time.Duration { return c.cfg().Transfers.Timeout }

func (c *calls) engineOf() *dialplan.Engine {
	if c.engine == nil {
		return nil
	}
	return c.engine()
}

// External implements acd.Calls: the outbound route's trunk for number. A
// route whose trunk leads back to the switch's own listeners is refused, so
// that a transfer never loops back into the switch.
func (c *calls) External(_ context.Context, number, from string) (call.Dialer, call.DialRequest, error) {
	e := c.engineOf()
	if e == nil || c.dialer == nil {
		return nil, call.DialRequest{}, errors.New("external calls are not available")
	}
	trunk, err := e.OutboundTrunk(number)
	if err != nil {
		return nil, call.DialRequest{}, err
	}
	if loopsBack(c.cfg(), trunk) {
		return nil, call.DialRequest{}, fmt.Errorf("outbound trunk %s leads back to this switch", trunk)
	}
	return c.dialer, call.DialRequest{Trunk: trunk, To: number, From: call.Party{Number: from}, MaxForwards: 69}, nil
}

// Outbound implements acd.Calls: an agent's call to number from the voice
// number from leaves through from's trunk, else through the outbound
// routes (and never back into the switch).
func (c *calls) Outbound(ctx context.Context, number, from string) (call.Dialer, call.DialRequest, error) {
	var vn *config.VoiceNumber
	for i, v := range c.cfg().VoiceNumbers {
		if v.Number == from || (from == "" && i == 0) { // no caller ID (a callback's): the first
			vn, from = &c.cfg().VoiceNumbers[i], v.Number
			break
		}
	}
	if vn == nil {
		return nil, call.DialRequest{}, fmt.Errorf("%w: %q is not one of the voice numbers (voice_numbers)", acd.ErrForbidden, from)
	}
	if vn.Trunk == "" {
		d, req, err := c.External(ctx, number, from)
		if err != nil {
			return nil, call.DialRequest{}, fmt.Errorf("%w: %v", acd.ErrUnavailable, err)
		}
		req.MaxForwards = 70
		return d, req, nil
	}
	if c.dialer == nil {
		return nil, call.DialRequest{}, fmt.Errorf("%w: outbound calls are not available", acd.ErrUnavailable)
	}
	if loopsBack(c.cfg(), vn.Trunk) {
		return nil, call.DialRequest{}, fmt.Errorf("%w: trunk %s leads back to this switch", acd.ErrUnavailable, vn.Trunk)
	}
	return c.dialer, call.DialRequest{Trunk: vn.Trunk, To: number, From: call.Party{Number: from}, MaxForwards: 70}, nil
}

// NewCall implements acd.Calls: a call anchored on an agent's leg, with
// the node's call options and observers.
func (c *calls) NewCall(ctx context.Context, anchor call.Leg, id string) *call.Call {
	return c.newCall(ctx, anchor, id)
}

// Ringback implements acd.Calls: the built-in ringback tone.
func (c *calls) Ringback() *call.Music { return ringback }

var ringback = &call.Music{New: func(rate int) audio.Source { return audio.NewPlayer(ringbackClip(), rate, true) }}

var ringbackClip = sync.OnceValue(audio.Ringback)

// ScheduleOpen implements acd.Calls with the running dialplan's schedules.
func (c *calls) ScheduleOpen(name string, t time.Time) bool {
	e := c.engineOf()
	return e == nil || e.ScheduleOpen(name, t)
}

// loopsBack reports whether trunk's outbound URI is one of the switch's own
// SIP listen addresses.
func loopsBack(cfg *config.Config, trunk string) bool {
	for _, t := range cfg.Trunks {
		if t.Name != trunk || t.Outbound == nil {
			continue
		}
		host := t.Outbound.URI
		if i := strings.IndexByte(host, ':'); i >= 0 {
			host = host[i+1:] // sip:host:port;params
		}
		if i := strings.IndexByte(host, '@'); i >= 0 {
			host = host[i+1:]
		}
		if i := strings.IndexByte(host, ';'); i >= 0 {
			host = host[:i]
		}
		if !strings.Contains(host, ":") {
			host += ":5060"
		}
		for _, l := range cfg.SIP.Listen {
			if u, err := url.Parse(l); err == nil && u.Host == host {
				return true
			}
		}
	}
	return false
}

// referHandler answers REFERs from a call's parties (trunks with refer:
// allow): the target must pass the phone book's rules like an agent's
// external transfer, and leaves through the outbound routes.
func (c *calls) referHandler(book interface {
	CheckExternalNumber(ctx context.Context, number string) error
}) call.ReferHandler {
	return func(ctx context.Context, cl *call.Call, from call.Leg, r call.Refer) (call.ReferPlan, error) {
		if book == nil {
			return call.ReferPlan{}, call.Cause{Code: 603, Reason: "Decline"}
		}
		if err := book.CheckExternalNumber(ctx, r.Target); err != nil {
			if errors.Is(err, acd.ErrInvalid) {
				return call.ReferPlan{}, call.Cause{Code: 400, Reason: "Bad Refer-To number"}
			}
			return call.ReferPlan{}, call.Cause{Code: 403, Reason: "Transfer target not allowed"}
		}
		caller := ""
		if in := cl.Inbound(); in != nil {
			caller = in.From().Number
		}
		d, req, err := c.External(ctx, r.Target, caller)
		if err != nil {
			cl.Log().Info("REFER target has no route", "target", r.Target, "error", err)
			return call.ReferPlan{}, call.Cause{Code: 404, Reason: "No route to the transfer target"}
		}
		if in := cl.Inbound(); in != nil && in.MaxForwards() > 0 {
			req.MaxForwards = in.MaxForwards() - 1
		}
		req.Timeout = c.TransferTimeout()
		return call.ReferPlan{Dialer: d, Request: req, Music: c.TransferMusic(ctx)}, nil
	}
}

// Request implements dialplan.Callbacks with the ACD: the caller's number,
// its queue, enqueue time and conversation (while the ACD follows the call)
// make a callback request of configuration name; the answer is the
// configuration's confirmation.
func (cc *contactCenter) Request(ctx context.Context, c *call.Call, name, queue string) (dialplan.CallbackConfirmation, error) {
	req := acd.CallbackRequest{Config: name, Queue: queue}
	if in := c.Inbound(); in != nil {
		req.Number = in.From().Number
	}
	if lc, ok := cc.acd.LiveCall(c.ID()); ok {
		req.Enqueued, req.ConversationID = lc.Enqueued, lc.ConversationID
		if req.Queue == "" {
			req.Queue = lc.Queue
		}
	}
	cb, err := cc.acd.RequestCallback(ctx, req)
	if err != nil {
		return dialplan.CallbackConfirmation{}, err
	}
	c.Log().Info("callback requested", "callback", cb.ID, "config", name, "queue", cb.Queue)
	cfg, err := cc.acd.CallbackConfig(ctx, name)
	if err != nil {
		return dialplan.CallbackConfirmation{}, nil // stored: the caller just hears no confirmation
	}
	conf := dialplan.CallbackConfirmation{File: cfg.ConfirmationFile}
	if conf.File == "" && cfg.ConfirmationSay != "" {
		conf.Say = &config.SayAction{Text: cfg.ConfirmationSay}
	}
	return conf, nil
}
