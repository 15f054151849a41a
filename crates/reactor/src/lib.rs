//! talkback-reactor: the mio event loop — the only crate in talkback that touches sockets.
//!
//! It accepts connections, reads their bytes into a scratch buffer, hands the bytes to a
//! per-connection [`Handler`], writes what the handler queued (vectored, shared broadcast bytes
//! never copied), runs one deadline per connection, and lets other threads send messages to a
//! loop through a [`LoopHandle`] (a queue plus mio's `Waker`). It knows no protocol.
//!
//! ```text
//!   kernel                         loop (one per thread)                      handler
//!   ──────                         ─────────────────────                      ───────
//!   SYN ──accept──▶ least-loaded loop ▶ slab.insert ───────── LoopState::accept ──▶ H
//!   bytes ──readable──────────────▶ read → scratch ─────────── on_input(bytes) ──▶ consumed
//!                                  (or → the handler's buffer ── direct_input / on_direct_input)
//!                                  keep unconsumed tail ◀── (only while partial)
//!                                  out queue ◀──────────── cx.write / write_shared
//!   ◀──────────── writev ───────── flush until WouldBlock (WRITABLE interest only then)
//!   timer heap ───────────────────▶ deadline due ────────────── on_deadline ──────▶
//!   other thread ── send(msg) + wake ▶ inbox ────────── LoopState::on_message ────▶ conns.with(id)
//!   FIN ──read()==0───────────────▶ ─────────────────────── on_peer_closed ───────▶
//! ```
//!
//! | module | what it owns |
//! |---|---|
//! | `server` | threads, [`Config`], [`LoopHandle`], each loop's seat (load, hand-offs), shutdown |
//! | `event_loop` | one `mio::Poll`: accept (EMFILE back-off, hand-off to the least-loaded loop), wake-ups, signals, busy-polling |
//! | `conns` | the slab: read, call the handler, flush, pause, close, linger, timers |
//! | `output` | the output queue (owned + shared chunks), vectored writes, buffer pool |
//! | `timers` | the deadline heap with lazy deletion |
//! | `handler` | the [`Handler`] and [`LoopState`] traits and the [`Cx`] context |
//!
//! A connection's life (`conns::Phase`):
//!
//! ```text
//!   Open ──cx.close()──▶ Flushing ──output written──▶ Lingering ──peer FIN / 2 s──▶ (removed)
//!     │                                                 ▲
//!     └──cx.abort(), read/write error, reset ───────────┴──────────────────────────▶ (removed)
//! ```
//!
//! Contract: `on_input` may be called many times per readiness event (once per read); the
//! handler queues output with [`Cx::write`]/[`Cx::with_output`]/[`Cx::write_shared`]. What it
//! answers to its own input is written with one `writev` right after that connection's reads
//! (the answers to a pipelined batch leave together, while their bytes are still in the
//! cache). Output given from elsewhere — broadcasts through [`Connections::with`], timers — is
//! written at the end of the turn, at most `FLUSH_SLICE` (64) connections per turn, so a
//! fan-out to thousands never keeps the loop from reading; several broadcasts queued before a
//! connection's turn comes leave in one `writev`.
//! A connection whose queue passes [`Config::output_cap`] is not read until the queue drains
//! to half the cap (backpressure); a handler that would rather drop such a slow consumer
//! checks [`Cx::over_output_cap`] and calls [`Cx::abort`].
//!
//! Memory: an idle connection holds its socket, its handler, an empty output queue and no read
//! buffer (the loop lends a 256 KiB scratch buffer to every read).
//!
//! Start reading at `event_loop.rs` (one turn of the loop), then `conns.rs`; the chapter is
//! `docs/event-loop.md`.

mod conns;
mod event_loop;
mod handler;
mod output;
mod server;
mod timers;

pub use conns::Connections;
pub use handler::{ConnId, Cx, Handler, LoopState};
pub use server::{Config, LISTEN_BACKLOG, LoopHandle, Server, ShutdownHandle, bind};
