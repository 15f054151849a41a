//! The channel hub: every channel's log, shared by all loops, and each loop's own subscribers.
//!
//! The data path of one broadcast:
//!
//! ```text
//!  POST /ch/room (any loop)            channel lock held while:               each loop, later
//!  ───────────────────────             ───────────────────────                ────────────────
//!  body is UTF-8? ──▶ log.publish ──▶ id N; encode ONCE per transport:  ──▶ inbox: Broadcast
//!                                      SSE event, WebSocket frame, JSON       │
//!                                      element (shared immutable bytes)      ├─ SSE/WS subscribers:
//!                                     send Broadcast to every loop           │   write_shared(bytes)
//!                                      (in id order: still under the lock)   └─ parked long-polls:
//!                                                                                release with batch
//! ```
//!
//! Subscribers remember the last id they were sent, so a message that was both replayed at
//! subscribe time and still waiting in the loop's inbox is sent once, never twice.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use talkback_http1::{Method, Request, Status, Version};
use talkback_longpoll::{ChannelLog, LogLimits, MessageId, Parked, encode_json_element};
use talkback_reactor::{ConnId, Connections, Cx, LoopHandle};
use talkback_ws::{OpCode, encode_frame};

use crate::conn::Conn;
use crate::http::{HttpConn, respond};
use crate::state::LoopCtx;
use crate::stats::{Accounting, account};

/// One message, encoded once for every transport. Shared by every subscriber on every loop.
#[derive(Debug)]
pub struct Encoded {
    /// The channel-local id.
    pub id: MessageId,
    /// `id: N\ndata: …\n\n`
    pub sse: Arc<[u8]>,
    /// An unmasked text frame (server to client).
    pub ws: Arc<[u8]>,
    /// `{"id":N,"data":"…"}`
    pub json: Box<[u8]>,
    /// Loops that have not delivered it yet; the last one takes it off the hub's backlog.
    undelivered: AtomicUsize,
}

/// What one loop sends another.
#[derive(Debug)]
pub enum HubMessage {
    /// A message was published: deliver it to this loop's listeners on its channel.
    Broadcast(Broadcast),
    /// The backlog fell to [`MAX_AHEAD`]: answer this loop's waiting `POST`s.
    CaughtUp,
}

/// A published message on its way to one loop.
#[derive(Debug)]
pub struct Broadcast {
    channel: Arc<str>,
    message: Arc<Encoded>,
}

/// A channel's retained history.
#[derive(Debug)]
pub struct Channel {
    /// The last messages with their ids.
    pub log: ChannelLog<Arc<Encoded>>,
}

/// All channels, shared by every loop.
#[derive(Debug)]
pub struct Hub {
    channels: Mutex<HashMap<Arc<str>, Arc<Mutex<Channel>>>>,
    history: usize,
    /// Broadcasts published but not yet delivered by every loop. A `POST` that finds more than
    /// [`MAX_AHEAD`] waits (see [`PublishWait`]) so publishers cannot run far ahead of delivery.
    backlog: AtomicUsize,
    /// Per loop: it holds `POST`s waiting for the backlog to shrink (the loop that shrinks it
    /// wakes them with [`HubMessage::CaughtUp`]).
    has_waiting: Box<[AtomicBool]>,
    /// The backlog a `POST` may leave without waiting ([`MAX_AHEAD`] unless `--max-ahead`).
    max_ahead: usize,
}

/// How many broadcasts a publisher may run ahead of the slowest loop (default of
/// `--max-ahead`). A loop delivers a broadcast by queueing its shared bytes on every
/// subscriber; the writes follow in slices (the reactor's `FLUSH_SLICE`), and what is
/// published meanwhile joins the same writes. The bound matters when a loop falls behind —
/// descheduled, or busy with other work: then a `POST` waits (see [`PublishWait`]) instead of
/// piling broadcasts up in front of subscribers. Measured with `just bench-push` (1 000
/// subscribers, docs/benchmarks.md): with one loop the setting changes little (1, 2 and 8
/// all give ~1.9M deliveries/s at p99 8–13 ms); with two loops on two cores shared with the
/// load generator, 2 gives ~0.7M/s at p99 13–18 ms and 8 gives ~1.5M/s at p99 42–61 ms.
pub const MAX_AHEAD: usize = 2;

