//! Conversations: messages grouped into threads, first by their headers (a message joins the
//! conversation of any message its `In-Reply-To` or `References` name, and messages naming the
//! same ancestor share a conversation even when that ancestor is not in the input), then by
//! subject (the same subject once `Re:`, `Fwd:` and list tags are dropped, with a participant in
//! common). Within a conversation messages are in date order (input order where dates are
//! missing or equal).

use std::collections::HashMap;

use serde::Serialize;

use crate::email::Email;

/// What grouping reads of one message.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ThreadKey {
    /// Message-ID, without angle brackets.
    pub message_id: Option<String>,
    /// In-Reply-To and References ids, oldest first.
    pub parents: Vec<String>,
    /// The subject, normalised by [`normalize_subject`].
    pub subject: String,
    /// Sender and recipient addresses, lower case.
    pub participants: Vec<String>,
    /// The Date header as RFC 3339.
    pub date: Option<String>,
}

impl ThreadKey {
    /// The key of a parsed email.
    pub fn of(email: &Email) -> ThreadKey {
        let mut parents = email.references.clone();
        if let Some(r) = &email.in_reply_to {
            if !parents.contains(r) {
                parents.push(r.clone());
            }
        }
        let participants = email
            .from
            .iter()
            .chain(&email.to)
            .chain(&email.cc)
            .filter_map(|m| m.address.as_deref())
            .map(str::to_lowercase)
            .collect();
        ThreadKey {
            message_id: email.message_id.clone(),
            parents,
            subject: normalize_subject(email.subject.as_deref().unwrap_or("")),
            participants,
            date: email.date.clone(),
        }
    }
}

/// One conversation: its id and its messages (indices into the grouped keys), in order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Conversation {
    /// The Message-ID of its first message, or `subject:<normalised subject>` when it has none.
    pub id: String,
    /// Its messages, oldest first.
    pub members: Vec<usize>,
}

/// The subject without reply and forward prefixes (`Re:`, `RE[2]:`, `Fwd:`, `FW:`, `AW:`,
/// `WG:`, `SV:`, `Réf :`), list tags (`[team]`), and with whitespace collapsed, lower case.
pub fn normalize_subject(subject: &str) -> String {
    let mut s = subject.trim();
    loop {
        let before = s;
        if let Some(rest) = s.strip_prefix('[') {
            if let Some(end) = rest.find(']') {
                s = rest[end + 1..].trim_start();
            }
        }
        if let Some(colon) = s.find(':') {
            let head = s[..colon].trim().to_lowercase();
            let head = head.split('[').next().unwrap_or("").trim();
            if matches!(
                head,
                "re" | "fw" | "fwd" | "aw" | "wg" | "sv" | "vs" | "réf" | "ref" | "tr" | "r"
            ) {
                s = s[colon + 1..].trim_start();
            }
        }
        if s == before {
            break;
        }
    }
    s.split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
        .to_lowercase()
}

/// Union-find over message indices.
struct Sets(Vec<usize>);

impl Sets {
    fn find(&mut self, i: usize) -> usize {
        let mut r = i;
        while self.0[r] != r {
            r = self.0[r];
        }
        let mut j = i;
        while self.0[j] != r {
            let next = self.0[j];
            self.0[j] = r;
            j = next;
        }
        r
    }

    fn join(&mut self, a: usize, b: usize) {
        let (ra, rb) = (self.find(a), self.find(b));
        if ra != rb {
            // The smaller index leads, so groups are stable in input order.
            let (lo, hi) = if ra < rb { (ra, rb) } else { (rb, ra) };
            self.0[hi] = lo;
        }
    }
}

