//! A blocking raw TCP client with timeouts, for driving a server byte by byte.

use std::io::{ErrorKind, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpStream};
use std::time::{Duration, Instant};

use crate::response::{Response, find, parse_response};

/// How long any single expectation waits before the test fails.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(5);

/// A raw client: bytes in, bytes out, everything bounded by a timeout.
#[derive(Debug)]
pub struct Client {
    stream: TcpStream,
    /// Bytes read but not yet handed out.
    buffered: Vec<u8>,
    timeout: Duration,
}

impl Client {
    /// Connects (panics with a clear message if it cannot: this is test code).
    pub fn connect(addr: SocketAddr) -> Client {
        let stream =
            TcpStream::connect_timeout(&addr, DEFAULT_TIMEOUT).unwrap_or_else(|e| panic!("connect to {addr}: {e}"));
        stream.set_nodelay(true).expect("set_nodelay");
        Client { stream, buffered: Vec::new(), timeout: DEFAULT_TIMEOUT }
    }

    /// Changes the timeout of later expectations.
    pub fn set_timeout(&mut self, timeout: Duration) {
        self.timeout = timeout;
    }

    /// The underlying stream (for socket options or a second handle).
    pub fn stream(&self) -> &TcpStream {
        &self.stream
    }

    /// Sends all of `bytes`.
    pub fn send(&mut self, bytes: &[u8]) {
        self.stream.write_all(bytes).expect("send");
    }

    /// Sends `bytes` one byte at a time, pausing `gap` between bytes (a trickling client).
    pub fn send_slowly(&mut self, bytes: &[u8], gap: Duration) {
        for byte in bytes {
            self.stream.write_all(std::slice::from_ref(byte)).expect("send");
            std::thread::sleep(gap);
        }
    }

    /// Closes our sending side (the server sees EOF).
    pub fn shutdown_write(&mut self) {
        let _ = self.stream.shutdown(Shutdown::Write);
    }

    /// Reads once more into the buffer; `Ok(0)` on EOF. Fails the test on timeout.
    fn fill(&mut self, deadline: Instant) -> std::io::Result<usize> {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return Err(ErrorKind::TimedOut.into());
        }
        self.stream.set_read_timeout(Some(left))?;
        let mut chunk = [0u8; 16 * 1024];
        let n = self.stream.read(&mut chunk)?;
        self.buffered.extend_from_slice(&chunk[..n]);
        Ok(n)
    }

    /// Reads until `pattern` appears; returns everything up to and including it.
    pub fn read_until(&mut self, pattern: &[u8]) -> Vec<u8> {
        let deadline = Instant::now() + self.timeout;
        loop {
            if let Some(at) = find(&self.buffered, pattern) {
                return self.buffered.drain(..at + pattern.len()).collect();
            }
            match self.fill(deadline) {
                Ok(0) => panic!(
                    "EOF before {:?}; got {:?}",
                    String::from_utf8_lossy(pattern),
                    String::from_utf8_lossy(&self.buffered)
                ),
                Ok(_) => {}
                Err(e) => panic!(
                    "waiting for {:?}: {e}; got {:?}",
                    String::from_utf8_lossy(pattern),
                    String::from_utf8_lossy(&self.buffered)
                ),
            }
        }
    }

    /// Reads exactly `n` bytes.
    pub fn read_exact(&mut self, n: usize) -> Vec<u8> {
        let deadline = Instant::now() + self.timeout;
        while self.buffered.len() < n {
            match self.fill(deadline) {
                Ok(0) => panic!("EOF after {} of {n} bytes", self.buffered.len()),
                Ok(_) => {}
                Err(e) => panic!("reading {n} bytes: {e}"),
            }
        }
        self.buffered.drain(..n).collect()
    }

    /// Reads one whole HTTP/1.1 response (head and body, framed by Content-Length, chunked
    /// encoding, or the close of the connection). `head_request` says the body is absent.
    pub fn read_response_to(&mut self, head_request: bool) -> Response {
        let deadline = Instant::now() + self.timeout;
        let mut eof = false;
        loop {
            match parse_response(&self.buffered, head_request, eof) {
                Ok(Some((response, used))) => {
                    self.buffered.drain(..used);
                    return response;
                }
                Ok(None) if eof => panic!("EOF inside a response: {:?}", String::from_utf8_lossy(&self.buffered)),
                Ok(None) => {}
                Err(e) => panic!("bad response ({e}): {:?}", String::from_utf8_lossy(&self.buffered)),
            }
            match self.fill(deadline) {
                Ok(0) => eof = true,
                Ok(_) => {}
                Err(e) => panic!("waiting for a response: {e}; got {:?}", String::from_utf8_lossy(&self.buffered)),
            }
        }
    }

    /// Reads one whole response to a request that was not HEAD.
    pub fn read_response(&mut self) -> Response {
        self.read_response_to(false)
    }

    /// Sends a request and reads its response.
    pub fn request(&mut self, bytes: &[u8]) -> Response {
        self.send(bytes);
        self.read_response_to(bytes.starts_with(b"HEAD "))
    }

    /// Expects the server to close the connection (EOF or reset) within the timeout, with no
    /// further bytes. Returns any bytes that arrived before the close.
    pub fn expect_close(&mut self) -> Vec<u8> {
        let deadline = Instant::now() + self.timeout;
        loop {
            match self.fill(deadline) {
                Ok(0) => return std::mem::take(&mut self.buffered),
                Ok(_) => {}
                Err(e) if e.kind() == ErrorKind::ConnectionReset => return std::mem::take(&mut self.buffered),
                Err(e) => {
                    panic!("expected the server to close: {e}; got {:?}", String::from_utf8_lossy(&self.buffered))
                }
            }
        }
    }

    /// Whether the connection is still open: nothing arrives and no EOF within `wait`.
    pub fn is_open_after(&mut self, wait: Duration) -> bool {
        let deadline = Instant::now() + wait;
        match self.fill(deadline) {
            Ok(0) => false,
            Ok(_) => true,
            Err(e) => matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut),
        }
    }

    /// Takes whatever is buffered.
    pub fn take_buffered(&mut self) -> Vec<u8> {
        std::mem::take(&mut self.buffered)
    }
}
