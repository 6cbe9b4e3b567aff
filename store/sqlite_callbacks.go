package store

import (
	"context"
	"database/sql"
	"errors"
	"strconv"
	"strings"
	"time"
)

const callbackConfigSelect = `SELECT id, name, type, queue, retries, retry_delay_ms, priority, confirm_file,
	confirm_say, caller_id, schedule, managed, created_at, updated_at FROM callback_configs`

func scanCallbackConfig(row interface{ Scan(...any) error }) (CallbackConfig, error) {
	var c CallbackConfig
	err := row.Scan(&c.ID, &c.Name, &c.Type, &c.Queue, &c.Retries, msDuration{&c.RetryDelay}, &c.Priority,
		&c.ConfirmationFile, &c.ConfirmationSay, &c.CallerID, &c.Schedule, &c.Managed,
		msTime{&c.CreatedAt}, msTime{&c.UpdatedAt})
	return c, err
}

// ListCallbackConfigs returns every callback configuration ordered by name.
func (s *SQLite) ListCallbackConfigs(ctx context.Context) ([]CallbackConfig, error) {
	rows, err := s.r.QueryContext(ctx, callbackConfigSelect+` ORDER BY name`)
	if err != nil {
		return nil, wrapErr("list callback configs", err)
	}
	defer rows.Close()
	out := []CallbackConfig{}
	for rows.Next() {
		c, err := scanCallbackConfig(rows)
		if err != nil {
			return nil, wrapErr("list callback configs", err)
		}
		out = append(out, c)
	}
	if err := rows.Err(); err != nil {
		return nil, wrapErr("list callback configs", err)
	}
	return out, nil
}

