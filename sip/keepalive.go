package sip

import (
	"context"
	"fmt"
	"strconv"
	"time"

	"github.com/emiago/sipgo"
	"github.com/emiago/sipgo/sip"
	"github.com/google/uuid"
)

// startKeepalives starts, per outbound trunk, the OPTIONS keep-alive and the
// registration loop when configured. They stop with ctx.
func (s *Server) startKeepalives(ctx context.Context) {
	for _, t := range s.trunks {
		ob := t.Config.Outbound
		if ob == nil {
			continue
		}
		if ob.OptionsPing > 0 {
			s.bg.Add(1)
			go func() {
				defer s.bg.Done()
				s.pingLoop(ctx, t, ob.OptionsPing)
			}()
		}
		if ob.Register {
			s.bg.Add(1)
			go func() {
				defer s.bg.Done()
				s.registerLoop(ctx, t)
			}()
		}
	}
}

// outOfDialog builds a request to the trunk's target outside any dialog.
func (s *Server) outOfDialog(t *Trunk, method sip.RequestMethod, user string) *sip.Request {
	target := t.target
	ruri := sip.Uri{Scheme: target.Scheme, Host: target.Host, Port: target.Port}
	if target.UriParams != nil {
		ruri.UriParams = target.UriParams.Clone()
	}
	transport := "UDP"
	if tp, ok := target.UriParams.Get("transport"); ok && tp != "" {
		transport = sip.NetworkToUpper(tp)
	}
	hp := s.contacts[sip.NetworkToLower(transport)]
	req := sip.NewRequest(method, ruri)
	fromHost := hp.host
	if method == sip.REGISTER {
		fromHost = target.Host // AOR in the carrier's domain
	}
	from := &sip.FromHeader{Address: sip.Uri{Scheme: "sip", User: user, Host: fromHost}, Params: sip.NewParams()}
	from.Params.Add("tag", sip.GenerateTagN(16))
	to := &sip.ToHeader{Address: sip.Uri{Scheme: "sip", User: user, Host: target.Host}}
	if method != sip.REGISTER {
		to.Address.User = ""
	}
	req.AppendHeader(from)
	req.AppendHeader(to)
	req.SetTransport(transport)
	s.prepareOut(req)
	return req
}

// pingLoop sends OPTIONS every interval; a trunk that does not answer
// (timeout or transport error) is down until it answers again. Any response,
// even an error, proves the trunk is alive.
func (s *Server) pingLoop(ctx context.Context, t *Trunk, every time.Duration) {
	log := s.log.With("trunk", t.Name())
	for {
		req := s.outOfDialog(t, sip.OPTIONS, "")
		pctx, cancel := context.WithTimeout(ctx, min(every, timer64))
		res, err := s.client.Do(pctx, req)
		cancel()
		if ctx.Err() != nil {
			return
		}
		state := TrunkUp
		if err != nil || res == nil {
			state = TrunkDown
		}
		if t.setState(state) {
			log.Warn("trunk state changed", "state", state.String(), "error", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(every):
		}
	}
}

// registerLoop keeps the trunk's registration fresh: it re-registers at 80 %
// of the granted expiry, retries failures after 30 s, and unregisters when
// ctx ends.
func (s *Server) registerLoop(ctx context.Context, t *Trunk) {
	log := s.log.With("trunk", t.Name())
	ob := t.Config.Outbound
	user := ""
	if ob.Auth != nil {
		user = ob.Auth.Username
	}
	expires := ob.RegisterExpires
	if expires <= 0 {
		expires = time.Hour
	}
	callID := uuid.NewString()
	var seq uint32
	for {
		granted, err := s.register(ctx, t, user, callID, &seq, expires)
		wait := 30 * time.Second
		if err != nil {
			if ctx.Err() != nil {
				break
			}
			t.setRegistration(RegFailed, err.Error(), time.Time{})
			log.Warn("registration failed", "error", err)
		} else {
			t.setRegistration(RegRegistered, "", time.Now().Add(granted))
			log.Info("registered", "expires", granted)
			wait = granted * 8 / 10
		}
		select {
		case <-ctx.Done():
		case <-time.After(wait):
			continue
		}
		break
	}
	// Unregister on the way out, briefly.
	uctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	if st, _, _ := t.Registration(); st == RegRegistered {
		_, _ = s.register(uctx, t, user, callID, &seq, 0)
	}
}

// register sends one REGISTER (with digest on challenge) and returns the
// expiry the registrar granted.
func (s *Server) register(ctx context.Context, t *Trunk, user, callID string, seq *uint32, expires time.Duration) (time.Duration, error) {
	req := s.outOfDialog(t, sip.REGISTER, user)
	cid := sip.CallIDHeader(callID)
	req.AppendHeader(&cid)
	*seq++
	req.AppendHeader(&sip.CSeqHeader{SeqNo: *seq, MethodName: sip.REGISTER})
	secs := int(expires / time.Second)
	contact := s.contact(req.Transport(), user)
	req.AppendHeader(contact)
	req.AppendHeader(sip.NewHeader("Expires", strconv.Itoa(secs)))
	rctx, cancel := context.WithTimeout(ctx, timer64)
	defer cancel()
	res, err := s.client.Do(rctx, req)
	if err != nil {
		return 0, err
	}
	if (res.StatusCode == 401 || res.StatusCode == 407) && t.Config.Outbound.Auth != nil {
		a := t.Config.Outbound.Auth
		res, err = s.client.DoDigestAuth(rctx, req, res, sipgo.DigestAuth{Username: a.Username, Password: a.Password})
		if err != nil {
			return 0, err
		}
		*seq = req.CSeq().SeqNo
	}
	if res.StatusCode < 200 || res.StatusCode >= 300 {
		return 0, fmt.Errorf("registrar answered %d %s", res.StatusCode, res.Reason)
	}
	granted := expires
	if c := res.Contact(); c != nil {
		if v, ok := c.Params.Get("expires"); ok {
			if n, err := strconv.Atoi(v); err == nil && n > 0 {
				granted = time.Duration(n) * time.Second
			}
		}
	} else if h := res.GetHeader("Expires"); h != nil {
		if n, err := strconv.Atoi(h.Value()); err == nil && n > 0 {
			granted = time.Duration(n) * time.Second
		}
	}
	return granted, nil
}
