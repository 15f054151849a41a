//! The committed seeds, made from the harness's RFC vectors (`talkback_harness::vectors`) and
//! the README's URLs: `cargo run --example write_seeds` writes them to `seeds/<target>/`,
//! `-- --check` verifies that the committed files are current.
//!
//! Files named `regression-*` beside them are not made here: each is the input of a crash
//! the fuzzer found, kept (and replayed by `cargo test`) once the crash was fixed.

use talkback_harness::vectors::*;
use talkback_sse::encode_message;
use talkback_ws::OpCode;

use crate::handler::{Bytes, Op, Setup, Which, canned, masked_frame};

/// Every fuzz target, as named in `Cargo.toml` and `seeds/`.
pub const TARGETS: [&str; 6] =
    ["http1_decoder", "ws_connection", "sse_parser", "longpoll_query", "resp_decoder", "server_handler"];

/// Runs the check of `target` on one input (what its fuzz target does).
pub fn check(target: &str, data: &[u8]) {
    match target {
        "http1_decoder" => crate::http1::check(data),
        "ws_connection" => crate::ws::check(data),
        "sse_parser" => crate::sse::check(data),
        "longpoll_query" => crate::longpoll::check(data),
        "resp_decoder" => crate::resp::check(data),
        "server_handler" => crate::handler::check(data),
        other => panic!("no target {other}"),
    }
}

/// One seed file: `seeds/<target>/<name>`.
#[derive(Debug, Clone)]
pub struct Seed {
    /// The target it seeds.
    pub target: &'static str,
    /// The file name.
    pub name: String,
    /// The input.
    pub bytes: Vec<u8>,
}

/// Every seed, for every target.
pub fn all() -> Vec<Seed> {
    let mut seeds = Vec::new();
    let mut add = |target: &'static str, name: &str, bytes: Vec<u8>| {
        seeds.push(Seed { target, name: name.to_owned(), bytes });
    };
    for (name, bytes) in http1() {
        add("http1_decoder", name, bytes);
    }
    for (name, bytes) in ws() {
        add("ws_connection", name, bytes);
    }
    for (name, bytes) in sse() {
        add("sse_parser", name, bytes);
    }
    for (name, bytes) in longpoll() {
        add("longpoll_query", name, bytes.to_vec());
    }
    for (name, bytes) in resp() {
        add("resp_decoder", name, bytes.to_vec());
    }
    for (name, bytes) in handler() {
        add("server_handler", &name, bytes);
    }
    seeds
}

/// RFC 9112's request forms and chunked body, alone, pipelined, and the chunked one with a
/// trailer section (RFC 9112 §7.1.2), permitted or prohibited (RFC 9110 §6.5.1).
fn http1() -> Vec<(&'static str, Vec<u8>)> {
    let forms = [RFC9112_ORIGIN_FORM, RFC9112_ABSOLUTE_FORM, RFC9112_AUTHORITY_FORM, RFC9112_ASTERISK_FORM];
    let with_trailer = RFC9112_CHUNKED_POST.strip_suffix(b"\r\n").expect("ends with CRLF");
    let prohibited = [with_trailer, b"Content-Length: 9\r\n\r\n"].concat();
    let with_trailer = [with_trailer, b"X-Checksum: 1\r\n\r\n"].concat();
    vec![
        ("rfc9112_3_2_1_origin_form", RFC9112_ORIGIN_FORM.to_vec()),
        ("rfc9112_3_2_2_absolute_form", RFC9112_ABSOLUTE_FORM.to_vec()),
        ("rfc9112_3_2_3_authority_form", RFC9112_AUTHORITY_FORM.to_vec()),
        ("rfc9112_3_2_4_asterisk_form", RFC9112_ASTERISK_FORM.to_vec()),
        ("rfc9112_7_1_chunked_post", RFC9112_CHUNKED_POST.to_vec()),
        ("rfc9112_7_1_2_chunked_post_with_trailer", with_trailer),
        ("rfc9110_6_5_1_chunked_post_with_prohibited_trailer", prohibited),
        ("rfc9112_9_3_2_pipelined", [&forms[..], &[RFC9112_CHUNKED_POST]].concat().concat()),
    ]
}

