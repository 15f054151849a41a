//! The answering layer: every HTTP response the server writes goes through [`respond_with`],
//! which traces it, and every responder returns what it answered ([`Answered`]) for the
//! accounting — no side channel.

use std::ops::Range;
use std::sync::Arc;

use talkback_http1::{Method, Request, ResponseHead, Status, Version};
use talkback_reactor::Cx;

use crate::guard::Guard;
use crate::state::LoopCtx;
use crate::stats::Answered;

/// What an answer needs to know of its request: how the connection goes on after it, and
/// whether a body may be sent. Small and `Copy`, so a held request keeps it instead of the
/// whole request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReplyTo {
    /// The request's HTTP version (an HTTP/1.0 keep-alive needs `Connection: keep-alive`).
    pub version: Version,
    /// Whether the connection stays open after the answer (RFC 9112 §9.3).
    pub keep_alive: bool,
    /// A `HEAD` request: the head only (RFC 9110 §9.3.2).
    pub head_only: bool,
    /// The CORS fields its answers carry (the routes decide, from what the guard read).
    pub cors: Cors,
}

/// The hub's own response fields a cross-origin page may read: how many messages it missed,
/// when to ask again after a 503, and why a publish got 401.
const EXPOSE_HEADERS: &[u8] = b"Talkback-Missed, Retry-After, WWW-Authenticate";

/// The CORS fields of an answer ([Fetch, "HTTP responses"](https://fetch.spec.whatwg.org/#http-responses)).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cors {
    /// None: no `--allow-origin`, or a resource that is not read cross-origin.
    Off,
    /// `Vary: Origin` only: the answer would differ for another origin (caches must know), but
    /// this one is not listed — or it is the hub's own page, which needs no CORS.
    Vary,
    /// `Access-Control-Allow-Origin` for the guard's listed origin `n`, and `Vary: Origin`.
    Allow(u16),
}

impl ReplyTo {
    /// The reply settings of `request`.
    pub fn of(request: &Request) -> ReplyTo {
        ReplyTo {
            version: request.version,
            keep_alive: request.keep_alive,
            head_only: request.method == Method::Head,
            cors: Cors::Off,
        }
    }

    /// The same, with the CORS fields `cors`.
    pub fn with_cors(self, cors: Cors) -> ReplyTo {
        ReplyTo { cors, ..self }
    }

    /// The CORS fields of its answers (none, `Vary` alone, or the allowed origin, the fields
    /// it may read and `Vary`), the origin `guard`'s.
    pub fn cors_fields<'a>(&self, guard: &'a Guard) -> impl Iterator<Item = (&'static str, &'a [u8])> {
        let allow = match self.cors {
            Cors::Allow(n) => Some(("Access-Control-Allow-Origin", guard.allowed_origin(n))),
            Cors::Off | Cors::Vary => None,
        };
        // A page reads only the CORS-safelisted response fields unless told otherwise.
        let expose = allow.is_some().then_some(("Access-Control-Expose-Headers", EXPOSE_HEADERS));
        let vary = (self.cors != Cors::Off).then_some(("Vary", &b"Origin"[..]));
        allow.into_iter().chain(expose).chain(vary)
    }

    /// The same, but the connection closes after the answer.
    pub fn closing(self) -> ReplyTo {
        ReplyTo { keep_alive: false, ..self }
    }

    /// A response head for `status` with the `Connection` fields this request needs, and its
    /// CORS fields (the allowed origin `guard`'s).
    pub fn head<'a>(&self, status: Status, guard: &'a Guard) -> ResponseHead<'a> {
        let http10 = self.version == Version::Http10;
        let mut head = ResponseHead::new(status).close(!self.keep_alive).keep_alive(http10 && self.keep_alive);
        for (name, value) in self.cors_fields(guard) {
            head = head.header(name, value);
        }
        head
    }
}

/// Encodes a response into the connection's output and traces what was written.
pub fn respond_with(cx: &mut Cx<'_>, state: &LoopCtx, encode: impl FnOnce(&mut Vec<u8>, &LoopCtx)) {
    let id = cx.id();
    cx.with_output(|out| {
        let start = out.len();
        encode(out, state);
        state.observer.written(id, &out[start..]);
    });
}

/// A whole response with a `Content-Length` body and `Connection` set for the request (no
/// body bytes for `HEAD`, nor for a status that forbids them).
pub fn respond(
    cx: &mut Cx<'_>,
    state: &LoopCtx,
    to: ReplyTo,
    status: Status,
    headers: &[(&str, &[u8])],
    body: &[u8],
) -> Answered {
    respond_with(cx, state, |out, state| {
        to.head(status, &state.guard).fields(headers).content_length(body.len() as u64).encode(&state.date, out);
        if !to.head_only && !status.forbids_framing() {
            out.extend_from_slice(body);
        }
    });
    Answered { status: status.code(), messages: 0 }
}

/// A refusal: its status and a one-line reason as `text/plain`.
pub fn respond_reason(cx: &mut Cx<'_>, state: &LoopCtx, to: ReplyTo, status: Status, text: &[u8]) -> Answered {
    respond(cx, state, to, status, &[("Content-Type", b"text/plain; charset=utf-8")], text)
}

/// 503 with `Retry-After: 1` and a one-line reason: a limit that frees up by itself (the hub's
/// channel cap: channels nobody uses are freed), so the client may simply ask again.
pub fn respond_try_later(cx: &mut Cx<'_>, state: &LoopCtx, to: ReplyTo, reason: &[u8]) -> Answered {
    let headers: [(&str, &[u8]); 2] = [("Content-Type", b"text/plain; charset=utf-8"), ("Retry-After", b"1")];
    respond(cx, state, to, Status::SERVICE_UNAVAILABLE, &headers, reason)
}

/// Texts at least this long are queued as a shared slice of the bytes they are kept in;
/// shorter ones are copied into the connection's own output with their framing (a copy of a
/// few hundred bytes is cheaper than one more slice of the vectored write, and keeps one slice
/// per message for small ones).
pub const SHARE_FROM: usize = 1024;

/// Queues `head`, the text `bytes[range]`, then `tail`: all copied into the connection's
/// output when the text is short, else the text shared between the two (no copy).
pub fn write_framed(
    cx: &mut Cx<'_>,
    head: impl FnOnce(&mut Vec<u8>),
    bytes: &Arc<[u8]>,
    range: Range<usize>,
    tail: &[u8],
) {
    if range.len() < SHARE_FROM {
        cx.with_output(|out| {
            head(out);
            out.extend_from_slice(&bytes[range]);
            out.extend_from_slice(tail);
        });
        return;
    }
    cx.with_small_output(head);
    cx.write_shared_slice(Arc::clone(bytes), range);
    cx.write(tail);
}

/// What pushing a channel message did to a subscriber.
#[derive(Debug, Clone, Copy)]
pub enum Pushed<'m> {
    /// The message was queued (`what` names `bytes` for the trace).
    Sent {
        /// The message's bytes for this transport (or their part after its framing).
        bytes: &'m [u8],
        /// What they are, e.g. "SSE event".
        what: &'static str,
    },
    /// Already sent (in the replay at subscribe time).
    Skipped,
    /// The subscriber can take no more (a WebSocket that is closing): unsubscribe it.
    Ended,
}
