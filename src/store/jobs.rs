//! The work queue, in the manner of River and Oban: one job per message hash, claimed in
//! batches (`FOR UPDATE SKIP LOCKED` on PostgreSQL; on SQLite the claim runs in a write
//! transaction, which holds the one write lock), a lease that the worker renews, attempts
//! counted, a job that keeps failing (or keeps killing its worker) parked as `failed` with its
//! error, and the job's effect (the stored message and record) committed in the same
//! transaction as its state. Idle workers wait on LISTEN/NOTIFY (PostgreSQL) or an in-process
//! notification with a polling timeout (SQLite).

use std::sync::Arc;
use std::time::Duration;

use serde::Serialize;
use sha2::{Digest, Sha256};
use sqlx::any::AnyRow;
use sqlx::postgres::PgListener;
use tokio::sync::Notify;

use super::cursors::{advance_cursor, CursorUpdate};
use super::error::{query, StoreError, StoreResult};
use super::messages::{NewMessage, Put};
use super::types::{col, millis, MessageId};
use super::{Engine, Store};

/// The PostgreSQL channel that enqueues notify.
pub const CHANNEL: &str = "mailroom_jobs";
/// Attempts before a job is parked, unless the job says otherwise.
pub const DEFAULT_MAX_ATTEMPTS: u32 = 5;

/// A job's state.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum JobState {
    /// Waiting for a worker.
    Queued,
    /// Held by a worker under a lease.
    Claimed,
    /// Its effect is stored.
    Done,
    /// Parked after too many failed attempts; it keeps its last error.
    Failed,
}

impl JobState {
    fn parse(s: &str) -> StoreResult<JobState> {
        match s {
            "queued" => Ok(JobState::Queued),
            "claimed" => Ok(JobState::Claimed),
            "done" => Ok(JobState::Done),
            "failed" => Ok(JobState::Failed),
            _ => Err(StoreError::Invalid {
                what: "job state",
                reason: s.to_string(),
            }),
        }
    }
}

/// A message to queue.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewJob {
    /// SHA-256 of the message bytes: a message is queued once.
    pub sha256: String,
    /// Where it came from.
    pub source: Option<String>,
    /// The message bytes (or `None` when `source` says where to read them).
    pub payload: Option<Vec<u8>>,
    /// Attempts before the job is parked.
    pub max_attempts: u32,
}

impl NewJob {
    /// A job for these message bytes.
    pub fn new(raw: Vec<u8>, source: Option<String>) -> NewJob {
        NewJob {
            sha256: hex::encode(Sha256::digest(&raw)),
            source,
            payload: Some(raw),
            max_attempts: DEFAULT_MAX_ATTEMPTS,
        }
    }
}

/// What enqueueing one message did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Enqueued {
    /// A new job.
    Queued(i64),
    /// A job for the same message exists (in any state).
    AlreadyQueued(i64),
    /// The message is already stored; no job was made.
    AlreadyStored(MessageId),
}

/// A job as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Job {
    /// Its id.
    pub id: i64,
    /// The message hash.
    pub sha256: String,
    /// Where the message came from.
    pub source: Option<String>,
    /// The message bytes (cleared once done).
    pub payload: Option<Vec<u8>>,
    /// Its state.
    pub state: JobState,
    /// Attempts so far (a claim counts as one).
    pub attempts: i64,
    /// Attempts before it is parked.
    pub max_attempts: i64,
    /// The worker holding it.
    pub worker_id: Option<String>,
    /// When the lease runs out (ms since the epoch, database clock).
    pub lease_expires_at: Option<i64>,
    /// The last error (JSON), if any.
    pub error_json: Option<String>,
}

/// Jobs per state, and the queue's health.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct JobCounts {
    /// Waiting.
    pub queued: i64,
    /// Held by workers.
    pub claimed: i64,
    /// Finished.
    pub done: i64,
    /// Parked.
    pub failed: i64,
    /// Age of the oldest waiting job, ms.
    pub oldest_queued_ms: Option<i64>,
    /// Claimed jobs whose lease has run out (their worker is presumably gone).
    pub expired_leases: i64,
}

