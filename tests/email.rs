//! Reading mail: golden fixtures (parsed and prepared view, LF and CRLF), the sources (mbox,
//! Maildir, JSON lines, folders), and the walk over `../shared/data/mime-tests`.

use std::path::{Path, PathBuf};

use mailroom::email::{self, Content, EmailError, Limits, SourceKind, SourceOptions};
use mailroom::text::{self, PrepareOptions};
use serde_json::{json, Value};

use crate::stress::{fuzz_check, mutate, stress, Budget, Rng};
use crate::util;

/// Every `.eml` under `tests/fixtures/eml`, sorted.
fn fixtures() -> Vec<PathBuf> {
    fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
        let mut entries: Vec<_> = std::fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().path())
            .collect();
        entries.sort();
        for p in entries {
            if p.is_dir() {
                walk(&p, out);
            } else if p.extension().is_some_and(|e| e == "eml") {
                out.push(p);
            }
        }
    }
    let mut out = Vec::new();
    walk(&util::fixture("eml"), &mut out);
    out
}

/// The parsed and prepared view of one raw message, as the golden files hold it. `size` is
/// left out: it is the only field that differs between LF and CRLF.
pub fn view(raw: &[u8]) -> Value {
    match email::parse(raw) {
        Ok(e) => {
            let prepared = text::prepare(&e, &PrepareOptions::default());
            let mut email = serde_json::to_value(&e).unwrap();
            email.as_object_mut().unwrap().remove("size");
            json!({ "email": email, "prepared": prepared })
        }
        Err(err) => json!({ "error": { "kind": err.kind(), "message": err.to_string() } }),
    }
}

pub(crate) fn to_lf(raw: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(raw.len());
    let mut i = 0;
    while i < raw.len() {
        if raw[i] == b'\r' && raw.get(i + 1) == Some(&b'\n') {
            i += 1;
            continue;
        }
        out.push(raw[i]);
        i += 1;
    }
    out
}

pub(crate) fn to_crlf(raw: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(raw.len() + raw.len() / 20);
    for &b in &to_lf(raw) {
        if b == b'\n' {
            out.push(b'\r');
        }
        out.push(b);
    }
    out
}

