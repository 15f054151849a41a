//! The slab of connections of one loop, and everything done to one connection: reading into
//! the loop's scratch buffer, calling its handler, flushing its output, closing it.

use std::collections::VecDeque;
use std::io::{self, Read};
use std::net::Shutdown;
use std::time::{Duration, Instant};

use mio::net::TcpStream;
use mio::{Interest, Registry, Token};

use crate::handler::{ConnId, Cx, Handler, LoopState, Requests};
use crate::output::{BufferPool, OutputQueue};
use crate::timers::{TimerEntry, Timers};

/// How long a closing connection waits for the peer's FIN after our own, discarding what it
/// sends, so that unread request bytes cannot turn our close into a reset that destroys the
/// response before the client reads it.
const LINGER: Duration = Duration::from_secs(2);

/// Where a connection is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    /// Reading and writing normally.
    Open,
    /// Asked to close: writing out what is queued.
    Flushing,
    /// Our FIN is sent; reading and discarding until the peer's FIN or the linger deadline.
    Lingering,
}

/// One accepted connection.
#[derive(Debug)]
struct Conn<H> {
    socket: TcpStream,
    handler: H,
    out: OutputQueue,
    /// Bytes the handler has not consumed yet. Empty (no heap memory) when idle.
    input: Vec<u8>,
    /// Every byte read so far.
    read_total: u64,
    deadline: Option<Instant>,
    /// The instant of this connection's live entry in the timer heap. Moving the deadline
    /// later costs nothing (the entry re-arms itself when it pops); moving it earlier pushes
    /// a new entry. So a keep-alive refresh after every request never touches the heap.
    armed: Option<Instant>,
    phase: Phase,
    /// WRITABLE interest is registered (only while output is pending).
    writable_interest: bool,
    /// Reading is paused because the output queue is over its cap.
    read_paused: bool,
    /// The peer's FIN (or an error) was reported: read until the read that returns 0, even
    /// after a short read, since no new readiness edge will come for it.
    read_closed: bool,
    /// Output is queued and waiting in `Connections::dirty` (or `answers`) to be flushed.
    dirty: bool,
    /// Waiting in `Connections::answers`.
    answer_queued: bool,
}

/// Limits the loop enforces on every connection.
#[derive(Debug, Clone, Copy)]
pub(crate) struct ConnLimits {
    pub(crate) output_cap: usize,
    pub(crate) max_input: usize,
    pub(crate) max_connections: usize,
}

/// All connections of one loop, plus what acting on them needs.
#[derive(Debug)]
pub struct Connections<H> {
    slots: Vec<Option<Conn<H>>>,
    generations: Vec<u32>,
    free: Vec<usize>,
    live: usize,
    pool: BufferPool,
    timers: Timers,
    registry: Registry,
    limits: ConnLimits,
    now: Instant,
    /// Connections whose reading was un-paused and must be read again by the loop.
    pending_reads: Vec<usize>,
    /// Connections given output from outside their own events (broadcasts, timers), in the
    /// order it was given. Each is flushed once when its turn comes — at most [`FLUSH_SLICE`]
    /// of them per loop turn — so everything it was sent meanwhile (several broadcasts)
    /// leaves in one `writev`.
    dirty: VecDeque<usize>,
    /// Connections that answered their own input this turn (a request's response, a pong).
    /// Those answering a socket event are written right after its reads (`flush_answer`);
    /// the rest at the end of the turn, before any slice of `dirty`.
    answers: Vec<usize>,
    /// A connection's own socket event is being handled (its output is an answer).
    answering: bool,
}

/// How many connections one turn flushes at most, besides this turn's answers, before the
/// loop looks for events again.
///
/// Fanning a broadcast out to thousands of subscribers is thousands of `writev`s (each ~2–5
/// µs on loopback). Done in one go, the loop reads nothing meanwhile — not even the
/// publisher's next message, which then waits milliseconds for its answer, and every
/// broadcast goes out on its own. In slices, with answers to this turn's requests first,
/// the publisher hears back within a slice, and what it publishes next is queued behind the
/// output of the subscribers not yet written, leaving in the same write: under load each
/// subscriber gets several messages per `writev`.
pub(crate) const FLUSH_SLICE: usize = 64;

