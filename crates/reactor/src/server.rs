//! Starting loops on threads, talking to them from other threads, and stopping them.

use std::io;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use mio::{Poll, Waker};

use crate::conns::{ConnLimits, Connections};
use crate::event_loop::{EventLoop, WAKER};
use crate::handler::{Handler, LoopState};

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
    /// Number of loops (threads). Default: the number of cores.
    pub threads: usize,
    /// Most connections open at once across all loops; new ones beyond it are refused
    /// (accepted and closed) without disturbing the others. Default 100 000.
    pub max_connections: usize,
    /// Output queued per connection before the loop stops reading it. Default 1 MiB.
    pub output_cap: usize,
    /// Unconsumed input a connection may hold; past it the connection is dropped. Protocol
    /// handlers bound their own input well below this; it is the loop's backstop. Default 32 MiB.
    pub max_input: usize,
    /// Stop cleanly on SIGINT/SIGTERM (binaries: yes; in-process tests: no).
    pub handle_signals: bool,
    /// After a turn that had work, keep polling without sleeping for this long before blocking
    /// in `epoll_wait` (adaptive busy-polling). A reply or request that arrives within the
    /// window is picked up at once, without the few microseconds it costs to wake a sleeping
    /// thread — and without making the peer's `write` pay for that wake-up. It spends a core
    /// while traffic is steady, so it is off by default. Default: zero (off).
    pub busy_poll: Duration,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            threads: std::thread::available_parallelism().map_or(1, |n| n.get()),
            max_connections: 100_000,
            output_cap: 1024 * 1024,
            max_input: 32 * 1024 * 1024,
            handle_signals: false,
            busy_poll: Duration::ZERO,
        }
    }
}

/// Messages waiting for one loop, plus the waker that tells it to look.
#[derive(Debug)]
pub(crate) struct Inbox<M> {
    queue: Mutex<Vec<M>>,
    waker: Arc<Waker>,
}

impl<M> Inbox<M> {
    pub(crate) fn take(&self) -> Vec<M> {
        std::mem::take(&mut *self.queue.lock().unwrap_or_else(PoisonError::into_inner))
    }
}

/// Sends messages to one loop from any thread (its own included).
#[derive(Debug)]
pub struct LoopHandle<M> {
    inbox: Arc<Inbox<M>>,
}

impl<M> Clone for LoopHandle<M> {
    fn clone(&self) -> Self {
        LoopHandle { inbox: Arc::clone(&self.inbox) }
    }
}

impl<M> LoopHandle<M> {
    /// Queues `message` for the loop and wakes it (one wake-up per batch, not per message).
    pub fn send(&self, message: M) {
        let was_empty = {
            let mut queue = self.inbox.queue.lock().unwrap_or_else(PoisonError::into_inner);
            queue.push(message);
            queue.len() == 1
        };
        if was_empty {
            let _ = self.inbox.waker.wake();
        }
    }
}

/// What every loop of one server shares.
#[derive(Debug)]
pub(crate) struct Shared {
    pub(crate) stopping: AtomicBool,
    /// One entry per loop, indexed by loop number.
    pub(crate) loops: Box<[LoopSeat]>,
}

/// What other loops may see of, and hand to, one loop.
#[derive(Debug)]
pub(crate) struct LoopSeat {
    waker: Arc<Waker>,
    /// Connections the loop holds (its own count, stored once per turn, plus hand-offs on
    /// their way to it). Read by accepting loops to choose where a new connection goes.
    pub(crate) load: AtomicUsize,
    /// Accepted sockets handed to this loop by another one, waiting to be registered.
    arrivals: Mutex<Vec<mio::net::TcpStream>>,
}

impl Shared {
    pub(crate) fn stop(&self) {
        self.stopping.store(true, Ordering::Release);
        for seat in &self.loops {
            let _ = seat.waker.wake();
        }
    }

