//! Character-set repairs shared by the body decoder and the HTML renderer: text that was
//! decoded as Latin-1 but written in Windows-1252.

/// Map a C1 control (U+0080..U+009F) to the Windows-1252 character with that byte value.
pub(super) fn cp1252_c1(c: char) -> char {
    const MAP: [char; 32] = [
        '€', '\u{81}', '‚', 'ƒ', '„', '…', '†', '‡', 'ˆ', '‰', 'Š', '‹', 'Œ', '\u{8d}', 'Ž',
        '\u{8f}', '\u{90}', '‘', '’', '“', '”', '•', '–', '—', '˜', '™', 'š', '›', 'œ', '\u{9d}',
        'ž', 'Ÿ',
    ];
    let u = c as u32;
    if (0x80..=0x9f).contains(&u) {
        MAP[(u - 0x80) as usize]
    } else {
        c
    }
}
