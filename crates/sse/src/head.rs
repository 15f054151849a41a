//! The response head that opens an event stream.
//!
//! # Why the body is close-delimited, not chunked
//!
//! An event stream has no length, so HTTP/1.1 offers two framings:
//!
//! * `Transfer-Encoding: chunked` (RFC 9112 §7.1): each write becomes `{hex size}\r\n{bytes}\r\n`.
//! * no `Content-Length` and no `Transfer-Encoding`: "the message body length is determined by
//!   the number of octets received prior to the server closing the connection"
//!   ([RFC 9112 §6.3](https://www.rfc-editor.org/rfc/rfc9112#section-6.3), rule 8).
//!
//! We choose the second. Both work with `EventSource`, `curl -N` and proxies, but
//! close-delimited wins on every count that matters here:
//!
//! * The bytes on the wire are exactly the event bytes, so the hub can write one shared,
//!   pre-encoded buffer to every subscriber. With chunking each write needs its own size line.
//! * HTTP/1.0 clients and proxies understand it; they cannot decode chunked.
//! * What chunking would add — knowing the body ended cleanly, and reusing the connection —
//!   is worthless for a stream: the body only ends when the connection does, and the SSE
//!   parser already discards an event cut off by a close ("any pending data must be discarded").
//!
//! Since the server will close, the head says `Connection: close` (RFC 9112 §9.6) rather than
//! `keep-alive`; the browser reconnects by itself when the stream ends.
//!
//! # The other headers
//!
//! * `Content-Type: text/event-stream` — `EventSource` fails the connection without it.
//! * `Cache-Control: no-cache` — a cache must not replay an old stream.
//! * `X-Accel-Buffering: no` — nginx (and proxies that copy it) otherwise buffer the response
//!   and deliver events in bursts, or only when the buffer fills.

/// The complete head of an event-stream response, ending with the blank line. Write it, then
/// the events; close the connection to end the stream.
pub const STREAM_HEAD: &[u8] = b"HTTP/1.1 200 OK\r\n\
Content-Type: text/event-stream\r\n\
Cache-Control: no-cache\r\n\
X-Accel-Buffering: no\r\n\
Connection: close\r\n\
\r\n";

/// A header the caller asked for that would break the head: its name is not an HTTP token
/// or its value contains CR, LF or NUL (RFC 9110 §5.5), which would let it inject headers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct InvalidHeader;

impl std::fmt::Display for InvalidHeader {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("header name is not a token or value contains CR, LF or NUL")
    }
}

impl std::error::Error for InvalidHeader {}

/// [`STREAM_HEAD`] plus `extra` headers (say `Date` or `Access-Control-Allow-Origin`), in
/// order, before the blank line. Nothing is written if any header is invalid.
pub fn encode_stream_head(extra: &[(&str, &[u8])], out: &mut Vec<u8>) -> Result<(), InvalidHeader> {
    if !extra.iter().all(|(name, value)| is_token(name) && is_field_value(value)) {
        return Err(InvalidHeader);
    }
    out.extend_from_slice(&STREAM_HEAD[..STREAM_HEAD.len() - 2]);
    for (name, value) in extra {
        out.extend_from_slice(name.as_bytes());
        out.extend_from_slice(b": ");
        out.extend_from_slice(value);
        out.extend_from_slice(b"\r\n");
    }
    out.extend_from_slice(b"\r\n");
    Ok(())
}

/// [`STREAM_HEAD`] with a `Date` header, for a caller that keeps a cached IMF-fixdate (the
/// crate reads no clock).
pub fn encode_stream_head_with_date(date: &[u8], out: &mut Vec<u8>) -> Result<(), InvalidHeader> {
    encode_stream_head(&[("Date", date)], out)
}

/// RFC 9110 §5.6.2 `token`.
fn is_token(name: &str) -> bool {
    !name.is_empty() && name.bytes().all(|b| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b))
}

/// RFC 9110 §5.5: no CR, LF or NUL anywhere in a field value.
fn is_field_value(value: &[u8]) -> bool {
    !value.iter().any(|&b| matches!(b, b'\r' | b'\n' | 0))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stream_head_has_no_length_and_no_chunking() {
        let head = std::str::from_utf8(STREAM_HEAD).unwrap().to_ascii_lowercase();
        assert!(head.starts_with("http/1.1 200 ok\r\n"));
        assert!(head.ends_with("\r\n\r\n"));
        assert!(head.contains("content-type: text/event-stream\r\n"));
        assert!(head.contains("cache-control: no-cache\r\n"));
        assert!(!head.contains("content-length"));
        assert!(!head.contains("transfer-encoding"));
    }

    #[test]
    fn extra_headers_go_before_the_blank_line() {
        let mut out = Vec::new();
        encode_stream_head_with_date(b"Sun, 06 Nov 1994 08:49:37 GMT", &mut out).unwrap();
        let text = String::from_utf8(out).unwrap();
        assert!(text.ends_with("Connection: close\r\nDate: Sun, 06 Nov 1994 08:49:37 GMT\r\n\r\n"));
    }

    #[test]
    fn rfc9110_5_5_refuses_header_injection() {
        let mut out = Vec::new();
        let bad: [(&str, &[u8]); 4] = [("X", b"a\r\nSet-Cookie: x"), ("X", b"a\0"), ("Bad Name", b"v"), ("", b"v")];
        for header in bad {
            assert_eq!(encode_stream_head(&[header], &mut out), Err(InvalidHeader), "{header:?}");
        }
        assert!(out.is_empty());
    }
}
