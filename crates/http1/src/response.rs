//! Response heads and bodies, appended to the caller's buffer
//! ([RFC 9112 §4](https://www.rfc-editor.org/rfc/rfc9112#section-4), §6, §7, §9.6).
//!
//! Nothing here allocates except `out` growing: numbers are written by [`push_decimal`],
//! status lines are pre-rendered constants, the `Date` comes pre-formatted from a
//! [`DateCache`].

use crate::{DateCache, Error, Request, Status, Version, push_decimal};

/// `HTTP/1.1 100 Continue`: send it before reading a body the client holds back
/// with `Expect: 100-continue` (RFC 9110 §10.1.1).
pub const CONTINUE_100: &[u8] = b"HTTP/1.1 100 Continue\r\n\r\n";

/// Extra fields kept inline; more spill into a `Vec`.
const INLINE_FIELDS: usize = 8;

/// How the body of a response is delimited (RFC 9112 §6.3).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Framing {
    /// `Content-Length: n`.
    Length(u64),
    /// `Transfer-Encoding: chunked`: write the body with [`encode_chunk`].
    Chunked,
    /// Neither: the body ends when the connection closes (forces `Connection: close`).
    UntilClose,
}

/// A response head under construction. Built by chaining, then [`encode`](Self::encode)d.
///
/// ```
/// use talkback_http1::{DateCache, ResponseHead, Status};
/// let mut out = Vec::new();
/// ResponseHead::new(Status::OK)
///     .header("Content-Type", b"text/plain")
///     .content_length(2)
///     .encode(&DateCache::new(), &mut out);
/// assert!(out.starts_with(b"HTTP/1.1 200 OK\r\nDate: Thu, 01 Jan 1970 00:00:00 GMT\r\n"));
/// assert!(out.ends_with(b"Content-Length: 2\r\nContent-Type: text/plain\r\n\r\n"));
/// ```
#[derive(Debug, Clone)]
pub struct ResponseHead<'a> {
    status: Status,
    framing: Framing,
    close: bool,
    keep_alive: bool,
    /// Fields given as one slice by [`fields`](Self::fields) before any other: written first.
    borrowed: &'a [(&'a str, &'a [u8])],
    /// Slots filled in order (`None` costs one store to initialise, not four).
    inline: [Option<(&'a str, &'a [u8])>; INLINE_FIELDS],
    inline_len: usize,
    spill: Vec<(&'a str, &'a [u8])>,
}

/// The most a head holds besides its extra fields: the longest status line (with
/// `Date: `), the date, `Content-Length` with 20 digits, `Connection: keep-alive`, CRLFs.
const FIXED_HEAD: usize = 64 + 29 + 40 + 26 + 2;
/// Room reserved for the extra fields (a `Content-Type` or two); more grow `out` again.
const HEAD_FIELDS: usize = 96;

