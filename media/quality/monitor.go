// Package quality measures the quality of one RTP call leg: RFC 3550 receive
// statistics (sequence extension, loss, interarrival jitter), RTCP sender and
// receiver reports with round-trip time, and a simplified ITU-T G.107 E-model
// MOS.
//
// A [Monitor] watches one leg. The socket's reader goroutine calls
// [Monitor.Observe] for every received RTP packet and the sending path calls
// [Monitor.Sent] for every RTP packet sent; both allocate nothing. A per-leg
// ticker calls [Monitor.Report] to build the RTCP compound packet to send,
// hands received RTCP to [Monitor.HandleRTCP] and reads a [Snapshot].
//
// Loss, jitter and MOS count only what the peer was expected to send. The
// leg tells the monitor with [Monitor.SetExpected] when its agreed direction
// means the peer does not send (hold, inactive, our sendonly); what the peer
// numbered but did not send meanwhile (or sent and the leg discarded) is not
// lost, and the time it kept silent is not jitter. A pause the peer takes on
// its own (DTX, a muted microphone) keeps its sequence numbers contiguous,
// so it is not loss either; its arrival gap is kept out of the jitter (see
// [Monitor.Observe]).
package quality

import (
	"sync"
	"time"
)

// RFC 3550 A.1 constants.
const (
	maxDropout  = 3000
	maxMisorder = 100
	seqMod      = 1 << 16
)

// pauseGap is the arrival gap after which a packet is taken as the start of
// a new talkspurt for the jitter: the sender paused (DTX, a muted
// microphone, a hold it did not signal), and its silence is not
// interarrival jitter. A network that holds packets back delivers them in a
// burst afterwards, which still shows as jitter.
const pauseGap = time.Second

// Options configure a [Monitor].
type Options struct {
	// ClockRate is the RTP clock rate in Hz of the received stream, used to
	// convert arrival times to timestamp units for the interarrival jitter.
	// Both directions of a leg carry the negotiated codec, so it is also used
	// for the stream we send: to extrapolate the SR's RTP timestamp and to
	// convert the jitter the peer reports about our stream. Zero means unknown
	// (no jitter is computed); see [Monitor.SetClockRate].
	ClockRate int
	// CNAME is sent in the SDES item of every report (at most 255 bytes).
	CNAME string
	// SSRC is the synchronization source of the RTP stream we send.
	SSRC uint32
}

// Monitor collects the quality statistics of one call leg. Observe, Sent,
// Report, HandleRTCP and Snapshot may be called from different goroutines.
type Monitor struct {
	cname string

	rxMu sync.Mutex
	rx   receiver

	txMu sync.Mutex
	tx   sender

	ctlMu sync.Mutex
	ctl   control
}

// source is the RFC 3550 A.1 state of one received synchronization source
// and sequence space.
type source struct {
	ssrc     uint32
	maxSeq   uint16
	cycles   uint32 // shifted count of sequence number cycles
	base     int64  // extended sequence number of the lowest packet
	badSeq   uint32
	received int64 // distinct packets counted

	// excused counts the sequence numbers skipped while the peer was not
	// expected to send (and across the first packet after): not expected,
	// so not lost. resync: the next packet in order follows such a pause.
	excused int64
	resync  bool

	expectedPrior, receivedPrior int64 // at the last Report (A.3)

	// window has one bit per sequence number (seq mod 128) of the 128
	// numbers up to maxSeq: set when that packet arrived. It tells
	// duplicates from late packets.
	window [2]uint64

	transit     uint32
	haveTransit bool
	jitter      float64 // RFC 3550 A.8 estimate, timestamp units
}

type receiver struct {
	active    bool
	paused    bool // the peer is not expected to send (SetExpected)
	src       source
	clockRate int
	epoch     time.Time // first arrival: origin of the arrival timestamps
	last      time.Time
	octets    uint64
	dups      uint64

	// Counters of previous sources and sequence restarts.
	doneExpected, doneReceived int64

	// Cumulative counters at the previous Snapshot.
	snapExpected, snapReceived int64
	snapTime                   time.Time
}

type sender struct {
	packets, octets uint64
	lastTS          uint32
	lastTime        time.Time
	sentSinceReport bool
}

type control struct {
	ssrc uint32

	// Last SR received from the peer.
	haveSR    bool
	lsr       uint32 // middle 32 bits of its NTP timestamp
	srArrival time.Time

	// The peer's view of our stream, from its last report block about us.
	haveRemote     bool
	remoteFraction uint8
	remoteLost     int32
	remoteJitter   uint32
	rtt            time.Duration
}

