//! WebSocket interop with a real, independent peer: [tungstenite] (blocking, std::net) on
//! `127.0.0.1:0`.
//!
//! ```text
//!  tungstenite client ──▶ ws-echo / the hub (our server, in-process, through the reactor)
//!  talkback_ws client ──▶ tungstenite::accept (a std TcpListener in a thread)
//!  ws-client (binary) ──▶ tungstenite::accept, stdin lines in, stdout lines checked
//! ```
//!
//! Our own tests check our bytes against our reading of RFC 6455; these check that someone
//! else's reading agrees: tungstenite refuses unmasked server frames from a client's view,
//! unmasked client frames from a server's view, bad accept keys, bad close codes and invalid
//! UTF-8, so every passing exchange here is also a validation of what we put on the wire.
//! Every socket has a 5 s timeout, so a missing reply fails the test instead of hanging it.
//! The peer suites outside `cargo test` live in `tests/interop/ws/` (`tests/interop/run-ws.sh`).

use std::io::{self, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::process::{Command, ExitStatus, Stdio};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use talkback_harness::TestServer;
use talkback_server::{HubRoutes, Options, Service, start};
use talkback_ws::handshake::ClientHandshake;
use talkback_ws::{CloseFrame as OurClose, Config, Connection, Event, Role};
use tungstenite::client::IntoClientRequest;
use tungstenite::error::{ProtocolError, SubProtocolError};
use tungstenite::protocol::CloseFrame;
use tungstenite::protocol::frame::Frame;
use tungstenite::protocol::frame::coding::{CloseCode, Data, OpCode};
use tungstenite::{Error as WsError, Message, WebSocket};

/// The longest any single wait may take.
const TIMEOUT: Duration = Duration::from_secs(5);

type Ws = WebSocket<TcpStream>;

// ─── our servers, tungstenite clients ───────────────────────────────────────────────────────

fn spawn(service: Service, options: Options) -> TestServer {
    TestServer::spawn(move |l| {
        let _ = start(l, service, options, false).map(|s| s.join());
    })
}

/// `ws-echo` as the binary runs it (16 MiB messages), without signals.
fn ws_echo() -> TestServer {
    spawn(Service::WsEcho, Options::with_defaults(16 << 20))
}

/// The hub as `demo` runs it (64 KiB messages), without signals.
fn hub() -> TestServer {
    spawn(Service::Hub(HubRoutes::ALL), Options::with_defaults(64 << 10))
}

fn tcp(addr: SocketAddr) -> TcpStream {
    let stream = TcpStream::connect(addr).expect("connect to the server");
    stream.set_read_timeout(Some(TIMEOUT)).expect("read timeout");
    stream.set_write_timeout(Some(TIMEOUT)).expect("write timeout");
    stream
}

/// A tungstenite client after a successful handshake on `path`.
fn connect(addr: SocketAddr, path: &str) -> Ws {
    let (ws, response) = tungstenite::client::client(format!("ws://{addr}{path}"), tcp(addr))
        .unwrap_or_else(|e| panic!("tungstenite handshake with {addr}{path}: {e}"));
    assert_eq!(response.status(), 101);
    ws
}

/// The next message that is not a ping or pong (tungstenite queues the pongs itself).
fn next_data(ws: &mut Ws) -> Message {
    loop {
        match ws.read() {
            Ok(Message::Ping(_) | Message::Pong(_)) => {}
            Ok(message) => return message,
            Err(e) => panic!("reading from our server: {e}"),
        }
    }
}

/// Sends `message` and expects it back, byte for byte.
fn assert_echoed(ws: &mut Ws, message: Message) {
    let len = message.len();
    ws.send(message.clone()).expect("send");
    let echoed = next_data(ws);
    assert!(echoed == message, "echo of a {len}-byte message differs (got {} bytes)", echoed.len());
}

/// Bytes where a shifted, dropped or repeated chunk shows up as a mismatch.
fn pattern(len: usize) -> Vec<u8> {
    (0..len).map(|i| (i.wrapping_mul(31) ^ (i >> 8)) as u8).collect()
}

/// UTF-8 text of exactly `len` bytes mixing 1-, 2-, 3- and 4-byte characters, so frame and read
/// boundaries fall inside characters.
fn mixed_text(len: usize) -> String {
    let mut text = String::with_capacity(len);
    for c in "talkback é € 🦀 ".chars().cycle() {
        if text.len() + c.len_utf8() > len {
            break;
        }
        text.push(c);
    }
    while text.len() < len {
        text.push('.');
    }
    text
}

#[test]
fn rfc6455_5_6_text_messages_echoed_unchanged() {
    let server = ws_echo();
    let mut ws = connect(server.addr(), "/");
    for text in ["hello", "", "é € 🦀 — multi-byte UTF-8", &mixed_text(125), &mixed_text(126)] {
        assert_echoed(&mut ws, Message::text(text));
    }
}

#[test]
fn rfc6455_5_6_binary_messages_echoed_unchanged() {
    let server = ws_echo();
    let mut ws = connect(server.addr(), "/any/path?q=1");
    let every_byte: Vec<u8> = (0..=255).collect();
    for data in [every_byte, Vec::new(), vec![0xff; 1], pattern(300)] {
        assert_echoed(&mut ws, Message::binary(data));
    }
}

#[test]
fn rfc6455_5_2_messages_around_the_16_bit_length_boundary_echoed() {
    // 65 535 is the largest 16-bit extended length; 65 536 (64 KiB) needs the 64-bit form.
    let server = ws_echo();
    let mut ws = connect(server.addr(), "/");
    for len in [65_535, 65_536] {
        assert_echoed(&mut ws, Message::text(mixed_text(len)));
        assert_echoed(&mut ws, Message::binary(pattern(len)));
    }
}

#[test]
fn rfc6455_5_2_one_mib_messages_echoed() {
    let server = ws_echo();
    let mut ws = connect(server.addr(), "/");
    assert_echoed(&mut ws, Message::binary(pattern(1 << 20)));
    assert_echoed(&mut ws, Message::text(mixed_text(1 << 20)));
}

#[test]
fn rfc6455_5_5_2_ping_answered_with_pong_carrying_its_payload() {
    let server = ws_echo();
    let mut ws = connect(server.addr(), "/");
    for payload in [&b"are you there?"[..], b"", &[0x5a; 125]] {
        ws.send(Message::Ping(payload.to_vec().into())).expect("send ping");
        match ws.read().expect("read the pong") {
            Message::Pong(data) => assert_eq!(&data[..], payload),
            other => panic!("expected a pong, got {other:?}"),
        }
    }
    // The connection is still usable after the control frames.
    assert_echoed(&mut ws, Message::text("after the pings"));
}

#[test]
fn rfc6455_5_5_3_tungstenite_auto_pong_satisfies_our_keepalive() {
    // Our server pings after 100 ms of silence and, until the peer answers, sends no other
    // ping and gives up (close 1011) 1 s later. Only tungstenite's automatic pong speaks for
    // the client here, so every ping after the first proves a pong arrived and counted.
    let mut options = Options::with_defaults(16 << 20);
    options.ping_interval = Some(Duration::from_millis(100));
    options.pong_timeout = Duration::from_secs(1);
    let server = spawn(Service::WsEcho, options);
    let mut ws = connect(server.addr(), "/");
    let started = Instant::now();
    let mut pings = 0;
    while pings < 4 {
        match ws.read() {
            Ok(Message::Ping(_)) => pings += 1,
            Ok(other) => panic!("expected a keepalive ping, got {other:?} after {pings} pings"),
            Err(e) => panic!("after {pings} pings in {:?}: {e}", started.elapsed()),
        }
    }
    ws.flush().expect("flush the last pong");
    assert_echoed(&mut ws, Message::text("still open"));
}

#[test]
fn rfc6455_5_4_fragmented_text_with_a_ping_between_fragments_reassembled() {
    // "Hello, wörld" in three fragments, the "ö" (c3 b6) split between the last two, and a
    // ping injected in the middle of the message (§5.4: control frames MAY be interjected).
    let server = ws_echo();
    let mut ws = connect(server.addr(), "/");
    let text = "Hello, wörld".as_bytes();
    let split = text.iter().position(|&b| b == 0xc3).expect("ö") + 1;
    let frames = [
        Frame::message(text[..5].to_vec(), OpCode::Data(Data::Text), false),
        Frame::ping(&b"mid-message"[..]),
        Frame::message(text[5..split].to_vec(), OpCode::Data(Data::Continue), false),
        Frame::message(text[split..].to_vec(), OpCode::Data(Data::Continue), true),
    ];
    for frame in frames {
        ws.send(Message::Frame(frame)).expect("send a frame");
    }
    match ws.read().expect("the pong comes first: the message is not complete when the ping arrives") {
        Message::Pong(data) => assert_eq!(&data[..], b"mid-message"),
        other => panic!("expected the pong, got {other:?}"),
    }
    assert_eq!(next_data(&mut ws), Message::text("Hello, wörld"));
}

#[test]
fn rfc6455_5_4_fragmented_binary_message_reassembled() {
    let server = ws_echo();
    let mut ws = connect(server.addr(), "/");
    let data = pattern(300_000);
    let chunks: Vec<&[u8]> = data.chunks(100_000).collect();
    for (i, chunk) in chunks.iter().enumerate() {
        let opcode = if i == 0 { Data::Binary } else { Data::Continue };
        let fin = i + 1 == chunks.len();
        ws.send(Message::Frame(Frame::message(chunk.to_vec(), OpCode::Data(opcode), fin))).expect("send a fragment");
    }
    assert!(next_data(&mut ws) == Message::binary(data), "the reassembled echo differs");
}

#[test]
fn rfc6455_7_1_2_close_1000_echoed_then_server_closes_tcp_first() {
    let server = ws_echo();
    let mut ws = connect(server.addr(), "/");
    assert_echoed(&mut ws, Message::text("before the close"));
    ws.close(Some(CloseFrame { code: CloseCode::Normal, reason: "bye".into() })).expect("send close");
    match next_data(&mut ws) {
        // §5.5.1: the reply "typically echos the status code it received"; ours echoes the
        // code with an empty reason, and tungstenite validated the frame (code, UTF-8).
        Message::Close(Some(frame)) => {
            assert_eq!(frame.code, CloseCode::Normal, "close reason {:?}", frame.reason.as_str());
            assert!(frame.reason.is_empty() || frame.reason == "bye", "reason {:?}", frame.reason.as_str());
        }
        other => panic!("expected our close echo, got {other:?}"),
    }
    // §7.1.1: the server closes TCP first, so the client's next read sees a clean EOF.
    match ws.read() {
        Err(WsError::ConnectionClosed) => {}
        other => panic!("expected the server to close TCP after the close handshake, got {other:?}"),
    }
}

#[test]
fn rfc6455_4_2_2_no_subprotocol_selected_when_none_offered() {
    let server = ws_echo();
    let (mut ws, response) =
        tungstenite::client::client(format!("ws://{}/", server.addr()), tcp(server.addr())).expect("handshake");
    assert!(response.headers().get("sec-websocket-protocol").is_none(), "{response:?}");
    assert!(response.headers().get("sec-websocket-extensions").is_none(), "no extensions either: {response:?}");
    assert_echoed(&mut ws, Message::text("no subprotocol"));
}

#[test]
fn rfc6455_4_2_2_no_subprotocol_selected_when_the_server_speaks_none() {
    // ws-echo speaks no subprotocol, so an offered one is not echoed back (§4.2.2: the server
    // answers "null" by leaving the header out). tungstenite is stricter than §4.1 here and
    // refuses such a 101: its NoSubProtocol error, raised only after the status, the upgrade
    // headers and the accept key checked out, is how we see the header was absent.
    let server = ws_echo();
    let mut request = format!("ws://{}/", server.addr()).into_client_request().expect("request");
    request.headers_mut().insert("Sec-WebSocket-Protocol", "chat, superchat".parse().expect("header value"));
    match tungstenite::client::client(request, tcp(server.addr())) {
        Err(tungstenite::HandshakeError::Failure(WsError::Protocol(ProtocolError::SecWebSocketSubProtocolError(
            SubProtocolError::NoSubProtocol,
        )))) => {}
        Ok((_, response)) => panic!("tungstenite accepted a 101 without a subprotocol: {response:?}"),
        Err(e) => panic!("expected a 101 without Sec-WebSocket-Protocol, got {e}"),
    }
}

#[test]
fn rfc6455_5_5_1_empty_close_answered_with_an_empty_close() {
    let server = ws_echo();
    let mut ws = connect(server.addr(), "/");
    ws.close(None).expect("send an empty close");
    match next_data(&mut ws) {
        Message::Close(None) => {}
        other => panic!("expected an empty close back, got {other:?}"),
    }
    match ws.read() {
        Err(WsError::ConnectionClosed) => {}
        other => panic!("expected the server to close TCP, got {other:?}"),
    }
}

#[test]
fn rfc6455_8_1_invalid_utf8_text_closed_with_1007() {
    // The first fragment ends in a lead byte (valid so far); the continuation breaks it.
    let server = ws_echo();
    let mut ws = connect(server.addr(), "/");
    ws.send(Message::Frame(Frame::message(b"ok \xc3".to_vec(), OpCode::Data(Data::Text), false))).expect("send");
    ws.send(Message::Frame(Frame::message(b"(".to_vec(), OpCode::Data(Data::Continue), true))).expect("send");
    match next_data(&mut ws) {
        Message::Close(Some(frame)) => assert_eq!(frame.code, CloseCode::Invalid, "{frame:?}"),
        other => panic!("expected close 1007, got {other:?}"),
    }
}

#[test]
fn hub_text_from_one_client_is_pushed_to_every_subscriber() {
    let server = hub();
    let mut alice = connect(server.addr(), "/ch/x/ws");
    let mut bob = connect(server.addr(), "/ch/x/ws");
    let mut other_channel = connect(server.addr(), "/ch/y/ws");
    alice.send(Message::text("hello from alice")).expect("send");
    assert_eq!(next_data(&mut alice), Message::text("hello from alice"), "the sender is a subscriber too");
    assert_eq!(next_data(&mut bob), Message::text("hello from alice"));
    bob.send(Message::text("and bob é🦀")).expect("send");
    assert_eq!(next_data(&mut alice), Message::text("and bob é🦀"));
    assert_eq!(next_data(&mut bob), Message::text("and bob é🦀"));
    // Channel y heard nothing: its first message is the one published to it.
    other_channel.send(Message::text("on y")).expect("send");
    assert_eq!(next_data(&mut other_channel), Message::text("on y"));
}

#[test]
fn hub_binary_message_closed_with_1003_unsupported_data() {
    let server = hub();
    let mut ws = connect(server.addr(), "/ch/x/ws");
    ws.send(Message::binary(&b"\x00\x01binary"[..])).expect("send");
    match next_data(&mut ws) {
        Message::Close(Some(frame)) => assert_eq!(frame.code, CloseCode::Unsupported, "{frame:?}"),
        other => panic!("expected close 1003, got {other:?}"),
    }
    // tungstenite has answered our close; the hub then closes TCP (§7.1.1).
    match ws.read() {
        Err(WsError::ConnectionClosed) => {}
        other => panic!("expected the hub to close TCP, got {other:?}"),
    }
}

#[test]
fn hub_accepts_a_64_kib_text_message_and_closes_1009_one_byte_over() {
    // The hub's message limit is 64 KiB (`demo`'s default), checked from the frame header.
    let server = hub();
    let mut ws = connect(server.addr(), "/ch/big/ws");
    let at_limit = mixed_text(64 << 10);
    ws.send(Message::text(at_limit.clone())).expect("send");
    assert!(next_data(&mut ws) == Message::text(at_limit), "the 64 KiB message was not pushed back intact");
    ws.send(Message::text(mixed_text((64 << 10) + 1))).expect("send");
    match next_data(&mut ws) {
        Message::Close(Some(frame)) => assert_eq!(frame.code, CloseCode::Size, "{frame:?}"),
        other => panic!("expected close 1009, got {other:?}"),
    }
}

// ─── tungstenite servers, our client ────────────────────────────────────────────────────────

/// `talkback_ws` in the client role over a blocking socket, the way `ws-client` drives it.
struct OurClient {
    stream: TcpStream,
    conn: Connection,
    /// Set when the server closed TCP.
    eof: bool,
}

impl OurClient {
    fn connect(addr: SocketAddr) -> OurClient {
        let mut stream = tcp(addr);
        let mut handshake = ClientHandshake::new(&addr.to_string(), "/", &[]);
        let mut request = Vec::new();
        handshake.encode_request(&mut request);
        stream.write_all(&request).expect("send the opening handshake");
        let mut received = Vec::new();
        let mut chunk = [0u8; 4096];
        let (consumed, protocol) = loop {
            let n = stream.read(&mut chunk).expect("read the handshake response");
            assert!(n > 0, "tungstenite closed during the handshake");
            received.extend_from_slice(&chunk[..n]);
            if let Some(done) = handshake.handle_response(&received).expect("tungstenite's 101 is valid") {
                break done;
            }
        };
        assert_eq!(protocol, None);
        let mut client =
            OurClient { stream, conn: Connection::new(Role::Client, Config::default(), Instant::now()), eof: false };
        client.feed(&received[consumed..]);
        client
    }

    fn feed(&mut self, bytes: &[u8]) {
        if let Err(e) = self.conn.handle_bytes(bytes, Instant::now()) {
            panic!("tungstenite sent something our client refuses: {e}");
        }
    }

    fn flush(&mut self) {
        let mut out = Vec::new();
        self.conn.poll_transmit(&mut out);
        self.stream.write_all(&out).expect("write to tungstenite");
    }

    /// The next event, writing whatever it made us queue (pong, close echo).
    fn next_event(&mut self) -> Event {
        let deadline = Instant::now() + TIMEOUT;
        let mut chunk = vec![0u8; 64 * 1024];
        loop {
            if let Some(event) = self.conn.poll_event() {
                self.flush();
                return event;
            }
            assert!(!self.eof && Instant::now() < deadline, "no event from tungstenite (eof: {})", self.eof);
            match self.stream.read(&mut chunk) {
                Ok(0) => self.eof = true,
                Ok(n) => self.feed(&chunk[..n]),
                Err(e) => panic!("reading from tungstenite: {e}"),
            }
        }
    }

    /// After the close handshake: the server closes TCP first (§7.1.1).
    fn expect_eof(&mut self) {
        let mut chunk = [0u8; 64];
        match self.stream.read(&mut chunk) {
            Ok(0) => {}
            Err(e) if e.kind() == io::ErrorKind::ConnectionReset => {}
            other => panic!("expected tungstenite to close TCP, got {other:?}"),
        }
    }
}

/// Runs `serve` on the first connection to a fresh `127.0.0.1:0` listener, after
/// `tungstenite::accept`; returns the address and the thread's result.
fn tungstenite_server<T: Send + 'static>(
    serve: impl FnOnce(&mut Ws) -> T + Send + 'static,
) -> (SocketAddr, JoinHandle<T>) {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0");
    let addr = listener.local_addr().expect("local_addr");
    let handle = thread::spawn(move || {
        let (stream, _) = listener.accept().expect("accept");
        stream.set_read_timeout(Some(TIMEOUT)).expect("read timeout");
        stream.set_write_timeout(Some(TIMEOUT)).expect("write timeout");
        let mut ws = tungstenite::accept(stream).expect("tungstenite accepts our opening handshake");
        serve(&mut ws)
    });
    (addr, handle)
}

