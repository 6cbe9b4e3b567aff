package sip

import (
	"errors"
	"fmt"
	"net/netip"
	"strconv"
	"strings"

	"github.com/pion/sdp/v3"

	"github.com/switchboard-voice/switchboard/media"
	"github.com/switchboard-voice/switchboard/media/sdes"
)

// ErrBadSDP is wrapped by every SDP parsing error; the switch answers 400.
var ErrBadSDP = errors.New("bad SDP")

// maxSDPSize bounds the SDP bodies the switch parses.
const maxSDPSize = 16 << 10

// RemoteMedia is what an SDP says about its sender's audio stream: the
// description and where to send RTP and RTCP.
type RemoteMedia struct {
	Desc media.Description
	RTP  netip.AddrPort // unspecified address (0.0.0.0) = hold, send nothing
	RTCP netip.AddrPort
	// Secure is true for RTP/SAVP profiles (SRTP).
	Secure bool
	// Crypto lists the sender's usable SDES keys (a=crypto, RFC 4568) in
	// its order; lines with suites or parameters the switch does not
	// support are left out.
	Crypto []sdes.Crypto
	// Layout is the SDP's m-lines in order; an answer to it declines all
	// but the audio stream with port 0 (RFC 3264 §6).
	Layout Layout
}

// Stream is one m-line of a session as the switch keeps it to answer or
// re-offer it declined: its media, transport and formats.
type Stream struct {
	Media   string // audio, video, application, ...
	Proto   string // RTP/AVP, UDP/TLS/RTP/SAVPF, ...
	Formats []string
}

// Layout is the m-lines of a leg's session in order: the audio stream the
// switch uses at index Audio, the others declined with port 0 (SIP legs
// carry no video). RFC 3264 §6 and §8 keep their number and order in every
// answer and later offer. The zero Layout is the audio line alone.
type Layout struct {
	Streams []Stream
	Audio   int
}

// staticPayloads are RFC 3551 payload types that need no rtpmap.
var staticPayloads = map[uint8]media.Codec{
	0:  {Name: "PCMU", PayloadType: 0, ClockRate: 8000},
	3:  {Name: "GSM", PayloadType: 3, ClockRate: 8000},
	8:  {Name: "PCMA", PayloadType: 8, ClockRate: 8000},
	9:  {Name: "G722", PayloadType: 9, ClockRate: 8000},
	13: {Name: "CN", PayloadType: 13, ClockRate: 8000},
	18: {Name: "G729", PayloadType: 18, ClockRate: 8000},
}

// canonicalName gives codec names the case the switch uses everywhere.
func canonicalName(n string) string {
	switch strings.ToLower(n) {
	case "pcmu":
		return "PCMU"
	case "pcma":
		return "PCMA"
	case "opus":
		return "opus"
	case "telephone-event":
		return "telephone-event"
	}
	return n
}