/// RFC 6455 §5.7's frames behind a setup byte (see `ws.rs`): bit 0 client, bit 1 small
/// limits, bit 3 the frame log, bit 4 our close first. A server receives masked frames, a
/// client unmasked ones.
fn ws() -> Vec<(&'static str, Vec<u8>)> {
    let server = |frames: &[&[u8]]| [&[0u8][..], &frames.concat()].concat();
    let client = |setup: u8, frames: &[&[u8]]| [&[setup][..], &frames.concat()].concat();
    let masked_fragments =
        [masked_frame(false, OpCode::Text, &RFC6455_FRAGMENT_1[2..]), masked_frame(true, OpCode::Continuation, b"lo")];
    let close = masked_frame(true, OpCode::Close, &[0x03, 0xe8, b'b', b'y', b'e']);
    vec![
        ("rfc6455_5_7_server_masked_hello", server(&[RFC6455_MASKED_HELLO])),
        ("rfc6455_5_7_server_masked_pong", server(&[RFC6455_MASKED_PONG])),
        ("rfc6455_5_7_server_masked_fragments", server(&[&masked_fragments[0], &masked_fragments[1]])),
        ("rfc6455_5_7_server_all_then_close", server(&[RFC6455_MASKED_HELLO, RFC6455_MASKED_PONG, &close])),
        ("rfc6455_10_4_server_small_limits", [&[2u8][..], RFC6455_MASKED_HELLO].concat()),
        ("rfc6455_7_1_2_server_closed_first", [&[16u8][..], RFC6455_MASKED_HELLO, &close].concat()),
        ("rfc6455_5_7_client_unmasked_hello", client(1, &[RFC6455_UNMASKED_HELLO])),
        ("rfc6455_5_7_client_fragments", client(1, &[RFC6455_FRAGMENT_1, RFC6455_FRAGMENT_2])),
        ("rfc6455_5_7_client_unmasked_ping", client(1, &[RFC6455_UNMASKED_PING])),
        ("rfc7692_7_2_3_1_client_compressed_hello", client(33, &[RFC7692_COMPRESSED_HELLO])),
        (
            "rfc7692_7_2_3_1_client_compressed_fragments_logged",
            client(41, &[RFC7692_COMPRESSED_FRAGMENT_1, RFC7692_COMPRESSED_FRAGMENT_2]),
        ),
        ("rfc7692_7_2_3_2_client_takeover", client(33, &[RFC7692_COMPRESSED_HELLO, RFC7692_TAKEOVER_HELLO])),
        ("rfc7692_7_2_3_2_client_takeover_after_reset", client(97, &[RFC7692_COMPRESSED_HELLO, RFC7692_TAKEOVER_HELLO])),
        ("rfc7692_7_2_3_3_client_stored_hello_9_bits", client(161, &[RFC7692_STORED_HELLO])),
        ("rfc7692_6_1_server_rsv1_masked_hello", [&[32u8][..], &rsv1(RFC6455_MASKED_HELLO)].concat()),
        ("rfc7692_6_1_server_rsv1_without_extension", [&[0u8][..], &rsv1(RFC6455_MASKED_HELLO)].concat()),
        ("rfc7692_6_1_client_rsv1_on_ping", client(33, &[&rsv1(RFC6455_UNMASKED_PING)])),
        ("rfc7692_7_offers", b"\0permessage-deflate; server_max_window_bits=10; client_max_window_bits\npermessage-deflate; server_max_window_bits=8, permessage-deflate\nx-foo; a=\"1,2\"".to_vec()),
        (
            "rfc6455_5_7_client_all_logged",
            client(9, &[RFC6455_UNMASKED_HELLO, RFC6455_UNMASKED_PING, RFC6455_FRAGMENT_1, RFC6455_FRAGMENT_2]),
        ),
    ]
}