/// Echoes data messages until the connection ends; returns every message received. tungstenite
/// refuses unmasked frames from a client, so each echo also proves our client masks (§5.3).
fn echo_until_closed(ws: &mut Ws) -> Result<Vec<Message>, String> {
    let mut received = Vec::new();
    loop {
        match ws.read() {
            Ok(message) => {
                if message.is_text() || message.is_binary() {
                    ws.send(message.clone()).map_err(|e| format!("echo: {e}"))?;
                }
                received.push(message);
            }
            // The close echo is written and TCP dropped: a clean end.
            Err(WsError::ConnectionClosed) => return Ok(received),
            Err(e) => return Err(format!("tungstenite server: {e} after {received:?}")),
        }
    }
}

#[test]
fn our_client_text_and_binary_echoed_by_tungstenite() {
    let (addr, server) = tungstenite_server(echo_until_closed);
    let mut client = OurClient::connect(addr);
    let big = pattern(1 << 20);
    client.conn.send_text("hello, tungstenite é🦀").expect("send");
    client.conn.send_binary(&[0, 1, 2, 255]).expect("send");
    client.conn.send_text(&mixed_text(65_536)).expect("send");
    client.conn.send_binary(&big).expect("send");
    client.flush();
    assert_eq!(client.next_event(), Event::Text("hello, tungstenite é🦀".into()));
    assert_eq!(client.next_event(), Event::Binary(vec![0, 1, 2, 255]));
    assert_eq!(client.next_event(), Event::Text(mixed_text(65_536)));
    assert!(client.next_event() == Event::Binary(big), "the 1 MiB echo differs");
    client.conn.close(1000, "done").expect("close");
    client.flush();
    assert_eq!(client.next_event(), Event::Close(Some(OurClose { code: 1000, reason: "done".into() })));
    assert!(client.conn.is_closed());
    client.expect_eof();
    let received = server.join().expect("server thread").expect("clean tungstenite session");
    assert_eq!(received.len(), 5, "{received:?}");
}

