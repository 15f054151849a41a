//! The budget of retained history across all channels (`--max-retained-bytes`): what every
//! log holds, counted in bytes and messages, and the order messages were published in, so the
//! oldest can be evicted first whichever channel it is in.
//!
//! ```text
//!  publish, under channel c's lock:  retained += cost; order.push_back((c, id))
//!  the ring (--history) drops some:  retained -= their weight          (their entries go stale)
//!  over budget, no lock held:        (c, id) = order.pop_front()       (the order's lock alone)
//!                                    lock c; evict_through(id); retained -= their weight
//! ```
//!
//! Entries whose message left its log some other way (the ring, a concurrent eviction, the
//! channel freed) are stale: skipped when reached, and dropped in one pass whenever they could
//! outnumber the live ones, so the order stays within twice the retained count.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, PoisonError};

use talkback_longpoll::MessageId;

use super::channel::Channel;

/// Entries the publish order may hold beyond twice the live count before it is compacted.
const COMPACT_SLACK: usize = 1024;

/// The retained-history budget.
#[derive(Debug)]
pub(super) struct Budget {
    /// The most bytes all logs may retain together.
    max: usize,
    /// Bytes retained now (each message as `Encoded::retained_bytes` counts it).
    retained: AtomicUsize,
    /// Messages retained now.
    live: AtomicUsize,
    /// Every retained message (and some stale entries), oldest first; each channel's in id
    /// order, since they are pushed under the channel's lock. Its lock is taken last, never
    /// held while taking another.
    order: Mutex<VecDeque<(Arc<Channel>, MessageId)>>,
}

impl Budget {
    /// A budget of `max` bytes.
    pub(super) fn new(max: usize) -> Budget {
        Budget { max, retained: AtomicUsize::new(0), live: AtomicUsize::new(0), order: Mutex::new(VecDeque::new()) }
    }

    /// Bytes retained now, across all channels.
    pub(super) fn retained(&self) -> usize {
        self.retained.load(Ordering::Acquire)
    }

    /// Whether more is retained than the budget allows.
    pub(super) fn is_over(&self) -> bool {
        self.retained() > self.max
    }

    /// Message `id` of `channel`, costing `bytes`, was added to its log (called under the
    /// channel's lock, so each channel's entries are queued in id order).
    pub(super) fn added(&self, channel: &Arc<Channel>, id: MessageId, bytes: usize) {
        self.retained.fetch_add(bytes, Ordering::AcqRel);
        let live = self.live.fetch_add(1, Ordering::AcqRel) + 1;
        let mut order = self.order.lock().unwrap_or_else(PoisonError::into_inner);
        order.push_back((Arc::clone(channel), id));
        if order.len() > 2 * live + COMPACT_SLACK {
            order.retain(|(channel, id)| !channel.is_gone(*id));
        }
    }

    /// A log let `count` messages weighing `bytes` go (called under its channel's lock).
    pub(super) fn released(&self, count: usize, bytes: usize) {
        self.retained.fetch_sub(bytes, Ordering::AcqRel);
        self.live.fetch_sub(count, Ordering::AcqRel);
    }

    /// The oldest entry: the message to evict first, if it is still retained.
    pub(super) fn pop_oldest(&self) -> Option<(Arc<Channel>, MessageId)> {
        self.order.lock().unwrap_or_else(PoisonError::into_inner).pop_front()
    }

    /// Entries in the publish order (live and stale), for tests.
    #[cfg(test)]
    pub(super) fn order_len(&self) -> usize {
        self.order.lock().unwrap_or_else(PoisonError::into_inner).len()
    }
}
