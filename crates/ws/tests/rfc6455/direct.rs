//! Large binary payloads read straight into the message buffer (`direct_payload`) must give
//! exactly the events, and the errors, that the same bytes give through `handle_bytes`.

use std::time::Instant;

use talkback_ws::{Config, Connection, DIRECT_PAYLOAD_MIN, Error, Event, OpCode, Role};

use super::{KEY, frame};

/// A payload whose every byte depends on its position and on `seed`.
fn pattern(len: usize, seed: u8) -> Vec<u8> {
    (0..len).map(|i| (i as u8).wrapping_mul(31).wrapping_add(seed)).collect()
}

/// What a client sends: big single-frame binary messages, a big fragmented one with a ping
/// between its fragments (§5.4), a text message and small binaries in between.
fn wire() -> Vec<u8> {
    let mut wire = Vec::new();
    wire.extend(frame(true, 0, OpCode::Binary, &pattern(100_000, 1), Some(KEY)));
    wire.extend(frame(true, 0, OpCode::Binary, &pattern(10, 2), Some(KEY)));
    wire.extend(frame(false, 0, OpCode::Binary, &pattern(40_000, 3), Some(KEY)));
    wire.extend(frame(true, 0, OpCode::Ping, b"between", Some(KEY)));
    wire.extend(frame(true, 0, OpCode::Continuation, &pattern(30_000, 4), Some(KEY)));
    wire.extend(frame(true, 0, OpCode::Text, "a text message".as_bytes(), Some(KEY)));
    wire.extend(frame(true, 0, OpCode::Binary, &pattern(DIRECT_PAYLOAD_MIN, 5), Some(KEY)));
    wire.extend(frame(true, 0, OpCode::Binary, &pattern(DIRECT_PAYLOAD_MIN - 1, 6), Some(KEY)));
    wire
}

fn server() -> Connection {
    Connection::new(Role::Server, Config::default(), Instant::now())
}

/// Receives `wire` as a loop with direct reads would: each "read" of at most `read_size`
/// bytes goes into the direct slice when one is offered, otherwise through `handle_bytes`.
/// Returns the events, the first error, and how many bytes went the direct way.
fn receive(wire: &[u8], read_size: usize) -> (Vec<Event>, Option<Error>, usize) {
    let mut conn = server();
    let (mut events, mut direct_bytes, mut pos) = (Vec::new(), 0, 0);
    while pos < wire.len() {
        let result = match conn.direct_payload() {
            Some(slice) => {
                let n = slice.len().min(read_size).min(wire.len() - pos);
                slice[..n].copy_from_slice(&wire[pos..pos + n]);
                direct_bytes += n;
                pos += n;
                conn.direct_payload_filled(n, Instant::now())
            }
            None => {
                let n = read_size.min(wire.len() - pos);
                pos += n;
                conn.handle_bytes(&wire[pos - n..pos], Instant::now()).map(|_| ())
            }
        };
        events.extend(std::iter::from_fn(|| conn.poll_event()));
        if let Err(error) = result {
            return (events, Some(error), direct_bytes);
        }
    }
    (events, None, direct_bytes)
}

#[test]
fn rfc6455_5_2_direct_reads_give_the_same_messages_as_handle_bytes_at_every_read_size() {
    let wire = wire();
    let mut expected = server();
    expected.handle_bytes(&wire, Instant::now()).expect("valid frames");
    let expected: Vec<Event> = std::iter::from_fn(|| expected.poll_event()).collect();
    assert_eq!(expected.len(), 7, "five binary messages, a ping and a text message");
    for read_size in [1, 7, 1000, 4096, 16_383, 16_384, 65_536, 100_013, 1 << 20] {
        let (events, error, direct_bytes) = receive(&wire, read_size);
        assert_eq!(error, None, "read size {read_size}");
        assert!(events == expected, "read size {read_size}: the events differ");
        // Small reads: every big payload goes the direct way after the read holding its header.
        if read_size <= DIRECT_PAYLOAD_MIN {
            assert!(direct_bytes > 100_000, "read size {read_size}: only {direct_bytes} bytes went direct");
        }
    }
}

#[test]
fn rfc6455_5_3_direct_bytes_are_unmasked_with_the_phase_of_their_offset() {
    // 1, 2 and 3 bytes into a word: each direct piece starts at another phase of the key.
    let payload = pattern(3 * DIRECT_PAYLOAD_MIN + 3, 9);
    let wire = frame(true, 0, OpCode::Binary, &payload, Some(KEY));
    for read_size in [DIRECT_PAYLOAD_MIN + 1, DIRECT_PAYLOAD_MIN + 2, DIRECT_PAYLOAD_MIN + 3] {
        let (events, error, _) = receive(&wire, read_size);
        assert_eq!(error, None);
        assert!(events == vec![Event::Binary(payload.clone())], "read size {read_size}");
    }
}

