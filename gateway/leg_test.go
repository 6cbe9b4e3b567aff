package gateway

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/switchboard-voice/switchboard/call"
	"github.com/switchboard-voice/switchboard/media"
)

func TestLegDTMFFromAgent(t *testing.T) {
	srv, whip := newTestServer(t)
	client := connectAgent(t, whip, "token-a", 700)
	leg := attach(t, session(t, srv, "agent-a"), "call-dtmf")
	for _, digit := range "5#" {
		if err := client.SendDTMF(digit); err != nil {
			t.Fatal(err)
		}
		ev := nextEvent(t, leg)
		d, ok := ev.(call.DTMF)
		if !ok || d.Digit != digit || !d.InBand || d.Duration <= 0 {
			t.Fatalf("got %T %+v, want call.DTMF{%q, InBand}", ev, ev, digit)
		}
	}
	if err := client.SendDTMF('x'); err == nil {
		t.Fatal("SendDTMF('x') succeeded")
	}
}

func TestLegDTMFToAgent(t *testing.T) {
	srv, whip := newTestServer(t)
	client := connectAgent(t, whip, "token-a", 700)
	leg := attach(t, session(t, srv, "agent-a"), "call-dtmf")
	ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
	defer cancel()
	for _, digit := range "3*" {
		if err := leg.SendDTMF(ctx, digit, 100*time.Millisecond); err != nil {
			t.Fatal(err)
		}
		select {
		case got := <-client.Digits():
			if got != digit {
				t.Fatalf("agent got %q, want %q", got, digit)
			}
		case <-ctx.Done():
			t.Fatalf("agent got no digit %q", digit)
		}
	}
}

func TestLegEndByAgent(t *testing.T) {
	srv, whip := newTestServer(t)
	connectAgent(t, whip, "token-a", 700)
	sess := session(t, srv, "agent-a")
	leg := attach(t, sess, "call-1")
	if _, err := sess.Attach(context.Background(), "call-2"); !errors.Is(err, ErrBusy) {
		t.Fatalf("second Attach: %v, want ErrBusy", err)
	}
	leg.End(call.Cause{})
	if got := legEnded(t, leg); got != call.Normal {
		t.Fatalf("leg ended with %v, want %v", got, call.Normal)
	}
	noEvent(t, leg)
	if err := leg.Hangup(context.Background(), call.Normal); err != nil {
		t.Fatal(err) // idempotent after End
	}
	if _, err := leg.Update(context.Background(), leg.Description()); err == nil {
		t.Fatal("Update of an ended leg succeeded")
	}
	if closed(sess.Done()) {
		t.Fatal("ending the call ended the session")
	}
	// The session takes the next call.
	next := attach(t, sess, "call-2")
	next.Hangup(context.Background(), call.Normal)
}

// TestLegEndWithEventsFull ends a leg whose owner reads nothing while its
// event channel is full of notifications: the end still arrives (Done and
// its cause), and later notifications are dropped, never blocking.
func TestLegEndWithEventsFull(t *testing.T) {
	srv, whip := newTestServer(t)
	connectAgent(t, whip, "token-a", 700)
	sess := session(t, srv, "agent-a")
	leg := attach(t, sess, "call-1")
	for range eventBuffer + 8 {
		leg.emit(call.DTMF{Digit: '5', Duration: 100 * time.Millisecond})
	}
	if n := len(leg.Events()); n != eventBuffer {
		t.Fatalf("%d events queued, want the channel full (%d)", n, eventBuffer)
	}
	busy := call.Cause{Code: 486, Reason: "Busy Here"}
	leg.End(busy)
	if got := legEnded(t, leg); got != busy {
		t.Fatalf("leg ended with %v, want %v", got, busy)
	}
	leg.emit(call.DTMF{Digit: '6'}) // after the end: dropped, not blocking
	if n := len(leg.Events()); n != eventBuffer {
		t.Fatalf("%d events queued after the end, want %d", n, eventBuffer)
	}
}

func TestLegEndsWithSession(t *testing.T) {
	srv, whip := newTestServer(t)
	client := connectAgent(t, whip, "token-a", 700)
	sess := session(t, srv, "agent-a")
	leg := attach(t, sess, "call-1")
	if err := sess.Close(); err != nil {
		t.Fatal(err)
	}
	if got := legEnded(t, leg); got != CauseSessionEnded {
		t.Fatalf("leg ended with %v, want %v", got, CauseSessionEnded)
	}
	if !closed(sess.Done()) {
		t.Fatal("Close returned before the session ended")
	}
	if _, err := sess.Attach(context.Background(), "call-2"); !errors.Is(err, ErrSessionClosed) {
		t.Fatalf("Attach after Close: %v, want ErrSessionClosed", err)
	}
	if _, ok := srv.Session("agent-a"); ok {
		t.Fatal("closed session still registered")
	}
	// The agent's PeerConnection notices (DTLS close).
	select {
	case <-client.Lost():
	case <-time.After(testTimeout):
		t.Fatal("agent did not notice the end of its session")
	}
}

