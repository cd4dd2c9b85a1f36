-- The work queue (leases, attempts, parked failures), mailbox positions and trained heads.

-- One job per message (by SHA-256). A claimed job carries a lease; a lapsed lease lets another
-- worker take it; a job that failed max_attempts times is parked as 'failed' with its error.
CREATE TABLE jobs (
    id {id},
    sha256 TEXT NOT NULL UNIQUE,
    source TEXT,
    payload {blob},
    state TEXT NOT NULL CHECK (state IN ('queued', 'claimed', 'done', 'failed')),
    attempts BIGINT NOT NULL DEFAULT 0,
    max_attempts BIGINT NOT NULL,
    run_after BIGINT NOT NULL,
    lease_expires_at BIGINT,
    worker_id TEXT,
    error_json TEXT,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);
CREATE INDEX jobs_ready ON jobs (state, run_after, id);
CREATE INDEX jobs_lease ON jobs (state, lease_expires_at);

-- Per mailbox: the UIDVALIDITY and the highest UID whose record is stored.
CREATE TABLE mailbox_cursors (
    mailbox TEXT PRIMARY KEY,
    uidvalidity BIGINT NOT NULL,
    last_uid BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);

-- Trained classification heads with their comparison metrics; at most one active per axis.
CREATE TABLE heads (
    id {id},
    axis TEXT NOT NULL,
    state TEXT NOT NULL CHECK (state IN ('candidate', 'active', 'retired')),
    sha256 TEXT NOT NULL,
    data {blob} NOT NULL,
    meta_json TEXT NOT NULL,
    metrics_json TEXT,
    created_by TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    promoted_at BIGINT,
    retired_at BIGINT
);
CREATE UNIQUE INDEX heads_one_active ON heads (axis) WHERE state = 'active';
CREATE INDEX heads_axis ON heads (axis, id);
