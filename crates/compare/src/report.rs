//! Turns raw counters into the numbers of the table, and the table into markdown.
//!
//! Per-message columns divide the **active** phase (connection set-up up to the last
//! delivery) by the messages delivered, so a technique pays for its handshake, its requests
//! and its empty answers. The idle columns divide the **idle** phase by its simulated length,
//! giving what one client costs per minute when nothing happens.

use std::fmt::Write as _;

use std::time::Duration;

use crate::args::Args;
use crate::reconnect::Outcome;
use crate::run::{Measured, RunResult};
use crate::wire::{CLOSE_PACKETS, HANDSHAKE_PACKETS, TCP_IP_HEADER};

/// One technique's numbers.
#[derive(Debug, Clone)]
pub(crate) struct Row {
    /// Technique name.
    pub(crate) name: String,
    /// Distinct messages delivered.
    pub(crate) delivered: u64,
    /// Messages never delivered.
    pub(crate) lost: u64,
    /// Messages delivered twice or more, out of order, or malformed.
    pub(crate) anomalies: String,
    /// HTTP requests (incl. upgrade/stream requests) per delivered message.
    pub(crate) requests_per_message: f64,
    /// Answers without a message during the active phase.
    pub(crate) empty: u64,
    /// Bytes both ways per delivered message, HTTP level.
    pub(crate) bytes_http: f64,
    /// [`Row::bytes_http`] less the message text itself: what the technique adds per message.
    pub(crate) overhead: f64,
    /// ... plus the TCP/IP header model.
    pub(crate) bytes_tcp: f64,
    /// Median publish-to-receive latency, ms.
    pub(crate) p50_ms: Option<f64>,
    /// 99th percentile latency, ms.
    pub(crate) p99_ms: Option<f64>,
    /// Server RSS per idle client, bytes.
    pub(crate) memory: Option<f64>,
    /// Idle phase, per simulated minute: requests, empty answers, HTTP bytes, bytes incl. TCP.
    pub(crate) idle_per_minute: [f64; 4],
    /// Why the client stopped early, if it did.
    pub(crate) error: Option<String>,
}

impl Row {
    /// Computes a row from one client's measurements.
    /// `payload` is the mean length of one message's text, the part every technique carries.
    pub(crate) fn new(m: &Measured, idle_minutes: f64, memory: Option<f64>, payload: f64) -> Row {
        let t = &m.tally;
        let per = |x: u64| if t.delivered == 0 { f64::NAN } else { x as f64 / t.delivered as f64 };
        let per_min = |x: u64| x as f64 / idle_minutes;
        let mut anomalies = Vec::new();
        for (count, what) in [(t.duplicates, "dup"), (t.out_of_order, "reordered"), (t.malformed, "malformed")] {
            if count > 0 {
                anomalies.push(format!("{count} {what}"));
            }
        }
        if t.missed_reported > 0 {
            anomalies.push(format!("{} reported missed", t.missed_reported));
        }
        Row {
            name: m.technique.name(),
            delivered: t.delivered,
            lost: t.lost(),
            anomalies: anomalies.join(", "),
            requests_per_message: per(m.active.requests),
            empty: m.active.empty,
            bytes_http: per(m.active.http_bytes()),
            overhead: per(m.active.http_bytes()) - payload,
            bytes_tcp: per(m.active.tcp_bytes()),
            p50_ms: t.percentile(50.0).map(|us| us as f64 / 1000.0),
            p99_ms: t.percentile(99.0).map(|us| us as f64 / 1000.0),
            memory,
            idle_per_minute: [
                per_min(m.idle.requests),
                per_min(m.idle.empty),
                per_min(m.idle.http_bytes()),
                per_min(m.idle.tcp_bytes()),
            ],
            error: m.error.clone(),
        }
    }
}

fn ms(value: Option<f64>) -> String {
    match value {
        Some(v) if v < 10.0 => format!("{v:.2} ms"),
        Some(v) => format!("{v:.0} ms"),
        None => "—".into(),
    }
}

fn number(value: f64, decimals: usize) -> String {
    if value.is_finite() { format!("{value:.decimals$}") } else { "—".into() }
}

fn bytes(value: Option<f64>) -> String {
    match value {
        Some(v) if v.abs() >= 1024.0 => format!("{:.1} KiB", v / 1024.0),
        Some(v) => format!("{v:.0} B"),
        None => "not measured".into(),
    }
}

/// The main table: one line per technique.
pub(crate) fn main_table(rows: &[Row], expected: u64) -> String {
    let mut out = String::from(
        "| technique | messages delivered | lost | requests/message | empty responses | bytes/message (HTTP) \
         | overhead per message, payload excluded | bytes/message (incl. TCP estimate) | p50 latency | p99 latency \
         | server memory/client |\n\
         |---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n",
    );
    for r in rows {
        let lost = if r.anomalies.is_empty() { r.lost.to_string() } else { format!("{} ({})", r.lost, r.anomalies) };
        let _ = writeln!(
            out,
            "| {} | {} / {expected} | {lost} | {} | {} | {} | {} | {} | {} | {} | {} |",
            r.name,
            r.delivered,
            number(r.requests_per_message, 3),
            r.empty,
            number(r.bytes_http, 0),
            number(r.overhead, 0),
            number(r.bytes_tcp, 0),
            ms(r.p50_ms),
            ms(r.p99_ms),
            bytes(r.memory),
        );
    }
    out
}

