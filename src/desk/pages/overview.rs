//! The overview: messages per day, per category and per priority; how many went to review and
//! how many are still waiting; and, per axis and per label the model gave, how often the
//! reviewers changed it (where the model is wrong), as charts with their figures beside them.

use axum::extract::State;
use maud::{html, Markup};

use super::layout::page;
use super::percent;
use crate::desk::auth::User;
use crate::desk::charts::{bars, columns, Bar};
use crate::desk::error::Page;
use crate::desk::DeskState;
use crate::store::{FacetCount, LabelChanges};

fn day(ms: i64) -> String {
    match jiff::Timestamp::from_millisecond(ms) {
        Ok(t) => t.strftime("%m-%d").to_string(),
        Err(_) => "?".into(),
    }
}

fn label_bars(counts: &[FacetCount], total: i64) -> Vec<Bar> {
    counts
        .iter()
        .map(|f| Bar {
            label: f.value.as_deref().unwrap_or("(none)").replace('_', " "),
            value: f.count as f64,
            part: None,
            note: format!(
                "{} ({})",
                f.count,
                percent(f.count as f64 / total.max(1) as f64)
            ),
        })
        .collect()
}

fn change_bars(changes: &[LabelChanges], axis: &str) -> Vec<Bar> {
    changes
        .iter()
        .filter(|c| c.axis == axis)
        .map(|c| Bar {
            label: c.label.replace('_', " "),
            value: c.reviewed as f64,
            part: Some(c.changed as f64),
            note: format!(
                "{} of {} changed ({})",
                c.changed,
                c.reviewed,
                percent(c.changed as f64 / c.reviewed.max(1) as f64)
            ),
        })
        .collect()
}

/// `GET /overview`.
pub async fn show(State(state): State<DeskState>, User(user): User) -> Result<Markup, Page> {
    let o = state.store().overview(state.config().overview_days).await?;
    let days: Vec<(String, f64)> = o
        .per_day
        .iter()
        .map(|d| (day(d.day_ms), d.count as f64))
        .collect();
    let share = o.flagged as f64 / o.total.max(1) as f64;
    let axes: Vec<&str> = ["category", "priority", "junk"]
        .into_iter()
        .filter(|a| o.changes.iter().any(|c| c.axis == *a))
        .collect();
    Ok(page(
        "Overview",
        Some(&user),
        html! {
            h1 { "Overview" }
            p #totals {
                (o.total) " messages; " (o.flagged) " sent to review by the model ("
                (percent(share)) "), " (o.pending_review) " still waiting; "
                (o.reviewed) " reviewed by people."
            }
            div.charts {
                section {
                    h2 { "Messages per day" }
                    @if days.is_empty() { p.muted { "No mail yet." } }
                    @else { (columns("per-day", "Messages per day", &days)) }
                }
                section {
                    h2 { "Review share" }
                    (bars("review", "Sent to review", &[
                        Bar { label: "sent to review".into(), value: o.total as f64, part: Some(o.flagged as f64),
                              note: format!("{} of {} ({})", o.flagged, o.total, percent(share)) },
                        Bar { label: "still waiting".into(), value: o.total as f64, part: Some(o.pending_review as f64),
                              note: format!("{} of {}", o.pending_review, o.total) },
                    ]))
                }
                section {
                    h2 { "Per category" }
                    (bars("per-category", "Messages per category", &label_bars(&o.category, o.total)))
                }
                section {
                    h2 { "Per priority" }
                    (bars("per-priority", "Messages per priority", &label_bars(&o.priority, o.total)))
                }
            }
            h2 { "How often reviewers changed the model's label" }
            p.muted { "Per label the model gave: of the messages a person accepted or corrected, how many now carry another label (dark)." }
            @if axes.is_empty() { p.muted { "Nobody has reviewed a message yet." } }
            div.charts {
                @for axis in &axes {
                    section {
                        h3 { (axis) }
                        (bars(&format!("changes-{axis}"), &format!("Changed {axis} labels"), &change_bars(&o.changes, axis)))
                    }
                }
            }
            @if !o.changes.is_empty() {
                table.figures #changes {
                    thead { tr { th { "Axis" } th { "Model's label" } th { "Reviewed" } th { "Changed" } th { "Share" } } }
                    tbody { @for c in &o.changes {
                        tr { td { (c.axis) } td { (c.label.replace('_', " ")) } td.n { (c.reviewed) } td.n { (c.changed) }
                             td.n { (percent(c.changed as f64 / c.reviewed.max(1) as f64)) } }
                    } }
                }
            }
        },
    ))
}
