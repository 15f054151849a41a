//! A minimal blocking HTTP/1.1 client over a [`Counted`] socket: enough to send the hub's
//! GET and POST requests with keep-alive and read `Content-Length` answers (poll, long-poll,
//! publish) or a head followed by a stream (SSE) or by frames (the WebSocket 101).
//!
//! Requests carry only what a minimal client needs (`Host`, `Accept`): browsers add several
//! hundred bytes of `User-Agent`, `Accept-*`, `sec-ch-*` and cookies to every request, so the
//! per-request costs measured here are a lower bound (docs/comparison.md says by how much).

use std::io::{self, Read, Write};
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering::Relaxed};

use crate::wire::{Counted, Counters, is_tick};

/// The longest response head accepted.
const MAX_HEAD: usize = 16 << 10;

/// `--browser-headers`: what Chrome adds to a same-origin `fetch`/`EventSource`/`WebSocket`
/// request besides `Host` (no cookies, which would add more). About 400 bytes per request.
pub(crate) const BROWSER_HEADERS: &str = "\
User-Agent: Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36\r\n\
Accept-Language: en-US,en;q=0.9\r\n\
Accept-Encoding: gzip, deflate, br, zstd\r\n\
Referer: http://127.0.0.1/\r\n\
sec-ch-ua: \"Chromium\";v=\"131\", \"Not_A Brand\";v=\"24\"\r\n\
sec-ch-ua-mobile: ?0\r\n\
sec-ch-ua-platform: \"Linux\"\r\n\
Sec-Fetch-Site: same-origin\r\n\
Sec-Fetch-Mode: cors\r\n\
Sec-Fetch-Dest: empty\r\n";

/// A response head: the status and the one header the clients need.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Head {
    /// The status code.
    pub(crate) status: u16,
    /// `Content-Length`, if present (SSE streams and 101s have none).
    pub(crate) content_length: Option<usize>,
    /// `Talkback-Missed`: messages that fell out of the history before this answer (else 0).
    pub(crate) missed: u64,
}

/// One keep-alive connection to the hub and the bytes read but not yet used.
#[derive(Debug)]
pub(crate) struct HttpConn {
    /// The counted socket.
    pub(crate) stream: Counted,
    /// Received bytes not consumed yet (the next head, body, frames or stream bytes).
    pub(crate) buf: Vec<u8>,
    /// Header lines added to every request ("" or [`BROWSER_HEADERS`]).
    pub(crate) extra: &'static str,
    addr: SocketAddr,
}

impl HttpConn {
    /// Dials the hub; `extra` header lines (each ending in CRLF) go into every request.
    pub(crate) fn connect(addr: SocketAddr, counters: &Arc<Counters>, extra: &'static str) -> io::Result<HttpConn> {
        Ok(HttpConn { stream: Counted::connect(addr, counters)?, buf: Vec::new(), extra, addr })
    }

    /// Sends `GET target` with `accept` and the connection's extra header lines; counts a request.
    pub(crate) fn get(&mut self, target: &str, accept: &str) -> io::Result<()> {
        let request = format!("GET {target} HTTP/1.1\r\nHost: {}\r\n{accept}{}\r\n", self.addr, self.extra);
        self.stream.counters().request();
        self.stream.write_all(request.as_bytes())
    }

    /// Sends `POST target` with a text body; counts a request.
    pub(crate) fn post(&mut self, target: &str, body: &str) -> io::Result<()> {
        let request = format!(
            "POST {target} HTTP/1.1\r\nHost: {}\r\nContent-Type: text/plain\r\nContent-Length: {}\r\n\r\n{body}",
            self.addr,
            body.len()
        );
        self.stream.counters().request();
        self.stream.write_all(request.as_bytes())
    }

