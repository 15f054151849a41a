//! The channel hub end to end, through the real reactor on `127.0.0.1:0`: every route of the
//! URL contract (DESIGN.md, "The hub"), every error answer, and each technique — short poll,
//! long-poll, Server-Sent Events, WebSocket — alone and all at once on one channel.
//!
//! Clients are the harness's raw [`Client`], [`talkback_sse::Parser`] for event streams and a
//! sans-I/O [`talkback_ws::Connection`] in the client role for WebSockets, so every byte on the
//! wire is ours to check. Every wait is bounded (the harness's 5 s unless said otherwise).

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::{Duration, Instant};

mod common;
use common::{get, post, spawn_hub};

use talkback_harness::{Client, Response, parse_response};
use talkback_sse::{ParsedEvent, Parser};
use talkback_ws::handshake::ClientHandshake;
use talkback_ws::{Config, Connection, Event, Role};

// ─── servers and requests ───────────────────────────────────────────────────────────────────

/// Publishes `text` on a keep-alive connection; returns the id the hub gave it.
fn publish(client: &mut Client, channel: &str, text: &str) -> u64 {
    let response = client.request(&post(&format!("/ch/{channel}"), text.as_bytes()));
    assert_eq!(response.status, 200, "publish {text:?}: {response:?}");
    response.text().parse().expect("the publish answer is the new id")
}

/// One request on a new connection; `None` when the server closes or resets it unanswered.
fn try_request(addr: SocketAddr, request: &[u8]) -> Option<Response> {
    let mut stream = TcpStream::connect(addr).ok()?;
    stream.set_read_timeout(Some(Duration::from_secs(2))).ok()?;
    stream.write_all(request).ok()?;
    let mut received = Vec::new();
    let mut chunk = [0u8; 4096];
    loop {
        if let Ok(Some((response, _))) = parse_response(&received, false, false) {
            return Some(response);
        }
        match stream.read(&mut chunk) {
            Ok(0) | Err(_) => return None,
            Ok(n) => received.extend_from_slice(&chunk[..n]),
        }
    }
}

/// Waits `wait` and checks that the server sent nothing and kept the connection open.
fn assert_silent(client: &mut Client, wait: Duration, what: &str) {
    let open = client.is_open_after(wait);
    let early = client.take_buffered();
    assert!(
        open && early.is_empty(),
        "{what}: expected silence, got open={open} {:?}",
        String::from_utf8_lossy(&early)
    );
}

// ─── the JSON batch of /poll and /longpoll ──────────────────────────────────────────────────

/// Parses `[{"id":N,"data":"…"},…]` exactly as the hub writes it (RFC 8259 strings).
fn parse_batch(body: &str) -> Vec<(u64, String)> {
    let mut json = Json { rest: body };
    let mut batch = Vec::new();
    json.eat("[");
    if json.rest.starts_with(']') {
        json.eat("]");
    } else {
        loop {
            json.eat("{\"id\":");
            let id = json.number();
            json.eat(",\"data\":");
            batch.push((id, json.string()));
            json.eat("}");
            if json.rest.starts_with(']') {
                json.eat("]");
                break;
            }
            json.eat(",");
        }
    }
    assert!(json.rest.is_empty(), "trailing bytes after the batch: {:?}", json.rest);
    batch
}

struct Json<'a> {
    rest: &'a str,
}

impl Json<'_> {
    fn eat(&mut self, token: &str) {
        self.rest = self.rest.strip_prefix(token).unwrap_or_else(|| panic!("expected {token:?} at {:?}", self.rest));
    }

    fn number(&mut self) -> u64 {
        let end = self.rest.find(|c: char| !c.is_ascii_digit()).unwrap_or(self.rest.len());
        let (digits, rest) = self.rest.split_at(end);
        self.rest = rest;
        digits.parse().unwrap_or_else(|_| panic!("expected a number at {digits:?}"))
    }

    fn string(&mut self) -> String {
        self.eat("\"");
        let mut out = String::new();
        let mut chars = self.rest.char_indices();
        while let Some((i, c)) = chars.next() {
            match c {
                '"' => {
                    self.rest = &self.rest[i + 1..];
                    return out;
                }
                '\\' => match chars.next().map(|(_, e)| e) {
                    Some('"') => out.push('"'),
                    Some('\\') => out.push('\\'),
                    Some('/') => out.push('/'),
                    Some('n') => out.push('\n'),
                    Some('r') => out.push('\r'),
                    Some('t') => out.push('\t'),
                    Some('b') => out.push('\u{8}'),
                    Some('f') => out.push('\u{c}'),
                    Some('u') => {
                        let hex: String = (0..4).filter_map(|_| chars.next().map(|(_, h)| h)).collect();
                        let unit = u32::from_str_radix(&hex, 16).expect("\\u needs four hex digits");
                        out.push(char::from_u32(unit).expect("a \\u escape outside the surrogates"));
                    }
                    other => panic!("bad escape {other:?}"),
                },
                c if (c as u32) < 0x20 => panic!("unescaped control character {c:?} in a JSON string"),
                c => out.push(c),
            }
        }
        panic!("unterminated JSON string")
    }
}

