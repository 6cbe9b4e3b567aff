package main

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"

	sipmsg "github.com/emiago/sipgo/sip"
	"github.com/pion/sdp/v3"

	"github.com/switchboard-voice/switchboard/config"
	"github.com/switchboard-voice/switchboard/sip/siptest"
)

// noReinvite fails the test if c received a re-INVITE (the other leg of a
// re-offer must not be disturbed by what does not concern it).
func noReinvite(t *testing.T, c *siptest.Call, who string) {
	t.Helper()
	select {
	case ri := <-c.Reinvites():
		t.Errorf("%s disturbed by a re-INVITE (%q):\n%s", who, ri.Direction, ri.Request.Body())
	default:
	}
}

// reinvited waits for the re-INVITE c receives and returns it.
func reinvited(t *testing.T, c *siptest.Call, who string) siptest.ReInvite {
	t.Helper()
	select {
	case ri := <-c.Reinvites():
		return ri
	case <-time.After(5 * time.Second):
		t.Fatalf("%s got no re-INVITE", who)
		return siptest.ReInvite{}
	}
}

// tonesBothWays drops what each end heard so far and waits until each hears
// the other's tone.
func tonesBothWays(t *testing.T, c, fc *siptest.Call, callerHz, farHz float64, when string) {
	t.Helper()
	c.ResetAudio()
	fc.ResetAudio()
	waitTone(t, fc, callerHz, "far end "+when)
	waitTone(t, c, farHz, "caller "+when)
}

// TestReinviteCodecChange: the caller moves PCMU → PCMA only → PCMU by
// re-INVITE on a relayed call. Each offer is answered on the caller's leg
// with its own trunk's codecs, the far end is not re-offered anything (its
// PCMU stays), the relay converts the laws by table and audio flows both
// ways after every change.
func TestReinviteCodecChange(t *testing.T) {
	h := newHarness(t, nil)
	const callerHz, farHz = 900, 1700
	farCall := h.answerNextWith(siptest.AnswerOptions{ToneHz: farHz, Codecs: []string{"PCMU", "PCMA"}})
	c, err := h.caller.Invite(h.ctx, h.target("+15550100"), siptest.InviteOptions{ToneHz: callerHz, Codecs: []string{"PCMU", "PCMA"}})
	if err != nil || c.Status() != 200 {
		t.Fatalf("invite: %v", err)
	}
	fc := h.waitCall(farCall)
	tonesBothWays(t, c, fc, callerHz, farHz, "at the start")
	if c.Codec() != "PCMU" || fc.Codec() != "PCMU" {
		t.Fatalf("codecs caller %s far %s, want PCMU both", c.Codec(), fc.Codec())
	}
	for _, codec := range []string{"PCMA", "PCMU"} {
		if err := c.SetCodecs(codec); err != nil {
			t.Fatal(err)
		}
		dir, err := c.Reinvite(h.ctx, siptest.SendRecv)
		if err != nil || dir != siptest.SendRecv {
			t.Fatalf("re-INVITE to %s: answered %q, %v", codec, dir, err)
		}
		if c.Codec() != codec {
			t.Fatalf("caller's codec %s after re-INVITE, want %s; answer:\n%s", c.Codec(), codec, c.RemoteSDP())
		}
		if m := mLine(c.RemoteSDP()); strings.Contains(m, " 0 ") == (codec == "PCMA") {
			t.Errorf("answer to a %s offer has %q", codec, m)
		}
		tonesBothWays(t, c, fc, callerHz, farHz, "after the change to "+codec)
		noReinvite(t, fc, "far end")
		if fc.Codec() != "PCMU" {
			t.Errorf("far end's codec %s, want PCMU unchanged", fc.Codec())
		}
	}
	if got := h.metricFloat("switchboard_rtp_packets_transcoded_total"); got != 0 {
		t.Errorf("PCMU/PCMA went through the transcoder (%v packets)", got)
	}
	h.hangup(c, fc)
}

