//! The base framing protocol ([RFC 6455 §5.2](https://www.rfc-editor.org/rfc/rfc6455#section-5.2)):
//! the frame header as a value with a `decode`/`encode` pair, whole-frame encoding, and masking.
//!
//! ```text
//!  0                   1                   2                   3
//!  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
//! +-+-+-+-+-------+-+-------------+-------------------------------+
//! |F|R|R|R| opcode|M| Payload len |    Extended payload length    |
//! |I|S|S|S|  (4)  |A|     (7)     |             (16/64)           |
//! |N|V|V|V|       |S|             |   (if payload len==126/127)   |
//! | |1|2|3|       |K|             |                               |
//! +-+-+-+-+-------+-+-------------+ - - - - - - - - - - - - - - - +
//! |     Extended payload length continued, if payload len == 127  |
//! + - - - - - - - - - - - - - - - +-------------------------------+
//! |                               |Masking-key, if MASK set to 1  |
//! +-------------------------------+-------------------------------+
//! | Masking-key (continued)       |          Payload Data         |
//! +-------------------------------- - - - - - - - - - - - - - - - +
//! ```
//!
//! Only syntax lives here: a header that decodes may still break a rule that depends on the
//! role or on the message in progress (masking, RSV bits, control-frame limits); those are
//! checked in one place, `Connection::check_header`.

use crate::Error;

/// The longest possible frame header: 2 bytes + 8 bytes of length + 4 bytes of mask key.
pub const MAX_HEADER_LEN: usize = 14;

/// A frame's opcode ([RFC 6455 §5.2](https://www.rfc-editor.org/rfc/rfc6455#section-5.2)).
/// The reserved opcodes 0x3–0x7 and 0xB–0xF are refused when decoding, so they have no variant.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OpCode {
    /// `0x0`: a continuation of a fragmented message (§5.4).
    Continuation,
    /// `0x1`: the first (or only) frame of a UTF-8 text message.
    Text,
    /// `0x2`: the first (or only) frame of a binary message.
    Binary,
    /// `0x8`: close (§5.5.1).
    Close,
    /// `0x9`: ping (§5.5.2).
    Ping,
    /// `0xA`: pong (§5.5.3).
    Pong,
}

impl OpCode {
    /// The opcode for the low 4 bits of the first header byte, or `None` for a reserved one.
    pub fn from_u8(bits: u8) -> Option<OpCode> {
        Some(match bits {
            0x0 => OpCode::Continuation,
            0x1 => OpCode::Text,
            0x2 => OpCode::Binary,
            0x8 => OpCode::Close,
            0x9 => OpCode::Ping,
            0xA => OpCode::Pong,
            _ => return None,
        })
    }

    /// The 4-bit wire value.
    pub fn as_u8(self) -> u8 {
        match self {
            OpCode::Continuation => 0x0,
            OpCode::Text => 0x1,
            OpCode::Binary => 0x2,
            OpCode::Close => 0x8,
            OpCode::Ping => 0x9,
            OpCode::Pong => 0xA,
        }
    }

    /// Control frames have the high opcode bit set (§5.5).
    pub fn is_control(self) -> bool {
        self.as_u8() & 0x8 != 0
    }

    /// A short lower-case name, used by the frame log (`text`, `cont`, `ping`...).
    pub fn name(self) -> &'static str {
        match self {
            OpCode::Continuation => "cont",
            OpCode::Text => "text",
            OpCode::Binary => "binary",
            OpCode::Close => "close",
            OpCode::Ping => "ping",
            OpCode::Pong => "pong",
        }
    }
}

/// RSV1 in [`FrameHeader::rsv`]: with permessage-deflate, "Per-Message Compressed", set on
/// the first frame of a compressed message ([RFC 7692 §6](https://www.rfc-editor.org/rfc/rfc7692#section-6)).
pub const RSV1: u8 = 0b100;

/// One frame header. `Copy` and at most 24 bytes: decoding one never allocates.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FrameHeader {
    /// Last frame of a message (§5.4).
    pub fin: bool,
    /// RSV1–RSV3 as the low three bits (`0b100` is RSV1). Non-zero only with an extension.
    pub rsv: u8,
    /// What the payload is.
    pub opcode: OpCode,
    /// The masking key; present exactly on client-to-server frames (§5.3).
    pub mask: Option<[u8; 4]>,
    /// Payload length in bytes (after the header).
    pub payload_len: u64,
}

