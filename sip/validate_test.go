package sip

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/emiago/sipgo/sip"
)

// rfc4475Messages reads testdata/rfc4475/{valid,invalid}/*.sip.
func rfc4475Messages(t testing.TB) map[string][]byte {
	t.Helper()
	files, err := filepath.Glob(filepath.Join("..", "testdata", "rfc4475", "*", "*.sip"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no RFC 4475 messages: %v", err)
	}
	out := make(map[string][]byte, len(files))
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		out[filepath.Base(filepath.Dir(f))+"/"+strings.TrimSuffix(filepath.Base(f), ".sip")] = b
	}
	return out
}

// TestEdgeRFC4475 runs every RFC 4475 message through the UDP guard, the
// (forked) parser and checkRequest, and checks where each one is refused.
func TestEdgeRFC4475(t *testing.T) {
	// Where each message is refused: "screen" (the guard, before the parser),
	// "parse" (the parser), "check" (checkRequest) with its code, or "" for
	// a message that reaches the handlers.
	want := map[string]string{
		"valid/dblreq": "", "valid/esc01": "", "valid/esc02": "", "valid/escnull": "",
		"valid/intmeth": "", "valid/longreq": "", "valid/lwsdisp": "", "valid/mpart01": "",
		"valid/noreason": "", "valid/semiuri": "", "valid/transports": "", "valid/unreason": "",
		"valid/wsinv":      "",
		"invalid/badaspec": "parse", "invalid/badbranch": "", "invalid/baddate": "check 400",
		"invalid/baddn": "screen 400", "invalid/badinv01": "parse", "invalid/badvers": "screen 505",
		"invalid/bcast": "", "invalid/bext01": "", "invalid/bigcode": "parse", "invalid/clerr": "screen 400",
		"invalid/cparam01": "", "invalid/cparam02": "", "invalid/escruri": "check 400", "invalid/insuf": "",
		"invalid/inv2543": "", "invalid/invut": "", "invalid/ltgtruri": "parse", "invalid/lwsruri": "screen 400",
		"invalid/lwsstart": "screen 400", "invalid/mcl01": "check 400", "invalid/mismatch01": "check 400",
		"invalid/mismatch02": "check 400", "invalid/multi01": "check 400", "invalid/ncl": "parse",
		"invalid/novelsc": "check 416", "invalid/quotbal": "parse", "invalid/regaut01": "", "invalid/regbadct": "parse",
		"invalid/regescrt": "", "invalid/scalar02": "parse", "invalid/scalarlg": "parse", "invalid/sdp01": "",
		"invalid/trws": "screen 400", "invalid/unkscm": "check 416", "invalid/unksm2": "", "invalid/zeromf": "",
	}
	msgs := rfc4475Messages(t)
	for name, b := range msgs {
		got := edgeVerdict(b)
		w, ok := want[name]
		if !ok {
			t.Errorf("%s: no expectation", name)
			continue
		}
		if got != w {
			t.Errorf("%s: %q, want %q", name, got, w)
		}
	}
	if len(msgs) != len(want) {
		t.Errorf("%d messages, %d expectations", len(msgs), len(want))
	}
}

// edgeVerdict is where the edge refuses b, as in TestEdgeRFC4475.
func edgeVerdict(b []byte) string {
	if code, _ := screen(b); code != 0 {
		return "screen " + itoa(code)
	}
	msg, err := sip.NewParser().ParseSIP(b)
	if err != nil {
		return "parse"
	}
	if req, ok := msg.(*sip.Request); ok {
		if code, _ := checkRequest(req); code != 0 {
			return "check " + itoa(code)
		}
	}
	return ""
}

func itoa(n int) string { return strconv.Itoa(n) }

func TestCheckRequestDuplicates(t *testing.T) {
	base := "OPTIONS sip:u@h SIP/2.0\r\nVia: SIP/2.0/UDP h;branch=z9hG4bK1\r\nFrom: <sip:a@h>;tag=1\r\n" +
		"To: <sip:u@h>\r\nCall-ID: c1\r\nCSeq: 1 OPTIONS\r\nMax-Forwards: 70\r\nContent-Length: 0\r\n"
	cases := map[string]int{
		"":                          0,
		"Call-ID: c2\r\n":           400,
		"i: c2\r\n":                 400,
		"From: <sip:b@h>;tag=2\r\n": 400,
		"t: <sip:v@h>\r\n":          400,
		"CSeq: 2 OPTIONS\r\n":       400,
		"Max-Forwards: 69\r\n":      400,
		"l: 0\r\n":                  400,
		"Date: Sat, 13 Nov 2010 23:29:00 GMT\r\n": 0,
		"Date: Fri, 01 Jan 2010 16:00:00 EST\r\n": 400,
		"Via: SIP/2.0/UDP g;branch=z9hG4bK2\r\n":  0, // Via may repeat
	}
	for extra, want := range cases {
		msg, err := sip.NewParser().ParseSIP([]byte(base + extra + "\r\n"))
		if err != nil {
			t.Fatalf("%q: %v", extra, err)
		}
		if got, why := checkRequest(msg.(*sip.Request)); got != want {
			t.Errorf("with %q: %d (%s), want %d", extra, got, why, want)
		}
	}
}

// FuzzEdge: the guard, the forked parser and checkRequest never panic on
// any datagram, and what they refuse is answered with a known code. Seeded
// from RFC 4475's messages; `go test -fuzz FuzzEdge ./sip/` to run it.
func FuzzEdge(f *testing.F) {
	for _, b := range rfc4475Messages(f) {
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		code, why := screen(b)
		if code > 0 {
			if res := statelessResponse(b, code, why); res != nil && !strings.HasPrefix(string(res), "SIP/2.0 ") {
				t.Fatalf("bad response %q", res)
			}
			return
		}
		if code < 0 {
			return
		}
		msg, err := sip.NewParser().ParseSIP(b)
		if err != nil {
			_, _ = requestVersion(b)
			return
		}
		req, ok := msg.(*sip.Request)
		if !ok {
			return
		}
		switch c, _ := checkRequest(req); c {
		case 0, 400, 416:
		default:
			t.Fatalf("checkRequest code %d", c)
		}
		if c, _ := checkRequest(req); c == 0 {
			_ = validateRequest(req)
		}
	})
}
