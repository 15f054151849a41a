//! The opening handshake ([RFC 6455 §4](https://www.rfc-editor.org/rfc/rfc6455#section-4)):
//! an HTTP/1.1 `GET` with `Upgrade: websocket`, answered by `101 Switching Protocols`.
//!
//! Server side: [`accept`] checks a request head decoded by `talkback-http1` and gives an
//! [`Accepted`] (write its response, then switch to frames) or a [`HandshakeError`] (write its
//! response, then close). Client side: [`ClientHandshake`] writes the request and checks the
//! response. The proof that the server understood is the accept key (§1.3, §4.2.2 step 5.4):
//! `base64(SHA-1(key + "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"))` — see [`accept_key`]. The
//! client's key is a random [`nonce`], or a seeded one for a reproducible test.

mod client;

use std::fmt;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use sha1::{Digest, Sha1};
use talkback_http1::{Method, Request, Version};

pub use crate::entropy::nonce;
use crate::extension::{self, Deflate, DeflatePolicy};
pub use client::ClientHandshake;

/// The GUID every WebSocket server appends to the client's key (§1.3).
pub const GUID: &str = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";

/// `Sec-WebSocket-Accept` for a `Sec-WebSocket-Key` (§4.2.2 step 5.4).
pub fn accept_key(key: &[u8]) -> String {
    let mut sha = Sha1::new();
    sha.update(key);
    sha.update(GUID.as_bytes());
    STANDARD.encode(sha.finalize())
}

/// A check on the `Origin` header (`None` when absent); `false` refuses with 403 (§4.2.2, §10.2).
pub type OriginCheck = Box<dyn Fn(Option<&[u8]>) -> bool + Send + Sync>;

/// What the server accepts.
#[derive(Default)]
pub struct ServerPolicy {
    /// Subprotocols the server speaks, preferred first (§4.2.2 `Sec-WebSocket-Protocol`).
    pub protocols: Vec<String>,
    /// Browsers always send `Origin`; a server guarding cookies should check it (§10.2).
    /// `None` accepts every origin.
    pub origin: Option<OriginCheck>,
    /// permessage-deflate (RFC 7692): `Some` answers a client's offer per the policy, `None`
    /// declines every offer.
    pub deflate: Option<DeflatePolicy>,
}

impl fmt::Debug for ServerPolicy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ServerPolicy")
            .field("protocols", &self.protocols)
            .field("origin", &self.origin.as_ref().map(|_| "<fn>"))
            .field("deflate", &self.deflate)
            .finish()
    }
}

/// A handshake that failed: on the server, why the request was refused; on the client, why
/// the server's response is not a valid acceptance.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HandshakeError {
    /// The method is not GET (§4.1 "The method of the request MUST be GET").
    NotGet,
    /// The version is not HTTP/1.1 or later (§4.1).
    NotHttp11,
    /// No `Upgrade` header: a plain request to a WebSocket endpoint (RFC 9110 §15.5.22: 426).
    NoUpgrade,
    /// `Upgrade` does not contain the `websocket` token (§4.2.1 item 3).
    UpgradeNotWebsocket,
    /// `Connection` does not contain the `Upgrade` token (§4.2.1 item 4).
    ConnectionNotUpgrade,
    /// `Sec-WebSocket-Key` missing, repeated, or not base64 of 16 bytes (§4.2.1 item 5).
    BadKey,
    /// `Sec-WebSocket-Version` missing or not 13 (§4.2.1 item 6, §4.4): 426 naming 13.
    UnsupportedVersion,
    /// The origin check refused the `Origin` header (§4.2.2 item 4): 403.
    OriginRefused,
    /// Client side: the response status is not 101 (§4.1 "If the status code ... is not 101").
    Status(u16),
    /// Client side: the response head is not valid HTTP, or longer than 16 KiB.
    BadResponse,
    /// Client side: the response lacks `Upgrade: websocket` or `Connection: Upgrade` (§4.1).
    MissingUpgrade,
    /// Client side: `Sec-WebSocket-Accept` is not the value for our key (§4.1).
    BadAccept,
    /// Client side: the server picked a subprotocol we did not offer (§4.1).
    UnofferedProtocol,
    /// Client side: `Sec-WebSocket-Extensions` names an extension or a parameter we did not
    /// offer or allow (RFC 6455 §4.1; RFC 7692 §5, §7: the client fails the connection).
    UnofferedExtension,
}

