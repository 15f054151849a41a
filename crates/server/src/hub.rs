//! The channel hub as pure data and rules: every channel's log (shared by all loops), each
//! loop's registries of subscribers, parked long-polls and held `POST`s, publishing, and the
//! catch-up accounting that holds publishers back. It knows no socket, no `Cx`, no connection
//! type and no HTTP: a connection is a key `K` (the server uses the reactor's `ConnId`), and
//! every method says what should happen — which keys get which shared bytes, which parked
//! requests are released with which messages — for the caller to do.
//!
//! The data path of one broadcast:
//!
//! ```text
//!  publish (any loop)                  channel lock held while:               each loop, later
//!  ──────────────────                  ───────────────────────                ────────────────
//!  LocalHub::publish ──▶ log.publish ──▶ id N; encode ONCE per transport: ──▶ mailbox: Broadcast
//!                                       SSE event, WebSocket frame, JSON      │
//!                                       element (shared immutable bytes)      ▼
//!                                      send Broadcast to every loop        LocalHub::deliver
//!                                       (in id order: still under the lock)   → Delivery { subscribers,
//!                                                                               released, caught_up }
//! ```
//!
//! The subscribe rule, kept in one place ([`LocalHub::subscribe`]): the channel's last id is
//! read under its lock, then the key is registered on this loop. Every message published
//! after that read is still in this loop's mailbox and reaches the new subscriber; those at
//! or below it were replayed (or not wanted), so a subscriber skips any message whose id is
//! not above the last one it was sent — nothing is sent twice, nothing is missed.

use std::collections::HashMap;
use std::hash::Hash;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use talkback_longpoll::{Batch, ChannelLog, LogLimits, MessageId, Parked, encode_json_element};
use talkback_ws::{OpCode, encode_frame};

/// One message, encoded once for every transport. Shared by every subscriber on every loop.
#[derive(Debug)]
pub struct Encoded {
    /// The channel-local id.
    pub id: MessageId,
    /// `id: N\ndata: …\n\n`
    pub sse: Arc<[u8]>,
    /// An unmasked text frame (server to client).
    pub ws: Arc<[u8]>,
    /// `{"id":N,"data":"…"}`
    pub json: Box<[u8]>,
    /// Loops that have not delivered it yet; the last one takes it off the hub's backlog.
    undelivered: AtomicUsize,
}

impl Encoded {
    /// Encodes `text` (message `id`) for SSE, WebSocket and JSON, once, for `loops` loops.
    fn new(id: MessageId, text: &str, loops: usize) -> Encoded {
        let mut sse = Vec::with_capacity(text.len() + 24);
        talkback_sse::encode_message(id, text, &mut sse);
        let mut ws = Vec::with_capacity(text.len() + 10);
        encode_frame(OpCode::Text, text.as_bytes(), None, &mut ws);
        let mut json = Vec::with_capacity(text.len() + 24);
        encode_json_element(id, text, &mut json);
        let undelivered = AtomicUsize::new(loops);
        Encoded { id, sse: sse.into(), ws: ws.into(), json: json.into_boxed_slice(), undelivered }
    }
}

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
    /// The message, encoded once.
    pub message: Arc<Encoded>,
}

/// Where the hub posts what a loop must see: the server gives it each loop's `LoopHandle`,
/// a test a plain list.
pub trait Mailbox: Send + Sync {
    /// Queues `message` for the loop (and wakes it).
    fn send(&self, message: HubMessage);
}

/// A channel's retained history.
#[derive(Debug)]
pub struct Channel {
    /// The last messages with their ids.
    pub log: ChannelLog<Arc<Encoded>>,
}

/// All channels, shared by every loop.
#[derive(Debug)]
pub struct Hub {
    channels: Mutex<HashMap<Arc<str>, Arc<Mutex<Channel>>>>,
    history: usize,
    /// Broadcasts published but not yet delivered by every loop. A `POST` that finds more than
    /// `max_ahead` is held (see [`LocalHub::hold_answer`]) so publishers cannot run far ahead
    /// of delivery.
    backlog: AtomicUsize,
    /// Per loop: it holds `POST`s waiting for the backlog to shrink (the loop that shrinks it
    /// wakes them with [`HubMessage::CaughtUp`]).
    has_waiting: Box<[AtomicBool]>,
    /// The backlog a `POST` may leave without being held (`--max-ahead`).
    max_ahead: usize,
}

