package siptest

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"sync"
	"time"

	"github.com/emiago/sipgo"
	"github.com/emiago/sipgo/sip"

	"github.com/switchboard-voice/switchboard/media/sdes"
)

// ReInvite is a re-INVITE received from the far side of a call, as answered.
type ReInvite struct {
	Request *sip.Request
	// Direction is the direction attribute of the offer ("sendrecv",
	// "sendonly", "recvonly", "inactive"); empty when the re-INVITE carried
	// no SDP (then the UA offered in its 200 and the answer came in the ACK).
	Direction string
	// AnswerDirection is what the UA answered (RFC 3264: sendonly → recvonly,
	// recvonly → sendonly, inactive → inactive, sendrecv → sendrecv).
	AnswerDirection string
}

// Call is an established (or establishing) call, on either side. It is safe
// for concurrent use; one mutex guards its dialog state.
type Call struct {
	ua        *UA
	log       *slog.Logger
	outgoing  bool
	media     *media
	ended     chan struct{}
	reinvites chan ReInvite
	endOnce   sync.Once

	// Set once at creation.
	callID   string
	localTag string

	mu           sync.Mutex
	remoteTag    string
	localURI     sip.Uri
	localName    string // display name in From (calls placed by the UA)
	remoteURI    sip.Uri
	remoteTarget sip.Uri
	routeSet     []sip.Uri
	localSeq     uint32
	remoteSeq    uint32
	invite       *sip.Request  // the initial INVITE, sent or received
	response     *sip.Response // the final response to it, sent or received
	status       int
	provisionals []int
	earlySDP     string
	localSDP     string
	remoteSDP    string
	sdpSession   uint64
	sdpVersion   uint64
	offer        []format // codecs and telephone-events we offer or accept
	codec        format   // codec in use (the peer's payload type)
	te           format   // telephone-event in use, if hasTE
	hasTE        bool
	srtpMode     SRTPMode
	localCrypto  *sdes.Crypto  // our SRTP key (nil for plain RTP)
	remoteCrypto *sdes.Crypto  // the peer's, once negotiated
	srtp         *sdes.Session // nil until SRTP is negotiated
	direction    string        // our direction in the current local SDP
	remoteDir    string        // the peer's direction in its current SDP
	byeReceived  bool
	bye          *sip.Request
	isEnded      bool
	reinviting   bool
	video        bool // offers carry an m=video line after the audio (InviteOptions.Video)
	ackWait      map[uint32]chan *sip.Request
	earlyTag     string   // To tag of the first 18x (an early dialog)
	earlyTarget  *sip.Uri // its Contact
	updates      chan *sip.Request
	refuseUpdate *refusal               // the answer to the next UPDATE (RefuseNextUpdate)
	refuseInvite *refusal               // the answer to the next re-INVITE (RefuseNextReinvite)
	refuseNotify *refusal               // the answer to the next NOTIFY (RefuseNextNotify)
	notifies     chan *sip.Request      // NOTIFYs received (Notifies)
	stall        *stall                 // holds the next re-INVITE (StallNextReinvite)
	reliable     []*ReliableProvisional // reliable 18x received (prack.go)
	holdGate     chan struct{}          // while not nil, re-INVITEs wait for it (HoldReinvites)
	holdHeld     chan *sip.Request      // the re-INVITEs held
}

func newCall(u *UA, outgoing bool, m *media, callID, localTag string) *Call {
	c := &Call{
		ua:         u,
		outgoing:   outgoing,
		media:      m,
		ended:      make(chan struct{}),
		reinvites:  make(chan ReInvite, 32),
		callID:     callID,
		localTag:   localTag,
		sdpSession: rand.Uint64N(1 << 62),
		direction:  SendRecv,
		remoteDir:  SendRecv,
		ackWait:    make(map[uint32]chan *sip.Request),
		updates:    make(chan *sip.Request, 32),
		notifies:   make(chan *sip.Request, 32),
	}
	c.log = u.log.With("call_id", callID, "leg", map[bool]string{true: "uac", false: "uas"}[outgoing])
	return c
}

