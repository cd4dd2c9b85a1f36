//! Features of a message for trained heads: hashed word and character n-gram TF-IDF, the
//! chunk-pooled encoder embedding, structure features (content signals: links, attachments,
//! case, money) and shape features (length, and the body's shape as a conversation), both
//! computed from the decoded message.
//!
//! Structure and shape are separate groups because they travel differently: on the dev mail,
//! a junk head with shape features flags 3.9 % of Enron business mail as junk (short replies
//! such as "Looks good." read as phishing, whose dev examples are often a line and a link),
//! and 0.18 % without them; the Enron genres need them (two genres are defined by an empty
//! body).
//!
//! Structure features come from the parsed message (body, subject, attachments), never from raw
//! headers: on the development mail raw headers learn the year a message was sent, not its intent
//! (see issue 4). Header flags (bulk, auto-reply) are a separate group that a head must ask for.
//!
//! Hashing is FNV-1a 64 with a per-kind namespace byte: stable across builds and platforms, so a
//! head file written today reads the same features tomorrow. The hashed space is reduced to a
//! vocabulary (the hashes seen in at least `min_df` training messages), stored in the head with
//! each term's IDF; unseen hashes are dropped at prediction time, as a fitted vocabulary would.

use std::collections::HashMap;

use serde::{Deserialize, Serialize};

use super::Document;

/// A sparse feature vector: `(index, value)` pairs sorted by index, no duplicates.
pub type SparseVec = Vec<(u32, f32)>;

/// Which feature groups a head uses and how they are weighted.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct FeatureSpec {
    /// Hashed word unigrams and bigrams (TF-IDF).
    pub words: bool,
    /// Hashed character 3- to 5-grams within word boundaries (TF-IDF).
    pub chars: bool,
    /// The encoder embedding of the whole prepared message, pooled over chunks.
    pub embedding: bool,
    /// Structure features of the decoded message (links, attachments, case, money, ...).
    pub structure: bool,
    /// Shape features: length, words of the sender's own above a forward or quote, forwarded,
    /// quoted, `Re:`/`Fwd:` subject.
    pub shape: bool,
    /// Header flags (bulk mail, auto-reply). Off by default: they learn the era of the mail.
    pub header_flags: bool,
    /// Voice cues: first-, second-person and first-person-plural shares, calls to action
    /// ([`super::cues::voice`]). Off unless named (older heads have none).
    pub voice: bool,
    /// Urgency keyword families ([`super::cues::urgency`]). Off unless named.
    pub urgency: bool,
    /// Bits of the hash space per n-gram kind.
    pub hash_bits: u32,
    /// Minimum number of training messages a hashed term must appear in to enter the vocabulary.
    pub min_df: u32,
    /// Weight of the word group (each group is L2-normalised, then scaled).
    pub word_weight: f32,
    /// Weight of the character group.
    pub char_weight: f32,
    /// Weight of the embedding group.
    pub embedding_weight: f32,
    /// Weight of the structure and shape groups.
    pub structure_weight: f32,
    /// Characters of text read per message for n-grams (head and tail kept beyond it).
    pub max_chars: usize,
}

impl Default for FeatureSpec {
    fn default() -> Self {
        FeatureSpec {
            words: true,
            chars: true,
            embedding: true,
            structure: true,
            shape: true,
            header_flags: false,
            voice: false,
            urgency: false,
            hash_bits: 20,
            min_df: 2,
            word_weight: 1.0,
            char_weight: 1.0,
            embedding_weight: 1.0,
            structure_weight: 1.0,
            max_chars: 20_000,
        }
    }
}

impl FeatureSpec {
    /// A plain TF-IDF baseline: word unigrams and bigrams only.
    pub fn tfidf_words() -> Self {
        FeatureSpec {
            chars: false,
            embedding: false,
            structure: false,
            shape: false,
            ..Self::default()
        }
    }

