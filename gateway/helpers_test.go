package gateway

import (
	"context"
	"encoding/binary"
	"errors"
	"io"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"os"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pion/webrtc/v4"

	"github.com/switchboard-voice/switchboard/call"
	"github.com/switchboard-voice/switchboard/gateway/agent"
	"github.com/switchboard-voice/switchboard/gateway/internal/rtc"
	"github.com/switchboard-voice/switchboard/media"
	"github.com/switchboard-voice/switchboard/media/codec"
	"github.com/switchboard-voice/switchboard/media/tone"
)

// testTimeout bounds each wait of these tests.
const testTimeout = 15 * time.Second

var loopback = netip.MustParseAddr("127.0.0.1")

// tokens of the test agents.
var testTokens = map[string]string{"token-a": "agent-a", "token-b": "agent-b"}

func authenticate(_ context.Context, token string) (string, error) {
	if a, ok := testTokens[token]; ok {
		return a, nil
	}
	return "", errors.New("unknown token")
}

// newTestServer starts a gateway on loopback, mounted at /whip of an HTTP
// server; both are closed when the test ends.
func newTestServer(t testing.TB) (*Server, string) {
	t.Helper()
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	if testing.Verbose() {
		log = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	srv, err := NewServer(Options{Authenticate: authenticate, Logger: log, LoopbackOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.Handle("/whip", srv)
	mux.Handle("/whip/", srv)
	hs := httptest.NewServer(mux)
	t.Cleanup(func() {
		hs.Close()
		srv.Close()
	})
	return srv, hs.URL + "/whip"
}

// connectAgent connects an agent client sending a tone at hz.
func connectAgent(t testing.TB, whipURL, token string, hz float64) *agent.Client {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
	defer cancel()
	c, err := agent.Connect(ctx, whipURL, token, agent.Options{ToneHz: hz, LoopbackOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// registered returns the agent's session, connected or not, or fails.
func registered(t testing.TB, srv *Server, agentID string) *Session {
	t.Helper()
	s, ok := srv.Session(agentID)
	if !ok {
		t.Fatalf("no session for %s", agentID)
	}
	return s
}

// session returns the agent's session, once connected on the switch's
// side too, or fails.
func session(t testing.TB, srv *Server, agentID string) *Session {
	t.Helper()
	s, ok := srv.Session(agentID)
	if !ok {
		t.Fatalf("no session for %s", agentID)
	}
	select {
	case <-s.Connected():
	case <-time.After(testTimeout):
		t.Fatalf("session of %s not connected", agentID)
	}
	return s
}

// attach attaches a leg and checks that it starts answered with Opus.
func attach(t testing.TB, s *Session, callID string) *Leg {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
	defer cancel()
	l, err := s.Attach(ctx, callID)
	if err != nil {
		t.Fatal(err)
	}
	ev := nextEvent(t, l)
	a, ok := ev.(call.Answered)
	if !ok {
		t.Fatalf("first event %T, want call.Answered", ev)
	}
	if au := a.Answer.Audio(); len(au) != 1 || !au[0].Is("opus") || au[0].ClockRate != 48000 {
		t.Fatalf("answer %+v, want Opus/48000", a.Answer)
	}
	if got := l.Socket().Config().Audio; !got.Is("opus") {
		t.Fatalf("socket configured with %+v, want opus", got)
	}
	return l
}

// nextEvent waits for a leg's next event.
func nextEvent(t testing.TB, l *Leg) call.Event {
	t.Helper()
	select {
	case ev, ok := <-l.Events():
		if !ok {
			t.Fatal("leg events closed")
		}
		return ev
	case <-time.After(testTimeout):
		t.Fatal("timed out waiting for a leg event")
		return nil
	}
}

// legEnded waits for a leg's end and returns its cause.
func legEnded(t testing.TB, l *Leg) call.Cause {
	t.Helper()
	select {
	case <-l.Done():
		return l.Cause()
	case <-time.After(testTimeout):
		t.Fatal("timed out waiting for the leg's end")
		return call.Cause{}
	}
}

// noEvent checks that a leg has no event pending (and its channel is open).
func noEvent(t testing.TB, l *Leg) {
	t.Helper()
	select {
	case ev, ok := <-l.Events():
		t.Fatalf("unexpected event %T %+v (open %v)", ev, ev, ok)
	default:
	}
}

// waitFor polls cond until it holds or testTimeout passes.
func waitFor(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(testTimeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func closed(ch <-chan struct{}) bool {
	select {
	case <-ch:
		return true
	default:
		return false
	}
}

// newAllocator returns a port allocator over a free loopback range.
func newAllocator(t testing.TB, pairs int) *media.PortAllocator {
	t.Helper()
	for try := 0; try < 200; try++ {
		base := 30000 + 2*rand.IntN(5000)
		ok := true
		for p := base; p < base+2*pairs; p++ {
			c, err := net.ListenUDP("udp4", net.UDPAddrFromAddrPort(netip.AddrPortFrom(loopback, uint16(p))))
			if err != nil {
				ok = false
				break
			}
			c.Close()
		}
		if !ok {
			continue
		}
		a, err := media.NewPortAllocator(media.PortAllocatorOptions{IP: loopback, Min: base, Max: base + 2*pairs - 1})
		if err != nil {
			t.Fatal(err)
		}
		return a
	}
	t.Fatal("no free loopback port range")
	return nil
}

var (
	pcmu     = media.Codec{Name: "PCMU", PayloadType: 0, ClockRate: 8000}
	event8k  = media.Codec{Name: "telephone-event", PayloadType: 101, ClockRate: 8000, Fmtp: "0-16"}
	pcmuConf = media.StreamConfig{Audio: pcmu, Event: event8k, Ptime: 20, Sending: true}
)

// rtpPeer is a plain RTP far end on loopback (a carrier's media gateway):
// it sends a PCMU tone every 20 ms, paced by the clock, and detects tones
// in the PCMU it receives.
type rtpPeer struct {
	conn *net.UDPConn
	to   netip.AddrPort

	mu  sync.Mutex
	det *tone.Detector

	stop chan struct{}
	wg   sync.WaitGroup
}

func startRTPPeer(t testing.TB, to netip.AddrPort, hz float64) *rtpPeer {
	t.Helper()
	c, err := net.ListenUDP("udp4", net.UDPAddrFromAddrPort(netip.AddrPortFrom(loopback, 0)))
	if err != nil {
		t.Fatal(err)
	}
	p := &rtpPeer{conn: c, to: to, det: tone.NewDetector(8000, 200*time.Millisecond), stop: make(chan struct{})}
	p.wg.Add(2)
	go p.send(hz)
	go p.receive()
	t.Cleanup(p.close)
	return p
}

func (p *rtpPeer) addr() netip.AddrPort { return p.conn.LocalAddr().(*net.UDPAddr).AddrPort() }

func (p *rtpPeer) close() {
	select {
	case <-p.stop:
		return
	default:
	}
	close(p.stop)
	p.conn.Close()
	p.wg.Wait()
}

func (p *rtpPeer) send(hz float64) {
	defer p.wg.Done()
	enc, _ := codec.NewEncoder(codec.PCMU, 8000, codec.Options{})
	gen := tone.NewGenerator(8000, hz, 0.3)
	pcm := make([]int16, 160)
	pkt := make([]byte, 12+160)
	ssrc, seq, ts := rand.Uint32(), uint16(rand.Uint32()), rand.Uint32()
	start := time.Now()
	for n := 0; ; n++ {
		select {
		case <-p.stop:
			return
		case <-time.After(time.Until(start.Add(time.Duration(n) * 20 * time.Millisecond))):
		}
		gen.Fill(pcm)
		enc.Encode(pcm, pkt[12:])
		pkt[0], pkt[1] = 0x80, 0
		binary.BigEndian.PutUint16(pkt[2:], seq)
		binary.BigEndian.PutUint32(pkt[4:], ts)
		binary.BigEndian.PutUint32(pkt[8:], ssrc)
		seq, ts = seq+1, ts+160
		p.conn.WriteToUDPAddrPort(pkt, p.to)
	}
}

func (p *rtpPeer) receive() {
	defer p.wg.Done()
	dec, _ := codec.NewDecoder(codec.PCMU, 8000)
	buf := make([]byte, 2048)
	pcm := make([]int16, 2048)
	for {
		n, _, err := p.conn.ReadFromUDPAddrPort(buf)
		if err != nil {
			return
		}
		payload, ok := media.RTPPayload(buf[:n])
		if !ok || buf[1]&0x7f != 0 {
			continue
		}
		k, err := dec.Decode(payload, pcm)
		if err != nil {
			continue
		}
		p.mu.Lock()
		p.det.Write(pcm[:k])
		p.mu.Unlock()
	}
}

func (p *rtpPeer) hears(hz float64) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.det.Present(hz)
}

func (p *rtpPeer) reset() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.det.Reset()
}

// makeOffer returns a WHIP offer from a pion peer (audio, sendrecv, all
// candidates); the peer is closed when the test ends.
func makeOffer(t testing.TB) string {
	t.Helper()
	api, err := rtc.NewAPI(rtc.Config{LoopbackOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	pc, err := api.NewPeerConnection(webrtc.Configuration{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { pc.Close() })
	if _, err := pc.AddTransceiverFromKind(webrtc.RTPCodecTypeAudio); err != nil {
		t.Fatal(err)
	}
	offer, err := pc.CreateOffer(nil)
	if err != nil {
		t.Fatal(err)
	}
	gathered := webrtc.GatheringCompletePromise(pc)
	if err := pc.SetLocalDescription(offer); err != nil {
		t.Fatal(err)
	}
	select {
	case <-gathered:
	case <-time.After(testTimeout):
		t.Fatal("ICE gathering timed out")
	}
	return pc.LocalDescription().SDP
}

// do sends a request and returns the response with its body read.
func do(t testing.TB, method, url, token, contentType, body string) (*http.Response, string) {
	t.Helper()
	req, err := http.NewRequest(method, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	return res, string(b)
}

// goroutinesBack waits until the number of goroutines falls back to at
// most n.
func goroutinesBack(t testing.TB, n int) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for runtime.NumGoroutine() > n {
		if time.Now().After(deadline) {
			buf := make([]byte, 1<<20)
			t.Fatalf("goroutines: %d, want at most %d\n%s", runtime.NumGoroutine(), n, buf[:runtime.Stack(buf, true)])
		}
		time.Sleep(20 * time.Millisecond)
	}
}
