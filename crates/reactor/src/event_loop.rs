//! One event loop: a mio `Poll` over a listener, a waker, (on loop 0) the signal pipe, and
//! this loop's connections. One loop runs per thread; a connection lives on one loop for its
//! whole life.
//!
//! Busy-polling (`Config::busy_poll`) lives here too: after a turn with work, `run` polls with
//! a zero timeout for a while, so a reply that arrives meanwhile skips a sleeping thread's
//! wake-up. So does draining: asked to drain (`Shared::drain`), a loop tells every connection
//! (`Handler::on_drain`), closes its listener, and runs on until it holds no connection or its
//! drain deadline passes.

use std::io;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use mio::net::TcpListener;
use mio::{Events, Interest, Poll, Token};

use crate::alarm::Alarm;
use crate::conns::{CONNECTING, Connections};
use crate::handler::{ConnectionSet, Handler, LoopState};
use crate::shared::{Ask, Inbox, Shared};

// What a loop polls besides its connections, whose tokens are their slab slots.
/// The listening socket.
const LISTENER: Token = Token(usize::MAX - 1);
/// The loop's `Waker`: messages in its inbox, or sockets handed to it (`server` makes it).
pub(crate) const WAKER: Token = Token(usize::MAX - 2);
/// The signal pipe (loop 0 only).
const SIGNALS: Token = Token(usize::MAX - 3);

/// How long accepting pauses after the process ran out of file descriptors (EMFILE): long
/// enough not to spin, short enough to notice freed descriptors soon.
const ACCEPT_BACKOFF: Duration = Duration::from_millis(100);

/// The size of the scratch buffer every read of this loop goes into (large enough that a
/// 64 KiB WebSocket message with its header usually arrives in one read).
const SCRATCH_SIZE: usize = 256 * 1024;

/// One loop: what it polls, its connections and its handlers' shared state.
pub(crate) struct EventLoop<H: Handler> {
    /// This loop's number (its seat in `shared.loops`).
    pub(crate) index: usize,
    pub(crate) poll: Poll,
    /// The listening socket (a clone of every loop's); dropped when the loop starts draining.
    pub(crate) listener: Option<TcpListener>,
    pub(crate) conns: Connections<H>,
    pub(crate) state: H::State,
    pub(crate) inbox: Arc<Inbox<<H::State as LoopState<H>>::Message>>,
    pub(crate) shared: Arc<Shared>,
    pub(crate) signals: Option<signal_hook_mio::v1_0::Signals>,
    /// Accepting is paused until then (EMFILE back-off).
    pub(crate) accept_paused_until: Option<Instant>,
    /// How long to keep polling without sleeping after a turn with work (`Config::busy_poll`).
    pub(crate) busy_poll: Duration,
    /// How long a drain may take (`Config::drain_timeout`).
    pub(crate) drain_timeout: Duration,
    /// Set when this loop starts draining: when it stops waiting for its connections.
    pub(crate) drain_deadline: Option<Instant>,
}

impl<H: Handler> EventLoop<H> {
    /// Runs until asked to stop, or until a drain is over.
    pub(crate) fn run(mut self) -> io::Result<()> {
        if let Some(listener) = self.listener.as_mut() {
            self.poll.registry().register(listener, LISTENER, Interest::READABLE)?;
        }
        if let Some(signals) = self.signals.as_mut() {
            self.poll.registry().register(signals, SIGNALS, Interest::READABLE)?;
        }
        self.state.on_start(&mut self.conns);
        // Without its alarm thread (none could be spawned) the loop polls with a timeout.
        let waker = Arc::clone(self.shared.loops[self.index].waker());
        let mut alarm = Alarm::start(waker, format!("talkback-alarm-{}", self.index)).ok();
        let mut events = Events::with_capacity(1024);
        let mut scratch = vec![0u8; SCRATCH_SIZE];
        // Until when this loop polls without sleeping (see `Config::busy_poll`).
        let mut spin_until = Instant::now();
        // The last turn left output unwritten (see `FLUSH_SLICE`): look for events, but do
        // not sleep.
        let mut work_left = false;
        while !self.done() {
            let timeout = if work_left || (!self.busy_poll.is_zero() && Instant::now() < spin_until) {
                Some(Duration::ZERO)
            } else {
                self.poll_timeout(alarm.as_mut())
            };
            if let Err(e) = self.poll.poll(&mut events, timeout) {
                if e.kind() == io::ErrorKind::Interrupted {
                    continue;
                }
                return Err(e);
            }
            let now = Instant::now(); // read once per turn, passed down
            if !events.is_empty() {
                spin_until = now + self.busy_poll;
            }
            work_left = self.turn(now, &events, &mut scratch);
        }
        self.conns.close_all(&mut self.state);
        Ok(())
    }

    /// Whether to return: asked to stop, or draining with nothing left to wait for.
    fn done(&self) -> bool {
        match (self.shared.ask(), self.drain_deadline) {
            (Ask::Stop, _) => true,
            (_, Some(deadline)) => self.conns.is_empty() || self.conns.now() >= deadline,
            (Ask::Run | Ask::Drain, None) => false,
        }
    }

