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

/// The zlib level a broadcast is compressed at: the best, as one compression serves every
/// subscriber — a byte saved is saved once per subscriber, the extra CPU is paid once per
/// publish (a connection compressing its own messages uses the fastest instead). Level 6 is
/// not quite zlib's 6 here: zlib-rs uses a quicker match search at levels 5–6, which made the
/// benchmark's 1 KiB message 22 bytes where zlib's 6 (and zlib-rs's 7–9) make 21; on 200 such
/// messages, each with a fresh compressor, 9 took ~20 µs a message against ~17 µs for 6.
pub const BROADCAST_LEVEL: u32 = 9;

/// A message's compressed payloads, one per window size some subscriber had when it was
/// published (usually one, or none): of the plain text, and of the rest of its `talkback.json`
/// element after `"data":"` (see [`json_body`]).
#[derive(Debug, Default)]
pub struct Deflated {
    text: Box<[(u8, Arc<[u8]>)]>,
    json_body: Box<[(u8, Arc<[u8]>)]>,
}

impl Deflated {
    /// The text compressed with a `window_bits` window, if it was made.
    pub fn get(&self, window_bits: u8) -> Option<&Arc<[u8]>> {
        self.text.iter().find(|(bits, _)| *bits == window_bits).map(|(_, payload)| payload)
    }

    /// The JSON element's body (the escaped text and `"}`) compressed with a `window_bits`
    /// window, if it was made: a frame's payload behind [`talkback_ws::stored_block`] of the element's head.
    pub fn json_body(&self, window_bits: u8) -> Option<&Arc<[u8]>> {
        self.json_body.iter().find(|(bits, _)| *bits == window_bits).map(|(_, payload)| payload)
    }

    /// How many payloads each of its (non-empty) lists holds: each list is one heap block.
    pub(super) fn list_lengths(&self) -> impl Iterator<Item = usize> + '_ {
        [self.text.len(), self.json_body.len()].into_iter().filter(|&n| n > 0)
    }

    /// Bytes each kept payload costs (as `Encoded::retained_bytes` counts blocks).
    pub(super) fn blocks(&self) -> impl Iterator<Item = usize> + '_ {
        self.text.iter().chain(self.json_body.iter()).map(|(_, payload)| payload.len())
    }
}

/// The end of a `talkback.json` element after its head `{"id":N,"data":"`: the text as a JSON
/// string without its opening quote, then `}` — what is the same for every id, so it can be
/// compressed before the channel's lock gives the message its id.
pub(super) fn json_body(text: &str) -> Vec<u8> {
    let mut body = Vec::with_capacity(text.len() + 8);
    talkback_longpoll::encode_json_string(text, &mut body);
    body.remove(0); // the opening quote is the head's
    body.push(b'}');
    body
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
    /// `text` compressed once for each window in `windows` (for plain-text subscribers), and
    /// its JSON element's body once for each window in `json_windows` (for `talkback.json`
    /// ones) — nothing when it is under the threshold.
    pub(super) fn compress(
        &mut self,
        text: &str,
        windows: impl Iterator<Item = u8>,
        json_windows: impl Iterator<Item = u8>,
    ) -> Deflated {
        if text.len() < self.threshold {
            return Deflated::default();
        }
        let text_forms = windows.map(|bits| (bits, self.compress_one(bits, text.as_bytes()))).collect();
        let mut json_windows = json_windows.peekable();
        let body = json_windows.peek().is_some().then(|| json_body(text));
        let json_forms = json_windows.map(|bits| (bits, self.compress_one(bits, body.as_deref().unwrap_or_default())));
        let json_body = json_forms.collect();
        if self.out.capacity() > 64 * 1024 {
            self.out = Vec::new();
        }
        Deflated { text: text_forms, json_body }
    }

    /// `bytes` compressed with this loop's `bits`-window compressor, reset after (§7.2.1, the
    /// tail removed).
    fn compress_one(&mut self, bits: u8, bytes: &[u8]) -> Arc<[u8]> {
        let slot = &mut self.deflaters[usize::from(bits - MIN_WINDOW_BITS)];
        let deflater = slot.get_or_insert_with(|| Deflater::new(bits, BROADCAST_LEVEL));
        self.out.clear();
        deflater.compress(bytes, &mut self.out, true);
        Arc::from(&self.out[..])
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
        let first = compressors.compress(&text, windows.in_use(), std::iter::empty());
        let second = compressors.compress(&text, windows.in_use(), std::iter::empty());
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
        assert!(
            compressors.compress("short", windows.in_use(), windows.in_use()).get(15).is_none(),
            "under the threshold"
        );
    }

    /// The benchmark's message (`push-load`: sequence, nanoseconds, `x` padding to 1 KiB) is
    /// compressed to 21 bytes by zlib at its default level 6, what Nchan sends (checked with
    /// Python's `zlib.compressobj(6, DEFLATED, -15)` and a sync flush, tail removed); zlib-rs
    /// at 6 makes 22. A broadcast must be no longer than zlib's 6, as it is sent to everyone.
    #[test]
    fn rfc7692_7_2_1_a_broadcast_is_no_longer_than_zlib_level_6_makes_it() {
        let windows = Windows::default();
        windows.count(15, true);
        let mut text = String::from("1 123456789");
        while text.len() < 1024 {
            text.push('x');
        }
        let compressed = Compressors::default().compress(&text, windows.in_use(), std::iter::empty());
        let payload = compressed.get(15).unwrap();
        assert!(payload.len() <= 21, "{} bytes: {payload:02x?}", payload.len());
    }
}
