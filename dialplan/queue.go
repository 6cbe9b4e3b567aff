package dialplan

import (
	"context"
	"errors"
	"time"

	"github.com/switchboard-voice/switchboard/call"
	"github.com/switchboard-voice/switchboard/config"
	"github.com/switchboard-voice/switchboard/media/audio"
)

// Queues is what the dialplan needs of the contact-center core (package acd
// implements it): a caller put in a queue is offered to agents, and the
// queue reports when one takes the call.
type Queues interface {
	// Enqueue adds c to the named queue. The Ticket reports when an agent
	// is found; Leave takes the caller out (hang-up, response code,
	// maximum wait). A queue that does not exist is an error wrapping
	// ErrNoQueue.
	Enqueue(ctx context.Context, queue string, c *call.Call) (Ticket, error)
}

// ErrNoQueue: the queue a queue action names does not exist (neither in the
// configuration nor created through the API). The call fails with 480 and a
// reason saying so.
var ErrNoQueue = errors.New("dialplan: no such queue")

// Ticket is a caller's place in a queue.
type Ticket interface {
	// Found delivers the agent once one takes the call.
	Found() <-chan call.Assignment
	// Leave takes the caller out of the queue; it is idempotent.
	Leave()
}

// HoldQueues is the Queues of a switch without agents: callers wait under
// their waiting strategy until the maximum wait, a response code or their
// hang-up.
type HoldQueues struct{}

// Enqueue implements Queues: no agent is ever found.
func (HoldQueues) Enqueue(context.Context, string, *call.Call) (Ticket, error) {
	return holdTicket{}, nil
}

type holdTicket struct{}

func (holdTicket) Found() <-chan call.Assignment { return nil }
func (holdTicket) Leave()                        {}

// defaultWaitForResponse keeps response codes live after an announcement.
const defaultWaitForResponse = 5 * time.Second

