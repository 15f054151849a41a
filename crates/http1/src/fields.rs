//! The fields that decide framing and the connection: `Host`, `Content-Length`,
//! `Transfer-Encoding`, `Connection`, `Expect`
//! ([RFC 9112 §6](https://www.rfc-editor.org/rfc/rfc9112#section-6),
//! [§9](https://www.rfc-editor.org/rfc/rfc9112#section-9),
//! [RFC 9110 §10.1.1](https://www.rfc-editor.org/rfc/rfc9110#section-10.1.1)).
//!
//! [`FieldRules::observe`] sees each field once while the head is copied into the
//! [`Request`]; [`FieldRules::finish`] applies the cross-field rules in a fixed order.

use crate::target::{KnownHost, TargetForm};
use crate::{Error, Limits, Request, Version, parse_decimal};

/// What the framing and connection fields said, gathered one field at a time.
#[derive(Debug, Default)]
pub(crate) struct FieldRules<'h> {
    /// The first `Host` value.
    host: Option<&'h [u8]>,
    /// How many `Host` field lines (must be exactly one in HTTP/1.1).
    host_lines: usize,
    /// The agreed `Content-Length`, if any.
    content_length: Option<u64>,
    /// A `Transfer-Encoding` field was present.
    te_seen: bool,
    /// A `Transfer-Encoding` element was not a coding token.
    te_invalid: bool,
    /// How many times `chunked` was listed.
    chunked_count: usize,
    /// The last coding listed was `chunked`.
    chunked_last: bool,
    /// A coding other than `chunked` was listed.
    te_unknown: bool,
    /// `Connection: close`.
    close: bool,
    /// `Connection: keep-alive` (HTTP/1.0 persistence).
    keep_alive: bool,
    /// `Expect: 100-continue`.
    expect_continue: bool,
    /// Some other expectation.
    expect_other: bool,
}

impl<'h> FieldRules<'h> {
    /// Notes one field (value already trimmed of OWS).
    pub(crate) fn observe(&mut self, name: &[u8], value: &'h [u8]) -> Result<(), Error> {
        // Dispatch on the length first: most fields are none of these five.
        match name.len() {
            4 if name.eq_ignore_ascii_case(b"host") => {
                self.host_lines += 1;
                self.host.get_or_insert(value);
            }
            14 if name.eq_ignore_ascii_case(b"content-length") => {
                self.observe_content_length(value)?;
            }
            17 if name.eq_ignore_ascii_case(b"transfer-encoding") => {
                self.observe_transfer_encoding(value);
            }
            10 if name.eq_ignore_ascii_case(b"connection") => {
                for option in list(value) {
                    self.close |= option.eq_ignore_ascii_case(b"close");
                    self.keep_alive |= option.eq_ignore_ascii_case(b"keep-alive");
                }
            }
            6 if name.eq_ignore_ascii_case(b"expect") => {
                for expectation in list(value) {
                    match expectation.eq_ignore_ascii_case(b"100-continue") {
                        true => self.expect_continue = true,
                        false => self.expect_other = true,
                    }
                }
            }
            _ => {}
        }
        Ok(())
    }

    /// RFC 9110 §8.6: `Content-Length = 1*DIGIT`; a list of identical values may be
    /// taken as one, differing values are an unrecoverable framing error (RFC 9112 §6.3).
    fn observe_content_length(&mut self, value: &[u8]) -> Result<(), Error> {
        for element in value.split(|&b| b == b',').map(trim) {
            // Not digits, empty, or above u64::MAX: all the same framing error.
            let n = parse_decimal(element).map_err(|_| Error::InvalidContentLength)?;
            if self.content_length.is_some_and(|known| known != n) {
                return Err(Error::ConflictingContentLength);
            }
            self.content_length = Some(n);
        }
        Ok(())
    }

    /// RFC 9112 §6.1: `Transfer-Encoding = #transfer-coding`, codings are
    /// case-insensitive tokens, optionally with parameters (`chunked` takes none).
    fn observe_transfer_encoding(&mut self, value: &[u8]) {
        self.te_seen = true;
        for coding in list(value) {
            let (name, params) = match coding.iter().position(|&b| b == b';') {
                Some(semi) => (trim(&coding[..semi]), true),
                None => (coding, false),
            };
            self.te_invalid |= !is_token(name);
            let chunked = name.eq_ignore_ascii_case(b"chunked");
            self.te_invalid |= chunked && params;
            self.chunked_count += usize::from(chunked);
            self.te_unknown |= !chunked;
            self.chunked_last = chunked;
        }
    }

    /// Applies the cross-field rules and fills in the request's framing and flags.
    /// `known` skips checking a `Host` the connection already sent and had accepted.
    pub(crate) fn finish(
        self,
        request: &mut Request,
        form: TargetForm,
        limits: &Limits,
        known: &mut KnownHost,
    ) -> Result<(), Error> {
        let http11 = request.version == Version::Http11;
        match (self.host_lines, self.host) {
            (2.., _) => return Err(Error::DuplicateHost),
            (_, Some(host)) => known.check(host, form)?,
            (_, None) if http11 => return Err(Error::MissingHost),
            (_, None) => {}
        }
        request.content_length = self.body_length(http11, limits)?;
        request.keep_alive = !self.close && (http11 || self.keep_alive);
        // RFC 9110 §10.1.1: a server MUST ignore 100-continue from an HTTP/1.0 client.
        if http11 && self.expect_other {
            return Err(Error::UnsupportedExpectation);
        }
        request.expect_continue = http11 && self.expect_continue && request.content_length != Some(0);
        Ok(())
    }

