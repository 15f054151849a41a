//! The chunked transfer coding, byte by byte
//! ([RFC 9112 §7.1](https://www.rfc-editor.org/rfc/rfc9112#section-7.1)).
//!
//! ```text
//! chunked-body   = *chunk last-chunk trailer-section CRLF
//! chunk          = chunk-size [ chunk-ext ] CRLF chunk-data CRLF
//! chunk-size     = 1*HEXDIG
//! chunk-ext      = *( BWS ";" BWS chunk-ext-name [ BWS "=" BWS chunk-ext-val ] )
//! chunk-ext-val  = token / quoted-string
//! ```
//!
//! Chunk lines and trailers are read by small state machines that keep their place
//! between calls, so a line split across reads is never rescanned. Stricter than the
//! grammar: no whitespace at all in a chunk line (BWS is whitespace a sender MUST NOT
//! generate, RFC 9110 §5.6.3), which closes the `5 ;x` / `5\t` smuggling variants.

use crate::Error;
use crate::fields::is_tchar;

/// The longest chunk line (size and extensions) we read: RFC 9112 §7.1.1 asks
/// recipients to bound extensions; we ignore their content anyway.
pub const MAX_CHUNK_LINE: usize = 4096;

/// Where we are inside `chunk-size [ chunk-ext ] CRLF`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum LineState {
    /// In the hex digits; `digits` once at least one was seen.
    Size { digits: bool },
    /// After `;`, in the name; `empty` until a tchar is seen.
    ExtName { empty: bool },
    /// After `=`.
    ExtValueStart,
    /// In a token value.
    ExtToken,
    /// Inside a quoted-string.
    Quoted,
    /// After a backslash inside a quoted-string.
    QuotedEscape,
    /// After the closing quote.
    QuotedEnd,
    /// After the CR that ends the line.
    Cr,
}

/// A chunk-size line being read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ChunkLine {
    state: LineState,
    /// The size so far.
    size: u64,
    /// Bytes of the line so far.
    len: usize,
}

impl ChunkLine {
    /// A line not yet started.
    pub(crate) fn new() -> ChunkLine {
        ChunkLine { state: LineState::Size { digits: false }, size: 0, len: 0 }
    }

    /// Reads bytes of the line; `Some((used, size))` once its LF is read.
    pub(crate) fn advance(&mut self, input: &[u8]) -> Result<Option<(usize, u64)>, Error> {
        for (i, &b) in input.iter().enumerate() {
            self.len += 1;
            if self.len > MAX_CHUNK_LINE {
                return Err(Error::ChunkLineTooLong);
            }
            if self.step(b)? {
                return Ok(Some((i + 1, self.size)));
            }
        }
        Ok(None)
    }

    /// One byte; `true` when it is the LF that ends the line.
    fn step(&mut self, b: u8) -> Result<bool, Error> {
        use LineState::*;
        let bad_ext = Err(Error::InvalidChunkExtension);
        self.state = match self.state {
            Cr if b == b'\n' => return Ok(true),
            Cr => return Err(Error::BareCr),
            _ if b == b'\n' => return Err(Error::BareLf),
            Quoted => match b {
                b'"' => QuotedEnd,
                b'\\' => QuotedEscape,
                b'\t' | b' ' | 0x21..=0x7e | 0x80..=0xff => Quoted,
                _ => return bad_ext,
            },
            QuotedEscape => match b {
                b'\t' | b' ' | 0x21..=0x7e | 0x80..=0xff => Quoted,
                _ => return bad_ext,
            },
            _ if b == b' ' || b == b'\t' => return Err(Error::WhitespaceInChunkLine),
            Size { digits: false } if b == b'\r' || b == b';' => {
                return Err(Error::InvalidChunkSize);
            }
            Size { .. } => match b {
                b'\r' => Cr,
                b';' => ExtName { empty: true },
                _ => {
                    self.push_digit(b)?;
                    Size { digits: true }
                }
            },
            ExtName { empty } => match b {
                _ if is_tchar(b) => ExtName { empty: false },
                _ if empty => return bad_ext,
                b'=' => ExtValueStart,
                b';' => ExtName { empty: true },
                b'\r' => Cr,
                _ => return bad_ext,
            },
            ExtValueStart => match b {
                b'"' => Quoted,
                _ if is_tchar(b) => ExtToken,
                _ => return bad_ext,
            },
            ExtToken | QuotedEnd => match b {
                _ if is_tchar(b) && self.state == ExtToken => ExtToken,
                b';' => ExtName { empty: true },
                b'\r' => Cr,
                _ => return bad_ext,
            },
        };
        Ok(false)
    }

