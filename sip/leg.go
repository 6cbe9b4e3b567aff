package sip

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/emiago/sipgo"
	"github.com/emiago/sipgo/sip"

	"github.com/switchboard-voice/switchboard/call"
	"github.com/switchboard-voice/switchboard/media"
	"github.com/switchboard-voice/switchboard/media/dtmf"
	"github.com/switchboard-voice/switchboard/media/sdes"
)

// SIP timer values (RFC 3261 §17.1.1.1).
const (
	timerT1 = 500 * time.Millisecond
	timerT2 = 4 * time.Second
	timer64 = 64 * timerT1
)

// terminator is a leg the server can end on shutdown.
type terminator interface {
	terminate(ctx context.Context, cause call.Cause, signal bool)
}

// legBase is what inbound and outbound SIP legs share: the dialog, the media
// socket, the event channel and in-dialog request handling. mu guards the
// dialog and state fields.
type legBase struct {
	s       *Server
	log     *slog.Logger
	trunk   *Trunk
	sock    *media.Socket
	events  chan call.Event
	contact *sip.ContactHeader
	self    terminator
	// nat: the party is behind NAT (trunks[].inbound.nat, caller legs):
	// requests go to its source address, responses to their request's.
	nat bool

	mu        sync.Mutex
	dlg       dialog
	origin    SDPOrigin
	srtp      srtpState // what our SDP says about SRTP, and the session
	lastBody  string
	confirmed bool
	ended     bool
	// reinviting: a re-INVITE of ours is pending on the dialog; a re-offer
	// from the party meanwhile gets 491 (RFC 3261 §14.2).
	reinviting bool
	// refers counts the REFERs accepted in the dialog (refer.go): the
	// NOTIFYs of all but the first carry an Event id.
	refers int
	subs   []*referSub // their subscriptions
	// offerPending: a re-offer (re-INVITE, or UPDATE with SDP) from the
	// party is not finally answered yet; a second one meanwhile gets 500
	// with a random Retry-After (RFC 3261 §14.2, RFC 3311 §5.2).
	offerPending bool
	// earlyOffer: the party's latest offer answered in the early dialog
	// (UPDATE, RFC 3311); the INVITE's final response keeps that session.
	earlyOffer *RemoteMedia
	agreed     media.Description // the codecs the socket uses with the party (configure)
	layout     Layout            // the session's m-lines, from the party's SDP
	ackCh      chan *sip.Request
	st         sessionTimer  // RFC 4028 (timer.go)
	cause      *call.Cause   // why the leg ended: the first cause given (endWith)
	done       chan struct{} // closed when the leg is over and cleaned up (Done)
	cleanOnce  sync.Once
	// tcp keeps the party's TCP/TLS connection open while the dialog
	// lives (doors.go): an idle connection carrying a call is not closed.
	tcp connHold
}

func (l *legBase) init(s *Server, t *Trunk, sock *media.Socket, log *slog.Logger, self terminator) {
	l.s, l.trunk, l.sock, l.log, l.self = s, t, sock, log, self
	l.events = make(chan call.Event, 16)
	l.ackCh = make(chan *sip.Request, 1)
	l.done = make(chan struct{})
	l.origin = SDPOrigin{SessionID: rand.Uint64() >> 2, Version: 1}
	sock.OnDTMF(func(digit rune, d time.Duration) {
		l.log.Info("DTMF received", "leg", l.ID(), "digit", string(digit), "mode", "rfc4733")
		l.emit(call.DTMF{Digit: digit, Duration: d, InBand: true})
	})
}

// ID is the leg's own Call-ID.
func (l *legBase) ID() string { return l.dlg.callID }

// Socket is the switch's media socket facing this leg.
func (l *legBase) Socket() *media.Socket { return l.sock }

// Events delivers the party's actions: progress, answer, re-offers, DTMF.
// It holds 16; beyond that emit drops them (logged), never the leg's end.
func (l *legBase) Events() <-chan call.Event { return l.events }

// Done is closed once the leg is over and its resources are freed.
func (l *legBase) Done() <-chan struct{} { return l.done }

// Cause is why the leg ended (call.Normal if no cause was recorded).
func (l *legBase) Cause() call.Cause {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.cause == nil {
		return call.Normal
	}
	return *l.cause
}

// endWith records why the leg ends, unless a cause is recorded already: the
// first end wins. Done closes when cleanup runs.
func (l *legBase) endWith(cause call.Cause) {
	l.mu.Lock()
	if l.cause == nil {
		l.cause = &cause
	}
	l.mu.Unlock()
}

