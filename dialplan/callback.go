package dialplan

import (
	"context"
	"errors"

	"github.com/switchboard-voice/switchboard/call"
	"github.com/switchboard-voice/switchboard/config"
	"github.com/switchboard-voice/switchboard/media/audio"
)

// Callbacks is what the dialplan needs to turn a caller's key into a
// callback request (package acd implements it): a response code or gather
// branch {callback: NAME} asks for one.
type Callbacks interface {
	// Request stores a callback request of the callback configuration
	// name for c's caller (its number, its conversation) and returns the
	// confirmation the caller hears before the call ends. queue is the
	// queue the caller waits in ("" from a gather: the configuration's
	// own queue); the caller is still in it while Request runs, so that
	// the request can keep the call's original enqueue time. An error
	// (no such configuration, the store failing) means no request was
	// stored: the caller goes on as if the key had not been pressed.
	Request(ctx context.Context, c *call.Call, name, queue string) (CallbackConfirmation, error)
}

// CallbackConfirmation is what a caller hears once a callback is
// requested: an audio file, or else text spoken; empty, nothing.
type CallbackConfirmation struct {
	// File is an audio file (see config.PlayAction.File); a relative path
	// is relative to the configuration file.
	File string
	// Say is spoken with espeak-ng when File is "".
	Say *config.SayAction
}

// LeaveCallback is the reason a caller who requested a callback leaves
// its queue (ReasonTicket.LeaveFor).
const LeaveCallback = "callback"

// ReasonTicket is a Ticket that is told why its caller leaves. A caller
// who requested a callback leaves with LeaveFor(LeaveCallback): the queue
// records the call as turned into a callback request, neither abandoned
// (not in the abandon rate) nor answered, and withdraws an offer ringing
// for it. A Ticket without LeaveFor is left with Leave.
type ReasonTicket interface {
	Ticket
	LeaveFor(reason string)
}

// leaveFor takes the caller out of t for reason.
func leaveFor(t Ticket, reason string) {
	if rt, ok := t.(ReasonTicket); ok {
		rt.LeaveFor(reason)
		return
	}
	t.Leave()
}

// callbackCause ends a call whose caller requested a callback: a normal
// end, not a failure.
var callbackCause = call.Normal

// requestCallback handles a callback key: it asks Callbacks for a request
// of the configuration name; once stored, leave runs (the waiting media
// stopped, the queue left), the confirmation plays and the call ends
// normally (done is then true, with errDone or the call's end). Without
// Callbacks, or when the request fails, the key is logged and ignored:
// done is false and the caller goes on (waiting in the queue, or the
// gather's default).
func (e *Engine) requestCallback(ctx context.Context, c *call.Call, name, queue string, leave func()) (done bool, err error) {
	if e.callbacks == nil {
		c.Log().Warn("callback key ignored: this switch takes no callback requests", "callback", name, "queue", queue)
		return false, nil
	}
	conf, err := e.callbacks.Request(ctx, c, name, queue)
	if err != nil {
		if c.State() == call.StateEnded {
			return true, call.ErrEnded
		}
		c.Log().Warn("callback request failed: the caller goes on", "callback", name, "queue", queue, "error", err)
		return false, nil
	}
	c.Log().Info("callback requested", "callback", name, "queue", queue)
	if leave != nil {
		leave()
	}
	var clip *audio.Clip
	switch {
	case conf.File != "":
		clip, err = e.prompts.File(ctx, e.path(conf.File))
	case conf.Say != nil && conf.Say.Text != "":
		clip, err = e.prompts.Say(ctx, speech(conf.Say))
	}
	if err != nil {
		// The request is stored: the caller is called back even if the
		// confirmation cannot play.
		c.Log().Warn("callback confirmation", "callback", name, "error", err)
	}
	if clip != nil {
		if err := c.Play(ctx, audio.NewPlayer(clip, c.PlayRate(), false)); err != nil {
			if errors.Is(err, call.ErrEnded) || c.State() == call.StateEnded {
				return true, call.ErrEnded
			}
			return true, err
		}
	}
	c.End(ctx, callbackCause)
	return true, errDone
}