impl<H: Handler> Connections<H> {
    pub(crate) fn new(registry: Registry, limits: ConnLimits, now: Instant) -> Self {
        Connections {
            slots: Vec::new(),
            generations: Vec::new(),
            free: Vec::new(),
            live: 0,
            pool: BufferPool::default(),
            timers: Timers::default(),
            registry,
            limits,
            now,
            pending_reads: Vec::new(),
            dirty: VecDeque::new(),
            answers: Vec::new(),
            answering: false,
        }
    }

    /// Number of open connections on this loop.
    pub fn len(&self) -> usize {
        self.live
    }

    /// Whether this loop has no connections.
    pub fn is_empty(&self) -> bool {
        self.live == 0
    }

    /// The time read at the start of this loop turn.
    pub fn now(&self) -> Instant {
        self.now
    }

    pub(crate) fn set_now(&mut self, now: Instant) {
        self.now = now;
    }

    pub(crate) fn next_deadline(&self) -> Option<Instant> {
        self.timers.next()
    }

    pub(crate) fn max_connections(&self) -> usize {
        self.limits.max_connections
    }

    pub(crate) fn is_full(&self) -> bool {
        self.live >= self.limits.max_connections
    }

    fn id_of(&self, slot: usize) -> ConnId {
        ConnId { slot: slot as u32, generation: self.generations[slot] }
    }

