//! What each client received, checked message by message. Every message the publisher sends
//! is the text `{"t":MICROS,"seq":N}`: `t` is the send time in microseconds since the run
//! started (one clock, one process), `seq` is the id the hub must give it. A [`Tally`] checks
//! that ids arrive contiguous and once (counting losses, duplicates and reordering honestly)
//! and keeps one publish-to-receive latency per delivered message.

use std::time::{Duration, Instant};

use crate::wire::Snapshot;

/// The run's clock: microseconds since the start, shared by the publisher and the clients.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Clock {
    start: Instant,
}

impl Clock {
    /// A clock starting now.
    pub(crate) fn new() -> Clock {
        Clock { start: Instant::now() }
    }

    /// Microseconds since the start.
    pub(crate) fn micros(&self) -> u64 {
        self.start.elapsed().as_micros() as u64
    }
}

/// The message text for sequence number `seq` sent at `t` µs.
pub(crate) fn stamp(t: u64, seq: u64) -> String {
    format!("{{\"t\":{t},\"seq\":{seq}}}")
}

/// The `(t, seq)` of a message text made by [`stamp`].
pub(crate) fn parse_stamp(text: &str) -> Option<(u64, u64)> {
    let rest = text.strip_prefix("{\"t\":")?;
    let (t, rest) = rest.split_once(",\"seq\":")?;
    let seq = rest.strip_suffix('}')?;
    Some((t.parse().ok()?, seq.parse().ok()?))
}

/// One client's deliveries.
#[derive(Debug, Clone, Default)]
pub(crate) struct Tally {
    /// How many messages the publisher sends (ids 1..=expected).
    pub(crate) expected: u64,
    /// `seen[id - 1]`: whether that id has arrived.
    seen: Vec<bool>,
    /// Distinct expected ids received.
    pub(crate) delivered: u64,
    /// Ids received more than once.
    pub(crate) duplicates: u64,
    /// Ids that did not follow the previous one (a gap, or going backwards).
    pub(crate) out_of_order: u64,
    /// Messages whose id was outside 1..=expected, or whose text was not a stamp for that id.
    pub(crate) malformed: u64,
    /// Messages the hub said were missed (`Talkback-Missed`, SSE `event: missed`).
    pub(crate) missed_reported: u64,
    /// The last id received (the cursor for the next request).
    pub(crate) last_id: u64,
    /// Publish-to-receive latency of each delivery, µs.
    pub(crate) latencies: Vec<u64>,
    /// The client's counters when the last expected message arrived.
    pub(crate) done_at: Option<Snapshot>,
    /// Ids 1..=prefix have all arrived (no gap below it).
    pub(crate) prefix: u64,
    /// Connections lost and made again (the reconnect scenario).
    pub(crate) reconnects: u64,
    /// Since the last reconnect: when it was made, and the last id published by then.
    pub(crate) catching_up: Option<(Instant, u64)>,
    /// The longest time from a reconnect until every message published before it had arrived.
    pub(crate) catch_up: Option<Duration>,
    /// The longest time from the cut until the client noticed its connection was gone.
    pub(crate) noticed: Option<Duration>,
    /// How the client resumed after a reconnect (`after=N`, `Last-Event-ID`, …).
    pub(crate) resumed_by: &'static str,
}

impl Tally {
    /// A tally expecting ids 1..=expected.
    pub(crate) fn new(expected: u64) -> Tally {
        Tally { expected, seen: vec![false; expected as usize], ..Tally::default() }
    }

    /// Records message `id` with text `text`, received at `now` µs.
    pub(crate) fn record(&mut self, id: u64, text: &str, now: u64) {
        let stamp = parse_stamp(text).filter(|&(_, seq)| seq == id);
        let slot = id.checked_sub(1).and_then(|i| self.seen.get_mut(i as usize));
        let (Some((t, _)), Some(slot)) = (stamp, slot) else {
            self.malformed += 1;
            return;
        };
        if *slot {
            self.duplicates += 1;
            return;
        }
        *slot = true;
        if id != self.last_id + 1 {
            self.out_of_order += 1;
        }
        self.last_id = self.last_id.max(id);
        self.delivered += 1;
        self.latencies.push(now.saturating_sub(t));
        while self.seen.get(self.prefix as usize) == Some(&true) {
            self.prefix += 1;
        }
        self.check_caught_up();
    }

    /// A reconnect was just made, when `published` messages had been sent.
    pub(crate) fn reconnected(&mut self, published: u64) {
        self.reconnects += 1;
        self.catching_up = Some((Instant::now(), published));
        self.check_caught_up();
    }

    /// Ends a catch-up once every message published before the reconnect has arrived.
    fn check_caught_up(&mut self) {
        if let Some((since, _)) = self.catching_up.filter(|&(_, target)| self.prefix >= target) {
            let took = since.elapsed();
            self.catch_up = Some(self.catch_up.map_or(took, |longest| longest.max(took)));
            self.catching_up = None;
        }
    }

    /// Whether every expected message has arrived.
    pub(crate) fn complete(&self) -> bool {
        self.delivered == self.expected
    }

    /// Expected messages that never arrived.
    pub(crate) fn lost(&self) -> u64 {
        self.expected - self.delivered
    }

    /// The `p`-th percentile latency (nearest rank), µs; `None` when nothing arrived.
    pub(crate) fn percentile(&self, p: f64) -> Option<u64> {
        let mut sorted = self.latencies.clone();
        sorted.sort_unstable();
        let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
        sorted.get(rank.clamp(1, sorted.len().max(1)) - 1).copied()
    }
}

