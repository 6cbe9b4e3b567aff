package siptest

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/emiago/sipgo/sip"

	"github.com/switchboard-voice/switchboard/media/dtmf"
)

// SRTP reports whether the call's media is encrypted (SDES-SRTP negotiated).
func (c *Call) SRTP() bool { return c.media.srtpActive() }

// TelephoneEvent returns the payload type and clock rate of the negotiated
// telephone-event (RFC 4733), and false when none was negotiated.
func (c *Call) TelephoneEvent() (pt uint8, clock int, ok bool) {
	f, ok := c.media.telephoneEvent()
	return f.pt, f.clock, ok
}

// SendDTMF sends digit ('0'-'9', '*', '#', 'A'-'D') for d (0: 100 ms; clamped
// to 40 ms..5 s) as RFC 4733 telephone-events on the media stream, in the
// negotiated telephone-event payload type and clock, with the SSRC and
// sequence numbers of the audio (which it replaces meanwhile). It returns
// once the three end packets were sent. Telephone-event must have been
// negotiated and the call must be sending.
func (c *Call) SendDTMF(ctx context.Context, digit rune, d time.Duration) error {
	if _, ok := dtmf.Code(digit); !ok {
		return fmt.Errorf("siptest: %w: %q", dtmf.ErrInvalidDigit, digit)
	}
	if _, ok := c.media.telephoneEvent(); !ok {
		return errors.New("siptest: telephone-event was not negotiated")
	}
	job := &dtmfJob{ctx: ctx, digit: digit, d: d, done: make(chan error, 1)}
	select {
	case c.media.dtmfJobs <- job:
	case <-c.media.done:
		return ErrEnded
	case <-ctx.Done():
		return ctx.Err()
	}
	select {
	case err := <-job.done:
		return err
	case <-c.media.done:
		return ErrEnded
	case <-ctx.Done():
		return ctx.Err()
	}
}

// SendDTMFInfo sends digit in an in-dialog INFO with Content-Type
// application/dtmf-relay ("Signal=…\r\nDuration=…") and waits for the
// response; a non-2xx response is returned as *StatusError.
func (c *Call) SendDTMFInfo(ctx context.Context, digit rune, d time.Duration) error {
	ct, body := dtmf.FormatInfo(digit, d)
	if ct == "" {
		return fmt.Errorf("siptest: %w: %q", dtmf.ErrInvalidDigit, digit)
	}
	c.mu.Lock()
	if c.isEnded {
		c.mu.Unlock()
		return ErrEnded
	}
	c.localSeq++
	req := c.newRequestLocked(sip.INFO, c.localSeq)
	c.mu.Unlock()
	h := sip.ContentTypeHeader(ct)
	req.AppendHeader(&h)
	setBody(req, body)
	res, err := c.ua.cli.Do(ctx, req)
	if err != nil {
		return fmt.Errorf("siptest: INFO: %w", err)
	}
	if !res.IsSuccess() {
		return &StatusError{res.StatusCode, res.Reason, res}
	}
	return nil
}

// Digits returns the DTMF digits received on the call so far, in order of
// arrival: RFC 4733 events (one per key press, however many packets) and
// SIP INFO (application/dtmf-relay or application/dtmf).
func (c *Call) Digits() []Digit {
	d, _ := c.media.digitsSnapshot()
	return d
}

// WaitDigits waits until at least n digits were received and returns them
// all (see Digits). When ctx is done first it returns those received so far
// with an error.
func (c *Call) WaitDigits(ctx context.Context, n int) ([]Digit, error) {
	for {
		d, next := c.media.digitsSnapshot()
		if len(d) >= n {
			return d, nil
		}
		select {
		case <-next:
		case <-ctx.Done():
			return d, fmt.Errorf("siptest: %d of %d digits received: %w", len(d), n, ctx.Err())
		}
	}
}

// SetImpairment degrades the RTP the call sends from now on (RFC 4733
// events included): random loss and random delay (jitter, which reorders).
// Delayed packets wait in a bounded queue serviced by the sending goroutine;
// they are discarded when the call ends. The zero Impairment turns it off.
func (c *Call) SetImpairment(imp Impairment) { c.media.setImpairment(imp) }

// SetPause sets what the call's RTP stream does while the call does not
// send (see Pause); PauseClock until set.
func (c *Call) SetPause(p Pause) { c.media.setPause(p) }

// Mute stops (true) or restarts sending audio without telling the far end,
// as a phone's mute button or voice activity detection does; meanwhile the
// stream pauses as SetPause says (with PauseSkip the far end sees loss).
// Digits still go out.
func (c *Call) Mute(on bool) { c.media.setMuted(on) }

// RTPDropped returns how many RTP packets the Impairment dropped (not
// counted as sent by RTPStats).
func (c *Call) RTPDropped() int { return int(c.media.dropped.Load()) }

// RTCPReceived returns how many RTCP packets arrived, multiplexed on the
// RTP port or on RTP port + 1 (SRTCP: only those that verify).
func (c *Call) RTCPReceived() int { return int(c.media.rtcpReceived.Load()) }

// onInfo answers an in-dialog INFO: DTMF bodies (application/dtmf-relay,
// application/dtmf) are recorded as digits of the call (400 when malformed);
// any other INFO is answered 200.
func (u *UA) onInfo(req *sip.Request, tx sip.ServerTransaction) {
	c := u.lookup(req)
	if c == nil {
		u.respond(req, tx, 481, "Call/Transaction Does Not Exist")
		return
	}
	ct := ""
	if h := req.GetHeader("Content-Type"); h != nil {
		ct = h.Value()
	}
	digit, d, err := dtmf.ParseInfo(ct, req.Body())
	switch {
	case errors.Is(err, dtmf.ErrUnsupportedInfo):
	case err != nil:
		c.log.Debug("bad DTMF INFO", "error", err)
		u.respond(req, tx, 400, "Bad Request")
		return
	default:
		c.media.addDigit(Digit{Digit: digit, Via: ViaINFO, Duration: d})
	}
	u.respond(req, tx, 200, "OK")
}

// SetCodecs changes the codecs ("PCMU", "PCMA", "opus") the call offers in
// its next re-INVITEs and accepts in offers it receives, in this order, with
// telephone-event at each clock when the call offered it before. The codec
// in use changes with the next offer/answer, as RFC 3264 §8.3.2 has it.
func (c *Call) SetCodecs(names ...string) error {
	if len(names) == 0 {
		return errors.New("siptest: SetCodecs needs at least one codec")
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	noTE := true
	for _, f := range c.offer {
		if f.isTE() {
			noTE = false
		}
	}
	fs, err := offerFormats(names, nil, noTE)
	if err != nil {
		return err
	}
	c.offer = fs
	return nil
}

// HoldReinvites makes the UA hold back its answer to each re-INVITE it
// receives from now on, as a slow far end would: held delivers each one as
// it waits (up to 8 unread), and release answers them all as the UA would
// have and stops holding. A held re-INVITE whose call ends meanwhile is
// answered 487.
func (c *Call) HoldReinvites() (held <-chan *sip.Request, release func()) {
	gate, ch := make(chan struct{}), make(chan *sip.Request, 8)
	c.mu.Lock()
	c.holdGate, c.holdHeld = gate, ch
	c.mu.Unlock()
	return ch, sync.OnceFunc(func() {
		c.mu.Lock()
		c.holdGate, c.holdHeld = nil, nil
		c.mu.Unlock()
		close(gate)
	})
}
