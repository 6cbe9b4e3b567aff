// Package sdes implements SDES-SRTP: the SDP a=crypto attribute of RFC 4568
// that carries SRTP master keys in the signalling, and the SRTP/SRTCP
// protection (RFC 3711) of one call leg with those keys, on top of
// github.com/pion/srtp/v3.
//
// Each direction of a leg has its own master key. The key in the peer's SDP
// protects what the peer sends, so we decrypt with it; the key in our SDP
// protects what we send, so we encrypt with it. A [Session] holds both.
//
// Supported suites are AES_CM_128_HMAC_SHA1_80 and AES_CM_128_HMAC_SHA1_32
// with a 30-byte master key||salt, the default key derivation rate (0) and no
// MKI. Offers using an MKI are parsed (the MKI is kept verbatim) but
// [Select] skips them and [NewSession] refuses them; session parameters such
// as UNENCRYPTED_SRTP, KDR or FEC_ORDER are rejected by [ParseCrypto].
//
// Keys are secrets: the String, GoString, Format, LogValue and MarshalJSON
// methods of [Crypto] redact them, and errors never contain them. Only
// [Crypto.Value] renders the key, for our own SDP.
package sdes

import (
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strconv"
	"strings"
)

// Suite is an SRTP crypto suite name as written in an a=crypto attribute.
type Suite string

// The supported crypto suites (RFC 4568 §6.2).
const (
	// AES128CMHMACSHA1_80 is AES-128 counter mode with an 80-bit HMAC-SHA1 tag.
	AES128CMHMACSHA1_80 Suite = "AES_CM_128_HMAC_SHA1_80"
	// AES128CMHMACSHA1_32 is AES-128 counter mode with a 32-bit HMAC-SHA1
	// tag on SRTP (SRTCP keeps the 80-bit tag).
	AES128CMHMACSHA1_32 Suite = "AES_CM_128_HMAC_SHA1_32"
)

const (
	// KeyLen is the length of a master key||salt for the supported suites:
	// 16 bytes of AES-128 key followed by 14 bytes of salt.
	KeyLen = masterKeyLen + masterSaltLen

	masterKeyLen  = 16
	masterSaltLen = 14
	maxTag        = 999999999 // tag = 1*9DIGIT
	redacted      = "<redacted>"
)

var (
	// ErrMalformed reports an a=crypto value that does not follow RFC 4568.
	ErrMalformed = errors.New("sdes: malformed crypto attribute")
	// ErrUnsupportedSuite reports a crypto suite the switch does not implement.
	ErrUnsupportedSuite = errors.New("sdes: unsupported crypto suite")
	// ErrUnsupportedParam reports a valid but unsupported feature: session
	// parameters, several master keys, or an MKI when creating a Session.
	ErrUnsupportedParam = errors.New("sdes: unsupported crypto parameter")
	// ErrNoSuite is returned by Select when no offered line is usable.
	ErrNoSuite = errors.New("sdes: no supported crypto suite offered")
	// ErrSuiteMismatch is returned by NewSession when the local and remote
	// suites differ.
	ErrSuiteMismatch = errors.New("sdes: local and remote crypto suites differ")
)

// Supported reports whether the switch implements suite s.
func (s Suite) Supported() bool {
	return s == AES128CMHMACSHA1_80 || s == AES128CMHMACSHA1_32
}

// Crypto is one a=crypto attribute.
type Crypto struct {
	// Tag identifies the line in an offer; the answer repeats it.
	Tag int
	// Suite is the crypto suite.
	Suite Suite
	// Key is the master key followed by the master salt: KeyLen bytes.
	Key []byte
	// Lifetime is the optional key lifetime, verbatim ("2^31", "1048576").
	// It is informational only: the SRTP context refuses to exceed the
	// RFC 3711 limits anyway.
	Lifetime string
	// MKI is the optional "value:length" master key identifier, verbatim
	// (e.g. "1:4"). MKI use is not supported: Select skips such lines and
	// NewSession rejects them.
	MKI string
}

