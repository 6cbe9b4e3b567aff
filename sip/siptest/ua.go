// Package siptest is a real SIP user agent for integration tests of the
// switch over loopback: it places and answers calls with sipgo, exchanges
// G.711 or Opus audio over RTP or SDES-SRTP, sends a tone of a chosen
// frequency and detects the tone it receives (Goertzel). It also sends and
// receives DTMF (RFC 4733 telephone-events and SIP INFO), sends REFER and
// receives its NOTIFYs (Call.Refer, Call.Notifies), and can impair the
// RTP it sends (loss, jitter).
//
// A typical test:
//
//	ua1, _ := siptest.NewUA(ctx, siptest.Options{ListenAddr: "127.0.0.1:0"})
//	ua2, _ := siptest.NewUA(ctx, siptest.Options{ListenAddr: "127.0.0.1:5080"})
//	go func() {
//		in := <-ua2.Incoming()
//		in.Ring(false)
//		c2, _ := in.Answer(siptest.AnswerOptions{ToneHz: 1000})
//		...
//	}()
//	c1, err := ua1.Invite(ctx, "sip:bob@127.0.0.1:5060", siptest.InviteOptions{ToneHz: 440})
//	// c1.Status() == 200; c1.WaitTone(ctx, 1000) ...
//	c1.Hangup(ctx)
//
// Dialogs are kept by the UA itself on sipgo transactions (not with sipgo's
// dialog helpers), so that re-INVITEs work in both directions, route sets are
// honoured and every request leaves from the listening port.
//
// Opus runs at 48 kHz (RTP clock 48000, 20 ms frames of 960 samples) and is
// decoded at 48 kHz for tone detection. RTCP is not sent; RTCP received on
// the RTP port (muxed) or on port+1 is counted (Call.RTCPReceived).
//
// Limits: one audio stream, PCMU/PCMA/Opus, SDES-SRTP with
// AES_CM_128_HMAC_SHA1_80/32 only, loose routing only (Record-Route with
// ;lr). PRACK/100rel (RFC 3262) both ways: see InviteOptions.Require100rel
// and AnswerOptions.Reliable.
package siptest

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/emiago/sipgo"
	"github.com/emiago/sipgo/sip"
)

// Options configure a UA.
type Options struct {
	// ListenAddr is the host:port to listen on; port 0 picks a free port.
	// Default "127.0.0.1:0". An unspecified host (0.0.0.0) is advertised as
	// 127.0.0.1.
	ListenAddr string
	// Transport is "udp" (default) or "tcp".
	Transport string
	// AlsoTCP, with Transport "udp", also listens on TCP on the same port,
	// as RFC 3261 §18 asks of a UA (a request over the UDP size limit
	// arrives by TCP). Requests the UA sends still leave over UDP.
	AlsoTCP bool
	// User is the user part of the Contact and the default From user.
	// Default "siptest".
	User string
	// RTPIP is the IP the RTP sockets bind to and SDP advertises, unless an
	// InviteOptions or AnswerOptions says otherwise. Default "127.0.0.1".
	RTPIP string
	// Logger receives the UA's and sipgo's logs. Default: discarded.
	Logger *slog.Logger
	// Advertise ("host:port"), when set, is put in the Contact and in the
	// Via sent-by of the UA's requests instead of the listening address, as
	// a phone behind NAT advertises its private address; the Via then also
	// asks for rport (RFC 3581) so that responses come back to where the
	// request left from. The UA still sends and listens on ListenAddr only.
	Advertise string
}