    /// Calls `f` with the handler of connection `id`, if it is still open, then acts on what
    /// the handler asked for (write, close, deadline). Returns `None` for a connection that
    /// has gone.
    pub fn with<R>(
        &mut self,
        id: ConnId,
        state: &mut H::State,
        f: impl FnOnce(&mut H, &mut Cx<'_>, &mut H::State) -> R,
    ) -> Option<R> {
        let slot = id.slot as usize;
        if self.generations.get(slot) != Some(&id.generation) {
            return None;
        }
        if self.slots[slot].as_ref()?.phase != Phase::Open {
            return None;
        }
        let (result, requests) = self.run(slot, state, f)?;
        self.after_call(slot, requests, state);
        Some(result)
    }

    /// [`Connections::with`] for a call that answers the connection's own earlier request (a
    /// response held back until something happened elsewhere): its output is flushed with
    /// this turn's answers, ahead of the slices of pushed output (at most 64 connections per turn).
    pub fn answer_with<R>(
        &mut self,
        id: ConnId,
        state: &mut H::State,
        f: impl FnOnce(&mut H, &mut Cx<'_>, &mut H::State) -> R,
    ) -> Option<R> {
        let was = std::mem::replace(&mut self.answering, true);
        let result = self.with(id, state, f);
        self.answering = was;
        result
    }

    /// Calls `f` with the handler of the connection in `slot` and a [`Cx`] for it — the one
    /// place a `Cx` is lent to a live connection. Returns `f`'s result and what the handler
    /// asked for, which the caller acts on with [`Connections::after_call`].
    fn run<R>(
        &mut self,
        slot: usize,
        state: &mut H::State,
        f: impl FnOnce(&mut H, &mut Cx<'_>, &mut H::State) -> R,
    ) -> Option<(R, Requests)> {
        let id = self.id_of(slot);
        let conn = self.slots[slot].as_mut()?;
        let mut requests = Requests::default();
        let mut cx = Cx {
            id,
            now: self.now,
            out: &mut conn.out,
            pool: &mut self.pool,
            deadline: &mut conn.deadline,
            requests: &mut requests,
            output_cap: self.limits.output_cap,
            read_total: conn.read_total,
        };
        let result = f(&mut conn.handler, &mut cx, state);
        Some((result, requests))
    }

    /// Registers a freshly accepted socket and makes its handler.
    pub(crate) fn insert(&mut self, mut socket: TcpStream, state: &mut H::State) -> io::Result<()> {
        let slot = match self.free.pop() {
            Some(slot) => slot,
            None => {
                self.slots.push(None);
                self.generations.push(0);
                self.slots.len() - 1
            }
        };
        if let Err(e) = self.registry.register(&mut socket, Token(slot), Interest::READABLE) {
            self.free.push(slot);
            return Err(e);
        }
        let id = self.id_of(slot);
        let (mut out, mut deadline, mut requests) = (OutputQueue::default(), None, Requests::default());
        let mut cx = Cx {
            id,
            now: self.now,
            out: &mut out,
            pool: &mut self.pool,
            deadline: &mut deadline,
            requests: &mut requests,
            output_cap: self.limits.output_cap,
            read_total: 0,
        };
        let handler = state.accept(&mut cx);
        self.slots[slot] = Some(Conn {
            socket,
            handler,
            out,
            input: Vec::new(),
            read_total: 0,
            deadline, // set by the handler while it was being made
            armed: None,
            phase: Phase::Open,
            writable_interest: false,
            read_paused: false,
            read_closed: false,
            dirty: false,
            answer_queued: false,
        });
        self.live += 1;
        self.after_call(slot, requests, state);
        Ok(())
    }

    /// A readiness event for `token`.
    pub(crate) fn ready(&mut self, token: Token, event: &mio::event::Event, state: &mut H::State, scratch: &mut [u8]) {
        let slot = token.0;
        if self.slots.get(slot).is_none_or(|c| c.is_none()) {
            return;
        }
        if (event.is_read_closed() || event.is_error())
            && let Some(conn) = self.slots[slot].as_mut()
        {
            conn.read_closed = true;
        }
        if event.is_writable() {
            self.flush(slot, state);
        }
        if event.is_readable() || event.is_read_closed() || event.is_error() {
            self.answering = true;
            self.read(slot, state, scratch);
            self.answering = false;
            self.flush_answer(slot, state);
        }
    }

    /// Reads until the socket would block, handing bytes to the handler as they come.
    fn read(&mut self, slot: usize, state: &mut H::State, scratch: &mut [u8]) {
        loop {
            let Some(conn) = self.slots[slot].as_mut() else { return };
            if conn.read_paused {
                return;
            }
            // A handler receiving a large body may have the bytes read straight into it.
            let direct = match conn.phase {
                Phase::Open if conn.input.is_empty() => conn.handler.direct_input(state),
                _ => None,
            };
            let (result, asked, is_direct) = match direct {
                Some(target) => (conn.socket.read(target), target.len(), true),
                None => (conn.socket.read(scratch), scratch.len(), false),
            };
            let n = match result {
                Ok(n) => n,
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(_) => return self.remove(slot, state),
            };
            conn.read_total += n as u64;
            match conn.phase {
                Phase::Lingering if n == 0 => return self.remove(slot, state),
                // The peer is done too; the answer still going out finishes the connection.
                Phase::Flushing if n == 0 => return,
                Phase::Lingering | Phase::Flushing => {} // discarded
                Phase::Open if n == 0 => {
                    self.call(slot, state, |h, cx, st| h.on_peer_closed(cx, st));
                    return;
                }
                Phase::Open if is_direct => self.call(slot, state, |h, cx, st| h.on_direct_input(n, cx, st)),
                Phase::Open => self.deliver_input(slot, &scratch[..n], state),
            }
            let read_closed = self.slots[slot].as_ref().is_some_and(|c| c.read_closed);
            if n < asked && !read_closed {
                // A short read emptied the socket's receive buffer. Edge-triggered readiness
                // reports any byte (or FIN) that arrives from now on as a new event, so the
                // read that would only say WouldBlock is skipped: one syscall per request saved.
                return;
            }
        }
    }

    /// Gives `fresh` bytes (after any kept ones) to the handler and keeps what it leaves.
    fn deliver_input(&mut self, slot: usize, fresh: &[u8], state: &mut H::State) {
        let Some(conn) = self.slots[slot].as_mut() else { return };
        if conn.input.is_empty() {
            self.call_with_input(slot, Some(fresh), state);
        } else {
            conn.input.extend_from_slice(fresh);
            self.call_with_input(slot, None, state);
        }
        let Some(conn) = self.slots[slot].as_mut() else { return };
        if conn.input.len() > self.limits.max_input {
            // The handler should have bounded this already; this is the loop's own backstop.
            self.remove(slot, state);
        }
    }

    /// Calls `on_input` with `fresh`, or with the kept bytes when `fresh` is `None`, and keeps
    /// exactly what was not consumed — before acting on the handler's requests, so a handler
    /// that switched protocols and asked for a replay gets the bytes that followed the switch
    /// (a WebSocket frame sent in the same packet as the handshake). Returns how much was
    /// consumed.
    fn call_with_input(&mut self, slot: usize, fresh: Option<&[u8]>, state: &mut H::State) -> usize {
        let Some(conn) = self.slots[slot].as_mut() else { return 0 };
        // The kept bytes are lent out of the connection for the call, and given back after.
        let kept = if fresh.is_some() { Vec::new() } else { std::mem::take(&mut conn.input) };
        let input = fresh.unwrap_or(&kept);
        let run = self.run(slot, state, |handler, cx, state| handler.on_input(input, cx, state).min(input.len()));
        let Some((consumed, requests)) = run else { return 0 };
        let Some(conn) = self.slots[slot].as_mut() else { return consumed };
        match fresh {
            Some(fresh) => conn.input.extend_from_slice(&fresh[consumed..]),
            None => {
                let mut kept = kept;
                kept.drain(..consumed);
                // Idle connections hold no read buffer.
                conn.input = if kept.is_empty() { Vec::new() } else { kept };
            }
        }
        self.after_call(slot, requests, state);
        consumed
    }

    /// Calls a handler method that takes no input.
    fn call(&mut self, slot: usize, state: &mut H::State, f: impl FnOnce(&mut H, &mut Cx<'_>, &mut H::State)) {
        let id = self.id_of(slot);
        self.with(id, state, f);
    }

    /// Acts on what a handler call asked for: deadline, abort, close, replay, flush.
    fn after_call(&mut self, slot: usize, requests: Requests, state: &mut H::State) {
        if requests.abort {
            return self.remove(slot, state);
        }
        self.arm_timer(slot);
        let Some(conn) = self.slots[slot].as_mut() else { return };
        if requests.close && conn.phase == Phase::Open {
            conn.phase = Phase::Flushing;
        }
        if conn.out.pending() > self.limits.output_cap {
            conn.read_paused = true;
        }
        if requests.replay_input && conn.phase == Phase::Open && !conn.input.is_empty() {
            self.call_with_input(slot, None, state);
            return;
        }
        if self.answering {
            if !conn.answer_queued {
                conn.answer_queued = true;
                self.answers.push(slot);
            }
            conn.dirty = true; // an entry it may have in `dirty` finds it flushed and is skipped
        } else if !conn.dirty {
            conn.dirty = true;
            self.dirty.push_back(slot);
        }
    }

    fn arm_timer(&mut self, slot: usize) {
        let generation = self.generations[slot];
        let Some(conn) = self.slots[slot].as_mut() else { return };
        if let Some(at) = conn.deadline
            && conn.armed.is_none_or(|armed| at < armed)
        {
            conn.armed = Some(at);
            self.timers.push(TimerEntry { at, slot, generation });
        }
    }

    /// Writes queued output; moves a closing connection on when its output is gone.
    fn flush(&mut self, slot: usize, state: &mut H::State) {
        let Some(conn) = self.slots[slot].as_mut() else { return };
        let done = match conn.out.flush(&mut conn.socket, &mut self.pool) {
            Ok(done) => done,
            Err(_) => return self.remove(slot, state),
        };
        let want_writable = !done;
        if want_writable != conn.writable_interest {
            let interest = if want_writable { Interest::READABLE | Interest::WRITABLE } else { Interest::READABLE };
            if self.registry.reregister(&mut conn.socket, Token(slot), interest).is_err() {
                return self.remove(slot, state);
            }
            conn.writable_interest = want_writable;
        }
        if done && conn.phase == Phase::Flushing {
            self.start_lingering(slot, state);
        } else if conn.read_paused && conn.out.pending() <= self.limits.output_cap / 2 {
            conn.read_paused = false;
            // Edge-triggered readiness: bytes that arrived while paused raise no new event.
            self.pending_reads.push(slot);
        }
    }
}

impl<H: Handler> Connections<H> {
    /// Our side is done: send FIN, then wait briefly for the peer's.
    fn start_lingering(&mut self, slot: usize, state: &mut H::State) {
        let Some(conn) = self.slots[slot].as_mut() else { return };
        if conn.socket.shutdown(Shutdown::Write).is_err() {
            return self.remove(slot, state);
        }
        conn.phase = Phase::Lingering;
        conn.read_paused = false;
        conn.deadline = Some(self.now + LINGER);
        self.arm_timer(slot);
        self.pending_reads.push(slot);
    }

    /// Closes the socket, tells the handler, and frees the slot for reuse.
    pub(crate) fn remove(&mut self, slot: usize, state: &mut H::State) {
        let id = self.id_of(slot);
        let Some(mut conn) = self.slots[slot].take() else { return };
        let _ = self.registry.deregister(&mut conn.socket);
        conn.out.clear(&mut self.pool);
        conn.handler.on_closed(id, state);
        self.generations[slot] = self.generations[slot].wrapping_add(1);
        self.free.push(slot);
        self.live -= 1;
    }

    /// Runs every deadline that is due.
    pub(crate) fn run_timers(&mut self, state: &mut H::State) {
        let now = self.now;
        while let Some(entry) = self.timers.pop_due(now) {
            if self.generations[entry.slot] != entry.generation {
                continue;
            }
            let Some(conn) = self.slots[entry.slot].as_mut() else { continue };
            if conn.armed != Some(entry.at) {
                continue; // superseded by an earlier entry
            }
            conn.armed = None;
            match conn.deadline {
                None => continue,
                Some(at) if at > now => {
                    // The deadline moved later since this entry was pushed: re-arm.
                    conn.armed = Some(at);
                    self.timers.push(TimerEntry { at, slot: entry.slot, generation: entry.generation });
                    continue;
                }
                Some(_) => conn.deadline = None,
            }
            match conn.phase {
                Phase::Open => self.call(entry.slot, state, |h, cx, st| h.on_deadline(cx, st)),
                Phase::Flushing | Phase::Lingering => self.remove(entry.slot, state),
            }
        }
        let (slots, generations) = (&self.slots, &self.generations);
        let live = |e: &TimerEntry| {
            generations[e.slot] == e.generation && slots[e.slot].as_ref().is_some_and(|c| c.armed == Some(e.at))
        };
        self.timers.compact(live, self.live);
    }

    /// Ends a turn: reads connections whose reading was resumed and flushes connections that
    /// have output queued — at most [`FLUSH_SLICE`] of them. Returns whether work is left
    /// for the next turn (the loop then polls without sleeping).
    pub(crate) fn settle(&mut self, state: &mut H::State, scratch: &mut [u8]) -> bool {
        let mut budget = FLUSH_SLICE;
        loop {
            self.answering = true;
            while let Some(slot) = self.pending_reads.pop() {
                if self.slots[slot].is_some() {
                    self.read(slot, state, scratch);
                }
            }
            self.answering = false;
            // Answers first (the reply to the POST that caused a burst of broadcasts leaves
            // before them), then the rest in the order their output was queued.
            let answers = std::mem::take(&mut self.answers);
            for &slot in &answers {
                let Some(conn) = self.slots[slot].as_mut() else { continue };
                conn.answer_queued = false;
                if conn.dirty {
                    conn.dirty = false;
                    self.flush(slot, state);
                }
            }
            self.answers = answers; // keep the allocation (flushing queues no answers)
            self.answers.clear();
            while budget > 0 {
                let Some(slot) = self.dirty.pop_front() else { break };
                let Some(conn) = self.slots[slot].as_mut() else { continue };
                if conn.dirty {
                    conn.dirty = false;
                    self.flush(slot, state);
                    budget -= 1;
                }
            }
            if budget == 0 || (self.pending_reads.is_empty() && self.answers.is_empty()) {
                return self.has_work_left();
            }
        }
    }

    /// Writes what a connection answered to the input it was just given, at once: the bytes
    /// it echoes are still in the cache (a 64 KiB echo read now and written at the end of a
    /// turn that read a few more would have left it), and nothing else this turn can add to an
    /// answer. Its entry in `answers` then finds it flushed and is skipped.
    fn flush_answer(&mut self, slot: usize, state: &mut H::State) {
        let Some(conn) = self.slots[slot].as_mut() else { return };
        if conn.answer_queued && conn.dirty {
            conn.answer_queued = false;
            conn.dirty = false;
            self.flush(slot, state);
        }
    }

    /// Output or reads left over from a turn that used its whole [`FLUSH_SLICE`].
    pub(crate) fn has_work_left(&self) -> bool {
        !self.dirty.is_empty() || !self.pending_reads.is_empty() || !self.answers.is_empty()
    }

    /// Closes every connection (the loop is shutting down).
    pub(crate) fn close_all(&mut self, state: &mut H::State) {
        for slot in 0..self.slots.len() {
            self.remove(slot, state);
        }
    }
}

#[cfg(test)]
mod tests {
    use std::io::{ErrorKind, Read};
    use std::net::{TcpListener, TcpStream as StdStream};

    use super::*;

    /// Queues every byte it receives back (an answer); pushes come from the test.
    struct Echo;

    struct NoState;

    impl Handler for Echo {
        type State = NoState;

        fn on_input(&mut self, input: &[u8], cx: &mut Cx<'_>, _state: &mut NoState) -> usize {
            cx.write(input);
            input.len()
        }

        fn on_deadline(&mut self, _cx: &mut Cx<'_>, _state: &mut NoState) {}
    }

    impl LoopState<Echo> for NoState {
        type Message = ();

        fn accept(&mut self, _cx: &mut Cx<'_>) -> Echo {
            Echo
        }

        fn on_message(&mut self, _message: (), _conns: &mut Connections<Echo>) {}
    }

    /// `n` connections in slots `0..n`, with the client end of each.
    fn connected(n: usize) -> (Connections<Echo>, Vec<StdStream>) {
        let poll = mio::Poll::new().expect("poll");
        let registry = poll.registry().try_clone().expect("registry");
        let limits = ConnLimits { output_cap: 1 << 20, max_input: 1 << 20, max_connections: n };
        let mut conns = Connections::new(registry, limits, Instant::now());
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
        let clients = (0..n)
            .map(|_| {
                let client = StdStream::connect(listener.local_addr().expect("addr")).expect("connect");
                let (server, _) = listener.accept().expect("accept");
                server.set_nonblocking(true).expect("nonblocking");
                conns.insert(TcpStream::from_std(server), &mut NoState).expect("insert");
                client.set_nonblocking(true).expect("nonblocking");
                client
            })
            .collect();
        (conns, clients)
    }

    /// What has arrived at a client so far (loopback delivers within the `write` call).
    fn received(client: &mut StdStream) -> Vec<u8> {
        let mut got = Vec::new();
        let mut buf = [0u8; 256];
        loop {
            match client.read(&mut buf) {
                Ok(0) => return got,
                Ok(n) => got.extend_from_slice(&buf[..n]),
                Err(e) if e.kind() == ErrorKind::WouldBlock => return got,
                Err(e) => panic!("read: {e}"),
            }
        }
    }

    #[test]
    fn a_fan_out_is_written_a_slice_per_turn_and_an_answer_goes_before_the_rest() {
        let n = FLUSH_SLICE * 2 + 10;
        let (mut conns, mut clients) = connected(n);
        // A broadcast reaches every connection from outside their own events (as the hub's
        // `on_message` does).
        for slot in 0..n {
            let id = conns.id_of(slot);
            conns.with(id, &mut NoState, |_, cx, _| cx.write(b"push;"));
        }
        let mut scratch = vec![0u8; 1024];
        assert!(conns.settle(&mut NoState, &mut scratch), "more than a slice is left for later turns");
        let written: Vec<usize> = (0..n).filter(|&i| !received(&mut clients[i]).is_empty()).collect();
        assert_eq!(written, (0..FLUSH_SLICE).collect::<Vec<_>>(), "the first slice, in queue order");

        // The last connection answers a request of its own: it is written at the end of
        // this turn, ahead of the connections queued before it.
        let last = n - 1;
        let id = conns.id_of(last);
        conns.answer_with(id, &mut NoState, |_, cx, _| cx.write(b"answer;"));
        assert!(conns.settle(&mut NoState, &mut scratch));
        assert_eq!(received(&mut clients[last]), b"push;answer;", "the answer took what was queued with it");
        let second: Vec<usize> = (0..n).filter(|&i| !received(&mut clients[i]).is_empty()).collect();
        assert_eq!(second, (FLUSH_SLICE..2 * FLUSH_SLICE).collect::<Vec<_>>(), "then the next slice");

        // Its old place in the queue is skipped: the remaining ones finish the fan-out.
        assert!(!conns.settle(&mut NoState, &mut scratch), "nothing left");
        let rest: Vec<usize> = (0..n).filter(|&i| received(&mut clients[i]) == b"push;").collect();
        assert_eq!(rest, (2 * FLUSH_SLICE..last).collect::<Vec<_>>());
        assert!(!conns.has_work_left());
    }
}
