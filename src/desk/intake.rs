//! Taking a message in through the desk (`POST /api/messages`): the raw RFC 822 bytes are
//! triaged by the engine on a blocking thread (never on the async runtime: a summary can take
//! seconds), turned into the store's row by the pipeline's ingest
//! ([`crate::pipeline::ingest::stored_message`], the same row `mailroom ingest` writes) and
//! stored, idempotently by the bytes' SHA-256 (a message already stored is not triaged again).
//! A desk started with `--queue` triages nothing: it puts the message in the store's job queue
//! (one job per hash) for `mailroom worker`s.

use super::error::Fail;
use super::DeskState;
use crate::pipeline::ingest::stored_message;
use crate::pipeline::worker::job_for;
use crate::pipeline::{input_sha256, Content, Message, Provenance, SourceKind};
use crate::store::{Enqueued, MessageId, Put, DEFAULT_MAX_ATTEMPTS};

/// What taking a message in did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Taken {
    /// Triaged and stored here.
    Stored {
        /// The stored message.
        id: MessageId,
        /// Whether it was new (else it was already stored, and nothing changed).
        added: bool,
    },
    /// Queued for the workers (a desk started with `--queue`).
    Queued {
        /// The job.
        job: i64,
        /// Whether the job is new (else the message was queued before).
        added: bool,
    },
}

/// Triage and store one message.
pub async fn take(state: &DeskState, raw: Vec<u8>) -> Result<Taken, Fail> {
    if raw.iter().all(u8::is_ascii_whitespace) {
        return Err(Fail::Invalid("the message is empty".into()));
    }
    let id = crate::pipeline::scan_message_id(&raw);
    let message = move |raw: Vec<u8>, id: String| Message {
        id,
        provenance: Provenance {
            path: "desk".into(),
            kind: SourceKind::Eml,
            index: None,
            offset: None,
        },
        content: Ok(Content::Raw(raw)),
    };
    let sha = input_sha256(&message(raw.clone(), String::new())).unwrap_or_default();
    if let Some(id) = state.store().find(&sha).await? {
        return Ok(Taken::Stored { id, added: false });
    }
    let id = id.unwrap_or_else(|| sha.clone());
    if state.config().queue {
        let job = job_for(&message(raw, id), DEFAULT_MAX_ATTEMPTS)
            .ok_or_else(|| Fail::Invalid("the message cannot be read".into()))?;
        return match state.store().enqueue(&[job]).await?.pop() {
            Some(Enqueued::Queued(job)) => Ok(Taken::Queued { job, added: true }),
            Some(Enqueued::AlreadyQueued(job)) => Ok(Taken::Queued { job, added: false }),
            Some(Enqueued::AlreadyStored(id)) => Ok(Taken::Stored { id, added: false }),
            None => Err(Fail::Internal("the queue returned no job".into())),
        };
    }
    let engine = state.current_engine().await?;
    let row = tokio::task::spawn_blocking(move || {
        let output = engine.triage(vec![message(raw.clone(), id.clone())]).pop();
        output.map(|o| stored_message(&o, &message(raw, id), &engine))
    })
    .await
    .map_err(|e| Fail::Internal(format!("triage thread: {e}")))?
    .ok_or_else(|| Fail::Internal("the engine returned no record".into()))?;
    let put = state.store().put(&row).await?;
    Ok(Taken::Stored {
        id: put.id(),
        added: matches!(put, Put::Added(_)),
    })
}
