//! The per-connection output queue: owned bytes and shared (broadcast) bytes, in order,
//! written with one vectored write per turn.
//!
//! A broadcast is encoded once into an `Arc<[u8]>`; every subscriber's queue holds a clone of the
//! `Arc` (a pointer and a count), never a copy of the bytes. Bytes a handler writes itself go into
//! an owned buffer borrowed from the loop's [`BufferPool`], so a connection that answers one
//! request after another allocates nothing in the steady state. The few bytes of framing a
//! subscriber writes around a shared broadcast (a WebSocket header, an SSE `id:` line) are held
//! inside their chunk ([`OutputQueue::push_copy`]), and an emptied queue hands its chunk list
//! back to the pool: a quiet connection holds no heap memory, a busy one allocates none.

use std::collections::VecDeque;
use std::io::{self, IoSlice, Write};
use std::ops::Range;
use std::sync::Arc;

/// How many slices one `writev` carries at most (Linux allows 1024; 64 is plenty per turn).
const MAX_IOVECS: usize = 64;
/// Owned buffers larger than this are freed instead of returned to the pool.
const POOL_MAX_CAPACITY: usize = 2 * 1024 * 1024;
/// How many spare owned buffers of each kind (small, large) a loop keeps.
const POOL_MAX_BUFFERS: usize = 64;
/// How many spare chunk lists a loop keeps, and the longest one it keeps (in chunks).
const POOL_MAX_LISTS: usize = 64;
const POOL_MAX_LIST_CAPACITY: usize = 64;
/// The most spare capacity a loop keeps in all. Large echoes (64 KiB WebSocket messages, a
/// batch of them per write) reuse big buffers instead of allocating and freeing them per
/// message — freeing a big block makes the allocator hand pages back to the kernel
/// (`madvise`), only to fault them in again for the next message.
const POOL_MAX_BYTES: usize = 16 * 1024 * 1024;

/// One piece of pending output.
#[derive(Debug)]
enum Chunk {
    /// Bytes written by this connection's handler; later output is appended to it.
    Owned(Vec<u8>),
    /// A whole buffer the handler handed over (`Cx::write_owned`), written as it is. Nothing
    /// is appended to it: a full buffer would reallocate, copying everything it holds.
    HandedOver(Vec<u8>),
    /// Bytes shared with other connections (an encoded broadcast), or a range of them (a
    /// message's text inside the block it is kept in, written with framing of its own).
    Shared(Arc<[u8]>, Range<usize>),
    /// A few bytes held in the chunk itself: the framing around shared bytes (a WebSocket
    /// header, an SSE event's `id:` line), so that a broadcast to a thousand subscribers
    /// allocates no buffer for each one's few bytes of framing.
    Inline(Inline),
}

/// Bytes kept inside a [`Chunk`] (no larger than the shared variant it sits beside).
#[derive(Debug)]
struct Inline {
    bytes: [u8; INLINE_CAPACITY],
    len: u8,
}

/// The most bytes an inline chunk holds.
const INLINE_CAPACITY: usize = 30;

impl Inline {
    fn bytes(&self) -> &[u8] {
        &self.bytes[..self.len as usize]
    }

    /// Appends `more` if it fits.
    fn push(&mut self, more: &[u8]) -> bool {
        let len = self.len as usize;
        let Some(end) = len.checked_add(more.len()).filter(|&end| end <= INLINE_CAPACITY) else { return false };
        self.bytes[len..end].copy_from_slice(more);
        self.len = end as u8;
        true
    }
}

impl Chunk {
    fn bytes(&self) -> &[u8] {
        match self {
            Chunk::Owned(bytes) | Chunk::HandedOver(bytes) => bytes,
            Chunk::Shared(bytes, range) => &bytes[range.clone()],
            Chunk::Inline(inline) => inline.bytes(),
        }
    }
}

/// Spare owned buffers, one pool per loop (no locking: a loop is one thread).
///
/// Fast path (*buffer pool*): a written buffer comes back here instead of to the allocator,
/// so answering request after request allocates nothing, and a large message buffer is
/// reused instead of freed and faulted in again.
///
/// Two kinds are kept apart: small ones, that answers and frame headers are encoded into, and
/// large ones, message buffers handed over whole (`Cx::write_owned`) and wanted back for the
/// next message (`Cx::take_buffer`). Mixed in one list, a header would take a 64 KiB buffer
/// and a message a 100-byte one, which then has to be grown and zeroed.
#[derive(Debug, Default)]
pub(crate) struct BufferPool {
    small: Vec<Vec<u8>>,
    large: Vec<Vec<u8>>,
    /// The summed capacity of both lists.
    bytes: usize,
    /// Empty chunk lists, given back by queues that were written out: an idle connection
    /// keeps none, and the next one to queue output takes one instead of allocating.
    lists: Vec<VecDeque<Chunk>>,
    /// The buffer an encoder writes into when a queue has no owned buffer at its back
    /// ([`OutputQueue::append_with`]): it joins that queue only if it was written to.
    stage: Vec<u8>,
}

