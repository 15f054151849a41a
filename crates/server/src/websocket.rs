//! A connection upgraded to a WebSocket: the handshake answer, then frames both ways.
//!
//! ```text
//!  client                                         server
//!    │ GET /ch/c/ws  Upgrade: websocket ────────▶ handshake::accept (RFC 6455 §4.2.1)
//!    │ ◀──────── 101 Switching Protocols ──────── Sec-WebSocket-Accept (§4.2.2)
//!    │ masked text frame ───────────────────────▶ echo it (ws-echo) / publish it (hub)
//!    │ ◀──────────────── unmasked text frame ──── (the hub's frame is encoded once, shared)
//!    │ close 1000 ──────────────────────────────▶ reply close 1000, then close TCP (§7.1.1)
//! ```

use std::sync::Arc;

use talkback_http1::Request;
use talkback_longpoll::MessageId;
use talkback_reactor::{ConnId, Cx};
use talkback_ws::handshake::{self, ServerPolicy};
use talkback_ws::{Config, Connection, Event, FrameHeader, OpCode, Role, encode_frame};

use crate::conn::Conn;
use crate::http::respond_with;
use crate::hub::{Encoded, lock, push_shared};
use crate::state::LoopCtx;
use crate::stats::{Accounting, account};

/// Echoes at least this long are queued from their own buffer instead of copied into the
/// output (below it, one copy into a shared output buffer is cheaper than a chunk of its own).
const ZERO_COPY_ECHO: usize = 16 * 1024;

/// The largest message buffer a loop keeps as a spare (at most `talkback_ws::MAX_SPARES` of them).
const MAX_SPARE: usize = 1 << 20;

/// An open WebSocket: the protocol state plus, for the hub, its channel.
#[derive(Debug)]
pub struct WsConn {
    ws: Connection,
    /// The hub channel (`None` for ws-echo).
    channel: Option<Arc<str>>,
    /// The id of the last channel message sent on this socket.
    last_sent: MessageId,
    /// The demo page's accounting tag and byte marks, when the request carried one.
    pub(crate) accounting: Accounting,
}

/// Answers an upgrade request: 101 and a WebSocket, or the handshake's refusal and close.
pub(crate) fn upgrade(request: &Request, channel: Option<&str>, cx: &mut Cx<'_>, state: &mut LoopCtx) -> Option<Conn> {
    let accepted = match handshake::accept(request, &ServerPolicy::default()) {
        Ok(accepted) => accepted,
        Err(refusal) => {
            if let Some(tracer) = &state.tracer {
                tracer.note(cx.id(), &format!("!! handshake refused: {refusal:?} -> {}", refusal.status()));
            }
            respond_with(cx, state, |out, _| refusal.encode_response(out));
            cx.close();
            return Some(Conn::Done);
        }
    };
    respond_with(cx, state, |out, _| accepted.encode_response(out));
    let options = &state.options;
    let config = Config {
        max_frame_size: options.max_frame.unwrap_or(options.max_message),
        max_message_size: options.max_message,
        ping_interval: options.ping_interval,
        pong_timeout: options.pong_timeout,
        ..Config::default()
    };
    let mut ws = Connection::new(Role::Server, config, cx.now());
    ws.set_frame_log(state.tracer.is_some());
    cx.set_deadline(ws.poll_deadline());
    let mut conn = WsConn { ws, channel: None, last_sent: 0, accounting: None };
    if let Some(name) = channel {
        let (key, shared) = state.hub.shared.channel(name);
        conn.last_sent = lock(&shared).log.last_id();
        state.hub.local_channel(&key).subscribers.push(cx.id());
        conn.channel = Some(key);
    }
    Some(Conn::WebSocket(Box::new(conn)))
}

