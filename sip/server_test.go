package sip

import (
	"context"
	"io"
	"log/slog"
	"net/netip"
	"sync/atomic"
	"testing"
	"time"

	"github.com/switchboard-voice/switchboard/call"
	"github.com/switchboard-voice/switchboard/config"
	"github.com/switchboard-voice/switchboard/media"
	"github.com/switchboard-voice/switchboard/sip/siptest"
)

// TestHandlerPanicAnswers500: a bug hit while handling a call answers the
// caller 500 and the server keeps serving.
func TestHandlerPanicAnswers500(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	cfg := config.Default()
	cfg.SIP.Listen = []string{"udp://127.0.0.1:0"}
	cfg.Trunks = []config.Trunk{{Name: "carrier", Inbound: &config.Inbound{Allow: []string{"127.0.0.0/8"}}}}
	cfg.ApplyDefaults()
	ports, err := media.NewPortAllocator(media.PortAllocatorOptions{IP: netip.MustParseAddr("127.0.0.1"), Min: 43000, Max: 43099})
	if err != nil {
		t.Fatal(err)
	}
	var calls atomic.Int32
	handler := HandlerFunc(func(ctx context.Context, leg *InboundLeg) {
		if calls.Add(1) == 1 {
			panic("boom")
		}
		_ = leg.Hangup(ctx, call.Cause{Code: 486, Reason: "Busy Here"})
	})
	s, err := NewServer(Options{Config: cfg, Ports: ports, Handler: handler, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
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
	if err != nil {
		t.Fatal(err)
	}
	if c.Status() != 500 {
		t.Fatalf("after a handler panic: %d, want 500", c.Status())
	}
	c, err = ua.Invite(ctx, "sip:+15550100@"+addr, siptest.InviteOptions{})
	if err != nil || c.Status() != 486 {
		t.Fatalf("server not serving after the panic: %v %d", err, c.Status())
	}
	// The leg is freed by the handler's goroutine just after the response.
	deadline := time.Now().Add(2 * time.Second)
	for ports.InUse() != 0 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if ports.InUse() != 0 {
		t.Errorf("%d RTP port pairs leaked", ports.InUse())
	}
}