// TestHoldTranscoded: on a call transcoded PCMU ↔ Opus, the caller's hold
// is answered recvonly and the far end is re-offered its own codec (Opus)
// sendonly; the far end's hold reaches the caller with PCMU; after each
// resume audio flows both ways.
func TestHoldTranscoded(t *testing.T) {
	h := newHarness(t, transcodeConfig(t))
	const callerHz, farHz = 1000, 1500
	farCall := h.answerNextWith(siptest.AnswerOptions{ToneHz: farHz, Codecs: []string{"opus"}})
	c, err := h.caller.Invite(h.ctx, h.target("+15550100"), siptest.InviteOptions{ToneHz: callerHz, Codecs: []string{"PCMU"}})
	if err != nil || c.Status() != 200 {
		t.Fatalf("invite: %v", err)
	}
	fc := h.waitCall(farCall)
	tonesBothWays(t, c, fc, callerHz, farHz, "at the start")

	dir, err := c.Hold(h.ctx)
	if err != nil || dir != siptest.RecvOnly {
		t.Fatalf("caller's hold answered %q, %v; want recvonly", dir, err)
	}
	ri := reinvited(t, fc, "far end")
	if ri.Direction != siptest.SendOnly {
		t.Errorf("far end re-offered %q, want sendonly", ri.Direction)
	}
	if body := string(ri.Request.Body()); !strings.Contains(body, "opus/48000") || strings.Contains(body, "PCMU") {
		t.Errorf("far end re-offered other codecs than its own Opus:\n%s", body)
	}
	if dir, err = c.Resume(h.ctx); err != nil || dir != siptest.SendRecv {
		t.Fatalf("caller's resume answered %q, %v", dir, err)
	}
	if ri := reinvited(t, fc, "far end"); ri.Direction != siptest.SendRecv {
		t.Errorf("far end re-offered %q on resume, want sendrecv", ri.Direction)
	}
	tonesBothWays(t, c, fc, callerHz, farHz, "after the caller's resume")

	if dir, err = fc.Hold(h.ctx); err != nil || dir != siptest.RecvOnly {
		t.Fatalf("far end's hold answered %q, %v; want recvonly", dir, err)
	}
	ri = reinvited(t, c, "caller")
	if ri.Direction != siptest.SendOnly {
		t.Errorf("caller re-offered %q, want sendonly", ri.Direction)
	}
	if body := string(ri.Request.Body()); strings.Contains(body, "opus") || !strings.Contains(body, "PCMU/8000") {
		t.Errorf("caller re-offered other codecs than its own PCMU:\n%s", body)
	}
	if dir, err = fc.Resume(h.ctx); err != nil || dir != siptest.SendRecv {
		t.Fatalf("far end's resume answered %q, %v", dir, err)
	}
	if ri := reinvited(t, c, "caller"); ri.Direction != siptest.SendRecv {
		t.Errorf("caller re-offered %q on resume, want sendrecv", ri.Direction)
	}
	tonesBothWays(t, c, fc, callerHz, farHz, "after the far end's resume")
	h.hangup(c, fc)
}

// TestVideoOfferDeclined: an audio+video offer is answered with the same
// two m-lines in the same order, video with port 0 (RFC 3264 §6); the far
// end is offered audio only, and audio flows both ways.
func TestVideoOfferDeclined(t *testing.T) {
	h := newHarness(t, nil)
	farCall := h.answerNext(farHz)
	c, err := h.caller.Invite(h.ctx, h.target("+15550100"), siptest.InviteOptions{ToneHz: callerHz, Video: true})
	if err != nil || c.Status() != 200 {
		t.Fatalf("invite: %v", err)
	}
	fc := h.waitCall(farCall)
	var ans sdp.SessionDescription
	if err := ans.UnmarshalString(c.RemoteSDP()); err != nil {
		t.Fatalf("answer: %v\n%s", err, c.RemoteSDP())
	}
	if n := len(ans.MediaDescriptions); n != 2 {
		t.Fatalf("answer has %d m-lines, want 2 (audio, video):\n%s", n, c.RemoteSDP())
	}
	if a := ans.MediaDescriptions[0].MediaName; a.Media != "audio" || a.Port.Value == 0 {
		t.Errorf("first m-line %s port %d, want audio on a port", a.Media, a.Port.Value)
	}
	if v := ans.MediaDescriptions[1].MediaName; v.Media != "video" || v.Port.Value != 0 {
		t.Errorf("second m-line %s port %d, want video port 0", v.Media, v.Port.Value)
	}
	if strings.Contains(fc.RemoteSDP(), "m=video") {
		t.Errorf("far end offered video:\n%s", fc.RemoteSDP())
	}
	tonesBothWays(t, c, fc, callerHz, farHz, "")
	h.hangup(c, fc)
}

