//! A stored record, read for people: the axes with their probabilities and review reasons, the
//! summary, the review notes, and (when the record carries them) urgency evidence and key facts.
//! Read leniently from the record's JSON, so that an error record, an older record or a record
//! with fields added later still shows what it has.

use serde_json::Value;

/// One axis's decision.
#[derive(Debug, Clone, PartialEq)]
pub struct AxisView {
    /// The axis.
    pub axis: String,
    /// The model's label.
    pub label: String,
    /// Its probability.
    pub probability: Option<f64>,
    /// Every label's probability, in label order (alphabetical: the record keeps an object).
    pub probabilities: Vec<(String, f64)>,
    /// Whether the model sent this decision to review.
    pub needs_review: bool,
    /// Why, for people.
    pub reasons: Vec<String>,
    /// How it was decided (`zero_shot`, `head`) and by what.
    pub method: String,
}

/// The summary.
#[derive(Debug, Clone, PartialEq)]
pub struct SummaryView {
    /// The text.
    pub text: String,
    /// The method that wrote it.
    pub method: String,
    /// Facts of the summary the message does not support.
    pub unsupported: Vec<String>,
}

/// A piece of urgency evidence.
#[derive(Debug, Clone, PartialEq)]
pub struct EvidenceView {
    /// What it points to (`danger`, `vulnerability`, ...).
    pub kind: String,
    /// The words in the message.
    pub text: String,
    /// What the cue is.
    pub detail: String,
    /// Urgent by itself.
    pub strong: bool,
    /// `subject` or `body`.
    pub field: String,
    /// Where it starts in that text (bytes; of the prepared text, so only a hint here).
    pub start: Option<usize>,
}

/// A key fact.
#[derive(Debug, Clone, PartialEq)]
pub struct FactView {
    /// Its kind (`reference`, `amount`, `date`, ...).
    pub kind: String,
    /// The words in the message.
    pub text: String,
    /// The normalised value, when there is one.
    pub value: Option<String>,
    /// Which text it is in (`subject`, `body`, `signature`, ...).
    pub field: String,
    /// Where it starts (bytes, a hint).
    pub start: Option<usize>,
}

/// What the desk shows of a record.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct RecordView {
    /// Per axis, in record order.
    pub axes: Vec<AxisView>,
    /// The summary.
    pub summary: Option<SummaryView>,
    /// Why the message needs review, for people.
    pub review: Vec<String>,
    /// Urgency evidence.
    pub evidence: Vec<EvidenceView>,
    /// Key facts.
    pub facts: Vec<FactView>,
    /// For an error record: what failed.
    pub error: Option<String>,
    /// The detected language.
    pub language: Option<String>,
    /// The models behind the record, for people.
    pub models: Vec<String>,
    /// The conversation's summary (on a conversation's last message).
    pub conversation_summary: Option<String>,
    /// The conversation's open questions.
    pub open_questions: Vec<String>,
}

fn s(v: &Value, key: &str) -> Option<String> {
    v.get(key).and_then(Value::as_str).map(str::to_string)
}

fn start_of(v: &Value) -> Option<usize> {
    let span = v.get("span")?;
    span.get("start")
        .or_else(|| span.get(0))
        .and_then(Value::as_u64)
        .and_then(|n| usize::try_from(n).ok())
}

/// A review reason object (`{"reason": "low_confidence", "probability", "threshold"}`) in words.
fn reason_text(r: &Value) -> String {
    let name = s(r, "reason").unwrap_or_else(|| "review".into());
    match name.as_str() {
        "low_confidence" => {
            let p = r.get("probability").and_then(Value::as_f64);
            let t = r.get("threshold").and_then(Value::as_f64);
            match (p, t) {
                (Some(p), Some(t)) => format!("low confidence ({p:.2} < {t:.2})"),
                _ => "low confidence".into(),
            }
        }
        "truncated" => match r.get("dropped").and_then(Value::as_f64) {
            Some(d) => format!("truncated ({:.0}% of the text cut)", d * 100.0),
            None => "truncated".into(),
        },
        "unclean_parse" => "could not be parsed cleanly".into(),
        other => other.replace('_', " "),
    }
}

