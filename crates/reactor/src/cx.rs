//! [`Cx`]: what a handler may do to its connection while it is called, and the parts of the
//! connection and of the loop it borrows to do it.
//!
//! A `Cx` is made in one place, [`Cx::new`], for every call of every handler — by the real
//! loop and by the test loop alike — and lives only for that call. What it cannot do at once
//! (close, abort, replay the kept input) it records as [`Requests`], which the loop acts on
//! when the call returns.

use std::ops::Range;
use std::sync::Arc;
use std::time::Instant;

use crate::output::{BufferPool, OutputQueue};
use crate::slab::ConnId;

/// The parts of one connection a [`Cx`] lends to its handler.
#[derive(Debug, Default)]
pub(crate) struct ConnParts {
    pub(crate) out: OutputQueue,
    /// The one deadline of the connection (`Cx::set_deadline`).
    pub(crate) deadline: Option<Instant>,
    /// Every byte read so far (`Cx::bytes_read`).
    pub(crate) read_total: u64,
}

/// What every [`Cx`] of one loop shares.
#[derive(Debug)]
pub(crate) struct LoopEnv {
    /// The time read at the start of this turn (`Cx::now`).
    pub(crate) now: Instant,
    /// Spare output buffers, so answering a request allocates nothing in the steady state.
    pub(crate) pool: BufferPool,
    /// Where `Cx::with_small_output` encodes (reused, so framing allocates nothing).
    pub(crate) scratch: Vec<u8>,
    /// Output queued per connection before the loop stops reading it (`Config::output_cap`).
    pub(crate) output_cap: usize,
    /// Bytes read from and written to every connection of the loop (`LoopHandle::io_totals`).
    pub(crate) io: crate::shared::IoTotals,
}

impl LoopEnv {
    pub(crate) fn new(now: Instant, output_cap: usize) -> Self {
        LoopEnv {
            now,
            pool: BufferPool::default(),
            scratch: Vec::new(),
            output_cap,
            io: crate::shared::IoTotals::default(),
        }
    }
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
    /// Write what this call queued as pushed output, behind the connections already waiting
    /// ([`Cx::queue_behind_pushes`]).
    pub(crate) behind_pushes: bool,
}

/// What a handler may do to its connection while it is called.
#[derive(Debug)]
pub struct Cx<'a> {
    id: ConnId,
    conn: &'a mut ConnParts,
    env: &'a mut LoopEnv,
    requests: Requests,
}

impl<'a> Cx<'a> {
    /// The one constructor: a `Cx` for one call of connection `id`'s handler.
    pub(crate) fn new(id: ConnId, conn: &'a mut ConnParts, env: &'a mut LoopEnv) -> Self {
        Cx { id, conn, env, requests: Requests::default() }
    }

    /// Ends the call: what the handler asked the loop to do.
    pub(crate) fn finish(self) -> Requests {
        self.requests
    }
}