impl Hub {
    /// An empty hub for `loops` loops whose channels keep `history` messages each, holding a
    /// `POST` back while more than `max_ahead` broadcasts are undelivered.
    pub fn new(history: usize, loops: usize, max_ahead: usize) -> Hub {
        Hub {
            channels: Mutex::new(HashMap::new()),
            history,
            backlog: AtomicUsize::new(0),
            has_waiting: (0..loops).map(|_| AtomicBool::new(false)).collect(),
            max_ahead,
        }
    }

    /// The channel called `name`, made on first use.
    pub(crate) fn channel(&self, name: &str) -> (Arc<str>, Arc<Mutex<Channel>>) {
        let mut channels = self.channels.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some((key, channel)) = channels.get_key_value(name) {
            return (Arc::clone(key), Arc::clone(channel));
        }
        let limits = LogLimits { max_messages: self.history, ..LogLimits::default() };
        let channel = Arc::new(Mutex::new(Channel { log: ChannelLog::with_limits(limits) }));
        let key: Arc<str> = Arc::from(name);
        channels.insert(Arc::clone(&key), Arc::clone(&channel));
        (key, channel)
    }
}

/// Locks a channel (a panic elsewhere cannot poison the hub for everyone).
pub(crate) fn lock(channel: &Mutex<Channel>) -> MutexGuard<'_, Channel> {
    channel.lock().unwrap_or_else(PoisonError::into_inner)
}

/// One loop's view of the hub: the shared channels, handles to every loop, and the
/// subscribers and parked requests that live on this loop.
#[derive(Debug)]
pub struct LocalHub {
    pub(crate) shared: Arc<Hub>,
    /// This loop's number.
    index: usize,
    loops: Vec<LoopHandle<HubMessage>>,
    pub(crate) local: HashMap<Arc<str>, LocalChannel>,
    /// `POST`s on this loop waiting for the backlog to shrink.
    waiting: Vec<ConnId>,
}

/// This loop's listeners on one channel.
#[derive(Debug, Default)]
pub(crate) struct LocalChannel {
    /// SSE streams and WebSockets: pushed every message.
    pub(crate) subscribers: Vec<ConnId>,
    /// Long-polls waiting for a message after their cursor.
    pub(crate) parked: Parked<ConnId>,
}

impl LocalHub {
    /// Loop `index`'s view of `shared`, able to reach every loop through `loops`.
    pub fn new(shared: Arc<Hub>, index: usize, loops: Vec<LoopHandle<HubMessage>>) -> LocalHub {
        LocalHub { shared, index, loops, local: HashMap::new(), waiting: Vec::new() }
    }

    /// Whether the loops are within [`MAX_AHEAD`] broadcasts of the publishers.
    fn caught_up(&self) -> bool {
        self.shared.backlog.load(Ordering::SeqCst) <= self.shared.max_ahead
    }

    /// Registers a `POST` to be answered once the loops catch up. Returns `false` if they
    /// already have (checked after registering, so a catch-up in between is not missed).
    fn wait_for_catch_up(&mut self, id: ConnId) -> bool {
        self.waiting.push(id);
        self.shared.has_waiting[self.index].store(true, Ordering::SeqCst);
        !self.caught_up()
    }

    /// Appends `text` to channel `name`, encodes it once per transport, and sends it to every
    /// loop. Returns the new id.
    pub(crate) fn publish(&self, name: &str, text: &str) -> MessageId {
        let (key, channel) = self.shared.channel(name);
        let mut channel = lock(&channel);
        let id = channel.log.next_id();
        let message = Arc::new(encode(id, text, self.loops.len()));
        self.shared.backlog.fetch_add(1, Ordering::AcqRel);
        let published = channel.log.publish(Arc::clone(&message), text.len());
        debug_assert_eq!(published, id);
        // Still under the lock, so every loop sees this channel's messages in id order.
        for handle in &self.loops {
            handle.send(HubMessage::Broadcast(Broadcast { channel: Arc::clone(&key), message: Arc::clone(&message) }));
        }
        id
    }

