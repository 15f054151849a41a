//! The channel hub as pure data and rules: every channel's log (shared by all loops), each
//! loop's registries of subscribers, parked long-polls and held `POST`s, publishing, the
//! budget of retained history, and the catch-up accounting that holds publishers back. It
//! knows no socket, no `Cx`, no connection type and no HTTP: a connection is a key `K` (the
//! server uses the reactor's `ConnId`), and every method says what should happen — which keys
//! get which shared bytes, which parked requests are released with which messages — for the
//! caller to do.
//!
//! The data path of one broadcast:
//!
//! ```text
//!  publish (any loop)                  channel lock held while:               each loop, later
//!  ──────────────────                  ───────────────────────                ────────────────
//!  LocalHub::publish ──▶ log.publish ──▶ id N; the message kept ONCE: ───────▶ mailbox: Broadcast
//!                                       its SSE event, the text a range of it  │
//!                                       (shared immutable bytes); budget += it ▼
//!                                      send Broadcast to every loop        LocalHub::deliver
//!                                       (in id order: still under the lock)   → Delivery { subscribers,
//!  then, no lock held: over the budget?                                          released, caught_up }
//!  evict the oldest messages, across channels
//! ```
//!
//! The subscribe rule, kept in one place ([`LocalHub::subscribe`]): the channel's last id is
//! read under its lock, then the key is registered on this loop. Every message published
//! after that read is still in this loop's mailbox and reaches the new subscriber; those at
//! or below it were replayed (or not wanted), so a subscriber skips any message whose id is
//! not above the last one it was sent — nothing is sent twice, nothing is missed.
//!
//! A channel is made by the first request that needs it (a publish, a subscription, a
//! long-poll; a short poll of a channel that does not exist just finds nothing) — or refused
//! past `--max-channels` ([`TooManyChannels`]) — and freed once nobody listens on any loop and
//! nothing is retained. A channel made again goes on after its last id, so a cursor from
//! before is never taken for a new message's (as long as the hub remembers that id: see
//! `shared.rs`, the id floors). The modules: `encoded` (one message, kept once),
//! `channel` (one channel), `budget` (retained bytes and the publish order), `shared` (the map,
//! the cap, freeing, eviction, the lock order), this file (each loop's side).

mod budget;
mod channel;
mod deflated;
mod encoded;
mod shared;

#[cfg(test)]
mod tests;

use std::cell::RefCell;
use std::collections::{HashMap, HashSet};
use std::hash::Hash;
use std::sync::Arc;
use std::sync::atomic::Ordering;

use talkback_longpoll::{Batch, ChannelLog, MessageId, Parked};

pub use deflated::{BROADCAST_LEVEL, Deflated};
pub use encoded::{Encoded, Json};
pub use shared::{Hub, HubLimits, TooManyChannels};

/// What one loop sends another.
#[derive(Debug)]
pub enum HubMessage {
    /// A message was published: deliver it to this loop's listeners on its channel.
    Broadcast(Broadcast),
    /// The backlog fell to the allowed lead: answer this loop's held `POST`s.
    CaughtUp,
}

/// A published message on its way to one loop.
#[derive(Debug)]
pub struct Broadcast {
    /// The channel's name (the hub's own key).
    pub channel: Arc<str>,
    /// The message, kept once. The broadcast holds it even if the budget evicts it from the
    /// log first, so live subscribers never miss a message.
    pub message: Arc<Encoded>,
}

/// Where the hub posts what a loop must see: the server gives it each loop's `LoopHandle`,
/// a test a plain list.
pub trait Mailbox: Send + Sync {
    /// Queues `message` for the loop (and wakes it).
    fn send(&self, message: HubMessage);
}

/// Messages after a cursor, taken out of a log (shared references, no lock held).
#[derive(Debug, Default)]
pub struct Messages {
    /// How many messages after the cursor are no longer retained.
    pub missed: u64,
    /// The retained messages after the cursor, oldest first. Empty with `missed > 0` when
    /// the budget took everything after the cursor.
    pub messages: Vec<Arc<Encoded>>,
}

impl Messages {
    fn after(log: &ChannelLog<Arc<Encoded>>, cursor: MessageId) -> Messages {
        Messages::of(log.after(cursor))
    }

