//! From `mail-parser`'s message model to our [`Email`]: headers, body choice, attachments,
//! caps and warnings. Only this file knows how mail-parser models MIME parts.

use mail_parser::{Address, HeaderValue, MessageParser, MessagePart, MimeHeaders, PartType};

use super::charset::cp1252_c1;
use super::{html, Attachment, BodyFormat, Email, EmailError, Limits, Mailbox};

/// Parse `raw` and build the [`Email`], enforcing `limits` on depth and part count.
pub(super) fn extract(raw: &[u8], limits: &Limits) -> Result<Email, EmailError> {
    let msg = match MessageParser::default().parse(raw) {
        Some(m) if !m.headers().is_empty() => m,
        _ => return Ok(headerless(raw)),
    };
    check_structure(&msg, limits)?;

    let mut warnings = Vec::new();
    for (id, part) in msg.parts.iter().enumerate() {
        // A message with headers and no body at all is flagged by mail-parser, but nothing
        // was lost.
        let empty = matches!(&part.body, PartType::Text(t) if t.is_empty());
        if part.is_encoding_problem && !empty {
            push_once(
                &mut warnings,
                format!("broken MIME structure or encoding in part {id}"),
            );
        }
    }
    // mail-parser files a text part cut off by a missing boundary under attachments; it is
    // the sender's text, so it belongs to the body.
    let recovered: Vec<u32> = msg
        .attachments
        .iter()
        .copied()
        .filter(|&id| {
            msg.parts.get(id as usize).is_some_and(|p| {
                p.is_encoding_problem
                    && matches!(p.body, PartType::Text(_))
                    && p.attachment_name().is_none()
            })
        })
        .collect();
    let (mut body, mut body_format) = body_of(&msg, &mut warnings);
    for &id in &recovered {
        if let Some(PartType::Text(t)) = msg.parts.get(id as usize).map(|p| &p.body) {
            if !t.trim().is_empty() {
                if !body.is_empty() {
                    body.push_str("\n\n");
                }
                body.push_str(&finish(t.to_string(), &mut warnings));
                body_format = BodyFormat::Plain;
            }
        }
    }
    let attachments = attachments_of(&msg, &recovered);
    // Hostile headers (a megabyte subject, ten thousand recipients) are cut to the caps, each
    // cut told in a warning, so that no later stage works on more than it must.
    let mut cap = Caps {
        limits,
        warnings: &mut warnings,
    };
    let attachments = attachments
        .into_iter()
        .map(|a| Attachment {
            name: a.name.map(|n| cap.text("an attachment name", n)),
            mime_type: cap.text("an attachment type", a.mime_type),
            size: a.size,
        })
        .collect();

    let precedence =
        header_text(&msg, "Precedence").map(|s| cap.text("Precedence", s.to_ascii_lowercase()));
    let auto_submitted = header_text(&msg, "Auto-Submitted")
        .map(|s| cap.text("Auto-Submitted", s.to_ascii_lowercase()));
    // mail-parser reads List-Id as an address list; the raw value is what people recognise.
    let list_id = header_text(&msg, "List-Id").map(|s| cap.text("List-Id", s));
    let subject = msg
        .subject()
        .map(|s| cap.text("Subject", s.trim().to_string()));
    let from = msg
        .from()
        .and_then(|a| cap.mailboxes("From", a).into_iter().next());
    let to = msg.to().map(|a| cap.mailboxes("To", a)).unwrap_or_default();
    let cc = msg.cc().map(|a| cap.mailboxes("Cc", a)).unwrap_or_default();
    let reply_to = msg
        .reply_to()
        .map(|a| cap.mailboxes("Reply-To", a))
        .unwrap_or_default();
    let message_id = msg
        .message_id()
        .map(|s| cap.text("Message-ID", clean_id(s)))
        .filter(|s| !s.is_empty());
    let in_reply_to = ids_of(msg.in_reply_to())
        .into_iter()
        .next()
        .map(|s| cap.text("In-Reply-To", s));
    let references = cap.list("References ids", ids_of(msg.references()));
    let references = references
        .into_iter()
        .map(|s| cap.text("a References id", s))
        .collect();

    let is_bulk = list_id.is_some()
        || !matches!(msg.list_unsubscribe(), HeaderValue::Empty)
        || matches!(precedence.as_deref(), Some("bulk" | "list" | "junk"));
    // Exchange marks its auto-replies with X-Auto-Response-Suppress; an "Automatic reply:"
    // subject alone is not enough (a person may write "Absence request").
    let auto_header = msg.header("X-Autoreply").is_some()
        || msg.header("X-Autorespond").is_some()
        || header_text(&msg, "X-Auto-Response-Suppress").is_some();
    let is_auto_reply = auto_submitted
        .as_deref()
        .is_some_and(|v| !v.starts_with("no"))
        || matches!(precedence.as_deref(), Some("auto_reply"))
        || msg.header("X-Autoreply").is_some()
        || msg.header("X-Autorespond").is_some()
        || msg.is_content_type("multipart", "report")
        || (auto_header || precedence.is_some())
            && subject.as_deref().is_some_and(looks_auto_subject);

    let date = msg.date().filter(|d| d.is_valid()).map(|d| d.to_rfc3339());

    Ok(Email {
        message_id,
        in_reply_to,
        references,
        from,
        to,
        cc,
        reply_to,
        subject,
        date,
        list_id,
        auto_submitted,
        precedence,
        is_bulk,
        is_auto_reply,
        body,
        body_format,
        attachments,
        size: raw.len(),
        warnings,
    })
}

