//! Who may do what, read from a request head before it is routed: the publish token
//! (`--publish-token`) and the Origin allow-list (`--allow-origin`). Each is checked here and
//! nowhere else; [`Guard::read`] says what it found ([`Access`]) and the routes decide what
//! that means for the resource asked for (401 for a publish, 403 for a WebSocket, CORS
//! headers for the readable routes).
//!
//! ```text
//!  request head ──▶ Guard::read ──▶ Access { credential, origin } ──▶ routes::route
//!                   Authorization: Bearer T      Valid / Wrong / …       POST: 401 unless Valid
//!                   (a WebSocket also ?token=T)  Listed / Unlisted / …   WS: 403 if Unlisted
//!                   Origin, Host                                         poll, sse…: CORS fields
//! ```
//!
//! The token is compared in constant time: how long the comparison takes depends on the
//! presented token's length only, never on how much of it matches. Nothing in an answer says
//! anything about the token (RFC 6750 §3's `error` attribute names only what was wrong with
//! the request: `invalid_request` for a malformed header, `invalid_token` for a wrong one).

use talkback_http1::Request;

/// The checks of one server, from its flags.
#[derive(Debug, Clone, Default)]
pub struct Guard {
    /// `--publish-token`: the bytes a publisher must present.
    token: Option<Box<[u8]>>,
    /// `--allow-origin`, as given (`*` included, if it was).
    origins: Vec<Box<str>>,
}

/// What the request's `Authorization` (or, on a WebSocket upgrade, `?token=`) carried, as far
/// as the publish token is concerned.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Credential {
    /// No token is configured: everyone may publish.
    NotNeeded,
    /// No Bearer credential (no header, or another scheme: RFC 6750 §3, no `error`).
    Absent,
    /// The configured token.
    Valid,
    /// A well-formed Bearer token that is not the one (RFC 6750 §3.1 `invalid_token`).
    Wrong,
    /// Not `Bearer b64token`, or more than one credential (RFC 6750 §3.1 `invalid_request`).
    Malformed,
}

impl Credential {
    /// Whether the request may publish.
    pub fn may_publish(self) -> bool {
        matches!(self, Credential::NotNeeded | Credential::Valid)
    }

    /// The `WWW-Authenticate` challenge of a 401 for this credential (RFC 6750 §3).
    pub fn challenge(self) -> &'static [u8] {
        match self {
            Credential::Wrong => br#"Bearer realm="talkback", error="invalid_token""#,
            Credential::Malformed => br#"Bearer realm="talkback", error="invalid_request""#,
            _ => br#"Bearer realm="talkback""#,
        }
    }

    /// The one-line body of that 401: what is wrong, nothing about the token.
    pub fn reason(self) -> &'static str {
        match self {
            Credential::Wrong => "publishing needs the publish token; this one is not it",
            Credential::Malformed => "malformed Authorization: expected one \"Bearer TOKEN\"",
            _ => "publishing needs Authorization: Bearer TOKEN",
        }
    }
}

/// What the request's `Origin` is to the allow-list.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OriginSeen {
    /// No `--allow-origin`: origins are not checked, and no CORS field is sent.
    Unchecked,
    /// No `Origin` field: not a browser's cross-origin request (RFC 6454 §7.3). Allowed.
    Absent,
    /// The hub's own origin (its authority is the request's `Host`): the demo page. Allowed,
    /// no CORS needed.
    SameHost,
    /// Listed: the [`Guard`]'s origin number `n` (`*` included).
    Listed(u16),
    /// A well-formed origin that is not listed.
    Unlisted,
    /// Not a serialized origin (RFC 6454 §6.2), or more than one `Origin` field.
    Malformed,
}

impl OriginSeen {
    /// Whether a WebSocket handshake from this origin is accepted.
    pub fn may_open_websocket(self) -> bool {
        !matches!(self, OriginSeen::Unlisted | OriginSeen::Malformed)
    }
}

/// What [`Guard::read`] found in one request head.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Access {
    /// The publish credential.
    pub credential: Credential,
    /// The origin.
    pub origin: OriginSeen,
}

impl Access {
    /// A request that carries nothing to check (as every request is, without the flags).
    pub const OPEN: Access = Access { credential: Credential::NotNeeded, origin: OriginSeen::Unchecked };
}

/// How long a browser may keep a preflight's answer (`Access-Control-Max-Age`, seconds):
/// ten minutes, under every browser's own cap (Chromium's is two hours).
pub const PREFLIGHT_MAX_AGE: &[u8] = b"600";

/// The request fields a cross-origin page may send (`Access-Control-Allow-Headers`).
pub const ALLOW_HEADERS: &[u8] = b"Authorization, Content-Type, Last-Event-ID";

