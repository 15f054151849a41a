//! The client's half of the opening handshake (§4.1): write the request, check the response.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;

use super::{HandshakeError, accept_key, has_token, nonce};
use crate::extension::{Deflate, DeflateOffer};

/// The longest response head we read before giving up.
const MAX_HEAD: usize = 16 * 1024;

/// A client handshake in progress. Feed it the response bytes as they accumulate.
#[derive(Debug, Clone)]
pub struct ClientHandshake {
    /// `Host` header value (`host` or `host:port`).
    host: String,
    /// The request target, e.g. `/chat?room=1`.
    path: String,
    /// Subprotocols offered, preferred first.
    protocols: Vec<String>,
    /// Our `Sec-WebSocket-Key`: 16 random bytes, base64 (§4.1 item 7: a fresh nonce; see
    /// [`super::nonce`] for a seeded one).
    key: String,
    /// How far the response has been searched for the blank line (never rescan).
    scanned: usize,
    /// The permessage-deflate offer, if we make one.
    offer: Option<DeflateOffer>,
    /// What the server accepted of it.
    deflate: Option<Deflate>,
}

impl ClientHandshake {
    /// A handshake for `ws://host/path` offering `protocols`, with a fresh random key.
    pub fn new(host: &str, path: &str, protocols: &[&str]) -> ClientHandshake {
        ClientHandshake::with_nonce(host, path, protocols, nonce(None))
    }

    /// A handshake whose `Sec-WebSocket-Key` is `base64(nonce)`: pass [`nonce`]`(Some(seed))`
    /// for a request that is the same on every run (a test, a recorded trace). A real client
    /// should use [`ClientHandshake::new`] — §4.1 wants the nonce "randomly selected".
    pub fn with_nonce(host: &str, path: &str, protocols: &[&str], nonce: [u8; 16]) -> ClientHandshake {
        ClientHandshake {
            host: host.to_owned(),
            path: if path.is_empty() { "/".into() } else { path.to_owned() },
            protocols: protocols.iter().map(|p| (*p).to_owned()).collect(),
            key: STANDARD.encode(nonce),
            scanned: 0,
            offer: None,
            deflate: None,
        }
    }

    /// Offers permessage-deflate (RFC 7692 §5) with the request.
    pub fn offer_deflate(mut self, offer: DeflateOffer) -> ClientHandshake {
        self.offer = Some(offer);
        self
    }

    /// After an accepted response: permessage-deflate as the server agreed (put it in
    /// `Config::deflate`), or `None` if it declined or was not offered.
    pub fn deflate(&self) -> Option<Deflate> {
        self.deflate
    }

    /// The `Sec-WebSocket-Key` sent.
    pub fn key(&self) -> &str {
        &self.key
    }

    /// Appends the opening handshake request (§4.1).
    pub fn encode_request(&self, out: &mut Vec<u8>) {
        let mut head = format!(
            "GET {} HTTP/1.1\r\nHost: {}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
             Sec-WebSocket-Key: {}\r\nSec-WebSocket-Version: 13\r\n",
            self.path, self.host, self.key
        );
        if !self.protocols.is_empty() {
            head.push_str(&format!("Sec-WebSocket-Protocol: {}\r\n", self.protocols.join(", ")));
        }
        if let Some(offer) = &self.offer {
            head.push_str(&format!("Sec-WebSocket-Extensions: {}\r\n", offer.header()));
        }
        head.push_str("\r\n");
        out.extend_from_slice(head.as_bytes());
    }

    /// Checks the response in `bytes` (everything received so far, from its first byte).
    ///
    /// `Ok(None)`: the head is not complete yet. `Ok(Some((consumed, protocol)))`: accepted;
    /// `bytes[consumed..]` are already WebSocket frames — feed them to the `Connection`.
    pub fn handle_response(&mut self, bytes: &[u8]) -> Result<Option<(usize, Option<String>)>, HandshakeError> {
        let from = self.scanned.saturating_sub(3);
        let Some(end) = find_blank_line(&bytes[from.min(bytes.len())..]).map(|i| from + i + 4) else {
            self.scanned = bytes.len();
            if bytes.len() > MAX_HEAD {
                return Err(HandshakeError::BadResponse);
            }
            return Ok(None);
        };
        let mut headers = [httparse::EMPTY_HEADER; 64];
        let mut response = httparse::Response::new(&mut headers);
        match response.parse(&bytes[..end]) {
            Ok(httparse::Status::Complete(_)) => {}
            _ => return Err(HandshakeError::BadResponse),
        }
        let code = response.code.unwrap_or(0);
        if code != 101 {
            return Err(HandshakeError::Status(code));
        }
        let values = |name: &'static str| {
            response.headers.iter().filter(move |h| h.name.eq_ignore_ascii_case(name)).map(|h| h.value)
        };
        if !has_token(values("upgrade"), "websocket") || !has_token(values("connection"), "upgrade") {
            return Err(HandshakeError::MissingUpgrade);
        }
        let expect = accept_key(self.key.as_bytes());
        if values("sec-websocket-accept").map(<[u8]>::trim_ascii).collect::<Vec<_>>() != [expect.as_bytes()] {
            return Err(HandshakeError::BadAccept);
        }
        let protocol = match values("sec-websocket-protocol").next() {
            None => None,
            Some(value) => {
                let chosen = std::str::from_utf8(value.trim_ascii()).unwrap_or("");
                if !self.protocols.iter().any(|p| p == chosen) {
                    return Err(HandshakeError::UnofferedProtocol);
                }
                Some(chosen.to_owned())
            }
        };
        let mut answers = values("sec-websocket-extensions").peekable();
        self.deflate = match &self.offer {
            None if answers.peek().is_some() => return Err(HandshakeError::UnofferedExtension),
            None => None,
            Some(offer) => offer.check_answer(answers).map_err(|_| HandshakeError::UnofferedExtension)?,
        };
        Ok(Some((end, protocol)))
    }
}

/// The index of the first `\r\n\r\n`.
fn find_blank_line(bytes: &[u8]) -> Option<usize> {
    bytes.windows(4).position(|w| w == b"\r\n\r\n")
}
