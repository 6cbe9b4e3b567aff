package main

import (
	"fmt"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/switchboard-voice/switchboard/config"
	"github.com/switchboard-voice/switchboard/sip/siptest"
)

// rawPeer is a caller on a bare UDP socket, for messages the test UA would
// not build (many Vias, exact retransmissions).
type rawPeer struct {
	t    *testing.T
	conn net.PacketConn
	dst  *net.UDPAddr
	port int
}

func newRawPeer(t *testing.T, switchAddr string) *rawPeer {
	t.Helper()
	conn, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	dst, err := net.ResolveUDPAddr("udp", switchAddr)
	if err != nil {
		t.Fatal(err)
	}
	return &rawPeer{t: t, conn: conn, dst: dst, port: conn.LocalAddr().(*net.UDPAddr).Port}
}

// send writes msg with PORT replaced by the peer's port.
func (p *rawPeer) send(msg string) {
	p.t.Helper()
	msg = strings.ReplaceAll(msg, "PORT", fmt.Sprint(p.port))
	if _, err := p.conn.WriteTo([]byte(msg), p.dst); err != nil {
		p.t.Fatal(err)
	}
}

// expect reads until a response whose status line starts "SIP/2.0 code" and
// whose CSeq names method arrives, and returns it; it fails the test after
// wait. Other messages are skipped (retransmissions, provisional responses).
func (p *rawPeer) expect(code int, method string, wait time.Duration) string {
	p.t.Helper()
	msg, _ := p.read(fmt.Sprintf("%d to %s", code, method), wait, func(line, msg string) bool {
		return strings.HasPrefix(line, fmt.Sprintf("SIP/2.0 %d ", code)) && strings.HasSuffix(headerLine(msg, "CSeq"), " "+method)
	})
	return msg
}

// expectRequest reads until a request of method arrives and returns it with
// where it came from; it fails the test after wait. Other messages are
// skipped.
func (p *rawPeer) expectRequest(method string, wait time.Duration) (string, net.Addr) {
	p.t.Helper()
	return p.read(method, wait, func(line, _ string) bool { return strings.HasPrefix(line, method+" ") })
}

// read reads until match takes a message (its first line and all of it).
func (p *rawPeer) read(what string, wait time.Duration, match func(line, msg string) bool) (string, net.Addr) {
	p.t.Helper()
	buf := make([]byte, 65535)
	deadline := time.Now().Add(wait)
	var seen []string
	for {
		_ = p.conn.SetReadDeadline(deadline)
		n, from, err := p.conn.ReadFrom(buf)
		if err != nil {
			p.t.Fatalf("no %s within %v (saw %q)", what, wait, seen)
		}
		msg := string(buf[:n])
		line, _, _ := strings.Cut(msg, "\r\n")
		seen = append(seen, line)
		if match(line, msg) {
			return msg, from
		}
	}
}

// newRawFar is a far end on a bare UDP socket (point a trunk at its addr),
// for exchanges the test UA would not make (a 200 after a CANCEL).
func newRawFar(t *testing.T) *rawPeer {
	t.Helper()
	conn, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	return &rawPeer{t: t, conn: conn, port: conn.LocalAddr().(*net.UDPAddr).Port}
}

// addr is the peer's "host:port".
func (p *rawPeer) addr() string { return p.conn.LocalAddr().String() }

// reply answers req (as read by expectRequest from to) with code: its Via,
// From, Call-ID and CSeq, its To with toTag, then extra header lines
// ("Name: value\r\n" each) and body.
func (p *rawPeer) reply(req string, to net.Addr, code int, reason, toTag, extra, body string) {
	p.t.Helper()
	var b strings.Builder
	fmt.Fprintf(&b, "SIP/2.0 %d %s\r\n", code, reason)
	for _, l := range strings.Split(req, "\r\n") {
		switch name, _, _ := strings.Cut(l, ":"); name {
		case "Via", "From", "Call-ID", "CSeq":
			b.WriteString(l + "\r\n")
		case "To":
			if !strings.Contains(l, ";tag=") {
				l += ";tag=" + toTag
			}
			b.WriteString(l + "\r\n")
		}
	}
	fmt.Fprintf(&b, "%sContent-Length: %d\r\n\r\n%s", extra, len(body), body)
	if _, err := p.conn.WriteTo([]byte(b.String()), to); err != nil {
		p.t.Fatal(err)
	}
}

