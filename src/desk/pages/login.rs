//! The login page: a name and a password, and the answers to a wrong password (401) and to
//! too many of them (429).

use axum::extract::Query;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use maud::{html, Markup};
use serde::Deserialize;

use super::layout::page;
use crate::desk::auth::MaybeUser;

/// `?next=` after login.
#[derive(Debug, Deserialize)]
pub struct Next {
    next: Option<String>,
}

fn form(username: &str, next: Option<&str>, notice: Option<Markup>) -> Markup {
    page(
        "Log in",
        None,
        html! {
            h1 { "Log in" }
            @if let Some(n) = notice { (n) }
            form.login method="post" action="/login" {
                label for="username" { "Name" }
                input #username name="username" autocomplete="username" required value=(username) autofocus;
                label for="password" { "Password" }
                input #password name="password" type="password" autocomplete="current-password" required;
                @if let Some(n) = next { input type="hidden" name="next" value=(n); }
                button.primary type="submit" { "Log in" }
            }
        },
    )
}

/// `GET /login` (a logged-in visitor goes to the queue).
pub async fn show(MaybeUser(user): MaybeUser, Query(q): Query<Next>) -> Response {
    if user.is_some() {
        return Redirect::to("/").into_response();
    }
    form("", q.next.as_deref(), None).into_response()
}

/// A wrong name or password.
pub fn failed(username: &str, next: Option<&str>) -> impl IntoResponse {
    let notice = html! { p.error-box role="alert" { "Wrong name or password." } };
    (StatusCode::UNAUTHORIZED, form(username, next, Some(notice)))
}

/// Too many failures.
pub fn limited(username: &str, secs: u64) -> impl IntoResponse {
    let notice = html! {
        p.error-box role="alert" {
            "Too many failed logins. Try again in " (secs) " seconds."
        }
    };
    (
        StatusCode::TOO_MANY_REQUESTS,
        form(username, None, Some(notice)),
    )
}