// TestReinviteDropsAndAddsTranscoder: a PCMU caller on a call to an
// Opus-only far end is transcoded; its re-INVITE to Opus is answered with
// Opus and the transcoder is dropped for a relay, and its re-INVITE back to
// PCMU brings the transcoder back. Audio flows both ways after each change.
func TestReinviteDropsAndAddsTranscoder(t *testing.T) {
	h := newHarness(t, func(c *config.Config) {
		transcodeConfig(t)(c)
		c.Trunks[0].Codecs = []string{"PCMU", "opus"}
	})
	const callerHz, farHz = 1000, 1500
	farCall := h.answerNextWith(siptest.AnswerOptions{ToneHz: farHz, Codecs: []string{"opus"}})
	c, err := h.caller.Invite(h.ctx, h.target("+15550100"), siptest.InviteOptions{ToneHz: callerHz, Codecs: []string{"PCMU"}})
	if err != nil || c.Status() != 200 {
		t.Fatalf("invite: %v", err)
	}
	fc := h.waitCall(farCall)
	tonesBothWays(t, c, fc, callerHz, farHz, "at the start")
	for i, step := range []struct {
		codec       string
		transcoding bool
	}{{"opus", false}, {"PCMU", true}} {
		if err := c.SetCodecs(step.codec); err != nil {
			t.Fatal(err)
		}
		if dir, err := c.Reinvite(h.ctx, siptest.SendRecv); err != nil || dir != siptest.SendRecv {
			t.Fatalf("re-INVITE to %s: %q, %v", step.codec, dir, err)
		}
		if c.Codec() != step.codec {
			t.Fatalf("caller's codec %s, want %s", c.Codec(), step.codec)
		}
		tonesBothWays(t, c, fc, callerHz, farHz, "after the change to "+step.codec)
		noReinvite(t, fc, "far end")
		want := fmt.Sprintf("transcoding=%v caller_codec=%s callee_codec=opus", step.transcoding, step.codec)
		if got := lastBridge(h.logs.String()); !strings.Contains(got, want) {
			t.Errorf("step %d: media bridge %q, want %q", i, got, want)
		}
	}
	h.hangup(c, fc)
}

// lastBridge is the switch's last "media bridge" log line.
func lastBridge(logs string) string {
	last := ""
	for _, l := range strings.Split(logs, "\n") {
		if strings.Contains(l, `msg="media bridge"`) {
			last = l
		}
	}
	return last
}

// TestGlareAnswered491: while the switch's re-INVITE (the caller's hold,
// passed on) is pending on the far end's leg, the far end sends its own
// re-INVITE on that leg: it gets 491 (RFC 3261 §14.2). Once the far end
// answers the switch's re-INVITE, the hold completes and the call goes on.
func TestGlareAnswered491(t *testing.T) {
	h := newHarness(t, nil)
	c, fc := h.connected()
	release := make(chan struct{})
	arrived := fc.StallNextReinvite(release)
	held := make(chan error, 1)
	go func() {
		dir, err := c.Hold(h.ctx)
		if err == nil && dir != siptest.RecvOnly {
			err = fmt.Errorf("hold answered %q, want recvonly", dir)
		}
		held <- err
	}()
	recv(t, arrived, "switch's re-INVITE at the far end")
	_, err := fc.Reinvite(h.ctx, siptest.SendOnly)
	var se *siptest.StatusError
	if !errors.As(err, &se) || se.Code != 491 {
		t.Errorf("far end's re-INVITE during the switch's: %v, want 491", err)
	}
	close(release)
	if err := recv(t, held, "caller's hold"); err != nil {
		t.Fatalf("hold: %v", err)
	}
	if ri := reinvited(t, fc, "far end"); ri.Direction != siptest.SendOnly {
		t.Errorf("far end got re-INVITE %q, want sendonly", ri.Direction)
	}
	if _, err := c.Resume(h.ctx); err != nil {
		t.Fatalf("resume: %v", err)
	}
	tonesBothWays(t, c, fc, callerHz, farHz, "after glare and resume")
	h.hangup(c, fc)
}

