//! The event-stream parser: WHATWG HTML, "Parsing an event stream" and "Interpreting an event
//! stream" (<https://html.spec.whatwg.org/multipage/server-sent-events.html#event-stream-interpretation>).
//!
//! The parser works on bytes and decodes UTF-8 only when it stores a value. That gives the same
//! result as decoding the whole stream first, because every byte the rules look at (CR, LF,
//! colon, space) is ASCII, and an ASCII byte always ends an unfinished UTF-8 sequence: splitting
//! lines before decoding cannot move a U+FFFD.

use std::collections::VecDeque;

use talkback_http1::parse_decimal;

/// The UTF-8 byte order mark: "The UTF-8 decode algorithm strips one leading UTF-8 Byte Order
/// Mark (BOM), if any."
const BOM: &[u8] = b"\xEF\xBB\xBF";

/// One dispatched event, as `EventSource` would hand it to a `MessageEvent` listener.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParsedEvent {
    /// The event type: the last `event` field of the block, or `"message"` if there was none.
    pub event_type: String,
    /// The data buffer with its final LF removed.
    pub data: String,
    /// The last event ID buffer at dispatch time; it persists across events.
    pub last_event_id: String,
}

/// Bounds on what one peer can make the parser hold. Both default to 1 MiB, the hub's
/// message limit: a longer line or event could not have come from a talkback server.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// The longest line, in bytes, without its line end.
    pub max_line: usize,
    /// The largest data buffer, in bytes, including the LF appended after each `data` line.
    pub max_data: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits { max_line: 1 << 20, max_data: 1 << 20 }
    }
}

/// A stream the parser refuses. The spec has no limits, so both are ours (see [`Limits`]);
/// a client should close the connection (and may reconnect).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ParseError {
    /// A line grew past [`Limits::max_line`] before its line end arrived.
    LineTooLong,
    /// An event's data buffer grew past [`Limits::max_data`] before its blank line.
    DataTooLarge,
}

impl std::fmt::Display for ParseError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            ParseError::LineTooLong => "event-stream line longer than the limit",
            ParseError::DataTooLarge => "event-stream data buffer larger than the limit",
        })
    }
}

impl std::error::Error for ParseError {}

/// What the parser waits for next. All transitions live in [`Parser::handle_bytes`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum State {
    /// The start of the stream: `matched` bytes of a possible BOM seen so far.
    ExpectBom {
        /// How many bytes of `EF BB BF` have matched (0, 1 or 2).
        matched: u8,
    },
    /// Inside a line (possibly empty): bytes up to the next CR or LF belong to it.
    ExpectLine,
    /// The last line ended with CR; an LF now is the second half of a CRLF and is skipped.
    ExpectLfAfterCr,
    /// A limit was exceeded; every later call returns the same error.
    Failed(ParseError),
}

/// An incremental event-stream parser: feed bytes with [`Parser::handle_bytes`], take events
/// with [`Parser::poll_event`], and call [`Parser::handle_eof`] when the stream ends.
#[derive(Debug, Clone)]
pub struct Parser {
    state: State,
    limits: Limits,
    /// The bytes of the current, unfinished line.
    line: Vec<u8>,
    /// "a data buffer": each `data` value followed by LF.
    data: String,
    /// "an event type buffer".
    event_type: String,
    /// The last event ID string as of the last dispatch (what `Last-Event-ID` would carry).
    last_event_id: String,
    /// "a last event ID buffer" when an `id` field changed it since the last dispatch. The
    /// buffer's value is `pending_id` if set, else `last_event_id`; splitting it this way lets
    /// `handle_eof` drop an `id` whose event never completed.
    pending_id: Option<String>,
    /// The reconnection time set by the last valid `retry` field, in milliseconds.
    retry: Option<u64>,
    /// Dispatched events not yet taken by `poll_event`.
    ready: VecDeque<ParsedEvent>,
}

impl Default for Parser {
    fn default() -> Self {
        Parser::new()
    }
}

impl Parser {
    /// A parser at the start of a stream, with the default [`Limits`].
    pub fn new() -> Self {
        Parser::with_limits(Limits::default())
    }

    /// A parser at the start of a stream, with explicit limits.
    pub fn with_limits(limits: Limits) -> Self {
        Parser {
            state: State::ExpectBom { matched: 0 },
            limits,
            line: Vec::new(),
            data: String::new(),
            event_type: String::new(),
            last_event_id: String::new(),
            pending_id: None,
            retry: None,
            ready: VecDeque::new(),
        }
    }

    /// What the parser waits for next.
    pub fn state(&self) -> State {
        self.state
    }

