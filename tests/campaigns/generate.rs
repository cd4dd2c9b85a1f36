//! Campaign mail made at test time from real letters: real messages of
//! `../shared/data/public` (members of the public writing to public bodies) serve as
//! templates, and each template is sent again by many made-up people with the edits people
//! make to a campaign letter: their own name, address and sign-off, another greeting, a
//! sentence of their own added, a sentence left out, other line wrapping, HTML instead of plain
//! text, sometimes a changed subject. Some other messages are sent twice (new headers, the same
//! text). Everything else of the set is mixed in as distinct letters, many of them on the same
//! subject and in the same category as a template (and every MuckRock request shares its
//! boilerplate paragraphs with the others), which is what the grouping must keep apart.
//!
//! Nothing is written to the repository: the mail exists only in memory, made afresh from the
//! shared data on each run, deterministically (fixed seed).

use std::path::Path;

use mailroom::pipeline::{Content, Limits, Message, Provenance, SourceKind};

/// One message of the mix, with its truth.
pub struct Generated {
    /// The raw message (CRLF line ends).
    pub raw: Vec<u8>,
    /// The true group: the template's (or repeated message's) name; `None` for a distinct
    /// letter.
    pub truth: Option<String>,
    /// How it was made, for the report (`original`, `copy`, `repeat`, `distinct`).
    pub kind: &'static str,
    /// The category of the letter it came from.
    pub category: String,
}

/// A small deterministic generator (SplitMix64).
pub struct Rng(u64);

impl Rng {
    /// Seeded.
    pub fn new(seed: u64) -> Rng {
        Rng(seed)
    }

    /// The next 64 bits.
    pub fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// A number below `n`.
    pub fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }

    /// True with probability `p`.
    pub fn chance(&mut self, p: f64) -> bool {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64 <= p
    }

    /// One of `items`.
    pub fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len())]
    }

    /// Shuffle in place.
    pub fn shuffle<T>(&mut self, v: &mut [T]) {
        for i in (1..v.len()).rev() {
            v.swap(i, self.below(i + 1));
        }
    }
}

const FIRST: &[&str] = &[
    "Anna", "Tom", "Priya", "James", "Fatima", "Oliver", "Chloe", "Mohammed", "Grace", "Daniel",
    "Aisha", "Liam", "Sophie", "Kwame", "Emily", "Jack", "Mei", "Samuel", "Zoe", "Ravi", "Hannah",
    "Lucas", "Isla", "Omar",
];
const LAST: &[&str] = &[
    "Berg", "O'Neill", "Patel", "Smith", "Khan", "Jones", "Nowak", "Okafor", "Williams", "Brown",
    "Garcia", "Taylor", "Chen", "Evans", "Murphy", "Davies", "Rossi", "Ahmed", "Clarke", "Wilson",
];
const STREETS: &[&str] = &[
    "Oak Road",
    "Station Street",
    "Mill Lane",
    "Church Close",
    "Victoria Avenue",
    "Hill View",
    "Park Terrace",
    "Fern Lane",
];
const DOMAINS: &[&str] = &[
    "example.org",
    "mail.example",
    "post.example.net",
    "example.com",
];
const GREETINGS: &[&str] = &[
    "Dear Sir or Madam,",
    "Dear Councillor,",
    "Hello,",
    "To whom it may concern,",
    "Hi,",
    "Dear team,",
    "Good morning,",
];
const SIGN_OFFS: &[&str] = &[
    "Yours sincerely,",
    "Regards,",
    "Kind regards,",
    "Thanks,",
    "Best wishes,",
    "Many thanks,",
];
/// Sentences people add of their own to a campaign letter.
const OWN: &[&str] = &[
    "I have lived here for over twenty years and have never seen it this bad.",
    "This affects my family directly and I would appreciate a quick answer.",
    "My elderly neighbour has asked me to write on her behalf as well.",
    "I raised this once before and heard nothing back.",
    "Please treat this as a matter of some importance.",
    "I would be grateful for a reply by email.",
    "Many people in my street feel the same way.",
    "I am happy to provide more details if that helps.",
    "This has gone on for far too long now.",
    "I hope you will take this seriously.",
];

/// A public message: its file name, source, category, subject and body text.
pub struct Letter {
    pub name: String,
    pub source: String,
    pub category: String,
    pub subject: String,
    pub body: String,
    pub raw: Vec<u8>,
}

