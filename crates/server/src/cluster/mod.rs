//! The hub on Redis: a node's side of a cluster whose ids, history and fan-out live in one
//! Redis. Sans-I/O: bytes and values in, commands and decisions out, time passed in; the
//! Redis connections themselves are the transport layer's (`redis_link.rs`), opened by the
//! reactor as outbound connections of loop 0.
//!
//! ```text
//!  POST on loop k            loop 0 (owns both Redis links)                 Redis
//!  ──────────────            ──────────────────────────────                 ─────
//!  Publish ─mailbox─▶ Client::submit ── EVALSHA publish (floor = last id) ──▶ INCR, XADD, SADD,
//!                                                                            PUBLISH P:{c}:m "N text"
//!  200 "N" ◀─mailbox─ Stored { id N } ◀── :N ───────────────────────────────┘      │
//!                     (the cache takes N if it is next)                             │
//!  subscribers ◀── hub.publish_stored (each id once) ◀── pmessage "N text" ◀────────┘
//!
//!  (re)connect: PSUBSCRIBE P:{*}:m ─▶ confirmed ─▶ SMEMBERS P:channels ─▶ XRANGE each after the
//!  cache's last id ─▶ history in, then the live messages kept meanwhile (duplicates skipped) ─▶ live
//! ```
//!
//! One loop owns the Redis links and every other loop reaches it through the mailboxes the
//! hub already uses: Redis runs commands one at a time, so more connections per node would
//! not make it faster, and one subscriber connection per loop would bring every message N
//! times. The loops never wait on Redis: a `POST` is held (like a long-poll) until the owner
//! sends its answer back.
//!
//! The modules: `script` (keys, the Lua script, encoding), `client` (the state machine).

pub mod client;
pub mod script;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use talkback_longpoll::MessageId;
use talkback_reactor::ConnId;

pub use client::{Client, Role, Settings};

/// What loops send each other about the cluster.
#[derive(Debug)]
pub enum ClusterMessage {
    /// To the owner: store this message in Redis.
    Publish(PublishRequest),
    /// To the owner: a handler call left work for the links (commands to write on another
    /// link, a link to drop, a reconnect to schedule).
    Drive,
    /// To the loop a `POST` came from: its answer.
    Answer {
        /// The held `POST`.
        conn: ConnId,
        /// The id Redis gave it, or why it was not stored.
        result: Result<MessageId, NotStored>,
    },
}

/// A message to store, and who waits for the answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PublishRequest {
    /// The loop the `POST` (or WebSocket message) arrived on.
    pub origin: usize,
    /// The held `POST` to answer (`None`: a WebSocket's publish, which has no answer).
    pub conn: Option<ConnId>,
    /// The channel.
    pub channel: Arc<str>,
    /// The text.
    pub text: String,
}

/// Why a publish was not stored: the server answers 503 with `Retry-After`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NotStored {
    /// Redis is unreachable (or the links are being re-established).
    Unavailable,
    /// `--redis-max-pending` publishes are waiting on Redis already.
    Busy,
    /// Redis refused the command (an error reply other than `NOSCRIPT`).
    Refused,
}

impl NotStored {
    /// The one-line reason of the 503.
    pub fn reason(self) -> &'static [u8] {
        match self {
            NotStored::Unavailable => b"the cluster's Redis is unreachable; try again later\n",
            NotStored::Busy => b"too many publishes waiting on Redis (--redis-max-pending); try again later\n",
            NotStored::Refused => b"Redis refused the publish; try again later\n",
        }
    }
}

/// Where the cluster posts what a loop must see (the server's is the loop's `LoopHandle`).
pub trait ClusterMailbox: Send + Sync {
    /// Queues `message` for the loop (and wakes it).
    fn send_cluster(&self, message: ClusterMessage);
}

/// What every loop shares about the cluster: whether publishes can be stored now.
#[derive(Debug, Default)]
pub struct ClusterStatus {
    up: AtomicBool,
}

impl ClusterStatus {
    /// Whether the command link is up (a `POST` arriving now is forwarded, not refused).
    pub fn is_up(&self) -> bool {
        self.up.load(Ordering::Acquire)
    }

    fn set(&self, up: bool) {
        self.up.store(up, Ordering::Release);
    }
}

/// One loop's side of the cluster: the owner's mailbox, the shared status, and — on the owner
/// loop — the client itself.
pub struct Cluster {
    /// This loop's number.
    pub index: usize,
    owner: Box<dyn ClusterMailbox>,
    status: Arc<ClusterStatus>,
    /// The Redis client: `Some` on the loop that owns the links.
    pub client: Option<Client>,
}

impl std::fmt::Debug for Cluster {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Cluster").field("index", &self.index).field("up", &self.status.is_up()).finish()
    }
}

impl Cluster {
    /// Loop `index`'s side; `client` on the owner loop only.
    pub fn new(
        index: usize,
        owner: Box<dyn ClusterMailbox>,
        status: Arc<ClusterStatus>,
        client: Option<Client>,
    ) -> Self {
        Cluster { index, owner, status, client }
    }

    /// Sends `text` to the owner to be stored; `conn` is answered later with
    /// [`ClusterMessage::Answer`]. Refused at once while Redis is unreachable.
    pub fn publish(&self, channel: &str, text: &str, conn: Option<ConnId>) -> Result<(), NotStored> {
        if !self.status.is_up() {
            return Err(NotStored::Unavailable);
        }
        let request = PublishRequest { origin: self.index, conn, channel: Arc::from(channel), text: text.to_string() };
        self.owner.send_cluster(ClusterMessage::Publish(request));
        Ok(())
    }

    /// Asks the owner loop to act on what a handler call left for the links.
    pub fn drive(&self) {
        self.owner.send_cluster(ClusterMessage::Drive);
    }
}
