// Package agent is a Go WebRTC agent client for the switch's gateway: what
// an agent's browser does, on pion. It POSTs a WHIP offer (all candidates
// gathered first: no trickle), sends an Opus tone continuously (20 ms
// packets paced by the clock), decodes what it receives and detects tones
// in it (Goertzel, media/tone), sends and receives RFC 4733 digits, and
// DELETEs its session on Close.
//
// It serves the gateway's tests, `switchboard agentsim` and load tests.
package agent

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"net"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pion/interceptor"
	"github.com/pion/webrtc/v4"

	"github.com/switchboard-voice/switchboard/gateway/internal/rtc"
	"github.com/switchboard-voice/switchboard/media"
	"github.com/switchboard-voice/switchboard/media/codec"
	"github.com/switchboard-voice/switchboard/media/dtmf"
	"github.com/switchboard-voice/switchboard/media/tone"
)

// Options tune a Client.
type Options struct {
	// ToneHz is the frequency of the tone the agent sends; 0 sends silence.
	ToneHz float64
	// Amplitude is the tone's peak as a fraction of full scale; 0 = 0.3.
	Amplitude float64
	// LoopbackOnly keeps ICE on 127.0.0.1 (tests).
	LoopbackOnly bool
	// HTTPClient makes the WHIP requests; nil uses http.DefaultClient.
	HTTPClient *http.Client
	// Complexity is the Opus encoder complexity (see codec.Options); 0 =
	// the codec's default. Load tests lower it.
	Complexity int
	// SkipDecode counts what arrives without decoding it (load tests):
	// Hears and WaitTone then hear nothing, and FirstAudio is the first
	// packet bigger than the switch's Opus silence.
	SkipDecode bool
}

// sampleRate is the PCM rate the client encodes at (a browser's).
const sampleRate = 48000

// listenRate is the PCM rate the client decodes at: the switch's tones are
// well inside narrowband, and G.711 calls carry nothing above it.
const listenRate = 8000

// listenWindow is how much recent audio Hears looks at.
const listenWindow = 200 * time.Millisecond

// audibleRMS is the RMS level (int16 units, about -60 dBFS) above which a
// decoded frame counts as audio for FirstAudio: Opus silence decodes to 0.
const audibleRMS = 32

const frame = codec.FrameDuration

// silenceSize is the largest Opus packet the switch sends as silence
// between calls (3 bytes); audio frames are bigger.
const silenceSize = 8

// loopFrames is how many encoded frames of the tone the client replays.
const loopFrames = 50

// dtxFrames is how often a muted client sends a frame: one in 20 (every
// 400 ms), as a browser's Opus encoder does in DTX.
const dtxFrames = 20

// opusSilence is one 20 ms Opus frame that decodes to digital silence.
var opusSilence = [...]byte{0xf8, 0xff, 0xfe}

// Client is one agent's WebRTC session with the switch.
type Client struct {
	pc       *webrtc.PeerConnection
	track    *rtc.Track
	sender   *webrtc.RTPSender
	http     *http.Client
	token    string
	location string // the session's URL
	opusPT   uint8
	eventPT  uint8
	hasEvent bool
	opts     Options

	connected chan struct{}
	connOnce  sync.Once
	lost      chan struct{} // closed when the PeerConnection fails or closes
	lostOnce  sync.Once

	mu       sync.Mutex // guards the listening state
	det      *tone.Detector
	first    time.Time
	received uint64 // Opus packets received and decoded
	ended    bool   // shutting down: no new receivers
	// What arrived of the switch's RTP stream (Opus and telephone-events
	// share its sequence numbers): packets read, and packets expected from
	// the sequence numbers (RFC 3550 A.3: highest - first + 1, per track).
	rtpReceived, rtpExpected uint64

	dtmfReq chan dtmfRequest
	digits  chan rune

	// The microphone's state, read by the sender.
	muted    atomic.Bool
	lossBits atomic.Uint64 // math.Float64bits of the fraction SetLoss drops
	// RTP packets numbered: sent to the switch, or dropped by SetLoss.
	rtpSent, rtpDropped atomic.Uint64

	stop      chan struct{}
	wg        sync.WaitGroup
	closeOnce sync.Once
	closeErr  error
}

