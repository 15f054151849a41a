//! Output: one machine-readable `BENCH key=value …` line per measured figure (the scripts
//! grep these), and a plain aligned table for people.

use std::fmt::Display;
use std::time::Duration;

/// One `BENCH` line under construction: `tool=… scenario=… label=…` then the figures.
#[derive(Debug, Clone)]
pub struct Line {
    fields: Vec<(&'static str, String)>,
}

impl Line {
    /// Starts a line for `tool` (`ws-load`, `push-load`), `scenario`, and the server `label`.
    pub fn new(tool: &str, scenario: &str, label: &str) -> Self {
        let mut line = Self { fields: Vec::new() };
        line.fields.push(("tool", tool.to_owned()));
        line.fields.push(("scenario", scenario.to_owned()));
        line.fields.push(("label", label.to_owned()));
        line
    }

    /// Adds `key=value` (values must not contain spaces).
    pub fn field(mut self, key: &'static str, value: impl Display) -> Self {
        self.fields.push((key, value.to_string()));
        self
    }

    /// Adds `key=value` with two decimals.
    pub fn float(self, key: &'static str, value: f64) -> Self {
        self.field(key, format!("{value:.2}"))
    }

    /// Adds a duration in microseconds with one decimal.
    pub fn micros(self, key: &'static str, d: Duration) -> Self {
        self.field(key, format!("{:.1}", d.as_secs_f64() * 1e6))
    }

    /// The value of `key`, if present.
    pub fn get(&self, key: &str) -> Option<&str> {
        self.fields.iter().find(|(k, _)| *k == key).map(|(_, v)| v.as_str())
    }

    /// Prints the line to stdout.
    pub fn print(&self) {
        let body: Vec<String> = self.fields.iter().map(|(k, v)| format!("{k}={v}")).collect();
        println!("BENCH {}", body.join(" "));
    }
}

/// Prints `rows` under `header` with every column padded to its widest cell.
pub fn table(header: &[&str], rows: &[Vec<String>]) {
    let mut widths: Vec<usize> = header.iter().map(|h| h.len()).collect();
    for row in rows {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.len());
        }
    }
    let fmt = |cells: Vec<&str>| -> String {
        let padded: Vec<String> = cells.iter().zip(&widths).map(|(c, w)| format!("{c:>w$}")).collect();
        padded.join("  ")
    };
    println!("{}", fmt(header.to_vec()));
    for row in rows {
        println!("{}", fmt(row.iter().map(String::as_str).collect()));
    }
}

/// A count per second with a thousands separator, for the human table.
pub fn human_rate(per_sec: f64) -> String {
    let n = per_sec.round() as u64;
    let s = n.to_string();
    let mut out = String::new();
    for (i, c) in s.chars().enumerate() {
        if i > 0 && (s.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// A duration as `12.3µs` / `4.56ms`.
pub fn human_duration(d: Duration) -> String {
    let us = d.as_secs_f64() * 1e6;
    if us < 1000.0 { format!("{us:.1}µs") } else { format!("{:.2}ms", us / 1000.0) }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn separators() {
        assert_eq!(human_rate(1234567.4), "1,234,567");
        assert_eq!(human_rate(12.0), "12");
    }

    #[test]
    fn line_fields() {
        let l = Line::new("ws-load", "latency", "x").field("errors", 0);
        assert_eq!(l.get("errors"), Some("0"));
        assert_eq!(l.get("label"), Some("x"));
    }
}
