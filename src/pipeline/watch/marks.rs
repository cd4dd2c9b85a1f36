//! What a watcher shows in the mailbox, when asked: IMAP keywords from a message's record, and
//! the move of junk that needs no review to the junk folder.
//!
//! The keywords: `$MailroomUrgent` (priority decided urgent), `$MailroomReview` (the record
//! needs review, or the message could not be triaged), `$MailroomJunk` (junk decided spam or
//! phishing, sure or not), `$MailroomCategory_<label>` (the category decided). Keywords are only
//! added, never removed; system flags (`\Seen`, `\Deleted`, …) are never set, so nothing is
//! marked read. A message is moved only when its junk decision is not `legitimate` and needs no
//! review (its probability is above the label's threshold and nothing else puts it in doubt).
//!
//! The marks come from the record as JSON (just made, or read back from the output or the
//! store after a restart), so a restart that finishes the marks of a crashed run decides them
//! exactly as the first run would have.

use serde_json::Value;

use crate::email::sources::imap::{ImapError, Mailbox};

/// The keyword for an urgent message.
pub const URGENT: &str = "$MailroomUrgent";
/// The keyword for a message a person must look at.
pub const REVIEW: &str = "$MailroomReview";
/// The keyword for junk.
pub const JUNK: &str = "$MailroomJunk";
/// The prefix of the category keywords (`$MailroomCategory_complaint`).
pub const CATEGORY_PREFIX: &str = "$MailroomCategory_";

/// Junk labels that are not junk.
const NOT_JUNK: &[&str] = &["legitimate", "ham"];

/// What to do to one message.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Marks {
    /// Keywords to add.
    pub keywords: Vec<String>,
    /// Whether it is junk decided without doubt (only such junk is moved).
    pub sure_junk: bool,
}

impl Marks {
    /// The marks of a record (or error record) as JSON.
    pub fn of(record: &Value) -> Marks {
        let mut m = Marks::default();
        if record.get("error").is_some() {
            m.keywords.push(REVIEW.into());
            return m;
        }
        let axes = record["classification"].as_array().map(Vec::as_slice);
        let axis = |name: &str| axes.unwrap_or(&[]).iter().find(|a| a["axis"] == name);
        if axis("priority").is_some_and(|a| a["label"] == "urgent") {
            m.keywords.push(URGENT.into());
        }
        if record["needs_review"].as_bool().unwrap_or(false) {
            m.keywords.push(REVIEW.into());
        }
        if let Some(junk) = axis("junk") {
            let label = junk["label"].as_str().unwrap_or("legitimate");
            if !NOT_JUNK.contains(&label) {
                m.keywords.push(JUNK.into());
                m.sure_junk = junk["needs_review"] == false;
            }
        }
        if let Some(label) = axis("category").and_then(|a| a["label"].as_str()) {
            m.keywords.push(category_keyword(label));
        }
        m
    }
}

/// `$MailroomCategory_<label>`, with any character an IMAP atom cannot hold as `_`.
pub fn category_keyword(label: &str) -> String {
    let clean: String = label
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '_' || c == '-' || c == '.' {
                c
            } else {
                '_'
            }
        })
        .collect();
    format!("{CATEGORY_PREFIX}{clean}")
}

/// What the watcher is asked to do to the mailbox.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MarkOptions {
    /// Add the keywords.
    pub keywords: bool,
    /// Move junk that needs no review to this folder.
    pub move_junk: Option<String>,
}

impl MarkOptions {
    /// Whether anything is to be done at all.
    pub fn any(&self) -> bool {
        self.keywords || self.move_junk.is_some()
    }
}

/// What applying marks to one message did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Applied {
    /// Keywords were added.
    pub keyworded: bool,
    /// The message was moved.
    pub moved: bool,
}

/// Apply `marks` to message `uid`: keywords first (so a moved message carries them), then the
/// move. A message that is gone (moved or expunged by someone else meanwhile) is left alone.
pub fn apply(
    mailbox: &mut impl Mailbox,
    uid: u32,
    marks: &Marks,
    opts: &MarkOptions,
) -> Result<Applied, ImapError> {
    let mut done = Applied::default();
    if opts.keywords && !marks.keywords.is_empty() {
        let k: Vec<&str> = marks.keywords.iter().map(String::as_str).collect();
        match mailbox.set_keywords(uid, &k) {
            Ok(()) => done.keyworded = true,
            Err(ImapError::NoSuchMessage { .. }) => return Ok(done),
            Err(e) => return Err(e),
        }
    }
    if let (Some(folder), true) = (&opts.move_junk, marks.sure_junk) {
        match mailbox.move_to(uid, folder) {
            Ok(_) => done.moved = true,
            Err(ImapError::NoSuchMessage { .. }) => {}
            Err(e) => return Err(e),
        }
    }
    Ok(done)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn axis(name: &str, label: &str, review: bool) -> Value {
        json!({"axis": name, "label": label, "probability": 0.9, "needs_review": review})
    }

    #[test]
    fn keywords_follow_the_decisions() {
        let r = json!({
            "needs_review": true,
            "classification": [
                axis("category", "complaint", false),
                axis("priority", "urgent", true),
                axis("junk", "legitimate", false),
            ]
        });
        let m = Marks::of(&r);
        assert_eq!(m.keywords, [URGENT, REVIEW, "$MailroomCategory_complaint"]);
        assert!(!m.sure_junk);
    }

    #[test]
    fn only_junk_without_doubt_is_sure() {
        let sure = json!({"needs_review": false, "classification": [axis("junk", "spam", false)]});
        let doubt =
            json!({"needs_review": true, "classification": [axis("junk", "phishing", true)]});
        assert!(Marks::of(&sure).sure_junk);
        assert_eq!(Marks::of(&sure).keywords, [JUNK]);
        let d = Marks::of(&doubt);
        assert!(!d.sure_junk);
        assert_eq!(d.keywords, [REVIEW, JUNK]);
    }

    #[test]
    fn an_error_record_asks_for_review_and_labels_become_atoms() {
        let e = json!({"error": {"stage": "read", "kind": "too_large"}});
        assert_eq!(Marks::of(&e).keywords, [REVIEW]);
        assert_eq!(
            category_keyword("case update (new)"),
            "$MailroomCategory_case_update__new_"
        );
    }
}
