//! permessage-deflate on a connection ([RFC 7692 §6, §7.2](https://www.rfc-editor.org/rfc/rfc7692#section-6)):
//! which direction uses which agreed parameters, compressing what we send, and inflating what
//! the peer sends — bounded, as it arrives.
//!
//! ```text
//!  send:     message ──Deflater (our window; reset unless our context is kept)──▶ RSV1 frame
//!  receive:  RSV1 first frame ─┬─ payload ──unmask──▶ Inflater ──▶ 2 KiB at a time ──▶ limit
//!            continuations ────┘  FIN: + 00 00 ff ff ─┘            check, then UTF-8 / binary
//! ```
//!
//! The inflated size is what `max_message_size` limits (§8.1 warns of "decompression bombs"):
//! it is checked after every 2 KiB of output, so a small frame that inflates past the limit
//! fails with 1009 before more than the limit (plus one piece) is held. Text is validated as
//! it is inflated, so invalid UTF-8 fails at once (1007). Corrupt data is 1002.

use super::{Connection, Partial, Role};
use crate::Error;
use crate::deflate::{DEFLATE_TAIL, Deflater, Inflated, Inflater, MIN_WINDOW_BITS};
use crate::frame::{FrameHeader, OpCode, RSV1, apply_mask};

/// Inflated bytes are produced (and checked) this many at a time, into a piece on the stack
/// that is zeroed for every frame: small, so that a short message does not pay for clearing
/// room it never uses (8 KiB cost a hub subscriber's client ~8% of its time in `memset`).
const INFLATE_PIECE: usize = 2 * 1024;

/// One direction's share of the agreement.
struct Side {
    /// The compressor's window (2^bits).
    window_bits: u8,
    /// Reset after every message (no context takeover).
    reset: bool,
}

impl Connection {
    /// What we send with: the server's parameters for a server, the client's for a client.
    fn ours(&self) -> Option<Side> {
        let d = self.config.deflate?;
        Some(match self.role {
            Role::Server => Side { window_bits: d.server_max_window_bits, reset: d.server_no_context_takeover },
            Role::Client => Side { window_bits: d.client_max_window_bits, reset: d.client_no_context_takeover },
        })
    }

    /// What the peer sends with.
    fn theirs(&self) -> Option<Side> {
        let d = self.config.deflate?;
        Some(match self.role {
            Role::Server => Side { window_bits: d.client_max_window_bits, reset: d.client_no_context_takeover },
            Role::Client => Side { window_bits: d.server_max_window_bits, reset: d.server_no_context_takeover },
        })
    }

    /// permessage-deflate as negotiated for this connection, if it was.
    pub fn deflate(&self) -> Option<crate::Deflate> {
        self.config.deflate
    }

    /// Whether a message of `len` bytes goes out compressed: deflate was negotiated, the
    /// message reaches the threshold, and our window is one the compressor has (an 8-bit
    /// window cannot be made: those messages go uncompressed, which §6 allows).
    pub(super) fn compresses(&self, len: usize) -> bool {
        self.ours().is_some_and(|ours| ours.window_bits >= MIN_WINDOW_BITS) && len >= self.config.deflate_threshold
    }

    /// Compresses one message and queues it as one frame with RSV1 (§6.1, §7.2.1).
    pub(super) fn queue_compressed(&mut self, opcode: OpCode, payload: &[u8]) {
        let Some(ours) = self.ours() else { return self.queue_frame(opcode, payload) };
        let level = self.config.deflate_level;
        let deflater = self.deflater.get_or_insert_with(|| Box::new(Deflater::new(ours.window_bits, level)));
        let mut packed = std::mem::take(&mut self.packed);
        packed.clear();
        deflater.compress(payload, &mut packed, ours.reset);
        if ours.reset {
            self.deflater = None; // nothing to keep: the next message starts afresh
        }
        let header = self.encode_header(opcode, RSV1, &packed);
        if let Some(log) = &mut self.log {
            log.out_compressed(header, payload, &packed);
        }
        self.packed = packed;
    }

    /// Checks RSV bits against the agreement (RFC 6455 §5.2, RFC 7692 §6.1); returns whether
    /// this frame's message is compressed.
    pub(super) fn check_rsv(&self, h: &FrameHeader) -> Result<bool, Error> {
        let rsv1 = h.rsv & RSV1 != 0;
        if h.rsv & !RSV1 != 0 || (rsv1 && self.config.deflate.is_none()) {
            return Err(Error::ReservedBitsSet);
        }
        if rsv1 && h.opcode.is_control() {
            return Err(Error::CompressedControlFrame);
        }
        if rsv1 && h.opcode == OpCode::Continuation {
            return Err(Error::CompressedContinuation);
        }
        Ok(if h.opcode == OpCode::Continuation { self.inflating } else { rsv1 })
    }

    /// A compressed message's frame payload piece: unmask it, inflate it into the message.
    pub(super) fn inflate_piece(&mut self, h: FrameHeader, chunk: &[u8], offset: usize) -> Result<(), Error> {
        let mut scratch = std::mem::take(&mut self.scratch);
        scratch.clear();
        scratch.extend_from_slice(chunk);
        apply_mask(&mut scratch, h.mask.unwrap_or([0; 4]), offset);
        if let Some(log) = &mut self.log {
            log.deflated_in(&scratch);
        }
        let result = self.inflate_bytes(h, &scratch);
        self.scratch = scratch;
        result
    }