/// Text without any header (a body pasted into a file, a digest fragment): the whole input is
/// the body, and the email is marked unclean.
fn headerless(raw: &[u8]) -> Email {
    let mut warnings = vec!["no header found; the whole input is read as the body".to_string()];
    let body = finish(String::from_utf8_lossy(raw).into_owned(), &mut warnings);
    Email {
        body_format: if body.trim().is_empty() {
            BodyFormat::None
        } else {
            BodyFormat::Plain
        },
        body,
        size: raw.len(),
        warnings,
        ..Email::default()
    }
}

/// Subjects that automatic replies use, in the languages we support best.
fn looks_auto_subject(s: &str) -> bool {
    let s = s.trim_start().to_lowercase();
    [
        "auto:",
        "automatic reply",
        "autoreply",
        "auto-reply",
        "out of office",
        "réponse automatique",
        "absence",
        "abwesenheitsnotiz",
        "automatische antwort",
        "undeliverable",
        "delivery status notification",
    ]
    .iter()
    .any(|p| s.starts_with(p))
}

/// Reject messages deeper or with more parts than the limits allow.
fn check_structure(msg: &mail_parser::Message<'_>, limits: &Limits) -> Result<(), EmailError> {
    // (message, part id, depth); iterative so a hostile message cannot overflow the stack.
    let mut stack: Vec<(&mail_parser::Message<'_>, u32, usize)> = vec![(msg, 0, 1)];
    let mut parts = 0usize;
    let mut max_depth = 0usize;
    while let Some((m, id, depth)) = stack.pop() {
        let Some(part) = m.parts.get(id as usize) else {
            continue;
        };
        parts += 1;
        max_depth = max_depth.max(depth);
        if parts > limits.max_parts {
            return Err(EmailError::TooManyParts {
                parts: count_parts(msg),
                limit: limits.max_parts,
            });
        }
        if max_depth > limits.max_depth {
            return Err(EmailError::TooDeep {
                depth: max_depth,
                limit: limits.max_depth,
            });
        }
        match &part.body {
            PartType::Multipart(children) => {
                for &c in children.iter().rev() {
                    // A multipart never lists itself; guard against cycles anyway.
                    if c != id {
                        stack.push((m, c, depth + 1));
                    }
                }
            }
            PartType::Message(nested) => stack.push((nested, 0, depth + 1)),
            _ => {}
        }
    }
    Ok(())
}

/// All parts, nested messages included (only called to report the figure).
fn count_parts(msg: &mail_parser::Message<'_>) -> usize {
    msg.parts.len()
        + msg
            .parts
            .iter()
            .map(|p| match &p.body {
                PartType::Message(m) => count_parts(m),
                _ => 0,
            })
            .sum::<usize>()
}

/// Choose the body: text/plain parts in order (HTML parts mixed in rendered to text), else the
/// HTML parts rendered, else nothing.
fn body_of(msg: &mail_parser::Message<'_>, warnings: &mut Vec<String>) -> (String, BodyFormat) {
    let mut pieces: Vec<String> = Vec::new();
    let mut any_plain = false;
    for &id in &msg.text_body {
        let Some(part) = msg.parts.get(id as usize) else {
            continue;
        };
        match &part.body {
            PartType::Text(t) if !t.trim().is_empty() => {
                note_part(part, warnings);
                any_plain = true;
                pieces.push(t.to_string());
            }
            PartType::Html(h) => {
                note_part(part, warnings);
                pieces.push(html::html_to_text(h));
            }
            _ => {}
        }
    }
    if any_plain {
        return (finish(pieces.join("\n\n"), warnings), BodyFormat::Plain);
    }
    // No usable text/plain: render the HTML alternatives.
    let mut pieces: Vec<String> = Vec::new();
    for &id in &msg.html_body {
        let Some(part) = msg.parts.get(id as usize) else {
            continue;
        };
        if let PartType::Html(h) = &part.body {
            note_part(part, warnings);
            pieces.push(html::html_to_text(h));
        }
    }
    let body = pieces.join("\n\n");
    if body.trim().is_empty() {
        (String::new(), BodyFormat::None)
    } else {
        (finish(body, warnings), BodyFormat::Html)
    }
}

/// Record charset fallbacks for a body part.
fn note_part(part: &MessagePart<'_>, warnings: &mut Vec<String>) {
    if let Some(cs) = part.content_type().and_then(|ct| ct.attribute("charset")) {
        let known = mail_parser::decoders::charsets::map::charset_decoder(cs.as_bytes()).is_some()
            || is_utf8_name(cs);
        if !known {
            push_once(
                warnings,
                format!("unknown charset {:?}, decoded as UTF-8", truncate(cs, 40)),
            );
        }
    }
}

fn is_utf8_name(cs: &str) -> bool {
    let c = cs.trim().trim_matches('"').to_ascii_lowercase();
    matches!(c.as_str(), "utf-8" | "utf8" | "us-ascii" | "ascii" | "")
}

fn truncate(s: &str, n: usize) -> &str {
    match s.char_indices().nth(n) {
        Some((i, _)) => &s[..i],
        None => s,
    }
}

/// Line endings to `\n`, C1 controls from mislabelled Windows-1252 mapped, invalid bytes noted.
fn finish(mut body: String, warnings: &mut Vec<String>) -> String {
    if body.contains('\r') {
        body = body.replace("\r\n", "\n").replace('\r', "\n");
    }
    if body.contains('\u{FFFD}') {
        push_once(
            warnings,
            "invalid bytes for the declared charset were replaced".to_string(),
        );
    }
    if body.chars().any(|c| ('\u{80}'..='\u{9f}').contains(&c)) {
        // C1 controls never occur in real text: they are Windows-1252 bytes decoded as Latin-1.
        body = body.chars().map(cp1252_c1).collect();
    }
    body
}

fn push_once(warnings: &mut Vec<String>, w: String) {
    if !warnings.contains(&w) {
        warnings.push(w);
    }
}

/// Attachments in message order: name, type, decoded size. Nested messages count as one.
fn attachments_of(msg: &mail_parser::Message<'_>, skip: &[u32]) -> Vec<Attachment> {
    msg.attachments
        .iter()
        .filter(|id| !skip.contains(id))
        .filter_map(|&id| msg.parts.get(id as usize))
        .map(|part| {
            let mime_type = part
                .content_type()
                .map(|ct| match &ct.c_subtype {
                    Some(sub) => format!("{}/{}", ct.c_type, sub),
                    None => ct.c_type.to_string(),
                })
                .unwrap_or_else(|| match part.body {
                    PartType::Message(_) => "message/rfc822".to_string(),
                    PartType::Text(_) => "text/plain".to_string(),
                    PartType::Html(_) => "text/html".to_string(),
                    _ => "application/octet-stream".to_string(),
                })
                .to_ascii_lowercase();
            let size = match &part.body {
                PartType::Message(m) => m.raw_message.len(),
                other => other.len(),
            };
            Attachment {
                name: part
                    .attachment_name()
                    .map(|n| n.trim().to_string())
                    .filter(|n| !n.is_empty()),
                mime_type,
                size,
            }
        })
        .collect()
}

/// The header caps of [`Limits`], applied with a warning for each cut.
struct Caps<'a> {
    limits: &'a Limits,
    warnings: &'a mut Vec<String>,
}

