//! A client and a server `Connection` joined in memory, on a virtual clock.

use std::time::{Duration, Instant};

use talkback_http1::{Method, Request, Version};
use talkback_ws::handshake::{self, ClientHandshake, ServerPolicy};
use talkback_ws::{CloseFrame, Config, Connection, Event, OpCode, Role};

use super::frame;

/// Two endpoints and the time they share.
struct Pair {
    client: Connection,
    server: Connection,
    now: Instant,
    /// While false, bytes from the client are dropped (a vanished peer).
    client_alive: bool,
    /// Every byte the server sent since the test last cleared it.
    wire_to_client: Vec<u8>,
}

impl Pair {
    fn new(config: Config) -> Pair {
        let now = Instant::now();
        Pair {
            client: Connection::new(Role::Client, Config::default(), now),
            server: Connection::new(Role::Server, config, now),
            now,
            client_alive: true,
            wire_to_client: Vec::new(),
        }
    }

    /// Moves queued bytes both ways until neither side has anything to send.
    fn pump(&mut self) -> (Vec<Event>, Vec<Event>) {
        let (mut client_events, mut server_events) = (Vec::new(), Vec::new());
        loop {
            let mut bytes = Vec::new();
            self.client.poll_transmit(&mut bytes);
            if !self.client_alive {
                bytes.clear();
            }
            let moved = !bytes.is_empty();
            if moved {
                self.server.handle_bytes(&bytes, self.now).expect("server accepts client bytes");
            }
            server_events.extend(std::iter::from_fn(|| self.server.poll_event()));
            let mut bytes = Vec::new();
            self.server.poll_transmit(&mut bytes);
            if bytes.is_empty() && !moved {
                return (client_events, server_events);
            }
            if self.client_alive {
                self.client.handle_bytes(&bytes, self.now).expect("client accepts server bytes");
            }
            client_events.extend(std::iter::from_fn(|| self.client.poll_event()));
            self.wire_to_client.extend(bytes);
        }
    }

    /// Advances virtual time to `until`, firing each side's timers on the way.
    fn run_until(&mut self, until: Instant) -> (Vec<Event>, Vec<Event>) {
        let mut all = (Vec::new(), Vec::new());
        loop {
            let next = [self.client.poll_deadline(), self.server.poll_deadline()].into_iter().flatten().min();
            match next {
                Some(at) if at <= until => {
                    self.now = self.now.max(at);
                    self.client.handle_timeout(self.now);
                    self.server.handle_timeout(self.now);
                    let (c, s) = self.pump();
                    all.0.extend(c);
                    all.1.extend(s);
                }
                _ => {
                    self.now = until;
                    return all;
                }
            }
        }
    }
}

#[test]
fn rfc6455_5_6_echo_text_and_binary() {
    let mut pair = Pair::new(Config::default());
    pair.client.send_text("hello").unwrap();
    pair.client.send_binary(&[0, 1, 2]).unwrap();
    let (_, at_server) = pair.pump();
    assert_eq!(at_server, [Event::Text("hello".into()), Event::Binary(vec![0, 1, 2])]);
    pair.server.send_text("hello").unwrap();
    pair.server.send_binary(&[0, 1, 2]).unwrap();
    let (at_client, _) = pair.pump();
    assert_eq!(at_client, [Event::Text("hello".into()), Event::Binary(vec![0, 1, 2])]);
}

#[test]
fn rfc6455_5_3_each_client_frame_has_a_fresh_mask() {
    let mut client = Connection::new(Role::Client, Config::default(), Instant::now());
    let mut keys = std::collections::HashSet::new();
    for _ in 0..64 {
        client.send_text("x").unwrap();
        let mut out = Vec::new();
        client.poll_transmit(&mut out);
        assert_eq!(out[1] & 0x80, 0x80, "client frames are masked");
        keys.insert([out[2], out[3], out[4], out[5]]);
    }
    assert!(keys.len() > 60, "keys repeat: {}", keys.len());
}

/// Everything a client with `mask_seed` sends: one frame of each kind, every one masked.
fn seeded_client_frames(seed: u64) -> Vec<u8> {
    let config = Config { mask_seed: Some(seed), ..Config::default() };
    let mut client = Connection::new(Role::Client, config, Instant::now());
    client.send_text("Hello").unwrap();
    client.send_binary(&[0xa5; 300]).unwrap();
    client.send_ping(b"are you there").unwrap();
    client.close(1000, "bye").unwrap();
    let mut out = Vec::new();
    client.poll_transmit(&mut out);
    out
}

#[test]
fn rfc6455_5_3_seeded_clients_mask_identically_and_seeds_differ() {
    let a = seeded_client_frames(7);
    assert_eq!(a, seeded_client_frames(7), "same seed, same bytes");
    assert_ne!(a, seeded_client_frames(8), "another seed, other keys");
    // Still a fresh key per frame, and still frames a server reads.
    let mut server = Connection::new(Role::Server, Config::default(), Instant::now());
    assert_eq!(server.handle_bytes(&a, Instant::now()), Ok(a.len()));
    let events: Vec<_> = std::iter::from_fn(|| server.poll_event()).collect();
    assert_eq!(
        events[..3],
        [Event::Text("Hello".into()), Event::Binary(vec![0xa5; 300]), Event::Ping(b"are you there".to_vec())]
    );
    let key_at = |i: usize| [a[i], a[i + 1], a[i + 2], a[i + 3]];
    let second = 2 + 4 + 5; // after the text frame: 2-byte header, key, "Hello"
    assert_ne!(key_at(2), key_at(second + 4), "the binary frame (16-bit length) has its own key");
}

