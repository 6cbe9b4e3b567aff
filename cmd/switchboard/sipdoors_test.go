package main

import (
	"bufio"
	"crypto/tls"
	"errors"
	"net"
	"strings"
	"testing"
	"time"

	sipmsg "github.com/emiago/sipgo/sip"

	"github.com/switchboard-voice/switchboard/config"
	"github.com/switchboard-voice/switchboard/sip/siptest"
)

// closedByPeer reads from c until the switch closes it (nil), or fails
// after a bound (the read deadline).
func closedByPeer(c net.Conn) error {
	_ = c.SetReadDeadline(time.Now().Add(10 * time.Second))
	buf := make([]byte, 512)
	for {
		if _, err := c.Read(buf); err != nil {
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				return errors.New("still open after 10 s")
			}
			return nil
		}
	}
}

func optionsOver(transport, local, addr, id string) string {
	return "OPTIONS sip:" + addr + ";transport=" + transport + " SIP/2.0\r\n" +
		"Via: SIP/2.0/" + strings.ToUpper(transport) + " " + local + ";branch=z9hG4bK-" + id + "\r\n" +
		"From: <sip:probe@127.0.0.1>;tag=" + id + "\r\nTo: <sip:" + addr + ">\r\nCall-ID: " + id + "@test\r\n" +
		"CSeq: 1 OPTIONS\r\nMax-Forwards: 70\r\nContent-Length: 0\r\n\r\n"
}

// askOptions sends OPTIONS on c and wants a 200.
func askOptions(t *testing.T, c net.Conn, transport, addr, id string) {
	t.Helper()
	if _, err := c.Write([]byte(optionsOver(transport, c.LocalAddr().String(), addr, id))); err != nil {
		t.Fatal(err)
	}
	_ = c.SetReadDeadline(time.Now().Add(5 * time.Second))
	line, err := bufio.NewReader(c).ReadString('\n')
	if err != nil || strings.TrimSpace(line) != "SIP/2.0 200 OK" {
		t.Fatalf("OPTIONS over %s: %q, %v", transport, line, err)
	}
}

