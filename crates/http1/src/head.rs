//! The request head as a value: method, target, version, fields.

use std::ops::Range;

/// An HTTP method (RFC 9110 §9). The common ones are variants so a `match` reads well.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Method {
    /// `GET`
    Get,
    /// `HEAD`
    Head,
    /// `POST`
    Post,
    /// `PUT`
    Put,
    /// `DELETE`
    Delete,
    /// `OPTIONS`
    Options,
    /// `CONNECT`
    Connect,
    /// `PATCH`
    Patch,
    /// `TRACE`
    Trace,
    /// Any other token (methods are case-sensitive, RFC 9110 §9.1).
    Other(String),
}

impl Method {
    /// Maps a method token to a variant.
    pub fn from_token(token: &str) -> Method {
        Method::from_bytes(token.as_bytes())
    }

    /// [`Method::from_token`] on the bytes of the request-line.
    pub(crate) fn from_bytes(token: &[u8]) -> Method {
        match token {
            b"GET" => Method::Get,
            b"HEAD" => Method::Head,
            b"POST" => Method::Post,
            b"PUT" => Method::Put,
            b"DELETE" => Method::Delete,
            b"OPTIONS" => Method::Options,
            b"CONNECT" => Method::Connect,
            b"PATCH" => Method::Patch,
            b"TRACE" => Method::Trace,
            other => Method::Other(String::from_utf8_lossy(other).into_owned()),
        }
    }

    /// The method as it appears on the wire.
    pub fn as_str(&self) -> &str {
        match self {
            Method::Get => "GET",
            Method::Head => "HEAD",
            Method::Post => "POST",
            Method::Put => "PUT",
            Method::Delete => "DELETE",
            Method::Options => "OPTIONS",
            Method::Connect => "CONNECT",
            Method::Patch => "PATCH",
            Method::Trace => "TRACE",
            Method::Other(token) => token,
        }
    }
}

/// The protocol version of a request (RFC 9112 §2.3). Others are refused with 505.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Version {
    /// `HTTP/1.0`
    Http10,
    /// `HTTP/1.1`
    Http11,
}

/// Where one field's name and value lie in `Request::field_bytes`.
type FieldRanges = (Range<u32>, Range<u32>);

/// The heap buffers of an answered [`Request`], kept by the decoder
/// ([`RequestDecoder::recycle`](crate::RequestDecoder::recycle)) for the next head.
/// Their contents are stale; only their capacity is used.
#[derive(Debug, Clone, Default)]
pub(crate) struct Spare {
    /// Becomes the next request's `target`.
    target: String,
    /// Becomes the next request's `field_bytes`.
    field_bytes: Vec<u8>,
    /// Becomes the next request's `fields`.
    fields: Vec<FieldRanges>,
}

impl Spare {
    /// The largest buffer (in bytes) kept between requests: a browser's head fits, and
    /// an idle connection keeps at most three such buffers.
    pub(crate) const MAX_CAPACITY: usize = 4096;
}

/// A parsed request head. The field bytes live in one buffer; fields are ranges into it,
/// so a request costs two allocations however many fields it has (none when the decoder
/// reuses an answered request's buffers). Two requests are equal when their parts and
/// their fields, in order, are.
#[derive(Debug, Clone)]
pub struct Request {
    /// The request method.
    pub method: Method,
    /// The request-target exactly as sent (origin-form `/path?query` in the common case).
    pub target: String,
    /// `HTTP/1.0` or `HTTP/1.1`.
    pub version: Version,
    /// Whether the connection stays open after the response (RFC 9112 §9.3).
    pub keep_alive: bool,
    /// `Expect: 100-continue` was sent: answer `100 Continue` before reading the body.
    pub expect_continue: bool,
    /// Length of the body: `Some(n)` for Content-Length, `None` for chunked
    /// (and `Some(0)` when there is no body).
    pub content_length: Option<u64>,
    /// The field section of the head as received, copied in one piece by the decoder
    /// (names and values with the bytes between them); fields added with `push_header`
    /// append their name and value.
    field_bytes: Vec<u8>,
    /// `(name, value)` ranges into `field_bytes`, in arrival order.
    fields: Vec<FieldRanges>,
}

impl PartialEq for Request {
    fn eq(&self, other: &Request) -> bool {
        let flags = |r: &Request| (r.version, r.keep_alive, r.expect_continue, r.content_length);
        (self.method == other.method && self.target == other.target && flags(self) == flags(other))
            && self.headers().eq(other.headers())
    }
}

impl Eq for Request {}

