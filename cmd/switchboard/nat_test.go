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

// readRequestLine returns the first line of the next datagram conn gets
// within wait, or "" when none comes.
func readRequestLine(conn net.PacketConn, wait time.Duration) string {
	buf := make([]byte, 65535)
	_ = conn.SetReadDeadline(time.Now().Add(wait))
	n, _, err := conn.ReadFrom(buf)
	if err != nil {
		return ""
	}
	line, _, _ := strings.Cut(string(buf[:n]), "\r\n")
	return line
}

// TestNATCaller: a caller behind NAT advertises a private address in its
// Contact and Via (here a loopback socket that never answers) and asks for
// rport. Responses reach it at the address its requests came from, with
// received and rport in the Via (RFC 3581). With trunks[].inbound.nat the
// switch's BYE goes there too; without it, to the Contact as before.
func TestNATCaller(t *testing.T) {
	for _, nat := range []bool{true, false} {
		t.Run(fmt.Sprintf("nat=%v", nat), func(t *testing.T) {
			h := newHarness(t, func(c *config.Config) { c.Trunks[0].Inbound.NAT = nat })
			// The phone's private address: what its Contact and Via say.
			private, err := net.ListenPacket("udp", "127.0.0.1:0")
			if err != nil {
				t.Fatal(err)
			}
			defer private.Close()
			phone, err := siptest.NewUA(h.ctx, siptest.Options{User: "phone", Advertise: private.LocalAddr().String()})
			if err != nil {
				t.Fatal(err)
			}
			defer phone.Close()

			answered := h.answerNext(1000)
			c, err := phone.Invite(h.ctx, h.target("+15550100"), siptest.InviteOptions{ToneHz: 440})
			if err != nil {
				t.Fatal(err)
			}
			if c.Status() != 200 {
				t.Fatalf("INVITE from behind NAT got %d, want 200", c.Status())
			}
			via := c.Response().Via()
			if via.Port != private.LocalAddr().(*net.UDPAddr).Port {
				t.Fatalf("test set-up: the Via sent-by is %s:%d, want the private address", via.Host, via.Port)
			}
			_, phonePort, _ := net.SplitHostPort(phone.Addr())
			rport, _ := via.Params.Get("rport")
			received, _ := via.Params.Get("received")
			if rport != phonePort || received != "127.0.0.1" {
				t.Errorf("Via of the 200: rport=%q received=%q, want rport=%s received=127.0.0.1", rport, received, phonePort)
			}
			fc := h.waitCall(answered)
			waitTone(t, c, 1000, "caller")
			waitTone(t, fc, 440, "far end")

			// The far end hangs up: the switch sends BYE on the caller's leg.
			if err := fc.Hangup(h.ctx); err != nil {
				t.Fatal(err)
			}
			if nat {
				waitEnded(t, c, "NAT caller")
				if !c.ByeReceived() {
					t.Fatal("the caller's call ended without a BYE from the switch")
				}
				if line := readRequestLine(private, 0); line != "" {
					t.Errorf("the private Contact address got %q; with inbound.nat nothing goes there", line)
				}
				return
			}
			line := readRequestLine(private, 10*time.Second)
			if !strings.HasPrefix(line, "BYE ") {
				t.Fatalf("without inbound.nat the BYE goes to the Contact: it got %q", line)
			}
			if c.ByeReceived() {
				t.Error("without inbound.nat the BYE reached the source address too")
			}
		})
	}
}

// TestNATSymmetricResponse: a caller behind NAT that does not ask for rport
// (its Via names a private port) still gets its responses at the address
// its request came from when the trunk has inbound.nat; without it they go
// to the Via's port, as RFC 3261 §18.2.2 says.
func TestNATSymmetricResponse(t *testing.T) {
	for _, nat := range []bool{true, false} {
		t.Run(fmt.Sprintf("nat=%v", nat), func(t *testing.T) {
			h := newHarness(t, func(c *config.Config) { c.Trunks[0].Inbound.NAT = nat })
			private, err := net.ListenPacket("udp", "127.0.0.1:0")
			if err != nil {
				t.Fatal(err)
			}
			defer private.Close()
			privatePort := private.LocalAddr().(*net.UDPAddr).Port
			// A bad SDP body is refused (400) after the trunk is known.
			msg := strings.Replace(rawInvite("nat-sym", "", "not sdp"), "Via: SIP/2.0/UDP 127.0.0.1:PORT",
				fmt.Sprintf("Via: SIP/2.0/UDP 127.0.0.1:%d", privatePort), 1)
			got := rawExchange(t, h.sip, msg, 3*time.Second)
			if nat {
				if !strings.HasPrefix(got, "SIP/2.0 400 ") {
					t.Fatalf("with inbound.nat the response goes to the source address: got %q, want 400", got)
				}
				return
			}
			if got != "" {
				t.Fatalf("without inbound.nat the response went to the source address: %q", got)
			}
			for {
				line := readRequestLine(private, 3*time.Second)
				if line == "" {
					t.Fatal("without inbound.nat the response should go to the Via's port; nothing came")
				}
				if strings.HasPrefix(line, "SIP/2.0 400 ") {
					return
				}
			}
		})
	}
}

// TestResponseBeforeTrunkToViaPort: responses sent before the trunk is
// known (100 Trying, then 420 for an unsupported Require) to a request
// without rport go to the packet's source IP and the Via's sent-by port
// (RFC 3261 §18.2.2), even on a trunk with inbound.nat, which cannot apply
// before the trunk is identified. The Via names a private IP, so the
// response's Via gets received= the source IP (§18.2.1).
func TestResponseBeforeTrunkToViaPort(t *testing.T) {
	for _, nat := range []bool{true, false} {
		t.Run(fmt.Sprintf("nat=%v", nat), func(t *testing.T) {
			h := newHarness(t, func(c *config.Config) { c.Trunks[0].Inbound.NAT = nat })
			src := newRawPeer(t, h.sip)
			viaPort := newRawFar(t) // the port the Via names
			port := viaPort.conn.LocalAddr().(*net.UDPAddr).Port
			msg := strings.Replace(rawInvite("via-port", "", ""), "Via: SIP/2.0/UDP 127.0.0.1:PORT",
				fmt.Sprintf("Via: SIP/2.0/UDP 10.9.9.9:%d", port), 1)
			msg = strings.Replace(msg, "Max-Forwards: 70", "Max-Forwards: 70\r\nRequire: x-unknown", 1)
			src.send(msg)
			res := viaPort.expect(420, "INVITE", 3*time.Second)
			via := headerLine(res, "Via")
			if !strings.Contains(via, fmt.Sprintf("10.9.9.9:%d", port)) || !strings.Contains(via, "received=127.0.0.1") {
				t.Errorf("420's Via = %q, want the sent-by kept and received=127.0.0.1", via)
			}
			if line := readRequestLine(src.conn, 0); line != "" {
				t.Errorf("the request's source port got %q; without rport responses go to the Via's port", line)
			}
			select {
			case in := <-h.far.Incoming():
				t.Errorf("far end got an INVITE for a refused call: %s", in.Request().StartLine())
			default:
			}
		})
	}
}