#[test]
fn rfc6455_5_4_fragmented_message_with_interleaved_ping() {
    let mut pair = Pair::new(Config::default());
    let key = Some([1, 2, 3, 4]);
    let bytes = [
        frame(false, 0, OpCode::Text, "Grüß".as_bytes(), key),
        frame(true, 0, OpCode::Ping, b"mid", key),
        frame(true, 0, OpCode::Continuation, " Gott".as_bytes(), key),
    ]
    .concat();
    pair.server.handle_bytes(&bytes, pair.now).unwrap();
    let events: Vec<_> = std::iter::from_fn(|| pair.server.poll_event()).collect();
    assert_eq!(events, [Event::Ping(b"mid".to_vec()), Event::Text("Grüß Gott".into())]);
    let (at_client, _) = pair.pump();
    assert_eq!(at_client, [Event::Pong(b"mid".to_vec())], "the pong echoes the ping");
}

#[test]
fn rfc6455_7_1_2_close_handshake_started_by_the_client() {
    let mut pair = Pair::new(Config::default());
    pair.client.close(1000, "bye").unwrap();
    assert!(!pair.client.can_send());
    assert_eq!(pair.client.send_text("late"), Err(talkback_ws::SendError::Closed));
    let (at_client, at_server) = pair.pump();
    let bye = CloseFrame { code: 1000, reason: "bye".into() };
    assert_eq!(at_server, [Event::Close(Some(bye))]);
    assert!(pair.server.is_closed(), "the server closes TCP first (§7.1.1)");
    assert_eq!(at_client, [Event::Close(Some(CloseFrame { code: 1000, reason: String::new() }))]);
    assert!(pair.client.is_closed());
}

#[test]
fn rfc6455_7_1_1_close_timeout_when_the_peer_never_answers() {
    let mut pair = Pair::new(Config::default());
    pair.client_alive = false;
    pair.server.close(1001, "going away").unwrap();
    let start = pair.now;
    pair.run_until(start + Duration::from_millis(4999));
    assert!(!pair.server.is_closed());
    pair.run_until(start + Duration::from_secs(5));
    assert!(pair.server.is_closed(), "closed after Config::close_timeout");
    assert_eq!(pair.server.poll_deadline(), None);
}

#[test]
fn rfc6455_5_5_2_keepalive_pings_for_hours_then_pong_timeout_closes_with_1011() {
    let config = Config {
        ping_interval: Some(Duration::from_secs(30)),
        pong_timeout: Duration::from_secs(10),
        ..Config::default()
    };
    let mut pair = Pair::new(config);
    let start = pair.now;
    let (at_client, at_server) = pair.run_until(start + Duration::from_secs(3 * 3600));
    let pings = at_client.iter().filter(|e| matches!(e, Event::Ping(_))).count();
    let pongs = at_server.iter().filter(|e| matches!(e, Event::Pong(_))).count();
    assert_eq!((pings, pongs), (360, 360), "one ping per 30 s for 3 hours, each answered");
    assert!(pair.server.can_send());

    pair.client_alive = false;
    pair.wire_to_client.clear();
    let gone = pair.now;
    pair.run_until(gone + Duration::from_secs(39));
    assert!(!pair.server.is_closed(), "ping at +30 s, waiting until +40 s");
    pair.run_until(gone + Duration::from_secs(40));
    assert!(pair.server.is_closed());
    let ping = frame(true, 0, OpCode::Ping, b"", None);
    let close = frame(true, 0, OpCode::Close, b"\x03\xf3pong timeout", None);
    assert_eq!(pair.wire_to_client, [ping, close].concat());
}

#[test]
fn rfc6455_4_1_bytes_after_the_101_are_not_lost() {
    let mut hs = ClientHandshake::new("localhost:8080", "/ws", &[]);
    let mut request = Request::new(Method::Get, "/ws".into(), Version::Http11);
    for (name, value) in [("Upgrade", "websocket"), ("Connection", "Upgrade"), ("Sec-WebSocket-Version", "13")] {
        request.push_header(name, value.as_bytes());
    }
    request.push_header("Sec-WebSocket-Key", hs.key().as_bytes());
    let accepted = handshake::accept(&request, &ServerPolicy::default()).unwrap();
    let now = Instant::now();
    let mut server = Connection::new(Role::Server, Config::default(), now);
    let mut wire = Vec::new();
    accepted.encode_response(&mut wire);
    server.send_text("first").unwrap();
    server.poll_transmit(&mut wire); // the 101 and the first frame in one segment

    let (consumed, protocol) = hs.handle_response(&wire).unwrap().unwrap();
    assert_eq!(protocol, None);
    let mut client = Connection::new(Role::Client, Config::default(), now);
    client.handle_bytes(&wire[consumed..], now).unwrap();
    assert_eq!(client.poll_event(), Some(Event::Text("first".into())));
}

