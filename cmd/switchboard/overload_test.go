package main

import (
	"context"
	"fmt"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/switchboard-voice/switchboard/config"
	"github.com/switchboard-voice/switchboard/sip/siptest"
)

// rawSource is a UDP socket on a loopback address of its own, sending
// requests to the switch and reading its answers.
type rawSource struct {
	t    testing.TB
	conn net.PacketConn
	port int
	dst  net.Addr

	mu      sync.Mutex
	answers map[string]int // first line -> count
	lines   chan string
}

func newRawSource(t testing.TB, ip, switchAddr string) *rawSource {
	t.Helper()
	conn, err := net.ListenPacket("udp", ip+":0")
	if err != nil {
		t.Fatal(err)
	}
	dst, err := net.ResolveUDPAddr("udp", switchAddr)
	if err != nil {
		t.Fatal(err)
	}
	r := &rawSource{t: t, conn: conn, port: conn.LocalAddr().(*net.UDPAddr).Port, dst: dst,
		answers: map[string]int{}, lines: make(chan string, 1024)}
	done := make(chan struct{})
	go func() {
		defer close(done)
		buf := make([]byte, 65535)
		for {
			n, _, err := conn.ReadFrom(buf)
			if err != nil {
				return
			}
			line, _, _ := strings.Cut(string(buf[:n]), "\r\n")
			if strings.HasPrefix(line, "SIP/2.0 100 ") {
				continue
			}
			full := string(buf[:n])
			r.mu.Lock()
			r.answers[line]++
			r.mu.Unlock()
			select {
			case r.lines <- full:
			default:
			}
		}
	}()
	t.Cleanup(func() { conn.Close(); <-done })
	return r
}

// send sends one request: method INVITE or REGISTER, to user, with its own
// Call-ID and branch.
func (r *rawSource) send(method, user, id string) {
	ip := r.conn.LocalAddr().(*net.UDPAddr).IP.String()
	host := fmt.Sprintf("%s:%d", ip, r.port)
	msg := strings.Join([]string{
		method + " sip:" + user + "@127.0.0.1 SIP/2.0",
		"Via: SIP/2.0/UDP " + host + ";branch=z9hG4bK-" + id,
		"From: <sip:flood@" + host + ">;tag=t" + id,
		"To: <sip:" + user + "@127.0.0.1>",
		"Call-ID: " + id + "@flood",
		"CSeq: 1 " + method,
		"Contact: <sip:flood@" + host + ">",
		"Max-Forwards: 70",
		"Content-Length: 0", "", "",
	}, "\r\n")
	if _, err := r.conn.WriteTo([]byte(msg), r.dst); err != nil {
		r.t.Errorf("send %s: %v", method, err)
	}
}

// next returns the next final response, or "" after wait.
func (r *rawSource) next(wait time.Duration) string {
	select {
	case l := <-r.lines:
		return l
	case <-time.After(wait):
		return ""
	}
}

func (r *rawSource) count(prefix string) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	n := 0
	for l, c := range r.answers {
		if strings.HasPrefix(l, prefix) {
			n += c
		}
	}
	return n
}

