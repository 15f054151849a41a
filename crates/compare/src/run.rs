//! One comparison run, in three phases against one hub started in this process:
//!
//! ```text
//!  connect   every client subscribes to channel "compare"; the publisher waits for all
//!  active    the publisher POSTs `messages` at `rate`/s (each at a random moment of its
//!            1/rate slot, so pollers cannot phase-lock), each stamped with its send time;
//!            a client's active cost ends when its last message arrives (wire::Snapshot)
//!  idle      nothing is published for `idle` simulated seconds, run `time_scale` times faster:
//!            the SSE heartbeat (15 s), the long-poll hold (30 s) and the poll intervals are
//!            all divided by the same factor, so each idle exchange happens as often per
//!            simulated minute as it would per real minute; bytes are then per simulated minute
//! ```
//!
//! Every technique sees the same stream at the same moment, so the rows differ only in how
//! the messages travel.

use std::io;
use std::net::TcpListener;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering::Relaxed};
use std::sync::mpsc;
use std::thread;
use std::time::{Duration, Instant};

use talkback_server::{HubRoutes, Options, Service};

use crate::args::Args;
use crate::client::{self, Technique, sleep_until};
use crate::ctx::Ctx;
use crate::http::HttpConn;
use crate::tally::{Tally, stamp};
use crate::wire::{Counters, Snapshot};

/// The SSE heartbeat interval, a hub default that the idle phase compresses (README, "The hub's
/// URLs": a `: heartbeat` comment every 15 s).
pub(crate) const HEARTBEAT: Duration = Duration::from_secs(15);
/// The long-poll hold a client asks for (and the hub's default).
pub(crate) const HOLD: Duration = Duration::from_secs(client::LONGPOLL_TIMEOUT_SECS);

/// How long the clients have to connect.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// What one client measured.
#[derive(Debug)]
pub(crate) struct Measured {
    /// Which technique.
    pub(crate) technique: Technique,
    /// Deliveries, latencies, and the counters at the last delivery.
    pub(crate) tally: Tally,
    /// Counters from the start to the last delivery (or to the end of the active phase).
    pub(crate) active: Snapshot,
    /// Counters over the idle phase.
    pub(crate) idle: Snapshot,
    /// An I/O error that ended the client early.
    pub(crate) error: Option<String>,
}

/// The result of [`run`].
#[derive(Debug)]
pub(crate) struct RunResult {
    /// One per technique, in table order.
    pub(crate) rows: Vec<Measured>,
    /// Problems the publisher saw (ids it was not given back, failed requests).
    pub(crate) publisher_errors: Vec<String>,
    /// Mean bytes of one message's text (the payload every technique carries).
    pub(crate) payload_bytes: f64,
}

/// The techniques of the table, in order.
pub(crate) fn techniques(args: &Args) -> Vec<Technique> {
    let polls = args.poll_intervals.iter().map(|&i| Technique::ShortPoll(i));
    polls.chain([Technique::LongPoll, Technique::Sse, Technique::WebSocket, Technique::WebSocketDeflate]).collect()
}

/// The hub's options for a run: the heartbeat and the longest hold compressed by the time scale.
pub(crate) fn hub_options(args: &Args) -> Options {
    let mut options = Options::with_defaults(64 << 10);
    options.threads = args.threads;
    options.trace = args.trace;
    options.heartbeat = args.compress(HEARTBEAT);
    options.max_hold = args.compress(HOLD);
    options
}

/// Runs the three phases and returns what every client measured.
pub(crate) fn run(args: &Args) -> io::Result<RunResult> {
    let listener = TcpListener::bind("127.0.0.1:0")?;
    let server = talkback_server::start(listener, Service::Hub(HubRoutes::ALL), hub_options(args), false)?;
    let addr = server.local_addr();
    let mut ctx = Ctx::new(addr, "compare", args.messages, args.time_scale);
    ctx.headers = if args.browser_headers { crate::http::BROWSER_HEADERS } else { "" };
    let ctx = Arc::new(ctx);
    let result = phases(args, &ctx);
    ctx.stop.store(true, Relaxed);
    server.shutdown_handle().stop_now();
    server.join()?;
    result
}

pub(crate) type ClientThread = (Technique, Arc<Counters>, thread::JoinHandle<(Tally, Option<String>)>);

fn phases(args: &Args, ctx: &Arc<Ctx>) -> io::Result<RunResult> {
    let (ready_tx, ready_rx) = mpsc::channel();
    let clients: Vec<ClientThread> = techniques(args)
        .into_iter()
        .map(|technique| {
            let counters = Arc::new(Counters::default());
            let (ctx, c, tx) = (Arc::clone(ctx), Arc::clone(&counters), ready_tx.clone());
            let handle = thread::spawn(move || {
                client::run(technique, &ctx, &c, move || {
                    let _ = tx.send(());
                })
            });
            (technique, counters, handle)
        })
        .collect();
    for _ in &clients {
        if ready_rx.recv_timeout(CONNECT_TIMEOUT).is_err() {
            ctx.stop.store(true, Relaxed);
            return Err(io::Error::other("a client did not connect in time"));
        }
    }
    let (publisher_errors, payload_total) = publish(ctx, args.messages, args.rate, |_| {});
    let payload_bytes = payload_total as f64 / args.messages as f64;
    drain(args, ctx, clients.len());
    let active_end: Vec<Snapshot> = clients.iter().map(|(_, c, _)| c.snapshot()).collect();
    ctx.idle.store(true, Relaxed);
    let idle_start: Vec<Snapshot> = clients.iter().map(|(_, c, _)| c.snapshot()).collect();
    thread::sleep(args.compress(args.idle));
    let idle_end: Vec<Snapshot> = clients.iter().map(|(_, c, _)| c.snapshot()).collect();
    ctx.stop.store(true, Relaxed);
    let mut rows = Vec::new();
    for (i, (technique, _, handle)) in clients.into_iter().enumerate() {
        let idle = idle_end[i] - idle_start[i];
        let (tally, error) = handle.join().map_err(|_| io::Error::other("a client thread panicked"))?;
        let active = tally.done_at.unwrap_or(active_end[i]);
        rows.push(Measured { technique, tally, active, idle, error });
    }
    Ok(RunResult { rows, publisher_errors, payload_bytes })
}

