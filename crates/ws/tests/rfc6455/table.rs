//! Decoder cases: `(name, rule, role, input, expected events, expected close code)`.

use std::time::Instant;

use talkback_ws::{CloseFrame, Config, Connection, Event, OpCode, Role};

use super::*;

/// One decoder case.
struct Case {
    name: &'static str,
    /// The RFC 6455 section the case checks.
    rule: &'static str,
    /// Who receives `input`.
    role: Role,
    input: Vec<u8>,
    /// Events before the end (or before the error).
    events: Vec<Event>,
    /// `Some(code)`: the input must fail the connection with this close code.
    fails: Option<u16>,
    /// `Some((frame, message))` limits instead of the defaults.
    limits: Option<(usize, usize)>,
}

/// Frame from a client to a server: masked with the §5.7 key.
fn to_server(fin: bool, opcode: OpCode, payload: &[u8]) -> Vec<u8> {
    frame(fin, 0, opcode, payload, Some(KEY))
}

/// Frame from a server to a client: unmasked.
fn to_client(fin: bool, opcode: OpCode, payload: &[u8]) -> Vec<u8> {
    frame(fin, 0, opcode, payload, None)
}

fn cat(parts: &[&[u8]]) -> Vec<u8> {
    parts.concat()
}

fn text(s: &str) -> Event {
    Event::Text(s.to_owned())
}

fn ok(name: &'static str, rule: &'static str, role: Role, input: Vec<u8>, events: Vec<Event>) -> Case {
    Case { name, rule, role, input, events, fails: None, limits: None }
}

fn fail(name: &'static str, rule: &'static str, role: Role, input: Vec<u8>, code: u16) -> Case {
    Case { name, rule, role, input, events: vec![], fails: Some(code), limits: None }
}

