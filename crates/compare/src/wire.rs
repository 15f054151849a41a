//! Counting what crosses the wire. Every client socket is a [`Counted`] stream: each byte read
//! and written (HTTP heads, bodies, the WebSocket handshake, frames, SSE comments) is added to
//! the client's [`Counters`], together with the number of `read`/`write` calls, connections
//! opened and closed, requests sent and empty answers received.
//!
//! The socket API cannot see TCP/IP headers, so [`Snapshot::tcp_bytes`] adds an explicit
//! model on top of the HTTP-level count (documented in docs/comparison.md):
//!
//! ```text
//!  per connection opened   3 packets (SYN, SYN-ACK, ACK)          × 40 bytes
//!  per connection closed   4 packets (FIN, ACK, FIN, ACK)         × 40 bytes
//!  per data segment        1 header: one per client write() and   × 40 bytes
//!                          one per client read() that returned data
//!  40 bytes = IPv4 (20) + TCP (20) without options; pure ACKs are not counted.
//! ```

use std::io::{self, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::ops::Sub;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

/// IPv4 + TCP header without options (Linux adds 12 bytes of timestamps; we stay conservative).
pub(crate) const TCP_IP_HEADER: u64 = 40;
/// SYN, SYN-ACK, ACK.
pub(crate) const HANDSHAKE_PACKETS: u64 = 3;
/// FIN, ACK from each side.
pub(crate) const CLOSE_PACKETS: u64 = 4;

/// How long one blocking read waits before the caller checks whether it should stop.
pub(crate) const TICK: Duration = Duration::from_millis(20);

/// One client's running totals; shared between its thread and the thread taking snapshots.
#[derive(Debug, Default)]
pub(crate) struct Counters {
    bytes_read: AtomicU64,
    bytes_written: AtomicU64,
    reads: AtomicU64,
    writes: AtomicU64,
    connections: AtomicU64,
    closes: AtomicU64,
    requests: AtomicU64,
    empty: AtomicU64,
    /// A handle on the client's open socket, so the reconnect scenario can drop the
    /// connection from outside the client's thread ([`Counters::drop_connection`]).
    live: Mutex<Option<TcpStream>>,
}

/// The counters at one instant; subtract two to get a phase.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Snapshot {
    /// Bytes the client received (server → client), HTTP level.
    pub(crate) bytes_read: u64,
    /// Bytes the client sent (client → server), HTTP level.
    pub(crate) bytes_written: u64,
    /// `read` calls that returned data (≈ segments received).
    pub(crate) reads: u64,
    /// `write` calls (≈ segments sent; clients use `TCP_NODELAY`).
    pub(crate) writes: u64,
    /// TCP connections opened.
    pub(crate) connections: u64,
    /// TCP connections closed.
    pub(crate) closes: u64,
    /// HTTP requests sent (the WebSocket and SSE clients send one per connection).
    pub(crate) requests: u64,
    /// Answers that carried no message: 204s, and WebSocket/SSE have none.
    pub(crate) empty: u64,
}

impl Counters {
    /// Reads every counter (not atomically as a group: a phase boundary is fuzzy by one read).
    pub(crate) fn snapshot(&self) -> Snapshot {
        Snapshot {
            bytes_read: self.bytes_read.load(Relaxed),
            bytes_written: self.bytes_written.load(Relaxed),
            reads: self.reads.load(Relaxed),
            writes: self.writes.load(Relaxed),
            connections: self.connections.load(Relaxed),
            closes: self.closes.load(Relaxed),
            requests: self.requests.load(Relaxed),
            empty: self.empty.load(Relaxed),
        }
    }

    /// One HTTP request (or upgrade request) sent.
    pub(crate) fn request(&self) {
        self.requests.fetch_add(1, Relaxed);
    }

    /// One answer without a message in it.
    pub(crate) fn empty_answer(&self) {
        self.empty.fetch_add(1, Relaxed);
    }

    /// The client drops its connection, as a laptop's lid closing would: the socket is shut
    /// down both ways (a FIN goes to the hub), and the client's next read or write fails, so
    /// it notices on its own. Returns whether there was a socket to drop.
    pub(crate) fn drop_connection(&self) -> bool {
        let live = self.live.lock().unwrap_or_else(PoisonError::into_inner);
        live.as_ref().is_some_and(|socket| socket.shutdown(std::net::Shutdown::Both).is_ok())
    }
}

impl Snapshot {
    /// Bytes both ways as the sockets saw them.
    pub(crate) fn http_bytes(&self) -> u64 {
        self.bytes_read + self.bytes_written
    }

