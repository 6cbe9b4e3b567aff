package main

import (
	"fmt"
	"log/slog"
	"net/url"
	"syscall"

	"github.com/switchboard-voice/switchboard/config"
)

// fdReserve is the part of the file descriptor limit kept for everything but
// RTP sockets and accepted SIP and HTTP connections: outbound SIP
// connections, the database, recordings, listeners, and HTTP clients when
// http.max_conns is 0 (no cap).
const fdReserve = 1024

// fdBudget splits the process's file descriptors so that signalling cannot
// starve media: the RTP range's sockets (two per port pair) come first, a
// reserve for the rest of the process and the HTTP connection cap
// (http.max_conns) second, and accepted SIP TCP/TLS connections get at most
// half of what remains, shared among the stream listeners. It raises the
// soft RLIMIT_NOFILE to the hard limit first (the Go runtime usually has
// already). It returns the per-transport SIP connection cap: sip.max_conns,
// or the derived one when that is 0 (the only place that default is
// decided: sip.Options.MaxConns takes it as is). It logs the split; a budget
// that does not fit is logged as a warning (the switch still starts).
func fdBudget(cfg *config.Config, log *slog.Logger) int {
	var lim syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
		log.Warn("cannot read the file descriptor limit", "error", err)
		if cfg.SIP.MaxConns > 0 {
			return cfg.SIP.MaxConns
		}
		return 1024
	}
	if lim.Cur < lim.Max {
		raised := lim
		raised.Cur = raised.Max
		if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &raised); err != nil {
			log.Warn("cannot raise the file descriptor limit", "soft", lim.Cur, "hard", lim.Max, "error", err)
		} else {
			lim = raised
		}
	}
	p := planFDs(cfg, int(min(lim.Cur, 1<<30)))
	log.Info("file descriptor budget", "limit", p.limit, "rtp_sockets", p.rtp, "reserve", fdReserve,
		"http_max_conns", p.http, "sip_stream_listeners", p.streams, "sip_max_conns", p.conns,
		"sip_max_conns_derived", cfg.SIP.MaxConns == 0)
	if p.need > p.limit {
		log.Warn("file descriptor budget exceeds the limit: media may run out of sockets under a connection flood",
			"limit", p.limit, "needed", p.need, "rtp_sockets", p.rtp, "http_max_conns", p.http, "sip_max_conns", p.conns,
			"hint", fmt.Sprintf("lower sip.max_conns below %d, lower http.max_conns, or narrow rtp.ports", p.fit))
	}
	return p.conns
}

// fdPlan is how the file descriptor limit is shared (fdBudget).
type fdPlan struct {
	limit, rtp, http, streams int
	conns                     int // the SIP connection cap per stream listener
	fit                       int // the largest per-listener SIP cap that fits
	need                      int // descriptors the plan needs at most
}

// planFDs shares limit descriptors: RTP sockets, the reserve and the HTTP
// connection cap first, SIP connections from what is left (sip.max_conns
// when set).
func planFDs(cfg *config.Config, limit int) fdPlan {
	p := fdPlan{limit: limit, http: max(cfg.HTTP.MaxConns, 0)}
	if cfg.RTP.PortMax >= cfg.RTP.PortMin && cfg.RTP.PortMin > 0 {
		first := cfg.RTP.PortMin + cfg.RTP.PortMin%2
		p.rtp = 2 * ((cfg.RTP.PortMax - first + 1) / 2)
	}
	for _, l := range cfg.SIP.Listen {
		if u, err := url.Parse(l); err == nil && (u.Scheme == "tcp" || u.Scheme == "tls") {
			p.streams++
		}
	}
	p.conns, p.fit = connBudget(limit, p.rtp+p.http, p.streams)
	if cfg.SIP.MaxConns > 0 {
		p.conns = cfg.SIP.MaxConns
	}
	p.need = p.rtp + fdReserve + p.http + p.streams*p.conns
	return p
}

// connBudget is the per-listener cap on accepted SIP connections: half of
// what the limit leaves after the descriptors taken first (RTP sockets and
// HTTP connections) and the reserve, shared among the stream listeners, and
// never below 16.
func connBudget(limit, taken, streams int) (conns, fit int) {
	if streams < 1 {
		streams = 1
	}
	fit = (limit - taken - fdReserve) / streams
	conns = max(fit/2, 16)
	return conns, max(fit, 0)
}
