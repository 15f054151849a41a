//! `server_handler`: a whole server loop — the connection dispatch, HTTP, the hub and every
//! transport — on the reactor's [`TestLoop`] (no sockets, a virtual clock), driven by a list
//! of [`Op`]s decoded with `arbitrary`: connect, bytes into connection k, the peer's close,
//! time passing, the hub's inbox delivered, output taken, in any order.
//!
//! The input is a [`Setup`] (which binary, tight or default limits, keepalive pings) and then
//! ops until the bytes run out. `SendCanned` sends one of [`canned`]: the harness's RFC
//! vectors and the hub's own URLs, so the fuzzer starts from requests that get somewhere.
//!
//! Asserted, besides "no panic":
//! - what each connection writes starts with well-formed HTTP/1.1 responses: a status line,
//!   field lines, one `Content-Length` at most and none (nor `Transfer-Encoding`) on a
//!   1xx/204/304, `Allow` on a 405 (RFC 9110 §15.5.6), `Upgrade` on a 101 and a 426
//!   (§15.2.2, §15.5.22), `Date` on 2xx–4xx (§6.6.1);
//! - every open connection has a timer (head, keep-alive, hold, heartbeat, ping) unless it is
//!   a WebSocket of a server without keepalive: nothing can hold a connection for ever;
//! - after a 101, the server's frames are valid RFC 6455 for a client;
//! - a channel's event stream delivers each message once, in order, none lost (ids one apart
//!   unless an `event: missed` says otherwise);
//! - a connection once gone stays gone and writes nothing more.

use std::sync::{Arc, OnceLock};
use std::time::Duration;

use arbitrary::{Arbitrary, Unstructured};
use talkback_harness::vectors::*;
use talkback_http1::Limits;
use talkback_reactor::ConnId;
use talkback_reactor::testing::{ConnStatus, TestLoop};
use talkback_server::hub::{LocalHub, Mailbox};
use talkback_server::observe::Observer;
use talkback_server::stats::Stats;
use talkback_server::{Conn, HubRoutes, LoopCtx, Options, Service, hub_for};
use talkback_ws::{FrameHeader, OpCode, apply_mask};

/// Most ops run per input, and most connections tracked: enough for any scenario the
/// fuzzer can build, bounded so one input stays fast.
pub const MAX_OPS: usize = 256;
/// Most connections opened per input.
pub const MAX_CONNS: usize = 16;
/// Output kept per connection for the response checks.
const KEEP_OUTPUT: usize = 1 << 16;

/// Which binary the loop runs.
#[derive(Arbitrary, Debug, Clone, Copy, PartialEq, Eq)]
pub enum Which {
    /// `http-echo`.
    HttpEcho,
    /// `ws-echo`.
    WsEcho,
    /// `demo`: the whole hub and the page.
    Demo,
    /// `sse-echo`.
    SseEcho,
    /// `longpoll-echo`.
    LongpollEcho,
}

impl Which {
    /// The service and its binary's message limit.
    pub fn service(self) -> (Service, usize) {
        match self {
            Which::HttpEcho => (Service::HttpEcho, 16 << 20),
            Which::WsEcho => (Service::WsEcho, 16 << 20),
            Which::Demo => (Service::Hub(HubRoutes::ALL), 64 << 10),
            Which::SseEcho => (Service::Hub(HubRoutes::SSE), 64 << 10),
            Which::LongpollEcho => (Service::Hub(HubRoutes::LONGPOLL), 64 << 10),
        }
    }
}

/// How the loop is set up.
#[derive(Arbitrary, Debug, Clone, PartialEq, Eq)]
pub struct Setup {
    /// The binary.
    pub which: Which,
    /// Small limits and short timers, so every limit and timer is reachable in a few ops.
    pub tight: bool,
    /// Keepalive pings on WebSockets (the hub binaries always ping, as `main_for` sets).
    pub ping: bool,
}

/// Bytes of a `Send`: a little-endian `u16` length, then that many bytes (fewer if the input
/// ends first). Simpler than `arbitrary`'s own `Vec` encoding, so seeds can be written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Bytes(pub Vec<u8>);

impl<'a> Arbitrary<'a> for Bytes {
    fn arbitrary(u: &mut Unstructured<'a>) -> arbitrary::Result<Bytes> {
        let len = usize::from(u16::arbitrary(u)?).min(u.len());
        Ok(Bytes(u.bytes(len)?.to_vec()))
    }
}

