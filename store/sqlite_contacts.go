package store

import (
	"context"
	"database/sql"
	"errors"
	"slices"
	"strconv"
	"strings"
)

// contactSelect reads a contact with its numbers and tags in their order,
// each list joined by spaces (neither numbers nor tags hold one).
const contactSelect = `SELECT c.id, c.name, c.managed, c.created_at, c.updated_at,
	coalesce((SELECT group_concat(number, ' ') FROM
		(SELECT number FROM contact_numbers WHERE contact_id = c.id ORDER BY position)), ''),
	coalesce((SELECT group_concat(tag, ' ') FROM
		(SELECT tag FROM contact_tags WHERE contact_id = c.id ORDER BY position)), '')
	FROM contacts c`

func scanContact(row interface{ Scan(...any) error }) (Contact, error) {
	var c Contact
	var numbers, tags string
	err := row.Scan(&c.ID, &c.Name, &c.Managed, msTime{&c.CreatedAt}, msTime{&c.UpdatedAt}, &numbers, &tags)
	c.Numbers, c.Tags = strings.Fields(numbers), strings.Fields(tags)
	if c.Numbers == nil {
		c.Numbers = []string{}
	}
	if c.Tags == nil {
		c.Tags = []string{}
	}
	return c, err
}

// likeEscaper escapes LIKE's wildcards (with ESCAPE '\').
var likeEscaper = strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`)

// ListContacts returns the contacts f selects, ordered by name then id.
func (s *SQLite) ListContacts(ctx context.Context, f ContactFilter) ([]Contact, error) {
	var where []string
	var args []any
	if f.Query != "" {
		like := "%" + likeEscaper.Replace(f.Query) + "%"
		where = append(where, `(c.name LIKE ? ESCAPE '\' OR EXISTS (SELECT 1 FROM contact_numbers n
			WHERE n.contact_id = c.id AND n.number LIKE ? ESCAPE '\'))`)
		args = append(args, like, like)
	}
	if f.Tag != "" {
		where = append(where, `EXISTS (SELECT 1 FROM contact_tags t WHERE t.contact_id = c.id AND t.tag = ?)`)
		args = append(args, f.Tag)
	}
	q := contactSelect
	if len(where) > 0 {
		q += " WHERE " + strings.Join(where, " AND ")
	}
	rows, err := s.r.QueryContext(ctx, q+` ORDER BY c.name, c.id`, args...)
	if err != nil {
		return nil, wrapErr("list contacts", err)
	}
	defer rows.Close()
	contacts := []Contact{}
	for rows.Next() {
		c, err := scanContact(rows)
		if err != nil {
			return nil, wrapErr("list contacts", err)
		}
		contacts = append(contacts, c)
	}
	if err := rows.Err(); err != nil {
		return nil, wrapErr("list contacts", err)
	}
	return contacts, nil
}

// GetContact returns the contact id, or ErrNotFound.
func (s *SQLite) GetContact(ctx context.Context, id string) (Contact, error) {
	c, err := scanContact(s.r.QueryRowContext(ctx, contactSelect+` WHERE c.id = ?`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return Contact{}, notFound("contact", id)
	}
	if err != nil {
		return Contact{}, wrapErr("get contact "+strconv.Quote(id), err)
	}
	return c, nil
}

// ContactByNumber returns the contact number belongs to (exactly as
// stored), or ErrNotFound.
func (s *SQLite) ContactByNumber(ctx context.Context, number string) (Contact, error) {
	c, err := scanContact(s.r.QueryRowContext(ctx, contactSelect+
		` WHERE c.id = (SELECT contact_id FROM contact_numbers WHERE number = ?)`, number))
	if errors.Is(err, sql.ErrNoRows) {
		return Contact{}, notFound("contact with number", number)
	}
	if err != nil {
		return Contact{}, wrapErr("find contact by number "+strconv.Quote(number), err)
	}
	return c, nil
}

// PutContact creates or replaces the contact c.ID with its numbers and tags,
// in one transaction; a number another contact has is ErrConflict. Repeated
// numbers or tags are kept once. CreatedAt is kept from the first Put
// (c.CreatedAt, or now when zero); UpdatedAt is set to now.
func (s *SQLite) PutContact(ctx context.Context, c Contact) error {
	if err := requireID("contact", c.ID); err != nil {
		return err
	}
	if c.Name == "" {
		return errors.New("store: contact " + strconv.Quote(c.ID) + " has no name")
	}
	op := "put contact " + strconv.Quote(c.ID)
	return s.inTx(ctx, op, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `INSERT INTO contacts (id, name, managed, created_at, updated_at)
			VALUES (?, ?, ?, ?, ?)
			ON CONFLICT (id) DO UPDATE SET name = excluded.name, managed = excluded.managed,
				updated_at = excluded.updated_at`,
			c.ID, c.Name, c.Managed, s.created(c.CreatedAt), s.now().UnixMilli()); err != nil {
			return wrapErr(op, err)
		}
		for _, table := range []string{"contact_numbers", "contact_tags"} {
			if _, err := tx.ExecContext(ctx, `DELETE FROM `+table+` WHERE contact_id = ?`, c.ID); err != nil {
				return wrapErr(op, err)
			}
		}
		for i, n := range uniq(c.Numbers) {
			if _, err := tx.ExecContext(ctx, `INSERT INTO contact_numbers (number, contact_id, position)
				VALUES (?, ?, ?)`, n, c.ID, i); err != nil {
				return wrapErr(op+": number "+n, err)
			}
		}
		for i, t := range uniq(c.Tags) {
			if _, err := tx.ExecContext(ctx, `INSERT INTO contact_tags (contact_id, tag, position)
				VALUES (?, ?, ?)`, c.ID, t, i); err != nil {
				return wrapErr(op+": tag "+t, err)
			}
		}
		return nil
	})
}

// DeleteContact deletes the contact id with its numbers and tags;
// ErrNotFound if there is no such contact.
func (s *SQLite) DeleteContact(ctx context.Context, id string) error {
	res, err := s.w.ExecContext(ctx, `DELETE FROM contacts WHERE id = ?`, id)
	if err != nil {
		return wrapErr("delete contact "+strconv.Quote(id), err)
	}
	return affected(res, "contact", id)
}

// uniq is list without repeats, in its order.
func uniq(list []string) []string {
	out := make([]string, 0, len(list))
	for _, s := range list {
		if !slices.Contains(out, s) {
			out = append(out, s)
		}
	}
	return out
}
