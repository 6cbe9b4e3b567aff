package prompt

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

func TestSayRendersOnceAndReusesCache(t *testing.T) {
	espeak := needTool(t, "espeak-ng")
	dir := t.TempDir()
	wrapper, runs := countingWrapper(t, dir, espeak)
	cache := filepath.Join(dir, "cache")
	ctx := testCtx(t)

	lib := New(Options{CacheDir: cache, Espeak: wrapper})
	s := Speech{Text: "Press one for a callback"}
	c, err := lib.Say(ctx, s)
	if err != nil {
		t.Fatal(err)
	}
	if d := c.Duration(); d < 500*time.Millisecond || d > 10*time.Second {
		t.Errorf("duration %v, want about 1.5 s", d)
	}
	if level := rms(c); level < 300 {
		t.Errorf("RMS level %.0f, want speech (>= 300)", level)
	}
	if n := runs(); n != 1 {
		t.Fatalf("espeak-ng ran %d times, want 1", n)
	}
	path := lib.CachePath(s)
	if _, err := os.Stat(path); err != nil {
		t.Fatalf("cache file: %v", err)
	}
	if !strings.HasPrefix(filepath.Base(path), "tts-") || filepath.Dir(path) != cache {
		t.Errorf("cache path %s, want tts-<key>.wav in %s", path, cache)
	}
	// The defaults are part of the key: explicit defaults are the same entry.
	if got := lib.CachePath(Speech{Text: s.Text, Language: "en", Rate: 160}); got != path {
		t.Errorf("explicit defaults: cache path %s, want %s", got, path)
	}

	// Same Library: served from memory.
	c2, err := lib.Say(ctx, s)
	if err != nil {
		t.Fatal(err)
	}
	if c2 != c {
		t.Error("second Say returned a different clip, want the cached one")
	}
	// A new Library on the same directory (a restart): the file is reused.
	lib2 := New(Options{CacheDir: cache, Espeak: wrapper})
	c3, err := lib2.Say(ctx, Speech{Text: "Press one for a callback", Language: "en", Rate: 160})
	if err != nil {
		t.Fatal(err)
	}
	if n := runs(); n != 1 {
		t.Fatalf("espeak-ng ran %d times after cache hits, want 1", n)
	}
	if c3.Rate != c.Rate || !slices.Equal(c3.Samples, c.Samples) {
		t.Error("clip from the cache file differs from the rendered clip")
	}

	// A different rate is a different entry, rendered again, and slower
	// speech lasts longer.
	slow := Speech{Text: s.Text, Rate: 100}
	if lib.CachePath(slow) == path {
		t.Fatal("different rate, same cache path")
	}
	c4, err := lib.Say(ctx, slow)
	if err != nil {
		t.Fatal(err)
	}
	if n := runs(); n != 2 {
		t.Errorf("espeak-ng ran %d times, want 2 after a new rate", n)
	}
	if c4.Duration() <= c.Duration() {
		t.Errorf("rate 100 lasts %v, rate 160 %v: want longer", c4.Duration(), c.Duration())
	}
	// So are a different voice and language.
	for _, o := range []Speech{{Text: s.Text, Voice: "f3"}, {Text: s.Text, Language: "en-us"}, {Text: s.Text + "."}} {
		if lib.CachePath(o) == path {
			t.Errorf("%+v: same cache path as %+v", o, s)
		}
	}
	if _, err := lib.Say(ctx, Speech{Text: s.Text, Voice: "f3"}); err != nil {
		t.Errorf("voice f3: %v", err)
	}
	entries, _ := filepath.Glob(filepath.Join(cache, "*"))
	if len(entries) != 3 {
		t.Errorf("cache holds %d files (%v), want 3 (no temporary files left)", len(entries), entries)
	}
}

func TestSayTextIsNotInterpreted(t *testing.T) {
	needTool(t, "espeak-ng")
	dir := t.TempDir()
	lib := New(Options{CacheDir: filepath.Join(dir, "cache")})
	ctx := testCtx(t)
	marker := filepath.Join(dir, "pwned")
	for _, text := range []string{
		`Say "hello"; touch ` + marker + `; echo 'it''s' $(touch ` + marker + `) | cat`,
		"-s 999 --version",
		`<speak>not markup</speak> & \n \" ; ;; ' "`,
	} {
		c, err := lib.Say(ctx, Speech{Text: text})
		if err != nil {
			t.Errorf("%q: %v", text, err)
			continue
		}
		if len(c.Samples) == 0 || rms(c) < 100 {
			t.Errorf("%q: no speech (%d samples, RMS %.0f)", text, len(c.Samples), rms(c))
		}
	}
	if _, err := os.Stat(marker); err == nil {
		t.Error("text was run by a shell")
	}
}

func TestSayConcurrentRendersOnce(t *testing.T) {
	espeak := needTool(t, "espeak-ng")
	dir := t.TempDir()
	wrapper, runs := countingWrapper(t, dir, espeak)
	lib := New(Options{CacheDir: filepath.Join(dir, "cache"), Espeak: wrapper})
	ctx := testCtx(t)
	const n = 16
	var wg sync.WaitGroup
	clips := make([]any, n)
	errs := make([]error, n)
	for i := range n {
		wg.Go(func() {
			c, err := lib.Say(ctx, Speech{Text: "Your call is important to us", Rate: 180})
			clips[i], errs[i] = c, err
		})
	}
	wg.Wait()
	for i := range n {
		if errs[i] != nil {
			t.Fatalf("Say %d: %v", i, errs[i])
		}
		if clips[i] != clips[0] {
			t.Errorf("Say %d returned a different clip", i)
		}
	}
	if got := runs(); got != 1 {
		t.Errorf("espeak-ng ran %d times for %d concurrent requests, want 1", got, n)
	}
}

