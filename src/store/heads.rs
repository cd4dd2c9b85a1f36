//! Trained classification heads kept in the store, so that every worker of a shared store
//! decides with the same head: candidates with their comparison metrics, at most one active
//! head per axis (a unique index says so), retired heads kept for rolling back. Promoting is
//! one transaction (the active head retires, the chosen one takes its place) with its audit
//! entry.

use serde::Serialize;
use serde_json::json;
use sha2::{Digest, Sha256};
use sqlx::any::AnyRow;

use super::error::{query, StoreError, StoreResult};
use super::review::{write_audit, AuditWrite};
use super::types::col;
use super::Store;

/// Where a head stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum HeadState {
    /// Trained, waiting for a decision.
    Candidate,
    /// The one in use for its axis.
    Active,
    /// Replaced or discarded; can be promoted again (rollback).
    Retired,
}

impl HeadState {
    fn parse(s: &str) -> StoreResult<HeadState> {
        match s {
            "candidate" => Ok(HeadState::Candidate),
            "active" => Ok(HeadState::Active),
            "retired" => Ok(HeadState::Retired),
            _ => Err(StoreError::Invalid {
                what: "head state",
                reason: s.to_string(),
            }),
        }
    }
}

/// A head to add as a candidate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewHead {
    /// Its axis.
    pub axis: String,
    /// The head file's bytes.
    pub data: Vec<u8>,
    /// Its metadata as JSON (labels, encoder, training summary, the store rows it saw).
    pub meta_json: String,
    /// Its comparison against the active head as JSON (macro-F1, calibration, review share).
    pub metrics_json: Option<String>,
}

/// A stored head (without its bytes; see [`Store::head_data`]).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Head {
    /// Its id.
    pub id: i64,
    /// Its axis.
    pub axis: String,
    /// Its state.
    pub state: HeadState,
    /// SHA-256 of its bytes.
    pub sha256: String,
    /// Its metadata (JSON).
    pub meta_json: String,
    /// Its comparison metrics (JSON).
    pub metrics_json: Option<String>,
    /// Who added it.
    pub created_by: String,
    /// When (ms since the epoch).
    pub created_at: i64,
    /// When it was last promoted.
    pub promoted_at: Option<i64>,
    /// When it was last retired.
    pub retired_at: Option<i64>,
}

const HEAD_COLUMNS: &str = "id, axis, state, sha256, meta_json, metrics_json, created_by, \
    created_at, promoted_at, retired_at";

impl Store {
    /// Add a trained head as a candidate.
    pub async fn add_head(&self, actor: &str, head: &NewHead) -> StoreResult<Head> {
        let sha = hex::encode(Sha256::digest(&head.data));
        let mut tx = self.write_tx().await?;
        let sql = format!(
            "INSERT INTO heads (axis, state, sha256, data, meta_json, metrics_json, created_by, \
             created_at) VALUES ($1, 'candidate', $2, $3, $4, $5, $6, {}) RETURNING {HEAD_COLUMNS}",
            self.engine.now_ms()
        );
        let row = sqlx::query(&sql)
            .bind(head.axis.as_str())
            .bind(sha.as_str())
            .bind(head.data.as_slice())
            .bind(head.meta_json.as_str())
            .bind(head.metrics_json.as_deref())
            .bind(actor)
            .fetch_one(&mut *tx)
            .await
            .map_err(query("insert head"))?;
        let stored = head_from_row(&row)?;
        let after = json!({ "head": stored.id, "axis": stored.axis, "sha256": sha });
        self.head_audit(&mut tx, actor, "head.add", None, Some(after))
            .await?;
        tx.commit().await.map_err(query("commit head"))?;
        Ok(stored)
    }

