package api

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/coder/websocket/wsjson"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/switchboard-voice/switchboard/web"
)

// Short doors for the tests: a slow body or an idle connection is cut
// within a second.
const (
	testReadTimeout  = 500 * time.Millisecond
	testWriteTimeout = time.Second
	testIdleTimeout  = 500 * time.Millisecond
)

// doorServer is the HTTP server on a real loopback listener, with the
// contact center, the panel, pprof and a /reload that counts its calls.
type doorServer struct {
	addr    string
	reloads atomic.Int32
}

func startDoorServer(t *testing.T, mutate func(o *Options)) *doorServer {
	t.Helper()
	c, _ := testContact(t)
	d := &doorServer{}
	o := Options{Listen: "127.0.0.1:0", Gatherer: prometheus.NewRegistry(), Contact: c, Web: web.Handler(), Pprof: true,
		Reload:            func() error { d.reloads.Add(1); return nil },
		ReadHeaderTimeout: testReadTimeout, ReadTimeout: testReadTimeout, WriteTimeout: testWriteTimeout, IdleTimeout: testIdleTimeout,
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil))}
	if mutate != nil {
		mutate(&o)
	}
	s := New(o)
	if err := s.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = s.Shutdown(ctx)
	})
	d.addr = s.Addr()
	return d
}

// do sends one request; header holds extra headers ("Authorization",
// "Cookie", ...). It returns the status, body and headers.
func (d *doorServer) do(t *testing.T, method, path string, header map[string]string, body string) (int, string, http.Header) {
	t.Helper()
	req, err := http.NewRequest(method, "http://"+d.addr+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range header {
		req.Header.Set(k, v)
	}
	client := &http.Client{Timeout: 10 * time.Second}
	res, err := client.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return res.StatusCode, string(b), res.Header
}

func auth(token string) map[string]string {
	return map[string]string{"Authorization": "Bearer " + token}
}

// TestOperatorEndpointsNeedKey: /reload, /trunks, pprof and /metrics
// answer 401 without a supervisor's key in the Authorization header (an
// agent's token, a query parameter or a cookie are not one), 200 with it;
// /metrics is open only with MetricsPublic; /healthz always is.
func TestOperatorEndpointsNeedKey(t *testing.T) {
	d := startDoorServer(t, nil)
	for _, ep := range []struct{ method, path string }{
		{"POST", "/reload"}, {"GET", "/trunks"}, {"GET", "/metrics"}, {"GET", "/debug/pprof/cmdline"},
	} {
		for _, tc := range []struct {
			name, query string
			header      map[string]string
			want        int
		}{
			{"no credentials", "", nil, 401},
			{"an agent's token", "", auth("agent1-token"), 401},
			{"a wrong key", "", auth("not-the-key"), 401},
			{"the key in the query", "?access_token=" + testKey, nil, 401},
			{"the key in a cookie", "", map[string]string{"Cookie": "access_token=" + testKey}, 401},
			{"the key", "", auth(testKey), 200},
		} {
			code, body, hd := d.do(t, ep.method, ep.path+tc.query, tc.header, "")
			if code != tc.want {
				t.Errorf("%s %s with %s: %d %s, want %d", ep.method, ep.path, tc.name, code, body, tc.want)
			}
			if code == 401 && !strings.Contains(hd.Get("WWW-Authenticate"), "Bearer") {
				t.Errorf("%s %s with %s: 401 without WWW-Authenticate: Bearer", ep.method, ep.path, tc.name)
			}
		}
	}
	if n := d.reloads.Load(); n != 1 {
		t.Errorf("reload ran %d times, want once (only with the key)", n)
	}
	if code, body, _ := d.do(t, "GET", "/healthz", nil, ""); code != 200 {
		t.Errorf("GET /healthz without credentials: %d %s, want 200", code, body)
	}
	public := startDoorServer(t, func(o *Options) { o.MetricsPublic = true })
	if code, body, _ := public.do(t, "GET", "/metrics", nil, ""); code != 200 {
		t.Errorf("GET /metrics with metrics_public, no credentials: %d %.200s, want 200", code, body)
	}
	if code, _, _ := public.do(t, "POST", "/reload", nil, ""); code != 401 {
		t.Errorf("POST /reload with metrics_public, no credentials: %d, want 401", code)
	}
}

// TestQueryKeyOnlyOnEvents: ?access_token= is refused on REST paths and
// taken on the events WebSocket, which outlives the listener's read and
// write timeouts.
func TestQueryKeyOnlyOnEvents(t *testing.T) {
	d := startDoorServer(t, nil)
	for _, tc := range []struct{ method, path, body string }{
		{"GET", "/api/v1/agents?access_token=" + testKey, ""},
		{"GET", "/api/v1/agents/agent1?access_token=agent1-token", ""},
		{"GET", "/api/v1/queues?access_token=" + testKey, ""},
	} {
		code, body, _ := d.do(t, tc.method, tc.path, nil, tc.body)
		if code != 401 || !strings.Contains(body, "only on the events WebSocket") {
			t.Errorf("%s %s: %d %s, want 401 (query key only on the events WebSocket)", tc.method, tc.path, code, body)
		}
	}
	if code, body, _ := d.do(t, "GET", "/api/v1/agents", auth(testKey), ""); code != 200 {
		t.Fatalf("GET /api/v1/agents with the key in the header: %d %s", code, body)
	}

	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	conn, _, err := websocket.Dial(ctx, "ws://"+d.addr+"/api/v1/agents/agent1/events?access_token=agent1-token", nil)
	if err != nil {
		t.Fatalf("events WebSocket with ?access_token=: %v", err)
	}
	defer conn.CloseNow()
	read := func() map[string]any {
		t.Helper()
		var ev map[string]any
		if err := wsjson.Read(ctx, conn, &ev); err != nil {
			t.Fatalf("events WebSocket: %v", err)
		}
		return ev
	}
	if ev := read(); ev["type"] != "status.changed" {
		t.Fatalf("first event %v, want status.changed", ev)
	}
	// Events keep arriving for well past the read and write timeouts.
	start, tick := time.Now(), time.NewTicker(100*time.Millisecond)
	defer tick.Stop()
	statuses, n := []string{"away", "busy"}, 0
	for ; time.Since(start) < 2*testWriteTimeout+testReadTimeout; n++ {
		<-tick.C
		st := statuses[n%2]
		if code, body, _ := d.do(t, "PUT", "/api/v1/agents/agent1/status", auth("agent1-token"), `{"status":"`+st+`"}`); code != 200 {
			t.Fatalf("status %s: %d %s", st, code, body)
		}
		if ev := read(); ev["type"] != "status.changed" || ev["data"].(map[string]any)["status"] != st {
			t.Fatalf("event %v after %s, want status.changed %s", ev, time.Since(start), st)
		}
	}
	t.Logf("%d events over %s on the WebSocket (read timeout %s, write timeout %s)", n, time.Since(start).Round(time.Millisecond), testReadTimeout, testWriteTimeout)
}

// readUntilClosed reads c until the server closes it (nil: EOF or reset);
// an error when it is still open after limit.
func readUntilClosed(c net.Conn, limit time.Duration) (string, error) {
	_ = c.SetReadDeadline(time.Now().Add(limit))
	b, err := io.ReadAll(c)
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		return string(b), fmt.Errorf("still open after %s", limit)
	}
	return string(b), nil // EOF (ReadAll's nil) or a reset: closed
}

