//! Requests held open on one channel until a message arrives. How long each may wait is not
//! kept here: the hold deadline belongs to the caller's timer (the server's reactor), which
//! ends a hold with [`Parked::remove`] and a 204.

use std::collections::{BTreeMap, HashMap};
use std::hash::Hash;

use crate::log::{Batch, ChannelLog, MessageId};

/// Where one parked request waits: its cursor, plus the park order that breaks ties between
/// equal cursors (and keeps the keys of `by_cursor` unique).
#[derive(Debug, Clone, Copy)]
struct Slot {
    cursor: MessageId,
    seq: u64,
}

/// The parked requests of one channel. `K` identifies a request to the caller — the server
/// uses its connection token plus a generation, so a reused token cannot be answered by
/// mistake.
///
/// Two indexes over the same set, each serving one question in O(log n) (the first O(1)):
///
/// | index | question | used by |
/// |---|---|---|
/// | `by_key` | is this request parked, where? | [`Parked::remove`], [`Parked::park`], [`Parked::cursor_of`] |
/// | `by_cursor` | who waits for ids below the newest? | [`Parked::release`] |
///
/// No deadlines: the caller already has a timer per connection (it needs one for every other
/// timeout too), so a second copy here would be a second owner of the same instant, free to
/// disagree with the first. When the caller's timer fires it calls [`Parked::remove`]: `true`
/// means the hold ran out (answer 204), `false` that a publish released it first.
///
/// Ordered maps rather than a heap with lazy deletion: a client that disconnects while parked
/// (common: a tab closes) is removed at once instead of lingering, so memory follows the live
/// count.
#[derive(Debug, Clone)]
pub struct Parked<K> {
    by_key: HashMap<K, Slot>,
    by_cursor: BTreeMap<(MessageId, u64), K>,
    /// Park counter: the next `Slot::seq`.
    seq: u64,
}

impl<K> Default for Parked<K> {
    fn default() -> Self {
        Parked { by_key: HashMap::new(), by_cursor: BTreeMap::new(), seq: 0 }
    }
}

impl<K: Copy + Eq + Hash> Parked<K> {
    /// An empty table.
    pub fn new() -> Self {
        Parked::default()
    }

    /// Parks `key` until a message with id > `cursor` exists (or the caller's timer ends the
    /// hold with [`Parked::remove`]). Parking a key that is already parked moves it (returns
    /// `true`). Call this only after [`ChannelLog::after`] came back empty for `cursor`, or
    /// the request waits for nothing.
    pub fn park(&mut self, key: K, cursor: MessageId) -> bool {
        let replaced = self.remove(key);
        let slot = Slot { cursor, seq: self.seq };
        self.seq += 1;
        self.by_key.insert(key, slot);
        self.by_cursor.insert((cursor, slot.seq), key);
        replaced
    }

    /// Forgets `key`: its client went away, or the caller's hold timer fired. Returns whether
    /// it was parked — after a timer, `true` means "answer 204", `false` that it was already
    /// released.
    pub fn remove(&mut self, key: K) -> bool {
        let Some(slot) = self.by_key.remove(&key) else {
            return false;
        };
        self.by_cursor.remove(&(slot.cursor, slot.seq));
        true
    }

    /// Unparks every request whose cursor is below `log.last_id()` — after a publish, that is
    /// all of them, except clients whose cursor is ahead of the log — and pairs each with the
    /// batch after its own cursor. The table is updated before the first item is yielded.
    ///
    /// Released requests come in cursor order, so requests with equal cursors are adjacent:
    /// the caller can encode one response body and reuse it for the whole run.
    pub fn release<'a, T>(
        &mut self,
        log: &'a ChannelLog<T>,
    ) -> impl Iterator<Item = (K, Batch<'a, T>)> + use<'a, K, T> {
        let waiting = self.by_cursor.split_off(&(log.last_id(), 0));
        let released = std::mem::replace(&mut self.by_cursor, waiting);
        for key in released.values() {
            self.by_key.remove(key);
        }
        released.into_iter().map(move |((cursor, _), key)| (key, log.after(cursor)))
    }

    /// The cursor `key` is parked with, if it is parked.
    pub fn cursor_of(&self, key: K) -> Option<MessageId> {
        self.by_key.get(&key).map(|slot| slot.cursor)
    }

    /// Whether `key` is parked.
    pub fn contains(&self, key: K) -> bool {
        self.by_key.contains_key(&key)
    }

    /// Requests parked.
    pub fn len(&self) -> usize {
        self.by_key.len()
    }

    /// Whether no request is parked.
    pub fn is_empty(&self) -> bool {
        self.by_key.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn publish_releases_each_with_its_own_batch() {
        let mut log = ChannelLog::new();
        let mut parked = Parked::new();
        log.publish("a", 1);
        parked.park('x', 1);
        parked.park('y', 0);
        log.publish("b", 1);
        let released: Vec<_> = parked.release(&log).map(|(k, b)| (k, b.len())).collect();
        assert_eq!(released, [('y', 2), ('x', 1)]);
        assert!(parked.is_empty());
    }

    #[test]
    fn equal_cursors_are_released_in_park_order() {
        let mut log = ChannelLog::new();
        let mut parked = Parked::new();
        for key in ['c', 'a', 'b'] {
            parked.park(key, 0);
        }
        log.publish((), 1);
        assert_eq!(parked.release(&log).map(|(k, _)| k).collect::<Vec<_>>(), ['c', 'a', 'b']);
    }

    #[test]
    fn cursor_ahead_of_the_log_stays_parked() {
        let mut log = ChannelLog::new();
        let mut parked = Parked::new();
        parked.park(1, 5);
        log.publish((), 1);
        assert_eq!(parked.release(&log).count(), 0);
        assert_eq!(parked.cursor_of(1), Some(5));
    }

    #[test]
    fn remove_while_parked() {
        let mut log = ChannelLog::new();
        let mut parked = Parked::new();
        parked.park(1, 0);
        parked.park(2, 0);
        assert!(parked.remove(1));
        assert!(!parked.remove(1));
        assert_eq!((parked.len(), parked.contains(1), parked.contains(2)), (1, false, true));
        log.publish((), 1);
        assert_eq!(parked.release(&log).map(|(k, _)| k).collect::<Vec<_>>(), [2]);
    }

    /// The caller's hold timer fires after a publish released the request: `remove` says it
    /// is gone, so the caller sends no 204 on top of the 200.
    #[test]
    fn timer_after_release_finds_nothing_to_remove() {
        let mut log = ChannelLog::new();
        let mut parked = Parked::new();
        parked.park(7, 0);
        log.publish((), 1);
        assert_eq!(parked.release(&log).count(), 1);
        assert!(!parked.remove(7));
    }

    #[test]
    fn parking_again_moves_the_request() {
        let mut log = ChannelLog::new();
        let mut parked = Parked::new();
        assert!(!parked.park(7, 0));
        assert!(parked.park(7, 3));
        assert_eq!((parked.len(), parked.cursor_of(7)), (1, Some(3)));
        log.publish((), 1);
        assert_eq!(parked.release(&log).count(), 0, "the old cursor 0 is gone");
    }
}