/// A frame with RSV1 set (bytes otherwise as they are).
fn rsv1(frame: &[u8]) -> Vec<u8> {
    let mut frame = frame.to_vec();
    frame[0] |= 0x40;
    frame
}

/// The WHATWG examples, alone, together, behind a BOM and with CRLF line ends, and the hub's
/// own encoding of one message.
fn sse() -> Vec<(&'static str, Vec<u8>)> {
    let mut hub = Vec::new();
    encode_message(7, "YHOO\n+2\n10", &mut hub);
    let all = [WHATWG_SSE_STOCK, WHATWG_SSE_COMMENT_AND_IDS, WHATWG_SSE_TWO_FORMS].concat();
    let crlf = String::from_utf8_lossy(WHATWG_SSE_COMMENT_AND_IDS).replace('\n', "\r\n").into_bytes();
    vec![
        ("whatwg_stock", WHATWG_SSE_STOCK.to_vec()),
        ("whatwg_comment_and_ids", WHATWG_SSE_COMMENT_AND_IDS.to_vec()),
        ("whatwg_two_forms", WHATWG_SSE_TWO_FORMS.to_vec()),
        ("whatwg_all", all),
        ("whatwg_bom_stock", [&b"\xEF\xBB\xBF"[..], WHATWG_SSE_STOCK].concat()),
        ("whatwg_crlf_comment_and_ids", crlf),
        ("hub_encode_message", hub),
    ]
}

/// The README's query strings ("The hub's URLs") and RFC 9112 §3.2.1's `q=now`.
fn longpoll() -> Vec<(&'static str, &'static [u8])> {
    vec![
        ("rfc9112_3_2_1_query", b"q=now"),
        ("readme_poll_after", b"after=0"),
        ("readme_longpoll_after_timeout", b"after=12&timeout=60"),
        ("readme_sse_last_event_id", b"lastEventId=7"),
        ("readme_ignored_and_empty_pairs", b"after=12&timeout=5&_=99&&lastEventId=007"),
        ("readme_after_twice", b"after=1&after=2"),
        ("readme_after_overflow", b"after=18446744073709551616"),
    ]
}

/// Scenarios for each binary, default and tight limits: the RFC vectors and the hub's URLs
/// sent on fresh connections, then one session per technique.
fn handler() -> Vec<(String, Vec<u8>)> {
    let mut seeds = Vec::new();
    let whichs = [
        ("http_echo", Which::HttpEcho),
        ("ws_echo", Which::WsEcho),
        ("demo", Which::Demo),
        ("sse_echo", Which::SseEcho),
        ("longpoll_echo", Which::LongpollEcho),
    ];
    for (name, which) in whichs {
        for tight in [false, true] {
            let setup = Setup { which, tight, ping: tight };
            let limits = if tight { "tight" } else { "default" };
            for (scenario, ops) in scenarios() {
                seeds.push((format!("{name}_{limits}_{scenario}"), encode_input(&setup, &ops)));
            }
        }
    }
    seeds
}

/// The index of canned bytes that start with `prefix`.
fn canned_at(prefix: &str) -> u8 {
    let at = canned().iter().position(|c| c.starts_with(prefix.as_bytes()));
    u8::try_from(at.unwrap_or_else(|| panic!("no canned {prefix:?}"))).expect("few canned")
}