    /// The last event ID buffer as of the last dispatch: what a browser would send as
    /// `Last-Event-ID` if it reconnected now.
    pub fn last_event_id(&self) -> &str {
        &self.last_event_id
    }

    /// The reconnection time in milliseconds from the last valid `retry` field, if any.
    pub fn retry(&self) -> Option<u64> {
        self.retry
    }

    /// Takes the next dispatched event, oldest first.
    pub fn poll_event(&mut self) -> Option<ParsedEvent> {
        self.ready.pop_front()
    }

    /// Consumes all of `bytes`. Dispatched events queue up for [`Parser::poll_event`]; the
    /// result does not depend on how the stream is split into calls.
    pub fn handle_bytes(&mut self, mut bytes: &[u8]) -> Result<(), ParseError> {
        while !bytes.is_empty() {
            match self.state {
                State::Failed(error) => return Err(error),
                State::ExpectBom { matched } => bytes = self.on_bom_byte(matched, bytes),
                State::ExpectLfAfterCr => {
                    if bytes[0] == b'\n' {
                        bytes = &bytes[1..];
                    }
                    self.state = State::ExpectLine;
                }
                State::ExpectLine => bytes = self.on_line_bytes(bytes)?,
            }
        }
        match self.state {
            State::Failed(error) => Err(error),
            _ => Ok(()),
        }
    }

    /// The stream ended. "Once the end of the file is reached, any pending data must be
    /// discarded": an event without its blank line is not dispatched. The parser is then
    /// ready for a new stream (a reconnection) and keeps its last event ID and retry.
    ///
    /// The spec initialises the last event ID buffer to the empty string for each stream;
    /// browsers (Chromium, Firefox) instead start the new stream's buffer from the event
    /// source's last event ID string, and so does this parser. An `id` field whose event was
    /// cut off is discarded with the rest of the pending event.
    pub fn handle_eof(&mut self) {
        self.pending_id = None;
        self.line.clear();
        self.data.clear();
        self.event_type.clear();
        self.state = State::ExpectBom { matched: 0 };
    }

    /// `ExpectBom`: match one more byte of `EF BB BF`. On a mismatch the bytes matched so far
    /// were ordinary (invalid) text and start the first line.
    fn on_bom_byte<'b>(&mut self, matched: u8, bytes: &'b [u8]) -> &'b [u8] {
        let m = usize::from(matched);
        if bytes[0] == BOM[m] {
            self.state = match m + 1 {
                3 => State::ExpectLine,
                n => State::ExpectBom { matched: n as u8 },
            };
            return &bytes[1..];
        }
        self.line.extend_from_slice(&BOM[..m]);
        self.state = State::ExpectLine;
        bytes
    }

    /// `ExpectLine`: append bytes up to the next line end; at a line end, process the line.
    fn on_line_bytes<'b>(&mut self, bytes: &'b [u8]) -> Result<&'b [u8], ParseError> {
        let end = bytes.iter().position(|&b| b == b'\r' || b == b'\n');
        let take = end.unwrap_or(bytes.len());
        if self.line.len() + take > self.limits.max_line {
            return Err(self.fail(ParseError::LineTooLong));
        }
        self.line.extend_from_slice(&bytes[..take]);
        let Some(end) = end else { return Ok(&[]) };
        if bytes[end] == b'\r' {
            self.state = State::ExpectLfAfterCr;
        }
        let line = std::mem::take(&mut self.line);
        let result = self.process_line(&line);
        self.line = line;
        self.line.clear();
        result.map_err(|e| self.fail(e))?;
        Ok(&bytes[end + 1..])
    }

    fn fail(&mut self, error: ParseError) -> ParseError {
        self.state = State::Failed(error);
        error
    }

    /// "Lines must be processed, in the order they are received, as follows".
    fn process_line(&mut self, line: &[u8]) -> Result<(), ParseError> {
        if line.is_empty() {
            // "If the line is empty (a blank line): Dispatch the event".
            self.dispatch();
            return Ok(());
        }
        match line.iter().position(|&b| b == b':') {
            // "If the line starts with a U+003A COLON character (:): Ignore the line."
            Some(0) => Ok(()),
            // "If the line contains a U+003A COLON character (:)": field before the first
            // colon, value after it; "If value starts with a U+0020 SPACE character, remove
            // it from value."
            Some(colon) => {
                let value = &line[colon + 1..];
                let value = value.strip_prefix(b" ").unwrap_or(value);
                self.process_field(&line[..colon], value)
            }
            // "Otherwise, the string is not empty but does not contain a U+003A COLON
            // character (:)": the whole line is the field name, the value is empty.
            None => self.process_field(line, b""),
        }
    }

    /// "The steps to process the field": names compared literally, no case folding.
    fn process_field(&mut self, name: &[u8], value: &[u8]) -> Result<(), ParseError> {
        match name {
            // "Set the event type buffer to field value."
            b"event" => self.event_type = String::from_utf8_lossy(value).into_owned(),
            // "Append the field value to the data buffer, then append a single U+000A LINE
            // FEED (LF) character to the data buffer."
            b"data" => {
                if self.data.len() + value.len() + 1 > self.limits.max_data {
                    return Err(ParseError::DataTooLarge);
                }
                self.data.push_str(&String::from_utf8_lossy(value));
                self.data.push('\n');
            }
            // "If the field value does not contain U+0000 NULL, then set the last event ID
            // buffer to the field value. Otherwise, ignore the field."
            b"id" if !value.contains(&0) => {
                self.pending_id = Some(String::from_utf8_lossy(value).into_owned());
            }
            // "If the field value consists of only ASCII digits, then interpret the field
            // value as an integer in base ten, and set the event stream's reconnection time".
            // `parse_decimal` is exactly "only ASCII digits" (at least one); a value too large
            // for `u64` milliseconds (585 million years) is ignored like any other unusable one.
            b"retry" => {
                if let Ok(ms) = parse_decimal(value) {
                    self.retry = Some(ms);
                }
            }
            // "Otherwise: The field is ignored."
            _ => {}
        }
        Ok(())
    }

    /// "When the user agent is required to dispatch the event", steps 1-7 for web browsers.
    fn dispatch(&mut self) {
        // 1. "Set the last event ID string of the event source to the value of the last
        //    event ID buffer. The buffer does not get reset".
        if let Some(id) = self.pending_id.take() {
            self.last_event_id = id;
        }
        // 2. "If the data buffer is an empty string, set the data buffer and the event type
        //    buffer to the empty string and return."
        if self.data.is_empty() {
            self.event_type.clear();
            return;
        }
        // 3. "If the data buffer's last character is a U+000A LINE FEED (LF) character, then
        //    remove the last character from the data buffer."
        if self.data.ends_with('\n') {
            self.data.pop();
        }
        // 5./6. The type is "message" unless the event type buffer is not empty.
        let event_type = match self.event_type.is_empty() {
            true => String::from("message"),
            false => std::mem::take(&mut self.event_type),
        };
        // 7. "Set the data buffer and the event type buffer to the empty string."
        let data = std::mem::take(&mut self.data);
        self.event_type.clear();
        let last_event_id = self.last_event_id.clone();
        self.ready.push_back(ParsedEvent { event_type, data, last_event_id });
    }
}