    fn of(batch: Batch<'_, Arc<Encoded>>) -> Messages {
        Messages { missed: batch.missed(), messages: batch.iter().map(|(_, m)| Arc::clone(m)).collect() }
    }

    /// What a parked long-poll released by `message` is answered with: the batch after its
    /// cursor; or, when the budget took all of that already, `message` itself (the broadcast
    /// still holds it) with everything before it missed; `None` when even `message` is not
    /// after the cursor — the request waits on.
    fn released(batch: Batch<'_, Arc<Encoded>>, message: &Arc<Encoded>) -> Option<Messages> {
        if !batch.is_empty() {
            return Some(Messages::of(batch));
        }
        let cursor = batch.cursor();
        (message.id > cursor).then(|| Messages { missed: message.id - cursor - 1, messages: vec![Arc::clone(message)] })
    }
}

/// How a node of a cluster takes a stored message whose id is past its log's next one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Arrival {
    /// From the store's own order (the subscription, a history read): anything between was
    /// lost for good, and the log skips past it.
    InOrder,
    /// From a publish's reply, which may overtake the subscription: taken only if it is the
    /// next id; otherwise the subscription brings it, after those before it.
    OnlyNext,
}

/// What [`LocalHub::publish_stored`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stored {
    /// The next id: appended and sent.
    Next,
    /// Appended and sent after a gap of `missed` ids no store holds any more.
    AfterGap {
        /// Ids skipped.
        missed: u64,
    },
    /// Known already (or left for the subscription): nothing done.
    Duplicate,
}

/// A new subscription: what to replay, and the id it starts after.
#[derive(Debug)]
pub struct Subscription {
    /// The channel's key, for unsubscribing.
    pub channel: Arc<str>,
    /// What to send first (empty without a resume cursor).
    pub replay: Messages,
    /// The last id the subscriber has (been sent, declined, or been told it missed): later
    /// pushes skip ids at or below it.
    pub last_sent: MessageId,
}

/// The answer to a long-poll: messages now, or parked until one comes.
#[derive(Debug)]
pub enum LongPoll {
    /// Answer at once with these (possibly none, when the hold is zero).
    Now(Messages),
    /// Parked on `channel` after `cursor`; the caller owns the hold deadline.
    Parked {
        /// The channel's key, for unparking.
        channel: Arc<str>,
        /// Released by the first message with an id above it.
        cursor: MessageId,
    },
}

/// What one broadcast asks of this loop.
#[derive(Debug)]
pub struct Delivery<K> {
    /// Push the message to each (SSE streams, WebSockets), then give back the ones still
    /// subscribed with [`LocalHub::keep_subscribers`] (until then they are lent out).
    pub subscribers: Vec<K>,
    /// Answer each parked long-poll with its messages.
    pub released: Vec<(K, Messages)>,
    /// Answer each held `POST`: the loops have caught up.
    pub caught_up: Vec<K>,
}

/// One loop's view of the hub: the shared channels, a mailbox to every loop, and the
/// subscribers and held requests that live on this loop.
pub struct LocalHub<K> {
    shared: Arc<Hub>,
    /// This loop's number.
    index: usize,
    loops: Vec<Box<dyn Mailbox>>,
    /// Channels this loop listens on (an entry goes when its last listener does).
    local: HashMap<Arc<str>, LocalChannel<K>>,
    /// Entries that went, emptied, kept for the next channel this loop listens on: a channel
    /// whose long-polls are all released at once (and ask again a moment later) gets its
    /// tables back at their size instead of growing them from nothing every time.
    spares: Vec<LocalChannel<K>>,
    /// `POST`s on this loop waiting for the backlog to shrink.
    waiting: Vec<K>,
    /// This loop's compressors for broadcasts, one per window size in use (`deflated.rs`);
    /// in a cell so that publishing stays a `&self` method (it touches nothing else here).
    compressors: RefCell<deflated::Compressors>,
}

impl<K> std::fmt::Debug for LocalHub<K> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LocalHub").field("index", &self.index).field("channels", &self.local.len()).finish()
    }
}

