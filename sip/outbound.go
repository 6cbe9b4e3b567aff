package sip

import (
	"context"
	"errors"
	"strings"
	"sync"
	"time"

	"github.com/emiago/sipgo"
	"github.com/emiago/sipgo/sip"
	"github.com/google/uuid"

	"github.com/switchboard-voice/switchboard/call"
	"github.com/switchboard-voice/switchboard/media"
)

// OutboundLeg is a leg the switch places towards a trunk: the switch is the
// UAC of its INVITE. It implements call.Leg.
type OutboundLeg struct {
	legBase
	invite   *sip.Request
	offer    media.Description // what the INVITE offered
	cancelCh chan call.Cause
}

var _ call.Leg = (*OutboundLeg)(nil)

// Dial places a call on r.Trunk. It returns once the INVITE is on its way;
// the leg's Events report progress, the answer, or failure (Ended with the
// cause mapped for the caller).
func (s *Server) Dial(ctx context.Context, r call.DialRequest) (call.Leg, error) {
	t := s.byName[r.Trunk]
	if t == nil || t.target == nil {
		return nil, call.Cause{Code: 500, Reason: "No outbound trunk " + r.Trunk}
	}
	log := s.log.With("call_id", r.CallID, "out_trunk", t.Name())
	number, err := t.DialNumber(r.To)
	if err != nil {
		log.Warn("called number refused: not sent to the trunk", "error", err)
		return nil, call.Cause{Code: 484, Reason: "Address Incomplete"}
	}
	if t.State() == TrunkDown {
		log.Warn("outbound trunk down")
		return nil, call.Cause{Code: 503, Reason: "Trunk unavailable"}
	}
	if !t.AllowCall() {
		return nil, call.Cause{Code: 503, Reason: "Trunk max_cps exceeded"}
	}
	if !t.AcquireChannel() {
		return nil, call.Cause{Code: 503, Reason: "Trunk max_channels reached"}
	}
	offer := buildOffer(r.Offer, t)
	if len(offer.Audio()) == 0 {
		t.ReleaseChannel()
		return nil, call.NotAcceptable
	}
	sec, err := offerSecurity(t.Config.SRTP)
	if err != nil {
		t.ReleaseChannel()
		return nil, call.ServerError
	}
	sock, err := s.ports.Open()
	if err != nil {
		t.ReleaseChannel()
		return nil, call.Cause{Code: 503, Reason: "No RTP ports"}
	}

	l := &OutboundLeg{offer: offer, cancelCh: make(chan call.Cause, 1)}
	callID := uuid.NewString()
	l.init(s, t, sock, log.With("leg", callID), l)
	l.srtp.sec = sec

	target := t.target
	transport := "UDP"
	if tp, ok := target.UriParams.Get("transport"); ok && tp != "" {
		transport = sip.NetworkToUpper(tp)
	}
	ruri := sip.Uri{Scheme: target.Scheme, User: number, Host: target.Host, Port: target.Port}
	if target.UriParams != nil {
		ruri.UriParams = target.UriParams.Clone()
	}
	l.contact = s.contact(transport, "")
	hp := s.contacts[sip.NetworkToLower(transport)]
	fromNum := r.From.Number
	ob := t.Config.Outbound
	if ob.CallerID != "" {
		fromNum = ob.CallerID
	}
	fromNum = NumberFormat{Plus: t.format.Plus}.Apply(fromNum)
	if fromNum == "" {
		fromNum = "anonymous"
	}
	l.dlg = dialog{
		callID:    callID,
		localTag:  sip.GenerateTagN(16),
		local:     sip.Uri{Scheme: "sip", User: fromNum, Host: hp.host},
		localName: r.From.Name,
		remote:    sip.Uri{Scheme: "sip", User: number, Host: target.Host},
		target:    ruri,
		transport: transport,
		localSeq:  0,
	}
	inv := l.dlg.request(sip.INVITE, l.contact, 0)
	if mf := inv.MaxForwards(); mf != nil && r.MaxForwards > 0 {
		v := sip.MaxForwardsHeader(r.MaxForwards)
		inv.ReplaceHeader(&v)
	}
	inv.AppendHeader(sip.NewHeader("Allow", t.allowMethods()))
	offer100rel(inv)
	inv.AppendHeader(sip.NewHeader("Content-Type", "application/sdp"))
	requestTimers(inv, t)
	l.mu.Lock()
	inv.SetBody(l.renderLocked(offer))
	l.mu.Unlock()
	s.prepareOut(inv)
	l.invite = inv

	s.addDialog(l.dlg.key(), l)
	s.trackLeg(l)
	tx, err := s.client.TransactionRequest(context.WithoutCancel(ctx), inv)
	if err != nil {
		log.Warn("send INVITE", "error", err)
		l.cleanup()
		return nil, call.Cause{Code: 503, Reason: "Trunk unreachable"}
	}
	l.tcp.holdTx(tx, inv.Transport())
	ring := s.cfg.SIP.RingTimeout
	if r.Timeout > 0 {
		ring = r.Timeout
	}
	if ring <= 0 {
		ring = 60 * time.Second
	}
	go l.run(tx, ring)
	return l, nil
}

