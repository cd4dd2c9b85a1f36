//! The files an operator writes or carries in (a taxonomy, a library of standard lines, a
//! model manifest) survive mutation: a stable-Rust stand-in for the `config_files` fuzz target,
//! run on every test run for a bounded number of inputs with a fixed seed
//! (`MAILROOM_CONFIG_MUTATIONS`, 20,000 by default; `MAILROOM_STRESS_SECS` runs it for that many
//! seconds instead, with a seed from the clock, printed).

use crate::email::{fuzz_check, mutate, Rng};
use crate::util;

/// TOML and taxonomy pieces the mutations splice in.
const TOKENS: &str = "[[axes]]\n[[axes.labels]]\nname = \"\"\nkind = \"single\"\nthreshold = 1e309\nreview_threshold = -0.0\nexamples = []\n[[paragraphs]]\nid = \"x\"\ncategories = [\"*\"]\ntext = \"{name} {reference} {date} {\"\n[[models]]\nfiles = [{ name = \"../x\", sha256 = \"\" }]\n= nan\n\"\"\"\n'''\n\\u0000 inf 0x7fffffffffffffff -9223372036854775808 [[]] {}";

#[test]
fn config_files_give_a_value_or_an_error_under_mutation() {
    let root = util::root();
    let files = [
        (0u8, "taxonomy/default.toml"),
        (1, "taxonomy/replies/public-service.toml"),
        (2, "models/models.toml"),
    ];
    let mut corpus: Vec<Vec<u8>> = files
        .iter()
        .map(|(k, f)| {
            let mut v = vec![*k];
            v.extend(std::fs::read(root.join(f)).unwrap());
            v
        })
        .collect();
    corpus.push(TOKENS.as_bytes().to_vec());
    // The unmutated files load: the property is checked on real ones first.
    for input in &corpus {
        fuzz_check::check_config(input);
    }
    let secs: Option<u64> = std::env::var("MAILROOM_STRESS_SECS")
        .ok()
        .and_then(|s| s.parse().ok());
    let count: u64 = std::env::var("MAILROOM_CONFIG_MUTATIONS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(20_000);
    let seed = match secs {
        Some(_) => {
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap()
                .as_nanos() as u64
                | 1
        }
        None => 0x2026_1203,
    };
    let mut rng = Rng(seed);
    let deadline = secs.map(|s| std::time::Instant::now() + std::time::Duration::from_secs(s));
    let (mut runs, mut slowest) = (0u64, 0f64);
    let mut bad = Vec::new();
    loop {
        let done = match deadline {
            Some(d) => std::time::Instant::now() >= d,
            None => runs >= count,
        };
        if done {
            break;
        }
        let base = &corpus[rng.below(files.len())];
        let mut input = mutate(&mut rng, base, &corpus);
        if let Some(first) = input.first_mut() {
            // Mostly keep the kind of the file mutated, so that most inputs are near-valid.
            if rng.below(8) != 0 {
                *first = base[0];
            }
        }
        let t = std::time::Instant::now();
        let ok = std::panic::catch_unwind(|| fuzz_check::check_config(&input)).is_ok();
        let took = t.elapsed().as_secs_f64();
        slowest = slowest.max(took);
        runs += 1;
        if !ok || took > 1.0 {
            let out = root.join("target/stress-crashers");
            std::fs::create_dir_all(&out).unwrap();
            let p = out.join(format!(
                "config-{}-{runs}",
                if ok { "slow" } else { "crash" }
            ));
            std::fs::write(&p, &input).unwrap();
            bad.push(format!("{} ({took:.2} s)", p.display()));
        }
    }
    eprintln!(
        "config files: seed {seed}, {runs} inputs, slowest {:.2} ms, {} bad",
        slowest * 1e3,
        bad.len()
    );
    assert!(bad.is_empty(), "{}", bad.join("\n"));
}
