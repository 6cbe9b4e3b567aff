// Package jitter is an adaptive, bounded jitter buffer for RTP streams that
// the switch decodes (transcoded legs).
//
// One goroutine (the socket reader) calls [Buffer.Push] for every received
// packet; another (the call's frame ticker) calls [Buffer.Pop] once per frame
// period and decodes, conceals or skips what it returns. Push and Pop may run
// concurrently; the buffer guards itself with a mutex. Push and Pop do not
// allocate: packets are copied into slots preallocated by [New].
//
// # Playout
//
// Each Pop plays exactly one packet position: the packet's sequence number
// selects its slot, so the sender's packet duration must equal
// [Options.Frame]. Playout starts once the first packet has waited the target
// delay; until then Pop returns [Empty].
//
// When the packet due is missing but later packets are buffered (a gap), Pop
// returns [Lost] once for it and moves on; [Frame.Next] then holds the
// following packet's payload, for Opus in-band FEC. If the buffer is below its
// target depth, Pop first waits for the missing packet (returning Lost without
// moving on, at most target-delay frames): that is how the delay grows. When
// nothing at all is buffered (underrun) Pop also returns Lost without moving
// on, for at most MaxDelay after the last accepted packet, so a late packet is
// still played when it arrives; frames returned Lost
// while waiting are counted in [Stats.Waits], a missing packet is counted once
// in [Stats.Lost].
//
// When no packet has been accepted for longer than [Options.MaxDelay] and the
// buffer is empty, the stream is considered stopped: Pop returns Empty (the
// consumer plays silence or comfort noise and does not count loss) and the
// next newer packet restarts playout as if it were the first one.
//
// # Adaptive delay
//
// The target delay is clamp(spread + Frame, MinDelay, MaxDelay), where spread
// is the 95th percentile minus the minimum of the transit time (arrival time
// minus RTP timestamp) of the last 64 packets. A percentile over a short
// window follows bursty jitter better than the RFC 3550 smoothed estimate,
// which is still computed and reported in [Stats.Jitter]. A late packet
// raises the target at once; the buffer then grows by waiting at the next gap
// or underrun. The buffer shrinks slowly: when its depth has stayed above the
// target for 50 consecutive frames, one packet is dropped; when it stayed k
// frames above, one packet is dropped every 50/k frames (k counted up to 10),
// so a backlog left by a burst drains within a few seconds.
//
// # Limits
//
//   - The buffer never holds more than MaxDelay/Frame packets (at least 1). A
//     packet beyond that window pushes the oldest packets out (counted in
//     [Stats.Dropped]); when playout (re)starts with more than one frame above
//     the target delay buffered (a backlog arriving at once), the oldest
//     packets are dropped down to that.
//   - Payloads larger than MaxPayload bytes are dropped (counted).
//   - Packets whose position has already been played or declared lost are
//     dropped as late; repeated packets (the last 64 sequence numbers are
//     remembered) are dropped as duplicates.
//   - A new SSRC, a sequence-number jump of more than 100 packets either way,
//     or a timestamp more than MaxDelay away from what the sequence number
//     predicts (a sender restart, or the end of silence suppression) resets
//     the buffer: buffered packets are dropped (counted) and playout restarts
//     from the new packet after the target delay, returning Empty meanwhile,
//     never a run of Lost.
//   - Sequence numbers wrap from 65535 to 0; RTP timestamps may wrap too.
package jitter

import (
	"slices"
	"sync"
	"time"
)

// Status tells the consumer what to do with a [Frame].
type Status uint8

const (
	// Empty means there is nothing to play: playout has not started, is
	// (re)buffering after a reset, or the stream stopped. The consumer plays
	// silence or comfort noise and does not count a loss.
	Empty Status = iota
	// Ready means Payload holds the packet to decode.
	Ready
	// Lost means the packet due is missing: the consumer conceals it (PLC),
	// or decodes the FEC data of Next when Next is not nil.
	Lost
)

// String returns the status name.
func (s Status) String() string {
	switch s {
	case Empty:
		return "empty"
	case Ready:
		return "ready"
	case Lost:
		return "lost"
	}
	return "unknown"
}

