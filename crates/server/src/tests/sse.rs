//! SSE on the virtual clock (WHATWG HTML, "Server-sent events").

use std::time::Duration;

use talkback_reactor::testing::ConnStatus;

use super::{get, hub, open, publish, text};

/// "Legacy proxy servers are known to, in certain cases, drop HTTP connections after a short
/// timeout. To protect against such proxy servers, authors can include a comment line every
/// 15 seconds or so." — a comment after every `--heartbeat` of silence, and only then.
#[test]
fn whatwg_sse_heartbeat_comment_after_each_interval_of_silence() {
    let mut lp = hub(|o| o.heartbeat = Duration::from_secs(15));
    let (sse, head) = open(&mut lp, &get("/ch/beat/sse"));
    assert!(text(&head).starts_with("HTTP/1.1 200 OK\r\n"), "{}", text(&head));
    lp.advance(Duration::from_millis(14_999));
    assert!(lp.take_output(sse).is_empty(), "nothing before the interval");
    lp.advance(Duration::from_millis(1));
    assert_eq!(lp.take_output(sse), b": heartbeat\n\n");
    lp.advance(Duration::from_secs(15));
    assert_eq!(lp.take_output(sse), b": heartbeat\n\n", "and again");
}

#[test]
fn a_message_restarts_the_heartbeat_interval() {
    let mut lp = hub(|o| o.heartbeat = Duration::from_secs(15));
    let (sse, _) = open(&mut lp, &get("/ch/quiet/sse"));
    lp.advance(Duration::from_secs(10));
    publish(&mut lp, "quiet", "news");
    assert_eq!(lp.take_output(sse), b"id: 1\ndata: news\n\n");
    lp.advance(Duration::from_secs(10));
    assert!(lp.take_output(sse).is_empty(), "15 s of silence have not passed since the message");
    lp.advance(Duration::from_secs(5));
    assert_eq!(lp.take_output(sse), b": heartbeat\n\n");
}

/// The stream outlives the keep-alive and head timeouts: it is a response, not an idle connection.
#[test]
fn an_sse_stream_outlives_the_keepalive_timeout() {
    let mut lp = hub(|o| o.keepalive_timeout = Duration::from_secs(1));
    let (sse, _) = open(&mut lp, &get("/ch/long/sse"));
    lp.advance(Duration::from_secs(5));
    assert_eq!(lp.status(sse), ConnStatus::Open);
    publish(&mut lp, "long", "still here");
    assert!(text(&lp.take_output(sse)).ends_with("id: 1\ndata: still here\n\n"));
}

/// WHATWG: the browser reconnects with `Last-Event-ID`; the hub replays the later messages,
/// after an `event: missed` when some were evicted, and sends nothing twice.
#[test]
fn whatwg_sse_last_event_id_replays_once_and_reports_what_was_missed() {
    let mut lp = hub(|o| o.history = 3);
    for i in 1..=5 {
        publish(&mut lp, "re", &format!("m{i}"));
    }
    let request = b"GET /ch/re/sse HTTP/1.1\r\nHost: t\r\nLast-Event-ID: 1\r\n\r\n";
    let (sse, out) = open(&mut lp, request);
    let out = text(&out);
    let events = &out[out.find("\r\n\r\n").expect("a head") + 4..];
    assert_eq!(events, "event: missed\ndata: 1\n\nid: 3\ndata: m3\n\nid: 4\ndata: m4\n\nid: 5\ndata: m5\n\n");
    publish(&mut lp, "re", "m6");
    assert_eq!(lp.take_output(sse), b"id: 6\ndata: m6\n\n");
}

/// README, "Limits" (output queue per connection): a subscriber that does not read is dropped
/// once its queue passes the cap, and the others go on.
#[test]
fn a_slow_sse_consumer_is_dropped_at_the_output_cap() {
    let mut lp = hub(|_| {}).with_output_cap(4096);
    let (slow, _) = open(&mut lp, &get("/ch/fan/sse"));
    let (reader, _) = open(&mut lp, &get("/ch/fan/sse"));
    let message = "x".repeat(1000);
    for _ in 0..5 {
        publish(&mut lp, "fan", &message);
        assert!(lp.take_output(reader).len() > 1000, "the reader reads every message");
    }
    assert_eq!(lp.status(slow), ConnStatus::Aborted);
    assert_eq!(lp.status(reader), ConnStatus::Open);
}