impl Guard {
    /// The checks `token` and `origins` ask for (both validated when the flags were parsed).
    pub fn new(token: Option<&str>, origins: &[String]) -> Guard {
        Guard {
            token: token.map(|t| t.as_bytes().into()),
            origins: origins.iter().map(|o| o.as_str().into()).collect(),
        }
    }

    /// Whether `--allow-origin` was given.
    pub fn checks_origins(&self) -> bool {
        !self.origins.is_empty()
    }

    /// The `Access-Control-Allow-Origin` value for a listed origin: the origin itself, or `*`
    /// when it was allowed by `*`.
    pub fn allowed_origin(&self, listed: u16) -> &[u8] {
        self.origins.get(usize::from(listed)).map_or(b"*", |o| o.as_bytes())
    }

    /// Reads the credential and the origin of `request`.
    pub fn read(&self, request: &Request) -> Access {
        Access { credential: self.credential(request), origin: self.origin(request) }
    }

    /// The one place the publish token is checked.
    fn credential(&self, request: &Request) -> Credential {
        let Some(token) = &self.token else { return Credential::NotNeeded };
        let mut fields = request.headers_named("authorization");
        let presented = match (fields.next(), fields.next()) {
            (Some(_), Some(_)) => return Credential::Malformed,
            (Some(value), None) => match bearer(value) {
                Ok(Some(presented)) => presented.to_vec(),
                Ok(None) => return Credential::Absent,
                Err(Malformed) => return Credential::Malformed,
            },
            // Browsers cannot set headers on a WebSocket: its upgrade may carry `?token=`.
            (None, _) if is_websocket_upgrade(request) => match query_token(request.query().unwrap_or("")) {
                Ok(Some(presented)) => presented,
                Ok(None) => return Credential::Absent,
                Err(Malformed) => return Credential::Malformed,
            },
            (None, _) => return Credential::Absent,
        };
        if constant_time_eq(&presented, token) { Credential::Valid } else { Credential::Wrong }
    }

    /// The one place the origin is checked.
    fn origin(&self, request: &Request) -> OriginSeen {
        if self.origins.is_empty() {
            return OriginSeen::Unchecked;
        }
        let mut fields = request.headers_named("origin");
        let origin = match (fields.next(), fields.next()) {
            (None, _) => return OriginSeen::Absent,
            (Some(_), Some(_)) => return OriginSeen::Malformed,
            (Some(origin), None) => origin,
        };
        let Ok(origin) = std::str::from_utf8(origin) else { return OriginSeen::Malformed };
        if origin != "null" && !is_serialized_origin(origin) {
            return OriginSeen::Malformed;
        }
        let listed = self.origins.iter().position(|o| &**o == "*" || o.eq_ignore_ascii_case(origin));
        if let Some(n) = listed {
            return OriginSeen::Listed(n as u16);
        }
        let authority = origin.split_once("://").map(|(_, a)| a.as_bytes());
        match (authority, request.header("host")) {
            (Some(authority), Some(host)) if authority.eq_ignore_ascii_case(host) => OriginSeen::SameHost,
            _ => OriginSeen::Unlisted,
        }
    }
}

/// A header or parameter that is not what RFC 6750 §2.1 describes.
#[derive(Debug)]
struct Malformed;

/// `Bearer b64token` (RFC 6750 §2.1; the scheme is case-insensitive, RFC 9110 §11.1):
/// `Ok(None)` for another scheme.
fn bearer(value: &[u8]) -> Result<Option<&[u8]>, Malformed> {
    let value = value.trim_ascii();
    let (scheme, rest) = match value.iter().position(|&b| b == b' ') {
        Some(space) => (&value[..space], value[space..].trim_ascii_start()),
        None => (value, &b""[..]),
    };
    if !scheme.eq_ignore_ascii_case(b"bearer") {
        return if scheme.is_empty() { Err(Malformed) } else { Ok(None) };
    }
    if is_b64token(rest) { Ok(Some(rest)) } else { Err(Malformed) }
}

/// The `token` parameter of a query, percent-decoded (a browser's `encodeURIComponent`
/// writes `+`, `/` and `=` as `%2B`, `%2F`, `%3D`).
fn query_token(query: &str) -> Result<Option<Vec<u8>>, Malformed> {
    let mut found = None;
    for value in query.split('&').filter_map(|pair| pair.strip_prefix("token=")) {
        if found.is_some() {
            return Err(Malformed); // one credential per request
        }
        let decoded = percent_decode(value.as_bytes()).ok_or(Malformed)?;
        if !is_b64token(&decoded) {
            return Err(Malformed);
        }
        found = Some(decoded);
    }
    Ok(found)
}

