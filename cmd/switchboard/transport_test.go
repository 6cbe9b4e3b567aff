package main

import (
	"bufio"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/emiago/sipgo"
	sipmsg "github.com/emiago/sipgo/sip"

	"github.com/switchboard-voice/switchboard/api"
	"github.com/switchboard-voice/switchboard/config"
	"github.com/switchboard-voice/switchboard/sip/siptest"
)

// TestTCPCaller: a carrier on TCP reaches a far end on UDP, audio both ways.
func TestTCPCaller(t *testing.T) {
	h := newHarness(t, func(c *config.Config) {
		c.SIP.Listen = []string{"udp://127.0.0.1:0", "tcp://127.0.0.1:0"}
	})
	tcpAddr, ok := h.node.sip.Addr("tcp")
	if !ok {
		t.Fatal("no tcp listener")
	}
	caller, err := siptest.NewUA(h.ctx, siptest.Options{ListenAddr: "127.0.0.1:0", Transport: "tcp", User: "carrier"})
	if err != nil {
		t.Fatal(err)
	}
	defer caller.Close()
	farCall := h.answerNext(farHz)
	c, err := caller.Invite(h.ctx, "sip:+15550100@"+tcpAddr+";transport=tcp", siptest.InviteOptions{ToneHz: callerHz})
	if err != nil || c.Status() != 200 {
		t.Fatalf("tcp call: %v", err)
	}
	fc := h.waitCall(farCall)
	waitTone(t, c, farHz, "tcp caller")
	waitTone(t, fc, callerHz, "far end")
	if err := c.Hangup(h.ctx); err != nil {
		t.Fatal(err)
	}
	waitEnded(t, fc, "far end")
}

// selfSigned writes a certificate and key for 127.0.0.1 into dir.
func selfSigned(t *testing.T, dir string) (certFile, keyFile string) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1),
		Subject:      pkix.Name{CommonName: "switchboard-test"},
		IPAddresses:  []net.IP{net.ParseIP("127.0.0.1")},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(time.Hour),
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	kb, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	certFile, keyFile = filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	if err := os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kb}), 0o600); err != nil {
		t.Fatal(err)
	}
	return certFile, keyFile
}

// TestTLSListener: the tls:// listener completes a handshake and answers OPTIONS.
func TestTLSListener(t *testing.T) {
	cert, key := selfSigned(t, t.TempDir())
	h := newHarness(t, func(c *config.Config) {
		c.SIP.Listen = []string{"udp://127.0.0.1:0", "tls://127.0.0.1:0"}
		c.SIP.TLS = config.TLS{Cert: cert, Key: key}
	})
	addr, ok := h.node.sip.Addr("tls")
	if !ok {
		t.Fatal("no tls listener")
	}
	conn, err := tls.DialWithDialer(&net.Dialer{Timeout: 2 * time.Second}, "tcp", addr, &tls.Config{InsecureSkipVerify: true})
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	local := conn.LocalAddr().String()
	msg := "OPTIONS sip:" + addr + ";transport=tls SIP/2.0\r\n" +
		"Via: SIP/2.0/TLS " + local + ";branch=z9hG4bK-tls1\r\n" +
		"From: <sip:probe@127.0.0.1>;tag=1\r\nTo: <sip:" + addr + ">\r\nCall-ID: tls1@test\r\n" +
		"CSeq: 1 OPTIONS\r\nMax-Forwards: 70\r\nContent-Length: 0\r\n\r\n"
	if _, err := conn.Write([]byte(msg)); err != nil {
		t.Fatal(err)
	}
	_ = conn.SetReadDeadline(time.Now().Add(3 * time.Second))
	line, err := bufio.NewReader(conn).ReadString('\n')
	if err != nil {
		t.Fatal(err)
	}
	if strings.TrimSpace(line) != "SIP/2.0 200 OK" {
		t.Fatalf("OPTIONS over TLS: %q", line)
	}
}