    /// Gives an accepted socket to loop `to` and wakes it.
    pub(crate) fn hand_off(&self, to: usize, socket: mio::net::TcpStream) {
        let seat = &self.loops[to];
        seat.load.fetch_add(1, Ordering::Relaxed);
        seat.arrivals.lock().unwrap_or_else(PoisonError::into_inner).push(socket);
        let _ = seat.waker.wake();
    }

    /// The sockets other loops handed to loop `index` since it last looked.
    pub(crate) fn take_arrivals(&self, index: usize) -> Vec<mio::net::TcpStream> {
        std::mem::take(&mut *self.loops[index].arrivals.lock().unwrap_or_else(PoisonError::into_inner))
    }
}

/// Stops a running server from any thread.
#[derive(Debug, Clone)]
pub struct ShutdownHandle {
    shared: Arc<Shared>,
}

impl ShutdownHandle {
    /// Asks every loop to close its connections and return.
    pub fn shutdown(&self) {
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

impl Server {
    /// Starts `config.threads` loops on `listener`. `make_state(index, handles)` runs once per
    /// loop, on that loop's thread, and gets handles to every loop (for cross-loop publishing).
    pub fn start<H, F>(listener: std::net::TcpListener, config: Config, make_state: F) -> io::Result<Server>
    where
        H: Handler,
        F: Fn(usize, &[LoopHandle<<H::State as LoopState<H>>::Message>]) -> H::State + Send + Sync + 'static,
    {
        listener.set_nonblocking(true)?;
        let addr = listener.local_addr()?;
        let threads = config.threads.max(1);
        let mut polls = Vec::with_capacity(threads);
        let mut handles = Vec::with_capacity(threads);
        let mut seats = Vec::with_capacity(threads);
        for _ in 0..threads {
            let poll = Poll::new()?;
            let waker = Arc::new(Waker::new(poll.registry(), WAKER)?);
            seats.push(LoopSeat {
                waker: Arc::clone(&waker),
                load: AtomicUsize::new(0),
                arrivals: Mutex::new(Vec::new()),
            });
            let inbox = Arc::new(Inbox { queue: Mutex::new(Vec::new()), waker });
            handles.push(LoopHandle { inbox });
            polls.push(poll);
        }
        let shared = Arc::new(Shared { stopping: AtomicBool::new(false), loops: seats.into() });
        let make_state = Arc::new(make_state);
        let per_loop_max = config.max_connections.div_ceil(threads).max(1);
        let mut joins = Vec::with_capacity(threads);
        for (index, poll) in polls.into_iter().enumerate() {
            let listener = mio::net::TcpListener::from_std(listener.try_clone()?);
            let signals = if index == 0 && config.handle_signals {
                Some(signal_hook_mio::v1_0::Signals::new([signal_hook::consts::SIGINT, signal_hook::consts::SIGTERM])?)
            } else {
                None
            };
            let registry = poll.registry().try_clone()?;
            let limits = ConnLimits {
                output_cap: config.output_cap,
                max_input: config.max_input,
                max_connections: per_loop_max,
            };
            let (handles, make_state, shared) = (handles.clone(), Arc::clone(&make_state), Arc::clone(&shared));
            let inbox = Arc::clone(&handles[index].inbox);
            let thread = std::thread::Builder::new().name(format!("talkback-loop-{index}")).spawn(move || {
                let state = make_state(index, &handles);
                let event_loop: EventLoop<H> = EventLoop {
                    index,
                    poll,
                    listener,
                    conns: Connections::new(registry, limits, Instant::now()),
                    state,
                    inbox,
                    shared,
                    signals,
                    accept_paused_until: None,
                    busy_poll: config.busy_poll,
                };
                event_loop.run()
            })?;
            joins.push(thread);
        }
        Ok(Server { addr, threads: joins, shared })
    }

    /// The address the server listens on.
    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }

    /// A handle that stops the server from another thread.
    pub fn shutdown_handle(&self) -> ShutdownHandle {
        ShutdownHandle { shared: Arc::clone(&self.shared) }
    }

    /// Waits for every loop to return (after SIGINT/SIGTERM or a shutdown request).
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
