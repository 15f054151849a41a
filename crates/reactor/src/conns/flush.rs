//! Output scheduling: when what a handler queued is written.
//!
//! A handler call only queues output and marks its connection for flushing, with the call's
//! [`OutputKind`]:
//!
//! * an **answer** (output from the connection's own socket event, or given with
//!   `OutputKind::Answer`) goes in `answers`. When it answers a socket event it is written
//!   right after that event's reads (`flush_answer`); otherwise at the end of the turn, before
//!   any pushed output (`settle`).
//! * **pushed** output (`OutputKind::Push`: broadcasts, timers, a new handler's first words)
//!   goes in `dirty`, in the order it was given; the end of each turn writes at most
//!   [`FLUSH_SLICE`] of those connections.
//!
//! Either way a connection is written once, with one `writev` of everything it was given.

use std::collections::VecDeque;

use mio::{Interest, Token};

use super::Connections;
use crate::endpoint::Phase;
use crate::handler::{Handler, OutputKind};

/// How many connections one turn flushes at most, besides this turn's answers, before the
/// loop looks for events again.
///
/// Fast path (*slices*): fanning a broadcast out to thousands of subscribers is thousands of
/// `writev`s. Done in one go, the loop reads nothing meanwhile — not even the publisher's
/// next message, which then waits for the whole fan-out before its answer, and every
/// broadcast goes out on its own. In slices, with answers to this turn's requests first, the
/// publisher hears back within a slice, and what it publishes next is queued behind the
/// output of the subscribers not yet written, leaving in the same write: under load each
/// subscriber gets several messages per `writev`.
pub(crate) const FLUSH_SLICE: usize = 64;

/// Connections waiting to be read or written before the turn ends.
#[derive(Debug, Default)]
pub(super) struct FlushQueues {
    /// Connections whose reading was resumed (backpressure lifted, lingering started) and
    /// must be read again: edge-triggered readiness raises no new event for bytes that
    /// arrived meanwhile.
    pending_reads: Vec<usize>,
    /// Connections given pushed output, in the order it was given. Each is flushed once when
    /// its turn comes — at most [`FLUSH_SLICE`] per loop turn — so everything it was sent
    /// meanwhile (several broadcasts) leaves in one `writev`.
    dirty: VecDeque<usize>,
    /// Connections that answered this turn (a request's response, a pong). Those answering a
    /// socket event are written right after its reads; the rest at the end of the turn,
    /// before any slice of `dirty`.
    answers: Vec<usize>,
}

/// Where one connection waits to be flushed.
#[derive(Debug, Default)]
pub(super) struct FlushMarks {
    /// Output is queued and waiting in `answers` or `dirty` to be flushed.
    dirty: bool,
    /// Waiting in `answers`.
    answer_queued: bool,
}

impl FlushQueues {
    /// Marks the connection in `slot`, just called, to be flushed as `kind` says.
    pub(super) fn queue_flush(&mut self, slot: usize, marks: &mut FlushMarks, kind: OutputKind) {
        match kind {
            OutputKind::Answer => {
                if !marks.answer_queued {
                    marks.answer_queued = true;
                    self.answers.push(slot);
                }
                marks.dirty = true; // an entry it may have in `dirty` finds it flushed and is skipped
            }
            OutputKind::Push => {
                if !marks.dirty {
                    marks.dirty = true;
                    self.dirty.push_back(slot);
                }
            }
        }
    }
}

impl<H: Handler> Connections<H> {
    /// Asks for a connection to be read again before the turn ends.
    pub(super) fn queue_read(&mut self, slot: usize) {
        self.queues.pending_reads.push(slot);
    }

