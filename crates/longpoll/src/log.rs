//! A channel's history: the last N messages with their ids, and what a cursor has missed.

use std::collections::VecDeque;

/// A message id. Ids are 1, 2, 3… per channel; 0 is the cursor "before everything".
pub type MessageId = u64;

/// How much history a channel keeps. The oldest messages are evicted first; the newest
/// message is always kept, even if it alone is over the byte budget, so "the last message"
/// is never lost and a parked request always has something to be released with. (A caller
/// with a budget across many logs can take the newest too: [`ChannelLog::evict_through`].)
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LogLimits {
    /// Messages kept (default 1024, README, Limits: channel history; at least 1).
    pub max_messages: usize,
    /// Total weight kept, as given to [`ChannelLog::publish`] (default: no byte budget). With
    /// 1 MiB messages, 1024 of them are 1 GiB per channel; a budget bounds that.
    pub max_bytes: Option<usize>,
}

impl Default for LogLimits {
    fn default() -> Self {
        LogLimits { max_messages: 1024, max_bytes: None }
    }
}

/// One retained message.
#[derive(Debug, Clone)]
struct Entry<T> {
    id: MessageId,
    /// The weight it was published with, subtracted again when it is evicted.
    bytes: usize,
    item: T,
}

/// The ring of a channel's recent messages. Generic over the stored item so the hub can keep
/// one shared, pre-encoded value per message (`Arc<Encoded>`) and hand out cheap references.
#[derive(Debug, Clone)]
pub struct ChannelLog<T> {
    /// Retained messages, oldest first; their ids are consecutive.
    entries: VecDeque<Entry<T>>,
    /// The id of the newest message ever published (0: none yet).
    last_id: MessageId,
    /// Sum of the retained entries' weights.
    bytes: usize,
    limits: LogLimits,
}

impl<T> Default for ChannelLog<T> {
    fn default() -> Self {
        ChannelLog::new()
    }
}

impl<T> ChannelLog<T> {
    /// An empty log with the default [`LogLimits`].
    pub fn new() -> Self {
        ChannelLog::with_limits(LogLimits::default())
    }

    /// An empty log with explicit limits (`max_messages` 0 is taken as 1).
    pub fn with_limits(limits: LogLimits) -> Self {
        ChannelLog::starting_after(0, limits)
    }

    /// An empty log whose first message gets id `last_id + 1`: a channel made again after it
    /// was freed goes on where it stopped, so its ids never repeat and a cursor from before
    /// is told it missed what it did not see (`after` counts ids `1..=last_id` as evicted).
    pub fn starting_after(last_id: MessageId, limits: LogLimits) -> Self {
        let limits = LogLimits { max_messages: limits.max_messages.max(1), ..limits };
        ChannelLog { entries: VecDeque::new(), last_id, bytes: 0, limits }
    }

    /// Appends `item` with weight `bytes` (counted against [`LogLimits::max_bytes`]), evicts
    /// what no longer fits, and returns the new id.
    pub fn publish(&mut self, item: T, bytes: usize) -> MessageId {
        self.last_id += 1;
        self.entries.push_back(Entry { id: self.last_id, bytes, item });
        self.bytes += bytes;
        while self.entries.len() > self.limits.max_messages || self.over_budget() {
            if let Some(old) = self.entries.pop_front() {
                self.bytes -= old.bytes;
            }
        }
        self.last_id
    }

    /// Evicts every retained message with an id at or below `id`, oldest first — the newest
    /// included, so the log may be left empty (a budget shared by many logs decides, not this
    /// log's own limits). Returns how many were evicted and their summed weight. Later cursors
    /// are told about them like any other eviction: [`Batch::missed`] counts them.
    pub fn evict_through(&mut self, id: MessageId) -> (usize, usize) {
        let (mut count, mut weight) = (0, 0);
        while let Some(front) = self.entries.front().filter(|e| e.id <= id) {
            weight += front.bytes;
            count += 1;
            self.entries.pop_front();
        }
        self.bytes -= weight;
        (count, weight)
    }

    /// Moves on past a gap nothing can fill: the next message gets id `last_id + 1`, and every
    /// id up to `last_id` not retained counts as evicted ([`Batch::missed`]). Ids stay
    /// consecutive in the ring, so what it retains is evicted first (returned as
    /// [`ChannelLog::evict_through`] returns it). An id at or below [`ChannelLog::last_id`]
    /// changes nothing: ids never go backwards. (A cache of a log kept elsewhere uses it when
    /// that store lost messages the cache never saw.)
    pub fn skip_to(&mut self, last_id: MessageId) -> (usize, usize) {
        if last_id <= self.last_id {
            return (0, 0);
        }
        let evicted = self.evict_through(self.last_id);
        self.last_id = last_id;
        evicted
    }

