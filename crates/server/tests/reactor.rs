//! The reactor's promises, checked from outside through `http-echo`: backpressure bounds what a
//! connection that does not read can make the server hold, many connections are served at once,
//! deadlines move with activity, and `stop_now` closes everything and returns (a drain is
//! `tests/drain.rs`).

use std::io::Write;
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

mod common;
use common::spawn_http_echo;

use talkback_harness::Client;
use talkback_server::{Options, Service, start};

const HELLO: &str = "Hello from talkback\n";
const GET: &[u8] = b"GET / HTTP/1.1\r\nHost: a\r\n\r\n";

/// The body of the `i`th large request: its index, then filler that differs per request, so a
/// response that is out of order, truncated or spliced shows.
fn large_body(i: usize, size: usize) -> Vec<u8> {
    let mut body = format!("request {i:04};").into_bytes();
    body.resize(size, b'a' + (i % 26) as u8);
    body
}

fn large_post_head(i: usize, size: usize) -> String {
    format!("POST /{i} HTTP/1.1\r\nHost: a\r\nContent-Length: {size}\r\n\r\n")
}

fn large_post(i: usize, size: usize) -> Vec<u8> {
    let mut request = large_post_head(i, size).into_bytes();
    request.extend_from_slice(&large_body(i, size));
    request
}

/// Waits until `counter` has not moved for `quiet`, or `limit` passes; returns its value.
fn settle(counter: &AtomicUsize, quiet: Duration, limit: Duration) -> usize {
    let start = Instant::now();
    let mut last = counter.load(Ordering::Acquire);
    let mut still_since = Instant::now();
    while start.elapsed() < limit {
        std::thread::sleep(Duration::from_millis(20));
        let now = counter.load(Ordering::Acquire);
        if now != last {
            (last, still_since) = (now, Instant::now());
        } else if still_since.elapsed() >= quiet {
            break;
        }
    }
    last
}

/// README, "Limits" ("output queue per connection: stop reading it"): a client that pipelines large
/// POSTs and never reads makes the server queue responses up to `output_cap`, then stop reading
/// that connection. Its writes stall (the kernel buffers fill, the server holds no more), the
/// loop keeps serving another client promptly, and once the client reads, every response
/// arrives complete and in order.
#[test]
fn backpressure_stops_reading_a_client_that_does_not_read() {
    const COUNT: usize = 256;
    const SIZE: usize = 256 * 1024;
    let server = spawn_http_echo(|options| {
        options.threads = 1; // the other client shares the loop: a stall would show
        options.output_cap = 64 * 1024;
    });
    let mut greedy = server.client();
    let mut writer = greedy.stream().try_clone().expect("clone the stream");
    let sent = Arc::new(AtomicUsize::new(0));
    let sent_by_writer = Arc::clone(&sent);
    let writing = std::thread::spawn(move || {
        for i in 0..COUNT {
            for piece in large_post(i, SIZE).chunks(64 * 1024) {
                writer.write_all(piece).expect("write a request");
                sent_by_writer.fetch_add(piece.len(), Ordering::AcqRel);
            }
        }
    });

    let total: usize = (0..COUNT).map(|i| large_post_head(i, SIZE).len() + SIZE).sum();
    let stalled_at = settle(&sent, Duration::from_millis(300), Duration::from_secs(5));
    assert!(stalled_at < total, "the writer was never held back");
    // Where the bytes the writer got through are now: in the kernel (our send queue, the
    // server's receive queue; the responses in the server's send queue and our receive queue)
    // or inside the server. What is inside the server is bounded by the output cap plus about
    // one request and one response in flight — not by what the client sends.
    let ports = (greedy.stream().local_addr().expect("local addr").port(), server.addr().port());
    if let (Some((our_tx, our_rx)), Some((their_tx, their_rx))) =
        (kernel_queues(ports.0, ports.1), kernel_queues(ports.1, ports.0))
    {
        assert!(their_rx > 0, "the server's receive queue is empty: it is still reading");
        let held = stalled_at.saturating_sub(our_tx + their_rx + their_tx + our_rx);
        assert!(
            held < 1024 * 1024,
            "the server holds ~{held} bytes for a client that does not read (cap 64 KiB, {stalled_at} sent, \
             queues: ours {our_tx}/{our_rx}, server's {their_tx}/{their_rx})"
        );
    }

    let mut other = server.client();
    for _ in 0..10 {
        let started = Instant::now();
        let response = other.request(GET);
        assert_eq!((response.status, response.text()), (200, HELLO));
        assert!(started.elapsed() < Duration::from_millis(500), "answered after {:?}", started.elapsed());
    }

    greedy.set_timeout(Duration::from_secs(10));
    for i in 0..COUNT {
        let response = greedy.read_response();
        assert_eq!(response.status, 200, "response {i}");
        assert!(response.body == large_body(i, SIZE), "response {i} is not the echo of request {i}");
    }
    writing.join().expect("the writer finished");
    assert!(greedy.is_open_after(Duration::from_millis(100)));
    assert!(greedy.take_buffered().is_empty(), "bytes after the last response");
}

