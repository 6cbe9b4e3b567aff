package siptest

import (
	"context"
	"errors"
	"log/slog"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/emiago/sipgo/sip"
)

// SIPTEST_DEBUG=1 logs the UAs at debug level; SIPGO_DEBUG=1 also sipgo's
// global logger (connection reference counting and the like).
func TestMain(m *testing.M) {
	if os.Getenv("SIPGO_DEBUG") != "" {
		slog.SetDefault(slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug})))
	}
	os.Exit(m.Run())
}

func testLogger() *slog.Logger {
	if os.Getenv("SIPTEST_DEBUG") != "" {
		return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	return nil
}

// newPair starts two UAs on loopback with free ports.
func newPair(t *testing.T, transport string) (ctx context.Context, ua1, ua2 *UA) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	var err error
	ua1, err = NewUA(ctx, Options{ListenAddr: "127.0.0.1:0", Transport: transport, User: "alice", Logger: testLogger()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ua1.Close() })
	ua2, err = NewUA(ctx, Options{ListenAddr: "127.0.0.1:0", Transport: transport, User: "bob", Logger: testLogger()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ua2.Close() })
	return ctx, ua1, ua2
}

type answered struct {
	in   *Incoming
	call *Call
	err  error
}

// answerNext rings and answers the next incoming call on ua. If rang is not
// nil it answers only once rang is closed (sipgo handles each response in its
// own goroutine: a 180 followed at once by a 200 may be seen after the 200,
// and is then dropped).
func answerNext(ctx context.Context, ua *UA, o AnswerOptions, rang <-chan struct{}) <-chan answered {
	ch := make(chan answered, 1)
	go func() {
		select {
		case in := <-ua.Incoming():
			if err := in.Ring(false); err != nil {
				ch <- answered{in: in, err: err}
				return
			}
			if rang != nil {
				select {
				case <-rang:
				case <-ctx.Done():
				}
			}
			c, err := in.Answer(o)
			ch <- answered{in, c, err}
		case <-ctx.Done():
			ch <- answered{err: ctx.Err()}
		}
	}()
	return ch
}

func waitAnswered(t *testing.T, ctx context.Context, ch <-chan answered) answered {
	t.Helper()
	select {
	case a := <-ch:
		if a.err != nil {
			t.Fatalf("answer: %v", a.err)
		}
		return a
	case <-ctx.Done():
		t.Fatal("no answer")
	}
	return answered{}
}

func waitClosed(t *testing.T, ctx context.Context, ch <-chan struct{}, what string) {
	t.Helper()
	select {
	case <-ch:
	case <-ctx.Done():
		t.Fatalf("%s: timed out", what)
	}
}

// checkTones asserts that c1 hears only hz2 and c2 only hz1.
func checkTones(t *testing.T, ctx context.Context, c1, c2 *Call, hz1, hz2 float64) {
	t.Helper()
	if err := c1.WaitTone(ctx, hz2); err != nil {
		t.Errorf("caller: %v", err)
	}
	if err := c2.WaitTone(ctx, hz1); err != nil {
		t.Errorf("callee: %v", err)
	}
	if c1.Hears(hz1) {
		t.Errorf("caller hears its own %v Hz (%.3f)", hz1, c1.ReceivedTone(hz1))
	}
	if c2.Hears(hz2) {
		t.Errorf("callee hears its own %v Hz (%.3f)", hz2, c2.ReceivedTone(hz2))
	}
	for _, c := range []*Call{c1, c2} {
		for sent, recv := c.RTPStats(); sent == 0 || recv == 0; sent, recv = c.RTPStats() {
			select {
			case <-ctx.Done():
				t.Fatalf("RTP sent %d received %d", sent, recv)
			case <-time.After(10 * time.Millisecond):
			}
		}
	}
}

