//! talkback-longpoll: holding requests until there is news — a channel's message log with ids
//! and cursors, the table of parked requests, and the JSON answer; no I/O, no clock. Nothing
//! here is timed: how long a request may be held is the caller's timer's business (the
//! server's reactor owns the hold deadline), and this crate only says who is waiting for what.
//!
//! Short polling, long polling, SSE replay and WebSocket catch-up all ask the same question,
//! "what came after message N?", so they share this crate.
//!
//! # The exchange
//!
//! ```text
//!  client A                     hub                                       client B
//!    | GET /ch/room/longpoll?after=4                                         |
//!    |------------------------->| log.after(4) is empty                      |
//!    |                          | parked.park(A, 4); timer: A at now + 30 s  |
//!    |      (held: no answer)   |                                            |
//!    |                          |<-------------------- POST /ch/room  "hi"   |
//!    |                          | log.publish(..) = 5                        |
//!    |                          | parked.release(&log): (A, batch [5])       |
//!    |<-------------------------| 200 [{"id":5,"data":"hi"}]  -------------->| 200 "5"
//!    | GET ..longpoll?after=5   | (the re-request gap: a message published   |
//!    |------------------------->|  now waits in the log, not lost)           |
//!    |                          | parked.park(A, 5); timer: A at now + 30 s  |
//!    |        ... 30 s, nothing published ...                                |
//!    |                          | A's timer fires: parked.remove(A) = true   |
//!    |<-------------------------| 204 No Content                             |
//!    | GET ..longpoll?after=5   | (same cursor again)                        |
//! ```
//!
//! # Modules
//!
//! | module | what | spec |
//! |---|---|---|
//! | `log` | [`ChannelLog`]: ids 1, 2, 3…, the last N messages, [`Batch`] after a cursor, `missed`; `evict_through` for a budget shared by many logs | — (our protocol: the README's "The hub's URLs" and "Limits: channel history") |
//! | `parked` | [`Parked`]: requests waiting, by key and by cursor (no deadlines: the caller's timer holds those) | — |
//! | `json` | [`encode_json_element`] (or its head, the text as it is and [`JSON_ELEMENT_TAIL`] when [`json_verbatim`]), [`encode_json_array`], [`json_array_len`], [`MISSED_HEADER`] | [RFC 8259 §7](https://www.rfc-editor.org/rfc/rfc8259#section-7) strings |
//! | `query` | [`ChannelQuery`]: `after`, `timeout`, `lastEventId`; [`hold_duration`]; [`parse_decimal`] (`talkback_http1`'s, with a [`QueryError`]) | [RFC 3986 §3.4](https://www.rfc-editor.org/rfc/rfc3986#section-3.4) query |
//!
//! # A request's life
//!
//! A request is either answered on arrival or sits in one [`Parked`] table; the table's
//! methods are its only transitions:
//!
//! ```text
//!   arrives with cursor C ── log.after(C) not empty ──────────────────► 200 batch (+ missed)
//!          │ empty
//!          ▼   park(key, C); the caller arms its timer
//!       parked ── release(&log), after a publish ─────────────────────► 200 batch
//!          │ ──── remove(key) = true, the caller's timer fired ────────► 204
//!          │ ──── remove(key), the client disconnected ────────────────► (nothing to send)
//!          └───── park(key, ..) again: moved, still parked
//! ```
//!
//! # Calling contract
//!
//! 1. On `POST`: `let id = log.next_id()`, encode the message's shared bytes (they contain the
//!    id), `log.publish(item, weight)`; then answer every `(key, batch)` from
//!    [`Parked::release`].
//! 2. On a poll or long-poll: the cursor is `after`, or if absent `0` for a poll (all retained)
//!    and [`ChannelLog::last_id`] for a long-poll (only new ones). Call [`ChannelLog::after`];
//!    a non-empty batch is answered at once. Empty: a poll answers 204; a long-poll calls
//!    [`Parked::park`]`(key, cursor)` and sets its own timer to `now + hold_duration(..)`.
//! 3. When that timer fires: if [`Parked::remove`] returns `true`, answer 204; `false` means a
//!    publish released it first (cancel the timer on release, or just ignore the stale one).
//! 4. When a parked client disconnects: [`Parked::remove`].
//!
//! The body's length comes before the body: [`json_array_len`] gives the `Content-Length` of
//! what [`encode_json_array`] will write, from the same elements.
//!
//! # Telling a client it missed messages
//!
//! A cursor older than the retained history gets every retained message plus
//! [`Batch::missed`], the count of evicted messages after its cursor. The body stays a plain
//! JSON array of messages; the count travels beside it:
//!
//! * poll and long-poll: the header `Talkback-Missed: K` ([`MISSED_HEADER`]);
//! * SSE: an `event: missed` / `data: K` block before the replay (`talkback_sse::encode_missed`);
//!   a page listens with `addEventListener("missed", ..)`.
//!
//! When a budget shared by many logs took everything after the cursor
//! ([`ChannelLog::evict_through`]), the batch is empty and `missed` is not: the client's next
//! cursor is its old one plus `missed`.
//!
//! A header rather than a `{"missed":K}` element keeps every element the same shape, so a
//! client that ignores the feature keeps working, and the pre-encoded elements need no
//! exception for the first position.
//!
//! # Example
//!
//! ```
//! use talkback_longpoll::{ChannelLog, Parked, encode_json_array, encode_json_element, json_array_len};
//!
//! // The hub stores each message's JSON element, encoded once.
//! let mut log: ChannelLog<Vec<u8>> = ChannelLog::new();
//! let mut parked = Parked::new();
//!
//! // A long-poll without `after` waits for the next message (and the caller arms its timer).
//! let cursor = log.last_id();
//! assert!(log.after(cursor).is_empty());
//! parked.park("conn-1", cursor);
//!
//! // A publish releases it with the batch after its cursor.
//! let mut element = Vec::new();
//! encode_json_element(log.next_id(), "hi \"all\"", &mut element);
//! let weight = element.len();
//! log.publish(element, weight);
//! let (key, batch) = parked.release(&log).next().unwrap();
//! let length = json_array_len(batch.iter().map(|(_, e)| e.as_slice()));
//! let mut body = Vec::new();
//! encode_json_array(batch.iter().map(|(_, e)| e.as_slice()), &mut body);
//! assert_eq!((key, batch.missed()), ("conn-1", 0));
//! assert_eq!(body, br#"[{"id":1,"data":"hi \"all\""}]"#);
//! assert_eq!(length, body.len());
//! // Its hold timer, when it fires later, finds nothing to answer.
//! assert!(!parked.remove("conn-1"));
//! ```
//!
//! # Out of scope, and limits
//!
//! * Which channel a key is parked in, sockets, timers (the hold deadline included), HTTP
//!   heads: the server's business.
//!   One [`Parked`] per channel, since a cursor means something only in its channel's log.
//! * Persistence: the log lives in memory; a restarted server starts again at id 1, and a
//!   client's cursor from before the restart is ahead of [`ChannelLog::last_id`] — it stays
//!   parked until the ids catch up. The server may treat such a cursor as `last_id`.
//! * [`LogLimits`]: 1024 messages per channel (README, Limits: channel history) and an
//!   optional byte budget; the newest message is always kept. A budget across many logs (the
//!   server's `--max-retained-bytes`) is the caller's: it evicts with
//!   [`ChannelLog::evict_through`], which may empty a log.
//! * [`Parked`] has no size limit of its own: it holds one entry per parked connection, which
//!   the server's connection limit bounds. Every operation is O(log n).
//!
//! Start reading at `log.rs` (the channel log and cursors), then `parked.rs` (holding and
//! releasing requests); the chapter is `docs/long-polling.md`.
#![forbid(unsafe_code)]

mod json;
mod log;
mod parked;
mod query;

pub use json::{
    CONTENT_TYPE, JSON_ARRAY_END, JSON_ELEMENT_TAIL, MISSED_HEADER, encode_json_array, encode_json_element,
    encode_json_element_head, encode_json_string, json_array_before, json_array_len, json_array_len_of,
    json_element_len, json_verbatim,
};
pub use log::{Batch, ChannelLog, LogLimits, MessageId};
pub use parked::Parked;
pub use query::{ChannelQuery, QueryError, hold_duration, parse_cursor, parse_decimal};