/// What completing a job did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Completion {
    /// Whether this worker still held the job (false: its lease had lapsed and the job was
    /// taken over or parked; the effect was stored all the same, once, by hash).
    pub lease_held: bool,
    /// What storing the effect did.
    pub put: Option<Put>,
}

const JOB_COLUMNS: &str = "id, sha256, source, payload, state, attempts, max_attempts, \
    worker_id, lease_expires_at, error_json";

impl Store {
    /// Queue messages, one job per hash, skipping messages already stored; wakes idle workers.
    pub async fn enqueue(&self, jobs: &[NewJob]) -> StoreResult<Vec<Enqueued>> {
        self.enqueue_at(jobs, None).await
    }

    /// [`Store::enqueue`], moving a mailbox's position in the same transaction (a mailbox
    /// watcher that leaves the triage to workers): the jobs and the position are saved together
    /// or not at all.
    pub async fn enqueue_at(
        &self,
        jobs: &[NewJob],
        cursor: Option<&CursorUpdate>,
    ) -> StoreResult<Vec<Enqueued>> {
        let mut tx = self.write_tx().await?;
        let mut out = Vec::with_capacity(jobs.len());
        let insert = self.sql(
            "INSERT INTO jobs (sha256, source, payload, state, max_attempts, run_after, \
             created_at, updated_at) VALUES ($1, $2, $3, 'queued', $4, {now}, {now}, {now}) \
             ON CONFLICT (sha256) DO NOTHING RETURNING id",
        );
        for job in jobs {
            let stored: Option<i64> =
                sqlx::query_scalar("SELECT id FROM messages WHERE sha256 = $1")
                    .bind(job.sha256.as_str())
                    .fetch_optional(&mut *tx)
                    .await
                    .map_err(query("find message"))?;
            if let Some(id) = stored {
                out.push(Enqueued::AlreadyStored(MessageId(id)));
                continue;
            }
            let id: Option<i64> = sqlx::query_scalar(&insert)
                .bind(job.sha256.as_str())
                .bind(job.source.as_deref())
                .bind(job.payload.as_deref())
                .bind(i64::from(job.max_attempts.max(1)))
                .fetch_optional(&mut *tx)
                .await
                .map_err(query("insert job"))?;
            out.push(match id {
                Some(id) => Enqueued::Queued(id),
                None => Enqueued::AlreadyQueued(
                    sqlx::query_scalar("SELECT id FROM jobs WHERE sha256 = $1")
                        .bind(job.sha256.as_str())
                        .fetch_one(&mut *tx)
                        .await
                        .map_err(query("find job"))?,
                ),
            });
        }
        let any_new = out.iter().any(|e| matches!(e, Enqueued::Queued(_)));
        if any_new && self.engine == Engine::Postgres {
            // Delivered when the transaction commits, to every listening worker.
            sqlx::query("SELECT COUNT(*) FROM (SELECT pg_notify($1, '')) AS n")
                .bind(CHANNEL)
                .execute(&mut *tx)
                .await
                .map_err(query("notify workers"))?;
        }
        if let Some(c) = cursor {
            advance_cursor(self, &mut tx, c).await?;
        }
        tx.commit().await.map_err(query("commit enqueue"))?;
        if any_new {
            self.local_jobs.notify_waiters();
        }
        Ok(out)
    }