/// How many emptied [`LocalChannel`]s a loop keeps for reuse.
const MAX_SPARES: usize = 4;

/// How many more departed entries than members a channel's push list may hold before leaving
/// sweeps it: a few stale keys in a small list cost less than sweeping at every departure.
const SWEEP_SLACK: usize = 8;

/// This loop's listeners on one channel.
///
/// The subscribers are kept twice: `members`, the set, says who is subscribed; `subscribers`,
/// the list, is the order they are pushed in. Leaving takes a key out of the set only — O(1),
/// so 16 000 subscribers that disconnect together cost 16 000 steps, not 16 000 × 16 000 / 2
/// list scans — and leaves its entry in the list, to be swept out by [`LocalChannel::sweep`]
/// before the list is lent to a delivery, or once departed entries outnumber the members.
#[derive(Debug)]
struct LocalChannel<K> {
    /// SSE streams and WebSockets: pushed every message, in this order (may still hold keys
    /// that left, until the next sweep).
    subscribers: Vec<K>,
    /// Who is subscribed now.
    members: HashSet<K>,
    /// How many entries of the list may belong to keys that left since the last sweep (at
    /// most this many: one that left while lent out may have been dropped by the caller).
    departed: usize,
    /// Subscribers lent out in a [`Delivery`], not yet given back.
    lent: usize,
    /// Long-polls waiting for a message after their cursor.
    parked: Parked<K>,
}

impl<K: Copy + Eq + Hash + Ord> Default for LocalChannel<K> {
    fn default() -> Self {
        LocalChannel { subscribers: Vec::new(), members: HashSet::new(), departed: 0, lent: 0, parked: Parked::new() }
    }
}

impl<K: Copy + Eq + Hash + Ord> LocalChannel<K> {
    fn is_idle(&self) -> bool {
        self.members.is_empty() && self.lent == 0 && self.parked.is_empty()
    }

    /// `key` leaves: O(1). The list is swept here only when the departed outnumber the
    /// members (and it is not lent out), so a mass disconnect costs a few sweeps whose
    /// lengths halve — O(subscribers) in all.
    fn leave(&mut self, key: K) {
        if self.members.remove(&key) {
            self.departed += 1;
        }
        if self.lent == 0 && self.departed > self.members.len() + SWEEP_SLACK {
            self.sweep();
        }
    }

    /// Drops the entries of keys that left, keeping the order of the rest: O(list), paid once
    /// for all the departures since the last sweep. Only while the list is not lent out.
    fn sweep(&mut self) {
        let members = &self.members;
        self.subscribers.retain(|k| members.contains(k));
        self.departed = 0;
    }

    /// Emptied, for reuse as a spare.
    fn cleared(mut self) -> Self {
        self.subscribers.clear();
        self.members.clear();
        self.departed = 0;
        self
    }
}

impl<K: Copy + Eq + Hash + Ord> LocalHub<K> {
    /// Loop `index`'s view of `shared`, able to reach every loop through `loops` (this one
    /// included, at position `index`).
    pub fn new(shared: Arc<Hub>, index: usize, loops: Vec<Box<dyn Mailbox>>) -> LocalHub<K> {
        let compressors = RefCell::new(deflated::Compressors::default());
        LocalHub { shared, index, loops, local: HashMap::new(), spares: Vec::new(), waiting: Vec::new(), compressors }
    }

    /// The hub every loop shares.
    pub fn shared(&self) -> &Hub {
        &self.shared
    }

    /// Messages shorter than `bytes` are not compressed for WebSocket subscribers
    /// (`--deflate-threshold`).
    pub fn set_deflate_threshold(&mut self, bytes: usize) {
        self.compressors.get_mut().threshold = bytes;
    }

    /// Appends `text` to channel `name` (made if need be), keeps it once — compressed once
    /// for each window size its WebSocket subscribers negotiated, before taking its lock —
    /// and sends it to every loop; then evicts what the budget no longer holds. Returns the
    /// new id.
    pub fn publish(&self, name: &str, text: &str) -> Result<MessageId, TooManyChannels> {
        let mut deflated = Some(self.deflate_for(name, text));
        let id = self.shared.with_channel(name, |channel, state| {
            let id = state.log.next_id();
            self.append_and_send(channel, state, id, text, deflated.take().unwrap_or_default());
            id
        })?;
        self.shared.enforce_budget();
        Ok(id)
    }

