//! The two traits a server implements to run on the loop, and the context handed to them.

use std::sync::Arc;
use std::time::Instant;

use crate::conns::Connections;
use crate::output::{BufferPool, OutputQueue};

/// Names one connection of one loop: its slab slot plus the generation of the occupant, so a
/// message or timer for a connection that has gone never reaches the next occupant of the slot.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ConnId {
    /// The slab slot (also the mio `Token`).
    pub slot: u32,
    /// Which occupant of the slot.
    pub generation: u32,
}

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

    /// The connection is gone (closed by either side or dropped); clean up subscriptions.
    fn on_closed(&mut self, _id: ConnId, _state: &mut Self::State) {}
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
    fn on_message(&mut self, message: Self::Message, conns: &mut Connections<H>);
}

/// What a handler may do to its connection while it is called.
#[derive(Debug)]
pub struct Cx<'a> {
    pub(crate) id: ConnId,
    pub(crate) now: Instant,
    pub(crate) out: &'a mut OutputQueue,
    pub(crate) pool: &'a mut BufferPool,
    pub(crate) deadline: &'a mut Option<Instant>,
    pub(crate) requests: &'a mut Requests,
    pub(crate) output_cap: usize,
    pub(crate) read_total: u64,
}

/// Requests a handler made during a call, acted on by the loop when the call returns.
#[derive(Debug, Default, Clone, Copy)]
pub(crate) struct Requests {
    /// Write what is queued, then close gracefully.
    pub(crate) close: bool,
    /// Drop the connection now, discarding queued output.
    pub(crate) abort: bool,
    /// Call `on_input` again with the bytes kept from earlier (after un-parking).
    pub(crate) replay_input: bool,
}

impl Cx<'_> {
    /// This connection's id (stable for its whole life).
    pub fn id(&self) -> ConnId {
        self.id
    }

    /// The time read at the start of this loop turn.
    pub fn now(&self) -> Instant {
        self.now
    }

    /// Queues a copy of `bytes` for writing.
    pub fn write(&mut self, bytes: &[u8]) {
        self.with_output(|out| out.extend_from_slice(bytes));
    }

    /// Lets an encoder append straight to the connection's output buffer (no copy).
    pub fn with_output<R>(&mut self, encode: impl FnOnce(&mut Vec<u8>) -> R) -> R {
        let tail = self.out.owned_tail(self.pool);
        let before = tail.len();
        let result = encode(tail);
        self.out.commit(before, self.pool);
        result
    }

    /// Queues a whole buffer the handler owns, without copying it: the queue keeps it until
    /// written, then the loop's buffer pool does (a large echo goes out from the very buffer
    /// it was received into). Bytes queued after it are appended behind it, in order.
    pub fn write_owned(&mut self, bytes: Vec<u8>) {
        self.out.push_owned(bytes, self.pool);
    }

    /// A spare buffer from the loop's pool, for a handler that receives into reused memory:
    /// one at least `len` bytes long if the pool has one. It comes as it was last used: its
    /// length and old bytes are unspecified (clear it, or overwrite them — growing a buffer
    /// back to its old length then costs no zeroing).
    pub fn take_buffer(&mut self, len: usize) -> Vec<u8> {
        self.pool.take_as_is(len)
    }

    /// Queues bytes shared with other connections (an encoded broadcast), without copying.
    pub fn write_shared(&mut self, bytes: Arc<[u8]>) {
        self.out.push_shared(bytes);
    }

    /// Every byte read from this connection so far (for per-connection accounting).
    pub fn bytes_read(&self) -> u64 {
        self.read_total
    }

    /// Every byte queued for writing on this connection so far, written or not.
    pub fn bytes_queued(&self) -> u64 {
        self.out.queued_total()
    }

    /// Bytes queued but not yet accepted by the socket.
    pub fn queued(&self) -> usize {
        self.out.pending()
    }

    /// Whether the queue is over the output cap (a slow consumer, or a peer that sends faster
    /// than it reads). The loop stops reading such a connection until the queue drains.
    pub fn over_output_cap(&self) -> bool {
        self.out.pending() > self.output_cap
    }

    /// Sets (or clears) the one deadline of this connection; [`Handler::on_deadline`] runs then.
    pub fn set_deadline(&mut self, at: Option<Instant>) {
        *self.deadline = at;
    }

    /// The deadline currently set.
    pub fn deadline(&self) -> Option<Instant> {
        *self.deadline
    }

    /// Writes what is queued, then closes (write side first, then the socket).
    pub fn close(&mut self) {
        self.requests.close = true;
    }

    /// Drops the connection at once, discarding queued output (a slow consumer, a reset).
    pub fn abort(&mut self) {
        self.requests.abort = true;
    }

    /// Asks for [`Handler::on_input`] to be called again with the kept bytes (for example after
    /// a parked request was answered and a pipelined request is waiting).
    pub fn replay_input(&mut self) {
        self.requests.replay_input = true;
    }
}
