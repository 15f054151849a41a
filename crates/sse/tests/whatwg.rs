//! The WHATWG "Interpreting an event stream" rules, one test each, plus the spec's own example
//! streams. Every input is parsed whole, one byte at a time and at every two-way split, and
//! all three must agree (see `parse`).

use talkback_sse::{Limits, ParseError, ParsedEvent, Parser, parse_stream};

/// "The following event stream, once followed by a blank line: ... would cause an event
/// message ... The event's data attribute would contain the string "YHOO\n+2\n10"".
const STOCK: &[u8] = b"data: YHOO\ndata: +2\ndata: 10\n\n";

/// The `event` field example: two `add` events and a `remove` event.
const ADD_REMOVE: &[u8] = b"event: add\ndata: 73857293\n\nevent: remove\ndata: 2153\n\nevent: add\ndata: 113411\n\n";

/// "The following stream contains four blocks. The first block has just a comment, and will
/// fire nothing." (the `: test stream` example)
const FOUR_BLOCKS: &[u8] =
    b": test stream\n\ndata: first event\nid: 1\n\ndata:second event\nid\n\ndata:  third event\n\n";

/// "The following stream fires two events: ... The last block is discarded because it is not
/// followed by a blank line."
const TWO_EVENTS: &[u8] = b"data\n\ndata\ndata\n\ndata:";

/// "The following stream fires two identical events: ... This is because the space after the
/// colon is ignored if present."
const TWO_IDENTICAL: &[u8] = b"data:test\n\ndata: test\n\n";

/// What a parser produced from a whole stream: events, then `last_event_id` and `retry`.
type Outcome = (Result<Vec<ParsedEvent>, ParseError>, String, Option<u64>);

fn run(chunks: &[&[u8]], limits: Limits) -> Outcome {
    let mut parser = Parser::with_limits(limits);
    let mut events = Vec::new();
    for chunk in chunks {
        if let Err(e) = parser.handle_bytes(chunk) {
            return (Err(e), parser.last_event_id().into(), parser.retry());
        }
        events.extend(std::iter::from_fn(|| parser.poll_event()));
    }
    parser.handle_eof();
    (Ok(events), parser.last_event_id().into(), parser.retry())
}

/// Parses `input` whole, byte by byte and at every split; asserts they agree.
fn parse_with(input: &[u8], limits: Limits) -> Outcome {
    let whole = run(&[input], limits);
    let bytes: Vec<&[u8]> = input.chunks(1).collect();
    assert_eq!(run(&bytes, limits), whole, "byte by byte: {input:?}");
    for i in 0..=input.len() {
        let (a, b) = input.split_at(i);
        assert_eq!(run(&[a, b], limits), whole, "split at {i}: {input:?}");
    }
    whole
}

fn parse(input: &[u8]) -> Outcome {
    parse_with(input, Limits::default())
}

/// The events' data only.
fn data(input: &[u8]) -> Vec<String> {
    parse(input).0.unwrap().into_iter().map(|e| e.data).collect()
}

fn event(event_type: &str, data: &str, last_event_id: &str) -> ParsedEvent {
    ParsedEvent { event_type: event_type.into(), data: data.into(), last_event_id: last_event_id.into() }
}

#[test]
fn whatwg_spec_example_stock() {
    assert_eq!(parse(STOCK).0.unwrap(), [event("message", "YHOO\n+2\n10", "")]);
}

#[test]
fn whatwg_spec_example_add_remove() {
    let expect = [event("add", "73857293", ""), event("remove", "2153", ""), event("add", "113411", "")];
    assert_eq!(parse(ADD_REMOVE).0.unwrap(), expect);
}

#[test]
fn whatwg_spec_example_four_blocks() {
    // "an event will be fired for this block, with the data "first event", and will then set
    // the last event ID to "1" ... The third block ... has an "id" field, this time with no
    // value, which resets the last event ID to the empty string ... the last block just fires
    // an event with the data " third event" (with a single leading space character)."
    let expect = [
        event("message", "first event", "1"),
        event("message", "second event", ""),
        event("message", " third event", ""),
    ];
    assert_eq!(parse(FOUR_BLOCKS).0.unwrap(), expect);
}

#[test]
fn whatwg_spec_example_two_events() {
    // "The first block fires events with the data set to the empty string ... The middle block
    // fires an event with the data set to a single newline character."
    assert_eq!(data(TWO_EVENTS), ["", "\n"]);
}

#[test]
fn whatwg_spec_example_two_identical_events() {
    assert_eq!(data(TWO_IDENTICAL), ["test", "test"]);
}

