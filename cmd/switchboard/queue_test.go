package main

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/switchboard-voice/switchboard/call"
	"github.com/switchboard-voice/switchboard/config"
	"github.com/switchboard-voice/switchboard/dialplan"
	"github.com/switchboard-voice/switchboard/sip/siptest"
)

// waitingConfig: the caller is queued under a waiting strategy: greeting
// 500 Hz (2 s), music 700 Hz looped, announcement 1100 Hz (2 s) every 3 s
// with response code 1 → a flow playing 1500 Hz, maximum wait maxWait
// with a 300 Hz message.
func waitingConfig(maxWait time.Duration) func(c *config.Config) {
	return func(c *config.Config) {
		c.WaitingStrategies = map[string]config.WaitingStrategy{
			"default": {
				Greeting: audioDir + "tone-500.wav",
				Music:    audioDir + "tone-700.wav",
				Announcement: config.Announcement{File: audioDir + "tone-1100.wav", Every: 3 * time.Second,
					ResponseCodes: map[string]config.ResponseCode{"1": {Flow: "callback"}}, WaitForResponse: time.Second},
				MaxWait: maxWait,
			},
		}
		if maxWait > 0 {
			ws := c.WaitingStrategies["default"]
			ws.MaxWaitMessage = audioDir + "tone-300.wav"
			c.WaitingStrategies["default"] = ws
		}
		c.Queues = []config.Queue{{Name: "support"}}
		c.Flows = map[string][]config.Action{
			"out": {
				{Answer: &config.AnswerAction{}},
				{Queue: &config.QueueAction{Name: "support", WaitingStrategy: "default"}},
			},
			"callback": {
				{Play: &config.PlayAction{File: audioDir + "tone-1500.wav"}},
				{Hangup: &config.HangupAction{Code: 480, Reason: "Callback requested"}},
			},
		}
	}
}

// heardAlone waits for hz and then checks, on fresh audio, that it is what
// plays (not notHz).
func heardAlone(t testing.TB, c *siptest.Call, hz, notHz float64, within time.Duration, what string) {
	t.Helper()
	c.ResetAudio()
	waitToneBy(t, c, hz, within, what)
	c.ResetAudio()
	time.Sleep(300 * time.Millisecond)
	if !c.Hears(hz) || c.Hears(notHz) {
		t.Errorf("%s: %.0f Hz heard %v, %.0f Hz heard %v; want only the first", what, hz, c.Hears(hz), notHz, c.Hears(notHz))
	}
}

// testQueues finds an agent (the far-end trunk) after a delay.
type testQueues struct {
	after time.Duration
	mu    sync.Mutex
	left  int
}

func (q *testQueues) Enqueue(ctx context.Context, name string, c *call.Call) (dialplan.Ticket, error) {
	t := &testTicket{q: q, found: make(chan call.Assignment, 1), done: make(chan struct{})}
	go func() {
		select {
		case <-time.After(q.after):
			t.found <- call.Assignment{Agent: "agent-7", Request: call.DialRequest{Trunk: "far-end", To: "7007"}} // over a trunk: a number
		case <-t.done:
		}
	}()
	return t, nil
}

type testTicket struct {
	q     *testQueues
	found chan call.Assignment
	once  sync.Once
	done  chan struct{}
}

func (t *testTicket) Found() <-chan call.Assignment { return t.found }
func (t *testTicket) Leave() {
	t.once.Do(func() {
		close(t.done)
		t.q.mu.Lock()
		t.q.left++
		t.q.mu.Unlock()
	})
}

// TestQueueAgentFound: the queue finds an agent while the caller hears the
// waiting strategy; the music stops and the caller talks to the agent's leg
// (already answered by the switch, so only the media is connected).
func TestQueueAgentFound(t *testing.T) {
	q := &testQueues{after: 3 * time.Second}
	h := newHarnessWith(t, waitingConfig(0), nodeOptions{Queues: q})
	farCall := h.answerNextWith(siptest.AnswerOptions{ToneHz: farHz})
	c, err := h.caller.Invite(h.ctx, h.target("+15550100"), siptest.InviteOptions{ToneHz: callerHz})
	if err != nil || c.Status() != 200 {
		t.Fatalf("invite: %v (status %d)", err, c.Status())
	}
	waitToneBy(t, c, 500, 2*time.Second, "greeting")
	fc := h.waitCall(farCall)
	if got := fc.Request().Recipient.User; got != "+7007" {
		t.Errorf("agent leg to %q, want +7007 (the far-end trunk adds the plus)", got)
	}
	heardAlone(t, c, farHz, 700, 3*time.Second, "the agent, music stopped")
	waitTone(t, fc, callerHz, "agent")
	h.hangup(c, fc)
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.left != 1 {
		t.Errorf("ticket left %d times, want 1", q.left)
	}
}

// TestQueueMediaTimeout: a caller the switch answered itself (waiting in a
// queue) who stops sending RTP is hung up after rtp.media_timeout, as a
// bridged call would be.
func TestQueueMediaTimeout(t *testing.T) {
	h := newHarness(t, func(c *config.Config) {
		waitingConfig(0)(c)
		c.RTP.MediaTimeout = time.Second
	})
	c, err := h.caller.Invite(h.ctx, h.target("+15550100"), siptest.InviteOptions{ToneHz: 1000})
	if err != nil || c.Status() != 200 {
		t.Fatalf("invite: %v (status %d)", err, c.Status())
	}
	waitToneBy(t, c, 500, 2*time.Second, "greeting")
	c.SetImpairment(siptest.Impairment{Loss: 1})
	waitEnded(t, c, "caller")
	if bye := c.Bye(); bye == nil || !strings.Contains(bye.String(), "Media timeout") {
		t.Errorf("BYE:\n%v", bye)
	}
	h.waitMetric("switchboard_media_timeouts_total", "1")
}