    /// A node of a cluster: message `id` of channel `name`, which the store (Redis) has, joins
    /// this node's log — its cache of the store's history — and goes to every loop, as a
    /// publish does. A message the log has already (delivered by another path) is a
    /// [`Stored::Duplicate`] and changes nothing, so whatever order the paths deliver in, each
    /// id is sent once. An id past the next one is taken as [`Arrival`] says.
    pub fn publish_stored(
        &self,
        name: &str,
        id: MessageId,
        text: &str,
        arrival: Arrival,
    ) -> Result<Stored, TooManyChannels> {
        let mut deflated = Some(self.deflate_for(name, text));
        let stored = self.shared.with_channel(name, |channel, state| {
            let next = state.log.next_id();
            if id < next || (id > next && arrival == Arrival::OnlyNext) {
                return Stored::Duplicate;
            }
            if id > next {
                self.shared.skip_gap(channel, state, id);
            }
            self.append_and_send(channel, state, id, text, deflated.take().unwrap_or_default());
            if id > next { Stored::AfterGap { missed: id - next } } else { Stored::Next }
        })?;
        self.shared.enforce_budget();
        Ok(stored)
    }

    /// Every channel this node has, with its last id (a node of a cluster raises Redis's
    /// counters to them when it rejoins).
    pub fn last_ids(&self) -> Vec<(Arc<str>, MessageId)> {
        self.shared.last_ids()
    }

    /// The newest id this node knows of channel `name` (0: none; a freed channel's floor).
    pub fn last_id(&self, name: &str) -> MessageId {
        self.shared.with_existing(name, |_, state| state.log.last_id()).unwrap_or_else(|| self.shared.floor(name))
    }

    /// `text` compressed once for each window size the WebSocket subscribers of channel
    /// `name` negotiated — before its lock is taken (nothing for a channel not made yet: it
    /// has no subscriber).
    fn deflate_for(&self, name: &str, text: &str) -> Deflated {
        match self.shared.existing(name) {
            Some(channel) => {
                self.compressors.borrow_mut().compress(text, channel.windows.in_use(), channel.json_windows.in_use())
            }
            None => Deflated::default(),
        }
    }

    /// Under `channel`'s lock: keeps message `id` once (with its compressed forms), appends
    /// it, and sends it to every loop — still under the lock, so every loop sees this
    /// channel's messages in id order.
    fn append_and_send(
        &self,
        channel: &Arc<channel::Channel>,
        state: &mut channel::ChannelState,
        id: MessageId,
        text: &str,
        deflated: Deflated,
    ) {
        let message = Arc::new(Encoded::new(id, text, self.loops.len()).with_deflated(deflated));
        self.shared.backlog.fetch_add(1, Ordering::AcqRel);
        self.shared.append(channel, state, &message);
        for mailbox in &self.loops {
            let broadcast = Broadcast { channel: Arc::clone(&channel.name), message: Arc::clone(&message) };
            mailbox.send(HubMessage::Broadcast(broadcast));
        }
    }

    /// After a publish by `key`: whether its answer must wait for the loops to catch up. If
    /// so, `key` is registered, and [`Delivery::caught_up`] (or a [`HubMessage::CaughtUp`])
    /// names it later. Checked again after registering, so a catch-up in between is not missed.
    pub fn hold_answer(&mut self, key: K) -> bool {
        if self.shared.caught_up() {
            return false;
        }
        self.waiting.push(key);
        self.shared.has_waiting[self.index].store(true, Ordering::SeqCst);
        !self.shared.caught_up()
    }

    /// The held `POST`s of this loop, to be answered now (a [`HubMessage::CaughtUp`] arrived,
    /// or a deadline passed for all of them).
    pub fn take_waiting(&mut self) -> Vec<K> {
        std::mem::take(&mut self.waiting)
    }

    /// A held `POST` answered for another reason (its deadline): forget it.
    pub fn forget_waiting(&mut self, key: K) {
        self.waiting.retain(|&k| k != key);
    }