/// Golden fixtures: each `NNN.eml` parsed and prepared must equal `NNN.json`, with LF and with
/// CRLF line endings. On a mismatch the actual view goes to `NNN.failed` beside the fixture.
/// `MAILROOM_BLESS=1` rewrites the expected files (review the diff before committing).
#[test]
fn golden_fixtures_lf_and_crlf() {
    let bless = std::env::var_os("MAILROOM_BLESS").is_some();
    let mut ran = 0;
    let mut failures = Vec::new();
    for path in fixtures() {
        let raw = std::fs::read(&path).unwrap();
        let expected_path = path.with_extension("json");
        let failed_path = path.with_extension("failed");
        let _ = std::fs::remove_file(&failed_path);
        let lf = view(&to_lf(&raw));
        if bless {
            let text = serde_json::to_string_pretty(&lf).unwrap() + "\n";
            std::fs::write(&expected_path, text).unwrap();
        }
        let expected: Value = match std::fs::read_to_string(&expected_path) {
            Ok(s) => serde_json::from_str(&s).unwrap(),
            Err(_) => {
                failures.push(format!("{}: no expected .json", path.display()));
                continue;
            }
        };
        for (ending, actual) in [("LF", lf.clone()), ("CRLF", view(&to_crlf(&raw)))] {
            ran += 1;
            if actual != expected {
                let text = serde_json::to_string_pretty(&actual).unwrap();
                std::fs::write(&failed_path, format!("{ending}\n{text}\n")).unwrap();
                failures.push(format!(
                    "{} ({ending}): differs, see {}",
                    path.display(),
                    failed_path.display()
                ));
                break;
            }
        }
    }
    assert!(ran > 0, "no golden fixture ran");
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// The whole fixture folder through the sources: one message per file, ids from Message-ID,
/// the empty file an error item, nothing lost.
#[test]
fn fixture_folder_through_sources() {
    let dir = util::fixture("eml");
    let messages: Vec<_> = email::read_inputs(&[dir], &SourceOptions::default()).collect();
    assert_eq!(messages.len(), fixtures().len());
    assert!(messages
        .iter()
        .any(|m| m.id == "CAF001gmail@mail.example.org"));
    let empty = messages
        .iter()
        .find(|m| m.provenance.path.ends_with("malformed/015.eml"))
        .unwrap();
    assert!(matches!(
        empty.parse(&Limits::default()),
        Err(EmailError::NotAMessage { .. })
    ));
    // A message without Message-ID is named by its path.
    let no_id = messages
        .iter()
        .find(|m| m.provenance.path.ends_with("malformed/014.eml"))
        .unwrap();
    assert!(no_id.id.ends_with("malformed/014.eml"));
}

fn fixture_raw(rel: &str) -> Vec<u8> {
    std::fs::read(util::fixture(rel)).unwrap()
}

/// An mbox built from three fixtures (one body line starting with `From ` quoted the mboxrd
/// way), plus a duplicate Message-ID: ids stay unique and bodies come back unquoted.
#[test]
fn mbox_streaming_and_ids() {
    let dir = tempfile::tempdir().unwrap();
    let mut mbox = Vec::new();
    for (i, rel) in ["eml/rfc/006.eml", "eml/real/011.eml", "eml/rfc/006.eml"]
        .iter()
        .enumerate()
    {
        mbox.extend_from_slice(
            format!("From sender{i}@example.org Mon Jan  1 10:00:00 2024\n").as_bytes(),
        );
        mbox.extend_from_slice(&to_lf(&fixture_raw(rel)));
        mbox.extend_from_slice(b">From the desk of a resident\n\n");
    }
    let path = dir.path().join("inbox.mbox");
    std::fs::write(&path, &mbox).unwrap();
    let messages: Vec<_> =
        email::read_inputs(std::slice::from_ref(&path), &SourceOptions::default()).collect();
    assert_eq!(messages.len(), 3);
    assert_eq!(messages[0].id, "006-alt@example.org");
    assert_eq!(messages[1].id, "011-oof@example.com");
    // The same Message-ID again: path and index instead.
    assert_eq!(messages[2].id, format!("{}#2", path.display()));
    assert_eq!(messages[2].provenance.kind, SourceKind::Mbox);
    assert_eq!(messages[2].provenance.index, Some(2));
    let Ok(Content::Raw(raw)) = &messages[1].content else {
        panic!("expected raw content")
    };
    assert!(
        raw.ends_with(b"\nFrom the desk of a resident\n"),
        "{}",
        String::from_utf8_lossy(raw)
    );
    let e = messages[1].parse(&Limits::default()).unwrap();
    assert!(e.is_auto_reply);
}

/// Maildir: `cur/` and `new/` are read, `tmp/` is not.
#[test]
fn maildir_reads_cur_and_new() {
    let dir = tempfile::tempdir().unwrap();
    for sub in ["cur", "new", "tmp"] {
        std::fs::create_dir(dir.path().join(sub)).unwrap();
    }
    std::fs::write(
        dir.path().join("cur/1.host:2,S"),
        fixture_raw("eml/rfc/006.eml"),
    )
    .unwrap();
    std::fs::write(
        dir.path().join("new/2.host"),
        fixture_raw("eml/rfc/007.eml"),
    )
    .unwrap();
    std::fs::write(
        dir.path().join("tmp/3.host"),
        fixture_raw("eml/rfc/008.eml"),
    )
    .unwrap();
    let messages: Vec<_> =
        email::read_inputs(&[dir.path().to_path_buf()], &SourceOptions::default()).collect();
    assert_eq!(messages.len(), 2);
    assert!(messages
        .iter()
        .all(|m| m.provenance.kind == SourceKind::Maildir));
}

/// JSON lines: raw messages, field messages, broken lines as error items.
#[test]
fn jsonl_records() {
    let dir = tempfile::tempdir().unwrap();
    let raw = String::from_utf8(fixture_raw("eml/rfc/006.eml")).unwrap();
    let lines = [
        json!({"id": "case-1", "raw": raw}).to_string(),
        json!({"id": "case-2", "from": "Ann <ann@example.org>", "subject": "Hi", "body": "Please call me."}).to_string(),
        "{broken".to_string(),
        json!({"from": "x@example.org", "body": "no id"}).to_string(),
    ];
    let path = dir.path().join("cases.jsonl");
    std::fs::write(&path, lines.join("\n")).unwrap();
    let messages: Vec<_> =
        email::read_inputs(std::slice::from_ref(&path), &SourceOptions::default()).collect();
    assert_eq!(messages.len(), 4);
    assert_eq!(messages[0].id, "case-1");
    assert_eq!(messages[1].id, "case-2");
    let e = messages[1].parse(&Limits::default()).unwrap();
    assert_eq!(e.from.unwrap().address.as_deref(), Some("ann@example.org"));
    assert!(matches!(messages[2].content, Err(EmailError::Json { .. })));
    assert_eq!(messages[3].id, format!("{}#3", path.display()));
}

/// Caps: a message over the size cap or with too many parts is an error, not a panic.
#[test]
fn caps_are_errors() {
    let raw = fixture_raw("eml/rfc/007.eml");
    let small = Limits {
        max_size: 100,
        ..Limits::default()
    };
    assert!(matches!(
        email::parse_with(&raw, &small),
        Err(EmailError::TooLarge { .. })
    ));
    let few = Limits {
        max_parts: 2,
        ..Limits::default()
    };
    assert!(matches!(
        email::parse_with(&raw, &few),
        Err(EmailError::TooManyParts { .. })
    ));
    let shallow = Limits {
        max_depth: 1,
        ..Limits::default()
    };
    assert!(matches!(
        email::parse_with(&raw, &shallow),
        Err(EmailError::TooDeep { .. })
    ));
    // Deep nesting built on the fly: 200 nested multiparts.
    let mut deep = String::from("From: a@example.org\nSubject: deep\n");
    for i in 0..200 {
        deep.push_str(&format!(
            "Content-Type: multipart/mixed; boundary=\"b{i}\"\n\n--b{i}\n"
        ));
    }
    deep.push_str("Content-Type: text/plain\n\nbottom\n");
    assert!(matches!(
        email::parse(deep.as_bytes()),
        Err(EmailError::TooDeep { .. })
    ));
    // A file over the cap is refused before it is read.
    let dir = tempfile::tempdir().unwrap();
    let big = dir.path().join("big.eml");
    std::fs::write(&big, vec![b'x'; 2000]).unwrap();
    let opts = SourceOptions { limits: small };
    let m: Vec<_> = email::read_inputs(&[big], &opts).collect();
    assert!(matches!(
        m[0].content,
        Err(EmailError::TooLarge { size: 2000, .. })
    ));
}

/// Split one CSV line, honouring double quotes.
fn csv_fields(line: &str) -> Vec<String> {
    let mut fields = vec![String::new()];
    let mut quoted = false;
    let mut chars = line.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '"' if quoted && chars.peek() == Some(&'"') => {
                fields.last_mut().unwrap().push('"');
                chars.next();
            }
            '"' => quoted = !quoted,
            ',' if !quoted => fields.push(String::new()),
            c => fields.last_mut().unwrap().push(c),
        }
    }
    fields
}

