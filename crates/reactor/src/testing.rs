//! A loop without sockets, threads or sleeps, for testing handlers: [`TestLoop`].
//!
//! It keeps connections in the same slab, builds the same [`Cx`], and hands input over with
//! the same rules as the real loop — the shared code in `endpoint` — so a handler tested here
//! sees what it would see on a socket: bytes it left unconsumed come back in front of the
//! next ones, [`Cx::replay_input`] replays them, a direct slice
//! ([`Handler::direct_input`]) is filled before any other delivery. Time is virtual: it
//! starts at one `Instant` and moves only with [`TestLoop::advance`].
//!
//! What it does not model: the socket itself. Output is never written; it waits in the
//! queue until [`TestLoop::take_output`], which counts as "written" (so a closing connection
//! then lingers). Reading is never paused — a handler sees [`Cx::over_output_cap`] as on the
//! real loop, but the test decides what to send. [`OutputKind`] only orders writes, so it
//! makes no difference here.
//!
//! Outbound connections ([`ConnectionSet::connect`]) are driven by the test as well: each
//! waits, listed by [`TestLoop::connects`], until the test establishes it
//! ([`TestLoop::establish`]) or refuses it ([`TestLoop::refuse`]), or until its connect
//! timeout passes on the virtual clock. Once established it is fed and read like any other.
//! The loop's timer ([`ConnectionSet::set_timer`]) fires in [`TestLoop::advance`].
//!
//! Compiled for the crate's own tests and with the `testing` feature.

use std::collections::HashSet;
use std::io;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::cx::{Cx, LoopEnv, Requests};
use crate::endpoint::{DEFAULT_MAX_INPUT, DEFAULT_OUTPUT_CAP, Endpoint, LINGER, Phase};
use crate::handler::{ConnectionSet, Handler, LoopState, OutputKind};
use crate::shared::{Inbox, LoopHandle};
use crate::slab::{ConnId, Slab};

/// The messages a loop of `H` receives.
type Message<H> = <<H as Handler>::State as LoopState<H>>::Message;

/// Where a connection of a [`TestLoop`] is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConnStatus {
    /// Reading and writing normally.
    Open,
    /// Asked to close ([`Cx::close`]): the real loop would write what is queued, send its
    /// FIN and wait briefly for the peer's. Input is discarded; the handler is not called.
    Closing,
    /// Dropped at once, its output discarded: [`Cx::abort`], or kept input past the loop's
    /// backstop (`Config::max_input`). `on_closed` has run.
    Aborted,
    /// Never existed, or removed after closing (`on_closed` has run).
    Gone,
}

/// A loop of handlers `H` driven by the test: bytes in, output and deadlines out, on a
/// virtual clock.
pub struct TestLoop<H: Handler> {
    state: H::State,
    conns: TestConnections<H>,
    inbox: Arc<Inbox<Message<H>>>,
}

/// The connections of a [`TestLoop`], as its state reaches them (a [`ConnectionSet`]).
struct TestConnections<H> {
    slab: Slab<TestConn<H>>,
    env: LoopEnv,
    max_input: usize,
    /// Connections dropped with their output discarded, for [`TestLoop::status`].
    aborted: HashSet<ConnId>,
    /// [`TestLoop::drain`] was called.
    draining: bool,
    /// The loop's timer ([`ConnectionSet::set_timer`]).
    timer: Option<Instant>,
}

/// One connection of a [`TestLoop`].
struct TestConn<H> {
    endpoint: Endpoint<H>,
    phase: Phase,
    /// The peer closed its side ([`TestLoop::peer_close`]).
    peer_closed: bool,
    /// Opened by the loop's state ([`ConnectionSet::connect`]): not counted, not drained.
    outbound: bool,
    /// An outbound connect not yet established: where to. Its connect timeout is the
    /// connection's deadline meanwhile.
    connecting: Option<SocketAddr>,
}

