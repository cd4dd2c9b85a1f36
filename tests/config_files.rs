//! The files an operator writes or carries in (a taxonomy, a library of standard lines, a
//! model manifest) survive mutation: a stable-Rust stand-in for the `config_files` fuzz target,
//! run on every test run for a bounded number of inputs with a fixed seed
//! (`MAILROOM_CONFIG_MUTATIONS`, 20,000 by default; `MAILROOM_STRESS_SECS` runs it for that many
//! seconds instead, with a seed from the clock, printed).

use crate::stress::{fuzz_check, mutate, stress, Budget, Rng};
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
    let budget = Budget::from_env(Some("MAILROOM_CONFIG_MUTATIONS"), Budget::Inputs(20_000));
    let input = |rng: &mut Rng| {
        let base = &corpus[rng.below(files.len())];
        let mut input = mutate(rng, base, &corpus);
        if let Some(first) = input.first_mut() {
            // Mostly keep the kind of the file mutated, so that most inputs are near-valid.
            if rng.below(8) != 0 {
                *first = base[0];
            }
        }
        input
    };
    stress("config", budget, 1.0, input, fuzz_check::check_config);
}
