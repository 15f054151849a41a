//! The two traits a server implements to run on the loop, and what its loop state may do to
//! the loop's connections.

use std::io;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use crate::cx::Cx;
use crate::slab::ConnId;

/// Per-connection behaviour. A connection starts as HTTP and may become a WebSocket, an SSE
/// stream or a parked long-poll: the handler is usually an enum whose variant changes.
pub trait Handler: Sized + 'static {
    /// State shared by every connection of one loop (one instance per loop thread).
    type State: LoopState<Self>;

    /// Bytes arrived. `input` holds the bytes this handler left unconsumed last time followed by
    /// the new ones. Returns how many it consumed; the rest is kept for the next call.
    fn on_input(&mut self, input: &[u8], cx: &mut Cx<'_>, state: &mut Self::State) -> usize;

    /// Where the next bytes should be read to, instead of the loop's scratch buffer: a handler
    /// in the middle of a large body whose length it knows (a WebSocket frame's payload) can
    /// return the part of its own buffer they belong in, and save copying every byte out of
    /// the scratch buffer. Asked before each read while no input is kept. Default: `None`.
    fn direct_input(&mut self, _state: &mut Self::State) -> Option<&mut [u8]> {
        None
    }

    /// `n` bytes (`n > 0`) were read into the front of the slice [`Handler::direct_input`]
    /// returned.
    fn on_direct_input(&mut self, _n: usize, _cx: &mut Cx<'_>, _state: &mut Self::State) {}

    /// The deadline set with [`Cx::set_deadline`] has passed.
    fn on_deadline(&mut self, cx: &mut Cx<'_>, state: &mut Self::State);

    /// The peer closed its sending side (read returned 0). The default closes once the
    /// output already queued has been written, which serves clients that half-close after
    /// sending a request.
    fn on_peer_closed(&mut self, cx: &mut Cx<'_>, _state: &mut Self::State) {
        cx.close();
    }

    /// The server is draining (a first SIGINT or SIGTERM, or [`crate::ShutdownHandle::shutdown`]):
    /// no new connection is accepted, and each open one is asked, once, to finish what it is
    /// doing and close — answer the request in flight, say goodbye in its protocol. The loop
    /// runs on until its last connection is gone or [`crate::Config::drain_timeout`] passes
    /// (then it closes the rest). The default closes once the output already queued has been
    /// written.
    fn on_drain(&mut self, cx: &mut Cx<'_>, _state: &mut Self::State) {
        cx.close();
    }

    /// The connection is gone (closed by either side or dropped); clean up subscriptions.
    /// For an outbound connection ([`ConnectionSet::connect`]) this runs too when the connect
    /// failed, after [`Handler::on_connect_failed`].
    fn on_closed(&mut self, _id: ConnId, _state: &mut Self::State) {}

    /// An outbound connection ([`ConnectionSet::connect`]) is established: from now on it is
    /// read and written like any other. What the handler queues here (a greeting, the first
    /// commands) is written at the end of this turn.
    fn on_connected(&mut self, _cx: &mut Cx<'_>, _state: &mut Self::State) {}

    /// An outbound connection could not be made: refused, unreachable, or not established
    /// within its connect timeout (`ErrorKind::TimedOut`). [`Handler::on_closed`] follows.
    fn on_connect_failed(&mut self, _error: &io::Error, _state: &mut Self::State) {}
}

/// Per-loop state: creates handlers for accepted connections and receives messages sent to the
/// loop from other threads through a [`crate::LoopHandle`].
pub trait LoopState<H: Handler>: Sized + 'static {
    /// What other threads send to this loop (for the hub: an encoded broadcast).
    type Message: Send + 'static;

    /// Called once per loop turn with the time read for that turn, before any event is handled.
    fn begin_turn(&mut self, _now: Instant) {}

    /// A connection was accepted: make its handler.
    fn accept(&mut self, cx: &mut Cx<'_>) -> H;

    /// A message arrived for this loop; `conns` lets it reach its own connections.
    fn on_message(&mut self, message: Self::Message, conns: &mut impl ConnectionSet<H>);

    /// Called once when the loop starts, before its first turn: the place to open outbound
    /// connections ([`ConnectionSet::connect`]) or set the loop's timer.
    fn on_start(&mut self, _conns: &mut impl ConnectionSet<H>) {}

    /// An outbound connection of this loop is gone — closed by either side, or its connect
    /// failed — after its handler's [`Handler::on_closed`]: the place to schedule a reconnect
    /// ([`ConnectionSet::set_timer`]).
    fn on_outbound_closed(&mut self, _id: ConnId, _conns: &mut impl ConnectionSet<H>) {}

    /// The loop's timer ([`ConnectionSet::set_timer`]) is due. It is cleared first; set it
    /// again to be called again.
    fn on_timer(&mut self, _conns: &mut impl ConnectionSet<H>) {}
}

/// Whether output given to a connection answers its own request (flushed with this turn's
/// answers, ahead of pushed output) or is pushed to it from elsewhere (a broadcast; written in
/// `FLUSH_SLICE` slices).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OutputKind {
    /// The connection's own request is being answered (a response held back until something
    /// happened elsewhere, like the hub's `POST` waiting for the loops to catch up). It is
    /// written at the end of this turn, before any pushed output.
    Answer,
    /// Output pushed to the connection from elsewhere (a broadcast). It waits its turn among
    /// the connections given output before it, at most `FLUSH_SLICE` (64) of them written per
    /// loop turn, so a fan-out to thousands never keeps the loop from reading.
    Push,
}

/// What a [`LoopState`] may do to the connections of its loop (the real [`crate::Connections`]
/// and the test loop both implement it).
pub trait ConnectionSet<H: Handler> {
    /// Calls `f` with connection `id`'s handler if it is still open, then acts on what it
    /// asked (write, close, deadline). Returns `None` for a connection that has gone or is
    /// closing. `kind` says when what it queued is written.
    fn with<R>(
        &mut self,
        id: ConnId,
        kind: OutputKind,
        state: &mut H::State,
        f: impl FnOnce(&mut H, &mut Cx<'_>, &mut H::State) -> R,
    ) -> Option<R>;

    /// The time read at the start of this loop turn.
    fn now(&self) -> Instant;

    /// Opens an outbound connection to `addr`, owned by this loop, with `handler` as its
    /// handler. The connect does not block: [`Handler::on_connected`] runs when it is
    /// established (after which the connection is read and written like an accepted one), or
    /// [`Handler::on_connect_failed`] then [`Handler::on_closed`] when it fails or `timeout`
    /// passes first. Until then [`ConnectionSet::with`] finds no open connection for the id.
    ///
    /// An outbound connection is the loop's own: it does not count toward
    /// `Config::max_connections` nor the loop's load, is not asked to drain, and does not keep
    /// a drain from finishing (it is closed when the loop returns). An error here means no
    /// socket could be made at all (out of descriptors); `handler` is dropped unheard.
    fn connect(&mut self, addr: SocketAddr, timeout: Duration, handler: H) -> io::Result<ConnId>;

    /// Sets (or clears) the loop's one timer: [`LoopState::on_timer`] runs once it is due (a
    /// reconnect after a back-off, say). Setting it again replaces the earlier instant.
    fn set_timer(&mut self, at: Option<Instant>);
}