    /// Claim up to `n` jobs for `worker` under a lease of `lease`: waiting jobs, and claimed
    /// jobs whose lease ran out. A job whose lease ran out after its last allowed attempt is
    /// parked instead (its worker died on it every time). Oldest first.
    pub async fn claim(&self, worker: &str, n: u32, lease: Duration) -> StoreResult<Vec<Job>> {
        let mut tx = self.write_tx().await?;
        let park = self.sql(
            "UPDATE jobs SET state = 'failed', error_json = $1, worker_id = NULL, \
             lease_expires_at = NULL, updated_at = {now} \
             WHERE state = 'claimed' AND lease_expires_at < {now} AND attempts >= max_attempts",
        );
        let lapsed = serde_json::json!({
            "kind": "lease_expired",
            "message": "the lease ran out on the last allowed attempt (the worker stopped)",
        });
        sqlx::query(&park)
            .bind(lapsed.to_string())
            .execute(&mut *tx)
            .await
            .map_err(query("park lapsed jobs"))?;
        let claim = format!(
            "UPDATE jobs SET state = 'claimed', worker_id = $1, attempts = attempts + 1, \
             lease_expires_at = {now} + $2, updated_at = {now} WHERE id IN (SELECT id FROM jobs \
             WHERE (state = 'queued' AND run_after <= {now}) \
             OR (state = 'claimed' AND lease_expires_at < {now}) \
             ORDER BY id LIMIT $3{skip}) RETURNING {JOB_COLUMNS}",
            now = self.engine.now_ms(),
            skip = self.engine.skip_locked(),
        );
        let rows = sqlx::query(&claim)
            .bind(worker)
            .bind(millis(lease))
            .bind(i64::from(n))
            .fetch_all(&mut *tx)
            .await
            .map_err(query("claim jobs"))?;
        tx.commit().await.map_err(query("commit claim"))?;
        let mut jobs = rows
            .iter()
            .map(job_from_row)
            .collect::<StoreResult<Vec<_>>>()?;
        jobs.sort_by_key(|j| j.id);
        Ok(jobs)
    }

    /// Renew the lease on jobs this worker holds; returns the ids it still holds.
    pub async fn renew(&self, worker: &str, ids: &[i64], lease: Duration) -> StoreResult<Vec<i64>> {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let sql = format!(
            "UPDATE jobs SET lease_expires_at = {now} + $2, updated_at = {now} \
             WHERE worker_id = $1 AND state = 'claimed' AND id IN ({ids}) RETURNING id",
            now = self.engine.now_ms(),
            ids = id_list(ids),
        );
        let mut held: Vec<i64> = sqlx::query_scalar(&sql)
            .bind(worker)
            .bind(millis(lease))
            .fetch_all(&self.pool)
            .await
            .map_err(query("renew leases"))?;
        held.sort_unstable();
        Ok(held)
    }

    /// Finish a job: store its effect (the message and record, idempotent by hash) and mark it
    /// done, in one transaction.
    pub async fn complete(
        &self,
        worker: &str,
        job_id: i64,
        effect: Option<&NewMessage>,
    ) -> StoreResult<Completion> {
        if let Some(m) = effect {
            m.validate()?;
        }
        let mut tx = self.write_tx().await?;
        let (state, holder) = self.lock_job(&mut tx, job_id).await?;
        let put = match effect {
            Some(m) => Some(self.put_in_tx(&mut tx, m).await?),
            None => None,
        };
        let done = self.sql(
            "UPDATE jobs SET state = 'done', payload = NULL, lease_expires_at = NULL, \
             updated_at = {now} WHERE id = $1 AND state <> 'done'",
        );
        sqlx::query(&done)
            .bind(job_id)
            .execute(&mut *tx)
            .await
            .map_err(query("mark job done"))?;
        tx.commit().await.map_err(query("commit job"))?;
        Ok(Completion {
            lease_held: state == JobState::Claimed && holder.as_deref() == Some(worker),
            put,
        })
    }

    /// Record a failed attempt: the job waits `retry_in` and is queued again, or is parked as
    /// `failed` when it has used its attempts. Returns the job's state after; a job this worker
    /// no longer holds is left as it is.
    pub async fn fail(
        &self,
        worker: &str,
        job_id: i64,
        error_json: &str,
        retry_in: Duration,
    ) -> StoreResult<JobState> {
        let mut tx = self.write_tx().await?;
        let (state, holder) = self.lock_job(&mut tx, job_id).await?;
        if state != JobState::Claimed || holder.as_deref() != Some(worker) {
            tx.commit().await.map_err(query("commit"))?;
            return Ok(state);
        }
        let sql = self.sql(
            "UPDATE jobs SET state = CASE WHEN attempts >= max_attempts THEN 'failed' \
             ELSE 'queued' END, error_json = $1, worker_id = NULL, lease_expires_at = NULL, \
             run_after = {now} + $2, updated_at = {now} WHERE id = $3 RETURNING state",
        );
        let state: String = sqlx::query_scalar(&sql)
            .bind(error_json)
            .bind(millis(retry_in))
            .bind(job_id)
            .fetch_one(&mut *tx)
            .await
            .map_err(query("fail job"))?;
        tx.commit().await.map_err(query("commit job failure"))?;
        JobState::parse(&state)
    }

