//! `http-echo`: the smallest talkback server. GET/HEAD any path → 200 `text/plain`; POST/PUT →
//! 200 echoing the body. Poke it by hand:
//!
//! ```text
//! cargo run --release --bin http-echo -- --addr 127.0.0.1:8080 --trace
//! curl -v http://127.0.0.1:8080/
//! curl -v --data-binary 'hello' http://127.0.0.1:8080/echo
//! printf 'GET / HTTP/1.1\r\nHost: x\r\n\r\nGET / HTTP/1.1\r\nHost: x\r\n\r\n' | nc 127.0.0.1 8080
//! ```

use talkback_server::{Service, main_for};

fn main() {
    main_for(
        Service::HttpEcho,
        "http-echo: GET/HEAD any path -> 200 text/plain; POST/PUT -> 200 echoing the body",
        16 << 20,
    );
}