impl Cx<'_> {
    /// This connection's id (stable for its whole life).
    pub fn id(&self) -> ConnId {
        self.id
    }

    /// The time read at the start of this loop turn.
    pub fn now(&self) -> Instant {
        self.env.now
    }

    /// Queues a copy of `bytes` for writing. A few bytes after shared ones (a frame header
    /// between two broadcasts) are held in the queue itself, taking no buffer.
    pub fn write(&mut self, bytes: &[u8]) {
        self.conn.out.push_copy(bytes, &mut self.env.pool);
    }

    /// Like [`Cx::with_output`] for a few bytes of framing: `encode` appends to a scratch
    /// buffer of the loop's, whose bytes are then queued as [`Cx::write`] queues them.
    pub fn with_small_output(&mut self, encode: impl FnOnce(&mut Vec<u8>)) {
        let mut scratch = std::mem::take(&mut self.env.scratch);
        scratch.clear();
        encode(&mut scratch);
        self.write(&scratch);
        self.env.scratch = scratch;
    }

    /// Lets an encoder append straight to the connection's output buffer (no copy). It may
    /// only append; one that appends nothing costs next to nothing (`OutputQueue::append_with`).
    pub fn with_output<R>(&mut self, encode: impl FnOnce(&mut Vec<u8>) -> R) -> R {
        self.conn.out.append_with(&mut self.env.pool, encode)
    }

    /// Queues a whole buffer the handler owns, without copying it: the queue keeps it until
    /// written, then the loop's buffer pool does (a large echo goes out from the very buffer
    /// it was received into). Bytes queued after it are appended behind it, in order.
    pub fn write_owned(&mut self, bytes: Vec<u8>) {
        self.conn.out.push_owned(bytes, &mut self.env.pool);
    }

    /// A spare buffer from the loop's pool, for a handler that receives into reused memory:
    /// one at least `len` bytes long if the pool has one. It comes as it was last used: its
    /// length and old bytes are unspecified (clear it, or overwrite them — growing a buffer
    /// back to its old length then costs no zeroing).
    pub fn take_buffer(&mut self, len: usize) -> Vec<u8> {
        self.env.pool.take_as_is(len)
    }

    /// Queues bytes shared with other connections (an encoded broadcast), without copying.
    pub fn write_shared(&mut self, bytes: Arc<[u8]>) {
        let all = 0..bytes.len();
        self.conn.out.push_shared(bytes, all, &mut self.env.pool);
    }

    /// Queues `bytes[range]`, part of bytes shared with other connections, without copying:
    /// a message kept once can be written inside framing of each transport's own (the framing
    /// through [`Cx::with_output`], the shared part through this). Each call is one more slice
    /// of the connection's vectored write, so a few bytes are better copied with `write`.
    ///
    /// Panics if `range` is not within `bytes`, as slicing does.
    pub fn write_shared_slice(&mut self, bytes: Arc<[u8]>, range: Range<usize>) {
        self.conn.out.push_shared(bytes, range, &mut self.env.pool);
    }

    /// Every byte read from this connection so far (for per-connection accounting).
    pub fn bytes_read(&self) -> u64 {
        self.conn.read_total
    }

    /// Every byte queued for writing on this connection so far, written or not.
    pub fn bytes_queued(&self) -> u64 {
        self.conn.out.queued_total()
    }

    /// Bytes queued but not yet accepted by the socket.
    pub fn queued(&self) -> usize {
        self.conn.out.pending()
    }

    /// Whether the queue is over the output cap (a slow consumer, or a peer that sends faster
    /// than it reads). The loop stops reading such a connection until the queue drains.
    pub fn over_output_cap(&self) -> bool {
        self.conn.out.pending() > self.env.output_cap
    }

    /// Sets (or clears) the one deadline of this connection;
    /// [`Handler::on_deadline`](crate::Handler::on_deadline) runs then.
    pub fn set_deadline(&mut self, at: Option<Instant>) {
        self.conn.deadline = at;
    }

    /// The deadline currently set.
    pub fn deadline(&self) -> Option<Instant> {
        self.conn.deadline
    }

    /// Writes what is queued, then closes (write side first, then the socket).
    pub fn close(&mut self) {
        self.requests.close = true;
    }

    /// Drops the connection at once, discarding queued output (a slow consumer, a reset).
    pub fn abort(&mut self) {
        self.requests.abort = true;
    }

    /// Asks for [`Handler::on_input`](crate::Handler::on_input) to be called again with the
    /// kept bytes (for example after a parked request was answered and a pipelined request is
    /// waiting).
    pub fn replay_input(&mut self) {
        self.requests.replay_input = true;
    }

    /// Writes what this call queued as *pushed* output ([`OutputKind::Push`]): at the end of
    /// the turn, in order behind the connections whose pushed output is already waiting,
    /// instead of right after this connection's read as an answer.
    ///
    /// For an answer that is really a delivery — a long-poll answered at once from the backlog
    /// while a broadcast is still being written to the other subscribers. As an answer it
    /// would go first, every turn: the subscribers released early re-ask at once, are answered
    /// ahead of those still waiting for the *same* message, and re-ask again with one or two
    /// new messages each time, so the last subscribers hear of the first message only when the
    /// publisher stops. Queued behind them, each subscriber gets one answer per round, carrying
    /// all that arrived meanwhile.
    ///
    /// [`OutputKind::Push`]: crate::OutputKind::Push
    pub fn queue_behind_pushes(&mut self) {
        self.requests.behind_pushes = true;
    }
}
