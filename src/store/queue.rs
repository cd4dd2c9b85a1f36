//! The queue: what a caseworker should do next. Filters (category, priority, junk, review
//! reason, status, assignee, conversation, needs-review, text search), the fixed order (urgent
//! first, then needs review, then oldest), pagination, and counts per filter value, each facet
//! counted with every other filter applied, so that the counts say what choosing a value would
//! show.

use serde::{Deserialize, Serialize};
use sqlx::any::AnyRow;

use super::error::{query, StoreResult};
use super::groups::GroupId;
use super::types::{col, flag, label, status, Label, MessageId, Status};
use super::Store;

/// The largest page the store returns.
pub const MAX_LIMIT: u64 = 500;
/// The page size when none is given.
pub const DEFAULT_LIMIT: u64 = 50;

/// Whom a message is assigned to, as a filter.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Assignee {
    /// Assigned to nobody.
    Nobody,
    /// Assigned to this account name.
    Person(String),
}

/// A queue request. Every filter is optional; `None` means any.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct QueueQuery {
    /// The category label.
    pub category: Option<String>,
    /// The priority label.
    pub priority: Option<String>,
    /// The junk label.
    pub junk: Option<String>,
    /// A review reason the message was flagged with.
    pub review_reason: Option<String>,
    /// The work status.
    pub status: Option<Status>,
    /// The assignee.
    pub assignee: Option<Assignee>,
    /// The conversation key.
    pub conversation: Option<String>,
    /// Whether the message (still) needs review.
    pub needs_review: Option<bool>,
    /// Words that must all occur (as substrings, ignoring case) in the subject, sender or text;
    /// words shorter than [`MIN_SEARCH_TERM_CHARS`] are left out.
    pub search: Option<String>,
    /// Only messages in a group of near-duplicates (`true`), or only those in none (`false`).
    pub grouped: Option<bool>,
    /// Only the members of this group.
    pub group: Option<GroupId>,
    /// One row per group of near-duplicates (its first member in queue order, standing for
    /// every member that matches the filters) instead of one per message.
    pub collapse_groups: bool,
    /// The order: the triage order (urgent, needs review, oldest), or the "help the model"
    /// order (only messages no person has reviewed, the least certain decision first).
    pub order: QueueOrder,
    /// Messages to skip (pagination).
    pub offset: u64,
    /// Page size: 0 means [`DEFAULT_LIMIT`]; at most [`MAX_LIMIT`].
    pub limit: u64,
}

/// The order of the queue.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum QueueOrder {
    /// Urgent first, then what needs review, then the oldest.
    #[default]
    Triage,
    /// "Help the model": messages no person has accepted or corrected yet (and that did not
    /// fail), the lowest category probability first, then the lowest priority probability:
    /// the decisions a correction teaches most (issue 17, measured in the README).
    Uncertain,
}

impl QueueOrder {
    /// The `ORDER BY` terms over `triage t`.
    fn sql(self) -> &'static str {
        match self {
            QueueOrder::Triage => "t.urgent DESC, t.needs_review DESC, t.sort_date, t.message_id",
            QueueOrder::Uncertain => {
                "t.category_p, COALESCE(t.priority_p, 1.0), t.sort_date, t.message_id"
            }
        }
    }
}

/// One message as the queue shows it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct QueueItem {
    /// The message id.
    pub id: MessageId,
    /// SHA-256 of its bytes.
    pub sha256: String,
    /// The Date header (ms since the epoch), when it had one.
    pub date_ms: Option<i64>,
    /// When the store received it (ms since the epoch).
    pub stored_at: i64,
    /// The sender.
    pub sender: Option<String>,
    /// The subject.
    pub subject: Option<String>,
    /// The category.
    pub category: Option<Label>,
    /// The priority.
    pub priority: Option<Label>,
    /// The junk decision.
    pub junk: Option<Label>,
    /// Whether it is urgent.
    pub urgent: bool,
    /// Whether it (still) needs a person's review.
    pub needs_review: bool,
    /// Why the model flagged it.
    pub review_reasons: Vec<String>,
    /// Whether triage failed for it (its record is an error record).
    pub is_error: bool,
    /// The work status.
    pub status: Status,
    /// Whom it is assigned to.
    pub assignee: Option<String>,
    /// Who last accepted or corrected it.
    pub reviewed_by: Option<String>,
    /// The conversation key.
    pub conversation: Option<String>,
    /// Messages in its conversation (1 when alone).
    pub conversation_size: i64,
    /// The group of near-duplicates it belongs to.
    pub group: Option<GroupId>,
    /// Messages in its group (1 when alone).
    pub group_size: i64,
    /// Messages this row stands for: in a collapsed queue, the members of its group that match
    /// the filters; otherwise 1.
    pub represents: i64,
    /// The model version behind its record.
    pub model_version: Option<String>,
    /// The taxonomy version behind its record.
    pub taxonomy_version: Option<String>,
}

