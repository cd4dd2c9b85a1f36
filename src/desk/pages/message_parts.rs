//! The message page's side column: the decisions (every axis with its probabilities, review
//! reasons and a correction form whose buttons have keys), the actions (accept, assign, status,
//! note) and the history (corrections, notes, audit). Every action is a form POST with the
//! session's CSRF token and the page to come back to.

use maud::{html, Markup};

use super::layout::csrf;
use super::message::View;
use super::{percent, when};
use crate::desk::auth::SessionUser;
use crate::desk::record::AxisView;
use crate::store::Status;

/// The keys of the axes: the three queue axes have their own, others take the rest in turn.
pub fn axis_key(axis: &str, others_before: usize) -> Option<&'static str> {
    match axis {
        "category" => Some("c"),
        "priority" => Some("p"),
        "junk" => Some("x"),
        _ => ["l", "t", "y", "z", "b"].get(others_before).copied(),
    }
}

/// The label an axis carries now: the queue column, else the last correction, else the model's.
fn current_label(v: &View, axis: &AxisView) -> (String, bool) {
    let item = &v.msg.item;
    let column = match axis.axis.as_str() {
        "category" => item.category.as_ref(),
        "priority" => item.priority.as_ref(),
        "junk" => item.junk.as_ref(),
        _ => None,
    };
    if let Some(l) = column {
        return (l.label.clone(), l.probability.is_none());
    }
    match v.corrections.iter().rev().find(|c| c.axis == axis.axis) {
        Some(c) => (c.after.clone(), true),
        None => (axis.label.clone(), false),
    }
}

fn hidden(user: &SessionUser, back: &str) -> Markup {
    html! { (csrf(user)) input type="hidden" name="back" value=(back); }
}

/// Every axis: the label now, the model's probabilities, why it went to review, and the
/// correction buttons.
#[allow(clippy::let_unit_value)] // maud's `@let` is the way to count inside the template
pub fn decisions(v: &View, user: &SessionUser, back: &str) -> Markup {
    let id = v.msg.item.id;
    // Axes of their own get the spare keys in order.
    let mut others = 0;
    let keys: Vec<Option<&str>> = v
        .record
        .axes
        .iter()
        .map(|axis| {
            let key = axis_key(&axis.axis, others);
            if !matches!(axis.axis.as_str(), "category" | "priority" | "junk") {
                others += 1;
            }
            key
        })
        .collect();
    html! {
        section.card #decisions aria-labelledby="decisions-title" {
            h2 #decisions-title { "Decisions" }
            @if v.record.axes.is_empty() { p.muted { "The record has no decisions." } }
            @if !v.record.review.is_empty() {
                p { span.badge.review { "REVIEW" } " " (v.record.review.join("; ")) }
            }
            @for (axis, key) in v.record.axes.iter().zip(keys) {
                @let (now, by_person) = current_label(v, axis);
                div.axis data-axis=(axis.axis) {
                    h3 { (axis.axis.replace('_', " ")) ": "
                        strong data-current=(axis.axis) { (now.replace('_', " ")) }
                        @if by_person { " " span.muted { "(set by a person; the model said " (axis.label.replace('_', " ")) ")" } }
                        @else if let Some(p) = axis.probability { " " span.muted { (percent(p)) } }
                    }
                    @if !axis.reasons.is_empty() { p.muted { "Review: " (axis.reasons.join(", ")) } }
                    form method="post" action={ "/messages/" (id) "/label" } {
                        (hidden(user, back))
                        input type="hidden" name="axis" value=(axis.axis);
                        fieldset.correct data-key=[key] {
                            legend { "Correct " (axis.axis.replace('_', " "))
                                @if let Some(k) = key { " (" kbd { (k) } ", then a number)" } }
                            @for (i, (label, p)) in axis.probabilities.iter().enumerate() {
                                button type="submit" name="label" value=(label)
                                    data-digit=[(i < 9).then(|| (i + 1).to_string())]
                                    aria-pressed=(if *label == now { "true" } else { "false" }) {
                                    @if i < 9 { kbd { (i + 1) } " " }
                                    (label.replace('_', " ")) " "
                                    meter min="0" max="1" value=(p) title=(percent(*p)) { (percent(*p)) }
                                    " " (percent(*p))
                                }
                            }
                        }
                    }
                    @if !axis.method.is_empty() { p.muted { small { "decided by " (axis.method) } } }
                }
            }
            @if !v.record.models.is_empty() { p.muted { small { "Models: " (v.record.models.join(", ")) } } }
        }
    }
}

