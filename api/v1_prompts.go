package api

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io"
	"mime"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"time"

	"github.com/switchboard-voice/switchboard/dialplan/prompt"
	"github.com/switchboard-voice/switchboard/media/audio"
	"github.com/switchboard-voice/switchboard/store"
)

// Prompt is an uploaded audio file as the API shows it. API objects (the
// waiting strategies' greeting, music, announcement and maximum-wait
// message) name prompts by id; no API request names a file path.
type Prompt struct {
	ID        string    `json:"id"`
	Name      string    `json:"name"`
	Format    string    `json:"format"`
	Size      int64     `json:"size"`
	Duration  float64   `json:"duration"`
	CreatedAt time.Time `json:"created_at"`
}

// PromptUpload is the multipart/form-data body of POST /api/v1/prompts:
// the audio file in the part named "file" (OpenAPI only).
type PromptUpload struct {
	File string `json:"file"`
}

// PromptConverter converts an upload (data, of type ext, named name in
// errors) once into the WAV file the players read, at dst; prompt.Library
// is one.
type PromptConverter interface {
	Convert(ctx context.Context, name string, data []byte, ext, dst string) (*audio.Clip, error)
}

// promptIDPattern is what a prompt id looks like: "prompt-" and 24 hex
// digits, made by the switch. Nothing else is looked up as a prompt, so no
// request can name a path.
var promptIDPattern = regexp.MustCompile(`^prompt-[0-9a-f]{24}$`)

// PromptIDPattern is the pattern of prompt ids, for documents.
const PromptIDPattern = `^prompt-[0-9a-f]{24}$`

// IsPromptID reports whether s has the form of a prompt id.
func IsPromptID(s string) bool { return promptIDPattern.MatchString(s) }

// PromptFile is where the uploaded prompt id is kept in dir; "" when id is
// not a prompt id.
func PromptFile(dir, id string) string {
	if !IsPromptID(id) {
		return ""
	}
	return filepath.Join(dir, id+".wav")
}

func newPromptID() string {
	b := make([]byte, 12)
	_, _ = rand.Read(b) // never fails (crypto/rand)
	return "prompt-" + hex.EncodeToString(b)
}

func promptView(p store.Prompt) Prompt {
	return Prompt{ID: p.ID, Name: p.Name, Format: p.Format, Size: p.Size, Duration: p.Duration.Seconds(), CreatedAt: p.CreatedAt}
}

// uploadOverhead is what a multipart body may carry besides the file.
const uploadOverhead = 64 << 10

// promptsReady answers 503 when the switch keeps no prompts.
func (v *v1) promptsReady(w http.ResponseWriter) bool {
	if v.c.Prompts == nil || v.c.PromptDir == nil || v.c.Converter == nil {
		writeError(w, http.StatusServiceUnavailable, "no database or upload directory for prompts")
		return false
	}
	return true
}

