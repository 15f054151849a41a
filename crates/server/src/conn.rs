//! The connection dispatch: one connection's handler, which starts as HTTP and may become a
//! WebSocket, an SSE stream, a held request or the page's counter stream — one enum, one
//! variant per kind, switched in place from the values the lower layers return. It is also
//! the loop's [`LoopState`]: a broadcast from the hub is turned into calls on the
//! connections the hub names. The observer (trace, accounting) hangs off this layer.

use std::io;
use std::sync::Arc;

use talkback_longpoll::MessageId;
use talkback_reactor::{ConnId, ConnectionSet, Cx, Handler, LoopState, OutputKind};

use crate::answer::Pushed;
use crate::cluster::{ClusterMessage, NotStored};
use crate::held::{Finished, Held, Resume, Waiting};
use crate::http::{Became, HttpConn};
use crate::hub::{Broadcast, Encoded, HubMessage, Messages};
use crate::meters::{ConnKind, Delivered};
use crate::observe::Accounting;
use crate::page::StatsConn;
use crate::redis_link::{self, RedisLink};
use crate::routes::Switch;
use crate::sse::SseConn;
use crate::state::{LoopCtx, LoopMessage};
use crate::websocket::WsConn;
use crate::{longpoll, publish, stored};

/// One connection: what it currently is, plus the demo page's accounting when its request
/// was tagged (a stream's or held request's; plain requests are counted as they are answered).
#[derive(Debug)]
pub struct Conn {
    kind: Kind,
    accounting: Accounting,
}

/// What a connection currently is.
///
/// The HTTP state is boxed, and so is a WebSocket's protocol state while it is awake (see
/// `websocket.rs`), so the enum — and each slot of the reactor's slab — stays small: an idle
/// WebSocket, SSE stream or held request pays for its own few fields only, inline.
#[derive(Debug)]
enum Kind {
    /// Reading requests, writing responses (keep-alive, pipelining).
    Http(Box<HttpConn>),
    /// Upgraded to a WebSocket (RFC 6455).
    WebSocket(WsConn),
    /// An open `text/event-stream` response.
    Sse(SseConn),
    /// A long-poll or `POST` whose answer waits.
    Held(Held),
    /// The demo page's stream of counters.
    Stats(StatsConn),
    /// One of the owner loop's two links to Redis (an outbound connection; `--redis`).
    Redis(Box<RedisLink>),
    /// Closing; whatever arrives is ignored.
    Done,
}

impl Kind {
    /// What `talkback_connections` counts it as (`None`: closing).
    fn metered(&self) -> Option<ConnKind> {
        match self {
            Kind::Http(_) | Kind::Held(Held { waiting: Waiting::CatchUp { .. } | Waiting::Stored, .. }) => {
                Some(ConnKind::Http)
            }
            Kind::Held(Held { waiting: Waiting::Message { .. }, .. }) => Some(ConnKind::LongPoll),
            Kind::WebSocket(_) => Some(ConnKind::WebSocket),
            Kind::Sse(_) | Kind::Stats(_) => Some(ConnKind::Sse),
            Kind::Redis(_) | Kind::Done => None,
        }
    }
}

impl Conn {
    /// Whether this is a WebSocket whose protocol state is parked (`None`: not a WebSocket).
    #[cfg(test)]
    pub fn ws_parked(&self) -> Option<bool> {
        match &self.kind {
            Kind::WebSocket(ws) => Some(ws.is_parked()),
            _ => None,
        }
    }

    /// Every change of kind goes through here, so the connection gauges follow it.
    fn set_kind(&mut self, kind: Kind, state: &LoopCtx) {
        state.meter.moved(self.kind.metered(), kind.metered());
        self.kind = kind;
    }

    /// A link to Redis, for the owner loop to connect out (its largest reply: a history read
    /// of `--history` messages of `--max-message` bytes, with their framing). Not a client's
    /// connection: no gauge counts it.
    pub fn redis(state: &LoopCtx) -> Conn {
        let max_reply = state.options.history.saturating_mul(state.options.max_message.saturating_add(64));
        Conn { kind: Kind::Redis(Box::new(RedisLink::new(max_reply))), accounting: None }
    }

