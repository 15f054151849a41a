//! Negotiating permessage-deflate ([RFC 7692 §5, §7.1](https://www.rfc-editor.org/rfc/rfc7692#section-7.1))
//! in `Sec-WebSocket-Extensions` ([RFC 6455 §9.1](https://www.rfc-editor.org/rfc/rfc6455#section-9.1)).
//!
//! ```text
//!  client offers, preferred first                   server accepts one, or none
//!  permessage-deflate; server_max_window_bits=10,   permessage-deflate;
//!  permessage-deflate; client_max_window_bits  ───▶   server_max_window_bits=10   (≤ the offer)
//!                                                     server_no_context_takeover  (its choice)
//!  the client checks the answer against what it offered (§7.1.x); a parameter it did not
//!  allow fails the connection, an offer the server cannot take is just not accepted.
//! ```
//!
//! The four parameters (§7.1), each at most once per offer:
//!
//! | parameter | in an offer | in the answer |
//! |---|---|---|
//! | `server_no_context_takeover` | the client asks the server to reset after each message | the server will (it may say so unasked) |
//! | `client_no_context_takeover` | a hint: the client will reset | the client must reset |
//! | `server_max_window_bits=N` | the server's window may be at most 2^N | the server's window, ≤ the offer (it may say so unasked) |
//! | `client_max_window_bits[=N]` | the client can limit its window (to N) | the client's window, only if offered |
//!
//! N is 8 to 15. The compressor here cannot use 8 (see `deflate.rs`): a server declines an
//! offer of `server_max_window_bits=8` (§7.1.2.1 lets it decline a configuration it does not
//! support) and never asks a client for 8; a client told `client_max_window_bits=8` accepts
//! (it must honour the limit, which it does by sending its messages uncompressed, as §6 lets
//! any message be). Offers that are malformed — an unknown parameter, a bad value, a repeated
//! parameter — are declined one by one; the handshake itself never fails over them (§5).

use crate::deflate::{MAX_WINDOW_BITS, MIN_WINDOW_BITS};

/// The extension's registered name (§5).
pub const PERMESSAGE_DEFLATE: &str = "permessage-deflate";

/// What was agreed for one connection: both directions' context takeover and windows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Deflate {
    /// The server resets its compressor after every message (§7.1.1.1).
    pub server_no_context_takeover: bool,
    /// The client resets its compressor after every message (§7.1.1.2).
    pub client_no_context_takeover: bool,
    /// The server compresses with at most a 2^N window (§7.1.2.1; 15 when not negotiated).
    pub server_max_window_bits: u8,
    /// The client compresses with at most a 2^N window (§7.1.2.2; 15 when not negotiated).
    pub client_max_window_bits: u8,
    /// Whether the answer names `server_max_window_bits` (an offer with it must be answered so).
    pub announce_server_window: bool,
    /// Whether the answer names `client_max_window_bits` (only ever if it was offered).
    pub announce_client_window: bool,
}

impl Default for Deflate {
    /// Bare `permessage-deflate`: context takeover both ways, 15-bit windows.
    fn default() -> Deflate {
        Deflate {
            server_no_context_takeover: false,
            client_no_context_takeover: false,
            server_max_window_bits: MAX_WINDOW_BITS,
            client_max_window_bits: MAX_WINDOW_BITS,
            announce_server_window: false,
            announce_client_window: false,
        }
    }
}

impl Deflate {
    /// The `Sec-WebSocket-Extensions` value a server answers with.
    pub fn response(&self) -> String {
        let mut value = String::from(PERMESSAGE_DEFLATE);
        if self.server_no_context_takeover {
            value.push_str("; server_no_context_takeover");
        }
        if self.client_no_context_takeover {
            value.push_str("; client_no_context_takeover");
        }
        if self.announce_server_window {
            value.push_str(&format!("; server_max_window_bits={}", self.server_max_window_bits));
        }
        if self.announce_client_window {
            value.push_str(&format!("; client_max_window_bits={}", self.client_max_window_bits));
        }
        value
    }
}

