package sip

// Reliable provisional responses (RFC 3262, 100rel/PRACK), both ways:
//
//   - As UAS (inbound legs): when the caller's INVITE has Require: 100rel,
//     every 18x goes reliably; with only Supported: 100rel, the 18x that
//     carry SDP (early media) do. A reliable 18x has Require: 100rel and an
//     RSeq of the leg's own, and is retransmitted (T1, doubling) until the
//     matching PRACK; at most one is unacknowledged at a time, later ones
//     wait in order. The 2xx waits for the PRACK of any reliable 18x with
//     SDP. With no PRACK after 64·T1 the INVITE is rejected with 504.
//   - As UAC (outbound legs): the INVITE offers Supported: 100rel, and each
//     reliable 18x is PRACKed once, in its own early dialog (a forking
//     proxy makes several, each with its own RSeq space); retransmissions
//     and out-of-order ones are discarded.
//
// RSeq is never relayed between legs: each leg numbers its own.

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/emiago/sipgo/sip"

	"github.com/switchboard-voice/switchboard/call"
)

// ext100rel is the option tag of RFC 3262.
const ext100rel = "100rel"

// supportedExtension reports whether the switch, as UAS of an INVITE,
// supports the SIP extension with this option tag (RFC 3261 §8.2.2.3).
func supportedExtension(tag string) bool {
	switch strings.ToLower(tag) {
	case ext100rel, tagTimer:
		return true
	}
	return false
}

// unsupportedExtensions lists the option tags in the request's Require
// headers that the switch does not support, in their order, without
// duplicates: what a 420 names in Unsupported.
func unsupportedExtensions(req *sip.Request) []string {
	var out []string
	for _, tag := range optionTags(req, "Require") {
		if !supportedExtension(tag) && !containsFold(out, tag) {
			out = append(out, tag)
		}
	}
	return out
}

func containsFold(list []string, s string) bool {
	for _, x := range list {
		if strings.EqualFold(x, s) {
			return true
		}
	}
	return false
}

// hasOption reports whether m names tag in a header of one of names.
func hasOption(m message, tag string, names ...string) bool {
	return containsFold(optionTags(m, names...), tag)
}

// noPRACK ends an INVITE whose reliable provisional response was never
// acknowledged (RFC 3262 §3: "SHOULD reject the original request with a
// 5xx response").
var noPRACK = call.Cause{Code: 504, Reason: "Server Time-out - no PRACK"}

// relProv is one reliable provisional response of an inbound leg.
type relProv struct {
	res   *sip.Response
	rseq  uint32
	sdp   bool
	acked chan struct{} // closed by its PRACK
}

// uasReliable is the RFC 3262 state of an inbound leg (UAS). Its own mutex
// guards it; it never holds the leg's.
type uasReliable struct {
	required  bool // the INVITE had Require: 100rel: every 18x is reliable
	supported bool // Require or Supported: 100rel

	mu      sync.Mutex
	rseq    uint32     // the last RSeq given
	queue   []*relProv // waiting to be sent, in order
	sent    []*relProv // every one sent and not acknowledged (late PRACKs get 200)
	running bool       // a sender goroutine owns the queue
}

func (r *uasReliable) init(req *sip.Request) {
	r.required = hasOption(req, ext100rel, "Require")
	r.supported = r.required || hasOption(req, ext100rel, "Supported", "k")
	// RFC 3262 §3: the first RSeq is chosen between 1 and 2^31-1 (the
	// first one given is this plus one).
	r.rseq = rand.Uint32N(1<<31 - 2)
}

// use reports whether an 18x (with SDP or not) goes reliably.
func (r *uasReliable) use(withSDP bool) bool {
	return r.required || (r.supported && withSDP)
}

// sendReliable makes res a reliable provisional response (Require: 100rel,
// the leg's next RSeq) and queues it; a sender goroutine sends the queue in
// order, each once the previous one is acknowledged.
func (l *InboundLeg) sendReliable(res *sip.Response, withSDP bool) {
	r := &l.rel
	r.mu.Lock()
	r.rseq++
	p := &relProv{res: res, rseq: r.rseq, sdp: withSDP, acked: make(chan struct{})}
	res.AppendHeader(sip.NewHeader("Require", ext100rel))
	res.AppendHeader(sip.NewHeader("RSeq", strconv.FormatUint(uint64(p.rseq), 10)))
	r.queue = append(r.queue, p)
	start := !r.running
	r.running = true
	r.mu.Unlock()
	if start {
		go l.sendReliableQueue()
	}
}

// sendReliableQueue sends the queued reliable 18x one at a time. It
// returns when the queue is empty, the final response is sent (what is
// still queued is dropped: a 200 supersedes it) or the leg ends.
func (l *InboundLeg) sendReliableQueue() {
	r := &l.rel
	for {
		r.mu.Lock()
		if len(r.queue) == 0 || l.finalOrEnded() {
			r.queue, r.running = nil, false
			r.mu.Unlock()
			return
		}
		p := r.queue[0]
		r.queue = r.queue[1:]
		r.sent = append(r.sent, p)
		r.mu.Unlock()
		if !l.retransmitUntilPRACK(p) {
			r.mu.Lock()
			r.queue, r.running = nil, false
			r.mu.Unlock()
			return
		}
	}
}

