//! The four client techniques as a browser would run them, one thread each, all subscribed to
//! the same channel. This file holds the table's rows ([`Technique`]), the dispatch ([`run`])
//! and the two request/response techniques:
//!
//! - **short polling**: `GET /poll?after=N` every interval on a keep-alive connection, as
//!   `setInterval(fetch, ms)` would; most answers are 204 once the stream stops.
//! - **long polling**: `GET /longpoll?after=N&timeout=30`, and again the moment an answer
//!   arrives; the hub holds each request until there is news (or the hold ends: 204).
//!
//! The streaming techniques (SSE, WebSocket) are in `stream.rs`; what every client shares (the
//! run's [`Ctx`], [`deliver`]) is in `ctx.rs`, below both. Each client counts its bytes through
//! [`crate::wire::Counted`] and checks deliveries through a [`Tally`].

use std::io;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering::Relaxed};
use std::time::{Duration, Instant};

use crate::ctx::{Ctx, deliver};
use crate::http::{Head, HttpConn};
use crate::tally::{Tally, parse_batch};
use crate::wire::Counters;

/// The long-poll timeout a client asks for: the hub's default hold (README, "The hub's URLs"
/// and "Limits"). The hub caps it at `max_hold`, which the run sets to 30 s divided by the
/// time scale.
pub(crate) const LONGPOLL_TIMEOUT_SECS: u64 = 30;

/// One row of the table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Technique {
    /// Short polling at this interval.
    ShortPoll(Duration),
    /// Long polling.
    LongPoll,
    /// Server-Sent Events.
    Sse,
    /// WebSocket.
    WebSocket,
    /// WebSocket with permessage-deflate (RFC 7692) offered as Chromium offers it.
    WebSocketDeflate,
}

impl Technique {
    /// The name in the table.
    pub(crate) fn name(&self) -> String {
        match self {
            Technique::ShortPoll(interval) => format!("short polling ({} ms)", interval.as_millis()),
            Technique::LongPoll => "long polling".into(),
            Technique::Sse => "SSE".into(),
            Technique::WebSocket => "WebSocket".into(),
            Technique::WebSocketDeflate => "WebSocket + deflate".into(),
        }
    }
}

/// How many times one client of the reconnect scenario connects again before it gives up.
const MAX_RECONNECTS: u64 = 5;

/// Runs one client of `technique` until `ctx.stop`; `ready` is called once it is subscribed
/// (the publisher waits for every client's). An I/O error ends the client early — unless the
/// run resumes (`ctx.resume`, the reconnect scenario): then the client stays away for the
/// outage, connects again and asks for what it missed from its cursor, as a browser page
/// would. What it received still counts, and the error is returned beside the tally.
pub(crate) fn run(
    technique: Technique,
    ctx: &Ctx,
    counters: &Arc<Counters>,
    ready: impl FnOnce(),
) -> (Tally, Option<String>) {
    let mut tally = Tally::new(ctx.expected);
    tally.resumed_by = technique.resumes_by(ctx.resume.is_some());
    let mut ready = Some(ready);
    loop {
        let subscribed = || {
            if let Some(ready) = ready.take() {
                ready();
            }
        };
        let result = match technique {
            Technique::ShortPoll(interval) => short_poll(ctx, counters, interval, &mut tally, subscribed),
            Technique::LongPoll => long_poll(ctx, counters, &mut tally, subscribed),
            Technique::Sse => crate::stream::sse(ctx, counters, &mut tally, subscribed),
            Technique::WebSocket => crate::stream::websocket(ctx, counters, &mut tally, subscribed, false),
            Technique::WebSocketDeflate => crate::stream::websocket(ctx, counters, &mut tally, subscribed, true),
        };
        let error = match result {
            Err(error) if !ctx.stop.load(Relaxed) => error,
            _ => return (tally, None),
        };
        let Some(outage) = ctx.resume.filter(|_| tally.reconnects < MAX_RECONNECTS) else {
            return (tally, Some(error.to_string()));
        };
        let noticed = ctx.since_cut();
        tally.noticed = Some(tally.noticed.map_or(noticed, |longest| longest.max(noticed)));
        sleep_until(Instant::now() + outage, &ctx.stop);
        tally.reconnected(ctx.published.load(Relaxed));
    }
}

