//! The request-target forms and the `Host` authority
//! ([RFC 9112 §3.2](https://www.rfc-editor.org/rfc/rfc9112#section-3.2),
//! [RFC 9110 §7.2](https://www.rfc-editor.org/rfc/rfc9110#section-7.2),
//! [RFC 3986 §3.2](https://www.rfc-editor.org/rfc/rfc3986#section-3.2)).

use crate::{Error, Method};

/// Which of the four forms of RFC 9112 §3.2 a request-target has.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum TargetForm {
    /// `/path?query` (§3.2.1), the form browsers send to an origin server.
    Origin,
    /// `scheme:...` (§3.2.2); `has_authority` when `scheme://` follows.
    Absolute { has_authority: bool },
    /// `host:port`, CONNECT only (§3.2.3).
    Authority,
    /// `*`, OPTIONS only (§3.2.4).
    Asterisk,
}

/// Classifies `target` and checks the form fits the method.
pub(crate) fn classify(method: &Method, target: &[u8]) -> Result<TargetForm, Error> {
    if target.is_empty() || !target.iter().all(|b| (0x21..=0x7e).contains(b)) {
        return Err(Error::InvalidTarget);
    }
    if target[0] == b'/' && *method != Method::Connect {
        return Ok(TargetForm::Origin); // the common case, first
    }
    let looks_like_authority = is_authority(target, true);
    if *method == Method::Connect || looks_like_authority {
        return match *method == Method::Connect && looks_like_authority {
            true => Ok(TargetForm::Authority),
            false => Err(Error::AuthorityFormMismatch),
        };
    }
    if target == b"*" {
        return match method {
            Method::Options => Ok(TargetForm::Asterisk),
            _ => Err(Error::AsteriskFormWithoutOptions),
        };
    }
    match scheme_len(target) {
        Some(n) => Ok(TargetForm::Absolute { has_authority: target[n + 1..].starts_with(b"//") }),
        None => Err(Error::InvalidTarget),
    }
}

/// Checks a `Host` value against the target form. Empty is allowed only when the
/// target URI has no authority (an absolute-form such as `urn:x`), per RFC 9110 §7.2;
/// an origin-form request needs a real host to name the resource.
pub(crate) fn check_host(host: &[u8], form: TargetForm) -> Result<(), Error> {
    let valid = match host.is_empty() {
        true => form == TargetForm::Absolute { has_authority: false },
        false => is_authority(host, false),
    };
    if valid { Ok(()) } else { Err(Error::InvalidHost) }
}

/// The last non-empty `Host` value found valid on a connection (if it fits in 64 bytes).
/// Clients send the same `Host` on every request of a connection, and whether a
/// non-empty value is a valid authority depends on nothing else, so an identical value
/// is not checked twice. Inline, so a connection allocates nothing for it.
#[derive(Debug, Clone)]
pub(crate) struct KnownHost {
    /// The value's bytes, `len` of them.
    bytes: [u8; 64],
    /// 0 when no value is known.
    len: u8,
}

impl KnownHost {
    /// No value known yet.
    pub(crate) const fn new() -> KnownHost {
        KnownHost { bytes: [0; 64], len: 0 }
    }

    /// [`check_host`], skipped for the value it last passed.
    pub(crate) fn check(&mut self, host: &[u8], form: TargetForm) -> Result<(), Error> {
        if !host.is_empty() && host == &self.bytes[..usize::from(self.len)] {
            return Ok(());
        }
        check_host(host, form)?;
        if let Some(slot) = self.bytes.get_mut(..host.len()) {
            slot.copy_from_slice(host);
            self.len = host.len() as u8; // at most 64
        }
        Ok(())
    }
}

/// The length of `scheme` when `target` starts with `scheme ":"` (RFC 3986 §3.1).
fn scheme_len(target: &[u8]) -> Option<usize> {
    let colon = target.iter().position(|&b| b == b':')?;
    let scheme = &target[..colon];
    let first_alpha = scheme.first()?.is_ascii_alphabetic();
    let rest_ok = scheme.iter().all(|&b| b.is_ascii_alphanumeric() || matches!(b, b'+' | b'-' | b'.'));
    (first_alpha && rest_ok).then_some(colon)
}

