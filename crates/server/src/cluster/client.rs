//! The owner loop's Redis client as a state machine: two links (commands, subscriber), the
//! commands in flight on the first (replies come back in order), the join order on the
//! second, reconnecting with a capped back-off, and the command timeout.
//!
//! ```text
//!   Down ──retry time──▶ Connecting ──connected──▶ Up        (each link; both together)
//!     ▲                                              │
//!     └──── any fault: a link closed or refused, a reply that makes no sense, the command
//!           timeout, the sync buffer full — both links dropped, waiting POSTs answered 503,
//!           the next try after the back-off (doubled each time, up to its cap)
//!
//!   sync (the subscriber link's join):
//!   Idle ──PSUBSCRIBE──▶ Subscribing ──confirmed──▶ [Subscribed: waiting for the command link]
//!        ──SMEMBERS──▶ CatchingUp { live messages kept } ──every XRANGE answered──▶ Live
//! ```
//!
//! Subscribing first and reading the history second makes the join lossless: a message stored
//! after the subscription is confirmed arrives on it, one stored before is in the history
//! (unless the history cap trimmed it: then it is reported missed), and one in both is taken
//! once, by id ([`LocalHub::publish_stored`]).

use std::collections::VecDeque;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use talkback_longpoll::MessageId;
use talkback_reactor::ConnId;
use talkback_resp::{Value, encode_command};

use super::script::{self, Keys};
use super::{ClusterMailbox, ClusterMessage, ClusterStatus, NotStored, PublishRequest};
use crate::hub::{Arrival, LocalHub, is_valid_channel};

/// What the client needs to know (the `--redis*` flags and `--history`).
#[derive(Debug, Clone)]
pub struct Settings {
    /// Where Redis listens.
    pub addr: SocketAddr,
    /// `SELECT` this database first (0: not sent).
    pub db: u32,
    /// The prefix of every key.
    pub prefix: String,
    /// Messages each channel's stream keeps (`--history`).
    pub history: usize,
    /// The longest a connect or command may take.
    pub timeout: Duration,
    /// The first wait before reconnecting, and its cap.
    pub backoff: (Duration, Duration),
    /// Publishes in flight at most.
    pub max_pending: usize,
    /// Live messages kept during a catch-up at most.
    pub sync_buffer: usize,
}

/// Which of the two links.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// Commands and their replies: publishes, history reads.
    Command,
    /// Subscribed to every channel's pub/sub channel: pushes only.
    Subscriber,
}

/// Where one link is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Link {
    Down,
    Connecting(ConnId),
    Up(ConnId),
}

impl Link {
    fn id(self) -> Option<ConnId> {
        match self {
            Link::Down => None,
            Link::Connecting(id) | Link::Up(id) => Some(id),
        }
    }
}

/// A command sent on the command link, waiting for its reply.
#[derive(Debug)]
enum Command {
    Select,
    LoadScript,
    Publish(PublishRequest),
    Raise,
    Members,
    Range(Arc<str>),
}

/// The subscriber link's join.
#[derive(Debug)]
enum Sync {
    Idle,
    Subscribing {
        since: Instant,
    },
    /// Confirmed; the command link is not up yet.
    Subscribed,
    CatchingUp {
        kept: Vec<(Arc<str>, MessageId, String)>,
        ranges_left: usize,
    },
    Live,
}

/// Why the links must be dropped and made again.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fault(pub String);

/// The Redis client of the loop that owns the links.
pub struct Client {
    settings: Settings,
    keys: Keys,
    sha: String,
    status: Arc<ClusterStatus>,
    /// Every loop's mailbox, by loop number: where answers go.
    loops: Vec<Box<dyn ClusterMailbox>>,
    command: Link,
    subscriber: Link,
    /// Sent on the command link, oldest first, with when.
    inflight: VecDeque<(Instant, Command)>,
    /// Bytes for each link not yet handed to it.
    command_out: Vec<u8>,
    subscriber_out: Vec<u8>,
    sync: Sync,
    /// A `SCRIPT LOAD` is in flight (after a `NOSCRIPT`).
    loading: bool,
    /// When to connect again (`None`: now, if down).
    retry_at: Option<Instant>,
    /// The next wait before reconnecting.
    backoff: Duration,
    /// Links to drop (the other link of one that failed).
    to_drop: Vec<ConnId>,
    /// The last fault, for the log.
    last_fault: Option<Fault>,
    /// `last_fault` has not been logged yet.
    new_fault: bool,
}