// Trunk is the name of the leg's trunk.
func (l *legBase) Trunk() string { return l.trunk.Name() }

// emit delivers a notification without ever blocking the SIP stack: when
// the owner is not reading and the channel is full, it is dropped and
// logged (the leg's end never goes this way: endWith and Done).
func (l *legBase) emit(ev call.Event) bool {
	if l.emit0(ev) {
		return true
	}
	l.log.Error("leg event dropped: owner not reading", "event", fmt.Sprintf("%T", ev))
	return false
}

// emitSure delivers ev, an event the call cannot do without (the far end's
// answer): when the channel is full it waits for the owner to read, until
// the leg ends or 64·T1 pass, instead of dropping it.
func (l *legBase) emitSure(ev call.Event) bool {
	if l.emit0(ev) {
		return true
	}
	t := time.NewTimer(timer64)
	defer t.Stop()
	select {
	case l.events <- ev:
		return true
	case <-l.done:
	case <-t.C:
	}
	l.log.Error("leg event dropped: owner not reading", "event", fmt.Sprintf("%T", ev))
	return false
}

// emit0 is emit without the log line.
func (l *legBase) emit0(ev call.Event) bool {
	select {
	case l.events <- ev:
		return true
	default:
		return false
	}
}

// renderLocked renders d as this leg's next SDP body; the origin version
// grows only when the content changes (RFC 3264 §8).
func (l *legBase) renderLocked(d media.Description) []byte {
	addr := l.s.mediaAddr(l.sock)
	body := RenderSDP(d, addr, l.origin, l.srtp.sec, l.layout)
	if l.lastBody != "" && string(body) != l.lastBody {
		l.origin.Version++
		body = RenderSDP(d, addr, l.origin, l.srtp.sec, l.layout)
	}
	l.lastBody = string(body)
	return body
}

// applyRemote points the socket at what the party's SDP says, and keeps
// its m-lines for the leg's later answers and offers.
func (l *legBase) applyRemote(rm RemoteMedia) {
	l.mu.Lock()
	l.layout = rm.Layout
	l.mu.Unlock()
	l.sock.SetRTCPMux(rm.Desc.RTCPMux)
	l.sock.SetRemote(rm.RTP)
	if rm.RTCP.IsValid() && rm.RTCP != rm.RTP {
		l.sock.SetRemoteRTCP(rm.RTCP)
	}
}

// peerTag is the dialog's remote tag ("" while an outbound leg is early).
func (l *legBase) peerTag() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.dlg.remoteTag
}

// onRequest handles an in-dialog request from the leg's party.
func (l *legBase) onRequest(req *sip.Request, tx sip.ServerTransaction) {
	if l.nat {
		tx = symmetric(tx, req)
	}
	switch req.Method {
	case sip.ACK:
		select {
		case l.ackCh <- req:
		default:
		}
	case sip.BYE:
		l.s.respond(tx, req, 200, "OK")
		l.log.Info("party hung up", "leg", l.ID())
		l.mu.Lock()
		already := l.ended
		l.ended = true
		l.mu.Unlock()
		if !already {
			// The party's Q.850 cause goes on to the other legs (reason.go).
			l.endWith(withQ850(call.Normal, req))
			l.cleanup()
		}
	case sip.INVITE, sip.UPDATE:
		l.onReoffer(req, tx)
	case sip.INFO:
		l.onInfo(req, tx)
	case sip.REFER:
		l.onRefer(req, tx)
	case sip.PRACK:
		// Inbound legs take PRACKs (prack.go); the switch sends no
		// reliable provisional response on any other leg.
		l.s.respond(tx, req, 481, "Call/Transaction Does Not Exist")
	default:
		l.s.respond(tx, req, 405, "Method Not Allowed", sip.NewHeader("Allow", l.trunk.allowMethods()))
	}
}

