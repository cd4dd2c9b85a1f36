//! The real models: the router in process over the real encoder, and the real binary over
//! TCP.

use super::*;

#[tokio::test]
async fn real_encoder_records_in_process() {
    use mailroom::pipeline::{EngineBuilder, Method, ModelSpec};
    let spec = ModelSpec {
        models_dir: crate::util::root().join("models"),
        ..ModelSpec::default()
    };
    crate::util::store();
    let triage = EngineBuilder::new(spec)
        .summary(Some(Method::Extractive))
        .build()
        .unwrap();
    let backend = EngineService::new(triage);
    let state = AppState::new(HttpConfig::default());
    state.start(Arc::new(backend)).unwrap();
    let t = Instant::now();
    while !state.is_ready() {
        assert!(t.elapsed() < Duration::from_secs(120));
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let eml =
        std::fs::read(crate::util::root().join("examples/inbox/16-pothole-report.eml")).unwrap();
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
pub(super) fn request(
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

pub(super) struct Server {
    child: Child,
    pub(super) port: u16,
}

impl Server {
    /// The server's process id.
    pub(super) fn pid(&self) -> u32 {
        self.child.id()
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn start_server(token: &str) -> Server {
    start_server_with(token, &["--summary", "abstractive"])
}

/// `mailroom serve` on a free loopback port with `token`, `args` added; returned once ready.
pub(super) fn start_server_with(token: &str, args: &[&str]) -> Server {
    let mut child = Command::new(env!("CARGO_BIN_EXE_mailroom"))
        .current_dir(crate::util::root())
        .args(["serve", "--port", "0"])
        .args(args)
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
    let _ = crate::util::store(); // fails with a message naming models/fetch when absent
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
        std::fs::read(crate::util::root().join("examples/inbox/01-urgent-no-heating.eml")).unwrap();

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
        .current_dir(crate::util::root())
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
        ("review_threshold = 1.5\n", vec![]),
        ("port = 0\n", vec!["--encoder-queue", "0"]),
    ] {
        std::fs::write(&config, file).unwrap();
        let mut args = vec!["serve", "--config", config.to_str().unwrap()];
        args.extend(flags);
        let out = crate::util::mailroom(&args);
        assert_eq!(out.status.code(), Some(2), "{file}");
        assert!(String::from_utf8_lossy(&out.stderr).contains("error:"));
    }
}