    /// The local listeners of channel `key`, made on first use.
    pub(crate) fn local_channel(&mut self, key: &Arc<str>) -> &mut LocalChannel {
        self.local.entry(Arc::clone(key)).or_default()
    }
}

/// Encodes a message for SSE, WebSocket and JSON, once.
fn encode(id: MessageId, text: &str, loops: usize) -> Encoded {
    let mut sse = Vec::with_capacity(text.len() + 24);
    talkback_sse::encode_message(id, text, &mut sse);
    let mut ws = Vec::with_capacity(text.len() + 10);
    encode_frame(OpCode::Text, text.as_bytes(), None, &mut ws);
    let mut json = Vec::with_capacity(text.len() + 24);
    encode_json_element(id, text, &mut json);
    Encoded { id, sse: sse.into(), ws: ws.into(), json: json.into_boxed_slice(), undelivered: AtomicUsize::new(loops) }
}

/// `[A-Za-z0-9_-]{1,64}` (DESIGN.md).
pub(crate) fn is_valid_channel(name: &str) -> bool {
    (1..=64).contains(&name.len()) && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
}

/// `POST /ch/{c}`: 200 with the new id, or 400 when the body is not UTF-8.
pub(crate) fn answer_publish(
    channel: &str,
    request: &Request,
    body: &[u8],
    requests: u64,
    cx: &mut Cx<'_>,
    state: &mut LoopCtx,
) -> Option<Conn> {
    let Ok(text) = std::str::from_utf8(body) else {
        let reason = b"message is not UTF-8 text\n";
        respond(cx, state, request, Status::BAD_REQUEST, &[("Content-Type", b"text/plain; charset=utf-8")], reason);
        return None;
    };
    let id = state.hub.publish(channel, text);
    if let Some(tracer) = &state.tracer {
        tracer.note(cx.id(), &format!("published id {id} to channel {channel}"));
    }
    if !state.hub.caught_up() && state.hub.wait_for_catch_up(cx.id()) {
        if let Some(tracer) = &state.tracer {
            let backlog = state.hub.shared.backlog.load(Ordering::Acquire);
            tracer.note(cx.id(), &format!("answer held: {backlog} broadcasts not yet delivered by every loop"));
        }
        cx.set_deadline(Some(cx.now() + state.options.max_publish_wait));
        let wait = PublishWait { id, version: request.version, keep_alive: request.keep_alive, requests };
        return Some(Conn::PublishWait(wait));
    }
    answer_published(id, request, cx, state);
    None
}

fn answer_published(id: MessageId, request: &Request, cx: &mut Cx<'_>, state: &LoopCtx) {
    respond(cx, state, request, Status::OK, &[("Content-Type", b"text/plain")], id.to_string().as_bytes());
}

/// A `POST` whose message is published but whose answer waits until the loops have caught up
/// to within [`MAX_AHEAD`] broadcasts (or `--max-publish-wait` has passed): backpressure on
/// publishers, so a burst of publishes cannot queue seconds of fan-out behind it.
///
/// ```text
///  publisher        loop A (its POST)               loop B (delivering)
///    │ POST ──────▶ publish id N; backlog 2 > 1
///    │              park the answer: waiting += me ──▶ ...delivers N-1: backlog 1
///    │                                                 has_waiting[A]? ──▶ CaughtUp to loop A
///    │ ◀────── 200 "N" ◀── CaughtUp: answer every waiting POST
/// ```
#[derive(Debug)]
pub struct PublishWait {
    id: MessageId,
    version: Version,
    keep_alive: bool,
    requests: u64,
}

impl PublishWait {
    /// Bytes behind the waiting `POST` (a pipelined request) are kept for later.
    pub(crate) fn on_input(&mut self, input: &[u8], cx: &mut Cx<'_>, state: &mut LoopCtx) -> usize {
        if input.len() > state.options.http.max_head {
            cx.abort();
            return input.len();
        }
        0
    }

