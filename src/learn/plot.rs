//! SVG plots for `eval --plot`: the reliability diagram (accuracy against confidence per bin) and
//! the accuracy-against-coverage curve. Plain SVG text, no plotting dependency.

use std::fmt::Write;

use super::metrics::Report;

const W: f64 = 480.0;
const H: f64 = 400.0;
const L: f64 = 60.0;
const R: f64 = 20.0;
const T: f64 = 40.0;
const B: f64 = 50.0;

fn x_of(v: f64, lo: f64, hi: f64) -> f64 {
    L + (v - lo) / (hi - lo) * (W - L - R)
}

fn y_of(v: f64, lo: f64, hi: f64) -> f64 {
    H - B - (v - lo) / (hi - lo) * (H - T - B)
}

fn frame(s: &mut String, title: &str, xlabel: &str, ylabel: &str, xr: (f64, f64), yr: (f64, f64)) {
    let _ = write!(
        s,
        r##"<svg xmlns="http://www.w3.org/2000/svg" width="{W}" height="{H}" font-family="sans-serif" font-size="12">
<rect width="100%" height="100%" fill="white"/>
<text x="{}" y="22" text-anchor="middle" font-size="14">{}</text>
"##,
        W / 2.0,
        escape(title)
    );
    for i in 0..=5 {
        let f = i as f64 / 5.0;
        let xv = xr.0 + f * (xr.1 - xr.0);
        let yv = yr.0 + f * (yr.1 - yr.0);
        let (x, y) = (x_of(xv, xr.0, xr.1), y_of(yv, yr.0, yr.1));
        let _ = writeln!(
            s,
            r##"<line x1="{x:.1}" y1="{:.1}" x2="{x:.1}" y2="{:.1}" stroke="#ddd"/><text x="{x:.1}" y="{:.1}" text-anchor="middle">{xv:.2}</text>"##,
            T,
            H - B,
            H - B + 16.0
        );
        let _ = writeln!(
            s,
            r##"<line x1="{L}" y1="{y:.1}" x2="{:.1}" y2="{y:.1}" stroke="#ddd"/><text x="{:.1}" y="{:.1}" text-anchor="end">{yv:.2}</text>"##,
            W - R,
            L - 6.0,
            y + 4.0
        );
    }
    let _ = writeln!(
        s,
        r##"<rect x="{L}" y="{T}" width="{:.1}" height="{:.1}" fill="none" stroke="black"/>
<text x="{:.1}" y="{:.1}" text-anchor="middle">{}</text>
<text x="16" y="{:.1}" text-anchor="middle" transform="rotate(-90 16 {:.1})">{}</text>"##,
        W - L - R,
        H - T - B,
        (L + W - R) / 2.0,
        H - 12.0,
        escape(xlabel),
        (T + H - B) / 2.0,
        (T + H - B) / 2.0,
        escape(ylabel)
    );
}

fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

/// The reliability diagram: one bar per confidence bin at its accuracy, the diagonal for a
/// perfectly calibrated model, bar labels with the bin's message count.
pub fn reliability_svg(report: &Report, title: &str) -> String {
    let mut s = String::new();
    frame(
        &mut s,
        &format!("{title}: reliability (ECE {:.3})", report.ece),
        "confidence (top probability)",
        "accuracy",
        (0.0, 1.0),
        (0.0, 1.0),
    );
    let _ = writeln!(
        s,
        r##"<line x1="{:.1}" y1="{:.1}" x2="{:.1}" y2="{:.1}" stroke="#999" stroke-dasharray="4 4"/>"##,
        x_of(0.0, 0.0, 1.0),
        y_of(0.0, 0.0, 1.0),
        x_of(1.0, 0.0, 1.0),
        y_of(1.0, 0.0, 1.0)
    );
    for b in &report.reliability {
        let x0 = x_of(b.lower, 0.0, 1.0) + 1.0;
        let x1 = x_of(b.upper, 0.0, 1.0) - 1.0;
        let y = y_of(b.accuracy, 0.0, 1.0);
        let _ = writeln!(
            s,
            r##"<rect x="{x0:.1}" y="{y:.1}" width="{:.1}" height="{:.1}" fill="#4477aa" fill-opacity="0.8"/><circle cx="{:.1}" cy="{:.1}" r="3" fill="#cc3311"/><text x="{:.1}" y="{:.1}" text-anchor="middle" font-size="9">{}</text>"##,
            x1 - x0,
            y_of(0.0, 0.0, 1.0) - y,
            x_of(b.confidence, 0.0, 1.0),
            y_of(b.confidence, 0.0, 1.0),
            (x0 + x1) / 2.0,
            y - 3.0,
            b.count
        );
    }
    s.push_str("</svg>\n");
    s
}

/// Accuracy on the messages decided automatically against the share decided (coverage), as the
/// review threshold moves.
pub fn coverage_svg(report: &Report, title: &str) -> String {
    let lo = report
        .coverage_curve
        .iter()
        .map(|p| p.accuracy)
        .fold(1.0f64, f64::min)
        .min(0.9);
    let lo = (lo * 20.0).floor() / 20.0;
    let mut s = String::new();
    frame(
        &mut s,
        &format!("{title}: accuracy against coverage"),
        "coverage (share decided without review)",
        "accuracy on decided mail",
        (0.0, 1.0),
        (lo, 1.0),
    );
    let pts: Vec<String> = report
        .coverage_curve
        .iter()
        .map(|p| {
            format!(
                "{:.1},{:.1}",
                x_of(p.coverage, 0.0, 1.0),
                y_of(p.accuracy, lo, 1.0)
            )
        })
        .collect();
    let _ = writeln!(
        s,
        r##"<polyline points="{}" fill="none" stroke="#4477aa" stroke-width="2"/>"##,
        pts.join(" ")
    );
    for p in &report.at_coverage {
        let _ = writeln!(
            s,
            r##"<circle cx="{:.1}" cy="{:.1}" r="4" fill="#cc3311"/><text x="{:.1}" y="{:.1}" text-anchor="end" font-size="10">{:.0} %: {:.3}</text>"##,
            x_of(p.coverage, 0.0, 1.0),
            y_of(p.accuracy, lo, 1.0),
            x_of(p.coverage, 0.0, 1.0) - 6.0,
            y_of(p.accuracy, lo, 1.0) + 14.0,
            100.0 * p.coverage,
            p.accuracy
        );
    }
    s.push_str("</svg>\n");
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::learn::metrics::evaluate;

    #[test]
    fn svgs_are_well_formed_enough() {
        let labels = vec!["a".to_string(), "b<".to_string()];
        let y = [0, 1, 0, 1, 0];
        let p = vec![
            vec![0.9, 0.1],
            vec![0.2, 0.8],
            vec![0.6, 0.4],
            vec![0.7, 0.3],
            vec![0.55, 0.45],
        ];
        let r = evaluate(&labels, &y, &p, 0.9, None);
        for svg in [reliability_svg(&r, "t&t"), coverage_svg(&r, "x")] {
            assert!(svg.starts_with("<svg") && svg.trim_end().ends_with("</svg>"));
            assert!(!svg.contains("NaN"));
            assert!(!svg.contains("t&t"));
        }
    }
}
