//! How well the store groups campaigns and repeats, measured on mail made at run time from the
//! real letters of `../shared/data/public` (see `generate.rs`; skipped with a notice when the
//! data is absent). Each message goes the way ingest sends it: parsed, prepared (quotes and
//! signatures stripped), its signature computed from the prepared body, stored in batches of
//! 32 into a real SQLite store, where it joins its group. Then the groups are read back and
//! scored against the truth:
//!
//! - pairwise precision: of the pairs of messages put in one group, the share that are copies
//!   of one letter; pairwise recall: of the pairs of copies of one letter, the share put in
//!   one group;
//! - purity: each group's largest true share, weighted by group size;
//! - the same pairwise scores for the bare decision (estimated Jaccard at each threshold, no
//!   grouping), to show where the threshold sits;
//! - ingest overhead per message: computing the signature, and the store's grouping work
//!   (a put with signatures against the same put without).
//!
//! The report is printed (`--nocapture`) and written to `target/campaigns-report.json`.

mod generate;

use std::collections::HashMap;
use std::time::Instant;

use mailroom::pipeline::{Content, Limits, Message, Provenance, SourceKind};
use mailroom::store::{NewMessage, QueueQuery, Signature, Store};
use mailroom::text::{prepare, PrepareOptions};

use generate::{mix, read_public, Generated};

/// The prepared body of a raw message, as ingest computes it.
fn prepared_body(raw: &[u8]) -> String {
    let m = Message {
        id: String::new(),
        provenance: Provenance {
            path: "generated".into(),
            kind: SourceKind::Eml,
            index: None,
            offset: None,
        },
        content: Ok(Content::Raw(raw.to_vec())),
    };
    match m.parse(&Limits::default()) {
        Ok(e) => prepare(&e, &PrepareOptions::default()).body,
        Err(_) => String::new(),
    }
}

/// Pairwise precision and recall of a clustering against the truth (each `None` truth is a
/// class of its own).
fn pairwise(pred: &[Option<i64>], truth: &[Option<String>]) -> (f64, f64, u64, u64, u64) {
    let (mut same_both, mut same_pred, mut same_truth) = (0u64, 0u64, 0u64);
    for i in 0..pred.len() {
        for j in i + 1..pred.len() {
            let p = pred[i].is_some() && pred[i] == pred[j];
            let t = truth[i].is_some() && truth[i] == truth[j];
            same_pred += u64::from(p);
            same_truth += u64::from(t);
            same_both += u64::from(p && t);
        }
    }
    let ratio = |a: u64, b: u64| if b == 0 { 1.0 } else { a as f64 / b as f64 };
    (
        ratio(same_both, same_pred),
        ratio(same_both, same_truth),
        same_both,
        same_pred,
        same_truth,
    )
}

/// Size-weighted purity of the predicted groups (members of groups of two or more).
fn purity(pred: &[Option<i64>], truth: &[Option<String>]) -> f64 {
    let mut groups: HashMap<i64, Vec<usize>> = HashMap::new();
    for (i, p) in pred.iter().enumerate() {
        if let Some(g) = p {
            groups.entry(*g).or_default().push(i);
        }
    }
    let (mut pure, mut all) = (0usize, 0usize);
    for members in groups.values() {
        let mut counts: HashMap<String, usize> = HashMap::new();
        for &i in members {
            let key = truth[i].clone().unwrap_or_else(|| format!("alone-{i}"));
            *counts.entry(key).or_default() += 1;
        }
        pure += counts.values().max().copied().unwrap_or(0);
        all += members.len();
    }
    if all == 0 {
        1.0
    } else {
        pure as f64 / all as f64
    }
}

fn new_message(g: &Generated, body: String, sig: Option<Signature>, i: usize) -> NewMessage {
    let mut m = NewMessage::new(
        g.raw.clone(),
        format!("{{\"schema\":\"measure\",\"i\":{i}}}"),
    );
    m.date_ms = Some(1_790_000_000_000 + i as i64 * 60_000);
    m.body_text = body;
    m.similarity = sig;
    m
}

/// Store `msgs` in batches of 32 (as ingest does); seconds taken.
async fn store_all(store: &Store, msgs: &[NewMessage]) -> f64 {
    let start = Instant::now();
    for batch in msgs.chunks(32) {
        store.put_batch(batch, None).await.unwrap();
    }
    start.elapsed().as_secs_f64()
}

