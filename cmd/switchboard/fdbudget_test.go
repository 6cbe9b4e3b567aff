package main

import (
	"io"
	"log/slog"
	"syscall"
	"testing"

	"github.com/switchboard-voice/switchboard/config"
)

// TestConnBudget: RTP sockets and the reserve come off the limit first; SIP
// connections get half the rest, shared among the stream listeners.
func TestConnBudget(t *testing.T) {
	for _, c := range []struct {
		limit, rtp, streams, want int
	}{
		{20000, 10000, 1, 4488}, // (20000-10000-1024)/2
		{20000, 10000, 2, 2244}, // shared by tcp and tls
		{1048576, 10000, 1, 518776},
		{4096, 10000, 1, 16},    // RTP alone exceeds the limit: the floor
		{20000, 10000, 0, 4488}, // no stream listener: as for one
	} {
		if got, _ := connBudget(c.limit, c.rtp, c.streams); got != c.want {
			t.Errorf("connBudget(%d, %d, %d) = %d, want %d", c.limit, c.rtp, c.streams, got, c.want)
		}
	}
}

// TestFDBudget: the soft limit is raised to the hard one, and a set
// sip.max_conns is kept.
func TestFDBudget(t *testing.T) {
	cfg := config.Default()
	cfg.SIP.Listen = []string{"udp://127.0.0.1:0", "tcp://127.0.0.1:0"}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	fdBudget(cfg, log)
	var lim syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
		t.Fatal(err)
	}
	if lim.Cur != lim.Max {
		t.Errorf("soft RLIMIT_NOFILE %d, hard %d: not raised", lim.Cur, lim.Max)
	}
	cfg.SIP.MaxConns = 123
	if got := fdBudget(cfg, log); got != 123 {
		t.Errorf("fdBudget with sip.max_conns 123 = %d", got)
	}
}

// TestFDPlanCountsHTTP: the HTTP connection cap comes off the limit with
// the RTP sockets and the reserve before SIP connections get their half of
// the rest, and the descriptors needed count it too; sip.max_conns, when
// set, is the cap as is.
func TestFDPlanCountsHTTP(t *testing.T) {
	cfg := config.Default()
	cfg.SIP.Listen = []string{"udp://127.0.0.1:5060", "tcp://127.0.0.1:5060"}
	cfg.RTP.PortMin, cfg.RTP.PortMax = 10000, 19999 // 10,000 sockets
	cfg.HTTP.MaxConns = 2048
	p := planFDs(cfg, 20000)
	if want := (20000 - 10000 - 1024 - 2048) / 2; p.conns != want {
		t.Errorf("SIP cap with http.max_conns 2048 = %d, want %d", p.conns, want)
	}
	if want := 10000 + 1024 + 2048 + p.conns; p.need != want {
		t.Errorf("descriptors needed = %d, want %d", p.need, want)
	}
	cfg.HTTP.MaxConns = 0 // no HTTP cap: HTTP clients live in the reserve
	if got, want := planFDs(cfg, 20000).conns, (20000-10000-1024)/2; got != want {
		t.Errorf("SIP cap without an HTTP cap = %d, want %d", got, want)
	}
	cfg.HTTP.MaxConns = 2048
	cfg.SIP.MaxConns = 7000 // set: kept, and the plan says it does not fit
	p = planFDs(cfg, 20000)
	if p.conns != 7000 || p.need <= p.limit {
		t.Errorf("sip.max_conns 7000: cap %d, need %d of %d; want 7000 and over the limit", p.conns, p.need, p.limit)
	}
}
