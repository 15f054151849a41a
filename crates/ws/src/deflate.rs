//! The one module that touches the deflate library: raw DEFLATE ([RFC 1951]) as
//! permessage-deflate uses it ([RFC 7692 §7.2](https://www.rfc-editor.org/rfc/rfc7692#section-7.2)).
//!
//! ```text
//!  compress:  message ──deflate, sync flush──▶ … 00 00 ff ff ──drop the tail──▶ frame payload
//!  inflate:   frame payloads ─────────────────▶ … ++ 00 00 ff ff ──inflate──▶ message
//! ```
//!
//! The library is `flate2` over its `zlib-rs` backend (zlib's algorithm in safe Rust). It is
//! chosen for the four things RFC 7692 needs: raw streams (no zlib header), a window of 9 to 15
//! bits (§7.1.2: the peer may cap ours), a sync flush (ends a message on a byte boundary with
//! the empty stored block whose `00 00 ff ff` is then dropped, §7.2.1) and a reset (no context
//! takeover, §7.1.1). `miniz_oxide`, `flate2`'s default, cannot set the window. Like zlib,
//! `zlib-rs` refuses an 8-bit raw window, so a compressor here is never smaller than 9 bits
//! (the negotiation declines an offer that would need 8, see `extension.rs`); an inflater
//! with a larger window than the peer's reads the peer's stream just the same.
//!
//! [RFC 1951]: https://www.rfc-editor.org/rfc/rfc1951

use flate2::{Compress, Compression, Decompress, FlushCompress, FlushDecompress, Status};

use crate::Error;

/// The smallest window a compressor here can use (2⁹ = 512 bytes); see the module docs.
pub const MIN_WINDOW_BITS: u8 = 9;

/// The largest window RFC 7692 allows (2¹⁵ = 32 KiB), and the default.
pub const MAX_WINDOW_BITS: u8 = 15;

/// What a sync flush ends with, removed from each compressed message (§7.2.1) and appended
/// again before inflating it (§7.2.2).
pub const DEFLATE_TAIL: [u8; 4] = [0x00, 0x00, 0xff, 0xff];

/// The level a [`crate::Connection`] compresses its own messages with: zlib's fastest, as a
/// connection compresses every message it sends (the hub, which compresses a broadcast once
/// for all its subscribers, can afford more).
pub const CONNECTION_LEVEL: u32 = 1;

/// A compressor for whole messages, one window size.
pub struct Deflater {
    z: Compress,
    /// Its window (9–15 bits).
    window_bits: u8,
}

impl std::fmt::Debug for Deflater {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Deflater").field("window_bits", &self.window_bits).finish()
    }
}

impl Deflater {
    /// A compressor with a window of `window_bits` (clamped to 9–15) at zlib `level` (0–9).
    pub fn new(window_bits: u8, level: u32) -> Deflater {
        let window_bits = window_bits.clamp(MIN_WINDOW_BITS, MAX_WINDOW_BITS);
        let z = Compress::new_with_window_bits(Compression::new(level.min(9)), false, window_bits);
        Deflater { z, window_bits }
    }

    /// The window this compressor uses.
    pub fn window_bits(&self) -> u8 {
        self.window_bits
    }

    /// Compresses one whole message into `out` (appended): the frame payload, `00 00 ff ff`
    /// removed (§7.2.1). With `reset`, the next message starts from an empty window (no
    /// context takeover, §7.1.1); without, it may refer back into this one.
    pub fn compress(&mut self, message: &[u8], out: &mut Vec<u8>, reset: bool) {
        let start = out.len();
        let mut input = message;
        loop {
            // Room for the worst case (stored blocks: 5 bytes per 16 KiB, plus the flush).
            out.reserve(input.len() + input.len() / 1024 + 16);
            let before = self.z.total_in();
            let status = self.z.compress_vec(input, out, FlushCompress::Sync);
            input = &input[(self.z.total_in() - before) as usize..];
            // A sync flush is complete once the library stops short of the room it was given.
            let done = input.is_empty() && out.len() < out.capacity();
            if done || !matches!(status, Ok(Status::Ok | Status::BufError)) {
                break;
            }
        }
        if out[start..].ends_with(&DEFLATE_TAIL) {
            out.truncate(out.len() - DEFLATE_TAIL.len());
        }
        if out.len() == start {
            // Nothing new to flush (an empty message after another, context kept): the
            // library writes nothing, but the payload must inflate with the tail appended —
            // one zero byte makes `00 00 00 ff ff`, an empty stored block (§7.2.3.6).
            out.push(0x00);
        }
        if reset {
            self.z.reset();
        }
    }
}

