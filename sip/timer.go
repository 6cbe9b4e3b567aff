package sip

import (
	"context"
	"errors"
	"strconv"
	"strings"
	"time"

	"github.com/emiago/sipgo/sip"

	"github.com/switchboard-voice/switchboard/call"
)

// Session timers (RFC 4028), per leg and never relayed between legs.
//
// Cost: no goroutine per call and at most one time.Timer per leg. The timer
// is a time.AfterFunc, made at the leg's first arming and Reset on every
// refresh; while it waits nothing runs. When it fires, it either sends a
// refresh (the switch is the refresher: a short goroutine for the
// transaction, through Server.background) or ends the leg (the peer is the
// refresher and missed it).

// sessionTimer is a leg's RFC 4028 state, guarded by legBase.mu.
type sessionTimer struct {
	interval  time.Duration // the session interval; 0: no session timer
	refresher bool          // the switch refreshes (else the peer does)
	peerTimer bool          // the peer supports timer (Supported/Require: timer)
	peerNoUpd bool          // the peer's Allow lacks UPDATE: refresh with re-INVITE
	started   bool          // the INVITE's 2xx was sent or received
	due       time.Time     // when the armed timer's action is due
	t         *time.Timer   // nil until first armed
	stopped   bool
}

// message is what timers read of a request or response.
type message interface {
	GetHeader(name string) sip.Header
	Headers() []sip.Header
}

// Header names and their compact forms (RFC 4028 §4, RFC 3261 §20).
const (
	hdrSessionExpires = "Session-Expires"
	hdrMinSE          = "Min-SE"
	tagTimer          = "timer"
)

// sessionExpires reads a message's Session-Expires: the interval and the
// refresher parameter ("uac", "uas" or ""); ok is false when absent or
// unreadable.
func sessionExpires(m message) (secs int, refresher string, ok bool) {
	h := m.GetHeader(hdrSessionExpires)
	if h == nil {
		h = m.GetHeader("x")
	}
	if h == nil {
		return 0, "", false
	}
	parts := strings.Split(h.Value(), ";")
	n, err := strconv.Atoi(strings.TrimSpace(parts[0]))
	if err != nil || n <= 0 {
		return 0, "", false
	}
	for _, p := range parts[1:] {
		k, v, _ := strings.Cut(strings.TrimSpace(p), "=")
		if strings.EqualFold(strings.TrimSpace(k), "refresher") {
			refresher = strings.ToLower(strings.TrimSpace(v))
		}
	}
	return n, refresher, true
}

// minSE reads a message's Min-SE in seconds (0 when absent or unreadable).
func minSE(m message) int {
	h := m.GetHeader(hdrMinSE)
	if h == nil {
		return 0
	}
	v, _, _ := strings.Cut(h.Value(), ";")
	n, err := strconv.Atoi(strings.TrimSpace(v))
	if err != nil || n < 0 {
		return 0
	}
	return n
}

// optionTags lists the option tags of every header called one of names
// (e.g. Supported and its compact form k), lower-cased.
func optionTags(m message, names ...string) []string {
	var tags []string
	for _, h := range m.Headers() {
		for _, n := range names {
			if !strings.EqualFold(h.Name(), n) {
				continue
			}
			for _, t := range strings.Split(h.Value(), ",") {
				if t = strings.ToLower(strings.TrimSpace(t)); t != "" {
					tags = append(tags, t)
				}
			}
		}
	}
	return tags
}

func hasTag(tags []string, tag string) bool {
	for _, t := range tags {
		if t == tag {
			return true
		}
	}
	return false
}

// supportsTimer tells whether a message says its sender supports timers.
func supportsTimer(m message) bool {
	return hasTag(optionTags(m, "Supported", "k", "Require"), tagTimer)
}

// lacksUpdate tells whether a message's Allow lists methods without UPDATE
// (no Allow at all says nothing, and UPDATE is then tried).
func lacksUpdate(m message) bool {
	allow := optionTags(m, "Allow")
	return len(allow) > 0 && !hasTag(allow, "update")
}

