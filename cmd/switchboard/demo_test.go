package main

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
)

// demoNumbers are the numbers `make call` announces ("Calling +15550100 from
// +15557770"), read from the Makefile so that the test and the announcement
// cannot drift apart.
func demoNumbers(t *testing.T) (to, from string) {
	t.Helper()
	mk, err := os.ReadFile("../../Makefile")
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`Calling (\+[0-9]+) from (\+[0-9]+)`).FindSubmatch(mk)
	if m == nil {
		t.Fatal(`the Makefile's call target does not announce "Calling NUMBER from NUMBER"`)
	}
	to, from = string(m[1]), string(m[2])
	if !strings.Contains(string(mk), "-s "+to+" ") {
		t.Fatalf("make call announces a call to %s but does not dial it (sipp -s)", to)
	}
	return to, from
}

// TestDemoCall is `make run` + `make call` with an agent: the demo's
// configuration (testdata/config/demo.yaml) and the demo caller —
// scripts/demo-sentence.sh's espeak-ng sentence played by SIPp with
// testdata/sipp/uac_demo.xml, as `make call` runs them. Agent demo1 (a pion
// WebRTC agent with the demo's token) is offered the call after the spoken
// greeting, shown as coming from the number `make call` announces, answers,
// hears the sentence (audible decoded audio), sends keys (logged as the keys
// and their count), and hangs up: SIPp ends with the call completed.
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
	to, from := demoNumbers(t)
	h := newHarness(t, fromFile(t, "../../testdata/config/demo.yaml", nil))
	a := h.login("demo1", "demo1-token")

	scenario, err := filepath.Abs("../../testdata/sipp/uac_demo.xml")
	if err != nil {
		t.Fatal(err)
	}
	port, mediaPort := freePort(t), freePorts(t, 4)
	ctx, cancel := context.WithTimeout(h.ctx, 45*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, sippPath, h.sip, "-sf", scenario, "-s", to, "-i", "127.0.0.1",
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
	if offer.Field("queue") != "support" || offer.Field("customer_number") != from || offer.Field("customer_name") != "Demo Caller" {
		t.Errorf("call.offered %s: want queue support, the caller %q (Demo Caller), as `make call` announces", offer.Data, from)
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
	// Keys to the caller: the log names the keys as digits and their number
	// as a count.
	if err := a.panel.SendDTMF(h.ctx, offer.Field("call_id"), "123"); err != nil {
		t.Fatal(err)
	}
	if line := logLine(h.logs.String(), `msg="agent sent DTMF"`); !strings.Contains(line, " digits=123 ") || !strings.Contains(line, " digit_count=3") {
		t.Errorf("DTMF log line %q, want digits=123 and digit_count=3", line)
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

// logLine is the first line of logs containing s ("" when none).
func logLine(logs, s string) string {
	for _, l := range strings.Split(logs, "\n") {
		if strings.Contains(l, s) {
			return l
		}
	}
	return ""
}
