package gateway

import (
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"
	"time"
)

var locationRE = regexp.MustCompile(`^/whip/[0-9a-f]{32}$`)

func TestWHIPPostCreatesSession(t *testing.T) {
	srv, whip := newTestServer(t)
	res, body := do(t, http.MethodPost, whip, "token-a", "application/sdp", makeOffer(t))
	if res.StatusCode != http.StatusCreated {
		t.Fatalf("status %d %q, want 201", res.StatusCode, body)
	}
	loc := res.Header.Get("Location")
	if !locationRE.MatchString(loc) {
		t.Fatalf("Location %q, want /whip/{session}", loc)
	}
	if ct := res.Header.Get("Content-Type"); ct != "application/sdp" {
		t.Fatalf("Content-Type %q", ct)
	}
	if res.Header.Get("Access-Control-Allow-Origin") != "*" || !strings.Contains(res.Header.Get("Access-Control-Expose-Headers"), "Location") {
		t.Fatalf("CORS headers missing: %v", res.Header)
	}
	if !strings.Contains(body, "a=rtpmap:111 opus/48000/2") {
		t.Fatalf("answer without opus/48000/2:\n%s", body)
	}
	if !strings.Contains(body, "telephone-event/48000") {
		t.Fatalf("answer without telephone-event/48000:\n%s", body)
	}
	var cands int
	for _, line := range strings.Split(body, "\n") {
		if strings.HasPrefix(line, "a=candidate:") {
			cands++
			if !strings.Contains(line, " 127.0.0.1 ") || !strings.Contains(strings.ToLower(line), " udp ") {
				t.Fatalf("candidate off loopback UDP: %s", line)
			}
		}
	}
	if cands == 0 {
		t.Fatalf("answer has no candidates:\n%s", body)
	}
	for _, want := range []string{"a=fmtp:111 minptime=10;useinbandfec=1", "a=sendrecv", "a=end-of-candidates"} {
		if !strings.Contains(body, want) {
			t.Fatalf("answer without %q:\n%s", want, body)
		}
	}
	s := registered(t, srv, "agent-a")
	if "/whip/"+s.ID() != loc || s.AgentID() != "agent-a" {
		t.Fatalf("session %s of %s, Location %s", s.ID(), s.AgentID(), loc)
	}
}

func TestWHIPPostErrors(t *testing.T) {
	_, whip := newTestServer(t)
	offer := makeOffer(t)
	const videoOnly = "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\nm=video 9 UDP/TLS/RTP/SAVPF 96\r\nc=IN IP4 0.0.0.0\r\na=rtpmap:96 VP8/90000\r\n"
	const pcmuOnly = "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\nm=audio 9 UDP/TLS/RTP/SAVPF 0\r\nc=IN IP4 0.0.0.0\r\na=rtpmap:0 PCMU/8000\r\n"
	for _, tc := range []struct {
		name, token, ctype, body string
		status                   int
		want                     string
	}{
		{"no token", "", "application/sdp", offer, 401, "missing bearer token"},
		{"bad token", "nope", "application/sdp", offer, 401, "invalid agent token"},
		{"wrong content type", "token-a", "text/plain", offer, 415, "application/sdp"},
		{"no content type", "token-a", "", offer, 415, "application/sdp"},
		{"garbage", "token-a", "application/sdp", "hello, I am not SDP", 400, "unparsable SDP"},
		{"no audio", "token-a", "application/sdp", videoOnly, 400, "no audio"},
		{"no opus", "token-a", "application/sdp", pcmuOnly, 400, "no Opus"},
		{"no ICE", "token-a", "application/sdp", strings.Replace(pcmuOnly, "PCMU/8000", "opus/48000/2", 1), 400, "bad SDP offer"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			res, body := do(t, http.MethodPost, whip, tc.token, tc.ctype, tc.body)
			if res.StatusCode != tc.status {
				t.Fatalf("status %d %q, want %d", res.StatusCode, body, tc.status)
			}
			if !strings.Contains(body, tc.want) {
				t.Fatalf("body %q, want it to say %q", body, tc.want)
			}
			if n := strings.Count(strings.TrimSuffix(body, "\n"), "\n"); n != 0 {
				t.Fatalf("body of %d lines: %q", n+1, body)
			}
			if tc.status == 401 && !strings.HasPrefix(res.Header.Get("WWW-Authenticate"), "Bearer") {
				t.Fatalf("401 without WWW-Authenticate: Bearer: %v", res.Header)
			}
			if res.Header.Get("Location") != "" {
				t.Fatal("error with a Location")
			}
		})
	}
}

