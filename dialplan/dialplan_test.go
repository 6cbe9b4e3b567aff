package dialplan

import (
	"testing"

	"github.com/switchboard-voice/switchboard/config"
)

func TestMatchFirstRouteWins(t *testing.T) {
	cfg := &config.Config{Routes: []config.Route{
		{Name: "vip", Match: config.RouteMatch{Trunk: "carrier-a", From: "+4477*"}, Flow: "vip"},
		{Name: "support", Match: config.RouteMatch{To: "+442071234567"}, Flow: "support"},
		{Name: "uk", Match: config.RouteMatch{To: "+44*"}, Flow: "uk"},
		{Name: "rest", Match: config.RouteMatch{To: "*"}, Flow: "rest"},
	}}
	e := New(cfg, nil, nil)
	cases := []struct {
		r    Request
		want string
	}{
		{Request{Trunk: "carrier-a", From: "+447700900123", To: "+442071234567"}, "vip"},
		{Request{Trunk: "carrier-b", From: "+447700900123", To: "+442071234567"}, "support"},
		{Request{Trunk: "carrier-a", From: "+15550100", To: "+442071234567"}, "support"},
		{Request{Trunk: "carrier-a", From: "+15550100", To: "+442079999999"}, "uk"},
		{Request{Trunk: "carrier-a", From: "+15550100", To: "+15550199"}, "rest"},
	}
	for _, c := range cases {
		rt, _, ok := e.Match(c.r)
		if !ok || rt.Name != c.want {
			t.Errorf("Match(%+v) = %q %v, want %q", c.r, rt.Name, ok, c.want)
		}
	}
	none := New(&config.Config{Routes: cfg.Routes[:3]}, nil, nil)
	if rt, idx, ok := none.Match(Request{To: "+15550199"}); ok {
		t.Errorf("unexpected match %q (#%d)", rt.Name, idx)
	}
}

func TestMatchRegularExpression(t *testing.T) {
	cfg := &config.Config{Routes: []config.Route{
		{Name: "london", Match: config.RouteMatch{To: `/^\+44(20|79)[0-9]{8}$/`}, Flow: "uk"},
		{Name: "anonymous", Match: config.RouteMatch{From: `/^(anonymous|)$/`}, Flow: "anon"},
	}}
	e := New(cfg, nil, nil)
	for _, tc := range []struct {
		from, to string
		want     string
	}{
		{"+15551", "+442071234567", "london"},
		{"+15551", "+447912345678", "london"},
		{"+15551", "+4420712345678", ""}, // one digit too many: anchored
		{"+15551", "442071234567", ""},   // a regex is matched as written: no '+' folding
		{"anonymous", "+331", "anonymous"},
		{"", "+331", "anonymous"},
	} {
		rt, _, ok := e.Match(Request{From: tc.from, To: tc.to})
		if got := rt.Name; ok != (tc.want != "") || got != tc.want {
			t.Errorf("from %q to %q matched %q (%v), want %q", tc.from, tc.to, got, ok, tc.want)
		}
	}
}

// TestCheckGatherPromptAndSpeech: Check refuses a gather prompt that is not
// there and speech espeak-ng would refuse, each at its key; a say with
// variables is checked with stand-ins for them.
func TestCheckGatherPromptAndSpeech(t *testing.T) {
	cfg := &config.Config{Prompts: config.Prompts{CacheDir: t.TempDir()}, Flows: map[string][]config.Action{
		"menu": {
			{Gather: &config.GatherAction{Prompt: t.TempDir() + "/missing.wav"}},
			{Say: &config.SayAction{Text: "Hello", Language: "en us;x"}},
			{Say: &config.SayAction{Text: "{{caller}}"}},
		},
	}}
	got := map[string]bool{}
	for _, p := range Check(cfg) {
		got[p.Key] = true
	}
	for _, k := range []string{"flows.menu[0].gather.prompt", "flows.menu[1].say"} {
		if !got[k] {
			t.Errorf("no problem at %s (got %v)", k, got)
		}
	}
	if got["flows.menu[2].say"] {
		t.Error("a say made only of a variable was refused")
	}
}
