//! `longpoll-echo`: the hub's `POST /ch/{c}`, `GET /ch/{c}/poll` and `GET /ch/{c}/longpoll`
//! only — short polling and long polling side by side. Poke it by hand:
//!
//! ```text
//! cargo run --release --bin longpoll-echo -- --addr 127.0.0.1:8082 --trace
//! curl -i 'http://127.0.0.1:8082/ch/room/longpoll?after=0&timeout=20'   # terminal 1: held...
//! curl --data 'hello' http://127.0.0.1:8082/ch/room                    # terminal 2: ...released
//! curl -i 'http://127.0.0.1:8082/ch/room/poll?after=0'                  # short poll: at once
//! ```
//!
//! It takes the hub's guard flags: `--publish-token TOKEN` (a `POST` then needs
//! `Authorization: Bearer TOKEN`), `--allow-origin ORIGIN` (CORS for that page) and
//! `--metrics off` (no `GET /metrics`).

use talkback_server::{HubRoutes, Service, main_for};

fn main() {
    main_for(
        Service::Hub(HubRoutes::LONGPOLL),
        "longpoll-echo: POST /ch/{c} publishes; GET /ch/{c}/poll and /ch/{c}/longpoll read",
        64 << 10,
    );
}
