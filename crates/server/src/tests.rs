//! Handler-level tests: the server's connections driven without sockets, on the reactor's
//! test loop and its virtual clock — no sleeps, deterministic, milliseconds to run. Timing
//! rules (SSE heartbeats, long-poll holds, WebSocket ping/pong, held `POST`s, HTTP timeouts)
//! and each kind's answer to a drain are checked here; the end-to-end tests in `tests/` check
//! the same server through sockets.

mod budget;
mod cluster;
mod deflate;
mod drain;
mod held;
mod http;
mod longpoll;
mod metrics;
mod sse;
mod websocket;

use std::sync::Arc;
use std::time::Duration;

use talkback_reactor::ConnId;
use talkback_reactor::testing::TestLoop;

use crate::hub::{LocalHub, Mailbox};
use crate::observe::Observer;
use crate::stats::Stats;
use crate::{Conn, HubRoutes, LoopCtx, Options, Service};

/// One loop of `service` on the test loop, after `opts` adjusts the binary's defaults.
fn test_loop(service: Service, max_message: usize, opts: impl FnOnce(&mut Options)) -> TestLoop<Conn> {
    let mut options = Options::with_defaults(max_message);
    options.threads = 1;
    opts(&mut options);
    let hub = crate::hub_for(&options);
    TestLoop::new(move |handle| {
        let local = LocalHub::new(hub, 0, vec![Box::new(handle.clone()) as Box<dyn Mailbox>]);
        let observer = Observer::new(None, Arc::new(Stats::default()), service.counts_page_requests());
        let mut ctx = LoopCtx::new(service, Arc::new(options), local, observer);
        ctx.loops = vec![handle];
        ctx
    })
}

/// The whole hub as `demo` runs it (64 KiB messages, pings every 30 s).
fn hub(opts: impl FnOnce(&mut Options)) -> TestLoop<Conn> {
    test_loop(Service::Hub(HubRoutes::ALL), 64 << 10, |o| {
        o.ping_interval = Some(Duration::from_secs(30));
        opts(o);
    })
}

/// `GET target`.
fn get(target: &str) -> Vec<u8> {
    format!("GET {target} HTTP/1.1\r\nHost: t\r\n\r\n").into_bytes()
}

/// `POST target` with `body`.
fn post(target: &str, body: &str) -> Vec<u8> {
    format!("POST {target} HTTP/1.1\r\nHost: t\r\nContent-Length: {}\r\n\r\n{body}", body.len()).into_bytes()
}

/// Output as text, for assertions.
fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// The status code of the first response in `bytes`.
fn status(bytes: &[u8]) -> u16 {
    let line = text(bytes);
    line.get(9..12).and_then(|code| code.parse().ok()).unwrap_or_else(|| panic!("no status line in {line:?}"))
}

/// The body of a single `Content-Length` response.
fn body(bytes: &[u8]) -> String {
    let all = text(bytes);
    all.split_once("\r\n\r\n").map(|(_, body)| body.to_string()).unwrap_or_default()
}

/// Publishes `message` on `channel` from a connection of its own, delivers it to the loop,
/// and returns the id the `POST` was answered with.
fn publish(lp: &mut TestLoop<Conn>, channel: &str, message: &str) -> u64 {
    let publisher = lp.connect();
    lp.send(publisher, &post(&format!("/ch/{channel}"), message));
    lp.deliver_inbox();
    let answer = lp.take_output(publisher);
    assert_eq!(status(&answer), 200, "{}", text(&answer));
    body(&answer).parse().expect("an id")
}

/// A connection that sent `request` and whose answer (head and anything after) was taken.
fn open(lp: &mut TestLoop<Conn>, request: &[u8]) -> (ConnId, Vec<u8>) {
    let id = lp.connect();
    lp.send(id, request);
    let out = lp.take_output(id);
    (id, out)
}
