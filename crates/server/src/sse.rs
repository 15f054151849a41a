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
//!    │ ◀──────────────────── retry: 1000\n\n, then EOF   (the server draining)
//! ```

use std::sync::Arc;

use talkback_http1::Request;
use talkback_http1::decimal::parse_decimal;
use talkback_longpoll::{ChannelQuery, MessageId};
use talkback_reactor::{ConnId, Cx};

use crate::answer::{Pushed, ReplyTo, respond_try_later, respond_with};
use crate::hub::{Encoded, TooManyChannels};
use crate::meters::Delivered;
use crate::options::DRAIN_RETRY_AFTER;
use crate::state::LoopCtx;
use crate::stats::Answered;

/// An open event stream.
#[derive(Debug)]
pub struct SseConn {
    channel: Arc<str>,
    /// The id of the last event written to this stream (messages at or below it are skipped).
    last_sent: MessageId,
}

/// Opens the stream: head, replay after `Last-Event-ID` (or `?lastEventId=`), subscription —
/// or 503 (the connection stays HTTP) when the channel is new and there are `--max-channels`
/// already.
pub fn open(
    channel: &str,
    query: &ChannelQuery,
    request: &Request,
    to: ReplyTo,
    cx: &mut Cx<'_>,
    state: &mut LoopCtx,
) -> Result<SseConn, Answered> {
    let resume = request
        .header("last-event-id")
        .and_then(|value| parse_decimal(value.trim_ascii()).ok())
        .or(query.last_event_id);
    let Ok(subscription) = state.hub.subscribe(channel, cx.id(), resume) else {
        return Err(respond_try_later(cx, state, to, TooManyChannels::REASON));
    };
    respond_with(cx, state, |out, state| {
        let mut fields: [(&str, &[u8]); 4] = [("Date", state.date.value()), ("", b""), ("", b""), ("", b"")];
        let mut count = 1;
        for field in to.cors_fields(&state.guard) {
            fields[count] = field;
            count += 1;
        }
        let _ = talkback_sse::encode_stream_head(&fields[..count], out);
    });
    let (replay, last_sent) = (&subscription.replay, subscription.last_sent);
    match (replay.missed, replay.messages.is_empty()) {
        (0, _) => {}
        // The budget took everything after the cursor: the notice carries the newest id, so
        // the browser does not ask for the same gap when it reconnects.
        (missed, true) => cx.with_output(|out| talkback_sse::encode_missed_through(missed, last_sent, out)),
        (missed, false) => cx.with_output(|out| talkback_sse::encode_missed(missed, out)),
    }
    for message in &replay.messages {
        cx.write_shared(Arc::clone(message.sse()));
    }
    state.meter.delivered(Delivered::Sse, replay.messages.len() as u64);
    let channel = subscription.channel;
    state.observer.note(cx.id(), || format!("SSE stream open on {channel}, resuming after id {last_sent}"));
    cx.set_deadline(Some(cx.now() + state.options.heartbeat));
    Ok(SseConn { channel, last_sent })
}

impl SseConn {
    /// A client has nothing to say on an event stream; what it sends is read and dropped.
    pub fn on_input(&mut self, input: &[u8]) -> usize {
        input.len()
    }

    /// Silence for a heartbeat interval: send a comment, so proxies keep the stream and a
    /// dead peer is found by the write.
    pub fn on_deadline(&mut self, cx: &mut Cx<'_>, state: &LoopCtx) {
        let id = cx.id();
        cx.with_output(|out| {
            let start = out.len();
            talkback_sse::encode_comment("heartbeat", out);
            state.observer.payload(id, false, "SSE comment (keeps proxies from timing out)", &out[start..]);
        });
        cx.set_deadline(Some(cx.now() + state.options.heartbeat));
    }

    /// A message for the channel: share its SSE bytes, unless the replay already sent it.
    pub fn push<'m>(&mut self, message: &'m Encoded, cx: &mut Cx<'_>, state: &LoopCtx) -> Pushed<'m> {
        if message.id <= self.last_sent {
            return Pushed::Skipped;
        }
        if message.id > self.last_sent + 1 {
            // Only in a cluster, after Redis lost messages this node never saw (one process
            // sends every id in turn): told like a late reader.
            cx.with_output(|out| talkback_sse::encode_missed(message.id - self.last_sent - 1, out));
        }
        self.last_sent = message.id;
        cx.write_shared(Arc::clone(message.sse()));
        cx.set_deadline(Some(cx.now() + state.options.heartbeat));
        Pushed::Sent { bytes: message.sse(), what: "SSE event" }
    }

    /// The server is draining: end the stream cleanly. A last block sets the reconnection
    /// time (WHATWG, "Parsing an event stream": a `retry` field whose value is digits sets the
    /// event stream's reconnection time), then the response ends; EventSource reconnects after
    /// that delay, with `Last-Event-ID`, to whichever server answers then.
    pub fn drain(&mut self, cx: &mut Cx<'_>, state: &LoopCtx) {
        let id = cx.id();
        cx.with_output(|out| {
            let start = out.len();
            talkback_sse::encode_retry(DRAIN_RETRY_AFTER.as_millis() as u64, out);
            state.observer.payload(id, false, "SSE retry hint (draining: reconnect elsewhere)", &out[start..]);
        });
        cx.close();
    }

    /// The stream is gone: unsubscribe.
    pub fn on_closed(&mut self, id: ConnId, state: &mut LoopCtx) {
        state.hub.unsubscribe(&self.channel, id);
    }
}
