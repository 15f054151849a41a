//! Bytes into values, incrementally, within limits.

use std::fmt;

use talkback_http1::decimal::parse_decimal;

use crate::Value;

/// The bounds on one reply. Past any of them the decoder fails with that limit's name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Longest line, its type byte counted and its CRLF not: a simple string, an error, an
    /// integer or a length (default 64 KiB).
    pub max_line: usize,
    /// Largest bulk string (default 16 MiB; Redis itself allows 512 MiB).
    pub max_bulk: usize,
    /// Most elements in one array (default 1 048 576).
    pub max_array: usize,
    /// Deepest nesting of arrays (default 8; the hub's replies nest 3 deep).
    pub max_depth: usize,
    /// Most bytes one reply may take on the wire, every element counted (default 64 MiB).
    pub max_reply: usize,
}

impl Default for Limits {
    fn default() -> Limits {
        Limits { max_line: 64 << 10, max_bulk: 16 << 20, max_array: 1 << 20, max_depth: 8, max_reply: 64 << 20 }
    }
}

/// Why the bytes are not RESP2 within the limits. Final for the connection.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DecodeError {
    /// A type byte RESP2 does not have (RESP3's `_ # , ( ! = % ~ > |`, or garbage).
    UnknownType(u8),
    /// A length or integer that is not `-?DIGITS` in range.
    BadNumber,
    /// A length below -1 (-1 alone means nil).
    NegativeLength,
    /// A bulk string not followed by CRLF where its length says it ends.
    MissingCrlf,
    /// A line is not valid UTF-8 where text is required (simple strings and errors).
    NotUtf8,
    /// A line with a bare LF or CR in it: lines end with CRLF only.
    BareLineEnd,
    /// [`Limits::max_line`] exceeded.
    LineTooLong,
    /// [`Limits::max_bulk`] exceeded.
    BulkTooLarge,
    /// [`Limits::max_array`] exceeded.
    ArrayTooLarge,
    /// [`Limits::max_depth`] exceeded.
    TooDeep,
    /// [`Limits::max_reply`] exceeded.
    ReplyTooLarge,
}

impl fmt::Display for DecodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DecodeError::UnknownType(byte) => write!(f, "not a RESP2 type byte: 0x{byte:02x}"),
            DecodeError::BadNumber => f.write_str("a length or integer that is not a number"),
            DecodeError::NegativeLength => f.write_str("a length below -1"),
            DecodeError::MissingCrlf => f.write_str("a bulk string not ended by CRLF"),
            DecodeError::NotUtf8 => f.write_str("a status or error line that is not UTF-8"),
            DecodeError::BareLineEnd => f.write_str("a CR or LF inside a line"),
            DecodeError::LineTooLong => f.write_str("a line over the max_line limit"),
            DecodeError::BulkTooLarge => f.write_str("a bulk string over the max_bulk limit"),
            DecodeError::ArrayTooLarge => f.write_str("an array over the max_array limit"),
            DecodeError::TooDeep => f.write_str("arrays nested past the max_depth limit"),
            DecodeError::ReplyTooLarge => f.write_str("a reply over the max_reply limit"),
        }
    }
}

impl std::error::Error for DecodeError {}

/// An array still waiting for elements.
#[derive(Debug)]
struct OpenArray {
    items: Vec<Value>,
    expected: usize,
}

/// What the decoder waits for next.
#[derive(Debug)]
enum State {
    /// A line `T…\r\n`; bytes before `scanned` are known to hold no CR.
    ExpectLine { scanned: usize },
    /// A bulk string's payload and its CRLF.
    ExpectBulk { len: usize },
    /// A decoding error: every later call returns it.
    Failed(DecodeError),
}

