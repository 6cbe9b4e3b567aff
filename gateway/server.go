// Package gateway is the switch's WebRTC edge for agents: WHIP-style (RFC
// 9725) HTTP signalling, one persistent PeerConnection per logged-in agent
// (a Session), and WebRTC legs (Leg) that switch a call's audio into that
// PeerConnection without new ICE.
//
// The agent's browser POSTs an SDP offer with its agent token and gets the
// answer with every ICE candidate (no trickle). Between calls the session
// sends Opus silence, so the browser's track starts at once and stays
// alive. For a call, the ACD attaches a leg to the agent's session: the
// leg's media.Socket runs over the session's tracks (see trackConn), is
// configured with the negotiated Opus and telephone-event payload types,
// and is bridged like any other leg (transcoded to and from G.711 by
// media.Transcoder). Hanging the leg up detaches it; the session goes back
// to silence.
package gateway

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"mime"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/pion/sdp/v3"
	"github.com/pion/webrtc/v4"

	"github.com/switchboard-voice/switchboard/call"
	"github.com/switchboard-voice/switchboard/gateway/internal/rtc"
	"github.com/switchboard-voice/switchboard/media"
	"github.com/switchboard-voice/switchboard/media/codec"
)

// Options configure a Server.
type Options struct {
	// Authenticate maps an agent token (Authorization: Bearer) to the
	// agent's ID; any error answers 401. Required.
	Authenticate func(ctx context.Context, token string) (agentID string, err error)
	// Logger receives the gateway's logs; nil uses slog.Default().
	Logger *slog.Logger
	// Prefix is the path the handler is mounted at, used in Location
	// headers and stripped from request paths when present; "" = "/whip".
	Prefix string

	// LoopbackOnly keeps ICE on 127.0.0.1 over UDP/IPv4 with short
	// time-outs (tests). Real deployments leave it off.
	LoopbackOnly bool
	// NAT1To1IPs are the public addresses to advertise in candidates when
	// the switch is behind 1:1 NAT (config rtp.external_ip).
	NAT1To1IPs []string
	// PortMin and PortMax bound the UDP ports of ICE; 0, 0 = any.
	PortMin, PortMax uint16
	// ICEDisconnectedTimeout and ICEFailedTimeout override ICE's (see
	// LoopbackOnly for the defaults); an agent whose ICE fails loses its
	// session.
	ICEDisconnectedTimeout, ICEFailedTimeout time.Duration
	// ConnectTimeout ends a session whose PeerConnection has not connected
	// this long after the answer; 0 = 30 s.
	ConnectTimeout time.Duration
	// GatherTimeout bounds ICE gathering before the answer; 0 = 10 s.
	GatherTimeout time.Duration

	// Stats receives the counters of every leg's media socket; nil gives
	// the server counters of its own.
	Stats *media.Stats
	// Encoder sets the Opus encoder towards browsers (complexity, bit
	// rate); FEC and the bandwidth follow each browser's fmtp.
	Encoder codec.Options
}

// Causes with which a session's attached leg ends (call.Ended, Remote).
var (
	// CauseSessionEnded: the session was closed (DELETE, a new session of
	// the same agent, Session.Close or Server.Close).
	CauseSessionEnded = call.Cause{Code: 200, Reason: "Agent session ended"}
	// CauseMediaLost: the PeerConnection failed or closed (ICE failed,
	// the browser went away) or never connected.
	CauseMediaLost = call.Cause{Code: 408, Reason: "Agent media connection lost"}
)

// Errors of Attach.
var (
	ErrSessionClosed = errors.New("gateway: session closed")
	ErrBusy          = errors.New("gateway: a leg is already attached to the session")
)

// Server is the WHIP endpoint and the registry of agent sessions. It is an
// http.Handler for
//
//	POST    {prefix}          offer (application/sdp) → 201, Location, answer
//	DELETE  {prefix}/{id}     end the session
//	OPTIONS {prefix}[/{id}]   CORS preflight
//
// PATCH (trickle ICE) is not supported: 405. Every response carries
// Access-Control-Allow-Origin: *.
type Server struct {
	o      Options
	log    *slog.Logger
	api    *webrtc.API
	stats  *media.Stats
	prefix string

	mu      sync.Mutex
	byID    map[string]*Session
	byAgent map[string]*Session
	closed  bool
}