// TestUnknownSourceStateless: an INVITE from a source no trunk allows gets a
// 403 sent without a transaction (none is alive after it: a stateful 403
// would keep one for Timer H), is counted, and logged once per source
// however many come; with unknown_sources: drop it gets nothing.
func TestUnknownSourceStateless(t *testing.T) {
	h := newHarness(t, func(c *config.Config) { c.Trunks[0].Inbound.Allow = []string{"127.0.0.1/32"} })
	src := newRawSource(t, "127.0.0.2", h.sip)
	for i := range 3 {
		src.send("INVITE", "+15550100", fmt.Sprintf("unknown%d", i))
		res := src.next(5 * time.Second)
		if !strings.HasPrefix(res, "SIP/2.0 403 ") {
			t.Fatalf("INVITE %d from an unknown source: %q, want 403", i, res)
		}
		if to := headerLine(res, "To"); !strings.Contains(to, "tag=") {
			t.Errorf("403 without a To tag: %q", to)
		}
		if got := h.metric("switchboard_sip_server_transactions"); got != "0" {
			t.Fatalf("server transactions after a stateless 403 = %s, want 0", got)
		}
	}
	h.waitMetric(`switchboard_sip_screened_total{action="answered",method="INVITE",reason="unknown_source"}`, "3")
	if n := strings.Count(h.logs.String(), `msg="request screened"`); n != 1 {
		t.Errorf("%d log lines for 3 INVITEs from one unknown source, want 1", n)
	}
	// A trunk's own source still gets through.
	farCall := h.answerNext(farHz)
	c, err := h.caller.Invite(h.ctx, h.target("+15550100"), siptest.InviteOptions{})
	if err != nil || c.Status() != 200 {
		t.Fatalf("call from the trunk's address: %v", err)
	}
	h.hangup(c, h.waitCall(farCall))

	t.Run("tcp", func(t *testing.T) {
		h := newHarness(t, func(c *config.Config) {
			c.Trunks[0].Inbound.Allow = []string{"127.0.0.1/32"}
			c.SIP.Listen = append(c.SIP.Listen, "tcp://127.0.0.1:0")
		})
		addr, _ := h.node.sip.Addr("tcp")
		d := net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP("127.0.0.2")}, Timeout: 5 * time.Second}
		conn, err := d.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		host := conn.LocalAddr().String()
		msg := strings.Join([]string{
			"INVITE sip:+15550100@127.0.0.1 SIP/2.0",
			"Via: SIP/2.0/TCP " + host + ";branch=z9hG4bK-tcp1",
			"From: <sip:flood@" + host + ">;tag=tcp1",
			"To: <sip:+15550100@127.0.0.1>",
			"Call-ID: tcp1@flood",
			"CSeq: 1 INVITE",
			"Contact: <sip:flood@" + host + ";transport=tcp>",
			"Max-Forwards: 70",
			"Content-Length: 0", "", "",
		}, "\r\n")
		if _, err := conn.Write([]byte(msg)); err != nil {
			t.Fatal(err)
		}
		_ = conn.SetReadDeadline(time.Now().Add(5 * time.Second))
		buf := make([]byte, 4096)
		var got string
		for !strings.Contains(got, "\r\n\r\n") {
			n, err := conn.Read(buf)
			if err != nil {
				t.Fatalf("no answer over TCP: %v (read %q)", err, got)
			}
			got += string(buf[:n])
		}
		if !strings.HasPrefix(got, "SIP/2.0 403 ") {
			t.Fatalf("INVITE over TCP from an unknown source: %q", got)
		}
		if n := h.metric("switchboard_sip_server_transactions"); n != "0" {
			t.Errorf("server transactions after a stateless 403 over TCP = %s", n)
		}
	})

	t.Run("drop", func(t *testing.T) {
		h := newHarness(t, func(c *config.Config) {
			c.Trunks[0].Inbound.Allow = []string{"127.0.0.1/32"}
			c.SIP.UnknownSources = config.UnknownSourcesDrop
		})
		src := newRawSource(t, "127.0.0.2", h.sip)
		src.send("INVITE", "+15550100", "dropped")
		h.waitMetric(`switchboard_sip_screened_total{action="dropped",method="INVITE",reason="unknown_source"}`, "1")
		// A REGISTER from the same source is screened the same way; the
		// INVITE before it got no answer, or it would be read first.
		src.send("REGISTER", "flood", "dropped-reg")
		h.waitMetric(`switchboard_sip_screened_total{action="dropped",method="REGISTER",reason="unknown_source"}`, "1")
		if n := src.count("SIP/2.0"); n != 0 {
			t.Errorf("%d answers to dropped requests", n)
		}
	})
}

