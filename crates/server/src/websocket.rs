//! A connection upgraded to a WebSocket: the handshake answer, then frames both ways.
//!
//! ```text
//!  client                                         server
//!    │ GET /ch/c/ws  Upgrade: websocket ────────▶ handshake::accept (RFC 6455 §4.2.1)
//!    │ ◀──────── 101 Switching Protocols ──────── Sec-WebSocket-Accept (§4.2.2)
//!    │ masked text frame ───────────────────────▶ echo it (ws-echo) / publish it (hub)
//!    │ ◀──────────────── unmasked text frame ──── (the hub's frame is encoded once, shared)
//!    │ close 1000 ──────────────────────────────▶ reply close 1000, then close TCP (§7.1.1)
//!    │ ◀────────────── close 1001 "going away" ── the server draining (§7.4.1); the client's
//!    │ close ───────────────────────────────────▶ close ends it, or the close timeout does
//! ```
//!
//! On the hub, a client that offers the subprotocol `talkback.json` gets it, and then every
//! channel message as `{"id":N,"data":"…"}` — `/poll`'s element, kept once by the hub and
//! framed here — and `?after=N` replays what is retained after N first (`{"missed":K}` before
//! it when the cursor is older than the history). Without the subprotocol, frames carry the
//! text alone. With `--publish-token`, a socket whose upgrade did not carry the token may
//! listen but not publish: its first text message gets close 1008 (RFC 6455 §7.4.1, "policy
//! violation").
//!
//! One code path, traced or not: with `--trace` the protocol logs the frames it reads and
//! sends, and the echo below notes the frames it encodes itself.
//!
//! permessage-deflate (RFC 7692, unless `--no-deflate`): ws-echo keeps its compression
//! context when the client allows it (an echo's messages resemble each other); the hub
//! announces `server_no_context_takeover` and `client_no_context_takeover`, so that a
//! broadcast is compressed once per window size and shared (`hub/deflated.rs`), and a
//! connection keeps no compressor or inflater of its own between messages.

use std::sync::Arc;
use std::time::Instant;

use talkback_http1::Request;
use talkback_longpoll::{JSON_ELEMENT_TAIL, MessageId, encode_json_element_head};
use talkback_reactor::{ConnId, Cx};
use talkback_ws::handshake::{self, ServerPolicy};
use talkback_ws::{
    Config, Connection, Deflate, DeflatePolicy, Direction, Event, FrameHeader, FrameRecord, OpCode, PREVIEW_LEN,
    Parked, Role, stored_block,
};

use crate::answer::{Pushed, ReplyTo, SHARE_FROM, respond_try_later, respond_with, write_framed};
use crate::cluster::NotStored;
use crate::hub::{Encoded, Json, Messages, TooManyChannels};
use crate::meters::Delivered;
use crate::observe::Observer;
use crate::options::Options;
use crate::state::LoopCtx;
use crate::stats::Answered;

/// Echoes at least this long are queued from their own buffer instead of copied into the
/// output (below it, one copy into a shared output buffer is cheaper than a chunk of its own).
const ZERO_COPY_ECHO: usize = 16 * 1024;

/// The largest message buffer a loop keeps as a spare (at most `talkback_ws::MAX_SPARES` of them).
const MAX_SPARE: usize = 1 << 20;

/// The subprotocol whose frames carry ids: `{"id":N,"data":"…"}`.
pub const JSON_PROTOCOL: &str = "talkback.json";

/// An open WebSocket: the protocol state, and what the server knows of the socket besides.
///
/// Kept inline in the connection's slot, with no heap memory while the socket is idle: the
/// protocol is parked between messages (`talkback_ws::Parked`, 24 bytes) and woken — its
/// `Connection` re-made with the server's limits — by the next event that needs it. A
/// broadcast does not: a parked socket is open, and its frame is written around the shared
/// bytes without the protocol (see `Session::push`).
#[derive(Debug)]
pub struct WsConn {
    protocol: Protocol,
    session: Session,
}

/// The protocol state of one socket: awake while anything is in flight, else parked.
#[derive(Debug)]
enum Protocol {
    Awake(Box<Connection>),
    Parked(Parked),
}