    /// One turn, after `poll` returned `events` at `now`. Returns whether work is left over
    /// for the next turn.
    fn turn(&mut self, now: Instant, events: &Events, scratch: &mut [u8]) -> bool {
        self.conns.set_now(now);
        self.state.begin_turn(now);
        let mut woken = false;
        for event in events.iter() {
            match event.token() {
                // First, and one comparison: every other token is above a connection's.
                token if token.0 < CONNECTING => self.conns.ready(token, event, &mut self.state, scratch),
                LISTENER => self.accept(),
                WAKER => woken = true,
                SIGNALS => self.on_signal(),
                Token(connecting) => self.conns.connect_ready(connecting - CONNECTING, &mut self.state),
            }
        }
        // Messages from other threads are handled after this turn's sockets: a publish read
        // in this turn joins the inbox first, and one drain delivers them all together.
        if woken {
            self.take_arrivals();
            self.drain_inbox();
        }
        // After the inbox: a held request that a queued broadcast answers gets that answer.
        if self.drain_deadline.is_none() && self.shared.ask() == Ask::Drain {
            self.begin_drain(now);
        }
        self.resume_accepting(now);
        self.conns.run_timers(&mut self.state);
        if self.conns.run_loop_timers(&mut self.state) {
            self.state.on_timer(&mut self.conns);
        }
        let work_left = self.conns.settle(&mut self.state, scratch);
        self.shared.loops[self.index].load.store(self.conns.len(), Ordering::Relaxed);
        self.inbox.store_io(self.conns.io_totals());
        work_left
    }

    /// How long `poll` may sleep: until the next deadline — or, with the loop's `alarm` set
    /// for it (`alarm.rs`), for as long as no event comes.
    fn poll_timeout(&self, alarm: Option<&mut Alarm>) -> Option<Duration> {
        let deadlines = [
            self.conns.next_deadline(),
            self.conns.next_loop_deadline(),
            self.accept_paused_until,
            self.drain_deadline,
        ];
        let next = deadlines.into_iter().flatten().min();
        match alarm {
            Some(alarm) => alarm.poll_timeout(next, Instant::now()),
            None => Some(next?.saturating_duration_since(Instant::now())),
        }
    }

    /// Accepts until the listener would block. Errors that concern one connection
    /// (ECONNABORTED, EPROTO...) are skipped; running out of descriptors pauses accepting.
    fn accept(&mut self) {
        let Some(listener) = &self.listener else { return };
        if self.accept_paused_until.is_some() {
            return;
        }
        loop {
            match listener.accept() {
                Ok((socket, _peer)) => {
                    let _ = socket.set_nodelay(true);
                    match self.least_loaded_other() {
                        Some(other) => self.shared.hand_off(other, socket),
                        None if self.conns.is_full() => drop(socket), // refused; the rest are undisturbed
                        None => {
                            let _ = self.conns.insert(socket, &mut self.state);
                        }
                    }
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return,
                Err(e) if is_out_of_resources(&e) => {
                    self.accept_paused_until = Some(self.conns.now() + ACCEPT_BACKOFF);
                    return;
                }
                Err(_) => continue, // aborted before we got it, interrupted, protocol error
            }
        }
    }

    /// Every loop accepts from the same listener, and whichever wakes first takes what is
    /// queued, so one loop could end up with most connections while the other cores idle.
    /// A new connection goes to the loop holding the fewest — this one unless another holds
    /// fewer (and has room) — so the load stays even, whichever loop happened to accept.
    fn least_loaded_other(&self) -> Option<usize> {
        if self.shared.ask() != Ask::Run {
            return None; // the other may be done draining already, and take no more arrivals
        }
        let mine = self.conns.len();
        let (index, load) = (self.shared.loops.iter().enumerate())
            .filter(|&(i, _)| i != self.index)
            .map(|(i, seat)| (i, seat.load.load(Ordering::Relaxed)))
            .min_by_key(|&(_, load)| load)?;
        (load < mine && load < self.conns.max_connections()).then_some(index)
    }

    /// Registers the sockets other loops handed to this one. One that arrives while this loop
    /// drains (handed over before the other loop knew) is asked to finish like the rest.
    fn take_arrivals(&mut self) {
        for socket in self.shared.take_arrivals(self.index) {
            if self.conns.is_full() {
                continue; // dropped: refused, as at accept
            }
            if let Ok(slot) = self.conns.insert(socket, &mut self.state)
                && self.drain_deadline.is_some()
            {
                self.conns.drain(slot, &mut self.state);
            }
        }
    }

    /// Starts draining: every open connection is asked to finish (`Handler::on_drain`; what
    /// it says is written at the end of this turn), then the listener is closed. Once every
    /// loop has closed its own the socket is gone, and a new connect is refused — so a refused
    /// connect also means every loop has told its connections.
    fn begin_drain(&mut self, now: Instant) {
        self.drain_deadline = Some(now + self.drain_timeout);
        self.conns.drain_all(&mut self.state);
        if let Some(mut listener) = self.listener.take() {
            let _ = self.poll.registry().deregister(&mut listener);
        }
        self.accept_paused_until = None;
    }

    fn resume_accepting(&mut self, now: Instant) {
        if self.accept_paused_until.is_some_and(|at| at <= now) {
            self.accept_paused_until = None;
            self.accept();
        }
    }

    fn drain_inbox(&mut self) {
        for message in self.inbox.take() {
            self.state.on_message(message, &mut self.conns);
        }
    }

    fn on_signal(&mut self) {
        let Some(signals) = self.signals.as_mut() else { return };
        // The first signal drains; a second never gets here (see `server::drain_signals`).
        if signals.pending().next().is_some() {
            self.shared.drain();
        }
    }
}

/// EMFILE, ENFILE, ENOBUFS, ENOMEM: the process or system is out of something; accepting
/// again at once would fail again and spin.
fn is_out_of_resources(e: &io::Error) -> bool {
    matches!(e.raw_os_error(), Some(23 | 24 | 105 | 12))
}
