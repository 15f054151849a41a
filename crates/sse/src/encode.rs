//! The event encoder: the server's half of WHATWG HTML "Parsing an event stream"
//! (<https://html.spec.whatwg.org/multipage/server-sent-events.html#parsing-an-event-stream>).
//!
//! Every function appends one complete block, ending in a blank line, to a caller's
//! `Vec<u8>`. A block is self-contained: whatever was written before, the parser's buffers are
//! empty again after it, so blocks can be interleaved in any order.
//!
//! Numbers (`id:` of [`encode_message`], `retry:`, the missed count) are written by
//! `talkback_http1::push_decimal`, the one decimal writer of the protocol crates.

use std::ops::Range;

use talkback_http1::{find_cr_or_lf, push_decimal};

/// A field value that cannot be written: it would end the line early (CR, LF) or make the
/// browser ignore the field (NUL in an `id`). Only our own caller can cause this — stream
/// bytes never reach the encoder — so it is a misuse error, not a peer error.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InvalidField {
    /// The `id` contains CR, LF or NUL ("If the field value does not contain U+0000 NULL").
    Id,
    /// The `event` name contains CR or LF.
    Event,
}

impl std::fmt::Display for InvalidField {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            InvalidField::Id => "SSE id contains CR, LF or NUL",
            InvalidField::Event => "SSE event name contains CR or LF",
        })
    }
}

impl std::error::Error for InvalidField {}

/// One event to send. Built with [`Event::new`] and the `with_*` methods, which refuse field
/// values that cannot survive the trip, so [`Event::encode`] cannot fail.
///
/// The data may contain any line ends: each line becomes its own `data:` line, and the
/// browser joins them with LF. SSE cannot carry a CR: `"a\r\nb"` and `"a\rb"` both arrive
/// as `"a\nb"` (see `round_trip_normalises_line_ends_to_lf` in the tests).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Event<'a> {
    id: Option<&'a str>,
    event: Option<&'a str>,
    retry: Option<u64>,
    data: &'a str,
}

impl<'a> Event<'a> {
    /// An event of the default type (`message`) carrying `data`.
    pub fn new(data: &'a str) -> Self {
        Event { id: None, event: None, retry: None, data }
    }

    /// Sets the `id` field: the browser remembers it and sends it back as `Last-Event-ID`
    /// when it reconnects. An empty id resets the browser's last event ID.
    pub fn with_id(self, id: &'a str) -> Result<Self, InvalidField> {
        if id.bytes().any(|b| matches!(b, b'\r' | b'\n' | 0)) {
            return Err(InvalidField::Id);
        }
        Ok(Event { id: Some(id), ..self })
    }

    /// Sets the `event` field: the browser dispatches the event under this type, so only
    /// `addEventListener(name, ..)` sees it (not `onmessage`). An empty name means `message`.
    pub fn with_event(self, name: &'a str) -> Result<Self, InvalidField> {
        if name.bytes().any(|b| matches!(b, b'\r' | b'\n')) {
            return Err(InvalidField::Event);
        }
        Ok(Event { event: Some(name), ..self })
    }

    /// Sets the `retry` field: the browser's reconnection delay in milliseconds.
    pub fn with_retry(self, millis: u64) -> Self {
        Event { retry: Some(millis), ..self }
    }

    /// Appends the block: `event:`, `id:`, `retry:`, then one `data:` line per line of data,
    /// then a blank line.
    pub fn encode(&self, out: &mut Vec<u8>) {
        if let Some(name) = self.event {
            field(out, b"event", name.as_bytes());
        }
        if let Some(id) = self.id {
            field(out, b"id", id.as_bytes());
        }
        if let Some(ms) = self.retry {
            out.extend_from_slice(b"retry: ");
            push_decimal(out, ms);
            out.push(b'\n');
        }
        encode_data(self.data, out);
        out.push(b'\n');
    }
}

/// The hub's fast path: `id: {id}\ndata: ...\n\n`, the block every subscriber of a channel
/// receives. The hub calls this once per message and shares the bytes.
///
/// Returns where `data` itself sits in `out` when it was copied there as it is — it is one
/// line (no CR or LF), as most messages are — so the caller can keep this block as the
/// message's only copy and use that range for the other transports; `None` when the data was
/// split into several `data:` lines.
pub fn encode_message(id: u64, data: &str, out: &mut Vec<u8>) -> Option<Range<usize>> {
    out.extend_from_slice(b"id: ");
    push_decimal(out, id);
    out.push(b'\n');
    let start = out.len() + b"data: ".len();
    let lines = encode_data(data, out);
    out.push(b'\n');
    (lines == 1).then_some(start..start + data.len())
}

/// A comment block, `: text\n\n` (or `:\n\n` for empty text), ignored by the browser: "If
/// the line starts with a U+003A COLON character (:): Ignore the line." The hub sends one as
/// a heartbeat, so that idle proxies and NATs keep the connection and a dead peer is found
/// by the failed write. Each line of a multi-line text becomes its own comment line.
pub fn encode_comment(text: &str, out: &mut Vec<u8>) {
    for line in lines(text) {
        out.push(b':');
        if !line.is_empty() {
            out.push(b' ');
            out.extend_from_slice(line.as_bytes());
        }
        out.push(b'\n');
    }
    out.push(b'\n');
}

/// A block with only `retry: {millis}`: sets the browser's reconnection delay without
/// dispatching anything (its data buffer stays empty, so "set the data buffer and the event
/// type buffer to the empty string and return").
pub fn encode_retry(millis: u64, out: &mut Vec<u8>) {
    out.extend_from_slice(b"retry: ");
    push_decimal(out, millis);
    out.extend_from_slice(b"\n\n");
}

