//! talkback-server: the handlers that plug the protocol crates into the reactor — routes, the
//! channel hub, and the binaries' shared wiring.
//!
//! A connection starts as HTTP and may become a WebSocket, an SSE stream or a held request
//! (a parked long-poll, a `POST` waiting for delivery to catch up): [`conn`] is one enum with a
//! variant per kind, switched from the values the layers below it return. The [`hub`] is pure
//! data — every channel's log (shared by all loops) and each loop's registries — and says what
//! to do; the dispatch does it.
//!
//! Modules depend one way, top to bottom (each may use those below it, never those above):
//!
//! ```text
//!  conn        connection dispatch: the Conn enum (Handler) and the loop state's on_message
//!   │            (turns the hub's Delivery into pushes and answers); the observer hangs here
//!  http        the HTTP/1.1 side: decode, time out, route, say what the connection Became
//!  routes      which request gets which answer; Handled / Switch
//!  websocket · sse · longpoll · publish · page · metrics · client_js
//!              the transports (and the scrape, the client module)
//!  stored · redis_link   the cluster's (--redis): a POST held until Redis stored it; the
//!                        Redis links as loop 0's outbound connections
//!  held        a request whose answer waits (long-poll, held POST): one type, one rule
//!  answer      the answering layer: ReplyTo, respond, Pushed (every response is traced here)
//!  state       LoopCtx: the per-loop state, plain data; LoopMessage; Service, HubRoutes
//!  cluster     the Redis client as a state machine, the keys and the publish script
//!  hub         pure data and rules: channels, logs, registries, publish, catch-up, the budget
//!  observe     the observer: --trace and the demo page's accounting
//!  options · redis_options · guard · meters · stats · trace   flags, who may publish and
//!                                                    from which Origin, counters, the trace writer
//! ```
//!
//! Start reading at `routes.rs` (which request becomes what), then `hub/mod.rs` (one broadcast's
//! path) and `conn.rs` (how it reaches the sockets); the chapters are `docs/architecture.md`
//! and the technique chapters in `docs/`.

pub mod answer;
pub mod client_js;
pub mod cluster;
pub mod conn;
pub mod flags;
pub mod guard;
pub mod held;
mod http;
pub mod hub;
pub mod longpoll;
pub mod meters;
pub mod metrics;
pub mod observe;
pub mod options;
pub mod page;
pub mod publish;
pub mod redis_link;
pub mod redis_options;
mod routes;
pub mod sse;
pub mod state;
pub mod stats;
pub mod stored;
pub mod trace;
pub mod websocket;
pub mod ws_client;

#[cfg(test)]
mod tests;

use std::io;
use std::net::{SocketAddr, TcpListener};
use std::sync::Arc;

use talkback_reactor::{Config, Server};

pub use conn::Conn;
pub use options::Options;
pub use state::{HubRoutes, LoopCtx, Service};

use crate::cluster::{Client, Cluster, ClusterMailbox, ClusterStatus, Settings};
use crate::hub::{Hub, HubLimits, LocalHub, Mailbox};
use crate::meters::{Meter, Meters};
use crate::observe::Observer;
use crate::stats::Stats;
use crate::trace::Tracer;

/// Starts `service` on `listener` with `options` (threads, limits, trace). Returns the
/// running server; `join` it, or stop it with its shutdown handle.
pub fn start(listener: TcpListener, service: Service, options: Options, handle_signals: bool) -> io::Result<Server> {
    let hub = hub_for(&options);
    start_with_hub(listener, service, options, hub, handle_signals)
}

/// The hub `options` ask for (history, budget, channel cap, backpressure), for its loops.
pub fn hub_for(options: &Options) -> Arc<Hub> {
    let limits = HubLimits {
        history: options.history,
        max_retained_bytes: options.max_retained_bytes,
        max_channels: options.max_channels,
        max_ahead: options.max_ahead,
    };
    Arc::new(Hub::new(limits, options.threads.max(1)))
}

