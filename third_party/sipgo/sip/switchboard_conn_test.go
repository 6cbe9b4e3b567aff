package sip

import (
	"log/slog"
	"net"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// Switchboard fork: connection bookkeeping and limits of the TCP transport.

// serveTCP starts a TCP listener with a transaction layer that hands each
// server transaction to got and never answers.
func serveTCP(t *testing.T, lim ConnLimits, opts ...TransactionLayerOption) (*TransportLayer, string, chan *ServerTx) {
	t.Helper()
	tpl := NewTransportLayer(net.DefaultResolver, NewParser(), nil, WithTransportLayerConnLimits(lim))
	txl := NewTransactionLayer(tpl, opts...)
	got := make(chan *ServerTx, 4)
	txl.OnRequest(func(req *Request, tx *ServerTx) { got <- tx })
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go func() { _ = tpl.ServeTCP(l) }()
	t.Cleanup(func() {
		_ = l.Close()
		txl.Close()
		_ = tpl.Close()
	})
	return tpl, l.Addr().String(), got
}

func testInvite(local, remote, branch string) string {
	return "INVITE sip:bob@" + remote + ";transport=tcp SIP/2.0\r\n" +
		"Via: SIP/2.0/TCP " + local + ";branch=z9hG4bK-" + branch + "\r\n" +
		"From: <sip:alice@127.0.0.1>;tag=a1\r\nTo: <sip:bob@" + remote + ">\r\n" +
		"Call-ID: " + branch + "@test\r\nCSeq: 1 INVITE\r\nContact: <sip:alice@" + local + ";transport=tcp>\r\n" +
		"Max-Forwards: 70\r\nContent-Length: 0\r\n\r\n"
}

func refOf(c *TCPConnection) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.refcount
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("timed out waiting for", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// TestTCPRefAfterPeerClose: a peer that closes its connection while a server
// transaction still holds it. Upstream's Close set the count to 0, so the
// transaction's release took it to -1 ("TCP ref went negative", once per
// transaction alive at close). The count now stays exact: after the peer is
// gone and the transaction ended only the idle reference is left, and the
// socket was closed once.
func TestTCPRefAfterPeerClose(t *testing.T) {
	for _, terminateOnClose := range []bool{false, true} {
		t.Run("terminateOnConnClose="+strconv.FormatBool(terminateOnClose), func(t *testing.T) {
			var opts []TransactionLayerOption
			if terminateOnClose {
				opts = append(opts, WithTransactionLayerTerminateOnConnClose())
			}
			tpl, addr, got := serveTCP(t, ConnLimits{}, opts...)
			c, err := net.Dial("tcp", addr)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := c.Write([]byte(testInvite(c.LocalAddr().String(), addr, "ref1"))); err != nil {
				t.Fatal(err)
			}
			var tx *ServerTx
			select {
			case tx = <-got:
			case <-time.After(5 * time.Second):
				t.Fatal("no server transaction")
			}
			conn := tx.Connection().(*TCPConnection)
			if r := refOf(conn); r != conn.baseRef+1 {
				t.Fatalf("refs with one transaction = %d, want %d", r, conn.baseRef+1)
			}
			_ = c.Close()
			waitFor(t, "the server to drop the connection", func() bool { return tpl.Pool("tcp").Size() == 0 })
			if terminateOnClose {
				select {
				case <-tx.Done():
				case <-time.After(5 * time.Second):
					t.Fatal("transaction not ended by the connection's close")
				}
			} else {
				tx.Terminate()
			}
			waitFor(t, "the transaction's release", func() bool { return refOf(conn) <= TransportIdleConnection })
			if r := refOf(conn); r != TransportIdleConnection {
				t.Fatalf("refs after close = %d, want %d (the idle reference)", r, TransportIdleConnection)
			}
		})
	}
}

// TestTCPCloseIsIdempotentForPool: a connection closed by Clear and then by
// its reader's cleanup reports no error and no negative count.
func TestTCPCloseIsIdempotentForPool(t *testing.T) {
	a, b := net.Pipe()
	defer b.Close()
	tr := &TransportTCP{}
	tr.init(NewParser())
	c := tr.newConnection(a, 1+TransportIdleConnection)
	tr.pool.Add("x", c)
	if err := tr.pool.Clear(); err != nil {
		t.Fatal(err)
	}
	if err := tr.pool.CloseAndDelete(c, "x"); err != nil {
		t.Fatalf("second close: %v", err)
	}
	if r := refOf(c); r < 0 {
		t.Fatalf("refs = %d after Clear and CloseAndDelete", r)
	}
}

// TestTCPPerIPCap: the connection beyond max_conns_per_ip is closed at once;
// the ones before it stay open, and a slot frees when one closes.
func TestTCPPerIPCap(t *testing.T) {
	tpl, addr, _ := serveTCP(t, ConnLimits{MaxConnsPerIP: 2})
	var open []net.Conn
	defer func() {
		for _, c := range open {
			_ = c.Close()
		}
	}()
	for i := 0; i < 2; i++ {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		open = append(open, c)
	}
	waitFor(t, "two accepted", func() bool { _, n := tpl.tcp.AcceptedConns("127.0.0.1"); return n == 2 })
	extra, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer extra.Close()
	_ = extra.SetReadDeadline(time.Now().Add(5 * time.Second))
	if _, err := extra.Read(make([]byte, 1)); err == nil || isTimeout(err) {
		t.Fatalf("third connection from one IP: read = %v, want it closed by the server", err)
	}
	if _, n := tpl.tcp.AcceptedConns("127.0.0.1"); n != 2 {
		t.Fatalf("accepted from 127.0.0.1 = %d, want 2", n)
	}
	_ = open[0].Close()
	waitFor(t, "a slot freed", func() bool { _, n := tpl.tcp.AcceptedConns("127.0.0.1"); return n == 1 })
}

// TestTCPLimitsFirstMessage: silence and half a request are both cut at the
// first-message timeout; a whole request then idle is cut at the idle
// timeout, unless a reference holds it.
func TestTCPLimitsFirstMessage(t *testing.T) {
	var gotTx atomic.Pointer[ServerTx]
	tpl, addr, got := serveTCP(t, ConnLimits{FirstMessageTimeout: 200 * time.Millisecond, IdleTimeout: 300 * time.Millisecond})
	closedByServer := func(c net.Conn) error {
		_ = c.SetReadDeadline(time.Now().Add(5 * time.Second))
		buf := make([]byte, 1)
		for {
			_, err := c.Read(buf)
			if err != nil {
				if isTimeout(err) {
					return err
				}
				return nil
			}
		}
	}
	silent, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer silent.Close()
	half, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer half.Close()
	inv := testInvite(half.LocalAddr().String(), addr, "half")
	if _, err := half.Write([]byte(inv[:len(inv)/2])); err != nil {
		t.Fatal(err)
	}
	if err := closedByServer(silent); err != nil {
		t.Fatal("silent connection:", err)
	}
	if err := closedByServer(half); err != nil {
		t.Fatal("half request:", err)
	}

	held, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer held.Close()
	if _, err := held.Write([]byte(testInvite(held.LocalAddr().String(), addr, "held"))); err != nil {
		t.Fatal(err)
	}
	select {
	case tx := <-got:
		gotTx.Store(tx)
	case <-time.After(5 * time.Second):
		t.Fatal("no transaction")
	}
	tx := gotTx.Load()
	// The transaction holds the connection: wait past several idle periods.
	conn := tx.Connection().(*TCPConnection)
	deadline := time.Now().Add(time.Second)
	for time.Now().Before(deadline) {
		if _, n := tpl.tcp.AcceptedConns("127.0.0.1"); n != 1 {
			t.Fatalf("connection with a transaction in flight was closed (accepted = %d)", n)
		}
		time.Sleep(20 * time.Millisecond)
	}
	tx.Terminate()
	waitFor(t, "refs back to idle", func() bool { return refOf(conn) == conn.baseRef })
	if err := closedByServer(held); err != nil {
		t.Fatal("idle connection:", err)
	}
}

// TestTCPLimitLogRate: a burst of refusals gives one log line per interval,
// and the next line counts the ones left out.
func TestTCPLimitLogRate(t *testing.T) {
	var buf safeBuffer
	tr := &TransportTCP{limits: ConnLimits{Log: slog.New(slog.NewTextHandler(&buf, nil))}}
	tr.init(NewParser())
	for i := 0; i < 50; i++ {
		tr.logLimit(slog.LevelWarn, "refused", "i", i)
	}
	if n := strings.Count(buf.String(), "refused"); n != 1 {
		t.Fatalf("lines after a burst of 50 = %d, want 1:\n%s", n, buf.String())
	}
	tr.connMu.Lock()
	tr.logLast["refused"] = time.Now().Add(-2 * limitLogEvery)
	tr.connMu.Unlock()
	tr.logLimit(slog.LevelWarn, "refused", "i", 50)
	if !strings.Contains(buf.String(), "suppressed_since_last=49") {
		t.Fatalf("second line does not count the 49 left out:\n%s", buf.String())
	}
}

type safeBuffer struct {
	mu sync.Mutex
	b  strings.Builder
}

func (s *safeBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *safeBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}
