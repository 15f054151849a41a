//! Starting loops on threads, and stopping them: at once, or by draining (stop accepting,
//! let every connection finish, then return).

use std::io;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::AtomicBool;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use mio::{Poll, Waker};
use signal_hook_mio::v1_0::Signals;

use crate::conns::{ConnLimits, Connections};
use crate::endpoint::{DEFAULT_MAX_INPUT, DEFAULT_OUTPUT_CAP};
use crate::event_loop::{EventLoop, WAKER};
use crate::handler::{Handler, LoopState};
use crate::shared::{Inbox, LoopHandle, LoopSeat, Shared};

/// The listen backlog: connections the kernel queues before `accept` (capped by
/// `net.core.somaxconn`). std's `TcpListener::bind` uses 128, which drops SYNs — and stalls
/// clients for a second — when thousands connect at once.
pub const LISTEN_BACKLOG: i32 = 4096;

/// Binds a listening socket with `SO_REUSEADDR` and a [`LISTEN_BACKLOG`]-deep accept queue.
pub fn bind(addr: SocketAddr) -> io::Result<std::net::TcpListener> {
    use socket2::{Domain, Protocol, Socket, Type};
    let socket = Socket::new(Domain::for_address(addr), Type::STREAM, Some(Protocol::TCP))?;
    socket.set_reuse_address(true)?;
    socket.bind(&addr.into())?;
    socket.listen(LISTEN_BACKLOG)?;
    Ok(socket.into())
}

/// Limits and knobs of the loops. Every limit has a flag in the binaries.
#[derive(Debug, Clone)]
pub struct Config {
    /// Number of loops (threads). Default: [`default_threads`], one per core less one.
    pub threads: usize,
    /// Most connections open at once across all loops; new ones beyond it are refused
    /// (accepted and closed) without disturbing the others. Default 100 000.
    pub max_connections: usize,
    /// Output queued per connection before the loop stops reading it. Default 1 MiB.
    pub output_cap: usize,
    /// Unconsumed input a connection may hold; past it the connection is dropped. Protocol
    /// handlers bound their own input well below this; it is the loop's backstop. Default 32 MiB.
    pub max_input: usize,
    /// Drain on the first SIGINT/SIGTERM, exit at once on a second (binaries: yes; in-process
    /// tests: no).
    pub handle_signals: bool,
    /// How long a drain may take: connections still open when it has passed are closed, and
    /// the loops return. Default 5 s.
    pub drain_timeout: Duration,
    /// After a turn that had work, keep polling without sleeping for this long before blocking
    /// in `epoll_wait` (adaptive busy-polling). A reply or request that arrives within the
    /// window is picked up at once, without the few microseconds it costs to wake a sleeping
    /// thread — and without making the peer's `write` pay for that wake-up. It spends a core
    /// while traffic is steady, so it is off by default. Default: zero (off).
    pub busy_poll: Duration,
}

/// How many loops a server runs unless told: one per core, less one core left to the rest of
/// the machine, and at least one (so one loop on two cores).
///
/// A loop is busy only while there is work, but the work a server causes is not all its own:
/// the kernel's TCP stack, the peers on the same host (a proxy in front, Redis behind, or the
/// clients themselves on a test box) and the loop that hands a broadcast to the others all need
/// a core. Measured on two cores (docs/event-loop.md, "How many loops"), a second loop that has
/// to share one with them costs more than it brings: 1 000 SSE subscribers got 1.2–1.4 M
/// deliveries/s from one loop and 0.5–0.8 M from two, because the loops' writes stopped
/// carrying several messages each (13 messages per `writev` with one loop, 2.6 with two).
pub fn default_threads() -> usize {
    std::thread::available_parallelism().map_or(1, |cores| cores.get().saturating_sub(1).max(1))
}

impl Default for Config {
    fn default() -> Self {
        Config {
            threads: default_threads(),
            max_connections: 100_000,
            output_cap: DEFAULT_OUTPUT_CAP,
            max_input: DEFAULT_MAX_INPUT,
            handle_signals: false,
            drain_timeout: Duration::from_secs(5),
            busy_poll: Duration::ZERO,
        }
    }
}

/// Stops a running server from any thread.
#[derive(Debug, Clone)]
pub struct ShutdownHandle {
    shared: Arc<Shared>,
}

impl ShutdownHandle {
    /// Drains the server, as the first SIGINT/SIGTERM does: every loop stops accepting (once
    /// all have, new connections are refused), asks each open connection to finish
    /// ([`Handler::on_drain`]) and returns when it has none left, or when
    /// [`Config::drain_timeout`] has passed (closing the rest). [`Server::join`] then returns.
    pub fn shutdown(&self) {
        self.shared.drain();
    }

    /// Stops at once, draining or not: every loop closes its connections and returns.
    pub fn stop_now(&self) {
        self.shared.stop();
    }
}

/// A started server: its loops are running on their threads.
#[derive(Debug)]
pub struct Server {
    addr: SocketAddr,
    threads: Vec<JoinHandle<io::Result<()>>>,
    shared: Arc<Shared>,
}

/// The messages a loop of `H` receives.
type Message<H> = <<H as Handler>::State as LoopState<H>>::Message;

/// One loop before its thread starts: its `Poll` and the handle of its inbox.
struct Unstarted<M> {
    poll: Poll,
    handle: LoopHandle<M>,
    seat: LoopSeat,
}