#[test]
fn an_unfilled_direct_slice_is_taken_back_when_the_bytes_come_through_handle_bytes() {
    let payload = pattern(50_000, 7);
    let wire = frame(true, 0, OpCode::Binary, &payload, Some(KEY));
    let mut conn = server();
    conn.handle_bytes(&wire[..100], Instant::now()).unwrap();
    let offered = conn.direct_payload().map(|s| s.len());
    assert_eq!(offered, Some(wire.len() - 100 + 14), "the rest of the payload, and room for the next header");
    assert_eq!(conn.direct_payload().map(|s| s.len()), offered, "asking again gives the same slice");
    conn.handle_bytes(&wire[100..], Instant::now()).unwrap();
    assert!(conn.poll_event() == Some(Event::Binary(payload)));
    // After a large frame the next header is read on its own: at most 14 bytes.
    assert_eq!(conn.direct_payload().map(|s| s.len()), Some(14), "the next header's room");
    conn.handle_bytes(&frame(true, 0, OpCode::Binary, b"small", Some(KEY)), Instant::now()).unwrap();
    assert!(conn.poll_event() == Some(Event::Binary(b"small".to_vec())));
    assert!(conn.direct_payload().is_none(), "after a small frame, nothing is offered");
}

#[test]
fn rfc6455_5_2_a_header_read_on_its_own_may_carry_the_first_payload_bytes() {
    // A 20 000-byte payload has an 8-byte header (16-bit length, §5.2), so a 14-byte header
    // read takes 6 payload bytes with it; they must land at the start of the message.
    let (first, second) = (pattern(30_000, 10), pattern(20_000, 11));
    let mut wire = frame(true, 0, OpCode::Binary, &first, Some(KEY));
    let first_frame_len = wire.len(); // the first read takes exactly the first frame
    wire.extend(frame(true, 0, OpCode::Binary, &second, Some(KEY)));
    let (events, error, direct_bytes) = receive(&wire, first_frame_len);
    assert_eq!(error, None);
    assert!(events == vec![Event::Binary(first), Event::Binary(second)]);
    assert_eq!(direct_bytes, 8 + 20_000, "the second frame, header and all, went direct");
}

#[test]
fn text_and_control_frames_and_small_binaries_are_not_offered_a_direct_slice() {
    let cases: [(OpCode, usize); 3] =
        [(OpCode::Text, 2 * DIRECT_PAYLOAD_MIN), (OpCode::Binary, DIRECT_PAYLOAD_MIN - 1), (OpCode::Ping, 100)];
    for (opcode, len) in cases {
        let wire = frame(true, 0, opcode, &vec![b'a'; len], Some(KEY));
        let mut conn = server();
        conn.handle_bytes(&wire[..wire.len() - len + 1], Instant::now()).unwrap();
        assert!(conn.direct_payload().is_none(), "{opcode:?} of {len} bytes");
    }
}

#[test]
fn rfc6455_5_4_a_violation_after_a_direct_message_fails_as_it_would_without() {
    // A continuation frame with no message in progress (§5.4 → 1002) after a direct message.
    let mut wire = frame(true, 0, OpCode::Binary, &pattern(40_000, 8), Some(KEY));
    wire.extend(frame(true, 0, OpCode::Continuation, b"orphan", Some(KEY)));
    let (events, error, _) = receive(&wire, 4096);
    assert_eq!(events.len(), 1, "the message before the violation is delivered");
    assert_eq!(error.map(|e| e.close_code()), Some(1002));
}

#[test]
fn rfc6455_5_2_the_read_that_ends_a_payload_brings_the_next_header_and_the_next_payload_goes_direct() {
    // Back-to-back large messages, as a bulk sender writes them: the slice reaches past each
    // payload by the most a header can be (14 bytes, §5.2), so a read that finishes one
    // payload takes the next header along, and no read is spent on a header alone.
    let payloads = [pattern(40_000, 12), pattern(70_000, 13), pattern(20_000, 14)];
    let wire: Vec<u8> = payloads.iter().flat_map(|p| frame(true, 0, OpCode::Binary, p, Some(KEY))).collect();
    let mut conn = server();
    let first_header = 8 + 4; // 16-bit length and the mask key
    conn.handle_bytes(&wire[..first_header], Instant::now()).unwrap();
    let (mut pos, mut reads) = (first_header, 0);
    while pos < wire.len() {
        let slice = conn.direct_payload().expect("every read after the first header goes direct");
        assert!(slice.len() > 14, "a payload slice, not a header read on its own");
        let n = slice.len().min(wire.len() - pos);
        slice[..n].copy_from_slice(&wire[pos..pos + n]);
        conn.direct_payload_filled(n, Instant::now()).unwrap();
        pos += n;
        reads += 1;
    }
    let events: Vec<Event> = std::iter::from_fn(|| conn.poll_event()).collect();
    assert!(events == payloads.map(Event::Binary), "each message whole, the look-ahead bytes not in it");
    assert_eq!(reads, 3, "one read per message");
}
