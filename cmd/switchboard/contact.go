package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/switchboard-voice/switchboard/acd"
	"github.com/switchboard-voice/switchboard/api"
	"github.com/switchboard-voice/switchboard/call"
	"github.com/switchboard-voice/switchboard/config"
	"github.com/switchboard-voice/switchboard/dialplan"
	"github.com/switchboard-voice/switchboard/gateway"
	"github.com/switchboard-voice/switchboard/media/audio"
	"github.com/switchboard-voice/switchboard/media/codec"
	"github.com/switchboard-voice/switchboard/store"
)

// contactCenter wires the contact center: the database, the ACD that
// assigns callers to agents, and the gateway that carries agents' media.
type contactCenter struct {
	store *store.SQLite
	acd   *acd.ACD
	gw    *gateway.Server
	log   *slog.Logger
	cfg   func() *config.Config // the running configuration (reload swaps it)
	calls *calls                // music and external legs for the ACD
}

// startContact opens the database, loads the ACD and applies the
// configuration's queues and agents.
func startContact(ctx context.Context, cfg *config.Config, log *slog.Logger, now func() time.Time, running func() *config.Config) (*contactCenter, error) {
	st, err := store.Open(ctx, cfg.Storage.Database)
	if err != nil {
		return nil, fmt.Errorf("storage.database: %w", err)
	}
	cc := &contactCenter{store: st, log: log, cfg: running, calls: &calls{cfg: running}}
	cc.acd, err = acd.New(ctx, acd.Options{Store: st, Media: cc, Calls: cc.calls, Log: log, Now: now,
		HeartbeatTimeout: cfg.ACD.HeartbeatTimeout, AllowManualNumbers: cfg.Transfers.AllowManualNumbers})
	if err != nil {
		st.Close()
		return nil, err
	}
	if err := cc.apply(ctx, cfg); err != nil {
		cc.close()
		return nil, err
	}
	o := gateway.Options{
		Authenticate: func(ctx context.Context, token string) (string, error) {
			a, err := cc.acd.AgentByToken(ctx, token)
			return a.ID, err
		},
		Logger:       log.With("component", "gateway"),
		LoopbackOnly: cfg.Gateway.LoopbackOnly,
		NAT1To1IPs:   cfg.Gateway.IPs,
		Encoder:      codec.OpusSettings(cfg.Gateway.Opus.Complexity, cfg.Gateway.Opus.Bitrate),
		PortMin:      uint16(cfg.Gateway.PortMin),
		PortMax:      uint16(cfg.Gateway.PortMax),
	}
	cc.gw, err = gateway.NewServer(o)
	if err != nil {
		cc.close()
		return nil, err
	}
	return cc, nil
}

// apply makes cfg's queues, agents, contacts and callback configurations
// the managed ones, and applies transfers.allow_manual_numbers.
func (cc *contactCenter) apply(ctx context.Context, cfg *config.Config) error {
	var queues []store.Queue
	for _, q := range cfg.Queues {
		queues = append(queues, store.Queue{ID: q.Name, Name: q.Name, AutoAssign: q.AutoAssign, Strategy: q.Strategy,
			RingTimeout: q.RingTimeout, WrapUp: q.WrapUp, WaitingStrategy: q.WaitingStrategy, Priority: q.Priority,
			ServiceLevel: q.ServiceLevel})
	}
	var agents []acd.AgentSpec
	for _, a := range cfg.Agents {
		agents = append(agents, acd.AgentSpec{Token: a.Token, Agent: store.Agent{ID: a.ID, Name: orID(a.Name, a.ID),
			Queues: a.Queues, Capacity: a.Capacity, WrapUp: a.WrapUp, Status: store.StatusOffline}})
	}
	if err := cc.acd.ApplyConfig(ctx, queues, agents); err != nil {
		return fmt.Errorf("contact center: %w", err)
	}
	contacts := make([]store.Contact, 0, len(cfg.Contacts))
	for _, c := range cfg.Contacts {
		contacts = append(contacts, store.Contact{Name: c.Name, Numbers: c.Numbers, Tags: c.Tags})
	}
	if err := cc.acd.ApplyContacts(ctx, contacts); err != nil {
		return fmt.Errorf("contact center: %w", err)
	}
	cc.acd.SetAllowManualNumbers(cfg.Transfers.AllowManualNumbers)
	if err := cc.acd.ApplyCallbackConfigs(ctx, callbackConfigs(cfg)); err != nil {
		return fmt.Errorf("contact center: %w", err)
	}
	return nil
}

