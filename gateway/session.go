package gateway

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pion/interceptor"
	"github.com/pion/webrtc/v4"

	"github.com/switchboard-voice/switchboard/call"
	"github.com/switchboard-voice/switchboard/gateway/internal/rtc"
	"github.com/switchboard-voice/switchboard/media"
	"github.com/switchboard-voice/switchboard/media/codec"
)

// Session is one logged-in agent's persistent PeerConnection. Between calls
// it sends Opus silence; a call attaches a Leg. It ends on DELETE, a new
// session of the same agent, Close, or when the PeerConnection fails.
type Session struct {
	srv     *Server
	id      string
	agentID string
	log     *slog.Logger
	pc      *webrtc.PeerConnection
	track   *rtc.Track
	sender  *webrtc.RTPSender
	opus    media.Codec // as negotiated: the browser's payload type and fmtp
	event   media.Codec // telephone-event/48000; zero if not negotiated

	// attached is the leg the pumps and the silence read (nil between
	// calls). It is set under mu (Attach) and cleared by the leg itself.
	attached  atomic.Pointer[Leg]
	connected chan struct{} // closed when the PeerConnection first connects
	connOnce  sync.Once

	mu    sync.Mutex // guards ended and calls, and Attach against end
	ended bool
	calls int            // legs attached so far, for their IDs
	stop  chan struct{}  // closed to stop the session's goroutines
	wake  chan struct{}  // wakes the silence pacer: a leg detached or changed direction
	wg    sync.WaitGroup // the session's goroutines: silence, pumps
	endMu sync.Mutex     // serialises end
	done  chan struct{}
	timer *time.Timer // connect time-out
}

// ID is the session's ID, the last segment of its Location.
func (s *Session) ID() string { return s.id }

// AgentID is the agent the session belongs to.
func (s *Session) AgentID() string { return s.agentID }

// Done is closed when the session has ended and its resources are freed.
func (s *Session) Done() <-chan struct{} { return s.done }

// Connected is closed once the PeerConnection has connected (ICE and DTLS).
func (s *Session) Connected() <-chan struct{} { return s.connected }

// Close ends the session (as a DELETE does): an attached leg ends with
// CauseSessionEnded. It returns once everything is freed; it is idempotent.
func (s *Session) Close() error {
	s.end(CauseSessionEnded)
	return nil
}

// newSession answers an offer: a PeerConnection with the switch's track,
// the answer once ICE gathering is complete, the session registered for the
// agent (replacing an earlier one).
func (srv *Server) newSession(ctx context.Context, agentID, offer string) (*Session, string, error) {
	pc, err := srv.api.NewPeerConnection(webrtc.Configuration{})
	if err != nil {
		return nil, "", fmt.Errorf("gateway: new PeerConnection: %w", err)
	}
	s := &Session{
		srv:       srv,
		id:        newID(),
		agentID:   agentID,
		pc:        pc,
		track:     rtc.NewTrack("audio", "switchboard"),
		connected: make(chan struct{}),
		stop:      make(chan struct{}),
		wake:      make(chan struct{}, 1),
		done:      make(chan struct{}),
	}
	s.log = srv.log.With("agent", agentID, "session", s.id)
	s.timer = time.AfterFunc(srv.o.ConnectTimeout, s.connectTimeout)
	fail := func(err error) (*Session, string, error) {
		s.end(CauseMediaLost) // never registered: this only frees it
		return nil, "", err
	}
	// Handlers first: pion may call them as soon as the description is set.
	pc.OnTrack(s.onTrack)
	pc.OnConnectionStateChange(s.onState)
	if err := pc.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeOffer, SDP: offer}); err != nil {
		return fail(badOfferError{err})
	}
	// After SetRemoteDescription, AddTrack reuses the offer's transceiver.
	if s.sender, err = pc.AddTrack(s.track); err != nil {
		return fail(fmt.Errorf("gateway: add track: %w", err))
	}
	opus, event, err := rtc.Negotiated(s.sender.GetParameters().Codecs)
	if err != nil {
		return fail(badOfferError{err})
	}
	s.opus = media.Codec{Name: "opus", PayloadType: uint8(opus.PayloadType), ClockRate: opus.ClockRate, Channels: uint8(opus.Channels), Fmtp: opus.SDPFmtpLine}
	if event.MimeType != "" {
		s.event = media.Codec{Name: "telephone-event", PayloadType: uint8(event.PayloadType), ClockRate: event.ClockRate, Fmtp: event.SDPFmtpLine}
	}
	s.mu.Lock()
	s.wg.Add(2)
	go s.pace()
	go s.pumpRTCP(s.sender.Read)
	s.mu.Unlock()
	answer, err := pc.CreateAnswer(nil)
	if err != nil {
		return fail(badOfferError{err})
	}
	gathered := webrtc.GatheringCompletePromise(pc)
	if err := pc.SetLocalDescription(answer); err != nil {
		return fail(fmt.Errorf("gateway: set local description: %w", err))
	}
	gctx, cancel := context.WithTimeout(ctx, srv.o.GatherTimeout)
	defer cancel()
	select {
	case <-gathered:
	case <-gctx.Done():
		return fail(fmt.Errorf("gateway: ICE gathering: %w", gctx.Err()))
	}
	local := pc.LocalDescription()
	if local == nil {
		return fail(errors.New("gateway: no local description"))
	}
	old, err := srv.register(s)
	if err != nil {
		return fail(err)
	}
	s.log.Info("agent session started", "opus_pt", s.opus.PayloadType, "event_pt", s.event.PayloadType)
	if old != nil {
		old.log.Info("agent session replaced", "by", s.id)
		go old.end(CauseSessionEnded)
	}
	return s, local.SDP, nil
}

