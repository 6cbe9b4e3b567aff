package sip

import (
	"context"
	"errors"
	"log/slog"
	"time"

	"github.com/emiago/sipgo/sip"

	"github.com/switchboard-voice/switchboard/call"
	"github.com/switchboard-voice/switchboard/media"
)

// InboundLeg is the caller's side of a call: the switch is the UAS of its
// INVITE. It implements call.Inbound.
type InboundLeg struct {
	legBase
	req   *sip.Request
	tx    sip.ServerTransaction
	offer *RemoteMedia
	from  call.Party
	to    call.Party
	// MaxForwards left for legs this call creates (already decremented).
	maxFwd int

	rel uasReliable // RFC 3262 (prack.go)

	// guarded by legBase.mu
	finalSent bool
	cancelled bool
}

var _ call.Inbound = (*InboundLeg)(nil)

func newInboundLeg(s *Server, req *sip.Request, tx sip.ServerTransaction, t *Trunk, sock *media.Socket, offer *RemoteMedia, srtp srtpState, maxFwd int, log *slog.Logger) *InboundLeg {
	l := &InboundLeg{req: req, tx: tx, offer: offer, maxFwd: maxFwd - 1}
	l.rel.init(req)
	l.init(s, t, sock, log, l)
	l.dlg = uasDialog(req, sip.GenerateTagN(16))
	if t.behindNAT() {
		// Symmetric signalling (nat.go): in-dialog requests go where the
		// caller's INVITE came from, not to its (private) Contact.
		l.nat = true
		l.dlg.flow = req.Source()
	}
	l.contact = s.contact(req.Transport(), "")
	l.from = call.Party{Number: req.From().Address.User, Name: req.From().DisplayName}
	to := req.Recipient.User
	if to == "" {
		to = req.To().Address.User
	}
	l.to = call.Party{Number: to}
	l.srtp = srtp             // decided by the edge against the trunk's SRTP policy
	l.negotiateUASLocked(req) // not shared yet
	if offer != nil {
		l.applyRemote(*offer)
	} else if sec, err := offerSecurity(t.Config.SRTP); err == nil {
		l.srtp.sec = sec // late offer: the switch offers in its 200
	}
	s.addDialog(l.dlg.key(), l)
	s.trackLeg(l)
	l.tcp.holdTx(tx, req.Transport())
	if !tx.OnCancel(l.onCancel) {
		l.onCancel(nil)
	}
	// A transport failure of the INVITE transaction before the final
	// response (the caller's TCP connection closed, a response could not be
	// sent) ends the leg: sipgo's callback, no goroutine per call. It may not
	// call the transaction's methods, so the leg ends on its own goroutine.
	tx.OnTerminate(func(_ string, err error) {
		if errors.Is(err, sip.ErrTransactionTransport) {
			go l.transportLost(err)
		}
	})
	return l
}

// transportLost ends the leg whose INVITE transaction failed on the
// transport before the final response: the caller is gone as surely as
// with a CANCEL, and the call tears its far-end leg down the same way
// (CANCEL, or ACK and BYE for a 200 that comes later).
func (l *InboundLeg) transportLost(err error) {
	l.mu.Lock()
	if l.ended || l.finalSent {
		l.mu.Unlock()
		return
	}
	l.ended, l.finalSent = true, true
	l.mu.Unlock()
	l.log.Warn("caller unreachable before the final response", "error", err)
	l.endWith(callerGone)
	l.cleanup()
}

// callerGone ends a call whose caller's transport failed before answer.
var callerGone = call.Cause{Code: 408, Reason: "Caller unreachable"}

// From is the caller.
func (l *InboundLeg) From() call.Party { return l.from }

// To is the called number (Request-URI user part).
func (l *InboundLeg) To() call.Party { return l.to }

// MaxForwards is what the call's next hop may still take.
func (l *InboundLeg) MaxForwards() int { return l.maxFwd }

