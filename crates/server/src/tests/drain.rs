//! The graceful drain (README, "Limits": `--drain-timeout`) on the virtual clock: what each
//! kind of connection says when the loop asks it to finish (`Handler::on_drain`), and what
//! becomes of a request that completes during the drain.

use std::time::Duration;

use talkback_reactor::testing::ConnStatus;
use talkback_ws::OpCode;

use super::websocket::{client_frame, upgrade};
use super::{body, get, hub, open, post, status, test_loop, text};
use crate::Service;

/// RFC 6455 §7.4.1: "1001 indicates that an endpoint is 'going away', such as a server going
/// down": FIN + close opcode, a 12-byte payload (the code, 0x03E9, then the reason).
const CLOSE_1001: &[u8] = b"\x88\x0c\x03\xe9going away";

/// RFC 9112 §9.6: a server may close an idle connection; the client opens a new one. Nothing
/// is written — there is no request to answer.
#[test]
fn rfc9112_9_6_an_idle_keepalive_connection_closes_at_once_without_a_word() {
    let mut lp = hub(|_| {});
    let (served, answer) = open(&mut lp, &get("/ch/idle/poll"));
    assert_eq!(status(&answer), 204);
    let fresh = lp.connect();
    lp.drain();
    for id in [served, fresh] {
        assert!(lp.take_output(id).is_empty());
        assert_eq!(lp.status(id), ConnStatus::Closing, "FIN sent, lingering for the peer's");
    }
}

/// A request in flight when the drain begins is answered — with `Connection: close`, RFC
/// 9112 §9.6: "A server that sends a "close" connection option MUST initiate closure of the
/// connection ... after it sends the response containing "close"" — then the connection closes.
#[test]
fn rfc9112_9_6_a_request_in_flight_is_answered_with_connection_close_then_closed() {
    let mut lp = hub(|_| {});
    let head = lp.connect();
    lp.send(head, b"GET /ch/half/poll HTTP/1.1\r\nHost: t\r\n");
    let body_left = lp.connect();
    lp.send(body_left, b"POST /ch/half HTTP/1.1\r\nHost: t\r\nContent-Length: 5\r\n\r\nhe");
    lp.drain();
    assert_eq!((lp.status(head), lp.status(body_left)), (ConnStatus::Open, ConnStatus::Open), "waiting for the rest");

    lp.send(head, b"\r\n");
    let answer = text(&lp.take_output(head));
    assert!(answer.starts_with("HTTP/1.1 204 No Content\r\n"), "{answer}");
    assert!(answer.contains("\r\nConnection: close\r\n"), "{answer}");
    assert_eq!(lp.status(head), ConnStatus::Closing);

    // A publish during the drain is still a publish: the message is in the channel.
    lp.send(body_left, b"llo");
    let answer = lp.take_output(body_left);
    assert_eq!((status(&answer), body(&answer)), (200, "1".to_string()), "{}", text(&answer));
    assert!(text(&answer).contains("\r\nConnection: close\r\n"));
    assert_eq!(lp.status(body_left), ConnStatus::Closing);
    assert_eq!(lp.state().hub.messages_after("half", 0).messages.len(), 1);
}

/// A pipelined request behind the one in flight is not read: `Connection: close` on the
/// first answer tells the client to send it again (RFC 9112 §9.3.2, retrying).
#[test]
fn a_request_pipelined_behind_the_one_in_flight_is_left_for_the_client_to_retry() {
    let mut lp = hub(|_| {});
    let conn = lp.connect();
    lp.send(conn, b"GET /ch/pipe/poll HTTP/1.1\r\nHost: t\r\n");
    lp.drain();
    let mut rest = b"\r\n".to_vec();
    rest.extend_from_slice(&get("/ch/pipe/poll"));
    lp.send(conn, &rest);
    let answers = text(&lp.take_output(conn));
    assert_eq!(answers.matches("HTTP/1.1 ").count(), 1, "{answers}");
    assert_eq!(lp.status(conn), ConnStatus::Closing);
}

/// RFC 6455 §7.4.1 (1001) and §7.1.2: the server starts the close handshake; the client's
/// close completes it and the server closes TCP first (§7.1.1). ws-echo drains the same way.
#[test]
fn rfc6455_7_4_1_a_websocket_gets_close_1001_going_away_and_the_handshake_ends_it() {
    for (mut lp, target) in [(hub(|_| {}), "/ch/ws/ws"), (test_loop(Service::WsEcho, 16 << 20, |_| {}), "/")] {
        let (ws, head) = open(&mut lp, &upgrade(target));
        assert!(text(&head).starts_with("HTTP/1.1 101 "));
        lp.drain();
        assert_eq!(lp.take_output(ws), CLOSE_1001);
        assert_eq!(lp.status(ws), ConnStatus::Open, "waiting for the client's close");
        lp.send(ws, &client_frame(OpCode::Close, &[0x03, 0xe9]));
        assert!(lp.take_output(ws).is_empty(), "our close is already sent");
        assert_eq!(lp.status(ws), ConnStatus::Closing);
    }
}

