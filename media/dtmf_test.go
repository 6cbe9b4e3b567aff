package media

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/pion/rtp"
	"github.com/switchboard-voice/switchboard/media/dtmf"
)

type digitReport struct {
	digit rune
	d     time.Duration
}

// TestSocketDetectsDTMF: a party keys "5" as RFC 4733 events (start,
// updates, three end packets): OnDTMF is called once, when it ends.
func TestSocketDetectsDTMF(t *testing.T) {
	for _, clock := range []uint32{8000, 48000} {
		t.Run(fmt.Sprint(clock), func(t *testing.T) {
			alloc, st := newTestAllocator(t, 1)
			s := openSocket(t, alloc)
			sink := newCaptureSink()
			s.SetSink(sink)
			digits := make(chan digitReport, 8)
			s.OnDTMF(func(digit rune, d time.Duration) { digits <- digitReport{digit, d} })
			s.Configure(StreamConfig{
				Audio: Codec{Name: "opus", PayloadType: 111, ClockRate: clock},
				Event: Codec{Name: "telephone-event", PayloadType: 101, ClockRate: clock},
			})
			p := listenPeer(t)

			g := dtmf.NewGenerator(int(clock), 20*time.Millisecond)
			if err := g.Start('5', 100*time.Millisecond, 123456); err != nil {
				t.Fatal(err)
			}
			buf := make([]byte, dtmf.PayloadSize)
			var pkts [][]byte
			ends := 0
			for seq := uint16(1); ; seq++ {
				payload, marker, ts, done := g.Next(buf)
				var e dtmf.Event
				if err := e.Unmarshal(payload); err != nil {
					t.Fatal(err)
				}
				if e.End {
					ends++
				}
				b, err := (&rtp.Packet{
					Header:  rtp.Header{Version: 2, Marker: marker, PayloadType: 101, SequenceNumber: seq, Timestamp: ts, SSRC: 0xd7f},
					Payload: payload,
				}).Marshal()
				if err != nil {
					t.Fatal(err)
				}
				pkts = append(pkts, b)
				if done {
					break
				}
			}
			if ends != 3 {
				t.Fatalf("generator made %d end packets, want 3", ends)
			}
			for _, b := range pkts {
				send(t, p, b, s.LocalAddr())
			}
			// The events also reach the sink (a relay passes them on): once
			// all have, every one has been through the detector.
			for range pkts {
				next(t, sink.rtp)
			}
			select {
			case r := <-digits:
				if r.digit != '5' || r.d != 100*time.Millisecond {
					t.Fatalf("OnDTMF(%q, %v), want ('5', 100ms)", r.digit, r.d)
				}
			default:
				t.Fatal("OnDTMF not called")
			}
			if len(digits) != 0 {
				t.Fatalf("OnDTMF called %d more times", len(digits))
			}
			if n := st.DTMFReceived.Load(); n != 1 {
				t.Fatalf("DTMFReceived = %d, want 1", n)
			}
		})
	}
}

