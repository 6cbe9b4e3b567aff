package sip

import (
	"reflect"
	"testing"

	"github.com/emiago/sipgo/sip"

	"github.com/switchboard-voice/switchboard/call"
)

func TestWithQ850(t *testing.T) {
	cases := []struct {
		name    string
		headers []string
		cause   int
		text    string
	}{
		{"none", nil, 0, ""},
		{"q850", []string{`Q.850;cause=16;text="Normal call clearing"`}, 16, "Normal call clearing"},
		{"after SIP, comma-joined", []string{`SIP;cause=200;text="a, b"  , q.850 ; cause=17`}, 17, ""},
		{"second header", []string{`SIP;cause=487`, `Q.850;cause=31;text="say \"hi\""`}, 31, `say "hi"`},
		{"out of range", []string{`Q.850;cause=999`}, 0, ""},
		{"not a number", []string{`Q.850;cause=x`}, 0, ""},
		{"SIP only", []string{`SIP;cause=486;text="Busy"`}, 0, ""},
	}
	for _, tc := range cases {
		req := sip.NewRequest(sip.CANCEL, sip.Uri{Scheme: "sip", Host: "127.0.0.1"})
		for _, h := range tc.headers {
			req.AppendHeader(sip.NewHeader("Reason", h))
		}
		got := withQ850(call.Cancelled, req)
		if got.Q850 != tc.cause || got.Q850Text != tc.text || got.Code != 487 {
			t.Errorf("%s: withQ850 = %+v, want Q.850 %d %q on 487", tc.name, got, tc.cause, tc.text)
		}
	}
	if got := withQ850(call.Normal, nil); got != call.Normal {
		t.Errorf("withQ850(nil) = %+v", got)
	}
}

func TestReasonValues(t *testing.T) {
	c := call.Cause{Code: 486, Reason: "Busy Here", Q850: 17, Q850Text: "User \"busy\"\r\nX-Injected: 1"}
	want := []string{`SIP;cause=486;text="Busy Here"`, `Q.850;cause=17;text="User 'busy'X-Injected: 1"`}
	if got := reasonValues(c, true); !reflect.DeepEqual(got, want) {
		t.Errorf("reasonValues = %q, want %q", got, want)
	}
	if got := reasonValues(c, false); !reflect.DeepEqual(got, want[1:]) {
		t.Errorf("reasonValues for a response = %q, want Q.850 only %q", got, want[1:])
	}
	if got := reasonValues(call.Normal, false); got != nil {
		t.Errorf("reasonValues(Normal) = %q, want none", got)
	}
}
