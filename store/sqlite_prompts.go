package store

import (
	"context"
	"database/sql"
	"errors"
	"strconv"
)

const promptSelect = `SELECT id, name, format, size, duration_ms, created_at FROM prompts`

func scanPrompt(row interface{ Scan(...any) error }) (Prompt, error) {
	var p Prompt
	err := row.Scan(&p.ID, &p.Name, &p.Format, &p.Size, msDuration{&p.Duration}, msTime{&p.CreatedAt})
	return p, err
}

// ListPrompts returns every uploaded prompt, oldest first.
func (s *SQLite) ListPrompts(ctx context.Context) ([]Prompt, error) {
	rows, err := s.r.QueryContext(ctx, promptSelect+` ORDER BY created_at, id`)
	if err != nil {
		return nil, wrapErr("list prompts", err)
	}
	defer rows.Close()
	out := []Prompt{}
	for rows.Next() {
		p, err := scanPrompt(rows)
		if err != nil {
			return nil, wrapErr("list prompts", err)
		}
		out = append(out, p)
	}
	if err := rows.Err(); err != nil {
		return nil, wrapErr("list prompts", err)
	}
	return out, nil
}

// GetPrompt returns the prompt id, or ErrNotFound.
func (s *SQLite) GetPrompt(ctx context.Context, id string) (Prompt, error) {
	p, err := scanPrompt(s.r.QueryRowContext(ctx, promptSelect+` WHERE id = ?`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return Prompt{}, notFound("prompt", id)
	}
	if err != nil {
		return Prompt{}, wrapErr("get prompt "+strconv.Quote(id), err)
	}
	return p, nil
}

// AddPrompt records a new prompt; CreatedAt is now when zero. An id taken
// already is ErrConflict.
func (s *SQLite) AddPrompt(ctx context.Context, p Prompt) error {
	if err := requireID("prompt", p.ID); err != nil {
		return err
	}
	_, err := s.w.ExecContext(ctx, `INSERT INTO prompts (id, name, format, size, duration_ms, created_at)
		VALUES (?, ?, ?, ?, ?, ?)`, p.ID, p.Name, p.Format, p.Size, p.Duration.Milliseconds(), s.created(p.CreatedAt))
	if err != nil {
		return wrapErr("add prompt "+strconv.Quote(p.ID), err)
	}
	return nil
}

// DeletePrompt deletes the prompt id; ErrNotFound if there is none.
func (s *SQLite) DeletePrompt(ctx context.Context, id string) error {
	res, err := s.w.ExecContext(ctx, `DELETE FROM prompts WHERE id = ?`, id)
	if err != nil {
		return wrapErr("delete prompt "+strconv.Quote(id), err)
	}
	return affected(res, "prompt", id)
}
