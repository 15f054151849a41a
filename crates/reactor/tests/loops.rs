//! How the loops share connections, through the public API with a tiny echo handler: new
//! connections are spread evenly whichever loop accepts them, and busy-polling changes
//! timing only, never what is answered.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use talkback_reactor::{Config, ConnectionSet, Cx, Handler, LoopState, Server, bind};

/// Echoes every byte it receives.
struct Echo;

/// One loop's state: counts the connections this loop was given.
struct Counting {
    held: Arc<Vec<AtomicUsize>>,
    index: usize,
}

impl Handler for Echo {
    type State = Counting;

    fn on_input(&mut self, input: &[u8], cx: &mut Cx<'_>, _state: &mut Counting) -> usize {
        cx.write(input);
        input.len()
    }

    fn on_deadline(&mut self, _cx: &mut Cx<'_>, _state: &mut Counting) {}
}

impl LoopState<Echo> for Counting {
    type Message = ();

    fn accept(&mut self, _cx: &mut Cx<'_>) -> Echo {
        self.held[self.index].fetch_add(1, Ordering::SeqCst);
        Echo
    }

    fn on_message(&mut self, _message: (), _conns: &mut impl ConnectionSet<Echo>) {}
}

fn start(config: Config) -> (Server, Arc<Vec<AtomicUsize>>) {
    let held: Arc<Vec<AtomicUsize>> = Arc::new((0..config.threads).map(|_| AtomicUsize::new(0)).collect());
    let listener = bind(SocketAddr::from(([127, 0, 0, 1], 0))).expect("bind");
    let counts = Arc::clone(&held);
    let server =
        Server::start::<Echo, _>(listener, config, move |index, _loops| Counting { held: Arc::clone(&counts), index })
            .expect("start");
    (server, held)
}

/// Writes `message` and reads the same number of bytes back.
fn round_trip(stream: &mut TcpStream, message: &[u8]) -> Vec<u8> {
    stream.write_all(message).expect("write");
    let mut back = vec![0u8; message.len()];
    stream.read_exact(&mut back).expect("read the echo");
    back
}

fn wait_until(limit: Duration, mut done: impl FnMut() -> bool) -> bool {
    let end = Instant::now() + limit;
    while Instant::now() < end {
        if done() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    done()
}

#[test]
fn connections_are_spread_evenly_over_the_loops_whichever_accepts_them() {
    let config = Config { threads: 2, ..Config::default() };
    let (server, held) = start(config);
    // A burst: every connection is queued before any loop has run, so a single loop could
    // take them all in one accept loop; the hand-off must even them out.
    let mut streams: Vec<TcpStream> = (0..40).map(|_| TcpStream::connect(server.local_addr()).unwrap()).collect();
    // One by one: each new connection wakes both loops; either may accept it.
    for _ in 0..40 {
        let mut s = TcpStream::connect(server.local_addr()).unwrap();
        assert_eq!(round_trip(&mut s, b"ping"), b"ping");
        streams.push(s);
    }
    let total = || held.iter().map(|h| h.load(Ordering::SeqCst)).sum::<usize>();
    assert!(wait_until(Duration::from_secs(10), || total() == 80), "every connection reached a loop");
    let (a, b) = (held[0].load(Ordering::SeqCst), held[1].load(Ordering::SeqCst));
    assert!(a.abs_diff(b) <= 2, "80 connections split {a} / {b}, not evenly");
    // Handed-off connections work like any other.
    for (i, s) in streams.iter_mut().enumerate() {
        let message = format!("message {i}");
        assert_eq!(round_trip(s, message.as_bytes()), message.as_bytes());
    }
    server.shutdown_handle().stop_now(); // the clients are still connected: no drain
    server.join().unwrap();
}

#[test]
fn busy_polling_answers_exactly_as_sleeping_does() {
    let config = Config { threads: 2, busy_poll: Duration::from_micros(200), ..Config::default() };
    let (server, _held) = start(config);
    let mut streams: Vec<TcpStream> = (0..4).map(|_| TcpStream::connect(server.local_addr()).unwrap()).collect();
    for round in 0..200 {
        for (i, s) in streams.iter_mut().enumerate() {
            let message = format!("round {round} connection {i}");
            assert_eq!(round_trip(s, message.as_bytes()), message.as_bytes());
        }
        if round % 50 == 0 {
            std::thread::sleep(Duration::from_millis(2)); // let the window lapse: back to sleeping
        }
    }
    server.shutdown_handle().stop_now(); // the clients are still connected: no drain
    server.join().unwrap();
}