/// The incremental RESP2 decoder: feed it bytes as they arrive, take values out.
///
/// ```
/// use talkback_resp::{Decoder, Value};
/// let mut decoder = Decoder::default();
/// decoder.feed(b"*2\r\n:1\r\n$2\r\nh");
/// assert_eq!(decoder.next_value(), Ok(None), "the bulk string is not all here");
/// decoder.feed(b"i\r\n+OK\r\n");
/// assert_eq!(decoder.next_value(), Ok(Some(Value::Array(vec![Value::Integer(1), Value::Bulk(b"hi".to_vec())]))));
/// assert_eq!(decoder.next_value(), Ok(Some(Value::Simple("OK".into()))));
/// assert_eq!(decoder.next_value(), Ok(None));
/// ```
#[derive(Debug)]
pub struct Decoder {
    limits: Limits,
    /// Bytes fed and not yet consumed start at `start`.
    buffer: Vec<u8>,
    start: usize,
    state: State,
    /// Arrays being filled, outermost first.
    open: Vec<OpenArray>,
    /// Wire bytes of the reply being decoded so far (for [`Limits::max_reply`]).
    reply_bytes: usize,
}

impl Default for Decoder {
    fn default() -> Decoder {
        Decoder::new(Limits::default())
    }
}

impl Decoder {
    /// A decoder at the start of a connection.
    pub fn new(limits: Limits) -> Decoder {
        Decoder {
            limits,
            buffer: Vec::new(),
            start: 0,
            state: State::ExpectLine { scanned: 0 },
            open: Vec::new(),
            reply_bytes: 0,
        }
    }

    /// Appends bytes read from the connection.
    pub fn feed(&mut self, bytes: &[u8]) {
        if self.start > 0 && self.start == self.buffer.len() {
            // Everything fed was consumed: start over without copying.
            self.buffer.clear();
            self.start = 0;
        }
        self.buffer.extend_from_slice(bytes);
    }

    /// Bytes fed and not yet part of a returned value (what a reply in progress holds).
    pub fn buffered(&self) -> usize {
        self.buffer.len() - self.start
    }

    /// True when no reply is half decoded: the bytes fed so far ended exactly at a value's end.
    pub fn is_between_replies(&self) -> bool {
        self.buffered() == 0 && self.open.is_empty() && matches!(self.state, State::ExpectLine { .. })
    }

    /// The next whole value, `Ok(None)` if more bytes are needed, or the error that ends the
    /// connection (returned again on every later call).
    pub fn next_value(&mut self) -> Result<Option<Value>, DecodeError> {
        let result = self.decode();
        if let Err(error) = &result {
            self.state = State::Failed(error.clone());
        }
        self.compact();
        result
    }

    fn decode(&mut self) -> Result<Option<Value>, DecodeError> {
        loop {
            let value = match self.state {
                State::Failed(ref error) => return Err(error.clone()),
                State::ExpectBulk { len } => {
                    let available = &self.buffer[self.start..];
                    if available.len() < len + 2 {
                        return Ok(None);
                    }
                    if &available[len..len + 2] != b"\r\n" {
                        return Err(DecodeError::MissingCrlf);
                    }
                    let payload = available[..len].to_vec();
                    // Counted against max_reply when its length was read.
                    self.start += len + 2;
                    self.state = State::ExpectLine { scanned: 0 };
                    Value::Bulk(payload)
                }
                State::ExpectLine { scanned } => {
                    let Some(line_len) = self.find_line(scanned)? else {
                        return Ok(None);
                    };
                    let line = self.buffer[self.start..self.start + line_len].to_vec();
                    self.consume(line_len + 2)?;
                    match self.line(&line)? {
                        Some(value) => value,
                        None => continue,
                    }
                }
            };
            if let Some(whole) = self.complete(value) {
                self.reply_bytes = 0;
                return Ok(Some(whole));
            }
        }
    }

    /// Finds the CRLF ending the line at `start`; returns the line's length without it.
    fn find_line(&mut self, scanned: usize) -> Result<Option<usize>, DecodeError> {
        let available = &self.buffer[self.start..];
        let Some(cr) = available[scanned..].iter().position(|&b| b == b'\r').map(|i| scanned + i) else {
            if available.len() > self.limits.max_line {
                return Err(DecodeError::LineTooLong);
            }
            self.state = State::ExpectLine { scanned: available.len() };
            return Ok(None);
        };
        if cr > self.limits.max_line {
            return Err(DecodeError::LineTooLong);
        }
        if available[..cr].contains(&b'\n') {
            return Err(DecodeError::BareLineEnd);
        }
        match available.get(cr + 1) {
            None => {
                // The CR came, its LF not yet: look at the CR again next time.
                self.state = State::ExpectLine { scanned: cr };
                Ok(None)
            }
            Some(b'\n') => Ok(Some(cr)),
            Some(_) => Err(DecodeError::BareLineEnd),
        }
    }

