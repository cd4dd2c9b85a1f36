//! What the models will see of a message, for people: the parsed email and the prepared text
//! (`mailroom parse`). No model runs.

use serde::Serialize;

use crate::email::{Email, Limits, Message, Provenance};
use crate::text::{self, PrepareOptions, Prepared};

use super::record::ErrorRecord;

/// How to parse and prepare for inspection.
#[derive(Debug, Clone, Copy)]
pub struct InspectOptions {
    /// Caps on message size, MIME depth and parts.
    pub limits: Limits,
    /// Token budget of the prepared text (estimated tokens).
    pub max_tokens: usize,
    /// Strip quoted replies, signatures and disclaimers (as triage does).
    pub strip: bool,
}

impl Default for InspectOptions {
    fn default() -> Self {
        InspectOptions {
            limits: Limits::default(),
            max_tokens: text::DEFAULT_MAX_TOKENS,
            strip: true,
        }
    }
}

/// One message as parsed and prepared.
#[derive(Debug, Clone, Serialize)]
pub struct Inspection {
    /// The message id.
    pub id: String,
    /// Where it came from.
    pub source: Provenance,
    /// The parsed email.
    pub email: Email,
    /// Exactly what the models see.
    pub prepared: Prepared,
}

/// Parse and prepare one message; a message that cannot be read is an error record.
pub fn inspect(m: &Message, opts: &InspectOptions) -> Result<Inspection, Box<ErrorRecord>> {
    let prepare = PrepareOptions {
        max_tokens: opts.max_tokens,
        strip_quotes: opts.strip,
        strip_signatures: opts.strip,
        ..PrepareOptions::default()
    };
    match m.parse(&opts.limits) {
        Ok(email) => {
            let prepared = text::prepare(&email, &prepare);
            Ok(Inspection {
                id: m.id.clone(),
                source: m.provenance.clone(),
                email,
                prepared,
            })
        }
        Err(e) => {
            tracing::debug!(id = %m.id, kind = e.kind(), "message could not be read");
            Err(Box::new(ErrorRecord::for_message(
                m,
                if m.content.is_err() { "read" } else { "parse" },
                e.kind().to_string(),
                format!("{e:#}"),
            )))
        }
    }
}
