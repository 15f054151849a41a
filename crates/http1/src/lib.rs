//! talkback-http1: the server side of HTTP/1.1 as a pure function of bytes: it does no I/O.
//!
//! # The exchange
//!
//! ```text
//!  browser                                                 server (this crate)
//!     |  GET /where?q=now HTTP/1.1\r\n    request-line  RFC 9112 §3   |
//!     |  Host: www.example.org\r\n        field line    RFC 9112 §5   |
//!     |  \r\n                             end of head   RFC 9112 §2.1 |
//!     | ------------------------------------------------------------> | decode: Event::Head
//!     |                                   no body       RFC 9112 §6.3 | decode: Event::End
//!     |  HTTP/1.1 200 OK\r\n              status-line   RFC 9112 §4   |
//!     |  Date: Sun, 06 Nov 1994 ...\r\n   Date          RFC 9110 §6.6.1
//!     |  Content-Length: 2\r\n            framing       RFC 9112 §6.2 |
//!     |  \r\n[]                           head + body                 |
//!     | <------------------------------------------------------------ | ResponseHead::encode
//!     |  GET ... (same connection)        persistence   RFC 9112 §9.3 |
//! ```
//!
//! # Modules and the rules they hold
//!
//! | module     | what                                          | spec |
//! |------------|-----------------------------------------------|------|
//! | `decoder`  | [`RequestDecoder`], the states, [`Limits`]    | RFC 9112 §6 (message body) |
//! | `scan`     | finding the end of the head, limits, CRLF     | RFC 9112 §2.2, §3 |
//! | `parse`    | httparse → [`Request`], then the rules it leaves to us; names the bad byte | RFC 9112 §3, §5 |
//! | `target`   | request-target forms, `Host` authority        | RFC 9112 §3.2, RFC 9110 §7.2 |
//! | `fields`   | Content-Length, Transfer-Encoding, Connection, Expect | RFC 9112 §6.1–6.3, §9.3, RFC 9110 §10.1.1 |
//! | `chunked`  | chunk lines, extensions, trailers             | RFC 9112 §7.1, RFC 9110 §6.5.1 |
//! | `head`     | [`Request`], [`Method`], [`Version`]          | RFC 9110 §9, RFC 9112 §2.3 |
//! | `response` | [`ResponseHead`], chunks, error responses      | RFC 9112 §4, §6, §7, §9.6 |
//! | `date`     | [`DateCache`], IMF-fixdate                    | RFC 9110 §5.6.7 |
//! | [`decimal`] | [`push_decimal`], [`parse_decimal`]: the decimal writer and strict parser the other protocol crates share | RFC 9110 §8.6 (`1*DIGIT`) |
//! | `status`   | [`Status`] codes and reason phrases           | RFC 9110 §15 |
//! | `error`    | [`Error`], one variant per violation          | each cites its rule |
//!
//! The long version, with the request-smuggling essay, is `docs/http1.md`.
//!
//! # The state machine
//!
//! ```text
//!    +---------------------- End <-----------------------------+
//!    v                                                         |
//!   ExpectHead --Head, Content-Length: n (none: n = 0)--> ExpectBody{remaining} --Data..
//!    |
//!    +--Head, Transfer-Encoding: chunked--> ExpectChunkSize <-----------------------+
//!                                             |          |                          |
//!                                         size = 0    size > 0                     CRLF
//!                                             v          v                          |
//!                                   ExpectTrailers    ExpectChunkData{remaining}    |
//!                                             |          |  --Data..                |
//!                                             v          v                          |
//!                           End, to ExpectHead        ExpectChunkDataEnd -----------+
//!
//!   any state --Error--> Failed   (decode returns the same error from then on)
//! ```
//!
//! # The calling contract
//!
//! 1. One [`RequestDecoder`] per connection.
//! 2. Call [`RequestDecoder::decode`] with **all** the bytes the connection holds that
//!    earlier calls did not consume, then new ones. It returns one [`Decoded`]:
//!    drop its `consumed` bytes and act on its `event`; call again until `event` is `None`.
//!    `None` (need more bytes) always has `consumed == 0`: keep every byte, read, call again.
//!    The decoder remembers how far it looked, so re-fed bytes are not scanned twice.
//! 3. [`Event::Head`] comes first; if `expect_continue`, write [`CONTINUE_100`] before
//!    waiting for the body. Then [`Event::Data`] pieces (borrowed from your buffer, so copy
//!    or use them before dropping `consumed`), then [`Event::End`], then the next request
//!    (pipelining: answer in order, RFC 9112 §9.3.2).
//! 4. On `Err(e)`: write [`encode_error_response`] (status [`Error::status`]) and close.
//! 5. Answer with [`ResponseHead`] (or [`encode_simple_response`]); close afterwards when
//!    `!request.keep_alive`. For HEAD, encode the head with the would-be length, no body.
//!    Then hand the request back with [`RequestDecoder::recycle`] (optional): the next head
//!    is decoded into its buffers, so a warm keep-alive connection allocates nothing.
//! 6. [`RequestDecoder::is_idle`] says no request is under way: use the keep-alive timeout
//!    then, the head timeout (408) otherwise. The timers live in the caller: no clock here.
//!
//! ```
//! use talkback_http1::{Decoded, Event, Limits, Method, RequestDecoder};
//!
//! // RFC 9112 §3.2.1's origin-form example.
//! let bytes = b"GET /where?q=now HTTP/1.1\r\nHost: www.example.org\r\n\r\n";
//! let mut decoder = RequestDecoder::new(Limits::default());
//! let Decoded { consumed, event } = decoder.decode(bytes)?;
//! let Some(Event::Head(request)) = event else { panic!("a head") };
//! assert_eq!(consumed, bytes.len());
//! assert_eq!(request.method, Method::Get);
//! assert_eq!((request.path(), request.query()), ("/where", Some("q=now")));
//! assert_eq!(request.header("host"), Some(&b"www.example.org"[..]));
//! assert!(request.keep_alive);
//! // No body: End at once, then the decoder waits for the next request.
//! assert_eq!(decoder.decode(b"")?, Decoded { consumed: 0, event: Some(Event::End) });
//! assert_eq!(decoder.decode(b"")?, Decoded { consumed: 0, event: None });
//! assert!(decoder.is_idle());
//! # Ok::<(), talkback_http1::Error>(())
//! ```
//!
//! # Out of scope, and the default limits
//!
//! Out of scope: the client side; HTTP/2 (its preface `PRI * HTTP/2.0` gets 505);
//! transfer codings other than `chunked` (501);
//! exposing trailers (read, checked, bounded, dropped; never merged, and refused when they
//! carry a field that must not be a trailer, RFC 9110 §6.5.1); content codings; absolute-form
//! targets are accepted but kept as sent (`path()` returns the whole URI).
//!
//! | limit ([`Limits`]) | default | answer | why |
//! |---|---|---|---|
//! | `max_request_line` | 8192 | 414 | RFC 9112 §3 recommends at least 8000; nginx uses 8 KiB |
//! | `max_head` | 16384 | 431 | a browser head is under 2 KiB; caps memory per slow client |
//! | `max_headers` | 100 | 431 | hyper's default |
//! | `max_body` | 1 MiB | 413 before the body is read | the hub's messages are small |
//! | `max_trailers` | 8192 | 431 | nobody sends trailers to us; bound them anyway |
//! | chunk line (`MAX_CHUNK_LINE`) | 4096 | 400 | extensions are ignored, so need no room |
//!
//! Start reading at `decoder.rs` (`RequestDecoder`: bytes in, requests out), then `parse.rs`
//! and `fields.rs` (the checks httparse leaves to us); tests: `tests/rfc9112.rs`.
#![forbid(unsafe_code)]

mod chunked;
mod date;
pub mod decimal;
mod decoder;
mod error;
mod fields;
mod head;
mod parse;
mod response;
mod scan;
mod status;
mod target;

pub use chunked::{MAX_CHUNK_LINE, PROHIBITED_TRAILERS};
pub use date::DateCache;
pub use decimal::{DecimalError, parse_decimal, push_decimal};
pub use decoder::{Decoded, Event, Limits, RequestDecoder};
pub use error::Error;
pub use head::{Method, Request, Version};
pub use response::{
    CONTINUE_100, ResponseHead, encode_chunk, encode_error_response, encode_last_chunk, encode_simple_response,
};
pub use scan::find_cr_or_lf;
pub use status::Status;
