package main

import (
	"regexp"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/switchboard-voice/switchboard/sip/siptest"
)

// TestAgentsim: `switchboard agentsim` creates two agents with the
// supervisor key, logs them in (WHIP and events), and they answer three
// calls placed at once: each caller hears the agents' tone; the run
// reports them answered and completed with answer-to-audio figures, and
// deletes its agents.
func TestAgentsim(t *testing.T) {
	h := newHarness(t, fromFile(t, "../../testdata/config/contact-center.yaml", nil))
	base := "http://" + h.node.http.Addr()
	var stdout, stderr string
	var simErr error
	done := make(chan struct{})
	go func() {
		defer close(done)
		stdout, stderr, simErr = runCLI(t, "agentsim", "--api", base, "--key", "test-key", "--agents", "2",
			"--answer-after", "200ms", "--talk", "1500ms", "--duration", "9s", "--clear-wrapup", "--tone", "1300")
	}()
	// Wait until both simulated agents are Available.
	deadline := time.Now().Add(10 * time.Second)
	for ; ; time.Sleep(100 * time.Millisecond) {
		n := 0
		for _, a := range h.node.contact.acd.ListAgents() {
			if a.Status == "available" {
				n++
			}
		}
		if n == 2 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("agentsim agents not available (%d)", n)
		}
	}
	var wg sync.WaitGroup
	for i := range 3 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c, err := h.caller.Invite(h.ctx, h.target("+15550100"), siptest.InviteOptions{ToneHz: callerHz})
			if err != nil || c.Status() != 200 {
				t.Errorf("caller %d: %v", i, err)
				return
			}
			waitToneBy(t, c, agentHz, 8*time.Second, "a simulated agent")
			waitEnded(t, c, "caller (the agent hangs up after talking)")
		}()
	}
	wg.Wait()
	<-done
	if simErr != nil {
		t.Fatalf("agentsim: %v\n%s", simErr, stderr)
	}
	m := regexp.MustCompile(`offered (\d+) answered (\d+) completed (\d+) failed (\d+); answer-to-audio p50 (\S+) p99 (\S+) \((\d+) measured\)`).FindStringSubmatch(stdout)
	if m == nil {
		t.Fatalf("agentsim printed:\n%s", stdout)
	}
	answered, _ := strconv.Atoi(m[2])
	completed, _ := strconv.Atoi(m[3])
	measured, _ := strconv.Atoi(m[7])
	if answered != 3 || completed != 3 || m[4] != "0" || measured != 3 {
		t.Errorf("agentsim: %s", m[0])
	}
	t.Logf("agentsim: %s", m[0])
	for _, a := range h.node.contact.acd.ListAgents() {
		if !a.Managed { // the file's agents stay; agentsim's are deleted
			t.Errorf("agent %s left behind", a.ID)
		}
	}
}
