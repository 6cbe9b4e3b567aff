package siptest

import (
	"context"
	"math"
	"net"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/emiago/sipgo/sip"
)

// call sets up a call from ua1 to ua2 with the given options and returns
// both ends.
func call(t *testing.T, ctx context.Context, ua1, ua2 *UA, io InviteOptions, ao AnswerOptions) (c1, c2 *Call) {
	t.Helper()
	ans := answerNext(ctx, ua2, ao, nil)
	c1, err := ua1.Invite(ctx, ua2.URI("bob"), io)
	if err != nil {
		t.Fatal(err)
	}
	if c1.Status() != 200 {
		t.Fatalf("status %d", c1.Status())
	}
	c2 = waitAnswered(t, ctx, ans).call
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		c1.Hangup(ctx)
	})
	return c1, c2
}

func TestOpusCall(t *testing.T) {
	t.Parallel()
	ctx, ua1, ua2 := newPair(t, "udp")
	c1, c2 := call(t, ctx, ua1, ua2,
		InviteOptions{ToneHz: 1000, Codecs: []string{"OPUS"}},
		AnswerOptions{ToneHz: 1500, Codecs: []string{"opus"}})
	for _, want := range []string{
		"m=audio ", " RTP/AVP 111 110",
		"a=rtpmap:111 opus/48000/2",
		"a=fmtp:111 minptime=10;useinbandfec=1",
		"a=rtpmap:110 telephone-event/48000",
	} {
		if !strings.Contains(c1.LocalSDP(), want) || !strings.Contains(c2.LocalSDP(), want) {
			t.Errorf("SDP lacks %q:\n%s\n%s", want, c1.LocalSDP(), c2.LocalSDP())
		}
	}
	if strings.Contains(c1.LocalSDP(), "PCMU") || strings.Contains(c1.LocalSDP(), "/8000") {
		t.Errorf("Opus-only offer has an 8 kHz format:\n%s", c1.LocalSDP())
	}
	if c1.Codec() != "opus" || c2.Codec() != "opus" {
		t.Errorf("codecs %q/%q, want opus", c1.Codec(), c2.Codec())
	}
	if pt, clock, ok := c1.TelephoneEvent(); !ok || pt != 110 || clock != 48000 {
		t.Errorf("telephone-event %d/%d %v", pt, clock, ok)
	}
	checkTones(t, ctx, c1, c2, 1000, 1500)
	if c1.SRTP() || c2.SRTP() {
		t.Error("plain call reports SRTP")
	}
	// The receiver decodes Opus at 48 kHz.
	c2.media.mu.Lock()
	rate := c2.media.detRate
	c2.media.mu.Unlock()
	if rate != 48000 {
		t.Errorf("detector at %d Hz, want 48000", rate)
	}
}

// TestCodecChangeMidCall: the call starts on PCMU, then the callee's
// re-INVITE offers Opus first and both sides switch (payload type 0 -> 111,
// telephone-event 101 -> 110).
func TestCodecChangeMidCall(t *testing.T) {
	t.Parallel()
	ctx, ua1, ua2 := newPair(t, "udp")
	c1, c2 := call(t, ctx, ua1, ua2,
		InviteOptions{ToneHz: 1000, Codecs: []string{"PCMU", "opus"}},
		AnswerOptions{ToneHz: 1500, Codecs: []string{"opus", "PCMU"}})
	if c1.Codec() != "PCMU" || c2.Codec() != "PCMU" {
		t.Fatalf("codecs %q/%q, want PCMU (the offerer's first)", c1.Codec(), c2.Codec())
	}
	if pt, clock, _ := c2.TelephoneEvent(); pt != 101 || clock != 8000 {
		t.Errorf("telephone-event %d/%d, want 101/8000", pt, clock)
	}
	checkTones(t, ctx, c1, c2, 1000, 1500)

	if _, err := c2.Reinvite(ctx, SendRecv); err != nil {
		t.Fatal(err)
	}
	<-c1.Reinvites()
	if c1.Codec() != "opus" || c2.Codec() != "opus" {
		t.Fatalf("after re-INVITE codecs %q/%q, want opus", c1.Codec(), c2.Codec())
	}
	if pt, clock, _ := c1.TelephoneEvent(); pt != 110 || clock != 48000 {
		t.Errorf("telephone-event %d/%d, want 110/48000", pt, clock)
	}
	time.Sleep(100 * time.Millisecond) // G.711 in flight
	c1.ResetAudio()
	c2.ResetAudio()
	checkTones(t, ctx, c1, c2, 1000, 1500)
	for _, c := range []*Call{c1, c2} {
		c.media.mu.Lock()
		rate := c.media.detRate
		c.media.mu.Unlock()
		if rate != 48000 {
			t.Errorf("detector at %d Hz after the switch to Opus", rate)
		}
	}
	if err := c1.SendDTMF(ctx, '7', 60*time.Millisecond); err != nil {
		t.Fatal(err)
	}
	if d, err := c2.WaitDigits(ctx, 1); err != nil || d[0].Digit != '7' {
		t.Errorf("digits %v: %v", d, err)
	}
}

