package main

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/switchboard-voice/switchboard/config"
	"github.com/switchboard-voice/switchboard/sip/siptest"
)

// Session timers (RFC 4028) and UPDATE in early dialogs (RFC 3311), with the
// Go test UA on both sides over loopback. Short intervals come from the
// trunks' session_timers (min_se below RFC 4028's 90 s is for tests).

// shortTimers gives the caller's trunk a session interval of secs seconds
// and a floor of 2 s.
func shortTimers(secs int) func(c *config.Config) {
	return func(c *config.Config) {
		c.Trunks[0].SessionTimers = config.SessionTimers{Expires: secs, MinSE: 2}
	}
}

func header(t *testing.T, name string, get func(string) string, want string) {
	t.Helper()
	if got := get(name); !strings.EqualFold(strings.ReplaceAll(got, " ", ""), want) {
		t.Errorf("%s = %q, want %q", name, got, want)
	}
}

// TestSessionTimerBelowFloor: a Session-Expires below the trunk's floor
// (default 90 s) is answered 422 with Min-SE; no outbound leg is placed.
func TestSessionTimerBelowFloor(t *testing.T) {
	h := newHarness(t, nil)
	c, err := h.caller.Invite(h.ctx, h.target("+15550100"), siptest.InviteOptions{
		Headers: map[string]string{"Session-Expires": "30", "Supported": "timer"}})
	if err != nil {
		t.Fatal(err)
	}
	if c.Status() != 422 {
		t.Fatalf("status %d, want 422", c.Status())
	}
	res := c.Response()
	if h := res.GetHeader("Min-SE"); h == nil || strings.TrimSpace(h.Value()) != "90" {
		t.Errorf("422 Min-SE = %v, want 90", h)
	}
	select {
	case in := <-h.far.Incoming():
		t.Errorf("far end got an INVITE for a refused call: %s", in.Request().StartLine())
	default:
	}
}

// TestSessionTimerSwitchRefreshes: the caller asks the switch to refresh
// (refresher=uas); the 200 carries Session-Expires and Require: timer, and
// the switch's UPDATEs reach the caller at about half the interval, again
// and again. The far end's INVITE asks for timers with the trunk's values.
func TestSessionTimerSwitchRefreshes(t *testing.T) {
	h := newHarness(t, shortTimers(4))
	farCall := h.answerNext(farHz)
	start := time.Now()
	c, err := h.caller.Invite(h.ctx, h.target("+15550100"), siptest.InviteOptions{ToneHz: callerHz,
		Headers: map[string]string{"Session-Expires": "4;refresher=uas", "Supported": "timer"}})
	if err != nil || c.Status() != 200 {
		t.Fatalf("call: %v (status %d)", err, c.Status())
	}
	fc := h.waitCall(farCall)
	res := c.Response()
	get := func(n string) string {
		if h := res.GetHeader(n); h != nil {
			return h.Value()
		}
		return ""
	}
	header(t, "Session-Expires", get, "4;refresher=uas")
	header(t, "Require", get, "timer")

	inv := fc.Request()
	getInv := func(n string) string {
		if h := inv.GetHeader(n); h != nil {
			return h.Value()
		}
		return ""
	}
	header(t, "Session-Expires", getInv, "1800")
	header(t, "Min-SE", getInv, "90")
	if !strings.Contains(strings.ToLower(getInv("Supported")), "timer") {
		t.Errorf("outbound INVITE Supported = %q, want timer", getInv("Supported"))
	}

	for i := 0; i < 2; i++ {
		select {
		case up := <-c.Updates():
			if i == 0 && time.Since(start) < time.Second {
				t.Errorf("first refresh after %v: not at half the 4 s interval", time.Since(start))
			}
			if h := up.GetHeader("Session-Expires"); h == nil || !strings.Contains(h.Value(), "refresher=uac") {
				t.Errorf("refresh %d Session-Expires = %v, want 4;refresher=uac", i+1, h)
			}
			if len(up.Body()) != 0 {
				t.Errorf("refresh %d carries a body", i+1)
			}
		case <-time.After(10 * time.Second):
			t.Fatalf("no refresh %d from the switch", i+1)
		}
	}
	select {
	case up := <-fc.Updates():
		t.Errorf("the caller leg's refresh reached the far end: %s", up.StartLine())
	default:
	}
	waitTone(t, c, farHz, "caller after refreshes")
	waitTone(t, fc, callerHz, "far end after refreshes")
	h.hangup(c, fc)
}