impl<M> Unstarted<M> {
    fn new() -> io::Result<Self> {
        let poll = Poll::new()?;
        let waker = Arc::new(Waker::new(poll.registry(), WAKER)?);
        let handle = LoopHandle::new(Arc::new(Inbox::new(Some(Arc::clone(&waker)))));
        Ok(Unstarted { poll, handle, seat: LoopSeat::new(waker) })
    }
}

/// Everything one loop's thread starts from.
struct LoopStart<H: Handler> {
    index: usize,
    poll: Poll,
    registry: mio::Registry,
    listener: mio::net::TcpListener,
    signals: Option<Signals>,
    limits: ConnLimits,
    busy_poll: Duration,
    drain_timeout: Duration,
    handles: Vec<LoopHandle<Message<H>>>,
    shared: Arc<Shared>,
}

impl<H: Handler> LoopStart<H> {
    /// Starts the loop's thread: `make_state` runs there, then the loop.
    fn spawn<F>(self, make_state: Arc<F>) -> io::Result<JoinHandle<io::Result<()>>>
    where
        F: Fn(usize, &[LoopHandle<Message<H>>]) -> H::State + Send + Sync + 'static,
    {
        std::thread::Builder::new().name(format!("talkback-loop-{}", self.index)).spawn(move || {
            let event_loop: EventLoop<H> = EventLoop {
                index: self.index,
                state: make_state(self.index, &self.handles),
                conns: Connections::new(self.registry, self.limits, Instant::now()),
                poll: self.poll,
                listener: Some(self.listener),
                inbox: Arc::clone(self.handles[self.index].inbox()),
                shared: self.shared,
                signals: self.signals,
                accept_paused_until: None,
                busy_poll: self.busy_poll,
                drain_timeout: self.drain_timeout,
                drain_deadline: None,
            };
            event_loop.run()
        })
    }
}

impl Server {
    /// Starts `config.threads` loops on `listener`. `make_state(index, handles)` runs once per
    /// loop, on that loop's thread, and gets handles to every loop (for cross-loop publishing).
    pub fn start<H, F>(listener: std::net::TcpListener, config: Config, make_state: F) -> io::Result<Server>
    where
        H: Handler,
        F: Fn(usize, &[LoopHandle<Message<H>>]) -> H::State + Send + Sync + 'static,
    {
        listener.set_nonblocking(true)?;
        let addr = listener.local_addr()?;
        let threads = config.threads.max(1);
        let loops = (0..threads).map(|_| Unstarted::new()).collect::<io::Result<Vec<_>>>()?;
        let handles: Vec<_> = loops.iter().map(|l| l.handle.clone()).collect();
        let (polls, seats): (Vec<_>, Vec<_>) = loops.into_iter().map(|l| (l.poll, l.seat)).unzip();
        let shared = Arc::new(Shared::new(seats));
        let make_state = Arc::new(make_state);
        let limits = ConnLimits {
            output_cap: config.output_cap,
            max_input: config.max_input,
            max_connections: config.max_connections.div_ceil(threads).max(1),
        };
        let mut joins = Vec::with_capacity(threads);
        for (index, poll) in polls.into_iter().enumerate() {
            let signals = if index == 0 && config.handle_signals { Some(drain_signals()?) } else { None };
            let start = LoopStart::<H> {
                index,
                registry: poll.registry().try_clone()?,
                poll,
                listener: mio::net::TcpListener::from_std(listener.try_clone()?),
                signals,
                limits,
                busy_poll: config.busy_poll,
                drain_timeout: config.drain_timeout,
                handles: handles.clone(),
                shared: Arc::clone(&shared),
            };
            joins.push(start.spawn(Arc::clone(&make_state))?);
        }
        Ok(Server { addr, threads: joins, shared })
    }

    /// The address the server listens on.
    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }

    /// A handle that drains or stops the server from another thread.
    pub fn shutdown_handle(&self) -> ShutdownHandle {
        ShutdownHandle { shared: Arc::clone(&self.shared) }
    }

    /// Waits for every loop to return (after a drain — SIGINT/SIGTERM or
    /// [`ShutdownHandle::shutdown`] — or [`ShutdownHandle::stop_now`]).
    pub fn join(self) -> io::Result<()> {
        for thread in self.threads {
            match thread.join() {
                Ok(result) => result?,
                Err(_) => return Err(io::Error::other("an event loop thread panicked")),
            }
        }
        Ok(())
    }
}

/// The signal pipe loop 0 polls, where the first SIGINT or SIGTERM starts a drain.
///
/// A second one ends the process at once — from the signal handler itself (signal-hook's
/// "double Ctrl-C" idiom: a conditional exit, armed by the first signal), so it works
/// whatever the loops are doing, even after loop 0 has finished its own share of the drain.
/// The exit status is 128 + the signal's number (130 for SIGINT, 143 for SIGTERM), as a shell
/// reports a process the signal killed.
fn drain_signals() -> io::Result<Signals> {
    use signal_hook::consts::{SIGINT, SIGTERM};
    let armed = Arc::new(AtomicBool::new(false));
    for signal in [SIGINT, SIGTERM] {
        // Registered before the arming, so the first signal finds it unarmed.
        signal_hook::flag::register_conditional_shutdown(signal, 128 + signal, Arc::clone(&armed))?;
        signal_hook::flag::register(signal, Arc::clone(&armed))?;
    }
    Signals::new([SIGINT, SIGTERM])
}
