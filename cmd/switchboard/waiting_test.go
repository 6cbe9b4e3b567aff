package main

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/switchboard-voice/switchboard/config"
	"github.com/switchboard-voice/switchboard/config/schedule"
	"github.com/switchboard-voice/switchboard/dialplan"
	"github.com/switchboard-voice/switchboard/sip/siptest"
)

// fromFile makes the harness's switch run the routes, flows, schedules,
// waiting strategies, contact center, hold, transfers and phone book of a
// configuration file (its listeners, trunks and database stay the
// harness's; the file's other trunks are added), with prompt paths relative to that file; change, when
// set, adjusts the file's values.
func fromFile(t testing.TB, path string, change func(c *config.Config)) func(c *config.Config) {
	t.Helper()
	f, err := config.LoadWith(path, dialplan.Check)
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	if change != nil {
		change(f)
	}
	return func(c *config.Config) {
		c.File = f.File
		c.Routes, c.Flows, c.Schedules, c.WaitingStrategies = f.Routes, f.Flows, f.Schedules, f.WaitingStrategies
		c.Queues, c.Agents, c.ACD, c.API, c.Gateway = f.Queues, f.Agents, f.ACD, f.API, f.Gateway
		c.Prompts.Dirs = f.Prompts.Dirs
		c.Hold, c.Transfers, c.Contacts = f.Hold, f.Transfers, f.Contacts
		c.VoiceNumbers, c.Callbacks = f.VoiceNumbers, f.Callbacks
		// The harness's trunks stay (its addresses); the file's others
		// (an outbound route's trunk) are added.
		for _, t := range f.Trunks {
			if !slices.ContainsFunc(c.Trunks, func(h config.Trunk) bool { return h.Name == t.Name }) {
				c.Trunks = append(c.Trunks, t)
			}
		}
	}
}

// TestWaitingReference: testdata/config/waiting.yaml as written. A caller
// to +15550100 hears, in order and on time, the greeting (500 Hz, 2 s),
// the music (700 Hz) for 10 s, the announcement (1100 Hz, 2 s) and the
// music again; a key outside the announcement's window does nothing; key
// 1 inside it leads to the callback flow (1500 Hz, then 480 "Callback
// requested").
func TestWaitingReference(t *testing.T) {
	h := newHarness(t, fromFile(t, "../../testdata/config/waiting.yaml", nil))
	c, err := h.caller.Invite(h.ctx, h.target("+15550100"), siptest.InviteOptions{ToneHz: 1000})
	if err != nil || c.Status() != 200 {
		t.Fatalf("invite: %v (status %d)", err, c.Status())
	}
	start := time.Now()
	heardAlone(t, c, 500, 700, 2*time.Second, "greeting")
	c.ResetAudio()
	waitToneBy(t, c, 700, 3*time.Second, "music after the greeting")
	if at := time.Since(start); at < 1500*time.Millisecond {
		t.Errorf("music after %v, want after the 2 s greeting", at)
	}
	// Music alone well into the wait: no announcement before its time.
	time.Sleep(5 * time.Second)
	heardAlone(t, c, 700, 1100, time.Second, "music at 8 s")
	if err := c.SendDTMF(h.ctx, '1', 100*time.Millisecond); err != nil {
		t.Fatal(err)
	}
	c.ResetAudio()
	waitToneBy(t, c, 1100, 6*time.Second, "announcement")
	if at := time.Since(start); at < 11*time.Second {
		t.Errorf("announcement after %v, want about 12 s (greeting 2 s + every 10 s)", at)
	}
	// The announcement lasts 2 s, then the music alone again.
	time.Sleep(2500 * time.Millisecond)
	heardAlone(t, c, 700, 1100, 2*time.Second, "music after the announcement")
	// Still inside wait_for_response (5 s after the announcement): key 1.
	if err := c.SendDTMF(h.ctx, '1', 100*time.Millisecond); err != nil && !endsSoon(c.Ended()) {
		t.Fatal(err)
	}
	heardAlone(t, c, 1500, 700, 3*time.Second, "the callback flow")
	waitEnded(t, c, "caller")
	if bye := c.Bye(); bye == nil || !strings.Contains(bye.String(), "Callback requested") {
		t.Errorf("BYE:\n%v", bye)
	}
	if n := strings.Count(h.logs.String(), "key outside the response window ignored"); n != 1 {
		t.Errorf("%d keys ignored, want 1 (the key during the music)", n)
	}
}

// TestWaitingReferenceMaxWait: waiting.yaml with its 60 s maximum wait
// shortened to 5 s: the max-wait message (300 Hz) plays just before the
// caller is dropped with 480 "Maximum wait time reached".
func TestWaitingReferenceMaxWait(t *testing.T) {
	h := newHarness(t, fromFile(t, "../../testdata/config/waiting.yaml", func(c *config.Config) {
		ws := c.WaitingStrategies["default"]
		if ws.MaxWait != 60*time.Second {
			t.Errorf("waiting.yaml max_wait %v, want 60s", ws.MaxWait)
		}
		ws.MaxWait = 5 * time.Second
		c.WaitingStrategies["default"] = ws
	}))
	c, err := h.caller.Invite(h.ctx, h.target("+15550100"), siptest.InviteOptions{ToneHz: 1000})
	if err != nil || c.Status() != 200 {
		t.Fatalf("invite: %v (status %d)", err, c.Status())
	}
	start := time.Now()
	waitToneBy(t, c, 700, 4*time.Second, "music")
	c.ResetAudio()
	waitToneBy(t, c, 300, 4*time.Second, "max-wait message")
	if at := time.Since(start); at < 4500*time.Millisecond {
		t.Errorf("max-wait message after %v, want about 5 s", at)
	}
	waitEnded(t, c, "caller")
	if bye := c.Bye(); bye == nil || !strings.Contains(bye.String(), "480") || !strings.Contains(bye.String(), "Maximum wait time reached") {
		t.Errorf("BYE:\n%v", bye)
	}
}