/// Buffers up to this capacity are "small".
const SMALL_CAPACITY: usize = 16 * 1024;

impl BufferPool {
    /// An empty spare buffer (a small one if there is one).
    fn take(&mut self) -> Vec<u8> {
        let mut buffer = self.small.pop().or_else(|| self.large.pop()).unwrap_or_default();
        self.bytes -= buffer.capacity();
        buffer.clear();
        buffer
    }

    /// A spare buffer with the bytes it last held still in it (its length unchanged), for a
    /// caller that will overwrite them: growing it back to that length costs no zeroing.
    /// The newest spare at least `len` bytes long is preferred, else the newest of its size.
    pub(crate) fn take_as_is(&mut self, len: usize) -> Vec<u8> {
        let (first, second) =
            if len > SMALL_CAPACITY { (&mut self.large, &mut self.small) } else { (&mut self.small, &mut self.large) };
        let at = first.iter().rposition(|buffer| buffer.len() >= len);
        let buffer = match at {
            Some(at) => first.swap_remove(at),
            None => first.pop().or_else(|| second.pop()).unwrap_or_default(),
        };
        self.bytes -= buffer.capacity();
        buffer
    }

    /// An empty chunk list (one with room, if there is one).
    fn take_list(&mut self) -> VecDeque<Chunk> {
        self.lists.pop().unwrap_or_default()
    }

    fn give_list(&mut self, list: VecDeque<Chunk>) {
        debug_assert!(list.is_empty());
        if list.capacity() > 0 && list.capacity() <= POOL_MAX_LIST_CAPACITY && self.lists.len() < POOL_MAX_LISTS {
            self.lists.push(list);
        }
    }

    fn give(&mut self, buffer: Vec<u8>) {
        let capacity = buffer.capacity();
        let list = if capacity <= SMALL_CAPACITY { &mut self.small } else { &mut self.large };
        if capacity <= POOL_MAX_CAPACITY && list.len() < POOL_MAX_BUFFERS && self.bytes + capacity <= POOL_MAX_BYTES {
            self.bytes += capacity;
            list.push(buffer);
        }
    }
}

/// Pending output of one connection. Empty queues hold no heap memory.
#[derive(Debug, Default)]
pub(crate) struct OutputQueue {
    chunks: VecDeque<Chunk>,
    /// Bytes of the front chunk already written.
    front_written: usize,
    /// Total bytes not yet written (the backpressure measure).
    pending: usize,
    /// Every byte ever queued on this connection (for per-connection accounting).
    queued_total: u64,
}

impl OutputQueue {
    /// Every byte ever queued on this connection.
    pub(crate) fn queued_total(&self) -> u64 {
        self.queued_total
    }

    /// Bytes waiting to be written.
    pub(crate) fn pending(&self) -> usize {
        self.pending
    }

    /// Lets `encode` append to the queue (it may only append): to the owned buffer at the
    /// back, or — with none there — to the pool's staging buffer, which joins the queue only
    /// if `encode` wrote something.
    ///
    /// Fast path (*staged output*): an encoder with nothing to say (an empty poll of a
    /// protocol's transmit queue, a batch that held only control frames) takes no buffer
    /// from the pool, no chunk list and no queue entry, and gives none back.
    pub(crate) fn append_with<R>(&mut self, pool: &mut BufferPool, encode: impl FnOnce(&mut Vec<u8>) -> R) -> R {
        if let Some(Chunk::Owned(tail)) = self.chunks.back_mut() {
            let before = tail.len();
            let result = encode(tail);
            let added = tail.len() - before;
            self.count(added);
            return result;
        }
        if pool.stage.capacity() == 0 {
            pool.stage = pool.take();
        }
        let mut stage = std::mem::take(&mut pool.stage);
        let result = encode(&mut stage);
        if stage.is_empty() {
            pool.stage = stage;
        } else {
            self.count(stage.len());
            self.list(pool).push_back(Chunk::Owned(stage));
        }
        result
    }