// TestSocketSendDTMF: SendDTMF puts a digit into the socket's stream as RFC
// 4733 events that the far end decodes to one '7'.
func TestSocketSendDTMF(t *testing.T) {
	for _, clock := range []uint32{8000, 48000} {
		t.Run(fmt.Sprint(clock), func(t *testing.T) {
			alloc, _ := newTestAllocator(t, 1)
			s := openSocket(t, alloc)
			p := listenPeer(t)
			s.SetRemote(addrOf(p))
			if err := s.SendDTMF(context.Background(), '7', 0); !errors.Is(err, ErrNoEvents) {
				t.Fatalf("SendDTMF without telephone-event = %v, want ErrNoEvents", err)
			}
			s.Configure(StreamConfig{
				Audio: Codec{Name: "PCMU", PayloadType: 0, ClockRate: clock},
				Event: Codec{Name: "telephone-event", PayloadType: 110, ClockRate: clock},
			})
			done := make(chan error, 1)
			go func() { done <- s.SendDTMF(context.Background(), '7', 100*time.Millisecond) }()

			det := dtmf.NewDetector(int(clock))
			var reports []dtmf.Report
			var first rtp.Header
			ends := 0
			for i := 0; ends < 3; i++ {
				got, _ := recvPacket(t, p)
				pkt := parseRTP(t, got)
				h := pkt.Header
				if h.PayloadType != 110 || h.SSRC != s.SSRC() {
					t.Fatalf("packet %d: PT %d SSRC %#x, want PT 110 SSRC %#x", i, h.PayloadType, h.SSRC, s.SSRC())
				}
				if h.Marker != (i == 0) {
					t.Fatalf("packet %d: marker %v, want it on the first packet only", i, h.Marker)
				}
				if i == 0 {
					first = h
				} else if h.SequenceNumber != first.SequenceNumber+uint16(i) || h.Timestamp != first.Timestamp {
					t.Fatalf("packet %d: seq %d ts %d, want seq %d and the event's timestamp %d",
						i, h.SequenceNumber, h.Timestamp, first.SequenceNumber+uint16(i), first.Timestamp)
				}
				var e dtmf.Event
				if err := e.Unmarshal(pkt.Payload); err != nil {
					t.Fatal(err)
				}
				if e.End {
					ends++
				} else if ends > 0 {
					t.Fatalf("packet %d: an update after an end packet", i)
				}
				r, n := det.Feed(h.Marker, h.Timestamp, pkt.Payload)
				reports = append(reports, r[:n]...)
			}
			if err := <-done; err != nil {
				t.Fatal(err)
			}
			expectSilence(t, p) // exactly three end packets, nothing after
			var got []rune
			for _, r := range reports {
				if r.End {
					got = append(got, r.Digit)
					if r.Duration != 100*time.Millisecond {
						t.Errorf("digit lasted %v, want 100ms", r.Duration)
					}
				}
			}
			if len(got) != 1 || got[0] != '7' {
				t.Fatalf("far end decoded %q, want one '7'", got)
			}
		})
	}
}

// TestSocketDTMFEndsWithoutEndPackets: every end packet of a digit is lost;
// the digit is reported once, when audio goes on past the detector's
// time-out (1 s).
func TestSocketDTMFEndsWithoutEndPackets(t *testing.T) {
	alloc, _ := newTestAllocator(t, 1)
	s := openSocket(t, alloc)
	s.SetSink(newCaptureSink())
	digits := make(chan digitReport, 8)
	s.OnDTMF(func(digit rune, d time.Duration) { digits <- digitReport{digit, d} })
	s.Configure(StreamConfig{
		Audio: Codec{Name: "PCMU", PayloadType: 0, ClockRate: 8000},
		Event: Codec{Name: "telephone-event", PayloadType: 101, ClockRate: 8000},
	})
	p := listenPeer(t)
	mk := func(pt uint8, seq uint16, ts uint32, payload []byte, marker bool) []byte {
		b, err := (&rtp.Packet{Header: rtp.Header{Version: 2, Marker: marker, PayloadType: pt, SequenceNumber: seq, Timestamp: ts, SSRC: 9}, Payload: payload}).Marshal()
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	// Two start/update packets of '3' (160 and 320 samples), no end.
	for i, d := range []uint16{160, 320} {
		ev := dtmf.Event{Code: 3, Volume: 10, Duration: d}
		var b [4]byte
		if _, err := ev.MarshalTo(b[:]); err != nil {
			t.Fatal(err)
		}
		send(t, p, mk(101, uint16(1+i), 8000, b[:], i == 0), s.LocalAddr())
	}
	send(t, p, mk(0, 3, 8320, make([]byte, 160), false), s.LocalAddr())
	select {
	case r := <-digits:
		t.Fatalf("digit %q reported before its time-out", r.digit)
	case <-time.After(300 * time.Millisecond):
	}
	time.Sleep(dtmf.DefaultTimeout)
	send(t, p, mk(0, 4, 8480, make([]byte, 160), false), s.LocalAddr())
	select {
	case r := <-digits:
		if r.digit != '3' || r.d != 40*time.Millisecond {
			t.Fatalf("OnDTMF(%q, %v), want ('3', 40ms)", r.digit, r.d)
		}
	case <-time.After(2 * time.Second):
		t.Fatal("a digit without end packets was never reported")
	}
	send(t, p, mk(0, 5, 8640, make([]byte, 160), false), s.LocalAddr())
	select {
	case r := <-digits:
		t.Fatalf("digit %q reported twice", r.digit)
	case <-time.After(200 * time.Millisecond):
	}
}
