//! WebSocket frames with ids: the `talkback.json` subprotocol and `?after=N`.

use super::*;

const JSON: &str = "talkback.json";

/// Opens `target` offering `talkback.json`; checks the server chose it.
fn open_json(addr: SocketAddr, target: &str) -> Ws {
    let (ws, protocol) = Ws::connect(addr, target, &[JSON], "").unwrap_or_else(|r| panic!("101 expected: {r:?}"));
    assert_eq!(protocol.as_deref(), Some(JSON), "RFC 6455 §4.2.2: the server selects the offered subprotocol");
    ws
}

/// The next frame as `(id, data)`, parsed as the `/poll` element it must be.
fn next_element(ws: &mut Ws) -> (u64, String) {
    let text = ws.next_text();
    let mut batch = parse_batch(&format!("[{text}]"));
    assert_eq!(batch.len(), 1, "{text}");
    batch.remove(0)
}

#[test]
fn rfc6455_4_2_2_talkback_json_frames_are_the_poll_element() {
    let server = spawn_hub(|_| {});
    let mut ws = open_json(server.addr(), "/ch/j1/ws");
    let mut publisher = server.client();
    let long = "L".repeat(5000); // shared from the hub's copy, not copied
    let texts = ["plain", "say \"hi\"\nsecond line", "é ✓", long.as_str()];
    for text in texts {
        publish(&mut publisher, "j1", text);
    }
    for (i, text) in texts.iter().enumerate() {
        assert_eq!(next_element(&mut ws), (i as u64 + 1, text.to_string()));
    }
    let poll = publisher.request(&get("/ch/j1/poll?after=1"));
    let framed: Vec<_> = (2..=4).map(|id| (id, texts[id as usize - 1].to_string())).collect();
    assert_eq!(batch_of(&poll), framed, "the same elements as /poll");
}

#[test]
fn without_the_subprotocol_frames_stay_plain_text() {
    let server = spawn_hub(|_| {});
    let (mut ws, protocol) = Ws::connect(server.addr(), "/ch/j2/ws", &["other"], "").expect("101");
    assert_eq!(protocol, None, "an unknown subprotocol is not chosen");
    publish(&mut server.client(), "j2", "just text");
    assert_eq!(ws.next_text(), "just text");
}

#[test]
fn a_talkback_json_client_sending_non_json_is_just_publishing_text() {
    let server = spawn_hub(|_| {});
    let mut ws = open_json(server.addr(), "/ch/j3/ws");
    ws.send_text("not {json");
    assert_eq!(ws.next_text(), r#"{"published":1}"#);
    assert_eq!(next_element(&mut ws), (1, "not {json".to_string()));
    let poll = server.client().request(&get("/ch/j3/poll"));
    assert_eq!(batch_of(&poll), [(1, "not {json".to_string())]);
}

#[test]
fn a_talkback_json_socket_is_told_the_id_of_each_message_it_publishes_in_order() {
    let server = spawn_hub(|_| {});
    let mut publisher = server.client();
    publish(&mut publisher, "j5", "before");
    let mut ws = open_json(server.addr(), "/ch/j5/ws?after=1");
    for text in ["one", "two", "three"] {
        ws.send_text(text);
    }
    // Each acknowledgement before its own message (the id is known when the hub takes it);
    // every message of the channel, the socket's own included, as elements.
    let mut acks = Vec::new();
    let mut elements = Vec::new();
    while elements.len() < 3 {
        let text = ws.next_text();
        match text.strip_prefix(r#"{"published":"#).and_then(|rest| rest.strip_suffix('}')) {
            Some(id) => acks.push(id.parse::<u64>().expect("an id")),
            None => elements.push(parse_batch(&format!("[{text}]")).remove(0)),
        }
    }
    assert_eq!(acks, [2, 3, 4], "one per message sent, in the order sent");
    assert_eq!(elements, [(2, "one".into()), (3, "two".into()), (4, "three".into())]);
    // A plain-text socket is told nothing: it could not tell an answer from a message.
    let mut plain = Ws::open(server.addr(), "/ch/j5/ws?after=4");
    plain.send_text("plain");
    assert_eq!(plain.next_text(), "plain");
}

#[test]
fn after_replays_the_retained_messages_then_live_ones() {
    let server = spawn_hub(|_| {});
    let mut publisher = server.client();
    for i in 1..=3 {
        publish(&mut publisher, "j4", &format!("m{i}"));
    }
    let mut ws = open_json(server.addr(), "/ch/j4/ws?after=1");
    assert_eq!(next_element(&mut ws), (2, "m2".to_string()));
    assert_eq!(next_element(&mut ws), (3, "m3".to_string()));
    publish(&mut publisher, "j4", "m4");
    assert_eq!(next_element(&mut ws), (4, "m4".to_string()));
    let mut plain = Ws::open(server.addr(), "/ch/j4/ws?after=3");
    assert_eq!(plain.next_text(), "m4", "a plain-text socket is replayed too");
}

#[test]
fn after_switches_from_replay_to_live_with_no_gap_and_no_duplicate() {
    let server = spawn_hub(|_| {});
    let addr = server.addr();
    let total = 400;
    let publisher = std::thread::spawn(move || {
        let mut client = Client::connect(addr);
        for i in 1..=total {
            publish(&mut client, "j5", &format!("n{i}"));
        }
    });
    let mut sockets = Vec::new();
    // Sockets opened while the publisher runs, each resuming from wherever it is then.
    for _ in 0..8 {
        std::thread::sleep(Duration::from_millis(3));
        let last = server.client().request(&get("/ch/j5/poll"));
        let after = if last.status == 204 { 0 } else { batch_of(&last).last().map_or(0, |m| m.0) / 2 };
        sockets.push((after, open_json(addr, &format!("/ch/j5/ws?after={after}"))));
    }
    publisher.join().expect("publisher");
    for (after, mut ws) in sockets {
        for id in after + 1..=total {
            assert_eq!(next_element(&mut ws), (id, format!("n{id}")), "resumed after {after}");
        }
    }
}

#[test]
fn a_cursor_older_than_the_history_first_gets_missed() {
    let server = spawn_hub(|options| options.history = 3);
    let mut publisher = server.client();
    for i in 1..=6 {
        publish(&mut publisher, "j6", &format!("m{i}"));
    }
    let mut ws = open_json(server.addr(), "/ch/j6/ws?after=1");
    assert_eq!(ws.next_text(), r#"{"missed":2}"#, "ids 2 and 3 are gone");
    assert_eq!([(); 3].map(|_| next_element(&mut ws)), [4, 5, 6].map(|id| (id, format!("m{id}"))));
}

#[test]
fn an_after_that_is_not_a_number_is_400_before_the_upgrade() {
    let server = spawn_hub(|_| {});
    for target in ["/ch/j7/ws?after=abc", "/ch/j7/ws?after=-1", "/ch/j7/ws?after="] {
        let refused = Ws::connect(server.addr(), target, &[JSON], "").err().expect("refused");
        assert_eq!(refused.status, 400, "{target}: {refused:?}");
    }
}