// onReoffer handles a re-INVITE (or UPDATE) from the party: the offer is
// relayed to the other leg by the call, and its answer comes back here.
func (l *legBase) onReoffer(req *sip.Request, tx sip.ServerTransaction) {
	l.mu.Lock()
	seq := req.CSeq().SeqNo
	if seq <= l.dlg.remoteSeq || l.ended {
		l.mu.Unlock()
		l.s.respond(tx, req, 500, "Server Internal Error", sip.NewHeader("Retry-After", "1"))
		return
	}
	l.dlg.remoteSeq = seq
	offers := req.Method == sip.INVITE || len(req.Body()) > 0
	if offers && l.offerPending {
		// The party's earlier offer is still being answered: this one
		// leaves it, and the dialog's target, alone.
		l.mu.Unlock()
		l.log.Info("re-offer while the party's previous one is pending: 500", "leg", l.ID(), "method", req.Method)
		l.s.respond(tx, req, 500, "Server Internal Error",
			sip.NewHeader("Retry-After", strconv.Itoa(rand.IntN(11))))
		return
	}
	if c := req.Contact(); c != nil {
		l.dlg.target = c.Address
	}
	if l.nat {
		l.dlg.flow = req.Source() // the NAT binding may have moved
	}
	glare := l.reinviting && offers
	if offers && !glare {
		l.offerPending = true
	}
	l.mu.Unlock()
	if glare {
		l.log.Info("re-offer while our re-INVITE is pending: 491", "method", req.Method)
		l.s.respond(tx, req, 491, "Request Pending")
		return
	}
	if offers {
		// Pending until the final response goes out (not after: the party
		// may send its next offer as soon as it has the answer).
		settle := sync.OnceFunc(func() {
			l.mu.Lock()
			l.offerPending = false
			l.mu.Unlock()
		})
		defer settle()
		tx = offerTx{ServerTransaction: tx, settle: settle}
	}
	if l.refuseSmallInterval(req, tx) {
		return
	}
	if l.earlyOfferUnanswered(req, tx) {
		return
	}

	if len(req.Body()) == 0 {
		if req.Method == sip.UPDATE {
			l.offerlessUpdate(req, tx)
			return
		}
		l.offerlessReinvite(req, tx)
		return
	}
	var offer *media.Description
	var rm RemoteMedia
	var srtp srtpState // decided once, applied when the offer is answered
	if len(req.Body()) > 0 {
		var err error
		rm, err = ParseSDP(req.Body())
		if err != nil {
			l.log.Warn("bad SDP in re-INVITE", "error", err)
			l.s.respond(tx, req, 400, "Bad Request - "+err.Error())
			return
		}
		rm.Desc = rm.Desc.Filter(l.trunk.Config.Codecs, l.trunk.Config.DTMF != dtmfInfo)
		if len(rm.Desc.Audio()) == 0 {
			l.s.respond(tx, req, 488, "Not Acceptable Here")
			return
		}
		if srtp, err = l.answerSRTP(rm); err != nil {
			l.log.Warn("re-offer refused", "error", err)
			l.s.respond(tx, req, 488, "Not Acceptable Here - "+err.Error())
			return
		}
		offer = &rm.Desc
	}
	reply := make(chan call.OfferReply, 1)
	applied := make(chan struct{})
	if !l.emit(call.Reoffer{Offer: offer, Reply: reply, Applied: applied}) {
		l.s.respond(tx, req, 500, "Server Internal Error")
		return
	}
	// The call re-joins media once the socket uses the answer (or when this
	// gives up on it), before the party sends with it.
	markApplied := sync.OnceFunc(func() { close(applied) })
	defer markApplied()
	var r call.OfferReply
	select {
	case r = <-reply:
	case <-l.done:
		// The leg ended under its re-offer (BYE, the call's end).
		l.s.respond(tx, req, 487, "Request Terminated")
		return
	case <-time.After(timer64):
		l.s.respond(tx, req, 500, "Server Internal Error")
		return
	}
	if r.Err != nil {
		l.s.respond(tx, req, r.Err.Code, r.Err.Reason)
		return
	}
	if offer != nil {
		l.applyRemote(rm)
		l.mu.Lock()
		l.srtp = srtp
		if !l.confirmed {
			l.earlyOffer = &rm
		}
		l.mu.Unlock()
		if err := l.configure(r.Answer, rm.Desc, srtp.sess); err != nil {
			l.log.Warn("configure media", "error", err)
		}
	}
	markApplied()
	l.mu.Lock()
	body := l.renderLocked(r.Answer)
	tag := l.dlg.localTag
	l.mu.Unlock()
	res := sip.NewResponseFromRequest(req, 200, "OK", body)
	res.To().Params.Add("tag", tag)
	res.AppendHeader(sip.HeaderClone(l.contact))
	res.AppendHeader(sip.NewHeader("Content-Type", "application/sdp"))
	l.answerRefresh(req, res)
	if err := tx.Respond(res); err != nil {
		l.log.Warn("answer re-INVITE", "error", err)
	}
}