    /// Park a job this worker holds as `failed` at once, with its error, and store its effect
    /// (the message with its error record) in the same transaction, so that a message whose
    /// job is parked still has its one record. Used for failures that another attempt cannot
    /// mend (the message itself is unreadable) and for the last allowed attempt. Returns the
    /// job's state after; a job this worker no longer holds is left as it is.
    pub async fn park(
        &self,
        worker: &str,
        job_id: i64,
        error_json: &str,
        effect: Option<&NewMessage>,
    ) -> StoreResult<JobState> {
        if let Some(m) = effect {
            m.validate()?;
        }
        let mut tx = self.write_tx().await?;
        let (state, holder) = self.lock_job(&mut tx, job_id).await?;
        if state != JobState::Claimed || holder.as_deref() != Some(worker) {
            tx.commit().await.map_err(query("commit"))?;
            return Ok(state);
        }
        if let Some(m) = effect {
            self.put_in_tx(&mut tx, m).await?;
        }
        let sql = self.sql(
            "UPDATE jobs SET state = 'failed', error_json = $1, payload = NULL, \
             lease_expires_at = NULL, updated_at = {now} WHERE id = $2",
        );
        sqlx::query(&sql)
            .bind(error_json)
            .bind(job_id)
            .execute(&mut *tx)
            .await
            .map_err(query("park job"))?;
        tx.commit().await.map_err(query("commit parked job"))?;
        Ok(JobState::Failed)
    }

    /// Give back jobs this worker holds but did not start (on shutdown): they are queued again
    /// and the claim does not count as an attempt.
    pub async fn release(&self, worker: &str, ids: &[i64]) -> StoreResult<u64> {
        if ids.is_empty() {
            return Ok(0);
        }
        let sql = format!(
            "UPDATE jobs SET state = 'queued', attempts = attempts - 1, worker_id = NULL, \
             lease_expires_at = NULL, updated_at = {now} \
             WHERE worker_id = $1 AND state = 'claimed' AND id IN ({ids})",
            now = self.engine.now_ms(),
            ids = id_list(ids),
        );
        let done = sqlx::query(&sql)
            .bind(worker)
            .execute(&self.pool)
            .await
            .map_err(query("release jobs"))?;
        Ok(done.rows_affected())
    }

    /// A job by id.
    pub async fn job(&self, id: i64) -> StoreResult<Option<Job>> {
        let row = sqlx::query(&format!("SELECT {JOB_COLUMNS} FROM jobs WHERE id = $1"))
            .bind(id)
            .fetch_optional(&self.pool)
            .await
            .map_err(query("read job"))?;
        row.as_ref().map(job_from_row).transpose()
    }

    /// Parked jobs with their errors, oldest first, at most `limit`.
    pub async fn failed_jobs(&self, limit: u32) -> StoreResult<Vec<Job>> {
        let sql = format!(
            "SELECT {JOB_COLUMNS} FROM jobs WHERE state = 'failed' ORDER BY id LIMIT {}",
            limit.max(1)
        );
        let rows = sqlx::query(&sql)
            .fetch_all(&self.pool)
            .await
            .map_err(query("read failed jobs"))?;
        rows.iter().map(job_from_row).collect()
    }

