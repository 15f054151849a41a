//! A minimal HTTP/1.1 client over tokio: enough to publish, long-poll and read an event
//! stream on one keep-alive connection, and nothing else. Responses are framed by
//! `Content-Length`, chunked encoding, or (for streams) the connection itself.

use std::cell::RefCell;
use std::io;
use std::net::{SocketAddr, ToSocketAddrs};

use tokio::io::AsyncWriteExt;
use tokio::net::TcpStream;

/// The most one read(2) takes.
const READ_SIZE: usize = 16 * 1024;

thread_local! {
    /// What each read(2) goes into before joining a connection's buffer (see
    /// [`crate::net::read_once`]): one per thread, not one per connection. Sixteen thousand
    /// subscribers with a 16 KiB buffer each are 256 MiB the client touches page by page —
    /// a page fault and a cold TLB entry per connection, a cost that grows with the number of
    /// subscribers and would be charged to the server under test as a slower fan-out.
    static SCRATCH: RefCell<Box<[u8]>> = RefCell::new(vec![0; READ_SIZE].into_boxed_slice());
}

/// An `http://host:port/path` URL, resolved.
#[derive(Debug, Clone)]
pub struct Url {
    /// Where to connect.
    pub addr: SocketAddr,
    /// The `Host` header value.
    pub host: String,
    /// Path and query.
    pub path: String,
}

impl Url {
    /// Parses `http://` or `ws://` URLs; the port defaults to 80.
    pub fn parse(url: &str) -> Result<Self, String> {
        let rest = url
            .strip_prefix("http://")
            .or_else(|| url.strip_prefix("ws://"))
            .ok_or_else(|| format!("{url:?}: only http:// and ws:// URLs"))?;
        let (host, path) = match rest.find('/') {
            Some(i) => (&rest[..i], &rest[i..]),
            None => (rest, "/"),
        };
        let with_port = if host.contains(':') { host.to_owned() } else { format!("{host}:80") };
        let addr = with_port
            .to_socket_addrs()
            .map_err(|e| format!("{url:?}: {e}"))?
            .next()
            .ok_or_else(|| format!("{url:?}: no address"))?;
        Ok(Self { addr, host: host.to_owned(), path: path.to_owned() })
    }
}

/// A response head: status and headers (names lower-cased).
#[derive(Debug, Clone)]
pub struct Head {
    /// Status code.
    pub status: u16,
    /// Header fields in order, names lower-cased.
    pub headers: Vec<(String, String)>,
}

impl Head {
    /// The first value of header `name` (lower-case).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(n, _)| n == name).map(|(_, v)| v.as_str())
    }

    fn framing(&self) -> Framing {
        if matches!(self.status, 101 | 204 | 304) || (100..200).contains(&self.status) {
            return Framing::Length(0);
        }
        if self.header("transfer-encoding").is_some_and(|v| v.to_ascii_lowercase().contains("chunked")) {
            return Framing::Chunked;
        }
        match self.header("content-length").and_then(|v| v.trim().parse().ok()) {
            Some(n) => Framing::Length(n),
            None => Framing::UntilClose,
        }
    }
}

#[derive(Debug, Clone, Copy)]
enum Framing {
    Length(usize),
    Chunked,
    UntilClose,
}

impl Framing {
    /// Hands `consume` the front of `avail` that belongs to a body framed by length or by the
    /// close (not chunked); returns how many bytes that was and the framing of what is left.
    fn lend(self, avail: &[u8], consume: &mut impl FnMut(&[u8])) -> (usize, Framing) {
        match self {
            Framing::Length(left) => {
                let take = left.min(avail.len());
                consume(&avail[..take]);
                (take, Framing::Length(left - take))
            }
            Framing::Chunked | Framing::UntilClose => {
                consume(avail);
                (avail.len(), self)
            }
        }
    }

    /// The body is complete (only a length-framed one ever is before the close).
    fn is_done(self) -> bool {
        matches!(self, Framing::Length(0))
    }
}

/// Waits until `stream` is readable, reads once into the thread's scratch and hands the bytes
/// to `take` — with no await in between, so the scratch is free again before any other task
/// runs on this thread. End of stream is an error: every caller expects more bytes.
async fn read_with(stream: &TcpStream, take: impl FnOnce(&[u8])) -> io::Result<()> {
    let mut take = Some(take);
    loop {
        stream.readable().await?;
        let got = SCRATCH.with_borrow_mut(|scratch| {
            let got = crate::net::read_once(stream, scratch)?;
            if got > 0
                && let Some(take) = take.take()
            {
                take(&scratch[..got]);
            }
            Ok::<_, io::Error>(got)
        });
        match got {
            Ok(0) => return Err(io::Error::new(io::ErrorKind::UnexpectedEof, "connection closed")),
            Ok(_) => return Ok(()),
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => continue,
            Err(e) => return Err(e),
        }
    }
}

fn bad(msg: impl Into<String>) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, msg.into())
}