impl<'a> ResponseHead<'a> {
    /// A head with `status`, `Content-Length: 0` and a persistent connection.
    pub fn new(status: Status) -> ResponseHead<'a> {
        ResponseHead {
            status,
            framing: Framing::Length(0),
            close: false,
            keep_alive: false,
            borrowed: &[],
            inline: [None; INLINE_FIELDS],
            inline_len: 0,
            spill: Vec::new(),
        }
    }

    /// Adds a field, written after the framing fields in the order added. CR, LF and
    /// NUL in `value` are written as SP (RFC 9110 §5.5), so a value can never inject
    /// a field. Do not add `Content-Length`, `Transfer-Encoding` or `Connection` here.
    pub fn header(mut self, name: &'a str, value: &'a [u8]) -> ResponseHead<'a> {
        match self.inline.get_mut(self.inline_len) {
            Some(slot) => {
                *slot = Some((name, value));
                self.inline_len += 1;
            }
            None => self.spill.push((name, value)),
        }
        self
    }

    /// Adds each of `fields`, as [`header`](Self::header) would, in order. The first call,
    /// before any `header`, only borrows the slice: no copying per field.
    pub fn fields(mut self, fields: &'a [(&'a str, &'a [u8])]) -> ResponseHead<'a> {
        if self.borrowed.is_empty() && self.inline_len == 0 {
            self.borrowed = fields;
            return self;
        }
        for &(name, value) in fields {
            self = self.header(name, value);
        }
        self
    }

    /// `Content-Length: n`. For a HEAD request, give the length of the would-be body
    /// and send no body (RFC 9110 §9.3.2).
    pub fn content_length(mut self, n: u64) -> ResponseHead<'a> {
        self.framing = Framing::Length(n);
        self
    }

    /// `Transfer-Encoding: chunked` (HTTP/1.1 clients only, RFC 9112 §6.1): write the
    /// body with [`encode_chunk`] and finish with [`encode_last_chunk`].
    pub fn chunked(mut self) -> ResponseHead<'a> {
        self.framing = Framing::Chunked;
        self
    }

    /// No length: the body runs until the connection closes (RFC 9112 §6.3 item 8).
    /// Implies `Connection: close`. The fallback for an HTTP/1.0 client's stream.
    pub fn streaming(mut self) -> ResponseHead<'a> {
        self.framing = Framing::UntilClose;
        self
    }

    /// `Connection: close` when `close`: the server closes after this response (RFC 9112 §9.6).
    pub fn close(mut self, close: bool) -> ResponseHead<'a> {
        self.close = close;
        self
    }

    /// `Connection: keep-alive` when `keep_alive` (and not closing): what an HTTP/1.0
    /// client needs to hear to keep the connection (RFC 9112 Appendix C.2.2).
    pub fn keep_alive(mut self, keep_alive: bool) -> ResponseHead<'a> {
        self.keep_alive = keep_alive;
        self
    }

    /// Sets `close` and `keep_alive` from the request: close unless it asked to
    /// persist, and say `keep-alive` to an HTTP/1.0 client that asked for it.
    pub fn connection_for(self, request: &Request) -> ResponseHead<'a> {
        let http10 = request.version == Version::Http10;
        self.close(!request.keep_alive).keep_alive(http10 && request.keep_alive)
    }

    /// Whether the connection must close after this response.
    pub fn closes(&self) -> bool {
        self.close || self.framing == Framing::UntilClose
    }

    /// Appends the head: status-line, `Date`, framing, `Connection`, fields, CRLF.
    /// 1xx and 204 get no framing fields (RFC 9110 §8.6, RFC 9112 §6.1).
    pub fn encode(&self, date: &DateCache, out: &mut Vec<u8>) {
        // One reservation for a typical head, so that `out` grows at most once.
        out.reserve(FIXED_HEAD + HEAD_FIELDS);
        match self.status.status_line() {
            Some(line) => out.extend_from_slice(line),
            None => {
                out.extend_from_slice(b"HTTP/1.1 ");
                push_decimal(out, u64::from(self.status.0));
                out.extend_from_slice(b" \r\nDate: "); // an unnamed code has an empty reason
            }
        }
        out.extend_from_slice(date.value());
        match self.framing {
            _ if self.status.forbids_framing() => out.extend_from_slice(b"\r\n"),
            Framing::Length(n) => {
                out.extend_from_slice(b"\r\nContent-Length: ");
                push_decimal_crlf(out, n);
            }
            Framing::Chunked => out.extend_from_slice(b"\r\nTransfer-Encoding: chunked\r\n"),
            Framing::UntilClose => out.extend_from_slice(b"\r\n"),
        }
        if self.closes() {
            out.extend_from_slice(b"Connection: close\r\n");
        } else if self.keep_alive {
            out.extend_from_slice(b"Connection: keep-alive\r\n");
        }
        for &(name, value) in self.borrowed {
            push_field(out, name, value);
        }
        for &(name, value) in self.inline[..self.inline_len].iter().flatten() {
            push_field(out, name, value);
        }
        for &(name, value) in &self.spill {
            push_field(out, name, value);
        }
        out.extend_from_slice(b"\r\n");
    }
}

/// Appends one chunk (RFC 9112 §7.1). Empty `data` writes nothing: an empty chunk
/// would be the last-chunk and end the body.
pub fn encode_chunk(data: &[u8], out: &mut Vec<u8>) {
    if data.is_empty() {
        return;
    }
    let mut digits = [0u8; 16];
    let mut n = data.len();
    let mut i = digits.len();
    while n > 0 || i == digits.len() {
        i -= 1;
        digits[i] = b"0123456789abcdef"[n % 16];
        n /= 16;
    }
    out.extend_from_slice(&digits[i..]);
    out.extend_from_slice(b"\r\n");
    out.extend_from_slice(data);
    out.extend_from_slice(b"\r\n");
}

