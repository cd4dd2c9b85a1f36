//! `mailroom heads --store S list|show|promote|discard|rollback`: the heads a store keeps.
//! `list` shows every head per axis (in use, candidates with their comparison, retired);
//! `promote ID` puts a candidate (or a retired head) in use for its axis; `discard ID` retires
//! a candidate; `rollback AXIS` brings back the head in use before (or, with none, the shipped
//! head). Each change is one transaction with its audit entry; engines writing to the store
//! decide with the head in use from their next message or batch.

use clap::{Args, Subcommand};
use mailroom::store::{BlockingStore, Head, HeadState};
use serde_json::Value;

use super::ingest::StoreArgs;
use super::Outcome;

/// Arguments of `heads`.
#[derive(Debug, Args)]
pub struct HeadsArgs {
    #[command(flatten)]
    store: StoreArgs,
    #[command(subcommand)]
    command: HeadsCommand,
}

/// `heads` subcommands.
#[derive(Debug, Subcommand)]
enum HeadsCommand {
    /// Every head, per axis (or of one axis), with the candidates' comparisons.
    List {
        /// Only this axis.
        #[arg(long)]
        axis: Option<String>,
    },
    /// One head: its state, comparison and metadata, as JSON.
    Show {
        /// The head's id.
        id: i64,
    },
    /// Put a candidate (or a retired head) in use for its axis; the head in use retires.
    Promote {
        /// The head's id.
        id: i64,
    },
    /// Retire a candidate without using it.
    Discard {
        /// The head's id.
        id: i64,
    },
    /// Bring back the head in use before the current one (with none: the shipped head).
    Rollback {
        /// The axis.
        axis: String,
    },
}

fn short(sha: &str) -> &str {
    &sha[..sha.len().min(12)]
}

fn state_name(s: HeadState) -> &'static str {
    match s {
        HeadState::Candidate => "candidate",
        HeadState::Active => "in use",
        HeadState::Retired => "retired",
    }
}

/// One line per head: id, state, name in records, and the comparison when recorded.
fn line(h: &Head) -> String {
    let mut s = format!(
        "{:>4}  {:<9}  {}@{}  by {}",
        h.id,
        state_name(h.state),
        h.axis,
        short(&h.sha256),
        h.created_by
    );
    let m: Option<Value> = h
        .metrics_json
        .as_deref()
        .and_then(|m| serde_json::from_str(m).ok());
    if let Some(m) = m {
        let f1 = |v: &Value| {
            v["macro_f1"]
                .as_f64()
                .map_or("–".into(), |x| format!("{x:.3}"))
        };
        s.push_str(&format!(
            "  macro-F1 {} vs {} in use (tested on {} newer, trained on {} older)",
            f1(&m["candidate"]),
            f1(&m["current"]),
            m["n_test"],
            m["n_train"]
        ));
    }
    s
}

/// Run `heads`.
pub fn run(args: HeadsArgs) -> anyhow::Result<Outcome> {
    let store = match BlockingStore::open(&args.store.url) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("error: opening the store {}: {e:#}", args.store.url);
            return Ok(Outcome::Fatal);
        }
    };
    let s = store.store();
    let actor = super::desk::actor();
    match args.command {
        HeadsCommand::List { axis } => {
            let axes = match axis {
                Some(a) => vec![a],
                None => store.block_on(s.head_axes())?,
            };
            for a in axes {
                outln!("{a}:");
                for h in store.block_on(s.heads(&a))? {
                    outln!("  {}", line(&h));
                }
            }
        }
        HeadsCommand::Show { id } => {
            let Some(h) = store.block_on(s.head(id))? else {
                eprintln!("error: no head {id}");
                return Ok(Outcome::Fatal);
            };
            let parse = |j: &Option<String>| {
                j.as_deref()
                    .and_then(|j| serde_json::from_str::<Value>(j).ok())
            };
            let v = serde_json::json!({
                "id": h.id, "axis": h.axis, "state": h.state, "sha256": h.sha256,
                "created_by": h.created_by, "created_at": h.created_at,
                "promoted_at": h.promoted_at, "retired_at": h.retired_at,
                "comparison": parse(&h.metrics_json),
                "meta": parse(&Some(h.meta_json.clone())),
            });
            outln!("{}", serde_json::to_string_pretty(&v)?);
        }
        HeadsCommand::Promote { id } => match store.block_on(s.promote_head(&actor, id)) {
            Ok(h) => outln!(
                "head {} is in use for {} ({}@{})",
                h.id,
                h.axis,
                h.axis,
                short(&h.sha256)
            ),
            Err(e) => {
                eprintln!("error: {e:#}");
                return Ok(Outcome::Fatal);
            }
        },
        HeadsCommand::Discard { id } => {
            let Some(h) = store.block_on(s.head(id))? else {
                eprintln!("error: no head {id}");
                return Ok(Outcome::Fatal);
            };
            if h.state != HeadState::Candidate {
                eprintln!(
                    "error: head {id} is not a candidate (it is {})",
                    state_name(h.state)
                );
                return Ok(Outcome::Fatal);
            }
            store.block_on(s.retire_head(&actor, id))?;
            outln!("head {id} discarded");
        }
        HeadsCommand::Rollback { axis } => match store.block_on(s.rollback_head(&actor, &axis)) {
            Ok(Some(h)) => outln!("head {} is in use for {axis} again", h.id),
            Ok(None) => outln!("{axis} is back on the shipped head"),
            Err(e) => {
                eprintln!("error: {e:#}");
                return Ok(Outcome::Fatal);
            }
        },
    }
    Ok(Outcome::Ok)
}
