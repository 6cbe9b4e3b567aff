package prompt

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"io/fs"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/switchboard-voice/switchboard/media/audio"
	"github.com/switchboard-voice/switchboard/media/tone"
)

func TestAllowedExtensions(t *testing.T) {
	want := []string{".mp2", ".mp3", ".ircam", ".m4a", ".m4r", ".voc", ".vox", ".wav"}
	got := AllowedExtensions()
	if !slices.Equal(got, want) {
		t.Fatalf("AllowedExtensions() = %v, want %v", got, want)
	}
	got[0] = ".ogg"
	if AllowedExtensions()[0] != ".mp2" {
		t.Error("AllowedExtensions returns the package's slice, want a copy")
	}
}

func TestToneFiles(t *testing.T) {
	for _, hz := range []int{300, 500, 700, 900, 1100, 1500} {
		name := toneFile(strconv.Itoa(hz))
		c, err := audio.Load(name)
		if err != nil {
			t.Fatal(err)
		}
		if c.Rate != 8000 || len(c.Samples) != 16000 {
			t.Errorf("%s: %d samples at %d Hz, want 16000 at 8000 (2 s)", name, len(c.Samples), c.Rate)
		}
		peak := 0
		for _, s := range c.Samples {
			peak = max(peak, abs(int(s)))
		}
		if peak < 16000 || peak > 16384 {
			t.Errorf("%s: peak %d, want amplitude 0.5 (about 16384)", name, peak)
		}
		if !hasTone(t, c, float64(hz)) {
			t.Errorf("%s: no %d Hz tone", name, hz)
		}
		// A clean loop: the sample after the last one, predicted from the
		// sine recurrence s[n+1] = 2cos(w)s[n] - s[n-1], is the first one.
		s := c.Samples
		w := 2 * math.Pi * float64(hz) / float64(c.Rate)
		next := 2*math.Cos(w)*float64(s[len(s)-1]) - float64(s[len(s)-2])
		if math.Abs(next-float64(s[0])) > 4 {
			t.Errorf("%s: loops with a jump: next sample %.0f, first %d", name, next, s[0])
		}
	}
}

func abs(n int) int {
	if n < 0 {
		return -n
	}
	return n
}

func TestFileWAVAndMP3InGo(t *testing.T) {
	dir := t.TempDir()
	// No ffmpeg needed: make sure it is not used.
	lib := New(Options{CacheDir: filepath.Join(dir, "cache"), FFmpeg: "/nonexistent/ffmpeg"})
	ctx := testCtx(t)

	c, err := lib.File(ctx, toneFile("700"))
	if err != nil {
		t.Fatal(err)
	}
	if c.Rate != 8000 || len(c.Samples) != 16000 || !hasTone(t, c, 700) {
		t.Errorf("tone-700.wav: %d samples at %d Hz, want a 700 Hz tone, 16000 at 8000", len(c.Samples), c.Rate)
	}
	if again, err := lib.File(ctx, toneFile("700")); err != nil || again != c {
		t.Errorf("second File: %v, same clip %v, want the cached clip", err, again == c)
	}
	// The extension is matched in any case.
	data, err := os.ReadFile(toneFile("500"))
	if err != nil {
		t.Fatal(err)
	}
	upper := filepath.Join(dir, "PROMPT.WAV")
	if err := os.WriteFile(upper, data, 0o644); err != nil {
		t.Fatal(err)
	}
	if c, err := lib.File(ctx, upper); err != nil || !hasTone(t, c, 500) {
		t.Errorf("PROMPT.WAV: %v", err)
	}
	if err := lib.CheckFile(upper); err != nil {
		t.Errorf("CheckFile(%s): %v", upper, err)
	}

	mp3 := filepath.Join("..", "..", "media", "audio", "testdata", "tone1k.mp3")
	c, err = lib.File(ctx, mp3)
	if err != nil {
		t.Fatal(err)
	}
	if !hasTone(t, c, 1000) {
		t.Errorf("%s: no 1000 Hz tone", mp3)
	}
	if err := lib.CheckFile(mp3); err != nil {
		t.Errorf("CheckFile(%s): %v", mp3, err)
	}
	if entries, _ := os.ReadDir(filepath.Join(dir, "cache")); len(entries) != 0 {
		t.Errorf("cache holds %d files, want none for files decoded in Go", len(entries))
	}
}

