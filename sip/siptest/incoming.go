package siptest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/emiago/sipgo/sip"
	"github.com/icholy/digest"
)

// AnswerOptions configure the answer (or early media) of an incoming call.
type AnswerOptions struct {
	// ToneHz is the frequency of the tone sent; 0 sends silence.
	ToneHz float64
	// Codecs the UA accepts ("PCMU", "PCMA", "opus"; case-insensitive): the
	// first codec of the offer that is in this list is chosen. Default PCMU,
	// PCMA. When the INVITE has no SDP, they are offered in the 200 in this
	// order. telephone-event is accepted (and offered) at the clock of each
	// codec unless NoTelephoneEvent.
	Codecs []string
	// NoTelephoneEvent refuses telephone-event (RFC 4733).
	NoTelephoneEvent bool
	// SRTP is "" for plain RTP (an RTP/SAVP offer is then answered with
	// 488), or SRTPSDES to accept only RTP/SAVP offers with a usable
	// a=crypto line, answered with our own key.
	SRTP SRTPMode
	// RTPIP is the IP of the RTP socket and SDP. Default: Options.RTPIP.
	RTPIP string
	// Headers are set on the response.
	Headers map[string]string
	// Reliable makes Progress send its 183 reliably (RFC 3262: Require:
	// 100rel, RSeq), re-sent until the PRACK, which Progress waits for. The
	// INVITE must offer 100rel.
	Reliable bool
}

// Incoming is an INVITE received by the UA that starts a new call. Answer it
// with Ring/Progress (any number), then one of Answer, Reject or Challenge.
type Incoming struct {
	ua         *UA
	req        *sip.Request
	tx         sip.ServerTransaction
	toTag      string
	cancelled  chan struct{}
	cancelOnce sync.Once
	final      chan struct{}
	finalOnce  sync.Once

	mu        sync.Mutex
	cancel    *sip.Request // the caller's CANCEL, once it came
	finalSent bool
	call      *Call // made by Progress or Answer
	early     bool  // the call's local SDP already answered the offer (183)
	forks     []*Incoming
	rseq      uint32                   // the last RSeq sent (prack.go)
	prackWait map[uint32]chan struct{} // reliable 18x waiting for PRACK, by RSeq
	pracks    []*sip.Request           // PRACKs that matched
}

// Fork makes another early dialog for the same INVITE, as a forking proxy
// in front of several phones would: its responses (Ring, Progress, Answer,
// Reject) carry their own To tag, and its call its own media. The INVITE's
// transaction stays open until in and every fork have sent a final
// response (or the caller cancels). Call Fork before in's final response.
func (in *Incoming) Fork() *Incoming {
	f := &Incoming{
		ua:        in.ua,
		req:       in.req,
		tx:        in.tx,
		toTag:     newTag(),
		cancelled: in.cancelled,
		final:     make(chan struct{}),
	}
	f.cancelOnce.Do(func() {}) // the original owns the cancelled channel
	in.mu.Lock()
	in.forks = append(in.forks, f)
	in.mu.Unlock()
	return f
}

// handleInvite runs in sipgo's handler goroutine for a new INVITE. It must
// not return before the final response: returning ends the transaction.
func (u *UA) handleInvite(req *sip.Request, tx sip.ServerTransaction) {
	in := &Incoming{
		ua:        u,
		req:       req,
		tx:        tx,
		toTag:     newTag(),
		cancelled: make(chan struct{}),
		final:     make(chan struct{}),
	}
	// sipgo answers a CANCEL itself (200, then 487 to the INVITE); this
	// only records it. The callback runs under the transaction's lock:
	// it must not call back into the transaction.
	if !tx.OnCancel(func(cancel *sip.Request) {
		in.mu.Lock()
		in.cancel = cancel
		in.mu.Unlock()
		in.cancelOnce.Do(func() { close(in.cancelled) })
	}) {
		return // already cancelled or terminated
	}
	if !u.deliver(in) {
		u.respond(req, tx, 503, "Service Unavailable")
		return
	}
	select {
	case <-in.final:
		in.mu.Lock()
		forks := append([]*Incoming(nil), in.forks...)
		in.mu.Unlock()
		for _, f := range forks {
			select {
			case <-f.final:
			case <-in.cancelled:
			case <-tx.Done():
			case <-u.done:
			}
		}
		return
	case <-in.cancelled:
	case <-tx.Done():
	case <-u.done:
	}
	// Not answered: drop the early media, if any (forks' too).
	in.mu.Lock()
	all := append([]*Incoming{in}, in.forks...)
	in.mu.Unlock()
	for _, x := range all {
		x.mu.Lock()
		c := x.call
		x.mu.Unlock()
		if c != nil {
			c.end(nil)
		}
	}
}

