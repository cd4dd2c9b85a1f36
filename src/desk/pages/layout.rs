//! The page shell: head (the stylesheet and the script, both from this server), the top bar
//! (where to go, who is logged in, log out), the main content and the shortcut dialog.

use axum::http::StatusCode;
use maud::{html, Markup, DOCTYPE};

use super::shortcut_table;
use crate::desk::auth::SessionUser;

/// A whole page.
pub fn page(title: &str, user: Option<&SessionUser>, body: Markup) -> Markup {
    html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                title { (title) " · mailroom desk" }
                link rel="stylesheet" href="/assets/desk.css";
                script src="/assets/desk.js" defer {}
            }
            body {
                a.skip href="#main" { "Skip to content" }
                header.top {
                    a.brand href="/" { "mailroom desk" }
                    @if let Some(u) = user {
                        nav aria-label="Main" {
                            a href="/" { "Queue" }
                            a href="/overview" data-key="v" { "Overview" }
                            @if u.is_admin() { a href="/learning" { "Learning" } a href="/accounts" { "Accounts" } }
                            a href="/help" { "Keys " kbd { "?" } }
                        }
                        span.who { (u.account.name) " (" (u.account.role.as_str()) ")" }
                        form method="post" action="/logout" {
                            input type="hidden" name="csrf" value=(u.csrf);
                            button type="submit" id="logout" { "Log out" }
                        }
                    }
                }
                main #main { (body) }
                @if user.is_some() {
                    dialog #help aria-labelledby="help-title" {
                        h2 #help-title { "Keyboard shortcuts" }
                        (shortcut_table())
                        p { button type="button" #help-close { "Close" } }
                    }
                }
            }
        }
    }
}

/// The page of a failed request.
pub fn error_page(status: StatusCode, message: &str) -> Markup {
    let reason = status.canonical_reason().unwrap_or("Error");
    page(
        reason,
        None,
        html! {
            h1 { (status.as_u16()) " " (reason) }
            p.error-box { (message) }
            p { a href="/" { "Back to the queue" } }
        },
    )
}

/// A hidden CSRF field.
pub fn csrf(user: &SessionUser) -> Markup {
    html! { input type="hidden" name="csrf" value=(user.csrf); }
}
