package rtc

import (
	"encoding/binary"
	"errors"
	"sync"
	"time"

	"github.com/pion/rtp"
	"github.com/pion/webrtc/v4"

	"github.com/switchboard-voice/switchboard/media"
)

// Track is a local audio track that sends RTP packets as they are given,
// with their payload type, so that Opus and telephone-events share one
// stream (webrtc.TrackLocalStaticRTP rewrites every packet to the track's
// one payload type).
//
// What a Track sends is one RTP stream for the remote peer whatever feeds
// it: the SSRC is the one the PeerConnection negotiated, and sequence
// numbers and timestamps continue across changes of source (a new SSRC in
// the packets given to WriteRTP), the way media.Socket renumbers a leg's
// stream: a new source carries on one sequence number after the last packet
// sent, its timestamp advanced by the time that has passed, with the marker
// bit set. Within one source, gaps and reordering pass through.
//
// It is safe for concurrent use; WriteRTP does not allocate.
type Track struct {
	id, streamID string

	mu      sync.Mutex
	binding *binding
	hdr     rtp.Header // reused by WriteRTP

	stream media.Continuity // numbering across changes of source
}

type binding struct {
	id     string
	ssrc   uint32
	writer webrtc.TrackLocalWriter
}

var _ webrtc.TrackLocal = (*Track)(nil)

// NewTrack returns an unbound track; id and streamID become its msid.
func NewTrack(id, streamID string) *Track {
	return &Track{id: id, streamID: streamID, stream: media.Continuity{Clock: ClockRate}}
}

// Bind is called by the PeerConnection once negotiation is done; it keeps
// the negotiated SSRC and writer and answers with Opus.
func (t *Track) Bind(ctx webrtc.TrackLocalContext) (webrtc.RTPCodecParameters, error) {
	opus, _, err := Negotiated(ctx.CodecParameters())
	if err != nil {
		return webrtc.RTPCodecParameters{}, webrtc.ErrUnsupportedCodec
	}
	t.mu.Lock()
	t.binding = &binding{id: ctx.ID(), ssrc: uint32(ctx.SSRC()), writer: ctx.WriteStream()}
	t.mu.Unlock()
	return opus, nil
}

// Unbind forgets the binding: packets written after it go nowhere.
func (t *Track) Unbind(ctx webrtc.TrackLocalContext) error {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.binding == nil || t.binding.id != ctx.ID() {
		return webrtc.ErrUnbindFailed
	}
	t.binding = nil
	return nil
}

// ID is the track's id.
func (t *Track) ID() string { return t.id }

// RID is empty: no simulcast.
func (t *Track) RID() string { return "" }

// StreamID is the track's stream (msid) id.
func (t *Track) StreamID() string { return t.streamID }

// Kind is audio.
func (t *Track) Kind() webrtc.RTPCodecType { return webrtc.RTPCodecTypeAudio }

// SSRC is the negotiated SSRC of what the track sends; ok is false until
// the track is bound (ICE and DTLS connected).
func (t *Track) SSRC() (ssrc uint32, ok bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.binding == nil {
		return 0, false
	}
	return t.binding.ssrc, true
}

// ErrShortPacket is returned by WriteRTP for a packet that is not RTP.
var ErrShortPacket = errors.New("rtc: not an RTP packet")

// WriteRTP sends one RTP packet (header and payload, as on the wire) to the
// peer, renumbered into the track's stream. Its CSRCs, header extension and
// padding are dropped. Before the track is bound (and after it is unbound)
// the packet is dropped without error: the stream's numbering still
// advances, so the peer sees a continuous stream once media flows.
func (t *Track) WriteRTP(pkt []byte) error {
	payload, ok := media.RTPPayload(pkt)
	if !ok {
		return ErrShortPacket
	}
	now := time.Now()
	t.mu.Lock()
	defer t.mu.Unlock()
	seq, ts, fresh := t.stream.Map(binary.BigEndian.Uint32(pkt[8:]), binary.BigEndian.Uint16(pkt[2:]), binary.BigEndian.Uint32(pkt[4:]), now)
	b := t.binding
	if b == nil {
		return nil
	}
	t.hdr = rtp.Header{
		Version:        2,
		Marker:         pkt[1]&0x80 != 0 || fresh,
		PayloadType:    pkt[1] & 0x7f,
		SequenceNumber: seq,
		Timestamp:      ts,
		SSRC:           b.ssrc,
	}
	_, err := b.writer.WriteRTP(&t.hdr, payload)
	return err
}
