package main

import (
	"fmt"
	"log/slog"
	"net/url"
	"syscall"

	"github.com/switchboard-voice/switchboard/config"
)

// fdReserve is the part of the file descriptor limit kept for everything but
// RTP sockets and accepted SIP connections: HTTP and WebSocket clients,
// outbound SIP connections, the database, recordings, listeners.
const fdReserve = 1024

// fdBudget splits the process's file descriptors so that signalling cannot
// starve media: the RTP range's sockets (two per port pair) come first, a
// reserve for the rest of the process second, and accepted SIP TCP/TLS
// connections get at most half of what remains, shared among the stream
// listeners. It raises the soft RLIMIT_NOFILE to the hard limit first (the Go
// runtime usually has already). It returns the per-transport connection cap
// to use when sip.max_conns is 0, and logs the split; a budget that does not
// fit is logged as a warning (the switch still starts).
func fdBudget(cfg *config.Config, log *slog.Logger) int {
	var lim syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
		log.Warn("cannot read the file descriptor limit", "error", err)
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
	limit := int(min(lim.Cur, 1<<30))
	rtp := 0
	if cfg.RTP.PortMax >= cfg.RTP.PortMin && cfg.RTP.PortMin > 0 {
		first := cfg.RTP.PortMin + cfg.RTP.PortMin%2
		rtp = 2 * ((cfg.RTP.PortMax - first + 1) / 2)
	}
	streams := 0
	for _, l := range cfg.SIP.Listen {
		if u, err := url.Parse(l); err == nil && (u.Scheme == "tcp" || u.Scheme == "tls") {
			streams++
		}
	}
	conns, auto := connBudget(limit, rtp, streams)
	if cfg.SIP.MaxConns > 0 {
		conns = cfg.SIP.MaxConns
	}
	log.Info("file descriptor budget", "limit", limit, "rtp_sockets", rtp, "reserve", fdReserve,
		"sip_stream_listeners", streams, "sip_max_conns", conns, "sip_max_conns_derived", cfg.SIP.MaxConns == 0)
	if need := rtp + fdReserve + streams*conns; need > limit {
		log.Warn("file descriptor budget exceeds the limit: media may run out of sockets under a connection flood",
			"limit", limit, "needed", need, "rtp_sockets", rtp, "sip_max_conns", conns, "hint", fmt.Sprintf("lower sip.max_conns below %d or narrow rtp.ports", auto))
	}
	return conns
}

// connBudget is the per-listener cap on accepted SIP connections: half of
// what the limit leaves after RTP and the reserve, shared among the stream
// listeners, and never below 16.
func connBudget(limit, rtp, streams int) (conns, fit int) {
	if streams < 1 {
		streams = 1
	}
	fit = (limit - rtp - fdReserve) / streams
	conns = max(fit/2, 16)
	return conns, max(fit, 0)
}
