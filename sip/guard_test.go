package sip

import (
	"strings"
	"testing"
)

func TestScreen(t *testing.T) {
	inv := "INVITE sip:1@h SIP/2.0\r\nVia: SIP/2.0/UDP h;branch=z9hG4bK1\r\nCall-ID: c\r\nCSeq: 1 INVITE\r\nContent-Length: 4\r\n\r\nbody"
	cases := []struct {
		msg  string
		code int
	}{
		{inv, 0},
		{strings.Replace(inv, "Content-Length: 4", "Content-Length: 40", 1), 400},
		{strings.Replace(inv, "Content-Length: 4", "l: 40", 1), 400},
		{"SIP/2.0 200 OK\r\nContent-Length: 40\r\n\r\nx", -1},
		{"INVITE sip:1@h SIP/2.0\r\nVia: x", 400},
		{"hello world", -1},
		{"invite sip:1@h SIP/2.0\r\n\r\n", 0}, // an extension method (methods are case-sensitive tokens)
		{"INVITE  sip:1@h  SIP/2.0\r\n\r\n", 400},
		{"INVITE sip:1@h; lr SIP/2.0\r\n\r\n", 400},
		{"OPTIONS sip:1@h SIP/2.0  \r\n\r\n", 400},
		{"INVITE sip:1@h SIP/3.0\r\n\r\n", 505},
		{inv + strings.Repeat("x", maxDatagram), 513},
	}
	for _, c := range cases {
		if got, why := screen([]byte(c.msg)); got != c.code {
			t.Errorf("screen(%q...) = %d (%s), want %d", firstLine([]byte(c.msg), 40), got, why, c.code)
		}
	}
	res := statelessResponse([]byte(strings.Replace(inv, "Content-Length: 4", "Content-Length: 40", 1)), 400, "truncated")
	for _, want := range []string{"SIP/2.0 400 Bad Request - truncated\r\n", "Via: SIP/2.0/UDP h;branch=z9hG4bK1\r\n", "Call-ID: c\r\n", "CSeq: 1 INVITE\r\n", "Content-Length: 0\r\n\r\n"} {
		if !strings.Contains(string(res), want) {
			t.Errorf("stateless response lacks %q:\n%s", want, res)
		}
	}
}

// FuzzScreen: no datagram may panic the guard, and what it answers is a
// well-formed response start line.
func FuzzScreen(f *testing.F) {
	f.Add([]byte("INVITE sip:1@h SIP/2.0\r\nVia: SIP/2.0/UDP h\r\nContent-Length: 9\r\n\r\nx"))
	f.Add([]byte("SIP/2.0 180 Ringing\r\n\r\n"))
	f.Add([]byte("OPTIONS sip:h SIP/2.0\n\nl: -1\n"))
	f.Add([]byte{0, 1, 2, 3, 4, 5})
	f.Fuzz(func(t *testing.T, b []byte) {
		code, why := screen(b)
		if code > 0 {
			if res := statelessResponse(b, code, why); res != nil && !strings.HasPrefix(string(res), "SIP/2.0 ") {
				t.Fatalf("bad response %q", res)
			}
		}
	})
}