// CallID returns the Call-ID of the call's dialog.
func (c *Call) CallID() string { return c.callID }

// RemoteTag returns the peer's tag in the call's dialog ("" before one).
func (c *Call) RemoteTag() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.remoteTag
}

// Status returns the final status code of the initial INVITE (0 while
// none, and for a nil Call, so that a failed Invite can be reported).
func (c *Call) Status() int {
	if c == nil {
		return 0
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.status
}

// Provisionals returns the provisional status codes received for an outgoing
// INVITE, in order of arrival. sipgo handles each message in its own
// goroutine, so a 100 may be seen after a 180, or missed after a fast final.
func (c *Call) Provisionals() []int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]int(nil), c.provisionals...)
}

// EarlySDP returns the SDP of the first provisional response that had one
// (183 early media), or "".
func (c *Call) EarlySDP() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.earlySDP
}

// Request returns the initial INVITE: as sent for an outgoing call, as
// received for an incoming one. Treat it as read-only.
func (c *Call) Request() *sip.Request {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.invite
}

// Response returns the final response to the initial INVITE: as received for
// an outgoing call, as sent for an incoming one. Treat it as read-only.
func (c *Call) Response() *sip.Response {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.response
}

// LocalSDP returns the SDP this side sent last.
func (c *Call) LocalSDP() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.localSDP
}

// RemoteSDP returns the SDP the far side sent last.
func (c *Call) RemoteSDP() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.remoteSDP
}

// Codec returns the codec in use ("PCMU", "PCMA" or "opus"), "" before
// negotiation.
func (c *Call) Codec() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.remoteSDP == "" {
		return ""
	}
	return c.codec.codec()
}

// Ended is closed when the call ends: BYE received, Hangup, or UA closed.
func (c *Call) Ended() <-chan struct{} { return c.ended }

// ByeReceived reports whether the far side ended the call with a BYE.
func (c *Call) ByeReceived() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.byeReceived
}

// Bye returns the BYE received from the far side, or nil.
func (c *Call) Bye() *sip.Request {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.bye
}

// Reinvites returns the re-INVITEs received from the far side, after the UA
// answered them (a buffer of 32; later ones are dropped when nobody reads).
func (c *Call) Reinvites() <-chan ReInvite { return c.reinvites }

// SetTone changes the frequency of the tone the call sends (0 = silence).
func (c *Call) SetTone(hz float64) { c.media.setTone(hz) }

// ReceivedTone returns the relative power of hz (0..1: power at hz over total
// power, Goertzel) in the audio received during the last DetectWindow; 0 when
// nothing was received in that time.
func (c *Call) ReceivedTone(hz float64) float64 {
	r, _ := c.media.relativePower(hz)
	return r
}

// Hears reports whether hz is present in the audio received during the last
// DetectWindow: at least 100 ms of audio was received, and
// tone.Detector.Present says yes (relative power ≥ tone.DefaultThreshold and
// not silence).
func (c *Call) Hears(hz float64) bool {
	_, ok := c.media.relativePower(hz)
	return ok
}

// WaitTone waits until the call Hears hz, or ctx is done.
func (c *Call) WaitTone(ctx context.Context, hz float64) error {
	t := time.NewTicker(20 * time.Millisecond)
	defer t.Stop()
	for !c.Hears(hz) {
		select {
		case <-ctx.Done():
			return fmt.Errorf("siptest: %v Hz not heard (relative power %.3f): %w", hz, c.ReceivedTone(hz), ctx.Err())
		case <-t.C:
		}
	}
	return nil
}

// ResetAudio forgets the audio received so far (detector window).
func (c *Call) ResetAudio() { c.media.resetAudio() }

// RTPStats returns how many RTP packets the call sent (written to the
// socket: packets an Impairment dropped are not counted, see RTPDropped) and
// received (valid RTP, after SRTP verification; RTCP is not counted).
func (c *Call) RTPStats() (sent, received int) {
	return int(c.media.sent.Load()), int(c.media.received.Load())
}

// RTPAddr returns the local RTP address (ip:port) of the call.
func (c *Call) RTPAddr() string { return c.media.conn.LocalAddr().String() }