// TestSlowBodyCut: a client that sends its headers and then trickles its
// body is cut off after the read timeout, long before its body is done.
func TestSlowBodyCut(t *testing.T) {
	d := startDoorServer(t, nil)
	c, err := net.Dial("tcp", d.addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	const bodyLen = 5000
	_, err = fmt.Fprintf(c, "PUT /api/v1/agents/agent1/status HTTP/1.1\r\nHost: switch\r\nAuthorization: Bearer agent1-token\r\n"+
		"Content-Type: application/json\r\nContent-Length: %d\r\n\r\n{", bodyLen)
	if err != nil {
		t.Fatal(err)
	}
	var sent atomic.Int32
	stop := make(chan struct{})
	trickled := make(chan struct{})
	go func() { // a byte every 20 ms: the whole body would take 100 s
		defer close(trickled)
		tick := time.NewTicker(20 * time.Millisecond)
		defer tick.Stop()
		for sent.Load() < bodyLen-2 {
			select {
			case <-stop:
				return
			case <-tick.C:
			}
			if _, err := c.Write([]byte(" ")); err != nil {
				return
			}
			sent.Add(1)
		}
	}()
	answer, err := readUntilClosed(c, 15*time.Second)
	close(stop)
	<-trickled
	if err != nil {
		t.Fatalf("a slow body (%d of %d bytes sent): connection %v", sent.Load(), bodyLen, err)
	}
	if sent.Load() >= bodyLen-2 {
		t.Fatalf("the whole body went through (%d bytes)", sent.Load())
	}
	t.Logf("cut after %d of %d body bytes; answer: %.80q", sent.Load(), bodyLen, answer)
}

// TestIdleKeepAliveClosed: a keep-alive connection that sends nothing after
// its request is closed after the idle timeout.
func TestIdleKeepAliveClosed(t *testing.T) {
	d := startDoorServer(t, nil)
	c, err := net.Dial("tcp", d.addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if _, err := io.WriteString(c, "GET /healthz HTTP/1.1\r\nHost: switch\r\n\r\n"); err != nil {
		t.Fatal(err)
	}
	br := bufio.NewReader(c)
	res, err := http.ReadResponse(br, nil)
	if err != nil {
		t.Fatal(err)
	}
	_, _ = io.Copy(io.Discard, res.Body)
	res.Body.Close()
	if res.StatusCode != 200 || res.Close {
		t.Fatalf("GET /healthz: %s, close %v; want 200 kept alive", res.Status, res.Close)
	}
	_ = c.SetReadDeadline(time.Now().Add(15 * time.Second))
	n, err := br.Read(make([]byte, 1))
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		t.Fatal("an idle keep-alive connection is still open after 15 s")
	}
	if n != 0 || err == nil {
		t.Fatalf("idle connection: read %d bytes, %v; want it closed", n, err)
	}
}

// TestConnectionCaps: beyond the per-IP or the total cap a new connection
// is closed at once; closing one makes room again.
func TestConnectionCaps(t *testing.T) {
	for _, tc := range []struct {
		name         string
		total, perIP int
	}{{"per ip", 10, 2}, {"total", 2, 0}} {
		t.Run(tc.name, func(t *testing.T) {
			d := startDoorServer(t, func(o *Options) {
				o.MaxConns, o.MaxConnsPerIP = tc.total, tc.perIP
				o.IdleTimeout = time.Minute // the held connections stay
			})
			// get sends a keep-alive GET on c; ok is false when c is closed
			// without an answer.
			get := func(c net.Conn) bool {
				_ = c.SetDeadline(time.Now().Add(10 * time.Second))
				if _, err := io.WriteString(c, "GET /healthz HTTP/1.1\r\nHost: switch\r\n\r\n"); err != nil {
					return false
				}
				res, err := http.ReadResponse(bufio.NewReader(c), nil)
				if err != nil {
					var ne net.Error
					if errors.As(err, &ne) && ne.Timeout() {
						t.Fatal("no answer and not closed in 10 s")
					}
					return false
				}
				_, _ = io.Copy(io.Discard, res.Body)
				res.Body.Close()
				return res.StatusCode == 200
			}
			dial := func() net.Conn {
				c, err := net.Dial("tcp", d.addr)
				if err != nil {
					t.Fatal(err)
				}
				t.Cleanup(func() { c.Close() })
				return c
			}
			held := []net.Conn{dial(), dial()}
			for i, c := range held {
				if !get(c) {
					t.Fatalf("connection %d within the cap refused", i+1)
				}
			}
			if get(dial()) {
				t.Fatal("a third connection was served beyond the cap of 2")
			}
			held[0].Close()
			deadline := time.Now().Add(10 * time.Second)
			for !get(dial()) {
				if time.Now().After(deadline) {
					t.Fatal("no room for a new connection 10 s after one closed")
				}
			}
		})
	}
}

// TestCrossSiteFormRefused: a state-changing request with no Authorization
// header (a cross-site form with the victim's cookies, or a query
// parameter) is refused before any handler runs.
func TestCrossSiteFormRefused(t *testing.T) {
	d := startDoorServer(t, nil)
	form := map[string]string{"Content-Type": "application/x-www-form-urlencoded", "Origin": "https://evil.example",
		"Sec-Fetch-Site": "cross-site", "Cookie": "access_token=" + testKey + "; session=" + testKey}
	for _, tc := range []struct{ method, path string }{
		{"POST", "/reload"},
		{"POST", "/reload?access_token=" + testKey},
		{"POST", "/api/v1/agents/agent1/heartbeat"},
		{"PUT", "/api/v1/agents/agent1/status?access_token=agent1-token"},
		{"DELETE", "/api/v1/queues/support"},
		{"POST", "/whip"},
	} {
		code, body, _ := d.do(t, tc.method, tc.path, form, "status=available")
		if code != 401 || !strings.Contains(body, "needs an Authorization header") {
			t.Errorf("cross-site %s %s: %d %s, want 401", tc.method, tc.path, code, body)
		}
	}
	if n := d.reloads.Load(); n != 0 {
		t.Errorf("a cross-site form reloaded the configuration %d times", n)
	}
	if code, body, _ := d.do(t, "GET", "/api/v1/agents/agent1", auth(testKey), ""); code != 200 || !strings.Contains(body, `"status":"offline"`) {
		t.Errorf("agent1 after the forms: %d %s, want still offline", code, body)
	}
	hd := map[string]string{"Authorization": "Bearer " + testKey, "Origin": "https://evil.example"}
	if code, body, _ := d.do(t, "POST", "/reload", hd, ""); code != 200 {
		t.Errorf("POST /reload with the key: %d %s, want 200", code, body)
	}
}

// TestSecurityHeaders: the panel and every other answer forbid sniffing,
// framing and referrers; the panel's page has its CSP.
func TestSecurityHeaders(t *testing.T) {
	d := startDoorServer(t, nil)
	for _, path := range []string{"/", "/static/app.js", "/healthz", "/api/v1/agents", "/nope"} {
		_, _, hd := d.do(t, "GET", path, nil, "")
		for k, want := range map[string]string{"X-Content-Type-Options": "nosniff", "X-Frame-Options": "DENY", "Referrer-Policy": "no-referrer"} {
			if got := hd.Get(k); got != want {
				t.Errorf("GET %s: %s %q, want %q", path, k, got, want)
			}
		}
	}
	if _, _, hd := d.do(t, "GET", "/", nil, ""); !strings.Contains(hd.Get("Content-Security-Policy"), "frame-ancestors 'none'") {
		t.Errorf("panel CSP %q lacks frame-ancestors 'none'", hd.Get("Content-Security-Policy"))
	}
}
