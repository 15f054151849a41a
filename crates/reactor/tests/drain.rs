//! Draining, through the public API on `127.0.0.1:0` with a tiny echo handler: a drain asks
//! every connection once to finish, closes the listener (new connects are refused), and
//! returns when the last connection is gone — or, at the latest, when the drain deadline
//! passes; `stop_now` does not wait at all.

use std::io::{ErrorKind, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use talkback_reactor::{Config, ConnectionSet, Cx, Handler, LoopState, Server, bind};

/// The longest any single wait may take.
const TIMEOUT: Duration = Duration::from_secs(5);

/// Echoes every byte; asked to drain, says `bye` and closes — unless it is `Stubborn`.
enum Echo {
    Polite,
    Stubborn,
}

/// One loop's state: counts the `on_drain` calls of every loop.
struct Drains {
    asked: Arc<AtomicUsize>,
    stubborn: bool,
}

impl Handler for Echo {
    type State = Drains;

    fn on_input(&mut self, input: &[u8], cx: &mut Cx<'_>, _state: &mut Drains) -> usize {
        cx.write(input);
        input.len()
    }

    fn on_deadline(&mut self, _cx: &mut Cx<'_>, _state: &mut Drains) {}

    fn on_drain(&mut self, cx: &mut Cx<'_>, state: &mut Drains) {
        state.asked.fetch_add(1, Ordering::SeqCst);
        if let Echo::Polite = self {
            cx.write(b"bye\n");
            cx.close();
        }
    }
}

impl LoopState<Echo> for Drains {
    type Message = ();

    fn accept(&mut self, _cx: &mut Cx<'_>) -> Echo {
        if self.stubborn { Echo::Stubborn } else { Echo::Polite }
    }

    fn on_message(&mut self, _message: (), _conns: &mut impl ConnectionSet<Echo>) {}
}

/// A server of two loops whose handlers are stubborn or not; with its `on_drain` count.
fn start(stubborn: bool, drain_timeout: Duration) -> (Server, Arc<AtomicUsize>) {
    let asked = Arc::new(AtomicUsize::new(0));
    let listener = bind(SocketAddr::from(([127, 0, 0, 1], 0))).expect("bind");
    let config = Config { threads: 2, drain_timeout, ..Config::default() };
    let count = Arc::clone(&asked);
    let server = Server::start::<Echo, _>(listener, config, move |_, _| Drains { asked: Arc::clone(&count), stubborn })
        .expect("start");
    (server, asked)
}

/// A client that has had one echo back (so its loop holds it).
fn connected(addr: SocketAddr) -> TcpStream {
    let mut stream = TcpStream::connect(addr).expect("connect");
    stream.set_read_timeout(Some(TIMEOUT)).expect("timeout");
    stream.write_all(b"ping").expect("write");
    let mut back = [0u8; 4];
    stream.read_exact(&mut back).expect("the echo");
    stream
}

/// Everything until the server closes (EOF or reset).
fn until_closed(stream: &mut TcpStream) -> Vec<u8> {
    let mut got = Vec::new();
    let mut chunk = [0u8; 256];
    loop {
        match stream.read(&mut chunk) {
            Ok(0) => return got,
            Ok(n) => got.extend_from_slice(&chunk[..n]),
            Err(e) if e.kind() == ErrorKind::ConnectionReset => return got,
            Err(e) => panic!("waiting for the close: {e}; got {got:?}"),
        }
    }
}

/// `join` on a thread of its own, so a server that never returns fails the test.
fn join_in_background(server: Server) -> mpsc::Receiver<std::io::Result<()>> {
    let (done, joined) = mpsc::channel();
    std::thread::spawn(move || {
        let _ = done.send(server.join());
    });
    joined
}

/// Connects until the connection is refused (every loop has closed its listener).
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

#[test]
fn a_drain_asks_every_connection_once_refuses_new_ones_and_returns_when_they_are_gone() {
    let (server, asked) = start(false, Duration::from_secs(30));
    let addr = server.local_addr();
    let mut clients: Vec<TcpStream> = (0..6).map(|_| connected(addr)).collect();
    let handle = server.shutdown_handle();
    let joined = join_in_background(server);
    handle.shutdown();
    for client in &mut clients {
        assert_eq!(until_closed(client), b"bye\n", "told, then closed");
    }
    // The clients have not closed their ends: the loops wait for them (lingering), and
    // accept nobody meanwhile.
    assert!(refused_within(addr, TIMEOUT), "still accepting while draining");
    assert!(joined.recv_timeout(Duration::from_millis(200)).is_err(), "returned before its connections were gone");
    assert_eq!(asked.load(Ordering::SeqCst), 6, "on_drain once per connection");
    let gone = Instant::now();
    drop(clients);
    let result = joined.recv_timeout(TIMEOUT).expect("join returned once the connections were gone");
    assert!(result.is_ok(), "{result:?}");
    assert!(gone.elapsed() < Duration::from_secs(2), "waited {:?}: the last close ends the drain", gone.elapsed());
}

#[test]
fn the_drain_deadline_closes_the_connections_that_are_left() {
    let (server, asked) = start(true, Duration::from_millis(300));
    let mut client = connected(server.local_addr());
    let handle = server.shutdown_handle();
    let joined = join_in_background(server);
    let asked_at = Instant::now();
    handle.shutdown();
    assert_eq!(until_closed(&mut client), b"", "closed at the deadline, with nothing said");
    let result = joined.recv_timeout(TIMEOUT).expect("join returned at the deadline");
    let took = asked_at.elapsed();
    assert!(result.is_ok(), "{result:?}");
    assert!(took >= Duration::from_millis(300) && took < Duration::from_secs(2), "took {took:?}");
    assert_eq!(asked.load(Ordering::SeqCst), 1);
}

#[test]
fn stop_now_ends_a_drain_at_once() {
    let (server, _asked) = start(true, Duration::from_secs(30));
    let mut client = connected(server.local_addr());
    let handle = server.shutdown_handle();
    let joined = join_in_background(server);
    handle.shutdown();
    assert!(joined.recv_timeout(Duration::from_millis(200)).is_err(), "a stubborn connection holds the drain");
    let stopped = Instant::now();
    handle.stop_now();
    let result = joined.recv_timeout(TIMEOUT).expect("join returned after stop_now");
    assert!(result.is_ok(), "{result:?}");
    assert!(stopped.elapsed() < Duration::from_secs(1), "stop_now took {:?}", stopped.elapsed());
    assert_eq!(until_closed(&mut client), b"");
}
