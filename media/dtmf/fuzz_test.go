package dtmf

import (
	"errors"
	"strings"
	"testing"
	"time"
)

const keys = "0123456789*#ABCDF"

// FuzzEvent: any telephone-event payload (RFC 4733 §2.3) parses or is
// refused as short, and what parses marshals back to the same 4 bytes, the
// reserved bit aside.
func FuzzEvent(f *testing.F) {
	for _, s := range [][]byte{{5, 10, 0, 160}, {11, 0x8a, 3, 0x20}, {16, 0x3f, 0xff, 0xff}, {200, 0x40, 0, 0}, {1, 2, 3}, {}} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		var e Event
		if err := e.Unmarshal(b); err != nil {
			if len(b) >= PayloadSize || !errors.Is(err, ErrShortPayload) {
				t.Fatalf("Unmarshal(% x): %v", b, err)
			}
			return
		}
		var out [PayloadSize]byte
		if n, err := e.MarshalTo(out[:]); err != nil || n != PayloadSize {
			t.Fatalf("MarshalTo(%+v) = %d, %v", e, n, err)
		}
		want := [PayloadSize]byte{b[0], b[1] &^ 0x40, b[2], b[3]}
		if out != want {
			t.Fatalf("% x parsed to %+v marshals to % x", b[:4], e, out)
		}
		if d, ok := Digit(e.Code); ok {
			if c, ok := Code(d); !ok || c != e.Code {
				t.Fatalf("Code(Digit(%d)) = %d, %v", e.Code, c, ok)
			}
		}
	})
}

// FuzzDetector feeds a detector the telephone-event packets a peer can
// send: retransmitted, reordered, duplicated, with lost ends, segments,
// code changes, stale timestamps, short payloads, and time-outs in between.
// Each 7-byte step of the input is flags (marker, expire), a signed
// timestamp step, a code, the E bit and volume, and a duration. It checks
// that every event is reported by exactly one Begin and then one End with
// the same timestamp and a key as digit, that durations are never negative,
// and that Open tells whether an event is between its Begin and End.
func FuzzDetector(f *testing.F) {
	// Digit 5: start (marker), two updates, three end packets; then
	// digit # with its end packets lost, timed out.
	f.Add([]byte{
		1, 0, 0, 5, 10, 0, 160,
		0, 0, 0, 5, 10, 1, 64,
		0, 0, 0, 5, 10, 1, 224,
		0, 0, 0, 5, 0x8a, 2, 128,
		0, 0, 0, 5, 0x8a, 2, 128,
		0, 0, 0, 5, 0x8a, 2, 128,
		1, 0x10, 0, 11, 10, 0, 160,
		2, 0, 0, 0, 0, 0, 0,
	})
	// A long event in segments (0xFFFF units apart), then a stale packet.
	f.Add([]byte{1, 0, 0, 1, 10, 0xff, 0xff, 0, 0xff, 0xff, 1, 10, 0, 160, 0, 0, 0, 1, 0x8a, 1, 64, 0, 0x80, 0, 2, 10, 0, 160})
	f.Fuzz(func(t *testing.T, ops []byte) {
		d := NewDetector(8000)
		var (
			ts     uint32 = 1 << 31
			openTS uint32
			open   bool
		)
		handle := func(r Report) {
			if !strings.ContainsRune(keys, r.Digit) || r.Duration < 0 {
				t.Fatalf("report %+v", r)
			}
			if r.Begin {
				if open {
					t.Fatalf("Begin %+v while the event at %d is open", r, openTS)
				}
				open, openTS = true, r.Timestamp
			}
			if r.End {
				if !open || r.Timestamp != openTS {
					t.Fatalf("End %+v without its Begin (open %v at %d)", r, open, openTS)
				}
				open = false
			}
		}
		for len(ops) >= 7 {
			op := ops[:7]
			ops = ops[7:]
			if op[0]&2 != 0 {
				if r, ok := d.Expire(time.Duration(op[1]) * 10 * time.Millisecond); ok {
					if !r.End {
						t.Fatalf("Expire reported %+v", r)
					}
					handle(r)
				}
			} else {
				ts += uint32(int32(int16(uint16(op[1])<<8 | uint16(op[2]))))
				payload := op[3:]
				if op[0]&4 != 0 {
					payload = payload[:op[0]>>3%4] // short
				}
				reports, n := d.Feed(op[0]&1 != 0, ts, payload)
				if n < 0 || n > len(reports) {
					t.Fatalf("%d reports", n)
				}
				for _, r := range reports[:n] {
					handle(r)
				}
			}
			if d.Open() != open {
				t.Fatalf("Open() = %v, reports say %v", d.Open(), open)
			}
		}
	})
}

// FuzzParseInfo: a SIP INFO body (sip/leg.go answers a bad one with "400
// Bad Request - " and the error) either gives a key and a non-negative
// duration, or an error wrapping ErrUnsupportedInfo or ErrInvalidInfo whose
// text has no control characters (it goes into a reason phrase). What
// parses, formatted again with FormatInfo, parses to the same digit.
func FuzzParseInfo(f *testing.F) {
	for _, c := range [][2]string{
		{"application/dtmf-relay", "Signal=5\r\nDuration=160\r\n"},
		{"Application/DTMF-Relay; charset=UTF-8", "signal=#\r\nduration=250\r\n"},
		{"application/dtmf-relay", " Signal = a \r\n\r\nDuration=40\r\nFoo=bar\r\n"},
		{"application/dtmf-relay", "Signal=!\r\nDuration=500"},
		{"application/dtmf-relay", "Signal=16"},
		{"application/dtmf-relay", "Signal=5\r\nDuration=-5\r\n"},
		{"application/dtmf-relay", "Signal=5\r\nDuration=abc\x00\r\n"},
		{"application/dtmf", " 9\r\n"},
		{"application/dtmf", "\x00\xff"},
		{"text/plain", "Signal=5"},
	} {
		f.Add(c[0], []byte(c[1]))
	}
	f.Fuzz(func(t *testing.T, ct string, body []byte) {
		digit, dur, err := ParseInfo(ct, body)
		if err != nil {
			if !errors.Is(err, ErrUnsupportedInfo) && !errors.Is(err, ErrInvalidInfo) {
				t.Fatalf("ParseInfo(%q, %q): %v", ct, body, err)
			}
			if strings.ContainsFunc(err.Error(), func(r rune) bool { return r < 0x20 || r == 0x7f }) {
				t.Fatalf("error with a control character: %q", err.Error())
			}
			return
		}
		if !strings.ContainsRune(keys, digit) || dur < 0 {
			t.Fatalf("ParseInfo(%q, %q) = %q, %v", ct, body, digit, dur)
		}
		ct2, body2 := FormatInfo(digit, dur)
		d2, dur2, err := ParseInfo(ct2, body2)
		want := dur
		if want == 0 {
			want = DefaultDuration
		}
		if err != nil || d2 != digit || dur2 != want {
			t.Fatalf("%q, %v formatted as %q parses to %q, %v, %v", digit, dur, body2, d2, dur2, err)
		}
	})
}
