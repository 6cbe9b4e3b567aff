package config

import (
	"fmt"
	"slices"
	"strings"
	"time"
)

// Contact-center sections: queues, agents, the ACD's timers, API keys and
// the agents' WebRTC gateway. Queues and agents declared here are applied
// to the database at start and on reload, and are read-only through the API.

// Queue defaults and limits (SPEC §4).
const (
	DefaultQueueStrategy    = "longest_idle"
	DefaultQueueRingTimeout = 30 * time.Second
	MinQueueRingTimeout     = 3 * time.Second
	MaxQueueRingTimeout     = 60 * time.Second
	DefaultWrapUp           = 30 * time.Second
	DefaultServiceLevel     = 20 * time.Second
	DefaultAgentCapacity    = 10
	DefaultHeartbeatTimeout = 30 * time.Second
	// DefaultQueue always exists; flows may name it without declaring it.
	DefaultQueue = "default"
)

// QueueStrategies are the ways a queue picks among available agents.
var QueueStrategies = []string{"longest_idle", "round_robin", "fewest_calls", "least_talk_time", "random"}

// Queue is a queue declared in the configuration.
type Queue struct {
	Name string `mapstructure:"name" yaml:"name"`
	// AutoAssign turns automatic agent assignment on; off by default, and a
	// queue with it off never offers calls.
	AutoAssign      bool          `mapstructure:"auto_assign" yaml:"auto_assign"`
	Strategy        string        `mapstructure:"strategy" yaml:"strategy"`
	RingTimeout     time.Duration `mapstructure:"ring_timeout" yaml:"ring_timeout"`
	WrapUp          time.Duration `mapstructure:"wrap_up" yaml:"wrap_up"`
	WaitingStrategy string        `mapstructure:"waiting_strategy" yaml:"waiting_strategy"`
	Priority        int           `mapstructure:"priority" yaml:"priority"`
	ServiceLevel    time.Duration `mapstructure:"service_level" yaml:"service_level"`
}

// Agent is an agent declared in the configuration.
type Agent struct {
	ID   string `mapstructure:"id" yaml:"id"`
	Name string `mapstructure:"name" yaml:"name"`
	// Token is the agent's bearer token (API and WHIP); keep it in the
	// environment: token: ${AGENT1_TOKEN}.
	Token    string        `mapstructure:"token" yaml:"token"`
	Queues   []string      `mapstructure:"queues" yaml:"queues"`
	Capacity int           `mapstructure:"capacity" yaml:"capacity"`
	WrapUp   time.Duration `mapstructure:"wrap_up" yaml:"wrap_up"`
}

// ACD tunes the contact-center core.
type ACD struct {
	// HeartbeatTimeout: an agent that sends no heartbeat for this long goes
	// Offline (a call ringing for it moves on).
	HeartbeatTimeout time.Duration `mapstructure:"heartbeat_timeout" yaml:"heartbeat_timeout"`
}

// API configures the REST API's supervisor keys.
type API struct {
	Keys []APIKey `mapstructure:"keys" yaml:"keys"`
}

// APIKey is a supervisor's key: `Authorization: Bearer KEY`.
type APIKey struct {
	Name string `mapstructure:"name" yaml:"name"`
	Key  string `mapstructure:"key" yaml:"key"`
}

// Gateway configures the agents' WebRTC media (WHIP).
type Gateway struct {
	// IPs are advertised in ICE candidates instead of the host's (1:1 NAT).
	IPs []string `mapstructure:"ips" yaml:"ips"`
	// Ports is the UDP range for ICE, "MIN-MAX"; "" = any.
	Ports string `mapstructure:"ports" yaml:"ports"`
	// PortMin and PortMax are parsed from Ports (0, 0: any).
	PortMin int `mapstructure:"-" yaml:"-"`
	PortMax int `mapstructure:"-" yaml:"-"`
	// LoopbackOnly keeps ICE on 127.0.0.1 (tests and a single-machine demo).
	LoopbackOnly bool `mapstructure:"loopback_only" yaml:"loopback_only"`
	// Opus is how the switch encodes towards agents' browsers.
	Opus Opus `mapstructure:"opus" yaml:"opus"`
}

