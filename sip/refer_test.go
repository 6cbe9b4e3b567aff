package sip

import (
	"context"
	"io"
	"log/slog"
	"net/netip"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/emiago/sipgo/sip"

	"github.com/switchboard-voice/switchboard/call"
	"github.com/switchboard-voice/switchboard/config"
	"github.com/switchboard-voice/switchboard/media"
	"github.com/switchboard-voice/switchboard/sip/siptest"
)

// referCall sets up a switch whose trunk has refer set to refer, and an
// answered call from the test UA to it. The switch's leg is returned: its
// owner (the test) reads its events itself, or not at all.
func referCall(t *testing.T, ctx context.Context, refer string, portMin int) (*InboundLeg, *siptest.Call) {
	t.Helper()
	cfg := config.Default()
	cfg.SIP.Listen = []string{"udp://127.0.0.1:0"}
	cfg.Trunks = []config.Trunk{{Name: "carrier", Refer: refer, Inbound: &config.Inbound{Allow: []string{"127.0.0.0/8"}}}}
	cfg.ApplyDefaults()
	ports, err := media.NewPortAllocator(media.PortAllocatorOptions{IP: netip.MustParseAddr("127.0.0.1"), Min: portMin, Max: portMin + 19})
	if err != nil {
		t.Fatal(err)
	}
	legs := make(chan *InboundLeg, 1)
	handler := HandlerFunc(func(ctx context.Context, leg *InboundLeg) {
		d := leg.Offer().Clone()
		d.Codecs = d.Audio()[:1]
		if _, err := leg.Answer(ctx, d); err != nil {
			t.Errorf("answer: %v", err)
			return
		}
		legs <- leg
		select {
		case <-leg.Done():
		case <-ctx.Done():
		}
	})
	s, err := NewServer(Options{Config: cfg, Ports: ports, Handler: handler, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Start(ctx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	addr, _ := s.Addr("udp")
	ua, err := siptest.NewUA(ctx, siptest.Options{ListenAddr: "127.0.0.1:0"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ua.Close() })
	c, err := ua.Invite(ctx, "sip:+15550100@"+addr, siptest.InviteOptions{})
	if err != nil || c.Status() != 200 {
		t.Fatalf("invite: %v (status %d)", err, c.Status())
	}
	select {
	case leg := <-legs:
		return leg, c
	case <-ctx.Done():
		t.Fatal("the call did not reach its handler")
	}
	return nil, nil
}

// nextRefer reads the leg's next event, which must be a call.Refer.
func nextRefer(t *testing.T, ctx context.Context, leg *InboundLeg) call.Refer {
	t.Helper()
	select {
	case ev := <-leg.Events():
		r, ok := ev.(call.Refer)
		if !ok {
			t.Fatalf("event %T, want call.Refer", ev)
		}
		return r
	case <-ctx.Done():
		t.Fatal("no call.Refer event")
	}
	return call.Refer{}
}

// nextNotify reads the next NOTIFY the UA received and checks its status
// line, Event and Subscription-State (prefix).
func nextNotify(t *testing.T, ctx context.Context, c *siptest.Call, code int, event, state string) *sip.Request {
	t.Helper()
	var n *sip.Request
	select {
	case n = <-c.Notifies():
	case <-ctx.Done():
		t.Fatalf("no NOTIFY (want %d)", code)
	}
	got, _, err := parseSipfragStatus(n.Body())
	if err != nil || got != code {
		t.Errorf("NOTIFY body %q: %d %v, want %d", n.Body(), got, err, code)
	}
	if h := n.GetHeader("Event"); h == nil || h.Value() != event {
		t.Errorf("NOTIFY Event %v, want %q", h, event)
	}
	if h := n.GetHeader("Subscription-State"); h == nil || !strings.HasPrefix(h.Value(), state) {
		t.Errorf("NOTIFY Subscription-State %v, want %q...", h, state)
	}
	if h := n.GetHeader("Content-Type"); h == nil || !strings.HasPrefix(h.Value(), "message/sipfrag") {
		t.Errorf("NOTIFY Content-Type %v, want message/sipfrag", h)
	}
	return n
}

// TestReferDeclinedByDefault: a trunk without refer: allow answers REFER
// 603 and the call gets no event.
func TestReferDeclinedByDefault(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	leg, c := referCall(t, ctx, "", 43200)
	res, err := c.Refer(ctx, "<sip:+15550142@example.com>", nil)
	if err != nil || res.StatusCode != 603 {
		t.Fatalf("REFER on a default trunk: %v %v, want 603", res, err)
	}
	if n := len(leg.Events()); n != 0 {
		t.Errorf("%d events after a declined REFER", n)
	}
	if err := c.Hangup(ctx); err != nil {
		t.Fatal(err)
	}
}

// TestReferAccepted: with refer: allow, a REFER to a sip: URI gets 202,
// the call reads call.Refer (target, URI, Referred-By), and the peer gets
// NOTIFY 100 Trying, the provisional and final statuses the call reports,
// and nothing after the final one. A second REFER in the dialog (to a tel:
// URI) gets NOTIFYs with Event: refer;id=<its CSeq> (RFC 3515 §2.4.6).
func TestReferAccepted(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	leg, c := referCall(t, ctx, "allow", 43220)

	res, err := c.Refer(ctx, "<sip:+15550142@example.com>", map[string]string{"Referred-By": `"Agent" <sip:+15550100@carrier.example>;cid=x`})
	if err != nil || res.StatusCode != 202 {
		t.Fatalf("REFER: %v %v, want 202", res, err)
	}
	r := nextRefer(t, ctx, leg)
	if r.Target != "+15550142" || r.URI != "sip:+15550142@example.com" || r.ReferredBy != "sip:+15550100@carrier.example" {
		t.Errorf("Refer %+v", r)
	}
	first := nextNotify(t, ctx, c, 100, "refer", "active;expires=")
	r.Notify(180, "Ringing")
	nextNotify(t, ctx, c, 180, "refer", "active;expires=")
	r.Notify(200, "OK")
	last := nextNotify(t, ctx, c, 200, "refer", "terminated;reason=noresource")
	if first.CSeq().SeqNo >= last.CSeq().SeqNo {
		t.Errorf("NOTIFY CSeq %d then %d", first.CSeq().SeqNo, last.CSeq().SeqNo)
	}
	r.Notify(486, "Busy Here") // after the final status: nothing

	res, err = c.Refer(ctx, "tel:+15550142", nil)
	if err != nil || res.StatusCode != 202 {
		t.Fatalf("second REFER: %v %v, want 202", res, err)
	}
	id := "refer;id=" + strconv.FormatUint(uint64(res.CSeq().SeqNo), 10)
	r2 := nextRefer(t, ctx, leg)
	if r2.Target != "+15550142" || r2.URI != "tel:+15550142" || r2.ReferredBy != "" {
		t.Errorf("second Refer %+v", r2)
	}
	// Had the first subscription sent anything after its final NOTIFY, it
	// would be read here instead of the second's 100.
	nextNotify(t, ctx, c, 100, id, "active;expires=")
	r2.Notify(503, "Service Unavailable")
	nextNotify(t, ctx, c, 503, id, "terminated;reason=noresource")
	if err := c.Hangup(ctx); err != nil {
		t.Fatal(err)
	}
}

// TestReferNoSubscription: Refer-Sub: false (RFC 4488) gets 202 with
// Refer-Sub: false, and no NOTIFY even when the call reports.
func TestReferNoSubscription(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	leg, c := referCall(t, ctx, "allow", 43240)
	res, err := c.Refer(ctx, "sip:+15550142@example.com", map[string]string{"Refer-Sub": "false", "Supported": "norefersub"})
	if err != nil || res.StatusCode != 202 {
		t.Fatalf("REFER: %v %v, want 202", res, err)
	}
	if h := res.GetHeader("Refer-Sub"); h == nil || h.Value() != "false" {
		t.Errorf("202 Refer-Sub %v, want false", h)
	}
	r := nextRefer(t, ctx, leg)
	r.Notify(200, "OK")
	// A REFER with a subscription next: its 100 must be the first NOTIFY.
	res, err = c.Refer(ctx, "sip:+15550143@example.com", nil)
	if err != nil || res.StatusCode != 202 {
		t.Fatalf("second REFER: %v %v, want 202", res, err)
	}
	nextRefer(t, ctx, leg)
	nextNotify(t, ctx, c, 100, "refer;id="+strconv.FormatUint(uint64(res.CSeq().SeqNo), 10), "active")
}

// TestReferNotify481: a 481 to a NOTIFY ends the subscription: the call's
// later statuses send nothing.
func TestReferNotify481(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	leg, c := referCall(t, ctx, "allow", 43260)
	c.RefuseNextNotify(481, "Subscription Does Not Exist")
	if res, err := c.Refer(ctx, "sip:+15550142@example.com", nil); err != nil || res.StatusCode != 202 {
		t.Fatalf("REFER: %v %v, want 202", res, err)
	}
	r := nextRefer(t, ctx, leg)
	nextNotify(t, ctx, c, 100, "refer", "active")
	// Reported while the 481 may still be on its way: the subscription
	// ends on it all the same, and these are never sent.
	r.Notify(180, "Ringing")
	r.Notify(200, "OK")
	res, err := c.Refer(ctx, "sip:+15550143@example.com", nil)
	if err != nil || res.StatusCode != 202 {
		t.Fatalf("second REFER: %v %v, want 202", res, err)
	}
	nextRefer(t, ctx, leg)
	nextNotify(t, ctx, c, 100, "refer;id="+strconv.FormatUint(uint64(res.CSeq().SeqNo), 10), "active")
}

// TestReferRefused: REFERs the switch cannot act on are refused with the
// code RFC 3515 and RFC 3261 give, and the call gets no event.
func TestReferRefused(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	leg, c := referCall(t, ctx, "allow", 43280)
	for _, tc := range []struct {
		referTo string
		code    int
	}{
		{"", 400},
		{"<sip:+15550142@example.com", 400},
		{"<sip:+15550142@example.com>, <sip:+15550143@example.com>", 400},
		{"sip:", 400},
		{"<sip:+15550142@example.com?Replaces=12345%40192.168.118.3%3Bto-tag%3D12345%3Bfrom-tag%3D5FFE-3994>", 501},
		{"<sip:+15550142@example.com;method=SUBSCRIBE>", 501},
		{"http://www.ietf.org", 501},
		{"<sip:alice@example.com>", 403},
		{"<sip:example.com>", 403},
	} {
		res, err := c.Refer(ctx, tc.referTo, nil)
		if err != nil || res.StatusCode != tc.code {
			t.Errorf("Refer-To %q: %v %v, want %d", tc.referTo, res, err, tc.code)
			continue
		}
		if tc.code != 400 && !strings.Contains(res.Reason, " - ") {
			t.Errorf("Refer-To %q: reason %q says not why", tc.referTo, res.Reason)
		}
	}
	if n := len(leg.Events()); n != 0 {
		t.Errorf("%d events after refused REFERs", n)
	}
}

// TestReferOwnerNotReading: a REFER that cannot reach the call (its event
// channel full) is answered 503 with Retry-After, never 202.
func TestReferOwnerNotReading(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	leg, c := referCall(t, ctx, "allow", 43300)
	for i := range cap(leg.Events()) {
		if err := c.SendDTMFInfo(ctx, rune('0'+i%10), 60*time.Millisecond); err != nil {
			t.Fatalf("INFO %d: %v", i, err)
		}
	}
	res, err := c.Refer(ctx, "sip:+15550142@example.com", nil)
	if err != nil || res.StatusCode != 503 || res.GetHeader("Retry-After") == nil {
		t.Fatalf("REFER to a call not reading: %v %v, want 503 with Retry-After", res, err)
	}
}

// TestReferOnPlacedLeg: a leg the switch placed takes REFER from the party
// it called under its (outbound) trunk's refer setting, with the same
// subscription: its NOTIFYs are requests the switch sends as UAC of the
// dialog.
func TestReferOnPlacedLeg(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	ua, err := siptest.NewUA(ctx, siptest.Options{ListenAddr: "127.0.0.1:0"})
	if err != nil {
		t.Fatal(err)
	}
	defer ua.Close()
	cfg := config.Default()
	cfg.SIP.Listen = []string{"udp://127.0.0.1:0"}
	cfg.Trunks = []config.Trunk{{Name: "pstn", Refer: "allow", Outbound: &config.Outbound{URI: "sip:" + ua.Addr() + ";transport=udp"}}}
	cfg.ApplyDefaults()
	ports, err := media.NewPortAllocator(media.PortAllocatorOptions{IP: netip.MustParseAddr("127.0.0.1"), Min: 43320, Max: 43339})
	if err != nil {
		t.Fatal(err)
	}
	s, err := NewServer(Options{Config: cfg, Ports: ports, Handler: HandlerFunc(func(context.Context, *InboundLeg) {}),
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Start(ctx); err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	leg, err := s.Dial(ctx, call.DialRequest{Trunk: "pstn", To: "+15550142", From: call.Party{Number: "+15550100"}})
	if err != nil {
		t.Fatal(err)
	}
	var c *siptest.Call
	select {
	case in := <-ua.Incoming():
		if c, err = in.Answer(siptest.AnswerOptions{}); err != nil {
			t.Fatal(err)
		}
	case <-ctx.Done():
		t.Fatal("no INVITE from the switch")
	}
	res, err := c.Refer(ctx, "<sip:+15550143@example.com>", nil)
	if err != nil || res.StatusCode != 202 {
		t.Fatalf("REFER: %v %v, want 202", res, err)
	}
	var r call.Refer
	for r.Notify == nil {
		select {
		case ev := <-leg.Events():
			if rr, ok := ev.(call.Refer); ok {
				r = rr
			}
		case <-ctx.Done():
			t.Fatal("no call.Refer event")
		}
	}
	if r.Target != "+15550143" {
		t.Errorf("Refer target %q", r.Target)
	}
	nextNotify(t, ctx, c, 100, "refer", "active")
	r.Notify(200, "OK")
	nextNotify(t, ctx, c, 200, "refer", "terminated;reason=noresource")
	_ = leg.Hangup(ctx, call.Normal)
}