// offerTx clears a leg's offerPending as the final response to the party's
// re-offer is sent.
type offerTx struct {
	sip.ServerTransaction
	settle func()
}

// Respond settles the offer on a final response, then sends res.
func (tx offerTx) Respond(res *sip.Response) error {
	if res.StatusCode >= 200 {
		tx.settle()
	}
	return tx.ServerTransaction.Respond(res)
}

// Connection is the wrapped transaction's (doors.go holds it).
func (tx offerTx) Connection() sip.Connection {
	if c, ok := tx.ServerTransaction.(interface{ Connection() sip.Connection }); ok {
		return c.Connection()
	}
	return nil
}

// offerlessUpdate answers an UPDATE without SDP (RFC 3311 §5.2: a target
// refresh, or a session refresh of RFC 4028) on this leg alone: 200 with
// our Contact and no body, media and the other leg undisturbed.
func (l *legBase) offerlessUpdate(req *sip.Request, tx sip.ServerTransaction) {
	l.mu.Lock()
	tag := l.dlg.localTag
	l.mu.Unlock()
	res := sip.NewResponseFromRequest(req, 200, "OK", nil)
	res.To().Params.Add("tag", tag)
	res.AppendHeader(sip.HeaderClone(l.contact))
	l.answerRefresh(req, res)
	if err := tx.Respond(res); err != nil {
		l.log.Warn("answer offerless UPDATE", "error", err)
	}
}

// offerlessReinvite answers a re-INVITE without SDP (RFC 3264 §8.4, often a
// session refresh) on this leg alone: the 200 offers the session as it is,
// and the answer in the ACK updates where media goes. The other leg is not
// disturbed.
func (l *legBase) offerlessReinvite(req *sip.Request, tx sip.ServerTransaction) {
	l.mu.Lock()
	body := l.lastBody
	tag := l.dlg.localTag
	l.mu.Unlock()
	if body == "" {
		l.s.respond(tx, req, 488, "Not Acceptable Here")
		return
	}
	res := sip.NewResponseFromRequest(req, 200, "OK", []byte(body))
	res.To().Params.Add("tag", tag)
	res.AppendHeader(sip.HeaderClone(l.contact))
	res.AppendHeader(sip.NewHeader("Content-Type", "application/sdp"))
	l.answerRefresh(req, res)
	if err := tx.Respond(res); err != nil {
		l.log.Warn("answer offerless re-INVITE", "error", err)
		return
	}
	select {
	case ack := <-l.ackCh:
		if len(ack.Body()) == 0 {
			return
		}
		rm, err := ParseSDP(ack.Body())
		if err != nil {
			l.log.Warn("bad SDP in ACK of offerless re-INVITE", "error", err)
			return
		}
		l.applyRemote(rm)
	case <-time.After(timer64):
		l.log.Warn("no ACK for offerless re-INVITE")
	case <-l.done:
	}
}

// Update sends a re-INVITE with offer to the party and returns its answer.
// An offer without codecs re-offers the leg's own: those agreed with its
// party (hold and resume change only the direction).
func (l *legBase) Update(ctx context.Context, offer media.Description) (media.Description, error) {
	l.mu.Lock()
	own := l.agreed.Clone()
	l.mu.Unlock()
	if len(offer.Codecs) == 0 {
		offer.Codecs, offer.RTCPMux = own.Codecs, own.RTCPMux
		if offer.Ptime == 0 {
			offer.Ptime = own.Ptime
		}
	}
	offer = offer.Filter(l.trunk.Config.Codecs, l.trunk.Config.DTMF != dtmfInfo)
	if len(offer.Audio()) == 0 {
		return media.Description{}, call.NotAcceptable
	}
	req, res, err := l.reinvite(ctx, func() *sip.Request {
		req := l.dlg.request(sip.INVITE, l.contact, 0)
		req.SetBody(l.renderLocked(offer))
		req.AppendHeader(sip.NewHeader("Content-Type", "application/sdp"))
		return req
	})
	if errors.Is(err, errReinvitePending) {
		return media.Description{}, call.Cause{Code: 491, Reason: "Request Pending"}
	}
	if err != nil {
		return media.Description{}, err
	}
	if res.StatusCode >= 300 {
		return media.Description{}, call.Cause{Code: res.StatusCode, Reason: res.Reason}
	}
	l.sendAck(req.CSeq().SeqNo)
	rm, err := ParseSDP(res.Body())
	if err != nil {
		return media.Description{}, call.Cause{Code: 502, Reason: "Bad SDP in answer"}
	}
	l.applyRemote(rm)
	sess, err := l.completeSRTP(rm)
	if err != nil {
		l.log.Warn("re-INVITE answer", "error", err)
		return media.Description{}, call.NotAcceptable
	}
	agreed := rm.Desc
	agreed.Codecs = media.Intersect(offer.Codecs, rm.Desc.Codecs)
	if err := l.configure(agreed, rm.Desc, sess); err != nil {
		return media.Description{}, err
	}
	return rm.Desc, nil
}

