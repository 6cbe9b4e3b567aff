package main

import (
	"context"
	"fmt"
	"log/slog"
	"net/netip"
	"os"
	"strings"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"github.com/switchboard-voice/switchboard/api"
	"github.com/switchboard-voice/switchboard/call"
	"github.com/switchboard-voice/switchboard/config"
	"github.com/switchboard-voice/switchboard/dialplan"
	"github.com/switchboard-voice/switchboard/media"
	"github.com/switchboard-voice/switchboard/sip"
)

// node is one running switch: the only place concrete packages meet.
type node struct {
	cfg     *config.Config
	log     *slog.Logger
	ports   *media.PortAllocator
	sip     *sip.Server
	http    *api.Server
	engine  *dialplan.Engine
	metrics *sip.Metrics
	reg     *prometheus.Registry
}

// newLogger builds the structured logger the config asks for.
func newLogger(c config.Log, w *os.File) *slog.Logger {
	var lvl slog.Level
	_ = lvl.UnmarshalText([]byte(c.Level))
	opts := &slog.HandlerOptions{Level: lvl}
	if strings.EqualFold(c.Format, "text") {
		return slog.New(slog.NewTextHandler(w, opts))
	}
	return slog.New(slog.NewJSONHandler(w, opts))
}

// startNode wires and starts every part of the switch for cfg.
func startNode(ctx context.Context, cfg *config.Config, log *slog.Logger) (*node, error) {
	n := &node{cfg: cfg, log: log, reg: prometheus.NewRegistry()}
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
	n.metrics = sip.NewMetrics(n.reg)
	callMetrics := api.NewCallMetrics(n.reg)

	handler := sip.HandlerFunc(func(ctx context.Context, leg *sip.InboundLeg) {
		c := call.New(leg, log, call.Options{MediaTimeout: cfg.RTP.MediaTimeout, QualityInterval: cfg.RTP.RTCPInterval})
		c.OnNotice(callMetrics.Notice)
		c.OnEnd(func(r call.Record) {
			n.metrics.CallFinished(r.Result)
			callMetrics.CallEnded(r)
		})
		n.engine.Run(ctx, c)
	})
	n.sip, err = sip.NewServer(sip.Options{Config: cfg, Ports: n.ports, Handler: handler, Metrics: n.metrics, Logger: log})
	if err != nil {
		return nil, err
	}
	n.engine = dialplan.New(cfg, n.sip, log)
	if err := n.sip.Start(ctx); err != nil {
		return nil, err
	}
	n.http = api.New(api.Options{Listen: cfg.HTTP.Listen, Gatherer: n.reg, Health: n.sip, Trunks: trunkStatuses{n.sip}, Pprof: cfg.HTTP.Pprof,
		Node: cfg.Node.Name, Version: version, Logger: log})
	if err := n.http.Start(); err != nil {
		_ = n.sip.Close()
		return nil, fmt.Errorf("http: %w", err)
	}
	return n, nil
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

// shutdown drains calls up to cfg.ShutdownTimeout, then stops everything.
func (n *node) shutdown(ctx context.Context) {
	n.log.Info("draining", "timeout", n.cfg.ShutdownTimeout, "active_legs", n.sip.ActiveLegs())
	dctx, cancel := context.WithTimeout(ctx, n.cfg.ShutdownTimeout)
	defer cancel()
	_ = n.sip.Shutdown(dctx)
	_ = n.http.Shutdown(context.Background())
	_ = n.sip.Close()
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
