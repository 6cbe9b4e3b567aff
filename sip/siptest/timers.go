package siptest

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/emiago/sipgo/sip"
)

// Session timers (RFC 4028) and UPDATE (RFC 3311) as a test peer needs
// them: INVITEs and answers carry timer headers through InviteOptions.Headers
// and AnswerOptions.Headers; Refresh sends a session refresh; Updates
// shows the far side's refreshes; UpdateOffer re-offers with UPDATE, in an
// early dialog too.

// Updates delivers the UPDATEs the far side sent in the call's dialog (up
// to 32 unread), as received: session refreshes among them.
func (c *Call) Updates() <-chan *sip.Request { return c.updates }

// refusal is a scripted final response to a request.
type refusal struct {
	code    int
	reason  string
	headers map[string]string
}

// RefuseNextUpdate makes the UA answer the next UPDATE in the call's dialog
// with code, reason and headers instead of 200, as a peer does that wants a
// longer session interval (422 with "Min-SE": "120", RFC 4028 §8.1). The
// UPDATE is still reported on Updates.
func (c *Call) RefuseNextUpdate(code int, reason string, headers map[string]string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.refuseUpdate = &refusal{code: code, reason: reason, headers: headers}
}

// RefuseNextReinvite makes the UA answer the next re-INVITE in the call's
// dialog with code, reason and headers (e.g. 491 Request Pending, as a peer
// in glare does, RFC 3261 §14.2). The refused re-INVITE is not reported on
// Reinvites.
func (c *Call) RefuseNextReinvite(code int, reason string, headers map[string]string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.refuseInvite = &refusal{code: code, reason: reason, headers: headers}
}

// stall holds a re-INVITE unanswered.
type stall struct {
	arrived chan struct{}
	release <-chan struct{}
}

// StallNextReinvite holds the next re-INVITE from the far side unanswered
// until release is closed (or the call or UA ends), as a slow peer does; the
// returned channel is closed when it arrives. Meanwhile the test may send a
// re-INVITE of its own on the call (glare, RFC 3261 §14).
func (c *Call) StallNextReinvite(release <-chan struct{}) <-chan struct{} {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.stall = &stall{arrived: make(chan struct{}), release: release}
	return c.stall.arrived
}

// Refresh sends an UPDATE without SDP (a session refresh, RFC 4028 §7.4)
// with headers set on it (e.g. "Session-Expires": "90;refresher=uac",
// "Supported": "timer") and returns the final response.
func (c *Call) Refresh(ctx context.Context, headers map[string]string) (*sip.Response, error) {
	c.mu.Lock()
	if c.isEnded {
		c.mu.Unlock()
		return nil, ErrEnded
	}
	c.localSeq++
	req := c.newRequestLocked(sip.UPDATE, c.localSeq)
	req.AppendHeader(sip.HeaderClone(&c.ua.contact))
	for k, v := range headers {
		setHeader(req, k, v)
	}
	setBody(req, nil)
	c.mu.Unlock()
	return c.transact(ctx, req)
}

// UpdateOffer sends an UPDATE with an SDP offer of direction (RFC 3311),
// in the confirmed dialog or, before the final response to the UA's
// INVITE, in the early dialog of the first 18x. A 2xx's answer is applied
// to the media; the final response is returned.
func (c *Call) UpdateOffer(ctx context.Context, direction string) (*sip.Response, error) {
	if !isDirection(direction) {
		return nil, fmt.Errorf("siptest: bad direction %q", direction)
	}
	c.mu.Lock()
	if c.isEnded {
		c.mu.Unlock()
		return nil, ErrEnded
	}
	if c.remoteTag == "" {
		if c.earlyTag == "" {
			c.mu.Unlock()
			return nil, errors.New("siptest: UPDATE needs a dialog (no 18x with a To tag yet)")
		}
		// Early dialog (RFC 3261 §12.1.2): To tag and target of the 18x.
		c.remoteTag = c.earlyTag
		if c.earlyTarget != nil {
			c.remoteTarget = *c.earlyTarget.Clone()
		}
		defer func() {
			c.mu.Lock()
			if c.status < 200 {
				c.remoteTag = "" // the 2xx sets it
			}
			c.mu.Unlock()
		}()
	}
	c.localSeq++
	req := c.newRequestLocked(sip.UPDATE, c.localSeq)
	req.AppendHeader(sip.HeaderClone(&c.ua.contact))
	setBody(req, c.localSDPLocked(c.offer, direction, true))
	c.mu.Unlock()
	res, err := c.transact(ctx, req)
	if err != nil || !res.IsSuccess() {
		return res, err
	}
	if len(res.Body()) == 0 {
		return res, errors.New("siptest: 2xx to an UPDATE offer has no answer")
	}
	return res, c.applyAnswer(res.Body())
}