// UA is a SIP user agent: it listens on one address and transport, places
// calls (Invite) and delivers the calls it receives (Incoming).
type UA struct {
	opts      Options
	log       *slog.Logger
	sua       *sipgo.UserAgent
	srv       *sipgo.Server
	cli       *sipgo.Client
	transport string // "UDP" or "TCP", as sipgo spells it on messages
	host      string
	port      int
	contact   sip.ContactHeader
	listener  io.Closer
	tcp       net.Listener // the AlsoTCP listener, or nil
	serveDone chan struct{}
	tcpDone   chan struct{}
	done      chan struct{} // closed by Close
	closeOnce sync.Once
	incoming  chan *Incoming

	mu     sync.Mutex
	closed bool
	calls  map[dialogKey]*Call
	nonces map[string]bool // digest nonces issued by Incoming.Challenge
	// reliable: INVITEs answered with a reliable 18x, by Call-ID and To
	// tag, for their PRACKs (prack.go).
	reliable map[dialogKey]*Incoming
}

type dialogKey struct{ callID, localTag string }

// Errors.
var (
	// ErrCancelled is returned by Incoming methods after the caller sent CANCEL.
	ErrCancelled = errors.New("siptest: call cancelled by the caller")
	// ErrClosed is returned when the UA is closed.
	ErrClosed = errors.New("siptest: UA closed")
	// ErrEnded is returned by Call methods after the call ended.
	ErrEnded = errors.New("siptest: call ended")
	// ErrNoAck is returned by Answer when no ACK arrived for the 200.
	ErrNoAck = errors.New("siptest: no ACK for 200 OK")
)

// StatusError is a non-2xx final response to a request within a call.
type StatusError struct {
	Code   int
	Reason string
	// Response is the final response itself (for its headers), when known.
	Response *sip.Response
}

func (e *StatusError) Error() string { return fmt.Sprintf("siptest: %d %s", e.Code, e.Reason) }