fn batch_of(response: &Response) -> Vec<(u64, String)> {
    assert_eq!(response.status, 200, "{response:?}");
    assert_eq!(response.header("content-type"), Some("application/json"));
    parse_batch(response.text())
}

fn numbered(ids: std::ops::RangeInclusive<u64>, data: impl Fn(u64) -> String) -> Vec<(u64, String)> {
    ids.map(|id| (id, data(id))).collect()
}

// ─── an SSE subscriber ──────────────────────────────────────────────────────────────────────

/// An open event stream: the response head, then events through the WHATWG parser.
struct Sse {
    client: Client,
    head: String,
    parser: Parser,
    /// Every body byte received, for checks on the exact wire text.
    raw: Vec<u8>,
}

impl Sse {
    /// `GET target` with `extra` header lines; expects 200 and the event-stream head.
    fn open(addr: SocketAddr, target: &str, extra: &str) -> Sse {
        let mut client = Client::connect(addr);
        client.send(
            format!("GET {target} HTTP/1.1\r\nHost: test\r\nAccept: text/event-stream\r\n{extra}\r\n").as_bytes(),
        );
        let head = String::from_utf8(client.read_until(b"\r\n\r\n")).expect("head is UTF-8");
        assert!(head.starts_with("HTTP/1.1 200 "), "SSE head: {head}");
        let mut sse = Sse { client, head, parser: Parser::new(), raw: Vec::new() };
        let early = sse.client.take_buffered();
        sse.feed(&early);
        sse
    }

    fn header(&self, name: &str) -> Option<&str> {
        self.head.lines().skip(1).find_map(|line| {
            let (n, v) = line.split_once(':')?;
            n.eq_ignore_ascii_case(name).then_some(v.trim())
        })
    }

    fn feed(&mut self, bytes: &[u8]) {
        self.raw.extend_from_slice(bytes);
        self.parser.handle_bytes(bytes).expect("a valid event stream");
    }

    /// Reads more bytes; `false` on EOF or reset.
    fn read_more(&mut self, deadline: Instant) -> bool {
        let left = deadline.saturating_duration_since(Instant::now());
        assert!(
            !left.is_zero(),
            "the event stream stalled: no bytes and no end in time ({} bytes so far)",
            self.raw.len()
        );
        let mut stream = self.client.stream();
        stream.set_read_timeout(Some(left)).expect("set_read_timeout");
        let mut chunk = vec![0u8; 64 << 10];
        match stream.read(&mut chunk) {
            Ok(0) => false,
            Ok(n) => {
                self.feed(&chunk[..n]);
                true
            }
            Err(e) if e.kind() == std::io::ErrorKind::ConnectionReset => false,
            Err(e) => panic!("the event stream stalled: {e} ({} bytes so far)", self.raw.len()),
        }
    }

    fn next_event(&mut self) -> ParsedEvent {
        let deadline = Instant::now() + Duration::from_secs(5);
        loop {
            if let Some(event) = self.parser.poll_event() {
                return event;
            }
            assert!(self.read_more(deadline), "the event stream ended; got {:?}", String::from_utf8_lossy(&self.raw));
        }
    }

    /// The next `n` messages as `(id, data)`; fails on any other event type.
    fn messages(&mut self, n: usize) -> Vec<(u64, String)> {
        (0..n)
            .map(|_| {
                let event = self.next_event();
                assert_eq!(event.event_type, "message", "{event:?}");
                (event.last_event_id.parse().expect("a numeric id"), event.data)
            })
            .collect()
    }
}

// ─── a WebSocket client ─────────────────────────────────────────────────────────────────────

