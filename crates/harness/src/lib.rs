//! talkback-harness: what every talkback test needs — a server on `127.0.0.1:0` in a background
//! thread, a raw TCP client with timeouts, a strict HTTP/1.1 response reader, and the RFCs' own
//! example bytes as named constants.
//!
//! ```no_run
//! use talkback_harness::{Client, TestServer};
//! # fn run_my_server(_l: std::net::TcpListener) {}
//! let server = TestServer::spawn(|listener| run_my_server(listener));
//! let mut client = Client::connect(server.addr());
//! client.send(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n");
//! let response = client.read_response();
//! assert_eq!(response.status, 200);
//! ```
//!
//! Every read has a timeout (default 5 s), so a server that hangs fails the test instead of
//! hanging it. Nothing here uses a fixed port.

mod client;
mod redis;
mod response;
pub mod vectors;

pub use client::{Client, DEFAULT_TIMEOUT};
pub use redis::RedisServer;
pub use response::{Response, parse_response};

use std::net::{SocketAddr, TcpListener};

/// A server started on `127.0.0.1:0` in a background thread. The thread lives as long as the
/// test process (servers under test are cheap when idle); [`TestServer::addr`] is where it
/// listens.
#[derive(Debug)]
pub struct TestServer {
    addr: SocketAddr,
}

impl TestServer {
    /// Binds `127.0.0.1:0`, then runs `serve(listener)` on a new thread. `serve` may block for
    /// ever (a reactor's `join`) or return after starting its own threads.
    pub fn spawn<F>(serve: F) -> TestServer
    where
        F: FnOnce(TcpListener) + Send + 'static,
    {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0");
        let addr = listener.local_addr().expect("local_addr");
        std::thread::Builder::new()
            .name(format!("test-server-{}", addr.port()))
            .spawn(move || serve(listener))
            .expect("spawn the server thread");
        TestServer { addr }
    }

    /// Where the server listens.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// A new raw client connected to the server.
    pub fn client(&self) -> Client {
        Client::connect(self.addr)
    }
}
