package sip

import (
	"errors"
	"net/netip"
	"strings"
	"testing"

	"github.com/pion/sdp/v3"

	"github.com/switchboard-voice/switchboard/media"
)

const offerPCMU = "v=0\r\no=- 1 1 IN IP4 192.0.2.10\r\ns=-\r\nc=IN IP4 192.0.2.10\r\nt=0 0\r\n" +
	"m=audio 40000 RTP/AVP 0 8 101\r\na=rtpmap:101 telephone-event/8000\r\na=fmtp:101 0-16\r\na=ptime:20\r\na=sendrecv\r\n"

func TestParseSDPOffer(t *testing.T) {
	rm, err := ParseSDP([]byte(offerPCMU))
	if err != nil {
		t.Fatal(err)
	}
	if got, want := rm.RTP, netip.MustParseAddrPort("192.0.2.10:40000"); got != want {
		t.Errorf("RTP = %v, want %v", got, want)
	}
	if got, want := rm.RTCP, netip.MustParseAddrPort("192.0.2.10:40001"); got != want {
		t.Errorf("RTCP = %v, want %v", got, want)
	}
	var names []string
	for _, c := range rm.Desc.Codecs {
		names = append(names, c.Name)
	}
	if got := strings.Join(names, ","); got != "PCMU,PCMA,telephone-event" {
		t.Errorf("codecs = %s", got)
	}
	if te := rm.Desc.Codecs[2]; te.PayloadType != 101 || te.Fmtp != "0-16" || te.ClockRate != 8000 {
		t.Errorf("telephone-event = %+v", te)
	}
	if rm.Desc.Ptime != 20 || rm.Desc.Direction != media.SendRecv {
		t.Errorf("ptime %d direction %v", rm.Desc.Ptime, rm.Desc.Direction)
	}
}

func TestParseSDPDirections(t *testing.T) {
	cases := []struct {
		name, c, session, media string
		want                    media.Direction
	}{
		{"media sendonly", "192.0.2.1", "", "a=sendonly\r\n", media.SendOnly},
		{"session inactive", "192.0.2.1", "a=inactive\r\n", "", media.Inactive},
		{"media overrides session", "192.0.2.1", "a=inactive\r\n", "a=recvonly\r\n", media.RecvOnly},
		{"rfc2543 hold", "0.0.0.0", "", "", media.SendOnly},
		{"rfc2543 hold recvonly", "0.0.0.0", "", "a=recvonly\r\n", media.Inactive},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			body := "v=0\r\no=- 1 1 IN IP4 192.0.2.1\r\ns=-\r\nc=IN IP4 " + tc.c + "\r\nt=0 0\r\n" + tc.session +
				"m=audio 4000 RTP/AVP 0\r\n" + tc.media
			rm, err := ParseSDP([]byte(body))
			if err != nil {
				t.Fatal(err)
			}
			if rm.Desc.Direction != tc.want {
				t.Errorf("direction = %v, want %v", rm.Desc.Direction, tc.want)
			}
		})
	}
}

func TestParseSDPRTCPAttributes(t *testing.T) {
	body := "v=0\r\no=- 1 1 IN IP4 192.0.2.1\r\ns=-\r\nt=0 0\r\nm=audio 4000 RTP/AVP 8\r\nc=IN IP4 192.0.2.1\r\na=rtcp:5005 IN IP4 192.0.2.9\r\n"
	rm, err := ParseSDP([]byte(body))
	if err != nil {
		t.Fatal(err)
	}
	if rm.RTCP != netip.MustParseAddrPort("192.0.2.9:5005") {
		t.Errorf("RTCP = %v", rm.RTCP)
	}
	mux := strings.Replace(body, "a=rtcp:5005 IN IP4 192.0.2.9", "a=rtcp-mux", 1)
	rm, err = ParseSDP([]byte(mux))
	if err != nil {
		t.Fatal(err)
	}
	if !rm.Desc.RTCPMux || rm.RTCP != rm.RTP {
		t.Errorf("rtcp-mux: %v RTCP %v RTP %v", rm.Desc.RTCPMux, rm.RTCP, rm.RTP)
	}
}

