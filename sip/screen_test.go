package sip

import (
	"net/netip"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/switchboard-voice/switchboard/config"
)

// TestSourceTableBanDecays: a source over its rate is banned, its requests
// refused while the ban lasts, served again once it decays, and forgotten
// when quiet; other sources keep their own budgets.
func TestSourceTableBanDecays(t *testing.T) {
	now := time.Unix(1000, 0)
	tab := newSourceTable(2, 10*time.Second)
	tab.now = func() time.Time { return now }
	a, b := netip.MustParseAddr("192.0.2.1"), netip.MustParseAddr("192.0.2.2")
	for i := range 2 {
		if v := tab.charge(a, false); v != sourcePass {
			t.Fatalf("request %d within the burst: verdict %d", i, v)
		}
	}
	if v := tab.charge(a, false); v != sourceOver {
		t.Fatalf("third request in the same instant: verdict %d, want over", v)
	}
	if v := tab.charge(b, false); v != sourcePass {
		t.Fatalf("another source: verdict %d", v)
	}
	if n := tab.banned(); n != 1 {
		t.Fatalf("banned = %d, want 1", n)
	}
	now = now.Add(9 * time.Second)
	if v := tab.charge(a, false); v != sourceBanned {
		t.Fatalf("9 s into a 10 s ban: verdict %d, want banned", v)
	}
	now = now.Add(2 * time.Second)
	if n := tab.banned(); n != 0 {
		t.Fatalf("banned after the ban = %d, want 0", n)
	}
	if v := tab.charge(a, false); v != sourcePass {
		t.Fatalf("after the ban: verdict %d, want pass", v)
	}
	// Quiet for longer than the ban and the log interval: forgotten.
	now = now.Add(2 * screenLogEvery)
	tab.mu.Lock()
	tab.sweep(now)
	left := len(tab.sources)
	tab.mu.Unlock()
	if left != 0 {
		t.Errorf("%d sources left after they decayed", left)
	}
}

// TestSourceTableLogsOncePerInterval: one log line per source per interval,
// with the count of those held back.
func TestSourceTableLogsOncePerInterval(t *testing.T) {
	now := time.Unix(1000, 0)
	tab := newSourceTable(0, 10*time.Second)
	tab.now = func() time.Time { return now }
	a := netip.MustParseAddr("192.0.2.1")
	if ok, _ := tab.shouldLog(a, true); !ok {
		t.Fatal("first line not logged")
	}
	for range 5 {
		if ok, _ := tab.shouldLog(a, true); ok {
			t.Fatal("logged twice within the interval")
		}
	}
	now = now.Add(screenLogEvery)
	ok, held := tab.shouldLog(a, true)
	if !ok || held != 5 {
		t.Fatalf("after the interval: logged %v, held back %d, want true, 5", ok, held)
	}
}

// TestStateCapDefault: sip.max_transactions wins; 0 derives a bounded cap.
func TestStateCapDefault(t *testing.T) {
	c := config.Default()
	c.SIP.MaxTransactions = 7
	if got := stateCap(c); got != 7 {
		t.Errorf("configured cap = %d, want 7", got)
	}
	c.SIP.MaxTransactions = 0
	if got := stateCap(c); got < 1024 || got > 262144 {
		t.Errorf("derived cap = %d, want within [1024, 262144]", got)
	}
}

// TestMethodLabel: a method from the wire is a metrics label only when the
// switch knows it; any other token is "other" (one series, not one each).
func TestMethodLabel(t *testing.T) {
	for in, want := range map[string]string{"INVITE": "INVITE", "ACK": "ACK", "OPTIONS": "OPTIONS",
		"NEWMETHOD": "other", "invite": "other", "XFLOOD1": "other", "": "other"} {
		if got := methodLabel(in); got != want {
			t.Errorf("methodLabel(%q) = %q, want %q", in, got, want)
		}
	}
}

