//! Short polling (`/poll`: answer at once) and long polling (`/longpoll`: hold the request
//! until a message newer than the cursor exists, or the hold time passes).
//!
//! ```text
//!  client                                   hub (this loop)
//!    │ GET /ch/c/longpoll?after=7 ─────────▶ hub.long_poll: last id > 7 ? answer now (200 + batch)
//!    │                                       else parked {conn, cursor 7}; deadline = now + hold
//!    │                    ... publish id 8 ─▶ Broadcast → hub.deliver releases every cursor < 8
//!    │ ◀──────── 200 [{"id":8,"data":"…"}] ─ back to HTTP: the next request may follow
//!    │      (or, at the deadline) ◀── 204 ─ "nothing new; ask again"
//!    │   (or, the server draining) ◀── 503 ─ Retry-After: 1, Connection: close
//! ```
//!
//! The hold deadline has one owner: the connection's reactor timer (the hub's registry keeps
//! only cursors).

use std::sync::Arc;
use std::time::Duration;

use talkback_http1::Status;
use talkback_http1::decimal::push_decimal;
use talkback_longpoll::{
    CONTENT_TYPE, ChannelQuery, JSON_ARRAY_END, JSON_ELEMENT_TAIL, MISSED_HEADER, encode_json_element_head,
    hold_duration, json_array_before, json_array_len_of,
};
use talkback_reactor::{ConnId, Cx};

use crate::answer::{ReplyTo, SHARE_FROM, respond, respond_try_later, respond_with, write_framed};
use crate::held::{Finished, Held, Waiting};
use crate::hub::{Encoded, Json, LongPoll, Messages, TooManyChannels};
use crate::options::DRAIN_RETRY_AFTER;
use crate::state::LoopCtx;
use crate::stats::Answered;

/// How long a long-poll is held when the client names no `timeout` (README, "The hub's URLs": 30 s).
const DEFAULT_HOLD: Duration = Duration::from_secs(30);

/// `GET /ch/{c}/poll?after=N`: 200 with the retained messages after N (all without `after`),
/// 204 when there are none. A poll never makes a channel, so it is never refused.
pub fn answer_poll(channel: &str, query: &ChannelQuery, to: ReplyTo, cx: &mut Cx<'_>, state: &LoopCtx) -> Answered {
    let messages = state.hub.messages_after(channel, query.after.unwrap_or(0));
    answer_messages(&messages, to, cx, state)
}

/// A long-poll answered now, or parked.
#[derive(Debug)]
pub enum Polled {
    /// Answered at once.
    Answered(Answered),
    /// Parked until a message or the hold's end.
    Held(Held),
}

/// `GET /ch/{c}/longpoll?after=N&timeout=S`: answer now if there is news, else park; 503 when
/// the channel is new and there are `--max-channels` already.
pub fn answer_longpoll(
    channel: &str,
    query: &ChannelQuery,
    to: ReplyTo,
    requests: u64,
    cx: &mut Cx<'_>,
    state: &mut LoopCtx,
) -> Polled {
    let hold = hold_duration(query.timeout, DEFAULT_HOLD, state.options.max_hold);
    let (channel, cursor) = match state.hub.long_poll(channel, cx.id(), query.after, hold.is_zero()) {
        Ok(LongPoll::Now(messages)) => {
            // News at once is a delivery like a released hold's: it waits its turn behind the
            // subscribers still being written to, rather than going ahead of them every time
            // it re-asks (see `Cx::queue_behind_pushes`).
            cx.queue_behind_pushes();
            return Polled::Answered(answer_messages(&messages, to, cx, state));
        }
        Ok(LongPoll::Parked { channel, cursor }) => (channel, cursor),
        Err(TooManyChannels) => {
            return Polled::Answered(respond_try_later(cx, state, to, TooManyChannels::REASON));
        }
    };
    cx.set_deadline(Some(cx.now() + hold));
    state.observer.note(cx.id(), || format!("parked on {channel} after id {cursor}, held up to {} s", hold.as_secs()));
    Polled::Held(Held { waiting: Waiting::Message { channel }, to, requests, since: cx.now() })
}

/// A publish released the parked request: answer with the messages after its cursor.
pub fn release(held: &Held, messages: &Messages, cx: &mut Cx<'_>, state: &LoopCtx) -> Finished {
    let waited = cx.now().duration_since(held.since).as_secs_f64();
    let count = messages.messages.len();
    state.observer.note(cx.id(), || format!("released after {waited:.3} s with {count} message(s)"));
    cx.set_deadline(None);
    let answered = answer_messages(messages, held.to, cx, state);
    held.finish(answered, cx)
}

/// The hold time passed with nothing new: 204.
pub fn hold_ended(held: &Held, channel: &str, cx: &mut Cx<'_>, state: &mut LoopCtx) -> Finished {
    state.hub.unpark(channel, cx.id());
    let waited = cx.now().duration_since(held.since).as_secs_f64();
    state.observer.note(cx.id(), || format!("hold ended after {waited:.1} s with nothing new: 204"));
    let answered = respond(cx, state, held.to, Status::NO_CONTENT, &[], b"");
    held.finish(answered, cx)
}

