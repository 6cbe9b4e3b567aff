package config

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// FuzzLoad: any bytes as a configuration file give either a configuration
// or Problems, each placed in that file at a line it has (FILE:LINE), never
// a panic and never an error without a place. Seeded with every
// configuration in testdata/config, valid and invalid.
func FuzzLoad(f *testing.F) {
	for _, glob := range []string{"../testdata/config/*.yaml", "../testdata/config/invalid/*.yaml"} {
		files, _ := filepath.Glob(glob)
		for _, name := range files {
			b, err := os.ReadFile(name)
			if err != nil {
				f.Fatal(err)
			}
			f.Add(b)
		}
	}
	f.Add([]byte("sip:\n  max_cps: 1\n   bad: 2\n"))
	f.Add([]byte("- just\n- a list\n"))
	f.Add([]byte("http:\n  listen: ${NOPE}\nsip: &a {max_cps: 2}\nrtp: *a\n"))
	f.Add([]byte{})
	dir := f.TempDir()
	f.Fuzz(func(t *testing.T, data []byte) {
		path := filepath.Join(dir, "fuzz.yaml")
		if err := os.WriteFile(path, data, 0o600); err != nil {
			t.Fatal(err)
		}
		c, err := Load(path)
		if err == nil {
			if c == nil {
				t.Fatal("Load returned neither a configuration nor an error")
			}
			return
		}
		if c != nil {
			t.Fatalf("Load returned a configuration and %v", err)
		}
		var ps Problems
		if !errors.As(err, &ps) {
			t.Fatalf("Load error without a place: %v\n%q", err, data)
		}
		lines := yamlLines(data)
		for _, p := range ps {
			if p.File != path || p.Line < 1 || p.Line > lines {
				t.Fatalf("problem %q not placed in %s (1..%d):\n%q", p.String(), path, lines, data)
			}
			if !strings.HasPrefix(p.String(), path+":") {
				t.Fatalf("problem %q does not start with FILE:LINE", p.String())
			}
		}
	})
}

// yamlLines counts lines as YAML does: CR LF, CR and LF, NEL, LS and PS
// all end one (YAML 1.1 §5.4, which yaml.v3 follows).
func yamlLines(data []byte) int {
	s := strings.ReplaceAll(string(data), "\r\n", "\n")
	n := 1
	for _, r := range s {
		switch r {
		case '\n', '\r', 0x85, 0x2028, 0x2029:
			n++
		}
	}
	return n
}

// TestLoadSyntaxErrorsArePlaced: the YAML errors yaml.v3 gives without a
// line (on the first line; bad characters) are placed all the same (the
// first was found by FuzzLoad).
func TestLoadSyntaxErrorsArePlaced(t *testing.T) {
	for _, c := range []struct{ text, want string }{
		{`"`, "FILE:1: invalid YAML: found unexpected end of stream"},
		{"sip:\n  max_cps: 1\nhttp: \x01\n", "FILE:3: invalid YAML: control characters are not allowed"},
		{"sip:\n  max_cps: \xff\n", "FILE:2: invalid YAML: invalid leading UTF-8 octet"},
		// Found by FuzzLoad: Load never returned.
		{"http: {}\nsip: &a\n  listen: *a\n", "FILE:3: invalid YAML: alias *a refers to a node that contains it"},
	} {
		checkStrings(t, loadProblems(t, writeConfig(t, c.text)), []string{c.want})
	}
}
