//! The review work on a message: accepting the decision, correcting a label, assigning,
//! setting the status, adding notes. Each action is one transaction that changes the state and
//! writes one audit entry (who, when, action, before, after, and the model and taxonomy
//! versions behind the record).

use serde::Serialize;
use serde_json::{json, Value};
use sqlx::any::AnyRow;

use super::error::{query, StoreError, StoreResult};
use super::groups::GroupId;
use super::types::{col, flag, MessageId, Status};
use super::Store;

/// The priority label that makes a message urgent (the default taxonomy's).
pub const URGENT_LABEL: &str = "urgent";

/// A label a person set.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Correction {
    /// Its id.
    pub id: i64,
    /// The message.
    pub message_id: MessageId,
    /// The axis.
    pub axis: String,
    /// The label before (the model's, or an earlier correction's).
    pub before: Option<String>,
    /// The label set.
    pub after: String,
    /// Who set it.
    pub actor: String,
    /// When (ms since the epoch).
    pub at_ms: i64,
}

/// A note on a message.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Note {
    /// Its id.
    pub id: i64,
    /// The message.
    pub message_id: MessageId,
    /// Who wrote it.
    pub author: String,
    /// When (ms since the epoch).
    pub at_ms: i64,
    /// The text.
    pub body: String,
}

/// One entry of the audit log.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AuditEntry {
    /// Its id (increasing).
    pub id: i64,
    /// When (ms since the epoch, database clock).
    pub at_ms: i64,
    /// Who.
    pub actor: String,
    /// What: `accept`, `correct`, `assign`, `status`, `note`, `head.train`,
    /// `head.train_failed`, `head.add`, `head.promote`, `head.retire`, `account.add`,
    /// `account.role`, `account.password`, `account.disable`.
    pub action: String,
    /// The message, when the action was on one.
    pub message_id: Option<MessageId>,
    /// The state before.
    pub before: Option<Value>,
    /// The state after.
    pub after: Option<Value>,
    /// The models behind the message's record at the time.
    pub model_version: Option<String>,
    /// The taxonomy behind the message's record at the time.
    pub taxonomy_version: Option<String>,
}

/// The review state of a message, read under a lock inside a write transaction.
struct Current {
    category: Option<String>,
    priority: Option<String>,
    junk: Option<String>,
    needs_review: bool,
    status: String,
    assignee: Option<String>,
    model_version: Option<String>,
    taxonomy_version: Option<String>,
}

/// The typed column of an axis, if it has one.
fn axis_column(axis: &str) -> Option<&'static str> {
    match axis {
        "category" => Some("category"),
        "priority" => Some("priority"),
        "junk" => Some("junk"),
        _ => None,
    }
}

impl Store {
    /// Set a label on one axis (any axis; `category`, `priority` and `junk` also change what
    /// the queue filters on, and a `priority` of [`URGENT_LABEL`] makes the message urgent).
    /// The message no longer needs review.
    pub async fn correct(
        &self,
        id: MessageId,
        actor: &str,
        axis: &str,
        label: &str,
    ) -> StoreResult<Correction> {
        if axis.is_empty() || label.is_empty() {
            return Err(StoreError::Invalid {
                what: "correction",
                reason: "axis and label must not be empty".into(),
            });
        }
        let mut tx = self.write_tx().await?;
        let c = self
            .correct_in(&mut tx, id, actor, axis, label, None)
            .await?;
        tx.commit().await.map_err(query("commit correction"))?;
        Ok(c)
    }

