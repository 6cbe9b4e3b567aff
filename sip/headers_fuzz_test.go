package sip

import (
	"strings"
	"testing"

	"github.com/emiago/sipgo/sip"

	"github.com/switchboard-voice/switchboard/call"
)

// FuzzHeaderValues feeds the hand-written parsers of header values the
// switch reads from its peers (Reason, RAck, RSeq, Session-Expires, Min-SE,
// option tags) with one value each; seeded from real messages' headers.
// They must not panic, and what they accept must be in range.
func FuzzHeaderValues(f *testing.F) {
	for _, seed := range []string{
		`Q.850;cause=16;text="Normal call clearing"`,
		`SIP;cause=200;text="Call completed elsewhere", Q.850;cause=17`,
		`Q.850 ; cause = 31 ; text = "a \"quoted\" ; text"`,
		`Q.850;cause=0`, `Q.850;cause=128`, `Q.850;cause=-1;text="`,
		"776656 1 INVITE", "1 314159 INVITE", "0 1 INVITE", "4294967296 1 INVITE",
		"1800;refresher=uac", "90", "4294967296;refresher=uas", ";refresher=", "1800 ; refresher = uas",
		"100rel, timer", "timer,,, 100rel", "",
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, v string) {
		req := sip.NewRequest(sip.INVITE, sip.Uri{Scheme: "sip", User: "a", Host: "127.0.0.1"})
		res := sip.NewResponse(183, "Session Progress")
		for _, name := range []string{"Reason", "Session-Expires", "Min-SE", "Require", "Supported", "Allow"} {
			req.AppendHeader(sip.NewHeader(name, v))
		}
		res.AppendHeader(sip.NewHeader("RSeq", v))

		c := withQ850(call.Cause{Code: 200, Reason: "OK"}, req)
		if c.Q850 != 0 && (c.Q850 < 1 || c.Q850 > 127) {
			t.Fatalf("Q.850 cause %d out of range from %q", c.Q850, v)
		}
		for _, rv := range reasonValues(c, true) {
			if strings.ContainsAny(rv, "\r\n") {
				t.Fatalf("a Reason value we would send has a line break: %q (from %q)", rv, v)
			}
		}
		if rseq, _, _, err := parseRAck(v); err == nil && rseq == 0 {
			t.Fatalf("RAck %q accepted with RSeq 0", v)
		}
		if n, ok := parseRSeq(res); ok && n == 0 {
			t.Fatalf("RSeq %q accepted as 0", v)
		}
		if secs, _, ok := sessionExpires(req); ok && secs < 0 {
			t.Fatalf("Session-Expires %q read as %d", v, secs)
		}
		if n := minSE(req); n < 0 {
			t.Fatalf("Min-SE %q read as %d", v, n)
		}
		_ = unsupportedExtensions(req)
		_ = supportsTimer(req)
		_ = lacksUpdate(req)
	})
}