/// One filter value and how many messages it would show.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FacetCount {
    /// The value (`None`: not set, such as no assignee).
    pub value: Option<String>,
    /// Messages with it.
    pub count: i64,
}

/// Counts per filter value, most frequent first.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct QueueCounts {
    /// Per category.
    pub category: Vec<FacetCount>,
    /// Per priority.
    pub priority: Vec<FacetCount>,
    /// Per junk label.
    pub junk: Vec<FacetCount>,
    /// Per review reason.
    pub review_reason: Vec<FacetCount>,
    /// Per status.
    pub status: Vec<FacetCount>,
    /// Per assignee.
    pub assignee: Vec<FacetCount>,
}

/// A page of the queue.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct QueuePage {
    /// The messages on this page, in queue order.
    pub items: Vec<QueueItem>,
    /// Messages matching every filter.
    pub total: i64,
    /// Rows of the whole queue (pages): `total`, or fewer when groups are collapsed.
    pub rows: i64,
    /// The offset of this page.
    pub offset: u64,
    /// The page size used.
    pub limit: u64,
    /// Counts per filter value.
    pub counts: QueueCounts,
}

/// The facets, so that a facet's count can leave out its own filter.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Facet {
    Category,
    Priority,
    Junk,
    Status,
    Assignee,
}

/// A bound query parameter.
enum Param {
    Text(String),
}

/// A `WHERE` clause and its parameters (`$1`...).
pub(crate) struct Where {
    clauses: Vec<String>,
    params: Vec<Param>,
}

impl Where {
    fn push(&mut self, clause: impl FnOnce(usize) -> String, value: String) {
        self.params.push(Param::Text(value));
        let n = self.params.len();
        self.clauses.push(clause(n));
    }

    pub(crate) fn sql(&self) -> String {
        if self.clauses.is_empty() {
            String::new()
        } else {
            format!(" WHERE {}", self.clauses.join(" AND "))
        }
    }

    pub(crate) fn bind<'q>(
        &'q self,
        mut q: sqlx::query::Query<'q, sqlx::Any, sqlx::any::AnyArguments<'q>>,
    ) -> sqlx::query::Query<'q, sqlx::Any, sqlx::any::AnyArguments<'q>> {
        for p in &self.params {
            q = match p {
                Param::Text(s) => q.bind(s.as_str()),
            };
        }
        q
    }
}

/// The columns of a [`QueueItem`], from `triage t` joined with `messages m` and
/// `conversations c`.
pub(crate) const ITEM_COLUMNS: &str = "t.message_id, m.sha256, m.stored_at, t.date_ms, t.sender, \
    t.subject, t.category, t.category_p, t.priority, t.priority_p, t.junk, t.junk_p, t.urgent, \
    t.needs_review, t.is_error, t.status, t.assignee, t.reviewed_by, t.conv_key, \
    c.message_count, t.model_version, t.taxonomy_version, t.group_id, g.size AS group_size";

/// The `FROM` part that goes with [`ITEM_COLUMNS`].
pub(crate) const ITEM_FROM: &str = "triage t JOIN messages m ON m.id = t.message_id \
    LEFT JOIN conversations c ON c.conv_key = t.conv_key \
    LEFT JOIN similar_groups g ON g.id = t.group_id";

