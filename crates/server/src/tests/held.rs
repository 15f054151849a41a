//! The held `POST` (README, "Limits": publisher ahead of delivery) on the virtual clock.

use std::time::Duration;

use talkback_reactor::testing::ConnStatus;

use super::{body, get, hub, post, status, text};

#[test]
fn a_post_is_held_until_the_loop_delivers_the_backlog() {
    let mut lp = hub(|o| o.max_ahead = 0);
    let publisher = lp.connect();
    lp.send(publisher, &post("/ch/bp", "m1"));
    assert!(lp.take_output(publisher).is_empty(), "one broadcast undelivered, none allowed ahead: held");
    assert_eq!(lp.deliver_inbox(), 1);
    let answer = lp.take_output(publisher);
    assert_eq!((status(&answer), body(&answer)), (200, "1".to_string()), "answered once delivered");
    lp.send(publisher, &post("/ch/bp", "m2"));
    lp.deliver_inbox();
    assert_eq!(body(&lp.take_output(publisher)), "2", "and the connection goes on");
}

#[test]
fn a_held_post_is_answered_after_max_publish_wait_even_if_delivery_lags() {
    let mut lp = hub(|o| {
        o.max_ahead = 0;
        o.max_publish_wait = Duration::from_secs(1);
    });
    let publisher = lp.connect();
    lp.send(publisher, &post("/ch/slow", "m1"));
    lp.advance(Duration::from_millis(999)); // no deadline is due; then the inbox is delivered...
    let early = lp.take_output(publisher);
    assert_eq!(body(&early), "1", "...which catches the loop up: {}", text(&early));

    // Now the deadline comes before the delivery.
    let mut lp = hub(|o| {
        o.max_ahead = 0;
        o.max_publish_wait = Duration::from_secs(1);
    });
    let publisher = lp.connect();
    lp.send(publisher, &post("/ch/slow", "m1"));
    lp.send(publisher, &get("/ch/slow/poll?after=0")); // pipelined behind the held POST
    assert!(lp.take_output(publisher).is_empty());
    // The deadline fires first (then `advance` delivers the inbox, too late to matter).
    lp.advance(Duration::from_secs(1));
    let answers = text(&lp.take_output(publisher));
    assert!(answers.starts_with("HTTP/1.1 200 OK"), "{answers}");
    assert_eq!(answers.matches("HTTP/1.1 200 OK").count(), 2, "the POST's answer, then the poll's: {answers}");
    assert!(answers.ends_with(r#"[{"id":1,"data":"m1"}]"#), "{answers}");
    lp.advance(Duration::from_secs(5));
    assert!(lp.take_output(publisher).is_empty(), "the late catch-up found nothing held: no second answer");
}

/// Bytes that arrive while a request is held are kept — up to one request head's worth; a
/// flood behind a held request drops the connection.
#[test]
fn a_flood_behind_a_held_request_drops_the_connection() {
    let mut lp = hub(|o| o.http.max_head = 1024);
    let poll = lp.connect();
    lp.send(poll, &get("/ch/flood/longpoll?after=0&timeout=30"));
    lp.send(poll, &vec![b'x'; 512]);
    assert_eq!(lp.status(poll), ConnStatus::Open, "half a head's worth is kept");
    lp.send(poll, &vec![b'x'; 600]);
    assert_eq!(lp.status(poll), ConnStatus::Aborted);
}
