//! A broadcast compressed once per window size (permessage-deflate, RFC 7692): which window
//! sizes a channel's WebSocket subscribers negotiated, each loop's compressors, and the
//! compressed payloads a message keeps beside its other forms.
//!
//! ```text
//!  subscribers of "room" (all loops):  12 × 15 bits, 1 × 10 bits   ──▶ windows = {10, 15}
//!  publish "…1 KiB…":  compress with the 10-bit and the 15-bit compressor, each reset after
//!                      the message ──▶ Encoded keeps [(10, 412 B), (15, 388 B)]
//!  push to a subscriber: its window's payload behind a header with RSV1, shared like the text
//! ```
//!
//! Sharing one compressed payload among subscribers works because no compressor keeps its
//! context across messages: every payload starts from an empty window, which the handshake
//! announced with `server_no_context_takeover` (RFC 7692 §7.1.1.1), so a subscriber inflates
//! each message on its own, whichever came before. A compressor a message needs is made on
//! the loop that publishes it, once, and reused for every later message (reset, not rebuilt).

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use talkback_ws::{Deflater, MAX_WINDOW_BITS, MIN_WINDOW_BITS};

use crate::options::DEFAULT_DEFLATE_THRESHOLD;

/// How many window sizes there are (9 to 15 bits).
const WINDOWS: usize = (MAX_WINDOW_BITS - MIN_WINDOW_BITS + 1) as usize;

/// The zlib level a broadcast is compressed at: the default, as one compression serves every
/// subscriber (a connection compressing its own messages uses the fastest instead).
pub const BROADCAST_LEVEL: u32 = 6;

/// A message's compressed payloads, one per window size some subscriber had when it was
/// published (usually one, or none).
#[derive(Debug, Default)]
pub struct Deflated(Box<[(u8, Arc<[u8]>)]>);

impl Deflated {
    /// The payload compressed with a `window_bits` window, if it was made.
    pub fn get(&self, window_bits: u8) -> Option<&Arc<[u8]>> {
        self.0.iter().find(|(bits, _)| *bits == window_bits).map(|(_, payload)| payload)
    }

    /// Bytes each kept payload costs (as `Encoded::retained_bytes` counts blocks).
    pub(super) fn blocks(&self) -> impl Iterator<Item = usize> + '_ {
        self.0.iter().map(|(_, payload)| payload.len())
    }
}

/// How many WebSocket subscribers of a channel (over all loops) negotiated each window size.
#[derive(Debug, Default)]
pub(super) struct Windows([AtomicUsize; WINDOWS]);

impl Windows {
    /// A subscriber with a `window_bits` window came (`joined`) or went.
    pub(super) fn count(&self, window_bits: u8, joined: bool) {
        let slot = &self.0[usize::from(window_bits.clamp(MIN_WINDOW_BITS, MAX_WINDOW_BITS) - MIN_WINDOW_BITS)];
        if joined {
            slot.fetch_add(1, Ordering::AcqRel);
        } else {
            slot.fetch_sub(1, Ordering::AcqRel);
        }
    }

    /// The window sizes in use now, smallest first.
    pub(super) fn in_use(&self) -> impl Iterator<Item = u8> + '_ {
        (MIN_WINDOW_BITS..=MAX_WINDOW_BITS)
            .filter(|&bits| self.0[usize::from(bits - MIN_WINDOW_BITS)].load(Ordering::Acquire) > 0)
    }
}

/// One loop's compressors, one per window size, made when first needed.
#[derive(Debug)]
pub(super) struct Compressors {
    /// Messages shorter than this are not compressed (`--deflate-threshold`).
    pub(super) threshold: usize,
    /// `None` until a message needed that window.
    deflaters: [Option<Deflater>; WINDOWS],
    /// Reused output buffer.
    out: Vec<u8>,
}

impl Default for Compressors {
    fn default() -> Compressors {
        Compressors { threshold: DEFAULT_DEFLATE_THRESHOLD, deflaters: Default::default(), out: Vec::new() }
    }
}

impl Compressors {
    /// `text` compressed once for each window in `windows` — nothing when it is under the
    /// threshold.
    pub(super) fn compress(&mut self, text: &str, windows: impl Iterator<Item = u8>) -> Deflated {
        if text.len() < self.threshold {
            return Deflated::default();
        }
        let forms: Vec<(u8, Arc<[u8]>)> = windows
            .map(|bits| {
                let slot = &mut self.deflaters[usize::from(bits - MIN_WINDOW_BITS)];
                let deflater = slot.get_or_insert_with(|| Deflater::new(bits, BROADCAST_LEVEL));
                self.out.clear();
                deflater.compress(text.as_bytes(), &mut self.out, true);
                (bits, Arc::from(&self.out[..]))
            })
            .collect();
        if self.out.capacity() > 64 * 1024 {
            self.out = Vec::new();
        }
        Deflated(forms.into_boxed_slice())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use talkback_ws::Inflater;

    #[test]
    fn rfc7692_7_1_1_1_each_window_compressed_once_and_each_payload_inflates_on_its_own() {
        let windows = Windows::default();
        for bits in [15, 15, 10] {
            windows.count(bits, true);
        }
        assert_eq!(windows.in_use().collect::<Vec<_>>(), [10, 15]);
        let mut compressors = Compressors::default();
        let text = r#"{"user":"ada","text":"the same few words, the same few words, again"}"#.repeat(8);
        let first = compressors.compress(&text, windows.in_use());
        let second = compressors.compress(&text, windows.in_use());
        for bits in [10, 15] {
            // No context kept: the second message compresses exactly as the first.
            assert_eq!(first.get(bits), second.get(bits));
            let payload = first.get(bits).unwrap();
            assert!(payload.len() < text.len() / 3);
            let mut inflater = Inflater::new(bits);
            let mut out = vec![0; 4096];
            let mut message = Vec::new();
            for input in [&payload[..], &talkback_ws::DEFLATE_TAIL[..]] {
                let talkback_ws::Inflated { written: n, error, .. } = inflater.inflate(input, &mut out);
                assert_eq!(error, None);
                message.extend_from_slice(&out[..n]);
            }
            assert_eq!(message, text.as_bytes());
        }
        assert!(first.get(12).is_none());
        windows.count(10, false);
        assert_eq!(windows.in_use().collect::<Vec<_>>(), [15]);
        assert!(compressors.compress("short", windows.in_use()).get(15).is_none(), "under the threshold");
    }
}
