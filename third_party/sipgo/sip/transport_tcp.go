package sip

import (
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"sync"
	"sync/atomic"
	"time"
)

// TCP transport implementation
type TransportTCP struct {
	transport       string
	parser          *Parser
	log             *slog.Logger
	connectionReuse bool
	readFilter      TransportReadFilter
	parseError      TransportParseErrorHandler // Switchboard fork

	// ReadTimeout limits how long a TCP or TLS connection may block waiting
	// for data. It is copied when the connection is created. A non-positive
	// value disables the timeout.
	ReadTimeout time.Duration

	// WriteTimeout limits how long a TCP or TLS connection may block writing
	// data. It is copied when the connection is created. A non-positive value
	// disables the timeout.
	WriteTimeout time.Duration

	pool *ConnectionPool

	DialerCreate func(laddr net.Addr) net.Dialer

	onConnClose func(conn Connection)

	// Switchboard fork: limits (transport_tcp_limits.go) and the accepted
	// connections they count.
	limits    ConnLimits
	connMu    sync.Mutex
	connTotal int
	connPerIP map[string]int
	// rate of the limits' log lines, by message (logLimit)
	logLast       map[string]time.Time
	logSuppressed map[string]int
}

func (t *TransportTCP) newConnection(conn net.Conn, refcount int) *TCPConnection {
	return &TCPConnection{
		Conn:         conn,
		readTimeout:  t.ReadTimeout,
		writeTimeout: t.WriteTimeout,
		refcount:     refcount,
		baseRef:      1 + TransportIdleConnection,
	}
}

func (t *TransportTCP) init(par *Parser) {
	t.parser = par
	t.pool = newConnectionPool()
	t.transport = "TCP"
	if t.log == nil {
		t.log = DefaultLogger()
	}
	if t.DialerCreate == nil {
		t.DialerCreate = func(laddr net.Addr) net.Dialer {
			return net.Dialer{
				Timeout:   1 * time.Minute,
				LocalAddr: laddr,
			}
		}
	}
}

func (t *TransportTCP) String() string {
	return "Transport<TCP>"
}

func (t *TransportTCP) Network() string {
	// return "tcp"
	return t.transport
}

func (t *TransportTCP) Close() error {
	// return t.connections.Done()
	return t.pool.Clear()
}

// Serve is direct way to provide conn on which this worker will listen
func (t *TransportTCP) Serve(l net.Listener, handler MessageHandler) error {
	t.log.Debug("begin listening on", "network", t.Network(), "laddr", l.Addr().String())
	var backoff time.Duration
	for {
		conn, err := l.Accept()
		if err != nil {
			// Switchboard fork: out of file descriptors (or a connection
			// aborted while queued) is no reason to stop listening for good.
			if acceptRetry(err) {
				if backoff == 0 {
					backoff = 5 * time.Millisecond
				} else if backoff *= 2; backoff > time.Second {
					backoff = time.Second
				}
				t.logLimit(slog.LevelWarn, "SIP accept failed; retrying", "transport", t.transport, "laddr", l.Addr().String(), "error", err, "retry_in", backoff)
				time.Sleep(backoff)
				continue
			}
			t.log.Debug("Fail to accept conenction", "error", err)
			return err
		}
		backoff = 0
		// Switchboard fork: per-IP and total caps, before any TLS work.
		ip := remoteIP(conn)
		if ok, why := t.admit(ip); !ok {
			t.logLimit(slog.LevelWarn, "SIP connection refused: limit reached", "transport", t.transport, "raddr", conn.RemoteAddr().String(), "limit", why,
				"max_conns", t.limits.MaxConns, "max_conns_per_ip", t.limits.MaxConnsPerIP)
			_ = conn.Close()
			continue
		}
		t.initConnection(conn, conn.RemoteAddr().String(), handler, ip)
	}
}

func (t *TransportTCP) GetConnection(addr string) Connection {
	c := t.pool.Get(addr)
	return c
}

