package media

import (
	"bytes"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/pion/rtcp"
	"github.com/pion/rtp"
)

// rtpSeeds are real packets: the test vectors of the socket tests (PCMU,
// a telephone-event, an RR, an SR with a block, a compound RR+BYE) and
// the odd shapes of RFC 3550 (CSRCs, a header extension, padding).
func rtpSeeds(tb testing.TB) [][]byte {
	pcmu := mkRTP(tb, 0, 1, true)
	ev := (&rtp.Packet{Header: rtp.Header{Version: 2, PayloadType: 101, Marker: true, SequenceNumber: 7, Timestamp: 160, SSRC: 9}, Payload: []byte{5, 10, 0, 160}})
	evb, _ := ev.Marshal()
	ext := &rtp.Packet{Header: rtp.Header{Version: 2, PayloadType: 8, SequenceNumber: 2, SSRC: 3, CSRC: []uint32{1, 2}}, Payload: bytes.Repeat([]byte{0xd5}, 160)}
	_ = ext.SetExtension(1, []byte{0xaa, 0xbb})
	extb, _ := ext.Marshal()
	padded := &rtp.Packet{Header: rtp.Header{Version: 2, Padding: true, PaddingSize: 4, PayloadType: 0, SequenceNumber: 3, SSRC: 3}, Payload: []byte{1, 2, 3}}
	padb, _ := padded.Marshal()
	rr, _ := (&rtcp.ReceiverReport{SSRC: 7}).Marshal()
	sr, _ := (&rtcp.SenderReport{SSRC: 7, NTPTime: 1 << 40, RTPTime: 160, PacketCount: 10, OctetCount: 1600,
		Reports: []rtcp.ReceptionReport{{SSRC: 9, FractionLost: 12, TotalLost: 3, LastSenderReport: 5, Delay: 6}}}).Marshal()
	bye, _ := (&rtcp.Goodbye{Sources: []uint32{7}, Reason: "bye"}).Marshal()
	compound := append(append([]byte(nil), rr...), bye...)
	return [][]byte{pcmu, evb, extb, padb, rr, sr, compound, {0x80, 200, 0, 0}, {0xa0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0}}
}

// FuzzClassify: the hand-written RTP/RTCP classifier and payload slicer of
// the hot path never panic, agree with each other and with pion/rtp: a
// packet classify calls RTP is one pion parses, with the same payload, and
// the payload lies inside the packet after its header.
func FuzzClassify(f *testing.F) {
	for _, s := range rtpSeeds(f) {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		kind := classify(b)
		if (classifyRTCP(b) == kindRTCP) != (kind == kindRTCP) {
			t.Fatalf("classify %d but classifyRTCP %d for % x", kind, classifyRTCP(b), b)
		}
		if kind == kindRTCP && (len(b) < rtcpHeaderLen || !isRTCPType(b[1])) {
			t.Fatalf("RTCP accepted: % x", b)
		}
		payload, ok := RTPPayload(b)
		if kind != kindRTP {
			return
		}
		if !ok {
			t.Fatalf("classify said RTP but RTPPayload refused % x", b)
		}
		if len(payload) > len(b)-rtpHeaderLen {
			t.Fatalf("payload of %d bytes from a %d-byte packet", len(payload), len(b))
		}
		var p rtp.Packet
		if err := p.Unmarshal(append([]byte(nil), b...)); err != nil {
			if rfc8285Extension(b) {
				// pion also parses the elements of RFC 8285 header
				// extensions, which RTP itself leaves opaque (RFC 3550
				// §5.3.1): the switch relays them untouched.
				return
			}
			t.Fatalf("classify said RTP but pion refuses it (%v): % x", err, b)
		}
		if !bytes.Equal(p.Payload, payload) {
			t.Fatalf("payload % x, pion says % x, for % x", payload, p.Payload, b)
		}
	})
}

// rfc8285Extension reports whether b has a header extension with an RFC 8285
// profile (one-byte 0xBEDE or two-byte 0x100X).
func rfc8285Extension(b []byte) bool {
	if b[0]&0x10 == 0 {
		return false
	}
	n := rtpHeaderLen + 4*int(b[0]&0x0f)
	profile := uint16(b[n])<<8 | uint16(b[n+1])
	return profile == 0xbede || profile&0xfff0 == 0x1000
}

// fuzzSink records what a socket delivers.
type fuzzSink struct{ got [][]byte }

func (k *fuzzSink) HandleRTP(pkt []byte, _ *Socket) {
	k.got = append(k.got, append([]byte(nil), pkt...))
}

