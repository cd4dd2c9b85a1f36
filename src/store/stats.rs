//! Figures for the desk's overview: messages per day, per category and per priority, how many
//! went to review, and how often people changed each axis's label, per label the model gave (an
//! honest picture of where the model is wrong). Read-only; a handful of grouped queries.

use std::collections::BTreeMap;

use serde::Serialize;

use super::error::{query, StoreResult};
use super::queue::FacetCount;
use super::types::col;
use super::Store;

/// Milliseconds in a day.
const DAY_MS: i64 = 86_400_000;

/// Messages on one day.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct DayCount {
    /// The day's first millisecond (UTC), since the epoch.
    pub day_ms: i64,
    /// Messages dated that day (by their Date header, else when they were stored).
    pub count: i64,
}

/// How often people changed one axis's label where the model gave one label.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LabelChanges {
    /// The axis (`category`, `priority`, `junk`).
    pub axis: String,
    /// The model's label.
    pub label: String,
    /// Messages with that model label that a person accepted or corrected.
    pub reviewed: i64,
    /// Of those, how many now carry another label.
    pub changed: i64,
}

/// The overview's figures.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Overview {
    /// Messages stored.
    pub total: i64,
    /// Messages per day over the most recent days that have mail, oldest first, with the days
    /// between them (no mail) as zeros.
    pub per_day: Vec<DayCount>,
    /// Messages per current category label, most first.
    pub category: Vec<FacetCount>,
    /// Messages per current priority label, most first.
    pub priority: Vec<FacetCount>,
    /// Messages the model sent to review (still waiting or since reviewed).
    pub flagged: i64,
    /// Messages still waiting for review.
    pub pending_review: i64,
    /// Messages a person accepted or corrected.
    pub reviewed: i64,
    /// Per axis with a queue column and per model label: reviewed and changed, by axis then
    /// label.
    pub changes: Vec<LabelChanges>,
}

/// The axes the queue has columns for; the overview's change figures cover these.
const AXES: [&str; 3] = ["category", "priority", "junk"];

impl Store {
    /// The overview, with `days` days of daily volume (at most; ending on the newest day with
    /// mail).
    pub async fn overview(&self, days: u32) -> StoreResult<Overview> {
        let mut conn = self.pool.acquire().await.map_err(query("acquire"))?;
        let one = |sql: &'static str| sqlx::query_scalar::<_, i64>(sql);
        let total = one("SELECT COUNT(*) FROM triage")
            .fetch_one(&mut *conn)
            .await
            .map_err(query("overview total"))?;
        let flagged = one("SELECT COUNT(*) FROM triage t WHERE t.needs_review = 1 \
             OR t.message_id IN (SELECT message_id FROM review_reasons)")
        .fetch_one(&mut *conn)
        .await
        .map_err(query("overview flagged"))?;
        let pending_review = one("SELECT COUNT(*) FROM triage WHERE needs_review = 1")
            .fetch_one(&mut *conn)
            .await
            .map_err(query("overview pending"))?;
        let reviewed = one("SELECT COUNT(*) FROM triage WHERE reviewed_by IS NOT NULL")
            .fetch_one(&mut *conn)
            .await
            .map_err(query("overview reviewed"))?;

        let sql = format!(
            "SELECT sort_date / {DAY_MS} AS d, COUNT(*) AS n FROM triage \
             GROUP BY sort_date / {DAY_MS} ORDER BY d DESC LIMIT {}",
            days.max(1)
        );
        let rows = sqlx::query(&sql)
            .fetch_all(&mut *conn)
            .await
            .map_err(query("overview per day"))?;
        let mut found = BTreeMap::new();
        for r in &rows {
            found.insert(col::<i64>(r, "d")?, col::<i64>(r, "n")?);
        }
        let per_day = match (found.keys().next(), found.keys().next_back()) {
            (Some(&first), Some(&last)) => (first..=last)
                .map(|d| DayCount {
                    day_ms: d * DAY_MS,
                    count: found.get(&d).copied().unwrap_or(0),
                })
                .collect(),
            _ => Vec::new(),
        };

        let mut per_label = Vec::new();
        for column in ["category", "priority"] {
            let sql = format!("SELECT {column} AS v, COUNT(*) AS n FROM triage GROUP BY {column}");
            let rows = sqlx::query(&sql)
                .fetch_all(&mut *conn)
                .await
                .map_err(query("overview labels"))?;
            let mut counts = rows
                .iter()
                .map(|r| {
                    Ok(FacetCount {
                        value: col(r, "v")?,
                        count: col(r, "n")?,
                    })
                })
                .collect::<StoreResult<Vec<_>>>()?;
            counts.sort_by(|a, b| b.count.cmp(&a.count).then_with(|| a.value.cmp(&b.value)));
            per_label.push(counts);
        }
        let priority = per_label.pop().unwrap_or_default();
        let category = per_label.pop().unwrap_or_default();
        let changes = self.changes(&mut conn).await?;
        Ok(Overview {
            total,
            per_day,
            category,
            priority,
            flagged,
            pending_review,
            reviewed,
            changes,
        })
    }

    /// Reviewed and changed messages per axis and model label. The model's label is the one
    /// before a message's first correction on the axis, or, never corrected, its current one.
    async fn changes(&self, conn: &mut sqlx::AnyConnection) -> StoreResult<Vec<LabelChanges>> {
        let rows = sqlx::query(
            "SELECT message_id, category, priority, junk FROM triage WHERE reviewed_by IS NOT NULL",
        )
        .fetch_all(&mut *conn)
        .await
        .map_err(query("overview reviewed labels"))?;
        let corrections = sqlx::query(
            "SELECT c.message_id, c.axis, c.before_label FROM corrections c \
             JOIN triage t ON t.message_id = c.message_id WHERE t.reviewed_by IS NOT NULL \
             ORDER BY c.id",
        )
        .fetch_all(&mut *conn)
        .await
        .map_err(query("overview corrections"))?;
        // The label before the first correction, per (message, axis).
        let mut first: BTreeMap<(i64, String), Option<String>> = BTreeMap::new();
        for r in &corrections {
            let key = (col::<i64>(r, "message_id")?, col::<String>(r, "axis")?);
            let before: Option<String> = col(r, "before_label")?;
            first.entry(key).or_insert(before);
        }
        let mut tally: BTreeMap<(String, String), (i64, i64)> = BTreeMap::new();
        for r in &rows {
            let id: i64 = col(r, "message_id")?;
            for axis in AXES {
                let current: Option<String> = col(r, axis)?;
                let model = match first.get(&(id, axis.to_string())) {
                    Some(before) => before.clone(),
                    None => current.clone(),
                };
                let Some(model) = model else { continue };
                let t = tally.entry((axis.to_string(), model.clone())).or_default();
                t.0 += 1;
                if current.as_deref() != Some(model.as_str()) {
                    t.1 += 1;
                }
            }
        }
        let mut out: Vec<LabelChanges> = tally
            .into_iter()
            .map(|((axis, label), (reviewed, changed))| LabelChanges {
                axis,
                label,
                reviewed,
                changed,
            })
            .collect();
        out.sort_by_key(|c| AXES.iter().position(|a| *a == c.axis));
        Ok(out)
    }
}
