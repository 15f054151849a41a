//! What the threads of one server share: each loop's inbox (and the [`LoopHandle`] that
//! fills it), each loop's seat (its load, the sockets handed to it), and what the server was
//! asked to do ([`Ask`]: run, drain, stop).
//!
//! `server` makes these and `event_loop` reads them; neither needs the other for it.

use std::sync::atomic::{AtomicU8, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, PoisonError};

use mio::Waker;

/// Messages waiting for one loop, plus the waker that tells it to look (none in the test
/// loop, which is asked to look).
#[derive(Debug)]
pub(crate) struct Inbox<M> {
    queue: Mutex<Vec<M>>,
    waker: Option<Arc<Waker>>,
    /// The loop's socket byte counts, stored by the loop once per turn (one writer: a plain
    /// store, no read-modify-write), read by anyone holding a [`LoopHandle`].
    io: [AtomicU64; 2],
}

impl<M> Inbox<M> {
    pub(crate) fn new(waker: Option<Arc<Waker>>) -> Self {
        Inbox { queue: Mutex::new(Vec::new()), waker, io: [AtomicU64::new(0), AtomicU64::new(0)] }
    }

    /// The loop's own thread publishes its totals (see [`LoopHandle::io_totals`]).
    pub(crate) fn store_io(&self, totals: IoTotals) {
        self.io[0].store(totals.read, Ordering::Relaxed);
        self.io[1].store(totals.written, Ordering::Relaxed);
    }

    /// Every message queued since the last call.
    pub(crate) fn take(&self) -> Vec<M> {
        std::mem::take(&mut *self.queue.lock().unwrap_or_else(PoisonError::into_inner))
    }
}

/// Bytes one loop has moved through its sockets since it started: read from them, and
/// written to them (accepted by the kernel; queued bytes not yet written are not counted).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct IoTotals {
    /// Bytes read from the loop's connections.
    pub read: u64,
    /// Bytes written to them.
    pub written: u64,
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
    pub(crate) fn new(inbox: Arc<Inbox<M>>) -> Self {
        LoopHandle { inbox }
    }

    /// The inbox this handle fills.
    pub(crate) fn inbox(&self) -> &Arc<Inbox<M>> {
        &self.inbox
    }

    /// The loop's socket byte counts as of its last turn (a metrics scrape sums them over the
    /// loops; reading them costs the loop nothing).
    pub fn io_totals(&self) -> IoTotals {
        IoTotals { read: self.inbox.io[0].load(Ordering::Relaxed), written: self.inbox.io[1].load(Ordering::Relaxed) }
    }

    /// Queues `message` for the loop and wakes it (one wake-up per batch, not per message).
    pub fn send(&self, message: M) {
        let was_empty = {
            let mut queue = self.inbox.queue.lock().unwrap_or_else(PoisonError::into_inner);
            queue.push(message);
            queue.len() == 1
        };
        if was_empty && let Some(waker) = &self.inbox.waker {
            let _ = waker.wake();
        }
    }
}

/// What the loops have been asked to do. It only ever moves forward: `Run → Drain → Stop`
/// (or `Run → Stop`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Ask {
    /// Serve.
    Run = 0,
    /// Stop accepting, let every connection finish (`Handler::on_drain`), return when none is
    /// left or the drain deadline passes.
    Drain = 1,
    /// Close every connection and return now.
    Stop = 2,
}

/// What every loop of one server shares.
#[derive(Debug)]
pub(crate) struct Shared {
    /// An [`Ask`], as its number.
    ask: AtomicU8,
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

impl LoopSeat {
    pub(crate) fn new(waker: Arc<Waker>) -> Self {
        LoopSeat { waker, load: AtomicUsize::new(0), arrivals: Mutex::new(Vec::new()) }
    }

    /// What wakes the loop (for its alarm, `alarm.rs`).
    pub(crate) fn waker(&self) -> &Arc<Waker> {
        &self.waker
    }
}

impl Shared {
    pub(crate) fn new(loops: Vec<LoopSeat>) -> Self {
        Shared { ask: AtomicU8::new(Ask::Run as u8), loops: loops.into() }
    }

    /// What the loops are asked to do.
    pub(crate) fn ask(&self) -> Ask {
        match self.ask.load(Ordering::Acquire) {
            0 => Ask::Run,
            1 => Ask::Drain,
            _ => Ask::Stop,
        }
    }

    /// Asks every loop to drain (unless it is already draining or stopping).
    pub(crate) fn drain(&self) {
        self.raise(Ask::Drain);
    }

    /// Asks every loop to close its connections and return at once.
    pub(crate) fn stop(&self) {
        self.raise(Ask::Stop);
    }

    /// Moves the ask forward to `to` (never back) and wakes every loop to look.
    fn raise(&self, to: Ask) {
        self.ask.fetch_max(to as u8, Ordering::AcqRel);
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
