package main

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/switchboard-voice/switchboard/config"
	"github.com/switchboard-voice/switchboard/sip/siptest"
)

const (
	callerHz = 440.0
	farHz    = 1000.0
)

// TestCallTwoWayAudio: a call set up through the switch carries a tone each
// way, hides each leg's topology from the other, and ends with the caller's BYE.
func TestCallTwoWayAudio(t *testing.T) {
	h := newHarness(t, nil)
	farCall := h.answerNext(farHz)
	c, err := h.caller.Invite(h.ctx, h.target("+15550100"), siptest.InviteOptions{From: "+15551234", ToneHz: callerHz,
		Headers: map[string]string{"Max-Forwards": "70"}})
	if err != nil {
		t.Fatal(err)
	}
	if c.Status() != 200 {
		t.Fatalf("caller got %d", c.Status())
	}
	fc := h.waitCall(farCall)
	waitTone(t, fc, callerHz, "far end")
	waitTone(t, c, farHz, "caller")
	if fc.ReceivedTone(farHz) > 0.2 {
		t.Errorf("far end hears its own tone: echo path in relay (%.2f)", fc.ReceivedTone(farHz))
	}

	// Topology hiding: nothing of the caller's dialog reaches the far end.
	inv := fc.Request()
	callerInv := c.Request()
	if inv.CallID().Value() == callerInv.CallID().Value() {
		t.Error("Call-ID leaked to the far end")
	}
	farSide := inv.String()
	callerAddr := h.caller.Addr()
	if strings.Contains(farSide, callerAddr) {
		t.Errorf("caller address %s leaked into far-end INVITE:\n%s", callerAddr, farSide)
	}
	if strings.Contains(farSide, callerInv.Via().Params.GetOr("branch", "none")) {
		t.Error("caller's Via branch leaked")
	}
	if got := inv.MaxForwards().Val(); got != 69 {
		t.Errorf("Max-Forwards at far end = %d, want 69", got)
	}
	if inv.To().Address.User != "+15550100" || inv.From().Address.User != "+15551234" {
		t.Errorf("numbers: To %s From %s", inv.To().Address.User, inv.From().Address.User)
	}
	if strings.Contains(c.Response().String(), h.far.Addr()) {
		t.Errorf("far-end address leaked into caller's 200:\n%s", c.Response())
	}

	if err := c.Hangup(h.ctx); err != nil {
		t.Fatal(err)
	}
	waitEnded(t, fc, "far end")
	if !fc.ByeReceived() {
		t.Error("far end got no BYE")
	}
	h.waitMetric(`switchboard_calls_total{result="answered"}`, "1")
	if got := h.metric("switchboard_rtp_packets_relayed_total"); got == "0" {
		t.Error("no RTP packets counted as relayed")
	}
}

func TestFarEndHangsUp(t *testing.T) {
	h := newHarness(t, nil)
	farCall := h.answerNext(farHz)
	c, err := h.caller.Invite(h.ctx, h.target("+15550100"), siptest.InviteOptions{ToneHz: callerHz})
	if err != nil || c.Status() != 200 {
		t.Fatalf("invite: %v status %d", err, c.Status())
	}
	fc := h.waitCall(farCall)
	if err := fc.Hangup(h.ctx); err != nil {
		t.Fatal(err)
	}
	waitEnded(t, c, "caller")
	if !c.ByeReceived() {
		t.Error("caller got no BYE")
	}
}

