package sip

import (
	"context"
	"errors"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/emiago/sipgo/sip"

	"github.com/switchboard-voice/switchboard/call"
	"github.com/switchboard-voice/switchboard/config"
)

// REFER on a confirmed SIP leg (RFC 3515): a blind transfer the party asks
// for. The trunk decides (trunks[].refer): anything but "allow" answers
// 603 Decline. An allowed REFER is checked, handed to the call as a
// call.Refer event, and answered 202 only once the event is delivered
// (else 503 with Retry-After: never a 202 nobody acts on). The implicit
// subscription (RFC 3515 §2.4.4) then reports the transfer with
// message/sipfrag NOTIFYs (RFC 3420): 100 Trying at once, then what the
// call reports through Refer.Notify, until a final status ends it. Refer-Sub:
// false (RFC 4488) asks for no subscription: 202 with Refer-Sub: false and
// no NOTIFY. Codes:
//
//	603 Decline              the trunk does not allow REFER
//	400 Bad Request          no Refer-To, several, or one that does not parse
//	501 Not Implemented      Refer-To with Replaces (attended transfer), a
//	                         method parameter other than INVITE, or a scheme
//	                         other than sip:, sips:, tel: (RFC 3261 §21.5.2:
//	                         the switch lacks the function asked for)
//	403 Forbidden            a Refer-To URI that names no number
//	403 Forbidden            REFER before the dialog is confirmed
//	503 Service Unavailable  the call is not taking events (Retry-After)
//	202 Accepted             handed to the call

// maxQueuedNotes bounds the provisional statuses a subscription holds
// while its NOTIFYs are on their way; a final status is always kept.
const maxQueuedNotes = 8

// referExpires is the implicit subscription's duration: longer than a
// transfer may take (transfers.timeout, 30 s by default) so that the
// call's final status ends it, not the expiry.
func (s *Server) referExpires() time.Duration {
	t := s.cfg.Transfers.Timeout
	if t <= 0 {
		t = config.DefaultTransferTimeout
	}
	return t + 30*time.Second
}

// onRefer handles a REFER in the leg's dialog.
func (l *legBase) onRefer(req *sip.Request, tx sip.ServerTransaction) {
	seq := req.CSeq().SeqNo
	l.mu.Lock()
	if l.ended {
		l.mu.Unlock()
		l.s.respond(tx, req, 481, "Call/Transaction Does Not Exist")
		return
	}
	if seq <= l.dlg.remoteSeq {
		l.mu.Unlock()
		l.s.respond(tx, req, 500, "Server Internal Error", sip.NewHeader("Retry-After", "1"))
		return
	}
	l.dlg.remoteSeq = seq
	if l.nat {
		l.dlg.flow = req.Source() // the NAT binding may have moved
	}
	confirmed := l.confirmed
	l.mu.Unlock()

	if l.trunk.Config.Refer != config.ReferAllow {
		l.log.Info("REFER declined: the trunk does not allow it", "leg", l.ID(), "trunk", l.trunk.Name())
		l.s.respond(tx, req, 603, "Decline")
		return
	}
	if !confirmed {
		l.s.respond(tx, req, 403, "Forbidden - REFER before the call is answered")
		return
	}
	rt, code, why := checkRefer(req)
	if code != 0 {
		l.log.Info("REFER refused", "leg", l.ID(), "code", code, "reason", why)
		l.s.respond(tx, req, code, why)
		return
	}
	noSub := referSubFalse(req)
	sub := l.newReferSub(seq, noSub)
	ev := call.Refer{Target: rt.Number, URI: rt.URI, ReferredBy: referredBy(req), Notify: sub.notify}
	if !l.emit0(ev) {
		sub.end()
		l.log.Error("REFER refused: the call is not taking events", "leg", l.ID())
		l.s.respond(tx, req, 503, "Service Unavailable", l.s.retryAfter())
		return
	}
	l.log.Info("REFER accepted", "leg", l.ID(), "target", rt.Number, "uri", rt.URI, "subscription", !noSub)
	l.mu.Lock()
	first := l.refers == 0
	l.refers++
	tag := l.dlg.localTag
	l.mu.Unlock()
	res := sip.NewResponseFromRequest(req, 202, "Accepted", nil)
	if to := res.To(); to != nil {
		if t, _ := to.Params.Get("tag"); t == "" {
			to.Params.Add("tag", tag)
		}
	}
	res.AppendHeader(sip.HeaderClone(l.contact))
	if noSub {
		res.AppendHeader(sip.NewHeader("Refer-Sub", "false"))
	} else if referSubHeader(req) != "" {
		res.AppendHeader(sip.NewHeader("Refer-Sub", "true"))
	}
	res.AppendHeader(sip.NewHeader("Server", l.s.userAgent()))
	if err := tx.Respond(res); err != nil {
		l.log.Warn("answer REFER", "error", err)
	}
	if noSub {
		return
	}
	// RFC 3515 §2.4.6: the NOTIFYs of a second REFER in the dialog (and
	// later ones) carry id=<its CSeq>, to tell the subscriptions apart.
	sub.event = "refer"
	if !first {
		sub.event += ";id=" + strconv.FormatUint(uint64(seq), 10)
	}
	l.mu.Lock()
	l.subs = append(l.subs, sub)
	l.mu.Unlock()
	if !l.s.goSub(sub.run) {
		sub.end()
		close(sub.finished)
	}
}

