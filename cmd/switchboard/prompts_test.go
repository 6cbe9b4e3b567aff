package main

import (
	"bytes"
	"encoding/json"
	"io"
	"mime/multipart"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/switchboard-voice/switchboard/api"
	"github.com/switchboard-voice/switchboard/config"
	"github.com/switchboard-voice/switchboard/dialplan/prompt"
	"github.com/switchboard-voice/switchboard/media/audio"
	"github.com/switchboard-voice/switchboard/media/tone"
	"github.com/switchboard-voice/switchboard/sip/siptest"
)

// requireFFmpeg returns ffmpeg's path; without it the test fails under
// CI=true and is skipped on a developer's machine.
func requireFFmpeg(t *testing.T) string {
	t.Helper()
	p, err := exec.LookPath("ffmpeg")
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal("ffmpeg is not installed (apt-get install ffmpeg)")
		}
		t.Skip("ffmpeg not installed")
	}
	return p
}

// promptSamples makes a 700 Hz tone in every format an upload accepts:
// ffmpeg encodes all but VOX, which no ffmpeg encodes (prompt.EncodeVOX).
func promptSamples(t *testing.T, ffmpeg string) map[string][]byte {
	t.Helper()
	dir := t.TempDir()
	src := audioDir + "tone-700.wav"
	out := map[string][]byte{}
	for ext, opts := range map[string][]string{
		".wav":   {"-c:a", "pcm_u8", "-f", "wav"}, // 8-bit: converted by ffmpeg, not read in Go
		".mp3":   {"-c:a", "libmp3lame", "-f", "mp3"},
		".mp2":   {"-c:a", "mp2", "-ar", "16000", "-f", "mp2"},
		".ircam": {"-f", "ircam"},
		".m4a":   {"-c:a", "aac", "-f", "ipod"},
		".m4r":   {"-c:a", "aac", "-f", "ipod"},
		".voc":   {"-c:a", "pcm_u8", "-f", "voc"},
	} {
		dst := filepath.Join(dir, "tone"+ext)
		args := append([]string{"-nostdin", "-hide_banner", "-loglevel", "error", "-y", "-i", src, "-ac", "1"}, opts...)
		if b, err := exec.Command(ffmpeg, append(args, dst)...).CombinedOutput(); err != nil {
			t.Fatalf("ffmpeg %s: %v: %s", ext, err, b)
		}
		data, err := os.ReadFile(dst)
		if err != nil {
			t.Fatal(err)
		}
		out[ext] = data
	}
	clip, err := audio.Load(src)
	if err != nil {
		t.Fatal(err)
	}
	out[".vox"] = prompt.EncodeVOX(clip.Resample(prompt.VOXRate).Samples)
	return out
}

// upload posts data as the file name to /api/v1/prompts in a multipart
// body (contentType overrides the body's type when set) and returns the
// status and the body.
func upload(t *testing.T, h *harness, name string, data []byte, contentType string) (int, []byte) {
	t.Helper()
	var body bytes.Buffer
	mw := multipart.NewWriter(&body)
	fw, err := mw.CreateFormFile("file", name)
	if err != nil {
		t.Fatal(err)
	}
	fw.Write(data)
	mw.Close()
	if contentType == "" {
		contentType = mw.FormDataContentType()
	}
	return apiCall(t, h, http.MethodPost, "/api/v1/prompts", contentType, &body)
}

// apiCall sends one request with the supervisor's key.
func apiCall(t *testing.T, h *harness, method, path, contentType string, body io.Reader) (int, []byte) {
	t.Helper()
	req, err := http.NewRequestWithContext(h.ctx, method, "http://"+h.node.http.Addr()+path, body)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+supervisorKey)
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	return res.StatusCode, b
}

