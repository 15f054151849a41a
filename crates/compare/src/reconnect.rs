//! The reconnect scenario: every technique loses its connection in the middle of a stream and
//! resumes from its cursor, the way a page must when a phone changes networks or the server
//! restarts. Two clients per technique, against a hub of their own:
//!
//! ```text
//!  connect   each client subscribes to channel "reconnect" — the "client drops" one straight
//!            to the hub, the "server cuts" one through a relay (proxy.rs)
//!  stream    the publisher POSTs `--reconnect` messages at `--rate`
//!  the cut   right after message n/2 is answered: the "client drops" clients shut their own
//!            socket (a FIN to the hub); the relay cuts the others (a FIN from the hub's side)
//!  away      each client notices on its own — a stream at once, a poller at its next poll —
//!            then stays away for `--outage` while the stream goes on without it
//!  resume    it connects again and asks for what came after its cursor: polling and
//!            long-polling `?after=N`, SSE `Last-Event-ID: N`, the WebSocket `talkback.json`
//!            with `?after=N`
//! ```
//!
//! Each client's [`Tally`] then says what was lost (the goal is none), what arrived twice or
//! out of order, what the hub said was missed, how long the client took to notice, and how long
//! after reconnecting it had everything published before it reconnected (the catch-up).

use std::io;
use std::net::TcpListener;
use std::sync::atomic::Ordering::Relaxed;
use std::sync::{Arc, PoisonError, mpsc};
use std::thread;
use std::time::{Duration, Instant};

use talkback_server::{HubRoutes, Service};

use crate::args::Args;
use crate::client::{self, Technique};
use crate::ctx::Ctx;
use crate::proxy::Relay;
use crate::run::{ClientThread, hub_options, publish, techniques};
use crate::tally::{Clock, Tally};
use crate::wire::Counters;

/// How long the clients have to connect.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// How a client loses its connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Loss {
    /// The client shuts its own socket down.
    ClientDrops,
    /// The connection is cut on the hub's side of the client (the relay closes it).
    ServerCuts,
}

impl Loss {
    /// The name in the table.
    pub(crate) fn name(self) -> &'static str {
        match self {
            Loss::ClientDrops => "client drops",
            Loss::ServerCuts => "server cuts",
        }
    }
}

/// What one client of the scenario measured.
#[derive(Debug)]
pub(crate) struct Resumed {
    /// Which technique.
    pub(crate) technique: Technique,
    /// How it lost its connection.
    pub(crate) loss: Loss,
    /// Deliveries, reconnects and the catch-up.
    pub(crate) tally: Tally,
    /// Why the client gave up, if it did.
    pub(crate) error: Option<String>,
}

/// The result of [`run`].
#[derive(Debug)]
pub(crate) struct Outcome {
    /// One per technique and kind of loss.
    pub(crate) rows: Vec<Resumed>,
    /// The connections were lost right after this message was published.
    pub(crate) cut_after: u64,
    /// Problems the publisher saw.
    pub(crate) publisher_errors: Vec<String>,
}

/// Runs the scenario with `args.reconnect` messages.
pub(crate) fn run(args: &Args) -> io::Result<Outcome> {
    let listener = TcpListener::bind("127.0.0.1:0")?;
    let server = talkback_server::start(listener, Service::Hub(HubRoutes::ALL), hub_options(args), false)?;
    let relay = Relay::start(server.local_addr())?;
    let clock = Clock::new();
    let contexts = [Loss::ClientDrops, Loss::ServerCuts].map(|loss| {
        let addr = if loss == Loss::ClientDrops { server.local_addr() } else { relay.addr() };
        let mut ctx = Ctx::new(addr, "reconnect", args.reconnect, args.time_scale);
        ctx.resume = Some(args.outage);
        ctx.clock = clock; // one clock for both, so latencies are against the publisher's stamps
        (loss, Arc::new(ctx))
    });
    let result = scenario(args, &contexts, &relay);
    for (_, ctx) in &contexts {
        ctx.stop.store(true, Relaxed);
    }
    drop(relay);
    server.shutdown_handle().stop_now();
    server.join()?;
    result
}

