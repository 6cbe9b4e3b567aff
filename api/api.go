// Package api is Switchboard's HTTP surface: health, Prometheus metrics,
// the contact center's REST API under /api/v1 (with its OpenAPI document and
// the agents' event sockets), the WHIP endpoints of agents' media, and (in a
// later issue) the agent panel's static files.
package api

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net"
	"net/http"
	"net/http/pprof"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/switchboard-voice/switchboard/config"
	"github.com/switchboard-voice/switchboard/media"
)

// Health reports the node's state for /healthz.
type Health interface {
	// Draining is true once the node stopped taking calls.
	Draining() bool
	// ActiveLegs counts SIP legs in progress.
	ActiveLegs() int
}

// TrunkStatus is one trunk's live state for GET /trunks.
type TrunkStatus struct {
	Name         string     `json:"name"`
	Inbound      bool       `json:"inbound"`
	Outbound     bool       `json:"outbound"`
	State        string     `json:"state"` // up | down (OPTIONS keep-alive)
	Channels     int        `json:"channels_in_use"`
	MaxChannels  int        `json:"max_channels"`
	Registration string     `json:"registration,omitempty"` // pending | registered | failed
	RegDetail    string     `json:"registration_detail,omitempty"`
	RegExpires   *time.Time `json:"registration_expires,omitempty"`
}

// Trunks lists trunk states.
type Trunks interface {
	TrunkStatuses() []TrunkStatus
}

// Options configure the HTTP server.
type Options struct {
	Listen   string
	Gatherer prometheus.Gatherer
	Health   Health
	Trunks   Trunks
	Pprof    bool // serve /debug/pprof/
	// Reload re-reads the configuration (POST /reload); nil disables it.
	Reload func() error
	// Contact serves /api/v1 and /whip; nil leaves them out.
	Contact *Contact
	// Web serves the agent panel at / (every path no other route takes);
	// nil leaves it out.
	Web     http.Handler
	Node    string
	Version string
	Logger  *slog.Logger
	// Keys are the supervisors' API keys (key → name), read at each
	// request; /reload, /trunks, /debug/pprof/ and (unless MetricsPublic)
	// /metrics need one. nil: Contact.Keys.
	Keys func() map[string]string
	// MetricsPublic serves /metrics without credentials.
	MetricsPublic bool
	// The listener's timeouts (zero: config's defaults) and connection
	// caps (zero: none); see config.HTTP.
	ReadHeaderTimeout, ReadTimeout, WriteTimeout, IdleTimeout time.Duration
	MaxConns, MaxConnsPerIP                                   int
}

// Server serves the HTTP endpoints.
type Server struct {
	o    Options
	http *http.Server
	ln   net.Listener
}

// New builds the HTTP server; Start binds it.
func New(o Options) *Server {
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	if o.Keys == nil && o.Contact != nil {
		o.Keys = o.Contact.Keys
	}
	s := &Server{o: o}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", s.healthz)
	metrics := promhttp.HandlerFor(o.Gatherer, promhttp.HandlerOpts{})
	if !o.MetricsPublic {
		metrics = s.supervisorOnly(metrics)
	}
	mux.Handle("GET /metrics", metrics)
	mux.Handle("GET /trunks", s.supervisorOnly(http.HandlerFunc(s.trunks)))
	if o.Reload != nil {
		mux.Handle("POST /reload", s.supervisorOnly(http.HandlerFunc(s.reload)))
	}
	if o.Contact != nil {
		newV1(o.Contact).register(mux)
	}
	if o.Web != nil {
		mux.Handle("/", o.Web)
	}
	if o.Pprof {
		mux.Handle("/debug/pprof/", s.supervisorOnly(http.HandlerFunc(pprof.Index)))
		mux.Handle("/debug/pprof/cmdline", s.supervisorOnly(http.HandlerFunc(pprof.Cmdline)))
		mux.Handle("/debug/pprof/profile", s.supervisorOnly(http.HandlerFunc(pprof.Profile)))
		mux.Handle("/debug/pprof/symbol", s.supervisorOnly(http.HandlerFunc(pprof.Symbol)))
		mux.Handle("/debug/pprof/trace", s.supervisorOnly(http.HandlerFunc(pprof.Trace)))
	}
	s.http = &http.Server{Handler: guard(mux),
		ReadHeaderTimeout: orDefault(o.ReadHeaderTimeout, config.DefaultHTTPReadHeaderTimeout),
		ReadTimeout:       orDefault(o.ReadTimeout, config.DefaultHTTPReadTimeout),
		WriteTimeout:      orDefault(o.WriteTimeout, config.DefaultHTTPWriteTimeout),
		IdleTimeout:       orDefault(o.IdleTimeout, config.DefaultHTTPIdleTimeout),
		ErrorLog:          slog.NewLogLogger(o.Logger.Handler(), slog.LevelWarn),
	}
	return s
}

func orDefault(d, def time.Duration) time.Duration {
	if d > 0 {
		return d
	}
	return def
}

// Handler exposes the routes (for tests).
func (s *Server) Handler() http.Handler { return s.http.Handler }

// Start binds the listener and serves in the background.
func (s *Server) Start() error {
	ln, err := net.Listen("tcp", s.o.Listen)
	if err != nil {
		return err
	}
	s.ln = ln
	ln = limitConns(ln, s.o.MaxConns, s.o.MaxConnsPerIP, s.o.Logger)
	go func() {
		if err := s.http.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			s.o.Logger.Error("http server", "error", err)
		}
	}()
	s.o.Logger.Info("http listening", "addr", ln.Addr().String())
	return nil
}

