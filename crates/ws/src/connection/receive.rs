//! The receive transitions, all in one place:
//!
//! ```text
//! ExpectFrameHeader --header ok, len > 0--> ExpectPayload --last byte--> ExpectFrameHeader
//!        |  \--header ok, len = 0--> (frame done) --> ExpectFrameHeader
//!        \--rule broken--> Err(Error)         ExpectPayload --bad UTF-8--> Err(InvalidUtf8)
//! ```
//!
//! Every rule that depends on the role or on the message in progress is in `check_header`.
//! One shortcut skips the middle: a small whole frame (under 126 bytes, unfragmented, all in
//! the read) goes from `ExpectFrameHeader` to a finished message in one step
//! (`small_whole_frame`), its rules checked on its first two bytes.

use super::{Connection, Event, Partial, Phase, Read, Role};
use crate::frame::{FrameHeader, MAX_HEADER_LEN, OpCode, apply_mask};
use crate::{CloseFrame, Error};

impl Connection {
    /// `ExpectFrameHeader`: decodes a header from `input` (plus any bytes held from an earlier
    /// read), checks it, and starts the frame. Returns the bytes of `input` used.
    pub(super) fn read_header(&mut self, input: &[u8]) -> Result<usize, Error> {
        let (header, used) = if self.header_len == 0 {
            match FrameHeader::decode(input)? {
                Some(decoded) => decoded,
                None => {
                    let n = input.len().min(MAX_HEADER_LEN);
                    self.header_buf[..n].copy_from_slice(&input[..n]);
                    self.header_len = n;
                    return Ok(n);
                }
            }
        } else {
            let held = self.header_len;
            let take = (MAX_HEADER_LEN - held).min(input.len());
            self.header_buf[held..held + take].copy_from_slice(&input[..take]);
            match FrameHeader::decode(&self.header_buf[..held + take])? {
                Some((header, len)) => {
                    self.header_len = 0;
                    (header, len - held)
                }
                None => {
                    self.header_len = held + take;
                    return Ok(take);
                }
            }
        };
        let compressed = self.check_header(&header)?;
        if !header.opcode.is_control() {
            self.large_frames = header.payload_len >= super::DIRECT_PAYLOAD_MIN as u64;
            self.inflating = compressed;
            if header.opcode != OpCode::Continuation {
                self.compressed_in = 0;
            }
            if compressed {
                self.compressed_in += header.payload_len;
            }
        }
        if let Some(log) = &mut self.log {
            log.begin_in(header);
        }
        if header.payload_len == 0 {
            self.read = Read::ExpectFrameHeader;
            self.finish_frame(header)?;
        } else {
            self.read = Read::ExpectPayload { header, received: 0 };
        }
        Ok(used)
    }

    /// Every header rule that is not pure syntax (§5.1, §5.2, §5.4, §5.5, §10.4; RFC 7692 §6.1
    /// for RSV1). Returns whether the frame's message is compressed.
    fn check_header(&self, h: &FrameHeader) -> Result<bool, Error> {
        let compressed = self.check_rsv(h)?;
        match (self.role, h.mask.is_some()) {
            (Role::Server, false) => return Err(Error::UnmaskedClientFrame),
            (Role::Client, true) => return Err(Error::MaskedServerFrame),
            _ => {}
        }
        if h.opcode.is_control() {
            if !h.fin {
                return Err(Error::FragmentedControlFrame);
            }
            if h.payload_len > 125 {
                return Err(Error::ControlFrameTooLong);
            }
            return Ok(false);
        }
        match (h.opcode, self.partial) {
            (OpCode::Continuation, None) => return Err(Error::ContinuationWithoutStart),
            (OpCode::Text | OpCode::Binary, Some(_)) => {
                return Err(Error::MessageStartWhileFragmented);
            }
            _ => {}
        }
        if h.payload_len > self.config.max_frame_size as u64 {
            return Err(Error::FrameTooLarge);
        }
        // A compressed message's limit is on what it inflates to (checked as it inflates),
        // and on its compressed bytes here; a new message holds nothing yet.
        let held = match (self.partial, compressed) {
            (None, _) => 0,
            (Some(_), true) => self.compressed_in as usize,
            (Some(Partial::Text), false) => self.text.len(),
            (Some(Partial::Binary), false) => self.binary.len(),
        };
        if held as u64 + h.payload_len > self.config.max_message_size as u64 {
            return Err(Error::MessageTooLarge);
        }
        Ok(compressed)
    }

