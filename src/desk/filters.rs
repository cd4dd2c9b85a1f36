//! The queue's query parameters, shared by the queue page and `GET /api/queue`: `category`,
//! `priority`, `junk`, `review_reason`, `status`, `assignee` (a name, or `unassigned=true`),
//! `conversation`, `needs_review`, `q` (search), `grouped` (only campaigns and repeats: `true`),
//! `group` (one group's members), `each` (`true`: one row per message instead of one per group
//! of near-duplicates), `order` (`uncertain`: the "help the model" queue), `offset`, `limit`;
//! and `at`, a message's place in the queue, which the message page uses to find its
//! neighbours. Empty values mean "any".

use serde::Deserialize;

use super::auth::encode_component;
use super::error::Fail;
use crate::store::{Assignee, GroupId, QueueOrder, QueueQuery, Status, MAX_LIMIT};

/// The parameters as given (all text, checked by [`QueueParams::to_query`]).
#[derive(Debug, Clone, Default, Deserialize, PartialEq, Eq)]
#[serde(default)]
pub struct QueueParams {
    /// Category label.
    pub category: Option<String>,
    /// Priority label.
    pub priority: Option<String>,
    /// Junk label.
    pub junk: Option<String>,
    /// Review reason.
    pub review_reason: Option<String>,
    /// `open`, `answered`, `no_reply_needed`.
    pub status: Option<String>,
    /// An account name.
    pub assignee: Option<String>,
    /// `true`: assigned to nobody.
    pub unassigned: Option<String>,
    /// A conversation key.
    pub conversation: Option<String>,
    /// `true` or `false`.
    pub needs_review: Option<String>,
    /// Search words.
    pub q: Option<String>,
    /// `true`: only messages in a group of near-duplicates; `false`: only those in none.
    pub grouped: Option<String>,
    /// A group id: only its members.
    pub group: Option<String>,
    /// `true`: one row per message (groups of near-duplicates not collapsed).
    pub each: Option<String>,
    /// `uncertain`: unreviewed messages, the least certain decision first; `triage` (the
    /// default): urgent, needs review, oldest.
    pub order: Option<String>,
    /// Messages to skip.
    pub offset: Option<String>,
    /// Page size.
    pub limit: Option<String>,
    /// A message's place in the queue (message page only).
    pub at: Option<String>,
}

fn given(v: &Option<String>) -> Option<&str> {
    v.as_deref().map(str::trim).filter(|s| !s.is_empty())
}

fn flag(name: &str, v: &Option<String>) -> Result<Option<bool>, Fail> {
    match given(v) {
        None => Ok(None),
        Some("true" | "1" | "yes") => Ok(Some(true)),
        Some("false" | "0" | "no") => Ok(Some(false)),
        Some(other) => Err(Fail::Invalid(format!(
            "{name} must be true or false, not {other:?}"
        ))),
    }
}

fn number(name: &str, v: &Option<String>) -> Result<Option<u64>, Fail> {
    given(v)
        .map(|s| {
            s.parse::<u64>()
                .map_err(|_| Fail::Invalid(format!("{name} must be a whole number, not {s:?}")))
        })
        .transpose()
}

/// The filter keys, in the order URLs carry them.
const KEYS: [&str; 14] = [
    "category",
    "priority",
    "junk",
    "review_reason",
    "status",
    "assignee",
    "unassigned",
    "conversation",
    "needs_review",
    "q",
    "grouped",
    "group",
    "each",
    "order",
];

impl QueueParams {
    /// The store's query; `page_size` when no limit is given.
    pub fn to_query(&self, page_size: u64) -> Result<QueueQuery, Fail> {
        let status = given(&self.status)
            .map(|s| {
                s.parse::<Status>()
                    .map_err(|e| Fail::Invalid(e.to_string()))
            })
            .transpose()?;
        let assignee = match (flag("unassigned", &self.unassigned)?, given(&self.assignee)) {
            (Some(true), _) => Some(Assignee::Nobody),
            (_, Some(name)) => Some(Assignee::Person(name.to_string())),
            _ => None,
        };
        let limit = number("limit", &self.limit)?.unwrap_or(page_size);
        if limit > MAX_LIMIT {
            return Err(Fail::Invalid(format!("limit must be at most {MAX_LIMIT}")));
        }
        let text = |v: &Option<String>| given(v).map(str::to_string);
        let order = match given(&self.order) {
            None | Some("triage") => QueueOrder::Triage,
            Some("uncertain") => QueueOrder::Uncertain,
            Some(other) => {
                return Err(Fail::Invalid(format!(
                    "order must be triage or uncertain, not {other:?}"
                )))
            }
        };
        Ok(QueueQuery {
            category: text(&self.category),
            priority: text(&self.priority),
            junk: text(&self.junk),
            review_reason: text(&self.review_reason),
            status,
            assignee,
            conversation: text(&self.conversation),
            needs_review: flag("needs_review", &self.needs_review)?,
            search: text(&self.q),
            grouped: flag("grouped", &self.grouped)?,
            group: number("group", &self.group)?
                .map(|g| GroupId(i64::try_from(g).unwrap_or(i64::MAX))),
            collapse_groups: flag("each", &self.each)? != Some(true),
            order,
            offset: number("offset", &self.offset)?.unwrap_or(0),
            limit: limit.max(1),
        })
    }

