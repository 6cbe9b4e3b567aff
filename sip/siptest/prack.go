package siptest

// Reliable provisional responses (RFC 3262, 100rel/PRACK) on both sides of
// the test UA: a call placed with InviteOptions.Require100rel or
// Supported100rel PRACKs each reliable 18x (Call.Reliable lists them); an
// Incoming sends reliable 18x with AnswerOptions.Reliable (183) or
// RingReliable (180), retransmitted until the PRACK (Incoming.PRACKs).

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"strconv"
	"strings"
	"time"

	"github.com/emiago/sipgo/sip"
)

// ReliableProvisional is a reliable 18x received by a call the UA placed.
type ReliableProvisional struct {
	Code  int
	RSeq  uint32
	ToTag string
	// Copies is how many times it arrived (retransmissions included).
	Copies int
	// RAck is the RAck of the PRACK sent for it ("" while none was sent).
	RAck string
	// PRACKStatus is the final status of that PRACK (0 while none).
	PRACKStatus int
}

// Reliable returns the reliable provisional responses received so far, in
// order of arrival.
func (c *Call) Reliable() []ReliableProvisional {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := make([]ReliableProvisional, len(c.reliable))
	for i, r := range c.reliable {
		out[i] = *r
	}
	return out
}

// has100rel reports whether m names 100rel in one of the headers.
func has100rel(m interface{ GetHeaders(string) []sip.Header }, names ...string) bool {
	for _, name := range names {
		for _, h := range m.GetHeaders(name) {
			for _, t := range strings.Split(h.Value(), ",") {
				if strings.EqualFold(strings.TrimSpace(t), "100rel") {
					return true
				}
			}
		}
	}
	return false
}

// onReliable records a reliable 18x and PRACKs it (after o.IgnoreReliable
// copies). It reports whether res is a copy already seen, to be discarded.
func (c *Call) onReliable(res *sip.Response, o InviteOptions) bool {
	if !has100rel(res, "Require") {
		return false
	}
	h := res.GetHeader("RSeq")
	if h == nil {
		return false
	}
	n, err := strconv.ParseUint(strings.TrimSpace(h.Value()), 10, 32)
	if err != nil {
		return false
	}
	rseq, tag := uint32(n), tagOf(res.To().Params)
	c.mu.Lock()
	var r *ReliableProvisional
	for _, x := range c.reliable {
		if x.RSeq == rseq && x.ToTag == tag {
			r = x
		}
	}
	seen := r != nil
	if !seen {
		r = &ReliableProvisional{Code: res.StatusCode, RSeq: rseq, ToTag: tag}
		c.reliable = append(c.reliable, r)
	}
	r.Copies++
	var req *sip.Request
	if r.RAck == "" && r.Copies > o.IgnoreReliable {
		r.RAck = fmt.Sprintf("%d %d INVITE", rseq, res.CSeq().SeqNo)
		req = c.prackLocked(res, r.RAck)
	}
	c.mu.Unlock()
	if req != nil {
		go c.sendPRACK(req, r)
	}
	return seen
}

// prackLocked builds the PRACK for res in its early dialog (its To tag,
// Contact and Record-Route).
func (c *Call) prackLocked(res *sip.Response, rack string) *sip.Request {
	c.localSeq++
	req := c.newRequestLocked(sip.PRACK, c.localSeq)
	req.To().Params.Add("tag", tagOf(res.To().Params))
	if ct := res.Contact(); ct != nil {
		req.Recipient = *ct.Address.Clone()
	}
	req.RemoveHeader("Route")
	rr := res.GetHeaders("Record-Route")
	for i := len(rr) - 1; i >= 0; i-- {
		if uri, ok := routeURI(rr[i]); ok {
			req.AppendHeader(&sip.RouteHeader{Address: uri})
		}
	}
	req.AppendHeader(sip.NewHeader("RAck", rack))
	return req
}

func (c *Call) sendPRACK(req *sip.Request, r *ReliableProvisional) {
	ctx, cancel := context.WithTimeout(context.Background(), 64*sip.T1)
	defer cancel()
	res, err := c.transact(ctx, req)
	if err != nil {
		c.log.Debug("PRACK", "error", err)
		return
	}
	c.mu.Lock()
	r.PRACKStatus = res.StatusCode
	c.mu.Unlock()
}

