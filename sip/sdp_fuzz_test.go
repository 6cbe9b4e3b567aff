package sip

import (
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"testing"
)

// sdpSeeds are the SDP bodies of the repository's test vectors: the
// offers of sdp_test.go and every SDP in the SIPp scenarios and RFC 4475
// messages (real captures of what phones and carriers send).
func sdpSeeds(tb testing.TB) [][]byte {
	seeds := [][]byte{[]byte(offerPCMU), []byte(offerAudioVideo)}
	body := regexp.MustCompile(`(?s)v=0\r?\n.*?(?:\]\]>|\z)`)
	for _, glob := range []string{"../testdata/sipp/*.xml", "../testdata/rfc4475/*/*.sip"} {
		files, _ := filepath.Glob(glob)
		for _, name := range files {
			b, err := os.ReadFile(name)
			if err != nil {
				tb.Fatal(err)
			}
			for _, m := range body.FindAll(b, -1) {
				m = regexp.MustCompile(`\]\]>$`).ReplaceAll(m, nil)
				seeds = append(seeds, m)
			}
		}
	}
	return seeds
}

// FuzzSDPRoundTrip: what ParseSDP accepts, RenderSDP writes back (with the
// parsed description, address and layout) as an SDP that parses to the
// same description (codecs with their payload types, rates, channels and
// fmtp; direction; ptime; rtcp-mux), the same RTP address, the same
// m-lines, and the same profile's security; rendering that again gives the
// same bytes.
func FuzzSDPRoundTrip(f *testing.F) {
	for _, s := range sdpSeeds(f) {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		rm, err := ParseSDP(body)
		if err != nil {
			if !errors.Is(err, ErrBadSDP) {
				t.Fatalf("error not wrapping ErrBadSDP: %v", err)
			}
			return
		}
		if len(rm.Desc.Codecs) == 0 {
			return // a declined audio stream (port 0): nothing to answer with
		}
		sec := Security{SAVP: rm.Secure}
		out := RenderSDP(rm.Desc, rm.RTP, SDPOrigin{SessionID: 1, Version: 1}, sec, rm.Layout)
		again, err := ParseSDP(out)
		if err != nil {
			t.Fatalf("rendered SDP does not parse: %v\nfrom:\n%q\nrendered:\n%s", err, body, out)
		}
		if !reflect.DeepEqual(again.Desc, rm.Desc) {
			t.Fatalf("description %+v -> %+v\nfrom:\n%q\nrendered:\n%s", rm.Desc, again.Desc, body, out)
		}
		if again.RTP != rm.RTP || again.Secure != rm.Secure {
			t.Fatalf("RTP %s secure %v -> %s %v\nrendered:\n%s", rm.RTP, rm.Secure, again.RTP, again.Secure, out)
		}
		if again.Layout.Audio != rm.Layout.Audio || len(again.Layout.Streams) != len(rm.Layout.Streams) {
			t.Fatalf("m-lines %+v -> %+v", rm.Layout, again.Layout)
		}
		for i, s := range rm.Layout.Streams {
			if i != rm.Layout.Audio && !reflect.DeepEqual(again.Layout.Streams[i], s) && len(s.Formats) > 0 {
				t.Fatalf("declined m-line %d %+v -> %+v", i, s, again.Layout.Streams[i])
			}
		}
		if out2 := RenderSDP(again.Desc, again.RTP, SDPOrigin{SessionID: 1, Version: 1}, sec, again.Layout); string(out2) != string(out) {
			t.Fatalf("rendering is not stable:\n%s\nthen:\n%s", out, out2)
		}
	})
}
