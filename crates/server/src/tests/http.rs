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