    /// Counts `added` bytes just queued.
    fn count(&mut self, added: usize) {
        self.pending += added;
        self.queued_total += added as u64;
    }

    /// The chunk list, taken from the pool if this queue holds none (it gave its own back
    /// when it was last written out).
    fn list(&mut self, pool: &mut BufferPool) -> &mut VecDeque<Chunk> {
        if self.chunks.capacity() == 0 {
            self.chunks = pool.take_list();
        }
        &mut self.chunks
    }

    /// Queues a copy of `bytes`: appended to the owned or inline chunk at the back if there
    /// is room, else in an inline chunk of their own when they are few — no buffer is taken
    /// for a frame header between two shared payloads — else in an owned buffer.
    pub(crate) fn push_copy(&mut self, bytes: &[u8], pool: &mut BufferPool) {
        if bytes.is_empty() {
            return;
        }
        self.pending += bytes.len();
        self.queued_total += bytes.len() as u64;
        if let Some(Chunk::Owned(buffer)) = self.chunks.back_mut() {
            return buffer.extend_from_slice(bytes);
        }
        if let Some(Chunk::Inline(inline)) = self.chunks.back_mut()
            && inline.push(bytes)
        {
            return;
        }
        let mut inline = Inline { bytes: [0; INLINE_CAPACITY], len: 0 };
        let chunk = if inline.push(bytes) {
            Chunk::Inline(inline)
        } else {
            let mut buffer = pool.take();
            buffer.extend_from_slice(bytes);
            Chunk::Owned(buffer)
        };
        self.list(pool).push_back(chunk);
    }

    /// Queues an owned buffer as it is (an empty one goes straight back to the pool); later
    /// output goes into a buffer of its own behind it.
    pub(crate) fn push_owned(&mut self, bytes: Vec<u8>, pool: &mut BufferPool) {
        if bytes.is_empty() {
            pool.give(bytes);
            return;
        }
        self.pending += bytes.len();
        self.queued_total += bytes.len() as u64;
        self.list(pool).push_back(Chunk::HandedOver(bytes));
    }

    /// Queues `bytes[range]`, shared bytes (a broadcast), without copying them.
    ///
    /// Panics if `range` is not within `bytes`, as slicing does.
    pub(crate) fn push_shared(&mut self, bytes: Arc<[u8]>, range: Range<usize>, pool: &mut BufferPool) {
        let len = bytes[range.clone()].len();
        if len == 0 {
            return;
        }
        self.pending += len;
        self.queued_total += len as u64;
        self.list(pool).push_back(Chunk::Shared(bytes, range));
    }

    /// Writes as much as the socket takes, with vectored writes, until the queue is empty
    /// (`Ok(true)`) or the socket would block (`Ok(false)`).
    pub(crate) fn flush<W: Write>(&mut self, socket: &mut W, pool: &mut BufferPool) -> io::Result<bool> {
        while self.pending > 0 {
            let written = match self.write_once(socket) {
                Ok(0) => return Err(io::ErrorKind::WriteZero.into()),
                Ok(n) => n,
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Ok(false),
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(e),
            };
            self.advance(written, pool);
        }
        self.release_list(pool);
        Ok(true)
    }

    fn write_once<W: Write>(&self, socket: &mut W) -> io::Result<usize> {
        if self.chunks.len() == 1 {
            return socket.write(&self.chunks[0].bytes()[self.front_written..]);
        }
        let mut slices = [IoSlice::new(&[]); MAX_IOVECS];
        let mut count = 0;
        for (i, chunk) in self.chunks.iter().take(MAX_IOVECS).enumerate() {
            let skip = if i == 0 { self.front_written } else { 0 };
            slices[count] = IoSlice::new(&chunk.bytes()[skip..]);
            count += 1;
        }
        socket.write_vectored(&slices[..count])
    }

    fn advance(&mut self, mut written: usize, pool: &mut BufferPool) {
        self.pending -= written;
        while written > 0 {
            let Some(front) = self.chunks.front() else { break };
            let left = front.bytes().len() - self.front_written;
            if written < left {
                self.front_written += written;
                return;
            }
            written -= left;
            self.front_written = 0;
            if let Some(Chunk::Owned(buffer) | Chunk::HandedOver(buffer)) = self.chunks.pop_front() {
                pool.give(buffer);
            }
        }
    }

    /// An idle connection should cost almost nothing: an empty queue gives its chunk list
    /// back to the loop's pool, for the next connection that queues output (kept on 10 000
    /// idle sockets, the lists would cost more than the sockets' own state).
    fn release_list(&mut self, pool: &mut BufferPool) {
        if self.chunks.is_empty() && self.chunks.capacity() > 0 {
            pool.give_list(std::mem::take(&mut self.chunks));
        }
    }