// BenchmarkScreenHotPath is the screen's per-request work on the source
// table under a flood: a request charged to its source and, when refused,
// the log limiter asked; a full table of sources being flooded, and the
// banned gauge read now and then as a scrape would.
func BenchmarkScreenHotPath(b *testing.B) {
	tab := newSourceTable(5, 10*time.Second)
	srcs := make([]netip.Addr, 4096)
	for i := range srcs {
		srcs[i] = netip.AddrFrom4([4]byte{10, 0, byte(i >> 8), byte(i)})
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		src := srcs[i%len(srcs)]
		tab.admit(src, false)
		if i%4096 == 0 {
			tab.banned()
		}
	}
}

// TestSourceTableTrustedNeverBanned: a source in a trunk's allow list over
// its rate is throttled (503 per request) but never banned, so that a flood
// spoofing a carrier's address cannot lock the carrier out: as soon as its
// budget refills it is served. An unknown source at the same rate is
// banned as before.
func TestSourceTableTrustedNeverBanned(t *testing.T) {
	now := time.Unix(1000, 0)
	tab := newSourceTable(2, 10*time.Second)
	tab.now = func() time.Time { return now }
	carrier, stranger := netip.MustParseAddr("192.0.2.1"), netip.MustParseAddr("198.51.100.1")
	for i := range 2 {
		if v := tab.charge(carrier, true); v != sourcePass {
			t.Fatalf("request %d within the burst: verdict %d", i, v)
		}
	}
	for i := range 50 { // a spoofed flood in the same instant
		if v := tab.charge(carrier, true); v != sourceThrottled {
			t.Fatalf("flood request %d from a trusted source: verdict %d, want throttled", i, v)
		}
	}
	if n := tab.banned(); n != 0 {
		t.Fatalf("banned = %d after a trusted source's flood, want 0", n)
	}
	now = now.Add(500 * time.Millisecond) // one token back at 2/s
	if v := tab.charge(carrier, true); v != sourcePass {
		t.Fatalf("trusted source once its budget refilled: verdict %d, want pass", v)
	}
	for range 2 {
		tab.charge(stranger, false)
	}
	if v := tab.charge(stranger, false); v != sourceOver {
		t.Fatalf("unknown source over its rate: verdict %d, want over", v)
	}
	now = now.Add(time.Second)
	if v := tab.charge(stranger, false); v != sourceBanned {
		t.Fatalf("unknown source during its ban: verdict %d, want banned", v)
	}
	// A source banned while unknown and trusted since (a reload put it in
	// an allow list) is served.
	if v := tab.charge(stranger, true); v != sourcePass {
		t.Fatalf("banned source now trusted: verdict %d, want pass", v)
	}
	if n := tab.banned(); n != 0 {
		t.Fatalf("banned = %d once the only ban ended early, want 0", n)
	}
	// Its old ban's end passes without counting it off twice.
	now = now.Add(10 * time.Second)
	if n := tab.banned(); n != 0 {
		t.Fatalf("banned = %d after the early-ended ban's time, want 0", n)
	}
}

