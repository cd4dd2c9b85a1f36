//! The property every input must hold, shared by the `cargo fuzz` target and the stable
//! stress test (`tests/email.rs`, `stress_mutations`): parse + prepare give an `Email` or an
//! error, never a panic; a truncation report is consistent with the prepared body.

use mailroom::email::{self, EmailError};
use mailroom::text::{self, PrepareOptions};

/// Check one input. The first byte picks a token budget, so tiny budgets and the cut logic
/// are exercised too. Panics on a violation.
pub fn check(data: &[u8]) {
    let (budget, raw) = match data.split_first() {
        Some((b, rest)) => ([0usize, 1, 8, 64, 512][*b as usize % 5], rest),
        None => (512, data),
    };
    match email::parse(raw) {
        Ok(e) => {
            let chars = |s: &str| s.chars().count();
            let counters: [Option<text::TokenCounter<'_>>; 2] = [None, Some(&chars)];
            for count in counters {
                let opts = PrepareOptions {
                    max_tokens: budget,
                    count_tokens: count,
                    ..PrepareOptions::default()
                };
                let p = text::prepare(&e, &opts);
                if let Some(t) = &p.truncation {
                    assert!(t.dropped_range[0] <= t.dropped_range[1]);
                    assert!(t.dropped_range[1] <= p.body.len());
                    assert_eq!(t.kept_tokens + t.dropped_tokens, t.total_tokens);
                }
            }
        }
        // `parse` turns a parser panic into this error; here it is a crash.
        Err(EmailError::ParserFailed) => panic!("the MIME parser panicked"),
        Err(_) => {}
    }
    let _ = email::html_to_text(&String::from_utf8_lossy(raw));
}

/// The files an operator writes or carries in: a taxonomy, a library of standard lines for
/// replies, a model manifest. Any text gives a value or a clear error, never a panic; what
/// loads also gives its id and hash. The first byte picks the kind.
pub fn check_config(data: &[u8]) {
    let (kind, rest) = match data.split_first() {
        Some((b, rest)) => (*b % 3, rest),
        None => (0, data),
    };
    let text = String::from_utf8_lossy(rest);
    match kind {
        0 => {
            if let Ok(t) = mailroom::classify::Taxonomy::from_toml(&text) {
                let _ = t.id();
                for a in &t.axes {
                    let _ = (a.label_names(), a.label_thresholds(), t.axis(&a.name));
                }
            }
        }
        1 => {
            if let Ok(l) = mailroom::replies::Library::from_toml(&text) {
                let _ = (l.id(), l.sha256());
            }
        }
        _ => {
            let _ = mailroom::models::Manifest::parse(&text);
        }
    }
}

/// A server over a real engine that needs no model files (lead summaries, no classifier), with
/// a bearer token; started once per process and shared by every input.
struct HttpTarget {
    runtime: tokio::runtime::Runtime,
    state: mailroom::http::AppState,
    document: serde_json::Value,
}

/// The token [`check_http`] sends when its input asks for the right one.
const HTTP_TOKEN: &str = "fuzz-token";

fn http_target() -> &'static HttpTarget {
    use mailroom::pipeline::{EngineBuilder, Method, Mode, ModelSpec};
    static TARGET: std::sync::OnceLock<HttpTarget> = std::sync::OnceLock::new();
    TARGET.get_or_init(|| {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("a runtime");
        let engine = EngineBuilder::new(ModelSpec::default())
            .mode(Mode::Summarize)
            .summary(Some(Method::Lead))
            .jobs(Some(1))
            .build()
            .expect("an engine without models");
        let service = std::sync::Arc::new(mailroom::pipeline::lanes::EngineService::new(engine));
        let config = mailroom::http::HttpConfig {
            max_body_bytes: 64 * 1024,
            max_messages: 4,
            token: Some(HTTP_TOKEN.into()),
            ..mailroom::http::HttpConfig::default()
        };
        let document = mailroom::http::openapi::document(&config);
        let state = mailroom::http::AppState::new(config);
        runtime.block_on(async {
            state.start(service).expect("lanes start");
            let t = std::time::Instant::now();
            while !state.is_ready() {
                assert!(t.elapsed().as_secs() < 30, "lanes never warmed");
                tokio::time::sleep(std::time::Duration::from_millis(5)).await;
            }
        });
        HttpTarget {
            runtime,
            state,
            document,
        }
    })
}