func TestCallTonesBothWays(t *testing.T) {
	for _, tc := range []struct{ name, transport, codec string }{
		{"udp-pcmu", "udp", "PCMU"},
		{"udp-pcma", "udp", "PCMA"},
		{"tcp-pcmu", "tcp", "PCMU"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			ctx, ua1, ua2 := newPair(t, tc.transport)
			rang := make(chan struct{})
			rr := "<" + ua2.URI("") + ";lr>"
			ans := answerNext(ctx, ua2, AnswerOptions{ToneHz: 1000}, rang)
			c1, err := ua1.Invite(ctx, ua2.URI("bob"), InviteOptions{
				ToneHz: 440,
				OnProvisional: func(_ *Call, res *sip.Response) {
					if res.StatusCode == 180 {
						close(rang)
					}
				},
				Codecs: []string{tc.codec},
				// A Record-Route as a proxy at ua2's address would add
				// it: the caller's ACK and BYE must carry it as Route.
				Headers: map[string]string{"Max-Forwards": "12", "X-Test": "yes", "Record-Route": rr},
			})
			if err != nil {
				t.Fatal(err)
			}
			a := waitAnswered(t, ctx, ans)
			c2 := a.call
			if c1.Status() != 200 {
				t.Fatalf("status %d", c1.Status())
			}
			if !slices.Contains(c1.Provisionals(), 180) {
				t.Errorf("provisionals %v, want a 180", c1.Provisionals())
			}
			req := a.in.Request()
			if mf := req.MaxForwards(); mf == nil || mf.Val() != 12 {
				t.Errorf("Max-Forwards %v, want 12", mf)
			}
			if h := req.GetHeader("X-Test"); h == nil || h.Value() != "yes" {
				t.Errorf("X-Test header %v", h)
			}
			if c1.CallID() != c2.CallID() {
				t.Errorf("call IDs differ: %s %s", c1.CallID(), c2.CallID())
			}
			if c1.Codec() != tc.codec || c2.Codec() != tc.codec {
				t.Errorf("codecs %s/%s, want %s", c1.Codec(), c2.Codec(), tc.codec)
			}
			if !strings.Contains(c1.RemoteSDP(), "m=audio") || c1.RemoteSDP() != c2.LocalSDP() {
				t.Errorf("SDP mismatch:\n%s\n%s", c1.RemoteSDP(), c2.LocalSDP())
			}
			checkTones(t, ctx, c1, c2, 440, 1000)

			if err := c1.Hangup(ctx); err != nil {
				t.Fatal(err)
			}
			waitClosed(t, ctx, c2.Ended(), "callee end")
			waitClosed(t, ctx, c1.Ended(), "caller end")
			if !c2.ByeReceived() || c1.ByeReceived() {
				t.Errorf("ByeReceived: caller %v callee %v", c1.ByeReceived(), c2.ByeReceived())
			}
			if route := c2.Bye().GetHeader("Route"); route == nil || route.Value() != rr {
				t.Errorf("BYE Route %v, want %s", route, rr)
			}
		})
	}
}

func TestLateOfferAndByeFromCallee(t *testing.T) {
	t.Parallel()
	ctx, ua1, ua2 := newPair(t, "udp")
	ans := answerNext(ctx, ua2, AnswerOptions{ToneHz: 1000, Codecs: []string{"PCMA", "PCMU"}}, nil)
	c1, err := ua1.Invite(ctx, ua2.Addr(), InviteOptions{ToneHz: 440, NoSDP: true, Codecs: []string{"PCMU", "PCMA"}})
	if err != nil {
		t.Fatal(err)
	}
	a := waitAnswered(t, ctx, ans)
	c2 := a.call
	if n := len(a.in.Request().Body()); n != 0 {
		t.Errorf("INVITE has a %d-byte body, want none", n)
	}
	if c1.Status() != 200 {
		t.Fatalf("status %d", c1.Status())
	}
	// The callee offered PCMA first, the caller answers with it.
	if c1.Codec() != "PCMA" || c2.Codec() != "PCMA" {
		t.Errorf("codecs %s/%s, want PCMA", c1.Codec(), c2.Codec())
	}
	checkTones(t, ctx, c1, c2, 440, 1000)

	if err := c2.Hangup(ctx); err != nil {
		t.Fatal(err)
	}
	waitClosed(t, ctx, c1.Ended(), "caller end")
	if !c1.ByeReceived() || c2.ByeReceived() {
		t.Errorf("ByeReceived: caller %v callee %v", c1.ByeReceived(), c2.ByeReceived())
	}
	if c1.Bye() == nil || c1.Bye().GetHeader("Route") != nil {
		t.Errorf("BYE %v", c1.Bye())
	}
	if err := c1.Hangup(ctx); err != nil {
		t.Errorf("Hangup after BYE: %v", err)
	}
}

