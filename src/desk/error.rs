//! What can go wrong in a request, and its answer: an HTML page for the pages ([`Page`]), a
//! JSON error for the API ([`Api`]), from one status table. 5xx answers say nothing of the cause;
//! the cause is logged (never a message's content: store errors name what the store was doing).

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::json;

use crate::store::StoreError;

/// A failed request.
#[derive(Debug)]
pub enum Fail {
    /// No (live) session.
    Unauthorized,
    /// A session without the right (role, or CSRF token).
    Forbidden(&'static str),
    /// No such thing.
    NotFound,
    /// The method is not served at this path.
    MethodNotAllowed,
    /// The request is not valid.
    Invalid(String),
    /// The engine is still loading.
    NotReady,
    /// The engine could not be loaded.
    EngineFailed(String),
    /// Something broke on our side (logged, not shown).
    Internal(String),
}

impl Fail {
    fn status(&self) -> StatusCode {
        match self {
            Fail::Unauthorized => StatusCode::UNAUTHORIZED,
            Fail::Forbidden(_) => StatusCode::FORBIDDEN,
            Fail::NotFound => StatusCode::NOT_FOUND,
            Fail::MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
            Fail::Invalid(_) => StatusCode::UNPROCESSABLE_ENTITY,
            Fail::NotReady | Fail::EngineFailed(_) => StatusCode::SERVICE_UNAVAILABLE,
            Fail::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    fn code(&self) -> &'static str {
        match self {
            Fail::Unauthorized => "unauthorized",
            Fail::Forbidden(_) => "forbidden",
            Fail::NotFound => "not_found",
            Fail::MethodNotAllowed => "method_not_allowed",
            Fail::Invalid(_) => "invalid_request",
            Fail::NotReady => "not_ready",
            Fail::EngineFailed(_) => "engine_unavailable",
            Fail::Internal(_) => "internal",
        }
    }

    /// The text shown to people.
    pub fn message(&self) -> String {
        match self {
            Fail::Unauthorized => "Log in first.".into(),
            Fail::Forbidden(why) => (*why).into(),
            Fail::NotFound => "There is nothing here.".into(),
            Fail::MethodNotAllowed => "This address does not take that method.".into(),
            Fail::Invalid(why) => why.clone(),
            Fail::NotReady => "The models are still loading; try again shortly.".into(),
            Fail::EngineFailed(why) => format!("The models could not be loaded: {why}"),
            Fail::Internal(_) => "Something went wrong on the server; it has been logged.".into(),
        }
    }

    /// What goes with the status: Retry-After, and the log line of an internal error.
    fn decorate(&self, res: &mut Response) {
        if let Fail::NotReady = self {
            res.headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from_static("5"));
        }
        if let Fail::Internal(detail) = self {
            tracing::error!(detail = %detail, "desk request failed");
        }
    }
}

impl From<StoreError> for Fail {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::NotFound { .. } => Fail::NotFound,
            StoreError::Invalid { what, reason } => Fail::Invalid(format!("{what}: {reason}")),
            StoreError::Conflict(why) => Fail::Invalid(why),
            other => Fail::Internal(format!("{other:#}")),
        }
    }
}

/// A failure answered as an HTML page.
#[derive(Debug)]
pub struct Page(pub Fail);

impl From<Fail> for Page {
    fn from(f: Fail) -> Self {
        Page(f)
    }
}

impl From<StoreError> for Page {
    fn from(e: StoreError) -> Self {
        Page(e.into())
    }
}

impl IntoResponse for Page {
    fn into_response(self) -> Response {
        let status = self.0.status();
        let body = super::pages::layout::error_page(status, &self.0.message());
        let mut res = (status, body).into_response();
        self.0.decorate(&mut res);
        res
    }
}

/// A failure answered as JSON: `{"error": {"code", "message"}}`.
#[derive(Debug)]
pub struct Api(pub Fail);

impl From<Fail> for Api {
    fn from(f: Fail) -> Self {
        Api(f)
    }
}

impl From<StoreError> for Api {
    fn from(e: StoreError) -> Self {
        Api(e.into())
    }
}

impl IntoResponse for Api {
    fn into_response(self) -> Response {
        let status = self.0.status();
        let body = json!({"error": {"code": self.0.code(), "message": self.0.message()}});
        let mut res = (status, axum::Json(body)).into_response();
        self.0.decorate(&mut res);
        res
    }
}