/// A WebSocket client: a blocking socket and the sans-I/O connection in the client role.
struct Ws {
    stream: TcpStream,
    ws: Connection,
}

impl Ws {
    fn open(addr: SocketAddr, target: &str) -> Ws {
        let mut stream = TcpStream::connect(addr).expect("connect");
        stream.set_nodelay(true).expect("nodelay");
        stream.set_read_timeout(Some(Duration::from_secs(5))).expect("read timeout");
        let mut handshake = ClientHandshake::new("test", target, &[]);
        let mut request = Vec::new();
        handshake.encode_request(&mut request);
        stream.write_all(&request).expect("send the handshake");
        let mut received = Vec::new();
        let mut chunk = [0u8; 4096];
        let consumed = loop {
            if let Some((consumed, _)) = handshake.handle_response(&received).expect("101 Switching Protocols") {
                break consumed;
            }
            let n = stream.read(&mut chunk).expect("reading the handshake response");
            assert!(n > 0, "EOF during the handshake: {:?}", String::from_utf8_lossy(&received));
            received.extend_from_slice(&chunk[..n]);
        };
        let mut ws = Connection::new(Role::Client, Config::default(), Instant::now());
        ws.handle_bytes(&received[consumed..], Instant::now()).expect("valid frames");
        Ws { stream, ws }
    }

    fn flush(&mut self) {
        let mut out = Vec::new();
        self.ws.poll_transmit(&mut out);
        if !out.is_empty() {
            self.stream.write_all(&out).expect("send frames");
        }
    }

    fn send_text(&mut self, text: &str) {
        self.ws.send_text(text).expect("send_text");
        self.flush();
    }

    fn send_binary(&mut self, data: &[u8]) {
        self.ws.send_binary(data).expect("send_binary");
        self.flush();
    }

    fn next_event(&mut self) -> Event {
        let mut chunk = [0u8; 16 << 10];
        for _ in 0..10_000 {
            if let Some(event) = self.ws.poll_event() {
                self.flush(); // pongs and close replies
                return event;
            }
            let n = self.stream.read(&mut chunk).expect("reading frames");
            assert!(n > 0, "the server closed TCP before the next WebSocket event");
            self.ws.handle_bytes(&chunk[..n], Instant::now()).expect("valid frames from the server");
        }
        panic!("no WebSocket event")
    }

    fn next_text(&mut self) -> String {
        match self.next_event() {
            Event::Text(text) => text,
            other => panic!("expected a text message, got {other:?}"),
        }
    }
}

// ─── routes and error answers ───────────────────────────────────────────────────────────────

#[test]
fn publish_answers_the_new_id_counting_per_channel() {
    let server = spawn_hub(|_| {});
    let mut client = server.client();
    assert_eq!([1, 2, 3].map(|_| publish(&mut client, "ids-a", "x")), [1, 2, 3]);
    assert_eq!(publish(&mut client, "ids-b", "y"), 1, "ids are per channel");
    assert_eq!(publish(&mut client, "ids-a", "z"), 4);
    let name = "A".repeat(64);
    assert_eq!(publish(&mut client, &name, "longest name"), 1, "a 64-character name is valid");
}

/// Every refusal of the URL contract: (name, request, status, `Allow`).
#[test]
fn routes_refuse_unknown_paths_wrong_methods_and_bad_queries() {
    let long_name = format!("/ch/{}", "a".repeat(65));
    let cases: &[(&str, Vec<u8>, u16, Option<&str>)] = &[
        ("unknown path", get("/nowhere"), 404, None),
        ("no channel", get("/ch/"), 404, None),
        ("bad character in the name", get("/ch/a.b/poll"), 404, None),
        ("name over 64 characters", get(&format!("{long_name}/poll")), 404, None),
        ("unknown technique", get("/ch/x/stream"), 404, None),
        ("too deep", get("/ch/x/poll/more"), 404, None),
        ("GET the channel", get("/ch/x"), 405, Some("POST")),
        ("PUT the channel", b"PUT /ch/x HTTP/1.1\r\nHost: t\r\nContent-Length: 0\r\n\r\n".to_vec(), 405, Some("POST")),
        ("DELETE the channel", b"DELETE /ch/x HTTP/1.1\r\nHost: t\r\n\r\n".to_vec(), 405, Some("POST")),
        ("POST poll", post("/ch/x/poll", b""), 405, Some("GET, HEAD")),
        ("POST longpoll", post("/ch/x/longpoll", b""), 405, Some("GET")),
        ("POST sse", post("/ch/x/sse", b""), 405, Some("GET")),
        ("POST ws", post("/ch/x/ws", b""), 405, Some("GET")),
        ("HEAD longpoll", b"HEAD /ch/x/longpoll HTTP/1.1\r\nHost: t\r\n\r\n".to_vec(), 405, Some("GET")),
        ("after not a number", get("/ch/x/poll?after=abc"), 400, None),
        ("after negative", get("/ch/x/poll?after=-1"), 400, None),
        ("after twice", get("/ch/x/poll?after=1&after=2"), 400, None),
        ("timeout not a number", get("/ch/x/longpoll?after=0&timeout=soon"), 400, None),
        ("lastEventId not a number", get("/ch/x/sse?lastEventId=x"), 400, None),
    ];
    let server = spawn_hub(|_| {});
    for (name, request, status, allow) in cases {
        let mut client = server.client();
        let response = client.request(request);
        assert_eq!(response.status, *status, "{name}: {response:?}");
        assert_eq!(response.header("allow"), *allow, "{name}: Allow");
    }
}

