//! permessage-deflate (RFC 7692) in the hub and ws-echo, on the virtual clock.

use talkback_ws::{DEFLATE_TAIL, Deflater, FrameHeader, Inflater, OpCode, RSV1, apply_mask};

use super::websocket::client_frame;
use super::{hub, open, publish, test_loop, text};
use crate::Service;

const KEY: [u8; 4] = [0x37, 0xfa, 0x21, 0x3d];

/// An upgrade for `target` offering `extensions` (RFC 7692 §5).
fn upgrade_offering(target: &str, extensions: &str) -> Vec<u8> {
    format!(
        "GET {target} HTTP/1.1\r\nHost: t\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
         Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\
         Sec-WebSocket-Extensions: {extensions}\r\n\r\n"
    )
    .into_bytes()
}

/// The `Sec-WebSocket-Extensions` answer in a 101 head, if any.
fn answer(head: &[u8]) -> Option<String> {
    let head = text(head);
    assert!(head.starts_with("HTTP/1.1 101"), "{head}");
    head.lines().find_map(|line| line.strip_prefix("Sec-WebSocket-Extensions: ").map(str::to_owned))
}

/// Splits one server frame into its header and payload.
fn frame(bytes: &[u8]) -> (FrameHeader, &[u8]) {
    let (header, len) = FrameHeader::decode(bytes).unwrap().unwrap();
    (header, &bytes[len..len + header.payload_len as usize])
}

/// Inflates one compressed message payload (§7.2.2: the tail appended).
fn inflate(payload: &[u8], window_bits: u8) -> String {
    let mut inflater = Inflater::new(window_bits);
    let mut out = vec![0; 1 << 16];
    let mut message = Vec::new();
    for input in [payload, &DEFLATE_TAIL[..]] {
        let talkback_ws::Inflated { written: n, error, .. } = inflater.inflate(input, &mut out);
        assert_eq!(error, None);
        message.extend_from_slice(&out[..n]);
    }
    String::from_utf8(message).unwrap()
}