#[test]
fn rfc6455_7_1_2_our_client_close_reaches_tungstenite_with_code_and_reason() {
    let (addr, server) = tungstenite_server(echo_until_closed);
    let mut client = OurClient::connect(addr);
    client.conn.close(1001, "going away").expect("close");
    client.flush();
    match client.next_event() {
        Event::Close(Some(frame)) => assert_eq!(frame.code, 1001),
        other => panic!("expected tungstenite's close echo, got {other:?}"),
    }
    client.expect_eof();
    let received = server.join().expect("server thread").expect("clean tungstenite session");
    match received.as_slice() {
        [Message::Close(Some(frame))] => {
            assert_eq!(frame.code, CloseCode::Away);
            assert_eq!(frame.reason, "going away");
        }
        other => panic!("tungstenite should have seen exactly our close, saw {other:?}"),
    }
}

#[test]
fn rfc6455_5_4_our_client_reassembles_tungstenite_fragments_and_answers_its_ping() {
    let (addr, server) = tungstenite_server(|ws| {
        let text = "fragmented ö".as_bytes();
        let split = text.len() - 1; // inside the "ö"
        let frames = [
            Frame::message(text[..4].to_vec(), OpCode::Data(Data::Text), false),
            Frame::ping(&b"ping from tungstenite"[..]),
            Frame::message(text[4..split].to_vec(), OpCode::Data(Data::Continue), false),
            Frame::message(text[split..].to_vec(), OpCode::Data(Data::Continue), true),
        ];
        for frame in frames {
            ws.send(Message::Frame(frame)).map_err(|e| format!("send: {e}"))?;
        }
        let pong = ws.read().map_err(|e| format!("read the pong: {e}"))?;
        let rest = echo_until_closed(ws)?;
        Ok::<_, String>((pong, rest))
    });
    let mut client = OurClient::connect(addr);
    assert_eq!(client.next_event(), Event::Ping(b"ping from tungstenite".to_vec()));
    assert_eq!(client.next_event(), Event::Text("fragmented ö".into()));
    client.conn.close(1000, "").expect("close");
    client.flush();
    assert!(matches!(client.next_event(), Event::Close(Some(OurClose { code: 1000, .. }))));
    let (pong, rest) = server.join().expect("server thread").expect("clean tungstenite session");
    assert_eq!(pong, Message::Pong(b"ping from tungstenite".to_vec().into()));
    assert!(matches!(rest.as_slice(), [Message::Close(Some(_))]), "{rest:?}");
}