/// Decode a row of [`ITEM_COLUMNS`] (review reasons are filled in afterwards).
pub(crate) fn item_from_row(row: &AnyRow) -> StoreResult<QueueItem> {
    Ok(QueueItem {
        id: MessageId(col(row, "message_id")?),
        sha256: col(row, "sha256")?,
        date_ms: col(row, "date_ms")?,
        stored_at: col(row, "stored_at")?,
        sender: col(row, "sender")?,
        subject: col(row, "subject")?,
        category: label(row, "category", "category_p")?,
        priority: label(row, "priority", "priority_p")?,
        junk: label(row, "junk", "junk_p")?,
        urgent: flag(row, "urgent")?,
        needs_review: flag(row, "needs_review")?,
        review_reasons: Vec::new(),
        is_error: flag(row, "is_error")?,
        status: status(row, "status")?,
        assignee: col(row, "assignee")?,
        reviewed_by: col(row, "reviewed_by")?,
        conversation: col(row, "conv_key")?,
        conversation_size: col::<Option<i64>>(row, "message_count")?.unwrap_or(1),
        group: col::<Option<i64>>(row, "group_id")?.map(GroupId),
        group_size: col::<Option<i64>>(row, "group_size")?.unwrap_or(1),
        represents: 1,
        model_version: col(row, "model_version")?,
        taxonomy_version: col(row, "taxonomy_version")?,
    })
}

impl Store {
    /// One page of the queue with its counts.
    ///
    /// Three queries, whatever the filters: the page (ids chosen on the narrow table first,
    /// then joined, so that a deep offset does not join the rows it skips), and two grouped
    /// counts ("cubes") over the facet columns, from which the total and every facet's counts
    /// are summed here, each facet leaving out its own filter.
    pub async fn queue(&self, q: &QueueQuery) -> StoreResult<QueuePage> {
        let limit = match q.limit {
            0 => DEFAULT_LIMIT,
            n => n.min(MAX_LIMIT),
        };
        let mut conn = self.pool.acquire().await.map_err(query("acquire"))?;
        let all = self.filters(q, Scope::All);
        // The help queue is one row per message: each one is a separate lesson.
        if q.collapse_groups && q.group.is_none() && matches!(q.order, QueueOrder::Triage) {
            return self.collapsed_queue(q, conn, all, limit).await;
        }
        let order = q.order.sql();
        let sql = format!(
            "SELECT {ITEM_COLUMNS} FROM (SELECT t.message_id FROM triage t{} \
             ORDER BY {order} \
             LIMIT {limit} OFFSET {}) p JOIN triage t ON t.message_id = p.message_id \
             JOIN messages m ON m.id = t.message_id \
             LEFT JOIN conversations c ON c.conv_key = t.conv_key \
             LEFT JOIN similar_groups g ON g.id = t.group_id ORDER BY {order}",
            all.sql(),
            q.offset.min(i64::MAX as u64)
        );
        let rows = all
            .bind(sqlx::query(&sql))
            .fetch_all(&mut *conn)
            .await
            .map_err(query("queue page"))?;
        let mut items = rows
            .iter()
            .map(item_from_row)
            .collect::<StoreResult<Vec<_>>>()?;
        fill_reasons(&mut conn, &mut items).await?;
        self.finish_page(q, conn, items, None, limit).await
    }

