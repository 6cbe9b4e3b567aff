package main

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/switchboard-voice/switchboard/config"
	"github.com/switchboard-voice/switchboard/sip/siptest"
)

// rawExchange sends one datagram to the switch and returns the first line of
// the first final (non-100) response, or "" when none comes within wait.
func rawExchange(t *testing.T, switchAddr, msg string, wait time.Duration) string {
	t.Helper()
	conn, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	port := conn.LocalAddr().(*net.UDPAddr).Port
	msg = strings.ReplaceAll(msg, "PORT", fmt.Sprint(port))
	dst, _ := net.ResolveUDPAddr("udp", switchAddr)
	if _, err := conn.WriteTo([]byte(msg), dst); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 65535)
	deadline := time.Now().Add(wait)
	for {
		_ = conn.SetReadDeadline(deadline)
		n, _, err := conn.ReadFrom(buf)
		if err != nil {
			return ""
		}
		line, _, _ := strings.Cut(string(buf[:n]), "\r\n")
		if !strings.HasPrefix(line, "SIP/2.0 100 ") {
			return line
		}
	}
}

func rawInvite(id string, drop string, body string) string {
	lines := []string{
		"INVITE sip:+15550100@127.0.0.1 SIP/2.0",
		"Via: SIP/2.0/UDP 127.0.0.1:PORT;branch=z9hG4bK-" + id,
		"From: <sip:+15551234@127.0.0.1>;tag=t" + id,
		"To: <sip:+15550100@127.0.0.1>",
		"Call-ID: " + id + "@test",
		"CSeq: 1 INVITE",
		"Contact: <sip:caller@127.0.0.1:PORT>",
		"Max-Forwards: 70",
	}
	var out []string
	for _, l := range lines {
		if drop != "" && strings.HasPrefix(l, drop+":") {
			continue
		}
		out = append(out, l)
	}
	if body != "" {
		out = append(out, "Content-Type: application/sdp")
	}
	out = append(out, fmt.Sprintf("Content-Length: %d", len(body)), "", body)
	return strings.Join(out, "\r\n")
}

// TestMalformedInput: bad datagrams get 400/513 or are dropped with a log
// line, and the switch keeps serving calls.
func TestMalformedInput(t *testing.T) {
	h := newHarness(t, nil)
	big := strings.Replace(rawInvite("big", "", ""), "Max-Forwards: 70", "X-Pad: "+strings.Repeat("x", 20000)+"\r\nMax-Forwards: 70", 1)
	cases := []struct {
		name, msg, want string
	}{
		{"garbage", "hello world\r\n\r\n", ""},
		{"binary", string([]byte{0x80, 0x00, 0xff, 0x13, 0x37, 0x42, 0x99, 0x01}), ""},
		{"missing Call-ID", rawInvite("m1", "Call-ID", ""), "SIP/2.0 400 "},
		{"missing From", rawInvite("m2", "From", ""), "SIP/2.0 400 "},
		{"missing To", rawInvite("m3", "To", ""), "SIP/2.0 400 "},
		{"missing CSeq", rawInvite("m4", "CSeq", ""), "SIP/2.0 400 "},
		{"truncated body", strings.Replace(rawInvite("m5", "", ""), "Content-Length: 0", "Content-Length: 300", 1), "SIP/2.0 400 "},
		{"oversized", big, "SIP/2.0 513 "},
		{"bad SDP", rawInvite("m6", "", "v=0\r\nthis is not sdp\r\n"), "SIP/2.0 400 "},
		{"SDP without audio", rawInvite("m7", "", "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=video 5000 RTP/AVP 96\r\n"), "SIP/2.0 400 "},
		{"non-SDP body", strings.Replace(rawInvite("m8", "", "hello"), "application/sdp", "text/plain", 1), "SIP/2.0 415 "},
		{"SRTP offer", rawInvite("m10", "", "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio 5000 RTP/SAVP 0\r\na=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:WVNfX19zZW1jdGwgKCkgewkyMjA7fQp9CnVubGVz\r\n"), "SIP/2.0 488 "},
		{"unsupported extension", strings.Replace(rawInvite("m11", "", ""), "Max-Forwards: 70", "Require: x-unknown-ext\r\nMax-Forwards: 70", 1), "SIP/2.0 420 "},
		{"max-forwards zero", strings.Replace(rawInvite("m9", "", ""), "Max-Forwards: 70", "Max-Forwards: 0", 1), "SIP/2.0 483 "},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			wait := 2 * time.Second
			if tc.want == "" {
				wait = 300 * time.Millisecond
			}
			got := rawExchange(t, h.sip, tc.msg, wait)
			if tc.want == "" && got != "" {
				t.Fatalf("got %q, want no response", got)
			}
			if !strings.HasPrefix(got, tc.want) {
				t.Fatalf("got %q, want %q...", got, tc.want)
			}
		})
	}
	if !strings.Contains(h.logs.String(), "malformed SIP datagram") {
		t.Error("no log line for dropped datagrams")
	}
	// OPTIONS to the switch: 200.
	opts := "OPTIONS sip:127.0.0.1 SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:PORT;branch=z9hG4bK-o1\r\nFrom: <sip:a@127.0.0.1>;tag=1\r\nTo: <sip:127.0.0.1>\r\nCall-ID: o1\r\nCSeq: 1 OPTIONS\r\nMax-Forwards: 70\r\nContent-Length: 0\r\n\r\n"
	if got := rawExchange(t, h.sip, opts, 2*time.Second); got != "SIP/2.0 200 OK" {
		t.Errorf("OPTIONS: %q", got)
	}
	// Still serving: a real call works.
	farCall := h.answerNext(farHz)
	c, err := h.caller.Invite(h.ctx, h.target("+15550100"), siptest.InviteOptions{ToneHz: callerHz})
	if err != nil || c.Status() != 200 {
		t.Fatalf("call after bad input: %v", err)
	}
	fc := h.waitCall(farCall)
	waitTone(t, c, farHz, "caller")
	h.hangup(c, fc)
}

