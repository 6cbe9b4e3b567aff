package main

import (
	"strings"
	"testing"
	"time"

	"github.com/switchboard-voice/switchboard/sip/siptest"
)

// rawBye is a BYE for dialog callID with the given tags, from a raw peer.
func rawBye(callID, fromTag, toTag string) string {
	return strings.Join([]string{
		"BYE sip:switch@127.0.0.1 SIP/2.0",
		"Via: SIP/2.0/UDP 127.0.0.1:PORT;branch=z9hG4bK-" + fromTag + toTag,
		"From: <sip:peer@127.0.0.1>;tag=" + fromTag,
		"To: <sip:switch@127.0.0.1>;tag=" + toTag,
		"Call-ID: " + callID,
		"CSeq: 9999 BYE",
		"Max-Forwards: 70",
		"Content-Length: 0",
		"", "",
	}, "\r\n")
}

// TestDialogMatchedByFullID: an in-dialog request is matched by Call-ID,
// local tag and remote tag (RFC 3261 §12). A BYE with the switch's tag but
// another remote tag (a losing fork's, a stale peer's) gets 481 and the call
// goes on, on either leg; the same BYE with the right remote tag ends it.
func TestDialogMatchedByFullID(t *testing.T) {
	h := newHarness(t, nil)
	answered := h.answerNext(1000)
	c, err := h.caller.Invite(h.ctx, h.target("+15550100"), siptest.InviteOptions{ToneHz: 440})
	if err != nil || c.Status() != 200 {
		t.Fatalf("call: %v (status %d)", err, c.Status())
	}
	fc := h.waitCall(answered)
	waitTone(t, c, 1000, "caller")

	tag := func(params interface{ Get(string) (string, bool) }) string { v, _ := params.Get("tag"); return v }
	inSwitchTag, callerTag := tag(c.Response().To().Params), tag(c.Request().From().Params)
	outSwitchTag := tag(fc.Request().From().Params)
	for _, tc := range []struct{ leg, callID, ourTag string }{
		{"caller's leg", c.CallID(), inSwitchTag},
		{"far end's leg", fc.CallID(), outSwitchTag},
	} {
		if got := rawExchange(t, h.sip, rawBye(tc.callID, "another-fork", tc.ourTag), 5*time.Second); !strings.HasPrefix(got, "SIP/2.0 481 ") {
			t.Errorf("%s: BYE with a foreign remote tag got %q, want 481", tc.leg, got)
		}
	}
	select {
	case <-c.Ended():
		t.Fatal("a BYE with a foreign remote tag ended the caller's call")
	case <-fc.Ended():
		t.Fatal("a BYE with a foreign remote tag ended the far end's call")
	default:
	}
	c.ResetAudio()
	waitTone(t, c, 1000, "caller (after the foreign BYEs)")

	// The right remote tag: the same raw BYE ends the call.
	if got := rawExchange(t, h.sip, rawBye(c.CallID(), callerTag, inSwitchTag), 5*time.Second); !strings.HasPrefix(got, "SIP/2.0 200 ") {
		t.Fatalf("BYE with the dialog's tags got %q, want 200", got)
	}
	waitEnded(t, fc, "far end")
}
