package web

import (
	"io"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"
)

func get(t *testing.T, h http.Handler, method, path string, hdr map[string]string) *http.Response {
	t.Helper()
	req := httptest.NewRequest(method, path, nil)
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	w := httptest.NewRecorder()
	h.ServeHTTP(w, req)
	return w.Result()
}

// TestHandler: the page at "/" is HTML and never cached; the static files
// have their content types and revalidate with an ETag; other paths are
// 404 and other methods 405.
func TestHandler(t *testing.T) {
	h := Handler()
	res := get(t, h, "GET", "/", nil)
	body, _ := io.ReadAll(res.Body)
	if res.StatusCode != 200 || res.Header.Get("Content-Type") != "text/html; charset=utf-8" ||
		res.Header.Get("Cache-Control") != "no-store" || !strings.Contains(string(body), `<script type="module" src="/static/app.js">`) {
		t.Fatalf("GET / = %d %v\n%.200s", res.StatusCode, res.Header, body)
	}
	if res.Header.Get("Content-Security-Policy") == "" || res.Header.Get("X-Content-Type-Options") != "nosniff" {
		t.Errorf("GET / headers %v", res.Header)
	}
	for path, ct := range map[string]string{
		"/static/app.js":        "text/javascript; charset=utf-8",
		"/static/media.js":      "text/javascript; charset=utf-8",
		"/static/transfer.js":   "text/javascript; charset=utf-8",
		"/static/supervisor.js": "text/javascript; charset=utf-8",
		"/static/outbound.js":   "text/javascript; charset=utf-8",
		"/static/callbacks.js":  "text/javascript; charset=utf-8",
		"/static/style.css":     "text/css; charset=utf-8",
		"/static/favicon.svg":   "image/svg+xml",
		"/index.html":           "text/html; charset=utf-8",
	} {
		res := get(t, h, "GET", path, nil)
		if res.StatusCode != 200 || res.Header.Get("Content-Type") != ct {
			t.Errorf("GET %s = %d %q, want 200 %q", path, res.StatusCode, res.Header.Get("Content-Type"), ct)
		}
		if etag := res.Header.Get("ETag"); path != "/index.html" {
			if etag == "" || res.Header.Get("Cache-Control") != "no-cache" {
				t.Errorf("GET %s: ETag %q Cache-Control %q", path, etag, res.Header.Get("Cache-Control"))
			}
			if again := get(t, h, "GET", path, map[string]string{"If-None-Match": etag}); again.StatusCode != http.StatusNotModified {
				t.Errorf("GET %s with its ETag = %d, want 304", path, again.StatusCode)
			}
		}
	}
	for _, path := range []string{"/nope", "/static/", "/static/missing.js", "/static"} {
		if res := get(t, h, "GET", path, nil); res.StatusCode != 404 {
			t.Errorf("GET %s = %d, want 404", path, res.StatusCode)
		}
	}
	if res := get(t, h, "POST", "/", nil); res.StatusCode != 405 || res.Header.Get("Allow") != "GET, HEAD" {
		t.Errorf("POST / = %d Allow %q", res.StatusCode, res.Header.Get("Allow"))
	}
	if res := get(t, h, "HEAD", "/static/app.js", nil); res.StatusCode != 200 {
		t.Errorf("HEAD /static/app.js = %d", res.StatusCode)
	}
}

// TestNoExternalResources: every file the page names is embedded, and none
// is loaded from another host (the panel works without the Internet).
func TestNoExternalResources(t *testing.T) {
	h := Handler().(*handler)
	ref := regexp.MustCompile(`(?:src|href)="([^"#]+)"|from '([^']+)'|import\('([^']+)'\)`)
	external := regexp.MustCompile(`(?i)(?:https?:)?//[a-z0-9.-]+\.[a-z]{2,}/`)
	for name, f := range h.files {
		text := string(f.body)
		if name != "/static/favicon.svg" && external.MatchString(text) {
			t.Errorf("%s names an external URL: %s", name, external.FindString(text))
		}
		for _, m := range ref.FindAllStringSubmatch(text, -1) {
			target := m[1] + m[2] + m[3]
			if strings.HasPrefix(target, "./") {
				target = "/static/" + strings.TrimPrefix(target, "./")
			}
			if target == "/" || strings.HasPrefix(target, "#") {
				continue
			}
			if _, ok := h.files[target]; !ok {
				t.Errorf("%s refers to %s, which is not embedded", name, target)
			}
		}
	}
}

// TestScriptsFindTheirElements: every element the scripts look up by id
// ('#id' in a selector) is in index.html, so that a renamed element fails
// here rather than as a null in the browser.
func TestScriptsFindTheirElements(t *testing.T) {
	h := Handler().(*handler)
	page := string(h.files["/static/index.html"].body)
	ids := map[string]bool{}
	for _, m := range regexp.MustCompile(`\sid="([^"]+)"`).FindAllStringSubmatch(page, -1) {
		ids[m[1]] = true
	}
	ref := regexp.MustCompile(`['"]#([A-Za-z][\w-]*)`)
	n := 0
	for name, f := range h.files {
		if !strings.HasSuffix(name, ".js") {
			continue
		}
		for _, m := range ref.FindAllStringSubmatch(string(f.body), -1) {
			n++
			if !ids[m[1]] {
				t.Errorf("%s looks up #%s, which index.html does not have", name, m[1])
			}
		}
	}
	for _, id := range []string{"transfer", "xfer", "xfer-tab-agents", "xfer-tab-queues", "xfer-tab-numbers", "hold-timer", "sup-calls",
		"outbound-form", "outbound-from", "outbound-to", "outbound-queue", "outbound-call", "outbound-error", "call-progress", "hangup",
		"callbacks", "cb-status", "cb-type", "cb-from", "cb-to", "cb-refresh"} {
		if !ids[id] {
			t.Errorf("index.html lacks #%s", id)
		}
	}
	if n < 50 {
		t.Errorf("found %d element look-ups in the scripts: the pattern no longer matches them", n)
	}
}