func (t *TransportTCP) CreateConnection(ctx context.Context, laddr Addr, raddr Addr, handler MessageHandler) (Connection, error) {
	// We are letting transport layer to resolve our address
	// raddr, err := net.ResolveTCPAddr("tcp", addr)
	// if err != nil {
	// 	return nil, err
	// }
	// We do singleflight if laddr is required or connection reuse
	conn, err := t.pool.addSingleflight(raddr, laddr, t.connectionReuse, func() (Connection, error) {
		var tladdr *net.TCPAddr = nil
		if laddr.IP != nil {
			tladdr = &net.TCPAddr{
				IP:   laddr.IP,
				Port: laddr.Port,
			}
		}

		traddr := &net.TCPAddr{
			IP:   raddr.IP,
			Port: raddr.Port,
		}

		addr := traddr.String()
		t.log.Debug("Dialing new connection", "raddr", addr)

		d := t.DialerCreate(tladdr)

		conn, err := d.DialContext(ctx, "tcp", addr)
		if err != nil {
			return nil, fmt.Errorf("%s dial err=%w", t, err)
		}

		// if err := conn.SetKeepAlive(true); err != nil {
		// 	return nil, fmt.Errorf("%s keepalive err=%w", t, err)
		// }

		// if err := conn.SetKeepAlivePeriod(30 * time.Second); err != nil {
		// 	return nil, fmt.Errorf("%s keepalive period err=%w", t, err)
		// }

		t.log.Debug("New connection", "raddr", raddr)
		c := t.newConnection(conn, 2+TransportIdleConnection) // 1 returning + 1 reading + Idle

		go t.readConnection(c, c.LocalAddr().String(), c.RemoteAddr().String(), handler)
		return c, nil
	})
	if err != nil {
		return nil, err
	}

	c := conn.(*TCPConnection)
	return c, nil
}

func (t *TransportTCP) initConnection(conn net.Conn, raddr string, handler MessageHandler, ip string) Connection {
	// // conn.SetKeepAlive(true)
	// conn.SetKeepAlivePeriod(3 * time.Second)
	laddr := conn.LocalAddr().String()
	t.log.Debug("New connection", "raddr", raddr)
	c := t.newConnection(conn, 1+TransportIdleConnection)
	c.accepted, c.ip = true, ip
	t.pool.Add(laddr, c)
	t.pool.Add(raddr, c)
	go t.readConnection(c, laddr, raddr, handler)
	return c
}

// This should performe better to avoid any interface allocation
func (t *TransportTCP) readConnection(conn *TCPConnection, laddr string, raddr string, handler MessageHandler) {
	buf := make([]byte, TransportBufferReadSize)
	defer t.pool.deleteExact(laddr, conn)
	defer func() {
		if err := t.pool.CloseAndDelete(conn, raddr); err != nil {
			t.log.Warn("connection pool not clean cleanup", "error", err)
		}
	}()
	defer func() {
		if t.onConnClose != nil {
			t.onConnClose(conn)
		}
	}()
	if conn.accepted {
		defer t.release(conn.ip)
	}

	// Switchboard fork: the TLS handshake of an accepted connection must end
	// in time (it otherwise happens, unbounded, inside the first Read).
	if tc, ok := conn.Conn.(*tls.Conn); ok && conn.accepted && t.limits.HandshakeTimeout > 0 {
		ctx, cancel := context.WithTimeout(context.Background(), t.limits.HandshakeTimeout)
		err := tc.HandshakeContext(ctx)
		cancel()
		if err != nil {
			t.logLimit(slog.LevelWarn, "SIP TLS handshake failed or timed out; connection closed", "raddr", raddr, "timeout", t.limits.HandshakeTimeout, "error", err)
			return
		}
	}
	since := time.Now()

	// Create stream parser context
	par := t.parser.NewSIPStream()

	for {
		var num int
		var err error
		if t.limits.active() {
			num, err = conn.readBy(buf, t.readDeadline(conn, since))
			if err != nil && isTimeout(err) {
				if t.keepOpen(conn, raddr) {
					continue
				}
				return
			}
		} else {
			num, err = conn.Read(buf)
		}
		if err != nil {
			if errors.Is(err, net.ErrClosed) || errors.Is(err, io.EOF) {
				t.log.Debug("connection was closed", "error", err)
				return
			}

			t.log.Error("Read error", "error", err)
			return
		}

		data := buf[:num]
		if len(bytes.Trim(data, "\x00")) == 0 {
			continue
		}

		if t.readFilter != nil {
			filtered, err := t.readFilter(TransportReadProps{
				Transport:  t.Network(),
				LocalAddr:  conn.LocalAddr(),
				RemoteAddr: conn.RemoteAddr(),
			}, data)
			if err != nil {
				t.log.Error("Read filter error", "laddr", laddr, "raddr", raddr, "error", err)
				return
			}
			if len(filtered) == 0 {
				continue
			}
			data = filtered
		}

		// Check is keep alive
		datalen := len(data)
		// RFC 5626 section 3.5.1 puts a keep alive between messages. A read is
		// whatever TCP chose to deliver, so a CRLF ending a line of a message can
		// arrive alone; only an idle parser can be between messages.
		if datalen <= 4 && par.state == stateStartLine && par.Buffer().Len() == 0 {
			// One or 2 CRLF
			// https://datatracker.ietf.org/doc/html/rfc5626#section-3.5.1
			if len(bytes.Trim(data, "\r\n")) == 0 {
				t.log.Debug("Keep alive CRLF received")
				if datalen == 4 {
					// 2 CRLF is ping
					if _, err := conn.Write(data[:2]); err != nil {
						t.log.Error("Failed to pong keep alive", "error", err)
						return
					}
				}
				continue
			}
		}

		// TODO fallback to parseFull if message size limit is set

		// t.log.Debug().Str("raddr", raddr).Str("data", string(data)).Msg("new message")
		if err := t.parseStream(par, conn, data, raddr, handler); err != nil {
			// Switchboard fork: the owner answers it (400/505) and counts it
			// before the connection closes, as for UDP. data is the read
			// that failed: a whole message when the peer wrote one at once.
			if t.parseError != nil {
				t.parseError(TransportReadProps{Transport: t.Network(), LocalAddr: conn.LocalAddr(), RemoteAddr: conn.RemoteAddr()},
					data, err, func(b []byte) error {
						_, err := conn.Write(b)
						return err
					})
			}
			// A framing error leaves no message boundary to resync on, so close the connection.
			return
		}
	}
}