/// The hub's "you missed messages" notice: `event: missed\ndata: {count}\n\n`, sent before
/// the replay when a `Last-Event-ID` is older than the retained history. It has no `id`, so
/// the browser's last event ID is untouched; a page sees it only with
/// `source.addEventListener("missed", ..)`, never in `onmessage`.
pub fn encode_missed(count: u64, out: &mut Vec<u8>) {
    out.extend_from_slice(b"event: missed\ndata: ");
    push_decimal(out, count);
    out.extend_from_slice(b"\n\n");
}

/// [`encode_missed`] for a notice that nothing follows: every message after the client's
/// cursor was evicted. It carries `id: {last_id}`, the newest id, so the browser's last event
/// ID moves past the gap and a reconnect does not ask for it again:
/// `event: missed\nid: {last_id}\ndata: {count}\n\n`.
pub fn encode_missed_through(count: u64, last_id: u64, out: &mut Vec<u8>) {
    out.extend_from_slice(b"event: missed\nid: ");
    push_decimal(out, last_id);
    out.extend_from_slice(b"\ndata: ");
    push_decimal(out, count);
    out.extend_from_slice(b"\n\n");
}

/// `data: {line}\n` for each line of `data`; an empty string is one empty `data:` line, so
/// the event is still dispatched (with empty data). Returns how many lines.
fn encode_data(data: &str, out: &mut Vec<u8>) -> usize {
    let mut count = 0;
    for line in lines(data) {
        field(out, b"data", line.as_bytes());
        count += 1;
    }
    count
}

/// `name: value\n`. The space after the colon is always written, so a value that itself
/// starts with a space keeps it: the parser removes exactly one.
fn field(out: &mut Vec<u8>, name: &[u8], value: &[u8]) {
    out.extend_from_slice(name);
    out.extend_from_slice(b": ");
    out.extend_from_slice(value);
    out.push(b'\n');
}

/// Splits at CRLF, CR and LF, the three line ends of the event-stream grammar. Unlike
/// `str::lines`, a trailing line end yields a final empty line: `"a\n"` is `["a", ""]`.
fn lines(text: &str) -> impl Iterator<Item = &str> {
    let mut rest = Some(text);
    std::iter::from_fn(move || {
        let s = rest?;
        // A byte search, eight at a time: CR and LF are ASCII, so they never occur inside a
        // longer UTF-8 sequence.
        match find_cr_or_lf(s.as_bytes()) {
            None => {
                rest = None;
                Some(s)
            }
            Some(i) => {
                let skip = if s[i..].starts_with("\r\n") { 2 } else { 1 };
                rest = Some(&s[i + skip..]);
                Some(&s[..i])
            }
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bytes(f: impl FnOnce(&mut Vec<u8>)) -> Vec<u8> {
        let mut out = Vec::new();
        f(&mut out);
        out
    }

    #[test]
    fn encode_message_writes_id_then_data_lines() {
        let mut out = b"before;".to_vec();
        assert_eq!(encode_message(7, "hi", &mut out), Some(19..21), "one line: copied as it is, here");
        assert_eq!(out, b"before;id: 7\ndata: hi\n\n");
        let mut out = Vec::new();
        assert_eq!(encode_message(0, "a\r\nb", &mut out), None, "split into lines: no one range holds it");
        assert_eq!(out, b"id: 0\ndata: a\ndata: b\n\n");
        let max = bytes(|o| {
            encode_message(u64::MAX, "", o);
        });
        assert_eq!(max, b"id: 18446744073709551615\ndata: \n\n");
    }

    #[test]
    fn event_writes_fields_in_order() {
        let event = Event::new("x").with_id("9").unwrap().with_event("tick").unwrap();
        let out = bytes(|o| event.with_retry(1500).encode(o));
        assert_eq!(out, b"event: tick\nid: 9\nretry: 1500\ndata: x\n\n");
    }

    #[test]
    fn event_refuses_line_breaking_id_and_name() {
        for bad in ["a\nb", "a\rb", "a\0b"] {
            assert_eq!(Event::new("").with_id(bad), Err(InvalidField::Id), "{bad:?}");
        }
        for bad in ["a\nb", "a\rb"] {
            assert_eq!(Event::new("").with_event(bad), Err(InvalidField::Event), "{bad:?}");
        }
    }

    #[test]
    fn comment_is_a_colon_line_then_blank_line() {
        assert_eq!(bytes(|o| encode_comment("", o)), b":\n\n");
        assert_eq!(bytes(|o| encode_comment("ping", o)), b": ping\n\n");
        assert_eq!(bytes(|o| encode_comment("a\nb", o)), b": a\n: b\n\n");
    }

    #[test]
    fn retry_and_missed_blocks() {
        assert_eq!(bytes(|o| encode_retry(3000, o)), b"retry: 3000\n\n");
        assert_eq!(bytes(|o| encode_missed(12, o)), b"event: missed\ndata: 12\n\n");
    }

    #[test]
    fn lines_splits_at_every_line_end_and_keeps_a_trailing_empty_line() {
        let cases: &[(&str, &[&str])] = &[
            ("", &[""]),
            ("a", &["a"]),
            ("a\n", &["a", ""]),
            ("\r\n", &["", ""]),
            ("\r\r\n\n", &["", "", "", ""]),
            ("a\rb\nc\r\nd", &["a", "b", "c", "d"]),
        ];
        for (input, expect) in cases {
            assert_eq!(lines(input).collect::<Vec<_>>(), *expect, "{input:?}");
        }
    }
}
