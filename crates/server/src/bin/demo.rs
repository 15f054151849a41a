//! `demo`: the whole hub — short polling, long polling, Server-Sent Events and WebSockets on
//! one channel, one port — plus the browser page at `/`.
//!
//! ```text
//! cargo run --release --bin demo            # then open http://127.0.0.1:8080/
//! curl --data 'hello' http://127.0.0.1:8080/ch/room
//! curl -N http://127.0.0.1:8080/ch/room/sse
//! curl -i 'http://127.0.0.1:8080/ch/room/longpoll?after=1'
//! websocat ws://127.0.0.1:8080/ch/room/ws
//! ```
//!
//! Guarded: `--publish-token TOKEN` (publishers show it: `Authorization: Bearer TOKEN`, or a
//! WebSocket's `?token=`), `--allow-origin ORIGIN` (WebSockets from that page only, and CORS
//! for it); `GET /metrics` for Prometheus (`--metrics off` removes it).

use talkback_server::{HubRoutes, Service, main_for};

fn main() {
    main_for(
        Service::Hub(HubRoutes::ALL),
        "demo: the channel hub with all four techniques and the page at /",
        64 << 10,
    );
}