/// Read every message of `public/` with its labels.
pub fn read_public(dir: &Path) -> Vec<Letter> {
    let labels = std::fs::read_to_string(dir.join("labels.csv")).expect("labels.csv");
    let mut out = Vec::new();
    for line in labels.lines().skip(1) {
        let cols: Vec<&str> = line.split(',').collect();
        let (name, category, source) = (cols[0], cols[1], cols[3]);
        let raw = std::fs::read(dir.join(name)).expect("a public message");
        let m = Message {
            id: name.to_string(),
            provenance: Provenance {
                path: name.to_string(),
                kind: SourceKind::Eml,
                index: None,
                offset: None,
            },
            content: Ok(Content::Raw(raw.clone())),
        };
        let Ok(email) = m.parse(&Limits::default()) else {
            continue;
        };
        out.push(Letter {
            name: name.to_string(),
            source: source.to_string(),
            category: category.to_string(),
            subject: email.subject.unwrap_or_default(),
            body: email.body,
            raw,
        });
    }
    out
}

fn words(s: &str) -> usize {
    s.split_whitespace().count()
}

/// Cut a text into sentences (after `.`, `!` or `?` followed by white space).
fn sentences(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let chars: Vec<char> = text.chars().collect();
    for (i, c) in chars.iter().enumerate() {
        cur.push(*c);
        let end =
            matches!(c, '.' | '!' | '?') && chars.get(i + 1).is_none_or(|n| n.is_whitespace());
        if end {
            out.push(cur.trim().to_string());
            cur.clear();
        }
    }
    if !cur.trim().is_empty() {
        out.push(cur.trim().to_string());
    }
    out
}

/// A made-up sender.
struct Person {
    name: String,
    address: String,
    street: String,
}

fn person(rng: &mut Rng) -> Person {
    let (f, l) = (*rng.pick(FIRST), *rng.pick(LAST));
    let n = rng.below(100);
    let local = format!(
        "{}.{}{n}",
        f.to_lowercase(),
        l.to_lowercase().replace('\'', "")
    );
    Person {
        name: format!("{f} {l}"),
        address: format!("{local}@{}", rng.pick(DOMAINS)),
        street: format!("{} {}", 1 + rng.below(120), rng.pick(STREETS)),
    }
}

/// The template's paragraphs without its greeting and sign-off (short paragraphs at the start
/// ending in `,` or `:`, and short paragraphs at the end).
fn core_paragraphs(body: &str) -> Vec<String> {
    let mut paras: Vec<String> = body
        .split("\n\n")
        .map(|p| p.split_whitespace().collect::<Vec<_>>().join(" "))
        .filter(|p| !p.is_empty())
        .collect();
    if paras
        .first()
        .is_some_and(|p| words(p) <= 6 && (p.ends_with(',') || p.ends_with(':')))
    {
        paras.remove(0);
    }
    while paras.len() > 1 && paras.last().is_some_and(|p| words(p) <= 5) {
        paras.pop();
    }
    paras
}

fn wrap(p: &str, width: usize) -> String {
    let mut out = String::new();
    let mut line = 0;
    for w in p.split_whitespace() {
        if line > 0 && line + 1 + w.len() > width {
            out.push('\n');
            line = 0;
        } else if line > 0 {
            out.push(' ');
            line += 1;
        }
        out.push_str(w);
        line += w.len();
    }
    out
}

fn html_escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

/// One campaign copy of a template, by a made-up person, with realistic edits.
pub fn campaign_copy(t: &Letter, rng: &mut Rng, n: usize) -> Vec<u8> {
    let p = person(rng);
    let mut paras = core_paragraphs(&t.body);
    // A sentence left out (of a letter long enough to miss one).
    let all: usize = paras.iter().map(|p| sentences(p).len()).sum();
    if all >= 5 && rng.chance(0.3) {
        let drop = rng.below(all);
        let mut i = 0;
        for para in paras.iter_mut() {
            let mut s = sentences(para);
            if drop < i + s.len() {
                s.remove(drop - i);
                *para = s.join(" ");
                break;
            }
            i += s.len();
        }
        paras.retain(|p| !p.is_empty());
    }
    // A sentence of their own, at the start, the end or in between.
    if rng.chance(0.4) {
        let own = rng.pick(OWN).to_string();
        let at = rng.below(paras.len() + 1);
        paras.insert(at, own);
    }
    let mut parts: Vec<String> = Vec::new();
    if rng.chance(0.8) {
        parts.push(rng.pick(GREETINGS).to_string());
    }
    parts.extend(paras);
    let mut sign = vec![rng.pick(SIGN_OFFS).to_string(), p.name.clone()];
    if rng.chance(0.5) {
        sign.push(p.street.clone());
    }
    parts.push(sign.join("\n"));
    let html = rng.chance(0.3);
    let width = if rng.chance(0.5) {
        Some(60 + rng.below(17))
    } else {
        None
    };
    let body = if html {
        let ps: Vec<String> = parts
            .iter()
            .map(|x| format!("<p>{}</p>", html_escape(x).replace('\n', "<br>\n")))
            .collect();
        format!("<html><body>\n{}\n</body></html>", ps.join("\n"))
    } else {
        parts
            .iter()
            .map(|x| match width {
                Some(w) => x.lines().map(|l| wrap(l, w)).collect::<Vec<_>>().join("\n"),
                None => x.clone(),
            })
            .collect::<Vec<_>>()
            .join("\n\n")
    };
    let subject = match rng.below(10) {
        0 => format!("Re: {}", t.subject),
        1 => format!("{} - please read", t.subject),
        _ => t.subject.clone(),
    };
    eml(&p.name, &p.address, &subject, &body, html, n, rng)
}

