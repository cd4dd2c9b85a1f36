//! Marking what the record points at in the text a person reads: urgency evidence, key facts and
//! the summary's sentences. The record's spans are offsets into the prepared text (quotes and
//! signatures stripped, whitespace normalised), not into the text shown, so each mark is found
//! by its words: case and runs of whitespace are ignored, and of several places the one nearest
//! the record's offset wins. Marks never overlap; evidence goes first, then facts, then the
//! summary. Everything is escaped: the text is shown as text.

use maud::{html, Markup};

/// What a mark shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MarkKind {
    /// Urgency evidence.
    Evidence,
    /// A key fact.
    Fact,
    /// A sentence of the summary.
    Summary,
}

impl MarkKind {
    fn class(self) -> &'static str {
        match self {
            MarkKind::Evidence => "evidence",
            MarkKind::Fact => "fact",
            MarkKind::Summary => "summary",
        }
    }
}

/// Something to find and mark.
#[derive(Debug, Clone, PartialEq)]
pub struct Mark {
    /// What it is.
    pub kind: MarkKind,
    /// The words to find.
    pub text: String,
    /// The tooltip (what the record says about it).
    pub title: String,
    /// Where the record says it starts (bytes), to choose between repeats.
    pub hint: Option<usize>,
}

/// A mark placed in the text.
#[derive(Debug, Clone, PartialEq)]
pub struct Placed {
    /// Byte offsets into the text.
    pub start: usize,
    /// End (exclusive).
    pub end: usize,
    /// The mark's kind.
    pub kind: MarkKind,
    /// Its tooltip.
    pub title: String,
}

/// The text folded for matching (ASCII case, whitespace runs as one space), with each folded
/// byte's offset in the original.
fn fold(text: &str) -> (Vec<u8>, Vec<usize>) {
    let mut out = Vec::with_capacity(text.len());
    let mut at = Vec::with_capacity(text.len() + 1);
    let mut in_space = false;
    for (i, ch) in text.char_indices() {
        if ch.is_whitespace() {
            if !in_space {
                out.push(b' ');
                at.push(i);
            }
            in_space = true;
            continue;
        }
        in_space = false;
        let mut buf = [0u8; 4];
        for (k, b) in ch.encode_utf8(&mut buf).bytes().enumerate() {
            out.push(b.to_ascii_lowercase());
            at.push(i + k);
        }
    }
    at.push(text.len());
    (out, at)
}

fn fold_needle(s: &str) -> Vec<u8> {
    let (mut v, _) = fold(s.trim());
    while v.last() == Some(&b' ') {
        v.pop();
    }
    v
}

/// Every start of `needle` in `hay`.
fn find_all(hay: &[u8], needle: &[u8]) -> Vec<usize> {
    if needle.is_empty() || needle.len() > hay.len() {
        return Vec::new();
    }
    (0..=hay.len() - needle.len())
        .filter(|&i| &hay[i..i + needle.len()] == needle)
        .collect()
}

/// Place the marks in `text` (in priority order: evidence, facts, summary), without overlap.
/// Marks whose words are not in the text are left out.
pub fn place(text: &str, marks: &[Mark]) -> Vec<Placed> {
    let (hay, at) = fold(text);
    let mut placed: Vec<Placed> = Vec::new();
    let mut ordered: Vec<&Mark> = marks.iter().collect();
    ordered.sort_by_key(|m| match m.kind {
        MarkKind::Evidence => 0,
        MarkKind::Fact => 1,
        MarkKind::Summary => 2,
    });
    for m in ordered {
        let needle = fold_needle(&m.text);
        if needle.len() < 2 {
            continue;
        }
        let mut hits: Vec<(usize, usize)> = find_all(&hay, &needle)
            .into_iter()
            .map(|i| (at[i], at[i + needle.len() - 1]))
            .map(|(s, last)| {
                let end = text[last..]
                    .chars()
                    .next()
                    .map_or(text.len(), |c| last + c.len_utf8());
                (s, end)
            })
            .filter(|&(s, e)| !placed.iter().any(|p| s < p.end && p.start < e))
            .collect();
        let hint = m.hint.unwrap_or(0);
        hits.sort_by_key(|&(s, _)| s.abs_diff(hint));
        if let Some(&(start, end)) = hits.first() {
            placed.push(Placed {
                start,
                end,
                kind: m.kind,
                title: m.title.clone(),
            });
        }
    }
    placed.sort_by_key(|p| p.start);
    placed
}

