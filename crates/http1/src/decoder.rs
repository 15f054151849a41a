//! The request decoder: one per connection, bytes in, [`Event`]s out
//! ([RFC 9112 §6](https://www.rfc-editor.org/rfc/rfc9112#section-6): framing).
//!
//! All state transitions live in this file, one method per state.

use crate::chunked::{ChunkLine, TrailerScan};
use crate::head::Spare;
use crate::parse::parse_head;
use crate::scan::HeadScan;
use crate::target::KnownHost;
use crate::{Error, Request};

/// How much a client may make us hold. Each has a status when exceeded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Limits {
    /// Longest request-line, CRLF included (default 8192, as nginx and RFC 9112 §3's
    /// "at least 8000 octets"); beyond it: 414.
    pub max_request_line: usize,
    /// Longest head, request-line and final CRLF included (default 16384); beyond: 431.
    pub max_head: usize,
    /// Most field lines in a head (default 100, as hyper); beyond: 431.
    pub max_headers: usize,
    /// Largest body in bytes (default 1 MiB); a larger `Content-Length` earns 413
    /// before any body is read, chunks adding up to more earn 413 as they arrive.
    pub max_body: u64,
    /// Largest trailer section in bytes, final CRLF excluded (default 8192); beyond: 431.
    pub max_trailers: usize,
}

impl Default for Limits {
    fn default() -> Limits {
        Limits { max_request_line: 8192, max_head: 16384, max_headers: 100, max_body: 1 << 20, max_trailers: 8192 }
    }
}

/// The answer to one [`RequestDecoder::decode`] call.
#[derive(Debug, PartialEq)]
pub struct Decoded<'a> {
    /// Bytes of the input the caller may now drop. Always 0 when `event` is `None`.
    pub consumed: usize,
    /// What those bytes meant; `None` means "need more bytes" (not an error).
    pub event: Option<Event<'a>>,
}

/// What the decoder found.
#[derive(Debug, PartialEq)]
pub enum Event<'a> {
    /// A complete, checked request head. Its body (if any) follows as `Data`.
    Head(Request),
    /// Body bytes, de-chunked, borrowed from the input.
    Data(&'a [u8]),
    /// The body is complete (right after `Head` when there is none); the next
    /// request may follow.
    End,
}

/// What the decoder waits for. The names appear in the crate's state diagram.
#[derive(Debug, Clone, PartialEq, Eq)]
enum State {
    /// A request head (RFC 9112 §2.1), or the first byte of one.
    ExpectHead(HeadScan),
    /// `remaining` bytes of a Content-Length body (RFC 9112 §6.2).
    ExpectBody { remaining: u64 },
    /// A chunk-size line (RFC 9112 §7.1).
    ExpectChunkSize(ChunkLine),
    /// `remaining` bytes of chunk-data.
    ExpectChunkData { remaining: u64 },
    /// The CRLF after chunk-data; `seen_cr` once its CR arrived.
    ExpectChunkDataEnd { seen_cr: bool },
    /// The trailer section after the last chunk (RFC 9112 §7.1.2).
    ExpectTrailers(TrailerScan),
    /// A request was refused; the connection must close.
    Failed(Error),
}

/// Decodes the requests of one connection, pipelined or not, without I/O.
#[derive(Debug, Clone)]
pub struct RequestDecoder {
    limits: Limits,
    state: State,
    /// Bytes at the front of the input already read into `state` but not yet
    /// reported as consumed (a partial chunk line or trailer section).
    skip: usize,
    /// Chunk-data bytes of the current body so far, against `max_body`.
    body_seen: u64,
    /// Buffers of an answered request, handed back by [`RequestDecoder::recycle`]:
    /// the next head is decoded into them, so a keep-alive connection allocates
    /// nothing per request once warm.
    spare: Spare,
    /// The `Host` this connection last sent and had accepted, not checked again.
    known_host: KnownHost,
}

/// What one chunked transition did with the bytes it was given.
enum Step<'a> {
    /// Read this many framing bytes; go on.
    Framing(usize),
    /// Read this many bytes and produced an event.
    Emit(usize, Event<'a>),
}

const NEED_MORE: Decoded<'static> = Decoded { consumed: 0, event: None };

