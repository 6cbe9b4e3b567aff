package sip

import (
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/emiago/sipgo/sip"
	"github.com/prometheus/client_golang/prometheus"
)

// Metrics are the SIP edge's Prometheus metrics.
type Metrics struct {
	calls      *prometheus.CounterVec
	rejections *prometheus.CounterVec
	attempts   prometheus.Counter
	challenges *prometheus.CounterVec
	active     prometheus.Gauge
	malformed  *prometheus.CounterVec
	screen     *prometheus.CounterVec

	cpsMu     sync.Mutex
	cpsSecond int64
	cpsCount  int64
	cpsLast   int64

	trunks atomic.Pointer[[]*Trunk]
	gauges atomic.Pointer[screenGauges]
	now    func() time.Time
}

// NewMetrics registers the SIP metrics on reg.
func NewMetrics(reg prometheus.Registerer) *Metrics {
	m := &Metrics{
		calls: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "switchboard_calls_total",
			Help: "Calls by result: answered, busy, no_answer, cancelled, rejected, failed.",
		}, []string{"result"}),
		rejections: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "switchboard_sip_rejections_total",
			Help: "Initial INVITEs answered with a failure at the edge, by SIP status code.",
		}, []string{"code"}),
		attempts: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "switchboard_call_attempts_total",
			Help: "Call attempts: initial INVITEs received, except those answered with a digest challenge (switchboard_sip_challenges_total).",
		}),
		challenges: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "switchboard_sip_challenges_total",
			Help: "Initial INVITEs answered with a digest challenge (401 or 407), by status code; not call attempts.",
		}, []string{"code"}),
		active: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "switchboard_active_calls",
			Help: "Calls in progress (set-up or answered).",
		}),
		malformed: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "switchboard_sip_malformed_total",
			Help: "SIP messages refused before the transaction layer (unparseable, truncated, oversized, garbage), by transport and by what was done: answered (400/505/513 sent statelessly) or dropped (nothing to answer).",
		}, []string{"transport", "action"}),
		screen: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "switchboard_sip_screened_total",
			Help: "Requests refused before any transaction was created, by method, reason (unknown_source: no trunk accepts the source; state_cap: sip.max_transactions reached; source_rate: over sip.per_source_cps, the source is now banned; source_throttled: over sip.per_source_cps from an address in a trunk's inbound.allow, answered 503 and never banned; banned: from a banned source) and action (answered statelessly with 403/503, or dropped). Not call attempts.",
		}, []string{"method", "reason", "action"}),
		now: time.Now,
	}
	reg.MustRegister(m.calls, m.rejections, m.attempts, m.challenges, m.active, m.malformed, m.screen, m)
	return m
}

var (
	descCPS = prometheus.NewDesc("switchboard_cps",
		"Call attempts (initial INVITEs not challenged) during the last whole second.", nil, nil)
	descTrunkChannels = prometheus.NewDesc("switchboard_trunk_channels_in_use",
		"Channels in use per trunk.", []string{"trunk"}, nil)
	descTrunkMax = prometheus.NewDesc("switchboard_trunk_channels_max",
		"Configured max_channels per trunk (0 = unlimited).", []string{"trunk"}, nil)
	descTrunkUp = prometheus.NewDesc("switchboard_trunk_up",
		"1 when the trunk is up (OPTIONS keep-alive answered or not configured).", []string{"trunk"}, nil)
	descBanned = prometheus.NewDesc("switchboard_sip_banned_sources",
		"Source addresses on the per-source ban list now (sip.per_source_cps, sip.per_source_ban).", nil, nil)
	descServerTx = prometheus.NewDesc("switchboard_sip_server_transactions",
		"Live SIP server transactions (with the calls in progress, what sip.max_transactions caps).", nil, nil)
	descTrunkReg = prometheus.NewDesc("switchboard_trunk_registered",
		"Outbound registration state: 1 registered, 0 not (absent when registration is off).", []string{"trunk", "state"}, nil)
)

// Describe implements prometheus.Collector.
func (m *Metrics) Describe(ch chan<- *prometheus.Desc) {
	ch <- descCPS
	ch <- descTrunkChannels
	ch <- descTrunkMax
	ch <- descTrunkUp
	ch <- descTrunkReg
	ch <- descBanned
	ch <- descServerTx
}

