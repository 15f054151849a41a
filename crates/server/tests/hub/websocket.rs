//! The hub's WebSocket route: publish and subscribe on one socket.

use super::*;

#[test]
fn websocket_publish_reaches_sse_subscribers() {
    let server = spawn_hub(|_| {});
    let mut sse = Sse::open(server.addr(), "/ch/wspub/sse", "");
    let mut ws = Ws::open(server.addr(), "/ch/wspub/ws");
    ws.send_text("from a websocket");
    ws.send_text("second");
    assert_eq!(sse.messages(2), [(1, "from a websocket".to_string()), (2, "second".to_string())]);
    assert_eq!(ws.next_text(), "from a websocket", "the sender hears its own message as a broadcast");
    assert_eq!(ws.next_text(), "second");
}

#[test]
fn websocket_receives_messages_published_by_post() {
    let server = spawn_hub(|_| {});
    let mut ws = Ws::open(server.addr(), "/ch/wsget/ws");
    publish(&mut server.client(), "wsget", "posted");
    assert_eq!(ws.next_text(), "posted");
}

#[test]
fn websocket_binary_frame_is_closed_with_1003() {
    let server = spawn_hub(|_| {});
    let mut ws = Ws::open(server.addr(), "/ch/wsbin/ws");
    ws.send_binary(b"\x00\x01");
    match ws.next_event() {
        Event::Close(Some(frame)) => assert_eq!(frame.code, 1003, "{frame:?}"),
        other => panic!("expected close 1003, got {other:?}"),
    }
    let mut rest = Vec::new();
    let _ = ws.stream.read_to_end(&mut rest);
    let poll = server.client().request(&get("/ch/wsbin/poll"));
    assert_eq!(poll.status, 204, "the binary message was not published");
}

#[test]
fn websocket_upgrade_on_an_invalid_channel_is_404() {
    let server = spawn_hub(|_| {});
    let mut client = server.client();
    let request = "GET /ch/bad!name/ws HTTP/1.1\r\nHost: t\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
                   Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n";
    assert_eq!(client.request(request.as_bytes()).status, 404);
}

#[test]
fn websocket_message_over_the_limit_is_closed_with_1009() {
    let server = spawn_hub(|_| {});
    let mut ws = Ws::open(server.addr(), "/ch/wsbig/ws");
    ws.send_text(&"b".repeat(64 << 10));
    assert_eq!(ws.next_text().len(), 64 << 10, "exactly the limit is published");
    ws.send_text(&"b".repeat((64 << 10) + 1));
    match ws.next_event() {
        Event::Close(Some(frame)) => assert_eq!(frame.code, 1009, "{frame:?}"),
        other => panic!("expected close 1009, got {other:?}"),
    }
}

#[test]
fn websocket_close_handshake_unsubscribes_and_others_keep_receiving() {
    let server = spawn_hub(|_| {});
    let mut leaving = Ws::open(server.addr(), "/ch/wsbye/ws");
    let mut staying = Ws::open(server.addr(), "/ch/wsbye/ws");
    leaving.ws.close(1000, "bye").expect("close");
    leaving.flush();
    match leaving.next_event() {
        Event::Close(Some(frame)) => assert_eq!(frame.code, 1000),
        other => panic!("expected the close reply, got {other:?}"),
    }
    let mut rest = Vec::new();
    assert_eq!(leaving.stream.read_to_end(&mut rest).map(|_| rest.len()).ok(), Some(0), "TCP closed, no frames");
    let mut publisher = server.client();
    for i in 1..=3 {
        publish(&mut publisher, "wsbye", &format!("m{i}"));
    }
    assert_eq!([(); 3].map(|_| staying.next_text()), ["m1", "m2", "m3"]);
}