    /// The counts of a page's query and the page itself; `rows` when groups are collapsed.
    pub(crate) async fn finish_page(
        &self,
        q: &QueueQuery,
        mut conn: sqlx::pool::PoolConnection<sqlx::Any>,
        items: Vec<QueueItem>,
        rows: Option<i64>,
        limit: u64,
    ) -> StoreResult<QueuePage> {
        // The cube of facet values over every non-facet filter (and the review reason).
        let w = self.filters(q, Scope::Cube);
        let sql = format!(
            "SELECT {CUBE}, COUNT(*) AS n FROM triage t{} GROUP BY {CUBE}",
            w.sql()
        );
        let cube = self.cube(&mut conn, &w, &sql, false).await?;
        // The same per review reason, without the review reason filter.
        let w = self.filters(q, Scope::Reasons);
        let sql = format!(
            "SELECT r.reason, {CUBE}, COUNT(*) AS n FROM review_reasons r \
             JOIN triage t ON t.message_id = r.message_id{} GROUP BY r.reason, {CUBE}",
            w.sql()
        );
        let reasons = self.cube(&mut conn, &w, &sql, true).await?;

        let sum = |rows: &[CubeRow], skip: Option<Facet>, key: fn(&CubeRow) -> Option<String>| {
            let mut out: Vec<FacetCount> = Vec::new();
            for r in rows.iter().filter(|r| r.matches(q, skip)) {
                let value = key(r);
                match out.iter_mut().find(|f| f.value == value) {
                    Some(f) => f.count += r.n,
                    None => out.push(FacetCount { value, count: r.n }),
                }
            }
            // Sorted here, not in SQL: the engines order NULLs differently.
            out.sort_by(|a, b| b.count.cmp(&a.count).then_with(|| a.value.cmp(&b.value)));
            out
        };
        let counts = QueueCounts {
            category: sum(&cube, Some(Facet::Category), |r| r.category.clone()),
            priority: sum(&cube, Some(Facet::Priority), |r| r.priority.clone()),
            junk: sum(&cube, Some(Facet::Junk), |r| r.junk.clone()),
            status: sum(&cube, Some(Facet::Status), |r| Some(r.status.clone())),
            assignee: sum(&cube, Some(Facet::Assignee), |r| r.assignee.clone()),
            review_reason: sum(&reasons, None, |r| r.reason.clone()),
        };
        let total = cube
            .iter()
            .filter(|r| r.matches(q, None))
            .map(|r| r.n)
            .sum();
        Ok(QueuePage {
            items,
            total,
            rows: rows.unwrap_or(total),
            offset: q.offset,
            limit,
            counts,
        })
    }

    async fn cube(
        &self,
        conn: &mut sqlx::pool::PoolConnection<sqlx::Any>,
        w: &Where,
        sql: &str,
        with_reason: bool,
    ) -> StoreResult<Vec<CubeRow>> {
        let rows = w
            .bind(sqlx::query(sql))
            .fetch_all(&mut **conn)
            .await
            .map_err(query("queue counts"))?;
        rows.iter()
            .map(|r| {
                Ok(CubeRow {
                    reason: if with_reason { col(r, "reason")? } else { None },
                    category: col(r, "category")?,
                    priority: col(r, "priority")?,
                    junk: col(r, "junk")?,
                    status: col(r, "status")?,
                    assignee: col(r, "assignee")?,
                    n: col(r, "n")?,
                })
            })
            .collect()
    }

    /// The `WHERE` clause of a queue request for one of its queries.
    pub(crate) fn filters(&self, q: &QueueQuery, scope: Scope) -> Where {
        let mut w = Where {
            clauses: Vec::new(),
            params: Vec::new(),
        };
        if scope == Scope::All {
            for (value, column) in [
                (&q.category, "t.category"),
                (&q.priority, "t.priority"),
                (&q.junk, "t.junk"),
            ] {
                if let Some(v) = value {
                    w.push(|n| format!("{column} = ${n}"), v.clone());
                }
            }
            if let Some(v) = q.status {
                w.push(|n| format!("t.status = ${n}"), v.as_str().to_string());
            }
            match &q.assignee {
                Some(Assignee::Nobody) => w.clauses.push("t.assignee IS NULL".into()),
                Some(Assignee::Person(p)) => w.push(|n| format!("t.assignee = ${n}"), p.clone()),
                None => {}
            }
        }
        if let (Some(v), true) = (&q.review_reason, scope != Scope::Reasons) {
            w.push(
                |n| {
                    format!(
                        "t.message_id IN (SELECT message_id FROM review_reasons WHERE reason = ${n})"
                    )
                },
                v.clone(),
            );
        }
        if let Some(v) = &q.conversation {
            w.push(|n| format!("t.conv_key = ${n}"), v.clone());
        }
        match q.grouped {
            Some(true) => w.clauses.push("t.group_id IS NOT NULL".into()),
            Some(false) => w.clauses.push("t.group_id IS NULL".into()),
            None => {}
        }
        if let Some(g) = q.group {
            // An integer, so it can be written into the SQL.
            w.clauses.push(format!("t.group_id = {}", g.0));
        }
        if let Some(v) = q.needs_review {
            w.clauses.push(format!("t.needs_review = {}", i64::from(v)));
        }
        if q.order == QueueOrder::Uncertain {
            w.clauses.push(
                "t.reviewed_by IS NULL AND t.is_error = 0 AND t.category_p IS NOT NULL".into(),
            );
        }
        for term in search_terms(q) {
            let n = w.params.len() + 1;
            let (pred, value) = self.engine.search_term(&term, n);
            w.params.push(Param::Text(value));
            w.clauses.push(format!(
                "t.message_id IN (SELECT message_id FROM search WHERE {pred})"
            ));
        }
        w
    }
}