type dtmfRequest struct {
	digit rune
	d     time.Duration
	sent  chan struct{}
}

// Connect makes a PeerConnection, POSTs its offer to whipURL with the
// agent's token, applies the answer, starts sending and returns once the
// PeerConnection is connected (or fails with ctx). On failure nothing is
// left behind: a session created on the switch is deleted.
func Connect(ctx context.Context, whipURL, token string, o Options) (*Client, error) {
	api, err := rtc.NewAPI(rtc.Config{LoopbackOnly: o.LoopbackOnly})
	if err != nil {
		return nil, err
	}
	pc, err := api.NewPeerConnection(webrtc.Configuration{})
	if err != nil {
		return nil, fmt.Errorf("agent: new PeerConnection: %w", err)
	}
	if o.Amplitude == 0 {
		o.Amplitude = 0.3
	}
	c := &Client{
		pc:        pc,
		track:     rtc.NewTrack("microphone", "agent"),
		http:      o.HTTPClient,
		token:     token,
		opts:      o,
		connected: make(chan struct{}),
		lost:      make(chan struct{}),
		det:       tone.NewDetector(listenRate, listenWindow),
		dtmfReq:   make(chan dtmfRequest),
		digits:    make(chan rune, 32),
		stop:      make(chan struct{}),
	}
	if c.http == nil {
		c.http = http.DefaultClient
	}
	if err := c.connect(ctx, whipURL); err != nil {
		_ = c.Close()
		return nil, err
	}
	return c, nil
}

func (c *Client) connect(ctx context.Context, whipURL string) error {
	pc := c.pc
	tr, err := pc.AddTransceiverFromTrack(c.track, webrtc.RTPTransceiverInit{Direction: webrtc.RTPTransceiverDirectionSendrecv})
	if err != nil {
		return fmt.Errorf("agent: add transceiver: %w", err)
	}
	c.sender = tr.Sender()
	pc.OnTrack(c.onTrack)
	pc.OnConnectionStateChange(func(st webrtc.PeerConnectionState) {
		switch st {
		case webrtc.PeerConnectionStateConnected:
			c.connOnce.Do(func() { close(c.connected) })
		case webrtc.PeerConnectionStateFailed, webrtc.PeerConnectionStateClosed:
			c.lostOnce.Do(func() { close(c.lost) })
		}
	})
	offer, err := pc.CreateOffer(nil)
	if err != nil {
		return fmt.Errorf("agent: create offer: %w", err)
	}
	gathered := webrtc.GatheringCompletePromise(pc)
	if err := pc.SetLocalDescription(offer); err != nil {
		return fmt.Errorf("agent: set local description: %w", err)
	}
	select {
	case <-gathered:
	case <-ctx.Done():
		return fmt.Errorf("agent: ICE gathering: %w", ctx.Err())
	}
	answer, err := c.post(ctx, whipURL, pc.LocalDescription().SDP)
	if err != nil {
		return err
	}
	if err := pc.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeAnswer, SDP: answer}); err != nil {
		return fmt.Errorf("agent: set answer: %w", err)
	}
	opus, event, err := rtc.Negotiated(c.sender.GetParameters().Codecs)
	if err != nil {
		return fmt.Errorf("agent: %w", err)
	}
	c.opusPT, c.eventPT, c.hasEvent = uint8(opus.PayloadType), uint8(event.PayloadType), event.MimeType != ""
	enc, err := codec.NewEncoder(codec.Opus, sampleRate, codec.Options{Complexity: c.opts.Complexity})
	if err != nil {
		return fmt.Errorf("agent: %w", err)
	}
	c.wg.Add(2)
	go c.send(enc)
	go c.drainRTCP(c.sender.Read)
	select {
	case <-c.connected:
		return nil
	case <-c.lost:
		return errors.New("agent: PeerConnection failed before connecting")
	case <-ctx.Done():
		return fmt.Errorf("agent: waiting for ICE and DTLS: %w", ctx.Err())
	}
}