/// What one call of [`Inflater::inflate`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Inflated {
    /// Input bytes used.
    pub used: usize,
    /// Output bytes written (before the error, if there is one).
    pub written: usize,
    /// The data was corrupt (1002), after `written` good bytes.
    pub error: Option<Error>,
}

/// A decompressor for the peer's messages, fed a frame's payload at a time.
pub struct Inflater {
    z: Decompress,
    /// The peer's stream ended with a final block (BFINAL=1): the rest of this message is
    /// ignored, and the next one needs a fresh stream.
    ended: bool,
}

impl std::fmt::Debug for Inflater {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Inflater").field("ended", &self.ended).finish()
    }
}

impl Inflater {
    /// A decompressor for a peer that compresses with at most `window_bits` (a window of 8
    /// is read with 9: a larger window reads a smaller one's stream).
    pub fn new(window_bits: u8) -> Inflater {
        let bits = window_bits.clamp(MIN_WINDOW_BITS, MAX_WINDOW_BITS);
        Inflater { z: Decompress::new_with_window_bits(false, bits), ended: false }
    }

    /// Inflates from `input` into `out` (at most `out.len()` bytes). Returns how many input
    /// bytes were used and how many output bytes were written; call again while either is
    /// not done (all input used, and room left in `out`). Corrupt data → 1002, reported
    /// *after* the bytes inflated before it ([`Inflated::error`]): they are checked first
    /// (message limit, UTF-8), so that what fails does not depend on where the frames were
    /// split into reads.
    pub fn inflate(&mut self, input: &[u8], out: &mut [u8]) -> Inflated {
        if self.ended {
            return Inflated { used: input.len(), written: 0, error: None };
        }
        let (in_before, out_before) = (self.z.total_in(), self.z.total_out());
        let result = self.z.decompress(input, out, FlushDecompress::Sync);
        let used = (self.z.total_in() - in_before) as usize;
        let written = (self.z.total_out() - out_before) as usize;
        match result {
            Err(_) => Inflated { used, written, error: Some(Error::BadDeflateData) },
            Ok(status) => {
                self.ended = status == Status::StreamEnd;
                Inflated { used: if self.ended { input.len() } else { used }, written, error: None }
            }
        }
    }

    /// The message is over: with `reset` (no context takeover, or the peer ended its stream)
    /// the next one starts from an empty window.
    pub fn end_message(&mut self, reset: bool) {
        if reset || self.ended {
            self.z.reset(false);
            self.ended = false;
        }
    }
}