/// `uri-host [":" port]` with a non-empty host, no userinfo; `port_required` for CONNECT.
/// An empty port (`host:`) is refused: RFC 3986 allows it, but it has no use here.
pub(crate) fn is_authority(s: &[u8], port_required: bool) -> bool {
    let (host_ok, rest) = if s.first() == Some(&b'[') {
        match s.iter().position(|&b| b == b']') {
            Some(close) => (is_ip_literal(&s[1..close]), &s[close + 1..]),
            None => return false,
        }
    } else {
        // One pass: the reg-name runs up to the first byte it cannot hold, which must
        // be the port's colon or the end (`:` is in no reg-name, even pct-encoded).
        let len = reg_name_len(s);
        (len > 0, &s[len..])
    };
    let port_ok = match rest.split_first() {
        None => !port_required,
        Some((b':', port)) => is_port(port),
        Some(_) => false,
    };
    host_ok && port_ok
}

/// An IPv6 address inside `[...]` (hex digits, colons, and dots for an embedded IPv4).
fn is_ip_literal(inner: &[u8]) -> bool {
    inner.contains(&b':') && inner.iter().all(|&b| b.is_ascii_hexdigit() || b == b':' || b == b'.')
}

/// The length of the longest `reg-name = *( unreserved / pct-encoded / sub-delims )`
/// that `s` starts with.
fn reg_name_len(s: &[u8]) -> usize {
    let mut i = 0;
    loop {
        // The common case, a run of plain bytes, is one table load per byte.
        i += s[i..].iter().position(|&b| !is(b, REG_NAME)).unwrap_or(s.len() - i);
        match s.get(i..i + 3) {
            Some([b'%', a, b]) if is(*a, HEXDIG) && is(*b, HEXDIG) => i += 3,
            _ => return i,
        }
    }
}

/// A byte of `unreserved / sub-delims` (RFC 3986 §2.2, §2.3): a reg-name byte, `%` aside.
const REG_NAME: u8 = 1;
/// `HEXDIG`, for pct-encoded.
const HEXDIG: u8 = 2;

/// The classes of each byte: one load per byte instead of a chain of comparisons.
static CLASSES: [u8; 256] = classes();

const fn classes() -> [u8; 256] {
    let mut table = [0; 256];
    let mut i = 0;
    while i < 256 {
        let b = i as u8;
        let unreserved = b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~');
        let sub_delim = matches!(b, b'!' | b'$' | b'&' | b'\'' | b'(' | b')' | b'*' | b'+' | b',' | b';' | b'=');
        if unreserved || sub_delim {
            table[i] |= REG_NAME;
        }
        if b.is_ascii_hexdigit() {
            table[i] |= HEXDIG;
        }
        i += 1;
    }
    table
}

/// Whether `b` is in `class`.
fn is(b: u8, class: u8) -> bool {
    CLASSES[usize::from(b)] & class != 0
}