// run follows the INVITE transaction to its end.
func (l *OutboundLeg) run(tx sip.ClientTransaction, ring time.Duration) {
	ringTimer := time.NewTimer(ring)
	defer ringTimer.Stop()
	var (
		provisional bool
		authTried   bool
		retried422  bool
		redirects   int
		// early holds the To tags of the far end's early dialogs: a
		// forking proxy makes several. Each may send early media (the
		// latest 18x with SDP is heard); the first 2xx wins.
		early       = map[string]bool{}
		cancelling  *call.Cause
		cancelGuard <-chan time.Time
	)
	rseqs := map[string]uint32{} // the last RSeq PRACKed in each early dialog (prack.go)
	fail := func(c call.Cause) {
		if cancelling != nil {
			c = *cancelling
		}
		l.mu.Lock()
		already := l.ended
		l.ended = true
		l.mu.Unlock()
		if !already {
			l.endWith(c)
		}
		l.cleanup()
	}
	cancel := func(c call.Cause) {
		if cancelling != nil {
			return
		}
		cancelling = &c
		l.sendCancel(c)
		cancelGuard = time.After(timer64)
	}
	for {
		select {
		case res := <-tx.Responses():
			code := res.StatusCode
			switch {
			case code == 100:
			case code < 200:
				if !l.prackReliable(res, rseqs) {
					continue // a retransmission, or out of order
				}
				provisional = true
				if tag, _ := res.To().Params.Get("tag"); tag != "" && !early[tag] {
					early[tag] = true
					l.log.Info("early dialog", "code", code, "to_tag", tag, "early_dialogs", len(early))
				}
				if cancelling != nil {
					continue
				}
				ev := call.Progress{Ringing: code == 180 || code == 182}
				if len(res.Body()) > 0 {
					rm, err := ParseSDP(res.Body())
					if err == nil {
						err = l.acceptAnswer(rm, len(early) > 1)
					}
					if err == nil {
						d := rm.Desc
						ev.Early = &d
					} else {
						l.log.Warn("bad SDP in provisional response", "code", code, "error", err)
					}
				}
				if !ev.Ringing && ev.Early == nil {
					continue
				}
				l.emit(ev)
			case code < 300:
				// The transaction lives on to absorb 2xx retransmissions
				// (RFC 6026): each means our ACK was lost, so send it again.
				winner, _ := res.To().Params.Get("tag")
				var forksMu sync.Mutex // retransmissions may be handled concurrently
				forks := map[string]bool{}
				tx.OnRetransmission(func(r *sip.Response) {
					if !r.IsSuccess() {
						return
					}
					tag, _ := r.To().Params.Get("tag")
					if tag == winner {
						l.sendAck(r.CSeq().SeqNo)
						return
					}
					// Another fork answered too (RFC 3261 §13.2.2.4):
					// ACK it, and BYE it once.
					forksMu.Lock()
					bye := !forks[tag]
					forks[tag] = true
					forksMu.Unlock()
					l.endFork(r, bye)
				})
				l.answered(res, cancelling, len(early) > 1)
				return
			case (code == 401 || code == 407) && !authTried && l.trunk.Config.Outbound.Auth != nil:
				authTried = true
				a := l.trunk.Config.Outbound.Auth
				tx.Terminate()
				ntx, err := l.s.client.TransactionDigestAuth(context.Background(), l.invite, res, sipgo.DigestAuth{Username: a.Username, Password: a.Password})
				if err != nil {
					l.log.Warn("INVITE digest retry", "error", err)
					fail(call.Cause{Code: 503, Reason: "Trunk unreachable"})
					return
				}
				l.mu.Lock()
				l.dlg.localSeq = l.invite.CSeq().SeqNo
				l.mu.Unlock()
				tx = ntx
			case code == 422 && !retried422 && cancelling == nil:
				// RFC 4028 §7.4: once more with the far end's Min-SE.
				retried422 = true
				ntx, ok := l.retryMinSE(res)
				if !ok {
					fail(MapFailure(code, res.Reason))
					return
				}
				provisional = false
				tx = ntx
			case code < 400 && cancelling == nil && redirects < maxRedirects:
				ntx, ok := l.redirect(res)
				if !ok {
					fail(MapFailure(code, res.Reason))
					return
				}
				redirects++
				provisional = false
				tx = ntx
			default:
				l.log.Info("far end refused", "code", code, "reason", res.Reason)
				fail(withQ850(MapFailure(code, res.Reason), res))
				return
			}
		case <-tx.Done():
			err := tx.Err()
			l.log.Info("INVITE transaction ended", "error", err, "provisional", provisional)
			switch {
			case provisional:
				fail(call.NoAnswer)
			case errors.Is(err, sip.ErrTransactionTimeout):
				fail(call.Timeout)
			default:
				fail(call.Cause{Code: 503, Reason: "Trunk unreachable"})
			}
			return
		case <-ringTimer.C:
			l.log.Info("ring timeout", "after", ring)
			if provisional {
				cancel(call.NoAnswer)
			} else {
				cancel(call.Timeout)
			}
		case c := <-l.cancelCh:
			cancel(c)
		case <-cancelGuard:
			fail(*cancelling)
			return
		}
	}
}

