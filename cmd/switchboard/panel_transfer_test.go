package main

import (
	"context"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/switchboard-voice/switchboard/config"
	"github.com/switchboard-voice/switchboard/sip/siptest"
)

// holdClock is how the hold timer and the supervisor's hold column show a
// duration (m:ss).
var holdClock = regexp.MustCompile(`^[0-9]+:[0-5][0-9]$`)

// panelInCall opens agent1's panel in a new browser, signs in, makes it
// Available and has it answer a call of the Go test UA to the support
// queue (+15550100). It returns the tab, the caller's call and the call's
// id.
func panelInCall(t *testing.T, h *harness, from string) (*tab, context.Context, *siptest.Call, string) {
	t.Helper()
	start := time.Now()
	base := panelBase(t, h)
	dir := artifactDir(t)
	logs := &browserLog{}
	bctx := newBrowser(t, logs, true)
	p := newTab(t, bctx, "agent1", dir, logs)
	p.do("open the panel", chromedp.Navigate(base+"/"), chromedp.WaitVisible("#login-form"))
	p.login("agent1", "agent1-token")
	p.waitState("signed in with media and events", 10*time.Second, func(s panelState) bool {
		return s.View == "agent" && s.Media == "connected" && s.Events == "open"
	})
	p.do("choose Available", chromedp.Click(`label[for="status-available"]`))
	p.waitState("Available", 5*time.Second, func(s panelState) bool { return s.Status == "available" && s.System == "" })
	t.Logf("chromium up, agent1 signed in and Available in %v", time.Since(start).Round(time.Millisecond))
	c := p.offerCall(h, from, 0)
	t.Logf("offered in %v", time.Since(start).Round(time.Millisecond))
	p.do("answer", chromedp.Click("#answer"))
	s := p.waitState("in the call", 5*time.Second, func(s panelState) bool {
		return s.Phase == "in_call" && s.Call != nil && s.System == "on_call"
	})
	return p, bctx, c, s.Call.ID
}

// visible reports whether sel is shown.
func (b *tab) visible(sel string) bool {
	var v bool
	_ = b.eval(fmt.Sprintf(`(() => { const e = document.querySelector(%q); return !!e && e.checkVisibility(); })()`, sel), &v)
	return v
}

// holdSeconds reads the panel's hold timer (m:ss) in seconds.
func (b *tab) holdSeconds() int {
	b.t.Helper()
	txt := b.text("#hold-timer")
	if !holdClock.MatchString(txt) {
		b.t.Fatalf("%s: the hold timer says %q, want m:ss", b.name, txt)
	}
	m, sec, _ := strings.Cut(txt, ":")
	mm, _ := strconv.Atoi(m)
	ss, _ := strconv.Atoi(sec)
	return mm*60 + ss
}