func TestWHIPOptions(t *testing.T) {
	_, whip := newTestServer(t)
	for _, url := range []string{whip, whip + "/0123456789abcdef0123456789abcdef"} {
		res, _ := do(t, http.MethodOptions, url, "", "", "")
		if res.StatusCode != http.StatusNoContent {
			t.Fatalf("OPTIONS %s: %d, want 204", url, res.StatusCode)
		}
		h := res.Header
		for name, want := range map[string]string{
			"Access-Control-Allow-Origin":   "*",
			"Access-Control-Allow-Headers":  "Authorization, Content-Type, If-Match",
			"Access-Control-Expose-Headers": "Location",
			"Accept-Post":                   "application/sdp",
		} {
			if h.Get(name) != want {
				t.Errorf("OPTIONS %s: %s = %q, want %q", url, name, h.Get(name), want)
			}
		}
		if m := h.Get("Access-Control-Allow-Methods"); !strings.Contains(m, "OPTIONS") || !(strings.Contains(m, "POST") || strings.Contains(m, "DELETE")) {
			t.Errorf("OPTIONS %s: Allow-Methods %q", url, m)
		}
	}
	res, _ := do(t, http.MethodOptions, whip, "", "", "")
	if !strings.Contains(res.Header.Get("Access-Control-Allow-Methods"), "POST") {
		t.Errorf("endpoint preflight does not allow POST: %v", res.Header)
	}
}

func TestWHIPDelete(t *testing.T) {
	srv, whip := newTestServer(t)
	res, body := do(t, http.MethodPost, whip, "token-a", "application/sdp", makeOffer(t))
	if res.StatusCode != http.StatusCreated {
		t.Fatalf("POST: %d %s", res.StatusCode, body)
	}
	sess := registered(t, srv, "agent-a")
	url := strings.TrimSuffix(whip, "/whip") + res.Header.Get("Location")

	if res, body := do(t, http.MethodPatch, url, "token-a", "application/trickle-ice-sdpfrag", "a=end-of-candidates\r\n"); res.StatusCode != http.StatusMethodNotAllowed || !strings.Contains(res.Header.Get("Allow"), "DELETE") {
		t.Fatalf("PATCH: %d %q Allow %q, want 405 with Allow", res.StatusCode, body, res.Header.Get("Allow"))
	}
	if res, _ := do(t, http.MethodDelete, url, "", "", ""); res.StatusCode != http.StatusUnauthorized {
		t.Fatalf("DELETE without token: %d, want 401", res.StatusCode)
	}
	if res, _ := do(t, http.MethodDelete, url, "token-b", "", ""); res.StatusCode != http.StatusForbidden {
		t.Fatalf("DELETE by another agent: %d, want 403", res.StatusCode)
	}
	if closed(sess.Done()) {
		t.Fatal("another agent's DELETE ended the session")
	}
	if res, _ := do(t, http.MethodDelete, whip+"/ffffffffffffffffffffffffffffffff", "token-a", "", ""); res.StatusCode != http.StatusNotFound {
		t.Fatalf("DELETE of an unknown session: %d, want 404", res.StatusCode)
	}
	if res, body := do(t, http.MethodDelete, url, "token-a", "", ""); res.StatusCode != http.StatusOK {
		t.Fatalf("DELETE: %d %s, want 200", res.StatusCode, body)
	}
	select {
	case <-sess.Done():
	case <-time.After(testTimeout):
		t.Fatal("session not ended by DELETE")
	}
	if _, ok := srv.Session("agent-a"); ok {
		t.Fatal("ended session still registered")
	}
	if res, _ := do(t, http.MethodDelete, url, "token-a", "", ""); res.StatusCode != http.StatusNotFound {
		t.Fatalf("second DELETE: %d, want 404", res.StatusCode)
	}
}

func TestWHIPSecondPostReplaces(t *testing.T) {
	srv, whip := newTestServer(t)
	first := connectAgent(t, whip, "token-a", 700)
	s1 := session(t, srv, "agent-a")
	l1 := attach(t, s1, "call-1")
	second := connectAgent(t, whip, "token-a", 800)
	s2 := session(t, srv, "agent-a")
	if s1 == s2 || s2.ID() == s1.ID() {
		t.Fatal("second POST did not make a new session")
	}
	select {
	case <-s1.Done():
	case <-time.After(testTimeout):
		t.Fatal("first session not closed")
	}
	if got := legEnded(t, l1); got != CauseSessionEnded {
		t.Fatalf("leg of the replaced session ended with %v, want %v", got, CauseSessionEnded)
	}
	if !strings.HasSuffix(second.SessionURL(), s2.ID()) || !strings.HasSuffix(first.SessionURL(), s1.ID()) {
		t.Fatalf("session URLs %s, %s", first.SessionURL(), second.SessionURL())
	}
	if closed(s2.Done()) {
		t.Fatal("second session ended")
	}
}

// TestWHIPMountedWithStripPrefix serves the gateway under http.StripPrefix:
// paths relative to the mount point work as the full ones do.
func TestWHIPMountedWithStripPrefix(t *testing.T) {
	srv, err := NewServer(Options{Authenticate: authenticate, LoopbackOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	hs := httptest.NewServer(http.StripPrefix("/whip", srv))
	defer hs.Close()
	res, body := do(t, http.MethodPost, hs.URL+"/whip", "token-b", "application/sdp", makeOffer(t))
	if res.StatusCode != http.StatusCreated || !locationRE.MatchString(res.Header.Get("Location")) {
		t.Fatalf("POST: %d %q Location %q", res.StatusCode, body, res.Header.Get("Location"))
	}
	if res, _ := do(t, http.MethodDelete, hs.URL+res.Header.Get("Location"), "token-b", "", ""); res.StatusCode != http.StatusOK {
		t.Fatalf("DELETE: %d", res.StatusCode)
	}
}