// screenGauges read the screen's live figures at collection time.
type screenGauges struct {
	banned       func() int
	transactions func() int
}

func (m *Metrics) watchScreen(banned, transactions func() int) {
	m.gauges.Store(&screenGauges{banned: banned, transactions: transactions})
}

// screened counts a request refused before a transaction was created.
func (m *Metrics) screened(method, reason string, answered bool) {
	action := "dropped"
	if answered {
		action = "answered"
	}
	m.screen.WithLabelValues(methodLabel(method), reason, action).Inc()
}

// Collect implements prometheus.Collector.
func (m *Metrics) Collect(ch chan<- prometheus.Metric) {
	ch <- prometheus.MustNewConstMetric(descCPS, prometheus.GaugeValue, float64(m.lastSecond()))
	if g := m.gauges.Load(); g != nil {
		ch <- prometheus.MustNewConstMetric(descBanned, prometheus.GaugeValue, float64(g.banned()))
		ch <- prometheus.MustNewConstMetric(descServerTx, prometheus.GaugeValue, float64(g.transactions()))
	}
	ts := m.trunks.Load()
	if ts == nil {
		return
	}
	for _, t := range *ts {
		ch <- prometheus.MustNewConstMetric(descTrunkChannels, prometheus.GaugeValue, float64(t.Channels()), t.Name())
		ch <- prometheus.MustNewConstMetric(descTrunkMax, prometheus.GaugeValue, float64(t.Config.MaxChannels), t.Name())
		up := 0.0
		if t.State() == TrunkUp {
			up = 1
		}
		ch <- prometheus.MustNewConstMetric(descTrunkUp, prometheus.GaugeValue, up, t.Name())
		if st, _, _ := t.Registration(); st != RegNone {
			v := 0.0
			if st == RegRegistered {
				v = 1
			}
			ch <- prometheus.MustNewConstMetric(descTrunkReg, prometheus.GaugeValue, v, t.Name(), st.String())
		}
	}
}

func (m *Metrics) watchTrunks(ts []*Trunk) { m.trunks.Store(&ts) }

func (m *Metrics) attempt() {
	m.attempts.Inc()
	sec := m.now().Unix()
	m.cpsMu.Lock()
	if sec != m.cpsSecond {
		if sec == m.cpsSecond+1 {
			m.cpsLast = m.cpsCount
		} else {
			m.cpsLast = 0
		}
		m.cpsSecond, m.cpsCount = sec, 0
	}
	m.cpsCount++
	m.cpsMu.Unlock()
}

func (m *Metrics) lastSecond() int64 {
	sec := m.now().Unix()
	m.cpsMu.Lock()
	defer m.cpsMu.Unlock()
	switch sec {
	case m.cpsSecond:
		return m.cpsLast
	case m.cpsSecond + 1:
		return m.cpsCount
	}
	return 0
}

func (m *Metrics) rejected(code int) {
	m.rejections.WithLabelValues(strconv.Itoa(code)).Inc()
	m.calls.WithLabelValues("rejected").Inc()
}

// challenged counts a digest challenge (401 or 407) to an initial INVITE.
func (m *Metrics) challenged(code int) { m.challenges.WithLabelValues(strconv.Itoa(code)).Inc() }

func (m *Metrics) callStarted() { m.active.Inc() }

// malformedMessage counts a message refused before parsing or by the parser.
func (m *Metrics) malformedMessage(transport string, answered bool) {
	action := "dropped"
	if answered {
		action = "answered"
	}
	m.malformed.WithLabelValues(transport, action).Inc()
}
func (m *Metrics) callEnded() { m.active.Dec() }

// CallFinished counts a call that got past the edge, by its record's result.
func (m *Metrics) CallFinished(result string) { m.calls.WithLabelValues(result).Inc() }

// methodLabel bounds a method taken from the wire to the methods the switch
// knows, else "other": any token parses as a method (RFC 4475 intmeth), and
// each would be a new series.
func methodLabel(method string) string {
	switch sip.RequestMethod(method) {
	case sip.INVITE, sip.ACK, sip.CANCEL, sip.BYE, sip.OPTIONS, sip.REGISTER, sip.INFO,
		sip.UPDATE, sip.PRACK, sip.REFER, sip.MESSAGE, sip.SUBSCRIBE, sip.NOTIFY, sip.PUBLISH:
		return method
	}
	return "other"
}