// TestSourceTableAdmit: admit gives the verdict and the log decision in one
// step: the refused requests of one source are logged once per interval,
// with the count held back; bans are counted on and off as they end, many
// sources at a time.
func TestSourceTableAdmit(t *testing.T) {
	now := time.Unix(1000, 0)
	tab := newSourceTable(1, 10*time.Second)
	tab.now = func() time.Time { return now }
	a := netip.MustParseAddr("192.0.2.1")
	if v, log, _ := tab.admit(a, false); v != sourcePass || log {
		t.Fatalf("first request: verdict %d, log %v; want pass, no log", v, log)
	}
	if v, log, _ := tab.admit(a, false); v != sourceOver || !log {
		t.Fatalf("over the rate: verdict %d, log %v; want over, logged", v, log)
	}
	for range 3 {
		if v, log, _ := tab.admit(a, false); v != sourceBanned || log {
			t.Fatalf("while banned: verdict %d, log %v; want banned, held back", v, log)
		}
	}
	// Many sources banned 100 ms apart: the count follows their ends.
	for i := range 20 {
		src := netip.AddrFrom4([4]byte{198, 51, 100, byte(i)})
		tab.admit(src, false)
		if v, _, _ := tab.admit(src, false); v != sourceOver {
			t.Fatalf("source %d: verdict %d, want over", i, v)
		}
		now = now.Add(100 * time.Millisecond)
	}
	if n := tab.banned(); n != 21 {
		t.Fatalf("banned = %d, want 21", n)
	}
	// Source i was banned until 1010 s + i·100 ms, a until 1010 s: at
	// 1010 s a's and source 0's bans have ended, at 1011 s those of 0..10.
	now = time.Unix(1010, 0)
	if n := tab.banned(); n != 19 {
		t.Fatalf("banned at 1010 s = %d, want 19", n)
	}
	now = time.Unix(1011, 0)
	if n := tab.banned(); n != 9 {
		t.Fatalf("banned at 1011 s = %d, want 9", n)
	}
	now = time.Unix(1030, 0)
	if n := tab.banned(); n != 0 {
		t.Fatalf("banned once every ban ended = %d, want 0", n)
	}
	if len(tab.bans)-tab.bansAt != 0 {
		t.Errorf("%d ended bans still queued", len(tab.bans)-tab.bansAt)
	}
	now = now.Add(time.Minute)
	if v, log, held := tab.admit(a, false); v != sourcePass || log || held != 0 {
		t.Fatalf("after the ban: verdict %d, log %v, held %d; want pass", v, log, held)
	}
	if _, log, held := tab.admit(a, false); !log || held != 3 {
		t.Fatalf("next refusal after the interval: log %v, held %d; want logged, 3 held back", log, held)
	}
}

// TestStateCapFollowsCgroup: a cgroup memory limit lower than the machine's
// memory sizes the derived state cap (v2 memory.max, v1
// memory.limit_in_bytes); "max", v1's unlimited value, a limit above the
// machine's and unreadable files leave the machine's memory.
func TestStateCapFollowsCgroup(t *testing.T) {
	dir := t.TempDir()
	file := func(name, content string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	meminfo := file("meminfo", "MemTotal:       16777216 kB\nMemFree:         1048576 kB\n") // 16 GiB
	const gib = uint64(1) << 30
	for _, c := range []struct {
		name    string
		cgroups []string
		want    uint64
	}{
		{"no cgroup files", []string{filepath.Join(dir, "absent")}, 16 * gib},
		{"v2 limit", []string{file("v2.max", "536870912\n")}, gib / 2},
		{"v2 max", []string{file("v2.unlimited", "max\n")}, 16 * gib},
		{"v1 limit", []string{filepath.Join(dir, "absent"), file("v1.limit", "1073741824\n")}, gib},
		{"v1 unlimited", []string{file("v1.unlimited", "9223372036854771712\n")}, 16 * gib},
		{"above the machine", []string{file("v2.big", "68719476736\n")}, 16 * gib},
		{"garbage", []string{file("v2.bad", "lots\n")}, 16 * gib},
	} {
		if got := memLimit(meminfo, c.cgroups...); got != c.want {
			t.Errorf("%s: memLimit = %d, want %d", c.name, got, c.want)
		}
	}
	// A 512 MiB container on a 16 GiB, 8-CPU machine: a quarter of 512 MiB
	// at 16 kB each, not 262,144 (the machine's).
	capped := derivedStateCap(8, memLimit(meminfo, file("v2.small", "536870912\n")))
	if capped != 8192 {
		t.Errorf("state cap in a 512 MiB cgroup = %d, want 8192", capped)
	}
	if full := derivedStateCap(8, memLimit(meminfo)); full != 262144 {
		t.Errorf("state cap with 16 GiB = %d, want 262144", full)
	}
	if got := derivedStateCap(1, memLimit(filepath.Join(dir, "absent"), filepath.Join(dir, "absent"))); got != 32768 {
		t.Errorf("state cap with no memory known = %d, want 32768", got)
	}
}
