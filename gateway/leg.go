package gateway

import (
	"context"
	"fmt"
	"log/slog"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"

	"github.com/switchboard-voice/switchboard/call"
	"github.com/switchboard-voice/switchboard/media"
	"github.com/switchboard-voice/switchboard/media/codec"
)

// Leg is one call's use of an agent's session: a call.Leg whose media
// socket runs over the session's PeerConnection. It is answered from the
// start (the agent accepted the call before the ACD attached it).
//
// Its socket is Pushed: the session's pumps hand it the RTP they read from
// the browser's track and the RTCP pion receives, from the fixed address
// remote (so the socket's latching holds); what it sends goes through a
// trackConn to the session's track,
// renumbered into the one stream the browser has been receiving since the
// session started (see rtc.Track), while the session's silence stops.
type Leg struct {
	s       *Session
	id      string
	callID  string
	log     *slog.Logger
	sock    *media.Socket
	remote  netip.AddrPort    // what the socket is told packets come from
	desc    media.Description // the leg's answer: Opus and telephone-event, sendrecv
	cfg     media.StreamConfig
	dir     atomic.Uint32 // media.Direction agreed with the call (Update)
	events  chan call.Event
	ssrcSet atomic.Bool // the quality monitor knows the track's SSRC

	mu    sync.Mutex // guards cfg and cause
	cause call.Cause // why the leg ended, set before done closes

	finishOnce sync.Once
	done       chan struct{}
}

var _ call.Leg = (*Leg)(nil)

// eventBuffer is how many notifications (Answered, DTMF) a leg holds for a
// slow owner; beyond it they are dropped and logged. The leg's end is not
// one of them: Done and Cause.
const eventBuffer = 32

// Attach switches the session's audio to a new leg for callID. The leg's
// Events start with call.Answered. Only one leg is attached at a time
// (ErrBusy); a session that has ended gives ErrSessionClosed.
func (s *Session) Attach(ctx context.Context, callID string) (*Leg, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	switch {
	case s.ended:
		return nil, ErrSessionClosed
	case s.attached.Load() != nil:
		return nil, ErrBusy
	}
	s.calls++
	l := &Leg{
		s:      s,
		id:     fmt.Sprintf("%s/%d", s.id, s.calls),
		callID: callID,
		events: make(chan call.Event, eventBuffer),
		done:   make(chan struct{}),
	}
	l.log = s.log.With("call", callID, "leg", l.id)
	local, remote := s.addrs()
	l.remote = remote
	sock, err := media.NewSocket(media.SocketOptions{RTP: newTrackConn(l.send), RTCP: newTrackConn(nil), Local: local,
		Stats: s.srv.stats, Pushed: true})
	if err != nil {
		return nil, err
	}
	l.sock = sock
	l.desc = media.Description{Codecs: []media.Codec{s.opus}, Direction: media.SendRecv, Ptime: 20, RTCPMux: true}
	l.cfg = media.StreamConfig{Audio: s.opus, Ptime: 20, Sending: true, Encoder: encoderOptions(s.opus, s.srv.o.Encoder)}
	if s.event.Name != "" {
		l.desc.Codecs = append(l.desc.Codecs, s.event)
		l.cfg.Event = s.event
	}
	l.dir.Store(uint32(media.SendRecv))
	sock.Configure(l.cfg)
	sock.SetRemote(remote)
	sock.SetRemoteRTCP(remote)
	l.monitorSSRC()
	sock.OnDTMF(func(digit rune, d time.Duration) {
		l.log.Info("DTMF received", "digit", string(digit), "mode", "rfc4733")
		l.emit(call.DTMF{Digit: digit, Duration: d, InBand: true})
	})
	l.emit(call.Answered{Answer: l.desc.Clone()})
	s.attached.Store(l)
	l.log.Info("leg attached", "opus_pt", s.opus.PayloadType)
	return l, nil
}

// encoderOptions is how the switch encodes Opus towards the browser: base
// (the server's complexity and bit rate), with in-band FEC when it asks for
// it, within its maxplaybackrate.
func encoderOptions(c media.Codec, base codec.Options) codec.Options {
	f := codec.ParseOpusFmtp(c.Fmtp)
	o := base
	o.MaxPlaybackRate = f.MaxPlaybackRate
	if f.UseInbandFEC {
		o.FEC, o.PacketLossPerc = true, 5
	}
	return o
}

// ID identifies the leg: the session's ID and the call's number in it.
func (l *Leg) ID() string { return l.id }

// CallID is the call the leg was attached for.
func (l *Leg) CallID() string { return l.callID }

// Session is the agent session the leg runs in.
func (l *Leg) Session() *Session { return l.s }

// Socket is the switch's media endpoint facing the agent.
func (l *Leg) Socket() *media.Socket { return l.sock }

// Events delivers Answered at once and DTMF from the agent. It is never
// closed: the leg's end is Done.
func (l *Leg) Events() <-chan call.Event { return l.events }