// NewMonitor returns a Monitor for one call leg.
func NewMonitor(o Options) *Monitor {
	m := &Monitor{cname: o.CNAME}
	m.rx.clockRate = max(o.ClockRate, 0)
	m.ctl.ssrc = o.SSRC
	return m
}

// SetClockRate sets the clock rate in Hz of the received stream (see
// [Options.ClockRate]). A change restarts the jitter estimate.
func (m *Monitor) SetClockRate(hz int) {
	hz = max(hz, 0)
	m.rxMu.Lock()
	if hz != m.rx.clockRate {
		m.rx.clockRate = hz
		m.rx.src.haveTransit = false
		m.rx.src.jitter = 0
	}
	m.rxMu.Unlock()
}

// SetExpected tells the monitor whether the peer is expected to send RTP:
// true (the default) while the leg's agreed direction has the peer sending
// (sendrecv, or sendonly from the peer) and its packets are taken in; false
// on hold, inactive, our sendonly, or while the leg discards what the peer
// sends. Until it is expected again, packets that arrive count as received
// but gaps in their sequence numbers are not loss and their arrival times
// do not feed the jitter; the first packet after that carries on from
// whatever sequence number and timestamp it has, as the new baseline.
func (m *Monitor) SetExpected(expected bool) {
	m.rxMu.Lock()
	r := &m.rx
	if r.paused && expected {
		r.src.resync = true
	}
	r.paused = !expected
	m.rxMu.Unlock()
}

// SetSSRC sets the synchronization source of the RTP stream we send.
func (m *Monitor) SetSSRC(ssrc uint32) {
	m.ctlMu.Lock()
	m.ctl.ssrc = ssrc
	m.ctlMu.Unlock()
}

// Observe records one received RTP packet: its sequence number, RTP
// timestamp, SSRC, marker bit, payload length and arrival time.
//
// Sequence numbers are extended and checked as in RFC 3550 A.1 without
// probation: the first packet is accepted at once. A jump of more than 3000
// ahead or 100 behind is ignored unless the next packet follows it, which
// restarts the sequence space. Packets up to 100 behind are late, not lost;
// a second copy of a packet among the last 128 is a duplicate and is not
// counted. Loss is computed as in A.3 and the interarrival jitter as in A.8,
// in timestamp units with the arrival time converted to the clock rate.
//
// What the peer was not expected to send is not loss (see
// [Monitor.SetExpected]): while it is not, and for the first packet in
// order after, a forward jump of any size up to 100 short of a whole cycle
// is accepted at once and the numbers skipped are not expected. The
// interarrival jitter leaves out the transit change into a packet that
// starts a talkspurt (marker bit set), that arrives a second or more after
// the previous one, or that follows a pause: a silent sender is not a
// jittery network.
//
// A new SSRC restarts the receive statistics; the counters of the old source
// (and of a restarted sequence space) are folded into the cumulative figures
// of [Snapshot], while RTCP report blocks describe the current source only.
func (m *Monitor) Observe(seq uint16, ts uint32, ssrc uint32, marker bool, payloadLen int, arrival time.Time) {
	m.rxMu.Lock()
	m.rx.observe(seq, ts, ssrc, marker, payloadLen, arrival)
	m.rxMu.Unlock()
}

func (r *receiver) observe(seq uint16, ts, ssrc uint32, marker bool, payloadLen int, arrival time.Time) {
	talkspurt := marker || r.paused || r.active && arrival.Sub(r.last) >= pauseGap
	r.last = arrival
	switch {
	case !r.active:
		r.active = true
		r.epoch = arrival
		r.src = source{ssrc: ssrc}
		r.src.init(seq)
	case ssrc != r.src.ssrc:
		r.fold()
		r.src = source{ssrc: ssrc}
		r.src.init(seq)
	default:
		resync := r.paused || r.src.resync
		switch r.src.update(seq, resync) {
		case seqDuplicate:
			r.dups++
			return
		case seqIgnored:
			return
		case seqRestart:
			r.fold()
			r.src.init(seq) // keeps the jitter estimate
			talkspurt = true
		case seqResynced:
			talkspurt = true
		}
	}
	r.octets += uint64(max(payloadLen, 0))
	if talkspurt {
		r.src.haveTransit = false // this packet's transit is the new baseline
	}
	r.updateJitter(ts, arrival)
}