fn cases() -> Vec<Case> {
    use OpCode::*;
    use Role::{Client, Server};
    let bytes_256: Vec<u8> = (0..256u32).map(|i| i as u8).collect();
    let bytes_64k: Vec<u8> = (0..65536u32).map(|i| (i * 7) as u8).collect();
    let close = |code: u16, reason: &[u8]| cat(&[&code.to_be_bytes(), reason]);
    vec![
        ok("unmasked hello", "§5.7", Client, HELLO_UNMASKED.to_vec(), vec![text("Hello")]),
        ok("masked hello", "§5.7", Server, HELLO_MASKED.to_vec(), vec![text("Hello")]),
        ok("fragmented hello", "§5.7", Client, cat(&[HEL, LO]), vec![text("Hello")]),
        ok("ping hello", "§5.7", Client, PING_HELLO.to_vec(), vec![Event::Ping(b"Hello".to_vec())]),
        ok("masked pong hello", "§5.7", Server, PONG_HELLO_MASKED.to_vec(), vec![Event::Pong(b"Hello".to_vec())]),
        ok(
            "256 bytes, 16-bit length",
            "§5.7",
            Client,
            cat(&[&[0x82, 0x7E, 0x01, 0x00], &bytes_256]),
            vec![Event::Binary(bytes_256.clone())],
        ),
        ok(
            "64 KiB, 64-bit length",
            "§5.7",
            Client,
            cat(&[&[0x82, 0x7F, 0, 0, 0, 0, 0, 1, 0, 0], &bytes_64k]),
            vec![Event::Binary(bytes_64k.clone())],
        ),
        ok(
            "masked 64 KiB in fragments",
            "§5.4",
            Server,
            cat(&[
                &to_server(false, Binary, &bytes_64k[..1000]),
                &to_server(false, Continuation, &bytes_64k[1000..1001]),
                &to_server(true, Continuation, &bytes_64k[1001..]),
            ]),
            vec![Event::Binary(bytes_64k.clone())],
        ),
        ok("empty text", "§5.6", Server, to_server(true, Text, b""), vec![text("")]),
        ok(
            "empty fragments",
            "§5.4",
            Server,
            cat(&[
                &to_server(false, Text, b""),
                &to_server(false, Continuation, b""),
                &to_server(true, Continuation, b""),
            ]),
            vec![text("")],
        ),
        ok(
            "many small frames",
            "§5.2",
            Server,
            (0..50).flat_map(|_| to_server(true, Text, b"hi")).collect(),
            (0..50).map(|_| text("hi")).collect(),
        ),
        ok(
            "125 and 126 bytes: the last 7-bit length, the first 16-bit one",
            "§5.2",
            Server,
            cat(&[&to_server(true, Text, &[b'a'; 125]), &to_server(true, Binary, &[7; 126])]),
            vec![text(&"a".repeat(125)), Event::Binary(vec![7; 126])],
        ),
        ok(
            "a ping between two small messages keeps its place",
            "§5.5.2",
            Server,
            cat(&[&to_server(true, Text, b"a"), &to_server(true, Ping, b"p"), &to_server(true, Text, b"b")]),
            vec![text("a"), Event::Ping(b"p".to_vec()), text("b")],
        ),
        ok(
            "a small text after a fragmented one, in one read",
            "§5.4",
            Server,
            cat(&[
                &to_server(false, Text, b"Hel"),
                &to_server(true, Continuation, b"lo"),
                &to_server(true, Text, b"!"),
            ]),
            vec![text("Hello"), text("!")],
        ),
        ok(
            "ping inside a fragmented message",
            "§5.4",
            Server,
            cat(&[
                &to_server(false, Text, b"He"),
                &to_server(true, Ping, b"p"),
                &to_server(true, Continuation, b"llo"),
            ]),
            vec![Event::Ping(b"p".to_vec()), text("Hello")],
        ),
        ok(
            "UTF-8 split across fragments",
            "§8.1",
            Server,
            cat(&[
                &to_server(false, Text, "κό".as_bytes()[..3].as_ref()),
                &to_server(true, Continuation, &"κό".as_bytes()[3..]),
            ]),
            vec![text("κό")],
        ),
        fail("unmasked client frame", "§5.1", Server, HELLO_UNMASKED.to_vec(), 1002),
        fail("masked server frame", "§5.1", Client, HELLO_MASKED.to_vec(), 1002),
        fail("RSV1 without extension", "§5.2", Server, frame(true, 0b100, Text, b"a", Some(KEY)), 1002),
        fail("RSV2 without extension", "§5.2", Server, frame(true, 0b010, Text, b"a", Some(KEY)), 1002),
        fail("RSV3 on a ping", "§5.2", Server, frame(true, 0b001, Ping, b"a", Some(KEY)), 1002),
        fail("reserved data opcode 0x3", "§5.2", Client, vec![0x83, 0x00], 1002),
        fail("reserved control opcode 0xB", "§5.2", Client, vec![0x8B, 0x00], 1002),
        fail("64-bit length with MSB set", "§5.2", Client, vec![0x82, 0x7F, 0x80, 0, 0, 0, 0, 0, 0, 0], 1002),
        fail("non-minimal 16-bit length", "§5.2", Client, vec![0x82, 0x7E, 0x00, 0x05, 1, 2, 3, 4, 5], 1002),
        fail("continuation without start", "§5.4", Server, to_server(true, Continuation, b"x"), 1002),
        fail(
            "text inside a fragmented message",
            "§5.4",
            Server,
            cat(&[&to_server(false, Text, b"a"), &to_server(true, Text, b"b")]),
            1002,
        ),
        fail(
            "binary inside a fragmented message",
            "§5.4",
            Server,
            cat(&[&to_server(false, Binary, b"a"), &to_server(true, Binary, b"b")]),
            1002,
        ),
        fail("ping of 126 bytes", "§5.5", Server, to_server(true, Ping, &[0; 126]), 1002),
        fail("fragmented ping", "§5.5", Server, to_server(false, Ping, b"a"), 1002),
        fail("invalid UTF-8 in one frame", "§8.1", Server, to_server(true, Text, b"ok\xC0\xAF"), 1007),
        fail(
            "surrogate before the rest of its frame arrives",
            "§8.1",
            Client,
            to_client(true, Text, b"abc\xED\xA0\x80defg")[..2 + 5].to_vec(),
            1007,
        ),
        fail(
            "invalid UTF-8 in a later fragment before FIN",
            "§8.1",
            Server,
            cat(&[&to_server(false, Text, b"ab"), &to_server(false, Continuation, b"\xF4\x90")]),
            1007,
        ),
        fail("truncated code point at message end", "§8.1", Server, to_server(true, Text, b"ab\xE2\x82"), 1007),
        Case {
            limits: Some((1024, 1 << 20)),
            ..fail(
                "frame over the limit, from its header alone",
                "§10.4",
                Client,
                vec![0x82, 0x7F, 0, 0, 0x01, 0, 0, 0, 0, 0],
                1009,
            )
        },
        // The small-frame fast path (whole frames under 126 bytes) keeps every limit: the
        // frame limit, the message limit, each to the byte.
        Case {
            limits: Some((4, 1024)),
            ..fail("small frame over the frame limit", "§10.4", Server, to_server(true, Text, b"hello"), 1009)
        },
        Case {
            limits: Some((1024, 4)),
            ..fail("small message over the message limit", "§10.4", Server, to_server(true, Binary, b"hello"), 1009)
        },
        Case {
            limits: Some((5, 5)),
            ..ok("small message at both limits", "§10.4", Server, to_server(true, Text, b"hello"), vec![text("hello")])
        },
        Case {
            limits: Some((1024, 1500)),
            ..fail(
                "message over the limit across fragments",
                "§10.4",
                Client,
                cat(&[&to_client(false, Binary, &[0; 1000]), &[0x80, 0x7E, 0x03, 0x00]]),
                1009,
            )
        },
        ok(
            "close 1000 with reason",
            "§5.5.1",
            Server,
            to_server(true, Close, &close(1000, b"bye")),
            vec![Event::Close(Some(CloseFrame { code: 1000, reason: "bye".into() }))],
        ),
        ok("empty close", "§5.5.1", Client, to_client(true, Close, b""), vec![Event::Close(None)]),
        ok(
            "close 4999",
            "§7.4.2",
            Server,
            to_server(true, Close, &close(4999, b"")),
            vec![Event::Close(Some(CloseFrame { code: 4999, reason: String::new() }))],
        ),
        ok(
            "data after close is ignored",
            "§5.5.1",
            Server,
            cat(&[&to_server(true, Close, &close(1001, b"")), &to_server(true, Text, b"late"), &[0xFF]]),
            vec![Event::Close(Some(CloseFrame { code: 1001, reason: String::new() }))],
        ),
        fail("close payload of 1 byte", "§5.5.1", Server, to_server(true, Close, &[0x03]), 1002),
        fail("close code 1005", "§7.4.1", Server, to_server(true, Close, &close(1005, b"")), 1002),
        fail("close code 999", "§7.4.1", Server, to_server(true, Close, &close(999, b"")), 1002),
        fail("close code 1016", "§7.4.2", Client, to_client(true, Close, &close(1016, b"")), 1002),
        fail("close code 5000", "§7.4.2", Client, to_client(true, Close, &close(5000, b"")), 1002),
        fail("close reason not UTF-8", "§5.5.1", Server, to_server(true, Close, &close(1000, b"\xFF")), 1007),
    ]
}