// post sends the WHIP offer and returns the answer.
func (c *Client) post(ctx context.Context, whipURL, offer string) (string, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, whipURL, strings.NewReader(offer))
	if err != nil {
		return "", fmt.Errorf("agent: WHIP request: %w", err)
	}
	req.Header.Set("Content-Type", "application/sdp")
	req.Header.Set("Authorization", "Bearer "+c.token)
	res, err := c.http.Do(req)
	if err != nil {
		return "", fmt.Errorf("agent: WHIP POST: %w", err)
	}
	defer res.Body.Close()
	body, err := io.ReadAll(io.LimitReader(res.Body, 64<<10))
	if err != nil {
		return "", fmt.Errorf("agent: WHIP answer: %w", err)
	}
	if res.StatusCode != http.StatusCreated {
		return "", &StatusError{Code: res.StatusCode, Body: strings.TrimSpace(string(body))}
	}
	loc, err := res.Location()
	if err != nil {
		return "", fmt.Errorf("agent: WHIP answer without Location: %w", err)
	}
	c.location = loc.String()
	return string(body), nil
}

// StatusError is a WHIP request answered with an unexpected status.
type StatusError struct {
	Code int
	Body string // the server's one-line explanation
}

func (e *StatusError) Error() string {
	return fmt.Sprintf("agent: the switch answered %d %s: %s", e.Code, http.StatusText(e.Code), e.Body)
}

// SessionURL is the session's resource (the WHIP Location, absolute).
func (c *Client) SessionURL() string { return c.location }

// Lost is closed when the PeerConnection fails or closes (the switch ended
// the session, or ICE failed).
func (c *Client) Lost() <-chan struct{} { return c.lost }

// send is the microphone: a 20 ms Opus frame of the tone every 20 ms, paced
// by the clock (frames missed by a late wake-up go out at once, up to
// 100 ms), with the digits SendDTMF queues interleaved as telephone-events.
func (c *Client) send(enc codec.Encoder) {
	defer c.wg.Done()
	// The tone is encoded once, a second of it (a whole number of cycles for
	// a whole-hertz tone), and replayed: a load test's agents then cost
	// packets, not an encoder each.
	gen := tone.NewGenerator(sampleRate, c.opts.ToneHz, c.opts.Amplitude)
	pcm := make([]int16, codec.FrameSamples(sampleRate))
	loop := make([][]byte, 0, loopFrames)
	for range loopFrames {
		gen.Fill(pcm)
		buf := make([]byte, 1275)
		if size, err := enc.Encode(pcm, buf); err == nil && size > 0 {
			loop = append(loop, buf[:size])
		}
	}
	digits := dtmf.NewGenerator(rtc.ClockRate, frame)
	var pkt [12 + 1275]byte
	var ev [12 + dtmf.PayloadSize]byte
	ssrc, seq, ts0 := rand.Uint32(), uint16(rand.Uint32()), rand.Uint32()
	var pending *dtmfRequest
	start := time.Now()
	timer := time.NewTimer(0)
	defer timer.Stop()
	var n int64
	var lossAcc float64 // share of a packet to drop, carried over
	talkspurt := false  // the next audio frame starts a talkspurt (after DTX)
	for {
		select {
		case <-c.stop:
			if pending != nil {
				close(pending.sent)
			}
			return
		case <-timer.C:
		}
		due := int64(time.Since(start) / frame)
		if due-n > 5 {
			n = due - 5
		}
		for ; n <= due; n++ {
			ts := ts0 + uint32(n)*rtc.ClockRate/50
			switch {
			case c.muted.Load():
				// DTX: a frame of silence now and then; the first
				// frame after it starts a talkspurt.
				if n%dtxFrames == 0 {
					size := copy(pkt[12:], opusSilence[:])
					putHeader(pkt[:], c.opusPT, false, seq, ts, ssrc)
					seq++
					c.writeRTP(pkt[:12+size], &lossAcc)
				}
				talkspurt = true
			case len(loop) > 0:
				size := copy(pkt[12:], loop[n%int64(len(loop))])
				putHeader(pkt[:], c.opusPT, n == 0 || talkspurt, seq, ts, ssrc)
				seq++
				talkspurt = false
				c.writeRTP(pkt[:12+size], &lossAcc)
			}
			if pending == nil {
				select {
				case r := <-c.dtmfReq:
					if digits.Start(r.digit, r.d, ts) == nil {
						pending = &r
					} else {
						close(r.sent)
					}
				default:
				}
			}
			if pending != nil {
				payload, marker, ets, done := digits.Next(ev[12:])
				putHeader(ev[:], c.eventPT, marker, seq, ets, ssrc)
				seq++
				c.writeRTP(ev[:12+len(payload)], &lossAcc)
				if done {
					close(pending.sent)
					pending = nil
				}
			}
		}
		timer.Reset(time.Until(start.Add(time.Duration(n) * frame)))
	}
}