impl Caps<'_> {
    /// `s` cut to `max_header_chars` characters.
    fn text(&mut self, what: &str, s: String) -> String {
        let max = self.limits.max_header_chars;
        let Some((cut, _)) = s.char_indices().nth(max) else {
            return s;
        };
        let chars = max + s[cut..].chars().count();
        push_once(
            self.warnings,
            format!("{what} of {chars} characters was cut to its first {max}"),
        );
        let mut s = s;
        s.truncate(cut);
        s
    }

    /// `v` cut to `max_recipients` items.
    fn list<T>(&mut self, what: &str, mut v: Vec<T>) -> Vec<T> {
        let max = self.limits.max_recipients;
        if v.len() > max {
            push_once(
                self.warnings,
                format!(
                    "{what}: {} found, the first {max} kept, {} dropped",
                    v.len(),
                    v.len() - max
                ),
            );
            v.truncate(max);
        }
        v
    }

    /// The mailboxes of a header, capped in number and in the length of each name and address.
    fn mailboxes(&mut self, field: &str, a: &Address<'_>) -> Vec<Mailbox> {
        let all = self.list(&format!("{field} addresses"), mailboxes(a));
        all.into_iter()
            .map(|m| Mailbox {
                name: m.name.map(|n| self.text(&format!("a {field} name"), n)),
                address: m
                    .address
                    .map(|n| self.text(&format!("a {field} address"), n)),
            })
            .collect()
    }
}

