package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"time"

	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"
)

var _ Store = (*SQLite)(nil)

// busyTimeout is how long a statement waits for a lock another process
// holds before it fails with SQLITE_BUSY.
const busyTimeout = 5 * time.Second

// SQLite is the Store on a SQLite database (modernc.org/sqlite, no cgo).
//
// Writes go through one connection, so writers of this process queue in Go
// instead of retrying on SQLITE_BUSY; reads go through a pool of read-only
// connections that, in WAL mode, never wait for the writer. An in-memory
// database has a single connection for both.
//
// Times are kept to the millisecond and read back in UTC; the zero time is
// stored as 0 and read back as the zero time. Durations are kept to the
// millisecond.
type SQLite struct {
	w, r *sql.DB
	now  func() time.Time
}

// Open opens (creating it if needed) the database dsn names and brings its
// schema up to date. dsn is one of
//
//	sqlite://path/to/file.db   a file; missing parent directories are created
//	sqlite:///abs/path/file.db an absolute path
//	sqlite://:memory:          a private in-memory database (tests)
//	path/to/file.db            a bare path
//
// A database whose schema is newer than this binary knows is refused.
func Open(ctx context.Context, dsn string) (*SQLite, error) {
	return open(ctx, dsn, migrationFiles)
}

func open(ctx context.Context, dsn string, migrations fs.FS) (*SQLite, error) {
	ms, err := loadMigrations(migrations)
	if err != nil {
		return nil, err
	}
	path, err := parseDSN(dsn)
	if err != nil {
		return nil, err
	}
	s := &SQLite{now: time.Now}
	pragmas := []string{
		fmt.Sprintf("busy_timeout(%d)", busyTimeout.Milliseconds()),
		"foreign_keys(1)",
		"synchronous(NORMAL)", // durable across crashes of the process in WAL mode
	}
	if path == ":memory:" {
		// Every connection to :memory: has its own database: keep exactly one.
		s.w, err = openDB(path, pragmas, 1)
		if err != nil {
			return nil, err
		}
		s.r = s.w
	} else {
		if err := os.MkdirAll(filepath.Dir(path), 0o750); err != nil {
			return nil, fmt.Errorf("store: create database directory: %w", err)
		}
		s.w, err = openDB(path, append(pragmas, "journal_mode(WAL)"), 1)
		if err != nil {
			return nil, err
		}
		// The writer has made the file WAL (a persistent setting) by the time
		// readers open it, in the Ping below.
		if err := s.w.PingContext(ctx); err != nil {
			s.w.Close()
			return nil, fmt.Errorf("store: open %s: %w", path, err)
		}
		s.r, err = openDB(path, append(pragmas, "query_only(1)"), max(4, runtime.NumCPU()))
		if err != nil {
			s.w.Close()
			return nil, err
		}
	}
	if err := migrate(ctx, s.w, ms, s.now); err != nil {
		s.Close()
		return nil, err
	}
	return s, nil
}

// openDB opens a pool of at most conns connections to path, each set up
// with pragmas. Write transactions begin IMMEDIATE so that they take the
// write lock (waiting under busy_timeout) before reading anything.
func openDB(path string, pragmas []string, conns int) (*sql.DB, error) {
	q := url.Values{"_pragma": pragmas, "_txlock": {"immediate"}}
	db, err := sql.Open("sqlite", path+"?"+q.Encode())
	if err != nil {
		return nil, fmt.Errorf("store: open %s: %w", path, err)
	}
	db.SetMaxOpenConns(conns)
	db.SetMaxIdleConns(conns)
	return db, nil
}

// parseDSN returns the file path (or ":memory:") dsn names.
func parseDSN(dsn string) (string, error) {
	if dsn == "" {
		return "", errors.New("store: no database given; use sqlite://PATH")
	}
	path := dsn
	if scheme, rest, ok := strings.Cut(dsn, "://"); ok {
		switch strings.ToLower(scheme) {
		case "sqlite", "sqlite3":
			path = rest
		case "postgres", "postgresql":
			return "", errors.New("store: postgres is not supported yet; use sqlite://PATH")
		default:
			return "", fmt.Errorf("store: unsupported database %q (scheme %q); use sqlite://PATH", dsn, scheme)
		}
	}
	switch {
	case path == "":
		return "", fmt.Errorf("store: database %q has no path; use sqlite://PATH", dsn)
	case strings.ContainsRune(path, '?'):
		return "", fmt.Errorf("store: database path %q must not contain '?'", path)
	}
	return path, nil
}

