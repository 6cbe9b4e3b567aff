package dialplan

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/switchboard-voice/switchboard/config"
)

func TestOutboundTrunk(t *testing.T) {
	cfg := &config.Config{Routes: []config.Route{
		{Name: "in", Match: config.RouteMatch{To: "*"}, Flow: "support"},
		{Name: "escalations", Match: config.RouteMatch{To: "+15550142"}, Outbound: "pstn"},
		{Name: "us", Match: config.RouteMatch{To: `/^\+1555[0-9]{4}$/`}, Outbound: "us-carrier"},
		{Name: "uk", Match: config.RouteMatch{To: "+44*"}, Outbound: "uk-carrier"},
	}}
	e := New(cfg, nil, nil)
	for number, want := range map[string]string{
		"+15550142":     "pstn",       // the first matching outbound route wins
		"+15550143":     "us-carrier", // the regular expression
		"+442071234567": "uk-carrier",
	} {
		got, err := e.OutboundTrunk(number)
		if err != nil || got != want {
			t.Errorf("OutboundTrunk(%s) = %q, %v, want %q", number, got, err, want)
		}
	}
	// The inbound route matches every number but is not for outbound calls.
	_, err := e.OutboundTrunk("+33123456789")
	if !errors.Is(err, ErrNoOutboundRoute) || !strings.Contains(err.Error(), "+33123456789") {
		t.Errorf("OutboundTrunk(+33123456789) error = %v, want ErrNoOutboundRoute naming the number", err)
	}
	// And an outbound route never routes a call that comes in.
	rt, _, ok := e.Match(Request{To: "+15550142"})
	if !ok || rt.Name != "in" {
		t.Errorf("Match(+15550142) = %q %v, want the inbound route", rt.Name, ok)
	}
	only := New(&config.Config{Routes: cfg.Routes[1:]}, nil, nil)
	if rt, idx, ok := only.Match(Request{To: "+15550142"}); ok {
		t.Errorf("an incoming call matched outbound route %q (#%d)", rt.Name, idx)
	}
}

// TestCheckHoldAndTransferFiles: hold, transfer and callback confirmation
// files are checked like the flows' prompts, confined to prompts.dirs, each
// at its key.
func TestCheckHoldAndTransferFiles(t *testing.T) {
	dir, outside := t.TempDir(), t.TempDir()
	wav := filepath.Join("..", "testdata", "audio", "tone-500.wav")
	b, err := os.ReadFile(wav)
	if err != nil {
		t.Fatal("the test tone is part of the repository:", err)
	}
	for _, p := range []string{filepath.Join(dir, "ok.wav"), filepath.Join(outside, "far.wav")} {
		if err := os.WriteFile(p, b, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	cfg := &config.Config{File: filepath.Join(dir, "switchboard.yaml"), Prompts: config.Prompts{CacheDir: t.TempDir()},
		Hold: config.Hold{Music: "ok.wav", Announcement: config.Message{File: "missing.wav"}},
		Queues: []config.Queue{{Name: "sales", Hold: &config.Hold{Music: filepath.Join(outside, "far.wav"),
			Announcement: config.Message{File: "ok.wav"}}}},
		Transfers: config.Transfers{Music: "../" + filepath.Base(outside) + "/far.wav", Message: config.Message{File: "ok.wav"}},
		Callbacks: map[string]config.CallbackConfig{
			"near": {Confirmation: config.Confirmation{File: "ok.wav"}},
			"far":  {Confirmation: config.Confirmation{File: filepath.Join(outside, "far.wav")}},
		},
	}
	got := map[string]bool{}
	for _, p := range Check(cfg) {
		got[p.Key] = true
	}
	want := map[string]bool{"hold.announcement.file": true, "queues[0].hold.music": true, "transfers.music": true,
		"callbacks.far.confirmation.file": true}
	if len(got) != len(want) {
		t.Errorf("problems at %v, want at %v", got, want)
	}
	for k := range want {
		if !got[k] {
			t.Errorf("no problem at %s (got %v)", k, got)
		}
	}
}
