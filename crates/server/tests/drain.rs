//! The graceful drain end to end (README, "Limits": `--drain-timeout`): the hub in-process
//! with one client of each kind, drained through its shutdown handle; then the `demo` binary
//! itself, drained by SIGTERM — and stopped at once by a second one.
//!
//! ```text
//!  shutdown / SIGTERM ──▶ every loop: on_drain for each connection, listener closed
//!    WebSocket ◀── close 1001 ── client's close ──▶ TCP closed
//!    SSE       ◀── retry: 1000, EOF
//!    long-poll ◀── 503 Retry-After: 1, Connection: close, EOF
//!    HTTP mid-request ── rest of the head ──▶ ◀── answer with Connection: close, EOF
//!    new connect ── refused
//!  last connection gone ──▶ join() returns Ok / the process exits 0
//! ```
//!
//! A connection whose answer depends on the drain having begun is made so that the server has
//! read what it needs first: a request pipelined behind a quick one is read with it, so the
//! quick one's answer means the other is parked (or half-read). A refused connect means every
//! loop has closed its listener — which each does right after telling its connections.

use std::io::{BufRead, BufReader, ErrorKind};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

mod common;
use common::get;

use talkback_harness::{Client, Response};
use talkback_server::{HubRoutes, Options, Service, start};
use tungstenite::protocol::frame::coding::CloseCode;
use tungstenite::{Error as WsError, Message};

/// The longest any single wait may take.
const TIMEOUT: Duration = Duration::from_secs(5);

/// Connects until the connection is refused: every loop has closed its listener.
fn refused_within(addr: SocketAddr, limit: Duration) -> bool {
    let end = Instant::now() + limit;
    while Instant::now() < end {
        match TcpStream::connect_timeout(&addr, Duration::from_millis(200)) {
            Err(e) if e.kind() == ErrorKind::ConnectionRefused => return true,
            _ => std::thread::sleep(Duration::from_millis(10)),
        }
    }
    false
}

/// A long-poll on `channel` that the server has parked: it is pipelined behind a short poll,
/// read in the same read, so the poll's answer (204) means the long-poll is held.
fn parked_long_poll(addr: SocketAddr, channel: &str) -> Client {
    let mut client = Client::connect(addr);
    let mut both = get(&format!("/ch/{channel}/poll"));
    both.extend_from_slice(&get(&format!("/ch/{channel}/longpoll?after=0&timeout=60")));
    client.send(&both);
    assert_eq!(client.read_response().status, 204, "the poll in front");
    client
}

/// A keep-alive client mid-conversation: one request answered, the next one's head half sent
/// (in the same write, so the server has read it when the first answer arrives).
fn mid_request(addr: SocketAddr, channel: &str) -> Client {
    let mut client = Client::connect(addr);
    let mut bytes = get(&format!("/ch/{channel}/poll"));
    bytes.extend_from_slice(format!("GET /ch/{channel}/poll HTTP/1.1\r\nHost: test\r\n").as_bytes());
    client.send(&bytes);
    let first = client.read_response();
    assert_eq!((first.status, first.header("connection")), (204, None), "kept alive");
    client
}

/// The long-poll's answer to a drain: 503, come back in a second, and the connection ends.
fn assert_drained_long_poll(client: &mut Client) {
    let response: Response = client.read_response();
    assert_eq!(response.status, 503, "{response:?}");
    assert_eq!(response.header("retry-after"), Some("1"), "{response:?}");
    assert_eq!(response.header("connection"), Some("close"), "{response:?}");
    assert_eq!(client.expect_close(), b"", "EOF after the 503");
}

