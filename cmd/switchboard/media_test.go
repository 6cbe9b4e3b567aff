package main

import (
	"context"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/switchboard-voice/switchboard/config"
	"github.com/switchboard-voice/switchboard/sip/siptest"
)

// transcodeConfig is testdata/config/transcode.yaml with the harness's
// addresses: the far end speaks Opus only.
func transcodeConfig(t *testing.T) func(c *config.Config) {
	return func(c *config.Config) {
		ref, err := config.Load("../../testdata/config/transcode.yaml")
		if err != nil {
			t.Fatal(err)
		}
		listen, ports, httpListen, far, db := c.SIP.Listen, c.RTP.Ports, c.HTTP.Listen, c.Trunks[1].Outbound.URI, c.Storage.Database
		keys := c.API.Keys // the harness's supervisor key (/metrics)
		*c = *ref
		c.API.Keys = keys
		c.SIP.Listen, c.RTP.Ports, c.RTP.PortMin, c.RTP.PortMax = listen, ports, 0, 0
		c.HTTP.Listen, c.Storage.Database = httpListen, db
		c.Trunks[1].Outbound.URI = far
		c.ShutdownTimeout = 2 * time.Second
	}
}

// metricFloat reads a sample as a number (0 when absent).
func (h *harness) metricFloat(name string) float64 {
	v, err := strconv.ParseFloat(h.metric(name), 64)
	if err != nil {
		return 0
	}
	return v
}

// mLine returns the m=audio line of an SDP body.
func mLine(sdp string) string {
	for _, l := range strings.Split(sdp, "\n") {
		if strings.HasPrefix(l, "m=audio") {
			return strings.TrimSpace(l)
		}
	}
	return ""
}

// TestTranscodedCall: a PCMU carrier calls through transcode.yaml to a far
// end that speaks Opus only; a tone each way is detected at each end after
// transcoding, and each leg's SDP carries its own codec.
func TestTranscodedCall(t *testing.T) {
	h := newHarness(t, transcodeConfig(t))
	const callerHz, farHz = 1000, 1500
	farCall := h.answerNextWith(siptest.AnswerOptions{ToneHz: farHz, Codecs: []string{"opus"}})
	c, err := h.caller.Invite(h.ctx, h.target("+15550100"), siptest.InviteOptions{ToneHz: callerHz, Codecs: []string{"PCMU"}})
	if err != nil || c.Status() != 200 {
		t.Fatalf("invite: %v (status %d)", err, c.Status())
	}
	fc := h.waitCall(farCall)
	waitTone(t, fc, callerHz, "far end (Opus)")
	waitTone(t, c, farHz, "caller (PCMU)")

	if m := mLine(fc.LocalSDP()); !strings.Contains(fc.RemoteSDP(), "opus/48000/2") || strings.Contains(fc.RemoteSDP(), "PCMU") {
		t.Errorf("far end's SDP from the switch should offer Opus only:\n%s (far answered %s)", fc.RemoteSDP(), m)
	}
	if !strings.Contains(fc.RemoteSDP(), "telephone-event/48000") {
		t.Errorf("far end's offer lacks telephone-event/48000:\n%s", fc.RemoteSDP())
	}
	if sdp := c.RemoteSDP(); !strings.HasPrefix(mLine(sdp), "m=audio") || strings.Contains(sdp, "opus") || !strings.Contains(sdp, "PCMU/8000") {
		t.Errorf("caller's answer should be PCMU only:\n%s", sdp)
	}
	// 2 s of audio each way through the transcoder: about 200 packets.
	time.Sleep(2 * time.Second)
	if got := h.metricFloat("switchboard_rtp_packets_transcoded_total"); got < 150 {
		t.Errorf("switchboard_rtp_packets_transcoded_total = %v after 2 s, want ≥ 150", got)
	}
	h.hangup(c, fc)
	h.waitMetric("switchboard_calls_transcoded_total", "1")
}