/// The scenarios every binary gets.
fn scenarios() -> Vec<(&'static str, Vec<Op>)> {
    use Op::*;
    let send = |conn: u8, bytes: &[u8]| Send { conn, bytes: Bytes(bytes.to_vec()) };
    let canned_on = |conn: u8, prefix: &str| SendCanned { conn, which: canned_at(prefix) };
    let frame = |conn: u8, bytes: Vec<u8>| Send { conn, bytes: Bytes(bytes) };
    let every_request: Vec<Op> = (0..canned().len().min(15) as u8)
        .flat_map(|i| [Connect, SendCanned { conn: i, which: i }, DeliverInbox, TakeOutput { conn: i }])
        .collect();
    let more_requests: Vec<Op> = (15..canned().len() as u8)
        .flat_map(|i| [Connect, SendCanned { conn: i - 15, which: i }, DeliverInbox, TakeOutput { conn: i - 15 }])
        .collect();
    let pipelined = [RFC9112_ORIGIN_FORM, RFC9112_CHUNKED_POST, RFC9112_ASTERISK_FORM, RFC9112_ABSOLUTE_FORM].concat();
    vec![
        ("rfc_vectors_each", every_request),
        ("hub_urls_each", more_requests),
        ("rfc9112_pipelined", vec![Connect, send(0, &pipelined), TakeOutput { conn: 0 }, Advance { ms: 60_000 }]),
        (
            "sse_publish_heartbeat",
            vec![
                Connect,
                canned_on(0, "GET /ch/room/sse HTTP"),
                Connect,
                canned_on(1, "POST /ch/room HTTP/1.1\r\nHost: t\r\nContent-Length: 2"),
                DeliverInbox,
                TakeOutput { conn: 0 },
                TakeOutput { conn: 1 },
                Advance { ms: 15_000 },
                TakeOutput { conn: 0 },
                PeerClose { conn: 0 },
            ],
        ),
        (
            "rfc6455_session",
            vec![
                Connect,
                canned_on(0, "GET /ch/room/ws"),
                canned_on(0, "GET /echo"),
                frame(0, RFC6455_MASKED_HELLO.to_vec()),
                frame(0, masked_frame(true, OpCode::Ping, b"Hello")),
                frame(0, masked_frame(false, OpCode::Text, b"Hel")),
                frame(0, masked_frame(true, OpCode::Continuation, b"lo")),
                DeliverInbox,
                TakeOutput { conn: 0 },
                Advance { ms: 30_000 },
                TakeOutput { conn: 0 },
                frame(0, RFC6455_MASKED_PONG.to_vec()),
                frame(0, masked_frame(true, OpCode::Close, &1000u16.to_be_bytes())),
                TakeOutput { conn: 0 },
            ],
        ),
        (
            "longpoll_released_and_timed_out",
            vec![
                Connect,
                canned_on(0, "GET /ch/room/longpoll?after=0"),
                Connect,
                canned_on(1, "POST /ch/room HTTP/1.1\r\nHost: t\r\nContent-Length: 2"),
                DeliverInbox,
                TakeOutput { conn: 0 },
                canned_on(0, "GET /ch/room/longpoll?timeout=1"),
                Advance { ms: 1_000 },
                TakeOutput { conn: 0 },
            ],
        ),
        (
            "expect_continue",
            vec![
                Connect,
                canned_on(0, "POST /ch/room HTTP/1.1\r\nHost: t\r\nContent-Length: 5\r\nExpect"),
                TakeOutput { conn: 0 },
                canned_on(0, "hello"),
                DeliverInbox,
                TakeOutput { conn: 0 },
            ],
        ),
        (
            "held_publishers",
            vec![
                Connect,
                canned_on(0, "GET /ch/room/sse HTTP"),
                Connect,
                canned_on(1, "POST /ch/room HTTP/1.1\r\nHost: t\r\nContent-Length: 2"),
                Connect,
                canned_on(2, "POST /ch/room HTTP/1.1\r\nHost: t\r\nContent-Length: 2"),
                Connect,
                canned_on(3, "POST /ch/room HTTP/1.1\r\nHost: t\r\nTransfer"),
                Advance { ms: 1_000 },
                DeliverInbox,
                TakeOutput { conn: 1 },
                TakeOutput { conn: 2 },
                TakeOutput { conn: 3 },
            ],
        ),
        (
            "slow_head_then_idle",
            vec![
                Connect,
                send(0, b"GET / HTTP/1.1\r\nHo"),
                Advance { ms: 10_000 },
                TakeOutput { conn: 0 },
                Connect,
                send(1, RFC9112_ORIGIN_FORM),
                TakeOutput { conn: 1 },
                Advance { ms: 60_000 },
                PeerClose { conn: 1 },
            ],
        ),
    ]
}