func TestReject(t *testing.T) {
	t.Parallel()
	ctx, ua1, ua2 := newPair(t, "udp")
	go func() {
		in := <-ua2.Incoming()
		in.Ring(false)
		in.Reject(486, "Busy Here")
	}()
	c1, err := ua1.Invite(ctx, ua2.URI("bob"), InviteOptions{ToneHz: 440})
	if err != nil {
		t.Fatal(err)
	}
	if c1.Status() != 486 {
		t.Errorf("status %d, want 486", c1.Status())
	}
	if c1.Response() == nil || c1.Response().StatusCode != 486 {
		t.Errorf("response %v", c1.Response())
	}
	waitClosed(t, ctx, c1.Ended(), "rejected call end")
}

func TestCancelBeforeAnswer(t *testing.T) {
	t.Parallel()
	ctx, ua1, ua2 := newPair(t, "udp")
	inviteCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	got := make(chan *Incoming, 1)
	go func() {
		in := <-ua2.Incoming()
		in.Ring(false)
		got <- in
		cancel() // the caller gives up while it rings
	}()
	c1, err := ua1.Invite(inviteCtx, ua2.URI("bob"), InviteOptions{ToneHz: 440})
	if err != nil {
		t.Fatal(err)
	}
	if c1.Status() != 487 {
		t.Errorf("status %d, want 487", c1.Status())
	}
	in := <-got
	waitClosed(t, ctx, in.Cancelled(), "callee sees CANCEL")
	if _, err := in.Answer(AnswerOptions{}); !errors.Is(err, ErrCancelled) {
		t.Errorf("Answer after CANCEL: %v, want ErrCancelled", err)
	}
}