#[test]
fn a_refused_request_with_a_body_is_answered_then_closed() {
    let server = spawn_hub(|_| {});
    let mut client = server.client();
    client.send(b"PUT /ch/x HTTP/1.1\r\nHost: t\r\nContent-Length: 5\r\n\r\n");
    let response = client.read_response();
    assert_eq!((response.status, response.header("allow")), (405, Some("POST")));
    client.expect_close();
}

#[test]
fn publish_rejects_a_body_that_is_not_utf8_with_400() {
    let server = spawn_hub(|_| {});
    let mut client = server.client();
    let response = client.request(&post("/ch/utf8", b"caf\xe9"));
    assert_eq!(response.status, 400, "{response:?}");
    assert_eq!(publish(&mut client, "utf8", "café"), 1, "the refused message took no id");
}

#[test]
fn publish_over_the_message_limit_is_413_before_the_body() {
    let server = spawn_hub(|_| {});
    let mut client = server.client();
    let exact = "m".repeat(64 << 10);
    assert_eq!(publish(&mut client, "big", &exact), 1, "exactly the limit is accepted");
    let mut client = server.client();
    client.send(format!("POST /ch/big HTTP/1.1\r\nHost: t\r\nContent-Length: {}\r\n\r\n", (64 << 10) + 1).as_bytes());
    let response = client.read_response();
    assert_eq!(response.status, 413, "{response:?}");
    client.expect_close();
    let poll = server.client().request(&get("/ch/big/poll?after=1"));
    assert_eq!(poll.status, 204, "the refused message was not published");
}

#[test]
fn publish_accepts_a_chunked_body_and_refuses_one_over_the_limit() {
    let server = spawn_hub(|_| {});
    let mut client = server.client();
    let chunked =
        b"POST /ch/chunk HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n2\r\nde\r\n0\r\n\r\n";
    let response = client.request(chunked);
    assert_eq!((response.status, response.text()), (200, "1"), "{response:?}");
    assert_eq!(batch_of(&client.request(&get("/ch/chunk/poll"))), [(1, "abcde".to_string())]);
    let mut client = server.client();
    let chunk = "x".repeat(16 << 10);
    client.send(b"POST /ch/chunk HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n");
    for _ in 0..5 {
        client.send(format!("{:x}\r\n{chunk}\r\n", chunk.len()).as_bytes());
    }
    let response = client.read_response();
    assert_eq!(response.status, 413, "80 KiB in chunks over a 64 KiB limit: {response:?}");
    assert_eq!(server.client().request(&get("/ch/chunk/poll?after=1")).status, 204, "nothing published");
}

#[test]
fn publish_with_expect_100_continue_gets_100_then_200() {
    let server = spawn_hub(|_| {});
    let mut client = server.client();
    client.send(b"POST /ch/cont HTTP/1.1\r\nHost: t\r\nContent-Length: 5\r\nExpect: 100-continue\r\n\r\n");
    assert_eq!(client.read_until(b"\r\n\r\n"), b"HTTP/1.1 100 Continue\r\n\r\n");
    client.send(b"hello");
    let response = client.read_response();
    assert_eq!((response.status, response.text()), (200, "1"));
}

#[test]
fn trailing_slash_after_the_channel_is_an_unknown_path() {
    let server = spawn_hub(|_| {});
    assert_eq!(server.client().request(&get("/ch/slash/")).status, 404);
    assert_eq!(server.client().request(&post("/ch/slash/", b"m")).status, 404);
}

