//! Urgency evidence: deterministic detectors that say *why* a message may be urgent, each hit
//! a span of the text a person can read.
//!
//! The detectors follow the urgency rules the public set was labelled by (see
//! `../shared/data/README.md`): a deadline within days; legal action threatened or under way;
//! a present, specific risk to safety (an injury already caused, a gas leak, exposed wires, no
//! heating, a collapse, an unavoidable hole on a bend or a motorway); a vulnerable person
//! affected; explicit distress; threats; self-harm; loss of home, income or access to money.
//! A generic "dangerous" or "accident waiting to happen" is not evidence (it is counted as a
//! feature, [`EvidenceSummary::generic_hazards`]); a negated cue ("no danger", "nobody was
//! hurt") is dropped, and an imagined injury ("could cause an injury") does not count.
//!
//! Input is the message's subject and its prepared body (`Prepared::body`: quotes, forwarded
//! headers and signatures already stripped, so what an earlier writer said does not count);
//! each hit says which of the two its byte span points into ([`Field`]). Dates are resolved
//! against the message's `Date` header by [`crate::text::dates`].
//!
//! It must not call a model, read files or log content: it is pure text analysis, and the
//! pipeline decides what to do with its [`EvidenceSummary`].

use std::ops::Range;

use serde::Serialize;

use crate::text::dates::{find_dates, DateHit, DateOptions, Reference};
use crate::text::spans::Disjoint;

mod context;
mod rules;

#[cfg(test)]
mod tests;

use rules::{Guard, Rule, FAST_ROAD, GENERIC_HAZARD, ROAD_DEFECT, RULES};

/// A deadline this many days away or fewer counts as near ("a deadline within days").
pub const NEAR_DEADLINE_DAYS: i64 = 7;
/// ... and is strong evidence by itself when at most this many days away (a working week;
/// the public set has no near deadline to tune this on).
pub const STRONG_DEADLINE_DAYS: i64 = 5;

/// What a piece of evidence points to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum EvidenceKind {
    /// A deadline (or a date something must happen by) that is near.
    Deadline,
    /// Legal action threatened or under way: court, lawsuit, solicitor, foreclosure,
    /// repossession, eviction, bailiffs, judgment, bankruptcy.
    Legal,
    /// A present, specific danger to people: injury caused, gas, fire, electrics, flooding,
    /// collapse, no heating or water, a defect on a fast road.
    Danger,
    /// A vulnerable person is affected: elderly, disabled, ill, a baby or young child,
    /// pregnant, a carer, living alone.
    Vulnerability,
    /// Explicit distress of the writer.
    Distress,
    /// Threats, harassment, violence or abuse.
    Threat,
    /// Suicide or self-harm.
    SelfHarm,
    /// Loss of home, income or access to money.
    Hardship,
}

impl EvidenceKind {
    /// Every kind, in the order of [`EvidenceSummary::features`].
    pub const ALL: [EvidenceKind; 8] = [
        EvidenceKind::Deadline,
        EvidenceKind::Legal,
        EvidenceKind::Danger,
        EvidenceKind::Vulnerability,
        EvidenceKind::Distress,
        EvidenceKind::Threat,
        EvidenceKind::SelfHarm,
        EvidenceKind::Hardship,
    ];

    /// The snake-case name used in records.
    pub fn name(self) -> &'static str {
        match self {
            EvidenceKind::Deadline => "deadline",
            EvidenceKind::Legal => "legal",
            EvidenceKind::Danger => "danger",
            EvidenceKind::Vulnerability => "vulnerability",
            EvidenceKind::Distress => "distress",
            EvidenceKind::Threat => "threat",
            EvidenceKind::SelfHarm => "self_harm",
            EvidenceKind::Hardship => "hardship",
        }
    }
}

impl std::fmt::Display for EvidenceKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// Which text a span points into.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Field {
    /// The subject line as given.
    Subject,
    /// The prepared body (`Prepared::body`).
    Body,
}

/// One urgency cue found in the text.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Evidence {
    /// What it points to.
    pub kind: EvidenceKind,
    /// Which text `span` points into.
    pub field: Field,
    /// Byte offsets into that text.
    pub span: Range<usize>,
    /// The text of the span.
    pub text: String,
    /// What the cue is (`injury`, `gas`, `elderly`, `deadline in 4 days (2024-05-17)`).
    pub detail: String,
    /// Urgent by itself under the labelling rules; a weak cue needs another of a different
    /// kind.
    pub strong: bool,
}

/// What one message holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EvidenceInput<'a> {
    /// The subject line, if any.
    pub subject: Option<&'a str>,
    /// The prepared body.
    pub body: &'a str,
    /// The day dates are resolved against.
    pub reference: Reference,
}