func TestHoldAndResume(t *testing.T) {
	t.Parallel()
	ctx, ua1, ua2 := newPair(t, "udp")
	ans := answerNext(ctx, ua2, AnswerOptions{ToneHz: 1000}, nil)
	c1, err := ua1.Invite(ctx, ua2.URI("bob"), InviteOptions{ToneHz: 440})
	if err != nil {
		t.Fatal(err)
	}
	c2 := waitAnswered(t, ctx, ans).call
	checkTones(t, ctx, c1, c2, 440, 1000)

	// The caller holds: the callee answers recvonly and stops sending.
	dir, err := c1.Hold(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if dir != RecvOnly {
		t.Errorf("hold answered %q, want recvonly", dir)
	}
	select {
	case ri := <-c2.Reinvites():
		if ri.Direction != SendOnly || ri.AnswerDirection != RecvOnly {
			t.Errorf("callee saw %+v", ri)
		}
	case <-ctx.Done():
		t.Fatal("no re-INVITE seen by the callee")
	}
	time.Sleep(100 * time.Millisecond) // packets in flight
	_, before := c1.RTPStats()
	time.Sleep(300 * time.Millisecond)
	if _, after := c1.RTPStats(); after-before > 1 {
		t.Errorf("callee kept sending on hold: %d packets", after-before)
	}
	if err := c2.WaitTone(ctx, 440); err != nil { // the holder still sends
		t.Errorf("callee on hold: %v", err)
	}

	dir, err = c1.Resume(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if dir != SendRecv {
		t.Errorf("resume answered %q, want sendrecv", dir)
	}
	if ri := <-c2.Reinvites(); ri.Direction != SendRecv {
		t.Errorf("callee saw %+v", ri)
	}
	c1.ResetAudio()
	if err := c1.WaitTone(ctx, 1000); err != nil {
		t.Errorf("after resume: %v", err)
	}

	// Now the callee holds (re-INVITE the other way) with inactive.
	dir, err = c2.Reinvite(ctx, Inactive)
	if err != nil {
		t.Fatal(err)
	}
	if dir != Inactive {
		t.Errorf("inactive answered %q", dir)
	}
	if ri := <-c1.Reinvites(); ri.Direction != Inactive || ri.AnswerDirection != Inactive {
		t.Errorf("caller saw %+v", ri)
	}
	if dir, err = c2.Resume(ctx); err != nil || dir != SendRecv {
		t.Errorf("callee resume: %q %v", dir, err)
	}
	<-c1.Reinvites()
	c2.ResetAudio()
	if err := c2.WaitTone(ctx, 440); err != nil {
		t.Errorf("after callee resume: %v", err)
	}

	if err := c2.Hangup(ctx); err != nil {
		t.Fatal(err)
	}
	waitClosed(t, ctx, c1.Ended(), "caller end")
}

func TestEarlyMedia(t *testing.T) {
	t.Parallel()
	ctx, ua1, ua2 := newPair(t, "udp")
	heard := make(chan error, 1)
	answerNow := make(chan struct{})
	go func() {
		in := <-ua2.Incoming()
		if err := in.Progress(AnswerOptions{ToneHz: 1000}); err != nil {
			heard <- err
			return
		}
		<-answerNow
		c2, err := in.Answer(AnswerOptions{ToneHz: 1000})
		if err == nil {
			<-c2.Ended()
		}
	}()
	c1, err := ua1.Invite(ctx, ua2.URI("bob"), InviteOptions{
		ToneHz: 440,
		OnProvisional: func(c *Call, res *sip.Response) {
			if res.StatusCode == 183 {
				go func() {
					heard <- c.WaitTone(ctx, 1000)
					close(answerNow)
				}()
			}
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := <-heard; err != nil {
		t.Errorf("early media: %v", err)
	}
	if c1.Status() != 200 || c1.EarlySDP() == "" {
		t.Errorf("status %d, early SDP %q", c1.Status(), c1.EarlySDP())
	}
	if err := c1.WaitTone(ctx, 1000); err != nil {
		t.Error(err)
	}
	c1.Hangup(ctx)
}

func TestDigestAuth(t *testing.T) {
	t.Parallel()
	ctx, ua1, ua2 := newPair(t, "udp")
	type result struct {
		ok, wrong bool
		err       error
	}
	res := make(chan result, 1)
	go func() {
		in := <-ua2.Incoming()
		if in.Authorized("alice", "secret") {
			res <- result{err: errors.New("authorized without credentials")}
			return
		}
		if err := in.Challenge(401, "switchboard"); err != nil {
			res <- result{err: err}
			return
		}
		in = <-ua2.Incoming() // the retry with credentials
		r := result{ok: in.Authorized("alice", "secret"), wrong: in.Authorized("alice", "guess")}
		if r.ok {
			_, r.err = in.Answer(AnswerOptions{ToneHz: 1000})
		} else {
			in.Reject(403, "Forbidden")
		}
		res <- r
	}()
	c1, err := ua1.Invite(ctx, ua2.URI("bob"), InviteOptions{ToneHz: 440, Username: "alice", Password: "secret"})
	if err != nil {
		t.Fatal(err)
	}
	r := <-res
	if r.err != nil || !r.ok || r.wrong {
		t.Fatalf("auth check: %+v", r)
	}
	if c1.Status() != 200 {
		t.Errorf("status %d", c1.Status())
	}
	if c1.Request().GetHeader("Authorization") == nil {
		t.Error("final INVITE has no Authorization")
	}
	c1.Hangup(ctx)

	// Without credentials the challenge is the final answer.
	go func() {
		in := <-ua2.Incoming()
		in.Challenge(407, "switchboard")
	}()
	c1, err = ua1.Invite(ctx, ua2.URI("bob"), InviteOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if c1.Status() != 407 {
		t.Errorf("status %d, want 407", c1.Status())
	}
}