// writeRTP sends one numbered packet to the switch, unless SetLoss drops
// it: packets are dropped evenly, a share of SetLoss's fraction per packet
// carried over in acc.
func (c *Client) writeRTP(pkt []byte, acc *float64) {
	if loss := math.Float64frombits(c.lossBits.Load()); loss > 0 {
		if *acc += loss; *acc >= 1 {
			*acc--
			c.rtpDropped.Add(1)
			return
		}
	}
	c.rtpSent.Add(1)
	_ = c.track.WriteRTP(pkt)
}

// Mute mutes (true) or unmutes the microphone. While muted the client sends
// as a browser's Opus encoder in DTX does: a frame of silence every 400 ms,
// its sequence numbers following on and its timestamps following the
// clock; the first frame of the tone after it carries the marker bit.
func (c *Client) Mute(on bool) { c.muted.Store(on) }

// SetLoss makes the client drop fraction (0..1) of the RTP packets it
// sends from now on, evenly spread (0.2: every fifth), after numbering
// them: the switch sees gaps in the sequence numbers, as over a lossy
// network. 0 sends everything.
func (c *Client) SetLoss(fraction float64) {
	if math.IsNaN(fraction) {
		fraction = 0
	}
	c.lossBits.Store(math.Float64bits(min(max(fraction, 0), 1)))
}

// RTPSent counts the RTP packets the client numbered since it started
// (audio, DTX silence and telephone-events): those sent to the switch and
// those SetLoss dropped.
func (c *Client) RTPSent() (sent, dropped uint64) {
	return c.rtpSent.Load(), c.rtpDropped.Load()
}

func putHeader(p []byte, pt uint8, marker bool, seq uint16, ts, ssrc uint32) {
	p[0], p[1] = 0x80, pt&0x7f
	if marker {
		p[1] |= 0x80
	}
	binary.BigEndian.PutUint16(p[2:], seq)
	binary.BigEndian.PutUint32(p[4:], ts)
	binary.BigEndian.PutUint32(p[8:], ssrc)
}

// drainRTCP reads RTCP with read (the sender's: the switch's reports about
// what the agent sends; the receiver's: its sender reports), which is what
// makes pion's interceptors process it (the agent's receiver reports then
// carry LSR and DLSR, from which the switch measures the round trip).
func (c *Client) drainRTCP(read func([]byte) (int, interceptor.Attributes, error)) {
	defer c.wg.Done()
	buf := make([]byte, 1500)
	for {
		if _, _, err := read(buf); err != nil {
			if c.stopping(err) {
				return
			}
			time.Sleep(frame)
		}
	}
}

