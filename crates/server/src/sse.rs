//! Server-Sent Events: one response that never ends, carrying `id:`/`data:` events.
//!
//! ```text
//!  client                                   hub (this loop)
//!    │ GET /ch/c/sse  [Last-Event-ID: 7] ──▶ 200 text/event-stream (no length: until close)
//!    │ ◀────────── [event: missed] + replay of ids > 7 from the channel log
//!    │                     ... publish id N ─▶ Broadcast → write_shared(the SSE bytes of N)
//!    │ ◀──────────────────── id: N\ndata: …\n\n
//!    │ ◀──────────────────── : heartbeat\n\n   (every 15 s of silence)
//!    │ (disconnect) ── EventSource reconnects with Last-Event-ID: N
//! ```

use std::sync::Arc;

use talkback_http1::Request;
use talkback_longpoll::{ChannelQuery, MessageId, parse_decimal};
use talkback_reactor::{ConnId, Cx};

use crate::conn::Conn;
use crate::http::respond_with;
use crate::hub::{Encoded, lock, push_shared};
use crate::state::LoopCtx;
use crate::stats::Accounting;

/// An open event stream.
#[derive(Debug)]
pub struct SseConn {
    channel: Arc<str>,
    /// The id of the last event written to this stream (messages at or below it are skipped).
    pub(crate) last_sent: MessageId,
    /// The demo page's accounting tag and byte marks, when the request carried one.
    pub(crate) accounting: Accounting,
}

/// Opens the stream: head, replay after `Last-Event-ID` (or `?lastEventId=`), subscription.
pub(crate) fn open(
    channel: &str,
    query: &ChannelQuery,
    request: &Request,
    cx: &mut Cx<'_>,
    state: &mut LoopCtx,
) -> Conn {
    let resume = request
        .header("last-event-id")
        .and_then(|value| parse_decimal(value.trim_ascii()).ok())
        .or(query.last_event_id);
    let (key, shared) = state.hub.shared.channel(channel);
    respond_with(cx, state, |out, state| {
        let _ = talkback_sse::encode_stream_head_with_date(state.date.value(), out);
    });
    let last_sent = {
        let channel = lock(&shared);
        match resume {
            None => channel.log.last_id(),
            Some(cursor) => {
                let batch = channel.log.after(cursor);
                if batch.missed() > 0 {
                    cx.with_output(|out| talkback_sse::encode_missed(batch.missed(), out));
                }
                for (_, message) in batch.iter() {
                    cx.write_shared(Arc::clone(&message.sse));
                }
                batch.last_id().unwrap_or(cursor)
            }
        }
    };
    if let Some(tracer) = &state.tracer {
        tracer.note(cx.id(), &format!("SSE stream open on {key}, resuming after id {last_sent}"));
    }
    state.hub.local_channel(&key).subscribers.push(cx.id());
    cx.set_deadline(Some(cx.now() + state.options.heartbeat));
    Conn::Sse(SseConn { channel: key, last_sent, accounting: None })
}

impl SseConn {
    /// A client has nothing to say on an event stream; what it sends is read and dropped.
    pub(crate) fn on_input(&mut self, input: &[u8], _cx: &mut Cx<'_>, _state: &mut LoopCtx) -> usize {
        input.len()
    }

    /// Silence for a heartbeat interval: send a comment, so proxies keep the stream and a
    /// dead peer is found by the write.
    pub(crate) fn on_deadline(&mut self, cx: &mut Cx<'_>, state: &mut LoopCtx) {
        cx.write(b": heartbeat\n\n");
        if let Some(tracer) = &state.tracer {
            tracer.note(cx.id(), "<- SSE comment \": heartbeat\" (keeps proxies from timing out)");
        }
        cx.set_deadline(Some(cx.now() + state.options.heartbeat));
    }

    /// A message for the channel: share its SSE bytes. Returns whether to stay subscribed.
    pub(crate) fn push(&mut self, message: &Encoded, cx: &mut Cx<'_>, state: &LoopCtx) -> bool {
        if message.id <= self.last_sent {
            return true; // already sent in the replay
        }
        self.last_sent = message.id;
        if !push_shared(&message.sse, "SSE event", &mut self.accounting, cx, state) {
            return false;
        }
        cx.set_deadline(Some(cx.now() + state.options.heartbeat));
        true
    }

    /// The stream is gone: unsubscribe.
    pub(crate) fn on_closed(&mut self, id: ConnId, state: &mut LoopCtx) {
        if let Some(local) = state.hub.local.get_mut(&self.channel) {
            local.subscribers.retain(|&s| s != id);
        }
    }
}
