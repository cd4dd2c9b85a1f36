//! Learning from corrections, for admins only (a reviewer gets 403 from every route here): per
//! axis, the head in use, training a candidate from the reviewed mail, each candidate's
//! comparison with the head in use on newer reviewed mail it did not train on, and the
//! decisions: promote, discard, roll back. Each decision is one store transaction with its
//! audit entry under the admin's name; the engine that triages new messages follows at once.

use axum::extract::{Path, State};
use axum::response::{IntoResponse, Redirect, Response};
use maud::{html, Markup, PreEscaped};
use serde::Deserialize;
use serde_json::Value;

use super::layout::{csrf, page};
use super::when;
use crate::desk::auth::{Admin, Checked, HasCsrf};
use crate::desk::error::{Fail, Page};
use crate::desk::{DeskState, TrainStatus};
use crate::pipeline::load_taxonomy;
use crate::store::{Head, HeadState};

/// Seconds between reloads of the page while a head is being trained (no script needed).
const REFRESH_SECONDS: u32 = 3;

/// The axes to show: those the engine decides, else the built-in taxonomy's, and every axis
/// the store has a head for.
async fn axes(state: &DeskState) -> Result<Vec<String>, Fail> {
    let mut axes = match state.engine() {
        Ok(e) => e.axes(),
        Err(_) => load_taxonomy(None)
            .map(|t| t.axes.iter().map(|a| a.name.clone()).collect())
            .unwrap_or_default(),
    };
    for a in state.store().head_axes().await? {
        if !axes.contains(&a) {
            axes.push(a);
        }
    }
    Ok(axes)
}

/// What decides `axis` when the store has no active head for it.
fn without_store_head(state: &DeskState, axis: &str) -> String {
    match state.engine() {
        Ok(e) => match e
            .models()
            .heads
            .iter()
            .find(|h| h.id == format!("head:{axis}"))
        {
            Some(h) => format!("the shipped head {axis}@{}", short(&h.sha256)),
            None => "zero-shot (the taxonomy's descriptions)".into(),
        },
        Err(_) => "the shipped head, or zero-shot".into(),
    }
}

fn short(sha: &str) -> &str {
    &sha[..sha.len().min(12)]
}

fn metric(v: &Value, key: &str) -> String {
    match v[key].as_f64() {
        Some(x) if key == "review_share" => format!("{:.1} %", 100.0 * x),
        Some(x) => format!("{x:.3}"),
        None => "–".into(),
    }
}

/// A candidate's comparison with the head in use, as a table.
fn comparison(metrics: Option<&str>) -> Markup {
    let Some(m) = metrics.and_then(|m| serde_json::from_str::<Value>(m).ok()) else {
        return html! { p { "No comparison recorded." } };
    };
    let in_use = &m["in_use"];
    let in_use_name = match (in_use["kind"].as_str(), in_use["id"].as_i64()) {
        (Some("store"), Some(id)) => format!("store head {id}"),
        (Some("shipped"), _) => "shipped head".into(),
        (Some("zero_shot"), _) => "zero-shot".into(),
        _ => "nothing".into(),
    };
    let keys = ["macro_f1", "accuracy", "ece", "review_share", "n"];
    let names = [
        "macro-F1",
        "accuracy",
        "ECE (lower is better)",
        "to review",
        "messages",
    ];
    html! {
        p {
            "Trained on the " (m["n_train"]) " older reviewed messages, tested on the "
            (m["n_test"]) " newer ones (from " (when(m["split_ms"].as_i64().unwrap_or(0)))
            "), at review threshold " (format!("{:.2}", m["threshold"].as_f64().unwrap_or(0.0)))
            ". The head to promote is fitted on all " (m["n_final"]) "."
        }
        table.figures.comparison {
            thead { tr { th { "" } th { "candidate" } th { "in use (" (in_use_name) ")" } } }
            tbody {
                @for (k, name) in keys.iter().zip(names) {
                    tr data-metric=(k) {
                        th { (name) }
                        td.candidate { (if *k == "n" { m["candidate"]["n"].to_string() } else { metric(&m["candidate"], k) }) }
                        td.current { (if m["current"].is_null() { "–".to_string() } else if *k == "n" { m["current"]["n"].to_string() } else { metric(&m["current"], k) }) }
                    }
                }
            }
        }
    }
}