// TestPanelHoldAndTransferToAgent drives agent1's panel in headless
// Chromium on a call of the Go test UA: Hold shows the hold timer, which
// ticks, while the caller hears the hold music and the supervisor's page
// lists the call on hold; Resume hides it. Transfer opens the dialog:
// agent2 (signed out) is listed disabled as Offline, free number entry is
// not offered (transfers.allow_manual_numbers is off); agent2 signs in,
// Refresh makes it available; the transfer rings agent2 with type
// transferred by Agent One while agent1's panel is in wrap-up. agent2
// declines: the panel says why and the call rings agent1 again, marked
// Returned; agent1 answers and transfers once more (the supervisor's page
// shows the call transferring to agent2), agent2 answers, and the panel
// says the transfer is done.
func TestPanelHoldAndTransferToAgent(t *testing.T) {
	if testing.Short() {
		t.Skip("browser test")
	}
	chromiumPath(t)
	start := time.Now()
	h := transferHarness(t, func(c *config.Config) {
		c.Queues[0].WrapUp = 30 * time.Second // agent1 is still in wrap-up when the transfer fails
	})
	p, bctx, c, callID := panelInCall(t, h, "+15557001")
	t.Logf("in the call after %v", time.Since(start).Round(time.Millisecond))

	// Hold: the timer shows and ticks; the caller hears the hold music.
	if p.visible("#call-hold") {
		t.Error("the hold timer shows before Hold")
	}
	pressed := time.Now()
	p.do("hold", chromedp.Click("#hold"))
	held := p.waitState("on hold", 3*time.Second, func(s panelState) bool {
		return s.Call != nil && s.Call.Held && s.System == "on_hold"
	})
	if held.Call.HeldSince == nil || held.Call.HeldSince.Before(pressed.Add(-time.Second)) || held.Call.HeldSince.After(time.Now().Add(time.Second)) {
		t.Errorf("held since %v, want when Hold was pressed (%v)", held.Call.HeldSince, pressed)
	}
	if !p.visible("#hold-timer") {
		t.Fatal("on hold, the hold timer is not shown")
	}
	first := p.holdSeconds()
	if first > 1 {
		t.Errorf("the hold timer starts at %d s, want 0:00 or 0:01", first)
	}
	waitToneBy(t, c, holdMusicHz, 5*time.Second, "the hold music")
	deadline := time.Now().Add(4 * time.Second)
	for p.holdSeconds() < first+2 {
		if time.Now().After(deadline) {
			t.Fatalf("the hold timer does not tick: %q after %v on hold", p.text("#hold-timer"), time.Since(pressed))
		}
		time.Sleep(100 * time.Millisecond)
	}
	p.screenshot("on-hold")

	// The supervisor's page lists the call on hold, with its hold time.
	sup := newTab(t, bctx, "supervisor", p.dir, &browserLog{})
	rowSel := `#sup-calls tbody tr[data-id="` + callID + `"][data-state="on_hold"]`
	sup.do("open the supervisor page", chromedp.Navigate(panelBase(t, h)+"/#/supervisor"), chromedp.WaitVisible("#sup-key"),
		chromedp.SendKeys("#sup-key", "test-key"), chromedp.Click(`#sup-form button[type="submit"]`),
		chromedp.WaitVisible(rowSel))
	var cells []string
	if err := sup.eval(`[...document.querySelectorAll('`+rowSel+` > *')].map(c => c.textContent)`, &cells); err != nil || len(cells) != 6 {
		t.Fatalf("the supervisor's row of the call: %q (%v)", cells, err)
	}
	if cells[0] != "support" || cells[1] != "+15557001" || cells[2] != "On hold" || cells[3] != "agent1" ||
		!holdClock.MatchString(cells[4]) || cells[5] != "—" {
		t.Errorf("the supervisor sees the call as %q; want support, +15557001, On hold, agent1, m:ss, —", cells)
	}
	if sup.visible("#sup-calls-none") {
		t.Error(`the supervisor's page says "No calls right now." with a call on hold`)
	}
	sup.screenshot("supervisor-on-hold")

	p.do("resume", chromedp.Click("#hold"))
	p.waitState("resumed", 3*time.Second, func(s panelState) bool {
		return s.Call != nil && !s.Call.Held && s.Call.HeldSince == nil && s.System == "on_call"
	})
	if p.visible("#hold-timer") {
		t.Error("after Resume the hold timer still shows")
	}

	// The dialog: agent2 is signed out: listed, disabled, Offline.
	agent2 := `#xfer-agent-list input[value="agent2"]`
	p.do("open the transfer dialog", chromedp.Click("#transfer"), chromedp.WaitVisible(agent2))
	var disabled bool
	_ = p.eval(`document.querySelector('`+agent2+`').disabled`, &disabled)
	if !disabled || !strings.Contains(p.text(`#xfer-agent-list li[data-value="agent2"]`), "Offline") {
		t.Errorf("agent2 signed out: disabled %v, shown as %q; want disabled, Offline", disabled, p.text(`#xfer-agent-list li[data-value="agent2"]`))
	}
	p.do("look at the queues", chromedp.Click("#xfer-tab-queues"), chromedp.WaitVisible(`#xfer-queue-list input[value="sales"]`))
	p.do("look at the numbers", chromedp.Click("#xfer-tab-numbers"), chromedp.WaitVisible(`#xfer-contact-list input[value="+15550142"]`))
	if p.visible("#xfer-manual") {
		t.Error("free number entry is offered although transfers.allow_manual_numbers is off")
	}
	a2 := h.login("agent2", "agent2-token")
	p.do("refresh the agents", chromedp.Click("#xfer-tab-agents"), chromedp.Click("#xfer-refresh"),
		chromedp.WaitEnabled(agent2))
	if got := p.text(`#xfer-agent-list li:first-child`); !strings.Contains(got, "Agent Two") || !strings.Contains(got, "Available") {
		t.Errorf("after Refresh the first agent is %q, want Agent Two, Available", got)
	}
	p.do("choose agent2", chromedp.Click(agent2))
	p.waitText("#xfer-choice", "Transfer to Agent Two · agent", 2*time.Second)
	p.screenshot("transfer-dialog")
	p.do("transfer", chromedp.Click("#xfer-confirm"))

	offer := a2.next("call.offered", 5*time.Second)
	if offer.Field("call_id") != callID || offer.Field("type") != "transferred" || offer.Field("transferred_by") != "Agent One" {
		t.Errorf("agent2's offer %s; want the call, type transferred, by Agent One", offer.Data)
	}
	w := p.waitState("wrap-up after the transfer", 5*time.Second, func(s panelState) bool {
		return s.Phase == "wrapup" && s.System == "wrap_up" && s.Transfer != nil && s.Transfer.CallID == callID
	})
	if w.Transfer.Kind != "agent" || w.Transfer.Target != "agent2" || w.Transfer.ID == "" {
		t.Errorf("the panel's transfer %+v, want to agent agent2", w.Transfer)
	}
	p.waitText("#notice", "You transferred the customer to Agent Two; they hear music until it answers. You are in wrap-up.", 2*time.Second)
	var open bool
	_ = p.eval(`document.querySelector('#xfer').open`, &open)
	if open {
		t.Error("the transfer dialog is still open after the transfer")
	}

	// agent2 declines: the panel says why; the call rings agent1 again,
	// marked Returned.
	if err := a2.panel.Decline(h.ctx, callID); err != nil {
		t.Fatal(err)
	}
	back := p.waitState("the call back", 5*time.Second, func(s panelState) bool {
		return s.Phase == "ringing" && s.Offer != nil && s.Offer.CallID == callID
	})
	if back.Transfer == nil || back.Transfer.State != "failed" || back.Transfer.Cause != "declined" || back.Offer.Type != "returned" {
		t.Errorf("after agent2 declined: transfer %+v, offer type %q; want failed (declined), returned", back.Transfer, back.Offer.Type)
	}
	if typ, note := p.text("#offer-type"), p.text("#offer-note"); typ != "Returned call" ||
		note != "Returned: the transfer to Agent Two failed (the agent declined it)." {
		t.Errorf("the returned offer shows type %q, note %q", typ, note)
	}
	p.screenshot("returned")
	p.do("answer again", chromedp.Click("#answer"))
	p.waitState("in the call again", 5*time.Second, func(s panelState) bool {
		return s.Phase == "in_call" && s.Call != nil && s.Call.ID == callID
	})
	p.waitText("#notice", "Returned: the transfer to Agent Two failed (the agent declined it). You have the customer again.", 2*time.Second)
	waitToneBy(t, c, fakeMicHz, 5*time.Second, "agent1's microphone again")

	// Once more: agent2 answers; the panel says the transfer is done.
	p.do("transfer again", chromedp.Click("#transfer"), chromedp.WaitEnabled(agent2), chromedp.Click(agent2),
		chromedp.Click("#xfer-confirm"))
	if ev := a2.next("call.offered", 5*time.Second); ev.Field("type") != "transferred" || ev.Field("transferred_by") != "Agent One" {
		t.Errorf("agent2's second offer %s", ev.Data)
	}
	// While agent2 rings, the supervisor sees where the transfer goes.
	xferSel := `#sup-calls tbody tr[data-id="` + callID + `"][data-state="transferring"]`
	sup.do("the call in transfer", chromedp.WaitVisible(xferSel))
	if got := sup.text(xferSel + ` > :last-child`); got != "→ agent2 (agent)" {
		t.Errorf("the supervisor's transfer column says %q, want → agent2 (agent)", got)
	}
	if err := a2.panel.Answer(h.ctx, callID); err != nil {
		t.Fatal(err)
	}
	a2.next("call.answered", 5*time.Second)
	p.waitState("transfer done", 5*time.Second, func(s panelState) bool {
		return s.Transfer != nil && s.Transfer.State == "succeeded" && s.Phase == "wrapup"
	})
	p.waitText("#notice", "Transfer done: Agent Two has the customer.", 2*time.Second)
	if err := c.Hangup(h.ctx); err != nil {
		t.Fatal(err)
	}
	a2.next("call.ended", 5*time.Second)
	h.waitMetric("switchboard_active_calls", "0")
	t.Logf("done in %v", time.Since(start).Round(time.Millisecond))
}