impl std::fmt::Debug for Client {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Client").field("command", &self.command).field("subscriber", &self.subscriber).finish()
    }
}

impl Client {
    /// A client that has not connected yet.
    pub fn new(settings: Settings, status: Arc<ClusterStatus>, loops: Vec<Box<dyn ClusterMailbox>>) -> Client {
        Client {
            keys: Keys::new(&settings.prefix),
            sha: script::publish_sha(),
            backoff: settings.backoff.0,
            settings,
            status,
            loops,
            command: Link::Down,
            subscriber: Link::Down,
            inflight: VecDeque::new(),
            command_out: Vec::new(),
            subscriber_out: Vec::new(),
            sync: Sync::Idle,
            loading: false,
            retry_at: None,
            to_drop: Vec::new(),
            last_fault: None,
            new_fault: false,
        }
    }

    /// Its settings.
    pub fn settings(&self) -> &Settings {
        &self.settings
    }

    /// The links to open now: both, when both are down and the back-off has passed.
    pub fn due_connects(&mut self, now: Instant) -> Vec<Role> {
        let down = self.command == Link::Down && self.subscriber == Link::Down;
        if !down || self.retry_at.is_some_and(|at| at > now) {
            return Vec::new();
        }
        self.retry_at = None;
        vec![Role::Command, Role::Subscriber]
    }

    /// The connect of `role` started as `id`.
    pub fn connecting(&mut self, role: Role, id: ConnId) {
        *self.link_mut(role) = Link::Connecting(id);
    }

    /// Link `id` is established: its first commands are queued. `false` for a link given up
    /// while it was connecting (a fault dropped the other one meanwhile): close it.
    pub fn connected(&mut self, id: ConnId, now: Instant, hub: &LocalHub<ConnId>) -> bool {
        if self.command == Link::Connecting(id) {
            self.command = Link::Up(id);
            if self.settings.db != 0 {
                let db = self.settings.db.to_string();
                encode_command(&mut self.command_out, &[b"SELECT".as_slice(), db.as_bytes()]);
                self.inflight.push_back((now, Command::Select));
            }
            if let Sync::Subscribed = self.sync {
                self.catch_up(now, hub);
            }
        } else if self.subscriber == Link::Connecting(id) {
            self.subscriber = Link::Up(id);
            if self.settings.db != 0 {
                // Pub/sub ignores the database, but a SELECT keeps the two links alike.
                let db = self.settings.db.to_string();
                encode_command(&mut self.subscriber_out, &[b"SELECT".as_slice(), db.as_bytes()]);
            }
            let pattern = self.keys.pattern();
            encode_command(&mut self.subscriber_out, &[b"PSUBSCRIBE".as_slice(), pattern.as_bytes()]);
            self.sync = Sync::Subscribing { since: now };
        } else {
            return false;
        }
        true
    }

    /// Link `id` is gone (closed, reset, or its connect failed). If it was one of ours,
    /// everything starts again after the back-off.
    pub fn closed(&mut self, id: ConnId, now: Instant) {
        if self.command.id() == Some(id) || self.subscriber.id() == Some(id) {
            let role = self.role_name(id);
            *self.role_of(id) = Link::Down;
            self.fault(Fault(format!("the {role:?} link closed or could not connect")), now);
        }
    }

    /// Drops both links: answers every waiting publish 503, forgets the join, and schedules
    /// the next try after the back-off (which doubles, up to its cap).
    pub fn fault(&mut self, fault: Fault, now: Instant) {
        for link in [&mut self.command, &mut self.subscriber] {
            if let Some(id) = link.id() {
                self.to_drop.push(id);
            }
            *link = Link::Down;
        }
        for (_, command) in std::mem::take(&mut self.inflight) {
            if let Command::Publish(request) = command {
                answer(&self.loops, &request, Err(NotStored::Unavailable));
            }
        }
        self.command_out.clear();
        self.subscriber_out.clear();
        self.sync = Sync::Idle;
        self.loading = false;
        self.status.set(false);
        self.retry_at = Some(now + self.backoff);
        self.backoff = (self.backoff * 2).min(self.settings.backoff.1);
        self.last_fault = Some(fault);
        self.new_fault = true;
    }

