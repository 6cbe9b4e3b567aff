package sip

import (
	"net"
	"os"
	"testing"
)

// Switchboard fork: parameters with LWS around "=" and ";" and quoted
// values followed by more parameters (RFC 3261 §25.1; RFC 4475 wsinv,
// intmeth).
func TestSwitchboardHeaderParamsLWS(t *testing.T) {
	cases := []struct {
		in        string
		name, val string
	}{
		{"  tag    = 1918181833n", "tag", "1918181833n"},
		{"fromParam''~+*_!.-%=\"\u0440\u0430\u0431\u043e\u0442\u0430\u044e\u0449\u0438\u0439\";tag=_token~1'+`*%!-.", "tag", "_token~1'+`*%!-."},
		{"fromParam=\"a;b\";tag=x", "fromParam", "a;b"},
		{"newparam =\r\n      newvalue ;\r\n  secondparam ; q = 0.33", "q", "0.33"},
		{"lr;unknownwith=value;unknown-no-value", "unknown-no-value", ""},
	}
	for _, c := range cases {
		p := NewParams()
		if _, err := UnmarshalHeaderParams(c.in, ';', '\x00', &p); err != nil {
			t.Fatalf("%q: %v", c.in, err)
		}
		v, ok := p.Get(c.name)
		if !ok || v != c.val {
			t.Errorf("%q: %s = %q (found %v), want %q; params %v", c.in, c.name, v, ok, c.val, p)
		}
	}
}

// Switchboard fork: an RFC 2543 request (no magic cookie, no From tag) gets
// a server transaction key instead of an error (RFC 4475 inv2543).
func TestSwitchboardRFC2543TxKey(t *testing.T) {
	msg := "INVITE sip:UserB@example.com SIP/2.0\r\n" +
		"Via: SIP/2.0/UDP iftgw.example.com\r\n" +
		"From: <sip:+13035551111@ift.client.example.net;user=phone>\r\n" +
		"To: <sip:+16505552222@ss1.example.net;user=phone>\r\n" +
		"Call-ID: inv2543.1717@ift.client.example.com\r\n" +
		"CSeq: 56 INVITE\r\n" +
		"Content-Length: 0\r\n\r\n"
	m, err := ParseMessage([]byte(msg))
	if err != nil {
		t.Fatal(err)
	}
	k1, err := ServerTxKeyMake(m)
	if err != nil || k1 == "" {
		t.Fatalf("key %q, %v", k1, err)
	}
	m2, _ := ParseMessage([]byte(msg))
	if k2, _ := ServerTxKeyMake(m2); k2 != k1 {
		t.Errorf("retransmission key %q != %q", k2, k1)
	}
}

// Switchboard fork: RFC 4475 wsinv's From and To tags (LWS around "=").
func TestSwitchboardWsinvTags(t *testing.T) {
	data, err := os.ReadFile("testdata/torture/valid/wsinv.dat")
	if err != nil {
		t.Fatal(err)
	}
	m, err := ParseMessage(data)
	if err != nil {
		t.Fatal(err)
	}
	req := m.(*Request)
	if tag, _ := req.From().Params.Get("tag"); tag != "98asjd8" {
		t.Errorf("From tag %q", tag)
	}
	if tag, _ := req.To().Params.Get("tag"); tag != "1918181833n" {
		t.Errorf("To tag %q", tag)
	}
}

// Switchboard fork: a Contact addr-spec with URI headers outside <> is
// refused (RFC 4475 regbadct); inside <> it is kept (regescrt).
func TestSwitchboardAddrSpecHeaders(t *testing.T) {
	h := &ContactHeader{}
	if err := parseContactHeader("sip:user@example.com?Route=%3Csip:sip.example.com%3E", h); err == nil {
		t.Error("regbadct Contact accepted")
	}
	h = &ContactHeader{}
	if err := parseContactHeader("<sip:user@example.com?Route=%3Csip:sip.example.com%3E>", h); err != nil {
		t.Errorf("regescrt Contact refused: %v", err)
	}
}

// TestSwitchboardRequestScreen: a request the screen refuses never gets a
// server transaction nor reaches the handler.
func TestSwitchboardRequestScreen(t *testing.T) {
	tp := NewTransportLayer(net.DefaultResolver, NewParser(), nil)
	var screened, handled int
	txl := NewTransactionLayer(tp, WithTransactionLayerRequestScreen(func(req *Request) (*Response, bool) {
		screened++
		return nil, false
	}))
	txl.OnRequest(func(req *Request, tx *ServerTx) { handled++ })
	req := testCreateRequest(t, "INVITE", "sip:1000@127.0.0.1", "UDP", "127.0.0.1:15070")
	if err := txl.handleRequest(req); err != nil {
		t.Fatal(err)
	}
	if screened != 1 || handled != 0 || txl.ServerTransactions() != 0 {
		t.Fatalf("screened %d, handled %d, transactions %d; want 1, 0, 0", screened, handled, txl.ServerTransactions())
	}
}

// Switchboard fork: a URI scheme may have digits, "+", "-" and "." after
// its first letter (RFC 3261 §25.1; RFC 4475 novelsc's soap.beep:), and
// must start with a letter.
func TestSwitchboardURISchemeChars(t *testing.T) {
	for in, scheme := range map[string]string{
		"soap.beep://192.0.2.103:3002": "soap.beep",
		"x-foo+bar1:opaque":            "x-foo+bar1",
	} {
		var u Uri
		if err := ParseUri(in, &u); err != nil || u.Scheme != scheme {
			t.Errorf("%q: scheme %q, err %v; want %q", in, u.Scheme, err, scheme)
		}
	}
	for _, in := range []string{"1soap:x", ".x:y", "so ap:x"} {
		var u Uri
		if err := ParseUri(in, &u); err == nil {
			t.Errorf("%q parsed (scheme %q); want an error", in, u.Scheme)
		}
	}
}