/// The media types a client may send (the first byte past the route picks one, or none, or a
/// header value taken from the input itself).
const MEDIA: [&str; 6] = [
    "application/json",
    "message/rfc822",
    "application/problem+json",
    "application/json; charset=utf-8",
    "text/plain",
    "multipart/form-data; boundary=x",
];

/// One HTTP request through the real router. The first byte picks the route (the eight the
/// server has, or two it has not) and whether the method is swapped; the second the
/// Content-Type; the third the bearer token (right, wrong, none); the rest is the body.
/// Every answer must be a status the OpenAPI document lists for that route and method (404 for
/// an unknown route, 405 for a wrong method), never a 5xx; every error has the stable shape;
/// a 200 from a model route is the record (or, for an array, one output per message).
/// Returns the status (0 for an input too short to be a request).
pub fn check_http(data: &[u8]) -> u16 {
    use axum::body::Body;
    use axum::http::{HeaderValue, Method as Verb, Request};
    use tower::ServiceExt;

    let [route, media, auth, rest @ ..] = data else {
        return 0;
    };
    let routes = mailroom::http::ROUTES;
    let (method, path) = match *route as usize % (routes.len() + 2) {
        i if i < routes.len() => routes[i],
        i if i == routes.len() => ("POST", "/v1/unknown"),
        _ => ("GET", "/v1/triage/"),
    };
    let known = routes.iter().any(|(_, p)| *p == path);
    let method = match (route & 0x80 != 0, method) {
        (true, "POST") => "GET",
        (true, _) => "POST",
        (false, m) => m,
    };
    let (content_type, body): (Option<HeaderValue>, &[u8]) = match *media as usize % 8 {
        i if i < MEDIA.len() => (Some(HeaderValue::from_static(MEDIA[i])), rest),
        6 => (None, rest),
        _ => {
            let cut = rest.iter().position(|&b| b == b'\n').unwrap_or(rest.len());
            let value = HeaderValue::from_bytes(&rest[..cut]).ok();
            (value, rest.get(cut + 1..).unwrap_or_default())
        }
    };
    let mut request = Request::builder()
        .method(Verb::from_bytes(method.as_bytes()).expect("a method"))
        .uri(path);
    if let Some(v) = content_type {
        request = request.header("content-type", v);
    }
    match auth % 3 {
        0 => request = request.header("authorization", format!("Bearer {HTTP_TOKEN}")),
        1 => request = request.header("authorization", "Bearer not-the-token"),
        _ => {}
    }
    let request = request.body(Body::from(body.to_vec())).expect("a request");

    let target = http_target();
    let (status, answer) = target.runtime.block_on(async {
        let response = mailroom::http::app(target.state.clone())
            .oneshot(request)
            .await
            .expect("the router is infallible");
        let status = response.status().as_u16();
        let bytes = axum::body::to_bytes(response.into_body(), usize::MAX)
            .await
            .expect("the answer's body");
        (status, bytes)
    });
    let shown = String::from_utf8_lossy(&body[..body.len().min(200)]).into_owned();
    assert!(status < 500, "{method} {path}: {status} for {shown:?}");
    let operation = &target.document["paths"][path][method.to_ascii_lowercase()];
    let documented = match (known, operation.is_object()) {
        (false, _) => status == 404,
        (true, false) => status == 405,
        (true, true) => operation["responses"].get(status.to_string()).is_some(),
    };
    assert!(
        documented,
        "{method} {path}: {status} is not documented, for {shown:?}"
    );
    if path == "/metrics" && status == 200 {
        return status;
    }
    let json: serde_json::Value = serde_json::from_slice(&answer)
        .unwrap_or_else(|e| panic!("{method} {path}: {status}: the answer is not JSON: {e}"));
    if status != 200 {
        let code = json["error"]["code"].as_str().unwrap_or_default();
        assert!(!code.is_empty(), "{method} {path}: {status}: {json}");
        return status;
    }
    if method == "POST" {
        match &json {
            serde_json::Value::Array(outputs) => {
                assert_eq!(path, "/v1/triage", "only /v1/triage answers arrays");
                let sent: serde_json::Value = serde_json::from_slice(body).expect("sent an array");
                assert_eq!(outputs.len(), sent.as_array().map_or(0, Vec::len));
            }
            v => assert!(v["id"].is_string(), "{method} {path}: no id in {v}"),
        }
    }
    status
}
