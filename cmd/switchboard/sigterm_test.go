package main

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/switchboard-voice/switchboard/sip/siptest"
)

// freePort finds a free UDP+TCP port on 127.0.0.1.
func freePort(t *testing.T) int {
	t.Helper()
	return freePorts(t, 1)
}

// nextTestPort walks a range below the kernel's ephemeral ports
// (32768-60999 on Linux), so a port handed to a test is not also handed to
// some socket bound to port 0 before the test's peer binds it.
var nextTestPort atomic.Int32

// freePorts returns the first of n consecutive ports, all free on UDP and
// TCP. SIPp binds -mp and the three ports above it (RTP, RTCP, video), so its
// media ports need a block of 4. Each package's tests run in their own
// process: the walk starts at an offset from the process ID.
func freePorts(t *testing.T, n int) int {
	t.Helper()
	const lo, hi = 20000, 30000
	nextTestPort.CompareAndSwap(0, int32(lo+(os.Getpid()*64)%(hi-lo)))
	for range (hi - lo) / 4 {
		base := int(nextTestPort.Add(int32(n+n%2))) - n - n%2
		if base+n > hi {
			nextTestPort.Store(lo)
			continue
		}
		if portsFree(base, n) {
			return base
		}
	}
	t.Fatal("no free port block")
	return 0
}

func portsFree(base, n int) bool {
	var closers []io.Closer
	defer func() {
		for _, c := range closers {
			c.Close()
		}
	}()
	for p := base; p < base+n; p++ {
		addr := fmt.Sprintf("127.0.0.1:%d", p)
		l, err := net.Listen("tcp", addr)
		if err != nil {
			return false
		}
		closers = append(closers, l)
		pc, err := net.ListenPacket("udp", addr)
		if err != nil {
			return false
		}
		closers = append(closers, pc)
	}
	return true
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

// servedSwitch is the real binary serving a B2BUA config (carrier in,
// far-end out to a test UA), with one call up through it.
type servedSwitch struct {
	cmd     *exec.Cmd
	logs    *logBuffer
	cfg     string // the config file's text
	cfgFile string
	target  string // the switch's SIP URI for +15550100
	caller  *siptest.UA
	c, fc   *siptest.Call // the call: the caller's side and the far end's
}

// serveWithCall builds and starts the binary with shutdown_timeout and
// places a call through it, both ways' tones heard.
func serveWithCall(ctx context.Context, t *testing.T, shutdownTimeout string) *servedSwitch {
	t.Helper()
	dir := t.TempDir()
	bin := buildBinary(t, dir)
	far, err := siptest.NewUA(ctx, siptest.Options{ListenAddr: "127.0.0.1:0", User: "far"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { far.Close() })
	sipPort, httpPort := freePort(t), freePort(t)
	s := &servedSwitch{logs: &logBuffer{}, cfgFile: filepath.Join(dir, "switchboard.yaml")}
	s.cfg = fmt.Sprintf(`node: {name: sigterm}
sip: {listen: ["udp://127.0.0.1:%d"]}
rtp: {ports: "42000-42099"}
http: {listen: "127.0.0.1:%d"}
log: {level: info}
shutdown_timeout: %s
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
`, sipPort, httpPort, shutdownTimeout, far.Addr())
	if err := os.WriteFile(s.cfgFile, []byte(s.cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	s.cmd = exec.CommandContext(ctx, bin, "serve", "--config", s.cfgFile)
	s.cmd.Dir = dir // its database (data/switchboard.db) goes there
	s.cmd.Stderr = s.logs
	if err := s.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.cmd.Process.Kill() })
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
			t.Fatalf("switch not healthy:\n%s", s.logs.String())
		}
		time.Sleep(50 * time.Millisecond)
	}

	s.caller, err = siptest.NewUA(ctx, siptest.Options{ListenAddr: "127.0.0.1:0", User: "carrier"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.caller.Close() })
	s.target = fmt.Sprintf("sip:+15550100@127.0.0.1:%d", sipPort)
	answered := make(chan *siptest.Call, 1)
	go func() {
		in := <-far.Incoming()
		c, err := in.Answer(siptest.AnswerOptions{ToneHz: farHz})
		if err != nil {
			t.Errorf("answer: %v", err)
		}
		answered <- c
	}()
	s.c, err = s.caller.Invite(ctx, s.target, siptest.InviteOptions{ToneHz: callerHz})
	if err != nil || s.c.Status() != 200 {
		t.Fatalf("call: %v", err)
	}
	s.fc = <-answered
	waitTone(t, s.fc, callerHz, "far end")
	waitTone(t, s.c, farHz, "caller")
	return s
}

