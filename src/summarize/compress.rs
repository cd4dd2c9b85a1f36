//! Sentence compression for headlines: a chosen sentence becomes a line a person would write
//! as a subject, by deleting words, never adding or changing one, so every word still comes
//! from the source.
//!
//! What goes: a leading vocative ("Phillip;"), parentheticals, openers ("Also", "FYI"),
//! answers ("No, ..."), lead-ins ("As you know, "), framing phrases ("I think", "Please note
//! that", "This is to confirm that"), "could you" before "please" (the question becomes a
//! request), fillers ("just", "really"), words past the first clause end, and, over the
//! budget, the tail from a phrase boundary (before a preposition, conjunction or relative, or
//! after a comma) and any dangling function word. What stays: the subject, its verb and
//! auxiliaries, articles, objects, "please", negations, modals, numbers, names and dates.
//!
//! Measured on AESLC dev (`mailroom eval summaries --method extractive --style headline`,
//! 400 messages, max over the three references, ROUGE-1/2/L, and the share that reads as a
//! clause with a finite verb): this compression at 12 words 39.9 / 26.4 / 38.0, 9.8 words,
//! 77.0 % clauses; the first sentence 34.6 / 23.1 / 32.8 (85.5 %); its first 8 words
//! 32.0 / 18.8 / 30.7 (73.5 %); the subject line 38.1 / 19.8 / 36.4 (6.8 %). The earlier
//! telegraphese (articles, subject pronouns and auxiliaries deleted) scored 42.2 / 27.4 / 40.0
//! on these 400, and 43.4 / 29.0 / 41.5 with 59.5 % clauses on the first 200: the references
//! are telegraphese too (15.9 % clauses), so a readable line costs some ROUGE, a cost taken
//! for the reader.

/// Most words of a headline, whatever the budget: on 200 AESLC dev messages 12 words score
/// 41.2 R1 with 74.5 % clauses, 14 words 41.2 (77.0 %), 16 words 40.6 (78.5 %).
pub const HEADLINE_CAP: usize = 14;

/// A clause end (";", ".", "?") cuts the headline once it has this many words.
const MIN_CLAUSE_WORDS: usize = 5;

/// Opening words that carry nothing in a headline.
const OPENERS: &[&str] = &[
    "and", "but", "so", "also", "ok", "okay", "well", "fyi", "just", "hi", "hey", "hello",
    "however", "anyway", "btw", "oh", "then", "plus", "again", "now",
];

/// Answers dropped only when followed by a comma ("No, ..." but not "No manager is listed").
const ANSWERS: &[&str] = &["yes", "no", "yeah", "sure"];

/// Framing phrases removed wherever they occur (not when they end a clause: "let me know.").
const FRAMES: &[&[&str]] = &[
    &["i", "think"],
    &["i", "believe"],
    &["i", "guess"],
    &["i", "wanted", "to", "let", "you", "know", "that"],
    &["i", "want", "to", "let", "you", "know", "that"],
    &["just", "to", "let", "you", "know"],
    &["this", "is", "to", "let", "you", "know", "that"],
    &["this", "is", "to", "inform", "you", "that"],
    &["this", "is", "to", "confirm", "that"],
    &["just", "a", "reminder", "that"],
    &["just", "a", "reminder"],
    &["a", "reminder", "that"],
    &["please", "note", "that"],
    &["please", "be", "advised", "that"],
    &["note", "that"],
];

/// "Could you" before "please": the request reads as one without it ("Please e-mail me ...").
const POLITE_QUESTIONS: &[&str] = &["could", "can", "would", "will"];

/// Lead-in phrases removed with their comma ("As you know, ...").
const LEAD_INS: &[&[&str]] = &[
    &["as", "you", "know"],
    &["as", "we", "discussed"],
    &["as", "discussed"],
    &["per", "our", "conversation"],
    &["by", "the", "way"],
    &["in", "addition"],
    &["for", "your", "information"],
];

/// Words that add nothing to a headline ("please" stays: a request reads as one with it).
const FILLERS: &[&str] = &["just", "really", "very", "actually", "basically"];
/// Words that start a phrase: a line over its budget is cut before one of them.
const PHRASE_STARTS: &[&str] = &[
    "and", "or", "but", "of", "to", "for", "with", "on", "in", "at", "by", "from", "which", "that",
    "who", "whom", "whose", "when", "where", "while", "because", "about", "into", "as", "if", "so",
    "than", "after", "before", "until", "since", "during", "through", "over", "under", "between",
    "without", "within", "via", "per", "unless", "although", "though",
];
/// Words a headline must not end with.
const DANGLING: &[&str] = &[
    "and", "or", "but", "of", "to", "for", "with", "that", "on", "in", "at", "by", "from", "the",
    "a", "an", "which", "this", "these", "as", "if", "so", "than", "is", "are", "was", "be", "who",
    "when", "where", "while", "because", "about", "into", "it", "its", "their", "his", "her", "-",
    "–", "&",
];
/// Capitalised words that start a sentence but are not someone being addressed (besides the
/// months, [`super::words::months`]).
const NOT_VOCATIVE: &[&str] = &[
    "monday",
    "tuesday",
    "wednesday",
    "thursday",
    "friday",
    "saturday",
    "sunday",
    "note",
    "update",
    "reminder",
    "attached",
    "subject",
    "twenty",
];