#[test]
fn campaign_grouping_precision_recall_and_overhead() {
    let Some(dir) = crate::util::shared_data("public") else {
        return;
    };
    let letters = read_public(&dir);
    assert!(letters.len() >= 300, "{} public letters", letters.len());
    let mixed = mix(&letters, 16, 0x00ca_4a16);
    let n = mixed.len();
    let truth: Vec<Option<String>> = mixed.iter().map(|g| g.truth.clone()).collect();

    // Prepare and sign, timing the signature alone.
    let bodies: Vec<String> = mixed.iter().map(|g| prepared_body(&g.raw)).collect();
    let start = Instant::now();
    let sigs: Vec<Option<Signature>> = bodies.iter().map(|b| Signature::of(b)).collect();
    let sign_s = start.elapsed().as_secs_f64();

    // The bare decision at several thresholds, every pair (no grouping, no index).
    let mut sweep = Vec::new();
    for t in [0.5, 0.6, 0.65, 0.7, 0.75, 0.8, 0.9] {
        let (mut tp, mut fp, mut pos) = (0u64, 0u64, 0u64);
        for i in 0..n {
            for j in i + 1..n {
                let same = truth[i].is_some() && truth[i] == truth[j];
                let sim = match (&sigs[i], &sigs[j]) {
                    (Some(a), Some(b)) => a.jaccard(b),
                    _ => 0.0,
                };
                pos += u64::from(same);
                if sim >= t {
                    tp += u64::from(same);
                    fp += u64::from(!same);
                }
            }
        }
        let p = tp as f64 / (tp + fp).max(1) as f64;
        let r = tp as f64 / pos.max(1) as f64;
        sweep.push(
            serde_json::json!({"threshold": t, "precision": p, "recall": r, "false_pairs": fp}),
        );
    }

    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let (pred, with_s, without_s, page_rows) = rt.block_on(async {
        let with: Vec<NewMessage> = mixed
            .iter()
            .enumerate()
            .map(|(i, g)| new_message(g, bodies[i].clone(), sigs[i].clone(), i))
            .collect();
        let without: Vec<NewMessage> = mixed
            .iter()
            .enumerate()
            .map(|(i, g)| new_message(g, bodies[i].clone(), None, i))
            .collect();
        let plain = Store::open(&format!("sqlite:{}", dir.path().join("plain.db").display()))
            .await
            .unwrap();
        let without_s = store_all(&plain, &without).await;
        let store = Store::open(&format!(
            "sqlite:{}",
            dir.path().join("groups.db").display()
        ))
        .await
        .unwrap();
        let with_s = store_all(&store, &with).await;
        let mut pred = Vec::with_capacity(n);
        for m in &with {
            let id = store.find(&m.sha256).await.unwrap().expect("stored");
            let item = store.message(id).await.unwrap().unwrap().item;
            pred.push(item.group.map(|g| g.0));
        }
        let collapsed = store
            .queue(&QueueQuery {
                collapse_groups: true,
                ..QueueQuery::default()
            })
            .await
            .unwrap();
        assert_eq!(collapsed.total, n as i64);
        (pred, with_s, without_s, collapsed.rows)
    });

    let (precision, recall, tp, pred_pairs, true_pairs) = pairwise(&pred, &truth);
    let purity = purity(&pred, &truth);
    let true_groups: std::collections::HashSet<&String> = truth.iter().flatten().collect();
    let pred_groups: std::collections::HashSet<i64> = pred.iter().flatten().copied().collect();
    let template_categories: std::collections::HashSet<&str> = mixed
        .iter()
        .filter(|g| g.kind == "copy")
        .map(|g| g.category.as_str())
        .collect();
    let same_category = mixed
        .iter()
        .filter(|g| g.kind == "distinct" && template_categories.contains(g.category.as_str()))
        .count();
    let report = serde_json::json!({
        "data": "../shared/data/public, 16 templates, seed 0xca4a16",
        "messages": n,
        "copies": mixed.iter().filter(|g| g.kind == "copy").count(),
        "repeats": mixed.iter().filter(|g| g.kind == "repeat").count(),
        "distinct": mixed.iter().filter(|g| g.kind == "distinct").count(),
        "distinct_in_a_template_category": same_category,
        "true_groups": true_groups.len(),
        "found_groups": pred_groups.len(),
        "queue_rows_collapsed": page_rows,
        "threshold": mailroom::store::similar::JACCARD_THRESHOLD,
        "pairwise_precision": precision,
        "pairwise_recall": recall,
        "pairs": {"true_and_found": tp, "found": pred_pairs, "true": true_pairs},
        "purity": purity,
        "bare_decision_sweep": sweep,
        "signature_us_per_message": sign_s * 1e6 / n as f64,
        "put_ms_per_message_with_grouping": with_s * 1e3 / n as f64,
        "put_ms_per_message_without": without_s * 1e3 / n as f64,
    });
    let text = serde_json::to_string_pretty(&report).unwrap();
    eprintln!("{text}");
    let out = crate::util::root().join("target/campaigns-report.json");
    let _ = std::fs::write(out, &text);
    assert!(precision >= 0.95, "pairwise precision {precision}");
    assert!(recall >= 0.90, "pairwise recall {recall}");
    assert!(purity >= 0.95, "purity {purity}");
}
