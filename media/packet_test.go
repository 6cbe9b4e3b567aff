package media

import (
	"testing"

	"github.com/pion/rtcp"
)

func TestClassify(t *testing.T) {
	rr, err := (&rtcp.ReceiverReport{SSRC: 1}).Marshal()
	if err != nil {
		t.Fatal(err)
	}
	good := mkRTP(t, 0, 1, false)
	withExt := append([]byte{0x90, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 1, 0xbe, 0xde, 0, 1, 1, 2, 3, 4}, 0xff)
	cases := []struct {
		name      string
		pkt       []byte
		onRTPPort packetKind
		onRTCP    packetKind
	}{
		{"rtp", good, kindRTP, kindInvalid},
		{"rtp with extension", withExt, kindRTP, kindInvalid},
		{"rtcp rr", rr, kindRTCP, kindRTCP},
		{"empty", nil, kindInvalid, kindInvalid},
		{"short", []byte{0x80, 0, 0, 1, 0}, kindInvalid, kindInvalid},
		{"version 1", append([]byte{0x40}, good[1:]...), kindInvalid, kindInvalid},
		{"stun", []byte{0x00, 0x01, 0x00, 0x00, 0x21, 0x12, 0xa4, 0x42, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12}, kindInvalid, kindInvalid},
		{"csrc beyond end", []byte{0x8f, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0}, kindInvalid, kindInvalid},
		{"extension beyond end", []byte{0x90, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 1, 0xbe, 0xde, 0, 9}, kindInvalid, kindInvalid},
		{"padding too long", append([]byte{0xa0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 1}, 0, 0, 200), kindInvalid, kindInvalid},
		{"rtcp length beyond end", []byte{0x80, 201, 0, 9, 0, 0, 0, 1}, kindInvalid, kindInvalid},
		{"marker+PT 72 reads as SR (RFC 5761)", append([]byte{0x80, 200}, good[2:]...), kindRTCP, kindRTCP},
	}
	for _, c := range cases {
		if got := classify(c.pkt); got != c.onRTPPort {
			t.Errorf("%s: classify = %d, want %d", c.name, got, c.onRTPPort)
		}
		if got := classifyRTCP(c.pkt); got != c.onRTCP {
			t.Errorf("%s: classifyRTCP = %d, want %d", c.name, got, c.onRTCP)
		}
	}
}