// ─── the ws-client binary against a tungstenite server ──────────────────────────────────────

/// Runs `ws-client URL` with `input` on stdin; kills it (our own child) if it has not exited
/// within `limit`. Returns its status (`None`: killed) and stdout.
fn run_ws_client(url: &str, input: &str, limit: Duration) -> (Option<ExitStatus>, String, String) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_ws-client"))
        .arg(url)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start ws-client");
    child.stdin.take().expect("stdin").write_all(input.as_bytes()).expect("write stdin");
    // stdin is dropped here: EOF. Drain stdout and stderr meanwhile, so a full pipe never
    // blocks the child.
    let drain = |mut pipe: Box<dyn Read + Send>| {
        thread::spawn(move || {
            let mut text = String::new();
            let _ = pipe.read_to_string(&mut text);
            text
        })
    };
    let stdout = drain(Box::new(child.stdout.take().expect("stdout")));
    let stderr = drain(Box::new(child.stderr.take().expect("stderr")));
    let deadline = Instant::now() + limit;
    let status = loop {
        if let Some(status) = child.try_wait().expect("try_wait") {
            break Some(status);
        }
        if Instant::now() >= deadline {
            let _ = child.kill();
            let _ = child.wait();
            break None;
        }
        thread::sleep(Duration::from_millis(20));
    };
    let stdout = stdout.join().expect("stdout reader");
    let stderr = stderr.join().expect("stderr reader");
    (status, stdout, stderr)
}

