package media

import (
	"bytes"
	"net"
	"testing"

	"github.com/switchboard-voice/switchboard/media/sdes"
)

// srtpPair returns the switch's session for one leg and the far end's
// matching one: each encrypts with the key the other decrypts with.
func srtpPair(t *testing.T, suite sdes.Suite) (sw, far *sdes.Session) {
	t.Helper()
	ours, err := sdes.Generate(1, suite) // in our SDP: protects what the switch sends
	if err != nil {
		t.Fatal(err)
	}
	theirs, err := sdes.Generate(1, suite) // in the peer's SDP: protects what it sends
	if err != nil {
		t.Fatal(err)
	}
	if sw, err = sdes.NewSession(ours, theirs); err != nil {
		t.Fatal(err)
	}
	if far, err = sdes.NewSession(theirs, ours); err != nil {
		t.Fatal(err)
	}
	return sw, far
}

// TestSRTPRelay: two SRTP legs relayed; each far end encrypts with its key,
// the other far end decrypts what the switch re-encrypted for it. Tampered,
// replayed and plain packets are dropped and counted.
func TestSRTPRelay(t *testing.T) {
	f := newRelayFixture(t)
	swA, farA := srtpPair(t, sdes.AES128CMHMACSHA1_80)
	swB, farB := srtpPair(t, sdes.AES128CMHMACSHA1_32)
	f.a.Configure(StreamConfig{Audio: pcmu, SRTP: swA})
	f.b.Configure(StreamConfig{Audio: pcmu, SRTP: swB})
	f.relay.Reconfigure()

	// through sends plain from src, encrypted with its session, and returns
	// what dst decrypts with its own.
	through := func(src, dst *farEnd, plain []byte) []byte {
		t.Helper()
		enc, err := src.sess.EncryptRTP(nil, plain)
		if err != nil {
			t.Fatal(err)
		}
		send(t, src.conn, enc, src.sock.LocalAddr())
		got, _ := recvPacket(t, dst.conn)
		if bytes.Contains(got, plain[rtpHeaderLen:rtpHeaderLen+32]) {
			t.Fatal("payload left the switch in clear")
		}
		dec, err := dst.sess.DecryptRTP(got)
		if err != nil {
			t.Fatalf("far end cannot decrypt what the switch sent: %v", err)
		}
		return dec
	}
	endA := &farEnd{f.pa, f.a, farA}
	endB := &farEnd{f.pb, f.b, farB}
	var last uint16
	for seq := uint16(1); seq <= 3; seq++ {
		plain := mkRTP(t, 0, seq, seq == 1)
		p := mustRelayed(t, through(endA, endB, plain), plain, f.b)
		if seq > 1 && p.SequenceNumber != last+1 {
			t.Fatalf("seq %d after %d", p.SequenceNumber, last)
		}
		last = p.SequenceNumber
		back := mkRTP(t, 0, 100+seq, false)
		mustRelayed(t, through(endB, endA, back), back, f.a)
	}

	// Tampered: one payload bit flipped after encryption.
	enc, err := farA.EncryptRTP(nil, mkRTP(t, 0, 4, false))
	if err != nil {
		t.Fatal(err)
	}
	replay := append([]byte(nil), enc...)
	enc[rtpHeaderLen+5] ^= 0x01
	send(t, f.pa, enc, f.a.LocalAddr())
	waitFor(t, "the tampered packet dropped", func() bool { return f.stats.DroppedSRTP.Load() == 1 })
	// Plain RTP on an SRTP leg fails authentication too.
	send(t, f.pa, mkRTP(t, 0, 5, false), f.a.LocalAddr())
	waitFor(t, "the plain packet dropped", func() bool { return f.stats.DroppedSRTP.Load() == 2 })
	expectSilence(t, f.pb)

	// The untampered original still passes (the session is intact), once.
	send(t, f.pa, replay, f.a.LocalAddr())
	got, _ := recvPacket(t, f.pb)
	if _, err := farB.DecryptRTP(got); err != nil {
		t.Fatal(err)
	}
	send(t, f.pa, replay, f.a.LocalAddr())
	waitFor(t, "the replayed packet dropped", func() bool { return f.stats.DroppedSRTP.Load() == 3 })
	expectSilence(t, f.pb)

	// SRTCP: accepted and counted when authentic, dropped when tampered.
	rtcpEnc, err := farA.EncryptRTCP(nil, mkRR(t, 0x5eed))
	if err != nil {
		t.Fatal(err)
	}
	bad := append([]byte(nil), rtcpEnc...)
	bad[len(bad)-1] ^= 0x80
	send(t, f.pa, bad, f.a.LocalRTCPAddr())
	waitFor(t, "the tampered SRTCP dropped", func() bool { return f.stats.DroppedSRTP.Load() == 4 })
	send(t, f.pa, rtcpEnc, f.a.LocalRTCPAddr())
	waitFor(t, "SRTCP received", func() bool { return f.stats.RTCPReceived.Load() == 1 })

	snap := f.stats.Snapshot()
	if snap.PacketsRelayed != 7 || snap.DroppedSRTP != 4 || snap.PacketsDropped != 4 {
		t.Errorf("stats %+v, want 7 relayed, 4 SRTP drops and no other", snap)
	}
}

// farEnd is a party's UDP socket, the switch's socket it talks to and its
// SRTP session.
type farEnd struct {
	conn *net.UDPConn
	sock *Socket
	sess *sdes.Session
}