// hasTone700 reports whether the stored prompt file holds the 700 Hz tone
// in its middle (the tone detector, not the bytes).
func hasTone700(t *testing.T, path string) bool {
	t.Helper()
	c, err := audio.Load(path)
	if err != nil {
		t.Fatalf("the stored prompt: %v", err)
	}
	window := 400 * time.Millisecond
	n := int(int64(c.Rate) * int64(window) / int64(time.Second))
	if len(c.Samples) < 2*n {
		t.Fatalf("the stored prompt is %v long", c.Duration())
	}
	d := tone.NewDetector(c.Rate, window)
	mid := len(c.Samples) / 2
	d.Write(c.Samples[mid-n/2 : mid+n/2])
	return d.Present(700) && !d.Present(500)
}

// TestPromptUpload: every allowed format is accepted, converted once into
// a WAV under prompts.upload_dir that holds the same tone, listed and
// found by id, and deleted; a file over 4 MB gets 413; another format, or
// content that is not audio, 415; a body that is not multipart, 415.
func TestPromptUpload(t *testing.T) {
	ffmpeg := requireFFmpeg(t)
	h := newHarness(t, fromFile(t, ccConfig, nil))
	samples := promptSamples(t, ffmpeg)
	uploads := h.cfg.Prompts.Uploads()
	var ids []string
	for _, ext := range prompt.AllowedExtensions() {
		code, body := upload(t, h, "Tone"+strings.ToUpper(ext), samples[ext], "")
		var p api.Prompt
		if code != http.StatusCreated || json.Unmarshal(body, &p) != nil {
			t.Errorf("upload %s: %d %s", ext, code, body)
			continue
		}
		if !api.IsPromptID(p.ID) || p.Format != ext || p.Size != int64(len(samples[ext])) || p.Duration < 1 {
			t.Errorf("upload %s: %+v", ext, p)
		}
		if !hasTone700(t, filepath.Join(uploads, p.ID+".wav")) {
			t.Errorf("upload %s: the stored prompt does not hold the 700 Hz tone", ext)
		}
		if code, body := apiCall(t, h, "GET", "/api/v1/prompts/"+p.ID, "", nil); code != 200 || !strings.Contains(string(body), p.ID) {
			t.Errorf("GET %s: %d %s", p.ID, code, body)
		}
		ids = append(ids, p.ID)
	}
	code, body := apiCall(t, h, "GET", "/api/v1/prompts", "", nil)
	var list []api.Prompt
	if code != 200 || json.Unmarshal(body, &list) != nil || len(list) != len(ids) {
		t.Errorf("list: %d %s, want %d prompts", code, body, len(ids))
	}

	big := append([]byte(nil), samples[".wav"]...)
	big = append(big, make([]byte, prompt.MaxFileSize)...)
	if code, body := upload(t, h, "big.wav", big, ""); code != http.StatusRequestEntityTooLarge {
		t.Errorf("5 MB upload: %d %s, want 413", code, body)
	}
	for _, tc := range []struct{ name, ctype string }{
		{"tone.ogg", ""},                 // not an allowed format
		{"tone", ""},                     // no extension
		{"tone.mp3", "application/json"}, // not multipart
		{"tone.mp3", "text/plain"},       // not multipart
		{"../../../etc/tone.exe", ""},    // a path is only a name, and .exe no audio
	} {
		data := samples[".mp3"]
		if code, body := upload(t, h, tc.name, data, tc.ctype); code != http.StatusUnsupportedMediaType {
			t.Errorf("upload %s (%s): %d %s, want 415", tc.name, tc.ctype, code, body)
		}
	}
	if code, body := upload(t, h, "noise.m4a", []byte("this is not audio at all"), ""); code != http.StatusUnsupportedMediaType {
		t.Errorf("a .m4a that is not audio: %d %s, want 415", code, body)
	}
	entries, err := os.ReadDir(uploads)
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != len(ids) {
		t.Errorf("the upload directory holds %d files, want %d (refused uploads leave nothing)", len(entries), len(ids))
	}

	if code, body := apiCall(t, h, "DELETE", "/api/v1/prompts/"+ids[0], "", nil); code != http.StatusNoContent {
		t.Errorf("delete: %d %s", code, body)
	}
	if _, err := os.Stat(filepath.Join(uploads, ids[0]+".wav")); !os.IsNotExist(err) {
		t.Errorf("the deleted prompt's file is still there: %v", err)
	}
	if code, _ := apiCall(t, h, "GET", "/api/v1/prompts/"+ids[0], "", nil); code != http.StatusNotFound {
		t.Errorf("a deleted prompt: %d, want 404", code)
	}
}

