//! Short polling (`/poll`: answer at once) and long polling (`/longpoll`: hold the request
//! until a message newer than the cursor exists, or the hold time passes).
//!
//! ```text
//!  client                                   hub (this loop)
//!    │ GET /ch/c/longpoll?after=7 ─────────▶ log.last_id() > 7 ? answer now (200 + batch)
//!    │                                       else park {conn, cursor 7}, deadline = now + hold
//!    │                    ... publish id 8 ─▶ Broadcast → release every parked cursor < 8
//!    │ ◀──────── 200 [{"id":8,"data":"…"}] ─ back to HTTP: the next request may follow
//!    │      (or, at the deadline) ◀── 204 ─ "nothing new; ask again"
//! ```

use std::sync::Arc;

use talkback_http1::{Method, Request, ResponseHead, Status, Version};
use talkback_longpoll::{Batch, CONTENT_TYPE, ChannelQuery, MISSED_HEADER, hold_duration};
use talkback_reactor::{ConnId, Connections, Cx};

use crate::conn::Conn;
use crate::http::{HttpConn, respond, respond_with};
use crate::hub::{Encoded, lock};
use crate::state::LoopCtx;
use crate::stats::{Accounting, Counters, Marks};

/// How long a long-poll is held when the client names no `timeout` (DESIGN.md: 30 s).
const DEFAULT_HOLD: std::time::Duration = std::time::Duration::from_secs(30);

/// A long-poll request waiting on this loop. It keeps only what its answer needs.
#[derive(Debug)]
pub struct ParkedConn {
    channel: Arc<str>,
    version: Version,
    keep_alive: bool,
    /// Requests answered on this connection before (for the stats).
    requests: u64,
    parked_at: std::time::Instant,
    /// The demo page's accounting tag and byte marks, when the request carried one.
    pub(crate) accounting: Accounting,
}

/// `GET /ch/{c}/poll?after=N`: 200 with the retained messages after N (all without `after`),
/// 204 when there are none.
pub(crate) fn answer_poll(
    channel: &str,
    query: &ChannelQuery,
    request: &Request,
    cx: &mut Cx<'_>,
    state: &mut LoopCtx,
) {
    let (_, shared) = state.hub.shared.channel(channel);
    let channel = lock(&shared);
    let batch = channel.log.after(query.after.unwrap_or(0));
    answer_batch(batch, request, cx, state);
}

/// Writes 200 + JSON array (with `Talkback-Missed` when the cursor was too old) or 204.
fn answer_batch(batch: Batch<'_, Arc<Encoded>>, request: &Request, cx: &mut Cx<'_>, state: &LoopCtx) {
    answer_messages(batch.missed(), || batch.iter().map(|(_, m)| &**m), request, cx, state);
}

/// [`answer_batch`] for messages already taken out of the log (no channel lock held).
/// `messages` is called twice: once to size the body, once to write it.
fn answer_messages<'m, I: Iterator<Item = &'m Encoded>>(
    missed: u64,
    messages: impl Fn() -> I,
    request: &Request,
    cx: &mut Cx<'_>,
    state: &LoopCtx,
) {
    let count = messages().count();
    if count == 0 {
        respond(cx, state, request, Status::NO_CONTENT, &[], b"");
        return;
    }
    let missed_value = missed.to_string();
    state.last_answer.set((200, count as u64));
    respond_with(cx, state, |out, state| {
        let body_len = 2 + messages().map(|m| m.json.len() + 1).sum::<usize>() - 1;
        let mut head = ResponseHead::new(Status::OK)
            .connection_for(request)
            .header("Content-Type", CONTENT_TYPE.as_bytes())
            .header("Cache-Control", b"no-store");
        if missed > 0 {
            head = head.header(MISSED_HEADER, missed_value.as_bytes());
        }
        head.content_length(body_len as u64).encode(&state.date, out);
        if request.method == Method::Head {
            return;
        }
        out.push(b'[');
        for (i, message) in messages().enumerate() {
            if i > 0 {
                out.push(b',');
            }
            out.extend_from_slice(&message.json);
        }
        out.push(b']');
    });
}

/// `GET /ch/{c}/longpoll?after=N&timeout=S`: answer now if there is news, else park.
pub(crate) fn answer_longpoll(
    channel: &str,
    query: &ChannelQuery,
    request: &Request,
    requests: u64,
    cx: &mut Cx<'_>,
    state: &mut LoopCtx,
) -> Option<Conn> {
    let (key, shared) = state.hub.shared.channel(channel);
    let hold = hold_duration(query.timeout, DEFAULT_HOLD, state.options.max_hold);
    let cursor = {
        let channel = lock(&shared);
        let cursor = query.after.unwrap_or(channel.log.last_id());
        let batch = channel.log.after(cursor);
        if !batch.is_empty() || hold.is_zero() {
            answer_batch(batch, request, cx, state);
            return None;
        }
        cursor
    };
    let deadline = cx.now() + hold;
    state.hub.local_channel(&key).parked.park(cx.id(), cursor, deadline);
    cx.set_deadline(Some(deadline));
    if let Some(tracer) = &state.tracer {
        tracer.note(cx.id(), &format!("parked on {key} after id {cursor}, held up to {} s", hold.as_secs()));
    }
    let parked = ParkedConn {
        channel: key,
        version: request.version,
        keep_alive: request.keep_alive,
        requests,
        parked_at: cx.now(),
        accounting: None,
    };
    Some(Conn::Parked(parked))
}

