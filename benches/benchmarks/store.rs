//! The desk's queue query on 10,000 stored messages, on SQLite and on PostgreSQL (a server
//! started on loopback as in the tests; skipped with a notice when PostgreSQL is absent).
//!
//! Bodies come from the real mail in `../shared/data` (public, Enron genres, SpamAssassin),
//! cycled to 10,000 messages with their own Message-IDs; without it, from a fixed word list
//! (with a notice). Labels, urgency, review flags, statuses, assignees and conversations are
//! drawn from a fixed-seed generator with the shares of `../shared/data/public`.
//!
//! Besides criterion's timings, each query shape prints its p50/p95/max over 200 runs and the
//! ratio of its p95 to that of a baseline measured in the same run (one message read by id).
//! The goal (issue 16) is a p95 under 100 ms.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use criterion::Criterion;
use mailroom::store::{Assignee, Label, NewMessage, QueueQuery, Status, Store};

#[path = "../../tests/store/pg_server.rs"]
pub mod pg_server;

/// Stored messages.
const MESSAGES: usize = 10_000;
/// Timed runs per query shape for the percentiles.
const RUNS: usize = 200;

/// `cpu_store_queue/{sqlite,postgres}/{shape}`.
pub fn bench(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let messages = corpus();
    let dir = tempfile::tempdir().unwrap();
    let sqlite = format!("sqlite:{}", dir.path().join("bench.db").display());
    let mut engines = vec![("sqlite", sqlite)];
    match std::panic::catch_unwind(pg_server::server) {
        Ok(server) => engines.push(("postgres", rt.block_on(server.fresh_db()))),
        Err(_) => eprintln!("skipping the PostgreSQL store benchmark: no PostgreSQL server"),
    }
    for (engine, url) in engines {
        let store = rt.block_on(fill(&url, &messages));
        let shapes = shapes();
        let mut g = c.benchmark_group(format!("cpu_store_queue/{engine}"));
        for (name, q) in &shapes {
            g.bench_function(*name, |b| b.iter(|| rt.block_on(store.queue(q)).unwrap()));
        }
        g.finish();
        report(&rt, &store, engine, &shapes);
        rt.block_on(store.close());
    }
}

/// The query shapes a caseworker's clicks make.
fn shapes() -> Vec<(&'static str, QueueQuery)> {
    let q = QueueQuery::default;
    vec![
        ("first_page", q()),
        (
            "open",
            QueueQuery {
                status: Some(Status::Open),
                ..q()
            },
        ),
        (
            "category",
            QueueQuery {
                category: Some("payment_or_debt".into()),
                ..q()
            },
        ),
        (
            "review_reason",
            QueueQuery {
                review_reason: Some("category:low_confidence".into()),
                ..q()
            },
        ),
        (
            "assignee_open",
            QueueQuery {
                assignee: Some(Assignee::Person("reviewer3".into())),
                status: Some(Status::Open),
                ..q()
            },
        ),
        (
            "search_word",
            QueueQuery {
                search: Some("payment".into()),
                ..q()
            },
        ),
        (
            "search_two_words_filtered",
            QueueQuery {
                search: Some("council street".into()),
                priority: Some("urgent".into()),
                ..q()
            },
        ),
        (
            "search_short",
            QueueQuery {
                search: Some("tv".into()),
                ..q()
            },
        ),
        (
            "page_100",
            QueueQuery {
                offset: 5_000,
                ..q()
            },
        ),
    ]
}

