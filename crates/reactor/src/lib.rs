//! talkback-reactor: the mio event loop — the only crate in talkback that touches sockets.
//!
//! It accepts connections, reads their bytes into a scratch buffer, hands the bytes to a
//! per-connection [`Handler`], writes what the handler queued (vectored, shared broadcast bytes
//! never copied), runs one deadline per connection, and lets other threads send messages to a
//! loop through a [`LoopHandle`] (a queue plus mio's `Waker`). It knows no protocol.
//!
//! ```text
//!   kernel                      loop (one per thread)                          handler
//!   ──────                      ─────────────────────                          ───────
//!   SYN ──accept──▶ least-loaded loop ▶ slab ──────────────── LoopState::accept ──▶ H
//!   bytes ──readable───────────▶ read → scratch ──────────────── on_input(bytes) ──▶ consumed
//!                               (or → the handler's buffer ── direct_input / on_direct_input)
//!                               keep the unconsumed tail ◀──── (only while partial)
//!                               output queue ◀──────────────── cx.write / write_shared
//!   ◀── writev, right after the reads ── answers
//!   ◀── writev, 64 connections a turn ── pushed output (broadcasts, deadlines)
//!   timer heap ────────────────▶ deadline due ────────────────── on_deadline ──────▶
//!   alarm thread ── Waker, at the next deadline (so poll waits with no timeout)
//!   other thread ── send + wake ▶ inbox ─── LoopState::on_message ──▶ conns.with(id, kind, …)
//!   FIN ──read()==0────────────▶ ─────────────────────────────── on_peer_closed ───▶
//!   connect out ◀── ConnectionSet::connect ◀─ LoopState ── writable ──▶ on_connected ─▶ H
//!   loop timer ────────────────▶ due ────────────────────────── LoopState::on_timer
//! ```
//!
//! | module | what it owns | may use |
//! |---|---|---|
//! | `server` | threads, [`Config`], [`Server`], [`ShutdownHandle`] (drain, or stop now), [`bind`], the signal handlers | `event_loop`, `conns`, `shared`, `handler`, `endpoint` |
//! | `event_loop` | one `mio::Poll` and one turn: accept (EMFILE back-off, hand-off to the least-loaded loop), wake-ups, signals, draining, busy-polling | `alarm`, `conns`, `shared`, `handler` |
//! | `conns` | [`Connections`]: the slab of sockets, the call path (`call`, `after_call`) | `endpoint`, `cx`, `handler`, `output`, `slab`, `timers` |
//! | `conns::read` | readiness and reading: short-read skip, direct reads, the input backstop | its parent |
//! | `conns::flush` | output scheduling: answers at once, pushed output in `FLUSH_SLICE` slices, WRITABLE interest, backpressure | its parent |
//! | `conns::lifecycle` | closing (flush, FIN, linger, remove) and deadlines (arm, fire) | its parent |
//! | `conns::outbound` | connections the loop opens itself ([`ConnectionSet::connect`]: non-blocking connect, connect timeout, failure) and the loop's timer ([`ConnectionSet::set_timer`]) | its parent |
//! | `testing` | `TestLoop`: the same calls without sockets, on a virtual clock (feature `testing`) | `endpoint`, `cx`, `handler`, `output`, `slab`, `shared` |
//! | `endpoint` | one connection without its socket: handler, kept input; the kept-bytes and replay rules; its `Phase` | `cx`, `handler`, `output`, `slab` |
//! | `handler` | the [`Handler`] and [`LoopState`] traits, [`ConnectionSet`], [`OutputKind`] | `cx`, `slab` |
//! | `cx` | [`Cx`] (made in one place, for every call) and what it borrows | `output`, `slab` |
//! | `shared` | what threads share: inboxes, [`LoopHandle`], each loop's seat, what the loops are asked (run, drain, stop) | — |
//! | `output` | the output queue (owned, handed-over, shared and inline chunks), vectored writes, buffer pool (buffers, chunk lists and the staging buffer an encoder writes into) | — |
//! | `timers` | the deadline heap with lazy deletion | `slab` |
//! | `alarm` | the loop's alarm clock: a thread that wakes the loop at its next deadline, so `poll` needs no timeout | — |
//! | `slab` | slots, generations and [`ConnId`] | — |
//!
//! A connection's life (`endpoint::Phase`):
//!
//! ```text
//!   Open ──cx.close()──▶ Flushing ──output written──▶ Lingering ──peer FIN / 2 s──▶ (removed)
//!     │                                                 ▲
//!     └──cx.abort(), read/write error, reset ───────────┴──────────────────────────▶ (removed)
//! ```
//!
//! Contract: `on_input` may be called many times per readiness event (once per read); the
//! handler queues output with [`Cx::write`]/[`Cx::with_output`]/[`Cx::write_owned`]/
//! [`Cx::write_shared`]/[`Cx::write_shared_slice`]. When it is written depends on its [`OutputKind`]. What a handler
//! answers to its own input is an answer, written with one `writev` right after that
//! connection's reads (the answers to a pipelined batch leave together, while their bytes are
//! still in the cache); so is what a [`LoopState`] gives with [`OutputKind::Answer`] (a
//! response held back until something happened elsewhere), written at the end of the turn.
//! Pushed output — [`OutputKind::Push`] from [`LoopState::on_message`], deadlines — is written
//! at the end of the turn, at most `FLUSH_SLICE` (64) connections per turn after the answers,
//! so a fan-out to thousands never keeps the loop from reading; several broadcasts queued
//! before a connection's turn comes leave in one `writev`. A connection whose queue passes
//! [`Config::output_cap`] is not read until the queue drains to half the cap (backpressure); a
//! handler that would rather drop such a slow consumer checks [`Cx::over_output_cap`] and
//! calls [`Cx::abort`]. `on_closed` runs once for every connection, however it ends.
//!
//! Draining (the first SIGINT/SIGTERM, or [`ShutdownHandle::shutdown`]): every loop calls
//! [`Handler::on_drain`] once on each open connection, closes its listener, and returns when
//! its connections are gone or [`Config::drain_timeout`] has passed; a second signal exits the
//! process at once, [`ShutdownHandle::stop_now`] stops the loops at once.
//!
//! Memory: an idle connection holds its socket, its handler, an empty output queue and no read
//! buffer (the loop lends a 256 KiB scratch buffer to every read).
//!
//! # Example
//!
//! A line-echo handler with an idle deadline, and an announcement sent to the loop from
//! outside, driven by the test loop (`testing::TestLoop`: no sockets, a virtual clock). On a
//! real server the same two impls run with `Server::start::<LineEcho, _>(listener, config,
//! |_index, _handles| Room::default())`.
//!
//! ```
//! use std::time::Duration;
//!
//! use talkback_reactor::testing::{ConnStatus, TestLoop};
//! use talkback_reactor::{ConnId, ConnectionSet, Cx, Handler, LoopState, OutputKind};
//!
//! /// How long a connection may stay silent.
//! const IDLE: Duration = Duration::from_secs(30);
//!
//! /// Echoes every complete line; closes a connection that stays silent for `IDLE`.
//! struct LineEcho;
//!
//! /// One loop's state: its connections, to announce things to.
//! #[derive(Default)]
//! struct Room {
//!     members: Vec<ConnId>,
//! }
//!
//! impl Handler for LineEcho {
//!     type State = Room;
//!
//!     fn on_input(&mut self, input: &[u8], cx: &mut Cx<'_>, _room: &mut Room) -> usize {
//!         let lines = input.iter().rposition(|&b| b == b'\n').map_or(0, |last| last + 1);
//!         cx.write(&input[..lines]); // a partial line is kept, and comes back with the rest
//!         cx.set_deadline(Some(cx.now() + IDLE));
//!         lines
//!     }
//!
//!     fn on_deadline(&mut self, cx: &mut Cx<'_>, _room: &mut Room) {
//!         cx.write(b"idle, bye\n");
//!         cx.close(); // written first, then closed
//!     }
//!
//!     fn on_closed(&mut self, id: ConnId, room: &mut Room) {
//!         room.members.retain(|&member| member != id);
//!     }
//! }
//!
//! impl LoopState<LineEcho> for Room {
//!     type Message = String; // an announcement, sent from any thread
//!
//!     fn accept(&mut self, cx: &mut Cx<'_>) -> LineEcho {
//!         self.members.push(cx.id());
//!         cx.set_deadline(Some(cx.now() + IDLE));
//!         LineEcho
//!     }
//!
//!     fn on_message(&mut self, text: String, conns: &mut impl ConnectionSet<LineEcho>) {
//!         for id in self.members.clone() {
//!             conns.with(id, OutputKind::Push, self, |_, cx, _| cx.write(text.as_bytes()));
//!         }
//!     }
//! }
//!
//! let mut handle = None;
//! let mut lp = TestLoop::<LineEcho>::new(|h| {
//!     handle = Some(h);
//!     Room::default()
//! });
//! let id = lp.connect();
//! lp.send(id, b"hello\nwor"); // one read: a line and a half
//! assert_eq!(lp.take_output(id), b"hello\n");
//! lp.send(id, b"ld\n"); // the kept half comes first
//! assert_eq!(lp.take_output(id), b"world\n");
//!
//! handle.expect("made").send("news\n".to_string());
//! assert_eq!(lp.deliver_inbox(), 1);
//! assert_eq!(lp.take_output(id), b"news\n");
//!
//! lp.advance(IDLE); // 30 s of silence, in no time
//! assert_eq!(lp.take_output(id), b"idle, bye\n");
//! assert_eq!(lp.status(id), ConnStatus::Closing); // written; waiting for the peer's FIN
//! lp.peer_close(id);
//! assert_eq!(lp.status(id), ConnStatus::Gone);
//! assert!(lp.state().members.is_empty(), "on_closed ran");
//! ```
//!
//! Start reading at `event_loop.rs` (one turn of the loop), then follow a byte: in through
//! `conns/read.rs` and `endpoint.rs` (the rules of a handler call), out through
//! `conns/flush.rs` and `output.rs`; `conns/lifecycle.rs` ends it. The chapter is
//! `docs/event-loop.md`; what each fast path gained is measured in `docs/benchmarks.md`.

mod alarm;
mod conns;
mod cx;
mod endpoint;
mod event_loop;
mod handler;
mod output;
mod server;
mod shared;
mod slab;
#[cfg(any(test, feature = "testing"))]
pub mod testing;
mod timers;

pub use conns::Connections;
pub use cx::Cx;
pub use handler::{ConnectionSet, Handler, LoopState, OutputKind};
pub use server::{Config, LISTEN_BACKLOG, Server, ShutdownHandle, bind, default_threads};
pub use shared::{IoTotals, LoopHandle};
pub use slab::ConnId;