// TestSIGTERMDrain runs the real binary: on SIGTERM it refuses new calls with
// 503, keeps the call in progress until shutdown_timeout, then sends BYE to
// both legs and exits 0.
func TestSIGTERMDrain(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	s := serveWithCall(ctx, t, "2s")
	cmd, logs, cfg, cfgFile, caller, target, c, fc := s.cmd, s.logs, s.cfg, s.cfgFile, s.caller, s.target, s.c, s.fc

	// SIGHUP re-reads the file: a refused one (unknown flow) is logged with
	// its problem and changes nothing; a valid one is applied.
	if err := os.WriteFile(cfgFile, []byte(strings.Replace(cfg, "flow: out}", "flow: nowhere}", 1)), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := cmd.Process.Signal(syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	waitLog(t, logs, "reload refused")
	if !strings.Contains(logs.String(), `unknown flow \"nowhere\"`) {
		t.Errorf("the refused reload does not name its problem:\n%s", logs.String())
	}
	if err := os.WriteFile(cfgFile, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := cmd.Process.Signal(syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	waitLog(t, logs, "configuration reloaded")
	waitTone(t, fc, callerHz, "far end after the reloads")

	start := time.Now()
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	waitLog(t, logs, `"msg":"draining"`)
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

// TestSecondSignalEndsCalls runs the real binary: a SIGINT during the drain
// started by SIGTERM ends the call at once (BYE to both peers, long before
// shutdown_timeout), logs it with the number of calls, and the switch exits 0.
func TestSecondSignalEndsCalls(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	s := serveWithCall(ctx, t, "10m")
	if err := s.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	waitLog(t, s.logs, `"msg":"draining"`)
	// Still draining: the call goes on.
	s.c.ResetAudio()
	waitTone(t, s.c, farHz, "caller while draining")
	select {
	case <-s.c.Ended():
		t.Fatal("the call ended on the first signal")
	default:
	}
	if err := s.cmd.Process.Signal(syscall.SIGINT); err != nil {
		t.Fatal(err)
	}
	waitEnded(t, s.c, "caller") // bounded at 10 s, the drain at 10 min
	waitEnded(t, s.fc, "far end")
	if !s.c.ByeReceived() || !s.fc.ByeReceived() {
		t.Errorf("BYE: caller %v far end %v", s.c.ByeReceived(), s.fc.ByeReceived())
	}
	exited := make(chan error, 1)
	go func() { exited <- s.cmd.Wait() }()
	select {
	case err := <-exited:
		if err != nil {
			t.Errorf("exit: %v\n%s", err, s.logs.String())
		}
	case <-time.After(20 * time.Second):
		t.Fatalf("the switch did not exit after the second signal:\n%s", s.logs.String())
	}
	logs := s.logs.String()
	for _, want := range []string{
		`"msg":"second signal: ending calls now","signal":"interrupt","calls":1`,
		`"msg":"drain cut short, ending calls","legs":2`,
		`"msg":"stopped"`,
	} {
		if !strings.Contains(logs, want) {
			t.Errorf("the log lacks %s:\n%s", want, logs)
		}
	}
	if strings.Contains(logs, "drain deadline reached") {
		t.Errorf("the second signal is logged as the drain deadline:\n%s", logs)
	}
}

// waitLog waits (bounded) until the switch's log holds text.
func waitLog(t *testing.T, logs *logBuffer, text string) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !strings.Contains(logs.String(), text) {
		if time.Now().After(deadline) {
			t.Fatalf("no %q in the log:\n%s", text, logs.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
}
