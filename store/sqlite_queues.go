package store

import (
	"context"
	"database/sql"
	"errors"
	"strconv"
)

const queueSelect = `SELECT id, name, auto_assign, strategy, ring_timeout_ms, wrap_up_ms, waiting_strategy,
	priority, service_level_ms, managed, created_at, updated_at FROM queues`

func scanQueue(row interface{ Scan(...any) error }) (Queue, error) {
	var q Queue
	err := row.Scan(&q.ID, &q.Name, &q.AutoAssign, &q.Strategy, msDuration{&q.RingTimeout},
		msDuration{&q.WrapUp}, &q.WaitingStrategy, &q.Priority, msDuration{&q.ServiceLevel}, &q.Managed,
		msTime{&q.CreatedAt}, msTime{&q.UpdatedAt})
	return q, err
}

// ListQueues returns every queue ordered by name.
func (s *SQLite) ListQueues(ctx context.Context) ([]Queue, error) {
	rows, err := s.r.QueryContext(ctx, queueSelect+` ORDER BY name`)
	if err != nil {
		return nil, wrapErr("list queues", err)
	}
	defer rows.Close()
	queues := []Queue{}
	for rows.Next() {
		q, err := scanQueue(rows)
		if err != nil {
			return nil, wrapErr("list queues", err)
		}
		queues = append(queues, q)
	}
	if err := rows.Err(); err != nil {
		return nil, wrapErr("list queues", err)
	}
	return queues, nil
}

// GetQueue returns the queue id, or ErrNotFound.
func (s *SQLite) GetQueue(ctx context.Context, id string) (Queue, error) {
	q, err := scanQueue(s.r.QueryRowContext(ctx, queueSelect+` WHERE id = ?`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return Queue{}, notFound("queue", id)
	}
	if err != nil {
		return Queue{}, wrapErr("get queue "+strconv.Quote(id), err)
	}
	return q, nil
}

// PutQueue creates or replaces the queue q.ID; a name another queue has is
// ErrConflict. CreatedAt is kept from the first Put (q.CreatedAt, or now
// when zero); UpdatedAt is set to now.
func (s *SQLite) PutQueue(ctx context.Context, q Queue) error {
	if err := requireID("queue", q.ID); err != nil {
		return err
	}
	if q.Name == "" {
		return errors.New("store: queue " + strconv.Quote(q.ID) + " has no name")
	}
	_, err := s.w.ExecContext(ctx, `INSERT INTO queues (id, name, auto_assign, strategy, ring_timeout_ms,
		wrap_up_ms, waiting_strategy, priority, service_level_ms, managed, created_at, updated_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT (id) DO UPDATE SET name = excluded.name, auto_assign = excluded.auto_assign,
			strategy = excluded.strategy, ring_timeout_ms = excluded.ring_timeout_ms,
			wrap_up_ms = excluded.wrap_up_ms, waiting_strategy = excluded.waiting_strategy,
			priority = excluded.priority, service_level_ms = excluded.service_level_ms,
			managed = excluded.managed, updated_at = excluded.updated_at`,
		q.ID, q.Name, q.AutoAssign, q.Strategy, q.RingTimeout.Milliseconds(), q.WrapUp.Milliseconds(),
		q.WaitingStrategy, q.Priority, q.ServiceLevel.Milliseconds(), q.Managed, s.created(q.CreatedAt),
		s.now().UnixMilli())
	if err != nil {
		return wrapErr("put queue "+strconv.Quote(q.ID), err)
	}
	return nil
}

// DeleteQueue deletes the queue id and its agents' membership of it;
// ErrNotFound if there is no such queue.
func (s *SQLite) DeleteQueue(ctx context.Context, id string) error {
	res, err := s.w.ExecContext(ctx, `DELETE FROM queues WHERE id = ?`, id)
	if err != nil {
		return wrapErr("delete queue "+strconv.Quote(id), err)
	}
	return affected(res, "queue", id)
}