    /// [`Store::correct`] inside a transaction; `group` is noted in the audit entry when the
    /// correction was made for a whole group.
    pub(crate) async fn correct_in(
        &self,
        tx: &mut sqlx::AnyConnection,
        id: MessageId,
        actor: &str,
        axis: &str,
        label: &str,
        group: Option<GroupId>,
    ) -> StoreResult<Correction> {
        let cur = self.current(&mut *tx, id).await?;
        let before = match axis_column(axis) {
            Some("category") => cur.category.clone(),
            Some("priority") => cur.priority.clone(),
            Some(_) => cur.junk.clone(),
            None => last_correction(&mut *tx, id, axis).await?,
        };
        if let Some(column) = axis_column(axis) {
            let urgent = if axis == "priority" {
                format!(", urgent = {}", i64::from(label == URGENT_LABEL))
            } else {
                String::new()
            };
            let sql = format!(
                "UPDATE triage SET {column} = $1, {column}_p = NULL{urgent}, needs_review = 0, \
                 reviewed_by = $2, reviewed_at = {now}, updated_at = {now} WHERE message_id = $3",
                now = self.engine.now_ms()
            );
            sqlx::query(&sql)
                .bind(label)
                .bind(actor)
                .bind(id.0)
                .execute(&mut *tx)
                .await
                .map_err(query("correct label"))?;
        } else {
            self.mark_reviewed(&mut *tx, id, actor).await?;
        }
        let sql = self.sql(
            "INSERT INTO corrections (message_id, axis, before_label, after_label, actor, at_ms) \
             VALUES ($1, $2, $3, $4, $5, {now}) RETURNING id, at_ms",
        );
        let row = sqlx::query(&sql)
            .bind(id.0)
            .bind(axis)
            .bind(before.as_deref())
            .bind(label)
            .bind(actor)
            .fetch_one(&mut *tx)
            .await
            .map_err(query("insert correction"))?;
        let before_json =
            json!({ "axis": axis, "label": before, "needs_review": cur.needs_review });
        let after_json = with_group(
            json!({ "axis": axis, "label": label, "needs_review": false }),
            group,
        );
        write_audit(
            self,
            &mut *tx,
            cur.audit(actor, "correct", id, Some(before_json), Some(after_json)),
        )
        .await?;
        Ok(Correction {
            id: col(&row, "id")?,
            message_id: id,
            axis: axis.to_string(),
            before,
            after: label.to_string(),
            actor: actor.to_string(),
            at_ms: col(&row, "at_ms")?,
        })
    }

    /// Accept the model's decision as it stands: the message no longer needs review.
    pub async fn accept(&self, id: MessageId, actor: &str) -> StoreResult<()> {
        let mut tx = self.write_tx().await?;
        self.accept_in(&mut tx, id, actor, None).await?;
        tx.commit().await.map_err(query("commit accept"))
    }

    /// [`Store::accept`] inside a transaction (`group`: noted in the audit entry).
    pub(crate) async fn accept_in(
        &self,
        tx: &mut sqlx::AnyConnection,
        id: MessageId,
        actor: &str,
        group: Option<GroupId>,
    ) -> StoreResult<()> {
        let cur = self.current(&mut *tx, id).await?;
        self.mark_reviewed(&mut *tx, id, actor).await?;
        let labels = json!({
            "category": cur.category, "priority": cur.priority, "junk": cur.junk,
        });
        let before = json!({ "needs_review": cur.needs_review, "labels": labels });
        let after = with_group(json!({ "needs_review": false, "labels": labels }), group);
        write_audit(
            self,
            &mut *tx,
            cur.audit(actor, "accept", id, Some(before), Some(after)),
        )
        .await
    }

    /// Assign a message to an account name, or to nobody.
    pub async fn assign(
        &self,
        id: MessageId,
        actor: &str,
        assignee: Option<&str>,
    ) -> StoreResult<()> {
        let mut tx = self.write_tx().await?;
        let cur = self.current(&mut tx, id).await?;
        let sql =
            self.sql("UPDATE triage SET assignee = $1, updated_at = {now} WHERE message_id = $2");
        sqlx::query(&sql)
            .bind(assignee)
            .bind(id.0)
            .execute(&mut *tx)
            .await
            .map_err(query("assign"))?;
        let before = json!({ "assignee": cur.assignee });
        let after = json!({ "assignee": assignee });
        write_audit(
            self,
            &mut tx,
            cur.audit(actor, "assign", id, Some(before), Some(after)),
        )
        .await?;
        tx.commit().await.map_err(query("commit assign"))
    }

    /// Set the work status (answered, needs no reply, or open again).
    pub async fn set_status(&self, id: MessageId, actor: &str, status: Status) -> StoreResult<()> {
        let mut tx = self.write_tx().await?;
        self.set_status_in(&mut tx, id, actor, status, None).await?;
        tx.commit().await.map_err(query("commit status"))
    }

    /// [`Store::set_status`] inside a transaction (`group`: noted in the audit entry).
    pub(crate) async fn set_status_in(
        &self,
        tx: &mut sqlx::AnyConnection,
        id: MessageId,
        actor: &str,
        status: Status,
        group: Option<GroupId>,
    ) -> StoreResult<()> {
        let cur = self.current(&mut *tx, id).await?;
        let sql =
            self.sql("UPDATE triage SET status = $1, updated_at = {now} WHERE message_id = $2");
        sqlx::query(&sql)
            .bind(status.as_str())
            .bind(id.0)
            .execute(&mut *tx)
            .await
            .map_err(query("set status"))?;
        let before = json!({ "status": cur.status });
        let after = with_group(json!({ "status": status.as_str() }), group);
        write_audit(
            self,
            &mut *tx,
            cur.audit(actor, "status", id, Some(before), Some(after)),
        )
        .await
    }

