//! The message page's panel for a message in a group of near-duplicates: "one of N similar
//! messages", a link to the members in the queue, and the actions for the whole group (accept
//! every decision, mark every member answered or needing no reply, correct the category of
//! every member), each a form POST with the session's CSRF token, done on the server.

use maud::{html, Markup};

use super::layout::csrf;
use super::message::View;
use super::when;
use crate::desk::auth::SessionUser;
use crate::store::{Group, Status};

/// The panel (nothing when the message is in no group).
pub fn panel(v: &View, group: Option<&Group>, user: &SessionUser, back: &str) -> Markup {
    let Some(g) = group else {
        return html! {};
    };
    let others = g.size - 1;
    let action = |what: &str| format!("/groups/{}/{what}", g.id);
    let hidden = html! { (csrf(user)) input type="hidden" name="back" value=(back); };
    let category = v.record.axes.iter().find(|a| a.axis == "category");
    html! {
        section.card #group aria-labelledby="group-title" data-group=(g.id) data-size=(g.size) {
            h2 #group-title { "One of " (g.size) " similar messages" }
            p {
                "The same or nearly the same text came " (g.size) " times ("
                (others) " other" @if others != 1 { "s" } ", " (g.open) " still open), from "
                (when(g.first_ms)) " to " (when(g.last_ms)) ". "
                a #group-members href={ "/?group=" (g.id) "&each=true" } { "Show all " (g.size) " in the queue" }
            }
            p.muted { small { "What you do here is done to every message of the group, each with its own entry in the history." } }
            form method="post" action=(action("accept")) {
                (hidden)
                button type="submit" { "Accept the decisions of all " (g.size) }
            }
            div {
                @for (status, text) in [(Status::Answered, "Mark all answered"), (Status::NoReplyNeeded, "Mark all as needing no reply")] {
                    form method="post" action=(action("status")) {
                        (hidden)
                        input type="hidden" name="status" value=(status.as_str());
                        button type="submit" { (text) }
                    }
                }
            }
            @if let Some(axis) = category {
                @if !axis.probabilities.is_empty() {
                    form method="post" action=(action("label")) {
                        (hidden)
                        input type="hidden" name="axis" value="category";
                        label for="group-category" { "Category of all " (g.size) " " }
                        select #group-category name="label" {
                            @for (label, _) in &axis.probabilities {
                                option value=(label) { (label.replace('_', " ")) }
                            }
                        }
                        " " button type="submit" { "Set" }
                    }
                }
            }
        }
    }
}

/// The queue row's count of similar messages: `× N` for a collapsed group (a link to its
/// members), `(1 of N similar)` for a member shown on its own.
pub fn count(item: &crate::store::QueueItem) -> Markup {
    html! {
        @if let Some(g) = item.group {
            @if item.represents > 1 {
                " " a.badge.campaign href={ "/?group=" (g) "&each=true" } data-group-count=(item.represents)
                    title="Similar messages (a campaign or repeats): show them all" { "× " (item.represents) }
            } @else if item.group_size > 1 {
                " " a.muted href={ "/?group=" (g) "&each=true" } title="Show the similar messages" {
                    "(1 of " (item.group_size) " similar)" }
            }
        }
    }
}

/// The queue's filter for campaigns and repeats, and the switch between one row per group and
/// one row per message.
pub fn facet(p: &crate::desk::filters::QueueParams) -> Markup {
    let grouped = p.get("grouped");
    let each = p.get("each") == Some("true");
    html! {
        h2 { "Similar messages" }
        ul {
            li { a href=(p.with("grouped", Some("true")))
                aria-current=[(grouped == Some("true")).then_some("true")] { "campaigns and repeats only" } }
            li { a href=(p.with("grouped", None))
                aria-current=[grouped.is_none().then_some("true")] { "all" } }
            @if each {
                li { a href=(p.with("each", None)) { "one row per group" } }
            } @else {
                li { a href=(p.with("each", Some("true"))) { "one row per message" } }
            }
        }
    }
}