/// Parses a complete stream (the end of `bytes` is the end of the stream) and returns every
/// dispatched event: a shortcut for tests and one-shot clients.
pub fn parse_stream(bytes: &[u8]) -> Result<Vec<ParsedEvent>, ParseError> {
    let mut parser = Parser::new();
    parser.handle_bytes(bytes)?;
    parser.handle_eof();
    Ok(std::iter::from_fn(|| parser.poll_event()).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The state diagram in lib.rs names every variant (the match fails to compile if a
    /// variant is added, reminding us to draw it).
    #[test]
    fn state_diagram_names_every_variant() {
        let lesson = include_str!("lib.rs");
        let states = [
            State::ExpectBom { matched: 0 },
            State::ExpectLine,
            State::ExpectLfAfterCr,
            State::Failed(ParseError::LineTooLong),
        ];
        for state in states {
            let name = match state {
                State::ExpectBom { .. } => "ExpectBom { matched }",
                State::ExpectLine => "ExpectLine",
                State::ExpectLfAfterCr => "ExpectLfAfterCr",
                State::Failed(_) => "Failed(ParseError)",
            };
            assert!(lesson.contains(name), "lib.rs diagram lacks {name}");
        }
    }

    #[test]
    fn whatwg_retry_only_ascii_digits_and_overflow_is_ignored() {
        let cases: &[(&[u8], Option<u64>)] = &[
            (b"retry: 18446744073709551615\n", Some(u64::MAX)),
            (b"retry: 18446744073709551616\n", None),
            (b"retry:\n", None),
            (b"retry: \n", None),
            (b"retry: 1.5\n", None),
            (b"retry: -1\n", None),
            (b"retry:  1\n", None), // one space is stripped, the second is not a digit
            (b"retry: 0100\n", Some(100)),
        ];
        for &(line, expect) in cases {
            let mut parser = Parser::new();
            parser.handle_bytes(line).unwrap();
            assert_eq!(parser.retry(), expect, "{:?}", String::from_utf8_lossy(line));
        }
    }
}
