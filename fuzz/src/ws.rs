//! `ws_connection`: the bytes a [`Connection`] receives, in either role (RFC 6455 §5: frames,
//! masking, fragmentation, control frames, close, UTF-8).
//!
//! The first input byte chooses the setup: bit 0 the role (client or server), bit 1 small
//! limits (frames of 64 bytes, messages of 128, so 1009 is reachable), bit 2 keepalive pings,
//! bit 3 the `--trace` frame log, bit 4 our close sent first (the `Closing` phase), bit 5
//! permessage-deflate agreed (RFC 7692) with bits 6–7 choosing how: context takeover both
//! ways, none either way, 9-bit windows, or an 8-bit window for the client. The rest is the
//! byte stream from the peer — compressed frames included.
//!
//! The same stream is also read as a `Sec-WebSocket-Extensions` offer and as an answer
//! (RFC 7692 §7.1): the server's agreement, written out, must be accepted again as an offer
//! with the same windows, never larger than offered; the client's check must not panic.
//!
//! Asserted, besides "no panic":
//! - the stream fed whole, in two and three pieces, through `direct_payload` (the reads
//!   straight into the message buffer) and through `handle_bytes_lending` (small messages lent
//!   to a callback instead of queued, taken here as the events they would have been) gives the
//!   same events, in the same order, error and transmitted bytes;
//! - every event, encoded as the peer would send it ([`Event::encode`]), decodes back to
//!   itself (the frame encode/decode round trip);
//! - every frame header in the stream re-encodes to the same bytes (lengths are minimal);
//! - everything we transmit (pongs, close echoes, the failing close, keepalive pings) is
//!   accepted by a connection of the other role;
//! - after `handle_timeout` at the deadline, the next deadline is later or gone (a deadline
//!   left in the past would spin the event loop).

use std::time::{Duration, Instant};

use talkback_ws::extension::negotiate;
use talkback_ws::{Config, Connection, Deflate, DeflateOffer, DeflatePolicy, Error, Event, FrameHeader, OpCode, Role};

use crate::{pieces, split_points};

/// The masking key a client peer uses for re-encoded events (any key will do).
const KEY: [u8; 4] = [0x37, 0xfa, 0x21, 0x3d];

/// The setup chosen by the first byte.
#[derive(Debug, Clone)]
pub struct Setup {
    /// Our role.
    pub role: Role,
    /// Our configuration.
    pub config: Config,
    /// Whether the frame log is on.
    pub log: bool,
    /// Whether we start the close handshake before the peer's bytes arrive (§7.1.2: the
    /// `Closing` phase, where data is ignored until the peer's close).
    pub close_first: bool,
}

impl Setup {
    /// Decodes the setup byte.
    pub fn from_byte(b: u8) -> Setup {
        let role = if b & 1 == 0 { Role::Server } else { Role::Client };
        let mut config = Config { mask_seed: Some(u64::from(b)), ..Config::default() };
        if b & 2 != 0 {
            config.max_frame_size = 64;
            config.max_message_size = 128;
        }
        if b & 4 != 0 {
            config.ping_interval = Some(Duration::from_secs(30));
        }
        if b & 32 != 0 {
            let reset =
                Deflate { server_no_context_takeover: true, client_no_context_takeover: true, ..Deflate::default() };
            let small = Deflate { server_max_window_bits: 9, client_max_window_bits: 9, ..Deflate::default() };
            let eight = Deflate { client_max_window_bits: 8, ..Deflate::default() };
            config.deflate = Some([Deflate::default(), reset, small, eight][usize::from(b >> 6)]);
        }
        Setup { role, config, log: b & 8 != 0, close_first: b & 16 != 0 }
    }
}

/// What a run produced.
#[derive(Debug, PartialEq)]
pub struct Outcome {
    /// Every event, in order.
    pub events: Vec<Event>,
    /// The error the connection failed with, if any.
    pub error: Option<Error>,
    /// Every byte it queued for the peer.
    pub transmit: Vec<u8>,
}