// TestPanelTransferToNumber: with transfers.allow_manual_numbers on, the
// Numbers tab offers free entry, and a number not in E.164 form gets a
// clear message and sends nothing; the phone book search "Escal" finds
// Escalations' +15550142 (the dialog fits a 360 px screen), and the
// transfer reaches the far end (the harness's pstn), which answers: the
// panel says the transfer is done.
func TestPanelTransferToNumber(t *testing.T) {
	if testing.Short() {
		t.Skip("browser test")
	}
	chromiumPath(t)
	start := time.Now()
	h := transferHarness(t, func(c *config.Config) { c.Transfers.AllowManualNumbers = true })
	p, _, c, callID := panelInCall(t, h, "+15557002")

	p.do("open the numbers", chromedp.Click("#transfer"), chromedp.WaitVisible("#xfer-tab-numbers"),
		chromedp.Click("#xfer-tab-numbers"), chromedp.WaitVisible("#xfer-number"))
	p.do("type a number without +", chromedp.SendKeys("#xfer-number", "555 0142"), chromedp.Click("#xfer-confirm"))
	p.waitText("#xfer-error", "Start the number with + and the country code (E.164, e.g. +15551234567).", 2*time.Second)
	p.do("type a number too short", clearInput("#xfer-number"), chromedp.SendKeys("#xfer-number", "+1555"), chromedp.Click("#xfer-confirm"))
	p.waitText("#xfer-error", "An international number has 8 to 15 digits after the +; this one has 4.", 2*time.Second)
	h.noInvite("numbers the panel refused")
	if s, _ := p.state(); s.Phase != "in_call" || s.Transfer != nil {
		t.Fatalf("after refused numbers the panel is %q with transfer %+v; want still in the call", s.Phase, s.Transfer)
	}

	escalations := `#xfer-contact-list input[value="+15550142"]`
	p.do("search the phone book", clearInput("#xfer-number"), chromedp.SendKeys("#xfer-search", "Escal"),
		chromedp.WaitVisible(escalations))
	var n int
	_ = p.eval(`document.querySelectorAll('#xfer-contact-list input').length`, &n)
	if got := p.text(`#xfer-contact-list li[data-value="+15550142"]`); n != 1 || !strings.Contains(got, "Escalations") {
		t.Errorf("the search for Escal lists %d numbers, +15550142 as %q; want Escalations alone", n, got)
	}
	p.do("choose Escalations", chromedp.Click(escalations))
	p.waitText("#xfer-choice", "Transfer to Escalations (+15550142) · number", 2*time.Second)
	p.screenshot("transfer-number")
	// On a 360 px phone the dialog keeps its controls on screen.
	p.do("narrow the window", chromedp.EmulateViewport(360, 780))
	p.checkLayout("transfer-dialog", 360)
	p.do("widen the window", chromedp.EmulateViewport(1280, 860))
	p.do("transfer", chromedp.Click("#xfer-confirm"))

	in := h.nextIncoming()
	if u := in.Request().Recipient.User; u != "+15550142" {
		t.Errorf("INVITE to %s, want +15550142", u)
	}
	w := p.waitState("wrap-up after the transfer", 5*time.Second, func(s panelState) bool {
		return s.Phase == "wrapup" && s.Transfer != nil && s.Transfer.CallID == callID
	})
	if w.Transfer.Kind != "number" || w.Transfer.Target != "+15550142" {
		t.Errorf("the panel's transfer %+v, want number +15550142", w.Transfer)
	}
	fc, err := in.Answer(siptest.AnswerOptions{ToneHz: farHz})
	if err != nil {
		t.Fatal(err)
	}
	p.waitText("#notice", "Transfer done: Escalations (+15550142) has the customer.", 5*time.Second)
	waitTone(t, fc, callerHz, "the far end hears the caller")
	h.hangup(c, fc)
	h.waitMetric("switchboard_active_calls", "0")
	t.Logf("done in %v", time.Since(start).Round(time.Millisecond))
}