func TestSRTP(t *testing.T) {
	for _, tc := range []struct {
		name   string
		codecs []string
		noSDP  bool
	}{
		{"opus", []string{"opus"}, false},
		{"pcmu", []string{"PCMU"}, false},
		{"opus-late-offer", []string{"opus"}, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			ctx, ua1, ua2 := newPair(t, "udp")
			c1, c2 := call(t, ctx, ua1, ua2,
				InviteOptions{ToneHz: 1000, Codecs: tc.codecs, SRTP: SRTPSDES, NoSDP: tc.noSDP},
				AnswerOptions{ToneHz: 1500, Codecs: tc.codecs, SRTP: SRTPSDES})
			for _, sdp := range []string{c1.LocalSDP(), c2.LocalSDP()} {
				if !strings.Contains(sdp, " RTP/SAVP ") || !strings.Contains(sdp, "a=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:") {
					t.Errorf("SDP is not SDES-SRTP:\n%s", sdp)
				}
			}
			if !c1.SRTP() || !c2.SRTP() {
				t.Fatalf("SRTP: caller %v callee %v", c1.SRTP(), c2.SRTP())
			}
			checkTones(t, ctx, c1, c2, 1000, 1500)

			// Hold and resume keep the keys and the media.
			if _, err := c1.Hold(ctx); err != nil {
				t.Fatal(err)
			}
			<-c2.Reinvites()
			if _, err := c1.Resume(ctx); err != nil {
				t.Fatal(err)
			}
			<-c2.Reinvites()
			c1.ResetAudio()
			if err := c1.WaitTone(ctx, 1500); err != nil {
				t.Errorf("after resume: %v", err)
			}

			// What is on the wire is not plain RTP: a receiver that does
			// not decrypt hears no tone although packets keep coming.
			c2.media.mu.Lock()
			c2.media.srtp, c2.media.requireSRTP = nil, false
			c2.media.mu.Unlock()
			c2.ResetAudio()
			_, before := c2.RTPStats()
			time.Sleep(400 * time.Millisecond)
			if _, after := c2.RTPStats(); after-before < 5 {
				t.Errorf("only %d packets in 400 ms", after-before)
			}
			if c2.Hears(1000) {
				t.Errorf("the tone is heard without decryption (relative power %.2f)", c2.ReceivedTone(1000))
			}
		})
	}
}

func TestSRTPRefused(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name     string
		caller   SRTPMode
		callee   SRTPMode
		wantCode int
	}{
		{"savp-to-plain", SRTPSDES, SRTPNone, 488},
		{"avp-to-srtp-only", SRTPNone, SRTPSDES, 488},
	} {
		ctx, ua1, ua2 := newPair(t, "udp")
		ans := answerNext(ctx, ua2, AnswerOptions{ToneHz: 1500, SRTP: tc.callee}, nil)
		c1, err := ua1.Invite(ctx, ua2.URI("bob"), InviteOptions{ToneHz: 1000, SRTP: tc.caller})
		if err != nil {
			t.Fatal(err)
		}
		if c1.Status() != tc.wantCode {
			t.Errorf("%s: status %d, want %d", tc.name, c1.Status(), tc.wantCode)
		}
		if a := <-ans; a.err == nil {
			t.Errorf("%s: Answer succeeded", tc.name)
		}
	}
	if _, err := newLocalCrypto("dtls"); err == nil {
		t.Error("unknown SRTP mode accepted")
	}
}