    /// The message's place, when given.
    pub fn at(&self) -> Result<Option<u64>, Fail> {
        number("at", &self.at)
    }

    /// A filter's value, when set.
    pub fn get(&self, key: &str) -> Option<&str> {
        given(match key {
            "category" => &self.category,
            "priority" => &self.priority,
            "junk" => &self.junk,
            "review_reason" => &self.review_reason,
            "status" => &self.status,
            "assignee" => &self.assignee,
            "unassigned" => &self.unassigned,
            "conversation" => &self.conversation,
            "needs_review" => &self.needs_review,
            "q" => &self.q,
            "grouped" => &self.grouped,
            "group" => &self.group,
            "each" => &self.each,
            "order" => &self.order,
            _ => return None,
        })
    }

    /// The filters that are set, as `(key, value)`.
    pub fn pairs(&self) -> Vec<(&'static str, String)> {
        KEYS.iter()
            .filter_map(|k| self.get(k).map(|v| (*k, v.to_string())))
            .collect()
    }

    /// The queue URL with these filters, one of them changed (`None` removes it), first page.
    pub fn with(&self, key: &str, value: Option<&str>) -> String {
        let mut pairs: Vec<(&str, String)> = self
            .pairs()
            .into_iter()
            .filter(|(k, _)| *k != key && !(key == "assignee" && *k == "unassigned"))
            .filter(|(k, _)| !(key == "unassigned" && *k == "assignee"))
            .collect();
        if let Some(v) = value {
            pairs.push((key_static(key), v.to_string()));
        }
        url("/", &pairs)
    }

    /// The queue URL with these filters at another offset.
    pub fn page(&self, offset: u64) -> String {
        let mut pairs = self.pairs();
        if offset > 0 {
            pairs.push(("offset", offset.to_string()));
        }
        url("/", &pairs)
    }

    /// The query string (no `?`) of these filters plus a place, for links to messages.
    pub fn context(&self, at: Option<u64>) -> String {
        let mut pairs = self.pairs();
        if let Some(at) = at {
            pairs.push(("at", at.to_string()));
        }
        query_string(&pairs)
    }
}

fn key_static(key: &str) -> &'static str {
    KEYS.iter().find(|k| **k == key).copied().unwrap_or("q")
}

/// `key=value&...`, percent-encoded.
pub fn query_string(pairs: &[(&str, String)]) -> String {
    pairs
        .iter()
        .map(|(k, v)| format!("{k}={}", encode_component(v)))
        .collect::<Vec<_>>()
        .join("&")
}

/// `path?query` (just `path` without pairs).
pub fn url(path: &str, pairs: &[(&str, String)]) -> String {
    if pairs.is_empty() {
        path.to_string()
    } else {
        format!("{path}?{}", query_string(pairs))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parameters_become_a_store_query() {
        let p = QueueParams {
            category: Some("complaint".into()),
            status: Some("open".into()),
            unassigned: Some("true".into()),
            assignee: Some("ann".into()),
            needs_review: Some("false".into()),
            q: Some("  ".into()),
            offset: Some("50".into()),
            ..QueueParams::default()
        };
        let q = p.to_query(25).unwrap();
        assert_eq!(q.category.as_deref(), Some("complaint"));
        assert_eq!(q.status, Some(Status::Open));
        assert_eq!(q.assignee, Some(Assignee::Nobody));
        assert_eq!(q.needs_review, Some(false));
        assert_eq!(q.search, None);
        assert_eq!((q.offset, q.limit), (50, 25));
        let bad = QueueParams {
            status: Some("closed".into()),
            ..QueueParams::default()
        };
        assert!(bad.to_query(25).is_err());
    }

    #[test]
    fn urls_keep_the_other_filters() {
        let p = QueueParams {
            category: Some("complaint".into()),
            q: Some("bin & bag".into()),
            ..QueueParams::default()
        };
        assert_eq!(
            p.with("priority", Some("urgent")),
            "/?category=complaint&q=bin%20%26%20bag&priority=urgent"
        );
        assert_eq!(p.with("category", None), "/?q=bin%20%26%20bag");
        assert_eq!(
            p.page(50),
            "/?category=complaint&q=bin%20%26%20bag&offset=50"
        );
        assert_eq!(
            p.context(Some(3)),
            "category=complaint&q=bin%20%26%20bag&at=3"
        );
    }
}