fn status_line(status: Option<&TrainStatus>) -> Markup {
    match status {
        Some(TrainStatus::Running(since, by)) => html! {
            p.notice.training data-state="running" {
                "Training a candidate (started by " (by) " at " (when(*since))
                "): this page reloads until it is done."
            }
        },
        Some(TrainStatus::Done(at, id)) => html! {
            p.notice.training data-state="done" {
                "Trained candidate head " (id) " at " (when(*at)) "."
            }
        },
        Some(TrainStatus::Failed(at, why)) => html! {
            p.error-box.training data-state="failed" { "Training failed at " (when(*at)) ": " (why) }
        },
        None => html! {},
    }
}

fn head_row(user: &crate::desk::auth::SessionUser, h: &Head) -> Markup {
    let created = when(h.created_at);
    html! {
        tr data-head=(h.id) data-state=(format!("{:?}", h.state).to_lowercase()) {
            td { (h.id) }
            td { code { (h.axis) "@" (short(&h.sha256)) } }
            td { (created) " by " (h.created_by) }
            td {
                @match h.state {
                    HeadState::Candidate => {
                        form.inline method="post" action={ "/learning/heads/" (h.id) "/promote" } {
                            (csrf(user)) button.primary type="submit" { "Promote" } }
                        " "
                        form.inline method="post" action={ "/learning/heads/" (h.id) "/discard" } {
                            (csrf(user)) button type="submit" { "Discard" } }
                    }
                    HeadState::Active => { "in use" }
                    HeadState::Retired => {
                        "retired"
                        @if h.promoted_at.is_some() {
                            " (was in use) "
                            form.inline method="post" action={ "/learning/heads/" (h.id) "/promote" } {
                                (csrf(user)) button type="submit" { "Use again" } }
                        }
                    }
                }
            }
        }
    }
}

