//! The learning loop, scripted on real mail: ingest `../shared/data/public` (320 messages from
//! members of the public to public bodies) into a new SQLite store with the shipped heads;
//! reveal the true labels as a caseworker would, 20 messages at a time (a wrong label is
//! corrected, then the decision accepted, so a right label counts as a confirmation); after
//! each step train a candidate from the store, compare it with the head in use on the newer
//! reviewed mail, promote it when it does at least as well; and score the candidate, the head
//! in use and the shipped head on the same held-out messages (the newest quarter by date, never
//! revealed). Two orders of revealing: by date, and random with a fixed seed.
//!
//! The shipped heads were trained on all 320 public messages (see README, "Shipped heads"), the
//! held-out ones included: their score here is an upper bound, not a fair baseline.
//!
//! ```text
//! models/fetch && nice -n 10 cargo run --release --example learning_curve -- \
//!     [DATA_DIR] [--axis category] [--step 20] [--seed 42]
//! ```
//! Nothing of the data is written anywhere but a temporary folder.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use anyhow::Context;
use mailroom::learn::compare::{score, time_split, Scores, DEFAULT_TEST_SHARE};
use mailroom::learn::from_store::{
    config_for, current_probabilities, reviewed_set, train_from_store, Current, StoreTrainRequest,
};
use mailroom::pipeline::store_heads::store_head;
use mailroom::pipeline::{
    read_inputs, EngineBuilder, LabelSource, Mode, ModelSpec, ReviewPolicy, SourceOptions,
    TrainingExample,
};
use mailroom::store::{BlockingStore, MessageId, NewHead};

struct Args {
    data: PathBuf,
    axis: String,
    step: usize,
    seed: u64,
}

fn args() -> anyhow::Result<Args> {
    let mut a = Args {
        data: PathBuf::from(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../shared/data/public"
        )),
        axis: "category".into(),
        step: 20,
        seed: 42,
    };
    let mut it = std::env::args().skip(1);
    while let Some(x) = it.next() {
        match x.as_str() {
            "--axis" => a.axis = it.next().context("--axis AXIS")?,
            "--step" => a.step = it.next().context("--step N")?.parse()?,
            "--seed" => a.seed = it.next().context("--seed N")?.parse()?,
            other => a.data = PathBuf::from(other),
        }
    }
    Ok(a)
}

/// `path -> (category, priority)` from labels.csv (`path,category,priority,source,ambiguous`).
fn labels(dir: &Path) -> anyhow::Result<HashMap<String, (String, String)>> {
    let text = std::fs::read_to_string(dir.join("labels.csv"))
        .with_context(|| format!("reading {}/labels.csv", dir.display()))?;
    Ok(text
        .lines()
        .skip(1)
        .filter_map(|l| {
            let f: Vec<&str> = l.split(',').collect();
            (f.len() >= 3).then(|| (f[0].to_string(), (f[1].to_string(), f[2].to_string())))
        })
        .collect())
}

/// A stored message and its true labels.
#[derive(Clone)]
struct Known {
    id: MessageId,
    time: i64,
    category: String,
    priority: String,
}

impl Known {
    fn truth(&self, axis: &str) -> &str {
        if axis == "priority" {
            &self.priority
        } else {
            &self.category
        }
    }
}