impl Technique {
    /// What a client of this technique sends to resume from its cursor.
    fn resumes_by(self, resume: bool) -> &'static str {
        match self {
            _ if !resume => "",
            Technique::ShortPoll(_) | Technique::LongPoll => "`?after=N`",
            Technique::Sse => "`Last-Event-ID: N`",
            Technique::WebSocket | Technique::WebSocketDeflate => "`talkback.json`, `?after=N`",
        }
    }
}

/// Handles a poll or long-poll answer: 200 with a batch, or 204 (an empty response).
fn handle_answer(ctx: &Ctx, counters: &Counters, tally: &mut Tally, head: &Head, body: &[u8]) -> io::Result<()> {
    tally.missed_reported += head.missed;
    match head.status {
        204 => counters.empty_answer(),
        200 => {
            let batch = parse_batch(body).ok_or_else(|| io::Error::new(io::ErrorKind::InvalidData, "bad batch"))?;
            for (id, text) in batch {
                deliver(ctx, counters, tally, id, &text);
            }
        }
        other => return Err(io::Error::other(format!("unexpected status {other}"))),
    }
    Ok(())
}

fn short_poll(
    ctx: &Ctx,
    counters: &Arc<Counters>,
    interval: Duration,
    tally: &mut Tally,
    ready: impl FnOnce(),
) -> io::Result<()> {
    let mut conn = HttpConn::connect(ctx.addr, counters, ctx.headers)?;
    ready();
    let mut next = Instant::now();
    while !ctx.stop.load(Relaxed) {
        let sent_at = Instant::now();
        conn.get(&format!("/ch/{}/poll?after={}", ctx.channel, tally.last_id), "Accept: application/json\r\n")?;
        let Some((head, body)) = conn.read_response(&ctx.stop)? else { break };
        handle_answer(ctx, counters, tally, &head, &body)?;
        next = next_poll(ctx, interval, next, sent_at);
    }
    Ok(())
}

/// Waits for the next poll like `setInterval`: on a fixed schedule (no drift from the time
/// each poll takes), switching to the compressed interval the moment the idle phase starts.
/// Returns the time the poll was due.
fn next_poll(ctx: &Ctx, interval: Duration, due: Instant, sent_at: Instant) -> Instant {
    let compressed = interval / ctx.time_scale;
    let mut step = if ctx.idle.load(Relaxed) { compressed } else { interval };
    let mut next = due + step;
    while !ctx.stop.load(Relaxed) {
        let now = Instant::now();
        if step != compressed && ctx.idle.load(Relaxed) {
            step = compressed;
            next = next.min((sent_at + step).max(now));
        }
        if now >= next {
            // Fallen more than a step behind (a slow answer): restart the schedule from now.
            return if now - next > step { now } else { next };
        }
        std::thread::sleep((next - now).min(crate::wire::TICK));
    }
    next
}

fn long_poll(ctx: &Ctx, counters: &Arc<Counters>, tally: &mut Tally, ready: impl FnOnce()) -> io::Result<()> {
    let mut conn = HttpConn::connect(ctx.addr, counters, ctx.headers)?;
    let mut ready = Some(ready);
    while !ctx.stop.load(Relaxed) {
        let target = format!("/ch/{}/longpoll?after={}&timeout={LONGPOLL_TIMEOUT_SECS}", ctx.channel, tally.last_id);
        conn.get(&target, "Accept: application/json\r\n")?;
        // The first request carries after=0, so it cannot miss anything published later.
        if let Some(ready) = ready.take() {
            ready();
        }
        let Some((head, body)) = conn.read_response(&ctx.stop)? else { break };
        handle_answer(ctx, counters, tally, &head, &body)?;
    }
    Ok(())
}

/// Sleeps until `deadline` in short steps, returning early when `stop` is set.
pub(crate) fn sleep_until(deadline: Instant, stop: &AtomicBool) {
    while !stop.load(Relaxed) {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return;
        }
        std::thread::sleep(left.min(crate::wire::TICK));
    }
}
