//! The queue with groups of near-duplicates collapsed: one row per group (its first member in
//! the queue's order, so a group with an urgent member comes first) standing for every member
//! that matches the filters, and one row per message in no group. A window function over the
//! filtered rows, the same SQL on SQLite and PostgreSQL; the counts per filter value stay counts
//! of messages.

use super::error::{query, StoreResult};
use super::queue::{fill_reasons, item_from_row, QueuePage, QueueQuery, Where, ITEM_COLUMNS};
use super::types::col;
use super::Store;

/// The partition of a row: its group, or the message itself (negated, so that it never meets
/// a group id).
const PARTITION: &str = "COALESCE(t.group_id, -t.message_id)";

impl Store {
    /// [`Store::queue`] with `collapse_groups`.
    pub(crate) async fn collapsed_queue(
        &self,
        q: &QueueQuery,
        mut conn: sqlx::pool::PoolConnection<sqlx::Any>,
        all: Where,
        limit: u64,
    ) -> StoreResult<QueuePage> {
        let order = "urgent DESC, needs_review DESC, sort_date, message_id";
        let sql = format!(
            "SELECT {ITEM_COLUMNS}, p.n AS represents FROM (SELECT message_id, n FROM \
             (SELECT t.message_id, t.urgent, t.needs_review, t.sort_date, \
             ROW_NUMBER() OVER (PARTITION BY {PARTITION} ORDER BY t.urgent DESC, \
             t.needs_review DESC, t.sort_date, t.message_id) AS rn, \
             COUNT(*) OVER (PARTITION BY {PARTITION}) AS n FROM triage t{w}) x \
             WHERE rn = 1 ORDER BY {order} LIMIT {limit} OFFSET {offset}) p \
             JOIN triage t ON t.message_id = p.message_id \
             JOIN messages m ON m.id = t.message_id \
             LEFT JOIN conversations c ON c.conv_key = t.conv_key \
             LEFT JOIN similar_groups g ON g.id = t.group_id \
             ORDER BY t.urgent DESC, t.needs_review DESC, t.sort_date, t.message_id",
            w = all.sql(),
            offset = q.offset.min(i64::MAX as u64)
        );
        let rows = all
            .bind(sqlx::query(&sql))
            .fetch_all(&mut *conn)
            .await
            .map_err(query("collapsed queue page"))?;
        let mut items = Vec::with_capacity(rows.len());
        for r in &rows {
            let mut item = item_from_row(r)?;
            item.represents = col(r, "represents")?;
            items.push(item);
        }
        fill_reasons(&mut conn, &mut items).await?;
        let sql = format!(
            "SELECT COUNT(DISTINCT {PARTITION}) AS n FROM triage t{}",
            all.sql()
        );
        let n: i64 = all
            .bind(sqlx::query(&sql))
            .fetch_one(&mut *conn)
            .await
            .map_err(query("collapsed queue rows"))
            .and_then(|r| col(&r, "n"))?;
        self.finish_page(q, conn, items, Some(n), limit).await
    }
}