fn percent_decode(bytes: &[u8]) -> Option<Vec<u8>> {
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = std::str::from_utf8(bytes.get(i + 1..i + 3)?).ok()?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    Some(out)
}

/// RFC 6750 §2.1: `b64token = 1*( ALPHA / DIGIT / "-" / "." / "_" / "~" / "+" / "/" ) *"="`.
fn is_b64token(token: &[u8]) -> bool {
    let body = token.len() - token.iter().rev().take_while(|&&b| b == b'=').count();
    body > 0 && token[..body].iter().all(|&b| b.is_ascii_alphanumeric() || b"-._~+/".contains(&b))
}

/// Whether `a` equals `b`, in a time that depends on `a`'s length only (`a` is what the client
/// sent; `b` the secret): every byte of `a` is compared, whatever the first difference.
fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    let mut difference = a.len() ^ b.len();
    for (i, &byte) in a.iter().enumerate() {
        let other = b.get(i).copied().unwrap_or(!byte);
        difference |= usize::from(byte ^ other);
    }
    std::hint::black_box(difference) == 0
}

/// RFC 6454 §6.2, the ASCII serialization of a tuple origin: `scheme "://" host [ ":" port ]`
/// (no path, no user info, nothing after the port).
fn is_serialized_origin(origin: &str) -> bool {
    let Some((scheme, authority)) = origin.split_once("://") else { return false };
    let scheme_ok = scheme.starts_with(|c: char| c.is_ascii_alphabetic())
        && scheme.bytes().all(|b| b.is_ascii_alphanumeric() || b"+-.".contains(&b));
    let (host_ok, port) = match authority.strip_prefix('[') {
        // An IPv6 literal: `[` hex digits, colons and dots `]`, then maybe `:port`.
        Some(literal) => match literal.split_once(']') {
            Some((inside, after)) => (
                !inside.is_empty() && inside.bytes().all(|b| b.is_ascii_hexdigit() || b == b':' || b == b'.'),
                if after.is_empty() { None } else { Some(after.strip_prefix(':').unwrap_or("x")) },
            ),
            None => (false, None),
        },
        None => {
            let (host, port) = authority.split_once(':').map_or((authority, None), |(h, p)| (h, Some(p)));
            (!host.is_empty() && host.bytes().all(|b| b.is_ascii_graphic() && !b"/?#@\\[]".contains(&b)), port)
        }
    };
    let port_ok = port.is_none_or(|p| !p.is_empty() && p.len() <= 5 && p.bytes().all(|b| b.is_ascii_digit()));
    scheme_ok && host_ok && port_ok
}

/// Whether the request asks for a WebSocket (`Upgrade: websocket`, RFC 6455 §4.1).
fn is_websocket_upgrade(request: &Request) -> bool {
    request
        .headers_named("upgrade")
        .any(|value| value.split(|&b| b == b',').any(|token| token.trim_ascii().eq_ignore_ascii_case(b"websocket")))
}

/// `--publish-token TOKEN`: a b64token (RFC 6750 §2.1), so any client can send it as it is.
pub(crate) fn token_flag(flag: &str, value: &str) -> Result<String, String> {
    if is_b64token(value.as_bytes()) {
        Ok(value.to_owned())
    } else {
        Err(format!("{flag}: a token is letters, digits and - . _ ~ + / (then = padding), nothing else"))
    }
}

/// `--publish-token-file PATH`: the token is the file's first line.
pub(crate) fn token_file(path: &str) -> Result<String, String> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("--publish-token-file: {path}: {e}"))?;
    token_flag("--publish-token-file", text.lines().next().unwrap_or("").trim())
}