fn splitmix(state: &mut u64) -> u64 {
    *state = state.wrapping_add(0x9e37_79b9_7f4a_7c15);
    let mut z = *state;
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// Ingest the folder into a new store at `db`; the stored messages with their true labels.
fn ingest(db: &Path, data: &Path, models: &ModelSpec) -> anyhow::Result<Vec<Known>> {
    let truth = labels(data)?;
    let store = BlockingStore::open(&format!("sqlite:{}", db.display()))?;
    let engine = EngineBuilder::new(models.clone())
        .mode(Mode::Classify)
        .summary(None)
        .build()?;
    let messages = read_inputs(&[data.to_path_buf()], &SourceOptions::default());
    let stats = engine.ingest(messages, &store, |_| {})?;
    eprintln!(
        "ingested {} messages ({} failed)",
        stats.stored, stats.failed
    );
    let mut out = Vec::new();
    let s = store.store();
    for i in 1..=store.block_on(s.count())? {
        let id = MessageId(i);
        let Some(m) = store.block_on(s.message(id))? else {
            continue;
        };
        let name = m.source.as_deref().and_then(|p| Path::new(p).file_name());
        let Some((c, p)) = name.and_then(|n| truth.get(&*n.to_string_lossy())) else {
            continue;
        };
        out.push(Known {
            id,
            time: m.item.date_ms.unwrap_or(0),
            category: c.clone(),
            priority: p.clone(),
        });
    }
    out.sort_by_key(|k| (k.time, k.id));
    Ok(out)
}

/// Held-out messages as training examples with their true labels (never put in the store).
fn held_examples(store: &BlockingStore, held: &[Known], axis: &str) -> Vec<TrainingExample> {
    held.iter()
        .map(|k| TrainingExample {
            message_id: k.id,
            label: k.truth(axis).to_string(),
            source: LabelSource::Correction,
            row_id: 0,
            labelled_at: 0,
            date_ms: Some(k.time),
            stored_at: 0,
            raw: store.block_on(store.store().raw(k.id)).ok().flatten(),
        })
        .collect()
}

/// One row of the curve.
struct Point {
    corrections: usize,
    candidate: Scores,
    in_use: Scores,
    promoted: bool,
}

fn run_order(
    name: &str,
    db: &Path,
    pool: &[Known],
    held: &[Known],
    a: &Args,
    models: &ModelSpec,
    cache: &Path,
) -> anyhow::Result<(Vec<Point>, Scores, Scores)> {
    let store = BlockingStore::open(&format!("sqlite:{}", db.display()))?;
    let s = store.store();
    let held_ex = held_examples(&store, held, &a.axis);
    let shipped = Current::shipped(models, &a.axis)?;
    let req = StoreTrainRequest {
        cache: Some(cache.to_path_buf()),
        ..StoreTrainRequest::new(&a.axis)
    };
    let config = config_for(&req, &shipped)?;
    let held_set = reviewed_set(
        &held_ex,
        &a.axis,
        &config,
        models,
        Some(&req.cache.clone().unwrap()),
        |_, _| {},
    )?
    .set;
    let all: Vec<usize> = (0..held_set.len()).collect();
    let y: Vec<usize> = held_set.y.clone();
    let policy = ReviewPolicy::default();
    let on_held = |c: &Current| -> anyhow::Result<Scores> {
        let p = current_probabilities(c, &held_set, &all, &a.axis, models)?
            .context("nothing decides the axis")?;
        let rule = match c {
            Current::Store(_, h) | Current::Shipped(h) => {
                policy.for_axis(h.meta.review_threshold, &h.meta.label_review_thresholds)
            }
            _ => {
                let t = mailroom::pipeline::load_taxonomy(None)?;
                match t.axis(&a.axis) {
                    Some(ax) => policy.for_axis(ax.review_threshold, &ax.label_thresholds()),
                    None => policy.clone(),
                }
            }
        };
        Ok(score(&held_set.labels, &y, &p, &rule))
    };
    let shipped_score = on_held(&shipped)?;
    let zero_shot_score = on_held(&Current::ZeroShot)?;
    let mut points = Vec::new();
    for (n, chunk) in pool.chunks(a.step).enumerate() {
        for k in chunk {
            let m = store.block_on(s.message(k.id))?.context("stored message")?;
            for (axis, now) in [
                ("category", &m.item.category),
                ("priority", &m.item.priority),
            ] {
                let truth = k.truth(axis);
                if now.as_ref().map(|l| l.label.as_str()) != Some(truth) {
                    store.block_on(s.correct(k.id, "script", axis, truth))?;
                }
            }
            store.block_on(s.accept(k.id, "script"))?;
        }
        let examples = store.block_on(s.training_examples(&a.axis))?;
        if time_split(examples.len(), DEFAULT_TEST_SHARE).is_none() {
            continue;
        }
        let active = match store.block_on(s.active_head(&a.axis))? {
            Some(h) => store.block_on(store_head(s, h.id))?,
            None => None,
        };
        let current = match &active {
            Some(h) => Current::from_store(h.id, &h.data)?,
            None => Current::shipped(models, &a.axis)?,
        };
        let t = train_from_store(&examples, &current, &req, models, |_, _| {})?;
        let row = NewHead {
            axis: a.axis.clone(),
            data: t.bytes.clone(),
            meta_json: t.meta.to_string(),
            metrics_json: Some(serde_json::to_string(&t.comparison)?),
        };
        let added = store.block_on(s.add_head("script", &row))?;
        let promoted = t.comparison.candidate_wins();
        let candidate = Current::Store(added.id, Box::new(t.head.clone()));
        let cand_score = on_held(&candidate)?;
        if promoted {
            store.block_on(s.promote_head("script", added.id))?;
        } else {
            store.block_on(s.retire_head("script", added.id))?;
        }
        let in_use = match store.block_on(s.active_head(&a.axis))? {
            Some(h) => {
                let sh = store.block_on(store_head(s, h.id))?.context("head bytes")?;
                Current::from_store(sh.id, &sh.data)?
            }
            None => Current::shipped(models, &a.axis)?,
        };
        let in_use_score = on_held(&in_use)?;
        eprintln!(
            "{name}: {:>3} corrections: candidate {:.3}, in use {:.3} ({}), shipped {:.3}",
            examples.len(),
            cand_score.macro_f1,
            in_use_score.macro_f1,
            if promoted { "promoted" } else { "kept" },
            shipped_score.macro_f1
        );
        let _ = n;
        points.push(Point {
            corrections: examples.len(),
            candidate: cand_score,
            in_use: in_use_score,
            promoted,
        });
    }
    Ok((points, shipped_score, zero_shot_score))
}

fn main() -> anyhow::Result<()> {
    let a = args()?;
    if !a.data.join("labels.csv").exists() {
        eprintln!(
            "NOTICE: {} is absent; nothing to run (see ../shared/data/README.md)",
            a.data.display()
        );
        return Ok(());
    }
    let models = ModelSpec {
        models_dir: PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/models")),
        ..ModelSpec::default()
    };
    let tmp = tempfile::tempdir()?;
    let base = tmp.path().join("base.db");
    let known = ingest(&base, &a.data, &models)?;
    let held_n = known.len() / 4;
    let (pool, held) = known.split_at(known.len() - held_n);
    eprintln!(
        "{} messages: {} to reveal, the newest {} held out",
        known.len(),
        pool.len(),
        held.len()
    );
    let by_date = pool.to_vec();
    let mut random = pool.to_vec();
    let mut state = a.seed;
    let mut keyed: Vec<(u64, Known)> = random
        .drain(..)
        .map(|k| (splitmix(&mut state), k))
        .collect();
    keyed.sort_by_key(|(r, k)| (*r, k.id));
    let random: Vec<Known> = keyed.into_iter().map(|(_, k)| k).collect();
    let cache = tmp.path().join("cache");
    let mut curves = Vec::new();
    for (name, order) in [("by date", &by_date), ("random", &random)] {
        let db = tmp.path().join(format!("{}.db", name.replace(' ', "-")));
        std::fs::copy(&base, &db)?;
        curves.push(run_order(name, &db, order, held, &a, &models, &cache)?);
    }
    let shipped = &curves[0].1;
    let zero_shot = &curves[0].2;
    println!(
        "axis {}: macro-F1 on the {} newest messages (held out), against corrections revealed {} at a time",
        a.axis,
        held.len(),
        a.step
    );
    println!(
        "shipped head (trained on all 320, these included): macro-F1 {:.3}, accuracy {:.3}, ECE {:.3}, to review {:.1} %",
        shipped.macro_f1,
        shipped.accuracy,
        shipped.ece,
        100.0 * shipped.review_share
    );
    println!(
        "zero-shot (the taxonomy's descriptions, no training): macro-F1 {:.3}, accuracy {:.3}, ECE {:.3}, to review {:.1} %",
        zero_shot.macro_f1,
        zero_shot.accuracy,
        zero_shot.ece,
        100.0 * zero_shot.review_share
    );
    println!("| reviewed | by date: candidate | in use | random: candidate | in use |");
    println!("|---:|---:|---:|---:|---:|");
    let rows = curves[0].0.len().max(curves[1].0.len());
    for i in 0..rows {
        let cell = |c: &Vec<Point>| match c.get(i) {
            Some(p) => (
                p.corrections.to_string(),
                format!("{:.3}", p.candidate.macro_f1),
                format!(
                    "{:.3}{}",
                    p.in_use.macro_f1,
                    if p.promoted { " (promoted)" } else { "" }
                ),
            ),
            None => ("".into(), "".into(), "".into()),
        };
        let (n1, c1, u1) = cell(&curves[0].0);
        let (n2, c2, u2) = cell(&curves[1].0);
        let n = if n1.is_empty() { n2 } else { n1 };
        println!("| {n} | {c1} | {u1} | {c2} | {u2} |");
    }
    Ok(())
}
