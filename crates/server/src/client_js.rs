//! `GET /talkback.js`: the browser client, one ES module embedded in the binary (no build
//! step) and served by every hub binary — `demo`, `sse-echo`, `longpoll-echo`.
//!
//! ```text
//!  page                                         hub
//!    │ import { subscribe } from "/talkback.js" ──▶ 200 text/javascript (this module)
//!    │ subscribe("room") ── /poll (the newest id), then /ws, else /sse, else /longpoll, else /poll
//!    │ ◀──────────── messages with ids; the one cursor resumes on any route
//! ```
//!
//! A page on another origin imports it too: module scripts are fetched in CORS mode, so with
//! `--allow-origin` its answer carries the same CORS fields as the channel routes. What the
//! module decides and why is in its own comments and in `docs/client.md`.

use talkback_http1::Status;
use talkback_reactor::Cx;

use crate::answer::{ReplyTo, respond};
use crate::state::LoopCtx;
use crate::stats::Answered;

/// The module itself.
pub const TALKBACK_JS: &[u8] = include_bytes!("../static/talkback.js");

/// `GET /talkback.js` (and `HEAD`): the module, `text/javascript` (RFC 9239 §6, the one type
/// a module script needs), revalidated on every load so a page never runs a stale client
/// against a newer hub.
pub fn answer(to: ReplyTo, cx: &mut Cx<'_>, state: &LoopCtx) -> Answered {
    let headers: [(&str, &[u8]); 2] =
        [("Content-Type", b"text/javascript; charset=utf-8"), ("Cache-Control", b"no-cache")];
    respond(cx, state, to, Status::OK, &headers, TALKBACK_JS)
}
