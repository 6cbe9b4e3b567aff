package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/netip"
	"os"
	"reflect"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"github.com/switchboard-voice/switchboard/api"
	"github.com/switchboard-voice/switchboard/call"
	"github.com/switchboard-voice/switchboard/config"
	"github.com/switchboard-voice/switchboard/dialplan"
	"github.com/switchboard-voice/switchboard/media"
	"github.com/switchboard-voice/switchboard/sip"
	"github.com/switchboard-voice/switchboard/web"
)

// node is one running switch: the only place concrete packages meet.
type node struct {
	cfg   *config.Config
	log   *slog.Logger
	ports *media.PortAllocator
	sip   *sip.Server
	http  *api.Server
	// engine runs new calls; reload swaps it, calls in progress keep theirs.
	engine    atomic.Pointer[dialplan.Engine]
	reloads   sync.Mutex // one reload at a time
	queues    dialplan.Queues
	contact   *contactCenter                // nil when a test supplies its own queues
	running   atomic.Pointer[config.Config] // the configuration new calls use
	now       func() time.Time
	callbacks dialplan.Callbacks // nil: callback keys are ignored
	metrics   *sip.Metrics
	reg       *prometheus.Registry
	// activeCalls counts the calls in the dialplan (named in the log when a
	// second signal cuts the drain short).
	activeCalls atomic.Int64
}

// newLogger builds the structured logger the config asks for.
func newLogger(c config.Log, w *os.File) *slog.Logger {
	var lvl slog.Level
	_ = lvl.UnmarshalText([]byte(c.Level))
	opts := &slog.HandlerOptions{Level: lvl, ReplaceAttr: secondsAttr}
	if strings.EqualFold(c.Format, "text") {
		return slog.New(slog.NewTextHandler(w, opts))
	}
	return slog.New(slog.NewJSONHandler(w, opts))
}

// secondsAttr writes every duration a log line carries in seconds, under a
// key that says so: "timeout" 30s becomes "timeout_s": 30 (slog would print
// nanoseconds, or "30s" as text, neither of which a log query can add up).
// One rule here covers every package's durations.
func secondsAttr(_ []string, a slog.Attr) slog.Attr {
	if a.Value.Kind() != slog.KindDuration {
		return a
	}
	key := a.Key
	if !strings.HasSuffix(key, "_s") {
		key += "_s"
	}
	return slog.Float64(key, a.Value.Duration().Seconds())
}

// nodeOptions replace parts of a node (tests).
type nodeOptions struct {
	// Queues the dialplan hands callers to; nil: HoldQueues.
	Queues dialplan.Queues
	// Now is the dialplan's clock (routes' schedules, working hours); nil:
	// time.Now.
	Now func() time.Time
	// Callbacks takes the callback requests of response codes and gather
	// branches; nil: such keys are ignored.
	Callbacks dialplan.Callbacks
}

// startNode wires and starts every part of the switch for cfg.
func startNode(ctx context.Context, cfg *config.Config, log *slog.Logger) (*node, error) {
	return startNodeWith(ctx, cfg, log, nodeOptions{})
}

