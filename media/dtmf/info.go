package dtmf

import (
	"bytes"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// SIP INFO content types understood by [ParseInfo].
const (
	ContentTypeRelay = "application/dtmf-relay"
	ContentTypeDTMF  = "application/dtmf"
)

// ErrUnsupportedInfo is returned by [ParseInfo] for a content type that
// carries no DTMF.
var ErrUnsupportedInfo = errors.New("dtmf: unsupported INFO content type")

// ErrInvalidInfo is returned by [ParseInfo] for a malformed body.
var ErrInvalidInfo = errors.New("dtmf: invalid INFO body")

// ParseInfo extracts the digit of a SIP INFO request body.
//
// The content type is compared case-insensitively and its parameters
// (";charset=...") are ignored. For application/dtmf-relay the body is lines
// of "Key=Value" (CRLF or LF, whitespace around key and value ignored, keys
// case-insensitive, unknown keys ignored): Signal is required and may be a
// key ('0'-'9', '*', '#', 'A'-'D' in either case, '!' or 'F' for flash) or
// its event code ("10" for '*', "11" for '#', ..., "16" for flash);
// Duration, in milliseconds, is optional and duration is 0 when it is
// missing (the sender did not say; [Generator.Start] treats 0 as
// DefaultDuration). For application/dtmf the body is the signal alone,
// with optional surrounding whitespace, and duration is 0.
//
// Other content types return an error wrapping [ErrUnsupportedInfo]; bad
// bodies an error wrapping [ErrInvalidInfo].
func ParseInfo(contentType string, body []byte) (digit rune, duration time.Duration, err error) {
	mt, _, _ := strings.Cut(contentType, ";")
	mt = strings.TrimSpace(mt)
	switch {
	case strings.EqualFold(mt, ContentTypeRelay):
		return parseRelay(body)
	case strings.EqualFold(mt, ContentTypeDTMF):
		digit, err := parseSignal(string(bytes.TrimSpace(body)))
		return digit, 0, err
	}
	return 0, 0, fmt.Errorf("%w: %q", ErrUnsupportedInfo, contentType)
}

func parseRelay(body []byte) (digit rune, duration time.Duration, err error) {
	haveSignal := false
	for line := range strings.Lines(string(body)) {
		line = strings.TrimSpace(line)
		if line == "" {
			continue
		}
		key, value, ok := strings.Cut(line, "=")
		if !ok {
			return 0, 0, fmt.Errorf("%w: line %q is not Key=Value", ErrInvalidInfo, line)
		}
		key, value = strings.TrimSpace(key), strings.TrimSpace(value)
		switch {
		case strings.EqualFold(key, "Signal"):
			if digit, err = parseSignal(value); err != nil {
				return 0, 0, err
			}
			haveSignal = true
		case strings.EqualFold(key, "Duration"):
			ms, err := strconv.ParseUint(value, 10, 31)
			if err != nil {
				return 0, 0, fmt.Errorf("%w: Duration %q: %w", ErrInvalidInfo, value, err)
			}
			duration = time.Duration(ms) * time.Millisecond
		}
	}
	if !haveSignal {
		return 0, 0, fmt.Errorf("%w: no Signal", ErrInvalidInfo)
	}
	return digit, duration, nil
}

// parseSignal accepts a key or its decimal event code.
func parseSignal(s string) (rune, error) {
	if len(s) == 1 {
		if s == "!" {
			return 'F', nil
		}
		if code, ok := Code(rune(s[0])); ok {
			d, _ := Digit(code)
			return d, nil
		}
	}
	if code, err := strconv.ParseUint(s, 10, 8); err == nil {
		if d, ok := Digit(uint8(code)); ok {
			return d, nil
		}
	}
	return 0, fmt.Errorf("%w: signal %q", ErrInvalidInfo, s)
}

// FormatInfo returns an application/dtmf-relay body for digit, e.g.
// "Signal=5\r\nDuration=160\r\n". Duration is written in milliseconds,
// DefaultDuration if duration <= 0; flash is written as Signal=16 and
// lowercase keys in uppercase. If digit is not a key (see [Code]) it returns
// an empty content type and a nil body.
func FormatInfo(digit rune, duration time.Duration) (contentType string, body []byte) {
	code, ok := Code(digit)
	if !ok {
		return "", nil
	}
	if duration <= 0 {
		duration = DefaultDuration
	}
	body = append(body, "Signal="...)
	if code == FlashCode {
		body = strconv.AppendUint(body, FlashCode, 10)
	} else {
		body = append(body, codeDigits[code])
	}
	body = append(body, "\r\nDuration="...)
	body = strconv.AppendInt(body, duration.Milliseconds(), 10)
	body = append(body, "\r\n"...)
	return ContentTypeRelay, body
}
