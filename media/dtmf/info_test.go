package dtmf

import (
	"errors"
	"testing"
	"time"
)

func TestParseInfo(t *testing.T) {
	for _, c := range []struct {
		ct, body string
		digit    rune
		dur      time.Duration
	}{
		{"application/dtmf-relay", "Signal=5\r\nDuration=160\r\n", '5', 160 * time.Millisecond},
		{"application/dtmf-relay", "Signal=5\nDuration=160\n", '5', 160 * time.Millisecond},
		{"application/dtmf-relay", "Signal=5\r\nDuration=160", '5', 160 * time.Millisecond},
		{"Application/DTMF-Relay; charset=UTF-8", "signal=#\r\nduration=250\r\n", '#', 250 * time.Millisecond},
		{"application/dtmf-relay", "Signal= 10\r\nDuration= 100\r\n", '*', 100 * time.Millisecond},
		{"application/dtmf-relay", "Signal=11\r\n", '#', 0}, // no Duration: 0
		{"application/dtmf-relay", " Signal = a \r\n\r\nDuration=40\r\nFoo=bar\r\n", 'A', 40 * time.Millisecond},
		{"application/dtmf-relay", "Signal=15", 'D', 0},
		{"application/dtmf-relay", "Signal=!\r\nDuration=500", 'F', 500 * time.Millisecond},
		{"application/dtmf-relay", "Signal=16", 'F', 0},
		{"application/dtmf-relay", "Duration=80\r\nSignal=0\r\n", '0', 80 * time.Millisecond},
		{"application/dtmf", "5", '5', 0},
		{"APPLICATION/DTMF;charset=us-ascii", " 9\r\n", '9', 0},
		{"application/dtmf", "c\n", 'C', 0},
		{"application/dtmf", "10", '*', 0},
	} {
		digit, dur, err := ParseInfo(c.ct, []byte(c.body))
		if err != nil || digit != c.digit || dur != c.dur {
			t.Errorf("ParseInfo(%q, %q) = %q, %v, %v; want %q, %v", c.ct, c.body, digit, dur, err, c.digit, c.dur)
		}
	}
}

func TestParseInfoErrors(t *testing.T) {
	for _, c := range []struct {
		ct, body string
		want     error
	}{
		{"text/plain", "Signal=5", ErrUnsupportedInfo},
		{"application/dtmf-relayx", "Signal=5", ErrUnsupportedInfo},
		{"", "5", ErrUnsupportedInfo},
		{"application/dtmf-relay", "", ErrInvalidInfo},
		{"application/dtmf-relay", "hello world", ErrInvalidInfo},
		{"application/dtmf-relay", "Duration=100\r\n", ErrInvalidInfo},
		{"application/dtmf-relay", "Signal=E\r\n", ErrInvalidInfo},
		{"application/dtmf-relay", "Signal=17\r\n", ErrInvalidInfo},
		{"application/dtmf-relay", "Signal=\r\n", ErrInvalidInfo},
		{"application/dtmf-relay", "Signal=55\r\n", ErrInvalidInfo},
		{"application/dtmf-relay", "Signal=5\r\nDuration=abc\r\n", ErrInvalidInfo},
		{"application/dtmf-relay", "Signal=5\r\nDuration=-5\r\n", ErrInvalidInfo},
		{"application/dtmf", "", ErrInvalidInfo},
		{"application/dtmf", "55", ErrInvalidInfo},
		{"application/dtmf", "\x00\xff", ErrInvalidInfo},
	} {
		d, _, err := ParseInfo(c.ct, []byte(c.body))
		if !errors.Is(err, c.want) {
			t.Errorf("ParseInfo(%q, %q) = %q, %v; want %v", c.ct, c.body, d, err, c.want)
		}
	}
}

func TestFormatInfo(t *testing.T) {
	for _, c := range []struct {
		digit rune
		dur   time.Duration
		body  string
	}{
		{'5', 160 * time.Millisecond, "Signal=5\r\nDuration=160\r\n"},
		{'*', 0, "Signal=*\r\nDuration=100\r\n"},
		{'b', 2 * time.Second, "Signal=B\r\nDuration=2000\r\n"},
		{'F', 500 * time.Millisecond, "Signal=16\r\nDuration=500\r\n"},
	} {
		ct, body := FormatInfo(c.digit, c.dur)
		if ct != "application/dtmf-relay" || string(body) != c.body {
			t.Errorf("FormatInfo(%q, %v) = %q, %q; want %q", c.digit, c.dur, ct, body, c.body)
		}
		d, dur, err := ParseInfo(ct, body)
		wantDur := c.dur
		if wantDur <= 0 {
			wantDur = DefaultDuration
		}
		if k, _ := Code(c.digit); err != nil || dur != wantDur || d != rune(codeDigits[k]) {
			t.Errorf("round trip %q: %q, %v, %v", c.digit, d, dur, err)
		}
	}
	if ct, body := FormatInfo('x', time.Second); ct != "" || body != nil {
		t.Errorf("FormatInfo('x') = %q, %q", ct, body)
	}
}
