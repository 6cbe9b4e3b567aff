package sip

import (
	"bytes"
	"errors"
	"fmt"
	"strings"

	"github.com/switchboard-voice/switchboard/call"
	"github.com/switchboard-voice/switchboard/media"
	"github.com/switchboard-voice/switchboard/media/codec"
	"github.com/switchboard-voice/switchboard/media/sdes"
)

// SRTP policies of a trunk (config trunks[].srtp).
const (
	srtpOff      = "off"
	srtpOptional = "optional"
	srtpRequired = "required"
)

// Security is how a leg's SDP protects media: the profile and the a=crypto
// lines the switch sends (with its own keys).
type Security struct {
	SAVP   bool          // RTP/SAVP instead of RTP/AVP
	Crypto []sdes.Crypto // our keys, one per offered suite (one in an answer)
}

// errSRTPRefused is the 488 a leg gets when the peer's SDP and the trunk's
// SRTP policy cannot agree.
type errSRTPRefused struct{ reason string }

func (e errSRTPRefused) Error() string { return "SRTP: " + e.reason }

// srtpState is a leg's SRTP: what its SDP says (our keys) and the session
// made with the party's key (nil: plain RTP).
type srtpState struct {
	sec       Security
	sess      *sdes.Session
	remoteKey []byte // the party's key sess was made with
}

// keeps reports whether an SDP from the party (rm) still uses the key st's
// session was made with: the session, its rollover counter and replay
// window, go on.
func (st srtpState) keeps(rm RemoteMedia) bool {
	if st.sess == nil {
		return false
	}
	for _, c := range rm.Crypto {
		if bytes.Equal(c.Key, st.remoteKey) {
			return true
		}
	}
	return false
}

// answerSecurity decides, for an offer received on a trunk with policy, how
// the switch answers and which SRTP session (nil: plain RTP) protects media.
func answerSecurity(policy string, rm RemoteMedia) (srtpState, error) {
	switch {
	case rm.Secure && policy == srtpOff:
		return srtpState{}, errSRTPRefused{"RTP/SAVP offered, trunk has srtp: off"}
	case !rm.Secure && policy == srtpRequired && len(rm.Crypto) == 0:
		return srtpState{}, errSRTPRefused{"plain RTP offered, trunk has srtp: required"}
	case policy == srtpOff || len(rm.Crypto) == 0:
		if rm.Secure {
			return srtpState{}, errSRTPRefused{"RTP/SAVP offered without a=crypto"}
		}
		return srtpState{}, nil
	}
	remote, local, err := sdes.Select(rm.Crypto)
	if err != nil {
		return srtpState{}, errSRTPRefused{"no supported crypto suite offered"}
	}
	sess, err := sdes.NewSession(local, remote)
	if err != nil {
		return srtpState{}, errSRTPRefused{err.Error()}
	}
	return srtpState{sec: Security{SAVP: rm.Secure, Crypto: []sdes.Crypto{local}}, sess: sess, remoteKey: remote.Key}, nil
}

// offerSecurity is what the switch offers on a trunk with policy: nothing
// for off, keys for both supported suites otherwise (RTP/SAVP when
// required, RTP/AVP with a=crypto as best effort when optional).
func offerSecurity(policy string) (Security, error) {
	if policy == srtpOff || policy == "" {
		return Security{}, nil
	}
	sec := Security{SAVP: policy == srtpRequired}
	for i, suite := range []sdes.Suite{sdes.AES128CMHMACSHA1_80, sdes.AES128CMHMACSHA1_32} {
		c, err := sdes.Generate(i+1, suite)
		if err != nil {
			return Security{}, fmt.Errorf("SRTP key: %w", err)
		}
		sec.Crypto = append(sec.Crypto, c)
	}
	return sec, nil
}

// sessionFromAnswer completes an offer the switch made with sec: the answer
// picks one of our crypto tags and gives its own key. The state's sec keeps
// only the line chosen (what later offers repeat).
func sessionFromAnswer(policy string, sec Security, rm RemoteMedia) (srtpState, error) {
	if len(sec.Crypto) == 0 {
		if rm.Secure || len(rm.Crypto) > 0 {
			return srtpState{}, errSRTPRefused{"answer has SRTP the switch did not offer"}
		}
		return srtpState{}, nil
	}
	for _, theirs := range rm.Crypto {
		for _, ours := range sec.Crypto {
			if ours.Tag == theirs.Tag && ours.Suite == theirs.Suite {
				sess, err := sdes.NewSession(ours, theirs)
				if err != nil {
					return srtpState{}, err
				}
				chosen := Security{SAVP: sec.SAVP, Crypto: []sdes.Crypto{ours}}
				return srtpState{sec: chosen, sess: sess, remoteKey: theirs.Key}, nil
			}
		}
	}
	if policy == srtpRequired {
		return srtpState{}, errSRTPRefused{"answer has no usable a=crypto, trunk has srtp: required"}
	}
	return srtpState{}, nil
}

// opusFmtp is what the switch asks of Opus peers: in-band FEC, 20 ms.
const opusFmtp = "minptime=10;useinbandfec=1"