// endFork ACKs a 2xx from a fork of the INVITE that lost (another fork
// answered first) and, with bye, ends its dialog with BYE.
func (l *OutboundLeg) endFork(res *sip.Response, bye bool) {
	l.mu.Lock()
	d := l.dlg
	l.mu.Unlock()
	d.routes = nil // confirmUAC refills it; never share the winner's
	d.confirmUAC(res)
	tag := d.remoteTag
	ack := d.request(sip.ACK, nil, res.CSeq().SeqNo)
	l.s.prepareOut(ack)
	if err := l.s.client.WriteRequest(ack); err != nil {
		l.log.Warn("send ACK to a losing fork", "to_tag", tag, "error", err)
	}
	if !bye {
		return
	}
	d.localSeq = max(d.localSeq, res.CSeq().SeqNo) // above any PRACK sent
	req := d.request(sip.BYE, nil, 0)
	req.AppendHeader(sip.NewHeader("Reason", reasonHeader(call.Cause{Code: 200, Reason: "Call completed elsewhere"})))
	l.s.prepareOut(req)
	l.log.Info("second fork answered: ACK and BYE", "to_tag", tag)
	l.s.background(func(ctx context.Context) {
		if _, err := l.s.client.Do(ctx, req); err != nil && !errors.Is(err, context.Canceled) {
			l.log.Debug("BYE to a losing fork", "error", err)
		}
	})
}

// maxRedirects bounds the 3xx one outbound leg follows.
const maxRedirects = 5

// redirect follows a 3xx when the trunk allows it (follow_redirects) and
// its first Contact is on the trunk's own host: the INVITE goes again, with
// the next CSeq, to the Contact's user at that host (with the trunk's
// transport). Anything else is refused: a redirect to any host would let
// the far end send calls anywhere at the switch's cost (toll fraud).
func (l *OutboundLeg) redirect(res *sip.Response) (sip.ClientTransaction, bool) {
	t := l.trunk
	ct := res.Contact()
	switch {
	case !t.Config.FollowRedirects:
		l.log.Info("far end redirected: not followed (follow_redirects is off)", "code", res.StatusCode)
		return nil, false
	case ct == nil || (ct.Address.Scheme != "sip" && ct.Address.Scheme != "sips"):
		l.log.Warn("far end redirected without a SIP Contact", "code", res.StatusCode)
		return nil, false
	case !strings.EqualFold(ct.Address.Host, t.target.Host):
		l.log.Warn("far end redirected to another host: refused", "code", res.StatusCode,
			"contact_host", ct.Address.Host, "trunk_host", t.target.Host)
		return nil, false
	case t.checkFormatted(ct.Address.User) != nil:
		// Wildcards and parameters never reach a trunk, also from its own 3xx.
		l.log.Warn("far end redirected to what is no number: refused", "code", res.StatusCode,
			"error", t.checkFormatted(ct.Address.User))
		return nil, false
	}
	inv := l.invite
	ruri := sip.Uri{Scheme: t.target.Scheme, User: ct.Address.User, Host: t.target.Host, Port: ct.Address.Port}
	if t.target.UriParams != nil {
		ruri.UriParams = t.target.UriParams.Clone()
	}
	inv.Recipient = ruri
	ntx, err := l.reissueInvite()
	if err != nil {
		l.log.Warn("send redirected INVITE", "error", err)
		return nil, false
	}
	l.log.Info("far end redirected: following", "code", res.StatusCode, "user", ruri.User, "port", ruri.Port)
	return ntx, true
}

