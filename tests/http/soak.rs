//! Long runs: the real `serve` under steady mixed load, its resident memory and latency
//! sampled every few seconds. After warm-up the memory must stay flat: the median RSS of the
//! last third of the run may not exceed that of the middle third by more than 5 % (or 16 MiB,
//! whichever is larger), and no request may get a 5xx. Latency is reported, not asserted.
//!
//! On every test run it is scaled down (`MAILROOM_SOAK_SECS`, 120 by default); the soak of
//! an hour is `MAILROOM_SOAK_SECS=3600 cargo test --release --test tests soak -- --nocapture`.
//! The samples go to `target/soak/samples.jsonl`.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Mutex;

use super::real::{request, start_server_with};
use super::*;

fn rss_mib(pid: u32) -> f64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.split_whitespace().next()?.parse::<f64>().ok())
        .map_or(0.0, |kb| kb / 1024.0)
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v.get(v.len() / 2).copied().unwrap_or(0.0)
}

fn p99(v: &mut [f64]) -> f64 {
    v.sort_by(f64::total_cmp);
    v.get((v.len() * 99).div_ceil(100).saturating_sub(1))
        .copied()
        .unwrap_or(0.0)
}

/// The mix: every example message as RFC 822 and as JSON parts, to each route, with now and
/// then an array, a request refused (422) and a read of the metrics.
fn requests() -> Vec<(&'static str, &'static str, Vec<u8>)> {
    let dir = crate::util::root().join("examples/inbox");
    let mut files: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "eml"))
        .collect();
    files.sort();
    let mut out = Vec::new();
    for (i, f) in files.iter().enumerate() {
        let raw = std::fs::read(f).unwrap();
        let route = ["/v1/triage", "/v1/classify", "/v1/summarize"][i % 3];
        out.push((route, "message/rfc822", raw.clone()));
        let text = String::from_utf8_lossy(&raw).into_owned();
        let body = text.split_once("\n\n").map_or("", |(_, b)| b).to_string();
        let json = serde_json::json!({"subject": format!("Message {i}"), "body": body});
        out.push((
            ["/v1/classify", "/v1/triage", "/v1/summarize"][i % 3],
            "application/json",
            json.to_string().into_bytes(),
        ));
        if i % 5 == 0 {
            let many = serde_json::json!([json, {"raw": text}, {"body": "Bins not collected."}]);
            out.push((
                "/v1/triage",
                "application/json",
                many.to_string().into_bytes(),
            ));
            out.push((
                "/v1/classify",
                "application/json",
                b"{\"raw\": \"x\", \"body\": \"y\"}".to_vec(),
            ));
            out.push(("/metrics", "", Vec::new()));
        }
    }
    out
}

#[test]
fn memory_stays_flat_under_steady_mixed_load() {
    let _ = crate::util::store();
    let secs: u64 = std::env::var("MAILROOM_SOAK_SECS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(120);
    let token = "soak-token-9012";
    let server = start_server_with(token, &[]);
    let (port, pid) = (server.port, server.pid());
    let auth = format!("Bearer {token}");
    let mix = requests();
    let stop = AtomicBool::new(false);
    let latencies = Mutex::new(Vec::<f64>::new());
    let statuses = Mutex::new(std::collections::BTreeMap::<u16, u64>::new());
    let mut samples: Vec<(f64, f64, f64, usize)> = Vec::new();
    let start = Instant::now();
    std::thread::scope(|s| {
        for client in 0..2 {
            let (mix, stop, latencies, statuses, auth) =
                (&mix, &stop, &latencies, &statuses, &auth);
            s.spawn(move || {
                let mut i = client * 7;
                while !stop.load(Ordering::Relaxed) {
                    let (route, ct, body) = &mix[i % mix.len()];
                    i += 1;
                    let mut headers = vec![("Authorization", auth.as_str())];
                    let method = if ct.is_empty() { "GET" } else { "POST" };
                    if !ct.is_empty() {
                        headers.push(("Content-Type", ct));
                    }
                    let t = Instant::now();
                    let status = request(port, method, route, &headers, body)
                        .map_or(0, |(status, _)| status);
                    latencies
                        .lock()
                        .unwrap()
                        .push(t.elapsed().as_secs_f64() * 1e3);
                    *statuses.lock().unwrap().entry(status).or_default() += 1;
                }
            });
        }
        let every = Duration::from_secs((secs / 24).clamp(2, 60));
        while start.elapsed() < Duration::from_secs(secs) {
            std::thread::sleep(every);
            let mut window = std::mem::take(&mut *latencies.lock().unwrap());
            let n = window.len();
            samples.push((
                start.elapsed().as_secs_f64(),
                rss_mib(pid),
                p99(&mut window),
                n,
            ));
        }
        stop.store(true, Ordering::Relaxed);
    });
    let out = crate::util::root().join("target/soak");
    std::fs::create_dir_all(&out).unwrap();
    let lines: Vec<String> = samples
        .iter()
        .map(|(t, rss, p, n)| {
            serde_json::json!({"t_s": t, "rss_mib": rss, "p99_ms": p, "requests": n}).to_string()
        })
        .collect();
    std::fs::write(out.join("samples.jsonl"), lines.join("\n") + "\n").unwrap();
    for (t, rss, p, n) in &samples {
        eprintln!("soak t={t:6.0} s  RSS {rss:7.1} MiB  p99 {p:8.1} ms  {n} requests");
    }
    let statuses = statuses.into_inner().unwrap();
    eprintln!("soak: {secs} s, answers by status {statuses:?}");
    assert!(
        statuses.keys().all(|&s| (200..500).contains(&s)),
        "a 5xx or a failed connection (0): {statuses:?}"
    );
    assert!(
        statuses.get(&200).copied().unwrap_or(0) > 20,
        "{statuses:?}"
    );
    let third = samples.len() / 3;
    assert!(third >= 2, "too few samples: {}", samples.len());
    let middle = median(samples[third..2 * third].iter().map(|s| s.1).collect());
    let last = median(samples[2 * third..].iter().map(|s| s.1).collect());
    eprintln!("soak: RSS median {middle:.1} MiB in the middle third, {last:.1} MiB in the last");
    assert!(
        last <= middle + (middle * 0.05).max(16.0),
        "RSS grew after warm-up: {middle:.1} MiB → {last:.1} MiB"
    );
}
