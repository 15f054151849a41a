//! What every load generator does with its sockets and its runtime, written once.

use std::io;

use tokio::io::Interest;
use tokio::net::TcpStream;

/// One `read(2)` on a socket tokio reported readable, costing no second system call.
///
/// Read naively, every readiness event costs two reads: the one with the data and one more
/// that returns `EAGAIN` before tokio forgets the readiness — a third of a load generator's
/// system calls. A read that does not fill `buf` has emptied the socket, so it is reported to
/// tokio as "would block", which clears the readiness at once; a new edge that arrived
/// meanwhile keeps it, so nothing is missed. Returns `Ok(n)` with the bytes read (`Ok(0)` at
/// end of stream), or `WouldBlock` when there was nothing to read after all.
pub fn read_once(stream: &TcpStream, buf: &mut [u8]) -> io::Result<usize> {
    let mut got = 0;
    let result = stream.try_io(Interest::READABLE, || {
        got = io::Read::read(&mut &*socket2::SockRef::from(stream), buf)?;
        if got > 0 && got < buf.len() { Err(io::ErrorKind::WouldBlock.into()) } else { Ok(got) }
    });
    match result {
        Err(e) if e.kind() == io::ErrorKind::WouldBlock && got > 0 => Ok(got),
        other => other,
    }
}

/// A tokio runtime with `threads` workers; one means the current thread only (the default of
/// every load generator, so the server under test gets the larger share of the CPU).
pub fn runtime(threads: usize) -> Result<tokio::runtime::Runtime, String> {
    if threads <= 1 {
        tokio::runtime::Builder::new_current_thread().enable_all().build()
    } else {
        tokio::runtime::Builder::new_multi_thread().worker_threads(threads).enable_all().build()
    }
    .map_err(|e| e.to_string())
}