// Frame is what [Buffer.Pop] returns for one frame period. Payload and Next
// are owned by the buffer and stay valid until the next call to Pop.
type Frame struct {
	Status Status
	// Payload is the packet to decode when Status is Ready.
	Payload []byte
	// Next is the payload of the packet following a lost one, when it is
	// already buffered (Status Lost only); nil otherwise.
	Next []byte
	// Seq and TS are the RTP sequence number and timestamp of the packet
	// played or concealed (zero for Empty).
	Seq uint16
	TS  uint32
}

// Options configure a [Buffer]. Zero fields take their defaults.
type Options struct {
	// ClockRate is the stream's RTP clock rate in Hz (8000 for PCMU/PCMA,
	// 48000 for Opus). Default 8000.
	ClockRate int
	// Frame is the packet duration (ptime) and the Pop period. Default 20ms.
	Frame time.Duration
	// MinDelay is the lowest target playout delay. Default 20ms.
	MinDelay time.Duration
	// MaxDelay bounds the target delay and the buffer: it never holds more
	// than MaxDelay/Frame packets. It is also how long a stream may pause
	// before it is considered stopped. Default 200ms.
	MaxDelay time.Duration
	// MaxPayload is the largest payload accepted, in bytes. Default 1500.
	MaxPayload int
	// FirstHold, when set below the target delay, is how long the very
	// first packet waits before playout starts. Pops come every Frame, so a
	// packet held for the target waits half a frame more on average; a
	// caller that knows the stream is steady (its measured jitter) can start
	// sooner with FirstHold = Frame/2. Later restarts wait the target.
	FirstHold time.Duration
}

// Stats is a snapshot of a [Buffer]'s state and counters.
type Stats struct {
	// Delay is the current target playout delay.
	Delay time.Duration
	// Depth is the number of packets buffered.
	Depth int
	// Pushed counts calls to Push.
	Pushed uint64
	// Played counts frames returned Ready.
	Played uint64
	// Lost counts missing packets, each once, including missing positions
	// skipped when the buffer is trimmed.
	Lost uint64
	// Late counts packets dropped because their position was already played
	// or declared lost.
	Late uint64
	// Duplicate counts packets dropped because they were already received.
	Duplicate uint64
	// Dropped counts packets discarded by the buffer: too large, pushed out by
	// the MaxDelay bound, trimmed to the target delay at (re)start or when
	// shrinking, or flushed by a reset.
	Dropped uint64
	// Resets counts resets: SSRC changes, sequence or timestamp jumps, and
	// calls to Reset.
	Resets uint64
	// Waits counts frames returned Lost while waiting for a missing packet
	// (delay growth or underrun); they are not included in Lost.
	Waits uint64
	// Jitter is the RFC 3550 interarrival jitter estimate.
	Jitter time.Duration
}

const (
	maxJump      = 100 // sequence jump, in packets, that resets the buffer
	window       = 64  // transit samples kept for the delay percentile
	minSamples   = 8   // samples needed before the target adapts
	percentile   = 95  // transit percentile that sets the spread
	shrinkFrames = 50  // frames the depth must stay above target to shrink
)

type slot struct {
	valid bool
	ext   int64
	ts    uint32
	n     int
	buf   []byte
}

// Buffer is an adaptive jitter buffer. Create it with [New].
type Buffer struct {
	firstHold time.Duration // Options.FirstHold, until the first stream starts
	mu        sync.Mutex

	// configuration
	rate      int
	frame     time.Duration
	minDelay  time.Duration
	maxDelay  time.Duration
	maxPay    int
	fs        uint32 // samples per frame
	maxDelayS int64  // MaxDelay in samples
	limit     int64  // max packets buffered (MaxDelay/Frame)

	slots []slot
	mask  int64
	out   []byte
	next  []byte

	// stream state
	started   bool
	playing   bool
	stalled   bool
	ssrc      uint32
	hiSeq     int64 // highest extended sequence number accepted
	hiTS      uint32
	recv      uint64 // bit i set: hiSeq-i was received
	nextSeq   int64  // extended sequence number to play next
	count     int
	holdUntil time.Time
	lastArr   time.Time
	waits     int // waits for nextSeq so far

	// delay estimation
	target   time.Duration
	targetN  int64 // target in frames
	dirty    bool
	baseArr  time.Time
	baseTS   uint32
	transit  [window]int64
	scratch  [window]int64
	nTransit int
	iTransit int
	jitter   float64 // RFC 3550 J, in seconds
	prevTr   float64 // previous transit, in seconds
	haveTr   bool
	minSpan  int64
	spanRun  int

	st Stats
}

