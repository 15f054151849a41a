//! A node of a cluster on the virtual clock, with Redis played by the test: the bytes the
//! node writes on its two links are checked, and Redis's replies are fed back — so the join
//! order, the `NOSCRIPT` reload, the command timeout and the capped back-off are tested
//! without a Redis or a socket (the same rules against a real one: `tests/hub/cluster.rs`).

use std::sync::Arc;
use std::time::Duration;

use talkback_reactor::ConnId;
use talkback_reactor::testing::{ConnStatus, TestLoop};
use talkback_resp::{Decoder, Limits};

use super::{body, get, post, status, text};
use crate::cluster::ClusterStatus;
use crate::cluster::script::publish_sha;
use crate::hub::{LocalHub, Mailbox};
use crate::observe::Observer;
use crate::redis_options::RedisUrl;
use crate::stats::Stats;
use crate::{Conn, HubRoutes, LoopCtx, Options, Service};

const TIMEOUT: Duration = Duration::from_millis(500);
const BACKOFF: (Duration, Duration) = (Duration::from_millis(100), Duration::from_millis(300));

/// One loop, the owner of the Redis links, on the test loop.
fn node() -> TestLoop<Conn> {
    let mut options = Options::with_defaults(64 << 10);
    options.threads = 1;
    options.redis.url = Some(RedisUrl::parse("redis://127.0.0.1:6379").expect("a URL"));
    options.redis.timeout = TIMEOUT;
    (options.redis.backoff_min, options.redis.backoff_max) = BACKOFF;
    let hub = crate::hub_for(&options);
    let service = Service::Hub(HubRoutes::ALL);
    TestLoop::new(move |handle| {
        let status = Arc::new(ClusterStatus::default());
        let cluster = crate::cluster_for(&options, 0, std::slice::from_ref(&handle), &status).expect("--redis");
        let local = LocalHub::new(hub, 0, vec![Box::new(handle) as Box<dyn Mailbox>]);
        let observer = Observer::new(None, Arc::new(Stats::default()), false);
        LoopCtx::new(service, Arc::new(options), local, observer).with_cluster(cluster)
    })
}

/// The commands written on `link` since the last look, each as its words.
fn commands(lp: &mut TestLoop<Conn>, link: ConnId) -> Vec<Vec<String>> {
    let mut decoder = Decoder::new(Limits::default());
    decoder.feed(&lp.take_output(link));
    std::iter::from_fn(|| decoder.next_value().expect("RESP"))
        .map(|command| {
            let words = command.as_array().expect("a command is an array").iter();
            words.map(|w| String::from_utf8_lossy(w.as_bytes().expect("bulk")).into_owned()).collect()
        })
        .collect()
}

fn bulk(text: &str) -> String {
    format!("${}\r\n{text}\r\n", text.len())
}

/// `pmessage` of `text` as id `id` on channel `room`.
fn pmessage(id: u64, text: &str) -> Vec<u8> {
    let payload = format!("{id} {text}");
    format!("*4\r\n{}{}{}{}", bulk("pmessage"), bulk("talkback:{*}:m"), bulk("talkback:{room}:m"), bulk(&payload))
        .into_bytes()
}

/// Establishes both links and joins with `history` as channel `room`'s stored messages,
/// while `during` arrives live on the subscriber link in the middle of the catch-up.
fn joined(lp: &mut TestLoop<Conn>, history: &[(u64, &str)], during: &[(u64, &str)]) -> (ConnId, ConnId) {
    let [(one, _), (other, _)] = lp.connects()[..] else { panic!("two links: {:?}", lp.connects()) };
    lp.establish(one);
    lp.establish(other);
    let (first, second) = (commands(lp, one), commands(lp, other));
    let (command, subscriber, sent) = if first.is_empty() { (one, other, second) } else { (other, one, first) };
    assert_eq!(sent, [["PSUBSCRIBE", "talkback:{*}:m"]], "subscribe first");
    assert!(commands(lp, command).is_empty(), "no history is read before the subscription is confirmed");
    lp.send(subscriber, format!("*3\r\n{}{}:1\r\n", bulk("psubscribe"), bulk("talkback:{*}:m")).as_bytes());
    lp.deliver_inbox();
    let mut sent = commands(lp, command);
    let raised = sent.iter().take_while(|c| c[0] == "EVAL").count();
    let raises: Vec<Vec<String>> = sent.drain(..raised).collect();
    for raise in &raises {
        assert_eq!(raise[2..], ["1".to_string(), "talkback:{room}:id".into(), raise[4].clone()], "{raise:?}");
        lp.send(command, b":0\r\n");
    }
    assert_eq!(sent, [["SMEMBERS", "talkback:channels"]], "then which channels exist");
    lp.send(command, format!("*1\r\n{}", bulk("room")).as_bytes());
    assert_eq!(commands(lp, command), [["XRANGE", "talkback:{room}:h", "1-0", "+"]], "then each one's history");
    for &(id, text) in during {
        lp.send(subscriber, &pmessage(id, text));
    }
    let entries: String = history
        .iter()
        .map(|(id, text)| format!("*2\r\n{}*2\r\n{}{}", bulk(&format!("{id}-0")), bulk("d"), bulk(text)))
        .collect();
    lp.send(command, format!("*{}\r\n{entries}", history.len()).as_bytes());
    (command, subscriber)
}

/// The `(id, data)` of every SSE event in `bytes`.
fn events(bytes: &[u8]) -> Vec<(u64, String)> {
    let text = text(bytes);
    (text.split("\n\n").filter_map(|event| {
        let id = event.lines().find_map(|l| l.strip_prefix("id: "))?.parse().ok()?;
        Some((id, event.lines().find_map(|l| l.strip_prefix("data: "))?.to_string()))
    }))
    .collect()
}