impl WsConn {
    /// Frames arrived: decode them, act on each message, queue what the protocol answers.
    pub(crate) fn on_input(&mut self, input: &[u8], cx: &mut Cx<'_>, state: &mut LoopCtx) -> usize {
        // Lend the loop's spare buffer: a whole message is received into it, and after the echo
        // its bytes come back as the next spare, so echoing allocates nothing per message.
        self.ws.swap_spares(&mut state.ws_spares);
        let result = self.ws.handle_bytes(input, cx.now()).map(|_| ());
        self.after_receive(result, cx, state);
        input.len()
    }

    /// Inside a large binary frame: the loop may read the rest of its payload straight into the
    /// message buffer (`Connection::direct_payload`) instead of its scratch buffer.
    pub(crate) fn direct_input(&mut self, state: &mut LoopCtx) -> Option<&mut [u8]> {
        // The first ask may start a message, which takes a buffer from the loop's spares.
        self.ws.swap_spares(&mut state.ws_spares);
        let offered = self.ws.direct_payload().is_some();
        self.ws.swap_spares(&mut state.ws_spares);
        if offered { self.ws.direct_payload() } else { None }
    }

    /// `n` payload bytes were read into the slice `direct_input` gave.
    pub(crate) fn on_direct_input(&mut self, n: usize, cx: &mut Cx<'_>, state: &mut LoopCtx) {
        self.ws.swap_spares(&mut state.ws_spares);
        let result = self.ws.direct_payload_filled(n, cx.now());
        self.after_receive(result, cx, state);
    }

    /// After bytes were taken in (with the loop's spares lent to the protocol): answer the
    /// messages that completed, then the error if there was one, and queue what the protocol
    /// has to send.
    fn after_receive(&mut self, result: Result<(), talkback_ws::Error>, cx: &mut Cx<'_>, state: &mut LoopCtx) {
        // Messages that were complete before a violation are answered first (Autobahn 3.x,
        // 4.x and 5.15 check that the echo precedes the close).
        if self.channel.is_none() && state.tracer.is_none() {
            self.echo_all(cx);
        } else {
            while let Some(event) = self.ws.poll_event() {
                self.on_event(event, cx, state);
            }
        }
        self.ws.swap_spares(&mut state.ws_spares);
        if let Err(error) = result {
            if let Some(tracer) = &state.tracer {
                tracer.note(cx.id(), &format!("!! {error:?}: close {}", error.close_code()));
            }
            self.ws.fail(&error);
        }
        self.transmit(cx, state);
        account(&mut self.accounting, cx, &state.stats, 0, 0);
    }

    fn on_event(&mut self, event: Event, cx: &mut Cx<'_>, state: &mut LoopCtx) {
        match (event, &self.channel) {
            (Event::Text(text), None) => self.echo(OpCode::Text, text.as_bytes(), cx, state),
            (Event::Binary(data), None) => self.echo(OpCode::Binary, &data, cx, state),
            (Event::Text(text), Some(channel)) => {
                let id = state.hub.publish(channel, &text);
                if let Some(tracer) = &state.tracer {
                    tracer.note(cx.id(), &format!("published id {id} to channel {channel}"));
                }
            }
            (Event::Binary(_), Some(_)) => {
                // The hub carries UTF-8 text only (DESIGN.md): 1003 "unsupported data".
                let _ = self.ws.close(1003, "the hub accepts text messages only");
            }
            (Event::Ping(_) | Event::Pong(_) | Event::Close(_), _) => {}
        }
    }

