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
	MinAgentCapacity        = 1
	MaxAgentCapacity        = 100
	// MinTokenLength is the shortest agent token or API key.
	MinTokenLength          = 8
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
	// Hold is what the queue's callers hear on hold; nil: the top-level hold.
	Hold *Hold `mapstructure:"hold" yaml:"hold"`
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
		c.Queues[i].ApplyDefaults()
	}
	for i := range c.Agents {
		c.Agents[i].ApplyDefaults()
	}
}

// ApplyDefaults fills q's zero settings with their defaults (the
// configuration's queues, and those the REST API creates).
func (q *Queue) ApplyDefaults() {
	q.Strategy = strings.ToLower(q.Strategy)
	setString(&q.Strategy, DefaultQueueStrategy)
	setDuration(&q.RingTimeout, DefaultQueueRingTimeout)
	setDuration(&q.WrapUp, DefaultWrapUp)
	setDuration(&q.ServiceLevel, DefaultServiceLevel)
}

// Check checks q's own settings, the same for a queue of the configuration
// and one of the REST API: each problem's Key is the setting
// ("ring_timeout"). Whether its waiting strategy exists is for the caller to
// check: it may live in the database.
func (q *Queue) Check() Problems {
	v := &collector{}
	if msg := NameProblem(q.Name); msg != "" {
		v.add("name", "%s", msg)
	}
	if !slices.Contains(QueueStrategies, q.Strategy) {
		v.add("strategy", "unknown strategy %q: use one of %s", q.Strategy, strings.Join(QueueStrategies, ", "))
	}
	if q.RingTimeout < MinQueueRingTimeout || q.RingTimeout > MaxQueueRingTimeout {
		v.add("ring_timeout", "must be from %v to %v, not %v", MinQueueRingTimeout, MaxQueueRingTimeout, q.RingTimeout)
	}
	if q.WrapUp < 0 {
		v.add("wrap_up", "must not be negative")
	}
	if q.ServiceLevel < 0 {
		v.add("service_level", "must not be negative")
	}
	if q.WaitingStrategy != "" {
		if msg := NameProblem(q.WaitingStrategy); msg != "" {
			v.add("waiting_strategy", "%s", msg)
		}
	}
	return v.list
}

// ApplyDefaults fills a's zero settings with their defaults.
func (a *Agent) ApplyDefaults() {
	if a.Capacity == 0 {
		a.Capacity = DefaultAgentCapacity
	}
}

