//! Near-duplicate signatures: what the store keeps of a message's text to find the other
//! messages that say the same thing (campaign letters sent by the hundred, one message sent
//! twice), as its search index keeps trigrams.
//!
//! The text (the prepared body: quoted replies and signatures already stripped) is cut into
//! words (runs of letters and digits, lowercased), so that line wrapping, punctuation, case and
//! HTML-versus-plain rendering do not matter. Two keys come of it:
//!
//! - the **exact key**: the SHA-256 of the words joined by single spaces; equal keys are the
//!   same text whatever the bytes and headers around it;
//! - a **MinHash signature** of the set of word [`SHINGLE_WORDS`]-grams: [`SLOTS`] minima, each
//!   under its own seeded 64-bit hash (kept as 32 bits). The share of equal slots of two
//!   signatures estimates the Jaccard similarity of the two shingle sets (standard error
//!   `sqrt(J(1-J)/SLOTS)`, 0.04 at J = 0.7).
//!
//! Candidates come from LSH banding: the signature is cut into [`BANDS`] bands of
//! [`ROWS`] slots, each band hashed to one 64-bit key that the store indexes. Two texts share at
//! least one band key with probability `1 - (1 - J^ROWS)^BANDS`: 0.87 at J = 0.5, 0.9998 at
//! J = 0.7, 0.003 at J = 0.1. A candidate is then verified: same group when the estimated
//! Jaccard is at least [`JACCARD_THRESHOLD`] (see README, "Campaigns and duplicates", for the
//! measurement behind the number). Texts of fewer than [`MIN_WORDS`] words get no signature
//! (only their exact key counts): a few words say too little to call two letters the same.
//!
//! Every function here is pure and deterministic: the hashes are written out (FNV-1a and
//! SplitMix64 with fixed seeds), never the standard library's, whose output may change.

use sha2::{Digest, Sha256};

/// Words per shingle.
pub const SHINGLE_WORDS: usize = 5;
/// Slots of a MinHash signature.
pub const SLOTS: usize = 128;
/// Bands of the LSH index.
pub const BANDS: usize = 32;
/// Slots per band.
pub const ROWS: usize = SLOTS / BANDS;
/// Texts with fewer words get no MinHash signature (exact matches still group).
pub const MIN_WORDS: usize = 12;
/// The estimated Jaccard similarity at and above which two texts are near-duplicates.
pub const JACCARD_THRESHOLD: f64 = 0.7;
/// A message whose best match is at least this similar adds nothing to the index that its
/// match does not hold: its bands are not indexed (so a campaign of thousands of copies keeps
/// small buckets).
pub const NEAR_COPY: f64 = 0.9;

/// What the store keeps of a message's text for finding its near-duplicates.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Signature {
    /// SHA-256 (hex) of the normalised words: equal for the same text.
    pub exact: String,
    /// Distinct shingles in the text.
    pub shingles: u32,
    /// The MinHash slots; empty when the text has fewer than [`MIN_WORDS`] words.
    pub minhash: Vec<u32>,
}

impl Signature {
    /// The signature of a text, or `None` when it has no words.
    pub fn of(text: &str) -> Option<Signature> {
        let words = words(text);
        if words.is_empty() {
            return None;
        }
        let exact = hex::encode(Sha256::digest(words.join(" ").as_bytes()));
        let mut shingles: Vec<u64> = words
            .windows(SHINGLE_WORDS.min(words.len()))
            .map(shingle_hash)
            .collect();
        shingles.sort_unstable();
        shingles.dedup();
        let minhash = if words.len() >= MIN_WORDS {
            minhash(&shingles)
        } else {
            Vec::new()
        };
        Some(Signature {
            exact,
            shingles: u32::try_from(shingles.len()).unwrap_or(u32::MAX),
            minhash,
        })
    }

    /// Whether it has a MinHash signature (long enough text).
    pub fn has_minhash(&self) -> bool {
        self.minhash.len() == SLOTS
    }

