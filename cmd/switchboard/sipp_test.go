package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/switchboard-voice/switchboard/config"
	"github.com/switchboard-voice/switchboard/sip/siptest"
)

// requireSIPp returns sipp's path; without it the test fails under CI=true
// and is skipped on a developer's machine.
func requireSIPp(t *testing.T) string {
	t.Helper()
	p, err := exec.LookPath("sipp")
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal("sipp is not installed (apt-get install sip-tester)")
		}
		t.Skip("sipp not installed")
	}
	return p
}

// sipp is one running SIPp instance.
type sipp struct {
	name string
	cmd  *exec.Cmd
	out  bytes.Buffer
	done chan error
}

// startSIPp runs sipp from testdata/sipp (scenarios open their tone files
// relative to it), bounded by ctx.
func startSIPp(t *testing.T, ctx context.Context, name string, args ...string) *sipp {
	t.Helper()
	dir, err := filepath.Abs("../../testdata/sipp")
	if err != nil {
		t.Fatal(err)
	}
	s := &sipp{name: name, done: make(chan error, 1)}
	args = append(args, "-nostdin", "-trace_err", "-error_file", filepath.Join(t.TempDir(), name+"_errors.log"))
	s.cmd = exec.CommandContext(ctx, requireSIPp(t), args...)
	s.cmd.Dir = dir
	s.cmd.Stdout = &s.out
	s.cmd.Stderr = &s.out
	if err := s.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { s.done <- s.cmd.Wait() }()
	t.Cleanup(func() { _ = s.cmd.Process.Kill() })
	return s
}

// wait returns sipp's exit code (0: every call succeeded).
func (s *sipp) wait(t *testing.T, timeout time.Duration) int {
	t.Helper()
	select {
	case err := <-s.done:
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			return ee.ExitCode()
		}
		if err != nil {
			t.Fatalf("%s: %v", s.name, err)
		}
		return 0
	case <-time.After(timeout):
		_ = s.cmd.Process.Kill()
		t.Fatalf("%s did not finish within %v", s.name, timeout)
		return -1
	}
}

// sippCall runs a UAC scenario through the switch against a UAS scenario as
// the far end and returns both exit codes.
type sippCase struct {
	uac, uas  []string // extra arguments
	calls     int
	mutate    func(c *config.Config)
	wantUAC   int
	wantUAS   int
	uasAbsent bool // the UAS sees no call (e.g. the switch refuses it)
}

func runSIPpCase(t *testing.T, tc sippCase) *harness {
	t.Helper()
	requireSIPp(t)
	uasPort, uasMedia, uacPort, uacMedia := freePort(t), freePorts(t, 4), freePort(t), freePorts(t, 4)
	h := newHarness(t, func(c *config.Config) {
		c.Trunks[1].Outbound.URI = fmt.Sprintf("sip:127.0.0.1:%d;transport=udp", uasPort)
		if tc.mutate != nil {
			tc.mutate(c)
		}
	})
	n := strconv.Itoa(tc.calls)
	ctx, cancel := context.WithTimeout(h.ctx, 45*time.Second)
	defer cancel()
	var uas *sipp
	if !tc.uasAbsent {
		uas = startSIPp(t, ctx, "uas", append([]string{"-i", "127.0.0.1", "-p", strconv.Itoa(uasPort),
			"-mi", "127.0.0.1", "-mp", strconv.Itoa(uasMedia), "-m", n, "-timeout", "40", "-timeout_error"}, tc.uas...)...)
		time.Sleep(300 * time.Millisecond) // let it bind
	}
	uac := startSIPp(t, ctx, "uac", append([]string{h.sip, "-s", "+15550100", "-i", "127.0.0.1", "-p", strconv.Itoa(uacPort),
		"-mi", "127.0.0.1", "-mp", strconv.Itoa(uacMedia), "-m", n, "-r", n, "-timeout", "40", "-timeout_error"}, tc.uac...)...)
	if got := uac.wait(t, 45*time.Second); got != tc.wantUAC {
		t.Errorf("uac exit %d, want %d\n%s", got, tc.wantUAC, tail(uac.out.String(), 2000))
	}
	if uas != nil {
		if got := uas.wait(t, 45*time.Second); got != tc.wantUAS {
			t.Errorf("uas exit %d, want %d\n%s", got, tc.wantUAS, tail(uas.out.String(), 2000))
		}
	}
	return h
}

func tail(s string, n int) string {
	if len(s) > n {
		return s[len(s)-n:]
	}
	return s
}

