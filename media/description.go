package media

import "strings"

// Direction is an RTP stream's direction attribute (RFC 3264 §5.1).
type Direction uint8

// Directions as they appear in SDP.
const (
	SendRecv Direction = iota
	SendOnly
	RecvOnly
	Inactive
)

func (d Direction) String() string {
	switch d {
	case SendOnly:
		return "sendonly"
	case RecvOnly:
		return "recvonly"
	case Inactive:
		return "inactive"
	default:
		return "sendrecv"
	}
}

// ParseDirection reads an SDP direction attribute; ok is false for other names.
func ParseDirection(s string) (d Direction, ok bool) {
	switch s {
	case "sendrecv":
		return SendRecv, true
	case "sendonly":
		return SendOnly, true
	case "recvonly":
		return RecvOnly, true
	case "inactive":
		return Inactive, true
	}
	return SendRecv, false
}

// Sends reports whether the party using d sends media.
func (d Direction) Sends() bool { return d == SendRecv || d == SendOnly }

// Receives reports whether the party using d receives media.
func (d Direction) Receives() bool { return d == SendRecv || d == RecvOnly }

// Reverse is the direction seen from the other end (sendonly ↔ recvonly).
func (d Direction) Reverse() Direction {
	switch d {
	case SendOnly:
		return RecvOnly
	case RecvOnly:
		return SendOnly
	}
	return d
}

// AnswerTo returns the direction an answerer that would like to use want may
// answer to offer with, per RFC 3264 §6.1: never more than the offer allows,
// so a sendonly offer is answered recvonly (or inactive), never sendrecv.
func (want Direction) AnswerTo(offer Direction) Direction {
	allowed := offer.Reverse()
	send := want.Sends() && allowed.Sends()
	recv := want.Receives() && allowed.Receives()
	switch {
	case send && recv:
		return SendRecv
	case send:
		return SendOnly
	case recv:
		return RecvOnly
	}
	return Inactive
}

// Codec is one RTP payload format of a media description.
type Codec struct {
	Name        string // as in rtpmap, canonical case: PCMU, PCMA, opus, telephone-event
	PayloadType uint8
	ClockRate   uint32
	Channels    uint8 // 0 or 1 = mono
	Fmtp        string
}

// Is reports whether c has the given encoding name (case-insensitive).
func (c Codec) Is(name string) bool { return strings.EqualFold(c.Name, name) }

// Description is what one leg offers or answers for its audio stream, free of
// transport addresses: legs exchange Descriptions, each renders its own SDP
// (SIP) or WebRTC session with its own address, so nothing of one leg's
// topology reaches the other.
type Description struct {
	Codecs    []Codec // in preference order
	Direction Direction
	Ptime     int  // ms, 0 = unspecified
	RTCPMux   bool // rtcp-mux offered/accepted
}

// Clone returns a deep copy.
func (d Description) Clone() Description {
	d.Codecs = append([]Codec(nil), d.Codecs...)
	return d
}

// Audio returns the codecs that carry audio (everything but telephone-event and comfort noise).
func (d Description) Audio() []Codec {
	var out []Codec
	for _, c := range d.Codecs {
		if !c.Is("telephone-event") && !c.Is("CN") {
			out = append(out, c)
		}
	}
	return out
}

// Filter keeps the codecs whose names are in allowed, ordered by allowed's
// preference; telephone-event entries are kept (at the end) when keepEvents is true.
func (d Description) Filter(allowed []string, keepEvents bool) Description {
	out := d
	out.Codecs = nil
	for _, name := range allowed {
		for _, c := range d.Codecs {
			if c.Is(name) {
				out.Codecs = append(out.Codecs, c)
			}
		}
	}
	if keepEvents {
		for _, c := range d.Codecs {
			if c.Is("telephone-event") {
				out.Codecs = append(out.Codecs, c)
			}
		}
	}
	return out
}

// Intersect returns the codecs of answer that were in offer (by name and clock
// rate), in the answer's order, with the offer's payload type numbers kept in
// a separate slice so relays can map one to the other.
func Intersect(offer, answer []Codec) []Codec {
	var out []Codec
	for _, a := range answer {
		for _, o := range offer {
			if o.Is(a.Name) && o.ClockRate == a.ClockRate {
				out = append(out, a)
				break
			}
		}
	}
	return out
}