#[test]
fn rfc6455_7_1_7_fail_queues_the_error_close_code() {
    let now = Instant::now();
    let mut server = Connection::new(Role::Server, Config::default(), now);
    let err = server.handle_bytes(super::HELLO_UNMASKED, now).unwrap_err();
    assert_eq!(err.close_code(), 1002);
    assert_eq!(server.handle_bytes(b"more", now), Err(err), "the error sticks");
    server.fail(&err);
    assert!(server.is_closed());
    let mut out = Vec::new();
    server.poll_transmit(&mut out);
    let mut expect = vec![0x88, 2 + err.reason().len() as u8, 0x03, 0xEA];
    expect.extend_from_slice(err.reason().as_bytes());
    assert_eq!(out, expect);
}

#[test]
fn frame_log_records_frames_in_and_out() {
    let now = Instant::now();
    let mut server = Connection::new(Role::Server, Config::default(), now);
    server.set_frame_log(true);
    server.handle_bytes(super::HELLO_MASKED, now).unwrap();
    server.send_text("Hello").unwrap();
    let lines: Vec<String> = std::iter::from_fn(|| server.poll_frame_log()).map(|r| r.to_string()).collect();
    assert_eq!(
        lines,
        [
            r#"<- FIN=1 RSV=000 op=text(0x1) MASK=1 key=37fa213d len=5 payload="Hello""#,
            r#"-> FIN=1 RSV=000 op=text(0x1) MASK=0 len=5 payload="Hello""#,
        ]
    );
}

/// RFC 6455 §5.7's masked "Hello", 10 000 times back to back in one buffer (as a busy peer's
/// frames arrive in one read): every frame decodes to its own message, none is merged, split or
/// dropped, and the connection stays open. Speed is measured by `just bench-ws`, not here.
#[test]
fn rfc6455_5_7_ten_thousand_frames_in_one_buffer_each_become_a_message() {
    let frame = super::HELLO_MASKED;
    let buf: Vec<u8> = frame.iter().copied().cycle().take(frame.len() * 10_000).collect();
    let now = Instant::now();
    let mut server = Connection::new(Role::Server, Config::default(), now);
    for round in 0..3 {
        assert_eq!(server.handle_bytes(&buf, now), Ok(buf.len()), "round {round}");
        let events: Vec<Event> = std::iter::from_fn(|| server.poll_event()).collect();
        assert_eq!(events.len(), 10_000, "round {round}");
        assert!(events.iter().all(|e| *e == Event::Text("Hello".into())), "round {round}");
    }
    assert!(server.can_send());
}

#[test]
fn rfc6455_5_5_1_messages_before_a_close_are_answered_before_the_echo() {
    let now = Instant::now();
    let mut server = Connection::new(Role::Server, Config::default(), now);
    let key = Some([9, 8, 7, 6]);
    let bytes = [frame(true, 0, OpCode::Text, b"last words", key), frame(true, 0, OpCode::Close, b"\x03\xe8", key)];
    server.handle_bytes(&bytes.concat(), now).unwrap();
    assert_eq!(server.poll_event(), Some(Event::Text("last words".into())));
    assert!(server.can_send() && !server.is_closed(), "CloseReceived: replies may still go out");
    server.send_text("last words").unwrap();
    assert_eq!(server.poll_event(), Some(Event::Close(Some(CloseFrame { code: 1000, reason: String::new() }))));
    assert!(server.is_closed() && !server.can_send());
    let mut out = Vec::new();
    server.poll_transmit(&mut out);
    let expect = [frame(true, 0, OpCode::Text, b"last words", None), frame(true, 0, OpCode::Close, b"\x03\xe8", None)];
    assert_eq!(out, expect.concat());
}

#[test]
fn rfc6455_5_6_every_event_round_trips_through_encode_and_a_connection() {
    let close = Some(CloseFrame { code: 4000, reason: "done".into() });
    let events = [
        Event::Text("héllo".into()),
        Event::Binary(vec![0, 255, 7]),
        Event::Ping(b"p".to_vec()),
        Event::Pong(b"q".to_vec()),
        Event::Close(close),
    ];
    for (role, mask) in [(Role::Server, Some([5, 6, 7, 8])), (Role::Client, None)] {
        let now = Instant::now();
        let mut conn = Connection::new(role, Config::default(), now);
        let mut wire = Vec::new();
        for event in &events {
            event.encode(mask, &mut wire);
        }
        conn.handle_bytes(&wire, now).unwrap();
        let got: Vec<Event> = std::iter::from_fn(|| conn.poll_event()).collect();
        assert_eq!(got, events, "{role:?}");
    }
    let mut empty = Vec::new();
    Event::Close(None).encode(None, &mut empty);
    assert_eq!(empty, [0x88, 0x00]);
}
