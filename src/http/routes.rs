//! The handlers: read a message from the body (raw RFC 822 or JSON), queue it on a model lane,
//! and answer the same record the batch commands write.

use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::State;
use axum::http::header::CONTENT_TYPE;
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::{Deserialize, Serialize};

use super::error::ApiError;
use super::AppState;
use crate::pipeline::lanes::{Lane, LaneError};
use crate::pipeline::{Content, Message, Output, Provenance, SourceKind, Summary};

/// A message as JSON: either `raw` (the RFC 822 text) or `body` with optional `from` and
/// `subject`; `id` names it in the record.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct JsonMessage {
    id: Option<String>,
    raw: Option<String>,
    from: Option<String>,
    subject: Option<String>,
    body: Option<String>,
}

/// Longest `id` a client may give.
pub(super) const MAX_ID_CHARS: usize = 512;

enum Shape {
    One(Message),
    Many(Vec<Message>),
}

fn media_type(headers: &HeaderMap) -> Option<String> {
    let v = headers.get(CONTENT_TYPE)?.to_str().ok()?;
    Some(v.split(';').next()?.trim().to_ascii_lowercase())
}

fn provenance(kind: SourceKind, index: usize) -> Provenance {
    Provenance {
        path: "http".into(),
        kind,
        index: Some(index as u64),
        offset: None,
    }
}

fn raw_message(bytes: Vec<u8>, id: Option<String>, fallback_id: String, index: usize) -> Message {
    let id = id
        .or_else(|| crate::pipeline::scan_message_id(&bytes))
        .unwrap_or(fallback_id);
    Message {
        id,
        provenance: provenance(SourceKind::Eml, index),
        content: Ok(Content::Raw(bytes)),
    }
}

fn json_message(j: JsonMessage, fallback_id: String, index: usize) -> Result<Message, ApiError> {
    if let Some(id) = &j.id {
        if id.is_empty() || id.chars().count() > MAX_ID_CHARS {
            return Err(ApiError::Invalid(format!(
                "message {index}: `id` must have 1 to {MAX_ID_CHARS} characters"
            )));
        }
    }
    match (j.raw, j.body) {
        (Some(raw), None) => {
            if j.from.is_some() || j.subject.is_some() {
                return Err(ApiError::Invalid(format!(
                    "message {index}: give either `raw` or `from`/`subject`/`body`, not both"
                )));
            }
            // Blank as the parser sees it (and as the OpenAPI pattern says): nothing but
            // space, tab, CR, LF and form feed.
            if raw.bytes().all(|b| b.is_ascii_whitespace()) {
                return Err(ApiError::Invalid(format!("message {index}: `raw` is blank")));
            }
            Ok(raw_message(raw.into_bytes(), j.id, fallback_id, index))
        }
        (None, Some(body)) => Ok(Message {
            id: j.id.unwrap_or(fallback_id),
            provenance: provenance(SourceKind::Jsonl, index),
            content: Ok(Content::Parts {
                from: j.from,
                subject: j.subject,
                body,
            }),
        }),
        (Some(_), Some(_)) => Err(ApiError::Invalid(format!(
            "message {index}: give either `raw` or `body`, not both"
        ))),
        (None, None) => Err(ApiError::Invalid(format!(
            "message {index}: give `raw` (the whole message) or `body` (with optional `from` and `subject`)"
        ))),
    }
}

/// Read the request body into messages. Arrays only where `allow_many`.
fn read_body(
    state: &AppState,
    headers: &HeaderMap,
    body: Result<Bytes, BytesRejection>,
    allow_many: bool,
) -> Result<Shape, ApiError> {
    let body = body.map_err(|e| {
        if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
            ApiError::TooLarge {
                limit: state.config().max_body_bytes,
            }
        } else {
            ApiError::Invalid("the body could not be read".into())
        }
    })?;
    let request = state.next_request();
    let fallback = |i: Option<usize>| match i {
        Some(i) => format!("http-{request}#{i}"),
        None => format!("http-{request}"),
    };
    let media = media_type(headers).ok_or(ApiError::UnsupportedMediaType)?;
    if body.is_empty() {
        return Err(ApiError::Invalid("the body is empty".into()));
    }
    match media.as_str() {
        "message/rfc822" => Ok(Shape::One(raw_message(
            body.to_vec(),
            None,
            fallback(None),
            0,
        ))),
        m if m == "application/json" || m.ends_with("+json") => {
            let value: serde_json::Value =
                serde_json::from_slice(&body).map_err(|e| ApiError::BadJson(e.to_string()))?;
            let one = |v: serde_json::Value, i: usize, id: String| {
                if let Some(field) = v
                    .as_object()
                    .and_then(|o| o.iter().find(|(_, x)| x.is_null()))
                    .map(|(k, _)| k.clone())
                {
                    return Err(ApiError::Invalid(format!(
                        "message {i}: `{field}` is null; leave it out instead"
                    )));
                }
                let j: JsonMessage = serde_json::from_value(v)
                    .map_err(|e| ApiError::Invalid(format!("message {i}: {e}")))?;
                json_message(j, id, i)
            };
            match value {
                serde_json::Value::Object(_) => Ok(Shape::One(one(value, 0, fallback(None))?)),
                serde_json::Value::Array(items) if allow_many => {
                    let max = state.config().max_messages;
                    if items.is_empty() || items.len() > max {
                        return Err(ApiError::Invalid(format!(
                            "send 1 to {max} messages per request (got {})",
                            items.len()
                        )));
                    }
                    let messages = items
                        .into_iter()
                        .enumerate()
                        .map(|(i, v)| one(v, i, fallback(Some(i))))
                        .collect::<Result<Vec<_>, _>>()?;
                    Ok(Shape::Many(messages))
                }
                serde_json::Value::Array(_) => Err(ApiError::Invalid(
                    "this route takes one message (a JSON object); only /v1/triage takes arrays"
                        .into(),
                )),
                _ => Err(ApiError::Invalid(
                    "the body must be a JSON object (or, for /v1/triage, an array of objects)"
                        .into(),
                )),
            }
        }
        _ => Err(ApiError::UnsupportedMediaType),
    }
}

