//! The actions on a message, as form POSTs from the message page: accept, correct a label,
//! assign, note, set the status. Each checks the session's CSRF token, makes one store call
//! (one transaction, one audit entry under the caseworker's name) and goes back to the page it
//! came from (`back`, a path on this site).

use axum::extract::{Path, State};
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;

use super::auth::{Checked, HasCsrf, User};
use super::error::{Fail, Page};
use super::record::RecordView;
use super::DeskState;
use crate::store::{MessageId, Status, Store};

/// Longest note.
pub const MAX_NOTE_CHARS: usize = 10_000;
/// Longest axis or label name.
const MAX_LABEL_CHARS: usize = 100;

/// Check that `label` is a label of `axis` for this message: one of the labels its record
/// gives the axis, or, when the record does not decide the axis, any short name.
pub async fn check_label(
    store: &Store,
    id: MessageId,
    axis: &str,
    label: &str,
) -> Result<(), Fail> {
    let bad = |s: &str| s.trim().is_empty() || s.chars().count() > MAX_LABEL_CHARS;
    if bad(axis) || bad(label) {
        return Err(Fail::Invalid(format!(
            "axis and label must have 1 to {MAX_LABEL_CHARS} characters"
        )));
    }
    let msg = store.message(id).await?.ok_or(Fail::NotFound)?;
    let record = RecordView::parse(&msg.record_json);
    if let Some(a) = record.axis(axis) {
        if !a.probabilities.is_empty() && !a.probabilities.iter().any(|(l, _)| l == label) {
            let known: Vec<&str> = a.probabilities.iter().map(|(l, _)| l.as_str()).collect();
            return Err(Fail::Invalid(format!(
                "{label:?} is not a {axis} label (one of {})",
                known.join(", ")
            )));
        }
    }
    Ok(())
}

pub(super) fn back_to(back: &Option<String>, id: MessageId) -> Response {
    let fallback = format!("/messages/{id}");
    let to = back
        .as_deref()
        .filter(|b| b.starts_with("/messages/") && !b.contains("//") && !b.contains('\\'))
        .unwrap_or(&fallback);
    Redirect::to(to).into_response()
}

macro_rules! form {
    ($(#[$doc:meta])* $name:ident { $($(#[$fdoc:meta])* $field:ident: $ty:ty),* $(,)? }) => {
        $(#[$doc])*
        #[derive(Debug, Deserialize)]
        pub struct $name {
            csrf: String,
            #[serde(default)]
            back: Option<String>,
            $($(#[$fdoc])* $field: $ty,)*
        }

        impl HasCsrf for $name {
            fn csrf(&self) -> &str {
                &self.csrf
            }
        }
    };
}

form!(
    /// Accept: only the token.
    AcceptForm {}
);
form!(
    /// A correction.
    LabelForm { axis: String, label: String }
);
form!(
    /// An assignment (`""`: nobody).
    AssignForm { assignee: String }
);
form!(
    /// A note.
    NoteForm { body: String }
);
form!(
    /// A status.
    StatusForm { status: String }
);

/// `POST /messages/{id}/accept`.
pub async fn accept(
    State(state): State<DeskState>,
    User(user): User,
    Path(id): Path<i64>,
    Checked(f): Checked<AcceptForm>,
) -> Result<Response, Page> {
    let id = MessageId(id);
    state.store().accept(id, &user.account.name).await?;
    Ok(back_to(&f.back, id))
}

/// `POST /messages/{id}/label`.
pub async fn label(
    State(state): State<DeskState>,
    User(user): User,
    Path(id): Path<i64>,
    Checked(f): Checked<LabelForm>,
) -> Result<Response, Page> {
    let id = MessageId(id);
    check_label(state.store(), id, &f.axis, &f.label).await?;
    state
        .store()
        .correct(id, &user.account.name, &f.axis, &f.label)
        .await?;
    Ok(back_to(&f.back, id))
}

/// `POST /messages/{id}/assign`.
pub async fn assign(
    State(state): State<DeskState>,
    User(user): User,
    Path(id): Path<i64>,
    Checked(f): Checked<AssignForm>,
) -> Result<Response, Page> {
    let id = MessageId(id);
    let name = f.assignee.trim();
    let who = if name.is_empty() {
        None
    } else {
        let accounts = state.store().accounts().await?;
        if !accounts.iter().any(|a| a.name == name && !a.disabled) {
            return Err(Fail::Invalid(format!("there is no active account {name:?}")).into());
        }
        Some(name)
    };
    state.store().assign(id, &user.account.name, who).await?;
    Ok(back_to(&f.back, id))
}

/// `POST /messages/{id}/note`.
pub async fn note(
    State(state): State<DeskState>,
    User(user): User,
    Path(id): Path<i64>,
    Checked(f): Checked<NoteForm>,
) -> Result<Response, Page> {
    let id = MessageId(id);
    let body = f.body.trim();
    if body.is_empty() || body.chars().count() > MAX_NOTE_CHARS {
        return Err(Fail::Invalid(format!("a note has 1 to {MAX_NOTE_CHARS} characters")).into());
    }
    state.store().add_note(id, &user.account.name, body).await?;
    Ok(back_to(&f.back, id))
}

/// `POST /messages/{id}/status`.
pub async fn status(
    State(state): State<DeskState>,
    User(user): User,
    Path(id): Path<i64>,
    Checked(f): Checked<StatusForm>,
) -> Result<Response, Page> {
    let id = MessageId(id);
    let s: Status = f
        .status
        .parse()
        .map_err(|e: crate::store::StoreError| Fail::Invalid(e.to_string()))?;
    state.store().set_status(id, &user.account.name, s).await?;
    Ok(back_to(&f.back, id))
}
