package sip

import (
	"context"
	"errors"
	"log/slog"
	"net/netip"
	"strings"

	"github.com/emiago/sipgo/sip"

	"github.com/switchboard-voice/switchboard/call"
	"github.com/switchboard-voice/switchboard/media"
)

// onInvite handles every INVITE: in-dialog ones go to their leg (re-INVITE),
// initial ones pass the edge checks in the order a carrier expects, then run
// through the Handler.
func (s *Server) onInvite(req *sip.Request, tx sip.ServerTransaction) {
	if err := validateRequest(req); err != nil {
		s.log.Warn("bad request", "error", err, "source", req.Source())
		s.respond(tx, req, 400, "Bad Request - "+err.Error())
		return
	}
	if tag, _ := req.To().Params.Get("tag"); tag != "" {
		if o := s.findDialog(req); o != nil {
			o.onRequest(req, tx)
			return
		}
		s.respond(tx, req, 481, "Call/Transaction Does Not Exist")
		return
	}
	// 100 Trying at once: it stops the caller's retransmissions while we work.
	if err := tx.Respond(sip.NewResponseFromRequest(req, 100, "Trying", nil)); err != nil {
		s.log.Debug("100 Trying", "error", err)
	}
	log := s.log.With("call_id", req.CallID().Value(), "source", req.Source())
	// A call attempt is an initial INVITE not answered with a digest
	// challenge: the challenged INVITE and its authenticated repeat are one
	// attempt (challenges are counted apart, in challenge). The rejections
	// before the trunk is known count it as they return; a call counts it
	// once its trunk is known.
	counted := false
	attempt := func() {
		if !counted && s.metrics != nil {
			s.metrics.attempt()
		}
		counted = true
	}
	defer attempt()

	if s.draining.Load() {
		s.reject(tx, req, log, 503, "Service Unavailable", "draining", s.retryAfter())
		return
	}
	if bad := unsupportedExtensions(req); len(bad) > 0 {
		// RFC 3261 §8.2.2.3: 420 listing only what we do not support.
		list := strings.Join(bad, ", ")
		s.reject(tx, req, log, 420, "Bad Extension", "Require: "+list, sip.NewHeader("Unsupported", list))
		return
	}
	maxFwd := 70
	if mf := req.MaxForwards(); mf != nil {
		maxFwd = int(mf.Val())
	}
	if maxFwd <= 0 {
		s.reject(tx, req, log, 483, "Too Many Hops", "Max-Forwards reached zero")
		return
	}
	src, ok := sourceAddr(req)
	if !ok {
		s.reject(tx, req, log, 400, "Bad Request", "unparseable source address")
		return
	}
	trunk, code, reason := s.identify(req, tx, src, log)
	if trunk == nil && code == 0 {
		counted = true // challenged: not a call attempt
		return
	}
	attempt()
	if trunk == nil {
		s.reject(tx, req, log, code, reason, reason)
		return
	}
	log = log.With("trunk", trunk.Name())
	if trunk.behindNAT() {
		tx = symmetric(tx, req) // responses to the caller's source (nat.go)
	}
	to := req.Recipient.User
	if to == "" {
		to = req.To().Address.User
	}
	if r := trunk.CheckNumber(to); r != nil {
		s.reject(tx, req, log, r.Code, r.Status, r.Why)
		return
	}
	if h, small := intervalTooSmall(req, trunk); small {
		s.reject(tx, req, log, 422, "Session Interval Too Small", "Session-Expires below Min-SE "+h.Value(), h)
		return
	}
	if !trunk.AllowCall() {
		s.reject(tx, req, log, 503, "Service Unavailable", "trunk max_cps exceeded", s.retryAfter())
		return
	}
	// The node-wide budget is charged only now: a source that is not one of
	// the trunks' (screened out before any transaction) or fails digest
	// never reaches it, and a trunk over its own budget does not spend it.
	if !s.cps.Allow() {
		s.reject(tx, req, log, 503, "Service Unavailable", "node max_cps exceeded", s.retryAfter())
		return
	}
	if !trunk.AcquireChannel() {
		s.reject(tx, req, log, 503, "Service Unavailable", "trunk max_channels reached", s.retryAfter())
		return
	}
	released := false
	release := func() {
		if !released {
			released = true
			trunk.ReleaseChannel()
		}
	}
	defer release()

	var offer *RemoteMedia
	var srtp srtpState // for the offer; decided here, once
	if len(req.Body()) > 0 {
		if ct := req.ContentType(); ct != nil && !strings.EqualFold(strings.TrimSpace(strings.Split(ct.Value(), ";")[0]), "application/sdp") {
			s.reject(tx, req, log, 415, "Unsupported Media Type", "body is "+ct.Value(), sip.NewHeader("Accept", "application/sdp"))
			return
		}
		rm, err := ParseSDP(req.Body())
		if err != nil {
			s.reject(tx, req, log, 400, "Bad Request - "+err.Error(), err.Error())
			return
		}
		filtered := rm.Desc.Filter(trunk.Config.Codecs, trunk.Config.DTMF != dtmfInfo)
		if len(filtered.Audio()) == 0 {
			s.reject(tx, req, log, 488, "Not Acceptable Here", "no codec in common with trunk")
			return
		}
		if srtp, err = answerSecurity(trunk.Config.SRTP, rm); err != nil {
			s.reject(tx, req, log, 488, "Not Acceptable Here - "+err.Error(), err.Error())
			return
		}
		rm.Desc = filtered
		offer = &rm
	}

	sock, err := s.ports.Open()
	if err != nil {
		s.reject(tx, req, log, 503, "Service Unavailable", "no RTP ports: "+err.Error(), s.retryAfter())
		return
	}
	leg := newInboundLeg(s, req, tx, trunk, sock, offer, srtp, maxFwd, log)
	released = true // the leg releases the channel when it ends
	s.calls.Add(1)
	defer s.calls.Done()
	if s.metrics != nil {
		s.metrics.callStarted()
		defer s.metrics.callEnded()
	}
	// The handler returns when the call is over; a leg it left up (a bug, or
	// a panic on its way to safe's recover) is ended properly: a final
	// response or a BYE, never silence, and its ports and channel freed.
	// The call runs under the server's context (its values, not its
	// cancellation: a call is drained, not cut, when the server stops).
	ctx := context.WithoutCancel(s.runContext())
	defer leg.terminate(ctx, call.ServerError, true)
	s.handler.HandleCall(ctx, leg)
}

