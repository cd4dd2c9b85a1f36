//! Taking a message in through the desk (`POST /api/messages`): the raw RFC 822 bytes are
//! triaged by the engine on a blocking thread (never on the async runtime: a summary can take
//! seconds) and stored with their record, idempotently by the bytes' SHA-256 (a message already
//! stored is not triaged again).

use sha2::{Digest, Sha256};

use super::error::Fail;
use super::DeskState;
use crate::pipeline::{Content, Message, Provenance, SourceKind};
use crate::store::{MessageId, NewMessage, Put};

/// What taking a message in did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Taken {
    /// The stored message.
    pub id: MessageId,
    /// Whether it was new (else it was already stored, and nothing changed).
    pub added: bool,
}

/// Triage and store one message.
pub async fn take(state: &DeskState, raw: Vec<u8>) -> Result<Taken, Fail> {
    if raw.iter().all(u8::is_ascii_whitespace) {
        return Err(Fail::Invalid("the message is empty".into()));
    }
    let sha = hex::encode(Sha256::digest(&raw));
    if let Some(id) = state.store().find(&sha).await? {
        return Ok(Taken { id, added: false });
    }
    let engine = state.engine()?;
    let stored = tokio::task::spawn_blocking(move || {
        let id = crate::pipeline::scan_message_id(&raw).unwrap_or_else(|| sha.clone());
        let message = |raw: Vec<u8>| Message {
            id: id.clone(),
            provenance: Provenance {
                path: "desk".into(),
                kind: SourceKind::Eml,
                index: None,
                offset: None,
            },
            content: Ok(Content::Raw(raw)),
        };
        let output = engine.triage(vec![message(raw.clone())]).pop();
        output.map(|o| stored_message(&o, &message(raw)))
    })
    .await
    .map_err(|e| Fail::Internal(format!("triage thread: {e}")))?
    .ok_or_else(|| Fail::Internal("the engine returned no record".into()))??;
    let put = state.store().put(&stored).await?;
    Ok(Taken {
        id: put.id(),
        added: matches!(put, Put::Added(_)),
    })
}

/// The store's form of a triaged message.
// Stands in for `pipeline::ingest::stored_message` until that is on this branch.
fn stored_message(output: &crate::pipeline::Output, message: &Message) -> Result<NewMessage, Fail> {
    use crate::pipeline::Output;
    use crate::store::Label;
    let Ok(Content::Raw(raw)) = &message.content else {
        return Err(Fail::Invalid("the message has no bytes".into()));
    };
    let json = serde_json::to_string(output).map_err(|e| Fail::Internal(e.to_string()))?;
    let mut n = NewMessage::new(raw.clone(), json);
    n.record_schema = Some(crate::pipeline::RECORD_SCHEMA.into());
    n.source = Some(message.provenance.path.clone());
    let email = message.parse(&crate::pipeline::Limits::default()).ok();
    if let Some(e) = &email {
        n.header_message_id = e.message_id.clone();
        n.body_text = e.body.clone();
        n.conversation_key = e
            .references
            .first()
            .or(e.in_reply_to.as_ref())
            .or(e.message_id.as_ref())
            .cloned();
    }
    match output {
        Output::Error(e) => {
            n.error_kind = Some(e.error.kind.clone());
            n.needs_review = true;
            n.review_reasons = vec![format!("error:{}", e.error.kind)];
        }
        Output::Record(r) => {
            for a in &r.classification {
                let l = Some(Label::new(a.label.clone(), f64::from(a.probability)));
                match a.axis.as_str() {
                    "category" => n.category = l,
                    "priority" => n.priority = l,
                    "junk" => n.junk = l,
                    _ => {}
                }
                for reason in &a.reasons {
                    let v = serde_json::to_value(reason).unwrap_or_default();
                    let name = v.get("reason").and_then(|x| x.as_str()).unwrap_or("review");
                    n.review_reasons.push(format!("{}:{name}", a.axis));
                }
            }
            n.urgent = n
                .priority
                .as_ref()
                .is_some_and(|p| p.label == crate::store::URGENT_LABEL);
            n.needs_review = r.needs_review;
            if r.summary.as_ref().is_some_and(|s| s.needs_review) {
                n.review_reasons.push("summary:unfaithful".into());
            }
            n.sender = r.from.clone();
            n.subject = r.subject.clone();
            n.date_ms = r
                .date
                .as_deref()
                .and_then(|d| d.parse::<jiff::Timestamp>().ok())
                .map(|t| t.as_millisecond());
            n.taxonomy_version = r
                .taxonomy
                .as_ref()
                .map(|t| format!("{}@{}", t.name, t.version));
            n.model_version = r
                .models
                .encoder
                .as_ref()
                .map(|m| format!("{}@{}", m.id, m.sha256.get(..8).unwrap_or(&m.sha256)));
        }
    }
    Ok(n)
}
