//! Parsers and message bodies for `push-load`: the SSE event stream, the hub's long-poll JSON
//! batch, and Nchan's multipart/mixed long-poll batch. Each is just enough for bodies this
//! crate publishes itself (ASCII, no quotes, no newlines).

use std::time::{Duration, Instant};

/// The body published as message `seq` at `sent` (relative to `base`), padded to `size`:
/// `"<seq> <nanoseconds since base>"` then `x`s.
pub fn message_body(seq: u64, base: Instant, sent: Instant, size: usize) -> String {
    let mut body = format!("{seq} {}", (sent - base).as_nanos());
    while body.len() < size {
        body.push('x');
    }
    body
}

/// What [`message_body`] pads with, a block of it.
const PADDING: [u8; 64] = [b'x'; 64];

/// Reads back `(seq, sent offset from base)` from a [`message_body`]. Bytes, digit by digit:
/// the load generator does this for every delivery.
pub fn parse_body(body: &[u8]) -> Option<(u64, Duration)> {
    let (seq, rest) = leading_number(body)?;
    let (nanos, rest) = leading_number(rest.strip_prefix(b" ")?)?;
    // Compared a block at a time (memcmp), not byte by byte: this runs for every delivery,
    // and a byte loop over 1 KiB of padding was a third of the load generator's time.
    let padding = rest.chunks(PADDING.len()).all(|piece| piece == &PADDING[..piece.len()]);
    padding.then_some((seq, Duration::from_nanos(nanos)))
}

/// The decimal number at the front of `bytes` (at least one digit, no overflow) and the rest.
fn leading_number(bytes: &[u8]) -> Option<(u64, &[u8])> {
    let digits = bytes.iter().take_while(|b| b.is_ascii_digit()).count();
    if digits == 0 || digits > 19 {
        return None;
    }
    let value = bytes[..digits].iter().fold(0u64, |n, &d| n * 10 + u64::from(d - b'0'));
    Some((value, &bytes[digits..]))
}

/// Incremental `text/event-stream` parser (WHATWG HTML, "Parsing an event stream"): feeds
/// bytes, yields the `data` of each dispatched event. `id`, `event`, `retry` and comments are
/// ignored. It works on whole runs of bytes between line ends and reuses its buffers, so the
/// load generator spends as little as it can per event (it must not be the bottleneck).
#[derive(Debug, Default)]
pub struct SseParser {
    /// The line so far, when a read ended inside it.
    line: Vec<u8>,
    /// The event's data so far (reused from event to event).
    data: Vec<u8>,
    has_data: bool,
    skip_lf: bool,
}

impl SseParser {
    /// Feeds bytes; calls `out` with each event's data (as bytes: the caller decides whether
    /// it needs text).
    pub fn feed(&mut self, mut bytes: &[u8], out: &mut impl FnMut(&[u8])) {
        while !bytes.is_empty() {
            if self.skip_lf {
                self.skip_lf = false;
                if bytes[0] == b'\n' {
                    bytes = &bytes[1..];
                    continue;
                }
            }
            let Some(end) = bytes.iter().position(|&b| b == b'\n' || b == b'\r') else {
                self.line.extend_from_slice(bytes);
                return;
            };
            self.skip_lf = bytes[end] == b'\r';
            if self.line.is_empty() {
                self.line_done(&bytes[..end], out);
            } else {
                let mut line = std::mem::take(&mut self.line);
                line.extend_from_slice(&bytes[..end]);
                self.line_done(&line, out);
                line.clear();
                self.line = line;
            }
            bytes = &bytes[end + 1..];
        }
    }

    fn line_done(&mut self, line: &[u8], out: &mut impl FnMut(&[u8])) {
        if line.is_empty() {
            if self.has_data {
                out(&self.data);
                self.data.clear();
                self.has_data = false;
            }
            return;
        }
        let (field, value) = match line.iter().position(|&b| b == b':') {
            Some(i) => (&line[..i], line[i + 1..].strip_prefix(b" ").unwrap_or(&line[i + 1..])),
            None => (line, &b""[..]),
        };
        if field == b"data" {
            if self.has_data {
                self.data.push(b'\n');
            }
            self.data.extend_from_slice(value);
            self.has_data = true;
        }
    }
}

/// The `(id, data)` pairs of the hub's long-poll answer `[{"id":N,"data":"…"},…]`.
pub fn parse_json_batch(body: &str) -> Result<Vec<(u64, String)>, String> {
    let mut out = Vec::new();
    let mut rest = body;
    while let Some(i) = rest.find("\"id\":") {
        rest = &rest[i + 5..];
        let digits: String = rest.trim_start().chars().take_while(char::is_ascii_digit).collect();
        let id = digits.parse().map_err(|_| format!("bad id in {body:?}"))?;
        let d = rest.find("\"data\":").ok_or_else(|| format!("no data in {body:?}"))?;
        rest = rest[d + 7..].trim_start();
        rest = rest.strip_prefix('"').ok_or_else(|| format!("data not a string in {body:?}"))?;
        let end = rest.find('"').ok_or_else(|| format!("unterminated data in {body:?}"))?;
        out.push((id, rest[..end].to_owned()));
        rest = &rest[end + 1..];
    }
    Ok(out)
}