// NewServer checks o and returns a server with no sessions.
func NewServer(o Options) (*Server, error) {
	if o.Authenticate == nil {
		return nil, errors.New("gateway: Options.Authenticate is required")
	}
	api, err := rtc.NewAPI(rtc.Config{
		LoopbackOnly:        o.LoopbackOnly,
		NAT1To1IPs:          o.NAT1To1IPs,
		PortMin:             o.PortMin,
		PortMax:             o.PortMax,
		DisconnectedTimeout: o.ICEDisconnectedTimeout,
		FailedTimeout:       o.ICEFailedTimeout,
	})
	if err != nil {
		return nil, fmt.Errorf("gateway: %w", err)
	}
	s := &Server{
		o:       o,
		log:     o.Logger,
		api:     api,
		stats:   o.Stats,
		prefix:  strings.TrimRight(o.Prefix, "/"),
		byID:    map[string]*Session{},
		byAgent: map[string]*Session{},
	}
	if s.log == nil {
		s.log = slog.Default()
	}
	if s.stats == nil {
		s.stats = new(media.Stats)
	}
	if o.Prefix == "" {
		s.prefix = "/whip"
	}
	if s.o.ConnectTimeout <= 0 {
		s.o.ConnectTimeout = 30 * time.Second
	}
	if s.o.GatherTimeout <= 0 {
		s.o.GatherTimeout = 10 * time.Second
	}
	return s, nil
}

// Stats returns the counters of the legs' media sockets.
func (s *Server) Stats() *media.Stats { return s.stats }

// Session returns the agent's current session.
func (s *Server) Session(agentID string) (*Session, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	sess, ok := s.byAgent[agentID]
	return sess, ok
}

// Close ends every session (their legs end with CauseSessionEnded) and
// refuses new ones (503).
func (s *Server) Close() error {
	s.mu.Lock()
	s.closed = true
	all := make([]*Session, 0, len(s.byID))
	for _, sess := range s.byID {
		all = append(all, sess)
	}
	s.mu.Unlock()
	for _, sess := range all {
		sess.end(CauseSessionEnded)
	}
	return nil
}

// register makes sess the agent's session and returns the one it replaces.
func (s *Server) register(sess *Session) (old *Session, err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return nil, errServerClosed
	}
	if sess.hasEnded() {
		// Its PeerConnection failed before the answer was out.
		return nil, ErrSessionClosed
	}
	old = s.byAgent[sess.agentID]
	s.byAgent[sess.agentID] = sess
	s.byID[sess.id] = sess
	return old, nil
}

var errServerClosed = errors.New("gateway: server closed")

// unregister forgets sess (if still registered).
func (s *Server) unregister(sess *Session) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.byID[sess.id] == sess {
		delete(s.byID, sess.id)
	}
	if s.byAgent[sess.agentID] == sess {
		delete(s.byAgent, sess.agentID)
	}
}

func (s *Server) lookup(id string) *Session {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.byID[id]
}

// ServeHTTP routes the WHIP requests.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	h.Set("Access-Control-Allow-Origin", "*")
	h.Set("Access-Control-Expose-Headers", "Location")
	path := r.URL.Path
	if rest, ok := strings.CutPrefix(path, s.prefix); ok && (rest == "" || rest[0] == '/') {
		path = rest
	}
	id := strings.Trim(path, "/")
	if strings.Contains(id, "/") {
		http.Error(w, "no such resource", http.StatusNotFound)
		return
	}
	switch {
	case r.Method == http.MethodOptions:
		s.preflight(w, id == "")
	case id == "" && r.Method == http.MethodPost:
		s.post(w, r)
	case id == "":
		h.Set("Allow", "POST, OPTIONS")
		http.Error(w, "method not allowed on the WHIP endpoint", http.StatusMethodNotAllowed)
	case r.Method == http.MethodDelete:
		s.delete(w, r, id)
	case r.Method == http.MethodPatch:
		h.Set("Allow", "DELETE, OPTIONS")
		http.Error(w, "trickle ICE is not supported: send the offer with all candidates", http.StatusMethodNotAllowed)
	default:
		h.Set("Allow", "DELETE, OPTIONS")
		http.Error(w, "method not allowed on a WHIP session", http.StatusMethodNotAllowed)
	}
}

func (s *Server) preflight(w http.ResponseWriter, endpoint bool) {
	h := w.Header()
	if endpoint {
		h.Set("Access-Control-Allow-Methods", "POST, OPTIONS")
		h.Set("Allow", "POST, OPTIONS")
	} else {
		h.Set("Access-Control-Allow-Methods", "DELETE, PATCH, OPTIONS")
		h.Set("Allow", "DELETE, OPTIONS")
	}
	h.Set("Access-Control-Allow-Headers", "Authorization, Content-Type, If-Match")
	h.Set("Access-Control-Max-Age", "600")
	h.Set("Accept-Post", "application/sdp")
	w.WriteHeader(http.StatusNoContent)
}