/// One step of a scenario. Connection indices pick among the connections opened so far
/// (modulo their number); an op on no connection is skipped.
#[derive(Arbitrary, Debug, Clone, PartialEq, Eq)]
pub enum Op {
    /// A new connection is accepted.
    Connect,
    /// Bytes arrive on connection `conn`, in one read.
    Send {
        /// Which connection.
        conn: u8,
        /// What arrives.
        bytes: Bytes,
    },
    /// One of [`canned`] arrives on connection `conn`.
    SendCanned {
        /// Which connection.
        conn: u8,
        /// Which canned bytes (modulo their number).
        which: u8,
    },
    /// The peer of `conn` closes its side.
    PeerClose {
        /// Which connection.
        conn: u8,
    },
    /// The virtual clock moves on; due timers fire.
    Advance {
        /// By how many milliseconds.
        ms: u16,
    },
    /// The hub's messages to this loop are delivered.
    DeliverInbox,
    /// Whatever `conn` has queued is written.
    TakeOutput {
        /// Which connection.
        conn: u8,
    },
}

/// Decodes an input: the setup, then ops until the bytes run out (or [`MAX_OPS`]).
pub fn decode(data: &[u8]) -> Option<(Setup, Vec<Op>)> {
    let mut u = Unstructured::new(data);
    let setup = Setup::arbitrary(&mut u).ok()?;
    let mut ops = Vec::new();
    while !u.is_empty() && ops.len() < MAX_OPS {
        ops.push(Op::arbitrary(&mut u).ok()?);
    }
    Some((setup, ops))
}

/// The whole check, for one input.
pub fn check(data: &[u8]) {
    if let Some((setup, ops)) = decode(data) {
        run(&setup, &ops);
    }
}

/// A connection as the scenario sees it.
struct Tracked {
    id: ConnId,
    /// The first [`KEEP_OUTPUT`] bytes it wrote.
    out: Vec<u8>,
    /// Gone or aborted, once seen so.
    ended: bool,
}

/// Runs a scenario and checks it.
pub fn run(setup: &Setup, ops: &[Op]) {
    let mut lp = test_loop(setup);
    let mut conns: Vec<Tracked> = Vec::new();
    let timers_everywhere = setup.which != Which::WsEcho || setup.ping;
    for op in ops.iter().take(MAX_OPS) {
        let pick = |k: u8, conns: &[Tracked]| (!conns.is_empty()).then(|| usize::from(k) % conns.len());
        match op {
            Op::Connect if conns.len() < MAX_CONNS => {
                let id = lp.connect();
                conns.push(Tracked { id, out: Vec::new(), ended: false });
            }
            Op::Connect => {}
            Op::Send { conn, bytes } => {
                if let Some(k) = pick(*conn, &conns) {
                    lp.send(conns[k].id, &bytes.0);
                }
            }
            Op::SendCanned { conn, which } => {
                if let Some(k) = pick(*conn, &conns) {
                    let canned = canned();
                    lp.send(conns[k].id, &canned[usize::from(*which) % canned.len()]);
                }
            }
            Op::PeerClose { conn } => {
                if let Some(k) = pick(*conn, &conns) {
                    lp.peer_close(conns[k].id);
                }
            }
            Op::Advance { ms } => lp.advance(Duration::from_millis(u64::from(*ms))),
            Op::DeliverInbox => {
                lp.deliver_inbox();
            }
            Op::TakeOutput { conn } => {
                if let Some(k) = pick(*conn, &conns) {
                    take(&mut lp, &mut conns[k]);
                }
            }
        }
        for conn in &mut conns {
            match lp.status(conn.id) {
                ConnStatus::Open if timers_everywhere => {
                    assert!(lp.deadline(conn.id).is_some(), "an open connection without a timer: {setup:?}")
                }
                ConnStatus::Open | ConnStatus::Closing => assert!(!conn.ended, "a connection came back"),
                ConnStatus::Aborted | ConnStatus::Gone => conn.ended = true,
            }
        }
    }
    for conn in &mut conns {
        take(&mut lp, conn);
        if let Err(why) = check_responses(&conn.out) {
            panic!("{why}\nin {:?}", String::from_utf8_lossy(&conn.out));
        }
    }
}