    /// Parse a comma-separated list of groups
    /// (`words,chars,embedding,structure,shape,headers,voice,urgency`).
    pub fn from_groups(list: &str) -> Result<Self, String> {
        let mut spec = FeatureSpec {
            words: false,
            chars: false,
            embedding: false,
            structure: false,
            shape: false,
            header_flags: false,
            voice: false,
            urgency: false,
            ..Self::default()
        };
        for g in list.split(',').map(str::trim).filter(|g| !g.is_empty()) {
            match g {
                "words" => spec.words = true,
                "chars" => spec.chars = true,
                "embedding" => spec.embedding = true,
                "structure" => spec.structure = true,
                "shape" => spec.shape = true,
                "headers" => spec.header_flags = true,
                "voice" => spec.voice = true,
                "urgency" => spec.urgency = true,
                other => {
                    return Err(format!(
                        "unknown feature group {other:?} \
                         (words, chars, embedding, structure, shape, headers, voice, urgency)"
                    ))
                }
            }
        }
        if spec.groups().is_empty() {
            return Err("no feature group chosen".into());
        }
        Ok(spec)
    }

    /// The groups in use, comma-separated (the inverse of [`FeatureSpec::from_groups`]).
    pub fn groups(&self) -> String {
        let mut v = Vec::new();
        for (on, name) in [
            (self.words, "words"),
            (self.chars, "chars"),
            (self.embedding, "embedding"),
            (self.structure, "structure"),
            (self.shape, "shape"),
            (self.header_flags, "headers"),
            (self.voice, "voice"),
            (self.urgency, "urgency"),
        ] {
            if on {
                v.push(name);
            }
        }
        v.join(",")
    }
}

/// Names of the structure features, in order.
pub const STRUCTURE_NAMES: &[&str] = &[
    "log_links",
    "links_per_100_words",
    "log_attachments",
    "mentions_attachment_without_one",
    "html_only",
    "uppercase_ratio",
    "non_ascii_ratio",
    "log_exclamations",
    "money_symbols",
    "subject_uppercase_ratio",
];

/// Names of the shape features, in order.
pub const SHAPE_NAMES: &[&str] = &[
    "log_body_chars",
    "empty_body",
    "short_body",
    "subject_empty",
    "log_words",
    "no_own_text",
    "log_own_words",
    "own_text_under_10_words",
    "forwarded",
    "quoted",
    "subject_reply",
    "subject_forward",
    "subject_names_a_file",
    "forward_without_note",
];

/// Names of the header-flag features, in order.
pub const HEADER_FLAG_NAMES: &[&str] = &["bulk", "auto_reply"];

/// Hashed terms of one message before the vocabulary: `(hash index, raw count)` per group.
#[derive(Debug, Clone, Default)]
pub struct Terms {
    /// Word uni/bigram hashes with counts.
    pub words: Vec<(u32, f32)>,
    /// Character n-gram hashes with counts.
    pub chars: Vec<(u32, f32)>,
}

fn fnv1a(ns: u8, parts: &[&[u8]]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    let mut eat = |b: u8| {
        h ^= b as u64;
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    };
    eat(ns);
    for (i, p) in parts.iter().enumerate() {
        if i > 0 {
            eat(0x1f);
        }
        for &b in *p {
            eat(b);
        }
    }
    h
}

/// Normalise text for n-grams: lowercase, digits folded to `0`, links and addresses replaced by
/// placeholder words. Keeps at most `max_chars` characters (head and tail).
pub fn normalise(text: &str, max_chars: usize) -> String {
    let text = head_tail(text, max_chars);
    let mut out = String::with_capacity(text.len());
    for word in text.split_whitespace() {
        if !out.is_empty() {
            out.push(' ');
        }
        let lower = word.to_lowercase();
        if lower.starts_with("http://")
            || lower.starts_with("https://")
            || lower.starts_with("www.")
        {
            out.push_str("xxlink");
            continue;
        }
        if lower.contains('@') && lower.contains('.') && lower.len() > 5 {
            out.push_str("xxaddress");
            continue;
        }
        for c in lower.chars() {
            out.push(if c.is_ascii_digit() { '0' } else { c });
        }
    }
    out
}

fn head_tail(text: &str, max_chars: usize) -> std::borrow::Cow<'_, str> {
    let n = text.chars().count();
    if n <= max_chars {
        return text.into();
    }
    let head: String = text.chars().take(max_chars * 3 / 4).collect();
    let tail: String = text.chars().skip(n - max_chars / 4).collect();
    format!("{head}\n{tail}").into()
}

fn words_of(norm: &str) -> Vec<&str> {
    norm.split(|c: char| !c.is_alphanumeric() && c != '\'')
        .map(|w| w.trim_matches('\''))
        .filter(|w| !w.is_empty() && w.chars().count() <= 40)
        .collect()
}