/// Feeds `pieces` in order, through `handle_bytes` and again through `handle_bytes_lending`
/// (its lent messages taken as the events they would have been); the two must agree. Returns
/// the events and the close code of the first error.
fn run(case: &Case, pieces: &[&[u8]]) -> (Vec<Event>, Option<u16>) {
    let queued = feed(case, pieces, false);
    assert_eq!(feed(case, pieces, true), queued, "{}: lent messages, as events, are the queued ones", case.name);
    queued
}

/// One run over `pieces`: `handle_bytes`, or with `lending` `handle_bytes_lending`, whose lent
/// messages join the events in the order they were lent (before what is queued in that call).
fn feed(case: &Case, pieces: &[&[u8]], lending: bool) -> (Vec<Event>, Option<u16>) {
    let now = Instant::now();
    let mut config = Config::default();
    if let Some((frame, message)) = case.limits {
        config.max_frame_size = frame;
        config.max_message_size = message;
    }
    let mut conn = Connection::new(case.role, config, now);
    let mut events = Vec::new();
    let mut code = None;
    for piece in pieces {
        let result = if lending {
            conn.handle_bytes_lending(piece, now, |opcode, payload| {
                events.push(match opcode {
                    OpCode::Text => text(std::str::from_utf8(payload).expect("lent text is UTF-8")),
                    _ => Event::Binary(payload.to_vec()),
                })
            })
        } else {
            conn.handle_bytes(piece, now)
        };
        events.extend(std::iter::from_fn(|| conn.poll_event()));
        match result {
            Ok(used) => assert_eq!(used, piece.len(), "{}: everything is consumed", case.name),
            Err(err) => {
                code = Some(err.close_code());
                break;
            }
        }
    }
    (events, code)
}

#[test]
fn rfc6455_decoder_table_whole_bytewise_and_every_split() {
    for case in cases() {
        let label = format!("{} ({})", case.name, case.rule);
        let whole = run(&case, &[&case.input]);
        assert_eq!(whole, (case.events.clone(), case.fails), "{label}: whole");
        let bytes: Vec<&[u8]> = case.input.chunks(1).collect();
        assert_eq!(run(&case, &bytes), whole, "{label}: one byte at a time");
        // Every split for small inputs; for the 64 KiB ones, every split near each boundary.
        let len = case.input.len();
        let splits: Vec<usize> = if len <= 4096 {
            (0..=len).collect()
        } else {
            (0..64).chain(len / 2 - 8..len / 2 + 8).chain(len - 64..=len).collect()
        };
        for cut in splits {
            let (a, b) = case.input.split_at(cut);
            assert_eq!(run(&case, &[a, b]), whole, "{label}: split at {cut}");
        }
    }
}
