//! talkback-server: the handlers that plug the protocol crates into the reactor — routes, the
//! channel hub, and the binaries' shared wiring.
//!
//! A connection starts as HTTP ([`http`]) and may become a WebSocket ([`websocket`]), an SSE
//! stream ([`sse`]) or a parked long-poll ([`longpoll`]): [`conn::Conn`] is one enum with a
//! variant per technique. The [`hub`] keeps every channel's log (shared by all loops) and each
//! loop's own subscribers; a publish on any loop is encoded once per transport and sent to
//! every loop's inbox.
//!
//! ```text
//!  binaries (src/bin)  ──▶ options::Options ──▶ start(listener, Service, Options)
//!                                                 │
//!                     talkback-reactor: Server::start(loops) ── LoopCtx per loop (state.rs)
//!                                                 │
//!           conn::Conn ─┬─ Http ──(routes.rs)──▶ echo / publish / poll / page
//!                       ├─ WebSocket ◀── 101 (websocket.rs, talkback-ws)
//!                       ├─ Sse ◀──────── 200 text/event-stream (sse.rs, talkback-sse)
//!                       ├─ Parked ◀───── long-poll held (longpoll.rs, talkback-longpoll)
//!                       └─ PublishWait ◀ POST answered once delivery catches up (hub.rs)
//! ```
//!
//! Start reading at `routes.rs` (which request becomes what), then `hub.rs` (one broadcast's
//! path); the chapters are `docs/architecture.md` and the technique chapters in `docs/`.

pub mod conn;
pub mod http;
pub mod hub;
pub mod longpoll;
pub mod options;
pub mod page;
pub mod routes;
pub mod sse;
pub mod state;
pub mod stats;
pub mod trace;
pub mod websocket;
pub mod ws_client;

use std::io;
use std::net::TcpListener;
use std::sync::Arc;

use talkback_reactor::{Config, Server};

pub use options::Options;
pub use state::{HubRoutes, Service};

use crate::conn::Conn;
use crate::hub::{Hub, LocalHub};
use crate::state::LoopCtx;
use crate::stats::Stats;

/// Starts `service` on `listener` with `options` (threads, limits, trace). Returns the
/// running server; `join` it, or stop it with its shutdown handle.
pub fn start(listener: TcpListener, service: Service, options: Options, handle_signals: bool) -> io::Result<Server> {
    let config = Config {
        threads: options.threads,
        max_connections: options.max_connections,
        output_cap: options.output_cap,
        handle_signals,
        busy_poll: options.busy_poll,
        ..Config::default()
    };
    let hub = Arc::new(Hub::new(options.history, options.threads.max(1), options.max_ahead));
    let stats = Arc::new(Stats::default());
    let options = Arc::new(options);
    Server::start::<Conn, _>(listener, config, move |index, loops| {
        let local = LocalHub::new(Arc::clone(&hub), index, loops.to_vec());
        LoopCtx::new(service, Arc::clone(&options), local, Arc::clone(&stats), index)
    })
}

/// What every binary does: bind, print `listening on http://ADDR` as the first line of
/// stdout, serve until SIGINT/SIGTERM.
pub fn run(service: Service, options: Options) -> io::Result<()> {
    let listener = talkback_reactor::bind(options.addr)?;
    let addr = listener.local_addr()?;
    println!("listening on http://{addr}");
    use std::io::Write as _;
    io::stdout().flush()?;
    start(listener, service, options, true)?.join()
}

/// [`run`] for a binary's `main`: parses the command line over the service's defaults
/// (message limit; the hub also pings idle WebSockets every 30 s), reports errors in one line.
pub fn main_for(service: Service, about: &str, max_message: usize) {
    let mut defaults = Options::with_defaults(max_message);
    if let Service::Hub(_) = service {
        defaults.ping_interval = Some(std::time::Duration::from_secs(30));
    }
    let options = Options::from_env(about, defaults);
    if let Err(error) = run(service, options) {
        eprintln!("error: {error}");
        std::process::exit(1);
    }
}
