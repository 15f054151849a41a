//! RFC 6455 conformance of `talkback-ws`, one integration binary:
//!
//! - `table`: decoder cases `(name, rule, role, input, expect)`, each fed whole, one byte at
//!   a time, and at every two-way split, which must all give the same result;
//! - `direct`: large binary payloads read straight into the message buffer must decode
//!   exactly as through `handle_bytes`;
//! - `pair`: a client `Connection` and a server `Connection` wired together in memory on a
//!   virtual clock (echo, fragmentation, the close handshake, hours of keepalive).

#[path = "rfc6455/direct.rs"]
mod direct;
#[path = "rfc6455/pair.rs"]
mod pair;
#[path = "rfc6455/table.rs"]
mod table;

#[path = "support/mod.rs"]
mod support;
pub(crate) use support::{KEY, frame};

pub use talkback_harness::vectors::{
    RFC6455_FRAGMENT_1 as HEL, RFC6455_FRAGMENT_2 as LO, RFC6455_MASKED_HELLO as HELLO_MASKED,
    RFC6455_MASKED_PONG as PONG_HELLO_MASKED, RFC6455_UNMASKED_HELLO as HELLO_UNMASKED,
    RFC6455_UNMASKED_PING as PING_HELLO,
};