fn scenario(args: &Args, contexts: &[(Loss, Arc<Ctx>); 2], relay: &Relay) -> io::Result<Outcome> {
    let (ready_tx, ready_rx) = mpsc::channel();
    let mut clients: Vec<(Loss, ClientThread)> = Vec::new();
    for (loss, ctx) in contexts {
        for technique in techniques(args) {
            let counters = Arc::new(Counters::default());
            let (ctx, c, tx) = (Arc::clone(ctx), Arc::clone(&counters), ready_tx.clone());
            let handle = thread::spawn(move || {
                client::run(technique, &ctx, &c, move || {
                    let _ = tx.send(());
                })
            });
            clients.push((*loss, (technique, counters, handle)));
        }
    }
    for _ in &clients {
        if ready_rx.recv_timeout(CONNECT_TIMEOUT).is_err() {
            return Err(io::Error::other("a reconnect client did not connect in time"));
        }
    }
    let [(_, dropping), (_, cut)] = contexts;
    let cut_after = args.reconnect / 2;
    let (publisher_errors, _) = publish(dropping, args.reconnect, args.rate, |seq| {
        cut.published.store(seq, Relaxed);
        if seq == cut_after {
            let now = Some(Instant::now());
            for (_, ctx) in contexts {
                *ctx.cut_at.lock().unwrap_or_else(PoisonError::into_inner) = now;
            }
            for (loss, (_, counters, _)) in &clients {
                if *loss == Loss::ClientDrops {
                    counters.drop_connection();
                }
            }
            relay.cut();
        }
    });
    drain(args, contexts, clients.len());
    for (_, ctx) in contexts {
        ctx.stop.store(true, Relaxed);
    }
    let mut rows = Vec::new();
    for (loss, (technique, _, handle)) in clients {
        let (tally, error) = handle.join().map_err(|_| io::Error::other("a reconnect client panicked"))?;
        rows.push(Resumed { technique, loss, tally, error });
    }
    Ok(Outcome { rows, cut_after, publisher_errors })
}

/// Waits until every client has every message, or until the slowest poller has had time to
/// notice, stay away, come back and poll twice more.
fn drain(args: &Args, contexts: &[(Loss, Arc<Ctx>); 2], clients: usize) {
    let slowest = args.poll_intervals.iter().max().copied().unwrap_or_default();
    let deadline = Instant::now() + 3 * slowest + args.outage + Duration::from_secs(2);
    let completed = || contexts.iter().map(|(_, ctx)| ctx.completed.load(Relaxed)).sum::<usize>();
    while completed() < clients && Instant::now() < deadline {
        thread::sleep(Duration::from_millis(5));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_technique_resumes_from_its_cursor_and_loses_nothing_either_way_it_is_cut() {
        let Ok(crate::args::Mode::Compare(mut args)) = crate::args::parse(vec![]) else { panic!("defaults") };
        (args.reconnect, args.rate, args.outage, args.threads) = (30, 100.0, Duration::from_millis(100), 2);
        args.poll_intervals = vec![Duration::from_millis(50)];
        let outcome = run(&args).unwrap();
        assert!(outcome.publisher_errors.is_empty(), "{:?}", outcome.publisher_errors);
        assert_eq!(outcome.cut_after, 15);
        // Short polling, long polling, SSE, WebSocket, WebSocket + deflate; each loses its
        // connection both ways.
        assert_eq!(outcome.rows.len(), 10, "5 techniques x 2 kinds of loss");
        for r in &outcome.rows {
            let t = &r.tally;
            let what = format!("{:?} / {}: {:?}, {}", r.technique, r.loss.name(), r.error, t.resumed_by);
            assert_eq!((t.delivered, t.duplicates, t.out_of_order, t.malformed), (30, 0, 0, 0), "{what}");
            assert!(t.reconnects >= 1, "{what}: the connection was lost and made again");
            assert!(t.catch_up.is_some() && t.noticed.is_some(), "{what}");
            assert!(r.error.is_none(), "{what}");
        }
    }
}