impl<H: Handler> TestLoop<H> {
    /// A loop whose state `make_state` makes. It gets a [`LoopHandle`] whose messages
    /// [`TestLoop::deliver_inbox`] hands to [`LoopState::on_message`]. The clock starts at an
    /// `Instant` taken now, and `begin_turn` is called with it.
    pub fn new(make_state: impl FnOnce(LoopHandle<Message<H>>) -> H::State) -> Self {
        let inbox = Arc::new(Inbox::new(None));
        let mut state = make_state(LoopHandle::new(Arc::clone(&inbox)));
        let now = Instant::now();
        state.begin_turn(now);
        let conns = TestConnections {
            slab: Slab::default(),
            env: LoopEnv::new(now, DEFAULT_OUTPUT_CAP),
            max_input: DEFAULT_MAX_INPUT,
            aborted: HashSet::new(),
            draining: false,
            timer: None,
        };
        let mut lp = TestLoop { state, conns, inbox };
        LoopState::<H>::on_start(&mut lp.state, &mut lp.conns);
        lp
    }

    /// Sets the output cap (`Config::output_cap`; default 1 MiB, as there).
    pub fn with_output_cap(mut self, bytes: usize) -> Self {
        self.conns.env.output_cap = bytes;
        self
    }

    /// The loop's state.
    pub fn state(&mut self) -> &mut H::State {
        &mut self.state
    }

    /// The state and the connections apart, for calling code that takes both (as
    /// [`LoopState::on_message`] does).
    pub fn split(&mut self) -> (&mut H::State, &mut impl ConnectionSet<H>) {
        (&mut self.state, &mut self.conns)
    }

    /// The virtual time.
    pub fn now(&self) -> Instant {
        self.conns.env.now
    }

    /// A new connection, as an accepted socket: [`LoopState::accept`] makes its handler.
    /// After [`TestLoop::drain`] it is then asked to finish too, as the real loop asks a
    /// connection handed to it by a loop that had not begun draining.
    pub fn connect(&mut self) -> ConnId {
        let conns = &mut self.conns;
        let id = conns.slab.reserve();
        let (endpoint, requests) = Endpoint::accept(id, &mut conns.env, &mut self.state);
        let conn = TestConn { endpoint, phase: Phase::Open, peer_closed: false, outbound: false, connecting: None };
        conns.slab.fill(id, conn);
        conns.after_call(id, requests, &mut self.state);
        if conns.draining {
            conns.call(id, &mut self.state, |h, cx, st| h.on_drain(cx, st));
        }
        id
    }

    /// The loop starts draining: [`Handler::on_drain`] runs once on every open connection, in
    /// slot order. (The real loop also stops accepting, and returns once its connections are
    /// gone or its drain deadline passed; here the test decides what comes next.) A second
    /// call does nothing.
    pub fn drain(&mut self) {
        if std::mem::replace(&mut self.conns.draining, true) {
            return;
        }
        let open = self.conns.slab.iter().filter(|(_, conn)| !conn.outbound).map(|(id, _)| id);
        for id in open.collect::<Vec<_>>() {
            self.conns.call(id, &mut self.state, |h, cx, st| h.on_drain(cx, st));
        }
    }

    /// How many accepted connections are held, open or closing (the real loop's drain ends
    /// at zero); outbound ones are left out, as there.
    pub fn len(&self) -> usize {
        self.conns.slab.iter().filter(|(_, conn)| !conn.outbound).count()
    }

    /// Whether no accepted connection is held: a real loop that is draining would return now.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The outbound connects not yet established or refused, oldest slot first.
    pub fn connects(&self) -> Vec<(ConnId, SocketAddr)> {
        self.conns.slab.iter().filter_map(|(id, conn)| Some((id, conn.connecting?))).collect()
    }

    /// The outbound connect `id` succeeds: [`Handler::on_connected`] runs.
    pub fn establish(&mut self, id: ConnId) {
        let Some(conn) = self.conns.slab.get_mut(id).filter(|c| c.connecting.is_some()) else { return };
        conn.connecting = None;
        conn.endpoint.parts.deadline = None;
        self.conns.call(id, &mut self.state, |h, cx, st| h.on_connected(cx, st));
    }

