//! Outbound connections through the public API on `127.0.0.1`: a loop connects out without
//! blocking, hears of a refused connect, retries on its own timer, talks to the peer once
//! connected — and its own connection neither counts toward `max_connections` nor keeps a
//! drain from finishing.

use std::io::{self, BufRead, BufReader, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::mpsc::{self, Receiver, Sender};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use talkback_reactor::{Config, ConnId, ConnectionSet, Cx, Handler, LoopState, Server, bind};

/// The longest any single wait may take.
const TIMEOUT: Duration = Duration::from_secs(5);

/// How long the loop waits before connecting again after a failure.
const RETRY: Duration = Duration::from_millis(50);

/// What the loop tells the test.
#[derive(Debug, PartialEq, Eq)]
enum Heard {
    Connected,
    Failed(io::ErrorKind),
    Closed,
    Line(String),
}

/// The loop's own client (`Link`) or an accepted connection (`Echo`).
enum Conn {
    Link,
    Echo,
}

/// One loop's state: where to connect, and where to report.
struct Dialer {
    peer: SocketAddr,
    heard: Arc<Mutex<Sender<Heard>>>,
}

impl Dialer {
    fn tell(&self, heard: Heard) {
        let _ = self.heard.lock().expect("lock").send(heard);
    }

    fn dial(&self, conns: &mut impl ConnectionSet<Conn>) {
        if conns.connect(self.peer, TIMEOUT, Conn::Link).is_err() {
            conns.set_timer(Some(conns.now() + RETRY));
        }
    }
}

impl Handler for Conn {
    type State = Dialer;

    fn on_input(&mut self, input: &[u8], cx: &mut Cx<'_>, state: &mut Dialer) -> usize {
        match self {
            Conn::Echo => {
                cx.write(input);
                input.len()
            }
            Conn::Link => {
                let lines = input.iter().rposition(|&b| b == b'\n').map_or(0, |last| last + 1);
                for line in input[..lines].split(|&b| b == b'\n').filter(|l| !l.is_empty()) {
                    state.tell(Heard::Line(String::from_utf8_lossy(line).into_owned()));
                }
                lines
            }
        }
    }

    fn on_deadline(&mut self, _cx: &mut Cx<'_>, _state: &mut Dialer) {}

    fn on_connected(&mut self, cx: &mut Cx<'_>, state: &mut Dialer) {
        cx.write(b"hello\n");
        state.tell(Heard::Connected);
    }

    fn on_connect_failed(&mut self, error: &io::Error, state: &mut Dialer) {
        state.tell(Heard::Failed(error.kind()));
    }

    fn on_closed(&mut self, _id: ConnId, state: &mut Dialer) {
        if let Conn::Link = self {
            state.tell(Heard::Closed);
        }
    }
}

impl LoopState<Conn> for Dialer {
    type Message = ();

    fn accept(&mut self, _cx: &mut Cx<'_>) -> Conn {
        Conn::Echo
    }

    fn on_message(&mut self, _message: (), _conns: &mut impl ConnectionSet<Conn>) {}

    fn on_start(&mut self, conns: &mut impl ConnectionSet<Conn>) {
        self.dial(conns);
    }

    fn on_timer(&mut self, conns: &mut impl ConnectionSet<Conn>) {
        self.dial(conns);
    }

    fn on_outbound_closed(&mut self, _id: ConnId, conns: &mut impl ConnectionSet<Conn>) {
        conns.set_timer(Some(conns.now() + RETRY));
    }
}

/// A one-loop server that connects to `peer`, with what it reports.
fn start(peer: SocketAddr, config: Config) -> (Server, Receiver<Heard>) {
    let (tell, heard) = mpsc::channel();
    let tell = Arc::new(Mutex::new(tell));
    let listener = bind(SocketAddr::from(([127, 0, 0, 1], 0))).expect("bind");
    let server = Server::start::<Conn, _>(listener, config, move |_, _| Dialer { peer, heard: Arc::clone(&tell) })
        .expect("start");
    (server, heard)
}

fn one_loop() -> Config {
    Config { threads: 1, ..Config::default() }
}

/// A port nobody listens on (bound, then let go).
fn closed_port() -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    listener.local_addr().expect("addr")
}

#[test]
fn an_outbound_connection_talks_once_established() {
    let peer = TcpListener::bind("127.0.0.1:0").expect("bind");
    let (server, heard) = start(peer.local_addr().expect("addr"), one_loop());
    let (socket, _) = peer.accept().expect("the loop connected");
    socket.set_read_timeout(Some(TIMEOUT)).expect("timeout");
    assert_eq!(heard.recv_timeout(TIMEOUT), Ok(Heard::Connected));
    let mut reader = BufReader::new(socket.try_clone().expect("clone"));
    let mut line = String::new();
    reader.read_line(&mut line).expect("its greeting");
    assert_eq!(line, "hello\n", "what on_connected queued is written");
    (&socket).write_all(b"pong\n").expect("write");
    assert_eq!(heard.recv_timeout(TIMEOUT), Ok(Heard::Line("pong".into())));
    drop((socket, reader));
    // The peer's FIN: the default on_peer_closed closes; on_closed runs.
    assert_eq!(heard.recv_timeout(TIMEOUT), Ok(Heard::Closed));
    server.shutdown_handle().stop_now();
    server.join().expect("join");
}

#[test]
fn a_refused_connect_is_reported_then_closed_and_the_loop_timer_retries() {
    let (server, heard) = start(closed_port(), one_loop());
    for attempt in 0..2 {
        let failed = heard.recv_timeout(TIMEOUT);
        assert_eq!(failed, Ok(Heard::Failed(io::ErrorKind::ConnectionRefused)), "attempt {attempt}");
        assert_eq!(heard.recv_timeout(TIMEOUT), Ok(Heard::Closed), "on_closed follows, attempt {attempt}");
    }
    server.shutdown_handle().stop_now();
    server.join().expect("join");
}

#[test]
fn outbound_connections_do_not_count_toward_max_connections_nor_hold_a_drain() {
    let peer = TcpListener::bind("127.0.0.1:0").expect("bind");
    let config = Config { max_connections: 1, drain_timeout: Duration::from_secs(30), ..one_loop() };
    let (server, heard) = start(peer.local_addr().expect("addr"), config);
    let (_link, _) = peer.accept().expect("the loop connected");
    assert_eq!(heard.recv_timeout(TIMEOUT), Ok(Heard::Connected));
    // The one connection allowed is a client's: the loop's own link is not counted.
    let mut client = TcpStream::connect(server.local_addr()).expect("connect");
    client.set_read_timeout(Some(TIMEOUT)).expect("timeout");
    client.write_all(b"ping").expect("write");
    let mut back = [0u8; 4];
    io::Read::read_exact(&mut client, &mut back).expect("echoed, not refused");
    assert_eq!(&back, b"ping");
    drop(client);
    // Draining: the client is gone, and the link (still open, never asked) does not hold it.
    let started = Instant::now();
    server.shutdown_handle().shutdown();
    server.join().expect("join");
    assert!(started.elapsed() < Duration::from_secs(5), "the drain waited {:?}", started.elapsed());
    assert_eq!(heard.recv_timeout(TIMEOUT), Ok(Heard::Closed), "closed when the loop returned");
}
