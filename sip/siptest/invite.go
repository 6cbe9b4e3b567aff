package siptest

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/emiago/sipgo"
	"github.com/emiago/sipgo/sip"
)

// InviteOptions configure an outgoing call.
type InviteOptions struct {
	// From is the user part of the From header (the host is the UA's), or a
	// whole URI ("sip:+4420...@carrier.example"). Default: the UA's User.
	From string
	// FromName is the display name in From (e.g. "Alice"). Default none.
	FromName string
	// Codecs are offered in this order: "PCMU", "PCMA", "opus"
	// (case-insensitive; opus as 111 opus/48000/2). Default PCMU.
	// telephone-event is offered at the clock of each codec (101 at 8000,
	// 110 at 48000) unless NoTelephoneEvent.
	Codecs []string
	// NoTelephoneEvent leaves telephone-event (RFC 4733) out of the offer.
	NoTelephoneEvent bool
	// SRTP selects plain RTP ("") or SDES-SRTP (SRTPSDES: RTP/SAVP with
	// an a=crypto line; the answer must accept it).
	SRTP SRTPMode
	// Video adds an m=video line (VP8/90000, a=sendrecv) after the audio
	// line of the UA's offers, as a video phone sends; the UA never sends
	// or reads video. The answer's lines are in RemoteSDP.
	Video bool
	// NoSDP sends the INVITE without SDP (late offer): the far side offers in
	// its 200 and the UA answers in the ACK.
	NoSDP bool
	// Username and Password answer a 401/407 digest challenge (once, or twice
	// on a stale nonce). Username defaults to From.
	Username, Password string
	// Headers are set on the INVITE, replacing headers of the same name
	// (e.g. "Max-Forwards": "10", "P-Asserted-Identity": "<sip:+44...@x>").
	// Do not set the dialog's own headers (From, To, Call-ID, CSeq, Via,
	// Contact) this way.
	Headers map[string]string
	// ToneHz is the frequency of the tone sent once media flows; 0 sends
	// silence.
	ToneHz float64
	// RTPIP is the IP of the RTP socket and SDP. Default: Options.RTPIP.
	RTPIP string
	// OnProvisional, if set, is called for each provisional response, in
	// Invite's goroutine, with the call as it is (early media already
	// started on a 183 with SDP). It must not block for long: it holds up the
	// INVITE transaction.
	OnProvisional func(c *Call, res *sip.Response)
	// Require100rel sends Require: 100rel (and Supported: 100rel), as some
	// carriers do; Supported100rel sends only Supported: 100rel. Either
	// way each reliable 18x is PRACKed (Call.Reliable lists them), and its
	// retransmissions are discarded.
	Require100rel, Supported100rel bool
	// IgnoreReliable leaves the first N copies of each reliable 18x without
	// PRACK, as though the PRACK had been lost: the far side must re-send.
	IgnoreReliable int
}

// Invite calls target ("sip:user@host:port", or "user@host:port",
// "host:port") and returns after the final response.
//
// On 2xx the call is established: ACK sent and media flowing. On a non-2xx
// final response the call is returned with Status set and a nil error; a
// 401/407 is answered with digest credentials when o.Password is set. If ctx
// is done before the final response, Invite sends CANCEL (after a
// provisional response, RFC 3261 9.1), waits for the final response
// (normally 487) and returns it the same way. The error is non-nil only for
// transport failures and time-outs.
func (u *UA) Invite(ctx context.Context, target string, o InviteOptions) (*Call, error) {
	select {
	case <-u.done:
		return nil, ErrClosed
	default:
	}
	uri, err := parseTarget(target)
	if err != nil {
		return nil, err
	}
	offer, err := offerFormats(o.Codecs, []string{"PCMU"}, o.NoTelephoneEvent)
	if err != nil {
		return nil, err
	}
	localCrypto, err := newLocalCrypto(o.SRTP)
	if err != nil {
		return nil, err
	}
	ip := o.RTPIP
	if ip == "" {
		ip = u.opts.RTPIP
	}
	m, err := newMedia(ip, o.ToneHz, o.SRTP != SRTPNone, u.log)
	if err != nil {
		return nil, err
	}
	user := o.From
	if user == "" {
		user = u.opts.User
	}

	localURI := sip.Uri{Scheme: "sip", User: user, Host: u.host}
	if strings.ContainsAny(user, "@:") {
		if localURI, err = parseTarget(user); err != nil {
			m.close()
			return nil, err
		}
		user = localURI.User
	}

	c := newCall(u, true, m, newCallID(), newTag())
	c.mu.Lock()
	c.localURI = localURI
	c.localName = o.FromName
	c.remoteURI = sip.Uri{Scheme: uri.Scheme, User: uri.User, Host: uri.Host, Port: uri.Port}
	c.remoteTarget = uri
	c.offer, c.codec = offer, offer[0]
	c.srtpMode, c.localCrypto = o.SRTP, localCrypto
	c.video = o.Video
	c.localSeq = 1
	req := c.newRequestLocked(sip.INVITE, c.localSeq)
	req.AppendHeader(sip.HeaderClone(&u.contact))
	if o.Require100rel {
		req.AppendHeader(sip.NewHeader("Require", "100rel"))
	}
	if o.Require100rel || o.Supported100rel {
		req.AppendHeader(sip.NewHeader("Supported", "100rel"))
	}
	for k, v := range o.Headers {
		setHeader(req, k, v)
	}
	if !o.NoSDP {
		setBody(req, c.localSDPLocked(offer, SendRecv, true))
	}
	c.invite = req
	c.mu.Unlock()
	u.register(c)

	tx, err := u.cli.TransactionRequest(ctx, req)
	if err != nil {
		c.end(nil)
		return c, fmt.Errorf("siptest: INVITE: %w", err)
	}
	got1xx, authTries := false, 0
	for {
		select {
		case res := <-tx.Responses():
			if res.IsProvisional() {
				got1xx = true
				c.onProvisional(res, o)
				continue
			}
			if o.Password != "" && authTries < 2 && isChallenge(res) {
				authTries++
				// A fresh copy: the old transaction may still read the
				// old request (ACK of a retransmitted 401).
				req = req.Clone()
				username := o.Username
				if username == "" {
					username = user
				}
				ntx, err := u.cli.TransactionDigestAuth(ctx, req, res, sipgo.DigestAuth{Username: username, Password: o.Password})
				if err != nil {
					c.end(nil)
					return c, fmt.Errorf("siptest: INVITE with credentials: %w", err)
				}
				c.mu.Lock()
				c.invite = req
				c.localSeq = req.CSeq().SeqNo
				c.mu.Unlock()
				tx, got1xx = ntx, false
				continue
			}
			return c.onFinal(tx, res, !o.NoSDP)
		case <-tx.Done():
			c.end(nil)
			return c, fmt.Errorf("siptest: INVITE: %w", errors.Join(errors.New("transaction ended"), tx.Err()))
		case <-ctx.Done():
			return c.cancelInvite(tx, req, got1xx, !o.NoSDP, o, context.Cause(ctx))
		}
	}
}

