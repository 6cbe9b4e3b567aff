package acd

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/switchboard-voice/switchboard/store"
)

// agent is an agent and its ACD state.
type agent struct {
	cfg store.Agent
	st  store.AgentState
	// entry is the call offered to, being answered by or connected to the
	// agent (one call at a time).
	entry *entry
	// open counts the conversations not Closed assigned to the agent.
	open int
	// wrap describes the wrap-up running (System == wrap_up).
	wrap wrapUp
}

type wrapUp struct {
	q       *queue
	callID  string
	convID  string
	talk    time.Duration
	started time.Time
}

func (ag *agent) capacity() int {
	if ag.cfg.Capacity > 0 {
		return ag.cfg.Capacity
	}
	return DefaultCapacity
}

// canTake: Available, idle (not ringing, on a call or in wrap-up) and below
// capacity.
func (ag *agent) canTake() bool {
	return ag.cfg.Status == store.StatusAvailable && ag.st.System == SystemIdle && ag.entry == nil &&
		ag.open < ag.capacity()
}

// AgentSpec is an agent as the configuration declares it, with its bearer
// token in clear (stored as its SHA-256).
type AgentSpec struct {
	Agent store.Agent
	Token string
}

// AgentInfo is an agent with its live state.
type AgentInfo struct {
	store.Agent
	State             store.AgentState `json:"state"`
	OpenConversations int              `json:"open_conversations"`
}

// HashToken is how agent tokens are stored (store.Agent.TokenHash).
func HashToken(token string) string {
	sum := sha256.Sum256([]byte(token))
	return hex.EncodeToString(sum[:])
}

var chosenStatuses = map[string]bool{
	store.StatusAvailable: true, store.StatusBusy: true, store.StatusAway: true, store.StatusOffline: true,
}

// normalizeAgentLocked fills defaults, validates and resolves queue names to
// ids.
func (a *ACD) normalizeAgentLocked(ag *store.Agent) error {
	ag.Name = strings.TrimSpace(ag.Name)
	if ag.Name == "" {
		return invalid("name", "an agent needs a name")
	}
	if ag.Status == "" {
		ag.Status = store.StatusOffline
	}
	if !chosenStatuses[ag.Status] {
		return invalid("status", "%q is not one of available, busy, away, offline", ag.Status)
	}
	if ag.Capacity < 0 {
		return invalid("capacity", "%d is negative", ag.Capacity)
	}
	if ag.Capacity == 0 {
		ag.Capacity = DefaultCapacity
	}
	if ag.WrapUp < 0 {
		return invalid("wrap_up", "%s is negative", ag.WrapUp)
	}
	var ids []string
	seen := map[string]bool{}
	for _, ref := range ag.Queues {
		q := a.lookupQueue(ref)
		if q == nil {
			return invalid("queues", "no queue %q", ref)
		}
		if !seen[q.cfg.ID] {
			seen[q.cfg.ID] = true
			ids = append(ids, q.cfg.ID)
		}
	}
	ag.Queues = ids
	return nil
}

func (a *ACD) info(ag *agent) AgentInfo {
	c := ag.cfg
	c.Queues = append([]string(nil), c.Queues...)
	return AgentInfo{Agent: c, State: ag.st, OpenConversations: ag.open}
}

// ListAgents returns the agents by name, with their state.
func (a *ACD) ListAgents() []AgentInfo {
	if _, err := a.begin(); err != nil {
		return nil
	}
	defer a.end()
	out := make([]AgentInfo, 0, len(a.agents))
	for _, ag := range a.agents {
		out = append(out, a.info(ag))
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Name != out[j].Name {
			return out[i].Name < out[j].Name
		}
		return out[i].ID < out[j].ID
	})
	return out
}

// GetAgent returns an agent and its state.
func (a *ACD) GetAgent(id string) (AgentInfo, error) {
	if _, err := a.begin(); err != nil {
		return AgentInfo{}, err
	}
	defer a.end()
	ag, ok := a.agents[id]
	if !ok {
		return AgentInfo{}, fmt.Errorf("%w: agent %q", ErrNotFound, id)
	}
	return a.info(ag), nil
}