// TestG711LawConversion: PCMU on one leg, PCMA on the other: converted by
// table (no transcoder), tones both ways.
func TestG711LawConversion(t *testing.T) {
	h := newHarness(t, func(c *config.Config) {
		c.Trunks[0].Codecs = []string{"PCMU"}
		c.Trunks[1].Codecs = []string{"PCMA"}
	})
	farCall := h.answerNextWith(siptest.AnswerOptions{ToneHz: 700, Codecs: []string{"PCMA"}})
	c, err := h.caller.Invite(h.ctx, h.target("+15550100"), siptest.InviteOptions{ToneHz: 1100, Codecs: []string{"PCMU"}})
	if err != nil || c.Status() != 200 {
		t.Fatalf("invite: %v", err)
	}
	fc := h.waitCall(farCall)
	waitTone(t, fc, 1100, "far end (PCMA)")
	waitTone(t, c, 700, "caller (PCMU)")
	if c.Codec() != "PCMU" || fc.Codec() != "PCMA" {
		t.Errorf("codecs caller %s far %s, want PCMU and PCMA", c.Codec(), fc.Codec())
	}
	if got := h.metricFloat("switchboard_rtp_packets_transcoded_total"); got != 0 {
		t.Errorf("law conversion went through the transcoder (%v packets)", got)
	}
	h.hangup(c, fc)
	h.waitMetric("switchboard_calls_transcoded_total", "0")
}

// waitDigits waits for n digits on c and returns them as a string with
// how they came.
func waitDigits(t *testing.T, c *siptest.Call, n int, who string) []siptest.Digit {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	d, err := c.WaitDigits(ctx, n)
	if err != nil {
		t.Fatalf("%s: %v (got %v)", who, err, c.Digits())
	}
	return d
}

func digitString(ds []siptest.Digit) string {
	var b strings.Builder
	for _, d := range ds {
		b.WriteRune(d.Digit)
	}
	return b.String()
}

// TestDTMFInfoToRFC4733: the carrier trunk uses SIP INFO, the far end RFC
// 4733 — on a transcoded call (Opus far end, events at 48 kHz) and on a
// relayed one (PCMU both sides, events injected into the relayed stream):
// digits cross both ways converted, once each.
func TestDTMFInfoToRFC4733(t *testing.T) {
	for _, tc := range []struct {
		name  string
		base  func(c *config.Config)
		codec string
	}{
		{"transcoded", transcodeConfig(t), "opus"},
		{"relayed", func(*config.Config) {}, "PCMU"},
	} {
		t.Run(tc.name, func(t *testing.T) { dtmfInfoToRFC4733(t, tc.base, tc.codec) })
	}
}

func dtmfInfoToRFC4733(t *testing.T, base func(c *config.Config), farCodec string) {
	h := newHarness(t, func(c *config.Config) {
		base(c)
		c.Trunks[0].DTMF = "info"
	})
	farCall := h.answerNextWith(siptest.AnswerOptions{ToneHz: 1500, Codecs: []string{farCodec}})
	c, err := h.caller.Invite(h.ctx, h.target("+15550100"), siptest.InviteOptions{ToneHz: 1000, Codecs: []string{"PCMU"}, NoTelephoneEvent: true})
	if err != nil || c.Status() != 200 {
		t.Fatalf("invite: %v", err)
	}
	fc := h.waitCall(farCall)
	waitTone(t, fc, 1000, "far end")
	for _, d := range "1#9" {
		if err := c.SendDTMFInfo(h.ctx, d, 120*time.Millisecond); err != nil {
			t.Fatalf("INFO %c: %v", d, err)
		}
	}
	got := waitDigits(t, fc, 3, "far end")
	if s := digitString(got); s != "1#9" {
		t.Errorf("far end got %q, want 1#9", s)
	}
	for _, d := range got {
		if d.Via != "rfc4733" {
			t.Errorf("far end got %c via %s, want rfc4733", d.Digit, d.Via)
		}
		if d.Duration < 100*time.Millisecond || d.Duration > 160*time.Millisecond {
			t.Errorf("digit %c lasted %v at the far end, want about 120ms", d.Digit, d.Duration)
		}
	}
	// And back: RFC 4733 at 48 kHz from the far end arrives as INFO.
	if err := fc.SendDTMF(h.ctx, '4', 100*time.Millisecond); err != nil {
		t.Fatal(err)
	}
	back := waitDigits(t, c, 1, "caller")
	if back[0].Digit != '4' || back[0].Via != "info" {
		t.Errorf("caller got %+v, want 4 via info", back[0])
	}
	time.Sleep(300 * time.Millisecond) // a doubled digit would arrive now
	if n := len(fc.Digits()); n != 3 {
		t.Errorf("far end has %d digits, want 3 (not doubled)", n)
	}
	if n := len(c.Digits()); n != 1 {
		t.Errorf("caller has %d digits, want 1 (not doubled)", n)
	}
	h.hangup(c, fc)
	h.waitMetric(`switchboard_dtmf_digits_total{leg="caller"}`, "3")
}

