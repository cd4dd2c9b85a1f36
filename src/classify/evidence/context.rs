//! What surrounds a hit: the clause it sits in, and whether that clause negates it ("no
//! danger", "nobody was hurt") or only imagines it ("could cause an injury", "before someone
//! is hurt", "an accident waiting to happen").

use std::ops::Range;
use std::sync::LazyLock;

use regex::Regex;

use crate::text::dates::floor_char_boundary;

/// Negation in the few words before a hit.
static NEGATION: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?i)\b(no|not|never|nobody|no one|none|without|isn't|wasn't|aren't|weren't|don't|doesn't|didn't|hasn't|haven't|hadn't|won't|neither|nor|free of|no sign of|no risk of|rather than|instead of|avoid|avoided|prevent|prevented)\b[^.!?;:]*$")
        .expect("static regex")
});

/// Possibility, condition or warning before a hit: it has not happened.
static HYPOTHETICAL: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?i)\b(could|might|may|would|will|can|cause|causing|before|if|unless|until|risk|risks|danger|chance|likely|potential|potentially|possible|possibly|in case|should|waiting|bound to|liable|prone|worried|afraid|fear|scared|concerned|hazard|lead to|result in|end up|going to|gonna|about to|nearly|almost)\b[^.!?;]*$")
        .expect("static regex")
});

/// A person or people: who an injury or a self-harm cue is about.
static PERSON: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?i)\b(?:i|i'm|i've|me|my|we|we've|us|our|she|he|they|her|his|him|them|their|someone|somebody|anyone|everyone|people|persons?|pedestrians?|cyclists?|motorcyclists?|riders?|drivers?|walkers?|children|child|kids?|boy|girl|man|woman|men|women|lady|gentleman|neighbou?rs?|residents?|friends?|mum|mother|dad|father|wife|husband|son|daughter|partner|grandmother|grandfather|nan|gran|colleagues?|customers?|visitors?|users?|who)\b")
        .expect("static regex")
});

/// Generic hypotheticals after a hit that make it a warning, not an event.
static HYPOTHETICAL_AFTER: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?i)^[^.!?;]{0,12}\b(waiting to happen|hazard|risk)\b").expect("static regex")
});

/// Words of the clause before `span`, at most `words` of them, within the clause.
pub fn before<'a>(text: &'a str, span: &Range<usize>, words: usize) -> &'a str {
    let start = floor_char_boundary(text, span.start.saturating_sub(120));
    let window = &text[start..span.start];
    let clause_start = window
        .rfind(['.', '!', '?', ';', '\n', '(', ')'])
        .map_or(0, |i| i + 1);
    let clause = &window[clause_start..];
    let starts: Vec<usize> = clause
        .char_indices()
        .filter(|&(i, c)| {
            !c.is_whitespace()
                && clause[..i]
                    .chars()
                    .next_back()
                    .is_none_or(char::is_whitespace)
        })
        .map(|(i, _)| i)
        .collect();
    match starts.len().checked_sub(words) {
        Some(k) if k > 0 => &clause[starts[k]..],
        _ => clause,
    }
}

/// The text right after `span`, to the end of its clause or 80 bytes.
pub fn after<'a>(text: &'a str, span: &Range<usize>) -> &'a str {
    let end = floor_char_boundary(text, (span.end + 80).min(text.len()));
    let window = &text[span.end..end];
    let stop = window
        .find(['.', '!', '?', ';', '\n'])
        .unwrap_or(window.len());
    &window[..stop]
}

/// A negation in the three words before the hit.
pub fn negated(text: &str, span: &Range<usize>) -> bool {
    NEGATION.is_match(before(text, span, 3))
}

/// A possibility or warning in the six words before the hit, an infinitive ("to fall"), or a
/// generic "hazard" right after it.
pub fn hypothetical(text: &str, span: &Range<usize>) -> bool {
    let last = before(text, span, 1).trim();
    last.eq_ignore_ascii_case("to")
        || HYPOTHETICAL.is_match(before(text, span, 6))
        || HYPOTHETICAL_AFTER.is_match(after(text, span))
}

/// A person named in the `words` words before the hit, or in the hit itself.
pub fn personal(text: &str, span: &Range<usize>, words: usize) -> bool {
    PERSON.is_match(before(text, span, words)) || PERSON.is_match(&text[span.clone()])
}

#[cfg(test)]
mod tests {
    use super::*;

    fn span_of(text: &str, needle: &str) -> Range<usize> {
        let i = text.find(needle).unwrap();
        i..i + needle.len()
    }

    #[test]
    fn clause_words_before() {
        let t = "It broke. Then my mother fell over the kerb.";
        assert_eq!(before(t, &span_of(t, "fell"), 5).trim(), "Then my mother");
        assert_eq!(before(t, &span_of(t, "fell"), 1).trim(), "mother");
        assert_eq!(after(t, &span_of(t, "fell")), " over the kerb");
    }

    #[test]
    fn negation_and_hypotheses() {
        let t = "There is no gas leak here.";
        assert!(negated(t, &span_of(t, "gas leak")));
        let t = "I can smell a gas leak.";
        assert!(!negated(t, &span_of(t, "gas leak")));
        let t = "Someone could be injured.";
        assert!(hypothetical(t, &span_of(t, "injured")));
        let t = "It is only a matter of time before somebody is seriously injured.";
        assert!(hypothetical(t, &span_of(t, "injured")));
        let t = "My neighbour was injured last night.";
        assert!(!hypothetical(t, &span_of(t, "injured")));
        let t = "A fall waiting to happen.";
        assert!(hypothetical(t, &span_of(t, "fall")));
        // The clause ends at a full stop: an earlier "could" does not carry over.
        let t = "It could be worse. She fell on Monday.";
        assert!(!hypothetical(t, &span_of(t, "fell")));
    }
}