    /// The outbound connect `id` fails with `error`: [`Handler::on_connect_failed`], then
    /// [`Handler::on_closed`].
    pub fn refuse(&mut self, id: ConnId, error: io::ErrorKind) {
        self.conns.connect_failed(id, &io::Error::from(error), &mut self.state);
    }

    /// When the loop's timer is set for.
    pub fn timer(&self) -> Option<Instant> {
        self.conns.timer
    }

    /// `bytes` arrive in one read. An open connection's handler gets them as on the real
    /// loop: while it offers a direct slice ([`Handler::direct_input`]) the bytes are copied
    /// into it ([`Handler::on_direct_input`]), and the rest, behind any kept bytes, go to
    /// [`Handler::on_input`]. A closing connection discards them; an empty `bytes` is no read.
    pub fn send(&mut self, id: ConnId, bytes: &[u8]) {
        let mut rest = bytes;
        while !rest.is_empty() {
            let Some(conn) = self.conns.slab.get_mut(id).filter(|c| c.phase == Phase::Open) else { return };
            let taken = match conn.endpoint.direct_target(&mut self.state) {
                Some(target) if !target.is_empty() => {
                    let n = target.len().min(rest.len());
                    target[..n].copy_from_slice(&rest[..n]);
                    n
                }
                _ => 0,
            };
            if taken == 0 {
                conn.endpoint.parts.read_total += rest.len() as u64;
                self.conns.env.io.read += rest.len() as u64;
                self.inbox.store_io(self.conns.env.io);
                return self.conns.deliver_input(id, rest, &mut self.state);
            }
            conn.endpoint.parts.read_total += taken as u64;
            self.conns.env.io.read += taken as u64;
            self.inbox.store_io(self.conns.env.io);
            self.conns.call(id, &mut self.state, |h, cx, st| h.on_direct_input(taken, cx, st));
            rest = &rest[taken..];
        }
    }

    /// The peer closes its side (the read that returns 0): an open connection's handler is
    /// told ([`Handler::on_peer_closed`]); a closing one is removed once its output is written.
    pub fn peer_close(&mut self, id: ConnId) {
        let Some(conn) = self.conns.slab.get_mut(id) else { return };
        conn.peer_closed = true;
        match conn.phase {
            Phase::Open => {
                self.conns.call(id, &mut self.state, |h, cx, st| h.on_peer_closed(cx, st));
            }
            Phase::Flushing | Phase::Lingering => self.conns.written(id, &mut self.state),
        }
    }

    /// Everything queued on `id` since the last take — owned, handed-over and shared chunks,
    /// in order — as if the socket took it all. The queue is then empty (so
    /// [`Cx::over_output_cap`] falls again), and a closing connection starts lingering.
    pub fn take_output(&mut self, id: ConnId) -> Vec<u8> {
        let mut written = Vec::new();
        let conns = &mut self.conns;
        let Some(conn) = conns.slab.get_mut(id) else { return written };
        // A `Vec` takes every byte: the queue's own vectored flush empties it.
        let _ = conn.endpoint.parts.out.flush(&mut written, &mut conns.env.pool);
        conns.env.io.written += written.len() as u64;
        self.inbox.store_io(conns.env.io);
        conns.written(id, &mut self.state);
        written
    }

    /// The deadline `id` has set (or, closing, the linger deadline).
    pub fn deadline(&self, id: ConnId) -> Option<Instant> {
        self.conns.slab.get(id)?.endpoint.parts.deadline
    }

    /// Where `id` is.
    pub fn status(&self, id: ConnId) -> ConnStatus {
        match self.conns.slab.get(id) {
            Some(conn) if conn.phase == Phase::Open => ConnStatus::Open,
            Some(_) => ConnStatus::Closing,
            None if self.conns.aborted.contains(&id) => ConnStatus::Aborted,
            None => ConnStatus::Gone,
        }
    }