// ParseSDP reads the first audio stream of an SDP body. Other media streams
// are only recorded in the Layout, for the answer to decline them.
func ParseSDP(body []byte) (RemoteMedia, error) {
	var rm RemoteMedia
	if len(body) == 0 {
		return rm, fmt.Errorf("%w: empty body", ErrBadSDP)
	}
	if len(body) > maxSDPSize {
		return rm, fmt.Errorf("%w: %d bytes, more than %d", ErrBadSDP, len(body), maxSDPSize)
	}
	// RFC 4566 §5: a line ends with CRLF (LF alone is accepted), and its
	// text holds no CR or NUL. A bare CR would be read as part of a value
	// here and as a line end by the next parser (found by FuzzSDPRoundTrip).
	for i, b := range body {
		if b == 0 || (b == '\r' && (i+1 == len(body) || body[i+1] != '\n')) {
			return rm, fmt.Errorf("%w: a bare CR or a NUL at byte %d", ErrBadSDP, i)
		}
	}
	var s sdp.SessionDescription
	if err := s.UnmarshalString(string(body)); err != nil {
		return rm, fmt.Errorf("%w: %v", ErrBadSDP, err)
	}
	var m *sdp.MediaDescription
	for i, md := range s.MediaDescriptions {
		if md.MediaName.Media == "audio" && m == nil {
			m = md
			rm.Layout.Audio = i
		}
		rm.Layout.Streams = append(rm.Layout.Streams, Stream{
			Media:   md.MediaName.Media,
			Proto:   strings.Join(md.MediaName.Protos, "/"),
			Formats: md.MediaName.Formats,
		})
	}
	if m == nil {
		return rm, fmt.Errorf("%w: no audio stream", ErrBadSDP)
	}
	conn := m.ConnectionInformation
	if conn == nil {
		conn = s.ConnectionInformation
	}
	if conn == nil || conn.Address == nil {
		return rm, fmt.Errorf("%w: no connection address (c=)", ErrBadSDP)
	}
	addr, err := netip.ParseAddr(conn.Address.Address)
	if err != nil {
		return rm, fmt.Errorf("%w: connection address %q is not an IP address", ErrBadSDP, conn.Address.Address)
	}
	port := m.MediaName.Port.Value
	if port < 0 || port > 65535 {
		return rm, fmt.Errorf("%w: port %d out of range", ErrBadSDP, port)
	}
	proto := strings.Join(m.MediaName.Protos, "/")
	switch proto {
	case "RTP/AVP", "RTP/AVPF":
	case "RTP/SAVP", "RTP/SAVPF":
		rm.Secure = true
	default:
		return rm, fmt.Errorf("%w: unsupported transport %q", ErrBadSDP, proto)
	}
	rm.RTP = netip.AddrPortFrom(addr.Unmap(), uint16(port))
	if port != 0 {
		rm.RTCP = netip.AddrPortFrom(addr.Unmap(), uint16(port+1))
	}

	d := &rm.Desc
	d.Direction = media.SendRecv
	// Session-level direction applies unless the stream overrides it.
	for _, a := range s.Attributes {
		if dir, ok := media.ParseDirection(a.Key); ok {
			d.Direction = dir
		}
	}
	rtpmap := map[uint8]media.Codec{}
	fmtp := map[uint8]string{}
	for _, a := range m.Attributes {
		if dir, ok := media.ParseDirection(a.Key); ok {
			d.Direction = dir
			continue
		}
		switch a.Key {
		case "rtpmap":
			pt, c, err := parseRtpmap(a.Value)
			if err != nil {
				return rm, err
			}
			rtpmap[pt] = c
		case "fmtp":
			ptStr, rest, _ := strings.Cut(a.Value, " ")
			pt, err := strconv.ParseUint(ptStr, 10, 7)
			if err == nil {
				fmtp[uint8(pt)] = strings.TrimSpace(rest)
			}
		case "ptime":
			if v, err := strconv.Atoi(strings.TrimSpace(a.Value)); err == nil && v > 0 && v <= 1000 {
				d.Ptime = v
			}
		case "rtcp-mux":
			d.RTCPMux = true
		case "crypto":
			if c, err := sdes.ParseCrypto(a.Value); err == nil {
				rm.Crypto = append(rm.Crypto, c)
			}
		case "rtcp":
			// a=rtcp:PORT [IN IP4 addr]
			f := strings.Fields(a.Value)
			if len(f) > 0 {
				if p, err := strconv.ParseUint(f[0], 10, 16); err == nil {
					rtcpAddr := addr
					if len(f) == 4 {
						if ra, err := netip.ParseAddr(f[3]); err == nil {
							rtcpAddr = ra
						}
					}
					rm.RTCP = netip.AddrPortFrom(rtcpAddr.Unmap(), uint16(p))
				}
			}
		}
	}
	for _, f := range m.MediaName.Formats {
		v, err := strconv.ParseUint(f, 10, 7)
		if err != nil {
			return rm, fmt.Errorf("%w: payload type %q", ErrBadSDP, f)
		}
		pt := uint8(v)
		c, ok := rtpmap[pt]
		if !ok {
			c, ok = staticPayloads[pt]
			if !ok {
				continue // dynamic type without rtpmap: unusable, skip
			}
		}
		c.PayloadType = pt
		c.Fmtp = fmtp[pt]
		d.Codecs = append(d.Codecs, c)
	}
	if port != 0 && len(d.Codecs) == 0 {
		return rm, fmt.Errorf("%w: audio stream has no usable payload type", ErrBadSDP)
	}
	// RFC 2543 hold: c=0.0.0.0 means "do not send to me".
	if addr.IsUnspecified() {
		switch d.Direction {
		case media.SendRecv:
			d.Direction = media.SendOnly
		case media.RecvOnly:
			d.Direction = media.Inactive
		}
	}
	if d.RTCPMux {
		rm.RTCP = rm.RTP
	}
	return rm, nil
}