// queue holds the caller under the waiting strategy until an agent is
// found (the call is then bridged to the agent's leg), a response code
// sends it to another flow, or the maximum wait is reached.
func (e *Engine) queue(ctx context.Context, c *call.Call, q *config.QueueAction) (string, error) {
	// Enqueue first: a call to a queue that does not exist is refused
	// before it is answered.
	ticket, err := e.queues.Enqueue(ctx, q.Name, c)
	if errors.Is(err, ErrNoQueue) {
		cause := noQueueCause(q.Name)
		c.Log().Warn("queue does not exist: call refused", "queue", q.Name, "code", cause.Code, "reason", cause.Reason)
		c.End(ctx, cause)
		return "", errDone
	}
	if err != nil {
		return "", err
	}
	defer ticket.Leave()
	if c.PlayRate() == 0 {
		if err := c.Answer(ctx); err != nil {
			return "", err
		}
	}
	ws, found := e.strategy(ctx, q.Name, q.WaitingStrategy)
	entered := time.Now()
	c.Log().Info("queued", "queue", q.Name, "waiting_strategy", q.WaitingStrategy, "strategy_found", found)
	if !found && q.WaitingStrategy != "" {
		c.Log().Warn("waiting strategy does not exist: the caller waits in silence", "queue", q.Name,
			"waiting_strategy", q.WaitingStrategy)
	}

	rate := c.PlayRate()
	mixer := audio.NewMixer(rate, audio.MixerOptions{})
	load := func(file string) *audio.Clip {
		if file == "" {
			return nil
		}
		clip, err := e.prompts.File(ctx, e.path(file))
		if err != nil {
			c.Log().Warn("waiting strategy prompt", "file", file, "error", err)
			return nil
		}
		return clip
	}
	greeting, music, announcement := load(ws.Greeting), load(ws.Music), load(ws.Announcement.File)
	if greeting != nil {
		mixer.Announce(audio.NewPlayer(greeting, rate, false))
	}
	greetingDone := greeting == nil
	if greetingDone && music != nil {
		mixer.SetMusic(audio.NewPlayer(music, rate, true))
	}

	pctx, stop := context.WithCancel(ctx)
	played := make(chan error, 1)
	finished := make(chan struct{})
	go func() {
		defer close(finished)
		played <- c.Play(pctx, mixer)
	}()
	// stopPlaying stops the waiting media and waits until it has: what
	// follows (an agent, a message) plays alone.
	stopPlaying := func() {
		stop()
		<-finished
	}
	defer stopPlaying()

	var maxWait <-chan time.Time
	if ws.MaxWait > 0 {
		maxWait = time.After(ws.MaxWait)
	}
	var nextAnnouncement <-chan time.Time
	if announcement != nil && greetingDone {
		nextAnnouncement = time.After(ws.Announcement.Every)
	}
	waitForResponse := ws.Announcement.WaitForResponse
	if waitForResponse <= 0 {
		waitForResponse = defaultWaitForResponse
	}
	var windowEnd time.Time // response codes are live until then
	announcing := false
	c.ClearDigits()
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	for {
		select {
		case <-tick.C:
			now := time.Now()
			if !greetingDone && !mixer.Announcing() {
				greetingDone = true
				if music != nil {
					mixer.SetMusic(audio.NewPlayer(music, rate, true))
				}
				if announcement != nil {
					nextAnnouncement = time.After(ws.Announcement.Every)
				}
			}
			if announcing && !mixer.Announcing() {
				announcing = false
				windowEnd = now.Add(waitForResponse)
			}
		case <-nextAnnouncement:
			mixer.Announce(audio.NewPlayer(announcement, rate, false))
			announcing = true
			windowEnd = time.Time{}
			c.ClearDigits() // keys from before the announcement do not count
			nextAnnouncement = time.After(ws.Announcement.Every)
		case d := <-c.Digits():
			if !announcing && time.Now().After(windowEnd) {
				c.Log().Info("key outside the response window ignored", "digit", string(d.Digit))
				continue
			}
			code, ok := ws.Announcement.ResponseCodes[string(d.Digit)]
			if !ok {
				continue
			}
			c.Log().Info("response code", "queue", q.Name, "digit", string(d.Digit), "code", code.String(),
				"waited", time.Since(entered).Round(time.Millisecond))
			if code.Callback == "" {
				return code.Flow, nil
			}
			// The caller stays in the queue, hearing its media, until the
			// request is stored: a failed one leaves its place as it was.
			done, err := e.requestCallback(ctx, c, code.Callback, q.Name, func() {
				stopPlaying()
				leaveFor(ticket, LeaveCallback)
			})
			if done {
				return "", err
			}
		case a := <-ticket.Found():
			stopPlaying()
			ticket.Leave() // no longer waiting
			c.Log().Info("agent found", "queue", q.Name, "agent", a.Agent, "waited", time.Since(entered).Round(time.Millisecond))
			r, dialer := a.Request, a.Dialer
			if dialer == nil {
				dialer = e.dialer
			}
			in := c.Inbound()
			if r.From.Number == "" {
				r.From = in.From()
			}
			if r.MaxForwards == 0 {
				r.MaxForwards = in.MaxForwards()
			}
			_ = c.Dial(ctx, dialer, r)
			return "", errDone
		case <-maxWait:
			stopPlaying()
			c.Log().Info("maximum wait reached", "queue", q.Name, "max_wait", ws.MaxWait)
			ticket.Leave()
			if clip := load(ws.MaxWaitMessage); clip != nil {
				if err := c.Play(ctx, audio.NewPlayer(clip, rate, false)); err != nil {
					return "", err
				}
			}
			if ws.MaxWaitFlow != "" {
				return ws.MaxWaitFlow, nil
			}
			c.End(ctx, maxWaitCause)
			return "", errDone
		case err := <-played:
			if errors.Is(err, call.ErrEnded) || c.State() == call.StateEnded {
				return "", call.ErrEnded
			}
			return "", err
		case <-c.Done():
			return "", call.ErrEnded
		case <-ctx.Done():
			return "", ctx.Err()
		}
	}
}

// maxWaitCause ends a call that waited the longest its strategy allows.
var maxWaitCause = call.Cause{Code: 480, Reason: "Maximum wait time reached"}

// noQueueCause refuses a call to a queue that does not exist.
func noQueueCause(queue string) call.Cause {
	return call.Cause{Code: 480, Reason: "Queue " + queue + " does not exist"}
}