fn json_message() -> String {
    (0..16)
        .map(|i| {
            format!(r#"{{"seq":{},"user":"u{}","text":"the quick brown fox {}"}}"#, i * 7919 % 1000, i * 31 % 17, i * i)
        })
        .collect::<Vec<_>>()
        .join(",")
}

#[test]
fn rfc7692_7_1_1_the_hub_announces_no_context_takeover_both_ways() {
    let mut lp = hub(|_| {});
    let (_, head) = open(&mut lp, &upgrade_offering("/ch/a/ws", "permessage-deflate; client_max_window_bits"));
    assert_eq!(
        answer(&head).as_deref(),
        Some("permessage-deflate; server_no_context_takeover; client_no_context_takeover")
    );
    let (_, head) = open(&mut lp, &upgrade_offering("/ch/a/ws", "permessage-deflate; server_max_window_bits=8"));
    assert_eq!(answer(&head), None, "§7.1.2.1: an 8-bit window declined, the handshake goes on");
    let (_, head) = open(&mut lp, &upgrade_offering("/ch/a/ws", "permessage-deflate; bogus"));
    assert_eq!(answer(&head), None, "§7: a malformed offer declined, not a failed handshake");
}

#[test]
fn no_deflate_declines_every_offer() {
    let mut lp = hub(|o| o.deflate = false);
    let (_, head) = open(&mut lp, &upgrade_offering("/ch/a/ws", "permessage-deflate"));
    assert_eq!(answer(&head), None);
}

#[test]
fn rfc7692_7_1_1_1_a_broadcast_is_compressed_once_per_window_and_shared() {
    let mut lp = hub(|_| {});
    let (a, _) = open(&mut lp, &upgrade_offering("/ch/room/ws", "permessage-deflate"));
    let (b, _) = open(&mut lp, &upgrade_offering("/ch/room/ws", "permessage-deflate; client_max_window_bits"));
    let (small, head) =
        open(&mut lp, &upgrade_offering("/ch/room/ws", "permessage-deflate; server_max_window_bits=10"));
    assert!(answer(&head).unwrap().contains("server_max_window_bits=10"));
    let (plain, _) = open(&mut lp, &super::websocket::upgrade("/ch/room/ws"));
    let message = json_message();
    publish(&mut lp, "room", &message);
    let (out_a, out_b, out_small) = (lp.take_output(a), lp.take_output(b), lp.take_output(small));
    let (ha, pa) = frame(&out_a);
    assert_eq!((ha.rsv, ha.opcode), (RSV1, OpCode::Text), "§6.1: RSV1 on the compressed message");
    assert!(pa.len() < message.len() / 3, "{} of {}", pa.len(), message.len());
    assert_eq!(out_a, out_b, "one payload for every 15-bit subscriber");
    assert_eq!(inflate(pa, 15), message);
    let (hs, ps) = frame(&out_small);
    assert_eq!(hs.rsv, RSV1);
    assert_eq!(inflate(ps, 10), message, "the 10-bit window's own payload");
    let out_plain = lp.take_output(plain);
    assert_eq!(frame(&out_plain).0.rsv, 0, "no extension: the plain text frame");
    assert_eq!(frame(&out_plain).1, message.as_bytes());
    // No context kept: the same message again is the same payload (§7.1.1.1).
    publish(&mut lp, "room", &message);
    assert_eq!(lp.take_output(a), out_a);
}

/// An upgrade for `target` offering `talkback.json` and `extensions`.
fn json_upgrade_offering(target: &str, extensions: &str) -> Vec<u8> {
    let mut request = upgrade_offering(target, extensions);
    request.truncate(request.len() - 2);
    request.extend_from_slice(b"Sec-WebSocket-Protocol: talkback.json\r\n\r\n");
    request
}

#[test]
fn rfc7692_7_1_1_1_talkback_json_elements_are_compressed_once_too_head_in_a_stored_block() {
    let mut lp = hub(|_| {});
    let offer = "permessage-deflate; client_max_window_bits";
    let (a, head) = open(&mut lp, &json_upgrade_offering("/ch/j/ws", offer));
    assert!(text(&head).contains("Sec-WebSocket-Protocol: talkback.json"), "{}", text(&head));
    let (b, _) = open(&mut lp, &json_upgrade_offering("/ch/j/ws", offer));
    let (small, _) = open(&mut lp, &json_upgrade_offering("/ch/j/ws", "permessage-deflate; server_max_window_bits=9"));
    // Escaping changes it: a quote and a line break in every line.
    let message = json_message().replace(',', "\"\n");
    for id in 1..=2 {
        publish(&mut lp, "j", &message);
        let mut element = Vec::new();
        talkback_longpoll::encode_json_element(id, &message, &mut element);
        let (out_a, out_b, out_small) = (lp.take_output(a), lp.take_output(b), lp.take_output(small));
        let (header, payload) = frame(&out_a);
        assert_eq!((header.rsv, header.opcode), (RSV1, OpCode::Text), "§6.1: RSV1 on the compressed element");
        assert!(payload.len() < element.len() / 2, "{} of {}", payload.len(), element.len());
        assert_eq!(inflate(payload, 15).as_bytes(), element, "RFC 1951 §3.2.4: a stored head, then the body");
        assert_eq!(out_a, out_b, "one body for every 15-bit talkback.json subscriber");
        assert_eq!(inflate(frame(&out_small).1, 9).as_bytes(), element, "the 9-bit window's own body");
    }
}

#[test]
fn messages_under_the_deflate_threshold_go_uncompressed() {
    let mut lp = hub(|o| o.deflate_threshold = 100);
    let (a, _) = open(&mut lp, &upgrade_offering("/ch/room/ws", "permessage-deflate"));
    publish(&mut lp, "room", "short and sweet, under a hundred bytes");
    assert_eq!(frame(&lp.take_output(a)).0.rsv, 0);
    publish(&mut lp, "room", &json_message());
    assert_eq!(frame(&lp.take_output(a)).0.rsv, RSV1);
}

/// A compressed frame from a client, masked.
fn compressed_client_frame(message: &str) -> Vec<u8> {
    let mut payload = Vec::new();
    Deflater::new(15, 6).compress(message.as_bytes(), &mut payload, true);
    let header =
        FrameHeader { fin: true, rsv: RSV1, opcode: OpCode::Text, mask: Some(KEY), payload_len: payload.len() as u64 };
    let mut bytes = Vec::new();
    header.encode(&mut bytes);
    let start = bytes.len();
    bytes.extend_from_slice(&payload);
    apply_mask(&mut bytes[start..], KEY, 0);
    bytes
}

#[test]
fn rfc7692_6_2_a_compressed_publish_is_inflated_and_broadcast() {
    let mut lp = hub(|_| {});
    let (sender, _) = open(&mut lp, &upgrade_offering("/ch/room/ws", "permessage-deflate"));
    let (plain, _) = open(&mut lp, &super::websocket::upgrade("/ch/room/ws"));
    let message = json_message();
    lp.send(sender, &compressed_client_frame(&message));
    lp.deliver_inbox();
    let out = lp.take_output(plain);
    assert_eq!(frame(&out).1, message.as_bytes());
    // RSV1 on a socket that did not negotiate the extension: 1002 (RFC 6455 §5.2).
    lp.send(plain, &compressed_client_frame(&message));
    assert_eq!(&lp.take_output(plain)[..4], [0x88, 19, 0x03, 0xea]);
}

#[test]
fn rfc7692_7_2_3_2_ws_echo_keeps_its_context_when_the_client_allows_it() {
    let mut lp = test_loop(Service::WsEcho, 16 << 20, |_| {});
    let (ws, head) = open(&mut lp, &upgrade_offering("/", "permessage-deflate; client_max_window_bits"));
    assert_eq!(answer(&head).as_deref(), Some("permessage-deflate"));
    let message = json_message();
    lp.send(ws, &compressed_client_frame(&message));
    let first = lp.take_output(ws);
    lp.send(ws, &compressed_client_frame(&message));
    let second = lp.take_output(ws);
    assert_eq!(frame(&first).0.rsv, RSV1);
    let (one, two) = (frame(&first).1.len(), frame(&second).1.len());
    assert!(two < one / 2, "the second refers back to the first: {one} then {two} bytes");
    assert_eq!(inflate(frame(&first).1, 15), message);
    lp.send(ws, &client_frame(OpCode::Text, b"tiny"));
    assert_eq!(lp.take_output(ws), b"\x81\x04tiny", "under the threshold: plain");
}