// EarlyCall returns the call of the early dialog Progress made (nil
// before it): the UA may send UPDATE on it before its final response
// (Call.UpdateOffer, RFC 3311).
func (in *Incoming) EarlyCall() *Call {
	in.mu.Lock()
	defer in.mu.Unlock()
	return in.call
}

// Request returns the INVITE as received (read-only): useful to check what
// the switch sent (headers, topology hiding, SDP).
func (in *Incoming) Request() *sip.Request { return in.req }

// Cancelled is closed when the caller cancelled the INVITE (sipgo has then
// answered 487 already).
func (in *Incoming) Cancelled() <-chan struct{} { return in.cancelled }

// CancelRequest returns the caller's CANCEL as received (read-only; nil
// before Cancelled is closed), e.g. to read its Reason headers.
func (in *Incoming) CancelRequest() *sip.Request {
	in.mu.Lock()
	defer in.mu.Unlock()
	return in.cancel
}

// Ring sends 180 Ringing, or with withSDP a 183 Session Progress with an SDP
// answer that starts early media (silence; see Progress for a tone).
func (in *Incoming) Ring(withSDP bool) error {
	if withSDP {
		return in.Progress(AnswerOptions{})
	}
	return in.provisional(180, "Ringing", nil, nil)
}

// Progress sends 183 Session Progress with an SDP answer to the INVITE's
// offer and starts early media with o's tone. The INVITE must have SDP.
func (in *Incoming) Progress(o AnswerOptions) error {
	if len(in.req.Body()) == 0 {
		return errors.New("siptest: early media needs an offer in the INVITE")
	}
	in.mu.Lock()
	if in.finalSent {
		in.mu.Unlock()
		return errors.New("siptest: final response already sent")
	}
	c, err := in.callLocked(o)
	if err != nil {
		in.mu.Unlock()
		return err
	}
	var answer []byte
	if in.early {
		answer = []byte(c.LocalSDP())
	} else if answer, err = c.answerOffer(in.req.Body()); err != nil {
		in.mu.Unlock()
		return err
	}
	in.early = true
	in.mu.Unlock()
	if o.Reliable {
		return in.reliable(183, "Session Progress", answer, o.Headers)
	}
	return in.provisional(183, "Session Progress", answer, o.Headers)
}

func (in *Incoming) provisional(code int, reason string, body []byte, headers map[string]string) error {
	select {
	case <-in.cancelled:
		return ErrCancelled
	default:
	}
	in.mu.Lock()
	defer in.mu.Unlock()
	if in.finalSent {
		return errors.New("siptest: final response already sent")
	}
	if err := in.tx.Respond(in.response(code, reason, body, headers)); err != nil {
		return fmt.Errorf("siptest: %d: %w", code, err)
	}
	return nil
}

