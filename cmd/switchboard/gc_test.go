package main

import (
	"bytes"
	"log/slog"
	"math"
	"runtime/debug"
	"strings"
	"testing"
)

// TestTuneGC: without GOGC and GOMEMLIMIT the switch sets its own GC
// percent and a memory limit, and says so; with them it leaves both alone.
func TestTuneGC(t *testing.T) {
	oldPercent := debug.SetGCPercent(100)
	oldLimit := debug.SetMemoryLimit(math.MaxInt64)
	t.Cleanup(func() { debug.SetGCPercent(oldPercent); debug.SetMemoryLimit(oldLimit) })

	var out bytes.Buffer
	tuneGC(slog.New(slog.NewTextHandler(&out, nil)), func(string) string { return "" })
	if got := debug.SetGCPercent(100); got != gcPercent {
		t.Errorf("GC percent = %d, want %d", got, gcPercent)
	}
	limit := debug.SetMemoryLimit(math.MaxInt64)
	if total := memoryAvailable(); total > 0 && limit != total/2 {
		t.Errorf("memory limit = %d, want half of %d", limit, total)
	}
	if !strings.Contains(out.String(), "gc_percent=400") {
		t.Errorf("log %q does not say what was set", out.String())
	}

	out.Reset()
	tuneGC(slog.New(slog.NewTextHandler(&out, nil)), func(k string) string { return map[string]string{"GOGC": "50", "GOMEMLIMIT": "1GiB"}[k] })
	if got := debug.SetGCPercent(100); got != 100 {
		t.Errorf("GC percent = %d with GOGC set, want it left at 100", got)
	}
	if got := debug.SetMemoryLimit(math.MaxInt64); got != math.MaxInt64 {
		t.Errorf("memory limit = %d with GOMEMLIMIT set, want it left alone", got)
	}
	if out.Len() != 0 {
		t.Errorf("logged %q with both set", out.String())
	}
}
