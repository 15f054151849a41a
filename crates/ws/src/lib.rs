//! talkback-ws: WebSocket ([RFC 6455](https://www.rfc-editor.org/rfc/rfc6455)) for both roles, sans-I/O — bytes and `now` in, events and bytes out; no sockets, clocks or threads.
//!
//! # The exchange
//!
//! ```text
//!  client                                                     server
//!    |  GET /chat HTTP/1.1                                       |
//!    |  Upgrade: websocket, Connection: Upgrade                  |   §4.1 opening handshake
//!    |  Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==              |
//!    |  Sec-WebSocket-Version: 13                                |
//!    |---------------------------------------------------------->|   handshake::accept
//!    |  HTTP/1.1 101 Switching Protocols                         |   §4.2.2
//!    |  Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=       |   (SHA-1 + base64, §1.3)
//!    |<----------------------------------------------------------|   ClientHandshake::handle_response
//!    |  masked frames  81 85 37 fa 21 3d 7f 9f 4d 51 58          |   §5.2, §5.3 (client masks)
//!    |---------------------------------------------------------->|
//!    |  unmasked frames  81 05 48 65 6c 6c 6f                    |   §5.2 (server never masks)
//!    |<----------------------------------------------------------|
//!    |  ping 89 ..  <->  pong 8A ..                              |   §5.5.2, §5.5.3
//!    |  close 88 82 .. 03 e8  (1000)                             |   §5.5.1, §7.1.2
//!    |---------------------------------------------------------->|
//!    |  close 88 02 03 e8  (echo)                                |
//!    |<----------------------------------------------------------|   server closes TCP first, §7.1.1
//! ```
//!
//! # Modules and the RFC
//!
//! | module | RFC 6455 |
//! |---|---|
//! | [`handshake`] | §1.3 accept key, §4.1 client request, §4.2 server response, §4.4 versions |
//! | `frame` ([`FrameHeader`], [`encode_frame`], [`apply_mask`]) | §5.2 base framing, §5.3 masking |
//! | `connection` ([`Connection`]), `event` ([`Event`]) | §5.1 mask by role, §5.4 fragmentation, §5.5 control frames, §7 closing, §10.4 limits; receive transitions in `connection/receive.rs` (with the one-step path for small whole frames, which `handle_bytes_lending` lends), direct payload reads in `connection/direct.rs`, parking an idle connection in `connection/park.rs` (where a parked one takes small whole messages without waking) |
//! | `close` ([`CloseFrame`], [`is_valid_code`]) | §5.5.1 close payload, §7.4 status codes |
//! | `entropy` ([`handshake::nonce`], `Config::mask_seed`) | §5.3 masking keys, §4.1 the key's nonce: OS-seeded, or seeded by a test |
//! | `utf8` | §8.1 incremental, fail-fast UTF-8 for text |
//! | `error` ([`Error`], [`SendError`]) | §7.1.7 failing the connection, §7.4.1 which code |
//! | `log` ([`FrameRecord`]) | — the `--trace` frame log |
//! | [`extension`] ([`Deflate`], [`DeflatePolicy`], [`DeflateOffer`]) | RFC 7692 §5, §7.1: negotiating permessage-deflate, both roles |
//! | `connection/compress.rs` | RFC 7692 §6, §7.2: RSV1, compressing, bounded inflating, context takeover |
//! | `deflate` ([`Deflater`], [`Inflater`], [`stored_block`]) | RFC 7692 §7.2.1–2 over raw DEFLATE (RFC 1951; §3.2.4 stored blocks): the one module that uses the deflate library |
//!
//! # States
//!
//! Two small machines in one [`Connection`]; the role is a field, not a second machine.
//!
//! ```text
//!  Read:   ExpectFrameHeader --header checked, len > 0--> ExpectPayload
//!                 ^                                             |
//!                 +------------- last payload byte -------------+
//!
//!  Phase:  Open --close()--------------------------> Closing --peer's Close-----> Closed
//!            |                                          \------close_timeout----> Closed
//!            +--peer's Close--> CloseReceived --poll_event() returns it, echo queued--> Closed
//!            +--fail(err) (close err.close_code() queued) / pong timeout (1011) -> Closed
//! ```
//!
//! # Calling contract
//!
//! 1. Handshake first: a server runs [`handshake::accept`] on the request head and writes
//!    [`handshake::Accepted::encode_response`]; a client writes
//!    [`handshake::ClientHandshake::encode_request`] and feeds the response to
//!    `handle_response`, which leaves any bytes after the 101 head unconsumed.
//! 2. [`Connection::new`]`(role, config, now)`; feed bytes that followed the handshake first.
//!    Randomness is the one input besides bytes and `now`: a client masks each frame with a
//!    fresh key (§5.3) and its handshake carries a random nonce (§4.1). Both come from `rand`'s
//!    OS-seeded CSPRNG unless a test seeds them: `Config { mask_seed: Some(seed), .. }` for
//!    the keys, [`handshake::ClientHandshake::with_nonce`] given `handshake::nonce(Some(seed))`
//!    for the nonce. Then the client's bytes are the same on every run (`entropy.rs`).
//! 3. On every read: `handle_bytes(bytes, now)`, then drain `poll_event()` (the events
//!    queued before an error are still valid). On `Err(e)` call `fail(&e)`. Polling the
//!    peer's `Event::Close` queues our echo, so replies to the messages before it go first.
//! 4. Application sends: `send_text`, `send_binary`, `send_ping`, `close`.
//! 5. After 3 or 4: `poll_transmit(&mut out)` and write `out`.
//! 6. Timers: sleep until `poll_deadline()`, then `handle_timeout(now)` and go to 5.
//! 7. When `is_closed()`: write what is queued, then close TCP (a server at once, §7.1.1).
//!
//! Optional, for speed: `swap_spares` / `recycle` lend reusable message buffers (no
//! allocation per message), and `direct_payload` / `direct_payload_filled` let the caller read
//! a large binary payload straight into the message buffer instead of passing it through
//! `handle_bytes` (`connection/direct.rs`), and `handle_bytes_lending(bytes, now, on_message)`
//! hands each small whole message to `on_message` as it is read instead of queuing an event
//! for it (an echo needs no buffer per message). All give exactly the messages, in the order,
//! `handle_bytes` would.
//!
//! Optional, for memory: between messages, [`Connection::park`] reduces an idle connection
//! to a 24-byte [`Parked`] (no heap memory), and [`Parked::resume`]`(config, now)` makes it
//! again when the socket has something for it (`connection/park.rs`) — so 10 000 quiet
//! sockets do not keep 10 000 sets of empty buffers. [`Parked::receive_small`] lends the small
//! whole messages a read starts with straight from the parked state, and leaves the rest (if
//! any) for the resumed connection: a socket that gets a chat message or an echo's never
//! wakes for it.
//!
//! ```
//! use std::time::Instant;
//! use talkback_ws::{Config, Connection, Event, Role};
//!
//! let now = Instant::now();
//! let mut server = Connection::new(Role::Server, Config::default(), now);
//! // RFC 6455 §5.7: "A single-frame masked text message" containing "Hello".
//! let bytes = [0x81, 0x85, 0x37, 0xfa, 0x21, 0x3d, 0x7f, 0x9f, 0x4d, 0x51, 0x58];
//! assert_eq!(server.handle_bytes(&bytes, now), Ok(bytes.len()));
//! assert_eq!(server.poll_event(), Some(Event::Text("Hello".into())));
//!
//! // The reply, unmasked as §5.7's first example: 81 05 48 65 6c 6c 6f.
//! server.send_text("Hello").unwrap();
//! let mut out = Vec::new();
//! server.poll_transmit(&mut out);
//! assert_eq!(out, [0x81, 0x05, 0x48, 0x65, 0x6c, 0x6c, 0x6f]);
//! ```
//!
//! # Out of scope, and the limits
//!
//! - Extensions: permessage-deflate (RFC 7692) only, when `Config::deflate` holds what the
//!   handshake agreed ([`handshake::ServerPolicy::deflate`], [`handshake::ClientHandshake::offer_deflate`]);
//!   any other RSV bit, or RSV1 without it, fails the connection with 1002. The inflated size
//!   is what `max_message_size` limits, checked as it inflates. TLS (`wss://`) belongs to the
//!   transport, not to this crate.
//! - Outgoing messages are never fragmented: `send_*` writes one frame.
//! - `Config::max_frame_size` / `max_message_size`, 16 MiB each by default: checked from the
//!   frame header before any payload is buffered, so a peer cannot make us allocate more than
//!   it is allowed (1009). The hub lowers both to 64 KiB.
//! - `close_timeout`, 5 s: how long a peer that ignores our close can hold the connection.
//! - `mask_seed`, `None`: masking keys from the CSPRNG, as §5.3 requires; a seed makes them
//!   reproducible and therefore predictable, so it is for tests only.
//! - `ping_interval` (off by default) and `pong_timeout`, 10 s: keepalive for idle
//!   connections; any byte from the peer counts as a sign of life.
//! - Lengths must be minimally encoded (§5.2 "MUST"): a non-minimal length fails with 1002.
//!
//! Start reading at `connection.rs` (the public API), then `connection/receive.rs`; the
//! chapter is `docs/websocket.md`.
#![forbid(unsafe_code)]

mod close;
mod connection;
mod deflate;
mod entropy;
mod error;
mod event;
pub mod extension;
mod frame;
pub mod handshake;
mod log;
mod utf8;

pub use close::{CloseFrame, is_valid_code};
pub use connection::{Config, Connection, DIRECT_PAYLOAD_MIN, MAX_SPARES, Parked, Role};
pub use deflate::{
    CONNECTION_LEVEL, DEFLATE_TAIL, Deflater, Inflated, Inflater, MAX_WINDOW_BITS, MIN_WINDOW_BITS, stored_block,
};
pub use error::{Error, SendError};
pub use event::Event;
pub use extension::{Deflate, DeflateOffer, DeflatePolicy};
pub use frame::{FrameHeader, MAX_HEADER_LEN, OpCode, RSV1, apply_mask, encode_frame};
pub use log::{Direction, FrameRecord, PREVIEW_LEN};