// TestEarlyMedia: a 183 with SDP from the far end reaches the caller as a
// 183 with the switch's SDP, and its audio flows before the answer.
func TestEarlyMedia(t *testing.T) {
	h := newHarness(t, nil)
	done := make(chan *siptest.Call, 1)
	go func() {
		in := h.nextIncoming()
		if err := in.Progress(siptest.AnswerOptions{ToneHz: 700}); err != nil {
			t.Errorf("183: %v", err)
		}
		time.Sleep(1500 * time.Millisecond)
		c, err := in.Answer(siptest.AnswerOptions{ToneHz: farHz})
		if err != nil {
			t.Errorf("answer: %v", err)
		}
		done <- c
	}()
	onProvisional, heardEarly := hearsEarly(700)
	c, err := h.caller.Invite(h.ctx, h.target("+15550100"), siptest.InviteOptions{ToneHz: callerHz,
		OnProvisional: onProvisional})
	if err != nil || c.Status() != 200 {
		t.Fatalf("invite: %v", err)
	}
	if !contains(c.Provisionals(), 183) {
		t.Fatalf("caller saw provisionals %v, want a 183", c.Provisionals())
	}
	if sdp := c.EarlySDP(); !strings.Contains(sdp, "m=audio") || strings.Contains(sdp, h.far.Addr()) {
		t.Errorf("183 SDP not the switch's:\n%s", sdp)
	}
	select {
	case ok := <-heardEarly:
		if !ok {
			t.Error("caller did not hear early media before the answer")
		}
	case <-time.After(3 * time.Second):
		t.Error("no early media check ran")
	}
	fc := <-done
	waitTone(t, c, farHz, "caller")
	_ = c.Hangup(h.ctx)
	if fc != nil {
		waitEnded(t, fc, "far end")
	}
}

func contains(xs []int, x int) bool {
	for _, v := range xs {
		if v == x {
			return true
		}
	}
	return false
}

// TestCancel: the caller's CANCEL cancels the ringing far end; the caller gets 487.
func TestCancel(t *testing.T) {
	h := newHarness(t, nil)
	cancelled := h.ringUntilCancelled(10 * time.Second)
	ctx, cancel := context.WithCancel(h.ctx)
	c, err := h.caller.Invite(ctx, h.target("+15550100"), siptest.InviteOptions{
		OnProvisional: func(_ *siptest.Call, res *siptestResponse) {
			if res.StatusCode == 180 {
				cancel()
			}
		}})
	if err != nil && c == nil {
		t.Fatal(err)
	}
	if c.Status() != 487 {
		t.Errorf("caller got %d, want 487", c.Status())
	}
	if !<-cancelled {
		t.Error("far end was not cancelled")
	}
}

// TestFarEndFailures: final failures are mapped back to the caller.
func TestFarEndFailures(t *testing.T) {
	h := newHarness(t, nil)
	for _, tc := range []struct{ far, want int }{{486, 486}, {404, 404}, {500, 502}, {503, 503}, {603, 603}} {
		go func() {
			in := h.nextIncoming()
			_ = in.Reject(tc.far, "Test")
		}()
		c, err := h.caller.Invite(h.ctx, h.target("+15550100"), siptest.InviteOptions{})
		if err != nil {
			t.Fatalf("%d: %v", tc.far, err)
		}
		if c.Status() != tc.want {
			t.Errorf("far end %d: caller got %d, want %d", tc.far, c.Status(), tc.want)
		}
	}
	h.waitMetric(`switchboard_calls_total{result="busy"}`, "1") // 486; 603 is a rejection
}

