//! Encoded variants of a text to scan again: base64, hex, percent-encoded and binary runs
//! decoded, and each line in ROT13 and reversed. Only decodings that read as text are kept.

use std::ops::Range;

use regex::Regex;

/// Each decoded variant with the original range it came from.
pub fn variants(text: &str, run: &Regex) -> Vec<(Range<usize>, String)> {
    let mut out = Vec::new();
    for m in run.find_iter(text) {
        let s = m.as_str();
        let decoded = if s.starts_with("\\u") {
            escapes(s)
        } else if s.starts_with(['.', '-']) {
            morse(s)
        } else if s.contains('%') {
            percent(s)
        } else if s.starts_with(['0', '1'])
            && s.chars().all(|c| c == '0' || c == '1' || c.is_whitespace())
        {
            binary(s)
        } else if s.len() % 2 == 0 && s.chars().all(|c| c.is_ascii_hexdigit()) {
            hex(s)
        } else {
            base64(s)
        };
        if let Some(d) = decoded.filter(|d| reads_as_text(d)) {
            out.push((m.range(), d));
        } else if let Some(d) = base32(s).filter(|d| reads_as_text(d)) {
            out.push((m.range(), d));
        }
    }
    let mut at = 0;
    for line in text.split_inclusive('\n') {
        let range = at..at + line.trim_end().len();
        at += line.len();
        if line.chars().filter(|c| c.is_alphabetic()).count() < 20 {
            continue;
        }
        out.push((range.clone(), line.chars().map(rot13).collect()));
        out.push((range, line.trim_end().chars().rev().collect()));
    }
    out
}

/// At least 12 characters, nine in ten printable ASCII or whitespace, and some spaces.
fn reads_as_text(s: &str) -> bool {
    let n = s.chars().count();
    let printable = s
        .chars()
        .filter(|c| c.is_ascii_graphic() || *c == ' ' || *c == '\n')
        .count();
    n >= 12 && printable * 10 >= n * 9 && s.contains(' ')
}

fn rot13(c: char) -> char {
    match c {
        'a'..='z' => (((c as u8 - b'a') + 13) % 26 + b'a') as char,
        'A'..='Z' => (((c as u8 - b'A') + 13) % 26 + b'A') as char,
        _ => c,
    }
}

fn base64(s: &str) -> Option<String> {
    let mut bits: u32 = 0;
    let mut nbits = 0;
    let mut out = Vec::with_capacity(s.len() * 3 / 4);
    for c in s.trim_end_matches('=').bytes() {
        let v = match c {
            b'A'..=b'Z' => c - b'A',
            b'a'..=b'z' => c - b'a' + 26,
            b'0'..=b'9' => c - b'0' + 52,
            b'+' | b'-' => 62,
            b'/' | b'_' => 63,
            _ => return None,
        };
        bits = (bits << 6) | u32::from(v);
        nbits += 6;
        if nbits >= 8 {
            nbits -= 8;
            out.push((bits >> nbits) as u8);
            bits &= (1 << nbits) - 1;
        }
    }
    String::from_utf8(out).ok()
}

fn hex(s: &str) -> Option<String> {
    let bytes: Option<Vec<u8>> = (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(s.get(i..i + 2)?, 16).ok())
        .collect();
    String::from_utf8(bytes?).ok()
}

fn percent(s: &str) -> Option<String> {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' && i + 2 < b.len() {
            let v = std::str::from_utf8(&b[i + 1..i + 3])
                .ok()
                .and_then(|h| u8::from_str_radix(h, 16).ok());
            if let Some(v) = v {
                out.push(v);
                i += 3;
                continue;
            }
        }
        out.push(b[i]);
        i += 1;
    }
    String::from_utf8(out).ok()
}

fn binary(s: &str) -> Option<String> {
    let digits: Vec<u8> = s.bytes().filter(|b| *b == b'0' || *b == b'1').collect();
    let bytes: Vec<u8> = digits
        .chunks(8)
        .filter(|c| c.len() == 8)
        .map(|c| c.iter().fold(0u8, |acc, b| (acc << 1) | (b - b'0')))
        .collect();
    String::from_utf8(bytes).ok()
}

/// RFC 4648 base32 (upper case, `=` padding).
fn base32(s: &str) -> Option<String> {
    let mut bits: u64 = 0;
    let mut nbits = 0;
    let mut out = Vec::with_capacity(s.len() * 5 / 8);
    for c in s.trim_end_matches('=').bytes() {
        let v = match c {
            b'A'..=b'Z' => c - b'A',
            b'2'..=b'7' => c - b'2' + 26,
            _ => return None,
        };
        bits = (bits << 5) | u64::from(v);
        nbits += 5;
        if nbits >= 8 {
            nbits -= 8;
            out.push((bits >> nbits) as u8);
            bits &= (1 << nbits) - 1;
        }
    }
    String::from_utf8(out).ok()
}

/// `\u0049\u0067...` escapes.
fn escapes(s: &str) -> Option<String> {
    s.split("\\u")
        .filter(|p| !p.is_empty())
        .map(|p| {
            u32::from_str_radix(p.get(..4)?, 16)
                .ok()
                .and_then(char::from_u32)
        })
        .collect()
}

/// International Morse code, letters split by spaces and words by ` / `.
fn morse(s: &str) -> Option<String> {
    const CODES: [(&str, char); 36] = [
        (".-", 'a'),
        ("-...", 'b'),
        ("-.-.", 'c'),
        ("-..", 'd'),
        (".", 'e'),
        ("..-.", 'f'),
        ("--.", 'g'),
        ("....", 'h'),
        ("..", 'i'),
        (".---", 'j'),
        ("-.-", 'k'),
        (".-..", 'l'),
        ("--", 'm'),
        ("-.", 'n'),
        ("---", 'o'),
        (".--.", 'p'),
        ("--.-", 'q'),
        (".-.", 'r'),
        ("...", 's'),
        ("-", 't'),
        ("..-", 'u'),
        ("...-", 'v'),
        (".--", 'w'),
        ("-..-", 'x'),
        ("-.--", 'y'),
        ("--..", 'z'),
        ("-----", '0'),
        (".----", '1'),
        ("..---", '2'),
        ("...--", '3'),
        ("....-", '4'),
        (".....", '5'),
        ("-....", '6'),
        ("--...", '7'),
        ("---..", '8'),
        ("----.", '9'),
    ];
    let mut out = String::new();
    for word in s.split(" / ") {
        for letter in word.split_whitespace() {
            out.push(CODES.iter().find(|(c, _)| *c == letter)?.1);
        }
        out.push(' ');
    }
    Some(out.trim_end().to_string())
}