/// The idle table: what one client costs per minute of silence.
pub(crate) fn idle_table(rows: &[Row]) -> String {
    let mut out = String::from(
        "| technique (idle) | requests/min | empty responses/min | bytes/min (HTTP) | bytes/min (incl. TCP estimate) |\n\
         |---|---:|---:|---:|---:|\n",
    );
    for r in rows {
        let [requests, empty, http, tcp] = r.idle_per_minute;
        let _ = writeln!(
            out,
            "| {} | {} | {} | {} | {} |",
            r.name,
            number(requests, 1),
            number(empty, 1),
            number(http, 0),
            number(tcp, 0)
        );
    }
    out
}

/// The reconnect table: one line per technique and kind of loss.
pub(crate) fn reconnect_table(outcome: &Outcome, expected: u64) -> String {
    let mut out = String::from(
        "| technique (reconnect) | connection lost by | messages delivered | lost | duplicates, reordered \
         | reported missed | noticed after | caught up after reconnecting | resumed with |\n\
         |---|---|---:|---:|---:|---:|---:|---:|---|\n",
    );
    let duration = |d: Option<Duration>| ms(d.map(|d| d.as_secs_f64() * 1000.0));
    for r in &outcome.rows {
        let t = &r.tally;
        let lost = match &r.error {
            Some(error) => format!("{} (gave up: {error})", t.lost()),
            None => t.lost().to_string(),
        };
        let _ = writeln!(
            out,
            "| {} | {} | {} / {expected} | {lost} | {}, {} | {} | {} | {} | {} |",
            r.technique.name(),
            r.loss.name(),
            t.delivered,
            t.duplicates,
            t.out_of_order,
            t.missed_reported,
            duration(t.noticed),
            duration(t.catch_up),
            t.resumed_by,
        );
    }
    out
}

/// The note under the reconnect table.
pub(crate) fn reconnect_notes(args: &Args, outcome: &Outcome) -> String {
    let mut out = format!(
        "Reconnect: {} messages at {}/s; right after message {} every client lost its connection — \
         \"client drops\" shut its own socket, \"server cuts\" had it closed from the hub's side by a relay — \
         and stayed away {} ms before connecting again with its cursor. \"Noticed after\": from the cut to \
         the client's failed read or write; \"caught up\": from the new connection until every message \
         published before it had arrived.\n",
        args.reconnect,
        args.rate,
        outcome.cut_after,
        args.outage.as_millis(),
    );
    for e in &outcome.publisher_errors {
        let _ = writeln!(out, "\n**reconnect publisher**: {e}");
    }
    out
}

/// The notes under the tables: the setup in one paragraph, and anything that went wrong.
pub(crate) fn notes(args: &Args, result: &RunResult, rows: &[Row], wall_secs: f64) -> String {
    let mut out = format!(
        "{} messages at {}/s, each a text `{{\"t\":…,\"seq\":N}}` of {:.0} bytes on average; then {} s idle run {}× faster \
         (SSE heartbeat {:.2} s, long-poll hold {:.2} s, poll intervals ÷ {}); memory with {} idle \
         clients per technique; {} server thread(s); run took {wall_secs:.1} s. TCP estimate: \
         {TCP_IP_HEADER} B per packet, {HANDSHAKE_PACKETS} per connection opened, {CLOSE_PACKETS} per \
         close, one per client write and per client read that returned data (pure ACKs not counted).\n",
        args.messages,
        args.rate,
        result.payload_bytes,
        args.idle.as_secs(),
        args.time_scale,
        args.compress(crate::run::HEARTBEAT).as_secs_f64(),
        args.compress(crate::run::HOLD).as_secs_f64(),
        args.time_scale,
        args.clients,
        args.threads,
    );
    for r in rows.iter().filter(|r| r.error.is_some()) {
        let _ = writeln!(out, "\n**{}** stopped early: {}", r.name, r.error.as_deref().unwrap_or_default());
    }
    for e in &result.publisher_errors {
        let _ = writeln!(out, "\n**publisher**: {e}");
    }
    out
}

/// `DIR/comparison.md`: the command, the tables and the notes.
pub(crate) fn markdown(args: &Args, tables: &str, notes: &str) -> String {
    let flags = args.command.strip_prefix("compare").unwrap_or_default().trim();
    let cargo = if flags.is_empty() { String::new() } else { format!(" -- {flags}") };
    format!(
        "<!-- written by `{}`; do not edit by hand -->\n\n```sh\ncargo run --release -p talkback-compare{cargo}\n```\n\n\
         {tables}\n{notes}\n![bytes per message and latency per technique](comparison.svg)\n",
        args.command,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn overhead_is_the_bytes_per_message_less_the_payload() {
        use crate::client::Technique;
        use crate::tally::{Tally, stamp};
        use crate::wire::Snapshot;
        let mut tally = Tally::new(2);
        tally.record(1, &stamp(0, 1), 0);
        tally.record(2, &stamp(0, 2), 0);
        let active = Snapshot { bytes_read: 300, bytes_written: 100, requests: 2, ..Snapshot::default() };
        let m = Measured { technique: Technique::LongPoll, tally, active, idle: Snapshot::default(), error: None };
        let row = Row::new(&m, 1.0, None, 15.0);
        assert_eq!((row.bytes_http, row.overhead), (200.0, 185.0));
        assert!(main_table(&[row], 2).contains("| 200 | 185 |"));
    }

    #[test]
    fn formats_missing_values_as_dashes() {
        assert_eq!(number(f64::NAN, 1), "—");
        assert_eq!(ms(Some(0.5)), "0.50 ms");
        assert_eq!(ms(Some(512.4)), "512 ms");
        assert_eq!(bytes(Some(2048.0)), "2.0 KiB");
        assert_eq!(bytes(None), "not measured");
    }
}
