package api

import (
	"bytes"
	"encoding/json"
	"io"
	"mime/multipart"
	"net/http"
	"strings"
	"testing"

	"github.com/switchboard-voice/switchboard/dialplan/prompt"
	"github.com/switchboard-voice/switchboard/media/tone"
)

// uploadTo posts data as the file name to /api/v1/prompts and checks the
// answer against the OpenAPI document.
func uploadTo(t *testing.T, srv *apiServer, name string, data []byte) (int, string) {
	t.Helper()
	var body bytes.Buffer
	mw := multipart.NewWriter(&body)
	fw, err := mw.CreateFormFile("file", name)
	if err != nil {
		t.Fatal(err)
	}
	fw.Write(data)
	mw.Close()
	req, err := http.NewRequest("POST", srv.URL+"/api/v1/prompts", &body)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+testKey)
	req.Header.Set("Content-Type", mw.FormDataContentType())
	res, err := srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	srv.spec.check(t, req, res, b)
	return res.StatusCode, string(b)
}

// TestPromptAPI: a VOX upload (decoded without ffmpeg) is created, listed,
// found and deleted; 413, 415 and 404 answer as the document says; and a
// strategy naming the new prompt by id is accepted, one naming a path not.
func TestPromptAPI(t *testing.T) {
	srv, _ := contactServer(t)
	samples := make([]int16, prompt.VOXRate) // 1 s of 700 Hz
	tone.NewGenerator(prompt.VOXRate, 700, 0.5).Fill(samples)
	code, body := uploadTo(t, srv, "menu.VOX", prompt.EncodeVOX(samples))
	var p Prompt
	if code != 201 || json.Unmarshal([]byte(body), &p) != nil || !IsPromptID(p.ID) || p.Format != ".vox" || p.Duration != 1 {
		t.Fatalf("upload: %d %s", code, body)
	}
	if code, body := request(t, srv, "GET", "/api/v1/prompts/"+p.ID, testKey, ""); code != 200 || !strings.Contains(body, p.ID) {
		t.Errorf("get: %d %s", code, body)
	}
	if code, body := request(t, srv, "GET", "/api/v1/prompts", testKey, ""); code != 200 || !strings.Contains(body, p.ID) {
		t.Errorf("list: %d %s", code, body)
	}
	if code, body := uploadTo(t, srv, "big.vox", make([]byte, prompt.MaxFileSize+1)); code != 413 {
		t.Errorf("over 4 MB: %d %s", code, body)
	}
	if code, body := uploadTo(t, srv, "menu.ogg", []byte("OggS")); code != 415 || !strings.Contains(body, ".mp2 .mp3 .ircam .m4a .m4r .voc .vox .wav") {
		t.Errorf(".ogg: %d %s", code, body)
	}
	if code, body := request(t, srv, "POST", "/api/v1/prompts", testKey, `{"file":"/etc/passwd"}`); code != 415 {
		t.Errorf("JSON body: %d %s", code, body)
	}
	if code, body := request(t, srv, "POST", "/api/v1/waiting-strategies", testKey, `{"name":"p","music":"`+p.ID+`"}`); code != 201 {
		t.Errorf("strategy naming the prompt: %d %s", code, body)
	}
	if code, body := request(t, srv, "DELETE", "/api/v1/prompts/"+p.ID, testKey, ""); code != 409 {
		t.Errorf("delete while used: %d %s", code, body)
	}
	if code, body := request(t, srv, "DELETE", "/api/v1/waiting-strategies/p", testKey, ""); code != 204 {
		t.Fatalf("delete strategy: %d %s", code, body)
	}
	if code, body := request(t, srv, "DELETE", "/api/v1/prompts/"+p.ID, testKey, ""); code != 204 {
		t.Errorf("delete: %d %s", code, body)
	}
	for _, id := range []string{p.ID, "..%2Fsecret", "prompt-x"} {
		if code, body := request(t, srv, "GET", "/api/v1/prompts/"+id, testKey, ""); code != 404 {
			t.Errorf("get %s: %d %s", id, code, body)
		}
	}
	srv.spec.mu.Lock()
	defer srv.spec.mu.Unlock()
	for _, want := range []string{"POST /api/v1/prompts Created", "POST /api/v1/prompts Request Entity Too Large",
		"POST /api/v1/prompts Unsupported Media Type", "DELETE /api/v1/prompts/{id} Conflict",
		"DELETE /api/v1/prompts/{id} No Content", "GET /api/v1/prompts/{id} Not Found", "GET /api/v1/prompts OK"} {
		if srv.spec.checked[want] == 0 {
			t.Errorf("no answer %q was validated against the document", want)
		}
	}
}