    /// Interprets one line: a whole value, or `None` when it opened something (a bulk string,
    /// an array) that later bytes complete.
    fn line(&mut self, line: &[u8]) -> Result<Option<Value>, DecodeError> {
        self.state = State::ExpectLine { scanned: 0 };
        let (&kind, rest) = line.split_first().ok_or(DecodeError::UnknownType(b'\r'))?;
        let text = || std::str::from_utf8(rest).map(str::to_owned).map_err(|_| DecodeError::NotUtf8);
        Ok(Some(match kind {
            b'+' => Value::Simple(text()?),
            b'-' => Value::Error(text()?),
            b':' => Value::Integer(integer(rest)?),
            b'$' => match length(rest)? {
                None => Value::Nil,
                Some(len) if len > self.limits.max_bulk => return Err(DecodeError::BulkTooLarge),
                Some(len) => {
                    self.check_reply_size(len + 2)?;
                    self.state = State::ExpectBulk { len };
                    return Ok(None);
                }
            },
            b'*' => match length(rest)? {
                None => Value::Nil,
                Some(0) => Value::Array(Vec::new()),
                Some(len) if len > self.limits.max_array => return Err(DecodeError::ArrayTooLarge),
                Some(len) => {
                    if self.open.len() >= self.limits.max_depth {
                        return Err(DecodeError::TooDeep);
                    }
                    // Room for what has arrived, not for what the length claims.
                    let items = Vec::with_capacity(len.min(64));
                    self.open.push(OpenArray { items, expected: len });
                    return Ok(None);
                }
            },
            other => return Err(DecodeError::UnknownType(other)),
        }))
    }

    /// Gives `value` to the innermost open array, closing every array it fills; returns the
    /// value when no array is open (the reply is whole).
    fn complete(&mut self, mut value: Value) -> Option<Value> {
        loop {
            let Some(array) = self.open.last_mut() else {
                return Some(value);
            };
            array.items.push(value);
            if array.items.len() < array.expected {
                return None;
            }
            let full = self.open.pop().expect("the array just filled");
            value = Value::Array(full.items);
        }
    }

    fn consume(&mut self, bytes: usize) -> Result<(), DecodeError> {
        self.start += bytes;
        self.check_reply_size(bytes)
    }

    fn check_reply_size(&mut self, bytes: usize) -> Result<(), DecodeError> {
        self.reply_bytes = self.reply_bytes.saturating_add(bytes);
        if self.reply_bytes > self.limits.max_reply {
            return Err(DecodeError::ReplyTooLarge);
        }
        Ok(())
    }

    /// Drops consumed bytes once they are most of the buffer, so it does not grow with the
    /// connection's age.
    fn compact(&mut self) {
        if self.start > 4096 && self.start * 2 > self.buffer.len() {
            self.buffer.drain(..self.start);
            self.start = 0;
        }
    }
}

/// A RESP length: `-1` is nil, other negatives are errors.
fn length(digits: &[u8]) -> Result<Option<usize>, DecodeError> {
    match digits {
        b"-1" => Ok(None),
        [b'-', ..] => Err(DecodeError::NegativeLength),
        _ => {
            let n = parse_decimal(digits).map_err(|_| DecodeError::BadNumber)?;
            usize::try_from(n).map(Some).map_err(|_| DecodeError::BadNumber)
        }
    }
}

/// A RESP integer: an optional `-`, then digits, within i64.
fn integer(digits: &[u8]) -> Result<i64, DecodeError> {
    let (negative, digits) = match digits {
        [b'-', rest @ ..] => (true, rest),
        [b'+', rest @ ..] => (false, rest),
        _ => (false, digits),
    };
    let magnitude = parse_decimal(digits).map_err(|_| DecodeError::BadNumber)?;
    if negative {
        0i64.checked_sub_unsigned(magnitude).ok_or(DecodeError::BadNumber)
    } else {
        i64::try_from(magnitude).map_err(|_| DecodeError::BadNumber)
    }
}
