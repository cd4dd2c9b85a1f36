//! Quoted replies and forwarded-message headers.
//!
//! Works on normalised lines. A reply's quoted history goes: `>` blocks (with the attribution
//! line before them), "On … wrote:" in English, French, German, Spanish, Dutch and Italian (also
//! when a client wrapped it over two or three lines), Outlook's "-----Original Message-----" and
//! "From: / Sent: / To: / Subject:" blocks. A forward keeps the forwarded text and loses only its
//! header block: forwarding is what brings a citizen's words to the department.

use std::sync::LazyLock;

use regex::Regex;

use super::{Removed, RemovedKind};

/// Words an attribution line starts with, lower case, with the regex that confirms it.
static ATTRIBUTION: LazyLock<Vec<(&'static str, Regex)>> = LazyLock::new(|| {
    let r = |s: &str| Regex::new(s).expect("static regex");
    vec![
        ("on ", r(r"(?i)^on\b.{0,300}\b(wrote|writes)\s*:?$")),
        ("le ", r(r"(?i)^le\b.{0,300}\ba\s+écrit\s*:?$")),
        ("am ", r(r"(?i)^am\b.{0,300}\bschrieb\b.{0,300}:$")),
        ("el ", r(r"(?i)^el\b.{0,300}\bescribió\s*:?$")),
        ("op ", r(r"(?i)^op\b.{0,300}\bschreef\b.{0,300}:$")),
        ("il ", r(r"(?i)^il\b.{0,300}\bha\s+scritto\s*:?$")),
    ]
});

/// "Name wrote:" without a date; only taken as an attribution when a `>` block follows.
static SHORT_ATTRIBUTION: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?i)^.{1,200}\b(wrote|writes|a écrit|schrieb|escribió|ha scritto|schreef)\s*:$")
        .expect("static regex")
});

/// Outlook's separator line and its translations.
static ORIGINAL_MESSAGE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"(?i)^-{2,}\s*(original message|ursprüngliche nachricht|message d'origine|mensaje original|oorspronkelijk bericht|messaggio originale)\s*-{2,}$",
    )
    .expect("static regex")
});

/// Forward markers of Gmail, Thunderbird, Apple Mail and their translations.
static FORWARD_MARKER: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"(?i)^(-{2,}\s*(forwarded message|message transféré|weitergeleitete nachricht|mensaje reenviado|doorgestuurd bericht|messaggio inoltrato)\s*-{2,}|begin forwarded message:|début du message réexpédié :?|anfang der weitergeleiteten nachricht:?)$",
    )
    .expect("static regex")
});

/// Lotus Notes' forward marker, `----- Forwarded by Name/Org on 03/06/2001 08:54 AM -----`,
/// which clients often wrap over two lines.
static LOTUS_FORWARD: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"(?i)^-{3,}\s*forwarded by\b").expect("static regex"));

/// A date and time as Lotus Notes writes it above a quoted header block.
static LOTUS_DATE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"\b\d{1,2}/\d{1,2}/\d{2,4}\b.{0,12}\d{1,2}:\d{2}").expect("static regex")
});

/// The From line of a quoted header block (`*From:*` when HTML bold became asterisks).
static HEADER_FROM: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?i)^\*?(from|de|von|van|da)\s?:\*?(\s|$)").expect("static regex")
});
/// The date line of a quoted header block.
static HEADER_DATE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"(?i)^\*?(sent|date|envoyé|gesendet|datum|enviado|verzonden|inviato|data)\s?:\*?(\s|$)",
    )
    .expect("static regex")
});
/// Other lines of a quoted header block.
static HEADER_OTHER: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"(?i)^\*?(to|cc|bcc|subject|reply-to|à|a|objet|an|betreff|para|asunto|aan|onderwerp|oggetto|importance|priority)\s?:\*?(\s|$)",
    )
    .expect("static regex")
});
/// Any `Key: value` line, for the header block under a forward marker.
static ANY_HEADER: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"^\*?[\p{L}-]{1,25}\s?:\*?(\s|$)").expect("static regex"));

/// Subjects of forwarded messages.
static FORWARD_SUBJECT: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?i)^\s*(\[fwd?:|fwd?|tr|wg|rv|enc|doorst)\s*:").expect("static regex")
});

/// Whether `subject` marks a forward.
pub fn is_forward_subject(subject: &str) -> bool {
    FORWARD_SUBJECT.is_match(subject)
}

