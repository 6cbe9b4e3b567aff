// Package sip is Switchboard's SIP edge on sipgo: listeners, trunks (source
// ACLs, digest authentication, REGISTER, OPTIONS keep-alive, limits), and SIP
// legs — the B2BUA's two sides, each its own dialog with its own Call-ID,
// tags, CSeq and SDP — which implement call.Leg.
package sip

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"net/url"
	"runtime/debug"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/emiago/sipgo"
	"github.com/emiago/sipgo/sip"

	"github.com/switchboard-voice/switchboard/call"
	"github.com/switchboard-voice/switchboard/config"
	"github.com/switchboard-voice/switchboard/media"
)

// Handler runs a call the edge accepted: the trunk is known, the caller
// authenticated, the number served and the codecs acceptable. It decides what
// happens next (route, dial, reject through leg.Hangup) and returns when the
// call is over. It runs on the INVITE's own goroutine.
type Handler interface {
	HandleCall(ctx context.Context, leg *InboundLeg)
}

// HandlerFunc adapts a function to Handler.
type HandlerFunc func(ctx context.Context, leg *InboundLeg)

// HandleCall calls f.
func (f HandlerFunc) HandleCall(ctx context.Context, leg *InboundLeg) { f(ctx, leg) }

// Options configure a Server.
type Options struct {
	Config  *config.Config
	Ports   *media.PortAllocator
	Handler Handler
	Metrics *Metrics // optional
	Logger  *slog.Logger
	// MaxConns caps accepted TCP/TLS connections per transport; 0 leaves
	// them uncapped. It is taken as is: cmd/switchboard decides it, from
	// sip.max_conns or, when that is 0, from the file descriptor budget.
	MaxConns int
}

// Server is the SIP edge of one switch node.
type Server struct {
	cfg     *config.Config
	log     *slog.Logger
	ports   *media.PortAllocator
	handler Handler
	metrics *Metrics

	ua     *sipgo.UserAgent
	srv    *sipgo.Server
	client *sipgo.Client

	trunks []*Trunk
	byName map[string]*Trunk
	auth   *Authenticator
	cps    *RateLimiter
	// maxConns is Options.MaxConns (doors.go).
	maxConns int

	// overload control before transactions (screen.go)
	acl      sourceACL
	sources  *sourceTable
	maxState int

	// listeners by lower-case transport: the advertised host:port.
	contacts map[string]hostPort
	udpLaddr sip.Addr

	draining atomic.Bool
	calls    sync.WaitGroup

	mu      sync.Mutex
	dialogs map[string]dialogOwner
	legs    map[terminator]struct{}
	nlegs   atomic.Int64 // len(legs), read without mu (the screen, per request)

	// pending tracks BYE and CANCEL transactions that finish in the
	// background; Close cancels them through pendingCtx and waits.
	pendMu     sync.Mutex
	pendClosed bool
	pending    sync.WaitGroup
	pendingN   atomic.Int64
	pendingCtx context.Context
	// runCtx is the context Start was given: calls run under its values.
	runCtx        atomic.Pointer[context.Context]
	pendingCancel context.CancelFunc

	cancel  context.CancelFunc
	closers []func() error
	bg      sync.WaitGroup
}

type hostPort struct {
	host string
	port int
}

// dialogOwner receives in-dialog requests for one of the switch's dialogs.
type dialogOwner interface {
	onRequest(req *sip.Request, tx sip.ServerTransaction)
	// sendAck re-sends the ACK for the INVITE with this CSeq.
	sendAck(seq uint32)
	// peerTag is the remote tag of the dialog, "" while a UAC dialog is
	// still early (no tag chosen yet among the far end's forks).
	peerTag() string
}

// NewServer prepares the SIP edge; Start opens its listeners.
func NewServer(o Options) (*Server, error) {
	if o.Config == nil || o.Ports == nil || o.Handler == nil {
		return nil, errors.New("sip: Config, Ports and Handler are required")
	}
	log := o.Logger
	if log == nil {
		log = slog.Default()
	}
	s := &Server{
		cfg:      o.Config,
		log:      log,
		ports:    o.Ports,
		handler:  o.Handler,
		metrics:  o.Metrics,
		maxConns: o.MaxConns,
		byName:   map[string]*Trunk{},
		auth:     NewAuthenticator(nonceTTL(o.Config), nil),
		cps:      NewRateLimiter(o.Config.SIP.MaxCPS),
		contacts: map[string]hostPort{},
		dialogs:  map[string]dialogOwner{},
		legs:     map[terminator]struct{}{},
	}
	s.pendingCtx, s.pendingCancel = context.WithCancel(context.Background())
	for _, tc := range o.Config.Trunks {
		t, err := NewTrunk(tc)
		if err != nil {
			return nil, err
		}
		s.trunks = append(s.trunks, t)
		s.byName[t.Name()] = t
	}
	s.acl = newSourceACL(s.trunks)
	s.sources = newSourceTable(o.Config.SIP.PerSourceCPS, perSourceBan(o.Config))
	s.maxState = stateCap(o.Config)
	if s.metrics != nil {
		s.metrics.watchTrunks(s.trunks)
	}
	return s, nil
}