/// Group messages into conversations, in order of each conversation's first message.
pub fn group(keys: &[ThreadKey]) -> Vec<Conversation> {
    let mut sets = Sets((0..keys.len()).collect());
    // By headers: a message and every id it names; two messages naming the same id.
    let mut by_id: HashMap<&str, usize> = HashMap::new();
    for (i, k) in keys.iter().enumerate() {
        if let Some(id) = k.message_id.as_deref() {
            match by_id.get(id) {
                Some(&j) => sets.join(i, j),
                None => {
                    by_id.insert(id, i);
                }
            }
        }
    }
    for (i, k) in keys.iter().enumerate() {
        for p in &k.parents {
            match by_id.get(p.as_str()) {
                Some(&j) => sets.join(i, j),
                None => {
                    by_id.insert(p.as_str(), i);
                }
            }
        }
    }
    // By subject: the same non-empty subject and a participant in common.
    let mut by_subject: HashMap<&str, Vec<usize>> = HashMap::new();
    for (i, k) in keys.iter().enumerate() {
        if !k.subject.is_empty() {
            by_subject.entry(k.subject.as_str()).or_default().push(i);
        }
    }
    for members in by_subject.values() {
        for (n, &i) in members.iter().enumerate() {
            for &j in &members[..n] {
                let shared = keys[i]
                    .participants
                    .iter()
                    .any(|p| keys[j].participants.contains(p));
                if shared || (keys[i].participants.is_empty() && keys[j].participants.is_empty()) {
                    sets.join(i, j);
                }
            }
        }
    }
    let mut groups: Vec<(usize, Vec<usize>)> = Vec::new();
    let mut slot: HashMap<usize, usize> = HashMap::new();
    for i in 0..keys.len() {
        let root = sets.find(i);
        let g = *slot.entry(root).or_insert_with(|| {
            groups.push((root, Vec::new()));
            groups.len() - 1
        });
        groups[g].1.push(i);
    }
    groups
        .into_iter()
        .map(|(_, mut members)| {
            // By instant (dates carry their own offsets); undated messages keep their place.
            let at = |i: usize| {
                keys[i]
                    .date
                    .as_deref()
                    .and_then(|d| d.parse::<jiff::Timestamp>().ok())
            };
            members.sort_by(|&a, &b| match (at(a), at(b)) {
                (Some(x), Some(y)) => x.cmp(&y).then(a.cmp(&b)),
                _ => a.cmp(&b),
            });
            let first = &keys[members[0]];
            let id = first
                .message_id
                .clone()
                .or_else(|| first.parents.first().cloned())
                .unwrap_or_else(|| format!("subject:{}", first.subject));
            Conversation { id, members }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(id: &str, parents: &[&str], subject: &str, people: &[&str], date: &str) -> ThreadKey {
        ThreadKey {
            message_id: (!id.is_empty()).then(|| id.to_string()),
            parents: parents.iter().map(|p| p.to_string()).collect(),
            subject: normalize_subject(subject),
            participants: people.iter().map(|p| p.to_string()).collect(),
            date: (!date.is_empty()).then(|| date.to_string()),
        }
    }

    #[test]
    fn subjects_lose_reply_forward_and_list_prefixes() {
        assert_eq!(
            normalize_subject("Re: RE[2]: Fwd:  Bins  missed"),
            "bins missed"
        );
        assert_eq!(normalize_subject("[council-team] AW: WG: Antrag"), "antrag");
        assert_eq!(normalize_subject("Réf : permis"), "permis");
        assert_eq!(
            normalize_subject("Regarding: the fee"),
            "regarding: the fee"
        );
    }

    #[test]
    fn headers_group_replies_even_when_the_first_message_is_missing() {
        let keys = vec![
            key(
                "b",
                &["a"],
                "Re: bins",
                &["x@e.org"],
                "2024-05-02T10:00:00+02:00",
            ),
            key(
                "c",
                &["a", "b"],
                "Re: bins",
                &["y@e.org"],
                "2024-05-02T07:00:00Z",
            ),
            key("d", &["a"], "something else", &[], "2024-05-03T09:00:00Z"),
            key("e", &[], "Parking permit", &["z@e.org"], ""),
        ];
        let g = group(&keys);
        assert_eq!(g.len(), 2);
        // Date order inside, the first message's id names the conversation.
        assert_eq!(g[0].members, vec![1, 0, 2]);
        assert_eq!(g[0].id, "c");
        assert_eq!(g[1].members, vec![3]);
    }

    #[test]
    fn the_same_subject_needs_a_shared_participant() {
        let keys = vec![
            key(
                "1",
                &[],
                "Missed bin collection",
                &["ann@e.org", "council@e.gov"],
                "",
            ),
            key(
                "2",
                &[],
                "RE: Missed bin collection",
                &["council@e.gov", "ann@e.org"],
                "",
            ),
            key(
                "3",
                &[],
                "Missed bin collection",
                &["bob@e.org", "other@e.gov"],
                "",
            ),
        ];
        let g = group(&keys);
        assert_eq!(g.len(), 2);
        assert_eq!(g[0].members, vec![0, 1]);
        assert_eq!(g[1].members, vec![2]);
    }

    #[test]
    fn empty_subjects_never_join() {
        let keys = vec![
            key("1", &[], "", &["a@e.org"], ""),
            key("2", &[], "", &["a@e.org"], ""),
        ];
        assert_eq!(group(&keys).len(), 2);
    }
}