// startNodeWith is startNode with parts replaced.
func startNodeWith(ctx context.Context, cfg *config.Config, log *slog.Logger, o nodeOptions) (*node, error) {
	n := &node{cfg: cfg, log: log, reg: prometheus.NewRegistry(), queues: o.Queues, now: o.Now, callbacks: o.Callbacks}
	n.running.Store(cfg)
	if n.queues == nil {
		cc, err := startContact(ctx, cfg, log, o.Now, n.running.Load)
		if err != nil {
			return nil, err
		}
		n.contact, n.queues = cc, cc
		if n.callbacks == nil {
			n.callbacks = cc
		}
	}
	ok := false
	defer func() {
		if !ok && n.contact != nil {
			n.contact.close()
		}
	}()
	n.reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))

	bind, err := rtpBindAddr(cfg)
	if err != nil {
		return nil, err
	}
	stats := &media.Stats{}
	n.ports, err = media.NewPortAllocator(media.PortAllocatorOptions{IP: bind, Min: cfg.RTP.PortMin, Max: cfg.RTP.PortMax,
		Stats: stats, RTCPInterval: cfg.RTP.RTCPInterval})
	if err != nil {
		return nil, fmt.Errorf("rtp: %w", err)
	}
	n.reg.MustRegister(api.RTPCollector{Stats: stats, Ports: n.ports})
	if n.contact != nil {
		n.reg.MustRegister(api.QueueCollector{Source: n.contact.acd})
	}
	n.metrics = sip.NewMetrics(n.reg)
	callMetrics := api.NewCallMetrics(n.reg)

	// newCall starts a call on its anchor leg (a caller's, or the agent's
	// leg of an agent's call) with the node's options and observers.
	newCall := func(ctx context.Context, anchor call.Leg, id string) *call.Call {
		c := call.New(ctx, anchor, log, call.Options{MediaTimeout: cfg.RTP.MediaTimeout, QualityInterval: cfg.RTP.RTCPInterval,
			ID: id})
		c.OnNotice(callMetrics.Notice)
		if n.contact != nil {
			c.OnNotice(n.contact.notice(c.ID()))
			c.OnRefer(n.contact.calls.referHandler(n.contact.acd))
		}
		c.OnEnd(func(r call.Record) {
			n.metrics.CallFinished(r.Result)
			callMetrics.CallEnded(r)
		})
		return c
	}
	handler := sip.HandlerFunc(func(ctx context.Context, leg *sip.InboundLeg) {
		c := newCall(ctx, leg, "")
		n.activeCalls.Add(1)
		defer n.activeCalls.Add(-1)
		n.engine.Load().Run(ctx, c)
	})
	n.sip, err = sip.NewServer(sip.Options{Config: cfg, Ports: n.ports, Handler: handler, Metrics: n.metrics, Logger: log,
		MaxConns: fdBudget(cfg, log)})
	if err != nil {
		return nil, err
	}
	n.engine.Store(n.newEngine(cfg))
	if n.contact != nil {
		n.contact.calls.engine, n.contact.calls.dialer = n.engine.Load, n.sip
		n.contact.calls.newCall = func(ctx context.Context, anchor call.Leg, id string) *call.Call {
			c := newCall(ctx, anchor, id) // an agent's call: active until it ends
			n.activeCalls.Add(1)
			c.OnEnd(func(call.Record) { n.activeCalls.Add(-1) })
			return c
		}
	}
	if err := n.sip.Start(ctx); err != nil {
		return nil, err
	}
	h := cfg.HTTP
	ao := api.Options{Listen: h.Listen, Gatherer: n.reg, Health: n.sip, Trunks: trunkStatuses{n.sip}, Pprof: h.Pprof, Reload: n.reload,
		Node: cfg.Node.Name, Version: version, Logger: log, Keys: n.supervisorKeys, MetricsPublic: h.MetricsPublic,
		ReadHeaderTimeout: h.ReadHeaderTimeout, ReadTimeout: h.ReadTimeout, WriteTimeout: h.WriteTimeout, IdleTimeout: h.IdleTimeout,
		MaxConns: h.MaxConns, MaxConnsPerIP: h.MaxConnsPerIP}
	if n.contact != nil {
		ao.Contact = n.contact.api()
		ao.Web = web.Handler()
	}
	n.http = api.New(ao)
	if err := n.http.Start(); err != nil {
		_ = n.sip.Close()
		return nil, fmt.Errorf("http: %w", err)
	}
	ok = true
	return n, nil
}

// supervisorKeys are the running configuration's API keys (key → name).
func (n *node) supervisorKeys() map[string]string {
	out := map[string]string{}
	for _, k := range n.running.Load().API.Keys {
		out[k.Key] = k.Name
	}
	return out
}

// rtpBindAddr is rtp.bind_ip, or the host of the first SIP listener.
func rtpBindAddr(cfg *config.Config) (netip.Addr, error) {
	ip := cfg.RTP.BindIP
	if ip == "" {
		ip = "127.0.0.1"
		if len(cfg.SIP.Listen) > 0 {
			l := cfg.SIP.Listen[0]
			if i := strings.Index(l, "://"); i >= 0 {
				l = l[i+3:]
			}
			if j := strings.LastIndex(l, ":"); j >= 0 {
				ip = strings.Trim(l[:j], "[]")
			}
		}
	}
	a, err := netip.ParseAddr(ip)
	if err != nil {
		return netip.Addr{}, fmt.Errorf("rtp bind address %q: %w", ip, err)
	}
	return a, nil
}