func perSourceBan(c *config.Config) time.Duration {
	if c.SIP.PerSourceBan > 0 {
		return c.SIP.PerSourceBan
	}
	return config.DefaultPerSourceBan
}

// udpReadBuffer is the receive buffer asked for each SIP UDP socket.
const udpReadBuffer = 4 << 20

func nonceTTL(c *config.Config) time.Duration {
	if c.SIP.NonceTTL > 0 {
		return c.SIP.NonceTTL
	}
	return 5 * time.Minute
}

// Trunks returns the configured trunks.
func (s *Server) Trunks() []*Trunk { return s.trunks }

// Trunk finds a trunk by name.
func (s *Server) Trunk(name string) *Trunk { return s.byName[name] }

// runContext is the context Start was given (Background before Start).
func (s *Server) runContext() context.Context {
	if ctx := s.runCtx.Load(); ctx != nil {
		return *ctx
	}
	return context.Background()
}

// Start opens every listener and begins serving, keep-alives and
// registrations. It returns once the listeners are bound.
func (s *Server) Start(ctx context.Context) error {
	s.runCtx.Store(&ctx)
	ua, err := sipgo.NewUA(sipgo.WithUserAgent(s.userAgent()),
		sipgo.WithUserAgentParser(sip.NewParser(sip.WithHeadersParsers(referHeaderParsers()))),
		sipgo.WithUserAgentTransactionLayerOptions(
			sip.WithTransactionLayerUnhandledResponseHandler(s.onStrayResponse),
			// Overload control before any transaction state (screen.go).
			sip.WithTransactionLayerRequestScreen(s.screenRequest),
			// A TCP/TLS connection that closes ends its transactions: a
			// caller gone before our final response ends its call.
			sip.WithTransactionLayerTerminateOnConnClose()),
		sipgo.WithUserAgentTransportLayerOptions(sip.WithTransportLayerParseErrorHandler(s.onUnparseable),
			sip.WithTransportLayerConnLimits(s.connLimits())))
	if err != nil {
		return fmt.Errorf("sip: user agent: %w", err)
	}
	s.ua = ua
	if s.metrics != nil {
		s.metrics.watchScreen(s.sources.banned, ua.TransactionLayer().ServerTransactions)
	}
	s.srv, err = sipgo.NewServer(ua, sipgo.WithServerLogger(s.log))
	if err != nil {
		return fmt.Errorf("sip: server: %w", err)
	}
	var copts []sipgo.ClientOption
	copts = append(copts, sipgo.WithClientLogger(s.log))
	if s.cfg.SIP.ExternalIP != "" {
		copts = append(copts, sipgo.WithClientHostname(s.cfg.SIP.ExternalIP))
	}
	s.client, err = sipgo.NewClient(ua, copts...)
	if err != nil {
		return fmt.Errorf("sip: client: %w", err)
	}
	// Handlers must all be registered before serving (sipgo's map is unlocked).
	s.srv.OnInvite(s.safe(s.onInvite))
	s.srv.OnAck(s.safe(s.onAck))
	s.srv.OnBye(s.safe(s.onInDialog))
	s.srv.OnInfo(s.safe(s.onInDialog))
	s.srv.OnUpdate(s.safe(s.onInDialog))
	s.srv.OnPrack(s.safe(s.onInDialog))
	s.srv.OnOptions(s.safe(s.onOptions))
	s.srv.OnCancel(s.safe(s.onStrayCancel))
	s.srv.OnRegister(s.safe(s.onRegister))
	s.srv.OnNoRoute(s.safe(s.onNoRoute))

	ctx, s.cancel = context.WithCancel(ctx)
	// Bind every listener first, then serve: handlers read the advertised
	// contacts without a lock, so they are complete before any request.
	var starts []func() error
	for _, l := range s.cfg.SIP.Listen {
		start, err := s.listen(l)
		if err != nil {
			s.Close()
			return err
		}
		starts = append(starts, start)
	}
	for _, start := range starts {
		if err := start(); err != nil {
			s.Close()
			return err
		}
	}
	if s.udpLaddr.IP != nil {
		if err := s.waitConn(ctx, "udp", s.udpLaddr.String()); err != nil {
			s.Close()
			return err
		}
	}
	s.startKeepalives(ctx)
	return nil
}