func TestSayMissingEspeak(t *testing.T) {
	lib := New(Options{CacheDir: t.TempDir(), Espeak: "/nonexistent/espeak-ng"})
	for name, err := range map[string]error{
		"CheckSpeech": lib.CheckSpeech(),
		"Say": func() error {
			_, err := lib.Say(context.Background(), Speech{Text: "hello"})
			return err
		}(),
	} {
		if !errors.Is(err, ErrMissingTool) {
			t.Errorf("%s: %v, want ErrMissingTool", name, err)
		}
		wantErr(t, err, "espeak-ng is not installed", "apt-get install espeak-ng")
		var mt *MissingToolError
		if !errors.As(err, &mt) || mt.Program != "espeak-ng" {
			t.Errorf("%s: %v, want a *MissingToolError for espeak-ng", name, err)
		}
	}
	// Under the default name the message is exactly the install hint.
	err := (&MissingToolError{Program: "espeak-ng", Package: "espeak-ng", Path: "espeak-ng"}).Error()
	if want := "espeak-ng is not installed (apt-get install espeak-ng)"; err != want {
		t.Errorf("message %q, want %q", err, want)
	}
}

func TestCheckSpeechFound(t *testing.T) {
	needTool(t, "espeak-ng")
	if err := New(Options{}).CheckSpeech(); err != nil {
		t.Errorf("CheckSpeech: %v", err)
	}
}

func TestSpeechValidate(t *testing.T) {
	lib := New(Options{CacheDir: t.TempDir(), Espeak: "/nonexistent/espeak-ng"})
	for _, tc := range []struct {
		s    Speech
		want string
	}{
		{Speech{}, "empty text"},
		{Speech{Text: "  \n"}, "empty text"},
		{Speech{Text: strings.Repeat("a", MaxTextLength+1)}, "too long"},
		{Speech{Text: "a\x00b"}, "NUL"},
		{Speech{Text: "a\xffb"}, "UTF-8"},
		{Speech{Text: "hi", Language: "en; rm -rf"}, `invalid language "en; rm -rf"`},
		{Speech{Text: "hi", Language: "-x"}, "invalid language"},
		{Speech{Text: "hi", Voice: "f3+m1"}, "invalid voice"},
		{Speech{Text: "hi", Rate: 20}, "rate 20"},
		{Speech{Text: "hi", Rate: 1000}, "rate 1000"},
		{Speech{Text: "hi", Rate: -5}, "rate -5"},
	} {
		if err := tc.s.Validate(); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("Validate(%+.40v) = %v, want %q", tc.s, err, tc.want)
		}
		// Say validates before looking for espeak-ng.
		if _, err := lib.Say(context.Background(), tc.s); err == nil || errors.Is(err, ErrMissingTool) {
			t.Errorf("Say(%+.40v) = %v, want a validation error", tc.s, err)
		}
	}
	for _, s := range []Speech{
		{Text: "hi"},
		{Text: "hi", Language: "en-us", Voice: "f3", Rate: MinRate},
		{Text: "hi", Language: "de", Rate: MaxRate},
	} {
		if err := s.Validate(); err != nil {
			t.Errorf("Validate(%+v): %v", s, err)
		}
	}
}

func TestSayUnknownLanguage(t *testing.T) {
	needTool(t, "espeak-ng")
	dir := t.TempDir()
	lib := New(Options{CacheDir: dir})
	_, err := lib.Say(testCtx(t), Speech{Text: "hello", Language: "zz-nonexistent"})
	wantErr(t, err, `"hello"`, `"zz-nonexistent"`, "espeak-ng")
	if entries, _ := os.ReadDir(dir); len(entries) != 0 {
		t.Errorf("cache holds %d files after a failure, want none", len(entries))
	}
}

func TestSayBoundedByContext(t *testing.T) {
	dir := t.TempDir()
	slow := slowProgram(t)
	lib := New(Options{CacheDir: filepath.Join(dir, "cache"), Espeak: slow})
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, err := lib.Say(ctx, Speech{Text: "hello"})
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("Say: %v, want context.DeadlineExceeded", err)
	}
	if d := time.Since(start); d > 10*time.Second {
		t.Errorf("Say took %v after its context ended", d)
	}
	// Options.Timeout bounds a run as well.
	lib = New(Options{CacheDir: filepath.Join(dir, "cache"), Espeak: slow, Timeout: 200 * time.Millisecond})
	if _, err := lib.Say(context.Background(), Speech{Text: "hello"}); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("Say with Timeout: %v, want context.DeadlineExceeded", err)
	}

	// A failure is not cached: with a working espeak-ng the next call works.
	espeak := needTool(t, "espeak-ng")
	lib.opts.Espeak = espeak
	lib.opts.Timeout = DefaultTimeout
	if _, err := lib.Say(testCtx(t), Speech{Text: "hello"}); err != nil {
		t.Errorf("Say after a failure: %v", err)
	}
}