// Hangup ends the call with a BYE and waits for its response. It returns nil
// at once when the call has already ended.
func (c *Call) Hangup(ctx context.Context) error { return c.HangupWith(ctx, nil) }

// HangupWith is Hangup with headers set on the BYE, replacing headers of
// the same name (e.g. "Reason": `Q.850;cause=16;text="Normal call clearing"`).
func (c *Call) HangupWith(ctx context.Context, headers map[string]string) error {
	c.mu.Lock()
	if c.isEnded {
		c.mu.Unlock()
		return nil
	}
	c.localSeq++
	req := c.newRequestLocked(sip.BYE, c.localSeq)
	c.mu.Unlock()
	for k, v := range headers {
		setHeader(req, k, v)
	}
	c.end(nil)

	res, err := c.ua.cli.Do(ctx, req)
	if err != nil {
		return fmt.Errorf("siptest: BYE: %w", err)
	}
	if !res.IsSuccess() {
		return &StatusError{res.StatusCode, res.Reason, res}
	}
	return nil
}

// Hold sends a re-INVITE with a=sendonly and returns the direction in the
// answer (normally "recvonly").
func (c *Call) Hold(ctx context.Context) (string, error) { return c.Reinvite(ctx, SendOnly) }

// Resume sends a re-INVITE with a=sendrecv and returns the direction in the
// answer.
func (c *Call) Resume(ctx context.Context) (string, error) { return c.Reinvite(ctx, SendRecv) }

// Reinvite sends a re-INVITE offering direction (sendrecv, sendonly,
// recvonly, inactive), ACKs the 2xx and returns the direction in the answer.
// A non-2xx answer is returned as *StatusError (491 on glare).
func (c *Call) Reinvite(ctx context.Context, direction string) (string, error) {
	if !isDirection(direction) {
		return "", fmt.Errorf("siptest: bad direction %q", direction)
	}
	c.mu.Lock()
	if c.isEnded {
		c.mu.Unlock()
		return "", ErrEnded
	}
	if c.reinviting {
		c.mu.Unlock()
		return "", errors.New("siptest: a re-INVITE is already in progress")
	}
	c.reinviting = true
	c.localSeq++
	seq := c.localSeq
	prevDir, prevSDP := c.direction, c.localSDP
	body := c.localSDPLocked(c.offer, direction, true)
	req := c.newRequestLocked(sip.INVITE, seq)
	req.AppendHeader(sip.HeaderClone(&c.ua.contact))
	setBody(req, body)
	c.mu.Unlock()
	ok := false
	defer func() {
		c.mu.Lock()
		c.reinviting = false
		if !ok { // the offer was not taken: we are where we were
			c.direction, c.localSDP = prevDir, prevSDP
		}
		c.mu.Unlock()
	}()

	tx, res, err := c.inviteFinal(ctx, req)
	if err != nil {
		return "", err
	}
	ok = true
	c.mu.Lock()
	if ct := res.Contact(); ct != nil {
		c.remoteTarget = *ct.Address.Clone() // target refresh
	}
	c.mu.Unlock()
	var answerDir string
	if len(res.Body()) > 0 {
		info, err := parseSDP(res.Body())
		if err != nil {
			c.sendAck(tx, seq, nil)
			return "", err
		}
		sending := sends(direction) && info.direction != SendOnly && info.direction != Inactive
		c.mu.Lock()
		if n, err := c.negotiateLocked(res.Body(), false); err == nil {
			c.commitLocked(n, res.Body(), sending)
		} else {
			// Keep the codec and keys in use; follow the direction.
			c.log.Debug("re-INVITE answer: media unchanged", "error", err)
			c.remoteSDP = string(res.Body())
			c.remoteDir = info.direction
			c.media.setRemoteAddr(info.addr, sending)
		}
		c.mu.Unlock()
		answerDir = info.direction
	}
	if err := c.sendAck(tx, seq, nil); err != nil {
		return answerDir, err
	}
	return answerDir, nil
}