// NewUA starts a UA listening on o.ListenAddr. It is closed by Close or when
// ctx is done.
func NewUA(ctx context.Context, o Options) (*UA, error) {
	if o.ListenAddr == "" {
		o.ListenAddr = "127.0.0.1:0"
	}
	if o.User == "" {
		o.User = "siptest"
	}
	if o.RTPIP == "" {
		o.RTPIP = "127.0.0.1"
	}
	log := o.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	u := &UA{
		opts:      o,
		serveDone: make(chan struct{}),
		done:      make(chan struct{}),
		incoming:  make(chan *Incoming, 64),
		calls:     make(map[dialogKey]*Call),
		nonces:    make(map[string]bool),
		reliable:  make(map[dialogKey]*Incoming),
	}

	// Listen first, so that port 0 is resolved before anything is built.
	var laddr net.Addr
	switch strings.ToLower(o.Transport) {
	case "", "udp":
		u.transport = "UDP"
		conn, tcp, err := listenUDP(o.ListenAddr, o.AlsoTCP)
		if err != nil {
			return nil, err
		}
		u.listener, laddr, u.tcp = conn, conn.LocalAddr(), tcp
	case "tcp":
		u.transport = "TCP"
		l, err := net.Listen("tcp", o.ListenAddr)
		if err != nil {
			return nil, fmt.Errorf("siptest: listen tcp %s: %w", o.ListenAddr, err)
		}
		u.listener, laddr = l, l.Addr()
	default:
		return nil, fmt.Errorf("siptest: unsupported transport %q (udp, tcp)", o.Transport)
	}
	host, portStr, _ := net.SplitHostPort(laddr.String())
	if ip := net.ParseIP(host); ip == nil || ip.IsUnspecified() {
		host = "127.0.0.1"
	}
	u.host = host
	u.port, _ = strconv.Atoi(portStr)
	u.log = log.With("ua", u.Addr(), "transport", u.transport)

	advHost, advPort := u.host, u.port
	if o.Advertise != "" {
		h, p, err := net.SplitHostPort(o.Advertise)
		n, perr := strconv.Atoi(p)
		if err != nil || perr != nil || h == "" || n <= 0 || n > 65535 {
			u.listener.Close()
			if u.tcp != nil {
				u.tcp.Close()
			}
			return nil, fmt.Errorf("siptest: Advertise %q is not host:port", o.Advertise)
		}
		advHost, advPort = h, n
	}
	contactURI := sip.Uri{Scheme: "sip", User: o.User, Host: advHost, Port: advPort}
	if u.transport == "TCP" {
		contactURI.UriParams = sip.NewParams()
		contactURI.UriParams.Add("transport", "tcp")
	}
	u.contact = sip.ContactHeader{Address: contactURI}

	sua, err := sipgo.NewUA(
		sipgo.WithUserAgent("siptest"),
		sipgo.WithUserAgentHostname(u.host),
		sipgo.WithUserAgentTransactionLayerOptions(sip.WithTransactionLayerLogger(u.log)),
		sipgo.WithUserAgentTransportLayerOptions(sip.WithTransportLayerLogger(u.log)),
	)
	if err != nil {
		u.listener.Close()
		return nil, fmt.Errorf("siptest: %w", err)
	}
	u.sua = sua
	u.srv, err = sipgo.NewServer(sua, sipgo.WithServerLogger(u.log))
	if err != nil {
		u.listener.Close()
		sua.Close()
		return nil, fmt.Errorf("siptest: %w", err)
	}
	clientOpts := []sipgo.ClientOption{
		sipgo.WithClientLogger(u.log),
		sipgo.WithClientHostname(advHost),
		sipgo.WithClientPort(advPort),
	}
	if o.Advertise != "" {
		clientOpts = append(clientOpts, sipgo.WithClientNAT())
	}
	if u.transport == "UDP" {
		// Requests leave from the listening socket (sipgo would otherwise
		// open a new random port per request).
		clientOpts = append(clientOpts, sipgo.WithClientConnectionAddr(u.Addr()))
	}
	u.cli, err = sipgo.NewClient(sua, clientOpts...)
	if err != nil {
		u.listener.Close()
		sua.Close()
		return nil, fmt.Errorf("siptest: %w", err)
	}

	// Every handler is registered before serving: sipgo's handler map is
	// not locked.
	u.srv.OnInvite(u.onInvite)
	u.srv.OnAck(u.onAck)
	u.srv.OnBye(u.onBye)
	u.srv.OnCancel(u.onStrayCancel)
	u.srv.OnOptions(u.onOK)
	u.srv.OnInfo(u.onInfo)
	u.srv.OnUpdate(u.onUpdate)
	u.srv.OnPrack(u.onPrack)
	u.srv.OnNotify(u.onNotify)

	go func() {
		defer close(u.serveDone)
		var err error
		switch l := u.listener.(type) {
		case net.PacketConn:
			err = u.srv.ServeUDP(l)
		case net.Listener:
			err = u.srv.ServeTCP(l)
		}
		if err != nil && !errors.Is(err, net.ErrClosed) {
			u.log.Debug("serve ended", "error", err)
		}
	}()

	if u.tcp != nil {
		u.tcpDone = make(chan struct{})
		go func() {
			defer close(u.tcpDone)
			if err := u.srv.ServeTCP(u.tcp); err != nil && !errors.Is(err, net.ErrClosed) {
				u.log.Debug("tcp serve ended", "error", err)
			}
		}()
	}

	if u.transport == "UDP" {
		// The UDP listener registers its socket a moment after serving
		// starts; requests sent before would go out from a random port.
		deadline := time.Now().Add(5 * time.Second)
		for {
			if _, err := sua.TransportLayer().GetConnection("udp", u.Addr()); err == nil {
				break
			}
			if time.Now().After(deadline) {
				u.Close()
				return nil, errors.New("siptest: udp listener did not come up")
			}
			time.Sleep(time.Millisecond)
		}
	}

	go func() {
		select {
		case <-ctx.Done():
			u.Close()
		case <-u.done:
		}
	}()
	return u, nil
}