/// One client connection with its receive buffer.
#[derive(Debug)]
pub struct Conn {
    stream: TcpStream,
    buf: Vec<u8>,
    start: usize,
    /// De-chunking state of the response body being streamed.
    chunk: Dechunk,
    framing: Option<Framing>,
    /// [`Conn::stream_with`]'s buffer for the pieces it cannot lend from the read scratch.
    piece: Vec<u8>,
}

impl Conn {
    /// Connects, with `TCP_NODELAY`.
    pub async fn connect(addr: SocketAddr) -> io::Result<Self> {
        let stream = TcpStream::connect(addr).await?;
        stream.set_nodelay(true)?;
        Ok(Self { stream, buf: Vec::new(), start: 0, chunk: Dechunk::default(), framing: None, piece: Vec::new() })
    }

    /// Writes all of `bytes`.
    pub async fn send(&mut self, bytes: &[u8]) -> io::Result<()> {
        self.stream.write_all(bytes).await
    }

    async fn fill(&mut self) -> io::Result<()> {
        if self.start > 0 && self.start == self.buf.len() {
            self.buf.clear();
            self.start = 0;
        } else if self.start > 64 * 1024 {
            self.buf.drain(..self.start);
            self.start = 0;
        }
        let buf = &mut self.buf;
        read_with(&self.stream, |bytes| buf.extend_from_slice(bytes)).await
    }

    /// Reads a response head; the body stays buffered for [`Conn::body`] or [`Conn::stream_into`].
    pub async fn head(&mut self) -> io::Result<Head> {
        loop {
            let mut fields = [httparse::EMPTY_HEADER; 32];
            let mut resp = httparse::Response::new(&mut fields);
            match resp.parse(&self.buf[self.start..]) {
                Ok(httparse::Status::Complete(n)) => {
                    let head = Head {
                        status: resp.code.unwrap_or(0),
                        headers: resp
                            .headers
                            .iter()
                            .map(|h| (h.name.to_ascii_lowercase(), String::from_utf8_lossy(h.value).into_owned()))
                            .collect(),
                    };
                    self.start += n;
                    self.framing = Some(head.framing());
                    self.chunk = Dechunk::default();
                    return Ok(head);
                }
                Ok(httparse::Status::Partial) => self.fill().await?,
                Err(e) => return Err(bad(format!("bad response head: {e}"))),
            }
        }
    }

    /// After a `101 Switching Protocols` head: everything that follows is the new protocol's
    /// bytes, read with [`Conn::stream_into`] until the connection closes.
    pub fn upgraded(&mut self) {
        self.framing = Some(Framing::UntilClose);
    }

    /// Reads the whole body of the response whose head was just read.
    pub async fn body(&mut self) -> io::Result<Vec<u8>> {
        let mut body = Vec::new();
        while !self.stream_into(&mut body).await? {}
        Ok(body)
    }

    /// Appends the next piece of the body to `out`; true when the body is complete.
    /// For a stream without an end, call it in a loop and consume `out` as it grows.
    pub async fn stream_into(&mut self, out: &mut Vec<u8>) -> io::Result<bool> {
        loop {
            let framing = self.framing.ok_or_else(|| bad("no response head read"))?;
            let avail = &self.buf[self.start..];
            let (used, done) = match framing {
                Framing::Chunked => self.chunk.feed(avail, out).map_err(bad)?,
                unchunked => {
                    let (used, left) = unchunked.lend(avail, &mut |piece| out.extend_from_slice(piece));
                    self.framing = Some(left);
                    (used, left.is_done())
                }
            };
            self.start += used;
            if done {
                self.framing = None;
                return Ok(true);
            }
            if used > 0 {
                return Ok(false);
            }
            self.fill().await?;
        }
    }

    /// Like [`Conn::stream_into`], but lends each piece of the body to `consume` instead of
    /// appending it to a buffer: a close-delimited or length-framed body goes to `consume`
    /// straight from the thread's read scratch, so a stream's bytes are copied in user space
    /// only by the consumer's own parser (not into the connection's buffer, then into the
    /// caller's, first). A chunked or empty body, or bytes read together with the head, take
    /// the copying path through the connection's `piece`. True when the body is complete.
    pub async fn stream_with(&mut self, consume: &mut impl FnMut(&[u8])) -> io::Result<bool> {
        let framing = self.framing.ok_or_else(|| bad("no response head read"))?;
        if matches!(framing, Framing::Chunked) || framing.is_done() || self.start < self.buf.len() {
            let mut piece = std::mem::take(&mut self.piece);
            piece.clear();
            let done = self.stream_into(&mut piece).await;
            consume(&piece);
            self.piece = piece;
            return done;
        }
        self.buf.clear();
        self.start = 0;
        let (buf, mut left) = (&mut self.buf, framing);
        read_with(&self.stream, |bytes| {
            let (used, rest) = framing.lend(bytes, consume);
            buf.extend_from_slice(&bytes[used..]); // the next response's
            left = rest;
        })
        .await?;
        self.framing = if left.is_done() { None } else { Some(left) };
        Ok(left.is_done())
    }
}

