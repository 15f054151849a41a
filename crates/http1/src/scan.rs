//! Finding the end of a request head without ever rescanning
//! ([RFC 9112 §2.2](https://www.rfc-editor.org/rfc/rfc9112#section-2.2), §3).
//!
//! The caller re-feeds the unconsumed bytes of an incomplete head. [`HeadScan`] remembers
//! how far it looked, so each byte is examined once; httparse runs once, on a complete
//! head. The limits are positions: a byte past them is an error the moment it is seen,
//! so the answer does not depend on how the bytes were split, and a client cannot make
//! us hold more than `max_head` bytes of head.

use crate::{Error, Limits};

/// Where a complete head lies in the input.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct HeadSpan {
    /// First byte of the request-line (leading empty lines are skipped, RFC 9112 §2.2).
    pub(crate) start: usize,
    /// One past the CRLF that ends the head.
    pub(crate) end: usize,
    /// Field lines seen: the number of httparse slots to lend.
    pub(crate) field_lines: usize,
}

/// Progress through an incomplete head.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct HeadScan {
    /// Bytes of the input already examined; the next call resumes here.
    pub(crate) scanned: usize,
    /// Where the current line begins.
    line_start: usize,
    /// Where the request-line begins (after any leading empty lines).
    start: usize,
    /// The request-line has ended; later lines are field lines.
    request_line_done: bool,
    /// Field lines ended so far.
    field_lines: usize,
}

impl HeadScan {
    /// Examines the bytes after `scanned`; returns the span once the empty line arrives.
    pub(crate) fn advance(&mut self, input: &[u8], limits: &Limits) -> Result<Option<HeadSpan>, Error> {
        let mut i = self.scanned.min(input.len());
        loop {
            let (limit, too_long) = self.limit(limits);
            let end = input.len().min(limit);
            let found = input[i..end].iter().position(|&b| b == b'\r' || b == b'\n');
            let Some(offset) = found else {
                if input.len() > limit {
                    return Err(too_long);
                }
                self.scanned = end;
                return Ok(None);
            };
            let at = i + offset;
            if input[at] == b'\r' {
                match input.get(at + 1) {
                    None => {
                        // Look at this CR again when its successor arrives.
                        self.scanned = at;
                        return Ok(None);
                    }
                    Some(b'\n') => i = at + 1,
                    Some(_) => return Err(Error::BareCr),
                }
                continue;
            }
            if at == 0 || input[at - 1] != b'\r' {
                return Err(Error::BareLf);
            }
            if let Some(span) = self.end_line(at, limits)? {
                return Ok(Some(span));
            }
            i = at + 1;
        }
    }

    /// The first position that may not hold a byte of this head, and the error if one does.
    fn limit(&self, limits: &Limits) -> (usize, Error) {
        if !self.request_line_done {
            let line_limit = self.line_start.saturating_add(limits.max_request_line);
            if line_limit < limits.max_head {
                return (line_limit, Error::RequestLineTooLong);
            }
        }
        (limits.max_head, Error::HeadTooLarge)
    }

    /// Handles the LF at `lf` (its CR is at `lf - 1`).
    fn end_line(&mut self, lf: usize, limits: &Limits) -> Result<Option<HeadSpan>, Error> {
        let empty = lf - 1 == self.line_start;
        if !self.request_line_done {
            if empty {
                self.start = lf + 1; // RFC 9112 §2.2: ignore empty lines before the request-line
            } else {
                self.request_line_done = true;
            }
        } else if empty {
            return Ok(Some(HeadSpan { start: self.start, end: lf + 1, field_lines: self.field_lines }));
        } else {
            self.field_lines += 1;
            if self.field_lines > limits.max_headers {
                return Err(Error::TooManyFields);
            }
        }
        self.line_start = lf + 1;
        Ok(None)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scan_whole(input: &[u8]) -> Result<Option<HeadSpan>, Error> {
        HeadScan::default().advance(input, &Limits::default())
    }

    #[test]
    fn finds_the_empty_line() {
        let head = b"GET / HTTP/1.1\r\nHost: a\r\n\r\nBODY";
        let span = scan_whole(head).unwrap().unwrap();
        assert_eq!((span.start, span.end, span.field_lines), (0, 27, 1));
    }

    #[test]
    fn rfc9112_2_2_skips_leading_empty_lines() {
        let span = scan_whole(b"\r\n\r\nGET / HTTP/1.1\r\n\r\n").unwrap().unwrap();
        assert_eq!((span.start, span.end), (4, 22));
    }

    #[test]
    fn rfc9112_2_2_rejects_bare_lf_and_bare_cr() {
        assert_eq!(scan_whole(b"GET / HTTP/1.1\nHost: a\n\n"), Err(Error::BareLf));
        assert_eq!(scan_whole(b"GET / HTTP/1.1\rHost: a"), Err(Error::BareCr));
    }

    #[test]
    fn never_rescans_and_resumes_before_a_trailing_cr() {
        let mut scan = HeadScan::default();
        let limits = Limits::default();
        assert_eq!(scan.advance(b"GET / HTTP/1.1\r", &limits), Ok(None));
        assert_eq!(scan.scanned, 14);
        assert_eq!(scan.advance(b"GET / HTTP/1.1\r\nHo", &limits), Ok(None));
        assert_eq!(scan.scanned, 18);
        let done = scan.advance(b"GET / HTTP/1.1\r\nHost: a\r\n\r\n", &limits);
        assert_eq!(done.unwrap().unwrap().end, 27);
    }

    #[test]
    fn rfc9112_3_request_line_limit_holds_while_incomplete() {
        let limits = Limits { max_request_line: 16, ..Limits::default() };
        let mut scan = HeadScan::default();
        assert_eq!(scan.advance(b"GET /0123456789A", &limits), Ok(None));
        let long = b"GET /0123456789AB";
        assert_eq!(scan.advance(long, &limits), Err(Error::RequestLineTooLong));
    }
}