// ParseCrypto parses the value of an a=crypto attribute, the text after
// "a=crypto:", e.g. "1 AES_CM_128_HMAC_SHA1_80 inline:<base64>|2^20|1:32".
//
// It fails with ErrUnsupportedSuite (test with errors.Is) for suites other
// than AES128CMHMACSHA1_80 and AES128CMHMACSHA1_32, with ErrUnsupportedParam
// when session parameters (UNENCRYPTED_SRTP, KDR=, …) or several master keys
// are present, and with ErrMalformed otherwise. Errors never contain the key.
func ParseCrypto(value string) (Crypto, error) {
	fields := strings.Fields(value)
	if len(fields) < 3 {
		return Crypto{}, fmt.Errorf("%w: want \"<tag> <suite> inline:<key>\", got %d fields", ErrMalformed, len(fields))
	}
	tag, err := parseTag(fields[0])
	if err != nil {
		return Crypto{}, err
	}
	c := Crypto{Tag: tag, Suite: Suite(fields[1])}
	if !c.Suite.Supported() {
		return Crypto{}, fmt.Errorf("%w: %q", ErrUnsupportedSuite, fields[1])
	}
	if len(fields) > 3 {
		// Never echo the parameter values: FEC_KEY carries key material.
		names := make([]string, 0, len(fields)-3)
		for _, p := range fields[3:] {
			name, _, _ := strings.Cut(p, "=")
			names = append(names, strconv.Quote(name))
		}
		return Crypto{}, fmt.Errorf("%w: session parameters %s", ErrUnsupportedParam, strings.Join(names, ", "))
	}
	keyParams := fields[2]
	if strings.Contains(keyParams, ";") {
		return Crypto{}, fmt.Errorf("%w: several master keys", ErrUnsupportedParam)
	}
	info, ok := strings.CutPrefix(keyParams, "inline:")
	if !ok {
		return Crypto{}, fmt.Errorf("%w: key method is not \"inline:\"", ErrMalformed)
	}
	parts := strings.Split(info, "|")
	if len(parts) > 3 {
		return Crypto{}, fmt.Errorf("%w: too many key parameters (%d)", ErrMalformed, len(parts))
	}
	if c.Key, err = decodeKey(parts[0]); err != nil {
		return Crypto{}, err
	}
	switch rest := parts[1:]; {
	case len(rest) == 2:
		c.Lifetime, c.MKI = rest[0], rest[1]
	case len(rest) == 1 && strings.Contains(rest[0], ":"):
		c.MKI = rest[0]
	case len(rest) == 1:
		c.Lifetime = rest[0]
	}
	if c.Lifetime != "" && !validLifetime(c.Lifetime) {
		return Crypto{}, fmt.Errorf("%w: bad lifetime %q", ErrMalformed, c.Lifetime)
	}
	if c.MKI != "" && !validMKI(c.MKI) {
		return Crypto{}, fmt.Errorf("%w: bad MKI %q", ErrMalformed, c.MKI)
	}
	return c, nil
}

func parseTag(s string) (int, error) {
	if len(s) > 9 || !allDigits(s) {
		return 0, fmt.Errorf("%w: bad tag %q", ErrMalformed, s)
	}
	tag, err := strconv.Atoi(s)
	if err != nil {
		return 0, fmt.Errorf("%w: bad tag: %w", ErrMalformed, err)
	}
	return tag, nil
}

func decodeKey(b64 string) ([]byte, error) {
	if len(b64) != base64.StdEncoding.EncodedLen(KeyLen) {
		return nil, fmt.Errorf("%w: key||salt is %d base64 characters, want %d",
			ErrMalformed, len(b64), base64.StdEncoding.EncodedLen(KeyLen))
	}
	key := make([]byte, KeyLen)
	n, err := base64.StdEncoding.Strict().Decode(key, []byte(b64))
	if err != nil {
		// base64.CorruptInputError only holds an offset, never the input.
		return nil, fmt.Errorf("%w: key: %w", ErrMalformed, err)
	}
	if n != KeyLen {
		return nil, fmt.Errorf("%w: key||salt is %d bytes, want %d", ErrMalformed, n, KeyLen)
	}
	return key, nil
}

// validLifetime accepts a decimal number or "2^" followed by one.
func validLifetime(s string) bool {
	s = strings.TrimPrefix(s, "2^")
	return s != "" && len(s) <= 20 && allDigits(s)
}

