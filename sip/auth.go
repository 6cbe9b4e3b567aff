package sip

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"time"

	"github.com/icholy/digest"
)

// Authenticator issues and checks digest challenges (RFC 3261 §22, RFC 7616)
// for inbound trunks. Nonces are stateless: a timestamp signed with a
// per-process key, so any number of challenges costs no memory and a nonce
// older than TTL is refused with stale=true (the peer retries at once).
type Authenticator struct {
	key []byte
	ttl time.Duration
	now func() time.Time
}

// Auth outcomes.
var (
	ErrNoCredentials = errors.New("no credentials")
	ErrStaleNonce    = errors.New("stale nonce")
	ErrBadNonce      = errors.New("nonce not issued by this switch")
	ErrBadUser       = errors.New("unknown user or realm")
	ErrBadResponse   = errors.New("wrong password")
)

// NewAuthenticator makes an Authenticator whose nonces live for ttl.
func NewAuthenticator(ttl time.Duration, now func() time.Time) *Authenticator {
	key := make([]byte, 32)
	if _, err := rand.Read(key); err != nil {
		panic(fmt.Sprintf("crypto/rand: %v", err)) // never happens on Linux
	}
	if now == nil {
		now = time.Now
	}
	return &Authenticator{key: key, ttl: ttl, now: now}
}

// Challenge returns a WWW-Authenticate / Proxy-Authenticate value.
func (a *Authenticator) Challenge(realm string, stale bool) string {
	c := digest.Challenge{
		Realm:     realm,
		Nonce:     a.nonce(a.now()),
		Algorithm: "MD5",
		QOP:       []string{"auth"},
		Stale:     stale,
	}
	return c.String()
}

func (a *Authenticator) nonce(t time.Time) string {
	var b [8 + 16]byte
	binary.BigEndian.PutUint64(b[:8], uint64(t.UnixNano()))
	m := hmac.New(sha256.New, a.key)
	m.Write(b[:8])
	copy(b[8:], m.Sum(nil)[:16])
	return base64.RawURLEncoding.EncodeToString(b[:])
}

func (a *Authenticator) checkNonce(n string) error {
	b, err := base64.RawURLEncoding.DecodeString(n)
	if err != nil || len(b) != 24 {
		return ErrBadNonce
	}
	m := hmac.New(sha256.New, a.key)
	m.Write(b[:8])
	if !hmac.Equal(m.Sum(nil)[:16], b[8:]) {
		return ErrBadNonce
	}
	issued := time.Unix(0, int64(binary.BigEndian.Uint64(b[:8])))
	if a.now().Sub(issued) > a.ttl {
		return ErrStaleNonce
	}
	return nil
}

// Verify checks an Authorization / Proxy-Authorization header value for
// method against the expected credentials. It returns nil when they match,
// ErrStaleNonce when the nonce expired (challenge again with stale=true),
// and another error otherwise.
func (a *Authenticator) Verify(header, method, realm, username, password string) error {
	if header == "" {
		return ErrNoCredentials
	}
	cred, err := digest.ParseCredentials(header)
	if err != nil {
		return fmt.Errorf("%w: %v", ErrNoCredentials, err)
	}
	if cred.Username != username || cred.Realm != realm {
		return ErrBadUser
	}
	if err := a.checkNonce(cred.Nonce); err != nil {
		return err
	}
	chal := &digest.Challenge{Realm: realm, Nonce: cred.Nonce, Algorithm: cred.Algorithm, Opaque: cred.Opaque}
	if cred.QOP != "" {
		chal.QOP = []string{cred.QOP}
	}
	want, err := digest.Digest(chal, digest.Options{
		Method:   method,
		URI:      cred.URI,
		Username: username,
		Password: password,
		Cnonce:   cred.Cnonce,
		Count:    cred.Nc,
	})
	if err != nil {
		return fmt.Errorf("%w: %v", ErrBadResponse, err)
	}
	if subtle.ConstantTimeCompare([]byte(want.Response), []byte(cred.Response)) != 1 {
		return ErrBadResponse
	}
	return nil
}