    fn over_budget(&self) -> bool {
        self.entries.len() > 1 && self.limits.max_bytes.is_some_and(|max| self.bytes > max)
    }

    /// The id the next [`ChannelLog::publish`] will return: the hub encodes `id: N` into the
    /// message's bytes before storing them.
    pub fn next_id(&self) -> MessageId {
        self.last_id + 1
    }

    /// The newest id (0 before the first message): the cursor for "only new messages", as a
    /// long-poll without `after` uses.
    pub fn last_id(&self) -> MessageId {
        self.last_id
    }

    /// The oldest retained id (`last_id() + 1` when nothing is retained).
    pub fn first_id(&self) -> MessageId {
        self.entries.front().map_or(self.last_id + 1, |e| e.id)
    }

    /// Messages retained.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether nothing is retained (nothing published yet, or everything evicted).
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// The summed weight of the retained messages.
    pub fn retained_bytes(&self) -> usize {
        self.bytes
    }

    /// The messages with id > `cursor` that are still retained, and how many with id >
    /// `cursor` were evicted already. `after(0)` is all retained messages (what a poll
    /// without `after` answers; its `missed` is then the evicted count, which such a caller
    /// ignores). A cursor at or past [`ChannelLog::last_id`] gives an empty batch.
    pub fn after(&self, cursor: MessageId) -> Batch<'_, T> {
        let first = self.first_id();
        let missed = first.saturating_sub(cursor.saturating_add(1));
        let start = cursor.saturating_add(1).saturating_sub(first);
        let start = usize::try_from(start).unwrap_or(usize::MAX).min(self.entries.len());
        Batch { entries: &self.entries, start, missed, cursor }
    }
}

/// The answer to a cursor: retained messages after it, oldest first, plus the count of those
/// evicted before anyone asked. Borrows the log; copying it is free.
#[derive(Debug)]
pub struct Batch<'a, T> {
    entries: &'a VecDeque<Entry<T>>,
    /// Index of the first entry in the batch.
    start: usize,
    missed: u64,
    /// The cursor it answers.
    cursor: MessageId,
}

impl<T> Clone for Batch<'_, T> {
    fn clone(&self) -> Self {
        *self
    }
}

impl<T> Copy for Batch<'_, T> {}

impl<'a, T> Batch<'a, T> {
    /// Messages after the cursor that were evicted: the client missed them for good. The hub
    /// reports it as the `Talkback-Missed` header or an SSE `missed` event.
    pub fn missed(&self) -> u64 {
        self.missed
    }

    /// The cursor this batch answers (the ids in it, and the missed ones, are above it).
    pub fn cursor(&self) -> MessageId {
        self.cursor
    }

    /// Messages in the batch.
    pub fn len(&self) -> usize {
        self.entries.len() - self.start
    }

    /// Whether there is nothing to deliver. Within one log's own limits `missed` is then 0 too
    /// (the newest message is always kept); after [`ChannelLog::evict_through`] took all of a
    /// log, an empty batch can have `missed > 0`: everything after the cursor is gone.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The id of the newest message in the batch: the client's next cursor.
    pub fn last_id(&self) -> Option<MessageId> {
        self.entries.back().filter(|_| !self.is_empty()).map(|e| e.id)
    }