// TestStrategyNamesPromptsNotPaths: a waiting strategy created through the
// API names an uploaded prompt by id, and a caller queued under it hears
// it. A path instead, "../", absolute, existing or not, is refused with the
// same message, and so is an id nobody uploaded.
func TestStrategyNamesPromptsNotPaths(t *testing.T) {
	ffmpeg := requireFFmpeg(t)
	h := newHarness(t, fromFile(t, ccConfig, func(c *config.Config) {
		c.Routes = append([]config.Route{{Name: "quiet", Match: config.RouteMatch{To: "+15550400"}, Flow: "quiet"}}, c.Routes...)
		c.Flows["quiet"] = []config.Action{{Queue: &config.QueueAction{Name: "support", WaitingStrategy: "quiet"}}}
	}))
	existing, err := filepath.Abs(audioDir + "tone-700.wav")
	if err != nil {
		t.Fatal(err)
	}
	for _, ref := range []string{"../audio/tone-700.wav", "../audio/missing.wav", existing,
		filepath.Join(filepath.Dir(existing), "missing.wav"), "/etc/passwd", "prompt-000000000000000000000000"} {
		raw, _ := json.Marshal(map[string]any{"name": "bad", "music": ref})
		code, body := apiCall(t, h, "POST", "/api/v1/waiting-strategies", "application/json", bytes.NewReader(raw))
		fp, _ := json.Marshal(api.FieldProblem{Field: "music",
			Problem: "no prompt with id " + strconv.Quote(ref) + ": name a prompt uploaded with POST /api/v1/prompts by its id"})
		want := string(fp)
		if code != http.StatusBadRequest || !strings.Contains(string(body), want) {
			t.Errorf("music %q: %d %s, want 400 with %s", ref, code, body, want)
		}
	}
	for _, id := range []string{"..%2F..%2Fetc%2Fpasswd", "prompt-000000000000000000000000", "tone-700.wav"} {
		code, body := apiCall(t, h, "GET", "/api/v1/prompts/"+id, "", nil)
		if code != http.StatusNotFound || !strings.Contains(string(body), "not found: prompt") {
			t.Errorf("GET /api/v1/prompts/%s: %d %s, want 404 not found", id, code, body)
		}
	}

	// The tone as .m4a, converted by ffmpeg at upload, is the strategy's music.
	code, body := upload(t, h, "hold.m4a", promptSamples(t, ffmpeg)[".m4a"], "")
	var p api.Prompt
	if code != http.StatusCreated || json.Unmarshal(body, &p) != nil {
		t.Fatalf("upload: %d %s", code, body)
	}
	raw, _ := json.Marshal(map[string]any{"name": "quiet", "music": p.ID})
	if code, body := apiCall(t, h, "POST", "/api/v1/waiting-strategies", "application/json", bytes.NewReader(raw)); code != http.StatusCreated {
		t.Fatalf("create waiting strategy quiet: %d %s", code, body)
	}
	c, err := h.caller.Invite(h.ctx, h.target("+15550400"), siptest.InviteOptions{ToneHz: callerHz})
	if err != nil || c.Status() != 200 {
		t.Fatalf("invite: %v (status %d)", err, c.Status())
	}
	heardAlone(t, c, 700, 500, 3*time.Second, "the uploaded prompt as the strategy's music")
	if err := c.Hangup(h.ctx); err != nil {
		t.Fatal(err)
	}
	if code, body := apiCall(t, h, "DELETE", "/api/v1/prompts/"+p.ID, "", nil); code != http.StatusConflict {
		t.Errorf("deleting a prompt a strategy uses: %d %s, want 409", code, body)
	}
}