// finalOrEnded: the INVITE has its final response, or the leg is over.
func (l *InboundLeg) finalOrEnded() bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.finalSent || l.ended
}

// retransmitUntilPRACK sends p and re-sends it at T1, 2·T1, 4·T1... (RFC
// 3262 §3) until its PRACK comes. It reports false when the queue must stop:
// the final response went out, the leg ended, or no PRACK came in 64·T1
// (the INVITE is then rejected with 504).
func (l *InboundLeg) retransmitUntilPRACK(p *relProv) bool {
	l.log.Info("reliable provisional response", "code", p.res.StatusCode, "rseq", p.rseq, "sdp", p.sdp)
	if err := l.tx.Respond(p.res); err != nil {
		l.log.Warn("send reliable provisional response", "code", p.res.StatusCode, "error", err)
	}
	reliable := sip.IsReliable(l.req.Transport())
	interval := timerT1
	retrans := time.NewTimer(interval)
	defer retrans.Stop()
	deadline := time.NewTimer(timer64)
	defer deadline.Stop()
	for {
		select {
		case <-p.acked:
			return true
		case <-l.done:
			return false
		case <-retrans.C:
			if l.finalOrEnded() {
				// RFC 3262 §3: no retransmissions after the final
				// response; a late PRACK is still answered 200.
				return false
			}
			// Over TCP/TLS the transport delivers it; only the time-out applies.
			if !reliable {
				if err := l.s.srv.WriteResponse(p.res); err != nil {
					l.log.Debug("retransmit reliable provisional response", "error", err)
				}
			}
			interval *= 2
			retrans.Reset(interval)
		case <-deadline.C:
			l.mu.Lock()
			pending := !l.finalSent && !l.ended
			l.mu.Unlock()
			if !pending {
				return false
			}
			l.log.Warn("no PRACK for reliable provisional response: rejecting the INVITE", "code", p.res.StatusCode, "rseq", p.rseq)
			l.terminate(context.WithoutCancel(l.s.pendingCtx), noPRACK, true)
			return false
		}
	}
}