// intervalTooSmall tells whether req asks for a session interval below
// the trunk's Min-SE, and returns the 422 header to answer with
// (RFC 4028 §8.1).
func intervalTooSmall(req *sip.Request, t *Trunk) (sip.Header, bool) {
	st := t.Config.SessionTimers
	if !st.On() {
		return nil, false
	}
	secs, _, ok := sessionExpires(req)
	if !ok || secs >= st.MinSE {
		return nil, false
	}
	return sip.NewHeader(hdrMinSE, strconv.Itoa(st.MinSE)), true
}

// refuseSmallInterval answers an in-dialog refresh 422 when it asks for
// an interval below the trunk's Min-SE, and says so.
func (l *legBase) refuseSmallInterval(req *sip.Request, tx sip.ServerTransaction) bool {
	h, bad := intervalTooSmall(req, l.trunk)
	if bad {
		l.log.Info("session refresh interval too small", "min_se", h.Value())
		l.s.respond(tx, req, 422, "Session Interval Too Small", h)
	}
	return bad
}

// negotiateUAS sets the leg's session timer from a request it answers 2xx
// (the initial INVITE, or a refresh): the request's interval, reduced to
// the trunk's expires when longer (never below the request's Min-SE), and
// its refresher; without a refresher, the peer refreshes when it supports
// timers, else the switch. Without Session-Expires the switch asks for
// its own interval and refreshes itself (RFC 4028 §9). l.mu is held.
func (l *legBase) negotiateUASLocked(req *sip.Request) {
	cfg := l.trunk.Config.SessionTimers
	st := &l.st
	st.peerTimer = supportsTimer(req)
	if lacksUpdate(req) {
		st.peerNoUpd = true
	} else if len(optionTags(req, "Allow")) > 0 {
		st.peerNoUpd = false
	}
	if !cfg.On() {
		st.interval = 0
		return
	}
	secs, refresher, ok := sessionExpires(req)
	if !ok {
		secs, refresher = cfg.Expires, ""
	}
	if secs > cfg.Expires {
		secs = max(cfg.Expires, minSE(req))
	}
	st.interval = time.Duration(secs) * time.Second
	switch {
	case refresher == "uas":
		st.refresher = true
	case refresher == "uac":
		st.refresher = false
	default:
		st.refresher = !st.peerTimer
	}
	if !st.peerTimer {
		st.refresher = true // RFC 4028 §9: the peer cannot be asked to
	}
}

// timerHeadersLocked adds the leg's Session-Expires (and Require: timer
// when the peer supports timers) to a 2xx the leg sends as UAS of req.
// l.mu is held.
func (l *legBase) timerHeadersLocked(res *sip.Response) {
	st := &l.st
	st.started = true
	if st.interval == 0 {
		return
	}
	who := "uac" // the peer, UAC of the request answered
	if st.refresher {
		who = "uas"
	}
	res.AppendHeader(sip.NewHeader(hdrSessionExpires, strconv.Itoa(int(st.interval/time.Second))+";refresher="+who))
	if st.peerTimer {
		res.AppendHeader(sip.NewHeader("Require", tagTimer))
	}
}

// answerRefresh handles a session refresh (re-INVITE or UPDATE, with or
// without SDP) about to be answered with res: the timer is negotiated from
// req again and re-armed, and res carries Session-Expires.
func (l *legBase) answerRefresh(req *sip.Request, res *sip.Response) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if !l.st.started {
		return // early dialog: the timer starts with the INVITE's 2xx
	}
	l.negotiateUASLocked(req)
	l.timerHeadersLocked(res)
	l.armLocked()
}

// requestTimers asks for session timers in an outbound INVITE (RFC 4028 §7.1).
func requestTimers(req *sip.Request, t *Trunk) {
	cfg := t.Config.SessionTimers
	if !cfg.On() {
		return
	}
	setSessionHeaders(req, cfg.Expires, cfg.MinSE, "")
}

// setSessionHeaders sets a request's Session-Expires, Min-SE and Supported:
// timer, replacing what it had.
func setSessionHeaders(req *sip.Request, secs, min int, refresher string) {
	req.RemoveHeader(hdrSessionExpires)
	req.RemoveHeader(hdrMinSE)
	v := strconv.Itoa(secs)
	if refresher != "" {
		v += ";refresher=" + refresher
	}
	req.AppendHeader(sip.NewHeader(hdrSessionExpires, v))
	if min > 0 {
		req.AppendHeader(sip.NewHeader(hdrMinSE, strconv.Itoa(min)))
	}
	addSupported(req, tagTimer)
}

