//! The HTML pages, one module each, and what they share: the page shell ([`layout`]), the list
//! of keyboard shortcuts (shown by `?` and on `/help`), and date formatting.

pub mod accounts;
mod group;

pub use group::{count as group_count, facet as group_facet};
pub mod layout;
pub mod learning;
pub mod login;
pub mod message;
mod message_parts;
pub mod overview;
pub mod queue;
pub mod replies;

use maud::{html, Markup};

use super::auth::User;

/// Every keyboard shortcut: where it works, the key, what it does. The elements they act on
/// carry `data-key`; the script only finds and clicks, focuses or arms them.
pub const SHORTCUTS: &[(&str, &str, &str)] = &[
    ("everywhere", "?", "show or hide this list"),
    ("everywhere", "v", "overview"),
    ("queue", "j / k", "next / previous message"),
    ("queue", "o or Enter", "open the selected message"),
    ("queue", "/", "search"),
    ("queue", "n / p", "next / previous page"),
    ("message", "j / k", "next / previous message in the queue"),
    ("message", "q", "back to the queue"),
    ("message", "a", "accept the decision"),
    ("message", "c, then 1-9", "correct the category"),
    ("message", "p, then 1-9", "correct the priority"),
    ("message", "x, then 1-9", "correct the junk label"),
    (
        "message",
        "l, then 1-9",
        "correct another axis (each l moves to the next)",
    ),
    ("message", "m", "assign to me"),
    ("message", "s", "choose an assignee"),
    ("message", "n", "write a note (Ctrl+Enter sends it)"),
    ("message", "r", "mark answered"),
    ("message", "w", "mark as needing no reply"),
    ("message", "e", "open again"),
    ("message", "h", "headers and original text"),
    ("anywhere", "Esc", "leave a field or a label choice"),
];

/// The shortcut table.
pub fn shortcut_table() -> Markup {
    html! {
        table.keys {
            thead { tr { th { "Where" } th { "Key" } th { "Does" } } }
            tbody {
                @for (place, key, what) in SHORTCUTS {
                    tr { td { (place) } td { kbd { (key) } } td { (what) } }
                }
            }
        }
    }
}

/// `GET /help`: the shortcuts, for readers without the script.
pub async fn help(User(user): User) -> Markup {
    layout::page(
        "Keyboard shortcuts",
        Some(&user),
        html! {
            h1 { "Keyboard shortcuts" }
            p { "Every action is also a button or a link: the keys only save time." }
            (shortcut_table())
        },
    )
}

/// A time (ms since the epoch) as `YYYY-MM-DD HH:MM UTC`.
pub fn when(ms: i64) -> String {
    match jiff::Timestamp::from_millisecond(ms) {
        Ok(t) => format!("{} UTC", t.strftime("%Y-%m-%d %H:%M")),
        Err(_) => "unknown".into(),
    }
}

/// A probability as a percentage.
pub fn percent(p: f64) -> String {
    format!("{:.0}%", p * 100.0)
}