// answered completes the dialog on a 2xx: ACK, then report the answer (or,
// when the call was already being cancelled, end it with BYE).
func (l *OutboundLeg) answered(res *sip.Response, cancelling *call.Cause, forked bool) {
	l.mu.Lock()
	l.dlg.confirmUAC(res)
	l.confirmed = true
	seq := l.invite.CSeq().SeqNo
	l.mu.Unlock()
	l.sendAck(seq)
	if cancelling != nil {
		l.log.Info("answered while cancelling: hanging up")
		l.terminate(context.Background(), *cancelling, true)
		return
	}
	rm, err := ParseSDP(res.Body())
	if err != nil {
		l.log.Warn("bad SDP in 200 OK", "error", err)
		l.endWith(call.Cause{Code: 502, Reason: "Bad Gateway"})
		l.terminate(context.Background(), call.Cause{Code: 488, Reason: "Bad SDP in answer"}, true)
		return
	}
	if err := l.acceptAnswer(rm, forked); err != nil {
		l.log.Warn("unusable answer", "error", err)
		l.endWith(call.NotAcceptable)
		l.terminate(context.Background(), call.NotAcceptable, true)
		return
	}
	l.startTimerUAC(res)
	l.log.Info("far end answered")
	l.emitSure(call.Answered{Answer: rm.Desc}) // never dropped: the call waits on it
}

// acceptAnswer applies the far end's answer (in a 183 or the 200): where
// to send media, SRTP, and the codec agreed.
//
// forked: the far end forked (several early dialogs), whose media all
// reach the leg's socket: media is then taken only from this answer's
// address, as latching would take whichever fork's packet came first.
func (l *OutboundLeg) acceptAnswer(rm RemoteMedia, forked bool) error {
	agreed := rm.Desc
	agreed.Codecs = media.Intersect(l.offer.Codecs, rm.Desc.Codecs)
	if len(agreed.Audio()) == 0 {
		return call.NotAcceptable
	}
	sess, err := l.completeSRTP(rm)
	if err != nil {
		return err
	}
	l.applyRemote(rm)
	if forked {
		l.sock.SetRemoteStrict(rm.RTP)
	}
	return l.configure(agreed, rm.Desc, sess)
}

// sendCancel cancels the pending INVITE (RFC 3261 §9.1).
func (l *OutboundLeg) sendCancel(c call.Cause) {
	inv := l.invite
	req := sip.NewRequest(sip.CANCEL, inv.Recipient)
	req.AppendHeader(sip.HeaderClone(inv.Via()))
	req.AppendHeader(sip.HeaderClone(inv.From()))
	req.AppendHeader(sip.HeaderClone(inv.To()))
	req.AppendHeader(sip.HeaderClone(inv.CallID()))
	req.AppendHeader(&sip.CSeqHeader{SeqNo: inv.CSeq().SeqNo, MethodName: sip.CANCEL})
	sip.CopyHeaders("Route", inv, req)
	mf := sip.MaxForwardsHeader(70)
	req.AppendHeader(&mf)
	if c.Code == 200 {
		req.AppendHeader(sip.NewHeader("Reason", reasonHeader(call.Cause{Code: 200, Reason: "Call completed elsewhere"})))
	}
	addReason(req, c, false) // the caller's Q.850 cause, if it gave one
	req.SetTransport(inv.Transport())
	req.SetDestination(inv.Destination())
	req.Laddr = inv.Laddr
	l.s.background(func(ctx context.Context) {
		if _, err := l.s.client.Do(ctx, req); err != nil {
			l.log.Debug("CANCEL", "error", err)
		}
	})
}

// Hangup ends the leg: CANCEL while it rings, BYE once answered.
func (l *OutboundLeg) Hangup(ctx context.Context, cause call.Cause) error {
	l.flushNotifies()
	l.terminate(ctx, cause, true)
	return nil
}

func (l *OutboundLeg) terminate(ctx context.Context, cause call.Cause, signal bool) {
	l.mu.Lock()
	if l.ended {
		l.mu.Unlock()
		return
	}
	confirmed := l.confirmed
	if confirmed || !signal {
		l.ended = true
	}
	l.mu.Unlock()
	if !confirmed && signal {
		// The run loop sends CANCEL and cleans up when the INVITE ends.
		select {
		case l.cancelCh <- cause:
		default:
		}
		return
	}
	l.endWith(cause)
	if signal {
		l.sendBye(cause)
	}
	l.cleanup()
}

// reissueInvite sends the leg's INVITE again in the same dialog, as it now
// is (a redirect's new Request-URI, a 422's longer interval): the next
// CSeq and a new Via, so a new client transaction.
func (l *OutboundLeg) reissueInvite() (sip.ClientTransaction, error) {
	inv := l.invite
	inv.CSeq().SeqNo++
	inv.RemoveHeader("Via")
	l.mu.Lock()
	l.dlg.localSeq = inv.CSeq().SeqNo
	l.mu.Unlock()
	return l.s.client.TransactionRequest(l.s.pendingCtx, inv, sipgo.ClientRequestAddVia)
}