/// How a server answers offers. The defaults suit an echo server: context takeover when the
/// client allows it (an echo gains from it), the largest window the client allows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DeflatePolicy {
    /// Always reset the compressor after each message, and say so: a server that compresses
    /// a broadcast once for many subscribers cannot keep one context per subscriber.
    pub server_no_context_takeover: bool,
    /// Ask clients to reset after each message, so that no inflater need be kept between
    /// a client's messages.
    pub client_no_context_takeover: bool,
    /// The largest window the server compresses with (9–15; less when an offer asks).
    pub server_max_window_bits: u8,
    /// Ask clients that offer `client_max_window_bits` for at most this window (9–15).
    pub client_max_window_bits: Option<u8>,
}

impl Default for DeflatePolicy {
    fn default() -> DeflatePolicy {
        DeflatePolicy {
            server_no_context_takeover: false,
            client_no_context_takeover: false,
            server_max_window_bits: MAX_WINDOW_BITS,
            client_max_window_bits: None,
        }
    }
}

/// One offer's parameters, parsed and checked (§7.1).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
struct Params {
    server_no_context_takeover: bool,
    client_no_context_takeover: bool,
    server_max_window_bits: Option<u8>,
    /// `Some(None)`: named without a value.
    client_max_window_bits: Option<Option<u8>>,
}

/// Why an element was not acceptable (for tests and the client's error).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Malformed {
    /// Not `token *( ";" token [ "=" ( token / quoted-string ) ] )`.
    Syntax,
    /// A parameter RFC 7692 does not define.
    UnknownParameter,
    /// The same parameter twice (§7: "multiple extension parameters with the same name").
    Repeated,
    /// A value where none belongs, none where one must be, or a window outside 8–15 written
    /// without leading zeroes (§7.1.2.1).
    BadValue,
}

/// Parses one element's parameters (the name already matched).
fn params(raw: &[(&str, Option<String>)]) -> Result<Params, Malformed> {
    let mut p = Params::default();
    for (name, value) in raw {
        match *name {
            "server_no_context_takeover" | "client_no_context_takeover" => {
                let flag = if *name == "server_no_context_takeover" {
                    &mut p.server_no_context_takeover
                } else {
                    &mut p.client_no_context_takeover
                };
                if value.is_some() {
                    return Err(Malformed::BadValue);
                }
                if std::mem::replace(flag, true) {
                    return Err(Malformed::Repeated);
                }
            }
            "server_max_window_bits" => {
                let bits = window_bits(value.as_deref().ok_or(Malformed::BadValue)?)?;
                if p.server_max_window_bits.replace(bits).is_some() {
                    return Err(Malformed::Repeated);
                }
            }
            "client_max_window_bits" => {
                let bits = match value {
                    None => None,
                    Some(v) => Some(window_bits(v)?),
                };
                if p.client_max_window_bits.replace(bits).is_some() {
                    return Err(Malformed::Repeated);
                }
            }
            _ => return Err(Malformed::UnknownParameter),
        }
    }
    Ok(p)
}

/// A window size: `1*DIGIT`, 8–15, no leading zero (§7.1.2.1).
fn window_bits(value: &str) -> Result<u8, Malformed> {
    match value.parse::<u8>() {
        Ok(bits @ 8..=15) if !value.starts_with('0') && value.bytes().all(|b| b.is_ascii_digit()) => Ok(bits),
        _ => Err(Malformed::BadValue),
    }
}

/// Server: the first acceptable permessage-deflate offer among `values` (every
/// `Sec-WebSocket-Extensions` field of the request, in order), answered per `policy`; `None`
/// declines (no offer, or none acceptable) and the handshake goes on without the extension.
pub fn negotiate<'a>(values: impl Iterator<Item = &'a [u8]>, policy: &DeflatePolicy) -> Option<Deflate> {
    elements(values).find_map(|element| {
        let (name, raw) = element.ok()?;
        if !name.eq_ignore_ascii_case(PERMESSAGE_DEFLATE) {
            return None;
        }
        accept(params(&raw).ok()?, policy)
    })
}