// TestGlareRetried: the far end answers the switch's re-INVITE (the
// caller's hold, passed on) 491; the switch sends it again after RFC 3261
// §14.1's random wait (2.1 to 4 s: it chose that leg's Call-ID), the far end
// takes it, and the caller's hold completes.
func TestGlareRetried(t *testing.T) {
	h := newHarness(t, nil)
	c, fc := h.connected()
	fc.RefuseNextReinvite(491, "Request Pending", nil)
	dir, err := c.Hold(h.ctx)
	if err != nil || dir != siptest.RecvOnly {
		t.Fatalf("hold answered %q (%v), want recvonly", dir, err)
	}
	if ri := recv(t, fc.Reinvites(), "re-INVITE sent again after 491"); ri.Direction != siptest.SendOnly {
		t.Errorf("far end got re-INVITE %q, want sendonly", ri.Direction)
	}
	if !strings.Contains(h.logs.String(), "re-INVITE met glare (491)") {
		t.Error("no log line about the 491")
	}
	if _, err := c.Resume(h.ctx); err != nil {
		t.Fatalf("resume: %v", err)
	}
	tonesBothWays(t, c, fc, callerHz, farHz, "after the retried hold and resume")
	h.hangup(c, fc)
}

// TestSecondReofferWhileFirstPending: while the caller's re-offer is pending
// on its leg (passed on to the far end, which holds its answer back), a
// second offer from the caller on that leg gets 500 with a Retry-After of 0
// to 10 s (RFC 3261 §14.2, RFC 3311 §5.2), whichever of re-INVITE and
// UPDATE comes first; the first offer completes undisturbed once the far end
// answers, and a later re-offer goes through.
func TestSecondReofferWhileFirstPending(t *testing.T) {
	for _, first := range []string{"re-INVITE", "UPDATE"} {
		t.Run(first+" pending", func(t *testing.T) {
			h := newHarness(t, nil)
			c, fc := h.connected()
			release := make(chan struct{})
			arrived := fc.StallNextReinvite(release)
			held := make(chan error, 1)
			go func() {
				if first == "re-INVITE" {
					dir, err := c.Hold(h.ctx)
					if err == nil && dir != siptest.RecvOnly {
						err = fmt.Errorf("hold answered %q, want recvonly", dir)
					}
					held <- err
					return
				}
				res, err := c.UpdateOffer(h.ctx, siptest.SendOnly)
				if err == nil && res.StatusCode != 200 {
					err = fmt.Errorf("UPDATE hold answered %d %s", res.StatusCode, res.Reason)
				}
				held <- err
			}()
			recv(t, arrived, "the caller's first offer at the far end")

			// The second offer, of the other method.
			var second *sipmsg.Response
			var err error
			if first == "re-INVITE" {
				second, err = c.UpdateOffer(h.ctx, siptest.Inactive)
				if err != nil {
					t.Fatalf("second offer (UPDATE): %v", err)
				}
			} else {
				_, err = c.Reinvite(h.ctx, siptest.Inactive)
				var se *siptest.StatusError
				if !errors.As(err, &se) {
					t.Fatalf("second offer (re-INVITE): %v, want a 500", err)
				}
				second = se.Response
			}
			if second == nil || second.StatusCode != 500 {
				t.Fatalf("second offer while the first is pending: %v, want 500", second)
			}
			ra := second.GetHeader("Retry-After")
			if ra == nil {
				t.Fatalf("500 to the second offer has no Retry-After:\n%s", second)
			}
			if n, err := strconv.Atoi(strings.TrimSpace(ra.Value())); err != nil || n < 0 || n > 10 {
				t.Errorf("Retry-After %q, want 0 to 10", ra.Value())
			}

			close(release)
			if err := recv(t, held, "the caller's first offer"); err != nil {
				t.Fatalf("first offer after the second was refused: %v", err)
			}
			if ri := reinvited(t, fc, "far end"); ri.Direction != siptest.SendOnly {
				t.Errorf("far end got re-INVITE %q, want sendonly (the first offer)", ri.Direction)
			}
			select {
			case ri := <-fc.Reinvites():
				t.Errorf("the refused offer reached the far end: %q", ri.Direction)
			default:
			}
			// No longer pending: the next offer is answered.
			if _, err := c.Resume(h.ctx); err != nil {
				t.Fatalf("resume: %v", err)
			}
			tonesBothWays(t, c, fc, callerHz, farHz, "after the refused offer and resume")
			h.hangup(c, fc)
		})
	}
}
