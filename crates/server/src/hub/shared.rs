//! What every loop shares: the channel map (with the cap on its size), the retained-history
//! budget, and the catch-up accounting that holds publishers back.
//!
//! Lock order — a thread holds at most one channel lock, and takes locks only downwards:
//!
//! ```text
//!  the channel map ──▶ one channel ──▶ the publish order (budget)
//!                                  └─▶ each loop's mailbox (a publish sends while it holds
//!                                      its channel, so every loop sees a channel's ids in order)
//! ```
//!
//! Looking a channel up takes the map's lock and lets it go before the channel's is taken;
//! only freeing a channel holds both (the map's first). Eviction pops the oldest entry under
//! the order's lock, lets it go, then locks that entry's channel alone.

use std::collections::HashMap;
use std::hash::{BuildHasher, BuildHasherDefault, DefaultHasher};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use talkback_longpoll::{ChannelLog, LogLimits, MessageId};

use super::budget::Budget;
use super::channel::{Channel, ChannelState};
use super::encoded::Encoded;

/// The hub's limits (the server's flags of the same names).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HubLimits {
    /// Messages each channel retains (`--history`).
    pub history: usize,
    /// Bytes all channels retain together, every form of a message counted
    /// (`--max-retained-bytes`): past it the oldest messages, across channels, are evicted.
    pub max_retained_bytes: usize,
    /// Channels at once (`--max-channels`): a request that would make one more is refused.
    pub max_channels: usize,
    /// The backlog a `POST` may leave without being held (`--max-ahead`).
    pub max_ahead: usize,
}

/// A request would make a channel past `--max-channels`: the server answers 503 with
/// `Retry-After` (channels nobody uses are freed, so there may be room soon).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TooManyChannels;

impl TooManyChannels {
    /// The one-line reason the server gives with its 503.
    pub const REASON: &'static [u8] = b"too many channels (--max-channels); try again later\n";
}

/// Slots of the id floors (16 bytes each, a page touched only where a channel was freed).
const FLOOR_SLOTS: usize = 1 << 15;

/// The channel map and what survives a freed channel.
#[derive(Debug)]
struct Channels {
    by_name: HashMap<Arc<str>, Arc<Channel>>,
    /// The last ids of freed channels, one per slot (a hash of the name), as (the name's full
    /// hash, its last id): a channel made again starts after its own, so its ids do not
    /// repeat, and a cursor from before is told what it missed. A slot keeps the most recently
    /// freed name; a new name (its hash is not there) starts at 1.
    floors: Box<[(u64, MessageId)]>,
}

impl Channels {
    /// `name`'s hash: a fixed one (not the map's random one), so which names share a slot does
    /// not change from run to run.
    fn hash(name: &str) -> u64 {
        BuildHasherDefault::<DefaultHasher>::default().hash_one(name)
    }

    fn slot(&mut self, name: &str) -> (u64, &mut (u64, MessageId)) {
        let hash = Channels::hash(name);
        (hash, &mut self.floors[hash as usize % FLOOR_SLOTS])
    }

    /// The last id of the channel called `name` when it was freed (0: never, or forgotten).
    fn floor(&mut self, name: &str) -> MessageId {
        let (hash, &mut (kept, last_id)) = self.slot(name);
        if kept == hash { last_id } else { 0 }
    }
}

/// All channels, shared by every loop.
#[derive(Debug)]
pub struct Hub {
    channels: Mutex<Channels>,
    limits: HubLimits,
    budget: Budget,
    /// Broadcasts published but not yet delivered by every loop. A `POST` that finds more than
    /// `max_ahead` is held (see `LocalHub::hold_answer`) so publishers cannot run far ahead of
    /// delivery.
    pub(super) backlog: AtomicUsize,
    /// Per loop: it holds `POST`s waiting for the backlog to shrink (the loop that shrinks it
    /// wakes them with `HubMessage::CaughtUp`).
    pub(super) has_waiting: Box<[AtomicBool]>,
}

impl Hub {
    /// An empty hub for `loops` loops.
    pub fn new(limits: HubLimits, loops: usize) -> Hub {
        Hub {
            channels: Mutex::new(Channels { by_name: HashMap::new(), floors: vec![(0, 0); FLOOR_SLOTS].into() }),
            limits,
            budget: Budget::new(limits.max_retained_bytes),
            backlog: AtomicUsize::new(0),
            has_waiting: (0..loops.max(1)).map(|_| AtomicBool::new(false)).collect(),
        }
    }

    /// Its limits.
    pub fn limits(&self) -> HubLimits {
        self.limits
    }

    /// Bytes retained across all channels, as the budget counts them (at most
    /// `max_retained_bytes` whenever no publish is under way).
    pub fn retained_bytes(&self) -> usize {
        self.budget.retained()
    }

    /// Channels in the map now.
    pub fn channel_count(&self) -> usize {
        self.map().by_name.len()
    }

    /// Broadcasts not yet delivered by every loop.
    pub fn backlog(&self) -> usize {
        self.backlog.load(Ordering::Acquire)
    }

    /// Whether the loops are within `max_ahead` broadcasts of the publishers.
    pub(super) fn caught_up(&self) -> bool {
        self.backlog.load(Ordering::SeqCst) <= self.limits.max_ahead
    }

    fn map(&self) -> MutexGuard<'_, Channels> {
        self.channels.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Runs `f` on channel `name` under its lock, making the channel first if there is none —
    /// unless that would pass `--max-channels`. A channel `f` leaves unused is freed after.
    pub(super) fn with_channel<R>(
        &self,
        name: &str,
        f: impl FnOnce(&Arc<Channel>, &mut ChannelState) -> R,
    ) -> Result<R, TooManyChannels> {
        self.locked(name, true, f).ok_or(TooManyChannels)
    }

