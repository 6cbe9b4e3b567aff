package config

import (
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"
)

// Voice numbers and callbacks (SPEC §4, §6): the numbers the switch calls
// customers from, and how a customer's request to be called back is
// handled. Callback configurations declared here are applied to the
// database at start and on reload, and are read-only through the API.

// Callback types and priority modes.
const (
	// CallbackAutomated: the ACD offers the callback to an available agent
	// like a call.
	CallbackAutomated = "automated"
	// CallbackManual: agents pick the callback from a list.
	CallbackManual = "manual"
	// CallbackInboundFirst: waiting inbound calls are assigned before
	// callbacks.
	CallbackInboundFirst = "inbound_first"
	// CallbackQueuePosition: a callback keeps its original place among the
	// queue's waiting calls.
	CallbackQueuePosition = "queue_position"
)

// Callback defaults and bounds.
const (
	DefaultCallbackRetries    = 2
	MaxCallbackRetries        = 10
	DefaultCallbackRetryDelay = 5 * time.Minute
	MinCallbackRetryDelay     = 10 * time.Second
	MaxCallbackRetryDelay     = 24 * time.Hour
	DefaultCallbackPriority   = CallbackInboundFirst
)

// CallbackTypes and CallbackPriorities list the accepted values.
var (
	CallbackTypes      = []string{CallbackAutomated, CallbackManual}
	CallbackPriorities = []string{CallbackInboundFirst, CallbackQueuePosition}
)

// VoiceNumber is a number the switch calls customers from (the caller ID
// of outbound calls and callbacks).
type VoiceNumber struct {
	// Number is E.164.
	Number string `mapstructure:"number" yaml:"number"`
	// Trunk is the trunk calls from this number leave through; "" lets the
	// outbound routes decide.
	Trunk string `mapstructure:"trunk" yaml:"trunk"`
}

// Confirmation is what a customer hears once a callback is requested: a
// file or a text spoken by TTS (one of them).
type Confirmation struct {
	File string `mapstructure:"file" yaml:"file"`
	Say  string `mapstructure:"say" yaml:"say"`
}

// CallbackConfig is how callbacks of one kind are handled (callbacks: by
// name); the REST API creates others with the same fields.
type CallbackConfig struct {
	// Type is automated or manual (required).
	Type string `mapstructure:"type" yaml:"type"`
	// Queue is the queue whose agents call back (required).
	Queue string `mapstructure:"queue" yaml:"queue"`
	// Retries is how many times a callback is tried again after the first
	// attempt fails; nil is the default (2).
	Retries *int `mapstructure:"retries" yaml:"retries"`
	// RetryDelay is the wait between a failed attempt and the next.
	RetryDelay time.Duration `mapstructure:"retry_delay" yaml:"retry_delay"`
	// Priority (automated only) orders callbacks among waiting calls.
	Priority string `mapstructure:"priority" yaml:"priority"`
	// Confirmation is played to the customer who requests the callback.
	Confirmation Confirmation `mapstructure:"confirmation" yaml:"confirmation"`
	// CallerID is the number the customer sees: one of voice_numbers.
	CallerID string `mapstructure:"caller_id" yaml:"caller_id"`
	// Schedule names a schedule: callbacks are not dialled outside it.
	Schedule string `mapstructure:"schedule" yaml:"schedule"`
}

// ApplyDefaults fills cb's zero settings with their defaults (the
// configuration's callbacks, and those the REST API creates).
func (cb *CallbackConfig) ApplyDefaults() {
	cb.Type = strings.ToLower(cb.Type)
	cb.Priority = strings.ToLower(cb.Priority)
	if cb.Retries == nil {
		n := DefaultCallbackRetries
		cb.Retries = &n
	}
	setDuration(&cb.RetryDelay, DefaultCallbackRetryDelay)
	if cb.Type == CallbackAutomated {
		setString(&cb.Priority, DefaultCallbackPriority)
	}
}