// TestSIPpCallsWithRTP: SIPp carrier → switch → SIPp far end echoing RTP.
func TestSIPpCallsWithRTP(t *testing.T) {
	h := runSIPpCase(t, sippCase{
		uac:   []string{"-sf", "uac.xml", "-d", "2000"},
		uas:   []string{"-sf", "uas_echo.xml", "-rtp_echo"},
		calls: 3,
	})
	relayed, _ := strconv.ParseFloat(h.metric("switchboard_rtp_packets_relayed_total"), 64)
	// 3 calls × ~2 s × 50 packets/s, out and echoed back: ~600; allow start-up slack.
	if relayed < 400 {
		t.Errorf("RTP packets relayed = %v, want ≥ 400", relayed)
	}
	h.waitMetric(`switchboard_calls_total{result="answered"}`, "3")
}

func TestSIPpDigestAuth(t *testing.T) {
	auth := func(c *config.Config) {
		c.Trunks[0].Inbound = &config.Inbound{Auth: &config.Auth{Username: "carrier", Password: "secret"}}
	}
	runSIPpCase(t, sippCase{
		uac:    []string{"-sf", "uac_auth.xml", "-au", "carrier", "-ap", "secret", "-d", "500"},
		uas:    []string{"-sf", "uas_echo.xml", "-rtp_echo"},
		calls:  2,
		mutate: auth,
	})
	// A wrong password is refused after the challenge: the far end sees nothing.
	runSIPpCase(t, sippCase{
		uac:       []string{"-sf", "uac_auth.xml", "-au", "carrier", "-ap", "wrong", "-d", "500"},
		calls:     1,
		mutate:    auth,
		wantUAC:   1,
		uasAbsent: true,
	})
}

func TestSIPpCancel(t *testing.T) {
	runSIPpCase(t, sippCase{
		uac:   []string{"-sf", "uac_cancel.xml"},
		uas:   []string{"-sf", "uas_cancel.xml"},
		calls: 2,
	})
}

func TestSIPpBusy(t *testing.T) {
	runSIPpCase(t, sippCase{
		uac:   []string{"-sf", "uac_busy.xml"},
		uas:   []string{"-sf", "uas_busy.xml"},
		calls: 2,
	})
}

func TestSIPpHoldFromCaller(t *testing.T) {
	runSIPpCase(t, sippCase{
		uac:   []string{"-sf", "uac_hold.xml", "-d", "700"},
		uas:   []string{"-sf", "uas_echo.xml", "-rtp_echo"},
		calls: 1,
	})
}

func TestSIPpHoldFromFarEnd(t *testing.T) {
	runSIPpCase(t, sippCase{
		uac:   []string{"-sf", "uac.xml", "-d", "3000"},
		uas:   []string{"-sf", "uas_hold.xml", "-rtp_echo"},
		calls: 1,
	})
}

// TestSIPpDTMFInterop: SIPp as the carrier keys 5 from its own RFC 2833
// capture and 7 as SIP INFO; the far end, a Go UA speaking Opus with
// telephone-event/48000, receives both as RFC 4733, each exactly once.
func TestSIPpDTMFInterop(t *testing.T) {
	requireSIPp(t)
	const pcap = "/usr/share/sip-tester/dtmf_2833_5.pcap"
	if _, err := os.Stat(pcap); err != nil {
		t.Fatalf("SIPp's DTMF capture is missing (sip-tester package): %v", err)
	}
	h := newHarness(t, transcodeConfig(t))
	farCall := h.answerNextWith(siptest.AnswerOptions{ToneHz: 1500, Codecs: []string{"opus"}})
	uacPort, uacMedia := freePort(t), freePorts(t, 4)
	uac := startSIPp(t, h.ctx, "uac", h.sip, "-sf", "uac_dtmf.xml", "-s", "+15550100", "-i", "127.0.0.1",
		"-p", strconv.Itoa(uacPort), "-mi", "127.0.0.1", "-mp", strconv.Itoa(uacMedia), "-m", "1",
		"-key", "dtmf_pcap", pcap, "-timeout", "30", "-timeout_error")
	fc := h.waitCall(farCall)
	got := waitDigits(t, fc, 2, "far end")
	if s := digitString(got); s != "57" {
		t.Errorf("far end got %q, want 57", s)
	}
	for _, d := range got {
		if d.Via != siptest.ViaRFC4733 {
			t.Errorf("far end got %c via %s, want rfc4733", d.Digit, d.Via)
		}
	}
	if code := uac.wait(t, 20*time.Second); code != 0 {
		t.Errorf("sipp uac exit %d\n%s", code, tail(uac.out.String(), 2000))
	}
	waitEnded(t, fc, "far end")
	if n := len(fc.Digits()); n != 2 {
		t.Errorf("far end has %d digits, want 2 (not doubled)", n)
	}
}
