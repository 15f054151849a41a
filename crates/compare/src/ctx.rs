//! What every client of one run shares: the run's context ([`Ctx`]) and [`deliver`], which
//! records one received message. Both kinds of client use it — the request/response ones in
//! `client.rs`, the streams in `stream.rs` — and it uses neither, so the dependencies point one
//! way: `client` → `stream` → `ctx`, and `client` → `ctx`.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering::Relaxed};
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant};

use crate::tally::{Clock, Tally};
use crate::wire::Counters;

/// What every client of one run shares.
#[derive(Debug)]
pub(crate) struct Ctx {
    /// The hub.
    pub(crate) addr: SocketAddr,
    /// The channel everyone subscribes to.
    pub(crate) channel: String,
    /// Header lines added to every client request (`--browser-headers`), else "".
    pub(crate) headers: &'static str,
    /// The run's clock (latencies).
    pub(crate) clock: Clock,
    /// Messages the publisher will send.
    pub(crate) expected: u64,
    /// Set when the idle phase starts: pollers then use their interval / `time_scale`.
    pub(crate) idle: AtomicBool,
    /// The idle phase's compression factor.
    pub(crate) time_scale: u32,
    /// Set at the end of the run: every client returns.
    pub(crate) stop: AtomicBool,
    /// Clients that have received every expected message.
    pub(crate) completed: AtomicUsize,
    /// The reconnect scenario: a client that loses its connection waits `outage`, connects
    /// again and resumes from its cursor (else a lost connection ends the client).
    pub(crate) resume: Option<Duration>,
    /// The last id the publisher has been given back.
    pub(crate) published: AtomicU64,
    /// When the reconnect scenario cut the connections.
    pub(crate) cut_at: Mutex<Option<Instant>>,
}

impl Ctx {
    /// A run's context: `expected` messages on `channel` of the hub at `addr`.
    pub(crate) fn new(addr: SocketAddr, channel: &str, expected: u64, time_scale: u32) -> Ctx {
        Ctx {
            addr,
            channel: channel.into(),
            headers: "",
            clock: Clock::new(),
            expected,
            idle: AtomicBool::new(false),
            time_scale,
            stop: AtomicBool::new(false),
            completed: AtomicUsize::new(0),
            resume: None,
            published: AtomicU64::new(0),
            cut_at: Mutex::new(None),
        }
    }

    /// How long ago the connections were cut (zero if they were not).
    pub(crate) fn since_cut(&self) -> Duration {
        self.cut_at.lock().unwrap_or_else(PoisonError::into_inner).map_or(Duration::ZERO, |at| at.elapsed())
    }
}

/// Records one received message and, when it completes the stream, the counters at that
/// moment (the active phase's cost ends with the last delivery, for every technique alike).
pub(crate) fn deliver(ctx: &Ctx, counters: &Counters, tally: &mut Tally, id: u64, text: &str) {
    tally.record(id, text, ctx.clock.micros());
    if tally.complete() && tally.done_at.is_none() {
        tally.done_at = Some(counters.snapshot());
        ctx.completed.fetch_add(1, Relaxed);
    }
}
