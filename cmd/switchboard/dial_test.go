package main

import (
	"context"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/switchboard-voice/switchboard/config"
	"github.com/switchboard-voice/switchboard/sip/siptest"
)

// failoverHarness is the harness with a second far end (trunk "far-end-2",
// UA far2) and the flow dialling trunks [far-end, far-end-2]; mutate changes
// the configuration further.
func failoverHarness(t *testing.T, mutate func(c *config.Config)) (*harness, *siptest.UA) {
	t.Helper()
	far2, err := siptest.NewUA(t.Context(), siptest.Options{ListenAddr: "127.0.0.1:0", User: "far2"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { far2.Close() })
	h := newHarness(t, func(c *config.Config) {
		c.Trunks = append(c.Trunks, config.Trunk{Name: "far-end-2", Outbound: &config.Outbound{
			URI:          "sip:" + far2.Addr() + ";transport=udp",
			NumberFormat: config.NumberFormat{Plus: true},
		}, Codecs: []string{"PCMU", "PCMA"}})
		c.Flows["out"] = []config.Action{{Dial: &config.DialAction{Trunks: []string{"far-end", "far-end-2"}}}}
		if mutate != nil {
			mutate(c)
		}
	})
	return h, far2
}

// answerOn makes ua ring then answer its next call with a tone of hz.
func answerOn(h *harness, ua *siptest.UA, hz float64) <-chan *siptest.Call {
	out := make(chan *siptest.Call, 1)
	go func() {
		select {
		case in, ok := <-ua.Incoming():
			if !ok || in == nil {
				close(out)
				return
			}
			_ = in.Ring(false)
			c, err := in.Answer(siptest.AnswerOptions{ToneHz: hz})
			if err != nil {
				h.t.Errorf("answer: %v", err)
				close(out)
				return
			}
			out <- c
		case <-h.ctx.Done():
			close(out)
		}
	}()
	return out
}

// rejectNext makes the far end refuse its next call with code, after
// early media (183 with a tone) when early is set.
func rejectNext(h *harness, code int, reason string, early bool) <-chan struct{} {
	done := make(chan struct{})
	go func() {
		defer close(done)
		in := h.nextIncoming()
		if early {
			if err := in.Progress(siptest.AnswerOptions{ToneHz: 700}); err != nil {
				h.t.Errorf("183: %v", err)
			}
		}
		if err := in.Reject(code, reason); err != nil {
			h.t.Errorf("reject %d: %v", code, err)
		}
	}()
	return done
}

// connectsTo checks that the call placed by the caller is answered by far
// with tones both ways, then hangs up.
func connectsTo(t *testing.T, h *harness, farCall <-chan *siptest.Call, who string) {
	t.Helper()
	c, err := h.caller.Invite(h.ctx, h.target("+15550100"), siptest.InviteOptions{ToneHz: callerHz})
	if err != nil || c.Status() != 200 {
		t.Fatalf("call: %v (status %d)", err, c.Status())
	}
	fc := h.waitCall(farCall)
	waitTone(t, c, farHz, "caller")
	waitTone(t, fc, callerHz, who)
	h.hangup(c, fc)
}

// noInvite fails the test if ua has received an INVITE.
func noInvite(t *testing.T, ua *siptest.UA, who string) {
	t.Helper()
	select {
	case in := <-ua.Incoming():
		t.Errorf("%s was dialled:\n%s", who, in.Request())
	default:
	}
}

// TestDialFailover: dial: {trunks: [far-end, far-end-2]} moves on to the
// second trunk when the first answers 5xx (even after early media), is
// down or unreachable, and stops at the first trunk's 486/404/603.
func TestDialFailover(t *testing.T) {
	t.Run("503 then the next trunk", func(t *testing.T) {
		h, far2 := failoverHarness(t, nil)
		rejected := rejectNext(h, 503, "Service Unavailable", false)
		connectsTo(t, h, answerOn(h, far2, farHz), "second far end")
		<-rejected
	})
	t.Run("500 after early media then the next trunk", func(t *testing.T) {
		h, far2 := failoverHarness(t, nil)
		rejected := rejectNext(h, 500, "Server Internal Error", true)
		connectsTo(t, h, answerOn(h, far2, farHz), "second far end")
		<-rejected
	})
	for _, tc := range []struct {
		code   int
		reason string
	}{{486, "Busy Here"}, {404, "Not Found"}, {603, "Decline"}, {600, "Busy Everywhere"}} {
		t.Run(tc.reason+" goes back to the caller", func(t *testing.T) {
			h, far2 := failoverHarness(t, nil)
			rejected := rejectNext(h, tc.code, tc.reason, false)
			ctx, cancel := context.WithTimeout(h.ctx, 15*time.Second)
			defer cancel()
			c, err := h.caller.Invite(ctx, h.target("+15550100"), siptest.InviteOptions{})
			if err != nil {
				t.Fatal(err)
			}
			<-rejected
			if c.Status() != tc.code {
				t.Errorf("caller got %d, want %d", c.Status(), tc.code)
			}
			// The caller's final response comes after the dial gave up:
			// had the dial failed over, the second trunk would have had
			// its INVITE first.
			noInvite(t, far2, "the second trunk")
		})
	}
	t.Run("first trunk down", func(t *testing.T) {
		dead, err := net.ListenPacket("udp", "127.0.0.1:0") // bound, never answers
		if err != nil {
			t.Fatal(err)
		}
		defer dead.Close()
		h, far2 := failoverHarness(t, func(c *config.Config) {
			c.Trunks[1].Outbound.URI = "sip:" + dead.LocalAddr().String()
			c.Trunks[1].Outbound.OptionsPing = 200 * time.Millisecond
		})
		deadline := time.Now().Add(5 * time.Second)
		for time.Now().Before(deadline) && h.metric(`switchboard_trunk_up{trunk="far-end"}`) != "0" {
			time.Sleep(50 * time.Millisecond)
		}
		if got := h.metric(`switchboard_trunk_up{trunk="far-end"}`); got != "0" {
			t.Fatalf("far-end up = %s, want 0", got)
		}
		connectsTo(t, h, answerOn(h, far2, farHz), "second far end")
		if got := h.logs.String(); !containsAll(got, "outbound trunk down", "dial failed over") {
			t.Errorf("no log of the skipped trunk:\n%s", got)
		}
	})
	t.Run("first trunk unreachable", func(t *testing.T) {
		h, far2 := failoverHarness(t, func(c *config.Config) {
			c.Trunks[1].Outbound.URI = "sip:127.0.0.1:9;transport=tcp" // nothing listens
		})
		connectsTo(t, h, answerOn(h, far2, farHz), "second far end")
	})
	t.Run("last trunk's failure is the caller's", func(t *testing.T) {
		h, far2 := failoverHarness(t, nil)
		first := rejectNext(h, 503, "Service Unavailable", false)
		second := make(chan struct{})
		go func() {
			defer close(second)
			select {
			case in := <-far2.Incoming():
				_ = in.Reject(502, "Bad Gateway")
			case <-time.After(10 * time.Second):
				t.Error("the second trunk was not dialled")
			}
		}()
		c, err := h.caller.Invite(h.ctx, h.target("+15550100"), siptest.InviteOptions{})
		if err != nil {
			t.Fatal(err)
		}
		<-first
		<-second
		if c.Status() != 502 {
			t.Errorf("caller got %d, want 502 (the last trunk's)", c.Status())
		}
	})
}

func containsAll(s string, subs ...string) bool {
	for _, sub := range subs {
		if !strings.Contains(s, sub) {
			return false
		}
	}
	return true
}

// TestDialRedirect: a 302 from the far end is followed only with
// follow_redirects and only to the trunk's own host; otherwise the caller
// gets 480.
func TestDialRedirect(t *testing.T) {
	// A UA on another loopback address: where a hostile redirect points.
	other, err := siptest.NewUA(t.Context(), siptest.Options{ListenAddr: "127.0.0.2:0", User: "other"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { other.Close() })
	follow := func(c *config.Config) { c.Trunks[1].FollowRedirects = true }

	t.Run("followed to the trunk's host", func(t *testing.T) {
		h := newHarness(t, follow)
		farCall := make(chan *siptest.Call, 1)
		go func() {
			defer close(farCall)
			in := h.nextIncoming()
			if err := in.Redirect(302, "sip:+15550199@"+h.far.Addr()); err != nil {
				h.t.Errorf("302: %v", err)
				return
			}
			in = h.nextIncoming()
			if got := in.Request().Recipient.User; got != "+15550199" {
				h.t.Errorf("redirected INVITE to %q, want +15550199", got)
			}
			c, err := in.Answer(siptest.AnswerOptions{ToneHz: farHz})
			if err != nil {
				h.t.Errorf("answer: %v", err)
				return
			}
			farCall <- c
		}()
		connectsTo(t, h, farCall, "far end after the redirect")
	})
	for _, tc := range []struct {
		name    string
		mutate  func(c *config.Config)
		contact func(h *harness) string
	}{
		{"not followed by default", nil, func(h *harness) string { return "sip:+15550199@" + h.far.Addr() }},
		{"not followed to another host", follow, func(*harness) string { return "sip:+15550199@" + other.Addr() }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t, tc.mutate)
			done := make(chan struct{})
			go func() {
				defer close(done)
				in := h.nextIncoming()
				if err := in.Redirect(302, tc.contact(h)); err != nil {
					h.t.Errorf("302: %v", err)
				}
			}()
			ctx, cancel := context.WithTimeout(h.ctx, 15*time.Second)
			defer cancel()
			c, err := h.caller.Invite(ctx, h.target("+15550100"), siptest.InviteOptions{})
			if err != nil {
				t.Fatal(err)
			}
			<-done
			if c.Status() != 480 {
				t.Errorf("caller got %d, want 480", c.Status())
			}
			noInvite(t, h.far, "the far end (again)")
			noInvite(t, other, "the other host")
		})
	}
}

