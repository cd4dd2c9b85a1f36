//! `mailroom groups --store S`: the groups of near-duplicate messages in a store (campaigns,
//! repeats), largest first: id, size, how many still open, first and last date, and the
//! earliest member (its id and subject). The subject is printed on stdout only, for the
//! operator who asked for this listing; nothing of it is logged.

use clap::{Args, ValueEnum};
use mailroom::store::Group;

use super::ingest::StoreArgs;
use super::Outcome;

/// How to print the groups.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum GroupsFormat {
    /// A table for people.
    Table,
    /// One JSON object per line.
    Json,
}

/// Arguments of `groups`.
#[derive(Debug, Args)]
pub struct GroupsArgs {
    #[command(flatten)]
    store: StoreArgs,
    /// Only groups of at least this many messages.
    #[arg(long, default_value_t = 2, value_parser = clap::value_parser!(i64).range(1..))]
    min_size: i64,
    /// At most this many groups.
    #[arg(long, default_value_t = 100)]
    limit: u32,
    /// Output format.
    #[arg(long, value_enum, default_value_t = GroupsFormat::Table)]
    format: GroupsFormat,
}

/// Run `groups`.
pub fn run(args: GroupsArgs) -> anyhow::Result<Outcome> {
    let store = args.store.open()?;
    let groups = store.block_on(store.store().groups(args.min_size, args.limit))?;
    match args.format {
        GroupsFormat::Json => {
            for g in &groups {
                outln!("{}", serde_json::to_string(g)?);
            }
        }
        GroupsFormat::Table => print_table(&groups),
    }
    eprintln!("{} groups", groups.len());
    Ok(Outcome::Ok)
}

fn day(ms: i64) -> String {
    jiff::Timestamp::from_millisecond(ms)
        .map(|t| t.strftime("%Y-%m-%d %H:%M").to_string())
        .unwrap_or_else(|_| ms.to_string())
}

fn print_table(groups: &[Group]) {
    outln!(
        "{:>7} {:>6} {:>6}  {:<16}  {:<16}  {:>8}  subject of the first",
        "group",
        "size",
        "open",
        "first",
        "last",
        "message"
    );
    for g in groups {
        let subject: String = g
            .subject
            .as_deref()
            .unwrap_or("(no subject)")
            .chars()
            .filter(|c| !c.is_control())
            .take(60)
            .collect();
        outln!(
            "{:>7} {:>6} {:>6}  {:<16}  {:<16}  {:>8}  {}",
            g.id.0,
            g.size,
            g.open,
            day(g.first_ms),
            day(g.last_ms),
            g.first_message.0,
            subject
        );
    }
}