// FuzzSocketReceive drives a socket's receive path (classification,
// latching of RTP and RTCP, the quality monitor, the RFC 4733 detector)
// with a sequence of packets from four sources onto either port, with
// re-INVITEs (SetRemote, SetRemoteRTCP) in between. Each step of the input
// is a control byte, a length byte and that many bytes of packet. It checks
// that every packet is counted exactly once, that only RTP from the latched
// source reaches the sink unchanged, that the RTCP port latches only to the
// party's address (the RTP peer's IP or a=rtcp's), and that reported digits
// are keys.
func FuzzSocketReceive(f *testing.F) {
	seeds := rtpSeeds(f)
	step := func(ctl byte, pkt []byte) []byte { return append([]byte{ctl, byte(len(pkt))}, pkt...) }
	var all []byte
	for i, s := range seeds {
		f.Add(step(byte(i%8), s))
		all = append(all, step(byte(i%8), s)...)
	}
	f.Add(all)
	var dtmf []byte // a digit 5: start, updates, three ends
	for i, d := range []uint16{0, 160, 320, 480, 480, 480} {
		e := byte(10)
		if i >= 3 {
			e |= 0x80
		}
		p := &rtp.Packet{Header: rtp.Header{Version: 2, PayloadType: 101, Marker: i == 0, SequenceNumber: uint16(i), Timestamp: 8000, SSRC: 9}, Payload: []byte{5, e, byte(d >> 8), byte(d)}}
		b, _ := p.Marshal()
		dtmf = append(dtmf, step(0, b)...)
	}
	f.Add(dtmf)
	f.Add(append(step(0xf0, nil), append(step(4|1, seeds[4]), step(2|1, seeds[4])...)...))

	var (
		party    = netip.MustParseAddrPort("127.0.0.1:4000")
		partyAlt = netip.MustParseAddrPort("127.0.0.1:4001")
		stranger = netip.MustParseAddrPort("127.0.0.2:4000")
		rtcpHost = netip.MustParseAddrPort("127.0.0.3:5000")
		sources  = [4]netip.AddrPort{party, partyAlt, stranger, rtcpHost}
	)
	f.Fuzz(func(t *testing.T, in []byte) {
		rtpConn, rtcpConn := listenPeer(t), listenPeer(t)
		st := new(Stats)
		s, err := NewSocket(SocketOptions{RTP: rtpConn, RTCP: rtcpConn, Local: netip.MustParseAddrPort("127.0.0.1:20000"), Stats: st, Pushed: true})
		if err != nil {
			t.Fatal(err)
		}
		defer s.Close()
		sink := new(fuzzSink)
		s.SetSink(sink)
		s.Configure(StreamConfig{
			Audio: Codec{Name: "PCMU", PayloadType: 0, ClockRate: 8000},
			Event: Codec{Name: "telephone-event", PayloadType: 101, ClockRate: 8000}, Sending: true,
		})
		s.OnDTMF(func(digit rune, d time.Duration) {
			if !strings.ContainsRune("0123456789*#ABCDF", digit) || d < 0 {
				t.Fatalf("digit %q for %v reported", digit, d)
			}
		})
		var fixedIP netip.Addr // the a=rtcp address's, while set
		counted := func() uint64 {
			n := st.Snapshot()
			return n.PacketsReceived + n.RTCPReceived + n.DroppedInvalid + n.DroppedForeign + n.DroppedSRTP + n.DroppedNoSink
		}
		for len(in) >= 2 {
			ctl, n := in[0], int(in[1])
			in = in[2:]
			if ctl >= 0xf0 { // a re-INVITE
				switch ctl & 3 {
				case 0:
					s.SetRemote(party)
					fixedIP = netip.Addr{}
				case 1:
					s.SetRemoteRTCP(rtcpHost)
					fixedIP = rtcpHost.Addr()
				case 2:
					s.SetRemote(netip.AddrPortFrom(netip.IPv4Unspecified(), 0)) // hold
					fixedIP = netip.Addr{}
				}
				continue
			}
			pkt := in[:min(n, len(in))]
			in = in[len(pkt):]
			from := sources[(ctl>>1)&3]
			before, delivered := counted(), len(sink.got)
			rtpBefore, rtcpBefore := s.rtpPeer.Load(), s.rtcpPeer.Load()
			orig := append([]byte(nil), pkt...)
			if ctl&1 == 0 {
				s.ReceiveRTP(pkt, from)
			} else {
				s.ReceiveRTCP(pkt, from)
			}
			if got := counted(); got != before+1 {
				t.Fatalf("one packet counted %d times: %+v", got-before, st.Snapshot())
			}
			if len(sink.got) > delivered {
				if ctl&1 != 0 || classify(orig) != kindRTP || !bytes.Equal(sink.got[delivered], orig) {
					t.Fatalf("delivered % x for % x on port %d", sink.got[delivered], orig, ctl&1)
				}
				if rtpBefore.latched && rtpBefore.addr != from {
					t.Fatalf("RTP from %s delivered while latched to %s", from, rtpBefore.addr)
				}
			}
			if p := s.rtcpPeer.Load(); p.latched && !rtcpBefore.latched {
				if ip := p.addr.Addr(); ip != rtpBefore.addr.Addr() && ip != fixedIP {
					t.Fatalf("RTCP latched to %s; RTP peer %s, a=rtcp %s", p.addr, rtpBefore.addr, fixedIP)
				}
			}
			if (st.PacketsReceived.Load() > 0) == s.LastReceived().IsZero() {
				t.Fatalf("LastReceived %v after %d RTP packets", s.LastReceived(), st.PacketsReceived.Load())
			}
		}
	})
}