    /// Jobs per state and the queue's health.
    pub async fn job_counts(&self) -> StoreResult<JobCounts> {
        let rows = sqlx::query("SELECT state, COUNT(*) AS n FROM jobs GROUP BY state")
            .fetch_all(&self.pool)
            .await
            .map_err(query("count jobs"))?;
        let mut c = JobCounts::default();
        for r in &rows {
            let n: i64 = col(r, "n")?;
            match JobState::parse(&col::<String>(r, "state")?)? {
                JobState::Queued => c.queued = n,
                JobState::Claimed => c.claimed = n,
                JobState::Done => c.done = n,
                JobState::Failed => c.failed = n,
            }
        }
        let health = self.sql(
            "SELECT (SELECT {now} - MIN(created_at) FROM jobs WHERE state = 'queued') AS age, \
             (SELECT COUNT(*) FROM jobs WHERE state = 'claimed' AND lease_expires_at < {now}) \
             AS expired",
        );
        let row = sqlx::query(&health)
            .fetch_one(&self.pool)
            .await
            .map_err(query("queue health"))?;
        c.oldest_queued_ms = col(&row, "age")?;
        c.expired_leases = col(&row, "expired")?;
        Ok(c)
    }

    /// Something an idle worker can wait on until jobs are queued.
    pub async fn job_waiter(&self) -> StoreResult<JobWaiter> {
        match self.engine {
            Engine::Postgres => {
                let mut listener =
                    PgListener::connect(&self.url)
                        .await
                        .map_err(|source| StoreError::Connect {
                            engine: "postgres",
                            source,
                        })?;
                listener.listen(CHANNEL).await.map_err(query("listen"))?;
                Ok(JobWaiter(Waiter::Listen(Box::new(listener))))
            }
            Engine::Sqlite => Ok(JobWaiter(Waiter::Local(self.local_jobs.clone()))),
        }
    }

    async fn lock_job(
        &self,
        tx: &mut sqlx::AnyConnection,
        job_id: i64,
    ) -> StoreResult<(JobState, Option<String>)> {
        let sql = format!(
            "SELECT state, worker_id FROM jobs WHERE id = $1{}",
            self.engine.for_update()
        );
        let row = sqlx::query(&sql)
            .bind(job_id)
            .fetch_optional(&mut *tx)
            .await
            .map_err(query("read job"))?
            .ok_or_else(|| StoreError::NotFound {
                what: "job",
                id: job_id.to_string(),
            })?;
        Ok((
            JobState::parse(&col::<String>(&row, "state")?)?,
            col(&row, "worker_id")?,
        ))
    }
}

/// Waits for new jobs: LISTEN on PostgreSQL, an in-process notification on SQLite.
pub struct JobWaiter(Waiter);

enum Waiter {
    Listen(Box<PgListener>),
    Local(Arc<Notify>),
}

impl JobWaiter {
    /// Wait until jobs are queued or `timeout` passes; true when woken by a new job. Poll the
    /// queue after either: a notification can be missed (another process on SQLite, a
    /// reconnect on PostgreSQL), so the timeout is the upper bound on the delay.
    pub async fn wait(&mut self, timeout: Duration) -> StoreResult<bool> {
        match &mut self.0 {
            Waiter::Listen(l) => match tokio::time::timeout(timeout, l.recv()).await {
                Ok(Ok(_)) => Ok(true),
                Ok(Err(e)) => Err(StoreError::Query {
                    what: "wait for jobs",
                    source: e,
                }),
                Err(_) => Ok(false),
            },
            Waiter::Local(n) => Ok(tokio::time::timeout(timeout, n.notified()).await.is_ok()),
        }
    }
}

impl std::fmt::Debug for JobWaiter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self.0 {
            Waiter::Listen(_) => "JobWaiter(listen)",
            Waiter::Local(_) => "JobWaiter(local)",
        })
    }
}

fn id_list(ids: &[i64]) -> String {
    ids.iter().map(i64::to_string).collect::<Vec<_>>().join(",")
}

fn job_from_row(r: &AnyRow) -> StoreResult<Job> {
    Ok(Job {
        id: col(r, "id")?,
        sha256: col(r, "sha256")?,
        source: col(r, "source")?,
        payload: col(r, "payload")?,
        state: JobState::parse(&col::<String>(r, "state")?)?,
        attempts: col(r, "attempts")?,
        max_attempts: col(r, "max_attempts")?,
        worker_id: col(r, "worker_id")?,
        lease_expires_at: col(r, "lease_expires_at")?,
        error_json: col(r, "error_json")?,
    })
}
