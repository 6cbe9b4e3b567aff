package quality

import (
	"math"
	"math/rand/v2"
	"testing"
	"time"
)

// cleanMOS is the MOS of a stream without loss, jitter or delay (TestMOS).
const cleanMOS = 4.404394368

// checkClean fails unless s shows no loss, no jitter and a clean MOS.
func checkClean(t *testing.T, what string, s Snapshot) {
	t.Helper()
	if s.PacketsLost != 0 || s.LossPercent != 0 || s.IntervalLossPercent != 0 || s.Jitter != 0 ||
		math.Abs(s.MOS-cleanMOS) > 1e-6 {
		t.Errorf("%s: lost %d (%v %%, interval %v %%), jitter %v, MOS %v; want no loss, no jitter, MOS %.4f",
			what, s.PacketsLost, s.LossPercent, s.IntervalLossPercent, s.Jitter, s.MOS, cleanMOS)
	}
}

// TestPauseIsNotLoss: a stream that pauses (the sender is silent, on hold
// or muted) and then carries on shows no loss, no jitter and the MOS of a
// clean stream, in its snapshots and in its RTCP report blocks, whatever its
// sequence numbers and timestamps do across the pause, as long as the pause
// was either signalled (SetExpected) or kept the sequence numbers
// contiguous.
func TestPauseIsNotLoss(t *testing.T) {
	const (
		before = 100 // packets before the pause
		after  = 100 // packets after it
	)
	pause := 5 * time.Second
	// The timestamp of a packet sent when the first after the pause
	// arrives, for a sender whose clock ran on.
	clockTS := uint32((before-1)*tsPerPacket + pause/time.Second*8000)
	tests := []struct {
		name string
		// signal: the leg says the peer is not expected to send during the
		// pause; early: it says so again only after the first packets of
		// the resumption (the gateway's order).
		signal, early bool
		// Where the stream resumes, after `before` packets from seq 1000
		// and timestamp 0.
		seq    uint16
		ts     uint32
		marker bool
		// during: packets that arrive during the pause (seq offsets from
		// the last one before it), taken in while not expected.
		during []uint16
	}{
		{name: "DTX: contiguous, timestamps follow the clock",
			seq: 1000 + before, ts: clockTS, marker: true},
		{name: "unsignalled pause, timestamps frozen, no marker",
			seq: 1000 + before, ts: before * tsPerPacket},
		{name: "hold, contiguous, timestamps frozen",
			signal: true, seq: 1000 + before, ts: before * tsPerPacket},
		{name: "hold, the peer numbered what it did not send (browser)",
			signal: true, seq: 1000 + before + 250, ts: clockTS},
		{name: "hold, resumed packets taken in before the leg says so",
			signal: true, early: true, seq: 1000 + before + 250, ts: clockTS},
		{name: "hold longer than the A.1 dropout (6000 numbers)",
			signal: true, seq: 1000 + before + 6000, ts: before*tsPerPacket + 6000*tsPerPacket},
		{name: "hold across the sequence wrap, new random timestamps",
			signal: true, seq: 900, ts: 0x89abcdef},
		{name: "hold while some packets still came (sendonly music, every third)",
			signal: true, seq: 1000 + before + 250, ts: clockTS,
			during: []uint16{3, 6, 9, 40, 41, 44, 200}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			m := newTestMonitor()
			first := stream(1000, 0, before, t0)
			observe(m, remoteSSRC, first)
			at := first[len(first)-1].at
			checkClean(t, "before the pause", m.Snapshot(at))
			if tc.signal {
				m.SetExpected(false)
			}
			last := first[len(first)-1]
			for i, d := range tc.during {
				m.Observe(last.seq+d, last.ts+uint32(d)*tsPerPacket, remoteSSRC, false, 160,
					at.Add(time.Duration(i+1)*100*time.Millisecond))
			}
			checkClean(t, "during the pause", m.Snapshot(at.Add(pause/2)))
			resumed := stream(tc.seq, tc.ts, after, at.Add(pause))
			resumed[0].at = at.Add(pause)
			if tc.signal && !tc.early {
				m.SetExpected(true)
			}
			m.Observe(resumed[0].seq, resumed[0].ts, remoteSSRC, tc.marker, 160, resumed[0].at)
			observe(m, remoteSSRC, resumed[1:10])
			if tc.early {
				m.SetExpected(true)
			}
			observe(m, remoteSSRC, resumed[10:])
			end := resumed[len(resumed)-1].at
			s := m.Snapshot(end)
			checkClean(t, "after the pause", s)
			if want := uint64(before + len(tc.during) + after); s.PacketsReceived != want || s.PacketsExpected != want {
				t.Errorf("received %d of %d expected, want %d of %d", s.PacketsReceived, s.PacketsExpected, want, want)
			}
			rb := reportBlock(t, m, end)
			if rb.TotalLost != 0 || rb.FractionLost != 0 || rb.Jitter != 0 {
				t.Errorf("report block %+v, want no loss and no jitter", rb)
			}
			if uint16(rb.LastSequenceNumber) != resumed[len(resumed)-1].seq {
				t.Errorf("report block's highest sequence number %d, want %d (low 16 bits)", rb.LastSequenceNumber, resumed[len(resumed)-1].seq)
			}

			// Loss after the resumption counts again: every 10th packet.
			var next []rtpPacket
			for i, p := range stream(resumed[len(resumed)-1].seq+1, resumed[len(resumed)-1].ts+tsPerPacket, 100, end.Add(ptime)) {
				if i%10 != 5 {
					next = append(next, p)
				}
			}
			observe(m, remoteSSRC, next)
			s = m.Snapshot(next[len(next)-1].at)
			if s.PacketsLost != 10 || s.IntervalLossPercent != 10 {
				t.Errorf("10 of the next 100 dropped: lost %d, interval loss %v %%; want 10, 10 %%", s.PacketsLost, s.IntervalLossPercent)
			}
		})
	}
}