/// `GET /learning`.
pub async fn show(State(state): State<DeskState>, Admin(user): Admin) -> Result<Response, Page> {
    let training = state.training();
    let running = training
        .values()
        .any(|s| matches!(s, TrainStatus::Running(..)));
    let mut sections = Vec::new();
    for axis in axes(&state).await? {
        let heads = state.store().heads(&axis).await?;
        let reviewed = state.store().training_count(&axis).await?;
        let active = heads.iter().find(|h| h.state == HeadState::Active);
        let candidates: Vec<&Head> = heads
            .iter()
            .filter(|h| h.state == HeadState::Candidate)
            .collect();
        sections.push(html! {
            section.axis-learning #{ "axis-" (axis) } data-axis=(axis) {
                h2 { (axis) }
                p.in-use {
                    "In use: "
                    @match active {
                        Some(h) => { strong { "store head " (h.id) } " (" code { (h.axis) "@" (short(&h.sha256)) } "), promoted "
                            (h.promoted_at.map(when).unwrap_or_default()) }
                        None => { strong { (without_store_head(&state, &axis)) } }
                    }
                }
                p { (reviewed) " reviewed messages to learn from (each once, with its final label)." }
                (status_line(training.get(&axis)))
                form.inline method="post" action="/learning/train" {
                    (csrf(&user))
                    input type="hidden" name="axis" value=(axis);
                    button.primary type="submit" data-train=(axis) { "Train a candidate for " (axis) }
                }
                @if active.is_some() {
                    " "
                    form.inline method="post" action="/learning/rollback" {
                        (csrf(&user))
                        input type="hidden" name="axis" value=(axis);
                        button type="submit" data-rollback=(axis) { "Roll back" }
                    }
                }
                @for c in &candidates {
                    div.candidate data-candidate=(c.id) {
                        h3 { "Candidate head " (c.id) }
                        (comparison(c.metrics_json.as_deref()))
                    }
                }
                @if !heads.is_empty() {
                    table.figures.heads {
                        thead { tr { th { "Head" } th { "Name in records" } th { "Trained" } th { "State" } } }
                        tbody { @for h in &heads { (head_row(&user, h)) } }
                    }
                }
            }
        });
    }
    let body = html! {
        @if running {
            // A plain refresh while training runs: the page shows the result when it is done.
            (PreEscaped(format!(r#"<meta http-equiv="refresh" content="{REFRESH_SECONDS}">"#)))
        }
        h1 { "Learning from corrections" }
        p {
            "A candidate head is trained on the reviewed messages of an axis (corrections, and "
            "decisions accepted as they were). Before it can be used it is compared with the head "
            "in use on the newer reviewed messages it did not train on. Promoting it makes it "
            "decide new messages at once; every record names the head that decided it; rolling "
            "back brings the previous head back."
        }
        @for s in &sections { (s) }
    };
    Ok(page("Learning", Some(&user), body).into_response())
}

/// The axis form.
#[derive(Debug, Deserialize)]
pub struct AxisForm {
    csrf: String,
    axis: String,
}

impl HasCsrf for AxisForm {
    fn csrf(&self) -> &str {
        &self.csrf
    }
}

/// The token-only form.
#[derive(Debug, Deserialize)]
pub struct TokenForm {
    csrf: String,
}

impl HasCsrf for TokenForm {
    fn csrf(&self) -> &str {
        &self.csrf
    }
}

fn back(axis: &str) -> Response {
    Redirect::to(&format!("/learning#axis-{axis}")).into_response()
}

async fn known_axis(state: &DeskState, axis: &str) -> Result<(), Fail> {
    if axes(state).await?.iter().any(|a| a == axis) {
        Ok(())
    } else {
        Err(Fail::Invalid(format!(
            "{axis:?} is not an axis of this desk"
        )))
    }
}

/// `POST /learning/train`.
pub async fn train(
    State(state): State<DeskState>,
    Admin(user): Admin,
    Checked(f): Checked<AxisForm>,
) -> Result<Response, Page> {
    known_axis(&state, &f.axis).await?;
    state.start_training(&f.axis, &user.account.name)?;
    Ok(back(&f.axis))
}

/// After a change of the heads in use: the engine follows now, so that the next message is
/// decided by the head now active (a failure shows on the page that follows).
async fn follow(state: &DeskState) {
    if let Err(e) = state.refresh_engine().await {
        tracing::warn!(error = ?e, "the desk's engine could not follow the heads in use");
    }
}

/// The head `id`; a form naming no stored head is refused as invalid (the route exists).
async fn stored(state: &DeskState, id: i64) -> Result<Head, Fail> {
    state
        .store()
        .head(id)
        .await?
        .ok_or_else(|| Fail::Invalid(format!("there is no head {id}")))
}

/// `POST /learning/heads/{id}/promote`.
pub async fn promote(
    State(state): State<DeskState>,
    Admin(user): Admin,
    Path(id): Path<i64>,
    Checked(_): Checked<TokenForm>,
) -> Result<Response, Page> {
    stored(&state, id).await?;
    let head = state.store().promote_head(&user.account.name, id).await?;
    follow(&state).await;
    Ok(back(&head.axis))
}

/// `POST /learning/heads/{id}/discard`.
pub async fn discard(
    State(state): State<DeskState>,
    Admin(user): Admin,
    Path(id): Path<i64>,
    Checked(_): Checked<TokenForm>,
) -> Result<Response, Page> {
    let head = stored(&state, id).await?;
    if head.state != HeadState::Candidate {
        return Err(Fail::Invalid(format!("head {id} is not a candidate")).into());
    }
    state.store().retire_head(&user.account.name, id).await?;
    Ok(back(&head.axis))
}

/// `POST /learning/rollback`.
pub async fn rollback(
    State(state): State<DeskState>,
    Admin(user): Admin,
    Checked(f): Checked<AxisForm>,
) -> Result<Response, Page> {
    state
        .store()
        .rollback_head(&user.account.name, &f.axis)
        .await?;
    follow(&state).await;
    Ok(back(&f.axis))
}