/// `bytes` (at most 65 535) as a DEFLATE stored block that is not the last (RFC 1951 §3.2.4:
/// BFINAL 0 and BTYPE 00 in the first three bits, the rest of the byte padding; then LEN and
/// its ones' complement NLEN, little-endian; then the bytes as they are).
///
/// How a JSON element is compressed once for every subscriber although its head differs per
/// message: the head `{"id":N,"data":"` goes in a stored block, the body follows as the blocks
/// the compressor made of it alone. A stored block ends on a byte boundary, where the next
/// block may begin, and the body's blocks refer back only into the body (their compressor
/// never saw the head), so the inflater reads head + body as one stream.
pub fn stored_block(bytes: &[u8], out: &mut Vec<u8>) {
    let len = u16::try_from(bytes.len()).expect("a head of at most 65 535 bytes");
    out.push(0x00);
    out.extend_from_slice(&len.to_le_bytes());
    out.extend_from_slice(&(!len).to_le_bytes());
    out.extend_from_slice(bytes);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn inflate_all(inflater: &mut Inflater, payload: &[u8]) -> Vec<u8> {
        let mut message = Vec::new();
        let mut chunk = [0u8; 7]; // small, so every loop path runs
        for piece in [payload, &DEFLATE_TAIL[..]] {
            let mut input = piece;
            loop {
                let Inflated { used, written, error } = inflater.inflate(input, &mut chunk);
                assert_eq!(error, None);
                message.extend_from_slice(&chunk[..written]);
                input = &input[used..];
                if input.is_empty() && written < chunk.len() {
                    break;
                }
            }
        }
        inflater.end_message(false);
        message
    }

    #[test]
    fn rfc7692_7_2_1_compressed_message_drops_the_sync_flush_tail() {
        let mut deflater = Deflater::new(15, 6);
        let mut out = Vec::new();
        deflater.compress(b"Hello", &mut out, true);
        // §7.2.3.1: "Hello" compressed is c1 … ; with zlib's fixed Huffman: f2 48 cd c9 c9 07 00.
        assert_eq!(out, [0xf2, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00]);
        let mut inflater = Inflater::new(15);
        assert_eq!(inflate_all(&mut inflater, &out), b"Hello");
    }

    #[test]
    fn rfc7692_7_2_3_6_an_empty_message_is_one_zero_byte() {
        let mut out = Vec::new();
        Deflater::new(15, 1).compress(b"", &mut out, true);
        assert_eq!(out, [0x00]);
        assert_eq!(inflate_all(&mut Inflater::new(15), &out), b"");
    }

    #[test]
    fn rfc7692_7_2_3_2_context_takeover_shortens_a_repeated_message() {
        let mut deflater = Deflater::new(15, 6);
        let (mut first, mut second) = (Vec::new(), Vec::new());
        deflater.compress(b"Hello", &mut first, false);
        deflater.compress(b"Hello", &mut second, false);
        // §7.2.3.2: the second "Hello" is a back-reference: f2 00 11 00 00.
        assert_eq!(second, [0xf2, 0x00, 0x11, 0x00, 0x00]);
        let mut inflater = Inflater::new(15);
        assert_eq!(inflate_all(&mut inflater, &first), b"Hello");
        assert_eq!(inflate_all(&mut inflater, &second), b"Hello");
    }

    #[test]
    fn rfc7692_7_1_2_every_window_from_9_to_15_round_trips_a_large_message() {
        let text: Vec<u8> =
            (0..100_000u32).flat_map(|i| format!("{{\"n\":{},\"s\":\"x{}\"}}", i % 977, i % 13).into_bytes()).collect();
        for bits in MIN_WINDOW_BITS..=MAX_WINDOW_BITS {
            let mut out = Vec::new();
            Deflater::new(bits, 6).compress(&text, &mut out, true);
            assert!(out.len() < text.len() / 3, "{bits} bits: {} of {}", out.len(), text.len());
            assert_eq!(inflate_all(&mut Inflater::new(bits), &out), text, "{bits} bits");
        }
    }

    #[test]
    fn rfc7692_7_2_2_corrupt_data_is_an_error_not_a_panic() {
        let mut inflater = Inflater::new(15);
        let mut chunk = [0u8; 64];
        // BTYPE = 11 is reserved (RFC 1951 §3.2.3).
        assert_eq!(inflater.inflate(&[0xff, 0xff, 0xff], &mut chunk).error, Some(Error::BadDeflateData));
    }

    #[test]
    fn rfc1951_3_2_4_a_stored_block_in_front_of_a_compressed_body_inflates_as_one_stream() {
        let body = b"a body that refers back only into itself, itself, itself";
        let mut payload = Vec::new();
        stored_block(b"{\"id\":7,", &mut payload);
        assert_eq!(&payload[..5], &[0x00, 8, 0, !8u8, 0xff], "BFINAL 0, BTYPE 00; LEN 8, NLEN !8");
        Deflater::new(15, 6).compress(body, &mut payload, true);
        let mut expected = b"{\"id\":7,".to_vec();
        expected.extend_from_slice(body);
        assert_eq!(inflate_all(&mut Inflater::new(15), &payload), expected);
    }
}