func (t *TransportTCP) parseStream(par *ParserStream, conn *TCPConnection, data []byte, src string, handler MessageHandler) error {
	err := par.ParseSIPStream(data, func(msg Message) {
		conn.sawMsg.Store(true) // Switchboard fork: limits
		conn.touch()
		msg.SetTransport(t.Network())
		msg.SetSource(src)
		handler(msg)
	})

	if err != nil {
		if err == ErrParseSipPartial {
			return nil
		}
		t.log.Error("failed to parse", "error", err, "data", string(data))
		return err
	}
	return nil
}

type TCPConnection struct {
	net.Conn

	readTimeout  time.Duration
	writeTimeout time.Duration

	mu       sync.RWMutex
	refcount int
	closed   bool // Switchboard fork: Close or the last TryClose ran

	// Switchboard fork: limits (transport_tcp_limits.go).
	accepted   bool         // accepted by a listener (not dialed)
	ip         string       // peer IP counted by the caps (accepted only)
	baseRef    int          // references of a connection nobody uses: reader + idle
	sawMsg     atomic.Bool  // a whole SIP message was read
	lastActive atomic.Int64 // unix nanoseconds of the last message read or written
}

func (c *TCPConnection) touch() { c.lastActive.Store(time.Now().UnixNano()) }