    /// Add a note to a message.
    pub async fn add_note(&self, id: MessageId, author: &str, body: &str) -> StoreResult<Note> {
        let mut tx = self.write_tx().await?;
        let cur = self.current(&mut tx, id).await?;
        let sql = self.sql(
            "INSERT INTO notes (message_id, author, at_ms, body) VALUES ($1, $2, {now}, $3) \
             RETURNING id, at_ms",
        );
        let row = sqlx::query(&sql)
            .bind(id.0)
            .bind(author)
            .bind(body)
            .fetch_one(&mut *tx)
            .await
            .map_err(query("insert note"))?;
        let note_id: i64 = col(&row, "id")?;
        let after = json!({ "note_id": note_id, "body": body });
        write_audit(
            self,
            &mut tx,
            cur.audit(author, "note", id, None, Some(after)),
        )
        .await?;
        tx.commit().await.map_err(query("commit note"))?;
        Ok(Note {
            id: note_id,
            message_id: id,
            author: author.to_string(),
            at_ms: col(&row, "at_ms")?,
            body: body.to_string(),
        })
    }

    /// A message's notes, oldest first.
    pub async fn notes(&self, id: MessageId) -> StoreResult<Vec<Note>> {
        let rows = sqlx::query(
            "SELECT id, message_id, author, at_ms, body FROM notes WHERE message_id = $1 ORDER BY id",
        )
        .bind(id.0)
        .fetch_all(&self.pool)
        .await
        .map_err(query("read notes"))?;
        rows.iter()
            .map(|r| {
                Ok(Note {
                    id: col(r, "id")?,
                    message_id: MessageId(col(r, "message_id")?),
                    author: col(r, "author")?,
                    at_ms: col(r, "at_ms")?,
                    body: col(r, "body")?,
                })
            })
            .collect()
    }

    /// A message's corrections, oldest first (`None`: every message's, by message then time).
    pub async fn corrections(&self, id: Option<MessageId>) -> StoreResult<Vec<Correction>> {
        let base = "SELECT id, message_id, axis, before_label, after_label, actor, at_ms \
                    FROM corrections";
        let rows = match id {
            Some(id) => {
                sqlx::query(&format!("{base} WHERE message_id = $1 ORDER BY id"))
                    .bind(id.0)
                    .fetch_all(&self.pool)
                    .await
            }
            None => {
                sqlx::query(&format!("{base} ORDER BY message_id, id"))
                    .fetch_all(&self.pool)
                    .await
            }
        }
        .map_err(query("read corrections"))?;
        rows.iter().map(correction_from_row).collect()
    }

    /// Audit entries, newest first: those of one message, or all (`None`), at most `limit`.
    pub async fn audit(&self, id: Option<MessageId>, limit: u32) -> StoreResult<Vec<AuditEntry>> {
        let base = "SELECT id, at_ms, actor, action, message_id, before_json, after_json, \
                    model_version, taxonomy_version FROM audit";
        let limit = limit.max(1);
        let rows = match id {
            Some(id) => {
                sqlx::query(&format!(
                    "{base} WHERE message_id = $1 ORDER BY id DESC LIMIT {limit}"
                ))
                .bind(id.0)
                .fetch_all(&self.pool)
                .await
            }
            None => {
                sqlx::query(&format!("{base} ORDER BY id DESC LIMIT {limit}"))
                    .fetch_all(&self.pool)
                    .await
            }
        }
        .map_err(query("read audit"))?;
        rows.iter().map(audit_from_row).collect()
    }

    /// Read a message's review state under a row lock, or fail with `NotFound`.
    async fn current(&self, tx: &mut sqlx::AnyConnection, id: MessageId) -> StoreResult<Current> {
        let sql = format!(
            "SELECT category, priority, junk, needs_review, status, assignee, model_version, \
             taxonomy_version FROM triage WHERE message_id = $1{}",
            self.engine.for_update()
        );
        let row = sqlx::query(&sql)
            .bind(id.0)
            .fetch_optional(&mut *tx)
            .await
            .map_err(query("read review state"))?
            .ok_or_else(|| StoreError::NotFound {
                what: "message",
                id: id.to_string(),
            })?;
        Ok(Current {
            category: col(&row, "category")?,
            priority: col(&row, "priority")?,
            junk: col(&row, "junk")?,
            needs_review: flag(&row, "needs_review")?,
            status: col(&row, "status")?,
            assignee: col(&row, "assignee")?,
            model_version: col(&row, "model_version")?,
            taxonomy_version: col(&row, "taxonomy_version")?,
        })
    }

