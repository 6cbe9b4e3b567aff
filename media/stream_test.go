package media

import (
	"context"
	"encoding/binary"
	"testing"
	"time"

	"github.com/switchboard-voice/switchboard/media/dtmf"
)

// rtpHeader builds a bare 12-byte RTP header with a 4-byte payload.
func rtpHeader(pt uint8, marker bool, seq uint16, ts, ssrc uint32) []byte {
	b := make([]byte, rtpHeaderLen+4)
	b[0] = rtpVersion << 6
	b[1] = pt
	if marker {
		b[1] |= 0x80
	}
	binary.BigEndian.PutUint16(b[2:], seq)
	binary.BigEndian.PutUint32(b[4:], ts)
	binary.BigEndian.PutUint32(b[8:], ssrc)
	return b
}

type hdr struct {
	seq    uint16
	ts     uint32
	ssrc   uint32
	marker bool
}

func readHdr(b []byte) hdr {
	return hdr{binary.BigEndian.Uint16(b[2:]), binary.BigEndian.Uint32(b[4:]), binary.BigEndian.Uint32(b[8:]), b[1]&0x80 != 0}
}

// TestOutStreamRenumbering drives outStream with synthetic times: within a
// source gaps and reordering pass through, a new source continues the
// stream one packet on with the elapsed time and a marker.
func TestOutStreamRenumbering(t *testing.T) {
	o := newOutStream()
	t0 := time.Unix(1_000_000, 0)
	rw := func(seq uint16, ts, ssrc uint32, at time.Duration) hdr {
		b := rtpHeader(0, false, seq, ts, ssrc)
		o.rewrite(b, t0.Add(at))
		return readHdr(b)
	}
	first := rw(100, 16000, 0xa, 0)
	if first.ssrc != o.ssrc || first.marker {
		t.Fatalf("first packet %+v, want SSRC %#x and no marker added", first, o.ssrc)
	}
	// In-source: a gap (102 missing), then 104 before 103: offsets kept.
	for _, in := range []struct {
		seq uint16
		at  time.Duration
	}{{101, 20}, {104, 80}, {103, 60}, {105, 100}} {
		h := rw(in.seq, uint32(in.seq)*160, 0xa, in.at*time.Millisecond)
		if h.seq-first.seq != in.seq-100 || h.ts-first.ts != (uint32(in.seq)-100)*160 || h.marker {
			t.Fatalf("in-source seq %d -> %+v, want offsets %d/%d from %+v", in.seq, h, in.seq-100, (uint32(in.seq)-100)*160, first)
		}
	}
	last := first.seq + 5 // 105, the highest sent
	lastTS := first.ts + 5*160

	// A new SSRC 40 ms after the last packet, with unrelated numbers.
	h := rw(7, 123456789, 0xb, 140*time.Millisecond)
	if h.seq != last+1 || !h.marker || h.ssrc != o.ssrc {
		t.Fatalf("new source -> %+v, want seq %d, marker, SSRC %#x", h, last+1, o.ssrc)
	}
	if d := h.ts - lastTS; d < 320 || d > 321 { // 40 ms at 8000 Hz
		t.Fatalf("new source timestamp advanced %d, want 40 ms = 320", d)
	}
	// And carries on with the new source's spacing, reordering included.
	h9 := rw(9, 123456789+320, 0xb, 180*time.Millisecond)
	h8 := rw(8, 123456789+160, 0xb, 181*time.Millisecond)
	if h9.seq != h.seq+2 || h8.seq != h.seq+1 || h9.ts != h.ts+320 || h8.ts != h.ts+160 || h8.marker || h9.marker {
		t.Fatalf("after the switch %+v then %+v, want offsets from %+v", h9, h8, h)
	}

	// Back to the first source: also new (to the stream), continues from h9.
	h2 := rw(106, 106*160, 0xa, 200*time.Millisecond)
	if h2.seq != h9.seq+1 || !h2.marker {
		t.Fatalf("source a again -> %+v, want seq %d with marker", h2, h9.seq+1)
	}

	// The clock follows the configured rate (48 kHz: 20 ms = 960).
	o.Clock = 48000
	h3 := rw(1, 5, 0xc, 220*time.Millisecond)
	if d := h3.ts - h2.ts; d < 960 || d > 961 {
		t.Fatalf("at 48 kHz the timestamp advanced %d over 20 ms, want 960", d)
	}
}

// TestOutStreamInject: packets the switch injects take the next sequence
// numbers and push the relayed ones up, so that none collide.
func TestOutStreamInject(t *testing.T) {
	o := newOutStream()
	t0 := time.Unix(1_000_000, 0)
	seen := map[uint16]bool{}
	var prev uint16
	emit := func(b []byte, injected bool, at time.Duration) hdr {
		t.Helper()
		if injected {
			o.inject(b, t0.Add(at))
		} else {
			o.rewrite(b, t0.Add(at))
		}
		h := readHdr(b)
		if seen[h.seq] {
			t.Fatalf("sequence number %d sent twice", h.seq)
		}
		if len(seen) > 0 && h.seq != prev+1 {
			t.Fatalf("seq %d after %d, want consecutive", h.seq, prev)
		}
		if h.ssrc != o.ssrc {
			t.Fatalf("SSRC %#x, want %#x", h.ssrc, o.ssrc)
		}
		seen[h.seq], prev = true, h.seq
		return h
	}
	for i := uint16(0); i < 3; i++ {
		emit(rtpHeader(0, false, 10+i, uint32(10+i)*160, 0xa), false, time.Duration(i)*20*time.Millisecond)
	}
	for i := 0; i < 4; i++ {
		emit(rtpHeader(101, i == 0, 0, 777, 0), true, 50*time.Millisecond)
	}
	for i := uint16(3); i < 6; i++ {
		emit(rtpHeader(0, false, 10+i, uint32(10+i)*160, 0xa), false, time.Duration(i)*20*time.Millisecond)
	}
}

