//! Putting messages in and reading them back: the raw bytes (or a reference to where they
//! live), the record JSON, the queue's typed columns, review reasons, search text and the
//! conversation count, written in one transaction per call. Idempotent by SHA-256.

use sha2::{Digest, Sha256};
use sqlx::any::AnyRow;

use super::cursors::{advance_cursor, CursorUpdate};
use super::error::{query, StoreError, StoreResult};
use super::queue::{fill_reasons, item_from_row, QueueItem, ITEM_COLUMNS, ITEM_FROM};
use super::similar::Signature;
use super::types::{col, now_ms, Label, MessageId};
use super::Store;

/// Search text kept per message: subject, sender and this many characters of the body.
pub const SEARCH_BODY_CHARS: usize = 20_000;

/// A message to store, with its record and the columns the queue uses.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct NewMessage {
    /// SHA-256 of the raw bytes, lowercase hex: the message's identity.
    pub sha256: String,
    /// The raw bytes (`None` when only a reference is kept).
    pub raw: Option<Vec<u8>>,
    /// Where the bytes live when they are not kept (a path, an IMAP URL with UID).
    pub raw_ref: Option<String>,
    /// Size of the raw message in bytes.
    pub raw_size: u64,
    /// The Message-ID header.
    pub header_message_id: Option<String>,
    /// Where it came from (a path, a mailbox), for people.
    pub source: Option<String>,
    /// The triage record (or error record) as a JSON object.
    pub record_json: String,
    /// The record's schema name (`mailroom.triage/1`).
    pub record_schema: Option<String>,
    /// Set when the record is an error record: the error kind.
    pub error_kind: Option<String>,
    /// The category decision.
    pub category: Option<Label>,
    /// The priority decision.
    pub priority: Option<Label>,
    /// The junk decision.
    pub junk: Option<Label>,
    /// Whether a person must look at it.
    pub needs_review: bool,
    /// Why (stable short names such as `category:low_confidence`).
    pub review_reasons: Vec<String>,
    /// Whether it is urgent.
    pub urgent: bool,
    /// The Date header, ms since the epoch.
    pub date_ms: Option<i64>,
    /// The sender.
    pub sender: Option<String>,
    /// The subject.
    pub subject: Option<String>,
    /// The body text, for search (only the search index keeps it).
    pub body_text: String,
    /// The conversation it belongs to.
    pub conversation_key: Option<String>,
    /// The models behind the record (for the audit log), such as head ids and hashes.
    pub model_version: Option<String>,
    /// The taxonomy behind the record (`name@version`).
    pub taxonomy_version: Option<String>,
    /// The near-duplicate signature of the body text ([`Signature::of`]); the message joins
    /// the group of the stored messages that are the same letter. `None`: never grouped.
    pub similarity: Option<Signature>,
}

impl NewMessage {
    /// A message from its raw bytes and record JSON; the hash and size are computed, the other
    /// fields left empty for the caller to fill.
    pub fn new(raw: Vec<u8>, record_json: String) -> NewMessage {
        NewMessage {
            sha256: hex::encode(Sha256::digest(&raw)),
            raw_size: raw.len() as u64,
            raw: Some(raw),
            record_json,
            ..NewMessage::default()
        }
    }

    /// Check the hash and that the record is a JSON object.
    pub(crate) fn validate(&self) -> StoreResult<()> {
        let hex_ok = self.sha256.len() == 64
            && self
                .sha256
                .bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b));
        if !hex_ok {
            return Err(StoreError::Invalid {
                what: "message hash",
                reason: "not 64 lowercase hex digits".into(),
            });
        }
        match serde_json::from_str::<serde_json::Value>(&self.record_json) {
            Ok(serde_json::Value::Object(_)) => Ok(()),
            Ok(_) => Err(StoreError::Invalid {
                what: "record",
                reason: "not a JSON object".into(),
            }),
            Err(e) => Err(StoreError::Invalid {
                what: "record",
                reason: e.to_string(),
            }),
        }
    }

    /// The lowercased text the search index keeps.
    fn search_text(&self) -> String {
        let mut s = String::new();
        for part in [&self.subject, &self.sender].into_iter().flatten() {
            s.push_str(part);
            s.push('\n');
        }
        s.extend(self.body_text.chars().take(SEARCH_BODY_CHARS));
        s.to_lowercase()
    }
}

/// What a put did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Put {
    /// The message is new and was stored.
    Added(MessageId),
    /// A message with the same hash was already stored; nothing changed.
    Exists(MessageId),
}

impl Put {
    /// The message's id either way.
    pub fn id(self) -> MessageId {
        match self {
            Put::Added(id) | Put::Exists(id) => id,
        }
    }

    /// Whether the message was new.
    pub fn is_added(self) -> bool {
        matches!(self, Put::Added(_))
    }
}