    /// Moves the clock forward by `by`. Every deadline that falls due meanwhile fires — a
    /// connection's, the loop's timer ([`LoopState::on_timer`]), a connect timeout — in
    /// deadline order (ties in slot order, connections before the loop's timer), with the clock at that deadline — each new
    /// instant a turn of its own, with `begin_turn` — so a handler that sets its next
    /// deadline while handling one sees it fire too if it is due. Then `begin_turn` runs at
    /// the new time, and the inbox is delivered.
    pub fn advance(&mut self, by: Duration) {
        let until = self.conns.env.now + by;
        loop {
            let conn = self.conns.next_due(until);
            let timer = self.conns.timer.filter(|&at| at <= until);
            let at = match (conn, timer) {
                (None, None) => break,
                (Some((at, _)), None) | (None, Some(at)) => at,
                (Some((conn_at, _)), Some(timer_at)) => conn_at.min(timer_at),
            };
            if at > self.conns.env.now {
                self.conns.env.now = at;
                self.state.begin_turn(at);
            }
            match conn {
                Some((conn_at, id)) if conn_at == at => self.conns.fire(id, &mut self.state),
                _ => {
                    self.conns.timer = None;
                    self.state.on_timer(&mut self.conns);
                }
            }
        }
        self.conns.env.now = until;
        self.state.begin_turn(until);
        self.deliver_inbox();
    }

    /// Hands each message queued through the loop's [`LoopHandle`] to
    /// [`LoopState::on_message`]; returns how many. Messages sent meanwhile wait for the next
    /// call, as on the real loop they wait for the next wake-up.
    pub fn deliver_inbox(&mut self) -> usize {
        let messages = self.inbox.take();
        let count = messages.len();
        for message in messages {
            self.state.on_message(message, &mut self.conns);
        }
        count
    }