// ─── short polling ──────────────────────────────────────────────────────────────────────────

#[test]
fn poll_answers_the_messages_after_the_cursor_or_204() {
    let server = spawn_hub(|_| {});
    let mut client = server.client();
    assert_eq!(client.request(&get("/ch/poll/poll")).status, 204, "a fresh channel has nothing");
    let texts = ["one", "quote \" backslash \\ tab \t", "line\nbreak\r\nand \u{1} control", "ünïcødé 🎉"];
    for text in texts {
        publish(&mut client, "poll", text);
    }
    let all = numbered(1..=4, |id| texts[id as usize - 1].to_string());
    let response = client.request(&get("/ch/poll/poll"));
    assert_eq!(batch_of(&response), all, "no after: everything retained");
    assert_eq!(response.header("talkback-missed"), None);
    assert_eq!(batch_of(&client.request(&get("/ch/poll/poll?after=0"))), all);
    assert_eq!(batch_of(&client.request(&get("/ch/poll/poll?after=2"))), all[2..]);
    assert_eq!(client.request(&get("/ch/poll/poll?after=4")).status, 204, "up to date");
    assert_eq!(client.request(&get("/ch/poll/poll?after=99")).status, 204, "ahead of the log");
}

#[test]
fn poll_cursor_older_than_history_sets_talkback_missed() {
    let server = spawn_hub(|o| o.history = 3);
    let mut client = server.client();
    for i in 1..=10 {
        publish(&mut client, "hist", &format!("m{i}"));
    }
    let response = client.request(&get("/ch/hist/poll?after=2"));
    assert_eq!(batch_of(&response), numbered(8..=10, |id| format!("m{id}")));
    assert_eq!(response.header("talkback-missed"), Some("5"), "ids 3..=7 are gone");
    let response = client.request(&get("/ch/hist/poll?after=7"));
    assert_eq!(response.header("talkback-missed"), None, "nothing missed from 7");
}

#[test]
fn head_poll_has_the_get_headers_and_no_body() {
    let server = spawn_hub(|_| {});
    let mut client = server.client();
    publish(&mut client, "head", "some message");
    let full = client.request(&get("/ch/head/poll"));
    let head = client.request(b"HEAD /ch/head/poll HTTP/1.1\r\nHost: t\r\n\r\n");
    assert_eq!(head.status, 200);
    assert!(head.body.is_empty());
    assert_eq!(head.header("content-length"), Some(full.body.len().to_string().as_str()));
    assert_eq!(head.header("content-type"), Some("application/json"));
    assert_eq!(client.request(&get("/ch/head/poll?after=1")).status, 204, "framing intact after HEAD");
}

// ─── long polling ───────────────────────────────────────────────────────────────────────────

#[test]
fn longpoll_is_held_until_a_publish_releases_it() {
    let server = spawn_hub(|_| {});
    let mut waiter = server.client();
    waiter.send(&get("/ch/lp/longpoll?after=0&timeout=30"));
    assert_silent(&mut waiter, Duration::from_millis(300), "a long-poll with nothing newer");
    let started = Instant::now();
    publish(&mut server.client(), "lp", "wake up");
    let response = waiter.read_response();
    assert_eq!(batch_of(&response), [(1, "wake up".to_string())]);
    assert!(started.elapsed() < Duration::from_secs(2), "released at once, not at the timeout");
    assert_eq!(batch_of(&waiter.request(&get("/ch/lp/poll"))), [(1, "wake up".into())], "still keep-alive");
}

#[test]
fn longpoll_with_news_answers_at_once() {
    let server = spawn_hub(|_| {});
    let mut client = server.client();
    publish(&mut client, "lpnow", "a");
    publish(&mut client, "lpnow", "b");
    let response = client.request(&get("/ch/lpnow/longpoll?after=1&timeout=30"));
    assert_eq!(batch_of(&response), [(2, "b".to_string())]);
}

#[test]
fn longpoll_with_connection_close_is_answered_then_closed() {
    let server = spawn_hub(|_| {});
    let mut waiter = server.client();
    waiter.send(b"GET /ch/lpclose/longpoll?after=0&timeout=30 HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n");
    assert_silent(&mut waiter, Duration::from_millis(200), "parked");
    publish(&mut server.client(), "lpclose", "bye");
    let response = waiter.read_response();
    assert_eq!(batch_of(&response), [(1, "bye".to_string())]);
    assert!(response.closes(), "Connection: close in the answer");
    waiter.expect_close();
}

