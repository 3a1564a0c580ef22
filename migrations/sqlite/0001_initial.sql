-- Warden schema, SQLite flavour. Timestamps are INTEGER milliseconds since
-- the Unix epoch (UTC); booleans are INTEGER 0/1. Keep in step with
-- ../postgres/0001_initial.sql: the storage crate shares its queries.

CREATE TABLE extensions (
    id                   INTEGER PRIMARY KEY AUTOINCREMENT,
    number               TEXT    NOT NULL UNIQUE,
    display_name         TEXT    NOT NULL,
    -- The SIP digest password itself. Digest authentication needs it (or a
    -- realm-bound hash of it) to check responses, so it cannot be stored as
    -- a one-way password hash: protect the database file accordingly.
    secret               TEXT    NOT NULL,
    voicemail_pin        TEXT,
    enabled              INTEGER NOT NULL DEFAULT 1 CHECK (enabled IN (0, 1)),
    -- NULL means no limit.
    max_concurrent_calls INTEGER CHECK (max_concurrent_calls >= 0),
    created_at           INTEGER NOT NULL,
    updated_at           INTEGER NOT NULL
);

-- Registrar bindings: one row per (address of record, contact).
CREATE TABLE registrations (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    -- The extension number the binding belongs to.
    aor         TEXT    NOT NULL REFERENCES extensions (number)
                        ON DELETE CASCADE ON UPDATE CASCADE,
    contact_uri TEXT    NOT NULL,
    q           REAL,
    expires_at  INTEGER NOT NULL,
    call_id     TEXT    NOT NULL,
    cseq        INTEGER NOT NULL CHECK (cseq >= 0),
    -- Where the REGISTER came from, as ip:port.
    source      TEXT    NOT NULL,
    transport   TEXT    NOT NULL,
    user_agent  TEXT,
    path        TEXT,
    instance_id TEXT,
    created_at  INTEGER NOT NULL,
    updated_at  INTEGER NOT NULL,
    UNIQUE (aor, contact_uri)
);
CREATE INDEX registrations_expires_at ON registrations (expires_at);

-- Call detail records. No foreign keys: history outlives extensions.
CREATE TABLE call_records (
    id               INTEGER PRIMARY KEY AUTOINCREMENT,
    call_id          TEXT    NOT NULL,
    caller           TEXT    NOT NULL,
    callee           TEXT    NOT NULL,
    started_at       INTEGER NOT NULL,
    answered_at      INTEGER,
    ended_at         INTEGER NOT NULL,
    duration_ms      INTEGER NOT NULL CHECK (duration_ms >= 0),
    billable_ms      INTEGER NOT NULL CHECK (billable_ms >= 0),
    disposition      TEXT    NOT NULL
                     CHECK (disposition IN ('answered', 'no_answer', 'busy', 'failed', 'cancelled')),
    hangup_cause     TEXT,
    hangup_side      TEXT    CHECK (hangup_side IN ('caller', 'callee', 'system')),
    codec            TEXT,
    caller_loss_pct  REAL,
    caller_jitter_ms REAL,
    caller_mos       REAL,
    callee_loss_pct  REAL,
    callee_jitter_ms REAL,
    callee_mos       REAL,
    recording_path   TEXT
);
CREATE INDEX call_records_started_at ON call_records (started_at);
CREATE INDEX call_records_caller ON call_records (caller);
CREATE INDEX call_records_callee ON call_records (callee);

-- Accounts of the management API / admin UI.
CREATE TABLE admin_users (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    username      TEXT    NOT NULL,
    password_hash TEXT    NOT NULL,
    role          TEXT    NOT NULL CHECK (role IN ('admin', 'operator', 'user')),
    extension     TEXT    REFERENCES extensions (number)
                          ON DELETE SET NULL ON UPDATE CASCADE,
    created_at    INTEGER NOT NULL,
    updated_at    INTEGER NOT NULL,
    disabled      INTEGER NOT NULL DEFAULT 0 CHECK (disabled IN (0, 1)),
    failed_logins INTEGER NOT NULL DEFAULT 0 CHECK (failed_logins >= 0),
    locked_until  INTEGER
);
-- User names are unique regardless of case.
CREATE UNIQUE INDEX admin_users_username ON admin_users (lower(username));

-- Append-only record of administrative actions.
CREATE TABLE audit_log (
    id        INTEGER PRIMARY KEY AUTOINCREMENT,
    at        INTEGER NOT NULL,
    actor     TEXT    NOT NULL,
    action    TEXT    NOT NULL,
    target    TEXT,
    -- JSON document.
    detail    TEXT    NOT NULL DEFAULT '{}',
    source_ip TEXT
);
CREATE INDEX audit_log_at ON audit_log (at);