async fn run(
    state: &AppState,
    lane: Lane,
    messages: Vec<Message>,
) -> Result<Vec<Output>, ApiError> {
    let ready = state.ready()?;
    match ready.lanes.submit(lane, messages).await {
        Ok(outputs) => {
            state.0.metrics.outputs(&outputs);
            Ok(outputs)
        }
        Err(LaneError::Overloaded { retry_after, .. }) => {
            state.0.metrics.overloaded(lane.name());
            Err(ApiError::Overloaded { retry_after })
        }
        Err(LaneError::NotReady) => Err(ApiError::NotReady),
        Err(e) => Err(ApiError::Internal(e.to_string())),
    }
}

/// One message's output as an answer: a record, or an error for a message that failed.
fn single(output: Output) -> Result<Box<crate::pipeline::Record>, ApiError> {
    match output {
        Output::Record(r) => Ok(r),
        Output::Error(e) => match e.error.stage {
            // The message itself is at fault: say why (the message never quotes content).
            "read" | "parse" => Err(ApiError::Unprocessable(format!(
                "{}: {}",
                e.error.kind, e.error.message
            ))),
            stage => Err(ApiError::Internal(format!(
                "{stage} failed ({}): {}",
                e.error.kind, e.error.message
            ))),
        },
    }
}

fn first(outputs: Vec<Output>) -> Result<Output, ApiError> {
    outputs
        .into_iter()
        .next()
        .ok_or_else(|| ApiError::Internal("no output".into()))
}

/// `POST /v1/triage`: the full record (classification and summary) of one message, or an array
/// of outputs (records and error records, in order) for an array of messages.
pub(crate) async fn triage(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, ApiError> {
    match read_body(&state, &headers, body, true)? {
        Shape::One(m) => {
            let out = first(run(&state, Lane::Generator, vec![m]).await?)?;
            Ok(Json(single(out)?).into_response())
        }
        Shape::Many(ms) => Ok(Json(run(&state, Lane::Generator, ms).await?).into_response()),
    }
}

/// `POST /v1/classify`: the record without a summary.
pub(crate) async fn classify(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, ApiError> {
    let Shape::One(m) = read_body(&state, &headers, body, false)? else {
        return Err(ApiError::Invalid("one message per request".into()));
    };
    let out = first(run(&state, Lane::Encoder, vec![m]).await?)?;
    Ok(Json(single(out)?).into_response())
}

/// The answer of `/v1/summarize`: the same line `mailroom summarize` writes.
#[derive(Serialize)]
struct SummaryRecord {
    id: String,
    source: Provenance,
    summary: Summary,
}

/// `POST /v1/summarize`: the summary of one message.
pub(crate) async fn summarize(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, ApiError> {
    let Shape::One(m) = read_body(&state, &headers, body, false)? else {
        return Err(ApiError::Invalid("one message per request".into()));
    };
    let record = single(first(run(&state, Lane::Generator, vec![m]).await?)?)?;
    let record = *record;
    let summary = record
        .summary
        .ok_or_else(|| ApiError::Internal("the engine wrote no summary".into()))?;
    Ok(Json(SummaryRecord {
        id: record.id,
        source: record.source,
        summary,
    })
    .into_response())
}

/// `GET /v1/models`.
pub(crate) async fn models(State(state): State<AppState>) -> Result<Response, ApiError> {
    Ok(Json(&state.ready()?.models).into_response())
}

/// `GET /healthz`: the process answers.
pub(crate) async fn healthz() -> Response {
    Json(serde_json::json!({"status": "ok", "version": crate::VERSION})).into_response()
}

/// `GET /readyz`: 200 once the models are loaded and warmed, 503 before (and while draining).
pub(crate) async fn readyz(State(state): State<AppState>) -> Result<Response, ApiError> {
    if state.is_ready() {
        Ok(Json(serde_json::json!({"status": "ready"})).into_response())
    } else {
        Err(ApiError::NotReady)
    }
}

/// `GET /metrics`: Prometheus text.
pub(crate) async fn metrics(State(state): State<AppState>) -> Response {
    let body = state.0.metrics.render(&state.lanes(), state.is_ready());
    let mut r = body.into_response();
    r.headers_mut().insert(
        CONTENT_TYPE,
        HeaderValue::from_static("text/plain; version=0.0.4; charset=utf-8"),
    );
    r
}

/// `GET /openapi.json`.
pub(crate) async fn openapi(State(state): State<AppState>) -> Response {
    Json(super::openapi::document(state.config())).into_response()
}
