//! Response status codes ([RFC 9110 §15](https://www.rfc-editor.org/rfc/rfc9110#section-15)).

use std::fmt;

/// RFC 9110 §15's codes and reason phrases, written once: `with_reasons!(m!(x))` expands
/// to `m!(x; 100 "Continue", 101 "Switching Protocols", ...)`. [`Status::reason`] and the
/// pre-rendered status lines of [`Status::status_line`] are both built from it.
macro_rules! with_reasons {
    ($callback:ident!($($args:tt)*)) => {
        $callback!($($args)*;
            100 "Continue", 101 "Switching Protocols",
            200 "OK", 201 "Created", 202 "Accepted", 204 "No Content",
            301 "Moved Permanently", 302 "Found", 303 "See Other", 304 "Not Modified",
            307 "Temporary Redirect", 308 "Permanent Redirect",
            400 "Bad Request", 401 "Unauthorized", 403 "Forbidden", 404 "Not Found",
            405 "Method Not Allowed", 406 "Not Acceptable", 408 "Request Timeout", 409 "Conflict",
            410 "Gone", 411 "Length Required", 413 "Content Too Large", 414 "URI Too Long",
            415 "Unsupported Media Type", 417 "Expectation Failed", 426 "Upgrade Required",
            429 "Too Many Requests", 431 "Request Header Fields Too Large",
            500 "Internal Server Error", 501 "Not Implemented", 502 "Bad Gateway",
            503 "Service Unavailable", 504 "Gateway Timeout", 505 "HTTP Version Not Supported",
        )
    };
}

/// A response status code. The constants cover what talkback sends; any three-digit
/// code can be built with `Status(code)` (its reason phrase is then empty, which
/// RFC 9112 §4 allows).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Status(pub u16);

impl Status {
    /// 100: send the body ([RFC 9110 §15.2.1](https://www.rfc-editor.org/rfc/rfc9110#section-15.2.1)).
    pub const CONTINUE: Status = Status(100);
    /// 101: the connection now speaks the protocol named in `Upgrade` (RFC 9110 §15.2.2).
    pub const SWITCHING_PROTOCOLS: Status = Status(101);
    /// 200 (RFC 9110 §15.3.1).
    pub const OK: Status = Status(200);
    /// 201 (RFC 9110 §15.3.2).
    pub const CREATED: Status = Status(201);
    /// 204: success, and there is no content (RFC 9110 §15.3.5).
    pub const NO_CONTENT: Status = Status(204);
    /// 304 (RFC 9110 §15.4.5).
    pub const NOT_MODIFIED: Status = Status(304);
    /// 400: the request is malformed (RFC 9110 §15.5.1).
    pub const BAD_REQUEST: Status = Status(400);
    /// 401: send `WWW-Authenticate` with it (RFC 9110 §15.5.2).
    pub const UNAUTHORIZED: Status = Status(401);
    /// 403 (RFC 9110 §15.5.4).
    pub const FORBIDDEN: Status = Status(403);
    /// 404 (RFC 9110 §15.5.5).
    pub const NOT_FOUND: Status = Status(404);
    /// 405: send `Allow` with it (RFC 9110 §15.5.6).
    pub const METHOD_NOT_ALLOWED: Status = Status(405);
    /// 408: the head did not arrive in time (RFC 9110 §15.5.9).
    pub const REQUEST_TIMEOUT: Status = Status(408);
    /// 411 (RFC 9110 §15.5.12).
    pub const LENGTH_REQUIRED: Status = Status(411);
    /// 413: the content is larger than we accept (RFC 9110 §15.5.14, "Content Too Large").
    pub const PAYLOAD_TOO_LARGE: Status = Status(413);
    /// 414: the request-target is too long (RFC 9110 §15.5.15).
    pub const URI_TOO_LONG: Status = Status(414);
    /// 415 (RFC 9110 §15.5.16).
    pub const UNSUPPORTED_MEDIA_TYPE: Status = Status(415);
    /// 417: an `Expect` we do not meet (RFC 9110 §15.5.18).
    pub const EXPECTATION_FAILED: Status = Status(417);
    /// 426: this resource needs another protocol (RFC 9110 §15.5.22).
    pub const UPGRADE_REQUIRED: Status = Status(426);
    /// 429 ([RFC 6585 §4](https://www.rfc-editor.org/rfc/rfc6585#section-4)).
    pub const TOO_MANY_REQUESTS: Status = Status(429);
    /// 431: the head or its fields are too large ([RFC 6585 §5](https://www.rfc-editor.org/rfc/rfc6585#section-5)).
    pub const HEADER_FIELDS_TOO_LARGE: Status = Status(431);
    /// 500 (RFC 9110 §15.6.1).
    pub const INTERNAL_SERVER_ERROR: Status = Status(500);
    /// 501: a transfer coding or method we do not implement (RFC 9110 §15.6.2).
    pub const NOT_IMPLEMENTED: Status = Status(501);
    /// 503 (RFC 9110 §15.6.4).
    pub const SERVICE_UNAVAILABLE: Status = Status(503);
    /// 505: only HTTP/1.0 and HTTP/1.1 are spoken here (RFC 9110 §15.6.6).
    pub const VERSION_NOT_SUPPORTED: Status = Status(505);

