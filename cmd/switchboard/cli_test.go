package main

import (
	"bytes"
	"os"
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
	for _, f := range []string{"b2bua.yaml", "loadtest.yaml", "transcode.yaml"} {
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
