package sip

import (
	"fmt"
	"strings"
	"time"

	"github.com/emiago/sipgo/sip"

	"github.com/switchboard-voice/switchboard/config"
)

// allowHeader is the Allow value of every 405, OPTIONS 200 and INVITE;
// in a dialog of a trunk that allows REFER, Trunk.allowMethods adds REFER.
const allowHeader = "INVITE, ACK, CANCEL, BYE, OPTIONS, INFO, UPDATE, PRACK"

// allowMethods is the Allow value in this trunk's dialogs: REFER is listed only
// where it can be accepted (trunks[].refer: allow), so that a peer does
// not offer transfers the trunk declines.
func (t *Trunk) allowMethods() string {
	if t.Config.Refer == config.ReferAllow {
		return allowHeader + ", REFER"
	}
	return allowHeader
}

// singleValued are the headers a request may carry at most once (RFC 3261
// §7.3.1, §20), by their lower-case full and compact names.
var singleValued = map[string]string{
	"call-id": "Call-ID", "i": "Call-ID",
	"from": "From", "f": "From",
	"to": "To", "t": "To",
	"cseq":           "CSeq",
	"max-forwards":   "Max-Forwards",
	"content-length": "Content-Length", "l": "Content-Length",
	"content-type": "Content-Type", "c": "Content-Type",
}

// checkRequest finds what makes a parsed request one the switch must refuse
// before any handler sees it (RFC 4475 §3.1.2, §3.3): the status code to
// answer with and why, or 0.
func checkRequest(req *sip.Request) (int, string) {
	seen := make(map[string]bool, 8)
	for _, h := range req.Headers() {
		name, ok := singleValued[strings.ToLower(h.Name())]
		if !ok {
			continue
		}
		if seen[name] {
			return 400, "duplicate " + name
		}
		seen[name] = true
	}
	if cseq := req.CSeq(); cseq != nil && !strings.EqualFold(string(cseq.MethodName), string(req.Method)) {
		// (case-blind: sipgo upper-cases an extension method's Request-Line
		// token but not its CSeq, RFC 4475 intmeth)
		return 400, fmt.Sprintf("CSeq method %.32s does not match %.32s", cseq.MethodName, req.Method)
	}
	switch strings.ToLower(req.Recipient.Scheme) {
	case "sip", "sips", "tel":
	default:
		return 416, fmt.Sprintf("Request-URI scheme %.32q not supported", req.Recipient.Scheme)
	}
	if req.Recipient.Headers.Length() > 0 {
		// RFC 3261 §19.1.5: headers are not allowed in a Request-URI.
		return 400, "headers in the Request-URI"
	}
	if d := req.GetHeader("Date"); d != nil {
		// RFC 3261 §20.17: rfc1123-date, always GMT.
		v := strings.TrimSpace(d.Value())
		if _, err := time.Parse(time.RFC1123, v); err != nil || !strings.HasSuffix(v, " GMT") {
			return 400, "Date is not an RFC 1123 date in GMT"
		}
	}
	return 0, ""
}

// admit answers a request checkRequest refuses and reports whether the
// request may go on to its handler. An ACK cannot be answered: it is
// dropped with a log line. Each refusal is counted as malformed.
func (s *Server) admit(req *sip.Request, tx sip.ServerTransaction) bool {
	code, why := checkRequest(req)
	if code == 0 {
		return true
	}
	s.log.Warn("bad request", "method", string(req.Method), "source", req.Source(), "code", code, "reason", why)
	answered := false
	if req.Method != sip.ACK && tx != nil {
		answered = true
		s.respond(tx, req, code, reasonFor(code)+" - "+why)
	}
	if s.metrics != nil {
		s.metrics.malformedMessage(strings.ToLower(req.Transport()), answered)
	}
	return false
}
