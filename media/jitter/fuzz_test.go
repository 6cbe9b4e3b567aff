package jitter

import (
	"encoding/binary"
	"testing"
	"time"
)

// FuzzPush drives a buffer with what a network and a peer can do: packets
// reordered, duplicated, lost, late, oversized, with sequence and
// timestamp jumps and SSRC changes, interleaved with the consumer's Pops and
// Resets. Each 6-byte step of the input is an operation, a signed sequence
// step, a timestamp skew, flags, an arrival step in ms and a payload length.
// Every payload carries its own sequence number and timestamp, so a frame
// played for the wrong packet is seen. It checks that nothing panics, that
// a Ready frame is the packet pushed for its sequence number and timestamp,
// that the buffer never holds more than MaxDelay/Frame packets, and that
// the counters and the target delay stay consistent.
func FuzzPush(f *testing.F) {
	var steady, rough []byte
	for i := range 60 {
		steady = append(steady, 0, 1, 0, 0, 20, 160, 2, 0, 0, 0, 0, 0)
		switch {
		case i%7 == 3: // reorder: the next one first
			rough = append(rough, 0, 2, 0, 0, 5, 160, 0, 0xff, 0, 0, 30, 160, 2, 0, 0, 0, 0, 0)
		case i%11 == 5: // a duplicate and a loss
			rough = append(rough, 0, 0, 0, 0, 1, 160, 0, 2, 3, 0, 25, 160, 2, 0, 0, 0, 0, 0)
		case i == 30: // SSRC change, an oversize packet, a reset
			rough = append(rough, 0, 1, 0, 1, 20, 160, 0, 1, 0, 2, 20, 0, 3, 0, 0, 0, 0, 0)
		default:
			rough = append(rough, 0, 1, 0, 0, 20, 160, 2, 0, 0, 0, 0, 0)
		}
	}
	f.Add(steady)
	f.Add(rough)
	f.Add([]byte{0, 0x7f, 0x7f, 0, 0, 10, 0, 0x80, 0x80, 0, 0, 10, 2, 0, 0, 0, 0, 0})
	f.Fuzz(func(t *testing.T, ops []byte) {
		const maxPay = 200
		opts := Options{MaxPayload: maxPay}
		b := New(opts)
		var (
			seq            uint16
			ts             uint32
			ssrc           uint32 = 1
			at                    = time.Unix(1e6, 0)
			pushes, played uint64
			payload        [maxPay + 6 + 256]byte
		)
		check := func() {
			s := b.Stats()
			if int64(s.Depth) > b.limit || s.Depth < 0 {
				t.Fatalf("depth %d, bound %d", s.Depth, b.limit)
			}
			if s.Pushed != pushes || s.Played != played {
				t.Fatalf("stats pushed %d played %d, want %d and %d", s.Pushed, s.Played, pushes, played)
			}
			if s.Delay < 20*time.Millisecond || s.Delay > 200*time.Millisecond {
				t.Fatalf("target delay %v out of [MinDelay, MaxDelay]", s.Delay)
			}
			if s.Jitter < 0 {
				t.Fatalf("jitter %v", s.Jitter)
			}
		}
		for len(ops) >= 6 {
			op := ops[:6]
			ops = ops[6:]
			switch op[0] % 4 {
			case 0, 1: // a packet
				step := int16(op[1])<<8 | int16(op[2])
				seq += uint16(step)
				ts += uint32(int32(step))*160 + uint32(int8(op[3]&0xfe))
				if op[3]&1 != 0 {
					ssrc++
				}
				at = at.Add(time.Duration(op[4]) * time.Millisecond)
				n := 6 + int(op[5])
				if op[0]&0x80 == 0 {
					n = min(n, maxPay)
				}
				binary.BigEndian.PutUint16(payload[0:], seq)
				binary.BigEndian.PutUint32(payload[2:], ts)
				pushes++
				b.Push(seq, ts, ssrc, payload[:n], at)
			case 2: // the consumer's frame clock
				at = at.Add(20 * time.Millisecond)
				fr := b.Pop(at)
				switch fr.Status {
				case Ready:
					played++
					p := fr.Payload
					if len(p) < 6 || len(p) > maxPay || binary.BigEndian.Uint16(p) != fr.Seq || binary.BigEndian.Uint32(p[2:]) != fr.TS {
						t.Fatalf("Ready frame seq %d ts %d with payload % x", fr.Seq, fr.TS, p)
					}
				case Lost:
					if fr.Next != nil && (len(fr.Next) < 6 || binary.BigEndian.Uint16(fr.Next) != fr.Seq+1) {
						t.Fatalf("Lost frame seq %d with Next % x", fr.Seq, fr.Next)
					}
				case Empty:
					if fr.Payload != nil || fr.Next != nil {
						t.Fatalf("Empty frame with data: %+v", fr)
					}
				default:
					t.Fatalf("status %v", fr.Status)
				}
			case 3:
				if op[1]&1 != 0 {
					b.Reset()
				}
			}
			check()
		}
	})
}
