//! Requests held open on one channel until a message arrives or their deadline passes.

use std::collections::{BTreeMap, HashMap};
use std::hash::Hash;
use std::time::Instant;

use crate::log::{Batch, ChannelLog, MessageId};

/// Where one parked request waits: its cursor and its deadline, plus the park order that
/// breaks ties in both indexes (and keeps their keys unique).
#[derive(Debug, Clone, Copy)]
struct Slot {
    cursor: MessageId,
    deadline: Instant,
    seq: u64,
}

/// The parked requests of one channel. `K` identifies a request to the caller — the server
/// uses its connection token plus a generation, so a reused token cannot be answered by
/// mistake.
///
/// Three indexes over the same set, each serving one question in O(log n):
///
/// | index | question | used by |
/// |---|---|---|
/// | `by_key` | is this request parked, where? | [`Parked::remove`], [`Parked::park`] |
/// | `by_cursor` | who waits for ids below the newest? | [`Parked::release`] |
/// | `by_deadline` | who has waited too long? | [`Parked::expire`], [`Parked::next_deadline`] |
///
/// Ordered maps rather than a heap with lazy deletion: a client that disconnects while parked
/// (common: a tab closes) is removed at once instead of lingering until its deadline, so
/// memory follows the live count.
#[derive(Debug, Clone)]
pub struct Parked<K> {
    by_key: HashMap<K, Slot>,
    by_cursor: BTreeMap<(MessageId, u64), K>,
    by_deadline: BTreeMap<(Instant, u64), K>,
    /// Park counter: the next `Slot::seq`.
    seq: u64,
}

impl<K> Default for Parked<K> {
    fn default() -> Self {
        Parked { by_key: HashMap::new(), by_cursor: BTreeMap::new(), by_deadline: BTreeMap::new(), seq: 0 }
    }
}

impl<K: Copy + Eq + Hash> Parked<K> {
    /// An empty table.
    pub fn new() -> Self {
        Parked::default()
    }

    /// Parks `key` until a message with id > `cursor` exists or `deadline` passes. Parking a
    /// key that is already parked moves it (returns `true`). Call this only after
    /// [`ChannelLog::after`] came back empty for `cursor`, or the request waits for nothing.
    pub fn park(&mut self, key: K, cursor: MessageId, deadline: Instant) -> bool {
        let replaced = self.remove(key);
        let slot = Slot { cursor, deadline, seq: self.seq };
        self.seq += 1;
        self.by_key.insert(key, slot);
        self.by_cursor.insert((cursor, slot.seq), key);
        self.by_deadline.insert((deadline, slot.seq), key);
        replaced
    }

    /// Forgets `key` (its client went away). Returns whether it was parked.
    pub fn remove(&mut self, key: K) -> bool {
        let Some(slot) = self.by_key.remove(&key) else {
            return false;
        };
        self.by_cursor.remove(&(slot.cursor, slot.seq));
        self.by_deadline.remove(&(slot.deadline, slot.seq));
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
        for (&(_, seq), key) in &released {
            if let Some(slot) = self.by_key.remove(key) {
                self.by_deadline.remove(&(slot.deadline, seq));
            }
        }
        released.into_iter().map(move |((cursor, _), key)| (key, log.after(cursor)))
    }

    /// Unparks every request whose deadline is at or before `now`, earliest deadline first
    /// (equal deadlines in park order). The caller answers each with 204 No Content.
    pub fn expire(&mut self, now: Instant) -> Vec<K> {
        let mut expired = Vec::new();
        while let Some(entry) = self.by_deadline.first_entry() {
            if entry.key().0 > now {
                break;
            }
            let key = entry.remove();
            if let Some(slot) = self.by_key.remove(&key) {
                self.by_cursor.remove(&(slot.cursor, slot.seq));
            }
            expired.push(key);
        }
        expired
    }

    /// The earliest deadline: when the caller should next call [`Parked::expire`].
    pub fn next_deadline(&self) -> Option<Instant> {
        self.by_deadline.first_key_value().map(|(&(deadline, _), _)| deadline)
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
    use std::time::Duration;

    fn secs(t0: Instant, s: u64) -> Instant {
        t0 + Duration::from_secs(s)
    }

    #[test]
    fn publish_releases_each_with_its_own_batch() {
        let t0 = Instant::now();
        let mut log = ChannelLog::new();
        let mut parked = Parked::new();
        log.publish("a", 1);
        parked.park('x', 1, secs(t0, 30));
        parked.park('y', 0, secs(t0, 30));
        log.publish("b", 1);
        let released: Vec<_> = parked.release(&log).map(|(k, b)| (k, b.len())).collect();
        assert_eq!(released, [('y', 2), ('x', 1)]);
        assert!(parked.is_empty());
        assert_eq!(parked.next_deadline(), None);
    }

    #[test]
    fn cursor_ahead_of_the_log_stays_parked() {
        let t0 = Instant::now();
        let mut log = ChannelLog::new();
        let mut parked = Parked::new();
        parked.park(1, 5, secs(t0, 30));
        log.publish((), 1);
        assert_eq!(parked.release(&log).count(), 0);
        assert_eq!(parked.cursor_of(1), Some(5));
    }

    #[test]
    fn expire_returns_timed_out_keys_in_deadline_order() {
        let t0 = Instant::now();
        let mut parked = Parked::new();
        parked.park('c', 0, secs(t0, 3));
        parked.park('a', 0, secs(t0, 1));
        parked.park('b', 0, secs(t0, 1));
        parked.park('d', 0, secs(t0, 9));
        assert_eq!(parked.next_deadline(), Some(secs(t0, 1)));
        assert_eq!(parked.expire(t0), [] as [char; 0]);
        assert_eq!(parked.expire(secs(t0, 3)), ['a', 'b', 'c']);
        assert_eq!(parked.next_deadline(), Some(secs(t0, 9)));
        assert_eq!((parked.len(), parked.contains('d')), (1, true));
    }

    #[test]
    fn remove_while_parked() {
        let t0 = Instant::now();
        let mut log = ChannelLog::new();
        let mut parked = Parked::new();
        parked.park(1, 0, secs(t0, 1));
        parked.park(2, 0, secs(t0, 2));
        assert!(parked.remove(1));
        assert!(!parked.remove(1));
        assert_eq!(parked.next_deadline(), Some(secs(t0, 2)));
        log.publish((), 1);
        assert_eq!(parked.release(&log).map(|(k, _)| k).collect::<Vec<_>>(), [2]);
        assert_eq!(parked.expire(secs(t0, 5)), [] as [i32; 0]);
    }

    #[test]
    fn parking_again_moves_the_request() {
        let t0 = Instant::now();
        let mut parked = Parked::new();
        assert!(!parked.park(7, 0, secs(t0, 1)));
        assert!(parked.park(7, 3, secs(t0, 5)));
        assert_eq!((parked.len(), parked.cursor_of(7)), (1, Some(3)));
        assert_eq!(parked.expire(secs(t0, 1)), [] as [i32; 0]);
        assert_eq!(parked.expire(secs(t0, 5)), [7]);
    }
}