fn accumulate(map: &mut HashMap<u32, f32>, h: u64, mask: u64) {
    *map.entry((h & mask) as u32).or_insert(0.0) += 1.0;
}

fn sorted(map: HashMap<u32, f32>) -> Vec<(u32, f32)> {
    let mut v: Vec<(u32, f32)> = map.into_iter().collect();
    v.sort_unstable_by_key(|p| p.0);
    v
}

/// Hash the n-grams of a message (subject words count twice: once plain, once as subject words).
pub fn terms(doc: &Document, spec: &FeatureSpec) -> Terms {
    let mask = (1u64 << spec.hash_bits.clamp(8, 30)) - 1;
    let subject = normalise(&doc.subject, 1_000);
    let body = normalise(&doc.body, spec.max_chars);
    let mut out = Terms::default();
    if spec.words {
        let mut m = HashMap::new();
        for (ns, text) in [(1u8, &body), (3u8, &subject)] {
            let ws = words_of(text);
            for w in &ws {
                accumulate(&mut m, fnv1a(ns, &[w.as_bytes()]), mask);
            }
            for pair in ws.windows(2) {
                accumulate(
                    &mut m,
                    fnv1a(ns + 1, &[pair[0].as_bytes(), pair[1].as_bytes()]),
                    mask,
                );
            }
        }
        // The subject words also count as plain words.
        for w in words_of(&subject) {
            accumulate(&mut m, fnv1a(1, &[w.as_bytes()]), mask);
        }
        out.words = sorted(m);
    }
    if spec.chars {
        let mut m = HashMap::new();
        let mut buf: Vec<char> = Vec::with_capacity(48);
        for text in [&subject, &body] {
            for w in words_of(text) {
                buf.clear();
                buf.push(' ');
                buf.extend(w.chars());
                buf.push(' ');
                let mut s = [0u8; 4 * 5];
                for n in 3..=5usize {
                    if buf.len() < n {
                        break;
                    }
                    for win in buf.windows(n) {
                        let mut len = 0;
                        for c in win {
                            len += c.encode_utf8(&mut s[len..]).len();
                        }
                        accumulate(&mut m, fnv1a(5, &[&s[..len]]), mask);
                    }
                }
            }
        }
        out.chars = sorted(m);
    }
    out
}

/// The structure features of a message, in the order of [`STRUCTURE_NAMES`].
pub fn structure(doc: &Document) -> Vec<f32> {
    pick(&signals(doc), STRUCTURE_NAMES)
}

/// The shape features of a message, in the order of [`SHAPE_NAMES`].
pub fn shape(doc: &Document) -> Vec<f32> {
    pick(&signals(doc), SHAPE_NAMES)
}

/// The values of `names`, in order, from all of a message's signals.
fn pick(all: &HashMap<&'static str, f32>, names: &[&str]) -> Vec<f32> {
    names.iter().map(|n| all[n]).collect()
}

