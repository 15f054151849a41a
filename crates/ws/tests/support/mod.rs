//! What the WebSocket integration tests (`rfc6455.rs`, `rfc7692.rs`) share: the §5.7 masking
//! key and a frame encoder that writes any header bits, valid or not.

use talkback_ws::{FrameHeader, OpCode, apply_mask};

/// The masking key of the §5.7 examples.
pub(crate) const KEY: [u8; 4] = [0x37, 0xfa, 0x21, 0x3d];

/// Encodes one frame with any header bits (for cases `encode_frame` would never produce).
pub(crate) fn frame(fin: bool, rsv: u8, opcode: OpCode, payload: &[u8], mask: Option<[u8; 4]>) -> Vec<u8> {
    let header = FrameHeader { fin, rsv, opcode, mask, payload_len: payload.len() as u64 };
    let mut out = Vec::new();
    header.encode(&mut out);
    let start = out.len();
    out.extend_from_slice(payload);
    if let Some(key) = mask {
        apply_mask(&mut out[start..], key, 0);
    }
    out
}
