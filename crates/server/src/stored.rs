//! `POST /ch/{c}` on a node of a cluster: the message goes to the loop that owns the Redis
//! links, and the answer waits — held like a long-poll — until Redis has stored it.
//!
//! ```text
//!  publisher      this loop                        owner loop            Redis
//!    │ POST ────▶ Redis reachable? no ─▶ 503, Retry-After: 1
//!    │            yes: Publish ──mailbox──▶ EVALSHA publish ──────────▶ stored as id N
//!    │            held (deadline: twice --redis-timeout)   ◀── :N
//!    │ ◀── 200 "N" ◀── Answer { Ok(N) } ◀──mailbox──┘
//!    │ ◀── 503 ◀────── Answer { Err } (the links failed, too many waiting) or the deadline
//! ```
//!
//! Never a 200 for a message Redis has not stored. A 503 after the publish went out (the
//! links failed before the reply came) does not say it was not stored: a client that
//! publishes again may store it twice, with two ids.

use talkback_http1::Status;
use talkback_http1::decimal::push_decimal;
use talkback_longpoll::MessageId;
use talkback_reactor::Cx;

use crate::answer::{ReplyTo, respond, respond_try_later};
use crate::cluster::{Cluster, NotStored};
use crate::held::{Finished, Held, Waiting};
use crate::state::LoopCtx;
use crate::stats::Answered;

/// What a `POST` in a cluster came to: answered at once, or held for Redis.
#[derive(Debug)]
pub enum Forwarded {
    /// 503: Redis is unreachable.
    Refused(Answered),
    /// Sent to the owner loop; the answer waits.
    Held(Held),
}

/// Sends `text` to be stored; holds the `POST` until the answer (or refuses it now).
pub fn publish(
    cluster: &Cluster,
    channel: &str,
    text: &str,
    to: ReplyTo,
    requests: u64,
    cx: &mut Cx<'_>,
    state: &LoopCtx,
) -> Forwarded {
    if let Err(why) = cluster.publish(channel, text, Some(cx.id())) {
        return Forwarded::Refused(respond_try_later(cx, state, to, why.reason()));
    }
    state.observer.note(cx.id(), || format!("sent to Redis for channel {channel}; the answer waits"));
    cx.set_deadline(Some(cx.now() + 2 * state.options.redis.timeout));
    Forwarded::Held(Held { waiting: Waiting::Stored, to, requests, since: cx.now() })
}

/// The owner loop's answer arrived: 200 with the id Redis gave, or 503.
pub fn answer(held: &Held, result: Result<MessageId, NotStored>, cx: &mut Cx<'_>, state: &LoopCtx) -> Finished {
    cx.set_deadline(None);
    let answered = match result {
        Ok(id) => {
            state.meter.published();
            state.observer.note(cx.id(), || format!("stored in Redis as id {id}"));
            let mut body = Vec::with_capacity(20);
            push_decimal(&mut body, id);
            respond(cx, state, held.to, Status::OK, &[("Content-Type", b"text/plain")], &body)
        }
        Err(why) => respond_try_later(cx, state, held.to, why.reason()),
    };
    held.finish(answered, cx)
}

/// No answer within twice `--redis-timeout` (the owner's own timeout should have answered
/// first): 503.
pub fn timed_out(held: &Held, cx: &mut Cx<'_>, state: &LoopCtx) -> Finished {
    answer(held, Err(NotStored::Unavailable), cx, state)
}

/// The server is draining: the answer still comes from Redis (or the deadline), and then the
/// connection closes.
pub fn drained(held: &mut Held) {
    held.to = held.to.closing();
}
