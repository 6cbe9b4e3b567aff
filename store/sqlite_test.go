package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"testing"
	"testing/fstest"
	"time"
)

// t0 is the tests' clock: the store stamps CreatedAt/UpdatedAt with it.
var t0 = time.Date(2025, 3, 1, 12, 0, 0, 123_000_000, time.UTC)

func openT(t testing.TB, dsn string) *SQLite {
	t.Helper()
	s, err := Open(context.Background(), dsn)
	if err != nil {
		t.Fatalf("Open(%q): %v", dsn, err)
	}
	t.Cleanup(func() { s.Close() })
	s.now = func() time.Time { return t0 }
	return s
}

func fileDSN(t testing.TB) string {
	return "sqlite://" + filepath.Join(t.TempDir(), "switchboard.db")
}

// eachDB runs f on an in-memory and on a file database.
func eachDB(t *testing.T, f func(t *testing.T, s *SQLite)) {
	t.Run("memory", func(t *testing.T) { f(t, openT(t, "sqlite://:memory:")) })
	t.Run("file", func(t *testing.T) { f(t, openT(t, fileDSN(t))) })
}

func must(t testing.TB, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func wantErr(t testing.TB, err, target error) {
	t.Helper()
	if !errors.Is(err, target) {
		t.Fatalf("got error %v, want %v", err, target)
	}
}

func wantEqual[T any](t testing.TB, what string, got, want T) {
	t.Helper()
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("%s:\n got %+v\nwant %+v", what, got, want)
	}
}

func count(t testing.TB, s *SQLite, query string, args ...any) int {
	t.Helper()
	var n int
	must(t, s.w.QueryRow(query, args...).Scan(&n))
	return n
}

func TestParseDSN(t *testing.T) {
	for _, tc := range []struct{ dsn, path, err string }{
		{dsn: "sqlite://data/switchboard.db", path: "data/switchboard.db"},
		{dsn: "sqlite:///var/lib/sb.db", path: "/var/lib/sb.db"},
		{dsn: "sqlite://:memory:", path: ":memory:"},
		{dsn: "data/sb.db", path: "data/sb.db"},
		{dsn: "postgres://u@db/sb", err: "store: postgres is not supported yet; use sqlite://PATH"},
		{dsn: "postgresql://u@db/sb", err: "postgres is not supported yet"},
		{dsn: "mysql://db/sb", err: `unsupported database "mysql://db/sb"`},
		{dsn: "", err: "no database"},
		{dsn: "sqlite://", err: "has no path"},
		{dsn: "sqlite://a.db?mode=ro", err: "must not contain '?'"},
	} {
		path, err := parseDSN(tc.dsn)
		switch {
		case tc.err != "" && (err == nil || !strings.Contains(err.Error(), tc.err)):
			t.Errorf("parseDSN(%q) error %v, want one containing %q", tc.dsn, err, tc.err)
		case tc.err == "" && (err != nil || path != tc.path):
			t.Errorf("parseDSN(%q) = %q, %v; want %q", tc.dsn, path, err, tc.path)
		}
	}
	if _, err := Open(context.Background(), "postgres://localhost/sb"); err == nil {
		t.Fatal("Open(postgres://) succeeded")
	}
}

func TestOpenFile(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "a", "b", "sb.db")
	s := openT(t, "sqlite://"+path)
	if _, err := os.Stat(path); err != nil {
		t.Fatalf("database file: %v", err)
	}
	var mode string
	must(t, s.w.QueryRow(`PRAGMA journal_mode`).Scan(&mode))
	wantEqual(t, "journal_mode", mode, "wal")
	for name, db := range map[string]*sql.DB{"writer": s.w, "reader": s.r} {
		var fk, busy int
		must(t, db.QueryRow(`PRAGMA foreign_keys`).Scan(&fk))
		must(t, db.QueryRow(`PRAGMA busy_timeout`).Scan(&busy))
		wantEqual(t, name+" foreign_keys", fk, 1)
		wantEqual(t, name+" busy_timeout", busy, 5000)
	}
	// The read pool cannot write.
	if _, err := s.r.Exec(`INSERT INTO settings (key, value) VALUES ('x', 'y')`); err == nil {
		t.Fatal("write through the read pool succeeded")
	}

	// A bare path works too.
	bare := filepath.Join(dir, "bare.db")
	openT(t, bare)
	if _, err := os.Stat(bare); err != nil {
		t.Fatalf("bare path: %v", err)
	}
}

