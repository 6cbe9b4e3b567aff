package media

import "github.com/switchboard-voice/switchboard/media/codec"

// Bridge carries media between two legs' sockets: a [Relay] when both use
// the same codec (or PCMU and PCMA, converted by table), a [Transcoder]
// otherwise.
type Bridge interface {
	// Transcoding reports whether packets are decoded and re-encoded.
	Transcoding() bool
	// Stop detaches the bridge from the sockets.
	Stop()
	// Block stops (on) or restarts forwarding of the media travelling in
	// direction d: a party being called hears nothing of the other until it
	// answers, while its early media reaches the other. It may be called
	// while packets flow.
	Block(d RelayDirection, on bool)
}

// Connect joins a and b according to their stream configurations (see
// Socket.Configure). If old still fits (a relay, and the legs can still be
// relayed) it is reconfigured and returned; otherwise old is stopped and a
// new bridge built. A leg whose codec is not negotiated yet is relayed.
func Connect(a, b *Socket, old Bridge) (Bridge, error) {
	ca, cb := a.Config(), b.Config()
	relay := ca.Audio.Name == "" || cb.Audio.Name == "" || SameAudio(ca, cb) || g711Pair(ca.Audio, cb.Audio)
	if r, ok := old.(*Relay); ok && relay {
		r.Reconfigure()
		return r, nil
	}
	if t, ok := old.(*Transcoder); ok && !relay && t.fits(a, b) {
		return t, nil // e.g. early media then the answer, same codecs
	}
	if old != nil {
		old.Stop()
	}
	if relay {
		r := NewRelay(a, b)
		r.Reconfigure()
		return r, nil
	}
	return NewTranscoder(a, b)
}

// g711Pair reports whether a and b are the two G.711 laws, which a relay
// converts by table.
func g711Pair(a, b Codec) bool {
	return (a.Is("PCMU") && b.Is("PCMA")) || (a.Is("PCMA") && b.Is("PCMU"))
}

// Transcodable reports whether the switch can decode and encode c.
func Transcodable(c Codec) bool { return codec.Supported(c.Name) }