#[test]
fn whatwg_decode_strips_one_leading_bom() {
    // "The UTF-8 decode algorithm strips one leading UTF-8 Byte Order Mark (BOM), if any."
    assert_eq!(data(b"\xEF\xBB\xBFdata: a\n\n"), ["a"]);
    // A second BOM is part of the first line's field name, so the field is unknown.
    assert_eq!(data(b"\xEF\xBB\xBF\xEF\xBB\xBFdata: a\n\n"), [] as [&str; 0]);
    // Only a leading one: later, U+FEFF is ordinary text.
    assert_eq!(data(b"data: \xEF\xBB\xBFa\n\n"), ["\u{FEFF}a"]);
}

#[test]
fn whatwg_decode_replaces_invalid_utf8() {
    // "Streams must be decoded using the UTF-8 decode algorithm": errors become U+FFFD.
    assert_eq!(data(b"data: a\xFFb\xE2\x82\n\n"), ["a\u{FFFD}b\u{FFFD}"]);
    // A truncated BOM is not a BOM: it is invalid text that starts the first line.
    assert_eq!(data(b"\xEF\xBB:x\ndata: y\n\n"), ["y"]);
    assert_eq!(data(b"\xEF\xBB\n\ndata: y\n\n"), ["y"]);
    assert_eq!(data("data: é€😀\n\n".as_bytes()), ["é€😀"]);
}

#[test]
fn whatwg_line_ends_are_crlf_lf_or_cr() {
    // "a U+000D CARRIAGE RETURN U+000A LINE FEED (CRLF) character pair, a single U+000A LINE
    // FEED (LF) character not preceded by a U+000D CARRIAGE RETURN (CR) character, and a
    // single U+000D CARRIAGE RETURN (CR) character not followed by a U+000A LINE FEED (LF)".
    assert_eq!(data(b"data: a\rdata: b\r\ndata: c\n\r\n"), ["a\nb\nc"]);
    assert_eq!(data(b"data: a\r\rdata: b\n\n"), ["a", "b"]);
}

#[test]
fn whatwg_crlf_split_across_chunks_is_one_line_end() {
    // If the LF after the CR counted again, it would be a blank line and dispatch "a" alone.
    let (events, ..) = run(&[b"data: a\r", b"\ndata: b\r\n\r\n"], Limits::default());
    assert_eq!(events.unwrap(), [event("message", "a\nb", "")]);
}

#[test]
fn whatwg_colon_first_line_is_a_comment() {
    // "If the line starts with a U+003A COLON character (:): Ignore the line."
    assert_eq!(data(b": data: x\n\n:\n\ndata: y\n\n"), ["y"]);
}

#[test]
fn whatwg_line_without_colon_is_a_field_with_empty_value() {
    // "using the whole line as the field name, and the empty string as the field value."
    assert_eq!(data(b"data\n\n"), [""]);
    assert_eq!(parse(b"event\ndata: x\n\n").0.unwrap(), [event("message", "x", "")]);
}

#[test]
fn whatwg_value_is_after_the_first_colon_less_one_space() {
    // "Collect the characters on the line after the first U+003A COLON character (:) ... If
    // value starts with a U+0020 SPACE character, remove it from value."
    assert_eq!(data(b"data:x\n\ndata: x\n\ndata:  x\n\ndata: a:b\n\ndata:\tx\n\n"), ["x", "x", " x", "a:b", "\tx"]);
}

#[test]
fn whatwg_field_names_are_compared_literally() {
    // "Field names must be compared literally, with no case folding performed."
    assert_eq!(data(b"Data: x\n\nDATA: y\n\ndata : z\n\n"), [] as [&str; 0]);
}

#[test]
fn whatwg_event_sets_the_type_until_dispatch() {
    // "Set the event type buffer to field value."; step 7 empties it again.
    let expect = [event("tick", "1", ""), event("message", "2", ""), event("tock", "3", "")];
    assert_eq!(parse(b"event: tick\ndata: 1\n\ndata: 2\n\nevent: x\nevent: tock\ndata: 3\n\n").0.unwrap(), expect);
}

#[test]
fn whatwg_empty_event_type_means_message() {
    // "If the event type buffer has a value other than the empty string, change the type".
    assert_eq!(parse(b"event:\ndata: x\n\n").0.unwrap(), [event("message", "x", "")]);
}

#[test]
fn whatwg_data_appends_value_and_lf() {
    // "Append the field value to the data buffer, then append a single U+000A LINE FEED".
    assert_eq!(data(b"data: a\ndata:\ndata: b\n\n"), ["a\n\nb"]);
}

#[test]
fn whatwg_dispatch_removes_one_trailing_lf() {
    // "If the data buffer's last character is a U+000A LINE FEED (LF) character, then remove
    // the last character from the data buffer."
    assert_eq!(data(b"data\ndata\ndata\n\n"), ["\n\n"]);
}

