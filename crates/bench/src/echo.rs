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
    /// Variable frame prefixes and send times, indexed by `seq % inflight`.
    heads: Vec<([u8; HEAD_MAX], Instant)>,
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

    /// Queues new frames up to `inflight` outstanding.
    pub fn top_up(&mut self, now: Instant) {
        while self.outstanding() < self.inflight {
            let slot = &mut self.heads[(self.next_send % self.inflight as u64) as usize];
            self.frames.head(self.next_send, &mut slot.0);
            slot.1 = now;
            self.next_send += 1;
        }
    }

    /// One `writev` (through `writev`, which is `try_write_vectored` or a non-blocking
    /// std socket's `write_vectored`) of every queued frame; partial writes resume where
    /// they stopped. WouldBlock is not an error.
    pub fn write(&mut self, writev: impl FnOnce(&[IoSlice<'_>]) -> io::Result<usize>) -> io::Result<()> {
        let head_len = self.frames.head_len();
        let tail = self.frames.tail();
        let mut slices: Vec<IoSlice<'_>> = Vec::with_capacity(2 * self.outstanding());
        let small = self.frames.frame_len() <= SMALL_FRAME;
        if small {
            // Small frames are gathered into one buffer: the kernel walks one iovec instead
            // of two per frame, which costs more than the copy.
            self.gather.clear();
        }
        for seq in self.write_seq..self.next_send {
            let head = &self.heads[(seq % self.inflight as u64) as usize].0[..head_len];
            let skip = if seq == self.write_seq { self.write_off } else { 0 };
            let pieces: [&[u8]; 2] =
                if skip < head_len { [&head[skip..], tail] } else { [&tail[skip - head_len..], &[]] };
            for piece in pieces.into_iter().filter(|p| !p.is_empty()) {
                if small {
                    self.gather.extend_from_slice(piece);
                } else {
                    slices.push(IoSlice::new(piece));
                }
            }
        }
        if small {
            slices.push(IoSlice::new(&self.gather));
        }
        let mut n = match writev(&slices) {
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Ok(()),
            Err(e) => return Err(e),
        };
        let frame_len = self.frames.frame_len();
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
        Ok(())
    }

    /// Checks received bytes against what was sent; counts and times whole echoes that
    /// arrive inside `window`.
    pub fn read(&mut self, data: &[u8], window: (Instant, Instant), tally: &mut Tally) -> Result<(), String> {
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
        if !ends.is_empty() {
            let now = Instant::now();
            for was_bad in ends.drain(..) {
                if was_bad {
                    return Err(format!("echo {} differs from what was sent", self.next_recv));
                }
                if self.next_recv >= self.next_send {
                    return Err("an echo arrived for a message never sent".into());
                }
                let sent = self.heads[(self.next_recv % self.inflight as u64) as usize].1;
                if now >= window.0 && now < window.1 {
                    tally.msgs += 1;
                    tally.latency.record(now - sent);
                }
                self.next_recv += 1;
            }
        }
        self.ends = ends; // kept for the next read: no allocation per read
        Ok(())
    }
}