// fold adds the counters of the current sequence space to the totals.
func (r *receiver) fold() {
	r.doneExpected += r.src.expected()
	r.doneReceived += r.src.received
}

// updateJitter applies RFC 3550 A.8.
func (r *receiver) updateJitter(ts uint32, arrival time.Time) {
	if r.clockRate == 0 {
		return
	}
	at := uint32(units(arrival.Sub(r.epoch), int64(r.clockRate)))
	transit := at - ts
	if r.src.haveTransit {
		d := float64(int32(transit - r.src.transit))
		if d < 0 {
			d = -d
		}
		r.src.jitter += (d - r.src.jitter) / 16
	}
	r.src.transit = transit
	r.src.haveTransit = true
}

// units converts d to units of 1/rate seconds without overflow.
func units(d time.Duration, rate int64) int64 {
	return int64(d/time.Second)*rate + int64(d%time.Second)*rate/int64(time.Second)
}

type seqResult int

const (
	seqCounted  seqResult = iota
	seqResynced           // counted, after a pause: a new baseline
	seqDuplicate
	seqIgnored
	seqRestart
)

// init starts a sequence space at seq (A.1 init_seq); the jitter state
// is left alone.
func (s *source) init(seq uint16) {
	s.maxSeq = seq
	s.cycles = 0
	s.base = int64(seq)
	s.badSeq = seqMod + 1
	s.received = 1
	s.excused, s.resync = 0, false
	s.expectedPrior, s.receivedPrior = 0, 0
	s.window = [2]uint64{}
	s.mark(seq)
}

// update applies A.1 update_seq to a packet of the current source. With
// resync (the peer was not expected to send) a packet ahead is in order
// whatever its jump, and the numbers it skips are excused.
func (s *source) update(seq uint16, resync bool) seqResult {
	udelta := seq - s.maxSeq
	switch {
	case udelta == 0:
		return seqDuplicate
	case udelta < maxDropout || resync && int(udelta) <= seqMod-maxMisorder:
		// In order, with a permissible gap.
		if seq < s.maxSeq {
			s.cycles += seqMod
		}
		s.advance(udelta)
		s.maxSeq = seq
		s.mark(seq)
		if resync {
			s.excused += int64(udelta) - 1
			s.resync = false
			s.received++
			return seqResynced
		}
	case int(udelta) <= seqMod-maxMisorder:
		// A very large jump: restart if the next packet follows it.
		if uint32(seq) == s.badSeq {
			return seqRestart
		}
		s.badSeq = (uint32(seq) + 1) & (seqMod - 1)
		return seqIgnored
	default:
		// Late (reordered) or duplicate packet, at most maxMisorder behind.
		if s.marked(seq) {
			return seqDuplicate
		}
		s.mark(seq)
		if ext := s.extMax() - int64(s.maxSeq-seq); ext < s.base {
			if resync { // the numbers up to the old base were not expected
				s.excused += s.base - ext - 1
			}
			s.base = ext
		}
	}
	s.received++
	return seqCounted
}

func (s *source) extMax() int64 { return int64(s.cycles) + int64(s.maxSeq) }

// expected is the number of packets expected: the extended sequence
// numbers from the lowest to the highest received, less those excused.
func (s *source) expected() int64 { return s.extMax() - s.base + 1 - s.excused }

func (s *source) mark(seq uint16) { s.window[seq>>6&1] |= 1 << (seq & 63) }

func (s *source) marked(seq uint16) bool { return s.window[seq>>6&1]&(1<<(seq&63)) != 0 }

// advance clears the window bits of the n sequence numbers after maxSeq.
func (s *source) advance(n uint16) {
	if n >= 128 {
		s.window = [2]uint64{}
		return
	}
	for seq := s.maxSeq + 1; n > 0; seq, n = seq+1, n-1 {
		s.window[seq>>6&1] &^= 1 << (seq & 63)
	}
}

// Sent records one RTP packet we sent: its RTP timestamp, payload length and
// sending time, for the next sender report.
func (m *Monitor) Sent(ts uint32, payloadLen int, now time.Time) {
	m.txMu.Lock()
	m.tx.packets++
	m.tx.octets += uint64(max(payloadLen, 0))
	m.tx.lastTS = ts
	m.tx.lastTime = now
	m.tx.sentSinceReport = true
	m.txMu.Unlock()
}