// largeInvite is an INVITE with an SDP offer that crossed hops proxies: one
// Via per hop, as a carrier's core leaves them. With 13 hops it is about
// 2 KB, over the 1300 bytes RFC 3261 §18.1.1 allows a UDP request, and so is
// every response to it (responses copy the Vias).
func largeInvite(id string, hops int) string {
	body := "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio 40000 RTP/AVP 0\r\na=rtpmap:0 PCMU/8000\r\n"
	var vias []string
	for i := 1; i < hops; i++ {
		vias = append(vias, fmt.Sprintf("Via: SIP/2.0/UDP sbc%d.core.carrier.example:5060;branch=z9hG4bK-%s-hop%d-4f1c8a27b6d3e950;received=192.0.2.%d;rport=5060", i, id, i, i))
	}
	msg := rawInvite(id, "", body)
	return strings.Replace(msg, "\r\nFrom:", "\r\n"+strings.Join(vias, "\r\n")+"\r\nFrom:", 1)
}

// inDialog builds a request within the dialog the 200 OK to largeInvite set up.
func inDialog(method, id, ok string, seq int) string {
	return strings.Join([]string{
		method + " sip:+15550100@127.0.0.1 SIP/2.0",
		"Via: SIP/2.0/UDP 127.0.0.1:PORT;branch=z9hG4bK-" + id + "-" + strings.ToLower(method),
		"From: <sip:+15551234@127.0.0.1>;tag=t" + id,
		headerLine(ok, "To"),
		"Call-ID: " + id + "@test",
		fmt.Sprintf("CSeq: %d %s", seq, method),
		"Max-Forwards: 70",
		"Content-Length: 0", "", "",
	}, "\r\n")
}

// waitNoLegs polls until the switch holds no SIP leg (bounded).
func waitNoLegs(t *testing.T, h *harness) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for h.node.sip.ActiveLegs() != 0 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if n := h.node.sip.ActiveLegs(); n != 0 {
		t.Fatalf("%d SIP legs left after the call", n)
	}
}

// TestLargeInviteOverUDP: an INVITE with 13 Vias is answered over UDP (100,
// 180, 200, each over 1300 bytes); its retransmissions, before and after the
// answer, never start a second outbound call; the call ends with no leg left.
func TestLargeInviteOverUDP(t *testing.T) {
	h := newHarness(t, nil)
	p := newRawPeer(t, h.sip)
	inv := largeInvite("big13", 13)
	if len(inv) <= 1300 {
		t.Fatalf("test INVITE is only %d bytes", len(inv))
	}
	p.send(inv)
	trying := p.expect(100, "INVITE", 3*time.Second)
	if n := strings.Count(trying, "\r\nVia: "); n != 13 {
		t.Errorf("100 Trying has %d Vias, want 13", n)
	}
	for range 3 { // the caller's Timer A retransmissions
		p.send(inv)
	}
	in := h.nextIncoming()
	if err := in.Ring(false); err != nil {
		t.Fatal(err)
	}
	p.expect(180, "INVITE", 3*time.Second)
	answered := make(chan *siptest.Call, 1)
	go func() {
		c, err := in.Answer(siptest.AnswerOptions{ToneHz: farHz})
		if err != nil {
			t.Errorf("far answer: %v", err)
		}
		answered <- c
	}()
	ok := p.expect(200, "INVITE", 5*time.Second)
	if len(ok) <= 1300 {
		t.Errorf("200 OK is %d bytes: the test does not cross the UDP limit", len(ok))
	}
	p.send(inDialog("ACK", "big13", ok, 1))
	fc := <-answered
	if fc == nil {
		t.FailNow()
	}
	// A retransmission that crossed our 200 on the wire.
	p.send(inv)
	p.send(inDialog("BYE", "big13", ok, 2))
	p.expect(200, "BYE", 3*time.Second)
	waitEnded(t, fc, "far end")
	waitNoLegs(t, h)
	select {
	case extra := <-h.far.Incoming():
		t.Fatalf("far end got a second INVITE (Call-ID %s)", extra.Request().CallID().Value())
	default:
	}
}