// listenUDP binds the UDP socket and, with alsoTCP, a TCP listener on the
// same port (retrying when port 0 picked a UDP port whose TCP twin is taken).
func listenUDP(addr string, alsoTCP bool) (net.PacketConn, net.Listener, error) {
	for attempt := 0; ; attempt++ {
		conn, err := net.ListenPacket("udp", addr)
		if err != nil {
			return nil, nil, fmt.Errorf("siptest: listen udp %s: %w", addr, err)
		}
		if !alsoTCP {
			return conn, nil, nil
		}
		tcp, err := net.Listen("tcp", conn.LocalAddr().String())
		if err == nil {
			return conn, tcp, nil
		}
		conn.Close()
		if _, port, _ := net.SplitHostPort(addr); port != "0" || attempt == 20 {
			return nil, nil, fmt.Errorf("siptest: listen tcp beside udp %s: %w", addr, err)
		}
	}
}

// Addr returns the host:port the UA listens on.
func (u *UA) Addr() string { return net.JoinHostPort(u.host, strconv.Itoa(u.port)) }

// URI returns a SIP URI addressing user at this UA (user may be empty).
func (u *UA) URI(user string) string {
	s := "sip:"
	if user != "" {
		s += user + "@"
	}
	s += u.Addr()
	if u.transport == "TCP" {
		s += ";transport=tcp"
	}
	return s
}

// Incoming returns the channel of INVITEs (new calls) the UA receives. Each
// must be answered with Ring/Progress/Answer/Reject/Challenge; an unanswered
// one keeps ringing. The channel is closed by Close.
func (u *UA) Incoming() <-chan *Incoming { return u.incoming }

// Close ends all calls without signalling (no BYE), stops listening and
// closes sipgo's transaction and transport layers. Pending Incoming calls
// are abandoned.
func (u *UA) Close() error {
	u.closeOnce.Do(func() {
		u.mu.Lock()
		u.closed = true
		calls := make([]*Call, 0, len(u.calls))
		for _, c := range u.calls {
			calls = append(calls, c)
		}
		close(u.incoming)
		u.mu.Unlock()
		close(u.done)
		for _, c := range calls {
			c.end(nil)
		}
		u.listener.Close()
		if u.tcp != nil {
			u.tcp.Close()
		}
		u.sua.Close()
		select {
		case <-u.serveDone:
		case <-time.After(5 * time.Second):
		}
		if u.tcpDone != nil {
			select {
			case <-u.tcpDone:
			case <-time.After(5 * time.Second):
			}
		}
	})
	return nil
}

func (u *UA) register(c *Call) {
	u.mu.Lock()
	u.calls[dialogKey{c.callID, c.localTag}] = c
	u.mu.Unlock()
}

func (u *UA) unregister(c *Call) {
	u.mu.Lock()
	if u.calls[dialogKey{c.callID, c.localTag}] == c {
		delete(u.calls, dialogKey{c.callID, c.localTag})
	}
	u.mu.Unlock()
}

// lookup finds the call an incoming in-dialog request belongs to: our tag is
// in its To header.
func (u *UA) lookup(req *sip.Request) *Call {
	callID, to := req.CallID(), req.To()
	if callID == nil || to == nil {
		return nil
	}
	tag, _ := to.Params.Get("tag")
	u.mu.Lock()
	defer u.mu.Unlock()
	return u.calls[dialogKey{callID.Value(), tag}]
}

func (u *UA) deliver(in *Incoming) bool {
	u.mu.Lock()
	defer u.mu.Unlock()
	if u.closed {
		return false
	}
	select {
	case u.incoming <- in:
		return true
	default:
		return false
	}
}

func (u *UA) respond(req *sip.Request, tx sip.ServerTransaction, code int, reason string) {
	if err := tx.Respond(sip.NewResponseFromRequest(req, code, reason, nil)); err != nil {
		u.log.Debug("respond failed", "code", code, "error", err)
	}
}

func (u *UA) onInvite(req *sip.Request, tx sip.ServerTransaction) {
	if req.From() == nil || req.To() == nil || req.CallID() == nil || req.CSeq() == nil {
		u.respond(req, tx, 400, "Bad Request")
		return
	}
	if tag, _ := req.To().Params.Get("tag"); tag != "" {
		c := u.lookup(req)
		if c == nil {
			u.respond(req, tx, 481, "Call/Transaction Does Not Exist")
			return
		}
		c.handleReinvite(req, tx)
		return
	}
	u.handleInvite(req, tx)
}

