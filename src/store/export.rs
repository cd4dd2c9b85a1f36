//! Export: every stored record as one JSON line, in the triage record format, with the
//! corrections applied and marked, so that nothing is locked in the store.
//!
//! For each corrected axis, the axis entry in the record's `classification` array gets the
//! person's label as `label` and a `corrected` object (`model_label`, `by`, `at_ms`); the
//! probabilities stay the model's. Every line also gets a `desk` object (beside the record's
//! own `review` notes): the store id, the status, assignee, who reviewed it and when, the group
//! of near-duplicates it belongs to (`group_id`, `null` when alone), and the corrections in
//! order. Keys come out sorted (the record is read back as a JSON object).

use std::collections::HashMap;
use std::io::Write;

use futures_util::TryStreamExt;
use serde::Serialize;
use serde_json::{json, Map, Value};

use super::error::{query, StoreError, StoreResult};
use super::review::Correction;
use super::types::{col, MessageId};
use super::Store;

/// What an export wrote.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct ExportSummary {
    /// Lines written.
    pub records: u64,
    /// Of which with at least one correction.
    pub corrected: u64,
}

impl Store {
    /// Write every stored record, oldest first, as JSON lines to `out`.
    pub async fn export<W: Write>(&self, out: &mut W) -> StoreResult<ExportSummary> {
        let mut by_message: HashMap<MessageId, Vec<Correction>> = HashMap::new();
        for c in self.corrections(None).await? {
            by_message.entry(c.message_id).or_default().push(c);
        }
        let mut rows = sqlx::query(
            "SELECT t.message_id, m.sha256, r.record_json, t.status, t.assignee, \
             t.reviewed_by, t.reviewed_at, t.group_id FROM triage t JOIN messages m ON m.id = t.message_id \
             JOIN records r ON r.message_id = t.message_id ORDER BY t.message_id",
        )
        .fetch(&self.pool);
        let mut summary = ExportSummary::default();
        while let Some(row) = rows.try_next().await.map_err(query("export"))? {
            let id = MessageId(col(&row, "message_id")?);
            let json: String = col(&row, "record_json")?;
            let mut record: Map<String, Value> =
                serde_json::from_str(&json).map_err(|e| StoreError::Invalid {
                    what: "stored record",
                    reason: format!("message {id}: {e}"),
                })?;
            let corrections = by_message.get(&id).map(Vec::as_slice).unwrap_or(&[]);
            apply_corrections(&mut record, corrections);
            record.insert(
                "desk".into(),
                json!({
                    "store_id": id,
                    "sha256": col::<String>(&row, "sha256")?,
                    "status": col::<String>(&row, "status")?,
                    "assignee": col::<Option<String>>(&row, "assignee")?,
                    "reviewed_by": col::<Option<String>>(&row, "reviewed_by")?,
                    "reviewed_at_ms": col::<Option<i64>>(&row, "reviewed_at")?,
                    "group_id": col::<Option<i64>>(&row, "group_id")?,
                    "corrections": corrections,
                }),
            );
            serde_json::to_writer(&mut *out, &record).map_err(|e| StoreError::Write(e.into()))?;
            out.write_all(b"\n").map_err(StoreError::Write)?;
            summary.records += 1;
            summary.corrected += u64::from(!corrections.is_empty());
        }
        out.flush().map_err(StoreError::Write)?;
        Ok(summary)
    }
}

/// Put each axis's last correction into the record's `classification` entry for that axis.
fn apply_corrections(record: &mut Map<String, Value>, corrections: &[Correction]) {
    let Some(Value::Array(axes)) = record.get_mut("classification") else {
        return;
    };
    for entry in axes.iter_mut().filter_map(Value::as_object_mut) {
        let Some(axis) = entry.get("axis").and_then(Value::as_str) else {
            continue;
        };
        let Some(last) = corrections.iter().rev().find(|c| c.axis == axis) else {
            continue;
        };
        let model_label = entry.get("label").cloned().unwrap_or(Value::Null);
        entry.insert("label".into(), Value::String(last.after.clone()));
        entry.insert(
            "corrected".into(),
            json!({ "model_label": model_label, "by": last.actor, "at_ms": last.at_ms }),
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn last_correction_wins_and_is_marked() {
        let mut rec: Map<String, Value> = serde_json::from_value(json!({
            "classification": [
                {"axis": "category", "label": "complaint", "probability": 0.6},
                {"axis": "priority", "label": "routine", "probability": 0.9}
            ]
        }))
        .unwrap();
        let c = |id, after: &str| Correction {
            id,
            message_id: MessageId(1),
            axis: "category".into(),
            before: None,
            after: after.into(),
            actor: "ana".into(),
            at_ms: id,
        };
        apply_corrections(&mut rec, &[c(1, "feedback"), c(2, "application")]);
        let axes = rec["classification"].as_array().unwrap();
        assert_eq!(axes[0]["label"], "application");
        assert_eq!(axes[0]["corrected"]["model_label"], "complaint");
        assert_eq!(axes[0]["probability"], 0.6);
        assert_eq!(axes[1]["label"], "routine");
        assert!(axes[1].get("corrected").is_none());
    }
}