/// The shortest search term used; shorter ones are left out (a trigram index cannot serve
/// them, and scanning every message's text for two letters is too slow for the queue).
pub const MIN_SEARCH_TERM_CHARS: usize = 3;

/// The lowercased search terms of a request that are long enough to use.
fn search_terms(q: &QueueQuery) -> Vec<String> {
    q.search
        .as_deref()
        .unwrap_or("")
        .to_lowercase()
        .split_whitespace()
        .filter(|t| t.chars().count() >= MIN_SEARCH_TERM_CHARS)
        .map(str::to_string)
        .collect()
}

/// Which query a `WHERE` clause is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Scope {
    /// The page: every filter.
    All,
    /// The facet cube: every filter but the facet columns' own (applied when summing).
    Cube,
    /// The review-reason cube: as `Cube`, without the review reason filter.
    Reasons,
}

/// The facet columns of the cubes.
const CUBE: &str = "t.category, t.priority, t.junk, t.status, t.assignee";

/// One group of a cube: a combination of facet values and its count.
struct CubeRow {
    reason: Option<String>,
    category: Option<String>,
    priority: Option<String>,
    junk: Option<String>,
    status: String,
    assignee: Option<String>,
    n: i64,
}

impl CubeRow {
    /// Whether the group passes the request's facet filters, leaving out `skip`'s own.
    fn matches(&self, q: &QueueQuery, skip: Option<Facet>) -> bool {
        let ok = |f: Facet, pass: bool| skip == Some(f) || pass;
        let eq = |want: &Option<String>, have: &Option<String>| {
            want.as_ref()
                .is_none_or(|w| have.as_deref() == Some(w.as_str()))
        };
        ok(Facet::Category, eq(&q.category, &self.category))
            && ok(Facet::Priority, eq(&q.priority, &self.priority))
            && ok(Facet::Junk, eq(&q.junk, &self.junk))
            && ok(
                Facet::Status,
                q.status.is_none_or(|s| s.as_str() == self.status),
            )
            && ok(
                Facet::Assignee,
                match &q.assignee {
                    None => true,
                    Some(Assignee::Nobody) => self.assignee.is_none(),
                    Some(Assignee::Person(p)) => self.assignee.as_deref() == Some(p.as_str()),
                },
            )
    }
}

/// Fill in the review reasons of a page of items (one query for the page).
pub(crate) async fn fill_reasons(
    conn: &mut sqlx::AnyConnection,
    items: &mut [QueueItem],
) -> StoreResult<()> {
    if items.is_empty() {
        return Ok(());
    }
    // The ids are integers read from the database, so they can be written into the SQL.
    let ids: Vec<String> = items.iter().map(|i| i.id.0.to_string()).collect();
    let sql = format!(
        "SELECT message_id, reason FROM review_reasons WHERE message_id IN ({}) \
         ORDER BY message_id, reason",
        ids.join(",")
    );
    let rows = sqlx::query(&sql)
        .fetch_all(&mut *conn)
        .await
        .map_err(query("review reasons"))?;
    for row in rows {
        let id = MessageId(col(&row, "message_id")?);
        let reason: String = col(&row, "reason")?;
        if let Some(item) = items.iter_mut().find(|i| i.id == id) {
            item.review_reasons.push(reason);
        }
    }
    Ok(())
}
