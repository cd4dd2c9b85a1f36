//! Conversations through the engine: read messages, group them ([`super::conversations`]),
//! summarise a conversation as one (who said what, in order) with what is still open, and
//! triage a stream conversation by conversation, each record saying where it sits.

use std::collections::HashSet;

use serde::Serialize;

use crate::email::{Email, Message};
use crate::summarize::{sentences, Summary, SummaryError, SummaryInput, ThreadMessage};
use crate::text::{self, PrepareOptions};

use super::conversations::{group, ThreadKey};
use super::engine::Engine;
use super::record::Output;
use super::stream::RunStats;
use super::PipelineError;

/// Most open questions listed for a conversation.
const MAX_OPEN: usize = 3;

/// The messages of one conversation, oldest first.
#[derive(Debug)]
pub struct Thread {
    /// The conversation's id (the first message's Message-ID, or its subject).
    pub id: String,
    /// Its messages, oldest first.
    pub messages: Vec<Message>,
}

/// Where a message sits in its conversation, as its record says; the conversation's last
/// message (the one a person answers) carries the summary of the whole conversation.
#[derive(Debug, Clone, Serialize)]
pub struct ConversationInfo {
    /// The conversation's id.
    pub id: String,
    /// This message's place, from 0 (oldest).
    pub position: usize,
    /// Messages in the conversation.
    pub size: usize,
    /// The conversation summarised as one (on its last message, when it has more than one).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub summary: Option<Summary>,
    /// Questions still open: asked in the last messages, with no reply from anyone else since.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub open: Vec<String>,
}

/// A conversation summarised as one.
#[derive(Debug, Clone, Serialize)]
pub struct ThreadSummary {
    /// The conversation's id.
    pub conversation: String,
    /// Its messages' ids, oldest first.
    pub messages: Vec<String>,
    /// The summary (extractive briefs name each speaker: "Ann: ... Bob: ...").
    pub summary: Summary,
    /// Questions still open.
    pub open: Vec<String>,
}

/// Group messages into conversations. A message that cannot be parsed is a conversation of
/// its own (its triage gives it an error record).
pub fn threads(messages: Vec<Message>, engine: &Engine) -> Vec<Thread> {
    let keys: Vec<ThreadKey> = messages
        .iter()
        .map(|m| {
            m.parse(&engine.config.limits)
                .map(|e| ThreadKey::of(&e))
                .unwrap_or_default()
        })
        .collect();
    let mut slots: Vec<Option<Message>> = messages.into_iter().map(Some).collect();
    group(&keys)
        .into_iter()
        .map(|c| Thread {
            id: c.id,
            messages: c.members.iter().filter_map(|&i| slots[i].take()).collect(),
        })
        .collect()
}

impl Engine {
    /// Summarise a conversation as one, with its open questions. Messages that cannot be
    /// parsed are left out of the summary.
    pub fn summarize_thread(&self, thread: &Thread) -> Result<ThreadSummary, SummaryError> {
        let emails: Vec<Email> = thread
            .messages
            .iter()
            .filter_map(|m| m.parse(&self.config.limits).ok())
            .collect();
        let input = thread_input(&emails);
        let summary = self.summarize(&input)?;
        Ok(ThreadSummary {
            conversation: thread.id.clone(),
            messages: thread.messages.iter().map(|m| m.id.clone()).collect(),
            summary,
            open: open_questions(&emails),
        })
    }

