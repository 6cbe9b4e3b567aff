package sip

import (
	"errors"
	"fmt"
	"net/url"
	"strings"

	"github.com/emiago/sipgo/sip"
)

// Parsing of the Refer-To (RFC 3515 §2.1) and Referred-By (RFC 3892)
// values the switch reads from its peers. sipgo's own parsers for these
// headers are switched off on the server (referHeaderParsers): they drop the
// whole message when the value does not parse (no 400 goes back), lose a
// tel: URI's number, and keep no header parameters. Here the raw value is
// read, and every failure is an error the REFER is answered with.

// referHeaderParsers is sipgo's map of header parsers without those of
// Refer-To and Referred-By: the server keeps their raw values for
// parseReferTo and referredBy.
func referHeaderParsers() sip.HeadersParser {
	m := sip.HeadersParser{}
	for k, v := range sip.DefaultHeadersParser() {
		if k != "refer-to" && k != "referred-by" {
			m[k] = v
		}
	}
	return m
}

// referTo is what a Refer-To value says.
type referTo struct {
	// URI is the URI as sent, without the angle brackets.
	URI string
	// Scheme is the URI's scheme, lower-case.
	Scheme string
	// Number is the number the URI names: the user part of a sip: or sips:
	// URI, or a tel: URI's number, unescaped, without its parameters and
	// visual separators ("" when the URI names none, or not a number).
	Number string
	// User is the user part (or tel: number) as written, unescaped, before
	// its parameters: what Number is read from.
	User string
	// Method is the URI's method parameter ("" when absent).
	Method string
	// Replaces: the URI carries an embedded Replaces header (RFC 3891): an
	// attended transfer.
	Replaces bool
}

// errReferSyntax wraps every syntax error of a Refer-To or Referred-By.
var errReferSyntax = errors.New("malformed")

// maxReferTo bounds the length of a Refer-To value read.
const maxReferTo = 2048

// parseReferTo reads one Refer-To header value (name-addr or addr-spec,
// then generic parameters). Several values (a top-level comma) are an error:
// a REFER names exactly one resource (RFC 3515 §2.4.1).
func parseReferTo(v string) (referTo, error) {
	if len(v) > maxReferTo {
		return referTo{}, fmt.Errorf("%w: Refer-To longer than %d bytes", errReferSyntax, maxReferTo)
	}
	uri, err := addressURI(v)
	if err != nil {
		return referTo{}, err
	}
	r := referTo{URI: uri}
	colon := strings.IndexByte(uri, ':')
	if colon <= 0 || !validScheme(uri[:colon]) {
		return referTo{}, fmt.Errorf("%w: Refer-To %q has no URI scheme", errReferSyntax, clip(uri))
	}
	r.Scheme = strings.ToLower(uri[:colon])
	rest := uri[colon+1:]
	switch r.Scheme {
	case "sip", "sips":
		err = r.readSIP(rest)
	case "tel":
		err = r.readTel(rest)
	default:
		return r, nil // the caller refuses the scheme
	}
	if err != nil {
		return referTo{}, err
	}
	r.Number = number(r.User)
	return r, nil
}

// readSIP reads a sip: or sips: URI after its scheme: userinfo@host,
// parameters, ?headers (RFC 3261 §19.1.1).
func (r *referTo) readSIP(s string) error {
	s, headers, _ := strings.Cut(s, "?")
	at := strings.LastIndexByte(s, '@')
	hostPart := s
	if at >= 0 {
		user := s[:at]
		hostPart = s[at+1:]
		user, _, _ = strings.Cut(user, ":") // no password
		user, _, _ = strings.Cut(user, ";") // telephone-subscriber parameters
		u, err := url.PathUnescape(user)
		if err != nil {
			return fmt.Errorf("%w: bad escape in the Refer-To user part", errReferSyntax)
		}
		r.User = u
	}
	host, params, _ := strings.Cut(hostPart, ";")
	if host == "" || strings.ContainsAny(host, " \t<>\"") {
		return fmt.Errorf("%w: Refer-To URI has no valid host", errReferSyntax)
	}
	for _, p := range strings.Split(params, ";") {
		name, val, _ := strings.Cut(p, "=")
		if strings.EqualFold(strings.TrimSpace(name), "method") {
			r.Method = strings.TrimSpace(val)
			if r.Method == "" {
				return fmt.Errorf("%w: empty method parameter in Refer-To", errReferSyntax)
			}
		}
	}
	if headers == "" {
		return nil
	}
	for _, h := range strings.Split(headers, "&") {
		name, _, _ := strings.Cut(h, "=")
		name, err := url.QueryUnescape(name)
		if err != nil {
			return fmt.Errorf("%w: bad escape in a Refer-To embedded header", errReferSyntax)
		}
		if strings.EqualFold(strings.TrimSpace(name), "Replaces") {
			r.Replaces = true
		}
	}
	return nil
}

