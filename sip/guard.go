package sip

import (
	"bytes"
	"log/slog"
	"net"
	"strconv"
	"strings"
	"sync/atomic"

	"github.com/emiago/sipgo/sip"
)

// maxDatagram is the largest UDP message the switch takes. SIP over UDP is
// meant to stay under the path MTU (RFC 3261 §18.1.1); anything this big is
// an attack or a broken peer.
const maxDatagram = 16 << 10

// guardConn screens UDP datagrams before sipgo parses them, so that every
// malformed request gets the answer RFC 3261 asks for and a log line, and
// garbage never reaches the parser:
//   - larger than maxDatagram: 513 Message Too Large (requests), dropped (other);
//   - body shorter than Content-Length: 400 (requests), dropped (responses), §18.3;
//   - no header terminator or not a SIP start line: dropped.
//
// Keep-alive datagrams (CRLF) pass through untouched.
type guardConn struct {
	net.PacketConn
	log     *slog.Logger
	metrics *Metrics // optional
	dropped atomic.Uint64
}

// ReadFrom returns the next datagram that looks like a SIP message.
func (g *guardConn) ReadFrom(p []byte) (int, net.Addr, error) {
	for {
		n, addr, err := g.PacketConn.ReadFrom(p)
		if err != nil || n <= 4 {
			return n, addr, err
		}
		code, why := screen(p[:n])
		if code == 0 {
			return n, addr, nil
		}
		g.dropped.Add(1)
		g.log.Warn("malformed SIP datagram", "source", addr.String(), "reason", why,
			"size", n, "start", firstLine(p[:n], 100))
		answered := false
		if code > 0 {
			if res := statelessResponse(p[:n], code, why); res != nil {
				_, err := g.PacketConn.WriteTo(res, addr)
				answered = err == nil
			}
		}
		if g.metrics != nil {
			g.metrics.malformedMessage("udp", answered)
		}
	}
}

// onUnparseable answers a UDP datagram sipgo's parser refused, statelessly
// from the headers it can read: 505 for a SIP version other than 2.0, 400
// for any other request; a response is dropped. Each is counted.
func (s *Server) onUnparseable(info sip.TransportReadProps, data []byte, perr error, reply func([]byte) error) {
	code, why := 0, "unparseable: "+perr.Error()
	if len(why) > 120 {
		why = why[:120]
	}
	why = strings.Map(func(r rune) rune {
		if r < ' ' || r == 0x7f {
			return ' '
		}
		return r
	}, why)
	if version, ok := requestVersion(data); ok {
		code = 400
		if version != "SIP/2.0" {
			code, why = 505, "SIP version "+firstLine([]byte(version), 20)+" not supported"
		}
	}
	answered := false
	if code > 0 {
		if res := statelessResponse(data, code, why); res != nil {
			answered = reply(res) == nil
		}
	}
	s.log.Warn("unparseable SIP message", "transport", info.Transport, "source", info.RemoteAddr.String(),
		"error", perr, "answered", answered, "start", firstLine(data, 100))
	if s.metrics != nil {
		s.metrics.malformedMessage(strings.ToLower(info.Transport), answered)
	}
}

// requestVersion returns the SIP version of a start line shaped like a
// request's ("METHOD SP Request-URI SP SIP/x.y"), however broken the rest.
func requestVersion(b []byte) (string, bool) {
	line := []byte(firstLine(b, 1<<16))
	fields := bytes.Fields(line)
	if len(fields) < 3 || bytes.HasPrefix(fields[0], []byte("SIP/")) {
		return "", false
	}
	last := fields[len(fields)-1]
	if !bytes.HasPrefix(bytes.ToUpper(last), []byte("SIP/")) {
		return "", false
	}
	return string(last), true
}