func parseRtpmap(v string) (uint8, media.Codec, error) {
	var c media.Codec
	ptStr, enc, ok := strings.Cut(strings.TrimSpace(v), " ")
	if !ok {
		return 0, c, fmt.Errorf("%w: rtpmap %q", ErrBadSDP, v)
	}
	pt, err := strconv.ParseUint(ptStr, 10, 7)
	if err != nil {
		return 0, c, fmt.Errorf("%w: rtpmap payload type %q", ErrBadSDP, ptStr)
	}
	parts := strings.Split(strings.TrimSpace(enc), "/")
	if len(parts) < 2 || parts[0] == "" {
		return 0, c, fmt.Errorf("%w: rtpmap encoding %q", ErrBadSDP, enc)
	}
	rate, err := strconv.ParseUint(parts[1], 10, 32)
	if err != nil || rate == 0 {
		return 0, c, fmt.Errorf("%w: rtpmap clock rate %q", ErrBadSDP, parts[1])
	}
	c.Name = canonicalName(parts[0])
	c.ClockRate = uint32(rate)
	if len(parts) > 2 {
		ch, err := strconv.ParseUint(parts[2], 10, 8)
		if err != nil {
			return 0, c, fmt.Errorf("%w: rtpmap channels %q", ErrBadSDP, parts[2])
		}
		c.Channels = uint8(ch)
	}
	return uint8(pt), c, nil
}

// SDPOrigin identifies the switch's SDP session for one leg; Version grows
// with every new offer or answer the leg sends (RFC 3264 §8).
type SDPOrigin struct {
	SessionID uint64
	Version   uint64
}

// RenderSDP writes the SDP the switch sends on a leg: its own media address
// and the description's codecs, direction and options, in the m-line of
// layout that carries audio; layout's other m-lines are declined (port 0).
func RenderSDP(d media.Description, addr netip.AddrPort, o SDPOrigin, sec Security, layout Layout) []byte {
	ip := addr.Addr()
	family := "IP4"
	if ip.Is6() && !ip.Is4In6() {
		family = "IP6"
	}
	var b strings.Builder
	b.Grow(256)
	fmt.Fprintf(&b, "v=0\r\no=- %d %d IN %s %s\r\ns=Switchboard\r\nc=IN %s %s\r\nt=0 0\r\n",
		o.SessionID, o.Version, family, ip, family, ip)
	if len(layout.Streams) == 0 {
		renderAudio(&b, d, addr, sec)
		return []byte(b.String())
	}
	for i, st := range layout.Streams {
		if i == layout.Audio {
			renderAudio(&b, d, addr, sec)
			continue
		}
		b.WriteString("m=" + st.Media + " 0 " + st.Proto)
		if len(st.Formats) == 0 {
			b.WriteString(" 0") // an m-line needs a format, even declined
		}
		for _, f := range st.Formats {
			b.WriteString(" " + f)
		}
		b.WriteString("\r\n")
	}
	return []byte(b.String())
}

// renderAudio writes the audio m-line and its attributes.
func renderAudio(b *strings.Builder, d media.Description, addr netip.AddrPort, sec Security) {
	b.WriteString("m=audio ")
	b.WriteString(strconv.Itoa(int(addr.Port())))
	if sec.SAVP {
		b.WriteString(" RTP/SAVP")
	} else {
		b.WriteString(" RTP/AVP")
	}
	for _, c := range d.Codecs {
		b.WriteByte(' ')
		b.WriteString(strconv.Itoa(int(c.PayloadType)))
	}
	b.WriteString("\r\n")
	for _, c := range d.Codecs {
		fmt.Fprintf(b, "a=rtpmap:%d %s/%d", c.PayloadType, c.Name, c.ClockRate)
		if c.Channels > 1 {
			fmt.Fprintf(b, "/%d", c.Channels)
		}
		b.WriteString("\r\n")
		if c.Fmtp != "" {
			fmt.Fprintf(b, "a=fmtp:%d %s\r\n", c.PayloadType, c.Fmtp)
		}
	}
	if d.Ptime > 0 {
		fmt.Fprintf(b, "a=ptime:%d\r\n", d.Ptime)
	}
	if d.RTCPMux {
		b.WriteString("a=rtcp-mux\r\n")
	}
	for _, c := range sec.Crypto {
		b.WriteString("a=crypto:" + c.Value() + "\r\n")
	}
	b.WriteString("a=" + d.Direction.String() + "\r\n")
}
