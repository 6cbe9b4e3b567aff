-- 0005: callbacks. A callback configuration says how requests to call a
-- customer back are handled (those of the configuration are managed:
-- read-only through the API). A request is one customer to call back; its
-- attempts are the calls placed for it, in order.

CREATE TABLE callback_configs (
    id             TEXT    NOT NULL PRIMARY KEY,  -- its name
    name           TEXT    NOT NULL UNIQUE,
    type           TEXT    NOT NULL,              -- automated | manual
    queue          TEXT    NOT NULL,
    retries        INTEGER NOT NULL,
    retry_delay_ms INTEGER NOT NULL,
    priority       TEXT    NOT NULL DEFAULT '',
    confirm_file   TEXT    NOT NULL DEFAULT '',
    confirm_say    TEXT    NOT NULL DEFAULT '',
    caller_id      TEXT    NOT NULL DEFAULT '',
    schedule       TEXT    NOT NULL DEFAULT '',
    managed        INTEGER NOT NULL DEFAULT 0,
    created_at     INTEGER NOT NULL DEFAULT 0,
    updated_at     INTEGER NOT NULL DEFAULT 0
) STRICT;

-- A request keeps its configuration's name, type, queue, retries and retry
-- delay as they were when it was made: the configuration may change or go.
CREATE TABLE callbacks (
    id              TEXT    NOT NULL PRIMARY KEY,
    config          TEXT    NOT NULL,
    type            TEXT    NOT NULL,
    queue           TEXT    NOT NULL,
    number          TEXT    NOT NULL,             -- the customer's, E.164
    retries         INTEGER NOT NULL DEFAULT 0,
    retry_delay_ms  INTEGER NOT NULL DEFAULT 0,
    conversation_id TEXT    NOT NULL DEFAULT '',
    enqueued_at     INTEGER NOT NULL DEFAULT 0,   -- when the customer's call started waiting
    created_at      INTEGER NOT NULL DEFAULT 0,
    updated_at      INTEGER NOT NULL DEFAULT 0,
    status          TEXT    NOT NULL,
    agent_id        TEXT    NOT NULL DEFAULT '',
    attempts_made   INTEGER NOT NULL DEFAULT 0,
    next_attempt_at INTEGER NOT NULL DEFAULT 0    -- a no_reply request goes back in queue then
) STRICT;

CREATE INDEX callbacks_status ON callbacks (status, next_attempt_at);
CREATE INDEX callbacks_created ON callbacks (created_at);

CREATE TABLE callback_attempts (
    callback_id TEXT    NOT NULL REFERENCES callbacks (id) ON DELETE CASCADE,
    position    INTEGER NOT NULL,
    at          INTEGER NOT NULL,
    agent_id    TEXT    NOT NULL DEFAULT '',
    sip_code    INTEGER NOT NULL DEFAULT 0,
    reason      TEXT    NOT NULL DEFAULT '',
    outcome     TEXT    NOT NULL,                 -- answered | no_reply
    PRIMARY KEY (callback_id, position)
) STRICT;
