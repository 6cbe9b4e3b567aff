package gateway

import (
	"encoding/binary"
	"errors"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/pion/interceptor"
	"github.com/pion/rtp"
	"github.com/pion/webrtc/v4"

	"github.com/switchboard-voice/switchboard/gateway/internal/rtc"
	"github.com/switchboard-voice/switchboard/media"
)

func TestTrackConn(t *testing.T) {
	var sent [][]byte
	c := newTrackConn(placeholderRemote, func(p []byte) error {
		sent = append(sent, append([]byte(nil), p...))
		return nil
	})
	if !c.deliver([]byte{1, 2, 3}) {
		t.Fatal("deliver failed")
	}
	buf := make([]byte, 2048)
	n, from, err := c.ReadFromUDPAddrPort(buf)
	if err != nil || n != 3 || from != placeholderRemote || buf[2] != 3 {
		t.Fatalf("read %d %v %v", n, from, err)
	}
	if n, err := c.WriteToUDPAddrPort([]byte{4, 5}, placeholderRemote); n != 2 || err != nil || len(sent) != 1 {
		t.Fatalf("write %d %v", n, err)
	}
	// A reader that does not keep up loses packets beyond the queue.
	for i := range queueSlots {
		if !c.deliver([]byte{byte(i)}) {
			t.Fatalf("packet %d dropped", i)
		}
	}
	if c.deliver([]byte{0}) {
		t.Fatal("a full queue took one more packet")
	}
	if c.deliver(make([]byte, slotSize+1)) {
		t.Fatal("an oversized packet was queued")
	}
	if n, _, _ := c.ReadFromUDPAddrPort(buf); n != 1 || buf[0] != 0 {
		t.Fatal("queue not in order")
	}
	done := make(chan error, 1)
	go func() {
		var err error
		for err == nil {
			_, _, err = c.ReadFromUDPAddrPort(buf)
		}
		done <- err
	}()
	c.Close()
	c.Close()
	select {
	case err := <-done:
		if !errors.Is(err, net.ErrClosed) {
			t.Fatalf("read after close: %v", err)
		}
	case <-time.After(time.Second):
		t.Fatal("Close did not end a blocked read")
	}
	if _, err := c.WriteToUDPAddrPort([]byte{1}, placeholderRemote); !errors.Is(err, net.ErrClosed) {
		t.Fatalf("write after close: %v", err)
	}
	if c.deliver([]byte{1}) {
		t.Fatal("deliver after close")
	}
}

// fakeBinding binds an rtc.Track to a writer that counts (and, if keep,
// records) what it sends, as pion's RTP sender would.
type fakeBinding struct {
	mu    sync.Mutex
	n     int
	keep  bool
	pkts  []rtp.Packet
	codes []webrtc.RTPCodecParameters
}

func (f *fakeBinding) CodecParameters() []webrtc.RTPCodecParameters { return f.codes }
func (f *fakeBinding) HeaderExtensions() []webrtc.RTPHeaderExtensionParameter {
	return nil
}
func (f *fakeBinding) SSRC() webrtc.SSRC                       { return 0x1234 }
func (f *fakeBinding) SSRCRetransmission() webrtc.SSRC         { return 0 }
func (f *fakeBinding) SSRCForwardErrorCorrection() webrtc.SSRC { return 0 }
func (f *fakeBinding) WriteStream() webrtc.TrackLocalWriter    { return f }
func (f *fakeBinding) ID() string                              { return "fake" }
func (f *fakeBinding) RTCPReader() interceptor.RTCPReader      { return nil }
func (f *fakeBinding) Write(b []byte) (int, error)             { return 0, errors.New("unused") }
func (f *fakeBinding) WriteRTP(h *rtp.Header, payload []byte) (int, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.n++
	if f.keep {
		f.pkts = append(f.pkts, rtp.Packet{Header: *h, Payload: append([]byte(nil), payload...)})
	}
	return len(payload), nil
}

