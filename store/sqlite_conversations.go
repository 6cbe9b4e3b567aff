package store

import (
	"context"
	"database/sql"
	"errors"
	"strconv"
	"time"
)

const conversationSelect = `SELECT id, customer_number, customer_name, queue, agent_id, status, notes,
	created_at, updated_at FROM conversations`

func scanConversation(row interface{ Scan(...any) error }) (Conversation, error) {
	var c Conversation
	err := row.Scan(&c.ID, &c.CustomerNumber, &c.CustomerName, &c.Queue, &c.AgentID, &c.Status, &c.Notes,
		msTime{&c.CreatedAt}, msTime{&c.UpdatedAt})
	return c, err
}

// GetConversation returns the conversation id, or ErrNotFound.
func (s *SQLite) GetConversation(ctx context.Context, id string) (Conversation, error) {
	c, err := scanConversation(s.r.QueryRowContext(ctx, conversationSelect+` WHERE id = ?`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return Conversation{}, notFound("conversation", id)
	}
	if err != nil {
		return Conversation{}, wrapErr("get conversation "+strconv.Quote(id), err)
	}
	return c, nil
}

// OpenConversation returns the newest (by CreatedAt) conversation with
// customerNumber that is not Closed, or ErrNotFound.
func (s *SQLite) OpenConversation(ctx context.Context, customerNumber string) (Conversation, error) {
	c, err := scanConversation(s.r.QueryRowContext(ctx, conversationSelect+`
		WHERE customer_number = ? AND status <> ? ORDER BY created_at DESC, rowid DESC LIMIT 1`,
		customerNumber, ConversationClosed))
	if errors.Is(err, sql.ErrNoRows) {
		return Conversation{}, notFound("open conversation with", customerNumber)
	}
	if err != nil {
		return Conversation{}, wrapErr("open conversation with "+strconv.Quote(customerNumber), err)
	}
	return c, nil
}

// ListConversations returns the newest conversations first, at most limit
// of them (all when limit <= 0).
func (s *SQLite) ListConversations(ctx context.Context, limit int) ([]Conversation, error) {
	if limit <= 0 {
		limit = -1 // no limit
	}
	rows, err := s.r.QueryContext(ctx, conversationSelect+` ORDER BY created_at DESC, rowid DESC LIMIT ?`, limit)
	if err != nil {
		return nil, wrapErr("list conversations", err)
	}
	defer rows.Close()
	convs := []Conversation{}
	for rows.Next() {
		c, err := scanConversation(rows)
		if err != nil {
			return nil, wrapErr("list conversations", err)
		}
		convs = append(convs, c)
	}
	if err := rows.Err(); err != nil {
		return nil, wrapErr("list conversations", err)
	}
	return convs, nil
}

// PutConversation creates or replaces the conversation c.ID. CreatedAt is
// kept from the first Put (c.CreatedAt, or now when zero); UpdatedAt is set
// to now.
func (s *SQLite) PutConversation(ctx context.Context, c Conversation) error {
	if err := requireID("conversation", c.ID); err != nil {
		return err
	}
	_, err := s.w.ExecContext(ctx, `INSERT INTO conversations (id, customer_number, customer_name, queue,
		agent_id, status, notes, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT (id) DO UPDATE SET customer_number = excluded.customer_number,
			customer_name = excluded.customer_name, queue = excluded.queue, agent_id = excluded.agent_id,
			status = excluded.status, notes = excluded.notes, updated_at = excluded.updated_at`,
		c.ID, c.CustomerNumber, c.CustomerName, c.Queue, c.AgentID, c.Status, c.Notes, s.created(c.CreatedAt),
		s.now().UnixMilli())
	if err != nil {
		return wrapErr("put conversation "+strconv.Quote(c.ID), err)
	}
	return nil
}

// AddEvent appends e to its conversation and returns the event's id (e.ID
// is ignored); a zero At is set to now. ErrNotFound if the conversation
// does not exist.
func (s *SQLite) AddEvent(ctx context.Context, e Event) (int64, error) {
	data, err := jsonText("event data", e.Data)
	if err != nil {
		return 0, err
	}
	at := e.At
	if at.IsZero() {
		at = s.now()
	}
	res, err := s.w.ExecContext(ctx, `INSERT INTO conversation_events (conversation_id, at, type, data)
		VALUES (?, ?, ?, ?)`, e.ConversationID, millis(at), e.Type, data)
	if err != nil {
		return 0, wrapErr("add event to conversation "+strconv.Quote(e.ConversationID), err)
	}
	id, err := res.LastInsertId()
	if err != nil {
		return 0, wrapErr("add event to conversation "+strconv.Quote(e.ConversationID), err)
	}
	return id, nil
}

// ListEvents returns the conversation's events in the order they were added.
func (s *SQLite) ListEvents(ctx context.Context, conversationID string) ([]Event, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT id, conversation_id, at, type, data FROM conversation_events
		WHERE conversation_id = ? ORDER BY id`, conversationID)
	if err != nil {
		return nil, wrapErr("list events", err)
	}
	defer rows.Close()
	events := []Event{}
	for rows.Next() {
		var e Event
		if err := rows.Scan(&e.ID, &e.ConversationID, msTime{&e.At}, &e.Type, (*[]byte)(&e.Data)); err != nil {
			return nil, wrapErr("list events", err)
		}
		events = append(events, e)
	}
	if err := rows.Err(); err != nil {
		return nil, wrapErr("list events", err)
	}
	return events, nil
}

const callRecordSelect = `SELECT id, conversation_id, queue, agent_id, trunk, from_number, to_number,
	priority, enqueued, answered, ended, result FROM call_records`

func scanCallRecord(row interface{ Scan(...any) error }) (CallRecord, error) {
	var r CallRecord
	err := row.Scan(&r.ID, &r.ConversationID, &r.Queue, &r.AgentID, &r.Trunk, &r.From, &r.To, &r.Priority,
		msTime{&r.Enqueued}, msTime{&r.Answered}, msTime{&r.Ended}, &r.Result)
	return r, err
}

// PutCallRecord creates or replaces the call record r.ID.
func (s *SQLite) PutCallRecord(ctx context.Context, r CallRecord) error {
	if err := requireID("call record", r.ID); err != nil {
		return err
	}
	_, err := s.w.ExecContext(ctx, `INSERT INTO call_records (id, conversation_id, queue, agent_id, trunk,
		from_number, to_number, priority, enqueued, answered, ended, result)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT (id) DO UPDATE SET conversation_id = excluded.conversation_id, queue = excluded.queue,
			agent_id = excluded.agent_id, trunk = excluded.trunk, from_number = excluded.from_number,
			to_number = excluded.to_number, priority = excluded.priority, enqueued = excluded.enqueued,
			answered = excluded.answered, ended = excluded.ended, result = excluded.result`,
		r.ID, r.ConversationID, r.Queue, r.AgentID, r.Trunk, r.From, r.To, r.Priority, millis(r.Enqueued),
		millis(r.Answered), millis(r.Ended), r.Result)
	if err != nil {
		return wrapErr("put call record "+strconv.Quote(r.ID), err)
	}
	return nil
}

// GetCallRecord returns the call record id, or ErrNotFound.
func (s *SQLite) GetCallRecord(ctx context.Context, id string) (CallRecord, error) {
	r, err := scanCallRecord(s.r.QueryRowContext(ctx, callRecordSelect+` WHERE id = ?`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return CallRecord{}, notFound("call record", id)
	}
	if err != nil {
		return CallRecord{}, wrapErr("get call record "+strconv.Quote(id), err)
	}
	return r, nil
}

// ListCallRecords returns the records with Enqueued at or after since
// (every record when since is zero), oldest first; only those not Ended
// when live is set.
func (s *SQLite) ListCallRecords(ctx context.Context, since time.Time, live bool) ([]CallRecord, error) {
	query := callRecordSelect + ` WHERE enqueued >= ?`
	if live {
		query += ` AND ended = 0`
	}
	rows, err := s.r.QueryContext(ctx, query+` ORDER BY enqueued, id`, millis(since))
	if err != nil {
		return nil, wrapErr("list call records", err)
	}
	defer rows.Close()
	records := []CallRecord{}
	for rows.Next() {
		r, err := scanCallRecord(rows)
		if err != nil {
			return nil, wrapErr("list call records", err)
		}
		records = append(records, r)
	}
	if err := rows.Err(); err != nil {
		return nil, wrapErr("list call records", err)
	}
	return records, nil
}