func TestParseSDPErrors(t *testing.T) {
	cases := map[string]string{
		"empty":      "",
		"garbage":    "hello world",
		"no audio":   "v=0\r\no=- 1 1 IN IP4 1.2.3.4\r\ns=-\r\nc=IN IP4 1.2.3.4\r\nt=0 0\r\nm=video 4000 RTP/AVP 96\r\n",
		"no c line":  "v=0\r\no=- 1 1 IN IP4 1.2.3.4\r\ns=-\r\nt=0 0\r\nm=audio 4000 RTP/AVP 0\r\n",
		"hostname c": "v=0\r\no=- 1 1 IN IP4 1.2.3.4\r\ns=-\r\nc=IN IP4 example.com\r\nt=0 0\r\nm=audio 4000 RTP/AVP 0\r\n",
		"no codecs":  "v=0\r\no=- 1 1 IN IP4 1.2.3.4\r\ns=-\r\nc=IN IP4 1.2.3.4\r\nt=0 0\r\nm=audio 4000 RTP/AVP 96\r\n",
		"bad proto":  "v=0\r\no=- 1 1 IN IP4 1.2.3.4\r\ns=-\r\nc=IN IP4 1.2.3.4\r\nt=0 0\r\nm=audio 4000 UDP/TLS 0\r\n",
		"bad rtpmap": "v=0\r\no=- 1 1 IN IP4 1.2.3.4\r\ns=-\r\nc=IN IP4 1.2.3.4\r\nt=0 0\r\nm=audio 4000 RTP/AVP 96\r\na=rtpmap:96 opus\r\n",
		"too big":    strings.Repeat("a", maxSDPSize+1),
		"bad pt":     "v=0\r\no=- 1 1 IN IP4 1.2.3.4\r\ns=-\r\nc=IN IP4 1.2.3.4\r\nt=0 0\r\nm=audio 4000 RTP/AVP x\r\n",
	}
	for name, body := range cases {
		t.Run(name, func(t *testing.T) {
			_, err := ParseSDP([]byte(body))
			if !errors.Is(err, ErrBadSDP) {
				t.Fatalf("err = %v, want ErrBadSDP", err)
			}
		})
	}
}

func TestRenderSDPRoundTrip(t *testing.T) {
	d := media.Description{
		Codecs: []media.Codec{
			{Name: "PCMA", PayloadType: 8, ClockRate: 8000},
			{Name: "opus", PayloadType: 111, ClockRate: 48000, Channels: 2, Fmtp: "useinbandfec=1"},
			{Name: "telephone-event", PayloadType: 101, ClockRate: 8000, Fmtp: "0-16"},
		},
		Direction: media.RecvOnly,
		Ptime:     20,
	}
	addr := netip.MustParseAddrPort("127.0.0.1:20000")
	body := RenderSDP(d, addr, SDPOrigin{SessionID: 42, Version: 3}, Security{}, Layout{})
	for _, want := range []string{"o=- 42 3 IN IP4 127.0.0.1", "c=IN IP4 127.0.0.1", "m=audio 20000 RTP/AVP 8 111 101", "a=rtpmap:111 opus/48000/2", "a=fmtp:111 useinbandfec=1", "a=recvonly"} {
		if !strings.Contains(string(body), want+"\r\n") {
			t.Errorf("SDP lacks %q:\n%s", want, body)
		}
	}
	rm, err := ParseSDP(body)
	if err != nil {
		t.Fatal(err)
	}
	if rm.RTP != addr || rm.Desc.Direction != media.RecvOnly || len(rm.Desc.Codecs) != 3 || rm.Desc.Codecs[1] != d.Codecs[1] {
		t.Errorf("round trip: %+v", rm)
	}
	v6 := RenderSDP(d, netip.MustParseAddrPort("[::1]:20000"), SDPOrigin{}, Security{}, Layout{})
	if !strings.Contains(string(v6), "c=IN IP6 ::1\r\n") {
		t.Errorf("IPv6 SDP:\n%s", v6)
	}
}

