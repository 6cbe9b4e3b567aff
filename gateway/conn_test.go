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

// TestTrackConn: writes go to send (none: dropped); a read waits for
// Close (a Pushed socket never reads); nothing is written after Close.
func TestTrackConn(t *testing.T) {
	var sent [][]byte
	c := newTrackConn(func(p []byte) error {
		sent = append(sent, append([]byte(nil), p...))
		return nil
	})
	if n, err := c.WriteToUDPAddrPort([]byte{4, 5}, placeholderRemote); n != 2 || err != nil || len(sent) != 1 {
		t.Fatalf("write %d %v", n, err)
	}
	if n, err := newTrackConn(nil).WriteToUDPAddrPort([]byte{1}, placeholderRemote); n != 1 || err != nil {
		t.Fatalf("write without send %d %v", n, err)
	}
	done := make(chan error, 1)
	go func() {
		_, _, err := c.ReadFromUDPAddrPort(make([]byte, 16))
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
	if _, err := c.WriteToUDPAddrPort([]byte{1}, placeholderRemote); !errors.Is(err, net.ErrClosed) || len(sent) != 1 {
		t.Fatalf("write after close: %v (%d sent)", err, len(sent))
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
func legSocket(tb testing.TB, keep bool) (*media.Socket, *fakeBinding) {
	tb.Helper()
	track := rtc.NewTrack("audio", "test")
	fb := &fakeBinding{keep: keep, codes: []webrtc.RTPCodecParameters{rtc.OpusCodec(111), rtc.EventCodec(110)}}
	if _, err := track.Bind(fb); err != nil {
		tb.Fatal(err)
	}
	sock, err := media.NewSocket(media.SocketOptions{RTP: newTrackConn(track.WriteRTP), RTCP: newTrackConn(nil),
		Local: placeholderLocal, Pushed: true})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { sock.Close() })
	sock.Configure(media.StreamConfig{
		Audio: media.Codec{Name: "opus", PayloadType: 111, ClockRate: 48000, Channels: 2},
		Event: media.Codec{Name: "telephone-event", PayloadType: 110, ClockRate: 48000},
	})
	sock.SetRemote(placeholderRemote)
	return sock, fb
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
	sock, fb := legSocket(t, true)
	sink := make(chanSink, 4)
	sock.SetSink(sink)
	sock.ReceiveRTP(opusPacket(7), placeholderRemote)
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
	sock, fb := legSocket(b, false)
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
// session pump hands the packet to the Pushed socket (checks, latching,
// quality monitor) and the sink, on the pump's goroutine; one op is one
// packet seen by the sink.
func BenchmarkLegReceive(b *testing.B) {
	sock, _ := legSocket(b, false)
	seen := make(countSink, 1)
	sock.SetSink(seen)
	pkt := opusPacket(0)
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		binary.BigEndian.PutUint16(pkt[2:], uint16(i))
		sock.ReceiveRTP(pkt, placeholderRemote)
		<-seen
		i++
	}
}

type countSink chan struct{}

func (c countSink) HandleRTP([]byte, *media.Socket) { c <- struct{}{} }
