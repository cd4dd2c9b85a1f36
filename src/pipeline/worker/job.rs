//! A message as a job and back: what `enqueue` puts in the jobs table (the bytes as read, and
//! the message's id and provenance as the run that read it settled them), and the
//! [`Message`] a worker rebuilds from a claimed job, so that the worker's record is the record
//! `triage` writes for the same input.

use serde::{Deserialize, Serialize};

use crate::email::{Content, Message, Provenance, SourceKind};
use crate::store::{BlockingStore, Enqueued, Job, NewJob, DEFAULT_MAX_ATTEMPTS};

use super::WorkerError;
use crate::pipeline::input_sha256;

/// Jobs written per transaction by [`enqueue`].
pub const ENQUEUE_CHUNK: usize = 200;

/// How [`enqueue`] queues messages.
#[derive(Debug, Clone, Copy)]
pub struct EnqueueOptions {
    /// Attempts before a job is parked.
    pub max_attempts: u32,
    /// Jobs per transaction.
    pub chunk: usize,
}

impl Default for EnqueueOptions {
    fn default() -> Self {
        EnqueueOptions {
            max_attempts: DEFAULT_MAX_ATTEMPTS,
            chunk: ENQUEUE_CHUNK,
        }
    }
}

/// What an [`enqueue`] did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct EnqueueStats {
    /// New jobs.
    pub queued: usize,
    /// Messages that already had a job (in any state), or came twice in this run.
    pub already_queued: usize,
    /// Messages already stored with their record: no job needed.
    pub already_stored: usize,
    /// Messages that could not be read (no bytes, so no job); see the log for their paths.
    pub unreadable: usize,
}

/// What a job remembers of where its message came from (the jobs table's `source`, as JSON).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
struct JobSource {
    /// The message id the reading run settled (Message-ID when unique in the run).
    id: String,
    /// [`Provenance::path`].
    path: String,
    /// [`Provenance::kind`] (`eml`, `mbox`, `maildir`, `jsonl`, `imap`).
    kind: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    index: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    offset: Option<u64>,
    /// The payload is the JSON fields of a `{from, subject, body}` message, not RFC 822 bytes.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    fields: bool,
}

fn kind_name(kind: SourceKind) -> &'static str {
    match kind {
        SourceKind::Eml => "eml",
        SourceKind::Mbox => "mbox",
        SourceKind::Maildir => "maildir",
        SourceKind::Jsonl => "jsonl",
        SourceKind::Imap => "imap",
    }
}

fn kind_of(name: &str) -> SourceKind {
    match name {
        "mbox" => SourceKind::Mbox,
        "maildir" => SourceKind::Maildir,
        "jsonl" => SourceKind::Jsonl,
        "imap" => SourceKind::Imap,
        _ => SourceKind::Eml,
    }
}

/// The job for a message, or `None` when it could not be read (nothing to queue). The job's
/// hash is the record's `input_sha256`, so a stored message is never queued again.
pub fn job_for(m: &Message, max_attempts: u32) -> Option<NewJob> {
    let sha256 = input_sha256(m)?;
    let (payload, fields) = match &m.content {
        Ok(Content::Raw(raw)) => (raw.clone(), false),
        Ok(Content::Parts {
            from,
            subject,
            body,
        }) => (
            // Exactly the bytes `input_sha256` hashes for such a message.
            serde_json::json!({"from": from, "subject": subject, "body": body})
                .to_string()
                .into_bytes(),
            true,
        ),
        Err(_) => return None,
    };
    let source = JobSource {
        id: m.id.clone(),
        path: m.provenance.path.clone(),
        kind: kind_name(m.provenance.kind).to_string(),
        index: m.provenance.index,
        offset: m.provenance.offset,
        fields,
    };
    Some(NewJob {
        sha256,
        source: serde_json::to_string(&source).ok(),
        payload: Some(payload),
        max_attempts: max_attempts.max(1),
    })
}

/// The message a claimed job holds. A `source` that is not this module's JSON (a job queued by
/// another producer) is taken as the message's path and id. Fails when the job carries no bytes
/// or its fields do not parse: another attempt cannot mend that.
pub fn message_of(job: &Job) -> Result<Message, String> {
    let Some(payload) = &job.payload else {
        return Err("the job carries no message bytes".into());
    };
    let source = job
        .source
        .as_deref()
        .and_then(|s| serde_json::from_str::<JobSource>(s).ok())
        .unwrap_or_else(|| {
            let named = job
                .source
                .clone()
                .unwrap_or_else(|| format!("job:{}", job.id));
            JobSource {
                id: named.clone(),
                path: named,
                kind: "eml".into(),
                index: None,
                offset: None,
                fields: false,
            }
        });
    let content = if source.fields {
        #[derive(Deserialize)]
        struct Fields {
            from: Option<String>,
            subject: Option<String>,
            body: String,
        }
        let f: Fields = serde_json::from_slice(payload)
            .map_err(|e| format!("the job's message fields do not parse: {e}"))?;
        Content::Parts {
            from: f.from,
            subject: f.subject,
            body: f.body,
        }
    } else {
        Content::Raw(payload.clone())
    };
    Ok(Message {
        id: source.id,
        provenance: Provenance {
            path: source.path,
            kind: kind_of(&source.kind),
            index: source.index,
            offset: source.offset,
        },
        content: Ok(content),
    })
}