// TestDTMFAcrossClockRates: RFC 4733 at 8000 Hz from a PCMU carrier reaches
// an Opus far end as telephone-event/48000 with the same duration.
func TestDTMFAcrossClockRates(t *testing.T) {
	h := newHarness(t, transcodeConfig(t))
	farCall := h.answerNextWith(siptest.AnswerOptions{Codecs: []string{"opus"}})
	c, err := h.caller.Invite(h.ctx, h.target("+15550100"), siptest.InviteOptions{ToneHz: 1000, Codecs: []string{"PCMU"}})
	if err != nil || c.Status() != 200 {
		t.Fatalf("invite: %v", err)
	}
	fc := h.waitCall(farCall)
	for _, d := range "5*" {
		if err := c.SendDTMF(h.ctx, d, 200*time.Millisecond); err != nil {
			t.Fatal(err)
		}
	}
	got := waitDigits(t, fc, 2, "far end")
	if s := digitString(got); s != "5*" {
		t.Errorf("far end got %q, want 5*", s)
	}
	for _, d := range got {
		if d.Via != "rfc4733" || d.Duration < 180*time.Millisecond || d.Duration > 240*time.Millisecond {
			t.Errorf("far end got %+v, want rfc4733 lasting about 200ms", d)
		}
	}
	time.Sleep(300 * time.Millisecond)
	if n := len(fc.Digits()); n != 2 {
		t.Errorf("far end has %d digits, want 2 (not doubled)", n)
	}
	h.hangup(c, fc)
}

// TestDTMFRelayedNotDoubled: same codec and RFC 4733 on both legs: the
// relay forwards the events and the call does not send them again.
func TestDTMFRelayedNotDoubled(t *testing.T) {
	h := newHarness(t, nil)
	farCall := h.answerNextWith(siptest.AnswerOptions{Codecs: []string{"PCMU"}})
	c, err := h.caller.Invite(h.ctx, h.target("+15550100"), siptest.InviteOptions{ToneHz: 1000, Codecs: []string{"PCMU"}})
	if err != nil || c.Status() != 200 {
		t.Fatalf("invite: %v", err)
	}
	fc := h.waitCall(farCall)
	for _, d := range "0#" {
		if err := c.SendDTMF(h.ctx, d, 100*time.Millisecond); err != nil {
			t.Fatal(err)
		}
	}
	if s := digitString(waitDigits(t, fc, 2, "far end")); s != "0#" {
		t.Errorf("far end got %q, want 0#", s)
	}
	time.Sleep(400 * time.Millisecond)
	if n := len(fc.Digits()); n != 2 {
		t.Errorf("far end has %d digits, want 2 (not doubled)", n)
	}
	h.hangup(c, fc)
}

// TestSRTPCall: a trunk with srtp: required takes an SDES call from a Go UA;
// audio flows both ways, encrypted on that leg, plain on the other.
func TestSRTPCall(t *testing.T) {
	h := newHarness(t, func(c *config.Config) { c.Trunks[0].SRTP = "required" })
	farCall := h.answerNextWith(siptest.AnswerOptions{ToneHz: 900})
	c, err := h.caller.Invite(h.ctx, h.target("+15550100"), siptest.InviteOptions{ToneHz: 1300, SRTP: siptest.SRTPSDES})
	if err != nil || c.Status() != 200 {
		t.Fatalf("invite: %v (status %d)", err, c.Status())
	}
	fc := h.waitCall(farCall)
	waitTone(t, fc, 1300, "far end (plain RTP)")
	waitTone(t, c, 900, "caller (SRTP)")
	if !c.SRTP() || fc.SRTP() {
		t.Errorf("SRTP caller %v far %v, want true and false", c.SRTP(), fc.SRTP())
	}
	if !strings.Contains(c.RemoteSDP(), "RTP/SAVP") || !strings.Contains(c.RemoteSDP(), "a=crypto:") {
		t.Errorf("answer to an SDES offer is not SRTP:\n%s", c.RemoteSDP())
	}
	if strings.Contains(h.logs.String(), "inline:") {
		t.Error("an SRTP key reached the logs")
	}
	h.hangup(c, fc)

	// Plain RTP on a required trunk: 488, and the far end sees nothing.
	plain, err := h.caller.Invite(h.ctx, h.target("+15550100"), siptest.InviteOptions{ToneHz: 1300})
	if err != nil {
		t.Fatal(err)
	}
	if plain.Status() != 488 {
		t.Errorf("plain RTP on srtp: required got %d, want 488", plain.Status())
	}
}