/// Appends the last-chunk and an empty trailer section: `0\r\n\r\n` (RFC 9112 §7.1).
pub fn encode_last_chunk(out: &mut Vec<u8>) {
    out.extend_from_slice(b"0\r\n\r\n");
}

/// Appends the answer to a refused request: its status, a one-line `text/plain`
/// body naming the rule, and `Connection: close` (the framing may be lost).
pub fn encode_error_response(err: &Error, date: &DateCache, out: &mut Vec<u8>) {
    let message = err.message().as_bytes();
    let rule = err.rule().as_bytes();
    let length = message.len() + 2 + rule.len() + 2;
    ResponseHead::new(err.status())
        .header("Content-Type", b"text/plain; charset=utf-8")
        .content_length(length as u64)
        .close(true)
        .encode(date, out);
    for part in [message, b" (", rule, b")\n"] {
        out.extend_from_slice(part);
    }
}

/// Appends a whole response with a `Content-Length` body (`body` is ignored for
/// statuses that carry none: 1xx, 204, 304). An empty `content_type` writes none.
pub fn encode_simple_response(
    status: Status,
    content_type: &str,
    body: &[u8],
    close: bool,
    date: &DateCache,
    out: &mut Vec<u8>,
) {
    let mut head = ResponseHead::new(status).close(close);
    if !content_type.is_empty() {
        head = head.header("Content-Type", content_type.as_bytes());
    }
    head.content_length(body.len() as u64).encode(date, out);
    if !status.forbids_framing() && status != Status::NOT_MODIFIED {
        out.extend_from_slice(body);
    }
}

/// Writes `n` in decimal and CRLF: the rest of a `Content-Length` line.
fn push_decimal_crlf(out: &mut Vec<u8>, n: u64) {
    push_decimal(out, n);
    out.extend_from_slice(b"\r\n");
}

/// Writes `name: value` and CRLF.
fn push_field(out: &mut Vec<u8>, name: &str, value: &[u8]) {
    out.reserve(name.len() + value.len() + 4);
    out.extend_from_slice(name.as_bytes());
    out.extend_from_slice(b": ");
    push_value(out, value);
    out.extend_from_slice(b"\r\n");
}

/// Writes a field value, CR / LF / NUL replaced by SP.
fn push_value(out: &mut Vec<u8>, value: &[u8]) {
    if !value.iter().any(|&b| matches!(b, b'\r' | b'\n' | 0)) {
        out.extend_from_slice(value);
        return;
    }
    out.extend(value.iter().map(|&b| match b {
        b'\r' | b'\n' | 0 => b' ',
        other => other,
    }));
}

#[cfg(test)]
mod tests {
    use super::*;

    fn date() -> DateCache {
        let mut date = DateCache::new();
        date.update(784_111_777);
        date
    }

    fn text(out: &[u8]) -> &str {
        std::str::from_utf8(out).unwrap()
    }

    #[test]
    fn rfc9112_4_status_line_date_length_fields() {
        let mut out = Vec::new();
        ResponseHead::new(Status::NOT_FOUND)
            .header("Content-Type", b"text/plain")
            .content_length(1234)
            .encode(&date(), &mut out);
        let expected = "HTTP/1.1 404 Not Found\r\nDate: Sun, 06 Nov 1994 08:49:37 GMT\r\n\
                        Content-Length: 1234\r\nContent-Type: text/plain\r\n\r\n";
        assert_eq!(text(&out), expected);
    }

    #[test]
    fn rfc9112_9_6_connection_close_and_keep_alive() {
        let mut out = Vec::new();
        ResponseHead::new(Status::OK).close(true).encode(&date(), &mut out);
        assert!(text(&out).contains("\r\nConnection: close\r\n"));
        out.clear();
        let mut request = Request::new(crate::Method::Get, "/".into(), Version::Http10);
        request.keep_alive = true;
        ResponseHead::new(Status::OK).connection_for(&request).encode(&date(), &mut out);
        assert!(text(&out).contains("\r\nConnection: keep-alive\r\n"));
        out.clear();
        ResponseHead::new(Status::OK).streaming().encode(&date(), &mut out);
        assert!(text(&out).contains("Connection: close") && !text(&out).contains("Length"));
    }