#[test]
fn longpoll_times_out_with_204() {
    let server = spawn_hub(|_| {});
    let mut client = server.client();
    let started = Instant::now();
    let response = client.request(&get("/ch/lpt/longpoll?after=0&timeout=1"));
    let held = started.elapsed();
    assert_eq!(response.status, 204, "{response:?}");
    assert!(held >= Duration::from_millis(900) && held < Duration::from_secs(3), "held {held:?}");
    assert_eq!(client.request(&get("/ch/lpt/poll")).status, 204, "back to HTTP after the timeout");
}

#[test]
fn longpoll_timeout_zero_answers_now() {
    let server = spawn_hub(|_| {});
    let started = Instant::now();
    let response = server.client().request(&get("/ch/lp0/longpoll?after=0&timeout=0"));
    assert_eq!(response.status, 204);
    assert!(started.elapsed() < Duration::from_millis(500));
}

#[test]
fn longpoll_hold_is_capped_by_max_hold() {
    let server = spawn_hub(|o| o.max_hold = Duration::from_secs(1));
    let started = Instant::now();
    let response = server.client().request(&get("/ch/cap/longpoll?after=0&timeout=60"));
    assert_eq!(response.status, 204);
    let held = started.elapsed();
    assert!(held >= Duration::from_millis(900) && held < Duration::from_secs(3), "held {held:?}");
}

#[test]
fn longpoll_hold_outlasts_the_head_and_keepalive_timeouts() {
    let server = spawn_hub(|o| {
        o.head_timeout = Duration::from_secs(1);
        o.keepalive_timeout = Duration::from_secs(1);
    });
    let started = Instant::now();
    let response = server.client().request(&get("/ch/outlast/longpoll?after=0&timeout=2"));
    let held = started.elapsed();
    assert_eq!(response.status, 204, "{response:?}");
    assert!(held >= Duration::from_millis(1900), "a parked request is not an idle connection: held {held:?}");
}

#[test]
fn longpoll_after_ahead_of_the_log_holds_until_a_newer_id() {
    let server = spawn_hub(|_| {});
    let mut publisher = server.client();
    publish(&mut publisher, "ahead", "m1");
    publish(&mut publisher, "ahead", "m2");
    let mut waiter = server.client();
    waiter.send(&get("/ch/ahead/longpoll?after=5&timeout=30"));
    assert_silent(&mut waiter, Duration::from_millis(200), "cursor 5 with last id 2");
    for i in 3..=5 {
        publish(&mut publisher, "ahead", &format!("m{i}"));
    }
    assert_silent(&mut waiter, Duration::from_millis(200), "ids 3..=5 are not newer than 5");
    publish(&mut publisher, "ahead", "m6");
    assert_eq!(batch_of(&waiter.read_response()), [(6, "m6".to_string())]);
}

#[test]
fn longpoll_without_after_waits_for_the_next_message() {
    let server = spawn_hub(|_| {});
    let mut publisher = server.client();
    publish(&mut publisher, "next", "old");
    let mut waiter = server.client();
    waiter.send(&get("/ch/next/longpoll?timeout=30"));
    assert_silent(&mut waiter, Duration::from_millis(200), "no after: old messages do not count");
    publish(&mut publisher, "next", "new");
    assert_eq!(batch_of(&waiter.read_response()), [(2, "new".to_string())]);
}

#[test]
fn longpoll_cursor_older_than_history_sets_talkback_missed() {
    let server = spawn_hub(|o| o.history = 3);
    let mut client = server.client();
    for i in 1..=10 {
        publish(&mut client, "lphist", &format!("m{i}"));
    }
    let response = client.request(&get("/ch/lphist/longpoll?after=2&timeout=30"));
    assert_eq!(batch_of(&response), numbered(8..=10, |id| format!("m{id}")));
    assert_eq!(response.header("talkback-missed"), Some("5"));
}

