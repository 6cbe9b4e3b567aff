// Package web is the agent panel: a single page of plain HTML, CSS and
// JavaScript modules (no build step, nothing loaded from the network),
// embedded in the binary and served by the switch's HTTP listener.
//
// The page talks to the switch only through its public surface: the REST
// API under /api/v1, the agent's events WebSocket and WHIP (/whip) for the
// agent's audio. #/supervisor shows queues, live calls and agents for a
// supervisor's API key.
package web

import (
	"bytes"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"io/fs"
	"net/http"
	"path"
	"strings"
	"time"
)

//go:embed static
var files embed.FS

// contentTypes are the types of the files the panel ships; anything else
// is served as application/octet-stream.
var contentTypes = map[string]string{
	".html": "text/html; charset=utf-8",
	".js":   "text/javascript; charset=utf-8",
	".css":  "text/css; charset=utf-8",
	".svg":  "image/svg+xml",
	".png":  "image/png",
	".json": "application/json",
}

// csp keeps the page to its own origin: scripts, styles and the API
// (including the events WebSocket) come from the switch itself.
const csp = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; " +
	"media-src 'self' blob: mediastream:; connect-src 'self'; object-src 'none'; base-uri 'none'; " +
	"frame-ancestors 'none'; form-action 'none'"

type file struct {
	body  []byte
	ctype string
	etag  string
}

// handler serves the embedded files.
type handler struct {
	files map[string]file // "/index.html", "/static/app.js", ...
}

// Handler serves the panel: index.html at "/" (never cached, so a new
// switch version's page is always picked up) and the static files under
// /static/ (revalidated with an ETag). Every other path is 404. Mount it
// at "/" of the HTTP listener.
func Handler() http.Handler {
	h := &handler{files: map[string]file{}}
	err := fs.WalkDir(files, "static", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := files.ReadFile(p)
		if err != nil {
			return err
		}
		sum := sha256.Sum256(b)
		ct := contentTypes[path.Ext(p)]
		if ct == "" {
			ct = "application/octet-stream"
		}
		h.files["/"+p] = file{body: b, ctype: ct, etag: `"` + hex.EncodeToString(sum[:8]) + `"`}
		return nil
	})
	if err != nil {
		panic("web: embedded files: " + err.Error()) // cannot happen: the files are compiled in
	}
	return h
}

func (h *handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	name := r.URL.Path
	if name == "/" || name == "/index.html" {
		name = "/static/index.html"
	}
	f, ok := h.files[name]
	if !ok || strings.HasSuffix(name, "/") {
		http.NotFound(w, r)
		return
	}
	hd := w.Header()
	hd.Set("Content-Type", f.ctype)
	hd.Set("X-Content-Type-Options", "nosniff")
	hd.Set("Referrer-Policy", "no-referrer")
	if name == "/static/index.html" {
		hd.Set("Cache-Control", "no-store")
		hd.Set("Content-Security-Policy", csp)
		hd.Set("X-Frame-Options", "DENY")
		// Microphone and speaker selection only for this page itself.
		hd.Set("Permissions-Policy", "microphone=(self), speaker-selection=(self), camera=()")
	} else {
		hd.Set("Cache-Control", "no-cache")
		hd.Set("ETag", f.etag)
	}
	http.ServeContent(w, r, "", time.Time{}, bytes.NewReader(f.body))
}
