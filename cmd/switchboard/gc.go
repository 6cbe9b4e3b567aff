package main

import (
	"bufio"
	"log/slog"
	"os"
	"runtime/debug"
	"strconv"
	"strings"
)

// gcPercent is the switch's GOGC. Signalling allocates many short-lived
// messages: at Go's default of 100 the collector ran so often that p99
// INVITE→200 passed 500 ms at 1,000 CPS on a 2-core machine; at 400 the same
// run held 1,000 CPS with p99 20 ms (make loadtest, see the README's load
// figures). The live heap of a switch is small (tens of MB), so the price
// is a few times that in RSS, and the memory limit below bounds it.
const gcPercent = 400

// tuneGC sets the collector for a switch unless the operator set GOGC or
// GOMEMLIMIT: gcPercent, and a soft memory limit of half the memory the
// process may use (its cgroup's memory.max, else the machine's), so that a
// heap growing towards it is collected harder instead of growing at 400 %.
// It logs what it set.
func tuneGC(log *slog.Logger, getenv func(string) string) {
	attrs := []any{}
	if getenv("GOGC") == "" {
		debug.SetGCPercent(gcPercent)
		attrs = append(attrs, "gc_percent", gcPercent)
	}
	if getenv("GOMEMLIMIT") == "" {
		if total := memoryAvailable(); total > 0 {
			debug.SetMemoryLimit(total / 2)
			attrs = append(attrs, "memory_limit_mb", total/2>>20)
		}
	}
	if len(attrs) > 0 {
		log.Info("garbage collector tuned (GOGC and GOMEMLIMIT override)", attrs...)
	}
}

// memoryAvailable is the cgroup v2 memory limit when one is set, else the
// machine's MemTotal; 0 when neither can be read.
func memoryAvailable() int64 {
	if b, err := os.ReadFile("/sys/fs/cgroup/memory.max"); err == nil {
		if n, err := strconv.ParseInt(strings.TrimSpace(string(b)), 10, 64); err == nil && n > 0 {
			return n
		}
	}
	f, err := os.Open("/proc/meminfo")
	if err != nil {
		return 0
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if rest, ok := strings.CutPrefix(sc.Text(), "MemTotal:"); ok {
			kb, err := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(rest), "kB")), 10, 64)
			if err != nil {
				return 0
			}
			return kb << 10
		}
	}
	return 0
}