/// Every structure and shape feature by name.
fn signals(doc: &Document) -> HashMap<&'static str, f32> {
    let body = doc.body.trim();
    let chars = body.chars().count() as f32;
    let words = body.split_whitespace().count() as f32;
    let links = body
        .split_whitespace()
        .filter(|w| {
            let l = w.to_ascii_lowercase();
            l.contains("http://") || l.contains("https://") || l.starts_with("www.")
        })
        .count() as f32;
    let letters = body.chars().filter(|c| c.is_alphabetic()).count().max(1) as f32;
    let upper = body.chars().filter(|c| c.is_uppercase()).count() as f32;
    let non_ascii = body.chars().filter(|c| !c.is_ascii()).count() as f32;
    let excl = body.matches('!').count() as f32;
    let money = body
        .chars()
        .filter(|c| matches!(c, '$' | '£' | '€'))
        .count() as f32;
    let lower_body = body.to_lowercase();
    let mentions_attachment = ["attach", "enclosed", "see the file"]
        .iter()
        .any(|k| lower_body.contains(k));
    let subj = doc.subject.trim();
    let subj_letters = subj.chars().filter(|c| c.is_alphabetic()).count().max(1) as f32;
    let subj_upper = subj.chars().filter(|c| c.is_uppercase()).count() as f32;
    let subj_lower = subj.to_lowercase();
    let subject_reply = subj_lower.starts_with("re:") || subj_lower.starts_with("re :");
    let subject_forward = crate::text::is_forward_subject(subj);
    let names_file = [
        ".doc",
        ".xls",
        ".ppt",
        ".pdf",
        ".zip",
        "attached",
        "attachment",
    ]
    .iter()
    .any(|k| subj_lower.contains(k));
    let own = doc.own_words as f32;
    let ln = |x: f32| (1.0 + x).ln();
    HashMap::from([
        ("log_body_chars", ln(chars) / 10.0),
        ("empty_body", f32::from(words < 3.0)),
        ("short_body", f32::from(words < 30.0)),
        ("log_links", ln(links) / 3.0),
        (
            "links_per_100_words",
            (100.0 * links / words.max(1.0)).min(20.0) / 20.0,
        ),
        ("log_attachments", ln(doc.attachments as f32) / 2.0),
        (
            "mentions_attachment_without_one",
            f32::from(mentions_attachment && doc.attachments == 0),
        ),
        ("html_only", f32::from(doc.html_only)),
        ("uppercase_ratio", upper / letters),
        ("non_ascii_ratio", non_ascii / chars.max(1.0)),
        ("log_exclamations", ln(excl) / 3.0),
        ("money_symbols", (ln(money) / 3.0).min(1.0)),
        ("subject_empty", f32::from(subj.is_empty())),
        ("subject_uppercase_ratio", subj_upper / subj_letters),
        ("log_words", ln(words) / 8.0),
        ("no_own_text", f32::from(doc.own_words < 3)),
        ("log_own_words", ln(own) / 6.0),
        ("own_text_under_10_words", f32::from(doc.own_words < 10)),
        ("forwarded", f32::from(doc.forwarded || subject_forward)),
        ("quoted", f32::from(doc.quoted)),
        ("subject_reply", f32::from(subject_reply)),
        ("subject_forward", f32::from(subject_forward)),
        ("subject_names_a_file", f32::from(names_file)),
        (
            "forward_without_note",
            f32::from(doc.own_words < 3 && (doc.forwarded || subject_forward)),
        ),
    ])
}

/// The header-flag features of a message, in the order of [`HEADER_FLAG_NAMES`].
pub fn header_flags(doc: &Document) -> Vec<f32> {
    vec![f32::from(doc.bulk), f32::from(doc.auto_reply)]
}

/// A fitted vocabulary of hashed terms with their inverse document frequencies.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Vocab {
    /// Hash indices in the vocabulary, sorted.
    pub hashes: Vec<u32>,
    /// IDF of each hash in `hashes`.
    pub idf: Vec<f32>,
}

impl Vocab {
    /// Fit from the term lists of the training messages.
    pub fn fit<'a>(docs: impl Iterator<Item = &'a [(u32, f32)]>, min_df: u32) -> Vocab {
        let mut df: HashMap<u32, u32> = HashMap::new();
        let mut n = 0u32;
        for terms in docs {
            n += 1;
            for &(h, _) in terms {
                *df.entry(h).or_insert(0) += 1;
            }
        }
        let mut kept: Vec<(u32, u32)> = df.into_iter().filter(|&(_, c)| c >= min_df).collect();
        kept.sort_unstable_by_key(|p| p.0);
        let nf = n as f32;
        Vocab {
            hashes: kept.iter().map(|p| p.0).collect(),
            idf: kept
                .iter()
                .map(|&(_, c)| ((1.0 + nf) / (1.0 + c as f32)).ln() + 1.0)
                .collect(),
        }
    }

    /// Number of terms.
    pub fn len(&self) -> usize {
        self.hashes.len()
    }

    /// Whether the vocabulary is empty.
    pub fn is_empty(&self) -> bool {
        self.hashes.is_empty()
    }

    /// Sublinear TF-IDF of `terms` over this vocabulary, L2-normalised and scaled by `weight`,
    /// with indices offset by `offset`. Appends to `out`.
    fn transform(&self, terms: &[(u32, f32)], offset: u32, weight: f32, out: &mut SparseVec) {
        let start = out.len();
        let mut norm = 0.0f32;
        for &(h, c) in terms {
            if let Ok(i) = self.hashes.binary_search(&h) {
                let v = (1.0 + c.ln()) * self.idf[i];
                norm += v * v;
                out.push((offset + i as u32, v));
            }
        }
        if norm > 0.0 {
            let s = weight / norm.sqrt();
            for p in &mut out[start..] {
                p.1 *= s;
            }
        }
    }
}

