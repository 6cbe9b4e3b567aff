// Package prompt prepares the messages a dialplan plays: text spoken with
// espeak-ng, and audio files in the formats listed by AllowedExtensions. Each
// prompt is prepared once and cached, on disk and in memory, as a decoded
// audio.Clip that the media engine plays (see media/audio).
//
// Speech is rendered by running espeak-ng into a WAV file in the cache
// directory under a key derived from the text, language, voice and rate
// (Library.Say); the next request for the same speech, also after a restart,
// reuses that file.
//
// Audio files are limited to MaxFileSize (4 MB). WAV (16-bit PCM) and MP3 are
// decoded in Go, and so is Dialogic VOX (headerless 4-bit OKI ADPCM, read as
// 8000 Hz mono). Other allowed formats, and WAV or MP3 files Go cannot decode
// (8-bit, µ-law, A-law or floating-point WAV, unusual rates, ...), are
// converted once with ffmpeg into a 16 kHz mono 16-bit WAV file in the cache
// directory, keyed by the file's content (Library.File).
//
// The external programs are optional: without them a Library still works for
// what does not need them, and CheckSpeech and CheckFile let a configuration
// loader refuse a configuration that needs a missing program, with a message
// that says what to install (ErrMissingTool). Programs are run directly
// (never through a shell) with exec.CommandContext, bounded by the caller's
// context and by Options.Timeout; text is passed as a single argument, so
// quotes, semicolons and the like in it are spoken, not interpreted.
//
// Errors about a file name the file and say what is wrong, for example
// "prompts/welcome.ogg: unsupported audio format ".ogg", want one of .mp2
// .mp3 .ircam .m4a .m4r .voc .vox .wav". They wrap ErrFormat, ErrTooLarge or
// ErrMissingTool where those apply, for errors.Is.
package prompt

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/switchboard-voice/switchboard/media/audio"
)

// MaxFileSize is the largest audio file File and CheckFile accept: 4 MB.
const MaxFileSize = 4 << 20

// Defaults for Options.
const (
	DefaultEspeak  = "espeak-ng"
	DefaultFFmpeg  = "ffmpeg"
	DefaultTimeout = 2 * time.Minute
)

// allowedExtensions are the audio file types File accepts, lower case.
var allowedExtensions = []string{".mp2", ".mp3", ".ircam", ".m4a", ".m4r", ".voc", ".vox", ".wav"}

// AllowedExtensions returns the file name extensions File accepts, lower
// case with the leading dot (matching is case-insensitive): .mp2 .mp3 .ircam
// .m4a .m4r .voc .vox .wav. The slice is a copy.
func AllowedExtensions() []string {
	return append([]string(nil), allowedExtensions...)
}

func allowedExtension(ext string) bool {
	for _, e := range allowedExtensions {
		if e == ext {
			return true
		}
	}
	return false
}

var (
	// ErrTooLarge is wrapped by the error for an audio file larger than
	// MaxFileSize.
	ErrTooLarge = errors.New("audio file too large")
	// ErrFormat is wrapped by the error for an audio file whose extension is
	// not allowed, or whose content cannot be decoded.
	ErrFormat = errors.New("unsupported audio format")
	// ErrNotFound is wrapped by the error for an audio file that cannot be
	// used where it is named: missing, unreadable, not a regular file, or
	// outside Options.Dirs. The message is the same in every case, so that
	// it does not tell whether a file exists; it also matches
	// fs.ErrNotExist.
	ErrNotFound = errors.New("audio file not found in the prompt directories")
	// ErrMissingTool is matched (errors.Is) by the error for a needed external
	// program that cannot be found; see MissingToolError.
	ErrMissingTool = errors.New("required program is not installed")
)

// MissingToolError reports that an external program is not installed. It
// matches ErrMissingTool with errors.Is. Its message says what to install,
// for example "espeak-ng is not installed (apt-get install espeak-ng)".
type MissingToolError struct {
	Program string // program name: "espeak-ng" or "ffmpeg"
	Package string // Debian package that provides it
	Path    string // what was looked up (Options.Espeak or Options.FFmpeg)
	Err     error  // from exec.LookPath
}

func (e *MissingToolError) Error() string {
	if e.Path != "" && e.Path != e.Program {
		return fmt.Sprintf("%s is not installed: %s not found (apt-get install %s)", e.Program, e.Path, e.Package)
	}
	return fmt.Sprintf("%s is not installed (apt-get install %s)", e.Program, e.Package)
}

// Is reports whether target is ErrMissingTool.
func (e *MissingToolError) Is(target error) bool { return target == ErrMissingTool }

// Unwrap returns the exec.LookPath error.
func (e *MissingToolError) Unwrap() error { return e.Err }

