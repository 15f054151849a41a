//! The chart, as hand-written SVG (no dependency): two panels side by side, 800×400.
//!
//! Left, bytes on the wire per delivered message (HTTP level, and with the TCP/IP estimate);
//! right, publish-to-receive latency (p50, p99). Both use a logarithmic axis, because the
//! techniques differ by orders of magnitude: a WebSocket frame costs tens of bytes and
//! arrives in well under a millisecond, a short poll can cost hundreds and wait a second.

use std::fmt::Write as _;

use crate::report::Row;

const WIDTH: f64 = 800.0;
const HEIGHT: f64 = 400.0;
/// The plot area's top and bottom (y grows downwards).
const TOP: f64 = 70.0;
const BOTTOM: f64 = 320.0;
const COLORS: [&str; 2] = ["#4878cf", "#d65f5f"];

/// One panel's data: a title, the axis label, the two series' names, one group per technique.
struct Panel<'a> {
    title: &'a str,
    axis: &'a str,
    series: [&'a str; 2],
    groups: Vec<(String, [f64; 2])>,
}

/// The whole chart for `rows`.
pub(crate) fn chart(rows: &[Row], subtitle: &str) -> String {
    let mut out = format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{WIDTH}\" height=\"{HEIGHT}\" \
         viewBox=\"0 0 {WIDTH} {HEIGHT}\" font-family=\"sans-serif\" font-size=\"11\">\n\
         <rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n\
         <text x=\"{}\" y=\"20\" text-anchor=\"middle\" font-size=\"15\" font-weight=\"bold\">\
         How the server talks back: cost and delay per message</text>\n\
         <text x=\"{}\" y=\"37\" text-anchor=\"middle\" fill=\"#555\">{}</text>\n",
        WIDTH / 2.0,
        WIDTH / 2.0,
        escape(subtitle)
    );
    let bytes = Panel {
        title: "bytes on the wire per message",
        axis: "bytes (log scale)",
        series: ["HTTP level", "incl. TCP/IP estimate"],
        groups: rows.iter().map(|r| (r.name.clone(), [r.bytes_http, r.bytes_tcp])).collect(),
    };
    let latency = Panel {
        title: "publish-to-receive latency",
        axis: "milliseconds (log scale)",
        series: ["p50", "p99"],
        groups: rows
            .iter()
            .map(|r| (r.name.clone(), [r.p50_ms.unwrap_or(f64::NAN), r.p99_ms.unwrap_or(f64::NAN)]))
            .collect(),
    };
    panel(&mut out, 70.0, 320.0, &bytes);
    panel(&mut out, 470.0, 320.0, &latency);
    out.push_str("</svg>\n");
    out
}

/// The decades `[lo, hi]` (powers of ten) that hold every finite positive value.
fn decades(values: impl Iterator<Item = f64>) -> (i32, i32) {
    let (mut lo, mut hi) = (f64::INFINITY, f64::NEG_INFINITY);
    for v in values.filter(|v| v.is_finite() && *v > 0.0) {
        lo = lo.min(v);
        hi = hi.max(v);
    }
    if !lo.is_finite() {
        return (0, 1);
    }
    let (lo, hi) = (lo.log10().floor() as i32, hi.log10().ceil() as i32);
    (lo, hi.max(lo + 1))
}

fn panel(out: &mut String, x0: f64, width: f64, p: &Panel<'_>) {
    let (lo, hi) = decades(p.groups.iter().flat_map(|(_, v)| v.iter().copied()));
    let y_of = |v: f64| BOTTOM - (v.log10() - lo as f64) / (hi - lo) as f64 * (BOTTOM - TOP);
    let _ = writeln!(
        out,
        "<text x=\"{}\" y=\"58\" text-anchor=\"middle\" font-size=\"13\" font-weight=\"bold\">{}</text>",
        x0 + width / 2.0,
        p.title
    );
    for d in lo..=hi {
        let y = y_of(10f64.powi(d));
        let _ = writeln!(
            out,
            "<line x1=\"{x0}\" y1=\"{y:.1}\" x2=\"{}\" y2=\"{y:.1}\" stroke=\"#ddd\"/>\
             <text x=\"{}\" y=\"{:.1}\" text-anchor=\"end\">{}</text>",
            x0 + width,
            x0 - 4.0,
            y + 4.0,
            tick_label(d)
        );
    }
    let _ = writeln!(
        out,
        "<line x1=\"{x0}\" y1=\"{TOP}\" x2=\"{x0}\" y2=\"{BOTTOM}\" stroke=\"#333\"/>\
         <line x1=\"{x0}\" y1=\"{BOTTOM}\" x2=\"{}\" y2=\"{BOTTOM}\" stroke=\"#333\"/>\
         <text transform=\"translate({},{}) rotate(-90)\" text-anchor=\"middle\">{}</text>",
        x0 + width,
        x0 - 42.0,
        (TOP + BOTTOM) / 2.0,
        p.axis
    );
    bars(out, x0, width, p, y_of);
    legend(out, x0, BOTTOM + 58.0, &p.series);
}