/// p50/p95/max of each shape against the by-id baseline.
fn report(
    rt: &tokio::runtime::Runtime,
    store: &Store,
    engine: &str,
    shapes: &[(&str, QueueQuery)],
) {
    let first = rt
        .block_on(store.queue(&QueueQuery::default()))
        .unwrap()
        .items[0]
        .id;
    let base = percentiles(|| {
        rt.block_on(store.message(first)).unwrap();
    });
    eprintln!("store queue, {engine}, {MESSAGES} messages, {RUNS} runs each (ms):");
    eprintln!(
        "  {:<28} {:>7} {:>7} {:>7} {:>10}",
        "shape", "p50", "p95", "max", "p95/base"
    );
    eprintln!(
        "  {:<28} {:>7.2} {:>7.2} {:>7.2} {:>10}",
        "baseline_message_by_id",
        ms(base.0),
        ms(base.1),
        ms(base.2),
        "1.0"
    );
    for (name, q) in shapes {
        let mut total = 0;
        let p = percentiles(|| total = rt.block_on(store.queue(q)).unwrap().total);
        eprintln!(
            "  {:<28} {:>7.2} {:>7.2} {:>7.2} {:>10.1}   ({total} match)",
            name,
            ms(p.0),
            ms(p.1),
            ms(p.2),
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

/// Open a store and fill it with the corpus (batches of 500 per transaction).
pub async fn fill(url: &str, messages: &[NewMessage]) -> Store {
    let store = Store::open(url).await.unwrap();
    let start = Instant::now();
    for batch in messages.chunks(500) {
        store.put_batch(batch, None).await.unwrap();
    }
    eprintln!(
        "stored {} messages in {:.1} s ({})",
        messages.len(),
        start.elapsed().as_secs_f64(),
        store.engine()
    );
    // Some work done on them: every tenth message assigned, every third of those answered.
    let page = store
        .queue(&QueueQuery {
            limit: 500,
            ..QueueQuery::default()
        })
        .await
        .unwrap();
    for (k, item) in page.items.iter().enumerate().filter(|(k, _)| k % 10 == 0) {
        store
            .assign(item.id, "bench", Some(&format!("reviewer{}", k % 7)))
            .await
            .unwrap();
        if k % 3 == 0 {
            store
                .set_status(item.id, "bench", Status::Answered)
                .await
                .unwrap();
        }
    }
    store
}

/// (subject, sender, body) of real messages, or of the fallback text.
fn texts() -> Vec<(String, String, String)> {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../shared/data");
    let mut files = Vec::new();
    for set in ["public", "enron-genres", "spamassassin"] {
        collect(&root.join(set), &mut files);
    }
    files.sort();
    let mut out = Vec::new();
    for path in files {
        let Ok(raw) = std::fs::read(&path) else {
            continue;
        };
        let Ok(email) = mailroom::email::parse(&raw) else {
            continue;
        };
        let sender = email
            .from
            .as_ref()
            .and_then(|m| m.address.clone())
            .unwrap_or_default();
        out.push((email.subject.unwrap_or_default(), sender, email.body));
    }
    if out.is_empty() {
        eprintln!("NOTICE: ../shared/data is absent; the store benchmark uses generated text");
        let words = super::filler();
        let words: Vec<&str> = words.split_whitespace().collect();
        for i in 0..500 {
            let body: Vec<&str> = (0..(50 + i % 400))
                .map(|k| words[(i * 7 + k * 13) % words.len()])
                .collect();
            out.push((
                format!("request {i}"),
                format!("person{i}@example.org"),
                body.join(" "),
            ));
        }
    }
    out
}

fn collect(dir: &std::path::Path, out: &mut Vec<PathBuf>) {
    let Ok(rd) = std::fs::read_dir(dir) else {
        return;
    };
    for e in rd.flatten() {
        let p = e.path();
        if p.is_dir() {
            collect(&p, out);
        } else if p.extension().is_none_or(|x| x == "eml") && !p.to_string_lossy().ends_with(".csv")
        {
            out.push(p);
        }
    }
}

/// 10,000 messages with labels drawn by a fixed-seed generator.
pub fn corpus() -> Vec<NewMessage> {
    const CATEGORIES: [(&str, u32); 8] = [
        ("complaint", 34),
        ("application", 25),
        ("payment_or_debt", 16),
        ("information_request", 12),
        ("case_update", 7),
        ("feedback", 5),
        ("appointment_or_meeting", 1),
        ("other", 1),
    ];
    let texts = texts();
    let mut rng = 0x2545_f491_4f6c_dd1d_u64;
    let mut next = move |n: u64| {
        rng ^= rng << 13;
        rng ^= rng >> 7;
        rng ^= rng << 17;
        rng % n
    };
    (0..MESSAGES)
        .map(|i| {
            let (subject, sender, body) = &texts[i % texts.len()];
            let raw =
                format!("Message-ID: <bench{i}@example.org>\r\nSubject: {subject}\r\n\r\n{body}");
            let mut m = NewMessage::new(
                raw.into_bytes(),
                format!(r#"{{"schema":"mailroom.triage/1","n":{i}}}"#),
            );
            let mut pick = next(100) as u32;
            let category = CATEGORIES.iter().find(|(_, share)| {
                let hit = pick < *share;
                pick = pick.saturating_sub(*share);
                hit
            });
            m.category = Some(Label::new(
                category.map_or("other", |c| c.0),
                0.4 + next(60) as f64 / 100.0,
            ));
            m.urgent = next(100) < 24;
            m.priority = Some(Label::new(if m.urgent { "urgent" } else { "routine" }, 0.7));
            m.junk = Some(Label::new(
                if next(100) < 10 { "spam" } else { "legitimate" },
                0.9,
            ));
            m.needs_review = next(100) < 35;
            if m.needs_review {
                m.review_reasons = vec!["category:low_confidence".into()];
                if next(4) == 0 {
                    m.review_reasons.push("truncated".into());
                }
            }
            m.date_ms = Some(1_600_000_000_000 + next(60 * 86_400_000) as i64);
            m.subject = Some(subject.clone());
            m.sender = Some(sender.clone());
            m.body_text = body.clone();
            m.conversation_key = Some(format!("conv{}", i / 3));
            m
        })
        .collect()
}