func TestFileConvertedWithFFmpeg(t *testing.T) {
	ffmpeg := needTool(t, "ffmpeg")
	dir := t.TempDir()
	wrapper, runs := countingWrapper(t, dir, ffmpeg)
	cache := filepath.Join(dir, "cache")
	lib := New(Options{CacheDir: cache, FFmpeg: wrapper})
	ctx := testCtx(t)
	src := toneFile("1100")

	for i, tc := range []struct {
		name string
		opts []string
	}{
		{"tone.m4a", nil},
		{"tone.M4R", []string{"-f", "ipod", "-ar", "16000"}}, // not the same bytes as tone.m4a
		{"tone.mp2", []string{"-ar", "16000"}},
		{"tone.voc", nil},
		{"tone.ircam", nil},
		{"tone-8bit.wav", []string{"-c:a", "pcm_u8"}},
		{"tone-ulaw.wav", []string{"-c:a", "pcm_mulaw"}},
		{"tone-float.wav", []string{"-c:a", "pcm_f32le"}},
		{"tone-6k.wav", []string{"-ar", "6000"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(dir, tc.name)
			ffmpegMake(t, ffmpeg, src, path, tc.opts...)
			if err := lib.CheckFile(path); err != nil {
				t.Errorf("CheckFile: %v", err)
			}
			c, err := lib.File(ctx, path)
			if err != nil {
				t.Fatal(err)
			}
			if c.Rate != 16000 {
				t.Errorf("rate %d, want 16000 from ffmpeg", c.Rate)
			}
			if d := c.Duration().Seconds(); d < 1.9 || d > 2.2 {
				t.Errorf("duration %.2f s, want about 2", d)
			}
			if !hasTone(t, c, 1100) {
				t.Error("no 1100 Hz tone after conversion")
			}
			if n := runs(); n != i+1 {
				t.Errorf("ffmpeg ran %d times, want %d", n, i+1)
			}
			// A new Library (a restart) reuses the converted file.
			c2, err := New(Options{CacheDir: cache, FFmpeg: wrapper}).File(ctx, path)
			if err != nil {
				t.Fatal(err)
			}
			if n := runs(); n != i+1 {
				t.Errorf("ffmpeg ran again for a cached conversion (%d runs)", n)
			}
			if !slices.Equal(c2.Samples, c.Samples) {
				t.Error("cached conversion differs")
			}
		})
	}
}

func TestFileConcurrentConvertsOnce(t *testing.T) {
	ffmpeg := needTool(t, "ffmpeg")
	dir := t.TempDir()
	path := filepath.Join(dir, "hold.m4a")
	ffmpegMake(t, ffmpeg, toneFile("900"), path)
	wrapper, runs := countingWrapper(t, dir, ffmpeg)
	lib := New(Options{CacheDir: filepath.Join(dir, "cache"), FFmpeg: wrapper})
	ctx := testCtx(t)
	var wg sync.WaitGroup
	errs := make([]error, 8)
	clips := make([]*audio.Clip, 8)
	for i := range errs {
		wg.Go(func() { clips[i], errs[i] = lib.File(ctx, path) })
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Fatalf("File %d: %v", i, err)
		}
		if clips[i] != clips[0] {
			t.Errorf("File %d returned a different clip", i)
		}
	}
	if n := runs(); n != 1 {
		t.Errorf("ffmpeg ran %d times, want 1", n)
	}
}