#[test]
fn longpoll_pipelined_request_behind_a_parked_one_is_answered_after_release_in_order() {
    let server = spawn_hub(|_| {});
    let mut client = server.client();
    let mut pipelined = get("/ch/pipe/longpoll?after=0&timeout=30");
    pipelined.extend_from_slice(&get("/ch/pipe/poll?after=0"));
    pipelined.extend_from_slice(&post("/ch/pipe", b"second"));
    pipelined.extend_from_slice(&get("/ch/other/poll"));
    client.send(&pipelined);
    assert_silent(&mut client, Duration::from_millis(300), "the first request is parked; the rest wait");
    publish(&mut server.client(), "pipe", "released");
    let first = client.read_response();
    assert_eq!(batch_of(&first), [(1, "released".to_string())], "the long-poll first");
    let second = client.read_response();
    assert_eq!(batch_of(&second), [(1, "released".to_string())], "then the pipelined poll");
    assert_eq!(client.read_response().text(), "2", "then the pipelined publish on the same channel");
    assert_eq!(client.read_response().status, 204, "then the poll of another channel");
}

#[test]
fn disconnect_while_parked_frees_the_slot_at_once() {
    // One loop, one connection allowed: a parked long-poll holds the only slot.
    let server = spawn_hub(|o| {
        o.threads = 1;
        o.max_connections = 1;
    });
    let mut parked = server.client();
    parked.send(&get("/ch/slot/longpoll?after=0&timeout=60"));
    assert_silent(&mut parked, Duration::from_millis(200), "parked");
    // The control: while it is parked, another connection is refused (closed unanswered).
    assert!(try_request(server.addr(), &get("/ch/slot/poll")).is_none(), "over max_connections: refused");
    drop(parked);
    // Well below the 60 s hold: the slot is back as soon as the loop sees the FIN.
    let started = Instant::now();
    let answered = (0..20).find_map(|_| {
        try_request(server.addr(), &get("/ch/slot/poll")).or_else(|| {
            std::thread::sleep(Duration::from_millis(50));
            None
        })
    });
    let response = answered.expect("a new connection is served after the parked client left");
    assert_eq!(response.status, 204);
    assert!(started.elapsed() < Duration::from_secs(3), "freed at once, not at the hold's end");
}

// ─── Server-Sent Events ─────────────────────────────────────────────────────────────────────

#[test]
fn sse_head_is_an_uncached_event_stream() {
    let server = spawn_hub(|_| {});
    let sse = Sse::open(server.addr(), "/ch/head/sse", "");
    assert_eq!(sse.header("content-type"), Some("text/event-stream"));
    assert_eq!(sse.header("cache-control"), Some("no-cache"));
    assert_eq!(sse.header("content-length"), None, "the body runs until close");
}

#[test]
fn sse_events_arrive_in_order_with_their_ids() {
    let server = spawn_hub(|_| {});
    let mut sse = Sse::open(server.addr(), "/ch/order/sse", "");
    let mut publisher = server.client();
    publish(&mut publisher, "order-other", "another channel");
    for i in 1..=50 {
        publish(&mut publisher, "order", &format!("message {i}"));
    }
    assert_eq!(sse.messages(50), numbered(1..=50, |id| format!("message {id}")));
    assert!(sse.raw.starts_with(b"id: 1\ndata: message 1\n\n"), "{:?}", String::from_utf8_lossy(&sse.raw[..40]));
}

#[test]
fn sse_without_a_cursor_starts_at_the_next_message() {
    let server = spawn_hub(|_| {});
    let mut publisher = server.client();
    publish(&mut publisher, "fresh", "before");
    let mut sse = Sse::open(server.addr(), "/ch/fresh/sse", "");
    publish(&mut publisher, "fresh", "after");
    assert_eq!(sse.messages(1), [(2, "after".to_string())]);
}

#[test]
fn sse_last_event_id_header_replays_later_messages() {
    let server = spawn_hub(|_| {});
    let mut publisher = server.client();
    for i in 1..=5 {
        publish(&mut publisher, "replay", &format!("m{i}"));
    }
    let mut sse = Sse::open(server.addr(), "/ch/replay/sse", "Last-Event-ID: 2\r\n");
    publish(&mut publisher, "replay", "m6");
    assert_eq!(sse.messages(4), numbered(3..=6, |id| format!("m{id}")), "replay then live, no gap, no repeat");
}

#[test]
fn sse_last_event_id_query_replays_later_messages() {
    let server = spawn_hub(|_| {});
    let mut publisher = server.client();
    for i in 1..=5 {
        publish(&mut publisher, "replayq", &format!("m{i}"));
    }
    let mut sse = Sse::open(server.addr(), "/ch/replayq/sse?lastEventId=3", "");
    publish(&mut publisher, "replayq", "m6");
    assert_eq!(sse.messages(3), numbered(4..=6, |id| format!("m{id}")));
}