/// Turns a message (and its embedding) into a sparse feature vector for a head.
#[derive(Debug, Clone, PartialEq)]
pub struct Featurizer {
    /// Which groups and weights.
    pub spec: FeatureSpec,
    /// Word vocabulary (empty when words are off).
    pub words: Vocab,
    /// Character vocabulary (empty when chars are off).
    pub chars: Vocab,
    /// Width of the embedding (0 when embeddings are off).
    pub embedding_dim: usize,
}

impl Featurizer {
    /// Fit the vocabularies on training messages' terms.
    pub fn fit(spec: FeatureSpec, terms: &[Terms], embedding_dim: usize) -> Featurizer {
        let words = if spec.words {
            Vocab::fit(terms.iter().map(|t| t.words.as_slice()), spec.min_df)
        } else {
            Vocab::default()
        };
        let chars = if spec.chars {
            Vocab::fit(terms.iter().map(|t| t.chars.as_slice()), spec.min_df)
        } else {
            Vocab::default()
        };
        let embedding_dim = if spec.embedding { embedding_dim } else { 0 };
        Featurizer {
            spec,
            words,
            chars,
            embedding_dim,
        }
    }

    /// Total width of the feature vector.
    pub fn dim(&self) -> usize {
        self.words.len()
            + self.chars.len()
            + self.embedding_dim
            + if self.spec.structure {
                STRUCTURE_NAMES.len()
            } else {
                0
            }
            + if self.spec.shape {
                SHAPE_NAMES.len()
            } else {
                0
            }
            + if self.spec.header_flags {
                HEADER_FLAG_NAMES.len()
            } else {
                0
            }
            + if self.spec.voice {
                super::cues::VOICE_NAMES.len()
            } else {
                0
            }
            + if self.spec.urgency {
                super::cues::URGENCY_NAMES.len()
            } else {
                0
            }
    }