/// The server is draining and nothing new came: 503 Service Unavailable with `Retry-After`
/// (RFC 9110 §15.6.4: the server "is currently unable to handle the request due to a
/// temporary overload or scheduled maintenance"; §10.2.3: how long to wait before asking
/// again), then close — the client's next long-poll reaches whichever server answers then.
pub fn drained(held: &Held, channel: &str, cx: &mut Cx<'_>, state: &mut LoopCtx) -> Finished {
    state.hub.unpark(channel, cx.id());
    cx.set_deadline(None);
    let waited = cx.now().duration_since(held.since).as_secs_f64();
    state.observer.note(cx.id(), || format!("draining after a hold of {waited:.1} s: 503, close"));
    let mut retry = Vec::with_capacity(4);
    push_decimal(&mut retry, DRAIN_RETRY_AFTER.as_secs());
    let headers: [(&str, &[u8]); 2] = [("Content-Type", b"text/plain; charset=utf-8"), ("Retry-After", &retry)];
    let reason = b"the server is shutting down; ask again\n";
    let answered = respond(cx, state, held.to.closing(), Status::SERVICE_UNAVAILABLE, &headers, reason);
    held.finish_closing(answered, cx)
}

/// The connection of a parked request is gone: free its parking slot at once.
pub fn closed(channel: &str, id: ConnId, state: &mut LoopCtx) {
    state.hub.unpark(channel, id);
}

/// 200 + JSON array (with `Talkback-Missed` when the cursor was too old), or 204 when empty
/// (with `Talkback-Missed` too when the budget took everything after the cursor: the client's
/// next cursor is its old one plus that count).
///
/// A batch of short elements is written with the head in one copy; a long element is shared
/// from where the hub keeps it, with its framing written around it.
fn answer_messages(messages: &Messages, to: ReplyTo, cx: &mut Cx<'_>, state: &LoopCtx) -> Answered {
    let mut missed = Vec::new();
    if messages.missed > 0 {
        push_decimal(&mut missed, messages.missed);
    }
    let missed_header: &[(&str, &[u8])] = if missed.is_empty() { &[] } else { &[(MISSED_HEADER, &missed)] };
    if messages.messages.is_empty() {
        return respond(cx, state, to, Status::NO_CONTENT, missed_header, b"");
    }
    let batch = &messages.messages;
    let length = json_array_len_of(batch.iter().map(|m| m.json_len()));
    let shared = !to.head_only && batch.iter().any(|m| is_long(m));
    respond_with(cx, state, |out, state| {
        let head = to.head(Status::OK, &state.guard).header("Content-Type", CONTENT_TYPE.as_bytes());
        let head = head.header("Cache-Control", b"no-store").fields(missed_header);
        head.content_length(length as u64).encode(&state.date, out);
        if !to.head_only && !shared {
            for (i, message) in batch.iter().enumerate() {
                out.extend_from_slice(json_array_before(i));
                message.encode_json(out);
            }
            out.extend_from_slice(JSON_ARRAY_END);
        }
    });
    if shared {
        write_batch_shared(batch, cx, state);
    }
    Answered { status: 200, messages: batch.len() as u64 }
}

/// Whether a message's element is long enough to be queued from where the hub keeps it (its
/// text inside the SSE event, or its escaped element) instead of copied into the answer.
fn is_long(message: &Encoded) -> bool {
    message.json_len() >= SHARE_FROM
}

/// The body `[e1,e2,…]` with long elements shared: a short element copied whole; a long one's
/// framing copied around its text, shared; a long escaped element shared whole.
fn write_batch_shared(batch: &[Arc<Encoded>], cx: &mut Cx<'_>, state: &LoopCtx) {
    let id = cx.id();
    for (i, message) in batch.iter().enumerate() {
        let opening = json_array_before(i);
        match message.json() {
            _ if !is_long(message) => cx.with_output(|out| {
                let start = out.len();
                out.extend_from_slice(opening);
                message.encode_json(out);
                state.observer.payload(id, false, "response body: element", &out[start..]);
            }),
            Json::Framed => {
                let (bytes, range) = message.text();
                let head = |out: &mut Vec<u8>| {
                    out.extend_from_slice(opening);
                    encode_json_element_head(message.id, out);
                };
                write_framed(cx, head, bytes, range, JSON_ELEMENT_TAIL);
                let text = message.text_bytes();
                state.observer.payload(id, false, "response body: element around its text (shared)", text);
            }
            Json::Escaped(element) => {
                cx.write(opening);
                cx.write_shared(Arc::clone(element));
                state.observer.payload(id, false, "response body: escaped element (shared)", element);
            }
        }
    }
    cx.write(JSON_ARRAY_END);
}