// shutdown drains calls up to cfg.ShutdownTimeout, or until ctx is done (a
// second signal), then ends the calls left (BYE) and stops everything.
func (n *node) shutdown(ctx context.Context) {
	n.sip.Drain() // new calls get 503 from here on (before the log line says so)
	n.log.Info("draining", "timeout", n.cfg.ShutdownTimeout, "active_legs", n.sip.ActiveLegs())
	dctx, cancel := context.WithTimeout(ctx, n.cfg.ShutdownTimeout)
	defer cancel()
	_ = n.sip.Shutdown(dctx)
	_ = n.http.Shutdown(context.Background())
	_ = n.sip.Close()
	if n.contact != nil {
		n.contact.close()
	}
	n.log.Info("stopped")
}

// trunkStatuses adapts the SIP edge's trunks to the API's view.
type trunkStatuses struct{ s *sip.Server }

func (t trunkStatuses) TrunkStatuses() []api.TrunkStatus {
	var out []api.TrunkStatus
	for _, tr := range t.s.Trunks() {
		st := api.TrunkStatus{
			Name:        tr.Name(),
			Inbound:     tr.Config.Inbound != nil,
			Outbound:    tr.Config.Outbound != nil,
			State:       tr.State().String(),
			Channels:    tr.Channels(),
			MaxChannels: tr.Config.MaxChannels,
		}
		if reg, detail, until := tr.Registration(); reg != sip.RegNone {
			st.Registration, st.RegDetail = reg.String(), detail
			if !until.IsZero() {
				st.RegExpires = &until
			}
		}
		out = append(out, st)
	}
	return out
}

// reload re-reads the configuration file and, when it is valid, makes new
// calls use its routes, flows, schedules and prompts; calls in progress keep
// the configuration they started with. A file with problems is refused with
// every problem (config.Problems) and the running configuration stays.
// Sections the running node cannot change (SIP listeners, RTP, HTTP,
// trunks) need a restart: a change there is refused too, naming them.
func (n *node) reload() error {
	n.reloads.Lock()
	defer n.reloads.Unlock()
	if n.cfg.File == "" {
		return errors.New("reload: the configuration was not loaded from a file")
	}
	cfg, err := config.LoadWith(n.cfg.File, dialplan.Check)
	if err != nil {
		n.log.Warn("reload refused: the running configuration stays", "config", n.cfg.File, "error", err)
		return err
	}
	if changed := restartSections(n.cfg, cfg); len(changed) > 0 {
		err := fmt.Errorf("reload: %s changed: restart the switch to apply them", strings.Join(changed, ", "))
		n.log.Warn("reload refused: the running configuration stays", "error", err)
		return err
	}
	if n.contact != nil {
		if err := n.contact.apply(context.Background(), cfg); err != nil {
			n.log.Warn("reload refused: the running configuration stays", "error", err)
			return err
		}
	}
	n.running.Store(cfg)
	n.engine.Store(n.newEngine(cfg))
	logWarnings(n.log, cfg)
	n.log.Info("configuration reloaded", "config", cfg.File, "routes", len(cfg.Routes), "flows", len(cfg.Flows))
	return nil
}

// restartSections lists the sections that differ between a and b and that
// only a restart applies.
func restartSections(a, b *config.Config) []string {
	var out []string
	for _, s := range []struct {
		name string
		x, y any
	}{
		{"node", a.Node, b.Node}, {"sip", a.SIP, b.SIP}, {"rtp", a.RTP, b.RTP}, {"http", a.HTTP, b.HTTP},
		{"storage", a.Storage, b.Storage}, {"log", a.Log, b.Log}, {"trunks", a.Trunks, b.Trunks},
		{"shutdown_timeout", a.ShutdownTimeout, b.ShutdownTimeout}, {"gateway", a.Gateway, b.Gateway}, {"acd", a.ACD, b.ACD},
	} {
		if !reflect.DeepEqual(s.x, s.y) {
			out = append(out, s.name)
		}
	}
	return out
}

// newEngine builds the dialplan engine for cfg with the node's parts.
func (n *node) newEngine(cfg *config.Config) *dialplan.Engine {
	o := dialplan.Options{Dialer: n.sip, Log: n.log, Queues: n.queues, Now: n.now, Callbacks: n.callbacks}
	if n.contact != nil {
		o.WaitingStrategy = n.contact.strategyFor(cfg)
	}
	return dialplan.NewWithOptions(cfg, o)
}