    /// The feature vector of one message. `embedding` is required when the spec uses embeddings
    /// (a missing one counts as zeros).
    pub fn transform(&self, doc: &Document, terms: &Terms, embedding: Option<&[f32]>) -> SparseVec {
        let mut out = SparseVec::new();
        let mut offset = 0u32;
        self.words
            .transform(&terms.words, offset, self.spec.word_weight, &mut out);
        offset += self.words.len() as u32;
        self.chars
            .transform(&terms.chars, offset, self.spec.char_weight, &mut out);
        offset += self.chars.len() as u32;
        if self.embedding_dim > 0 {
            if let Some(e) = embedding {
                for (i, &v) in e.iter().take(self.embedding_dim).enumerate() {
                    out.push((offset + i as u32, v * self.spec.embedding_weight));
                }
            }
            offset += self.embedding_dim as u32;
        }
        // Structure and shape read the same signals: computed once per message.
        let all = (self.spec.structure || self.spec.shape).then(|| signals(doc));
        let weight = self.spec.structure_weight;
        let groups = [
            all.as_ref()
                .filter(|_| self.spec.structure)
                .map(|a| pick(a, STRUCTURE_NAMES)),
            all.as_ref()
                .filter(|_| self.spec.shape)
                .map(|a| pick(a, SHAPE_NAMES)),
            self.spec.header_flags.then(|| header_flags(doc)),
            self.spec
                .voice
                .then(|| super::cues::voice(&doc.subject, &doc.body)),
            self.spec
                .urgency
                .then(|| super::cues::urgency(&doc.subject, &doc.body)),
        ];
        for values in groups.into_iter().flatten() {
            for (i, v) in values.iter().enumerate() {
                if *v != 0.0 {
                    out.push((offset + i as u32, v * weight));
                }
            }
            offset += values.len() as u32;
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn doc(subject: &str, body: &str) -> Document {
        Document {
            subject: subject.into(),
            body: body.into(),
            ..Document::default()
        }
    }

    #[test]
    fn normalise_folds_digits_links_and_case() {
        let n = normalise(
            "Call 555-1234 NOW at https://x.example/a or bob@example.org",
            100,
        );
        assert_eq!(n, "call 000-0000 now at xxlink or xxaddress");
    }

    #[test]
    fn hashing_is_stable() {
        // A fixed value: changing the hash would silently break every saved head.
        assert_eq!(fnv1a(1, &[b"refund"]), 0x04a1_eb70_5805_5286);
        let a = terms(&doc("Refund", "please refund me"), &FeatureSpec::default());
        let b = terms(&doc("Refund", "please refund me"), &FeatureSpec::default());
        assert_eq!(a.words, b.words);
        assert_eq!(a.chars, b.chars);
        assert!(a.words.windows(2).all(|w| w[0].0 < w[1].0));
    }

    #[test]
    fn vocab_and_tfidf_are_normalised() {
        let spec = FeatureSpec {
            min_df: 1,
            embedding: false,
            structure: false,
            shape: false,
            ..FeatureSpec::default()
        };
        let docs = [
            doc("a", "pay the invoice now"),
            doc("b", "meeting on friday"),
        ];
        let t: Vec<Terms> = docs.iter().map(|d| terms(d, &spec)).collect();
        let f = Featurizer::fit(spec, &t, 0);
        assert!(f.dim() > 10);
        let x = f.transform(&docs[0], &t[0], None);
        let words_norm: f32 = x
            .iter()
            .filter(|p| (p.0 as usize) < f.words.len())
            .map(|p| p.1 * p.1)
            .sum();
        assert!((words_norm - 1.0).abs() < 1e-4);
        assert!(x.windows(2).all(|w| w[0].0 < w[1].0));
        // Unseen terms are dropped.
        let unseen = doc("zzz", "qqq");
        let xu = f.transform(&unseen, &terms(&unseen, &f.spec), None);
        assert!(xu.is_empty());
    }

    #[test]
    fn structure_notices_empty_body_and_missing_attachment() {
        let s = shape(&doc("", ""));
        assert_eq!(s.len(), SHAPE_NAMES.len());
        assert_eq!(s[1], 1.0, "empty_body");
        let s = structure(&doc("Report", "Please see the attached report."));
        assert_eq!(s.len(), STRUCTURE_NAMES.len());
        assert_eq!(s[3], 1.0, "mentions_attachment_without_one");
        let s = structure(&doc("Win", "Claim now!!! https://x.example/a"));
        assert!(s[0] > 0.0 && s[7] > 0.0, "links and exclamations: {s:?}");
    }

    #[test]
    fn a_forward_without_a_note_has_no_own_text() {
        let fwd = "-----Original Message-----\nFrom: x\nSubject: news\n\nLong forwarded text here";
        assert_eq!(crate::classify::own_words(fwd), 0);
        assert_eq!(crate::classify::own_words("FYI see below\n> quoted\n"), 3);
        let d = Document::new("Fwd: news", fwd);
        let at = |name: &str| SHAPE_NAMES.iter().position(|n| *n == name).unwrap();
        let s = shape(&d);
        assert_eq!(s.len(), SHAPE_NAMES.len());
        assert_eq!(s[at("no_own_text")], 1.0);
        assert_eq!(s[at("forward_without_note")], 1.0);
        assert_eq!(s[at("subject_forward")], 1.0);
        let note = Document::new("Re: budget", "Yes, Thursday is fine.\n> Can we meet?");
        let s = shape(&note);
        assert_eq!(s[at("forward_without_note")], 0.0);
        assert_eq!(s[at("quoted")], 1.0);
        assert_eq!(s[at("subject_reply")], 1.0);
    }

    #[test]
    fn groups_round_trip() {
        let s = FeatureSpec::from_groups("words,embedding").unwrap();
        assert_eq!(s.groups(), "words,embedding");
        let s = FeatureSpec::from_groups("voice,urgency").unwrap();
        assert_eq!(s.groups(), "voice,urgency");
        let f = Featurizer::fit(s, &[], 0);
        assert_eq!(f.dim(), 19);
        let d = doc(
            "Help",
            "Dear customer, click here to verify your account by Friday.",
        );
        let x = f.transform(&d, &Terms::default(), None);
        assert!(x.iter().all(|&(i, _)| (i as usize) < f.dim()) && !x.is_empty());
        assert!(FeatureSpec::from_groups("nope").is_err());
        assert!(FeatureSpec::from_groups("").is_err());
    }
}
