//! RFC 6455 conformance of `talkback-ws`, one integration binary:
//!
//! - `table`: decoder cases `(name, rule, role, input, expect)`, each fed whole, one byte at
//!   a time, and at every two-way split, which must all give the same result;
//! - `pair`: a client `Connection` and a server `Connection` wired together in memory on a
//!   virtual clock (echo, fragmentation, the close handshake, hours of keepalive).

#[path = "rfc6455/pair.rs"]
mod pair;
#[path = "rfc6455/table.rs"]
mod table;

use talkback_ws::{FrameHeader, OpCode, apply_mask};

/// RFC 6455 §5.7: "A single-frame unmasked text message".
pub const HELLO_UNMASKED: [u8; 7] = [0x81, 0x05, 0x48, 0x65, 0x6c, 0x6c, 0x6f];
/// RFC 6455 §5.7: "A single-frame masked text message".
pub const HELLO_MASKED: [u8; 11] = [
    0x81, 0x85, 0x37, 0xfa, 0x21, 0x3d, 0x7f, 0x9f, 0x4d, 0x51, 0x58,
];
/// RFC 6455 §5.7: "A fragmented unmasked text message", first fragment.
pub const HEL: [u8; 5] = [0x01, 0x03, 0x48, 0x65, 0x6c];
/// RFC 6455 §5.7: ... and the final fragment.
pub const LO: [u8; 4] = [0x80, 0x02, 0x6c, 0x6f];
/// RFC 6455 §5.7: "Unmasked Ping request and masked Ping response" — the ping.
pub const PING_HELLO: [u8; 7] = [0x89, 0x05, 0x48, 0x65, 0x6c, 0x6c, 0x6f];
/// RFC 6455 §5.7: the masked pong answering it.
pub const PONG_HELLO_MASKED: [u8; 11] = [
    0x8a, 0x85, 0x37, 0xfa, 0x21, 0x3d, 0x7f, 0x9f, 0x4d, 0x51, 0x58,
];
/// The masking key of the §5.7 examples.
pub const KEY: [u8; 4] = [0x37, 0xfa, 0x21, 0x3d];

/// Encodes one frame with any header bits (for cases `encode_frame` would never produce).
pub fn frame(fin: bool, rsv: u8, opcode: OpCode, payload: &[u8], mask: Option<[u8; 4]>) -> Vec<u8> {
    let header = FrameHeader {
        fin,
        rsv,
        opcode,
        mask,
        payload_len: payload.len() as u64,
    };
    let mut out = Vec::new();
    header.encode(&mut out);
    let start = out.len();
    out.extend_from_slice(payload);
    if let Some(key) = mask {
        apply_mask(&mut out[start..], key, 0);
    }
    out
}