// New returns a Buffer with all its memory preallocated.
func New(o Options) *Buffer {
	if o.ClockRate <= 0 {
		o.ClockRate = 8000
	}
	if o.Frame <= 0 {
		o.Frame = 20 * time.Millisecond
	}
	if o.MinDelay <= 0 {
		o.MinDelay = 20 * time.Millisecond
	}
	if o.MaxDelay <= 0 {
		o.MaxDelay = 200 * time.Millisecond
	}
	if o.MaxDelay < o.Frame {
		o.MaxDelay = o.Frame
	}
	if o.MinDelay > o.MaxDelay {
		o.MinDelay = o.MaxDelay
	}
	if o.MaxPayload <= 0 {
		o.MaxPayload = 1500
	}
	b := &Buffer{
		rate:      o.ClockRate,
		frame:     o.Frame,
		minDelay:  o.MinDelay,
		firstHold: o.FirstHold,
		maxDelay:  o.MaxDelay,
		maxPay:    o.MaxPayload,
		fs:        uint32(int64(o.ClockRate) * int64(o.Frame) / int64(time.Second)),
		limit:     max(int64(o.MaxDelay/o.Frame), 1),
		out:       make([]byte, o.MaxPayload),
		next:      make([]byte, o.MaxPayload),
	}
	b.maxDelayS = int64(o.ClockRate) * int64(o.MaxDelay) / int64(time.Second)
	n := int64(1)
	for n < b.limit {
		n <<= 1
	}
	b.slots = make([]slot, n)
	b.mask = n - 1
	mem := make([]byte, int(n)*o.MaxPayload)
	for i := range b.slots {
		b.slots[i].buf = mem[i*o.MaxPayload : (i+1)*o.MaxPayload : (i+1)*o.MaxPayload]
	}
	b.setTarget(b.minDelay)
	return b
}

func (b *Buffer) setTarget(d time.Duration) {
	d = min(max(d, b.minDelay), b.maxDelay)
	b.target = d
	b.targetN = min(max(int64((d+b.frame-1)/b.frame), 1), b.limit)
}

// Reset empties the buffer (counting buffered packets as dropped) and
// forgets the stream, e.g. on a re-INVITE with a new codec. The next packet
// starts a new stream. Counters and the target delay are kept.
func (b *Buffer) Reset() {
	b.mu.Lock()
	b.reset()
	b.mu.Unlock()
}

func (b *Buffer) reset() {
	b.st.Resets++
	b.flush()
	b.started = false
}

// flush drops every buffered packet.
func (b *Buffer) flush() {
	if b.count > 0 {
		for i := range b.slots {
			if b.slots[i].valid {
				b.slots[i].valid = false
				b.st.Dropped++
			}
		}
		b.count = 0
	}
	b.playing = false
	b.stalled = false
	b.nTransit, b.iTransit = 0, 0
	b.haveTr = false
	b.waits = 0
	b.minSpan, b.spanRun = 0, 0
}