/// Error records allowed over `mime-tests`, and why each is a real error:
/// - 5 files listed as messages are empty (0 bytes): ruby-mail `sample_output_multipart` and
///   flanker `dkim/email.01`, `dkim/nofws.expected.01`, `dkim/relaxed.expected.01`,
///   `dkim/simple.expected.01` (expected-output placeholders of DKIM tests);
/// - 1 message is built to never end: flanker `enclosed-endless.eml` nests message/rfc822
///   parts until it holds over 3,000 MIME parts, over the 1,000-part cap.
///
/// Everything else, headerless text and broken MIME included, yields an email (marked unclean).
const MIME_TESTS_MAX_ERRORS: usize = 6;

/// Every message of `../shared/data/mime-tests` (read from its manifest) gives a record: no
/// panic, no hang, at most [`MIME_TESTS_MAX_ERRORS`] error records, each a real error.
#[test]
fn mime_tests_corpus_every_message_gives_a_record() {
    let Some(dir) = util::shared_data("mime-tests") else {
        return;
    };
    let manifest = std::fs::read_to_string(dir.join("manifest.csv")).unwrap();
    let mut lines = manifest.lines();
    let header = csv_fields(lines.next().unwrap());
    let col = |name: &str| header.iter().position(|h| h == name).unwrap();
    let (path_col, kind_col) = (col("path"), col("kind"));
    let start = std::time::Instant::now();
    let (mut records, mut unclean) = (0usize, 0usize);
    let mut errors = Vec::new();
    let mut panics = Vec::new();
    for line in lines {
        let f = csv_fields(line);
        if f.get(kind_col).map(String::as_str) != Some("message") {
            continue;
        }
        let path = dir.join(&f[path_col]);
        let raw = match email::read_file(&path) {
            Ok(r) => r,
            Err(e) => {
                records += 1;
                errors.push(format!("{}: {e}", f[path_col]));
                continue;
            }
        };
        let outcome = std::panic::catch_unwind(|| {
            email::parse(&raw).map(|e| {
                let p = text::prepare(&e, &PrepareOptions::default());
                (e.is_clean(), p.text.len())
            })
        });
        records += 1;
        match outcome {
            Ok(Ok((clean, _))) => unclean += usize::from(!clean),
            Ok(Err(e)) => {
                let real = raw.iter().all(u8::is_ascii_whitespace)
                    || matches!(
                        e,
                        EmailError::TooManyParts { .. } | EmailError::TooDeep { .. }
                    );
                assert!(real, "{}: unexpected error {e}", f[path_col]);
                errors.push(format!("{}: {} ({e})", f[path_col], e.kind()));
            }
            Err(_) => panics.push(f[path_col].clone()),
        }
    }
    let secs = start.elapsed().as_secs_f64();
    eprintln!(
        "mime-tests: {records} messages, {} error records, {unclean} unclean, {secs:.2} s",
        errors.len()
    );
    for e in &errors {
        eprintln!("  error record: {e}");
    }
    assert!(panics.is_empty(), "panicked on: {panics:?}");
    assert!(records >= 690, "only {records} messages in the manifest");
    assert!(
        errors.len() <= MIME_TESTS_MAX_ERRORS,
        "{} error records (at most {MIME_TESTS_MAX_ERRORS}):\n{}",
        errors.len(),
        errors.join("\n")
    );
    // No hang: the corpus reads in well under a second here; a minute means a runaway.
    assert!(secs < 60.0, "took {secs:.1} s");
}

