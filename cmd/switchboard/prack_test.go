package main

import (
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emiago/sipgo/sip"

	"github.com/switchboard-voice/switchboard/config"
	"github.com/switchboard-voice/switchboard/sip/siptest"
)

// waitPRACKed polls (bounded) until the caller's reliable 18x have each had
// their PRACK answered, and returns them.
func waitPRACKed(t *testing.T, c *siptest.Call) []siptest.ReliableProvisional {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		rel := c.Reliable()
		done := len(rel) > 0
		for _, r := range rel {
			done = done && r.PRACKStatus != 0
		}
		if done || time.Now().After(deadline) {
			return rel
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// first183 returns InviteOptions.OnProvisional that closes the returned
// channel at the first 183.
func first183() (func(*siptest.Call, *siptestResponse), <-chan struct{}) {
	ch := make(chan struct{})
	var once sync.Once
	return func(_ *siptest.Call, res *siptestResponse) {
		if res.StatusCode == 183 {
			once.Do(func() { close(ch) })
		}
	}, ch
}

// checkRAck: the PRACK named the 18x's RSeq and the INVITE's CSeq.
func checkRAck(t *testing.T, c *siptest.Call, r siptest.ReliableProvisional) {
	t.Helper()
	want := fmt.Sprintf("%d %d INVITE", r.RSeq, c.Request().CSeq().SeqNo)
	if r.RAck != want || r.PRACKStatus != 200 {
		t.Errorf("PRACK for %d: RAck %q status %d, want RAck %q status 200", r.Code, r.RAck, r.PRACKStatus, want)
	}
}

// TestPRACKInbound: a caller that requires 100rel gets the far end's early
// media as a reliable 183 of the switch's own (Require: 100rel, RSeq),
// PRACKs it, and the call connects with audio both ways. The far end's leg
// is offered 100rel but gets nothing of the caller's RSeq space.
func TestPRACKInbound(t *testing.T) {
	h := newHarness(t, nil)
	far := make(chan *siptest.Call, 1)
	onProvisional, got183 := first183()
	go func() {
		defer close(far)
		in := h.nextIncoming()
		req := in.Request()
		if !strings.Contains(headerValues(req.GetHeaders("Supported")), "100rel") || req.GetHeader("Require") != nil || req.GetHeader("RSeq") != nil {
			t.Errorf("far end's INVITE: want Supported: 100rel, no Require, no RSeq:\n%s", req)
		}
		if err := in.Progress(siptest.AnswerOptions{ToneHz: 700}); err != nil {
			t.Errorf("183: %v", err)
			return
		}
		// Answer once the caller has the 183: sipgo may handle a 200 that
		// follows a 183 at once before it, and drop the 183.
		select {
		case <-got183:
		case <-time.After(10 * time.Second):
			t.Error("caller got no 183")
			return
		}
		fc, err := in.Answer(siptest.AnswerOptions{ToneHz: farHz})
		if err != nil {
			t.Errorf("answer: %v", err)
			return
		}
		far <- fc
	}()
	c, err := h.caller.Invite(h.ctx, h.target("+15550100"), siptest.InviteOptions{ToneHz: callerHz, Require100rel: true,
		OnProvisional: onProvisional})
	if err != nil || c.Status() != 200 {
		t.Fatalf("call: %v (status %d)", err, c.Status())
	}
	rel := waitPRACKed(t, c)
	if len(rel) != 1 || rel[0].Code != 183 {
		t.Fatalf("reliable provisionals %+v, want one 183", rel)
	}
	checkRAck(t, c, rel[0])
	fc := h.waitCall(far)
	waitTone(t, c, farHz, "caller")
	waitTone(t, fc, callerHz, "far end")
	h.hangup(c, fc)
}

// TestPRACKLost: the caller "loses" its first two PRACKs (it leaves the
// first two copies of the 183 unacknowledged). The switch re-sends the 183
// until the PRACK comes, and holds the far end's 200 until then (a 200
// sent earlier would have stopped the retransmissions before the third
// copy); the call then connects with audio both ways.
func TestPRACKLost(t *testing.T) {
	h := newHarness(t, nil)
	far := make(chan *siptest.Call, 1)
	onProvisional, got183 := first183()
	go func() {
		defer close(far)
		in := h.nextIncoming()
		if err := in.Progress(siptest.AnswerOptions{ToneHz: 700}); err != nil {
			t.Errorf("183: %v", err)
			return
		}
		// Answer once the caller has the 183: sipgo may handle a 200 that
		// follows a 183 at once before it, and drop the 183.
		select {
		case <-got183:
		case <-time.After(10 * time.Second):
			t.Error("caller got no 183")
			return
		}
		fc, err := in.Answer(siptest.AnswerOptions{ToneHz: farHz})
		if err != nil {
			t.Errorf("answer: %v", err)
			return
		}
		far <- fc
	}()
	c, err := h.caller.Invite(h.ctx, h.target("+15550100"), siptest.InviteOptions{
		ToneHz: callerHz, Require100rel: true, IgnoreReliable: 2, OnProvisional: onProvisional})
	if err != nil || c.Status() != 200 {
		t.Fatalf("call: %v (status %d)", err, c.Status())
	}
	rel := waitPRACKed(t, c)
	if len(rel) != 1 || rel[0].Code != 183 {
		t.Fatalf("reliable provisionals %+v, want one 183", rel)
	}
	if rel[0].Copies < 3 {
		t.Errorf("183 arrived %d times, want ≥ 3 (retransmitted until the PRACK)", rel[0].Copies)
	}
	checkRAck(t, c, rel[0])
	fc := h.waitCall(far)
	waitTone(t, c, farHz, "caller")
	waitTone(t, fc, callerHz, "far end")
	h.hangup(c, fc)
}

// TestPRACKOutbound: the far end sends a reliable 180 then a reliable 183
// with early media; the switch PRACKs each (RAck: its RSeq, the INVITE's
// CSeq) and the call connects with audio both ways. The caller, which did
// not offer 100rel, gets ordinary provisionals.
func TestPRACKOutbound(t *testing.T) {
	h := newHarness(t, nil)
	type result struct {
		in *siptest.Incoming
		fc *siptest.Call
	}
	far := make(chan result, 1)
	go func() {
		defer close(far)
		in := h.nextIncoming()
		if err := in.RingReliable(); err != nil {
			t.Errorf("reliable 180: %v", err)
			return
		}
		if err := in.Progress(siptest.AnswerOptions{ToneHz: 700, Reliable: true}); err != nil {
			t.Errorf("reliable 183: %v", err)
			return
		}
		fc, err := in.Answer(siptest.AnswerOptions{ToneHz: farHz})
		if err != nil {
			t.Errorf("answer: %v", err)
			return
		}
		far <- result{in, fc}
	}()
	c, err := h.caller.Invite(h.ctx, h.target("+15550100"), siptest.InviteOptions{ToneHz: callerHz})
	if err != nil || c.Status() != 200 {
		t.Fatalf("call: %v (status %d)", err, c.Status())
	}
	if rel := c.Reliable(); len(rel) != 0 {
		t.Errorf("caller without 100rel got reliable provisionals %+v", rel)
	}
	var r result
	select {
	case got, ok := <-far:
		if !ok {
			t.Fatal("far end script failed")
		}
		r = got
	case <-time.After(10 * time.Second):
		t.Fatal("far end did not answer")
	}
	pracks := r.in.PRACKs()
	if len(pracks) != 2 {
		t.Fatalf("far end got %d matching PRACKs, want 2", len(pracks))
	}
	seq := r.in.Request().CSeq().SeqNo
	var rseqs []uint32
	for _, p := range pracks {
		var rseq, cseq uint32
		var method string
		if _, err := fmt.Sscanf(p.GetHeader("RAck").Value(), "%d %d %s", &rseq, &cseq, &method); err != nil || cseq != seq || method != "INVITE" {
			t.Errorf("RAck %q, want \"<rseq> %d INVITE\"", p.GetHeader("RAck").Value(), seq)
		}
		rseqs = append(rseqs, rseq)
	}
	if len(rseqs) == 2 && rseqs[1] != rseqs[0]+1 {
		t.Errorf("PRACKed RSeqs %v, want consecutive", rseqs)
	}
	waitTone(t, c, farHz, "caller")
	waitTone(t, r.fc, callerHz, "far end")
	h.hangup(c, r.fc)
}

// TestPRACKForked: two early dialogs of a forked INVITE each send a
// reliable 183; the switch PRACKs each within its own dialog (the fork's To
// tag, its own RSeq); the second fork answers and the call has audio both
// ways, the first gets ACK and BYE for its late 200.
func TestPRACKForked(t *testing.T) {
	h := newHarness(t, nil)
	type result struct {
		a, b          *siptest.Incoming
		winner, loser *siptest.Call
	}
	far := make(chan result, 1)
	go func() {
		defer close(far)
		in := h.nextIncoming()
		fork := in.Fork()
		if err := in.Progress(siptest.AnswerOptions{ToneHz: 600, Reliable: true}); err != nil {
			t.Errorf("reliable 183 (first dialog): %v", err)
			return
		}
		if err := fork.Progress(siptest.AnswerOptions{ToneHz: 900, Reliable: true}); err != nil {
			t.Errorf("reliable 183 (second dialog): %v", err)
			return
		}
		winner, err := fork.Answer(siptest.AnswerOptions{ToneHz: farHz})
		if err != nil {
			t.Errorf("200 (second dialog): %v", err)
			return
		}
		loser, err := in.Answer(siptest.AnswerOptions{ToneHz: 600})
		if err != nil {
			t.Errorf("200 (first dialog): %v", err)
			return
		}
		far <- result{in, fork, winner, loser}
	}()
	c, err := h.caller.Invite(h.ctx, h.target("+15550100"), siptest.InviteOptions{ToneHz: callerHz})
	if err != nil || c.Status() != 200 {
		t.Fatalf("call: %v (status %d)", err, c.Status())
	}
	var r result
	select {
	case got, ok := <-far:
		if !ok {
			t.Fatal("far end script failed")
		}
		r = got
	case <-time.After(15 * time.Second):
		t.Fatal("far end did not answer twice")
	}
	for i, in := range []*siptest.Incoming{r.a, r.b} {
		// onPrack matched each PRACK by its To tag and RAck: one per dialog.
		if n := len(in.PRACKs()); n != 1 {
			t.Errorf("dialog %d got %d matching PRACKs, want 1", i+1, n)
		}
	}
	waitEnded(t, r.loser, "losing fork")
	c.ResetAudio()
	waitTone(t, c, farHz, "caller")
	waitTone(t, r.winner, callerHz, "winning fork")
	h.hangup(c, r.winner)
}

// TestRequireUnknownExtension: Require with an extension the switch lacks
// gets 420 naming only that one in Unsupported (100rel is supported).
func TestRequireUnknownExtension(t *testing.T) {
	h := newHarness(t, nil)
	c, err := h.caller.Invite(h.ctx, h.target("+15550100"), siptest.InviteOptions{
		Headers: map[string]string{"Require": "100rel, x-foo"}})
	if err != nil {
		t.Fatal(err)
	}
	if c.Status() != 420 {
		t.Fatalf("status %d, want 420", c.Status())
	}
	if u := c.Response().GetHeader("Unsupported"); u == nil || strings.TrimSpace(u.Value()) != "x-foo" {
		t.Errorf("Unsupported = %v, want x-foo only:\n%s", u, c.Response())
	}
}

// headerValues joins the values of hs.
func headerValues(hs []sip.Header) string {
	var vs []string
	for _, h := range hs {
		vs = append(vs, h.Value())
	}
	return strings.Join(vs, ", ")
}

// TestPRACKFlowEarlyMedia: a caller that only supports 100rel gets the
// flow's early media (early_media, then a prompt) as a reliable 183 of the
// switch's own, PRACKs it and hears the prompt; the dial then connects the
// far end with audio both ways.
func TestPRACKFlowEarlyMedia(t *testing.T) {
	h := newHarness(t, func(c *config.Config) {
		c.Flows["out"] = []config.Action{
			{EarlyMedia: &config.AnswerAction{}},
			{Play: &config.PlayAction{File: audioDir + "tone-700.wav", Duration: 2 * time.Second}},
			{Dial: &config.DialAction{Trunk: "far-end"}},
		}
	})
	farCall := h.answerNext(farHz)
	onProvisional, heardPrompt := hearsEarly(700)
	c, err := h.caller.Invite(h.ctx, h.target("+15550100"), siptest.InviteOptions{
		ToneHz: callerHz, Supported100rel: true, OnProvisional: onProvisional})
	if err != nil || c.Status() != 200 {
		t.Fatalf("call: %v (status %d)", err, c.Status())
	}
	rel := waitPRACKed(t, c)
	if len(rel) != 1 || rel[0].Code != 183 {
		t.Fatalf("reliable provisionals %+v, want one 183 (the 180 of the dial stays unreliable)", rel)
	}
	checkRAck(t, c, rel[0])
	select {
	case ok := <-heardPrompt:
		if !ok {
			t.Error("caller did not hear the prompt in early media")
		}
	case <-time.After(5 * time.Second):
		t.Error("no early media check ran")
	}
	fc := h.waitCall(farCall)
	c.ResetAudio()
	waitTone(t, c, farHz, "caller")
	waitTone(t, fc, callerHz, "far end")
	h.hangup(c, fc)
}

// TestPRACKNeverCame: a caller that requires 100rel never PRACKs the
// switch's reliable 180 (it drops every copy). After 64·T1 (32 s; T1 is
// not scaled in tests) the switch gives up on it: the caller's INVITE gets
// 504 (RFC 3262 §3), the far end's ringing leg is cancelled, and no leg is
// left.
func TestPRACKNeverCame(t *testing.T) {
	if testing.Short() {
		t.Skip("waits 64·T1 (32 s)")
	}
	h := newHarness(t, nil)
	cancelled := h.ringUntilCancelled(45 * time.Second)
	c, err := h.caller.Invite(h.ctx, h.target("+15550100"), siptest.InviteOptions{
		ToneHz: callerHz, Require100rel: true, IgnoreReliable: 1 << 20})
	if err != nil && c == nil {
		t.Fatalf("call: %v", err)
	}
	if c.Status() != 504 {
		t.Fatalf("status %d, want 504 after no PRACK", c.Status())
	}
	rel := c.Reliable()
	if len(rel) == 0 || rel[0].Code != 180 || rel[0].Copies < 2 {
		t.Errorf("reliable provisionals %+v, want the 180 re-sent several times", rel)
	}
	for _, r := range rel {
		if r.PRACKStatus != 0 {
			t.Errorf("a PRACK was sent for %+v", r)
		}
	}
	if !recv(t, cancelled, "far end's CANCEL report") {
		t.Error("far end's ringing leg was not cancelled")
	}
	waitNoLegs(t, h)
}