    /// Appends a hex digit to the size, refusing overflow.
    fn push_digit(&mut self, b: u8) -> Result<(), Error> {
        let digit = char::from(b).to_digit(16).ok_or(Error::InvalidChunkSize)?;
        self.size = self
            .size
            .checked_mul(16)
            .and_then(|size| size.checked_add(u64::from(digit)))
            .ok_or(Error::ChunkSizeOverflow)?;
        Ok(())
    }
}

/// Where we are in the trailer section.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum TrailerState {
    /// At the start of a line: a field name or the final CRLF.
    LineStart,
    /// In a field name.
    Name,
    /// In a field value.
    Value,
    /// After the CR of a field line.
    ValueCr,
    /// After the CR of the final empty line.
    EndCr,
}

/// Fields that must not be trailers, lower case
/// ([RFC 9110 §6.5.1](https://www.rfc-editor.org/rfc/rfc9110#section-6.5.1)): "Many fields
/// cannot be processed outside the header section because their evaluation is necessary prior
/// to receiving the content, such as those that describe message framing, routing,
/// authentication, request modifiers, response controls, or content format. A sender MUST NOT
/// generate a trailer field unless the sender knows the corresponding header field name's
/// definition permits the field to be sent in trailers." None of these permits it, so a
/// trailer section with one is refused (400 `ProhibitedTrailer`): a proxy that merged it
/// would see another length, host or credential than we did.
pub const PROHIBITED_TRAILERS: [&str; 25] = [
    // Framing (RFC 9112 §6, §7.1.2).
    "content-length",
    "transfer-encoding",
    "trailer",
    // Routing (RFC 9110 §7.2) and connection management (RFC 9110 §7.6.1, §7.8, §10.1.4).
    "host",
    "connection",
    "keep-alive",
    "proxy-connection",
    "te",
    "upgrade",
    // Request modifiers: controls (RFC 9110 §10.1, RFC 9111 §5.2, §5.4) and conditionals
    // (RFC 9110 §13.1, §14.2).
    "expect",
    "max-forwards",
    "cache-control",
    "pragma",
    "range",
    "if-match",
    "if-none-match",
    "if-modified-since",
    "if-unmodified-since",
    "if-range",
    // Authentication (RFC 9110 §11.6, RFC 6265 §5.4).
    "authorization",
    "proxy-authorization",
    "cookie",
    // Content format (RFC 9110 §8.3, §8.4, §14.4).
    "content-type",
    "content-encoding",
    "content-range",
];

/// The longest name in [`PROHIBITED_TRAILERS`]: a longer one cannot be prohibited.
const LONGEST_PROHIBITED: usize = 19;

/// A trailer section being read and discarded (RFC 9112 §7.1.2: "A recipient that removes
/// the chunked coding from a message MAY selectively retain or discard the received trailer
/// fields"; we need none, so we check them, bound them and drop them — never merge them into
/// the request, whose head was handed out before its body). A field from
/// [`PROHIBITED_TRAILERS`] refuses the request instead.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct TrailerScan {
    state: TrailerState,
    /// Bytes of field lines so far (the final CRLF is not counted).
    len: usize,
    /// The current line's field name, lower-cased, up to [`LONGEST_PROHIBITED`] bytes.
    name: [u8; LONGEST_PROHIBITED],
    /// The name's length so far (it may pass the bytes kept: then it is allowed).
    name_len: usize,
}

impl TrailerScan {
    /// A trailer section not yet started.
    pub(crate) fn new() -> TrailerScan {
        TrailerScan { state: TrailerState::LineStart, len: 0, name: [0; LONGEST_PROHIBITED], name_len: 0 }
    }

    /// Reads bytes; `Some(used)` once the final CRLF is read.
    pub(crate) fn advance(&mut self, input: &[u8], limit: usize) -> Result<Option<usize>, Error> {
        for (i, &b) in input.iter().enumerate() {
            if self.step(b)? {
                return Ok(Some(i + 1));
            }
            if self.state != TrailerState::EndCr {
                self.len += 1;
                if self.len > limit {
                    return Err(Error::TrailersTooLarge);
                }
            }
        }
        Ok(None)
    }

    /// One byte; `true` when it is the LF of the final empty line.
    fn step(&mut self, b: u8) -> Result<bool, Error> {
        use TrailerState::*;
        self.state = match (self.state, b) {
            (EndCr, b'\n') => return Ok(true),
            (EndCr | ValueCr, _) if b != b'\n' => return Err(Error::BareCr),
            (ValueCr, _) => {
                self.name_len = 0;
                LineStart
            }
            (_, b'\n') => return Err(Error::BareLf),
            (LineStart, b'\r') => EndCr,
            (LineStart | Name, _) if is_tchar(b) => {
                if let Some(slot) = self.name.get_mut(self.name_len) {
                    *slot = b.to_ascii_lowercase();
                }
                self.name_len += 1;
                Name
            }
            (Name, b':') => {
                self.check_name()?;
                Value
            }
            (Value, b'\r') => ValueCr,
            (Value, b'\t' | 0x20..=0x7e | 0x80..=0xff) => Value,
            _ => return Err(Error::InvalidTrailer),
        };
        Ok(false)
    }

