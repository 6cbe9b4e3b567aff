package dtmf

import "time"

// DefaultTimeout is the [Detector.Timeout] used when it is zero.
const DefaultTimeout = time.Second

// maxSegment is the largest duration one RFC 4733 segment can express.
const maxSegment = 0xFFFF

// Report is a change in the state of an event seen by a [Detector].
type Report struct {
	// Digit is the key, see [Digit].
	Digit rune
	// Begin is set in the report for the first packet seen of a new event.
	Begin bool
	// End is set when the event ended: an end packet was seen, a newer event
	// superseded it, or [Detector.Expire] timed it out.
	End bool
	// Duration is the event's duration so far (Begin) or in total (End).
	Duration time.Duration
	// Timestamp is the RTP timestamp of the event's start, which identifies
	// the event (RFC 4733 §2.5.1.1).
	Timestamp uint32
}

// Detector turns the telephone-event packets of one RTP stream into digit
// reports: one Begin and one End per event, whatever the number of
// continuation, retransmitted or duplicated packets. Use one per leg; it is
// not safe for concurrent use. The zero value is not usable; call
// [NewDetector].
//
// Events are identified by their RTP timestamp. Packets of the current event
// after its end, and packets with a timestamp older than the current event's
// (late retransmissions of a previous event), are ignored. Long events split
// into segments (RFC 4733 §2.5.1.3: a new timestamp 0xFFFF units after the
// previous one, same code, no marker) are followed as one event. Events whose
// code is not a key (see [Digit]) are ignored.
type Detector struct {
	// Timeout is how long after an open event's last packet [Detector.Expire]
	// ends it; zero means DefaultTimeout.
	Timeout time.Duration

	rate  int
	stale int32 // timestamps this far behind the current event are stale
	slack uint32

	valid bool   // cur holds an event
	open  bool   // cur has not ended
	ts    uint32 // event start timestamp
	seg   uint32 // current segment's timestamp
	code  uint8
	dur   uint16 // largest duration seen in the current segment
}

// NewDetector returns a detector for a stream whose telephone-event clock
// runs at clockRate Hz (8000 if clockRate <= 0).
func NewDetector(clockRate int) *Detector {
	if clockRate <= 0 {
		clockRate = 8000
	}
	return &Detector{
		rate:  clockRate,
		stale: int32(min(10*clockRate, 1<<30)),
		slack: uint32(clockRate / 10),
	}
}

// Reset forgets the current event without reporting it, e.g. after the
// stream's SSRC changed.
func (d *Detector) Reset() {
	d.valid, d.open = false, false
}

// Feed takes one telephone-event packet's RTP marker bit, timestamp and
// payload and returns the reports it causes, in order, in reports[:n]:
//
//   - the first packet of a new event gives a Begin report; if that packet is
//     already an end packet (the earlier ones were lost) the single report has
//     both Begin and End set;
//   - the first end packet of an event gives an End report; further end
//     packets, continuation packets and duplicates give nothing;
//   - a new event while the previous one is still open first ends the old
//     one, so n is 2: reports[0] is the old event's End (with the last
//     duration seen) and reports[1] the new event's Begin.
//
// Short payloads and non-key events give n == 0. Feed does not allocate.
func (d *Detector) Feed(marker bool, ts uint32, payload []byte) (reports [2]Report, n int) {
	var e Event
	if e.Unmarshal(payload) != nil {
		return reports, 0
	}
	if _, ok := Digit(e.Code); !ok {
		return reports, 0
	}
	if d.valid {
		switch diff := int32(ts - d.seg); {
		case ts == d.seg && (d.open || e.Code == d.code):
			// Same event (a different code at the same timestamp after
			// the end can only be a sender that does not advance its
			// timestamp between events).
			if !d.open {
				return reports, 0
			}
			d.dur = max(d.dur, e.Duration)
			if e.End {
				d.open = false
				reports[0] = d.report(false, true)
				return reports, 1
			}
			return reports, 0
		case ts != d.seg && diff <= 0 && -diff <= d.stale:
			return reports, 0 // late packet of an earlier event or segment
		case d.open && !marker && e.Code == d.code &&
			uint32(diff) >= maxSegment-d.slack && uint32(diff) <= maxSegment+d.slack:
			// Next segment of a long event.
			d.seg, d.dur = ts, e.Duration
			if e.End {
				d.open = false
				reports[0] = d.report(false, true)
				return reports, 1
			}
			return reports, 0
		case d.open:
			d.open = false
			reports[0] = d.report(false, true)
			n = 1
		}
	}
	d.valid, d.open = true, !e.End
	d.ts, d.seg, d.code, d.dur = ts, ts, e.Code, e.Duration
	reports[n] = d.report(true, e.End)
	return reports, n + 1
}

// Expire ends the open event, if any, when sinceLast (the time since the
// last packet was fed) has reached the timeout, as when all its end packets
// were lost. The End report carries the last duration seen and is given only
// once; later packets of that event are ignored.
func (d *Detector) Expire(sinceLast time.Duration) (Report, bool) {
	timeout := d.Timeout
	if timeout <= 0 {
		timeout = DefaultTimeout
	}
	if !d.open || sinceLast < timeout {
		return Report{}, false
	}
	d.open = false
	return d.report(false, true), true
}

// Open reports whether an event has begun and not yet ended.
func (d *Detector) Open() bool { return d.open }

func (d *Detector) report(begin, end bool) Report {
	digit, _ := Digit(d.code)
	return Report{
		Digit:     digit,
		Begin:     begin,
		End:       end,
		Duration:  duration(uint64(d.seg-d.ts)+uint64(d.dur), d.rate),
		Timestamp: d.ts,
	}
}