// callbackConfigs is cfg's callbacks as the ACD keeps them.
func callbackConfigs(cfg *config.Config) []store.CallbackConfig {
	out := make([]store.CallbackConfig, 0, len(cfg.Callbacks))
	for name, cb := range cfg.Callbacks {
		retries := config.DefaultCallbackRetries
		if cb.Retries != nil {
			retries = *cb.Retries
		}
		out = append(out, store.CallbackConfig{Name: name, Type: cb.Type, Queue: cb.Queue, Retries: retries,
			RetryDelay: cb.RetryDelay, Priority: cb.Priority, ConfirmationFile: cb.Confirmation.File,
			ConfirmationSay: cb.Confirmation.Say, CallerID: cb.CallerID, Schedule: cb.Schedule})
	}
	slices.SortFunc(out, func(a, b store.CallbackConfig) int { return strings.Compare(a.Name, b.Name) })
	return out
}

func orID(name, id string) string {
	if name == "" {
		return id
	}
	return name
}

// Attach implements acd.Media: the agent's WebRTC session takes the call.
func (cc *contactCenter) Attach(ctx context.Context, agentID, callID string) (call.Leg, error) {
	s, ok := cc.gw.Session(agentID)
	if !ok {
		return nil, errors.New("the agent has no media session (POST /whip)")
	}
	return s.Attach(ctx, callID)
}

// Enqueue implements dialplan.Queues with the ACD; the call's variables
// give the caller's priority.
func (cc *contactCenter) Enqueue(ctx context.Context, queue string, c *call.Call) (dialplan.Ticket, error) {
	prio, _ := strconv.Atoi(c.Var(config.VarPriority))
	t, err := cc.acd.EnqueueWith(ctx, queue, c, acd.EnqueueOptions{Priority: prio, CustomerName: c.Var(config.VarCustomerName)})
	if errors.Is(err, acd.ErrNotFound) {
		return nil, fmt.Errorf("%w: %w", dialplan.ErrNoQueue, err)
	}
	if err != nil {
		return nil, err
	}
	return t, nil
}

// notice passes a call's quality notices to the agent's panel.
func (cc *contactCenter) notice(callID string) func(call.Notice) {
	return func(n call.Notice) {
		if n.Kind == call.NoticeQuality && n.Weak {
			side := "agent"
			if n.Inbound {
				side = "customer"
			}
			cc.acd.QualityWarning(callID, side)
		}
	}
}

// api is the contact center as the HTTP API serves it.
func (cc *contactCenter) api() *api.Contact {
	return &api.Contact{
		ACD:        cc.acd,
		Strategies: cc.store,
		WHIP:       cc.gw,
		Keys: func() map[string]string {
			out := map[string]string{}
			for _, k := range cc.cfg().API.Keys {
				out[k.Key] = k.Name
			}
			return out
		},
		ManagedStrategies: func() map[string]api.WaitingStrategy {
			out := map[string]api.WaitingStrategy{}
			for name, w := range cc.cfg().WaitingStrategies {
				out[name] = strategyView(name, w)
			}
			return out
		},
		CheckStrategy: func(w api.WaitingStrategyInput) []api.FieldProblem { return checkStrategy(cc.cfg(), w) },
		CheckCallbackConfig: func(cb config.CallbackConfig) []api.FieldProblem {
			return checkCallbackConfig(cc.cfg(), cb)
		},
		VoiceNumbers: func() []config.VoiceNumber { return cc.cfg().VoiceNumbers },
		Prompts:      cc.store,
		PromptDir:    func() string { return cc.cfg().Prompts.Uploads() },
		Converter:    promptConverter{cfg: cc.cfg},
	}
}

// strategyView is a configured waiting strategy as the API shows it.
func strategyView(name string, w config.WaitingStrategy) api.WaitingStrategy {
	v := api.WaitingStrategy{ID: name, Managed: true, WaitingStrategyInput: api.WaitingStrategyInput{Name: name,
		Greeting: w.Greeting, Music: w.Music, MaxWait: w.MaxWait.Seconds(), MaxWaitMessage: w.MaxWaitMessage,
		MaxWaitFlow: w.MaxWaitFlow}}
	if a := w.Announcement; a.File != "" {
		v.Announcement = &api.Announcement{File: a.File, Every: a.Every.Seconds(), ResponseCodes: a.ResponseCodes,
			WaitForResponse: a.WaitForResponse.Seconds()}
	}
	return v
}

