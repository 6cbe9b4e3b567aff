package prompt

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"unicode/utf8"

	"github.com/switchboard-voice/switchboard/media/audio"
)

// Defaults and limits for Speech.
const (
	DefaultLanguage = "en"
	DefaultRate     = 160 // words per minute
	MinRate         = 80  // espeak-ng's slowest speed
	MaxRate         = 450 // espeak-ng's fastest speed
	MaxTextLength   = 10000
)

// Speech is a message spoken by espeak-ng.
type Speech struct {
	// Text is what to say (required, UTF-8, at most MaxTextLength bytes).
	// It is spoken as plain text: markup and punctuation are not interpreted.
	Text string
	// Language is the espeak-ng voice (espeak-ng -v), for example "en",
	// "en-us", "de", "fr". Default "en".
	Language string
	// Voice is an optional espeak-ng variant such as "f3" or "m2", added to
	// the language as "en+f3".
	Voice string
	// Rate is the speed in words per minute (espeak-ng -s), MinRate to
	// MaxRate. Default (0) DefaultRate, 160.
	Rate int
}

// withDefaults returns s with the defaults filled in.
func (s Speech) withDefaults() Speech {
	if s.Language == "" {
		s.Language = DefaultLanguage
	}
	if s.Rate == 0 {
		s.Rate = DefaultRate
	}
	return s
}

// Validate checks the fields of s (after defaults) without running
// espeak-ng: text present, valid UTF-8 without NUL bytes and not too long;
// language and voice names made of letters, digits, '-' and '_'; rate in
// range. An unknown language is only found when the speech is rendered.
func (s Speech) Validate() error {
	s = s.withDefaults()
	switch {
	case strings.TrimSpace(s.Text) == "":
		return errors.New("speech: empty text")
	case len(s.Text) > MaxTextLength:
		return fmt.Errorf("speech: text too long: %d bytes, at most %d", len(s.Text), MaxTextLength)
	case !utf8.ValidString(s.Text):
		return errors.New("speech: text is not valid UTF-8")
	case strings.ContainsRune(s.Text, 0):
		return errors.New("speech: text contains a NUL character")
	}
	if !validName(s.Language) {
		return fmt.Errorf("speech: invalid language %q, want an espeak-ng voice name such as \"en\" or \"en-us\"", s.Language)
	}
	if s.Voice != "" && !validName(s.Voice) {
		return fmt.Errorf("speech: invalid voice %q, want an espeak-ng variant such as \"f3\" or \"m2\"", s.Voice)
	}
	if s.Rate < MinRate || s.Rate > MaxRate {
		return fmt.Errorf("speech: rate %d words per minute out of range, want %d to %d", s.Rate, MinRate, MaxRate)
	}
	return nil
}

// validName reports whether name is a plausible espeak-ng voice or variant
// name: 1 to 64 ASCII letters, digits, '-' or '_', not starting with '-'.
func validName(name string) bool {
	if name == "" || len(name) > 64 || name[0] == '-' {
		return false
	}
	for _, c := range name {
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9', c == '-', c == '_':
		default:
			return false
		}
	}
	return true
}

// voice returns the espeak-ng -v argument.
func (s Speech) voice() string {
	if s.Voice == "" {
		return s.Language
	}
	return s.Language + "+" + s.Voice
}

// key returns the hex SHA-256 of the text, language, voice and rate (after
// defaults), each field length-prefixed so that no two different Speech
// values share a key.
func (s Speech) key() string {
	h := sha256.New()
	var n [8]byte
	field := func(v string) {
		binary.BigEndian.PutUint64(n[:], uint64(len(v)))
		h.Write(n[:])
		h.Write([]byte(v))
	}
	field("espeak-ng/1")
	field(s.Text)
	field(s.Language)
	field(s.Voice)
	binary.BigEndian.PutUint64(n[:], uint64(s.Rate))
	h.Write(n[:])
	return hex.EncodeToString(h.Sum(nil))
}

// short returns the text cut for an error message.
func (s Speech) short() string {
	t := s.Text
	if utf8.RuneCountInString(t) > 40 {
		r := []rune(t)
		t = string(r[:40]) + "…"
	}
	return fmt.Sprintf("%q", t)
}

// CachePath returns the file Say renders s into and reuses:
// "tts-<sha256 of text, language, voice and rate>.wav" in the cache
// directory.
func (l *Library) CachePath(s Speech) string {
	return filepath.Join(l.opts.CacheDir, "tts-"+s.withDefaults().key()+".wav")
}

// Say returns s spoken by espeak-ng as a clip at espeak-ng's rate (22050 Hz
// mono). The first request renders it into CachePath(s) and later ones,
// also from another Library on the same cache directory, reuse that file;
// the decoded clip is also kept in memory. Concurrent requests for the same
// speech render it once. The clip is shared: do not modify it.
//
// Errors: invalid fields (see Speech.Validate), espeak-ng missing
// (ErrMissingTool, "espeak-ng is not installed (apt-get install
// espeak-ng)"), or espeak-ng failing, for example for an unknown language;
// the error then includes espeak-ng's message. Rendering is bounded by ctx
// and Options.Timeout.
func (l *Library) Say(ctx context.Context, s Speech) (*audio.Clip, error) {
	s = s.withDefaults()
	if err := s.Validate(); err != nil {
		return nil, err
	}
	key := s.key()
	return l.load(ctx, "tts:"+key, func(ctx context.Context) (*audio.Clip, error) {
		path := filepath.Join(l.opts.CacheDir, "tts-"+key+".wav")
		if c, ok := loadCached(path); ok {
			return c, nil
		}
		espeak, err := l.lookEspeak()
		if err != nil {
			return nil, fmt.Errorf("speech %s: %w", s.short(), err)
		}
		c, err := l.produce(path, func(tmp string) error {
			// "--" ends the options: a text starting with '-' is spoken.
			return l.run(ctx, espeak, "-v", s.voice(), "-s", fmt.Sprint(s.Rate), "-w", tmp, "--", s.Text)
		})
		if err != nil {
			return nil, fmt.Errorf("speech %s (language %q, rate %d): %w", s.short(), s.voice(), s.Rate, err)
		}
		return c, nil
	})
}