/// What the server keeps of a socket besides the protocol state.
#[derive(Debug)]
struct Session {
    /// The hub channel (`None` for ws-echo).
    channel: Option<Arc<str>>,
    /// The id of the last channel message sent on this socket.
    last_sent: MessageId,
    /// `talkback.json` was chosen: messages go out as JSON elements.
    json: bool,
    /// The upgrade carried the publish token (or none is needed): text messages are published.
    may_publish: bool,
    /// With permessage-deflate, for a subscriber of the hub: the window our frames may use
    /// (2^N), to pick the hub's shared compressed payload — of the text, or (`talkback.json`)
    /// of the JSON element's body, sent behind its head in a stored block.
    window_bits: Option<u8>,
}

/// The protocol's limits and timers, from the server's options; the same for every socket
/// but for what its handshake negotiated (`deflate`).
fn protocol_config(options: &Options, deflate: Option<Deflate>) -> Config {
    Config {
        max_frame_size: options.max_frame.unwrap_or(options.max_message),
        max_message_size: options.max_message,
        ping_interval: options.ping_interval,
        pong_timeout: options.pong_timeout,
        deflate,
        deflate_threshold: options.deflate_threshold,
        ..Config::default()
    }
}

/// How many protocol states of parked sockets a loop keeps, to wake the next socket into
/// without allocating (each holds at most a few KiB of empty buffers).
const SPARE_PROTOCOLS: usize = 16;

#[expect(clippy::vec_box, reason = "spares move whole in and out of `Protocol::Awake`: a pointer, not 600 bytes")]
impl Protocol {
    /// The connection, woken if it was parked — into one of the loop's `spares` if it has one.
    fn wake(&mut self, options: &Options, spares: &mut Vec<Box<Connection>>, now: Instant) -> &mut Connection {
        if let Protocol::Parked(parked) = *self {
            let config = protocol_config(options, None);
            let ws = match spares.pop() {
                Some(mut spare) => {
                    parked.resume_into(&mut spare, config, now);
                    spare
                }
                None => Box::new(parked.resume(config, now)),
            };
            *self = Protocol::Awake(ws);
        }
        match self {
            Protocol::Awake(ws) => ws,
            Protocol::Parked(_) => unreachable!("woken just above"),
        }
    }

    /// Parks the connection if nothing is in flight (`Connection::park`): its memory goes back
    /// to the allocator, or to the loop's `spares`.
    fn settle(&mut self, spares: &mut Vec<Box<Connection>>) {
        if let Protocol::Awake(ws) = self
            && let Some(parked) = ws.park()
            && let Protocol::Awake(ws) = std::mem::replace(self, Protocol::Parked(parked))
            && spares.len() < SPARE_PROTOCOLS
        {
            spares.push(ws);
        }
    }
}

/// What the server answers a permessage-deflate offer with: the hub never keeps a context
/// (one compressed payload serves every subscriber; RFC 7692 §7.1.1), ws-echo keeps it when
/// the client lets it.
fn deflate_policy(hub: bool) -> DeflatePolicy {
    DeflatePolicy { server_no_context_takeover: hub, client_no_context_takeover: hub, ..DeflatePolicy::default() }
}

/// What a hub WebSocket asked for at its upgrade.
#[derive(Debug, Clone, Copy)]
pub struct HubSide<'a> {
    /// The channel.
    pub channel: &'a str,
    /// `?after=N`: replay the retained messages after N first.
    pub after: Option<MessageId>,
    /// Whether its text messages may be published (see `guard.rs`).
    pub may_publish: bool,
}

