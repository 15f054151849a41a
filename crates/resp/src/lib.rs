//! talkback-resp: RESP2, the protocol a Redis server speaks — commands encoded into bytes,
//! replies decoded from bytes, no socket, clock or thread.
//!
//! The hub uses it to keep ids, history and fan-out in one Redis when several nodes serve the
//! same channels. This crate knows nothing of that: it is the wire format only.
//!
//! # The exchange
//!
//! ```text
//!  client (a hub node)                                  redis-server
//!    | *2\r\n$4\r\nINCR\r\n$7\r\nid:room\r\n  ------------->|  encode.rs  encode_command
//!    |<-------------------------------------  :42\r\n       |  decode.rs  Decoder -> Value::Integer(42)
//!    | *3\r\n$3\r\nGET\r\n...  (pipelined: many commands  ->|
//!    |   written before the first reply is read)            |
//!    |<-------------------------------------  $5\r\nhello\r\n  Value::Bulk(b"hello")
//!    |<-------------------------------------  $-1\r\n       |  Value::Nil (no such key)
//!    |                                                      |
//!    |  on a second connection, after SUBSCRIBE:            |
//!    |<-------  *3\r\n$7\r\nmessage\r\n$4\r\nroom\r\n$2\r\nhi\r\n   a push: Value::Array([...])
//! ```
//!
//! Every command is an array of bulk strings; every reply is one value whose first byte names
//! its type. Replies come back in the order the commands went out, so a client matches them by
//! counting — there is no request id. A connection in subscribe mode receives pushes instead
//! (arrays whose first element says `message`, `subscribe`, …), which are values like any other.
//!
//! # Modules and the spec
//!
//! The rules are from the Redis protocol specification, "RESP protocol spec"
//! (<https://redis.io/docs/latest/develop/reference/protocol-spec/>), cited by its headings.
//!
//! | module | spec heading | what |
//! |---|---|---|
//! | `value` | "RESP protocol description", the type table | [`Value`] |
//! | `encode` | "Sending commands to a Redis server", "Simple strings", "Bulk strings", "Arrays" | [`encode_command`], [`encode_value`] |
//! | `decode` | the same, read from the other side; "Null bulk strings", "Null arrays" | [`Decoder`], [`Limits`], [`DecodeError`] |
//!
//! RESP3 (`HELLO 3`) is not spoken: RESP2 carries everything the hub needs, and pushes on a
//! separate subscriber connection are plain arrays. A RESP3 type byte (`_`, `#`, `%`, …) is a
//! [`DecodeError::UnknownType`], as is anything else a RESP2 server never sends.
//!
//! # The decoder's states
//!
//! ```text
//!                  +---------------- a whole line `T…\r\n` -----------------+
//!                  |                                                        |
//!   ExpectLine ----+-- `+` `-` `:` ---> a value ----+                       |
//!       ^          +-- `$N` ----------> ExpectBulk { len: N } -- N+2 bytes |
//!       |          |                                 (payload, CRLF) -> a value
//!       |          +-- `*N` (N > 0) --> push an open array onto the stack   |
//!       |                                                                   |
//!       +---- a value: the innermost open array takes it; a full array closes and is a value
//!             to its parent; with no open array left, the value is complete and returned
//!
//!   any state -- over a Limit, or bytes that are not RESP --> Failed(DecodeError)  (sticky)
//! ```
//!
//! The decoder keeps what it was given and never scans a byte twice: a line without its CRLF
//! yet is looked at again only from where the last look ended, and a bulk string waits for its
//! length's worth of bytes.
//!
//! # Calling contract
//!
//! Write commands with [`encode_command`] into any byte buffer. Give every byte read from the
//! connection to [`Decoder::feed`], then call [`Decoder::next_value`] until it returns
//! `Ok(None)`. An `Err` is final for the connection (Redis has no way to resynchronise a byte
//! stream): close it and start again. A Redis error reply (`-ERR …`) is not a decoding error;
//! it is [`Value::Error`], the answer to one command.
//!
//! # Limits
//!
//! A reply is bounded by [`Limits`]: the longest line, the largest bulk string, the most
//! elements in one array, the deepest nesting, and the most bytes in one reply. Past any of
//! them [`Decoder::next_value`] fails with the limit's name; nothing is allocated beyond them.

mod decode;
mod encode;
mod value;

pub use decode::{DecodeError, Decoder, Limits};
pub use encode::{encode_command, encode_value};
pub use value::Value;