    /// The code as a number.
    pub fn code(self) -> u16 {
        self.0
    }

    /// The reason phrase RFC 9110 §15 gives the code, or `""` for a code it does not name.
    pub fn reason(&self) -> &'static str {
        macro_rules! reason {
            ($code:expr; $($num:literal $reason:literal,)*) => {
                match $code { $($num => $reason,)* _ => "" }
            };
        }
        with_reasons!(reason!(self.0))
    }

    /// `HTTP/1.1 {code} {reason}\r\nDate: ` for a code [`reason`](Status::reason) names:
    /// a response head starts with one copy of a constant.
    pub(crate) fn status_line(self) -> Option<&'static [u8]> {
        macro_rules! status_line {
            ($code:expr; $($num:literal $reason:literal,)*) => {
                match $code {
                    $($num => Some(concat!("HTTP/1.1 ", $num, " ", $reason, "\r\nDate: ").as_bytes()),)*
                    _ => None,
                }
            };
        }
        with_reasons!(status_line!(self.0))
    }

    /// Whether a response with this status carries no framing fields at all:
    /// 1xx and 204 never have content, and RFC 9110 §8.6 / RFC 9112 §6.1 forbid
    /// `Content-Length` and `Transfer-Encoding` on them.
    pub fn forbids_framing(self) -> bool {
        (100..200).contains(&self.0) || self.0 == 204
    }
}

impl fmt::Display for Status {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.0, self.reason())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc9110_15_reason_phrases() {
        assert_eq!(Status::OK.reason(), "OK");
        assert_eq!(Status::PAYLOAD_TOO_LARGE.reason(), "Content Too Large");
        assert_eq!(Status(299).reason(), "");
        assert_eq!(Status::NOT_FOUND.to_string(), "404 Not Found");
    }

    #[test]
    fn rfc9112_4_status_lines_are_the_code_and_reason() {
        for code in 100..600 {
            let status = Status(code);
            let expected = format!("HTTP/1.1 {code} {}\r\nDate: ", status.reason());
            match status.status_line() {
                Some(line) => assert_eq!(line, expected.as_bytes()),
                None => assert_eq!(status.reason(), ""),
            }
        }
        assert_eq!(Status::OK.status_line(), Some(&b"HTTP/1.1 200 OK\r\nDate: "[..]));
    }

    #[test]
    fn rfc9110_8_6_no_framing_on_1xx_and_204() {
        assert!(Status::CONTINUE.forbids_framing());
        assert!(Status::NO_CONTENT.forbids_framing());
        assert!(!Status::NOT_MODIFIED.forbids_framing());
        assert!(!Status::OK.forbids_framing());
    }
}
