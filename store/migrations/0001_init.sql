-- 0001: the first schema.
-- Times are unix milliseconds UTC (0 = never), durations are milliseconds,
-- booleans are 0/1, JSON is TEXT.

CREATE TABLE queues (
    id               TEXT    NOT NULL PRIMARY KEY,
    name             TEXT    NOT NULL UNIQUE,
    auto_assign      INTEGER NOT NULL DEFAULT 0 CHECK (auto_assign IN (0, 1)),
    strategy         TEXT    NOT NULL DEFAULT '',
    ring_timeout_ms  INTEGER NOT NULL DEFAULT 0,
    wrap_up_ms       INTEGER NOT NULL DEFAULT 0,
    waiting_strategy TEXT    NOT NULL DEFAULT '',
    priority         INTEGER NOT NULL DEFAULT 0,
    service_level_ms INTEGER NOT NULL DEFAULT 0,
    managed          INTEGER NOT NULL DEFAULT 0 CHECK (managed IN (0, 1)),
    created_at       INTEGER NOT NULL DEFAULT 0,
    updated_at       INTEGER NOT NULL DEFAULT 0
) STRICT;

CREATE TABLE agents (
    id         TEXT    NOT NULL PRIMARY KEY,
    name       TEXT    NOT NULL DEFAULT '',
    token_hash TEXT    UNIQUE, -- NULL when the agent has no token
    status     TEXT    NOT NULL DEFAULT '',
    capacity   INTEGER NOT NULL DEFAULT 0,
    wrap_up_ms INTEGER NOT NULL DEFAULT 0,
    managed    INTEGER NOT NULL DEFAULT 0 CHECK (managed IN (0, 1)),
    created_at INTEGER NOT NULL DEFAULT 0,
    updated_at INTEGER NOT NULL DEFAULT 0
) STRICT;

CREATE TABLE agent_queues (
    agent_id TEXT NOT NULL REFERENCES agents (id) ON DELETE CASCADE,
    queue_id TEXT NOT NULL REFERENCES queues (id) ON DELETE CASCADE,
    PRIMARY KEY (agent_id, queue_id)
) STRICT, WITHOUT ROWID;

CREATE INDEX agent_queues_queue ON agent_queues (queue_id);

CREATE TABLE agent_states (
    agent_id        TEXT    NOT NULL PRIMARY KEY REFERENCES agents (id) ON DELETE CASCADE,
    system          TEXT    NOT NULL DEFAULT '',
    status_since    INTEGER NOT NULL DEFAULT 0,
    last_heartbeat  INTEGER NOT NULL DEFAULT 0,
    ringing_until   INTEGER NOT NULL DEFAULT 0,
    wrap_up_until   INTEGER NOT NULL DEFAULT 0,
    last_call_ended INTEGER NOT NULL DEFAULT 0,
    last_offered    INTEGER NOT NULL DEFAULT 0,
    calls_taken     INTEGER NOT NULL DEFAULT 0,
    talk_time_ms    INTEGER NOT NULL DEFAULT 0,
    call_id         TEXT    NOT NULL DEFAULT ''
) STRICT;

-- Conversations, events and call records are history: they keep the queue and
-- agent ids as they were, without foreign keys, so deleting an agent or a
-- queue leaves them alone.
CREATE TABLE conversations (
    id              TEXT    NOT NULL PRIMARY KEY,
    customer_number TEXT    NOT NULL DEFAULT '',
    customer_name   TEXT    NOT NULL DEFAULT '',
    queue           TEXT    NOT NULL DEFAULT '',
    agent_id        TEXT    NOT NULL DEFAULT '',
    status          TEXT    NOT NULL DEFAULT '',
    notes           TEXT    NOT NULL DEFAULT '',
    created_at      INTEGER NOT NULL DEFAULT 0,
    updated_at      INTEGER NOT NULL DEFAULT 0
) STRICT;

CREATE INDEX conversations_customer ON conversations (customer_number, created_at);
CREATE INDEX conversations_created ON conversations (created_at);

CREATE TABLE conversation_events (
    id              INTEGER NOT NULL PRIMARY KEY AUTOINCREMENT,
    conversation_id TEXT    NOT NULL REFERENCES conversations (id) ON DELETE CASCADE,
    at              INTEGER NOT NULL DEFAULT 0,
    type            TEXT    NOT NULL DEFAULT '',
    data            TEXT -- JSON, NULL when empty
) STRICT;

CREATE INDEX conversation_events_conversation ON conversation_events (conversation_id, id);

CREATE TABLE call_records (
    id              TEXT    NOT NULL PRIMARY KEY,
    conversation_id TEXT    NOT NULL DEFAULT '',
    queue           TEXT    NOT NULL DEFAULT '',
    agent_id        TEXT    NOT NULL DEFAULT '',
    trunk           TEXT    NOT NULL DEFAULT '',
    from_number     TEXT    NOT NULL DEFAULT '',
    to_number       TEXT    NOT NULL DEFAULT '',
    priority        INTEGER NOT NULL DEFAULT 0,
    enqueued        INTEGER NOT NULL DEFAULT 0,
    answered        INTEGER NOT NULL DEFAULT 0,
    ended           INTEGER NOT NULL DEFAULT 0,
    result          TEXT    NOT NULL DEFAULT ''
) STRICT;

CREATE INDEX call_records_enqueued ON call_records (enqueued);
CREATE INDEX call_records_live ON call_records (enqueued) WHERE ended = 0;

CREATE TABLE waiting_strategies (
    id         TEXT    NOT NULL PRIMARY KEY,
    name       TEXT    NOT NULL UNIQUE,
    spec       TEXT, -- JSON, NULL when empty
    managed    INTEGER NOT NULL DEFAULT 0 CHECK (managed IN (0, 1)),
    created_at INTEGER NOT NULL DEFAULT 0,
    updated_at INTEGER NOT NULL DEFAULT 0
) STRICT;

CREATE TABLE settings (
    key   TEXT NOT NULL PRIMARY KEY,
    value TEXT NOT NULL
) STRICT, WITHOUT ROWID;