// AgentByToken finds the agent whose bearer token this is (ErrNotFound).
func (a *ACD) AgentByToken(ctx context.Context, token string) (store.Agent, error) {
	if token == "" {
		return store.Agent{}, fmt.Errorf("%w: empty token", ErrNotFound)
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	ag, ok := a.byToken[HashToken(token)]
	if !ok {
		return store.Agent{}, fmt.Errorf("%w: no agent has that token", ErrNotFound)
	}
	c := ag.cfg
	c.Queues = append([]string(nil), c.Queues...)
	return c, nil
}

// CreateAgent adds an agent; s.Token, when set, is its bearer token. The id
// is made when empty; queues may be named by id or name.
func (a *ACD) CreateAgent(ctx context.Context, s AgentSpec) (store.Agent, error) {
	now, err := a.begin()
	if err != nil {
		return store.Agent{}, err
	}
	defer a.end()
	c := s.Agent
	if err := a.normalizeAgentLocked(&c); err != nil {
		return store.Agent{}, err
	}
	if c.ID == "" {
		c.ID = newID()
	}
	if _, ok := a.agents[c.ID]; ok {
		return store.Agent{}, fmt.Errorf("%w: agent %q", ErrConflict, c.ID)
	}
	c.TokenHash = ""
	if s.Token != "" {
		c.TokenHash = HashToken(s.Token)
		if _, taken := a.byToken[c.TokenHash]; taken {
			return store.Agent{}, fmt.Errorf("%w: that token belongs to another agent", ErrConflict)
		}
	}
	c.Managed, c.CreatedAt, c.UpdatedAt = false, now, now
	ag, err := a.addAgentLocked(ctx, c, now)
	if err != nil {
		return store.Agent{}, err
	}
	return ag.cfg, nil
}

func (a *ACD) addAgentLocked(ctx context.Context, c store.Agent, now time.Time) (*agent, error) {
	if err := a.st.PutAgent(ctx, c); err != nil {
		return nil, fmt.Errorf("acd: store agent: %w", err)
	}
	ag := &agent{cfg: c, st: store.AgentState{AgentID: c.ID, StatusSince: now}}
	if c.Status != store.StatusOffline {
		ag.st.LastHeartbeat = now
	}
	for _, ci := range a.convOwner {
		if ci.agent == c.ID {
			ag.open++
		}
	}
	a.agents[c.ID] = ag
	if c.TokenHash != "" {
		a.byToken[c.TokenHash] = ag
	}
	a.putState(ag)
	a.rebuildLocked()
	a.log.Info("agent created", "agent", c.ID, "name", c.Name, "queues", c.Queues, "managed", c.Managed)
	return ag, nil
}

// UpdateAgent replaces an agent's name, capacity, wrap-up and queues (s.Agent.ID
// names it); its status stays (SetStatus changes it). A non-empty s.Token
// replaces its token.
func (a *ACD) UpdateAgent(ctx context.Context, s AgentSpec) (store.Agent, error) {
	now, err := a.begin()
	if err != nil {
		return store.Agent{}, err
	}
	defer a.end()
	ag, ok := a.agents[s.Agent.ID]
	if !ok {
		return store.Agent{}, fmt.Errorf("%w: agent %q", ErrNotFound, s.Agent.ID)
	}
	if ag.cfg.Managed {
		return store.Agent{}, fmt.Errorf("%w: agent %q", ErrManaged, ag.cfg.Name)
	}
	c := s.Agent
	c.Status = ag.cfg.Status
	if err := a.normalizeAgentLocked(&c); err != nil {
		return store.Agent{}, err
	}
	c.TokenHash = ag.cfg.TokenHash
	if s.Token != "" {
		c.TokenHash = HashToken(s.Token)
		if other, taken := a.byToken[c.TokenHash]; taken && other != ag {
			return store.Agent{}, fmt.Errorf("%w: that token belongs to another agent", ErrConflict)
		}
	}
	c.Managed, c.CreatedAt, c.UpdatedAt = false, ag.cfg.CreatedAt, now
	if err := a.replaceAgentLocked(ctx, ag, c); err != nil {
		return store.Agent{}, err
	}
	a.log.Info("agent updated", "agent", c.ID, "queues", c.Queues)
	return c, nil
}

func (a *ACD) replaceAgentLocked(ctx context.Context, ag *agent, c store.Agent) error {
	if err := a.st.PutAgent(ctx, c); err != nil {
		return fmt.Errorf("acd: store agent: %w", err)
	}
	if ag.cfg.TokenHash != "" && a.byToken[ag.cfg.TokenHash] == ag {
		delete(a.byToken, ag.cfg.TokenHash)
	}
	ag.cfg = c
	if c.TokenHash != "" {
		a.byToken[c.TokenHash] = ag
	}
	a.rebuildLocked()
	return nil
}

// DeleteAgent removes an agent that is not on a call (ErrState); an offer
// ringing for it moves on.
func (a *ACD) DeleteAgent(ctx context.Context, id string) error {
	now, err := a.begin()
	if err != nil {
		return err
	}
	defer a.end()
	ag, ok := a.agents[id]
	if !ok {
		return fmt.Errorf("%w: agent %q", ErrNotFound, id)
	}
	if ag.cfg.Managed {
		return fmt.Errorf("%w: agent %q", ErrManaged, ag.cfg.Name)
	}
	if ag.entry != nil && ag.entry.state != stOffered {
		return fmt.Errorf("%w: agent %q is on a call", ErrState, id)
	}
	return a.removeAgentLocked(ctx, ag, now)
}

func (a *ACD) removeAgentLocked(ctx context.Context, ag *agent, now time.Time) error {
	if ag.entry != nil && ag.entry.state == stOffered {
		a.returnOfferLocked(ag.entry, now, "deleted")
	}
	if err := a.st.DeleteAgent(ctx, ag.cfg.ID); err != nil && !errors.Is(err, store.ErrNotFound) {
		return fmt.Errorf("acd: delete agent: %w", err)
	}
	delete(a.agents, ag.cfg.ID)
	if a.byToken[ag.cfg.TokenHash] == ag {
		delete(a.byToken, ag.cfg.TokenHash)
	}
	for s := range a.subs[ag.cfg.ID] {
		close(s.ch)
	}
	delete(a.subs, ag.cfg.ID)
	a.rebuildLocked()
	a.log.Info("agent deleted", "agent", ag.cfg.ID)
	return nil
}

func (a *ACD) agentLocked(id string) (*agent, error) {
	ag, ok := a.agents[id]
	if !ok {
		return nil, fmt.Errorf("%w: agent %q", ErrNotFound, id)
	}
	return ag, nil
}

// SetStatus sets the status the agent chooses (available, busy, away,
// offline). It counts as a heartbeat. An offer ringing for an agent that
// leaves Available moves on; a call it is on goes on. Becoming Available
// runs assignment.
func (a *ACD) SetStatus(ctx context.Context, agentID, status string) error {
	if !chosenStatuses[status] {
		return invalid("status", "%q is not one of available, busy, away, offline", status)
	}
	now, err := a.begin()
	if err != nil {
		return err
	}
	defer a.end()
	ag, err := a.agentLocked(agentID)
	if err != nil {
		return err
	}
	ag.st.LastHeartbeat = now
	if status != store.StatusAvailable && ag.entry != nil && ag.entry.state == stOffered {
		a.returnOfferLocked(ag.entry, now, "status")
	}
	if ag.cfg.Status == status {
		a.putState(ag)
		return nil
	}
	a.log.Info("agent status", "agent", agentID, "status", status, "was", ag.cfg.Status)
	a.setStatusLocked(ag, status, now)
	return nil
}

func (a *ACD) setStatusLocked(ag *agent, status string, now time.Time) {
	if status == store.StatusAvailable {
		a.forgetMissesLocked(ag)
	}
	ag.cfg.Status = status
	ag.cfg.UpdatedAt = now
	ag.st.StatusSince = now
	if a.agents[ag.cfg.ID] == ag {
		if err := a.st.PutAgent(a.ctx, ag.cfg); err != nil {
			a.log.Error("store agent", "agent", ag.cfg.ID, "error", err)
		}
	}
	a.putState(ag)
	a.publishStatusLocked(ag, now)
}

// Heartbeat proves the agent is there. It is kept in memory (the store
// gets it with the agent's next state change).
func (a *ACD) Heartbeat(agentID string) error {
	now, err := a.begin()
	if err != nil {
		return err
	}
	defer a.end()
	ag, err := a.agentLocked(agentID)
	if err != nil {
		return err
	}
	ag.st.LastHeartbeat = now
	return nil
}

// ExtendWrapUp adds WrapUpExtension (10 s) to the agent's wrap-up and
// returns when it now ends; ErrState when the agent is not in wrap-up.
func (a *ACD) ExtendWrapUp(ctx context.Context, agentID string) (time.Time, error) {
	now, err := a.begin()
	if err != nil {
		return time.Time{}, err
	}
	defer a.end()
	ag, err := a.agentLocked(agentID)
	if err != nil {
		return time.Time{}, err
	}
	if ag.st.System != SystemWrapUp {
		return time.Time{}, fmt.Errorf("%w: agent %q is not in wrap-up", ErrState, agentID)
	}
	ag.st.WrapUpUntil = ag.st.WrapUpUntil.Add(WrapUpExtension)
	a.putState(ag)
	a.addEvent(ag.wrap.convID, now, "wrap_up_extended", map[string]any{
		"agent": agentID, "call_id": ag.wrap.callID, "ends_at": ag.st.WrapUpUntil})
	a.publishLocked(agentID, EventWrapUpStarted, now, WrapUpData{
		CallID: ag.wrap.callID, ConversationID: ag.wrap.convID, EndsAt: ag.st.WrapUpUntil})
	a.log.Info("wrap-up extended", "agent", agentID, "call_id", ag.wrap.callID, "ends_at", ag.st.WrapUpUntil)
	return ag.st.WrapUpUntil, nil
}

// ClearWrapUp ends the agent's wrap-up at once; the agent can take calls
// again (assignment runs). ErrState when the agent is not in wrap-up.
func (a *ACD) ClearWrapUp(ctx context.Context, agentID string) error {
	now, err := a.begin()
	if err != nil {
		return err
	}
	defer a.end()
	ag, err := a.agentLocked(agentID)
	if err != nil {
		return err
	}
	if ag.st.System != SystemWrapUp {
		return fmt.Errorf("%w: agent %q is not in wrap-up", ErrState, agentID)
	}
	a.endWrapUpLocked(ag, now, "cleared")
	return nil
}

// endWrapUpLocked makes an agent in wrap-up idle again.
func (a *ACD) endWrapUpLocked(ag *agent, now time.Time, why string) {
	w := ag.wrap
	ag.wrap = wrapUp{}
	a.forgetMissesLocked(ag)
	ag.st.System, ag.st.WrapUpUntil, ag.st.CallID = SystemIdle, time.Time{}, ""
	a.putState(ag)
	if w.q != nil {
		w.q.stats.handled++
		w.q.stats.handleSum += w.talk + now.Sub(w.started)
	}
	a.addEvent(w.convID, now, "wrap_up_ended", map[string]any{"agent": ag.cfg.ID, "call_id": w.callID, "by": why})
	a.publishLocked(ag.cfg.ID, EventWrapUpEnded, now, WrapUpData{CallID: w.callID, ConversationID: w.convID})
	a.publishStatusLocked(ag, now)
	a.log.Info("wrap-up ended", "agent", ag.cfg.ID, "call_id", w.callID, "by", why)
}

// Conversation statuses an agent may set.
var conversationStatuses = map[string]bool{
	store.ConversationOpen: true, store.ConversationWaiting: true,
	store.ConversationSolved: true, store.ConversationClosed: true,
}

// SetConversation sets the status (open, waiting, solved, closed; "" keeps
// it) and, when notes is not nil, the notes of a conversation assigned to the
// agent, during or after its call's wrap-up. Closing it frees one unit of the
// agent's capacity.
func (a *ACD) SetConversation(ctx context.Context, agentID, convID, status string, notes *string) (store.Conversation, error) {
	if status != "" && !conversationStatuses[status] {
		return store.Conversation{}, invalid("status", "%q is not one of open, waiting, solved, closed", status)
	}
	now, err := a.begin()
	if err != nil {
		return store.Conversation{}, err
	}
	defer a.end()
	if _, err := a.agentLocked(agentID); err != nil {
		return store.Conversation{}, err
	}
	c, err := a.st.GetConversation(ctx, convID)
	if c, err = stored(c, err, "conversation", convID); err != nil {
		return store.Conversation{}, err
	}
	if c.AgentID != agentID {
		return store.Conversation{}, fmt.Errorf("%w: conversation %q is not assigned to agent %q", ErrForbidden, convID, agentID)
	}
	old := c.Status
	if status != "" {
		c.Status = status
	}
	if notes != nil {
		c.Notes = *notes
	}
	c.UpdatedAt = now
	if err := a.st.PutConversation(ctx, c); err != nil {
		return store.Conversation{}, fmt.Errorf("acd: store conversation: %w", err)
	}
	a.trackConvLocked(c.ID, c.AgentID, c.Status)
	if c.Status != old {
		a.addEvent(c.ID, now, "status_changed", map[string]any{"agent": agentID, "from": old, "to": c.Status})
		a.log.Info("conversation status", "conversation", c.ID, "agent", agentID, "from", old, "to", c.Status)
	}
	if notes != nil {
		a.addEvent(c.ID, now, "notes", map[string]any{"agent": agentID})
	}
	return c, nil
}

// trackConvLocked keeps the agents' counts of conversations not Closed.
func (a *ACD) trackConvLocked(convID, agentID, status string) {
	if ci, ok := a.convOwner[convID]; ok {
		if ag := a.agents[ci.agent]; ag != nil {
			ag.open--
		}
		delete(a.convOwner, convID)
	}
	if agentID == "" || status == store.ConversationClosed {
		return
	}
	a.convOwner[convID] = &convInfo{agent: agentID, status: status}
	if ag := a.agents[agentID]; ag != nil {
		ag.open++
	}
}