func waitConns(t *testing.T, h *harness, network string, want int) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for h.node.sip.AcceptedConns(network) != want {
		if time.Now().After(deadline) {
			t.Fatalf("%s connections open = %d, want %d", network, h.node.sip.AcceptedConns(network), want)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// TestSIPTLSHandshakeCut: a TLS connection that never completes its
// handshake, and one that completes it but sends no request, are both closed
// by the switch (sip.tls_handshake_timeout, sip.tcp_first_request_timeout).
func TestSIPTLSHandshakeCut(t *testing.T) {
	cert, key := selfSigned(t, t.TempDir())
	h := newHarness(t, func(c *config.Config) {
		c.SIP.Listen = []string{"udp://127.0.0.1:0", "tls://127.0.0.1:0"}
		c.SIP.TLS = config.TLS{Cert: cert, Key: key}
		c.SIP.TLSHandshakeTimeout = 300 * time.Millisecond
		c.SIP.TCPFirstRequestTimeout = 300 * time.Millisecond
	})
	addr, _ := h.node.sip.Addr("tls")
	stalled, err := net.Dial("tcp", addr) // TCP only: no ClientHello
	if err != nil {
		t.Fatal(err)
	}
	defer stalled.Close()
	if _, err := stalled.Write([]byte{0x16, 0x03, 0x01}); err != nil { // the start of a record, no more
		t.Fatal(err)
	}
	quiet, err := tls.DialWithDialer(&net.Dialer{Timeout: 5 * time.Second}, "tcp", addr, &tls.Config{InsecureSkipVerify: true})
	if err != nil {
		t.Fatal(err)
	}
	defer quiet.Close()
	if err := closedByPeer(stalled); err != nil {
		t.Fatal("stalled TLS handshake:", err)
	}
	if err := closedByPeer(quiet); err != nil {
		t.Fatal("TLS connection without a request:", err)
	}
	waitConns(t, h, "tls", 0)
	logs := h.logs.String()
	for _, want := range []string{"SIP TLS handshake failed or timed out", "no complete request in time"} {
		if !strings.Contains(logs, want) {
			t.Errorf("no %q in the logs", want)
		}
	}
}

// TestSIPTCPSilentAndHalfRequestCut: a TCP connection that sends nothing and
// one that sends half a request are closed after
// sip.tcp_first_request_timeout; one that sent a whole request is not.
func TestSIPTCPSilentAndHalfRequestCut(t *testing.T) {
	h := newHarness(t, func(c *config.Config) {
		c.SIP.Listen = []string{"udp://127.0.0.1:0", "tcp://127.0.0.1:0"}
		c.SIP.TCPFirstRequestTimeout = 300 * time.Millisecond
	})
	addr, _ := h.node.sip.Addr("tcp")
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
	req := optionsOver("tcp", half.LocalAddr().String(), addr, "half1")
	if _, err := half.Write([]byte(req[:len(req)/2])); err != nil {
		t.Fatal(err)
	}
	good, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer good.Close()
	askOptions(t, good, "tcp", addr, "good1")
	if err := closedByPeer(silent); err != nil {
		t.Fatal("silent connection:", err)
	}
	if err := closedByPeer(half); err != nil {
		t.Fatal("half a request:", err)
	}
	waitConns(t, h, "tcp", 1) // the one that sent a request (idle timeout 5 min)
	askOptions(t, good, "tcp", addr, "good2")
}

// TestSIPTCPIdleKeepsLiveCall: with sip.tcp_idle_timeout short, an idle TCP
// connection is closed, but the caller's connection carrying a live call is
// kept however long it stays idle, and closed once the call has ended. It
// runs about 35 s: the call must outlive its INVITE transaction.
func TestSIPTCPIdleKeepsLiveCall(t *testing.T) {
	h := newHarness(t, func(c *config.Config) {
		c.SIP.Listen = []string{"udp://127.0.0.1:0", "tcp://127.0.0.1:0"}
		c.SIP.TCPIdleTimeout = 500 * time.Millisecond
	})
	addr, _ := h.node.sip.Addr("tcp")
	caller, err := siptest.NewUA(h.ctx, siptest.Options{ListenAddr: "127.0.0.1:0", Transport: "tcp", User: "carrier"})
	if err != nil {
		t.Fatal(err)
	}
	defer caller.Close()
	farCall := h.answerNext(farHz)
	c, err := caller.Invite(h.ctx, "sip:+15550100@"+addr+";transport=tcp", siptest.InviteOptions{ToneHz: callerHz})
	if err != nil || c.Status() != 200 {
		t.Fatalf("tcp call: %v", err)
	}
	fc := h.waitCall(farCall)
	waitConns(t, h, "tcp", 1)
	// The INVITE's server transaction holds the connection too, until
	// Timer L (64*T1, RFC 6026) after the 200: let it end, so that only the
	// dialog keeps the connection in use. This waits out a protocol timer.
	<-time.After(64*sipmsg.T1 + 500*time.Millisecond)

	// An idle connection opened after the call's last message is closed
	// by the idle timeout: the call's connection has then been idle longer.
	idle, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer idle.Close()
	askOptions(t, idle, "tcp", addr, "idle1")
	if err := closedByPeer(idle); err != nil {
		t.Fatal("idle connection:", err)
	}
	if n := h.node.sip.AcceptedConns("tcp"); n != 1 {
		t.Fatalf("tcp connections open = %d, want 1: the live call's connection was closed", n)
	}
	waitTone(t, c, farHz, "tcp caller after the idle cut")

	if err := c.Hangup(h.ctx); err != nil {
		t.Fatal(err)
	}
	waitEnded(t, fc, "far end")
	// The call over, its connection is idle and nothing holds it.
	waitConns(t, h, "tcp", 0)
	if !strings.Contains(h.logs.String(), "SIP connection closed: idle") {
		t.Error("idle close not logged")
	}
}

// TestSIPTCPPerIPCap: the connection beyond sip.max_conns_per_ip from one
// address is closed at once and logged; the ones within it keep working.
func TestSIPTCPPerIPCap(t *testing.T) {
	h := newHarness(t, func(c *config.Config) {
		c.SIP.Listen = []string{"udp://127.0.0.1:0", "tcp://127.0.0.1:0"}
		c.SIP.MaxConnsPerIP = 2
	})
	addr, _ := h.node.sip.Addr("tcp")
	var conns []net.Conn
	defer func() {
		for _, c := range conns {
			c.Close()
		}
	}()
	for i := 0; i < 2; i++ {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		conns = append(conns, c)
	}
	waitConns(t, h, "tcp", 2)
	extra, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer extra.Close()
	if err := closedByPeer(extra); err != nil {
		t.Fatal("connection over the per-IP cap:", err)
	}
	if !strings.Contains(h.logs.String(), "SIP connection refused: limit reached") {
		t.Error("refusal not logged")
	}
	askOptions(t, conns[0], "tcp", addr, "cap1")
	askOptions(t, conns[1], "tcp", addr, "cap2")
	waitConns(t, h, "tcp", 2)
}