/// Backpressure and half-close together: a client pipelines more than the output cap, closes
/// its sending side while the server is not reading it, then reads. The FIN waits in the
/// kernel behind unread requests; every request must still be answered, and then the server
/// must notice the FIN and close (RFC 9112 §9.6) instead of waiting for the idle timeout.
#[test]
fn half_close_behind_backpressure_is_answered_then_closed() {
    const COUNT: usize = 32;
    const SIZE: usize = 256 * 1024;
    let server = spawn_http_echo(|options| {
        options.threads = 1;
        options.output_cap = 64 * 1024;
    });
    let mut client = server.client();
    let mut writer = client.stream().try_clone().expect("clone the stream");
    let writing = std::thread::spawn(move || {
        for i in 0..COUNT {
            writer.write_all(&large_post(i, SIZE)).expect("write a request");
        }
        writer.shutdown(std::net::Shutdown::Write).expect("half-close");
    });
    std::thread::sleep(Duration::from_millis(300)); // let the server fill its queue and pause
    for i in 0..COUNT {
        let response = client.read_response();
        assert!(response.status == 200 && response.body == large_body(i, SIZE), "response {i}");
    }
    writing.join().expect("the writer finished");
    client.set_timeout(Duration::from_secs(3));
    assert_eq!(client.expect_close(), b"", "the server must close after answering a half-closed client");
}

/// Partial writes: a response far larger than one socket buffer, read slowly, arrives intact
/// (the loop waits for WRITABLE and resumes where the last write stopped).
#[test]
fn large_response_to_a_slow_reader_arrives_intact() {
    let server = spawn_http_echo(|options| options.http.max_body = 8 << 20);
    let mut client = server.client();
    let body = large_body(7, 6 << 20);
    let mut request = format!("PUT / HTTP/1.1\r\nHost: a\r\nContent-Length: {}\r\n\r\n", body.len()).into_bytes();
    request.extend_from_slice(&body);
    let mut writer = client.stream().try_clone().expect("clone the stream");
    let writing = std::thread::spawn(move || writer.write_all(&request).expect("write the request"));
    std::thread::sleep(Duration::from_millis(200));
    let head = client.read_until(b"\r\n\r\n");
    assert!(head.starts_with(b"HTTP/1.1 200 OK\r\n"), "{}", String::from_utf8_lossy(&head));
    let mut got = Vec::with_capacity(body.len());
    while got.len() < body.len() {
        let n = (body.len() - got.len()).min(512 * 1024);
        got.extend_from_slice(&client.read_exact(n));
        std::thread::sleep(Duration::from_millis(5));
    }
    assert!(got == body, "the echo differs from the body sent");
    writing.join().expect("the writer finished");
}

/// Many connections opened at once are all accepted and answered (the listener is drained until
/// WouldBlock on each readiness event, on both loops).
#[test]
fn many_connections_at_once_each_get_an_answer() {
    const CONNECTIONS: usize = 500;
    let server = spawn_http_echo(|_| {});
    let addr = server.addr();
    let openers: Vec<_> = (0..4)
        .map(|_| std::thread::spawn(move || (0..CONNECTIONS / 4).map(|_| Client::connect(addr)).collect::<Vec<_>>()))
        .collect();
    let mut clients: Vec<Client> = openers.into_iter().flat_map(|t| t.join().expect("connect")).collect();
    assert_eq!(clients.len(), CONNECTIONS);
    for (i, client) in clients.iter_mut().enumerate() {
        client.send(format!("POST /{i} HTTP/1.1\r\nHost: a\r\nContent-Length: 4\r\n\r\n{i:04}").as_bytes());
    }
    for (i, client) in clients.iter_mut().enumerate() {
        let response = client.read_response();
        assert_eq!((response.status, response.text()), (200, format!("{i:04}").as_str()), "connection {i}");
    }
    for client in &mut clients {
        assert_eq!(client.request(GET).text(), HELLO);
    }
}

