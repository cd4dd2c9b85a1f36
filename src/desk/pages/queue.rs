//! The queue page: what to do next. Urgent first, then what needs review, then the oldest (the
//! store's order); the filters down the side with how many messages each would show; a search
//! box; pages. Each row links to its message with the queue's filters and its place, so that
//! the message page can go on to the next one.

use axum::extract::{Query, State};
use maud::{html, Markup};

use super::layout::page;
use super::when;
use crate::desk::auth::User;
use crate::desk::error::Page;
use crate::desk::filters::QueueParams;
use crate::desk::DeskState;
use crate::store::{FacetCount, QueueItem, QueuePage};

/// `GET /`.
pub async fn show(
    State(state): State<DeskState>,
    User(user): User,
    Query(params): Query<QueueParams>,
) -> Result<Markup, Page> {
    let q = params.to_query(state.config().page_size)?;
    let queue = state.store().queue(&q).await?;
    let help = q.order == crate::store::QueueOrder::Uncertain;
    let title = if help { "Help the model" } else { "Queue" };
    Ok(page(
        title,
        Some(&user),
        html! {
            div.layout {
                aside.facets aria-label="Filters" { (facets(&params, &queue)) }
                section aria-labelledby="queue-title" {
                    h1 #queue-title { (title) " " span.muted { "(" (queue.total)
                        @if queue.rows < queue.total { " messages in " (queue.rows) " rows" } ")" } }
                    @if help {
                        p.muted { "Messages nobody has reviewed yet, the decisions the model is least sure of first: accepting or correcting these teaches it most." }
                    }
                    (search(&params))
                    (chips(&params))
                    (table(&params, &queue))
                    (pager(&params, &queue))
                }
            }
        },
    ))
}

fn search(p: &QueueParams) -> Markup {
    html! {
        form.search method="get" action="/" role="search" {
            @for (k, v) in p.pairs() {
                @if k != "q" { input type="hidden" name=(k) value=(v); }
            }
            label.skip for="q" { "Search subject, sender and text" }
            input #q type="search" name="q" value=(p.get("q").unwrap_or(""))
                placeholder="Search subject, sender and text  ( / )" data-key="/";
            button type="submit" { "Search" }
        }
    }
}

/// The filters in force, each with a link that removes it.
fn chips(p: &QueueParams) -> Markup {
    let set = p.pairs();
    html! {
        @if !set.is_empty() {
            p.chips {
                span.muted { "Showing: " }
                @for (k, v) in &set {
                    a href=(p.with(k, None)) title="Remove this filter" {
                        (k.replace('_', " ")) " = " (v) " ✕"
                    }
                }
                a href="/" { "clear all" }
            }
        }
    }
}

fn facet_list(p: &QueueParams, key: &str, title: &str, values: &[FacetCount]) -> Markup {
    let current = p.get(key);
    html! {
        h2 { (title) }
        ul {
            li {
                @if current.is_none() { a href=(p.with(key, None)) aria-current="true" { "any" } }
                @else { a href=(p.with(key, None)) { "any" } }
            }
            @for f in values {
                @let (label, link) = match &f.value {
                    Some(v) => (v.replace('_', " "), p.with(key, Some(v))),
                    None if key == "assignee" => ("nobody".to_string(), p.with("unassigned", Some("true"))),
                    None => ("(none)".to_string(), p.with(key, None)),
                };
                @let selected = match &f.value {
                    Some(v) => current == Some(v.as_str()),
                    None => key == "assignee" && p.get("unassigned") == Some("true"),
                };
                li {
                    @if selected { a href=(link) aria-current="true" { (label) } }
                    @else { a href=(link) { (label) } }
                    " " span.count { "(" (f.count) ")" }
                }
            }
        }
    }
}