/// The word without surrounding punctuation, lower-cased ("Phillip;" → "phillip").
fn norm(w: &str) -> String {
    w.trim_matches(|c: char| !c.is_alphanumeric() && c != '\'' && c != '’')
        .replace('’', "'")
        .to_lowercase()
}

fn ends_clause(w: &str) -> bool {
    w.ends_with(['.', ';', ':', '!', '?'])
}

/// Length of a leading vocative ("Phillip;", "Jeff/Brenda:", "John -", "Sally and Wes,") in
/// tokens, or 0.
fn vocative_len(toks: &[&str]) -> usize {
    for n in 1..=3.min(toks.len()) {
        let head = &toks[..n];
        let names_ok = head.iter().enumerate().all(|(i, w)| {
            let w = w.trim_end_matches([',', ';', ':']);
            (i > 0 && matches!(w, "and" | "&"))
                || (w.chars().next().is_some_and(char::is_uppercase)
                    && w.chars().all(|c| c.is_alphabetic() || "./&'-".contains(c)))
        });
        let first = norm(head[0]);
        if !names_ok
            || NOT_VOCATIVE.contains(&first.as_str())
            || super::words::months().contains(&first.as_str())
        {
            return 0;
        }
        let last = head[n - 1];
        let dash = toks.get(n).is_some_and(|w| matches!(*w, "-" | "–" | "--"));
        let rest = toks.len() - n - usize::from(dash);
        if rest < 3 {
            return 0;
        }
        if last.ends_with([',', ';', ':']) {
            return n;
        }
        if dash {
            return n + 1;
        }
    }
    0
}

/// Remove "( ... )" asides when something is left.
fn drop_parentheticals(s: &str) -> String {
    let mut out = String::new();
    let mut depth = 0usize;
    for c in s.chars() {
        match c {
            '(' => depth += 1,
            ')' if depth > 0 => depth -= 1,
            _ if depth == 0 => out.push(c),
            _ => {}
        }
    }
    if depth > 0 || out.split_whitespace().count() < 3 {
        s.to_string()
    } else {
        out
    }
}

fn starts_with_phrase(toks: &[&str], phrase: &[&str]) -> bool {
    toks.len() >= phrase.len() && phrase.iter().zip(toks).all(|(p, t)| norm(t) == *p)
}

/// Compress `sentence` into a headline of at most `words` words (and at most
/// [`HEADLINE_CAP`]). Returns the headline and whether words past a clause end or the budget
/// were cut.
pub fn headline(sentence: &str, words: usize) -> (String, bool) {
    let words = words.clamp(1, HEADLINE_CAP);
    let without = drop_parentheticals(sentence);
    let all: Vec<&str> = without.split_whitespace().collect();
    let toks = &all[vocative_len(&all)..];
    let mut out = delete_framing(toks);
    if out.len() < 2 {
        // Deletion ate the sentence ("Here it is" → "Here"): the words as they were.
        out = all.iter().map(|s| s.to_string()).collect();
    }
    let mut cut = false;
    if let Some(k) = out
        .iter()
        .enumerate()
        .position(|(k, w)| k + 1 >= MIN_CLAUSE_WORDS && ends_clause(w))
    {
        if k + 1 < out.len() {
            out.truncate(k + 1);
            cut = true;
        }
    }
    let over = out.len() > words;
    if over {
        out.truncate(phrase_cut(&out, words));
        cut = true;
    }
    // An unfinished line ("... and") loses its dangling words; a finished one ("I think so.")
    // keeps them.
    let unfinished = over || out.last().is_some_and(|w| !ends_clause(w));
    while unfinished
        && out.len() > 2
        && out
            .last()
            .is_some_and(|w| DANGLING.contains(&norm(w).as_str()) || norm(w).is_empty())
    {
        out.pop();
    }
    let text = out
        .join(" ")
        .trim_end_matches(['.', ',', ';', ':', '-', '–'])
        .trim()
        .to_string();
    (capitalise(&text), cut)
}

