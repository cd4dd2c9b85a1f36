//! Small types shared by the store's parts: ids, labels, the work status, and row decoding.

use serde::{Deserialize, Serialize};
use sqlx::any::AnyRow;
use sqlx::Row;

use super::error::{StoreError, StoreResult};

/// A stored message's id (assigned by the store, stable for the life of the store).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct MessageId(pub i64);

impl std::fmt::Display for MessageId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.fmt(f)
    }
}

/// A label on one axis with its probability; `probability` is `None` once a person set it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Label {
    /// The label.
    pub label: String,
    /// The model's calibrated probability, or `None` for a person's correction.
    pub probability: Option<f64>,
}

impl Label {
    /// A model's decision.
    pub fn new(label: impl Into<String>, probability: f64) -> Label {
        Label {
            label: label.into(),
            probability: Some(probability),
        }
    }
}

/// Where a message stands in the caseworkers' work.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    /// Still to be dealt with.
    #[default]
    Open,
    /// Answered.
    Answered,
    /// Needs no reply.
    NoReplyNeeded,
}

impl Status {
    /// Every status.
    pub const ALL: [Status; 3] = [Status::Open, Status::Answered, Status::NoReplyNeeded];

    /// The stored name: `open`, `answered`, `no_reply_needed`.
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Open => "open",
            Status::Answered => "answered",
            Status::NoReplyNeeded => "no_reply_needed",
        }
    }
}

impl std::str::FromStr for Status {
    type Err = StoreError;

    fn from_str(s: &str) -> StoreResult<Status> {
        Status::ALL
            .into_iter()
            .find(|v| v.as_str() == s)
            .ok_or_else(|| StoreError::Invalid {
                what: "status",
                reason: format!("{s:?} is not one of open, answered, no_reply_needed"),
            })
    }
}

impl std::fmt::Display for Status {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Read a column, naming it in the error.
pub(crate) fn col<'r, T>(row: &'r AnyRow, name: &'static str) -> StoreResult<T>
where
    T: sqlx::Decode<'r, sqlx::Any> + sqlx::Type<sqlx::Any>,
{
    row.try_get(name)
        .map_err(|source| StoreError::Query { what: name, source })
}

/// Read a 0/1 flag column.
pub(crate) fn flag(row: &AnyRow, name: &'static str) -> StoreResult<bool> {
    Ok(col::<i64>(row, name)? != 0)
}

/// Read a label and its probability column.
pub(crate) fn label(
    row: &AnyRow,
    name: &'static str,
    p: &'static str,
) -> StoreResult<Option<Label>> {
    let label: Option<String> = col(row, name)?;
    let probability: Option<f64> = col(row, p)?;
    Ok(label.map(|label| Label { label, probability }))
}

/// Read a status column.
pub(crate) fn status(row: &AnyRow, name: &'static str) -> StoreResult<Status> {
    col::<String>(row, name)?.parse()
}

/// Milliseconds since the Unix epoch by this machine's clock (for values the caller supplies;
/// leases and expiry use the database's clock).
pub(crate) fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

/// A duration in whole milliseconds, saturating.
pub(crate) fn millis(d: std::time::Duration) -> i64 {
    i64::try_from(d.as_millis()).unwrap_or(i64::MAX)
}