    /// Triage a stream conversation by conversation (all messages are read first to group
    /// them): records come out grouped, oldest first within a conversation, each with its
    /// [`ConversationInfo`]; a conversation's last record carries its summary.
    pub fn run_threads<I, F>(
        &self,
        messages: I,
        skip: &HashSet<String>,
        mut emit: F,
    ) -> Result<RunStats, PipelineError>
    where
        I: Iterator<Item = Message>,
        F: FnMut(&Output) -> std::io::Result<()>,
    {
        let threads = threads(messages.collect(), self);
        let summaries: Vec<Option<ThreadSummary>> = threads
            .iter()
            .map(|t| {
                (t.messages.len() > 1)
                    .then(|| self.summarize_thread(t).ok())
                    .flatten()
            })
            .collect();
        // (conversation, position, size) of every message that runs, in run order.
        let mut places = Vec::new();
        let mut flat = Vec::new();
        let mut ids = Vec::new();
        let mut skipped = 0;
        for (ti, t) in threads.into_iter().enumerate() {
            let size = t.messages.len();
            ids.push(t.id);
            for (position, m) in t.messages.into_iter().enumerate() {
                if skip.contains(&m.id) {
                    skipped += 1;
                } else {
                    places.push((ti, position, size));
                    flat.push(m);
                }
            }
        }
        let mut places = places.into_iter();
        let stats = self.run(flat.into_iter(), &HashSet::new(), |out| {
            let mut out = out.clone();
            if let (Output::Record(r), Some((t, position, size))) = (&mut out, places.next()) {
                let s = summaries[t].as_ref().filter(|_| position + 1 == size);
                let mut info = ConversationInfo {
                    id: ids[t].clone(),
                    position,
                    size,
                    summary: s.map(|s| s.summary.clone()),
                    open: s.map(|s| s.open.clone()).unwrap_or_default(),
                };
                if self.config.redact {
                    super::redact::redact_conversation(&mut info);
                }
                r.conversation = Some(info);
            }
            emit(&out)
        })?;
        Ok(RunStats { skipped, ..stats })
    }
}

/// The summariser's input for a conversation: each message's cleaned body (quotes stripped,
/// so nothing is read twice) after its sender, in order.
pub fn thread_input(emails: &[Email]) -> SummaryInput {
    let mut body = String::new();
    let mut messages = Vec::new();
    let opts = PrepareOptions {
        max_tokens: usize::MAX / 4,
        ..PrepareOptions::default()
    };
    for e in emails {
        let cleaned = text::prepare(e, &opts).body;
        let from = e.from.as_ref().map(|f| f.to_string());
        if let Some(f) = &from {
            body.push_str(&format!("{f} wrote:\n"));
        }
        body.push_str(cleaned.trim());
        body.push_str("\n\n");
        messages.push(ThreadMessage {
            from,
            body: cleaned,
        });
    }
    SummaryInput {
        from: None,
        subject: emails.first().and_then(|e| e.subject.clone()),
        body,
        messages,
    }
}

/// The questions of the last sender's latest messages (back to the last message from someone
/// else): nobody else has written since, so they are still open.
pub fn open_questions(emails: &[Email]) -> Vec<String> {
    let sender = |e: &Email| {
        e.from
            .as_ref()
            .and_then(|f| f.address.clone())
            .map(|a| a.to_lowercase())
    };
    let Some(last) = emails.last() else {
        return Vec::new();
    };
    let who = sender(last);
    let mut open = Vec::new();
    for e in emails.iter().rev() {
        if sender(e) != who {
            break;
        }
        let body = text::prepare(e, &PrepareOptions::default()).body;
        let mut qs: Vec<String> = sentences::split(&body)
            .into_iter()
            .filter(|s| s.trim_end().ends_with('?'))
            .collect();
        qs.append(&mut open);
        open = qs;
    }
    open.truncate(MAX_OPEN);
    open
}

#[cfg(test)]
mod tests {
    use super::*;

    fn email(from: &str, body: &str) -> Email {
        Email::from_parts(Some(from), Some("Bins"), body)
    }

    #[test]
    fn open_questions_are_the_last_senders_since_anyone_else_wrote() {
        let thread = vec![
            email("Ann <ann@e.org>", "Were the bins collected? Thanks."),
            email("Council <c@e.gov>", "They were collected on Tuesday."),
            email(
                "Ann <ann@e.org>",
                "No, they were not. When will you come back?",
            ),
            email("Ann <ann@e.org>", "Also, can I get a new lid?"),
        ];
        assert_eq!(
            open_questions(&thread),
            vec!["When will you come back?", "Also, can I get a new lid?"]
        );
        assert!(open_questions(&thread[..2]).is_empty());
    }

    #[test]
    fn a_thread_input_names_each_sender_in_order() {
        let thread = vec![
            email("Ann <ann@e.org>", "Our bins were missed on Mill Lane."),
            email("Bob <bob@e.org>", "Ours too, on the same day."),
        ];
        let input = thread_input(&thread);
        assert_eq!(input.messages.len(), 2);
        assert_eq!(input.messages[1].from.as_deref(), Some("Bob <bob@e.org>"));
        assert!(input.body.starts_with("Ann <ann@e.org> wrote:\nOur bins"));
        assert_eq!(input.subject.as_deref(), Some("Bins"));
    }
}
