//! The message page: what the caseworker needs to answer one message. The summary, the urgency
//! evidence and key facts (marked in the text where the record has them), every axis with its
//! probabilities and review reasons, the text itself (as text, never as HTML), attachments
//! listed (never opened), the conversation in order, the history of the work on it, and the
//! actions, each with its key. `/messages/{id}/original` shows the headers and the original
//! text, also as text.

use axum::extract::{Path, Query, State};
use maud::{html, Markup};

use super::layout::page;
use super::message_parts::{actions, decisions, history};
use super::queue::badges;
use super::when;
use crate::desk::auth::User;
use crate::desk::error::{Fail, Page};
use crate::desk::filters::QueueParams;
use crate::desk::highlight::{self, Mark, MarkKind};
use crate::desk::record::RecordView;
use crate::desk::DeskState;
use crate::pipeline::{Content, Limits, Message, Provenance, SourceKind};
use crate::store::{MessageId, QueueItem, Store};

/// What the page shows of the parsed message.
pub struct Shown {
    /// The decoded text (HTML-only mail: rendered to text by the parser).
    pub body: String,
    /// To recipients.
    pub to: Vec<String>,
    /// Cc recipients.
    pub cc: Vec<String>,
    /// Attachments: name, type, size.
    pub attachments: Vec<(String, String, usize)>,
    /// What was not clean about the parse.
    pub warnings: Vec<String>,
}

/// Parse stored bytes for showing (`None` when they cannot be parsed).
pub fn shown(raw: &[u8]) -> Option<Shown> {
    let m = Message {
        id: String::new(),
        provenance: Provenance {
            path: "store".into(),
            kind: SourceKind::Eml,
            index: None,
            offset: None,
        },
        content: Ok(Content::Raw(raw.to_vec())),
    };
    let email = m.parse(&Limits::default()).ok()?;
    Some(Shown {
        to: email.to.iter().map(|m| m.to_string()).collect(),
        cc: email.cc.iter().map(|m| m.to_string()).collect(),
        attachments: email
            .attachments
            .iter()
            .map(|a| {
                (
                    a.name.clone().unwrap_or_else(|| "(no name)".into()),
                    a.mime_type.clone(),
                    a.size,
                )
            })
            .collect(),
        warnings: email.warnings,
        body: email.body,
    })
}

/// The message's neighbours in the queue it was opened from: `(id, place)` before and after.
pub type Neighbours = (Option<(MessageId, u64)>, Option<(MessageId, u64)>);

async fn neighbours(store: &Store, p: &QueueParams, id: MessageId) -> Result<Neighbours, Fail> {
    let Some(at) = p.at()? else {
        return Ok((None, None));
    };
    let mut q = p.to_query(3)?;
    q.offset = at.saturating_sub(1);
    q.limit = 3;
    let items = store.queue(&q).await?.items;
    let base = q.offset;
    let entry = |i: usize| items.get(i).map(|m: &QueueItem| (m.id, base + i as u64));
    Ok(match items.iter().position(|m| m.id == id) {
        Some(pos) => (pos.checked_sub(1).and_then(entry), entry(pos + 1)),
        // It moved (an action changed its place): what is now at its old place comes next.
        None => {
            let here = (at - base) as usize;
            (here.checked_sub(1).and_then(entry), entry(here))
        }
    })
}

/// The marks for one field of the message (`subject` or `body`).
fn marks(record: &RecordView, field: &str) -> Vec<Mark> {
    let mut out: Vec<Mark> = record
        .evidence
        .iter()
        .filter(|e| e.field == field)
        .map(|e| Mark {
            kind: MarkKind::Evidence,
            text: e.text.clone(),
            title: format!(
                "urgency evidence: {}{}",
                e.kind.replace('_', " "),
                if e.detail.is_empty() {
                    String::new()
                } else {
                    format!(" ({})", e.detail)
                }
            ),
            hint: e.start,
        })
        .collect();
    out.extend(
        record
            .facts
            .iter()
            .filter(|f| f.field == field)
            .map(|f| Mark {
                kind: MarkKind::Fact,
                text: f.text.clone(),
                title: format!("key fact: {}", f.kind.replace('_', " ")),
                hint: f.start,
            }),
    );
    if field == "body" {
        if let Some(s) = &record.summary {
            out.extend(
                highlight::summary_sentences(&s.text)
                    .into_iter()
                    .map(|text| Mark {
                        kind: MarkKind::Summary,
                        text,
                        title: "in the summary".into(),
                        hint: None,
                    }),
            );
        }
    }
    out
}

/// Everything the page shows.
pub struct View {
    /// The stored message.
    pub msg: crate::store::StoredMessage,
    /// Its record, read for people.
    pub record: RecordView,
    /// The parsed message, when its bytes are kept and parse.
    pub shown: Option<Shown>,
    /// Its conversation, oldest first (empty when alone).
    pub conversation: Vec<QueueItem>,
    /// Notes, corrections and audit entries.
    pub notes: Vec<crate::store::Note>,
    /// Corrections.
    pub corrections: Vec<crate::store::Correction>,
    /// Audit entries, newest first.
    pub audit: Vec<crate::store::AuditEntry>,
    /// Accounts that can be assigned.
    pub assignable: Vec<String>,
    /// Before and after in the queue.
    pub neighbours: Neighbours,
    /// The queue's filters (for links back and on).
    pub params: QueueParams,
}