    /// Stores `request` in Redis: the publish script goes out on the command link (after the
    /// floor — the last id this node has seen of the channel, so ids never go backwards even
    /// if Redis lost its data), or the request is answered 503 at once.
    pub fn submit(&mut self, request: PublishRequest, now: Instant, hub: &LocalHub<ConnId>) {
        let refused = match self.command {
            Link::Up(_) if self.status.is_up() && self.inflight.len() < self.settings.max_pending => None,
            Link::Up(_) if self.status.is_up() => Some(NotStored::Busy),
            _ => Some(NotStored::Unavailable),
        };
        if let Some(why) = refused {
            return answer(&self.loops, &request, Err(why));
        }
        self.send_publish(request, now, hub);
    }

    fn send_publish(&mut self, request: PublishRequest, now: Instant, hub: &LocalHub<ConnId>) {
        let publish = script::Publish {
            channel: &request.channel,
            text: &request.text,
            history: self.settings.history,
            floor: hub.last_id(&request.channel),
        };
        script::encode_publish(&mut self.command_out, &self.keys, &self.sha, publish);
        self.inflight.push_back((now, Command::Publish(request)));
    }

    /// A value arrived on link `id`. A fault drops both links (the caller then calls
    /// [`Client::fault`] — done here already).
    pub fn on_value(&mut self, id: ConnId, value: Value, now: Instant, hub: &LocalHub<ConnId>) {
        let result = if self.command == Link::Up(id) {
            self.on_reply(value, now, hub)
        } else if self.subscriber == Link::Up(id) {
            self.on_push(value, now, hub)
        } else {
            Ok(()) // a link already dropped
        };
        if let Err(fault) = result {
            self.fault(fault, now);
        }
    }

    /// The reply to the oldest command in flight.
    fn on_reply(&mut self, value: Value, now: Instant, hub: &LocalHub<ConnId>) -> Result<(), Fault> {
        let Some((_, command)) = self.inflight.pop_front() else {
            return Err(Fault(format!("a reply to no command: {value:?}")));
        };
        match (command, value) {
            (Command::Select | Command::LoadScript, Value::Error(error)) => Err(Fault(format!("Redis: {error}"))),
            (Command::Select | Command::Raise, _) => Ok(()),
            (Command::LoadScript, _) => {
                self.loading = false;
                Ok(())
            }
            (Command::Publish(request), Value::Integer(id)) if script::valid_id(id).is_some() => {
                let id = id as MessageId;
                // Read your writes on this node: taken now if it is the next id (else the
                // subscription brings it after the ones before it).
                let _ = hub.publish_stored(&request.channel, id, &request.text, Arrival::OnlyNext);
                answer(&self.loops, &request, Ok(id));
                Ok(())
            }
            (Command::Publish(request), Value::Error(error)) if error.starts_with("NOSCRIPT") => {
                if !self.loading {
                    self.loading = true;
                    encode_command(&mut self.command_out, &[b"SCRIPT".as_slice(), b"LOAD", script::PUBLISH.as_bytes()]);
                    self.inflight.push_back((now, Command::LoadScript));
                }
                self.send_publish(request, now, hub);
                Ok(())
            }
            (Command::Publish(request), Value::Error(_)) => {
                answer(&self.loops, &request, Err(NotStored::Refused));
                Ok(())
            }
            (Command::Members, Value::Array(names)) => {
                self.read_histories(&names, now, hub);
                Ok(())
            }
            (Command::Range(channel), Value::Array(entries)) => {
                for entry in &entries {
                    let (id, text) = stream_entry(entry).ok_or_else(|| Fault(format!("a stream entry? {entry:?}")))?;
                    let _ = hub.publish_stored(&channel, id, text, Arrival::InOrder);
                }
                if let Sync::CatchingUp { ranges_left, .. } = &mut self.sync {
                    *ranges_left = ranges_left.saturating_sub(1);
                    if *ranges_left == 0 {
                        self.go_live(hub);
                    }
                }
                Ok(())
            }
            (_, value) => Err(Fault(format!("an unexpected reply: {value:?}"))),
        }
    }

