//! encode → parse gives back what was sent (with CR and CRLF turned into LF: SSE cannot carry
//! a CR), at every split of the encoded bytes.

use talkback_sse::{
    Event, ParsedEvent, Parser, encode_comment, encode_message, encode_missed, encode_missed_through, encode_retry,
    parse_stream,
};

/// What the browser sees for `data`: every line end becomes LF.
fn normalised(data: &str) -> String {
    data.replace("\r\n", "\n").replace('\r', "\n")
}

fn assert_split_invariant(bytes: &[u8]) -> Vec<ParsedEvent> {
    let whole = parse_stream(bytes).unwrap();
    for i in 0..=bytes.len() {
        let mut parser = Parser::new();
        parser.handle_bytes(&bytes[..i]).unwrap();
        parser.handle_bytes(&bytes[i..]).unwrap();
        let events: Vec<_> = std::iter::from_fn(|| parser.poll_event()).collect();
        assert_eq!(events, whole, "split at {i}");
    }
    whole
}

const CASES: &[&str] = &[
    "",
    "hi",
    " leading space",
    "  two",
    "trailing space ",
    "a:b",
    ": looks like a comment",
    "data: nested",
    "\n",
    "\n\n",
    "\r",
    "\r\n",
    "\r\r",
    "\n\r",
    "a\n",
    "a\r\n",
    "\na",
    "a\nb",
    "a\rb",
    "a\r\nb",
    "a\n\nb",
    "nul\0inside",
    "\u{FEFF}bom",
    "é€😀",
    "\u{2028}\u{2029}",
    "id: 3",
];

#[test]
fn round_trip_normalises_line_ends_to_lf() {
    for (i, &text) in CASES.iter().enumerate() {
        let mut out = Vec::new();
        encode_message(i as u64, text, &mut out);
        let events = assert_split_invariant(&out);
        assert_eq!(events.len(), 1, "{text:?}");
        assert_eq!(events[0].data, normalised(text), "{text:?}");
        assert_eq!(events[0].last_event_id, i.to_string());
        assert_eq!(events[0].event_type, "message");
    }
}

#[test]
fn round_trip_is_exact_without_cr() {
    for &text in CASES.iter().filter(|t| !t.contains('\r')) {
        let mut out = Vec::new();
        Event::new(text).encode(&mut out);
        assert_eq!(parse_stream(&out).unwrap()[0].data, text);
    }
}

#[test]
fn round_trip_event_fields() {
    let mut out = Vec::new();
    for (id, name) in [("1", "tick"), (" spaced", " x"), ("", ""), ("é", "a:b")] {
        let event = Event::new("d").with_id(id).unwrap().with_event(name).unwrap();
        event.with_retry(250).encode(&mut out);
    }
    let events = assert_split_invariant(&out);
    let got: Vec<_> = events.iter().map(|e| (e.last_event_id.as_str(), e.event_type.as_str())).collect();
    assert_eq!(got, [("1", "tick"), (" spaced", " x"), ("", "message"), ("é", "a:b")]);
}

#[test]
fn comment_retry_and_missed_blocks_interleave_with_messages() {
    let mut out = Vec::new();
    encode_retry(2000, &mut out);
    encode_missed(5, &mut out);
    encode_comment("heartbeat\nline two", &mut out);
    encode_message(6, "six", &mut out);
    encode_comment("", &mut out);
    encode_missed_through(3, 9, &mut out);
    let mut parser = Parser::new();
    parser.handle_bytes(&out).unwrap();
    let missed = parser.poll_event().unwrap();
    assert_eq!((missed.event_type.as_str(), missed.data.as_str(), missed.last_event_id.as_str()), ("missed", "5", ""));
    let six = parser.poll_event().unwrap();
    assert_eq!((six.event_type.as_str(), six.data.as_str(), six.last_event_id.as_str()), ("message", "six", "6"));
    let through = parser.poll_event().unwrap();
    let got = (through.event_type.as_str(), through.data.as_str(), through.last_event_id.as_str());
    assert_eq!(got, ("missed", "3", "9"), "a notice that nothing follows moves the last event ID past the gap");
    assert_eq!(parser.poll_event(), None);
    assert_eq!(parser.retry(), Some(2000));
}

/// A deterministic xorshift PRNG: the same "random" strings on every run, no dependencies.
struct XorShift(u64);

impl XorShift {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
}

#[test]
fn round_trip_random_strings() {
    const PIECES: &[&str] = &["a", " ", ":", "\r", "\n", "\r\n", "\0", "é", "\u{FEFF}", "data:", "id: 1"];
    let mut rng = XorShift(0x9E37_79B9_7F4A_7C15);
    let mut stream = Vec::new();
    let mut sent = Vec::new();
    for id in 0..500u64 {
        let len = rng.next() % 12;
        let text: String = (0..len).map(|_| PIECES[(rng.next() % PIECES.len() as u64) as usize]).collect();
        let at = encode_message(id, &text, &mut stream);
        // One-line data is copied as it is, and the encoder says where (the hub keeps that copy only).
        assert_eq!(at.is_some(), !text.contains(['\r', '\n']), "{text:?}");
        if let Some(range) = at {
            assert_eq!(&stream[range], text.as_bytes());
        }
        sent.push(normalised(&text));
    }
    let events = parse_stream(&stream).unwrap();
    let got: Vec<_> = events.into_iter().map(|e| e.data).collect();
    assert_eq!(got, sent);
}

#[test]
fn random_streams_parse_the_same_at_any_split() {
    const TOKENS: &[&[u8]] = &[
        b"data",
        b"id",
        b"event",
        b"retry",
        b":",
        b" ",
        b"\r",
        b"\n",
        b"\r\n",
        b"7",
        b"x",
        b"\0",
        b"\xEF\xBB\xBF",
        b"\xEF",
        b"\xFF",
        "é".as_bytes(),
    ];
    let mut rng = XorShift(0xD1B5_4A32_D192_ED03);
    for _ in 0..300 {
        let len = rng.next() % 40;
        let stream: Vec<u8> =
            (0..len).flat_map(|_| TOKENS[(rng.next() % TOKENS.len() as u64) as usize].iter().copied()).collect();
        let mut whole = Parser::new();
        whole.handle_bytes(&stream).unwrap();
        let a = (rng.next() % (stream.len() as u64 + 1)) as usize;
        let b = a + (rng.next() % (stream.len() - a + 1) as u64) as usize;
        let mut split = Parser::new();
        for part in [&stream[..a], &stream[a..b], &stream[b..]] {
            split.handle_bytes(part).unwrap();
        }
        let collect = |p: &mut Parser| std::iter::from_fn(|| p.poll_event()).collect::<Vec<_>>();
        assert_eq!(collect(&mut split), collect(&mut whole), "{stream:?} at {a}, {b}");
        assert_eq!((split.last_event_id(), split.retry()), (whole.last_event_id(), whole.retry()));
        assert_eq!(split.state(), whole.state(), "{stream:?}");
    }
}
