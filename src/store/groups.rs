//! Groups of near-duplicate messages (campaigns, repeats), kept as messages are stored: each
//! new message with a [`Signature`] is compared with the stored messages that share an exact
//! key or an LSH band key with it (indexed lookups, never all pairs), the candidates verified by
//! [`Signature::same_letter`], and it joins their group; when it matches messages of two
//! groups, the groups merge into the older one.
//!
//! Cost per new message: one exact-key lookup, one lookup of [`BANDS`](super::similar::BANDS)
//! band keys (the rows read are the messages sharing a band, which for unrelated mail is nearly
//! none), and at most [`MAX_VERIFIED`] signature comparisons of [`SLOTS`](super::similar::SLOTS)
//! slots, however large the store or a group grows. Messages that are near-copies of one
//! already indexed (similarity at least [`NEAR_COPY`]) are not indexed themselves, so that a
//! campaign of thousands of copies does not fill its buckets with thousands of rows. Storing
//! `n` messages is `O(n)` index work, against `O(n²)` comparisons for all pairs.
//!
//! On PostgreSQL the grouping step of a transaction takes an advisory lock, so that two workers
//! storing copies of one letter at the same time see each other's (committed) copy and do not
//! start two groups; SQLite has one writer at a time already.

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};

use super::dialect::Engine;
use super::error::{query, StoreResult};
use super::similar::{Signature, NEAR_COPY};
use super::types::{col, now_ms, MessageId};
use super::Store;

/// Signatures compared per new message, at most.
pub const MAX_VERIFIED: usize = 64;
/// Members of one group compared per new message, at most (those sharing the most bands).
const PER_GROUP: usize = 3;
/// The advisory lock key of the grouping step (PostgreSQL).
const GROUP_LOCK: i64 = 0x006d_7267_726f_7570; // "mrgroup"

/// A group's id.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct GroupId(pub i64);

impl std::fmt::Display for GroupId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.fmt(f)
    }
}

/// A group of near-duplicate messages.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Group {
    /// Its id.
    pub id: GroupId,
    /// Messages in it.
    pub size: i64,
    /// Of which still open.
    pub open: i64,
    /// The earliest member's date (its Date header, else when it was stored), ms.
    pub first_ms: i64,
    /// The latest member's date, ms.
    pub last_ms: i64,
    /// The earliest member.
    pub first_message: MessageId,
    /// The earliest member's subject.
    pub subject: Option<String>,
}

/// A stored message that may be the same letter.
struct Candidate {
    id: i64,
    group: Option<i64>,
    hits: i64,
}

impl Store {
    /// The groups with at least `min_size` messages, largest first, at most `limit`.
    pub async fn groups(&self, min_size: i64, limit: u32) -> StoreResult<Vec<Group>> {
        let sql = format!(
            "{GROUP_SELECT} WHERE g.size >= $1 ORDER BY g.size DESC, g.id LIMIT {}",
            limit.max(1)
        );
        let rows = sqlx::query(&sql)
            .bind(min_size)
            .fetch_all(&self.pool)
            .await
            .map_err(query("list groups"))?;
        rows.iter().map(group_from_row).collect()
    }

    /// One group.
    pub async fn group(&self, id: GroupId) -> StoreResult<Option<Group>> {
        let sql = format!("{GROUP_SELECT} WHERE g.id = $1");
        let row = sqlx::query(&sql)
            .bind(id.0)
            .fetch_optional(&self.pool)
            .await
            .map_err(query("read group"))?;
        row.as_ref().map(group_from_row).transpose()
    }

    /// A group's members, oldest first.
    pub async fn group_members(&self, id: GroupId) -> StoreResult<Vec<MessageId>> {
        let ids: Vec<i64> = sqlx::query_scalar(
            "SELECT message_id FROM triage WHERE group_id = $1 ORDER BY sort_date, message_id",
        )
        .bind(id.0)
        .fetch_all(&self.pool)
        .await
        .map_err(query("read group members"))?;
        Ok(ids.into_iter().map(MessageId).collect())
    }

