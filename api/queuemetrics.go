package api

import (
	"github.com/prometheus/client_golang/prometheus"

	"github.com/switchboard-voice/switchboard/acd"
	"github.com/switchboard-voice/switchboard/store"
)

// QueueSource is what QueueCollector reads at each scrape: the ACD.
type QueueSource interface {
	AllStats() []acd.QueueStats
	ListAgents() []acd.AgentInfo
}

// QueueCollector exports the contact center's live queue and agent figures
// as gauges, read from the ACD at scrape time (nothing is kept between
// scrapes, so a queue or agent that goes away leaves no stale series).
type QueueCollector struct{ Source QueueSource }

var (
	descQueueWaiting = prometheus.NewDesc("switchboard_queue_waiting_calls",
		"Callers in the queue now, ringing ones included.", []string{"queue"}, nil)
	descQueueCallbacks = prometheus.NewDesc("switchboard_queue_callbacks",
		"Automated callback requests waiting in the queue or offered to an agent.", []string{"queue"}, nil)
	descQueueLongest = prometheus.NewDesc("switchboard_queue_longest_wait_seconds",
		"How long the longest-waiting caller in the queue has waited (0 when none waits).", []string{"queue"}, nil)
	descQueueAvailable = prometheus.NewDesc("switchboard_queue_available_agents",
		"Members of the queue who can take a call now.", []string{"queue"}, nil)
	descQueueSL = prometheus.NewDesc("switchboard_queue_service_level_ratio",
		"Share of callers who left the queue that were answered within its service level (0..1), since the statistics were last reset; absent until a caller has left the queue.",
		[]string{"queue"}, nil)
	descAgents = prometheus.NewDesc("switchboard_agents",
		"Agents by state: the system state (ringing, on_call, on_hold, wrap_up) when they are in one, else the status they chose (available, busy, away, offline).",
		[]string{"state"}, nil)
)

// agentStates are every value of switchboard_agents' state label, exported
// even when no agent is in them so that dashboards see zeros, not gaps.
var agentStates = []string{
	store.StatusAvailable, store.StatusBusy, store.StatusAway, store.StatusOffline,
	acd.SystemRinging, acd.SystemOnCall, acd.SystemOnHold, acd.SystemWrapUp,
}

// Describe implements prometheus.Collector.
func (c QueueCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{descQueueWaiting, descQueueCallbacks, descQueueLongest, descQueueAvailable, descQueueSL, descAgents} {
		ch <- d
	}
}

// Collect implements prometheus.Collector.
func (c QueueCollector) Collect(ch chan<- prometheus.Metric) {
	gauge := func(d *prometheus.Desc, v float64, label string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.GaugeValue, v, label)
	}
	for _, s := range c.Source.AllStats() {
		gauge(descQueueWaiting, float64(s.Waiting), s.QueueID)
		gauge(descQueueCallbacks, float64(s.Callbacks), s.QueueID)
		gauge(descQueueLongest, s.LongestWait.Seconds(), s.QueueID)
		gauge(descQueueAvailable, float64(s.AvailableAgents), s.QueueID)
		if s.Answered+s.Abandoned > 0 {
			gauge(descQueueSL, s.ServiceLevel, s.QueueID)
		}
	}
	counts := make(map[string]int, len(agentStates))
	for _, a := range c.Source.ListAgents() {
		counts[AgentState(a)]++
	}
	for _, st := range agentStates {
		gauge(descAgents, float64(counts[st]), st)
	}
}

// AgentState is the one word that says what an agent is doing: its system
// state when it has one (ringing, on a call, on hold, in wrap-up), else the
// status it chose.
func AgentState(a acd.AgentInfo) string {
	if a.State.System != acd.SystemIdle {
		return a.State.System
	}
	return a.Status
}