impl Hub {
    /// An empty hub for `loops` loops whose channels keep `history` messages each, holding a
    /// `POST`'s answer back while more than `max_ahead` broadcasts are undelivered.
    pub fn new(history: usize, loops: usize, max_ahead: usize) -> Hub {
        Hub {
            channels: Mutex::new(HashMap::new()),
            history,
            backlog: AtomicUsize::new(0),
            has_waiting: (0..loops.max(1)).map(|_| AtomicBool::new(false)).collect(),
            max_ahead,
        }
    }

    /// The channel called `name`, made on first use.
    fn channel(&self, name: &str) -> (Arc<str>, Arc<Mutex<Channel>>) {
        let mut channels = self.channels.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some((key, channel)) = channels.get_key_value(name) {
            return (Arc::clone(key), Arc::clone(channel));
        }
        let limits = LogLimits { max_messages: self.history, ..LogLimits::default() };
        let channel = Arc::new(Mutex::new(Channel { log: ChannelLog::with_limits(limits) }));
        let key: Arc<str> = Arc::from(name);
        channels.insert(Arc::clone(&key), Arc::clone(&channel));
        (key, channel)
    }

    /// Broadcasts not yet delivered by every loop.
    pub fn backlog(&self) -> usize {
        self.backlog.load(Ordering::Acquire)
    }

    /// Whether the loops are within `max_ahead` broadcasts of the publishers.
    fn caught_up(&self) -> bool {
        self.backlog.load(Ordering::SeqCst) <= self.max_ahead
    }
}

/// Locks a channel (a panic elsewhere cannot poison the hub for everyone).
fn lock(channel: &Mutex<Channel>) -> MutexGuard<'_, Channel> {
    channel.lock().unwrap_or_else(PoisonError::into_inner)
}

/// Messages after a cursor, taken out of a log (shared references, no lock held).
#[derive(Debug, Default)]
pub struct Messages {
    /// How many messages after the cursor are no longer retained.
    pub missed: u64,
    /// The retained messages after the cursor, oldest first.
    pub messages: Vec<Arc<Encoded>>,
}

impl Messages {
    fn after(log: &ChannelLog<Arc<Encoded>>, cursor: MessageId) -> Messages {
        Messages::of(log.after(cursor))
    }

    fn of(batch: Batch<'_, Arc<Encoded>>) -> Messages {
        Messages { missed: batch.missed(), messages: batch.iter().map(|(_, m)| Arc::clone(m)).collect() }
    }
}

/// A new subscription: what to replay, and the id it starts after.
#[derive(Debug)]
pub struct Subscription {
    /// The channel's key, for unsubscribing.
    pub channel: Arc<str>,
    /// What to send first (empty without a resume cursor).
    pub replay: Messages,
    /// The last id the subscriber has (been sent or declined): later pushes skip ids at or below it.
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
    /// Push the message to each (SSE streams, WebSockets). Give back the ones still
    /// subscribed with [`LocalHub::keep_subscribers`].
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
    local: HashMap<Arc<str>, LocalChannel<K>>,
    /// `POST`s on this loop waiting for the backlog to shrink.
    waiting: Vec<K>,
}

impl<K> std::fmt::Debug for LocalHub<K> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LocalHub").field("index", &self.index).field("channels", &self.local.len()).finish()
    }
}

/// This loop's listeners on one channel.
#[derive(Debug)]
struct LocalChannel<K> {
    /// SSE streams and WebSockets: pushed every message.
    subscribers: Vec<K>,
    /// Long-polls waiting for a message after their cursor.
    parked: Parked<K>,
}

impl<K: Copy + Eq + Hash + Ord> Default for LocalChannel<K> {
    fn default() -> Self {
        LocalChannel { subscribers: Vec::new(), parked: Parked::new() }
    }
}

