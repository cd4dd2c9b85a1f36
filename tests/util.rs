//! Helpers shared by the integration tests.

#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::OnceLock;

use mailroom::models::{Encoder, Generator, Role, Store};

/// The repository root.
pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// A test fixture path.
pub fn fixture(rel: &str) -> PathBuf {
    root().join("tests/fixtures").join(rel)
}

/// `../shared/data/<rel>` when it exists (it does in CI); `None` with a notice otherwise.
pub fn shared_data(rel: &str) -> Option<PathBuf> {
    let p = root().join("../shared/data").join(rel);
    if p.exists() {
        Some(p)
    } else {
        eprintln!(
            "NOTICE: {} is absent; this test checks nothing without it",
            p.display()
        );
        None
    }
}

/// Something a test needs is missing (`what`): a panic when the environment variable `require`
/// is set (CI sets it once it has installed the thing, so that CI cannot pass without it), else
/// a notice saying what goes unchecked (`unchecked`), and the test returns.
pub fn absent(what: &str, require: &str, unchecked: &str) {
    assert!(
        std::env::var_os(require).is_none(),
        "{what}, and {require} is set"
    );
    eprintln!("NOTICE: {what}; {unchecked}");
}

/// The model store of this checkout. Panics with a message naming `models/fetch` when the
/// default models are not installed: model tests never pass silently.
pub fn store() -> Store {
    let store = Store::open(root().join("models")).expect("models/models.toml must parse");
    for role in [Role::Encoder, Role::Generator] {
        if let Err(e) = store.resolve_default(role) {
            panic!("default {role} model unavailable ({e}); run `models/fetch` first");
        }
    }
    store
}

/// The default encoder, loaded once per test binary.
pub fn encoder() -> &'static Encoder {
    static ENC: OnceLock<Encoder> = OnceLock::new();
    ENC.get_or_init(|| {
        let s = store();
        Encoder::load(
            &s.resolve_default(Role::Encoder).unwrap(),
            &mailroom::models::Device::Cpu,
        )
        .expect("default encoder loads")
    })
}

/// A freshly loaded default generator (it holds a KV cache, so each test gets its own).
pub fn generator() -> Generator {
    let s = store();
    Generator::load(
        &s.resolve_default(Role::Generator).unwrap(),
        &mailroom::models::Device::Cpu,
    )
    .expect("default generator loads")
}

/// Run the built `mailroom` binary.
pub fn mailroom(args: &[&str]) -> Output {
    mailroom_in(&root(), args, &[])
}

/// Run the built `mailroom` binary and insist that it succeeds (its stderr is the message).
pub fn mailroom_ok(args: &[&str]) -> Output {
    let out = mailroom(args);
    assert!(
        out.status.success(),
        "mailroom {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

/// Run the built `mailroom` binary in `dir` with extra environment variables.
pub fn mailroom_in(dir: &Path, args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_mailroom"));
    cmd.current_dir(dir).args(args);
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd.output().expect("mailroom binary runs")
}

/// Cosine similarity.
pub fn cosine(a: &[f32], b: &[f32]) -> f64 {
    let dot: f64 = a.iter().zip(b).map(|(x, y)| *x as f64 * *y as f64).sum();
    let na: f64 = a.iter().map(|x| (*x as f64).powi(2)).sum::<f64>().sqrt();
    let nb: f64 = b.iter().map(|x| (*x as f64).powi(2)).sum::<f64>().sqrt();
    dot / (na * nb).max(1e-12)
}
