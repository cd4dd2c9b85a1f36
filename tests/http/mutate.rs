//! The request parsing survives mutation: mutated JSON and RFC 822 bodies, under the media
//! types a client may send, through the real router over the fake backend. Every answer is
//! one the OpenAPI document lists for the route (never a 500), and every error has the stable
//! shape. A fixed seed and a bounded count on every test run (`MAILROOM_HTTP_MUTATIONS`,
//! 20,000 by default); the real server is fuzzed from its document in `fuzz.rs`.

use super::*;
use crate::stress::{fuzz_check, mutate, stress, Budget, Rng};

#[tokio::test]
async fn mutated_requests_get_documented_answers() {
    let config = HttpConfig {
        max_body_bytes: 64 * 1024,
        max_messages: 4,
        ..HttpConfig::default()
    };
    let (state, _) = started(config).await;
    let examples = [
        parts("Our bins were not collected on Tuesday.").to_string(),
        serde_json::json!({"raw": RAW, "id": "m-1"}).to_string(),
        serde_json::json!([{"raw": RAW}, parts("The lamp is out.")]).to_string(),
        RAW.to_string(),
        "{\"body\": \"\\u0000\\ud83d\\ude00\", \"subject\": null, \"from\": 1e999}".to_string(),
    ];
    let corpus: Vec<Vec<u8>> = examples.iter().map(|s| s.as_bytes().to_vec()).collect();
    let media = [
        "application/json",
        "message/rfc822",
        "application/problem+json",
        "application/json; charset=utf-8",
        "text/plain",
        "multipart/form-data; boundary=x",
    ];
    // The three model routes read their bodies alike (`routes::read_body`); the fake backend
    // writes no summaries, so /v1/summarize is left to the fuzzer against the real server.
    let routes = ["/v1/triage", "/v1/classify"];
    let count: u64 = std::env::var("MAILROOM_HTTP_MUTATIONS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(20_000);
    let mut rng = Rng(0x2026_1203_0001);
    let mut seen = std::collections::BTreeMap::<u16, u64>::new();
    for _ in 0..count {
        let base = rng.below(corpus.len());
        let body = mutate(&mut rng, &corpus[base], &corpus);
        let route = routes[rng.below(routes.len())];
        let ct = media[rng.below(media.len())];
        let a = call(&state, post(route, ct, body.clone())).await;
        let code = a.status.as_u16();
        *seen.entry(code).or_default() += 1;
        let shown = String::from_utf8_lossy(&body[..body.len().min(300)]).into_owned();
        assert!(
            [200, 400, 413, 415, 422].contains(&code),
            "{route} {ct}: {code} for {shown:?}: {}",
            a.text()
        );
        if code == 200 {
            let v = a.json();
            assert!(v.is_object() || v.is_array(), "{v}");
        } else {
            let code_name = a.error_code();
            assert!(!code_name.is_empty());
        }
    }
    eprintln!("mutated requests: {count}, answers by status {seen:?}");
    assert!(
        seen.get(&200).copied().unwrap_or(0) > count / 20,
        "too few accepted to test the accepting path: {seen:?}"
    );
}

/// The `http_request` fuzz target's property (`fuzz_check::check_http`: any route, method,
/// Content-Type, token and body through the real router and lanes over an engine that needs
/// no model files; only answers the OpenAPI document lists, never a 5xx) on mutated requests:
/// a fixed seed and `MAILROOM_HTTP_CHECKS` inputs (20,000 by default), or
/// `MAILROOM_STRESS_SECS` seconds. `MAILROOM_HTTP_SEEDS=DIR` also writes the unmutated inputs
/// there, as the corpus for `cargo +nightly fuzz run -O http_request DIR`.
#[test]
fn http_check_holds_under_mutation() {
    let bodies = [
        parts("Our bins were not collected on Tuesday.").to_string(),
        serde_json::json!({"raw": RAW, "id": "m-1"}).to_string(),
        serde_json::json!([{"raw": RAW}, parts("The lamp is out.")]).to_string(),
        RAW.to_string(),
        String::new(),
    ];
    let mut corpus = Vec::new();
    let routes = mailroom::http::ROUTES.len() as u8 + 2;
    for route in 0..routes {
        for (media, prefix) in [(0u8, ""), (1, ""), (7, "application/json; charset=utf-8\n")] {
            for body in &bodies {
                let mut input = vec![route, media, 0];
                input.extend(prefix.as_bytes());
                input.extend(body.as_bytes());
                corpus.push(input);
            }
        }
    }
    if let Some(dir) = std::env::var_os("MAILROOM_HTTP_SEEDS") {
        let dir = std::path::PathBuf::from(dir);
        std::fs::create_dir_all(&dir).unwrap();
        for (i, input) in corpus.iter().enumerate() {
            std::fs::write(dir.join(format!("seed-{i:03}")), input).unwrap();
        }
    }
    // The unmutated requests first: each route's own examples get documented answers.
    for input in &corpus {
        fuzz_check::check_http(input);
    }
    let budget = Budget::from_env(Some("MAILROOM_HTTP_CHECKS"), Budget::Inputs(20_000));
    let input = |rng: &mut Rng| {
        let base = &corpus[rng.below(corpus.len())];
        let mut input = mutate(rng, base, &corpus);
        // Mostly keep the route, media type and token of the request mutated.
        if input.len() >= 3 && rng.below(4) != 0 {
            input[..3].copy_from_slice(&base[..3]);
        }
        input
    };
    let seen = std::sync::Mutex::new(std::collections::BTreeMap::<u16, u64>::new());
    let check = |data: &[u8]| {
        let status = fuzz_check::check_http(data);
        *seen.lock().unwrap().entry(status).or_default() += 1;
    };
    let runs = stress("http", budget, 5.0, input, check);
    let seen = seen.into_inner().unwrap();
    eprintln!("http check: answers by status {seen:?}");
    // Every kind of answer was reached, the accepting path often (in runs long enough to).
    if runs < 5_000 {
        return;
    }
    for status in [200, 400, 401, 404, 405, 415, 422] {
        assert!(seen.contains_key(&status), "no {status} in {seen:?}");
    }
    assert!(seen[&200] > runs / 20, "too few accepted: {seen:?}");
}
