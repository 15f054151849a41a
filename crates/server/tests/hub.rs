//! The channel hub end to end, through the real reactor on `127.0.0.1:0`: every route of the
//! URL contract (README, "The hub's URLs"), every error answer, and each technique — short poll,
//! long-poll, Server-Sent Events, WebSocket — alone and all at once on one channel.
//!
//! Clients are the harness's raw [`Client`], [`talkback_sse::Parser`] for event streams and a
//! sans-I/O [`talkback_ws::Connection`] in the client role for WebSockets, so every byte on the
//! wire is ours to check. Every wait is bounded (the harness's 5 s unless said otherwise).
//!
//! This file holds those clients and helpers; the tests are in `hub/`, one file per part:
//! `routes.rs` (the URL contract and its refusals), `polling.rs`, `longpoll.rs`, `sse.rs`,
//! `websocket.rs`, `together.rs` (all four on one channel, concurrent publishers,
//! backpressure on publishers), `guard.rs` (the publish token, Origins, CORS), `ids.rs`
//! (WebSocket frames with ids: `talkback.json`, `?after=`), `metrics.rs` (`GET /metrics`) and
//! `client.rs` (`GET /talkback.js`, `--transports`).

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::{Duration, Instant};

mod common;

#[path = "hub/client.rs"]
mod client;
#[path = "hub/cluster.rs"]
mod cluster;
#[path = "hub/guard.rs"]
mod guard;
#[path = "hub/ids.rs"]
mod ids;
#[path = "hub/longpoll.rs"]
mod longpoll;
#[path = "hub/metrics.rs"]
mod metrics;
#[path = "hub/polling.rs"]
mod polling;
#[path = "hub/routes.rs"]
mod routes;
#[path = "hub/sse.rs"]
mod sse;
#[path = "hub/together.rs"]
mod together;
#[path = "hub/websocket.rs"]
mod websocket;

use common::{get, post, spawn_hub};

use talkback_harness::{Client, Response, parse_response};
use talkback_server::{HubRoutes, Service};
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
        match Ws::connect(addr, target, &[], "") {
            Ok((ws, _)) => ws,
            Err(refused) => panic!("101 Switching Protocols expected, got {refused:?}"),
        }
    }

    /// An upgrade offering `protocols`, with `extra` header lines (each ending in CRLF): the
    /// socket and the subprotocol the server chose, or the server's refusal.
    fn connect(
        addr: SocketAddr,
        target: &str,
        protocols: &[&str],
        extra: &str,
    ) -> Result<(Ws, Option<String>), Response> {
        let mut stream = TcpStream::connect(addr).expect("connect");
        stream.set_nodelay(true).expect("nodelay");
        stream.set_read_timeout(Some(Duration::from_secs(5))).expect("read timeout");
        let mut handshake = ClientHandshake::new("test", target, protocols);
        let mut request = Vec::new();
        handshake.encode_request(&mut request);
        request.truncate(request.len() - 2); // the blank line: extra fields go before it
        request.extend_from_slice(extra.as_bytes());
        request.extend_from_slice(b"\r\n");
        stream.write_all(&request).expect("send the handshake");
        let mut received = Vec::new();
        let mut chunk = [0u8; 4096];
        let (consumed, protocol) = loop {
            match handshake.handle_response(&received) {
                Ok(Some(accepted)) => break accepted,
                Ok(None) => {}
                Err(_) => {
                    if let Ok(Some((response, _))) = parse_response(&received, false, false) {
                        return Err(response);
                    }
                }
            }
            let n = stream.read(&mut chunk).expect("reading the handshake response");
            assert!(n > 0, "EOF during the handshake: {:?}", String::from_utf8_lossy(&received));
            received.extend_from_slice(&chunk[..n]);
        };
        let mut ws = Connection::new(Role::Client, Config::default(), Instant::now());
        ws.handle_bytes(&received[consumed..], Instant::now()).expect("valid frames");
        Ok((Ws { stream, ws }, protocol))
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