// Close closes the database.
func (s *SQLite) Close() error {
	err := s.w.Close()
	if s.r != s.w {
		err = errors.Join(err, s.r.Close())
	}
	return err
}

// inTx runs fn in a write transaction, committing when fn returns nil;
// op names the operation in errors of the transaction itself.
func (s *SQLite) inTx(ctx context.Context, op string, fn func(tx *sql.Tx) error) error {
	tx, err := s.w.BeginTx(ctx, nil)
	if err != nil {
		return wrapErr(op, err)
	}
	if err := fn(tx); err != nil {
		tx.Rollback()
		return err
	}
	if err := tx.Commit(); err != nil {
		return wrapErr(op, err)
	}
	return nil
}

// wrapErr wraps err from the operation op, adding ErrConflict to unique
// violations and ErrNotFound to foreign keys that point nowhere.
func wrapErr(op string, err error) error {
	var se *sqlite.Error
	if errors.As(err, &se) {
		switch se.Code() {
		case sqlite3.SQLITE_CONSTRAINT_UNIQUE, sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY:
			return fmt.Errorf("store: %s: %w: %w", op, ErrConflict, err)
		case sqlite3.SQLITE_CONSTRAINT_FOREIGNKEY:
			return fmt.Errorf("store: %s: %w: %w", op, ErrNotFound, err)
		}
	}
	return fmt.Errorf("store: %s: %w", op, err)
}

// notFound is the error for a missing object.
func notFound(kind, id string) error {
	return fmt.Errorf("store: %s %q: %w", kind, id, ErrNotFound)
}

// affected turns a write that touched no row into ErrNotFound.
func affected(res sql.Result, kind, id string) error {
	n, err := res.RowsAffected()
	if err != nil {
		return fmt.Errorf("store: %s %q: %w", kind, id, err)
	}
	if n == 0 {
		return notFound(kind, id)
	}
	return nil
}

// millis is t as unix milliseconds, 0 for the zero time.
func millis(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixMilli()
}

// fromMillis is the inverse of millis, in UTC.
func fromMillis(ms int64) time.Time {
	if ms == 0 {
		return time.Time{}
	}
	return time.UnixMilli(ms).UTC()
}

// msTime scans a unix-milliseconds column into a time.Time.
type msTime struct{ t *time.Time }

func (m msTime) Scan(v any) error {
	ms, ok := v.(int64)
	if !ok {
		return fmt.Errorf("store: time column holds %T, want int64", v)
	}
	*m.t = fromMillis(ms)
	return nil
}

// msDuration scans a milliseconds column into a time.Duration.
type msDuration struct{ d *time.Duration }

func (m msDuration) Scan(v any) error {
	ms, ok := v.(int64)
	if !ok {
		return fmt.Errorf("store: duration column holds %T, want int64", v)
	}
	*m.d = time.Duration(ms) * time.Millisecond
	return nil
}

// jsonText is raw JSON as a nullable TEXT argument: NULL when empty, an
// error when it is not valid JSON.
func jsonText(field string, raw []byte) (any, error) {
	if len(raw) == 0 {
		return nil, nil
	}
	if !json.Valid(raw) {
		return nil, fmt.Errorf("store: %s is not valid JSON", field)
	}
	return string(raw), nil
}

// nullable is s as an argument, NULL when empty.
func nullable(s string) any {
	if s == "" {
		return nil
	}
	return s
}

// created is the creation time to store for a new object: t, or now.
func (s *SQLite) created(t time.Time) int64 {
	if t.IsZero() {
		return s.now().UnixMilli()
	}
	return millis(t)
}

func requireID(kind, id string) error {
	if id == "" {
		return fmt.Errorf("store: %s id is empty", kind)
	}
	return nil
}