impl RequestDecoder {
    /// A decoder waiting for the first request.
    pub fn new(limits: Limits) -> RequestDecoder {
        RequestDecoder {
            limits,
            state: State::ExpectHead(HeadScan::default()),
            skip: 0,
            body_seen: 0,
            spare: Spare::default(),
            known_host: KnownHost::new(),
        }
    }

    /// Decodes the next event from `input`: ALL the bytes the connection holds that
    /// earlier calls did not consume, followed by any new ones. Call again after each
    /// event; stop at `event: None` and call again when more bytes arrive.
    pub fn decode<'a>(&mut self, input: &'a [u8]) -> Result<Decoded<'a>, Error> {
        let result = match &self.state {
            State::Failed(err) => return Err(*err),
            State::ExpectHead(_) => self.on_head(input),
            State::ExpectBody { .. } => Ok(self.on_body(input)),
            _ => self.on_chunked(input),
        };
        if let Err(err) = result {
            self.state = State::Failed(err);
        }
        result
    }

    /// Hands back a request the caller is done with, so that its buffers (target and
    /// fields) hold the next request decoded here instead of new allocations. Optional:
    /// a dropped request costs only its allocations. Results are the same either way.
    #[inline]
    pub fn recycle(&mut self, request: Request) {
        self.spare = request.into_spare();
    }

    /// Between requests: waiting for a head and holding none of it. A server uses
    /// this to choose the keep-alive timeout over the head timeout.
    pub fn is_idle(&self) -> bool {
        matches!(&self.state, State::ExpectHead(scan) if scan.scanned == 0)
    }

    /// The name of the current state, as in the diagram (for `--trace`).
    pub fn state_name(&self) -> &'static str {
        match self.state {
            State::ExpectHead(_) => "ExpectHead",
            State::ExpectBody { .. } => "ExpectBody",
            State::ExpectChunkSize(_) => "ExpectChunkSize",
            State::ExpectChunkData { .. } => "ExpectChunkData",
            State::ExpectChunkDataEnd { .. } => "ExpectChunkDataEnd",
            State::ExpectTrailers(_) => "ExpectTrailers",
            State::Failed(_) => "Failed",
        }
    }

    /// The limits this decoder enforces.
    pub fn limits(&self) -> &Limits {
        &self.limits
    }

    /// `ExpectHead` → `ExpectBody` (length or none) or `ExpectChunkSize` (chunked).
    fn on_head<'a>(&mut self, input: &'a [u8]) -> Result<Decoded<'a>, Error> {
        let State::ExpectHead(scan) = &mut self.state else {
            return Ok(NEED_MORE);
        };
        let Some(span) = scan.advance(input, &self.limits)? else {
            return Ok(NEED_MORE);
        };
        let head = &input[span.start..span.end];
        let spare = std::mem::take(&mut self.spare);
        let request = parse_head(head, span.field_lines, &self.limits, spare, &mut self.known_host)?;
        self.state = match request.content_length {
            None => State::ExpectChunkSize(ChunkLine::new()),
            Some(remaining) => State::ExpectBody { remaining },
        };
        self.body_seen = 0;
        Ok(Decoded { consumed: span.end, event: Some(Event::Head(request)) })
    }

    /// `ExpectBody` → `Data` while bytes remain, then `End` and `ExpectHead`.
    fn on_body<'a>(&mut self, input: &'a [u8]) -> Decoded<'a> {
        let State::ExpectBody { remaining } = &mut self.state else {
            return NEED_MORE;
        };
        if *remaining == 0 {
            self.state = State::ExpectHead(HeadScan::default());
            return Decoded { consumed: 0, event: Some(Event::End) };
        }
        let n = input.len().min(usize::try_from(*remaining).unwrap_or(usize::MAX));
        if n == 0 {
            return NEED_MORE;
        }
        *remaining -= n as u64;
        Decoded { consumed: n, event: Some(Event::Data(&input[..n])) }
    }

    /// The chunked states: framing bytes are read (and remembered in `skip`) until
    /// there is data to hand out or the body ends.
    fn on_chunked<'a>(&mut self, input: &'a [u8]) -> Result<Decoded<'a>, Error> {
        if self.skip > input.len() {
            return Ok(NEED_MORE); // fewer bytes than last time: API misuse, wait
        }
        let mut at = self.skip;
        while at < input.len() {
            match self.chunked_step(&input[at..])? {
                Step::Framing(used) => at += used,
                Step::Emit(used, event) => {
                    self.skip = 0;
                    let event = Some(event);
                    return Ok(Decoded { consumed: at + used, event });
                }
            }
        }
        self.skip = input.len();
        Ok(NEED_MORE)
    }

    /// One transition of the chunked states on the bytes in `rest` (never empty).
    fn chunked_step<'a>(&mut self, rest: &'a [u8]) -> Result<Step<'a>, Error> {
        match &mut self.state {
            State::ExpectChunkData { remaining } => {
                let n = rest.len().min(usize::try_from(*remaining).unwrap_or(usize::MAX));
                *remaining -= n as u64;
                if *remaining == 0 {
                    self.state = State::ExpectChunkDataEnd { seen_cr: false };
                }
                Ok(Step::Emit(n, Event::Data(&rest[..n])))
            }
            State::ExpectChunkSize(line) => match line.advance(rest)? {
                Some((used, size)) => {
                    self.on_chunk_size(size)?;
                    Ok(Step::Framing(used))
                }
                None => Ok(Step::Framing(rest.len())),
            },
            State::ExpectChunkDataEnd { seen_cr } => {
                self.state = match (*seen_cr, rest[0]) {
                    (false, b'\r') => State::ExpectChunkDataEnd { seen_cr: true },
                    (true, b'\n') => State::ExpectChunkSize(ChunkLine::new()),
                    (false, b'\n') => return Err(Error::BareLf),
                    _ => return Err(Error::MissingChunkTerminator),
                };
                Ok(Step::Framing(1))
            }
            State::ExpectTrailers(scan) => match scan.advance(rest, self.limits.max_trailers)? {
                Some(used) => {
                    self.state = State::ExpectHead(HeadScan::default());
                    Ok(Step::Emit(used, Event::End))
                }
                None => Ok(Step::Framing(rest.len())),
            },
            // Not a chunked state: on_chunked is only called from the four above.
            _ => Ok(Step::Framing(rest.len())),
        }
    }

    /// `ExpectChunkSize` → `ExpectChunkData`, or `ExpectTrailers` after the last chunk.
    fn on_chunk_size(&mut self, size: u64) -> Result<(), Error> {
        if size == 0 {
            self.state = State::ExpectTrailers(TrailerScan::new());
            return Ok(());
        }
        self.body_seen = self.body_seen.saturating_add(size);
        if self.body_seen > self.limits.max_body {
            return Err(Error::ChunkedBodyTooLarge);
        }
        self.state = State::ExpectChunkData { remaining: size };
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn decoder() -> RequestDecoder {
        RequestDecoder::new(Limits::default())
    }

    #[test]
    fn the_diagram_names_the_states() {
        let docs = include_str!("lib.rs");
        for name in [
            "ExpectHead",
            "ExpectBody{remaining}",
            "ExpectChunkSize",
            "ExpectChunkData{remaining}",
            "ExpectChunkDataEnd",
            "ExpectTrailers",
            "Failed",
        ] {
            assert!(docs.contains(name), "lib.rs diagram lacks {name}");
        }
    }

    #[test]
    fn rfc9112_6_3_no_body_means_end_right_after_head() {
        let mut d = decoder();
        let get = b"GET / HTTP/1.1\r\nHost: a\r\n\r\n";
        assert!(matches!(d.decode(get), Ok(Decoded { consumed: 27, event: Some(Event::Head(_)) })));
        assert_eq!(d.state_name(), "ExpectBody");
        let end = Decoded { consumed: 0, event: Some(Event::End) };
        assert_eq!(d.decode(b""), Ok(end));
        assert!(d.is_idle());
    }

    #[test]
    fn is_idle_only_before_the_first_byte_of_a_head() {
        let mut d = decoder();
        assert!(d.is_idle());
        assert_eq!(d.decode(b"GE"), Ok(NEED_MORE));
        assert!(!d.is_idle());
    }

    #[test]
    fn chunk_framing_is_remembered_not_rescanned() {
        let mut d = decoder();
        let head = b"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n";
        assert!(matches!(d.decode(head), Ok(Decoded { event: Some(Event::Head(_)), .. })));
        assert_eq!(d.decode(b"5;ext"), Ok(NEED_MORE));
        assert_eq!(d.skip, 5);
        let data = Decoded { consumed: 9, event: Some(Event::Data(b"he")) };
        assert_eq!(d.decode(b"5;ext\r\nhe"), Ok(data));
        assert_eq!(d.skip, 0);
    }

    /// Every event of `input` fed whole, as text; `recycle` hands each request back.
    fn events(input: &[u8], recycle: bool) -> Vec<String> {
        let (mut d, mut input, mut out) = (decoder(), input, Vec::new());
        for _ in 0..64 {
            match d.decode(input) {
                Ok(Decoded { event: None, .. }) => break,
                Ok(Decoded { consumed, event: Some(event) }) => {
                    input = &input[consumed..];
                    out.push(format!("{event:?}"));
                    if let (Event::Head(request), true) = (event, recycle) {
                        d.recycle(request);
                    }
                }
                Err(err) => out.push(format!("{err:?}")),
            }
        }
        out
    }

    #[test]
    fn recycled_requests_change_no_result_even_after_an_error() {
        let long = "v".repeat(5000);
        let heads = [
            "GET /a HTTP/1.1\r\nHost: a\r\nX: 1\r\nY: 2\r\n\r\n".to_owned(),
            "POST /b?q HTTP/1.1\r\nHost: a\r\nContent-Length: 2\r\n\r\nhi".to_owned(),
            format!("GET /{long} HTTP/1.1\r\nHost: a\r\nX-Long: {long}\r\n\r\n"),
            "GET / HTTP/1.0\r\n\r\n".to_owned(),
            "GET /c HTTP/1.1\r\nhost: b:80\r\n\r\n".to_owned(),
            "GET /d HTTP/1.1\r\nHost: b:80\r\n\r\n".to_owned(),
            "GET /e HTTP/1.1\r\nHost: b:8o\r\n\r\n".to_owned(),
            "GET /f HTTP/1.1\r\nHost: a\r\n\r\n".to_owned(),
        ];
        let stream = heads.concat().into_bytes();
        let fresh = events(&stream, false);
        assert_eq!(events(&stream, true), fresh);
        assert!(fresh.iter().filter(|e| e.starts_with("Head")).count() == 6, "{fresh:?}");
        assert_eq!(fresh.last().map(String::as_str), Some("InvalidHost"));
        // The same requests, every one answered with a recycled decoder, one by one.
        let mut d = decoder();
        for head in &heads[..6] {
            let mut input = head.as_bytes();
            let Ok(Decoded { consumed, event: Some(Event::Head(request)) }) = d.decode(input) else { panic!() };
            let Ok(Decoded { event: Some(Event::Head(expected)), .. }) = decoder().decode(input) else { panic!() };
            assert_eq!(format!("{request:?}"), format!("{expected:?}"));
            input = &input[consumed..];
            while let Ok(Decoded { consumed, event: Some(event) }) = d.decode(input) {
                input = &input[consumed..];
                if event == Event::End {
                    break;
                }
            }
            d.recycle(request);
        }
    }

    #[test]
    fn after_an_error_decode_repeats_it() {
        let mut d = decoder();
        assert_eq!(d.decode(b"GET / HTTP/1.1\n"), Err(Error::BareLf));
        assert_eq!(d.decode(b"GET / HTTP/1.1\r\nHost: a\r\n\r\n"), Err(Error::BareLf));
        assert_eq!(d.state_name(), "Failed");
    }

    #[test]
    fn shorter_input_than_before_is_waited_on_not_an_error() {
        let mut d = decoder();
        let head = b"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n";
        assert!(d.decode(head).is_ok());
        assert_eq!(d.decode(b"5;e"), Ok(NEED_MORE));
        assert_eq!(d.decode(b"5"), Ok(NEED_MORE)); // API misuse: no panic, no Error
    }
}