/// Waits until every client has every message, or long enough that the slowest poller
/// would have had two more chances.
fn drain(args: &Args, ctx: &Ctx, clients: usize) {
    let slowest = args.poll_intervals.iter().max().copied().unwrap_or_default();
    let deadline = Instant::now() + 2 * slowest + Duration::from_secs(2);
    while ctx.completed.load(Relaxed) < clients && Instant::now() < deadline {
        thread::sleep(Duration::from_millis(5));
    }
}

/// The publisher: one keep-alive connection, `POST /ch/{c}` at `rate` per second, each text
/// stamped with its send time. Checks that the hub answers with the expected id, records it in
/// `ctx.published`, then calls `after_each(id)`. Returns the problems seen and the total bytes
/// of message text sent.
pub(crate) fn publish(ctx: &Ctx, messages: u64, rate: f64, mut after_each: impl FnMut(u64)) -> (Vec<String>, usize) {
    let (clock, channel) = (&ctx.clock, &ctx.channel);
    let mut errors = Vec::new();
    let never = AtomicBool::new(false);
    let mut conn = match HttpConn::connect(ctx.addr, &Arc::new(Counters::default()), "") {
        Ok(conn) => conn,
        Err(e) => return (vec![format!("publisher could not connect: {e}")], 0),
    };
    let start = Instant::now();
    let mut total = 0;
    let mut jitter = Jitter(0x9e37_79b9_7f4a_7c15);
    for seq in 1..=messages {
        // A random moment inside the message's 1/rate slot: the rate is kept on average, the
        // order is kept, and a poller's schedule cannot phase-lock with the publisher's.
        let due = ((seq - 1) as f64 + jitter.next_unit()) / rate;
        sleep_until(start + Duration::from_secs_f64(due), &never);
        let text = stamp(clock.micros(), seq);
        total += text.len();
        let sent = conn.post(&format!("/ch/{channel}"), &text);
        match sent.and_then(|()| conn.read_response(&never)) {
            Ok(Some((head, body))) if head.status == 200 && body == seq.to_string().as_bytes() => {
                ctx.published.store(seq, Relaxed);
                after_each(seq);
            }
            Ok(Some((head, body))) => {
                errors.push(format!("message {seq}: {} {:?}", head.status, String::from_utf8_lossy(&body)))
            }
            Ok(None) => errors.push(format!("message {seq}: no answer")),
            Err(e) => {
                errors.push(format!("message {seq}: {e}"));
                break;
            }
        }
    }
    (errors, total)
}

/// A fixed-seed xorshift64 generator: the same jitter on every run, no dependency.
struct Jitter(u64);

impl Jitter {
    /// The next value, uniform in [0, 1).
    fn next_unit(&mut self) -> f64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        (self.0 >> 11) as f64 / (1u64 << 53) as f64
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_technique_delivers_a_small_stream_completely() {
        let Ok(crate::args::Mode::Compare(mut args)) = crate::args::parse(vec![]) else { panic!("defaults") };
        (args.messages, args.rate, args.idle, args.time_scale) = (20, 200.0, Duration::from_secs(6), 30);
        (args.poll_intervals, args.clients, args.threads) = (vec![Duration::from_millis(50)], 0, 2);
        let result = run(&args).unwrap();
        assert!(result.publisher_errors.is_empty(), "{:?}", result.publisher_errors);
        assert_eq!(result.rows.len(), 5, "polling, long polling, SSE, WebSocket, WebSocket + deflate");
        for m in &result.rows {
            let t = &m.tally;
            assert_eq!((t.delivered, t.duplicates, t.out_of_order, t.malformed), (20, 0, 0, 0), "{:?}", m.technique);
            assert!(m.error.is_none(), "{:?}: {:?}", m.technique, m.error);
            assert!(m.active.requests >= 1 && m.active.http_bytes() > 20 * 20, "{:?}", m.technique);
        }
    }

    #[test]
    fn jitter_is_uniform_enough_and_in_range() {
        let mut jitter = Jitter(0x9e37_79b9_7f4a_7c15);
        let values: Vec<f64> = (0..10_000).map(|_| jitter.next_unit()).collect();
        assert!(values.iter().all(|v| (0.0..1.0).contains(v)));
        let mean = values.iter().sum::<f64>() / values.len() as f64;
        assert!((mean - 0.5).abs() < 0.02, "mean {mean}");
    }
}