// ReinviteNoSDP sends a re-INVITE without SDP (RFC 3264 §8.4, as carriers do
// for session refreshes): the far side offers in its 200 and the UA answers
// sendrecv in the ACK. It returns the direction the far side offered.
func (c *Call) ReinviteNoSDP(ctx context.Context) (string, error) {
	c.mu.Lock()
	if c.isEnded || c.reinviting {
		c.mu.Unlock()
		return "", errors.New("siptest: call ended or re-INVITE in progress")
	}
	c.reinviting = true
	c.localSeq++
	seq := c.localSeq
	req := c.newRequestLocked(sip.INVITE, seq)
	req.AppendHeader(sip.HeaderClone(&c.ua.contact))
	setBody(req, nil)
	c.mu.Unlock()
	defer func() {
		c.mu.Lock()
		c.reinviting = false
		c.mu.Unlock()
	}()
	tx, res, err := c.inviteFinal(ctx, req)
	if err != nil {
		return "", err
	}
	info, err := parseSDP(res.Body())
	if err != nil {
		_ = c.sendAck(tx, seq, nil)
		return "", fmt.Errorf("siptest: offer in 200: %w", err)
	}
	c.mu.Lock()
	n, err := c.negotiateLocked(res.Body(), true)
	if err != nil {
		c.mu.Unlock()
		_ = c.sendAck(tx, seq, nil)
		return info.direction, fmt.Errorf("siptest: offer in 200: %w", err)
	}
	c.commitLocked(n, res.Body(), true)
	answer := c.localSDPLocked(n.answerFormats(), SendRecv, false)
	c.mu.Unlock()
	return info.direction, c.sendAck(tx, seq, answer)
}

// UpdateNoSDP sends an UPDATE without SDP (RFC 3311, a session refresh as
// RFC 4028 carriers send it) and returns the final response: a refresh
// changes nothing, so a 2xx must carry no offer.
func (c *Call) UpdateNoSDP(ctx context.Context) (*sip.Response, error) {
	return c.Refresh(ctx, nil)
}

// inviteFinal sends a re-INVITE and waits for its final response: a 2xx is
// returned with its transaction (for the ACK), anything else as an error.
func (c *Call) inviteFinal(ctx context.Context, req *sip.Request) (sip.ClientTransaction, *sip.Response, error) {
	tx, err := c.ua.cli.TransactionRequest(ctx, req)
	if err != nil {
		return nil, nil, fmt.Errorf("siptest: re-INVITE: %w", err)
	}
	for {
		select {
		case res := <-tx.Responses():
			if res.IsProvisional() {
				continue
			}
			if !res.IsSuccess() {
				return nil, nil, &StatusError{res.StatusCode, res.Reason, res}
			}
			return tx, res, nil
		case <-tx.Done():
			return nil, nil, fmt.Errorf("siptest: re-INVITE: %w", tx.Err())
		case <-ctx.Done():
			tx.Terminate()
			return nil, nil, ctx.Err()
		}
	}
}