// connectTimeout ends a session whose PeerConnection has not connected.
func (s *Session) connectTimeout() {
	select {
	case <-s.connected:
	default:
		s.log.Warn("agent media did not connect", "timeout", s.srv.o.ConnectTimeout)
		s.end(CauseMediaLost)
	}
}

// hasEnded reports whether the session has ended (or is ending).
func (s *Session) hasEnded() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.ended
}

// onState follows the PeerConnection: connected, or failed/closed (the
// session ends).
func (s *Session) onState(st webrtc.PeerConnectionState) {
	switch st {
	case webrtc.PeerConnectionStateConnected:
		s.connOnce.Do(func() { close(s.connected) })
		s.log.Info("agent media connected")
	case webrtc.PeerConnectionStateDisconnected:
		s.log.Warn("agent media disconnected")
	case webrtc.PeerConnectionStateFailed, webrtc.PeerConnectionStateClosed:
		s.end(CauseMediaLost)
	}
}

// onTrack starts the pumps of the browser's audio track and its RTCP.
func (s *Session) onTrack(tr *webrtc.TrackRemote, rcv *webrtc.RTPReceiver) {
	if tr.Kind() != webrtc.RTPCodecTypeAudio {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.ended {
		return
	}
	s.wg.Add(2)
	go s.pumpRTP(tr)
	go s.pumpRTCP(rcv.Read)
}

// pumpRTP reads the browser's RTP for the session's life and delivers it
// to the attached leg, if any (otherwise it is dropped: nobody listens to
// the agent between calls).
func (s *Session) pumpRTP(tr *webrtc.TrackRemote) {
	defer s.wg.Done()
	var buf [1500]byte // pion reads at most its receive MTU, 1460 bytes
	errs := 0
	for {
		n, _, err := tr.Read(buf[:])
		if err != nil {
			if s.stopping(err) {
				return
			}
			if errs++; errs > 10 {
				time.Sleep(frame / 4) // not a busy loop on a stream that keeps failing
			}
			continue // e.g. a payload type not negotiated
		}
		errs = 0
		if l := s.attached.Load(); l != nil {
			l.deliverRTP(buf[:n])
		}
	}
}

// pumpRTCP reads RTCP with read (the sender's: reports about what the
// switch sends; the receiver's: the browser's sender reports), which also
// keeps pion's interceptors going, and hands it to the attached leg's
// socket, whose quality monitor takes RTT and loss from it.
func (s *Session) pumpRTCP(read func([]byte) (int, interceptor.Attributes, error)) {
	defer s.wg.Done()
	var buf [1500]byte // pion reads at most its receive MTU, 1460 bytes
	errs := 0
	for {
		n, _, err := read(buf[:])
		if err != nil {
			if s.stopping(err) {
				return
			}
			if errs++; errs > 10 {
				time.Sleep(frame / 4) // not a busy loop on a stream that keeps failing
			}
			continue
		}
		errs = 0
		if l := s.attached.Load(); l != nil {
			l.deliverRTCP(buf[:n])
		}
	}
}

// stopping reports whether a pump that read err should return: the session
// is ending, or pion's stream is closed (the PeerConnection is going away,
// and the session with it).
func (s *Session) stopping(err error) bool {
	select {
	case <-s.stop:
		return true
	default:
	}
	return errors.Is(err, io.EOF) || errors.Is(err, io.ErrClosedPipe) || errors.Is(err, net.ErrClosed)
}

// Opus silence: one 20 ms CELT frame that decodes to digital silence.
var opusSilence = [...]byte{0xf8, 0xff, 0xfe}

// frame is the packet time of everything the gateway sends.
const frame = codec.FrameDuration

// pace sends Opus silence every 20 ms while no leg is attached (or the
// attached leg's party is not to be heard: hold), paced by the clock:
// frames missed by a late wake-up are sent at once, up to 100 ms; after a
// longer stall the stream skips ahead (its timestamps still follow the
// clock).
func (s *Session) pace() {
	defer s.wg.Done()
	var pkt [12 + len(opusSilence)]byte
	ssrc, seq, ts0 := rand.Uint32(), uint16(rand.Uint32()), rand.Uint32()
	copy(pkt[12:], opusSilence[:])
	start := time.Now()
	timer := time.NewTimer(0)
	defer timer.Stop()
	var n int64 // frames since start
	talking := false
	for {
		select {
		case <-s.stop:
			return
		case <-timer.C:
		}
		if l := s.attached.Load(); l != nil && l.receives() {
			// The call's audio goes out: sleep until the leg detaches or
			// goes on hold, then carry on from the clock.
			talking = false
			select {
			case <-s.stop:
				return
			case <-s.wake:
			}
			n = int64(time.Since(start) / frame)
		}
		now := time.Now()
		due := int64(now.Sub(start) / frame)
		if due-n > 5 {
			n = due - 5
		}
		for ; n <= due; n++ {
			if l := s.attached.Load(); l != nil && l.receives() {
				talking = false
				continue
			}
			pkt[0], pkt[1] = 0x80, s.opus.PayloadType&0x7f
			if !talking {
				pkt[1] |= 0x80 // marker: a talkspurt (of silence) starts
				talking = true
			}
			binary.BigEndian.PutUint16(pkt[2:], seq)
			binary.BigEndian.PutUint32(pkt[4:], ts0+uint32(n)*rtc.ClockRate/50)
			binary.BigEndian.PutUint32(pkt[8:], ssrc)
			seq++
			_ = s.track.WriteRTP(pkt[:])
		}
		timer.Reset(time.Until(start.Add(time.Duration(n) * frame)))
	}
}

// poke wakes the silence pacer (a leg detached, or its direction changed).
func (s *Session) poke() {
	select {
	case s.wake <- struct{}{}:
	default:
	}
}

// end ends the session once: the attached leg ends with cause (Ended,
// Remote), the PeerConnection closes, the goroutines stop, the session
// leaves the server. Later calls wait until that is done.
func (s *Session) end(cause call.Cause) {
	s.endMu.Lock()
	defer s.endMu.Unlock()
	s.mu.Lock()
	if s.ended {
		s.mu.Unlock()
		return
	}
	s.ended = true
	l := s.attached.Load()
	s.mu.Unlock()
	s.timer.Stop()
	if l != nil {
		l.finish(true, cause)
	}
	close(s.stop)
	if err := s.pc.Close(); err != nil {
		s.log.Debug("close PeerConnection", "error", err)
	}
	s.wg.Wait()
	s.srv.unregister(s)
	s.log.Info("agent session ended", "cause", cause.String())
	close(s.done)
}

// remoteAddr is where the browser is, for the socket's idea of its peer:
// the selected ICE candidate pair's remote address, else an address of the
// discard-only block (RFC 6666) standing for "the browser". Nothing is
// ever sent to it: the leg's socket writes to the track.
func (s *Session) addrs() (local, remote netip.AddrPort) {
	local, remote = placeholderLocal, placeholderRemote
	if t := s.sender.Transport(); t != nil {
		if p, err := t.ICETransport().GetSelectedCandidatePair(); err == nil && p != nil {
			if a, err := netip.ParseAddr(p.Remote.Address); err == nil {
				remote = netip.AddrPortFrom(a.Unmap(), p.Remote.Port)
			}
			if a, err := netip.ParseAddr(p.Local.Address); err == nil {
				local = netip.AddrPortFrom(a.Unmap(), p.Local.Port)
			}
		}
	}
	return local, remote
}

var (
	placeholderRemote = netip.MustParseAddrPort("[100::1]:9")
	placeholderLocal  = netip.MustParseAddrPort("[100::2]:9")
)