impl<K: Copy + Eq + Hash + Ord> LocalHub<K> {
    /// Loop `index`'s view of `shared`, able to reach every loop through `loops` (this one
    /// included, at position `index`).
    pub fn new(shared: Arc<Hub>, index: usize, loops: Vec<Box<dyn Mailbox>>) -> LocalHub<K> {
        LocalHub { shared, index, loops, local: HashMap::new(), waiting: Vec::new() }
    }

    /// The hub every loop shares.
    pub fn shared(&self) -> &Hub {
        &self.shared
    }

    /// Appends `text` to channel `name`, encodes it once per transport, and sends it to every
    /// loop. Returns the new id.
    pub fn publish(&self, name: &str, text: &str) -> MessageId {
        let (key, channel) = self.shared.channel(name);
        let mut channel = lock(&channel);
        let id = channel.log.next_id();
        let message = Arc::new(Encoded::new(id, text, self.loops.len()));
        self.shared.backlog.fetch_add(1, Ordering::AcqRel);
        let published = channel.log.publish(Arc::clone(&message), text.len());
        debug_assert_eq!(published, id);
        // Still under the lock, so every loop sees this channel's messages in id order.
        for mailbox in &self.loops {
            mailbox.send(HubMessage::Broadcast(Broadcast { channel: Arc::clone(&key), message: Arc::clone(&message) }));
        }
        id
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

    /// Messages after `cursor` on channel `name` (a short poll).
    pub fn messages_after(&self, name: &str, cursor: MessageId) -> Messages {
        let (_, channel) = self.shared.channel(name);
        let channel = lock(&channel);
        Messages::after(&channel.log, cursor)
    }

    /// Registers `key` as a subscriber of channel `name` — the subscribe rule (see the module
    /// docs). With `resume`, the retained messages after it are to be replayed first.
    pub fn subscribe(&mut self, name: &str, key: K, resume: Option<MessageId>) -> Subscription {
        let (channel, shared) = self.shared.channel(name);
        let (replay, last_sent) = {
            let log = &lock(&shared).log;
            match resume {
                None => (Messages::default(), log.last_id()),
                Some(cursor) => {
                    let replay = Messages::after(log, cursor);
                    let last = replay.messages.last().map_or(cursor, |m| m.id);
                    (replay, last)
                }
            }
        };
        self.local.entry(Arc::clone(&channel)).or_default().subscribers.push(key);
        Subscription { channel, replay, last_sent }
    }

    /// `key` no longer listens on `channel`.
    pub fn unsubscribe(&mut self, channel: &str, key: K) {
        if let Some(local) = self.local.get_mut(channel) {
            local.subscribers.retain(|&k| k != key);
        }
    }

    /// A long-poll on channel `name` after `after` (the last id when `None`): messages now if
    /// there are any (or when `hold_is_zero`), else `key` is parked.
    pub fn long_poll(&mut self, name: &str, key: K, after: Option<MessageId>, hold_is_zero: bool) -> LongPoll {
        let (channel, shared) = self.shared.channel(name);
        let cursor = {
            let log = &lock(&shared).log;
            let cursor = after.unwrap_or(log.last_id());
            if log.last_id() > cursor || hold_is_zero {
                return LongPoll::Now(Messages::after(log, cursor));
            }
            cursor
        };
        self.local.entry(Arc::clone(&channel)).or_default().parked.park(key, cursor);
        LongPoll::Parked { channel, cursor }
    }

    /// A parked long-poll left (its hold ended, or its connection closed).
    pub fn unpark(&mut self, channel: &str, key: K) {
        if let Some(local) = self.local.get_mut(channel) {
            local.parked.remove(key);
        }
    }

    /// A broadcast reached this loop: who gets it, which parked long-polls it releases, and —
    /// if this was the last loop to deliver it and that brings the loops within reach of the
    /// publishers — which held `POST`s of this loop to answer (other loops holding some are
    /// sent [`HubMessage::CaughtUp`]).
    pub fn deliver(&mut self, broadcast: &Broadcast) -> Delivery<K> {
        let mut delivery = Delivery { subscribers: Vec::new(), released: Vec::new(), caught_up: Vec::new() };
        if let Some(local) = self.local.get_mut(&broadcast.channel) {
            delivery.subscribers = std::mem::take(&mut local.subscribers);
            if !local.parked.is_empty() {
                let (_, shared) = self.shared.channel(&broadcast.channel);
                let log = &lock(&shared).log;
                delivery.released = local.parked.release(log).map(|(key, batch)| (key, Messages::of(batch))).collect();
            }
        }
        if broadcast.message.undelivered.fetch_sub(1, Ordering::AcqRel) == 1
            && self.shared.backlog.fetch_sub(1, Ordering::SeqCst) - 1 <= self.shared.max_ahead
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
    }
}

/// `[A-Za-z0-9_-]{1,64}` (README, "The hub's URLs").
pub fn is_valid_channel(name: &str) -> bool {
    (1..=64).contains(&name.len()) && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A loop's mailbox in a test: what was sent, in order.
    #[derive(Clone, Default)]
    struct Inbox(Arc<Mutex<Vec<HubMessage>>>);

    impl Mailbox for Inbox {
        fn send(&self, message: HubMessage) {
            self.0.lock().unwrap().push(message);
        }
    }

    impl Inbox {
        fn take(&self) -> Vec<HubMessage> {
            std::mem::take(&mut *self.0.lock().unwrap())
        }
    }

    /// `loops` local hubs over one shared hub, with their inboxes.
    fn hubs(loops: usize, history: usize, max_ahead: usize) -> (Vec<LocalHub<u32>>, Vec<Inbox>) {
        let shared = Arc::new(Hub::new(history, loops, max_ahead));
        let inboxes: Vec<Inbox> = (0..loops).map(|_| Inbox::default()).collect();
        let locals = (0..loops)
            .map(|i| {
                let boxes = inboxes.iter().map(|b| Box::new(b.clone()) as Box<dyn Mailbox>).collect();
                LocalHub::new(Arc::clone(&shared), i, boxes)
            })
            .collect();
        (locals, inboxes)
    }

    fn broadcast(message: HubMessage) -> Broadcast {
        match message {
            HubMessage::Broadcast(b) => b,
            HubMessage::CaughtUp => panic!("expected a broadcast"),
        }
    }

    #[test]
    fn ids_count_per_channel_and_every_loop_gets_each_message_once_encoded() {
        let (hubs, inboxes) = hubs(2, 16, 100);
        assert_eq!(hubs[0].publish("a", "x"), 1);
        assert_eq!(hubs[1].publish("a", "y"), 2);
        assert_eq!(hubs[1].publish("b", "z"), 1, "ids are per channel");
        for inbox in &inboxes {
            let got: Vec<(String, u64)> =
                inbox.take().into_iter().map(broadcast).map(|b| (b.channel.to_string(), b.message.id)).collect();
            assert_eq!(got, [("a".into(), 1), ("a".into(), 2), ("b".into(), 1)]);
        }
        let messages = hubs[0].messages_after("a", 0).messages;
        assert_eq!(&*messages[0].sse, b"id: 1\ndata: x\n\n");
        assert_eq!(&*messages[1].json, br#"{"id":2,"data":"y"}"#);
        assert_eq!(&*messages[0].ws, b"\x81\x01x");
    }

    #[test]
    fn a_subscriber_resumes_after_its_cursor_and_is_told_what_was_evicted() {
        let (mut hubs, _inboxes) = hubs(1, 3, 100);
        for i in 1..=5 {
            hubs[0].publish("c", &format!("m{i}"));
        }
        let sub = hubs[0].subscribe("c", 7, Some(1));
        assert_eq!(sub.replay.missed, 1, "id 2 is gone (history 3 keeps 3..=5)");
        assert_eq!(sub.replay.messages.iter().map(|m| m.id).collect::<Vec<_>>(), [3, 4, 5]);
        assert_eq!(sub.last_sent, 5);
        let fresh = hubs[0].subscribe("c", 8, None);
        assert!(fresh.replay.messages.is_empty());
        assert_eq!(fresh.last_sent, 5, "a new subscriber starts after the last id");
    }

    #[test]
    fn a_broadcast_names_the_subscribers_and_releases_parked_long_polls() {
        let (mut hubs, inboxes) = hubs(1, 16, 100);
        hubs[0].subscribe("c", 1, None);
        assert!(matches!(hubs[0].long_poll("c", 2, None, false), LongPoll::Parked { cursor: 0, .. }));
        assert!(matches!(hubs[0].long_poll("c", 3, Some(5), false), LongPoll::Parked { cursor: 5, .. }));
        hubs[0].publish("c", "hello");
        let b = broadcast(inboxes[0].take().pop().unwrap());
        let delivery = hubs[0].deliver(&b);
        assert_eq!(delivery.subscribers, [1]);
        let released: Vec<(u32, Vec<u64>)> =
            delivery.released.iter().map(|(k, m)| (*k, m.messages.iter().map(|m| m.id).collect())).collect();
        assert_eq!(released, [(2, vec![1])], "the cursor-5 poll waits for id 6");
        hubs[0].keep_subscribers("c", delivery.subscribers);
        hubs[0].unsubscribe("c", 1);
        hubs[0].publish("c", "again");
        let b = broadcast(inboxes[0].take().pop().unwrap());
        assert!(hubs[0].deliver(&b).subscribers.is_empty(), "unsubscribed");
    }

    #[test]
    fn a_long_poll_answers_at_once_when_news_exists_or_the_hold_is_zero() {
        let (mut hubs, _inboxes) = hubs(1, 16, 100);
        hubs[0].publish("c", "one");
        match hubs[0].long_poll("c", 1, Some(0), false) {
            LongPoll::Now(m) => assert_eq!(m.messages.len(), 1),
            other => panic!("{other:?}"),
        }
        match hubs[0].long_poll("c", 1, None, true) {
            LongPoll::Now(m) => assert!(m.messages.is_empty(), "timeout=0 with nothing new: an empty answer"),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn a_held_post_is_released_when_the_last_loop_delivers_the_backlog() {
        // Two loops, no broadcast may be ahead: every POST's answer waits for both loops.
        let (mut hubs, inboxes) = hubs(2, 16, 0);
        hubs[0].publish("c", "x");
        assert!(hubs[0].hold_answer(42), "one broadcast undelivered: held");
        let on_0 = broadcast(inboxes[0].take().pop().unwrap());
        let on_1 = broadcast(inboxes[1].take().pop().unwrap());
        let first = hubs[1].deliver(&on_1);
        assert!(first.caught_up.is_empty(), "loop 0 has not delivered yet");
        assert!(inboxes[0].take().is_empty());
        let last = hubs[0].deliver(&on_0);
        assert_eq!(last.caught_up, [42], "the last delivery answers this loop's held POST");
        assert_eq!(hubs[0].shared().backlog(), 0);
        assert!(!hubs[0].hold_answer(43), "caught up: not held");
    }

    #[test]
    fn a_catch_up_on_another_loop_is_sent_there() {
        let (mut hubs, inboxes) = hubs(2, 16, 0);
        hubs[1].publish("c", "x");
        assert!(hubs[1].hold_answer(9));
        // Loop 1 delivers first; loop 0 delivers last and so tells loop 1.
        for i in [1, 0] {
            let b = broadcast(inboxes[i].take().pop().unwrap());
            assert!(hubs[i].deliver(&b).caught_up.is_empty());
        }
        assert!(matches!(inboxes[1].take().as_slice(), [HubMessage::CaughtUp]), "loop 1 is told");
        assert!(inboxes[0].take().is_empty());
        assert_eq!(hubs[1].take_waiting(), [9]);
    }

    #[test]
    fn channel_names_follow_the_contract() {
        for good in ["a", "room-1", "A_b", &"x".repeat(64)] {
            assert!(is_valid_channel(good), "{good}");
        }
        for bad in ["", "a b", "a/b", "é", &"x".repeat(65)] {
            assert!(!is_valid_channel(bad), "{bad}");
        }
    }
}