/// `mailroom parse`: one JSON line per message, error records, exit codes 0 / 1 / 2.
#[test]
fn parse_command_records_and_exit_codes() {
    let ok = util::fixture("eml/rfc/006.eml");
    let out = util::mailroom(&["parse", ok.to_str().unwrap()]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let line: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(line["id"], "006-alt@example.org");
    assert_eq!(line["source"]["kind"], "eml");
    assert!(line["prepared"]["text"]
        .as_str()
        .unwrap()
        .starts_with("From: Sam Green"));

    let folder = util::fixture("eml/malformed");
    let out = util::mailroom(&["parse", folder.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1));
    let lines: Vec<Value> = String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 3);
    let err = lines.iter().find(|l| l.get("error").is_some()).unwrap();
    assert_eq!(err["error"]["kind"], "not_a_message");
    assert!(err["id"].as_str().unwrap().ends_with("015.eml"));

    let out = util::mailroom(&["parse", "/nonexistent/mailroom-test"]);
    assert_eq!(out.status.code(), Some(2));
}

/// A stable-Rust stand-in for `cargo fuzz` (whose nightly build of the whole crate is too
/// heavy for a shared machine): mutate real messages (mime-tests when present, else the
/// fixtures) for `MAILROOM_STRESS_SECS` seconds (default 60) and run the fuzz property on
/// each. Crashers and inputs slower than 2 s are written to `target/stress-crashers/`.
///
/// `MAILROOM_STRESS_SECS=300 cargo test --release --test tests stress_mutations -- --ignored --nocapture`
#[test]
#[ignore]
fn stress_mutations() {
    let mut corpus: Vec<Vec<u8>> = fixtures()
        .iter()
        .map(|p| std::fs::read(p).unwrap())
        .collect();
    if let Some(dir) = util::shared_data("mime-tests") {
        let manifest = std::fs::read_to_string(dir.join("manifest.csv")).unwrap();
        for line in manifest.lines().skip(1) {
            let f = csv_fields(line);
            if f.get(1).map(String::as_str) == Some("message") {
                if let Ok(raw) = email::read_file(&dir.join(&f[0])) {
                    corpus.push(raw);
                }
            }
        }
    }
    let budget = Budget::from_env(None, Budget::Seconds(60));
    let input = |rng: &mut Rng| {
        let base = &corpus[rng.below(corpus.len())];
        let mut input = vec![rng.next() as u8];
        input.extend(mutate(rng, base, &corpus));
        input
    };
    stress("mime", budget, 2.0, input, fuzz_check::check);
}
