package dtmf

import (
	"bytes"
	"errors"
	"io"
	"testing"
	"time"
)

func TestEventLayout(t *testing.T) {
	// RFC 4733: event 5, E=1, volume 10, duration 800.
	e := Event{Code: 5, End: true, Volume: 10, Duration: 800}
	var b [4]byte
	n, err := e.MarshalTo(b[:])
	if err != nil || n != 4 {
		t.Fatalf("MarshalTo = %d, %v", n, err)
	}
	if want := []byte{0x05, 0x8a, 0x03, 0x20}; !bytes.Equal(b[:], want) {
		t.Fatalf("bytes = % x, want % x", b, want)
	}
	var got Event
	if err := got.Unmarshal(b[:]); err != nil {
		t.Fatal(err)
	}
	if got != e {
		t.Fatalf("round trip = %+v, want %+v", got, e)
	}
}

func TestEventRoundTrip(t *testing.T) {
	for _, e := range []Event{
		{},
		{Code: 16, Volume: 63, Duration: 0xFFFF},
		{Code: 11, End: true, Volume: 0, Duration: 1},
		{Code: 255, End: false, Volume: 37, Duration: 0x1234},
	} {
		var b [6]byte
		if _, err := e.MarshalTo(b[:]); err != nil {
			t.Fatal(err)
		}
		var got Event
		if err := got.Unmarshal(b[:]); err != nil || got != e {
			t.Errorf("round trip %+v = %+v, %v", e, got, err)
		}
	}
	// The reserved bit is ignored.
	var got Event
	if err := got.Unmarshal([]byte{1, 0x40 | 0x80 | 5, 0, 9}); err != nil {
		t.Fatal(err)
	}
	if want := (Event{Code: 1, End: true, Volume: 5, Duration: 9}); got != want {
		t.Errorf("got %+v, want %+v", got, want)
	}
}

func TestEventErrors(t *testing.T) {
	var e Event
	if err := e.Unmarshal([]byte{1, 2, 3}); !errors.Is(err, ErrShortPayload) {
		t.Errorf("short Unmarshal: %v", err)
	}
	if _, err := (Event{}).MarshalTo(make([]byte, 3)); !errors.Is(err, io.ErrShortBuffer) {
		t.Errorf("short MarshalTo: %v", err)
	}
	if _, err := (Event{Volume: 64}).MarshalTo(make([]byte, 4)); err == nil {
		t.Error("volume 64 accepted")
	}
}

func TestDigitCode(t *testing.T) {
	const keys = "0123456789*#ABCDF"
	for i, k := range keys {
		d, ok := Digit(uint8(i))
		if !ok || d != k {
			t.Errorf("Digit(%d) = %q, %v; want %q", i, d, ok, k)
		}
		c, ok := Code(k)
		if !ok || c != uint8(i) {
			t.Errorf("Code(%q) = %d, %v; want %d", k, c, ok, i)
		}
	}
	for _, k := range "abcdf" {
		c, ok := Code(k)
		u, _ := Code(k - 'a' + 'A')
		if !ok || c != u {
			t.Errorf("Code(%q) = %d, %v; want %d", k, c, ok, u)
		}
	}
	if _, ok := Digit(17); ok {
		t.Error("Digit(17) ok")
	}
	for _, k := range "EeX! 0\x00" {
		if k == '0' {
			continue
		}
		if _, ok := Code(k); ok {
			t.Errorf("Code(%q) ok", k)
		}
	}
}

func TestSamples(t *testing.T) {
	for _, c := range []struct {
		d    time.Duration
		rate int
		want uint32
	}{
		{100 * time.Millisecond, 8000, 800},
		{100 * time.Millisecond, 48000, 4800},
		{20 * time.Millisecond, 48000, 960},
		{5 * time.Second, 48000, 240000},
		{time.Second / 16000, 8000, 1}, // rounds half up
		{-time.Second, 8000, 0},
		{time.Hour, 48000, 172800000},
	} {
		if got := Samples(c.d, c.rate); got != c.want {
			t.Errorf("Samples(%v, %d) = %d, want %d", c.d, c.rate, got, c.want)
		}
	}
}