/// A stored message without its raw bytes.
#[derive(Debug, Clone, PartialEq)]
pub struct StoredMessage {
    /// How the queue shows it (labels, status, assignee...).
    pub item: QueueItem,
    /// The Message-ID header.
    pub header_message_id: Option<String>,
    /// Where it came from.
    pub source: Option<String>,
    /// Where its bytes live when they are not kept.
    pub raw_ref: Option<String>,
    /// Size of the raw message.
    pub raw_size: i64,
    /// The record as stored (the model's decision; corrections are kept apart).
    pub record_json: String,
}

impl Store {
    /// Store one message with its record; nothing changes when its hash is already stored.
    pub async fn put(&self, msg: &NewMessage) -> StoreResult<Put> {
        Ok(self.put_batch(std::slice::from_ref(msg), None).await?[0])
    }

    /// Store messages in one transaction, and advance a mailbox cursor in the same transaction
    /// (so that the position never runs ahead of the records). All or nothing.
    pub async fn put_batch(
        &self,
        msgs: &[NewMessage],
        cursor: Option<&CursorUpdate>,
    ) -> StoreResult<Vec<Put>> {
        for m in msgs {
            m.validate()?;
        }
        let mut tx = self.write_tx().await?;
        let mut out = Vec::with_capacity(msgs.len());
        for m in msgs {
            out.push(self.put_in_tx(&mut tx, m).await?);
        }
        if let Some(c) = cursor {
            advance_cursor(self, &mut tx, c).await?;
        }
        tx.commit().await.map_err(query("commit messages"))?;
        Ok(out)
    }

    /// The message with this hash, if stored.
    pub async fn find(&self, sha256: &str) -> StoreResult<Option<MessageId>> {
        let id: Option<i64> = sqlx::query_scalar("SELECT id FROM messages WHERE sha256 = $1")
            .bind(sha256)
            .fetch_optional(&self.pool)
            .await
            .map_err(query("find message"))?;
        Ok(id.map(MessageId))
    }

    /// A stored message (without its bytes).
    pub async fn message(&self, id: MessageId) -> StoreResult<Option<StoredMessage>> {
        let sql = format!(
            "SELECT {ITEM_COLUMNS}, m.header_message_id, m.source, m.raw_ref, m.raw_size, \
             r.record_json FROM {ITEM_FROM} JOIN records r ON r.message_id = t.message_id \
             WHERE t.message_id = $1"
        );
        let mut conn = self.pool.acquire().await.map_err(query("acquire"))?;
        let Some(row) = sqlx::query(&sql)
            .bind(id.0)
            .fetch_optional(&mut *conn)
            .await
            .map_err(query("read message"))?
        else {
            return Ok(None);
        };
        let mut item = [item_from_row(&row)?];
        fill_reasons(&mut conn, &mut item).await?;
        let [item] = item;
        Ok(Some(stored_from_row(&row, item)?))
    }

    /// A stored message's raw bytes (`None` when unknown or only a reference is kept).
    pub async fn raw(&self, id: MessageId) -> StoreResult<Option<Vec<u8>>> {
        let raw: Option<Option<Vec<u8>>> =
            sqlx::query_scalar("SELECT raw FROM messages WHERE id = $1")
                .bind(id.0)
                .fetch_optional(&self.pool)
                .await
                .map_err(query("read raw message"))?;
        Ok(raw.flatten())
    }

    /// The messages of a conversation, oldest first.
    pub async fn conversation(&self, key: &str) -> StoreResult<Vec<QueueItem>> {
        let sql = format!(
            "SELECT {ITEM_COLUMNS} FROM {ITEM_FROM} WHERE t.conv_key = $1 \
             ORDER BY t.sort_date, t.message_id"
        );
        let mut conn = self.pool.acquire().await.map_err(query("acquire"))?;
        let rows = sqlx::query(&sql)
            .bind(key)
            .fetch_all(&mut *conn)
            .await
            .map_err(query("read conversation"))?;
        let mut items = rows
            .iter()
            .map(item_from_row)
            .collect::<StoreResult<Vec<_>>>()?;
        fill_reasons(&mut conn, &mut items).await?;
        Ok(items)
    }

    /// How many messages are stored.
    pub async fn count(&self) -> StoreResult<i64> {
        sqlx::query_scalar("SELECT COUNT(*) FROM messages")
            .fetch_one(&self.pool)
            .await
            .map_err(query("count messages"))
    }