// TestRejections: each edge check answers with its own code.
func TestRejections(t *testing.T) {
	cases := []struct {
		name   string
		mutate func(c *config.Config)
		to     string
		opts   siptest.InviteOptions
		want   int
		header string // a header the response must carry
	}{
		{"unknown source", func(c *config.Config) { c.Trunks[0].Inbound.Allow = []string{"127.0.0.2/32"} }, "+15550100", siptest.InviteOptions{}, 403, ""},
		{"number not served", func(c *config.Config) { c.Trunks[0].Inbound.Numbers = []string{"+4420*"} }, "+15550100", siptest.InviteOptions{}, 404, ""},
		{"no route", func(c *config.Config) { c.Routes[0].Match.To = "+4420*" }, "+15550100", siptest.InviteOptions{}, 404, ""},
		{"no codec in common", func(c *config.Config) { c.Trunks[0].Codecs = []string{"PCMU"} }, "+15550100", siptest.InviteOptions{Codecs: []string{"PCMA"}}, 488, ""},
		{"node max_cps", func(c *config.Config) { c.SIP.MaxCPS = 0.001 }, "+15550100", siptest.InviteOptions{}, 503, "Retry-After"},
		{"trunk max_cps", func(c *config.Config) { c.Trunks[0].MaxCPS = 0.001 }, "+15550100", siptest.InviteOptions{}, 503, "Retry-After"},
		{"hangup action", func(c *config.Config) {
			c.Flows["out"] = []config.Action{{Hangup: &config.HangupAction{Code: 403, Reason: "Closed"}}}
		}, "+15550100", siptest.InviteOptions{}, 403, ""},
		{"outbound trunk unreachable", func(c *config.Config) {
			c.Trunks[1].Outbound.URI = "sip:127.0.0.1:9;transport=tcp"
		}, "+15550100", siptest.InviteOptions{}, 503, ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t, tc.mutate)
			if strings.HasSuffix(tc.name, "max_cps") {
				// The first call takes the only token; the second is over the limit.
				go func() {
					in := h.nextIncoming()
					_ = in.Reject(486, "Busy")
				}()
				if c, err := h.caller.Invite(h.ctx, h.target(tc.to), tc.opts); err != nil || c.Status() != 486 {
					t.Fatalf("first call: %v", err)
				}
			}
			c, err := h.caller.Invite(h.ctx, h.target(tc.to), tc.opts)
			if err != nil {
				t.Fatal(err)
			}
			if c.Status() != tc.want {
				t.Fatalf("got %d, want %d", c.Status(), tc.want)
			}
			if tc.header != "" && c.Response().GetHeader(tc.header) == nil {
				t.Errorf("response lacks %s:\n%s", tc.header, c.Response())
			}
		})
	}
}

