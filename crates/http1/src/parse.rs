//! A complete head → [`Request`] in one pass: the grammar, then our rules
//! ([RFC 9112 §3](https://www.rfc-editor.org/rfc/rfc9112#section-3),
//! [§5](https://www.rfc-editor.org/rfc/rfc9112#section-5)).
//!
//! [`HeadScan`](crate::scan) has already delimited the head and checked its line endings,
//! so every line here ends in CRLF. [`read`] walks the head once, a table lookup per
//! byte (eight bytes at a time in values), and accepts what httparse's strict request
//! parser accepts: a token method, single spaces, `HTTP/1.0` or `HTTP/1.1`, token field
//! names with the colon right after, no obs-fold, values of HTAB / SP / VCHAR /
//! obs-text. Only the target is read more strictly (visible ASCII, which `classify`
//! demands anyway). The test `agrees_with_httparse` holds the two to the same answers.
//! When the grammar is broken, [`diagnose`] re-reads the head to name the exact rule
//! (and to tell a 505 from a 400).
//!
//! The rules that need the whole head (target form, framing, `Host`) apply only once
//! the grammar has passed, so a head broken twice always gets the same error.

use crate::fields::{FieldRules, is_token};
use crate::head::Spare;
use crate::target::{KnownHost, TargetForm};
use crate::{Error, Limits, Method, Request, Version, target};

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
    let mut rules = FieldRules::default();
    let Some(Read { mut request, form, observed }) = read(head, field_lines, spare, &mut rules) else {
        return Err(diagnose(head));
    };
    let form = form?;
    observed?;
    rules.finish(&mut request, form, limits, known)?;
    Ok(request)
}

/// A grammatical head, copied into a request, with the verdicts kept for later.
struct Read {
    request: Request,
    /// The target's form, or why it has none (reported before any field rule).
    form: Result<TargetForm, Error>,
    /// The first error [`FieldRules::observe`] found, if any.
    observed: Result<(), Error>,
}

/// Reads the head; `None` when it breaks the grammar.
fn read<'h>(head: &'h [u8], field_lines: usize, spare: Spare, rules: &mut FieldRules<'h>) -> Option<Read> {
    // request-line = method SP request-target SP HTTP-version CRLF
    let (method, rest) = token_then(head, b' ')?;
    let target_len = run(rest, TARGET);
    let (target, rest) = rest.split_at(target_len);
    let rest = rest.strip_prefix(b" ").filter(|_| target_len > 0)?;
    let (version, rest) = match rest.split_at_checked(10)? {
        (b"HTTP/1.1\r\n", rest) => (Version::Http11, rest),
        (b"HTTP/1.0\r\n", rest) => (Version::Http10, rest),
        _ => return None,
    };
    let method = Method::from_bytes(method);
    let form = target::classify(&method, target);
    // TARGET bytes are visible ASCII, so this cannot fail.
    let mut request = Request::reusing(spare, method, std::str::from_utf8(target).ok()?, version);
    // The field section, all lines and the final CRLF, is copied once; fields are ranges of it.
    let section = rest;
    request.copy_field_section(section, field_lines);
    let mut observed = Ok(());
    let mut at = 0;
    // field-line = field-name ":" OWS field-value OWS CRLF, until the empty line.
    loop {
        let line = &section[at..];
        if line.starts_with(b"\r\n") {
            // The scan ends a head at its first empty line (httparse would stop there too).
            let form = if line.len() == 2 { form } else { Err(Error::InvalidRequestLine) };
            return Some(Read { request, form, observed });
        }
        let (name, after) = token_then(line, b':')?;
        let value_start = name.len() + 1;
        let value_end = value_start + value_len(after);
        if line.get(value_end..value_end + 2) != Some(b"\r\n") {
            return None;
        }
        // The value without the OWS around it (RFC 9112 §5), as a range of the line.
        let raw = &line[value_start..value_end];
        let start = raw.iter().position(|&b| b != b' ' && b != b'\t').unwrap_or(raw.len());
        let end = raw.iter().rposition(|&b| b != b' ' && b != b'\t').map_or(start, |last| last + 1);
        if observed.is_ok() {
            observed = rules.observe(name, &raw[start..end]);
        }
        let value_at = at + value_start;
        request.push_field_at(at..at + name.len(), value_at + start..value_at + end);
        at += value_end + 2;
    }
}