    /// Reads once (up to one [`crate::wire::TICK`]). `Ok(false)`: nothing arrived yet.
    pub(crate) fn fill(&mut self) -> io::Result<bool> {
        let mut chunk = [0u8; 16 << 10];
        match self.stream.read(&mut chunk) {
            Ok(0) => Err(io::Error::new(io::ErrorKind::UnexpectedEof, "the hub closed the connection")),
            Ok(n) => {
                self.buf.extend_from_slice(&chunk[..n]);
                Ok(true)
            }
            Err(e) if is_tick(&e) => Ok(false),
            Err(e) => Err(e),
        }
    }

    /// Reads a response head, leaving what follows it in `buf`. `Ok(None)`: `stop` was set.
    pub(crate) fn read_head(&mut self, stop: &AtomicBool) -> io::Result<Option<Head>> {
        loop {
            if let Some(end) = find_blank_line(&self.buf) {
                let head = parse_head(&self.buf[..end])?;
                self.buf.drain(..end + 4);
                return Ok(Some(head));
            }
            if self.buf.len() > MAX_HEAD {
                return Err(invalid("response head too long"));
            }
            if stop.load(Relaxed) {
                return Ok(None);
            }
            self.fill()?;
        }
    }

    /// Reads a whole `Content-Length` response. `Ok(None)`: `stop` was set first.
    pub(crate) fn read_response(&mut self, stop: &AtomicBool) -> io::Result<Option<(Head, Vec<u8>)>> {
        let Some(head) = self.read_head(stop)? else { return Ok(None) };
        let length = match head.status {
            204 | 304 => 0,
            _ => head.content_length.ok_or_else(|| invalid("response without Content-Length"))?,
        };
        while self.buf.len() < length {
            if stop.load(Relaxed) {
                return Ok(None);
            }
            self.fill()?;
        }
        let body = self.buf.drain(..length).collect();
        Ok(Some((head, body)))
    }
}

fn invalid(message: &str) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, message.to_owned())
}

fn find_blank_line(bytes: &[u8]) -> Option<usize> {
    bytes.windows(4).position(|w| w == b"\r\n\r\n")
}

/// Parses `HTTP/1.1 200 OK\r\nName: value…` (without the blank line).
fn parse_head(head: &[u8]) -> io::Result<Head> {
    let text = std::str::from_utf8(head).map_err(|_| invalid("response head is not UTF-8"))?;
    let mut lines = text.split("\r\n");
    let status_line = lines.next().unwrap_or_default();
    let status = status_line
        .strip_prefix("HTTP/1.1 ")
        .and_then(|rest| rest.get(..3))
        .and_then(|code| code.parse().ok())
        .ok_or_else(|| invalid("bad status line"))?;
    let mut content_length = None;
    let mut missed = 0;
    for line in lines {
        let Some((name, value)) = line.split_once(':') else { return Err(invalid("bad header line")) };
        if name.eq_ignore_ascii_case("content-length") {
            content_length = Some(value.trim().parse().map_err(|_| invalid("bad Content-Length"))?);
        }
        if name.eq_ignore_ascii_case("talkback-missed") {
            missed = value.trim().parse().map_err(|_| invalid("bad Talkback-Missed"))?;
        }
        if name.eq_ignore_ascii_case("transfer-encoding") {
            return Err(invalid("chunked responses are not expected from the hub"));
        }
    }
    Ok(Head { status, content_length, missed })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_status_and_content_length() {
        let head = parse_head(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\ncontent-length: 12").unwrap();
        assert_eq!(head, Head { status: 200, content_length: Some(12), missed: 0 });
        assert_eq!(parse_head(b"HTTP/1.1 204 No Content").unwrap().status, 204);
        assert!(parse_head(b"HTTP/1.0 200 OK").is_err());
    }

    #[test]
    fn finds_the_end_of_the_head() {
        assert_eq!(find_blank_line(b"HTTP/1.1 204 X\r\n\r\nrest"), Some(14));
        assert_eq!(find_blank_line(b"HTTP/1.1 204 X\r\n"), None);
    }
}