/// `--allow-origin ORIGIN`: `*`, or an origin as browsers send it (`https://app.example`,
/// `http://localhost:3000`).
pub(crate) fn origin_flag(value: &str) -> Result<String, String> {
    if value == "*" || is_serialized_origin(value) {
        Ok(value.to_owned())
    } else {
        Err(format!("--allow-origin: {value:?} is not an origin (scheme://host[:port], no path) or *"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use talkback_http1::{Method, Version};

    fn request(target: &str, headers: &[(&str, &str)]) -> Request {
        let mut request = Request::new(Method::Get, target.to_string(), Version::Http11);
        for (name, value) in headers {
            request.push_header(name, value.as_bytes());
        }
        request
    }

    /// Request fields of a case.
    type Fields<'a> = &'a [(&'a str, &'a str)];

    fn guard() -> Guard {
        Guard::new(Some("s3cret"), &["https://app.example".to_string()])
    }

    #[test]
    fn rfc6750_2_1_a_bearer_credential_is_read_from_authorization() {
        let cases: &[(&str, Fields<'_>, Credential)] = &[
            ("no header", &[], Credential::Absent),
            ("the token", &[("Authorization", "Bearer s3cret")], Credential::Valid),
            ("scheme is case-insensitive", &[("Authorization", "bearer   s3cret")], Credential::Valid),
            ("another token", &[("Authorization", "Bearer s3cre")], Credential::Wrong),
            ("a longer one", &[("Authorization", "Bearer s3cret2")], Credential::Wrong),
            ("another scheme", &[("Authorization", "Basic czNjcmV0")], Credential::Absent),
            ("no token", &[("Authorization", "Bearer")], Credential::Malformed),
            ("not a b64token", &[("Authorization", "Bearer s3 cret")], Credential::Malformed),
            ("empty", &[("Authorization", "")], Credential::Malformed),
            (
                "two fields",
                &[("Authorization", "Bearer s3cret"), ("Authorization", "Bearer s3cret")],
                Credential::Malformed,
            ),
        ];
        for (name, headers, expect) in cases {
            assert_eq!(guard().read(&request("/ch/a", headers)).credential, *expect, "{name}");
        }
        let open = Guard::new(None, &[]);
        assert_eq!(open.read(&request("/ch/a", &[("Authorization", "junk")])), Access::OPEN);
    }

    #[test]
    fn a_websocket_upgrade_may_carry_the_token_in_the_query() {
        let upgrade = [("Upgrade", "websocket")];
        let cases = [
            ("/ch/a/ws?token=s3cret", Credential::Valid),
            ("/ch/a/ws?after=3&token=s3cret", Credential::Valid),
            ("/ch/a/ws?token=s3cre", Credential::Wrong),
            ("/ch/a/ws?token=%7A", Credential::Wrong),
            ("/ch/a/ws?token=%zz", Credential::Malformed),
            ("/ch/a/ws?token=a&token=s3cret", Credential::Malformed),
            ("/ch/a/ws", Credential::Absent),
        ];
        for (target, expect) in cases {
            assert_eq!(guard().read(&request(target, &upgrade)).credential, expect, "{target}");
        }
        assert_eq!(guard().read(&request("/ch/a?token=s3cret", &[])).credential, Credential::Absent, "not on a POST");
        let padded = Guard::new(Some("a+b/c=="), &[]);
        assert_eq!(padded.read(&request("/ch/a/ws?token=a%2Bb%2Fc%3D%3D", &upgrade)).credential, Credential::Valid);
    }

    #[test]
    fn rfc6454_origins_are_listed_same_host_unlisted_or_malformed() {
        let cases: &[(Fields<'_>, OriginSeen)] = &[
            (&[], OriginSeen::Absent),
            (&[("Origin", "https://app.example")], OriginSeen::Listed(0)),
            (&[("Origin", "https://evil.example")], OriginSeen::Unlisted),
            (&[("Origin", "null")], OriginSeen::Unlisted),
            (&[("Origin", "http://hub.example:8080"), ("Host", "hub.example:8080")], OriginSeen::SameHost),
            (&[("Origin", "http://hub.example"), ("Host", "hub.example:8080")], OriginSeen::Unlisted),
            (&[("Origin", "app.example")], OriginSeen::Malformed),
            (&[("Origin", "https://app.example/path")], OriginSeen::Malformed),
            (&[("Origin", "https://app.example"), ("Origin", "https://app.example")], OriginSeen::Malformed),
            (&[("Origin", "https://u@app.example")], OriginSeen::Malformed),
        ];
        for (headers, expect) in cases {
            assert_eq!(guard().read(&request("/", headers)).origin, *expect, "{headers:?}");
        }
        let any = Guard::new(None, &["*".to_string()]);
        assert_eq!(any.read(&request("/", &[("Origin", "https://x.example")])).origin, OriginSeen::Listed(0));
        assert_eq!(any.allowed_origin(0), b"*");
        assert_eq!(guard().allowed_origin(0), b"https://app.example");
    }

    #[test]
    fn the_token_comparison_looks_at_every_presented_byte() {
        assert!(constant_time_eq(b"abc", b"abc"));
        for other in [&b"abd"[..], b"ab", b"abcd", b"", b"xbc"] {
            assert!(!constant_time_eq(other, b"abc"), "{other:?}");
        }
    }

    #[test]
    fn flag_values_are_validated() {
        assert!(token_flag("--publish-token", "abc-._~+/==").is_ok());
        assert!(token_flag("--publish-token", "=").is_err());
        assert!(origin_flag("http://[::1]:8080").is_ok());
        assert!(origin_flag("http://localhost:3000").is_ok());
        assert!(origin_flag("http://localhost:").is_err());
        assert!(origin_flag("null").is_err(), "a null origin is allowed only by *");
    }
}