    /// The compressed message's last frame is in: inflate the tail §7.2.2 appends, and keep
    /// or drop the inflater per the peer's context takeover.
    pub(super) fn finish_inflating(&mut self, h: FrameHeader) -> Result<(), Error> {
        self.inflating = false;
        self.compressed_in = 0;
        self.inflate_bytes(h, &DEFLATE_TAIL)?;
        let reset = self.theirs().is_none_or(|theirs| theirs.reset);
        match &mut self.inflater {
            // A server drops it: a hub holds thousands of connections, most of which publish
            // rarely, and an idle one should hold no 40 KiB inflater. A client has a few
            // connections that receive every message: it resets its inflater and keeps it,
            // instead of building a new one (and its window) for each message.
            Some(_) if reset && self.role == Role::Server => self.inflater = None,
            Some(inflater) => inflater.end_message(reset),
            None => {}
        }
        Ok(())
    }

    /// Inflates `input` into the message in progress, [`INFLATE_PIECE`] bytes at a time,
    /// each piece checked against the message limit before it is kept.
    fn inflate_bytes(&mut self, h: FrameHeader, mut input: &[u8]) -> Result<(), Error> {
        let text =
            h.opcode == OpCode::Text || (h.opcode == OpCode::Continuation && self.partial == Some(Partial::Text));
        let window = self.theirs().map_or(crate::MAX_WINDOW_BITS, |theirs| theirs.window_bits);
        let mut piece = [0u8; INFLATE_PIECE];
        loop {
            let inflater = self.inflater.get_or_insert_with(|| Box::new(Inflater::new(window)));
            let Inflated { used, written, error } = inflater.inflate(input, &mut piece);
            input = &input[used..];
            if written > 0 {
                // What fits under the message limit is taken (and checked as UTF-8) before
                // the limit fails the rest: bytes are judged in the order they inflated, so the
                // close code does not depend on how the frames were split into reads.
                let held = if text { self.text.len() } else { self.binary.len() };
                let room = self.config.max_message_size.saturating_sub(held);
                let out = &piece[..written.min(room)];
                if let Some(log) = &mut self.log {
                    log.payload_in(out);
                    log.inflated_in(written);
                }
                if text {
                    self.text.push(out)?;
                } else {
                    if self.binary.is_empty()
                        && let Some(spare) = self.spares.pop()
                    {
                        self.binary = spare;
                        self.binary.clear();
                    }
                    self.binary.extend_from_slice(out);
                }
                if written > room {
                    return Err(Error::MessageTooLarge);
                }
            }
            // The bytes before corrupt data were checked above; now the corruption.
            if let Some(error) = error {
                return Err(error);
            }
            // Done when the input is used up and the inflater stopped short of the room.
            if (input.is_empty() && written < piece.len()) || (used == 0 && written == 0) {
                return Ok(());
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use std::time::Instant;

    use super::*;
    use crate::{Config, Deflate, Event};

    /// A server and a client with `deflate`; the client sends one compressed message, the
    /// server echoes it. Returns the server after that.
    fn after_one_message(deflate: Deflate) -> Connection {
        let now = Instant::now();
        let config = Config { deflate: Some(deflate), mask_seed: Some(1), ..Config::default() };
        let (mut client, mut server) =
            (Connection::new(Role::Client, config.clone(), now), Connection::new(Role::Server, config, now));
        client.send_text("a message long enough to be worth compressing, twice: a message long enough").unwrap();
        let mut wire = Vec::new();
        client.poll_transmit(&mut wire);
        server.handle_bytes(&wire, now).unwrap();
        let Some(Event::Text(text)) = server.poll_event() else { panic!("no message") };
        server.send_text(&text).unwrap();
        server
    }

    #[test]
    fn rfc7692_7_1_1_without_context_takeover_nothing_is_kept_between_messages() {
        let hub = Deflate { server_no_context_takeover: true, client_no_context_takeover: true, ..Deflate::default() };
        let server = after_one_message(hub);
        assert!(server.inflater.is_none() && server.deflater.is_none(), "no compressor, no inflater kept");
        let echo = after_one_message(Deflate::default());
        assert!(echo.inflater.is_some() && echo.deflater.is_some(), "context takeover keeps both windows");
    }

    #[test]
    fn rfc7692_7_1_1_a_client_resets_its_inflater_between_messages_and_keeps_it() {
        let hub = Deflate { server_no_context_takeover: true, client_no_context_takeover: true, ..Deflate::default() };
        let now = Instant::now();
        let config = Config { deflate: Some(hub), mask_seed: Some(1), ..Config::default() };
        let (mut client, mut server) =
            (Connection::new(Role::Client, config.clone(), now), Connection::new(Role::Server, config, now));
        let text = "the same words again and again, the same words again and again";
        for _ in 0..3 {
            server.send_text(text).unwrap();
            let mut wire = Vec::new();
            server.poll_transmit(&mut wire);
            assert_ne!(wire[0] & 0x40, 0, "RSV1: compressed (RFC 7692 §6)");
            client.handle_bytes(&wire, now).unwrap();
            assert_eq!(client.poll_event(), Some(Event::Text(text.into())), "each inflates on its own window");
            assert!(client.inflater.is_some(), "kept (reset), not rebuilt for the next message");
        }
    }
}
