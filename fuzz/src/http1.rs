//! `http1_decoder`: the bytes of one connection through [`RequestDecoder`] (heads, bodies,
//! chunked bodies and trailers, pipelined requests), under the default limits and under small
//! ones that make every limit reachable.
//!
//! Asserted, besides "no panic":
//! - the same bytes fed whole, in two and three pieces, one byte at a time (short inputs) and
//!   with every request recycled give the same events and the same error (RFC 9112 has one
//!   interpretation of a byte stream, however it is read);
//! - "need more" consumes nothing, `Data` is never empty and never more than was consumed,
//!   no two events in a row consume nothing (no livelock);
//! - a `Content-Length` body delivers exactly that many bytes before `End`; a chunked one
//!   never more than `max_body`; after an error, `decode` returns the same error again;
//! - every head accepted, written back as `name: value` lines, decodes to the same request.

use talkback_http1::{Decoded, Error, Event, Limits, Request, RequestDecoder, Version};

use crate::{pieces, split_points};

/// Limits small enough that the fuzzer reaches each of them with short inputs.
pub const SMALL: Limits =
    Limits { max_request_line: 64, max_head: 256, max_headers: 6, max_body: 64, max_trailers: 48 };

/// What a run produced: events, with adjacent `Data` pieces merged.
#[derive(Debug, PartialEq)]
pub enum Seen {
    /// A request head.
    Head(Box<Request>),
    /// Body bytes (de-chunked).
    Data(Vec<u8>),
    /// The end of a request.
    End,
}

/// The whole check, for one input.
pub fn check(data: &[u8]) {
    for limits in [Limits::default(), SMALL] {
        let whole = run(&limits, &[data], false);
        let [a, b, c] = split_points(data);
        assert_eq!(run(&limits, &pieces(data, &[a]), false), whole, "split at {a}");
        assert_eq!(run(&limits, &pieces(data, &[b, c]), false), whole, "split at {b} and {c}");
        assert_eq!(run(&limits, &[data], true), whole, "recycled requests");
        if data.len() <= 512 {
            let bytes: Vec<&[u8]> = data.chunks(1).collect();
            assert_eq!(run(&limits, &bytes, false), whole, "one byte at a time");
        }
        for seen in &whole.0 {
            if let Seen::Head(request) = seen {
                head_round_trips(request);
            }
        }
    }
}

/// A request head written back (request-line, then every field as `name: value`) decodes to
/// the same request: nothing the decoder accepts is changed on the way in.
fn head_round_trips(request: &Request) {
    let version = match request.version {
        Version::Http10 => "HTTP/1.0",
        Version::Http11 => "HTTP/1.1",
    };
    let mut head = format!("{} {} {version}\r\n", request.method.as_str(), request.target).into_bytes();
    for (name, value) in request.headers() {
        head.extend_from_slice(name.as_bytes());
        head.extend_from_slice(b": ");
        head.extend_from_slice(value);
        head.extend_from_slice(b"\r\n");
    }
    head.extend_from_slice(b"\r\n");
    let roomy = Limits { max_request_line: 1 << 20, max_head: 1 << 20, max_headers: 1 << 10, ..Limits::default() };
    match RequestDecoder::new(roomy).decode(&head) {
        Ok(Decoded { event: Some(Event::Head(again)), .. }) => {
            assert_eq!(&again, request, "written back: {:?}", String::from_utf8_lossy(&head));
        }
        other => panic!("written back {:?}: {other:?}", String::from_utf8_lossy(&head)),
    }
}

/// Feeds `pieces` in turn as a connection would (keeping what was not consumed), decoding
/// after each; stops at the first error. Checks the per-call invariants on the way.
pub fn run(limits: &Limits, pieces: &[&[u8]], recycle: bool) -> (Vec<Seen>, Option<Error>) {
    let mut decoder = RequestDecoder::new(limits.clone());
    let mut buf = Vec::new();
    let mut seen = Vec::new();
    let mut body = Body::None;
    for piece in pieces {
        buf.extend_from_slice(piece);
        let mut idle_events = 0;
        loop {
            let Decoded { consumed, event } = match decoder.decode(&buf) {
                Ok(decoded) => decoded,
                Err(err) => {
                    assert_eq!(decoder.decode(&buf), Err(err), "the error repeats");
                    assert_eq!(decoder.decode(b""), Err(err), "the error repeats on any input");
                    return (seen, Some(err));
                }
            };
            assert!(consumed <= buf.len(), "consumed {consumed} of {}", buf.len());
            idle_events = if consumed == 0 { idle_events + 1 } else { 0 };
            assert!(idle_events <= 2, "events without progress: a livelock");
            match event {
                None => {
                    assert_eq!(consumed, 0, "need-more consumes nothing");
                    break;
                }
                Some(Event::Head(request)) => {
                    assert!(matches!(body, Body::None), "a head inside a body");
                    body = match request.content_length {
                        Some(n) => Body::Length(n),
                        None => Body::Chunked(0),
                    };
                    if recycle {
                        seen.push(Seen::Head(Box::new(request.clone())));
                        decoder.recycle(request);
                    } else {
                        seen.push(Seen::Head(Box::new(request)));
                    }
                }
                Some(Event::Data(d)) => {
                    assert!(!d.is_empty() && d.len() <= consumed, "data {} of {consumed} consumed", d.len());
                    body.take(d.len() as u64, limits);
                    match seen.last_mut() {
                        Some(Seen::Data(acc)) => acc.extend_from_slice(d),
                        _ => seen.push(Seen::Data(d.to_vec())),
                    }
                }
                Some(Event::End) => {
                    body.end();
                    body = Body::None;
                    seen.push(Seen::End);
                }
            }
            buf.drain(..consumed);
        }
    }
    (seen, None)
}

/// The body of the request in progress, as its head announced it.
enum Body {
    /// Between requests.
    None,
    /// `Content-Length`: bytes still to come.
    Length(u64),
    /// Chunked: bytes so far.
    Chunked(u64),
}

impl Body {
    fn take(&mut self, n: u64, limits: &Limits) {
        match self {
            Body::None => panic!("data outside a body"),
            Body::Length(left) => *left = left.checked_sub(n).expect("more data than Content-Length"),
            Body::Chunked(seen) => {
                *seen += n;
                assert!(*seen <= limits.max_body, "a chunked body over max_body");
            }
        }
    }

    fn end(&self) {
        match self {
            Body::None => panic!("End outside a request"),
            Body::Length(left) => assert_eq!(*left, 0, "End before Content-Length bytes"),
            Body::Chunked(_) => {}
        }
    }
}