    /// Record that `actor` started training a head for `axis` on `examples` reviewed messages
    /// (`head.train`), or that the run failed and why (`head.train_failed`): an audit entry of
    /// its own, since a run that fails adds no head.
    pub async fn audit_training(
        &self,
        actor: &str,
        axis: &str,
        examples: usize,
        failure: Option<&str>,
    ) -> StoreResult<()> {
        let mut tx = self.write_tx().await?;
        let (action, after) = match failure {
            None => ("head.train", json!({ "axis": axis, "examples": examples })),
            Some(why) => (
                "head.train_failed",
                json!({ "axis": axis, "examples": examples, "error": why }),
            ),
        };
        self.head_audit(&mut tx, actor, action, None, Some(after))
            .await?;
        tx.commit().await.map_err(query("commit training audit"))?;
        Ok(())
    }

    /// The heads of an axis, newest first.
    pub async fn heads(&self, axis: &str) -> StoreResult<Vec<Head>> {
        let sql = format!("SELECT {HEAD_COLUMNS} FROM heads WHERE axis = $1 ORDER BY id DESC");
        let rows = sqlx::query(&sql)
            .bind(axis)
            .fetch_all(&self.pool)
            .await
            .map_err(query("list heads"))?;
        rows.iter().map(head_from_row).collect()
    }

    /// The active head of an axis, if any.
    pub async fn active_head(&self, axis: &str) -> StoreResult<Option<Head>> {
        let sql = format!("SELECT {HEAD_COLUMNS} FROM heads WHERE axis = $1 AND state = 'active'");
        let row = sqlx::query(&sql)
            .bind(axis)
            .fetch_optional(&self.pool)
            .await
            .map_err(query("read active head"))?;
        row.as_ref().map(head_from_row).transpose()
    }

    /// The active head of every axis that has one, by axis.
    pub async fn active_heads(&self) -> StoreResult<Vec<Head>> {
        let sql = format!("SELECT {HEAD_COLUMNS} FROM heads WHERE state = 'active' ORDER BY axis");
        let rows = sqlx::query(&sql)
            .fetch_all(&self.pool)
            .await
            .map_err(query("list active heads"))?;
        rows.iter().map(head_from_row).collect()
    }

    /// One head, if stored.
    pub async fn head(&self, id: i64) -> StoreResult<Option<Head>> {
        let sql = format!("SELECT {HEAD_COLUMNS} FROM heads WHERE id = $1");
        let row = sqlx::query(&sql)
            .bind(id)
            .fetch_optional(&self.pool)
            .await
            .map_err(query("read head"))?;
        row.as_ref().map(head_from_row).transpose()
    }

    /// Every axis that has a head, in name order.
    pub async fn head_axes(&self) -> StoreResult<Vec<String>> {
        sqlx::query_scalar("SELECT DISTINCT axis FROM heads ORDER BY axis")
            .fetch_all(&self.pool)
            .await
            .map_err(query("list head axes"))
    }

    /// A head's bytes.
    pub async fn head_data(&self, id: i64) -> StoreResult<Option<Vec<u8>>> {
        sqlx::query_scalar("SELECT data FROM heads WHERE id = $1")
            .bind(id)
            .fetch_optional(&self.pool)
            .await
            .map_err(query("read head data"))
    }

    /// Make a head the active one of its axis (a candidate, or a retired one to roll back);
    /// the head active before retires.
    pub async fn promote_head(&self, actor: &str, id: i64) -> StoreResult<Head> {
        let mut tx = self.write_tx().await?;
        let head = self.lock_head(&mut tx, id).await?;
        if head.state == HeadState::Active {
            return Err(StoreError::Conflict(format!("head {id} is already active")));
        }
        let retire = self.sql(
            "UPDATE heads SET state = 'retired', retired_at = {now} \
             WHERE axis = $1 AND state = 'active' RETURNING id",
        );
        let before: Option<i64> = sqlx::query_scalar(&retire)
            .bind(head.axis.as_str())
            .fetch_optional(&mut *tx)
            .await
            .map_err(query("retire active head"))?;
        let promote = format!(
            "UPDATE heads SET state = 'active', promoted_at = {} WHERE id = $1 \
             RETURNING {HEAD_COLUMNS}",
            self.engine.now_ms()
        );
        let row = sqlx::query(&promote)
            .bind(id)
            .fetch_one(&mut *tx)
            .await
            .map_err(query("promote head"))?;
        let promoted = head_from_row(&row)?;
        let b = json!({ "axis": head.axis, "active": before });
        let a = json!({ "axis": head.axis, "active": id });
        self.head_audit(&mut tx, actor, "head.promote", Some(b), Some(a))
            .await?;
        tx.commit().await.map_err(query("commit promotion"))?;
        Ok(promoted)
    }