func TestMemoryIsShared(t *testing.T) {
	s := openT(t, "sqlite://:memory:")
	ctx := context.Background()
	// Many goroutines reading and writing must all see the one database.
	var wg sync.WaitGroup
	for i := range 10 {
		wg.Go(func() {
			if err := s.PutSetting(ctx, fmt.Sprint("k", i), "v"); err != nil {
				t.Error(err)
			}
			if _, err := s.GetSetting(ctx, fmt.Sprint("k", i)); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	wantEqual(t, "settings", count(t, s, `SELECT count(*) FROM settings`), 10)
}

func TestMigrationsRecordedOnce(t *testing.T) {
	ctx := context.Background()
	dsn := fileDSN(t)
	ms, err := loadMigrations(migrationFiles)
	must(t, err)
	if ms[0].version != 1 || ms[0].name != "0001_init.sql" {
		t.Fatalf("first migration %d %s", ms[0].version, ms[0].name)
	}
	read := func() map[int]int64 {
		s, err := Open(ctx, dsn)
		must(t, err)
		defer s.Close()
		rows, err := s.r.Query(`SELECT version, applied_at FROM schema_migrations`)
		must(t, err)
		defer rows.Close()
		got := map[int]int64{}
		for rows.Next() {
			var v int
			var at int64
			must(t, rows.Scan(&v, &at))
			got[v] = at
		}
		must(t, rows.Err())
		return got
	}
	first := read()
	if len(first) != len(ms) {
		t.Fatalf("recorded %v, want %d migrations", first, len(ms))
	}
	for _, m := range ms {
		if first[m.version] <= 0 {
			t.Fatalf("migration %d not recorded with a time: %v", m.version, first)
		}
	}
	wantEqual(t, "migrations after re-open", read(), first)
}

func TestMigrationsApplyOnlyNew(t *testing.T) {
	ctx := context.Background()
	dsn := fileDSN(t)
	v1 := fstest.MapFS{
		"migrations/0001_a.sql": {Data: []byte(`CREATE TABLE a (x INTEGER); INSERT INTO a VALUES (1);`)},
	}
	s, err := open(ctx, dsn, v1)
	must(t, err)
	s.Close()

	v2 := fstest.MapFS{
		"migrations/0001_a.sql": v1["migrations/0001_a.sql"],
		// Out of name order on purpose: versions, not names, decide.
		"migrations/0010_c.sql": {Data: []byte(`INSERT INTO b VALUES (10);`)},
		"migrations/0002_b.sql": {Data: []byte(`CREATE TABLE b (y INTEGER);
			INSERT INTO b VALUES (2);`)},
	}
	s, err = open(ctx, dsn, v2)
	must(t, err)
	defer s.Close()
	// 0001 ran once (one row in a), 0002 then 0010 ran.
	wantEqual(t, "rows in a", count(t, s, `SELECT count(*) FROM a`), 1)
	wantEqual(t, "rows in b", count(t, s, `SELECT count(*) FROM b`), 2)
	wantEqual(t, "b ordered", count(t, s, `SELECT y FROM b ORDER BY rowid LIMIT 1`), 2)
	wantEqual(t, "versions", count(t, s, `SELECT group_concat(version) = '1,2,10' FROM
		(SELECT version FROM schema_migrations ORDER BY version)`), 1)
}

func TestMigrationFailureRollsBack(t *testing.T) {
	ctx := context.Background()
	dsn := fileDSN(t)
	bad := fstest.MapFS{
		"migrations/0001_a.sql": {Data: []byte(`CREATE TABLE a (x INTEGER);`)},
		"migrations/0002_b.sql": {Data: []byte(`CREATE TABLE b (y INTEGER); INSERT INTO nowhere VALUES (1);`)},
	}
	if _, err := open(ctx, dsn, bad); err == nil || !strings.Contains(err.Error(), "0002_b.sql") {
		t.Fatalf("open with a failing migration: %v", err)
	}
	good := fstest.MapFS{"migrations/0001_a.sql": bad["migrations/0001_a.sql"]}
	s, err := open(ctx, dsn, good)
	must(t, err)
	defer s.Close()
	wantEqual(t, "recorded versions", count(t, s, `SELECT count(*) FROM schema_migrations`), 1)
	wantEqual(t, "table b left behind", count(t, s, `SELECT count(*) FROM sqlite_schema WHERE name = 'b'`), 0)
}

func TestLoadMigrationsRejectsBadNames(t *testing.T) {
	for name, fsys := range map[string]fstest.MapFS{
		"no number": {"migrations/init.sql": {}},
		"zero":      {"migrations/0000_x.sql": {}},
		"duplicate": {"migrations/0001_a.sql": {}, "migrations/01_b.sql": {}},
		"none":      {},
	} {
		if _, err := loadMigrations(fsys); err == nil {
			t.Errorf("%s: loadMigrations succeeded", name)
		}
	}
}

func TestRefuseNewerSchema(t *testing.T) {
	ctx := context.Background()
	dsn := fileDSN(t)
	s := openT(t, dsn)
	_, err := s.w.Exec(`INSERT INTO schema_migrations (version, applied_at) VALUES (9999, 1)`)
	must(t, err)
	must(t, s.Close())

	_, err = Open(ctx, dsn)
	if err == nil {
		t.Fatal("Open accepted a database with an unknown schema version")
	}
	for _, want := range []string{"9999", "newer"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not mention %q", err, want)
		}
	}
}

func TestAgents(t *testing.T) {
	eachDB(t, func(t *testing.T, s *SQLite) {
		ctx := context.Background()
		for _, q := range []string{"support", "sales", "billing"} {
			must(t, s.PutQueue(ctx, Queue{ID: "q-" + q, Name: q}))
		}
		ada := Agent{
			ID: "a1", Name: "Ada", TokenHash: "hash-ada", Status: StatusAvailable, Capacity: 3,
			WrapUp: 45 * time.Second, Managed: true,
			Queues: []string{"q-support", "q-billing", "q-support"},
		}
		must(t, s.PutAgent(ctx, ada))
		// Zero values everywhere, no token.
		must(t, s.PutAgent(ctx, Agent{ID: "a2"}))
		must(t, s.PutAgent(ctx, Agent{ID: "a3", Name: "Bob"})) // two agents without token: no conflict

		want := ada
		want.Queues = []string{"q-billing", "q-support"}
		want.CreatedAt, want.UpdatedAt = t0, t0
		got, err := s.GetAgent(ctx, "a1")
		must(t, err)
		wantEqual(t, "GetAgent", got, want)

		got, err = s.AgentByTokenHash(ctx, "hash-ada")
		must(t, err)
		wantEqual(t, "AgentByTokenHash", got, want)

		zero, err := s.GetAgent(ctx, "a2")
		must(t, err)
		wantEqual(t, "zero agent", zero, Agent{ID: "a2", Queues: []string{}, CreatedAt: t0, UpdatedAt: t0})

		list, err := s.ListAgents(ctx)
		must(t, err)
		if len(list) != 3 || list[0].ID != "a2" || list[1].ID != "a1" || list[2].ID != "a3" {
			t.Fatalf("ListAgents not ordered by name: %+v", list)
		}
		wantEqual(t, "listed agent", list[1], want)

		// Replace: membership replaced, CreatedAt kept, UpdatedAt now.
		later := t0.Add(time.Minute)
		s.now = func() time.Time { return later }
		ada.Queues = []string{"q-sales"}
		ada.Status = StatusAway
		ada.WrapUp = 0
		ada.CreatedAt = later // ignored on update
		must(t, s.PutAgent(ctx, ada))
		got, err = s.GetAgent(ctx, "a1")
		must(t, err)
		want = ada
		want.CreatedAt, want.UpdatedAt = t0, later
		wantEqual(t, "replaced agent", got, want)

		// A new agent with its own CreatedAt keeps it.
		created := time.Date(2024, 1, 2, 3, 4, 5, 0, time.UTC)
		must(t, s.PutAgent(ctx, Agent{ID: "a4", CreatedAt: created}))
		got, err = s.GetAgent(ctx, "a4")
		must(t, err)
		wantEqual(t, "given CreatedAt", got.CreatedAt, created)
	})
}

func TestAgentErrors(t *testing.T) {
	eachDB(t, func(t *testing.T, s *SQLite) {
		ctx := context.Background()
		must(t, s.PutQueue(ctx, Queue{ID: "q1", Name: "support"}))
		must(t, s.PutAgent(ctx, Agent{ID: "a1", TokenHash: "h1", Queues: []string{"q1"}}))

		_, err := s.GetAgent(ctx, "nobody")
		wantErr(t, err, ErrNotFound)
		_, err = s.AgentByTokenHash(ctx, "nope")
		wantErr(t, err, ErrNotFound)
		_, err = s.AgentByTokenHash(ctx, "")
		wantErr(t, err, ErrNotFound)
		wantErr(t, s.DeleteAgent(ctx, "nobody"), ErrNotFound)
		wantErr(t, s.PutAgentState(ctx, AgentState{AgentID: "nobody"}), ErrNotFound)

		// A token hash used twice.
		wantErr(t, s.PutAgent(ctx, Agent{ID: "a2", TokenHash: "h1"}), ErrConflict)
		if _, err := s.GetAgent(ctx, "a2"); !errors.Is(err, ErrNotFound) {
			t.Fatalf("conflicting agent was stored: %v", err)
		}

		// An unknown queue fails the whole Put: nothing changes.
		err = s.PutAgent(ctx, Agent{ID: "a1", Name: "changed", TokenHash: "h1", Queues: []string{"q1", "q-missing"}})
		wantErr(t, err, ErrNotFound)
		if !strings.Contains(err.Error(), "q-missing") {
			t.Errorf("error %q does not name the queue", err)
		}
		got, err := s.GetAgent(ctx, "a1")
		must(t, err)
		if got.Name != "" || !reflect.DeepEqual(got.Queues, []string{"q1"}) {
			t.Fatalf("failed PutAgent changed the agent: %+v", got)
		}
		wantErr(t, s.PutAgent(ctx, Agent{ID: "a3", Queues: []string{"q-missing"}}), ErrNotFound)
		if _, err := s.GetAgent(ctx, "a3"); !errors.Is(err, ErrNotFound) {
			t.Fatalf("agent of a failed PutAgent was stored: %v", err)
		}

		if err := s.PutAgent(ctx, Agent{}); err == nil {
			t.Fatal("PutAgent without id succeeded")
		}
	})
}

func TestDeleteAgentRemovesStateAndMembership(t *testing.T) {
	eachDB(t, func(t *testing.T, s *SQLite) {
		ctx := context.Background()
		must(t, s.PutQueue(ctx, Queue{ID: "q1", Name: "support"}))
		must(t, s.PutAgent(ctx, Agent{ID: "a1", Queues: []string{"q1"}}))
		must(t, s.PutAgent(ctx, Agent{ID: "a2", Queues: []string{"q1"}}))
		must(t, s.PutAgentState(ctx, AgentState{AgentID: "a1", System: "on_call"}))
		must(t, s.PutAgentState(ctx, AgentState{AgentID: "a2"}))

		must(t, s.DeleteAgent(ctx, "a1"))
		_, err := s.GetAgent(ctx, "a1")
		wantErr(t, err, ErrNotFound)
		wantEqual(t, "a1 memberships", count(t, s, `SELECT count(*) FROM agent_queues WHERE agent_id = 'a1'`), 0)
		states, err := s.ListAgentStates(ctx)
		must(t, err)
		wantEqual(t, "states", states, []AgentState{{AgentID: "a2"}})
		a2, err := s.GetAgent(ctx, "a2")
		must(t, err)
		wantEqual(t, "a2 queues", a2.Queues, []string{"q1"})
	})
}

func TestAgentStates(t *testing.T) {
	eachDB(t, func(t *testing.T, s *SQLite) {
		ctx := context.Background()
		must(t, s.PutAgent(ctx, Agent{ID: "a1"}))
		must(t, s.PutAgent(ctx, Agent{ID: "a2"}))

		paris, err := time.LoadLocation("Europe/Paris")
		if err != nil {
			paris = time.FixedZone("CET", 3600)
		}
		st := AgentState{
			AgentID: "a1", System: "ringing",
			StatusSince:   t0,
			LastHeartbeat: t0.Add(2 * time.Second).In(paris),
			RingingUntil:  t0.Add(30*time.Second + 456_789*time.Nanosecond), // below ms: dropped
			WrapUpUntil:   time.Time{},
			LastCallEnded: t0.Add(-time.Hour),
			LastOffered:   t0.Add(-time.Minute),
			CallsTaken:    7,
			TalkTime:      12*time.Minute + 345*time.Millisecond,
			CallID:        "call-1",
		}
		must(t, s.PutAgentState(ctx, st))
		must(t, s.PutAgentState(ctx, AgentState{AgentID: "a2"})) // all zero

		want := st
		want.LastHeartbeat = t0.Add(2 * time.Second)
		want.RingingUntil = t0.Add(30 * time.Second)
		states, err := s.ListAgentStates(ctx)
		must(t, err)
		wantEqual(t, "states", states, []AgentState{want, {AgentID: "a2"}})
		if !states[1].StatusSince.IsZero() || !states[0].WrapUpUntil.IsZero() {
			t.Fatal("zero times did not come back zero")
		}

		// Replace.
		st = AgentState{AgentID: "a1", System: "wrap_up", WrapUpUntil: t0.Add(time.Minute), CallsTaken: 8}
		must(t, s.PutAgentState(ctx, st))
		states, err = s.ListAgentStates(ctx)
		must(t, err)
		wantEqual(t, "replaced state", states[0], st)
	})
}

func TestQueues(t *testing.T) {
	eachDB(t, func(t *testing.T, s *SQLite) {
		ctx := context.Background()
		support := Queue{
			ID: "q1", Name: "support", AutoAssign: true, Strategy: "round_robin",
			RingTimeout: 30 * time.Second, WrapUp: 30 * time.Second, WaitingStrategy: "default",
			Priority: 5, ServiceLevel: 20 * time.Second, Managed: true,
		}
		must(t, s.PutQueue(ctx, support))
		must(t, s.PutQueue(ctx, Queue{ID: "q0", Name: "Default"}))

		got, err := s.GetQueue(ctx, "q1")
		must(t, err)
		want := support
		want.CreatedAt, want.UpdatedAt = t0, t0
		wantEqual(t, "GetQueue", got, want)

		list, err := s.ListQueues(ctx)
		must(t, err)
		wantEqual(t, "ListQueues", list, []Queue{{ID: "q0", Name: "Default", CreatedAt: t0, UpdatedAt: t0}, want})

		wantErr(t, s.PutQueue(ctx, Queue{ID: "q2", Name: "support"}), ErrConflict)
		wantErr(t, s.PutQueue(ctx, Queue{ID: "q0", Name: "support"}), ErrConflict) // rename onto a taken name
		_, err = s.GetQueue(ctx, "q2")
		wantErr(t, err, ErrNotFound)
		if err := s.PutQueue(ctx, Queue{ID: "q3"}); err == nil {
			t.Fatal("queue without a name accepted")
		}

		// Update, then delete.
		support.AutoAssign = false
		support.RingTimeout = 0
		must(t, s.PutQueue(ctx, support))
		got, err = s.GetQueue(ctx, "q1")
		must(t, err)
		if got.AutoAssign || got.RingTimeout != 0 {
			t.Fatalf("queue not updated: %+v", got)
		}
		must(t, s.DeleteQueue(ctx, "q1"))
		_, err = s.GetQueue(ctx, "q1")
		wantErr(t, err, ErrNotFound)
		wantErr(t, s.DeleteQueue(ctx, "q1"), ErrNotFound)
		// The name is free again.
		must(t, s.PutQueue(ctx, Queue{ID: "q2", Name: "support"}))
	})
}

func TestDeleteQueueRemovesMembership(t *testing.T) {
	eachDB(t, func(t *testing.T, s *SQLite) {
		ctx := context.Background()
		must(t, s.PutQueue(ctx, Queue{ID: "q1", Name: "support"}))
		must(t, s.PutQueue(ctx, Queue{ID: "q2", Name: "sales"}))
		must(t, s.PutAgent(ctx, Agent{ID: "a1", Queues: []string{"q1", "q2"}}))
		must(t, s.DeleteQueue(ctx, "q1"))
		a, err := s.GetAgent(ctx, "a1")
		must(t, err)
		wantEqual(t, "queues after DeleteQueue", a.Queues, []string{"q2"})
		wantEqual(t, "q1 memberships", count(t, s, `SELECT count(*) FROM agent_queues WHERE queue_id = 'q1'`), 0)
	})
}

func TestConversations(t *testing.T) {
	eachDB(t, func(t *testing.T, s *SQLite) {
		ctx := context.Background()
		c := Conversation{
			ID: "c1", CustomerNumber: "+442071234567", CustomerName: "Grace", Queue: "q1", AgentID: "a1",
			Status: ConversationOpen, Notes: "called about an invoice", CreatedAt: t0.Add(-time.Hour),
		}
		must(t, s.PutConversation(ctx, c))
		got, err := s.GetConversation(ctx, "c1")
		must(t, err)
		want := c
		want.UpdatedAt = t0
		wantEqual(t, "GetConversation", got, want)

		_, err = s.GetConversation(ctx, "missing")
		wantErr(t, err, ErrNotFound)
		if err := s.PutConversation(ctx, Conversation{}); err == nil {
			t.Fatal("conversation without id accepted")
		}

		// Zero values: CreatedAt stamped, the rest empty.
		must(t, s.PutConversation(ctx, Conversation{ID: "c0"}))
		got, err = s.GetConversation(ctx, "c0")
		must(t, err)
		wantEqual(t, "zero conversation", got, Conversation{ID: "c0", CreatedAt: t0, UpdatedAt: t0})
	})
}

func TestOpenConversation(t *testing.T) {
	eachDB(t, func(t *testing.T, s *SQLite) {
		ctx := context.Background()
		const num = "+15550100"
		put := func(id, status string, age time.Duration) {
			t.Helper()
			must(t, s.PutConversation(ctx, Conversation{ID: id, CustomerNumber: num, Status: status,
				CreatedAt: t0.Add(-age)}))
		}
		put("old-open", ConversationOpen, 3*time.Hour)
		put("mid-solved", ConversationSolved, 2*time.Hour)
		put("new-closed", ConversationClosed, time.Hour)
		must(t, s.PutConversation(ctx, Conversation{ID: "other", CustomerNumber: "+15550199",
			Status: ConversationOpen, CreatedAt: t0}))

		c, err := s.OpenConversation(ctx, num)
		must(t, err)
		wantEqual(t, "open conversation", c.ID, "mid-solved")

		put("mid-solved", ConversationClosed, 2*time.Hour)
		c, err = s.OpenConversation(ctx, num)
		must(t, err)
		wantEqual(t, "open conversation", c.ID, "old-open")

		put("old-open", ConversationClosed, 3*time.Hour)
		_, err = s.OpenConversation(ctx, num)
		wantErr(t, err, ErrNotFound)
		_, err = s.OpenConversation(ctx, "+10000000")
		wantErr(t, err, ErrNotFound)
	})
}

func TestListConversations(t *testing.T) {
	eachDB(t, func(t *testing.T, s *SQLite) {
		ctx := context.Background()
		empty, err := s.ListConversations(ctx, 10)
		must(t, err)
		if empty == nil || len(empty) != 0 {
			t.Fatalf("empty list: %#v", empty)
		}
		for i := range 5 {
			must(t, s.PutConversation(ctx, Conversation{ID: fmt.Sprint("c", i), CreatedAt: t0.Add(time.Duration(i) * time.Minute)}))
		}
		ids := func(cs []Conversation) (out []string) {
			for _, c := range cs {
				out = append(out, c.ID)
			}
			return out
		}
		list, err := s.ListConversations(ctx, 2)
		must(t, err)
		wantEqual(t, "newest two", ids(list), []string{"c4", "c3"})
		list, err = s.ListConversations(ctx, 0)
		must(t, err)
		wantEqual(t, "all", ids(list), []string{"c4", "c3", "c2", "c1", "c0"})
	})
}

func TestEvents(t *testing.T) {
	eachDB(t, func(t *testing.T, s *SQLite) {
		ctx := context.Background()
		must(t, s.PutConversation(ctx, Conversation{ID: "c1"}))
		must(t, s.PutConversation(ctx, Conversation{ID: "c2"}))

		id1, err := s.AddEvent(ctx, Event{ID: 999, ConversationID: "c1", At: t0, Type: "queued",
			Data: json.RawMessage(`{"queue": "support", "position": 1}`)})
		must(t, err)
		id2, err := s.AddEvent(ctx, Event{ConversationID: "c2", Type: "queued"}) // At stamped
		must(t, err)
		id3, err := s.AddEvent(ctx, Event{ConversationID: "c1", At: t0.Add(time.Second), Type: "answered"})
		must(t, err)
		if !(id1 < id2 && id2 < id3) || id1 == 999 {
			t.Fatalf("event ids %d %d %d", id1, id2, id3)
		}

		events, err := s.ListEvents(ctx, "c1")
		must(t, err)
		wantEqual(t, "events of c1", events, []Event{
			{ID: id1, ConversationID: "c1", At: t0, Type: "queued",
				Data: json.RawMessage(`{"queue": "support", "position": 1}`)},
			{ID: id3, ConversationID: "c1", At: t0.Add(time.Second), Type: "answered"},
		})
		events, err = s.ListEvents(ctx, "c2")
		must(t, err)
		wantEqual(t, "events of c2", events, []Event{{ID: id2, ConversationID: "c2", At: t0, Type: "queued"}})
		events, err = s.ListEvents(ctx, "none")
		must(t, err)
		wantEqual(t, "no events", events, []Event{})

		_, err = s.AddEvent(ctx, Event{ConversationID: "missing", Type: "queued"})
		wantErr(t, err, ErrNotFound)
		if _, err := s.AddEvent(ctx, Event{ConversationID: "c1", Data: json.RawMessage(`{bad`)}); err == nil {
			t.Fatal("invalid JSON accepted")
		}
	})
}

func TestCallRecords(t *testing.T) {
	eachDB(t, func(t *testing.T, s *SQLite) {
		ctx := context.Background()
		done := CallRecord{
			ID: "call-1", ConversationID: "c1", Queue: "q1", AgentID: "a1", Trunk: "carrier-a",
			From: "+15550100", To: "+442071234567", Priority: 2,
			Enqueued: t0, Answered: t0.Add(12 * time.Second), Ended: t0.Add(5 * time.Minute), Result: "answered",
		}
		waiting := CallRecord{ID: "call-2", Queue: "q1", From: "+15550101", Enqueued: t0.Add(time.Minute)}
		ringing := CallRecord{ID: "call-3", Queue: "q1", Enqueued: t0.Add(2 * time.Minute)}
		old := CallRecord{ID: "call-0", Enqueued: t0.Add(-24 * time.Hour), Ended: t0.Add(-23 * time.Hour), Result: "abandoned"}
		for _, r := range []CallRecord{ringing, done, old, waiting} {
			must(t, s.PutCallRecord(ctx, r))
		}

		got, err := s.GetCallRecord(ctx, "call-1")
		must(t, err)
		wantEqual(t, "GetCallRecord", got, done)
		got, err = s.GetCallRecord(ctx, "call-2")
		must(t, err)
		wantEqual(t, "GetCallRecord zero times", got, waiting)
		if !got.Answered.IsZero() || !got.Ended.IsZero() {
			t.Fatal("zero times not zero")
		}
		_, err = s.GetCallRecord(ctx, "missing")
		wantErr(t, err, ErrNotFound)

		list := func(since time.Time, live bool) (ids []string) {
			t.Helper()
			rs, err := s.ListCallRecords(ctx, since, live)
			must(t, err)
			for _, r := range rs {
				ids = append(ids, r.ID)
			}
			return ids
		}
		wantEqual(t, "all", list(time.Time{}, false), []string{"call-0", "call-1", "call-2", "call-3"})
		wantEqual(t, "since t0", list(t0, false), []string{"call-1", "call-2", "call-3"})
		wantEqual(t, "since after t0", list(t0.Add(time.Millisecond), false), []string{"call-2", "call-3"})
		wantEqual(t, "live", list(time.Time{}, true), []string{"call-2", "call-3"})
		wantEqual(t, "live since", list(t0.Add(2*time.Minute), true), []string{"call-3"})
		wantEqual(t, "none", list(t0.Add(time.Hour), false), []string(nil))

		// The call ends: it is no longer live.
		waiting.Answered, waiting.Ended, waiting.Result = t0.Add(90*time.Second), t0.Add(3*time.Minute), "answered"
		must(t, s.PutCallRecord(ctx, waiting))
		wantEqual(t, "live after end", list(time.Time{}, true), []string{"call-3"})
		got, err = s.GetCallRecord(ctx, "call-2")
		must(t, err)
		wantEqual(t, "updated record", got, waiting)
	})
}

func TestWaitingStrategies(t *testing.T) {
	eachDB(t, func(t *testing.T, s *SQLite) {
		ctx := context.Background()
		w := WaitingStrategy{ID: "w1", Name: "default", Managed: true,
			Spec: json.RawMessage(`{"max_wait":"5m","hold_music":{"enabled":true}}`)}
		must(t, s.PutWaitingStrategy(ctx, w))
		must(t, s.PutWaitingStrategy(ctx, WaitingStrategy{ID: "w0", Name: "after-hours"}))

		got, err := s.GetWaitingStrategy(ctx, "w1")
		must(t, err)
		want := w
		want.CreatedAt, want.UpdatedAt = t0, t0
		wantEqual(t, "GetWaitingStrategy", got, want)

		list, err := s.ListWaitingStrategies(ctx)
		must(t, err)
		wantEqual(t, "list", list, []WaitingStrategy{{ID: "w0", Name: "after-hours", CreatedAt: t0, UpdatedAt: t0}, want})

		wantErr(t, s.PutWaitingStrategy(ctx, WaitingStrategy{ID: "w2", Name: "default"}), ErrConflict)
		if err := s.PutWaitingStrategy(ctx, WaitingStrategy{ID: "w3", Name: "x", Spec: json.RawMessage(`nope`)}); err == nil {
			t.Fatal("invalid spec accepted")
		}
		_, err = s.GetWaitingStrategy(ctx, "w2")
		wantErr(t, err, ErrNotFound)

		w.Spec = json.RawMessage(`{"max_wait":"10m"}`)
		must(t, s.PutWaitingStrategy(ctx, w))
		got, err = s.GetWaitingStrategy(ctx, "w1")
		must(t, err)
		wantEqual(t, "updated spec", string(got.Spec), `{"max_wait":"10m"}`)

		must(t, s.DeleteWaitingStrategy(ctx, "w1"))
		_, err = s.GetWaitingStrategy(ctx, "w1")
		wantErr(t, err, ErrNotFound)
		wantErr(t, s.DeleteWaitingStrategy(ctx, "w1"), ErrNotFound)
	})
}

func TestSettings(t *testing.T) {
	eachDB(t, func(t *testing.T, s *SQLite) {
		ctx := context.Background()
		_, err := s.GetSetting(ctx, "recording.mode")
		wantErr(t, err, ErrNotFound)
		must(t, s.PutSetting(ctx, "recording.mode", "both"))
		must(t, s.PutSetting(ctx, "empty", ""))
		v, err := s.GetSetting(ctx, "recording.mode")
		must(t, err)
		wantEqual(t, "setting", v, "both")
		must(t, s.PutSetting(ctx, "recording.mode", "inbound"))
		v, err = s.GetSetting(ctx, "recording.mode")
		must(t, err)
		wantEqual(t, "replaced setting", v, "inbound")
		v, err = s.GetSetting(ctx, "empty")
		must(t, err)
		wantEqual(t, "empty setting", v, "")
		if err := s.PutSetting(ctx, "", "x"); err == nil {
			t.Fatal("empty key accepted")
		}
	})
}

func TestCanceledContext(t *testing.T) {
	s := openT(t, fileDSN(t))
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	wantErr(t, s.PutSetting(ctx, "k", "v"), context.Canceled)
	_, err := s.ListAgents(ctx)
	wantErr(t, err, context.Canceled)
	if _, err := Open(ctx, fileDSN(t)); !errors.Is(err, context.Canceled) {
		t.Fatalf("Open with a canceled context: %v", err)
	}
}

// TestRestart: everything written before Close is there after re-Open.
func TestRestart(t *testing.T) {
	ctx := context.Background()
	dsn := fileDSN(t)
	s := openT(t, dsn)
	must(t, s.PutQueue(ctx, Queue{ID: "q1", Name: "support", AutoAssign: true, RingTimeout: 20 * time.Second}))
	must(t, s.PutAgent(ctx, Agent{ID: "a1", Name: "Ada", TokenHash: "h", Capacity: 2, Queues: []string{"q1"}}))
	must(t, s.PutAgentState(ctx, AgentState{AgentID: "a1", System: "on_call", StatusSince: t0, CallID: "call-1"}))
	must(t, s.PutConversation(ctx, Conversation{ID: "c1", CustomerNumber: "+1555", Status: ConversationOpen}))
	_, err := s.AddEvent(ctx, Event{ConversationID: "c1", At: t0, Type: "answered", Data: json.RawMessage(`{}`)})
	must(t, err)
	must(t, s.PutCallRecord(ctx, CallRecord{ID: "call-1", ConversationID: "c1", Enqueued: t0, Answered: t0}))
	must(t, s.PutWaitingStrategy(ctx, WaitingStrategy{ID: "w1", Name: "default", Spec: json.RawMessage(`{"a":1}`)}))
	must(t, s.PutSetting(ctx, "k", "v"))

	type snapshot struct {
		Agents     []Agent
		States     []AgentState
		Queues     []Queue
		Convs      []Conversation
		Events     []Event
		Records    []CallRecord
		Strategies []WaitingStrategy
		Setting    string
	}
	take := func(s *SQLite) (snap snapshot) {
		t.Helper()
		var err error
		snap.Agents, err = s.ListAgents(ctx)
		must(t, err)
		snap.States, err = s.ListAgentStates(ctx)
		must(t, err)
		snap.Queues, err = s.ListQueues(ctx)
		must(t, err)
		snap.Convs, err = s.ListConversations(ctx, 0)
		must(t, err)
		snap.Events, err = s.ListEvents(ctx, "c1")
		must(t, err)
		snap.Records, err = s.ListCallRecords(ctx, time.Time{}, false)
		must(t, err)
		snap.Strategies, err = s.ListWaitingStrategies(ctx)
		must(t, err)
		snap.Setting, err = s.GetSetting(ctx, "k")
		must(t, err)
		return snap
	}
	before := take(s)
	if len(before.Agents) != 1 || len(before.States) != 1 || len(before.Events) != 1 || len(before.Records) != 1 {
		t.Fatalf("snapshot before restart incomplete: %+v", before)
	}
	must(t, s.Close())

	after := take(openT(t, dsn))
	wantEqual(t, "after restart", after, before)
}

// TestConcurrentWriters: writers in several goroutines, with readers
// alongside, lose nothing and do not fail on locks.
func TestConcurrentWriters(t *testing.T) {
	eachDB(t, func(t *testing.T, s *SQLite) {
		ctx := context.Background()
		const workers, each = 8, 40
		must(t, s.PutQueue(ctx, Queue{ID: "q1", Name: "support"}))
		must(t, s.PutConversation(ctx, Conversation{ID: "c1"}))
		var wg sync.WaitGroup
		for w := range workers {
			wg.Go(func() {
				agent := fmt.Sprint("a", w)
				if err := s.PutAgent(ctx, Agent{ID: agent, TokenHash: agent, Queues: []string{"q1"}}); err != nil {
					t.Error(err)
					return
				}
				for i := range each {
					errs := []error{
						s.PutAgentState(ctx, AgentState{AgentID: agent, CallsTaken: i + 1}),
						s.PutCallRecord(ctx, CallRecord{ID: fmt.Sprint(agent, "-", i), AgentID: agent, Enqueued: t0}),
					}
					_, err := s.AddEvent(ctx, Event{ConversationID: "c1", Type: "tick"})
					errs = append(errs, err)
					_, err = s.ListAgents(ctx)
					errs = append(errs, err)
					if err := errors.Join(errs...); err != nil {
						t.Error(err)
						return
					}
				}
			})
		}
		wg.Wait()
		if t.Failed() {
			return
		}
		agents, err := s.ListAgents(ctx)
		must(t, err)
		wantEqual(t, "agents", len(agents), workers)
		states, err := s.ListAgentStates(ctx)
		must(t, err)
		for _, st := range states {
			if st.CallsTaken != each {
				t.Errorf("agent %s: CallsTaken %d, want %d", st.AgentID, st.CallsTaken, each)
			}
		}
		records, err := s.ListCallRecords(ctx, time.Time{}, false)
		must(t, err)
		wantEqual(t, "call records", len(records), workers*each)
		events, err := s.ListEvents(ctx, "c1")
		must(t, err)
		wantEqual(t, "events", len(events), workers*each)
	})
}

// TestTwoOpens: two Opens of one file (as two processes would) write at
// the same time; busy_timeout and IMMEDIATE transactions keep both going.
func TestTwoOpens(t *testing.T) {
	dsn := fileDSN(t)
	stores := []*SQLite{openT(t, dsn), openT(t, dsn)}
	ctx := context.Background()
	must(t, stores[0].PutQueue(ctx, Queue{ID: "q1", Name: "support"}))
	var wg sync.WaitGroup
	for n, s := range stores {
		wg.Go(func() {
			for i := range 50 {
				id := fmt.Sprint("a", n, "-", i)
				if err := s.PutAgent(ctx, Agent{ID: id, TokenHash: id, Queues: []string{"q1"}}); err != nil {
					t.Error(err)
					return
				}
			}
		})
	}
	wg.Wait()
	for _, s := range stores {
		agents, err := s.ListAgents(ctx)
		must(t, err)
		wantEqual(t, "agents", len(agents), 100)
	}
}

func BenchmarkPutAgentState(b *testing.B) {
	for _, dsn := range []struct{ name, dsn string }{
		{"memory", "sqlite://:memory:"},
		{"file", fileDSN(b)},
	} {
		b.Run(dsn.name, func(b *testing.B) {
			s := openT(b, dsn.dsn)
			ctx := context.Background()
			must(b, s.PutAgent(ctx, Agent{ID: "a1"}))
			st := AgentState{AgentID: "a1", System: "on_call", StatusSince: t0, LastHeartbeat: t0, CallID: "c"}
			for i := 0; b.Loop(); i++ {
				st.CallsTaken = i
				if err := s.PutAgentState(ctx, st); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// TestMigrationIdsAreNames: a database of the first schema, with the Default
// queue named "Default" and a queue and a waiting strategy the API made with
// random ids, opens with queues and strategies whose ids are their names,
// memberships and history following; a queue whose name is not a valid id
// keeps its id.
func TestMigrationIdsAreNames(t *testing.T) {
	ctx := context.Background()
	dsn := fileDSN(t)
	initSQL, err := migrationFiles.ReadFile("migrations/0001_init.sql")
	must(t, err)
	s, err := open(ctx, dsn, fstest.MapFS{"migrations/0001_init.sql": {Data: initSQL}})
	must(t, err)
	for _, q := range []string{
		`INSERT INTO queues (id, name, waiting_strategy) VALUES ('default', 'Default', ''), ('0b6f-uuid', 'sales', '9a2d-uuid'),
			('7c1e-uuid', 'Sales Team', 'quiet'), ('support', 'support', '5e0f-uuid')`,
		`INSERT INTO agents (id, name) VALUES ('ann', 'Ann')`,
		`INSERT INTO agent_queues (agent_id, queue_id) VALUES ('ann', '0b6f-uuid'), ('ann', 'support'), ('ann', '7c1e-uuid')`,
		`INSERT INTO conversations (id, queue) VALUES ('c1', '0b6f-uuid')`,
		`INSERT INTO call_records (id, queue) VALUES ('call1', '0b6f-uuid')`,
		`INSERT INTO waiting_strategies (id, name) VALUES ('9a2d-uuid', 'quiet'), ('5e0f-uuid', 'Long Hold')`,
	} {
		_, err := s.w.Exec(q)
		must(t, err)
	}
	must(t, s.Close())

	s = openT(t, dsn)
	queues, err := s.ListQueues(ctx)
	must(t, err)
	var got []string
	for _, q := range queues {
		got = append(got, q.ID+"="+q.Name)
	}
	wantEqual(t, "queues", got, []string{"7c1e-uuid=Sales Team", "default=default", "sales=sales", "support=support"})
	ann, err := s.GetAgent(ctx, "ann")
	must(t, err)
	wantEqual(t, "ann's queues", ann.Queues, []string{"7c1e-uuid", "sales", "support"})
	conv, err := s.GetConversation(ctx, "c1")
	must(t, err)
	wantEqual(t, "conversation's queue", conv.Queue, "sales")
	rec, err := s.GetCallRecord(ctx, "call1")
	must(t, err)
	wantEqual(t, "call record's queue", rec.Queue, "sales")
	ws, err := s.GetWaitingStrategy(ctx, "quiet")
	must(t, err)
	wantEqual(t, "waiting strategy", ws.ID+"="+ws.Name, "quiet=quiet")
	ws, err = s.GetWaitingStrategy(ctx, "5e0f-uuid") // not a name a flow can use: keeps its id
	must(t, err)
	wantEqual(t, "waiting strategy with a name that is not an id", ws.Name, "Long Hold")
	var strategies []string
	for _, q := range queues {
		strategies = append(strategies, q.ID+":"+q.WaitingStrategy)
	}
	wantEqual(t, "queues' waiting strategies", strategies,
		[]string{"7c1e-uuid:quiet", "default:", "sales:quiet", "support:5e0f-uuid"})
	wantEqual(t, "foreign key problems", count(t, s, `SELECT count(*) FROM pragma_foreign_key_check`), 0)
}

func TestPrompts(t *testing.T) {
	eachDB(t, func(t *testing.T, s *SQLite) {
		ctx := context.Background()
		p := Prompt{ID: "p-1", Name: "welcome.mp3", Format: ".mp3", Size: 1234, Duration: 1500 * time.Millisecond}
		must(t, s.AddPrompt(ctx, p))
		wantErr(t, s.AddPrompt(ctx, p), ErrConflict)
		got, err := s.GetPrompt(ctx, "p-1")
		must(t, err)
		want := p
		want.CreatedAt = t0
		wantEqual(t, "GetPrompt", got, want)
		list, err := s.ListPrompts(ctx)
		must(t, err)
		wantEqual(t, "ListPrompts", list, []Prompt{want})
		must(t, s.DeletePrompt(ctx, "p-1"))
		wantErr(t, s.DeletePrompt(ctx, "p-1"), ErrNotFound)
		_, err = s.GetPrompt(ctx, "p-1")
		wantErr(t, err, ErrNotFound)
	})
}