// maxNotifyFlush bounds how long the switch's own BYE waits for a
// subscription's final NOTIFY to go first.
const maxNotifyFlush = 2 * time.Second

// flushNotifies waits, before the switch hangs the leg up, until the final
// NOTIFY of every subscription that has one queued is sent (bounded by
// maxNotifyFlush): a transfer that succeeded tells its REFER's sender so
// before the BYE, as RFC 3515 §2.4.5 expects, instead of the BYE cutting
// the subscription short.
func (l *legBase) flushNotifies() {
	l.mu.Lock()
	subs := l.subs
	l.mu.Unlock()
	var t *time.Timer
	for _, s := range subs {
		s.mu.Lock()
		pending := s.final && !s.over
		s.mu.Unlock()
		if !pending {
			continue
		}
		if t == nil {
			t = time.NewTimer(maxNotifyFlush)
			defer t.Stop()
		}
		select {
		case <-s.finished:
		case <-t.C:
			return
		}
	}
}

// checkRefer reads the REFER's Refer-To: the parsed value, or the code and
// reason to refuse it with.
func checkRefer(req *sip.Request) (referTo, int, string) {
	values := headerValues(req, "Refer-To", "r")
	switch len(values) {
	case 0:
		return referTo{}, 400, "Bad Request - no Refer-To"
	case 1:
	default:
		return referTo{}, 400, "Bad Request - more than one Refer-To"
	}
	rt, err := parseReferTo(values[0])
	switch {
	case err != nil:
		return referTo{}, 400, "Bad Request - Refer-To " + err.Error()
	case rt.Scheme != "sip" && rt.Scheme != "sips" && rt.Scheme != "tel":
		return referTo{}, 501, "Not Implemented - Refer-To scheme " + clip(rt.Scheme) + ": not supported"
	case rt.Replaces:
		return referTo{}, 501, "Not Implemented - attended transfer (Replaces) is not supported"
	case rt.Method != "" && rt.Method != "INVITE":
		return referTo{}, 501, "Not Implemented - Refer-To method " + clip(rt.Method) + ": only INVITE"
	case rt.Number == "":
		return referTo{}, 403, "Forbidden - Refer-To names no number"
	}
	return rt, 0, ""
}

// headerValues returns the values of a header under its full and compact
// names, in order.
func headerValues(req *sip.Request, names ...string) []string {
	var out []string
	for _, h := range req.Headers() {
		for _, n := range names {
			if strings.EqualFold(h.Name(), n) {
				out = append(out, h.Value())
				break
			}
		}
	}
	return out
}

// referredBy is the Referred-By URI (RFC 3892), "" when absent or
// unreadable: it is information for the call, not a reason to refuse.
func referredBy(req *sip.Request) string {
	v := headerValues(req, "Referred-By", "b")
	if len(v) == 0 {
		return ""
	}
	uri, err := addressURI(v[0])
	if err != nil {
		return ""
	}
	return uri
}

// referSubHeader is the REFER's Refer-Sub value (RFC 4488), trimmed.
func referSubHeader(req *sip.Request) string {
	h := req.GetHeader("Refer-Sub")
	if h == nil {
		return ""
	}
	v, _, _ := strings.Cut(h.Value(), ";")
	return strings.TrimSpace(v)
}

// referSubFalse: the REFER asks for no implicit subscription (RFC 4488).
func referSubFalse(req *sip.Request) bool {
	return strings.EqualFold(referSubHeader(req), "false")
}

// goSub runs a subscription's goroutine as pending work of the server: its
// context is cancelled by Close, which waits for it.
func (s *Server) goSub(f func(ctx context.Context)) bool {
	return s.goPending(func() { f(s.pendingCtx) })
}

// referNote is one status to report in a NOTIFY.
type referNote struct {
	code int
	frag []byte
}

// referSub is the implicit subscription of one accepted REFER. notify
// queues statuses without blocking; run sends them, in order, one NOTIFY
// at a time, from its own goroutine.
type referSub struct {
	l       *legBase
	seq     uint32
	event   string // Event header value, set before run starts
	expires time.Duration

	mu    sync.Mutex
	queue []referNote
	final bool // a final status is queued: later notify calls do nothing
	over  bool // ended: terminated, 481, leg over, or never started
	wake  chan struct{}
	// finished is closed when run returns.
	finished chan struct{}
}

