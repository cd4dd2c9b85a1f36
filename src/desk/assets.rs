//! The stylesheet and the keyboard script, compiled into the binary (no CDN, nothing fetched
//! from elsewhere: the desk works on an offline network). Served with an ETag so that a browser
//! revalidates them cheaply.

use std::sync::OnceLock;

use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use sha2::{Digest, Sha256};

/// The stylesheet.
pub const CSS: &str = include_str!("assets/desk.css");
/// The keyboard shortcuts.
pub const JS: &str = include_str!("assets/desk.js");

fn etag(body: &str, cell: &'static OnceLock<String>) -> &'static str {
    cell.get_or_init(|| {
        format!(
            "\"{}\"",
            &hex::encode(Sha256::digest(body.as_bytes()))[..16]
        )
    })
}

fn serve(
    headers: &HeaderMap,
    body: &'static str,
    kind: &'static str,
    tag: &'static str,
) -> Response {
    let fresh = headers
        .get(header::IF_NONE_MATCH)
        .is_some_and(|v| v.as_bytes() == tag.as_bytes());
    let mut res = if fresh {
        StatusCode::NOT_MODIFIED.into_response()
    } else {
        ([(header::CONTENT_TYPE, kind)], body).into_response()
    };
    let h = res.headers_mut();
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    if let Ok(v) = HeaderValue::from_str(tag) {
        h.insert(header::ETAG, v);
    }
    res
}

/// `GET /assets/desk.css`.
pub async fn css(headers: HeaderMap) -> Response {
    static TAG: OnceLock<String> = OnceLock::new();
    serve(&headers, CSS, "text/css; charset=utf-8", etag(CSS, &TAG))
}

/// `GET /assets/desk.js`.
pub async fn js(headers: HeaderMap) -> Response {
    static TAG: OnceLock<String> = OnceLock::new();
    serve(
        &headers,
        JS,
        "text/javascript; charset=utf-8",
        etag(JS, &TAG),
    )
}