// Options configures a Library. The zero value is usable.
type Options struct {
	// CacheDir holds rendered speech and converted files, for example
	// "data/prompts". It is created when first needed. Default:
	// "switchboard-prompts" in os.TempDir().
	CacheDir string
	// Espeak is the espeak-ng program, a name looked up in PATH or a path.
	// Default "espeak-ng".
	Espeak string
	// FFmpeg is the ffmpeg program, a name looked up in PATH or a path.
	// Default "ffmpeg".
	FFmpeg string
	// Timeout bounds each run of an external program, in addition to the
	// caller's context. Default DefaultTimeout (2 minutes).
	Timeout time.Duration
	// Dirs are the directories audio files may be read from (File and
	// CheckFile): a path that does not lie under one of them, also once
	// symbolic links are followed, is refused with the same error as a
	// missing file (ErrNotFound). Empty: any path (for tools and tests; the
	// switch always sets them).
	Dirs []string
}

// Library prepares prompts and caches them. It is safe for concurrent use;
// concurrent requests for the same prompt prepare it once and share the
// result. Prepared clips are kept in memory for the life of the Library and
// are shared between callers: treat them as read-only.
type Library struct {
	opts Options

	mu      sync.Mutex
	entries map[string]*entry
	seen    map[string]seenFile // by path: the content hash of the file as last read
}

// entry is one prompt, prepared or being prepared; done is closed when clip
// and err are set.
type entry struct {
	done chan struct{}
	clip *audio.Clip
	err  error
	// abandoned is set when the preparing caller's context ended first.
	abandoned bool
}

// New returns a Library with o, defaults filled in. It does not touch the
// file system or look for the external programs.
func New(o Options) *Library {
	if o.CacheDir == "" {
		o.CacheDir = filepath.Join(os.TempDir(), "switchboard-prompts")
	}
	if o.Espeak == "" {
		o.Espeak = DefaultEspeak
	}
	if o.FFmpeg == "" {
		o.FFmpeg = DefaultFFmpeg
	}
	if o.Timeout <= 0 {
		o.Timeout = DefaultTimeout
	}
	return &Library{opts: o, entries: make(map[string]*entry), seen: make(map[string]seenFile)}
}

// CacheDir returns the directory the Library caches prepared prompts in.
func (l *Library) CacheDir() string { return l.opts.CacheDir }

// CheckSpeech reports whether speech can be rendered, that is whether the
// espeak-ng program is found. The error matches ErrMissingTool and says what
// to install. Meant for validating a configuration at load and reload.
func (l *Library) CheckSpeech() error {
	_, err := l.lookEspeak()
	return err
}

// CheckFile is a static check of an audio file for configuration validation,
// without converting it: the file exists and is a regular file, its extension
// is allowed, it is at most MaxFileSize, and, if playing it needs ffmpeg (a
// format Go does not decode, or a WAV or MP3 file Go fails to decode), ffmpeg
// is found. Errors name the file and wrap ErrFormat, ErrTooLarge or
// ErrMissingTool where those apply.
func (l *Library) CheckFile(path string) error {
	ext, _, real, err := l.statFile(path)
	if err != nil {
		return err
	}
	reason := "" // why ffmpeg is needed; "" when it is not
	switch ext {
	case ".vox":
	case ".wav", ".mp3":
		data, err := readFile(path, real)
		if err != nil {
			return err
		}
		if _, err := decodeGo(ext, data); err != nil {
			reason = err.Error()
		}
	default:
		reason = ext + " files are converted with ffmpeg"
	}
	if reason == "" {
		return nil
	}
	if _, err := l.lookFFmpeg(); err != nil {
		return fmt.Errorf("%s: %s; %w", path, reason, err)
	}
	return nil
}

func (l *Library) lookEspeak() (string, error) {
	return lookTool(l.opts.Espeak, "espeak-ng", "espeak-ng")
}

func (l *Library) lookFFmpeg() (string, error) {
	return lookTool(l.opts.FFmpeg, "ffmpeg", "ffmpeg")
}

func lookTool(path, program, pkg string) (string, error) {
	p, err := exec.LookPath(path)
	if err != nil {
		return "", &MissingToolError{Program: program, Package: pkg, Path: path, Err: err}
	}
	return p, nil
}