    async fn mark_reviewed(
        &self,
        tx: &mut sqlx::AnyConnection,
        id: MessageId,
        actor: &str,
    ) -> StoreResult<()> {
        let sql = self.sql(
            "UPDATE triage SET needs_review = 0, reviewed_by = $1, reviewed_at = {now}, \
             updated_at = {now} WHERE message_id = $2",
        );
        sqlx::query(&sql)
            .bind(actor)
            .bind(id.0)
            .execute(&mut *tx)
            .await
            .map_err(query("mark reviewed"))?;
        Ok(())
    }
}

impl Current {
    /// The audit entry of a change to this message.
    fn audit<'a>(
        &'a self,
        actor: &'a str,
        action: &'a str,
        id: MessageId,
        before: Option<Value>,
        after: Option<Value>,
    ) -> AuditWrite<'a> {
        AuditWrite {
            actor,
            action,
            message_id: Some(id),
            before,
            after,
            model_version: self.model_version.as_deref(),
            taxonomy_version: self.taxonomy_version.as_deref(),
        }
    }
}

/// An audit entry to write.
pub(crate) struct AuditWrite<'a> {
    pub actor: &'a str,
    pub action: &'a str,
    pub message_id: Option<MessageId>,
    pub before: Option<Value>,
    pub after: Option<Value>,
    pub model_version: Option<&'a str>,
    pub taxonomy_version: Option<&'a str>,
}

/// Write an audit entry inside a transaction (also used by accounts and heads).
pub(crate) async fn write_audit(
    store: &Store,
    tx: &mut sqlx::AnyConnection,
    a: AuditWrite<'_>,
) -> StoreResult<()> {
    let sql = store.sql(
        "INSERT INTO audit (at_ms, actor, action, message_id, before_json, after_json, \
         model_version, taxonomy_version) VALUES ({now}, $1, $2, $3, $4, $5, $6, $7)",
    );
    sqlx::query(&sql)
        .bind(a.actor)
        .bind(a.action)
        .bind(a.message_id.map(|m| m.0))
        .bind(a.before.map(|v| v.to_string()))
        .bind(a.after.map(|v| v.to_string()))
        .bind(a.model_version)
        .bind(a.taxonomy_version)
        .execute(&mut *tx)
        .await
        .map_err(query("write audit entry"))?;
    Ok(())
}

/// An audit entry's `after` with the group the action was made for, when it was.
fn with_group(mut after: Value, group: Option<GroupId>) -> Value {
    if let (Some(g), Some(obj)) = (group, after.as_object_mut()) {
        obj.insert("group_id".into(), json!(g.0));
    }
    after
}

async fn last_correction(
    tx: &mut sqlx::AnyConnection,
    id: MessageId,
    axis: &str,
) -> StoreResult<Option<String>> {
    sqlx::query_scalar(
        "SELECT after_label FROM corrections WHERE message_id = $1 AND axis = $2 \
         ORDER BY id DESC LIMIT 1",
    )
    .bind(id.0)
    .bind(axis)
    .fetch_optional(&mut *tx)
    .await
    .map_err(query("read last correction"))
}

pub(crate) fn correction_from_row(r: &AnyRow) -> StoreResult<Correction> {
    Ok(Correction {
        id: col(r, "id")?,
        message_id: MessageId(col(r, "message_id")?),
        axis: col(r, "axis")?,
        before: col(r, "before_label")?,
        after: col(r, "after_label")?,
        actor: col(r, "actor")?,
        at_ms: col(r, "at_ms")?,
    })
}

fn audit_from_row(r: &AnyRow) -> StoreResult<AuditEntry> {
    let parse = |s: Option<String>| s.and_then(|s| serde_json::from_str(&s).ok());
    Ok(AuditEntry {
        id: col(r, "id")?,
        at_ms: col(r, "at_ms")?,
        actor: col(r, "actor")?,
        action: col(r, "action")?,
        message_id: col::<Option<i64>>(r, "message_id")?.map(MessageId),
        before: parse(col(r, "before_json")?),
        after: parse(col(r, "after_json")?),
        model_version: col(r, "model_version")?,
        taxonomy_version: col(r, "taxonomy_version")?,
    })
}
