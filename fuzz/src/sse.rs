//! `sse_parser`: an event stream through the WHATWG parser ([`Parser`]), under the default
//! limits and under small ones (lines of 64 bytes, data of 128).
//!
//! Asserted, besides "no panic":
//! - the stream fed whole and in two and three pieces gives the same events, last event ID,
//!   retry and error (the parser promises the result does not depend on the split);
//! - encode → parse round trip: each parsed event, written again by the encoder
//!   ([`SseEvent`] with its id and type, [`encode_retry`] for the retry), parses back to the
//!   same events, ID and retry; so does the hub's own [`encode_message`] for any text.

use talkback_sse::{Event as SseEvent, Limits, ParseError, ParsedEvent, Parser, encode_message, encode_retry};

use crate::{pieces, split_points};

/// Small limits, reachable with short inputs.
pub const SMALL: Limits = Limits { max_line: 64, max_data: 128 };

/// What a parse produced.
#[derive(Debug, PartialEq)]
pub struct Outcome {
    /// The dispatched events.
    pub events: Vec<ParsedEvent>,
    /// `last_event_id()` at the end.
    pub last_event_id: String,
    /// `retry()` at the end.
    pub retry: Option<u64>,
    /// The error, if the stream was refused.
    pub error: Option<ParseError>,
}

/// The whole check, for one input.
pub fn check(data: &[u8]) {
    for limits in [Limits::default(), SMALL] {
        let whole = parse(limits, &[data]);
        let [a, b, c] = split_points(data);
        assert_eq!(parse(limits, &pieces(data, &[a])), whole, "split at {a}");
        assert_eq!(parse(limits, &pieces(data, &[b, c])), whole, "split at {b} and {c}");
        if whole.error.is_none() {
            reencoded_parses_back(&whole);
        }
    }
    message_round_trips(data);
}

/// Feeds `pieces`, stopping at the first error; takes every event after each piece.
pub fn parse(limits: Limits, pieces: &[&[u8]]) -> Outcome {
    let mut parser = Parser::with_limits(limits);
    let mut events = Vec::new();
    let mut error = None;
    for piece in pieces {
        let result = parser.handle_bytes(piece);
        events.extend(std::iter::from_fn(|| parser.poll_event()));
        if let Err(err) = result {
            assert_eq!(parser.handle_bytes(b"x"), Err(err), "the error is sticky");
            error = Some(err);
            break;
        }
    }
    Outcome { events, last_event_id: parser.last_event_id().to_owned(), retry: parser.retry(), error }
}

/// The events written again by the encoder parse back to themselves.
fn reencoded_parses_back(whole: &Outcome) {
    let mut stream = Vec::new();
    for event in &whole.events {
        let encoded = SseEvent::new(&event.data)
            .with_id(&event.last_event_id)
            .and_then(|e| e.with_event(&event.event_type))
            .expect("a parsed id and type can always be written");
        encoded.encode(&mut stream);
    }
    if let Some(ms) = whole.retry {
        encode_retry(ms, &mut stream);
    }
    let again = parse(Limits::default(), &[&stream]);
    assert_eq!(again.events, whole.events, "re-encoded events parse back: {:?}", String::from_utf8_lossy(&stream));
    assert_eq!(again.retry, whole.retry);
    if let Some(last) = whole.events.last() {
        assert_eq!(again.last_event_id, last.last_event_id);
    }
}

/// The hub's fast path: `encode_message(id, text)` is parsed as one event with that id and
/// the text, its line ends turned into LF (SSE cannot carry a CR).
fn message_round_trips(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    let id = crate::fnv1a(data);
    let mut out = Vec::new();
    encode_message(id, &text, &mut out);
    let parsed = parse(Limits::default(), &[&out]);
    let expect = text.replace("\r\n", "\n").replace('\r', "\n");
    let event = ParsedEvent { event_type: "message".into(), data: expect, last_event_id: id.to_string() };
    assert_eq!(parsed.events, [event]);
}