/// Writes `setup` and `ops` in the bytes [`crate::handler::decode`] reads back: the way
/// `arbitrary` (1.x, derive) decodes them — an enum's variant as a little-endian `u32` scaled
/// to the variant count, `bool` as a byte, integers little-endian — and [`Bytes`] as a `u16`
/// length and the bytes. `tests/seeds.rs` checks that decoding gives the ops back.
pub fn encode_input(setup: &Setup, ops: &[Op]) -> Vec<u8> {
    let mut out = Vec::new();
    let which = [Which::HttpEcho, Which::WsEcho, Which::Demo, Which::SseEcho, Which::LongpollEcho];
    tag(&mut out, which.iter().position(|w| *w == setup.which).expect("a variant"), which.len());
    out.push(u8::from(setup.tight));
    out.push(u8::from(setup.ping));
    for op in ops {
        match op {
            Op::Connect => tag(&mut out, 0, 7),
            Op::Send { conn, bytes } => {
                tag(&mut out, 1, 7);
                out.push(*conn);
                let len = u16::try_from(bytes.0.len()).expect("short sends");
                out.extend_from_slice(&len.to_le_bytes());
                out.extend_from_slice(&bytes.0);
            }
            Op::SendCanned { conn, which } => {
                tag(&mut out, 2, 7);
                out.extend_from_slice(&[*conn, *which]);
            }
            Op::PeerClose { conn } => {
                tag(&mut out, 3, 7);
                out.push(*conn);
            }
            Op::Advance { ms } => {
                tag(&mut out, 4, 7);
                out.extend_from_slice(&ms.to_le_bytes());
            }
            Op::DeliverInbox => tag(&mut out, 5, 7),
            Op::TakeOutput { conn } => {
                tag(&mut out, 6, 7);
                out.push(*conn);
            }
        }
    }
    out
}

/// Variant `index` of `count`: the smallest `u32` whose `(u32 * count) >> 32` is `index`.
fn tag(out: &mut Vec<u8>, index: usize, count: usize) {
    let value = ((index as u64) << 32).div_ceil(count as u64);
    out.extend_from_slice(&(value as u32).to_le_bytes());
}

/// Replies a Redis server sends the hub: the examples of the RESP spec and of the cluster's
/// commands (the publish script's answer, a history read, a pub/sub push, errors).
fn resp() -> Vec<(&'static str, &'static [u8])> {
    vec![
        ("simple", b"+OK\r\n"),
        ("error-noscript", b"-NOSCRIPT No matching script. Please use EVAL.\r\n"),
        ("integer", b":1000\r\n:-1\r\n"),
        ("bulk", b"$5\r\nhello\r\n$0\r\n\r\n$-1\r\n"),
        ("nested", b"*2\r\n*3\r\n:1\r\n:2\r\n:3\r\n*2\r\n+Hello\r\n-World\r\n"),
        ("push", b"*3\r\n$7\r\nmessage\r\n$12\r\ntalkback:msg\r\n$8\r\n7\nroom\nhi\r\n"),
        (
            "xrange",
            b"*2\r\n*2\r\n$3\r\n1-1\r\n*2\r\n$1\r\nd\r\n$3\r\none\r\n*2\r\n$3\r\n2-1\r\n*2\r\n$1\r\nd\r\n$3\r\ntwo\r\n",
        ),
        ("null-array", b"*-1\r\n*0\r\n"),
    ]
}
