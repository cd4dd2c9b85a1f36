//! Charts as SVG made on the server (no script, no chart library): columns over time and
//! horizontal bars per label. Each chart has a title and description for screen readers, and
//! every bar its value as text and as a tooltip.

use maud::{html, Markup};

/// One bar: its label, its value, and optionally a part of it drawn darker (such as how many
/// of the reviewed were changed).
#[derive(Debug, Clone, PartialEq)]
pub struct Bar {
    /// The label.
    pub label: String,
    /// The value.
    pub value: f64,
    /// A part of the value to draw darker.
    pub part: Option<f64>,
    /// The text at the bar's end.
    pub note: String,
}

const WIDTH: f64 = 640.0;

fn fmt(v: f64) -> String {
    if v.fract() == 0.0 {
        format!("{v:.0}")
    } else {
        format!("{v:.1}")
    }
}

/// Vertical columns, one per point (a label every few points so that they stay readable).
pub fn columns(id: &str, title: &str, points: &[(String, f64)]) -> Markup {
    let height = 220.0;
    let (left, bottom, top) = (40.0, 40.0, 10.0);
    let max = points.iter().map(|p| p.1).fold(0.0, f64::max).max(1.0);
    let n = points.len().max(1) as f64;
    let step = (WIDTH - left - 10.0) / n;
    let bar = (step * 0.8).max(1.0);
    let every = (points.len() / 10).max(1);
    let plot = height - bottom - top;
    html! {
        svg.chart id=(id) viewBox={ "0 0 " (WIDTH) " " (height) } role="img"
            aria-labelledby={ (id) "-t " (id) "-d" } {
            title id={ (id) "-t" } { (title) }
            desc id={ (id) "-d" } {
                @for (label, v) in points { (label) ": " (fmt(*v)) "; " }
            }
            line.axis x1=(left) y1=(height - bottom) x2=(WIDTH - 5.0) y2=(height - bottom) {}
            text x=(left - 6.0) y=(top + 4.0) text-anchor="end" { (fmt(max)) }
            text x=(left - 6.0) y=(height - bottom) text-anchor="end" { "0" }
            @for (i, (label, v)) in points.iter().enumerate() {
                @let h = plot * v / max;
                @let x = left + step * i as f64 + (step - bar) / 2.0;
                rect.bar x=(x) y=(height - bottom - h) width=(bar) height=(h) {
                    title { (label) ": " (fmt(*v)) }
                }
                @if i % every == 0 {
                    text x=(x + bar / 2.0) y=(height - bottom + 14.0) text-anchor="middle" { (label) }
                }
            }
        }
    }
}

/// Horizontal bars, one per label, longest scale first as given.
pub fn bars(id: &str, title: &str, items: &[Bar]) -> Markup {
    let row = 24.0;
    let label_w = 190.0;
    let height = row * items.len().max(1) as f64 + 10.0;
    let max = items.iter().map(|b| b.value).fold(0.0, f64::max).max(1.0);
    let room = WIDTH - label_w - 120.0;
    html! {
        svg.chart id=(id) viewBox={ "0 0 " (WIDTH) " " (height) } role="img"
            aria-labelledby={ (id) "-t " (id) "-d" } {
            title id={ (id) "-t" } { (title) }
            desc id={ (id) "-d" } { @for b in items { (b.label) ": " (b.note) "; " } }
            @for (i, b) in items.iter().enumerate() {
                @let y = 5.0 + row * i as f64;
                @let w = room * b.value / max;
                text x=(label_w - 8.0) y=(y + row * 0.65) text-anchor="end" { (b.label) }
                rect.bar.light[b.part.is_some()] x=(label_w) y=(y + 3.0) width=(w) height=(row - 6.0) {
                    title { (b.label) ": " (b.note) }
                }
                @if let Some(part) = b.part {
                    rect.bar.alt x=(label_w) y=(y + 3.0) width=(room * part / max) height=(row - 6.0) {
                        title { (b.label) ": " (b.note) }
                    }
                }
                text x=(label_w + w + 6.0) y=(y + row * 0.65) { (b.note) }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn charts_are_svg_with_escaped_labels() {
        let svg = bars(
            "c",
            "Per category",
            &[Bar {
                label: "<b>x</b>".into(),
                value: 3.0,
                part: Some(1.0),
                note: "3".into(),
            }],
        )
        .into_string();
        assert!(svg.starts_with("<svg class=\"chart\" id=\"c\""), "{svg}");
        assert!(
            svg.contains("&lt;b&gt;x&lt;/b&gt;") && !svg.contains("<b>"),
            "{svg}"
        );
        let cols = columns(
            "d",
            "Per day",
            &[("05-13".into(), 2.0), ("05-14".into(), 0.0)],
        )
        .into_string();
        assert_eq!(cols.matches("<rect").count(), 2);
    }
}