// TestSessionTimerMissedRefresh: the caller is the refresher (and sends
// Require: timer, which is accepted, not 420); a refresh
// it sends is answered with Session-Expires; when it stops refreshing the
// switch ends the call with BYE on both legs.
func TestSessionTimerMissedRefresh(t *testing.T) {
	h := newHarness(t, shortTimers(3))
	farCall := h.answerNext(farHz)
	c, err := h.caller.Invite(h.ctx, h.target("+15550100"), siptest.InviteOptions{ToneHz: callerHz,
		Headers: map[string]string{"Session-Expires": "3;refresher=uac", "Require": "timer"}})
	if err != nil || c.Status() != 200 {
		t.Fatalf("call: %v (status %d)", err, c.Status())
	}
	fc := h.waitCall(farCall)
	if h := c.Response().GetHeader("Session-Expires"); h == nil || strings.ReplaceAll(h.Value(), " ", "") != "3;refresher=uac" {
		t.Errorf("200 Session-Expires = %v, want 3;refresher=uac", h)
	}
	res, err := c.Refresh(h.ctx, map[string]string{"Session-Expires": "3;refresher=uac", "Supported": "timer"})
	if err != nil || res.StatusCode != 200 {
		t.Fatalf("refresh: %v %v", err, res)
	}
	if h := res.GetHeader("Session-Expires"); h == nil || strings.ReplaceAll(h.Value(), " ", "") != "3;refresher=uac" {
		t.Errorf("refresh's 200 Session-Expires = %v, want 3;refresher=uac", h)
	}
	// No more refreshes: expiry at 3 s − 1 s after the last one.
	waitEnded(t, c, "caller")
	waitEnded(t, fc, "far end")
	if !c.ByeReceived() || !fc.ByeReceived() {
		t.Errorf("BYE received: caller %v, far end %v; want both", c.ByeReceived(), fc.ByeReceived())
	}
	if !strings.Contains(h.logs.String(), "session timer expired") {
		t.Error("no log line about the expired session timer")
	}
}

// TestSessionTimer422FromFarEnd: the far end answers the INVITE 422 with a
// Min-SE above the trunk's interval; the switch retries once with it and
// the call connects.
func TestSessionTimer422FromFarEnd(t *testing.T) {
	h := newHarness(t, func(c *config.Config) {
		c.Trunks[1].SessionTimers = config.SessionTimers{Expires: 60, MinSE: 30}
	})
	answered := make(chan *siptest.Call, 1)
	retried := make(chan string, 1)
	go func() {
		in := h.nextIncoming()
		if err := in.RejectWith(422, "Session Interval Too Small", map[string]string{"Min-SE": "120"}); err != nil {
			t.Errorf("422: %v", err)
		}
		in = h.nextIncoming()
		se := ""
		if hd := in.Request().GetHeader("Session-Expires"); hd != nil {
			se = hd.Value()
		}
		retried <- se
		fc, err := in.Answer(siptest.AnswerOptions{ToneHz: farHz})
		if err != nil {
			t.Errorf("answer: %v", err)
		}
		answered <- fc
	}()
	c, err := h.caller.Invite(h.ctx, h.target("+15550100"), siptest.InviteOptions{ToneHz: callerHz})
	if err != nil || c.Status() != 200 {
		t.Fatalf("call: %v (status %d)", err, c.Status())
	}
	if se := recv(t, retried, "retried INVITE"); strings.TrimSpace(se) != "120" {
		t.Errorf("retried INVITE Session-Expires = %q, want 120", se)
	}
	fc := recv(t, answered, "answer to the retried INVITE")
	if fc == nil {
		t.Fatal("far end did not answer the retry")
	}
	waitTone(t, c, farHz, "caller")
	waitTone(t, fc, callerHz, "far end")
	h.hangup(c, fc)
}