/// Answers an upgrade request: 101 and a WebSocket, or the handshake's refusal, or 503 when the
/// channel is new and there are `--max-channels` already (the caller closes the connection
/// after a refusal).
pub fn upgrade(
    request: &Request,
    hub: Option<HubSide<'_>>,
    cx: &mut Cx<'_>,
    state: &mut LoopCtx,
) -> Result<WsConn, Answered> {
    // The hub speaks `talkback.json` to a client that offers it (RFC 6455 §4.2.2 /subprotocol/).
    let protocols = if hub.is_some() { vec![JSON_PROTOCOL.to_owned()] } else { Vec::new() };
    let deflate = state.options.deflate.then(|| deflate_policy(hub.is_some()));
    let accepted = match handshake::accept(request, &ServerPolicy { protocols, origin: None, deflate }) {
        Ok(accepted) => accepted,
        Err(refusal) => {
            state.observer.note(cx.id(), || format!("!! handshake refused: {refusal:?} -> {}", refusal.status()));
            respond_with(cx, state, |out, state| refusal.encode_response_with_date(Some(state.date.value()), out));
            return Err(Answered { status: refusal.status(), messages: 0 });
        }
    };
    // Subscribe before the 101: past `--max-channels` a new channel's upgrade is refused.
    let subscription = match hub.map(|side| state.hub.subscribe(side.channel, cx.id(), side.after)) {
        None => None,
        Some(Ok(subscription)) => Some(subscription),
        Some(Err(TooManyChannels)) => {
            let to = ReplyTo::of(request).closing();
            return Err(respond_try_later(cx, state, to, TooManyChannels::REASON));
        }
    };
    respond_with(cx, state, |out, _| accepted.encode_response(out));
    let json = accepted.protocol() == Some(JSON_PROTOCOL);
    let config = protocol_config(&state.options, accepted.deflate());
    if let Some(deflate) = accepted.deflate() {
        state.observer.note(cx.id(), || format!("permessage-deflate agreed: {}", deflate.response()));
    }
    let window_bits = accepted.deflate().map(|d| d.server_max_window_bits);
    let mut ws = Connection::new(Role::Server, config, cx.now());
    ws.set_frame_log(state.observer.tracing());
    cx.set_deadline(ws.poll_deadline());
    let may_publish = hub.is_some_and(|side| side.may_publish);
    let mut session = Session { channel: None, last_sent: 0, json, may_publish, window_bits };
    if let Some(subscription) = subscription {
        if let Some(bits) = window_bits {
            state.hub.count_window(&subscription.channel, bits, json, true);
        }
        session.replay(&subscription.replay, cx);
        state.meter.delivered(Delivered::WebSocket, subscription.replay.messages.len() as u64);
        session.channel = Some(subscription.channel);
        session.last_sent = subscription.last_sent;
    }
    let mut protocol = Protocol::Awake(Box::new(ws));
    protocol.settle(&mut state.ws_protocols);
    Ok(WsConn { protocol, session })
}

impl WsConn {
    /// Runs `work` on the protocol, woken for it, then parks it again if nothing is left in
    /// flight: every event that needs the protocol takes this one path.
    fn awake<R>(
        &mut self,
        now: Instant,
        state: &mut LoopCtx,
        work: impl FnOnce(&mut Session, &mut Connection, &mut LoopCtx) -> R,
    ) -> R {
        let ws = self.protocol.wake(&state.options, &mut state.ws_protocols, now);
        let result = work(&mut self.session, ws, state);
        self.protocol.settle(&mut state.ws_protocols);
        result
    }

    /// Frames arrived: decode them, act on each message, queue what the protocol answers.
    pub fn on_input(&mut self, input: &[u8], cx: &mut Cx<'_>, state: &mut LoopCtx) -> usize {
        let mut rest = input;
        // Fast path (*a parked socket echoes without waking*, `Parked::receive_small`): ws-echo's
        // small messages on a parked socket are echoed from the parked state; only what it
        // cannot take (a control frame, a large or split one) wakes the protocol.
        if let Protocol::Parked(parked) = &mut self.protocol
            && self.session.channel.is_none()
            && parked.deflate().is_none()
            && !state.observer.tracing()
        {
            let config = protocol_config(&state.options, None);
            let now = cx.now();
            let used = cx.with_output(|out| {
                parked.receive_small(input, now, &config, |opcode, payload| echo_frame(opcode, payload, out))
            });
            rest = &input[used..];
            if rest.is_empty() {
                cx.set_deadline(parked.poll_deadline(&config));
                return input.len();
            }
        }
        self.awake(cx.now(), state, |session, ws, state| {
            // Lend the loop's spare buffers: a whole message is received into one, and after the
            // echo its bytes come back as the next spare, so echoing allocates nothing per message.
            ws.swap_spares(&mut state.ws_spares);
            let now = cx.now();
            let result = if session.channel.is_none() && ws.deflate().is_none() && !state.observer.tracing() {
                // Fast path (*small echoes framed as they are read*): ws-echo's small messages
                // are lent by the protocol (`handle_bytes_lending`) and echoed straight into
                // the output, with no message buffer or event; the rest go through `echo_all`.
                cx.with_output(|out| {
                    ws.handle_bytes_lending(rest, now, |opcode, payload| echo_frame(opcode, payload, out))
                })
            } else {
                ws.handle_bytes(rest, now)
            };
            session.after_receive(ws, result.map(|_| ()), cx, state);
        });
        input.len()
    }

