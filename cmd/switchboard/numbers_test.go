package main

import (
	"slices"
	"sync"
	"testing"

	"github.com/switchboard-voice/switchboard/config"
	"github.com/switchboard-voice/switchboard/sip/siptest"
)

// TestCalledNumbersNeverDialled: a called number with a wildcard or a URI
// parameter is refused (484) at the edge even where it matches the trunk's
// allowed patterns, and one a flow dials of its own is refused before the
// trunk: the far end (a real UA) receives no INVITE for any of them, only
// the valid call placed after them.
func TestCalledNumbersNeverDialled(t *testing.T) {
	h := newHarness(t, func(c *config.Config) {
		c.Trunks[0].Inbound.Numbers = []string{"+1555*", "1000*"}
		c.Routes = append([]config.Route{{Name: "fixed", Match: config.RouteMatch{To: "+15559999"}, Flow: "fixed"}}, c.Routes...)
		c.Flows["fixed"] = []config.Action{
			{Set: map[string]string{"n": "+1555*"}},
			{Dial: &config.DialAction{Trunk: "far-end", Number: "{{n}}"}},
		}
	})
	var (
		mu   sync.Mutex
		seen []string // called users of the INVITEs the far end received
	)
	got := make(chan string, 16)
	go func() {
		for in := range h.far.Incoming() {
			if in == nil {
				return
			}
			user := in.Request().Recipient.User
			mu.Lock()
			seen = append(seen, user)
			mu.Unlock()
			in.Reject(486, "Busy Here")
			got <- user
		}
	}()
	for _, tc := range []struct{ to, why string }{
		{"+1555*", "a wildcard matching the allowed +1555*"},
		{"+1555?", "a wildcard"},
		{"1000;phone-context=+1900", "a phone-context parameter on an allowed 1000*"},
		{"+15550100;user=phone", "a URI parameter in the user part"},
		{"+15559999", "a flow dialling +1555* of its own"},
	} {
		c, err := h.caller.Invite(h.ctx, h.target(tc.to), siptest.InviteOptions{})
		if err != nil {
			t.Fatalf("%s: %v", tc.to, err)
		}
		if c.Status() != 484 {
			t.Errorf("%s (%s): %d, want 484", tc.to, tc.why, c.Status())
		}
	}
	// A valid call after them reaches the far end: had any of the above
	// been sent, the far end would have seen it first.
	c, err := h.caller.Invite(h.ctx, h.target("+15550100"), siptest.InviteOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if c.Status() != 486 {
		t.Errorf("valid call: %d, want the far end's 486", c.Status())
	}
	select {
	case <-got:
	case <-h.ctx.Done():
		t.Fatal("the far end never received the valid call")
	}
	mu.Lock()
	defer mu.Unlock()
	if !slices.Equal(seen, []string{"+15550100"}) {
		t.Errorf("the far end received INVITEs for %q, want only +15550100", seen)
	}
}
