package acd

import (
	"context"
	"fmt"
	"strings"

	"github.com/switchboard-voice/switchboard/store"
)

// ApplyConfig makes the configuration's queues and agents the managed ones
// (at start and on reload): they are created or updated with Managed set,
// and managed objects no longer in the configuration are removed (the
// Default queue is kept, unmanaged). Everything is validated before anything
// is written.
//
// A queue's id defaults to its name; a queue the API created with the same
// name is taken over. An agent's id defaults to its name; its queues may be
// named by id or name; its token is stored as its SHA-256 (an empty token
// means the agent cannot log in with one). Agents keep the status they
// chose across reloads; a new agent starts with spec's status (default
// offline).
func (a *ACD) ApplyConfig(ctx context.Context, queues []store.Queue, agents []AgentSpec) error {
	now, err := a.begin()
	if err != nil {
		return err
	}
	defer a.end()

	// Validate queues and decide their ids.
	wantQ := make([]store.Queue, 0, len(queues))
	ref := map[string]string{} // queue id or name → id, after the change
	seenQ := map[string]bool{}
	for i, q := range queues {
		if err := normalizeQueue(&q); err != nil {
			return fmt.Errorf("queues[%d] %q: %w", i, q.Name, err)
		}
		if q.ID == "" {
			q.ID = q.Name
		}
		if _, ok := a.queues[q.ID]; !ok {
			if old := a.queueByName(q.Name); old != nil {
				q.ID = old.cfg.ID
			}
		}
		if seenQ["id:"+q.ID] || seenQ["name:"+q.Name] {
			return fmt.Errorf("queues[%d] %q: %w", i, q.Name, invalid("name", "declared twice"))
		}
		seenQ["id:"+q.ID], seenQ["name:"+q.Name] = true, true
		wantQ = append(wantQ, q)
	}
	for _, q := range a.queues {
		removed := q.cfg.Managed && q.cfg.Name != DefaultQueueName && !seenQ["id:"+q.cfg.ID]
		if n := q.callers(); removed && n > 0 {
			// Its callers would never be offered again: keep it until they
			// are gone, as DeleteQueue does (its callbacks are closed).
			return fmt.Errorf("%w: %d callers wait in queue %q: remove it from the configuration once they are gone",
				ErrState, n, q.cfg.Name)
		}
		if !q.cfg.Managed || q.cfg.Name == DefaultQueueName {
			if !seenQ["name:"+q.cfg.Name] && !seenQ["id:"+q.cfg.ID] {
				ref[q.cfg.ID], ref[q.cfg.Name] = q.cfg.ID, q.cfg.ID
			}
		}
	}
	for _, q := range wantQ {
		ref[q.ID], ref[q.Name] = q.ID, q.ID
	}

	// Validate agents.
	wantA := make([]store.Agent, 0, len(agents))
	seenA := map[string]bool{}
	seenTok := map[string]bool{}
	for i, s := range agents {
		c := s.Agent
		c.Name = strings.TrimSpace(c.Name)
		if c.ID == "" {
			c.ID = c.Name
		}
		if c.Name == "" {
			c.Name = c.ID
		}
		if c.Name == "" {
			return fmt.Errorf("agents[%d]: %w", i, invalid("name", "an agent needs an id or a name"))
		}
		if seenA[c.ID] {
			return fmt.Errorf("agents[%d] %q: %w", i, c.ID, invalid("id", "declared twice"))
		}
		seenA[c.ID] = true
		var qids []string
		for _, r := range c.Queues {
			id, ok := ref[r]
			if !ok {
				return fmt.Errorf("agents[%d] %q: %w", i, c.ID, invalid("queues", "no queue %q", r))
			}
			qids = append(qids, id)
		}
		c.Queues = nil // resolved below, against the queues as they will be
		if old, ok := a.agents[c.ID]; ok {
			c.Status = old.cfg.Status
		}
		if err := a.normalizeAgentLocked(&c); err != nil {
			return fmt.Errorf("agents[%d] %q: %w", i, c.ID, err)
		}
		c.Queues = dedupe(qids)
		c.TokenHash = ""
		if s.Token != "" {
			c.TokenHash = HashToken(s.Token)
			if seenTok[c.TokenHash] {
				return fmt.Errorf("agents[%d] %q: %w", i, c.ID, invalid("token", "another agent has the same token"))
			}
			seenTok[c.TokenHash] = true
		}
		c.Managed = true
		wantA = append(wantA, c)
	}
	for _, ag := range a.agents {
		if !ag.cfg.Managed && !seenA[ag.cfg.ID] && ag.cfg.TokenHash != "" && seenTok[ag.cfg.TokenHash] {
			return fmt.Errorf("agent %q: %w", ag.cfg.ID, invalid("token", "an agent created through the API has the same token"))
		}
	}

	// Queues.
	for _, q := range wantQ {
		q.Managed, q.UpdatedAt = true, now
		if old, ok := a.queues[q.ID]; ok {
			q.CreatedAt = old.cfg.CreatedAt
			if err := a.st.PutQueue(ctx, q); err != nil {
				return fmt.Errorf("acd: store queue %q: %w", q.Name, err)
			}
			old.cfg = q
			continue
		}
		q.CreatedAt = now
		if err := a.st.PutQueue(ctx, q); err != nil {
			return fmt.Errorf("acd: store queue %q: %w", q.Name, err)
		}
		a.queues[q.ID] = &queue{cfg: q, in: map[*entry]struct{}{}}
		a.log.Info("queue created from the configuration", "queue", q.Name, "queue_id", q.ID)
	}
	a.rebuildLocked()

	// Agents.
	for _, c := range wantA {
		if old, ok := a.agents[c.ID]; ok {
			c.CreatedAt, c.UpdatedAt = old.cfg.CreatedAt, now
			if err := a.replaceAgentLocked(ctx, old, c); err != nil {
				return err
			}
			continue
		}
		c.CreatedAt, c.UpdatedAt = now, now
		if _, err := a.addAgentLocked(ctx, c, now); err != nil {
			return err
		}
	}

	// Managed objects no longer declared.
	for _, ag := range a.agents {
		if ag.cfg.Managed && !seenA[ag.cfg.ID] {
			if err := a.removeAgentLocked(ctx, ag, now); err != nil {
				return err
			}
		}
	}
	for _, q := range a.queues {
		if !q.cfg.Managed || seenQ["id:"+q.cfg.ID] {
			continue
		}
		if q.cfg.Name == DefaultQueueName {
			q.cfg.Managed, q.cfg.UpdatedAt = false, now
			if err := a.st.PutQueue(ctx, q.cfg); err != nil {
				return fmt.Errorf("acd: store queue %q: %w", q.cfg.Name, err)
			}
			continue
		}
		if err := a.removeQueueLocked(ctx, q); err != nil {
			return err
		}
	}
	a.log.Info("configuration applied", "queues", len(wantQ), "agents", len(wantA))
	return nil
}

func dedupe(s []string) []string {
	var out []string
	seen := map[string]bool{}
	for _, x := range s {
		if !seen[x] {
			seen[x] = true
			out = append(out, x)
		}
	}
	return out
}
