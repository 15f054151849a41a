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

/// Below this many entries the heap is never swept: stale entries cost less than a sweep.
const SWEEP_FROM: usize = 1024;

/// All pending deadlines of one loop.
#[derive(Debug, Default)]
pub(crate) struct Timers {
    heap: BinaryHeap<Reverse<TimerEntry>>,
    /// The heap's length after the last sweep (`compact`).
    swept_len: usize,
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

    /// Drops stale entries once the heap has doubled since the last sweep, and gives back the
    /// memory they held. Without it, stale entries would wait to pop at their instant: a
    /// connection that keeps moving its deadline earlier could grow the heap without bound, and
    /// 10 000 WebSockets upgraded from HTTP would keep 10 000 entries of head timeouts that
    /// were cleared (24 bytes each, a tenth of what a parked socket costs otherwise). Each
    /// sweep visits at most twice the entries pushed since the one before: amortised O(1) a push.
    pub(crate) fn compact(&mut self, live: impl Fn(&TimerEntry) -> bool) {
        if self.heap.len() <= SWEEP_FROM.max(2 * self.swept_len) {
            return;
        }
        self.heap.retain(|Reverse(entry)| live(entry));
        self.swept_len = self.heap.len();
        if self.heap.capacity() > 4 * self.heap.len() {
            self.heap.shrink_to(2 * self.heap.len());
        }
    }

    /// How many entries the heap holds, stale ones included.
    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.heap.len()
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

    #[test]
    fn a_sweep_drops_stale_entries_once_the_heap_doubled_and_keeps_live_ones() {
        let at = Instant::now() + Duration::from_secs(10);
        let mut timers = Timers::default();
        let entry = |slot| TimerEntry { at, id: ConnId { slot, generation: 0 } };
        for slot in 0..SWEEP_FROM as u32 {
            timers.push(entry(slot));
        }
        let live = |e: &TimerEntry| e.id.slot.is_multiple_of(100);
        timers.compact(live);
        assert_eq!(timers.len(), SWEEP_FROM, "not past the sweep threshold yet");
        timers.push(entry(SWEEP_FROM as u32));
        timers.compact(live);
        assert_eq!(timers.len(), 11, "slots 0, 100, … 1000 are live");
        assert!(timers.heap.capacity() <= 4 * 11 + SWEEP_FROM / 4, "the stale entries' memory was given back");
        let popped: Vec<u32> = std::iter::from_fn(|| timers.pop_due(at)).map(|e| e.id.slot).collect();
        assert_eq!(popped.len(), 11);
        assert!(popped.iter().all(|slot| slot.is_multiple_of(100)));
    }
}