// retryMinSE resends the outbound INVITE after a 422 (RFC 4028 §7.4)
// with the far end's Min-SE as its interval, once: a new CSeq and Via on
// the same dialog. It returns false when the 422 cannot be retried.
func (l *OutboundLeg) retryMinSE(res *sip.Response) (sip.ClientTransaction, bool) {
	cfg := l.trunk.Config.SessionTimers
	far := minSE(res)
	if !cfg.On() || far <= 0 {
		l.log.Warn("422 without a usable Min-SE", "min_se", far)
		return nil, false
	}
	inv := l.invite
	secs, _, _ := sessionExpires(inv)
	if far > 86400 || far <= secs {
		l.log.Warn("422 with a Min-SE not above our interval", "min_se", far, "session_expires", secs)
		return nil, false
	}
	setSessionHeaders(inv, far, far, "")
	ntx, err := l.reissueInvite()
	if err != nil {
		l.log.Warn("send INVITE after 422", "error", err)
		return nil, false
	}
	l.log.Info("far end wants a longer session interval: retrying", "session_expires", far)
	return ntx, true
}

// acceptTimerUAC sets the leg's session timer from a 2xx to a request it
// sent (the INVITE, or a refresh): without Session-Expires there is no
// session timer (RFC 4028 §7.2); refresher=uac makes the switch refresh.
// The timer is armed. l.mu is held.
func (l *legBase) acceptTimerUACLocked(res *sip.Response) {
	st := &l.st
	st.started = true
	if lacksUpdate(res) {
		st.peerNoUpd = true
	} else if len(optionTags(res, "Allow")) > 0 {
		st.peerNoUpd = false
	}
	st.peerTimer = supportsTimer(res)
	secs, refresher, ok := sessionExpires(res)
	if !ok || !l.trunk.Config.SessionTimers.On() {
		st.interval = 0
		l.armLocked()
		return
	}
	st.interval = time.Duration(secs) * time.Second
	st.refresher = refresher != "uas"
	l.armLocked()
}

// startTimerUAC is acceptTimerUACLocked for the 2xx of the INVITE.
func (l *legBase) startTimerUAC(res *sip.Response) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.acceptTimerUACLocked(res)
}

// armLocked (re)arms the leg's one timer: the refresher refreshes at half
// the interval; otherwise the session expires at the interval less
// min(32 s, a third of it) (RFC 4028 §10). l.mu is held.
func (l *legBase) armLocked() {
	st := &l.st
	if st.stopped || l.ended {
		return
	}
	if st.interval == 0 {
		if st.t != nil {
			st.t.Stop()
		}
		return
	}
	d := st.interval / 2
	if !st.refresher {
		d = st.interval - min(32*time.Second, st.interval/3)
	}
	st.due = time.Now().Add(d)
	if st.t == nil {
		st.t = time.AfterFunc(d, l.onSessionTimer)
		return
	}
	st.t.Reset(d)
}

// stopTimer stops the leg's session timer for good.
func (l *legBase) stopTimer() {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.st.stopped = true
	if l.st.t != nil {
		l.st.t.Stop()
	}
}

// onSessionTimer runs when the leg's timer fires (in the timer's own
// goroutine). A firing made stale by a Reset that raced it does nothing.
func (l *legBase) onSessionTimer() {
	l.mu.Lock()
	st := &l.st
	if st.stopped || l.ended || !l.confirmed || st.interval == 0 || time.Now().Before(st.due) {
		l.mu.Unlock()
		return
	}
	refresher := st.refresher
	l.mu.Unlock()
	if refresher {
		l.s.background(l.sendRefresh)
		return
	}
	l.log.Warn("session timer expired: the peer did not refresh", "leg", l.ID())
	l.expire()
}

// sessionExpired is the cause a call ends with when a leg's session
// timer expired.
var sessionExpired = call.Cause{Code: 408, Reason: "Session timer expired"}

// expire ends the leg with BYE; its Done tells the call, which ends the
// other legs too.
func (l *legBase) expire() {
	l.self.terminate(context.WithoutCancel(l.s.pendingCtx), sessionExpired, true)
}

