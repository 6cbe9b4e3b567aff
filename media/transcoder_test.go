package media

import (
	"bytes"
	"errors"
	"fmt"
	"net"
	"testing"
	"time"

	"github.com/pion/rtp"
	"github.com/switchboard-voice/switchboard/media/codec"
	"github.com/switchboard-voice/switchboard/media/tone"
)

var (
	pcmu    = Codec{Name: "PCMU", PayloadType: 0, ClockRate: 8000}
	pcma    = Codec{Name: "PCMA", PayloadType: 8, ClockRate: 8000}
	opus111 = Codec{Name: "opus", PayloadType: 111, ClockRate: 48000, Channels: 2}
	te110   = Codec{Name: "telephone-event", PayloadType: 110, ClockRate: 48000}
)

// tonePeer is a far end that sends a tone in one codec, one packet every
// 20 ms, from its own goroutine.
type tonePeer struct {
	conn *net.UDPConn
	to   *Socket
	pt   uint8
	step uint32 // RTP timestamp units per packet
	gen  *tone.Generator
	enc  codec.Encoder
	pcm  []int16
}

func newTonePeer(tb testing.TB, conn *net.UDPConn, to *Socket, c Codec, pcmRate int, hz float64) *tonePeer {
	tb.Helper()
	enc, err := codec.NewEncoder(c.Name, pcmRate, codec.Options{})
	if err != nil {
		tb.Fatal(err)
	}
	return &tonePeer{
		conn: conn, to: to, pt: c.PayloadType, step: c.ClockRate / 50,
		gen: tone.NewGenerator(pcmRate, hz, 0.3), enc: enc, pcm: make([]int16, codec.FrameSamples(pcmRate)),
	}
}

// packet encodes the next 20 ms of the tone into an RTP packet.
func (p *tonePeer) packet(seq uint16) ([]byte, error) {
	p.gen.Fill(p.pcm)
	payload := make([]byte, 1500)
	n, err := p.enc.Encode(p.pcm, payload)
	if err != nil {
		return nil, err
	}
	pkt := rtp.Packet{
		Header:  rtp.Header{Version: 2, Marker: seq == 0, PayloadType: p.pt, SequenceNumber: 1000 + seq, Timestamp: 5000 + uint32(seq)*p.step, SSRC: 0xfeed0000 | uint32(p.pt)},
		Payload: payload[:n],
	}
	return pkt.Marshal()
}

// run sends packets every 20 ms until stop is closed (or for at most 10 s).
func (p *tonePeer) run(stop <-chan struct{}) error {
	t := time.NewTicker(20 * time.Millisecond)
	defer t.Stop()
	for seq := uint16(0); seq < 500; seq++ {
		b, err := p.packet(seq)
		if err != nil {
			return err
		}
		if _, err := p.conn.WriteToUDPAddrPort(b, p.to.LocalAddr()); err != nil {
			return err
		}
		select {
		case <-stop:
			return nil
		case <-t.C:
		}
	}
	return nil
}

// toneCheck is what a far end checks about the stream it receives.
type toneCheck struct {
	pt        uint8  // payload type of every packet
	ssrc      uint32 // the sending socket's SSRC
	step      uint32 // RTP timestamp units per 20 ms packet
	dec       codec.Decoder
	want      float64 // the tone to hear
	not       float64 // the tone it sends itself
	minFrames int     // at least this many packets before deciding
}

