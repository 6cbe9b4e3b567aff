package media

import "encoding/binary"

// bufSize is the receive buffer of each UDP socket: more than any Ethernet MTU.
const bufSize = 2048

const (
	rtpHeaderLen  = 12
	rtcpHeaderLen = 8 // common header + sender SSRC: the smallest RTCP packet (empty RR)
	rtpVersion    = 2
)

// packetKind tells what arrived on a socket.
type packetKind uint8

const (
	kindInvalid packetKind = iota
	kindRTP
	kindRTCP
)

// isRTCPType reports whether the second byte of a packet is an RTCP packet
// type. RFC 5761 §4 reserves 192–223 (SR 200, RR 201, SDES 202, BYE 203,
// APP 204, RTPFB 205, PSFB 206, XR 207, …) so that RTP and RTCP can share a
// port: RTP payload types 64–95 are never used for that reason.
func isRTCPType(b1 byte) bool { return b1 >= 192 && b1 <= 223 }

// classify tells RTP from RTCP (muxed on the RTP port, RFC 5761) and from
// garbage. It checks only what it must to keep the forwarder honest: version 2,
// a complete header (CSRCs and header extension included), sane padding, and
// for RTCP the first packet's length. It never allocates.
func classify(b []byte) packetKind {
	if len(b) < rtcpHeaderLen || b[0]>>6 != rtpVersion {
		return kindInvalid
	}
	if isRTCPType(b[1]) {
		if !rtcpLengthOK(b) {
			return kindInvalid
		}
		return kindRTCP
	}
	if len(b) < rtpHeaderLen {
		return kindInvalid
	}
	n := rtpHeaderLen + 4*int(b[0]&0x0f)
	if b[0]&0x10 != 0 { // header extension
		if len(b) < n+4 {
			return kindInvalid
		}
		n += 4 + 4*int(binary.BigEndian.Uint16(b[n+2:]))
	}
	if len(b) < n {
		return kindInvalid
	}
	if b[0]&0x20 != 0 { // padding: the last byte counts the padding bytes
		p := int(b[len(b)-1])
		if p == 0 || n+p > len(b) {
			return kindInvalid
		}
	}
	return kindRTP
}

// classifyRTCP accepts only RTCP: what the RTCP port may carry.
func classifyRTCP(b []byte) packetKind {
	if len(b) < rtcpHeaderLen || b[0]>>6 != rtpVersion || !isRTCPType(b[1]) || !rtcpLengthOK(b) {
		return kindInvalid
	}
	return kindRTCP
}

// rtcpLengthOK reports whether the first RTCP packet of a (compound) packet
// fits in b. Its length field counts 32-bit words minus one.
func rtcpLengthOK(b []byte) bool {
	return (int(binary.BigEndian.Uint16(b[2:]))+1)*4 <= len(b)
}

// rtpPayload returns the payload of a packet classify accepted as RTP:
// after the CSRCs and header extension, before any padding.
func rtpPayload(b []byte) []byte {
	n := rtpHeaderLen + 4*int(b[0]&0x0f)
	if b[0]&0x10 != 0 {
		n += 4 + 4*int(binary.BigEndian.Uint16(b[n+2:]))
	}
	end := len(b)
	if b[0]&0x20 != 0 {
		end -= int(b[len(b)-1])
	}
	if n > end {
		return nil
	}
	return b[n:end]
}
