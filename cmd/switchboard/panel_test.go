package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/browser"
	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"

	"github.com/switchboard-voice/switchboard/config"

	"github.com/switchboard-voice/switchboard/sip/siptest"
)

// fakeMicHz is the frequency of the beep Chromium's fake microphone
// (--use-fake-device-for-media-stream) sends: 20 ms of 400 Hz every 500 ms
// (media/audio/fake_audio_input_stream.cc, BeepingSource).
const fakeMicHz = 400.0

// permissionDenied is what the panel says when the browser refuses the
// microphone (SPEC §5).
const permissionDenied = "Permission to use camera and/or microphone denied."

// chromiumPath finds headless Chromium: SWITCHBOARD_CHROMIUM, then the
// Debian package's binary. Missing, the test fails under CI=true and is
// skipped elsewhere.
func chromiumPath(t *testing.T) string {
	t.Helper()
	for _, p := range []string{os.Getenv("SWITCHBOARD_CHROMIUM"), "/usr/bin/chromium", "/usr/bin/chromium-browser"} {
		if p == "" {
			continue
		}
		if st, err := os.Stat(p); err == nil && !st.IsDir() {
			return p
		}
	}
	if os.Getenv("CI") == "true" {
		t.Fatal("chromium is missing (apt-get install -y chromium): the panel's browser test cannot run")
	}
	t.Skip("chromium not installed (apt-get install -y chromium)")
	return ""
}

// artifactDir is where screenshots go: $SWITCHBOARD_ARTIFACTS, or the
// test's temporary folder.
func artifactDir(t *testing.T) string {
	if d := os.Getenv("SWITCHBOARD_ARTIFACTS"); d != "" {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
		return d
	}
	return t.TempDir()
}

// panelBase is the node's HTTP address, checked to serve the panel at /.
func panelBase(t *testing.T, h *harness) string {
	t.Helper()
	base := "http://" + h.node.http.Addr()
	res, err := http.Get(base + "/")
	if err != nil {
		t.Fatal(err)
	}
	io.Copy(io.Discard, res.Body)
	res.Body.Close()
	if res.StatusCode != http.StatusOK || !strings.HasPrefix(res.Header.Get("Content-Type"), "text/html") {
		t.Fatalf("GET / = %d %s: the node does not serve the agent panel", res.StatusCode, res.Header.Get("Content-Type"))
	}
	return base
}

// browserLog keeps what the pages wrote to their consoles (shown when the
// test fails).
type browserLog struct {
	mu    sync.Mutex
	lines []string
}

func (l *browserLog) add(tab, s string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.lines = append(l.lines, tab+": "+s)
}

func (l *browserLog) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return strings.Join(l.lines, "\n")
}

// tab is one browser tab driving the panel.
type tab struct {
	t    *testing.T
	name string
	ctx  context.Context
	dir  string
}

// newTab opens a tab in the browser of parent (with opts, e.g. a new
// browser context) and collects its console.
func newTab(t *testing.T, parent context.Context, name, dir string, logs *browserLog, opts ...chromedp.ContextOption) *tab {
	t.Helper()
	ctx, cancel := chromedp.NewContext(parent, opts...)
	t.Cleanup(cancel)
	if err := chromedp.Do(ctx); err != nil { // open the tab now
		t.Fatalf("%s: %v", name, err)
	}
	msgs := chromedp.Console(ctx)
	go func() {
		for m, err := range msgs {
			if err != nil {
				return
			}
			logs.add(name, m.String())
		}
	}()
	return &tab{t: t, name: name, ctx: ctx, dir: dir}
}

// do runs actions, failing the test on error.
func (b *tab) do(what string, steps ...chromedp.Action[chromedp.Void]) {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, 10*time.Second)
	defer cancel()
	if err := chromedp.Do(ctx, steps...); err != nil {
		b.t.Fatalf("%s: %s: %v", b.name, what, err)
	}
}

// eval evaluates a JavaScript expression into out.
func (b *tab) eval(expr string, out any) error {
	ctx, cancel := context.WithTimeout(b.ctx, 5*time.Second)
	defer cancel()
	raw, err := chromedp.Run(ctx, chromedp.Evaluate[[]byte](expr))
	if err != nil {
		return err
	}
	return json.Unmarshal(raw, out)
}

// panelState is window.__panel.state().
type panelState struct {
	View   string `json:"view"`
	Phase  string `json:"phase"`
	Status string `json:"status"`
	System string `json:"system"`
	Media  string `json:"media"`
	Events string `json:"events"`
	Error  string `json:"error"`
	Notice string `json:"notice"`
	Offer  *struct {
		CallID        string `json:"callId"`
		Number        string `json:"number"`
		ExpiresAt     string `json:"expiresAt"`
		Type          string `json:"type"`
		TransferredBy string `json:"transferredBy"`
	} `json:"offer"`
	Call *struct {
		ID             string     `json:"id"`
		ConversationID string     `json:"conversationId"`
		Held           bool       `json:"held"`
		HeldSince      *time.Time `json:"heldSince"`
		Muted          bool       `json:"muted"`
		Number         string     `json:"number"`
		Type           string     `json:"type"`
	} `json:"call"`
	Transfer *struct {
		ID     string `json:"id"`
		CallID string `json:"callId"`
		Kind   string `json:"kind"`
		Target string `json:"target"`
		State  string `json:"state"`
		Cause  string `json:"cause"`
		Code   int    `json:"code"`
	} `json:"transfer"`
	// Outbound is the agent's last outbound call (the New call form's or a
	// callback's); Progress the text the Call card shows for it ("" when
	// hidden), OutboundError the form's error.
	Outbound *struct {
		CallID         string `json:"callId"`
		ConversationID string `json:"conversationId"`
		To             string `json:"to"`
		From           string `json:"from"`
		Queue          string `json:"queue"`
		CallbackID     string `json:"callbackId"`
		State          string `json:"state"` // dialing, ringing, early_media, answered, failed, ended
		Code           int    `json:"code"`
		Reason         string `json:"reason"`
	} `json:"outbound"`
	Progress      string `json:"progress"`
	OutboundError string `json:"outboundError"`
	// Callbacks are the rows of the Callbacks list.
	Callbacks []struct {
		ID        string `json:"id"`
		Number    string `json:"number"`
		Queue     string `json:"queue"`
		Type      string `json:"type"`
		Status    string `json:"status"`
		AgentID   string `json:"agentId"`
		Attempts  int    `json:"attempts"`
		CanAssign bool   `json:"canAssign"`
		CanCall   bool   `json:"canCall"`
	} `json:"callbacks"`
	CallbacksError string `json:"callbacksError"`
	Wrapup         *struct {
		CallID         string         `json:"callId"`
		ConversationID string         `json:"conversationId"`
		EndsAt         time.Time      `json:"endsAt"`
		Saved          map[string]any `json:"saved"`
	} `json:"wrapup"`
	Ringing  bool    `json:"ringing"`
	MicLevel float64 `json:"micLevel"`
}