// readTel reads a tel: URI after its scheme (RFC 3966): the number, then
// parameters.
func (r *referTo) readTel(s string) error {
	num, _, _ := strings.Cut(s, ";")
	u, err := url.PathUnescape(num)
	if err != nil {
		return fmt.Errorf("%w: bad escape in the Refer-To tel: number", errReferSyntax)
	}
	if u == "" {
		return fmt.Errorf("%w: tel: URI without a number", errReferSyntax)
	}
	r.User = u
	return nil
}

// number returns the dialable number in a user part: an optional + and
// digits, with RFC 3966 visual separators (- . ( )) removed; "" when the
// user part is anything else (a name, a * code, empty).
func number(user string) string {
	var b strings.Builder
	for i, c := range user {
		switch {
		case c >= '0' && c <= '9':
			b.WriteRune(c)
		case c == '+' && i == 0:
			b.WriteRune(c)
		case c == '-' || c == '.' || c == '(' || c == ')':
		default:
			return ""
		}
	}
	n := b.String()
	if strings.TrimPrefix(n, "+") == "" {
		return ""
	}
	return n
}

// addressURI returns the URI of a name-addr or addr-spec value followed by
// generic parameters (the shape of Refer-To, Referred-By, Contact).
func addressURI(v string) (string, error) {
	v = strings.TrimSpace(v)
	if v == "" {
		return "", fmt.Errorf("%w: empty value", errReferSyntax)
	}
	var uri, after string
	if i := openBracket(v); i >= 0 {
		end := strings.IndexByte(v[i:], '>')
		if end < 0 {
			return "", fmt.Errorf("%w: no closing '>'", errReferSyntax)
		}
		uri = strings.TrimSpace(v[i+1 : i+end])
		after = strings.TrimSpace(v[i+end+1:])
		if after != "" && after[0] != ';' && after[0] != ',' {
			return "", fmt.Errorf("%w: text after '>'", errReferSyntax)
		}
	} else if i == -2 {
		return "", fmt.Errorf("%w: unterminated quoted display name", errReferSyntax)
	} else {
		// addr-spec: the URI cannot hold ; , ? here (RFC 3261 §20): what
		// follows a ; is a header parameter.
		uri, after, _ = strings.Cut(v, ";")
		if strings.ContainsRune(uri, ',') {
			return "", fmt.Errorf("%w: more than one value", errReferSyntax)
		}
		if strings.ContainsAny(uri, " \t\"") {
			return "", fmt.Errorf("%w: a URI with a display name needs <>", errReferSyntax)
		}
		if after != "" {
			after = ";" + after
		}
	}
	if hasTopComma(after) {
		return "", fmt.Errorf("%w: more than one value", errReferSyntax)
	}
	if uri == "" || strings.ContainsAny(uri, " \t\r\n<>") {
		return "", fmt.Errorf("%w: no URI", errReferSyntax)
	}
	return uri, nil
}

// openBracket finds the '<' of a name-addr, skipping a quoted display name:
// its index, -1 when there is none (an addr-spec), -2 when a quote is not
// closed.
func openBracket(v string) int {
	inQuote := false
	for i := 0; i < len(v); i++ {
		switch c := v[i]; {
		case inQuote && c == '\\':
			i++
		case c == '"':
			inQuote = !inQuote
		case !inQuote && c == '<':
			return i
		}
	}
	if inQuote {
		return -2
	}
	return -1
}

// hasTopComma reports a comma outside quotes in header parameters: a second
// header value follows.
func hasTopComma(s string) bool {
	inQuote := false
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case inQuote && c == '\\':
			i++
		case c == '"':
			inQuote = !inQuote
		case !inQuote && c == ',':
			return true
		}
	}
	return false
}

// validScheme: ALPHA *( ALPHA / DIGIT / "+" / "-" / "." ) (RFC 3261 §25.1).
func validScheme(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		alpha := c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z'
		if !alpha && (i == 0 || !(c >= '0' && c <= '9' || c == '+' || c == '-' || c == '.')) {
			return false
		}
	}
	return s != ""
}

// clip shortens s for an error message.
func clip(s string) string {
	if len(s) > 64 {
		return s[:64] + "..."
	}
	return s
}

// sipfrag renders the message/sipfrag body (RFC 3420) of a refer NOTIFY: a
// status line. The reason phrase is cleaned of control characters so that
// a reason from anywhere cannot add lines to the fragment.
func sipfrag(code int, reason string) []byte {
	reason = strings.Map(func(r rune) rune {
		if r < ' ' || r == 0x7f {
			return ' '
		}
		return r
	}, reason)
	reason = strings.TrimSpace(reason)
	if reason == "" {
		reason = defaultReason(code)
	}
	return fmt.Appendf(nil, "SIP/2.0 %03d %s\r\n", code, reason)
}
