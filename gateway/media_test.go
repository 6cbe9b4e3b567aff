package gateway

import (
	"context"
	"fmt"
	"runtime"
	"testing"
	"time"

	"github.com/switchboard-voice/switchboard/call"
	"github.com/switchboard-voice/switchboard/media"
)

// TestMediaEndToEnd runs two calls through one agent session: a plain RTP
// peer sends a PCMU 1000 Hz tone into a SIP-like socket, which is bridged
// (transcoded) to the agent's WebRTC leg; the agent sends 700 Hz back. After
// the first call is hung up (detached) the session lives on, and the second
// call's audio flows without a new WHIP POST.
func TestMediaEndToEnd(t *testing.T) {
	srv, whip := newTestServer(t)
	client := connectAgent(t, whip, "token-a", 700)
	sess := session(t, srv, "agent-a")

	alloc := newAllocator(t, 2)
	carrier, err := alloc.Open()
	if err != nil {
		t.Fatal(err)
	}
	defer carrier.Close()
	carrier.Configure(pcmuConf)
	peer := startRTPPeer(t, carrier.LocalAddr(), 1000)
	carrier.SetRemote(peer.addr())

	// Between calls the agent receives silence (about 50 packets a second),
	// nothing audible.
	client.ResetAudio()
	n0 := client.PacketsReceived()
	waitFor(t, "silence between calls", func() bool { return client.PacketsReceived()-n0 >= 10 })
	if !client.FirstAudio().IsZero() || client.Hears(1000) {
		t.Fatal("agent hears something before any call")
	}

	base := 0
	for round := 1; round <= 2; round++ {
		t.Run(fmt.Sprintf("call%d", round), func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
			defer cancel()
			if round == 2 {
				base = runtime.NumGoroutine()
			}
			leg := attach(t, sess, fmt.Sprintf("call-%d", round))
			bridge, err := media.Connect(carrier, leg.Socket(), nil)
			if err != nil {
				t.Fatal(err)
			}
			if !bridge.Transcoding() {
				t.Fatal("PCMU to Opus bridged without transcoding")
			}
			client.ResetAudio()
			peer.reset()
			answered := time.Now()
			if err := client.WaitTone(ctx, 1000); err != nil {
				t.Fatal(err)
			}
			t.Logf("answer to audio at the agent: %v", client.FirstAudio().Sub(answered).Round(time.Millisecond))
			waitFor(t, "the carrier peer to hear the agent's 700 Hz", func() bool { return peer.hears(700) })
			if client.Hears(700) || peer.hears(1000) {
				t.Fatal("a party hears its own tone")
			}
			if q := leg.Socket().Quality().Snapshot(time.Now()); q.PacketsReceived == 0 {
				t.Fatal("the leg's quality monitor saw no packets")
			}

			bridge.Stop()
			if err := leg.Hangup(ctx, call.Normal); err != nil {
				t.Fatal(err)
			}
			<-leg.Done()
			noEvent(t, leg)
			if closed(sess.Done()) {
				t.Fatal("hanging up the leg ended the session")
			}
			// Back to silence: the caller's tone fades from the agent's ear.
			waitFor(t, "silence at the agent", func() bool { return !client.Hears(1000) })
			if round == 2 {
				goroutinesBack(t, base)
			}
		})
		if t.Failed() {
			return
		}
	}
	if s, ok := srv.Session("agent-a"); !ok || s != sess {
		t.Fatal("the session changed")
	}
}
