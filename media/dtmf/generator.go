package dtmf

import (
	"errors"
	"fmt"
	"time"
)

// Limits and defaults of [Generator.Start].
const (
	DefaultDuration = 100 * time.Millisecond
	MinDuration     = 40 * time.Millisecond
	MaxDuration     = 5 * time.Second
	DefaultInterval = 20 * time.Millisecond
	// Volume is the power level of generated events, in -dBm0.
	Volume = 10
)

// ErrBusy is returned by [Generator.Start] while a digit is still being sent.
var ErrBusy = errors.New("dtmf: generator busy")

// ErrInvalidDigit is returned for a rune that is not a key (see [Code]).
var ErrInvalidDigit = errors.New("dtmf: invalid digit")

// Generator produces the RFC 4733 packets of one digit at a time for a
// stream at a given clock rate. It is not safe for concurrent use.
type Generator struct {
	rate  int
	step  uint32 // clock units per packet
	code  uint8
	busy  bool
	start uint32 // event start timestamp
	total uint32 // event duration in clock units
	sent  uint32 // duration reported so far, from the event start
	seg   uint32 // offset of the current segment from the event start
	ends  int    // end packets returned
}

// NewGenerator returns a generator for a stream whose clock runs at
// clockRate Hz (8000 if clockRate <= 0), producing one packet per interval
// (DefaultInterval if interval <= 0).
func NewGenerator(clockRate int, interval time.Duration) *Generator {
	if clockRate <= 0 {
		clockRate = 8000
	}
	if interval <= 0 {
		interval = DefaultInterval
	}
	return &Generator{rate: clockRate, step: max(Samples(interval, clockRate), 1)}
}

// Start begins sending digit for duration (DefaultDuration if 0, clamped to
// MinDuration..MaxDuration) from RTP timestamp ts, which should be the
// stream's current timestamp. It returns [ErrInvalidDigit] or, while the
// previous digit is still being sent, [ErrBusy].
func (g *Generator) Start(digit rune, duration time.Duration, ts uint32) error {
	code, ok := Code(digit)
	if !ok {
		return fmt.Errorf("%w: %q", ErrInvalidDigit, digit)
	}
	if g.busy {
		return ErrBusy
	}
	if duration == 0 {
		duration = DefaultDuration
	}
	duration = min(max(duration, MinDuration), MaxDuration)
	*g = Generator{
		rate: g.rate, step: g.step, code: code, busy: true,
		start: ts, total: Samples(duration, g.rate),
	}
	return nil
}

// Busy reports whether a digit is being sent, i.e. Next has not yet returned
// done.
func (g *Generator) Busy() bool { return g.busy }

// Next returns the next packet of the digit; call it once per packet
// interval. The first packet has the marker bit set; the following ones
// report a duration growing by one interval; the last three are end packets
// with the same final duration (RFC 4733 §2.5.1.4), and done is true with
// the third. All packets carry the event's start timestamp, except that an
// event longer than 0xFFFF clock units (1.36 s at 48000 Hz) is split into
// segments with timestamps 0xFFFF units apart (§2.5.1.3).
//
// The payload is written into buf, which must hold [PayloadSize] bytes, and
// returned; Next does not allocate. When not busy, or if buf is too short,
// it returns a nil payload and done true.
func (g *Generator) Next(buf []byte) (payload []byte, marker bool, ts uint32, done bool) {
	if !g.busy || len(buf) < PayloadSize {
		return nil, false, 0, true
	}
	e := Event{Code: g.code, Volume: Volume}
	ts = g.start + g.seg
	if g.sent == g.total { // end phase
		g.ends++
		e.End = true
		e.Duration = uint16(g.total - g.seg)
		done = g.ends == 3
		g.busy = !done
	} else {
		marker = g.sent == 0
		g.sent = min(g.sent+g.step, g.total)
		switch {
		case g.sent-g.seg > maxSegment:
			// Close this segment at its maximum; the next packet
			// opens the next segment, without marker.
			e.Duration = maxSegment
			g.seg += maxSegment
		default:
			e.Duration = uint16(g.sent - g.seg)
			if g.sent == g.total {
				e.End = true
				g.ends = 1
			}
		}
	}
	n, _ := e.MarshalTo(buf)
	return buf[:n], marker, ts, done
}