#[test]
fn the_join_subscribes_then_reads_the_history_and_takes_each_id_once() {
    let mut lp = node();
    let sse = lp.connect();
    lp.send(sse, &get("/ch/room/sse?lastEventId=0"));
    lp.take_output(sse);
    // Id 2 is published while the history is read: it comes live and in the history.
    joined(&mut lp, &[(1, "a"), (2, "b")], &[(2, "b"), (3, "c")]);
    lp.deliver_inbox();
    let got = events(&lp.take_output(sse));
    assert_eq!(got, [(1, "a".into()), (2, "b".into()), (3, "c".into())], "each id once, in order");
}

#[test]
fn a_post_is_answered_with_the_id_redis_gave_after_reloading_the_script() {
    let mut lp = node();
    let (command, subscriber) = joined(&mut lp, &[], &[]);
    let publisher = lp.connect();
    lp.send(publisher, &post("/ch/room", "hello"));
    assert!(lp.take_output(publisher).is_empty(), "held until Redis answers");
    lp.deliver_inbox();
    let sent = commands(&mut lp, command);
    assert_eq!(sent[0][..3], ["EVALSHA".to_string(), publish_sha(), "3".into()]);
    assert_eq!(sent[0][6..], ["hello", "1024", "0", "room", "talkback:{room}:m"], "text, cap, floor, channel");
    // Redis was restarted since the script was loaded: it is loaded again, and run again.
    lp.send(command, b"-NOSCRIPT No matching script. Please use EVAL.\r\n");
    let again = commands(&mut lp, command);
    assert_eq!((again[0][..2].to_vec(), again[1][0].as_str()), (vec!["SCRIPT".into(), "LOAD".into()], "EVALSHA"));
    lp.send(command, format!("{}:7\r\n", bulk(&publish_sha())).as_bytes());
    lp.deliver_inbox();
    let answer = lp.take_output(publisher);
    assert_eq!((status(&answer), body(&answer)), (200, "7".to_string()), "{}", text(&answer));
    // Its own pub/sub copy arrives later: the log has it (id 7 after a gap), nothing twice.
    lp.send(subscriber, &pmessage(7, "hello"));
    let poll = lp.connect();
    lp.send(poll, &get("/ch/room/poll?after=0"));
    assert_eq!(body(&lp.take_output(poll)), r#"[{"id":7,"data":"hello"}]"#);
}

#[test]
fn a_command_timeout_answers_503_drops_both_links_and_reconnects_with_a_capped_backoff() {
    let mut lp = node();
    let (command, subscriber) = joined(&mut lp, &[], &[]);
    let publisher = lp.connect();
    lp.send(publisher, &post("/ch/room", "hello"));
    lp.deliver_inbox();
    assert_eq!(commands(&mut lp, command).len(), 1);
    lp.advance(TIMEOUT); // Redis says nothing
    let answer = lp.take_output(publisher);
    assert_eq!(status(&answer), 503, "{}", text(&answer));
    assert!(text(&answer).contains("Retry-After: 1\r\n"));
    assert_eq!((lp.status(command), lp.status(subscriber)), (ConnStatus::Aborted, ConnStatus::Aborted));
    // While it is down, a POST is refused at once, and an SSE stream stays open.
    let sse = lp.connect();
    lp.send(sse, &get("/ch/room/sse"));
    let refused = lp.connect();
    lp.send(refused, &post("/ch/room", "x"));
    assert_eq!(status(&lp.take_output(refused)), 503);
    // The back-off: 100 ms, then doubled per failure, capped at 300 ms.
    for wait in [100, 200, 300, 300] {
        assert!(lp.connects().is_empty());
        lp.advance(Duration::from_millis(wait));
        let links = lp.connects();
        assert_eq!(links.len(), 2, "both links dialled after {wait} ms");
        for (link, _) in links {
            lp.refuse(link, std::io::ErrorKind::ConnectionRefused);
        }
    }
    assert_eq!(lp.status(sse), ConnStatus::Open, "subscribers stay while Redis is away");
    lp.advance(Duration::from_millis(300));
    joined(&mut lp, &[], &[]);
    let publisher = lp.connect();
    lp.send(publisher, &post("/ch/room", "back"));
    lp.deliver_inbox();
    assert!(lp.take_output(publisher).is_empty(), "accepted again: held for Redis's answer");
}

#[test]
fn a_node_that_rejoins_raises_redis_counters_to_the_ids_it_has_seen() {
    let mut lp = node();
    let (command, _) = joined(&mut lp, &[(1, "a"), (2, "b")], &[]);
    lp.peer_close(command); // Redis went away
    lp.advance(BACKOFF.0);
    let [(one, _), (other, _)] = lp.connects()[..] else { panic!("two links") };
    lp.establish(one);
    lp.establish(other);
    let (first, second) = (commands(&mut lp, one), commands(&mut lp, other));
    let (command, subscriber) = if first.is_empty() { (one, other) } else { (other, one) };
    assert!(!second.is_empty() || !first.is_empty());
    lp.send(subscriber, format!("*3\r\n{}{}:1\r\n", bulk("psubscribe"), bulk("talkback:{*}:m")).as_bytes());
    lp.deliver_inbox();
    let sent = commands(&mut lp, command);
    assert_eq!(sent[0][0], "EVAL");
    assert_eq!(sent[0][3..], ["talkback:{room}:id".to_string(), "2".into()], "raised to the last id seen here");
    assert_eq!(sent[1], ["SMEMBERS", "talkback:channels"]);
}