    /// Insert one (validated) message inside a transaction.
    pub(crate) async fn put_in_tx(
        &self,
        tx: &mut sqlx::AnyConnection,
        m: &NewMessage,
    ) -> StoreResult<Put> {
        let now = now_ms();
        let inserted: Option<i64> = sqlx::query_scalar(
            "INSERT INTO messages (sha256, header_message_id, source, raw, raw_ref, raw_size, \
             stored_at) VALUES ($1, $2, $3, $4, $5, $6, $7) \
             ON CONFLICT (sha256) DO NOTHING RETURNING id",
        )
        .bind(&m.sha256)
        .bind(m.header_message_id.as_deref())
        .bind(m.source.as_deref())
        .bind(m.raw.as_deref())
        .bind(m.raw_ref.as_deref())
        .bind(i64::try_from(m.raw_size).unwrap_or(i64::MAX))
        .bind(now)
        .fetch_optional(&mut *tx)
        .await
        .map_err(query("insert message"))?;
        let Some(id) = inserted else {
            let id: i64 = sqlx::query_scalar("SELECT id FROM messages WHERE sha256 = $1")
                .bind(&m.sha256)
                .fetch_one(&mut *tx)
                .await
                .map_err(query("find message"))?;
            return Ok(Put::Exists(MessageId(id)));
        };
        sqlx::query(
            "INSERT INTO records (message_id, record_schema, record_json, error_kind) \
             VALUES ($1, $2, $3, $4)",
        )
        .bind(id)
        .bind(m.record_schema.as_deref())
        .bind(m.record_json.as_str())
        .bind(m.error_kind.as_deref())
        .execute(&mut *tx)
        .await
        .map_err(query("insert record"))?;
        self.insert_triage(tx, id, m, now).await?;
        for reason in dedup(&m.review_reasons) {
            sqlx::query("INSERT INTO review_reasons (message_id, reason) VALUES ($1, $2)")
                .bind(id)
                .bind(reason)
                .execute(&mut *tx)
                .await
                .map_err(query("insert review reason"))?;
        }
        sqlx::query("INSERT INTO search (message_id, body) VALUES ($1, $2)")
            .bind(id)
            .bind(m.search_text())
            .execute(&mut *tx)
            .await
            .map_err(query("insert search text"))?;
        if let Some(sig) = &m.similarity {
            self.join_group(tx, MessageId(id), sig, m.date_ms.unwrap_or(now))
                .await?;
        }
        if let Some(key) = &m.conversation_key {
            sqlx::query(
                "INSERT INTO conversations (conv_key, message_count) VALUES ($1, 1) \
                 ON CONFLICT (conv_key) DO UPDATE \
                 SET message_count = conversations.message_count + 1",
            )
            .bind(key)
            .execute(&mut *tx)
            .await
            .map_err(query("count conversation"))?;
        }
        Ok(Put::Added(MessageId(id)))
    }

    async fn insert_triage(
        &self,
        tx: &mut sqlx::AnyConnection,
        id: i64,
        m: &NewMessage,
        now: i64,
    ) -> StoreResult<()> {
        let (c, cp) = split(&m.category);
        let (p, pp) = split(&m.priority);
        let (j, jp) = split(&m.junk);
        sqlx::query(
            "INSERT INTO triage (message_id, category, category_p, priority, priority_p, junk, \
             junk_p, needs_review, urgent, is_error, date_ms, sort_date, sender, subject, \
             conv_key, status, model_version, taxonomy_version, updated_at) VALUES ($1, $2, $3, \
             $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, 'open', $16, $17, $18)",
        )
        .bind(id)
        .bind(c)
        .bind(cp)
        .bind(p)
        .bind(pp)
        .bind(j)
        .bind(jp)
        .bind(i64::from(m.needs_review))
        .bind(i64::from(m.urgent))
        .bind(i64::from(m.error_kind.is_some()))
        .bind(m.date_ms)
        .bind(m.date_ms.unwrap_or(now))
        .bind(m.sender.as_deref())
        .bind(m.subject.as_deref())
        .bind(m.conversation_key.as_deref())
        .bind(m.model_version.as_deref())
        .bind(m.taxonomy_version.as_deref())
        .bind(now)
        .execute(&mut *tx)
        .await
        .map_err(query("insert triage columns"))?;
        Ok(())
    }
}

fn split(l: &Option<Label>) -> (Option<&str>, Option<f64>) {
    match l {
        Some(l) => (Some(l.label.as_str()), l.probability),
        None => (None, None),
    }
}

fn dedup(v: &[String]) -> Vec<&str> {
    let mut out: Vec<&str> = v.iter().map(String::as_str).collect();
    out.sort_unstable();
    out.dedup();
    out
}

fn stored_from_row(row: &AnyRow, item: QueueItem) -> StoreResult<StoredMessage> {
    Ok(StoredMessage {
        item,
        header_message_id: col(row, "header_message_id")?,
        source: col(row, "source")?,
        raw_ref: col(row, "raw_ref")?,
        raw_size: col(row, "raw_size")?,
        record_json: col(row, "record_json")?,
    })
}
