//! Signatures, mobile footers and legal disclaimers at the end of a message.
//!
//! Each rule cuts from a recognised line to the end, and only when what follows is short enough
//! to be a signature: a rule must never eat the message itself.

use std::sync::LazyLock;

use regex::Regex;

use super::quotes::push;
use super::{Removed, RemovedKind};

/// "Sent from my iPhone" and friends.
static MOBILE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"(?i)^(sent from my \S.*|sent from (mail|outlook|yahoo mail|aol)\b.*|sent via \S.*|get outlook for \S.*|envoyé de mon \S.*|envoyé depuis \S.*|von meinem \S.*gesendet.*|gesendet von \S.*|enviado desde mi \S.*|verzonden vanaf mijn \S.*|inviato da \S.*)$",
    )
    .expect("static regex")
});

/// Sign-off lines: the signature block starts here.
static SIGN_OFF: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"(?i)^(best|best wishes|all the best|kind regards|warm regards|warmest regards|best regards|regards|many thanks|thanks|thank you|thanks (so much|again|in advance|very much)|thank you (so much|again|in advance|very much)|cheers|sincerely|yours sincerely|sincerely yours|yours truly|yours faithfully|respectfully|take care|cordialement|bien cordialement|bien à vous|salutations|sincères salutations|merci|merci d'avance|mit freundlichen grüßen|mit freundlichen grüssen|freundliche grüße|viele grüße|beste grüße|liebe grüße|herzliche grüße|schöne grüße|grüße|gruß|mfg|lg|vg|saludos|un saludo|atentamente|met vriendelijke groet|groeten|cordiali saluti|distinti saluti)\s*[,.!]*$",
    )
    .expect("static regex")
});

/// Legal disclaimers and confidentiality notices.
static DISCLAIMER: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"(?i)(confidentiality notice|this (e-?mail|message|communication)( and any (attachments?|files?)( transmitted with it)?)? (is|are|may be|contains?) (confidential|privileged|intended)|intended (solely|only) for the (use of the )?(individual|addressee|person|named recipient|recipient)|if you (have )?received this (e-?mail|message|communication) (in error|by mistake)|disclaimer:|diese (e-?mail|nachricht) (enthält|kann) vertrauliche|ce (message|courriel|e-?mail) (et toutes les pièces jointes )?(est|sont|peut contenir) (confidentiel|strictement))",
    )
    .expect("static regex")
});

/// Count of non-blank lines in `lines`.
fn non_blank(lines: &[&str]) -> usize {
    lines.iter().filter(|l| !l.is_empty()).count()
}

/// Strip the signature, mobile footer and disclaimer from the end of `lines`.
pub fn strip_signature<'a>(lines: &[&'a str], removed: &mut Vec<Removed>) -> Vec<&'a str> {
    let mut end = lines.len();
    let mut cut: Vec<(RemovedKind, usize, usize)> = Vec::new();

    // Disclaimers: the paragraph holding one and everything after it, when it is not the
    // whole message and at most 40 lines long.
    if let Some(i) = lines[..end].iter().position(|l| DISCLAIMER.is_match(l)) {
        let para = lines[..i]
            .iter()
            .rposition(|l| l.is_empty())
            .map_or(0, |p| p + 1);
        if para > 0 && non_blank(&lines[..para]) > 0 && end - para <= 40 {
            cut.push((RemovedKind::Disclaimer, para, end));
            end = para;
        }
    }

    // "-- " delimiter (trimmed to "--" by normalisation): the last one, if at most 15 lines
    // follow it.
    if let Some(i) = lines[..end].iter().rposition(|l| *l == "--" || *l == "-- ") {
        if i > 0 && non_blank(&lines[i + 1..end]) <= 15 {
            cut.push((RemovedKind::Signature, i, end));
            end = i;
        }
    }

    // Mobile footers, with at most 4 lines after them (so only the last 10 lines are searched).
    let tail = end.saturating_sub(10);
    if let Some(i) = lines[tail..end]
        .iter()
        .rposition(|l| MOBILE.is_match(l))
        .map(|i| i + tail)
    {
        if non_blank(&lines[i + 1..end]) <= 4 {
            cut.push((RemovedKind::Signature, i, end));
            end = i;
        }
    }

    // Sign-off then a short block (name, title, phone): at most 6 short lines after it, and
    // some message above it.
    let from = end.saturating_sub(12);
    if let Some(i) = (from..end).rev().find(|&i| SIGN_OFF.is_match(lines[i])) {
        let after = &lines[i + 1..end];
        if non_blank(&lines[..i]) > 0
            && non_blank(after) <= 6
            && after.iter().all(|l| l.chars().count() <= 80)
        {
            cut.push((RemovedKind::Signature, i, end));
            end = i;
        }
    }

    for (kind, a, b) in cut.into_iter().rev() {
        push(removed, kind, &lines[a..b]);
    }
    lines[..end].to_vec()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(text: &str) -> (String, Vec<Removed>) {
        let lines: Vec<&str> = text.lines().collect();
        let mut removed = Vec::new();
        let kept = strip_signature(&lines, &mut removed);
        (kept.join("\n").trim().to_string(), removed)
    }

    #[test]
    fn delimiter_and_mobile() {
        let (kept, removed) = run("Hello.\n\n--\nAnn Lee\nCity Council");
        assert_eq!(kept, "Hello.");
        assert_eq!(removed[0].text, "--\nAnn Lee\nCity Council");
        let (kept, _) = run("On my way.\n\nSent from my iPhone");
        assert_eq!(kept, "On my way.");
    }

    #[test]
    fn sign_off_block() {
        let (kept, removed) = run("Please call me.\n\nKind regards,\nAnn Lee\n555 0100");
        assert_eq!(kept, "Please call me.");
        assert_eq!(removed[0].kind, RemovedKind::Signature);
        // Not the whole message, and not when a long text follows.
        let (kept, _) = run("Thanks,\nAnn");
        assert_eq!(kept, "Thanks,\nAnn");
    }

    #[test]
    fn disclaimer() {
        let (kept, removed) = run(
            "The report is attached.\n\nRegards,\nBob\n\nCONFIDENTIALITY NOTICE: This email is confidential.\nDelete it.",
        );
        assert_eq!(kept, "The report is attached.");
        assert_eq!(removed[0].kind, RemovedKind::Signature);
        assert_eq!(removed[1].kind, RemovedKind::Disclaimer);
    }
}
