package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/switchboard-voice/switchboard/config"
)

// TestLogDurationsInSeconds: the node's logger writes every duration in
// seconds under a key ending in _s, in JSON and in text, nested groups too.
func TestLogDurationsInSeconds(t *testing.T) {
	for _, format := range []string{"json", "text"} {
		path := filepath.Join(t.TempDir(), "log")
		f, err := os.Create(path)
		if err != nil {
			t.Fatal(err)
		}
		log := newLogger(config.Log{Level: "info", Format: format}, f)
		log.Info("draining", "timeout", 30*time.Second, "waited", 1500*time.Millisecond, "hold_s", 2*time.Second)
		log.WithGroup("call").Info("ended", "duration", 250*time.Millisecond)
		f.Close()
		b, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		lines := strings.Split(strings.TrimSpace(string(b)), "\n")
		if len(lines) != 2 {
			t.Fatalf("%s: %d lines:\n%s", format, len(lines), b)
		}
		if format == "text" {
			for _, want := range []string{"timeout_s=30 ", "waited_s=1.5 ", "hold_s=2\n", "call.duration_s=0.25"} {
				if !strings.Contains(string(b), want) {
					t.Errorf("text log lacks %q:\n%s", want, b)
				}
			}
			continue
		}
		var first map[string]any
		if err := json.Unmarshal([]byte(lines[0]), &first); err != nil {
			t.Fatal(err)
		}
		want := map[string]float64{"timeout_s": 30, "waited_s": 1.5, "hold_s": 2}
		for k, v := range want {
			if first[k] != v {
				t.Errorf("%s = %v, want %v (%s)", k, first[k], v, lines[0])
			}
		}
		for _, k := range []string{"timeout", "waited", "hold_s_s"} {
			if _, ok := first[k]; ok {
				t.Errorf("key %q still logged: %s", k, lines[0])
			}
		}
		var second struct {
			Call map[string]any `json:"call"`
		}
		if err := json.Unmarshal([]byte(lines[1]), &second); err != nil {
			t.Fatal(err)
		}
		if second.Call["duration_s"] != 0.25 {
			t.Errorf("nested duration: %s", lines[1])
		}
	}
}
