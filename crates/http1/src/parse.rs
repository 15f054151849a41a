//! A complete head → [`Request`]: httparse reads the grammar, then our rules
//! ([RFC 9112 §3](https://www.rfc-editor.org/rfc/rfc9112#section-3),
//! [§5](https://www.rfc-editor.org/rfc/rfc9112#section-5)).
//!
//! [`HeadScan`](crate::scan) has already delimited the head and checked its line endings,
//! so httparse is called exactly once per head, on the complete head (never on a partial
//! one, so nothing is ever rescanned). httparse (strict mode, its default) accepts a token
//! method, single spaces, a target of visible bytes, `HTTP/1.x`, token field names with the
//! colon right after them, and no obs-fold. What it leaves to us: only `HTTP/1.0` and
//! `HTTP/1.1` (else 505), the target's form against the method, field values free of
//! control bytes, and the framing and `Host` rules (`fields.rs`). When httparse refuses a
//! head, [`diagnose`] re-reads it to name the exact rule (and to tell a 505 from a 400).
//!
//! The request is built in the buffers of the previous, answered request (see
//! `Request::reusing`), so a keep-alive connection decodes heads without allocating.

use std::mem::MaybeUninit;

use httparse::{Header, ParserConfig};

use crate::fields::{FieldRules, is_token, trim};
use crate::head::Spare;
use crate::target::KnownHost;
use crate::{Error, Limits, Method, Request, Version, target};

/// Field slots on the stack; a head with more fields borrows a `Vec`.
const STACK_FIELDS: usize = 32;