func (s *Server) userAgent() string {
	if s.cfg.SIP.UserAgent != "" {
		return s.cfg.SIP.UserAgent
	}
	return "Switchboard"
}

// listen binds one listener and returns the function that starts serving it.
func (s *Server) listen(raw string) (func() error, error) {
	u, err := url.Parse(raw)
	if err != nil {
		return nil, fmt.Errorf("sip: listen %q: %w", raw, err)
	}
	network := strings.ToLower(u.Scheme)
	addr := u.Host
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return nil, fmt.Errorf("sip: listen %q: %w", raw, err)
	}
	var port int
	var start func() error
	switch network {
	case "udp":
		pc, err := net.ListenPacket("udp", addr)
		if err != nil {
			return nil, fmt.Errorf("sip: listen %s: %w", raw, err)
		}
		port = pc.LocalAddr().(*net.UDPAddr).Port
		s.closers = append(s.closers, pc.Close)
		// A burst (a flood, or a carrier's retransmissions after a blip)
		// waits in the socket instead of being dropped by the kernel while
		// the screen sorts it; the kernel caps this at net.core.rmem_max.
		if uc, ok := pc.(*net.UDPConn); ok {
			if err := uc.SetReadBuffer(udpReadBuffer); err != nil {
				s.log.Warn("sip udp read buffer", "error", err)
			}
		}
		if s.udpLaddr.IP == nil {
			s.udpLaddr = sip.Addr{IP: net.ParseIP(host), Port: port, Hostname: host}
		}
		s.advertise(network, host, port)
		g := &guardConn{PacketConn: pc, log: s.log, metrics: s.metrics}
		start = func() error { return s.srv.ServeUDP(g) }
	case "tcp":
		l, err := net.Listen("tcp", addr)
		if err != nil {
			return nil, fmt.Errorf("sip: listen %s: %w", raw, err)
		}
		port = l.Addr().(*net.TCPAddr).Port
		s.closers = append(s.closers, l.Close)
		s.advertise(network, host, port)
		start = func() error { return s.srv.ServeTCP(l) }
	case "tls":
		cert, err := tls.LoadX509KeyPair(s.cfg.SIP.TLS.Cert, s.cfg.SIP.TLS.Key)
		if err != nil {
			return nil, fmt.Errorf("sip: listen %s: certificate: %w", raw, err)
		}
		l, err := tls.Listen("tcp", addr, &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12})
		if err != nil {
			return nil, fmt.Errorf("sip: listen %s: %w", raw, err)
		}
		port = l.Addr().(*net.TCPAddr).Port
		s.closers = append(s.closers, l.Close)
		s.advertise(network, host, port)
		start = func() error { return s.srv.ServeTLS(l) }
	default:
		return nil, fmt.Errorf("sip: listen %q: transport must be udp, tcp or tls", raw)
	}
	s.log.Info("sip listening", "transport", network, "addr", net.JoinHostPort(host, strconv.Itoa(port)))
	return func() error { s.serve(start); return nil }, nil
}

// advertise records the address put in Contact for a transport. It runs
// before serving starts: handlers read contacts without a lock.
func (s *Server) advertise(network, host string, port int) {
	adv := host
	if s.cfg.SIP.ExternalIP != "" {
		adv = s.cfg.SIP.ExternalIP
	}
	if _, ok := s.contacts[network]; !ok {
		s.contacts[network] = hostPort{adv, port}
	}
}

func (s *Server) serve(f func() error) {
	s.bg.Add(1)
	go func() {
		defer s.bg.Done()
		if err := f(); err != nil && !errors.Is(err, net.ErrClosed) {
			s.log.Debug("sip listener stopped", "error", err)
		}
	}()
}

