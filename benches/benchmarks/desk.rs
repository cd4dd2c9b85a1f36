//! The desk's `GET /api/queue` on 10,000 stored messages (the store benchmark's corpus), timed
//! in process: the router with a real session cookie, over SQLite and over PostgreSQL (a server
//! started on loopback; skipped with a notice when PostgreSQL is absent). Server time only: no
//! socket, no browser.
//!
//! Besides criterion's timings, each query shape prints its p50/p95/max over 200 runs and the
//! ratio of its p95 to a baseline measured in the same run: the store's own queue call for the
//! same query, so that the ratio is what the desk adds (session check, parameters, JSON). The
//! goal (issue 16) is a p95 under 100 ms.

use std::time::{Duration, Instant};

use axum::body::Body;
use axum::http::{header, Request, StatusCode};
use criterion::Criterion;
use mailroom::desk::{self, DeskConfig, DeskState};
use mailroom::store::{Assignee, QueueQuery, Role, Status, Store};
use tower::ServiceExt;

use super::store::{corpus, fill, pg_server};

/// Timed runs per query shape for the percentiles.
const RUNS: usize = 200;
const PASSWORD: &str = "benchmark password";

/// `cpu_desk_queue/{sqlite,postgres}/{shape}`.
pub fn bench(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let messages = corpus();
    let dir = tempfile::tempdir().unwrap();
    let sqlite = format!("sqlite:{}", dir.path().join("desk.db").display());
    let mut engines = vec![("sqlite", sqlite)];
    match std::panic::catch_unwind(pg_server::server) {
        Ok(server) => engines.push(("postgres", rt.block_on(server.fresh_db()))),
        Err(_) => eprintln!("skipping the PostgreSQL desk benchmark: no PostgreSQL server"),
    }
    for (engine, url) in engines {
        let store = rt.block_on(fill(&url, &messages));
        rt.block_on(store.add_account("bench", "ann", Role::Reviewer, PASSWORD))
            .unwrap();
        let app = desk::app(DeskState::new(store.clone(), DeskConfig::default()));
        let cookie = rt.block_on(login(&app));
        let shapes = shapes();
        let mut g = c.benchmark_group(format!("cpu_desk_queue/{engine}"));
        for (name, path, _) in &shapes {
            g.bench_function(*name, |b| b.iter(|| rt.block_on(call(&app, path, &cookie))));
        }
        g.finish();
        report(&rt, &app, &cookie, &store, engine, &shapes);
        rt.block_on(store.close());
    }
}

/// The query shapes a caseworker's clicks make: the path and the same query for the store.
fn shapes() -> Vec<(&'static str, &'static str, QueueQuery)> {
    let q = QueueQuery::default;
    vec![
        ("first_page", "/api/queue", q()),
        (
            "open",
            "/api/queue?status=open",
            QueueQuery {
                status: Some(Status::Open),
                ..q()
            },
        ),
        (
            "category",
            "/api/queue?category=payment_or_debt",
            QueueQuery {
                category: Some("payment_or_debt".into()),
                ..q()
            },
        ),
        (
            "review_reason",
            "/api/queue?review_reason=category%3Alow_confidence",
            QueueQuery {
                review_reason: Some("category:low_confidence".into()),
                ..q()
            },
        ),
        (
            "assignee_open",
            "/api/queue?assignee=reviewer3&status=open",
            QueueQuery {
                assignee: Some(Assignee::Person("reviewer3".into())),
                status: Some(Status::Open),
                ..q()
            },
        ),
        (
            "search_word",
            "/api/queue?q=payment",
            QueueQuery {
                search: Some("payment".into()),
                ..q()
            },
        ),
        (
            "page_100",
            "/api/queue?offset=5000",
            QueueQuery {
                offset: 5_000,
                ..q()
            },
        ),
    ]
}

async fn login(app: &axum::Router) -> String {
    let req = Request::post("/login")
        .header(header::HOST, "bench")
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .body(Body::from("username=ann&password=benchmark%20password"))
        .unwrap();
    let res = app.clone().oneshot(req).await.unwrap();
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    res.headers()[header::SET_COOKIE]
        .to_str()
        .unwrap()
        .split(';')
        .next()
        .unwrap()
        .to_string()
}

/// One `GET`, its body read to the end; the body's length.
async fn call(app: &axum::Router, path: &str, cookie: &str) -> usize {
    let req = Request::get(path)
        .header(header::HOST, "bench")
        .header(header::COOKIE, cookie)
        .body(Body::empty())
        .unwrap();
    let res = app.clone().oneshot(req).await.unwrap();
    assert_eq!(res.status(), StatusCode::OK, "{path}");
    axum::body::to_bytes(res.into_body(), usize::MAX)
        .await
        .unwrap()
        .len()
}

fn report(
    rt: &tokio::runtime::Runtime,
    app: &axum::Router,
    cookie: &str,
    store: &Store,
    engine: &str,
    shapes: &[(&str, &str, QueueQuery)],
) {
    eprintln!("desk GET /api/queue, {engine}, 10,000 messages, {RUNS} runs each (ms):");
    eprintln!(
        "  {:<16} {:>7} {:>7} {:>7}   {:>10} {:>10}",
        "shape", "p50", "p95", "max", "store p95", "p95/store"
    );
    for (name, path, q) in shapes {
        let base = percentiles(|| {
            rt.block_on(store.queue(q)).unwrap();
        });
        let mut bytes = 0;
        let p = percentiles(|| bytes = rt.block_on(call(app, path, cookie)));
        eprintln!(
            "  {:<16} {:>7.2} {:>7.2} {:>7.2}   {:>10.2} {:>10.2}   ({bytes} bytes)",
            name,
            ms(p.0),
            ms(p.1),
            ms(p.2),
            ms(base.1),
            p.1.as_secs_f64() / base.1.as_secs_f64().max(1e-9)
        );
    }
}

fn percentiles(mut f: impl FnMut()) -> (Duration, Duration, Duration) {
    f();
    let mut t: Vec<Duration> = (0..RUNS)
        .map(|_| {
            let start = Instant::now();
            f();
            start.elapsed()
        })
        .collect();
    t.sort();
    (t[RUNS / 2], t[RUNS * 95 / 100], t[RUNS - 1])
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}