// Check checks a's own settings, the same for an agent of the configuration
// and one of the REST API: each problem's Key is the setting ("capacity").
// Whether its queues exist and its token is another's are for the caller to
// check.
func (a *Agent) Check() Problems {
	v := &collector{}
	if msg := NameProblem(a.ID); msg != "" {
		v.add("id", "%s", msg)
	}
	switch {
	case a.Token == "":
		v.add("token", "is required (the agent's bearer token; keep it in the environment: ${AGENT_TOKEN})")
	case len(a.Token) < MinTokenLength:
		v.add("token", "is too short: use at least %d characters", MinTokenLength)
	}
	for i, q := range a.Queues {
		if msg := NameProblem(q); msg != "" {
			v.add(fmt.Sprintf("queues[%d]", i), "%s", msg)
		}
	}
	if a.Capacity < MinAgentCapacity || a.Capacity > MaxAgentCapacity {
		v.add("capacity", "must be from %d to %d, not %d", MinAgentCapacity, MaxAgentCapacity, a.Capacity)
	}
	if a.WrapUp < 0 {
		v.add("wrap_up", "must not be negative")
	}
	return v.list
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
		if queues[q.Name] && NameProblem(q.Name) == "" {
			v.add(key+".name", "queue %q is declared twice", q.Name)
		}
		queues[q.Name] = true
		v.addAll(key, q.Check())
		if q.WaitingStrategy != "" && NameProblem(q.WaitingStrategy) == "" {
			if _, ok := c.WaitingStrategies[q.WaitingStrategy]; !ok {
				v.warn(key+".waiting_strategy", "waiting strategy %q is not under waiting_strategies: "+
					"it must be created through the API (POST /api/v1/waiting-strategies), or the queue's callers wait in silence",
					q.WaitingStrategy)
			}
		}
	}
	known := c.queueNames()
	ids, tokens := map[string]bool{}, map[string]string{}
	for i, a := range c.Agents {
		key := fmt.Sprintf("agents[%d]", i)
		if ids[a.ID] && NameProblem(a.ID) == "" {
			v.add(key+".id", "agent %q is declared twice", a.ID)
		}
		ids[a.ID] = true
		problems := a.Check()
		v.addAll(key, problems)
		tokenOK := !slices.ContainsFunc(problems, func(p Problem) bool { return p.Key == "token" })
		switch {
		case tokenOK && tokens[a.Token] != "":
			v.add(key+".token", "is already the token of agent %q", tokens[a.Token])
		case tokenOK:
			tokens[a.Token] = a.ID
		}
		for j, q := range a.Queues {
			if !known[q] && NameProblem(q) == "" {
				v.add(fmt.Sprintf("%s.queues[%d]", key, j), "unknown queue %q: declare it under queues "+
					"(an agent of the configuration takes calls from the configuration's queues and %s)", q, DefaultQueue)
			}
		}
	}
	names := map[string]bool{}
	for i, k := range c.API.Keys {
		key := fmt.Sprintf("api.keys[%d]", i)
		if msg := NameProblem(k.Name); msg != "" {
			v.add(key+".name", "%s", msg)
		} else if names[k.Name] {
			v.add(key+".name", "key %q is declared twice", k.Name)
		}
		names[k.Name] = true
		if len(k.Key) < MinTokenLength {
			v.add(key+".key", "must have at least %d characters", MinTokenLength)
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

// Hold and transfer defaults (SPEC §6).
const (
	DefaultHoldAnnouncementEvery = 10 * time.Second
	DefaultTransferMessageEvery  = 10 * time.Second
	DefaultTransferTimeout       = 30 * time.Second
	// TagExternalNumber marks the contacts whose numbers external transfers
	// may dial.
	TagExternalNumber = "external_number"
)

// Hold is what a caller hears while an agent holds the call: music, with an
// announcement repeated over it. An empty Music is the built-in hold music.
type Hold struct {
	Music        string  `mapstructure:"music" yaml:"music"`
	Announcement Message `mapstructure:"announcement" yaml:"announcement"`
}

// Message is a message repeated over music: a file or a text spoken by
// TTS (one of them), every Every.
type Message struct {
	File  string        `mapstructure:"file" yaml:"file"`
	Say   string        `mapstructure:"say" yaml:"say"`
	Every time.Duration `mapstructure:"every" yaml:"every"`
}

// Set reports whether the message names something to play.
func (m Message) Set() bool { return m.File != "" || m.Say != "" }

// Transfers configures blind transfers.
type Transfers struct {
	// Music is what the caller hears while the target rings; "" is the
	// built-in hold music.
	Music string `mapstructure:"music" yaml:"music"`
	// Message repeats over the music; none by default.
	Message Message `mapstructure:"message" yaml:"message"`
	// Timeout: a target that has not answered after this long fails the
	// transfer (the caller goes back to the transferring agent); default 30s.
	Timeout time.Duration `mapstructure:"timeout" yaml:"timeout"`
	// AllowManualNumbers lets agents transfer to numbers not in the phone
	// book (each is added to it, tagged external_number).
	AllowManualNumbers bool `mapstructure:"allow_manual_numbers" yaml:"allow_manual_numbers"`
}

// Contact is a phone-book entry declared in the configuration (read-only
// through the API).
type Contact struct {
	Name    string   `mapstructure:"name" yaml:"name"`
	Numbers []string `mapstructure:"numbers" yaml:"numbers"`
	Tags    []string `mapstructure:"tags" yaml:"tags"`
}