/// The evidence of one message and what it adds up to.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct EvidenceSummary {
    /// Every hit, subject first, then body, in text order.
    pub evidence: Vec<Evidence>,
    /// The kinds found, each once, in [`EvidenceKind::ALL`] order.
    pub kinds: Vec<EvidenceKind>,
    /// The evidence alone makes the message urgent: a strong hit, or weak hits of two
    /// different kinds.
    pub urgent: bool,
    /// Generic hazard and urgency words ("dangerous", "urgent", "asap"): not evidence, a
    /// feature.
    pub generic_hazards: usize,
    /// Days to the nearest upcoming deadline, if any (0 = the reference day).
    pub nearest_deadline_days: Option<i64>,
    /// The day dates were resolved against, and where it came from.
    pub reference: Reference,
}

/// Names of [`EvidenceSummary::features`], in order.
pub const FEATURE_NAMES: [&str; 14] = [
    "ev_deadline",
    "ev_legal",
    "ev_danger",
    "ev_vulnerability",
    "ev_distress",
    "ev_threat",
    "ev_self_harm",
    "ev_hardship",
    "ev_strong",
    "ev_weak",
    "ev_kinds",
    "ev_urgent",
    "ev_generic_hazard",
    "ev_deadline_near",
];

impl EvidenceSummary {
    /// Numeric features for a priority head, named by [`FEATURE_NAMES`]: per kind
    /// `ln(1 + hits)`, then `ln(1 + strong hits)`, `ln(1 + weak hits)`, distinct kinds / 8,
    /// 1 if urgent, `ln(1 + generic hazard words)`, and a nearness of the nearest deadline in
    /// `[0, 1]` (1 today, 0 at or past [`NEAR_DEADLINE_DAYS`] + 7 days, 0 when none).
    pub fn features(&self) -> [f32; 14] {
        let ln = |n: usize| (n as f32).ln_1p();
        let mut f = [0.0f32; 14];
        for (i, kind) in EvidenceKind::ALL.iter().enumerate() {
            f[i] = ln(self.evidence.iter().filter(|e| e.kind == *kind).count());
        }
        let strong = self.evidence.iter().filter(|e| e.strong).count();
        f[8] = ln(strong);
        f[9] = ln(self.evidence.len() - strong);
        f[10] = self.kinds.len() as f32 / EvidenceKind::ALL.len() as f32;
        f[11] = if self.urgent { 1.0 } else { 0.0 };
        f[12] = ln(self.generic_hazards);
        let horizon = (NEAR_DEADLINE_DAYS + 7) as f32;
        f[13] = self
            .nearest_deadline_days
            .map_or(0.0, |d| (1.0 - d as f32 / horizon).clamp(0.0, 1.0));
        f
    }

    /// One line a person reads to see why: `urgent: danger "fractured my knee" (injury);
    /// vulnerability "elderly" (elderly)`, or `no urgency evidence`.
    pub fn line(&self) -> String {
        if self.evidence.is_empty() {
            return "no urgency evidence".to_string();
        }
        let head = if self.urgent { "urgent" } else { "weak" };
        let mut shown: Vec<String> = Vec::new();
        for e in self
            .evidence
            .iter()
            .filter(|e| e.strong)
            .chain(self.evidence.iter().filter(|e| !e.strong))
        {
            if shown.len() == 4 {
                break;
            }
            let text: String = e.text.chars().take(60).collect();
            shown.push(format!("{} \"{}\" ({})", e.kind, text, e.detail));
        }
        let more = self.evidence.len().saturating_sub(shown.len());
        let tail = if more > 0 {
            format!("; +{more} more")
        } else {
            String::new()
        };
        format!("{head}: {}{tail}", shown.join("; "))
    }
}

/// Run every detector over the subject and body of one message.
pub fn detect(input: &EvidenceInput<'_>) -> EvidenceSummary {
    let mut evidence = Vec::new();
    let mut generic_hazards = 0;
    let mut nearest: Option<i64> = None;
    let fields = [
        (Field::Subject, input.subject.unwrap_or("")),
        (Field::Body, input.body),
    ];
    // A road defect named anywhere makes "unavoidable" or "motorway" anywhere specific.
    let road_defect = fields.iter().any(|(_, t)| ROAD_DEFECT.is_match(t));
    for (field, text) in fields {
        if text.is_empty() {
            continue;
        }
        let mut hits = phrase_hits(field, text, road_defect);
        for date in find_dates(text, &input.reference, &DateOptions::default()) {
            if let Some(e) = deadline_evidence(field, text, &date) {
                nearest = Some(nearest.map_or(date.days_away(), |n| n.min(date.days_away())));
                hits.push(e);
            }
        }
        generic_hazards += GENERIC_HAZARD.find_iter(text).count();
        hits.sort_by_key(|e| e.span.start);
        evidence.extend(hits);
    }
    summarise(evidence, generic_hazards, nearest, input.reference)
}