/// [`start`] over a hub the caller made with [`hub_for`] and keeps a handle to (a test reads
/// its retained bytes and channel count).
pub fn start_with_hub(
    listener: TcpListener,
    service: Service,
    options: Options,
    hub: Arc<Hub>,
    handle_signals: bool,
) -> io::Result<Server> {
    let config = Config {
        threads: options.threads,
        max_connections: options.max_connections,
        output_cap: options.output_cap,
        handle_signals,
        drain_timeout: options.drain_timeout,
        busy_poll: options.busy_poll,
        ..Config::default()
    };
    let stats = Arc::new(Stats::default());
    let meters = Meters::new(options.threads.max(1));
    let options = Arc::new(options);
    let status = Arc::new(ClusterStatus::default());
    Server::start::<Conn, _>(listener, config, move |index, loops| {
        let mailboxes = loops.iter().map(|handle| Box::new(handle.clone()) as Box<dyn Mailbox>).collect();
        let local = LocalHub::new(Arc::clone(&hub), index, mailboxes);
        let tracer = options.trace.then(|| Tracer::new(index));
        let observer = Observer::new(tracer, Arc::clone(&stats), service.counts_page_requests());
        let mut ctx = LoopCtx::new(service, Arc::clone(&options), local, observer);
        ctx.meter = Meter::new(Arc::clone(&meters), index);
        ctx.loops = loops.to_vec();
        // Only a hub has channels to keep in Redis (the echo servers ignore --redis).
        match cluster_for(&options, index, loops, &status).filter(|_| matches!(service, Service::Hub(_))) {
            Some(cluster) => ctx.with_cluster(cluster),
            None => ctx,
        }
    })
}

/// Loop `index`'s side of the cluster `--redis` names (none without the flag): loop 0 owns
/// the Redis links, the others send it their publishes.
pub fn cluster_for<M>(options: &Options, index: usize, loops: &[M], status: &Arc<ClusterStatus>) -> Option<Cluster>
where
    M: ClusterMailbox + Clone + 'static,
{
    let url = options.redis.url.as_ref()?;
    let mailbox = |handle: &M| Box::new(handle.clone()) as Box<dyn ClusterMailbox>;
    let client = (index == 0).then(|| {
        let settings = Settings {
            addr: url.addr,
            db: url.db,
            prefix: options.redis.prefix.clone(),
            history: options.history,
            timeout: options.redis.timeout,
            backoff: (options.redis.backoff_min, options.redis.backoff_max),
            max_pending: options.redis.max_pending,
            sync_buffer: options.redis.sync_buffer,
        };
        Client::new(settings, Arc::clone(status), loops.iter().map(mailbox).collect())
    });
    Some(Cluster::new(index, mailbox(loops.first()?), Arc::clone(status), client))
}

/// What every binary does: bind, print `listening on http://ADDR` as the first line of
/// stdout, serve until SIGINT/SIGTERM, then drain (at most `--drain-timeout`) and return
/// `Ok` — the binary exits 0. A second signal during the drain exits at once (status 130
/// or 143).
pub fn run(service: Service, options: Options) -> io::Result<()> {
    let listener = bind(options.addr)?;
    let addr = listener.local_addr()?;
    // Started first: once the line is out, the signals are handled (a script may send one).
    let server = start(listener, service, options, true)?;
    println!("listening on http://{addr}");
    use std::io::Write as _;
    io::stdout().flush()?;
    server.join()
}

/// Binds the listening socket; a failure names the address and the flag that changes it.
fn bind(addr: SocketAddr) -> io::Result<TcpListener> {
    talkback_reactor::bind(addr).map_err(|error| {
        let hint = "choose another with --addr HOST:PORT; port 0 picks a free one";
        io::Error::new(error.kind(), format!("cannot listen on {addr}: {error} ({hint})"))
    })
}

/// [`run`] for a binary's `main`: parses the command line over the service's defaults
/// (message limit; the hub also pings idle WebSockets every 30 s), reports errors in one line.
pub fn main_for(service: Service, about: &str, max_message: usize) {
    let mut defaults = Options::with_defaults(max_message);
    match service {
        Service::Hub(_) => defaults.ping_interval = Some(std::time::Duration::from_secs(30)),
        // An echo compresses every message when deflate was agreed (as uWebSockets' does): it
        // is the peer of conformance suites and benchmarks, which send short messages too.
        Service::WsEcho => defaults.deflate_threshold = 0,
        _ => {}
    }
    let options = Options::from_env(about, defaults);
    if let Err(error) = run(service, options) {
        eprintln!("error: {error}");
        std::process::exit(1);
    }
}