/// A client that never answers the close holds the connection for the close timeout (5 s) at
/// most; the loop's drain deadline bounds it too.
#[test]
fn a_websocket_that_ignores_the_close_is_closed_after_the_close_timeout() {
    let mut lp = hub(|_| {});
    let (ws, _) = open(&mut lp, &upgrade("/ch/deaf/ws"));
    lp.advance(Duration::from_secs(20)); // idle: the protocol's clock is 20 s old
    lp.drain();
    assert_eq!(lp.take_output(ws), CLOSE_1001);
    lp.advance(Duration::from_millis(4_999));
    assert_eq!(lp.status(ws), ConnStatus::Open, "the close timeout counts from the drain");
    lp.advance(Duration::from_millis(1));
    assert!(lp.take_output(ws).is_empty());
    assert_eq!(lp.status(ws), ConnStatus::Closing);
}

/// WHATWG, "Parsing an event stream": a `retry` field of digits sets the reconnection time.
/// The stream ends after one, and EventSource reconnects a second later, wherever that is.
#[test]
fn whatwg_sse_a_stream_ends_with_a_retry_hint() {
    let mut lp = hub(|_| {});
    let (sse, head) = open(&mut lp, &get("/ch/ev/sse"));
    assert!(text(&head).starts_with("HTTP/1.1 200 OK\r\n"));
    lp.drain();
    assert_eq!(lp.take_output(sse), b"retry: 1000\n\n");
    assert_eq!(lp.status(sse), ConnStatus::Closing);
}

/// RFC 9110 §15.6.4: 503 means the server "is currently unable to handle the request due to a
/// temporary overload or scheduled maintenance"; §10.2.3: `Retry-After` says how soon to ask
/// again. A parked long-poll gets exactly that, and the connection closes after it.
#[test]
fn rfc9110_15_6_4_a_parked_long_poll_gets_503_with_retry_after_then_closes() {
    let mut lp = hub(|_| {});
    let mut both = get("/ch/lp/longpoll?after=0&timeout=60");
    both.extend_from_slice(&get("/ch/lp/poll")); // pipelined behind it: left for a retry
    let (poll, out) = open(&mut lp, &both);
    assert!(out.is_empty(), "parked");
    lp.drain();
    let answer = text(&lp.take_output(poll));
    assert!(answer.starts_with("HTTP/1.1 503 Service Unavailable\r\n"), "{answer}");
    assert!(answer.contains("\r\nRetry-After: 1\r\n"), "{answer}");
    assert!(answer.contains("\r\nConnection: close\r\n"), "{answer}");
    assert!(answer.ends_with("\r\n\r\nthe server is shutting down; ask again\n"), "{answer}");
    assert_eq!(answer.matches("HTTP/1.1 ").count(), 1, "the pipelined poll is not answered: {answer}");
    assert_eq!(lp.status(poll), ConnStatus::Closing);
    lp.advance(Duration::from_secs(60));
    assert!(lp.take_output(poll).is_empty(), "no 204 at the old hold's end");
}

/// The held `POST` (README, "Limits": publisher ahead of delivery) was published: its answer
/// is the id, given now, with `Connection: close`.
#[test]
fn a_held_post_gets_its_id_at_once_with_connection_close() {
    let mut lp = hub(|o| o.max_ahead = 0);
    let publisher = lp.connect();
    lp.send(publisher, &post("/ch/bp", "m1"));
    assert!(lp.take_output(publisher).is_empty(), "held");
    lp.drain();
    let answer = lp.take_output(publisher);
    assert_eq!((status(&answer), body(&answer)), (200, "1".to_string()), "{}", text(&answer));
    assert!(text(&answer).contains("\r\nConnection: close\r\n"));
    assert_eq!(lp.status(publisher), ConnStatus::Closing);
    lp.deliver_inbox();
    assert!(lp.take_output(publisher).is_empty(), "the later catch-up finds nothing held");
}

/// A request that completes during the drain and would hold the connection (a long-poll, a
/// stream) is ended at once, in its own way: 503, or the stream's goodbye.
#[test]
fn a_request_that_would_park_or_stream_during_the_drain_is_ended_at_once() {
    let mut lp = hub(|_| {});
    let (poll, sse, ws) = (lp.connect(), lp.connect(), lp.connect());
    lp.send(poll, b"GET /ch/late/longpoll?after=0&timeout=60 HTTP/1.1\r\nHost: t\r\n");
    lp.send(sse, b"GET /ch/late/sse HTTP/1.1\r\nHost: t\r\n");
    let ws_request = upgrade("/ch/late/ws");
    lp.send(ws, &ws_request[..ws_request.len() - 2]);
    lp.drain();
    for id in [poll, sse, ws] {
        lp.send(id, b"\r\n");
    }
    let answer = text(&lp.take_output(poll));
    assert!(answer.starts_with("HTTP/1.1 503 "), "{answer}");
    let stream = text(&lp.take_output(sse));
    assert!(stream.starts_with("HTTP/1.1 200 OK\r\n") && stream.ends_with("\r\n\r\nretry: 1000\n\n"), "{stream}");
    let frames = lp.take_output(ws);
    assert!(text(&frames).starts_with("HTTP/1.1 101 ") && frames.ends_with(CLOSE_1001), "{}", text(&frames));
    assert_eq!((lp.status(poll), lp.status(sse)), (ConnStatus::Closing, ConnStatus::Closing));
}

/// The demo page's counter stream just ends (the page reconnects it).
#[test]
fn the_stats_stream_closes() {
    let mut lp = hub(|_| {});
    let (stats, head) = open(&mut lp, &get("/stats?page=p1"));
    assert!(text(&head).contains("text/event-stream"), "{}", text(&head));
    lp.drain();
    assert!(lp.take_output(stats).is_empty());
    assert_eq!(lp.status(stats), ConnStatus::Closing);
}