impl ParkedConn {
    /// A minimal request standing for the parked one, for choosing `Connection` headers.
    fn request(&self) -> Request {
        let mut request = Request::new(Method::Get, String::new(), self.version);
        request.keep_alive = self.keep_alive;
        request
    }

    /// Bytes arriving while parked (a pipelined request) are kept for later, up to a bound.
    pub(crate) fn on_input(&mut self, input: &[u8], cx: &mut Cx<'_>, state: &mut LoopCtx) -> usize {
        if input.len() > state.options.http.max_head {
            cx.abort(); // pipelining a flood behind a parked request
            return input.len();
        }
        0
    }

    /// The hold time passed: 204, and back to HTTP.
    pub(crate) fn on_deadline(&mut self, cx: &mut Cx<'_>, state: &mut LoopCtx) -> Conn {
        if let Some(local) = state.hub.local.get_mut(&self.channel) {
            local.parked.remove(cx.id());
        }
        if let Some(tracer) = &state.tracer {
            let held = cx.now().duration_since(self.parked_at);
            tracer.note(cx.id(), &format!("hold ended after {:.1} s with nothing new: 204", held.as_secs_f64()));
        }
        let request = self.request();
        respond(cx, state, &request, Status::NO_CONTENT, &[], b"");
        self.back_to_http(&request, cx, state)
    }

    /// Released by a publish: answer with the batch after the cursor.
    fn on_release(&mut self, missed: u64, batch: &[Arc<Encoded>], cx: &mut Cx<'_>, state: &LoopCtx) -> Conn {
        if let Some(tracer) = &state.tracer {
            let held = cx.now().duration_since(self.parked_at);
            tracer
                .note(cx.id(), &format!("released after {:.3} s with {} message(s)", held.as_secs_f64(), batch.len()));
        }
        let request = self.request();
        answer_messages(missed, || batch.iter().map(|m| &**m), &request, cx, state);
        self.back_to_http(&request, cx, state)
    }

    fn back_to_http(&mut self, request: &Request, cx: &mut Cx<'_>, state: &LoopCtx) -> Conn {
        if let Some(tagged) = self.accounting.take() {
            let (tag, mut marks) = *tagged;
            let (bytes_in, bytes_out) = marks.advance(Marks { read: cx.bytes_read(), queued: cx.bytes_queued() });
            let (status, messages) = state.last_answer.get();
            let empty = u64::from(status == 204);
            state.stats.add(&tag, Counters { requests: 1, empty, messages, bytes_in, bytes_out });
        }
        if !request.keep_alive {
            cx.close();
            return Conn::Done;
        }
        cx.replay_input(); // a pipelined request may be waiting
        Conn::Http(Box::new(HttpConn::resumed(state, cx, self.requests + 1)))
    }

    /// The connection is gone: free its parking slot at once.
    pub(crate) fn on_closed(&mut self, id: ConnId, state: &mut LoopCtx) {
        if let Some(local) = state.hub.local.get_mut(&self.channel) {
            local.parked.remove(id);
        }
    }
}

/// A message arrived on `channel`: every parked request whose cursor is older gets its batch.
///
/// The batches are taken out of the log (shared references) and the channel lock is dropped
/// before any request is answered: answering returns the connection to HTTP and runs a
/// pipelined request at once, which may lock the same channel again (a poll, a long-poll, a
/// publish) — with the lock still held, the loop would deadlock on itself.
pub(crate) fn release(state: &mut LoopCtx, channel: &Arc<str>, conns: &mut Connections<Conn>) {
    let (_, shared) = state.hub.shared.channel(channel);
    let released: Vec<(ConnId, u64, Vec<Arc<Encoded>>)> = {
        let guard = lock(&shared);
        let Some(local) = state.hub.local.get_mut(channel) else { return };
        local
            .parked
            .release(&guard.log)
            .map(|(id, batch)| (id, batch.missed(), batch.iter().map(|(_, m)| Arc::clone(m)).collect()))
            .collect()
    };
    for (id, missed, batch) in released {
        conns.with(id, state, |conn, cx, state| {
            let next = match conn {
                Conn::Parked(parked) => parked.on_release(missed, &batch, cx, state),
                _ => return,
            };
            *conn = next;
        });
    }
}