impl Request {
    /// Builds a request from its parts (used by the decoder and by tests).
    pub fn new(method: Method, target: String, version: Version) -> Request {
        Request {
            method,
            target,
            version,
            keep_alive: version == Version::Http11,
            expect_continue: false,
            content_length: Some(0),
            field_bytes: Vec::new(),
            fields: Vec::new(),
        }
    }

    /// A request like [`Request::new`] whose buffers are `spare`'s, cleared: decoding a
    /// head into an answered request's buffers allocates nothing.
    #[inline]
    pub(crate) fn reusing(spare: Spare, method: Method, target: &str, version: Version) -> Request {
        let Spare { target: mut owned, mut field_bytes, mut fields } = spare;
        owned.clear();
        owned.push_str(target);
        field_bytes.clear();
        fields.clear();
        Request { field_bytes, fields, ..Request::new(method, owned, version) }
    }

    /// The request's buffers, to decode a later head into (see [`Request::reusing`]).
    /// A buffer over [`Spare::MAX_CAPACITY`] is dropped, so that an idle connection holds
    /// little after one large head.
    #[inline]
    pub(crate) fn into_spare(self) -> Spare {
        let keep = |capacity: usize| capacity <= Spare::MAX_CAPACITY;
        Spare {
            target: if keep(self.target.capacity()) { self.target } else { String::new() },
            field_bytes: if keep(self.field_bytes.capacity()) { self.field_bytes } else { Vec::new() },
            fields: if keep(self.fields.capacity() * size_of::<FieldRanges>()) { self.fields } else { Vec::new() },
        }
    }

    /// Appends a field (name as sent; lookups ignore ASCII case).
    pub fn push_header(&mut self, name: &str, value: &[u8]) {
        self.push_field(name.as_bytes(), value);
    }

    /// [`Request::push_header`] for a name already checked to be a token (so ASCII).
    pub(crate) fn push_field(&mut self, name: &[u8], value: &[u8]) {
        let start = self.field_bytes.len() as u32;
        self.field_bytes.extend_from_slice(name);
        let middle = self.field_bytes.len() as u32;
        self.field_bytes.extend_from_slice(value);
        let end = self.field_bytes.len() as u32;
        self.fields.push((start..middle, middle..end));
    }

    /// Reserves room for `fields` fields holding `bytes` bytes of names and values,
    /// so that decoding a head grows each buffer once.
    pub fn reserve_fields(&mut self, fields: usize, bytes: usize) {
        self.fields.reserve_exact(fields);
        self.field_bytes.reserve_exact(bytes);
    }

    /// Whether the response must not carry content: the request was `HEAD`
    /// (RFC 9110 §9.3.2). Its head still describes the would-be body.
    pub fn is_head(&self) -> bool {
        self.method == Method::Head
    }

    /// The value of the first field called `name` (ASCII case-insensitive).
    pub fn header(&self, name: &str) -> Option<&[u8]> {
        self.headers().find(|(n, _)| n.eq_ignore_ascii_case(name)).map(|(_, v)| v)
    }

    /// Every value of the fields called `name`, in order (ASCII case-insensitive).
    pub fn headers_named<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a [u8]> + 'a {
        self.headers().filter(move |(n, _)| n.eq_ignore_ascii_case(name)).map(|(_, v)| v)
    }

    /// All fields as `(name, value)` in arrival order.
    pub fn headers(&self) -> impl Iterator<Item = (&str, &[u8])> + '_ {
        self.fields.iter().map(|(n, v)| {
            let name = &self.field_bytes[n.start as usize..n.end as usize];
            let value = &self.field_bytes[v.start as usize..v.end as usize];
            // Names are checked to be tokens (ASCII) before they are stored.
            (std::str::from_utf8(name).unwrap_or(""), value)
        })
    }

    /// The path part of the target (before `?`).
    pub fn path(&self) -> &str {
        &self.target[..self.query_mark().unwrap_or(self.target.len())]
    }

    /// The query part of the target (after `?`), if any.
    pub fn query(&self) -> Option<&str> {
        self.query_mark().map(|mark| &self.target[mark + 1..])
    }

    /// Where the first `?` is: a byte loop, cheaper than a `str` pattern search on the
    /// short targets of most requests (and `?` is one byte, so both sides are `str`s).
    fn query_mark(&self) -> Option<usize> {
        self.target.bytes().position(|b| b == b'?')
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc3986_3_4_path_and_query_split_at_the_first_question_mark() {
        let cases =
            [("/a?b?c", "/a", Some("b?c")), ("/a", "/a", None), ("/?", "/", Some("")), ("/é?é", "/é", Some("é"))];
        for (target, path, query) in cases {
            let request = Request::new(Method::Get, target.into(), Version::Http11);
            assert_eq!((request.path(), request.query()), (path, query), "{target}");
        }
    }
}