fn mailboxes(a: &Address<'_>) -> Vec<Mailbox> {
    a.iter()
        .map(|addr| Mailbox {
            name: addr
                .name()
                .map(|n| n.trim().to_string())
                .filter(|n| !n.is_empty()),
            address: addr
                .address()
                .map(|n| n.trim().to_string())
                .filter(|n| !n.is_empty()),
        })
        .filter(|m| m.name.is_some() || m.address.is_some())
        .collect()
}

fn clean_id(s: &str) -> String {
    s.trim()
        .trim_start_matches('<')
        .trim_end_matches('>')
        .trim()
        .to_string()
}

fn ids_of(v: &HeaderValue<'_>) -> Vec<String> {
    match v {
        HeaderValue::Text(t) => vec![clean_id(t)],
        HeaderValue::TextList(l) => l.iter().map(|t| clean_id(t)).collect(),
        _ => Vec::new(),
    }
    .into_iter()
    .filter(|s| !s.is_empty())
    .collect()
}

/// The text of a header mail-parser does not model (Precedence, Auto-Submitted).
fn header_text(msg: &mail_parser::Message<'_>, name: &str) -> Option<String> {
    msg.header_raw(name)
        .map(|s| {
            // Strip a trailing comment: `Auto-Submitted: auto-replied (vacation)`.
            let s = s.trim();
            s.split('(').next().unwrap_or(s).trim().to_string()
        })
        .filter(|s| !s.is_empty())
}