// TestTrunkCPSUnderFlood: a trunk's legitimate calls at 2 CPS for 2 s all
// get through while another source sends INVITEs at 10 times that rate,
// with node and trunk max_cps set just above the legitimate rate. The flood
// comes from a source no trunk allows (screened by the ACL before any
// budget is charged) or from one of the trunk's own addresses (throttled by
// sip.per_source_cps with 503s, never banned: what passes is charged to the
// trunk's and the node's max_cps).
func TestTrunkCPSUnderFlood(t *testing.T) {
	cases := []struct {
		name   string
		mutate func(c *config.Config)
		reason string // screened_total reason the flood must show
	}{
		{"unauthenticated", func(c *config.Config) {
			c.Trunks[0].Inbound.Allow = []string{"127.0.0.1/32"}
			c.Trunks[0].MaxCPS = 3
		}, "unknown_source"},
		{"trunk address", func(c *config.Config) {
			c.SIP.PerSourceCPS = 3
		}, "source_throttled"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t, func(c *config.Config) {
				c.SIP.MaxCPS = 6
				// The flood dials a number with no route: whatever of it is
				// let through gets 404, never a far-end call.
				c.Routes[0].Match.To = "+1555*"
				tc.mutate(c)
			})
			src := newRawSource(t, "127.0.0.2", h.sip)
			ctx, stop := context.WithCancel(h.ctx)
			flooded := make(chan int)
			go func() {
				n := 0
				tick := time.NewTicker(50 * time.Millisecond) // 20 INVITEs/s
				defer tick.Stop()
				for {
					select {
					case <-ctx.Done():
						flooded <- n
						return
					case <-tick.C:
						src.send("INVITE", "+19990000", fmt.Sprintf("flood%d", n))
						n++
					}
				}
			}()
			// Let the flood use whatever budget it can first.
			for src.count("SIP/2.0") < 4 {
				if h.ctx.Err() != nil {
					t.Fatal("no answers to the flood")
				}
				time.Sleep(10 * time.Millisecond)
			}
			answered := 0
			start := time.Now()
			for i := range 4 { // 2 CPS for 2 s
				if d := time.Until(start.Add(time.Duration(i) * 500 * time.Millisecond)); d > 0 {
					time.Sleep(d)
				}
				farCall := h.answerNext(farHz)
				c, err := h.caller.Invite(h.ctx, h.target(fmt.Sprintf("+155501%02d", i)), siptest.InviteOptions{})
				if err != nil {
					t.Fatalf("legit call %d: %v", i, err)
				}
				if c.Status() != 200 {
					t.Fatalf("legit call %d: %d %s (%d/4 answered before it)", i, c.Status(), c.Response().Reason, answered)
				}
				answered++
				h.hangup(c, h.waitCall(farCall))
			}
			stop()
			n := <-flooded
			if answered != 4 {
				t.Fatalf("legit calls answered: %d/4 under a flood of %d INVITEs", answered, n)
			}
			screened := h.metric(fmt.Sprintf(`switchboard_sip_screened_total{action="%s",method="INVITE",reason="%s"}`,
				map[bool]string{true: "dropped", false: "answered"}[tc.reason == "banned"], tc.reason))
			var k int
			if _, err := fmt.Sscan(screened, &k); err != nil || k < n/2 {
				t.Errorf("flood of %d: screened %s, want most of it", n, screened)
			}
		})
	}
}