    /// Switches to what the HTTP side says the connection became (`draining`: it was asked to
    /// drain while its request was in flight).
    fn became(&mut self, became: Became, draining: bool, cx: &mut Cx<'_>, state: &mut LoopCtx) {
        let (kind, accounting) = match became {
            Became::Closing => (Kind::Done, None),
            Became::Switch(switch, accounting) => (
                match switch {
                    Switch::WebSocket(ws) => Kind::WebSocket(ws),
                    Switch::Sse(sse) => Kind::Sse(sse),
                    Switch::Held(held) => Kind::Held(held),
                    Switch::Stats(stats) => Kind::Stats(stats),
                },
                accounting,
            ),
        };
        self.set_kind(kind, state);
        self.accounting = accounting;
        if matches!(self.kind, Kind::WebSocket(_) | Kind::Sse(_)) {
            // A stream accounts its opening request now (a held one once it is answered).
            state.observer.stream_traffic(&mut self.accounting, cx, 1, 0);
        }
        cx.replay_input(); // bytes after the switch belong to the new protocol
        if draining {
            // A request answered during the drain opened a stream or was held: it ends now.
            self.drain(cx, state);
        }
    }

    /// The server is draining: each kind finishes in its own protocol. An idle HTTP connection
    /// closes; one mid-request answers it with `Connection: close`; a WebSocket sends close
    /// 1001 and waits for the handshake; an SSE stream ends after a `retry:` hint; a parked
    /// long-poll gets 503 with `Retry-After`; a held `POST` gets its id; the stats stream closes.
    fn drain(&mut self, cx: &mut Cx<'_>, state: &mut LoopCtx) {
        let finished = match &mut self.kind {
            Kind::Http(http) => {
                if http.drain(cx, state) {
                    self.set_kind(Kind::Done, state);
                }
                return;
            }
            Kind::WebSocket(ws) => return ws.drain(cx, state),
            Kind::Sse(sse) => return sse.drain(cx, state),
            Kind::Stats(_) => {
                cx.close();
                self.set_kind(Kind::Done, state);
                return;
            }
            Kind::Done | Kind::Redis(_) => return,
            Kind::Held(held) => match &held.waiting {
                Waiting::Message { channel } => {
                    let channel = Arc::clone(channel);
                    longpoll::drained(held, &channel, cx, state)
                }
                Waiting::CatchUp { id } => publish::answer_drained(held, *id, cx, state),
                Waiting::Stored => return stored::drained(held),
            },
        };
        self.finished(finished, cx, state);
    }

    /// A held request was answered: count it, then close or go back to HTTP.
    fn finished(&mut self, finished: Finished, cx: &mut Cx<'_>, state: &LoopCtx) {
        state.observer.held_answered(&mut self.accounting, finished.answered, cx);
        if self.kind.metered() == Some(ConnKind::LongPoll) {
            state.meter.delivered(Delivered::LongPoll, finished.answered.messages);
        }
        let kind = match finished.resume {
            Resume::Close => Kind::Done,
            Resume::Http { requests } => Kind::Http(Box::new(HttpConn::resumed(state, cx, requests))),
        };
        self.set_kind(kind, state);
    }

    /// A channel message reached this connection; returns whether it stays subscribed. A
    /// subscriber whose queue is over the output cap is a slow consumer: it is dropped, so
    /// nobody else waits for it.
    fn push(&mut self, message: &Encoded, cx: &mut Cx<'_>, state: &LoopCtx) -> bool {
        let pushed = match &mut self.kind {
            Kind::Sse(sse) => sse.push(message, cx, state),
            Kind::WebSocket(ws) => ws.push(message, cx),
            _ => Pushed::Ended,
        };
        match pushed {
            Pushed::Skipped => true,
            Pushed::Ended => false,
            Pushed::Sent { bytes, what } => {
                let technique = if matches!(self.kind, Kind::Sse(_)) { Delivered::Sse } else { Delivered::WebSocket };
                state.meter.delivered(technique, 1);
                state.observer.payload(cx.id(), false, what, bytes);
                state.observer.stream_traffic(&mut self.accounting, cx, 0, 1);
                if cx.over_output_cap() {
                    state.observer.note(cx.id(), || "slow consumer: output queue over the cap, dropped".into());
                    state.meter.slow_dropped();
                    cx.abort();
                    return false;
                }
                true
            }
        }
    }

    /// A parked long-poll's message arrived.
    fn release(&mut self, messages: &Messages, cx: &mut Cx<'_>, state: &LoopCtx) {
        if let Kind::Held(held @ Held { waiting: Waiting::Message { .. }, .. }) = &self.kind {
            let finished = longpoll::release(held, messages, cx, state);
            self.finished(finished, cx, state);
        }
    }