// registrar is a minimal SIP registrar on sipgo: it challenges the first
// REGISTER of each exchange and grants the requested expiry.
type registrar struct {
	addr      string
	registers atomic.Int32
	authed    atomic.Int32
	lastExp   atomic.Value
}

func startRegistrar(t *testing.T, ctx context.Context, user, pass string) *registrar {
	t.Helper()
	r := &registrar{}
	ua, err := sipgo.NewUA()
	if err != nil {
		t.Fatal(err)
	}
	srv, err := sipgo.NewServer(ua)
	if err != nil {
		t.Fatal(err)
	}
	srv.OnRegister(func(req *sipmsg.Request, tx sipmsg.ServerTransaction) {
		r.registers.Add(1)
		auth := req.GetHeader("Authorization")
		if auth == nil {
			res := sipmsg.NewResponseFromRequest(req, 401, "Unauthorized", nil)
			res.AppendHeader(sipmsg.NewHeader("WWW-Authenticate", `Digest realm="carrier", nonce="n`+time.Now().Format("150405.000")+`", algorithm=MD5, qop="auth"`))
			_ = tx.Respond(res)
			return
		}
		if !strings.Contains(auth.Value(), `username="`+user+`"`) {
			_ = tx.Respond(sipmsg.NewResponseFromRequest(req, 403, "Forbidden", nil))
			return
		}
		r.authed.Add(1)
		exp := "0"
		if h := req.GetHeader("Expires"); h != nil {
			exp = h.Value()
		}
		r.lastExp.Store(exp)
		res := sipmsg.NewResponseFromRequest(req, 200, "OK", nil)
		if c := req.Contact(); c != nil {
			cc := c.Clone()
			cc.Params.Add("expires", exp)
			res.AppendHeader(cc)
		}
		_ = tx.Respond(res)
	})
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	r.addr = pc.LocalAddr().String()
	go func() { _ = srv.ServeUDP(pc) }()
	t.Cleanup(func() { pc.Close(); ua.Close() })
	_ = pass
	return r
}

// TestOutboundRegister: the switch registers to its trunk with digest auth,
// shows the state in /metrics and refreshes before expiry.
func TestOutboundRegister(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	reg := startRegistrar(t, ctx, "switch", "regpw")
	h := newHarness(t, func(c *config.Config) {
		c.Trunks = append(c.Trunks, config.Trunk{Name: "reg", Outbound: &config.Outbound{
			URI:             "sip:" + reg.addr,
			Auth:            &config.Auth{Username: "switch", Password: "regpw"},
			Register:        true,
			RegisterExpires: 2 * time.Second,
		}})
	})
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) && h.metric(`switchboard_trunk_registered{state="registered",trunk="reg"}`) != "1" {
		time.Sleep(100 * time.Millisecond)
	}
	if got := h.metric(`switchboard_trunk_registered{state="registered",trunk="reg"}`); got != "1" {
		t.Fatalf("registration state metric = %s", got)
	}
	// Expiry 2 s: a refresh must come within ~1.6 s of the first.
	first := reg.authed.Load()
	time.Sleep(2500 * time.Millisecond)
	if reg.authed.Load() <= first {
		t.Fatalf("no refresh: %d authenticated REGISTERs", reg.authed.Load())
	}
	res, err := h.opsGet("/trunks")
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	var trunks []api.TrunkStatus
	if err := json.NewDecoder(res.Body).Decode(&trunks); err != nil {
		t.Fatal(err)
	}
	var found bool
	for _, tr := range trunks {
		if tr.Name == "reg" {
			found = true
			if tr.Registration != "registered" || tr.RegExpires == nil || time.Until(*tr.RegExpires) <= 0 {
				t.Errorf("GET /trunks: %+v", tr)
			}
		}
	}
	if !found || len(trunks) != 3 {
		t.Errorf("GET /trunks listed %d trunks, reg found %v", len(trunks), found)
	}
}