/// Takes a connection's output into its record; a gone one must have none.
fn take(lp: &mut TestLoop<Conn>, conn: &mut Tracked) {
    let out = lp.take_output(conn.id);
    if conn.ended {
        assert!(out.is_empty(), "a gone connection wrote {} bytes", out.len());
    }
    let room = KEEP_OUTPUT.saturating_sub(conn.out.len());
    conn.out.extend_from_slice(&out[..out.len().min(room)]);
}

/// The loop for a setup, built as the server's own handler tests build theirs.
fn test_loop(setup: &Setup) -> TestLoop<Conn> {
    let (service, max_message) = setup.which.service();
    let mut options = Options::with_defaults(max_message);
    options.threads = 1;
    if setup.ping || matches!(service, Service::Hub(_)) {
        options.ping_interval = Some(Duration::from_secs(30));
    }
    let mut output_cap = options.output_cap;
    if setup.tight {
        options.http = Limits { max_request_line: 128, max_head: 512, max_headers: 8, max_body: 256, max_trailers: 64 };
        options.max_message = 128;
        options.history = 4;
        options.max_ahead = 1;
        options.head_timeout = Duration::from_secs(2);
        options.keepalive_timeout = Duration::from_secs(5);
        options.heartbeat = Duration::from_secs(1);
        options.max_hold = Duration::from_secs(5);
        options.pong_timeout = Duration::from_secs(2);
        if options.ping_interval.is_some() {
            options.ping_interval = Some(Duration::from_secs(3));
        }
        output_cap = 4096;
    }
    let hub = hub_for(&options);
    TestLoop::new(move |handle| {
        let local = LocalHub::new(hub, 0, vec![Box::new(handle) as Box<dyn Mailbox>]);
        let observer = Observer::new(None, Arc::new(Stats::default()), service.counts_page_requests());
        LoopCtx::new(service, Arc::new(options), local, observer)
    })
    .with_output_cap(output_cap)
}

/// Checks the responses at the front of a connection's output: any `100 Continue`, then the
/// first final response's head (what follows depends on the request, a `HEAD` or a switch);
/// when that opened an event stream, the stream too.
pub fn check_responses(out: &[u8]) -> Result<(), String> {
    let mut at = 0;
    while at < out.len() {
        let rest = &out[at..];
        let Some(end) = rest.windows(4).position(|w| w == b"\r\n\r\n") else {
            // A head cut off by the output kept (or still being written): its start must fit.
            let start = &rest[..rest.len().min(9)];
            return match b"HTTP/1.1 ".starts_with(start) {
                true => Ok(()),
                false => Err("output that is not an HTTP/1.1 response".into()),
            };
        };
        let (status, event_stream) = check_head(&rest[..end + 2])?;
        at += end + 4;
        if status == 200 && event_stream {
            return check_event_stream(&out[at..]);
        }
        if status == 101 {
            return check_frames(&rest[..end + 2], &out[at..]);
        }
        if status >= 200 || status == 101 {
            return Ok(());
        }
    }
    Ok(())
}

/// After a 101, the server's frames: valid RFC 6455 for a client (unmasked, minimal lengths,
/// valid close codes and UTF-8), whatever the server pushed, echoed or answered — compressed
/// per the permessage-deflate its head agreed to (RFC 7692), which must be an answer a
/// client offering Chromium's offer accepts.
fn check_frames(head: &[u8], frames: &[u8]) -> Result<(), String> {
    let now = std::time::Instant::now();
    let head = String::from_utf8_lossy(head);
    let answers = head.split("\r\n").filter_map(|line| {
        let (name, value) = line.split_once(':')?;
        name.eq_ignore_ascii_case("sec-websocket-extensions").then(|| value.trim().as_bytes())
    });
    let deflate = talkback_ws::DeflateOffer::default()
        .check_answer(answers)
        .map_err(|e| format!("a permessage-deflate answer no client allows: {e:?}"))?;
    let config = talkback_ws::Config { deflate, ..talkback_ws::Config::default() };
    let mut client = talkback_ws::Connection::new(talkback_ws::Role::Client, config, now);
    client.handle_bytes(frames, now).map(|_| ()).map_err(|e| format!("the server's frames are refused: {e}"))
}

