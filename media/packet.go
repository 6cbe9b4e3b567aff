package media

import (
	"encoding/binary"
	"math/rand/v2"
)

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

// RTPPayload returns the payload of an RTP packet: after the CSRCs and
// header extension, before any padding; ok is false when b is not a whole
// RTP packet.
func RTPPayload(b []byte) (payload []byte, ok bool) {
	if len(b) < rtpHeaderLen || b[0]>>6 != rtpVersion {
		return nil, false
	}
	n := rtpHeaderLen + 4*int(b[0]&0x0f)
	if b[0]&0x10 != 0 {
		if len(b) < n+4 {
			return nil, false
		}
		n += 4 + 4*int(binary.BigEndian.Uint16(b[n+2:]))
	}
	end := len(b)
	if b[0]&0x20 != 0 {
		end -= int(b[len(b)-1])
	}
	if n > end {
		return nil, false
	}
	return b[n:end], true
}

// rtpPayload is RTPPayload of a packet classify accepted as RTP (nil if
// its lengths do not add up).
func rtpPayload(b []byte) []byte {
	p, _ := RTPPayload(b)
	return p
}

// putRTPHeader writes a 12-byte RTP header (version 2, no CSRC or
// extension) into p.
func putRTPHeader(p []byte, pt uint8, marker bool, seq uint16, ts, ssrc uint32) {
	p[0] = rtpVersion << 6
	p[1] = pt & 0x7f
	if marker {
		p[1] |= 0x80
	}
	binary.BigEndian.PutUint16(p[2:], seq)
	binary.BigEndian.PutUint32(p[4:], ts)
	binary.BigEndian.PutUint32(p[8:], ssrc)
}

// frameStream numbers the packets of audio the switch makes itself (a
// transcoder direction, a player): one SSRC, consecutive sequence numbers,
// timestamps one frame apart, the marker on the first packet of each
// talkspurt. Socket.WriteRTP then renumbers it into the leg's own stream.
type frameStream struct {
	pt     uint8
	step   uint32 // timestamp units per frame
	ssrc   uint32
	seq    uint16
	ts     uint32
	marker bool
}

func newFrameStream(pt uint8, step uint32) frameStream {
	return frameStream{pt: pt, step: step, ssrc: rand.Uint32(), seq: uint16(rand.Uint32()), ts: rand.Uint32(), marker: true}
}

// packet writes the header of the next packet into p, whose payload of n
// bytes follows the header, and returns the packet.
func (f *frameStream) packet(p []byte, n int) []byte {
	putRTPHeader(p, f.pt, f.marker, f.seq, f.ts, f.ssrc)
	f.marker = false
	f.seq++
	f.ts += f.step
	return p[:rtpHeaderLen+n]
}

// skip lets a frame's time pass with nothing sent; the next packet starts a
// new talkspurt.
func (f *frameStream) skip() {
	f.ts += f.step
	f.marker = true
}