    /// [`Hub::with_channel`] for a channel that exists; `None` if there is none (none is made).
    pub(super) fn with_existing<R>(
        &self,
        name: &str,
        f: impl FnOnce(&Arc<Channel>, &mut ChannelState) -> R,
    ) -> Option<R> {
        self.locked(name, false, f)
    }

    fn locked<R>(&self, name: &str, create: bool, f: impl FnOnce(&Arc<Channel>, &mut ChannelState) -> R) -> Option<R> {
        loop {
            let channel = self.find(name, create)?;
            let mut state = channel.lock();
            if state.freed {
                continue; // freed between the lookup and the lock: look again
            }
            let result = f(&channel, &mut state);
            if state.is_unused() {
                drop(state);
                self.free_if_unused(&channel);
            }
            return Some(result);
        }
    }

    /// The channel called `name` if there is one (no lock but the map's is taken).
    pub(super) fn existing(&self, name: &str) -> Option<Arc<Channel>> {
        self.find(name, false)
    }

    /// The channel called `name`; made (starting after its id floor) if `create` and there is
    /// room.
    fn find(&self, name: &str, create: bool) -> Option<Arc<Channel>> {
        let mut map = self.map();
        if let Some(channel) = map.by_name.get(name) {
            return Some(Arc::clone(channel));
        }
        if !create || map.by_name.len() >= self.limits.max_channels {
            return None;
        }
        let limits = LogLimits { max_messages: self.limits.history, ..LogLimits::default() };
        let log = ChannelLog::starting_after(map.floor(name), limits);
        let key: Arc<str> = Arc::from(name);
        let channel = Arc::new(Channel::new(Arc::clone(&key), log));
        map.by_name.insert(key, Arc::clone(&channel));
        Some(channel)
    }

    /// Frees `channel` if it is still the map's channel of its name and still unused: nobody
    /// listens, nothing is retained. Its last id is kept in its slot of the id floors.
    fn free_if_unused(&self, channel: &Arc<Channel>) {
        let mut map = self.map();
        if !map.by_name.get(&channel.name).is_some_and(|c| Arc::ptr_eq(c, channel)) {
            return;
        }
        let mut state = channel.lock();
        if !state.is_unused() {
            return;
        }
        state.freed = true;
        channel.note_first_id(&state);
        if state.log.last_id() > 0 {
            let (hash, slot) = map.slot(&channel.name);
            *slot = (hash, state.log.last_id());
        }
        map.by_name.remove(&channel.name);
    }

    /// Every channel in the map with its last id (the map's lock is let go before each
    /// channel's is taken).
    pub(super) fn last_ids(&self) -> Vec<(Arc<str>, MessageId)> {
        let channels: Vec<Arc<Channel>> = self.map().by_name.values().cloned().collect();
        channels.into_iter().map(|c| (Arc::clone(&c.name), c.lock().log.last_id())).collect()
    }

    /// The last id of the channel called `name` when it was freed (0: never, or forgotten).
    pub(super) fn floor(&self, name: &str) -> MessageId {
        self.map().floor(name)
    }

    /// Adds `message` to `channel`'s log and to the budget (under the channel's lock). The
    /// channel's own ring (`--history`) may let its oldest go; eviction across channels comes
    /// after the lock is released ([`Hub::enforce_budget`]).
    pub(super) fn append(&self, channel: &Arc<Channel>, state: &mut ChannelState, message: &Arc<Encoded>) {
        let bytes = message.retained_bytes();
        let (len, weight) = (state.log.len(), state.log.retained_bytes());
        let id = state.log.publish(Arc::clone(message), bytes);
        debug_assert_eq!(id, message.id);
        self.budget.added(channel, id, bytes);
        let dropped = len + 1 - state.log.len();
        if dropped > 0 {
            self.budget.released(dropped, weight + bytes - state.log.retained_bytes());
        }
        channel.note_first_id(state);
    }

    /// A node of a cluster is given message `id` by the store when its log's next id is
    /// lower: the messages in between are lost for good (the store lost or trimmed them before
    /// this node saw them). The log skips past them — what it retains goes, since its ids stay
    /// consecutive, and is released from the budget — so cursors are told they missed them.
    pub(super) fn skip_gap(&self, channel: &Arc<Channel>, state: &mut ChannelState, id: MessageId) {
        let (count, bytes) = state.log.skip_to(id.saturating_sub(1));
        if count > 0 {
            self.budget.released(count, bytes);
            channel.note_first_id(state);
        }
    }

    /// Evicts the oldest retained messages, whichever channels they are in, until the budget
    /// holds; a channel left empty and unlistened is freed. Called with no lock held.
    pub(super) fn enforce_budget(&self) {
        while self.budget.is_over() {
            let Some((channel, id)) = self.budget.pop_oldest() else { break };
            let mut state = channel.lock();
            // Only if still retained; anything older of this channel goes with it (another
            // thread may hold its entry, popped a moment before this one).
            let (count, bytes) = state.log.evict_through(id);
            if count == 0 {
                continue;
            }
            self.budget.released(count, bytes);
            channel.note_first_id(&state);
            if state.is_unused() {
                drop(state);
                self.free_if_unused(&channel);
            }
        }
    }

    /// The slot of the id floors `name` is kept in, for tests.
    #[cfg(test)]
    pub(super) fn floor_slot(name: &str) -> usize {
        Channels::hash(name) as usize % FLOOR_SLOTS
    }

    /// Entries in the budget's publish order, for tests.
    #[cfg(test)]
    pub(super) fn order_len(&self) -> usize {
        self.budget.order_len()
    }
}