/// A non-empty token at the start of `bytes` followed by `delimiter`: the token and
/// what follows the delimiter.
fn token_then(bytes: &[u8], delimiter: u8) -> Option<(&[u8], &[u8])> {
    let len = run(bytes, TCHAR);
    match bytes.get(len) {
        Some(&b) if b == delimiter && len > 0 => Some((&bytes[..len], &bytes[len + 1..])),
        _ => None,
    }
}

/// `tchar` (RFC 9110 §5.6.2).
const TCHAR: u8 = 1;
/// A request-target byte: visible ASCII (RFC 9112 §3.2; RFC 3986 allows no others).
const TARGET: u8 = 2;
/// A field-value byte: field-vchar, SP or HTAB (RFC 9110 §5.5).
const VALUE: u8 = 4;

/// The classes of each byte: one load per byte instead of a chain of comparisons.
static CLASSES: [u8; 256] = classes();

const fn classes() -> [u8; 256] {
    let mut table = [0; 256];
    let mut i = 0;
    while i < 256 {
        let b = i as u8;
        let tchar = b.is_ascii_alphanumeric()
            || matches!(
                b,
                b'!' | b'#' | b'$' | b'%' | b'&' | b'\'' | b'*' | b'+' | b'-' | b'.' | b'^' | b'_' | b'`' | b'|' | b'~'
            );
        if tchar {
            table[i] |= TCHAR;
        }
        if matches!(b, 0x21..=0x7e) {
            table[i] |= TARGET;
        }
        if matches!(b, b'\t' | 0x20..=0x7e | 0x80..=0xff) {
            table[i] |= VALUE;
        }
        i += 1;
    }
    table
}

/// How many bytes at the start of `bytes` are in `class`.
fn run(bytes: &[u8], class: u8) -> usize {
    bytes.iter().position(|&b| CLASSES[usize::from(b)] & class == 0).unwrap_or(bytes.len())
}