    /// ws-echo's fast path: every message of this batch is echoed into one output buffer,
    /// the frames encoded straight from the received bytes, each message's buffer lent back to
    /// the protocol for the next one.
    ///
    /// A large message is not copied at all: its header is encoded into the output, then the
    /// buffer it was received (and unmasked) into is queued behind it as it is, and the
    /// protocol gets a spare from the loop's pool in its place.
    fn echo_all(&mut self, cx: &mut Cx<'_>) {
        let ws = &mut self.ws;
        while let Some(event) = ws.poll_event() {
            let (opcode, bytes) = match event {
                Event::Text(text) => (OpCode::Text, text.into_bytes()),
                Event::Binary(data) => (OpCode::Binary, data),
                Event::Ping(_) | Event::Pong(_) | Event::Close(_) => continue,
            };
            if ws.can_send() && bytes.len() >= ZERO_COPY_ECHO {
                cx.with_output(|out| {
                    ws.poll_transmit(out); // a pong or close queued before this message goes first
                    let len = bytes.len() as u64;
                    FrameHeader { fin: true, rsv: 0, opcode, mask: None, payload_len: len }.encode(out);
                });
                // The next message is likely the same size: a spare as long needs no zeroing.
                let len = bytes.len();
                cx.write_owned(bytes);
                ws.recycle(cx.take_buffer(len));
                continue;
            }
            cx.with_output(|out| {
                ws.poll_transmit(out);
                if ws.can_send() {
                    encode_frame(opcode, &bytes, None, out);
                }
            });
            if bytes.capacity() <= MAX_SPARE {
                ws.recycle(bytes);
            }
        }
    }

    /// ws-echo: sends a message back. The frame is encoded straight into the connection's
    /// output (after any control frame the protocol queued first), not copied through the
    /// protocol's own queue; with `--trace` it goes through `send_*` so the frame log sees it.
    fn echo(&mut self, opcode: OpCode, payload: &[u8], cx: &mut Cx<'_>, state: &LoopCtx) {
        if state.tracer.is_some() {
            let _ = match std::str::from_utf8(payload) {
                Ok(text) if opcode == OpCode::Text => self.ws.send_text(text),
                _ => self.ws.send_binary(payload),
            };
            return;
        }
        if !self.ws.can_send() {
            return;
        }
        let ws = &mut self.ws;
        cx.with_output(|out| {
            ws.poll_transmit(out);
            encode_frame(opcode, payload, None, out);
        });
    }

    /// Writes what the protocol queued, traces frames, and closes TCP once the close
    /// handshake is over (the server closes first, RFC 6455 §7.1.1).
    fn transmit(&mut self, cx: &mut Cx<'_>, state: &LoopCtx) {
        let ws = &mut self.ws;
        cx.with_output(|out| ws.poll_transmit(out));
        if let Some(tracer) = &state.tracer {
            while let Some(record) = self.ws.poll_frame_log() {
                tracer.note(cx.id(), &record.to_string());
            }
        }
        if self.ws.is_closed() {
            cx.close();
        }
        cx.set_deadline(self.ws.poll_deadline());
    }

    /// A keepalive ping, a pong timeout, or the close timeout.
    pub(crate) fn on_deadline(&mut self, cx: &mut Cx<'_>, state: &mut LoopCtx) {
        self.ws.handle_timeout(cx.now());
        self.transmit(cx, state);
    }

    /// TCP ended without a close handshake (RFC 6455 §7.1.5: code 1006 for the application).
    pub(crate) fn on_peer_closed(&mut self, cx: &mut Cx<'_>, _state: &mut LoopCtx) {
        cx.close();
    }

    /// A channel message: share its pre-encoded frame. Returns whether to stay subscribed.
    pub(crate) fn push(&mut self, message: &Encoded, cx: &mut Cx<'_>, state: &LoopCtx) -> bool {
        if !self.ws.can_send() {
            return false;
        }
        if message.id <= self.last_sent {
            return true;
        }
        self.last_sent = message.id;
        push_shared(&message.ws, "WebSocket text frame (shared)", &mut self.accounting, cx, state)
    }

    /// The socket is gone: unsubscribe.
    pub(crate) fn on_closed(&mut self, id: ConnId, state: &mut LoopCtx) {
        if let Some(channel) = &self.channel
            && let Some(local) = state.hub.local.get_mut(channel)
        {
            local.subscribers.retain(|&s| s != id);
        }
    }
}
