package main

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// runMainEnv makes the test binary run main() with its arguments instead of
// the tests, so a test can run the real command and see its exit code.
const runMainEnv = "SWITCHBOARD_TEST_RUN_MAIN"

func TestMain(m *testing.M) {
	if os.Getenv(runMainEnv) == "1" {
		main() // exits
	}
	os.Exit(m.Run())
}

// runMain runs the switchboard command (this test binary running main())
// with args and returns what it printed and its exit code.
func runMain(t *testing.T, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	cmd := exec.Command(os.Args[0], args...)
	cmd.Env = append(os.Environ(), runMainEnv+"=1")
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	done := make(chan error, 1)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { done <- cmd.Wait() }()
	var err error
	select {
	case err = <-done:
	case <-time.After(30 * time.Second):
		_ = cmd.Process.Kill()
		t.Fatalf("switchboard %s did not exit", strings.Join(args, " "))
	}
	var exit *exec.ExitError
	switch {
	case err == nil:
	case errors.As(err, &exit):
		code = exit.ExitCode()
	default:
		t.Fatal(err)
	}
	return out.String(), errb.String(), code
}

// TestCLIErrorsGolden runs the real command (main, so its exit code too)
// with command lines a newcomer gets wrong, and compares what it prints and
// its exit code with testdata/cli/NAME.golden (-update rewrites them): one
// line naming the problem and a hint to --help with exit 2 for a usage
// error, one line with exit 1 for a failure, nothing more.
func TestCLIErrorsGolden(t *testing.T) {
	const routes = "../../testdata/config/routes.yaml"
	cases := []struct {
		name string
		args []string
		code int
	}{
		{"unknown-command", []string{"servee"}, exitUsage},
		{"unknown-subcommand", []string{"route", "tset"}, exitUsage},
		{"unknown-flag", []string{"serve", "--bogus"}, exitUsage},
		{"unexpected-argument", []string{"serve", "extra"}, exitUsage},
		{"unexpected-arguments", []string{"validate", "-c", routes, "a", "b"}, exitUsage},
		{"version-flag", []string{"--version"}, 0},
		{"version", []string{"version"}, 0},
		{"route-test-no-trunk", []string{"route", "test", "-c", routes, "--to", "+15550100"}, exitUsage},
		{"route-test-no-to", []string{"route", "test", "-c", routes, "--trunk", "carrier"}, exitUsage},
		{"route-test-no-flags", []string{"route", "test", "-c", routes}, exitUsage},
		{"route-test-unknown-trunk", []string{"route", "test", "-c", routes, "--trunk", "carier", "--to", "+15550100"}, exitUsage},
		{"route-test-outbound-trunk", []string{"route", "test", "-c", routes, "--trunk", "far-end", "--to", "+15550100"}, exitUsage},
		{"route-test-bad-at", []string{"route", "test", "-c", routes, "--trunk", "carrier", "--to", "+15550100", "--at", "monday 9am"}, exitUsage},
		{"agentsim-no-flags", []string{"agentsim"}, exitUsage},
		{"agentsim-agents-no-key", []string{"agentsim", "--agents", "2"}, exitUsage},
		{"agentsim-bad-agent", []string{"agentsim", "--agent", "bob"}, exitUsage},
		{"agentsim-bad-number", []string{"agentsim", "--agents", "two"}, exitUsage},
		{"reload-nothing-listening", []string{"reload", "--http", "127.0.0.1:1"}, exitFailure},
		{"serve-no-config", []string{"serve", "-c", "../../testdata/config/missing.yaml"}, exitFailure},
		{"validate-problems", []string{"validate", "-c", "../../testdata/config/invalid/many-mistakes.yaml"}, exitFailure},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			stdout, stderr, code := runMain(t, tc.args...)
			if code != tc.code {
				t.Errorf("exit code %d, want %d", code, tc.code)
			}
			got := transcript(tc.args, stdout, stderr, code)
			path := filepath.Join("../../testdata/cli", tc.name+".golden")
			if *updateGolden {
				if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			if got != string(want) {
				t.Errorf("got:\n%s\nwant (%s):\n%s", got, path, want)
			}
			if tc.code == exitUsage && !strings.HasSuffix(stderr, " --help' for usage.\n") {
				t.Errorf("a usage error without the hint to --help:\n%s", stderr)
			}
			if tc.code != 0 && strings.Count(stderr, "\n") == 0 {
				t.Errorf("exit %d and nothing printed", code)
			}
		})
	}
}

// transcript is a command line's run as the golden files hold it.
func transcript(args []string, stdout, stderr string, code int) string {
	var b strings.Builder
	q := make([]string, len(args))
	for i, a := range args {
		q[i] = a
		if strings.ContainsAny(a, " \"'") {
			q[i] = fmt.Sprintf("%q", a)
		}
	}
	fmt.Fprintf(&b, "$ switchboard %s\n", strings.Join(q, " "))
	fmt.Fprintf(&b, "exit %d\n", code)
	if stdout != "" {
		fmt.Fprintf(&b, "-- stdout --\n%s", stdout)
	}
	if stderr != "" {
		fmt.Fprintf(&b, "-- stderr --\n%s", stderr)
	}
	return b.String()
}
