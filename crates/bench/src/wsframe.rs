//! The client side of RFC 6455, lean enough for a load generator: one fixed handshake key,
//! one fixed masking key (RFC 6455 §5.3 wants it unpredictable; a benchmark does not need
//! that), frames masked once ahead of time, and a streaming parser that checks each echoed
//! byte against what was sent without buffering whole messages.
//!
//! Every payload starts with its sequence number as 16 hex digits, so a lost, duplicated or
//! reordered echo is caught, not just a corrupted one. The rest is a fixed filler.

/// RFC 6455 §1.3's sample `Sec-WebSocket-Key`.
pub const KEY: &str = "dGhlIHNhbXBsZSBub25jZQ==";
/// RFC 6455 §1.3's `Sec-WebSocket-Accept` for [`KEY`].
pub const ACCEPT: &str = "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=";
/// The masking key used for every frame (RFC 6455 §5.7's example key).
pub const MASK: [u8; 4] = [0x37, 0xfa, 0x21, 0x3d];
/// Bytes of the payload that carry the sequence number.
pub const SEQ_LEN: usize = 16;
/// Largest variable frame prefix: 14 header bytes + the sequence digits.
pub const HEAD_MAX: usize = 14 + SEQ_LEN;

/// Text frame opcode (RFC 6455 §5.2).
pub const OP_TEXT: u8 = 0x1;
/// Binary frame opcode.
pub const OP_BINARY: u8 = 0x2;
const OP_CONT: u8 = 0x0;
const OP_CLOSE: u8 = 0x8;

/// The opening handshake request for `path` on `host`.
pub fn handshake_request(host: &str, path: &str) -> Vec<u8> {
    format!(
        "GET {path} HTTP/1.1\r\nHost: {host}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
         Sec-WebSocket-Key: {KEY}\r\nSec-WebSocket-Version: 13\r\n\r\n"
    )
    .into_bytes()
}

/// Checks a complete response head (through the blank line): 101 and the right accept.
pub fn check_handshake(head: &[u8]) -> Result<(), String> {
    let text = String::from_utf8_lossy(head);
    let mut lines = text.split("\r\n");
    let status = lines.next().unwrap_or_default();
    if !status.starts_with("HTTP/1.1 101") {
        return Err(format!("handshake answered {status:?}"));
    }
    let accept = lines
        .filter_map(|l| l.split_once(':'))
        .find(|(k, _)| k.trim().eq_ignore_ascii_case("sec-websocket-accept"))
        .map(|(_, v)| v.trim());
    match accept {
        Some(ACCEPT) => Ok(()),
        other => Err(format!("bad Sec-WebSocket-Accept {other:?}")),
    }
}

fn seq_digits(seq: u64) -> [u8; SEQ_LEN] {
    // Two per message (sent, then checked): sixteen table lookups each showed up in the load
    // generator's profile, so the nibbles are spread into the bytes of a u128 and turned into
    // ASCII all at once (the byte-wise version is the test's reference).
    const LOW: u128 = u128::from_ne_bytes([0x01; 16]);
    let mut x = u128::from(seq);
    x = (x | (x << 32)) & 0x0000_0000_ffff_ffff_0000_0000_ffff_ffff;
    x = (x | (x << 16)) & 0x0000_ffff_0000_ffff_0000_ffff_0000_ffff;
    x = (x | (x << 8)) & 0x00ff_00ff_00ff_00ff_00ff_00ff_00ff_00ff;
    x = (x | (x << 4)) & (LOW * 0x0f);
    // Each byte is now one nibble n: '0' + n, plus ('a' - '0' - 10) where n > 9.
    let above_nine = ((x + LOW * 6) >> 4) & LOW;
    (x + LOW * b'0' as u128 + above_nine * 0x27).to_be_bytes()
}

