//! Long polling on the virtual clock (README, "The hub's URLs": `/longpoll`).

use std::time::Duration;

use talkback_reactor::testing::ConnStatus;

use super::{body, get, hub, open, publish, status, text};

#[test]
fn a_hold_with_nothing_new_ends_with_204_at_its_timeout() {
    let mut lp = hub(|_| {});
    let (poll, out) = open(&mut lp, &get("/ch/lp/longpoll?after=0&timeout=5"));
    assert!(out.is_empty(), "held: nothing written yet");
    lp.advance(Duration::from_millis(4_999));
    assert!(lp.take_output(poll).is_empty(), "still held");
    lp.advance(Duration::from_millis(1));
    let answer = lp.take_output(poll);
    assert_eq!(status(&answer), 204, "{}", text(&answer));
    // Back to HTTP: the next request on the connection is answered at once.
    lp.send(poll, &get("/ch/lp/poll"));
    assert_eq!(status(&lp.take_output(poll)), 204);
}

#[test]
fn no_timeout_means_the_default_30_s_hold_capped_by_max_hold() {
    let mut lp = hub(|o| o.max_hold = Duration::from_secs(20));
    let (capped, _) = open(&mut lp, &get("/ch/cap/longpoll?after=0&timeout=60"));
    let (default, _) = open(&mut lp, &get("/ch/cap/longpoll?after=0"));
    lp.advance(Duration::from_secs(20));
    assert_eq!(status(&lp.take_output(capped)), 204, "60 s asked, 20 s allowed");
    assert_eq!(status(&lp.take_output(default)), 204, "the default hold (30 s) is capped to 20 s too");
    let mut lp = hub(|_| {});
    let (default, _) = open(&mut lp, &get("/ch/d/longpoll?after=0"));
    lp.advance(Duration::from_millis(29_999));
    assert!(lp.take_output(default).is_empty());
    lp.advance(Duration::from_millis(1));
    assert_eq!(status(&lp.take_output(default)), 204, "30 s by default");
}

#[test]
fn a_publish_releases_the_hold_with_the_batch_and_clears_its_timer() {
    let mut lp = hub(|_| {});
    let (poll, _) = open(&mut lp, &get("/ch/rel/longpoll?after=0&timeout=5"));
    lp.advance(Duration::from_secs(2));
    publish(&mut lp, "rel", "hello");
    let answer = lp.take_output(poll);
    assert_eq!(status(&answer), 200);
    assert_eq!(body(&answer), r#"[{"id":1,"data":"hello"}]"#);
    lp.advance(Duration::from_secs(10));
    assert!(lp.take_output(poll).is_empty(), "no 204 later: the hold is over");
    assert_eq!(lp.status(poll), ConnStatus::Open, "kept alive");
}

/// The hold outlasts the head and keep-alive timeouts: the connection is waiting for us.
#[test]
fn a_hold_outlasts_the_head_and_keepalive_timeouts() {
    let mut lp = hub(|o| {
        o.head_timeout = Duration::from_secs(1);
        o.keepalive_timeout = Duration::from_secs(1);
    });
    let (poll, _) = open(&mut lp, &get("/ch/out/longpoll?after=0&timeout=3"));
    lp.advance(Duration::from_secs(2));
    assert_eq!(lp.status(poll), ConnStatus::Open);
    assert!(lp.take_output(poll).is_empty());
    lp.advance(Duration::from_secs(1));
    assert_eq!(status(&lp.take_output(poll)), 204);
}

/// RFC 9112 §9.3.2 (pipelining): a request sent behind a held one waits, then is answered in
/// order once the held one is.
#[test]
fn rfc9112_9_3_2_a_request_pipelined_behind_a_hold_is_answered_after_it() {
    let mut lp = hub(|_| {});
    let mut both = get("/ch/pipe/longpoll?after=0&timeout=5");
    both.extend_from_slice(&get("/ch/pipe/poll?after=0"));
    let (poll, out) = open(&mut lp, &both);
    assert!(out.is_empty(), "the second request waits behind the first");
    publish(&mut lp, "pipe", "one");
    let answers = text(&lp.take_output(poll));
    assert_eq!(answers.matches("HTTP/1.1 200 OK").count(), 2, "{answers}");
    assert!(answers.ends_with(r#"[{"id":1,"data":"one"}]"#));
}

#[test]
fn connection_close_on_a_held_request_closes_after_its_answer() {
    let mut lp = hub(|_| {});
    let request = b"GET /ch/cl/longpoll?after=0&timeout=2 HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n";
    let (poll, _) = open(&mut lp, request);
    lp.advance(Duration::from_secs(2));
    let answer = text(&lp.take_output(poll));
    assert!(answer.starts_with("HTTP/1.1 204"), "{answer}");
    assert!(answer.contains("Connection: close\r\n"), "{answer}");
    assert_eq!(lp.status(poll), ConnStatus::Closing);
}

#[test]
fn a_client_that_hangs_up_while_held_is_unparked_at_once() {
    let mut lp = hub(|_| {});
    let (poll, _) = open(&mut lp, &get("/ch/gone/longpoll?after=0&timeout=60"));
    lp.peer_close(poll);
    assert_eq!(lp.status(poll), ConnStatus::Aborted);
    assert_eq!(publish(&mut lp, "gone", "nobody waits"), 1, "the hub no longer names it: nothing to release");
}