fn axis(v: &Value) -> Option<AxisView> {
    let mut probabilities: Vec<(String, f64)> = v
        .get("probabilities")
        .and_then(Value::as_object)
        .map(|m| {
            m.iter()
                .filter_map(|(k, p)| Some((k.clone(), p.as_f64()?)))
                .collect()
        })
        .unwrap_or_default();
    probabilities.sort_by(|a, b| a.0.cmp(&b.0));
    Some(AxisView {
        axis: s(v, "axis")?,
        label: s(v, "label")?,
        probability: v.get("probability").and_then(Value::as_f64),
        probabilities,
        needs_review: v
            .get("needs_review")
            .and_then(Value::as_bool)
            .unwrap_or(false),
        reasons: v
            .get("reasons")
            .and_then(Value::as_array)
            .map(|a| a.iter().map(reason_text).collect())
            .unwrap_or_default(),
        method: [s(v, "method"), s(v, "source")]
            .into_iter()
            .flatten()
            .collect::<Vec<_>>()
            .join(", "),
    })
}

fn review_note(n: &Value) -> String {
    match s(n, "kind").as_deref() {
        Some("axis") => format!(
            "{}: {}",
            s(n, "axis").unwrap_or_default(),
            n.get("reason").map(reason_text).unwrap_or_default()
        ),
        Some("unfaithful_summary") => {
            let facts: Vec<String> = n
                .get("unsupported")
                .and_then(Value::as_array)
                .map(|a| {
                    a.iter()
                        .filter_map(|x| x.as_str().map(str::to_string))
                        .collect()
                })
                .unwrap_or_default();
            format!(
                "summary states what the message does not: {}",
                facts.join(", ")
            )
        }
        Some("unclean_parse") => "the message could not be parsed cleanly".into(),
        Some("analysis_cut") => {
            "the message is too long: evidence and key facts come from its start only".into()
        }
        Some(other) => other.replace('_', " "),
        None => "needs review".into(),
    }
}

/// The evidence list: the record's `evidence` array, or the `evidence` array of an evidence
/// summary object.
fn evidence(v: &Value) -> Vec<EvidenceView> {
    let list = match v.get("evidence") {
        Some(Value::Array(a)) => a.as_slice(),
        Some(Value::Object(o)) => o
            .get("evidence")
            .and_then(Value::as_array)
            .map(Vec::as_slice)
            .unwrap_or(&[]),
        _ => &[],
    };
    list.iter()
        .filter_map(|e| {
            Some(EvidenceView {
                kind: s(e, "kind")?,
                text: s(e, "text")?,
                detail: s(e, "detail").unwrap_or_default(),
                strong: e.get("strong").and_then(Value::as_bool).unwrap_or(false),
                field: s(e, "field").unwrap_or_else(|| "body".into()),
                start: start_of(e),
            })
        })
        .collect()
}

fn facts(v: &Value) -> Vec<FactView> {
    v.get("key_facts")
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(|f| {
                    Some(FactView {
                        kind: s(f, "kind")?,
                        text: s(f, "text")?,
                        value: s(f, "value"),
                        // `{"source": {"field": "body"}}` (an attachment has an index too).
                        field: f
                            .get("source")
                            .and_then(|src| s(src, "field"))
                            .or_else(|| s(f, "source"))
                            .unwrap_or_else(|| "body".into()),
                        start: start_of(f),
                    })
                })
                .collect()
        })
        .unwrap_or_default()
}

impl RecordView {
    /// Read a record's JSON (anything unreadable is left out).
    pub fn parse(json: &str) -> RecordView {
        let Ok(v) = serde_json::from_str::<Value>(json) else {
            return RecordView {
                error: Some("the stored record is not valid JSON".into()),
                ..RecordView::default()
            };
        };
        let list = |key: &str| {
            v.get(key)
                .and_then(Value::as_array)
                .cloned()
                .unwrap_or_default()
        };
        let summary = v.get("summary").filter(|s| s.is_object()).and_then(|sv| {
            Some(SummaryView {
                text: s(sv, "text")?,
                method: s(sv, "method").unwrap_or_default(),
                unsupported: sv
                    .pointer("/faithfulness/unsupported")
                    .and_then(Value::as_array)
                    .map(|a| {
                        a.iter()
                            .filter_map(|u| u.as_str().map(str::to_string).or_else(|| s(u, "text")))
                            .collect()
                    })
                    .unwrap_or_default(),
            })
        });
        let error = v.get("error").map(|e| {
            format!(
                "{} failed ({}): {}",
                s(e, "stage").unwrap_or_else(|| "triage".into()),
                s(e, "kind").unwrap_or_default(),
                s(e, "message").unwrap_or_default()
            )
        });
        let mut models = Vec::new();
        if let Some(m) = v.get("models") {
            for role in ["encoder", "generator"] {
                if let Some(id) = m.get(role).and_then(|r| s(r, "id")) {
                    models.push(format!("{role} {id}"));
                }
            }
            for h in m
                .get("heads")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
            {
                if let Some(id) = s(h, "id") {
                    models.push(id);
                }
            }
        }
        if let Some(t) = v.get("taxonomy") {
            if let (Some(n), Some(ver)) = (s(t, "name"), s(t, "version")) {
                models.push(format!("taxonomy {n}@{ver}"));
            }
        }
        let conv = v.get("conversation");
        RecordView {
            axes: list("classification").iter().filter_map(axis).collect(),
            summary,
            review: list("review").iter().map(review_note).collect(),
            evidence: evidence(&v),
            facts: facts(&v),
            error,
            language: s(&v, "language"),
            models,
            conversation_summary: conv
                .and_then(|c| c.get("summary"))
                .and_then(|sv| sv.get("text").and_then(Value::as_str).or(sv.as_str()))
                .map(str::to_string),
            open_questions: conv
                .and_then(|c| c.get("open_questions"))
                .and_then(Value::as_array)
                .map(|a| {
                    a.iter()
                        .filter_map(|q| q.as_str().map(str::to_string))
                        .collect()
                })
                .unwrap_or_default(),
        }
    }