/// Echoes data messages; after `ping_every` without a message from the client, pings it.
/// Returns every message received once the client's close handshake is done.
fn echo_and_ping(ws: &mut Ws, ping_every: Duration) -> Result<Vec<Message>, String> {
    ws.get_mut().set_read_timeout(Some(ping_every)).map_err(|e| e.to_string())?;
    let started = Instant::now();
    let mut received = Vec::new();
    while started.elapsed() < Duration::from_secs(10) {
        match ws.read() {
            Ok(message) => {
                if message.is_text() || message.is_binary() {
                    ws.send(message.clone()).map_err(|e| format!("echo: {e}"))?;
                }
                received.push(message);
            }
            Err(WsError::Io(e)) if matches!(e.kind(), io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut) => {
                if ws.can_write() {
                    ws.send(Message::Ping(b"keepalive".to_vec().into())).map_err(|e| format!("ping: {e}"))?;
                }
            }
            Err(WsError::ConnectionClosed) => return Ok(received),
            Err(e) => return Err(format!("tungstenite server: {e} after {received:?}")),
        }
    }
    Err(format!("no close handshake within 10 s; received {received:?}"))
}

#[test]
fn ws_client_prints_each_echoed_line_and_closes_with_1000() {
    let (addr, server) = tungstenite_server(|ws| echo_and_ping(ws, Duration::from_secs(30)));
    let lines = ["hello", "", "é € 🦀", &"x".repeat(70_000)].map(|l| format!("{l}\n")).concat();
    let (status, stdout, stderr) = run_ws_client(&format!("ws://{addr}/some/path?q=1"), &lines, TIMEOUT);
    assert!(status.is_some_and(|s| s.success()), "ws-client: {status:?}, stderr {stderr:?}");
    assert!(stdout == lines, "stdout differs from the lines sent: {} bytes for {}", stdout.len(), lines.len());
    let received = server.join().expect("server thread").expect("clean tungstenite session");
    match received.last() {
        Some(Message::Close(Some(frame))) => assert_eq!(frame.code, CloseCode::Normal),
        other => panic!("expected ws-client's close 1000 last, got {other:?}"),
    }
}

