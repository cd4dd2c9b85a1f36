//! What people taught the model, as training data for one axis: every reviewed message once,
//! with its final label. The final label is the latest correction on the axis; a message
//! whose decision a person accepted without correcting it counts as a confirmation of the
//! label it had when accepted. However often a message was touched, it is one example.
//!
//! Each example names the store row its label came from (the correction's id, or the accept's
//! audit entry), so that a head trained on them can record exactly what it saw.

use std::collections::BTreeMap;

use serde::Serialize;

use super::error::{query, StoreResult};
use super::types::{col, MessageId};
use super::Store;

/// Where an example's label came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum LabelSource {
    /// A person's correction (the `corrections` row).
    Correction,
    /// A person accepted the model's decision (the `audit` row of the accept).
    Accepted,
}

/// One reviewed message with its final label on an axis.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TrainingExample {
    /// The message.
    pub message_id: MessageId,
    /// Its final label.
    pub label: String,
    /// Where the label came from.
    pub source: LabelSource,
    /// The row it came from: the correction's id, or the accept's audit id.
    pub row_id: i64,
    /// When the label was given (ms since the epoch).
    pub labelled_at: i64,
    /// The message's Date header (ms since the epoch), when it had a readable one.
    pub date_ms: Option<i64>,
    /// When the message was stored.
    pub stored_at: i64,
    /// Its raw bytes (`None` when only a reference is kept).
    #[serde(skip)]
    pub raw: Option<Vec<u8>>,
}

impl TrainingExample {
    /// The time the example is ordered by: the message's date, else when it was stored.
    pub fn time_ms(&self) -> i64 {
        self.date_ms.unwrap_or(self.stored_at)
    }
}

/// The axes whose label an accept confirms (the typed columns the accept's audit entry holds).
const CONFIRMABLE: &[&str] = &["category", "priority", "junk"];

impl Store {
    /// Every reviewed message of `axis` with its final label, oldest first (by message date,
    /// else by when it was stored, then by id). Messages stored with an error record are left
    /// out: there is nothing to learn from.
    pub async fn training_examples(&self, axis: &str) -> StoreResult<Vec<TrainingExample>> {
        let labels = self.final_labels(axis).await?;
        let mut out = Vec::with_capacity(labels.len());
        for (id, (label, source, row_id, labelled_at)) in labels {
            let row = sqlx::query(
                "SELECT m.raw, m.stored_at, t.date_ms, t.is_error FROM messages m \
                 JOIN triage t ON t.message_id = m.id WHERE m.id = $1",
            )
            .bind(id)
            .fetch_optional(&self.pool)
            .await
            .map_err(query("read a reviewed message"))?;
            let Some(row) = row else { continue };
            if col::<i64>(&row, "is_error")? != 0 {
                continue;
            }
            out.push(TrainingExample {
                message_id: MessageId(id),
                label,
                source,
                row_id,
                labelled_at,
                date_ms: col(&row, "date_ms")?,
                stored_at: col(&row, "stored_at")?,
                raw: col(&row, "raw")?,
            });
        }
        out.sort_by_key(|e| (e.time_ms(), e.message_id));
        Ok(out)
    }

    /// How many reviewed messages [`Store::training_examples`] gives for `axis` (without
    /// reading their bytes).
    pub async fn training_count(&self, axis: &str) -> StoreResult<usize> {
        let labels = self.final_labels(axis).await?;
        let errors: Vec<i64> =
            sqlx::query_scalar("SELECT message_id FROM triage WHERE is_error = 1")
                .fetch_all(&self.pool)
                .await
                .map_err(query("read error records"))?;
        Ok(labels.keys().filter(|id| !errors.contains(id)).count())
    }

    /// Message -> (final label, its source, its row, when), the latest correction winning.
    async fn final_labels(
        &self,
        axis: &str,
    ) -> StoreResult<BTreeMap<i64, (String, LabelSource, i64, i64)>> {
        let mut labels: BTreeMap<i64, (String, LabelSource, i64, i64)> = BTreeMap::new();
        if CONFIRMABLE.contains(&axis) {
            let rows = sqlx::query(
                "SELECT id, message_id, at_ms, after_json FROM audit \
                 WHERE action = 'accept' AND message_id IS NOT NULL ORDER BY id",
            )
            .fetch_all(&self.pool)
            .await
            .map_err(query("read accepted decisions"))?;
            for r in &rows {
                let after: Option<String> = col(r, "after_json")?;
                let label = after
                    .and_then(|a| serde_json::from_str::<serde_json::Value>(&a).ok())
                    .and_then(|v| v["labels"][axis].as_str().map(str::to_string));
                if let Some(label) = label {
                    labels.insert(
                        col(r, "message_id")?,
                        (
                            label,
                            LabelSource::Accepted,
                            col(r, "id")?,
                            col(r, "at_ms")?,
                        ),
                    );
                }
            }
        }
        let rows = sqlx::query(
            "SELECT id, message_id, after_label, at_ms FROM corrections WHERE axis = $1 \
             ORDER BY id",
        )
        .bind(axis)
        .fetch_all(&self.pool)
        .await
        .map_err(query("read corrections"))?;
        for r in &rows {
            labels.insert(
                col(r, "message_id")?,
                (
                    col(r, "after_label")?,
                    LabelSource::Correction,
                    col(r, "id")?,
                    col(r, "at_ms")?,
                ),
            );
        }
        Ok(labels)
    }
}