func TestDTMFRFC4733(t *testing.T) {
	for _, tc := range []struct {
		codec string
		pt    uint8
		clock int
	}{
		{"PCMU", 101, 8000},
		{"opus", 110, 48000},
	} {
		t.Run(tc.codec, func(t *testing.T) {
			t.Parallel()
			ctx, ua1, ua2 := newPair(t, "udp")
			c1, c2 := call(t, ctx, ua1, ua2,
				InviteOptions{ToneHz: 1000, Codecs: []string{tc.codec}},
				AnswerOptions{ToneHz: 1500, Codecs: []string{tc.codec}})
			want := "a=rtpmap:" + itoa(int(tc.pt)) + " telephone-event/" + itoa(tc.clock)
			if !strings.Contains(c2.LocalSDP(), want) {
				t.Errorf("answer lacks %q:\n%s", want, c2.LocalSDP())
			}
			checkTones(t, ctx, c1, c2, 1000, 1500)
			durations := []time.Duration{100 * time.Millisecond, 60 * time.Millisecond, 200 * time.Millisecond}
			for i, r := range "1#9" {
				if err := c1.SendDTMF(ctx, r, durations[i]); err != nil {
					t.Fatal(err)
				}
			}
			checkDigits(t, ctx, c2, "1#9", ViaRFC4733, durations)
			// The other way, from the answerer.
			if err := c2.SendDTMF(ctx, '*', 80*time.Millisecond); err != nil {
				t.Fatal(err)
			}
			checkDigits(t, ctx, c1, "*", ViaRFC4733, []time.Duration{80 * time.Millisecond})
			// Events replace the audio and are not decoded as audio: the
			// tone is still what the receiver hears.
			if err := c2.WaitTone(ctx, 1000); err != nil {
				t.Error(err)
			}
			if err := c1.SendDTMF(ctx, 'x', 0); err == nil {
				t.Error("invalid digit accepted")
			}
		})
	}
}

func TestDTMFNotNegotiated(t *testing.T) {
	t.Parallel()
	ctx, ua1, ua2 := newPair(t, "udp")
	c1, c2 := call(t, ctx, ua1, ua2,
		InviteOptions{ToneHz: 1000},
		AnswerOptions{ToneHz: 1500, NoTelephoneEvent: true})
	if strings.Contains(c2.LocalSDP(), "telephone-event") {
		t.Errorf("answer has telephone-event:\n%s", c2.LocalSDP())
	}
	if !strings.Contains(c1.LocalSDP(), "telephone-event/8000") {
		t.Errorf("offer lacks telephone-event:\n%s", c1.LocalSDP())
	}
	if _, _, ok := c1.TelephoneEvent(); ok {
		t.Error("telephone-event negotiated")
	}
	if err := c1.SendDTMF(ctx, '1', 0); err == nil {
		t.Error("SendDTMF without telephone-event succeeded")
	}
	// INFO still works.
	if err := c1.SendDTMFInfo(ctx, '5', 0); err != nil {
		t.Fatal(err)
	}
	checkDigits(t, ctx, c2, "5", ViaINFO, []time.Duration{100 * time.Millisecond}) // FormatInfo: 0 -> 100 ms
}

