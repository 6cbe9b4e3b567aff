package siptest

import (
	"errors"
	"fmt"
	"net"
	"strconv"
	"strings"

	"github.com/pion/sdp/v3"

	"github.com/switchboard-voice/switchboard/media/sdes"
)

// Media directions (RFC 3264).
const (
	SendRecv = "sendrecv"
	SendOnly = "sendonly"
	RecvOnly = "recvonly"
	Inactive = "inactive"
)

// SRTPMode selects how a call protects its media.
type SRTPMode string

// SRTP modes.
const (
	// SRTPNone is plain RTP (RTP/AVP). A UA in this mode answers an RTP/SAVP
	// offer with 488, as a UA without SRTP does.
	SRTPNone SRTPMode = ""
	// SRTPSDES is SDES-SRTP (RFC 4568): the offer is RTP/SAVP with one
	// a=crypto line (AES_CM_128_HMAC_SHA1_80); an RTP/SAVP offer is answered
	// by selecting one of its crypto lines and sending our own key. A UA in
	// this mode requires SRTP: it answers an RTP/AVP offer with 488.
	SRTPSDES SRTPMode = "sdes"
)

func (s SRTPMode) valid() bool { return s == SRTPNone || s == SRTPSDES }

// Codec names, payload types and clocks the UA speaks.
const (
	ptPCMU  uint8 = 0
	ptPCMA  uint8 = 8
	ptOpus  uint8 = 111
	ptTE8k  uint8 = 101 // telephone-event/8000
	ptTE48k uint8 = 110 // telephone-event/48000

	teName   = "telephone-event"
	opusFmtp = "minptime=10;useinbandfec=1"
	teFmtp   = "0-16"
)

// format is one payload type of an SDP media line.
type format struct {
	pt       uint8
	name     string // rtpmap encoding name: PCMU, PCMA, opus, telephone-event; "" unknown
	clock    int    // RTP clock rate
	channels int    // rtpmap channels; 0 when not given
	fmtp     string
}

func (f format) isTE() bool { return strings.EqualFold(f.name, teName) }

// codec returns the canonical name of f's codec ("PCMU", "PCMA", "opus") or
// "" when the UA does not speak it.
func (f format) codec() string {
	for name, s := range supportedCodecs {
		if strings.EqualFold(f.name, s.name) && f.clock == s.clock {
			return name
		}
	}
	return ""
}

// frameSamples is the number of RTP clock units in one 20 ms frame.
func (f format) frameSamples() int { return f.clock / 50 }

// supportedCodecs are the codecs the UA offers, by canonical name, with the
// payload type it offers them at.
var supportedCodecs = map[string]format{
	"PCMU": {pt: ptPCMU, name: "PCMU", clock: 8000},
	"PCMA": {pt: ptPCMA, name: "PCMA", clock: 8000},
	"opus": {pt: ptOpus, name: "opus", clock: 48000, channels: 2, fmtp: opusFmtp},
}

// staticFormats are the static payload types an SDP may use without rtpmap.
var staticFormats = map[uint8]format{
	ptPCMU: supportedCodecs["PCMU"],
	ptPCMA: supportedCodecs["PCMA"],
}

func teFormat(clock int) format {
	pt := ptTE8k
	if clock == 48000 {
		pt = ptTE48k
	}
	return format{pt: pt, name: teName, clock: clock, fmtp: teFmtp}
}

// offerFormats maps codec names (PCMU, PCMA, opus; case-insensitive) to the
// formats offered, in order, followed by telephone-event at each codec
// clock unless noTE.
func offerFormats(names, def []string, noTE bool) ([]format, error) {
	if len(names) == 0 {
		names = def
	}
	var fs []format
	var clocks []int
	for _, n := range names {
		f, ok := lookupCodec(n)
		if !ok {
			return nil, fmt.Errorf("siptest: unsupported codec %q (PCMU, PCMA, opus)", n)
		}
		fs = append(fs, f)
		if !containsInt(clocks, f.clock) {
			clocks = append(clocks, f.clock)
		}
	}
	if !noTE {
		for _, clock := range clocks {
			fs = append(fs, teFormat(clock))
		}
	}
	return fs, nil
}

func lookupCodec(name string) (format, bool) {
	for canon, f := range supportedCodecs {
		if strings.EqualFold(canon, strings.TrimSpace(name)) {
			return f, true
		}
	}
	return format{}, false
}

