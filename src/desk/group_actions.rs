//! The actions on a whole group of near-duplicates (a campaign, a message sent twice), as form
//! POSTs from the message page: accept every member's decision, correct a label on every
//! member, set every member's status. Like the actions on one message, each checks the
//! session (any caseworker may work the queue) and its CSRF token, makes one store call (one
//! transaction; every member gets its own audit entry, which notes the group) and goes back to
//! the message page it came from.

use axum::extract::{Path, State};
use axum::response::Response;
use serde::Deserialize;

use super::actions::{back_to, check_label};
use super::auth::{Checked, HasCsrf, User};
use super::error::{Fail, Page};
use super::DeskState;
use crate::store::{GroupAction, GroupId, MessageId, Status};

/// A group action's form: the token, the page to go back to, and what to do.
#[derive(Debug, Deserialize)]
pub struct GroupForm {
    csrf: String,
    #[serde(default)]
    back: Option<String>,
    /// For `label`: the axis.
    #[serde(default)]
    axis: Option<String>,
    /// For `label`: the label.
    #[serde(default)]
    label: Option<String>,
    /// For `status`: the status.
    #[serde(default)]
    status: Option<String>,
}

impl HasCsrf for GroupForm {
    fn csrf(&self) -> &str {
        &self.csrf
    }
}

/// The group's first member (the page to fall back to), or 404.
async fn first_member(state: &DeskState, group: GroupId) -> Result<MessageId, Fail> {
    let g = state.store().group(group).await?.ok_or(Fail::NotFound)?;
    Ok(g.first_message)
}

async fn apply(
    state: &DeskState,
    user: &str,
    group: GroupId,
    action: GroupAction,
    back: &Option<String>,
) -> Result<Response, Page> {
    let first = first_member(state, group).await?;
    if let GroupAction::Correct { axis, label } = &action {
        // The members share a record layout (the same engine triaged them): the first one's
        // labels are the group's.
        check_label(state.store(), first, axis, label).await?;
    }
    state.store().apply_to_group(group, user, &action).await?;
    Ok(back_to(back, first))
}

/// `POST /groups/{id}/accept`.
pub async fn accept(
    State(state): State<DeskState>,
    User(user): User,
    Path(id): Path<i64>,
    Checked(f): Checked<GroupForm>,
) -> Result<Response, Page> {
    apply(
        &state,
        &user.account.name,
        GroupId(id),
        GroupAction::Accept,
        &f.back,
    )
    .await
}

/// `POST /groups/{id}/label`.
pub async fn label(
    State(state): State<DeskState>,
    User(user): User,
    Path(id): Path<i64>,
    Checked(f): Checked<GroupForm>,
) -> Result<Response, Page> {
    let (Some(axis), Some(label)) = (f.axis.clone(), f.label.clone()) else {
        return Err(Fail::Invalid("a correction needs an axis and a label".into()).into());
    };
    apply(
        &state,
        &user.account.name,
        GroupId(id),
        GroupAction::Correct { axis, label },
        &f.back,
    )
    .await
}

/// `POST /groups/{id}/status`.
pub async fn status(
    State(state): State<DeskState>,
    User(user): User,
    Path(id): Path<i64>,
    Checked(f): Checked<GroupForm>,
) -> Result<Response, Page> {
    let s: Status = f
        .status
        .as_deref()
        .unwrap_or("")
        .parse()
        .map_err(|e: crate::store::StoreError| Fail::Invalid(e.to_string()))?;
    apply(
        &state,
        &user.account.name,
        GroupId(id),
        GroupAction::Status(s),
        &f.back,
    )
    .await
}
