package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	sipmsg "github.com/emiago/sipgo/sip"

	"github.com/switchboard-voice/switchboard/config"
	"github.com/switchboard-voice/switchboard/sip/siptest"
)

// siptestResponse is a SIP response as the test UA reports it.
type siptestResponse = sipmsg.Response

// harness is a running switch between a carrier UA and a far-end UA, all on
// loopback: caller → switch (trunk "carrier") → far (trunk "far-end").
type harness struct {
	t      testing.TB
	ctx    context.Context
	cfg    *config.Config
	node   *node
	caller *siptest.UA
	far    *siptest.UA
	sip    string // switch's UDP address
	logs   *logBuffer
	opts   nodeOptions // parts of the node a test replaces
}

// testLogger keeps the switch's logs in buf (for assertions) and writes
// them to the test log too when SWITCHBOARD_TEST_LOG is set.
func testLogger(t testing.TB, buf *logBuffer) *slog.Logger {
	var w io.Writer = buf
	if os.Getenv("SWITCHBOARD_TEST_LOG") != "" {
		w = io.MultiWriter(buf, testWriter{t})
	}
	return slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

// logBuffer is a goroutine-safe log sink.
type logBuffer struct {
	mu sync.Mutex
	b  strings.Builder
}

func (l *logBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *logBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

type testWriter struct{ t testing.TB }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}

// baseConfig is b2bua.yaml's shape with ephemeral ports, the far end at far.
func baseConfig(far string) *config.Config {
	c := config.Default()
	c.Node.Name = "test"
	c.SIP.Listen = []string{"udp://127.0.0.1:0"}
	c.SIP.RetryAfter = 5
	c.RTP.Ports = "41000-41999"
	c.RTP.PortMin, c.RTP.PortMax = 0, 0
	c.HTTP.Listen = "127.0.0.1:0"
	c.Storage.Database = "sqlite://:memory:"
	c.ShutdownTimeout = 2 * time.Second
	c.API.Keys = []config.APIKey{{Name: "test", Key: supervisorKey}} // /metrics, /trunks and /reload need one
	c.Trunks = []config.Trunk{
		{Name: "carrier", Inbound: &config.Inbound{Allow: []string{"127.0.0.0/8"}}, Codecs: []string{"PCMU", "PCMA"}},
		{Name: "far-end", Outbound: &config.Outbound{
			URI:          "sip:" + far + ";transport=udp",
			NumberFormat: config.NumberFormat{Plus: true},
		}, Codecs: []string{"PCMU", "PCMA"}},
	}
	c.Routes = []config.Route{{Name: "all", Match: config.RouteMatch{To: "*"}, Flow: "out"}}
	c.Flows = map[string][]config.Action{"out": {{Dial: &config.DialAction{Trunk: "far-end"}}}}
	c.ApplyDefaults()
	return c
}

func newHarness(t testing.TB, mutate func(c *config.Config)) *harness {
	t.Helper()
	return newHarnessWith(t, mutate, nodeOptions{})
}

// newHarnessWith is newHarness with parts of the node replaced.
func newHarnessWith(t testing.TB, mutate func(c *config.Config), o nodeOptions) *harness {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	t.Cleanup(cancel)
	h := &harness{t: t, ctx: ctx, logs: &logBuffer{}, opts: o}
	var err error
	h.far, err = siptest.NewUA(ctx, siptest.Options{ListenAddr: "127.0.0.1:0", User: "far"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { h.far.Close() })
	h.cfg = baseConfig(h.far.Addr())
	h.cfg.Prompts.CacheDir = t.TempDir()
	h.cfg.Prompts.UploadDir = t.TempDir()
	h.cfg.Prompts.Dirs = []string{audioDir} // the tests' audio files, and nothing else
	if mutate != nil {
		mutate(h.cfg)
		h.cfg.ApplyDefaults()
	}
	if err := h.cfg.Validate(); err != nil {
		t.Fatalf("test config invalid: %v", err)
	}
	h.node, err = startNodeWith(ctx, h.cfg, testLogger(t, h.logs), h.opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		sctx, scancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer scancel()
		h.node.shutdown(sctx)
	})
	h.sip, _ = h.node.sip.Addr("udp")
	h.caller, err = siptest.NewUA(ctx, siptest.Options{ListenAddr: "127.0.0.1:0", User: "carrier"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { h.caller.Close() })
	return h
}

// target is a Request-URI for number at the switch.
func (h *harness) target(number string) string { return "sip:" + number + "@" + h.sip }

// nextIncoming waits for the far end's next INVITE.
func (h *harness) nextIncoming() *siptest.Incoming {
	h.t.Helper()
	select {
	case in := <-h.far.Incoming():
		return in
	case <-time.After(10 * time.Second):
		h.t.Fatal("far end received no INVITE")
		return nil
	}
}

// connected places a call from the caller (callerHz) to +15550100 through
// the base config's B2BUA route; the far end answers with farHz. It returns
// the caller's call and the far end's.
func (h *harness) connected() (*siptest.Call, *siptest.Call) {
	h.t.Helper()
	farCall := h.answerNext(farHz)
	c, err := h.caller.Invite(h.ctx, h.target("+15550100"), siptest.InviteOptions{ToneHz: callerHz})
	if err != nil || c.Status() != 200 {
		h.t.Fatalf("call: %v (status %d)", err, c.Status())
	}
	return c, h.waitCall(farCall)
}

// answerNext makes the far end ring then answer its next call with a tone.
func (h *harness) answerNext(hz float64) <-chan *siptest.Call {
	return h.answerNextWith(siptest.AnswerOptions{ToneHz: hz})
}

// answerNextWith makes the far end ring then answer its next call with o.
func (h *harness) answerNextWith(o siptest.AnswerOptions) <-chan *siptest.Call {
	out := make(chan *siptest.Call, 1)
	go func() {
		select {
		case in, ok := <-h.far.Incoming():
			if !ok || in == nil { // the test is over
				close(out)
				return
			}
			_ = in.Ring(false)
			c, err := in.Answer(o)
			if err != nil {
				h.t.Errorf("far answer: %v", err)
				close(out)
				return
			}
			out <- c
		case <-h.ctx.Done():
			close(out)
		}
	}()
	return out
}

// hearsEarly returns InviteOptions.OnProvisional that reports, on the
// returned channel, whether the caller hears hz within a second of a 183.
func hearsEarly(hz float64) (func(*siptest.Call, *siptestResponse), <-chan bool) {
	heard := make(chan bool, 1)
	return func(c *siptest.Call, res *siptestResponse) {
		if res.StatusCode != 183 {
			return
		}
		go func() {
			ctx, cancel := context.WithTimeout(context.Background(), time.Second)
			defer cancel()
			heard <- c.WaitTone(ctx, hz) == nil
		}()
	}, heard
}

func (h *harness) waitCall(ch <-chan *siptest.Call) *siptest.Call {
	h.t.Helper()
	select {
	case c, ok := <-ch:
		if !ok || c == nil {
			h.t.Fatal("far end did not answer")
		}
		return c
	case <-time.After(10 * time.Second):
		h.t.Fatal("far end did not answer in time")
	}
	return nil
}

// waitTone fails the test unless c hears hz within a few seconds.
func waitTone(t testing.TB, c *siptest.Call, hz float64, who string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := c.WaitTone(ctx, hz); err != nil {
		sent, recv := c.RTPStats()
		t.Fatalf("%s does not hear %.0f Hz (relative power %.2f; RTP sent %d received %d): %v", who, hz, c.ReceivedTone(hz), sent, recv, err)
	}
}

func waitEnded(t testing.TB, c *siptest.Call, who string) {
	t.Helper()
	select {
	case <-c.Ended():
	case <-time.After(10 * time.Second):
		t.Fatalf("%s's call did not end", who)
	}
}

// opsGet GETs one of the operator's endpoints (/metrics, /trunks) with the
// running configuration's first API key.
func (h *harness) opsGet(path string) (*http.Response, error) {
	req, err := http.NewRequestWithContext(h.ctx, http.MethodGet, "http://"+h.node.http.Addr()+path, nil)
	if err != nil {
		return nil, err
	}
	if keys := h.node.running.Load().API.Keys; len(keys) > 0 {
		req.Header.Set("Authorization", "Bearer "+keys[0].Key)
	}
	return http.DefaultClient.Do(req)
}

// metric returns the value of a Prometheus sample line starting with name.
func (h *harness) metric(name string) string {
	h.t.Helper()
	res, err := h.opsGet("/metrics")
	if err != nil {
		h.t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	if res.StatusCode != http.StatusOK {
		h.t.Fatalf("GET /metrics: %s %s", res.Status, b)
	}
	for _, line := range strings.Split(string(b), "\n") {
		if strings.HasPrefix(line, name+" ") {
			return strings.TrimPrefix(line, name+" ")
		}
	}
	return fmt.Sprintf("<no %s>", name)
}

// hangup ends the call from the caller's side and waits for the far end's BYE.
func (h *harness) hangup(c, fc *siptest.Call) {
	h.t.Helper()
	if err := c.Hangup(h.ctx); err != nil {
		h.t.Errorf("hang up: %v", err)
	}
	waitEnded(h.t, fc, "far end")
	if !fc.ByeReceived() {
		h.t.Error("far end got no BYE")
	}
}

// ringUntilCancelled makes the far end ring on its next call and reports
// whether a CANCEL arrived within wait.
func (h *harness) ringUntilCancelled(wait time.Duration) <-chan bool {
	cancelled := make(chan bool, 1)
	go func() {
		in := h.nextIncoming()
		_ = in.Ring(false)
		select {
		case <-in.Cancelled():
			cancelled <- true
		case <-time.After(wait):
			cancelled <- false
		}
	}()
	return cancelled
}

// waitMetric polls /metrics until the sample name has value want (bounded):
// a call's metrics are counted after its legs are hung up, so a test can see
// the BYE or final response before the counter moves.
func (h *harness) waitMetric(name, want string) {
	h.t.Helper()
	deadline := time.Now().Add(3 * time.Second)
	got := h.metric(name)
	for got != want && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
		got = h.metric(name)
	}
	if got != want {
		h.t.Errorf("%s = %s, want %s", name, got, want)
	}
}

// recv takes the next value from ch, a test's far-end script reporting
// back, failing the test if none comes within 10 s (a script that failed
// reports nothing).
func recv[T any](t testing.TB, ch <-chan T, what string) T {
	t.Helper()
	select {
	case v := <-ch:
		return v
	case <-time.After(10 * time.Second):
		t.Fatalf("no %s within 10 s", what)
	}
	panic("unreachable")
}
