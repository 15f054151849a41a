//! Load generators and peer servers for talkback's side-by-side benchmarks.
//!
//! Nothing in the workspace depends on this crate: it may use tokio, hyper and tungstenite
//! because it only ever sits on the *other* side of the socket from a talkback server.
//!
//! ```text
//!  scripts/bench-http.sh ── wrk, http-load ───▶ http-echo | nginx | hyper-hello
//!  scripts/bench-ws.sh   ── ws-load ──────────▶ ws-echo   | tungstenite-echo
//!  scripts/bench-push.sh ── push-load ────────▶ demo      | nginx + Nchan
//! ```
//!
//! | binary | role |
//! |---|---|
//! | `hyper-hello` | peer: hyper 1 HTTP/1.1 "hello" server (tokio, 2 workers, pipeline flush) |
//! | `tungstenite-echo` | peer: tokio-tungstenite echo server (2 workers) |
//! | `ws-load` | WebSocket load: latency, throughput, bandwidth, idle memory |
//! | `push-load` | SSE and long-poll fan-out, parked long-poll memory |
//! | `http-load` | HTTP/1.1 keep-alive and pipelined load that times every response (wrk's pipelined latency is not usable) |
//!
//! The modules here are the pieces the binaries share. Every load generator prints one
//! machine-readable `BENCH key=value …` line per figure (see [`report`]) and a human table.

pub mod args;
pub mod echo;
pub mod hist;
pub mod http;
pub mod net;
pub mod procfs;
pub mod push;
pub mod report;
pub mod wsframe;
