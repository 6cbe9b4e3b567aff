package media

import (
	"encoding/binary"
	"math/rand/v2"
	"time"

	"github.com/switchboard-voice/switchboard/media/codec"
	"github.com/switchboard-voice/switchboard/media/sdes"
)

// StreamConfig is what a leg agreed with its party for the audio stream on
// its socket. The leg sets it (Socket.Configure) whenever an offer/answer
// completes; bridges read it to choose between relaying and transcoding.
type StreamConfig struct {
	// Audio is the codec the party sends and expects, with the payload type
	// this leg uses for it. The zero Codec means not negotiated yet.
	Audio Codec
	// Event is telephone-event (RFC 4733) at Audio's clock rate, or the
	// zero Codec when the leg does not use it (SIP INFO DTMF, or not offered).
	Event Codec
	// Ptime is the party's packet time in ms (a=ptime), 0 = 20.
	Ptime int
	// Encoder is how to encode audio towards the party when the switch
	// transcodes (Opus complexity, bitrate, FEC, the peer's maxplaybackrate).
	Encoder codec.Options
	// SRTP protects the stream; nil for plain RTP.
	SRTP *sdes.Session
	// Sending tells whether the party sends media (its direction attribute
	// is sendrecv or sendonly): a leg on hold is not timed out for silence.
	Sending bool
}

// HasEvents reports whether the leg carries RFC 4733 telephone-events.
func (c StreamConfig) HasEvents() bool { return c.Event.Name != "" }

// SameAudio reports whether a and b carry the same audio codec, so that
// packets can be relayed between them without decoding.
func SameAudio(a, b StreamConfig) bool {
	return a.Audio.Name != "" && a.Audio.Is(b.Audio.Name) && a.Audio.ClockRate == b.Audio.ClockRate
}

// outStream makes what a socket sends one RTP stream of its own: one SSRC
// (chosen by the switch), sequence numbers and timestamps that continue
// across changes of the source (a re-INVITE, a new SSRC from the far end, a
// switch from relaying to transcoding) and around packets the switch injects
// (DTMF events). Within one source, gaps and reordering pass through.
// The socket's write mutex guards it.
type outStream struct {
	ssrc     uint32
	clock    uint32 // Hz, for timestamp continuity; 8000 until configured
	started  bool
	inSSRC   uint32
	seqDelta uint16
	tsDelta  uint32
	lastSeq  uint16
	lastTS   uint32
	lastAt   time.Time
}

func newOutStream() outStream {
	return outStream{ssrc: rand.Uint32(), clock: 8000, seqDelta: uint16(rand.Uint32()), tsDelta: rand.Uint32(),
		lastSeq: uint16(rand.Uint32())} // where injected packets start if they come first
}

// rewrite gives pkt (a valid RTP packet) the stream's SSRC, sequence number
// and timestamp, in place.
func (o *outStream) rewrite(pkt []byte, now time.Time) {
	ssrc := binary.BigEndian.Uint32(pkt[8:])
	seq := binary.BigEndian.Uint16(pkt[2:])
	ts := binary.BigEndian.Uint32(pkt[4:])
	if !o.started || ssrc != o.inSSRC {
		if o.started || !o.lastAt.IsZero() { // (not started but sent: injected packets came first)
			// A new source: carry on one packet after the last one sent,
			// its timestamp advanced by the time that has passed.
			o.seqDelta = o.lastSeq + 1 - seq
			o.tsDelta = o.timestampAt(now) - ts
			pkt[1] |= 0x80 // marker: a new talkspurt starts
		}
		o.started, o.inSSRC = true, ssrc
	}
	outSeq, outTS := seq+o.seqDelta, ts+o.tsDelta
	binary.BigEndian.PutUint16(pkt[2:], outSeq)
	binary.BigEndian.PutUint32(pkt[4:], outTS)
	binary.BigEndian.PutUint32(pkt[8:], o.ssrc)
	if int16(outSeq-o.lastSeq) > 0 || o.lastAt.IsZero() {
		o.lastSeq, o.lastTS, o.lastAt = outSeq, outTS, now
	}
}

// timestampAt is the stream's timestamp for the instant now: the last one
// sent advanced by the time since, at least one sample on.
func (o *outStream) timestampAt(now time.Time) uint32 {
	if o.lastAt.IsZero() {
		return o.lastTS + o.tsDelta
	}
	d := now.Sub(o.lastAt)
	if d < 0 {
		d = 0
	}
	return o.lastTS + 1 + uint32(d.Seconds()*float64(o.clock))
}

// inject numbers a packet the switch adds to the stream (it is not from the
// current source): the next sequence number, with later relayed packets
// moved up by one so that none collide.
func (o *outStream) inject(pkt []byte, now time.Time) {
	o.lastSeq++
	o.seqDelta++
	binary.BigEndian.PutUint16(pkt[2:], o.lastSeq)
	binary.BigEndian.PutUint32(pkt[8:], o.ssrc)
	if o.lastAt.IsZero() {
		// The stream starts with this packet: what follows continues
		// from its timestamp.
		o.lastTS, o.lastAt = binary.BigEndian.Uint32(pkt[4:]), now
	}
}