    /// Redis stored a held `POST`'s message (or could not): it is answered.
    fn stored(&mut self, result: Result<MessageId, NotStored>, cx: &mut Cx<'_>, state: &mut LoopCtx) {
        match &mut self.kind {
            Kind::Held(held @ Held { waiting: Waiting::Stored, .. }) => {
                let finished = stored::answer(held, result, cx, state);
                self.finished(finished, cx, state);
            }
            Kind::WebSocket(ws) => ws.stored(result, cx, state),
            _ => {}
        }
    }

    /// The loops caught up with the publishers: a held `POST` is answered (a connection that
    /// has moved on since it was held is left alone).
    fn caught_up(&mut self, cx: &mut Cx<'_>, state: &mut LoopCtx) {
        if let Kind::Held(held @ Held { waiting: Waiting::CatchUp { id }, .. }) = &self.kind {
            let finished = publish::answer_held(held, *id, false, cx, state);
            self.finished(finished, cx, state);
        }
    }
}

impl Handler for Conn {
    type State = LoopCtx;

    fn on_input(&mut self, input: &[u8], cx: &mut Cx<'_>, state: &mut LoopCtx) -> usize {
        match &mut self.kind {
            Kind::Http(http) => {
                let (consumed, became) = http.on_input(input, cx, state);
                if let Some(became) = became {
                    let draining = http.is_draining();
                    self.became(became, draining, cx, state);
                }
                consumed
            }
            Kind::WebSocket(ws) => {
                let consumed = ws.on_input(input, cx, state);
                state.observer.stream_traffic(&mut self.accounting, cx, 0, 0);
                consumed
            }
            Kind::Sse(sse) => sse.on_input(input),
            Kind::Held(held) => held.on_input(input, state.options.http.max_head, cx),
            Kind::Redis(link) => link.on_input(input, cx, state),
            Kind::Stats(_) | Kind::Done => input.len(),
        }
    }

    fn direct_input(&mut self, state: &mut LoopCtx) -> Option<&mut [u8]> {
        match &mut self.kind {
            Kind::WebSocket(ws) => ws.direct_input(state),
            _ => None,
        }
    }

    fn on_direct_input(&mut self, n: usize, cx: &mut Cx<'_>, state: &mut LoopCtx) {
        if let Kind::WebSocket(ws) = &mut self.kind {
            ws.on_direct_input(n, cx, state);
            state.observer.stream_traffic(&mut self.accounting, cx, 0, 0);
        }
    }

    fn on_deadline(&mut self, cx: &mut Cx<'_>, state: &mut LoopCtx) {
        let finished = match &mut self.kind {
            Kind::Http(http) => return http.on_deadline(cx, state),
            Kind::WebSocket(ws) => return ws.on_deadline(cx, state),
            Kind::Sse(sse) => return sse.on_deadline(cx, state),
            Kind::Stats(stats) => return stats.on_deadline(cx, state),
            Kind::Redis(link) => return link.on_deadline(cx, state),
            Kind::Done => return,
            Kind::Held(held) => match &held.waiting {
                Waiting::Message { channel } => {
                    let channel = Arc::clone(channel);
                    longpoll::hold_ended(held, &channel, cx, state)
                }
                Waiting::CatchUp { id } => publish::answer_held(held, *id, true, cx, state),
                Waiting::Stored => stored::timed_out(held, cx, state),
            },
        };
        self.finished(finished, cx, state);
    }

    fn on_peer_closed(&mut self, cx: &mut Cx<'_>, state: &mut LoopCtx) {
        state.observer.note(cx.id(), || "peer closed its side (FIN)".into());
        match &self.kind {
            // A client that hangs up while held frees its slot at once; so does Redis.
            Kind::Held(_) | Kind::Sse(_) | Kind::Stats(_) | Kind::Redis(_) => cx.abort(),
            // TCP ended without a close handshake (RFC 6455 §7.1.5: code 1006 for the
            // application); an HTTP client that half-closes still gets its answers.
            Kind::WebSocket(_) | Kind::Http(_) | Kind::Done => cx.close(),
        }
    }

    fn on_drain(&mut self, cx: &mut Cx<'_>, state: &mut LoopCtx) {
        self.drain(cx, state);
    }

    fn on_connected(&mut self, cx: &mut Cx<'_>, state: &mut LoopCtx) {
        if let Kind::Redis(link) = &mut self.kind {
            link.on_connected(cx, state);
        }
    }

    fn on_connect_failed(&mut self, error: &io::Error, state: &mut LoopCtx) {
        if let Kind::Redis(link) = &mut self.kind {
            link.on_connect_failed(error, state);
        }
    }