    /// Inside a large binary frame: the loop may read the rest of its payload straight into the
    /// message buffer (`Connection::direct_payload`) instead of its scratch buffer — the fast
    /// path for large messages, which saves copying every byte out of the scratch buffer.
    /// A parked socket is between frames: it offers none.
    pub fn direct_input(&mut self, state: &mut LoopCtx) -> Option<&mut [u8]> {
        let Protocol::Awake(ws) = &mut self.protocol else { return None };
        // The first ask may start a message, which takes a buffer from the loop's spares.
        ws.swap_spares(&mut state.ws_spares);
        let offered = ws.direct_payload().is_some();
        ws.swap_spares(&mut state.ws_spares);
        if offered { ws.direct_payload() } else { None }
    }

    /// `n` payload bytes were read into the slice `direct_input` gave.
    pub fn on_direct_input(&mut self, n: usize, cx: &mut Cx<'_>, state: &mut LoopCtx) {
        self.awake(cx.now(), state, |session, ws, state| {
            ws.swap_spares(&mut state.ws_spares);
            let result = ws.direct_payload_filled(n, cx.now());
            session.after_receive(ws, result, cx, state);
        });
    }

    /// A node of a cluster: Redis stored what this socket published (`{"published":N}`), or
    /// could not: then the socket is closed with 1013 (RFC 6455 §7.4.1, "try again later"),
    /// as while Redis is unreachable — the client cannot know whether the message was kept.
    pub fn stored(&mut self, result: Result<MessageId, NotStored>, cx: &mut Cx<'_>, state: &mut LoopCtx) {
        self.awake(cx.now(), state, |session, ws, state| {
            match result {
                Ok(id) => {
                    state.observer.note(cx.id(), || format!("stored in Redis as id {id}"));
                    session.acknowledge(ws, id);
                }
                Err(why) => {
                    let reason = std::str::from_utf8(why.reason()).unwrap_or("not stored").trim_end();
                    let _ = ws.close(1013, reason);
                }
            }
            transmit(ws, cx, &state.observer);
        });
    }

    /// A keepalive ping, a pong timeout, or the close timeout.
    pub fn on_deadline(&mut self, cx: &mut Cx<'_>, state: &mut LoopCtx) {
        self.awake(cx.now(), state, |_, ws, state| {
            ws.handle_timeout(cx.now());
            transmit(ws, cx, &state.observer);
        });
    }

    /// The server is draining: close 1001 (RFC 6455 §7.4.1: "1001 indicates that an endpoint
    /// is 'going away', such as a server going down"), then wait for the peer's close — at
    /// most the protocol's close timeout, and the drain deadline — which closes TCP as usual.
    pub fn drain(&mut self, cx: &mut Cx<'_>, state: &mut LoopCtx) {
        self.awake(cx.now(), state, |_, ws, state| {
            // The protocol's clock is the last `now` it was given (its last read or timer):
            // bring it up to date, so that the close timeout counts from now.
            ws.handle_timeout(cx.now());
            if ws.close(1001, "going away").is_ok() {
                state.observer.note(cx.id(), || "draining: close 1001 going away".into());
            }
            transmit(ws, cx, &state.observer);
        });
    }

    /// A channel message: share its pre-encoded frame. A parked socket is open (it parks only
    /// then), so it is not woken for this.
    pub fn push<'m>(&mut self, message: &'m Encoded, cx: &mut Cx<'_>) -> Pushed<'m> {
        if let Protocol::Awake(ws) = &self.protocol
            && !ws.can_send()
        {
            return Pushed::Ended;
        }
        self.session.push(message, cx)
    }