    /// Messages after `cursor` on channel `name` (a short poll). A channel that does not
    /// exist has none, and is not made; if it was freed, a cursor below its last id is told
    /// what it missed (from the id floors, see `shared.rs`).
    pub fn messages_after(&self, name: &str, cursor: MessageId) -> Messages {
        self.shared.with_existing(name, |_, state| Messages::after(&state.log, cursor)).unwrap_or_else(|| Messages {
            missed: self.shared.floor(name).saturating_sub(cursor),
            messages: Vec::new(),
        })
    }

    /// Registers `key` as a subscriber of channel `name` — the subscribe rule (see the module
    /// docs). With `resume`, the retained messages after it are to be replayed first.
    pub fn subscribe(
        &mut self,
        name: &str,
        key: K,
        resume: Option<MessageId>,
    ) -> Result<Subscription, TooManyChannels> {
        let joining = !self.local.contains_key(name);
        let (channel, replay, last_sent) = self.shared.with_channel(name, |channel, state| {
            state.loops_listening += usize::from(joining);
            let (replay, last_sent) = match resume {
                None => (Messages::default(), state.log.last_id()),
                Some(cursor) => {
                    let replay = Messages::after(&state.log, cursor);
                    // Past everything replayed or missed (a message evicted before this loop
                    // delivered it is not sent after being reported missed).
                    let last = replay.messages.last().map_or(cursor + replay.missed, |m| m.id);
                    (replay, last)
                }
            };
            (Arc::clone(&channel.name), replay, last_sent)
        })?;
        let listeners = self.listeners(&channel);
        if listeners.members.insert(key) {
            listeners.subscribers.push(key);
        }
        Ok(Subscription { channel, replay, last_sent })
    }

    /// A WebSocket subscriber of `channel` negotiated permessage-deflate with a
    /// `window_bits` window (`joined`), or it went: broadcasts are compressed for each window
    /// in use — the text for plain subscribers, the JSON element's body for `json` ones.
    pub fn count_window(&self, channel: &str, window_bits: u8, json: bool, joined: bool) {
        if let Some(channel) = self.shared.existing(channel) {
            let windows = if json { &channel.json_windows } else { &channel.windows };
            windows.count(window_bits, joined);
        }
    }

    /// `key` no longer listens on `channel`: its connection is closing (the server calls this
    /// from `on_closed` only). A key that left may not subscribe to the same channel again —
    /// its entry may still be in the push list until the next sweep — which holds for the
    /// reactor's `ConnId`: a reused slot has a new generation, so it is a new key.
    pub fn unsubscribe(&mut self, channel: &str, key: K) {
        if let Some(local) = self.local.get_mut(channel) {
            local.leave(key);
            self.leave_if_idle(channel);
        }
    }

    /// A long-poll on channel `name` after `after` (the last id when `None`): messages now if
    /// a retained one is newer (or when `hold_is_zero`), else `key` is parked — also when the
    /// budget took everything newer: it is released by the next message, and told then how
    /// many it missed.
    pub fn long_poll(
        &mut self,
        name: &str,
        key: K,
        after: Option<MessageId>,
        hold_is_zero: bool,
    ) -> Result<LongPoll, TooManyChannels> {
        let joining = !self.local.contains_key(name);
        let parked = self.shared.with_channel(name, |channel, state| {
            let cursor = after.unwrap_or(state.log.last_id());
            let batch = state.log.after(cursor);
            if !batch.is_empty() || hold_is_zero {
                return Err(Messages::of(batch));
            }
            state.loops_listening += usize::from(joining);
            Ok((Arc::clone(&channel.name), cursor))
        })?;
        let (channel, cursor) = match parked {
            Ok(parked) => parked,
            Err(now) => return Ok(LongPoll::Now(now)),
        };
        self.listeners(&channel).parked.park(key, cursor);
        Ok(LongPoll::Parked { channel, cursor })
    }

    /// A parked long-poll left (its hold ended, or its connection closed).
    pub fn unpark(&mut self, channel: &str, key: K) {
        if let Some(local) = self.local.get_mut(channel) {
            local.parked.remove(key);
            self.leave_if_idle(channel);
        }
    }