// transact sends an in-dialog request (not INVITE) and returns its final response.
func (c *Call) transact(ctx context.Context, req *sip.Request) (*sip.Response, error) {
	tx, err := c.ua.cli.TransactionRequest(ctx, req)
	if err != nil {
		return nil, fmt.Errorf("siptest: %s: %w", req.Method, err)
	}
	defer tx.Terminate()
	for {
		select {
		case res := <-tx.Responses():
			if res.IsProvisional() {
				continue
			}
			return res, nil
		case <-tx.Done():
			return nil, fmt.Errorf("siptest: %s: %w", req.Method, tx.Err())
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
}

// timerAnswer makes a 2xx to a refresh (UPDATE or re-INVITE) carry the
// request's Session-Expires, as a UA that supports timers answers
// (RFC 4028 §9), with Require: timer when the requester refreshes.
func timerAnswer(req *sip.Request, res *sip.Response) {
	h := req.GetHeader("Session-Expires")
	if h == nil {
		return
	}
	v := h.Value()
	if !strings.Contains(strings.ToLower(v), "refresher=") {
		v += ";refresher=uac"
	}
	res.AppendHeader(sip.NewHeader("Session-Expires", v))
	if strings.Contains(strings.ToLower(v), "refresher=uac") {
		res.AppendHeader(sip.NewHeader("Require", "timer"))
	}
}

// Refer sends a REFER in the call's dialog (RFC 3515) with Refer-To set to
// referTo (none when empty: a malformed REFER) and headers set on it (e.g.
// "Referred-By", "Refer-Sub": "false"), and returns the final response.
// The NOTIFYs of the implicit subscription arrive on Notifies.
func (c *Call) Refer(ctx context.Context, referTo string, headers map[string]string) (*sip.Response, error) {
	c.mu.Lock()
	if c.isEnded {
		c.mu.Unlock()
		return nil, ErrEnded
	}
	c.localSeq++
	req := c.newRequestLocked(sip.REFER, c.localSeq)
	req.AppendHeader(sip.HeaderClone(&c.ua.contact))
	if referTo != "" {
		req.AppendHeader(sip.NewHeader("Refer-To", referTo))
	}
	for k, v := range headers {
		setHeader(req, k, v)
	}
	c.mu.Unlock()
	return c.transact(ctx, req)
}

// Notifies delivers the NOTIFYs received in the call's dialog (a REFER's
// subscription), in order of arrival; each was answered 200 unless
// RefuseNextNotify said otherwise. It holds 32; beyond that they are still
// answered but not delivered.
func (c *Call) Notifies() <-chan *sip.Request { return c.notifies }

// RefuseNextNotify makes the UA answer the call's next NOTIFY with code
// (e.g. 481 to end a subscription) instead of 200.
func (c *Call) RefuseNextNotify(code int, reason string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.refuseNotify = &refusal{code: code, reason: reason}
}

// onNotify answers a NOTIFY in a call's dialog and reports it on the
// call's Notifies; one outside any call gets 481.
func (u *UA) onNotify(req *sip.Request, tx sip.ServerTransaction) {
	c := u.lookup(req)
	if c == nil {
		u.respond(req, tx, 481, "Subscription Does Not Exist")
		return
	}
	c.mu.Lock()
	refuse := c.refuseNotify
	c.refuseNotify = nil
	c.mu.Unlock()
	select {
	case c.notifies <- req:
	default:
	}
	if refuse != nil {
		u.respond(req, tx, refuse.code, refuse.reason)
		return
	}
	u.respond(req, tx, 200, "OK")
}