// Push copies a received packet into the buffer. arrival is its receive time
// (from a monotonic clock). Packets that are too large, late, duplicated or
// beyond the buffer bound are dropped and counted.
func (b *Buffer) Push(seq uint16, ts uint32, ssrc uint32, payload []byte, arrival time.Time) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.st.Pushed++
	if len(payload) > b.maxPay {
		b.st.Dropped++
		return
	}
	if !b.started {
		b.first(seq, ts, ssrc, payload, arrival)
		return
	}
	ext := b.hiSeq + int64(int16(seq-uint16(b.hiSeq)))
	d := ext - b.hiSeq
	if ssrc != b.ssrc || d > maxJump || d < -maxJump {
		b.reset()
		b.first(seq, ts, ssrc, payload, arrival)
		return
	}
	if d > 0 {
		dts := int64(int32(ts - (b.hiTS + uint32(d)*b.fs)))
		if dts > b.maxDelayS || dts < -b.maxDelayS {
			b.reset()
			b.first(seq, ts, ssrc, payload, arrival)
			return
		}
		if b.stalled {
			// The stream resumes after a pause: start over from here.
			b.flush()
			b.first(seq, ts, ssrc, payload, arrival)
			return
		}
	} else if -d < 64 && b.recv&(1<<uint(-d)) != 0 {
		b.st.Duplicate++
		return
	}
	if ext < b.nextSeq {
		if !b.playing && !b.stalled && b.hiSeq-ext < b.limit {
			// Reordered before playout started: play it first.
			b.nextSeq = ext
		} else {
			b.st.Late++
			b.markRecv(d)
			b.observe(ts, arrival)
			return
		}
	}
	if b.stalled {
		b.st.Late++
		return
	}
	if ext >= b.nextSeq+b.limit {
		// Beyond the bound: push the oldest packets out.
		end := ext - b.limit + 1
		for e := b.nextSeq; e < end; e++ {
			b.drop(e)
		}
		b.nextSeq = end
		b.waits = 0
	}
	s := &b.slots[ext&b.mask]
	if s.valid && s.ext == ext {
		b.st.Duplicate++
		return
	}
	b.store(s, ext, ts, payload)
	b.markRecv(d)
	if d > 0 {
		b.hiSeq, b.hiTS = ext, ts
	}
	b.lastArr = arrival
	b.observe(ts, arrival)
}

// first starts a stream with its first packet.
func (b *Buffer) first(seq uint16, ts uint32, ssrc uint32, payload []byte, arrival time.Time) {
	ext := int64(seq) + 1<<20
	b.started, b.playing, b.stalled = true, false, false
	b.ssrc = ssrc
	b.hiSeq, b.hiTS = ext, ts
	b.recv = 1
	b.nextSeq = ext
	b.waits = 0
	hold := b.target
	if b.firstHold > 0 && b.firstHold < hold {
		hold = b.firstHold
	}
	b.firstHold = 0
	b.holdUntil = arrival.Add(hold)
	b.lastArr = arrival
	b.baseArr, b.baseTS = arrival, ts
	b.nTransit, b.iTransit = 0, 0
	b.haveTr = false
	b.store(&b.slots[ext&b.mask], ext, ts, payload)
	b.observe(ts, arrival)
}

func (b *Buffer) store(s *slot, ext int64, ts uint32, payload []byte) {
	if !s.valid {
		b.count++
	}
	s.valid = true
	s.ext = ext
	s.ts = ts
	s.n = copy(s.buf, payload)
}

// markRecv records sequence hiSeq+d as received; d > 0 moves hiSeq.
func (b *Buffer) markRecv(d int64) {
	switch {
	case d > 0 && d < 64:
		b.recv = b.recv<<uint(d) | 1
	case d >= 64:
		b.recv = 1
	case d <= 0 && -d < 64:
		b.recv |= 1 << uint(-d)
	}
}

// observe feeds the delay estimators with a packet's transit time.
func (b *Buffer) observe(ts uint32, arrival time.Time) {
	arr := arrival.Sub(b.baseArr)
	media := time.Duration(int64(int32(ts-b.baseTS)) * int64(time.Second) / int64(b.rate))
	tr := int64(arr - media)
	b.transit[b.iTransit] = tr
	b.iTransit = (b.iTransit + 1) % window
	if b.nTransit < window {
		b.nTransit++
	}
	b.dirty = true

	// RFC 3550 section 6.4.1 / A.8.
	trs := float64(tr) / float64(time.Second)
	if b.haveTr {
		d := trs - b.prevTr
		if d < 0 {
			d = -d
		}
		b.jitter += (d - b.jitter) / 16
	}
	b.prevTr, b.haveTr = trs, true
}

// adapt recomputes the target delay from the transit window.
func (b *Buffer) adapt() {
	b.dirty = false
	n := b.nTransit
	if n < minSamples {
		return
	}
	s := b.scratch[:n]
	copy(s, b.transit[:n])
	slices.Sort(s)
	hi := (n*percentile + 99) / 100
	spread := time.Duration(s[hi-1] - s[0])
	b.setTarget(spread + b.frame)
}