    /// RFC 9112 §6.3: `None` for chunked, `Some(n)` for a length (0 when neither field).
    fn body_length(&self, http11: bool, limits: &Limits) -> Result<Option<u64>, Error> {
        if self.te_seen {
            return Err(match () {
                _ if !http11 => Error::TransferEncodingInHttp10,
                _ if self.content_length.is_some() => Error::ContentLengthWithTransferEncoding,
                _ if self.te_invalid || self.chunked_count == 0 && !self.te_unknown => Error::InvalidTransferEncoding,
                _ if !self.chunked_last => Error::ChunkedNotFinal,
                _ if self.chunked_count > 1 => Error::ChunkedTwice,
                _ if self.te_unknown => Error::UnsupportedTransferCoding,
                _ => return Ok(None),
            });
        }
        match self.content_length {
            Some(n) if n > limits.max_body => Err(Error::ContentLengthTooLarge),
            Some(n) => Ok(Some(n)),
            None => Ok(Some(0)),
        }
    }
}

/// The non-empty elements of a comma-separated list, trimmed (RFC 9110 §5.6.1).
fn list(value: &[u8]) -> impl Iterator<Item = &[u8]> {
    value.split(|&b| b == b',').map(trim).filter(|e| !e.is_empty())
}

/// Strips optional whitespace (SP / HTAB) from both ends (RFC 9110 §5.6.3).
pub(crate) fn trim(mut bytes: &[u8]) -> &[u8] {
    while let [b' ' | b'\t', rest @ ..] = bytes {
        bytes = rest;
    }
    while let [rest @ .., b' ' | b'\t'] = bytes {
        bytes = rest;
    }
    bytes
}

/// `tchar` (RFC 9110 §5.6.2).
pub(crate) fn is_tchar(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b)
}

/// `token = 1*tchar` (RFC 9110 §5.6.2).
pub(crate) fn is_token(bytes: &[u8]) -> bool {
    !bytes.is_empty() && bytes.iter().all(|&b| is_tchar(b))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Method;

    fn run(version: Version, fields: &[(&str, &'static [u8])]) -> Result<Request, Error> {
        let mut rules = FieldRules::default();
        let mut request = Request::new(Method::Post, "/".to_owned(), version);
        for (name, value) in fields {
            rules.observe(name.as_bytes(), value)?;
        }
        rules.finish(&mut request, TargetForm::Origin, &Limits::default(), &mut KnownHost::new())?;
        Ok(request)
    }

    const V11: Version = Version::Http11;

    #[test]
    fn rfc9110_8_6_content_length_lists() {
        let same = run(V11, &[("Host", b"a"), ("Content-Length", b"5, 5")]);
        assert_eq!(same.unwrap().content_length, Some(5));
        let differ = run(V11, &[("Host", b"a"), ("Content-Length", b"5, 6")]);
        assert_eq!(differ.unwrap_err(), Error::ConflictingContentLength);
        let signed = run(V11, &[("Host", b"a"), ("Content-Length", b"+5")]);
        assert_eq!(signed.unwrap_err(), Error::InvalidContentLength);
        let huge = run(V11, &[("Content-Length", b"99999999999999999999")]);
        assert_eq!(huge.unwrap_err(), Error::InvalidContentLength);
        for bad in [&b""[..], b",", b"5,", b"5, ,5", b"-1", b"0x5", b"5 5", b"\xd9\xa5"] {
            let got = run(V11, &[("Host", b"a"), ("Content-Length", bad)]);
            assert_eq!(got.unwrap_err(), Error::InvalidContentLength, "{bad:?}");
        }
        let zeros = run(V11, &[("Host", b"a"), ("Content-Length", b"007")]);
        assert_eq!(zeros.unwrap().content_length, Some(7));
    }

    #[test]
    fn rfc9112_6_1_transfer_coding_order() {
        let te = |v: &'static [u8]| run(V11, &[("Host", b"a"), ("Transfer-Encoding", v)]);
        assert_eq!(te(b"chunked").unwrap().content_length, None);
        assert_eq!(te(b"CHUNKED").unwrap().content_length, None);
        assert_eq!(te(b"gzip").unwrap_err(), Error::ChunkedNotFinal);
        assert_eq!(te(b"chunked, gzip").unwrap_err(), Error::ChunkedNotFinal);
        assert_eq!(te(b"chunked, chunked").unwrap_err(), Error::ChunkedTwice);
        assert_eq!(te(b"gzip, chunked").unwrap_err(), Error::UnsupportedTransferCoding);
        assert_eq!(te(b"").unwrap_err(), Error::InvalidTransferEncoding);
        assert_eq!(te(b"chunked;a=1").unwrap_err(), Error::InvalidTransferEncoding);
    }

    #[test]
    fn rfc9112_9_3_persistence() {
        let v10 = Version::Http10;
        assert!(run(V11, &[("Host", b"a")]).unwrap().keep_alive);
        let close = run(V11, &[("Host", b"a"), ("Connection", b"Upgrade, CLOSE")]);
        assert!(!close.unwrap().keep_alive);
        assert!(!run(v10, &[]).unwrap().keep_alive);
        assert!(run(v10, &[("Connection", b"Keep-Alive")]).unwrap().keep_alive);
    }

    #[test]
    fn rfc9110_10_1_1_expect() {
        let body = [("Host", &b"a"[..]), ("Content-Length", b"1")];
        let with = |e: &'static [u8]| run(V11, &[body[0], body[1], ("Expect", e)]);
        assert!(with(b"100-Continue").unwrap().expect_continue);
        assert_eq!(with(b"x").unwrap_err(), Error::UnsupportedExpectation);
        let old = run(Version::Http10, &[body[1], ("Expect", b"100-continue")]);
        assert!(!old.unwrap().expect_continue);
    }
}