/// The text with its marks, escaped.
pub fn render(text: &str, placed: &[Placed]) -> Markup {
    let mut parts: Vec<(&str, Option<&Placed>)> = Vec::new();
    let mut pos = 0;
    for p in placed {
        let fits = p.start >= pos
            && p.end <= text.len()
            && text.is_char_boundary(p.start)
            && text.is_char_boundary(p.end);
        if fits {
            parts.push((&text[pos..p.start], None));
            parts.push((&text[p.start..p.end], Some(p)));
            pos = p.end;
        }
    }
    parts.push((&text[pos..], None));
    html! {
        @for (segment, placed) in parts {
            @if let Some(p) = placed {
                mark class=(p.kind.class()) title=(p.title) { (segment) }
            } @else {
                (segment)
            }
        }
    }
}

/// The sentences of a summary, to mark where they stand in the text (short ones are left out:
/// a three-word sentence would match anywhere).
pub fn summary_sentences(summary: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut current = String::new();
    let chars: Vec<char> = summary.chars().collect();
    for (i, &c) in chars.iter().enumerate() {
        current.push(c);
        let end =
            matches!(c, '.' | '!' | '?') && chars.get(i + 1).is_none_or(|n| n.is_whitespace());
        if end {
            out.push(std::mem::take(&mut current));
        }
    }
    out.push(current);
    out.into_iter()
        .map(|s| s.trim().to_string())
        .filter(|s| s.split_whitespace().count() >= 5)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mark(kind: MarkKind, text: &str) -> Mark {
        Mark {
            kind,
            text: text.into(),
            title: "t".into(),
            hint: None,
        }
    }

    #[test]
    fn finds_words_across_line_breaks_and_case() {
        let text = "Hello,\n\nShe has a heart\ncondition and the HOUSE is cold.";
        let p = place(
            text,
            &[mark(MarkKind::Evidence, "heart condition and the house")],
        );
        assert_eq!(p.len(), 1);
        assert_eq!(
            &text[p[0].start..p[0].end],
            "heart\ncondition and the HOUSE"
        );
    }

    #[test]
    fn marks_do_not_overlap_and_evidence_wins() {
        let text = "Her boiler stopped working on Saturday night and she is 84.";
        let p = place(
            text,
            &[
                mark(
                    MarkKind::Summary,
                    "Her boiler stopped working on Saturday night and she is 84.",
                ),
                mark(MarkKind::Evidence, "she is 84"),
            ],
        );
        assert_eq!(p.len(), 1);
        assert_eq!(p[0].kind, MarkKind::Evidence);
    }

    #[test]
    fn the_hint_picks_between_repeats() {
        let text = "call 999 now; I said call 999 now";
        let mut m = mark(MarkKind::Fact, "call 999");
        m.hint = Some(20);
        let p = place(text, &[m]);
        assert_eq!(p[0].start, 21);
    }

    #[test]
    fn rendering_escapes_text_and_marks() {
        let text = "<script>alert(1)</script> is here & there";
        let p = place(text, &[mark(MarkKind::Evidence, "alert(1)</script> is")]);
        let html = render(text, &p).into_string();
        assert!(!html.contains("<script>"), "{html}");
        assert!(
            html.contains("&lt;script&gt;<mark class=\"evidence\""),
            "{html}"
        );
        assert!(html.ends_with(" here &amp; there"), "{html}");
    }

    #[test]
    fn non_ascii_text_keeps_char_boundaries() {
        let text = "Sehr geehrte Damen, bitte holen Sie den Sperrmüll am Freitag ab.";
        let p = place(text, &[mark(MarkKind::Fact, "Sperrmüll am Freitag")]);
        assert_eq!(&text[p[0].start..p[0].end], "Sperrmüll am Freitag");
        render(text, &p);
    }

    #[test]
    fn summary_sentences_split_on_ends() {
        let s =
            "I am writing about my mother, who is 84. Her boiler stopped working on Saturday. Ok.";
        assert_eq!(
            summary_sentences(s),
            [
                "I am writing about my mother, who is 84.",
                "Her boiler stopped working on Saturday."
            ]
        );
    }
}