    fn on_closed(&mut self, id: ConnId, state: &mut LoopCtx) {
        state.observer.note(id, || "closed".into());
        state.meter.moved(self.kind.metered(), None);
        match &mut self.kind {
            Kind::WebSocket(ws) => ws.on_closed(id, state),
            Kind::Sse(sse) => sse.on_closed(id, state),
            Kind::Held(Held { waiting: Waiting::Message { channel }, .. }) => longpoll::closed(channel, id, state),
            Kind::Held(Held { waiting: Waiting::CatchUp { .. }, .. }) => state.hub.forget_waiting(id),
            // A held POST's answer finds it gone; a Redis link: `on_outbound_closed`.
            Kind::Held(Held { waiting: Waiting::Stored, .. }) | Kind::Redis(_) => {}
            Kind::Http(_) | Kind::Stats(_) | Kind::Done => {}
        }
    }
}

impl LoopState<Conn> for LoopCtx {
    type Message = LoopMessage;

    fn begin_turn(&mut self, now: std::time::Instant) {
        self.refresh_date(now);
    }

    fn accept(&mut self, cx: &mut Cx<'_>) -> Conn {
        self.observer.note(cx.id(), || "accepted".into());
        self.meter.moved(None, Some(ConnKind::Http));
        Conn { kind: Kind::Http(Box::new(HttpConn::new(self, cx))), accounting: None }
    }

    fn on_message(&mut self, message: LoopMessage, conns: &mut impl ConnectionSet<Conn>) {
        match message {
            LoopMessage::Hub(HubMessage::Broadcast(broadcast)) => deliver(self, &broadcast, conns),
            LoopMessage::Hub(HubMessage::CaughtUp) => {
                let held = self.hub.take_waiting();
                answer_caught_up(self, held, conns);
            }
            LoopMessage::Cluster(message) => on_cluster(self, message, conns),
        }
    }

    fn on_start(&mut self, conns: &mut impl ConnectionSet<Conn>) {
        redis_link::drive(self, conns, Conn::redis);
    }

    fn on_timer(&mut self, conns: &mut impl ConnectionSet<Conn>) {
        redis_link::drive(self, conns, Conn::redis);
    }

    fn on_outbound_closed(&mut self, id: ConnId, conns: &mut impl ConnectionSet<Conn>) {
        redis_link::closed(id, self, conns, Conn::redis);
    }
}

/// A cluster message: a publish for the owner's client (or a nudge to act on its links), or
/// the answer to a held `POST` of this loop.
fn on_cluster(state: &mut LoopCtx, message: ClusterMessage, conns: &mut impl ConnectionSet<Conn>) {
    match message {
        ClusterMessage::Publish(request) => {
            let now = conns.now();
            let LoopCtx { cluster, hub, .. } = state;
            if let Some(client) = cluster.as_mut().and_then(|c| c.client.as_mut()) {
                client.submit(request, now, hub);
            }
            redis_link::drive(state, conns, Conn::redis);
        }
        ClusterMessage::Drive => redis_link::drive(state, conns, Conn::redis),
        ClusterMessage::Answer { conn, result } => {
            conns.with(conn, OutputKind::Answer, state, |c, cx, state| c.stored(result, cx, state));
        }
    }
}

/// A broadcast reached this loop: push it to the subscribers the hub names, release the
/// parked long-polls it names, and answer the held `POST`s it says may go.
fn deliver(state: &mut LoopCtx, broadcast: &Broadcast, conns: &mut impl ConnectionSet<Conn>) {
    let delivery = state.hub.deliver(broadcast);
    if !delivery.subscribers.is_empty() {
        let mut subscribers = delivery.subscribers;
        subscribers.retain(|&id| {
            let push = |conn: &mut Conn, cx: &mut Cx<'_>, state: &mut LoopCtx| conn.push(&broadcast.message, cx, state);
            conns.with(id, OutputKind::Push, state, push).unwrap_or(false)
        });
        state.hub.keep_subscribers(&broadcast.channel, subscribers);
    }
    for (id, messages) in delivery.released {
        conns.with(id, OutputKind::Push, state, |conn, cx, state| conn.release(&messages, cx, state));
    }
    answer_caught_up(state, delivery.caught_up, conns);
}

/// Answers the held `POST`s `ids` — answers, not pushes: they leave ahead of the subscribers'
/// slices.
fn answer_caught_up(state: &mut LoopCtx, ids: Vec<ConnId>, conns: &mut impl ConnectionSet<Conn>) {
    for id in ids {
        conns.with(id, OutputKind::Answer, state, |conn, cx, state| conn.caught_up(cx, state));
    }
}