/// How many bytes at the start of `bytes` are [`VALUE`] bytes, eight at a time: values
/// (user agents, cookies) are most of a browser's head.
fn value_len(bytes: &[u8]) -> usize {
    const ONES: u64 = u64::from_le_bytes([0x01; 8]);
    const HIGHS: u64 = u64::from_le_bytes([0x80; 8]);
    const SPACES: u64 = u64::from_le_bytes([0x20; 8]);
    const DELS: u64 = u64::from_le_bytes([0x7f; 8]);
    let mut at = 0;
    while let Some(chunk) = bytes.get(at..at + 8) {
        let word = u64::from_le_bytes(chunk.try_into().expect("8 bytes"));
        // Flags bytes below 0x20 (HTAB among them) and DEL; as in `scan`, only the
        // lowest flag is exact, and it is all that is used.
        let del = word ^ DELS;
        let flags = (word.wrapping_sub(SPACES) & !word | del.wrapping_sub(ONES) & !del) & HIGHS;
        if flags == 0 {
            at += 8;
            continue;
        }
        at += (flags.trailing_zeros() / 8) as usize;
        if bytes[at] != b'\t' {
            return at;
        }
        at += 1;
    }
    at + run(&bytes[at..], VALUE)
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
    use crate::fields::trim;
    use httparse::{Header, ParserConfig};
    use std::mem::MaybeUninit;

    /// The parser this module replaced, httparse and then our rules: the reference
    /// `agrees_with_httparse` holds [`parse_head`] to.
    fn parse_head_httparse(head: &[u8], field_lines: usize, limits: &Limits) -> Result<Request, Error> {
        let mut slots = vec![MaybeUninit::<Header<'_>>::uninit(); field_lines];
        let mut parsed = httparse::Request::new(&mut []);
        match ParserConfig::default().parse_request_with_uninit_headers(&mut parsed, head, &mut slots) {
            Ok(httparse::Status::Complete(n)) if n == head.len() => {}
            Ok(_) => return Err(Error::InvalidRequestLine),
            Err(_) => return Err(diagnose(head)),
        }
        let (Some(method), Some(target), Some(minor)) = (parsed.method, parsed.path, parsed.version) else {
            return Err(Error::InvalidRequestLine);
        };
        let version = if minor == 0 { Version::Http10 } else { Version::Http11 };
        let method = Method::from_token(method);
        let form = target::classify(&method, target.as_bytes())?;
        let mut request = Request::new(method, target.to_owned(), version);
        let mut rules = FieldRules::default();
        for field in parsed.headers.iter() {
            let value = trim(field.value);
            if !value.iter().all(|&b| is_field_vchar(b) || b == b' ') {
                return Err(Error::InvalidFieldValue);
            }
            rules.observe(field.name.as_bytes(), value)?;
            request.push_header(field.name, value);
        }
        rules.finish(&mut request, form, limits, &mut KnownHost::new())?;
        Ok(request)
    }

    /// Heads as the scan delivers them (CRLF line endings, ending at the first empty
    /// line), from pieces that hit every rule, mutated at random: both parsers agree.
    #[test]
    fn agrees_with_httparse() {
        const REQUEST_LINES: &[&[u8]] = &[
            b"GET / HTTP/1.1",
            b"POST /ch/a?x=1 HTTP/1.0",
            b"OPTIONS * HTTP/1.1",
            b"CONNECT a:443 HTTP/1.1",
            b"GET http://a/b HTTP/1.1",
            b"get / HTTP/1.1",
            b"M-1 /a%20b HTTP/1.1",
            b"GET /\xc3\xa9 HTTP/1.1",
        ];
        const FIELD_LINES: &[&[u8]] = &[
            b"Host: a",
            b"Host: 127.0.0.1:8080",
            b"host:\t[::1]:80 ",
            b"Host:",
            b"X: a\tb  ",
            b"X:",
            b"X:\t",
            b"Content-Length: 5",
            b"Content-Length: 5, 5",
            b"content-length: 7",
            b"Transfer-Encoding: chunked",
            b"Connection: close",
            b"Connection: keep-alive",
            b"Expect: 100-continue",
            b"Expect: x",
            b"User-Agent: Mozilla/5.0 (X11; Linux x86_64; rv:120.0) Gecko/20100101 Firefox/120.0",
            b"Cookie: a=b; c=d\xff\x80 e",
            b"X-Long: 0123456789abcdef0123456789abcdef0123456789",
        ];
        const BYTES: &[u8] = b" \t:;/\x00\x01\x08\x0b\x1f\x7f\x80\xffaZ9-_.~!@()[]\\\"*%";
        let limits = Limits::default();
        let mut seed = 0x2545_f491_4f6c_dd1du64;
        let mut next = move |n: usize| {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            (seed % n as u64) as usize
        };
        for round in 0..60_000 {
            let count = 1 + next(4);
            let mut lines = vec![REQUEST_LINES[next(REQUEST_LINES.len())].to_vec()];
            lines.extend((1..count).map(|_| FIELD_LINES[next(FIELD_LINES.len())].to_vec()));
            for _ in 0..next(3) {
                let line = &mut lines[next(count)];
                let at = next(line.len() + 1);
                match next(3) {
                    0 => line.insert(at, BYTES[next(BYTES.len())]),
                    1 if at < line.len() => line[at] = BYTES[next(BYTES.len())],
                    _ if at < line.len() => drop(line.remove(at)),
                    _ => {}
                }
            }
            lines.retain(|l| !l.is_empty());
            if lines.is_empty() {
                continue;
            }
            let head = [lines.join(&b"\r\n"[..]), b"\r\n\r\n".to_vec()].concat();
            let field_lines = lines.len() - 1;
            let ours = parse_head(&head, field_lines, &limits, Spare::default(), &mut KnownHost::new());
            let theirs = parse_head_httparse(&head, field_lines, &limits);
            assert_eq!(ours, theirs, "round {round}: {:?}", String::from_utf8_lossy(&head));
        }
    }

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
