//! talkback-sse: Server-Sent Events — an event encoder for servers and the WHATWG event-stream
//! parser for clients and tests; bytes in, events out, no I/O.
//!
//! # The exchange
//!
//! ```text
//!  browser (EventSource)                          server (hub)
//!    | GET /ch/room/sse                              |
//!    | Accept: text/event-stream  ------------------>|
//!    |<------------------ HTTP/1.1 200 OK            |  head.rs  STREAM_HEAD
//!    |                    Content-Type: text/event-stream, no length: the body runs until close
//!    |<------------------ id: 1\ndata: hi\n\n        |  encode.rs  encode_message
//!    |<------------------ : heartbeat\n\n            |  encode.rs  encode_comment (every 15 s)
//!    |<------------------ id: 2\ndata: a\ndata: b\n\n|  one data: line per line of text
//!    |        ... the connection drops ...           |
//!    | (waits the retry delay, then reconnects)      |
//!    | GET /ch/room/sse                              |
//!    | Last-Event-ID: 2  --------------------------->|  the hub replays ids > 2
//!    |<------------------ id: 3\ndata: later\n\n     |
//! ```
//!
//! # Modules and the spec
//!
//! All rules are from WHATWG HTML, section "Server-sent events"
//! (<https://html.spec.whatwg.org/multipage/server-sent-events.html>); cited by heading,
//! since its numbering drifts.
//!
//! | module | spec heading | what |
//! |---|---|---|
//! | `encode` | "Parsing an event stream" (the ABNF), "Authoring notes" | [`Event`], [`encode_message`], [`encode_comment`], [`encode_retry`], [`encode_missed`], [`encode_missed_through`] |
//! | `parse` | "Interpreting an event stream", "Dispatch the event" | [`Parser`], [`ParsedEvent`], [`parse_stream`] |
//! | `head` | "Processing model" (the `text/event-stream` check), RFC 9112 §6.3 | [`STREAM_HEAD`], [`encode_stream_head`] |
//!
//! # The parser's states
//!
//! ```text
//!                      each byte of EF BB BF, in order (stripped)
//!                               +-----+
//!                               v     |
//!   new stream -----> ExpectBom { matched }
//!                               |
//!                               | any other byte (bytes matched so far begin line 1)
//!                               v
//!          +----------------> ExpectLine <--------------------------+
//!          |                    |      |                             |
//!          +-- LF: process -----+      | CR: process the line        | any byte but LF
//!              the line                v                             | (starts the next line)
//!                             ExpectLfAfterCr -- LF: skipped --------+
//!                                                (the CRLF pair)
//!
//!   any state  -- line or data over its Limits -->  Failed(ParseError)  (sticky)
//!   handle_eof -- from any state -->  ExpectBom { matched: 0 }  (pending event discarded)
//! ```
//!
//! A CR at the end of one chunk and an LF at the start of the next are one line end: the
//! parser remembers the CR as `ExpectLfAfterCr`.
//!
//! # Calling contract
//!
//! Server side, no state: write [`STREAM_HEAD`] (or [`encode_stream_head`]) once, then any
//! sequence of blocks from the `encode_*` functions. Each block ends with a blank line and
//! leaves the browser's buffers empty, so blocks from different sources (replay, live
//! messages, heartbeats) can be interleaved freely. Close the connection to end the stream.
//!
//! Client side: for each chunk read, call [`Parser::handle_bytes`], then
//! [`Parser::poll_event`] until it returns `None`. At end of stream call
//! [`Parser::handle_eof`]; to reconnect, send [`Parser::last_event_id`] as `Last-Event-ID`
//! (if not empty) after waiting [`Parser::retry`] milliseconds (browsers default to a few
//! seconds). A [`ParseError`] means: close the connection.
//!
//! # Example: the spec's "stock" stream
//!
//! ```
//! use talkback_sse::{encode_message, Parser};
//!
//! let mut parser = Parser::new();
//! parser.handle_bytes(b"data: YHOO\ndata: +2\ndata: 10\n\n").unwrap();
//! let event = parser.poll_event().unwrap();
//! assert_eq!(event.event_type, "message");
//! assert_eq!(event.data, "YHOO\n+2\n10");
//! assert_eq!(parser.poll_event(), None);
//!
//! // The hub's encoder writes the same data as one message with an id.
//! let mut out = Vec::new();
//! encode_message(1, "YHOO\n+2\n10", &mut out);
//! assert_eq!(out, b"id: 1\ndata: YHOO\ndata: +2\ndata: 10\n\n");
//! ```
//!
//! # Out of scope, and limits
//!
//! * Compression of the stream, HTTP/2 and HTTP/3 framing, CORS: the server's business.
//! * A CR inside data: SSE turns every line end into LF (the encoder splits, the parser joins
//!   with LF). Text with CRs arrives with LFs.
//! * The client's reconnection loop and timers: [`Parser`] only keeps `last_event_id` and
//!   `retry` for it.
//! * [`Limits`]: a line and an event's data are each capped at 1 MiB by default — the hub's
//!   largest message — so a misbehaving server cannot make a client buffer without bound;
//!   over the limit is [`ParseError::LineTooLong`] / [`ParseError::DataTooLarge`].
//!
//! Start reading at `encode.rs` (what the server writes), then `parse.rs` (the WHATWG
//! parser); tests: `tests/whatwg.rs`. The chapter is `docs/sse.md`.
#![forbid(unsafe_code)]

mod encode;
mod head;
mod parse;

pub use encode::{
    Event, InvalidField, encode_comment, encode_message, encode_missed, encode_missed_through, encode_retry,
};
pub use head::{InvalidHeader, STREAM_HEAD, encode_stream_head, encode_stream_head_with_date};
pub use parse::{Limits, ParseError, ParsedEvent, Parser, State, parse_stream};
