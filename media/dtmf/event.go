package dtmf

import (
	"errors"
	"io"
	"time"
)

// PayloadSize is the size of an RFC 4733 telephone-event payload.
const PayloadSize = 4

// ErrShortPayload is returned by [Event.Unmarshal] for a payload shorter than
// [PayloadSize].
var ErrShortPayload = errors.New("dtmf: telephone-event payload shorter than 4 bytes")

// Event is the 4-byte RFC 4733 telephone-event payload (§2.3).
type Event struct {
	// Code is the event code: 0-15 are the DTMF keys, 16 is flash.
	Code uint8
	// End is the E bit, set in the final packets of an event.
	End bool
	// Volume is the power level in -dBm0, 0-63.
	Volume uint8
	// Duration is the event's duration so far, in RTP clock units, counted
	// from the event's (segment's) RTP timestamp.
	Duration uint16
}

// Unmarshal parses the first 4 bytes of b. The reserved bit is ignored and
// trailing bytes are not examined.
func (e *Event) Unmarshal(b []byte) error {
	if len(b) < PayloadSize {
		return ErrShortPayload
	}
	e.Code = b[0]
	e.End = b[1]&0x80 != 0
	e.Volume = b[1] & 0x3f
	e.Duration = uint16(b[2])<<8 | uint16(b[3])
	return nil
}

// MarshalTo writes the 4-byte payload into b and returns the number of bytes
// written. It returns [io.ErrShortBuffer] if b is too small and an error if
// Volume exceeds 63. It does not allocate.
func (e Event) MarshalTo(b []byte) (int, error) {
	if len(b) < PayloadSize {
		return 0, io.ErrShortBuffer
	}
	if e.Volume > 63 {
		return 0, errVolume
	}
	b[0] = e.Code
	b[1] = e.Volume
	if e.End {
		b[1] |= 0x80
	}
	b[2] = byte(e.Duration >> 8)
	b[3] = byte(e.Duration)
	return PayloadSize, nil
}

var errVolume = errors.New("dtmf: volume exceeds 63")

// codeDigits maps event codes 0-16 to digits.
const codeDigits = "0123456789*#ABCDF"

// FlashCode is the RFC 4733 event code of a hook flash, reported as digit 'F'.
const FlashCode = 16

// Digit returns the key of an event code: 0-9 are '0'-'9', 10 is '*', 11 is
// '#', 12-15 are 'A'-'D' and 16 (flash) is 'F'. Other codes (tones, modem
// and trunk events) return false.
func Digit(code uint8) (rune, bool) {
	if int(code) >= len(codeDigits) {
		return 0, false
	}
	return rune(codeDigits[code]), true
}

// Code is the inverse of [Digit]. It also accepts lowercase 'a'-'d' and 'f'.
func Code(digit rune) (uint8, bool) {
	switch {
	case digit >= '0' && digit <= '9':
		return uint8(digit - '0'), true
	case digit == '*':
		return 10, true
	case digit == '#':
		return 11, true
	case digit >= 'A' && digit <= 'D':
		return uint8(digit-'A') + 12, true
	case digit >= 'a' && digit <= 'd':
		return uint8(digit-'a') + 12, true
	case digit == 'F' || digit == 'f':
		return FlashCode, true
	}
	return 0, false
}

// Samples converts d to units of a clock running at clockRate Hz, rounded to
// the nearest unit. Negative durations give 0. Use it with [Report].Duration
// to carry an event from one clock rate to another.
func Samples(d time.Duration, clockRate int) uint32 {
	if d <= 0 || clockRate <= 0 {
		return 0
	}
	sec, rem := uint64(d/time.Second), uint64(d%time.Second)
	r := uint64(clockRate)
	return uint32(sec*r + (rem*r+uint64(time.Second)/2)/uint64(time.Second))
}

// duration converts clock units back to a time.Duration.
func duration(units uint64, clockRate int) time.Duration {
	return time.Duration(units * uint64(time.Second) / uint64(clockRate))
}
