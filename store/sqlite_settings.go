package store

import (
	"context"
	"database/sql"
	"errors"
	"strconv"
)

const waitingStrategySelect = `SELECT id, name, spec, managed, created_at, updated_at FROM waiting_strategies`

func scanWaitingStrategy(row interface{ Scan(...any) error }) (WaitingStrategy, error) {
	var w WaitingStrategy
	err := row.Scan(&w.ID, &w.Name, (*[]byte)(&w.Spec), &w.Managed, msTime{&w.CreatedAt}, msTime{&w.UpdatedAt})
	return w, err
}

// ListWaitingStrategies returns every waiting strategy ordered by name.
func (s *SQLite) ListWaitingStrategies(ctx context.Context) ([]WaitingStrategy, error) {
	rows, err := s.r.QueryContext(ctx, waitingStrategySelect+` ORDER BY name`)
	if err != nil {
		return nil, wrapErr("list waiting strategies", err)
	}
	defer rows.Close()
	list := []WaitingStrategy{}
	for rows.Next() {
		w, err := scanWaitingStrategy(rows)
		if err != nil {
			return nil, wrapErr("list waiting strategies", err)
		}
		list = append(list, w)
	}
	if err := rows.Err(); err != nil {
		return nil, wrapErr("list waiting strategies", err)
	}
	return list, nil
}

// GetWaitingStrategy returns the waiting strategy id, or ErrNotFound.
func (s *SQLite) GetWaitingStrategy(ctx context.Context, id string) (WaitingStrategy, error) {
	w, err := scanWaitingStrategy(s.r.QueryRowContext(ctx, waitingStrategySelect+` WHERE id = ?`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return WaitingStrategy{}, notFound("waiting strategy", id)
	}
	if err != nil {
		return WaitingStrategy{}, wrapErr("get waiting strategy "+strconv.Quote(id), err)
	}
	return w, nil
}

// PutWaitingStrategy creates or replaces the waiting strategy w.ID; a name
// another strategy has is ErrConflict, a Spec that is not JSON an error.
// CreatedAt is kept from the first Put (w.CreatedAt, or now when zero);
// UpdatedAt is set to now.
func (s *SQLite) PutWaitingStrategy(ctx context.Context, w WaitingStrategy) error {
	if err := requireID("waiting strategy", w.ID); err != nil {
		return err
	}
	if w.Name == "" {
		return errors.New("store: waiting strategy " + strconv.Quote(w.ID) + " has no name")
	}
	spec, err := jsonText("waiting strategy spec", w.Spec)
	if err != nil {
		return err
	}
	_, err = s.w.ExecContext(ctx, `INSERT INTO waiting_strategies (id, name, spec, managed, created_at, updated_at)
		VALUES (?, ?, ?, ?, ?, ?)
		ON CONFLICT (id) DO UPDATE SET name = excluded.name, spec = excluded.spec, managed = excluded.managed,
			updated_at = excluded.updated_at`,
		w.ID, w.Name, spec, w.Managed, s.created(w.CreatedAt), s.now().UnixMilli())
	if err != nil {
		return wrapErr("put waiting strategy "+strconv.Quote(w.ID), err)
	}
	return nil
}

// DeleteWaitingStrategy deletes the waiting strategy id; ErrNotFound if
// there is no such strategy.
func (s *SQLite) DeleteWaitingStrategy(ctx context.Context, id string) error {
	res, err := s.w.ExecContext(ctx, `DELETE FROM waiting_strategies WHERE id = ?`, id)
	if err != nil {
		return wrapErr("delete waiting strategy "+strconv.Quote(id), err)
	}
	return affected(res, "waiting strategy", id)
}

// GetSetting returns the value of key, or ErrNotFound.
func (s *SQLite) GetSetting(ctx context.Context, key string) (string, error) {
	var v string
	err := s.r.QueryRowContext(ctx, `SELECT value FROM settings WHERE key = ?`, key).Scan(&v)
	if errors.Is(err, sql.ErrNoRows) {
		return "", notFound("setting", key)
	}
	if err != nil {
		return "", wrapErr("get setting "+strconv.Quote(key), err)
	}
	return v, nil
}

// PutSetting sets key to value.
func (s *SQLite) PutSetting(ctx context.Context, key, value string) error {
	if key == "" {
		return errors.New("store: setting key is empty")
	}
	_, err := s.w.ExecContext(ctx, `INSERT INTO settings (key, value) VALUES (?, ?)
		ON CONFLICT (key) DO UPDATE SET value = excluded.value`, key, value)
	if err != nil {
		return wrapErr("put setting "+strconv.Quote(key), err)
	}
	return nil
}
