package quality

import (
	"encoding/binary"
	"errors"
	"testing"
	"time"

	"github.com/pion/rtcp"
)

// FuzzHandleRTCP: whatever arrives on the RTCP port, HandleRTCP neither
// panics nor changes anything unless it accepts the packet; what it refuses
// is ErrMalformed.
func FuzzHandleRTCP(f *testing.F) {
	a := newTestMonitor()
	a.Observe(1, 0, remoteSSRC, false, 160, t0)
	a.Sent(0, 160, t0)
	sr, err := a.Report(nil, t0)
	if err != nil {
		f.Fatal(err)
	}
	rr, err := newTestMonitor().Report(nil, t0)
	if err != nil {
		f.Fatal(err)
	}
	bye, _ := (&rtcp.Goodbye{Sources: []uint32{remoteSSRC}, Reason: "bye"}).Marshal()
	block, _ := (&rtcp.ReceiverReport{SSRC: remoteSSRC, Reports: []rtcp.ReceptionReport{
		{SSRC: 0xcafe, FractionLost: 30, TotalLost: 0xfffff0, LastSenderReport: 7, Delay: 9},
	}}).Marshal()
	for _, seed := range [][]byte{sr, rr, bye, block, append(append([]byte(nil), block...), bye...), {0x80, 200, 0, 0}, {}} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, pkt []byte) {
		m := newTestMonitor()
		before := m.Snapshot(t0)
		err := m.HandleRTCP(pkt, t0.Add(time.Second))
		after := m.Snapshot(t0)
		if err != nil {
			if !errors.Is(err, ErrMalformed) {
				t.Fatalf("HandleRTCP(% x): %v, not ErrMalformed", pkt, err)
			}
			if after != before {
				t.Fatalf("HandleRTCP(% x) refused the packet (%v) but changed %+v to %+v", pkt, err, before, after)
			}
		}
		if after.RTT < 0 || after.RemoteLossPercent < 0 || after.RemoteLossPercent >= 100 {
			t.Fatalf("HandleRTCP(% x): RTT %v, remote loss %v %%", pkt, after.RTT, after.RemoteLossPercent)
		}
	})
}

// FuzzObserve: a stream of RTP headers as a network (or a peer) could send
// them, with the leg's pauses in between, never panics, keeps loss and MOS
// in range, and never counts loss while the peer is not expected to send.
// Each 8-byte step of the input is: an operation, a sequence number step,
// a timestamp step, an arrival step and a flag byte.
func FuzzObserve(f *testing.F) {
	var clean, hold []byte
	for i := range 50 {
		clean = append(clean, 0, 0, 1, 0, 160, 20, 0, 0)
		if i == 20 {
			hold = append(hold, 1, 0, 0, 0, 0, 0, 0, 0)
		}
		if i == 30 {
			hold = append(hold, 2, 0, 0, 0, 0, 0, 0, 0, 0, 0x10, 0, 0, 0, 250, 1, 0)
		}
		hold = append(hold, 0, 0, 1, 0, 160, 20, 0, 0)
	}
	f.Add(clean)
	f.Add(hold)
	f.Add([]byte{0, 0, 0xff, 0xff, 0, 0, 0, 0, 0, 0, 0x80, 0, 0, 0, 0, 1, 3, 0, 0, 0, 0, 0, 0, 0})
	f.Fuzz(func(t *testing.T, ops []byte) {
		m := newTestMonitor()
		var (
			seq    uint16
			ts     uint32
			ssrc   = uint32(remoteSSRC)
			at     = t0
			paused bool
			lost   int64 // at the last snapshot
			seen   uint64
		)
		check := func(s Snapshot) {
			t.Helper()
			for _, p := range []float64{s.LossPercent, s.IntervalLossPercent} {
				if p < 0 || p > 100 {
					t.Fatalf("loss %v %% out of range: %+v", p, s)
				}
			}
			if s.PacketsReceived > seen {
				t.Fatalf("%d packets received of %d observed", s.PacketsReceived, seen)
			}
			if s.PacketsReceived > 0 && (s.MOS < 1 || s.MOS > 4.5) {
				t.Fatalf("MOS %v out of range", s.MOS)
			}
			if s.Jitter < 0 {
				t.Fatalf("jitter %v", s.Jitter)
			}
		}
		for len(ops) >= 8 {
			op := ops[:8]
			ops = ops[8:]
			switch op[0] % 5 {
			case 0, 4: // a packet
				seq += binary.BigEndian.Uint16(op[1:])
				ts += uint32(binary.BigEndian.Uint16(op[3:]))
				at = at.Add(time.Duration(op[5]) * time.Millisecond)
				if op[6]&1 != 0 {
					ssrc++
				}
				seen++
				m.Observe(seq, ts, ssrc, op[6]&2 != 0, int(op[7]), at)
			case 1:
				if !paused {
					lost = m.Snapshot(at).PacketsLost
				}
				m.SetExpected(false)
				paused = true
			case 2:
				m.SetExpected(true)
				paused = false
			case 3:
				s := m.Snapshot(at)
				check(s)
				if paused && s.PacketsLost > lost {
					t.Fatalf("loss grew from %d to %d while the peer was not expected to send", lost, s.PacketsLost)
				}
				lost = s.PacketsLost
				if _, err := m.Report(nil, at); err != nil {
					t.Fatal(err)
				}
			}
			if op[0]&0x80 != 0 {
				// Check after every step, without closing an interval
				// too often to matter.
				check(m.Snapshot(at))
			}
		}
		check(m.Snapshot(at))
	})
}