    /// Put a new message (already inserted in `tx`, sorted at `sort_date`) into the group of
    /// the stored messages that are the same letter, if any; returns its group.
    pub(crate) async fn join_group(
        &self,
        tx: &mut sqlx::AnyConnection,
        id: MessageId,
        sig: &Signature,
        sort_date: i64,
    ) -> StoreResult<Option<GroupId>> {
        if self.engine == Engine::Postgres {
            sqlx::query("SELECT 1 AS locked FROM (SELECT pg_advisory_xact_lock($1)) l")
                .bind(GROUP_LOCK)
                .fetch_one(&mut *tx)
                .await
                .map_err(query("lock grouping"))?;
        }
        let (matches, best) = match exact_match(tx, &sig.exact).await? {
            Some(c) => (vec![c], 1.0),
            None => near_matches(tx, sig).await?,
        };
        let indexed = sig.has_minhash() && best < NEAR_COPY;
        sqlx::query(
            "INSERT INTO signatures (message_id, text_sha256, shingles, minhash, indexed) \
             VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(id.0)
        .bind(&sig.exact)
        .bind(i64::from(sig.shingles))
        .bind(sig.has_minhash().then(|| sig.minhash_bytes()))
        .bind(i64::from(indexed))
        .execute(&mut *tx)
        .await
        .map_err(query("insert signature"))?;
        if indexed {
            // Band keys are integers computed here, so they can be written into the SQL.
            let values: Vec<String> = sig
                .bands()
                .iter()
                .map(|k| format!("({k}, {})", id.0))
                .collect();
            let sql = format!(
                "INSERT INTO lsh_bands (band_key, message_id) VALUES {} ON CONFLICT DO NOTHING",
                values.join(", ")
            );
            sqlx::query(&sql)
                .execute(&mut *tx)
                .await
                .map_err(query("insert band keys"))?;
        }
        if matches.is_empty() {
            return Ok(None);
        }
        self.merge(tx, id, &matches, sort_date).await.map(Some)
    }

    /// Put the new message, the matched singles and every matched group into one group (the
    /// oldest matched group, or a new one).
    async fn merge(
        &self,
        tx: &mut sqlx::AnyConnection,
        id: MessageId,
        matches: &[Candidate],
        sort_date: i64,
    ) -> StoreResult<GroupId> {
        let groups: BTreeSet<i64> = matches.iter().filter_map(|c| c.group).collect();
        let singles: Vec<i64> = matches
            .iter()
            .filter(|c| c.group.is_none())
            .map(|c| c.id)
            .collect();
        let target = match groups.first() {
            Some(g) => *g,
            None => sqlx::query_scalar(
                "INSERT INTO similar_groups (size, first_ms, last_ms, created_at) \
                 VALUES (0, $1, $1, $2) RETURNING id",
            )
            .bind(sort_date)
            .bind(now_ms())
            .fetch_one(&mut *tx)
            .await
            .map_err(query("create group"))?,
        };
        // Every id written into the SQL below is an integer read from the database.
        let mut joining = singles.clone();
        joining.push(id.0);
        let list = |v: &[i64]| v.iter().map(i64::to_string).collect::<Vec<_>>().join(",");
        sqlx::query(&format!(
            "UPDATE triage SET group_id = {target} WHERE message_id IN ({})",
            list(&joining)
        ))
        .execute(&mut *tx)
        .await
        .map_err(query("join group"))?;
        let others: Vec<i64> = groups.iter().skip(1).copied().collect();
        if !others.is_empty() {
            sqlx::query(&format!(
                "UPDATE triage SET group_id = {target} WHERE group_id IN ({})",
                list(&others)
            ))
            .execute(&mut *tx)
            .await
            .map_err(query("merge groups"))?;
            sqlx::query(&format!(
                "DELETE FROM similar_groups WHERE id IN ({})",
                list(&others)
            ))
            .execute(&mut *tx)
            .await
            .map_err(query("drop merged groups"))?;
        }
        if others.is_empty() && singles.is_empty() && !groups.is_empty() {
            // The common case, one more copy: no need to count the group again.
            sqlx::query(
                "UPDATE similar_groups SET size = size + 1, \
                 first_ms = CASE WHEN $1 < first_ms THEN $1 ELSE first_ms END, \
                 last_ms = CASE WHEN $1 > last_ms THEN $1 ELSE last_ms END WHERE id = $2",
            )
            .bind(sort_date)
            .bind(target)
            .execute(&mut *tx)
            .await
            .map_err(query("grow group"))?;
        } else {
            sqlx::query(
                "UPDATE similar_groups SET \
                 size = (SELECT COUNT(*) FROM triage WHERE group_id = $1), \
                 first_ms = (SELECT MIN(sort_date) FROM triage WHERE group_id = $1), \
                 last_ms = (SELECT MAX(sort_date) FROM triage WHERE group_id = $1) WHERE id = $1",
            )
            .bind(target)
            .execute(&mut *tx)
            .await
            .map_err(query("count group"))?;
        }
        tracing::debug!(
            group = target,
            merged = others.len(),
            singles = singles.len(),
            "message joined a group"
        );
        Ok(GroupId(target))
    }
}

const GROUP_SELECT: &str = "SELECT g.id, g.size, g.first_ms, g.last_ms, \
    (SELECT COUNT(*) FROM triage o WHERE o.group_id = g.id AND o.status = 'open') AS open, \
    f.message_id AS first_message, f.subject FROM similar_groups g \
    JOIN triage f ON f.message_id = (SELECT MIN(t.message_id) FROM triage t \
    WHERE t.group_id = g.id AND t.sort_date = g.first_ms)";

fn group_from_row(r: &sqlx::any::AnyRow) -> StoreResult<Group> {
    Ok(Group {
        id: GroupId(col(r, "id")?),
        size: col(r, "size")?,
        open: col(r, "open")?,
        first_ms: col(r, "first_ms")?,
        last_ms: col(r, "last_ms")?,
        first_message: MessageId(col(r, "first_message")?),
        subject: col(r, "subject")?,
    })
}

/// A stored message with the same normalised text.
async fn exact_match(tx: &mut sqlx::AnyConnection, exact: &str) -> StoreResult<Option<Candidate>> {
    let row = sqlx::query(
        "SELECT s.message_id, t.group_id FROM signatures s \
         JOIN triage t ON t.message_id = s.message_id WHERE s.text_sha256 = $1 \
         ORDER BY s.message_id LIMIT 1",
    )
    .bind(exact)
    .fetch_optional(&mut *tx)
    .await
    .map_err(query("find same text"))?;
    row.map(|r| {
        Ok(Candidate {
            id: col(&r, "message_id")?,
            group: col(&r, "group_id")?,
            hits: 0,
        })
    })
    .transpose()
}

/// The stored messages sharing a band key with `sig` that verify as the same letter (at most
/// [`PER_GROUP`] compared per group, [`MAX_VERIFIED`] in all, those sharing most bands first),
/// and the best similarity among them.
async fn near_matches(
    tx: &mut sqlx::AnyConnection,
    sig: &Signature,
) -> StoreResult<(Vec<Candidate>, f64)> {
    let bands = sig.bands();
    if bands.is_empty() {
        return Ok((Vec::new(), 0.0));
    }
    let keys: Vec<String> = bands.iter().map(i64::to_string).collect();
    let sql = format!(
        "SELECT b.message_id, t.group_id, COUNT(*) AS hits FROM lsh_bands b \
         JOIN triage t ON t.message_id = b.message_id WHERE b.band_key IN ({}) \
         GROUP BY b.message_id, t.group_id",
        keys.join(",")
    );
    let rows = sqlx::query(&sql)
        .fetch_all(&mut *tx)
        .await
        .map_err(query("find band candidates"))?;
    let mut by_key: BTreeMap<(bool, i64), Vec<Candidate>> = BTreeMap::new();
    for r in &rows {
        let c = Candidate {
            id: col(r, "message_id")?,
            group: col(r, "group_id")?,
            hits: col(r, "hits")?,
        };
        let key = match c.group {
            Some(g) => (true, g),
            None => (false, c.id),
        };
        by_key.entry(key).or_default().push(c);
    }
    let mut chosen: Vec<Vec<Candidate>> = by_key
        .into_values()
        .map(|mut v| {
            v.sort_by(|a, b| b.hits.cmp(&a.hits).then(a.id.cmp(&b.id)));
            v.truncate(PER_GROUP);
            v
        })
        .collect();
    chosen.sort_by(|a, b| b[0].hits.cmp(&a[0].hits).then(a[0].id.cmp(&b[0].id)));
    let mut budget = MAX_VERIFIED;
    let mut to_check: Vec<Vec<Candidate>> = Vec::new();
    for mut v in chosen {
        if budget == 0 {
            break;
        }
        v.truncate(budget);
        budget -= v.len();
        to_check.push(v);
    }
    let ids: Vec<String> = to_check
        .iter()
        .flatten()
        .map(|c| c.id.to_string())
        .collect();
    if ids.is_empty() {
        return Ok((Vec::new(), 0.0));
    }
    let sql = format!(
        "SELECT message_id, text_sha256, shingles, minhash FROM signatures \
         WHERE message_id IN ({})",
        ids.join(",")
    );
    let rows = sqlx::query(&sql)
        .fetch_all(&mut *tx)
        .await
        .map_err(query("read candidate signatures"))?;
    let mut sims: BTreeMap<i64, f64> = BTreeMap::new();
    for r in &rows {
        let stored = Signature::from_parts(
            col(r, "text_sha256")?,
            u32::try_from(col::<i64>(r, "shingles")?).unwrap_or(u32::MAX),
            &col::<Option<Vec<u8>>>(r, "minhash")?.unwrap_or_default(),
        );
        sims.insert(col(r, "message_id")?, sig.jaccard(&stored));
    }
    let mut best = 0.0f64;
    let mut out = Vec::new();
    for group in to_check {
        let mut hit: Option<(Candidate, f64)> = None;
        for c in group {
            let s = sims.get(&c.id).copied().unwrap_or(0.0);
            if s >= super::similar::JACCARD_THRESHOLD && hit.as_ref().is_none_or(|h| s > h.1) {
                hit = Some((c, s));
            }
        }
        if let Some((c, s)) = hit {
            best = best.max(s);
            out.push(c);
        }
    }
    Ok((out, best))
}
