//! The connections of one loop: the slab of sockets and endpoints, and the one call path
//! through which the loop — and a [`LoopState`](crate::LoopState), through
//! [`ConnectionSet`] — reaches a handler.
//!
//! Each concern is one file of `impl Connections` and sees the others only as methods:
//!
//! | file | concern |
//! |---|---|
//! | `mod.rs` | the slab, accepting into it, calling a handler and acting on what it asked (`call`, `after_call`) |
//! | `read.rs` | a readiness event: reading until the socket is drained, into the scratch buffer or the handler's own |
//! | `flush.rs` | output scheduling: answers right after their reads, pushed output in `FLUSH_SLICE` slices, backpressure |
//! | `lifecycle.rs` | closing (flush, FIN, linger, remove) and deadlines (arm, fire) |
//! | `outbound.rs` | connections the loop opens itself (non-blocking connect, connect timeout) and the loop's timer |

mod flush;
mod lifecycle;
mod outbound;
mod read;

use std::io;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use mio::net::TcpStream;
use mio::{Interest, Registry, Token};

use crate::cx::{Cx, LoopEnv, Requests};
use crate::endpoint::{Endpoint, Phase};
use crate::handler::{ConnectionSet, Handler, OutputKind};
use crate::slab::{ConnId, Slab};
use crate::timers::Timers;

/// One accepted connection.
#[derive(Debug)]
struct Conn<H> {
    socket: TcpStream,
    /// The handler and what it is lent: output queue, deadline, kept input.
    endpoint: Endpoint<H>,
    /// The instant of this connection's live entry in the timer heap (see `arm_timer`).
    armed: Option<Instant>,
    phase: Phase,
    /// WRITABLE interest is registered (only while output is pending).
    writable_interest: bool,
    /// Reading is paused because the output queue is over its cap.
    read_paused: bool,
    /// The peer's FIN (or an error) was reported: read until the read that returns 0, even
    /// after a short read, since no new readiness edge will come for it.
    read_closed: bool,
    /// Opened by the loop itself ([`ConnectionSet::connect`]): not counted, not drained.
    outbound: bool,
    /// Where it waits to be flushed.
    marks: flush::FlushMarks,
}

/// Limits the loop enforces on every connection.
#[derive(Debug, Clone, Copy)]
pub(crate) struct ConnLimits {
    pub(crate) output_cap: usize,
    pub(crate) max_input: usize,
    pub(crate) max_connections: usize,
}

/// All connections of one loop, as [`LoopState::on_message`](crate::LoopState::on_message)
/// reaches them (through [`ConnectionSet`]).
#[derive(Debug)]
pub struct Connections<H> {
    slab: Slab<Conn<H>>,
    /// The turn's time, the buffer pool and the output cap, lent to every `Cx`.
    env: LoopEnv,
    timers: Timers,
    registry: Registry,
    /// Kept input past which a connection is dropped (`Config::max_input`).
    max_input: usize,
    /// Connections this loop holds at most.
    max_connections: usize,
    /// What is waiting to be read or written at the end of the turn.
    queues: flush::FlushQueues,
    /// Outbound connects in progress (not in the slab yet; their slots are reserved).
    pending: Vec<outbound::Pending<H>>,
    /// Established outbound connections in the slab (left out of `len`).
    outbound: usize,
    /// The loop's own timer ([`ConnectionSet::set_timer`]).
    loop_timer: Option<Instant>,
}

pub(crate) use outbound::CONNECTING;

impl<H: Handler> Connections<H> {
    pub(crate) fn new(registry: Registry, limits: ConnLimits, now: Instant) -> Self {
        Connections {
            slab: Slab::default(),
            env: LoopEnv::new(now, limits.output_cap),
            timers: Timers::default(),
            registry,
            max_input: limits.max_input,
            max_connections: limits.max_connections,
            queues: flush::FlushQueues::default(),
            pending: Vec::new(),
            outbound: 0,
            loop_timer: None,
        }
    }

    /// Number of open connections on this loop (accepted ones: the loop's own outbound
    /// connections are left out).
    pub fn len(&self) -> usize {
        self.slab.len() - self.outbound
    }