// receiveTone reads packets on c until it has heard the wanted tone (and
// seen at least minFrames packets, of which at least one pair consecutive),
// or until deadline. Every packet must have the right payload type and
// SSRC, and consecutive packets timestamps a positive multiple of step apart
// (a frame the transcoder had nothing to send for still advances the
// timestamp).
func receiveTone(c *net.UDPConn, k toneCheck, deadline time.Time) error {
	det := tone.NewDetector(k.dec.SampleRate(), 200*time.Millisecond)
	pcm := make([]int16, codec.MaxFrameSamples(k.dec.SampleRate()))
	buf := make([]byte, bufSize)
	var prev rtp.Header
	frames, exact := 0, 0
	for {
		if err := c.SetReadDeadline(deadline); err != nil {
			return err
		}
		n, _, err := c.ReadFromUDPAddrPort(buf)
		if err != nil {
			return fmt.Errorf("after %d packets (%d exactly one step apart), %.0f Hz at %.2f, %.0f Hz at %.2f, level %.0f: %w",
				frames, exact, k.want, det.RelativePower(k.want), k.not, det.RelativePower(k.not), det.Level(), err)
		}
		var p rtp.Packet
		if err := p.Unmarshal(buf[:n]); err != nil {
			return err
		}
		if p.PayloadType != k.pt || p.SSRC != k.ssrc {
			return fmt.Errorf("packet PT %d SSRC %#x, want PT %d SSRC %#x", p.PayloadType, p.SSRC, k.pt, k.ssrc)
		}
		if frames > 0 && p.SequenceNumber == prev.SequenceNumber+1 {
			d := p.Timestamp - prev.Timestamp
			if d == 0 || d%k.step != 0 || d > 50*k.step {
				return fmt.Errorf("timestamp stepped %d between seq %d and %d, want a multiple of %d", d, prev.SequenceNumber, p.SequenceNumber, k.step)
			}
			if d == k.step {
				exact++
			}
		}
		prev = p.Header
		frames++
		m, err := k.dec.Decode(p.Payload, pcm)
		if err != nil {
			return fmt.Errorf("decode packet %d: %w", frames, err)
		}
		det.Write(pcm[:m])
		if frames >= k.minFrames && exact > 0 && det.Present(k.want) {
			if f, _ := det.Dominant([]float64{k.want, k.not}); f == k.want {
				return nil
			}
		}
	}
}