func containsInt(s []int, v int) bool {
	for _, x := range s {
		if x == v {
			return true
		}
	}
	return false
}

// negotiate picks, in remote's order, the first codec of remote (an offer
// or an answer) that is in ours, and the telephone-event of remote at that
// codec's clock if ours has one at that clock. The formats returned carry
// remote's payload types.
func negotiate(remote, ours []format) (codec, te format, hasTE, ok bool) {
	for _, r := range remote {
		if r.isTE() || r.codec() == "" {
			continue
		}
		for _, o := range ours {
			if !o.isTE() && o.codec() == r.codec() {
				codec, ok = r, true
				codec.name = o.name
				codec.channels = o.channels
				codec.fmtp = o.fmtp
				break
			}
		}
		if ok {
			break
		}
	}
	if !ok {
		return codec, te, false, false
	}
	weTE := false
	for _, o := range ours {
		if o.isTE() && o.clock == codec.clock {
			weTE = true
		}
	}
	if weTE {
		for _, r := range remote {
			if r.isTE() && r.clock == codec.clock {
				te, hasTE = r, true
				te.name, te.fmtp = teName, teFmtp
				break
			}
		}
	}
	return codec, te, hasTE, true
}

// answerDirection is the direction an answerer puts in its answer to an
// offer with the given direction (RFC 3264 6.1).
func answerDirection(offered string) string {
	switch offered {
	case SendOnly:
		return RecvOnly
	case RecvOnly:
		return SendOnly
	case Inactive:
		return Inactive
	}
	return SendRecv
}

// sends reports whether a side whose SDP says dir sends media.
func sends(dir string) bool { return dir == SendRecv || dir == SendOnly }

// sdpInfo is what the UA needs from a peer's SDP: the first audio stream.
type sdpInfo struct {
	addr      *net.UDPAddr // nil when the address is 0.0.0.0 or the port 0
	formats   []format     // audio payload types, in the peer's order of preference
	direction string
	proto     string        // "RTP/AVP", "RTP/SAVP", ...
	cryptos   []sdes.Crypto // the a=crypto lines we could parse
}

// secure reports whether the stream is SRTP (RTP/SAVP or RTP/SAVPF).
func (i *sdpInfo) secure() bool { return strings.Contains(strings.ToUpper(i.proto), "SAVP") }

func parseSDP(body []byte) (*sdpInfo, error) {
	var s sdp.SessionDescription
	if err := s.Unmarshal(body); err != nil {
		return nil, fmt.Errorf("parse sdp: %w", err)
	}
	var md *sdp.MediaDescription
	for _, m := range s.MediaDescriptions {
		if m.MediaName.Media == "audio" {
			md = m
			break
		}
	}
	if md == nil {
		return nil, errors.New("sdp has no audio stream")
	}
	info := &sdpInfo{direction: SendRecv, proto: strings.Join(md.MediaName.Protos, "/")}
	for _, a := range s.Attributes {
		if isDirection(a.Key) {
			info.direction = a.Key
		}
	}
	rtpmap := map[uint8]format{}
	fmtp := map[uint8]string{}
	for _, a := range md.Attributes {
		switch {
		case isDirection(a.Key):
			info.direction = a.Key
		case a.Key == "rtpmap":
			if f, ok := parseRtpmap(a.Value); ok {
				rtpmap[f.pt] = f
			}
		case a.Key == "fmtp":
			ptStr, params, _ := strings.Cut(a.Value, " ")
			if pt, err := strconv.ParseUint(ptStr, 10, 7); err == nil {
				fmtp[uint8(pt)] = strings.TrimSpace(params)
			}
		case a.Key == "crypto":
			if c, err := sdes.ParseCrypto(a.Value); err == nil {
				info.cryptos = append(info.cryptos, c)
			}
		}
	}
	for _, fs := range md.MediaName.Formats {
		pt64, err := strconv.ParseUint(fs, 10, 7)
		if err != nil {
			continue
		}
		pt := uint8(pt64)
		f, ok := rtpmap[pt]
		if !ok {
			f, ok = staticFormats[pt]
			if !ok {
				f = format{pt: pt}
			}
		}
		f.pt = pt
		f.fmtp = fmtp[pt]
		info.formats = append(info.formats, f)
	}
	conn := s.ConnectionInformation
	if md.ConnectionInformation != nil {
		conn = md.ConnectionInformation
	}
	if conn != nil && conn.Address != nil && md.MediaName.Port.Value != 0 {
		host := conn.Address.Address
		if i := strings.IndexByte(host, '/'); i >= 0 { // multicast TTL
			host = host[:i]
		}
		if ip := net.ParseIP(host); ip != nil && !ip.IsUnspecified() {
			info.addr = &net.UDPAddr{IP: ip, Port: md.MediaName.Port.Value}
		}
	}
	return info, nil
}