// TestGapWhileExpectedIsLoss: a jump of the sequence numbers while the peer
// was expected to send is loss, however long the arrival gap: only a
// signalled pause excuses numbers.
func TestGapWhileExpectedIsLoss(t *testing.T) {
	m := newTestMonitor()
	observe(m, remoteSSRC, stream(0, 0, 100, t0))
	// Two seconds of packets lost in the network: 100 numbers skipped.
	observe(m, remoteSSRC, stream(200, 200*tsPerPacket, 100, t0.Add(200*ptime)))
	s := m.Snapshot(t0.Add(300 * ptime))
	checkCounts(t, s, 200, 300, 100)
	if math.Abs(s.LossPercent-100.0/3) > 1e-9 || s.MOS > 1.1 {
		t.Errorf("loss %v %%, MOS %v; want 33.3 %%, about 1", s.LossPercent, s.MOS)
	}
	// A pause that was signalled and ended does not excuse a later gap.
	m.SetExpected(false)
	m.SetExpected(true)
	observe(m, remoteSSRC, stream(300, 300*tsPerPacket, 50, t0.Add(300*ptime))) // the resumption: contiguous
	observe(m, remoteSSRC, stream(360, 360*tsPerPacket, 40, t0.Add(360*ptime))) // then 10 lost
	s = m.Snapshot(t0.Add(400 * ptime))
	checkCounts(t, s, 290, 400, 110)
	if s.IntervalLossPercent != 10 {
		t.Errorf("interval loss %v %%, want 10 %%", s.IntervalLossPercent)
	}
}