    /// The LSH band keys (empty without a MinHash signature).
    pub fn bands(&self) -> Vec<i64> {
        if !self.has_minhash() {
            return Vec::new();
        }
        self.minhash
            .chunks(ROWS)
            .enumerate()
            .map(|(band, rows)| {
                let mut h = FNV_OFFSET ^ (band as u64);
                for r in rows {
                    h = fnv(h, &r.to_le_bytes());
                }
                splitmix64(h) as i64
            })
            .collect()
    }

    /// The estimated Jaccard similarity of two signatures' shingle sets (0 when either has no
    /// MinHash signature, 1 for equal exact keys).
    pub fn jaccard(&self, other: &Signature) -> f64 {
        if self.exact == other.exact {
            return 1.0;
        }
        if !self.has_minhash() || !other.has_minhash() {
            return 0.0;
        }
        let equal = self
            .minhash
            .iter()
            .zip(&other.minhash)
            .filter(|(a, b)| a == b)
            .count();
        equal as f64 / SLOTS as f64
    }

    /// Whether two texts are the same letter: equal exact keys, or an estimated Jaccard
    /// similarity of at least [`JACCARD_THRESHOLD`].
    pub fn same_letter(&self, other: &Signature) -> bool {
        self.jaccard(other) >= JACCARD_THRESHOLD
    }

    /// The MinHash slots as stored (little-endian `u32`s).
    pub fn minhash_bytes(&self) -> Vec<u8> {
        self.minhash.iter().flat_map(|v| v.to_le_bytes()).collect()
    }

    /// A signature read back from its stored parts.
    pub fn from_parts(exact: String, shingles: u32, minhash: &[u8]) -> Signature {
        Signature {
            exact,
            shingles,
            minhash: minhash
                .chunks_exact(4)
                .map(|c| u32::from_le_bytes([c[0], c[1], c[2], c[3]]))
                .collect(),
        }
    }
}

/// The text's words: maximal runs of letters and digits, lowercased.
pub fn words(text: &str) -> Vec<String> {
    text.split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .map(str::to_lowercase)
        .collect()
}

const FNV_OFFSET: u64 = 0xcbf2_9ce4_8422_2325;
const FNV_PRIME: u64 = 0x0000_0100_0000_01b3;

fn fnv(mut h: u64, bytes: &[u8]) -> u64 {
    for b in bytes {
        h ^= u64::from(*b);
        h = h.wrapping_mul(FNV_PRIME);
    }
    h
}

