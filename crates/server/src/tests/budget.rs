//! The hub's memory limits on the virtual clock (README, Limits: retained history, channels):
//! the 503 of a channel too many on every route, late readers told what the budget evicted,
//! and long messages written from their one copy.

use std::time::Duration;

use talkback_longpoll::encode_json_element;
use talkback_reactor::testing::{ConnStatus, TestLoop};

use super::websocket::upgrade;
use super::{body, get, hub, open, post, publish, status, text};
use crate::Conn;

/// The header `name`'s value in the first response of `bytes`.
fn header(bytes: &[u8], name: &str) -> Option<String> {
    let all = text(bytes);
    let head = all.split("\r\n\r\n").next().unwrap_or("");
    head.lines().find_map(|line| line.strip_prefix(&format!("{name}: ")).map(str::to_string))
}

/// The events of an SSE stream's output, after its head.
fn events(bytes: &[u8]) -> String {
    let all = text(bytes);
    all.split_once("\r\n\r\n").map_or(all.clone(), |(_, events)| events.to_string())
}

fn channels(lp: &mut TestLoop<Conn>) -> usize {
    lp.state().hub.shared().channel_count()
}

/// README, Limits (channels): past `--max-channels`, a request that would make a channel is
/// answered 503 with `Retry-After: 1` — a POST, a long-poll, an SSE stream (each connection
/// stays HTTP), a WebSocket upgrade (before any 101; then it closes). A short poll makes no
/// channel, so it is not refused.
#[test]
fn past_the_channel_cap_every_route_that_would_make_one_answers_503_with_retry_after() {
    let mut lp = hub(|o| o.max_channels = 1);
    assert_eq!(publish(&mut lp, "kept", "x"), 1);
    for (what, request) in
        [("POST", post("/ch/new", "x")), ("long-poll", get("/ch/new/longpoll?timeout=5")), ("SSE", get("/ch/new/sse"))]
    {
        let (conn, out) = open(&mut lp, &request);
        assert_eq!(status(&out), 503, "{what}: {}", text(&out));
        assert_eq!(header(&out, "Retry-After").as_deref(), Some("1"), "{what}");
        lp.send(conn, &get("/ch/kept/poll"));
        assert_eq!(status(&lp.take_output(conn)), 200, "{what}: the connection goes on");
    }
    let (ws, out) = open(&mut lp, &upgrade("/ch/new/ws"));
    assert!(text(&out).starts_with("HTTP/1.1 503 "), "{}", text(&out));
    assert!(!text(&out).contains(" 101 "), "no 101 before it");
    assert_eq!(header(&out, "Retry-After").as_deref(), Some("1"));
    assert_eq!(lp.status(ws), ConnStatus::Closing);
    let (_, out) = open(&mut lp, &get("/ch/new/poll?after=0"));
    assert_eq!(status(&out), 204, "a poll finds nothing, and makes nothing");
    assert_eq!(channels(&mut lp), 1);
    // The existing channel answers every route.
    let (_, out) = open(&mut lp, &upgrade("/ch/kept/ws"));
    assert!(text(&out).starts_with("HTTP/1.1 101 "));
    let (_, out) = open(&mut lp, &get("/ch/kept/sse"));
    assert_eq!(status(&out), 200);
    let (_, out) = open(&mut lp, &get("/ch/kept/longpoll?after=0"));
    assert_eq!(body(&out), r#"[{"id":1,"data":"x"}]"#);
}

/// A channel nobody listens on with nothing retained is freed, and makes room under the cap.
#[test]
fn a_channel_freed_when_its_last_listener_leaves_makes_room_for_another() {
    let mut lp = hub(|o| o.max_channels = 1);
    let (sse, _) = open(&mut lp, &get("/ch/watch/sse"));
    let (_, out) = open(&mut lp, &post("/ch/other", "x"));
    assert_eq!(status(&out), 503);
    lp.peer_close(sse);
    assert_eq!(channels(&mut lp), 0, "its only listener left and it retains nothing");
    assert_eq!(publish(&mut lp, "other", "x"), 1);
    let (_, out) = open(&mut lp, &get("/ch/third/longpoll?timeout=2"));
    assert_eq!(status(&out), 503, "full again");
    assert_eq!(channels(&mut lp), 1);
}

/// What one message of `text` costs the budget (the hub's own count, on a loop of its own).
fn cost(text: &str) -> usize {
    let mut lp = hub(|_| {});
    publish(&mut lp, "probe", text);
    lp.state().hub.shared().retained_bytes()
}

/// README, "The hub's URLs" (a cursor older than the retained history): when the budget took
/// messages — even all of a channel, which is then freed — a late poll gets
/// `Talkback-Missed`, a late SSE reader an `event: missed`, a late long-poll waits for the
/// next message and is told then.
#[test]
fn late_readers_after_the_budget_evicted_a_channel_are_told_what_they_missed() {
    let message = "m".repeat(1000);
    let budget = 2 * cost(&message) + cost(&message) / 2;
    let mut lp = hub(|o| o.max_retained_bytes = budget);
    for _ in 0..3 {
        publish(&mut lp, "old", &message);
    }
    let (_, out) = open(&mut lp, &get("/ch/old/poll?after=0"));
    assert_eq!((status(&out), header(&out, "Talkback-Missed").as_deref()), (200, Some("1")));
    assert!(body(&out).starts_with(r#"[{"id":2,"#), "{}", body(&out));
    publish(&mut lp, "new", &message);
    publish(&mut lp, "new", &message);
    assert!(lp.state().hub.shared().retained_bytes() <= budget);
    assert_eq!(channels(&mut lp), 1, "all of `old` was evicted, and nobody listens: freed");
    let (_, out) = open(&mut lp, &get("/ch/old/poll?after=1"));
    assert_eq!((status(&out), header(&out, "Talkback-Missed").as_deref()), (204, Some("2")));
    let (sse, out) = open(&mut lp, b"GET /ch/old/sse HTTP/1.1\r\nHost: t\r\nLast-Event-ID: 1\r\n\r\n");
    assert_eq!(events(&out), "event: missed\nid: 3\ndata: 2\n\n", "the notice moves the last event ID past the gap");
    let (poll, out) = open(&mut lp, &get("/ch/old/longpoll?after=1&timeout=30"));
    assert!(out.is_empty(), "nothing retained after its cursor: it waits");
    lp.advance(Duration::from_secs(1));
    assert_eq!(publish(&mut lp, "old", "back"), 4, "ids go on after the freed channel's");
    let answer = lp.take_output(poll);
    assert_eq!(header(&answer, "Talkback-Missed").as_deref(), Some("2"));
    assert_eq!(body(&answer), r#"[{"id":4,"data":"back"}]"#);
    assert_eq!(lp.take_output(sse), b"id: 4\ndata: back\n\n");
}

/// A long text is shared from the one copy the hub keeps (its SSE event), each transport's
/// framing written around it: every transport still gets exactly its own bytes.
#[test]
fn a_long_message_reaches_every_transport_byte_for_byte_from_its_one_copy() {
    let long = "L".repeat(60 * 1024);
    let mut lp = hub(|_| {});
    let (sse, _) = open(&mut lp, &get("/ch/big/sse"));
    let (ws, _) = open(&mut lp, &upgrade("/ch/big/ws"));
    let (poll, _) = open(&mut lp, &get("/ch/big/longpoll?timeout=30"));
    assert_eq!(publish(&mut lp, "big", &long), 1);
    assert_eq!(lp.take_output(sse), format!("id: 1\ndata: {long}\n\n").as_bytes());
    let frame = lp.take_output(ws);
    assert_eq!((&frame[..4], &frame[4..]), (&[0x81, 126, 0xf0, 0x00][..], long.as_bytes()), "text, 16-bit length");
    let answer = lp.take_output(poll);
    let expected = format!(r#"[{{"id":1,"data":"{long}"}}]"#);
    assert_eq!(header(&answer, "Content-Length"), Some(expected.len().to_string()));
    assert_eq!(body(&answer), expected);
    // A batch mixing long, short, escaped and multi-line texts: shared, copied, and kept apart.
    let texts = ["s".to_string(), format!("\"{long}\""), format!("a\n{long}"), long.clone()];
    for t in &texts {
        publish(&mut lp, "big", t);
    }
    lp.take_output(sse);
    let (_, out) = open(&mut lp, &get("/ch/big/poll?after=1"));
    let mut expected = b"[".to_vec();
    for (i, t) in texts.iter().enumerate() {
        if i > 0 {
            expected.push(b',');
        }
        encode_json_element(i as u64 + 2, t, &mut expected);
    }
    expected.push(b']');
    assert_eq!(header(&out, "Content-Length"), Some(expected.len().to_string()));
    assert_eq!(body(&out).as_bytes(), expected);
}