func (c *Client) stopping(err error) bool {
	select {
	case <-c.stop:
		return true
	default:
	}
	return errors.Is(err, io.EOF) || errors.Is(err, io.ErrClosedPipe) || errors.Is(err, net.ErrClosed)
}

// onTrack starts listening to the switch's audio.
func (c *Client) onTrack(tr *webrtc.TrackRemote, rcv *webrtc.RTPReceiver) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.ended {
		return
	}
	c.wg.Add(2)
	go c.receive(tr)
	go c.drainRTCP(rcv.Read)
}

// receive decodes the switch's Opus into the tone detector and its
// telephone-events into digits.
func (c *Client) receive(tr *webrtc.TrackRemote) {
	defer c.wg.Done()
	dec, err := codec.NewDecoder(codec.Opus, listenRate)
	if err != nil {
		return
	}
	events := dtmf.NewDetector(rtc.ClockRate)
	buf := make([]byte, 1500)
	pcm := make([]int16, codec.MaxFrameSamples(listenRate))
	var seqs seqCounter
	errs := 0
	for {
		n, _, err := tr.Read(buf)
		if err != nil {
			if c.stopping(err) {
				return
			}
			if errs++; errs > 10 {
				time.Sleep(frame / 4)
			}
			continue
		}
		errs = 0
		payload, ok := media.RTPPayload(buf[:n])
		if !ok {
			continue
		}
		more := seqs.add(binary.BigEndian.Uint16(buf[2:]))
		c.mu.Lock()
		c.rtpReceived++
		c.rtpExpected += more
		c.mu.Unlock()
		switch pt := buf[1] & 0x7f; {
		case pt == c.opusPT && c.opts.SkipDecode:
			c.mu.Lock()
			c.received++
			if len(payload) > silenceSize && c.first.IsZero() {
				c.first = time.Now()
			}
			c.mu.Unlock()
		case pt == c.opusPT:
			k, err := dec.Decode(payload, pcm)
			if err != nil || k == 0 {
				continue
			}
			loud := rms(pcm[:k]) >= audibleRMS
			c.mu.Lock()
			c.received++
			c.det.Write(pcm[:k])
			if loud && c.first.IsZero() {
				c.first = time.Now()
			}
			c.mu.Unlock()
		case c.hasEvent && pt == c.eventPT:
			reports, m := events.Feed(buf[1]&0x80 != 0, binary.BigEndian.Uint32(buf[4:]), payload)
			for _, r := range reports[:m] {
				if r.End {
					select {
					case c.digits <- r.Digit:
					default:
					}
				}
			}
		}
	}
}

// seqCounter follows the sequence numbers of one RTP stream (RFC 3550
// A.1/A.3, without its probation and restart rules: the switch keeps the
// agent's stream continuous across calls and silence, see rtc.Track).
type seqCounter struct {
	started bool
	max     uint64 // highest extended sequence number seen
}

// add takes the next packet's sequence number and returns by how much the
// number of packets expected grew: 1 for the next in order, 1+k after a gap
// of k, 0 for a late (reordered) or duplicated packet.
func (s *seqCounter) add(seq uint16) uint64 {
	if !s.started {
		s.started, s.max = true, uint64(seq)
		return 1
	}
	d := int16(seq - uint16(s.max))
	if d <= 0 {
		return 0
	}
	s.max += uint64(d)
	return uint64(d)
}

func rms(pcm []int16) float64 {
	var e float64
	for _, v := range pcm {
		e += float64(v) * float64(v)
	}
	return math.Sqrt(e / float64(len(pcm)))
}

// Hears reports whether the last 200 ms the agent received hold a tone at
// hz (media/tone's default threshold).
func (c *Client) Hears(hz float64) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.det.Present(hz)
}