    /// [`ConnectionSet::with`] with the loop's own state: calls `f` with `id`'s handler if it
    /// is open, then acts on what it asked.
    pub fn with<R>(
        &mut self,
        id: ConnId,
        kind: OutputKind,
        f: impl FnOnce(&mut H, &mut Cx<'_>, &mut H::State) -> R,
    ) -> Option<R> {
        self.conns.with(id, kind, &mut self.state, f)
    }
}

impl<H: Handler> TestConnections<H> {
    /// Calls `f` with an open connection's handler, then acts on what it asked.
    fn call<R>(
        &mut self,
        id: ConnId,
        state: &mut H::State,
        f: impl FnOnce(&mut H, &mut Cx<'_>, &mut H::State) -> R,
    ) -> Option<R> {
        let conn = self.slab.get_mut(id).filter(|c| c.phase == Phase::Open && c.connecting.is_none())?;
        let (result, requests) = conn.endpoint.call(id, &mut self.env, state, f);
        self.after_call(id, requests, state);
        Some(result)
    }

    /// Gives fresh bytes to `on_input`, behind any kept ones; drops a connection whose kept
    /// input passes the backstop, as the real loop does.
    fn deliver_input(&mut self, id: ConnId, fresh: &[u8], state: &mut H::State) {
        let Some(conn) = self.slab.get_mut(id) else { return };
        let requests = conn.endpoint.give_input(id, &mut self.env, state, fresh);
        self.after_call(id, requests, state);
        if self.slab.get(id).is_some_and(|conn| conn.endpoint.input.len() > self.max_input) {
            self.remove(id, true, state);
        }
    }

    /// Acts on what a call asked for (replays are done by then): abort, close.
    fn after_call(&mut self, id: ConnId, requests: Requests, state: &mut H::State) {
        if requests.abort {
            return self.remove(id, true, state);
        }
        let Some(conn) = self.slab.get_mut(id) else { return };
        if requests.close && conn.phase == Phase::Open {
            conn.phase = Phase::Flushing;
            self.written(id, state); // with nothing queued, the real loop's flush is done at once
        }
    }

    /// After output was taken: a closing connection with nothing left to write sends its FIN
    /// and lingers — or, once the peer has closed too, is removed.
    fn written(&mut self, id: ConnId, state: &mut H::State) {
        let Some(conn) = self.slab.get_mut(id) else { return };
        if conn.phase == Phase::Flushing && conn.endpoint.parts.out.pending() == 0 {
            conn.phase = Phase::Lingering;
            conn.endpoint.parts.deadline = Some(self.env.now + LINGER);
        }
        if conn.phase == Phase::Lingering && conn.peer_closed {
            self.remove(id, false, state);
        }
    }

    /// The earliest deadline at or before `until`, with its connection (ties in slot order).
    fn next_due(&self, until: Instant) -> Option<(Instant, ConnId)> {
        let deadlines = self.slab.iter().filter_map(|(id, conn)| Some((conn.endpoint.parts.deadline?, id)));
        deadlines.filter(|&(at, _)| at <= until).min()
    }

    /// `id`'s deadline is due: its handler is told, or, closing, it is removed; a connect
    /// in progress times out.
    fn fire(&mut self, id: ConnId, state: &mut H::State) {
        let Some(conn) = self.slab.get_mut(id) else { return };
        conn.endpoint.parts.deadline = None;
        if conn.connecting.is_some() {
            let error = io::Error::new(io::ErrorKind::TimedOut, "connect timed out");
            return self.connect_failed(id, &error, state);
        }
        match conn.phase {
            Phase::Open => {
                self.call(id, state, |h, cx, st| h.on_deadline(cx, st));
            }
            Phase::Flushing | Phase::Lingering => self.remove(id, false, state),
        }
    }

    /// An outbound connect failed: its handler is told, then closed.
    fn connect_failed(&mut self, id: ConnId, error: &io::Error, state: &mut H::State) {
        if self.slab.get(id).is_none_or(|c| c.connecting.is_none()) {
            return;
        }
        let Some(mut conn) = self.slab.remove(id.slot as usize) else { return };
        conn.endpoint.handler.on_connect_failed(error, state);
        conn.endpoint.closed(id, &mut self.env, state);
        state.on_outbound_closed(id, self);
    }

    /// Frees `id` and tells its handler; `aborted` if its output was discarded.
    fn remove(&mut self, id: ConnId, aborted: bool, state: &mut H::State) {
        if self.slab.get(id).is_none() {
            return;
        }
        let Some(conn) = self.slab.remove(id.slot as usize) else { return };
        if aborted {
            self.aborted.insert(id);
        }
        let outbound = conn.outbound;
        conn.endpoint.closed(id, &mut self.env, state);
        if outbound {
            state.on_outbound_closed(id, self);
        }
    }
}

impl<H: Handler> ConnectionSet<H> for TestConnections<H> {
    fn with<R>(
        &mut self,
        id: ConnId,
        _kind: OutputKind,
        state: &mut H::State,
        f: impl FnOnce(&mut H, &mut Cx<'_>, &mut H::State) -> R,
    ) -> Option<R> {
        self.call(id, state, f)
    }

    fn now(&self) -> Instant {
        self.env.now
    }

    fn connect(&mut self, addr: SocketAddr, timeout: Duration, handler: H) -> io::Result<ConnId> {
        let id = self.slab.reserve();
        let mut endpoint = Endpoint::outbound(handler);
        endpoint.parts.deadline = Some(self.env.now + timeout);
        let conn =
            TestConn { endpoint, phase: Phase::Open, peer_closed: false, outbound: true, connecting: Some(addr) };
        self.slab.fill(id, conn);
        Ok(id)
    }

    fn set_timer(&mut self, at: Option<Instant>) {
        self.timer = at;
    }
}

#[cfg(test)]
mod tests;

#[cfg(test)]
mod outbound_tests;