#[test]
fn sse_cursor_older_than_history_sends_missed_first() {
    let server = spawn_hub(|o| o.history = 3);
    let mut publisher = server.client();
    for i in 1..=10 {
        publish(&mut publisher, "missed", &format!("m{i}"));
    }
    let mut sse = Sse::open(server.addr(), "/ch/missed/sse", "Last-Event-ID: 2\r\n");
    let missed = sse.next_event();
    assert_eq!((missed.event_type.as_str(), missed.data.as_str()), ("missed", "5"), "ids 3..=7 are gone");
    assert_eq!(sse.messages(3), numbered(8..=10, |id| format!("m{id}")));
    assert!(sse.raw.starts_with(b"event: missed\ndata: 5\n\n"));
}

#[test]
fn sse_heartbeat_comment_arrives_every_interval() {
    let server = spawn_hub(|o| o.heartbeat = Duration::from_secs(1));
    let mut sse = Sse::open(server.addr(), "/ch/beat/sse", "");
    let started = Instant::now();
    sse.client.set_timeout(Duration::from_secs(3));
    sse.client.read_until(b": heartbeat\n\n");
    sse.client.read_until(b": heartbeat\n\n");
    let took = started.elapsed();
    assert!(took >= Duration::from_millis(1800) && took < Duration::from_secs(4), "two heartbeats in {took:?}");
}

#[test]
fn sse_stream_outlives_the_keepalive_timeout() {
    let server = spawn_hub(|o| o.keepalive_timeout = Duration::from_secs(1));
    let mut sse = Sse::open(server.addr(), "/ch/long/sse", "");
    std::thread::sleep(Duration::from_millis(1500));
    publish(&mut server.client(), "long", "still here");
    assert_eq!(sse.messages(1), [(1, "still here".to_string())]);
}

#[test]
fn sse_message_with_line_breaks_becomes_several_data_lines() {
    let server = spawn_hub(|_| {});
    let mut sse = Sse::open(server.addr(), "/ch/lines/sse", "");
    publish(&mut server.client(), "lines", "a\nb\r\nc\rd");
    let event = sse.next_event();
    assert_eq!(event.data, "a\nb\nc\nd", "every line end arrives as LF");
    assert_eq!(sse.raw, b"id: 1\ndata: a\ndata: b\ndata: c\ndata: d\n\n");
}

#[test]
fn slow_sse_consumer_is_dropped_while_a_reader_gets_every_message() {
    const MESSAGES: usize = 1500;
    const SIZE: usize = 16 << 10;
    let server = spawn_hub(|o| o.output_cap = 64 << 10);
    let stalled = Sse::open(server.addr(), "/ch/slow/sse", "");
    let mut reader = Sse::open(server.addr(), "/ch/slow/sse", "");
    let reading = std::thread::spawn(move || {
        let ids: Vec<u64> = reader
            .messages(MESSAGES)
            .into_iter()
            .map(|(id, data)| {
                assert_eq!(data.len(), SIZE);
                id
            })
            .collect();
        ids
    });
    let mut publisher = server.client();
    let body = "s".repeat(SIZE);
    for _ in 0..MESSAGES {
        publish(&mut publisher, "slow", &body);
    }
    let ids = reading.join().expect("the reading subscriber got every message");
    assert_eq!(ids, (1..=MESSAGES as u64).collect::<Vec<_>>());
    // The stalled one: whatever the kernel buffered, then the end of the stream, long before
    // all 24 MiB could have been queued for it.
    let mut stalled = stalled;
    let deadline = Instant::now() + Duration::from_secs(10);
    for _ in 0..100_000 {
        if !stalled.read_more(deadline) {
            break;
        }
    }
    let received = std::iter::from_fn(|| stalled.parser.poll_event()).count();
    assert!(received < MESSAGES, "the stalled subscriber was cut off (it got {received} of {MESSAGES})");
    eprintln!("stalled subscriber cut off after {received} of {MESSAGES} messages ({} bytes)", stalled.raw.len());
}

// ─── WebSocket ──────────────────────────────────────────────────────────────────────────────

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

// ─── all four at once ───────────────────────────────────────────────────────────────────────

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

/// Backpressure on publishers (hub.rs `PublishWait`): 50 pipelined `POST`s arrive in one read,
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