/// The sequence digits as they go on the wire: masked, all 16 at once (the payload starts on
/// a multiple of 4, so the key repeats from its first byte).
fn masked_digits(seq: u64) -> [u8; SEQ_LEN] {
    const KEY: u128 = u128::from_ne_bytes([
        MASK[0], MASK[1], MASK[2], MASK[3], MASK[0], MASK[1], MASK[2], MASK[3], //
        MASK[0], MASK[1], MASK[2], MASK[3], MASK[0], MASK[1], MASK[2], MASK[3],
    ]);
    (u128::from_ne_bytes(seq_digits(seq)) ^ KEY).to_ne_bytes()
}

/// One message shape (opcode, size), pre-masked: a frame for sequence number `n` is
/// `head(n)` (header + masked digits) followed by the constant `tail()`.
#[derive(Debug, Clone)]
pub struct ClientFrames {
    opcode: u8,
    header_len: usize,
    /// The whole masked frame for sequence 0.
    frame: Vec<u8>,
    /// The unmasked payload for sequence 0 (digits then filler).
    plain: Vec<u8>,
}

impl ClientFrames {
    /// Frames of `size` payload bytes (at least [`SEQ_LEN`]) with `opcode` text or binary.
    pub fn new(opcode: u8, size: usize) -> Self {
        assert!(size >= SEQ_LEN, "payload must hold the sequence number");
        let filler = b"abcdefghijklmnopqrstuvwxyz0123456789-_ABCDEFGHIJKLMNOPQRSTUVWXYZ";
        let mut plain = seq_digits(0).to_vec();
        plain.extend((0..size - SEQ_LEN).map(|i| filler[i % filler.len()]));
        let mut frame = vec![0x80 | opcode];
        match size {
            0..=125 => frame.push(0x80 | size as u8),
            126..=0xffff => {
                frame.push(0x80 | 126);
                frame.extend((size as u16).to_be_bytes());
            }
            _ => {
                frame.push(0x80 | 127);
                frame.extend((size as u64).to_be_bytes());
            }
        }
        frame.extend(MASK);
        let header_len = frame.len();
        frame.extend(plain.iter().enumerate().map(|(i, b)| b ^ MASK[i % 4]));
        Self { opcode, header_len, frame, plain }
    }

    /// The opcode every frame carries.
    pub fn opcode(&self) -> u8 {
        self.opcode
    }

    /// Payload bytes per message.
    pub fn payload_len(&self) -> usize {
        self.plain.len()
    }

    /// Bytes per frame on the wire.
    pub fn frame_len(&self) -> usize {
        self.frame.len()
    }

    /// Length of the variable prefix written by [`ClientFrames::head`].
    pub fn head_len(&self) -> usize {
        self.header_len + SEQ_LEN
    }

    /// Writes the variable prefix of frame `seq` into `out`, returning its length.
    pub fn head(&self, seq: u64, out: &mut [u8; HEAD_MAX]) -> usize {
        let n = self.head_len();
        out[..self.header_len].copy_from_slice(&self.frame[..self.header_len]);
        out[self.header_len..n].copy_from_slice(&masked_digits(seq));
        n
    }

    /// Appends the whole frame for `seq` to `out`: the frame for 0 with its digits replaced.
    pub fn push_frame(&self, seq: u64, out: &mut Vec<u8>) {
        let at = out.len() + self.header_len;
        out.extend_from_slice(&self.frame);
        out[at..at + SEQ_LEN].copy_from_slice(&masked_digits(seq));
    }

    /// The constant remainder of every frame.
    pub fn tail(&self) -> &[u8] {
        &self.frame[self.head_len()..]
    }

    /// The whole frame for `seq`, in one buffer (for tests and one-off sends).
    pub fn frame(&self, seq: u64) -> Vec<u8> {
        let mut head = [0u8; HEAD_MAX];
        let n = self.head(seq, &mut head);
        let mut out = head[..n].to_vec();
        out.extend_from_slice(self.tail());
        out
    }

