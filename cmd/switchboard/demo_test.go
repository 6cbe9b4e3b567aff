package main

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"
	"time"
)

// TestDemoCall is `make run` + `make call` with an agent: the demo's
// configuration (testdata/config/demo.yaml) and the demo caller —
// scripts/demo-sentence.sh's espeak-ng sentence played by SIPp with
// testdata/sipp/uac_demo.xml, as `make call` runs them. Agent demo1 (a pion
// WebRTC agent with the demo's token) is offered the call after the spoken
// greeting, answers, hears the sentence (audible decoded audio), and hangs
// up: SIPp ends with the call completed.
func TestDemoCall(t *testing.T) {
	sippPath := requireSIPp(t)
	for _, tool := range []string{"espeak-ng", "ffmpeg"} {
		if _, err := exec.LookPath(tool); err != nil {
			if os.Getenv("CI") == "true" {
				t.Fatalf("%s is not installed", tool)
			}
			t.Skip(tool + " not installed")
		}
	}
	dir := t.TempDir()
	if out, err := exec.Command("bash", "../../scripts/demo-sentence.sh", dir).CombinedOutput(); err != nil {
		t.Fatalf("demo-sentence.sh: %v\n%s", err, out)
	}
	h := newHarness(t, fromFile(t, "../../testdata/config/demo.yaml", nil))
	a := h.login("demo1", "demo1-token")

	scenario, err := filepath.Abs("../../testdata/sipp/uac_demo.xml")
	if err != nil {
		t.Fatal(err)
	}
	port, mediaPort := freePort(t), freePorts(t, 4)
	ctx, cancel := context.WithTimeout(h.ctx, 45*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, sippPath, h.sip, "-sf", scenario, "-s", "+15550100", "-i", "127.0.0.1",
		"-p", strconv.Itoa(port), "-mi", "127.0.0.1", "-mp", strconv.Itoa(mediaPort), "-m", "1", "-nostdin",
		"-timeout", "40", "-timeout_error")
	cmd.Dir = dir // uac_demo.xml opens sentence.pcmu there, as make call does in data/demo
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	t.Cleanup(func() { _ = cmd.Process.Kill() })

	// The greeting (espeak-ng) plays first, then the caller queues.
	offer := a.next("call.offered", 20*time.Second)
	if offer.Field("queue") != "support" || offer.Field("customer_number") == "" {
		t.Errorf("call.offered %s", offer.Data)
	}
	a.media.ResetAudio()
	if err := a.panel.Answer(h.ctx, offer.Field("call_id")); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(5 * time.Second)
	for a.media.FirstAudio().IsZero() && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	if a.media.FirstAudio().IsZero() {
		t.Fatal("the agent hears nothing of the demo caller's sentence")
	}
	if err := a.panel.Hangup(h.ctx, offer.Field("call_id")); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("sipp (uac_demo.xml): %v, want the call completed\n%s", err, tail(out.String(), 2000))
		}
	case <-time.After(15 * time.Second):
		t.Errorf("sipp did not end after the agent hung up\n%s", tail(out.String(), 2000))
	}
}