func TestDTMFInfo(t *testing.T) {
	t.Parallel()
	ctx, ua1, ua2 := newPair(t, "udp")
	c1, c2 := call(t, ctx, ua1, ua2, InviteOptions{ToneHz: 1000}, AnswerOptions{ToneHz: 1500})
	durations := []time.Duration{100 * time.Millisecond, 250 * time.Millisecond, 160 * time.Millisecond}
	for i, r := range "1#9" {
		if err := c1.SendDTMFInfo(ctx, r, durations[i]); err != nil {
			t.Fatal(err)
		}
	}
	checkDigits(t, ctx, c2, "1#9", ViaINFO, durations)
	if err := c2.SendDTMFInfo(ctx, 'D', 120*time.Millisecond); err != nil {
		t.Fatal(err)
	}
	checkDigits(t, ctx, c1, "D", ViaINFO, []time.Duration{120 * time.Millisecond})

	// application/dtmf (the signal alone), and a malformed relay body.
	send := func(ct, body string) *sip.Response {
		c1.mu.Lock()
		c1.localSeq++
		req := c1.newRequestLocked(sip.INFO, c1.localSeq)
		c1.mu.Unlock()
		h := sip.ContentTypeHeader(ct)
		req.AppendHeader(&h)
		setBody(req, []byte(body))
		res, err := c1.ua.cli.Do(ctx, req)
		if err != nil {
			t.Fatal(err)
		}
		return res
	}
	if res := send("application/dtmf", "7\r\n"); res.StatusCode != 200 {
		t.Errorf("application/dtmf: %d", res.StatusCode)
	}
	if res := send("application/dtmf-relay", "Duration=100\r\n"); res.StatusCode != 400 {
		t.Errorf("relay without Signal: %d, want 400", res.StatusCode)
	}
	if res := send("text/plain", "hello"); res.StatusCode != 200 {
		t.Errorf("other INFO: %d, want 200", res.StatusCode)
	}
	checkDigits(t, ctx, c2, "1#97", ViaINFO, append(durations, 0))
}

// checkDigits waits for len(want) digits on c and checks them, then that no
// more arrive.
func checkDigits(t *testing.T, ctx context.Context, c *Call, want, via string, durations []time.Duration) {
	t.Helper()
	wctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	got, err := c.WaitDigits(wctx, len([]rune(want)))
	if err != nil {
		t.Fatalf("digits %v: %v", got, err)
	}
	time.Sleep(150 * time.Millisecond) // late end packets, duplicates
	if got = c.Digits(); len(got) != len([]rune(want)) {
		t.Fatalf("digits %v, want %q once each", got, want)
	}
	for i, r := range want {
		g := got[i]
		if g.Digit != r || g.Via != via {
			t.Errorf("digit %d: %c via %s, want %c via %s", i, g.Digit, g.Via, r, via)
		}
		if d := g.Duration - durations[i]; d < -20*time.Millisecond || d > 20*time.Millisecond {
			t.Errorf("digit %c: duration %v, want about %v", g.Digit, g.Duration, durations[i])
		}
	}
}