func isChallenge(res *sip.Response) bool {
	switch res.StatusCode {
	case 401:
		return res.GetHeader("WWW-Authenticate") != nil
	case 407:
		return res.GetHeader("Proxy-Authenticate") != nil
	}
	return false
}

func (c *Call) onProvisional(res *sip.Response, o InviteOptions) {
	if c.onReliable(res, o) {
		return // a copy of a reliable 18x already seen
	}
	body := res.Body()
	c.mu.Lock()
	c.provisionals = append(c.provisionals, res.StatusCode)
	if tag := tagOf(res.To().Params); tag != "" && c.earlyTag == "" {
		c.earlyTag = tag
		if ct := res.Contact(); ct != nil {
			c.earlyTarget = ct.Address.Clone()
		}
	}
	early := len(body) > 0 && c.earlySDP == ""
	if early {
		c.earlySDP = string(body)
	}
	c.mu.Unlock()
	// Early media: the SDP in a 18x answers our offer.
	if early && !o.NoSDP {
		if err := c.applyAnswer(body); err != nil {
			c.log.Debug("early SDP ignored", "error", err)
		}
	}
	if o.OnProvisional != nil {
		o.OnProvisional(c, res)
	}
}

// onFinal handles the final response to the INVITE on tx.
func (c *Call) onFinal(tx sip.ClientTransaction, res *sip.Response, offered bool) (*Call, error) {
	c.mu.Lock()
	c.status, c.response = res.StatusCode, res
	c.mu.Unlock()
	if !res.IsSuccess() {
		c.end(nil)
		return c, nil
	}

	c.mu.Lock()
	c.remoteTag = tagOf(res.To().Params)
	if ct := res.Contact(); ct != nil {
		c.remoteTarget = *ct.Address.Clone()
	}
	// The route set is the Record-Route of the 2xx, reversed (12.1.2).
	rr := res.GetHeaders("Record-Route")
	c.routeSet = c.routeSet[:0]
	for i := len(rr) - 1; i >= 0; i-- {
		if uri, ok := routeURI(rr[i]); ok {
			c.routeSet = append(c.routeSet, uri)
		}
	}
	seq := c.invite.CSeq().SeqNo // PRACKs may have taken later CSeqs
	c.mu.Unlock()

	var ackBody []byte
	var sdpErr error
	if offered {
		sdpErr = c.applyAnswer(res.Body())
	} else {
		// Late offer: the 200 carries the offer, the ACK our answer.
		ackBody, sdpErr = c.answerOffer(res.Body())
	}
	if err := c.sendAck(tx, seq, ackBody); err != nil {
		c.end(nil)
		return c, err
	}
	if sdpErr != nil {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		c.Hangup(ctx)
		return c, fmt.Errorf("siptest: bad SDP in 2xx: %w", sdpErr)
	}
	c.log.Debug("call established", "status", res.StatusCode, "codec", c.Codec())
	return c, nil
}

