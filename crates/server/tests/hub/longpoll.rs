//! Long polling: a `GET /ch/{c}/longpoll` is held until a message or its deadline.

use super::*;

#[test]
fn longpoll_is_held_until_a_publish_releases_it() {
    let server = spawn_hub(|_| {});
    let mut waiter = server.client();
    waiter.send(&get("/ch/lp/longpoll?after=0&timeout=30"));
    assert_silent(&mut waiter, Duration::from_millis(300), "a long-poll with nothing newer");
    let started = Instant::now();
    publish(&mut server.client(), "lp", "wake up");
    let response = waiter.read_response();
    assert_eq!(batch_of(&response), [(1, "wake up".to_string())]);
    assert!(started.elapsed() < Duration::from_secs(2), "released at once, not at the timeout");
    assert_eq!(batch_of(&waiter.request(&get("/ch/lp/poll"))), [(1, "wake up".into())], "still keep-alive");
}

#[test]
fn longpoll_with_news_answers_at_once() {
    let server = spawn_hub(|_| {});
    let mut client = server.client();
    publish(&mut client, "lpnow", "a");
    publish(&mut client, "lpnow", "b");
    let response = client.request(&get("/ch/lpnow/longpoll?after=1&timeout=30"));
    assert_eq!(batch_of(&response), [(2, "b".to_string())]);
}

#[test]
fn longpoll_with_connection_close_is_answered_then_closed() {
    let server = spawn_hub(|_| {});
    let mut waiter = server.client();
    waiter.send(b"GET /ch/lpclose/longpoll?after=0&timeout=30 HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n");
    assert_silent(&mut waiter, Duration::from_millis(200), "parked");
    publish(&mut server.client(), "lpclose", "bye");
    let response = waiter.read_response();
    assert_eq!(batch_of(&response), [(1, "bye".to_string())]);
    assert!(response.closes(), "Connection: close in the answer");
    waiter.expect_close();
}

#[test]
fn longpoll_timeout_zero_answers_now() {
    let server = spawn_hub(|_| {});
    let started = Instant::now();
    let response = server.client().request(&get("/ch/lp0/longpoll?after=0&timeout=0"));
    assert_eq!(response.status, 204);
    assert!(started.elapsed() < Duration::from_millis(500));
}

#[test]
fn longpoll_after_ahead_of_the_log_holds_until_a_newer_id() {
    let server = spawn_hub(|_| {});
    let mut publisher = server.client();
    publish(&mut publisher, "ahead", "m1");
    publish(&mut publisher, "ahead", "m2");
    let mut waiter = server.client();
    waiter.send(&get("/ch/ahead/longpoll?after=5&timeout=30"));
    assert_silent(&mut waiter, Duration::from_millis(200), "cursor 5 with last id 2");
    for i in 3..=5 {
        publish(&mut publisher, "ahead", &format!("m{i}"));
    }
    assert_silent(&mut waiter, Duration::from_millis(200), "ids 3..=5 are not newer than 5");
    publish(&mut publisher, "ahead", "m6");
    assert_eq!(batch_of(&waiter.read_response()), [(6, "m6".to_string())]);
}

#[test]
fn longpoll_without_after_waits_for_the_next_message() {
    let server = spawn_hub(|_| {});
    let mut publisher = server.client();
    publish(&mut publisher, "next", "old");
    let mut waiter = server.client();
    waiter.send(&get("/ch/next/longpoll?timeout=30"));
    assert_silent(&mut waiter, Duration::from_millis(200), "no after: old messages do not count");
    publish(&mut publisher, "next", "new");
    assert_eq!(batch_of(&waiter.read_response()), [(2, "new".to_string())]);
}

#[test]
fn longpoll_cursor_older_than_history_sets_talkback_missed() {
    let server = spawn_hub(|o| o.history = 3);
    let mut client = server.client();
    for i in 1..=10 {
        publish(&mut client, "lphist", &format!("m{i}"));
    }
    let response = client.request(&get("/ch/lphist/longpoll?after=2&timeout=30"));
    assert_eq!(batch_of(&response), numbered(8..=10, |id| format!("m{id}")));
    assert_eq!(response.header("talkback-missed"), Some("5"));
}

#[test]
fn longpoll_pipelined_request_behind_a_parked_one_is_answered_after_release_in_order() {
    let server = spawn_hub(|_| {});
    let mut client = server.client();
    let mut pipelined = get("/ch/pipe/longpoll?after=0&timeout=30");
    pipelined.extend_from_slice(&get("/ch/pipe/poll?after=0"));
    pipelined.extend_from_slice(&post("/ch/pipe", b"second"));
    pipelined.extend_from_slice(&get("/ch/other/poll"));
    client.send(&pipelined);
    assert_silent(&mut client, Duration::from_millis(300), "the first request is parked; the rest wait");
    publish(&mut server.client(), "pipe", "released");
    let first = client.read_response();
    assert_eq!(batch_of(&first), [(1, "released".to_string())], "the long-poll first");
    let second = client.read_response();
    assert_eq!(batch_of(&second), [(1, "released".to_string())], "then the pipelined poll");
    assert_eq!(client.read_response().text(), "2", "then the pipelined publish on the same channel");
    assert_eq!(client.read_response().status, 204, "then the poll of another channel");
}

#[test]
fn disconnect_while_parked_frees_the_slot_at_once() {
    // One loop, one connection allowed: a parked long-poll holds the only slot.
    let server = spawn_hub(|o| {
        o.threads = 1;
        o.max_connections = 1;
    });
    let mut parked = server.client();
    parked.send(&get("/ch/slot/longpoll?after=0&timeout=60"));
    assert_silent(&mut parked, Duration::from_millis(200), "parked");
    // The control: while it is parked, another connection is refused (closed unanswered).
    assert!(try_request(server.addr(), &get("/ch/slot/poll")).is_none(), "over max_connections: refused");
    drop(parked);
    // Well below the 60 s hold: the slot is back as soon as the loop sees the FIN.
    let started = Instant::now();
    let answered = (0..20).find_map(|_| {
        try_request(server.addr(), &get("/ch/slot/poll")).or_else(|| {
            std::thread::sleep(Duration::from_millis(50));
            None
        })
    });
    let response = answered.expect("a new connection is served after the parked client left");
    assert_eq!(response.status, 204);
    assert!(started.elapsed() < Duration::from_secs(3), "freed at once, not at the hold's end");
}
