//! Receiving a large binary payload straight into its message buffer.
//!
//! Normally the caller reads from the socket into a buffer of its own and hands the bytes to
//! `handle_bytes`, which copies each payload byte into the message being assembled. For a big
//! binary frame that copy can be skipped, because the header already said how many payload
//! bytes follow:
//!
//! ```text
//!  caller                                   Connection
//!    │ direct_payload() ──────────────────▶ ExpectPayload, binary, ≥ DIRECT_PAYLOAD_MIN left?
//!    │ ◀──────────── &mut [u8] (the message buffer's next `remaining` bytes)
//!    │ read(2) from the socket into it
//!    │ direct_payload_filled(n) ──────────▶ unmask those n bytes in place (§5.3), count them;
//!    │                                      the frame's last byte finishes it as usual (§5.4)
//! ```
//!
//! Text is not received this way: its UTF-8 is checked as it arrives (§8.1), which wants the
//! bytes to pass through the validator anyway.
//!
//! Large messages tend to come one after another, and a read that swallowed the next header
//! with the whole payload behind it would leave nothing to read directly. So the slice
//! reaches [`MAX_HEADER_LEN`] bytes past the payload's end: the read that finishes a payload
//! usually brings the next frame's header with it (those few bytes then go the ordinary
//! way), and the next payload is read directly again. When the header had not arrived yet,
//! it is read on its own (at most 14 bytes, into `header_buf`).

use std::time::Instant;

use super::{Connection, Partial, Phase, Read};
use crate::Error;
use crate::frame::{MAX_HEADER_LEN, OpCode, apply_mask};

/// What the slice handed out by `direct_payload` is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Direct {
    /// The free end of `header_buf`: the next frame's header, read on its own.
    Header,
    /// The rest of a binary payload, from `start` in `binary` to its end.
    Payload {
        /// Where the unfilled part begins.
        start: usize,
    },
}

/// Payload still to come below which the normal path is used: for a few bytes the copy costs
/// less than preparing the buffer.
pub const DIRECT_PAYLOAD_MIN: usize = 16 * 1024;

impl Connection {
    /// Where the next received bytes belong, if they can be read straight in: inside a binary
    /// frame's payload with at least [`DIRECT_PAYLOAD_MIN`] bytes left, the rest of that
    /// payload in the message buffer and room for the next frame's header after it; between
    /// frames right after a large one, the room for the next header (at most 14 bytes). Read
    /// into the slice's front and report how much arrived with
    /// [`Connection::direct_payload_filled`]. Asking twice without filling returns the same
    /// slice. Bytes given to `handle_bytes` instead are fine too: the unfilled slice is simply
    /// taken back.
    pub fn direct_payload(&mut self) -> Option<&mut [u8]> {
        if self.direct.is_none() {
            // A compressed payload goes through the inflater, never straight into the message.
            if self.phase != Phase::Open || self.error.is_some() || self.inflating {
                return None;
            }
            if self.read == Read::ExpectFrameHeader {
                if !self.large_frames {
                    return None;
                }
                self.direct = Some(Direct::Header);
                return Some(&mut self.header_buf[self.header_len..]);
            }
            let Read::ExpectPayload { header, received } = self.read else { return None };
            let binary = match header.opcode {
                OpCode::Binary => true,
                OpCode::Continuation => self.partial == Some(Partial::Binary),
                _ => false,
            };
            let remaining = (header.payload_len - received) as usize;
            if !binary || remaining < DIRECT_PAYLOAD_MIN {
                return None;
            }
            // `remaining` was checked against the frame and message limits with the header.
            let start = if received == 0 && self.binary.is_empty() {
                // A new message, into a spare buffer *as it is*: its old bytes are overwritten
                // by the read, so only a part it lacks needs zeroing (for a run of same-sized
                // messages, none). They are never seen: an unfilled slice is cut off again.
                // Spares of small messages sit beside large ones: a long enough one first.
                let long_enough = self.spares.iter().rposition(|spare| spare.len() >= remaining);
                if let Some(at) = long_enough.or(self.spares.len().checked_sub(1)) {
                    self.binary = self.spares.swap_remove(at);
                }
                self.binary.truncate(remaining);
                0
            } else {
                self.binary.len()
            };
            // The look-ahead past the payload: the next header, if it has arrived.
            let end = start + remaining + MAX_HEADER_LEN;
            self.binary.reserve(end.saturating_sub(self.binary.len()));
            self.binary.resize(end, 0);
            self.direct = Some(Direct::Payload { start });
        }
        match self.direct? {
            Direct::Header => Some(&mut self.header_buf[self.header_len..]),
            Direct::Payload { start } => Some(&mut self.binary[start..]),
        }
    }

    /// `n` bytes were written to the front of the slice [`Connection::direct_payload`]
    /// returned: unmask them and go on as `handle_bytes` would have (the next
    /// `direct_payload` offers the rest of the same slice). Returns the protocol
    /// error a finished message may raise (none today for binary, but the contract is the
    /// same as `handle_bytes`).
    pub fn direct_payload_filled(&mut self, n: usize, now: Instant) -> Result<(), Error> {
        self.now = now;
        let start = match self.direct.take() {
            Some(Direct::Payload { start }) => start,
            Some(Direct::Header) => {
                // The header bytes (and any held before) go the ordinary way: they are few.
                let filled = (self.header_len + n).min(MAX_HEADER_LEN);
                let bytes = self.header_buf;
                self.header_len = 0;
                return self.handle_bytes(&bytes[..filled], now).map(|_| ());
            }
            None => {
                debug_assert!(n == 0, "direct_payload_filled without direct_payload");
                return Ok(());
            }
        };
        let Read::ExpectPayload { header, received } = self.read else {
            self.binary.truncate(start);
            return Ok(());
        };
        let n = n.min(self.binary.len() - start);
        if n == 0 {
            self.direct = Some(Direct::Payload { start });
            return Ok(());
        }
        self.last_seen = now;
        self.pong_deadline = None;
        // Bytes past the payload's end are the next frame's: kept aside, the buffer cut back.
        let payload_n = n.min((header.payload_len - received) as usize);
        let mut ahead = [0u8; MAX_HEADER_LEN];
        let ahead_n = n - payload_n;
        ahead[..ahead_n].copy_from_slice(&self.binary[start + payload_n..start + n]);
        let piece = &mut self.binary[start..start + payload_n];
        apply_mask(piece, header.mask.unwrap_or([0; 4]), received as usize);
        if let Some(log) = &mut self.log {
            log.payload_in(piece);
        }
        let received = received + payload_n as u64;
        if received < header.payload_len {
            // The rest of the slice stays offered (already sized: no second zeroing).
            self.read = Read::ExpectPayload { header, received };
            self.direct = Some(Direct::Payload { start: start + payload_n });
            return Ok(());
        }
        self.binary.truncate(start + payload_n);
        self.read = Read::ExpectFrameHeader;
        self.finish_frame(header).inspect_err(|&err| self.error = Some(err))?;
        if ahead_n == 0 {
            return Ok(());
        }
        self.handle_bytes(&ahead[..ahead_n], now).map(|_| ())
    }

    /// Takes back a slice handed out by `direct_payload` and never filled.
    pub(super) fn end_direct(&mut self) {
        if let Some(Direct::Payload { start }) = self.direct.take() {
            self.binary.truncate(start);
        }
    }
}