// Pop returns what to play for the frame period starting at now. Call it
// once per frame period.
func (b *Buffer) Pop(now time.Time) Frame {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.dirty {
		b.adapt()
	}
	if !b.started || b.stalled {
		return Frame{}
	}
	if !b.playing {
		if now.Before(b.holdUntil) {
			return Frame{}
		}
		b.playing = true
		for b.hiSeq-b.nextSeq > b.targetN {
			b.drop(b.nextSeq)
			b.nextSeq++
		}
		b.minSpan, b.spanRun = b.hiSeq-b.nextSeq+1, 0
	}
	b.shrink()
	for {
		s := &b.slots[b.nextSeq&b.mask]
		if s.valid && s.ext == b.nextSeq {
			n := copy(b.out, s.buf[:s.n])
			s.valid = false
			b.count--
			f := Frame{Status: Ready, Payload: b.out[:n], Seq: uint16(b.nextSeq), TS: s.ts}
			b.nextSeq++
			b.waits = 0
			b.st.Played++
			return f
		}
		if b.count == 0 {
			if now.Sub(b.lastArr) > b.maxDelay {
				// The stream stopped.
				b.stalled = true
				b.playing = false
				return Frame{}
			}
			return b.wait()
		}
		if b.hiSeq-b.nextSeq+1 < b.targetN && int64(b.waits) < b.targetN {
			// Below the target depth: wait for it, growing the delay.
			return b.wait()
		}
		if b.waits > 0 {
			// Already concealed while waiting: give up on it and move on.
			b.st.Lost++
			b.nextSeq++
			b.waits = 0
			continue
		}
		f := Frame{Status: Lost, Seq: uint16(b.nextSeq), TS: b.tsOf(b.nextSeq)}
		if ns := &b.slots[(b.nextSeq+1)&b.mask]; ns.valid && ns.ext == b.nextSeq+1 {
			f.Next = b.next[:copy(b.next, ns.buf[:ns.n])]
		}
		b.st.Lost++
		b.nextSeq++
		return f
	}
}

// wait conceals the packet due without moving on.
func (b *Buffer) wait() Frame {
	b.waits++
	b.st.Waits++
	return Frame{Status: Lost, Seq: uint16(b.nextSeq), TS: b.tsOf(b.nextSeq)}
}

// tsOf predicts the timestamp of extended sequence number ext.
func (b *Buffer) tsOf(ext int64) uint32 {
	return b.hiTS - uint32(b.hiSeq-ext)*b.fs
}

// drop skips position ext: a buffered packet is dropped, a missing one is
// counted lost.
func (b *Buffer) drop(ext int64) {
	s := &b.slots[ext&b.mask]
	if s.valid && s.ext == ext {
		s.valid = false
		b.count--
		b.st.Dropped++
		return
	}
	b.st.Lost++
}

// shrink drops one packet when the buffered span has stayed above the target
// for shrinkFrames frames, or proportionally sooner when it is several frames
// above (at most one packet every shrinkFrames/10 frames).
func (b *Buffer) shrink() {
	span := b.hiSeq - b.nextSeq + 1
	if b.spanRun == 0 || span < b.minSpan {
		b.minSpan = span
	}
	b.spanRun++
	excess := b.minSpan - b.targetN - 1 // one frame of slack for the tick phase
	if excess <= 0 {
		if b.spanRun >= shrinkFrames {
			b.spanRun = 0
		}
		return
	}
	if b.spanRun < shrinkFrames/int(min(excess, shrinkFrames/5)) {
		return
	}
	if b.count > 1 {
		b.drop(b.nextSeq)
		b.nextSeq++
		b.waits = 0
	}
	b.spanRun = 0
}

// Stats returns a snapshot of the buffer's state and counters.
func (b *Buffer) Stats() Stats {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.dirty {
		b.adapt()
	}
	s := b.st
	s.Delay = b.target
	s.Depth = b.count
	s.Jitter = time.Duration(b.jitter * float64(time.Second))
	return s
}
