//! `sse-echo`: the hub's `POST /ch/{c}` and `GET /ch/{c}/sse` only — the smallest complete
//! Server-Sent Events server. Poke it by hand:
//!
//! ```text
//! cargo run --release --bin sse-echo -- --addr 127.0.0.1:8081 --trace
//! curl -N http://127.0.0.1:8081/ch/room/sse                 # terminal 1: watch events arrive
//! curl --data 'hello' http://127.0.0.1:8081/ch/room         # terminal 2: publish (prints the id)
//! curl -N -H 'Last-Event-ID: 0' http://127.0.0.1:8081/ch/room/sse   # replay everything retained
//! ```
//!
//! It takes the hub's guard flags: `--publish-token TOKEN` (a `POST` then needs
//! `Authorization: Bearer TOKEN`), `--allow-origin ORIGIN` (CORS for that page) and
//! `--metrics off` (no `GET /metrics`).

use talkback_server::{HubRoutes, Service, main_for};

fn main() {
    main_for(Service::Hub(HubRoutes::SSE), "sse-echo: POST /ch/{c} publishes; GET /ch/{c}/sse streams", 64 << 10);
}