/// Server: the answer to one well-formed offer, or `None` if we cannot take it.
fn accept(offer: Params, policy: &DeflatePolicy) -> Option<Deflate> {
    if offer.server_max_window_bits.is_some_and(|bits| bits < MIN_WINDOW_BITS) {
        return None; // 8: our compressor cannot (module docs)
    }
    let ours = policy.server_max_window_bits.clamp(MIN_WINDOW_BITS, MAX_WINDOW_BITS);
    let server_window = offer.server_max_window_bits.map_or(ours, |asked| asked.min(ours));
    let ask_client = policy.client_max_window_bits.map(|bits| bits.clamp(MIN_WINDOW_BITS, MAX_WINDOW_BITS));
    let (client_window, announce_client_window) = match (offer.client_max_window_bits, ask_client) {
        // Not offered: never in the answer (§7.1.2.2); the client may use 15.
        (None, _) => (MAX_WINDOW_BITS, false),
        (Some(limit), Some(ask)) => (limit.map_or(ask, |limit| limit.min(ask)), true),
        // Offered, nothing to ask: the client keeps within its own offer, if it gave one.
        (Some(limit), None) => (limit.unwrap_or(MAX_WINDOW_BITS), false),
    };
    Some(Deflate {
        server_no_context_takeover: offer.server_no_context_takeover || policy.server_no_context_takeover,
        client_no_context_takeover: offer.client_no_context_takeover || policy.client_no_context_takeover,
        server_max_window_bits: server_window,
        client_max_window_bits: client_window,
        announce_server_window: offer.server_max_window_bits.is_some() || server_window < MAX_WINDOW_BITS,
        announce_client_window,
    })
}

/// What a client offers: one permessage-deflate offer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DeflateOffer {
    /// Ask the server to reset after each message.
    pub server_no_context_takeover: bool,
    /// Promise to reset after each message ourselves (a hint, §7.1.1.2).
    pub client_no_context_takeover: bool,
    /// Ask the server for at most this window (9–15).
    pub server_max_window_bits: Option<u8>,
    /// Let the server choose our window (`client_max_window_bits` without a value).
    pub client_max_window_bits: bool,
}

impl Default for DeflateOffer {
    /// What Chromium offers: `permessage-deflate; client_max_window_bits`.
    fn default() -> DeflateOffer {
        DeflateOffer {
            server_no_context_takeover: false,
            client_no_context_takeover: false,
            server_max_window_bits: None,
            client_max_window_bits: true,
        }
    }
}

impl DeflateOffer {
    /// The `Sec-WebSocket-Extensions` value of the offer.
    pub fn header(&self) -> String {
        let mut value = String::from(PERMESSAGE_DEFLATE);
        if self.server_no_context_takeover {
            value.push_str("; server_no_context_takeover");
        }
        if self.client_no_context_takeover {
            value.push_str("; client_no_context_takeover");
        }
        if let Some(bits) = self.server_max_window_bits {
            value.push_str(&format!("; server_max_window_bits={}", bits.clamp(MIN_WINDOW_BITS, MAX_WINDOW_BITS)));
        }
        if self.client_max_window_bits {
            value.push_str("; client_max_window_bits");
        }
        value
    }

    /// Client: checks the server's `Sec-WebSocket-Extensions` answer (every field, in order)
    /// against this offer (§7.1.x). `Ok(None)`: the server declined. `Err`: an answer the
    /// client did not allow — fail the connection (§5, §7).
    pub fn check_answer<'a>(&self, values: impl Iterator<Item = &'a [u8]>) -> Result<Option<Deflate>, Malformed> {
        let mut agreed = None;
        for element in elements(values) {
            let (name, raw) = element?;
            // Only one extension was offered, and it can be accepted once.
            if !name.eq_ignore_ascii_case(PERMESSAGE_DEFLATE) || agreed.is_some() {
                return Err(Malformed::UnknownParameter);
            }
            agreed = Some(self.check(params(&raw)?)?);
        }
        Ok(agreed)
    }

    /// One accepted offer's parameters, against what we allowed.
    fn check(&self, answer: Params) -> Result<Deflate, Malformed> {
        let asked = self.server_max_window_bits.map(|bits| bits.clamp(MIN_WINDOW_BITS, MAX_WINDOW_BITS));
        let server_window = match (answer.server_max_window_bits, asked) {
            (Some(got), Some(asked)) if got > asked => return Err(Malformed::BadValue),
            (None, Some(_)) => return Err(Malformed::BadValue), // §7.1.2.1: must be answered
            (got, _) => got.unwrap_or(MAX_WINDOW_BITS),
        };
        if self.server_no_context_takeover && !answer.server_no_context_takeover {
            return Err(Malformed::BadValue); // §7.1.1.1: accepting it means naming it
        }
        let client_window = match answer.client_max_window_bits {
            None => MAX_WINDOW_BITS,
            Some(_) if !self.client_max_window_bits => return Err(Malformed::UnknownParameter),
            Some(None) => return Err(Malformed::BadValue), // an answer must give the value
            Some(Some(bits)) => bits,
        };
        Ok(Deflate {
            server_no_context_takeover: answer.server_no_context_takeover,
            // Asked by the server, or promised in our offer (§7.1.1.2: a hint we keep).
            client_no_context_takeover: answer.client_no_context_takeover || self.client_no_context_takeover,
            server_max_window_bits: server_window,
            client_max_window_bits: client_window,
            announce_server_window: answer.server_max_window_bits.is_some(),
            announce_client_window: answer.client_max_window_bits.is_some(),
        })
    }
}