/// A channel's event stream (the architecture's promise for every subscriber): its messages
/// arrive in order, none twice, none lost — each id one more than the last, unless an
/// `event: missed` said some are gone.
fn check_event_stream(stream: &[u8]) -> Result<(), String> {
    let mut parser = talkback_sse::Parser::new();
    parser.handle_bytes(stream).map_err(|e| format!("the event stream does not parse: {e}"))?;
    let (mut last, mut gap_told) = (None, false);
    while let Some(event) = parser.poll_event() {
        match event.event_type.as_str() {
            "missed" => gap_told = true,
            "message" => {
                let id: u64 = event.last_event_id.parse().map_err(|_| format!("a message without an id: {event:?}"))?;
                match last {
                    Some(prev) if id <= prev => return Err(format!("id {id} after {prev}: twice or out of order")),
                    Some(prev) if id != prev + 1 && !gap_told => return Err(format!("id {id} after {prev}: lost")),
                    _ => {}
                }
                (last, gap_told) = (Some(id), false);
            }
            _ => {}
        }
    }
    Ok(())
}

/// One response head (with the CRLF of its last line); returns its status and whether it opens
/// an event stream.
fn check_head(head: &[u8]) -> Result<(u16, bool), String> {
    let text = std::str::from_utf8(head).map_err(|_| "a head that is not UTF-8")?;
    let mut lines = text.split_terminator("\r\n");
    let status_line = lines.next().unwrap_or_default();
    let code = status_line.strip_prefix("HTTP/1.1 ").ok_or(format!("status line {status_line:?}"))?;
    let status: u16 = code.get(..3).and_then(|c| c.parse().ok()).ok_or(format!("status line {status_line:?}"))?;
    if !(100..=599).contains(&status) || code.as_bytes().get(3) != Some(&b' ') {
        return Err(format!("status line {status_line:?}"));
    }
    let mut names = Vec::new();
    let mut event_stream = false;
    for line in lines {
        let (name, value) = line.split_once(':').ok_or(format!("field line {line:?}"))?;
        let token = |b: u8| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b);
        if name.is_empty() || !name.bytes().all(token) {
            return Err(format!("field name {name:?}"));
        }
        if value.bytes().any(|b| b == b'\r' || b == b'\n' || b == 0) {
            return Err(format!("field value {value:?}"));
        }
        event_stream |= name.eq_ignore_ascii_case("content-type") && value.trim() == "text/event-stream";
        names.push(name.to_ascii_lowercase());
    }
    let count = |name: &str| names.iter().filter(|n| *n == name).count();
    let no_content = status < 200 || status == 204 || status == 304;
    if count("content-length") > 1 {
        return Err("two Content-Length fields".into());
    }
    if no_content && status != 101 && (count("content-length") + count("transfer-encoding")) > 0 {
        return Err(format!("framing fields on a {status} (RFC 9110 §8.6, RFC 9112 §6.1)"));
    }
    if status == 405 && count("allow") != 1 {
        return Err("a 405 without Allow (RFC 9110 §15.5.6)".into());
    }
    if status == 101 && count("upgrade") != 1 {
        return Err("a 101 without Upgrade (RFC 9110 §15.2.2)".into());
    }
    if status == 426 && count("upgrade") != 1 {
        return Err("a 426 without Upgrade (RFC 9110 §15.5.22)".into());
    }
    if (200..500).contains(&status) && count("date") != 1 {
        return Err(format!("a {status} without Date (RFC 9110 §6.6.1)"));
    }
    Ok((status, event_stream))
}

