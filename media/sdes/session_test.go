package sdes

import (
	"bytes"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/pion/rtcp"
	"github.com/pion/rtp"
	"github.com/pion/srtp/v3"
	"github.com/zaf/g711"

	"github.com/switchboard-voice/switchboard/media/tone"
)

var suites = []Suite{AES128CMHMACSHA1_80, AES128CMHMACSHA1_32}

func mustGenerate(t testing.TB, tag int, s Suite) Crypto {
	t.Helper()
	c, err := Generate(tag, s)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func mustSession(t testing.TB, local, remote Crypto) *Session {
	t.Helper()
	s, err := NewSession(local, remote)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// pair returns sessions A and B of one leg: what A sends B receives and
// vice versa. k1 protects A→B, k2 protects B→A.
func pair(t testing.TB, s Suite) (a, b *Session, k1, k2 Crypto) {
	t.Helper()
	k1, k2 = mustGenerate(t, 1, s), mustGenerate(t, 1, s)
	return mustSession(t, k1, k2), mustSession(t, k2, k1), k1, k2
}

// pionContext is an SRTP context made directly with pion from a Crypto,
// independent of Session.
func pionContext(t testing.TB, c Crypto) *srtp.Context {
	t.Helper()
	profile := srtp.ProtectionProfileAes128CmHmacSha1_80
	if c.Suite == AES128CMHMACSHA1_32 {
		profile = srtp.ProtectionProfileAes128CmHmacSha1_32
	}
	ctx, err := srtp.CreateContext(c.Key[:16], c.Key[16:], profile,
		srtp.SRTPReplayProtection(64), srtp.SRTCPReplayProtection(64))
	if err != nil {
		t.Fatal(err)
	}
	return ctx
}

func rtpPacket(t testing.TB, seq uint16, ssrc uint32, payload []byte) []byte {
	t.Helper()
	p := rtp.Packet{
		Header: rtp.Header{
			Version: 2, PayloadType: 0, SequenceNumber: seq,
			Timestamp: uint32(seq) * 160, SSRC: ssrc,
		},
		Payload: payload,
	}
	b, err := p.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// payloadFor returns a payload that differs per sequence number.
func payloadFor(seq uint16, n int) []byte {
	p := make([]byte, n)
	for i := range p {
		p[i] = byte(int(seq)*7 + i)
	}
	return p
}

func rtcpPacket(t testing.TB, ssrc uint32, n uint32) []byte {
	t.Helper()
	b, err := rtcp.Marshal([]rtcp.Packet{
		&rtcp.SenderReport{SSRC: ssrc, NTPTime: 0x0102030405060708 + uint64(n), RTPTime: n * 160, PacketCount: n, OctetCount: n * 160},
		&rtcp.SourceDescription{Chunks: []rtcp.SourceDescriptionChunk{{
			Source: ssrc, Items: []rtcp.SourceDescriptionItem{{Type: rtcp.SDESCNAME, Text: "switchboard"}},
		}}},
	})
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func clone(b []byte) []byte { return append([]byte(nil), b...) }

// TestKnownAnswer checks against the libsrtp test vector
// (test/srtp_driver.c, AES_CM_128_HMAC_SHA1_80 and _32), which neither pion
// nor this package produced.
func TestKnownAnswer(t *testing.T) {
	key, _ := hex.DecodeString("e1f97a0d3e018be0d64fa32c06de41390ec675ad498afeebb6960b3aabe6")
	plain, _ := hex.DecodeString("800f1234decafbadcafebabeabababababababababababababababab")
	cipher80, _ := hex.DecodeString("800f1234decafbadcafebabe4e55dc4ce79978d88ca4d215949d2402b78d6acc99ea179b8dbb")
	for _, tt := range []struct {
		suite Suite
		want  []byte
	}{
		{AES128CMHMACSHA1_80, cipher80},
		{AES128CMHMACSHA1_32, cipher80[:len(plain)+4]},
	} {
		t.Run(string(tt.suite), func(t *testing.T) {
			c := Crypto{Tag: 1, Suite: tt.suite, Key: key}
			s := mustSession(t, c, c)
			got, err := s.EncryptRTP(nil, plain)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got, tt.want) {
				t.Fatalf("EncryptRTP = %x\nwant         %x", got, tt.want)
			}
			dec, err := s.DecryptRTP(clone(tt.want))
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(dec, plain) {
				t.Fatalf("DecryptRTP = %x, want %x", dec, plain)
			}
		})
	}
}

func TestInterop(t *testing.T) {
	for _, suite := range suites {
		t.Run(string(suite), func(t *testing.T) {
			a, b, k1, k2 := pair(t, suite)
			wantOverhead := map[Suite]int{AES128CMHMACSHA1_80: 10, AES128CMHMACSHA1_32: 4}[suite]
			if a.Overhead() != wantOverhead || a.RTCPOverhead() != 14 {
				t.Fatalf("Overhead() = %d, RTCPOverhead() = %d", a.Overhead(), a.RTCPOverhead())
			}
			pionRx1 := pionContext(t, k1) // decrypts what A sends
			pionTx2 := pionContext(t, k2) // encrypts as B would
			pionRx2 := pionContext(t, k2) // decrypts what B sends

			type dir struct {
				name       string
				from, to   *Session
				ref        *srtp.Context // independent decryptor of from's output
				ssrc       uint32
				wrongLocal *Session // holds the same local key, not the remote one
			}
			dirs := []dir{
				{"A→B", a, b, pionRx1, 0x11111111, a},
				{"B→A", b, a, pionRx2, 0x22222222, b},
			}
			buf := make([]byte, 0, 1500)
			for _, d := range dirs {
				for i := range 50 {
					seq := uint16(1000 + i)
					plain := rtpPacket(t, seq, d.ssrc, payloadFor(seq, 160))
					enc, err := d.from.EncryptRTP(buf, plain)
					if err != nil {
						t.Fatalf("%s: EncryptRTP: %v", d.name, err)
					}
					if len(enc) != len(plain)+wantOverhead || &enc[0] != &buf[:1][0] {
						t.Fatalf("%s: encrypted len %d (plain %d) or dst not reused", d.name, len(enc), len(plain))
					}
					if !bytes.Equal(enc[:12], plain[:12]) || bytes.Equal(enc[12:len(plain)], plain[12:]) {
						t.Fatalf("%s: header changed or payload not encrypted", d.name)
					}
					// The independent pion context decrypts it.
					ref, err := d.ref.DecryptRTP(nil, enc, nil)
					if err != nil || !bytes.Equal(ref, plain) {
						t.Fatalf("%s: pion DecryptRTP = %v, equal %v", d.name, err, bytes.Equal(ref, plain))
					}
					// Our own decryptor with the sender's key as remote.
					if _, err := d.wrongLocal.DecryptRTP(clone(enc)); err == nil {
						t.Fatalf("%s: sender decrypted its own packet with the other direction's key", d.name)
					}
					got, err := d.to.DecryptRTP(enc)
					if err != nil {
						t.Fatalf("%s: DecryptRTP: %v", d.name, err)
					}
					if !bytes.Equal(got, plain) {
						t.Fatalf("%s: DecryptRTP mismatch", d.name)
					}
				}
				for i := range 5 {
					plain := rtcpPacket(t, d.ssrc, uint32(i))
					enc, err := d.from.EncryptRTCP(buf, plain)
					if err != nil {
						t.Fatalf("%s: EncryptRTCP: %v", d.name, err)
					}
					if len(enc) != len(plain)+14 || bytes.Equal(enc[8:len(plain)], plain[8:]) {
						t.Fatalf("%s: SRTCP len %d (plain %d) or not encrypted", d.name, len(enc), len(plain))
					}
					ref, err := d.ref.DecryptRTCP(nil, enc, nil)
					if err != nil || !bytes.Equal(ref, plain) {
						t.Fatalf("%s: pion DecryptRTCP = %v", d.name, err)
					}
					got, err := d.to.DecryptRTCP(enc)
					if err != nil || !bytes.Equal(got, plain) {
						t.Fatalf("%s: DecryptRTCP = %v", d.name, err)
					}
					if _, err := rtcp.Unmarshal(got); err != nil {
						t.Fatalf("%s: decrypted RTCP does not parse: %v", d.name, err)
					}
				}
			}

			// Packets protected by pion directly (as the peer B would) decrypt at A.
			for i := range 20 {
				seq := uint16(500 + i)
				plain := rtpPacket(t, seq, 0x33333333, payloadFor(seq, 160))
				enc, err := pionTx2.EncryptRTP(nil, plain, nil)
				if err != nil {
					t.Fatal(err)
				}
				got, err := a.DecryptRTP(enc)
				if err != nil || !bytes.Equal(got, plain) {
					t.Fatalf("A decrypting pion RTP: %v", err)
				}
				plainRTCP := rtcpPacket(t, 0x33333333, uint32(i))
				encRTCP, err := pionTx2.EncryptRTCP(nil, plainRTCP, nil)
				if err != nil {
					t.Fatal(err)
				}
				got, err = a.DecryptRTCP(encRTCP)
				if err != nil || !bytes.Equal(got, plainRTCP) {
					t.Fatalf("A decrypting pion RTCP: %v", err)
				}
			}
		})
	}
}

// TestInPlace encrypts into the packet's own buffer.
func TestInPlace(t *testing.T) {
	a, b, _, _ := pair(t, AES128CMHMACSHA1_80)
	plain := rtpPacket(t, 7, 1, payloadFor(7, 160))
	pkt := make([]byte, len(plain), len(plain)+a.Overhead())
	copy(pkt, plain)
	enc, err := a.EncryptRTP(pkt[:0], pkt)
	if err != nil {
		t.Fatal(err)
	}
	if &enc[0] != &pkt[0] {
		t.Fatal("in-place EncryptRTP did not reuse the buffer")
	}
	got, err := b.DecryptRTP(enc)
	if err != nil || !bytes.Equal(got, plain) || &got[0] != &pkt[0] {
		t.Fatalf("DecryptRTP in place: %v", err)
	}
}

// TestToneThroughSRTP sends a 1 kHz tone as PCMU through A→B and checks that
// B hears it while the encrypted payload is noise.
func TestToneThroughSRTP(t *testing.T) {
	for _, suite := range suites {
		t.Run(string(suite), func(t *testing.T) {
			a, b, _, _ := pair(t, suite)
			gen := tone.NewGenerator(8000, 1000, 0.5)
			heard := tone.NewDetector(8000, 200*time.Millisecond)
			wire := tone.NewDetector(8000, 200*time.Millisecond)
			frame := make([]int16, 160)
			pcm := make([]int16, 160)
			payload := make([]byte, 160)
			buf := make([]byte, 0, 256)
			for i := range 25 {
				gen.Fill(frame)
				for j, s := range frame {
					payload[j] = g711.EncodeUlawFrame(s)
				}
				enc, err := a.EncryptRTP(buf, rtpPacket(t, uint16(i), 42, payload))
				if err != nil {
					t.Fatal(err)
				}
				for j := range pcm {
					pcm[j] = g711.DecodeUlawFrame(enc[12+j])
				}
				wire.Write(pcm)
				got, err := b.DecryptRTP(enc)
				if err != nil {
					t.Fatal(err)
				}
				for j := range pcm {
					pcm[j] = g711.DecodeUlawFrame(got[12+j])
				}
				heard.Write(pcm)
			}
			if !heard.Present(1000) {
				t.Errorf("1 kHz not heard after decryption (relative power %.3f)", heard.RelativePower(1000))
			}
			if wire.Present(1000) {
				t.Errorf("1 kHz audible in the encrypted payload (relative power %.3f)", wire.RelativePower(1000))
			}
		})
	}
}

func TestTamperAndReplay(t *testing.T) {
	for _, suite := range suites {
		t.Run(string(suite), func(t *testing.T) {
			a, b, _, _ := pair(t, suite)
			plain := rtpPacket(t, 100, 9, payloadFor(100, 160))
			enc, err := a.EncryptRTP(nil, plain)
			if err != nil {
				t.Fatal(err)
			}
			for _, pos := range []int{2, 8, 12 + 40, len(enc) - 1} { // seq, ssrc, payload, tag
				bad := clone(enc)
				bad[pos] ^= 0x10
				if _, err := b.DecryptRTP(bad); !errors.Is(err, srtp.ErrFailedToVerifyAuthTag) {
					t.Errorf("flipped byte %d: err = %v, want auth failure", pos, err)
				}
			}
			if _, err := b.DecryptRTP(enc[:len(enc)-a.Overhead()]); err == nil {
				t.Error("packet without tag decrypted")
			}
			// The genuine packet still decrypts after the forgeries…
			first := clone(enc)
			got, err := b.DecryptRTP(enc)
			if err != nil || !bytes.Equal(got, plain) {
				t.Fatalf("genuine packet after tampering: %v", err)
			}
			// …but only once.
			if _, err := b.DecryptRTP(first); err == nil {
				t.Error("replayed RTP packet accepted")
			}

			plainRTCP := rtcpPacket(t, 9, 1)
			encRTCP, err := a.EncryptRTCP(nil, plainRTCP)
			if err != nil {
				t.Fatal(err)
			}
			bad := clone(encRTCP)
			bad[12] ^= 1
			if _, err := b.DecryptRTCP(bad); !errors.Is(err, srtp.ErrFailedToVerifyAuthTag) {
				t.Errorf("tampered RTCP: err = %v", err)
			}
			firstRTCP := clone(encRTCP)
			if got, err := b.DecryptRTCP(encRTCP); err != nil || !bytes.Equal(got, plainRTCP) {
				t.Fatalf("genuine RTCP: %v", err)
			}
			if _, err := b.DecryptRTCP(firstRTCP); err == nil {
				t.Error("replayed RTCP packet accepted")
			}
		})
	}
}

// TestRollover sends 70000 packets of one SSRC across the 16-bit sequence
// wrap; the receiver must track the rollover counter.
func TestRollover(t *testing.T) {
	const n = 70000
	for _, suite := range suites {
		t.Run(string(suite), func(t *testing.T) {
			a, b, k1, _ := pair(t, suite)
			ref := pionContext(t, k1)
			plain := rtpPacket(t, 0, 0xabcdef01, payloadFor(0, 160))
			enc := make([]byte, 0, len(plain)+a.Overhead())
			refBuf := make([]byte, 0, len(plain)+a.Overhead())
			seq := uint16(65000)
			wrapped := 0
			for i := range n {
				binary.BigEndian.PutUint16(plain[2:], seq)
				binary.BigEndian.PutUint32(plain[12:], uint32(i)) // payload marks the packet
				var err error
				if enc, err = a.EncryptRTP(enc, plain); err != nil {
					t.Fatalf("packet %d: EncryptRTP: %v", i, err)
				}
				if i%97 == 0 || seq < 8 || seq > 65530 {
					// Spot-check with an independent context, near the wraps too.
					refBuf = append(refBuf[:0], enc...)
					if _, err := ref.DecryptRTP(refBuf, refBuf, nil); err != nil {
						t.Fatalf("packet %d seq %d: pion DecryptRTP: %v", i, seq, err)
					}
				}
				got, err := b.DecryptRTP(enc)
				if err != nil {
					t.Fatalf("packet %d seq %d: DecryptRTP: %v", i, seq, err)
				}
				if !bytes.Equal(got, plain) {
					t.Fatalf("packet %d seq %d: plaintext mismatch", i, seq)
				}
				seq++
				if seq == 0 {
					wrapped++
				}
			}
			if wrapped != 2 {
				t.Fatalf("sequence wrapped %d times, want 2", wrapped)
			}
			if roc, ok := ref.ROC(0xabcdef01); !ok || roc != 2 {
				t.Errorf("independent context ROC = %d, %v; want 2", roc, ok)
			}
		})
	}
}

func TestConcurrentEncrypt(t *testing.T) {
	const workers, perWorker = 4, 300
	a, b, _, _ := pair(t, AES128CMHMACSHA1_80)
	out := make([][][]byte, workers)
	var wg sync.WaitGroup
	for w := range workers {
		plain := make([][]byte, perWorker)
		for i := range plain {
			plain[i] = rtpPacket(t, uint16(i), uint32(w+1), payloadFor(uint16(i+w), 160))
		}
		wg.Go(func() {
			buf := make([]byte, 0, 256)
			for _, p := range plain {
				enc, err := a.EncryptRTP(buf, p)
				if err != nil {
					t.Error(err)
					return
				}
				out[w] = append(out[w], clone(enc))
			}
		})
	}
	// Decrypt concurrently with the encryption of RTCP on the same session.
	wg.Go(func() {
		for i := range perWorker {
			if _, err := a.EncryptRTCP(nil, rtcpPacket(t, 99, uint32(i))); err != nil {
				t.Error(err)
				return
			}
		}
	})
	wg.Wait()
	for w := range workers {
		if len(out[w]) != perWorker {
			t.Fatalf("worker %d produced %d packets", w, len(out[w]))
		}
		for i, enc := range out[w] {
			got, err := b.DecryptRTP(enc)
			if err != nil {
				t.Fatalf("worker %d packet %d: %v", w, i, err)
			}
			if want := payloadFor(uint16(i+w), 160); !bytes.Equal(got[12:], want) {
				t.Fatalf("worker %d packet %d: payload mismatch", w, i)
			}
		}
	}
}

func TestAllocs(t *testing.T) {
	const runs = 200
	a, b, _, _ := pair(t, AES128CMHMACSHA1_80)
	plain := rtpPacket(t, 0, 5, payloadFor(0, 160))
	plainRTCP := rtcpPacket(t, 5, 0)
	// Enough protected packets for warm-up and every run of the decrypt checks.
	encRTP := make([][]byte, runs+2)
	encRTCP := make([][]byte, runs+2)
	for i := range encRTP {
		binary.BigEndian.PutUint16(plain[2:], uint16(i))
		var err error
		if encRTP[i], err = a.EncryptRTP(nil, plain); err != nil {
			t.Fatal(err)
		}
		if encRTCP[i], err = a.EncryptRTCP(nil, plainRTCP); err != nil {
			t.Fatal(err)
		}
	}
	buf := make([]byte, 0, 1500)
	seq := uint16(1000)
	if n := testing.AllocsPerRun(runs, func() {
		seq++
		binary.BigEndian.PutUint16(plain[2:], seq)
		if _, err := a.EncryptRTP(buf, plain); err != nil {
			t.Fatal(err)
		}
	}); n != 0 {
		t.Errorf("EncryptRTP: %v allocs/op", n)
	}
	if n := testing.AllocsPerRun(runs, func() {
		if _, err := a.EncryptRTCP(buf, plainRTCP); err != nil {
			t.Fatal(err)
		}
	}); n != 0 {
		t.Errorf("EncryptRTCP: %v allocs/op", n)
	}
	// First packet of the SSRC creates its state in pion: outside the count.
	if _, err := b.DecryptRTP(encRTP[0]); err != nil {
		t.Fatal(err)
	}
	if _, err := b.DecryptRTCP(encRTCP[0]); err != nil {
		t.Fatal(err)
	}
	i := 1
	if n := testing.AllocsPerRun(runs, func() {
		if _, err := b.DecryptRTP(encRTP[i]); err != nil {
			t.Fatal(err)
		}
		i++
	}); n != 0 {
		t.Errorf("DecryptRTP: %v allocs/op", n)
	}
	i = 1
	if n := testing.AllocsPerRun(runs, func() {
		if _, err := b.DecryptRTCP(encRTCP[i]); err != nil {
			t.Fatal(err)
		}
		i++
	}); n != 0 {
		t.Errorf("DecryptRTCP: %v allocs/op", n)
	}
}

func TestNewSessionErrors(t *testing.T) {
	k80 := mustGenerate(t, 1, AES128CMHMACSHA1_80)
	k32 := mustGenerate(t, 1, AES128CMHMACSHA1_32)
	withMKI := k80
	withMKI.MKI = "1:4"
	short := k80
	short.Key = k80.Key[:16]
	gcm := Crypto{Tag: 1, Suite: "AEAD_AES_128_GCM", Key: make([]byte, 28)}
	for _, tt := range []struct {
		local, remote Crypto
		want          error
	}{
		{k80, k32, ErrSuiteMismatch},
		{k80, withMKI, ErrUnsupportedParam},
		{withMKI, k80, ErrUnsupportedParam},
		{k80, short, ErrMalformed},
		{gcm, gcm, ErrUnsupportedSuite},
	} {
		if _, err := NewSession(tt.local, tt.remote); !errors.Is(err, tt.want) {
			t.Errorf("NewSession(%v, %v) = %v, want %v", tt.local, tt.remote, err, tt.want)
		}
	}
	s := mustSession(t, k80, k80)
	if _, err := s.EncryptRTP(nil, []byte{0x80, 0, 0}); err == nil {
		t.Error("EncryptRTP of a 3-byte packet succeeded")
	}
	if _, err := s.DecryptRTP([]byte{0x80, 0, 0}); err == nil {
		t.Error("DecryptRTP of a 3-byte packet succeeded")
	}
	if _, err := s.DecryptRTCP([]byte{0x80, 200, 0, 1}); err == nil {
		t.Error("DecryptRTCP of a 4-byte packet succeeded")
	}
}

func benchPacket(b *testing.B) []byte {
	b.Helper()
	return rtpPacket(b, 0, 0x1234, payloadFor(0, 160))
}

func BenchmarkEncryptRTP(b *testing.B) {
	for _, suite := range suites {
		b.Run(string(suite), func(b *testing.B) {
			a, _, _, _ := pair(b, suite)
			plain := benchPacket(b)
			dst := make([]byte, 0, len(plain)+a.Overhead())
			b.SetBytes(int64(len(plain)))
			b.ReportAllocs()
			var seq uint16
			for b.Loop() {
				seq++
				binary.BigEndian.PutUint16(plain[2:], seq)
				if _, err := a.EncryptRTP(dst, plain); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func BenchmarkDecryptRTP(b *testing.B) {
	const batch = 1024
	for _, suite := range suites {
		b.Run(string(suite), func(b *testing.B) {
			a, rx, _, _ := pair(b, suite)
			plain := benchPacket(b)
			pkts := make([][]byte, batch)
			for i := range pkts {
				pkts[i] = make([]byte, 0, len(plain)+a.Overhead())
			}
			var seq uint16
			fill := func() {
				for i := range pkts {
					seq++
					binary.BigEndian.PutUint16(plain[2:], seq)
					var err error
					if pkts[i], err = a.EncryptRTP(pkts[i], plain); err != nil {
						b.Fatal(err)
					}
				}
			}
			fill()
			b.SetBytes(int64(len(plain)))
			b.ReportAllocs()
			i := 0
			for b.Loop() {
				if i == batch {
					b.StopTimer()
					fill()
					b.StartTimer()
					i = 0
				}
				if _, err := rx.DecryptRTP(pkts[i]); err != nil {
					b.Fatal(err)
				}
				i++
			}
		})
	}
}
