package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/switchboard-voice/switchboard/config"
	"github.com/switchboard-voice/switchboard/dialplan"
	"github.com/switchboard-voice/switchboard/sip/siptest"
)

// reloadKey is reloadConfig's supervisor API key.
const reloadKey = "reload-key-1"

// reloadConfig is a switch config whose only flow answers and plays tone
// (a file in testdata/audio) for 20 s; extra is appended (more routes...).
func reloadConfig(t *testing.T, cache, tone, flowRef, allow string) string {
	t.Helper()
	abs, err := filepath.Abs(audioDir + tone)
	if err != nil {
		t.Fatal(err)
	}
	return fmt.Sprintf(`node: {name: reload}
sip: {listen: ["udp://127.0.0.1:0"]}
rtp: {ports: "41000-41999"}
http: {listen: "127.0.0.1:0"}
storage: {database: "sqlite://:memory:"}
prompts: {cache_dir: %q, dirs: [%q]}
shutdown_timeout: 2s
trunks:
  - {name: carrier, inbound: {allow: [%q]}}
routes:
  - {match: {to: "*"}, flow: %s}
flows:
  out:
    - answer: {}
    - play: {file: %q, duration: 20s}
    - hangup: {code: 480}
api: {keys: [{name: ops, key: %q}]}
`, cache, filepath.Dir(abs), allow, flowRef, abs, reloadKey)
}

// TestReloadUnderRunningCall: a reload makes the next call follow the new
// flow while the call in progress keeps its own; an invalid file, or one
// that changes what only a restart applies, is refused with every problem
// and the running configuration stays.
func TestReloadUnderRunningCall(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "switchboard.yaml")
	write := func(text string) {
		t.Helper()
		if err := os.WriteFile(file, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write(reloadConfig(t, dir, "tone-500.wav", "out", "127.0.0.0/8"))
	cfg, err := config.LoadWith(file, dialplan.Check)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	n, err := startNode(ctx, cfg, testLogger(t, &logBuffer{}))
	if err != nil {
		t.Fatal(err)
	}
	defer n.shutdown(context.Background())
	addr, _ := n.sip.Addr("udp")
	ua, err := siptest.NewUA(ctx, siptest.Options{ListenAddr: "127.0.0.1:0", User: "carrier"})
	if err != nil {
		t.Fatal(err)
	}
	defer ua.Close()
	call := func() *siptest.Call {
		t.Helper()
		c, err := ua.Invite(ctx, "sip:+15550100@"+addr, siptest.InviteOptions{ToneHz: 1000})
		if err != nil || c.Status() != 200 {
			t.Fatalf("invite: %v", err)
		}
		return c
	}
	reload := func() (string, error) {
		// The key comes from the file, as an operator's does.
		_, stderr, err := runCLI(t, "reload", "--http", n.http.Addr(), "--config", file)
		return stderr, err
	}
	t.Setenv(reloadKeyEnv, "")
	if _, stderr, err := runCLI(t, "reload", "--http", n.http.Addr()); err == nil ||
		!strings.Contains(err.Error(), "needs a supervisor's API key (401)") {
		t.Errorf("reload without a key: %v %s, want 401", err, stderr)
	}
	if _, stderr, err := runCLI(t, "reload", "--http", n.http.Addr(), "--key", "not-"+reloadKey); err == nil ||
		!strings.Contains(err.Error(), "refused the API key (401)") {
		t.Errorf("reload with a wrong key: %v %s, want 401 refused", err, stderr)
	}

	a := call()
	waitToneBy(t, a, 500, 2*time.Second, "call A, first configuration")

	write(reloadConfig(t, dir, "tone-900.wav", "out", "127.0.0.0/8"))
	if stderr, err := reload(); err != nil {
		t.Fatalf("reload: %v\n%s", err, stderr)
	}
	b := call()
	waitToneBy(t, b, 900, 2*time.Second, "call B, new configuration")
	a.ResetAudio()
	time.Sleep(400 * time.Millisecond)
	if !a.Hears(500) || a.Hears(900) {
		t.Errorf("call A after the reload: 500 Hz %v, 900 Hz %v; want its own flow", a.Hears(500), a.Hears(900))
	}

	// Invalid: every problem listed, the running configuration stays.
	write(reloadConfig(t, dir, "tone-500.wav", "nowhere", "127.0.0.0/8"))
	stderr, err := reload()
	if err == nil || !strings.Contains(stderr, file+`:11: routes[0].flow: unknown flow "nowhere"`) {
		t.Errorf("invalid reload: err %v, problems:\n%s", err, stderr)
	}
	// Trunks change: a restart applies those.
	write(reloadConfig(t, dir, "tone-500.wav", "out", "127.0.0.1"))
	if stderr, err := reload(); err == nil || !strings.Contains(stderr, "trunks changed") {
		t.Errorf("trunk change: err %v, problems:\n%s", err, stderr)
	}
	c := call()
	waitToneBy(t, c, 900, 2*time.Second, "call C, after refused reloads")
	for _, x := range []*siptest.Call{a, b, c} {
		_ = x.Hangup(ctx)
	}
}
