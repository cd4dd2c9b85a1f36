//! HTTP API: in-process router tests over a fake backend (routing, limits, error shapes, queue),
//! one in-process test over the real encoder, and an end-to-end test that starts the real
//! binary on a loopback port with the real models and talks to it over TCP, SIGTERM included.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

use axum::body::Body;
use axum::http::{Request, StatusCode};
use mailroom::email::{Content, Message};
use mailroom::http::{self, AppState, Backend, HttpConfig, Lane, ModelEntry, ModelsReport};
use mailroom::pipeline::{
    ErrorBody, ErrorRecord, ModelsInfo, Output, Record, StageTimings, RECORD_SCHEMA,
};
use serde_json::Value;
use tower::ServiceExt;

// ---------------------------------------------------------------------------------------------
// A fake backend: records for ordinary messages; bodies containing FAIL_PARSE, FAIL_MODEL or
// BLOCK make it fail or wait for the gate to open.

#[derive(Default)]
struct Gate {
    open: Mutex<bool>,
    cv: Condvar,
}

impl Gate {
    fn wait(&self) {
        let mut open = self.open.lock().unwrap();
        while !*open {
            open = self.cv.wait(open).unwrap();
        }
    }
    fn open(&self) {
        *self.open.lock().unwrap() = true;
        self.cv.notify_all();
    }
}

#[derive(Default)]
struct Fake {
    gate: Gate,
    batches: Mutex<Vec<(Lane, usize)>>,
}

fn body_of(m: &Message) -> String {
    match &m.content {
        Ok(Content::Parts { body, .. }) => body.clone(),
        Ok(Content::Raw(raw)) => String::from_utf8_lossy(raw).into_owned(),
        Err(_) => String::new(),
    }
}

fn error_output(m: &Message, stage: &'static str, message: &str) -> Output {
    Output::Error(Box::new(ErrorRecord {
        schema: RECORD_SCHEMA,
        id: m.id.clone(),
        source: m.provenance.clone(),
        input_sha256: None,
        error: ErrorBody {
            stage,
            kind: "fake".into(),
            message: message.into(),
        },
        mailroom_version: mailroom::VERSION,
    }))
}

impl Backend for Fake {
    fn run(&self, lane: Lane, messages: Vec<Message>) -> Vec<Output> {
        if messages.iter().any(|m| m.id != "warm-up") {
            self.batches.lock().unwrap().push((lane, messages.len()));
        }
        messages
            .into_iter()
            .map(|m| {
                let body = body_of(&m);
                if body.contains("BLOCK") {
                    self.gate.wait();
                }
                if body.contains("FAIL_PARSE") {
                    return error_output(&m, "parse", "not a message");
                }
                if body.contains("FAIL_MODEL") {
                    return error_output(&m, "summarize", "SECRET_DETAIL /models/x.gguf");
                }
                Output::Record(Box::new(Record {
                    schema: RECORD_SCHEMA,
                    id: m.id.clone(),
                    source: m.provenance.clone(),
                    input_sha256: "0".repeat(64),
                    from: None,
                    subject: None,
                    date: None,
                    language: None,
                    attachments: Vec::new(),
                    bulk: false,
                    auto_reply: false,
                    classification: Vec::new(),
                    needs_review: false,
                    review: Vec::new(),
                    summary: None,
                    truncation: None,
                    redacted: false,
                    timings_ms: StageTimings::default(),
                    models: ModelsInfo::default(),
                    taxonomy: None,
                    mailroom_version: mailroom::VERSION,
                }))
            })
            .collect()
    }

    fn models(&self) -> ModelsReport {
        ModelsReport {
            models: vec![ModelEntry {
                id: "fake-encoder".into(),
                sha256: "ab".repeat(32),
                role: "encoder".into(),
                used_by: vec!["/v1/classify".into()],
            }],
            axes: vec!["category".into()],
            taxonomy: None,
        }
    }
}