// FuzzParseSDP: no input may panic, and whatever parses must render and
// parse again to the same codecs.
func FuzzParseSDP(f *testing.F) {
	f.Add([]byte(offerPCMU))
	f.Add([]byte("v=0\r\no=- 1 1 IN IP4 0.0.0.0\r\ns=-\r\nc=IN IP4 0.0.0.0\r\nt=0 0\r\nm=audio 0 RTP/AVP 0\r\na=inactive\r\n"))
	f.Add([]byte("v=0\r\no=- 1 1 IN IP6 ::1\r\ns=-\r\nc=IN IP6 ::1\r\nt=0 0\r\nm=audio 9 RTP/SAVP 111\r\na=rtpmap:111 opus/48000/2\r\na=rtcp-mux\r\n"))
	f.Add([]byte("v=0\r\nm=audio 1 RTP/AVP 96\r\na=rtpmap:96 x/0\r\n"))
	f.Add([]byte("v=0\r\no=- 1 1 IN IP4 1.2.3.4\r\ns=-\r\nc=IN IP4 1.2.3.4\r\nt=0 0\r\nm=audio 70000 RTP/AVP 0\r\n"))
	f.Add([]byte(offerAudioVideo))
	f.Fuzz(func(t *testing.T, body []byte) {
		rm, err := ParseSDP(body)
		if err != nil {
			if !errors.Is(err, ErrBadSDP) {
				t.Fatalf("error not wrapping ErrBadSDP: %v", err)
			}
			return
		}
		out := RenderSDP(rm.Desc, rm.RTP, SDPOrigin{}, Security{}, rm.Layout)
		again, err := ParseSDP(out)
		if err != nil {
			if rm.RTP.Port() == 0 && len(rm.Desc.Codecs) == 0 {
				return // a rejected stream with no formats cannot be re-rendered usefully
			}
			t.Fatalf("rendered SDP does not parse: %v\n%s", err, out)
		}
		if len(again.Desc.Codecs) != len(rm.Desc.Codecs) {
			t.Fatalf("codecs %d -> %d", len(rm.Desc.Codecs), len(again.Desc.Codecs))
		}
		if len(again.Layout.Streams) != len(rm.Layout.Streams) || again.Layout.Audio != rm.Layout.Audio {
			t.Fatalf("m-lines %+v -> %+v", rm.Layout, again.Layout)
		}
	})
}

// offerAudioVideo is a video phone's offer: video first, then audio.
const offerAudioVideo = "v=0\r\no=- 7 7 IN IP4 192.0.2.10\r\ns=-\r\nc=IN IP4 192.0.2.10\r\nt=0 0\r\n" +
	"m=video 30002 RTP/AVP 96 97\r\na=rtpmap:96 VP8/90000\r\na=rtpmap:97 H264/90000\r\n" +
	"m=audio 30000 RTP/AVP 0 101\r\na=rtpmap:101 telephone-event/8000\r\na=sendrecv\r\n" +
	"m=video 30004 RTP/AVP 96\r\na=rtpmap:96 VP8/90000\r\n"

// TestRenderSDPDeclinesVideo: the answer to an audio+video offer keeps the
// offer's m-lines in number and order, audio on the switch's port, every
// other line with port 0 and the offer's formats (RFC 3264 §6).
func TestRenderSDPDeclinesVideo(t *testing.T) {
	rm, err := ParseSDP([]byte(offerAudioVideo))
	if err != nil {
		t.Fatal(err)
	}
	if rm.Layout.Audio != 1 || len(rm.Layout.Streams) != 3 {
		t.Fatalf("layout %+v, want 3 m-lines with audio second", rm.Layout)
	}
	if rm.RTP.Port() != 30000 || len(rm.Desc.Codecs) != 2 {
		t.Errorf("audio stream %v %+v", rm.RTP, rm.Desc.Codecs)
	}
	ans := media.Description{Codecs: rm.Desc.Codecs[:1], Direction: media.SendRecv, Ptime: 20}
	body := RenderSDP(ans, netip.MustParseAddrPort("127.0.0.1:20000"), SDPOrigin{SessionID: 1, Version: 1}, Security{}, rm.Layout)
	var s sdp.SessionDescription
	if err := s.UnmarshalString(string(body)); err != nil {
		t.Fatalf("answer does not parse: %v\n%s", err, body)
	}
	want := []struct {
		media   string
		port    int
		formats string
	}{{"video", 0, "96 97"}, {"audio", 20000, "0"}, {"video", 0, "96"}}
	if len(s.MediaDescriptions) != len(want) {
		t.Fatalf("answer has %d m-lines, want %d:\n%s", len(s.MediaDescriptions), len(want), body)
	}
	for i, w := range want {
		m := s.MediaDescriptions[i].MediaName
		if m.Media != w.media || m.Port.Value != w.port || strings.Join(m.Formats, " ") != w.formats {
			t.Errorf("m-line %d = %s %d %v, want %s %d %s", i, m.Media, m.Port.Value, m.Formats, w.media, w.port, w.formats)
		}
	}
	if strings.Count(string(body), "a=rtpmap:") != 1 || !strings.Contains(string(body), "a=sendrecv") {
		t.Errorf("attributes belong to the audio line only:\n%s", body)
	}
	again, err := ParseSDP(body)
	if err != nil || again.RTP.Port() != 20000 || again.Layout.Audio != 1 {
		t.Errorf("answer parsed back: %+v, %v", again, err)
	}
}
