//! What a peer can get wrong, one variant per violation, each with the status it earns.
//!
//! Every variant is caused by the bytes a client sent: misuse of this crate's API never
//! produces an [`Error`]. The server answers with [`Error::status`] (see
//! [`encode_error_response`](crate::encode_error_response)) and closes the connection.

use crate::Status;
use std::fmt;

/// A request the decoder refuses. After one, the decoder keeps returning it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Error {
    /// A LF not preceded by CR in the head or a chunk line: we do not take the
    /// "MAY accept a bare LF" option, one line ending means one interpretation
    /// ([RFC 9112 §2.2](https://www.rfc-editor.org/rfc/rfc9112#section-2.2)).
    BareLf,
    /// A CR not followed by LF ([RFC 9112 §2.2](https://www.rfc-editor.org/rfc/rfc9112#section-2.2)).
    BareCr,
    /// The request-line is not `method SP request-target SP HTTP-version`
    /// ([RFC 9112 §3](https://www.rfc-editor.org/rfc/rfc9112#section-3)).
    InvalidRequestLine,
    /// The method is not a token ([RFC 9112 §3.1](https://www.rfc-editor.org/rfc/rfc9112#section-3.1)).
    InvalidMethod,
    /// The request-target has a byte outside visible ASCII, or is in none of the four
    /// forms ([RFC 9112 §3.2](https://www.rfc-editor.org/rfc/rfc9112#section-3.2)).
    InvalidTarget,
    /// `*` with a method other than OPTIONS
    /// ([RFC 9112 §3.2.4](https://www.rfc-editor.org/rfc/rfc9112#section-3.2.4)).
    AsteriskFormWithoutOptions,
    /// CONNECT without a `host:port` target, or `host:port` without CONNECT
    /// ([RFC 9112 §3.2.3](https://www.rfc-editor.org/rfc/rfc9112#section-3.2.3)).
    AuthorityFormMismatch,
    /// The version is not `HTTP/DIGIT.DIGIT`
    /// ([RFC 9112 §2.3](https://www.rfc-editor.org/rfc/rfc9112#section-2.3)).
    InvalidVersion,
    /// A well-formed version other than HTTP/1.0 and HTTP/1.1
    /// ([RFC 9110 §15.6.6](https://www.rfc-editor.org/rfc/rfc9110#section-15.6.6)).
    UnsupportedVersion,
    /// A field name that is not a token
    /// ([RFC 9110 §5.1](https://www.rfc-editor.org/rfc/rfc9110#section-5.1)).
    InvalidFieldName,
    /// Whitespace between a field name and the colon
    /// ([RFC 9112 §5.1](https://www.rfc-editor.org/rfc/rfc9112#section-5.1)).
    WhitespaceBeforeColon,
    /// A field line continued on the next line (obs-fold)
    /// ([RFC 9112 §5.2](https://www.rfc-editor.org/rfc/rfc9112#section-5.2)).
    ObsFold,
    /// A control character (other than HTAB) in a field value
    /// ([RFC 9110 §5.5](https://www.rfc-editor.org/rfc/rfc9110#section-5.5)).
    InvalidFieldValue,
    /// An HTTP/1.1 request without `Host`
    /// ([RFC 9112 §3.2](https://www.rfc-editor.org/rfc/rfc9112#section-3.2)).
    MissingHost,
    /// More than one `Host` field line
    /// ([RFC 9112 §3.2](https://www.rfc-editor.org/rfc/rfc9112#section-3.2)).
    DuplicateHost,
    /// A `Host` that is not `uri-host [":" port]`, or empty where the target has an
    /// authority ([RFC 9112 §3.2](https://www.rfc-editor.org/rfc/rfc9112#section-3.2),
    /// [RFC 9110 §7.2](https://www.rfc-editor.org/rfc/rfc9110#section-7.2)).
    InvalidHost,
    /// A `Content-Length` element that is not `1*DIGIT` or overflows u64
    /// ([RFC 9110 §8.6](https://www.rfc-editor.org/rfc/rfc9110#section-8.6)).
    InvalidContentLength,
    /// `Content-Length` values that differ, in one field or across several
    /// ([RFC 9112 §6.3](https://www.rfc-editor.org/rfc/rfc9112#section-6.3) item 5).
    ConflictingContentLength,
    /// Both `Content-Length` and `Transfer-Encoding`: the classic smuggling vector
    /// ([RFC 9112 §6.1](https://www.rfc-editor.org/rfc/rfc9112#section-6.1), §6.3 item 3).
    ContentLengthWithTransferEncoding,
    /// `Transfer-Encoding` in an HTTP/1.0 request: its framing is faulty
    /// ([RFC 9112 §6.1](https://www.rfc-editor.org/rfc/rfc9112#section-6.1)).
    TransferEncodingInHttp10,
    /// A `Transfer-Encoding` list that is empty or has a coding that is not a token
    /// ([RFC 9112 §6.1](https://www.rfc-editor.org/rfc/rfc9112#section-6.1)).
    InvalidTransferEncoding,
    /// `chunked` is not the final transfer coding, so the length is unknowable
    /// ([RFC 9112 §6.3](https://www.rfc-editor.org/rfc/rfc9112#section-6.3) item 4).
    ChunkedNotFinal,
    /// `chunked` applied more than once
    /// ([RFC 9112 §7](https://www.rfc-editor.org/rfc/rfc9112#section-7)).
    ChunkedTwice,
    /// A transfer coding other than `chunked`
    /// ([RFC 9112 §6.1](https://www.rfc-editor.org/rfc/rfc9112#section-6.1)).
    UnsupportedTransferCoding,
    /// An `Expect` other than `100-continue`
    /// ([RFC 9110 §10.1.1](https://www.rfc-editor.org/rfc/rfc9110#section-10.1.1)).
    UnsupportedExpectation,
    /// The request-line (with its CRLF) is longer than `Limits::max_request_line`
    /// ([RFC 9112 §3](https://www.rfc-editor.org/rfc/rfc9112#section-3)).
    RequestLineTooLong,
    /// The head is longer than `Limits::max_head`
    /// ([RFC 6585 §5](https://www.rfc-editor.org/rfc/rfc6585#section-5)).
    HeadTooLarge,
    /// More field lines than `Limits::max_headers`
    /// ([RFC 6585 §5](https://www.rfc-editor.org/rfc/rfc6585#section-5)).
    TooManyFields,
    /// `Content-Length` above `Limits::max_body`, refused before any body is read
    /// ([RFC 9110 §15.5.14](https://www.rfc-editor.org/rfc/rfc9110#section-15.5.14)).
    ContentLengthTooLarge,
    /// Chunks adding up to more than `Limits::max_body`
    /// ([RFC 9110 §15.5.14](https://www.rfc-editor.org/rfc/rfc9110#section-15.5.14)).
    ChunkedBodyTooLarge,
    /// A chunk-size that is empty or not hexadecimal
    /// ([RFC 9112 §7.1](https://www.rfc-editor.org/rfc/rfc9112#section-7.1)).
    InvalidChunkSize,
    /// A chunk-size that does not fit in 64 bits
    /// ([RFC 9112 §7.1](https://www.rfc-editor.org/rfc/rfc9112#section-7.1)).
    ChunkSizeOverflow,
    /// Whitespace in a chunk line: BWS that a sender must not generate
    /// ([RFC 9112 §7.1.1](https://www.rfc-editor.org/rfc/rfc9112#section-7.1.1)).
    WhitespaceInChunkLine,
    /// A bare `;`, a name that is not a token, or a bad value
    /// ([RFC 9112 §7.1.1](https://www.rfc-editor.org/rfc/rfc9112#section-7.1.1)).
    InvalidChunkExtension,
    /// A chunk line longer than we keep: extensions must be bounded
    /// ([RFC 9112 §7.1.1](https://www.rfc-editor.org/rfc/rfc9112#section-7.1.1)).
    ChunkLineTooLong,
    /// chunk-data not followed by CRLF
    /// ([RFC 9112 §7.1](https://www.rfc-editor.org/rfc/rfc9112#section-7.1)).
    MissingChunkTerminator,
    /// A malformed trailer field line
    /// ([RFC 9112 §7.1.2](https://www.rfc-editor.org/rfc/rfc9112#section-7.1.2)).
    InvalidTrailer,
    /// A trailer field that frames, routes, authenticates or modifies the request, or says
    /// how to read its content (`Content-Length`, `Host`, `Authorization`, `Content-Type`, …,
    /// [`PROHIBITED_TRAILERS`](crate::PROHIBITED_TRAILERS)): "A sender MUST NOT generate" one
    /// ([RFC 9110 §6.5.1](https://www.rfc-editor.org/rfc/rfc9110#section-6.5.1)).
    ProhibitedTrailer,
    /// The trailer section is longer than `Limits::max_trailers`
    /// ([RFC 9112 §7.1.2](https://www.rfc-editor.org/rfc/rfc9112#section-7.1.2)).
    TrailersTooLarge,
}