/// A started state over a fake backend, waited until ready.
async fn started(config: HttpConfig) -> (AppState, Arc<Fake>) {
    let state = AppState::new(config);
    let fake = Arc::new(Fake::default());
    state.start(fake.clone()).unwrap();
    let t = Instant::now();
    while !state.is_ready() {
        assert!(
            t.elapsed() < Duration::from_secs(10),
            "fake lanes never warmed"
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    (state, fake)
}

struct Answer {
    status: StatusCode,
    headers: axum::http::HeaderMap,
    body: Vec<u8>,
}

impl Answer {
    fn json(&self) -> Value {
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {}", String::from_utf8_lossy(&self.body)))
    }
    fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
    /// Asserts the stable error shape and returns the code.
    fn error_code(&self) -> String {
        let v = self.json();
        let e = &v["error"];
        assert!(e["message"].is_string(), "error without message: {v}");
        assert_eq!(v.as_object().unwrap().len(), 1, "extra fields: {v}");
        e["code"].as_str().expect("error code").to_string()
    }
}

async fn call(state: &AppState, req: Request<Body>) -> Answer {
    let r = http::app(state.clone()).oneshot(req).await.unwrap();
    let status = r.status();
    let headers = r.headers().clone();
    let body = axum::body::to_bytes(r.into_body(), usize::MAX)
        .await
        .unwrap()
        .to_vec();
    Answer {
        status,
        headers,
        body,
    }
}

fn get(path: &str) -> Request<Body> {
    Request::get(path).body(Body::empty()).unwrap()
}

fn post(path: &str, content_type: &str, body: impl Into<Body>) -> Request<Body> {
    Request::post(path)
        .header("content-type", content_type)
        .body(body.into())
        .unwrap()
}

fn post_json(path: &str, v: Value) -> Request<Body> {
    post(path, "application/json", v.to_string())
}

fn parts(body: &str) -> Value {
    serde_json::json!({"from": "a@example.org", "subject": "Hello", "body": body})
}

const RAW: &str = "From: Ann <ann@example.org>\r\nTo: council@example.gov\r\nSubject: Bins\r\n\
Message-ID: <bins-1@example.org>\r\n\r\nOur bins were not collected on Tuesday.\r\n";

// ---------------------------------------------------------------------------------------------
// In-process router tests.

#[tokio::test]
async fn health_and_readiness_before_and_after_start() {
    let state = AppState::new(HttpConfig::default());
    let a = call(&state, get("/healthz")).await;
    assert_eq!(a.status, StatusCode::OK);
    assert_eq!(a.json()["status"], "ok");
    let a = call(&state, get("/readyz")).await;
    assert_eq!(a.status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(a.error_code(), "not_ready");
    assert_eq!(a.headers["retry-after"], "1");
    let a = call(&state, post_json("/v1/classify", parts("hi"))).await;
    assert_eq!(a.status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(a.error_code(), "not_ready");
    let a = call(&state, get("/v1/models")).await;
    assert_eq!(a.error_code(), "not_ready");

    state.start(Arc::new(Fake::default())).unwrap();
    let t = Instant::now();
    loop {
        let a = call(&state, get("/readyz")).await;
        if a.status == StatusCode::OK {
            assert_eq!(a.json()["status"], "ready");
            break;
        }
        assert!(t.elapsed() < Duration::from_secs(10));
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    assert!(
        state.start(Arc::new(Fake::default())).is_err(),
        "second start refused"
    );
    state.begin_shutdown();
    assert_eq!(
        call(&state, get("/readyz")).await.status,
        StatusCode::SERVICE_UNAVAILABLE
    );
}

#[tokio::test]
async fn classify_takes_json_parts_json_raw_and_rfc822() {
    let (state, _) = started(HttpConfig::default()).await;
    let a = call(
        &state,
        post_json("/v1/classify", parts("Bins not collected.")),
    )
    .await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.text());
    let v = a.json();
    assert_eq!(v["schema"], RECORD_SCHEMA);
    assert_eq!(v["source"]["path"], "http");
    assert_eq!(v["source"]["kind"], "jsonl");
    assert!(v["id"].as_str().unwrap().starts_with("http-"));

    let mut with_id = parts("x");
    with_id["id"] = "case-42".into();
    let v = call(&state, post_json("/v1/classify", with_id))
        .await
        .json();
    assert_eq!(v["id"], "case-42");

    let a = call(&state, post("/v1/classify", "message/rfc822", RAW)).await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.text());
    assert_eq!(a.json()["id"], "bins-1@example.org");
    assert_eq!(a.json()["source"]["kind"], "eml");

    let a = call(
        &state,
        post_json("/v1/classify", serde_json::json!({"raw": RAW})),
    )
    .await;
    assert_eq!(a.status, StatusCode::OK);
    assert_eq!(a.json()["id"], "bins-1@example.org");

    // Content-Type parameters are ignored.
    let a = call(
        &state,
        post(
            "/v1/classify",
            "Application/JSON; charset=utf-8",
            parts("x").to_string(),
        ),
    )
    .await;
    assert_eq!(a.status, StatusCode::OK);
}

#[tokio::test]
async fn triage_takes_arrays_other_routes_do_not() {
    let (state, fake) = started(HttpConfig::default()).await;
    let batch = serde_json::json!([parts("one"), parts("two"), {"raw": RAW}]);
    let a = call(&state, post_json("/v1/triage", batch.clone())).await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.text());
    let v = a.json();
    let items = v.as_array().unwrap();
    assert_eq!(items.len(), 3);
    assert_eq!(items[0]["source"]["index"], 0);
    assert_eq!(items[2]["id"], "bins-1@example.org");
    assert!(fake.batches.lock().unwrap().contains(&(Lane::Generator, 3)));

    // A failed message inside an array is an error record in its place, not an HTTP error.
    let mixed = serde_json::json!([parts("ok"), parts("FAIL_PARSE")]);
    let v = call(&state, post_json("/v1/triage", mixed)).await.json();
    assert_eq!(v[1]["error"]["stage"], "parse");

    let a = call(&state, post_json("/v1/triage", serde_json::json!([]))).await;
    assert_eq!(a.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(a.error_code(), "invalid_request");
    let many: Vec<Value> = (0..9).map(|_| parts("x")).collect();
    let a = call(&state, post_json("/v1/triage", Value::Array(many))).await;
    assert_eq!(a.status, StatusCode::UNPROCESSABLE_ENTITY);
    for route in ["/v1/classify", "/v1/summarize"] {
        let a = call(&state, post_json(route, batch.clone())).await;
        assert_eq!(a.status, StatusCode::UNPROCESSABLE_ENTITY, "{route}");
        assert_eq!(a.error_code(), "invalid_request");
    }
    let a = call(&state, post_json("/v1/triage", parts("single"))).await;
    assert_eq!(a.status, StatusCode::OK);
    assert!(a.json().is_object());
}

#[tokio::test]
async fn bad_requests_get_json_errors() {
    let (state, _) = started(HttpConfig::default()).await;
    let cases: Vec<(Request<Body>, StatusCode, &str)> = vec![
        (
            post("/v1/classify", "application/json", "{\"body\": "),
            StatusCode::BAD_REQUEST,
            "bad_json",
        ),
        (
            post("/v1/triage", "application/json", "not json"),
            StatusCode::BAD_REQUEST,
            "bad_json",
        ),
        (
            post("/v1/classify", "text/plain", "hello"),
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported_media_type",
        ),
        (
            Request::post("/v1/classify")
                .body(Body::from("{}"))
                .unwrap(),
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported_media_type",
        ),
        (
            post("/v1/classify", "application/json", ""),
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_request",
        ),
        (
            post_json(
                "/v1/classify",
                serde_json::json!({"body": "x", "colour": "red"}),
            ),
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_request",
        ),
        (
            post_json("/v1/classify", serde_json::json!({"raw": RAW, "body": "x"})),
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_request",
        ),
        (
            post_json("/v1/classify", serde_json::json!({"subject": "only"})),
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_request",
        ),
        (
            post_json("/v1/classify", serde_json::json!({"body": "x", "id": ""})),
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_request",
        ),
        (
            post_json("/v1/summarize", serde_json::json!("a string")),
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_request",
        ),
        (
            post_json("/v1/classify", parts("FAIL_PARSE")),
            StatusCode::UNPROCESSABLE_ENTITY,
            "unprocessable_message",
        ),
        (get("/v1/nothing"), StatusCode::NOT_FOUND, "not_found"),
        (
            get("/v1/triage"),
            StatusCode::METHOD_NOT_ALLOWED,
            "method_not_allowed",
        ),
        (
            post("/healthz", "application/json", "{}"),
            StatusCode::METHOD_NOT_ALLOWED,
            "method_not_allowed",
        ),
    ];
    for (req, status, code) in cases {
        let what = format!("{} {}", req.method(), req.uri());
        let a = call(&state, req).await;
        assert_eq!(a.status, status, "{what}: {}", a.text());
        assert_eq!(a.error_code(), code, "{what}");
        assert!(
            a.headers["content-type"]
                .to_str()
                .unwrap()
                .starts_with("application/json"),
            "{what}"
        );
    }
}

#[tokio::test]
async fn server_errors_hide_their_detail() {
    let (state, _) = started(HttpConfig::default()).await;
    let a = call(&state, post_json("/v1/triage", parts("FAIL_MODEL"))).await;
    assert_eq!(a.status, StatusCode::INTERNAL_SERVER_ERROR);
    assert_eq!(a.error_code(), "internal");
    assert!(!a.text().contains("SECRET_DETAIL"), "{}", a.text());
    assert!(!a.text().contains("gguf"), "{}", a.text());
    // The fake writes no summary: /v1/summarize reports an internal error, not a record.
    let a = call(&state, post_json("/v1/summarize", parts("x"))).await;
    assert_eq!(a.status, StatusCode::INTERNAL_SERVER_ERROR);
    assert_eq!(a.json()["error"]["message"], "internal server error");
}

#[tokio::test]
async fn oversized_body_gets_413() {
    let config = HttpConfig {
        max_body_bytes: 1024,
        ..HttpConfig::default()
    };
    let (state, _) = started(config).await;
    let big = parts(&"x".repeat(2000));
    let a = call(&state, post_json("/v1/triage", big)).await;
    assert_eq!(a.status, StatusCode::PAYLOAD_TOO_LARGE, "{}", a.text());
    assert_eq!(a.error_code(), "body_too_large");
    let raw = format!("{RAW}{}", "y".repeat(2000));
    let a = call(&state, post("/v1/classify", "message/rfc822", raw)).await;
    assert_eq!(a.status, StatusCode::PAYLOAD_TOO_LARGE);
    // Just under the cap is fine.
    let a = call(&state, post_json("/v1/classify", parts(&"x".repeat(900)))).await;
    assert_eq!(a.status, StatusCode::OK);
}

#[tokio::test]
async fn bearer_token_guards_all_but_health() {
    let config = HttpConfig {
        token: Some("s3cret-token".into()),
        ..HttpConfig::default()
    };
    let (state, _) = started(config).await;
    for path in ["/healthz", "/readyz"] {
        assert_eq!(
            call(&state, get(path)).await.status,
            StatusCode::OK,
            "{path}"
        );
    }
    for path in ["/v1/models", "/metrics", "/openapi.json"] {
        let a = call(&state, get(path)).await;
        assert_eq!(a.status, StatusCode::UNAUTHORIZED, "{path}");
        assert_eq!(a.error_code(), "unauthorized");
        assert_eq!(a.headers["www-authenticate"], "Bearer");
    }
    let with = |auth: &str| {
        Request::post("/v1/classify")
            .header("content-type", "application/json")
            .header("authorization", auth)
            .body(Body::from(parts("x").to_string()))
            .unwrap()
    };
    for bad in [
        "Bearer wrong",
        "Bearer s3cret-toke",
        "Bearer s3cret-token2",
        "Basic s3cret-token",
        "s3cret-token",
    ] {
        let a = call(&state, with(bad)).await;
        assert_eq!(a.status, StatusCode::UNAUTHORIZED, "{bad}");
    }
    assert_eq!(
        call(&state, with("Bearer s3cret-token")).await.status,
        StatusCode::OK
    );
    assert_eq!(
        call(&state, with("bearer s3cret-token")).await.status,
        StatusCode::OK
    );
    let a = call(&state, post_json("/v1/classify", parts("x"))).await;
    assert_eq!(a.status, StatusCode::UNAUTHORIZED);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn full_queue_gets_429_and_concurrent_classify_shares_a_batch() {
    let config = HttpConfig {
        encoder_queue: 4,
        ..HttpConfig::default()
    };
    let (state, fake) = started(config).await;
    // One request holds the encoder lane; three more wait in its queue (4 slots in all).
    let mut waiting = Vec::new();
    let blocker = tokio::spawn(call_owned(
        state.clone(),
        post_json("/v1/classify", parts("BLOCK")),
    ));
    wait_for_depth(&state, "encoder", 1).await;
    for _ in 0..3 {
        waiting.push(tokio::spawn(call_owned(
            state.clone(),
            post_json("/v1/classify", parts("queued")),
        )));
    }
    wait_for_depth(&state, "encoder", 4).await;
    let a = call(&state, post_json("/v1/classify", parts("one too many"))).await;
    assert_eq!(a.status, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(a.error_code(), "overloaded");
    assert_eq!(a.headers["retry-after"], "1");
    // The generator lane is separate and still takes work.
    assert_eq!(
        call(&state, post_json("/v1/triage", parts("x")))
            .await
            .status,
        StatusCode::OK
    );

    fake.gate.open();
    assert_eq!(blocker.await.unwrap().status, StatusCode::OK);
    for w in waiting {
        assert_eq!(w.await.unwrap().status, StatusCode::OK);
    }
    // Requests that waited together went to the encoder together. How the four split depends
    // on when the lane picked up the first one ([1, 3], [4], [2, 2] ...), but while the lane
    // was held at least two of them queued up and shared a batch.
    let batches = fake.batches.lock().unwrap().clone();
    let encoder: Vec<usize> = batches
        .iter()
        .filter(|(lane, _)| *lane == Lane::Encoder)
        .map(|&(_, n)| n)
        .collect();
    assert_eq!(encoder.iter().sum::<usize>(), 4, "{batches:?}");
    assert!(
        encoder.iter().any(|&n| n >= 2),
        "expected a shared encoder batch, got {batches:?}"
    );
    let m = call(&state, get("/metrics")).await.text();
    assert!(
        m.contains("mailroom_overloaded_total{lane=\"encoder\"} 1"),
        "{m}"
    );
    assert!(
        m.contains("mailroom_http_requests_total{route=\"/v1/classify\",status=\"429\"} 1"),
        "{m}"
    );
}

async fn call_owned(state: AppState, req: Request<Body>) -> Answer {
    call(&state, req).await
}

async fn wait_for_depth(state: &AppState, lane: &str, depth: usize) {
    let needle = format!("mailroom_queue_depth{{lane=\"{lane}\"}} {depth}\n");
    let t = Instant::now();
    loop {
        let m = call(state, get("/metrics")).await.text();
        if m.contains(&needle) {
            return;
        }
        assert!(
            t.elapsed() < Duration::from_secs(10),
            "never reached {needle}: {m}"
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slow_requests_time_out_with_503() {
    let config = HttpConfig {
        request_timeout: Duration::from_millis(200),
        ..HttpConfig::default()
    };
    let (state, fake) = started(config).await;
    let a = call(&state, post_json("/v1/classify", parts("BLOCK"))).await;
    assert_eq!(a.status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(a.error_code(), "timeout");
    fake.gate.open();
    assert_eq!(
        call(&state, post_json("/v1/classify", parts("x")))
            .await
            .status,
        StatusCode::OK
    );
}

#[tokio::test]
async fn models_metrics_and_openapi() {
    let (state, _) = started(HttpConfig::default()).await;
    let v = call(&state, get("/v1/models")).await.json();
    assert_eq!(v["models"][0]["id"], "fake-encoder");
    assert_eq!(v["models"][0]["role"], "encoder");
    assert_eq!(v["axes"][0], "category");

    call(&state, post_json("/v1/classify", parts("x"))).await;
    let a = call(&state, get("/metrics")).await;
    assert!(a.headers["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/plain"));
    let m = a.text();
    for needle in [
        "mailroom_http_requests_total{route=\"/v1/classify\",status=\"200\"} 1",
        "mailroom_http_request_duration_seconds_bucket{route=\"/v1/classify\",le=\"+Inf\"} 1",
        "mailroom_http_request_duration_seconds_count{route=\"/v1/models\"} 1",
        "mailroom_queue_depth{lane=\"encoder\"} 0",
        "mailroom_queue_depth{lane=\"generator\"} 0",
        "mailroom_generated_tokens_total 0",
        "mailroom_messages_total{outcome=\"record\"} 1",
        "mailroom_review_rate 0",
        "# TYPE mailroom_labels_total counter",
        "mailroom_up 1",
    ] {
        assert!(m.contains(needle), "missing {needle} in\n{m}");
    }
    // Unknown paths are counted under one label, never by their path.
    call(&state, get("/no/such/path/12345")).await;
    let m = call(&state, get("/metrics")).await.text();
    assert!(m.contains("route=\"unmatched\",status=\"404\""));
    assert!(!m.contains("12345"));
}

#[tokio::test]
async fn openapi_lists_every_route_and_only_those() {
    let (state, _) = started(HttpConfig::default()).await;
    let doc = call(&state, get("/openapi.json")).await.json();
    assert_eq!(doc["openapi"], "3.1.0");
    let paths = doc["paths"].as_object().unwrap();
    let mut documented: Vec<(String, String)> = paths
        .iter()
        .flat_map(|(p, ops)| {
            ops.as_object()
                .unwrap()
                .keys()
                .map(move |m| (m.to_uppercase(), p.clone()))
        })
        .collect();
    documented.sort();
    let mut routes: Vec<(String, String)> = http::ROUTES
        .iter()
        .map(|(m, p)| (m.to_string(), p.to_string()))
        .collect();
    routes.sort();
    assert_eq!(documented, routes);
    // Every documented route is really served (neither 404 nor 405).
    for (method, path) in &routes {
        let req = Request::builder()
            .method(method.as_str())
            .uri(path.as_str())
            .header("content-type", "application/json")
            .body(Body::from(parts("x").to_string()))
            .unwrap();
        let a = call(&state, req).await;
        assert!(
            a.status != StatusCode::NOT_FOUND && a.status != StatusCode::METHOD_NOT_ALLOWED,
            "{method} {path}: {}",
            a.status
        );
    }
    // Every error code the server can give is in the Error schema.
    let codes = doc["components"]["schemas"]["Error"]["properties"]["error"]["properties"]["code"]
        ["enum"]
        .as_array()
        .unwrap()
        .len();
    assert_eq!(codes, 12);
}

#[tokio::test]
async fn real_encoder_records_in_process() {
    use mailroom::pipeline::{Engine, EngineConfig, SummaryMode};
    let store = super::util::store();
    let load = || {
        mailroom::models::Encoder::load(
            &store
                .resolve_default(mailroom::models::Role::Encoder)
                .unwrap(),
            &mailroom::models::Device::Cpu,
        )
        .unwrap()
    };
    let engine = |summary| {
        let config = EngineConfig {
            summary,
            ..EngineConfig::default()
        };
        Engine::new(
            load(),
            None,
            Some(mailroom::classify::Taxonomy::default_taxonomy()),
            Vec::new(),
            config,
        )
        .unwrap()
    };
    let backend =
        http::EngineBackend::new(engine(SummaryMode::None), engine(SummaryMode::Extractive));
    let state = AppState::new(HttpConfig::default());
    state.start(Arc::new(backend)).unwrap();
    let t = Instant::now();
    while !state.is_ready() {
        assert!(t.elapsed() < Duration::from_secs(120));
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let eml =
        std::fs::read(super::util::root().join("examples/inbox/16-pothole-report.eml")).unwrap();
    let a = call(&state, post("/v1/classify", "message/rfc822", eml.clone())).await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.text());
    let v = a.json();
    assert!(v["summary"].is_null());
    let axes: Vec<&str> = v["classification"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["axis"].as_str().unwrap())
        .collect();
    assert!(axes.contains(&"category"), "{axes:?}");
    let v = call(&state, post("/v1/triage", "message/rfc822", eml.clone()))
        .await
        .json();
    assert_eq!(v["summary"]["method"], "extractive");
    let v = call(&state, post("/v1/summarize", "message/rfc822", eml))
        .await
        .json();
    assert_eq!(v.as_object().unwrap().len(), 3, "{v}");
    assert!(!v["summary"]["text"].as_str().unwrap().is_empty());
    let v = call(&state, get("/v1/models")).await.json();
    assert_eq!(v["models"][0]["role"], "encoder");
    let m = call(&state, get("/metrics")).await.text();
    assert!(m.contains("mailroom_labels_total{axis=\"category\""), "{m}");
}

// ---------------------------------------------------------------------------------------------
// End to end: the real binary, the real models, over TCP.

/// A tiny HTTP/1.1 client: one request per connection.
fn request(
    port: u16,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &[u8],
) -> std::io::Result<(u16, String)> {
    let mut s = TcpStream::connect(("127.0.0.1", port))?;
    s.set_read_timeout(Some(Duration::from_secs(120)))?;
    let mut head = format!(
        "{method} {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\nContent-Length: {}\r\n",
        body.len()
    );
    for (k, v) in headers {
        head.push_str(&format!("{k}: {v}\r\n"));
    }
    head.push_str("\r\n");
    s.write_all(head.as_bytes())?;
    // A server may answer (413) and close before reading all of a large body: keep going and
    // read what it said.
    let wrote = s.write_all(body);
    let mut raw = Vec::new();
    let read = s.read_to_end(&mut raw);
    if raw.is_empty() {
        wrote?;
        read?;
    }
    let text = String::from_utf8_lossy(&raw).into_owned();
    let status = text
        .split(' ')
        .nth(1)
        .and_then(|c| c.parse().ok())
        .ok_or_else(|| std::io::Error::other(format!("no status line in {text:?}")))?;
    let body = text
        .split_once("\r\n\r\n")
        .map(|(_, b)| b.to_string())
        .unwrap_or_default();
    Ok((status, body))
}

struct Server {
    child: Child,
    port: u16,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn start_server(token: &str) -> Server {
    let mut child = Command::new(env!("CARGO_BIN_EXE_mailroom"))
        .current_dir(super::util::root())
        .args(["serve", "--port", "0"])
        .env("MAILROOM_TOKEN", token)
        .env_remove("MAILROOM_TOKEN_FILE")
        .env_remove("MAILROOM_BIND")
        .env_remove("MAILROOM_PORT")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("mailroom serve starts");
    let stderr = child.stderr.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            eprintln!("[serve] {line}");
            if let Some(addr) = line.strip_prefix("mailroom: listening on http://") {
                let _ = tx.send(addr.rsplit(':').next().unwrap().parse::<u16>().unwrap());
            }
        }
    });
    let port = rx
        .recv_timeout(Duration::from_secs(60))
        .expect("the server prints its address");
    let server = Server { child, port };
    let t = Instant::now();
    loop {
        if let Ok((200, _)) = request(port, "GET", "/readyz", &[], b"") {
            return server;
        }
        assert!(t.elapsed() < Duration::from_secs(300), "never ready");
        std::thread::sleep(Duration::from_millis(200));
    }
}

#[test]
fn end_to_end_over_tcp_with_real_models_and_sigterm() {
    let _ = super::util::store(); // fails with a message naming models/fetch when absent
    let token = "e2e-token-1234";
    let auth = format!("Bearer {token}");
    let mut server = start_server(token);
    let port = server.port;
    let h = |ct: &'static str| -> Vec<(&'static str, String)> {
        vec![
            ("Content-Type", ct.to_string()),
            ("Authorization", auth.clone()),
        ]
    };
    let send = |method: &str, path: &str, headers: &[(&str, String)], body: &[u8]| {
        let hs: Vec<(&str, &str)> = headers.iter().map(|(k, v)| (*k, v.as_str())).collect();
        request(port, method, path, &hs, body).unwrap()
    };
    let eml =
        std::fs::read(super::util::root().join("examples/inbox/01-urgent-no-heating.eml")).unwrap();

    let (status, _) = send("GET", "/healthz", &[], b"");
    assert_eq!(status, 200);
    let (status, body) = send(
        "POST",
        "/v1/triage",
        &[("Content-Type", "message/rfc822".into())],
        &eml,
    );
    assert_eq!(status, 401, "{body}");

    let (status, body) = send("POST", "/v1/triage", &h("message/rfc822"), &eml);
    assert_eq!(status, 200, "{body}");
    let v: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(v["schema"], RECORD_SCHEMA);
    assert_eq!(v["summary"]["method"], "abstractive");
    assert!(!v["classification"].as_array().unwrap().is_empty());
    assert!(v["models"]["generator"]["sha256"].is_string());

    let (status, body) = send("POST", "/v1/classify", &h("message/rfc822"), &eml);
    assert_eq!(status, 200, "{body}");
    let v: Value = serde_json::from_str(&body).unwrap();
    assert!(v["summary"].is_null());

    let json = serde_json::json!({"subject": "Pothole", "body": "There is a deep pothole outside 12 Mill Lane. Please fix it."});
    let (status, body) = send(
        "POST",
        "/v1/summarize",
        &h("application/json"),
        json.to_string().as_bytes(),
    );
    assert_eq!(status, 200, "{body}");
    let v: Value = serde_json::from_str(&body).unwrap();
    assert!(!v["summary"]["text"].as_str().unwrap().is_empty());

    let (status, body) = send("POST", "/v1/classify", &h("application/json"), b"{oops");
    assert_eq!(status, 400);
    assert!(body.contains("\"bad_json\""), "{body}");
    let huge = vec![b'a'; 3 * 1024 * 1024];
    let (status, _) = send("POST", "/v1/classify", &h("message/rfc822"), &huge);
    assert_eq!(status, 413);

    let (status, body) = send("GET", "/v1/models", &h("application/json"), b"");
    assert_eq!(status, 200);
    assert!(
        body.contains("\"generator\"") && body.contains("\"encoder\""),
        "{body}"
    );
    let (_, metrics) = send("GET", "/metrics", &h("text/plain"), b"");
    let generated: u64 = metrics
        .lines()
        .find_map(|l| l.strip_prefix("mailroom_generated_tokens_total "))
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    assert!(generated > 0, "{metrics}");

    // SIGTERM while requests are in the generator's queue: each accepted request still gets
    // its record, the server exits 0, and nothing listens afterwards.
    let n = 4;
    let clients: Vec<_> = (0..n)
        .map(|i| {
            let auth = auth.clone();
            let body = serde_json::json!({"id": format!("term-{i}"), "subject": "Rent", "body": "My rent of 450 pounds was taken twice this month. Please refund it."}).to_string();
            std::thread::spawn(move || {
                request(
                    port,
                    "POST",
                    "/v1/triage",
                    &[("Content-Type", "application/json"), ("Authorization", &auth)],
                    body.as_bytes(),
                )
            })
        })
        .collect();
    let t = Instant::now();
    loop {
        let (_, m) = send("GET", "/metrics", &h("text/plain"), b"");
        let depth: usize = m
            .lines()
            .find_map(|l| l.strip_prefix("mailroom_queue_depth{lane=\"generator\"} "))
            .unwrap()
            .trim()
            .parse()
            .unwrap();
        if depth >= n {
            break;
        }
        assert!(
            t.elapsed() < Duration::from_secs(60),
            "requests never queued"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    let kill = Command::new("kill")
        .args(["-TERM", &server.child.id().to_string()])
        .status()
        .unwrap();
    assert!(kill.success());
    for (i, c) in clients.into_iter().enumerate() {
        let (status, body) = c.join().unwrap().expect("accepted request answered");
        assert_eq!(status, 200, "{body}");
        let v: Value = serde_json::from_str(&body).unwrap();
        assert_eq!(v["id"], format!("term-{i}"));
        assert!(v["summary"]["text"].is_string());
    }
    let t = Instant::now();
    let status = loop {
        if let Some(s) = server.child.try_wait().unwrap() {
            break s;
        }
        assert!(
            t.elapsed() < Duration::from_secs(60),
            "server did not exit after SIGTERM"
        );
        std::thread::sleep(Duration::from_millis(50));
    };
    assert!(status.success(), "{status:?}");
    assert!(TcpStream::connect(("127.0.0.1", port)).is_err());
}

#[test]
fn serve_reads_a_toml_file_and_refuses_bad_settings() {
    let dir = tempfile::tempdir().unwrap();
    let token = dir.path().join("token");
    std::fs::write(&token, "file-token-99\n").unwrap();
    let config = dir.path().join("serve.toml");
    std::fs::write(
        &config,
        format!(
            "port = 0\nbind = \"127.0.0.1\"\ntoken_file = \"{}\"\nmax_body_bytes = 100\n",
            token.display()
        ),
    )
    .unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_mailroom"))
        .current_dir(super::util::root())
        .args(["serve", "--config", config.to_str().unwrap()])
        .env_remove("MAILROOM_TOKEN")
        .env_remove("MAILROOM_PORT")
        .env_remove("MAILROOM_BIND")
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stderr.take().unwrap()).lines();
    let port: u16 = loop {
        let line = lines.next().expect("server output").unwrap();
        if let Some(addr) = line.strip_prefix("mailroom: listening on http://127.0.0.1:") {
            break addr.parse().unwrap();
        }
    };
    let server = Server { child, port };
    // The token comes from the file named in the TOML file; the body cap from the file too.
    let (status, _) = request(port, "GET", "/v1/models", &[], b"").unwrap();
    assert_eq!(status, 401);
    let auth = [
        ("Authorization", "Bearer file-token-99"),
        ("Content-Type", "application/json"),
    ];
    let (status, _) = request(port, "GET", "/openapi.json", &auth, b"").unwrap();
    assert_eq!(status, 200);
    let (status, body) = request(port, "POST", "/v1/classify", &auth, &[b' '; 200]).unwrap();
    assert_eq!(status, 413, "{body}");
    drop(server);

    for (file, flags) in [
        ("colour = \"red\"\n", vec![]),
        ("max_messages = 20\n", vec![]),
        ("port = 0\n", vec!["--encoder-queue", "0"]),
    ] {
        std::fs::write(&config, file).unwrap();
        let mut args = vec!["serve", "--config", config.to_str().unwrap()];
        args.extend(flags);
        let out = super::util::mailroom(&args);
        assert_eq!(out.status.code(), Some(2), "{file}");
        assert!(String::from_utf8_lossy(&out.stderr).contains("error:"));
    }
}