// TestEarlyUpdateWithSDP: while the caller hears the far end's early media
// (183), it sends an UPDATE with SDP; the switch answers it on the
// caller's leg (200 with SDP), the far end's leg is not disturbed, early
// media keeps flowing, and the call connects both ways after the answer.
func TestEarlyUpdateWithSDP(t *testing.T) {
	h := newHarness(t, nil)
	release := make(chan struct{})
	done := make(chan *siptest.Call, 1)
	go func() {
		in := h.nextIncoming()
		if err := in.Progress(siptest.AnswerOptions{ToneHz: 700}); err != nil {
			t.Errorf("183: %v", err)
		}
		select {
		case <-release:
		case <-h.ctx.Done():
			return
		}
		fc, err := in.Answer(siptest.AnswerOptions{ToneHz: farHz})
		if err != nil {
			t.Errorf("answer: %v", err)
		}
		done <- fc
	}()
	early := make(chan *siptest.Call, 1)
	result := make(chan *siptest.Call, 1)
	go func() {
		c, err := h.caller.Invite(h.ctx, h.target("+15550100"), siptest.InviteOptions{ToneHz: callerHz,
			OnProvisional: func(c *siptest.Call, res *siptestResponse) {
				if res.StatusCode == 183 {
					select {
					case early <- c:
					default:
					}
				}
			}})
		if err != nil {
			t.Errorf("invite: %v", err)
		}
		result <- c
	}()
	var c *siptest.Call
	select {
	case c = <-early:
	case <-time.After(10 * time.Second):
		t.Fatal("no 183")
	}
	waitTone(t, c, 700, "caller in early media")
	res, err := c.UpdateOffer(h.ctx, siptest.SendRecv)
	if err != nil || res == nil || res.StatusCode != 200 {
		t.Fatalf("early UPDATE: %v %v", err, res)
	}
	if !strings.Contains(string(res.Body()), "m=audio") {
		t.Errorf("early UPDATE's 200 has no SDP answer: %q", res.Body())
	}
	c.ResetAudio()
	waitTone(t, c, 700, "caller in early media after its UPDATE")
	close(release)
	if c = recv(t, result, "the caller's final response"); c == nil || c.Status() != 200 {
		t.Fatal("call not answered")
	}
	fc := recv(t, done, "the far end's answer")
	if fc == nil {
		t.Fatal("far end did not answer")
	}
	select {
	case up := <-fc.Updates():
		t.Errorf("the caller's early UPDATE reached the far end: %s", up.StartLine())
	default:
	}
	waitTone(t, c, farHz, "caller after answer")
	waitTone(t, fc, callerHz, "far end after answer")
	h.hangup(c, fc)
}

// TestSessionTimerRefreshReinvite: the caller asks the switch to refresh
// but its Allow lacks UPDATE; the switch refreshes with re-INVITEs (RFC
// 4028 §7.4) carrying Session-Expires with refresher=uac and the leg's SDP,
// never UPDATE, and audio keeps flowing both ways.
func TestSessionTimerRefreshReinvite(t *testing.T) {
	h := newHarness(t, shortTimers(4))
	farCall := h.answerNext(farHz)
	c, err := h.caller.Invite(h.ctx, h.target("+15550100"), siptest.InviteOptions{ToneHz: callerHz,
		Headers: map[string]string{"Session-Expires": "4;refresher=uas", "Supported": "timer",
			"Allow": "INVITE, ACK, CANCEL, BYE, OPTIONS"}})
	if err != nil || c.Status() != 200 {
		t.Fatalf("call: %v (status %d)", err, c.Status())
	}
	fc := h.waitCall(farCall)
	for i := 0; i < 2; i++ {
		ri := recv(t, c.Reinvites(), fmt.Sprintf("refresh re-INVITE %d", i+1))
		if h := ri.Request.GetHeader("Session-Expires"); h == nil || strings.ReplaceAll(h.Value(), " ", "") != "4;refresher=uac" {
			t.Errorf("refresh %d Session-Expires = %v, want 4;refresher=uac", i+1, h)
		}
		if !strings.Contains(string(ri.Request.Body()), "m=audio") {
			t.Errorf("refresh re-INVITE %d carries no SDP: %q", i+1, ri.Request.Body())
		}
	}
	select {
	case up := <-c.Updates():
		t.Errorf("switch refreshed with UPDATE though the caller's Allow lacks it: %s", up.StartLine())
	default:
	}
	c.ResetAudio()
	fc.ResetAudio()
	waitTone(t, c, farHz, "caller after re-INVITE refreshes")
	waitTone(t, fc, callerHz, "far end after re-INVITE refreshes")
	h.hangup(c, fc)
}