func (v *v1) uploadPrompt(w http.ResponseWriter, r *http.Request, p principal) {
	if !v.promptsReady(w) {
		return
	}
	mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if err != nil || mt != "multipart/form-data" {
		writeError(w, http.StatusUnsupportedMediaType,
			"send multipart/form-data with the audio file in the part named \"file\"")
		return
	}
	r.Body = http.MaxBytesReader(w, r.Body, prompt.MaxFileSize+uploadOverhead)
	mr, err := r.MultipartReader()
	if err != nil {
		writeError(w, http.StatusBadRequest, "reading the multipart body: "+err.Error())
		return
	}
	var (
		name string
		data []byte
	)
	for {
		part, err := mr.NextPart()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			v.uploadReadError(w, err)
			return
		}
		if part.FormName() != "file" {
			part.Close()
			continue
		}
		name = filepath.Base(filepath.Clean("/" + strings.ReplaceAll(part.FileName(), `\`, "/")))
		data, err = io.ReadAll(io.LimitReader(part, prompt.MaxFileSize+1))
		part.Close()
		if err != nil {
			v.uploadReadError(w, err)
			return
		}
		break
	}
	if data == nil {
		writeError(w, http.StatusBadRequest, "no part named \"file\" with the audio file")
		return
	}
	if len(data) > prompt.MaxFileSize {
		writeError(w, http.StatusRequestEntityTooLarge, "the audio file is larger than 4 MB (4194304 bytes)")
		return
	}
	ext := strings.ToLower(filepath.Ext(name))
	allowed := prompt.AllowedExtensions()
	if !contains(allowed, ext) {
		what := "\"" + ext + "\""
		if ext == "" {
			what = "a file without an extension"
		}
		writeError(w, http.StatusUnsupportedMediaType,
			"unsupported audio format "+what+", want one of "+strings.Join(allowed, " "))
		return
	}
	if len(name) > 255 {
		name = name[len(name)-255:]
	}
	id := newPromptID()
	dst := PromptFile(v.c.PromptDir(), id)
	// The conversion may take up to ffmpeg's time-out, longer than
	// http.write_timeout: the answer gets its own deadline after it.
	rc := http.NewResponseController(w)
	clip, err := v.c.Converter.Convert(ctx(r), name, data, ext, dst)
	_ = rc.SetWriteDeadline(time.Now().Add(30 * time.Second)) // unsupported only on a test recorder
	if err != nil {
		os.Remove(dst)
		switch {
		case errors.Is(err, prompt.ErrFormat):
			writeError(w, http.StatusUnsupportedMediaType, err.Error())
		case errors.Is(err, prompt.ErrTooLarge):
			writeError(w, http.StatusRequestEntityTooLarge, err.Error())
		case errors.Is(err, prompt.ErrMissingTool):
			writeError(w, http.StatusServiceUnavailable, err.Error())
		default:
			writeErr(w, err)
		}
		return
	}
	sp := store.Prompt{ID: id, Name: name, Format: ext, Size: int64(len(data)), Duration: clip.Duration()}
	if err := v.c.Prompts.AddPrompt(ctx(r), sp); err != nil {
		os.Remove(dst)
		writeErr(w, err)
		return
	}
	if sp, err = v.c.Prompts.GetPrompt(ctx(r), id); err != nil {
		writeErr(w, err)
		return
	}
	w.Header().Set("Location", "/api/v1/prompts/"+id)
	writeJSON(w, http.StatusCreated, promptView(sp))
}

// uploadReadError answers a failure to read the upload: 413 past the size
// limit, 400 otherwise.
func (v *v1) uploadReadError(w http.ResponseWriter, err error) {
	var tooBig *http.MaxBytesError
	if errors.As(err, &tooBig) {
		writeError(w, http.StatusRequestEntityTooLarge, "the audio file is larger than 4 MB (4194304 bytes)")
		return
	}
	writeError(w, http.StatusBadRequest, "reading the multipart body: "+err.Error())
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

func (v *v1) listPrompts(w http.ResponseWriter, r *http.Request, p principal) {
	if !v.promptsReady(w) {
		return
	}
	list, err := v.c.Prompts.ListPrompts(ctx(r))
	if err != nil {
		writeErr(w, err)
		return
	}
	out := make([]Prompt, 0, len(list))
	for _, sp := range list {
		out = append(out, promptView(sp))
	}
	writeJSON(w, http.StatusOK, out)
}

// findPrompt looks an id up; anything that is not a prompt id is not
// found, with the same answer.
func (v *v1) findPrompt(r *http.Request, id string) (store.Prompt, error) {
	if !IsPromptID(id) {
		return store.Prompt{}, store.ErrNotFound
	}
	return v.c.Prompts.GetPrompt(ctx(r), id)
}

func (v *v1) getPrompt(w http.ResponseWriter, r *http.Request, p principal) {
	if !v.promptsReady(w) {
		return
	}
	sp, err := v.findPrompt(r, r.PathValue("id"))
	if err != nil {
		writeNotFound(w, err, "prompt "+quote(r.PathValue("id")))
		return
	}
	writeJSON(w, http.StatusOK, promptView(sp))
}

func (v *v1) deletePrompt(w http.ResponseWriter, r *http.Request, p principal) {
	if !v.promptsReady(w) {
		return
	}
	sp, err := v.findPrompt(r, r.PathValue("id"))
	if err != nil {
		writeNotFound(w, err, "prompt "+quote(r.PathValue("id")))
		return
	}
	if v.c.Strategies != nil {
		list, err := v.c.Strategies.ListWaitingStrategies(ctx(r))
		if err != nil {
			writeErr(w, err)
			return
		}
		for _, s := range list {
			var in WaitingStrategyInput
			if json.Unmarshal(s.Spec, &in) == nil && contains(in.prompts(), sp.ID) {
				writeError(w, http.StatusConflict, "waiting strategy "+quote(s.Name)+" uses prompt "+quote(sp.ID))
				return
			}
		}
	}
	if err := v.c.Prompts.DeletePrompt(ctx(r), sp.ID); err != nil {
		writeErr(w, err)
		return
	}
	if err := os.Remove(PromptFile(v.c.PromptDir(), sp.ID)); err != nil && !errors.Is(err, os.ErrNotExist) {
		writeErr(w, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// prompts are the prompt ids in's parts name.
func (in WaitingStrategyInput) prompts() []string {
	out := []string{in.Greeting, in.Music, in.MaxWaitMessage}
	if in.Announcement != nil {
		out = append(out, in.Announcement.File)
	}
	return out
}

// checkPrompts adds a problem for each part of in that names no uploaded
// prompt. The message is the same for a path, existing or not, and an
// unknown id.
func (v *v1) checkPrompts(ps *problems, r *http.Request, in WaitingStrategyInput) {
	fields := []struct{ field, ref string }{{"greeting", in.Greeting}, {"music", in.Music},
		{"max_wait_message", in.MaxWaitMessage}}
	if in.Announcement != nil {
		fields = append(fields, struct{ field, ref string }{"announcement.file", in.Announcement.File})
	}
	for _, f := range fields {
		if f.ref == "" {
			continue
		}
		if v.c.Prompts != nil {
			if _, err := v.findPrompt(r, f.ref); err == nil {
				continue
			} else if !errors.Is(err, store.ErrNotFound) {
				ps.add(f.field, "%v", err)
				continue
			}
		}
		ps.add(f.field, "no prompt with id %q: name a prompt uploaded with POST /api/v1/prompts by its id", f.ref)
	}
}
