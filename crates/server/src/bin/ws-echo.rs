//! `ws-echo`: a WebSocket on any path that echoes each message (text or binary) to its sender;
//! a plain GET gets 426 Upgrade Required. Poke it by hand:
//!
//! ```text
//! cargo run --release --bin ws-echo -- --addr 127.0.0.1:9002 --trace
//! websocat ws://127.0.0.1:9002/            # type lines, see them echoed
//! cargo run --release --bin ws-client -- ws://127.0.0.1:9002/
//! // in a browser console:
//! let s = new WebSocket("ws://127.0.0.1:9002/"); s.onmessage = e => console.log(e.data); s.onopen = () => s.send("hi");
//! ```
//!
//! `--allow-origin ORIGIN` (repeatable, `*`) refuses handshakes from other `Origin`s with 403;
//! without it every Origin is accepted (it echoes only, so `--publish-token` does not apply).

use talkback_server::{Service, main_for};

fn main() {
    main_for(Service::WsEcho, "ws-echo: a WebSocket echo on any path (RFC 6455)", 16 << 20);
}