// TestRandomLoss: 20 % of the packets dropped at random shows as about 20 %
// loss and a MOS well below 4, and a hold in the middle of it neither hides
// nor adds loss.
func TestRandomLoss(t *testing.T) {
	for _, hold := range []bool{false, true} {
		m := newTestMonitor()
		rng := rand.New(rand.NewPCG(20, 26))
		var sent, kept int
		seq, ts, at := uint16(60000), uint32(12345), t0
		send := func(n int) {
			for i := range n {
				sent++
				// The first and last packets arrive, so that all
				// sent are expected.
				if rng.Float64() >= 0.2 || sent == 1 || i == n-1 {
					kept++
					m.Observe(seq, ts, remoteSSRC, false, 160, at)
				}
				seq++
				ts += tsPerPacket
				at = at.Add(ptime)
			}
		}
		send(2500)
		if hold {
			m.SetExpected(false)
			seq += 1500 // what the peer numbered meanwhile
			ts += 1500 * tsPerPacket
			at = at.Add(30 * time.Second)
			m.SetExpected(true)
			m.Observe(seq, ts, remoteSSRC, false, 160, at) // the first packet after the hold
			sent++
			kept++
			seq++
			ts += tsPerPacket
			at = at.Add(ptime)
		}
		send(2500)
		s := m.Snapshot(at)
		wantLoss := float64(sent-kept) * 100 / float64(sent)
		if s.PacketsReceived != uint64(kept) || s.PacketsExpected != uint64(sent) {
			t.Errorf("hold %v: received %d of %d expected; want %d of %d", hold, s.PacketsReceived, s.PacketsExpected, kept, sent)
		}
		if s.LossPercent < 18 || s.LossPercent > 22 || math.Abs(s.LossPercent-wantLoss) > 0.2 {
			t.Errorf("hold %v: loss %.2f %%, want about %.2f %% (20 %% dropped)", hold, s.LossPercent, wantLoss)
		}
		if s.MOS >= 4 || math.Abs(s.MOS-MOS(0, 0, s.LossPercent)) > 1e-9 {
			t.Errorf("hold %v: MOS %v, want %v (below 4)", hold, s.MOS, MOS(0, 0, s.LossPercent))
		}
	}
}

// TestJitterPauses: the jitter is of the network, not of the sender's
// silences: a talkspurt (marker bit) or an arrival gap of a second keeps the
// time the sender was silent out of it, but packets held back by the network
// still show.
func TestJitterPauses(t *testing.T) {
	// A short silence with frozen timestamps, flagged by the marker bit.
	m := newTestMonitor()
	observe(m, remoteSSRC, stream(0, 0, 50, t0))
	m.Observe(50, 50*tsPerPacket, remoteSSRC, true, 160, t0.Add(50*ptime+300*time.Millisecond))
	observe(m, remoteSSRC, stream(51, 51*tsPerPacket, 50, t0.Add(51*ptime+300*time.Millisecond)))
	if s := m.Snapshot(t0.Add(5 * time.Second)); s.Jitter != 0 {
		t.Errorf("talkspurt after 300 ms of frozen timestamps: jitter %v, want 0", s.Jitter)
	}
	// Without the marker a 300 ms gap is jitter (a network's stall):
	// D = 300 ms = 2400 units, J = 2400/16 = 150 units, then it decays over
	// the 10 packets that follow: 150 * (15/16)^10.
	m = newTestMonitor()
	observe(m, remoteSSRC, stream(0, 0, 50, t0))
	observe(m, remoteSSRC, stream(50, 50*tsPerPacket, 11, t0.Add(50*ptime+300*time.Millisecond)))
	want := 150 * math.Pow(15.0/16, 10)
	if rb := reportBlock(t, m, t0.Add(5*time.Second)); math.Abs(float64(rb.Jitter)-want) > 1 {
		t.Errorf("300 ms stall: jitter %d units, want %.1f", rb.Jitter, want)
	}
	// A network that holds 1.5 s of packets back, then delivers them at
	// once: the gap is a pause, but the burst is jitter (each D = 20 ms).
	m = newTestMonitor()
	observe(m, remoteSSRC, stream(0, 0, 50, t0))
	burst := stream(50, 50*tsPerPacket, 75, t0)
	for i := range burst {
		burst[i].at = t0.Add(50*ptime + 1500*time.Millisecond)
	}
	observe(m, remoteSSRC, burst)
	want = 160 * (1 - math.Pow(15.0/16, 74))
	if rb := reportBlock(t, m, t0.Add(5*time.Second)); math.Abs(float64(rb.Jitter)-want) > 1 {
		t.Errorf("1.5 s burst: jitter %d units, want %.1f", rb.Jitter, want)
	}
}