impl HandshakeError {
    /// The HTTP status a server answers with. Client-side variants describe a bad response
    /// from the server and are never sent; they map to 502 (a bad answer from upstream).
    pub fn status(&self) -> u16 {
        match self {
            HandshakeError::NoUpgrade | HandshakeError::UnsupportedVersion => 426,
            HandshakeError::OriginRefused => 403,
            HandshakeError::NotGet
            | HandshakeError::NotHttp11
            | HandshakeError::UpgradeNotWebsocket
            | HandshakeError::ConnectionNotUpgrade
            | HandshakeError::BadKey => 400,
            _ => 502,
        }
    }

    /// Appends the complete refusal (head and short `text/plain` body, `Connection: close`).
    /// 426 responses carry `Upgrade: websocket` and `Sec-WebSocket-Version: 13` (§4.4). A
    /// server with a clock should use [`HandshakeError::encode_response_with_date`].
    pub fn encode_response(&self, out: &mut Vec<u8>) {
        self.encode_response_with_date(None, out);
    }

    /// [`HandshakeError::encode_response`] with a `Date` field, for a caller that keeps a cached
    /// IMF-fixdate (this crate reads no clock): an origin server with a clock MUST send `Date`
    /// in every 4xx ([RFC 9110 §6.6.1](https://www.rfc-editor.org/rfc/rfc9110#section-6.6.1)).
    pub fn encode_response_with_date(&self, date: Option<&[u8]>, out: &mut Vec<u8>) {
        let status = self.status();
        let phrase = match status {
            426 => "Upgrade Required",
            403 => "Forbidden",
            400 => "Bad Request",
            _ => "Bad Gateway",
        };
        let body = format!("{self}\n");
        out.extend_from_slice(format!("HTTP/1.1 {status} {phrase}\r\n").as_bytes());
        if status == 426 {
            out.extend_from_slice(b"Upgrade: websocket\r\nSec-WebSocket-Version: 13\r\n");
        }
        if let Some(date) = date {
            out.extend_from_slice(b"Date: ");
            out.extend(date.iter().map(|&b| if matches!(b, b'\r' | b'\n' | 0) { b' ' } else { b }));
            out.extend_from_slice(b"\r\n");
        }
        let rest = format!(
            "Content-Type: text/plain; charset=utf-8\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
            body.len()
        );
        out.extend_from_slice(rest.as_bytes());
    }
}

impl fmt::Display for HandshakeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            HandshakeError::NotGet => f.write_str("a WebSocket handshake must be a GET"),
            HandshakeError::NotHttp11 => f.write_str("a WebSocket handshake needs HTTP/1.1"),
            HandshakeError::NoUpgrade => f.write_str("this is a WebSocket endpoint: upgrade required"),
            HandshakeError::UpgradeNotWebsocket => f.write_str("Upgrade must name websocket"),
            HandshakeError::ConnectionNotUpgrade => f.write_str("Connection must contain Upgrade"),
            HandshakeError::BadKey => f.write_str("Sec-WebSocket-Key must be base64 of 16 bytes"),
            HandshakeError::UnsupportedVersion => f.write_str("Sec-WebSocket-Version must be 13"),
            HandshakeError::OriginRefused => f.write_str("origin not allowed"),
            HandshakeError::Status(code) => write!(f, "server answered {code}, not 101"),
            HandshakeError::BadResponse => f.write_str("malformed handshake response"),
            HandshakeError::MissingUpgrade => f.write_str("response lacks Upgrade/Connection"),
            HandshakeError::BadAccept => f.write_str("wrong Sec-WebSocket-Accept"),
            HandshakeError::UnofferedProtocol => f.write_str("server chose a protocol not offered"),
            HandshakeError::UnofferedExtension => f.write_str("server answered an extension not offered"),
        }
    }
}

impl std::error::Error for HandshakeError {}

/// A request that passed every check: the response to write, then frames.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Accepted {
    /// The `Sec-WebSocket-Accept` value.
    accept: String,
    /// The subprotocol chosen, if any.
    protocol: Option<String>,
    /// permessage-deflate as agreed, if it was.
    deflate: Option<Deflate>,
}