// answerOffer takes an offer from the peer (in a 200 or INVITE), points the
// media at it and returns our answer.
func (c *Call) answerOffer(body []byte) ([]byte, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	n, err := c.negotiateLocked(body, true)
	if err != nil {
		return nil, err
	}
	dir := answerDirection(n.info.direction)
	c.commitLocked(n, body, sends(dir))
	return c.localSDPLocked(n.answerFormats(), dir, false), nil
}

// cancelInvite sends CANCEL for the INVITE on tx and waits for its final
// response.
func (c *Call) cancelInvite(tx sip.ClientTransaction, req *sip.Request, got1xx, offered bool, o InviteOptions, cause error) (*Call, error) {
	// RFC 3261 9.1: no CANCEL before a provisional response. Wait a little
	// for one (4·T1), not the full 64·T1, so that a dead peer fails fast.
	wait := time.NewTimer(4 * sip.T1)
	defer wait.Stop()
	for !got1xx {
		select {
		case res := <-tx.Responses():
			if res.IsProvisional() {
				got1xx = true
				c.onProvisional(res, o)
				continue
			}
			return c.onFinal(tx, res, offered)
		case <-tx.Done():
			c.end(nil)
			return c, fmt.Errorf("siptest: INVITE ended before CANCEL: %w", cause)
		case <-wait.C:
			tx.Terminate()
			c.end(nil)
			return c, fmt.Errorf("siptest: no provisional response, CANCEL not sent: %w", cause)
		}
	}

	cancelTx, err := c.ua.cli.TransactionRequest(context.Background(), newCancel(req), keepRequest)
	if err != nil {
		tx.Terminate()
		c.end(nil)
		return c, fmt.Errorf("siptest: CANCEL: %w", err)
	}
	go drain(cancelTx, 64*sip.T1)
	wait.Reset(64 * sip.T1)

	// Wait for the INVITE's final response, normally 487.
	for {
		select {
		case res := <-tx.Responses():
			if res.IsProvisional() {
				c.onProvisional(res, o)
				continue
			}
			call, err := c.onFinal(tx, res, offered)
			if err == nil && res.IsSuccess() {
				// Answered before the CANCEL arrived: the call is up, so
				// end it as the caller wanted.
				ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
				defer cancel()
				err = c.Hangup(ctx)
			}
			return call, err
		case <-tx.Done():
			c.end(nil)
			return c, fmt.Errorf("siptest: INVITE ended after CANCEL without final response: %w", cause)
		case <-wait.C:
			tx.Terminate()
			c.end(nil)
			return c, fmt.Errorf("siptest: no final response after CANCEL: %w", cause)
		}
	}
}

// drain reads a non-INVITE client transaction's responses until its final
// one (sipgo blocks the transaction until responses are read), then ends it.
func drain(tx sip.ClientTransaction, timeout time.Duration) {
	defer tx.Terminate()
	t := time.NewTimer(timeout)
	defer t.Stop()
	for {
		select {
		case res := <-tx.Responses():
			if !res.IsProvisional() {
				return
			}
		case <-tx.Done():
			return
		case <-t.C:
			return
		}
	}
}

// newCancel builds the CANCEL for req (RFC 3261 9.1): same Request-URI, top
// Via (branch), From, To, Call-ID, Route and CSeq number.
func newCancel(req *sip.Request) *sip.Request {
	cancel := sip.NewRequest(sip.CANCEL, *req.Recipient.Clone())
	cancel.AppendHeader(sip.HeaderClone(req.Via()))
	for _, h := range req.GetHeaders("Route") {
		cancel.AppendHeader(sip.HeaderClone(h))
	}
	mf := sip.MaxForwardsHeader(70)
	cancel.AppendHeader(&mf)
	cancel.AppendHeader(sip.HeaderClone(req.From()))
	cancel.AppendHeader(sip.HeaderClone(req.To()))
	cancel.AppendHeader(sip.HeaderClone(req.CallID()))
	cancel.AppendHeader(&sip.CSeqHeader{SeqNo: req.CSeq().SeqNo, MethodName: sip.CANCEL})
	cancel.SetTransport(req.Transport())
	cancel.SetBody(nil)
	cancel.Laddr = req.Laddr
	return cancel
}

// parseTarget accepts "sip:user@host:port;params", "user@host:port" or
// "host:port".
func parseTarget(target string) (sip.Uri, error) {
	s := strings.TrimSpace(target)
	s = strings.TrimSuffix(strings.TrimPrefix(s, "<"), ">")
	if !strings.HasPrefix(s, "sip:") && !strings.HasPrefix(s, "sips:") {
		s = "sip:" + s
	}
	var uri sip.Uri
	if err := sip.ParseUri(s, &uri); err != nil {
		return uri, fmt.Errorf("siptest: bad target %q: %w", target, err)
	}
	return uri, nil
}

// routeURI returns the URI of a Record-Route or Route header.
func routeURI(h sip.Header) (sip.Uri, bool) {
	switch r := h.(type) {
	case *sip.RecordRouteHeader:
		return *r.Address.Clone(), true
	case *sip.RouteHeader:
		return *r.Address.Clone(), true
	}
	var uri sip.Uri
	if _, err := sip.ParseAddressValue(h.Value(), &uri, nil); err != nil {
		return uri, false
	}
	return uri, true
}
