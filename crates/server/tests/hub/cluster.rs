//! The hub on Redis (`--redis`), end to end: several nodes in this process, each on its own
//! `127.0.0.1:0`, all on one real `redis-server` the harness starts (and stops: only its own).
//! Where `redis-server` is not installed each test says so in one line and passes.
//!
//! What is checked is the cluster contract (docs/scaling.md): ids global and never repeated,
//! every message to every subscriber of every technique on every node once and in id order,
//! the history on every node (one started later too), and what each client sees while Redis
//! is away and after it comes back with or without its data.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use talkback_harness::{Client, RedisServer, TestServer};
use talkback_server::redis_options::RedisUrl;

use super::common::{get, post, spawn_hub};
use super::{Sse, Ws, batch_of};

/// The longest a node may take to join (connect, subscribe, read the history).
const JOIN: Duration = Duration::from_secs(10);

/// A node on `redis`, after `opts` adjusts its cluster flags.
fn node(redis: &RedisServer, opts: impl FnOnce(&mut talkback_server::Options)) -> TestServer {
    let url = RedisUrl::parse(&redis.url()).expect("the harness's URL");
    let server = spawn_hub(|o| {
        o.redis.url = Some(url);
        o.redis.backoff_min = Duration::from_millis(20);
        o.redis.backoff_max = Duration::from_millis(200);
        o.heartbeat = Duration::from_secs(1);
        opts(o);
    });
    wait_joined(server.addr());
    server
}

/// Until a `POST` on the node's `ready` channel is stored (the node has joined).
fn wait_joined(addr: SocketAddr) {
    let _ = try_publish_until(addr, "ready", "?", Instant::now() + JOIN);
}

/// Publishes until Redis stores it (503s while the node cannot reach it); the id.
fn try_publish_until(addr: SocketAddr, channel: &str, text: &str, deadline: Instant) -> u64 {
    loop {
        let response = Client::connect(addr).request(&post(&format!("/ch/{channel}"), text.as_bytes()));
        match response.status {
            200 => return response.text().parse().expect("an id"),
            503 => {
                assert_eq!(response.header("retry-after"), Some("1"), "{response:?}");
                assert!(Instant::now() < deadline, "no 200 in time: {response:?}");
                std::thread::sleep(Duration::from_millis(20));
            }
            _ => panic!("publish {text:?}: {response:?}"),
        }
    }
}

fn publish(addr: SocketAddr, channel: &str, text: &str) -> u64 {
    try_publish_until(addr, channel, text, Instant::now() + JOIN)
}