/// Queue every readable message of `messages`, one job per message hash, `opts.chunk` jobs per
/// transaction; messages already stored or queued are counted and skipped. Idle workers wake
/// when each chunk commits.
pub fn enqueue<I>(
    messages: I,
    store: &BlockingStore,
    opts: &EnqueueOptions,
) -> Result<EnqueueStats, WorkerError>
where
    I: Iterator<Item = Message>,
{
    let mut stats = EnqueueStats::default();
    let mut chunk: Vec<NewJob> = Vec::with_capacity(opts.chunk.max(1));
    for m in messages {
        match job_for(&m, opts.max_attempts) {
            Some(job) => chunk.push(job),
            None => {
                stats.unreadable += 1;
                tracing::warn!(path = %m.provenance.path, "message could not be read; not queued");
            }
        }
        if chunk.len() >= opts.chunk.max(1) {
            flush(store, &mut chunk, &mut stats)?;
        }
    }
    flush(store, &mut chunk, &mut stats)?;
    Ok(stats)
}

fn flush(
    store: &BlockingStore,
    chunk: &mut Vec<NewJob>,
    stats: &mut EnqueueStats,
) -> Result<(), WorkerError> {
    if chunk.is_empty() {
        return Ok(());
    }
    let out = store
        .block_on(store.store().enqueue(chunk))
        .map_err(|source| WorkerError::Store {
            what: "queueing messages",
            source,
        })?;
    for e in out {
        match e {
            Enqueued::Queued(_) => stats.queued += 1,
            Enqueued::AlreadyQueued(_) => stats.already_queued += 1,
            Enqueued::AlreadyStored(_) => stats.already_stored += 1,
        }
    }
    chunk.clear();
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::JobState;

    fn job(new: &NewJob) -> Job {
        Job {
            id: 7,
            sha256: new.sha256.clone(),
            source: new.source.clone(),
            payload: new.payload.clone(),
            state: JobState::Claimed,
            attempts: 1,
            max_attempts: 5,
            worker_id: Some("w".into()),
            lease_expires_at: None,
            error_json: None,
        }
    }

    #[test]
    fn a_message_survives_the_queue() {
        for (content, kind, index) in [
            (
                Content::Raw(b"Subject: hi\r\n\r\nbody\r\n".to_vec()),
                SourceKind::Mbox,
                Some(3),
            ),
            (
                Content::Parts {
                    from: Some("a@example.org".into()),
                    subject: None,
                    body: "Please call.".into(),
                },
                SourceKind::Jsonl,
                Some(0),
            ),
        ] {
            let m = Message {
                id: "<x@example.org>".into(),
                provenance: Provenance {
                    path: "in/box".into(),
                    kind,
                    index,
                    offset: Some(120),
                },
                content: Ok(content),
            };
            let new = job_for(&m, 3).unwrap();
            assert_eq!(new.max_attempts, 3);
            assert_eq!(Some(new.sha256.clone()), input_sha256(&m));
            let back = message_of(&job(&new)).unwrap();
            assert_eq!(back.id, m.id);
            assert_eq!(back.provenance, m.provenance);
            assert_eq!(back.content.as_ref().unwrap(), m.content.as_ref().unwrap());
            assert_eq!(
                input_sha256(&back),
                input_sha256(&m),
                "same hash after the queue"
            );
        }
    }

    #[test]
    fn foreign_and_broken_jobs() {
        let mut new = NewJob::new(b"Subject: x\r\n\r\ny".to_vec(), Some("imap/INBOX/5".into()));
        let m = message_of(&job(&new)).unwrap();
        assert_eq!(
            (m.id.as_str(), m.provenance.path.as_str()),
            ("imap/INBOX/5", "imap/INBOX/5")
        );
        new.payload = None;
        assert!(message_of(&job(&new)).is_err(), "no bytes");
        let unreadable = Message {
            id: "x".into(),
            provenance: Provenance {
                path: "x".into(),
                kind: SourceKind::Eml,
                index: None,
                offset: None,
            },
            content: Err(crate::email::EmailError::JsonShape),
        };
        assert!(job_for(&unreadable, 5).is_none());
    }
}