// GetCallbackConfig returns the callback configuration id, or ErrNotFound.
func (s *SQLite) GetCallbackConfig(ctx context.Context, id string) (CallbackConfig, error) {
	c, err := scanCallbackConfig(s.r.QueryRowContext(ctx, callbackConfigSelect+` WHERE id = ?`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return CallbackConfig{}, notFound("callback config", id)
	}
	if err != nil {
		return CallbackConfig{}, wrapErr("get callback config "+strconv.Quote(id), err)
	}
	return c, nil
}

// PutCallbackConfig creates or replaces the configuration c.ID; a name
// another has is ErrConflict. CreatedAt is kept from the first Put (c's, or
// now when zero); UpdatedAt is set to now.
func (s *SQLite) PutCallbackConfig(ctx context.Context, c CallbackConfig) error {
	if err := requireID("callback config", c.ID); err != nil {
		return err
	}
	if c.Name == "" {
		return errors.New("store: callback config " + strconv.Quote(c.ID) + " has no name")
	}
	_, err := s.w.ExecContext(ctx, `INSERT INTO callback_configs (id, name, type, queue, retries, retry_delay_ms,
		priority, confirm_file, confirm_say, caller_id, schedule, managed, created_at, updated_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT (id) DO UPDATE SET name = excluded.name, type = excluded.type, queue = excluded.queue,
			retries = excluded.retries, retry_delay_ms = excluded.retry_delay_ms, priority = excluded.priority,
			confirm_file = excluded.confirm_file, confirm_say = excluded.confirm_say,
			caller_id = excluded.caller_id, schedule = excluded.schedule, managed = excluded.managed,
			updated_at = excluded.updated_at`,
		c.ID, c.Name, c.Type, c.Queue, c.Retries, c.RetryDelay.Milliseconds(), c.Priority, c.ConfirmationFile,
		c.ConfirmationSay, c.CallerID, c.Schedule, c.Managed, s.created(c.CreatedAt), s.now().UnixMilli())
	if err != nil {
		return wrapErr("put callback config "+strconv.Quote(c.ID), err)
	}
	return nil
}

// DeleteCallbackConfig deletes the configuration id; ErrNotFound if there
// is none. Its requests stay.
func (s *SQLite) DeleteCallbackConfig(ctx context.Context, id string) error {
	res, err := s.w.ExecContext(ctx, `DELETE FROM callback_configs WHERE id = ?`, id)
	if err != nil {
		return wrapErr("delete callback config "+strconv.Quote(id), err)
	}
	return affected(res, "callback config", id)
}

const callbackSelect = `SELECT id, config, type, queue, retries, retry_delay_ms, number, conversation_id, enqueued_at, created_at,
	updated_at, status, agent_id, attempts_made, next_attempt_at FROM callbacks`

func scanCallback(row interface{ Scan(...any) error }) (Callback, error) {
	var c Callback
	err := row.Scan(&c.ID, &c.Config, &c.Type, &c.Queue, &c.Retries, msDuration{&c.RetryDelay}, &c.Number, &c.ConversationID, msTime{&c.Enqueued},
		msTime{&c.CreatedAt}, msTime{&c.UpdatedAt}, &c.Status, &c.AgentID, &c.AttemptsMade, msTime{&c.NextAttemptAt})
	c.Attempts = []CallbackAttempt{}
	return c, err
}

// ListCallbacks returns the requests f selects, oldest (CreatedAt) first,
// each with its attempts.
func (s *SQLite) ListCallbacks(ctx context.Context, f CallbackFilter) ([]Callback, error) {
	var where []string
	var args []any
	if f.Status != "" {
		where, args = append(where, "status = ?"), append(args, f.Status)
	}
	if f.Type != "" {
		where, args = append(where, "type = ?"), append(args, f.Type)
	}
	if !f.From.IsZero() {
		where, args = append(where, "created_at >= ?"), append(args, millis(f.From))
	}
	if !f.To.IsZero() {
		where, args = append(where, "created_at < ?"), append(args, millis(f.To))
	}
	if f.Queues != nil {
		if len(f.Queues) == 0 {
			return []Callback{}, nil
		}
		where = append(where, "queue IN (?"+strings.Repeat(", ?", len(f.Queues)-1)+")")
		for _, q := range f.Queues {
			args = append(args, q)
		}
	}
	cond := ""
	if len(where) > 0 {
		cond = " WHERE " + strings.Join(where, " AND ")
	}
	rows, err := s.r.QueryContext(ctx, callbackSelect+cond+` ORDER BY created_at, id`, args...)
	if err != nil {
		return nil, wrapErr("list callbacks", err)
	}
	out := []Callback{}
	for rows.Next() {
		c, err := scanCallback(rows)
		if err != nil {
			rows.Close()
			return nil, wrapErr("list callbacks", err)
		}
		out = append(out, c)
	}
	err = rows.Err()
	rows.Close() // before the attempts' query: a memory database has one connection
	if err != nil {
		return nil, wrapErr("list callbacks", err)
	}
	// Every listed request's attempts in one query, not one each.
	attempts, err := s.callbackAttempts(ctx, `callback_id IN (SELECT id FROM callbacks`+cond+`)`, args...)
	if err != nil {
		return nil, err
	}
	for i := range out {
		out[i].Attempts = attempts[out[i].ID]
		if out[i].Attempts == nil {
			out[i].Attempts = []CallbackAttempt{}
		}
	}
	return out, nil
}

// callbackAttempts returns the attempts of the requests that cond selects,
// by request id, each request's in order.
func (s *SQLite) callbackAttempts(ctx context.Context, cond string, args ...any) (map[string][]CallbackAttempt, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT callback_id, at, agent_id, sip_code, reason, outcome FROM callback_attempts
		WHERE `+cond+` ORDER BY callback_id, position`, args...)
	if err != nil {
		return nil, wrapErr("list callback attempts", err)
	}
	defer rows.Close()
	out := map[string][]CallbackAttempt{}
	for rows.Next() {
		var id string
		var a CallbackAttempt
		if err := rows.Scan(&id, msTime{&a.At}, &a.AgentID, &a.SIPCode, &a.Reason, &a.Outcome); err != nil {
			return nil, wrapErr("list callback attempts", err)
		}
		out[id] = append(out[id], a)
	}
	if err := rows.Err(); err != nil {
		return nil, wrapErr("list callback attempts", err)
	}
	return out, nil
}

// GetCallback returns the request id with its attempts, or ErrNotFound.
func (s *SQLite) GetCallback(ctx context.Context, id string) (Callback, error) {
	c, err := scanCallback(s.r.QueryRowContext(ctx, callbackSelect+` WHERE id = ?`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return Callback{}, notFound("callback", id)
	}
	if err != nil {
		return Callback{}, wrapErr("get callback "+strconv.Quote(id), err)
	}
	attempts, err := s.callbackAttempts(ctx, `callback_id = ?`, id)
	if err != nil {
		return Callback{}, err
	}
	c.Attempts = attempts[id]
	if c.Attempts == nil {
		c.Attempts = []CallbackAttempt{}
	}
	return c, nil
}

// callbackUpsert writes every field of a request; WHERE conditions may
// follow (the update is then conditional).
const callbackUpsert = `INSERT INTO callbacks (id, config, type, queue, retries, retry_delay_ms, number,
	conversation_id, enqueued_at, created_at, updated_at, status, agent_id, attempts_made, next_attempt_at)
	VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
	ON CONFLICT (id) DO UPDATE SET config = excluded.config, type = excluded.type, queue = excluded.queue,
		retries = excluded.retries, retry_delay_ms = excluded.retry_delay_ms,
		number = excluded.number, conversation_id = excluded.conversation_id, enqueued_at = excluded.enqueued_at,
		updated_at = excluded.updated_at, status = excluded.status, agent_id = excluded.agent_id,
		attempts_made = excluded.attempts_made, next_attempt_at = excluded.next_attempt_at`

func (s *SQLite) callbackArgs(c Callback) []any {
	updated := orNow(c.UpdatedAt, s)
	return []any{c.ID, c.Config, c.Type, c.Queue, c.Retries, c.RetryDelay.Milliseconds(), c.Number, c.ConversationID, millis(c.Enqueued),
		s.created(c.CreatedAt), millis(updated), c.Status, c.AgentID, c.AttemptsMade, millis(c.NextAttemptAt)}
}

// PutCallback creates or replaces the request c.ID, not its attempts.
// CreatedAt is kept from the first Put (c's, or now when zero); UpdatedAt is
// c's (now when zero): the ACD's clock orders a request's changes.
func (s *SQLite) PutCallback(ctx context.Context, c Callback) error {
	if err := requireID("callback", c.ID); err != nil {
		return err
	}
	if _, err := s.w.ExecContext(ctx, callbackUpsert, s.callbackArgs(c)...); err != nil {
		return wrapErr("put callback "+strconv.Quote(c.ID), err)
	}
	return nil
}

// UpdateCallbackIf replaces the request c.ID only while its stored status
// is status, and reports whether it did; ErrNotFound when there is no such
// request. The check and the write are one statement, so of two agents
// taking the same request only one succeeds.
func (s *SQLite) UpdateCallbackIf(ctx context.Context, c Callback, status string) (bool, error) {
	if err := requireID("callback", c.ID); err != nil {
		return false, err
	}
	res, err := s.w.ExecContext(ctx, `UPDATE callbacks SET config = ?, type = ?, queue = ?, retries = ?,
		retry_delay_ms = ?, number = ?, conversation_id = ?, enqueued_at = ?, updated_at = ?, status = ?,
		agent_id = ?, attempts_made = ?, next_attempt_at = ? WHERE id = ? AND status = ?`,
		c.Config, c.Type, c.Queue, c.Retries, c.RetryDelay.Milliseconds(), c.Number, c.ConversationID, millis(c.Enqueued), millis(orNow(c.UpdatedAt, s)),
		c.Status, c.AgentID, c.AttemptsMade, millis(c.NextAttemptAt), c.ID, status)
	if err != nil {
		return false, wrapErr("update callback "+strconv.Quote(c.ID), err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return false, wrapErr("update callback "+strconv.Quote(c.ID), err)
	}
	if n == 0 {
		if _, err := s.GetCallback(ctx, c.ID); err != nil {
			return false, err
		}
	}
	return n == 1, nil
}

// AddCallbackAttempt appends a to the attempts of the request c.ID and
// stores c, in one transaction; ErrNotFound when there is no such request.
func (s *SQLite) AddCallbackAttempt(ctx context.Context, c Callback, a CallbackAttempt) error {
	op := "add callback attempt " + strconv.Quote(c.ID)
	return s.inTx(ctx, op, func(tx *sql.Tx) error {
		var exists int
		if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM callbacks WHERE id = ?`, c.ID).Scan(&exists); err != nil {
			return wrapErr(op, err)
		}
		if exists == 0 {
			return notFound("callback", c.ID)
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO callback_attempts (callback_id, position, at, agent_id,
			sip_code, reason, outcome) VALUES (?, (SELECT coalesce(max(position), 0) + 1 FROM callback_attempts
			WHERE callback_id = ?), ?, ?, ?, ?, ?)`,
			c.ID, c.ID, millis(orNow(a.At, s)), a.AgentID, a.SIPCode, a.Reason, a.Outcome); err != nil {
			return wrapErr(op, err)
		}
		if _, err := tx.ExecContext(ctx, callbackUpsert, s.callbackArgs(c)...); err != nil {
			return wrapErr(op, err)
		}
		return nil
	})
}

// orNow is t, or s's now when t is zero.
func orNow(t time.Time, s *SQLite) time.Time {
	if t.IsZero() {
		return s.now()
	}
	return t
}