// TestRingTimeout: a far end that rings too long is cancelled; the caller gets 480.
func TestRingTimeout(t *testing.T) {
	h := newHarness(t, func(c *config.Config) {
		c.Flows["out"][0].Dial.Timeout = time.Second
	})
	cancelled := h.ringUntilCancelled(5 * time.Second)
	c, err := h.caller.Invite(h.ctx, h.target("+15550100"), siptest.InviteOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if c.Status() != 480 {
		t.Errorf("caller got %d, want 480", c.Status())
	}
	if !<-cancelled {
		t.Error("far end not cancelled at ring timeout")
	}
}

// TestHold: re-INVITEs are relayed both ways; sendonly is answered recvonly.
func TestHold(t *testing.T) {
	h := newHarness(t, nil)
	farCall := h.answerNext(farHz)
	c, err := h.caller.Invite(h.ctx, h.target("+15550100"), siptest.InviteOptions{ToneHz: callerHz})
	if err != nil || c.Status() != 200 {
		t.Fatalf("invite: %v", err)
	}
	fc := h.waitCall(farCall)
	waitTone(t, fc, callerHz, "far end")

	// Caller holds.
	dir, err := c.Hold(h.ctx)
	if err != nil {
		t.Fatal(err)
	}
	if dir != "recvonly" {
		t.Errorf("hold answered %q, want recvonly", dir)
	}
	select {
	case ri := <-fc.Reinvites():
		if ri.Direction != "sendonly" {
			t.Errorf("far end got re-INVITE %q, want sendonly", ri.Direction)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("re-INVITE not relayed to far end")
	}
	dir, err = c.Resume(h.ctx)
	if err != nil || dir != "sendrecv" {
		t.Fatalf("resume: %q %v", dir, err)
	}
	<-fc.Reinvites()

	// Far end holds.
	dir, err = fc.Hold(h.ctx)
	if err != nil || dir != "recvonly" {
		t.Fatalf("far-end hold answered %q (%v), want recvonly", dir, err)
	}
	select {
	case ri := <-c.Reinvites():
		if ri.Direction != "sendonly" {
			t.Errorf("caller got %q, want sendonly", ri.Direction)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("re-INVITE not relayed to caller")
	}
	if _, err := fc.Resume(h.ctx); err != nil {
		t.Fatal(err)
	}
	<-c.Reinvites()
	c.ResetAudio()
	fc.ResetAudio()
	waitTone(t, c, farHz, "caller after resume")
	waitTone(t, fc, callerHz, "far end after resume")
	h.hangup(c, fc)
}

// TestLateOffer: an INVITE without SDP; the switch offers in its 200 and
// takes the answer from the ACK.
func TestLateOffer(t *testing.T) {
	h := newHarness(t, nil)
	farCall := h.answerNext(farHz)
	c, err := h.caller.Invite(h.ctx, h.target("+15550100"), siptest.InviteOptions{NoSDP: true, ToneHz: callerHz})
	if err != nil || c.Status() != 200 {
		t.Fatalf("invite: %v", err)
	}
	fc := h.waitCall(farCall)
	waitTone(t, c, farHz, "caller")
	waitTone(t, fc, callerHz, "far end")
	h.hangup(c, fc)
}

// TestConcurrentCalls: 20 calls at once, each with its own tones.
func TestConcurrentCalls(t *testing.T) {
	h := newHarness(t, nil)
	const n = 20
	go func() {
		for i := 0; i < n; i++ {
			in := h.nextIncoming()
			go func() {
				hz := freqFor(in.Request().To().Address.User, 1)
				if _, err := in.Answer(siptest.AnswerOptions{ToneHz: hz}); err != nil {
					t.Errorf("answer: %v", err)
				}
			}()
		}
	}()
	var wg sync.WaitGroup
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			number := "+1555010" + string(rune('0'+i%10)) + string(rune('0'+i/10)) // digits only: a called number is a number
			c, err := h.caller.Invite(h.ctx, h.target(number), siptest.InviteOptions{ToneHz: freqFor(number, 0)})
			if err != nil || c.Status() != 200 {
				t.Errorf("call %d: %v", i, err)
				return
			}
			ctx, cancel := context.WithTimeout(h.ctx, 8*time.Second)
			defer cancel()
			if err := c.WaitTone(ctx, freqFor(number, 1)); err != nil {
				t.Errorf("call %d: caller does not hear its far end's tone", i)
			}
			_ = c.Hangup(h.ctx)
		}()
	}
	wg.Wait()
	deadline := time.Now().Add(5 * time.Second)
	for h.node.sip.ActiveLegs() != 0 && time.Now().Before(deadline) {
		time.Sleep(50 * time.Millisecond)
	}
	if got := h.node.sip.ActiveLegs(); got != 0 {
		t.Errorf("%d legs left after all calls ended", got)
	}
	if got := h.node.ports.InUse(); got != 0 {
		t.Errorf("%d RTP port pairs still open", got)
	}
}

// freqFor gives each call a distinct tone per side so crossed media would show.
func freqFor(number string, side int) float64 {
	sum := 0
	for _, r := range number {
		sum += int(r)
	}
	return float64(500 + (sum%20)*50 + side*1300)
}

// TestCallerIDAndNumberFormat: the outbound trunk's caller ID and number
// format shape what the far end sees.
func TestCallerIDAndNumberFormat(t *testing.T) {
	h := newHarness(t, func(c *config.Config) {
		ob := c.Trunks[1].Outbound
		ob.CallerID = "+442071234567"
		ob.NumberFormat = config.NumberFormat{Plus: false, TechPrefix: "99#"}
	})
	farCall := h.answerNext(farHz)
	c, err := h.caller.Invite(h.ctx, h.target("+15550100"), siptest.InviteOptions{From: "+15551234"})
	if err != nil || c.Status() != 200 {
		t.Fatalf("call: %v", err)
	}
	fc := h.waitCall(farCall)
	inv := fc.Request()
	if got := inv.Recipient.User; got != "99#15550100" {
		t.Errorf("Request-URI user = %q, want 99#15550100", got)
	}
	if got := inv.To().Address.User; got != "99#15550100" {
		t.Errorf("To user = %q", got)
	}
	if got := inv.From().Address.User; got != "442071234567" {
		t.Errorf("From user = %q, want the caller ID without '+'", got)
	}
	h.hangup(c, fc)
}

// TestOfferlessReinvite: a re-INVITE without SDP (a carrier's session
// refresh) is answered on its own leg with the current session, the answer
// comes in the ACK, audio keeps flowing and the other leg is not disturbed.
func TestOfferlessReinvite(t *testing.T) {
	h := newHarness(t, nil)
	farCall := h.answerNext(farHz)
	c, err := h.caller.Invite(h.ctx, h.target("+15550100"), siptest.InviteOptions{ToneHz: callerHz})
	if err != nil || c.Status() != 200 {
		t.Fatalf("call: %v", err)
	}
	fc := h.waitCall(farCall)
	dir, err := c.ReinviteNoSDP(h.ctx)
	if err != nil {
		t.Fatal(err)
	}
	if dir != "sendrecv" {
		t.Errorf("switch offered %q in its 200, want sendrecv", dir)
	}
	c.ResetAudio()
	fc.ResetAudio()
	waitTone(t, c, farHz, "caller after refresh")
	waitTone(t, fc, callerHz, "far end after refresh")
	select {
	case ri := <-fc.Reinvites():
		t.Errorf("far end disturbed by a re-INVITE (%q)", ri.Direction)
	default:
	}
	h.hangup(c, fc)
}

// TestOfferlessUpdate: an UPDATE without SDP (RFC 3311; the session refresh
// of RFC 4028 carriers that refresh with UPDATE) from either side is
// answered 200 without a body on its own leg; audio keeps flowing both ways
// and the other leg gets nothing.
func TestOfferlessUpdate(t *testing.T) {
	h := newHarness(t, nil)
	farCall := h.answerNext(farHz)
	c, err := h.caller.Invite(h.ctx, h.target("+15550100"), siptest.InviteOptions{ToneHz: callerHz})
	if err != nil || c.Status() != 200 {
		t.Fatalf("call: %v", err)
	}
	fc := h.waitCall(farCall)
	for _, side := range []struct {
		name        string
		from, other *siptest.Call
	}{{"caller", c, fc}, {"far end", fc, c}} {
		res, err := side.from.UpdateNoSDP(h.ctx)
		if err != nil {
			t.Fatalf("%s's UPDATE: %v", side.name, err)
		}
		if res.StatusCode != 200 || len(res.Body()) != 0 || res.Contact() == nil {
			t.Fatalf("%s's UPDATE answered %d with body %q, Contact %v; want 200, no body, a Contact", side.name, res.StatusCode, res.Body(), res.Contact())
		}
		c.ResetAudio()
		fc.ResetAudio()
		waitTone(t, c, farHz, "caller after "+side.name+"'s refresh")
		waitTone(t, fc, callerHz, "far end after "+side.name+"'s refresh")
		select {
		case ri := <-side.other.Reinvites():
			t.Errorf("%s's refresh disturbed the other leg with a re-INVITE (%q)", side.name, ri.Direction)
		case up := <-side.other.Updates():
			t.Errorf("%s's refresh was passed to the other leg:\n%s", side.name, up)
		default:
		}
	}
	h.hangup(c, fc)
}
