package api

import (
	"github.com/prometheus/client_golang/prometheus"

	"github.com/switchboard-voice/switchboard/call"
)

// CallMetrics exports what calls report about their media: per-leg quality
// at the end of each call, transcoding, media time-outs, weak-connection
// notices and digits.
type CallMetrics struct {
	mos        *prometheus.HistogramVec
	loss       *prometheus.HistogramVec
	jitter     *prometheus.HistogramVec
	rtt        *prometheus.HistogramVec
	transcoded prometheus.Counter
	timeouts   prometheus.Counter
	weak       *prometheus.CounterVec
	digits     *prometheus.CounterVec
}

// NewCallMetrics registers the metrics with reg.
func NewCallMetrics(reg prometheus.Registerer) *CallMetrics {
	leg := []string{"leg"}
	m := &CallMetrics{
		mos: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "switchboard_leg_mos", Help: "E-model MOS of each leg over its whole call (leg: caller or callee).",
			Buckets: []float64{1, 2, 2.5, 3, 3.5, 3.8, 4, 4.1, 4.2, 4.3, 4.4, 4.5},
		}, leg),
		loss: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "switchboard_leg_packet_loss_percent", Help: "RTP packet loss of each leg over its whole call, in percent.",
			Buckets: []float64{0, 0.1, 0.5, 1, 2, 5, 10, 20, 50},
		}, leg),
		jitter: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "switchboard_leg_jitter_seconds", Help: "Interarrival jitter (RFC 3550) of each leg at the end of its call.",
			Buckets: []float64{0.001, 0.005, 0.01, 0.02, 0.04, 0.08, 0.16},
		}, leg),
		rtt: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "switchboard_leg_rtt_seconds", Help: "Round-trip time measured with RTCP on each leg (legs whose peer sends RTCP).",
			Buckets: []float64{0.001, 0.01, 0.05, 0.1, 0.2, 0.4, 0.8},
		}, leg),
		transcoded: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "switchboard_calls_transcoded_total", Help: "Calls whose media was transcoded between codecs.",
		}),
		timeouts: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "switchboard_media_timeouts_total", Help: "Calls hung up because a leg sent no RTP for rtp.media_timeout.",
		}),
		weak: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "switchboard_leg_weak_total", Help: "Times a leg's MOS fell below 4 (connection is weak).",
		}, leg),
		digits: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "switchboard_dtmf_digits_total", Help: "DTMF digits pressed, by the leg they came from.",
		}, leg),
	}
	reg.MustRegister(m.mos, m.loss, m.jitter, m.rtt, m.transcoded, m.timeouts, m.weak, m.digits)
	return m
}

// CallEnded records a finished call.
func (m *CallMetrics) CallEnded(r call.Record) {
	if r.Transcoded {
		m.transcoded.Inc()
	}
	if r.MediaTimeout {
		m.timeouts.Inc()
	}
	for _, q := range r.Quality {
		leg := "callee"
		if q.Leg == r.CallID {
			leg = "caller"
		}
		m.mos.WithLabelValues(leg).Observe(q.MOS)
		m.loss.WithLabelValues(leg).Observe(q.LossPercent)
		m.jitter.WithLabelValues(leg).Observe(q.Jitter.Seconds())
		if q.RTT > 0 {
			m.rtt.WithLabelValues(leg).Observe(q.RTT.Seconds())
		}
	}
}

// Notice records a call's notice.
func (m *CallMetrics) Notice(n call.Notice) {
	leg := "callee"
	if n.Inbound {
		leg = "caller"
	}
	switch n.Kind {
	case call.NoticeQuality:
		if n.Weak {
			m.weak.WithLabelValues(leg).Inc()
		}
	case call.NoticeDTMF:
		m.digits.WithLabelValues(leg).Inc()
	}
}
