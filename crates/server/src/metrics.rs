//! `GET /metrics`: the hub's counters in the Prometheus text exposition format, version 0.0.4
//! (Prometheus, "Exposition formats": `# HELP` and `# TYPE` lines, then one sample a line).
//! Off with `--metrics off` (the route is gone: 404).
//!
//! ```text
//!  scraper ── GET /metrics ──▶ this loop: Σ every loop's Meters, Σ every loop's socket totals,
//!                                         the hub's retained bytes and channels
//!          ◀── 200 text/plain; version=0.0.4 ── talkback_connections{technique="sse"} 2 …
//! ```
//!
//! Reading costs the loops nothing: each one's counters are its own (see `meters.rs`).

use std::fmt::Write as _;

use talkback_http1::Status;
use talkback_reactor::{Cx, IoTotals};

use crate::answer::{ReplyTo, respond};
use crate::meters::{ConnKind, Delivered, Totals};
use crate::state::LoopCtx;
use crate::stats::Answered;

/// The exposition's media type (version 0.0.4 of the text format).
pub const CONTENT_TYPE: &[u8] = b"text/plain; version=0.0.4; charset=utf-8";

/// What one scrape reports.
#[derive(Debug, Clone, Copy, Default)]
pub struct Scrape {
    /// The loops' counters, summed.
    pub totals: Totals,
    /// The loops' socket byte counts, summed.
    pub io: IoTotals,
    /// Bytes the hub's history holds, as its budget counts them.
    pub retained_bytes: usize,
    /// Channels that exist.
    pub channels: usize,
}

/// Answers a scrape.
pub fn answer(to: ReplyTo, cx: &mut Cx<'_>, state: &LoopCtx) -> Answered {
    let io = state
        .loops
        .iter()
        .map(|handle| handle.io_totals())
        .fold(IoTotals::default(), |sum, io| IoTotals { read: sum.read + io.read, written: sum.written + io.written });
    let shared = state.hub.shared();
    let scrape = Scrape {
        totals: state.meter.all().totals(),
        io,
        retained_bytes: shared.retained_bytes(),
        channels: shared.channel_count(),
    };
    let body = render(&scrape);
    let headers: [(&str, &[u8]); 2] = [("Content-Type", CONTENT_TYPE), ("Cache-Control", b"no-store")];
    respond(cx, state, to, Status::OK, &headers, body.as_bytes())
}

/// The exposition text of `scrape`.
pub fn render(scrape: &Scrape) -> String {
    let mut out = String::with_capacity(2048);
    let t = &scrape.totals;
    family(&mut out, "talkback_connections", "gauge", "Open connections, by what each is now.");
    for kind in ConnKind::ALL {
        sample(&mut out, "talkback_connections", Some(kind.label()), t.connections[kind as usize]);
    }
    let published = "talkback_messages_published_total";
    family(&mut out, published, "counter", "Messages published (POST and WebSocket).");
    sample(&mut out, published, None, t.published);
    let deliveries = "talkback_deliveries_total";
    family(&mut out, deliveries, "counter", "Messages delivered to readers, replays included, by technique.");
    for technique in Delivered::ALL {
        sample(&mut out, deliveries, Some(technique.label()), t.deliveries[technique as usize]);
    }
    let slow = "talkback_slow_consumers_dropped_total";
    family(&mut out, slow, "counter", "Subscribers dropped because their output queue passed --output-cap.");
    sample(&mut out, slow, None, t.slow_dropped);
    let retained = "talkback_retained_bytes";
    family(&mut out, retained, "gauge", "Bytes of history retained, as the --max-retained-bytes budget counts them.");
    sample(&mut out, retained, None, scrape.retained_bytes as u64);
    family(&mut out, "talkback_channels", "gauge", "Channels that exist (at most --max-channels).");
    sample(&mut out, "talkback_channels", None, scrape.channels as u64);
    let received = "talkback_bytes_received_total";
    family(&mut out, received, "counter", "Bytes read from client sockets.");
    sample(&mut out, received, None, scrape.io.read);
    let sent = "talkback_bytes_sent_total";
    family(&mut out, sent, "counter", "Bytes written to client sockets.");
    sample(&mut out, sent, None, scrape.io.written);
    out
}

fn family(out: &mut String, name: &str, kind: &str, help: &str) {
    let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} {kind}");
}

fn sample(out: &mut String, name: &str, technique: Option<&str>, value: u64) {
    let _ = match technique {
        Some(label) => writeln!(out, "{name}{{technique=\"{label}\"}} {value}"),
        None => writeln!(out, "{name} {value}"),
    };
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_family_has_help_and_type_before_its_samples() {
        let mut scrape = Scrape::default();
        scrape.totals.connections[ConnKind::Sse as usize] = 2;
        scrape.io.read = 7;
        let text = render(&scrape);
        assert!(text.contains("# TYPE talkback_connections gauge\ntalkback_connections{technique=\"http\"} 0\n"));
        assert!(text.contains("talkback_connections{technique=\"sse\"} 2\n"));
        assert!(text.contains("talkback_bytes_received_total 7\n"));
        let mut declared = Vec::new();
        for line in text.lines() {
            if let Some(rest) = line.strip_prefix("# TYPE ") {
                declared.push(rest.split(' ').next().unwrap().to_string());
            } else if !line.starts_with('#') {
                let name = line.split(['{', ' ']).next().unwrap();
                assert_eq!(declared.last().map(String::as_str), Some(name), "{line}: its family comes first");
            }
        }
        assert_eq!(declared.len(), 8);
    }
}