// screen returns 0 for a datagram to parse, a status code to answer a
// request with, or -1 to drop it silently.
func screen(b []byte) (int, string) {
	req := isRequestLine(b)
	fail := func(code int, why string) (int, string) {
		if req {
			return code, why
		}
		return -1, why
	}
	if !req && !bytes.HasPrefix(b, []byte("SIP/2.0 ")) {
		if v, ok := requestVersion(b); ok {
			if !strings.EqualFold(v, "SIP/2.0") {
				return 505, "SIP version " + firstLine([]byte(v), 20) + " not supported"
			}
			// LWS inside or around the Request-URI (RFC 4475 lwsruri,
			// lwsstart, trws): a request, but a malformed one.
			return 400, "malformed Request-Line"
		}
		return -1, "not a SIP message"
	}
	if len(b) > maxDatagram {
		return fail(513, "message too large")
	}
	end := bytes.Index(b, []byte("\r\n\r\n"))
	sep := 4
	if end < 0 {
		end = bytes.Index(b, []byte("\n\n"))
		sep = 2
	}
	if end < 0 {
		return fail(400, "no end of headers")
	}
	body := len(b) - end - sep
	if cl, ok := contentLength(b[:end]); ok && cl > body {
		return fail(400, "body shorter than Content-Length")
	}
	return 0, ""
}

// isRequestLine reports whether b starts "Method SP Request-URI SP SIP/2.0".
func isRequestLine(b []byte) bool {
	line := b
	if i := bytes.IndexByte(b, '\n'); i >= 0 {
		line = b[:i]
	}
	line = bytes.TrimRight(line, "\r")
	parts := bytes.Split(line, []byte(" "))
	if len(parts) != 3 || !bytes.Equal(parts[2], []byte("SIP/2.0")) || len(parts[0]) == 0 {
		return false
	}
	for _, c := range parts[0] {
		// Method = token (RFC 3261 §25.1; RFC 4475 intmeth, esc02).
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' ||
			bytes.IndexByte([]byte("-.!%*_+`'~"), c) >= 0) {
			return false
		}
	}
	return true
}

// contentLength finds Content-Length (or its compact form l) in headers.
func contentLength(headers []byte) (int, bool) {
	for _, line := range bytes.Split(headers, []byte("\n")) {
		name, value, ok := bytes.Cut(line, []byte(":"))
		if !ok {
			continue
		}
		name = bytes.TrimSpace(name)
		if bytes.EqualFold(name, []byte("Content-Length")) || bytes.EqualFold(name, []byte("l")) {
			n, err := strconv.Atoi(string(bytes.TrimSpace(value)))
			if err != nil || n < 0 {
				return 0, false
			}
			return n, true
		}
	}
	return 0, false
}

// statelessResponse builds a response to a request that will never reach
// the transaction layer, copying Via, From, To, Call-ID and CSeq as found.
func statelessResponse(b []byte, code int, why string) []byte {
	end := bytes.Index(b, []byte("\n\n"))
	if i := bytes.Index(b, []byte("\r\n\r\n")); i >= 0 {
		end = i
	}
	if end < 0 {
		end = min(len(b), maxDatagram)
	}
	var out bytes.Buffer
	out.WriteString("SIP/2.0 " + strconv.Itoa(code) + " " + reasonFor(code) + " - " + why + "\r\n")
	copied := 0
	for _, line := range bytes.Split(b[:end], []byte("\n")) {
		line = bytes.TrimRight(line, "\r")
		name, _, ok := bytes.Cut(line, []byte(":"))
		if !ok {
			continue
		}
		switch string(bytes.ToLower(bytes.TrimSpace(name))) {
		case "via", "v", "from", "f", "to", "t", "call-id", "i", "cseq":
			if len(line) > 1024 {
				continue
			}
			out.Write(line)
			out.WriteString("\r\n")
			copied++
		}
	}
	if copied == 0 {
		return nil
	}
	out.WriteString("Content-Length: 0\r\n\r\n")
	return out.Bytes()
}

func reasonFor(code int) string {
	switch code {
	case 505:
		return "Version Not Supported"
	case 513:
		return "Message Too Large"
	case 416:
		return "Unsupported URI Scheme"
	}
	return defaultReason(code)
}

func firstLine(b []byte, max int) string {
	if i := bytes.IndexAny(b, "\r\n"); i >= 0 {
		b = b[:i]
	}
	if len(b) > max {
		b = b[:max]
	}
	return string(bytes.ToValidUTF8(b, []byte("?")))
}