    /// [`Snapshot::http_bytes`] plus the TCP/IP header model in the module docs.
    pub(crate) fn tcp_bytes(&self) -> u64 {
        let packets = HANDSHAKE_PACKETS * self.connections + CLOSE_PACKETS * self.closes + self.reads + self.writes;
        self.http_bytes() + TCP_IP_HEADER * packets
    }
}

impl Sub for Snapshot {
    type Output = Snapshot;
    fn sub(self, earlier: Snapshot) -> Snapshot {
        Snapshot {
            bytes_read: self.bytes_read - earlier.bytes_read,
            bytes_written: self.bytes_written - earlier.bytes_written,
            reads: self.reads - earlier.reads,
            writes: self.writes - earlier.writes,
            connections: self.connections - earlier.connections,
            closes: self.closes - earlier.closes,
            requests: self.requests - earlier.requests,
            empty: self.empty - earlier.empty,
        }
    }
}

/// A client socket that adds every byte to its owner's [`Counters`]; dropping it counts a close.
#[derive(Debug)]
pub(crate) struct Counted {
    stream: TcpStream,
    counters: Arc<Counters>,
}

impl Counted {
    /// Dials `addr` (counted as one connection) with `TCP_NODELAY` and a [`TICK`] read timeout.
    pub(crate) fn connect(addr: SocketAddr, counters: &Arc<Counters>) -> io::Result<Counted> {
        let stream = TcpStream::connect(addr)?;
        stream.set_nodelay(true)?;
        stream.set_read_timeout(Some(TICK))?;
        counters.connections.fetch_add(1, Relaxed);
        *counters.live.lock().unwrap_or_else(PoisonError::into_inner) = stream.try_clone().ok();
        Ok(Counted { stream, counters: Arc::clone(counters) })
    }

    /// `IP:port` of the hub, for a `Host` header.
    pub(crate) fn peer_host(&self) -> String {
        self.stream.peer_addr().map(|a| a.to_string()).unwrap_or_default()
    }

    /// This client's counters.
    pub(crate) fn counters(&self) -> &Counters {
        &self.counters
    }
}

impl Read for Counted {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.stream.read(buf)?;
        if n > 0 {
            self.counters.bytes_read.fetch_add(n as u64, Relaxed);
            self.counters.reads.fetch_add(1, Relaxed);
        }
        Ok(n)
    }
}

impl Write for Counted {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = self.stream.write(buf)?;
        self.counters.bytes_written.fetch_add(n as u64, Relaxed);
        self.counters.writes.fetch_add(1, Relaxed);
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.stream.flush()
    }
}

impl Drop for Counted {
    fn drop(&mut self) {
        self.counters.closes.fetch_add(1, Relaxed);
    }
}

/// Whether a read error is only the [`TICK`] timeout passing.
pub(crate) fn is_tick(error: &io::Error) -> bool {
    matches!(error.kind(), io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut | io::ErrorKind::Interrupted)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tcp_model_adds_headers_per_packet() {
        let s = Snapshot {
            bytes_read: 100,
            bytes_written: 50,
            reads: 2,
            writes: 1,
            connections: 1,
            closes: 1,
            ..Default::default()
        };
        assert_eq!(s.http_bytes(), 150);
        assert_eq!(s.tcp_bytes(), 150 + 40 * (3 + 4 + 2 + 1));
    }

    #[test]
    fn counted_stream_counts_both_directions_and_the_close() {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let counters = Arc::new(Counters::default());
        let mut client = Counted::connect(listener.local_addr().unwrap(), &counters).unwrap();
        let (mut server, _) = listener.accept().unwrap();
        client.write_all(b"ping").unwrap();
        server.write_all(b"pong!").unwrap();
        let mut buf = [0u8; 5];
        client.read_exact(&mut buf).unwrap();
        drop(client);
        let s = counters.snapshot();
        assert_eq!((s.bytes_written, s.bytes_read, s.connections, s.closes), (4, 5, 1, 1));
    }

    #[test]
    fn dropping_the_connection_from_outside_ends_the_clients_reads_and_sends_a_fin() {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let counters = Arc::new(Counters::default());
        assert!(!counters.drop_connection(), "no socket yet");
        let mut client = Counted::connect(listener.local_addr().unwrap(), &counters).unwrap();
        let (mut server, _) = listener.accept().unwrap();
        assert!(counters.drop_connection());
        let mut buf = [0u8; 4];
        assert_eq!(client.read(&mut buf).unwrap(), 0, "the client's own read sees the end");
        assert_eq!(server.read(&mut buf).unwrap(), 0, "the hub's side sees the client's FIN");
    }
}
