//! The request parsing survives mutation: mutated JSON and RFC 822 bodies, under the media
//! types a client may send, through the real router over the fake backend. Every answer is
//! one the OpenAPI document lists for the route (never a 500), and every error has the stable
//! shape. A fixed seed and a bounded count on every test run (`MAILROOM_HTTP_MUTATIONS`,
//! 20,000 by default); the real server is fuzzed from its document in `fuzz.rs`.

use super::*;
use crate::email::{mutate, Rng};

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
