package sip

// Switchboard fork: limits on the connections a TCP or TLS listener accepts.
// Upstream keeps every accepted connection until the peer closes it: a
// stalled TLS handshake, a connection that never sends a request, or an idle
// one holds a file descriptor forever, and one source can open as many as it
// likes.

import (
	"context"
	"errors"
	"log/slog"
	"net"
	"syscall"
	"time"
)

// ConnLimits bound the connections of the TCP and TLS transports. A zero
// field disables its limit.
type ConnLimits struct {
	// HandshakeTimeout closes an accepted TLS connection whose handshake has
	// not completed within it.
	HandshakeTimeout time.Duration
	// FirstMessageTimeout closes an accepted connection that has not sent a
	// whole, parsable SIP message within it (counted after the TLS
	// handshake). Sending part of a message does not extend it.
	FirstMessageTimeout time.Duration
	// IdleTimeout closes a connection (accepted or dialed) on which no SIP
	// message has been read or written for this long, unless it is in use:
	// a transaction holds it or someone took a reference with
	// Connection.Ref(1) (a dialog), released with TryClose. CRLF keep-alives
	// do not count as traffic.
	IdleTimeout time.Duration
	// MaxConns caps the connections a transport has accepted and not yet
	// closed; MaxConnsPerIP caps them per source IP address. A connection
	// beyond a cap is closed as soon as it is accepted.
	MaxConns      int
	MaxConnsPerIP int
	// Log receives a line for every connection refused or closed by a limit;
	// nil uses the transport's logger.
	Log *slog.Logger
}

func (l ConnLimits) active() bool {
	return l.HandshakeTimeout > 0 || l.FirstMessageTimeout > 0 || l.IdleTimeout > 0
}

// WithTransportLayerConnLimits sets the limits of the TCP and TLS transports
// (Switchboard fork).
func WithTransportLayerConnLimits(lim ConnLimits) TransportLayerOption {
	return func(l *TransportLayer) {
		l.connLimits = lim
	}
}

func (t *TransportTCP) limitLog() *slog.Logger {
	if t.limits.Log != nil {
		return t.limits.Log
	}
	return t.log
}

// limitLogEvery is the shortest interval between two log lines of one kind
// of refusal or cut: a flood of connections must not become a flood of logs.
const limitLogEvery = time.Second

// logLimit logs one refusal or cut of the kind msg, at most once per
// limitLogEvery; a line that follows suppressed ones says how many.
func (t *TransportTCP) logLimit(level slog.Level, msg string, args ...any) {
	now := time.Now()
	t.connMu.Lock()
	if t.logLast == nil {
		t.logLast, t.logSuppressed = map[string]time.Time{}, map[string]int{}
	}
	if last, ok := t.logLast[msg]; ok && now.Sub(last) < limitLogEvery {
		t.logSuppressed[msg]++
		t.connMu.Unlock()
		return
	}
	t.logLast[msg] = now
	suppressed := t.logSuppressed[msg]
	delete(t.logSuppressed, msg)
	t.connMu.Unlock()
	if suppressed > 0 {
		args = append(args, "suppressed_since_last", suppressed)
	}
	t.limitLog().Log(context.Background(), level, msg, args...)
}

// admit counts an accepted connection from ip, or refuses it when a cap is
// reached.
func (t *TransportTCP) admit(ip string) (ok bool, why string) {
	t.connMu.Lock()
	defer t.connMu.Unlock()
	if t.limits.MaxConns > 0 && t.connTotal >= t.limits.MaxConns {
		return false, "max_conns"
	}
	if t.limits.MaxConnsPerIP > 0 && t.connPerIP[ip] >= t.limits.MaxConnsPerIP {
		return false, "max_conns_per_ip"
	}
	if t.connPerIP == nil {
		t.connPerIP = map[string]int{}
	}
	t.connPerIP[ip]++
	t.connTotal++
	return true, ""
}

// release uncounts an accepted connection from ip.
func (t *TransportTCP) release(ip string) {
	t.connMu.Lock()
	defer t.connMu.Unlock()
	t.connTotal--
	if n := t.connPerIP[ip] - 1; n > 0 {
		t.connPerIP[ip] = n
	} else {
		delete(t.connPerIP, ip)
	}
}

// AcceptedConns returns how many accepted connections are open, in all and
// from ip.
func (t *TransportTCP) AcceptedConns(ip string) (total, fromIP int) {
	t.connMu.Lock()
	defer t.connMu.Unlock()
	return t.connTotal, t.connPerIP[ip]
}

// acceptRetry tells whether Accept failed for a reason that passes (out of
// file descriptors, a connection aborted before it was accepted): the
// listener must keep serving rather than stop for good.
func acceptRetry(err error) bool {
	if errors.Is(err, net.ErrClosed) {
		return false
	}
	if errors.Is(err, syscall.EMFILE) || errors.Is(err, syscall.ENFILE) ||
		errors.Is(err, syscall.ECONNABORTED) || errors.Is(err, syscall.ENOBUFS) || errors.Is(err, syscall.ENOMEM) {
		return true
	}
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

// remoteIP is the IP address of a connection's peer.
func remoteIP(c net.Conn) string {
	if a, ok := c.RemoteAddr().(*net.TCPAddr); ok {
		return a.IP.String()
	}
	host, _, err := net.SplitHostPort(c.RemoteAddr().String())
	if err != nil {
		return c.RemoteAddr().String()
	}
	return host
}

// AcceptedConns returns how many connections the "tcp" or "tls" transport
// has accepted and not yet closed, in all and from ip (Switchboard fork).
func (l *TransportLayer) AcceptedConns(network, ip string) (total, fromIP int) {
	switch NetworkToLower(network) {
	case "tcp":
		return l.tcp.AcceptedConns(ip)
	case "tls":
		return l.tls.AcceptedConns(ip)
	}
	return 0, 0
}