    /// A push on the subscriber link: the subscription's confirmation, or a message.
    fn on_push(&mut self, value: Value, now: Instant, hub: &LocalHub<ConnId>) -> Result<(), Fault> {
        let parts = value.as_array().unwrap_or_default();
        let kind = parts.first().and_then(Value::as_bytes).unwrap_or_default();
        match (kind, parts) {
            (b"psubscribe", _) => {
                if let Sync::Subscribing { .. } = self.sync {
                    self.sync = Sync::Subscribed;
                    if let Link::Up(_) = self.command {
                        self.catch_up(now, hub);
                    }
                }
                Ok(())
            }
            (b"pmessage", [_, _, channel, payload]) => {
                let channel = channel.as_bytes().and_then(|c| std::str::from_utf8(c).ok());
                let channel = channel.and_then(|c| self.keys.channel_of(c)).filter(|c| is_valid_channel(c));
                let message = payload.as_bytes().and_then(script::parse_payload);
                let (Some(channel), Some((id, text))) = (channel, message) else {
                    return Ok(()); // not ours (another prefix's pattern cannot match; junk is skipped)
                };
                match &mut self.sync {
                    Sync::CatchingUp { kept, .. } if kept.len() >= self.settings.sync_buffer => {
                        Err(Fault("the sync buffer filled during the catch-up (--redis-sync-buffer)".into()))
                    }
                    Sync::CatchingUp { kept, .. } => {
                        kept.push((Arc::from(channel), id, text.to_string()));
                        Ok(())
                    }
                    Sync::Live => {
                        let _ = hub.publish_stored(channel, id, text, Arrival::InOrder);
                        Ok(())
                    }
                    Sync::Idle | Sync::Subscribing { .. } | Sync::Subscribed => Ok(()),
                }
            }
            // `SELECT`'s `+OK`.
            (_, []) if value == Value::Simple("OK".into()) => Ok(()),
            _ => Err(Fault(format!("an unexpected push: {value:?}"))),
        }
    }

    /// Subscribed: raise Redis's counters to what this node has seen (a Redis that lost its
    /// data goes on after it), read which channels exist, then each one's history after what
    /// this node has.
    fn catch_up(&mut self, now: Instant, hub: &LocalHub<ConnId>) {
        for (channel, last_id) in hub.last_ids().into_iter().filter(|&(_, last)| last > 0) {
            script::encode_raise(&mut self.command_out, &self.keys, &channel, last_id);
            self.inflight.push_back((now, Command::Raise));
        }
        let set = self.keys.channels();
        encode_command(&mut self.command_out, &[b"SMEMBERS".as_slice(), set.as_bytes()]);
        self.inflight.push_back((now, Command::Members));
        self.sync = Sync::CatchingUp { kept: Vec::new(), ranges_left: 0 };
    }

    fn read_histories(&mut self, names: &[Value], now: Instant, hub: &LocalHub<ConnId>) {
        let names = names.iter().filter_map(Value::as_bytes).filter_map(|n| std::str::from_utf8(n).ok());
        let mut count = 0;
        for name in names.filter(|n| is_valid_channel(n)) {
            script::encode_range(&mut self.command_out, &self.keys, name, hub.last_id(name));
            self.inflight.push_back((now, Command::Range(Arc::from(name))));
            count += 1;
        }
        match &mut self.sync {
            Sync::CatchingUp { ranges_left, .. } if count > 0 => *ranges_left = count,
            _ => self.go_live(hub),
        }
    }

    /// The history is in: the live messages kept meanwhile follow (those the history had are
    /// duplicates, skipped by id), and from now on each goes out as it comes.
    fn go_live(&mut self, hub: &LocalHub<ConnId>) {
        if let Sync::CatchingUp { kept, .. } = std::mem::replace(&mut self.sync, Sync::Live) {
            for (channel, id, text) in kept {
                let _ = hub.publish_stored(&channel, id, &text, Arrival::InOrder);
            }
        }
        self.status.set(true);
        self.backoff = self.settings.backoff.0;
        self.last_fault = None;
    }