#[test]
fn ws_client_closes_after_stdin_eof_while_the_server_pings_every_100_ms() {
    // ws-client closes once the server has been quiet for 300 ms after stdin EOF. Keepalive
    // pings are not replies to our lines: a server pinging more often than that must not keep
    // ws-client open for ever.
    let (addr, server) = tungstenite_server(|ws| echo_and_ping(ws, Duration::from_millis(100)));
    let (status, stdout, stderr) = run_ws_client(&format!("ws://{addr}/"), "a\nb\n", TIMEOUT);
    assert_eq!(stdout, "a\nb\n", "stderr {stderr:?}");
    assert!(
        status.is_some_and(|s| s.success()),
        "ws-client still running {TIMEOUT:?} after stdin EOF (killed: {}), stderr {stderr:?}",
        status.is_none()
    );
    let received = server.join().expect("server thread").expect("clean tungstenite session");
    assert!(matches!(received.last(), Some(Message::Close(Some(_)))), "{received:?}");
}

/// RFC 6455 §4.1: a client may send frames right behind its handshake, before it has read the
/// 101. The server must keep those bytes for the WebSocket, not lose them in the switch — here
/// the §1.3 handshake and the §5.7 masked "Hello" travel in one write.
#[test]
fn rfc6455_4_1_a_frame_in_the_handshakes_packet_is_not_lost() {
    use talkback_harness::vectors::{
        RFC6455_MASKED_HELLO, RFC6455_SAMPLE_ACCEPT, RFC6455_SAMPLE_KEY, RFC6455_UNMASKED_HELLO,
    };
    let server = spawn(Service::WsEcho, Options::with_defaults(16 << 20));
    let mut client = server.client();
    let mut bytes = format!(
        "GET /chat HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
         Sec-WebSocket-Key: {RFC6455_SAMPLE_KEY}\r\nSec-WebSocket-Version: 13\r\n\r\n"
    )
    .into_bytes();
    bytes.extend_from_slice(RFC6455_MASKED_HELLO);
    client.send(&bytes);
    let head = String::from_utf8(client.read_until(b"\r\n\r\n")).unwrap();
    assert!(head.starts_with("HTTP/1.1 101 "), "{head}");
    assert!(head.contains(RFC6455_SAMPLE_ACCEPT), "{head}");
    assert_eq!(client.read_exact(RFC6455_UNMASKED_HELLO.len()), RFC6455_UNMASKED_HELLO);
}