#[test]
fn a_drain_says_goodbye_to_every_kind_refuses_new_connections_and_returns() {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let addr = listener.local_addr().expect("addr");
    let mut options = Options::with_defaults(64 << 10);
    options.threads = 2;
    options.drain_timeout = Duration::from_secs(10);
    let server = start(listener, Service::Hub(HubRoutes::ALL), options, false).expect("start");
    let handle = server.shutdown_handle();

    let stream = TcpStream::connect(addr).expect("connect");
    stream.set_read_timeout(Some(TIMEOUT)).expect("timeout");
    let (mut ws, response) = tungstenite::client::client(format!("ws://{addr}/ch/room/ws"), stream).expect("upgrade");
    assert_eq!(response.status(), 101);
    let mut sse = Client::connect(addr);
    sse.send(&get("/ch/room/sse"));
    assert!(String::from_utf8_lossy(&sse.read_until(b"\r\n\r\n")).contains("text/event-stream"));
    let mut long_poll = parked_long_poll(addr, "room");
    let mut http = mid_request(addr, "room");

    let (done, joined) = mpsc::channel();
    std::thread::spawn(move || {
        let _ = done.send(server.join());
    });
    let asked = Instant::now();
    handle.shutdown();
    assert!(refused_within(addr, TIMEOUT), "a new connect is refused once every loop is draining");

    match ws.read() {
        Ok(Message::Close(Some(frame))) => {
            assert_eq!((frame.code, frame.reason.as_str()), (CloseCode::Away, "going away"), "RFC 6455 §7.4.1")
        }
        other => panic!("expected close 1001, got {other:?}"),
    }
    match ws.read() {
        Err(WsError::ConnectionClosed) => {} // tungstenite answered our close; the hub closed TCP
        other => panic!("expected the hub to close TCP after the handshake, got {other:?}"),
    }
    let events = sse.expect_close();
    assert_eq!(events, b"retry: 1000\n\n", "the stream's last words, then EOF");
    assert_drained_long_poll(&mut long_poll);
    http.send(b"\r\n"); // the rest of the request in flight
    let answer = http.read_response();
    assert_eq!((answer.status, answer.header("connection")), (204, Some("close")), "{answer:?}");
    assert_eq!(http.expect_close(), b"");

    drop((ws, sse, long_poll, http));
    let result = joined.recv_timeout(TIMEOUT).expect("join returned once every connection was gone");
    assert!(result.is_ok(), "{result:?}");
    let took = asked.elapsed();
    assert!(took < Duration::from_secs(4), "the drain took {took:?} of its 10 s: it waited for nothing");
}

// ─── the demo binary and its signals ────────────────────────────────────────────────────────

/// The `demo` binary, killed (by its own pid) if a test fails while it runs.
struct Demo {
    child: Child,
    addr: SocketAddr,
}

impl Demo {
    /// Starts `demo` on a free port with `args`, and reads the address it printed.
    fn start(args: &[&str]) -> Demo {
        let mut child = Command::new(env!("CARGO_BIN_EXE_demo"))
            .args(["--addr", "127.0.0.1:0", "--threads", "2"])
            .args(args)
            .stdout(Stdio::piped())
            .spawn()
            .expect("start demo");
        let mut line = String::new();
        let stdout = child.stdout.take().expect("stdout");
        BufReader::new(stdout).read_line(&mut line).expect("the first line");
        let addr = line.trim().strip_prefix("listening on http://").and_then(|a| a.parse().ok());
        let addr = addr.unwrap_or_else(|| panic!("expected `listening on http://ADDR`, got {line:?}"));
        Demo { child, addr }
    }

    /// Sends `signal` (`-TERM`, `-INT`) to the process.
    fn signal(&self, signal: &str) {
        let status = Command::new("kill").args([signal, &self.child.id().to_string()]).status().expect("run kill");
        assert!(status.success(), "kill {signal}: {status}");
    }

    /// Its exit status, if it exits within `limit`.
    fn exited_within(&mut self, limit: Duration) -> Option<ExitStatus> {
        let end = Instant::now() + limit;
        loop {
            if let Some(status) = self.child.try_wait().expect("try_wait") {
                return Some(status);
            }
            if Instant::now() >= end {
                return None;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
    }
}

impl Drop for Demo {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

#[test]
fn sigterm_drains_the_demo_binary_a_parked_long_poll_gets_503_and_it_exits_0() {
    let mut demo = Demo::start(&[]);
    let mut long_poll = parked_long_poll(demo.addr, "bye");
    let signalled = Instant::now();
    demo.signal("-TERM");
    assert_drained_long_poll(&mut long_poll);
    drop(long_poll);
    let status = demo.exited_within(TIMEOUT).expect("demo exited after its drain");
    assert_eq!(status.code(), Some(0), "{status}");
    assert!(signalled.elapsed() < Duration::from_secs(4), "took {:?} of the 5 s drain", signalled.elapsed());
}

#[test]
fn a_second_signal_during_a_drain_exits_at_once() {
    let mut demo = Demo::start(&["--drain-timeout", "60", "--head-timeout", "60"]);
    // A request that never completes holds the drain for its whole 60 s.
    let held = mid_request(demo.addr, "stuck");
    demo.signal("-TERM");
    assert!(refused_within(demo.addr, TIMEOUT), "draining: no longer accepting");
    assert!(demo.exited_within(Duration::from_millis(200)).is_none(), "still draining, for the request in flight");
    let again = Instant::now();
    demo.signal("-TERM");
    let status = demo.exited_within(TIMEOUT).expect("exited on the second signal");
    assert!(again.elapsed() < Duration::from_secs(1), "took {:?}", again.elapsed());
    assert_eq!(status.code(), Some(128 + 15), "128 + SIGTERM, as a shell reports it: {status}");
    drop(held);
}
