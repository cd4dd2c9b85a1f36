//! Whitespace and Unicode normalisation: NFC, one kind of newline, no invisible characters,
//! single spaces, trimmed lines, at most one blank line in a row.

use unicode_normalization::{is_nfc_quick, IsNormalized, UnicodeNormalization};

/// Normalise `text` as described in the module doc.
pub fn normalize(text: &str) -> String {
    let nfc;
    let text = if is_nfc_quick(text.chars()) == IsNormalized::Yes {
        text
    } else {
        nfc = text.nfc().collect::<String>();
        &nfc
    };
    let mut out = String::with_capacity(text.len());
    let mut blank_run = 0usize;
    let mut line = String::new();
    // `lines()` splits on \n and strips one \r; a lone \r is a line break too.
    for raw in text.split('\n').flat_map(|l| l.split('\r')) {
        if is_clean_line(raw) {
            // The common case: printable ASCII, single spaces, nothing to trim.
            if !out.is_empty() {
                out.push('\n');
                if blank_run > 0 {
                    out.push('\n');
                }
            }
            blank_run = 0;
            out.push_str(raw);
            continue;
        }
        line.clear();
        let mut pending_space = false;
        for c in raw.chars() {
            match c {
                '\u{200B}' | '\u{FEFF}' | '\u{2060}' | '\u{00AD}' => {}
                c if c == '\t' || c.is_whitespace() => pending_space = true,
                c if c.is_control() => {}
                c => {
                    if pending_space && !line.is_empty() {
                        line.push(' ');
                    }
                    pending_space = false;
                    line.push(c);
                }
            }
        }
        if line.is_empty() {
            blank_run += 1;
            continue;
        }
        if !out.is_empty() {
            out.push('\n');
            if blank_run > 0 {
                out.push('\n');
            }
        }
        blank_run = 0;
        out.push_str(&line);
    }
    out
}

/// Printable ASCII with single inner spaces and no space at either end.
fn is_clean_line(line: &str) -> bool {
    let b = line.as_bytes();
    !b.is_empty()
        && b[0] != b' '
        && b[b.len() - 1] != b' '
        && b.iter().all(|&c| (0x20..0x7f).contains(&c))
        && !b.windows(2).any(|w| w == b"  ")
}

/// Join already-normalised lines, keeping at most one blank line in a row and none at either
/// end.
pub fn join_lines(lines: &[&str]) -> String {
    let mut out = String::with_capacity(lines.iter().map(|l| l.len() + 1).sum());
    let mut blank = false;
    for line in lines {
        if line.is_empty() {
            blank = !out.is_empty();
            continue;
        }
        if !out.is_empty() {
            out.push('\n');
            if blank {
                out.push('\n');
            }
        }
        blank = false;
        out.push_str(line);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalises() {
        assert_eq!(
            normalize("  a\u{a0}\u{a0}b \t c  \r\n\r\n\r\n\n\u{200b}d\re\u{7}\n\n"),
            "a b c\n\nd\ne"
        );
        assert_eq!(normalize("Cafe\u{301}"), "Café");
        assert_eq!(normalize(""), "");
        assert_eq!(normalize("a b\n\n\nc"), "a b\n\nc");
        assert_eq!(join_lines(&["", "a", "", "", "b", ""]), "a\n\nb");
    }
}