// load returns the clip for key, calling prepare to make it unless it is
// already prepared or being prepared by another caller, in which case it
// waits for that (or for ctx). A failed preparation is not remembered: the
// next call tries again. If the caller that was preparing gave up because of
// its own context, a waiter whose context is still live takes over.
func (l *Library) load(ctx context.Context, key string, prepare func(context.Context) (*audio.Clip, error)) (*audio.Clip, error) {
	for {
		l.mu.Lock()
		e, ok := l.entries[key]
		if !ok {
			e = &entry{done: make(chan struct{})}
			l.entries[key] = e
			l.mu.Unlock()
			l.prepare(ctx, key, e, prepare)
			return e.clip, e.err
		}
		l.mu.Unlock()
		select {
		case <-e.done:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
		if e.err == nil {
			return e.clip, nil
		}
		if e.abandoned && ctx.Err() == nil {
			continue
		}
		return nil, e.err
	}
}

func (l *Library) prepare(ctx context.Context, key string, e *entry, prepare func(context.Context) (*audio.Clip, error)) {
	defer func() {
		if e.err != nil || e.clip == nil {
			if e.err == nil {
				e.err = errors.New("prompt: preparation failed") // prepare panicked
			}
			l.mu.Lock()
			delete(l.entries, key)
			l.mu.Unlock()
		}
		close(e.done)
	}()
	e.clip, e.err = prepare(ctx)
	e.abandoned = e.err != nil && ctx.Err() != nil
}

// run runs program with args, bounded by ctx and Options.Timeout. On failure
// the error includes the end of the program's standard error.
func (l *Library) run(ctx context.Context, program string, args ...string) error {
	ctx, cancel := context.WithTimeout(ctx, l.opts.Timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, program, args...)
	var stderr tailBuffer
	cmd.Stdin = nil
	cmd.Stdout = &stderr
	cmd.Stderr = &stderr
	cmd.WaitDelay = 2 * time.Second
	err := cmd.Run()
	if err == nil {
		return nil
	}
	if ctxErr := ctx.Err(); ctxErr != nil {
		return fmt.Errorf("%s: %w", filepath.Base(program), ctxErr)
	}
	if msg := stderr.String(); msg != "" {
		return fmt.Errorf("%s: %v: %s", filepath.Base(program), err, msg)
	}
	return fmt.Errorf("%s: %v", filepath.Base(program), err)
}

// tailBuffer keeps the last tailSize bytes written to it.
type tailBuffer struct {
	b []byte
}

const tailSize = 2048

func (t *tailBuffer) Write(p []byte) (int, error) {
	t.b = append(t.b, p...)
	if len(t.b) > tailSize {
		t.b = append(t.b[:0], t.b[len(t.b)-tailSize:]...)
	}
	return len(p), nil
}

// String returns the kept output on one line.
func (t *tailBuffer) String() string {
	return strings.Join(strings.Fields(string(t.b)), " ")
}

// writeWAV writes c to path as a 16-bit WAV file, atomically.
func writeWAV(path string, c *audio.Clip) error {
	f, err := os.CreateTemp(filepath.Dir(path), ".tmp-*.wav")
	if err != nil {
		return fmt.Errorf("prompt store: %w", err)
	}
	defer os.Remove(f.Name()) // no-op after the rename
	err = audio.EncodeWAV(f, c)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Chmod(f.Name(), 0o644)
	}
	if err == nil {
		err = os.Rename(f.Name(), path)
	}
	if err != nil {
		return fmt.Errorf("prompt store: %w", err)
	}
	return nil
}

// loadCached decodes the cached WAV file at path. ok is false when there is
// no usable file; a damaged one is removed.
func loadCached(path string) (*audio.Clip, bool) {
	if _, err := os.Stat(path); err != nil {
		return nil, false
	}
	c, err := audio.Load(path)
	if err != nil || len(c.Samples) == 0 {
		os.Remove(path)
		return nil, false
	}
	return c, true
}

// produce makes the file path (in the cache, or an upload) by letting write
// fill a temporary file in the same directory, then decodes it and moves it
// into place, so that no reader sees a partial file. write gets the
// temporary file's name.
func (l *Library) produce(path string, write func(tmp string) error) (*audio.Clip, error) {
	if err := os.MkdirAll(l.opts.CacheDir, 0o755); err != nil {
		return nil, fmt.Errorf("prompt cache: %w", err)
	}
	f, err := os.CreateTemp(filepath.Dir(path), ".tmp-*.wav")
	if err != nil {
		return nil, fmt.Errorf("prompt cache: %w", err)
	}
	tmp := f.Name()
	f.Close()
	defer os.Remove(tmp) // no-op after the rename
	if err := write(tmp); err != nil {
		return nil, err
	}
	c, err := audio.Load(tmp)
	if err != nil {
		return nil, err
	}
	if len(c.Samples) == 0 {
		return nil, errors.New("no audio produced")
	}
	if err := os.Chmod(tmp, 0o644); err != nil {
		return nil, fmt.Errorf("prompt cache: %w", err)
	}
	if err := os.Rename(tmp, path); err != nil {
		return nil, fmt.Errorf("prompt cache: %w", err)
	}
	return c, nil
}