    /// True if `chunk`, found at `offset` in the echo of message `seq`, is what was sent.
    pub fn matches(&self, seq: u64, offset: usize, chunk: &[u8]) -> bool {
        let end = offset + chunk.len();
        if end > self.plain.len() {
            return false;
        }
        if offset >= SEQ_LEN {
            return chunk == &self.plain[offset..end];
        }
        let digits = seq_digits(seq);
        if offset == 0
            && let Some((head, rest)) = chunk.split_first_chunk::<SEQ_LEN>()
        {
            // The usual case, a whole echo in one piece: the digits as one 128-bit compare.
            return u128::from_ne_bytes(*head) == u128::from_ne_bytes(digits) && rest == &self.plain[SEQ_LEN..end];
        }
        let split = (SEQ_LEN - offset).min(chunk.len());
        chunk[..split] == digits[offset..offset + split]
            && (end <= SEQ_LEN || chunk[split..] == self.plain[SEQ_LEN..end])
    }
}

/// What the parser reports to its caller.
#[derive(Debug, PartialEq, Eq)]
pub enum Echo<'a> {
    /// Payload bytes at `offset` within the current data message.
    Chunk {
        /// Offset within the message.
        offset: usize,
        /// The bytes.
        bytes: &'a [u8],
    },
    /// The current data message ended after `len` bytes; `opcode` is its first frame's.
    End {
        /// Opcode of the message.
        opcode: u8,
        /// Total payload length.
        len: usize,
    },
}

/// Streaming parser for unmasked server frames. Control frames are skipped (a close is an
/// error: an echo server has no reason to close a healthy connection).
#[derive(Debug, Default)]
pub struct ServerFrames {
    header: [u8; 10],
    have: usize,
    /// Payload bytes left in the current frame, when inside one.
    remaining: Option<u64>,
    fin: bool,
    control: bool,
    msg_opcode: u8,
    msg_len: usize,
}

impl ServerFrames {
    /// True between frames (no header or payload half received).
    pub fn at_frame_boundary(&self) -> bool {
        self.remaining.is_none() && self.have == 0
    }