// waitConn waits until sipgo has registered the UDP socket, so requests can
// leave from it (LIBRARY-NOTES 2).
func (s *Server) waitConn(ctx context.Context, network, addr string) error {
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) {
		if c, err := s.ua.TransportLayer().GetConnection(network, addr); err == nil && c != nil {
			return nil
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(5 * time.Millisecond):
		}
	}
	return fmt.Errorf("sip: %s listener %s not ready", network, addr)
}

// Addr returns the bound address for a transport ("udp", "tcp", "tls").
func (s *Server) Addr(network string) (string, bool) {
	hp, ok := s.contacts[network]
	if !ok {
		return "", false
	}
	return net.JoinHostPort(hp.host, strconv.Itoa(hp.port)), true
}

// contact is the switch's Contact for a transport.
func (s *Server) contact(transport string, user string) *sip.ContactHeader {
	network := strings.ToLower(transport)
	hp, ok := s.contacts[network]
	if !ok {
		for _, v := range s.contacts {
			hp = v
			break
		}
	}
	u := sip.Uri{Scheme: "sip", User: user, Host: hp.host, Port: hp.port}
	if network != "udp" {
		u.UriParams = sip.NewParams()
		u.UriParams.Add("transport", network)
	}
	return &sip.ContactHeader{Address: u}
}

// mediaAddr is the address put in SDP for a socket (rtp.external_ip wins).
func (s *Server) mediaAddr(sock *media.Socket) netip.AddrPort {
	a := sock.LocalAddr()
	if ip := s.cfg.RTP.ExternalIP; ip != "" {
		if ext, err := netip.ParseAddr(ip); err == nil {
			return netip.AddrPortFrom(ext, a.Port())
		}
	}
	return a
}

// prepareOut sets what every request the switch originates needs.
func (s *Server) prepareOut(req *sip.Request) {
	if strings.EqualFold(req.Transport(), "udp") && s.udpLaddr.IP != nil {
		s.udpLaddr.Copy(&req.Laddr)
	}
	req.AppendHeader(sip.NewHeader("User-Agent", s.userAgent()))
}

// Drain stops taking new calls: new INVITEs get 503 with Retry-After.
func (s *Server) Drain() { s.draining.Store(true) }

// Draining reports whether Drain was called.
func (s *Server) Draining() bool { return s.draining.Load() }

// ActiveLegs is the number of SIP legs up or being set up.
func (s *Server) ActiveLegs() int { return int(s.nlegs.Load()) }

// Shutdown drains the node: no new calls, calls in progress continue until
// ctx is done (its deadline, or cancelled to cut the drain short), then every
// remaining leg is hung up (BYE or final response).
func (s *Server) Shutdown(ctx context.Context) error {
	s.Drain()
	done := make(chan struct{})
	go func() { s.calls.Wait(); close(done) }()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
	}
	s.mu.Lock()
	legs := make([]terminator, 0, len(s.legs))
	for l := range s.legs {
		legs = append(legs, l)
	}
	s.mu.Unlock()
	if errors.Is(ctx.Err(), context.DeadlineExceeded) {
		s.log.Warn("drain deadline reached, ending calls", "legs", len(legs))
	} else {
		s.log.Warn("drain cut short, ending calls", "legs", len(legs))
	}
	hctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	var wg sync.WaitGroup
	for _, l := range legs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			l.terminate(hctx, call.Shutdown, true)
		}()
	}
	wg.Wait()
	// Let the BYEs just sent complete (bounded by hctx).
	for s.pendingN.Load() > 0 && hctx.Err() == nil {
		time.Sleep(10 * time.Millisecond)
	}
	return ctx.Err()
}

// background runs f as a pending transaction (BYE, CANCEL) with a context
// bounded by Timer F and cancelled by Close.
func (s *Server) background(f func(ctx context.Context)) {
	s.pendingN.Add(1)
	if !s.goPending(func() {
		defer s.pendingN.Add(-1)
		ctx, cancel := context.WithTimeout(s.pendingCtx, timer64)
		defer cancel()
		f(ctx)
	}) {
		s.pendingN.Add(-1) // closing: nothing more goes out
	}
}

// goPending runs f on a goroutine that Close waits for, unless the server
// is closing (false).
func (s *Server) goPending(f func()) bool {
	s.pendMu.Lock()
	if s.pendClosed {
		s.pendMu.Unlock()
		return false
	}
	s.pending.Add(1)
	s.pendMu.Unlock()
	go func() {
		defer s.pending.Done()
		f()
	}()
	return true
}

