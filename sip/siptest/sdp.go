package siptest

import (
	"errors"
	"fmt"
	"net"
	"strconv"
	"strings"

	"github.com/pion/sdp/v3"
)

// Media directions (RFC 3264).
const (
	SendRecv = "sendrecv"
	SendOnly = "sendonly"
	RecvOnly = "recvonly"
	Inactive = "inactive"
)

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
	pts       []uint8      // audio payload types, in the peer's order of preference
	direction string
}

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
	info := &sdpInfo{direction: SendRecv}
	for _, a := range s.Attributes {
		if isDirection(a.Key) {
			info.direction = a.Key
		}
	}
	for _, a := range md.Attributes {
		if isDirection(a.Key) {
			info.direction = a.Key
		}
	}
	for _, f := range md.MediaName.Formats {
		if pt, err := strconv.ParseUint(f, 10, 7); err == nil {
			info.pts = append(info.pts, uint8(pt))
		}
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

func isDirection(k string) bool {
	return k == SendRecv || k == SendOnly || k == RecvOnly || k == Inactive
}

// buildSDP returns an SDP body with one audio stream offering or answering
// the payload types pts on ip:port.
func buildSDP(sessionID, version uint64, ip string, port int, pts []uint8, direction string) []byte {
	addrType := "IP4"
	if parsed := net.ParseIP(ip); parsed != nil && parsed.To4() == nil {
		addrType = "IP6"
	}
	md := &sdp.MediaDescription{
		MediaName: sdp.MediaName{
			Media:  "audio",
			Port:   sdp.RangedPort{Value: port},
			Protos: []string{"RTP", "AVP"},
		},
	}
	for _, pt := range pts {
		md.MediaName.Formats = append(md.MediaName.Formats, strconv.Itoa(int(pt)))
		md.Attributes = append(md.Attributes, sdp.NewAttribute("rtpmap", fmt.Sprintf("%d %s/%d", pt, ptCodec[pt], sampleRate)))
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
	b, err := s.Marshal()
	if err != nil { // cannot happen with the fields set above
		panic(err)
	}
	return b
}

// codecPTs maps codec names (PCMU, PCMA; case-insensitive) to payload types.
func codecPTs(names []string, def []string) ([]uint8, error) {
	if len(names) == 0 {
		names = def
	}
	pts := make([]uint8, 0, len(names))
	for _, n := range names {
		pt, ok := codecPT[strings.ToUpper(n)]
		if !ok {
			return nil, fmt.Errorf("siptest: unsupported codec %q (PCMU, PCMA)", n)
		}
		pts = append(pts, pt)
	}
	return pts, nil
}

// pickPT returns the first of offered that is in ours.
func pickPT(offered, ours []uint8) (uint8, bool) {
	for _, o := range offered {
		for _, p := range ours {
			if o == p {
				return o, true
			}
		}
	}
	return 0, false
}