/// Whether any rule could match a line starting like this one: the first letters of every
/// pattern above (forward markers, separators, header blocks, attributions, `>`).
fn may_start_rule(line: &str) -> bool {
    let Some(first) = line.chars().next() else {
        return false;
    };
    matches!(
        first.to_ascii_lowercase(),
        '>' | '-' | '_' | '*' | 'b' | 'd' | 'a' | 'f' | 'v' | 'o' | 'l' | 'e' | 'i'
    )
}

fn is_quote(line: &str) -> bool {
    line.starts_with('>')
}

/// Length in lines of an attribution starting at `i` (1 to 3 lines), if there is one.
fn attribution_at(lines: &[&str], i: usize) -> Option<usize> {
    let first = lines[i];
    let lower_start: String = first.chars().take(3).collect::<String>().to_lowercase();
    let re = ATTRIBUTION
        .iter()
        .find(|(w, _)| lower_start == *w)
        .map(|(_, re)| re)?;
    let mut joined = String::from(first);
    for n in 1..=3 {
        if joined.len() > 400 {
            return None;
        }
        if re.is_match(&joined) {
            return Some(n);
        }
        match lines.get(i + n) {
            Some(next) if !next.is_empty() && !is_quote(next) => {
                joined.push(' ');
                joined.push_str(next);
            }
            _ => return None,
        }
    }
    None
}

/// Length in lines of a quoted header block (From + date + one more key) starting at `i`.
fn header_block_at(lines: &[&str], i: usize) -> Option<usize> {
    if !HEADER_FROM.is_match(lines[i]) {
        return None;
    }
    let mut has_date = false;
    let mut others = 0;
    let mut end = i + 1;
    for (j, line) in lines.iter().enumerate().skip(i + 1).take(12) {
        if line.is_empty() {
            break;
        }
        if HEADER_DATE.is_match(line) {
            has_date = true;
            end = j + 1;
        } else if HEADER_OTHER.is_match(line) {
            others += 1;
            end = j + 1;
        } else if j == end {
            // A wrapped recipient list continues the previous key.
            end = j + 1;
        }
    }
    (has_date && others >= 1).then_some(end - i)
}

/// Length in lines of a Lotus Notes header block starting at `i`: a sender line and a date
/// (on the sender line or the next two), then `To:` (wrapped lists allowed), `cc:`, and
/// `Subject:`.
fn lotus_block_at(lines: &[&str], i: usize) -> Option<usize> {
    let to = (i + 1..(i + 4).min(lines.len())).find(|&j| lines[j].starts_with("To:"))?;
    let head = &lines[i..to];
    if head.iter().any(|l| l.is_empty() || l.chars().count() > 120)
        || !head.iter().any(|l| LOTUS_DATE.is_match(l))
    {
        return None;
    }
    let subject = (to + 1..(to + 25).min(lines.len()))
        .take_while(|&j| {
            !lines[j].is_empty() || lines.get(j + 1).is_some_and(|l| l.starts_with("Subject:"))
        })
        .find(|&j| lines[j].starts_with("Subject:"))?;
    Some(subject + 1 - i)
}

/// Whether a Lotus Notes header block may start at `i` (cheap test before the real one).
fn may_start_lotus(lines: &[&str], i: usize) -> bool {
    lines[i + 1..(i + 4).min(lines.len())]
        .iter()
        .any(|l| l.starts_with("To:"))
}

/// Length of a Lotus Notes forward marker at `i` (one line, or two when wrapped) and the
/// header block under it.
fn lotus_forward_at(lines: &[&str], i: usize) -> usize {
    let mut j = i + 1;
    if !lines[i].trim_end().ends_with("---")
        && lines.get(j).is_some_and(|l| l.trim_end().ends_with("---"))
    {
        j += 1;
    }
    while j < lines.len() && lines[j].is_empty() && j < i + 4 {
        j += 1;
    }
    match (j < lines.len())
        .then(|| lotus_block_at(lines, j))
        .flatten()
    {
        Some(n) => j + n - i,
        None => j - i,
    }
}