// Addr is the bound address.
func (s *Server) Addr() string {
	if s.ln == nil {
		return ""
	}
	return s.ln.Addr().String()
}

// Shutdown stops serving.
func (s *Server) Shutdown(ctx context.Context) error { return s.http.Shutdown(ctx) }

type health struct {
	Status     string `json:"status"`
	Node       string `json:"node"`
	Version    string `json:"version"`
	ActiveLegs int    `json:"active_legs"`
}

// healthz answers 200 while taking calls and 503 while draining, so a load
// balancer stops sending new calls to a node that is shutting down.
func (s *Server) healthz(w http.ResponseWriter, r *http.Request) {
	h := health{Status: "ok", Node: s.o.Node, Version: s.o.Version}
	code := http.StatusOK
	if s.o.Health != nil {
		h.ActiveLegs = s.o.Health.ActiveLegs()
		if s.o.Health.Draining() {
			h.Status, code = "draining", http.StatusServiceUnavailable
		}
	}
	writeJSON(w, code, h)
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(v)
}

// trunks answers GET /trunks: every trunk's keep-alive, channel and
// registration state as JSON.
func (s *Server) trunks(w http.ResponseWriter, r *http.Request) {
	list := []TrunkStatus{}
	if s.o.Trunks != nil {
		list = s.o.Trunks.TrunkStatuses()
	}
	writeJSON(w, http.StatusOK, list)
}

// RTPCollector exports the media relay's counters.
type RTPCollector struct {
	Stats *media.Stats
	Ports *media.PortAllocator
}

var (
	descRTPPackets = prometheus.NewDesc("switchboard_rtp_packets_relayed_total", "RTP packets relayed between legs.", nil, nil)
	descRTPBytes   = prometheus.NewDesc("switchboard_rtp_bytes_relayed_total", "RTP payload bytes relayed between legs.", nil, nil)
	descRTPRecv    = prometheus.NewDesc("switchboard_rtp_packets_received_total", "RTP packets received on media sockets.", nil, nil)
	descRTCP       = prometheus.NewDesc("switchboard_rtcp_packets_total", "RTCP packets received from peers and reports sent by the switch.", []string{"direction"}, nil)
	descTranscoded = prometheus.NewDesc("switchboard_rtp_packets_transcoded_total", "RTP packets decoded, re-encoded and sent by transcoders.", nil, nil)
	descConcealed  = prometheus.NewDesc("switchboard_frames_concealed_total", "20 ms frames transcoders made up for lost packets (PLC or Opus FEC).", nil, nil)
	descDTMF       = prometheus.NewDesc("switchboard_dtmf_rfc4733_digits_total", "DTMF digits received as RFC 4733 telephone-events.", nil, nil)
	descDropped    = prometheus.NewDesc("switchboard_rtp_packets_dropped_total", "Media packets dropped, by reason.", []string{"reason"}, nil)
	descPorts      = prometheus.NewDesc("switchboard_rtp_port_pairs_in_use", "RTP/RTCP port pairs open.", nil, nil)
)

// Describe implements prometheus.Collector.
func (c RTPCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{descRTPPackets, descRTPBytes, descRTPRecv, descRTCP, descTranscoded, descConcealed, descDTMF, descDropped, descPorts} {
		ch <- d
	}
}

// Collect implements prometheus.Collector.
func (c RTPCollector) Collect(ch chan<- prometheus.Metric) {
	s := c.Stats.Snapshot()
	counter := func(d *prometheus.Desc, v uint64, labels ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.CounterValue, float64(v), labels...)
	}
	counter(descRTPPackets, s.PacketsRelayed)
	counter(descRTPBytes, s.BytesRelayed)
	counter(descRTPRecv, s.PacketsReceived)
	counter(descRTCP, s.RTCPReceived, "received")
	counter(descRTCP, s.RTCPSent, "sent")
	counter(descTranscoded, s.PacketsTranscoded)
	counter(descConcealed, s.FramesConcealed)
	counter(descDTMF, s.DTMFReceived)
	counter(descDropped, s.DroppedSRTP, "srtp_auth")
	counter(descDropped, s.DroppedInvalid, "invalid")
	counter(descDropped, s.DroppedForeign, "foreign_source")
	counter(descDropped, s.DroppedNoSink, "no_sink")
	counter(descDropped, s.DroppedNoRemote, "no_remote")
	counter(descDropped, s.WriteErrors, "write_error")
	if c.Ports != nil {
		ch <- prometheus.MustNewConstMetric(descPorts, prometheus.GaugeValue, float64(c.Ports.InUse()))
	}
}

// reload applies a new configuration: 200 {"status":"reloaded"}, or 422
// with every problem when the new one is refused (the old one stays).
func (s *Server) reload(w http.ResponseWriter, _ *http.Request) {
	err := s.o.Reload()
	if err == nil {
		writeJSON(w, http.StatusOK, map[string]any{"status": "reloaded"})
		return
	}
	problems := []string{err.Error()}
	if ps := config.Problems(nil); errors.As(err, &ps) {
		problems = problems[:0]
		for _, p := range ps {
			problems = append(problems, p.String())
		}
	}
	writeJSON(w, http.StatusUnprocessableEntity, map[string]any{"status": "refused", "problems": problems})
}
