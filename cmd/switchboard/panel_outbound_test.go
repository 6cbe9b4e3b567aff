package main

import (
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/switchboard-voice/switchboard/config"
	"github.com/switchboard-voice/switchboard/gateway/agent"
	"github.com/switchboard-voice/switchboard/sip/siptest"
)

// panelSignedIn opens agent1's panel in a new browser, signs in and waits
// for its audio and events.
func panelSignedIn(t *testing.T, h *harness) *tab {
	t.Helper()
	start := time.Now()
	base := panelBase(t, h)
	logs := &browserLog{}
	bctx := newBrowser(t, logs, true)
	p := newTab(t, bctx, "agent1", artifactDir(t), logs)
	p.do("open the panel", chromedp.Navigate(base+"/"), chromedp.WaitVisible("#login-form"))
	p.login("agent1", "agent1-token")
	p.waitState("signed in with media and events", 10*time.Second, func(s panelState) bool {
		return s.View == "agent" && s.Media == "connected" && s.Events == "open"
	})
	t.Logf("chromium up and agent1 signed in after %v", time.Since(start).Round(time.Millisecond))
	return p
}

// waitTrue polls the JavaScript expression expr until it is true.
func (b *tab) waitTrue(what, expr string, within time.Duration) {
	b.t.Helper()
	deadline := time.Now().Add(within)
	for {
		var ok bool
		if err := b.eval(expr, &ok); err == nil && ok {
			return
		}
		if time.Now().After(deadline) {
			b.screenshot("failed-" + strings.ReplaceAll(what, " ", "-"))
			b.t.Fatalf("%s: %s not reached within %v (%s)", b.name, what, within, expr)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// finishWrapUp waits for the wrap-up of the panel's answered call and
// finishes it (the panel is idle for a moment between call.ended and
// wrapup.started: only the switch's wrap_up says the wrap-up is there).
func (b *tab) finishWrapUp(what string) {
	b.t.Helper()
	b.waitState("the wrap-up after "+what, 5*time.Second, func(s panelState) bool {
		return s.Phase == "wrapup" && s.Wrapup != nil && s.System == "wrap_up"
	})
	b.do("finish the wrap-up", chromedp.Click("#wrapup-close"))
	b.idleAgain(what)
}

// idleAgain waits until the panel is idle with the New call form usable:
// an outbound call that was not answered has no wrap-up.
func (b *tab) idleAgain(what string) {
	b.t.Helper()
	b.waitState("idle after "+what, 5*time.Second, func(s panelState) bool {
		return s.Phase == "idle" && s.System == "" && s.Wrapup == nil
	})
	b.waitTrue("the New call form after "+what, `document.querySelector('#outbound-form').checkVisibility() && !document.querySelector('#outbound-call').disabled`, 5*time.Second)
}

// dial types to into the New call form and clicks Call.
func (b *tab) dial(to string) {
	b.t.Helper()
	b.do("call "+to, clearInput("#outbound-to"), chromedp.SendKeys("#outbound-to", to), selectValue("#outbound-from", "+15550100"),
		chromedp.Click("#outbound-call"))
}

// TestPanelOutboundCall drives agent1's panel in headless Chromium through
// outbound calls (issue 14 §7). The New call form offers the voice number
// +15550100 as From and the agent's queue; a number not in E.164 form gets
// a clear message and sends nothing; one outside the phone book is refused
// by the switch and the panel shows why. Typing +1555 suggests the phone
// book's Escalations (+15550142); Call: the far end (the Go test UA) gets
// the INVITE from +15550100 while the panel says "Calling +15550142…", then
// rings ("Ringing"), sends early media (the panel says so and plays it: its
// tone is in the page's audio), then answers: the panel is in the call,
// the tones cross both ways, and Hang up ends it. A second call is hung up
// while it rings (the far end gets a CANCEL); a third gets 486, shown as
// "Call failed: 486 — the line is busy".
func TestPanelOutboundCall(t *testing.T) {
	if testing.Short() {
		t.Skip("browser test")
	}
	chromiumPath(t)
	start := time.Now()
	h := outboundHarness(t, func(c *config.Config) { c.Queues[0].WrapUp = 30 * time.Second })
	p := panelSignedIn(t, h)

	// The form: From offers the voice number, Queue the agent's queue.
	p.do("the New call form", chromedp.WaitVisible("#outbound-form"), chromedp.WaitReady(`#outbound-from option[value="+15550100"]`))
	var from, queue string
	_ = p.eval(`document.querySelector('#outbound-from').value`, &from)
	_ = p.eval(`document.querySelector('#outbound-queue').value`, &queue)
	if from != "+15550100" || queue != "support" || !p.visible("#outbound-queue") {
		t.Errorf("the form offers From %q and Queue %q (shown %v); want +15550100 and support", from, queue, p.visible("#outbound-queue"))
	}
	p.screenshot("outbound-form")

	// Refused numbers: by the panel (no +), by the switch (not in the
	// phone book). Nothing leaves.
	p.dial("555 0142")
	p.waitText("#outbound-error", "Start the number with + and the country code (E.164, e.g. +15551234567).", 2*time.Second)
	h.noInvite("a number the panel refused")
	p.dial("+15550199")
	p.waitTrue("the switch's refusal", `document.querySelector('#outbound-error').textContent.startsWith('Could not call +15550199: ')`, 5*time.Second)
	if s, _ := p.state(); s.Phase != "idle" || s.Outbound != nil || len(s.OutboundError) <= len("Could not call +15550199: ") {
		t.Errorf("after the switch refused the number: phase %q, outbound %+v, error %q; want idle, none, the switch's reason", s.Phase, s.Outbound, s.OutboundError)
	}
	h.noInvite("a number the switch refused")

	// The phone book's suggestion for what is typed.
	p.do("type +1555", clearInput("#outbound-to"), chromedp.SendKeys("#outbound-to", "+1555"))
	p.waitTrue("the phone book's suggestion", `(() => { const o = document.querySelector('#outbound-to-list option[value="+15550142"]'); return !!o && o.label.includes('Escalations'); })()`, 5*time.Second)
	if s, _ := p.state(); s.OutboundError != "" {
		t.Errorf("typing again leaves the error %q", s.OutboundError)
	}

	// The call: Calling, Ringing, early media, answered.
	p.do("finish the number and call", chromedp.SendKeys("#outbound-to", "0142"), chromedp.Click("#outbound-call"))
	in := h.nextIncoming()
	if to, from := in.Request().Recipient.User, in.Request().From().Address.User; to != "+15550142" || from != "+15550100" {
		t.Errorf("INVITE to %s from %s, want to +15550142 from +15550100", to, from)
	}
	s := p.waitState("dialling", 5*time.Second, func(s panelState) bool {
		return s.Phase == "dialing" && s.Outbound != nil && s.Outbound.CallID != "" && s.Progress == "Calling +15550142…"
	})
	callID := s.Outbound.CallID
	if s.Outbound.To != "+15550142" || s.Outbound.From != "+15550100" || s.Call != nil || s.Offer != nil {
		t.Errorf("dialling: outbound %+v, call %+v, offer %+v; want to +15550142 from +15550100, no call or offer yet", s.Outbound, s.Call, s.Offer)
	}
	if !p.visible("#hangup") || p.visible("#outbound-form") || p.visible("#transfer") {
		t.Errorf("dialling: Hang up shown %v, the form %v, Transfer %v; want Hang up alone", p.visible("#hangup"), p.visible("#outbound-form"), p.visible("#transfer"))
	}
	p.wantShown("Offline · calling", "Calling")
	p.screenshot("outbound-calling")
	if err := in.Ring(false); err != nil {
		t.Fatal(err)
	}
	p.waitState("ringing", 5*time.Second, func(s panelState) bool {
		return s.Outbound != nil && s.Outbound.State == "ringing" && s.Progress == "Ringing"
	})
	p.waitText("#call-progress", "Ringing", time.Second)
	if err := in.Progress(siptest.AnswerOptions{ToneHz: earlyHz}); err != nil {
		t.Fatal(err)
	}
	p.waitState("early media", 5*time.Second, func(s panelState) bool {
		return s.Outbound != nil && s.Outbound.State == "early_media" && s.Progress == "Early media from the network" && s.Phase == "dialing"
	})
	p.waitLevel("the network's early media", earlyHz, 0.3, true, 5*time.Second)
	p.screenshot("outbound-early-media")
	fc, err := in.Answer(siptest.AnswerOptions{ToneHz: farHz})
	if err != nil {
		t.Fatal(err)
	}
	s = p.waitState("in the call", 5*time.Second, func(s panelState) bool {
		return s.Phase == "in_call" && s.Call != nil && s.Call.ID == callID
	})
	if s.Call.Number != "+15550142" || s.Call.Type != "outbound" || s.Progress != "" || s.Outbound.State != "answered" {
		t.Errorf("in the call: call %+v, progress %q, outbound %+v; want +15550142, outbound, no progress, answered", s.Call, s.Progress, s.Outbound)
	}
	if sub := p.text("#call-sub"); !strings.Contains(sub, "Outbound call") {
		t.Errorf("the call's second line says %q, want it to say Outbound call", sub)
	}
	p.waitLevel("the far end's tone", farHz, 0.3, true, 5*time.Second)
	waitToneBy(t, fc, fakeMicHz, 5*time.Second, "the agent's microphone at the far end")
	p.screenshot("outbound-in-call")
	p.do("hang up", chromedp.Click("#hangup"))
	waitEnded(t, fc, "the far end")
	p.finishWrapUp("the answered call")
	t.Logf("answered call done after %v", time.Since(start).Round(time.Millisecond))

	// Hung up while it rings: the switch cancels the INVITE.
	p.dial("+15550142")
	in = h.nextIncoming()
	if err := in.Ring(false); err != nil {
		t.Fatal(err)
	}
	p.waitState("the second call ringing", 5*time.Second, func(s panelState) bool {
		return s.Phase == "dialing" && s.Outbound != nil && s.Outbound.CallID != callID && s.Progress == "Ringing"
	})
	p.do("hang up before the answer", chromedp.Click("#hangup"))
	select {
	case <-in.Cancelled():
	case <-time.After(5 * time.Second):
		t.Fatal("the far end got no CANCEL after Hang up before the answer")
	}
	p.idleAgain("the cancelled call")

	// Busy: the panel says so with the SIP code.
	p.dial("+15550142")
	in = h.nextIncoming()
	if err := in.Reject(486, "Busy Here"); err != nil {
		t.Fatal(err)
	}
	s = p.waitState("the failure", 5*time.Second, func(s panelState) bool {
		return s.Outbound != nil && s.Outbound.State == "failed" && s.Phase != "dialing"
	})
	if s.Outbound.Code != 486 {
		t.Errorf("the failed call's code is %d, want 486", s.Outbound.Code)
	}
	p.waitText("#call-progress", "Call failed: 486 — the line is busy", 2*time.Second)
	p.screenshot("outbound-busy")
	p.idleAgain("the busy call")
	h.waitMetric("switchboard_active_calls", "0")
	t.Logf("done in %v", time.Since(start).Round(time.Millisecond))
}

// callbackView is the part of a callback request the tests read.
type callbackView struct {
	ID      string `json:"id"`
	Type    string `json:"type"`
	Queue   string `json:"queue"`
	Number  string `json:"number"`
	Status  string `json:"status"`
	AgentID string `json:"agent_id"`
	Retries int    `json:"retries"`
}

// requestCallback has the supervisor ask for a callback to number under
// configuration support-manual.
func requestCallback(t *testing.T, h *harness, number string) callbackView {
	t.Helper()
	sup := agent.NewAPI("http://"+h.node.http.Addr(), supervisorKey)
	var cb callbackView
	if err := sup.Do(h.ctx, http.MethodPost, "/api/v1/callbacks", map[string]string{"config": "support-manual", "number": number}, &cb); err != nil {
		t.Fatalf("request a callback to %s: %v", number, err)
	}
	if cb.ID == "" || cb.Type != "manual" || cb.Queue != "support" || cb.Status != "in_queue" {
		t.Fatalf("callback %+v, want a manual one of support, in_queue", cb)
	}
	return cb
}

// TestPanelCallbacksList drives agent1's panel in headless Chromium
// through the Callbacks list (issue 14 §7): a supervisor requests a manual
// callback to +15550142 (POST /api/v1/callbacks); the list (In queue,
// Manual, made today) shows it with its number, queue, status and
// attempts, and not when the days are tomorrow's; Assign to me makes it
// the agent's and enables Call. A second request, taken by agent2 through
// the API after the list showed it: Assign to me says another agent took
// it. Call dials the customer: the far end gets the INVITE, rings (the
// panel says Ringing) and answers: the agent is in the callback's call.
func TestPanelCallbacksList(t *testing.T) {
	if testing.Short() {
		t.Skip("browser test")
	}
	chromiumPath(t)
	start := time.Now()
	h := outboundHarness(t, nil)
	cb := requestCallback(t, h, "+15550142")
	p := panelSignedIn(t, h)

	today := time.Now().UTC().Format(time.DateOnly)
	tomorrow := time.Now().UTC().AddDate(0, 0, 1).Format(time.DateOnly)
	row := `#cb-list tr.cb-row[data-id="` + cb.ID + `"]`
	p.do("the callbacks of today", chromedp.WaitVisible("#callbacks"), selectValue("#cb-from", today), selectValue("#cb-to", today),
		chromedp.WaitVisible(row))
	var status, typ string
	_ = p.eval(`document.querySelector('#cb-status').value`, &status)
	_ = p.eval(`document.querySelector('#cb-type').value`, &typ)
	if status != "in_queue" || typ != "manual" {
		t.Errorf("the filters start at status %q, type %q; want in_queue, manual", status, typ)
	}
	var cells []string
	if err := p.eval(`[...document.querySelectorAll('`+row+` > *')].map(c => c.textContent)`, &cells); err != nil || len(cells) != 6 {
		t.Fatalf("the callback's row: %q (%v)", cells, err)
	}
	attempts := fmt.Sprintf("0 of %d", cb.Retries+1) // the first attempt and the retries
	if cells[0] != "+15550142" || cells[1] != "support" || cells[2] != "In queue · Manual" || cells[3] != attempts {
		t.Errorf("the callback's row says %q; want +15550142, support, In queue · Manual, %s", cells[:4], attempts)
	}
	s, _ := p.state()
	if len(s.Callbacks) != 1 || !s.Callbacks[0].CanAssign || s.Callbacks[0].CanCall {
		t.Errorf("the list %+v, want the callback alone, to assign, not to call yet", s.Callbacks)
	}
	var callDisabled bool
	_ = p.eval(`document.querySelector('`+row+` .cb-call').disabled`, &callDisabled)
	if !callDisabled {
		t.Error("Call is enabled for a callback nobody took")
	}
	p.do("show the list", chromedp.ScrollIntoView("#callbacks"))
	p.screenshot("callbacks")

	// Tomorrow's: none.
	p.do("tomorrow's callbacks", selectValue("#cb-from", tomorrow), selectValue("#cb-to", tomorrow))
	p.waitText("#cb-none", "No callback matches these filters.", 5*time.Second)
	p.do("today's again", selectValue("#cb-from", today), selectValue("#cb-to", today), chromedp.WaitVisible(row))

	// Assign to me.
	p.do("assign it to me", chromedp.Click(row+" .cb-assign"))
	p.waitState("assigned to agent1", 5*time.Second, func(s panelState) bool {
		for _, c := range s.Callbacks {
			if c.ID == cb.ID {
				return c.Status == "assigned" && c.AgentID == "agent1" && c.CanCall && !c.CanAssign
			}
		}
		return false
	})
	p.waitTrue("Call enabled", `!document.querySelector('`+row+` .cb-call').disabled`, 2*time.Second)
	if got := p.text(row + " > :nth-child(3)"); got != "Assigned to you · Manual" {
		t.Errorf("the assigned callback's status says %q, want Assigned to you · Manual", got)
	}
	// On a 360 px phone the New call form and the list keep their controls
	// on screen.
	p.do("narrow the window", chromedp.EmulateViewport(360, 780))
	p.checkLayout("callbacks", 360)
	p.do("widen the window", chromedp.EmulateViewport(1280, 860))

	// Another agent is quicker.
	cb2 := requestCallback(t, h, "+15550143")
	row2 := `#cb-list tr.cb-row[data-id="` + cb2.ID + `"]`
	p.do("refresh", chromedp.Click("#cb-refresh"), chromedp.WaitVisible(row2))
	if !p.visible(row) {
		t.Error("the callback assigned to agent1 left the list (filter In queue) after Refresh")
	}
	var taken callbackView
	if err := agent.NewAPI("http://"+h.node.http.Addr(), "agent2-token").Do(h.ctx, http.MethodPost,
		"/api/v1/callbacks/"+cb2.ID+"/assign", nil, &taken); err != nil || taken.AgentID != "agent2" {
		t.Fatalf("agent2 takes the second callback: %+v, %v", taken, err)
	}
	p.do("assign the taken one", chromedp.Click(row2+" .cb-assign"))
	p.waitText("#cb-error", "Another agent took this callback.", 5*time.Second)
	p.waitTrue("the taken callback gone", fmt.Sprintf(`!document.querySelector(%q)`, row2), 5*time.Second)
	p.do("show the list", chromedp.ScrollIntoView("#callbacks"))
	p.screenshot("callback-taken")

	// Call.
	p.do("call it", chromedp.Click(row+" .cb-call"))
	in := h.nextIncoming()
	if u := in.Request().Recipient.User; u != "+15550142" {
		t.Errorf("the callback's INVITE is to %s, want +15550142", u)
	}
	s = p.waitState("dialling the callback", 5*time.Second, func(s panelState) bool {
		return s.Phase == "dialing" && s.Outbound != nil && s.Outbound.CallID != "" && s.Outbound.CallbackID == cb.ID
	})
	callID := s.Outbound.CallID
	fc, s := p.customerAnswers(t, in)
	if s.Call.ID != callID || s.Call.Number != "+15550142" || s.Call.Type != "callback" {
		t.Errorf("in the callback's call: %+v, want %s to +15550142, callback", s.Call, callID)
	}
	p.screenshot("callback-in-call")
	if err := fc.Hangup(h.ctx); err != nil {
		t.Fatal(err)
	}
	p.waitState("the callback's call over", 5*time.Second, func(s panelState) bool { return s.Phase != "in_call" })
	h.waitMetric("switchboard_active_calls", "0")
	t.Logf("done in %v", time.Since(start).Round(time.Millisecond))
}

// TestPanelCallbackOffer: a supervisor requests an automated callback to
// +15550142 (support-callback); agent1, Available, is offered it: the offer
// says Callback with the number; Answer, and the switch dials the customer
// from the agent's leg: the panel says "Calling +15550142…" and Ringing, the
// far end answers, and the agent is in the callback's call, tones both
// ways.
func TestPanelCallbackOffer(t *testing.T) {
	if testing.Short() {
		t.Skip("browser test")
	}
	chromiumPath(t)
	h := outboundHarness(t, nil)
	p := panelSignedIn(t, h)
	p.do("choose Available", chromedp.Click(`label[for="status-available"]`))
	p.waitState("Available", 5*time.Second, func(s panelState) bool { return s.Status == "available" && s.System == "" })

	sup := agent.NewAPI("http://"+h.node.http.Addr(), supervisorKey)
	var cb callbackView
	if err := sup.Do(h.ctx, http.MethodPost, "/api/v1/callbacks", map[string]string{"config": "support-callback", "number": "+15550142"}, &cb); err != nil {
		t.Fatalf("request an automated callback: %v", err)
	}
	s := p.waitState("the callback's offer", 5*time.Second, func(s panelState) bool {
		return s.Phase == "ringing" && s.Offer != nil && s.Offer.Type == "callback"
	})
	offerID := s.Offer.CallID
	if s.Offer.Number != "+15550142" {
		t.Errorf("the offer's number is %q, want +15550142", s.Offer.Number)
	}
	if title, typ, num := p.text("#offer-title"), p.text("#offer-type"), p.text("#offer-number"); title != "Callback" || typ != "Callback" || num != "+15550142" {
		t.Errorf("the offer shows title %q, type %q, number %q; want Callback, Callback, +15550142", title, typ, num)
	}
	p.screenshot("callback-offer")
	p.do("answer", chromedp.Click("#answer"))
	in := h.nextIncoming()
	if u := in.Request().Recipient.User; u != "+15550142" {
		t.Errorf("the callback's INVITE is to %s, want +15550142", u)
	}
	s = p.waitState("dialling the callback", 5*time.Second, func(s panelState) bool {
		return s.Phase == "dialing" && s.Offer == nil && s.Outbound != nil && s.Progress == "Calling +15550142…"
	})
	if s.Outbound.CallbackID != cb.ID || s.Outbound.CallID != offerID {
		t.Errorf("dialling %+v; want callback %s under the offer's call id %s", s.Outbound, cb.ID, offerID)
	}
	var open bool
	_ = p.eval(`document.querySelector('#offer').open`, &open)
	if open {
		t.Error("the offer's dialog is still open while the switch dials the customer")
	}
	outbound := s.Outbound
	fc, s := p.customerAnswers(t, in)
	if s.Call.ID != outbound.CallID || s.Call.Number != "+15550142" || s.Call.Type != "callback" {
		t.Errorf("in the call %+v (outbound %+v, offered as %s); want the callback's call to +15550142", s.Call, outbound, offerID)
	}
	p.do("hang up", chromedp.Click("#hangup"))
	waitEnded(t, fc, "the customer")
	p.waitState("wrap-up", 5*time.Second, func(s panelState) bool { return s.Phase == "wrapup" })
	h.waitMetric("switchboard_active_calls", "0")
}

// TestPanelOutboundConversationOfAnotherAgent: agent2 is on a call with
// +15550142, whose conversation is therefore agent2's; agent1's panel calls
// the number: the switch refuses (409) and the form shows its reason, which
// names agent2; nothing is dialled and the panel stays idle.
func TestPanelOutboundConversationOfAnotherAgent(t *testing.T) {
	if testing.Short() {
		t.Skip("browser test")
	}
	chromiumPath(t)
	h := outboundHarness(t, nil)
	a2 := h.login("agent2", "agent2-token")
	if _, err := a2.panel.Call(h.ctx, "+15550142", "+15550100", ""); err != nil {
		t.Fatal(err)
	}
	fc, err := h.nextIncoming().Answer(siptest.AnswerOptions{ToneHz: farHz})
	if err != nil {
		t.Fatal(err)
	}
	a2.next("call.answered", 5*time.Second)

	p := panelSignedIn(t, h)
	p.do("the New call form", chromedp.WaitVisible("#outbound-form"), chromedp.WaitReady(`#outbound-from option[value="+15550100"]`))
	p.dial("+15550142")
	p.waitTrue("the switch's refusal", `document.querySelector('#outbound-error').textContent.startsWith('Could not call +15550142: ')`, 5*time.Second)
	s, _ := p.state()
	if !strings.Contains(s.OutboundError, "agent2") {
		t.Errorf("the panel says %q, which does not name agent2", s.OutboundError)
	}
	if s.Phase != "idle" || s.Outbound != nil {
		t.Errorf("after the refusal the panel is %q with outbound %+v; want idle, none", s.Phase, s.Outbound)
	}
	h.noInvite("the refused call")
	p.screenshot("outbound-another-agent")
	if err := fc.Hangup(h.ctx); err != nil {
		t.Fatal(err)
	}
	a2.next("call.ended", 5*time.Second)
	h.waitMetric("switchboard_active_calls", "0")
}

// customerAnswers: the customer the panel calls rings ("Ringing" shows),
// then answers; the panel is in the call, hears the customer, and the
// customer hears the agent's microphone. It returns the customer's call
// and the panel's state in the call.
func (p *tab) customerAnswers(t *testing.T, in *siptest.Incoming) (*siptest.Call, panelState) {
	t.Helper()
	if err := in.Ring(false); err != nil {
		t.Fatal(err)
	}
	p.waitText("#call-progress", "Ringing", 5*time.Second)
	fc, err := in.Answer(siptest.AnswerOptions{ToneHz: farHz})
	if err != nil {
		t.Fatal(err)
	}
	s := p.waitState("in the customer's call", 5*time.Second, func(s panelState) bool {
		return s.Phase == "in_call" && s.Call != nil
	})
	p.waitLevel("the customer's tone", farHz, 0.3, true, 5*time.Second)
	waitToneBy(t, fc, fakeMicHz, 5*time.Second, "the agent's microphone at the customer")
	return fc, s
}