    /// The socket is gone: unsubscribe.
    pub fn on_closed(&mut self, id: ConnId, state: &mut LoopCtx) {
        self.session.on_closed(id, state);
    }

    /// Whether the protocol state is parked (for tests).
    #[cfg(test)]
    pub fn is_parked(&self) -> bool {
        matches!(self.protocol, Protocol::Parked(_))
    }
}

impl Session {
    /// `?after=N`: what is retained after N, right behind the 101 — after `{"missed":K}` when
    /// the history no longer reaches back to N (with `talkback.json`; a plain-text client has
    /// no way to tell a notice from a message, and gets the messages alone).
    fn replay(&mut self, replay: &Messages, cx: &mut Cx<'_>) {
        if self.json && replay.missed > 0 {
            let mut notice = Vec::with_capacity(24);
            notice.extend_from_slice(b"{\"missed\":");
            talkback_http1::decimal::push_decimal(&mut notice, replay.missed);
            notice.push(b'}');
            let header =
                FrameHeader { fin: true, rsv: 0, opcode: OpCode::Text, mask: None, payload_len: notice.len() as u64 };
            cx.with_output(|out| {
                header.encode(out);
                out.extend_from_slice(&notice);
            });
        }
        for message in &replay.messages {
            self.write_message(message, cx);
        }
    }

