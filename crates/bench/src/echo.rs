//! The per-connection engine of `ws-load`: keeps N echo requests in flight on one socket,
//! writes queued frames with one `writev`, and checks every echoed byte as it streams in.
//!
//! It is poll-style (the caller waits for readiness and calls [`Echoer::write`] /
//! [`Echoer::read`]), so one task drives one connection with no channels or locks between
//! a reader and a writer.

use std::io::{self, IoSlice};
use std::sync::Arc;
use std::time::Instant;

use crate::hist::Histogram;
use crate::wsframe::{ClientFrames, Echo, HEAD_MAX, ServerFrames};

/// What one connection measured.
#[derive(Debug, Default)]
pub struct Tally {
    /// Echoes received inside the measurement window.
    pub msgs: u64,
    /// Errors of any kind.
    pub errors: u64,
    /// Round-trip times of the counted echoes.
    pub latency: Histogram,
    /// The first error, for the log.
    pub first_error: Option<String>,
}

impl Tally {
    /// Counts an error, keeping the first message.
    pub fn error(&mut self, what: impl Into<String>) {
        self.errors += 1;
        self.first_error.get_or_insert_with(|| what.into());
    }

    /// Adds another connection's tally.
    pub fn merge(&mut self, other: Tally) {
        self.msgs += other.msgs;
        self.errors += other.errors;
        self.latency.merge(&other.latency);
        if self.first_error.is_none() {
            self.first_error = other.first_error;
        }
    }
}

/// Send and verify state of one echo connection.
pub struct Echoer {
    /// The message shape.
    pub frames: Arc<ClientFrames>,
    inflight: usize,
    /// Variable frame prefixes (large frames) and send times, indexed by `seq % inflight`.
    heads: Vec<([u8; HEAD_MAX], Instant)>,
    /// `next_send % inflight` and `next_recv % inflight`, kept without dividing.
    send_slot: usize,
    recv_slot: usize,
    next_send: u64,
    /// First frame not yet fully written, and how much of it is.
    write_seq: u64,
    write_off: usize,
    next_recv: u64,
    parser: ServerFrames,
    bad_chunk: bool,
    /// Where small frames are gathered for one write (reused).
    gather: Vec<u8>,
    /// Per read: whether each message that ended in it differed (reused).
    ends: Vec<bool>,
}

/// Frames up to this size are copied into one buffer per write instead of one iovec each.
const SMALL_FRAME: usize = 1024;

impl Echoer {
    /// Starts with nothing sent.
    pub fn new(frames: Arc<ClientFrames>, inflight: usize) -> Self {
        let now = Instant::now();
        Self {
            frames,
            inflight,
            heads: vec![([0; HEAD_MAX], now); inflight],
            send_slot: 0,
            recv_slot: 0,
            next_send: 0,
            write_seq: 0,
            write_off: 0,
            next_recv: 0,
            parser: ServerFrames::default(),
            bad_chunk: false,
            gather: Vec::new(),
            ends: Vec::new(),
        }
    }

    /// Messages sent (or queued) and not yet echoed.
    pub fn outstanding(&self) -> usize {
        (self.next_send - self.next_recv) as usize
    }

    /// True while queued frames are not fully written.
    pub fn write_pending(&self) -> bool {
        self.write_seq < self.next_send
    }

    /// Queues new frames up to `inflight` outstanding. Small frames are gathered whole into
    /// one buffer right away (the kernel walks one iovec instead of two per frame, which
    /// costs more than the copy).
    pub fn top_up(&mut self, now: Instant) {
        let small = self.frames.frame_len() <= SMALL_FRAME;
        while self.outstanding() < self.inflight {
            let slot = &mut self.heads[self.send_slot];
            if small {
                self.frames.push_frame(self.next_send, &mut self.gather);
            } else {
                self.frames.head(self.next_send, &mut slot.0);
            }
            slot.1 = now;
            self.send_slot = if self.send_slot + 1 == self.inflight { 0 } else { self.send_slot + 1 };
            self.next_send += 1;
        }
    }