    /// The decision on an axis.
    pub fn axis(&self, name: &str) -> Option<&AxisView> {
        self.axes.iter().find(|a| a.axis == name)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_a_triage_record() {
        let json = r#"{"schema":"mailroom.triage/1","classification":[
            {"axis":"junk","label":"legitimate","probability":0.41,
             "probabilities":{"spam":0.21,"legitimate":0.41,"phishing":0.38},
             "needs_review":true,"reasons":[{"reason":"low_confidence","probability":0.41,"threshold":0.6}],
             "method":"zero_shot","source":"public-service@1.0.1"}],
            "review":[{"kind":"axis","axis":"junk","reason":{"reason":"low_confidence","probability":0.41,"threshold":0.6}}],
            "summary":{"text":"Her boiler stopped.","method":"extractive","faithfulness":{"checked":true,"facts":2,"unsupported":[]}},
            "models":{"encoder":{"id":"all-minilm-l6-v2","sha256":"x"},"generator":null,"heads":[]},
            "taxonomy":{"name":"public-service","version":"1.0.1"}}"#;
        let r = RecordView::parse(json);
        let junk = r.axis("junk").unwrap();
        assert_eq!(junk.probabilities[0].0, "legitimate");
        assert_eq!(junk.reasons, ["low confidence (0.41 < 0.60)"]);
        assert_eq!(r.review, ["junk: low confidence (0.41 < 0.60)"]);
        assert_eq!(r.summary.as_ref().unwrap().text, "Her boiler stopped.");
        assert_eq!(
            r.models,
            ["encoder all-minilm-l6-v2", "taxonomy public-service@1.0.1"]
        );
        assert!(r.evidence.is_empty() && r.error.is_none());
    }

    #[test]
    fn reads_evidence_and_key_facts_as_the_analysis_modules_write_them() {
        // The shapes of `classify::evidence::EvidenceSummary` and `summarize::facts::KeyFact`
        // (a Range serialises as {"start", "end"}), under the keys the record will use.
        let json = r#"{"evidence":{"evidence":[{"kind":"vulnerability","field":"body",
            "span":{"start":52,"end":61},"text":"who is 84","detail":"elderly","strong":false}],
            "kinds":["vulnerability"],"urgent":false},
            "key_facts":[{"kind":"phone","source":{"field":"subject"},"span":{"start":300,"end":312},
            "text":"07700 900123","value":"+447700900123","role":null}]}"#;
        let r = RecordView::parse(json);
        assert_eq!(r.evidence.len(), 1);
        assert_eq!(
            (r.evidence[0].text.as_str(), r.evidence[0].start),
            ("who is 84", Some(52))
        );
        assert_eq!(r.facts[0].value.as_deref(), Some("+447700900123"));
        assert_eq!(r.facts[0].field, "subject");
    }

    #[test]
    fn reads_an_error_record_and_bad_json() {
        let r = RecordView::parse(
            r#"{"schema":"mailroom.triage/1","error":{"stage":"parse","kind":"mime","message":"too deep"}}"#,
        );
        assert_eq!(r.error.as_deref(), Some("parse failed (mime): too deep"));
        assert!(RecordView::parse("not json").error.is_some());
    }
}
