//! How a connection ends — flush, FIN, linger, remove — and its one deadline.
//!
//! ```text
//!   Open ──cx.close()──▶ Flushing ──output written──▶ Lingering ──peer FIN / LINGER──▶ remove
//!     └──cx.abort(), read/write error, reset, input past max_input ───────────────────▶ remove
//! ```

use std::net::Shutdown;

use super::Connections;
use crate::endpoint::{LINGER, Phase};
use crate::handler::{Handler, LoopState, OutputKind};
use crate::timers::TimerEntry;

impl<H: Handler> Connections<H> {
    /// Our side is done: send FIN, then read (and discard) until the peer's FIN or `LINGER`.
    pub(super) fn start_lingering(&mut self, slot: usize, state: &mut H::State) {
        let Some(conn) = self.slab.at_mut(slot) else { return };
        if conn.socket.shutdown(Shutdown::Write).is_err() {
            return self.remove(slot, state);
        }
        conn.phase = Phase::Lingering;
        conn.read_paused = false;
        conn.endpoint.parts.deadline = Some(self.env.now + LINGER);
        self.arm_timer(slot);
        self.queue_read(slot);
    }

    /// Closes the socket, tells the handler, and frees the slot for reuse.
    pub(crate) fn remove(&mut self, slot: usize, state: &mut H::State) {
        let id = self.slab.id_of(slot);
        let Some(mut conn) = self.slab.remove(slot) else { return };
        let _ = self.registry.deregister(&mut conn.socket);
        conn.endpoint.closed(id, &mut self.env, state);
        if conn.outbound {
            self.outbound -= 1;
            state.on_outbound_closed(id, self);
        }
    }

    /// Closes every connection (the loop is shutting down).
    pub(crate) fn close_all(&mut self, state: &mut H::State) {
        self.abandon_connects(state);
        for slot in 0..self.slab.slot_count() {
            self.remove(slot, state);
        }
    }

    /// Asks every open connection to finish (the loop is draining). One that is closing
    /// already is not asked, nor one the loop opened itself (it serves the others to the end).
    pub(crate) fn drain_all(&mut self, state: &mut H::State) {
        for slot in 0..self.slab.slot_count() {
            if self.slab.at(slot).is_some_and(|conn| !conn.outbound) {
                self.drain(slot, state);
            }
        }
    }

    /// Asks the connection in `slot` to finish: [`Handler::on_drain`]. What it says is pushed
    /// output, like a deadline's.
    pub(crate) fn drain(&mut self, slot: usize, state: &mut H::State) {
        self.call(slot, OutputKind::Push, state, |h, cx, st| h.on_drain(cx, st));
    }

    /// Makes sure the heap holds an entry no later than the connection's deadline.
    ///
    /// Fast path (*lazy timer heap*): `armed` is the instant of the connection's live entry.
    /// Moving the deadline later pushes nothing (that entry re-arms itself when it pops, in
    /// `due`); only moving it earlier pushes a new one. So a keep-alive refresh after every
    /// request never touches the heap. Clearing the deadline makes the entry stale at once
    /// (`armed` no longer names it), so the next sweep of the heap can drop it.
    pub(super) fn arm_timer(&mut self, slot: usize) {
        let id = self.slab.id_of(slot);
        let Some(conn) = self.slab.at_mut(slot) else { return };
        match conn.endpoint.parts.deadline {
            Some(at) if conn.armed.is_none_or(|armed| at < armed) => {
                conn.armed = Some(at);
                self.timers.push(TimerEntry { at, id });
            }
            None => conn.armed = None,
            Some(_) => {}
        }
    }

    /// Runs every deadline that is due: an open connection's handler is told (what it
    /// queues is pushed output); a closing one is removed.
    pub(crate) fn run_timers(&mut self, state: &mut H::State) {
        while let Some(entry) = self.timers.pop_due(self.env.now) {
            let slot = entry.id.slot as usize;
            match self.due(entry) {
                None => {}
                Some(Phase::Open) => {
                    self.call(slot, OutputKind::Push, state, |h, cx, st| h.on_deadline(cx, st));
                }
                Some(Phase::Flushing | Phase::Lingering) => self.remove(slot, state),
            }
        }
        let slab = &self.slab;
        let live = |e: &TimerEntry| slab.get(e.id).is_some_and(|conn| conn.armed == Some(e.at));
        self.timers.compact(live);
    }

    /// Whether a popped entry is its connection's deadline, now due: then clears it and says
    /// what the connection is. `None` for a stale entry — its connection gone, superseded by
    /// an earlier entry, the deadline cleared — or one re-armed because the deadline moved later.
    fn due(&mut self, entry: TimerEntry) -> Option<Phase> {
        let conn = self.slab.get_mut(entry.id)?;
        if conn.armed != Some(entry.at) {
            return None; // superseded by an earlier entry
        }
        conn.armed = None;
        let at = conn.endpoint.parts.deadline?;
        if at > self.env.now {
            // The deadline moved later since this entry was pushed: re-arm.
            conn.armed = Some(at);
            self.timers.push(TimerEntry { at, id: entry.id });
            return None;
        }
        conn.endpoint.parts.deadline = None;
        Some(conn.phase)
    }
}
