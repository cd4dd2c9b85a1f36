-- The messages, their triage records, the queue's typed columns, conversations, the review work
-- (corrections, notes, audit), accounts and login sessions. Times are milliseconds since the
-- Unix epoch; flags are 0/1.

CREATE TABLE messages (
    id {id},
    sha256 TEXT NOT NULL UNIQUE,
    header_message_id TEXT,
    source TEXT,
    raw {blob},
    raw_ref TEXT,
    raw_size BIGINT NOT NULL,
    stored_at BIGINT NOT NULL
);

CREATE TABLE records (
    message_id BIGINT PRIMARY KEY REFERENCES messages (id),
    record_schema TEXT,
    record_json TEXT NOT NULL,
    error_kind TEXT
);

CREATE TABLE conversations (
    conv_key TEXT PRIMARY KEY,
    message_count BIGINT NOT NULL
);

-- One narrow row per message: what the queue filters, sorts and counts on, plus the work state.
-- The label columns hold the current label (the model's, or a person's correction); a
-- probability is NULL once a person set the label.
CREATE TABLE triage (
    message_id BIGINT PRIMARY KEY REFERENCES messages (id),
    category TEXT,
    category_p DOUBLE PRECISION,
    priority TEXT,
    priority_p DOUBLE PRECISION,
    junk TEXT,
    junk_p DOUBLE PRECISION,
    needs_review BIGINT NOT NULL,
    urgent BIGINT NOT NULL,
    is_error BIGINT NOT NULL,
    date_ms BIGINT,
    sort_date BIGINT NOT NULL,
    sender TEXT,
    subject TEXT,
    conv_key TEXT,
    status TEXT NOT NULL CHECK (status IN ('open', 'answered', 'no_reply_needed')),
    assignee TEXT,
    reviewed_by TEXT,
    reviewed_at BIGINT,
    model_version TEXT,
    taxonomy_version TEXT,
    updated_at BIGINT NOT NULL
);
CREATE INDEX triage_order ON triage (urgent DESC, needs_review DESC, sort_date, message_id);
CREATE INDEX triage_category ON triage (category);
CREATE INDEX triage_priority ON triage (priority);
CREATE INDEX triage_status ON triage (status);
CREATE INDEX triage_assignee ON triage (assignee);
CREATE INDEX triage_conv ON triage (conv_key, sort_date);

CREATE TABLE review_reasons (
    message_id BIGINT NOT NULL REFERENCES messages (id),
    reason TEXT NOT NULL,
    PRIMARY KEY (message_id, reason)
);
CREATE INDEX review_reasons_reason ON review_reasons (reason, message_id);

CREATE TABLE corrections (
    id {id},
    message_id BIGINT NOT NULL REFERENCES messages (id),
    axis TEXT NOT NULL,
    before_label TEXT,
    after_label TEXT NOT NULL,
    actor TEXT NOT NULL,
    at_ms BIGINT NOT NULL
);
CREATE INDEX corrections_message ON corrections (message_id, id);

CREATE TABLE notes (
    id {id},
    message_id BIGINT NOT NULL REFERENCES messages (id),
    author TEXT NOT NULL,
    at_ms BIGINT NOT NULL,
    body TEXT NOT NULL
);
CREATE INDEX notes_message ON notes (message_id, id);

CREATE TABLE audit (
    id {id},
    at_ms BIGINT NOT NULL,
    actor TEXT NOT NULL,
    action TEXT NOT NULL,
    message_id BIGINT,
    before_json TEXT,
    after_json TEXT,
    model_version TEXT,
    taxonomy_version TEXT
);
CREATE INDEX audit_message ON audit (message_id, id);

CREATE TABLE accounts (
    id {id},
    name TEXT NOT NULL UNIQUE,
    role TEXT NOT NULL CHECK (role IN ('reviewer', 'admin')),
    password_hash TEXT NOT NULL,
    disabled BIGINT NOT NULL DEFAULT 0,
    created_at BIGINT NOT NULL
);

-- A login session: the SHA-256 of its cookie token (the token itself is never stored).
CREATE TABLE sessions (
    token_sha256 TEXT PRIMARY KEY,
    account_id BIGINT NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    csrf_token TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    last_seen BIGINT NOT NULL,
    expires_at BIGINT NOT NULL
);
CREATE INDEX sessions_account ON sessions (account_id);

-- Text search over subject, sender and body text, stored lowercased: a trigram index on both
-- engines, so that a substring search does not scan every message.
-- engine: sqlite
CREATE VIRTUAL TABLE search USING fts5 (message_id UNINDEXED, body, tokenize = 'trigram');
-- engine: postgres
CREATE EXTENSION IF NOT EXISTS pg_trgm;
CREATE TABLE search (
    message_id BIGINT PRIMARY KEY REFERENCES messages (id),
    body TEXT NOT NULL
);
CREATE INDEX search_trgm ON search USING gin (body gin_trgm_ops);
