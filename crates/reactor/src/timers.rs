//! Deadlines for the whole loop: one binary heap keyed by instant, with lazy deletion.
//!
//! Each connection has at most one deadline (its handler folds its own timers — head timeout,
//! keep-alive, long-poll hold, heartbeat, ping — into the nearest one). The heap is never
//! searched: an entry that no longer matches its connection's deadline or generation is simply
//! skipped when it pops ("lazy deletion"), so a reused slot never receives a stale timer.
//!
//! Fast path (the *lazy timer heap*): moving a deadline later pushes nothing — the entry
//! already in the heap re-arms itself when it pops — and only moving it earlier pushes a new
//! one; `conns::lifecycle` does the arming. A keep-alive connection that moves its deadline
//! after every request therefore never touches the heap.

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::time::Instant;

use crate::slab::ConnId;

/// A heap entry: when, and for which connection (slot and occupant).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) struct TimerEntry {
    pub(crate) at: Instant,
    pub(crate) id: ConnId,
}

/// All pending deadlines of one loop.
#[derive(Debug, Default)]
pub(crate) struct Timers {
    heap: BinaryHeap<Reverse<TimerEntry>>,
}

impl Timers {
    pub(crate) fn push(&mut self, entry: TimerEntry) {
        self.heap.push(Reverse(entry));
    }

    /// The nearest deadline, stale or not (a stale one only causes an early, harmless wake-up).
    pub(crate) fn next(&self) -> Option<Instant> {
        self.heap.peek().map(|Reverse(entry)| entry.at)
    }

    /// Pops the next entry that is due at `now`.
    pub(crate) fn pop_due(&mut self, now: Instant) -> Option<TimerEntry> {
        match self.heap.peek() {
            Some(Reverse(entry)) if entry.at <= now => self.heap.pop().map(|Reverse(e)| e),
            _ => None,
        }
    }

    /// Drops stale entries once they outnumber live ones, so a connection that keeps moving its
    /// deadline (keep-alive after every request) cannot grow the heap without bound.
    pub(crate) fn compact(&mut self, live: impl Fn(&TimerEntry) -> bool, live_count: usize) {
        if self.heap.len() > 1024 && self.heap.len() > 4 * live_count {
            self.heap.retain(|Reverse(entry)| live(entry));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn entries_pop_in_deadline_order_only_when_due() {
        let start = Instant::now();
        let mut timers = Timers::default();
        for (slot, secs) in [(0, 3), (1, 1), (2, 2)] {
            let at = start + Duration::from_secs(secs);
            timers.push(TimerEntry { at, id: ConnId { slot, generation: 0 } });
        }
        assert_eq!(timers.next(), Some(start + Duration::from_secs(1)));
        assert!(timers.pop_due(start).is_none());
        let due = start + Duration::from_secs(2);
        let popped: Vec<u32> = std::iter::from_fn(|| timers.pop_due(due)).map(|e| e.id.slot).collect();
        assert_eq!(popped, [1, 2]);
    }
}
