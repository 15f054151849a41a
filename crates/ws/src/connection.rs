//! One WebSocket connection after the handshake, either role: bytes in, [`Event`]s out;
//! `send_*` in, bytes out; `now` passed in for keepalive and the close timeout.
//!
//! The receive transitions (`ExpectFrameHeader` → `ExpectPayload` → …) live in `receive.rs`;
//! this file holds the public API, the send side and the timers.

mod compress;
mod direct;
mod park;
mod receive;

pub use direct::DIRECT_PAYLOAD_MIN;
pub use park::Parked;

use std::collections::VecDeque;
use std::time::{Duration, Instant};

use crate::deflate::{CONNECTION_LEVEL, Deflater, Inflater};
use crate::entropy::mask_key;
use crate::extension::Deflate;
use crate::frame::{FrameHeader, MAX_HEADER_LEN, OpCode, apply_mask};
use crate::log::{FrameLog, FrameRecord};
use crate::utf8::TextAssembler;
use crate::{Error, Event, SendError, close};

/// Which end of the connection this is. Masking rules depend on it (§5.1): a client masks
/// every frame it sends and refuses masked frames; a server the opposite.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// The end that sent the opening handshake.
    Client,
    /// The end that accepted it.
    Server,
}

/// Limits, timers and the masking source. Every limit is a defence, every timer a keepalive
/// policy; see the crate docs. Build one as `Config { field: .., ..Config::default() }`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Config {
    /// Largest frame payload accepted, checked from the header before buffering (→ 1009).
    pub max_frame_size: usize,
    /// Largest message (all fragments) accepted, checked from each header (→ 1009).
    pub max_message_size: usize,
    /// How long to wait for the peer's close after ours before giving up (§7.1.1).
    pub close_timeout: Duration,
    /// Send a ping after this long without a byte from the peer; `None` disables keepalive.
    pub ping_interval: Option<Duration>,
    /// After a keepalive ping, how long the peer has to send anything before we give up.
    pub pong_timeout: Duration,
    /// Seeds a client's masking keys (§5.3), so that a test gets the same frames byte for byte
    /// on every run. `None` (the default): each key is drawn from `rand`'s OS-seeded CSPRNG,
    /// the "strong source of entropy" §5.3 requires. `Some(seed)`: the keys are SplitMix64's
    /// stream from `seed` — reproducible, hence predictable: for tests and traces only. A
    /// server never masks, so ignores it.
    pub mask_seed: Option<u64>,
    /// permessage-deflate as negotiated (RFC 7692; from `Accepted::deflate` or
    /// `ClientHandshake::deflate`): `None` refuses RSV1 like any reserved bit (§5.2).
    pub deflate: Option<Deflate>,
    /// With deflate: messages shorter than this are sent uncompressed (RFC 7692 §6 lets any
    /// message be); compressing a few bytes costs more than it saves.
    pub deflate_threshold: usize,
    /// With deflate: the zlib level (0–9) our messages are compressed at.
    pub deflate_level: u32,
}

impl Default for Config {
    fn default() -> Config {
        Config {
            max_frame_size: 16 << 20,
            max_message_size: 16 << 20,
            close_timeout: Duration::from_secs(5),
            ping_interval: None,
            pong_timeout: Duration::from_secs(10),
            mask_seed: None,
            deflate: None,
            deflate_threshold: 0,
            deflate_level: CONNECTION_LEVEL,
        }
    }
}

/// The read side: what the next bytes are.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Read {
    /// Between frames; partial header bytes wait in `Connection::header_buf`.
    ExpectFrameHeader,
    /// Inside a frame's payload; `received` bytes of it have been consumed.
    ExpectPayload {
        /// The frame's header.
        header: FrameHeader,
        /// Payload bytes consumed so far (also the masking phase).
        received: u64,
    },
}

/// The close handshake (§7): where the connection is in it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Phase {
    /// Data flows both ways.
    Open,
    /// The peer's close arrived; the application has not polled its `Event::Close` yet, and
    /// may still send (§5.5.1: an endpoint "MAY delay sending a Close frame until its current
    /// message is sent"). Polling that event queues our echo and moves to `Closed`.
    CloseReceived {
        /// The code to echo (`None`: the peer's close was empty, so is ours).
        echo: Option<u16>,
    },
    /// We sent a close and wait for the peer's until `deadline`; its data is ignored.
    Closing {
        /// When we stop waiting (`Config::close_timeout` after our close).
        deadline: Instant,
    },
    /// Both closes exchanged, or the connection failed or timed out: close TCP now.
    Closed,
}

