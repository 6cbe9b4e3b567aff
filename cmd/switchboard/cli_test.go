package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func runCLI(t *testing.T, args ...string) (stdout, stderr string, err error) {
	t.Helper()
	cmd := rootCmd()
	var out, errb bytes.Buffer
	cmd.SetOut(&out)
	cmd.SetErr(&errb)
	cmd.SetArgs(args)
	err = cmd.Execute()
	return out.String(), errb.String(), err
}

// TestValidateListsEveryProblem: validate fails and prints every mistake as
// FILE:LINE: KEY: problem (golden file).
func TestValidateListsEveryProblem(t *testing.T) {
	const file = "../../testdata/config/invalid/many-mistakes.yaml"
	_, stderr, err := runCLI(t, "validate", "--config", file)
	if err == nil {
		t.Fatal("validate accepted a broken config")
	}
	golden, rerr := os.ReadFile("../../testdata/config/invalid/many-mistakes.golden")
	if rerr != nil {
		t.Fatal(rerr)
	}
	want := strings.ReplaceAll(string(golden), "testdata/config/invalid/many-mistakes.yaml", file)
	if stderr != want {
		t.Errorf("validate output:\n%s\nwant:\n%s", stderr, want)
	}
}

func TestValidateReferenceConfigs(t *testing.T) {
	for _, f := range []string{"b2bua.yaml", "loadtest.yaml", "transcode.yaml", "routes.yaml", "ivr.yaml", "waiting.yaml"} {
		stdout, stderr, err := runCLI(t, "validate", "--config", "../../testdata/config/"+f)
		if err != nil || !strings.HasSuffix(strings.TrimSpace(stdout), "OK") {
			t.Errorf("%s: %v\n%s%s", f, err, stdout, stderr)
		}
	}
	stdout, _, err := runCLI(t, "validate", "--config", "../../testdata/config/b2bua.yaml", "--print")
	if err != nil || !strings.Contains(stdout, "max_cps:") || !strings.Contains(stdout, "far-end") {
		t.Errorf("--print: %v\n%s", err, stdout)
	}
}

func TestVersion(t *testing.T) {
	stdout, _, err := runCLI(t, "version")
	if err != nil || !strings.HasPrefix(stdout, "switchboard ") {
		t.Fatalf("version: %q %v", stdout, err)
	}
}

// TestValidateChecksPrompts: validate refuses audio files of a format the
// switch does not play, over 4 MB, or missing, naming file, line and key.
func TestValidateChecksPrompts(t *testing.T) {
	dir := t.TempDir()
	for name, size := range map[string]int{"prompt.ogg": 100, "big.wav": 5 << 20} {
		if err := os.WriteFile(filepath.Join(dir, name), make([]byte, size), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	cfg := filepath.Join(dir, "switchboard.yaml")
	if err := os.WriteFile(cfg, []byte(`node: {name: t}
sip: {listen: ["udp://127.0.0.1:5060"]}
trunks:
  - {name: carrier, inbound: {allow: [127.0.0.1]}}
routes:
  - {match: {to: "*"}, flow: ivr}
flows:
  ivr:
    - answer: {}
    - play: {file: prompt.ogg}
    - play: {file: big.wav}
    - play: {file: missing.wav}
    - hangup: {code: 480}
`), 0o644); err != nil {
		t.Fatal(err)
	}
	_, stderr, err := runCLI(t, "validate", "--config", cfg)
	if err == nil {
		t.Fatal("validate accepted unplayable prompts")
	}
	for _, want := range []string{
		cfg + `:10: flows.ivr[1].play.file: ` + filepath.Join(dir, "prompt.ogg") + `: unsupported audio format ".ogg"`,
		cfg + `:11: flows.ivr[2].play.file: ` + filepath.Join(dir, "big.wav") + `: `,
		cfg + `:12: flows.ivr[3].play.file: ` + filepath.Join(dir, "missing.wav") + `: `,
	} {
		if !strings.Contains(stderr, want) {
			t.Errorf("validate output lacks %q:\n%s", want, stderr)
		}
	}
	if !strings.Contains(stderr, "4 MB") && !strings.Contains(stderr, "4194304") {
		t.Errorf("the size limit is not named:\n%s", stderr)
	}
}

// TestValidateConfinesPrompts: audio files named in the configuration must
// lie under prompts.dirs. A "../" path or an absolute one outside them is
// refused with file, line and key, and with the same message whether the
// file exists or not (also for a symbolic link inside that points out).
func TestValidateConfinesPrompts(t *testing.T) {
	dir := t.TempDir()
	prompts := filepath.Join(dir, "conf", "prompts")
	if err := os.MkdirAll(prompts, 0o755); err != nil {
		t.Fatal(err)
	}
	tone, err := filepath.Abs(audioDir + "tone-500.wav")
	if err != nil {
		t.Fatal(err)
	}
	wav, err := os.ReadFile(tone)
	if err != nil {
		t.Fatal(err)
	}
	// secret.wav exists outside the prompt directory, a real playable file.
	for _, p := range []string{filepath.Join(dir, "secret.wav"), filepath.Join(prompts, "ok.wav")} {
		if err := os.WriteFile(p, wav, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Symlink(filepath.Join(dir, "secret.wav"), filepath.Join(prompts, "link.wav")); err != nil {
		t.Fatal(err)
	}
	cfg := filepath.Join(dir, "conf", "switchboard.yaml")
	if err := os.WriteFile(cfg, []byte(`node: {name: t}
sip: {listen: ["udp://127.0.0.1:5060"]}
prompts: {dirs: [prompts]}
trunks:
  - {name: carrier, inbound: {allow: [127.0.0.1]}}
routes:
  - {match: {to: "*"}, flow: ivr}
flows:
  ivr:
    - play: {file: prompts/ok.wav}
    - play: {file: ../secret.wav}
    - play: {file: ../missing.wav}
    - play: {file: `+filepath.Join(dir, "secret.wav")+`}
    - play: {file: `+filepath.Join(dir, "missing.wav")+`}
    - play: {file: prompts/link.wav}
    - play: {file: prompts/../../secret.wav}
waiting_strategies:
  w:
    music: ../secret.wav
`), 0o644); err != nil {
		t.Fatal(err)
	}
	_, stderr, err := runCLI(t, "validate", "--config", cfg)
	if err == nil {
		t.Fatal("validate accepted audio files outside prompts.dirs")
	}
	// Paths are named as resolved against the configuration's directory.
	const msg = ": audio file not found in the prompt directories"
	secret, missing := filepath.Join(dir, "secret.wav"), filepath.Join(dir, "missing.wav")
	for _, want := range []string{
		cfg + `:11: flows.ivr[1].play.file: ` + secret + msg,
		cfg + `:12: flows.ivr[2].play.file: ` + missing + msg,
		cfg + `:13: flows.ivr[3].play.file: ` + secret + msg,
		cfg + `:14: flows.ivr[4].play.file: ` + missing + msg,
		cfg + `:15: flows.ivr[5].play.file: ` + filepath.Join(prompts, "link.wav") + msg,
		cfg + `:16: flows.ivr[6].play.file: ` + secret + msg,
		cfg + `:19: waiting_strategies.w.music: ` + secret + msg,
	} {
		if !strings.Contains(stderr, want) {
			t.Errorf("validate output lacks %q:\n%s", want, stderr)
		}
	}
	if strings.Contains(stderr, "ivr[0]") {
		t.Errorf("a file inside prompts.dirs was refused:\n%s", stderr)
	}
}