// Request is the INVITE (read-only).
func (l *InboundLeg) Request() *sip.Request { return l.req }

// Offer is the caller's offer, filtered to the trunk's codecs; nil for a
// late offer. After an offer by UPDATE in the early dialog it is that one:
// the 200 answers with the session the UPDATE agreed.
func (l *InboundLeg) Offer() *media.Description { return l.currentOffer().description() }

// currentOffer is the INVITE's offer, or the caller's later one answered in
// the early dialog.
func (l *InboundLeg) currentOffer() *RemoteMedia {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.earlyOffer != nil {
		return l.earlyOffer
	}
	return l.offer
}

// onCancel: sipgo has already answered the CANCEL 200 and the INVITE 487.
// A Q.850 cause in the CANCEL's Reason goes on to the far end's CANCEL.
func (l *InboundLeg) onCancel(cancel *sip.Request) {
	l.mu.Lock()
	if l.ended || l.finalSent {
		l.mu.Unlock()
		return
	}
	l.ended, l.cancelled, l.finalSent = true, true, true
	l.mu.Unlock()
	l.log.Info("caller cancelled")
	var h headerGetter
	if cancel != nil {
		h = cancel
	}
	l.endWith(withQ850(call.Cancelled, h))
	l.cleanup()
}

func (l *InboundLeg) response(code int, reason string, body []byte) *sip.Response {
	res := sip.NewResponseFromRequest(l.req, code, reason, body)
	res.To().Params.Add("tag", l.dlg.localTag)
	if code > 100 && code < 300 {
		res.AppendHeader(sip.HeaderClone(l.contact))
	}
	if body != nil {
		res.AppendHeader(sip.NewHeader("Content-Type", "application/sdp"))
	}
	if code >= 200 && code < 300 {
		l.timerHeadersLocked(res) // 2xx: sent with l.mu held
	}
	res.AppendHeader(sip.NewHeader("Server", l.s.userAgent()))
	return res
}

// Progress sends 180 Ringing, or 183 Session Progress with SDP for early media.
func (l *InboundLeg) Progress(ctx context.Context, ringing bool, early *media.Description) error {
	withMedia := early != nil && l.offer != nil
	if withMedia {
		if err := l.configure(*early, l.currentOffer().Desc, l.srtpSession()); err != nil {
			return err
		}
	}
	l.mu.Lock()
	if l.finalSent || l.ended {
		l.mu.Unlock()
		return call.Cause{Code: 481, Reason: "Call already answered or ended"}
	}
	var res *sip.Response
	if withMedia {
		res = l.response(183, "Session Progress", l.renderLocked(*early))
	} else {
		res = l.response(180, "Ringing", nil)
	}
	l.mu.Unlock()
	if l.rel.use(withMedia) {
		l.sendReliable(res, withMedia)
		return nil
	}
	return l.tx.Respond(res)
}

