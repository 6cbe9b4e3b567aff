// Package dtmf carries telephone keypad digits: RFC 4733 telephone-event RTP
// payloads (detection and generation) and the SIP INFO bodies
// application/dtmf-relay and application/dtmf.
//
// A [Detector] turns the telephone-event packets received on one leg into
// exactly one Begin and one End [Report] per key press, however many
// continuation and retransmitted end packets the sender emits. A [Generator]
// produces the packets for one digit on another leg, at that leg's clock rate
// (8000 and 48000 Hz are both common), so relaying a digit between clocks is
// Detector -> [Report].Duration -> [Generator.Start]. [ParseInfo] and
// [FormatInfo] handle the SIP INFO side.
//
// The RTP header (sequence number, SSRC, payload type) is the caller's
// business: the generator returns payload, marker bit and timestamp only, and
// the detector is fed the same three things. Neither type allocates per
// packet, and neither is safe for concurrent use.
package dtmf