    /// `ExpectPayload`: consumes as much of the frame's payload as `input` holds.
    pub(super) fn read_payload(&mut self, header: FrameHeader, received: u64, input: &[u8]) -> Result<usize, Error> {
        let remaining = header.payload_len - received;
        let n = remaining.min(input.len() as u64) as usize;
        let chunk = &input[..n];
        let offset = received as usize;
        let key = header.mask.unwrap_or([0; 4]);
        let done = n as u64 == remaining;
        let ignoring = self.phase != Phase::Open;
        match header.opcode {
            op if op.is_control() => {
                let piece = &mut self.control[offset..offset + n];
                piece.copy_from_slice(chunk);
                apply_mask(piece, key, offset);
                if let Some(log) = &mut self.log {
                    log.payload_in(piece);
                }
            }
            _ if ignoring => {}
            _ if self.inflating => self.inflate_piece(header, chunk, offset)?,
            OpCode::Text if received == 0 && done && header.fin => {
                return self.whole_message(header, chunk, n);
            }
            OpCode::Binary if received == 0 && done && header.fin => {
                return self.whole_message(header, chunk, n);
            }
            OpCode::Text => self.text_piece(chunk, key, offset)?,
            OpCode::Continuation if self.partial == Some(Partial::Text) => {
                self.text_piece(chunk, key, offset)?;
            }
            _ => {
                if received == 0 {
                    self.reserve_binary(header.payload_len as usize);
                }
                let start = self.binary.len();
                self.binary.extend_from_slice(chunk);
                apply_mask(&mut self.binary[start..], key, offset);
                if let Some(log) = &mut self.log {
                    log.payload_in(&self.binary[start..]);
                }
            }
        }
        if done {
            self.read = Read::ExpectFrameHeader;
            self.finish_frame(header)?;
        } else {
            self.read = Read::ExpectPayload { header, received: received + n as u64 };
        }
        Ok(n)
    }

    /// A binary frame is about to stream in over several reads: make room for all of it at
    /// once (its length was checked against the limits already), in a lent spare buffer when
    /// the message is just starting, so a large message costs no allocation and no regrowth.
    pub(super) fn reserve_binary(&mut self, payload_len: usize) {
        if self.binary.is_empty()
            && let Some(spare) = self.spares.pop()
        {
            self.binary = spare;
            self.binary.clear();
        }
        self.binary.reserve(payload_len);
    }

    /// The fast path: an unfragmented message whose whole payload is in one read. One copy
    /// (into the message's own buffer), unmasked in place, validated once.
    fn whole_message(&mut self, h: FrameHeader, chunk: &[u8], n: usize) -> Result<usize, Error> {
        let mut data = self.spares.pop().unwrap_or_default();
        data.clear();
        data.extend_from_slice(chunk);
        apply_mask(&mut data, h.mask.unwrap_or([0; 4]), 0);
        if let Some(log) = &mut self.log {
            log.payload_in(&data);
            log.end_in();
        }
        let event = if h.opcode == OpCode::Text {
            Event::Text(String::from_utf8(data).map_err(|_| Error::InvalidUtf8)?)
        } else {
            Event::Binary(data)
        };
        self.events.push_back(event);
        self.read = Read::ExpectFrameHeader;
        Ok(n)
    }

    /// Fast path (*a small whole frame*): between frames, with no message in progress, a
    /// [`SmallFrame`] — an unfragmented text or binary frame under 126 bytes, all in `input`:
    /// a chat message, an echo's — skips the header and payload states (`read_header`,
    /// `read_payload`). Returns what the usual path would (the bytes used, or `InvalidUtf8`,
    /// §8.1), or `None` to take it: any other frame, one split across reads, a compressed
    /// one, the connection closing, or tracing on (whose log the usual path writes). With
    /// `lend` and no event waiting, the message goes to `lend` instead of the event queue
    /// (`Connection::handle_bytes_lending`).
    pub(super) fn small_whole_frame(
        &mut self,
        input: &[u8],
        lend: Option<&mut impl FnMut(OpCode, &[u8])>,
    ) -> Option<Result<usize, Error>> {
        if self.header_len != 0 || self.partial.is_some() || self.phase != Phase::Open || self.log.is_some() {
            return None;
        }
        let frame = SmallFrame::at_start_of(input, self.role, &self.config)?;
        // What `read_header` notes of every first data frame.
        self.large_frames = false;
        self.inflating = false;
        self.compressed_in = 0;
        match lend {
            Some(on_message) if self.events.is_empty() => {
                self.scratch.clear();
                self.scratch.extend_from_slice(frame.payload);
                apply_mask(&mut self.scratch, frame.mask.unwrap_or([0; 4]), 0);
                // Lent as bytes, so only checked (§8.1): ASCII, most text, is checked a word at a time.
                if frame.opcode == OpCode::Text && !is_utf8(&self.scratch) {
                    return Some(Err(Error::InvalidUtf8));
                }
                on_message(frame.opcode, &self.scratch);
                Some(Ok(frame.len))
            }
            _ => {
                let header = FrameHeader {
                    fin: true,
                    rsv: 0,
                    opcode: frame.opcode,
                    mask: frame.mask,
                    payload_len: frame.payload.len() as u64,
                };
                Some(self.whole_message(header, frame.payload, frame.len))
            }
        }
    }