/// One to five digits, at most 65535.
fn is_port(port: &[u8]) -> bool {
    if !(1..=5).contains(&port.len()) {
        return false;
    }
    let mut n = 0u32;
    for &b in port {
        let digit = b.wrapping_sub(b'0');
        if digit > 9 {
            return false;
        }
        n = n * 10 + u32::from(digit);
    }
    n <= 65535
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc9112_3_2_1_origin_form_starts_with_slash() {
        assert_eq!(classify(&Method::Get, b"/a?b"), Ok(TargetForm::Origin));
        assert_eq!(classify(&Method::Get, b"a/b"), Err(Error::InvalidTarget));
        assert_eq!(classify(&Method::Get, b"/\x80"), Err(Error::InvalidTarget));
    }

    #[test]
    fn rfc9112_3_2_2_accepts_absolute_form() {
        let form = classify(&Method::Get, b"http://a.example/x");
        assert_eq!(form, Ok(TargetForm::Absolute { has_authority: true }));
        let urn = classify(&Method::Get, b"urn:isbn:0451450523");
        assert_eq!(urn, Ok(TargetForm::Absolute { has_authority: false }));
    }

    #[test]
    fn rfc9112_3_2_3_authority_form_only_with_connect() {
        let connect = classify(&Method::Connect, b"a.example:443");
        assert_eq!(connect, Ok(TargetForm::Authority));
        let get = classify(&Method::Get, b"a.example:443");
        assert_eq!(get, Err(Error::AuthorityFormMismatch));
        let no_port = classify(&Method::Connect, b"a.example");
        assert_eq!(no_port, Err(Error::AuthorityFormMismatch));
    }

    #[test]
    fn rfc9112_3_2_4_asterisk_only_with_options() {
        assert_eq!(classify(&Method::Options, b"*"), Ok(TargetForm::Asterisk));
        let get = classify(&Method::Get, b"*");
        assert_eq!(get, Err(Error::AsteriskFormWithoutOptions));
    }

    #[test]
    fn rfc9112_3_2_host_must_be_an_authority() {
        let origin = TargetForm::Origin;
        for good in [&b"a.example"[..], b"a.example:8080", b"[::1]:80", b"127.0.0.1", b"a%41"] {
            assert_eq!(check_host(good, origin), Ok(()), "{good:?}");
        }
        for bad in [&b"u@a"[..], b"a/b", b"a:", b"a:99999", b"a:8x", b"[::1", b":80", b"a b"] {
            assert_eq!(check_host(bad, origin), Err(Error::InvalidHost), "{bad:?}");
        }
    }

    /// The table-driven one-pass check against the rules written out, on every host of
    /// up to two bytes from an alphabet that touches each branch, and on longer samples.
    #[test]
    fn rfc3986_3_2_2_authority_matches_the_grammar_spelled_out() {
        fn reference(s: &[u8], port_required: bool) -> bool {
            let (host_ok, rest) = if s.first() == Some(&b'[') {
                match s.iter().position(|&b| b == b']') {
                    Some(close) => (is_ip_literal(&s[1..close]), &s[close + 1..]),
                    None => return false,
                }
            } else {
                let colon = s.iter().position(|&b| b == b':').unwrap_or(s.len());
                let name = &s[..colon];
                let mut i = 0;
                let mut ok = !name.is_empty();
                while ok && i < name.len() {
                    match name[i] {
                        b'%' => {
                            ok = name.get(i + 1..i + 3).is_some_and(|h| h.iter().all(u8::is_ascii_hexdigit));
                            i += 3;
                        }
                        b => {
                            ok = b.is_ascii_alphanumeric() || b"-._~!$&'()*+,;=".contains(&b);
                            i += 1;
                        }
                    }
                }
                (ok, &s[colon..])
            };
            let port_ok = match rest.split_first() {
                None => !port_required,
                Some((b':', port)) => {
                    (1..=5).contains(&port.len())
                        && port.iter().all(u8::is_ascii_digit)
                        && port.iter().fold(0u32, |n, d| n * 10 + u32::from(d - b'0')) <= 65535
                }
                Some(_) => false,
            };
            host_ok && port_ok
        }
        let mut hosts: Vec<Vec<u8>> = Vec::new();
        for a in 0..=255u8 {
            hosts.push(vec![a]);
            for b in b"aZ9%:@/[]-~!=f G\x80\x7f" {
                hosts.push(vec![a, *b]);
                hosts.push(vec![*b, a]);
            }
        }
        for long in [
            "a%4",
            "a%4g",
            "a%41:1",
            "%41%42",
            "a.b.c:65535",
            "a:65536",
            "x:0",
            "a:99999",
            "a:123456",
            "a:/",
            "a::",
            "a%:1",
            "ab:c",
            "a::1",
        ] {
            hosts.push(long.as_bytes().to_vec());
        }
        for host in &hosts {
            for port_required in [false, true] {
                assert_eq!(is_authority(host, port_required), reference(host, port_required), "{host:?}");
            }
        }
    }

    #[test]
    fn a_known_host_skips_only_the_same_valid_value() {
        let mut known = KnownHost::new();
        let origin = TargetForm::Origin;
        assert_eq!(known.check(b"a.example:80", origin), Ok(()));
        assert_eq!(known.check(b"a.example:80", origin), Ok(()));
        assert_eq!(known.check(b"a.example:8o", origin), Err(Error::InvalidHost));
        assert_eq!(known.check(b"a.example:8", origin), Ok(()));
        // An empty value is never taken as known: it depends on the target.
        assert_eq!(known.check(b"", origin), Err(Error::InvalidHost));
        let mut fresh = KnownHost::new();
        assert_eq!(fresh.check(b"", origin), Err(Error::InvalidHost));
        let long = [b'a'; 65];
        assert_eq!(known.check(&long, origin), Ok(()));
        assert_eq!(known.check(b"a b", origin), Err(Error::InvalidHost));
        assert_eq!(known.check(b"a.example:8", origin), Ok(()));
    }

    #[test]
    fn rfc9110_7_2_empty_host_only_without_authority() {
        assert_eq!(check_host(b"", TargetForm::Origin), Err(Error::InvalidHost));
        let urn = TargetForm::Absolute { has_authority: false };
        assert_eq!(check_host(b"", urn), Ok(()));
    }
}