// TestLargeInviteCancelled: a caller with a large INVITE that gives up
// (CANCEL while the far end rings) gets 200 and 487, the far end a CANCEL,
// and no leg is left.
func TestLargeInviteCancelled(t *testing.T) {
	h := newHarness(t, nil)
	p := newRawPeer(t, h.sip)
	inv := largeInvite("bigcancel", 13)
	p.send(inv)
	p.expect(100, "INVITE", 3*time.Second)
	in := h.nextIncoming()
	if err := in.Ring(false); err != nil {
		t.Fatal(err)
	}
	p.expect(180, "INVITE", 3*time.Second)
	cancel := strings.Replace(strings.Replace(inv[:strings.Index(inv, "Content-Type:")], "INVITE sip:", "CANCEL sip:", 1), "CSeq: 1 INVITE", "CSeq: 1 CANCEL", 1) + "Content-Length: 0\r\n\r\n"
	p.send(cancel)
	p.expect(200, "CANCEL", 3*time.Second)
	final := p.expect(487, "INVITE", 3*time.Second)
	select {
	case <-in.Cancelled():
	case <-time.After(5 * time.Second):
		t.Fatal("far end got no CANCEL")
	}
	p.send(inDialog("ACK", "bigcancel", final, 1))
	waitNoLegs(t, h)
}

// TestLargeOutboundInviteOverTCP: an outbound INVITE over 1300 bytes (a long
// caller name) leaves over TCP to the far end's host and port, which takes
// UDP and TCP; the call works. With transport=udp in the trunk's URI the
// dial fails at once with the reason logged.
func TestLargeOutboundInviteOverTCP(t *testing.T) {
	far, err := siptest.NewUA(t.Context(), siptest.Options{ListenAddr: "127.0.0.1:0", User: "far", AlsoTCP: true})
	if err != nil {
		t.Fatal(err)
	}
	defer far.Close()
	for _, explicitUDP := range []bool{false, true} {
		t.Run(fmt.Sprintf("transport=udp:%v", explicitUDP), func(t *testing.T) {
			h := newHarness(t, func(c *config.Config) {
				c.SIP.Listen = []string{"udp://127.0.0.1:0", "tcp://127.0.0.1:0"}
				c.Trunks[1].Outbound.URI = "sip:" + far.Addr()
				if explicitUDP {
					c.Trunks[1].Outbound.URI += ";transport=udp"
				}
			})
			tcpAddr, _ := h.node.sip.Addr("tcp")
			caller, err := siptest.NewUA(h.ctx, siptest.Options{ListenAddr: "127.0.0.1:0", Transport: "tcp", User: "carrier"})
			if err != nil {
				t.Fatal(err)
			}
			defer caller.Close()
			name := strings.Repeat("Long Caller Name ", 80) // 1360 bytes
			type result struct {
				c   *siptest.Call
				err error
			}
			done := make(chan result, 1)
			go func() {
				c, err := caller.Invite(h.ctx, "sip:+15550100@"+tcpAddr+";transport=tcp",
					siptest.InviteOptions{ToneHz: callerHz, FromName: name})
				done <- result{c, err}
			}()
			if explicitUDP {
				r := <-done
				if r.err != nil || r.c.Status() != 503 {
					t.Fatalf("want 503, got %v %v", r.c, r.err)
				}
				if !strings.Contains(h.logs.String(), "asks for transport=udp, so it cannot move to TCP") {
					t.Error("no log line saying why the INVITE could not be sent")
				}
				return
			}
			var in *siptest.Incoming
			select {
			case in = <-far.Incoming():
			case <-time.After(10 * time.Second):
				t.Fatal("far end received no INVITE")
			}
			req := in.Request()
			if tp := req.Transport(); tp != "TCP" {
				t.Errorf("far end got the INVITE over %s, want TCP", tp)
			}
			if via := req.Via(); via == nil || via.Transport != "TCP" {
				t.Errorf("top Via %v, want transport TCP", via)
			}
			if len(req.String()) <= 1300 {
				t.Errorf("outbound INVITE is only %d bytes", len(req.String()))
			}
			if got := req.From().DisplayName; !strings.Contains(got, "Long Caller Name") {
				t.Errorf("From display name %q", got)
			}
			fc, err := in.Answer(siptest.AnswerOptions{ToneHz: farHz})
			if err != nil {
				t.Fatal(err)
			}
			r := <-done
			if r.err != nil || r.c.Status() != 200 {
				t.Fatalf("call: %v", r.err)
			}
			waitTone(t, r.c, farHz, "caller")
			waitTone(t, fc, callerHz, "far end")
			if err := r.c.Hangup(h.ctx); err != nil {
				t.Fatal(err)
			}
			waitEnded(t, fc, "far end")
			waitNoLegs(t, h)
		})
	}
}