/// The kind of a fragmented message in progress (§5.4).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Partial {
    /// A text message: its bytes are in `Connection::text`.
    Text,
    /// A binary message: its bytes are in `Connection::binary`.
    Binary,
}

/// Most spare message buffers a connection holds while the caller's pool is lent to it.
pub const MAX_SPARES: usize = 64;

/// Buffers larger than this are freed once drained, so an idle connection stays small.
const SPARE_CAPACITY: usize = 4096;

/// The per-connection protocol state. See the crate docs for the calling contract.
#[derive(Debug)]
pub struct Connection {
    /// Decides the masking rules in both directions.
    role: Role,
    /// Limits and timers. Its `mask_seed`, when set, is also the seeded key generator's state
    /// (SplitMix64's whole state is one `u64`), advanced once per masked frame: no second field.
    config: Config,
    /// What the next received bytes are.
    read: Read,
    /// Where the close handshake is.
    phase: Phase,
    /// A header split across reads (at most 14 bytes): no allocation per frame.
    header_buf: [u8; MAX_HEADER_LEN],
    /// How many bytes of `header_buf` are filled.
    header_len: usize,
    /// The fragmented message in progress, if any.
    partial: Option<Partial>,
    /// Text being assembled, validated as it arrives.
    text: TextAssembler,
    /// Binary message being assembled.
    binary: Vec<u8>,
    /// The slice handed out by `direct_payload`, until it is filled or taken back (an unfilled
    /// payload slice is counted in `binary`'s length meanwhile).
    direct: Option<direct::Direct>,
    /// The last data frame was large: read the next header on its own (see `direct.rs`).
    large_frames: bool,
    /// Buffers lent by the caller ([`Connection::swap_spares`], [`Connection::recycle`]) for
    /// the next whole messages to be received into, so an echo loop allocates nothing per
    /// message. Given back with `swap_spares`, so an idle connection keeps none.
    spares: Vec<Vec<u8>>,
    /// Text payload bytes are unmasked here before validation (reused, not per frame).
    scratch: Vec<u8>,
    /// A control frame's payload (≤ 125 bytes, §5.5): a fixed array, never a heap buffer.
    control: [u8; 125],
    /// The message being received is compressed (its first frame had RSV1, RFC 7692 §6).
    inflating: bool,
    /// Its compressed bytes so far (bounded by `max_message_size` too).
    compressed_in: u64,
    /// The peer's decompressor: made for its first compressed message, kept between
    /// messages only with context takeover (else dropped, so an idle connection holds none).
    /// Boxed, like `deflater` and `log`: inline, the three were 432 of this struct's 1 000
    /// bytes, paid by every parked WebSocket that never compresses or traces.
    inflater: Option<Box<Inflater>>,
    /// Our compressor, the same way: made for our first compressed message, kept only with
    /// context takeover.
    deflater: Option<Box<Deflater>>,
    /// A message compressed before it is framed (reused; freed when large).
    packed: Vec<u8>,
    /// Events not yet polled.
    events: VecDeque<Event>,
    /// Wire bytes not yet polled.
    transmit: Vec<u8>,
    /// The latest `now` we were given: `close()` has no `now` argument and uses this.
    now: Instant,
    /// When the peer last sent anything (keepalive measures idleness from here).
    last_seen: Instant,
    /// Set after a keepalive ping: the peer must send something by then.
    pong_deadline: Option<Instant>,
    /// The first protocol error, returned again by later `handle_bytes` calls.
    error: Option<Error>,
    /// Frame log for `--trace`, when on.
    log: Option<Box<FrameLog>>,
}

impl Connection {
    /// A connection just after a successful handshake.
    pub fn new(role: Role, config: Config, now: Instant) -> Connection {
        Connection {
            role,
            config,
            read: Read::ExpectFrameHeader,
            phase: Phase::Open,
            header_buf: [0; MAX_HEADER_LEN],
            header_len: 0,
            partial: None,
            text: TextAssembler::default(),
            binary: Vec::new(),
            direct: None,
            large_frames: false,
            spares: Vec::new(),
            scratch: Vec::new(),
            control: [0; 125],
            inflating: false,
            compressed_in: 0,
            inflater: None,
            deflater: None,
            packed: Vec::new(),
            events: VecDeque::new(),
            transmit: Vec::new(),
            now,
            last_seen: now,
            pong_deadline: None,
            error: None,
            log: None,
        }
    }

    /// The role this connection was created with.
    pub fn role(&self) -> Role {
        self.role
    }