func TestImpairment(t *testing.T) {
	t.Run("loss", func(t *testing.T) {
		t.Parallel()
		ctx, ua1, ua2 := newPair(t, "udp")
		c1, c2 := call(t, ctx, ua1, ua2, InviteOptions{ToneHz: 1000}, AnswerOptions{ToneHz: 1500})
		checkTones(t, ctx, c1, c2, 1000, 1500)
		c1.SetImpairment(Impairment{Loss: 0.2, Seed: 42})
		time.Sleep(100 * time.Millisecond)
		sent0, drop0 := rtpSent(c1)
		_, recv0 := c2.RTPStats()
		time.Sleep(3 * time.Second)
		sent1, drop1 := rtpSent(c1)
		_, recv1 := c2.RTPStats() // loopback: next to nothing in flight
		generated := (sent1 - sent0) + (drop1 - drop0)
		recv := recv1 - recv0
		ratio := float64(recv) / float64(generated)
		t.Logf("generated %d, dropped %d, received %d (%.2f)", generated, drop1-drop0, recv, ratio)
		if generated < 120 {
			t.Fatalf("only %d packets generated in 3 s", generated)
		}
		if math.Abs(ratio-0.8) > 0.03 {
			t.Errorf("received %.2f of the packets, want about 0.80", ratio)
		}
		if d := recv - (sent1 - sent0); d < -5 || d > 5 {
			t.Errorf("received %d, sent %d: dropped packets counted as sent?", recv, sent1-sent0)
		}
		c2.ResetAudio()
		if err := c2.WaitTone(ctx, 1000); err != nil {
			t.Errorf("with 20%% loss: %v", err)
		}
		// DTMF survives loss of some of its packets (the end is sent 3x).
		if err := c1.SendDTMF(ctx, '3', 120*time.Millisecond); err != nil {
			t.Fatal(err)
		}
		if d, err := c2.WaitDigits(ctx, 1); err != nil || d[0].Digit != '3' {
			t.Errorf("digits %v: %v", d, err)
		}
	})
	t.Run("jitter", func(t *testing.T) {
		t.Parallel()
		ctx, ua1, ua2 := newPair(t, "udp")
		c1, c2 := call(t, ctx, ua1, ua2,
			InviteOptions{ToneHz: 1000, Codecs: []string{"opus"}, SRTP: SRTPSDES},
			AnswerOptions{ToneHz: 1500, Codecs: []string{"opus"}, SRTP: SRTPSDES})
		checkTones(t, ctx, c1, c2, 1000, 1500)
		c1.SetImpairment(Impairment{Jitter: 80 * time.Millisecond, Seed: 7})
		time.Sleep(200 * time.Millisecond)
		sent0, _ := rtpSent(c1)
		_, recv0 := c2.RTPStats()
		time.Sleep(2 * time.Second)
		c1.SetImpairment(Impairment{}) // the queue drains
		time.Sleep(200 * time.Millisecond)
		sent1, drop := rtpSent(c1)
		_, recv1 := c2.RTPStats()
		if drop != 0 {
			t.Errorf("%d dropped without loss", drop)
		}
		// Reordered SRTP still verifies (replay window), nothing is lost.
		if s, r := sent1-sent0, recv1-recv0; s < 90 || r < s-5 || r > s+5 {
			t.Errorf("sent %d received %d", s, r)
		}
		c2.ResetAudio()
		if err := c2.WaitTone(ctx, 1000); err != nil {
			t.Error(err)
		}
	})
}

func rtpSent(c *Call) (sent, dropped int) {
	sent, _ = c.RTPStats()
	return sent, c.RTPDropped()
}

func itoa(i int) string { return strconv.Itoa(i) }

func TestRTCPReceived(t *testing.T) {
	t.Parallel()
	ctx, ua1, ua2 := newPair(t, "udp")
	c1, c2 := call(t, ctx, ua1, ua2, InviteOptions{ToneHz: 1000}, AnswerOptions{ToneHz: 1500})
	checkTones(t, ctx, c1, c2, 1000, 1500)
	// Muxed RTCP is always tested; RTCP on port+1 when the UA got the pair
	// (it falls back to one socket when port+1 is taken).
	targets, want := 1, 1
	if c1.media.rtcpConn != nil {
		targets, want = 3, 3
	}
	conn, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	rtpAddr, _ := net.ResolveUDPAddr("udp", c1.RTPAddr())
	rtcpAddr := &net.UDPAddr{IP: rtpAddr.IP, Port: rtpAddr.Port + 1}
	rr := []byte{0x80, 201, 0, 1, 1, 2, 3, 4} // empty receiver report
	_, recv0 := c1.RTPStats()
	for _, a := range []*net.UDPAddr{rtpAddr, rtcpAddr, rtcpAddr}[:targets] {
		if _, err := conn.WriteToUDP(rr, a); err != nil {
			t.Fatal(err)
		}
	}
	deadline := time.Now().Add(2 * time.Second)
	for c1.RTCPReceived() < want && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if n := c1.RTCPReceived(); n != want {
		t.Errorf("RTCPReceived %d, want %d (1 muxed, the rest on port+1)", n, want)
	}
	// Muxed RTCP is not counted as RTP: about 50 packets a second arrive.
	if _, recv1 := c1.RTPStats(); recv1-recv0 > 120 {
		t.Errorf("%d RTP packets in at most 2 s", recv1-recv0)
	}
	if c2.RTCPReceived() != 0 {
		t.Errorf("callee counted %d RTCP packets", c2.RTCPReceived())
	}
}