// readBy reads with a deadline: the earlier of d (zero: none) and the
// connection's read timeout.
func (c *TCPConnection) readBy(b []byte, d time.Time) (int, error) {
	if c.readTimeout > 0 {
		if rt := time.Now().Add(c.readTimeout); d.IsZero() || rt.Before(d) {
			d = rt
		}
	}
	if err := c.Conn.SetReadDeadline(d); err != nil {
		return 0, err
	}
	n, err := c.Conn.Read(b)
	if SIPDebug {
		logSIPRead("TCP", c.Conn.LocalAddr().String(), c.Conn.RemoteAddr().String(), b[:n])
	}
	return n, err
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

// readDeadline is when the limits next need a look at conn: the end of its
// time for a first message, or of its idle time.
func (t *TransportTCP) readDeadline(c *TCPConnection, since time.Time) time.Time {
	if c.accepted && !c.sawMsg.Load() && t.limits.FirstMessageTimeout > 0 {
		return since.Add(t.limits.FirstMessageTimeout)
	}
	if t.limits.IdleTimeout <= 0 {
		return time.Time{}
	}
	last := since
	if ns := c.lastActive.Load(); ns != 0 {
		last = time.Unix(0, ns)
	}
	d := last.Add(t.limits.IdleTimeout)
	if now := time.Now(); !d.After(now) {
		// Idle but in use: look again after another idle period.
		d = now.Add(t.limits.IdleTimeout)
	}
	return d
}

// keepOpen decides, after a read deadline passed, whether conn stays open.
func (t *TransportTCP) keepOpen(c *TCPConnection, raddr string) bool {
	if c.accepted && !c.sawMsg.Load() && t.limits.FirstMessageTimeout > 0 {
		t.logLimit(slog.LevelWarn, "SIP connection closed: no complete request in time", "transport", t.transport, "raddr", raddr, "timeout", t.limits.FirstMessageTimeout)
		return false
	}
	if t.limits.IdleTimeout > 0 {
		last := c.lastActive.Load()
		if last != 0 && time.Since(time.Unix(0, last)) < t.limits.IdleTimeout {
			return true // traffic since the deadline was set
		}
		if ref := c.Ref(0); ref > c.baseRef {
			t.limitLog().Debug("SIP connection idle but in use; kept", "transport", t.transport, "raddr", raddr, "refs", ref-c.baseRef)
			return true
		}
		t.logLimit(slog.LevelInfo, "SIP connection closed: idle", "transport", t.transport, "raddr", raddr, "idle_timeout", t.limits.IdleTimeout)
		return false
	}
	// The connection's own read timeout passed (upstream behaviour: close).
	t.log.Error("Read error", "error", "read timeout")
	return false
}

func (c *TCPConnection) Ref(i int) int {
	c.mu.Lock()
	c.refcount += i
	ref := c.refcount
	c.mu.Unlock()
	DefaultLogger().Debug("TCP reference increment", "ip", c.LocalAddr().String(), "dst", c.RemoteAddr().String(), "ref", ref)
	return ref
}

// Close closes the socket whatever its references. Switchboard fork: it no
// longer sets the reference count to 0. Transactions that still hold the
// connection release their references later (TryClose), and upstream's
// reset made each of those releases go below zero ("TCP ref went
// negative"; see README.switchboard.md). The count stays true; a closed
// connection is never closed twice by TryClose.
func (c *TCPConnection) Close() error {
	c.mu.Lock()
	c.closed = true
	ref := c.refcount
	c.mu.Unlock()
	DefaultLogger().Debug("TCP doing hard close", "ip", c.LocalAddr().String(), "dst", c.RemoteAddr().String(), "ref", ref)
	return c.Conn.Close()
}

func (c *TCPConnection) TryClose() (int, error) {
	c.mu.Lock()
	c.refcount--
	ref := c.refcount
	closed := c.closed
	if ref == 0 {
		c.closed = true
	}
	c.mu.Unlock()
	DefaultLogger().Debug("TCP reference decrement", "ip", c.LocalAddr().String(), "dst", c.RemoteAddr().String(), "ref", ref)
	if ref < 0 {
		// A reference released twice: a bug of the caller.
		DefaultLogger().Warn("TCP ref went negative", "ip", c.LocalAddr().String(), "dst", c.RemoteAddr().String(), "ref", ref)
		return 0, nil
	}
	if ref > 0 || closed {
		return ref, nil
	}

	DefaultLogger().Debug("TCP closing", "ip", c.LocalAddr().String(), "dst", c.RemoteAddr().String(), "ref", ref)
	return ref, c.Conn.Close()
}

func (c *TCPConnection) Read(b []byte) (n int, err error) {
	if c.readTimeout > 0 {
		if err := c.Conn.SetReadDeadline(time.Now().Add(c.readTimeout)); err != nil {
			return 0, err
		}
	}

	// Some debug hook. TODO move to proper way
	n, err = c.Conn.Read(b)
	if SIPDebug {
		logSIPRead("TCP", c.Conn.LocalAddr().String(), c.Conn.RemoteAddr().String(), b[:n])
	}
	return n, err
}

func (c *TCPConnection) Write(b []byte) (n int, err error) {
	if c.writeTimeout > 0 {
		if err := c.Conn.SetWriteDeadline(time.Now().Add(c.writeTimeout)); err != nil {
			return 0, err
		}
	}

	// Some debug hook. TODO move to proper way
	n, err = c.Conn.Write(b)
	if SIPDebug {
		logSIPWrite("TCP", c.Conn.LocalAddr().String(), c.Conn.RemoteAddr().String(), b[:n])
	}
	return n, err
}

func (c *TCPConnection) WriteMsg(msg Message) error {
	buf := bufPool.Get().(*bytes.Buffer)
	defer bufPool.Put(buf)
	buf.Reset()
	msg.StringWrite(buf)
	data := buf.Bytes()

	n, err := c.Write(data)
	if err != nil {
		return fmt.Errorf("conn %s write err=%w", c.RemoteAddr().String(), err)
	}
	c.touch() // Switchboard fork: a message sent is traffic too

	if n == 0 {
		return fmt.Errorf("wrote 0 bytes")
	}

	if n != len(data) {
		return fmt.Errorf("fail to write full message")
	}
	return nil
}
