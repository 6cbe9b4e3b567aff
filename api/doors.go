package api

import (
	"crypto/subtle"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"strings"
	"sync"
	"time"
)

// The HTTP listener's doors: who may use the operator's endpoints, which
// requests may change state, how long a client may take, and how many
// connections it may hold.

// bearer is the token of `Authorization: Bearer TOKEN`; ok is false when
// the header is absent or of another scheme.
func bearer(r *http.Request) (token string, ok bool) {
	scheme, token, found := strings.Cut(r.Header.Get("Authorization"), " ")
	if !found || !strings.EqualFold(scheme, "Bearer") {
		return "", false
	}
	token = strings.TrimSpace(token)
	return token, token != ""
}

// supervisorKey finds token among the supervisors' API keys (key → name),
// comparing in constant time.
func supervisorKey(keys func() map[string]string, token string) (name string, ok bool) {
	if keys == nil || token == "" {
		return "", false
	}
	for key, n := range keys() {
		if subtle.ConstantTimeCompare([]byte(key), []byte(token)) == 1 {
			name, ok = n, true
		}
	}
	return name, ok
}

// supervisorOnly lets through only requests with a supervisor's API key in
// the Authorization header (never the query, never a cookie): the operator's
// endpoints (/reload, /trunks, /debug/pprof/, /metrics unless public).
func (s *Server) supervisorOnly(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		token, ok := bearer(r)
		if _, isKey := supervisorKey(s.o.Keys, token); !isKey {
			w.Header().Set("WWW-Authenticate", `Bearer realm="switchboard"`)
			msg := "missing credentials: " + r.URL.Path + " needs a supervisor's API key (Authorization: Bearer <API key>)"
			if ok {
				msg = "invalid credentials: " + r.URL.Path + " needs a supervisor's API key (api.keys)"
			}
			writeError(w, http.StatusUnauthorized, msg)
			return
		}
		h.ServeHTTP(w, r)
	})
}

// guard wraps every route. It sets the headers that keep a browser from
// sniffing types, framing the switch's pages or leaking its URLs, and
// refuses a state-changing request (POST, PUT, PATCH, DELETE) without an
// Authorization header: the switch never takes credentials from a cookie,
// so a cross-site form or a query parameter alone changes nothing.
func guard(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hd := w.Header()
		hd.Set("X-Content-Type-Options", "nosniff")
		hd.Set("X-Frame-Options", "DENY")
		hd.Set("Referrer-Policy", "no-referrer")
		switch r.Method {
		case http.MethodPost, http.MethodPut, http.MethodPatch, http.MethodDelete:
			if strings.TrimSpace(r.Header.Get("Authorization")) == "" {
				hd.Set("WWW-Authenticate", `Bearer realm="switchboard"`)
				writeError(w, http.StatusUnauthorized, r.Method+" needs an Authorization header (Bearer <API key or agent token>); "+
					"a cookie or a query parameter is not enough")
				return
			}
		}
		h.ServeHTTP(w, r)
	})
}

// longLived lifts the server's read and write deadlines for a request that
// stays open by design (a WebSocket, a long poll), which then bounds its
// own writes. A hijacked connection has its deadlines cleared by net/http
// too; this also covers the time before the upgrade and any long answer
// that is not hijacked.
func longLived(w http.ResponseWriter) {
	rc := http.NewResponseController(w)
	_ = rc.SetReadDeadline(time.Time{})
	_ = rc.SetWriteDeadline(time.Time{})
}

// connLimiter caps a listener's open connections, in all and per client
// address: a connection beyond a cap is closed as soon as it is accepted.
type connLimiter struct {
	net.Listener
	max, perIP int
	log        *slog.Logger

	mu      sync.Mutex
	open    int
	byIP    map[netip.Addr]int
	refused int       // refusals not logged yet
	logged  time.Time // when refusals were last logged
}

// limitConns wraps ln with the caps (0 = no cap); nil log discards.
func limitConns(ln net.Listener, max, perIP int, log *slog.Logger) net.Listener {
	if max <= 0 && perIP <= 0 {
		return ln
	}
	return &connLimiter{Listener: ln, max: max, perIP: perIP, log: log, byIP: map[netip.Addr]int{}}
}

// refusalLogEvery bounds the refusal log lines under a flood.
const refusalLogEvery = 10 * time.Second

// Accept returns the next connection within the caps, closing those beyond.
func (l *connLimiter) Accept() (net.Conn, error) {
	for {
		c, err := l.Listener.Accept()
		if err != nil {
			return nil, err
		}
		ip := remoteIP(c)
		if reason := l.admit(ip); reason != "" {
			_ = c.Close()
			l.logRefusal(ip, reason)
			continue
		}
		return &limitedConn{Conn: c, release: func() { l.release(ip) }}, nil
	}
}

// admit counts a new connection from ip, or says which cap it would break.
func (l *connLimiter) admit(ip netip.Addr) string {
	l.mu.Lock()
	defer l.mu.Unlock()
	switch {
	case l.max > 0 && l.open >= l.max:
		return "http.max_conns"
	case l.perIP > 0 && l.byIP[ip] >= l.perIP:
		return "http.max_conns_per_ip"
	}
	l.open++
	l.byIP[ip]++
	return ""
}

func (l *connLimiter) release(ip netip.Addr) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.open--
	if l.byIP[ip]--; l.byIP[ip] <= 0 {
		delete(l.byIP, ip)
	}
}

// logRefusal logs a refused connection, at most one line per
// refusalLogEvery with the count of those in between.
func (l *connLimiter) logRefusal(ip netip.Addr, cap string) {
	l.mu.Lock()
	l.refused++
	now := time.Now()
	if now.Sub(l.logged) < refusalLogEvery {
		l.mu.Unlock()
		return
	}
	n, open := l.refused, l.open
	l.refused, l.logged = 0, now
	l.mu.Unlock()
	if l.log != nil {
		l.log.Warn("http connection refused", "remote_ip", ip.String(), "cap", cap, "refused", n, "open", open)
	}
}

// remoteIP is the connection's client address (IPv4-mapped IPv6 unmapped).
func remoteIP(c net.Conn) netip.Addr {
	if ap, err := netip.ParseAddrPort(c.RemoteAddr().String()); err == nil {
		return ap.Addr().Unmap()
	}
	return netip.Addr{}
}

// limitedConn gives its place back once, when closed (hijacked or not).
type limitedConn struct {
	net.Conn
	once    sync.Once
	release func()
}

func (c *limitedConn) Close() error {
	err := c.Conn.Close()
	c.once.Do(c.release)
	return err
}

// CloseWrite half-closes when the connection can (net/http uses it to
// flush an answer before closing).
func (c *limitedConn) CloseWrite() error {
	if cw, ok := c.Conn.(interface{ CloseWrite() error }); ok {
		return cw.CloseWrite()
	}
	return nil
}