// Answer sends 200 OK and waits for the ACK (re-sending the 200 over UDP).
// With an offer in the INVITE the 200 carries the answer; without, the 200
// carries the UA's offer and the answer is read from the ACK. Media starts
// with o's tone (o.Codecs and o.RTPIP are ignored after Progress).
func (in *Incoming) Answer(o AnswerOptions) (*Call, error) {
	select {
	case <-in.cancelled:
		return nil, ErrCancelled
	default:
	}
	in.mu.Lock()
	if in.finalSent {
		in.mu.Unlock()
		return nil, errors.New("siptest: final response already sent")
	}
	c, err := in.callLocked(o)
	if err != nil {
		in.mu.Unlock()
		return nil, err
	}
	c.media.setTone(o.ToneHz)
	offer := in.req.Body()
	var body []byte
	switch {
	case len(offer) == 0:
		c.mu.Lock()
		body = c.localSDPLocked(c.offer, SendRecv, true)
		c.mu.Unlock()
	case in.early:
		body = []byte(c.LocalSDP()) // the same answer as in the 183
	default:
		if body, err = c.answerOffer(offer); err != nil {
			in.mu.Unlock()
			in.Reject(488, "Not Acceptable Here")
			return nil, err
		}
	}
	res := in.response(200, "OK", body, o.Headers)
	seq := in.req.CSeq().SeqNo
	ack := make(chan *sip.Request, 1)
	c.mu.Lock()
	c.status, c.response = 200, res
	c.ackWait[seq] = ack
	c.mu.Unlock()
	in.finalSent = true
	in.mu.Unlock()

	if err := in.tx.Respond(res); err != nil {
		c.end(nil)
		select {
		case <-in.cancelled:
			return nil, ErrCancelled
		default:
		}
		return nil, fmt.Errorf("siptest: 200: %w", err)
	}
	in.finalOnce.Do(func() { close(in.final) })

	ackReq, err := c.waitAck(in.tx, res, ack)
	switch {
	case errors.Is(err, ErrEnded):
		return c, nil // BYE came before the ACK
	case err != nil:
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		c.Hangup(ctx)
		return c, err
	}
	if len(offer) == 0 {
		if err := c.applyAnswer(ackReq.Body()); err != nil {
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			c.Hangup(ctx)
			return c, fmt.Errorf("siptest: answer in ACK: %w", err)
		}
	}
	c.log.Debug("call answered", "codec", c.Codec())
	return c, nil
}

// Reject sends a final non-2xx response (e.g. 486 Busy Here).
func (in *Incoming) Reject(code int, reason string) error {
	return in.reject(code, reason, nil)
}

// RejectWith is Reject with headers set on the response (e.g. "Reason":
// `Q.850;cause=17;text="User busy"`).
func (in *Incoming) RejectWith(code int, reason string, headers map[string]string) error {
	return in.reject(code, reason, headers)
}

// Redirect refuses the INVITE with a 3xx (e.g. 302 Moved Temporarily)
// naming contact ("sip:user@host:port") as where to call instead.
func (in *Incoming) Redirect(code int, contact string) error {
	if code < 300 || code > 399 {
		return fmt.Errorf("siptest: redirect with %d", code)
	}
	reason := map[int]string{300: "Multiple Choices", 301: "Moved Permanently", 302: "Moved Temporarily", 305: "Use Proxy", 380: "Alternative Service"}[code]
	if reason == "" {
		reason = "Redirection"
	}
	return in.reject(code, reason, map[string]string{"Contact": "<" + contact + ">"})
}

// Challenge rejects the INVITE with a digest challenge: 401 with
// WWW-Authenticate, or 407 with Proxy-Authenticate (MD5, qop=auth). The
// caller's next INVITE arrives as a new Incoming; check it with Authorized.
func (in *Incoming) Challenge(code int, realm string) error {
	name := "WWW-Authenticate"
	switch code {
	case 401:
	case 407:
		name = "Proxy-Authenticate"
	default:
		return fmt.Errorf("siptest: challenge with %d (401, 407)", code)
	}
	var b [16]byte
	rand.Read(b[:])
	nonce := hex.EncodeToString(b[:])
	in.ua.mu.Lock()
	in.ua.nonces[nonce] = true
	in.ua.mu.Unlock()
	chal := digest.Challenge{Realm: realm, Nonce: nonce, Algorithm: "MD5", QOP: []string{"auth"}}
	reason := "Unauthorized"
	if code == 407 {
		reason = "Proxy Authentication Required"
	}
	return in.reject(code, reason, map[string]string{name: chal.String()})
}

