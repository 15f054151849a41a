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
        match token {
            "GET" => Method::Get,
            "HEAD" => Method::Head,
            "POST" => Method::Post,
            "PUT" => Method::Put,
            "DELETE" => Method::Delete,
            "OPTIONS" => Method::Options,
            "CONNECT" => Method::Connect,
            "PATCH" => Method::Patch,
            "TRACE" => Method::Trace,
            other => Method::Other(other.to_owned()),
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

/// A parsed request head. The field bytes live in one buffer; fields are ranges into it,
/// so a request costs two allocations however many fields it has.
#[derive(Debug, Clone, PartialEq, Eq)]
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
    /// Bytes of all field names and values, back to back.
    field_bytes: Vec<u8>,
    /// `(name, value)` ranges into `field_bytes`, in arrival order.
    fields: Vec<(Range<u32>, Range<u32>)>,
}

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

    /// Appends a field (name as sent; lookups ignore ASCII case).
    pub fn push_header(&mut self, name: &str, value: &[u8]) {
        let start = self.field_bytes.len() as u32;
        self.field_bytes.extend_from_slice(name.as_bytes());
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
        self.target.split('?').next().unwrap_or("")
    }

    /// The query part of the target (after `?`), if any.
    pub fn query(&self) -> Option<&str> {
        self.target.split_once('?').map(|(_, q)| q)
    }
}