// TestChannelLimit: max_channels 1 — a second call while the first is up gets 503 with Retry-After.
func TestChannelLimit(t *testing.T) {
	h := newHarness(t, func(c *config.Config) { c.Trunks[0].MaxChannels = 1 })
	farCall := h.answerNext(farHz)
	c1, err := h.caller.Invite(h.ctx, h.target("+15550100"), siptest.InviteOptions{})
	if err != nil || c1.Status() != 200 {
		t.Fatalf("first call: %v", err)
	}
	fc := h.waitCall(farCall)
	c2, err := h.caller.Invite(h.ctx, h.target("+15550101"), siptest.InviteOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if c2.Status() != 503 || c2.Response().GetHeader("Retry-After") == nil {
		t.Fatalf("second call: %d\n%s", c2.Status(), c2.Response())
	}
	if got := h.metric(`switchboard_trunk_channels_in_use{trunk="carrier"}`); got != "1" {
		t.Errorf("channels in use = %s", got)
	}
	h.hangup(c1, fc)
	// The channel is free again (released as the caller's leg is cleaned up).
	h.waitMetric(`switchboard_trunk_channels_in_use{trunk="carrier"}`, "0")
	farCall = h.answerNext(farHz)
	c3, err := h.caller.Invite(h.ctx, h.target("+15550102"), siptest.InviteOptions{})
	if err != nil || c3.Status() != 200 {
		t.Fatalf("third call: %v %d", err, c3.Status())
	}
	h.hangup(c3, h.waitCall(farCall))
}

// TestInboundDigestAuth: a trunk identified by credentials challenges,
// accepts the right password and refuses a wrong one with 403.
func TestInboundDigestAuth(t *testing.T) {
	h := newHarness(t, func(c *config.Config) {
		c.Trunks[0].Inbound = &config.Inbound{Auth: &config.Auth{Username: "alice", Password: "s3cret"}}
	})
	// No credentials: the challenge comes back.
	c, err := h.caller.Invite(h.ctx, h.target("+15550100"), siptest.InviteOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if c.Status() != 401 || c.Response().GetHeader("WWW-Authenticate") == nil {
		t.Fatalf("no credentials: %d\n%s", c.Status(), c.Response())
	}
	c, err = h.caller.Invite(h.ctx, h.target("+15550100"), siptest.InviteOptions{Username: "alice", Password: "wrong"})
	if err != nil {
		t.Fatal(err)
	}
	if c.Status() != 403 {
		t.Fatalf("wrong password: %d, want 403", c.Status())
	}
	farCall := h.answerNext(farHz)
	c, err = h.caller.Invite(h.ctx, h.target("+15550100"), siptest.InviteOptions{Username: "alice", Password: "s3cret", ToneHz: callerHz})
	if err != nil || c.Status() != 200 {
		t.Fatalf("good password: %v %d", err, c.Status())
	}
	fc := h.waitCall(farCall)
	waitTone(t, fc, callerHz, "far end")
	h.hangup(c, fc)
	// Three calls, each challenged first (the test UA answers a challenge
	// when it has credentials): two call attempts (the refused password and
	// the call), and the three challenges counted apart, not as rejections.
	h.waitMetric("switchboard_call_attempts_total", "2")
	h.waitMetric(`switchboard_sip_challenges_total{code="401"}`, "3")
	h.waitMetric(`switchboard_calls_total{result="rejected"}`, "1")
	if got := h.metric(`switchboard_sip_rejections_total{code="401"}`); got != "<no "+`switchboard_sip_rejections_total{code="401"}`+">" {
		t.Errorf("a challenge was counted as a rejection: %s", got)
	}
}

// TestInboundProxyAuth: with challenge 407 the switch asks for
// Proxy-Authorization, and the caller's answer is accepted.
func TestInboundProxyAuth(t *testing.T) {
	h := newHarness(t, func(c *config.Config) {
		c.Trunks[0].Inbound = &config.Inbound{Auth: &config.Auth{Username: "alice", Password: "s3cret", Challenge: 407}}
	})
	c, err := h.caller.Invite(h.ctx, h.target("+15550100"), siptest.InviteOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if c.Status() != 407 || c.Response().GetHeader("Proxy-Authenticate") == nil {
		t.Fatalf("no credentials: %d\n%s", c.Status(), c.Response())
	}
	farCall := h.answerNext(farHz)
	c, err = h.caller.Invite(h.ctx, h.target("+15550100"), siptest.InviteOptions{Username: "alice", Password: "s3cret"})
	if err != nil || c.Status() != 200 {
		t.Fatalf("good password: %v %d", err, c.Status())
	}
	if c.Request().GetHeader("Proxy-Authorization") == nil {
		t.Errorf("caller did not answer with Proxy-Authorization:\n%s", c.Request())
	}
	h.hangup(c, h.waitCall(farCall))
	h.waitMetric("switchboard_call_attempts_total", "1") // the second call's challenged INVITE is not one
	h.waitMetric(`switchboard_sip_challenges_total{code="407"}`, "2")
}

// TestOutboundDigestAuth: the far-end trunk challenges the switch, which
// answers with the trunk's credentials.
func TestOutboundDigestAuth(t *testing.T) {
	h := newHarness(t, func(c *config.Config) {
		c.Trunks[1].Outbound.Auth = &config.Auth{Username: "switch", Password: "trunkpw"}
	})
	answered := make(chan *siptest.Call, 1)
	go func() {
		in := h.nextIncoming()
		if err := in.Challenge(407, "carrier"); err != nil {
			t.Errorf("challenge: %v", err)
		}
		in = h.nextIncoming()
		if !in.Authorized("switch", "trunkpw") {
			_ = in.Reject(403, "Forbidden")
			t.Errorf("retried INVITE not authorized:\n%s", in.Request())
			close(answered)
			return
		}
		c, err := in.Answer(siptest.AnswerOptions{ToneHz: farHz})
		if err != nil {
			t.Errorf("answer: %v", err)
		}
		answered <- c
	}()
	c, err := h.caller.Invite(h.ctx, h.target("+15550100"), siptest.InviteOptions{ToneHz: callerHz})
	if err != nil || c.Status() != 200 {
		t.Fatalf("call: %v %d", err, c.Status())
	}
	fc := h.waitCall(answered)
	waitTone(t, c, farHz, "caller")
	h.hangup(c, fc)
}

// TestOptionsKeepalive: a trunk that does not answer OPTIONS goes down and is
// not used (503); one that answers is up.
func TestOptionsKeepalive(t *testing.T) {
	dead, err := net.ListenPacket("udp", "127.0.0.1:0") // bound, never answers
	if err != nil {
		t.Fatal(err)
	}
	defer dead.Close()
	h := newHarness(t, func(c *config.Config) {
		c.Trunks[1].Outbound.OptionsPing = 200 * time.Millisecond
		c.Trunks = append(c.Trunks, config.Trunk{Name: "silent", Outbound: &config.Outbound{
			URI: "sip:" + dead.LocalAddr().String(), OptionsPing: 200 * time.Millisecond}})
		c.Routes = append([]config.Route{{Name: "silent", Match: config.RouteMatch{To: "+1999*"}, Flow: "silent"}}, c.Routes...)
		c.Flows["silent"] = []config.Action{{Dial: &config.DialAction{Trunk: "silent"}}}
	})
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) && h.metric(`switchboard_trunk_up{trunk="silent"}`) != "0" {
		time.Sleep(100 * time.Millisecond)
	}
	if got := h.metric(`switchboard_trunk_up{trunk="silent"}`); got != "0" {
		t.Fatalf("silent trunk up = %s, want 0", got)
	}
	if got := h.metric(`switchboard_trunk_up{trunk="far-end"}`); got != "1" {
		t.Errorf("far-end trunk up = %s, want 1", got)
	}
	c, err := h.caller.Invite(h.ctx, h.target("+19990000"), siptest.InviteOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if c.Status() != 503 {
		t.Errorf("call to a down trunk: %d, want 503", c.Status())
	}
}

// TestDrain: on shutdown new calls get 503, /healthz says draining, and
// calls still up after shutdown_timeout are ended with BYE on both legs.
func TestDrain(t *testing.T) {
	h := newHarness(t, func(c *config.Config) { c.ShutdownTimeout = 1500 * time.Millisecond })
	farCall := h.answerNext(farHz)
	c, err := h.caller.Invite(h.ctx, h.target("+15550100"), siptest.InviteOptions{ToneHz: callerHz})
	if err != nil || c.Status() != 200 {
		t.Fatalf("call: %v", err)
	}
	fc := h.waitCall(farCall)
	stopped := make(chan struct{})
	go func() {
		h.node.shutdown(context.Background())
		close(stopped)
	}()
	time.Sleep(200 * time.Millisecond)
	c2, err := h.caller.Invite(h.ctx, h.target("+15550101"), siptest.InviteOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if c2.Status() != 503 || c2.Response().GetHeader("Retry-After") == nil {
		t.Errorf("new call while draining: %d", c2.Status())
	}
	res, err := http.Get("http://" + h.node.http.Addr() + "/healthz")
	if err == nil {
		res.Body.Close()
		if res.StatusCode != http.StatusServiceUnavailable {
			t.Errorf("healthz while draining: %d", res.StatusCode)
		}
	}
	// The established call still carries audio during the drain.
	c.ResetAudio()
	waitTone(t, c, farHz, "caller during drain")
	waitEnded(t, c, "caller")
	waitEnded(t, fc, "far end")
	if !c.ByeReceived() || !fc.ByeReceived() {
		t.Errorf("BYE caller=%v far=%v", c.ByeReceived(), fc.ByeReceived())
	}
	select {
	case <-stopped:
	case <-time.After(10 * time.Second):
		t.Fatal("shutdown did not finish")
	}
}

// TestByeBeforeAck: a caller whose BYE overtakes its ACK (sipgo may deliver
// them in any order) ends the call at once; nothing waits for the lost ACK.
func TestByeBeforeAck(t *testing.T) {
	h := newHarness(t, nil)
	farCall := h.answerNext(farHz)
	conn, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	port := conn.LocalAddr().(*net.UDPAddr).Port
	sdp := "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio 9 RTP/AVP 0\r\n"
	inv := strings.ReplaceAll(rawInvite("ba1", "", sdp), "PORT", fmt.Sprint(port))
	dst, _ := net.ResolveUDPAddr("udp", h.sip)
	if _, err := conn.WriteTo([]byte(inv), dst); err != nil {
		t.Fatal(err)
	}
	var ok200 string
	buf := make([]byte, 65535)
	for ok200 == "" {
		_ = conn.SetReadDeadline(time.Now().Add(5 * time.Second))
		n, _, err := conn.ReadFrom(buf)
		if err != nil {
			t.Fatalf("no 200 OK: %v", err)
		}
		if msg := string(buf[:n]); strings.HasPrefix(msg, "SIP/2.0 200 ") {
			ok200 = msg
		}
	}
	toHdr := headerLine(ok200, "To")
	for _, m := range []struct {
		method, branch string
		seq            int
	}{{"BYE", "bye1", 2}, {"ACK", "ack1", 1}} {
		req := fmt.Sprintf("%s sip:x@%s SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:%d;branch=z9hG4bK-%s\r\nFrom: <sip:+15551234@127.0.0.1>;tag=tba1\r\n%s\r\nCall-ID: ba1@test\r\nCSeq: %d %s\r\nMax-Forwards: 70\r\nContent-Length: 0\r\n\r\n",
			m.method, h.sip, port, m.branch, toHdr, m.seq, m.method)
		if _, err := conn.WriteTo([]byte(req), dst); err != nil {
			t.Fatal(err)
		}
		time.Sleep(50 * time.Millisecond)
	}
	fc := h.waitCall(farCall)
	select {
	case <-fc.Ended():
	case <-time.After(5 * time.Second):
		t.Fatal("far end not released after the caller's BYE (waiting for the ACK?)")
	}
}

func headerLine(msg, name string) string {
	for _, l := range strings.Split(msg, "\r\n") {
		if strings.HasPrefix(l, name+":") {
			return l
		}
	}
	return ""
}

// TestReAckRetransmitted200: when the far end retransmits its 200 (our ACK
// was lost), the switch sends the ACK again.
func TestReAckRetransmitted200(t *testing.T) {
	far := newRawFar(t)
	h := newHarness(t, func(c *config.Config) {
		c.Trunks[1].Outbound.URI = "sip:" + far.addr() + ";transport=udp"
	})
	done := make(chan int, 1)
	go func() {
		c, err := h.caller.Invite(h.ctx, h.target("+15550100"), siptest.InviteOptions{})
		if err != nil {
			done <- -1
			return
		}
		done <- c.Status()
	}()
	inv, from := far.expectRequest("INVITE", 5*time.Second)
	sdp := "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio 9 RTP/AVP 0\r\n"
	ok := func() {
		far.reply(inv, from, 200, "OK", "far1", "Contact: <sip:far@"+far.addr()+">\r\nContent-Type: application/sdp\r\n", sdp)
	}
	ok()
	far.expectRequest("ACK", 5*time.Second)
	// Pretend the ACK was lost: retransmit the 200.
	ok()
	far.expectRequest("ACK", 5*time.Second)
	if got := recv(t, done, "caller's final response"); got != 200 {
		t.Fatalf("caller got %d", got)
	}
}
