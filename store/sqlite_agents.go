package store

import (
	"context"
	"database/sql"
	"slices"
	"strconv"
)

const agentSelect = `SELECT a.id, a.name, COALESCE(a.token_hash, ''), a.status, a.capacity, a.wrap_up_ms,
	a.managed, a.created_at, a.updated_at, aq.queue_id
FROM agents a LEFT JOIN agent_queues aq ON aq.agent_id = a.id`

// queryAgents runs agentSelect with where and folds the joined rows (one
// per membership, ordered by agent then queue) into agents.
func (s *SQLite) queryAgents(ctx context.Context, where string, args ...any) ([]Agent, error) {
	rows, err := s.r.QueryContext(ctx, agentSelect+" "+where+" ORDER BY a.name, a.id, aq.queue_id", args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	agents := []Agent{}
	for rows.Next() {
		var a Agent
		var queue sql.NullString
		if err := rows.Scan(&a.ID, &a.Name, &a.TokenHash, &a.Status, &a.Capacity, msDuration{&a.WrapUp},
			&a.Managed, msTime{&a.CreatedAt}, msTime{&a.UpdatedAt}, &queue); err != nil {
			return nil, err
		}
		if n := len(agents); n == 0 || agents[n-1].ID != a.ID {
			a.Queues = []string{}
			agents = append(agents, a)
		}
		if queue.Valid {
			last := &agents[len(agents)-1]
			last.Queues = append(last.Queues, queue.String)
		}
	}
	return agents, rows.Err()
}

// ListAgents returns every agent ordered by name, queues sorted.
func (s *SQLite) ListAgents(ctx context.Context) ([]Agent, error) {
	agents, err := s.queryAgents(ctx, "")
	if err != nil {
		return nil, wrapErr("list agents", err)
	}
	return agents, nil
}

// GetAgent returns the agent id, or ErrNotFound.
func (s *SQLite) GetAgent(ctx context.Context, id string) (Agent, error) {
	return s.oneAgent(ctx, "agent", id, "WHERE a.id = ?")
}

// AgentByTokenHash returns the agent whose TokenHash is hash, or ErrNotFound.
func (s *SQLite) AgentByTokenHash(ctx context.Context, hash string) (Agent, error) {
	if hash == "" {
		return Agent{}, notFound("agent with token hash", hash)
	}
	return s.oneAgent(ctx, "agent with token hash", hash, "WHERE a.token_hash = ?")
}

func (s *SQLite) oneAgent(ctx context.Context, kind, key, where string) (Agent, error) {
	agents, err := s.queryAgents(ctx, where, key)
	if err != nil {
		return Agent{}, wrapErr("get "+kind, err)
	}
	if len(agents) == 0 {
		return Agent{}, notFound(kind, key)
	}
	return agents[0], nil
}

// PutAgent creates or replaces the agent a.ID and its queue membership in
// one transaction. An empty TokenHash means no token; two agents cannot
// share a token hash (ErrConflict); a queue that does not exist is
// ErrNotFound. CreatedAt is kept from the first Put (a.CreatedAt, or now
// when zero); UpdatedAt is set to now.
func (s *SQLite) PutAgent(ctx context.Context, a Agent) error {
	if err := requireID("agent", a.ID); err != nil {
		return err
	}
	queues := slices.Compact(slices.Sorted(slices.Values(a.Queues)))
	return s.inTx(ctx, "put agent "+strconv.Quote(a.ID), func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `INSERT INTO agents
			(id, name, token_hash, status, capacity, wrap_up_ms, managed, created_at, updated_at)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
			ON CONFLICT (id) DO UPDATE SET name = excluded.name, token_hash = excluded.token_hash,
				status = excluded.status, capacity = excluded.capacity, wrap_up_ms = excluded.wrap_up_ms,
				managed = excluded.managed, updated_at = excluded.updated_at`,
			a.ID, a.Name, nullable(a.TokenHash), a.Status, a.Capacity, a.WrapUp.Milliseconds(), a.Managed,
			s.created(a.CreatedAt), s.now().UnixMilli()); err != nil {
			return wrapErr("put agent "+strconv.Quote(a.ID), err)
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM agent_queues WHERE agent_id = ?`, a.ID); err != nil {
			return wrapErr("put agent "+strconv.Quote(a.ID), err)
		}
		for _, q := range queues {
			if _, err := tx.ExecContext(ctx, `INSERT INTO agent_queues (agent_id, queue_id) VALUES (?, ?)`,
				a.ID, q); err != nil {
				return wrapErr("put agent "+strconv.Quote(a.ID)+": queue "+strconv.Quote(q), err)
			}
		}
		return nil
	})
}

// DeleteAgent deletes the agent id with its state and queue membership;
// ErrNotFound if there is no such agent.
func (s *SQLite) DeleteAgent(ctx context.Context, id string) error {
	res, err := s.w.ExecContext(ctx, `DELETE FROM agents WHERE id = ?`, id)
	if err != nil {
		return wrapErr("delete agent "+strconv.Quote(id), err)
	}
	return affected(res, "agent", id)
}

// ListAgentStates returns every agent's stored state, ordered by agent id.
func (s *SQLite) ListAgentStates(ctx context.Context) ([]AgentState, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT agent_id, system, status_since, last_heartbeat, ringing_until,
		wrap_up_until, last_call_ended, last_offered, calls_taken, talk_time_ms, call_id
		FROM agent_states ORDER BY agent_id`)
	if err != nil {
		return nil, wrapErr("list agent states", err)
	}
	defer rows.Close()
	states := []AgentState{}
	for rows.Next() {
		var st AgentState
		if err := rows.Scan(&st.AgentID, &st.System, msTime{&st.StatusSince}, msTime{&st.LastHeartbeat},
			msTime{&st.RingingUntil}, msTime{&st.WrapUpUntil}, msTime{&st.LastCallEnded},
			msTime{&st.LastOffered}, &st.CallsTaken, msDuration{&st.TalkTime}, &st.CallID); err != nil {
			return nil, wrapErr("list agent states", err)
		}
		states = append(states, st)
	}
	if err := rows.Err(); err != nil {
		return nil, wrapErr("list agent states", err)
	}
	return states, nil
}

// PutAgentState creates or replaces the state of agent st.AgentID;
// ErrNotFound if there is no such agent.
func (s *SQLite) PutAgentState(ctx context.Context, st AgentState) error {
	if err := requireID("agent", st.AgentID); err != nil {
		return err
	}
	_, err := s.w.ExecContext(ctx, `INSERT INTO agent_states (agent_id, system, status_since, last_heartbeat,
		ringing_until, wrap_up_until, last_call_ended, last_offered, calls_taken, talk_time_ms, call_id)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT (agent_id) DO UPDATE SET system = excluded.system, status_since = excluded.status_since,
			last_heartbeat = excluded.last_heartbeat, ringing_until = excluded.ringing_until,
			wrap_up_until = excluded.wrap_up_until, last_call_ended = excluded.last_call_ended,
			last_offered = excluded.last_offered, calls_taken = excluded.calls_taken,
			talk_time_ms = excluded.talk_time_ms, call_id = excluded.call_id`,
		st.AgentID, st.System, millis(st.StatusSince), millis(st.LastHeartbeat), millis(st.RingingUntil),
		millis(st.WrapUpUntil), millis(st.LastCallEnded), millis(st.LastOffered), st.CallsTaken,
		st.TalkTime.Milliseconds(), st.CallID)
	if err != nil {
		return wrapErr("put state of agent "+strconv.Quote(st.AgentID), err)
	}
	return nil
}