// Check checks cb's own settings, the same for a callback configuration of
// the file and one of the REST API: each problem's Key is the setting
// ("retry_delay"). Whether its queue, caller ID and schedule exist is for
// the caller to check.
func (cb *CallbackConfig) Check() Problems {
	v := &collector{}
	switch {
	case cb.Type == "":
		v.add("type", "is required: use one of %s", strings.Join(CallbackTypes, ", "))
	case !slices.Contains(CallbackTypes, cb.Type):
		v.add("type", "unknown type %q: use one of %s", cb.Type, strings.Join(CallbackTypes, ", "))
	}
	if msg := NameProblem(cb.Queue); msg != "" {
		v.add("queue", "%s", msg)
	}
	if cb.Retries != nil && (*cb.Retries < 0 || *cb.Retries > MaxCallbackRetries) {
		v.add("retries", "must be from 0 to %d, not %d", MaxCallbackRetries, *cb.Retries)
	}
	if cb.RetryDelay < MinCallbackRetryDelay || cb.RetryDelay > MaxCallbackRetryDelay {
		v.add("retry_delay", "must be from %v to %v, not %v", MinCallbackRetryDelay, MaxCallbackRetryDelay, cb.RetryDelay)
	}
	switch {
	case cb.Priority == "":
	case cb.Type == CallbackManual:
		v.add("priority", "applies to automated callbacks only: remove it")
	case !slices.Contains(CallbackPriorities, cb.Priority):
		v.add("priority", "unknown priority %q: use one of %s", cb.Priority, strings.Join(CallbackPriorities, ", "))
	}
	if cb.Confirmation.File != "" && cb.Confirmation.Say != "" {
		v.add("confirmation", "has both file and say: use one")
	}
	if cb.Confirmation.Say != "" && strings.TrimSpace(cb.Confirmation.Say) == "" {
		v.add("confirmation.say", "is blank")
	}
	if cb.CallerID != "" {
		if msg := E164Problem(cb.CallerID); msg != "" {
			v.add("caller_id", "%s", msg)
		}
	}
	if cb.Schedule != "" {
		if msg := NameProblem(cb.Schedule); msg != "" {
			v.add("schedule", "%s", msg)
		}
	}
	return v.list
}

func (c *Config) applyCallbackDefaults() {
	for name, cb := range c.Callbacks {
		cb.ApplyDefaults()
		c.Callbacks[name] = cb
	}
}

// validateCallbacks checks voice_numbers and callbacks. The confirmation
// files are checked by the dialplan (confined to prompts.dirs).
func (c *Config) validateCallbacks(v *collector, schedules map[string]bool) {
	trunks := map[string]*Trunk{}
	for i := range c.Trunks {
		trunks[c.Trunks[i].Name] = &c.Trunks[i]
	}
	numbers := map[string]bool{}
	for i, n := range c.VoiceNumbers {
		key := fmt.Sprintf("voice_numbers[%d]", i)
		if msg := E164Problem(n.Number); msg != "" {
			v.add(key+".number", "%s", msg)
		} else if numbers[n.Number] {
			v.add(key+".number", "number %s is listed twice", n.Number)
		}
		numbers[n.Number] = true
		if n.Trunk == "" {
			continue
		}
		switch t, ok := trunks[n.Trunk]; {
		case !ok:
			v.add(key+".trunk", "unknown trunk %q", n.Trunk)
		case t.Outbound == nil:
			v.add(key+".trunk", "trunk %q has no outbound section: calls cannot leave through it", n.Trunk)
		}
	}
	queues := c.queueNames()
	for _, name := range slices.Sorted(maps.Keys(c.Callbacks)) {
		cb := c.Callbacks[name]
		key := "callbacks." + name
		if msg := NameProblem(name); msg != "" {
			v.add(key, "invalid name: %s", msg)
		}
		problems := cb.Check()
		v.addAll(key, problems)
		has := func(k string) bool {
			return slices.ContainsFunc(problems, func(p Problem) bool { return p.Key == k })
		}
		if !has("queue") && !queues[cb.Queue] {
			v.warn(key+".queue", "queue %q is not under queues: it must be created through the API (POST /api/v1/queues)", cb.Queue)
		}
		if auto, declared := c.autoAssigns(cb.Queue); cb.Type == "automated" && !has("queue") && declared && !auto {
			v.warn(key+".queue", "queue %q has auto_assign off: its automated callbacks are never offered to agents", cb.Queue)
		}
		if cb.CallerID != "" && !has("caller_id") && !numbers[cb.CallerID] {
			v.add(key+".caller_id", "%s is not one of voice_numbers", cb.CallerID)
		}
		if cb.Schedule != "" && !has("schedule") && !schedules[cb.Schedule] {
			v.add(key+".schedule", "unknown schedule %q", cb.Schedule)
		}
	}
}

// autoAssigns reports whether the queue named name has automatic
// assignment on, and whether it is under queues at all.
func (c *Config) autoAssigns(name string) (auto, declared bool) {
	for _, q := range c.Queues {
		if q.Name == name {
			return q.AutoAssign, true
		}
	}
	return false, false
}
