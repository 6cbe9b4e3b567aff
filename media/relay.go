package media

import (
	"errors"
	"fmt"
	"sync"
	"sync/atomic"

	"github.com/switchboard-voice/switchboard/media/codec"
)

// RelayDirection names one way through a [Relay]. (It is not an SDP
// direction attribute, which is [Direction].)
type RelayDirection uint8

// The two ways through a relay made by NewRelay(a, b).
const (
	AToB RelayDirection = iota // received on a, sent out of b
	BToA                       // received on b, sent out of a
)

// String returns "a->b" or "b->a".
func (d RelayDirection) String() string {
	switch d {
	case AToB:
		return "a->b"
	case BToA:
		return "b->a"
	}
	return fmt.Sprintf("RelayDirection(%d)", uint8(d))
}

// ErrPayloadType is returned for an RTP payload type outside 0–127 or a
// direction that does not exist.
var ErrPayloadType = errors.New("media: bad payload type mapping")

// Relay joins two sockets when both legs use the same codec: RTP and RTCP
// received on a go out of b to b's peer, and the other way round, without
// decoding. It can rewrite the RTP payload type per direction (the legs may
// have negotiated different dynamic numbers for the same codec).
//
// Relay is a [Sink]; NewRelay installs it on both sockets. Forwarding runs on
// the sockets' reader goroutines and allocates nothing.
type Relay struct {
	a, b *Socket
	pt   [2]atomic.Pointer[ptTable] // by RelayDirection; nil = no rewrite
	// law converts G.711 payloads in place per direction (PCMU <-> PCMA by
	// table: no decoding, no jitter buffer); nil = none.
	law [2]atomic.Pointer[lawConversion]
	// blocked directions forward nothing (Block).
	blocked [2]atomic.Bool

	mu sync.Mutex // serialises SetPayloadTypeMap (copy-on-write of pt)
}

// ptTable maps each RTP payload type (0–127) to the one sent; dropPT
// means the packet is not forwarded.
type ptTable [128]uint8

const dropPT = 0xff

// lawConversion rewrites G.711 payloads of one payload type.
type lawConversion struct {
	pt      uint8 // audio payload type as received
	convert func(dst, src []byte)
}

// NewRelay joins a and b and installs the relay as the sink of both.
func NewRelay(a, b *Socket) *Relay {
	r := &Relay{a: a, b: b}
	a.SetSink(r)
	b.SetSink(r)
	return r
}

// SetPayloadTypeMap makes packets travelling in direction d with payload type
// from leave with payload type to (the marker bit is kept). from == to
// removes the entry. It may be called while packets flow.
func (r *Relay) SetPayloadTypeMap(d RelayDirection, from, to uint8) error {
	if d > BToA || from > 127 || to > 127 {
		return fmt.Errorf("%w: %s %d->%d", ErrPayloadType, d, from, to)
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	var t ptTable
	if cur := r.pt[d].Load(); cur != nil {
		t = *cur
	} else {
		for i := range t {
			t[i] = uint8(i)
		}
	}
	t[from] = to
	for i, v := range t {
		if int(v) != i {
			r.pt[d].Store(&t)
			return nil
		}
	}
	r.pt[d].Store(nil) // identity: skip the rewrite entirely
	return nil
}

// Transcoding reports false: a relay forwards packets (at most converting
// G.711 laws by table).
func (r *Relay) Transcoding() bool { return false }

// Reconfigure derives the relay's payload type mapping from both sockets'
// stream configurations: the audio payload type of one leg becomes the
// other's, PCMU and PCMA are converted by table, and telephone-events pass
// only when both legs carry them (else the call relays digits itself).
// Everything else is dropped.
func (r *Relay) Reconfigure() {
	ca, cb := r.a.Config(), r.b.Config()
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, d := range []RelayDirection{AToB, BToA} {
		in, out := ca, cb
		if d == BToA {
			in, out = cb, ca
		}
		var t ptTable
		for i := range t {
			t[i] = dropPT
		}
		t[in.Audio.PayloadType&0x7f] = out.Audio.PayloadType
		if in.HasEvents() && out.HasEvents() {
			t[in.Event.PayloadType&0x7f] = out.Event.PayloadType
		}
		r.pt[d].Store(&t)
		r.law[d].Store(lawConversionFor(in.Audio, out.Audio))
	}
}

func lawConversionFor(in, out Codec) *lawConversion {
	switch {
	case in.Is("PCMU") && out.Is("PCMA"):
		return &lawConversion{pt: in.PayloadType, convert: codec.PCMUToPCMA}
	case in.Is("PCMA") && out.Is("PCMU"):
		return &lawConversion{pt: in.PayloadType, convert: codec.PCMAToPCMU}
	}
	return nil
}

// Block implements [Bridge]: packets travelling d are dropped while on.
func (r *Relay) Block(d RelayDirection, on bool) {
	if d <= BToA {
		r.blocked[d].Store(on)
	}
}

// Stop detaches the relay: the sockets' sinks become nil (packets are
// dropped and counted) unless something else was installed since.
func (r *Relay) Stop() {
	r.a.replaceSink(r, nil)
	r.b.replaceSink(r, nil)
}

// HandleRTP forwards one RTP packet to the other leg, rewriting its payload
// type in place if a mapping is set for that direction.
func (r *Relay) HandleRTP(pkt []byte, from *Socket) {
	to, d := r.route(from)
	if to == nil || r.blocked[d].Load() {
		return
	}
	if t := r.pt[d].Load(); t != nil {
		pt := t[pkt[1]&0x7f]
		if pt == dropPT {
			return
		}
		if lc := r.law[d].Load(); lc != nil && pkt[1]&0x7f == lc.pt {
			p := rtpPayload(pkt)
			lc.convert(p, p)
		}
		pkt[1] = pkt[1]&0x80 | pt
	}
	if to.WriteRTP(pkt) == nil {
		to.stats.PacketsRelayed.Add(1)
		to.stats.BytesRelayed.Add(uint64(len(pkt)))
	}
}

// route returns the socket a packet read by from goes out of, or nil if from
// is not one of the relay's sockets.
func (r *Relay) route(from *Socket) (*Socket, RelayDirection) {
	switch from {
	case r.a:
		return r.b, AToB
	case r.b:
		return r.a, BToA
	}
	return nil, 0
}
