package sip

import (
	"errors"
	"net/netip"
	"strconv"
	"strings"
	"testing"

	"github.com/switchboard-voice/switchboard/config"
	"github.com/switchboard-voice/switchboard/media"
	"github.com/switchboard-voice/switchboard/media/sdes"
)

func trunkWith(codecs []string, dtmf, srtp string) *Trunk {
	return &Trunk{Config: config.Trunk{Name: "t", Codecs: codecs, DTMF: dtmf, SRTP: srtp}}
}

func codecNames(d media.Description) string {
	var s []string
	for _, c := range d.Codecs {
		s = append(s, c.Name+"/"+strconv.Itoa(int(c.ClockRate))+":"+strconv.Itoa(int(c.PayloadType)))
	}
	return strings.Join(s, " ")
}

func TestBuildOffer(t *testing.T) {
	caller := &media.Description{Direction: media.SendRecv, Codecs: []media.Codec{
		{Name: "PCMU", PayloadType: 0, ClockRate: 8000},
		{Name: "PCMA", PayloadType: 8, ClockRate: 8000},
		{Name: "telephone-event", PayloadType: 101, ClockRate: 8000, Fmtp: "0-15"},
		{Name: "opus", PayloadType: 111, ClockRate: 48000, Channels: 2}, // a number the switch would like
	}}
	cases := []struct {
		name   string
		from   *media.Description
		trunk  *Trunk
		expect string
	}{
		{"relayable codecs keep the caller's numbers, in the trunk's order",
			caller, trunkWith([]string{"PCMA", "PCMU"}, "rfc4733", "off"),
			"PCMA/8000:8 PCMU/8000:0 telephone-event/8000:101"},
		{"a codec the caller lacks is added (transcoded), telephone-event per clock",
			&media.Description{Codecs: caller.Codecs[:3]}, trunkWith([]string{"opus"}, "rfc4733", "off"),
			"opus/48000:111 telephone-event/48000:110"},
		{"a taken payload type moves to a free dynamic one",
			&media.Description{Codecs: []media.Codec{{Name: "PCMU", PayloadType: 0, ClockRate: 8000}, {Name: "telephone-event", PayloadType: 111, ClockRate: 8000}}},
			trunkWith([]string{"PCMU", "opus"}, "rfc4733", "off"),
			"PCMU/8000:0 opus/48000:96 telephone-event/8000:111 telephone-event/48000:110"},
		{"info trunks get no telephone-event",
			caller, trunkWith([]string{"PCMU"}, "info", "off"), "PCMU/8000:0"},
		{"late offer: the trunk's codecs",
			nil, trunkWith([]string{"opus", "PCMU"}, "rfc4733", "off"),
			"opus/48000:111 PCMU/8000:0 telephone-event/48000:110 telephone-event/8000:101"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if got := codecNames(buildOffer(tc.from, tc.trunk)); got != tc.expect {
				t.Errorf("offer %q, want %q", got, tc.expect)
			}
		})
	}
}

func TestAnswerSecurity(t *testing.T) {
	key, err := sdes.Generate(1, sdes.AES128CMHMACSHA1_80)
	if err != nil {
		t.Fatal(err)
	}
	savp := RemoteMedia{Secure: true, Crypto: []sdes.Crypto{key}}
	avpWithKey := RemoteMedia{Crypto: []sdes.Crypto{key}}
	plain := RemoteMedia{}
	cases := []struct {
		policy  string
		rm      RemoteMedia
		refuse  bool
		srtp    bool
		profile bool // answer is RTP/SAVP
	}{
		{"off", savp, true, false, false},
		{"off", plain, false, false, false},
		{"off", avpWithKey, false, false, false}, // keys ignored: plain RTP
		{"optional", savp, false, true, true},
		{"optional", avpWithKey, false, true, false},
		{"optional", plain, false, false, false},
		{"required", savp, false, true, true},
		{"required", plain, true, false, false},
		{"required", RemoteMedia{Secure: true}, true, false, false}, // SAVP without a key
	}
	for _, tc := range cases {
		st, err := answerSecurity(tc.policy, tc.rm)
		sec, sess := st.sec, st.sess
		var refused errSRTPRefused
		if tc.refuse != errors.As(err, &refused) {
			t.Errorf("%s %+v: err %v, want refused=%v", tc.policy, tc.rm.Secure, err, tc.refuse)
			continue
		}
		if tc.refuse {
			continue
		}
		if (sess != nil) != tc.srtp || sec.SAVP != tc.profile {
			t.Errorf("%s secure=%v keys=%d: session %v SAVP %v, want %v %v", tc.policy, tc.rm.Secure, len(tc.rm.Crypto), sess != nil, sec.SAVP, tc.srtp, tc.profile)
		}
		if tc.srtp && (len(sec.Crypto) != 1 || sec.Crypto[0].Tag != key.Tag || string(sec.Crypto[0].Key) == string(key.Key)) {
			t.Errorf("%s: answer crypto %v: want one line, same tag, our own key", tc.policy, sec.Crypto)
		}
		if tc.srtp && (string(st.remoteKey) != string(key.Key) || !st.keeps(tc.rm)) {
			t.Errorf("%s: session not tied to the party's key", tc.policy)
		}
	}
}

func TestOfferSecurityAndAnswer(t *testing.T) {
	sec, err := offerSecurity("required")
	if err != nil || !sec.SAVP || len(sec.Crypto) != 2 {
		t.Fatalf("required offer: %+v %v", sec, err)
	}
	// The peer picks our second suite.
	theirs, _ := sdes.Generate(sec.Crypto[1].Tag, sec.Crypto[1].Suite)
	st, err := sessionFromAnswer("required", sec, RemoteMedia{Secure: true, Crypto: []sdes.Crypto{theirs}})
	if err != nil || st.sess == nil {
		t.Fatalf("answer with a key: %v", err)
	}
	if len(st.sec.Crypto) != 1 || st.sec.Crypto[0].Tag != theirs.Tag || string(st.remoteKey) != string(theirs.Key) {
		t.Errorf("answered state keeps %v (remote key match %v), want only our line with tag %d", st.sec.Crypto, string(st.remoteKey) == string(theirs.Key), theirs.Tag)
	}
	if _, err := sessionFromAnswer("required", sec, RemoteMedia{}); err == nil {
		t.Error("a plain answer to a required offer was accepted")
	}
	if st, err := sessionFromAnswer("optional", sec, RemoteMedia{}); err != nil || st.sess != nil || len(st.sec.Crypto) != 0 {
		t.Errorf("a plain answer to an optional offer: %v %v, want plain RTP", st.sess, err)
	}
	if sec, _ := offerSecurity("off"); sec.SAVP || len(sec.Crypto) != 0 {
		t.Errorf("off offers %+v", sec)
	}
	// The rendered SDP carries the profile and keys, and parses back.
	body := RenderSDP(media.Description{Codecs: []media.Codec{{Name: "PCMU", ClockRate: 8000}}}, netip.MustParseAddrPort("127.0.0.1:20000"), SDPOrigin{}, sec, Layout{})
	rm, err := ParseSDP(body)
	if err != nil || !rm.Secure || len(rm.Crypto) != 2 {
		t.Fatalf("rendered SRTP SDP parses to secure=%v crypto=%d (%v):\n%s", rm.Secure, len(rm.Crypto), err, body)
	}
}