    /// Queues one channel message's frame: the text alone, or (`talkback.json`) its JSON
    /// element — framed around the shared text, or the hub's escaped element shared whole.
    fn write_message<'m>(&self, message: &'m Encoded, cx: &mut Cx<'_>) -> (&'m [u8], &'static str) {
        if !self.json
            && let Some(payload) = self.window_bits.and_then(|bits| message.deflated(bits))
        {
            let header = Encoded::ws_deflated_header(payload);
            write_framed(cx, |out| header.encode(out), payload, 0..payload.len(), b"");
            return (payload, "WebSocket compressed text frame (RSV1), payload");
        }
        if self.json
            && let Some(body) = self.window_bits.and_then(|bits| message.deflated_json_body(bits))
        {
            // The element's head, which holds the id, in a stored block; then the body the hub
            // compressed once for every subscriber (see `talkback_ws::stored_block`).
            let mut head = Vec::with_capacity(32);
            encode_json_element_head(message.id, &mut head);
            let mut stored = Vec::with_capacity(head.len() + 5);
            stored_block(&head, &mut stored);
            let mut header = Encoded::ws_deflated_header(body);
            header.payload_len += stored.len() as u64;
            let framed_head = |out: &mut Vec<u8>| {
                header.encode(out);
                out.extend_from_slice(&stored);
            };
            write_framed(cx, framed_head, body, 0..body.len(), b"");
            return (body, "WebSocket compressed text frame (RSV1), a talkback.json element");
        }
        if !self.json {
            let (bytes, range) = message.text();
            write_framed(cx, |out| message.ws_header().encode(out), bytes, range, b"");
            return (message.text_bytes(), "WebSocket text frame, payload (after its header)");
        }
        const JSON_FRAME: &str = "WebSocket text frame, a talkback.json element";
        let header = message.ws_json_header();
        match message.json() {
            Json::Framed => {
                let (bytes, range) = message.text();
                let head = |out: &mut Vec<u8>| {
                    header.encode(out);
                    encode_json_element_head(message.id, out);
                };
                write_framed(cx, head, bytes, range, JSON_ELEMENT_TAIL);
                (message.text_bytes(), JSON_FRAME)
            }
            Json::Escaped(element) => {
                if element.len() < SHARE_FROM {
                    cx.with_output(|out| {
                        header.encode(out);
                        out.extend_from_slice(element);
                    });
                } else {
                    cx.with_output(|out| header.encode(out));
                    cx.write_shared(Arc::clone(element));
                }
                (element, JSON_FRAME)
            }
        }
    }

    /// After bytes were taken in (with the loop's spares lent to the protocol): answer the
    /// messages that completed, then the error if there was one, and queue what the protocol
    /// has to send. Messages complete before a violation are answered first (Autobahn 3.x,
    /// 4.x and 5.15 check that the echo precedes the close).
    fn after_receive(
        &mut self,
        ws: &mut Connection,
        result: Result<(), talkback_ws::Error>,
        cx: &mut Cx<'_>,
        state: &mut LoopCtx,
    ) {
        match self.channel.clone() {
            None => echo_all(ws, cx, &state.observer),
            Some(channel) => self.publish_all(ws, &channel, cx, state),
        }
        ws.swap_spares(&mut state.ws_spares);
        if let Err(error) = result {
            state.observer.note(cx.id(), || format!("!! {error:?}: close {}", error.close_code()));
            ws.fail(&error);
        }
        transmit(ws, cx, &state.observer);
    }

    /// `talkback.json`: tells the client the id its message was published as — `{"published":N}`,
    /// one per text message it sent, in the order it sent them — so a client can publish on the
    /// socket and still learn the id, as a `POST`'s 200 tells it. A plain-text socket is told
    /// nothing (it could not tell an acknowledgement from a message).
    fn acknowledge(&self, ws: &mut Connection, id: MessageId) {
        if self.json {
            let mut ack = Vec::with_capacity(32);
            ack.extend_from_slice(b"{\"published\":");
            talkback_http1::decimal::push_decimal(&mut ack, id);
            ack.push(b'}');
            let ack = std::str::from_utf8(&ack).expect("ASCII");
            let _ = ws.send_text(ack);
        }
    }

    /// The hub: each text message is published on the channel; binary ones end the socket.
    fn publish_all(&self, ws: &mut Connection, channel: &str, cx: &mut Cx<'_>, state: &mut LoopCtx) {
        while let Some(event) = ws.poll_event() {
            match event {
                // Listening is open to all; publishing, with a token set, to those who showed it.
                Event::Text(_) if !self.may_publish => {
                    state.observer.note(cx.id(), || "!! publish without the token: close 1008".into());
                    let _ = ws.close(1008, "publishing needs the publish token");
                }
                // A node of a cluster: Redis gives the id; while it is unreachable the
                // message cannot be stored (RFC 6455 §7.4.1, 1013: try again later).
                // A `talkback.json` socket is told the id once Redis gave it (`stored`).
                Event::Text(text) if let Some(cluster) = &state.cluster => {
                    match cluster.publish(channel, &text, self.json.then(|| cx.id())) {
                        Ok(()) => state.meter.published(),
                        Err(_) => {
                            let _ = ws.close(1013, "Redis is unreachable; try again later");
                        }
                    }
                }
                Event::Text(text) => match state.hub.publish(channel, &text) {
                    Ok(id) => {
                        state.meter.published();
                        state.observer.note(cx.id(), || format!("published id {id} to channel {channel}"));
                        self.acknowledge(ws, id);
                    }
                    // Not expected: this socket listens on the channel, which keeps it
                    // (RFC 6455 §7.4.1: 1011, "an unexpected condition").
                    Err(TooManyChannels) => {
                        let _ = ws.close(1011, "too many channels");
                    }
                },
                // The hub carries UTF-8 text only (README, "The hub's URLs"): 1003 "unsupported data".
                Event::Binary(_) => {
                    let _ = ws.close(1003, "the hub accepts text messages only");
                }
                Event::Ping(_) | Event::Pong(_) | Event::Close(_) => {}
            }
        }
    }

    /// A channel message, on an open socket: share its pre-encoded frame.
    fn push<'m>(&mut self, message: &'m Encoded, cx: &mut Cx<'_>) -> Pushed<'m> {
        if message.id <= self.last_sent {
            return Pushed::Skipped;
        }
        self.last_sent = message.id;
        let (bytes, what) = self.write_message(message, cx);
        Pushed::Sent { bytes, what }
    }

    /// The socket is gone: unsubscribe.
    fn on_closed(&mut self, id: ConnId, state: &mut LoopCtx) {
        if let Some(channel) = &self.channel {
            if let Some(bits) = self.window_bits {
                state.hub.count_window(channel, bits, self.json, false);
            }
            state.hub.unsubscribe(channel, id);
        }
    }
}