// Answer sends 200 OK with d and waits for the ACK. For a late-offer call d
// is the switch's offer and the caller's answer is read from the ACK.
func (l *InboundLeg) Answer(ctx context.Context, d media.Description) (media.Description, error) {
	l.mu.Lock()
	if l.finalSent || l.ended {
		l.mu.Unlock()
		return media.Description{}, call.Cause{Code: 481, Reason: "Call already answered or ended"}
	}
	l.mu.Unlock()
	if l.offer != nil {
		if err := l.configure(d, l.currentOffer().Desc, l.srtpSession()); err != nil {
			l.terminate(ctx, call.NotAcceptable, true)
			return media.Description{}, err
		}
	} else {
		d = completeLateOffer(d, l.trunk)
	}
	if err := l.awaitPRACK(ctx); err != nil {
		return media.Description{}, err
	}
	l.mu.Lock()
	if l.finalSent || l.ended {
		l.mu.Unlock()
		return media.Description{}, call.Cause{Code: 481, Reason: "Call already answered or ended"}
	}
	l.finalSent = true
	res := l.response(200, "OK", l.renderLocked(d))
	l.mu.Unlock()
	if err := l.tx.Respond(res); err != nil {
		return media.Description{}, err
	}
	// Retransmit the 2xx until the ACK comes (RFC 3261 §13.3.1.4).
	interval := timerT1
	deadline := time.NewTimer(timer64)
	defer deadline.Stop()
	retrans := time.NewTimer(interval)
	defer retrans.Stop()
	reliable := sip.IsReliable(l.req.Transport())
	for {
		select {
		case ack := <-l.ackCh:
			return l.confirm(ack, d)
		case <-l.done:
			// The caller hung up (BYE overtook the ACK, which sipgo may deliver
			// in any order): the owner learns it from the Ended event.
			return d, nil
		case <-retrans.C:
			if !reliable {
				_ = l.s.srv.WriteResponse(res)
			}
			interval = min(interval*2, timerT2)
			retrans.Reset(interval)
		case <-deadline.C:
			l.log.Warn("no ACK for 200 OK")
			l.mu.Lock()
			l.confirmed = true // the dialog exists: end it with BYE
			l.mu.Unlock()
			return media.Description{}, call.Cause{Code: 408, Reason: "No ACK received"}
		case <-ctx.Done():
			return media.Description{}, ctx.Err()
		}
	}
}

func (l *InboundLeg) confirm(ack *sip.Request, d media.Description) (media.Description, error) {
	l.mu.Lock()
	l.confirmed = true
	l.armLocked() // the session timer starts (RFC 4028 §9)
	l.mu.Unlock()
	if l.offer != nil {
		return d, nil
	}
	rm, err := ParseSDP(ack.Body())
	if err != nil {
		l.log.Warn("late offer: no usable answer in ACK", "error", err)
		return media.Description{}, call.Cause{Code: 488, Reason: "No answer in ACK"}
	}
	agreed := rm.Desc
	agreed.Codecs = media.Intersect(d.Codecs, rm.Desc.Codecs)
	if len(agreed.Audio()) == 0 {
		return media.Description{}, call.Cause{Code: 488, Reason: "No codec in common"}
	}
	l.applyRemote(rm)
	sess, err := l.completeSRTP(rm)
	if err != nil {
		l.log.Warn("late offer: SRTP", "error", err)
		return media.Description{}, call.NotAcceptable
	}
	if err := l.configure(agreed, rm.Desc, sess); err != nil {
		return media.Description{}, err
	}
	return agreed, nil
}

// Hangup ends the caller's leg with cause: a final response before answer,
// a BYE after.
func (l *InboundLeg) Hangup(ctx context.Context, cause call.Cause) error {
	l.flushNotifies()
	l.terminate(ctx, cause, true)
	return nil
}

func (l *InboundLeg) terminate(ctx context.Context, cause call.Cause, signal bool) {
	l.mu.Lock()
	if l.ended {
		l.mu.Unlock()
		return
	}
	l.ended = true
	finalSent, confirmed := l.finalSent, l.confirmed
	l.finalSent = true
	l.mu.Unlock()
	l.endWith(cause)
	if signal {
		switch {
		case !finalSent:
			code, reason := cause.Code, cause.Reason
			if code < 300 {
				code, reason = 480, "Temporarily Unavailable"
			}
			var hdrs []sip.Header
			if code == 503 {
				hdrs = append(hdrs, l.s.retryAfter())
			}
			res := l.response(code, reason, nil)
			for _, h := range hdrs {
				res.AppendHeader(h)
			}
			addReason(res, cause, false) // a far end's Q.850 cause (RFC 6432)
			if err := l.tx.Respond(res); err != nil {
				l.log.Debug("final response", "error", err)
			}
		case confirmed:
			l.sendBye(cause)
		default:
			// 200 sent, ACK pending: the dialog is up for the caller, end it.
			l.sendBye(cause)
		}
	}
	l.cleanup()
}
