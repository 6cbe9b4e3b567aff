package sip

import (
	"fmt"
	"strings"
	"testing"
)

// referToSeeds are Refer-To values from RFC 3515's examples (§2.1, §4,
// §5.1) and variants peers send.
var referToSeeds = []string{
	"sip:alice@atlanta.example.com",
	`<sip:bob@biloxi.example.net?Accept-Contact=sip:bobsdesk.biloxi.example.net&Call-ID%3D55432%40alicepc.atlanta.example.com>`,
	`<sip:dave@denver.example.org?Replaces=12345%40192.168.118.3%3Bto-tag%3D12345%3Bfrom-tag%3D5FFE-3994>`,
	`<sip:carol@cleveland.example.org;method=SUBSCRIBE>`,
	"http://www.ietf.org",
	`<sips:a8342043f@atlanta.example.com?Replaces=12345601%40atlanta.example.com%3Bfrom-tag%3D314159%3Bto-tag%3D1234567>`,
	`"Escalations" <sip:+15550142@example.com;user=phone>;foo=bar`,
	"tel:+1-555-0142;phone-context=example.com",
	"<tel:+15550142>",
	"<sip:+15550142@example.com>, <sip:+15550143@example.com>",
	"<sip:+1555", `"unterminated <sip:a@b>`, "", "sip:", "r:x",
}

// TestParseReferTo reads the RFC's examples and the shapes the switch
// refuses.
func TestParseReferTo(t *testing.T) {
	for _, tc := range []struct {
		in                  string
		uri, scheme, number string
		method              string
		replaces, bad       bool
	}{
		{in: "sip:alice@atlanta.example.com", uri: "sip:alice@atlanta.example.com", scheme: "sip"},
		{in: referToSeeds[2], uri: referToSeeds[2][1 : len(referToSeeds[2])-1], scheme: "sip", replaces: true},
		{in: referToSeeds[3], uri: "sip:carol@cleveland.example.org;method=SUBSCRIBE", scheme: "sip", method: "SUBSCRIBE"},
		{in: "http://www.ietf.org", uri: "http://www.ietf.org", scheme: "http"},
		{in: referToSeeds[6], uri: "sip:+15550142@example.com;user=phone", scheme: "sip", number: "+15550142"},
		{in: referToSeeds[7], uri: "tel:+1-555-0142", scheme: "tel", number: "+15550142"},
		{in: "<tel:+15550142;phone-context=x>", uri: "tel:+15550142;phone-context=x", scheme: "tel", number: "+15550142"},
		{in: "<SIP:%2B15550142@example.com>", uri: "SIP:%2B15550142@example.com", scheme: "sip", number: "+15550142"},
		{in: referToSeeds[9], bad: true},
		{in: "<sip:+1555", bad: true},
		{in: `"unterminated <sip:a@b>`, bad: true},
		{in: "", bad: true},
		{in: "sip:", bad: true},
		{in: "tel:", bad: true},
		{in: "<sip:+1555@h> junk", bad: true},
		{in: "1sip:+1555@h", bad: true},
		{in: "<sip:%zz@h>", bad: true},
	} {
		r, err := parseReferTo(tc.in)
		if tc.bad {
			if err == nil {
				t.Errorf("%q: accepted as %+v", tc.in, r)
			}
			continue
		}
		if err != nil {
			t.Errorf("%q: %v", tc.in, err)
			continue
		}
		if r.URI != tc.uri || r.Scheme != tc.scheme || r.Number != tc.number || r.Method != tc.method || r.Replaces != tc.replaces {
			t.Errorf("%q: %+v", tc.in, r)
		}
	}
}

// FuzzReferTo feeds the Refer-To and Referred-By parser and the sipfrag
// status-line reader with arbitrary values, seeded with RFC 3515's
// examples. They must not panic; a value accepted has a URI without
// spaces or brackets and a number of digits; a sipfrag the switch writes,
// whatever the reason given, reads back as one status line with its code.
func FuzzReferTo(f *testing.F) {
	for _, s := range referToSeeds {
		f.Add(s, 200)
	}
	f.Add("SIP/2.0 100 Trying\r\n", 100)
	f.Add("SIP/2.0 603 Declined\r\n", 603)
	f.Add("Busy\r\nSIP/2.0 200 OK", 486)
	f.Fuzz(func(t *testing.T, v string, code int) {
		if r, err := parseReferTo(v); err == nil {
			if r.URI == "" || strings.ContainsAny(r.URI, " \t\r\n<>") {
				t.Fatalf("%q: URI %q", v, r.URI)
			}
			if r.Scheme == "" || r.Scheme != strings.ToLower(r.Scheme) {
				t.Fatalf("%q: scheme %q", v, r.Scheme)
			}
			if r.Number != "" && strings.TrimLeft(strings.TrimPrefix(r.Number, "+"), "0123456789") != "" {
				t.Fatalf("%q: number %q", v, r.Number)
			}
		}
		_, _ = addressURI(v)
		if c, reason, err := parseSipfragStatus([]byte(v)); err == nil && (c < 100 || c > 699 || strings.ContainsAny(reason, "\r\n")) {
			t.Fatalf("sipfrag %q read as %d %q", v, c, reason)
		}
		if code < 100 || code > 699 {
			return
		}
		frag := sipfrag(code, v)
		if strings.Count(string(frag), "\n") != 1 {
			t.Fatalf("sipfrag(%d, %q) = %q: not one line", code, v, frag)
		}
		if c, _, err := parseSipfragStatus(frag); err != nil || c != code {
			t.Fatalf("sipfrag(%d, %q) = %q read as %d %v", code, v, frag, c, err)
		}
	})
}

// parseSipfragStatus reads the status line of a message/sipfrag body: its
// code and reason phrase. The switch only sends these; the parser is for
// the test peers and the fuzz target, which check what the switch sends.
func parseSipfragStatus(b []byte) (int, string, error) {
	line, _, _ := strings.Cut(string(b), "\n")
	line = strings.TrimSuffix(line, "\r")
	version, rest, ok := strings.Cut(line, " ")
	if !ok || version != "SIP/2.0" {
		return 0, "", fmt.Errorf("%w: sipfrag is not a SIP/2.0 status line", errReferSyntax)
	}
	codeStr, reason, _ := strings.Cut(rest, " ")
	if len(codeStr) != 3 {
		return 0, "", fmt.Errorf("%w: sipfrag status code %q", errReferSyntax, clip(codeStr))
	}
	code := 0
	for _, c := range codeStr {
		if c < '0' || c > '9' {
			return 0, "", fmt.Errorf("%w: sipfrag status code %q", errReferSyntax, codeStr)
		}
		code = code*10 + int(c-'0')
	}
	if code < 100 || code > 699 {
		return 0, "", fmt.Errorf("%w: sipfrag status code %d out of range", errReferSyntax, code)
	}
	if strings.ContainsAny(reason, "\r\n\x00") {
		return 0, "", fmt.Errorf("%w: control character in the sipfrag reason phrase", errReferSyntax)
	}
	return code, reason, nil
}
