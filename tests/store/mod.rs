//! The store against real databases: every case runs on SQLite (a file in a temporary folder)
//! and on PostgreSQL (a server this test process starts on loopback, see `pg_server.rs`).

pub mod pg_server;

mod accounts;
mod crash;
mod groups;
mod jobs;
mod messages;
mod queue;
mod review;
mod training;
mod upgrade;

use std::future::Future;

use mailroom::store::{Label, NewMessage, Store};

/// A database for one test case.
pub struct TestDb {
    /// Its store URL.
    pub url: String,
    /// Keeps the SQLite folder alive for the test.
    _dir: Option<tempfile::TempDir>,
}

impl TestDb {
    /// Open (another handle on) the store.
    pub async fn open(&self) -> Store {
        Store::open(&self.url).await.expect("store opens")
    }
}

/// Run a case on a new SQLite store.
pub fn on_sqlite<F, Fut>(case: F)
where
    F: FnOnce(TestDb) -> Fut,
    Fut: Future<Output = ()>,
{
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite:{}", dir.path().join("store.db").display());
    runtime().block_on(case(TestDb {
        url,
        _dir: Some(dir),
    }));
}

/// Run a case on a new database of the shared PostgreSQL server.
pub fn on_postgres<F, Fut>(case: F)
where
    F: FnOnce(TestDb) -> Fut,
    Fut: Future<Output = ()>,
{
    let server = pg_server::server();
    let rt = runtime();
    let url = rt.block_on(server.fresh_db());
    rt.block_on(case(TestDb { url, _dir: None }));
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap()
}

/// One case, as a test on each engine: `both!(name, |db| async move { ... });`
macro_rules! both {
    ($name:ident, $case:expr) => {
        mod $name {
            #[allow(unused_imports)]
            use super::*;

            #[test]
            fn sqlite() {
                crate::store::on_sqlite($case);
            }

            #[test]
            fn postgres() {
                crate::store::on_postgres($case);
            }
        }
    };
}
pub(crate) use both;

/// A message as the pipeline would store it: a small real-looking email with its record.
pub fn message(i: usize, m: Msg) -> NewMessage {
    let raw = format!(
        "From: {from}\r\nSubject: {subject}\r\nMessage-ID: <m{i}@example.org>\r\n\r\n{body}\r\n",
        from = m.sender,
        subject = m.subject,
        body = m.body
    );
    let record = serde_json::json!({
        "schema": "mailroom.triage/1",
        "id": format!("<m{i}@example.org>"),
        "subject": m.subject,
        "classification": [
            {"axis": "category", "label": m.category, "probability": 0.7},
            {"axis": "priority", "label": if m.urgent { "urgent" } else { "routine" }, "probability": 0.8},
            {"axis": "junk", "label": "legitimate", "probability": 0.95}
        ],
        "needs_review": m.needs_review,
    });
    let mut n = NewMessage::new(raw.into_bytes(), record.to_string());
    n.header_message_id = Some(format!("<m{i}@example.org>"));
    n.source = Some(format!("test/{i}.eml"));
    n.record_schema = Some("mailroom.triage/1".into());
    n.category = Some(Label::new(m.category, 0.7));
    n.priority = Some(Label::new(if m.urgent { "urgent" } else { "routine" }, 0.8));
    n.junk = Some(Label::new("legitimate", 0.95));
    n.urgent = m.urgent;
    n.needs_review = m.needs_review;
    n.review_reasons = m.reasons.iter().map(|s| s.to_string()).collect();
    n.date_ms = Some(m.date_ms);
    n.sender = Some(m.sender.to_string());
    n.subject = Some(m.subject.to_string());
    n.body_text = m.body.to_string();
    n.conversation_key = m.conversation.map(str::to_string);
    n.model_version = Some("all-minilm-l6-v2@53aa5117".into());
    n.taxonomy_version = Some("public-service@1.0.1".into());
    n
}

/// What varies between test messages.
#[derive(Clone, Copy)]
pub struct Msg {
    pub sender: &'static str,
    pub subject: &'static str,
    pub body: &'static str,
    pub category: &'static str,
    pub urgent: bool,
    pub needs_review: bool,
    pub reasons: &'static [&'static str],
    pub date_ms: i64,
    pub conversation: Option<&'static str>,
}

impl Default for Msg {
    fn default() -> Self {
        Msg {
            sender: "resident@example.org",
            subject: "Bin not collected",
            body: "The green bin on Elm Street was not collected on Tuesday.",
            category: "complaint",
            urgent: false,
            needs_review: false,
            reasons: &[],
            date_ms: 1_700_000_000_000,
            conversation: None,
        }
    }
}