    /// One `writev` (through `writev`, which is `try_write_vectored` or a non-blocking
    /// std socket's `write_vectored`) of every queued frame; partial writes resume where
    /// they stopped. WouldBlock is not an error.
    pub fn write(&mut self, writev: impl FnOnce(&[IoSlice<'_>]) -> io::Result<usize>) -> io::Result<()> {
        let frame_len = self.frames.frame_len();
        let small = frame_len <= SMALL_FRAME;
        let written = if small {
            // Whole frames wait in `gather`; the part already written is skipped.
            writev(&[IoSlice::new(&self.gather[self.gather_written()..])])
        } else {
            let head_len = self.frames.head_len();
            let tail = self.frames.tail();
            let mut slices: Vec<IoSlice<'_>> = Vec::with_capacity(2 * self.outstanding());
            for seq in self.write_seq..self.next_send {
                let head = &self.heads[(seq % self.inflight as u64) as usize].0[..head_len];
                let skip = if seq == self.write_seq { self.write_off } else { 0 };
                let pieces: [&[u8]; 2] =
                    if skip < head_len { [&head[skip..], tail] } else { [&tail[skip - head_len..], &[]] };
                slices.extend(pieces.into_iter().filter(|p| !p.is_empty()).map(IoSlice::new));
            }
            writev(&slices)
        };
        let mut n = match written {
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Ok(()),
            Err(e) => return Err(e),
        };
        while n > 0 {
            let left = frame_len - self.write_off;
            if n >= left {
                n -= left;
                self.write_seq += 1;
                self.write_off = 0;
            } else {
                self.write_off += n;
                n = 0;
            }
        }
        if small && !self.write_pending() {
            self.gather.clear();
        }
        Ok(())
    }

    /// How much of `gather` is written: the frames before `write_seq` (since it was last
    /// emptied) and `write_off` bytes of the next.
    fn gather_written(&self) -> usize {
        let queued = (self.next_send - self.write_seq) as usize * self.frames.frame_len();
        self.gather.len() - queued + self.write_off
    }

    /// Checks received bytes against what was sent; counts and times whole echoes that
    /// arrive inside `window`.
    pub fn read(&mut self, data: &[u8], window: (Instant, Instant), tally: &mut Tally) -> Result<(), String> {
        let now = Instant::now();
        let data = self.read_small_frames(data, now, window, tally)?;
        if data.is_empty() {
            return Ok(());
        }
        let frames = &self.frames;
        let mut ends = std::mem::take(&mut self.ends);
        // A message may span reads: its verdict so far carries over in `bad_chunk`.
        let mut bad = self.bad_chunk;
        let mut seq = self.next_recv;
        self.parser.feed(data, &mut |echo| match echo {
            Echo::Chunk { offset, bytes } => bad |= !frames.matches(seq, offset, bytes),
            Echo::End { opcode, len } => {
                bad |= opcode != frames.opcode() || len != frames.payload_len();
                ends.push(bad);
                bad = false;
                seq += 1;
            }
        })?;
        self.bad_chunk = bad;
        for was_bad in ends.drain(..) {
            self.echoed(was_bad, now, window, tally)?;
        }
        self.ends = ends; // kept for the next read: no allocation per read
        Ok(())
    }

    /// The common case of the small-message scenarios, checked without the general parser:
    /// whole single-frame echoes (2-byte header) one after another from a frame boundary.
    /// Returns what is left for the parser (a partial frame, or anything unusual).
    fn read_small_frames<'d>(
        &mut self,
        mut data: &'d [u8],
        now: Instant,
        window: (Instant, Instant),
        tally: &mut Tally,
    ) -> Result<&'d [u8], String> {
        let len = self.frames.payload_len();
        if len > 125 || !self.parser.at_frame_boundary() {
            return Ok(data);
        }
        let header = [0x80 | self.frames.opcode(), len as u8];
        while let Some((frame, rest)) = data.split_at_checked(2 + len) {
            if frame[..2] != header {
                break;
            }
            let bad = !self.frames.matches(self.next_recv, 0, &frame[2..]);
            self.echoed(bad, now, window, tally)?;
            data = rest;
        }
        Ok(data)
    }