// TestClosedHoursInjectedClock: the switch's clock is set through the
// node's time source. Wednesday 10:00 in London is open (the open prompt,
// 700 Hz); Saturday and Christmas Day are closed: the away message (900 Hz)
// plays with its response codes — key 1 asks for a callback (1500 Hz), no
// key ends the call after the wait-for-response time-out.
func TestClosedHoursInjectedClock(t *testing.T) {
	london, err := time.LoadLocation("Europe/London")
	if err != nil {
		t.Fatal(err)
	}
	office := func(c *config.Config) {
		c.Schedules = []schedule.Schedule{{Name: "office", TimeZone: "Europe/London",
			Weekly: map[string][]string{"mon-fri": {"09:00-17:00"}}, Holidays: []string{"12-25"}}}
		c.Flows = map[string][]config.Action{
			"out": {
				{WorkingHours: &config.WorkingHoursAction{Schedule: "office", Closed: "away"}},
				{Play: &config.PlayAction{File: audioDir + "tone-700.wav", Duration: 2 * time.Second}},
				{Hangup: &config.HangupAction{Code: 480, Reason: "Open"}},
			},
			"away": {
				{Answer: &config.AnswerAction{}},
				{Gather: &config.GatherAction{Prompt: audioDir + "tone-900.wav", Timeout: 2 * time.Second,
					Branches: map[string]config.ResponseCode{"1": {Flow: "callback"}}, NoInput: "closed"}},
			},
			"callback": {
				{Play: &config.PlayAction{File: audioDir + "tone-1500.wav"}},
				{Hangup: &config.HangupAction{Code: 480, Reason: "Callback requested"}},
			},
			"closed": {{Hangup: &config.HangupAction{Code: 480, Reason: "Closed"}}},
		}
	}
	for _, tc := range []struct {
		name   string
		at     time.Time
		hz     float64
		key    rune
		reason string
	}{
		{"wednesday", time.Date(2026, 11, 25, 10, 0, 0, 0, london), 700, 0, "Open"},
		{"saturday", time.Date(2026, 11, 28, 10, 0, 0, 0, london), 900, '1', "Callback requested"},
		{"christmas", time.Date(2026, 12, 25, 10, 0, 0, 0, london), 900, 0, "Closed"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarnessWith(t, office, nodeOptions{Now: func() time.Time { return tc.at }})
			c, err := h.caller.Invite(h.ctx, h.target("+15550100"), siptest.InviteOptions{ToneHz: 1000})
			if err != nil || c.Status() != 200 {
				t.Fatalf("invite: %v (status %d)", err, c.Status())
			}
			waitToneBy(t, c, tc.hz, 2*time.Second, "prompt for "+tc.name)
			if tc.key != 0 {
				if err := c.SendDTMF(h.ctx, tc.key, 100*time.Millisecond); err != nil && !endsSoon(c.Ended()) {
					t.Fatal(err)
				}
				c.ResetAudio()
				waitToneBy(t, c, 1500, 3*time.Second, "the response code's flow")
			}
			waitEnded(t, c, "caller")
			if bye := c.Bye(); bye == nil || !strings.Contains(bye.String(), tc.reason) {
				t.Errorf("BYE without %q:\n%v", tc.reason, bye)
			}
		})
	}
}

// TestFlowVariables: set gives the call variables; gather stores the keys
// as {{digits}}; hangup.reason uses both, with a built-in one.
func TestFlowVariables(t *testing.T) {
	h := newHarness(t, func(c *config.Config) {
		c.Flows = map[string][]config.Action{
			"out": {
				{Set: map[string]string{"tier": "gold", "priority": "7"}},
				{Set: map[string]string{"label": "{{tier}}-{{called}}"}},
				{Gather: &config.GatherAction{MaxDigits: 3, Timeout: 3 * time.Second}},
				{Hangup: &config.HangupAction{Code: 480, Reason: "{{label}} keyed {{digits}}"}},
			},
		}
	})
	c, err := h.caller.Invite(h.ctx, h.target("+15550100"), siptest.InviteOptions{ToneHz: 1000})
	if err != nil || c.Status() != 200 {
		t.Fatalf("invite: %v (status %d)", err, c.Status())
	}
	for _, d := range "42#" {
		if err := c.SendDTMF(h.ctx, d, 100*time.Millisecond); err != nil && !endsSoon(c.Ended()) {
			t.Fatal(err)
		}
	}
	waitEnded(t, c, "caller")
	if bye := c.Bye(); bye == nil || !strings.Contains(bye.String(), `gold-+15550100 keyed 42`) {
		t.Errorf("BYE:\n%v", bye)
	}
}