/// Accept, assign, status, note.
pub fn actions(v: &View, user: &SessionUser, back: &str) -> Markup {
    let item = &v.msg.item;
    let id = item.id;
    let me = &user.account.name;
    let status_button = |status: Status, key: &str, text: &str| {
        let pressed = item.status == status;
        html! {
            form method="post" action={ "/messages/" (id) "/status" } {
                (hidden(user, back))
                input type="hidden" name="status" value=(status.as_str());
                button type="submit" data-key=(key) aria-pressed=(if pressed { "true" } else { "false" }) {
                    (text) " " kbd { (key) }
                }
            }
        }
    };
    html! {
        section.card.actions #actions aria-labelledby="actions-title" {
            h2 #actions-title { "Actions" }
            form method="post" action={ "/messages/" (id) "/accept" } {
                (hidden(user, back))
                button.primary type="submit" data-key="a" { "Accept the decision " kbd { "a" } }
            }
            div {
                (status_button(Status::Answered, "r", "Answered"))
                (status_button(Status::NoReplyNeeded, "w", "No reply needed"))
                (status_button(Status::Open, "e", "Open again"))
            }
            div {
                form method="post" action={ "/messages/" (id) "/assign" } {
                    (hidden(user, back))
                    input type="hidden" name="assignee" value=(me);
                    button type="submit" data-key="m" { "Assign to me " kbd { "m" } }
                }
                form method="post" action={ "/messages/" (id) "/assign" } {
                    (hidden(user, back))
                    label for="assignee-choice" { "Assign to " kbd { "s" } " " }
                    select #assignee-choice name="assignee" data-key="s" {
                        option value="" selected[item.assignee.is_none()] { "nobody" }
                        @for name in &v.assignable {
                            option value=(name) selected[item.assignee.as_deref() == Some(name.as_str())] { (name) }
                        }
                    }
                    " " button type="submit" { "Assign" }
                }
            }
            form method="post" action={ "/messages/" (id) "/note" } {
                (hidden(user, back))
                label for="note" { "Note " kbd { "n" } }
                textarea #note name="body" rows="3" required data-key="n" {}
                button type="submit" { "Add note" } " " span.muted { small { "Ctrl+Enter" } }
            }
        }
    }
}

fn audit_line(e: &crate::store::AuditEntry) -> String {
    let field = |v: &Option<serde_json::Value>, k: &str| {
        v.as_ref()
            .and_then(|v| v.get(k))
            .map(|x| match x {
                serde_json::Value::String(s) => s.clone(),
                serde_json::Value::Null => "nobody".into(),
                other => other.to_string(),
            })
            .unwrap_or_default()
    };
    match e.action.as_str() {
        "correct" => format!(
            "corrected {}: {} → {}",
            field(&e.after, "axis"),
            field(&e.before, "label"),
            field(&e.after, "label")
        ),
        "accept" => "accepted the decision".into(),
        "assign" => format!("assigned to {}", field(&e.after, "assignee")),
        "status" => format!(
            "status {} → {}",
            field(&e.before, "status"),
            field(&e.after, "status")
        ),
        "note" => "added a note".into(),
        other => other.to_string(),
    }
}

/// Notes and the audit trail.
pub fn history(v: &View) -> Markup {
    html! {
        section.card.history aria-labelledby="history-title" {
            h2 #history-title { "Notes and history" }
            @if !v.notes.is_empty() {
                h3 { "Notes" }
                ul #notes { @for n in &v.notes {
                    li { strong { (n.author) } " " span.muted { (when(n.at_ms)) } br; (n.body) }
                } }
            }
            @if v.audit.is_empty() { p.muted { "Nobody has worked on this message yet." } }
            @else {
                h3 { "History" }
                ul #audit { @for e in &v.audit {
                    li { span.muted { (when(e.at_ms)) } " " strong { (e.actor) } " " (audit_line(e)) }
                } }
            }
        }
    }
}
