package call

import (
	"errors"
	"fmt"
	"strings"
)

// ErrNumberFormat is wrapped by ValidNumber's error.
var ErrNumberFormat = errors.New("invalid number format")

// MaxDigits is the longest digit string ValidNumber accepts without a '+'.
const MaxDigits = 32

// ValidNumber reports whether number may be called (sent to a trunk, or
// taken from an INVITE as the called number): an E.164 number ('+', then 1
// to 15 digits, the first not 0) or a string of 1 to MaxDigits digits.
// Anything else is refused, wrapping ErrNumberFormat: wildcards ('*', '?')
// are for patterns, not calls, and URI parameters
// ("1000;phone-context=+1900"), '#', letters and spaces are no number.
func ValidNumber(number string) error {
	digits, plus := strings.CutPrefix(number, "+")
	max := MaxDigits
	if plus {
		max = 15
	}
	ok := digits != "" && len(digits) <= max && (!plus || digits[0] != '0')
	for i := 0; ok && i < len(digits); i++ {
		ok = digits[i] >= '0' && digits[i] <= '9'
	}
	if ok {
		return nil
	}
	if len(number) > 64 {
		number = number[:64] + "..."
	}
	return fmt.Errorf("%w: %q is neither an E.164 number (+ and up to 15 digits) nor a string of up to %d digits",
		ErrNumberFormat, number, MaxDigits)
}

// MaxNameLen is the longest name ValidDestination accepts.
const MaxNameLen = 64

// ValidDestination reports whether an inbound INVITE's called user may be
// routed: a number (ValidNumber), or a plain name such as "support" or
// "sales.uk" (letters, digits, '.', '-', '_'; up to MaxNameLen), which a
// route can match but a dial can never send to a trunk (ValidNumber refuses
// it there). Wildcards ('*', '?'), URI parameters (';') and escaped
// characters are refused, wrapping ErrNumberFormat.
func ValidDestination(user string) error {
	if ValidNumber(user) == nil {
		return nil
	}
	ok := user != "" && len(user) <= MaxNameLen
	for i := 0; ok && i < len(user); i++ {
		c := user[i]
		ok = c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '.' || c == '-' || c == '_'
	}
	if ok {
		return nil
	}
	if len(user) > 64 {
		user = user[:64] + "..."
	}
	return fmt.Errorf("%w: %q is neither a number (E.164, or up to %d digits) nor a name (letters, digits, '.', '-', '_')",
		ErrNumberFormat, user, MaxDigits)
}

// MatchNumber reports whether number matches pattern: '*' matches any run of
// characters (including none), '?' exactly one; everything else literally.
// A pattern without '+' also matches the number's form without its leading
// '+' and vice versa, so "+4420*" and "4420*" serve the same DIDs.
func MatchNumber(pattern, number string) bool {
	if wildcard(pattern, number) {
		return true
	}
	p, n := strings.TrimPrefix(pattern, "+"), strings.TrimPrefix(number, "+")
	return wildcard(p, n)
}

// wildcard is an iterative glob match with backtracking on the last '*'.
func wildcard(p, s string) bool {
	pi, si := 0, 0
	star, mark := -1, 0
	for si < len(s) {
		switch {
		case pi < len(p) && (p[pi] == '?' || p[pi] == s[si]):
			pi++
			si++
		case pi < len(p) && p[pi] == '*':
			star, mark = pi, si
			pi++
		case star >= 0:
			pi = star + 1
			mark++
			si = mark
		default:
			return false
		}
	}
	for pi < len(p) && p[pi] == '*' {
		pi++
	}
	return pi == len(p)
}

// ValidE164 reports whether number is a full E.164 number: '+', then 8 to
// 15 digits, the first not 0 (what the switch dials outside the contact
// center: external transfers, REFER targets, callbacks). Anything else is
// refused, wrapping ErrNumberFormat.
func ValidE164(number string) error {
	digits, plus := strings.CutPrefix(number, "+")
	if plus && len(digits) >= 8 && ValidNumber(number) == nil {
		return nil
	}
	if len(number) > 64 {
		number = number[:64] + "..."
	}
	return fmt.Errorf("%w: %q is not an E.164 number ('+', then 8 to 15 digits)", ErrNumberFormat, number)
}