// awaitPRACK waits, before a 2xx, for the PRACK of every reliable 18x with
// SDP sent or queued (RFC 3262 §3: the 2xx must not precede it).
func (l *InboundLeg) awaitPRACK(ctx context.Context) error {
	r := &l.rel
	r.mu.Lock()
	var wait []*relProv
	for _, p := range append(append([]*relProv(nil), r.sent...), r.queue...) {
		if p.sdp {
			wait = append(wait, p)
		}
	}
	r.mu.Unlock()
	for _, p := range wait {
		select {
		case <-p.acked:
		case <-l.done:
			return call.Cause{Code: 481, Reason: "Call already answered or ended"}
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	return nil
}

// onRequest takes PRACKs on the inbound leg; every other in-dialog request
// goes to the shared handling.
func (l *InboundLeg) onRequest(req *sip.Request, tx sip.ServerTransaction) {
	if req.Method == sip.PRACK {
		l.onPRACK(req, tx)
		return
	}
	l.legBase.onRequest(req, tx)
}

// onPRACK acknowledges the reliable 18x named by the PRACK's RAck (RSeq,
// CSeq number and method of the INVITE): 200, or 481 when it names none
// that waits for acknowledgement (RFC 3262 §3).
func (l *InboundLeg) onPRACK(req *sip.Request, tx sip.ServerTransaction) {
	rack := req.GetHeader("RAck")
	if rack == nil {
		l.s.respond(tx, req, 400, "Bad Request - missing RAck")
		return
	}
	rseq, cseq, method, err := parseRAck(rack.Value())
	if err != nil {
		l.s.respond(tx, req, 400, "Bad Request - "+err.Error())
		return
	}
	l.mu.Lock()
	if s := req.CSeq().SeqNo; s > l.dlg.remoteSeq {
		l.dlg.remoteSeq = s
	}
	tag := l.dlg.localTag
	l.mu.Unlock()
	var match *relProv
	if cseq == l.req.CSeq().SeqNo && method == sip.INVITE {
		r := &l.rel
		r.mu.Lock()
		for i, p := range r.sent {
			if p.rseq == rseq {
				match = p
				r.sent = append(r.sent[:i:i], r.sent[i+1:]...)
				break
			}
		}
		r.mu.Unlock()
	}
	if match == nil {
		l.log.Info("PRACK matches no reliable provisional response", "rack", rack.Value())
		l.s.respond(tx, req, 481, "Call/Transaction Does Not Exist")
		return
	}
	if len(req.Body()) > 0 {
		// An offer in a PRACK (RFC 3262 §5) is not taken: the switch's
		// reliable 18x already answered the INVITE's offer.
		l.log.Warn("SDP in PRACK ignored", "rseq", rseq)
	}
	close(match.acked)
	l.log.Info("PRACK received", "rseq", rseq)
	res := sip.NewResponseFromRequest(req, 200, "OK", nil)
	res.To().Params.Add("tag", tag)
	res.AppendHeader(sip.NewHeader("Server", l.s.userAgent()))
	if err := tx.Respond(res); err != nil {
		l.log.Debug("answer PRACK", "error", err)
	}
}

// parseRAck reads "RSeq CSeq-number Method" (RFC 3262 §7.2).
func parseRAck(v string) (rseq, cseq uint32, method sip.RequestMethod, err error) {
	f := strings.Fields(v)
	if len(f) != 3 {
		return 0, 0, "", fmt.Errorf("bad RAck %q", v)
	}
	r, err1 := strconv.ParseUint(f[0], 10, 32)
	c, err2 := strconv.ParseUint(f[1], 10, 32)
	if err := errors.Join(err1, err2); err != nil || r == 0 {
		return 0, 0, "", fmt.Errorf("bad RAck %q", v)
	}
	return uint32(r), uint32(c), sip.RequestMethod(strings.ToUpper(f[2])), nil
}

// parseRSeq reads a response's RSeq (1 to 2^32-1).
func parseRSeq(res *sip.Response) (uint32, bool) {
	h := res.GetHeader("RSeq")
	if h == nil {
		return 0, false
	}
	n, err := strconv.ParseUint(strings.TrimSpace(h.Value()), 10, 32)
	return uint32(n), err == nil && n > 0
}

// prackReliable handles the 100rel side of a provisional response to the
// leg's INVITE (UAC, RFC 3262 §4). rseqs holds the last RSeq acknowledged
// in each early dialog (by To tag). A reliable 18x is PRACKed within its
// own early dialog; it reports false for one to discard: a retransmission
// (RSeq already acknowledged) or one out of order (the far end sends it
// again in order).
func (l *OutboundLeg) prackReliable(res *sip.Response, rseqs map[string]uint32) bool {
	if !hasOption(res, ext100rel, "Require") {
		return true
	}
	rseq, ok := parseRSeq(res)
	tag, _ := res.To().Params.Get("tag")
	if !ok || tag == "" {
		l.log.Warn("reliable provisional response without RSeq or To tag: taken as unreliable", "code", res.StatusCode)
		return true
	}
	if last, seen := rseqs[tag]; seen {
		switch {
		case rseq <= last:
			l.log.Debug("retransmitted reliable provisional response discarded", "rseq", rseq, "to_tag", tag)
			return false
		case rseq > last+1:
			l.log.Info("reliable provisional response out of order: discarded", "rseq", rseq, "last", last, "to_tag", tag)
			return false
		}
	}
	rseqs[tag] = rseq
	l.sendPRACK(res, rseq)
	return true
}

// sendPRACK acknowledges a reliable 18x in the early dialog it made (its
// To tag, Contact and Record-Route). The PRACK takes the leg's next CSeq,
// so that every later request of the dialog that wins is above it.
func (l *OutboundLeg) sendPRACK(res *sip.Response, rseq uint32) {
	l.mu.Lock()
	d := l.dlg
	l.dlg.localSeq++
	l.mu.Unlock()
	d.routes = nil // confirmUAC refills it; never share the leg's
	d.confirmUAC(res)
	req := d.request(sip.PRACK, nil, 0)
	req.AppendHeader(sip.NewHeader("RAck", fmt.Sprintf("%d %d %s", rseq, res.CSeq().SeqNo, sip.INVITE)))
	log := l.log.With("rseq", rseq, "to_tag", d.remoteTag)
	log.Info("PRACK", "code", res.StatusCode)
	l.s.background(func(ctx context.Context) {
		ctx, cancel := context.WithTimeout(ctx, timer64)
		defer cancel()
		r, err := l.transact(ctx, req)
		switch {
		case err != nil:
			log.Warn("PRACK failed", "error", err)
		case r.StatusCode >= 300:
			log.Warn("PRACK refused", "code", r.StatusCode, "reason", r.Reason)
		}
	})
}

// offer100rel adds what an outbound INVITE says about RFC 3262.
func offer100rel(inv *sip.Request) { addSupported(inv, ext100rel) }

// addSupported lists tag in the request's one Supported header (made when
// it has none), so extensions share a header: "Supported: 100rel, timer".
func addSupported(req *sip.Request, tag string) {
	tags := optionTags(req, "Supported", "k")
	if hasTag(tags, strings.ToLower(tag)) {
		return
	}
	req.RemoveHeader("Supported")
	req.RemoveHeader("k")
	req.AppendHeader(sip.NewHeader("Supported", strings.Join(append(tags, tag), ", ")))
}
