package sip

import (
	"strings"

	"github.com/emiago/sipgo/sip"
)

// dialog is the RFC 3261 §12 state of one leg's dialog, enough to build
// in-dialog requests (BYE, re-INVITE, ACK) and to recognise incoming ones.
// It is guarded by its leg's mutex.
type dialog struct {
	callID    string
	localTag  string
	remoteTag string
	local     sip.Uri // our URI in From (UAC) or To (UAS)
	remote    sip.Uri
	localName string
	localSeq  uint32
	remoteSeq uint32
	target    sip.Uri   // remote Contact
	routes    []sip.Uri // route set, in the order to put in Route headers
	transport string    // UDP, TCP, TLS
	// flow, when set, is the address in-dialog requests go to (the source of
	// the peer's INVITE on reliable transports: reuse its connection).
	flow string
}

// key identifies the dialog among the switch's: Call-ID plus our tag. The
// remote tag completes the dialog ID (RFC 3261 §12); Server.findDialog
// checks it, as a UAC dialog is registered before the far end picks one.
func (d *dialog) key() string { return dialogKey(d.callID, d.localTag) }

func dialogKey(callID, localTag string) string { return callID + "\x00" + localTag }

// uasDialog builds the dialog state of a leg from the INVITE it received.
func uasDialog(req *sip.Request, localTag string) dialog {
	d := dialog{
		callID:    req.CallID().Value(),
		localTag:  localTag,
		local:     req.To().Address,
		remote:    req.From().Address,
		transport: req.Transport(),
	}
	d.remoteTag, _ = req.From().Params.Get("tag")
	d.remoteSeq = req.CSeq().SeqNo
	if c := req.Contact(); c != nil {
		d.target = c.Address
	} else {
		d.target = req.From().Address
	}
	for _, h := range req.GetHeaders("Record-Route") {
		if rr, ok := h.(*sip.RecordRouteHeader); ok {
			d.routes = append(d.routes, rr.Address)
		}
	}
	if sip.IsReliable(strings.ToLower(d.transport)) && len(d.routes) == 0 {
		d.flow = req.Source()
	}
	return d
}

// confirmUAC completes a UAC dialog from the 2xx (or dialog-creating 1xx) response.
func (d *dialog) confirmUAC(res *sip.Response) {
	if to := res.To(); to != nil {
		d.remoteTag, _ = to.Params.Get("tag")
	}
	if c := res.Contact(); c != nil {
		d.target = c.Address
	}
	rrs := res.GetHeaders("Record-Route")
	d.routes = d.routes[:0]
	for i := len(rrs) - 1; i >= 0; i-- {
		if rr, ok := rrs[i].(*sip.RecordRouteHeader); ok {
			d.routes = append(d.routes, rr.Address)
		}
	}
}

// request builds an in-dialog request. ACK reuses the INVITE's CSeq number
// (ackSeq); every other method takes the next local sequence number.
func (d *dialog) request(method sip.RequestMethod, contact *sip.ContactHeader, ackSeq uint32) *sip.Request {
	req := sip.NewRequest(method, *d.target.Clone())
	from := &sip.FromHeader{DisplayName: d.localName, Address: d.local, Params: sip.NewParams()}
	from.Params.Add("tag", d.localTag)
	to := &sip.ToHeader{Address: d.remote, Params: sip.NewParams()}
	if d.remoteTag != "" {
		to.Params.Add("tag", d.remoteTag)
	}
	callID := sip.CallIDHeader(d.callID)
	seq := ackSeq
	if method != sip.ACK {
		d.localSeq++
		seq = d.localSeq
	}
	maxFwd := sip.MaxForwardsHeader(70)
	req.AppendHeader(from)
	req.AppendHeader(to)
	req.AppendHeader(&callID)
	req.AppendHeader(&sip.CSeqHeader{SeqNo: seq, MethodName: method})
	req.AppendHeader(&maxFwd)
	for _, r := range d.routes {
		req.AppendHeader(&sip.RouteHeader{Address: r})
	}
	if contact != nil && (method == sip.INVITE || method == sip.UPDATE) {
		req.AppendHeader(sip.HeaderClone(contact))
	}
	req.SetTransport(d.transport)
	if d.flow != "" {
		req.SetDestination(d.flow)
	}
	return req
}