// sendRefresh refreshes the session as its refresher (RFC 4028 §7.4, §8.3):
// UPDATE without SDP, or a re-INVITE with the leg's current SDP when the
// peer lacks UPDATE. A 422 is retried once with the peer's Min-SE as
// interval and Min-SE (RFC 4028 §7.4, §10); 408,
// 481 or no answer end the leg with BYE; other failures leave the session
// to expire unless the peer refreshes.
func (l *legBase) sendRefresh(ctx context.Context) {
	// RFC 4028 §7.4: a retry after 422 carries the largest Min-SE seen.
	floor := l.trunk.Config.SessionTimers.MinSE
	for attempt := 0; attempt < 2; attempt++ {
		l.mu.Lock()
		if l.ended || !l.confirmed || l.st.interval == 0 {
			l.mu.Unlock()
			return
		}
		method := sip.UPDATE
		if l.st.peerNoUpd {
			method = sip.INVITE
		}
		secs := int(l.st.interval / time.Second)
		l.mu.Unlock()
		build := func() *sip.Request { // l.mu held
			req := l.dlg.request(method, l.contact, 0)
			if method == sip.INVITE && l.lastBody != "" {
				req.SetBody([]byte(l.lastBody))
				req.AppendHeader(sip.NewHeader("Content-Type", "application/sdp"))
			}
			setSessionHeaders(req, secs, floor, "uac")
			req.AppendHeader(sip.NewHeader("Allow", l.trunk.allowMethods()))
			return req
		}
		l.log.Debug("session refresh", "method", method, "session_expires", secs)
		var req *sip.Request
		var res *sip.Response
		var err error
		if method == sip.INVITE {
			// A re-INVITE refused 491 is sent again after a while (leg.go).
			req, res, err = l.reinvite(ctx, build)
			if errors.Is(err, errReinvitePending) {
				// Another re-INVITE of ours is pending: try again after it.
				attempt--
				select {
				case <-time.After(l.glareDelay()):
					continue
				case <-ctx.Done():
					return
				}
			}
		} else {
			l.mu.Lock()
			req = build()
			l.mu.Unlock()
			res, err = l.transact(ctx, req)
		}
		if err != nil {
			if errors.Is(err, context.Canceled) {
				return
			}
			l.log.Warn("session refresh got no answer: ending the leg", "error", err)
			l.expire()
			return
		}
		switch code := res.StatusCode; {
		case code < 300:
			if method == sip.INVITE {
				l.sendAck(req.CSeq().SeqNo)
				if rm, err := ParseSDP(res.Body()); err == nil {
					l.applyRemote(rm)
				}
			}
			l.mu.Lock()
			l.acceptTimerUACLocked(res)
			l.mu.Unlock()
			return
		case code == 422 && attempt == 0 && minSE(res) > secs && minSE(res) <= 86400:
			floor = max(floor, minSE(res))
			l.log.Info("session refresh refused 422: retrying with the peer's Min-SE", "min_se", floor)
			l.mu.Lock()
			l.st.interval = time.Duration(minSE(res)) * time.Second
			l.mu.Unlock()
			continue
		case code == 408 || code == 481:
			l.log.Warn("session refresh refused: ending the leg", "code", code)
			l.expire()
			return
		default:
			l.log.Warn("session refresh refused: the session expires unless the peer refreshes", "code", code)
			l.mu.Lock()
			l.st.refresher = false
			l.armLocked()
			l.mu.Unlock()
			return
		}
	}
}

// earlyOfferUnanswered answers 500 with Retry-After an UPDATE that offers
// in an early dialog before the switch answered the INVITE's offer (no SDP
// sent yet): RFC 3311 §5.2. An UPDATE after a 183 with SDP is answered on
// its leg like one in a confirmed dialog.
func (l *legBase) earlyOfferUnanswered(req *sip.Request, tx sip.ServerTransaction) bool {
	l.mu.Lock()
	pending := !l.confirmed && l.lastBody == "" && len(req.Body()) > 0
	l.mu.Unlock()
	if pending {
		l.s.respond(tx, req, 500, "Server Internal Error - offer not answered yet", sip.NewHeader("Retry-After", "1"))
	}
	return pending
}