    /// Feeds received bytes; calls `out` for each chunk and message end.
    pub fn feed(&mut self, mut data: &[u8], out: &mut impl FnMut(Echo<'_>)) -> Result<(), String> {
        while !data.is_empty() {
            match self.remaining {
                None => data = self.feed_header(data, out)?,
                Some(left) => {
                    let take = (left.min(data.len() as u64)) as usize;
                    if !self.control {
                        out(Echo::Chunk { offset: self.msg_len, bytes: &data[..take] });
                        self.msg_len += take;
                    }
                    data = &data[take..];
                    self.remaining = Some(left - take as u64);
                    self.finish_frame_if_done(out);
                }
            }
        }
        Ok(())
    }

    fn feed_header<'d>(&mut self, data: &'d [u8], out: &mut impl FnMut(Echo<'_>)) -> Result<&'d [u8], String> {
        let need = |h: &[u8], have: usize| -> usize {
            if have < 2 {
                return 2;
            }
            match h[1] & 0x7f {
                126 => 4,
                127 => 10,
                _ => 2,
            }
        };
        let mut data = data;
        while self.have < need(&self.header, self.have) {
            let Some((&b, rest)) = data.split_first() else { return Ok(data) };
            self.header[self.have] = b;
            self.have += 1;
            data = rest;
        }
        let (b0, b1) = (self.header[0], self.header[1]);
        if b1 & 0x80 != 0 {
            return Err("server frame is masked (RFC 6455 §5.1)".into());
        }
        let len = match b1 & 0x7f {
            126 => u64::from(u16::from_be_bytes([self.header[2], self.header[3]])),
            127 => u64::from_be_bytes(self.header[2..10].try_into().unwrap_or_default()),
            n => u64::from(n),
        };
        let opcode = b0 & 0x0f;
        self.fin = b0 & 0x80 != 0;
        self.control = opcode >= 0x8;
        if opcode == OP_CLOSE {
            return Err("server sent a close frame".into());
        }
        if !self.control && opcode != OP_CONT {
            self.msg_opcode = opcode;
            self.msg_len = 0;
        }
        self.have = 0;
        self.remaining = Some(len);
        self.finish_frame_if_done(out);
        Ok(data)
    }

    fn finish_frame_if_done(&mut self, out: &mut impl FnMut(Echo<'_>)) {
        if self.remaining != Some(0) {
            return;
        }
        self.remaining = None;
        if !self.control && self.fin {
            out(Echo::End { opcode: self.msg_opcode, len: self.msg_len });
        }
    }
}

/// A server frame as an echo server would send it (for tests).
pub fn server_frame(opcode: u8, payload: &[u8]) -> Vec<u8> {
    let mut f = vec![0x80 | opcode];
    match payload.len() {
        n @ 0..=125 => f.push(n as u8),
        n @ 126..=0xffff => {
            f.push(126);
            f.extend((n as u16).to_be_bytes());
        }
        n => {
            f.push(127);
            f.extend((n as u64).to_be_bytes());
        }
    }
    f.extend_from_slice(payload);
    f
}

#[cfg(test)]
mod tests {
    use super::*;

    fn unmask(frame: &[u8], header_len: usize) -> Vec<u8> {
        frame[header_len..].iter().enumerate().map(|(i, b)| b ^ MASK[i % 4]).collect()
    }

    #[test]
    fn frames_round_trip_every_split() {
        for size in [32usize, 200, 70_000] {
            let frames = ClientFrames::new(OP_BINARY, size);
            let plain = unmask(&frames.frame(7), frames.header_len);
            let mut wire = server_frame(OP_BINARY, &plain);
            wire.extend(server_frame(0x9, b"ping")); // skipped
            for split in [1, 2, 3, 11, wire.len() / 2, wire.len()] {
                let mut parser = ServerFrames::default();
                let (mut ok, mut ends) = (true, 0);
                let mut check = |e: Echo<'_>| match e {
                    Echo::Chunk { offset, bytes } => ok &= frames.matches(7, offset, bytes),
                    Echo::End { len, opcode } => {
                        ends += 1;
                        ok &= len == size && opcode == OP_BINARY;
                    }
                };
                for piece in wire.chunks(split) {
                    parser.feed(piece, &mut check).expect("valid");
                }
                assert!(ok && ends == 1, "size {size} split {split}");
            }
        }
    }

    #[test]
    fn sequence_digits_are_sixteen_lower_case_hex_digits() {
        let bytewise = |seq: u64| -> [u8; SEQ_LEN] {
            std::array::from_fn(|i| b"0123456789abcdef"[((seq >> (4 * (SEQ_LEN - 1 - i))) & 0xf) as usize])
        };
        for seq in [0, 1, 9, 10, 15, 16, 0xabcdef, 1 << 63, u64::MAX, 0x0123_4567_89ab_cdef] {
            assert_eq!(seq_digits(seq), bytewise(seq), "{seq:#x}");
        }
        for seq in (0..200_000u64).chain((0..64).map(|s| 3u64.pow(40) >> s)) {
            assert_eq!(seq_digits(seq), bytewise(seq), "{seq:#x}");
        }
    }

    #[test]
    fn wrong_sequence_is_caught() {
        let frames = ClientFrames::new(OP_TEXT, 32);
        let plain = unmask(&frames.frame(1), frames.header_len);
        assert!(frames.matches(1, 0, &plain));
        assert!(!frames.matches(2, 0, &plain));
        assert!(frames.matches(1, 10, &plain[10..20]));
        for i in 0..plain.len() {
            let mut corrupted = plain.clone();
            corrupted[i] ^= 1;
            assert!(!frames.matches(1, 0, &corrupted), "a flipped bit at byte {i} goes unnoticed");
        }
        assert!(frames.matches(1, 0, &plain[..SEQ_LEN]), "the digits alone, a message cut short after them");
        assert!(!frames.matches(1, 0, &[plain.clone(), b"x".to_vec()].concat()), "one byte too many");
    }

    #[test]
    fn rfc6455_1_3_accept_checked() {
        let ok = format!("HTTP/1.1 101 Switching Protocols\r\nSec-WebSocket-Accept: {ACCEPT}\r\n\r\n");
        assert!(check_handshake(ok.as_bytes()).is_ok());
        assert!(check_handshake(b"HTTP/1.1 426 Upgrade Required\r\n\r\n").is_err());
    }
}