// PRACKs returns the PRACKs received for this INVITE's reliable 18x that
// matched one (answered 200), in order.
func (in *Incoming) PRACKs() []*sip.Request {
	in.mu.Lock()
	defer in.mu.Unlock()
	return append([]*sip.Request(nil), in.pracks...)
}

// RingReliable sends a reliable 180 Ringing (Require: 100rel, RSeq) and
// waits for its PRACK, re-sending the 180 at T1, 2·T1... (at most 64·T1).
// The INVITE must offer 100rel (Supported or Require).
func (in *Incoming) RingReliable() error {
	return in.reliable(180, "Ringing", nil, nil)
}

// reliable sends a reliable provisional response and waits for its PRACK.
func (in *Incoming) reliable(code int, reason string, body []byte, headers map[string]string) error {
	if !has100rel(in.req, "Require", "Supported", "k") {
		return errors.New("siptest: the INVITE does not offer 100rel")
	}
	in.mu.Lock()
	if in.finalSent {
		in.mu.Unlock()
		return errors.New("siptest: final response already sent")
	}
	if in.rseq == 0 {
		in.rseq = rand.Uint32N(1 << 20)
	}
	in.rseq++
	rseq := in.rseq
	ch := make(chan struct{})
	if in.prackWait == nil {
		in.prackWait = map[uint32]chan struct{}{}
	}
	in.prackWait[rseq] = ch
	res := in.response(code, reason, body, headers)
	in.mu.Unlock()
	res.AppendHeader(sip.NewHeader("Require", "100rel"))
	res.AppendHeader(sip.NewHeader("RSeq", strconv.FormatUint(uint64(rseq), 10)))
	in.ua.mu.Lock()
	in.ua.reliable[dialogKey{in.req.CallID().Value(), in.toTag}] = in
	in.ua.mu.Unlock()

	interval := sip.T1
	retrans := time.NewTimer(interval)
	defer retrans.Stop()
	deadline := time.NewTimer(64 * sip.T1)
	defer deadline.Stop()
	if err := in.tx.Respond(res); err != nil {
		return fmt.Errorf("siptest: %d: %w", code, err)
	}
	for {
		select {
		case <-ch:
			return nil
		case <-retrans.C:
			if err := in.tx.Respond(res); err != nil {
				return fmt.Errorf("siptest: %d (again): %w", code, err)
			}
			interval *= 2
			retrans.Reset(interval)
		case <-deadline.C:
			return fmt.Errorf("siptest: no PRACK for reliable %d", code)
		case <-in.cancelled:
			return ErrCancelled
		case <-in.tx.Done():
			return fmt.Errorf("siptest: INVITE transaction ended before PRACK")
		case <-in.ua.done:
			return ErrClosed
		}
	}
}

// onPrack answers a PRACK: 200 when its RAck names a reliable 18x of ours
// waiting for it, else 481.
func (u *UA) onPrack(req *sip.Request, tx sip.ServerTransaction) {
	var in *Incoming
	if callID, to := req.CallID(), req.To(); callID != nil && to != nil {
		u.mu.Lock()
		in = u.reliable[dialogKey{callID.Value(), tagOf(to.Params)}]
		u.mu.Unlock()
	}
	rack := req.GetHeader("RAck")
	if in == nil || rack == nil {
		u.respond(req, tx, 481, "Call/Transaction Does Not Exist")
		return
	}
	f := strings.Fields(rack.Value())
	var ch chan struct{}
	in.mu.Lock()
	if len(f) == 3 && f[1] == strconv.FormatUint(uint64(in.req.CSeq().SeqNo), 10) && f[2] == "INVITE" {
		if n, err := strconv.ParseUint(f[0], 10, 32); err == nil {
			ch = in.prackWait[uint32(n)]
			delete(in.prackWait, uint32(n))
		}
	}
	if ch != nil {
		in.pracks = append(in.pracks, req)
	}
	in.mu.Unlock()
	if ch == nil {
		u.respond(req, tx, 481, "Call/Transaction Does Not Exist")
		return
	}
	res := sip.NewResponseFromRequest(req, 200, "OK", nil)
	if err := tx.Respond(res); err != nil {
		u.log.Debug("PRACK 200", "error", err)
	}
	close(ch)
}
