package sip

import (
	"bytes"
	"context"
	"log/slog"
	"net/netip"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/switchboard-voice/switchboard/call"
	"github.com/switchboard-voice/switchboard/config"
	"github.com/switchboard-voice/switchboard/media"
	"github.com/switchboard-voice/switchboard/sip/siptest"
)

// syncBuffer is a log sink safe for the server's goroutines.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// TestLegEndWithEventsFull: the owner of an answered leg reads none of its
// events; the caller sends more DTMF than the event channel holds (the
// excess is dropped and logged) and then hangs up with a Q.850 cause. The
// leg's end still reaches the owner (Done, with the caller's cause) and the
// leg, its dialog and its ports are released.
func TestLegEndWithEventsFull(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	cfg := config.Default()
	cfg.SIP.Listen = []string{"udp://127.0.0.1:0"}
	cfg.Trunks = []config.Trunk{{Name: "carrier", Inbound: &config.Inbound{Allow: []string{"127.0.0.0/8"}}}}
	cfg.ApplyDefaults()
	ports, err := media.NewPortAllocator(media.PortAllocatorOptions{IP: netip.MustParseAddr("127.0.0.1"), Min: 43100, Max: 43199})
	if err != nil {
		t.Fatal(err)
	}
	type result struct {
		cause       call.Cause
		queued, cap int
	}
	ended := make(chan result, 1)
	handler := HandlerFunc(func(ctx context.Context, leg *InboundLeg) {
		d := leg.Offer().Clone()
		d.Codecs = d.Audio()[:1]
		if _, err := leg.Answer(ctx, d); err != nil {
			t.Errorf("answer: %v", err)
			return
		}
		// Read nothing: wait for the end alone.
		select {
		case <-leg.Done():
			ended <- result{cause: leg.Cause(), queued: len(leg.Events()), cap: cap(leg.Events())}
		case <-ctx.Done():
		}
	})
	var logs syncBuffer
	s, err := NewServer(Options{Config: cfg, Ports: ports, Handler: handler, Logger: slog.New(slog.NewTextHandler(&logs, nil))})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Start(ctx); err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	addr, _ := s.Addr("udp")
	ua, err := siptest.NewUA(ctx, siptest.Options{ListenAddr: "127.0.0.1:0"})
	if err != nil {
		t.Fatal(err)
	}
	defer ua.Close()
	c, err := ua.Invite(ctx, "sip:+15550100@"+addr, siptest.InviteOptions{})
	if err != nil || c.Status() != 200 {
		t.Fatalf("invite: %v (status %d)", err, c.Status())
	}
	const sent = 24
	for i := range sent {
		if err := c.SendDTMFInfo(ctx, rune('0'+i%10), 60*time.Millisecond); err != nil {
			t.Fatalf("INFO %d: %v", i, err)
		}
	}
	if err := c.HangupWith(ctx, map[string]string{"Reason": `Q.850;cause=17;text="User busy"`}); err != nil {
		t.Fatal(err)
	}
	var r result
	select {
	case r = <-ended:
	case <-ctx.Done():
		t.Fatal("the leg's end did not reach its owner")
	}
	if r.cause.Code != 200 || r.cause.Q850 != 17 {
		t.Errorf("leg ended with %v, want 200 with Q.850 17", r.cause)
	}
	if r.cap >= sent || r.queued != r.cap {
		t.Errorf("%d of %d events queued at the end, want the channel full", r.queued, r.cap)
	}
	if n := strings.Count(logs.String(), "leg event dropped"); n != sent-r.cap {
		t.Errorf("%d drops logged, want %d", n, sent-r.cap)
	}
	deadline := time.Now().Add(5 * time.Second)
	for (s.ActiveLegs() != 0 || ports.InUse() != 0) && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if n := s.ActiveLegs(); n != 0 {
		t.Errorf("%d legs left", n)
	}
	if n := ports.InUse(); n != 0 {
		t.Errorf("%d RTP port pairs left", n)
	}
}

// TestEmitSureWaitsForTheOwner: an event the call cannot do without (the
// far end's answer) is not dropped when the channel is full: it waits for
// the owner to read, and gives up only when the leg ends.
func TestEmitSureWaitsForTheOwner(t *testing.T) {
	var logs syncBuffer
	l := &legBase{events: make(chan call.Event, 1), done: make(chan struct{}),
		log: slog.New(slog.NewTextHandler(&logs, nil))}
	l.events <- call.DTMF{Digit: '1'} // full
	delivered := make(chan bool, 1)
	go func() { delivered <- l.emitSure(call.Answered{}) }()
	first := <-l.events
	if _, ok := first.(call.DTMF); !ok {
		t.Fatalf("first event %T, want the DTMF queued before", first)
	}
	select {
	case ev := <-l.events:
		if _, ok := ev.(call.Answered); !ok {
			t.Fatalf("second event %T, want Answered", ev)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Answered was not delivered once the owner read")
	}
	if !<-delivered {
		t.Error("emitSure reported a drop")
	}

	// Full, and the leg ends: it gives up, logged.
	l.events <- call.DTMF{Digit: '2'}
	go func() { delivered <- l.emitSure(call.Answered{}) }()
	close(l.done)
	select {
	case ok := <-delivered:
		if ok {
			t.Error("delivered to a full channel after the leg ended")
		}
	case <-time.After(5 * time.Second):
		t.Fatal("emitSure did not give up when the leg ended")
	}
	if !strings.Contains(logs.String(), "leg event dropped") {
		t.Error("the drop was not logged")
	}
}