#[test]
fn whatwg_dispatch_with_empty_data_fires_nothing_and_resets_type() {
    // "If the data buffer is an empty string, set the data buffer and the event type buffer
    // to the empty string and return."
    assert_eq!(parse(b"event: x\n\ndata: y\n\n").0.unwrap(), [event("message", "y", "")]);
    assert_eq!(data(b"\n\n\n"), [] as [&str; 0]);
}

#[test]
fn whatwg_id_sets_last_event_id_which_persists() {
    // "The buffer does not get reset, so the last event ID string of the event source remains
    // set to this value until the next time it is set by the server."
    let expect = [event("message", "a", "7"), event("message", "b", "7")];
    assert_eq!(parse(b"id: 7\ndata: a\n\ndata: b\n\n").0.unwrap(), expect);
}

#[test]
fn whatwg_id_with_null_is_ignored() {
    // "If the field value does not contain U+0000 NULL, then set the last event ID buffer to
    // the field value. Otherwise, ignore the field."
    let (events, last, _) = parse(b"id: 1\n\ndata: x\nid: 2\x003\n\n");
    assert_eq!(events.unwrap(), [event("message", "x", "1")]);
    assert_eq!(last, "1");
}

#[test]
fn whatwg_id_is_set_even_when_nothing_is_dispatched() {
    // Step 1 of dispatch ("Set the last event ID string ...") runs before step 2 returns.
    let (events, last, _) = parse(b"id: 5\n\n");
    assert_eq!(events.unwrap(), []);
    assert_eq!(last, "5");
}

#[test]
fn whatwg_retry_needs_only_ascii_digits() {
    // "If the field value consists of only ASCII digits, then interpret the field value as an
    // integer in base ten ... Otherwise, ignore the field."
    assert_eq!(parse(b"retry: 1500\n").2, Some(1500));
    assert_eq!(parse(b"retry: 1500\nretry: 15a\n").2, Some(1500));
    for bad in
        ["retry: -1\n", "retry: +1\n", "retry: 1.5\n", "retry:\n", "retry:  10\n", "retry: 99999999999999999999\n"]
    {
        assert_eq!(parse(bad.as_bytes()).2, None, "{bad:?}");
    }
}

#[test]
fn whatwg_unknown_fields_are_ignored() {
    // "Otherwise: The field is ignored."
    assert_eq!(data(b"foo: bar\ndata: x\nretryx: 1\n\n"), ["x"]);
}

#[test]
fn whatwg_end_of_stream_discards_the_incomplete_event() {
    // "Once the end of the file is reached, any pending data must be discarded."
    for input in ["data: x\n", "data: x", "data: x\r", "id: 9\ndata: x\n"] {
        let (events, last, _) = parse(input.as_bytes());
        assert_eq!(events.unwrap(), [], "{input:?}");
        assert_eq!(last, "", "{input:?}");
    }
}

#[test]
fn whatwg_reconnection_keeps_last_event_id_and_strips_a_new_bom() {
    let mut parser = Parser::new();
    parser.handle_bytes(b"id: 3\ndata: a\n\ndata: cut off").unwrap();
    assert_eq!(parser.poll_event(), Some(event("message", "a", "3")));
    parser.handle_eof();
    parser.handle_bytes(b"\xEF\xBB\xBFdata: b\n\n").unwrap();
    assert_eq!(parser.poll_event(), Some(event("message", "b", "3")));
}

#[test]
fn limit_line_too_long() {
    let limits = Limits { max_line: 8, max_data: 100 };
    assert!(parse_with(b"data: 12\n\n", limits).0.is_ok());
    assert_eq!(parse_with(b"data: 123\n\n", limits).0, Err(ParseError::LineTooLong));
    assert_eq!(parse_with(b": comment too long\n", limits).0, Err(ParseError::LineTooLong));
}

#[test]
fn limit_data_too_large() {
    let limits = Limits { max_line: 100, max_data: 6 };
    assert_eq!(parse_with(b"data: ab\ndata: c\n\n", limits).0.unwrap()[0].data, "ab\nc");
    assert_eq!(parse_with(b"data: abc\ndata: cd\n\n", limits).0, Err(ParseError::DataTooLarge));
    let mut parser = Parser::with_limits(limits);
    assert!(parser.handle_bytes(b"data: 1234567\n").is_err());
    assert_eq!(parser.handle_bytes(b"\n"), Err(ParseError::DataTooLarge), "errors are sticky");
}

#[test]
fn parse_stream_is_the_one_shot_form() {
    assert_eq!(parse_stream(STOCK).unwrap(), parse(STOCK).0.unwrap());
}
