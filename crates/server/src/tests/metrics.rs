//! `/metrics` on the virtual clock: the gauges follow each connection's kind as it changes,
//! and the counters move with what the loop does (slow consumers, long-poll holds, bytes).

use std::collections::HashMap;
use std::time::Duration;

use talkback_reactor::testing::{ConnStatus, TestLoop};

use super::{body, get, hub, open, publish, status};
use crate::Conn;

/// Scrapes on a connection of its own; every sample by its series.
fn scrape(lp: &mut TestLoop<Conn>) -> HashMap<String, u64> {
    let (_, out) = open(lp, &get("/metrics"));
    assert_eq!(status(&out), 200);
    body(&out)
        .lines()
        .filter(|line| !line.starts_with('#'))
        .map(|line| {
            let (series, value) = line.rsplit_once(' ').expect("a sample");
            (series.to_string(), value.parse().expect("a number"))
        })
        .collect()
}

fn gauge(samples: &HashMap<String, u64>, technique: &str) -> u64 {
    samples[&format!("talkback_connections{{technique=\"{technique}\"}}")]
}

#[test]
fn a_slow_consumer_dropped_is_counted_and_leaves_the_gauge() {
    let mut lp = hub(|_| {}).with_output_cap(4096);
    let (slow, _) = open(&mut lp, &get("/ch/fan/sse"));
    let (reader, _) = open(&mut lp, &get("/ch/fan/sse"));
    for _ in 0..5 {
        publish(&mut lp, "fan", &"x".repeat(1000));
        lp.take_output(reader);
    }
    assert_eq!(lp.status(slow), ConnStatus::Aborted);
    let samples = scrape(&mut lp);
    assert_eq!(samples["talkback_slow_consumers_dropped_total"], 1);
    assert_eq!(gauge(&samples, "sse"), 1, "the reader only");
    assert_eq!(gauge(&samples, "http"), 6, "five publishers (keep-alive) and the scraper");
    assert_eq!(samples["talkback_messages_published_total"], 5);
    assert!(
        samples["talkback_deliveries_total{technique=\"sse\"}"] >= 5 + 4,
        "the reader's five, the slow one's first few"
    );
}

#[test]
fn a_long_poll_counts_as_longpoll_while_held_and_as_http_after() {
    let mut lp = hub(|_| {});
    let held = lp.connect();
    lp.send(held, &get("/ch/lp/longpoll?timeout=5"));
    let samples = scrape(&mut lp);
    assert_eq!((gauge(&samples, "longpoll"), gauge(&samples, "http")), (1, 1), "{samples:?}");
    lp.advance(Duration::from_secs(5));
    assert_eq!(status(&lp.take_output(held)), 204);
    let samples = scrape(&mut lp);
    assert_eq!((gauge(&samples, "longpoll"), gauge(&samples, "http")), (0, 3), "back to HTTP, keep-alive");
    let received = samples["talkback_bytes_received_total"];
    let sent = samples["talkback_bytes_sent_total"];
    assert!(received > 100 && sent > 100, "{received} {sent}");
    let again = scrape(&mut lp);
    assert!(again["talkback_bytes_sent_total"] > sent, "a scrape's own answer counts on the next one");
}