/// Timers: every request pushes the keep-alive deadline later, so a connection used more often
/// than `keepalive_timeout` lives longer than it; once it goes quiet it is closed.
#[test]
fn keepalive_deadline_moves_later_with_each_request() {
    // Margins are wide (a request every 0.6 s against a 2 s timeout) so a loaded machine does
    // not make it flaky; the connection still outlives the timeout by far.
    let server = spawn_http_echo(|options| options.keepalive_timeout = Duration::from_secs(2));
    let mut client = server.client();
    let started = Instant::now();
    for _ in 0..5 {
        assert_eq!(client.request(GET).text(), HELLO);
        std::thread::sleep(Duration::from_millis(600));
    }
    assert!(started.elapsed() > Duration::from_secs(3), "outlived the timeout by half");
    assert_eq!(client.request(GET).text(), HELLO);
    let quiet = Instant::now();
    assert_eq!(client.expect_close(), b"");
    assert!(quiet.elapsed() >= Duration::from_millis(1900), "closed after {:?} idle", quiet.elapsed());
}

/// Stopping at once: `stop_now()` from another thread makes `join()` return `Ok` promptly;
/// every open connection — idle, mid-request or just served — is closed, and the port stops
/// accepting.
#[test]
fn stop_now_closes_connections_and_join_returns() {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let addr: SocketAddr = listener.local_addr().expect("addr");
    let mut options = Options::with_defaults(16 << 20);
    options.threads = 2;
    let server = start(listener, Service::HttpEcho, options, false).expect("start");
    let handle = server.shutdown_handle();

    let mut served = Client::connect(addr);
    assert_eq!(served.request(GET).text(), HELLO);
    let mut partial = Client::connect(addr);
    partial.send(b"GET / HTTP/1.1\r\nHo");
    let mut idle = Client::connect(addr);
    assert!(idle.is_open_after(Duration::from_millis(50)));

    // `join` runs on its own thread so that a server that never stops fails the test instead
    // of hanging it.
    let (done, joined) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let _ = done.send(server.join());
    });
    std::thread::sleep(Duration::from_millis(50));
    let asked = Instant::now();
    handle.stop_now();
    let result = joined.recv_timeout(Duration::from_secs(2)).expect("join did not return within 2 s of stop_now");
    let took = asked.elapsed();
    assert!(result.is_ok(), "join returned {result:?}");
    assert!(took < Duration::from_secs(1), "join took {took:?} after stop_now");

    for (name, client) in [("served", &mut served), ("partial", &mut partial), ("idle", &mut idle)] {
        client.set_timeout(Duration::from_secs(1));
        assert_eq!(client.expect_close(), b"", "{name} connection");
    }
    assert!(TcpStream::connect_timeout(&addr, Duration::from_secs(1)).is_err(), "still accepting after stop_now");
}

/// The kernel's send and receive queues (bytes) of the loopback TCP socket `local` → `remote`,
/// read from `/proc/net/tcp` (Linux).
fn kernel_queues(local: u16, remote: u16) -> Option<(usize, usize)> {
    let table = std::fs::read_to_string("/proc/net/tcp").ok()?;
    let want = (format!("0100007F:{local:04X}"), format!("0100007F:{remote:04X}"));
    table.lines().skip(1).find_map(|line| {
        let fields: Vec<&str> = line.split_whitespace().collect();
        if fields.len() < 5 || (fields[1], fields[2]) != (want.0.as_str(), want.1.as_str()) {
            return None;
        }
        let (tx, rx) = fields[4].split_once(':')?;
        Some((usize::from_str_radix(tx, 16).ok()?, usize::from_str_radix(rx, 16).ok()?))
    })
}

/// A client that sends `Connection: close` and its FIN together: the server reads the request,
/// starts closing, then reads EOF while its answer is still queued. It must finish the answer
/// and close — not spin on the EOF (a regression: the read loop once kept reading 0 bytes for
/// ever on a connection that was already closing, hanging its whole loop).
#[test]
fn eof_while_closing_finishes_the_answer_and_leaves_the_loop_free() {
    let server = spawn_http_echo(|o| o.threads = 1);
    for _ in 0..20 {
        let mut client = server.client();
        client.send(b"GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
        client.shutdown_write();
        let rest = client.expect_close();
        let text = String::from_utf8_lossy(&rest);
        assert!(text.starts_with("HTTP/1.1 200 OK\r\n"), "{text:?}");
        assert!(text.ends_with("Hello from talkback\n"), "{text:?}");
    }
    // The loop is still serving: another client gets its answer promptly.
    let mut other = server.client();
    other.set_timeout(Duration::from_secs(2));
    let response = other.request(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n");
    assert_eq!(response.status, 200);
}
