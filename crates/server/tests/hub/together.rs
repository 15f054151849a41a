//! Everything together: concurrent publishers seen in one order by subscribers on both loops,
//! all four techniques on one channel at once, and backpressure on publishers.

use super::*;

/// Several publishers at once on a channel whose subscribers live on both loops: every
/// subscriber sees the same single order, ids 1..=N without a gap.
#[test]
fn concurrent_publishers_every_subscriber_sees_one_order() {
    const PUBLISHERS: u64 = 4;
    const EACH: u64 = 50;
    const N: u64 = PUBLISHERS * EACH;
    let server = spawn_hub(|_| {});
    let mut streams: Vec<Sse> = (0..6).map(|_| Sse::open(server.addr(), "/ch/many/sse", "")).collect();
    let mut sockets: Vec<Ws> = (0..6).map(|_| Ws::open(server.addr(), "/ch/many/ws")).collect();
    let addr = server.addr();
    let publishers: Vec<_> = (0..PUBLISHERS)
        .map(|p| {
            std::thread::spawn(move || {
                let mut client = Client::connect(addr);
                (0..EACH).map(|i| publish(&mut client, "many", &format!("p{p}-{i}"))).collect::<Vec<_>>()
            })
        })
        .collect();
    let mut ids: Vec<u64> = publishers.into_iter().flat_map(|p| p.join().expect("publisher")).collect();
    ids.sort_unstable();
    assert_eq!(ids, (1..=N).collect::<Vec<_>>(), "every publish got its own id");
    let order = streams[0].messages(N as usize);
    assert_eq!(order.iter().map(|(id, _)| *id).collect::<Vec<_>>(), ids, "SSE ids 1..=N in order");
    for (i, sse) in streams.iter_mut().enumerate().skip(1) {
        assert_eq!(sse.messages(N as usize), order, "SSE subscriber {i}");
    }
    for (i, ws) in sockets.iter_mut().enumerate() {
        let texts: Vec<String> = (0..N).map(|_| ws.next_text()).collect();
        assert!(texts.iter().eq(order.iter().map(|(_, data)| data)), "WebSocket subscriber {i}");
    }
}

#[test]
fn one_channel_reaches_poll_longpoll_sse_and_websocket_in_order() {
    const N: u64 = 20;
    let text = |id: u64| match id {
        5 => "two\nlines".to_string(),
        9 => "quote \" and ünïcødé 🎉".to_string(),
        _ => format!("message {id}"),
    };
    let server = spawn_hub(|_| {});
    let mut sse = Sse::open(server.addr(), "/ch/all/sse", "");
    let mut ws = Ws::open(server.addr(), "/ch/all/ws");
    let addr = server.addr();
    let longpoller = std::thread::spawn(move || {
        let mut client = Client::connect(addr);
        let mut got = Vec::new();
        for _ in 0..4 * N {
            let after = got.last().map_or(0, |(id, _)| *id);
            let response = client.request(&get(&format!("/ch/all/longpoll?after={after}&timeout=5")));
            if response.status == 200 {
                assert_eq!(response.header("talkback-missed"), None);
                got.extend(batch_of(&response));
            }
            if got.len() as u64 >= N {
                break;
            }
        }
        got
    });
    // Half by POST, half from the WebSocket itself (in order on one connection).
    let mut publisher = server.client();
    for id in 1..=N / 2 {
        assert_eq!(publish(&mut publisher, "all", &text(id)), id);
    }
    for id in N / 2 + 1..=N {
        ws.send_text(&text(id));
    }
    let expected = numbered(1..=N, text);
    assert_eq!(sse.messages(N as usize), expected, "SSE");
    let pushed: Vec<_> = (1..=N).map(|id| (id, ws.next_text())).collect();
    assert_eq!(pushed, expected, "WebSocket");
    assert_eq!(longpoller.join().expect("long-poll loop"), expected, "long-poll");
    assert_eq!(batch_of(&publisher.request(&get("/ch/all/poll?after=0"))), expected, "short poll");
}

/// Backpressure on publishers (publish.rs: a held `POST`): 50 pipelined `POST`s arrive in one read,
/// so the loop publishes faster than any loop can deliver and the later answers are held back
/// until the loops catch up. Every one is still answered, in order, with ids 1..=50, and every
/// message reaches a subscriber. The fallback wait is an hour, so each held answer must be
/// released by the loop whose delivery caught up (`HubMessage::CaughtUp`), on either loop.
#[test]
fn pipelined_publishes_are_held_back_then_all_answered_in_order() {
    let server = spawn_hub(|o| o.max_publish_wait = Duration::from_secs(3600));
    let mut subscriber = server.client();
    subscriber.send(&get("/ch/burst/sse"));
    subscriber.read_until(b"\r\n\r\n");
    let mut publisher = server.client();
    let burst: Vec<u8> = (1..=50).flat_map(|i| post("/ch/burst", format!("m{i}").as_bytes())).collect();
    publisher.send(&burst);
    for id in 1..=50u64 {
        let response = publisher.read_response();
        assert_eq!((response.status, response.text()), (200, id.to_string().as_str()), "answer {id}");
    }
    for id in 1..=50u64 {
        let event = String::from_utf8(subscriber.read_until(b"\n\n")).unwrap();
        assert_eq!(event, format!("id: {id}\ndata: m{id}\n\n"));
    }
}