// TestSessionTimerRefresh422: the caller answers the switch's first
// refresh 422 with Min-SE: 6 (above the 4 s interval); the switch sends the
// refresh again at once with Session-Expires and Min-SE 6 (RFC 4028 §7.4),
// keeps 6 s for the refreshes after it, and the call stays up.
func TestSessionTimerRefresh422(t *testing.T) {
	h := newHarness(t, shortTimers(4))
	farCall := h.answerNext(farHz)
	c, err := h.caller.Invite(h.ctx, h.target("+15550100"), siptest.InviteOptions{ToneHz: callerHz,
		Headers: map[string]string{"Session-Expires": "4;refresher=uas", "Supported": "timer"}})
	if err != nil || c.Status() != 200 {
		t.Fatalf("call: %v (status %d)", err, c.Status())
	}
	fc := h.waitCall(farCall)
	c.RefuseNextUpdate(422, "Session Interval Too Small", map[string]string{"Min-SE": "6"})
	want := []string{"4;refresher=uac", "6;refresher=uac", "6;refresher=uac"}
	for i, w := range want {
		up := recv(t, c.Updates(), fmt.Sprintf("refresh %d", i+1))
		se := up.GetHeader("Session-Expires")
		if se == nil || strings.ReplaceAll(se.Value(), " ", "") != w {
			t.Errorf("refresh %d Session-Expires = %v, want %s", i+1, se, w)
		}
		if i == 1 {
			if m := up.GetHeader("Min-SE"); m == nil || strings.TrimSpace(m.Value()) != "6" {
				t.Errorf("refresh retried after 422: Min-SE = %v, want 6", m)
			}
		}
	}
	select {
	case <-c.Ended():
		t.Fatal("the call ended after the 422")
	default:
	}
	waitTone(t, c, farHz, "caller after the 422")
	waitTone(t, fc, callerHz, "far end after the 422")
	h.hangup(c, fc)
}

// TestEarlyUpdateCodecChange: in early media (the far end's 183, PCMU) the
// caller re-offers PCMA only by UPDATE; the switch answers PCMA on the
// caller's leg and the far end is not disturbed. When the far end answers
// (PCMU), the caller's 200 keeps PCMA, the codec the early UPDATE agreed,
// and audio flows both ways, transcoded.
func TestEarlyUpdateCodecChange(t *testing.T) {
	h := newHarness(t, nil)
	release := make(chan struct{})
	done := make(chan *siptest.Call, 1)
	go func() {
		in := h.nextIncoming()
		if err := in.Progress(siptest.AnswerOptions{ToneHz: 700, Codecs: []string{"PCMU"}}); err != nil {
			t.Errorf("183: %v", err)
		}
		select {
		case <-release:
		case <-h.ctx.Done():
			return
		}
		fc, err := in.Answer(siptest.AnswerOptions{ToneHz: farHz, Codecs: []string{"PCMU"}})
		if err != nil {
			t.Errorf("answer: %v", err)
		}
		done <- fc
	}()
	early := make(chan *siptest.Call, 1)
	result := make(chan *siptest.Call, 1)
	go func() {
		c, err := h.caller.Invite(h.ctx, h.target("+15550100"), siptest.InviteOptions{ToneHz: callerHz,
			Codecs: []string{"PCMU", "PCMA"},
			OnProvisional: func(c *siptest.Call, res *siptestResponse) {
				if res.StatusCode == 183 {
					select {
					case early <- c:
					default:
					}
				}
			}})
		if err != nil {
			t.Errorf("invite: %v", err)
		}
		result <- c
	}()
	c := recv(t, early, "183")
	waitTone(t, c, 700, "caller in early media")
	if err := c.SetCodecs("PCMA"); err != nil {
		t.Fatal(err)
	}
	res, err := c.UpdateOffer(h.ctx, siptest.SendRecv)
	if err != nil || res == nil || res.StatusCode != 200 {
		t.Fatalf("early UPDATE: %v %v", err, res)
	}
	if got := c.Codec(); got != "PCMA" {
		t.Fatalf("codec after the early UPDATE = %q, want PCMA", got)
	}
	close(release)
	if c = recv(t, result, "the caller's final response"); c == nil || c.Status() != 200 {
		t.Fatal("call not answered")
	}
	fc := recv(t, done, "the far end's answer")
	if fc == nil {
		t.Fatal("far end did not answer")
	}
	if got := c.Codec(); got != "PCMA" {
		t.Errorf("caller's codec after the 200 = %q, want PCMA (the early UPDATE's):\n%s", got, c.RemoteSDP())
	}
	if !strings.Contains(c.RemoteSDP(), "PCMA/8000") || strings.Contains(c.RemoteSDP(), "PCMU/8000") {
		t.Errorf("the 200's SDP does not keep PCMA alone:\n%s", c.RemoteSDP())
	}
	select {
	case up := <-fc.Updates():
		t.Errorf("the caller's early UPDATE reached the far end: %s", up.StartLine())
	default:
	}
	c.ResetAudio()
	waitTone(t, c, farHz, "caller after answer")
	waitTone(t, fc, callerHz, "far end after answer")
	h.hangup(c, fc)
}

