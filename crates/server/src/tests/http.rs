//! HTTP timeouts on the virtual clock (README, "Limits").

use std::time::Duration;

use talkback_reactor::testing::ConnStatus;

use super::{get, status, test_loop, text};
use crate::Service;

/// RFC 9110 §15.5.9 (408): a head that does not arrive within `--head-timeout` is answered
/// 408 with `Connection: close` — the slow-loris defence.
#[test]
fn rfc9110_15_5_9_a_head_not_received_in_time_gets_408_and_close() {
    let mut lp = test_loop(Service::HttpEcho, 16 << 20, |o| o.head_timeout = Duration::from_secs(10));
    let conn = lp.connect();
    lp.send(conn, b"GET / HTTP/1.1\r\nHost");
    lp.advance(Duration::from_millis(9_999));
    assert!(lp.take_output(conn).is_empty());
    lp.advance(Duration::from_millis(1));
    let answer = text(&lp.take_output(conn));
    assert!(answer.starts_with("HTTP/1.1 408 Request Timeout\r\n"), "{answer}");
    assert!(answer.contains("Connection: close\r\n"));
    assert_eq!(lp.status(conn), ConnStatus::Closing);
}

/// The head timeout bounds the whole head, not each byte: trickling bytes does not extend it.
#[test]
fn trickled_bytes_do_not_extend_the_head_timeout() {
    let mut lp = test_loop(Service::HttpEcho, 16 << 20, |o| o.head_timeout = Duration::from_secs(10));
    let conn = lp.connect();
    for byte in b"GET / HTTP/1.1\r\nHo" {
        lp.send(conn, &[*byte]);
        lp.advance(Duration::from_millis(500));
    }
    assert!(lp.take_output(conn).is_empty(), "18 bytes in 9 s: still waiting for the rest of the head");
    lp.advance(Duration::from_secs(1));
    assert_eq!(
        status(&lp.take_output(conn)),
        408,
        "the timeout counts from the first byte's connection, not the last byte"
    );
}

/// An idle keep-alive connection is closed after `--keepalive-timeout`, silently; each
/// answered request starts the interval again.
#[test]
fn an_idle_keepalive_connection_closes_after_its_timeout() {
    let mut lp = test_loop(Service::HttpEcho, 16 << 20, |o| o.keepalive_timeout = Duration::from_secs(60));
    let conn = lp.connect();
    lp.send(conn, &get("/"));
    assert_eq!(status(&lp.take_output(conn)), 200);
    lp.advance(Duration::from_secs(59));
    lp.send(conn, &get("/"));
    assert_eq!(status(&lp.take_output(conn)), 200);
    lp.advance(Duration::from_secs(59));
    assert_eq!(lp.status(conn), ConnStatus::Open, "the second request restarted the interval");
    lp.advance(Duration::from_secs(1));
    assert!(lp.take_output(conn).is_empty(), "closed without an answer");
    assert_eq!(lp.status(conn), ConnStatus::Closing);
}

/// RFC 9110 §9.3.7: an `OPTIONS` with content (allowed, with no defined meaning here) is
/// answered 200 with `Allow` once the content is read and dropped, and the connection goes on
/// to the next request.
#[test]
fn rfc9110_9_3_7_options_content_is_read_and_dropped() {
    let mut lp = test_loop(Service::Hub(crate::HubRoutes::ALL), 64 << 10, |_| {});
    let conn = lp.connect();
    lp.send(conn, b"OPTIONS /ch/x HTTP/1.1\r\nHost: t\r\nContent-Length: 3\r\n\r\nab");
    assert!(lp.take_output(conn).is_empty(), "answered once the content is in");
    lp.send(conn, b"c");
    let answer = text(&lp.take_output(conn));
    assert!(answer.starts_with("HTTP/1.1 200 OK\r\n"), "{answer}");
    assert!(answer.contains("\r\nAllow: POST, OPTIONS\r\n") && answer.contains("\r\nContent-Length: 0\r\n"));
    lp.send(conn, &get("/ch/x/poll"));
    assert_eq!(status(&lp.take_output(conn)), 204, "the same connection, the next request");
}

/// RFC 9110 §6.6.1: `Date` is the origin's wall clock at the response. The loop re-reads the
/// wall clock only once its own clock has passed the second the value shows, so the value is
/// the wall clock's (not one counted from the loop's clock), and a turn of the next second
/// reads it again.
#[test]
fn rfc9110_6_6_1_date_is_the_wall_clock_re_read_once_a_second() {
    use std::time::{SystemTime, UNIX_EPOCH};
    let wall = || SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_secs();
    let formatted = |secs: u64| {
        let mut cache = talkback_http1::DateCache::new();
        cache.update(secs);
        String::from_utf8(cache.value().to_vec()).unwrap()
    };
    let date_of = |answer: &str| -> String {
        let line = answer.lines().find(|l| l.starts_with("Date: ")).expect("a Date field");
        line["Date: ".len()..].to_string()
    };
    // Each wall-clock window opens before the turn that reads the clock (the loop is made,
    // the clock advanced) and closes after the answer.
    let before = wall();
    let mut lp = test_loop(Service::HttpEcho, 16 << 20, |_| {});
    let conn = lp.connect();
    lp.send(conn, &get("/"));
    let first = date_of(&text(&lp.take_output(conn)));
    assert!((before..=wall()).any(|s| formatted(s) == first), "{first} is the wall clock");
    // An hour on the loop's clock, none on the wall clock: the next turn re-reads the wall
    // clock and shows it, not the loop's time. (The keep-alive timeout has closed the first
    // connection by then.)
    let before = wall();
    lp.advance(Duration::from_secs(3600));
    let conn = lp.connect();
    lp.send(conn, &get("/"));
    let later = date_of(&text(&lp.take_output(conn)));
    assert!((before..=wall()).any(|s| formatted(s) == later), "{later} is still the wall clock");
    assert!(lp.state().date_valid_until().is_some_and(|until| until > lp.now()), "valid until a later turn");
    assert!(lp.state().date_valid_until().unwrap() <= lp.now() + Duration::from_secs(1), "for at most a second");
}