/// The canned bytes of `SendCanned`: the harness's RFC 9112 request forms and RFC 6455 frames
/// (masked, as a client sends them), and a request for each of the hub's URLs.
pub fn canned() -> &'static [Vec<u8>] {
    static CANNED: OnceLock<Vec<Vec<u8>>> = OnceLock::new();
    CANNED.get_or_init(|| {
        let mut all: Vec<Vec<u8>> = [
            RFC9112_ORIGIN_FORM,
            RFC9112_ABSOLUTE_FORM,
            RFC9112_AUTHORITY_FORM,
            RFC9112_ASTERISK_FORM,
            RFC9112_CHUNKED_POST,
            RFC6455_MASKED_HELLO,
            RFC6455_MASKED_PONG,
        ]
        .iter()
        .map(|b| b.to_vec())
        .collect();
        let upgrade = format!(
            "Host: t\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: {RFC6455_SAMPLE_KEY}\r\n\
             Sec-WebSocket-Version: 13\r\n\r\n"
        );
        for request in [
            format!("GET /ch/room/ws HTTP/1.1\r\n{upgrade}"),
            format!("GET /echo HTTP/1.1\r\n{upgrade}"),
            "GET /ch/room/sse HTTP/1.1\r\nHost: t\r\n\r\n".into(),
            "GET /ch/room/sse?lastEventId=1 HTTP/1.1\r\nHost: t\r\nLast-Event-ID: 1\r\n\r\n".into(),
            "GET /ch/room/poll?after=0 HTTP/1.1\r\nHost: t\r\n\r\n".into(),
            "HEAD /ch/room/poll HTTP/1.1\r\nHost: t\r\n\r\n".into(),
            "GET /ch/room/longpoll?timeout=1 HTTP/1.1\r\nHost: t\r\n\r\n".into(),
            "GET /ch/room/longpoll?after=0&timeout=60 HTTP/1.1\r\nHost: t\r\n\r\n".into(),
            "POST /ch/room HTTP/1.1\r\nHost: t\r\nContent-Length: 2\r\n\r\nhi".into(),
            "POST /ch/room HTTP/1.1\r\nHost: t\r\nContent-Length: 5\r\nExpect: 100-continue\r\n\r\n".into(),
            "hello".into(),
            "POST /ch/room HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nhi\r\n0\r\n\r\n".into(),
            "GET / HTTP/1.1\r\nHost: t\r\n\r\n".into(),
            "GET /stats?page=1 HTTP/1.1\r\nHost: t\r\n\r\n".into(),
            "GET / HTTP/1.0\r\n\r\n".into(),
            "PUT /x HTTP/1.1\r\nHost: t\r\nConnection: close\r\nContent-Length: 3\r\n\r\nabc".into(),
            "OPTIONS /ch/room/poll HTTP/1.1\r\nHost: t\r\n\r\n".into(),
        ] {
            all.push(request.into_bytes());
        }
        all.push(masked_frame(true, OpCode::Text, b"hello"));
        all.push(masked_frame(true, OpCode::Binary, b"\x00\x01"));
        all.push(masked_frame(true, OpCode::Ping, b"Hello"));
        all.push(masked_frame(true, OpCode::Close, &1000u16.to_be_bytes()));
        // RFC 6455 §5.7's fragmented "Hello", masked as a client sends it.
        all.push(masked_frame(false, OpCode::Text, &RFC6455_FRAGMENT_1[2..]));
        all.push(masked_frame(true, OpCode::Continuation, &RFC6455_FRAGMENT_2[2..]));
        // permessage-deflate (RFC 7692): upgrades offering it (Chromium's offer, and one the
        // server must decline), and RFC 7692 §7.2.3.1's compressed "Hello", masked, RSV1 set.
        let deflate = upgrade
            .replace("\r\n\r\n", "\r\nSec-WebSocket-Extensions: permessage-deflate; client_max_window_bits\r\n\r\n");
        all.push(format!("GET /ch/room/ws HTTP/1.1\r\n{deflate}").into_bytes());
        all.push(format!("GET /echo HTTP/1.1\r\n{deflate}").into_bytes());
        let eight = upgrade
            .replace("\r\n\r\n", "\r\nSec-WebSocket-Extensions: permessage-deflate; server_max_window_bits=8\r\n\r\n");
        all.push(format!("GET /ch/room/ws HTTP/1.1\r\n{eight}").into_bytes());
        let mut compressed = masked_frame(true, OpCode::Text, &RFC7692_COMPRESSED_HELLO[2..]);
        compressed[0] |= 0x40;
        all.push(compressed);
        all
    })
}

/// A client frame, masked with RFC 6455 §5.7's example key.
pub fn masked_frame(fin: bool, opcode: OpCode, payload: &[u8]) -> Vec<u8> {
    let key = [0x37, 0xfa, 0x21, 0x3d];
    let header = FrameHeader { fin, rsv: 0, opcode, mask: Some(key), payload_len: payload.len() as u64 };
    let mut out = Vec::new();
    header.encode(&mut out);
    let start = out.len();
    out.extend_from_slice(payload);
    apply_mask(&mut out[start..], key, 0);
    out
}