/// Chunked transfer coding decoder (RFC 9112 §7.1), streaming; trailers are skipped.
#[derive(Debug, Default, Clone, Copy)]
struct Dechunk {
    /// Bytes left in the current chunk's data, then 2 for its CRLF.
    left: usize,
    in_data: bool,
    finished_size_zero: bool,
}

impl Dechunk {
    /// Consumes what it can of `input`; returns (bytes used, body complete).
    fn feed(&mut self, input: &[u8], out: &mut Vec<u8>) -> Result<(usize, bool), String> {
        let mut used = 0;
        loop {
            let rest = &input[used..];
            if self.in_data {
                if self.left > 2 {
                    let take = (self.left - 2).min(rest.len());
                    out.extend_from_slice(&rest[..take]);
                    used += take;
                    self.left -= take;
                    if take == 0 {
                        return Ok((used, false));
                    }
                    continue;
                }
                // The CRLF after the data.
                let take = self.left.min(rest.len());
                used += take;
                self.left -= take;
                if self.left > 0 {
                    return Ok((used, false));
                }
                self.in_data = false;
                continue;
            }
            let Some(eol) = rest.windows(2).position(|w| w == b"\r\n") else {
                return Ok((used, false));
            };
            let line = std::str::from_utf8(&rest[..eol]).map_err(|_| "chunk size not ASCII")?;
            used += eol + 2;
            if self.finished_size_zero {
                if line.is_empty() {
                    *self = Self::default();
                    return Ok((used, true));
                }
                continue; // a trailer field
            }
            let size_text = line.split(';').next().unwrap_or_default().trim();
            let size = usize::from_str_radix(size_text, 16).map_err(|_| format!("bad chunk size {line:?}"))?;
            if size == 0 {
                self.finished_size_zero = true;
            } else {
                self.left = size + 2;
                self.in_data = true;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dechunks_every_split() {
        let wire = b"5\r\nhello\r\n7;x=y\r\n, world\r\n0\r\nT: v\r\n\r\n";
        for split in 1..wire.len() {
            let (mut d, mut out, mut done) = (Dechunk::default(), Vec::new(), false);
            let mut pending: Vec<u8> = Vec::new();
            for piece in wire.chunks(split) {
                pending.extend_from_slice(piece);
                let (used, fin) = d.feed(&pending, &mut out).expect("valid");
                pending.drain(..used);
                done |= fin;
            }
            assert!(done, "split {split}");
            assert_eq!(out, b"hello, world");
        }
    }

    /// RFC 9112 §6.3: a body is framed by its `Content-Length` (what follows is the next
    /// response), is empty after a 204, or, with neither length nor chunking, ends with the
    /// connection. Lent pieces
    /// must add up to the body exactly, however the server's writes split it.
    #[test]
    fn rfc9112_6_3_lent_pieces_add_up_to_each_body() {
        use std::io::Write;
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        let addr = listener.local_addr().expect("addr");
        let server = std::thread::spawn(move || {
            let (mut socket, _) = listener.accept().expect("accept");
            let writes: [&[u8]; 5] = [
                b"HTTP/1.1 200 OK\r\nContent-Length: 11\r\n\r\nhel",
                b"lo world",
                b"HTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\n",
                b"abcdHTTP/1.1 204 No Content\r\n\r\nHTTP/1.1 200 OK\r\n\r\nfirst ",
                b"and more",
            ];
            for bytes in writes {
                socket.write_all(bytes).expect("write");
                std::thread::sleep(std::time::Duration::from_millis(20));
            }
        });
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime");
        rt.block_on(async {
            let mut conn = Conn::connect(addr).await.expect("connect");
            let body_of = async |conn: &mut Conn, until: usize| {
                let mut body = Vec::new();
                loop {
                    let done = conn.stream_with(&mut |piece| body.extend_from_slice(piece)).await;
                    match done {
                        Ok(true) => return body,
                        Ok(false) if body.len() >= until => return body,
                        Ok(false) => {}
                        Err(e) => panic!("stream_with: {e}"),
                    }
                }
            };
            assert_eq!(conn.head().await.expect("head").status, 200);
            assert_eq!(body_of(&mut conn, usize::MAX).await, b"hello world", "split across writes");
            conn.head().await.expect("second head");
            assert_eq!(body_of(&mut conn, usize::MAX).await, b"abcd", "ends at its length");
            assert_eq!(conn.head().await.expect("a 204 read with the second body").status, 204);
            assert_eq!(body_of(&mut conn, usize::MAX).await, b"", "a 204 has no body, and no read waits for one");
            conn.head().await.expect("fourth head");
            assert_eq!(body_of(&mut conn, 14).await, b"first and more", "close-delimited");
        });
        server.join().expect("server");
    }

    #[test]
    fn parses_urls() {
        let u = Url::parse("http://127.0.0.1:8080/ch/a/sse?x=1").expect("valid");
        assert_eq!(u.addr.port(), 8080);
        assert_eq!(u.path, "/ch/a/sse?x=1");
        assert_eq!(u.host, "127.0.0.1:8080");
    }
}