// TestTranscoderPCMUOpus: a G.711 leg and an Opus leg, each far end sending
// its own tone; each hears the other's, in its own codec and payload type.
func TestTranscoderPCMUOpus(t *testing.T) {
	alloc, st := newTestAllocator(t, 2)
	a, b := openSocket(t, alloc), openSocket(t, alloc)
	pa, pb := listenPeer(t), listenPeer(t)
	a.SetRemote(addrOf(pa))
	b.SetRemote(addrOf(pb))
	a.Configure(StreamConfig{Audio: pcmu, Sending: true})
	b.Configure(StreamConfig{Audio: opus111, Event: te110, Sending: true})
	br, err := Connect(a, b, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(br.Stop)
	tr, ok := br.(*Transcoder)
	if !ok || !br.Transcoding() {
		t.Fatalf("Connect(PCMU, opus) = %T, want a transcoder", br)
	}
	if tr.Rate() != 8000 {
		t.Errorf("transcoding at %d Hz, want 8000 (a G.711 leg)", tr.Rate())
	}

	decA, err := codec.NewDecoder("PCMU", 8000)
	if err != nil {
		t.Fatal(err)
	}
	decB, err := codec.NewDecoder("opus", 48000)
	if err != nil {
		t.Fatal(err)
	}
	senderA := newTonePeer(t, pa, a, pcmu, 8000, 1000)
	senderB := newTonePeer(t, pb, b, opus111, 48000, 1500)

	stop := make(chan struct{})
	errs := make(chan error, 4)
	go func() { errs <- senderA.run(stop) }()
	go func() { errs <- senderB.run(stop) }()
	deadline := time.Now().Add(5 * time.Second)
	heard := make(chan error, 2)
	go func() {
		err := receiveTone(pb, toneCheck{pt: 111, ssrc: b.SSRC(), step: 960, dec: decB, want: 1000, not: 1500, minFrames: 15}, deadline)
		if err != nil {
			err = fmt.Errorf("B's peer (opus): %w", err)
		}
		heard <- err
	}()
	go func() {
		err := receiveTone(pa, toneCheck{pt: 0, ssrc: a.SSRC(), step: 160, dec: decA, want: 1500, not: 1000, minFrames: 15}, deadline)
		if err != nil {
			err = fmt.Errorf("A's peer (PCMU): %w", err)
		}
		heard <- err
	}()
	errA, errB := <-heard, <-heard
	close(stop)
	if err := errors.Join(errA, errB, <-errs, <-errs); err != nil {
		t.Fatal(err)
	}
	for _, d := range []RelayDirection{AToB, BToA} {
		if js := tr.JitterStats(d); js.Played == 0 {
			t.Errorf("%s: jitter buffer played nothing: %+v", d, js)
		}
	}
	if n := st.PacketsTranscoded.Load(); n < 30 {
		t.Errorf("PacketsTranscoded = %d, want at least the 30 checked", n)
	}
}

// TestRelayLawConversion: PCMU on one leg, PCMA on the other is relayed,
// converting by table: each far end decodes the other's tone with its own law.
func TestRelayLawConversion(t *testing.T) {
	alloc, _ := newTestAllocator(t, 2)
	a, b := openSocket(t, alloc), openSocket(t, alloc)
	pa, pb := listenPeer(t), listenPeer(t)
	a.SetRemote(addrOf(pa))
	b.SetRemote(addrOf(pb))
	a.Configure(StreamConfig{Audio: pcmu})
	b.Configure(StreamConfig{Audio: pcma})
	br, err := Connect(a, b, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(br.Stop)
	if _, ok := br.(*Relay); !ok || br.Transcoding() {
		t.Fatalf("Connect(PCMU, PCMA) = %T, want a relay", br)
	}

	for _, dir := range []struct {
		name         string
		src, dst     *net.UDPConn
		in, out      *Socket
		sendC, recvC Codec
		hz, other    float64
		convert      func(dst, src []byte)
	}{
		{"a->b", pa, pb, a, b, pcmu, pcma, 1000, 1500, codec.PCMUToPCMA},
		{"b->a", pb, pa, b, a, pcma, pcmu, 1500, 1000, codec.PCMAToPCMU},
	} {
		t.Run(dir.name, func(t *testing.T) {
			sender := newTonePeer(t, dir.src, dir.in, dir.sendC, 8000, dir.hz)
			dec, err := codec.NewDecoder(dir.recvC.Name, 8000)
			if err != nil {
				t.Fatal(err)
			}
			det := tone.NewDetector(8000, 200*time.Millisecond)
			pcm := make([]int16, codec.MaxFrameSamples(8000))
			for i := 0; i < 15; i++ {
				sent, err := sender.packet(uint16(i))
				if err != nil {
					t.Fatal(err)
				}
				send(t, dir.src, sent, dir.in.LocalAddr())
				got, _ := recvPacket(t, dir.dst)
				p := parseRTP(t, got)
				if p.PayloadType != dir.recvC.PayloadType || p.SSRC != dir.out.SSRC() {
					t.Fatalf("packet %d: PT %d SSRC %#x, want PT %d SSRC %#x", i, p.PayloadType, p.SSRC, dir.recvC.PayloadType, dir.out.SSRC())
				}
				want := append([]byte(nil), sent[rtpHeaderLen:]...)
				dir.convert(want, want)
				if !bytes.Equal(p.Payload, want) {
					t.Fatalf("packet %d: payload not converted by table", i)
				}
				n, err := dec.Decode(p.Payload, pcm)
				if err != nil {
					t.Fatal(err)
				}
				det.Write(pcm[:n])
			}
			if f, pw := det.Dominant([]float64{dir.hz, dir.other}); f != dir.hz || !det.Present(dir.hz) {
				t.Fatalf("decoded as %s: dominant %.0f Hz (%.2f), want %.0f Hz", dir.recvC.Name, f, pw, dir.hz)
			}
		})
	}
}

// TestConnectReconfigure: the relay's payload type table follows both legs'
// configurations, and Connect switches between relay and transcoder.
func TestConnectReconfigure(t *testing.T) {
	f := newRelayFixture(t)
	f.relay.Stop()
	te101 := Codec{Name: "telephone-event", PayloadType: 101, ClockRate: 8000}
	te96 := Codec{Name: "telephone-event", PayloadType: 96, ClockRate: 8000}
	f.a.Configure(StreamConfig{Audio: pcmu, Event: te101})
	f.b.Configure(StreamConfig{Audio: Codec{Name: "PCMU", PayloadType: 98, ClockRate: 8000}, Event: te96})
	br, err := Connect(f.a, f.b, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { br.Stop() })
	relay, ok := br.(*Relay)
	if !ok {
		t.Fatalf("Connect(PCMU, PCMU) = %T, want a relay", br)
	}
	expectPT := func(src *net.UDPConn, in *Socket, dst *net.UDPConn, ptIn, ptOut uint8) {
		t.Helper()
		sent := mkRTP(t, ptIn, 1, false)
		send(t, src, sent, in.LocalAddr())
		got, _ := recvPacket(t, dst)
		if p := parseRTP(t, got); p.PayloadType != ptOut || !bytes.Equal(p.Payload, sent[rtpHeaderLen:]) {
			t.Fatalf("PT %d sent, PT %d received, want %d with the payload", ptIn, p.PayloadType, ptOut)
		}
	}
	expectPT(f.pa, f.a, f.pb, 0, 98)                       // audio
	expectPT(f.pb, f.b, f.pa, 98, 0)                       // and back
	expectPT(f.pa, f.a, f.pb, 101, 96)                     // events, both legs have them
	expectPT(f.pb, f.b, f.pa, 96, 101)                     // and back
	send(t, f.pa, mkRTP(t, 13, 1, false), f.a.LocalAddr()) // comfort noise: not negotiated on b
	send(t, f.pa, mkRTP(t, 8, 1, false), f.a.LocalAddr())  // PCMA: not negotiated at all
	expectSilence(t, f.pb)

	// b's leg drops telephone-event (re-INVITE): the same relay, events stop.
	f.b.Configure(StreamConfig{Audio: Codec{Name: "PCMU", PayloadType: 98, ClockRate: 8000}})
	br2, err := Connect(f.a, f.b, br)
	if err != nil {
		t.Fatal(err)
	}
	if br2 != Bridge(relay) {
		t.Fatalf("Connect with a fitting relay returned a new %T", br2)
	}
	send(t, f.pa, mkRTP(t, 101, 2, false), f.a.LocalAddr())
	expectSilence(t, f.pb)
	expectPT(f.pa, f.a, f.pb, 0, 98)

	// b switches to Opus: the relay makes way for a transcoder.
	f.b.Configure(StreamConfig{Audio: opus111})
	br3, err := Connect(f.a, f.b, br2)
	if err != nil {
		t.Fatal(err)
	}
	br = br3
	if _, ok := br3.(*Transcoder); !ok {
		t.Fatalf("Connect(PCMU, opus) = %T, want a transcoder", br3)
	}
}

// TestConnectKeepsFittingTranscoder: a second offer/answer with the same
// codecs (early media, then the answer) keeps the transcoder running; a
// codec change replaces it.
func TestConnectKeepsFittingTranscoder(t *testing.T) {
	alloc, _ := newTestAllocator(t, 2)
	a, b := openSocket(t, alloc), openSocket(t, alloc)
	pcmu := Codec{Name: "PCMU", PayloadType: 0, ClockRate: 8000}
	opus := Codec{Name: "opus", PayloadType: 111, ClockRate: 48000, Channels: 2}
	a.Configure(StreamConfig{Audio: pcmu})
	b.Configure(StreamConfig{Audio: opus})
	first, err := Connect(a, b, nil)
	if err != nil || !first.Transcoding() {
		t.Fatalf("Connect: %v, transcoding %v", err, first != nil && first.Transcoding())
	}
	defer func() { first.Stop() }()
	a.Configure(StreamConfig{Audio: pcmu, Sending: true})
	again, err := Connect(a, b, first)
	if err != nil || again != first {
		t.Fatalf("same codecs: got a new bridge (%v)", err)
	}
	a.Configure(StreamConfig{Audio: Codec{Name: "PCMA", PayloadType: 8, ClockRate: 8000}})
	next, err := Connect(a, b, first)
	if err != nil || next == first || !next.Transcoding() {
		t.Fatalf("codec change kept the old transcoder (%v)", err)
	}
	first = next
}
