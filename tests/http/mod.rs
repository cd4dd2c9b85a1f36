//! HTTP API tests: in-process router tests over a fake backend (`routes`: routing, limits,
//! error shapes, queue), and tests over the real models (`real`: one in-process test over the
//! real encoder, and an end-to-end test that starts the real binary on a loopback port and
//! talks to it over TCP, SIGTERM included), and a property-based fuzzer run against the real
//! server from its own OpenAPI document (`fuzz`). This file holds the fake backend and the helpers.

mod fuzz;
mod mutate;
mod real;
mod routes;
mod soak;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

use axum::body::Body;
use axum::http::{Request, StatusCode};
use mailroom::http::{self, AppState, HttpConfig};
use mailroom::pipeline::lanes::{EngineService, Lane, ModelEntry, ModelsReport, Service};
use mailroom::pipeline::{
    Content, ErrorBody, ErrorRecord, Message, ModelsInfo, Output, Record, StageTimings,
    RECORD_SCHEMA,
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

impl Service for Fake {
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
                    reference_date: None,
                    evidence: None,
                    key_facts: Vec::new(),
                    replies: None,
                    injection: Vec::new(),
                    truncation: None,
                    redacted: false,
                    timings_ms: StageTimings::default(),
                    conversation: None,
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