    /// Consumes received bytes, queuing events and replies.
    ///
    /// Returns how many bytes were consumed: all of them (partial headers and partial payloads
    /// are buffered, so invalid UTF-8 fails before the rest of its frame arrives). Bytes after
    /// the peer's close, or after the connection closed, are consumed and ignored.
    ///
    /// On a protocol violation returns the [`Error`] (again on every later call); pass it to
    /// [`Connection::fail`] to queue the close frame with its `close_code()`.
    pub fn handle_bytes(&mut self, input: &[u8], now: Instant) -> Result<usize, Error> {
        self.receive(input, now, None::<fn(OpCode, &[u8])>)
    }

    /// [`Connection::handle_bytes`], with small messages lent instead of queued: each small
    /// whole message (an unfragmented text or binary frame under 126 bytes, all in `input`)
    /// that arrives while no event waits is given to `on_message` as it is read — unmasked, and
    /// text checked as UTF-8 (§8.1) — and never becomes an [`Event`]. Anything else is queued
    /// as usual, and once one event waits, so is every message after it, so that polling the
    /// events after this call continues the order exactly. What the two calls take in and
    /// answer is otherwise the same.
    ///
    /// Fast path (*lent small messages*): an echo or a relay that handles a message at once
    /// needs no buffer and no event for it — the payload is unmasked into a scratch buffer
    /// that is reused for the next one.
    pub fn handle_bytes_lending(
        &mut self,
        input: &[u8],
        now: Instant,
        on_message: impl FnMut(OpCode, &[u8]),
    ) -> Result<usize, Error> {
        self.receive(input, now, Some(on_message))
    }

    /// `handle_bytes`, lending small messages to `lend` when there is one.
    fn receive(
        &mut self,
        input: &[u8],
        now: Instant,
        mut lend: Option<impl FnMut(OpCode, &[u8])>,
    ) -> Result<usize, Error> {
        self.now = now;
        self.end_direct();
        if let Some(err) = self.error {
            return Err(err);
        }
        if !input.is_empty() {
            self.last_seen = now;
            self.pong_deadline = None;
        }
        let mut pos = 0;
        while pos < input.len() && matches!(self.phase, Phase::Open | Phase::Closing { .. }) {
            let step = match self.read {
                Read::ExpectFrameHeader => match self.small_whole_frame(&input[pos..], lend.as_mut()) {
                    Some(step) => step,
                    None => self.read_header(&input[pos..]),
                },
                Read::ExpectPayload { header, received } => self.read_payload(header, received, &input[pos..]),
            };
            match step {
                Ok(used) => pos += used,
                Err(err) => {
                    self.error = Some(err);
                    return Err(err);
                }
            }
        }
        Ok(input.len())
    }

    /// Exchanges the caller's pool of spare buffers with this connection's: call it before
    /// [`Connection::handle_bytes`] to lend the pool (each unfragmented message is then received
    /// into a spare buffer instead of a fresh allocation), and again afterwards to take it back.
    pub fn swap_spares(&mut self, pool: &mut Vec<Vec<u8>>) {
        std::mem::swap(&mut self.spares, pool);
    }

    /// Gives back the bytes of a message the caller is done with, as a spare for the next one
    /// (at most [`MAX_SPARES`] are kept).
    pub fn recycle(&mut self, buffer: Vec<u8>) {
        if self.spares.len() < MAX_SPARES && buffer.capacity() > 0 {
            self.spares.push(buffer);
        }
    }

    /// The next event, oldest first. Returning the peer's `Event::Close` is what queues our
    /// echo of it, so replies to the messages before it still go out first.
    pub fn poll_event(&mut self) -> Option<Event> {
        let event = self.events.pop_front()?;
        if let (Event::Close(_), Phase::CloseReceived { echo }) = (&event, self.phase) {
            self.queue_close(echo, "");
            self.phase = Phase::Closed;
        }
        Some(event)
    }

    /// Appends every queued wire byte (our frames, pongs, close replies) to `out`.
    pub fn poll_transmit(&mut self, out: &mut Vec<u8>) {
        out.extend_from_slice(&self.transmit);
        self.transmit.clear();
        // An idle connection should hold no big buffers: keep at most a small one.
        if self.transmit.capacity() > SPARE_CAPACITY {
            self.transmit = Vec::new();
        }
        if self.scratch.capacity() > SPARE_CAPACITY {
            self.scratch = Vec::new();
        }
        if self.packed.capacity() > SPARE_CAPACITY {
            self.packed = Vec::new();
        }
    }