// errReinvitePending: the leg cannot send a re-INVITE now (one of ours is
// pending, or the dialog is not confirmed or is over).
var errReinvitePending = errors.New("sip: re-INVITE pending or dialog not confirmed")

// glareRetries bounds how often a re-INVITE refused 491 is sent again.
const glareRetries = 2

// glareDelay is how long to wait before re-sending a re-INVITE refused 491
// (RFC 3261 §14.1): 2.1 to 4 s when the switch chose the dialog's Call-ID
// (outbound legs), else 0 to 2 s, in units of 10 ms.
func (l *legBase) glareDelay() time.Duration {
	if _, owner := l.self.(*OutboundLeg); owner {
		return time.Duration(210+rand.IntN(191)) * 10 * time.Millisecond
	}
	return time.Duration(rand.IntN(201)) * 10 * time.Millisecond
}

// reinvite sends the re-INVITE build makes (called with l.mu held, once per
// attempt) and returns it with its final response (not ACKed). While it is
// pending, a re-offer from the party gets 491; a 491 to it is sent again
// after glareDelay, up to glareRetries times (RFC 3261 §14.1).
func (l *legBase) reinvite(ctx context.Context, build func() *sip.Request) (*sip.Request, *sip.Response, error) {
	for attempt := 0; ; attempt++ {
		l.mu.Lock()
		if !l.confirmed || l.ended || l.reinviting {
			l.mu.Unlock()
			return nil, nil, errReinvitePending
		}
		req := build()
		l.reinviting = true
		l.mu.Unlock()
		res, err := l.transact(ctx, req)
		l.mu.Lock()
		l.reinviting = false
		l.mu.Unlock()
		if err != nil || res.StatusCode != 491 || attempt == glareRetries {
			return req, res, err
		}
		d := l.glareDelay()
		l.log.Info("re-INVITE met glare (491): sending it again", "leg", l.ID(), "after", d)
		select {
		case <-time.After(d):
		case <-ctx.Done():
			return req, res, nil
		case <-l.done:
			return req, res, nil
		}
	}
}

// srtpSession is the leg's current SRTP session (nil: plain RTP).
func (l *legBase) srtpSession() *sdes.Session {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.srtp.sess
}

// answerSRTP decides SRTP for an offer from the party under the trunk's
// policy, keeping the session in use when the party's key has not changed.
// The caller applies the result once the offer is answered.
func (l *legBase) answerSRTP(rm RemoteMedia) (srtpState, error) {
	l.mu.Lock()
	cur := l.srtp
	l.mu.Unlock()
	if cur.keeps(rm) {
		return cur, nil
	}
	return answerSecurity(l.trunk.Config.SRTP, rm)
}

// completeSRTP reads the party's answer to an offer made with our keys.
func (l *legBase) completeSRTP(rm RemoteMedia) (*sdes.Session, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.srtp.keeps(rm) {
		return l.srtp.sess, nil
	}
	st, err := sessionFromAnswer(l.trunk.Config.SRTP, l.srtp.sec, rm)
	if err != nil {
		return nil, err
	}
	l.srtp = st
	return st.sess, nil
}

// onInfo takes DTMF sent as SIP INFO (application/dtmf-relay or
// application/dtmf) and reports the digit; other INFO bodies are
// acknowledged and ignored.
func (l *legBase) onInfo(req *sip.Request, tx sip.ServerTransaction) {
	if len(req.Body()) == 0 {
		l.s.respond(tx, req, 200, "OK")
		return
	}
	ct := ""
	if h := req.ContentType(); h != nil {
		ct = h.Value()
	}
	digit, d, err := dtmf.ParseInfo(ct, req.Body())
	switch {
	case errors.Is(err, dtmf.ErrUnsupportedInfo):
		l.s.respond(tx, req, 200, "OK")
		return
	case err != nil:
		l.s.respond(tx, req, 400, "Bad Request - "+err.Error())
		return
	}
	// Report before answering: the party sends its next digit only after
	// the 200, so digits reach the call in the order pressed.
	l.log.Info("DTMF received", "leg", l.ID(), "digit", string(digit), "mode", "info")
	l.emit(call.DTMF{Digit: digit, Duration: d})
	l.s.respond(tx, req, 200, "OK")
}