// legSocket builds what Attach builds around a session's track, without
// pion: a bound rtc.Track and a media.Socket over two trackConns.
func legSocket(tb testing.TB, keep bool) (*media.Socket, *trackConn, *fakeBinding) {
	tb.Helper()
	track := rtc.NewTrack("audio", "test")
	fb := &fakeBinding{keep: keep, codes: []webrtc.RTPCodecParameters{rtc.OpusCodec(111), rtc.EventCodec(110)}}
	if _, err := track.Bind(fb); err != nil {
		tb.Fatal(err)
	}
	in := newTrackConn(placeholderRemote, track.WriteRTP)
	sock, err := media.NewSocket(media.SocketOptions{RTP: in, RTCP: newTrackConn(placeholderRemote, nil), Local: placeholderLocal})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { sock.Close() })
	sock.Configure(media.StreamConfig{
		Audio: media.Codec{Name: "opus", PayloadType: 111, ClockRate: 48000, Channels: 2},
		Event: media.Codec{Name: "telephone-event", PayloadType: 110, ClockRate: 48000},
	})
	sock.SetRemote(placeholderRemote)
	return sock, in, fb
}

type chanSink chan []byte

func (c chanSink) HandleRTP(pkt []byte, _ *media.Socket) { c <- append([]byte(nil), pkt...) }

func opusPacket(seq uint16) []byte {
	pkt := make([]byte, 12+60)
	pkt[0], pkt[1] = 0x80, 111
	binary.BigEndian.PutUint16(pkt[2:], seq)
	binary.BigEndian.PutUint32(pkt[4:], uint32(seq)*960)
	binary.BigEndian.PutUint32(pkt[8:], 0x5eed)
	return pkt
}

func TestLegSocketOverTrack(t *testing.T) {
	sock, in, fb := legSocket(t, true)
	sink := make(chanSink, 4)
	sock.SetSink(sink)
	in.deliver(opusPacket(7))
	select {
	case got := <-sink:
		if binary.BigEndian.Uint16(got[2:]) != 7 || got[1]&0x7f != 111 {
			t.Fatalf("socket delivered %x", got[:12])
		}
	case <-time.After(time.Second):
		t.Fatal("packet from the track did not reach the sink")
	}
	if sock.Remote() != placeholderRemote {
		t.Fatalf("socket latched %v", sock.Remote())
	}
	if err := sock.WriteRTP(opusPacket(1)); err != nil {
		t.Fatal(err)
	}
	fb.mu.Lock()
	defer fb.mu.Unlock()
	if len(fb.pkts) != 1 || fb.pkts[0].SSRC != 0x1234 || fb.pkts[0].PayloadType != 111 || len(fb.pkts[0].Payload) != 60 {
		t.Fatalf("track sent %+v", fb.pkts)
	}
}

// BenchmarkLegSend is the per-packet path from a leg's socket to pion:
// Socket.WriteRTP (renumbering), the trackConn, rtc.Track (renumbering
// into the session's stream, header for pion) and a writer standing for
// pion's RTP sender (whose SRTP and interceptors are not measured).
func BenchmarkLegSend(b *testing.B) {
	sock, _, fb := legSocket(b, false)
	pkt := opusPacket(0)
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		binary.BigEndian.PutUint16(pkt[2:], uint16(i))
		binary.BigEndian.PutUint32(pkt[4:], uint32(i)*960)
		binary.BigEndian.PutUint32(pkt[8:], 0x5eed)
		if err := sock.WriteRTP(pkt); err != nil {
			b.Fatal(err)
		}
		i++
	}
	if fb.n < b.N {
		b.Fatalf("%d of %d packets reached the track", fb.n, b.N)
	}
}

// BenchmarkLegReceive is the per-packet path from pion to a sink: the
// session pump's delivery into the trackConn's queue, the socket's reader
// goroutine (checks, latching, quality monitor) and the sink; one op is one
// packet handed over and seen by the sink.
func BenchmarkLegReceive(b *testing.B) {
	sock, in, _ := legSocket(b, false)
	seen := make(countSink, 1)
	sock.SetSink(seen)
	pkt := opusPacket(0)
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		binary.BigEndian.PutUint16(pkt[2:], uint16(i))
		if !in.deliver(pkt) {
			b.Fatal("queue full")
		}
		<-seen
		i++
	}
}

type countSink chan struct{}

func (c countSink) HandleRTP([]byte, *media.Socket) { c <- struct{}{} }