// parseRtpmap parses "111 opus/48000/2".
func parseRtpmap(v string) (format, bool) {
	ptStr, enc, ok := strings.Cut(strings.TrimSpace(v), " ")
	if !ok {
		return format{}, false
	}
	pt, err := strconv.ParseUint(ptStr, 10, 7)
	if err != nil {
		return format{}, false
	}
	parts := strings.Split(strings.TrimSpace(enc), "/")
	if len(parts) < 2 {
		return format{}, false
	}
	clock, err := strconv.Atoi(parts[1])
	if err != nil || clock <= 0 {
		return format{}, false
	}
	f := format{pt: uint8(pt), name: parts[0], clock: clock}
	if len(parts) > 2 {
		f.channels, _ = strconv.Atoi(parts[2])
	}
	return f, true
}

func isDirection(k string) bool {
	return k == SendRecv || k == SendOnly || k == RecvOnly || k == Inactive
}

// buildSDP returns an SDP body with one audio stream offering or answering
// formats on ip:port: RTP/SAVP with an a=crypto line when crypto is set,
// RTP/AVP otherwise. With video, an m=video line (VP8 on port+2) follows.
func buildSDP(sessionID, version uint64, ip string, port int, formats []format, direction string, crypto *sdes.Crypto, video bool) []byte {
	addrType := "IP4"
	if parsed := net.ParseIP(ip); parsed != nil && parsed.To4() == nil {
		addrType = "IP6"
	}
	protos := []string{"RTP", "AVP"}
	if crypto != nil {
		protos = []string{"RTP", "SAVP"}
	}
	md := &sdp.MediaDescription{
		MediaName: sdp.MediaName{
			Media:  "audio",
			Port:   sdp.RangedPort{Value: port},
			Protos: protos,
		},
	}
	for _, f := range formats {
		md.MediaName.Formats = append(md.MediaName.Formats, strconv.Itoa(int(f.pt)))
		m := fmt.Sprintf("%d %s/%d", f.pt, f.name, f.clock)
		if f.channels > 1 {
			m += "/" + strconv.Itoa(f.channels)
		}
		md.Attributes = append(md.Attributes, sdp.NewAttribute("rtpmap", m))
		if f.fmtp != "" {
			md.Attributes = append(md.Attributes, sdp.NewAttribute("fmtp", fmt.Sprintf("%d %s", f.pt, f.fmtp)))
		}
	}
	if crypto != nil {
		md.Attributes = append(md.Attributes, sdp.NewAttribute("crypto", crypto.Value()))
	}
	md.Attributes = append(md.Attributes,
		sdp.NewAttribute("ptime", "20"),
		sdp.NewPropertyAttribute(direction),
	)
	s := &sdp.SessionDescription{
		Origin: sdp.Origin{
			Username:       "siptest",
			SessionID:      sessionID,
			SessionVersion: version,
			NetworkType:    "IN",
			AddressType:    addrType,
			UnicastAddress: ip,
		},
		SessionName:           "siptest",
		ConnectionInformation: &sdp.ConnectionInformation{NetworkType: "IN", AddressType: addrType, Address: &sdp.Address{Address: ip}},
		TimeDescriptions:      []sdp.TimeDescription{{}},
		MediaDescriptions:     []*sdp.MediaDescription{md},
	}
	if video {
		s.MediaDescriptions = append(s.MediaDescriptions, &sdp.MediaDescription{
			MediaName: sdp.MediaName{Media: "video", Port: sdp.RangedPort{Value: port + 2}, Protos: protos, Formats: []string{"96"}},
			Attributes: []sdp.Attribute{
				sdp.NewAttribute("rtpmap", "96 VP8/90000"),
				sdp.NewPropertyAttribute(SendRecv),
			},
		})
	}
	b, err := s.Marshal()
	if err != nil { // cannot happen with the fields set above
		panic(err)
	}
	return b
}