    /// The link's deadline: the oldest command's timeout (command link), the subscription's
    /// (subscriber link).
    pub fn deadline(&self, id: ConnId) -> Option<Instant> {
        if self.command == Link::Up(id) {
            return self.inflight.front().map(|&(sent, _)| sent + self.settings.timeout);
        }
        match self.sync {
            Sync::Subscribing { since } if self.subscriber == Link::Up(id) => Some(since + self.settings.timeout),
            _ => None,
        }
    }

    /// Link `id`'s deadline passed: if a command or the subscription is overdue, a fault.
    pub fn on_deadline(&mut self, id: ConnId, now: Instant) {
        if self.deadline(id).is_some_and(|at| at <= now) {
            self.fault(Fault("Redis did not answer within --redis-timeout".into()), now);
        }
    }

    /// The bytes queued for link `id` (taken).
    pub fn take_output(&mut self, id: ConnId) -> Vec<u8> {
        if self.command == Link::Up(id) {
            std::mem::take(&mut self.command_out)
        } else if self.subscriber == Link::Up(id) {
            std::mem::take(&mut self.subscriber_out)
        } else {
            Vec::new()
        }
    }

    /// Whether bytes wait for a link other than `id`, or a link is to be dropped.
    pub fn needs_drive(&self, id: ConnId) -> bool {
        let command_waits = !self.command_out.is_empty() && self.command != Link::Up(id);
        let subscriber_waits = !self.subscriber_out.is_empty() && self.subscriber != Link::Up(id);
        command_waits || subscriber_waits || !self.to_drop.is_empty()
    }

    /// The established links.
    pub fn links(&self) -> impl Iterator<Item = ConnId> + use<> {
        let up = |link: Link| match link {
            Link::Up(id) => Some(id),
            _ => None,
        };
        [up(self.command), up(self.subscriber)].into_iter().flatten()
    }

    /// Links to drop now (taken).
    pub fn take_drops(&mut self) -> Vec<ConnId> {
        std::mem::take(&mut self.to_drop)
    }

    /// Gives back the drops a caller could not do itself (they are another link's).
    pub fn give_back_drops(&mut self, mut drops: Vec<ConnId>) {
        self.to_drop.append(&mut drops);
    }

    /// The fault that dropped the links, once (for the log).
    pub fn take_new_fault(&mut self) -> Option<Fault> {
        std::mem::take(&mut self.new_fault).then(|| self.last_fault.clone()).flatten()
    }

    /// When to try connecting again.
    pub fn retry_at(&self) -> Option<Instant> {
        self.retry_at
    }

    /// Why the links were last dropped (for the log), until they are live again.
    pub fn last_fault(&self) -> Option<&Fault> {
        self.last_fault.as_ref()
    }

    fn link_mut(&mut self, role: Role) -> &mut Link {
        match role {
            Role::Command => &mut self.command,
            Role::Subscriber => &mut self.subscriber,
        }
    }

    fn role_of(&mut self, id: ConnId) -> &mut Link {
        if self.command.id() == Some(id) { &mut self.command } else { &mut self.subscriber }
    }

    fn role_name(&self, id: ConnId) -> Role {
        if self.command.id() == Some(id) { Role::Command } else { Role::Subscriber }
    }
}

/// Tells the loop a publish came from how it went (a WebSocket's publish has nobody to tell).
fn answer(loops: &[Box<dyn ClusterMailbox>], request: &PublishRequest, result: Result<MessageId, NotStored>) {
    if let (Some(conn), Some(mailbox)) = (request.conn, loops.get(request.origin)) {
        mailbox.send_cluster(ClusterMessage::Answer { conn, result });
    }
}

/// One `XRANGE` entry, `[ "N-0", [ "d", TEXT ] ]`.
fn stream_entry(entry: &Value) -> Option<(MessageId, &str)> {
    let [id, fields] = entry.as_array()? else { return None };
    let id = script::parse_entry_id(id.as_bytes()?)?;
    let [name, text] = fields.as_array()? else { return None };
    (name.as_bytes()? == b"d").then_some(())?;
    Some((id, std::str::from_utf8(text.as_bytes()?).ok()?))
}