func (u *UA) onAck(req *sip.Request, _ sip.ServerTransaction) {
	if c := u.lookup(req); c != nil {
		c.handleAck(req)
	}
}

func (u *UA) onBye(req *sip.Request, tx sip.ServerTransaction) {
	c := u.lookup(req)
	if c == nil {
		u.respond(req, tx, 481, "Call/Transaction Does Not Exist")
		return
	}
	u.respond(req, tx, 200, "OK")
	c.log.Debug("BYE received")
	c.end(req)
}

// onStrayCancel answers a CANCEL that matched no INVITE transaction (sipgo
// answers matching ones itself, with 200 and 487 on the INVITE).
func (u *UA) onStrayCancel(req *sip.Request, tx sip.ServerTransaction) {
	u.respond(req, tx, 481, "Call/Transaction Does Not Exist")
}

func (u *UA) onOK(req *sip.Request, tx sip.ServerTransaction) { u.respond(req, tx, 200, "OK") }

func (u *UA) onInDialogOK(req *sip.Request, tx sip.ServerTransaction) {
	if u.lookup(req) == nil {
		u.respond(req, tx, 481, "Call/Transaction Does Not Exist")
		return
	}
	u.respond(req, tx, 200, "OK")
}

// onUpdate accepts an UPDATE without SDP (session refresh; the UA supports
// RFC 4028 timers, so a Session-Expires is echoed with Require: timer) and
// declines offers, which this UA does not take in UPDATE. Each UPDATE is
// reported on its call's Updates.
func (u *UA) onUpdate(req *sip.Request, tx sip.ServerTransaction) {
	c := u.lookup(req)
	if c == nil {
		u.respond(req, tx, 481, "Call/Transaction Does Not Exist")
		return
	}
	select {
	case c.updates <- req:
	default:
	}
	c.mu.Lock()
	refuse := c.refuseUpdate
	c.refuseUpdate = nil
	c.mu.Unlock()
	if refuse != nil {
		res := sip.NewResponseFromRequest(req, refuse.code, refuse.reason, nil)
		for k, v := range refuse.headers {
			setHeader(res, k, v)
		}
		if err := tx.Respond(res); err != nil {
			u.log.Debug("respond", "code", refuse.code, "error", err)
		}
		return
	}
	if len(req.Body()) > 0 {
		u.respond(req, tx, 488, "Not Acceptable Here")
		return
	}
	res := sip.NewResponseFromRequest(req, 200, "OK", nil)
	res.AppendHeader(sip.HeaderClone(&u.contact))
	timerAnswer(req, res)
	if err := tx.Respond(res); err != nil {
		u.log.Debug("respond", "code", 200, "error", err)
	}
}

// setHeader sets a header by name, replacing any of the same name
// (case-insensitive). Max-Forwards gets sipgo's typed header.
func setHeader(m interface {
	Headers() []sip.Header
	RemoveHeader(string) bool
	AppendHeader(sip.Header)
}, name, value string) {
	for _, h := range m.Headers() {
		if strings.EqualFold(h.Name(), name) {
			m.RemoveHeader(h.Name())
			break
		}
	}
	if strings.EqualFold(name, "Max-Forwards") {
		if n, err := strconv.ParseUint(strings.TrimSpace(value), 10, 32); err == nil {
			mf := sip.MaxForwardsHeader(n)
			m.AppendHeader(&mf)
			return
		}
	}
	m.AppendHeader(sip.NewHeader(name, value))
}

func newTag() string { return sip.GenerateTagN(16) }

func newCallID() string { return sip.GenerateTagN(24) + "@siptest" }

func randomCSeq() uint32 { return 1 + rand.Uint32N(10000) }

func tagOf(p sip.HeaderParams) string { t, _ := p.Get("tag"); return t }
