//! How a summary reads: its length in words and whether it is a clause (something a person
//! would write: "The resident asks for the bin to be collected") or telegraphese ("Missed bin
//! collection Mill Lane"). Measured beside ROUGE by `eval summaries`.
//!
//! Without a parser, a summary counts as a clause when it holds a sign of a finite verb: an
//! auxiliary or modal ("is", "has", "will", "cannot"), a subject pronoun followed by a word
//! ("they need", "she was"), or an inflected verb form from a word list that is not the summary's
//! first word and does not follow a determiner (so that "Missed bins" and "a damaged fence" stay
//! noun phrases). Forms that are as often plural nouns ("requests", "reports") are not in the
//! list. It is a lexical estimate, the same for every system it scores.

use super::words;

const AUXILIARIES: &[&str] = &[
    "am",
    "is",
    "are",
    "was",
    "were",
    "has",
    "have",
    "had",
    "does",
    "did",
    "will",
    "would",
    "can",
    "could",
    "shall",
    "should",
    "might",
    "must",
    "cannot",
    "isn't",
    "aren't",
    "wasn't",
    "weren't",
    "hasn't",
    "haven't",
    "hadn't",
    "doesn't",
    "didn't",
    "won't",
    "wouldn't",
    "can't",
    "couldn't",
    "shouldn't",
    "mustn't",
    "i'm",
    "we're",
    "they're",
    "you're",
    "he's",
    "she's",
    "it's",
    "i've",
    "we've",
    "they've",
    "i'll",
    "we'll",
    "they'll",
];

const SUBJECTS: &[&str] = &["i", "we", "they", "you", "he", "she"];

const DETERMINERS: &[&str] = &[
    "the", "a", "an", "my", "our", "your", "their", "his", "her", "its", "this", "that", "these",
    "those", "of", "for", "with", "no", "any", "some",
];

/// What the readability check found in one summary.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Readability {
    /// Words (whitespace-separated tokens).
    pub words: usize,
    /// Whether it reads as a clause with a finite verb.
    pub clause: bool,
}

/// Score one summary.
pub fn readability(text: &str) -> Readability {
    let tokens: Vec<String> = text
        .split_whitespace()
        .map(|t| {
            t.trim_matches(|c: char| !c.is_alphanumeric() && c != '\'')
                .replace('\u{2019}', "'")
                .to_lowercase()
        })
        .filter(|t| !t.is_empty())
        .collect();
    Readability {
        words: text.split_whitespace().count(),
        clause: is_clause(&tokens),
    }
}

fn is_clause(tokens: &[String]) -> bool {
    let verbs = words::verbs();
    tokens.iter().enumerate().any(|(i, t)| {
        let t = t.as_str();
        if AUXILIARIES.contains(&t) {
            return true;
        }
        if SUBJECTS.contains(&t) && tokens.get(i + 1).is_some() {
            return true;
        }
        // "may" the modal, not the month: a word follows, and no number is beside it.
        if t == "may" {
            let number =
                |j: Option<&String>| j.is_some_and(|w| w.chars().any(|c| c.is_ascii_digit()));
            let next = tokens.get(i + 1);
            return next.is_some()
                && !number(next)
                && !number(i.checked_sub(1).and_then(|j| tokens.get(j)));
        }
        i > 0 && verbs.contains(&t) && !DETERMINERS.contains(&tokens[i - 1].as_str())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sentences_read_as_clauses_and_noun_phrases_do_not() {
        for s in [
            "The resident asks for the missed bin to be collected.",
            "Mr Patel says the heating has failed.",
            "They need a new parking permit by Friday.",
            "Sarah wrote to appeal the fine",
            "The council tax bill is wrong",
            "The tenant may be evicted next week",
        ] {
            assert!(readability(s).clause, "{s}");
        }
        for s in [
            "Missed bin collection Mill Lane",
            "Council tax arrears payment requests",
            "Report of a damaged fence",
            "Meeting 12 May",
            "Robert Ainsworth, Architect, 2023-05-28 22:22:52",
        ] {
            assert!(!readability(s).clause, "{s}");
        }
    }

    #[test]
    fn words_are_counted_as_written() {
        assert_eq!(readability("  Two  words ").words, 2);
        assert_eq!(readability("").words, 0);
        assert!(!readability("").clause);
    }
}
