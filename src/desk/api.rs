//! The JSON contract under `/api/` (documented in [`super::openapi`]). Every route needs a
//! session (401 without); every write needs the session's CSRF token in `X-CSRF-Token` (403
//! with a wrong one). The same store calls as the pages, so that a tool and a caseworker change
//! the same state with the same audit.

use axum::body::Bytes;
use axum::extract::rejection::JsonRejection;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::Deserialize;
use serde_json::{json, Value};

use super::actions::check_label;
use super::auth::ApiUser;
use super::error::{Api, Fail};
use super::filters::QueueParams;
use super::{intake, DeskState};
use crate::store::{MessageId, QueuePage, Status};

/// `GET /api/session`: who is logged in, with which role, and the CSRF token for writes.
pub async fn session(ApiUser(u): ApiUser) -> Json<Value> {
    Json(json!({
        "user": u.account.name,
        "role": u.account.role.as_str(),
        "csrf_token": u.csrf,
    }))
}

/// `GET /api/queue`: a page of the queue with counts per filter value.
pub async fn queue(
    State(state): State<DeskState>,
    ApiUser(_): ApiUser,
    Query(params): Query<QueueParams>,
) -> Result<Json<QueuePage>, Api> {
    let q = params.to_query(state.config().page_size)?;
    Ok(Json(state.store().queue(&q).await?))
}

/// `GET /api/messages/{id}`: the message as the queue shows it, its record, notes,
/// corrections and conversation.
pub async fn message(
    State(state): State<DeskState>,
    ApiUser(_): ApiUser,
    Path(id): Path<i64>,
) -> Result<Json<Value>, Api> {
    let id = MessageId(id);
    let store = state.store();
    let m = store.message(id).await?.ok_or(Fail::NotFound)?;
    let record: Value = serde_json::from_str(&m.record_json).unwrap_or(Value::Null);
    let conversation = match &m.item.conversation {
        Some(k) => store
            .conversation(k)
            .await?
            .into_iter()
            .map(|i| i.id)
            .collect(),
        None => vec![id],
    };
    Ok(Json(json!({
        "message": m.item,
        "header_message_id": m.header_message_id,
        "source": m.source,
        "raw_size": m.raw_size,
        "record": record,
        "notes": store.notes(id).await?,
        "corrections": store.corrections(Some(id)).await?,
        "conversation": conversation,
    })))
}

/// `{"axis", "label"}`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LabelBody {
    axis: String,
    label: String,
}

fn body<T>(b: Result<Json<T>, JsonRejection>) -> Result<T, Api> {
    b.map(|Json(t)| t)
        .map_err(|e| Api(Fail::Invalid(e.body_text())))
}

/// `POST /api/messages/{id}/labels`: correct one axis.
pub async fn label(
    State(state): State<DeskState>,
    ApiUser(u): ApiUser,
    Path(id): Path<i64>,
    b: Result<Json<LabelBody>, JsonRejection>,
) -> Result<Json<crate::store::Correction>, Api> {
    let b = body(b)?;
    let id = MessageId(id);
    check_label(state.store(), id, &b.axis, &b.label).await?;
    let c = state
        .store()
        .correct(id, &u.account.name, &b.axis, &b.label)
        .await?;
    Ok(Json(c))
}

/// `{"status"}`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StatusBody {
    status: String,
}

/// `POST /api/messages/{id}/status`: `open`, `answered` or `no_reply_needed`.
pub async fn status(
    State(state): State<DeskState>,
    ApiUser(u): ApiUser,
    Path(id): Path<i64>,
    b: Result<Json<StatusBody>, JsonRejection>,
) -> Result<Json<Value>, Api> {
    let b = body(b)?;
    let s: Status = b
        .status
        .parse()
        .map_err(|e: crate::store::StoreError| Fail::Invalid(e.to_string()))?;
    let id = MessageId(id);
    state.store().set_status(id, &u.account.name, s).await?;
    Ok(Json(json!({"id": id, "status": s})))
}

/// `POST /api/messages`: a raw RFC 822 message, triaged and stored; 201 when new, 200 when it
/// was already stored; 202 with its job when the desk queues for workers (`--queue`).
pub async fn add_message(
    State(state): State<DeskState>,
    ApiUser(_): ApiUser,
    raw: Bytes,
) -> Result<Response, Api> {
    let (id, added) = match intake::take(&state, raw.to_vec()).await? {
        intake::Taken::Stored { id, added } => (id, added),
        intake::Taken::Queued { job, added } => {
            return Ok((
                StatusCode::ACCEPTED,
                Json(json!({"job": job, "added": added})),
            )
                .into_response())
        }
    };
    let item = state
        .store()
        .message(id)
        .await?
        .map(|m| m.item)
        .ok_or(Fail::NotFound)?;
    let code = if added {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    Ok((
        code,
        Json(json!({"id": id, "added": added, "message": item})),
    )
        .into_response())
}

/// `GET /api/openapi.json`.
pub async fn openapi(State(state): State<DeskState>, ApiUser(_): ApiUser) -> Json<Value> {
    Json(super::openapi::document(state.config()))
}
