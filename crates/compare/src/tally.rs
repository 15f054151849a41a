//! What each client received, checked message by message. Every message the publisher sends
//! is the text `{"t":MICROS,"seq":N}`: `t` is the send time in microseconds since the run
//! started (one clock, one process), `seq` is the id the hub must give it. A [`Tally`] checks
//! that ids arrive contiguous and once (counting losses, duplicates and reordering honestly)
//! and keeps one publish-to-receive latency per delivered message.

use std::time::Instant;

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
        let after_id = rest.strip_prefix("{\"id\":")?;
        let (id, after) = after_id.split_once(",\"data\":")?;
        let (data, after) = parse_json_string(after)?;
        rest = after.strip_prefix('}')?;
        out.push((id.parse().ok()?, data));
    }
    Some(out)
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
