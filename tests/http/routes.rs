//! The router over a fake backend: routes, input forms, errors, limits, auth, queue, timeouts,
//! models, metrics and the OpenAPI document.

use super::*;

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