async fn load(state: &DeskState, id: MessageId, params: QueueParams) -> Result<View, Fail> {
    let store = state.store();
    let msg = store.message(id).await?.ok_or(Fail::NotFound)?;
    let raw = store.raw(id).await?;
    let conversation = match &msg.item.conversation {
        Some(k) if msg.item.conversation_size > 1 => store.conversation(k).await?,
        _ => Vec::new(),
    };
    Ok(View {
        record: RecordView::parse(&msg.record_json),
        shown: raw.as_deref().and_then(shown),
        conversation,
        notes: store.notes(id).await?,
        corrections: store.corrections(Some(id)).await?,
        audit: store.audit(Some(id), 50).await?,
        assignable: store
            .accounts()
            .await?
            .into_iter()
            .filter(|a| !a.disabled)
            .map(|a| a.name)
            .collect(),
        neighbours: neighbours(store, &params, id).await?,
        params,
        msg,
    })
}

/// `GET /messages/{id}`.
pub async fn show(
    State(state): State<DeskState>,
    User(user): User,
    Path(id): Path<i64>,
    Query(params): Query<QueueParams>,
) -> Result<Markup, Page> {
    let v = load(&state, MessageId(id), params).await?;
    let item = &v.msg.item;
    let subject = item
        .subject
        .as_deref()
        .filter(|s| !s.trim().is_empty())
        .unwrap_or("(no subject)");
    let subject_marks = highlight::place(subject, &marks(&v.record, "subject"));
    let title = subject.chars().take(80).collect::<String>();
    let here = format!("/messages/{}?{}", item.id, v.params.context(v.params.at()?));
    let group = match item.group {
        Some(g) => state.store().group(g).await?,
        None => None,
    };
    Ok(page(
        &title,
        Some(&user),
        html! {
            (nav(&v))
            h1 #subject { (badges(item)) (highlight::render(subject, &subject_marks)) }
            (meta(&v))
            div.message {
                div {
                    (summary(&v))
                    (evidence_and_facts(&v))
                    (super::replies::panel(&v.msg.record_json))
                    (text(&v))
                    (attachments(&v))
                    (conversation(&v))
                }
                div {
                    (decisions(&v, &user, &here))
                    (actions(&v, &user, &here))
                    (super::group::panel(&v, group.as_ref(), &user, &here))
                    (history(&v))
                }
            }
        },
    ))
}

fn link(id: MessageId, p: &QueueParams, at: u64) -> String {
    format!("/messages/{id}?{}", p.context(Some(at)))
}

fn nav(v: &View) -> Markup {
    let p = &v.params;
    let (prev, next) = v.neighbours;
    html! {
        nav.pager aria-label="Queue" {
            a href=(p.page(0)) data-key="q" { "← queue " kbd { "q" } }
            @if let Some((id, at)) = prev { a href=(link(id, p, at)) data-key="k" rel="prev" { "previous " kbd { "k" } } }
            @if let Some((id, at)) = next { a href=(link(id, p, at)) data-key="j" rel="next" { "next " kbd { "j" } } }
            a href={ "/messages/" (v.msg.item.id) "/original" } data-key="h" { "headers and original text " kbd { "h" } }
        }
    }
}

fn meta(v: &View) -> Markup {
    let item = &v.msg.item;
    html! {
        dl.meta {
            dt { "From" } dd { (item.sender.as_deref().unwrap_or("unknown")) }
            @if let Some(s) = &v.shown {
                @if !s.to.is_empty() { dt { "To" } dd { (s.to.join(", ")) } }
                @if !s.cc.is_empty() { dt { "Cc" } dd { (s.cc.join(", ")) } }
            }
            dt { "Date" } dd { (when(item.date_ms.unwrap_or(item.stored_at))) }
            dt { "Status" } dd #status { (item.status.as_str().replace('_', " ")) }
            dt { "Assignee" } dd #assignee { (item.assignee.as_deref().unwrap_or("nobody")) }
            @if let Some(lang) = &v.record.language { dt { "Language" } dd { (lang) } }
        }
    }
}

fn summary(v: &View) -> Markup {
    let r = &v.record;
    html! {
        @if let Some(e) = &r.error {
            section.card.error-box { h2 { "Triage failed" } p { (e) } }
        }
        @if let Some(s) = &r.summary {
            section.card aria-labelledby="summary-title" {
                h2 #summary-title { "Summary " span.muted { "(" (s.method) ")" } }
                p #summary { (s.text) }
                @if !s.unsupported.is_empty() {
                    p.error-box { "Not supported by the message: " (s.unsupported.join(", ")) }
                }
            }
        }
        @if let Some(c) = &r.conversation_summary {
            section.card { h2 { "The conversation" } p { (c) }
                @if !r.open_questions.is_empty() {
                    h2 { "Open questions" } ul { @for q in &r.open_questions { li { (q) } } }
                }
            }
        }
    }
}