/// Length of the header lines (and blank lines before them) after a forward marker at `i`.
fn forward_block_at(lines: &[&str], i: usize) -> usize {
    let mut j = i + 1;
    while j < lines.len() && lines[j].is_empty() && j < i + 3 {
        j += 1;
    }
    let start = j;
    while j < lines.len() && j < start + 15 {
        let l = lines[j];
        if l.is_empty() {
            break;
        }
        if !ANY_HEADER.is_match(l) && j == start {
            break;
        }
        j += 1;
    }
    j - i
}

/// Strip quoted history; returns the kept lines. `forward` says the subject marks a forward.
pub fn strip_quotes<'a>(
    lines: &[&'a str],
    forward: bool,
    removed: &mut Vec<Removed>,
) -> Vec<&'a str> {
    let mut kept: Vec<&'a str> = Vec::with_capacity(lines.len());
    let mut i = 0;
    while i < lines.len() {
        let line = lines[i];
        // Lotus Notes' forward marker (it may wrap, so test it before header blocks).
        if line.starts_with("---") && LOTUS_FORWARD.is_match(line) {
            let n = lotus_forward_at(lines, i);
            push(removed, RemovedKind::ForwardHeader, &lines[i..i + n]);
            i += n;
            continue;
        }
        // Lotus Notes quotes a message under a bare header block, with no marker line.
        if !line.is_empty() && may_start_lotus(lines, i) {
            if let Some(n) = lotus_block_at(lines, i) {
                if forward || kept.iter().all(|l| l.is_empty()) {
                    push(removed, RemovedKind::ForwardHeader, &lines[i..i + n]);
                    i += n;
                } else {
                    push(removed, RemovedKind::Quote, &lines[i..]);
                    i = lines.len();
                }
                continue;
            }
        }
        // Most lines start with a letter that no rule below starts with: keep them cheaply.
        if !may_start_rule(line) {
            kept.push(line);
            i += 1;
            continue;
        }
        let nothing_above = kept.iter().all(|l| l.is_empty());

        // Forward markers: drop the marker and the header block, keep the forwarded text.
        if FORWARD_MARKER.is_match(line) {
            let n = forward_block_at(lines, i);
            push(removed, RemovedKind::ForwardHeader, &lines[i..i + n]);
            i += n;
            continue;
        }

        // Outlook: separator line or underscores, then (usually) a header block.
        let separator =
            ORIGINAL_MESSAGE.is_match(line) || (line.len() >= 10 && line.chars().all(|c| c == '_'));
        let block_start = if separator { i + 1 } else { i };
        let block = lines
            .get(block_start)
            .and_then(|_| header_block_at(lines, block_start));
        if ORIGINAL_MESSAGE.is_match(line) || block.is_some() {
            let n = (block_start - i) + block.unwrap_or(0);
            if forward || nothing_above {
                push(removed, RemovedKind::ForwardHeader, &lines[i..i + n]);
                i += n;
            } else {
                push(removed, RemovedKind::Quote, &lines[i..]);
                i = lines.len();
            }
            continue;
        }

        // "On … wrote:" and its translations.
        if let Some(n) = attribution_at(lines, i) {
            let next = lines[i + n..].iter().find(|l| !l.is_empty());
            if next.is_some_and(|l| is_quote(l)) {
                let end = quote_block_end(lines, i + n);
                push(removed, RemovedKind::Quote, &lines[i..end]);
                i = end;
            } else if nothing_above && forward {
                push(removed, RemovedKind::ForwardHeader, &lines[i..i + n]);
                i += n;
            } else {
                push(removed, RemovedKind::Quote, &lines[i..]);
                i = lines.len();
            }
            continue;
        }

        // A `>` block, with a short "Name wrote:" attribution just above it.
        if is_quote(line) {
            let end = quote_block_end(lines, i);
            let prev = kept.iter().rposition(|l| !l.is_empty());
            if let Some(p) = prev {
                if SHORT_ATTRIBUTION.is_match(kept[p]) {
                    let attribution = kept[p];
                    kept.truncate(p);
                    push(removed, RemovedKind::Quote, &[attribution]);
                }
            }
            push(removed, RemovedKind::Quote, &lines[i..end]);
            i = end;
            continue;
        }

        kept.push(line);
        i += 1;
    }
    kept
}

/// End (exclusive) of the `>` block starting at or after `i`, blank lines inside included.
fn quote_block_end(lines: &[&str], i: usize) -> usize {
    let mut end = i;
    let mut j = i;
    while j < lines.len() {
        if is_quote(lines[j]) {
            end = j + 1;
        } else if !lines[j].is_empty() {
            break;
        }
        j += 1;
    }
    end
}

