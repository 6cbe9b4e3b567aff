package main

import (
	"testing"
	"time"

	"github.com/switchboard-voice/switchboard/config"
	"github.com/switchboard-voice/switchboard/dialplan"
	"github.com/switchboard-voice/switchboard/store"
)

// TestReloadAppliesCallbackConfigs: the configuration's callbacks are
// managed callback configurations at start, and a reload applies their
// changes and removals.
func TestReloadAppliesCallbackConfigs(t *testing.T) {
	n, ctx, write := reloadableNode(t, "queues: [{name: support}]\n", `callbacks:
  auto: {type: automated, queue: support, retry_delay: 10s, priority: queue_position}
  hand: {type: manual, queue: support, retries: 0}
`)
	a := n.contact.acd
	configs := func() map[string]store.CallbackConfig {
		t.Helper()
		cs, err := a.CallbackConfigs(ctx)
		if err != nil {
			t.Fatal(err)
		}
		out := map[string]store.CallbackConfig{}
		for _, c := range cs {
			out[c.Name] = c
		}
		return out
	}
	got := configs()
	if auto, hand := got["auto"], got["hand"]; len(got) != 2 || !auto.Managed || auto.Retries != config.DefaultCallbackRetries ||
		auto.RetryDelay != 10*time.Second || auto.Priority != "queue_position" || !hand.Managed || hand.Retries != 0 ||
		hand.RetryDelay != config.DefaultCallbackRetryDelay {
		t.Fatalf("callback configs at start: %+v", got)
	}

	write(`callbacks:
  hand: {type: manual, queue: support, retries: 3}
`)
	if err := n.reload(); err != nil {
		t.Fatal(err)
	}
	got = configs()
	if _, ok := got["auto"]; ok || got["hand"].Retries != 3 {
		t.Errorf("callback configs after reload: %+v, want hand with 3 retries, no auto", got)
	}
}

// TestContactCenterConfigCallbacks: the reference configuration's voice
// number and callback configurations, and the checks the API's callback
// configurations get against it.
func TestContactCenterConfigCallbacks(t *testing.T) {
	cfg, err := config.LoadWith(ccConfig, dialplan.Check)
	if err != nil {
		t.Fatal(err)
	}
	if len(cfg.VoiceNumbers) != 1 || cfg.VoiceNumbers[0] != (config.VoiceNumber{Number: "+15550100", Trunk: "pstn"}) {
		t.Errorf("voice_numbers = %+v", cfg.VoiceNumbers)
	}
	cbs := callbackConfigs(cfg)
	if len(cbs) != 2 || cbs[0].Name != "support-callback" || cbs[0].Type != "automated" || cbs[0].Retries != 2 ||
		cbs[0].RetryDelay != 10*time.Second || cbs[0].Priority != "queue_position" || cbs[0].Queue != "support" ||
		cbs[1].Name != "support-manual" || cbs[1].Type != "manual" || cbs[1].ConfirmationFile == "" {
		t.Errorf("callbacks = %+v", cbs)
	}

	ok := config.CallbackConfig{Type: "manual", Queue: "support", CallerID: "+15550100",
		Confirmation: config.Confirmation{File: "../audio/tone-1500.wav"}}
	ok.ApplyDefaults()
	if ps := checkCallbackConfig(cfg, ok); len(ps) != 0 {
		t.Errorf("a good callback config: %+v", ps)
	}
	bad := config.CallbackConfig{Type: "manual", Queue: "support", CallerID: "+15550199", Schedule: "night",
		Confirmation: config.Confirmation{File: "missing.wav"}}
	bad.ApplyDefaults()
	fields := map[string]bool{}
	for _, p := range checkCallbackConfig(cfg, bad) {
		fields[p.Field] = true
	}
	for _, f := range []string{"caller_id", "schedule", "confirmation.file"} {
		if !fields[f] {
			t.Errorf("no problem on %s: %v", f, fields)
		}
	}
	if len(cfg.Callbacks) != 2 {
		t.Errorf("checking changed the running configuration: %v", cfg.Callbacks)
	}
}