// TestEarlyUpdateFromFarEnd: in early media (its 183, PCMU) the far end
// offers sendonly by UPDATE (answered recvonly), then PCMA only; the
// switch answers each on the far end's
// leg (200 with PCMA), the caller is sent nothing (no UPDATE, no
// re-INVITE) and keeps hearing the early media; after the far end's 200
// audio flows both ways.
func TestEarlyUpdateFromFarEnd(t *testing.T) {
	h := newHarness(t, nil)
	early := make(chan *siptest.Incoming, 1)
	release := make(chan struct{})
	done := make(chan *siptest.Call, 1)
	go func() {
		in := h.nextIncoming()
		if err := in.Progress(siptest.AnswerOptions{ToneHz: 700, Codecs: []string{"PCMU", "PCMA"}}); err != nil {
			t.Errorf("183: %v", err)
		}
		early <- in
		select {
		case <-release:
		case <-h.ctx.Done():
			return
		}
		fc, err := in.Answer(siptest.AnswerOptions{ToneHz: farHz})
		if err != nil {
			t.Errorf("answer: %v", err)
		}
		done <- fc
	}()
	heard, heardCh := hearsEarly(700)
	result := make(chan *siptest.Call, 1)
	go func() {
		c, err := h.caller.Invite(h.ctx, h.target("+15550100"), siptest.InviteOptions{ToneHz: callerHz,
			Codecs: []string{"PCMU"}, OnProvisional: heard})
		if err != nil {
			t.Errorf("invite: %v", err)
		}
		result <- c
	}()
	in := recv(t, early, "far end's 183")
	if !recv(t, heardCh, "early media check") {
		t.Fatal("caller does not hear the early media")
	}
	ec := in.EarlyCall()
	// A direction change in the early dialog is answered on the far end's
	// leg too: the caller's dialog is not confirmed and is not re-offered.
	res, err := ec.UpdateOffer(h.ctx, siptest.SendOnly)
	if err != nil || res == nil || res.StatusCode != 200 || !strings.Contains(string(res.Body()), "a=recvonly") {
		t.Fatalf("far end's early UPDATE (sendonly): %v %v", err, res)
	}
	if err := ec.SetCodecs("PCMA"); err != nil {
		t.Fatal(err)
	}
	res, err = ec.UpdateOffer(h.ctx, siptest.SendRecv)
	if err != nil || res == nil || res.StatusCode != 200 {
		t.Fatalf("far end's early UPDATE: %v %v", err, res)
	}
	if got := ec.Codec(); got != "PCMA" {
		t.Errorf("far end's codec after its early UPDATE = %q, want PCMA:\n%s", got, res.Body())
	}
	close(release)
	c := recv(t, result, "the caller's final response")
	if c == nil || c.Status() != 200 {
		t.Fatal("call not answered")
	}
	fc := recv(t, done, "the far end's answer")
	if fc == nil {
		t.Fatal("far end did not answer")
	}
	select {
	case up := <-c.Updates():
		t.Errorf("the far end's early UPDATE reached the caller: %s", up.StartLine())
	default:
	}
	noReinvite(t, c, "caller")
	c.ResetAudio()
	waitTone(t, c, farHz, "caller after answer")
	waitTone(t, fc, callerHz, "far end after answer")
	h.hangup(c, fc)
}
