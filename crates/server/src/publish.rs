//! `POST /ch/{c}`: publish a message, answer with its id — at once, or once the loops have
//! caught up with the publishers (backpressure, so a burst of publishes cannot queue seconds
//! of fan-out behind it).
//!
//! ```text
//!  publisher        loop A (its POST)                    loop B (delivering)
//!    │ POST ──────▶ publish id N; backlog 3 > max-ahead 2
//!    │              hold the answer (hub: waiting += me) ──▶ ...delivers N-1: backlog 2
//!    │                                                       hub: loop A waits ──▶ CaughtUp to A
//!    │ ◀────── 200 "N" ◀── CaughtUp (or --max-publish-wait): answer every held POST
//!    │                     (or the server draining: 200 "N" at once, Connection: close)
//! ```

use talkback_http1::Status;
use talkback_http1::decimal::push_decimal;
use talkback_longpoll::MessageId;
use talkback_reactor::Cx;

use crate::answer::{ReplyTo, respond, respond_reason, respond_try_later};
use crate::held::{Finished, Held, Waiting};
use crate::hub::TooManyChannels;
use crate::state::LoopCtx;
use crate::stats::Answered;
use crate::stored::{self, Forwarded};

/// A `POST` answered now, or held until the loops catch up.
#[derive(Debug)]
pub enum Published {
    /// Answered (200 with the id, or a refusal).
    Answered(Answered),
    /// Published; the answer waits.
    Held(Held),
}

/// `POST /ch/{c}`: 200 with the new id; 400 when the body is not UTF-8; 503 when the channel
/// is new and there are `--max-channels` already. (The budget of retained history never
/// refuses a publish: it evicts the oldest messages instead.)
pub fn publish(
    channel: &str,
    body: &[u8],
    to: ReplyTo,
    requests: u64,
    cx: &mut Cx<'_>,
    state: &mut LoopCtx,
) -> Published {
    let Ok(text) = std::str::from_utf8(body) else {
        return Published::Answered(respond_reason(cx, state, to, Status::BAD_REQUEST, b"message is not UTF-8 text\n"));
    };
    if let Some(cluster) = &state.cluster {
        // A node of a cluster: Redis gives the id (see `stored.rs`).
        return match stored::publish(cluster, channel, text, to, requests, cx, state) {
            Forwarded::Refused(answered) => Published::Answered(answered),
            Forwarded::Held(held) => Published::Held(held),
        };
    }
    let Ok(id) = state.hub.publish(channel, text) else {
        return Published::Answered(respond_try_later(cx, state, to, TooManyChannels::REASON));
    };
    state.meter.published();
    state.observer.note(cx.id(), || format!("published id {id} to channel {channel}"));
    if state.hub.hold_answer(cx.id()) {
        let backlog = state.hub.shared().backlog();
        state.observer.note(cx.id(), || format!("answer held: {backlog} broadcasts not yet delivered by every loop"));
        cx.set_deadline(Some(cx.now() + state.options.max_publish_wait));
        let held = Held { waiting: Waiting::CatchUp { id }, to, requests, since: cx.now() };
        return Published::Held(held);
    }
    Published::Answered(answer_id(id, to, cx, state))
}

/// The loops caught up, or `--max-publish-wait` passed (`timed_out`): answer the held `POST`.
pub fn answer_held(held: &Held, id: MessageId, timed_out: bool, cx: &mut Cx<'_>, state: &mut LoopCtx) -> Finished {
    if timed_out {
        state.hub.forget_waiting(cx.id());
    }
    cx.set_deadline(None);
    let answered = answer_id(id, held.to, cx, state);
    held.finish(answered, cx)
}

/// The server is draining: the message is published, so the held `POST` gets its 200 with
/// the id now — with `Connection: close`.
pub fn answer_drained(held: &Held, id: MessageId, cx: &mut Cx<'_>, state: &mut LoopCtx) -> Finished {
    state.hub.forget_waiting(cx.id());
    cx.set_deadline(None);
    state.observer.note(cx.id(), || format!("draining: the held POST of id {id} is answered now, then close"));
    let answered = answer_id(id, held.to.closing(), cx, state);
    held.finish_closing(answered, cx)
}

fn answer_id(id: MessageId, to: ReplyTo, cx: &mut Cx<'_>, state: &LoopCtx) -> Answered {
    let mut body = Vec::with_capacity(20);
    push_decimal(&mut body, id);
    respond(cx, state, to, Status::OK, &[("Content-Type", b"text/plain")], &body)
}