// TestLegEndsWhenAgentVanishes drops the agent's PeerConnection without a
// DELETE (a crashed tab): the session ends and the call's leg with it.
func TestLegEndsWhenAgentVanishes(t *testing.T) {
	srv, whip := newTestServer(t)
	client := connectAgent(t, whip, "token-a", 700)
	sess := session(t, srv, "agent-a")
	leg := attach(t, sess, "call-1")
	client.Abandon()
	if got := legEnded(t, leg); got != CauseMediaLost {
		t.Fatalf("leg ended with %v, want %v", got, CauseMediaLost)
	}
	select {
	case <-sess.Done():
	case <-time.After(testTimeout):
		t.Fatal("session did not end")
	}
}

// TestLegHold puts the agent on hold and back: the answer mirrors the
// offer's direction, and media stops and resumes without renegotiation.
func TestLegHold(t *testing.T) {
	srv, whip := newTestServer(t)
	client := connectAgent(t, whip, "token-a", 700)
	leg := attach(t, session(t, srv, "agent-a"), "call-hold")
	alloc := newAllocator(t, 1)
	carrier, err := alloc.Open()
	if err != nil {
		t.Fatal(err)
	}
	defer carrier.Close()
	carrier.Configure(pcmuConf)
	peer := startRTPPeer(t, carrier.LocalAddr(), 1000)
	carrier.SetRemote(peer.addr())
	bridge, err := media.Connect(carrier, leg.Socket(), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer bridge.Stop()
	ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
	defer cancel()
	if err := client.WaitTone(ctx, 1000); err != nil {
		t.Fatal(err)
	}

	offer := leg.Description()
	for _, tc := range []struct {
		offer, answer media.Direction
		agentHears    bool
		peerHears     bool
	}{
		{media.Inactive, media.Inactive, false, false},
		{media.SendOnly, media.RecvOnly, true, false},
		{media.SendRecv, media.SendRecv, true, true},
	} {
		offer.Direction = tc.offer
		ans, err := leg.Update(ctx, offer)
		if err != nil {
			t.Fatal(err)
		}
		if ans.Direction != tc.answer || len(ans.Audio()) != 1 || !ans.Audio()[0].Is("opus") {
			t.Fatalf("offer %s: answer %+v, want %s with opus", tc.offer, ans, tc.answer)
		}
		if leg.Socket().Config().Sending != tc.answer.Sends() {
			t.Fatalf("offer %s: socket Sending %v", tc.offer, leg.Socket().Config().Sending)
		}
		// Let what was under way play out (jitter buffers, packet loss
		// concealment of a stream that stops), then listen afresh.
		time.Sleep(600 * time.Millisecond)
		client.ResetAudio()
		peer.reset()
		if tc.agentHears {
			waitFor(t, "the agent to hear the caller", func() bool { return client.Hears(1000) })
		}
		if tc.peerHears {
			waitFor(t, "the caller to hear the agent", func() bool { return peer.hears(700) })
		}
		time.Sleep(300 * time.Millisecond)
		if got := client.Hears(1000); got != tc.agentHears {
			t.Fatalf("offer %s: agent hears the caller: %v, want %v", tc.offer, got, tc.agentHears)
		}
		if got := peer.hears(700); got != tc.peerHears {
			t.Fatalf("offer %s: caller hears the agent: %v, want %v", tc.offer, got, tc.peerHears)
		}
	}
	// The browser's receiver reports reach the leg's quality monitor
	// (pion sends them every second).
	waitFor(t, "the agent's receiver reports", func() bool {
		q := leg.Socket().Quality().Snapshot(time.Now())
		return q.RTT > 0 && q.RemoteJitter > 0
	})
}

// TestLegEncoderFollowsBrowser: what the browser's Opus fmtp asks for
// (maxplaybackrate, in-band FEC) is how the switch encodes towards it.
func TestLegEncoderFollowsBrowser(t *testing.T) {
	srv, whip := newTestServer(t)
	offer := strings.Replace(makeOffer(t), "minptime=10;useinbandfec=1", "minptime=10;useinbandfec=1;maxplaybackrate=16000", 1)
	if res, body := do(t, http.MethodPost, whip, "token-b", "application/sdp", offer); res.StatusCode != http.StatusCreated {
		t.Fatalf("POST: %d %s", res.StatusCode, body)
	}
	leg := attach(t, registered(t, srv, "agent-b"), "call-1")
	enc := leg.Socket().Config().Encoder
	if enc.MaxPlaybackRate != 16000 || !enc.FEC {
		t.Fatalf("encoder options %+v, want maxplaybackrate 16000 with FEC", enc)
	}
	if leg.Socket().Remote() != placeholderRemote {
		t.Fatalf("leg of an unconnected session points at %v", leg.Socket().Remote())
	}
}