func (b *tab) state() (panelState, error) {
	var s panelState
	err := b.eval(`window.__panel ? window.__panel.state() : {}`, &s)
	return s, err
}

// waitState polls the panel's state until ok says yes.
func (b *tab) waitState(what string, within time.Duration, ok func(s panelState) bool) panelState {
	b.t.Helper()
	deadline := time.Now().Add(within)
	var s panelState
	var err error
	for {
		s, err = b.state()
		if err == nil && ok(s) {
			return s
		}
		if time.Now().After(deadline) {
			js, _ := json.Marshal(s)
			b.screenshot("failed-" + strings.ReplaceAll(what, " ", "-"))
			b.t.Fatalf("%s: %s not reached within %v (state %s, error %v)", b.name, what, within, js, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// text is the text content of the first element matching sel.
func (b *tab) text(sel string) string {
	var s string
	_ = b.eval(fmt.Sprintf(`(document.querySelector(%q) || {}).textContent || ""`, sel), &s)
	return strings.TrimSpace(s)
}

// waitText polls until sel's text is want.
func (b *tab) waitText(sel, want string, within time.Duration) {
	b.t.Helper()
	deadline := time.Now().Add(within)
	for b.text(sel) != want {
		if time.Now().After(deadline) {
			b.screenshot("failed-text")
			st, _ := b.state()
			js, _ := json.Marshal(st)
			b.t.Fatalf("%s: %s says %q, want %q (state %s)", b.name, sel, b.text(sel), want, js)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// level is window.__panel.level(hz): the share of the remote audio's power
// at hz.
func (b *tab) level(hz float64) float64 {
	var v float64
	_ = b.eval(fmt.Sprintf(`window.__panel.level(%g)`, hz), &v)
	return v
}

// waitLevel polls until the remote audio's share at hz is at least min
// (above is true) or below max (above false).
func (b *tab) waitLevel(what string, hz, limit float64, above bool, within time.Duration) float64 {
	b.t.Helper()
	deadline := time.Now().Add(within)
	for {
		v := b.level(hz)
		if (above && v >= limit) || (!above && v < limit) {
			return v
		}
		if time.Now().After(deadline) {
			b.t.Fatalf("%s: %s: level(%.0f Hz) = %.3f, want %s %.2f", b.name, what, hz, v, map[bool]string{true: "≥", false: "<"}[above], limit)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// screenshot saves the tab's viewport as name.png in the artifacts.
func (b *tab) screenshot(name string) string {
	ctx, cancel := context.WithTimeout(b.ctx, 5*time.Second)
	defer cancel()
	png, err := chromedp.Run(ctx, chromedp.CaptureScreenshot())
	if err != nil {
		b.t.Logf("%s: screenshot %s: %v", b.name, name, err)
		return ""
	}
	p := filepath.Join(b.dir, name+".png")
	if err := os.WriteFile(p, png, 0o644); err != nil {
		b.t.Logf("screenshot %s: %v", name, err)
	}
	return p
}

// selectValue sets a <select>'s value as a user does (a change event).
func selectValue(sel, value string) chromedp.Action[chromedp.Void] {
	return chromedp.Evaluate[chromedp.Void](fmt.Sprintf(
		`(() => { const s = document.querySelector(%q); s.value = %q; s.dispatchEvent(new Event('change', {bubbles: true})); })()`, sel, value))
}

// clearInput empties an input (chromedp.Clear only resets the attribute).
func clearInput(sel string) chromedp.Action[chromedp.Void] {
	return chromedp.Evaluate[chromedp.Void](fmt.Sprintf(`document.querySelector(%q).value = ""`, sel))
}

// newBrowser starts headless Chromium with a fake microphone, kept on
// loopback; with allowMic the page may use it without asking
// (--use-fake-ui-for-media-stream, which overrides every permission
// setting).
func newBrowser(t *testing.T, logs *browserLog, allowMic bool) context.Context {
	t.Helper()
	out := &logBuffer{}
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(chromiumPath(t)),
		chromedp.CombinedOutput(out),
		chromedp.NoSandbox, // the tests run as root in CI
		chromedp.DisableGPU,
		chromedp.WindowSize(1280, 860),
		chromedp.Flag("use-fake-device-for-media-stream", true),
		chromedp.Flag("use-fake-ui-for-media-stream", allowMic),
		chromedp.Flag("autoplay-policy", "no-user-gesture-required"),
		// WebRTC on 127.0.0.1 (the switch's gateway is loopback-only here).
		chromedp.Flag("allow-loopback-in-peer-connection", true),
		// Off the network: no name resolution but loopback, no updates,
		// no pings, no component or variations downloads.
		chromedp.Flag("host-resolver-rules", "MAP * ~NOTFOUND, EXCLUDE 127.0.0.1"),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-domain-reliability", true),
		chromedp.Flag("no-pings", true),
		chromedp.Flag("disable-features", "Translate,OptimizationHints,MediaRouter,DialMediaRouteProvider,"+
			"AutofillServerCommunication,CertificateTransparencyComponentUpdater,InterestFeedContentSuggestions"),
		chromedp.Flag("disable-field-trial-config", true),
	)
	alloc, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancel := chromedp.NewContext(alloc)
	t.Cleanup(func() {
		cctx, ccancel := context.WithTimeout(ctx, 5*time.Second)
		defer ccancel()
		_ = chromedp.Cancel(cctx)
		cancel()
		cancelAlloc()
		if t.Failed() {
			t.Logf("browser console:\n%s", logs)
			if s := out.String(); s != "" {
				t.Logf("chromium output:\n%.4000s", s)
			}
		}
	})
	if err := chromedp.Do(ctx); err != nil { // start the browser
		t.Fatalf("start chromium: %v", err)
	}
	return ctx
}

// login fills the sign-in form.
func (b *tab) login(id, token string) {
	b.t.Helper()
	b.do("sign in",
		chromedp.WaitVisible("#agent-id"),
		clearInput("#agent-id"), chromedp.SendKeys("#agent-id", id),
		clearInput("#agent-token"), chromedp.SendKeys("#agent-token", token),
		chromedp.Click("#login-submit"),
	)
}

// TestPanelInBrowser drives the agent panel in headless Chromium against a
// switch running testdata/config/contact-center.yaml: sign-in (a wrong
// token first), Available, a PCMU caller's offer in the modal, Answer,
// audio both ways checked by content (the caller's tone in the page's
// analyser, Chromium's fake-microphone beep at the caller), dial pad,
// mute, hold and resume, hang-up, wrap-up with +10 s, notes and status,
// and back to Available; the supervisor's page; and a browser that denies
// the microphone.
func TestPanelInBrowser(t *testing.T) {
	if testing.Short() {
		t.Skip("browser test")
	}
	chromiumPath(t)
	start := time.Now()
	// A 30 s wrap-up (the file says 5 s): the "+10 s" click lands inside it
	// however slowly the browser steps run.
	h := newHarness(t, fromFile(t, "../../testdata/config/contact-center.yaml", func(c *config.Config) {
		c.Queues[0].WrapUp = 30 * time.Second
	}))
	base := panelBase(t, h)
	dir := artifactDir(t)
	logs := &browserLog{}
	bctx := newBrowser(t, logs, true)
	t.Logf("switch and chromium up in %v; screenshots in %s", time.Since(start).Round(time.Millisecond), dir)

	p := newTab(t, bctx, "agent1", dir, logs)
	p.do("open the panel", chromedp.Navigate(base+"/"), chromedp.WaitVisible("#login-form"))

	// A wrong token: a clear error, still on the sign-in form.
	p.login("agent1", "not-the-token")
	p.waitText("#login-error", "Invalid agent token", 5*time.Second)
	p.screenshot("invalid-token")

	p.login("agent1", "agent1-token")
	p.waitState("signed in with media and events", 10*time.Second, func(s panelState) bool {
		return s.View == "agent" && s.Media == "connected" && s.Events == "open"
	})
	p.do("choose Available", chromedp.Click(`label[for="status-available"]`))
	p.waitState("Available", 5*time.Second, func(s panelState) bool { return s.Status == "available" && s.System == "" })
	t.Logf("signed in and Available after %v", time.Since(start).Round(time.Millisecond))

	// A caller: the modal shows the offer.
	const number = "+15551234567"
	c, err := h.caller.Invite(h.ctx, h.target("+15550100"), siptest.InviteOptions{From: number, ToneHz: callerHz})
	if err != nil || c.Status() != 200 {
		t.Fatalf("invite: %v (status %d)", err, c.Status())
	}
	offer := p.waitState("the offer", 5*time.Second, func(s panelState) bool { return s.Phase == "ringing" && s.Offer != nil })
	p.waitText("#offer-number", number, 2*time.Second)
	if q, typ, name := p.text("#offer-queue"), p.text("#offer-type"), p.text("#offer-name"); q != "support" || typ != "Regular call" || name != "Caller "+number {
		t.Errorf("offer shows queue %q, type %q, customer %q", q, typ, name)
	}
	var dialogOpen bool
	_ = p.eval(`document.querySelector('#offer').open`, &dialogOpen)
	if !dialogOpen || !offer.Ringing {
		t.Errorf("offer: dialog open %v, ring tone %v", dialogOpen, offer.Ringing)
	}
	var left int
	if cd := p.text("#offer-countdown"); !strings.HasPrefix(cd, "Rings for ") {
		t.Errorf("offer countdown %q", cd)
	} else if _, err := fmt.Sscanf(cd, "Rings for %d s more", &left); err != nil || left < 7 || left > 10 {
		t.Errorf("offer countdown %q: want 7 to 10 s left of the 10 s ring time-out", cd)
	}
	p.screenshot("offer")
	// The copy button puts the number on the clipboard.
	for _, name := range []string{"clipboard-read", "clipboard-write"} {
		if _, err := chromedp.CallBrowser(p.ctx, browser.SetPermission, browser.SetPermissionParams{
			Permission: &browser.PermissionDescriptor{Name: name}, Setting: browser.PermissionSettingGranted, Origin: base,
		}); err != nil {
			t.Fatalf("grant %s: %v", name, err)
		}
	}
	p.do("copy the number", chromedp.Click("#offer-copy"))
	p.waitText("#offer-copy", "Copied", 2*time.Second)
	if clip, err := chromedp.Run(p.ctx, chromedp.Evaluate[string](`navigator.clipboard.readText()`, chromedp.EvalAwaitPromise)); err != nil || clip != number {
		t.Errorf("clipboard has %q (%v), want %s", clip, err, number)
	}

	p.do("answer", chromedp.Click("#answer"))
	inCall := p.waitState("in the call", 5*time.Second, func(s panelState) bool { return s.Phase == "in_call" && s.Call != nil })
	if inCall.Call.ID != offer.Offer.CallID || inCall.Ringing {
		t.Errorf("call %s (offered %s), still ringing %v", inCall.Call.ID, offer.Offer.CallID, inCall.Ringing)
	}

	// The caller's tone reaches the page's analyser.
	lv := p.waitLevel("the caller's tone", callerHz, 0.3, true, 5*time.Second)
	t.Logf("page hears the caller: level(%.0f Hz) = %.2f", callerHz, lv)

	// The browser's fake microphone reaches the caller: of a few candidate
	// frequencies, its 400 Hz beep is the strongest in what the caller
	// receives (once the greeting the caller heard while ringing is out of
	// the detector's window).
	time.Sleep(300 * time.Millisecond)
	c.ResetAudio()
	waitToneBy(t, c, fakeMicHz, 5*time.Second, "the browser's fake microphone at the caller")
	time.Sleep(time.Second)
	if hz, p := strongest(c, 250, 1500, 50); hz != fakeMicHz || !c.Hears(fakeMicHz) {
		t.Errorf("the caller's strongest frequency is %.0f Hz (relative power %.2f), want the fake microphone's %.0f Hz (%s)", hz, p, fakeMicHz, spectrum(c))
	}
	t.Logf("caller hears the browser: %s", spectrum(c))

	// The dial pad's keys reach the caller as RFC 4733 events.
	p.do("dial 5#", chromedp.Click(`button[data-digit="5"]`), chromedp.Click(`button[data-digit="#"]`))
	dctx, dcancel := context.WithTimeout(h.ctx, 5*time.Second)
	digits, err := c.WaitDigits(dctx, 2)
	dcancel()
	if err != nil || len(digits) != 2 || digits[0].Digit != '5' || digits[1].Digit != '#' {
		t.Errorf("caller got digits %v (%v), want 5 #", digits, err)
	}
	p.waitText("#dialed", "5#", 2*time.Second)
	lv = p.waitLevel("the caller's tone, steady", callerHz, 0.5, true, 3*time.Second)
	shot := p.screenshot("in-call")
	t.Logf("in the call: level(%.0f Hz) = %.2f", callerHz, lv)
	updateDocScreenshot(t, shot)

	// Mute: the caller no longer hears the microphone; unmute: again.
	p.do("mute", chromedp.Click("#mute"))
	p.waitState("muted", 2*time.Second, func(s panelState) bool { return s.Call != nil && s.Call.Muted })
	if silentFor(c, fakeMicHz, 800*time.Millisecond) != nil {
		t.Errorf("muted: the caller still hears the microphone (%s)", spectrum(c))
	}
	p.do("unmute", chromedp.Click("#mute"))
	p.waitState("unmuted", 2*time.Second, func(s panelState) bool { return s.Call != nil && !s.Call.Muted })
	waitToneBy(t, c, fakeMicHz, 3*time.Second, "the microphone after unmute")

	// Hold: no audio either way; resume: both again.
	p.do("hold", chromedp.Click("#hold"))
	p.waitState("on hold", 3*time.Second, func(s panelState) bool { return s.Call != nil && s.Call.Held && s.System == "on_hold" })
	if got := p.text("#hold"); got != "Resume" {
		t.Errorf("hold button says %q on hold, want Resume", got)
	}
	if silentFor(c, fakeMicHz, 800*time.Millisecond) != nil {
		t.Errorf("on hold: the caller hears the agent (%s)", spectrum(c))
	}
	p.waitLevel("the caller's tone gone on hold", callerHz, 0.1, false, 3*time.Second)
	p.do("resume", chromedp.Click("#hold"))
	p.waitState("resumed", 3*time.Second, func(s panelState) bool { return s.Call != nil && !s.Call.Held && s.System == "on_call" })
	p.waitLevel("the caller's tone after resume", callerHz, 0.3, true, 5*time.Second)
	waitToneBy(t, c, fakeMicHz, 5*time.Second, "the microphone after resume")

	// Hang up: the caller gets a BYE; the panel goes to wrap-up.
	hungUp := time.Now()
	p.do("hang up", chromedp.Click("#hangup"))
	waitEnded(t, c, "caller")
	if c.Bye() == nil {
		t.Error("the caller got no BYE from the panel's hang-up")
	}
	w := p.waitState("wrap-up", 5*time.Second, func(s panelState) bool { return s.Phase == "wrapup" && s.Wrapup != nil })
	if w.Wrapup.CallID != inCall.Call.ID || w.Wrapup.ConversationID == "" {
		t.Errorf("wrap-up for call %s conversation %q, want call %s", w.Wrapup.CallID, w.Wrapup.ConversationID, inCall.Call.ID)
	}
	// 30 s after the call ended, which was between the click and now.
	if early, late := hungUp.Add(29*time.Second), time.Now().Add(31*time.Second); w.Wrapup.EndsAt.Before(early) || w.Wrapup.EndsAt.After(late) {
		t.Errorf("wrap-up ends at %v, want 30 s after the hang-up (between %v and %v)", w.Wrapup.EndsAt, early, late)
	}
	if got := p.text("#wrapup-left"); !strings.HasPrefix(got, "0:2") && !strings.HasPrefix(got, "0:30") {
		t.Errorf("wrap-up countdown %q", got)
	}
	p.do("+10 s", chromedp.Click("#wrapup-extend"))
	ext := p.waitState("wrap-up extended", 3*time.Second, func(s panelState) bool {
		return s.Wrapup != nil && s.Wrapup.EndsAt.Sub(w.Wrapup.EndsAt) >= 10*time.Second-time.Millisecond
	})
	if d := ext.Wrapup.EndsAt.Sub(w.Wrapup.EndsAt); d != 10*time.Second {
		t.Errorf("+10 s moved the end by %v", d)
	}
	if got := p.text("#wrapup-left"); !strings.HasPrefix(got, "0:3") && !strings.HasPrefix(got, "0:40") {
		t.Errorf("wrap-up countdown after +10 s: %q", got)
	}
	p.do("notes and status",
		chromedp.SendKeys("#wrapup-notes", "Asked about billing"),
		selectValue("#wrapup-status", "closed"),
		chromedp.Click("#wrapup-save"),
	)
	saved := p.waitState("conversation saved", 3*time.Second, func(s panelState) bool { return s.Wrapup != nil && s.Wrapup.Saved != nil })
	if saved.Wrapup.Saved["status"] != "closed" || saved.Wrapup.Saved["notes"] != "Asked about billing" {
		t.Errorf("conversation saved as %v", saved.Wrapup.Saved)
	}
	p.screenshot("wrap-up")
	p.do("finish the wrap-up", chromedp.Click("#wrapup-close"))
	p.waitState("Available again", 3*time.Second, func(s panelState) bool {
		return s.Phase == "idle" && s.Status == "available" && s.System == ""
	})
	var checked bool
	_ = p.eval(`document.querySelector('#status-available').checked`, &checked)
	if !checked {
		t.Error("the status selector does not show Available after the wrap-up")
	}
	if a := agentAsSupervisor(t, h, "agent1"); a["status"] != "available" || a["system"] != "" {
		t.Errorf("after the wrap-up the switch has agent1 %v/%v", a["status"], a["system"])
	}
	t.Logf("call, hold, hang-up and wrap-up done after %v", time.Since(start).Round(time.Millisecond))

	// A reload signs the agent back in (sessionStorage) with a new media
	// session, still Available.
	p.do("reload", chromedp.Reload())
	p.waitState("signed in again after a reload", 10*time.Second, func(s panelState) bool {
		return s.View == "agent" && s.Media == "connected" && s.Events == "open" && s.Status == "available"
	})

	// The supervisor's page: queues and agents, refreshed.
	sup := newTab(t, bctx, "supervisor", dir, logs)
	sup.do("open the supervisor page", chromedp.Navigate(base+"/#/supervisor"), chromedp.WaitVisible("#sup-key"),
		chromedp.SendKeys("#sup-key", "test-key"), chromedp.Click(`#sup-form button[type="submit"]`),
		chromedp.WaitVisible(`#sup-queues tbody tr[data-id="support"]`),
		chromedp.WaitVisible(`#sup-agents tbody tr[data-id="agent1"][data-status="available"]`),
	)
	if row := sup.text(`#sup-queues tbody tr[data-id="support"]`); !strings.Contains(row, "support") {
		t.Errorf("queue row %q", row)
	}
	first := sup.text("#sup-updated")
	deadline := time.Now().Add(4 * time.Second)
	for sup.text("#sup-updated") == first && time.Now().Before(deadline) {
		time.Sleep(100 * time.Millisecond)
	}
	if sup.text("#sup-updated") == first {
		t.Errorf("the supervisor page did not refresh (%q)", first)
	}
	sup.screenshot("supervisor")

	// A browser that denies the microphone (a second Chromium: the first
	// one's --use-fake-ui-for-media-stream grants it whatever the
	// permission says): the panel says so.
	denied := newTab(t, newBrowser(t, logs, false), "denied", dir, logs)
	if _, err := chromedp.CallBrowser(denied.ctx, browser.SetPermission, browser.SetPermissionParams{
		Permission: &browser.PermissionDescriptor{Name: "microphone"},
		Setting:    browser.PermissionSettingDenied,
		Origin:     base,
	}); err != nil {
		t.Fatalf("deny the microphone: %v", err)
	}
	denied.do("open the panel", chromedp.Navigate(base+"/"), chromedp.WaitVisible("#login-form"))
	denied.login("agent2", "agent2-token")
	denied.waitText("#login-error", permissionDenied, 5*time.Second)
	if s, _ := denied.state(); s.View != "login" || s.Error != permissionDenied {
		t.Errorf("denied microphone: view %q error %q", s.View, s.Error)
	}
	denied.screenshot("microphone-denied")
	t.Logf("done in %v", time.Since(start).Round(time.Millisecond))
}

// spectrum reports what a SIP call receives at a few frequencies.
func spectrum(c *siptest.Call) string {
	var b strings.Builder
	for _, hz := range []float64{300, 400, 440, 500, 800} {
		fmt.Fprintf(&b, "%.0f Hz %.2f, ", hz, c.ReceivedTone(hz))
	}
	sent, recv := c.RTPStats()
	fmt.Fprintf(&b, "RTP sent %d received %d", sent, recv)
	return b.String()
}

// strongest is the frequency, from lo to hi in steps of step, with the
// most relative power in what c receives.
func strongest(c *siptest.Call, lo, hi, step float64) (hz, power float64) {
	for f := lo; f <= hi; f += step {
		if p := c.ReceivedTone(f); p > power {
			hz, power = f, p
		}
	}
	return hz, power
}

// silentFor forgets what c heard, waits d and reports an error when c
// heard hz meanwhile.
func silentFor(c *siptest.Call, hz float64, d time.Duration) error {
	time.Sleep(200 * time.Millisecond) // packets in flight
	c.ResetAudio()
	time.Sleep(d)
	if c.Hears(hz) {
		return fmt.Errorf("%.0f Hz heard", hz)
	}
	return nil
}

// agentAsSupervisor reads an agent through the API with the supervisor's key.
func agentAsSupervisor(t *testing.T, h *harness, id string) map[string]any {
	t.Helper()
	req, _ := http.NewRequestWithContext(h.ctx, "GET", "http://"+h.node.http.Addr()+"/api/v1/agents/"+id, nil)
	req.Header.Set("Authorization", "Bearer test-key")
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	var a map[string]any
	if err := json.NewDecoder(res.Body).Decode(&a); err != nil {
		t.Fatal(err)
	}
	return a
}

// updateDocScreenshot copies the in-call screenshot to docs/panel.png (the
// README's) when it is missing or SWITCHBOARD_UPDATE_DOCS=1.
func updateDocScreenshot(t *testing.T, shot string) {
	const doc = "../../docs/panel.png"
	if shot == "" {
		return
	}
	if _, err := os.Stat(doc); err == nil && os.Getenv("SWITCHBOARD_UPDATE_DOCS") != "1" {
		return
	}
	b, err := os.ReadFile(shot)
	if err == nil {
		err = os.WriteFile(doc, b, 0o644)
	}
	if err != nil {
		t.Errorf("docs screenshot: %v", err)
		return
	}
	t.Logf("wrote %s", doc)
}

// layoutJS lists the page's visible controls that do not lie within
// 0..width px, and the document's scrollWidth. The skip link sits off
// screen on purpose until it has the focus.
const layoutJS = `(() => {
  const width = %d;
  const out = [];
  const sel = 'button, input, select, textarea, a[href], label, meter, [role=button], [tabindex]:not([tabindex="-1"])';
  for (const el of document.querySelectorAll(sel)) {
    if (el.matches('.skip:not(:focus)')) continue;
    if (!el.checkVisibility({checkOpacity: true, checkVisibilityCSS: true})) continue;
    const r = el.getBoundingClientRect();
    if (r.width === 0 || r.height === 0) continue;
    if (r.left < -0.5 || r.right > width + 0.5) {
      const name = el.tagName.toLowerCase() + (el.id ? '#' + el.id : '') + ' "' + (el.textContent || el.value || '').trim().slice(0, 24) + '"';
      out.push(name + ' at x ' + Math.round(r.left) + '..' + Math.round(r.right));
    }
  }
  return {scrollWidth: document.documentElement.scrollWidth, offscreen: out};
})()`

// dropSocketsJS, run in a page before its own scripts, lets a test cut the
// page's WebSockets as a network drop does: __network.drop() closes them and
// makes new ones fail (a path of the page's own origin that is no WebSocket:
// its handshake fails) until __network.restore().
const dropSocketsJS = `(() => {
  const Native = window.WebSocket;
  const open = new Set();
  let dropped = false;
  window.WebSocket = class extends Native {
    constructor(url, protocols) {
      super(dropped ? 'ws://' + location.host + '/dropped' : url, protocols);
      open.add(this);
      this.addEventListener('close', () => open.delete(this));
    }
  };
  window.__network = {
    drop() { dropped = true; for (const ws of open) ws.close(); },
    restore() { dropped = false; },
  };
})()`

// checkLayout fails the test when a visible control of the page lies
// outside the width px viewport or the page scrolls sideways, and saves a
// full-page screenshot as narrow-what.png.
func (b *tab) checkLayout(what string, width int) {
	b.t.Helper()
	var res struct {
		ScrollWidth int      `json:"scrollWidth"`
		Offscreen   []string `json:"offscreen"`
	}
	if err := b.eval(fmt.Sprintf(layoutJS, width), &res); err != nil {
		b.t.Fatalf("%s: layout of %s: %v", b.name, what, err)
	}
	ctx, cancel := context.WithTimeout(b.ctx, 5*time.Second)
	defer cancel()
	if png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100)); err == nil {
		_ = os.WriteFile(filepath.Join(b.dir, "narrow-"+what+".png"), png, 0o644)
	}
	if res.ScrollWidth > width || len(res.Offscreen) > 0 {
		b.t.Errorf("%s: %s at %d px: the page is %d px wide; controls off screen: %v", b.name, what, width, res.ScrollWidth, res.Offscreen)
	}
}

// wantShown waits until the status pill and "Now" say pill and now.
func (b *tab) wantShown(pill, now string) {
	b.t.Helper()
	deadline := time.Now().Add(3 * time.Second)
	for {
		gotPill, gotNow := b.text("#who-status"), b.text("#system-state")
		if gotPill == pill && gotNow == now {
			return
		}
		if time.Now().After(deadline) {
			b.t.Errorf("%s: the status pill says %q and Now says %q; want %q and %q", b.name, gotPill, gotNow, pill, now)
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// TestPanelPolish drives the agent panel in a 360 px wide Chromium through
// what a new user sees first: every page and state (sign-in, idle, the
// offer, the call, wrap-up, the supervisor's page before and after its API
// key) keeps its controls on screen; the status pill and "Now" agree for
// each status; "You hung up." is gone at the next call; notes typed in
// wrap-up and never saved by hand are stored when the wrap-up runs out, also
// when the network dropped and the panel learns of the end only when it
// reconnects; the supervisor's page says what to do before a key and shows
// "—" for figures no call has made yet, and the figures once calls did.
func TestPanelPolish(t *testing.T) {
	if testing.Short() {
		t.Skip("browser test")
	}
	chromiumPath(t)
	const width = 360
	// An 8 s wrap-up: long enough to type notes, short enough to wait for.
	h := newHarness(t, fromFile(t, "../../testdata/config/contact-center.yaml", func(c *config.Config) {
		c.Queues[0].WrapUp = 20 * time.Second // room for typing and screenshots on a loaded machine
	}))
	base := panelBase(t, h)
	dir := artifactDir(t)
	logs := &browserLog{}
	bctx := newBrowser(t, logs, true)
	t.Logf("screenshots in %s", dir)

	// The supervisor's page, before any call.
	sup := newTab(t, bctx, "supervisor", dir, logs)
	sup.do("open the supervisor page at 360 px", chromedp.EmulateViewport(width, 780),
		chromedp.Navigate(base+"/#/supervisor"), chromedp.WaitVisible("#sup-key"))
	if hint := sup.text("#sup-hint"); !strings.Contains(hint, "API key") || !strings.Contains(hint, "api.keys") {
		t.Errorf("before a key the supervisor page says %q, want what to do: enter an API key from api.keys", hint)
	}
	var tablesShown bool
	_ = sup.eval(`document.querySelector('#sup-queues').checkVisibility()`, &tablesShown)
	if tablesShown {
		t.Error("before a key the supervisor page shows empty tables")
	}
	sup.checkLayout("supervisor-no-key", width)
	sup.do("enter the key", chromedp.SendKeys("#sup-key", "test-key"), chromedp.Click(`#sup-form button[type="submit"]`),
		chromedp.WaitVisible(`#sup-queues tbody tr[data-id="support"]`))
	var hintShown bool
	_ = sup.eval(`document.querySelector('#sup-hint').checkVisibility()`, &hintShown)
	if hintShown {
		t.Errorf("with a key the supervisor page still says %q", sup.text("#sup-hint"))
	}
	// Offered: 0; service level, ASA, AHT: no call to measure yet.
	cells := supportRow(sup)
	if cells[5] != "0" || cells[8] != "—" || cells[9] != "—" || cells[10] != "—" {
		t.Errorf("with no calls support shows offered %q, service level %q, ASA %q, AHT %q; want 0, —, —, —", cells[5], cells[8], cells[9], cells[10])
	}
	sup.checkLayout("supervisor", width)

	p := newTab(t, bctx, "agent1", dir, logs)
	p.do("open the panel at 360 px", chromedp.EmulateViewport(width, 780),
		chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
			_, err := cdp.Call(ctx, tg, page.AddScriptToEvaluateOnNewDocument, page.AddScriptToEvaluateOnNewDocumentParams{Source: dropSocketsJS})
			return err
		}),
		chromedp.Navigate(base+"/"), chromedp.WaitVisible("#login-form"))
	p.checkLayout("sign-in", width)
	p.login("agent1", "agent1-token")
	p.waitState("signed in", 10*time.Second, func(s panelState) bool {
		return s.View == "agent" && s.Media == "connected" && s.Events == "open"
	})

	// The pill and "Now" agree for every status.
	p.do("choose Offline", chromedp.Click(`label[for="status-offline"]`))
	p.wantShown("Offline", "Offline: no calls are offered")
	p.do("choose Away", chromedp.Click(`label[for="status-away"]`))
	p.wantShown("Away", "Away: no calls are offered")
	p.do("choose Available", chromedp.Click(`label[for="status-available"]`))
	p.wantShown("Available", "Waiting for calls")
	p.checkLayout("idle", width)

	// A call: the offer and the call fit; the agent hangs up and finishes
	// the wrap-up at once.
	call1 := p.offerCall(h, "+15557770", width)
	p.do("answer", chromedp.Click("#answer"))
	p.waitState("in the first call", 5*time.Second, func(s panelState) bool { return s.Phase == "in_call" && s.Call != nil })
	p.wantShown("Available · on a call", "On a call")
	p.checkLayout("in-call", width)
	p.do("hang up", chromedp.Click("#hangup"))
	waitEnded(t, call1, "the first caller")
	p.waitState("the first wrap-up", 5*time.Second, func(s panelState) bool { return s.Phase == "wrapup" })
	p.waitText("#notice", "You hung up.", 2*time.Second)
	p.wantShown("Available · wrap-up", "Wrap-up")
	p.do("finish the wrap-up", chromedp.Click("#wrapup-close"))
	p.wantShown("Available", "Waiting for calls")
	if n := p.text("#notice"); n != "You hung up." {
		t.Errorf("after the wrap-up the panel says %q, want still %q", n, "You hung up.")
	}

	// The next call: "You hung up." is gone with the offer and stays gone.
	call2 := p.offerCall(h, "+15557771", 0)
	if n := p.text("#notice"); n != "" {
		t.Errorf("the second call is offered and the panel still says %q", n)
	}
	p.do("answer", chromedp.Click("#answer"))
	p.waitState("in the second call", 5*time.Second, func(s panelState) bool { return s.Phase == "in_call" && s.Call != nil })
	if n := p.text("#notice"); n != "" {
		t.Errorf("in the second call the panel says %q", n)
	}

	// Notes and a status typed, never saved by hand: stored when the
	// wrap-up runs out, and the panel says so.
	p.do("hang up", chromedp.Click("#hangup"))
	waitEnded(t, call2, "the second caller")
	w := p.waitState("the second wrap-up", 5*time.Second, func(s panelState) bool {
		return s.Phase == "wrapup" && s.Wrapup != nil && s.Wrapup.ConversationID != ""
	})
	const notes = "Wants a callback about the invoice"
	p.do("type notes", chromedp.SendKeys("#wrapup-notes", notes), selectValue("#wrapup-status", "waiting"))
	p.checkLayout("wrap-up", width)
	if s, _ := p.state(); s.Phase != "wrapup" {
		t.Fatalf("the wrap-up ended before the notes were typed (phase %q): the test's 20 s were too short", s.Phase)
	}
	p.waitState("the wrap-up run out", 30*time.Second, func(s panelState) bool { return s.Phase == "idle" && s.System == "" })
	p.wantShown("Available", "Waiting for calls")
	p.wantNotes(h, w.Wrapup.ConversationID, notes, "waiting")
	p.waitText("#notice", "Wrap-up over: your notes are saved.", 3*time.Second)

	// Notes typed, then the network drops: the panel misses the wrap-up's
	// end, learns it when it reconnects, and saves the notes then.
	call3 := p.offerCall(h, "+15557772", 0)
	p.do("answer", chromedp.Click("#answer"))
	p.waitState("in the third call", 5*time.Second, func(s panelState) bool { return s.Phase == "in_call" && s.Call != nil })
	if err := call3.Hangup(h.ctx); err != nil {
		t.Fatal(err)
	}
	p.waitText("#notice", "The customer hung up.", 5*time.Second)
	w = p.waitState("the third wrap-up", 5*time.Second, func(s panelState) bool {
		return s.Phase == "wrapup" && s.Wrapup != nil && s.Wrapup.ConversationID != ""
	})
	const notes3 = "Line dropped while we spoke"
	p.do("type notes", chromedp.SendKeys("#wrapup-notes", notes3))
	if s, _ := p.state(); s.Phase != "wrapup" {
		t.Fatalf("the wrap-up ended before the notes were typed (phase %q): the test's 20 s were too short", s.Phase)
	}
	p.do("drop the network", chromedp.Evaluate[chromedp.Void](`window.__network.drop()`))
	p.waitState("events lost", 3*time.Second, func(s panelState) bool { return s.Events == "closed" })
	deadline := time.Now().Add(30 * time.Second)
	for agentAsSupervisor(t, h, "agent1")["system"] != "" {
		if time.Now().After(deadline) {
			t.Fatal("the third wrap-up did not run out")
		}
		time.Sleep(100 * time.Millisecond)
	}
	p.do("restore the network", chromedp.Evaluate[chromedp.Void](`window.__network.restore()`))
	p.waitState("reconnected and idle", 30*time.Second, func(s panelState) bool { return s.Events == "open" && s.Phase == "idle" })
	p.wantShown("Available", "Waiting for calls")
	p.wantNotes(h, w.Wrapup.ConversationID, notes3, "solved")
	p.waitText("#notice", "Wrap-up over: your notes are saved.", 3*time.Second)

	// Three calls answered at once: the supervisor's page (refreshed every
	// 2 s) now shows the figures.
	deadline = time.Now().Add(5 * time.Second)
	for {
		cells = supportRow(sup)
		if cells[5] == "3" && cells[8] == "100 %" && cells[9] != "—" && cells[10] != "—" {
			break
		}
		if time.Now().After(deadline) {
			t.Errorf("after three answered calls support shows offered %q, service level %q, ASA %q, AHT %q; want 3, 100 %%, figures", cells[5], cells[8], cells[9], cells[10])
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// supportRow is the text of the cells of queue support's row on the
// supervisor's page.
func supportRow(sup *tab) []string {
	sup.t.Helper()
	var cells []string
	if err := sup.eval(`[...document.querySelectorAll('#sup-queues tbody tr[data-id="support"] > *')].map(c => c.textContent)`, &cells); err != nil || len(cells) != 11 {
		sup.t.Fatalf("support's row: %q (%v)", cells, err)
	}
	return cells
}

// offerCall calls the switch's support number from number and waits for
// the panel's offer showing it; with width, it checks the offer's layout.
func (b *tab) offerCall(h *harness, number string, width int) *siptest.Call {
	b.t.Helper()
	c, err := h.caller.Invite(h.ctx, h.target("+15550100"), siptest.InviteOptions{From: number, ToneHz: callerHz})
	if err != nil || c.Status() != 200 {
		b.t.Fatalf("invite from %s: %v (status %d)", number, err, c.Status())
	}
	b.waitState("the offer from "+number, 5*time.Second, func(s panelState) bool {
		return s.Phase == "ringing" && s.Offer != nil && s.Offer.Number == number
	})
	b.waitText("#offer-number", number, 2*time.Second)
	b.wantShown("Available · ringing", "Ringing")
	if width > 0 {
		b.checkLayout("offer", width)
	}
	return c
}

// wantNotes waits until the store has conversation id with notes and
// status.
func (b *tab) wantNotes(h *harness, id, notes, status string) {
	b.t.Helper()
	deadline := time.Now().Add(3 * time.Second)
	for {
		c, err := h.node.contact.store.GetConversation(h.ctx, id)
		if err == nil && c.Notes == notes && c.Status == status {
			return
		}
		if time.Now().After(deadline) {
			b.t.Fatalf("conversation %s has notes %q, status %q (%v); want %q, %s", id, c.Notes, c.Status, err, notes, status)
		}
		time.Sleep(50 * time.Millisecond)
	}
}