impl FrameHeader {
    /// Decodes a header from the front of `bytes`.
    ///
    /// Returns `Ok(None)` when more bytes are needed, `Ok(Some((header, header_len)))` once
    /// complete. Syntax errors: a reserved opcode, a 64-bit length with its most significant
    /// bit set, and a length not written in the minimal number of bytes. RFC 6455 §5.2 says
    /// "the minimal number of bytes MUST be used to encode the length"; we hold the peer to
    /// that MUST (as browsers do) and fail with 1002, which also keeps one frame one encoding.
    pub fn decode(bytes: &[u8]) -> Result<Option<(FrameHeader, usize)>, Error> {
        let [b0, b1, ..] = *bytes else {
            return Ok(None);
        };
        let opcode = OpCode::from_u8(b0 & 0x0F).ok_or(Error::ReservedOpcode(b0 & 0x0F))?;
        let masked = b1 & 0x80 != 0;
        let (payload_len, len_bytes) = match b1 & 0x7F {
            126 => match bytes.get(2..4) {
                None => return Ok(None),
                Some(b) => (u64::from(u16::from_be_bytes([b[0], b[1]])), 2),
            },
            127 => match bytes.get(2..10) {
                None => return Ok(None),
                Some(b) => (u64::from_be_bytes(b.try_into().expect("8 bytes")), 8),
            },
            short => (u64::from(short), 0),
        };
        if len_bytes == 8 && payload_len >> 63 != 0 {
            return Err(Error::LengthMsbSet);
        }
        let minimal = match len_bytes {
            2 => payload_len >= 126,
            8 => payload_len > 0xFFFF,
            _ => true,
        };
        if !minimal {
            return Err(Error::NonMinimalLength);
        }
        let mut end = 2 + len_bytes;
        let mask = if masked {
            let Some(key) = bytes.get(end..end + 4) else {
                return Ok(None);
            };
            end += 4;
            Some([key[0], key[1], key[2], key[3]])
        } else {
            None
        };
        let header = FrameHeader { fin: b0 & 0x80 != 0, rsv: (b0 >> 4) & 0x07, opcode, mask, payload_len };
        Ok(Some((header, end)))
    }

    /// Appends the encoded header (2 to 14 bytes) to `out`, lengths in minimal form.
    pub fn encode(&self, out: &mut Vec<u8>) {
        // Fast path (*short server frames*): the two bytes of an unmasked frame under 126
        // bytes, a copy of fixed length the compiler writes in place.
        if self.mask.is_none() && self.payload_len <= 125 {
            let first = (u8::from(self.fin) << 7) | ((self.rsv & 0x07) << 4) | self.opcode.as_u8();
            out.extend_from_slice(&[first, self.payload_len as u8]);
            return;
        }
        let mut buf = [0u8; MAX_HEADER_LEN];
        let len = self.encode_into(&mut buf);
        out.extend_from_slice(&buf[..len]);
    }

    /// Writes the header into a fixed array and returns its length (no allocation).
    pub fn encode_into(&self, buf: &mut [u8; MAX_HEADER_LEN]) -> usize {
        buf[0] = (u8::from(self.fin) << 7) | ((self.rsv & 0x07) << 4) | self.opcode.as_u8();
        let mask_bit = if self.mask.is_some() { 0x80 } else { 0 };
        let mut end = match self.payload_len {
            n @ 0..=125 => {
                buf[1] = mask_bit | n as u8;
                2
            }
            n @ 126..=0xFFFF => {
                buf[1] = mask_bit | 126;
                buf[2..4].copy_from_slice(&(n as u16).to_be_bytes());
                4
            }
            n => {
                buf[1] = mask_bit | 127;
                buf[2..10].copy_from_slice(&n.to_be_bytes());
                10
            }
        };
        if let Some(key) = self.mask {
            buf[end..end + 4].copy_from_slice(&key);
            end += 4;
        }
        end
    }
}

/// Appends one unfragmented (FIN=1) frame to `out`, masking the payload if `mask` is given.
///
/// The hub encodes a broadcast once with this (server frames are unmasked, `mask = None`) and
/// shares the bytes with every subscriber.
pub fn encode_frame(opcode: OpCode, payload: &[u8], mask: Option<[u8; 4]>, out: &mut Vec<u8>) {
    let header = FrameHeader { fin: true, rsv: 0, opcode, mask, payload_len: payload.len() as u64 };
    header.encode(out);
    let start = out.len();
    out.extend_from_slice(payload);
    if let Some(key) = mask {
        apply_mask(&mut out[start..], key, 0);
    }
}

