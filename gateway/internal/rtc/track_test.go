package rtc

import (
	"bytes"
	"encoding/binary"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/pion/interceptor"
	"github.com/pion/rtp"
	"github.com/pion/webrtc/v4"

	"github.com/switchboard-voice/switchboard/media"
)

// fakeContext binds a Track to a writer that records what it sends.
type fakeContext struct {
	w     *recorder
	codes []webrtc.RTPCodecParameters
}

func (c fakeContext) CodecParameters() []webrtc.RTPCodecParameters { return c.codes }
func (c fakeContext) HeaderExtensions() []webrtc.RTPHeaderExtensionParameter {
	return nil
}
func (c fakeContext) SSRC() webrtc.SSRC                       { return 0xabcdef }
func (c fakeContext) SSRCRetransmission() webrtc.SSRC         { return 0 }
func (c fakeContext) SSRCForwardErrorCorrection() webrtc.SSRC { return 0 }
func (c fakeContext) WriteStream() webrtc.TrackLocalWriter    { return c.w }
func (c fakeContext) ID() string                              { return "binding-1" }
func (c fakeContext) RTCPReader() interceptor.RTCPReader      { return nil }

type recorder struct {
	mu   sync.Mutex
	pkts []rtp.Packet
}

func (r *recorder) WriteRTP(h *rtp.Header, payload []byte) (int, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.pkts = append(r.pkts, rtp.Packet{Header: *h, Payload: append([]byte(nil), payload...)})
	return len(payload), nil
}

func (r *recorder) Write(b []byte) (int, error) { return 0, errors.New("unused") }

func mk(pt uint8, marker bool, seq uint16, ts, ssrc uint32, payload []byte) []byte {
	p := rtp.Packet{Header: rtp.Header{Version: 2, Marker: marker, PayloadType: pt, SequenceNumber: seq, Timestamp: ts, SSRC: ssrc}, Payload: payload}
	b, err := p.Marshal()
	if err != nil {
		panic(err)
	}
	return b
}

func bound(t *testing.T) (*Track, *recorder) {
	t.Helper()
	tr := NewTrack("a", "s")
	w := &recorder{}
	got, err := tr.Bind(fakeContext{w: w, codes: []webrtc.RTPCodecParameters{EventCodec(101), OpusCodec(109)}})
	if err != nil {
		t.Fatal(err)
	}
	if got.PayloadType != 109 || got.MimeType != webrtc.MimeTypeOpus {
		t.Fatalf("bound to %+v, want opus 109", got)
	}
	return tr, w
}

func TestTrackKeepsPayloadTypesAndContinuesAcrossSources(t *testing.T) {
	tr, w := bound(t)
	if ssrc, ok := tr.SSRC(); !ok || ssrc != 0xabcdef {
		t.Fatalf("SSRC %x %v", ssrc, ok)
	}
	// Source A: three Opus packets and a telephone-event.
	for i := range 3 {
		if err := tr.WriteRTP(mk(109, i == 0, uint16(100+i), 5000+uint32(i)*960, 0xa, []byte{byte(i)})); err != nil {
			t.Fatal(err)
		}
	}
	if err := tr.WriteRTP(mk(101, true, 103, 5000+2*960, 0xa, []byte{5, 0x8a, 0, 160})); err != nil {
		t.Fatal(err)
	}
	time.Sleep(40 * time.Millisecond)
	// Source B (the next call) with numbering of its own.
	if err := tr.WriteRTP(mk(109, false, 60000, 123, 0xb, []byte{9})); err != nil {
		t.Fatal(err)
	}
	if err := tr.WriteRTP(mk(109, false, 60001, 123+960, 0xb, []byte{10})); err != nil {
		t.Fatal(err)
	}
	if len(w.pkts) != 6 {
		t.Fatalf("%d packets written, want 6", len(w.pkts))
	}
	first := w.pkts[0]
	for i, p := range w.pkts {
		if p.SSRC != 0xabcdef || p.Version != 2 {
			t.Fatalf("packet %d: SSRC %x version %d", i, p.SSRC, p.Version)
		}
		if want := first.SequenceNumber + uint16(i); p.SequenceNumber != want {
			t.Fatalf("packet %d: seq %d, want %d", i, p.SequenceNumber, want)
		}
	}
	if w.pkts[3].PayloadType != 101 || w.pkts[2].PayloadType != 109 {
		t.Fatalf("payload types %d, %d: not kept", w.pkts[2].PayloadType, w.pkts[3].PayloadType)
	}
	if !w.pkts[0].Marker || w.pkts[1].Marker || !w.pkts[4].Marker || w.pkts[5].Marker {
		t.Fatal("marker bits: want the first packet and the new source's first")
	}
	// B continues from A's last timestamp by at least the time passed.
	gap := w.pkts[4].Timestamp - w.pkts[2].Timestamp
	if gap < 40*48 || gap > 2*48000 {
		t.Fatalf("timestamp step across sources %d, want about 40 ms (1920) or more", gap)
	}
	if w.pkts[5].Timestamp-w.pkts[4].Timestamp != 960 {
		t.Fatal("timestamps within a source changed")
	}
	if !bytes.Equal(w.pkts[4].Payload, []byte{9}) {
		t.Fatal("payload changed")
	}
}

func TestTrackDropsExtensionsAndHandlesUnbound(t *testing.T) {
	tr := NewTrack("a", "s")
	if err := tr.WriteRTP(mk(109, false, 1, 1, 1, []byte{1})); err != nil {
		t.Fatalf("write before bind: %v", err)
	}
	if _, ok := tr.SSRC(); ok {
		t.Fatal("SSRC known before bind")
	}
	tr, w := bound(t)
	p := rtp.Packet{Header: rtp.Header{Version: 2, PayloadType: 109, SequenceNumber: 7, CSRC: []uint32{1, 2}}, Payload: []byte{1, 2, 3}}
	if err := p.Header.SetExtension(1, []byte{0xff}); err != nil {
		t.Fatal(err)
	}
	b, _ := p.Marshal()
	if err := tr.WriteRTP(b); err != nil {
		t.Fatal(err)
	}
	got := w.pkts[0]
	if len(got.CSRC) != 0 || got.Extension || !bytes.Equal(got.Payload, []byte{1, 2, 3}) {
		t.Fatalf("got %+v", got)
	}
	if err := tr.WriteRTP([]byte{0x80, 1, 2}); !errors.Is(err, ErrShortPacket) {
		t.Fatalf("short packet: %v", err)
	}
	if err := tr.Unbind(fakeContext{}); err != nil {
		t.Fatal(err)
	}
	_ = tr.WriteRTP(b)
	if len(w.pkts) != 1 {
		t.Fatal("written after Unbind")
	}
	if _, err := NewTrack("x", "y").Bind(fakeContext{w: w, codes: []webrtc.RTPCodecParameters{EventCodec(101)}}); err == nil {
		t.Fatal("bound without Opus")
	}
}

// TestPayload: the track's packets are parsed by media.RTPPayload.
func TestPayload(t *testing.T) {
	b := mk(0, false, 1, 1, 1, []byte{1, 2, 3, 4})
	b[0] |= 0x20 // padding: the last byte counts it
	b[len(b)-1] = 2
	if p, ok := media.RTPPayload(b); !ok || !bytes.Equal(p, []byte{1, 2}) {
		t.Fatalf("padded payload %v %v", p, ok)
	}
	binary.BigEndian.PutUint16(b[2:], 0)
	if _, ok := media.RTPPayload(b[:11]); ok {
		t.Fatal("11 bytes taken for RTP")
	}
}