func TestFileVOX(t *testing.T) {
	dir := t.TempDir()
	samples := make([]int16, 16000)
	tone.NewGenerator(8000, 1500, 0.5).Fill(samples)
	path := filepath.Join(dir, "menu.vox")
	if err := os.WriteFile(path, EncodeVOX(samples), 0o644); err != nil {
		t.Fatal(err)
	}
	lib := New(Options{CacheDir: filepath.Join(dir, "cache"), FFmpeg: "/nonexistent/ffmpeg"})
	if err := lib.CheckFile(path); err != nil {
		t.Errorf("CheckFile: %v (VOX needs no ffmpeg)", err)
	}
	c, err := lib.File(testCtx(t), path)
	if err != nil {
		t.Fatal(err)
	}
	if c.Rate != VOXRate || len(c.Samples) != len(samples) {
		t.Errorf("%d samples at %d Hz, want %d at %d", len(c.Samples), c.Rate, len(samples), VOXRate)
	}
	if !hasTone(t, c, 1500) {
		t.Error("no 1500 Hz tone in the decoded VOX file")
	}
	empty := filepath.Join(dir, "empty.vox")
	if err := os.WriteFile(empty, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	_, err = lib.File(testCtx(t), empty)
	if !errors.Is(err, ErrFormat) {
		t.Errorf("empty VOX: %v, want ErrFormat", err)
	}
	wantErr(t, err, empty)
}

// TestDecodeVOXMatchesFFmpeg compares DecodeVOX with ffmpeg's adpcm_ima_oki
// decoder on random data, wrapped in a WAV file of format tag 0x0017
// (Dialogic OKI ADPCM) for ffmpeg.
func TestDecodeVOXMatchesFFmpeg(t *testing.T) {
	ffmpeg := needTool(t, "ffmpeg")
	dir := t.TempDir()
	data := make([]byte, 4000)
	x := uint32(1)
	for i := range data {
		x = x*1664525 + 1013904223
		data[i] = byte(x >> 24)
	}
	// Ramps up and down so that the predictor also reaches its limits.
	for i := 1000; i < 1500; i++ {
		data[i] = 0x77
	}
	for i := 1500; i < 2000; i++ {
		data[i] = 0xff
	}
	var wav bytes.Buffer
	fmtChunk := binary.LittleEndian.AppendUint16(nil, 0x0017)
	fmtChunk = binary.LittleEndian.AppendUint16(fmtChunk, 1)
	fmtChunk = binary.LittleEndian.AppendUint32(fmtChunk, 8000)
	fmtChunk = binary.LittleEndian.AppendUint32(fmtChunk, 4000)
	fmtChunk = binary.LittleEndian.AppendUint16(fmtChunk, 1)
	fmtChunk = binary.LittleEndian.AppendUint16(fmtChunk, 4)
	wav.WriteString("RIFF")
	wav.Write(binary.LittleEndian.AppendUint32(nil, uint32(4+8+len(fmtChunk)+8+len(data))))
	wav.WriteString("WAVEfmt ")
	wav.Write(binary.LittleEndian.AppendUint32(nil, uint32(len(fmtChunk))))
	wav.Write(fmtChunk)
	wav.WriteString("data")
	wav.Write(binary.LittleEndian.AppendUint32(nil, uint32(len(data))))
	wav.Write(data)
	in := filepath.Join(dir, "oki.wav")
	if err := os.WriteFile(in, wav.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(ffmpeg, "-nostdin", "-hide_banner", "-loglevel", "error", "-i", in, "-f", "s16le", "-").Output()
	if err != nil {
		t.Fatalf("ffmpeg: %v", err)
	}
	want := make([]int16, len(out)/2)
	for i := range want {
		want[i] = int16(binary.LittleEndian.Uint16(out[2*i:]))
	}
	got := DecodeVOX(data, 8000).Samples
	if len(got) != len(want) {
		t.Fatalf("%d samples, ffmpeg %d", len(got), len(want))
	}
	for i := range got {
		if got[i] != want[i] {
			t.Fatalf("sample %d: %d, ffmpeg %d", i, got[i], want[i])
		}
	}
}

func TestFileErrors(t *testing.T) {
	dir := t.TempDir()
	lib := New(Options{CacheDir: filepath.Join(dir, "cache")})
	ctx := testCtx(t)
	write := func(name string, size int64) string {
		t.Helper()
		p := filepath.Join(dir, name)
		f, err := os.Create(p)
		if err != nil {
			t.Fatal(err)
		}
		if err := f.Truncate(size); err != nil {
			t.Fatal(err)
		}
		f.Close()
		return p
	}

	check := func(path string, target error, subs ...string) {
		t.Helper()
		_, err := lib.File(ctx, path)
		if target != nil && !errors.Is(err, target) {
			t.Errorf("File(%s) = %v, want %v", path, err, target)
		}
		wantErr(t, err, append([]string{path + ": "}, subs...)...)
		err = lib.CheckFile(path)
		if target != nil && !errors.Is(err, target) {
			t.Errorf("CheckFile(%s) = %v, want %v", path, err, target)
		}
		wantErr(t, err, append([]string{path + ": "}, subs...)...)
	}

	big := write("big.wav", 5<<20)
	check(big, ErrTooLarge, "too large", "5242880 bytes", "4 MB")
	ok := write("limit.vox", MaxFileSize) // exactly 4 MB is allowed
	if err := lib.CheckFile(ok); err != nil {
		t.Errorf("CheckFile of a 4 MB file: %v", err)
	}

	ogg := write("prompt.ogg", 1000)
	check(ogg, ErrFormat, `unsupported audio format ".ogg"`, ".mp2 .mp3 .ircam .m4a .m4r .voc .vox .wav")
	check(write("prompt", 1000), ErrFormat, "no file name extension")
	check(write("prompt.wav.txt", 1000), ErrFormat, `".txt"`)

	missing := filepath.Join(dir, "missing.wav")
	check(missing, fs.ErrNotExist, "not found")

	if err := os.Mkdir(filepath.Join(dir, "dir.wav"), 0o755); err != nil {
		t.Fatal(err)
	}
	check(filepath.Join(dir, "dir.wav"), ErrNotFound, "audio file not found in the prompt directories")
}

func TestFileMissingFFmpeg(t *testing.T) {
	dir := t.TempDir()
	lib := New(Options{CacheDir: filepath.Join(dir, "cache"), FFmpeg: "/nonexistent/ffmpeg"})
	ctx := testCtx(t)

	// Content does not matter: ffmpeg is looked for before it is read.
	m4a := filepath.Join(dir, "welcome.m4a")
	if err := os.WriteFile(m4a, []byte("not really m4a"), 0o644); err != nil {
		t.Fatal(err)
	}
	// A WAV of 8-bit samples needs ffmpeg too; the error says why.
	wav8 := filepath.Join(dir, "eight.wav")
	var b bytes.Buffer
	b.WriteString("RIFF")
	b.Write(binary.LittleEndian.AppendUint32(nil, 36+100))
	b.WriteString("WAVEfmt ")
	for _, v := range []any{uint32(16), uint16(1), uint16(1), uint32(8000), uint32(8000), uint16(1), uint16(8)} {
		binary.Write(&b, binary.LittleEndian, v)
	}
	b.WriteString("data")
	b.Write(binary.LittleEndian.AppendUint32(nil, 100))
	b.Write(bytes.Repeat([]byte{0x80}, 100))
	if err := os.WriteFile(wav8, b.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}

	for path, why := range map[string]string{m4a: ".m4a files are converted with ffmpeg", wav8: "8-bit samples"} {
		_, err := lib.File(ctx, path)
		if !errors.Is(err, ErrMissingTool) {
			t.Errorf("File(%s) = %v, want ErrMissingTool", path, err)
		}
		wantErr(t, err, path+": ", why, "ffmpeg is not installed", "apt-get install ffmpeg")
		err = lib.CheckFile(path)
		if !errors.Is(err, ErrMissingTool) {
			t.Errorf("CheckFile(%s) = %v, want ErrMissingTool", path, err)
		}
		wantErr(t, err, path+": ", why, "apt-get install ffmpeg")
	}
	// Files decoded in Go pass.
	if err := lib.CheckFile(toneFile("300")); err != nil {
		t.Errorf("CheckFile(tone-300.wav) without ffmpeg: %v", err)
	}
}

func TestFileUndecodable(t *testing.T) {
	needTool(t, "ffmpeg")
	dir := t.TempDir()
	lib := New(Options{CacheDir: filepath.Join(dir, "cache")})
	for _, name := range []string{"garbage.wav", "garbage.m4a", "garbage.mp3"} {
		path := filepath.Join(dir, name)
		if err := os.WriteFile(path, bytes.Repeat([]byte("garbage!"), 100), 0o644); err != nil {
			t.Fatal(err)
		}
		_, err := lib.File(testCtx(t), path)
		if !errors.Is(err, ErrFormat) {
			t.Errorf("File(%s) = %v, want ErrFormat", path, err)
		}
		wantErr(t, err, path+": ", "ffmpeg")
	}
	if entries, _ := os.ReadDir(filepath.Join(dir, "cache")); len(entries) != 0 {
		t.Errorf("cache holds %d files after failures, want none", len(entries))
	}
}

func TestFileBoundedByContext(t *testing.T) {
	dir := t.TempDir()
	slow := slowProgram(t)
	path := filepath.Join(dir, "x.voc")
	if err := os.WriteFile(path, []byte("data"), 0o644); err != nil {
		t.Fatal(err)
	}
	lib := New(Options{CacheDir: filepath.Join(dir, "cache"), FFmpeg: slow})
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := lib.File(ctx, path)
	if !errors.Is(err, context.Canceled) {
		t.Errorf("File with a cancelled context: %v, want context.Canceled", err)
	}
	wantErr(t, err, path)
}

// TestFileNotReadAgainWhileUnchanged: a file whose size and modification
// time did not change is not read again (its clip comes from memory, even
// if its bytes were swapped behind the library's back); touched, it is.
func TestFileNotReadAgainWhileUnchanged(t *testing.T) {
	dir := t.TempDir()
	lib := New(Options{CacheDir: filepath.Join(dir, "cache")})
	ctx := testCtx(t)
	path := filepath.Join(dir, "prompt.wav")
	a, _ := os.ReadFile(toneFile("500"))
	b, _ := os.ReadFile(toneFile("900")) // same size: same format and length
	if len(a) != len(b) {
		t.Fatalf("reference tones differ in size: %d, %d", len(a), len(b))
	}
	if err := os.WriteFile(path, a, 0o644); err != nil {
		t.Fatal(err)
	}
	first, err := lib.File(ctx, path)
	if err != nil || !hasTone(t, first, 500) {
		t.Fatalf("first File: %v", err)
	}
	fi, _ := os.Stat(path)
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Chtimes(path, fi.ModTime(), fi.ModTime()); err != nil {
		t.Fatal(err)
	}
	if c, err := lib.File(ctx, path); err != nil || c != first {
		t.Errorf("unchanged size and time: %v, same clip %v; want the clip from memory", err, c == first)
	}
	later := fi.ModTime().Add(time.Second)
	if err := os.Chtimes(path, later, later); err != nil {
		t.Fatal(err)
	}
	if c, err := lib.File(ctx, path); err != nil || !hasTone(t, c, 900) {
		t.Errorf("touched file: %v, want its new content (900 Hz)", err)
	}
}

// TestFileConfined: with Options.Dirs, File and CheckFile read only files
// under them. A "../" path, an absolute path elsewhere, and a symbolic link
// inside that points out are refused with the error of a missing file, word
// for word apart from the path, so the answer tells nothing of what exists.
func TestFileConfined(t *testing.T) {
	dir := t.TempDir()
	prompts := filepath.Join(dir, "prompts")
	if err := os.Mkdir(prompts, 0o755); err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(toneFile("500"))
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{filepath.Join(dir, "secret.wav"), filepath.Join(prompts, "ok.wav")} {
		if err := os.WriteFile(p, data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Symlink(filepath.Join(dir, "secret.wav"), filepath.Join(prompts, "link.wav")); err != nil {
		t.Fatal(err)
	}
	lib := New(Options{CacheDir: filepath.Join(dir, "cache"), Dirs: []string{prompts}})
	ctx := testCtx(t)
	if c, err := lib.File(ctx, filepath.Join(prompts, "ok.wav")); err != nil || !hasTone(t, c, 500) {
		t.Fatalf("a file inside the prompt directory: %v", err)
	}
	for _, p := range []string{
		filepath.Join(prompts, "..", "secret.wav"), // exists
		filepath.Join(prompts, "..", "missing.wav"),
		filepath.Join(dir, "secret.wav"),
		filepath.Join(prompts, "link.wav"),
		filepath.Join(prompts, "missing.wav"),
		"/etc/../" + filepath.Join(dir, "secret.wav"),
	} {
		want := p + ": audio file not found in the prompt directories"
		_, err := lib.File(ctx, p)
		if err == nil || err.Error() != want || !errors.Is(err, ErrNotFound) {
			t.Errorf("File(%s) = %v, want %q", p, err, want)
		}
		if err := lib.CheckFile(p); err == nil || err.Error() != want {
			t.Errorf("CheckFile(%s) = %v, want %q", p, err, want)
		}
	}
}

// TestConvertRefusesListsOfOtherFiles: an upload whose bytes are an ffmpeg
// concat list (or any demuxer outside the allowed formats) naming another
// file is refused, not played: ffmpeg runs with a format whitelist.
func TestConvertRefusesListsOfOtherFiles(t *testing.T) {
	ffmpeg := needTool(t, "ffmpeg")
	dir := t.TempDir()
	// Next to the private copy ffmpeg reads (in the cache directory), so
	// that even the concat demuxer's safe mode would follow the name.
	cache := filepath.Join(dir, "cache")
	if err := os.MkdirAll(cache, 0o755); err != nil {
		t.Fatal(err)
	}
	secret := filepath.Join(cache, "secret.m4a")
	ffmpegMake(t, ffmpeg, toneFile("700"), secret)
	lib := New(Options{CacheDir: cache, FFmpeg: ffmpeg})
	list := []byte("ffconcat version 1.0\nfile secret.m4a\n")
	for _, ext := range []string{".mp3", ".m4a", ".wav"} {
		c, err := lib.Convert(testCtx(t), "list"+ext, list, ext, filepath.Join(dir, "out"+ext+".wav"))
		if !errors.Is(err, ErrFormat) {
			t.Errorf("%s: a concat list was converted (clip %v, err %v), want ErrFormat", ext, c != nil, err)
		}
	}
	// The same file as itself still converts.
	data, err := os.ReadFile(secret)
	if err != nil {
		t.Fatal(err)
	}
	c, err := lib.Convert(testCtx(t), "tone.m4a", data, ".m4a", filepath.Join(dir, "tone.wav"))
	if err != nil || !hasTone(t, c, 700) {
		t.Fatalf("a real .m4a: %v", err)
	}
}