// handleReinvite answers a re-INVITE from the far side (in sipgo's handler
// goroutine, which must not return before the final response is sent).
func (c *Call) handleReinvite(req *sip.Request, tx sip.ServerTransaction) {
	c.mu.Lock()
	st, refuse := c.stall, c.refuseInvite
	c.stall, c.refuseInvite = nil, nil
	c.mu.Unlock()
	if st != nil {
		close(st.arrived)
		select {
		case <-st.release:
		case <-c.ended:
		case <-c.ua.done:
		}
	}
	if refuse != nil {
		res := sip.NewResponseFromRequest(req, refuse.code, refuse.reason, nil)
		for k, v := range refuse.headers {
			setHeader(res, k, v)
		}
		if err := tx.Respond(res); err != nil {
			c.log.Debug("respond", "code", refuse.code, "error", err)
		}
		return
	}
	seq := req.CSeq().SeqNo
	c.mu.Lock()
	switch {
	case c.isEnded:
		c.mu.Unlock()
		c.ua.respond(req, tx, 481, "Call/Transaction Does Not Exist")
		return
	case seq <= c.remoteSeq:
		c.mu.Unlock()
		c.ua.respond(req, tx, 500, "Server Internal Error")
		return
	case c.reinviting:
		c.remoteSeq = seq
		c.mu.Unlock()
		c.ua.respond(req, tx, 491, "Request Pending")
		return
	}
	c.remoteSeq = seq
	if ct := req.Contact(); ct != nil {
		c.remoteTarget = *ct.Address.Clone() // target refresh
	}
	if gate, held := c.holdGate, c.holdHeld; gate != nil {
		c.mu.Unlock()
		select {
		case held <- req:
		default:
		}
		select {
		case <-gate:
		case <-c.ended:
			c.ua.respond(req, tx, 487, "Request Terminated")
			return
		}
		c.mu.Lock()
		if c.isEnded {
			c.mu.Unlock()
			c.ua.respond(req, tx, 481, "Call/Transaction Does Not Exist")
			return
		}
	}

	var offered, answerDir string
	var body []byte
	if len(req.Body()) > 0 {
		n, err := c.negotiateLocked(req.Body(), true)
		if err != nil {
			c.mu.Unlock()
			c.log.Debug("re-INVITE offer refused", "error", err)
			c.ua.respond(req, tx, 488, "Not Acceptable Here")
			return
		}
		offered = n.info.direction
		answerDir = answerDirection(offered)
		c.commitLocked(n, req.Body(), sends(answerDir))
		body = c.localSDPLocked(n.answerFormats(), answerDir, false)
	} else {
		// Offer in the 200 with what we do now; the answer comes in the ACK.
		answerDir = c.direction
		body = c.localSDPLocked(c.offer, c.direction, true)
	}
	ack := make(chan *sip.Request, 1)
	c.ackWait[seq] = ack
	c.mu.Unlock()

	res := sip.NewResponseFromRequest(req, 200, "OK", nil)
	res.AppendHeader(sip.HeaderClone(&c.ua.contact))
	timerAnswer(req, res)
	setBody(res, body)
	if err := tx.Respond(res); err != nil {
		c.log.Debug("re-INVITE 200 failed", "error", err)
		return
	}
	select {
	case c.reinvites <- ReInvite{Request: req, Direction: offered, AnswerDirection: answerDir}:
	default:
		c.log.Warn("re-INVITE dropped: nobody reads Reinvites()")
	}
	ackReq, err := c.waitAck(tx, res, ack)
	if err != nil {
		c.log.Debug("re-INVITE not ACKed", "error", err)
		return
	}
	if offered == "" && len(ackReq.Body()) > 0 {
		c.applyAnswer(ackReq.Body())
	}
}

// applyAnswer takes the peer's answer to our offer.
func (c *Call) applyAnswer(body []byte) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	n, err := c.negotiateLocked(body, false)
	if err != nil {
		return err
	}
	d := n.info.direction
	c.commitLocked(n, body, sends(c.direction) && d != SendOnly && d != Inactive)
	return nil
}

// handleAck passes an ACK to whoever waits for it (by CSeq).
func (c *Call) handleAck(req *sip.Request) {
	c.mu.Lock()
	seq := req.CSeq().SeqNo
	ch := c.ackWait[seq]
	delete(c.ackWait, seq)
	c.mu.Unlock()
	if ch != nil {
		ch <- req
	}
}

// waitAck waits for the ACK of a 2xx sent on tx. Over UDP it retransmits the
// 2xx (T1, doubling to T2) as RFC 3261 13.3.1.4 asks of the UAS core; sipgo
// leaves that to the application. It gives up after 64·T1.
func (c *Call) waitAck(tx sip.ServerTransaction, res *sip.Response, ack chan *sip.Request) (*sip.Request, error) {
	deadline := time.NewTimer(64 * sip.T1)
	defer deadline.Stop()
	interval := sip.T1
	retransmit := time.NewTimer(interval)
	defer retransmit.Stop()
	for {
		select {
		case req := <-ack:
			return req, nil
		case <-c.ended:
			return nil, ErrEnded
		case <-c.ua.done:
			return nil, ErrClosed
		case <-deadline.C:
			c.mu.Lock()
			for k, ch := range c.ackWait {
				if ch == ack {
					delete(c.ackWait, k)
				}
			}
			c.mu.Unlock()
			return nil, ErrNoAck
		case <-retransmit.C:
			if c.ua.transport == "UDP" {
				if err := tx.Respond(res); err != nil {
					c.log.Debug("2xx retransmission failed", "error", err)
				}
			}
			interval = min(2*interval, sip.T2)
			retransmit.Reset(interval)
		}
	}
}