// newReferSub prepares the subscription of the REFER with CSeq seq, its
// first status (100 Trying) queued. With noSub it is over from the start
// and notify does nothing.
func (l *legBase) newReferSub(seq uint32, noSub bool) *referSub {
	s := &referSub{l: l, seq: seq, expires: l.s.referExpires(), wake: make(chan struct{}, 1), over: noSub,
		finished: make(chan struct{})}
	if !noSub {
		s.queue = append(s.queue, referNote{100, sipfrag(100, "Trying")})
	}
	return s
}

// notify is call.Refer.Notify: it queues a status and returns at once.
func (s *referSub) notify(code int, reason string) {
	if code < 100 || code > 699 {
		s.l.log.Warn("REFER notify: status code out of range, reported as 500", "code", code)
		code, reason = 500, "Server Internal Error"
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.final || s.over {
		return
	}
	if code < 200 && len(s.queue) >= maxQueuedNotes {
		return // statuses pile up faster than NOTIFYs go: keep the older ones
	}
	s.queue = append(s.queue, referNote{code, sipfrag(code, reason)})
	if code >= 200 {
		s.final = true
	}
	select {
	case s.wake <- struct{}{}:
	default:
	}
}

// end marks the subscription over: nothing more is sent or queued.
func (s *referSub) end() {
	s.mu.Lock()
	s.over = true
	s.queue = nil
	s.mu.Unlock()
}

// next takes the next status to send, if any.
func (s *referSub) next() (referNote, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.over || len(s.queue) == 0 {
		return referNote{}, false
	}
	n := s.queue[0]
	s.queue = s.queue[1:]
	return n, true
}

// run sends the subscription's NOTIFYs until a final one, its expiry, a
// 481, the leg's end or the server's close.
func (s *referSub) run(ctx context.Context) {
	defer close(s.finished)
	defer s.end()
	deadline := time.Now().Add(s.expires)
	expiry := time.NewTimer(s.expires)
	defer expiry.Stop()
	var last []byte
	for {
		if n, ok := s.next(); ok {
			last = n.frag
			state := "terminated;reason=noresource"
			if n.code < 200 {
				secs := int((time.Until(deadline) + time.Second - 1) / time.Second)
				state = "active;expires=" + strconv.Itoa(max(secs, 1))
			}
			if !s.send(ctx, n.frag, state) || n.code >= 200 {
				return
			}
			continue
		}
		select {
		case <-s.wake:
		case <-s.l.done:
			return
		case <-ctx.Done():
			return
		case <-expiry.C:
			// RFC 6665 §4.2.2: an expired subscription is terminated
			// with a last NOTIFY, here with the latest status.
			s.l.log.Info("REFER subscription expired before a final status", "leg", s.l.ID(), "cseq", s.seq)
			s.send(ctx, last, "terminated;reason=timeout")
			return
		}
	}
}

// send sends one NOTIFY in the leg's dialog; false when the subscription
// must end (the leg is over, or the party answered 481).
func (s *referSub) send(ctx context.Context, frag []byte, state string) bool {
	l := s.l
	l.mu.Lock()
	if l.ended || !l.confirmed {
		l.mu.Unlock()
		return false
	}
	req := l.dlg.request(sip.NOTIFY, nil, 0)
	l.mu.Unlock()
	// NOTIFY is a target refresh request: it carries our Contact
	// (RFC 6665 §4.1.2.2 via §8.2.3).
	req.AppendHeader(sip.HeaderClone(l.contact))
	req.AppendHeader(sip.NewHeader("Event", s.event))
	req.AppendHeader(sip.NewHeader("Subscription-State", state))
	req.AppendHeader(sip.NewHeader("Content-Type", "message/sipfrag;version=2.0"))
	req.SetBody(frag)
	tctx, cancel := context.WithTimeout(ctx, timer64)
	defer cancel()
	go func() {
		select {
		case <-l.done:
			cancel()
		case <-tctx.Done():
		}
	}()
	res, err := l.transact(tctx, req)
	switch {
	case err != nil:
		if !errors.Is(err, context.Canceled) {
			l.log.Warn("REFER NOTIFY", "leg", l.ID(), "error", err)
		}
		return ctx.Err() == nil
	case res.StatusCode == 481:
		l.log.Info("REFER NOTIFY answered 481: subscription over", "leg", l.ID())
		return false
	case res.StatusCode >= 300:
		l.log.Info("REFER NOTIFY refused", "leg", l.ID(), "code", res.StatusCode)
	}
	return true
}
