//! Parse + prepare throughput of mailroom on a folder of mail, single-threaded, with the time
//! split by stage. The mailroom side of `benches/compare_parse/run.sh`.
//!
//! ```text
//! cargo run --release --example parse_bench -- ../shared/data/spamassassin [--repeat N]
//! ```
//! Prints one JSON line: messages, errors, bytes, seconds (total, read, parse, prepare).

use std::path::PathBuf;
use std::time::{Duration, Instant};

use mailroom::email::{self, Limits, SourceOptions};
use mailroom::text::{self, PrepareOptions};

fn main() -> anyhow::Result<()> {
    let mut args = std::env::args().skip(1);
    let dir = PathBuf::from(
        args.next()
            .ok_or_else(|| anyhow::anyhow!("usage: parse_bench DIR [--repeat N]"))?,
    );
    let repeat: usize = match (args.next().as_deref(), args.next()) {
        (Some("--repeat"), Some(n)) => n.parse()?,
        _ => 1,
    };
    let limits = Limits::default();
    let opts = PrepareOptions::default();
    let mut best: Option<(usize, usize, usize, [Duration; 4])> = None;
    for _ in 0..repeat.max(1) {
        let (mut n, mut errors, mut bytes) = (0usize, 0usize, 0usize);
        let (mut t_read, mut t_parse, mut t_prep) =
            (Duration::ZERO, Duration::ZERO, Duration::ZERO);
        let start = Instant::now();
        let mut t0 = Instant::now();
        for m in email::read_inputs(std::slice::from_ref(&dir), &SourceOptions { limits }) {
            let t1 = Instant::now();
            t_read += t1 - t0;
            n += 1;
            bytes += m.size();
            let parsed = m.parse(&limits);
            let t2 = Instant::now();
            t_parse += t2 - t1;
            match parsed {
                Ok(e) => {
                    std::hint::black_box(text::prepare(&e, &opts));
                }
                Err(_) => errors += 1,
            }
            t0 = Instant::now();
            t_prep += t0 - t2;
        }
        let total = start.elapsed();
        if best.as_ref().is_none_or(|b| total < b.3[0]) {
            best = Some((n, errors, bytes, [total, t_read, t_parse, t_prep]));
        }
    }
    let (n, errors, bytes, [total, read, parse, prep]) = best.expect("at least one run");
    println!(
        "{{\"messages\": {n}, \"errors\": {errors}, \"bytes\": {bytes}, \"seconds\": {:.6}, \"read_s\": {:.6}, \"parse_s\": {:.6}, \"prepare_s\": {:.6}}}",
        total.as_secs_f64(),
        read.as_secs_f64(),
        parse.as_secs_f64(),
        prep.as_secs_f64()
    );
    Ok(())
}
