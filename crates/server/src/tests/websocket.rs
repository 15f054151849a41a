//! WebSockets on the virtual clock (RFC 6455).

use std::time::Duration;

use talkback_reactor::testing::ConnStatus;
use talkback_ws::{OpCode, encode_frame};

use super::{get, hub, open, publish, test_loop, text};
use crate::Service;

const UPGRADE: &str = "Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n";

/// A WebSocket upgrade request for `target` (RFC 6455 §1.3's key).
pub(super) fn upgrade(target: &str) -> Vec<u8> {
    format!("GET {target} HTTP/1.1\r\nHost: t\r\n{UPGRADE}\r\n").into_bytes()
}

/// A client frame: masked, as RFC 6455 §5.3 requires.
pub(super) fn client_frame(opcode: OpCode, payload: &[u8]) -> Vec<u8> {
    let mut frame = Vec::new();
    encode_frame(opcode, payload, Some([0x37, 0xfa, 0x21, 0x3d]), &mut frame);
    frame
}

/// RFC 6455 §5.5.2: the server pings an idle socket every `--ping-interval`; a pong keeps it.
#[test]
fn rfc6455_5_5_2_an_idle_socket_is_pinged_and_a_pong_keeps_it_open() {
    let mut lp = hub(|o| o.pong_timeout = Duration::from_secs(10));
    let (ws, head) = open(&mut lp, &upgrade("/ch/idle/ws"));
    assert!(text(&head).starts_with("HTTP/1.1 101 Switching Protocols\r\n"));
    lp.advance(Duration::from_secs(30));
    assert_eq!(lp.take_output(ws), [0x89, 0x00], "an empty ping");
    lp.send(ws, &client_frame(OpCode::Pong, b""));
    lp.advance(Duration::from_secs(10));
    assert!(lp.take_output(ws).is_empty(), "answered: no close at the pong deadline");
    assert_eq!(lp.status(ws), ConnStatus::Open);
    lp.advance(Duration::from_secs(20));
    assert_eq!(lp.take_output(ws), [0x89, 0x00], "30 s after the pong, the next ping");
}

/// A peer that never answers the ping is closed with 1011 after `--pong-timeout`.
#[test]
fn a_ping_without_pong_closes_with_1011_after_the_pong_timeout() {
    let mut lp = hub(|o| o.pong_timeout = Duration::from_secs(10));
    let (ws, _) = open(&mut lp, &upgrade("/ch/dead/ws"));
    lp.advance(Duration::from_secs(30));
    assert_eq!(lp.take_output(ws), [0x89, 0x00]);
    lp.advance(Duration::from_millis(9_999));
    assert!(lp.take_output(ws).is_empty());
    lp.advance(Duration::from_millis(1));
    let close = lp.take_output(ws);
    assert_eq!(&close[..4], [0x88, 14, 0x03, 0xf3], "close 1011");
    assert_eq!(&close[4..], b"pong timeout");
    assert_eq!(lp.status(ws), ConnStatus::Closing);
}

/// Whether `ws`'s protocol state is parked.
fn parked(lp: &mut talkback_reactor::testing::TestLoop<crate::conn::Conn>, ws: talkback_reactor::ConnId) -> bool {
    lp.with(ws, talkback_reactor::OutputKind::Push, |conn, _, _| conn.ws_parked()).flatten().expect("a WebSocket")
}

/// Between messages a socket's protocol is parked (no heap memory); a frame split across reads
/// (RFC 6455 §5.2) keeps it awake until its last byte, a keepalive ping until its pong
/// (§5.5.2), and a broadcast reaches a parked subscriber without waking it.
#[test]
fn rfc6455_5_2_an_idle_socket_is_parked_and_woken_by_what_needs_its_protocol() {
    let mut lp = hub(|o| o.pong_timeout = Duration::from_secs(10));
    let (ws, _) = open(&mut lp, &upgrade("/ch/quiet/ws"));
    assert!(parked(&mut lp, ws), "parked right after the 101");
    let frame = client_frame(OpCode::Text, b"hello");
    lp.send(ws, &frame[..3]);
    assert!(!parked(&mut lp, ws), "half a frame is in flight");
    lp.send(ws, &frame[3..]);
    lp.deliver_inbox();
    assert_eq!(lp.take_output(ws), b"\x81\x05hello", "published, and delivered to itself");
    assert!(parked(&mut lp, ws));
    assert_eq!(publish(&mut lp, "quiet", "news"), 2, "the channel's second message");
    assert_eq!(lp.take_output(ws), b"\x81\x04news");
    assert!(parked(&mut lp, ws), "a broadcast needs no protocol state");
    lp.advance(Duration::from_secs(30));
    assert_eq!(lp.take_output(ws), [0x89, 0x00], "30 s after the last byte heard: a ping");
    assert!(!parked(&mut lp, ws), "its pong is awaited");
    lp.send(ws, &client_frame(OpCode::Pong, b""));
    assert!(parked(&mut lp, ws));
    lp.advance(Duration::from_secs(30));
    assert_eq!(lp.take_output(ws), [0x89, 0x00], "keepalive counts on across the park");
}