    /// A broadcast reached this loop: who gets it, which parked long-polls it releases, and —
    /// if this was the last loop to deliver it and that brings the loops within reach of the
    /// publishers — which held `POST`s of this loop to answer (other loops holding some are
    /// sent [`HubMessage::CaughtUp`]).
    pub fn deliver(&mut self, broadcast: &Broadcast) -> Delivery<K> {
        let mut delivery = Delivery { subscribers: Vec::new(), released: Vec::new(), caught_up: Vec::new() };
        if let Some(local) = self.local.get_mut(&broadcast.channel) {
            if local.departed > 0 {
                local.sweep(); // a delivery names only those subscribed now
            }
            delivery.subscribers = std::mem::take(&mut local.subscribers);
            local.lent = delivery.subscribers.len();
            if !local.parked.is_empty() {
                delivery.released = release(&self.shared, local, broadcast);
                // The released ones may have been the last listeners here (if none are lent out).
                self.leave_if_idle(&broadcast.channel);
            }
        }
        if broadcast.message.undelivered.fetch_sub(1, Ordering::AcqRel) == 1
            && self.shared.backlog.fetch_sub(1, Ordering::SeqCst) - 1 <= self.shared.limits().max_ahead
        {
            for (index, flag) in self.shared.has_waiting.iter().enumerate() {
                if !flag.swap(false, Ordering::SeqCst) {
                    continue;
                }
                if index == self.index {
                    delivery.caught_up = std::mem::take(&mut self.waiting);
                } else {
                    self.loops[index].send(HubMessage::CaughtUp);
                }
            }
        }
        delivery
    }

    /// Gives back the subscribers of a [`Delivery`] that are still subscribed (the list keeps
    /// its allocation; anyone who subscribed meanwhile stays too).
    pub fn keep_subscribers(&mut self, channel: &str, mut kept: Vec<K>) {
        let Some(local) = self.local.get_mut(channel) else { return };
        kept.append(&mut local.subscribers);
        local.subscribers = kept;
        local.lent = 0;
        self.leave_if_idle(channel);
    }

    /// This loop's listeners on `channel` (a spare entry if it has none yet).
    fn listeners(&mut self, channel: &Arc<str>) -> &mut LocalChannel<K> {
        let spares = &mut self.spares;
        self.local.entry(Arc::clone(channel)).or_insert_with(|| spares.pop().unwrap_or_default())
    }

    /// If this loop's last listener on `channel` is gone: forget the channel here, and tell
    /// the shared side one loop fewer listens (which frees the channel if nothing is retained).
    fn leave_if_idle(&mut self, channel: &str) {
        if !self.local.get(channel).is_some_and(LocalChannel::is_idle) {
            return;
        }
        if let Some(emptied) = self.local.remove(channel)
            && self.spares.len() < MAX_SPARES
        {
            self.spares.push(emptied.cleared());
        }
        let left = self.shared.with_existing(channel, |_, state| state.loops_listening -= 1);
        debug_assert!(left.is_some(), "a channel with listeners is never freed");
    }
}

/// The parked long-polls of `local` that `broadcast` releases, each with its messages; one
/// that finds nothing newer than its cursor (the budget took it all, and the broadcast is
/// older) is parked again.
fn release<K: Copy + Eq + Hash + Ord>(
    shared: &Hub,
    local: &mut LocalChannel<K>,
    broadcast: &Broadcast,
) -> Vec<(K, Messages)> {
    shared
        .with_existing(&broadcast.channel, |_, state| {
            let mut released = Vec::new();
            let mut again = Vec::new();
            for (key, batch) in local.parked.release(&state.log) {
                match Messages::released(batch, &broadcast.message) {
                    Some(messages) => released.push((key, messages)),
                    None => again.push((key, batch.cursor())),
                }
            }
            for (key, cursor) in again {
                local.parked.park(key, cursor);
            }
            released
        })
        .unwrap_or_default()
}

/// `[A-Za-z0-9_-]{1,64}` (README, "The hub's URLs").
pub fn is_valid_channel(name: &str) -> bool {
    (1..=64).contains(&name.len()) && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
}