    /// Frees everything (the connection is gone).
    pub(crate) fn clear(&mut self, pool: &mut BufferPool) {
        for chunk in self.chunks.drain(..) {
            if let Chunk::Owned(buffer) | Chunk::HandedOver(buffer) = chunk {
                pool.give(buffer);
            }
        }
        self.pending = 0;
        self.front_written = 0;
        self.release_list(pool);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A writer that accepts at most `limit` bytes per call, then blocks after `budget` bytes.
    struct Trickle {
        got: Vec<u8>,
        limit: usize,
        budget: usize,
    }

    impl Write for Trickle {
        fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
            if self.budget == 0 {
                return Err(io::ErrorKind::WouldBlock.into());
            }
            let n = buf.len().min(self.limit).min(self.budget);
            self.got.extend_from_slice(&buf[..n]);
            self.budget -= n;
            Ok(n)
        }
        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn owned_and_shared_bytes_are_written_in_order_across_partial_writes() {
        let mut pool = BufferPool::default();
        let mut queue = OutputQueue::default();
        queue.append_with(&mut pool, |tail| tail.extend_from_slice(b"head;"));
        queue.push_shared(Arc::from(&b"shared;"[..]), 0..7, &mut pool);
        queue.append_with(&mut pool, |tail| tail.extend_from_slice(b"tail"));
        assert_eq!(queue.pending(), 16);

        let mut socket = Trickle { got: Vec::new(), limit: 3, budget: 7 };
        assert!(!queue.flush(&mut socket, &mut pool).unwrap());
        assert_eq!(queue.pending(), 9);
        socket.budget = usize::MAX;
        assert!(queue.flush(&mut socket, &mut pool).unwrap());
        assert_eq!(socket.got, b"head;shared;tail");
        assert_eq!(queue.pending(), 0);
    }

    #[test]
    fn a_range_of_shared_bytes_is_written_alone_and_an_empty_one_not_at_all() {
        let mut pool = BufferPool::default();
        let mut queue = OutputQueue::default();
        let block: Arc<[u8]> = Arc::from(&b"id: 1\ndata: text\n\n"[..]);
        queue.append_with(&mut pool, |tail| tail.extend_from_slice(b"\x81\x04"));
        queue.push_shared(Arc::clone(&block), 12..16, &mut pool);
        queue.push_shared(Arc::clone(&block), 3..3, &mut pool);
        assert_eq!((queue.pending(), queue.chunks.len()), (6, 2), "the empty range queued nothing");
        let mut socket = Trickle { got: Vec::new(), limit: 3, budget: usize::MAX };
        assert!(queue.flush(&mut socket, &mut pool).unwrap());
        assert_eq!(socket.got, b"\x81\x04text");
    }

    #[test]
    fn a_pushed_buffer_is_written_in_place_between_its_neighbours_and_then_pooled() {
        let mut pool = BufferPool::default();
        let mut queue = OutputQueue::default();
        queue.append_with(&mut pool, |tail| tail.extend_from_slice(b"header;"));
        let mut body = Vec::with_capacity(64);
        body.extend_from_slice(b"body;");
        queue.push_owned(body, &mut pool);
        queue.append_with(&mut pool, |tail| tail.extend_from_slice(b"next"));
        assert_eq!(queue.pending(), 16);
        let mut socket = Trickle { got: Vec::new(), limit: 5, budget: usize::MAX };
        assert!(queue.flush(&mut socket, &mut pool).unwrap());
        assert_eq!(socket.got, b"header;body;next");
        assert!(pool.small.iter().any(|b| b.capacity() == 64), "the written body buffer is pooled");
    }

    #[test]
    fn nothing_is_appended_to_a_full_pushed_buffer() {
        let mut pool = BufferPool::default();
        let mut queue = OutputQueue::default();
        let mut body = Vec::with_capacity(8);
        body.extend_from_slice(b"12345678");
        let at = body.as_ptr();
        queue.push_owned(body, &mut pool);
        queue.append_with(&mut pool, |tail| tail.extend_from_slice(b"next"));
        assert_eq!(queue.chunks.len(), 2, "the next bytes start a buffer of their own");
        assert_eq!(queue.chunks[0].bytes().as_ptr(), at, "the pushed buffer was not reallocated");
        let mut socket = Trickle { got: Vec::new(), limit: usize::MAX, budget: usize::MAX };
        assert!(queue.flush(&mut socket, &mut pool).unwrap());
        assert_eq!(socket.got, b"12345678next");
    }

    #[test]
    fn a_spare_long_enough_is_taken_before_a_newer_short_one() {
        let mut pool = BufferPool::default();
        pool.give(vec![7; 64 * 1024]);
        pool.give(vec![1; 10]);
        assert_eq!(pool.take().capacity(), 10, "an answer gets the small one, not the message buffer");
        pool.give(vec![1; 10]);
        assert_eq!(pool.take_as_is(64 * 1024).len(), 64 * 1024, "the long spare, with its old length");
        assert_eq!(pool.take_as_is(64 * 1024).len(), 10, "no long one left: a short one");
        assert!(pool.take_as_is(1).is_empty(), "an empty pool gives a new buffer");
        assert_eq!(pool.bytes, 0);
    }

    #[test]
    fn a_written_out_queue_holds_no_chunk_list_and_the_next_queue_reuses_it() {
        let mut pool = BufferPool::default();
        let mut first = OutputQueue::default();
        first.push_shared(Arc::from(&b"broadcast"[..]), 0..9, &mut pool);
        let mut socket = Trickle { got: Vec::new(), limit: usize::MAX, budget: usize::MAX };
        assert!(first.flush(&mut socket, &mut pool).unwrap());
        assert_eq!(first.chunks.capacity(), 0, "an idle queue keeps no heap memory");
        assert_eq!(pool.lists.len(), 1, "its list went to the pool");
        let mut second = OutputQueue::default();
        second.append_with(&mut pool, |tail| tail.extend_from_slice(b"answer"));
        assert!(pool.lists.is_empty() && second.chunks.capacity() > 0, "the pooled list was taken");
    }

    #[test]
    fn framing_between_shared_payloads_is_held_inline_and_written_in_order() {
        assert!(size_of::<Chunk>() <= 40, "an inline chunk is no larger than a shared one");
        let mut pool = BufferPool::default();
        let mut queue = OutputQueue::default();
        let payload: Arc<[u8]> = Arc::from(&b"payload"[..]);
        for header in [&b"\x81\x07"[..], b"\x81\x07"] {
            queue.push_copy(header, &mut pool);
            queue.push_shared(Arc::clone(&payload), 0..7, &mut pool);
        }
        queue.push_copy(b"a;", &mut pool);
        queue.push_copy(b"b;", &mut pool); // appended to the inline chunk before it
        queue.push_copy(&[b'x'; INLINE_CAPACITY + 1], &mut pool); // too long: an owned buffer
        assert_eq!(queue.chunks.len(), 6);
        assert!(matches!(queue.chunks[4], Chunk::Inline(_)) && matches!(queue.chunks[5], Chunk::Owned(_)));
        assert!(pool.small.is_empty() && pool.large.is_empty(), "no buffer was taken for the headers");
        let mut socket = Trickle { got: Vec::new(), limit: 3, budget: usize::MAX };
        assert!(queue.flush(&mut socket, &mut pool).unwrap());
        let mut expected = b"\x81\x07payload\x81\x07payloada;b;".to_vec();
        expected.extend_from_slice(&[b'x'; INLINE_CAPACITY + 1]);
        assert_eq!(socket.got, expected);
        assert_eq!(queue.pending(), 0);
    }

    #[test]
    fn an_encoder_that_writes_nothing_leaves_the_queue_and_the_pool_as_they_were() {
        let mut pool = BufferPool::default();
        pool.give(Vec::with_capacity(100));
        let mut queue = OutputQueue::default();
        queue.append_with(&mut pool, |_| ());
        assert_eq!(queue.pending(), 0);
        assert_eq!(queue.chunks.capacity(), 0, "no chunk list was taken");
        assert_eq!(pool.stage.capacity(), 100, "the staging buffer waits for the next encoder");
        // The next one that writes takes the staged buffer into the queue, and no other.
        queue.append_with(&mut pool, |out| out.extend_from_slice(b"pong"));
        assert!(matches!(&queue.chunks[0], Chunk::Owned(b) if b == b"pong" && b.capacity() == 100));
        assert_eq!((queue.pending(), pool.stage.capacity()), (4, 0));
        // Appending to that owned tail needs no staging.
        queue.append_with(&mut pool, |out| out.extend_from_slice(b"!"));
        assert_eq!((queue.chunks.len(), queue.pending(), queue.queued_total()), (1, 5, 5));
    }
}