// Close stops listeners, keep-alives and the user agent.
func (s *Server) Close() error {
	if s.cancel != nil {
		s.cancel()
	}
	// Background BYE/CANCEL transactions must end before the stack closes.
	s.pendMu.Lock()
	s.pendClosed = true
	s.pendMu.Unlock()
	s.pendingCancel()
	s.pending.Wait()
	for _, c := range s.closers {
		_ = c()
	}
	if s.ua != nil {
		_ = s.ua.Close()
	}
	s.bg.Wait()
	return nil
}

func (s *Server) addDialog(key string, o dialogOwner) {
	s.mu.Lock()
	s.dialogs[key] = o
	s.mu.Unlock()
}

func (s *Server) removeDialog(key string) {
	s.mu.Lock()
	delete(s.dialogs, key)
	s.mu.Unlock()
}

func (s *Server) findDialog(req *sip.Request) dialogOwner {
	to := req.To()
	// From too: the parser takes a message without one, and the screen
	// calls this outside the handlers' recover.
	if to == nil || req.CallID() == nil || req.From() == nil {
		return nil
	}
	tag, _ := to.Params.Get("tag")
	if tag == "" {
		return nil
	}
	s.mu.Lock()
	o := s.dialogs[dialogKey(req.CallID().Value(), tag)]
	s.mu.Unlock()
	if o == nil {
		return nil
	}
	// The dialog ID is Call-ID, local tag and remote tag (RFC 3261 §12): a
	// request with our tag but another remote tag (a losing fork, a stale
	// or forged peer) is not in this dialog, and gets 481 (§12.2.2).
	from, _ := req.From().Params.Get("tag")
	if peer := o.peerTag(); peer != "" && from != peer {
		s.log.Info("in-dialog request with a foreign remote tag", "call_id", req.CallID().Value(),
			"method", string(req.Method), "from_tag", from, "dialog_tag", peer)
		return nil
	}
	return o
}

// onStrayResponse gets responses no transaction waits for any more. A
// retransmitted 2xx to one of our INVITEs (here: re-INVITEs, whose
// transactions end with their final response; initial INVITEs re-ACK through
// their transaction) means our ACK was lost: send it again (RFC 3261
// §13.2.2.4), or the far end drops the call after 32 s.
func (s *Server) onStrayResponse(res *sip.Response) {
	cseq, from, callID := res.CSeq(), res.From(), res.CallID()
	if cseq == nil || from == nil || callID == nil || cseq.MethodName != sip.INVITE || !res.IsSuccess() {
		s.log.Debug("stray response", "response", res.Short())
		return
	}
	tag, _ := from.Params.Get("tag")
	s.mu.Lock()
	o := s.dialogs[dialogKey(callID.Value(), tag)]
	s.mu.Unlock()
	if o == nil {
		s.log.Debug("2xx retransmission for an unknown dialog", "call_id", callID.Value())
		return
	}
	o.sendAck(cseq.SeqNo)
}

func (s *Server) trackLeg(l terminator) {
	s.mu.Lock()
	if _, ok := s.legs[l]; !ok {
		s.legs[l] = struct{}{}
		s.nlegs.Add(1)
	}
	s.mu.Unlock()
}

func (s *Server) untrackLeg(l terminator) {
	s.mu.Lock()
	if _, ok := s.legs[l]; ok {
		delete(s.legs, l)
		s.nlegs.Add(-1)
	}
	s.mu.Unlock()
}

// safe wraps a handler so that a bug hit by one request cannot take the node
// down: the panic is logged with its stack and the request answered 500.
func (s *Server) safe(h sipgo.RequestHandler) sipgo.RequestHandler {
	return func(req *sip.Request, tx sip.ServerTransaction) {
		defer func() {
			if r := recover(); r != nil {
				s.log.Error("panic handling request", "panic", fmt.Sprint(r), "method", string(req.Method),
					"source", req.Source(), "stack", string(debug.Stack()))
				if req.Method != sip.ACK && tx != nil {
					s.respond(tx, req, 500, "Server Internal Error")
				}
			}
		}()
		if !s.admit(req, tx) {
			return
		}
		h(req, tx)
	}
}

// respond sends a stateful response, logging failures.
func (s *Server) respond(tx sip.ServerTransaction, req *sip.Request, code int, reason string, hdrs ...sip.Header) {
	res := sip.NewResponseFromRequest(req, code, reason, nil)
	for _, h := range hdrs {
		res.AppendHeader(h)
	}
	res.AppendHeader(sip.NewHeader("Server", s.userAgent()))
	if err := tx.Respond(res); err != nil {
		s.log.Debug("respond", "code", code, "error", err)
	}
}