// Authorized reports whether the INVITE carries digest credentials
// (Authorization or Proxy-Authorization) for username and password that
// answer a challenge this UA issued.
func (in *Incoming) Authorized(username, password string) bool {
	for _, name := range []string{"Authorization", "Proxy-Authorization"} {
		h := in.req.GetHeader(name)
		if h == nil {
			continue
		}
		cred, err := digest.ParseCredentials(h.Value())
		if err != nil || cred.Username != username {
			return false
		}
		in.ua.mu.Lock()
		known := in.ua.nonces[cred.Nonce]
		in.ua.mu.Unlock()
		if !known {
			return false
		}
		chal := &digest.Challenge{Realm: cred.Realm, Nonce: cred.Nonce, Algorithm: cred.Algorithm, Opaque: cred.Opaque}
		if cred.QOP != "" {
			chal.QOP = []string{cred.QOP}
		}
		want, err := digest.Digest(chal, digest.Options{
			Method:   in.req.Method.String(),
			URI:      cred.URI,
			Username: username,
			Password: password,
			Cnonce:   cred.Cnonce,
			Count:    cred.Nc,
		})
		return err == nil && want.Response == cred.Response
	}
	return false
}

func (in *Incoming) reject(code int, reason string, headers map[string]string) error {
	if code < 300 || code > 699 {
		return fmt.Errorf("siptest: reject with %d", code)
	}
	select {
	case <-in.cancelled:
		return ErrCancelled
	default:
	}
	in.mu.Lock()
	if in.finalSent {
		in.mu.Unlock()
		return errors.New("siptest: final response already sent")
	}
	in.finalSent = true
	c := in.call
	in.mu.Unlock()
	if c != nil {
		c.mu.Lock()
		c.status = code
		c.mu.Unlock()
		c.end(nil)
	}
	err := in.tx.Respond(in.response(code, reason, nil, headers))
	in.finalOnce.Do(func() { close(in.final) })
	if err != nil {
		return fmt.Errorf("siptest: %d: %w", code, err)
	}
	return nil
}

// response builds a response to the INVITE with the dialog's To tag (the
// same for every response) and, for 1xx/2xx, a Contact.
func (in *Incoming) response(code int, reason string, body []byte, headers map[string]string) *sip.Response {
	res := sip.NewResponseFromRequest(in.req, code, reason, nil)
	res.To().Params.Add("tag", in.toTag)
	if code > 100 && code < 300 {
		res.AppendHeader(sip.HeaderClone(&in.ua.contact))
	}
	for k, v := range headers {
		setHeader(res, k, v)
	}
	if body != nil {
		setBody(res, body)
	}
	return res
}

// callLocked returns the call for this INVITE, making it (and its RTP
// socket) on first use. in.mu must be held.
func (in *Incoming) callLocked(o AnswerOptions) (*Call, error) {
	if in.call != nil {
		return in.call, nil
	}
	offer, err := offerFormats(o.Codecs, []string{"PCMU", "PCMA"}, o.NoTelephoneEvent)
	if err != nil {
		return nil, err
	}
	localCrypto, err := newLocalCrypto(o.SRTP)
	if err != nil {
		return nil, err
	}
	ip := o.RTPIP
	if ip == "" {
		ip = in.ua.opts.RTPIP
	}
	m, err := newMedia(ip, o.ToneHz, o.SRTP != SRTPNone, in.ua.log)
	if err != nil {
		return nil, err
	}
	req := in.req
	c := newCall(in.ua, false, m, req.CallID().Value(), in.toTag)
	c.mu.Lock()
	c.localURI = *req.To().Address.Clone()
	c.remoteURI = *req.From().Address.Clone()
	c.remoteTag = tagOf(req.From().Params)
	if ct := req.Contact(); ct != nil {
		c.remoteTarget = *ct.Address.Clone()
	} else {
		c.remoteTarget = *req.From().Address.Clone()
	}
	// The route set is the Record-Route of the INVITE, in order (12.1.1).
	for _, h := range req.GetHeaders("Record-Route") {
		if uri, ok := routeURI(h); ok {
			c.routeSet = append(c.routeSet, uri)
		}
	}
	c.remoteSeq = req.CSeq().SeqNo
	c.localSeq = randomCSeq()
	c.offer, c.codec = offer, offer[0]
	c.srtpMode, c.localCrypto = o.SRTP, localCrypto
	c.invite = req
	c.mu.Unlock()
	in.ua.register(c)
	in.call = c
	return c, nil
}