    /// At the colon: refuses a field that must not be a trailer (RFC 9110 §6.5.1).
    fn check_name(&self) -> Result<(), Error> {
        let name = self.name.get(..self.name_len).unwrap_or_default();
        match PROHIBITED_TRAILERS.iter().any(|prohibited| prohibited.as_bytes() == name) {
            true => Err(Error::ProhibitedTrailer),
            false => Ok(()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn line(bytes: &[u8]) -> Result<Option<(usize, u64)>, Error> {
        ChunkLine::new().advance(bytes)
    }

    #[test]
    fn rfc9112_7_1_reads_sizes_and_skips_extensions() {
        assert_eq!(line(b"1aF\r\nxx"), Ok(Some((5, 0x1af))));
        assert_eq!(line(b"5;a=b;c;d=\"q \\\" \"\r\n"), Ok(Some((19, 5))));
        assert_eq!(line(b"0\r\n"), Ok(Some((3, 0))));
        assert_eq!(line(b"5"), Ok(None));
    }

    #[test]
    fn rfc9112_7_1_rejects_malformed_chunk_lines() {
        assert_eq!(line(b"\r\n"), Err(Error::InvalidChunkSize));
        assert_eq!(line(b";a\r\n"), Err(Error::InvalidChunkSize));
        assert_eq!(line(b"0x5\r\n"), Err(Error::InvalidChunkSize));
        assert_eq!(line(b"5 \r\n"), Err(Error::WhitespaceInChunkLine));
        assert_eq!(line(b"5 ;a\r\n"), Err(Error::WhitespaceInChunkLine));
        assert_eq!(line(b"5;\r\n"), Err(Error::InvalidChunkExtension));
        assert_eq!(line(b"5;a=\r\n"), Err(Error::InvalidChunkExtension));
        assert_eq!(line(b"5;(\r\n"), Err(Error::InvalidChunkExtension));
        assert_eq!(line(b"5;a=\"x\"y\r\n"), Err(Error::InvalidChunkExtension));
        assert_eq!(line(b"5\n"), Err(Error::BareLf));
        assert_eq!(line(b"5\rx"), Err(Error::BareCr));
        assert_eq!(line(b"10000000000000000\r\n"), Err(Error::ChunkSizeOverflow));
        let long = [&b"5;a="[..], &[b'x'; MAX_CHUNK_LINE]].concat();
        assert_eq!(line(&long), Err(Error::ChunkLineTooLong));
    }

    #[test]
    fn rfc9112_7_1_2_reads_and_bounds_trailers() {
        let scan = |b: &[u8], limit| TrailerScan::new().advance(b, limit);
        assert_eq!(scan(b"\r\n", 0), Ok(Some(2)));
        assert_eq!(scan(b"A: b\r\nC:\r\n\r\nnext", 100), Ok(Some(12)));
        assert_eq!(scan(b"A: b\r\n\r\n", 3), Err(Error::TrailersTooLarge));
        assert_eq!(scan(b"A : b\r\n\r\n", 100), Err(Error::InvalidTrailer));
        assert_eq!(scan(b" A: b\r\n\r\n", 100), Err(Error::InvalidTrailer));
        assert_eq!(scan(b":b\r\n\r\n", 100), Err(Error::InvalidTrailer));
        assert_eq!(scan(b"A: b\n\r\n", 100), Err(Error::BareLf));
        assert_eq!(scan(b"A: \x00\r\n\r\n", 100), Err(Error::InvalidTrailer));
    }

    #[test]
    fn rfc9110_6_5_1_refuses_fields_that_must_not_be_trailers_in_any_case() {
        let scan = |b: &[u8]| TrailerScan::new().advance(b, 8192);
        for name in PROHIBITED_TRAILERS {
            assert!(name.len() <= LONGEST_PROHIBITED, "{name}");
            for spelled in [name.to_owned(), name.to_ascii_uppercase()] {
                let line = format!("X-Before: 1\r\n{spelled}: 5\r\n\r\n");
                assert_eq!(scan(line.as_bytes()), Err(Error::ProhibitedTrailer), "{spelled}");
            }
        }
        // Names that merely start or end like one, or are longer than any, are dropped.
        for allowed in ["X-Checksum", "Server-Timing", "Hosts", "Content-Lengthy", "If-Unmodified-Since-X", "T"] {
            let line = format!("{allowed}: 5\r\n\r\n");
            assert_eq!(scan(line.as_bytes()), Ok(Some(line.len())), "{allowed}");
        }
    }
}
