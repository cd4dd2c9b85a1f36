//! The one error type of the HTTP API and its single status table. Every error answer has the
//! same JSON shape, `{"error": {"code", "message"}}`; server-side failures (5xx) carry a generic
//! message and are logged here, never returned.

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::Serialize;

/// Why a request failed, as the API reports it.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ApiError {
    /// The body is not valid JSON (or not valid UTF-8 where text is needed).
    #[error("the body is not valid JSON: {0}")]
    BadJson(String),
    /// The request is well-formed but its content is not acceptable.
    #[error("{0}")]
    Invalid(String),
    /// The message could not be read or parsed (size, depth, not a message).
    #[error("{0}")]
    Unprocessable(String),
    /// The Content-Type is neither JSON nor `message/rfc822`.
    #[error("unsupported content type; send application/json or message/rfc822")]
    UnsupportedMediaType,
    /// The body is larger than the configured cap.
    #[error("the body is larger than {limit} bytes")]
    TooLarge {
        /// The cap, in bytes.
        limit: usize,
    },
    /// The bearer token is missing or wrong.
    #[error("a valid bearer token is required")]
    Unauthorized,
    /// No such route.
    #[error("no such route")]
    NotFound,
    /// The route exists but not with this method.
    #[error("method not allowed on this route")]
    MethodNotAllowed,
    /// The model queue is full: try again shortly.
    #[error("the server is busy; retry after {retry_after} s")]
    Overloaded {
        /// Seconds the client should wait.
        retry_after: u64,
    },
    /// The models are still loading or warming up, or the server is shutting down.
    #[error("the models are not ready yet")]
    NotReady,
    /// The request took longer than the configured timeout.
    #[error("the request took longer than {secs} s")]
    Timeout {
        /// The timeout, in seconds.
        secs: u64,
    },
    /// Something failed inside the server. The detail is logged, never returned.
    #[error("internal error: {0}")]
    Internal(String),
}

#[derive(Serialize)]
struct Body<'a> {
    error: Inner<'a>,
}

#[derive(Serialize)]
struct Inner<'a> {
    code: &'a str,
    message: String,
}

impl ApiError {
    /// The HTTP status of this error.
    pub fn status(&self) -> StatusCode {
        match self {
            ApiError::BadJson(_) => StatusCode::BAD_REQUEST,
            ApiError::Invalid(_) | ApiError::Unprocessable(_) => StatusCode::UNPROCESSABLE_ENTITY,
            ApiError::UnsupportedMediaType => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            ApiError::TooLarge { .. } => StatusCode::PAYLOAD_TOO_LARGE,
            ApiError::Unauthorized => StatusCode::UNAUTHORIZED,
            ApiError::NotFound => StatusCode::NOT_FOUND,
            ApiError::MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
            ApiError::Overloaded { .. } => StatusCode::TOO_MANY_REQUESTS,
            ApiError::NotReady | ApiError::Timeout { .. } => StatusCode::SERVICE_UNAVAILABLE,
            ApiError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    /// The stable machine-readable code of this error.
    pub fn code(&self) -> &'static str {
        match self {
            ApiError::BadJson(_) => "bad_json",
            ApiError::Invalid(_) => "invalid_request",
            ApiError::Unprocessable(_) => "unprocessable_message",
            ApiError::UnsupportedMediaType => "unsupported_media_type",
            ApiError::TooLarge { .. } => "body_too_large",
            ApiError::Unauthorized => "unauthorized",
            ApiError::NotFound => "not_found",
            ApiError::MethodNotAllowed => "method_not_allowed",
            ApiError::Overloaded { .. } => "overloaded",
            ApiError::NotReady => "not_ready",
            ApiError::Timeout { .. } => "timeout",
            ApiError::Internal(_) => "internal",
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status = self.status();
        let message = if status.is_server_error()
            && !matches!(self, ApiError::NotReady | ApiError::Timeout { .. })
        {
            // The detail (which may name files or model internals) stays in the log.
            tracing::error!(code = self.code(), "request failed: {self}");
            "internal server error".to_string()
        } else {
            self.to_string()
        };
        let body = Body {
            error: Inner {
                code: self.code(),
                message,
            },
        };
        let mut response = (status, axum::Json(body)).into_response();
        let retry = match self {
            ApiError::Overloaded { retry_after } => Some(retry_after),
            ApiError::NotReady => Some(1),
            _ => None,
        };
        if let Some(secs) = retry {
            if let Ok(v) = HeaderValue::from_str(&secs.to_string()) {
                response.headers_mut().insert(header::RETRY_AFTER, v);
            }
        }
        if matches!(self, ApiError::Unauthorized) {
            response
                .headers_mut()
                .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
        }
        response
    }
}
