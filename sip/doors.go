package sip

import (
	"sync"

	"github.com/emiago/sipgo/sip"
)

// connLimits are the doors of the TCP and TLS listeners (config sip.*):
// handshake and first-request time limits, the idle timeout, and the caps on
// accepted connections. sipgo's transport enforces them (the fork's
// sip.ConnLimits) and logs each connection it refuses or closes.
func (s *Server) connLimits() sip.ConnLimits {
	c := s.cfg.SIP
	return sip.ConnLimits{
		HandshakeTimeout:    c.TLSHandshakeTimeout,
		FirstMessageTimeout: c.TCPFirstRequestTimeout,
		IdleTimeout:         c.TCPIdleTimeout,
		MaxConns:            s.maxConns,
		MaxConnsPerIP:       c.MaxConnsPerIP,
		Log:                 s.log,
	}
}

// connHold keeps a leg's TCP or TLS connection open past the idle timeout
// while its dialog lives: it takes a reference on the connection (sipgo
// counts references; a connection with more than its own is in use) and
// gives it back once. The zero value holds nothing.
type connHold struct {
	mu   sync.Mutex
	conn sip.Connection
}

// holdTx holds the connection a transaction uses.
func (h *connHold) holdTx(tx any, transport string) {
	if t, ok := tx.(interface{ Connection() sip.Connection }); ok {
		h.hold(t.Connection(), transport)
	}
}

// hold takes a reference on conn when it is a stream connection.
func (h *connHold) hold(conn sip.Connection, transport string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if conn == nil || h.conn != nil || !sip.IsReliable(sip.NetworkToLower(transport)) {
		return
	}
	conn.Ref(1)
	h.conn = conn
}

// release gives the reference back; the transport may then close the
// connection when it is idle.
func (h *connHold) release() {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.conn != nil {
		_, _ = h.conn.TryClose()
		h.conn = nil
	}
}

// AcceptedConns is how many connections the "tcp" or "tls" listeners have
// accepted and not yet closed.
func (s *Server) AcceptedConns(network string) int {
	if s.ua == nil {
		return 0
	}
	n, _ := s.ua.TransportLayer().AcceptedConns(network, "")
	return n
}
