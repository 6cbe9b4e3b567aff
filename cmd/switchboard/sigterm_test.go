package main

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/switchboard-voice/switchboard/sip/siptest"
)

// freePort finds a free UDP+TCP port on 127.0.0.1.
func freePort(t *testing.T) int {
	t.Helper()
	for range 20 {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		port := l.Addr().(*net.TCPAddr).Port
		l.Close()
		if pc, err := net.ListenPacket("udp", fmt.Sprintf("127.0.0.1:%d", port)); err == nil {
			pc.Close()
			return port
		}
	}
	t.Fatal("no free port")
	return 0
}

// buildBinary compiles the switchboard command into dir.
func buildBinary(t *testing.T, dir string) string {
	t.Helper()
	bin := filepath.Join(dir, "switchboard")
	out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput()
	if err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

// TestSIGTERMDrain runs the real binary: on SIGTERM it refuses new calls with
// 503, keeps the call in progress until shutdown_timeout, then sends BYE to
// both legs and exits 0.
func TestSIGTERMDrain(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary")
	}
	dir := t.TempDir()
	bin := buildBinary(t, dir)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	far, err := siptest.NewUA(ctx, siptest.Options{ListenAddr: "127.0.0.1:0", User: "far"})
	if err != nil {
		t.Fatal(err)
	}
	defer far.Close()
	sipPort, httpPort := freePort(t), freePort(t)
	cfg := fmt.Sprintf(`node: {name: sigterm}
sip: {listen: ["udp://127.0.0.1:%d"]}
rtp: {ports: "42000-42099"}
http: {listen: "127.0.0.1:%d"}
log: {level: info}
shutdown_timeout: 2s
trunks:
  - name: carrier
    inbound: {allow: ["127.0.0.0/8"]}
  - name: far-end
    outbound: {uri: "sip:%s;transport=udp", options_ping: 0s}
routes:
  - {match: {to: "*"}, flow: out}
flows:
  out:
    - dial: {trunk: far-end}
`, sipPort, httpPort, far.Addr())
	cfgFile := filepath.Join(dir, "switchboard.yaml")
	if err := os.WriteFile(cfgFile, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	var logs logBuffer
	cmd := exec.CommandContext(ctx, bin, "serve", "--config", cfgFile)
	cmd.Stderr = &logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Process.Kill()
	health := fmt.Sprintf("http://127.0.0.1:%d/healthz", httpPort)
	deadline := time.Now().Add(10 * time.Second)
	for {
		res, err := http.Get(health)
		if err == nil {
			res.Body.Close()
			if res.StatusCode == 200 {
				break
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("switch not healthy:\n%s", logs.String())
		}
		time.Sleep(50 * time.Millisecond)
	}

	caller, err := siptest.NewUA(ctx, siptest.Options{ListenAddr: "127.0.0.1:0", User: "carrier"})
	if err != nil {
		t.Fatal(err)
	}
	defer caller.Close()
	target := fmt.Sprintf("sip:+15550100@127.0.0.1:%d", sipPort)
	answered := make(chan *siptest.Call, 1)
	go func() {
		in := <-far.Incoming()
		c, err := in.Answer(siptest.AnswerOptions{ToneHz: farHz})
		if err != nil {
			t.Errorf("answer: %v", err)
		}
		answered <- c
	}()
	c, err := caller.Invite(ctx, target, siptest.InviteOptions{ToneHz: callerHz})
	if err != nil || c.Status() != 200 {
		t.Fatalf("call: %v", err)
	}
	fc := <-answered
	waitTone(t, fc, callerHz, "far end")

	start := time.Now()
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	time.Sleep(300 * time.Millisecond)
	c2, err := caller.Invite(ctx, target, siptest.InviteOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if c2.Status() != 503 {
		t.Errorf("new call while draining: %d, want 503", c2.Status())
	}
	c.ResetAudio()
	waitTone(t, c, farHz, "caller while draining")
	waitEnded(t, c, "caller")
	waitEnded(t, fc, "far end")
	if held := time.Since(start); held < 1500*time.Millisecond {
		t.Errorf("call ended %v after SIGTERM, before shutdown_timeout 2s", held)
	}
	if !c.ByeReceived() || !fc.ByeReceived() {
		t.Errorf("BYE: caller %v far end %v", c.ByeReceived(), fc.ByeReceived())
	}
	if err := cmd.Wait(); err != nil {
		t.Errorf("exit: %v\n%s", err, logs.String())
	}
	if !strings.Contains(logs.String(), `"msg":"drain deadline reached, ending calls"`) {
		t.Errorf("no drain log line:\n%s", logs.String())
	}
}