impl Error {
    /// The status the server answers with before closing.
    pub fn status(&self) -> Status {
        Status(self.info().0)
    }

    /// The rule broken, as "RFC 9112 §6.1" (for logs and `--trace`).
    pub fn rule(&self) -> &'static str {
        self.info().1
    }

    /// A short English description, used as the error response body.
    pub fn message(&self) -> &'static str {
        self.info().2
    }

    fn info(&self) -> (u16, &'static str, &'static str) {
        use Error::*;
        match self {
            BareLf => (400, "RFC 9112 §2.2", "bare LF: lines end with CRLF"),
            BareCr => (400, "RFC 9112 §2.2", "bare CR: CR must be followed by LF"),
            InvalidRequestLine => (400, "RFC 9112 §3", "malformed request-line"),
            InvalidMethod => (400, "RFC 9112 §3.1", "the method is not a token"),
            InvalidTarget => (400, "RFC 9112 §3.2", "malformed request-target"),
            AsteriskFormWithoutOptions => (400, "RFC 9112 §3.2.4", "`*` is only for OPTIONS"),
            AuthorityFormMismatch => (400, "RFC 9112 §3.2.3", "host:port is only for CONNECT"),
            InvalidVersion => (400, "RFC 9112 §2.3", "malformed HTTP-version"),
            UnsupportedVersion => (505, "RFC 9110 §15.6.6", "only HTTP/1.0 and HTTP/1.1"),
            InvalidFieldName => (400, "RFC 9110 §5.1", "a field name is not a token"),
            WhitespaceBeforeColon => (400, "RFC 9112 §5.1", "whitespace before a colon"),
            ObsFold => (400, "RFC 9112 §5.2", "obsolete line folding"),
            InvalidFieldValue => (400, "RFC 9110 §5.5", "control character in a field value"),
            MissingHost => (400, "RFC 9112 §3.2", "HTTP/1.1 request without Host"),
            DuplicateHost => (400, "RFC 9112 §3.2", "more than one Host"),
            InvalidHost => (400, "RFC 9112 §3.2", "invalid Host"),
            InvalidContentLength => (400, "RFC 9110 §8.6", "invalid Content-Length"),
            ConflictingContentLength => (400, "RFC 9112 §6.3", "conflicting Content-Length"),
            ContentLengthWithTransferEncoding => (400, "RFC 9112 §6.1", "Content-Length with Transfer-Encoding"),
            TransferEncodingInHttp10 => (400, "RFC 9112 §6.1", "Transfer-Encoding in HTTP/1.0"),
            InvalidTransferEncoding => (400, "RFC 9112 §6.1", "invalid Transfer-Encoding"),
            ChunkedNotFinal => (400, "RFC 9112 §6.3", "chunked is not the final coding"),
            ChunkedTwice => (400, "RFC 9112 §7", "chunked applied twice"),
            UnsupportedTransferCoding => (501, "RFC 9112 §6.1", "unsupported transfer coding"),
            UnsupportedExpectation => (417, "RFC 9110 §10.1.1", "only 100-continue is expected"),
            RequestLineTooLong => (414, "RFC 9112 §3", "request-line too long"),
            HeadTooLarge => (431, "RFC 6585 §5", "request head too large"),
            TooManyFields => (431, "RFC 6585 §5", "too many header fields"),
            ContentLengthTooLarge => (413, "RFC 9110 §15.5.14", "content too large"),
            ChunkedBodyTooLarge => (413, "RFC 9110 §15.5.14", "chunked content too large"),
            InvalidChunkSize => (400, "RFC 9112 §7.1", "invalid chunk-size"),
            ChunkSizeOverflow => (400, "RFC 9112 §7.1", "chunk-size overflows"),
            WhitespaceInChunkLine => (400, "RFC 9112 §7.1.1", "whitespace in a chunk line"),
            InvalidChunkExtension => (400, "RFC 9112 §7.1.1", "invalid chunk extension"),
            ChunkLineTooLong => (400, "RFC 9112 §7.1.1", "chunk line too long"),
            MissingChunkTerminator => (400, "RFC 9112 §7.1", "chunk-data not followed by CRLF"),
            InvalidTrailer => (400, "RFC 9112 §7.1.2", "invalid trailer field"),
            ProhibitedTrailer => (400, "RFC 9110 §6.5.1", "a field that must not be a trailer"),
            TrailersTooLarge => (431, "RFC 9112 §7.1.2", "trailer section too large"),
        }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} ({})", self.message(), self.rule())
    }
}

impl std::error::Error for Error {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_error_maps_to_a_4xx_or_5xx_status() {
        for err in [Error::BareLf, Error::RequestLineTooLong, Error::TooManyFields] {
            assert!(err.status().0 >= 400);
        }
        assert_eq!(Error::UnsupportedVersion.status(), Status::VERSION_NOT_SUPPORTED);
        assert_eq!(Error::UnsupportedTransferCoding.status(), Status::NOT_IMPLEMENTED);
        assert_eq!(Error::ContentLengthTooLarge.status(), Status::PAYLOAD_TOO_LARGE);
        assert_eq!(Error::RequestLineTooLong.status(), Status::URI_TOO_LONG);
        assert_eq!(
            Error::ContentLengthWithTransferEncoding.to_string(),
            "Content-Length with Transfer-Encoding (RFC 9112 §6.1)"
        );
    }
}