/// Record removed lines, merging with the previous record of the same kind.
pub(super) fn push(removed: &mut Vec<Removed>, kind: RemovedKind, lines: &[&str]) {
    let text = lines.join("\n").trim().to_string();
    if text.is_empty() {
        return;
    }
    if let Some(last) = removed.last_mut() {
        if last.kind == kind {
            last.text.push('\n');
            last.text.push_str(&text);
            return;
        }
    }
    removed.push(Removed { kind, text });
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(text: &str, forward: bool) -> (String, Vec<Removed>) {
        let lines: Vec<&str> = text.lines().collect();
        let mut removed = Vec::new();
        let kept = strip_quotes(&lines, forward, &mut removed);
        (kept.join("\n").trim().to_string(), removed)
    }

    #[test]
    fn gmail_wrapped_attribution() {
        let (kept, removed) = run(
            "Yes, Friday works.\n\nOn Mon, Jan 8, 2024 at 9:12 AM Ann Lee <\nann@example.org> wrote:\n\n> Can we meet?\n> Thanks",
            false,
        );
        assert_eq!(kept, "Yes, Friday works.");
        assert_eq!(removed.len(), 1);
        assert!(removed[0].text.starts_with("On Mon"));
    }

    #[test]
    fn french_and_german_attributions() {
        let (kept, _) = run(
            "Merci.\n\nLe lun. 8 janv. 2024 à 09:12, Ann <ann@example.org> a écrit :\n> Bonjour",
            false,
        );
        assert_eq!(kept, "Merci.");
        let (kept, _) = run(
            "Danke.\n\nAm 08.01.2024 um 09:12 schrieb Ann Lee <ann@example.org>:\n> Hallo",
            false,
        );
        assert_eq!(kept, "Danke.");
    }

    #[test]
    fn outlook_block_reply_and_forward() {
        let text = "See below.\n\n-----Original Message-----\nFrom: Ann\nSent: Monday\nTo: Bob\nSubject: Q\n\nOld text";
        let (kept, removed) = run(text, false);
        assert_eq!(kept, "See below.");
        assert_eq!(removed[0].kind, RemovedKind::Quote);
        let (kept, removed) = run(text, true);
        assert_eq!(kept, "See below.\n\n\nOld text");
        assert_eq!(removed[0].kind, RemovedKind::ForwardHeader);
    }

    #[test]
    fn interleaved_reply_keeps_answers() {
        let (kept, _) = run("Ann wrote:\n> one?\nYes.\n> two?\nNo.", false);
        assert_eq!(kept, "Yes.\nNo.");
    }

    #[test]
    fn lotus_notes_forward_and_reply() {
        let text = "FYI\n\n---------------------- Forwarded by Ann Lee/HOU/Example on 03/06/2001\n08:54 AM ---------------------------\n\nBob Smith\n03/05/2001 04:23 PM\nTo: Ann Lee/HOU/Example@Example\ncc: Carl Brown/HOU/Example@Example, Dan\nWhite/HOU/Example@Example\nSubject: Pipeline capacity\n\nWe need the capacity figures by Friday.";
        let (kept, removed) = run(text, true);
        assert_eq!(kept, "FYI\n\n\nWe need the capacity figures by Friday.");
        assert_eq!(removed.len(), 1);
        assert_eq!(removed[0].kind, RemovedKind::ForwardHeader);
        let reply = "Sounds good.\n\nBob Smith@EXAMPLE\n05/01/2001 10:23 AM\nTo: Ann Lee/HOU/Example@Example\ncc:\nSubject: Re: lunch\n\nLunch on Friday?";
        let (kept, removed) = run(reply, false);
        assert_eq!(kept, "Sounds good.");
        assert_eq!(removed[0].kind, RemovedKind::Quote);
    }

    #[test]
    fn gmail_forward_keeps_content() {
        let (kept, removed) = run(
            "FYI\n\n---------- Forwarded message ---------\nFrom: Ann <a@x>\nDate: Mon\nSubject: Help\nTo: <b@x>\n\nPlease help me.",
            true,
        );
        assert_eq!(kept, "FYI\n\n\nPlease help me.");
        assert_eq!(removed[0].kind, RemovedKind::ForwardHeader);
    }
}