    /// Queues a text message as one frame.
    pub fn send_text(&mut self, text: &str) -> Result<(), SendError> {
        self.send_data(OpCode::Text, text.as_bytes())
    }

    /// Queues a binary message as one frame.
    pub fn send_binary(&mut self, data: &[u8]) -> Result<(), SendError> {
        self.send_data(OpCode::Binary, data)
    }

    /// Queues a text or binary message as one frame (an echo's way: `Text` payload must be
    /// UTF-8, as a received `Event::Text` is). Any other opcode sends a binary message.
    pub fn send_message(&mut self, opcode: OpCode, payload: &[u8]) -> Result<(), SendError> {
        let opcode = if opcode == OpCode::Text { OpCode::Text } else { OpCode::Binary };
        self.send_data(opcode, payload)
    }

    /// Queues a ping (payload ≤ 125 bytes, §5.5.2).
    pub fn send_ping(&mut self, payload: &[u8]) -> Result<(), SendError> {
        if payload.len() > 125 {
            return Err(SendError::ControlTooLong);
        }
        self.send_data(OpCode::Ping, payload)
    }

    /// Starts the close handshake (§7.1.2): queues a close frame and waits for the peer's,
    /// at most `Config::close_timeout` from the latest `now` we were given.
    pub fn close(&mut self, code: u16, reason: &str) -> Result<(), SendError> {
        if !close::is_valid_code(code) {
            return Err(SendError::InvalidCloseCode(code));
        }
        if reason.len() > 123 {
            return Err(SendError::ControlTooLong);
        }
        self.phase = match self.phase {
            Phase::Open => Phase::Closing { deadline: self.now + self.config.close_timeout },
            Phase::CloseReceived { .. } => Phase::Closed, // ours answers theirs
            Phase::Closing { .. } | Phase::Closed => return Err(SendError::Closed),
        };
        self.queue_close(Some(code), reason);
        Ok(())
    }

    /// _Fail the WebSocket Connection_ (§7.1.7) after `err`: queues a close frame with
    /// `err.close_code()` unless one was already sent, and moves straight to `Closed`
    /// (the peer broke the protocol, so we do not wait for its close).
    pub fn fail(&mut self, err: &Error) {
        if self.can_send() {
            self.queue_close(Some(err.close_code()), err.reason());
        }
        self.error.get_or_insert(*err);
        self.phase = Phase::Closed;
    }

    /// Whether data frames may still be sent (no close sent yet). Check this before writing
    /// frames pre-encoded with [`crate::encode_frame`].
    pub fn can_send(&self) -> bool {
        matches!(self.phase, Phase::Open | Phase::CloseReceived { .. })
    }

    /// The close handshake finished, failed or timed out: the server closes TCP now (§7.1.1);
    /// a client waits briefly for the server to do so.
    pub fn is_closed(&self) -> bool {
        self.phase == Phase::Closed
    }

    /// When `handle_timeout` should next be called, if ever.
    pub fn poll_deadline(&self) -> Option<Instant> {
        match self.phase {
            Phase::Open => self.pong_deadline.or_else(|| {
                let interval = self.config.ping_interval?;
                Some(self.last_seen + interval)
            }),
            Phase::Closing { deadline } => Some(deadline),
            Phase::CloseReceived { .. } | Phase::Closed => None,
        }
    }

    /// Runs the timers: sends a keepalive ping after `ping_interval` of silence; if the peer
    /// then stays silent for `pong_timeout`, queues close 1011 and moves to `Closed` (the peer
    /// is presumed gone, so we do not wait for its reply); after `close_timeout` in `Closing`,
    /// moves to `Closed`.
    pub fn handle_timeout(&mut self, now: Instant) {
        self.now = now;
        match self.phase {
            Phase::Open => {
                let ping_due = self.config.ping_interval.map(|i| self.last_seen + i);
                match self.pong_deadline {
                    Some(deadline) if now >= deadline => {
                        self.queue_close(Some(1011), "pong timeout");
                        self.phase = Phase::Closed;
                    }
                    None if ping_due.is_some_and(|due| now >= due) => {
                        self.queue_frame(OpCode::Ping, b"");
                        self.pong_deadline = Some(now + self.config.pong_timeout);
                    }
                    _ => {}
                }
            }
            Phase::Closing { deadline } if now >= deadline => self.phase = Phase::Closed,
            Phase::Closing { .. } | Phase::CloseReceived { .. } | Phase::Closed => {}
        }
    }