/// ws-echo pings nobody (no `--ping-interval`): an idle echo socket stays silent.
#[test]
fn ws_echo_sends_no_keepalive_by_default() {
    let mut lp = test_loop(Service::WsEcho, 16 << 20, |_| {});
    let (ws, _) = open(&mut lp, &upgrade("/"));
    lp.advance(Duration::from_secs(3600));
    assert!(lp.take_output(ws).is_empty());
    lp.send(ws, &client_frame(OpCode::Text, b"Hello"));
    assert_eq!(lp.take_output(ws), b"\x81\x05Hello", "RFC 6455 §5.7: the unmasked text frame");
}

/// The hub: a text frame publishes (every subscriber gets it, the sender too); a binary one
/// gets close 1003 (README, "The hub's URLs").
#[test]
fn a_hub_socket_publishes_text_and_refuses_binary_with_1003() {
    let mut lp = hub(|_| {});
    let (sender, _) = open(&mut lp, &upgrade("/ch/room/ws"));
    let (other, _) = open(&mut lp, &upgrade("/ch/room/ws"));
    lp.send(sender, &client_frame(OpCode::Text, b"hi"));
    lp.deliver_inbox();
    assert_eq!(lp.take_output(other), b"\x81\x02hi");
    assert_eq!(lp.take_output(sender), b"\x81\x02hi");
    assert_eq!(publish(&mut lp, "room", "via POST"), 2);
    lp.send(other, &client_frame(OpCode::Binary, b"\x00"));
    let out = lp.take_output(other);
    assert!(out.starts_with(b"\x81\x08via POST"), "{out:?}");
    assert_eq!(&out[10..14], [0x88, 36, 0x03, 0xeb], "then close 1003");
}

/// RFC 9110 §15.5.22 and §6.6.1: a plain GET to ws-echo is refused with 426 naming the
/// protocol in `Upgrade`, and dated like every 4xx from a server with a clock ("MUST generate
/// a Date header field in all 2xx, 3xx, and 4xx responses"); then the connection closes.
#[test]
fn rfc9110_6_6_1_a_refused_upgrade_is_dated() {
    let mut lp = test_loop(Service::WsEcho, 16 << 20, |_| {});
    let (conn, answer) = open(&mut lp, &get("/"));
    let answer = text(&answer);
    assert!(answer.starts_with("HTTP/1.1 426 Upgrade Required\r\n"), "{answer}");
    assert!(answer.contains("\r\nUpgrade: websocket\r\n"), "{answer}");
    assert!(answer.contains("\r\nDate: "), "{answer}");
    assert_eq!(lp.status(conn), ConnStatus::Closing);
}

/// An upgrade offering `protocol`, with `extra` header lines.
fn upgrade_with(target: &str, protocol: &str, extra: &str) -> Vec<u8> {
    format!("GET {target} HTTP/1.1\r\nHost: t\r\n{UPGRADE}Sec-WebSocket-Protocol: {protocol}\r\n{extra}\r\n")
        .into_bytes()
}

/// RFC 6455 §4.2.2 /subprotocol/: `talkback.json` chosen, the replay after `?after=` and the
/// live message are `/poll`'s elements, each in one unmasked text frame (§5.2), byte for byte.
#[test]
fn rfc6455_4_2_2_talkback_json_frames_byte_for_byte() {
    let mut lp = hub(|_| {});
    publish(&mut lp, "ids", "one");
    publish(&mut lp, "ids", "t\"wo");
    let (ws, out) = open(&mut lp, &upgrade_with("/ch/ids/ws?after=1", "x, talkback.json", ""));
    let head = text(&out);
    assert!(head.contains("\r\nSec-WebSocket-Protocol: talkback.json\r\n"), "{head}");
    let element = br#"{"id":2,"data":"t\"wo"}"#;
    let mut expected = vec![0x81, element.len() as u8];
    expected.extend_from_slice(element);
    assert!(out.ends_with(&expected), "the replay right behind the 101: {head:?}");
    publish(&mut lp, "ids", "three");
    let live = br#"{"id":3,"data":"three"}"#;
    let mut expected = vec![0x81, live.len() as u8];
    expected.extend_from_slice(live);
    assert_eq!(lp.take_output(ws), expected);
}

/// RFC 6455 §7.4.1 (1008, policy violation): with a publish token, a socket whose upgrade did
/// not carry it listens, but its text message ends it, unpublished.
#[test]
fn rfc6455_7_4_1_a_text_message_without_the_token_gets_close_1008() {
    let mut lp = hub(|o| o.publish_token = Some("tok".into()));
    let (listener, _) = open(&mut lp, &upgrade("/ch/tok/ws"));
    let (publisher, _) = open(&mut lp, &upgrade("/ch/tok/ws?token=tok"));
    lp.send(publisher, &client_frame(OpCode::Text, b"allowed"));
    lp.deliver_inbox();
    assert_eq!(lp.take_output(listener), b"\x81\x07allowed", "listening needs no token");
    lp.send(listener, &client_frame(OpCode::Text, b"refused"));
    lp.deliver_inbox();
    let out = lp.take_output(listener);
    assert_eq!(&out[..4], [0x88, (2 + 34) as u8, 0x03, 0xf0], "close 1008: {out:?}");
    assert_eq!(&out[4..], b"publishing needs the publish token");
    let (_, poll) = open(&mut lp, &get("/ch/tok/poll"));
    assert!(text(&poll).ends_with(r#"[{"id":1,"data":"allowed"}]"#), "{}", text(&poll));
}
