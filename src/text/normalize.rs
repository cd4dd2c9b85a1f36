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
    }
}
