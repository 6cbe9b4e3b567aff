package main

import (
	"strings"
	"testing"
	"time"

	"github.com/emiago/sipgo/sip"

	"github.com/switchboard-voice/switchboard/sip/siptest"
)

// reasons joins the values of m's Reason headers.
func reasons(m interface{ GetHeaders(string) []sip.Header }) string {
	var vs []string
	for _, h := range m.GetHeaders("Reason") {
		vs = append(vs, h.Value())
	}
	return strings.Join(vs, ", ")
}

// TestReasonCarried: a Q.850 cause in a party's Reason header (RFC 3326)
// reaches the other party: on the BYE, either way, and in the caller's
// final response to a far-end failure (RFC 6432). A BYE without one gives
// a BYE without one.
func TestReasonCarried(t *testing.T) {
	const clearing = `Q.850;cause=16;text="Normal call clearing"`
	t.Run("far end BYE", func(t *testing.T) {
		h := newHarness(t, nil)
		answered := h.answerNext(1000)
		c, err := h.caller.Invite(h.ctx, h.target("+15550100"), siptest.InviteOptions{ToneHz: 440})
		if err != nil || c.Status() != 200 {
			t.Fatalf("call: %v (status %d)", err, c.Status())
		}
		fc := h.waitCall(answered)
		if err := fc.HangupWith(h.ctx, map[string]string{"Reason": clearing}); err != nil {
			t.Fatal(err)
		}
		waitEnded(t, c, "caller")
		bye := c.Bye()
		if bye == nil {
			t.Fatal("the caller got no BYE")
		}
		if got := reasons(bye); got != clearing {
			t.Errorf("caller's BYE Reason = %q, want %q", got, clearing)
		}
	})
	t.Run("caller BYE", func(t *testing.T) {
		h := newHarness(t, nil)
		answered := h.answerNext(1000)
		c, err := h.caller.Invite(h.ctx, h.target("+15550100"), siptest.InviteOptions{ToneHz: 440})
		if err != nil || c.Status() != 200 {
			t.Fatalf("call: %v (status %d)", err, c.Status())
		}
		fc := h.waitCall(answered)
		const other = `Q.850;cause=31;text="Normal, unspecified"`
		if err := c.HangupWith(h.ctx, map[string]string{"Reason": `SIP;cause=200;text="x", ` + other}); err != nil {
			t.Fatal(err)
		}
		waitEnded(t, fc, "far end")
		if got := reasons(fc.Bye()); got != other {
			t.Errorf("far end's BYE Reason = %q, want %q", got, other)
		}
	})
	t.Run("BYE without Reason", func(t *testing.T) {
		h := newHarness(t, nil)
		answered := h.answerNext(1000)
		c, err := h.caller.Invite(h.ctx, h.target("+15550100"), siptest.InviteOptions{ToneHz: 440})
		if err != nil || c.Status() != 200 {
			t.Fatalf("call: %v (status %d)", err, c.Status())
		}
		fc := h.waitCall(answered)
		if err := fc.Hangup(h.ctx); err != nil {
			t.Fatal(err)
		}
		waitEnded(t, c, "caller")
		if bye := c.Bye(); bye == nil || reasons(bye) != "" {
			t.Errorf("caller's BYE = %v, want one without Reason", bye)
		}
	})
	t.Run("far end failure", func(t *testing.T) {
		h := newHarness(t, nil)
		const busy = `Q.850;cause=17;text="User busy"`
		go func() {
			select {
			case in := <-h.far.Incoming():
				_ = in.RejectWith(486, "Busy Here", map[string]string{"Reason": busy})
			case <-time.After(10 * time.Second):
			}
		}()
		c, err := h.caller.Invite(h.ctx, h.target("+15550100"), siptest.InviteOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if c.Status() != 486 {
			t.Fatalf("caller got %d, want 486", c.Status())
		}
		if got := reasons(c.Response()); got != busy {
			t.Errorf("caller's 486 Reason = %q, want %q", got, busy)
		}
	})
}

// TestReasonOnCancel: a caller (raw UDP peer) cancels a ringing call with
// a Q.850 cause in its CANCEL's Reason (RFC 3326); the far end's CANCEL
// carries that Q.850 cause, the caller gets 200 and 487, and no leg is left.
func TestReasonOnCancel(t *testing.T) {
	h := newHarness(t, nil)
	const q850 = `Q.850;cause=19;text="No answer from user"`
	p := newRawPeer(t, h.sip)
	body := "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio 40000 RTP/AVP 0\r\na=rtpmap:0 PCMU/8000\r\n"
	inv := rawInvite("q850cancel", "", body)
	p.send(inv)
	in := h.nextIncoming()
	if err := in.Ring(false); err != nil {
		t.Fatal(err)
	}
	p.expect(180, "INVITE", 3*time.Second)
	head := inv[:strings.Index(inv, "Contact:")]
	cancel := strings.Replace(strings.Replace(head, "INVITE sip:", "CANCEL sip:", 1), "CSeq: 1 INVITE", "CSeq: 1 CANCEL", 1) +
		"Max-Forwards: 70\r\nReason: " + q850 + "\r\nContent-Length: 0\r\n\r\n"
	p.send(cancel)
	p.expect(200, "CANCEL", 3*time.Second)
	final := p.expect(487, "INVITE", 3*time.Second)
	recv(t, in.Cancelled(), "far end's CANCEL")
	if got := reasons(in.CancelRequest()); !strings.Contains(got, q850) {
		t.Errorf("far end's CANCEL Reason = %q, want it to carry %q", got, q850)
	}
	p.send(inDialog("ACK", "q850cancel", final, 1))
	waitNoLegs(t, h)
}