// Description is the leg's answer: Opus and telephone-event with the
// session's payload types.
func (l *Leg) Description() media.Description { return l.desc.Clone() }

// Done is closed once the leg is detached (Hangup, End, or the session
// ended); Cause says why.
func (l *Leg) Done() <-chan struct{} { return l.done }

// Cause is why the leg ended: the agent's End, the session's end
// (CauseSessionEnded, CauseMediaLost) or the cause given to Hangup.
func (l *Leg) Cause() call.Cause {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.cause
}

// Update takes a new offer from the call (hold, resume) and answers it
// with the direction mirrored, without renegotiating with the browser: the
// agent's audio is dropped while the answer does not send, and the switch's
// audio while it does not receive (the session's silence keeps the
// browser's track alive meanwhile).
func (l *Leg) Update(ctx context.Context, offer media.Description) (media.Description, error) {
	if err := ctx.Err(); err != nil {
		return media.Description{}, err
	}
	select {
	case <-l.done:
		return media.Description{}, call.Cause{Code: 481, Reason: "Call Leg Does Not Exist"}
	default:
	}
	dir := media.SendRecv.AnswerTo(offer.Direction)
	l.dir.Store(uint32(dir))
	l.s.poke()
	l.mu.Lock()
	l.cfg.Sending = dir.Sends()
	l.sock.Configure(l.cfg)
	l.mu.Unlock()
	ans := l.desc.Clone()
	ans.Direction = dir
	l.log.Info("leg updated", "direction", dir.String())
	return ans, nil
}

// Hangup detaches the leg: the session goes back to silence and stays
// alive for the agent's next call. It is idempotent.
func (l *Leg) Hangup(ctx context.Context, cause call.Cause) error {
	l.finish(false, cause)
	return nil
}

// End is the agent ending the call (through the REST API): the leg
// detaches, Done closes and Cause is cause. A zero cause is call.Normal.
func (l *Leg) End(cause call.Cause) {
	if cause.Code == 0 {
		cause = call.Normal
	}
	l.finish(true, cause)
}

// SendDTMF sends digit to the agent as RFC 4733 telephone-events.
func (l *Leg) SendDTMF(ctx context.Context, digit rune, d time.Duration) error {
	select {
	case <-l.done:
		return call.Cause{Code: 481, Reason: "Call Leg Does Not Exist"}
	default:
	}
	return l.sock.SendDTMF(ctx, digit, d)
}

// finish detaches the leg once: the pumps stop delivering to it, its
// socket closes (the reader goroutines end), and Done closes with cause
// recorded. remote says the agent's side ended it (End, the session), for
// the log.
func (l *Leg) finish(remote bool, cause call.Cause) {
	l.finishOnce.Do(func() {
		l.s.attached.CompareAndSwap(l, nil)
		l.s.poke()
		_ = l.sock.Close()
		l.mu.Lock()
		l.cause = cause
		l.mu.Unlock()
		close(l.done)
		l.log.Info("leg detached", "remote", remote, "cause", cause.String())
	})
}

// emit delivers a notification without ever blocking the media path: when
// the owner is not reading and the channel is full, it is dropped and
// logged. After the leg's end nothing is delivered.
func (l *Leg) emit(ev call.Event) {
	select {
	case <-l.done:
		return
	default:
	}
	select {
	case l.events <- ev:
	default:
		l.log.Error("leg event dropped: owner not reading", "event", fmt.Sprintf("%T", ev))
	}
}

// receives reports whether the agent is to hear the call (the agreed
// direction lets the switch send).
func (l *Leg) receives() bool { return media.Direction(l.dir.Load()).Receives() }

// send is the RTP side of the leg's transport: packets the socket sends
// go to the session's track while the agent is to hear them.
func (l *Leg) send(pkt []byte) error {
	if !l.receives() {
		return nil
	}
	return l.s.track.WriteRTP(pkt)
}

// deliverRTP hands a packet from the browser to the leg's socket while the
// agent is to be heard.
func (l *Leg) deliverRTP(pkt []byte) {
	if !media.Direction(l.dir.Load()).Sends() {
		return
	}
	l.sock.ReceiveRTP(pkt, l.remote)
}

// deliverRTCP hands RTCP pion received to the leg's socket.
func (l *Leg) deliverRTCP(pkt []byte) {
	if !l.ssrcSet.Load() {
		l.monitorSSRC()
	}
	l.sock.ReceiveRTCP(pkt, l.remote)
}

// monitorSSRC points the socket's quality monitor at the SSRC the
// browser's reports are about: the track's (pion's), not the socket's own,
// once the track is bound (ICE and DTLS connected).
func (l *Leg) monitorSSRC() {
	if ssrc, ok := l.s.track.SSRC(); ok {
		l.sock.Quality().SetSSRC(ssrc)
		l.ssrcSet.Store(true)
	}
}