func (c *Config) applyContactDefaults() {
	setDuration(&c.ACD.HeartbeatTimeout, DefaultHeartbeatTimeout)
	if lo, hi, err := parsePorts(c.Gateway.Ports); err == nil {
		c.Gateway.PortMin, c.Gateway.PortMax = lo, hi
	}
	if c.Gateway.Opus.Complexity == nil {
		n := DefaultOpusComplexity
		c.Gateway.Opus.Complexity = &n
	}
	for i := range c.Queues {
		q := &c.Queues[i]
		q.Strategy = strings.ToLower(q.Strategy)
		setString(&q.Strategy, DefaultQueueStrategy)
		setDuration(&q.RingTimeout, DefaultQueueRingTimeout)
		setDuration(&q.WrapUp, DefaultWrapUp)
		setDuration(&q.ServiceLevel, DefaultServiceLevel)
	}
	for i := range c.Agents {
		if c.Agents[i].Capacity == 0 {
			c.Agents[i].Capacity = DefaultAgentCapacity
		}
	}
}

// queueNames is every queue a flow may name: the declared ones and Default.
func (c *Config) queueNames() map[string]bool {
	out := map[string]bool{DefaultQueue: true}
	for _, q := range c.Queues {
		out[q.Name] = true
	}
	return out
}

func (c *Config) validateContact(v *collector) {
	if c.ACD.HeartbeatTimeout < 0 {
		v.add("acd.heartbeat_timeout", "must not be negative")
	}
	queues := map[string]bool{}
	for i, q := range c.Queues {
		key := fmt.Sprintf("queues[%d]", i)
		if msg := nameProblem(q.Name); msg != "" {
			v.add(key+".name", "%s", msg)
		} else if queues[q.Name] {
			v.add(key+".name", "queue %q is declared twice", q.Name)
		}
		queues[q.Name] = true
		if !slices.Contains(QueueStrategies, q.Strategy) {
			v.add(key+".strategy", "unknown strategy %q: use one of %s", q.Strategy, strings.Join(QueueStrategies, ", "))
		}
		if q.RingTimeout < MinQueueRingTimeout || q.RingTimeout > MaxQueueRingTimeout {
			v.add(key+".ring_timeout", "must be from %v to %v, not %v", MinQueueRingTimeout, MaxQueueRingTimeout, q.RingTimeout)
		}
		if q.WrapUp < 0 {
			v.add(key+".wrap_up", "must not be negative")
		}
		if q.ServiceLevel < 0 {
			v.add(key+".service_level", "must not be negative")
		}
		if q.WaitingStrategy != "" {
			if _, ok := c.WaitingStrategies[q.WaitingStrategy]; !ok {
				v.add(key+".waiting_strategy", "unknown waiting strategy %q", q.WaitingStrategy)
			}
		}
	}
	known := c.queueNames()
	ids, tokens := map[string]bool{}, map[string]string{}
	for i, a := range c.Agents {
		key := fmt.Sprintf("agents[%d]", i)
		if msg := nameProblem(a.ID); msg != "" {
			v.add(key+".id", "%s", msg)
		} else if ids[a.ID] {
			v.add(key+".id", "agent %q is declared twice", a.ID)
		}
		ids[a.ID] = true
		switch {
		case a.Token == "":
			v.add(key+".token", "is required (the agent's bearer token; keep it in the environment: ${AGENT_TOKEN})")
		case len(a.Token) < 8:
			v.add(key+".token", "is too short: use at least 8 characters")
		case tokens[a.Token] != "":
			v.add(key+".token", "is already the token of agent %q", tokens[a.Token])
		default:
			tokens[a.Token] = a.ID
		}
		for j, q := range a.Queues {
			if !known[q] {
				v.add(fmt.Sprintf("%s.queues[%d]", key, j), "unknown queue %q", q)
			}
		}
		if a.Capacity < 1 || a.Capacity > 100 {
			v.add(key+".capacity", "must be from 1 to 100, not %d", a.Capacity)
		}
		if a.WrapUp < 0 {
			v.add(key+".wrap_up", "must not be negative")
		}
	}
	names := map[string]bool{}
	for i, k := range c.API.Keys {
		key := fmt.Sprintf("api.keys[%d]", i)
		if msg := nameProblem(k.Name); msg != "" {
			v.add(key+".name", "%s", msg)
		} else if names[k.Name] {
			v.add(key+".name", "key %q is declared twice", k.Name)
		}
		names[k.Name] = true
		if len(k.Key) < 8 {
			v.add(key+".key", "must have at least 8 characters")
		}
		if id := tokens[k.Key]; id != "" {
			v.add(key+".key", "is also the token of agent %q", id)
		}
	}
	for i, ip := range c.Gateway.IPs {
		if !isIP(ip) {
			v.add(fmt.Sprintf("gateway.ips[%d]", i), "%q is not an IP address", ip)
		}
	}
	c.Gateway.Opus.validate(v, "gateway.opus")
	if c.Gateway.Ports != "" {
		if _, _, err := parsePorts(c.Gateway.Ports); err != nil {
			v.add("gateway.ports", "%v", err)
		}
	}
}