    /// Turns the frame log (for `--trace`) on or off.
    pub fn set_frame_log(&mut self, on: bool) {
        self.log = if on { Some(Box::default()) } else { None };
    }

    /// The next logged frame, in or out, oldest first.
    pub fn poll_frame_log(&mut self) -> Option<FrameRecord> {
        self.log.as_mut()?.pop()
    }

    /// Queues a data (or ping) frame if the connection is open: a text or binary message
    /// compressed when deflate was negotiated and it is long enough (`compress.rs`).
    fn send_data(&mut self, opcode: OpCode, payload: &[u8]) -> Result<(), SendError> {
        if !self.can_send() {
            return Err(SendError::Closed);
        }
        if opcode != OpCode::Ping && self.compresses(payload.len()) {
            self.queue_compressed(opcode, payload);
        } else {
            self.queue_frame(opcode, payload);
        }
        Ok(())
    }

    /// Queues a close frame; `None` sends an empty one.
    fn queue_close(&mut self, code: Option<u16>, reason: &str) {
        let mut payload = [0u8; 125];
        let len = match code {
            None => 0,
            Some(code) => {
                payload[..2].copy_from_slice(&code.to_be_bytes());
                let reason = &reason.as_bytes()[..reason.len().min(123)];
                payload[2..2 + reason.len()].copy_from_slice(reason);
                2 + reason.len()
            }
        };
        self.queue_frame(OpCode::Close, &payload[..len]);
    }

    /// Encodes one FIN frame into the transmit buffer, masked with a fresh key if we are the
    /// client (§5.3: the key "MUST be derived from a strong source of entropy"; seeded only
    /// when a test asked for it with `Config::mask_seed`).
    fn queue_frame(&mut self, opcode: OpCode, payload: &[u8]) {
        let header = self.encode_header(opcode, 0, payload);
        if let Some(log) = &mut self.log {
            log.out(header, payload);
        }
    }

    /// Encodes a FIN frame's header and payload (masked if we are the client) into the
    /// transmit buffer; returns the header.
    fn encode_header(&mut self, opcode: OpCode, rsv: u8, payload: &[u8]) -> FrameHeader {
        let mask = match self.role {
            Role::Client => Some(mask_key(&mut self.config.mask_seed)),
            Role::Server => None,
        };
        let header = FrameHeader { fin: true, rsv, opcode, mask, payload_len: payload.len() as u64 };
        header.encode(&mut self.transmit);
        let start = self.transmit.len();
        self.transmit.extend_from_slice(payload);
        if let Some(key) = mask {
            apply_mask(&mut self.transmit[start..], key, 0);
        }
        header
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every WebSocket that is awake keeps one `Connection` (an idle one may be parked
    /// instead, `park.rs`): what is needed only while compressing or tracing lives behind a
    /// pointer (`inflater`, `deflater`, `log`), so it costs 8 bytes until used. The bound is
    /// today's size with a little room; a field that makes it fail belongs in one of those
    /// boxes, or in a new one.
    #[test]
    fn an_awake_connection_pays_a_pointer_for_compression_and_tracing() {
        assert_eq!(std::mem::size_of::<Option<Box<Inflater>>>(), 8);
        let size = std::mem::size_of::<Connection>();
        assert!(size <= 600, "Connection is {size} bytes");
    }

    /// The crate docs draw the state machine with these names; the exhaustive `match`
    /// makes a new variant fail to compile here until the diagram is updated.
    #[test]
    fn crate_docs_state_diagram_names_every_variant() {
        let docs = include_str!("lib.rs");
        let now = Instant::now();
        let header = FrameHeader::decode(&[0x81, 0x00]).unwrap().unwrap().0;
        let reads = [Read::ExpectFrameHeader, Read::ExpectPayload { header, received: 0 }];
        let phases =
            [Phase::Open, Phase::CloseReceived { echo: None }, Phase::Closing { deadline: now }, Phase::Closed];
        let mut names: Vec<&str> = reads
            .iter()
            .map(|r| match r {
                Read::ExpectFrameHeader => "ExpectFrameHeader",
                Read::ExpectPayload { .. } => "ExpectPayload",
            })
            .collect();
        names.extend(phases.iter().map(|p| match p {
            Phase::Open => "Open",
            Phase::CloseReceived { .. } => "CloseReceived",
            Phase::Closing { .. } => "Closing",
            Phase::Closed => "Closed",
        }));
        for name in names {
            assert!(docs.contains(name), "lib.rs state diagram lacks {name}");
        }
    }
}