    #[test]
    fn rfc9110_8_6_no_framing_on_101_and_204() {
        let mut out = Vec::new();
        ResponseHead::new(Status::SWITCHING_PROTOCOLS).header("Upgrade", b"websocket").encode(&date(), &mut out);
        assert!(!text(&out).contains("Content-Length"));
        out.clear();
        encode_simple_response(Status::NO_CONTENT, "", b"x", false, &date(), &mut out);
        assert!(text(&out).ends_with("GMT\r\n\r\n"));
    }

    #[test]
    fn rfc9112_7_1_chunks_round_trip_through_the_decoder() {
        let mut out = b"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n".to_vec();
        encode_chunk(&[b'x'; 300], &mut out);
        encode_chunk(b"", &mut out);
        encode_chunk(b"y", &mut out);
        encode_last_chunk(&mut out);
        assert!(text(&out).contains("\r\n12c\r\nxxx"));
        let mut decoder = crate::RequestDecoder::new(crate::Limits::default());
        let (mut body, mut input) = (Vec::new(), &out[..]);
        loop {
            let decoded = decoder.decode(input).unwrap();
            input = &input[decoded.consumed..];
            match decoded.event {
                Some(crate::Event::Data(d)) => body.extend_from_slice(d),
                Some(crate::Event::End) => break,
                _ => {}
            }
        }
        assert_eq!((body.len(), body.last()), (301, Some(&b'y')));
    }

    #[test]
    fn fields_from_a_slice_keep_their_order_with_header() {
        let encode = |head: ResponseHead<'_>| {
            let mut out = Vec::new();
            head.encode(&date(), &mut out);
            String::from_utf8(out).unwrap()
        };
        let pairs: &[(&str, &[u8])] = &[("A", b"1"), ("B", b"2")];
        let by_slice = encode(ResponseHead::new(Status::OK).fields(pairs).header("C", b"3").fields(pairs));
        let one_by_one = ResponseHead::new(Status::OK).header("A", b"1").header("B", b"2").header("C", b"3");
        let one_by_one = encode(one_by_one.header("A", b"1").header("B", b"2"));
        assert_eq!(by_slice, one_by_one);
        assert!(by_slice.ends_with("A: 1\r\nB: 2\r\nC: 3\r\nA: 1\r\nB: 2\r\n\r\n"));
        let unnamed = encode(ResponseHead::new(Status(299)).fields(pairs));
        assert!(unnamed.starts_with("HTTP/1.1 299 \r\nDate: Sun, 06 Nov 1994 08:49:37 GMT\r\nContent-Length: 0\r\n"));
    }

    #[test]
    fn rfc9110_5_5_values_cannot_inject_fields() {
        let mut out = Vec::new();
        ResponseHead::new(Status::OK).header("X", b"a\r\nSet-Cookie: b").encode(&date(), &mut out);
        assert!(text(&out).contains("X: a  Set-Cookie: b\r\n"));
    }

    #[test]
    fn error_and_simple_responses() {
        let mut out = Vec::new();
        encode_error_response(&Error::ContentLengthWithTransferEncoding, &date(), &mut out);
        let body = "Content-Length with Transfer-Encoding (RFC 9112 §6.1)\n";
        assert!(text(&out).starts_with("HTTP/1.1 400 Bad Request\r\n"));
        assert!(text(&out).contains("Connection: close\r\n"));
        let length = format!("Content-Length: {}\r\n", body.len());
        assert!(text(&out).contains(&length));
        assert!(text(&out).ends_with(&format!("charset=utf-8\r\n\r\n{body}")));
        out.clear();
        encode_simple_response(Status::OK, "text/plain", b"hi", false, &date(), &mut out);
        assert!(text(&out).ends_with("Content-Length: 2\r\nContent-Type: text/plain\r\n\r\nhi"));
        let mut many = ResponseHead::new(Status::OK);
        for _ in 0..12 {
            many = many.header("A", b"1");
        }
        out.clear();
        many.encode(&date(), &mut out);
        assert_eq!(text(&out).matches("A: 1\r\n").count(), 12);
    }

    #[test]
    fn push_decimal_crlf_writes_a_length_line() {
        let mut out = Vec::new();
        for n in [0, 7, 10, 1_048_576, u64::MAX] {
            out.clear();
            push_decimal_crlf(&mut out, n);
            assert_eq!(text(&out), format!("{n}\r\n"));
        }
    }
}