// TestStateCap: with sip.max_transactions reached (a call in progress is two
// legs), a new INVITE gets a stateless 503 with Retry-After, and no RTP port
// is taken for it; the call's own BYE, in-dialog, still goes through.
func TestStateCap(t *testing.T) {
	h := newHarness(t, func(c *config.Config) { c.SIP.MaxTransactions = 2 })
	farCall := h.answerNext(farHz)
	c1, err := h.caller.Invite(h.ctx, h.target("+15550100"), siptest.InviteOptions{})
	if err != nil || c1.Status() != 200 {
		t.Fatalf("first call: %v", err)
	}
	fc := h.waitCall(farCall)
	ports := h.node.ports.InUse()
	c2, err := h.caller.Invite(h.ctx, h.target("+15550101"), siptest.InviteOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if c2.Status() != 503 || c2.Response().GetHeader("Retry-After") == nil {
		t.Fatalf("over the state cap: %d\n%s", c2.Status(), c2.Response())
	}
	if got := h.node.ports.InUse(); got != ports {
		t.Errorf("RTP ports in use %d -> %d across a 503 for the state cap", ports, got)
	}
	h.waitMetric(`switchboard_sip_screened_total{action="answered",method="INVITE",reason="state_cap"}`, "1")
	// In-dialog requests are not capped: the BYE over the cap ends the call.
	h.hangup(c1, fc)
}

// TestPerSourceBan: over sip.per_source_cps a source in no trunk's allow
// list (let through the ACL by a trunk taking digest from anywhere) gets one
// stateless 503 with Retry-After, then nothing while it is banned; the ban
// decays and the source is served again.
func TestPerSourceBan(t *testing.T) {
	h := newHarness(t, func(c *config.Config) {
		c.SIP.PerSourceCPS = 2
		c.SIP.PerSourceBan = 500 * time.Millisecond
		c.Trunks[0].Inbound.Allow = []string{"127.0.0.1/32"}
		c.Trunks = append(c.Trunks, config.Trunk{Name: "byoc", Codecs: []string{"PCMU"},
			Inbound: &config.Inbound{Auth: &config.Auth{Username: "byoc", Password: "secret"}}})
	})
	src := newRawSource(t, "127.0.0.3", h.sip)
	// REGISTER is rate-limited like INVITE; the switch answers it 405.
	for i := range 2 {
		src.send("REGISTER", "agent", fmt.Sprintf("reg%d", i))
		if res := src.next(5 * time.Second); !strings.HasPrefix(res, "SIP/2.0 405 ") {
			t.Fatalf("REGISTER %d within the budget: %q", i, res)
		}
	}
	src.send("REGISTER", "agent", "reg-over")
	res := src.next(5 * time.Second)
	if !strings.HasPrefix(res, "SIP/2.0 503 ") || headerLine(res, "Retry-After") == "" {
		t.Fatalf("REGISTER over the budget: %q, want 503 with Retry-After", res)
	}
	h.waitMetric("switchboard_sip_banned_sources", "1")
	src.send("REGISTER", "agent", "reg-banned")
	h.waitMetric(`switchboard_sip_screened_total{action="dropped",method="REGISTER",reason="banned"}`, "1")
	// Another source is not affected by the ban.
	other := newRawSource(t, "127.0.0.4", h.sip)
	other.send("REGISTER", "agent", "other")
	if res := other.next(5 * time.Second); !strings.HasPrefix(res, "SIP/2.0 405 ") {
		t.Fatalf("REGISTER from another source: %q", res)
	}
	h.waitMetric("switchboard_sip_banned_sources", "0") // decayed
	src.send("REGISTER", "agent", "reg-after")
	for {
		res := src.next(5 * time.Second)
		if res == "" {
			t.Fatal("no answer once the ban decayed")
		}
		if strings.Contains(res, "reg-after@flood") {
			if !strings.HasPrefix(res, "SIP/2.0 405 ") {
				t.Fatalf("after the ban: %q", res)
			}
			break
		}
	}
}

// TestPerSourceRateSparesTrunkAddress: a flood from an address in a
// trunk's inbound.allow (over UDP anyone can spoof a carrier's address)
// gets a stateless 503 with Retry-After for every request over
// sip.per_source_cps, is never banned, and is served again as soon as its
// budget refills, long before sip.per_source_ban would have ended.
func TestPerSourceRateSparesTrunkAddress(t *testing.T) {
	h := newHarness(t, func(c *config.Config) {
		c.SIP.PerSourceCPS = 2
		c.SIP.PerSourceBan = time.Hour
	})
	src := newRawSource(t, "127.0.0.3", h.sip) // in the carrier's 127.0.0.0/8
	for i := range 2 {
		src.send("REGISTER", "agent", fmt.Sprintf("reg%d", i))
		if res := src.next(5 * time.Second); !strings.HasPrefix(res, "SIP/2.0 405 ") {
			t.Fatalf("REGISTER %d within the budget: %q", i, res)
		}
	}
	for i := range 5 {
		src.send("REGISTER", "agent", fmt.Sprintf("over%d", i))
		res := src.next(5 * time.Second)
		if !strings.HasPrefix(res, "SIP/2.0 503 ") || headerLine(res, "Retry-After") == "" {
			t.Fatalf("REGISTER %d over the budget from a trunk address: %q, want 503 with Retry-After", i, res)
		}
	}
	h.waitMetric(`switchboard_sip_screened_total{action="answered",method="REGISTER",reason="source_throttled"}`, "5")
	if got := h.metric("switchboard_sip_banned_sources"); got != "0" {
		t.Errorf("banned sources = %s after a trunk address's flood, want 0", got)
	}
	// The budget refills at 2/s: within a few seconds a request passes.
	deadline := time.Now().Add(5 * time.Second)
	for i := 0; ; i++ {
		id := fmt.Sprintf("later%d", i)
		src.send("REGISTER", "agent", id)
		res := src.next(5 * time.Second)
		if res == "" {
			t.Fatalf("REGISTER %s from a trunk address got no answer (banned?)", id)
		}
		if strings.HasPrefix(res, "SIP/2.0 405 ") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("a trunk address is still refused 5 s after its flood: %q", res)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// TestScreenForgedACK: an ACK with a live call's Call-ID and the switch's
// tag but no From, from a source no trunk allows, reaches the screen's
// dialog lookup outside any recover: it is dropped, and the switch and the
// call go on.
func TestScreenForgedACK(t *testing.T) {
	h := newHarness(t, func(c *config.Config) { c.Trunks[0].Inbound.Allow = []string{"127.0.0.1/32"} })
	call := func() (*siptest.Call, *siptest.Call) {
		farCall := h.answerNext(farHz)
		c, err := h.caller.Invite(h.ctx, h.target("+15550100"), siptest.InviteOptions{ToneHz: callerHz})
		if err != nil || c.Status() != 200 {
			t.Fatalf("invite: %v status %d", err, c.Status())
		}
		return c, h.waitCall(farCall)
	}
	c, fc := call()
	src := newRawSource(t, "127.0.0.2", h.sip)
	host := fmt.Sprintf("127.0.0.2:%d", src.port)
	for _, method := range []string{"ACK"} {
		msg := strings.Join([]string{
			method + " sip:+15550100@127.0.0.1 SIP/2.0",
			"Via: SIP/2.0/UDP " + host + ";branch=z9hG4bK-forged" + method,
			"To: <sip:+15550100@127.0.0.1>;tag=" + c.RemoteTag(),
			"Call-ID: " + c.CallID(),
			"CSeq: 1 " + method,
			"Max-Forwards: 70",
			"Content-Length: 0", "", "",
		}, "\r\n")
		if _, err := src.conn.WriteTo([]byte(msg), src.dst); err != nil {
			t.Fatal(err)
		}
	}
	// Still serving: the call hangs up cleanly, and a new one connects.
	h.hangup(c, fc)
	c2, fc2 := call()
	h.hangup(c2, fc2)
}

// rawRequest is a request from r with a To tag (a dialog's, or a forged one)
// or none.
func (r *rawSource) rawRequest(method, toTag, id string) {
	ip := r.conn.LocalAddr().(*net.UDPAddr).IP.String()
	host := fmt.Sprintf("%s:%d", ip, r.port)
	to := "To: <sip:+15550100@127.0.0.1>"
	if toTag != "" {
		to += ";tag=" + toTag
	}
	msg := strings.Join([]string{
		method + " sip:+15550100@127.0.0.1 SIP/2.0",
		"Via: SIP/2.0/UDP " + host + ";branch=z9hG4bK-" + id,
		"From: <sip:stray@" + host + ">;tag=f" + id,
		to,
		"Call-ID: " + id + "@stray",
		"CSeq: 1 " + method,
		"Max-Forwards: 70",
		"Content-Length: 0", "", "",
	}, "\r\n")
	if _, err := r.conn.WriteTo([]byte(msg), r.dst); err != nil {
		r.t.Fatal(err)
	}
}

// TestScreenStrayRequests: requests that match nothing never get a server
// transaction: a CANCEL of no INVITE gets a stateless 481 (RFC 3261 §9.2)
// from a trunk's source and nothing from a stranger; an in-dialog request
// of no dialog of ours is screened like an INVITE (403 from a stranger).
func TestScreenStrayRequests(t *testing.T) {
	h := newHarness(t, func(c *config.Config) { c.Trunks[0].Inbound.Allow = []string{"127.0.0.1/32"} })
	known := newRawSource(t, "127.0.0.1", h.sip)
	stranger := newRawSource(t, "127.0.0.2", h.sip)
	for _, tc := range []struct {
		src         *rawSource
		method, tag string
		want        string // first line prefix; "" = no answer
	}{
		{known, "CANCEL", "", "SIP/2.0 481 "},
		{stranger, "CANCEL", "", ""},
		{stranger, "BYE", "forged", "SIP/2.0 403 "},
		{stranger, "INFO", "forged", "SIP/2.0 403 "},
		{known, "BYE", "forged", "SIP/2.0 481 "}, // through to the handler: no such dialog
	} {
		id := fmt.Sprintf("%s-%s-%d", tc.method, tc.tag, tc.src.port)
		tc.src.rawRequest(tc.method, tc.tag, id)
		wait := 5 * time.Second
		if tc.want == "" {
			wait = time.Second // nothing is to come: bounded, not synchronising
		}
		res := tc.src.next(wait)
		if got, _, _ := strings.Cut(res, "\r\n"); !strings.HasPrefix(got+" ", tc.want) || (tc.want == "") != (res == "") {
			t.Errorf("%s (To tag %q) from %v: got %q, want %q", tc.method, tc.tag, tc.src.conn.LocalAddr(), got, tc.want)
		}
		if tc.want != "SIP/2.0 481 " || tc.src != known || tc.method != "BYE" {
			if got := h.metric("switchboard_sip_server_transactions"); got != "0" {
				t.Errorf("%s from %v: %s server transactions, want 0 (answered statelessly or dropped)", tc.method, tc.src.conn.LocalAddr(), got)
			}
		}
	}
}

// TestStatelessTagStable: a retransmitted request gets the same To tag in
// its stateless answer (RFC 3261 §8.2.7); another request another tag.
func TestStatelessTagStable(t *testing.T) {
	h := newHarness(t, func(c *config.Config) { c.Trunks[0].Inbound.Allow = []string{"127.0.0.1/32"} })
	src := newRawSource(t, "127.0.0.2", h.sip)
	var tags []string
	for _, id := range []string{"same", "same", "other"} {
		src.send("INVITE", "+15550100", id)
		res := src.next(5 * time.Second)
		if !strings.HasPrefix(res, "SIP/2.0 403 ") {
			t.Fatalf("INVITE %s: %q, want 403", id, res)
		}
		_, tag, _ := strings.Cut(headerLine(res, "To"), "tag=")
		tags = append(tags, tag)
	}
	if tags[0] == "" || tags[0] != tags[1] || tags[2] == tags[0] {
		t.Errorf("To tags %q: want one tag for the retransmission and another for the new request", tags)
	}
}