/// The whole check, for one input.
pub fn check(data: &[u8]) {
    let Some((&setup, stream)) = data.split_first() else { return };
    let setup = Setup::from_byte(setup);
    let now = Instant::now();
    let (whole, mut conn) = run(&setup, &[stream], Feed::Bytes, now);
    let [a, b, c] = split_points(stream);
    assert_eq!(run(&setup, &pieces(stream, &[a]), Feed::Bytes, now).0, whole, "split at {a}");
    assert_eq!(run(&setup, &pieces(stream, &[b, c]), Feed::Bytes, now).0, whole, "split at {b} and {c}");
    assert_eq!(run(&setup, &[stream], Feed::Direct, now).0, whole, "direct payload reads");
    assert_eq!(run(&setup, &pieces(stream, &[a]), Feed::Lending, now).0, whole, "lent messages, split at {a}");
    headers_round_trip(stream);
    negotiation_is_consistent(stream);
    for event in &whole.events {
        event_round_trips(setup.role, event);
    }
    let mut transmit = whole.transmit;
    timers_move_forward(&mut conn, now, &mut transmit);
    peer_accepts(setup.role, &transmit);
}

/// How a run hands each read to the connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Feed {
    /// `handle_bytes`.
    Bytes,
    /// Into the direct payload slice whenever one is offered, the rest by `handle_bytes`.
    Direct,
    /// `handle_bytes_lending`, each lent message recorded as the event it would have been.
    Lending,
}

/// Feeds `pieces` as reads, as `how` says, then takes every event and the transmit queue
/// after each read.
pub fn run(setup: &Setup, pieces: &[&[u8]], how: Feed, now: Instant) -> (Outcome, Connection) {
    let mut conn = Connection::new(setup.role, setup.config.clone(), now);
    conn.set_frame_log(setup.log);
    if setup.close_first {
        conn.close(1000, "bye").expect("an open connection can close");
    }
    let mut outcome = Outcome { events: Vec::new(), error: None, transmit: Vec::new() };
    for piece in pieces {
        let result = match how {
            Feed::Bytes => feed(&mut conn, piece, now),
            Feed::Direct => feed_direct(&mut conn, piece, now),
            Feed::Lending => feed_lending(&mut conn, piece, now, &mut outcome.events),
        };
        outcome.events.extend(std::iter::from_fn(|| conn.poll_event()));
        while conn.poll_frame_log().is_some() {}
        if let Err(err) = result {
            conn.fail(&err);
            outcome.error = Some(err);
        }
        conn.poll_transmit(&mut outcome.transmit);
        if outcome.error.is_some() {
            break;
        }
    }
    (outcome, conn)
}

fn feed(conn: &mut Connection, piece: &[u8], now: Instant) -> Result<(), Error> {
    let used = conn.handle_bytes(piece, now)?;
    assert_eq!(used, piece.len(), "handle_bytes consumes everything");
    Ok(())
}

/// `handle_bytes_lending`: a lent message joins `events` as the `Event` it would have been
/// (lent text is UTF-8 by the contract).
fn feed_lending(conn: &mut Connection, piece: &[u8], now: Instant, events: &mut Vec<Event>) -> Result<(), Error> {
    let used = conn.handle_bytes_lending(piece, now, |opcode, payload| {
        events.push(match opcode {
            OpCode::Text => Event::Text(String::from_utf8(payload.to_vec()).expect("lent text is UTF-8")),
            _ => Event::Binary(payload.to_vec()),
        })
    })?;
    assert_eq!(used, piece.len(), "handle_bytes_lending consumes everything");
    Ok(())
}

/// Reads into the slice `direct_payload` offers while there is one, the rest the usual way.
fn feed_direct(conn: &mut Connection, mut piece: &[u8], now: Instant) -> Result<(), Error> {
    while !piece.is_empty() {
        let Some(slice) = conn.direct_payload() else { break };
        let n = slice.len().min(piece.len());
        if n == 0 {
            break;
        }
        slice[..n].copy_from_slice(&piece[..n]);
        conn.direct_payload_filled(n, now)?;
        piece = &piece[n..];
    }
    feed(conn, piece, now)
}