/// ws-echo: every message of this batch is echoed into the connection's output, the frames
/// encoded straight from the received bytes (after any control frame the protocol queued
/// first), each message's buffer lent back to the protocol for the next one.
///
/// Fast path (*one stretch of output per batch*): the messages of one read are echoed into
/// the output's tail in one go (`echo_into`), so the output queue is looked at once per
/// batch, not once per message.
///
/// Fast path (*large messages are not copied*): such a message ends the stretch. Its header
/// is encoded into the output, then the buffer it was received (and unmasked) into is queued
/// behind it as it is, and the protocol gets a spare from the loop's pool in its place.
fn echo_all(ws: &mut Connection, cx: &mut Cx<'_>, observer: &Observer) {
    let id = cx.id();
    while let Some(large) = cx.with_output(|out| echo_into(ws, out, id, observer)) {
        // The next message is likely the same size: a spare as long needs no zeroing.
        let len = large.len();
        cx.write_owned(large);
        ws.recycle(cx.take_buffer(len));
    }
}

/// Echoes the batch's messages into `out` until one is [`ZERO_COPY_ECHO`] long or longer:
/// that one is returned, its header already in `out`, for the caller to queue as it is.
fn echo_into(ws: &mut Connection, out: &mut Vec<u8>, id: ConnId, observer: &Observer) -> Option<Vec<u8>> {
    // What the protocol queued while reading this batch (pongs, a close echo) goes first. Below,
    // only a compressed echo is queued by the protocol, and it is taken out right after.
    ws.poll_transmit(out);
    while let Some(event) = ws.poll_event() {
        let (opcode, bytes) = match event {
            Event::Text(text) => (OpCode::Text, text.into_bytes()),
            Event::Binary(data) => (OpCode::Binary, data),
            Event::Ping(_) | Event::Pong(_) | Event::Close(_) => continue,
        };
        if !ws.can_send() {
            continue;
        }
        if ws.deflate().is_some() {
            // Compressed by the protocol (its context kept per the agreement): a copy.
            let _ = ws.send_message(opcode, &bytes);
            ws.poll_transmit(out);
            trace_frames(ws, id, observer);
            if bytes.capacity() <= MAX_SPARE {
                ws.recycle(bytes);
            }
            continue;
        }
        let header = FrameHeader { fin: true, rsv: 0, opcode, mask: None, payload_len: bytes.len() as u64 };
        trace_frames(ws, id, observer);
        observer.note(id, || echoed(header, &bytes));
        header.encode(out);
        if bytes.len() >= ZERO_COPY_ECHO {
            return Some(bytes);
        }
        out.extend_from_slice(&bytes);
        if bytes.capacity() <= MAX_SPARE {
            ws.recycle(bytes);
        }
    }
    None
}

/// One echoed frame: the header, unmasked (a server's frames are, RFC 6455 §5.1), then the
/// payload.
fn echo_frame(opcode: OpCode, payload: &[u8], out: &mut Vec<u8>) {
    FrameHeader { fin: true, rsv: 0, opcode, mask: None, payload_len: payload.len() as u64 }.encode(out);
    out.extend_from_slice(payload);
}

/// Writes what the protocol queued, traces frames, and closes TCP once the close handshake
/// is over (the server closes first, RFC 6455 §7.1.1).
fn transmit(ws: &mut Connection, cx: &mut Cx<'_>, observer: &Observer) {
    cx.with_output(|out| ws.poll_transmit(out));
    trace_frames(ws, cx.id(), observer);
    if ws.is_closed() {
        cx.close();
    }
    cx.set_deadline(ws.poll_deadline());
}

/// Moves the protocol's frame log (kept only with `--trace`) into the trace.
fn trace_frames(ws: &mut Connection, id: ConnId, observer: &Observer) {
    // The protocol keeps a frame log only when tracing (`upgrade`): without, nothing to ask.
    if !observer.tracing() {
        return;
    }
    while let Some(record) = ws.poll_frame_log() {
        observer.note(id, || record.to_string());
    }
}

/// The trace line of a frame the echo encoded itself, as the protocol's log would show it.
fn echoed(header: FrameHeader, payload: &[u8]) -> String {
    let preview = payload[..payload.len().min(PREVIEW_LEN)].to_vec();
    FrameRecord { direction: Direction::Out, header, preview, inflated: None, deflated: Vec::new() }.to_string()
}