    /// The messages, oldest first.
    pub fn iter(&self) -> impl ExactSizeIterator<Item = (MessageId, &'a T)> + use<'a, T> {
        self.entries.range(self.start..).map(|e| (e.id, &e.item))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ids<T>(batch: Batch<'_, T>) -> Vec<MessageId> {
        batch.iter().map(|(id, _)| id).collect()
    }

    #[test]
    fn skipping_past_a_gap_counts_it_missed_and_never_goes_back() {
        let mut log = log_of(3, 10);
        assert_eq!(log.skip_to(2), (0, 0), "backwards: nothing changes");
        assert_eq!(log.skip_to(7), (3, 3), "the retained 1..=3 go, so ids stay consecutive");
        assert_eq!(log.publish(800, 1), 8);
        let batch = log.after(3);
        assert_eq!((ids(batch), batch.missed()), (vec![8], 4), "4..=7 were never seen");
        assert_eq!(log.after(0).missed(), 7);
    }

    fn log_of(n: u64, max_messages: usize) -> ChannelLog<u64> {
        let mut log = ChannelLog::with_limits(LogLimits { max_messages, max_bytes: None });
        for i in 1..=n {
            assert_eq!(log.publish(i * 100, 1), i);
        }
        log
    }

    #[test]
    fn ids_start_at_one_and_count_up() {
        let mut log = ChannelLog::new();
        assert_eq!((log.last_id(), log.next_id(), log.first_id()), (0, 1, 1));
        assert_eq!(log.publish("a", 1), 1);
        assert_eq!(log.publish("b", 1), 2);
        assert_eq!((log.last_id(), log.next_id(), log.first_id(), log.len()), (2, 3, 1, 2));
    }

    #[test]
    fn after_gives_messages_newer_than_the_cursor() {
        let log = log_of(5, 10);
        assert_eq!(ids(log.after(0)), [1, 2, 3, 4, 5]);
        assert_eq!(ids(log.after(3)), [4, 5]);
        assert_eq!(ids(log.after(5)), [] as [u64; 0]);
        assert_eq!(ids(log.after(99)), [] as [u64; 0]);
        let items: Vec<_> = log.after(3).iter().map(|(_, &v)| v).collect();
        assert_eq!(items, [400, 500]);
        assert_eq!(log.after(3).last_id(), Some(5));
        assert_eq!(log.after(5).last_id(), None);
    }

    #[test]
    fn ring_evicts_oldest_and_counts_missed() {
        let log = log_of(10, 4);
        assert_eq!((log.first_id(), log.last_id(), log.len()), (7, 10, 4));
        let cases = [
            (0, 6, vec![7, 8, 9, 10]),
            (5, 1, vec![7, 8, 9, 10]),
            (6, 0, vec![7, 8, 9, 10]),
            (8, 0, vec![9, 10]),
            (10, 0, vec![]),
        ];
        for (cursor, missed, expect) in cases {
            let batch = log.after(cursor);
            assert_eq!((batch.missed(), ids(batch)), (missed, expect), "cursor {cursor}");
        }
    }

    #[test]
    fn byte_budget_evicts_but_keeps_the_newest() {
        let mut log = ChannelLog::with_limits(LogLimits { max_messages: 100, max_bytes: Some(10) });
        for weight in [4, 4, 4] {
            log.publish((), weight);
        }
        assert_eq!((log.first_id(), log.retained_bytes()), (2, 8));
        log.publish((), 50);
        assert_eq!((log.first_id(), log.len(), log.retained_bytes()), (4, 1, 50));
        assert_eq!(log.after(0).missed(), 3);
    }

    #[test]
    fn evict_through_takes_the_oldest_up_to_an_id_and_after_reports_them_missed() {
        let mut log = ChannelLog::with_limits(LogLimits { max_messages: 100, max_bytes: None });
        for weight in [10, 20, 30] {
            log.publish((), weight);
        }
        assert_eq!(log.evict_through(0), (0, 0), "nothing at or below 0");
        assert_eq!(log.evict_through(2), (2, 30));
        assert_eq!((log.first_id(), log.len(), log.retained_bytes()), (3, 1, 30));
        let batch = log.after(0);
        assert_eq!((batch.missed(), ids(batch)), (2, vec![3]));
        assert_eq!(log.evict_through(2), (0, 0), "already gone: a second eviction is a no-op");
        assert_eq!(log.evict_through(99), (1, 30), "the newest too");
        assert!(log.is_empty());
        assert_eq!((log.first_id(), log.last_id(), log.retained_bytes()), (4, 3, 0));
        let cases = [(0, 3), (1, 2), (3, 0), (7, 0)];
        for (cursor, missed) in cases {
            let batch = log.after(cursor);
            assert!(batch.is_empty());
            assert_eq!((batch.missed(), batch.cursor()), (missed, cursor), "cursor {cursor}");
        }
        assert_eq!(log.publish((), 5), 4, "ids go on after an emptied log");
        assert_eq!(log.after(1).missed(), 2, "ids 2 and 3 were evicted");
    }

    #[test]
    fn a_log_made_again_starts_after_its_old_last_id() {
        let mut log = ChannelLog::starting_after(41, LogLimits::default());
        assert_eq!((log.last_id(), log.next_id(), log.first_id(), log.len()), (41, 42, 42, 0));
        assert_eq!(log.after(40).missed(), 1, "a cursor from before is told what it did not see");
        assert_eq!(log.publish("again", 1), 42);
        assert_eq!(ids(log.after(0)), [42]);
    }

    #[test]
    fn max_messages_zero_keeps_one() {
        let log = log_of(3, 0);
        assert_eq!(ids(log.after(0)), [3]);
    }

    #[test]
    fn extreme_cursors_do_not_overflow() {
        let log = log_of(3, 2);
        assert_eq!((log.after(u64::MAX).len(), log.after(u64::MAX).missed()), (0, 0));
    }
}