// strategyConfig is an API waiting strategy as the dialplan of cfg plays
// it: its prompt ids become the uploaded files in prompts.upload_dir. What is
// not a prompt id (a path stored before prompts had ids) plays nothing.
func strategyConfig(cfg *config.Config, w api.WaitingStrategyInput) config.WaitingStrategy {
	s := func(x float64) time.Duration { return time.Duration(x * float64(time.Second)) }
	dir, err := filepath.Abs(cfg.Prompts.Uploads())
	if err != nil {
		dir = cfg.Prompts.Uploads()
	}
	file := func(id string) string { return api.PromptFile(dir, id) }
	c := config.WaitingStrategy{Greeting: file(w.Greeting), Music: file(w.Music), MaxWait: s(w.MaxWait),
		MaxWaitMessage: file(w.MaxWaitMessage), MaxWaitFlow: w.MaxWaitFlow}
	if a := w.Announcement; a != nil {
		c.Announcement = config.Announcement{File: file(a.File), Every: s(a.Every), ResponseCodes: a.ResponseCodes,
			WaitForResponse: s(a.WaitForResponse)}
	}
	return c
}

// promptConverter converts uploads with the running configuration's prompt
// library.
type promptConverter struct{ cfg func() *config.Config }

func (p promptConverter) Convert(ctx context.Context, name string, data []byte, ext, dst string) (*audio.Clip, error) {
	return dialplan.Library(p.cfg()).Convert(ctx, name, data, ext, dst)
}

// checkStrategy validates a strategy from the API the way the
// configuration's are (timings, flows, prompt files and tools), against the
// running configuration.
func checkStrategy(running *config.Config, w api.WaitingStrategyInput) []api.FieldProblem {
	c := *running
	c.WaitingStrategies = map[string]config.WaitingStrategy{w.Name: strategyConfig(running, w)}
	prefix := "waiting_strategies." + w.Name
	var out []api.FieldProblem
	var ps config.Problems
	if err := c.Validate(); err != nil && !errors.As(err, &ps) {
		return []api.FieldProblem{{Field: "name", Problem: err.Error()}}
	}
	for _, p := range ps {
		if key, ok := strings.CutPrefix(p.Key, prefix); ok {
			out = append(out, api.FieldProblem{Field: strings.TrimPrefix(key, "."), Problem: p.Msg})
		} else if p.Key == "waiting_strategies" || strings.HasPrefix(p.Key, "waiting_strategies[") {
			out = append(out, api.FieldProblem{Field: "name", Problem: p.Msg})
		}
	}
	for _, p := range dialplan.Check(&c) {
		if key, ok := strings.CutPrefix(p.Key, prefix); ok {
			out = append(out, api.FieldProblem{Field: strings.TrimPrefix(key, "."), Problem: p.Msg})
		}
	}
	return out
}

// checkCallbackConfig checks a callback configuration of the API against
// the running configuration as if it were declared there: its caller ID is
// a voice number, its schedule exists, its confirmation file may be read.
func checkCallbackConfig(running *config.Config, cb config.CallbackConfig) []api.FieldProblem {
	const name = "api-callback" // stands for the API's: only its problems are kept
	c := *running
	c.Callbacks = map[string]config.CallbackConfig{name: cb}
	prefix := "callbacks." + name + "."
	var out []api.FieldProblem
	var ps config.Problems
	if err := c.Validate(); err != nil && !errors.As(err, &ps) {
		return []api.FieldProblem{{Field: "", Problem: err.Error()}}
	}
	ps = append(ps, dialplan.Check(&c)...)
	for _, p := range ps {
		if key, ok := strings.CutPrefix(p.Key, prefix); ok && !p.Warning {
			out = append(out, api.FieldProblem{Field: key, Problem: p.Msg})
		}
	}
	return out
}

// close stops the gateway and the ACD and closes the database.
func (cc *contactCenter) close() {
	if cc.gw != nil {
		cc.gw.Close()
	}
	if cc.acd != nil {
		cc.acd.Close()
	}
	cc.store.Close()
}

// strategyFor finds waiting strategies for an engine of cfg: the one a
// queue action names, else the queue's own; in the configuration first, then
// among those created through the API.
func (cc *contactCenter) strategyFor(cfg *config.Config) func(ctx context.Context, queue, named string) (config.WaitingStrategy, bool) {
	return func(ctx context.Context, queue, named string) (config.WaitingStrategy, bool) {
		if named == "" {
			q, err := cc.acd.GetQueue(queue)
			if err != nil || q.WaitingStrategy == "" {
				return config.WaitingStrategy{}, false
			}
			named = q.WaitingStrategy
		}
		if ws, ok := cfg.WaitingStrategies[named]; ok {
			return ws, true
		}
		// A strategy's id is its name.
		s, err := cc.store.GetWaitingStrategy(ctx, named)
		if err != nil {
			if !errors.Is(err, store.ErrNotFound) {
				cc.log.Warn("waiting strategy", "name", named, "error", err)
			}
			return config.WaitingStrategy{}, false
		}
		var w api.WaitingStrategyInput
		if err := json.Unmarshal(s.Spec, &w); err != nil {
			cc.log.Warn("waiting strategy", "name", named, "error", err)
			return config.WaitingStrategy{}, false
		}
		return strategyConfig(cfg, w), true
	}
}
