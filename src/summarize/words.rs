//! The word lists of the faithfulness check and the compressor, kept as data: one word per line
//! in `words/*.txt`, read once. Order matters where a list is indexed (numbers, ordinals,
//! months: the line number is the value).

use std::sync::OnceLock;

fn list(cell: &'static OnceLock<Vec<&'static str>>, text: &'static str) -> &'static [&'static str] {
    cell.get_or_init(|| {
        text.lines()
            .map(str::trim)
            .filter(|l| !l.is_empty())
            .collect()
    })
}

macro_rules! word_list {
    ($(#[$doc:meta])* $name:ident, $file:literal) => {
        $(#[$doc])*
        pub(super) fn $name() -> &'static [&'static str] {
            static CELL: OnceLock<Vec<&'static str>> = OnceLock::new();
            list(&CELL, include_str!(concat!("words/", $file)))
        }
    };
}

word_list!(
    /// Capitalised words that begin sentences or are generic, never names: not checked.
    common,
    "common.txt"
);
word_list!(
    /// Words a summary uses to frame what the mail says, whatever the mail: not content
    /// (besides [`common`], which the topic check skips too).
    framing,
    "framing.txt"
);
word_list!(
    /// Verbs a summary puts after the name of the sender or another person.
    name_followers,
    "name_followers.txt"
);
word_list!(
    /// Number words, "zero" to "twenty": the index is the value.
    numbers,
    "numbers.txt"
);
word_list!(
    /// Ordinal words, "zeroth" to "twelfth": the index is the value.
    ordinals,
    "ordinals.txt"
);
word_list!(
    /// Month names, lower case, January first.
    months,
    "months.txt"
);

word_list!(
    /// Finite verb forms and auxiliaries common in mail and its summaries: the readability
    /// check's sign that a summary is a clause, not a list of nouns.
    verbs,
    "verbs.txt"
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn indexed_lists_are_complete_and_in_order() {
        assert_eq!(numbers().len(), 21);
        assert_eq!(numbers()[12], "twelve");
        assert_eq!(ordinals()[3], "third");
        assert_eq!(months().len(), 12);
        assert_eq!(months()[4], "may");
        assert!(common().contains(&"the"));
    }
}