    /// Ends a turn: reads connections whose reading was resumed and flushes connections that
    /// have output queued — this turn's answers, then at most [`FLUSH_SLICE`] others. Returns
    /// whether work is left for the next turn (the loop then polls without sleeping).
    pub(crate) fn settle(&mut self, state: &mut H::State, scratch: &mut [u8]) -> bool {
        let mut budget = FLUSH_SLICE;
        loop {
            while let Some(slot) = self.queues.pending_reads.pop() {
                if self.slab.at(slot).is_some() {
                    self.read(slot, state, scratch);
                }
            }
            // Answers first (the reply to the POST that caused a burst of broadcasts leaves
            // before them), then the rest in the order their output was queued.
            self.flush_answers(state);
            while budget > 0 {
                let Some(slot) = self.queues.dirty.pop_front() else { break };
                let Some(conn) = self.slab.at_mut(slot) else { continue };
                if conn.marks.dirty {
                    conn.marks.dirty = false;
                    self.flush(slot, state);
                    budget -= 1;
                }
            }
            if budget == 0 || (self.queues.pending_reads.is_empty() && self.queues.answers.is_empty()) {
                return self.has_work_left();
            }
        }
    }

    /// Flushes every connection in `answers` that still has output waiting.
    fn flush_answers(&mut self, state: &mut H::State) {
        let answers = std::mem::take(&mut self.queues.answers);
        for &slot in &answers {
            let Some(conn) = self.slab.at_mut(slot) else { continue };
            conn.marks.answer_queued = false;
            if conn.marks.dirty {
                conn.marks.dirty = false;
                self.flush(slot, state);
            }
        }
        self.queues.answers = answers; // keep the allocation (flushing queues no answers)
        self.queues.answers.clear();
    }

    /// Fast path (*answers right after their reads*): writes what a connection answered to
    /// the input it was just given, at once, not at the end of the turn. Nothing later in the
    /// turn could add to the answer, so the count of `writev`s is the same — but the bytes it
    /// echoes are still in the cache, where after the next connections' reads they would not
    /// be. Its entry in `answers` then finds it flushed and is skipped.
    pub(super) fn flush_answer(&mut self, slot: usize, state: &mut H::State) {
        let Some(conn) = self.slab.at_mut(slot) else { return };
        if conn.marks.answer_queued && conn.marks.dirty {
            conn.marks.answer_queued = false;
            conn.marks.dirty = false;
            self.flush(slot, state);
        }
    }

    /// Writes queued output until done or `WouldBlock`; asks for WRITABLE readiness only
    /// while output is left (so the common case costs no `epoll_ctl`), resumes reading a
    /// connection whose queue drained to half the cap, and moves a closing connection on
    /// when its output is gone.
    pub(super) fn flush(&mut self, slot: usize, state: &mut H::State) {
        let Some(conn) = self.slab.at_mut(slot) else { return };
        let before = conn.endpoint.parts.out.pending();
        let flushed = conn.endpoint.parts.out.flush(&mut conn.socket, &mut self.env.pool);
        self.env.io.written += (before - conn.endpoint.parts.out.pending()) as u64;
        let done = match flushed {
            Ok(done) => done,
            Err(_) => return self.remove(slot, state),
        };
        let want_writable = !done;
        if want_writable != conn.writable_interest {
            let interest = if want_writable { Interest::READABLE | Interest::WRITABLE } else { Interest::READABLE };
            if self.registry.reregister(&mut conn.socket, Token(slot), interest).is_err() {
                return self.remove(slot, state);
            }
            conn.writable_interest = want_writable;
        }
        if done && conn.phase == Phase::Flushing {
            self.start_lingering(slot, state);
        } else if conn.read_paused && conn.endpoint.parts.out.pending() <= self.env.output_cap / 2 {
            conn.read_paused = false;
            // Edge-triggered readiness: bytes that arrived while paused raise no new event.
            self.queue_read(slot);
        }
    }

    /// Output or reads left over from a turn that used its whole [`FLUSH_SLICE`].
    pub(crate) fn has_work_left(&self) -> bool {
        !self.queues.dirty.is_empty() || !self.queues.pending_reads.is_empty() || !self.queues.answers.is_empty()
    }
}