// buildOffer makes the offer for a leg on trunk t from the caller's offer:
// the trunk's codecs in its order of preference, each taken from the
// caller's offer when the caller has it (so it can be relayed) or added
// with the switch's defaults (the switch transcodes), plus telephone-event
// at each clock rate when the trunk uses RFC 4733. With no caller offer
// (late offer) it is the trunk's codecs alone.
func buildOffer(from *media.Description, t *Trunk) media.Description {
	d := media.Description{Direction: media.SendRecv, Ptime: 20}
	if from != nil {
		d.Direction, d.Ptime, d.RTCPMux = from.Direction, from.Ptime, from.RTCPMux
		if d.Ptime == 0 {
			d.Ptime = 20
		}
	}
	used := map[uint8]bool{}
	if from != nil {
		for _, c := range from.Codecs {
			used[c.PayloadType] = true
		}
	}
	for _, name := range t.Config.Codecs {
		var found *media.Codec
		if from != nil {
			for _, c := range from.Audio() {
				if c.Is(name) {
					found = &c
					break
				}
			}
		}
		if found != nil {
			d.Codecs = append(d.Codecs, *found)
			continue
		}
		c, ok := defaultCodec(name)
		if !ok {
			continue
		}
		c.PayloadType = freePT(c.PayloadType, used)
		used[c.PayloadType] = true
		d.Codecs = append(d.Codecs, c)
	}
	if t.Config.DTMF == dtmfInfo {
		return d
	}
	clocks := map[uint32]bool{}
	for _, c := range d.Codecs {
		if clocks[c.ClockRate] {
			continue
		}
		clocks[c.ClockRate] = true
		ev := media.Codec{Name: "telephone-event", ClockRate: c.ClockRate, Fmtp: "0-16"}
		if from != nil {
			for _, fc := range from.Codecs {
				if fc.Is("telephone-event") && fc.ClockRate == c.ClockRate {
					ev = fc
				}
			}
		}
		if ev.PayloadType == 0 {
			pref := uint8(101)
			if c.ClockRate != 8000 {
				pref = 110
			}
			ev.PayloadType = freePT(pref, used)
			used[ev.PayloadType] = true
		}
		d.Codecs = append(d.Codecs, ev)
	}
	return d
}

// defaultCodec is a codec as the switch offers it when it adds it itself.
func defaultCodec(name string) (media.Codec, bool) {
	switch strings.ToLower(name) {
	case "pcmu":
		return media.Codec{Name: "PCMU", PayloadType: 0, ClockRate: 8000}, true
	case "pcma":
		return media.Codec{Name: "PCMA", PayloadType: 8, ClockRate: 8000}, true
	case "opus":
		return media.Codec{Name: "opus", PayloadType: 111, ClockRate: 48000, Channels: 2, Fmtp: opusFmtp}, true
	}
	return media.Codec{}, false
}

// freePT returns pref if unused, else the first free dynamic payload type.
func freePT(pref uint8, used map[uint8]bool) uint8 {
	if !used[pref] {
		return pref
	}
	for pt := uint8(96); pt < 128; pt++ {
		if !used[pt] {
			return pt
		}
	}
	return pref
}

// DTMF modes of a trunk (config trunks[].dtmf).
const (
	dtmfRFC4733 = "rfc4733"
	dtmfInfo    = "info"
)

// completeLateOffer adds to the switch's offer to a late-offer caller the
// trunk's codecs it lacks (the switch transcodes them), so the caller can
// answer with any of its trunk's codecs.
func completeLateOffer(d media.Description, t *Trunk) media.Description {
	full := buildOffer(&d, t)
	full.Direction = d.Direction
	return full
}

// configure tells the leg's socket what was agreed: the first audio codec
// of agreed (with the payload types this leg uses), telephone-event at its
// clock rate when the trunk uses RFC 4733, the encoder settings towards
// this party (trunk config and the party's Opus fmtp), the party's
// direction and packet time, and the SRTP session.
func (l *legBase) configure(agreed media.Description, peer media.Description, sess *sdes.Session) error {
	audio := agreed.Audio()
	if len(audio) == 0 {
		return call.NotAcceptable
	}
	cfg := media.StreamConfig{
		Audio:   audio[0],
		Ptime:   peer.Ptime,
		Sending: peer.Direction.Sends(),
		SRTP:    sess,
	}
	if l.trunk.Config.DTMF != dtmfInfo {
		for _, c := range agreed.Codecs {
			if c.Is("telephone-event") && c.ClockRate == cfg.Audio.ClockRate {
				cfg.Event = c
			}
		}
	}
	o := l.trunk.Config.Opus
	enc := codec.OpusSettings(o.Complexity, o.Bitrate)
	cfg.Encoder.Complexity, cfg.Encoder.Bitrate = enc.Complexity, enc.Bitrate
	if cfg.Audio.Is("opus") {
		// The party's fmtp is in its own SDP (peer); the agreed codec may
		// carry ours.
		f := codec.ParseOpusFmtp(cfg.Audio.Fmtp)
		for _, c := range peer.Codecs {
			if c.Is("opus") {
				f = codec.ParseOpusFmtp(c.Fmtp)
			}
		}
		cfg.Encoder.MaxPlaybackRate = f.MaxPlaybackRate
		if f.UseInbandFEC {
			cfg.Encoder.FEC, cfg.Encoder.PacketLossPerc = true, 5
		}
	}
	l.sock.Configure(cfg)
	own := media.Description{Codecs: []media.Codec{cfg.Audio}, Direction: agreed.Direction, Ptime: 20, RTCPMux: peer.RTCPMux}
	if cfg.HasEvents() {
		own.Codecs = append(own.Codecs, cfg.Event)
	}
	l.mu.Lock()
	l.agreed = own
	l.mu.Unlock()
	return nil
}

// isSRTPRefusal reports whether err is a refusal of the SRTP policy (488).
func isSRTPRefusal(err error) bool {
	var e errSRTPRefused
	return errors.As(err, &e)
}
