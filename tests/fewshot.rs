//! Few labels (issue 17): `eval curve` and `eval active` on a slice of ../shared/data/public
//! (the first 90 messages, listed by path in a temporary labels CSV: nothing is copied), and a
//! head trained on a handful of labels is a prototype head the engine loads and scores.

use std::path::Path;

use mailroom::classify::Head;
use serde_json::Value;

use crate::util::{self, mailroom_ok};

/// A labels CSV of the first `n` messages of public/ (`path,category,source`); None when the
/// data is absent.
fn slice(dir: &Path, n: usize) -> Option<String> {
    let public = util::shared_data("public")?;
    let text = std::fs::read_to_string(public.join("labels.csv")).unwrap();
    let mut csv = String::from("path,category,source\n");
    for line in text.lines().skip(1).take(n) {
        let f: Vec<&str> = line.split(',').collect();
        csv.push_str(&format!(
            "{},{},{}\n",
            public.join(f[0]).display(),
            f[1],
            f[3]
        ));
    }
    let p = dir.join("labels.csv");
    std::fs::write(&p, csv).unwrap();
    Some(p.to_str().unwrap().to_string())
}

fn json(out: &std::process::Output) -> Value {
    serde_json::from_slice(&out.stdout).unwrap()
}

#[test]
fn curves_and_the_active_simulation_on_a_slice_of_public_mail() {
    let tmp = tempfile::tempdir().unwrap();
    let Some(data) = slice(tmp.path(), 90) else {
        return;
    };
    let cache = tmp.path().join("cache");
    let cache = cache.to_str().unwrap();
    let common = [
        "--axis",
        "category",
        "--data",
        &data,
        "--cache",
        cache,
        "--embedding-weight",
        "1",
    ];
    let mut args = vec!["eval", "curve"];
    args.extend(common);
    args.extend([
        "--per-class",
        "2,4",
        "--seeds",
        "2",
        "--method",
        "prototype,logistic,auto",
        "--json",
    ]);
    let v = json(&mailroom_ok(&args));
    let zero = v["zero_shot"][0].as_f64().unwrap();
    assert!(zero > 0.0 && zero <= 1.0, "{v}");
    // fixmystreet and cfpb have 20 or more messages in the slice: the source split runs too.
    let sources: Vec<&str> = v["sources"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s[0].as_str().unwrap())
        .collect();
    assert!(
        sources.contains(&"fixmystreet") && sources.contains(&"cfpb"),
        "{v}"
    );
    let points = v["points"].as_array().unwrap();
    assert_eq!(points.len(), 2 * 2 * 3, "{v}");
    let point = |split: &str, k: u64, m: &str| {
        points
            .iter()
            .find(|p| p["split"] == split && p["per_class"] == k && p["method"] == m)
            .unwrap_or_else(|| panic!("{split} {k} {m}: {v}"))
    };
    for p in points {
        let f1 = p["macro_f1"]["mean"].as_f64().unwrap();
        assert!((0.0..=1.0).contains(&f1), "{p}");
    }
    // At most k per label (seven labels have messages in the slice, at most half of each).
    let trained = point("random", 4, "prototype")["trained"].as_f64().unwrap();
    assert!(trained > 4.0 && trained <= 4.0 * 8.0, "{v}");
    assert_eq!(point("random", 4, "prototype")["runs"], 2);
    // Two labelled messages per label: the rule picks the prototypes, and they (with the
    // taxonomy's label prototypes) decide better than chance among seven labels.
    let auto = &point("random", 2, "auto")["chose"];
    assert_eq!(auto[0][0], "prototype", "{v}");
    let proto = point("random", 2, "prototype")["macro_f1"]["mean"]
        .as_f64()
        .unwrap();
    assert!(proto > 0.25, "{v}");

    let mut args = vec!["eval", "active"];
    args.extend(common);
    args.extend([
        "--batch",
        "8",
        "--rounds",
        "2",
        "--seeds",
        "1",
        "--order",
        "random,mixed",
        "--json",
    ]);
    let a = json(&mailroom_ok(&args));
    assert_eq!(
        a["pool"].as_u64().unwrap() + a["test"].as_u64().unwrap(),
        90
    );
    let pts = a["points"].as_array().unwrap();
    let labels: Vec<u64> = pts
        .iter()
        .filter(|p| p["order"] == "mixed")
        .map(|p| p["labels"].as_u64().unwrap())
        .collect();
    assert_eq!(labels, [0, 8, 16], "{a}");
    // Round 0 (no labels: the taxonomy's prototypes) is the same for every order.
    let at0: Vec<&Value> = pts.iter().filter(|p| p["labels"] == 0).collect();
    assert_eq!(at0[0]["macro_f1"], at0[1]["macro_f1"], "{a}");
}

#[test]
fn a_head_from_a_few_labels_is_a_prototype_head_the_engine_uses() {
    let tmp = tempfile::tempdir().unwrap();
    let Some(data) = slice(tmp.path(), 24) else {
        return;
    };
    let head = tmp.path().join("category.safetensors");
    let cache = tmp.path().join("cache");
    mailroom_ok(&[
        "train",
        "--axis",
        "category",
        "--data",
        &data,
        "--cache",
        cache.to_str().unwrap(),
        "--folds",
        "0",
        "--out",
        head.to_str().unwrap(),
    ]);
    let h = Head::load(&head).unwrap();
    let few = h.meta.few_shot.as_ref().expect("a few-label head says so");
    assert_eq!(few.method, "prototype");
    assert!(few.prior_weight > 0.0);
    assert_eq!(h.meta.features.groups(), "embedding");
    assert!(h.meta.calibration.temperature > 0.0);
    // The engine loads it and decides the axis with it; the probabilities sum to one.
    let out = mailroom_ok(&[
        "classify",
        "--head",
        head.to_str().unwrap(),
        util::fixture("eml/real/001.eml").to_str().unwrap(),
    ]);
    let first: Value =
        serde_json::from_slice(out.stdout.split(|b| *b == b'\n').next().unwrap()).unwrap();
    let cat = first["classification"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["axis"] == "category")
        .unwrap()
        .clone();
    assert_eq!(cat["method"], "head", "{first}");
    let sum: f64 = cat["probabilities"]
        .as_object()
        .unwrap()
        .values()
        .map(|p| p.as_f64().unwrap())
        .sum();
    assert!((sum - 1.0).abs() < 1e-3, "{cat}");
}
