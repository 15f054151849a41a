//! The real loop's scheduling, against real sockets on loopback.

use std::io::{ErrorKind, Read};
use std::net::{TcpListener, TcpStream as StdStream};

use super::flush::FLUSH_SLICE;
use super::*;
use crate::handler::LoopState;

/// Queues every byte it receives back (an answer); pushes come from the test.
struct Echo;

struct NoState;

impl Handler for Echo {
    type State = NoState;

    fn on_input(&mut self, input: &[u8], cx: &mut Cx<'_>, _state: &mut NoState) -> usize {
        cx.write(input);
        input.len()
    }

    fn on_deadline(&mut self, _cx: &mut Cx<'_>, _state: &mut NoState) {}
}

impl LoopState<Echo> for NoState {
    type Message = ();

    fn accept(&mut self, _cx: &mut Cx<'_>) -> Echo {
        Echo
    }

    fn on_message(&mut self, _message: (), _conns: &mut impl ConnectionSet<Echo>) {}
}

/// `n` connections in slots `0..n`, with the client end of each.
fn connected(n: usize) -> (Connections<Echo>, Vec<StdStream>) {
    let poll = mio::Poll::new().expect("poll");
    let registry = poll.registry().try_clone().expect("registry");
    let limits = ConnLimits { output_cap: 1 << 20, max_input: 1 << 20, max_connections: n };
    let mut conns = Connections::new(registry, limits, Instant::now());
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let clients = (0..n)
        .map(|_| {
            let client = StdStream::connect(listener.local_addr().expect("addr")).expect("connect");
            let (server, _) = listener.accept().expect("accept");
            server.set_nonblocking(true).expect("nonblocking");
            conns.insert(TcpStream::from_std(server), &mut NoState).expect("insert");
            client.set_nonblocking(true).expect("nonblocking");
            client
        })
        .collect();
    (conns, clients)
}

/// What has arrived at a client so far (loopback delivers within the `write` call).
fn received(client: &mut StdStream) -> Vec<u8> {
    let mut got = Vec::new();
    let mut buf = [0u8; 256];
    loop {
        match client.read(&mut buf) {
            Ok(0) => return got,
            Ok(n) => got.extend_from_slice(&buf[..n]),
            Err(e) if e.kind() == ErrorKind::WouldBlock => return got,
            Err(e) => panic!("read: {e}"),
        }
    }
}

#[test]
fn a_fan_out_is_written_a_slice_per_turn_and_an_answer_goes_before_the_rest() {
    let n = FLUSH_SLICE * 2 + 10;
    let (mut conns, mut clients) = connected(n);
    // A broadcast reaches every connection from outside their own events (as the hub's
    // `on_message` does).
    for slot in 0..n {
        let id = conns.slab.id_of(slot);
        conns.with(id, OutputKind::Push, &mut NoState, |_, cx, _| cx.write(b"push;"));
    }
    let mut scratch = vec![0u8; 1024];
    assert!(conns.settle(&mut NoState, &mut scratch), "more than a slice is left for later turns");
    let written: Vec<usize> = (0..n).filter(|&i| !received(&mut clients[i]).is_empty()).collect();
    assert_eq!(written, (0..FLUSH_SLICE).collect::<Vec<_>>(), "the first slice, in queue order");

    // The last connection answers a request of its own: it is written at the end of
    // this turn, ahead of the connections queued before it.
    let last = n - 1;
    let id = conns.slab.id_of(last);
    conns.with(id, OutputKind::Answer, &mut NoState, |_, cx, _| cx.write(b"answer;"));
    assert!(conns.settle(&mut NoState, &mut scratch));
    assert_eq!(received(&mut clients[last]), b"push;answer;", "the answer took what was queued with it");
    let second: Vec<usize> = (0..n).filter(|&i| !received(&mut clients[i]).is_empty()).collect();
    assert_eq!(second, (FLUSH_SLICE..2 * FLUSH_SLICE).collect::<Vec<_>>(), "then the next slice");

    // Its old place in the queue is skipped: the remaining ones finish the fan-out.
    assert!(!conns.settle(&mut NoState, &mut scratch), "nothing left");
    let rest: Vec<usize> = (0..n).filter(|&i| received(&mut clients[i]) == b"push;").collect();
    assert_eq!(rest, (2 * FLUSH_SLICE..last).collect::<Vec<_>>());
    assert!(!conns.has_work_left());
}

#[test]
fn an_answer_queued_behind_pushes_waits_for_the_connections_queued_before_it() {
    let n = FLUSH_SLICE * 2;
    let (mut conns, mut clients) = connected(n);
    // The first n - 1 connections are given a broadcast; the last one is answered without
    // having been given it (a long-poll that re-asked and found news).
    for slot in 0..n - 1 {
        let id = conns.slab.id_of(slot);
        conns.with(id, OutputKind::Push, &mut NoState, |_, cx, _| cx.write(b"push;"));
    }
    let last = n - 1;
    let id = conns.slab.id_of(last);
    conns.with(id, OutputKind::Answer, &mut NoState, |_, cx, _| {
        cx.queue_behind_pushes();
        cx.write(b"news;");
    });
    let mut scratch = vec![0u8; 1024];
    assert!(conns.settle(&mut NoState, &mut scratch));
    let first: Vec<usize> = (0..n).filter(|&i| !received(&mut clients[i]).is_empty()).collect();
    assert_eq!(first, (0..FLUSH_SLICE).collect::<Vec<_>>(), "not ahead of the first slice, as an answer would be");
    assert!(!conns.settle(&mut NoState, &mut scratch), "the second slice finishes everything");
    assert_eq!(received(&mut clients[last]), b"news;", "last, in queue order");
    assert!(!conns.has_work_left());
}
