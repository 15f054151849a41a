//! permessage-deflate (RFC 7692) on `talkback-ws` connections: the RFC's example frames fed
//! at every split point, client/server pairs with each agreement, and the bad input rules.

use std::time::Instant;

use talkback_harness::vectors::{
    RFC7692_COMPRESSED_FRAGMENT_1, RFC7692_COMPRESSED_FRAGMENT_2, RFC7692_COMPRESSED_HELLO, RFC7692_STORED_HELLO,
    RFC7692_TAKEOVER_HELLO,
};
use talkback_ws::{Config, Connection, Deflate, Deflater, Error, Event, FrameHeader, OpCode, RSV1, Role};

#[path = "support/mod.rs"]
mod support;
use support::{KEY, frame};

fn config(deflate: Deflate) -> Config {
    Config { deflate: Some(deflate), mask_seed: Some(7), ..Config::default() }
}

/// Feeds `input` whole, one byte at a time, and split at every point; each run must give
/// `expect` (the events, then the error if any). Returns nothing: it asserts.
fn at_every_split(role: Role, config: &Config, input: &[u8], expect: &(Vec<Event>, Option<Error>)) {
    let run = |pieces: &[&[u8]]| {
        let now = Instant::now();
        let mut conn = Connection::new(role, config.clone(), now);
        let mut error = None;
        for piece in pieces {
            if let Err(e) = conn.handle_bytes(piece, now) {
                error = Some(e);
                break;
            }
        }
        let events: Vec<Event> = std::iter::from_fn(|| conn.poll_event()).collect();
        (events, error)
    };
    assert_eq!(&run(&[input]), expect, "whole");
    let bytes: Vec<&[u8]> = input.chunks(1).collect();
    assert_eq!(&run(&bytes), expect, "byte by byte");
    for cut in 0..=input.len() {
        let (a, b) = input.split_at(cut);
        assert_eq!(&run(&[a, b]), expect, "split at {cut}");
    }
}

fn text(s: &str) -> Event {
    Event::Text(s.to_owned())
}

fn compressed(message: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    Deflater::new(15, 6).compress(message, &mut out, true);
    out
}

#[test]
fn rfc7692_7_2_3_client_inflates_the_rfc_examples_at_every_split() {
    let c = config(Deflate::default());
    let hello = (vec![text("Hello")], None);
    at_every_split(Role::Client, &c, RFC7692_COMPRESSED_HELLO, &hello);
    at_every_split(Role::Client, &c, &[RFC7692_COMPRESSED_FRAGMENT_1, RFC7692_COMPRESSED_FRAGMENT_2].concat(), &hello);
    at_every_split(Role::Client, &c, RFC7692_STORED_HELLO, &hello);
    let twice = (vec![text("Hello"), text("Hello")], None);
    at_every_split(Role::Client, &c, &[RFC7692_COMPRESSED_HELLO, RFC7692_TAKEOVER_HELLO].concat(), &twice);
}

#[test]
fn rfc7692_7_2_3_2_a_back_reference_after_a_reset_is_corrupt() {
    // The server said it resets its context: the second example refers to a window the
    // client no longer has.
    let c = config(Deflate { server_no_context_takeover: true, ..Deflate::default() });
    let input = [RFC7692_COMPRESSED_HELLO, RFC7692_TAKEOVER_HELLO].concat();
    at_every_split(Role::Client, &c, &input, &(vec![text("Hello")], Some(Error::BadDeflateData)));
}

#[test]
fn rfc7692_6_server_inflates_masked_compressed_frames_at_every_split() {
    let c = config(Deflate::default());
    let payload = compressed("κόσμε, a text long enough to compress: κόσμε κόσμε κόσμε".as_bytes());
    let (first, rest) = payload.split_at(payload.len() / 2);
    let input = [
        frame(false, RSV1, OpCode::Text, first, Some(KEY)),
        frame(true, 0, OpCode::Ping, b"p", Some(KEY)), // a control frame between fragments
        frame(true, 0, OpCode::Continuation, rest, Some(KEY)),
    ]
    .concat();
    let expect = vec![Event::Ping(b"p".to_vec()), text("κόσμε, a text long enough to compress: κόσμε κόσμε κόσμε")];
    at_every_split(Role::Server, &c, &input, &(expect, None));
}