fn bars(out: &mut String, x0: f64, width: f64, p: &Panel<'_>, y_of: impl Fn(f64) -> f64) {
    let group = width / p.groups.len().max(1) as f64;
    let bar = (group * 0.36).min(24.0);
    for (i, (name, values)) in p.groups.iter().enumerate() {
        let center = x0 + group * (i as f64 + 0.5);
        for (j, &v) in values.iter().enumerate() {
            let x = center - bar + j as f64 * bar;
            if !(v.is_finite() && v > 0.0) {
                continue;
            }
            let y = y_of(v).min(BOTTOM);
            let _ = writeln!(
                out,
                "<rect x=\"{x:.1}\" y=\"{y:.1}\" width=\"{bar:.1}\" height=\"{:.1}\" fill=\"{}\"><title>{}: {}</title></rect>\
                 <text x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"middle\" font-size=\"8\">{}</text>",
                BOTTOM - y,
                COLORS[j],
                escape(name),
                short(v),
                x + bar / 2.0,
                y - 2.0,
                short(v)
            );
        }
        let label = name.replace("polling", "poll");
        let (first, second) = label.split_once(" (").map_or((label.as_str(), ""), |(a, b)| (a, b));
        let second = second.trim_end_matches(')');
        let _ = writeln!(
            out,
            "<text x=\"{center:.1}\" y=\"{}\" text-anchor=\"middle\">{}</text>\
             <text x=\"{center:.1}\" y=\"{}\" text-anchor=\"middle\" fill=\"#555\">{}</text>",
            BOTTOM + 15.0,
            escape(first),
            BOTTOM + 28.0,
            escape(second)
        );
    }
}

fn legend(out: &mut String, x0: f64, y: f64, series: &[&str; 2]) {
    let mut x = x0 + 10.0;
    for (j, name) in series.iter().enumerate() {
        let _ = writeln!(
            out,
            "<rect x=\"{x}\" y=\"{}\" width=\"12\" height=\"12\" fill=\"{}\"/>\
             <text x=\"{}\" y=\"{y}\">{}</text>",
            y - 10.0,
            COLORS[j],
            x + 16.0,
            escape(name)
        );
        x += 150.0;
    }
}

fn tick_label(decade: i32) -> String {
    match u32::try_from(decade) {
        Ok(d) => 10u64.pow(d).to_string(),
        Err(_) => format!("0.{}1", "0".repeat(decade.unsigned_abs() as usize - 1)),
    }
}

/// A bar's value label: at most three significant digits.
fn short(v: f64) -> String {
    match v {
        v if v >= 100.0 => format!("{v:.0}"),
        v if v >= 10.0 => format!("{v:.1}"),
        v => format!("{v:.2}"),
    }
}

fn escape(text: &str) -> String {
    text.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decades_cover_every_value() {
        assert_eq!(decades([0.3, 45.0, f64::NAN].into_iter()), (-1, 2));
        assert_eq!(decades([100.0].into_iter()), (2, 3));
        assert_eq!(decades(std::iter::empty()), (0, 1));
    }

    #[test]
    fn labels_are_short() {
        assert_eq!(short(1234.6), "1235");
        assert_eq!(short(0.123), "0.12");
        assert_eq!(tick_label(-2), "0.01");
        assert_eq!(tick_label(3), "1000");
    }
}