    /// Unmasks a piece of text payload into `scratch` and validates it at once (§8.1).
    fn text_piece(&mut self, chunk: &[u8], key: [u8; 4], offset: usize) -> Result<(), Error> {
        self.scratch.clear();
        self.scratch.extend_from_slice(chunk);
        apply_mask(&mut self.scratch, key, offset);
        if let Some(log) = &mut self.log {
            log.payload_in(&self.scratch);
        }
        self.text.push(&self.scratch)
    }

    /// The last payload byte of a frame arrived (or it had none): update the message state
    /// (§5.4) or act on the control frame (§5.5).
    pub(super) fn finish_frame(&mut self, h: FrameHeader) -> Result<(), Error> {
        if h.fin && self.inflating && !h.opcode.is_control() {
            if self.phase == Phase::Open {
                self.finish_inflating(h)?;
            } else {
                self.inflating = false;
            }
        }
        if let Some(log) = &mut self.log {
            log.end_in();
        }
        match h.opcode {
            OpCode::Close => return self.on_close(h.payload_len as usize),
            OpCode::Ping | OpCode::Pong => {
                let payload = self.control[..h.payload_len as usize].to_vec();
                self.on_ping_pong(h.opcode, payload);
                return Ok(());
            }
            OpCode::Text => self.partial = Some(Partial::Text),
            OpCode::Binary => self.partial = Some(Partial::Binary),
            OpCode::Continuation => {}
        }
        if !h.fin {
            return Ok(());
        }
        let kind = self.partial.take();
        if self.phase != Phase::Open {
            self.text.clear();
            self.binary.clear();
            return Ok(());
        }
        let event = match kind {
            Some(Partial::Text) => Event::Text(self.text.finish()?),
            _ => Event::Binary(std::mem::take(&mut self.binary)),
        };
        self.events.push_back(event);
        Ok(())
    }

    /// A ping is answered with a pong echoing its payload (§5.5.2), unless we already sent
    /// our close (§5.5.1: nothing after a close). A pong needs no answer (§5.5.3).
    fn on_ping_pong(&mut self, opcode: OpCode, payload: Vec<u8>) {
        if self.phase != Phase::Open {
            return;
        }
        if opcode == OpCode::Ping {
            self.queue_frame(OpCode::Pong, &payload);
            self.events.push_back(Event::Ping(payload));
        } else {
            self.events.push_back(Event::Pong(payload));
        }
    }

    /// The peer's close (§5.5.1, §7.1.2): validate it. If we sent ours already the handshake
    /// is done; otherwise the echo (its code, or an empty close for an empty one) is queued
    /// when the application polls this `Event::Close`.
    fn on_close(&mut self, len: usize) -> Result<(), Error> {
        let frame = CloseFrame::decode(&self.control[..len])?;
        self.phase = match self.phase {
            Phase::Open => Phase::CloseReceived { echo: frame.as_ref().map(|f| f.code) },
            _ => Phase::Closed,
        };
        self.partial = None;
        self.text.clear();
        self.binary.clear();
        self.inflating = false;
        self.events.push_back(Event::Close(frame));
        Ok(())
    }
}

/// A small whole data frame at the start of some input (see `Connection::small_whole_frame`):
/// unfragmented text or binary, no RSV bit, a 7-bit length (< 126 bytes) within the limits,
/// masked as its direction needs (§5.1), its payload all there — still masked.
pub(super) struct SmallFrame<'a> {
    pub(super) opcode: OpCode,
    pub(super) mask: Option<[u8; 4]>,
    pub(super) payload: &'a [u8],
    /// Header and payload: the bytes of the input the frame takes.
    pub(super) len: usize,
}

impl<'a> SmallFrame<'a> {
    /// The frame `input` starts with, if it is one (any other frame, or one not all in
    /// `input`, is for the usual path). Every rule the usual path (`FrameHeader::decode`,
    /// `check_header`) checks one by one comes down to a few bit tests on two bytes.
    pub(super) fn at_start_of(input: &'a [u8], role: Role, config: &super::Config) -> Option<SmallFrame<'a>> {
        let [b0, b1, ..] = *input else { return None };
        let opcode = match b0 {
            0x81 => OpCode::Text, // FIN, no RSV, text
            0x82 => OpCode::Binary,
            _ => return None,
        };
        let masked = b1 & 0x80 != 0;
        let payload_len = usize::from(b1 & 0x7F);
        let key_len = if masked { 4 } else { 0 };
        let len = 2 + key_len + payload_len;
        if payload_len >= 126
            || masked != (role == Role::Server)
            || input.len() < len
            || payload_len > config.max_frame_size.min(config.max_message_size)
        {
            return None;
        }
        let mask = masked.then(|| [input[2], input[3], input[4], input[5]]);
        Some(SmallFrame { opcode, mask, payload: &input[2 + key_len..len], len })
    }
}

/// §8.1 for a whole text message held in one piece: ASCII, most text, is checked a word at a
/// time before the full UTF-8 check.
pub(super) fn is_utf8(bytes: &[u8]) -> bool {
    bytes.is_ascii() || std::str::from_utf8(bytes).is_ok()
}
