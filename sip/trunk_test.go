package sip

import (
	"net/netip"
	"testing"
	"time"

	"github.com/switchboard-voice/switchboard/config"
)

func TestTrunkACLAndNumbers(t *testing.T) {
	tr, err := NewTrunk(config.Trunk{Name: "c", Inbound: &config.Inbound{
		Allow:   []string{"198.51.100.0/24", "203.0.113.7", "2001:db8::/32"},
		Numbers: []string{"+4420*", "+15550100"},
	}})
	if err != nil {
		t.Fatal(err)
	}
	for ip, want := range map[string]bool{
		"198.51.100.1": true, "198.51.101.1": false, "203.0.113.7": true, "203.0.113.8": false,
		"2001:db8::5": true, "2001:db9::5": false, "::ffff:198.51.100.9": true,
	} {
		if got := tr.Allows(netip.MustParseAddr(ip)); got != want {
			t.Errorf("Allows(%s) = %v, want %v", ip, got, want)
		}
	}
	for n, want := range map[string]bool{"+442071234567": true, "442071234567": true, "+15550100": true, "+15550101": false} {
		if got := tr.Serves(n); got != want {
			t.Errorf("Serves(%s) = %v, want %v", n, got, want)
		}
	}
}

func TestTrunkChannels(t *testing.T) {
	tr, _ := NewTrunk(config.Trunk{Name: "c", MaxChannels: 2})
	if !tr.AcquireChannel() || !tr.AcquireChannel() {
		t.Fatal("first two channels refused")
	}
	if tr.AcquireChannel() {
		t.Fatal("third channel granted over max_channels 2")
	}
	tr.ReleaseChannel()
	if !tr.AcquireChannel() {
		t.Fatal("channel not reusable after release")
	}
	if tr.Channels() != 2 {
		t.Fatalf("channels = %d", tr.Channels())
	}
}

func TestRateLimiter(t *testing.T) {
	now := time.Unix(0, 0)
	l := NewRateLimiter(10)
	l.now = func() time.Time { return now }
	allowed := 0
	for range 50 {
		if l.Allow() {
			allowed++
		}
	}
	if allowed != 10 {
		t.Fatalf("burst allowed %d, want 10", allowed)
	}
	now = now.Add(500 * time.Millisecond)
	allowed = 0
	for range 50 {
		if l.Allow() {
			allowed++
		}
	}
	if allowed != 5 {
		t.Fatalf("after 0.5 s allowed %d, want 5", allowed)
	}
	if !NewRateLimiter(0).Allow() {
		t.Fatal("rate 0 must be unlimited")
	}
	slow := NewRateLimiter(0.5)
	slow.now = func() time.Time { return now }
	if !slow.Allow() {
		t.Fatal("rate 0.5 must allow a first call")
	}
}

// TestTrunkDialNumber: what reaches a trunk is its tech prefix and an E.164
// number or digits; wildcards, parameters and what the format leaves empty
// are refused.
func TestTrunkDialNumber(t *testing.T) {
	tr, err := NewTrunk(config.Trunk{Name: "c", Outbound: &config.Outbound{URI: "sip:198.51.100.1",
		NumberFormat: config.NumberFormat{TechPrefix: "99#", Strip: []string{"+44"}}}})
	if err != nil {
		t.Fatal(err)
	}
	for in, want := range map[string]string{"+442071234567": "99#2071234567", "+15550100": "99#15550100", "0800": "99#0800"} {
		if got, err := tr.DialNumber(in); err != nil || got != want {
			t.Errorf("DialNumber(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	for _, in := range []string{"+1555*", "1000;phone-context=+1900", "+44", "", "12#", "+1555?"} {
		if got, err := tr.DialNumber(in); err == nil {
			t.Errorf("DialNumber(%q) = %q, want an error", in, got)
		}
	}
	// A refused inbound called number is 484, even matching a pattern.
	in, _ := NewTrunk(config.Trunk{Name: "in", Inbound: &config.Inbound{Numbers: []string{"+1555*"}}})
	for _, n := range []string{"+1555*", "+1555;x=y"} {
		if r := in.CheckNumber(n); r == nil || r.Code != 484 {
			t.Errorf("CheckNumber(%q) = %+v, want 484", n, r)
		}
	}
	if r := in.CheckNumber("+15550100"); r != nil {
		t.Errorf("CheckNumber(+15550100) = %+v", r)
	}
}
