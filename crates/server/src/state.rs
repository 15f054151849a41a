//! The per-loop state, as plain data: which service this server runs, the options, the `Date`
//! cache, the observer (trace and accounting), this loop's view of the hub, and the spare
//! message buffers its WebSockets share.

use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use talkback_http1::DateCache;
use talkback_reactor::{ConnId, LoopHandle};

use crate::cluster::{Cluster, ClusterMailbox, ClusterMessage};
use crate::guard::Guard;
use crate::hub::{HubMessage, LocalHub, Mailbox};
use crate::meters::Meter;
use crate::observe::Observer;
use crate::options::{Options, Transports};

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

impl Service {
    /// This service with only the subscribe routes `offered` (`--transports`) left on.
    pub fn offering(self, offered: Transports) -> Service {
        match self {
            Service::Hub(routes) => Service::Hub(HubRoutes {
                poll: routes.poll && offered.poll,
                longpoll: routes.longpoll && offered.longpoll,
                sse: routes.sse && offered.sse,
                ws: routes.ws && offered.websocket,
                page: routes.page,
            }),
            other => other,
        }
    }

    /// Whether this server serves the demo page, whose requests are tagged and counted.
    pub fn counts_page_requests(self) -> bool {
        matches!(self, Service::Hub(routes) if routes.page)
    }
}

/// What one loop sends another: the hub's messages, and (in a cluster) the Redis client's.
#[derive(Debug)]
pub enum LoopMessage {
    /// A broadcast, a catch-up.
    Hub(HubMessage),
    /// A publish for the loop that owns the Redis links, or its answer.
    Cluster(ClusterMessage),
}

/// The hub reaches a loop through its reactor handle.
impl Mailbox for LoopHandle<LoopMessage> {
    fn send(&self, message: HubMessage) {
        LoopHandle::send(self, LoopMessage::Hub(message));
    }
}

/// So does the cluster.
impl ClusterMailbox for LoopHandle<LoopMessage> {
    fn send_cluster(&self, message: ClusterMessage) {
        LoopHandle::send(self, LoopMessage::Cluster(message));
    }
}

/// State shared by the connections of one loop.
#[derive(Debug)]
pub struct LoopCtx {
    /// What this server answers.
    pub service: Service,
    /// The command line.
    pub options: Arc<Options>,
    /// The publish token and Origin checks the options ask for.
    pub guard: Guard,
    /// The `Date` header value, refreshed once a second.
    pub date: DateCache,
    /// Until when (on the loop's clock) `date` is right: the wall clock's next second.
    date_valid_until: Option<Instant>,
    /// `--trace` and the demo page's accounting.
    pub observer: Observer,
    /// This loop's view of the hub.
    pub hub: LocalHub<ConnId>,
    /// Message buffers lent to whichever WebSocket reads next (see `websocket.rs`).
    pub ws_spares: Vec<Vec<u8>>,
    /// Protocol states of parked WebSockets, to wake the next one into (see `websocket.rs`).
    pub ws_protocols: Vec<Box<talkback_ws::Connection>>,
    /// This loop's counters for `/metrics` (its own unless the server shares them out).
    pub meter: Meter,
    /// Every loop of the server (their socket byte totals, for `/metrics`); empty in a loop
    /// made alone.
    pub loops: Vec<LoopHandle<LoopMessage>>,
    /// This loop's side of the cluster (`--redis`); `None` runs the hub alone.
    pub cluster: Option<Cluster>,
}

impl LoopCtx {
    /// The state of one loop.
    pub fn new(service: Service, options: Arc<Options>, mut hub: LocalHub<ConnId>, observer: Observer) -> LoopCtx {
        hub.set_deflate_threshold(options.deflate_threshold);
        let guard = Guard::new(options.publish_token.as_deref(), &options.allow_origins);
        let mut ctx = LoopCtx {
            service: service.offering(options.transports),
            options,
            guard,
            date: DateCache::new(),
            date_valid_until: None,
            observer,
            hub,
            ws_spares: Vec::new(),
            ws_protocols: Vec::new(),
            meter: Meter::solo(),
            loops: Vec::new(),
            cluster: None,
        };
        ctx.refresh_date(Instant::now());
        ctx
    }

    /// The same loop, a node of a cluster.
    pub fn with_cluster(mut self, cluster: Cluster) -> LoopCtx {
        self.cluster = Some(cluster);
        self
    }

    /// Until when the `Date` value stands without a new look at the wall clock (for tests).
    pub fn date_valid_until(&self) -> Option<Instant> {
        self.date_valid_until
    }

    /// Called once per loop turn, with the turn's time: the `Date` value changes once a
    /// second.
    ///
    /// Fast path (*one wall-clock read a second*): the wall clock is read only once the loop's
    /// clock has passed the second the value shows, not every turn — most turns (a WebSocket
    /// echo, a fan-out) write no `Date`, and each read costs as much as a small message's
    /// framing. A step of the wall clock shows within that second.
    pub fn refresh_date(&mut self, now: Instant) {
        if self.date_valid_until.is_some_and(|until| now < until) {
            return;
        }
        let since_epoch = SystemTime::now().duration_since(UNIX_EPOCH).unwrap_or_default();
        self.date.update(since_epoch.as_secs());
        let rest_of_second = Duration::from_nanos(1_000_000_000 - u64::from(since_epoch.subsec_nanos()));
        self.date_valid_until = Some(now + rest_of_second);
    }
}