/// Parses the hub's batch `[{"id":N,"data":"…"},…]` into `(id, text)` pairs.
pub(crate) fn parse_batch(body: &[u8]) -> Option<Vec<(u64, String)>> {
    let text = std::str::from_utf8(body).ok()?;
    let mut rest = text.strip_prefix('[')?.strip_suffix(']')?;
    let mut out = Vec::new();
    while !rest.is_empty() {
        rest = rest.strip_prefix(',').unwrap_or(rest);
        let (element, after) = parse_element_prefix(rest)?;
        rest = after;
        out.push(element);
    }
    Some(out)
}

/// Parses one element `{"id":N,"data":"…"}` — a `talkback.json` WebSocket frame is exactly one.
pub(crate) fn parse_element(text: &str) -> Option<(u64, String)> {
    parse_element_prefix(text).filter(|(_, rest)| rest.is_empty()).map(|(element, _)| element)
}

/// The `K` of a `talkback.json` frame `{"missed":K}`.
pub(crate) fn parse_missed(text: &str) -> Option<u64> {
    text.strip_prefix("{\"missed\":")?.strip_suffix('}')?.parse().ok()
}

fn parse_element_prefix(text: &str) -> Option<((u64, String), &str)> {
    let after_id = text.strip_prefix("{\"id\":")?;
    let (id, after) = after_id.split_once(",\"data\":")?;
    let (data, after) = parse_json_string(after)?;
    Some(((id.parse().ok()?, data), after.strip_prefix('}')?))
}

/// Parses a JSON string at the start of `text`; returns it and the text after it.
fn parse_json_string(text: &str) -> Option<(String, &str)> {
    let mut chars = text.strip_prefix('"')?.char_indices();
    let mut out = String::new();
    while let Some((i, c)) = chars.next() {
        match c {
            '"' => return Some((out, &text[i + 2..])),
            '\\' => match chars.next()?.1 {
                'n' => out.push('\n'),
                'r' => out.push('\r'),
                't' => out.push('\t'),
                'u' => {
                    let hex: String = (0..4).filter_map(|_| chars.next().map(|(_, c)| c)).collect();
                    out.push(char::from_u32(u32::from_str_radix(&hex, 16).ok()?)?);
                }
                other => out.push(other),
            },
            c => out.push(c),
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stamps_round_trip() {
        assert_eq!(parse_stamp(&stamp(1234, 7)), Some((1234, 7)));
        assert_eq!(parse_stamp("hello"), None);
    }

    #[test]
    fn batches_decode_escaped_data() {
        let body = br#"[{"id":1,"data":"{\"t\":5,\"seq\":1}"},{"id":2,"data":"a\nb\u0001"}]"#;
        let batch = parse_batch(body).unwrap();
        assert_eq!(batch, [(1, stamp(5, 1)), (2, "a\nb\u{1}".to_owned())]);
        assert_eq!(parse_batch(b"[]"), Some(vec![]));
        assert_eq!(parse_batch(b"[{\"id\":1}]"), None);
    }

    #[test]
    fn a_talkback_json_frame_is_one_element_or_a_missed_count() {
        assert_eq!(parse_element(r#"{"id":7,"data":"{\"t\":5,\"seq\":7}"}"#), Some((7, stamp(5, 7))));
        assert_eq!(parse_element(r#"{"id":7,"data":"x"},"#), None, "one element, nothing after");
        assert_eq!(parse_missed(r#"{"missed":12}"#), Some(12));
        assert_eq!(parse_missed(r#"{"id":1,"data":"x"}"#), None);
    }

    #[test]
    fn catch_up_ends_when_everything_published_before_the_reconnect_has_arrived() {
        let mut tally = Tally::new(6);
        for id in 1..=2 {
            tally.record(id, &stamp(0, id), 0);
        }
        tally.reconnected(5);
        assert_eq!((tally.reconnects, tally.catch_up), (1, None));
        tally.record(4, &stamp(0, 4), 0);
        tally.record(5, &stamp(0, 5), 0);
        assert_eq!((tally.prefix, tally.catch_up), (2, None), "3 is still missing");
        tally.record(3, &stamp(0, 3), 0);
        assert_eq!(tally.prefix, 5);
        assert!(tally.catch_up.is_some() && tally.catching_up.is_none());
        let mut tally = Tally::new(3);
        tally.record(1, &stamp(0, 1), 0);
        tally.reconnected(1);
        assert_eq!(tally.catch_up.map(|d| d < Duration::from_secs(1)), Some(true), "nothing to catch up");
    }

    #[test]
    fn tally_counts_losses_duplicates_and_reordering() {
        let mut tally = Tally::new(4);
        tally.record(1, &stamp(0, 1), 100);
        tally.record(1, &stamp(0, 1), 100);
        tally.record(3, &stamp(50, 3), 150);
        tally.record(2, &stamp(60, 2), 300);
        tally.record(9, &stamp(60, 9), 300);
        tally.record(4, &stamp(60, 3), 300);
        assert_eq!((tally.delivered, tally.duplicates, tally.out_of_order, tally.malformed), (3, 1, 2, 2));
        assert_eq!(tally.lost(), 1);
        assert!(!tally.complete());
        assert_eq!(tally.percentile(50.0), Some(100));
        assert_eq!(tally.percentile(99.0), Some(240));
    }
}
