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
	// is sendrecv or sendonly) and the leg takes it in: a leg on hold is
	// not timed out for silence, and what its party does not send then is
	// not counted as lost (see Socket.Configure).
	Sending bool
}

// HasEvents reports whether the leg carries RFC 4733 telephone-events.
func (c StreamConfig) HasEvents() bool { return c.Event.Name != "" }

// SameAudio reports whether a and b carry the same audio codec, so that
// packets can be relayed between them without decoding.
func SameAudio(a, b StreamConfig) bool {
	return a.Audio.Name != "" && a.Audio.Is(b.Audio.Name) && a.Audio.ClockRate == b.Audio.ClockRate
}

// Continuity maps the packets of a changing source (a re-INVITE, a new
// SSRC from the far end, a switch from relaying to transcoding, the
// silence between calls) into one stream whose sequence numbers and
// timestamps continue: a new source carries on one sequence number after
// the last packet sent, its timestamp advanced by the time that has passed.
// Within one source, gaps and reordering pass through. The zero value
// starts at 0; Clock must be set (Hz). It is not safe for concurrent use.
type Continuity struct {
	Clock    uint32 // RTP clock rate in Hz
	started  bool
	inSSRC   uint32
	seqDelta uint16
	tsDelta  uint32
	lastSeq  uint16
	lastTS   uint32
	lastAt   time.Time
}

// Map returns the stream's sequence number and timestamp for a packet of
// source ssrc sent at now; fresh reports a change of source (the marker bit
// should be set: a new talkspurt).
func (c *Continuity) Map(ssrc uint32, seq uint16, ts uint32, now time.Time) (outSeq uint16, outTS uint32, fresh bool) {
	if !c.started || ssrc != c.inSSRC {
		if c.started || !c.lastAt.IsZero() { // (not started but sent: injected packets came first)
			c.seqDelta = c.lastSeq + 1 - seq
			c.tsDelta = c.timestampAt(now) - ts
			fresh = true
		}
		c.started, c.inSSRC = true, ssrc
	}
	outSeq, outTS = seq+c.seqDelta, ts+c.tsDelta
	if int16(outSeq-c.lastSeq) > 0 || c.lastAt.IsZero() {
		c.lastSeq, c.lastTS, c.lastAt = outSeq, outTS, now
	}
	return outSeq, outTS, fresh
}

// timestampAt is the stream's timestamp for the instant now: the last one
// sent advanced by the time since, at least one sample on.
func (c *Continuity) timestampAt(now time.Time) uint32 {
	if c.lastAt.IsZero() {
		return c.lastTS + c.tsDelta
	}
	d := max(now.Sub(c.lastAt), 0)
	return c.lastTS + 1 + uint32(d.Seconds()*float64(c.Clock))
}

// outStream makes what a socket sends one RTP stream of its own: one SSRC
// (chosen by the switch), numbered by a Continuity across changes of the
// source and around packets the switch injects (DTMF events). The socket's
// write mutex guards it.
type outStream struct {
	ssrc uint32
	Continuity
}

func newOutStream() outStream {
	return outStream{ssrc: rand.Uint32(), Continuity: Continuity{Clock: 8000, seqDelta: uint16(rand.Uint32()),
		tsDelta: rand.Uint32(), lastSeq: uint16(rand.Uint32())}} // where injected packets start if they come first
}

// rewrite gives pkt (a valid RTP packet) the stream's SSRC, sequence number
// and timestamp, in place.
func (o *outStream) rewrite(pkt []byte, now time.Time) {
	seq, ts, fresh := o.Map(binary.BigEndian.Uint32(pkt[8:]), binary.BigEndian.Uint16(pkt[2:]),
		binary.BigEndian.Uint32(pkt[4:]), now)
	if fresh {
		pkt[1] |= 0x80 // marker: a new talkspurt starts
	}
	binary.BigEndian.PutUint16(pkt[2:], seq)
	binary.BigEndian.PutUint32(pkt[4:], ts)
	binary.BigEndian.PutUint32(pkt[8:], o.ssrc)
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