fn evidence_and_facts(v: &View) -> Markup {
    let r = &v.record;
    html! {
        @if !r.evidence.is_empty() {
            section.card #evidence aria-labelledby="evidence-title" {
                h2 #evidence-title { "Why it may be urgent" }
                ul { @for e in &r.evidence {
                    li { mark.evidence { (e.text) } " — " (e.kind.replace('_', " "))
                        @if !e.detail.is_empty() { ": " (e.detail) }
                        @if e.strong { " " span.badge.urgent { "strong" } } }
                } }
            }
        }
        @if !r.facts.is_empty() {
            section.card #facts aria-labelledby="facts-title" {
                h2 #facts-title { "Key facts" }
                ul { @for f in &r.facts {
                    li { (f.kind.replace('_', " ")) ": " mark.fact { (f.text) }
                        @if let Some(val) = &f.value { @if val != &f.text { " (" (val) ")" } } }
                } }
            }
        }
    }
}

fn text(v: &View) -> Markup {
    html! {
        section.card aria-labelledby="text-title" {
            h2 #text-title { "The message" }
            @match &v.shown {
                Some(s) => {
                    @let placed = highlight::place(&s.body, &marks(&v.record, "body"));
                    @if !placed.is_empty() {
                        p.legend.muted {
                            "Marked: "
                            @if placed.iter().any(|p| p.kind == MarkKind::Evidence) { mark.evidence { "urgency evidence" } " " }
                            @if placed.iter().any(|p| p.kind == MarkKind::Fact) { mark.fact { "key facts" } " " }
                            @if placed.iter().any(|p| p.kind == MarkKind::Summary) { mark.summary { "the summary's sentences" } }
                        }
                    }
                    pre.body #body { (highlight::render(&s.body, &placed)) }
                    @if !s.warnings.is_empty() {
                        p.muted { "Parsed with warnings: " (s.warnings.join("; ")) }
                    }
                }
                None => {
                    p.notice { "The message's bytes are not kept in the store, or cannot be parsed; see "
                        a href={ "/messages/" (v.msg.item.id) "/original" } { "the original" } "." }
                }
            }
        }
    }
}

fn attachments(v: &View) -> Markup {
    html! {
        @if let Some(s) = &v.shown {
            @if !s.attachments.is_empty() {
                section.card aria-labelledby="att-title" {
                    h2 #att-title { "Attachments " span.muted { "(listed, never opened)" } }
                    ul #attachments { @for (name, kind, size) in &s.attachments {
                        li { (name) " " span.muted { "(" (kind) ", " (size) " bytes)" } }
                    } }
                }
            }
        }
    }
}

fn conversation(v: &View) -> Markup {
    let id = v.msg.item.id;
    html! {
        @if v.conversation.len() > 1 {
            section.card aria-labelledby="conv-title" {
                h2 #conv-title { "Conversation " span.muted { "(" (v.conversation.len()) " messages, oldest first)" } }
                ol.conversation {
                    @for m in &v.conversation {
                        @let label = m.subject.as_deref().unwrap_or("(no subject)");
                        li aria-current=[(m.id == id).then_some("true")] {
                            @if m.id == id { (label) } @else { a href={ "/messages/" (m.id) } { (label) } }
                            " " span.muted { (m.sender.as_deref().unwrap_or("")) ", " (when(m.date_ms.unwrap_or(m.stored_at))) }
                        }
                    }
                }
                @if let Some(key) = &v.msg.item.conversation {
                    p { a href=(v.params.with("conversation", Some(key))) { "Show the conversation in the queue" } }
                }
            }
        }
    }
}

/// `GET /messages/{id}/original`: the headers and the original text, as text.
pub async fn original(
    State(state): State<DeskState>,
    User(user): User,
    Path(id): Path<i64>,
) -> Result<Markup, Page> {
    let id = MessageId(id);
    let msg = state.store().message(id).await?.ok_or(Fail::NotFound)?;
    let raw = state.store().raw(id).await?;
    let text = raw.as_deref().map(String::from_utf8_lossy);
    let headers = text.as_deref().map(|t| {
        let end = t
            .find("\r\n\r\n")
            .or_else(|| t.find("\n\n"))
            .unwrap_or(t.len());
        t[..end].to_string()
    });
    Ok(page(
        "Original message",
        Some(&user),
        html! {
            nav.pager { a href={ "/messages/" (id) } data-key="q" { "← the message " kbd { "q" } } }
            h1 { "Original message" }
            p.notice { "Shown as text: nothing in it is run, rendered or loaded." }
            @match (&headers, &text) {
                (Some(h), Some(t)) => {
                    h2 { "Headers" }
                    pre.original #headers { (h) }
                    h2 { "The whole message " span.muted { "(" (t.len()) " bytes)" } }
                    pre.original #original { (t) }
                }
                _ => {
                    p { "The store keeps only a reference to this message: "
                        code { (msg.raw_ref.as_deref().unwrap_or("none")) } }
                }
            }
        },
    ))
}