// TestCallerTransportLost: a TCP caller whose connection closes before the
// final response is gone: the far end, still ringing, gets a CANCEL and no
// leg is left.
func TestCallerTransportLost(t *testing.T) {
	h := newHarness(t, func(c *config.Config) {
		c.SIP.Listen = []string{"udp://127.0.0.1:0", "tcp://127.0.0.1:0"}
	})
	tcpAddr, _ := h.node.sip.Addr("tcp")
	conn, err := net.Dial("tcp", tcpAddr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	port := conn.LocalAddr().(*net.TCPAddr).Port
	inv := strings.ReplaceAll(largeInvite("tcplost", 3), "SIP/2.0/UDP 127.0.0.1:PORT", "SIP/2.0/TCP 127.0.0.1:PORT")
	if _, err := conn.Write([]byte(strings.ReplaceAll(inv, "PORT", fmt.Sprint(port)))); err != nil {
		t.Fatal(err)
	}
	in := h.nextIncoming()
	if err := in.Ring(false); err != nil {
		t.Fatal(err)
	}
	// Read until the 180 has come back, then drop the connection.
	_ = conn.SetReadDeadline(time.Now().Add(5 * time.Second))
	var got strings.Builder
	buf := make([]byte, 4096)
	for !strings.Contains(got.String(), "SIP/2.0 180 ") {
		n, err := conn.Read(buf)
		if err != nil {
			t.Fatalf("no 180 over TCP: %v (got %q)", err, got.String())
		}
		got.Write(buf[:n])
	}
	conn.Close()
	select {
	case <-in.Cancelled():
	case <-time.After(5 * time.Second):
		t.Fatal("far end got no CANCEL after the caller's connection closed")
	}
	waitNoLegs(t, h)
}

// TestCancelCrossed200: the caller cancels a ringing call, and the far end
// (a raw peer) had answered before the switch's CANCEL reached it: it
// answers the CANCEL 200 and then sends its 200 to the INVITE. The switch
// ACKs that 200 and ends the far end's dialog with BYE; the caller gets its
// 487, and no leg is left.
func TestCancelCrossed200(t *testing.T) {
	far := newRawFar(t)
	h := newHarness(t, func(c *config.Config) {
		c.Trunks[1].Outbound.URI = "sip:" + far.addr() + ";transport=udp"
	})
	p := newRawPeer(t, h.sip)
	body := "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio 40000 RTP/AVP 0\r\na=rtpmap:0 PCMU/8000\r\n"
	inv := rawInvite("crossed", "", body)
	p.send(inv)
	farInv, from := far.expectRequest("INVITE", 5*time.Second)
	far.reply(farInv, from, 180, "Ringing", "far1", "", "")
	p.expect(180, "INVITE", 3*time.Second)

	head := inv[:strings.Index(inv, "Contact:")]
	p.send(strings.Replace(strings.Replace(head, "INVITE sip:", "CANCEL sip:", 1), "CSeq: 1 INVITE", "CSeq: 1 CANCEL", 1) +
		"Max-Forwards: 70\r\nContent-Length: 0\r\n\r\n")
	p.expect(200, "CANCEL", 3*time.Second)
	final := p.expect(487, "INVITE", 3*time.Second)
	p.send(inDialog("ACK", "crossed", final, 1))

	cancel, from := far.expectRequest("CANCEL", 5*time.Second)
	far.reply(cancel, from, 200, "OK", "far1", "", "")
	sdp := "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio 9 RTP/AVP 0\r\n"
	far.reply(farInv, from, 200, "OK", "far1", "Contact: <sip:far@"+far.addr()+">\r\nContent-Type: application/sdp\r\n", sdp)
	ack, _ := far.expectRequest("ACK", 5*time.Second)
	if !strings.Contains(headerLine(ack, "To"), "tag=far1") || !strings.HasSuffix(headerLine(ack, "CSeq"), " ACK") {
		t.Errorf("ACK for the late 200 is not in its dialog:\n%s", ack)
	}
	bye, from := far.expectRequest("BYE", 5*time.Second)
	if !strings.Contains(headerLine(bye, "To"), "tag=far1") {
		t.Errorf("BYE is not in the late 200's dialog:\n%s", bye)
	}
	far.reply(bye, from, 200, "OK", "far1", "", "")
	waitNoLegs(t, h)
}