// validMKI accepts "value:length" with a decimal value and a length of 1–128.
func validMKI(s string) bool {
	v, l, ok := strings.Cut(s, ":")
	if !ok || v == "" || len(v) > 39 || !allDigits(v) || l == "" || len(l) > 3 || !allDigits(l) {
		return false
	}
	n, _ := strconv.Atoi(l)
	return n >= 1 && n <= 128
}

func allDigits(s string) bool {
	if s == "" {
		return false
	}
	for i := range len(s) {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// Generate returns a Crypto line with the given tag and suite and a fresh
// master key||salt from crypto/rand.
func Generate(tag int, s Suite) (Crypto, error) {
	if !s.Supported() {
		return Crypto{}, fmt.Errorf("%w: %q", ErrUnsupportedSuite, string(s))
	}
	if tag < 0 || tag > maxTag {
		return Crypto{}, fmt.Errorf("%w: tag %d out of range", ErrMalformed, tag)
	}
	key := make([]byte, KeyLen)
	if _, err := io.ReadFull(rand.Reader, key); err != nil {
		return Crypto{}, fmt.Errorf("sdes: generate key: %w", err)
	}
	return Crypto{Tag: tag, Suite: s, Key: key}, nil
}

// Select picks the first line of an offer we support, in the offer's order,
// skipping unsupported suites, lines with an MKI and lines with a key of the
// wrong length. It returns that line as remote and our answer as local: the
// same tag and suite with a fresh key. It fails with ErrNoSuite when no line
// is usable.
func Select(offered []Crypto) (remote, local Crypto, err error) {
	for _, c := range offered {
		if !c.usable() {
			continue
		}
		local, err = Generate(c.Tag, c.Suite)
		if err != nil {
			return Crypto{}, Crypto{}, err
		}
		return c, local, nil
	}
	return Crypto{}, Crypto{}, ErrNoSuite
}

func (c Crypto) usable() bool {
	return c.Suite.Supported() && c.MKI == "" && len(c.Key) == KeyLen && c.Tag >= 0 && c.Tag <= maxTag
}

// Value renders the attribute value, key included, for our own SDP:
// "a=crypto:" + c.Value(). Never log it.
func (c Crypto) Value() string {
	return c.render(base64.StdEncoding.EncodeToString(c.Key))
}

// String renders the attribute with the key redacted, for logs:
// "1 AES_CM_128_HMAC_SHA1_80 inline:<redacted>".
func (c Crypto) String() string {
	return c.render(redacted)
}

func (c Crypto) render(key string) string {
	var b strings.Builder
	b.Grow(64)
	b.WriteString(strconv.Itoa(c.Tag))
	b.WriteByte(' ')
	b.WriteString(string(c.Suite))
	b.WriteString(" inline:")
	b.WriteString(key)
	if c.Lifetime != "" {
		b.WriteByte('|')
		b.WriteString(c.Lifetime)
	}
	if c.MKI != "" {
		b.WriteByte('|')
		b.WriteString(c.MKI)
	}
	return b.String()
}

// GoString renders c for %#v with the key redacted.
func (c Crypto) GoString() string {
	return fmt.Sprintf("sdes.Crypto{Tag:%d, Suite:%q, Key:%s, Lifetime:%q, MKI:%q}",
		c.Tag, string(c.Suite), redacted, c.Lifetime, c.MKI)
}

// Format implements fmt.Formatter so that no verb (%v, %+v, %#v, %s, %q, %x,
// %d, …) prints the key: %#v uses GoString, %q a quoted String, every other
// verb String.
func (c Crypto) Format(f fmt.State, verb rune) {
	switch {
	case verb == 'v' && f.Flag('#'):
		io.WriteString(f, c.GoString())
	case verb == 'q':
		io.WriteString(f, strconv.Quote(c.String()))
	default:
		io.WriteString(f, c.String())
	}
}

// LogValue implements slog.LogValuer with the key redacted.
func (c Crypto) LogValue() slog.Value {
	return slog.StringValue(c.String())
}

// MarshalJSON renders c as the JSON string of String, so that structs
// holding a Crypto and logged as JSON do not leak the key.
func (c Crypto) MarshalJSON() ([]byte, error) {
	return json.Marshal(c.String())
}