/// SplitMix64's finaliser: a fast, well-mixed bijection on 64 bits.
fn splitmix64(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

fn shingle_hash(words: &[String]) -> u64 {
    let mut h = FNV_OFFSET;
    for w in words {
        h = fnv(h, w.as_bytes());
        h = fnv(h, &[0xff]); // a byte no UTF-8 text has: "ab c" and "a bc" differ
    }
    h
}

/// One seeded hash per slot: `splitmix64(shingle ^ seed_i)`, each slot keeping its minimum.
fn minhash(shingles: &[u64]) -> Vec<u32> {
    let seeds: Vec<u64> = (0..SLOTS as u64)
        .map(|i| splitmix64(0x6d61_696c_726f_6f6d ^ i))
        .collect();
    let mut mins = vec![u64::MAX; SLOTS];
    for s in shingles {
        for (m, seed) in mins.iter_mut().zip(&seeds) {
            let v = splitmix64(s ^ seed);
            if v < *m {
                *m = v;
            }
        }
    }
    mins.into_iter().map(|m| (m >> 32) as u32).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    const LETTER: &str = "I am writing to object to the proposed closure of the Elm Street \
        library. The library is used every day by children after school, by older residents \
        who have no internet at home, and by the job club on Thursdays. Closing it would save \
        little money and cost the neighbourhood a great deal. I ask the council to keep the \
        library open and to consult residents before any decision is taken.";

    /// Exact shingle-set Jaccard, for checking the estimate.
    fn true_jaccard(a: &str, b: &str) -> f64 {
        let set = |t: &str| {
            let w = words(t);
            w.windows(SHINGLE_WORDS)
                .map(shingle_hash)
                .collect::<std::collections::HashSet<_>>()
        };
        let (a, b) = (set(a), set(b));
        a.intersection(&b).count() as f64 / a.union(&b).count() as f64
    }

    #[test]
    fn wrapping_case_and_punctuation_do_not_change_the_text() {
        let wrapped = LETTER
            .replace(". ", ".\r\n\r\n")
            .to_uppercase()
            .replace(',', " ,");
        let a = Signature::of(LETTER).unwrap();
        let b = Signature::of(&wrapped).unwrap();
        assert_eq!(a.exact, b.exact);
        assert_eq!(a.jaccard(&b), 1.0);
        assert_eq!(a.bands(), b.bands());
        assert_eq!(a.bands().len(), BANDS);
    }

    #[test]
    fn a_changed_greeting_and_sign_off_stay_the_same_letter() {
        let a = format!("Dear Councillor Smith,\n{LETTER}\nYours sincerely,\nAnna Berg");
        let b = format!("Hello,\n{LETTER}\nThanks,\nTom O'Neill, 4 Oak Road");
        let (sa, sb) = (Signature::of(&a).unwrap(), Signature::of(&b).unwrap());
        assert_ne!(sa.exact, sb.exact);
        let est = sa.jaccard(&sb);
        let truth = true_jaccard(&a, &b);
        assert!((est - truth).abs() < 0.15, "estimate {est} vs {truth}");
        assert!(sa.same_letter(&sb), "J {est}");
        // They share band keys, so the index finds one from the other.
        let shared = sa.bands().iter().filter(|k| sb.bands().contains(k)).count();
        assert!(shared > 0);
    }

    #[test]
    fn different_letters_on_the_same_subject_are_not_the_same_letter() {
        let other = "The Elm Street library has been closed on Saturdays since March and the \
            opening hours on the notice board are wrong. Could you tell me when Saturday \
            opening will return, and correct the notice so that people do not walk there for \
            nothing? My children use the library for homework every weekend.";
        let (a, b) = (
            Signature::of(LETTER).unwrap(),
            Signature::of(other).unwrap(),
        );
        assert!(a.jaccard(&b) < 0.1, "J {}", a.jaccard(&b));
        assert!(!a.same_letter(&b));
    }

    #[test]
    fn half_rewritten_is_below_the_threshold() {
        // The first half kept, the second half a different letter: J is well under 0.7.
        let half: String = LETTER.split(". ").take(2).collect::<Vec<_>>().join(". ");
        let b = format!(
            "{half}. Instead I would like the council to move the job club to the community \
             centre on Fern Lane, which has more room and a car park for volunteers."
        );
        let (sa, sb) = (Signature::of(LETTER).unwrap(), Signature::of(&b).unwrap());
        let truth = true_jaccard(LETTER, &b);
        assert!(truth < 0.5, "{truth}");
        assert!(!sa.same_letter(&sb), "J {}", sa.jaccard(&sb));
    }

    #[test]
    fn short_texts_match_only_exactly() {
        let a = Signature::of("Thank you!").unwrap();
        let b = Signature::of("thank you").unwrap();
        let c = Signature::of("Thank you very much").unwrap();
        assert!(!a.has_minhash() && a.bands().is_empty());
        assert!(a.same_letter(&b));
        assert!(!a.same_letter(&c));
        assert!(Signature::of(" -- \n").is_none());
    }

    #[test]
    fn stored_parts_round_trip_and_hashes_are_fixed() {
        let a = Signature::of(LETTER).unwrap();
        let back = Signature::from_parts(a.exact.clone(), a.shingles, &a.minhash_bytes());
        assert_eq!(a, back);
        // Fixed hashes: the same text gives the same slots on every machine and build.
        assert_eq!(splitmix64(0), 0xe220_a839_7b1d_cdaf);
        assert_eq!(fnv(FNV_OFFSET, b"a"), 0xaf63_dc4c_8601_ec8c);
    }
}
