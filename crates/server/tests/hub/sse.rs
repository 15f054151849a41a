//! Server-Sent Events: one open `text/event-stream` response per subscriber.

use super::*;

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

#[test]
fn sse_head_is_an_uncached_event_stream() {
    let server = spawn_hub(|_| {});
    let sse = Sse::open(server.addr(), "/ch/head/sse", "");
    assert_eq!(sse.header("content-type"), Some("text/event-stream"));
    assert_eq!(sse.header("cache-control"), Some("no-cache"));
    assert_eq!(sse.header("content-length"), None, "the body runs until close");
}

#[test]
fn sse_events_arrive_in_order_with_their_ids() {
    let server = spawn_hub(|_| {});
    let mut sse = Sse::open(server.addr(), "/ch/order/sse", "");
    let mut publisher = server.client();
    publish(&mut publisher, "order-other", "another channel");
    for i in 1..=50 {
        publish(&mut publisher, "order", &format!("message {i}"));
    }
    assert_eq!(sse.messages(50), numbered(1..=50, |id| format!("message {id}")));
    assert!(sse.raw.starts_with(b"id: 1\ndata: message 1\n\n"), "{:?}", String::from_utf8_lossy(&sse.raw[..40]));
}

#[test]
fn sse_without_a_cursor_starts_at_the_next_message() {
    let server = spawn_hub(|_| {});
    let mut publisher = server.client();
    publish(&mut publisher, "fresh", "before");
    let mut sse = Sse::open(server.addr(), "/ch/fresh/sse", "");
    publish(&mut publisher, "fresh", "after");
    assert_eq!(sse.messages(1), [(2, "after".to_string())]);
}

#[test]
fn sse_last_event_id_header_replays_later_messages() {
    let server = spawn_hub(|_| {});
    let mut publisher = server.client();
    for i in 1..=5 {
        publish(&mut publisher, "replay", &format!("m{i}"));
    }
    let mut sse = Sse::open(server.addr(), "/ch/replay/sse", "Last-Event-ID: 2\r\n");
    publish(&mut publisher, "replay", "m6");
    assert_eq!(sse.messages(4), numbered(3..=6, |id| format!("m{id}")), "replay then live, no gap, no repeat");
}

#[test]
fn sse_last_event_id_query_replays_later_messages() {
    let server = spawn_hub(|_| {});
    let mut publisher = server.client();
    for i in 1..=5 {
        publish(&mut publisher, "replayq", &format!("m{i}"));
    }
    let mut sse = Sse::open(server.addr(), "/ch/replayq/sse?lastEventId=3", "");
    publish(&mut publisher, "replayq", "m6");
    assert_eq!(sse.messages(3), numbered(4..=6, |id| format!("m{id}")));
}

#[test]
fn sse_cursor_older_than_history_sends_missed_first() {
    let server = spawn_hub(|o| o.history = 3);
    let mut publisher = server.client();
    for i in 1..=10 {
        publish(&mut publisher, "missed", &format!("m{i}"));
    }
    let mut sse = Sse::open(server.addr(), "/ch/missed/sse", "Last-Event-ID: 2\r\n");
    let missed = sse.next_event();
    assert_eq!((missed.event_type.as_str(), missed.data.as_str()), ("missed", "5"), "ids 3..=7 are gone");
    assert_eq!(sse.messages(3), numbered(8..=10, |id| format!("m{id}")));
    assert!(sse.raw.starts_with(b"event: missed\ndata: 5\n\n"));
}

#[test]
fn sse_message_with_line_breaks_becomes_several_data_lines() {
    let server = spawn_hub(|_| {});
    let mut sse = Sse::open(server.addr(), "/ch/lines/sse", "");
    publish(&mut server.client(), "lines", "a\nb\r\nc\rd");
    let event = sse.next_event();
    assert_eq!(event.data, "a\nb\nc\nd", "every line end arrives as LF");
    assert_eq!(sse.raw, b"id: 1\ndata: a\ndata: b\ndata: c\ndata: d\n\n");
}

#[test]
fn slow_sse_consumer_is_dropped_while_a_reader_gets_every_message() {
    const MESSAGES: usize = 1500;
    const SIZE: usize = 16 << 10;
    let server = spawn_hub(|o| o.output_cap = 64 << 10);
    let stalled = Sse::open(server.addr(), "/ch/slow/sse", "");
    let mut reader = Sse::open(server.addr(), "/ch/slow/sse", "");
    // The reader says how far it got, and the publisher stays at most a few messages ahead
    // of it: on a loaded machine a reader thread descheduled for a while must not look like
    // a slow consumer (the output cap is 64 KiB, four messages).
    let got = Arc::new(AtomicUsize::new(0));
    let progress = Arc::clone(&got);
    let reading = std::thread::spawn(move || {
        let mut ids = Vec::with_capacity(MESSAGES);
        for _ in 0..MESSAGES {
            let (id, data) = reader.messages(1).remove(0);
            assert_eq!(data.len(), SIZE);
            ids.push(id);
            progress.fetch_add(1, Ordering::Relaxed);
        }
        ids
    });
    let mut publisher = server.client();
    let body = "s".repeat(SIZE);
    for sent in 0..MESSAGES {
        let deadline = Instant::now() + Duration::from_secs(10);
        while sent > got.load(Ordering::Relaxed) + 2 && Instant::now() < deadline && !reading.is_finished() {
            std::thread::sleep(Duration::from_micros(200));
        }
        publish(&mut publisher, "slow", &body);
    }
    let ids = reading.join().expect("the reading subscriber got every message");
    assert_eq!(ids, (1..=MESSAGES as u64).collect::<Vec<_>>());
    // The stalled one: whatever the kernel buffered, then the end of the stream, long before
    // all 24 MiB could have been queued for it.
    let mut stalled = stalled;
    let deadline = Instant::now() + Duration::from_secs(10);
    for _ in 0..100_000 {
        if !stalled.read_more(deadline) {
            break;
        }
    }
    let received = std::iter::from_fn(|| stalled.parser.poll_event()).count();
    assert!(received < MESSAGES, "the stalled subscriber was cut off (it got {received} of {MESSAGES})");
    eprintln!("stalled subscriber cut off after {received} of {MESSAGES} messages ({} bytes)", stalled.raw.len());
}
