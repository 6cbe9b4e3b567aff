package sip

import (
	"strconv"
	"strings"

	"github.com/emiago/sipgo/sip"

	"github.com/switchboard-voice/switchboard/call"
)

// Reason headers (RFC 3326, and RFC 6432 for responses). A far end's
// Q.850 cause, on its BYE, CANCEL or failure response, is kept in the
// call.Cause it ends its leg with, and the switch passes it on to the other
// legs: on their BYE or CANCEL, and in the caller's final failure response
// (which RFC 6432 allows for the Q.850 protocol only).

// headerGetter is a SIP message's header access.
type headerGetter interface {
	GetHeaders(name string) []sip.Header
}

// withQ850 returns c with the Q.850 cause of m's Reason headers, when m
// has a valid one (cause 1 to 127); c unchanged otherwise.
func withQ850(c call.Cause, m headerGetter) call.Cause {
	if m == nil {
		return c
	}
	for _, h := range m.GetHeaders("Reason") {
		for _, v := range splitReason(h.Value()) {
			proto, params, _ := strings.Cut(v, ";")
			if !strings.EqualFold(strings.TrimSpace(proto), "Q.850") {
				continue
			}
			cause, text := 0, ""
			for _, p := range splitOutsideQuotes(params, ';') {
				k, val, _ := strings.Cut(p, "=")
				switch strings.ToLower(strings.TrimSpace(k)) {
				case "cause":
					cause, _ = strconv.Atoi(strings.TrimSpace(val))
				case "text":
					text = unquote(strings.TrimSpace(val))
				}
			}
			if cause >= 1 && cause <= 127 {
				c.Q850, c.Q850Text = cause, text
				return c
			}
		}
	}
	return c
}

// reasonValues renders the Reason header values for cause: the SIP cause
// when withSIP (requests only: BYE, CANCEL), and the Q.850 cause when the
// cause carries one.
func reasonValues(c call.Cause, withSIP bool) []string {
	var out []string
	if withSIP {
		out = append(out, reasonHeader(c))
	}
	if c.Q850 != 0 {
		v := "Q.850;cause=" + strconv.Itoa(c.Q850)
		if c.Q850Text != "" {
			v += `;text="` + quotable(c.Q850Text) + `"`
		}
		out = append(out, v)
	}
	return out
}

// addReason appends cause's Reason headers to m.
func addReason(m interface{ AppendHeader(sip.Header) }, c call.Cause, withSIP bool) {
	for _, v := range reasonValues(c, withSIP) {
		m.AppendHeader(sip.NewHeader("Reason", v))
	}
}

// quotable makes text safe inside a quoted-string of a header: no quotes,
// backslashes or control characters (a far end's text is passed on).
func quotable(text string) string {
	return strings.Map(func(r rune) rune {
		switch {
		case r == '"':
			return '\''
		case r == '\\', r < 0x20, r == 0x7f:
			return -1
		}
		return r
	}, text)
}

// splitReason splits a Reason header value into its comma-separated values.
func splitReason(v string) []string { return splitOutsideQuotes(v, ',') }

// splitOutsideQuotes splits s at sep, except inside quoted strings.
func splitOutsideQuotes(s string, sep byte) []string {
	var out []string
	quoted, escaped, start := false, false, 0
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case escaped:
			escaped = false
		case quoted && c == '\\':
			escaped = true
		case c == '"':
			quoted = !quoted
		case c == sep && !quoted:
			out = append(out, s[start:i])
			start = i + 1
		}
	}
	return append(out, s[start:])
}

// unquote removes a quoted-string's quotes and escapes.
func unquote(s string) string {
	if len(s) < 2 || s[0] != '"' || s[len(s)-1] != '"' {
		return s
	}
	s = s[1 : len(s)-1]
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+1 < len(s) {
			i++
		}
		b.WriteByte(s[i])
	}
	return b.String()
}