func (s *Server) retryAfter() sip.Header {
	ra := s.cfg.SIP.RetryAfter
	if ra <= 0 {
		ra = 5
	}
	return sip.NewHeader("Retry-After", strconv.Itoa(ra))
}

// reject answers an initial request with a failure and counts it.
func (s *Server) reject(tx sip.ServerTransaction, req *sip.Request, log *slog.Logger, code int, reason, why string, hdrs ...sip.Header) {
	// Over-capacity 503s come in floods: counted, and logged at debug
	// (a trunk at its max_cps would otherwise log a line per INVITE).
	if code == 503 {
		log.Debug("call rejected", "code", code, "reason", why)
	} else {
		log.Info("call rejected", "code", code, "reason", why)
	}
	s.respond(tx, req, code, reason, hdrs...)
	if s.metrics != nil {
		s.metrics.rejected(code)
	}
}

func (s *Server) onOptions(req *sip.Request, tx sip.ServerTransaction) {
	if bad := unsupportedExtensions(req); len(bad) > 0 {
		// RFC 3261 §8.2.2.3, as for INVITE (RFC 4475 §3.3.5 bext01).
		list := strings.Join(bad, ", ")
		s.respond(tx, req, 420, "Bad Extension", sip.NewHeader("Unsupported", list))
		return
	}
	s.respond(tx, req, 200, "OK",
		sip.NewHeader("Allow", allowHeader),
		sip.NewHeader("Accept", "application/sdp"))
}

func (s *Server) onRegister(req *sip.Request, tx sip.ServerTransaction) {
	// The switch is not a registrar; trunks are configured, not registered.
	s.respond(tx, req, 405, "Method Not Allowed", sip.NewHeader("Allow", allowHeader))
}

func (s *Server) onNoRoute(req *sip.Request, tx sip.ServerTransaction) {
	if o := s.findDialog(req); o != nil {
		o.onRequest(req, tx)
		return
	}
	s.respond(tx, req, 405, "Method Not Allowed", sip.NewHeader("Allow", allowHeader))
}

// onStrayCancel handles a CANCEL that matched no INVITE transaction.
func (s *Server) onStrayCancel(req *sip.Request, tx sip.ServerTransaction) {
	s.respond(tx, req, 481, "Call/Transaction Does Not Exist")
}

func (s *Server) onInDialog(req *sip.Request, tx sip.ServerTransaction) {
	if o := s.findDialog(req); o != nil {
		o.onRequest(req, tx)
		return
	}
	s.respond(tx, req, 481, "Call/Transaction Does Not Exist")
}

func (s *Server) onAck(req *sip.Request, tx sip.ServerTransaction) {
	if o := s.findDialog(req); o != nil {
		o.onRequest(req, tx)
	}
}

// sourceAddr is the IP address a request came from.
func sourceAddr(req *sip.Request) (netip.Addr, bool) {
	src := req.Source()
	host, _, err := net.SplitHostPort(src)
	if err != nil {
		host = src
	}
	a, err := netip.ParseAddr(host)
	return a.Unmap(), err == nil
}

// validateRequest checks what sipgo's parser lets through but a UAS needs.
func validateRequest(req *sip.Request) error {
	switch {
	case req.From() == nil:
		return errors.New("missing From")
	case req.To() == nil:
		return errors.New("missing To")
	case req.CallID() == nil || req.CallID().Value() == "":
		return errors.New("missing Call-ID")
	case req.CSeq() == nil:
		return errors.New("missing CSeq")
	case req.Via() == nil:
		return errors.New("missing Via")
	case req.CSeq().MethodName != req.Method:
		return fmt.Errorf("CSeq method %s does not match %s", req.CSeq().MethodName, req.Method)
	}
	// An RFC 2543 peer (no magic-cookie branch) may send no From tag
	// (RFC 3261 §12.2.2 compatibility; RFC 4475 inv2543).
	if tag, _ := req.From().Params.Get("tag"); tag == "" && isRFC3261(req) {
		return errors.New("From has no tag")
	}
	return nil
}

// isRFC3261 reports whether the top Via's branch has RFC 3261's magic cookie.
func isRFC3261(req *sip.Request) bool {
	b, _ := req.Via().Params.Get("branch")
	return strings.HasPrefix(b, sip.RFC3261BranchMagicCookie) && len(b) > len(sip.RFC3261BranchMagicCookie)
}
