package main

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/switchboard-voice/switchboard/config"
	"github.com/switchboard-voice/switchboard/config/schedule"
	"github.com/switchboard-voice/switchboard/media/audio"
	"github.com/switchboard-voice/switchboard/media/tone"
	"github.com/switchboard-voice/switchboard/sip/siptest"
)

const audioDir = "../../testdata/audio/"

// ivrConfig: answer, a greeting, working hours, then music (open) or the
// away message (closed), then hang up.
func ivrConfig(open bool) func(c *config.Config) {
	return func(c *config.Config) {
		weekly := map[string][]string{}
		if open {
			weekly["mon-sun"] = []string{"24h"}
		}
		c.Schedules = []schedule.Schedule{{Name: "office", TimeZone: "Europe/London", Weekly: weekly}}
		c.Flows = map[string][]config.Action{
			"out": {
				{Answer: &config.AnswerAction{}},
				{Play: &config.PlayAction{File: audioDir + "tone-500.wav"}},
				{WorkingHours: &config.WorkingHoursAction{Schedule: "office", Closed: "closed"}},
				{Play: &config.PlayAction{File: audioDir + "tone-700.wav", Duration: 3 * time.Second}},
				{Hangup: &config.HangupAction{Code: 480, Reason: "Flow done"}},
			},
			"closed": {
				{Play: &config.PlayAction{File: audioDir + "tone-900.wav"}},
				{Hangup: &config.HangupAction{Code: 480, Reason: "Closed"}},
			},
		}
	}
}

// waitToneBy waits up to d for c to hear hz and returns how long it took.
func waitToneBy(t testing.TB, c *siptest.Call, hz float64, d time.Duration, what string) time.Duration {
	t.Helper()
	start := time.Now()
	ctx, cancel := context.WithTimeout(context.Background(), d)
	defer cancel()
	if err := c.WaitTone(ctx, hz); err != nil {
		t.Fatalf("%s (%.0f Hz) not heard within %v: %v", what, hz, d, err)
	}
	return time.Since(start)
}

// TestFlowPromptsAndWorkingHours: the switch answers, plays the greeting,
// checks working hours, then plays music (open) or the away message
// (closed) and hangs up with the configured cause.
func TestFlowPromptsAndWorkingHours(t *testing.T) {
	for _, tc := range []struct {
		name   string
		open   bool
		nextHz float64
		reason string
	}{
		{"open", true, 700, "Flow done"},
		{"closed", false, 900, "Closed"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t, ivrConfig(tc.open))
			c, err := h.caller.Invite(h.ctx, h.target("+15550100"), siptest.InviteOptions{ToneHz: 1000})
			if err != nil || c.Status() != 200 {
				t.Fatalf("invite: %v (status %d)", err, c.Status())
			}
			waitToneBy(t, c, 500, 2*time.Second, "greeting")
			c.ResetAudio()
			// The greeting lasts 2 s; the next prompt follows it.
			waitToneBy(t, c, tc.nextHz, 4*time.Second, "prompt after working hours")
			c.ResetAudio()
			time.Sleep(400 * time.Millisecond)
			if c.Hears(500) || !c.Hears(tc.nextHz) {
				t.Errorf("after the greeting: hears 500 Hz %v, %.0f Hz %v; want only the second", c.Hears(500), tc.nextHz, c.Hears(tc.nextHz))
			}
			waitEnded(t, c, "caller")
			bye := c.Bye()
			if bye == nil || !strings.Contains(bye.String(), tc.reason) {
				t.Errorf("BYE without reason %q:\n%v", tc.reason, bye)
			}
			select {
			case in := <-h.far.Incoming():
				t.Errorf("the far end was called: %v", in.Request().Recipient)
			default:
			}
		})
	}
}

// TestFlowGather: a menu over a prompt; a key during the prompt stops it
// and takes its branch; no key takes the no-input branch after the
// time-out.
func TestFlowGather(t *testing.T) {
	// A 10 s menu prompt: had the key not cut it, branch two's prompt could
	// not start within the 4 s the test waits for it.
	longPrompt := filepath.Join(t.TempDir(), "menu.wav")
	g := tone.NewGenerator(8000, 500, 0.5)
	samples := make([]int16, 10*8000)
	g.Fill(samples)
	f, err := os.Create(longPrompt)
	if err != nil {
		t.Fatal(err)
	}
	if err := audio.EncodeWAV(f, &audio.Clip{Rate: 8000, Samples: samples}); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	menu := func(prompt string) func(c *config.Config) {
		return func(c *config.Config) {
			c.Prompts.Dirs = append(c.Prompts.Dirs, filepath.Dir(longPrompt)) // the long prompt's directory too
			c.Flows = map[string][]config.Action{
				"out": {
					{Answer: &config.AnswerAction{}},
					{Gather: &config.GatherAction{Prompt: prompt, Timeout: time.Second,
						Branches: map[string]config.ResponseCode{"1": {Flow: "one"}, "2": {Flow: "two"}}, Default: "other", NoInput: "silent"}},
					{Hangup: &config.HangupAction{Code: 480, Reason: "unreachable"}},
				},
				"one":    {{Hangup: &config.HangupAction{Code: 480, Reason: "pressed one"}}},
				"two":    {{Play: &config.PlayAction{File: audioDir + "tone-900.wav"}}, {Hangup: &config.HangupAction{Code: 480, Reason: "pressed two"}}},
				"other":  {{Hangup: &config.HangupAction{Code: 480, Reason: "other key"}}},
				"silent": {{Hangup: &config.HangupAction{Code: 480, Reason: "no input"}}},
			}
		}
	}
	for _, tc := range []struct {
		key    rune
		prompt string
		reason string
	}{
		{'2', longPrompt, "pressed two"},
		{'7', longPrompt, "other key"},
		{0, audioDir + "tone-500.wav", "no input"}, // 2 s prompt, then the 1 s time-out
	} {
		h := newHarness(t, menu(tc.prompt))
		c, err := h.caller.Invite(h.ctx, h.target("+15550100"), siptest.InviteOptions{ToneHz: 1000})
		if err != nil || c.Status() != 200 {
			t.Fatalf("invite: %v", err)
		}
		waitToneBy(t, c, 500, 2*time.Second, "menu prompt")
		if tc.key != 0 {
			// The branch may hang up before the last end packets are out.
			if err := c.SendDTMF(h.ctx, tc.key, 100*time.Millisecond); err != nil && !endsSoon(c.Ended()) {
				t.Fatal(err)
			}
		}
		if tc.key == '2' {
			c.ResetAudio()
			waitToneBy(t, c, 900, 4*time.Second, "branch two's prompt (the key cuts the menu prompt)")
		}
		waitEnded(t, c, "caller")
		if bye := c.Bye(); bye == nil || !strings.Contains(bye.String(), tc.reason) {
			t.Errorf("key %q: BYE without %q:\n%v", tc.key, tc.reason, bye)
		}
	}
}

// endsSoon reports whether ch closes within 2 s.
func endsSoon(ch <-chan struct{}) bool {
	select {
	case <-ch:
		return true
	case <-time.After(2 * time.Second):
		return false
	}
}
