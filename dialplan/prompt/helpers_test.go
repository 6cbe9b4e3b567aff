package prompt

import (
	"bytes"
	"context"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/switchboard-voice/switchboard/media/audio"
	"github.com/switchboard-voice/switchboard/media/tone"
)

// TestMain lets the test binary stand in for a program that hangs: run with
// PROMPT_TEST_HANG=1 in its environment it sleeps for a minute.
func TestMain(m *testing.M) {
	if os.Getenv("PROMPT_TEST_HANG") == "1" {
		time.Sleep(time.Minute)
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// slowProgram returns a program that hangs when run by the Library (the
// test binary itself, see TestMain). The test must not run in parallel.
func slowProgram(t *testing.T) string {
	t.Helper()
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	t.Setenv("PROMPT_TEST_HANG", "1")
	return exe
}

// needTool returns the path of program. When it is missing the test fails
// under CI (CI=true), where the tools must be installed, and is skipped
// otherwise.
func needTool(t *testing.T, program string) string {
	t.Helper()
	p, err := exec.LookPath(program)
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("%s is required under CI=true: %v (apt-get install %s)", program, err, program)
		}
		t.Skipf("%s not installed (apt-get install %s): %v", program, program, err)
	}
	return p
}

// testCtx returns a context that bounds one test.
func testCtx(t *testing.T) context.Context {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// countingWrapper writes a shell script into dir that records each run in a
// file and then executes real with the same arguments. It returns the
// script's path and a function reporting the number of runs so far.
func countingWrapper(t *testing.T, dir, real string) (string, func() int) {
	t.Helper()
	counts := filepath.Join(dir, "runs")
	script := filepath.Join(dir, "wrap-"+filepath.Base(real))
	body := "#!/bin/sh\necho run >> '" + counts + "'\nexec '" + real + "' \"$@\"\n"
	if err := os.WriteFile(script, []byte(body), 0o755); err != nil {
		t.Fatal(err)
	}
	return script, func() int {
		b, err := os.ReadFile(counts)
		if os.IsNotExist(err) {
			return 0
		}
		if err != nil {
			t.Fatal(err)
		}
		return bytes.Count(b, []byte("run\n"))
	}
}

// rms returns the RMS level of the clip in int16 units.
func rms(c *audio.Clip) float64 {
	if len(c.Samples) == 0 {
		return 0
	}
	var e float64
	for _, s := range c.Samples {
		e += float64(s) * float64(s)
	}
	return math.Sqrt(e / float64(len(c.Samples)))
}

// hasTone reports whether the middle of the clip holds a tone at hz, with
// the tone detector over a window of 400 ms or half the clip if shorter.
func hasTone(t *testing.T, c *audio.Clip, hz float64) bool {
	t.Helper()
	window := min(400*time.Millisecond, c.Duration()/2)
	if window < 100*time.Millisecond {
		t.Fatalf("clip too short for tone detection: %d samples at %d Hz", len(c.Samples), c.Rate)
	}
	n := int(int64(c.Rate) * int64(window) / int64(time.Second))
	d := tone.NewDetector(c.Rate, window)
	mid := len(c.Samples) / 2
	d.Write(c.Samples[mid-n/2 : mid+n/2])
	return d.Present(hz)
}

// toneFile returns the path of a reference tone in testdata/audio.
func toneFile(hz string) string {
	return filepath.Join("..", "..", "testdata", "audio", "tone-"+hz+".wav")
}

// ffmpegMake converts in to out with ffmpeg and extra output options.
func ffmpegMake(t *testing.T, ffmpeg, in, out string, opts ...string) {
	t.Helper()
	args := append([]string{"-nostdin", "-hide_banner", "-loglevel", "error", "-y", "-i", in}, opts...)
	args = append(args, out)
	cmd := exec.Command(ffmpeg, args...)
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("ffmpeg %s: %v: %s", strings.Join(args, " "), err, b)
	}
}

// wantErr checks that err is non-nil and its message contains each of subs.
func wantErr(t *testing.T, err error, subs ...string) {
	t.Helper()
	if err == nil {
		t.Fatalf("got no error, want one containing %q", subs)
	}
	for _, s := range subs {
		if !strings.Contains(err.Error(), s) {
			t.Errorf("error %q does not contain %q", err, s)
		}
	}
}