    /// The next echo arrived whole at `now` (`bad`: not as sent): count and time it.
    fn echoed(&mut self, bad: bool, now: Instant, window: (Instant, Instant), tally: &mut Tally) -> Result<(), String> {
        if self.next_recv >= self.next_send {
            return Err("an echo arrived for a message never sent".into());
        }
        if bad {
            return Err(format!("echo {} differs from what was sent", self.next_recv));
        }
        if now >= window.0 && now < window.1 {
            tally.msgs += 1;
            tally.latency.record(now.saturating_duration_since(self.heads[self.recv_slot].1));
        }
        self.recv_slot = if self.recv_slot + 1 == self.inflight { 0 } else { self.recv_slot + 1 };
        self.next_recv += 1;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::wsframe::{MASK, OP_TEXT, server_frame};

    /// What an echo server sends back for message `seq`.
    fn echo_of(frames: &ClientFrames, seq: u64) -> Vec<u8> {
        let sent = frames.frame(seq);
        let header_len = frames.head_len() - crate::wsframe::SEQ_LEN;
        let payload: Vec<u8> = sent[header_len..].iter().enumerate().map(|(i, b)| b ^ MASK[i % 4]).collect();
        server_frame(OP_TEXT, &payload)
    }

    fn sent(n: usize) -> (Echoer, Vec<u8>, (Instant, Instant)) {
        let frames = Arc::new(ClientFrames::new(OP_TEXT, 32));
        let mut echoer = Echoer::new(Arc::clone(&frames), n);
        let now = Instant::now();
        echoer.top_up(now);
        let wire = (0..n as u64).flat_map(|seq| echo_of(&frames, seq)).collect();
        (echoer, wire, (now, now + Duration::from_secs(60)))
    }

    #[test]
    fn echoes_are_counted_whole_or_split_at_any_byte() {
        let (_, wire, window) = sent(4);
        for split in 1..=wire.len() {
            let (mut echoer, _, _) = sent(4);
            let mut tally = Tally::default();
            for piece in wire.chunks(split) {
                echoer.read(piece, window, &mut tally).expect("valid echoes");
            }
            assert_eq!((tally.msgs, echoer.outstanding()), (4, 0), "pieces of {split}");
        }
    }

    #[test]
    fn frames_leave_in_order_across_partial_writes_small_and_large() {
        for size in [32, 40_000] {
            let frames = Arc::new(ClientFrames::new(OP_TEXT, size));
            let mut echoer = Echoer::new(Arc::clone(&frames), 3);
            echoer.top_up(Instant::now());
            let mut got = Vec::new();
            while echoer.write_pending() {
                echoer
                    .write(|slices| {
                        let take = slices.iter().flat_map(|s| s.iter()).take(7_001).copied();
                        let before = got.len();
                        got.extend(take);
                        Ok(got.len() - before)
                    })
                    .expect("write");
            }
            let expected: Vec<u8> = (0..3).flat_map(|seq| frames.frame(seq)).collect();
            assert!(got == expected, "size {size}: the bytes written are the three frames in order");
        }
    }

    #[test]
    fn a_wrong_byte_or_an_extra_echo_is_an_error_on_either_path() {
        let (_, wire, window) = sent(4);
        for split in [wire.len(), 5] {
            // The third echo's last sequence digit (the fast path when whole, the parser when split).
            let mut bad = wire.clone();
            bad[2 * 34 + 2 + 15] ^= 1;
            let (mut echoer, _, _) = sent(4);
            let mut tally = Tally::default();
            let failed = bad.chunks(split).map(|piece| echoer.read(piece, window, &mut tally)).find(Result::is_err);
            assert_eq!(failed, Some(Err("echo 2 differs from what was sent".into())), "pieces of {split}");
        }
        let (mut echoer, mut extra, _) = sent(4);
        extra.extend_from_slice(&wire[..34]);
        let result = echoer.read(&extra, window, &mut Tally::default());
        assert_eq!(result, Err("an echo arrived for a message never sent".into()));
    }
}