fn facets(p: &QueueParams, q: &QueuePage) -> Markup {
    let c = &q.counts;
    let review = p.get("needs_review");
    let help = p.get("order") == Some("uncertain");
    html! {
        p { a #help-the-model href=(p.with("order", (!help).then_some("uncertain")))
            aria-current=[help.then_some("true")]
            title="Unreviewed messages, least certain first" { "Help the model" } }
        h2 { "Review" }
        ul {
            li { a href=(p.with("needs_review", Some("true")))
                aria-current=[(review == Some("true")).then_some("true")] { "needs review" } }
            li { a href=(p.with("needs_review", Some("false")))
                aria-current=[(review == Some("false")).then_some("true")] { "reviewed or clear" } }
            li { a href=(p.with("needs_review", None)) { "either" } }
        }
        (super::group_facet(p))
        (facet_list(p, "status", "Status", &c.status))
        (facet_list(p, "priority", "Priority", &c.priority))
        (facet_list(p, "category", "Category", &c.category))
        (facet_list(p, "review_reason", "Review reason", &c.review_reason))
        (facet_list(p, "junk", "Junk", &c.junk))
        (facet_list(p, "assignee", "Assignee", &c.assignee))
    }
}

/// A row's badges: urgent, needs review, failed, done.
pub fn badges(item: &QueueItem) -> Markup {
    html! {
        @if item.urgent { span.badge.urgent { "URGENT" } }
        @if item.needs_review { span.badge.review title=(item.review_reasons.join(", ")) { "REVIEW" } }
        @if item.is_error { span.badge.error { "FAILED" } }
        @if item.status != crate::store::Status::Open {
            span.badge.done { (item.status.as_str().replace('_', " ")) }
        }
    }
}

fn table(p: &QueueParams, q: &QueuePage) -> Markup {
    html! {
        @if q.items.is_empty() {
            p.notice { "Nothing in the queue matches." }
        } @else {
            table.queue {
                thead { tr {
                    th { span.skip { "Flags" } } th { "Subject" } th { "From" } th { "Category" }
                    th { "Priority" } th { "Date" } th { "Assignee" }
                } }
                tbody {
                    @for (i, item) in q.items.iter().enumerate() {
                        @let at = q.offset + i as u64;
                        tr data-row=(item.id) data-urgent=(item.urgent) data-review=(item.needs_review)
                            data-date=(item.date_ms.unwrap_or(item.stored_at)) {
                            td { (badges(item)) }
                            td.subject {
                                a href={ "/messages/" (item.id) "?" (p.context(Some(at))) } {
                                    (item.subject.as_deref().filter(|s| !s.trim().is_empty()).unwrap_or("(no subject)"))
                                }
                                @if item.conversation_size > 1 {
                                    " " span.muted title="Messages in this conversation" { "(" (item.conversation_size) ")" }
                                }
                                (super::group_count(item))
                            }
                            td { (item.sender.as_deref().unwrap_or("")) }
                            td { (label(&item.category)) }
                            td { (label(&item.priority)) }
                            td { (when(item.date_ms.unwrap_or(item.stored_at))) }
                            td { (item.assignee.as_deref().unwrap_or("")) }
                        }
                    }
                }
            }
        }
    }
}

/// A label, with `(corrected)` when a person set it.
pub fn label(l: &Option<crate::store::Label>) -> Markup {
    html! {
        @if let Some(l) = l {
            (l.label.replace('_', " "))
            @if l.probability.is_none() { " " span.muted title="Set by a person" { "✓" } }
        }
    }
}

fn pager(p: &QueueParams, q: &QueuePage) -> Markup {
    let first = q.offset + 1;
    let last = q.offset + q.items.len() as u64;
    let prev = (q.offset > 0).then(|| p.page(q.offset.saturating_sub(q.limit)));
    let next = (last < q.rows.max(0) as u64).then(|| p.page(q.offset + q.limit));
    html! {
        nav.pager aria-label="Pages" {
            @if let Some(u) = prev { a href=(u) data-key="p" rel="prev" { "← previous" } }
            @if !q.items.is_empty() { span { (first) "–" (last) " of " (q.rows) } }
            @if let Some(u) = next { a href=(u) data-key="n" rel="next" { "next →" } }
        }
    }
}
