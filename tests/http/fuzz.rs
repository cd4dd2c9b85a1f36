//! The OpenAPI document is exact: a property-based fuzzer from the package registries
//! (Schemathesis) reads `/openapi.json` of the real server on loopback and sends what it
//! generates from it: the documented examples, boundary values, random valid and invalid
//! requests. It fails on a 5xx, on a schema-valid request refused, on an invalid one accepted,
//! on a response (status, content type, body) the document does not describe, and on a route
//! that answers without its token.
//!
//! `.ci/run` installs it into a virtual environment and names it in `MAILROOM_SCHEMATHESIS`
//! (with `MAILROOM_REQUIRE_SCHEMATHESIS=1`, so that CI cannot pass without it). Elsewhere the
//! test looks for `schemathesis` on the PATH and says so when there is none. The run is
//! bounded (`MAILROOM_FUZZ_SECONDS`, 150 by default) and seeded, so that a failure can be
//! replayed with the same seed.

use std::process::Command;

use super::real::start_server_with;

fn fuzzer() -> Option<String> {
    if let Some(p) = std::env::var_os("MAILROOM_SCHEMATHESIS") {
        return Some(p.to_string_lossy().into_owned());
    }
    let on_path = Command::new("schemathesis")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success());
    if on_path {
        return Some("schemathesis".into());
    }
    let msg =
        "schemathesis is not installed (pip install schemathesis, or set MAILROOM_SCHEMATHESIS)";
    crate::util::absent(
        msg,
        "MAILROOM_REQUIRE_SCHEMATHESIS",
        "the API contract was not fuzzed",
    );
    None
}

#[test]
fn a_fuzzer_reading_the_openapi_document_finds_no_fault_in_the_real_server() {
    let Some(fuzzer) = fuzzer() else { return };
    let _ = crate::util::store();
    let token = "fuzz-token-5678";
    let server = start_server_with(token, &["--summary", "extractive"]);
    let seconds = std::env::var("MAILROOM_FUZZ_SECONDS").unwrap_or_else(|_| "150".into());
    let report = tempfile::tempdir().unwrap();
    let out = Command::new(&fuzzer)
        .current_dir(report.path())
        .args([
            "run",
            &format!("http://127.0.0.1:{}/openapi.json", server.port),
        ])
        .args(["--header", &format!("Authorization: Bearer {token}")])
        .args(["--checks", "all", "--phases", "examples,coverage,fuzzing"])
        .args([
            "--max-time",
            &seconds,
            "--seed",
            "20261203",
            "--workers",
            "2",
        ])
        .args([
            "--request-timeout",
            "60",
            "--no-color",
            "--output-sanitize",
            "true",
        ])
        .output()
        .expect("the fuzzer runs");
    let text = String::from_utf8_lossy(&out.stdout);
    eprintln!("{text}{}", String::from_utf8_lossy(&out.stderr));
    assert!(
        out.status.success(),
        "the fuzzer found faults (exit {:?}); its report is above",
        out.status.code()
    );
    assert!(
        text.contains("generated"),
        "the fuzzer sent nothing: {text}"
    );
}