/// The parts of a `multipart/mixed` body (RFC 2046 §5.1.1) with the given boundary; each
/// part's own header fields are dropped.
pub fn parse_multipart(body: &str, boundary: &str) -> Result<Vec<String>, String> {
    let delimiter = format!("--{boundary}");
    let mut out = Vec::new();
    for piece in body.split(delimiter.as_str()).skip(1) {
        if piece.starts_with("--") {
            break; // the close delimiter
        }
        let piece = piece.strip_prefix("\r\n").unwrap_or(piece);
        let content = match piece.find("\r\n\r\n") {
            Some(i) => &piece[i + 4..],
            None if piece.starts_with("\r\n") => &piece[2..],
            None => return Err(format!("part without a blank line: {piece:?}")),
        };
        out.push(content.strip_suffix("\r\n").unwrap_or(content).to_owned());
    }
    Ok(out)
}

/// The `boundary` parameter of a `Content-Type` value.
pub fn boundary(content_type: &str) -> Option<&str> {
    content_type.split(';').filter_map(|p| p.trim().strip_prefix("boundary=")).map(|b| b.trim_matches('"')).next()
}

/// What one subscriber saw.
#[derive(Debug, Default)]
pub struct Seen {
    /// Receipt count per sequence number (index 0 unused).
    pub counts: Vec<u32>,
    /// Distinct messages received.
    pub unique: u64,
    /// Messages received, duplicates included.
    pub total: u64,
    /// Publish-to-receive time of each first receipt.
    pub latencies: Vec<Duration>,
    /// When the last message arrived.
    pub last: Option<Instant>,
    /// The first thing that went wrong.
    pub error: Option<String>,
}

impl Seen {
    /// Expects `messages` messages, numbered from 1.
    pub fn new(messages: u64) -> Self {
        let latencies = Vec::with_capacity(messages as usize);
        Self { counts: vec![0; messages as usize + 1], latencies, ..Self::default() }
    }

    /// True once every message arrived or something failed.
    pub fn done(&self, messages: u64) -> bool {
        self.unique >= messages || self.error.is_some()
    }

    /// Records one [`message_body`], published relative to `base`, received at `now` (one
    /// clock reading per read serves every message that read brought).
    pub fn deliver(&mut self, base: Instant, body: &[u8], now: Instant) {
        let Some((seq, sent)) = parse_body(body) else {
            let body = String::from_utf8_lossy(body);
            self.error.get_or_insert_with(|| format!("unexpected message {body:?}"));
            return;
        };
        let Some(count) = self.counts.get_mut(seq as usize).filter(|_| seq > 0) else {
            self.error.get_or_insert_with(|| format!("unknown sequence {seq}"));
            return;
        };
        *count += 1;
        self.total += 1;
        if *count == 1 {
            self.unique += 1;
            self.latencies.push(now.saturating_duration_since(base + sent));
        }
        self.last = Some(now);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bodies_round_trip() {
        let base = Instant::now();
        let body = message_body(42, base, base + Duration::from_micros(1500), 64);
        assert_eq!(body.len(), 64);
        assert_eq!(parse_body(body.as_bytes()), Some((42, Duration::from_micros(1500))));
        assert_eq!(parse_body(b"42 1500"), Some((42, Duration::from_nanos(1500))));
        for bad in [&b""[..], b"42", b"42 ", b" 1", b"4a 1", b"1 2xy", b"99999999999999999999 1"] {
            assert_eq!(parse_body(bad), None, "{:?}", String::from_utf8_lossy(bad));
        }
    }

    #[test]
    fn sse_every_split() {
        let wire = b": hi\n\nid: 1\ndata: a\r\n\r\nid: 2\rdata: b\rdata: c\r\r";
        for split in 1..wire.len() {
            let mut p = SseParser::default();
            let mut got = Vec::new();
            for piece in wire.chunks(split) {
                p.feed(piece, &mut |d| got.push(String::from_utf8_lossy(d).into_owned()));
            }
            assert_eq!(got, ["a", "b\nc"], "split {split}");
        }
    }

    #[test]
    fn json_batch() {
        let got = parse_json_batch(r#"[{"id":1,"data":"1 5xx"},{"id": 2, "data": "2 6"}]"#);
        assert_eq!(got, Ok(vec![(1, "1 5xx".into()), (2, "2 6".into())]));
        assert_eq!(parse_json_batch("[]"), Ok(vec![]));
    }

    #[test]
    fn nchan_multipart() {
        let b = "--B\r\nContent-Type: text/plain\r\n\r\nhello1\r\n--B\r\n\r\nhello2\r\n--B--\r\n";
        assert_eq!(parse_multipart(b, "B"), Ok(vec!["hello1".into(), "hello2".into()]));
        assert_eq!(boundary("multipart/mixed; boundary=abc.D"), Some("abc.D"));
    }
}