// Received returns, without closing an interval, the RTP packets received
// from the current source and its interarrival jitter so far.
func (m *Monitor) Received() (packets uint64, jitter time.Duration) {
	m.rxMu.Lock()
	defer m.rxMu.Unlock()
	r := &m.rx
	if !r.active {
		return 0, 0
	}
	return uint64(max(r.src.received, 0)), duration(r.src.jitter, r.clockRate)
}

// Snapshot is a point-in-time view of a leg's quality.
type Snapshot struct {
	// PacketsReceived counts distinct RTP packets received over the whole
	// leg (all sources); PacketsExpected is the number the extended sequence
	// numbers imply. PacketsLost is their difference (negative only in
	// pathological cases); LossPercent is PacketsLost/PacketsExpected in
	// percent, clamped to [0, 100].
	PacketsReceived, PacketsExpected uint64
	PacketsLost                      int64
	LossPercent                      float64
	// IntervalLossPercent is the loss in percent since the previous call
	// of Snapshot (or the first packet), over Interval.
	IntervalLossPercent float64
	Interval            time.Duration
	// Duplicates counts duplicate packets received (not in PacketsReceived).
	Duplicates uint64
	// OctetsReceived counts the payload octets of the packets received.
	OctetsReceived uint64
	// Jitter is the RFC 3550 interarrival jitter of the current source.
	Jitter time.Duration
	// RTT is the round-trip time from the peer's last report block with a
	// non-zero LSR; 0 if unknown.
	RTT time.Duration
	// RemoteLossPercent is the fraction lost the peer reported about our
	// stream for its last reporting interval, RemotePacketsLost its
	// cumulative count and RemoteJitter its jitter estimate.
	RemoteLossPercent float64
	RemotePacketsLost int64
	RemoteJitter      time.Duration
	// PacketsSent and OctetsSent count the RTP packets and payload octets we
	// sent.
	PacketsSent, OctetsSent uint64
	// MOS is MOS(RTT/2, Jitter, IntervalLossPercent): the live quality of
	// the received audio over the last interval. It is 0 until a packet has
	// been received.
	MOS float64
	// LastReceived is the arrival time of the last packet; zero if none.
	LastReceived time.Time
}

// Snapshot returns the leg's statistics at now and closes the current
// interval of [Snapshot.IntervalLossPercent]. Each of the receive, send and
// RTCP parts is consistent on its own.
func (m *Monitor) Snapshot(now time.Time) Snapshot {
	var s Snapshot
	m.rxMu.Lock()
	r := &m.rx
	active := r.active
	rate := r.clockRate
	if active {
		received := r.doneReceived + r.src.received
		expected := r.doneExpected + r.src.expected()
		lost := expected - received
		s.PacketsReceived = uint64(received)
		s.PacketsExpected = uint64(max(expected, 0))
		s.PacketsLost = lost
		s.LossPercent = percent(lost, expected)
		s.IntervalLossPercent = percent(
			(expected-r.snapExpected)-(received-r.snapReceived), expected-r.snapExpected)
		since := r.snapTime
		if since.IsZero() {
			since = r.epoch
		}
		s.Interval = max(now.Sub(since), 0)
		r.snapExpected, r.snapReceived, r.snapTime = expected, received, now
		s.Duplicates = r.dups
		s.OctetsReceived = r.octets
		s.Jitter = duration(r.src.jitter, rate)
		s.LastReceived = r.last
	}
	m.rxMu.Unlock()

	m.txMu.Lock()
	s.PacketsSent, s.OctetsSent = m.tx.packets, m.tx.octets
	m.txMu.Unlock()

	m.ctlMu.Lock()
	s.RTT = m.ctl.rtt
	if m.ctl.haveRemote {
		s.RemoteLossPercent = float64(m.ctl.remoteFraction) * 100 / 256
		s.RemotePacketsLost = int64(m.ctl.remoteLost)
		s.RemoteJitter = duration(float64(m.ctl.remoteJitter), rate)
	}
	m.ctlMu.Unlock()

	if active {
		s.MOS = MOS(s.RTT/2, s.Jitter, s.IntervalLossPercent)
	}
	return s
}

// percent returns 100*lost/expected clamped to [0, 100], 0 if nothing was
// expected.
func percent(lost, expected int64) float64 {
	if expected <= 0 || lost <= 0 {
		return 0
	}
	return min(float64(lost)*100/float64(expected), 100)
}

// duration converts v timestamp units at rate Hz to a Duration.
func duration(v float64, rate int) time.Duration {
	if rate <= 0 {
		return 0
	}
	return time.Duration(v * float64(time.Second) / float64(rate))
}