/// Parses a complete head (request-line through the empty line) into a request,
/// built in `spare`'s buffers. `field_lines` (from the scan) sizes the field list.
/// `known` is the connection's last accepted `Host`.
pub(crate) fn parse_head(
    head: &[u8],
    field_lines: usize,
    limits: &Limits,
    spare: Spare,
    known: &mut KnownHost,
) -> Result<Request, Error> {
    if field_lines <= STACK_FIELDS {
        let mut slots = [const { MaybeUninit::<Header<'_>>::uninit() }; STACK_FIELDS];
        parse_with(head, &mut slots, limits, spare, known)
    } else {
        let mut slots = vec![MaybeUninit::<Header<'_>>::uninit(); field_lines];
        parse_with(head, &mut slots, limits, spare, known)
    }
}

/// httparse, then our rules, with `slots` for the fields.
fn parse_with<'h>(
    head: &'h [u8],
    slots: &mut [MaybeUninit<Header<'h>>],
    limits: &Limits,
    spare: Spare,
    known: &mut KnownHost,
) -> Result<Request, Error> {
    let mut parsed = httparse::Request::new(&mut []);
    match ParserConfig::default().parse_request_with_uninit_headers(&mut parsed, head, slots) {
        Ok(httparse::Status::Complete(n)) if n == head.len() => {}
        // The scan ends a head at its first empty line, so httparse ends there too.
        Ok(_) => return Err(Error::InvalidRequestLine),
        Err(_) => return Err(diagnose(head)),
    }
    let (Some(method), Some(target), Some(minor)) = (parsed.method, parsed.path, parsed.version) else {
        return Err(Error::InvalidRequestLine);
    };
    // httparse accepts HTTP/1.0 and HTTP/1.1 only: a version it reads is one of ours.
    let version = if minor == 0 { Version::Http10 } else { Version::Http11 };
    let method = Method::from_bytes(method.as_bytes());
    let form = target::classify(&method, target.as_bytes())?;
    let mut request = Request::reusing(spare, method, target, version);
    let mut rules = FieldRules::default();
    for field in parsed.headers.iter() {
        // RFC 9112 §5: the value without the OWS around it.
        let value = trim(field.value);
        // RFC 9110 §5.5: no control bytes (httparse lets some through).
        if !value.iter().all(|&b| is_field_vchar(b) || b == b' ') {
            return Err(Error::InvalidFieldValue);
        }
        rules.observe(field.name.as_bytes(), value)?;
        request.push_field(field.name.as_bytes(), value);
    }
    rules.finish(&mut request, form, limits, known)?;
    Ok(request)
}

/// `field-vchar = VCHAR / obs-text`, plus HTAB inside a value (RFC 9110 §5.5).
fn is_field_vchar(b: u8) -> bool {
    matches!(b, b'\t' | 0x21..=0x7e | 0x80..=0xff)
}

/// Names the rule a head httparse refused breaks, reading it line by line.
fn diagnose(head: &[u8]) -> Error {
    let mut lines = head.split(|&b| b == b'\n').map(|l| l.strip_suffix(b"\r").unwrap_or(l));
    if let Err(err) = check_request_line(lines.next().unwrap_or_default()) {
        return err;
    }
    for line in lines.take_while(|l| !l.is_empty()) {
        if let Err(err) = check_field_line(line) {
            return err;
        }
    }
    Error::InvalidRequestLine
}

/// `request-line = method SP request-target SP HTTP-version` (RFC 9112 §3).
fn check_request_line(line: &[u8]) -> Result<(), Error> {
    let mut parts = line.split(|&b| b == b' ');
    let (Some(method), Some(target), Some(version), None) = (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(Error::InvalidRequestLine);
    };
    if !is_token(method) {
        return Err(Error::InvalidMethod);
    }
    if target.is_empty() || !target.iter().all(|b| (0x21..=0x7e).contains(b)) {
        return Err(Error::InvalidTarget);
    }
    match version {
        b"HTTP/1.0" | b"HTTP/1.1" => Ok(()),
        [b'H', b'T', b'T', b'P', b'/', major, b'.', minor] if major.is_ascii_digit() && minor.is_ascii_digit() => {
            Err(Error::UnsupportedVersion)
        }
        _ => Err(Error::InvalidVersion),
    }
}

/// `field-line = field-name ":" OWS field-value OWS` (RFC 9112 §5).
fn check_field_line(line: &[u8]) -> Result<(), Error> {
    if matches!(line.first(), Some(b' ' | b'\t')) {
        return Err(Error::ObsFold);
    }
    let Some(colon) = line.iter().position(|&b| b == b':') else {
        return Err(Error::InvalidFieldName);
    };
    let name = &line[..colon];
    if matches!(name.last(), Some(b' ' | b'\t')) {
        return Err(Error::WhitespaceBeforeColon);
    }
    if !is_token(name) {
        return Err(Error::InvalidFieldName);
    }
    let value = &line[colon + 1..];
    if !value.iter().all(|&b| is_field_vchar(b) || b == b' ') {
        return Err(Error::InvalidFieldValue);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(head: &[u8]) -> Result<Request, Error> {
        let lines = head.windows(2).filter(|w| w == b"\r\n").count() - 2;
        parse_head(head, lines, &Limits::default(), Spare::default(), &mut KnownHost::new())
    }

    #[test]
    fn rfc9112_3_parses_a_get() {
        let request = parse(b"GET /a?b=1 HTTP/1.1\r\nHost: x\r\nAccept: */*  \r\n\r\n").unwrap();
        assert_eq!(request.method, Method::Get);
        assert_eq!((request.path(), request.query()), ("/a", Some("b=1")));
        assert_eq!(request.header("accept"), Some(&b"*/*"[..]));
        assert_eq!(request.content_length, Some(0));
    }

    #[test]
    fn more_fields_than_the_stack_holds_borrow_a_vec() {
        let fields: String = (0..80).map(|i| format!("X-{i}: {i}\r\n")).collect();
        let request = parse(format!("GET / HTTP/1.1\r\nHost: a\r\n{fields}\r\n").as_bytes());
        let request = request.unwrap();
        assert_eq!(request.headers().count(), 81);
        assert_eq!(request.header("x-79"), Some(&b"79"[..]));
    }

    #[test]
    fn rfc9112_2_2_whitespace_before_the_first_field_is_refused() {
        let err = parse(b"GET / HTTP/1.1\r\n Host: a\r\n\r\n").unwrap_err();
        assert_eq!(err, Error::ObsFold);
    }

    #[test]
    fn rfc9110_2_5_version_505_or_400() {
        assert_eq!(parse(b"GET / HTTP/2.0\r\n\r\n").unwrap_err(), Error::UnsupportedVersion);
        assert_eq!(parse(b"GET / HTTP/1.2\r\n\r\n").unwrap_err(), Error::UnsupportedVersion);
        assert_eq!(parse(b"GET / HTTX/1.1\r\n\r\n").unwrap_err(), Error::InvalidVersion);
        assert_eq!(parse(b"GET / http/1.1\r\n\r\n").unwrap_err(), Error::InvalidVersion);
    }

    #[test]
    fn rfc9112_5_field_line_errors_are_named() {
        let h = |field: &str| parse(format!("GET / HTTP/1.1\r\n{field}\r\n\r\n").as_bytes());
        assert_eq!(h("Host : a").unwrap_err(), Error::WhitespaceBeforeColon);
        assert_eq!(h("Host: a\r\n b").unwrap_err(), Error::ObsFold);
        assert_eq!(h("Ho(st: a").unwrap_err(), Error::InvalidFieldName);
        assert_eq!(h("Host: a\x01").unwrap_err(), Error::InvalidFieldValue);
        assert_eq!(h("Host: a\x7f").unwrap_err(), Error::InvalidFieldValue);
        assert_eq!(h("Host").unwrap_err(), Error::InvalidFieldName);
    }

    /// `build` relies on httparse for the value rules: any byte, at any offset (httparse
    /// checks 32, 16 or 8 bytes at a time, then one by one), is refused exactly when
    /// RFC 9110 §5.5 refuses it, and OWS around the value is gone.
    #[test]
    fn httparse_checks_values_as_rfc9110_5_5_does() {
        for b in (0..=255u8).filter(|b| !matches!(b, b'\r' | b'\n')) {
            for (before, after) in [(0, 0), (1, 1), (7, 0), (8, 3), (15, 17), (31, 2), (40, 40)] {
                let value = [&b"a".repeat(before)[..], &[b], &b"z".repeat(after)].concat();
                let head = [&b"GET / HTTP/1.1\r\nHost: a\r\nX: \t"[..], &value, b" \t\r\n\r\n"].concat();
                let trimmed = match value.iter().position(|&b| b != b' ' && b != b'\t') {
                    Some(start) => &value[start..=value.iter().rposition(|&b| b != b' ' && b != b'\t').unwrap()],
                    None => &[][..],
                };
                let expect = match is_field_vchar(b) || b == b' ' {
                    true => Ok(Some(trimmed)),
                    false => Err(Error::InvalidFieldValue),
                };
                let got = parse(&head);
                assert_eq!(got.as_ref().map(|r| r.header("x")).map_err(|e| *e), expect, "byte {b:#04x} at {before}");
            }
        }
    }

    #[test]
    fn recycled_buffers_give_the_same_request() {
        let big = format!("GET /{} HTTP/1.1\r\nHost: a\r\nX-Long: {}\r\nY: 2\r\n\r\n", "p".repeat(50), "v".repeat(300));
        let small = "GET /q?x HTTP/1.1\r\nHost: b\r\n\r\n";
        let fresh = |head: &str| parse(head.as_bytes()).unwrap();
        let lines = |head: &str| head.matches("\r\n").count() - 2;
        let mut spare = Spare::default();
        for head in [small, &big, small, small, &big] {
            let request =
                parse_head(head.as_bytes(), lines(head), &Limits::default(), spare, &mut KnownHost::new()).unwrap();
            assert_eq!(request, fresh(head));
            spare = request.into_spare();
        }
    }

    #[test]
    fn rfc9112_3_request_line_errors_are_named() {
        let r = |line: &[u8]| parse(&[line, b"\r\nHost: a\r\n\r\n"].concat()).unwrap_err();
        assert_eq!(r(b"GET  / HTTP/1.1"), Error::InvalidRequestLine);
        assert_eq!(r(b"G(T / HTTP/1.1"), Error::InvalidMethod);
        assert_eq!(r(b"GET /\xff HTTP/1.1"), Error::InvalidTarget);
        assert_eq!(r(b"GET /\x7f HTTP/1.1"), Error::InvalidTarget);
    }
}