/// Walks the frames of the stream: each header that decodes re-encodes to its own bytes.
fn headers_round_trip(mut stream: &[u8]) {
    for _ in 0..64 {
        let Ok(Some((header, used))) = FrameHeader::decode(stream) else { return };
        let mut out = Vec::new();
        header.encode(&mut out);
        assert_eq!(out, &stream[..used], "{header:?} re-encodes to its bytes");
        let Some(rest) = usize::try_from(header.payload_len).ok().and_then(|n| stream.get(used + n..)) else {
            return;
        };
        stream = rest;
    }
}

/// The stream as an offer and as an answer (RFC 7692 §7.1): whatever the server agrees to
/// is within 9–15 bits and within what was offered, and its written answer is read back the
/// same; the client's check of any answer returns, never panics.
fn negotiation_is_consistent(stream: &[u8]) {
    let fields: Vec<&[u8]> = stream.split(|&b| b == b'\n').take(4).collect();
    for policy in [
        DeflatePolicy::default(),
        DeflatePolicy {
            server_no_context_takeover: true,
            client_max_window_bits: Some(10),
            ..DeflatePolicy::default()
        },
    ] {
        let Some(agreed) = negotiate(fields.iter().copied(), &policy) else { continue };
        assert!((9..=15).contains(&agreed.server_max_window_bits), "{agreed:?}");
        assert!((8..=15).contains(&agreed.client_max_window_bits), "{agreed:?}");
        let answer = agreed.response();
        let again = negotiate(std::iter::once(answer.as_bytes()), &DeflatePolicy::default());
        let again = again.unwrap_or_else(|| panic!("our own answer {answer:?} does not parse as an offer"));
        assert_eq!(again.server_max_window_bits, agreed.server_max_window_bits, "{answer}");
    }
    for offer in [DeflateOffer::default(), DeflateOffer { server_max_window_bits: Some(10), ..DeflateOffer::default() }]
    {
        if let Ok(Some(agreed)) = offer.check_answer(fields.iter().copied()) {
            assert!(agreed.server_max_window_bits <= offer.server_max_window_bits.unwrap_or(15), "{agreed:?}");
        }
    }
}

/// `event`, sent by the peer as one frame, decodes back to `event` alone.
fn event_round_trips(role: Role, event: &Event) {
    let mask = (role == Role::Server).then_some(KEY);
    let mut frame = Vec::new();
    event.encode(mask, &mut frame);
    let mut conn = Connection::new(role, Config { mask_seed: Some(1), ..Config::default() }, Instant::now());
    let now = Instant::now();
    assert_eq!(conn.handle_bytes(&frame, now), Ok(frame.len()), "{event:?} re-encoded is accepted");
    assert_eq!(conn.poll_event().as_ref(), Some(event), "{event:?} round-trips");
    assert_eq!(conn.poll_event(), None, "one frame, one event");
}

/// Runs the timers a few times at their deadlines: each deadline passed leaves a later one.
fn timers_move_forward(conn: &mut Connection, start: Instant, transmit: &mut Vec<u8>) {
    for _ in 0..4 {
        let Some(deadline) = conn.poll_deadline() else { break };
        let at = deadline.max(start);
        conn.handle_timeout(at);
        if let Some(next) = conn.poll_deadline() {
            assert!(next > at, "the deadline did not move after handle_timeout");
        }
        conn.poll_transmit(transmit);
    }
}

/// What we sent is valid RFC 6455 for the other role.
fn peer_accepts(role: Role, transmit: &[u8]) {
    let peer_role = match role {
        Role::Server => Role::Client,
        Role::Client => Role::Server,
    };
    let mut peer = Connection::new(peer_role, Config::default(), Instant::now());
    let result = peer.handle_bytes(transmit, Instant::now());
    assert_eq!(result, Ok(transmit.len()), "the peer refuses what we sent: {transmit:02x?}");
}
