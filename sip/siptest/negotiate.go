package siptest

import (
	"bytes"
	"errors"
	"fmt"

	"github.com/switchboard-voice/switchboard/media/sdes"
)

// negotiated is the outcome of an offer or answer from the peer, checked
// against what the call supports but not yet applied.
type negotiated struct {
	info          *sdpInfo
	codec, te     format // with the peer's payload types
	hasTE         bool
	local, remote *sdes.Crypto  // nil for plain RTP
	srtp          *sdes.Session // the session to use (the current one when the keys are unchanged)
}

// answerFormats are the formats of our answer to the peer's offer.
func (n *negotiated) answerFormats() []format {
	if n.hasTE {
		return []format{n.codec, n.te}
	}
	return []format{n.codec}
}

// negotiateLocked checks the peer's SDP: an offer when answering, else the
// answer to our offer. c.mu must be held; nothing is changed.
func (c *Call) negotiateLocked(body []byte, answering bool) (*negotiated, error) {
	info, err := parseSDP(body)
	if err != nil {
		return nil, err
	}
	n := &negotiated{info: info}
	switch {
	case c.srtpMode == SRTPNone && info.secure():
		return nil, fmt.Errorf("siptest: peer wants %s, this call is plain RTP", info.proto)
	case c.srtpMode == SRTPSDES && !info.secure():
		return nil, fmt.Errorf("siptest: peer wants %s, this call requires SRTP", info.proto)
	case c.srtpMode == SRTPSDES && answering:
		remote, local, err := sdes.Select(info.cryptos)
		if err != nil {
			return nil, fmt.Errorf("siptest: %w", err)
		}
		if c.localCrypto != nil && c.localCrypto.Suite == remote.Suite {
			local = *c.localCrypto // keep our key across re-INVITEs
			local.Tag = remote.Tag
		}
		n.local, n.remote = &local, &remote
	case c.srtpMode == SRTPSDES:
		for _, cr := range info.cryptos {
			if cr.Tag == c.localCrypto.Tag && cr.Suite == c.localCrypto.Suite && cr.MKI == "" && len(cr.Key) == sdes.KeyLen {
				n.remote = &cr
				break
			}
		}
		if n.remote == nil {
			return nil, errors.New("siptest: the answer has no a=crypto matching our offer")
		}
		local := *c.localCrypto
		n.local = &local
	}
	if n.local != nil {
		if c.srtp != nil && sameKey(c.localCrypto, n.local) && sameKey(c.remoteCrypto, n.remote) {
			n.srtp = c.srtp
		} else if n.srtp, err = sdes.NewSession(*n.local, *n.remote); err != nil {
			return nil, fmt.Errorf("siptest: %w", err)
		}
	}
	var ok bool
	n.codec, n.te, n.hasTE, ok = negotiate(info.formats, c.offer)
	if !ok {
		if answering {
			return nil, errors.New("siptest: offer has none of our codecs")
		}
		return nil, errors.New("siptest: answer has none of the offered codecs")
	}
	return n, nil
}

func sameKey(a, b *sdes.Crypto) bool {
	return a != nil && b != nil && a.Suite == b.Suite && bytes.Equal(a.Key, b.Key)
}

// commitLocked applies a negotiation: the remote SDP, codec, SRTP keys, and
// points the media at the peer. c.mu must be held.
func (c *Call) commitLocked(n *negotiated, body []byte, sending bool) {
	c.remoteSDP = string(body)
	c.remoteDir = n.info.direction
	c.codec, c.te, c.hasTE = n.codec, n.te, n.hasTE
	if n.local != nil {
		c.localCrypto, c.remoteCrypto, c.srtp = n.local, n.remote, n.srtp
	}
	c.media.setRemote(sendParams{
		addr:    n.info.addr,
		codec:   n.codec,
		te:      n.te,
		hasTE:   n.hasTE,
		sending: sending,
		srtp:    c.srtp,
		remote:  n.info.formats,
	})
}

// newLocalCrypto returns our key for a call in mode, or nil.
func newLocalCrypto(mode SRTPMode) (*sdes.Crypto, error) {
	switch mode {
	case SRTPNone:
		return nil, nil
	case SRTPSDES:
		cr, err := sdes.Generate(1, sdes.AES128CMHMACSHA1_80)
		if err != nil {
			return nil, fmt.Errorf("siptest: %w", err)
		}
		return &cr, nil
	}
	return nil, fmt.Errorf("siptest: unsupported SRTP mode %q (\"\", %q)", mode, SRTPSDES)
}