/// Polls `after` until the batch holds `want` messages (another node's may still be on the
/// way); the batch.
fn poll_until(addr: SocketAddr, target: &str, want: usize) -> Vec<(u64, String)> {
    let deadline = Instant::now() + JOIN;
    loop {
        let response = Client::connect(addr).request(&get(target));
        let batch = if response.status == 204 { Vec::new() } else { batch_of(&response) };
        if batch.len() >= want {
            return batch;
        }
        assert!(Instant::now() < deadline, "{target}: {} of {want} messages in time", batch.len());
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// A long-poller that asks again after each answer, from `after`, until it has `want`.
fn long_poll_all(addr: SocketAddr, channel: &str, mut after: u64, want: usize) -> Vec<(u64, String)> {
    let mut got = Vec::new();
    let mut client = Client::connect(addr);
    client.set_timeout(JOIN);
    while got.len() < want {
        let response = client.request(&get(&format!("/ch/{channel}/longpoll?after={after}&timeout=5")));
        if response.status == 204 {
            continue;
        }
        let batch = batch_of(&response);
        after = batch.last().expect("a 200 has messages").0;
        got.extend(batch);
    }
    got
}

#[test]
fn three_nodes_every_technique_on_every_node_gets_every_message_once_in_order() {
    let Some(redis) = RedisServer::start() else { return };
    let nodes: Vec<TestServer> = (0..3).map(|_| node(&redis, |_| {})).collect();
    let mut sse: Vec<Sse> = nodes.iter().map(|n| Sse::open(n.addr(), "/ch/room/sse", "")).collect();
    let mut ws: Vec<Ws> = nodes.iter().map(|n| Ws::open(n.addr(), "/ch/room/ws")).collect();
    let pollers: Vec<_> = nodes
        .iter()
        .map(|n| {
            let addr = n.addr();
            std::thread::spawn(move || long_poll_all(addr, "room", 0, 9))
        })
        .collect();
    std::thread::sleep(Duration::from_millis(100)); // the long-polls are parked
    // Three publishers, one per node, interleaved: the ids are global.
    let mut sent = Vec::new();
    for round in 0..3 {
        for (i, n) in nodes.iter().enumerate() {
            let text = format!("from node {i}, round {round}");
            sent.push((publish(n.addr(), "room", &text), text));
        }
    }
    sent.sort();
    let ids: Vec<u64> = sent.iter().map(|(id, _)| *id).collect();
    assert_eq!(ids, (1..=9).collect::<Vec<_>>(), "ids 1..=9, each given once across the nodes");
    for (i, stream) in sse.iter_mut().enumerate() {
        assert_eq!(stream.messages(9), sent, "SSE on node {i}: every message once, in id order");
    }
    for (i, socket) in ws.iter_mut().enumerate() {
        let texts: Vec<String> = (0..9).map(|_| socket.next_text()).collect();
        let want: Vec<String> = sent.iter().map(|(_, t)| t.clone()).collect();
        assert_eq!(texts, want, "WebSocket on node {i}: every message once, in id order");
    }
    for (i, poller) in pollers.into_iter().enumerate() {
        assert_eq!(poller.join().expect("the long-poller"), sent, "long-poll on node {i}");
    }
    for (i, n) in nodes.iter().enumerate() {
        assert_eq!(poll_until(n.addr(), "/ch/room/poll?after=0", 9), sent, "poll on node {i}");
    }
    // A WebSocket's own publish is stored in Redis too, and reaches every node.
    ws[1].send_text("over a WebSocket");
    assert_eq!(sse[0].messages(1), [(10, "over a WebSocket".to_string())], "SSE on node 0");
    assert_eq!(ws[2].next_text(), "over a WebSocket", "WebSocket on node 2");
    assert_eq!(ws[1].next_text(), "over a WebSocket", "and back to its sender, as on one node");
    sent.push((10, "over a WebSocket".into()));
    // A node started after the messages serves the same history; a cursor from one node
    // resumes on another.
    let late = node(&redis, |_| {});
    assert_eq!(poll_until(late.addr(), "/ch/room/poll?after=0", 10), sent, "the late node's history");
    let mut resumed = Sse::open(late.addr(), "/ch/room/sse", "Last-Event-ID: 4\r\n");
    assert_eq!(resumed.messages(6), sent[4..], "SSE resumed on the late node after id 4");
    let lp = long_poll_all(late.addr(), "room", 7, 3);
    assert_eq!(lp, sent[7..], "long-poll resumed on the late node after id 7");
}

#[test]
fn redis_stopped_refuses_posts_keeps_subscribers_and_fills_the_gap_when_back() {
    let Some(mut redis) = RedisServer::start() else { return };
    let a = node(&redis, |_| {});
    // Node b waits longer before reconnecting: what a publishes meanwhile it must read back
    // from the history.
    let b = node(&redis, |o| {
        o.redis.backoff_min = Duration::from_secs(3);
        o.redis.backoff_max = Duration::from_secs(3);
    });
    let mut on_b = Sse::open(b.addr(), "/ch/room/sse", "");
    let first: Vec<_> = ["one", "two"].iter().map(|t| (publish(a.addr(), "room", t), t.to_string())).collect();
    assert_eq!(on_b.messages(2), first);

    redis.stop(true);
    let refused = Client::connect(a.addr()).request(&post("/ch/room", b"lost?"));
    assert_eq!(refused.status, 503, "never a 200 for a message Redis did not store: {refused:?}");
    assert_eq!(refused.header("retry-after"), Some("1"));
    // The stream stays open, and its heartbeats (comments, every second here) go on.
    let deadline = Instant::now() + Duration::from_secs(5);
    while !on_b.raw.ends_with(b": heartbeat\n\n") {
        assert!(on_b.read_more(deadline), "the stream ended while Redis was away");
    }

    redis.restart();
    // a reconnects at once; b in its own time, and catches up from the history first.
    let later: Vec<_> = ["three", "four"].iter().map(|t| (publish(a.addr(), "room", t), t.to_string())).collect();
    assert_eq!(later.iter().map(|(id, _)| *id).collect::<Vec<_>>(), [3, 4], "ids go on after the restart");
    assert_eq!(on_b.messages(2), later, "the gap filled from Redis's history, once, in order");
    assert_eq!(poll_until(b.addr(), "/ch/room/poll?after=0", 4).len(), 4);
}

#[test]
fn redis_restarted_empty_repeats_no_id_and_reports_what_is_lost() {
    let Some(mut redis) = RedisServer::start() else { return };
    let a = node(&redis, |_| {});
    let b = node(&redis, |o| {
        o.redis.backoff_min = Duration::from_secs(4);
        o.redis.backoff_max = Duration::from_secs(4);
    });
    let mut on_b = Sse::open(b.addr(), "/ch/room/sse", "");
    for text in ["one", "two"] {
        publish(a.addr(), "room", text);
    }
    assert_eq!(on_b.messages(2).len(), 2);
    // Redis goes away and comes back with its data; a stores 3 and 4 before b is back — then
    // Redis loses everything, before b could read them.
    redis.stop(true);
    redis.restart();
    let lost: Vec<u64> = ["three", "four"].iter().map(|t| publish(a.addr(), "room", t)).collect();
    assert_eq!(lost, [3, 4]);
    redis.stop(false);
    redis.restart();
    let id = publish(a.addr(), "room", "five");
    assert_eq!(id, 5, "the node's floor: ids never go back to 1 after Redis lost its data");
    // b, back, finds 5 after its 2: told it missed 3 and 4, then 5.
    let missed = on_b.next_event();
    assert_eq!((missed.event_type.as_str(), missed.data.as_str()), ("missed", "2"), "{missed:?}");
    assert_eq!(on_b.messages(1), [(5, "five".to_string())]);
    let response = Client::connect(b.addr()).request(&get("/ch/room/poll?after=2"));
    assert_eq!(batch_of(&response), [(5, "five".to_string())]);
    assert_eq!(response.header("talkback-missed"), Some("2"), "{response:?}");
}

#[test]
fn a_slow_consumer_on_one_node_is_dropped_while_a_reader_there_gets_every_message() {
    const MESSAGES: usize = 1500;
    const SIZE: usize = 16 << 10;
    let Some(redis) = RedisServer::start() else { return };
    let a = node(&redis, |_| {});
    let b = node(&redis, |_| {}); // the default --output-cap, 1 MiB: far below 24 MiB
    let stalled = Sse::open(b.addr(), "/ch/slow/sse", "");
    let mut reader = Sse::open(b.addr(), "/ch/slow/sse", "");
    let (progress, read) = std::sync::mpsc::channel();
    let reading = std::thread::spawn(move || {
        (0..MESSAGES)
            .map(|_| {
                let (id, data) = reader.messages(1).remove(0);
                assert_eq!(data.len(), SIZE);
                let _ = progress.send(id);
                id
            })
            .collect::<Vec<u64>>()
    });
    // Nodes do not hold a publisher back for another node's readers: the publisher waits for
    // this reader now and then, so it is a reader that keeps up (with a debug build's parser
    // on a busy machine) — within 64 messages, 1 MiB, the output cap.
    let mut publisher = a.client();
    let body = "s".repeat(SIZE);
    let mut seen = 0;
    for i in 1..=MESSAGES as u64 {
        super::publish(&mut publisher, "slow", &body);
        while seen + 48 < i {
            seen = read.recv_timeout(JOIN).expect("the reader is reading");
        }
    }
    let ids = reading.join().expect("the reader on node b got every message");
    assert_eq!(ids, (1..=MESSAGES as u64).collect::<Vec<_>>(), "once each, in order, across the nodes");
    let mut stalled = stalled;
    let deadline = Instant::now() + Duration::from_secs(10);
    while stalled.read_more(deadline) {}
    let received = std::iter::from_fn(|| stalled.parser.poll_event()).count();
    assert!(received < MESSAGES, "the stalled subscriber was cut off (it got {received} of {MESSAGES})");
}