#[test]
fn rfc7692_6_1_rsv1_where_it_may_not_be_fails_with_1002() {
    let c = config(Deflate::default());
    let hello = compressed(b"Hello");
    let cases: &[(&str, Config, Vec<u8>, Error)] = &[
        (
            "RFC 6455 §5.2: RSV1 without the extension",
            Config::default(),
            frame(true, RSV1, OpCode::Text, &hello, Some(KEY)),
            Error::ReservedBitsSet,
        ),
        (
            "§6.1: RSV1 on a ping",
            c.clone(),
            frame(true, RSV1, OpCode::Ping, b"", Some(KEY)),
            Error::CompressedControlFrame,
        ),
        (
            "§6.1: RSV1 on a continuation",
            c.clone(),
            [
                frame(false, RSV1, OpCode::Text, &hello[..2], Some(KEY)),
                frame(true, RSV1, OpCode::Continuation, &hello[2..], Some(KEY)),
            ]
            .concat(),
            Error::CompressedContinuation,
        ),
        (
            "RSV2 is still reserved",
            c.clone(),
            frame(true, 0b010, OpCode::Text, b"x", Some(KEY)),
            Error::ReservedBitsSet,
        ),
        (
            "§6.2: corrupt deflate data",
            c.clone(),
            frame(true, RSV1, OpCode::Binary, &[0xff, 0xff], Some(KEY)),
            Error::BadDeflateData,
        ),
    ];
    for (name, config, input, error) in cases {
        assert_eq!(error.close_code(), 1002, "{name}");
        at_every_split(Role::Server, config, input, &(vec![], Some(*error)));
    }
}

#[test]
fn rfc7692_8_1_a_small_frame_inflating_past_the_limit_fails_with_1009() {
    let limit = 64 * 1024;
    let c = Config { max_message_size: limit, max_frame_size: limit, ..config(Deflate::default()) };
    let bomb = compressed(&vec![0u8; 16 << 20]); // 16 MiB of zeros in ~16 KiB
    assert!(bomb.len() < limit, "{} bytes: the frame itself is within the limit", bomb.len());
    let now = Instant::now();
    let mut server = Connection::new(Role::Server, c.clone(), now);
    let input = frame(true, RSV1, OpCode::Binary, &bomb, Some(KEY));
    assert_eq!(server.handle_bytes(&input, now), Err(Error::MessageTooLarge));
    assert_eq!(Error::MessageTooLarge.close_code(), 1009);
    // Exactly at the limit is fine.
    let at_limit = compressed(&vec![b'a'; limit]);
    let mut server = Connection::new(Role::Server, c, now);
    let input = frame(true, RSV1, OpCode::Binary, &at_limit, Some(KEY));
    assert_eq!(server.handle_bytes(&input, now), Ok(input.len()));
    assert_eq!(server.poll_event(), Some(Event::Binary(vec![b'a'; limit])));
}

#[test]
fn rfc7692_8_1_utf8_is_checked_on_the_inflated_bytes_failing_fast_with_1007() {
    let c = config(Deflate::default());
    let mut bad = b"valid so far, then ".to_vec();
    bad.extend_from_slice(&[0xff]);
    bad.extend_from_slice(&[b'z'; 4000]);
    let payload = compressed(&bad);
    // The first fragment already holds the bad byte: the connection fails before FIN.
    let (first, _) = payload.split_at(payload.len() - 2);
    let input = frame(false, RSV1, OpCode::Text, first, Some(KEY));
    at_every_split(Role::Server, &c, &input, &(vec![], Some(Error::InvalidUtf8)));
    assert_eq!(Error::InvalidUtf8.close_code(), 1007);
}

/// Inflated bytes that are not UTF-8, then corrupt deflate data: the bytes inflated before the
/// corruption are checked first, so the answer (1007) is the same however the frames arrive.
/// The `ws_connection` fuzzer found a case where it was not — a fragmented message whose
/// corrupt data sat in the same inflate call as the bad bytes when fed whole (1002) but not
/// when split (1007); its input is the committed seed
/// `fuzz/seeds/ws_connection/regression-rfc7692-8-1-utf8-checked-before-corrupt-data`.
#[test]
fn rfc7692_8_1_utf8_is_checked_on_what_inflated_before_corrupt_data_at_every_split() {
    let c = config(Deflate::default());
    let mut payload = compressed(b"ok \xff\xfe then");
    payload.extend_from_slice(&[0xff, 0xff, 0xff]); // BTYPE 11: reserved (RFC 1951 §3.2.3)
    let input = frame(true, RSV1, OpCode::Text, &payload, Some(KEY));
    at_every_split(Role::Server, &c, &input, &(vec![], Some(Error::InvalidUtf8)));
    // With valid text before it, the corruption is what fails: 1002.
    let mut payload = compressed(b"all good text");
    payload.extend_from_slice(&[0xff, 0xff, 0xff]);
    let input = frame(true, RSV1, OpCode::Text, &payload, Some(KEY));
    at_every_split(Role::Server, &c, &input, &(vec![], Some(Error::BadDeflateData)));
    assert_eq!((Error::InvalidUtf8.close_code(), Error::BadDeflateData.close_code()), (1007, 1002));
}

