//! The per-loop state: which service this server runs, the options, the `Date` cache, the
//! tracer, and (for the hub) this loop's subscribers.

use std::cell::Cell;
use std::sync::Arc;
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use talkback_http1::DateCache;
use talkback_reactor::{Connections, Cx, LoopState};

use crate::conn::Conn;
use crate::http::HttpConn;
use crate::hub::{HubMessage, LocalHub};
use crate::options::Options;
use crate::stats::Stats;
use crate::trace::Tracer;

/// What a server answers: each binary picks one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Service {
    /// `http-echo`: GET/HEAD → a short text; POST/PUT → the body echoed.
    HttpEcho,
    /// `ws-echo`: a WebSocket on any path echoing each message; a plain GET → 426.
    WsEcho,
    /// The channel hub with the given routes enabled.
    Hub(HubRoutes),
}

/// Which of the hub's routes a hub server answers (`POST /ch/{c}` always).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HubRoutes {
    /// `GET /ch/{c}/poll` (short polling).
    pub poll: bool,
    /// `GET /ch/{c}/longpoll`.
    pub longpoll: bool,
    /// `GET /ch/{c}/sse`.
    pub sse: bool,
    /// `GET /ch/{c}/ws`.
    pub ws: bool,
    /// The demo page at `/` and the stats stream.
    pub page: bool,
}

impl HubRoutes {
    /// Every route: the `demo` server.
    pub const ALL: HubRoutes = HubRoutes { poll: true, longpoll: true, sse: true, ws: true, page: true };
    /// `sse-echo`: publish and SSE only.
    pub const SSE: HubRoutes = HubRoutes { poll: false, longpoll: false, sse: true, ws: false, page: false };
    /// `longpoll-echo`: publish, poll and long-poll only.
    pub const LONGPOLL: HubRoutes = HubRoutes { poll: true, longpoll: true, sse: false, ws: false, page: false };
}

/// State shared by the connections of one loop.
#[derive(Debug)]
pub struct LoopCtx {
    pub(crate) service: Service,
    pub(crate) options: Arc<Options>,
    pub(crate) date: DateCache,
    date_secs: u64,
    pub(crate) tracer: Option<Tracer>,
    pub(crate) hub: LocalHub,
    /// Per-client accounting for the demo page (shared by all loops).
    pub(crate) stats: Arc<Stats>,
    /// What the last answer was, for the accounting: its status and how many messages it
    /// carried. Written by the responders, read right after by the HTTP connection.
    pub(crate) last_answer: Cell<(u16, u64)>,
    /// Message buffers lent to whichever WebSocket reads next (see `websocket.rs`).
    pub(crate) ws_spares: Vec<Vec<u8>>,
}

impl LoopCtx {
    pub(crate) fn new(
        service: Service,
        options: Arc<Options>,
        hub: LocalHub,
        stats: Arc<Stats>,
        loop_index: usize,
    ) -> LoopCtx {
        let tracer = options.trace.then(|| Tracer::new(loop_index));
        let last_answer = Cell::new((0, 0));
        let mut ctx = LoopCtx {
            service,
            options,
            date: DateCache::new(),
            date_secs: 0,
            tracer,
            hub,
            stats,
            last_answer,
            ws_spares: Vec::new(),
        };
        ctx.refresh_date();
        ctx
    }

    fn refresh_date(&mut self) {
        let secs = SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs());
        if secs != self.date_secs {
            self.date_secs = secs;
            self.date.update(secs);
        }
    }
}

impl LoopState<Conn> for LoopCtx {
    type Message = HubMessage;

    fn begin_turn(&mut self, _now: Instant) {
        self.refresh_date();
    }

    fn accept(&mut self, cx: &mut Cx<'_>) -> Conn {
        if let Some(tracer) = &self.tracer {
            tracer.note(cx.id(), "accepted");
        }
        Conn::Http(Box::new(HttpConn::new(self, cx)))
    }

    fn on_message(&mut self, message: HubMessage, conns: &mut Connections<Conn>) {
        crate::hub::on_message(self, message, conns);
    }
}