/// XORs `buf` with the masking key ([RFC 6455 §5.3](https://www.rfc-editor.org/rfc/rfc6455#section-5.3)):
/// byte `i` of the payload is XORed with `key[i % 4]`.
///
/// `offset` is the position of `buf[0]` within the frame's payload, so a payload that arrives
/// split across reads is unmasked piece by piece with the right phase. Eight bytes at a time,
/// safely: the key is rotated to the phase, repeated into a `u64`, and each
/// `chunks_exact_mut(8)` chunk is XORed as one word.
///
/// An all-zero key changes nothing and returns at once: callers pass it for an unmasked frame
/// (every frame a client receives, §5.1), so a client's receive path makes no pass over the
/// payload for it.
pub fn apply_mask(buf: &mut [u8], key: [u8; 4], offset: usize) {
    if key == [0; 4] {
        return;
    }
    // The key as it lines up with `buf[0]`: rotated by the phase, as a little-endian word
    // (byte i of the word is the key byte for `buf[i]`), then twice over in 64 bits.
    let phase = (offset % 4) as u32;
    let k = u32::from_le_bytes(key).rotate_right(8 * phase);
    let word = u64::from(k) | u64::from(k) << 32;
    let mut chunks = buf.chunks_exact_mut(8);
    for chunk in &mut chunks {
        let bytes: &mut [u8; 8] = chunk.try_into().expect("chunks of 8");
        *bytes = (u64::from_le_bytes(*bytes) ^ word).to_le_bytes();
    }
    // The remainder starts at a multiple of 8 from `buf[0]`, so its phase is the word's.
    for (byte, k) in chunks.into_remainder().iter_mut().zip(word.to_le_bytes()) {
        *byte ^= k;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn naive_mask(buf: &mut [u8], key: [u8; 4], offset: usize) {
        for (i, b) in buf.iter_mut().enumerate() {
            *b ^= key[(offset + i) % 4];
        }
    }

    #[test]
    fn rfc6455_5_3_word_masking_matches_bytewise_at_every_phase_and_split() {
        let key = [0x37, 0xfa, 0x21, 0x3d];
        let data: Vec<u8> = (0..=70u8).collect();
        let mut expect = data.clone();
        naive_mask(&mut expect, key, 0);
        for split in 0..data.len() {
            let mut got = data.clone();
            let (a, b) = got.split_at_mut(split);
            apply_mask(a, key, 0);
            apply_mask(b, key, split);
            assert_eq!(got, expect, "split at {split}");
        }
    }

    #[test]
    fn rfc6455_5_2_header_round_trips_at_each_length_form() {
        for len in [0, 1, 125, 126, 127, 0xFFFF, 0x1_0000, u64::MAX >> 1] {
            for mask in [None, Some([1, 2, 3, 4])] {
                let header =
                    FrameHeader { fin: len % 2 == 0, rsv: 0b101, opcode: OpCode::Binary, mask, payload_len: len };
                let mut out = Vec::new();
                header.encode(&mut out);
                // `encode`'s two-byte fast path writes what the general form does.
                let mut buf = [0; MAX_HEADER_LEN];
                let n = header.encode_into(&mut buf);
                assert_eq!(out, &buf[..n], "{header:?}");
                let (decoded, used) = FrameHeader::decode(&out).unwrap().unwrap();
                assert_eq!((decoded, used), (header, out.len()));
                for cut in 0..out.len() {
                    assert_eq!(FrameHeader::decode(&out[..cut]).unwrap(), None);
                }
            }
        }
    }

    #[test]
    fn rfc6455_5_2_rejects_64_bit_length_with_msb_set() {
        let bytes = [0x82, 127, 0x80, 0, 0, 0, 0, 0, 0, 0];
        assert_eq!(FrameHeader::decode(&bytes), Err(Error::LengthMsbSet));
    }

    #[test]
    fn rfc6455_5_2_rejects_non_minimal_lengths() {
        assert_eq!(FrameHeader::decode(&[0x82, 126, 0, 125]), Err(Error::NonMinimalLength));
        let bytes = [0x82, 127, 0, 0, 0, 0, 0, 0, 0xFF, 0xFF];
        assert_eq!(FrameHeader::decode(&bytes), Err(Error::NonMinimalLength));
    }

    #[test]
    fn rfc6455_5_2_rejects_reserved_opcodes() {
        for op in [3u8, 7, 0xB, 0xF] {
            assert_eq!(FrameHeader::decode(&[0x80 | op, 0]), Err(Error::ReservedOpcode(op)));
        }
    }

    #[test]
    fn rfc6455_5_7_encode_frame_matches_the_masked_hello_example() {
        let mut out = Vec::new();
        encode_frame(OpCode::Text, b"Hello", Some([0x37, 0xfa, 0x21, 0x3d]), &mut out);
        let expect = [0x81, 0x85, 0x37, 0xfa, 0x21, 0x3d, 0x7f, 0x9f, 0x4d, 0x51, 0x58];
        assert_eq!(out, expect);
    }
}