    /// Retire a head (discard a candidate, or take the active head out of use).
    pub async fn retire_head(&self, actor: &str, id: i64) -> StoreResult<()> {
        let mut tx = self.write_tx().await?;
        let head = self.lock_head(&mut tx, id).await?;
        let sql = self.sql("UPDATE heads SET state = 'retired', retired_at = {now} WHERE id = $1");
        sqlx::query(&sql)
            .bind(id)
            .execute(&mut *tx)
            .await
            .map_err(query("retire head"))?;
        let b = json!({ "head": id, "state": head.state });
        let a = json!({ "head": id, "state": HeadState::Retired });
        self.head_audit(&mut tx, actor, "head.retire", Some(b), Some(a))
            .await?;
        tx.commit().await.map_err(query("commit retirement"))
    }

    /// Roll an axis back: the head that was active before the current one (the most recently
    /// retired head that had been promoted) becomes active again; with none, the active head
    /// retires and the axis goes back to the head the engines ship with. Returns the head now
    /// active, if any.
    pub async fn rollback_head(&self, actor: &str, axis: &str) -> StoreResult<Option<Head>> {
        let Some(active) = self.active_head(axis).await? else {
            return Err(StoreError::Conflict(format!(
                "axis {axis} has no head of the store in use: nothing to roll back"
            )));
        };
        let sql = format!(
            "SELECT {HEAD_COLUMNS} FROM heads WHERE axis = $1 AND state = 'retired' \
             AND promoted_at IS NOT NULL AND id <> $2 ORDER BY retired_at DESC, id DESC LIMIT 1"
        );
        let previous = sqlx::query(&sql)
            .bind(axis)
            .bind(active.id)
            .fetch_optional(&self.pool)
            .await
            .map_err(query("find the previous head"))?;
        match previous.as_ref().map(head_from_row).transpose()? {
            Some(p) => Ok(Some(self.promote_head(actor, p.id).await?)),
            None => {
                self.retire_head(actor, active.id).await?;
                Ok(None)
            }
        }
    }

    async fn lock_head(&self, tx: &mut sqlx::AnyConnection, id: i64) -> StoreResult<Head> {
        let sql = format!(
            "SELECT {HEAD_COLUMNS} FROM heads WHERE id = $1{}",
            self.engine.for_update()
        );
        let row = sqlx::query(&sql)
            .bind(id)
            .fetch_optional(&mut *tx)
            .await
            .map_err(query("read head"))?
            .ok_or_else(|| StoreError::NotFound {
                what: "head",
                id: id.to_string(),
            })?;
        head_from_row(&row)
    }

    async fn head_audit(
        &self,
        tx: &mut sqlx::AnyConnection,
        actor: &str,
        action: &str,
        before: Option<serde_json::Value>,
        after: Option<serde_json::Value>,
    ) -> StoreResult<()> {
        let entry = AuditWrite {
            actor,
            action,
            message_id: None,
            before,
            after,
            model_version: None,
            taxonomy_version: None,
        };
        write_audit(self, tx, entry).await
    }
}

fn head_from_row(r: &AnyRow) -> StoreResult<Head> {
    Ok(Head {
        id: col(r, "id")?,
        axis: col(r, "axis")?,
        state: HeadState::parse(&col::<String>(r, "state")?)?,
        sha256: col(r, "sha256")?,
        meta_json: col(r, "meta_json")?,
        metrics_json: col(r, "metrics_json")?,
        created_by: col(r, "created_by")?,
        created_at: col(r, "created_at")?,
        promoted_at: col(r, "promoted_at")?,
        retired_at: col(r, "retired_at")?,
    })
}
