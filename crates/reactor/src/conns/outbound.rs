//! Connections the loop opens itself (a client of another server: the hub's Redis links), and
//! the loop's own timer.
//!
//! ```text
//!   ConnectionSet::connect ──▶ pending (token CONNECTING + slot, WRITABLE) ──writable, no error──▶
//!       slab (token slot, READABLE) ── on_connected ──▶ read and written like any connection
//!                              └──error / connect timeout──▶ on_connect_failed, on_closed
//!   either way, once it is gone: LoopState::on_outbound_closed (schedule the reconnect)
//! ```
//!
//! A connect in progress is not in the slab: its slot is reserved (so its [`ConnId`] is
//! known), its socket is registered under a token above [`CONNECTING`], and the loop sends
//! its events here. Plain connections' events take the same one comparison as before (their
//! tokens are below every special one), and nothing on the read or write path changes: once
//! established, an outbound connection is an ordinary slab entry, marked `outbound` only for
//! what is decided per connection, not per byte — the connection count, the drain.

use std::io;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use mio::net::TcpStream;
use mio::{Interest, Token};

use super::{Conn, Connections, flush};
use crate::endpoint::{Endpoint, Phase};
use crate::handler::{Handler, LoopState, OutputKind};
use crate::slab::ConnId;

/// Tokens at or above this name a connect in progress (`CONNECTING + slot`); the loop's own
/// tokens (listener, waker, signals) are above them all.
pub(crate) const CONNECTING: usize = 1 << (usize::BITS - 2);

/// A connect in progress.
#[derive(Debug)]
pub(super) struct Pending<H> {
    id: ConnId,
    socket: TcpStream,
    handler: H,
    /// When it is given up (`ErrorKind::TimedOut`).
    deadline: Instant,
}

impl<H: Handler> Connections<H> {
    /// Starts a non-blocking connect to `addr` (see [`crate::ConnectionSet::connect`]).
    pub(crate) fn connect_out(&mut self, addr: SocketAddr, timeout: Duration, handler: H) -> io::Result<ConnId> {
        let mut socket = TcpStream::connect(addr)?;
        let id = self.slab.reserve();
        let token = Token(CONNECTING + id.slot as usize);
        if let Err(e) = self.registry.register(&mut socket, token, Interest::WRITABLE) {
            self.slab.unreserve(id);
            return Err(e);
        }
        self.pending.push(Pending { id, socket, handler, deadline: self.env.now + timeout });
        Ok(id)
    }

    /// A readiness event for a connect in progress (`slot` is its token minus [`CONNECTING`]):
    /// established, failed, or (a spurious wake-up) still under way.
    pub(crate) fn connect_ready(&mut self, slot: usize, state: &mut H::State) {
        let Some(at) = self.pending.iter().position(|p| p.id.slot as usize == slot) else { return };
        let pending = &self.pending[at];
        let outcome = match pending.socket.take_error() {
            Ok(Some(error)) | Err(error) => Err(error),
            Ok(None) => match pending.socket.peer_addr() {
                Ok(_) => Ok(()),
                Err(e) if e.kind() == io::ErrorKind::NotConnected => return, // not yet
                Err(error) => Err(error),
            },
        };
        let pending = self.pending.swap_remove(at);
        match outcome {
            Ok(()) => self.established(pending, state),
            Err(error) => self.connect_failed(pending, &error, state),
        }
    }

    /// The connect succeeded: the socket joins the slab under its own slot's token, and the
    /// handler is told. It is read at the end of the turn, in case the peer spoke first.
    fn established(&mut self, pending: Pending<H>, state: &mut H::State) {
        let Pending { id, mut socket, handler, .. } = pending;
        let slot = id.slot as usize;
        if let Err(error) = self.registry.reregister(&mut socket, Token(slot), Interest::READABLE) {
            return self.connect_failed(Pending { id, socket, handler, deadline: self.env.now }, &error, state);
        }
        let _ = socket.set_nodelay(true);
        let conn = Conn {
            socket,
            endpoint: Endpoint::outbound(handler),
            armed: None,
            phase: Phase::Open,
            writable_interest: false,
            read_paused: false,
            read_closed: false,
            outbound: true,
            marks: flush::FlushMarks::default(),
        };
        self.slab.fill(id, conn);
        self.outbound += 1;
        self.call(slot, OutputKind::Answer, state, |h, cx, st| h.on_connected(cx, st));
        self.queue_read(slot);
    }

    /// The connect failed (or timed out): the handler is told, then closed; the id is retired.
    fn connect_failed(&mut self, pending: Pending<H>, error: &io::Error, state: &mut H::State) {
        let Pending { id, mut socket, mut handler, .. } = pending;
        let _ = self.registry.deregister(&mut socket);
        self.slab.retire_reserved(id);
        handler.on_connect_failed(error, state);
        handler.on_closed(id, state);
        state.on_outbound_closed(id, self);
    }

    /// Gives up the connects whose timeout has passed, and runs the loop's timer if it is due.
    pub(crate) fn run_loop_timers(&mut self, state: &mut H::State) -> bool {
        while let Some(at) = self.pending.iter().position(|p| p.deadline <= self.env.now) {
            let pending = self.pending.swap_remove(at);
            let error = io::Error::new(io::ErrorKind::TimedOut, "connect timed out");
            self.connect_failed(pending, &error, state);
        }
        let due = self.loop_timer.is_some_and(|at| at <= self.env.now);
        if due {
            self.loop_timer = None;
        }
        due
    }

    /// The nearest of the loop's timer and the connect timeouts.
    pub(crate) fn next_loop_deadline(&self) -> Option<Instant> {
        let connects = self.pending.iter().map(|p| p.deadline).min();
        [self.loop_timer, connects].into_iter().flatten().min()
    }

    /// Closes every connect still in progress (the loop is returning).
    pub(super) fn abandon_connects(&mut self, state: &mut H::State) {
        for pending in std::mem::take(&mut self.pending) {
            let error = io::Error::new(io::ErrorKind::Interrupted, "the loop is stopping");
            self.connect_failed(pending, &error, state);
        }
    }
}