    /// The loops caught up (or `--max-publish-wait` passed): answer, and read requests again.
    pub(crate) fn answer(&mut self, cx: &mut Cx<'_>, state: &mut LoopCtx) -> Conn {
        let mut request = Request::new(Method::Post, String::new(), self.version);
        request.keep_alive = self.keep_alive;
        answer_published(self.id, &request, cx, state);
        if !request.keep_alive {
            cx.close();
            return Conn::Done;
        }
        cx.replay_input();
        Conn::Http(Box::new(HttpConn::resumed(state, cx, self.requests)))
    }
}

/// Queues a broadcast's shared bytes on one subscriber (an SSE stream or a WebSocket) and
/// counts it for the demo page. A subscriber whose queue is over the output cap is a slow
/// consumer: it is dropped, so nobody else waits for it. Returns whether it stays subscribed.
pub(crate) fn push_shared(
    bytes: &Arc<[u8]>,
    what: &str,
    accounting: &mut Accounting,
    cx: &mut Cx<'_>,
    state: &LoopCtx,
) -> bool {
    cx.write_shared(Arc::clone(bytes));
    if let Some(tracer) = &state.tracer {
        tracer.payload(cx.id(), false, what, bytes);
    }
    account(accounting, cx, &state.stats, 0, 1);
    if cx.over_output_cap() {
        if let Some(tracer) = &state.tracer {
            tracer.note(cx.id(), "slow consumer: output queue over the cap, dropped");
        }
        cx.abort();
        return false;
    }
    true
}

/// A message from another loop (or this one).
pub(crate) fn on_message(state: &mut LoopCtx, message: HubMessage, conns: &mut Connections<Conn>) {
    match message {
        HubMessage::Broadcast(broadcast) => deliver(state, broadcast, conns),
        HubMessage::CaughtUp => answer_waiting(state, conns),
    }
}

/// A broadcast reached this loop: push it to this loop's subscribers and release this loop's
/// parked long-polls on the channel.
fn deliver(state: &mut LoopCtx, broadcast: Broadcast, conns: &mut Connections<Conn>) {
    deliver_here(state, &broadcast, conns);
    // This loop is done with it; the last loop takes it off the publishers' backlog, and if
    // that brings the loops within reach, wakes the loops holding waiting POSTs.
    if broadcast.message.undelivered.fetch_sub(1, Ordering::AcqRel) == 1
        && state.hub.shared.backlog.fetch_sub(1, Ordering::SeqCst) - 1 <= state.hub.shared.max_ahead
    {
        let (here, shared) = (state.hub.index, Arc::clone(&state.hub.shared));
        for (index, flag) in shared.has_waiting.iter().enumerate() {
            if !flag.swap(false, Ordering::SeqCst) {
                continue;
            }
            if index == here {
                answer_waiting(state, conns);
            } else {
                state.hub.loops[index].send(HubMessage::CaughtUp);
            }
        }
    }
}

/// Answers every `POST` of this loop that waits for the loops to catch up.
fn answer_waiting(state: &mut LoopCtx, conns: &mut Connections<Conn>) {
    for id in std::mem::take(&mut state.hub.waiting) {
        // An answer, not a push: it leaves ahead of the subscribers' slices.
        conns.answer_with(id, state, |conn, cx, state| conn.publish_caught_up(cx, state));
    }
}

/// Pushes a broadcast to this loop's subscribers and releases its parked long-polls.
fn deliver_here(state: &mut LoopCtx, broadcast: &Broadcast, conns: &mut Connections<Conn>) {
    let Some(local) = state.hub.local.get_mut(&broadcast.channel) else { return };
    let mut subscribers = std::mem::take(&mut local.subscribers);
    let has_parked = !local.parked.is_empty();
    subscribers.retain(|&id| {
        conns.with(id, state, |conn, cx, state| conn.push(&broadcast.message, cx, state)).unwrap_or(false)
    });
    let Some(local) = state.hub.local.get_mut(&broadcast.channel) else { return };
    subscribers.append(&mut local.subscribers);
    local.subscribers = subscribers;
    if has_parked {
        crate::longpoll::release(state, &broadcast.channel, conns);
    }
}
