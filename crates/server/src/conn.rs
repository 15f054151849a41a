//! One connection's handler: it starts as HTTP and may become a WebSocket, an SSE stream or a
//! parked long-poll — one enum, one variant per technique, switched in place.

use talkback_reactor::{ConnId, Cx, Handler};

use crate::http::HttpConn;
use crate::hub::{Encoded, PublishWait};
use crate::longpoll::ParkedConn;
use crate::page::StatsConn;
use crate::sse::SseConn;
use crate::state::LoopCtx;
use crate::stats::{Marks, Tag, account};
use crate::websocket::WsConn;

/// What a connection currently is.
///
/// The HTTP and WebSocket states are boxed so the enum (and each slot of the reactor's slab)
/// stays small: an idle SSE stream or parked long-poll pays for its own few fields only.
#[derive(Debug)]
pub enum Conn {
    /// Reading requests, writing responses (keep-alive, pipelining).
    Http(Box<HttpConn>),
    /// Upgraded to a WebSocket (RFC 6455).
    WebSocket(Box<WsConn>),
    /// An open `text/event-stream` response.
    Sse(SseConn),
    /// A long-poll request held until a message or its deadline.
    Parked(ParkedConn),
    /// The demo page's stream of counters.
    Stats(StatsConn),
    /// A `POST` whose answer waits for the loops to catch up with the publishers.
    PublishWait(PublishWait),
    /// Closing; whatever arrives is ignored.
    Done,
}

impl Conn {
    /// A request became this stream or parked request: it carries the demo page's accounting
    /// on from the HTTP connection's marks; a stream accounts its opening request now.
    pub(crate) fn attach_accounting(&mut self, tag: Option<Tag>, marks: Marks, cx: &mut Cx<'_>, state: &LoopCtx) {
        let Some(tag) = tag else { return };
        match self {
            Conn::Parked(parked) => parked.accounting = Some(Box::new((tag, marks))),
            Conn::Sse(sse) => {
                sse.accounting = Some(Box::new((tag, marks)));
                account(&mut sse.accounting, cx, &state.stats, 1, 0);
            }
            Conn::WebSocket(ws) => {
                ws.accounting = Some(Box::new((tag, marks)));
                account(&mut ws.accounting, cx, &state.stats, 1, 0);
            }
            Conn::Http(_) | Conn::Stats(_) | Conn::PublishWait(_) | Conn::Done => {}
        }
    }

    /// The loops caught up with the publishers: a waiting `POST` is answered (anything else —
    /// a connection that has moved on since it waited — is left alone).
    pub(crate) fn publish_caught_up(&mut self, cx: &mut Cx<'_>, state: &mut LoopCtx) {
        if let Conn::PublishWait(wait) = self {
            *self = wait.answer(cx, state);
        }
    }

    /// A channel message reached this connection; returns whether it stays subscribed.
    pub(crate) fn push(&mut self, message: &Encoded, cx: &mut Cx<'_>, state: &mut LoopCtx) -> bool {
        match self {
            Conn::Sse(sse) => sse.push(message, cx, state),
            Conn::WebSocket(ws) => ws.push(message, cx, state),
            _ => false,
        }
    }
}

impl Handler for Conn {
    type State = LoopCtx;

    fn on_input(&mut self, input: &[u8], cx: &mut Cx<'_>, state: &mut LoopCtx) -> usize {
        match self {
            Conn::Http(http) => match http.on_input(input, cx, state) {
                (consumed, None) => consumed,
                (consumed, Some(next)) => {
                    *self = next;
                    cx.replay_input(); // bytes after the switch belong to the new protocol
                    consumed
                }
            },
            Conn::WebSocket(ws) => ws.on_input(input, cx, state),
            Conn::Sse(sse) => sse.on_input(input, cx, state),
            Conn::Parked(parked) => parked.on_input(input, cx, state),
            Conn::PublishWait(wait) => wait.on_input(input, cx, state),
            Conn::Stats(_) | Conn::Done => input.len(),
        }
    }

    fn direct_input(&mut self, state: &mut LoopCtx) -> Option<&mut [u8]> {
        match self {
            Conn::WebSocket(ws) => ws.direct_input(state),
            _ => None,
        }
    }

    fn on_direct_input(&mut self, n: usize, cx: &mut Cx<'_>, state: &mut LoopCtx) {
        if let Conn::WebSocket(ws) = self {
            ws.on_direct_input(n, cx, state);
        }
    }

    fn on_deadline(&mut self, cx: &mut Cx<'_>, state: &mut LoopCtx) {
        let next = match self {
            Conn::Http(http) => {
                http.on_deadline(cx, state);
                None
            }
            Conn::WebSocket(ws) => {
                ws.on_deadline(cx, state);
                None
            }
            Conn::Sse(sse) => {
                sse.on_deadline(cx, state);
                None
            }
            Conn::Parked(parked) => Some(parked.on_deadline(cx, state)),
            Conn::PublishWait(wait) => Some(wait.answer(cx, state)),
            Conn::Stats(stats) => {
                stats.on_deadline(cx, state);
                None
            }
            Conn::Done => None,
        };
        if let Some(next) = next {
            *self = next;
            cx.replay_input();
        }
    }

    fn on_peer_closed(&mut self, cx: &mut Cx<'_>, state: &mut LoopCtx) {
        if let Some(tracer) = &state.tracer {
            tracer.note(cx.id(), "peer closed its side (FIN)");
        }
        match self {
            // A client that hangs up while parked frees its slot at once.
            Conn::Parked(_) | Conn::Sse(_) | Conn::Stats(_) | Conn::PublishWait(_) => cx.abort(),
            Conn::WebSocket(ws) => ws.on_peer_closed(cx, state),
            Conn::Http(_) | Conn::Done => cx.close(),
        }
    }

    fn on_closed(&mut self, id: ConnId, state: &mut LoopCtx) {
        if let Some(tracer) = &state.tracer {
            tracer.note(id, "closed");
        }
        match self {
            Conn::WebSocket(ws) => ws.on_closed(id, state),
            Conn::Sse(sse) => sse.on_closed(id, state),
            Conn::Parked(parked) => parked.on_closed(id, state),
            Conn::Http(_) | Conn::Stats(_) | Conn::PublishWait(_) | Conn::Done => {}
        }
    }
}