/// The sentence without its openers, lead-ins, framing phrases and fillers; everything a
/// sentence needs to read as one (subject, verb, articles) stays.
fn delete_framing(toks: &[&str]) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    let mut i = 0;
    let mut clause_start = true;
    // A question turned into a request ("Could you please send it?" → "Please send it").
    let mut request = false;
    'tokens: while i < toks.len() {
        let w = norm(toks[i]);
        if clause_start {
            if OPENERS.contains(&w.as_str())
                || (ANSWERS.contains(&w.as_str()) && toks[i].ends_with(','))
            {
                i += 1;
                continue;
            }
            for p in LEAD_INS {
                if starts_with_phrase(&toks[i..], p) {
                    i += p.len();
                    continue 'tokens;
                }
            }
        }
        for p in FRAMES {
            if starts_with_phrase(&toks[i..], p) && !ends_clause(toks[i + p.len() - 1]) {
                i += p.len();
                continue 'tokens;
            }
        }
        if POLITE_QUESTIONS.contains(&w.as_str())
            && toks.len() > i + 3
            && norm(toks[i + 1]) == "you"
            && norm(toks[i + 2]) == "please"
        {
            request = true;
            i += 2;
            continue;
        }
        if FILLERS.contains(&w.as_str()) {
            // Keep the punctuation the dropped word carried ("it, really." → "it.").
            if let (Some(last), Some(p)) = (out.last_mut(), toks[i].chars().last()) {
                if ",.;:!?".contains(p) && !last.ends_with(p) {
                    last.push(p);
                }
            }
        } else {
            out.push(toks[i].to_string());
        }
        clause_start = ends_clause(toks[i]);
        if clause_start && request {
            if let Some(last) = out.last_mut().filter(|w| w.ends_with('?')) {
                last.pop();
                last.push('.');
            }
            request = false;
        }
        i += 1;
    }
    out
}

/// Where to cut a line that is over its budget: before the last phrase that starts within it
/// (a preposition, conjunction or relative word, or after a comma), so that the headline ends
/// on a whole phrase ("Meeting moved to Tuesday" rather than "… from 9:00"); the budget itself
/// when no phrase starts late enough.
fn phrase_cut(out: &[String], words: usize) -> usize {
    let earliest = (words * 2 / 3).max(3);
    (earliest..=words.min(out.len() - 1))
        .rev()
        .find(|&k| PHRASE_STARTS.contains(&norm(&out[k]).as_str()) || out[k - 1].ends_with(','))
        .unwrap_or(words)
}

fn capitalise(s: &str) -> String {
    let mut c = s.chars();
    match c.next() {
        Some(f) => f.to_uppercase().collect::<String>() + c.as_str(),
        None => String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn deletes_framing_not_content() {
        let (h, _) = headline(
            "Phillip; Could you please e-mail me the draw file you created for Bishops Corner.",
            12,
        );
        assert_eq!(
            h,
            "Please e-mail me the draw file you created for Bishops Corner"
        );
        let (h, _) = headline(
            "Russell: I think I should give you a little background on small ventures.",
            10,
        );
        assert_eq!(h, "I should give you a little background on small ventures");
        let (h, cut) = headline(
            "Jeff/Brenda: Please authorize the following products for approval. Customers expect them.",
            10,
        );
        assert_eq!(h, "Please authorize the following products for approval");
        assert!(cut);
        let (h, _) = headline("As you know, the meeting moved to Tuesday (room 4).", 10);
        assert_eq!(h, "The meeting moved to Tuesday");
        let (h, _) = headline("Could you please send the signed form by Friday?", 10);
        assert_eq!(h, "Please send the signed form by Friday");
    }

    #[test]
    fn keeps_negations_dates_and_answers_that_are_content() {
        let (h, _) = headline("I am not coming to the review on 3 May.", 10);
        assert_eq!(h, "I am not coming to the review on 3 May");
        let (h, _) = headline("No manager is listed on this request.", 10);
        assert_eq!(h, "No manager is listed on this request");
        let (h, _) = headline("No, we can't pay the £70 fee.", 10);
        assert_eq!(h, "We can't pay the £70 fee");
        let (h, _) = headline("Tuesday, January 29 works for the call.", 10);
        assert_eq!(h, "Tuesday, January 29 works for the call");
        let (h, _) = headline("Can I pay the fee on 3 May?", 10);
        assert_eq!(h, "Can I pay the fee on 3 May?");
    }

    #[test]
    fn a_long_line_is_cut_before_a_phrase_and_loses_dangling_words() {
        let (h, cut) = headline(
            "The meeting has moved from 9:00 am on Monday to 10:30 am on Tuesday in room 4",
            10,
        );
        assert_eq!(h, "The meeting has moved from 9:00 am on Monday");
        assert!(cut);
        let (h, cut) = headline(
            "We are going to have the draft of the budget for the regional offices on 8/20 and more",
            6,
        );
        assert_eq!(h, "We are going to have");
        assert!(cut);
        let (h, _) = headline("The fee is due on the 3rd of the month and", 10);
        assert_eq!(h, "The fee is due on the 3rd of the month");
        // Nothing left after deletion: the words as they were.
        let (h, _) = headline("I think so.", 10);
        assert_eq!(h, "I think so");
    }

    #[test]
    fn headlines_read_as_clauses() {
        for s in [
            "Hi Jane, I wanted to let you know that the bin on Mill Lane was not collected.",
            "Russell: I think I should give you a little background on small ventures.",
            "Just a reminder that the council tax bill is due on 3 May.",
        ] {
            let (h, _) = headline(s, 12);
            assert!(super::super::readability::readability(&h).clause, "{h}");
        }
    }
}