// WaitTone waits until the agent hears a tone at hz, or ctx ends.
func (c *Client) WaitTone(ctx context.Context, hz float64) error {
	t := time.NewTicker(frame / 2)
	defer t.Stop()
	for !c.Hears(hz) {
		select {
		case <-ctx.Done():
			return fmt.Errorf("agent: no %g Hz tone heard: %w", hz, ctx.Err())
		case <-c.lost:
			return fmt.Errorf("agent: no %g Hz tone heard: PeerConnection lost", hz)
		case <-t.C:
		}
	}
	return nil
}

// ResetAudio forgets what was heard: the detector's window and FirstAudio.
func (c *Client) ResetAudio() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.det.Reset()
	c.first = time.Time{}
}

// FirstAudio is when the first audible (not silent) frame arrived since
// the client started or ResetAudio; the zero Time if none has.
func (c *Client) FirstAudio() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.first
}

// PacketsReceived counts the Opus packets received from the switch (its
// silence between calls included).
func (c *Client) PacketsReceived() uint64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.received
}

// RTPStats counts the switch's RTP stream as the agent received it, from
// the start of the session: packets read (Opus and telephone-events) and
// packets lost, the gaps in their sequence numbers (RFC 3550: expected -
// received, 0 when duplicates outnumber the gaps). A packet that arrives
// after a later one still counts as received.
func (c *Client) RTPStats() (received, lost uint64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.rtpExpected > c.rtpReceived {
		lost = c.rtpExpected - c.rtpReceived
	}
	return c.rtpReceived, lost
}

// Digits delivers the RFC 4733 digits the switch sends to the agent, once
// each, when they end. Digits nobody reads are dropped after 32.
func (c *Client) Digits() <-chan rune { return c.digits }

// SendDTMF sends digit as RFC 4733 telephone-events (100 ms, with the tone
// going on) and returns once its last packet is sent.
func (c *Client) SendDTMF(digit rune) error {
	if !c.hasEvent {
		return errors.New("agent: telephone-event was not negotiated")
	}
	if _, ok := dtmf.Code(digit); !ok {
		return fmt.Errorf("agent: %q is not a DTMF key", digit)
	}
	r := dtmfRequest{digit: digit, d: dtmf.DefaultDuration, sent: make(chan struct{})}
	select {
	case c.dtmfReq <- r:
	case <-c.stop:
		return net.ErrClosed
	}
	select {
	case <-r.sent:
		return nil
	case <-c.stop:
		return net.ErrClosed
	}
}

// Close ends the session: DELETE on the switch, then the PeerConnection
// closes. It is idempotent and returns the DELETE's failure, if any.
func (c *Client) Close() error {
	c.closeOnce.Do(func() {
		if c.location != "" {
			c.closeErr = c.delete()
		}
		c.shutdown()
	})
	return c.closeErr
}

// Abandon drops the PeerConnection without telling the switch, like a
// browser tab that crashed: the switch notices when ICE or DTLS ends.
func (c *Client) Abandon() {
	c.closeOnce.Do(c.shutdown)
}

func (c *Client) shutdown() {
	c.mu.Lock()
	c.ended = true
	c.mu.Unlock()
	close(c.stop)
	_ = c.pc.Close()
	c.wg.Wait()
}

func (c *Client) delete() error {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodDelete, c.location, nil)
	if err != nil {
		return fmt.Errorf("agent: DELETE: %w", err)
	}
	req.Header.Set("Authorization", "Bearer "+c.token)
	res, err := c.http.Do(req)
	if err != nil {
		return fmt.Errorf("agent: DELETE: %w", err)
	}
	defer res.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(res.Body, 4<<10))
	if res.StatusCode != http.StatusOK && res.StatusCode != http.StatusNoContent {
		return &StatusError{Code: res.StatusCode, Body: string(bytes.TrimSpace(body))}
	}
	return nil
}