// identify finds the trunk an INVITE comes from. Trunks whose allow list
// holds the source address are tried first; trunks with digest credentials
// and no allow list accept any source that authenticates. It returns a nil
// trunk and the rejection to send (code 0: already answered, a challenge).
func (s *Server) identify(req *sip.Request, tx sip.ServerTransaction, src netip.Addr, log *slog.Logger) (*Trunk, int, string) {
	var byIP, byAuth []*Trunk
	for _, t := range s.trunks {
		in := t.Config.Inbound
		if in == nil {
			continue
		}
		switch {
		case len(in.Allow) > 0 && t.Allows(src):
			byIP = append(byIP, t)
		case len(in.Allow) == 0 && in.Auth != nil:
			byAuth = append(byAuth, t)
		}
	}
	candidates := byIP
	if len(candidates) == 0 {
		candidates = byAuth
	}
	if len(candidates) == 0 {
		return nil, 403, "Forbidden"
	}
	// Without credentials required, the first trunk by address wins.
	for _, t := range candidates {
		if t.Config.Inbound.Auth == nil {
			return t, 0, ""
		}
	}
	// Every candidate wants digest: match by the username in the credentials.
	hdrName := "Authorization"
	hdr := req.GetHeader(hdrName)
	if hdr == nil {
		hdrName = "Proxy-Authorization"
		hdr = req.GetHeader(hdrName)
	}
	if hdr == nil {
		s.challenge(tx, req, candidates[0], false)
		return nil, 0, ""
	}
	var lastErr error
	for _, t := range candidates {
		a := t.Config.Inbound.Auth
		err := s.auth.Verify(hdr.Value(), string(req.Method), s.realm(t), a.Username, a.Password)
		if err == nil {
			return t, 0, ""
		}
		if errors.Is(err, ErrStaleNonce) {
			s.challenge(tx, req, t, true)
			return nil, 0, ""
		}
		lastErr = err
	}
	log.Warn("authentication failed", "error", lastErr)
	return nil, 403, "Forbidden"
}

func (s *Server) realm(t *Trunk) string {
	if a := t.Config.Inbound.Auth; a != nil && a.Realm != "" {
		return a.Realm
	}
	if s.cfg.Node.Name != "" {
		return s.cfg.Node.Name
	}
	return "switchboard"
}

// challenge answers with the trunk's digest challenge: 401 with
// WWW-Authenticate by default, or 407 with Proxy-Authenticate.
func (s *Server) challenge(tx sip.ServerTransaction, req *sip.Request, t *Trunk, stale bool) {
	value := s.auth.Challenge(s.realm(t), stale)
	code, reason, header := 401, "Unauthorized", "WWW-Authenticate"
	if t.Config.Inbound.Auth.Challenge == 407 {
		code, reason, header = 407, "Proxy Authentication Required", "Proxy-Authenticate"
	}
	s.respond(tx, req, code, reason, sip.NewHeader(header, value))
	if s.metrics != nil {
		s.metrics.challenged(code)
	}
}

// description returns a copy of the offer's description, or nil (late offer).
func (rm *RemoteMedia) description() *media.Description {
	if rm == nil {
		return nil
	}
	d := rm.Desc.Clone()
	return &d
}