// TestSRTPOutbound: a far-end trunk with srtp: required is offered RTP/SAVP
// with SDES keys and the call's audio is encrypted on that leg.
func TestSRTPOutbound(t *testing.T) {
	h := newHarness(t, func(c *config.Config) { c.Trunks[1].SRTP = "required" })
	farCall := h.answerNextWith(siptest.AnswerOptions{ToneHz: 900, SRTP: siptest.SRTPSDES})
	c, err := h.caller.Invite(h.ctx, h.target("+15550100"), siptest.InviteOptions{ToneHz: 1300})
	if err != nil || c.Status() != 200 {
		t.Fatalf("invite: %v", err)
	}
	fc := h.waitCall(farCall)
	waitTone(t, fc, 1300, "far end (SRTP)")
	waitTone(t, c, 900, "caller (plain)")
	if !fc.SRTP() || !strings.Contains(mLine(fc.RemoteSDP()), "RTP/SAVP") {
		t.Errorf("far end: SRTP %v, offer %q", fc.SRTP(), mLine(fc.RemoteSDP()))
	}
	h.hangup(c, fc)
}

// legQuality reads the caller leg's loss and MOS from the histograms of one
// finished call.
func (h *harness) callerQuality() (loss, mos float64) {
	h.t.Helper()
	deadline := time.Now().Add(3 * time.Second)
	for h.metric(`switchboard_leg_mos_count{leg="caller"}`) != "1" && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	return h.metricFloat(`switchboard_leg_packet_loss_percent_sum{leg="caller"}`),
		h.metricFloat(`switchboard_leg_mos_sum{leg="caller"}`)
}

// impairedCall runs a transcoded call whose caller sends with imp for 4 s
// and returns the caller leg's loss and MOS as the switch measured them.
func impairedCall(t *testing.T, imp siptest.Impairment, weakWanted bool) (loss, mos float64) {
	h := newHarness(t, func(c *config.Config) {
		transcodeConfig(t)(c)
		c.RTP.RTCPInterval = 500 * time.Millisecond
	})
	farCall := h.answerNextWith(siptest.AnswerOptions{ToneHz: 1500, Codecs: []string{"opus"}})
	c, err := h.caller.Invite(h.ctx, h.target("+15550100"), siptest.InviteOptions{ToneHz: 1000, Codecs: []string{"PCMU"}})
	if err != nil || c.Status() != 200 {
		t.Fatalf("invite: %v", err)
	}
	c.SetImpairment(imp)
	fc := h.waitCall(farCall)
	time.Sleep(4 * time.Second)
	waitTone(t, fc, 1000, "far end")
	concealed := h.metricFloat("switchboard_frames_concealed_total")
	if imp.Loss > 0 && concealed == 0 {
		t.Error("no frame concealed on an impaired call: PLC not used")
	}
	if weakWanted {
		if got := h.metricFloat(`switchboard_leg_weak_total{leg="caller"}`); got < 1 {
			t.Errorf("no weak-connection notice for the caller's leg (MOS events): %v", got)
		}
	}
	h.hangup(c, fc)
	return h.callerQuality()
}

// TestImpairedLeg: 5 % loss and ±40 ms jitter from the caller: audio still
// detected after the jitter buffer and PLC, loss reported ≈ 5 %, MOS below
// a clean call's; at 20 % loss the leg is reported weak.
func TestImpairedLeg(t *testing.T) {
	cleanLoss, cleanMOS := impairedCall(t, siptest.Impairment{}, false)
	if cleanLoss > 0.5 || cleanMOS < 4.2 {
		t.Errorf("clean call: loss %.2f %%, MOS %.2f; want ≈ 0 and ≥ 4.2", cleanLoss, cleanMOS)
	}
	loss, mos := impairedCall(t, siptest.Impairment{Loss: 0.05, Jitter: 40 * time.Millisecond, Seed: 7}, false)
	if loss < 2.5 || loss > 8 {
		t.Errorf("5 %% loss reported as %.2f %%", loss)
	}
	if mos >= cleanMOS {
		t.Errorf("MOS with 5 %% loss and jitter %.2f, not below the clean call's %.2f", mos, cleanMOS)
	}
	t.Logf("clean: loss %.2f %% MOS %.2f; impaired: loss %.2f %% MOS %.2f", cleanLoss, cleanMOS, loss, mos)
	impairedCall(t, siptest.Impairment{Loss: 0.2, Seed: 9}, true)
}