    /// Whether this loop holds no accepted connection (a drain is then over).
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The bytes this loop's sockets have read and written so far.
    pub(crate) fn io_totals(&self) -> crate::shared::IoTotals {
        self.env.io
    }

    pub(crate) fn set_now(&mut self, now: Instant) {
        self.env.now = now;
    }

    pub(crate) fn next_deadline(&self) -> Option<Instant> {
        self.timers.next()
    }

    pub(crate) fn max_connections(&self) -> usize {
        self.max_connections
    }

    pub(crate) fn is_full(&self) -> bool {
        self.len() >= self.max_connections
    }

    /// Registers a freshly accepted socket and makes its handler; returns the slot it is in.
    pub(crate) fn insert(&mut self, mut socket: TcpStream, state: &mut H::State) -> io::Result<usize> {
        let id = self.slab.reserve();
        if let Err(e) = self.registry.register(&mut socket, Token(id.slot as usize), Interest::READABLE) {
            self.slab.unreserve(id);
            return Err(e);
        }
        let (endpoint, requests) = Endpoint::accept(id, &mut self.env, state);
        let conn = Conn {
            socket,
            endpoint, // with the deadline the handler set while it was being made
            armed: None,
            phase: Phase::Open,
            writable_interest: false,
            read_paused: false,
            read_closed: false,
            outbound: false,
            marks: flush::FlushMarks::default(),
        };
        self.slab.fill(id, conn);
        // Not an answer to anything: what a new handler says first (a greeting) is pushed.
        self.after_call(id.slot as usize, requests, OutputKind::Push, state);
        Ok(id.slot as usize)
    }

    /// Calls `f` with the handler of the open connection in `slot` and a `Cx` for it — the
    /// path every handler call takes but the first (`insert`) — then acts on what it asked.
    fn call<R>(
        &mut self,
        slot: usize,
        kind: OutputKind,
        state: &mut H::State,
        f: impl FnOnce(&mut H, &mut Cx<'_>, &mut H::State) -> R,
    ) -> Option<R> {
        let id = self.slab.id_of(slot);
        let conn = self.slab.at_mut(slot).filter(|conn| conn.phase == Phase::Open)?;
        let (result, requests) = conn.endpoint.call(id, &mut self.env, state, f);
        self.after_call(slot, requests, kind, state);
        Some(result)
    }

    /// Acts on what a handler call asked for (replays are done by then): abort, deadline,
    /// close, backpressure, and when to write what it queued.
    fn after_call(&mut self, slot: usize, requests: Requests, kind: OutputKind, state: &mut H::State) {
        if requests.abort {
            return self.remove(slot, state);
        }
        self.arm_timer(slot);
        let Some(conn) = self.slab.at_mut(slot) else { return };
        if requests.close && conn.phase == Phase::Open {
            conn.phase = Phase::Flushing;
        }
        if conn.endpoint.parts.out.pending() > self.env.output_cap {
            conn.read_paused = true;
        }
        let kind = if requests.behind_pushes { OutputKind::Push } else { kind };
        // Even with nothing queued: a connection asked to close starts lingering when flushed.
        self.queues.queue_flush(slot, &mut conn.marks, kind);
    }
}

impl<H: Handler> ConnectionSet<H> for Connections<H> {
    fn with<R>(
        &mut self,
        id: ConnId,
        kind: OutputKind,
        state: &mut H::State,
        f: impl FnOnce(&mut H, &mut Cx<'_>, &mut H::State) -> R,
    ) -> Option<R> {
        self.slab.get(id)?;
        self.call(id.slot as usize, kind, state, f)
    }

    fn now(&self) -> Instant {
        self.env.now
    }

    fn connect(&mut self, addr: SocketAddr, timeout: Duration, handler: H) -> io::Result<ConnId> {
        self.connect_out(addr, timeout, handler)
    }

    fn set_timer(&mut self, at: Option<Instant>) {
        self.loop_timer = at;
    }
}

#[cfg(test)]
mod tests;
