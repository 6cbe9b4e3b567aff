package media

import (
	"bytes"
	"context"
	"encoding/binary"
	"net"
	"net/netip"
	"testing"
	"time"

	"github.com/switchboard-voice/switchboard/media/audio"
	"github.com/switchboard-voice/switchboard/media/codec"
	"github.com/switchboard-voice/switchboard/media/tone"
)

// toneSequenceWAV is a WAV file of 440, 880 and 1320 Hz, 200 ms each, at
// rate, that starts on a negative peak and ends on a positive one: looped
// naively it would click.
func toneSequenceWAV(t *testing.T, rate int) *audio.Clip {
	t.Helper()
	var samples []int16
	for _, hz := range []float64{440, 880, 1320} {
		g := tone.NewGenerator(rate, hz, 0.5)
		f := make([]int16, rate/5)
		g.Fill(f)
		samples = append(samples, f...)
	}
	samples[0], samples[len(samples)-1] = -16000, 16000
	var buf bytes.Buffer
	if err := audio.EncodeWAV(&buf, &audio.Clip{Rate: rate, Samples: samples}); err != nil {
		t.Fatal(err)
	}
	clip, err := audio.DecodeWAV(&buf)
	if err != nil {
		t.Fatal(err)
	}
	return clip
}

// TestPlayLoopsWAVToLeg plays a looped WAV tone sequence to a PCMU leg and
// an Opus leg and checks, on what the peer decodes, that the tones come in
// order on every loop, that RTP numbering is continuous, and that the loop
// point has no discontinuity.
func TestPlayLoopsWAVToLeg(t *testing.T) {
	for _, tc := range []struct {
		codec Codec
		rate  int
	}{
		{Codec{Name: "PCMU", PayloadType: 0, ClockRate: 8000}, 8000},
		{Codec{Name: "opus", PayloadType: 111, ClockRate: 48000, Channels: 2}, 48000},
	} {
		t.Run(tc.codec.Name, func(t *testing.T) {
			alloc, err := NewPortAllocator(PortAllocatorOptions{IP: netip.MustParseAddr("127.0.0.1"), Min: 43000, Max: 43999})
			if err != nil {
				t.Fatal(err)
			}
			s, err := alloc.Open()
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			peer, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
			if err != nil {
				t.Fatal(err)
			}
			defer peer.Close()
			s.SetRemote(peer.LocalAddr().(*net.UDPAddr).AddrPort())
			s.Configure(StreamConfig{Audio: tc.codec, Sending: true})

			clip := toneSequenceWAV(t, 8000)
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			done := make(chan error, 1)
			go func() { done <- Play(ctx, s, audio.NewPlayer(clip, PlayRate(tc.codec), true)) }()

			dec, err := codec.NewDecoder(tc.codec.Name, tc.rate)
			if err != nil {
				t.Fatal(err)
			}
			// 2.2 loops of 600 ms (less the loop cross-fade).
			const packets = 66
			var pcm []int16
			buf := make([]byte, 1500)
			frame := make([]int16, codec.MaxFrameSamples(tc.rate))
			var lastSeq uint16
			var lastTS uint32
			for i := range packets {
				if err := peer.SetReadDeadline(time.Now().Add(2 * time.Second)); err != nil {
					t.Fatal(err)
				}
				n, err := peer.Read(buf)
				if err != nil {
					t.Fatalf("packet %d: %v", i, err)
				}
				p := buf[:n]
				if pt := p[1] & 0x7f; pt != tc.codec.PayloadType {
					t.Fatalf("payload type %d, want %d", pt, tc.codec.PayloadType)
				}
				seq, ts := binary.BigEndian.Uint16(p[2:]), binary.BigEndian.Uint32(p[4:])
				if i > 0 && (seq != lastSeq+1 || ts != lastTS+tc.codec.ClockRate/50) {
					t.Fatalf("packet %d: seq %d ts %d after %d/%d: not continuous", i, seq, ts, lastSeq, lastTS)
				}
				lastSeq, lastTS = seq, ts
				m, err := dec.Decode(p[12:], frame)
				if err != nil {
					t.Fatal(err)
				}
				pcm = append(pcm, frame[:m]...)
			}
			cancel()
			<-done

			// Tones in order: the dominant tone of each 100 ms window
			// (skipping codec start-up) follows 440 → 880 → 1320 → 440...
			win := tc.rate / 10
			order := []float64{440, 880, 1320}
			var seen []float64
			for off := 2 * win; off+win <= len(pcm); off += win {
				d := tone.NewDetector(tc.rate, 100*time.Millisecond)
				d.Write(pcm[off : off+win])
				hz, power := d.Dominant(order)
				if power < 0.5 {
					continue // a window straddling two tones
				}
				if len(seen) == 0 || seen[len(seen)-1] != hz {
					seen = append(seen, hz)
				}
			}
			if len(seen) < 5 {
				t.Fatalf("tone sequence %v: want at least 5 segments over two loops", seen)
			}
			start := 0
			for start < 3 && order[start] != seen[0] {
				start++
			}
			for i, hz := range seen {
				if want := order[(start+i)%3]; hz != want {
					t.Fatalf("tone sequence %v: segment %d is %v Hz, want %v", seen, i, hz, want)
				}
			}

			// No click: the largest sample-to-sample step anywhere is no
			// more than a little above the largest within the first pass
			// of the 1320 Hz tone (the steepest tone) — a naive loop joins
			// +16000 to -16000.
			maxStep := func(x []int16) int {
				m := 0
				for i := 1; i < len(x); i++ {
					d := int(x[i]) - int(x[i-1])
					m = max(m, d, -d)
				}
				return m
			}
			ref := maxStep(pcm[tc.rate*45/100 : tc.rate*55/100])
			if got := maxStep(pcm[tc.rate/10:]); float64(got) > 1.3*float64(ref) {
				t.Fatalf("largest step %d, more than 1.3× the 1320 Hz tone's %d: a click at the loop point", got, ref)
			}
		})
	}
}