// sendAck sends the ACK for a 2xx to the INVITE with CSeq seq, and
// re-sends the same ACK whenever the 2xx is retransmitted.
func (c *Call) sendAck(tx sip.ClientTransaction, seq uint32, body []byte) error {
	c.mu.Lock()
	ack := c.newRequestLocked(sip.ACK, seq)
	c.mu.Unlock()
	if body != nil {
		setBody(ack, body)
	}
	if err := c.ua.cli.WriteRequest(ack); err != nil {
		return fmt.Errorf("siptest: ACK: %w", err)
	}
	template := ack.Clone()
	tx.OnRetransmission(func(r *sip.Response) {
		if r.IsSuccess() {
			if err := c.ua.cli.WriteRequest(template.Clone(), keepRequest); err != nil {
				c.log.Debug("ACK retransmission failed", "error", err)
			}
		}
	})
	return nil
}

// keepRequest is a sipgo client option that sends a request as built.
func keepRequest(*sipgo.Client, *sip.Request) error { return nil }

// newRequestLocked builds a request within the dialog (RFC 3261 12.2.1.1):
// Request-URI is the remote target, Route the route set; sipgo adds Via and,
// over UDP, the listening socket as local address.
func (c *Call) newRequestLocked(method sip.RequestMethod, seq uint32) *sip.Request {
	req := sip.NewRequest(method, *c.remoteTarget.Clone())
	for _, r := range c.routeSet {
		req.AppendHeader(&sip.RouteHeader{Address: *r.Clone()})
	}
	from := &sip.FromHeader{DisplayName: c.localName, Address: *c.localURI.Clone(), Params: sip.NewParams()}
	from.Params.Add("tag", c.localTag)
	to := &sip.ToHeader{Address: *c.remoteURI.Clone(), Params: sip.NewParams()}
	if c.remoteTag != "" {
		to.Params.Add("tag", c.remoteTag)
	}
	callID := sip.CallIDHeader(c.callID)
	mf := sip.MaxForwardsHeader(70)
	req.AppendHeader(from)
	req.AppendHeader(to)
	req.AppendHeader(&callID)
	req.AppendHeader(&sip.CSeqHeader{SeqNo: seq, MethodName: method})
	req.AppendHeader(&mf)
	req.SetTransport(c.ua.transport)
	req.SetBody(nil)
	return req
}

// localSDPLocked builds the next version of our SDP and records it. An
// offer carries the declined-to-send video line when the call has one.
func (c *Call) localSDPLocked(formats []format, direction string, offer bool) []byte {
	c.sdpVersion++
	b := buildSDP(c.sdpSession, c.sdpVersion, c.media.ip(), c.media.port(), formats, direction, c.localCrypto, offer && c.video)
	c.localSDP = string(b)
	c.direction = direction
	c.media.setLocalFormats(formats)
	return b
}

// end marks the call ended, stops its media and forgets its dialog. bye is
// the BYE received from the far side, if that is what ended it.
func (c *Call) end(bye *sip.Request) {
	c.endOnce.Do(func() {
		c.mu.Lock()
		c.isEnded = true
		c.byeReceived = bye != nil
		c.bye = bye
		c.mu.Unlock()
		c.media.close()
		close(c.ended)
		c.ua.unregister(c)
	})
}

func setBody(m interface {
	SetBody([]byte)
	AppendHeader(sip.Header)
	GetHeader(string) sip.Header
}, body []byte) {
	if body != nil && m.GetHeader("Content-Type") == nil {
		ct := sip.ContentTypeHeader("application/sdp")
		m.AppendHeader(&ct)
	}
	m.SetBody(body)
}