/// The same text as `letter` again, with new headers (a message sent twice).
pub fn repeat(letter: &Letter, rng: &mut Rng, n: usize) -> Vec<u8> {
    let p = person(rng);
    eml(
        &p.name,
        &p.address,
        &letter.subject,
        &letter.body,
        false,
        n,
        rng,
    )
}

fn eml(
    name: &str,
    address: &str,
    subject: &str,
    body: &str,
    html: bool,
    n: usize,
    rng: &mut Rng,
) -> Vec<u8> {
    let day = 1 + rng.below(28);
    let (h, m) = (8 + rng.below(10), rng.below(60));
    let kind = if html { "text/html" } else { "text/plain" };
    let text = format!(
        "From: {name} <{address}>\nTo: correspondence@department.example\n\
         Subject: {subject}\nDate: Mon, {day:02} Nov 2026 {h:02}:{m:02}:00 +0000\n\
         Message-ID: <campaign-{n}@made.example>\nMIME-Version: 1.0\n\
         Content-Type: {kind}; charset=utf-8\nContent-Transfer-Encoding: 8bit\n\n{body}\n"
    );
    text.replace("\r\n", "\n")
        .replace('\n', "\r\n")
        .into_bytes()
}

/// The mix: `templates` letters (long enough, from every source) each sent by many people, a
/// few others sent twice, and the rest of the set once, shuffled.
pub fn mix(letters: &[Letter], templates: usize, seed: u64) -> Vec<Generated> {
    let mut rng = Rng::new(seed);
    let mut eligible: Vec<&Letter> = letters.iter().filter(|l| words(&l.body) >= 50).collect();
    rng.shuffle(&mut eligible);
    // Spread over the sources: take in turn from each.
    let mut by_source: std::collections::BTreeMap<&str, Vec<&Letter>> = Default::default();
    for l in &eligible {
        by_source.entry(l.source.as_str()).or_default().push(l);
    }
    let mut chosen: Vec<&Letter> = Vec::new();
    while chosen.len() < templates && by_source.values().any(|v| !v.is_empty()) {
        for v in by_source.values_mut() {
            if chosen.len() < templates {
                if let Some(l) = v.pop() {
                    chosen.push(l);
                }
            }
        }
    }
    let mut out = Vec::new();
    let mut n = 0;
    for t in &chosen {
        out.push(Generated {
            raw: t.raw.clone(),
            truth: Some(t.name.clone()),
            kind: "original",
            category: t.category.clone(),
        });
        // Campaign sizes from a handful to dozens.
        let copies = *rng.pick(&[3usize, 5, 8, 12, 20, 30, 45]);
        for _ in 0..copies {
            n += 1;
            out.push(Generated {
                raw: campaign_copy(t, &mut rng, n),
                truth: Some(t.name.clone()),
                kind: "copy",
                category: t.category.clone(),
            });
        }
    }
    let rest: Vec<&Letter> = letters
        .iter()
        .filter(|l| !chosen.iter().any(|c| c.name == l.name))
        .collect();
    for (i, l) in rest.iter().enumerate() {
        let twice = i % 25 == 0 && words(&l.body) >= 5;
        out.push(Generated {
            raw: l.raw.clone(),
            truth: twice.then(|| l.name.clone()),
            kind: if twice { "original" } else { "distinct" },
            category: l.category.clone(),
        });
        if twice {
            n += 1;
            out.push(Generated {
                raw: repeat(l, &mut rng, n),
                truth: Some(l.name.clone()),
                kind: "repeat",
                category: l.category.clone(),
            });
        }
    }
    rng.shuffle(&mut out);
    out
}
