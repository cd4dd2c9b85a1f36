//! Mutation stress for the fuzz targets' properties on stable Rust: one byte-level mutator
//! (flips, inserts, deletions, splices from other inputs, dictionary tokens, repeats, line
//! endings), one loop with a bounded budget, crashers and slow inputs kept for replay. Used by
//! `email.rs` (MIME), `config_files.rs` (operator files) and `http/mutate.rs` (requests).

use crate::email::{to_crlf, to_lf};
use crate::util;

/// The fuzz targets' properties, shared with `fuzz/fuzz_targets/`.
#[path = "../fuzz/check.rs"]
pub(crate) mod fuzz_check;

/// Tokens that steer mutations towards the structures parsers get wrong.
const DICTIONARY: &[&str] = &[
    "\n--",
    "--\n",
    "boundary=\"b\"",
    "Content-Type: multipart/mixed; boundary=\"b\"\n\n--b\n",
    "Content-Type: message/rfc822\n\n",
    "Content-Transfer-Encoding: base64\n",
    "Content-Transfer-Encoding: quoted-printable\n",
    "=?utf-8?B?",
    "=?iso-8859-1?Q?=E9",
    "?=",
    "charset=\"x-unknown\"",
    "charset=utf-16",
    "\r\n",
    "\n\n",
    "<html><body>",
    "<a href=\"",
    "&#x",
    "&eacute;",
    "<script>",
    "<!--",
    "> ",
    "=\n",
    "=3D",
    "On Mon, 1 Jan 2024, A <a@b> wrote:\n",
    "-----Original Message-----\nFrom: a\nSent: b\nTo: c\nSubject: d\n",
    "-- \n",
    "Sent from my iPhone\n",
    "Le lun. 1 janv. 2024, A a écrit :\n",
    "\u{0}",
    "\u{feff}",
    "\t",
    "From x@y Mon Jan  1 10:00:00 2024\n",
    "\u{200b}",
    "é",
    "日本",
];

pub(crate) struct Rng(pub(crate) u64);

impl Rng {
    pub(crate) fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    pub(crate) fn below(&mut self, n: usize) -> usize {
        if n == 0 {
            0
        } else {
            (self.next() % n as u64) as usize
        }
    }
}

pub(crate) fn mutate(rng: &mut Rng, input: &[u8], corpus: &[Vec<u8>]) -> Vec<u8> {
    let mut d = input.to_vec();
    for _ in 0..1 + rng.below(4) {
        let at = rng.below(d.len() + 1);
        match rng.below(9) {
            0 if !d.is_empty() => {
                let i = rng.below(d.len());
                d[i] ^= 1 << rng.below(8);
            }
            1 => {
                let bytes: Vec<u8> = (0..1 + rng.below(16)).map(|_| rng.next() as u8).collect();
                d.splice(at..at, bytes);
            }
            2 => {
                let end = (at + rng.below(256)).min(d.len());
                d.drain(at..end);
            }
            3 => {
                let end = (at + rng.below(512)).min(d.len());
                let chunk = d[at..end].to_vec();
                let to = rng.below(d.len() + 1);
                d.splice(to..to, chunk);
            }
            4 => {
                let other = &corpus[rng.below(corpus.len())];
                let from = rng.below(other.len() + 1);
                let end = (from + rng.below(2048)).min(other.len());
                d.splice(at..at, other[from..end].iter().copied());
            }
            5 => {
                let token = DICTIONARY[rng.below(DICTIONARY.len())].as_bytes();
                d.splice(at..at, token.iter().copied());
            }
            6 => d.truncate(at),
            7 => {
                let end = (at + 1 + rng.below(64)).min(d.len());
                let chunk = d[at.min(end)..end].to_vec();
                let times = 1 + rng.below(2000);
                let mut rep = Vec::with_capacity(chunk.len() * times);
                for _ in 0..times {
                    rep.extend_from_slice(&chunk);
                }
                rep.truncate(1 << 20);
                d.splice(at..at, rep);
            }
            _ => {
                d = if rng.below(2) == 0 {
                    to_crlf(&d)
                } else {
                    to_lf(&d)
                };
            }
        }
    }
    d
}

/// How long a stress run lasts.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Budget {
    /// This many inputs from a fixed seed: every test run sees the same ones.
    Inputs(u64),
    /// This many seconds from a seed taken from the clock (printed, so a failure replays).
    Seconds(u64),
}

impl Budget {
    /// `MAILROOM_STRESS_SECS` if set, else the count in `count_var` if set, else `default`.
    pub(crate) fn from_env(count_var: Option<&str>, default: Budget) -> Budget {
        let var = |name: &str| std::env::var(name).ok().and_then(|s| s.parse().ok());
        if let Some(secs) = var("MAILROOM_STRESS_SECS") {
            return Budget::Seconds(secs);
        }
        match count_var.and_then(var) {
            Some(n) => Budget::Inputs(n),
            None => default,
        }
    }
}

/// Run `check` on inputs from `input` within `budget`. An input that panics, or takes longer
/// than `slow_secs`, is written to `target/stress-crashers/NAME-crash-K` (or `-slow-K`) and
/// fails the test once the run is over. Returns the number of inputs run.
pub(crate) fn stress(
    name: &str,
    budget: Budget,
    slow_secs: f64,
    mut input: impl FnMut(&mut Rng) -> Vec<u8>,
    check: impl Fn(&[u8]) + std::panic::RefUnwindSafe,
) -> u64 {
    let seed = match budget {
        Budget::Inputs(_) => {
            0x2026_1203_u64
                ^ name
                    .bytes()
                    .fold(0u64, |h, b| h.wrapping_mul(31).wrapping_add(b as u64))
        }
        Budget::Seconds(_) => {
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap()
                .as_nanos() as u64
                | 1
        }
    };
    let mut rng = Rng(seed);
    let start = std::time::Instant::now();
    let (mut runs, mut slowest) = (0u64, 0f64);
    let mut bad = Vec::new();
    loop {
        let done = match budget {
            Budget::Inputs(n) => runs >= n,
            Budget::Seconds(s) => start.elapsed().as_secs() >= s,
        };
        if done {
            break;
        }
        let data = input(&mut rng);
        let t = std::time::Instant::now();
        let ok = std::panic::catch_unwind(|| check(&data)).is_ok();
        let took = t.elapsed().as_secs_f64();
        slowest = slowest.max(took);
        runs += 1;
        if !ok || took > slow_secs {
            let out = util::root().join("target/stress-crashers");
            std::fs::create_dir_all(&out).unwrap();
            let kind = if ok { "slow" } else { "crash" };
            let p = out.join(format!("{name}-{kind}-{runs}"));
            std::fs::write(&p, &data).unwrap();
            bad.push(format!("{} ({took:.2} s)", p.display()));
        }
    }
    eprintln!(
        "stress {name}: seed {seed}, {runs} inputs in {:.0} s, slowest {:.1} ms, {} bad",
        start.elapsed().as_secs_f64(),
        slowest * 1e3,
        bad.len()
    );
    assert!(bad.is_empty(), "{}", bad.join("\n"));
    runs
}