// TestDialForking: the far end forks (two early dialogs, 183s with SDP and
// different To tags). The caller hears the early media of the latest 183;
// the first 200 wins and carries the call (tones both ways); the second
// 200 gets ACK and BYE.
func TestDialForking(t *testing.T) {
	const firstEarlyHz, secondEarlyHz = 600, 900
	h := newHarness(t, nil)
	callerEarly := make(chan *siptest.Call, 1)
	type result struct {
		winner, loser *siptest.Call
	}
	results := make(chan result, 1)
	go func() {
		defer close(results)
		in := h.nextIncoming()
		fork := in.Fork()
		if err := in.Progress(siptest.AnswerOptions{ToneHz: firstEarlyHz}); err != nil {
			h.t.Errorf("183 (first dialog): %v", err)
			return
		}
		var early *siptest.Call
		select {
		case early = <-callerEarly:
		case <-time.After(10 * time.Second):
			h.t.Error("caller got no 183")
			return
		}
		hears := func(hz float64, what string) {
			ctx, cancel := context.WithTimeout(h.ctx, 5*time.Second)
			defer cancel()
			if err := early.WaitTone(ctx, hz); err != nil {
				h.t.Errorf("caller does not hear %s: %v", what, err)
			}
		}
		hears(firstEarlyHz, "the first dialog's early media")
		// The second early dialog's 183 comes later: its media replaces
		// the first's.
		if err := fork.Progress(siptest.AnswerOptions{ToneHz: secondEarlyHz}); err != nil {
			h.t.Errorf("183 (second dialog): %v", err)
			return
		}
		early.ResetAudio()
		hears(secondEarlyHz, "the second (latest) dialog's early media")
		winner, err := fork.Answer(siptest.AnswerOptions{ToneHz: farHz})
		if err != nil {
			h.t.Errorf("200 (second dialog): %v", err)
			return
		}
		loser, err := in.Answer(siptest.AnswerOptions{ToneHz: firstEarlyHz})
		if err != nil {
			h.t.Errorf("200 (first dialog): %v", err)
			return
		}
		results <- result{winner, loser}
	}()
	c, err := h.caller.Invite(h.ctx, h.target("+15550100"), siptest.InviteOptions{
		ToneHz: callerHz,
		OnProvisional: func(c *siptest.Call, res *siptestResponse) {
			if res.StatusCode == 183 {
				select {
				case callerEarly <- c:
				default:
				}
			}
		},
	})
	if err != nil || c.Status() != 200 {
		t.Fatalf("call: %v (status %d)", err, c.Status())
	}
	var r result
	select {
	case got, ok := <-results:
		if !ok {
			t.Fatal("far end script failed")
		}
		r = got
	case <-time.After(15 * time.Second):
		t.Fatal("far end did not answer twice")
	}
	waitEnded(t, r.loser, "losing fork")
	if !r.loser.ByeReceived() {
		t.Error("losing fork got no BYE")
	}
	c.ResetAudio()
	waitTone(t, c, farHz, "caller")
	waitTone(t, r.winner, callerHz, "winning fork")
	h.hangup(c, r.winner)
	deadline := time.Now().Add(3 * time.Second)
	for h.node.sip.ActiveLegs() != 0 && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	if n := h.node.sip.ActiveLegs(); n != 0 {
		t.Errorf("%d SIP legs left after the call", n)
	}
}
