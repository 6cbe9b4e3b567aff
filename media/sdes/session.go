package sdes

import (
	"fmt"
	"sync"

	"github.com/pion/rtcp"
	"github.com/pion/rtp"
	"github.com/pion/srtp/v3"
)

// replayWindow is the SRTP and SRTCP replay window in packets; RFC 3711
// §3.3.2 requires at least 64, libsrtp uses 128.
const replayWindow = 128

// rtcpOverhead is what SRTCP adds: the E flag and 31-bit index, then an
// 80-bit tag for both suites (RFC 4568 §6.2.2).
const rtcpOverhead = 4 + 10

// Session protects one leg: it encrypts what we send with the local key
// and decrypts what the peer sends with the remote key.
//
// Its methods are safe for concurrent use. Sending and receiving take
// separate locks, so one goroutine can encrypt while another decrypts.
// The underlying pion contexts keep per-SSRC rollover counters and replay
// windows, so packets of one SSRC must be encrypted in sequence-number
// order (modulo reordering of less than 2^15 packets) by one Session.
//
// Steady-state calls do not allocate provided dst has room (see the
// methods); the first packet of a new SSRC allocates its state in pion,
// and errors allocate their message.
type Session struct {
	overhead int
	tx       half // local key: encrypt
	rx       half // remote key: decrypt
}

// half is one direction: a pion context and the headers it parses into,
// reused so that pion does not allocate a header per call.
type half struct {
	mu   sync.Mutex
	ctx  *srtp.Context
	rtp  rtp.Header
	rtcp rtcp.Header
}

// NewSession returns a Session that encrypts with local and decrypts with
// remote. The suites must be equal and supported, the keys KeyLen bytes, and
// neither line may use an MKI.
func NewSession(local, remote Crypto) (*Session, error) {
	if local.Suite != remote.Suite {
		return nil, fmt.Errorf("%w: local %q, remote %q", ErrSuiteMismatch, string(local.Suite), string(remote.Suite))
	}
	profile, overhead, err := profileOf(local.Suite)
	if err != nil {
		return nil, err
	}
	s := &Session{overhead: overhead}
	if s.tx.ctx, err = newContext("local", local, profile); err != nil {
		return nil, err
	}
	if s.rx.ctx, err = newContext("remote", remote, profile); err != nil {
		return nil, err
	}
	return s, nil
}

func profileOf(s Suite) (srtp.ProtectionProfile, int, error) {
	switch s {
	case AES128CMHMACSHA1_80:
		return srtp.ProtectionProfileAes128CmHmacSha1_80, 10, nil
	case AES128CMHMACSHA1_32:
		return srtp.ProtectionProfileAes128CmHmacSha1_32, 4, nil
	default:
		return 0, 0, fmt.Errorf("%w: %q", ErrUnsupportedSuite, string(s))
	}
}

func newContext(side string, c Crypto, profile srtp.ProtectionProfile) (*srtp.Context, error) {
	if c.MKI != "" {
		return nil, fmt.Errorf("%w: %s line uses an MKI", ErrUnsupportedParam, side)
	}
	if len(c.Key) != KeyLen {
		return nil, fmt.Errorf("%w: %s key||salt is %d bytes, want %d", ErrMalformed, side, len(c.Key), KeyLen)
	}
	ctx, err := srtp.CreateContext(c.Key[:masterKeyLen], c.Key[masterKeyLen:], profile,
		srtp.SRTPReplayProtection(replayWindow), srtp.SRTCPReplayProtection(replayWindow))
	if err != nil {
		return nil, fmt.Errorf("sdes: %s srtp context: %w", side, err)
	}
	return ctx, nil
}

// Overhead returns the number of bytes SRTP adds to an RTP packet: the
// authentication tag, 10 bytes for AES128CMHMACSHA1_80 and 4 for
// AES128CMHMACSHA1_32.
func (s *Session) Overhead() int { return s.overhead }

// RTCPOverhead returns the number of bytes SRTCP adds to an RTCP packet:
// the 4-byte index and the 10-byte tag, for both suites.
func (s *Session) RTCPOverhead() int { return rtcpOverhead }

// EncryptRTP protects the RTP packet pkt with the local key, writes the
// SRTP packet (header, encrypted payload, auth tag) to dst[:0] and returns
// it. dst may be pkt[:0] to encrypt in place; otherwise it must not overlap
// pkt. It allocates nothing when cap(dst) >= len(pkt)+s.Overhead(), and a
// new buffer otherwise.
func (s *Session) EncryptRTP(dst, pkt []byte) ([]byte, error) {
	s.tx.mu.Lock()
	out, err := s.tx.ctx.EncryptRTP(dst[:0], pkt, &s.tx.rtp)
	s.tx.mu.Unlock()
	if err != nil {
		return nil, fmt.Errorf("sdes: encrypt rtp: %w", err)
	}
	return out, nil
}

// DecryptRTP verifies and decrypts the SRTP packet pkt in place with the
// remote key and returns the RTP packet, a prefix of pkt without the auth
// tag. Tampered packets fail with an error wrapping
// srtp.ErrFailedToVerifyAuthTag, replayed ones with a duplicate error; pkt
// is then left unchanged.
func (s *Session) DecryptRTP(pkt []byte) ([]byte, error) {
	s.rx.mu.Lock()
	out, err := s.rx.ctx.DecryptRTP(pkt, pkt, &s.rx.rtp)
	s.rx.mu.Unlock()
	if err != nil {
		return nil, fmt.Errorf("sdes: decrypt rtp: %w", err)
	}
	return out, nil
}

// EncryptRTCP protects the RTCP packet (or compound packet) pkt with the
// local key, writes the SRTCP packet to dst[:0] and returns it. dst may be
// pkt[:0]; otherwise it must not overlap pkt. It allocates nothing when
// cap(dst) >= len(pkt)+s.RTCPOverhead().
func (s *Session) EncryptRTCP(dst, pkt []byte) ([]byte, error) {
	s.tx.mu.Lock()
	out, err := s.tx.ctx.EncryptRTCP(dst[:0], pkt, &s.tx.rtcp)
	s.tx.mu.Unlock()
	if err != nil {
		return nil, fmt.Errorf("sdes: encrypt rtcp: %w", err)
	}
	return out, nil
}

// DecryptRTCP verifies and decrypts the SRTCP packet pkt in place with the
// remote key and returns the RTCP packet, a prefix of pkt. Tampered and
// replayed packets fail as in DecryptRTP.
func (s *Session) DecryptRTCP(pkt []byte) ([]byte, error) {
	s.rx.mu.Lock()
	out, err := s.rx.ctx.DecryptRTCP(pkt, pkt, &s.rx.rtcp)
	s.rx.mu.Unlock()
	if err != nil {
		return nil, fmt.Errorf("sdes: decrypt rtcp: %w", err)
	}
	return out, nil
}