fn summarise(
    evidence: Vec<Evidence>,
    generic_hazards: usize,
    nearest_deadline_days: Option<i64>,
    reference: Reference,
) -> EvidenceSummary {
    let kinds: Vec<EvidenceKind> = EvidenceKind::ALL
        .into_iter()
        .filter(|k| evidence.iter().any(|e| e.kind == *k))
        .collect();
    let weak_kinds = EvidenceKind::ALL
        .into_iter()
        .filter(|k| evidence.iter().any(|e| e.kind == *k && !e.strong))
        .count();
    let urgent = evidence.iter().any(|e| e.strong) || weak_kinds >= 2;
    EvidenceSummary {
        evidence,
        kinds,
        urgent,
        generic_hazards,
        nearest_deadline_days,
        reference,
    }
}

/// Every phrase rule over one text, guards and exclusions applied, overlaps within a kind
/// removed (strong and longer first).
fn phrase_hits(field: Field, text: &str, road_defect: bool) -> Vec<Evidence> {
    let mut hits: Vec<Evidence> = Vec::new();
    for rule in RULES.iter() {
        for m in rule.pattern.find_iter(text) {
            let span = m.range();
            if !keep(rule, text, &span) {
                continue;
            }
            hits.push(Evidence {
                kind: rule.kind,
                field,
                text: m.as_str().to_string(),
                span,
                detail: rule.detail.to_string(),
                strong: rule.strong,
            });
        }
    }
    if road_defect {
        for m in FAST_ROAD.find_iter(text) {
            hits.push(Evidence {
                kind: EvidenceKind::Danger,
                field,
                text: m.as_str().to_string(),
                span: m.range(),
                detail: "road defect on a fast road or bend".to_string(),
                strong: true,
            });
        }
    } else {
        hits.retain(|e| e.detail != "unavoidable road defect");
    }
    dedupe(hits)
}

/// Whether a rule's hit survives its guard and exclusion.
fn keep(rule: &Rule, text: &str, span: &Range<usize>) -> bool {
    let cancelled = match rule.guard {
        Guard::Plain => false,
        Guard::Negation => context::negated(text, span),
        Guard::Actual => context::negated(text, span) || context::hypothetical(text, span),
        Guard::PersonActual => {
            context::negated(text, span)
                || context::hypothetical(text, span)
                || !context::personal(text, span, 8)
        }
        Guard::Personal => context::negated(text, span) || !context::personal(text, span, 6),
    };
    if cancelled {
        return false;
    }
    let Some(exclude) = &rule.exclude else {
        return true;
    };
    let from = crate::text::dates::floor_char_boundary(text, span.start.saturating_sub(40));
    let to = crate::text::dates::floor_char_boundary(text, span.end + 40);
    !exclude
        .find_iter(&text[from..to])
        .any(|m| from + m.start() < span.end && from + m.end() > span.start)
}

/// One hit per kind where hits of that kind overlap: strong before weak, longer before
/// shorter.
fn dedupe(mut hits: Vec<Evidence>) -> Vec<Evidence> {
    hits.sort_by_key(|e| {
        (
            std::cmp::Reverse(e.strong),
            std::cmp::Reverse(e.span.len()),
            e.span.start,
        )
    });
    let mut taken: std::collections::HashMap<EvidenceKind, Disjoint> =
        std::collections::HashMap::new();
    let mut kept: Vec<Evidence> = Vec::new();
    for h in hits {
        if taken.entry(h.kind).or_default().take(&h.span) {
            kept.push(h);
        }
    }
    kept
}

/// Statutory response times ("within 5 business days, as the statute requires") are the
/// law's clock, not the writer's urgency.
static STATUTORY: std::sync::LazyLock<regex::Regex> = std::sync::LazyLock::new(|| {
    regex::Regex::new(r"(?i)\b(?:statute|statutory|the law requires|required by (?:law|statute)|under the (?:act|law)|as (?:the )?(?:law|act) (?:requires|provides)|(?:the )?(?:foia|freedom of information act) (?:requires|provides))")
        .expect("static regex")
});

/// "was due in 7 days": a deadline told as past.
static PAST_DUE: std::sync::LazyLock<regex::Regex> = std::sync::LazyLock::new(|| {
    regex::Regex::new(r"(?i)\b(?:was|were|had been|had)\b").expect("static regex")
});

/// A deadline hit that is near, outside statutory boilerplate.
fn deadline_evidence(field: Field, text: &str, date: &DateHit) -> Option<Evidence> {
    let days = date.days_away();
    if !date.deadline || !(0..=NEAR_DEADLINE_DAYS).contains(&days) {
        return None;
    }
    let sentence =
        context::before(text, &date.span, 30).to_string() + context::after(text, &date.span);
    if STATUTORY.is_match(&sentence) || PAST_DUE.is_match(context::before(text, &date.span, 2)) {
        return None;
    }
    let when = match days {
        0 => "today".to_string(),
        1 => "tomorrow".to_string(),
        d => format!("in {d} days"),
    };
    Some(Evidence {
        kind: EvidenceKind::Deadline,
        field,
        span: date.span.clone(),
        text: date.text.clone(),
        detail: format!("deadline {when} ({})", date.end),
        strong: days <= STRONG_DEADLINE_DAYS,
    })
}
