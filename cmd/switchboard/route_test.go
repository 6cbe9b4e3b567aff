package main

import (
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

var updateGolden = flag.Bool("update", false, "rewrite golden files")

// TestRouteTestGolden: `switchboard route test` prints the route a call
// matches and the steps of its flow; each case is compared with its golden
// file in testdata/route (go test -run RouteTest -update rewrites them).
func TestRouteTestGolden(t *testing.T) {
	cases := []struct {
		name string
		args []string
	}{
		{"b2bua-any", []string{"-c", "../../testdata/config/b2bua.yaml", "--trunk", "carrier", "--from", "+447700900123", "--to", "+15550100"}},
		{"transcode", []string{"-c", "../../testdata/config/transcode.yaml", "--trunk", "carrier", "--to", "+15550100"}},
		{"routes-blocked", []string{"-c", "../../testdata/config/routes.yaml", "--trunk", "carrier", "--from", "+155500001", "--to", "+15550100"}},
		{"routes-support", []string{"-c", "../../testdata/config/routes.yaml", "--trunk", "carrier", "--from", "+447700900123", "--to", "+15550100"}},
		{"routes-regex", []string{"-c", "../../testdata/config/routes.yaml", "--trunk", "carrier", "--to", "+442071234567"}},
		{"routes-regex-no-match", []string{"-c", "../../testdata/config/routes.yaml", "--trunk", "carrier", "--to", "+4420712345678"}},
		{"ivr-open", []string{"-c", "../../testdata/config/ivr.yaml", "--trunk", "carrier", "--to", "+15550100"}},
		{"ivr-holiday", []string{"-c", "../../testdata/config/ivr.yaml", "--trunk", "carrier", "--to", "+15550100", "--at", "2026-12-25T10:00:00Z"}},
		{"waiting-support", []string{"-c", "../../testdata/config/waiting.yaml", "--trunk", "carrier", "--to", "+15550100"}},
		{"waiting-closed", []string{"-c", "../../testdata/config/waiting.yaml", "--trunk", "carrier", "--to", "+15550199"}},
		{"routes-sales-open", []string{"-c", "../../testdata/config/routes.yaml", "--trunk", "carrier", "--from", "+447700900123", "--to", "+15550200"}},
		{"routes-sales-closed", []string{"-c", "../../testdata/config/routes.yaml", "--trunk", "carrier", "--to", "+15550200", "--at", "2026-11-22T10:00:00Z"}},
		{"demo-support", []string{"-c", "../../testdata/config/demo.yaml", "--trunk", "local", "--from", "+15557770", "--to", "+15550100"}},
		{"routes-by-trunk", []string{"-c", "../../testdata/config/routes.yaml", "--trunk", "pbx", "--from", "2001", "--to", "+33123456789"}},
		// The SIP edge's inbound.numbers check comes first: a number the
		// trunk serves is routed; one it does not is refused with 404 even
		// though a route (london) would match it.
		{"routes-did-served", []string{"-c", "../../testdata/config/routes.yaml", "--trunk", "did", "--from", "+447700900123", "--to", "+15550200"}},
		{"routes-did-not-served", []string{"-c", "../../testdata/config/routes.yaml", "--trunk", "did", "--from", "+447700900123", "--to", "+442071234567"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			args := append([]string{"route", "test", "--at", "2026-11-23T10:00:00Z"}, tc.args...) // a later --at wins
			stdout, stderr, err := runCLI(t, args...)
			if err != nil {
				t.Fatalf("route test: %v\n%s", err, stderr)
			}
			path := filepath.Join("../../testdata/route", tc.name+".golden")
			if *updateGolden {
				if err := os.WriteFile(path, []byte(stdout), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			if stdout != string(want) {
				t.Errorf("route test printed:\n%s\nwant (%s):\n%s", stdout, path, want)
			}
		})
	}
}

// TestRouteTestBadInput: a broken config lists its problems; an unknown
// trunk or a bad time is refused with a message naming it.
func TestRouteTestBadInput(t *testing.T) {
	_, stderr, err := runCLI(t, "route", "test", "-c", "../../testdata/config/invalid/many-mistakes.yaml", "--trunk", "carrier", "--to", "1")
	if err == nil || !strings.Contains(stderr, "many-mistakes.yaml:") {
		t.Errorf("broken config: err %v, stderr %q", err, stderr)
	}
	_, _, err = runCLI(t, "route", "test", "-c", "../../testdata/config/b2bua.yaml", "--trunk", "far-end", "--to", "1")
	if err == nil || !strings.Contains(err.Error(), `--trunk "far-end"`) {
		t.Errorf("outbound-only trunk: %v", err)
	}
	_, _, err = runCLI(t, "route", "test", "-c", "../../testdata/config/b2bua.yaml", "--trunk", "carrier", "--to", "1", "--at", "tomorrow")
	if err == nil || !strings.Contains(err.Error(), `--at "tomorrow"`) {
		t.Errorf("bad --at: %v", err)
	}
}
