//! What the server's integration tests share: starting a service in-process on `127.0.0.1:0`
//! and writing the requests the hub tests send. (Each test binary uses part of it.)
#![allow(dead_code)]

use std::sync::Arc;

use talkback_harness::TestServer;
use talkback_server::hub::Hub;
use talkback_server::{HubRoutes, Options, Service, hub_for, start, start_with_hub};

/// Starts `service` with its binary's message limit and two loops, after `opts` adjusts the
/// options; no signal handling (the test process owns its signals).
pub(crate) fn spawn(service: Service, max_message: usize, opts: impl FnOnce(&mut Options)) -> TestServer {
    let mut options = Options::with_defaults(max_message);
    options.threads = 2;
    opts(&mut options);
    TestServer::spawn(move |listener| {
        let _ = start(listener, service, options, false).map(|server| server.join());
    })
}

/// The whole hub (two loops, 64 KiB messages, after `opts`) and a handle on its shared state,
/// so a test can read the hub's own figures (retained bytes, channels).
pub(crate) fn spawn_hub_with_handle(opts: impl FnOnce(&mut Options)) -> (TestServer, Arc<Hub>) {
    let mut options = Options::with_defaults(64 << 10);
    options.threads = 2;
    opts(&mut options);
    let hub = hub_for(&options);
    let handle = Arc::clone(&hub);
    let server = TestServer::spawn(move |listener| {
        let service = Service::Hub(HubRoutes::ALL);
        let _ = start_with_hub(listener, service, options, hub, false).map(|server| server.join());
    });
    (server, handle)
}

/// `http-echo` as the binary runs it (16 MiB limit).
pub(crate) fn spawn_http_echo(opts: impl FnOnce(&mut Options)) -> TestServer {
    spawn(Service::HttpEcho, 16 << 20, opts)
}

/// The whole hub, as `demo` runs it (64 KiB messages).
pub(crate) fn spawn_hub(opts: impl FnOnce(&mut Options)) -> TestServer {
    spawn(Service::Hub(HubRoutes::ALL), 64 << 10, opts)
}

/// `GET target` with a `Host`.
pub(crate) fn get(target: &str) -> Vec<u8> {
    format!("GET {target} HTTP/1.1\r\nHost: test\r\n\r\n").into_bytes()
}

/// `POST target` with a `Content-Length` body.
pub(crate) fn post(target: &str, body: &[u8]) -> Vec<u8> {
    let mut bytes =
        format!("POST {target} HTTP/1.1\r\nHost: test\r\nContent-Length: {}\r\n\r\n", body.len()).into_bytes();
    bytes.extend_from_slice(body);
    bytes
}