// TestMediaTimeout: a far end that stops sending is hung up after
// media_timeout with a reason; a leg on hold is not.
func TestMediaTimeout(t *testing.T) {
	h := newHarness(t, func(c *config.Config) { c.RTP.MediaTimeout = time.Second })
	// On hold: the far end answers the caller's sendonly with recvonly and
	// sends nothing: no timeout.
	farCall := h.answerNextWith(siptest.AnswerOptions{ToneHz: 900})
	c, err := h.caller.Invite(h.ctx, h.target("+15550100"), siptest.InviteOptions{ToneHz: 1300})
	if err != nil || c.Status() != 200 {
		t.Fatalf("invite: %v", err)
	}
	fc := h.waitCall(farCall)
	waitTone(t, c, 900, "caller")
	if _, err := c.Hold(h.ctx); err != nil {
		t.Fatal(err)
	}
	fc.SetImpairment(siptest.Impairment{Loss: 1})
	select {
	case <-c.Ended():
		t.Fatal("a call on hold was hung up for silence")
	case <-time.After(2500 * time.Millisecond):
	}
	h.hangup(c, fc)

	// Not on hold: the far end goes silent and the call is hung up.
	farCall = h.answerNextWith(siptest.AnswerOptions{ToneHz: 900})
	c, err = h.caller.Invite(h.ctx, h.target("+15550100"), siptest.InviteOptions{ToneHz: 1300})
	if err != nil || c.Status() != 200 {
		t.Fatalf("invite: %v", err)
	}
	fc = h.waitCall(farCall)
	waitTone(t, c, 900, "caller")
	fc.SetImpairment(siptest.Impairment{Loss: 1})
	waitEnded(t, c, "caller")
	waitEnded(t, fc, "far end")
	if bye := c.Bye(); bye == nil || !strings.Contains(bye.String(), "Media timeout") {
		t.Errorf("caller's BYE has no media timeout reason:\n%v", bye)
	}
	h.waitMetric("switchboard_media_timeouts_total", "1")
}

// TestTranscodedEarlyMedia: an Opus far end's 183 with SDP reaches a PCMU
// caller as early media, transcoded, before the answer; the answer keeps
// the same transcoder running.
func TestTranscodedEarlyMedia(t *testing.T) {
	h := newHarness(t, transcodeConfig(t))
	done := make(chan *siptest.Call, 1)
	go func() {
		in := h.nextIncoming()
		if err := in.Progress(siptest.AnswerOptions{ToneHz: 700, Codecs: []string{"opus"}}); err != nil {
			t.Errorf("183: %v", err)
		}
		time.Sleep(1500 * time.Millisecond)
		c, err := in.Answer(siptest.AnswerOptions{ToneHz: 700, Codecs: []string{"opus"}})
		if err != nil {
			t.Errorf("answer: %v", err)
		}
		done <- c
	}()
	onProvisional, heardEarly := hearsEarly(700)
	c, err := h.caller.Invite(h.ctx, h.target("+15550100"), siptest.InviteOptions{ToneHz: 1000, Codecs: []string{"PCMU"},
		OnProvisional: onProvisional})
	if err != nil || c.Status() != 200 {
		t.Fatalf("invite: %v", err)
	}
	if ok := <-heardEarly; !ok {
		t.Error("caller did not hear the transcoded early media before the answer")
	}
	fc := <-done
	if fc == nil {
		t.Fatal("far end did not answer")
	}
	waitTone(t, fc, 1000, "far end")
	waitTone(t, c, 700, "caller")
	h.hangup(c, fc)
	h.waitMetric("switchboard_calls_transcoded_total", "1") // the call is over
	if n := strings.Count(h.logs.String(), `msg="media bridge"`); n != 1 {
		t.Errorf("%d media bridges built, want 1 (the early one kept at answer)", n)
	}
}
