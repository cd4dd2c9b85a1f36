//! A normalised view of a text for matching, with a map back to the original's offsets:
//! invisible format characters dropped, Unicode tag characters read as the ASCII they hide,
//! look-alike Cyrillic, Greek and full-width letters read as Latin, leetspeak inside words
//! read as letters ("1gn0r3"), and spaced-out letters ("I g n o r e") joined.

use std::ops::Range;

/// The view and its map.
pub struct View {
    /// The normalised text.
    pub text: String,
    /// Per byte of `text`: the original char's start and end.
    map: Vec<(usize, usize)>,
    /// Unicode tag characters seen (invisible text).
    pub hidden_chars: usize,
    /// From the first to the last tag character, in the original.
    pub hidden_span: Option<Range<usize>>,
}

impl View {
    /// Build the view of `text`.
    pub fn new(text: &str) -> View {
        let mut chars: Vec<(char, usize, usize)> = Vec::with_capacity(text.len());
        let mut hidden_chars = 0;
        let mut hidden_span: Option<Range<usize>> = None;
        for (i, c) in text.char_indices() {
            let end = i + c.len_utf8();
            let u = c as u32;
            if (0xE0020..=0xE007E).contains(&u) {
                hidden_chars += 1;
                hidden_span = Some(hidden_span.map_or(i..end, |s| s.start..end));
                chars.push((char::from_u32(u - 0xE0000).unwrap_or(' '), i, end));
                continue;
            }
            if is_invisible(c) {
                continue;
            }
            chars.push((latin(c), i, end));
        }
        deleet(&mut chars);
        let chars = join_spaced(chars);
        let mut out = String::with_capacity(text.len());
        let mut map = Vec::with_capacity(text.len());
        for (c, start, end) in chars {
            out.push(c);
            for _ in 0..c.len_utf8() {
                map.push((start, end));
            }
        }
        View {
            text: out,
            map,
            hidden_chars,
            hidden_span,
        }
    }

    /// The original range of a range of the view.
    pub fn original(&self, r: Range<usize>) -> Range<usize> {
        if r.is_empty() || r.end > self.map.len() {
            let at = self.map.get(r.start).map_or(0, |m| m.0);
            return at..at;
        }
        self.map[r.start].0..self.map[r.end - 1].1
    }
}

/// Zero-width and other invisible format characters.
fn is_invisible(c: char) -> bool {
    matches!(c, '\u{200B}'..='\u{200F}' | '\u{2060}'..='\u{2064}' | '\u{FEFF}' | '\u{00AD}' | '\u{180E}' | '\u{E0000}'..='\u{E007F}')
}

/// Look-alike letters read as the Latin letter they imitate.
fn latin(c: char) -> char {
    let u = c as u32;
    if (0xFF01..=0xFF5E).contains(&u) {
        return char::from_u32(u - 0xFEE0).unwrap_or(c);
    }
    match c {
        'а' => 'a',
        'е' => 'e',
        'о' => 'o',
        'р' => 'p',
        'с' => 'c',
        'у' => 'y',
        'х' => 'x',
        'і' => 'i',
        'ѕ' => 's',
        'ј' => 'j',
        'ԁ' => 'd',
        'ո' => 'n',
        'ɡ' => 'g',
        'А' => 'A',
        'Е' => 'E',
        'О' => 'O',
        'Р' => 'P',
        'С' => 'C',
        'Т' => 'T',
        'Н' => 'H',
        'К' => 'K',
        'М' => 'M',
        'В' => 'B',
        'Х' => 'X',
        'І' => 'I',
        'Ѕ' => 'S',
        'ο' => 'o',
        'α' => 'a',
        'ι' => 'i',
        'ε' => 'e',
        'ν' => 'v',
        'τ' => 't',
        'κ' => 'k',
        'Ο' => 'O',
        'Α' => 'A',
        'Ι' => 'I',
        'Ε' => 'E',
        'Τ' => 'T',
        'Κ' => 'K',
        'Μ' => 'M',
        'Ν' => 'N',
        _ => c,
    }
}

/// Inside a word with at least two letters and a digit, digits read as the letters they
/// imitate.
fn deleet(chars: &mut [(char, usize, usize)]) {
    let mut i = 0;
    while i < chars.len() {
        if !chars[i].0.is_ascii_alphanumeric() {
            i += 1;
            continue;
        }
        let start = i;
        while i < chars.len() && chars[i].0.is_ascii_alphanumeric() {
            i += 1;
        }
        let word = &chars[start..i];
        let letters = word.iter().filter(|c| c.0.is_ascii_alphabetic()).count();
        let digits = word.len() - letters;
        if letters >= 1 && digits >= 1 && word.len() >= 3 {
            for c in &mut chars[start..i] {
                c.0 = match c.0 {
                    '0' => 'o',
                    '1' => 'i',
                    '3' => 'e',
                    '4' => 'a',
                    '5' => 's',
                    '7' => 't',
                    other => other,
                };
            }
        }
    }
}

/// Runs of at least four single letters separated by single spaces ("I g n o r e") joined.
fn join_spaced(chars: Vec<(char, usize, usize)>) -> Vec<(char, usize, usize)> {
    let single = |k: usize| {
        chars[k].0.is_alphabetic()
            && (k == 0 || !chars[k - 1].0.is_alphanumeric())
            && chars.get(k + 1).is_none_or(|n| !n.0.is_alphanumeric())
    };
    let mut drop = vec![false; chars.len()];
    let mut k = 0;
    while k < chars.len() {
        if !single(k) {
            k += 1;
            continue;
        }
        // Extend while the pattern letter, space, letter holds.
        let mut end = k;
        while end + 2 < chars.len() && chars[end + 1].0 == ' ' && single(end + 2) {
            end += 2;
        }
        if (end - k) / 2 + 1 >= 4 {
            for d in drop.iter_mut().take(end).skip(k + 1).step_by(2) {
                *d = true;
            }
        }
        k = end + 1;
    }
    chars
        .into_iter()
        .zip(drop)
        .filter_map(|(c, d)| (!d).then_some(c))
        .collect()
}