/// Bytes past the message limit and bytes that are not UTF-8 in one inflated piece: they are
/// judged in the order they inflated — what fits under the limit is checked as UTF-8 first —
/// so the close code is the same however the frame arrives (1007 here, the bad byte comes
/// before the limit; 1009 when it comes after). Found by the `ws_connection` fuzzer, whose input
/// is the seed `fuzz/seeds/ws_connection/regression-rfc7692-8-1-utf8-checked-before-the-message-limit`.
#[test]
fn rfc7692_8_1_bytes_are_judged_in_the_order_they_inflated_limit_or_utf8_at_every_split() {
    let c = Config { max_message_size: 64, max_frame_size: 1 << 16, ..config(Deflate::default()) };
    let mut bad_first = b"ten bytes ".to_vec();
    bad_first.push(0xff);
    bad_first.extend_from_slice(&[b'z'; 500]);
    let input = frame(true, RSV1, OpCode::Text, &compressed(&bad_first), Some(KEY));
    at_every_split(Role::Server, &c, &input, &(vec![], Some(Error::InvalidUtf8)));
    let mut limit_first = vec![b'z'; 100];
    limit_first.push(0xff);
    let input = frame(true, RSV1, OpCode::Text, &compressed(&limit_first), Some(KEY));
    at_every_split(Role::Server, &c, &input, &(vec![], Some(Error::MessageTooLarge)));
}

/// A client and a server with `deflate` agreed; the client sends `messages`, the server
/// echoes them; both sides' frames are checked for RSV1 and the messages for equality.
fn echo_pair(deflate: Deflate, threshold: usize, messages: &[&str]) -> Vec<(u8, usize)> {
    let now = Instant::now();
    let cfg = Config { deflate_threshold: threshold, ..config(deflate) };
    let mut client = Connection::new(Role::Client, cfg.clone(), now);
    let mut server = Connection::new(Role::Server, cfg, now);
    let mut wire = Vec::new();
    let mut seen = Vec::new();
    for message in messages {
        client.send_text(message).unwrap();
        let mut bytes = Vec::new();
        client.poll_transmit(&mut bytes);
        let header = FrameHeader::decode(&bytes).unwrap().unwrap().0;
        wire.push((header.rsv, header.payload_len as usize));
        server.handle_bytes(&bytes, now).unwrap();
        let Some(Event::Text(got)) = server.poll_event() else { panic!("no message") };
        assert_eq!(got, *message);
        server.send_text(&got).unwrap();
        bytes.clear();
        server.poll_transmit(&mut bytes);
        client.handle_bytes(&bytes, now).unwrap();
        seen.push(client.poll_event());
    }
    assert_eq!(seen, messages.iter().map(|m| Some(text(m))).collect::<Vec<_>>());
    wire
}

#[test]
fn rfc7692_7_1_1_context_takeover_both_ways_and_reset_both_ways_round_trip() {
    let json = r#"{"user":"ada","text":"hello there, this is a message","room":"lobby"}"#;
    let messages = [json, json, json, "", "short"];
    let kept = echo_pair(Deflate::default(), 0, &messages);
    let reset = Deflate { server_no_context_takeover: true, client_no_context_takeover: true, ..Deflate::default() };
    let fresh = echo_pair(reset, 0, &messages);
    assert!(kept.iter().all(|(rsv, _)| *rsv == RSV1), "every message compressed: {kept:?}");
    assert!(kept[1].1 < fresh[1].1, "the second copy is a back-reference only with takeover: {kept:?} {fresh:?}");
    assert_eq!(fresh[0], fresh[1], "after a reset the same message compresses the same");
    for bits in [9, 12] {
        let small = Deflate { server_max_window_bits: bits, client_max_window_bits: bits, ..Deflate::default() };
        echo_pair(small, 0, &messages);
    }
}

#[test]
fn rfc7692_6_messages_under_the_threshold_and_an_8_bit_window_go_uncompressed() {
    let wire = echo_pair(Deflate::default(), 10, &["tiny", "long enough to be compressed"]);
    assert_eq!(wire[0].0, 0, "under the threshold: RSV1 clear");
    assert_eq!(wire[1].0, RSV1);
    let eight = Deflate { client_max_window_bits: 8, ..Deflate::default() };
    let wire = echo_pair(eight, 0, &["a client told to use 8 bits cannot: sent plain"]);
    assert_eq!(wire[0].0, 0);
}

#[test]
fn rfc7692_6_1_control_frames_are_never_compressed() {
    let now = Instant::now();
    let mut server = Connection::new(Role::Server, config(Deflate::default()), now);
    server.send_ping(b"ping payload").unwrap();
    server.close(1000, "bye").unwrap();
    let mut out = Vec::new();
    server.poll_transmit(&mut out);
    assert_eq!(out[0], 0x89, "ping: FIN, RSV=000");
    assert_eq!(out[2 + 12], 0x88, "close: FIN, RSV=000");
}
