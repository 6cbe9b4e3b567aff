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