// authenticate returns the agent of the request's bearer token, or answers
// 401 and returns false.
func (s *Server) authenticate(w http.ResponseWriter, r *http.Request) (string, bool) {
	scheme, token, _ := strings.Cut(r.Header.Get("Authorization"), " ")
	token = strings.TrimSpace(token)
	if !strings.EqualFold(scheme, "Bearer") || token == "" {
		w.Header().Set("WWW-Authenticate", `Bearer realm="switchboard"`)
		http.Error(w, "missing bearer token (Authorization: Bearer <agent token>)", http.StatusUnauthorized)
		return "", false
	}
	agent, err := s.o.Authenticate(r.Context(), token)
	if err != nil || agent == "" {
		w.Header().Set("WWW-Authenticate", `Bearer realm="switchboard", error="invalid_token"`)
		http.Error(w, "invalid agent token", http.StatusUnauthorized)
		return "", false
	}
	return agent, true
}

// maxOffer bounds the SDP offer read.
const maxOffer = 64 << 10

func (s *Server) post(w http.ResponseWriter, r *http.Request) {
	agent, ok := s.authenticate(w, r)
	if !ok {
		return
	}
	if mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type")); err != nil || mt != "application/sdp" {
		http.Error(w, "Content-Type must be application/sdp", http.StatusUnsupportedMediaType)
		return
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxOffer))
	if err != nil {
		http.Error(w, "cannot read the SDP offer: "+oneLine(err), http.StatusBadRequest)
		return
	}
	if err := checkOffer(body); err != nil {
		http.Error(w, oneLine(err), http.StatusBadRequest)
		return
	}
	sess, answer, err := s.newSession(r.Context(), agent, string(body))
	if err != nil {
		code := http.StatusInternalServerError
		var bad badOfferError
		switch {
		case errors.As(err, &bad):
			code = http.StatusBadRequest
		case errors.Is(err, errServerClosed):
			code = http.StatusServiceUnavailable
		}
		s.log.Warn("WHIP offer refused", "agent", agent, "status", code, "error", err)
		http.Error(w, oneLine(err), code)
		return
	}
	w.Header().Set("Location", s.prefix+"/"+sess.id)
	w.Header().Set("Content-Type", "application/sdp")
	w.WriteHeader(http.StatusCreated)
	_, _ = io.WriteString(w, answer)
}

func (s *Server) delete(w http.ResponseWriter, r *http.Request, id string) {
	agent, ok := s.authenticate(w, r)
	if !ok {
		return
	}
	sess := s.lookup(id)
	switch {
	case sess == nil:
		http.Error(w, "no such session", http.StatusNotFound)
		return
	case sess.agentID != agent:
		http.Error(w, "the session belongs to another agent", http.StatusForbidden)
		return
	}
	sess.end(CauseSessionEnded)
	w.WriteHeader(http.StatusOK)
}

// badOfferError is an offer pion refused: the client's fault (400).
type badOfferError struct{ err error }

func (e badOfferError) Error() string { return "bad SDP offer: " + e.err.Error() }
func (e badOfferError) Unwrap() error { return e.err }

// checkOffer parses an SDP offer and checks that it has audio with Opus.
func checkOffer(body []byte) error {
	var d sdp.SessionDescription
	if err := d.Unmarshal(body); err != nil {
		return fmt.Errorf("unparsable SDP offer: %w", err)
	}
	audio, opus := false, false
	for _, m := range d.MediaDescriptions {
		if m.MediaName.Media != "audio" || m.MediaName.Port.Value == 0 {
			continue
		}
		audio = true
		for _, a := range m.Attributes {
			if a.Key == "rtpmap" && strings.Contains(strings.ToLower(a.Value), " opus/48000") {
				opus = true
			}
		}
	}
	switch {
	case !audio:
		return errors.New("SDP offer has no audio")
	case !opus:
		return errors.New("SDP offer has no Opus audio (opus/48000/2)")
	}
	return nil
}

// oneLine keeps an error message on one line for a text/plain body.
func oneLine(err error) string {
	return strings.Join(strings.Fields(err.Error()), " ")
}

// newID returns a random session ID.
func newID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}