// SendDTMF sends a digit to the party: as SIP INFO when the trunk says
// dtmf: info (or telephone-event was not agreed), else as RFC 4733
// telephone-events on the media stream.
func (l *legBase) SendDTMF(ctx context.Context, digit rune, d time.Duration) error {
	if l.trunk.Config.DTMF != dtmfInfo && l.sock.Config().HasEvents() {
		return l.sock.SendDTMF(ctx, digit, d)
	}
	ct, body := dtmf.FormatInfo(digit, d)
	if body == nil {
		return fmt.Errorf("sip: %q is not a DTMF key", digit)
	}
	l.mu.Lock()
	if !l.confirmed || l.ended {
		l.mu.Unlock()
		return call.Cause{Code: 481, Reason: "Call Leg Does Not Exist"}
	}
	req := l.dlg.request(sip.INFO, nil, 0)
	l.mu.Unlock()
	req.SetBody(body)
	req.AppendHeader(sip.NewHeader("Content-Type", ct))
	res, err := l.transact(ctx, req)
	if err != nil {
		return err
	}
	if res.StatusCode >= 300 {
		return call.Cause{Code: res.StatusCode, Reason: res.Reason}
	}
	return nil
}

// transact sends an in-dialog request and waits for its final response,
// answering one digest challenge with the trunk's outbound credentials.
func (l *legBase) transact(ctx context.Context, req *sip.Request) (*sip.Response, error) {
	l.s.prepareOut(req)
	res, err := l.s.client.Do(ctx, req)
	if err != nil {
		return nil, err
	}
	if (res.StatusCode == 401 || res.StatusCode == 407) && l.trunk.Config.Outbound != nil && l.trunk.Config.Outbound.Auth != nil {
		a := l.trunk.Config.Outbound.Auth
		res, err = l.s.client.DoDigestAuth(ctx, req, res, sipgo.DigestAuth{Username: a.Username, Password: a.Password})
		if err != nil {
			return nil, err
		}
		l.mu.Lock()
		if seq := req.CSeq().SeqNo; seq > l.dlg.localSeq {
			l.dlg.localSeq = seq
		}
		l.mu.Unlock()
	}
	return res, nil
}

func (l *legBase) sendAck(seq uint32) {
	l.mu.Lock()
	ack := l.dlg.request(sip.ACK, nil, seq)
	l.mu.Unlock()
	l.s.prepareOut(ack)
	if err := l.s.client.WriteRequest(ack); err != nil {
		l.log.Warn("send ACK", "error", err)
	}
}

// sendBye ends a confirmed dialog. The BYE's transaction completes in the
// background (bounded by Timer F); Shutdown waits for outstanding ones.
func (l *legBase) sendBye(cause call.Cause) {
	l.mu.Lock()
	req := l.dlg.request(sip.BYE, nil, 0)
	l.mu.Unlock()
	addReason(req, cause, cause.Code != 200)
	l.s.background(func(ctx context.Context) {
		if _, err := l.transact(ctx, req); err != nil && !errors.Is(err, context.Canceled) {
			l.log.Debug("BYE", "error", err)
		}
	})
}

// reasonHeader renders an RFC 3326 Reason value.
func reasonHeader(c call.Cause) string {
	text := strings.ReplaceAll(c.Reason, `"`, "'")
	return "SIP;cause=" + strconv.Itoa(c.Code) + `;text="` + text + `"`
}

// cleanup frees the leg's resources once: socket, dialog, trunk channel;
// Done closes then, with the cause recorded by endWith (the caller records
// it first).
func (l *legBase) cleanup() {
	l.cleanOnce.Do(func() {
		l.endWith(call.Normal) // only if no end recorded its cause
		l.stopTimer()
		_ = l.sock.Close()
		l.mu.Lock()
		key := l.dlg.key()
		l.mu.Unlock()
		l.s.removeDialog(key)
		l.s.untrackLeg(l.self)
		l.tcp.release()
		l.trunk.ReleaseChannel()
		close(l.done) // last: Done means cleaned up (ports, dialog, channel)
	})
}