impl Accepted {
    /// The subprotocol the server chose (its first preference the client offered).
    pub fn protocol(&self) -> Option<&str> {
        self.protocol.as_deref()
    }

    /// permessage-deflate as agreed (put it in `Config::deflate`), or `None`.
    pub fn deflate(&self) -> Option<Deflate> {
        self.deflate
    }

    /// The `Sec-WebSocket-Accept` value sent.
    pub fn accept_value(&self) -> &str {
        &self.accept
    }

    /// Appends the complete `101 Switching Protocols` head (§4.2.2 step 5).
    pub fn encode_response(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n");
        out.extend_from_slice(b"Connection: Upgrade\r\nSec-WebSocket-Accept: ");
        out.extend_from_slice(self.accept.as_bytes());
        out.extend_from_slice(b"\r\n");
        if let Some(protocol) = &self.protocol {
            out.extend_from_slice(b"Sec-WebSocket-Protocol: ");
            out.extend_from_slice(protocol.as_bytes());
            out.extend_from_slice(b"\r\n");
        }
        if let Some(deflate) = &self.deflate {
            out.extend_from_slice(b"Sec-WebSocket-Extensions: ");
            out.extend_from_slice(deflate.response().as_bytes());
            out.extend_from_slice(b"\r\n");
        }
        out.extend_from_slice(b"\r\n");
    }
}

/// Checks an opening handshake request (§4.2.1) in the order a reader would: method,
/// version, `Upgrade`, `Connection`, `Sec-WebSocket-Version`, `Sec-WebSocket-Key`, `Origin`;
/// then picks a subprotocol and answers a permessage-deflate offer (RFC 7692 §5; a
/// malformed offer is declined, never a reason to refuse the handshake).
pub fn accept(req: &Request, policy: &ServerPolicy) -> Result<Accepted, HandshakeError> {
    if req.method != Method::Get {
        return Err(HandshakeError::NotGet);
    }
    if req.version != Version::Http11 {
        return Err(HandshakeError::NotHttp11);
    }
    if req.header("upgrade").is_none() {
        return Err(HandshakeError::NoUpgrade);
    }
    if !has_token(req.headers_named("upgrade"), "websocket") {
        return Err(HandshakeError::UpgradeNotWebsocket);
    }
    if !has_token(req.headers_named("connection"), "upgrade") {
        return Err(HandshakeError::ConnectionNotUpgrade);
    }
    let mut versions = req.headers_named("sec-websocket-version");
    if versions.next().map(<[u8]>::trim_ascii) != Some(b"13") || versions.next().is_some() {
        return Err(HandshakeError::UnsupportedVersion);
    }
    let mut keys = req.headers_named("sec-websocket-key");
    let key = match (keys.next(), keys.next()) {
        (Some(key), None) => key.trim_ascii(),
        _ => return Err(HandshakeError::BadKey),
    };
    match STANDARD.decode(key) {
        Ok(raw) if raw.len() == 16 => {}
        _ => return Err(HandshakeError::BadKey),
    }
    let origin = req.header("origin");
    if !policy.origin.as_ref().is_none_or(|check| check(origin)) {
        return Err(HandshakeError::OriginRefused);
    }
    let offered: Vec<&[u8]> = tokens(req.headers_named("sec-websocket-protocol")).collect();
    let protocol = policy.protocols.iter().find(|p| offered.contains(&p.as_bytes())).cloned();
    let deflate =
        policy.deflate.as_ref().and_then(|p| extension::negotiate(req.headers_named("sec-websocket-extensions"), p));
    Ok(Accepted { accept: accept_key(key), protocol, deflate })
}

/// The comma-separated tokens of every value (RFC 9110 §5.6.1 lists), trimmed.
fn tokens<'a>(values: impl Iterator<Item = &'a [u8]>) -> impl Iterator<Item = &'a [u8]> {
    values.flat_map(|v| v.split(|&b| b == b',')).map(<[u8]>::trim_ascii).filter(|t| !t.is_empty())
}

/// Whether any value's token list contains `token` (ASCII case-insensitive).
fn has_token<'a>(values: impl Iterator<Item = &'a [u8]>, token: &str) -> bool {
    tokens(values).any(|t| t.eq_ignore_ascii_case(token.as_bytes()))
}

#[cfg(test)]
mod tests;