// TestOutStreamInjectFirst: a digit sent before anything was relayed (a
// call that starts with DTMF) must not leave the stream: the audio that
// follows continues its sequence numbers and timestamps.
func TestOutStreamInjectFirst(t *testing.T) {
	o := newOutStream()
	t0 := time.Unix(1_000_000, 0)
	ts0 := o.timestampAt(t0)
	var last hdr
	for i := 0; i < 4; i++ {
		b := rtpHeader(101, i == 0, 0, ts0, 0)
		o.inject(b, t0.Add(time.Duration(i)*20*time.Millisecond))
		h := readHdr(b)
		if i > 0 && h.seq != last.seq+1 {
			t.Fatalf("injected seq %d after %d", h.seq, last.seq)
		}
		last = h
	}
	b := rtpHeader(0, false, 40000, 99, 0xa)
	o.rewrite(b, t0.Add(100*time.Millisecond))
	h := readHdr(b)
	if h.seq != last.seq+1 || !h.marker {
		t.Fatalf("first relayed packet %+v after injected seq %d, want seq %d with marker", h, last.seq, last.seq+1)
	}
	if d := h.ts - ts0; d < 800 || d > 801 { // 100 ms at 8000 Hz after the digit's start
		t.Fatalf("first relayed packet's timestamp is %d after the digit's, want 800", d)
	}
	b = rtpHeader(0, false, 40001, 99+160, 0xa)
	o.rewrite(b, t0.Add(120*time.Millisecond))
	if h2 := readHdr(b); h2.seq != h.seq+1 || h2.ts != h.ts+160 {
		t.Fatalf("second relayed packet %+v after %+v", h2, h)
	}
}

// TestRelayStreamAcrossSources runs the same over UDP: a's peer reorders
// packets and restarts with a new SSRC, b sends a digit in between; b's peer
// sees one stream with b's SSRC and no sequence number twice.
func TestRelayStreamAcrossSources(t *testing.T) {
	f := newRelayFixture(t)
	f.b.Configure(StreamConfig{
		Audio: Codec{Name: "PCMU", PayloadType: 0, ClockRate: 8000},
		Event: Codec{Name: "telephone-event", PayloadType: 101, ClockRate: 8000},
	})
	sendRTP := func(seq uint16, ssrc uint32) {
		p := mkRTP(t, 0, seq, false)
		binary.BigEndian.PutUint32(p[8:], ssrc)
		send(t, f.pa, p, f.a.LocalAddr())
	}
	recv := func() (hdr, []byte) {
		got, _ := recvPacket(t, f.pb)
		p := parseRTP(t, got)
		if p.SSRC != f.b.SSRC() {
			t.Fatalf("SSRC %#x, want b's %#x", p.SSRC, f.b.SSRC())
		}
		return readHdr(got), p.Payload
	}
	// One at a time so that the network does not reorder them further.
	var out []hdr
	for _, seq := range []uint16{10, 11, 13, 12, 14} {
		sendRTP(seq, 0x1111)
		h, payload := recv()
		if payload[0] != byte(seq) {
			t.Fatalf("payload of seq %d arrived as that of seq %d", seq, payload[0])
		}
		out = append(out, h)
	}
	for i, seq := range []uint16{10, 11, 13, 12, 14} {
		if out[i].seq-out[0].seq != seq-10 || out[i].ts-out[0].ts != uint32(seq-10)*160 {
			t.Fatalf("packet %d (seq %d) -> %+v, want offsets %d from %+v", i, seq, out[i], seq-10, out[0])
		}
	}
	top := out[4].seq

	// The far end restarts: new SSRC, new numbering.
	sendRTP(60000, 0x2222)
	h, _ := recv()
	if h.seq != top+1 || !h.marker {
		t.Fatalf("new source -> %+v, want seq %d with marker", h, top+1)
	}
	top = h.seq

	// b injects a digit.
	if err := f.b.SendDTMF(context.Background(), '1', dtmf.MinDuration); err != nil {
		t.Fatal(err)
	}
	ends := 0
	for ends < 3 {
		got, _ := recvPacket(t, f.pb)
		h := readHdr(got)
		if got[1]&0x7f != 101 {
			t.Fatalf("got PT %d while the digit was sent", got[1]&0x7f)
		}
		if h.seq != top+1 || h.ssrc != f.b.SSRC() {
			t.Fatalf("event packet %+v after seq %d, want the next one with b's SSRC", h, top)
		}
		top = h.seq
		var e dtmf.Event
		if err := e.Unmarshal(got[rtpHeaderLen:]); err != nil {
			t.Fatal(err)
		}
		if e.End {
			ends++
		}
	}
	// Audio resumes after the digit without reusing its numbers.
	sendRTP(60001, 0x2222)
	h, _ = recv()
	if h.seq != top+1 {
		t.Fatalf("audio after the digit has seq %d, want %d", h.seq, top+1)
	}
}
