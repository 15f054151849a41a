//! One channel as every loop shares it: its log behind its own mutex, how many loops listen
//! on it, and whether it has been freed.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use talkback_longpoll::{ChannelLog, MessageId};

use super::deflated::Windows;
use super::encoded::Encoded;

/// A channel, shared by every loop (the hub's map holds it under its name).
#[derive(Debug)]
pub(super) struct Channel {
    /// Its name, the map's key.
    pub(super) name: Arc<str>,
    /// The oldest retained id, readable without the lock: the hub's publish order drops its
    /// entries below it when it compacts. Only grows; `MessageId::MAX` once freed.
    first_id: AtomicU64,
    /// The window sizes its WebSocket subscribers negotiated (permessage-deflate), counted
    /// without the lock: a publish compresses once for each (`deflated.rs`).
    pub(super) windows: Windows,
    /// The same, for its `talkback.json` subscribers (their frames carry the JSON element).
    pub(super) json_windows: Windows,
    state: Mutex<ChannelState>,
}

/// What the channel's mutex guards.
#[derive(Debug)]
pub(super) struct ChannelState {
    /// The retained messages with their ids.
    pub(super) log: ChannelLog<Arc<Encoded>>,
    /// Loops with a subscriber or a parked long-poll here; each loop counts itself once, when
    /// its first listener comes and its last one goes.
    pub(super) loops_listening: usize,
    /// Taken out of the hub's map: whoever locks it later must look the name up again.
    pub(super) freed: bool,
}

impl ChannelState {
    /// Nobody listens and nothing is retained: the hub may free it.
    pub(super) fn is_unused(&self) -> bool {
        self.loops_listening == 0 && self.log.is_empty()
    }
}

impl Channel {
    /// A channel called `name` over `log`.
    pub(super) fn new(name: Arc<str>, log: ChannelLog<Arc<Encoded>>) -> Channel {
        let first_id = AtomicU64::new(log.first_id());
        Channel {
            name,
            first_id,
            windows: Windows::default(),
            json_windows: Windows::default(),
            state: Mutex::new(ChannelState { log, loops_listening: 0, freed: false }),
        }
    }

    /// Locks it (a panic elsewhere cannot poison the hub for everyone).
    pub(super) fn lock(&self) -> MutexGuard<'_, ChannelState> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// After the log's front moved (a publish, an eviction, the channel freed), under the lock.
    pub(super) fn note_first_id(&self, state: &ChannelState) {
        let first = if state.freed { MessageId::MAX } else { state.log.first_id() };
        self.first_id.store(first, Ordering::Release);
    }

    /// Whether message `id` of this channel is certainly gone from its log (read without the
    /// lock: a message evicted a moment ago may still look retained, never the other way).
    pub(super) fn is_gone(&self, id: MessageId) -> bool {
        id < self.first_id.load(Ordering::Acquire)
    }
}