/// An element's name and raw parameters.
type Element<'a> = (&'a str, Vec<(&'a str, Option<String>)>);

/// The elements of every field value, in order (RFC 6455 §9.1's `1#extension`; commas
/// inside a quoted string do not split). Empty list items are skipped (RFC 9110 §5.6.1).
fn elements<'a>(values: impl Iterator<Item = &'a [u8]>) -> impl Iterator<Item = Result<Element<'a>, Malformed>> {
    values.flat_map(|value| match std::str::from_utf8(value) {
        Ok(text) => split_outside_quotes(text, ',')
            .into_iter()
            .filter(|item| !item.trim().is_empty())
            .map(element)
            .collect::<Vec<_>>(),
        Err(_) => vec![Err(Malformed::Syntax)],
    })
}

/// `extension-token *( ";" extension-param )`.
fn element(item: &str) -> Result<Element<'_>, Malformed> {
    let mut parts = split_outside_quotes(item, ';').into_iter().map(str::trim);
    let name = parts.next().filter(|n| is_token(n)).ok_or(Malformed::Syntax)?;
    let mut raw = Vec::new();
    for part in parts {
        let (key, value) = match part.split_once('=') {
            None => (part, None),
            Some((key, value)) => (key.trim_end(), Some(param_value(value.trim_start())?)),
        };
        if !is_token(key) {
            return Err(Malformed::Syntax);
        }
        raw.push((key, value));
    }
    Ok((name, raw))
}

/// `token / quoted-string` (RFC 9110 §5.6.4), unescaped.
fn param_value(raw: &str) -> Result<String, Malformed> {
    if let Some(inner) = raw.strip_prefix('"') {
        let inner = inner.strip_suffix('"').ok_or(Malformed::Syntax)?;
        let mut out = String::new();
        let mut chars = inner.chars();
        while let Some(c) = chars.next() {
            match c {
                '\\' => out.push(chars.next().ok_or(Malformed::Syntax)?),
                '"' => return Err(Malformed::Syntax),
                c => out.push(c),
            }
        }
        // §7.1.2.1: a quoted value must still be a token's worth (a window size).
        return if is_token(&out) { Ok(out) } else { Err(Malformed::Syntax) };
    }
    if is_token(raw) { Ok(raw.to_owned()) } else { Err(Malformed::Syntax) }
}

/// Splits at `sep` where it is not inside a quoted string.
fn split_outside_quotes(text: &str, sep: char) -> Vec<&str> {
    let (mut pieces, mut start, mut quoted, mut escaped) = (Vec::new(), 0, false, false);
    for (i, c) in text.char_indices() {
        match c {
            _ if escaped => escaped = false,
            '\\' if quoted => escaped = true,
            '"' => quoted = !quoted,
            c if c == sep && !quoted => {
                pieces.push(&text[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    pieces.push(&text[start..]);
    pieces
}

/// RFC 9110 §5.6.2 `token`: one or more tchar.
fn is_token(s: &str) -> bool {
    !s.is_empty() && s.bytes().all(|b| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b))
}

#[cfg(test)]
mod tests;
