//! Finding the end of a request head without ever rescanning
//! ([RFC 9112 §2.2](https://www.rfc-editor.org/rfc/rfc9112#section-2.2), §3).
//!
//! The caller re-feeds the unconsumed bytes of an incomplete head. [`HeadScan`] remembers
//! how far it looked, so each byte is examined once; the head is parsed once, when
//! complete. The limits are positions: a byte past them is an error the moment it is seen,
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
    /// Field lines seen: the size of the request's field list.
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
            let Some(offset) = find_cr_or_lf(&input[i..end]) else {
                if input.len() > limit {
                    return Err(too_long);
                }
                self.scanned = end;
                return Ok(None);
            };
            let at = i + offset;
            let lf = if input[at] == b'\r' {
                match input.get(at + 1) {
                    None => {
                        // Look at this CR again when its successor arrives.
                        self.scanned = at;
                        return Ok(None);
                    }
                    // The common case: end the line without searching again.
                    Some(b'\n') if at + 1 < end => at + 1,
                    // Its LF is past the limit: the next search reports it.
                    Some(b'\n') => {
                        i = at + 1;
                        continue;
                    }
                    Some(_) => return Err(Error::BareCr),
                }
            } else if at == 0 || input[at - 1] != b'\r' {
                return Err(Error::BareLf);
            } else {
                at
            };
            if let Some(span) = self.end_line(lf, limits)? {
                return Ok(Some(span));
            }
            i = lf + 1;
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

/// The index of the first CR or LF in `bytes`, eight bytes at a time (safe SWAR, as
/// `apply_mask` in the ws crate): a head is mostly field text, and a byte loop with two
/// comparisons per byte was the decoder's largest cost. The SSE encoder splits data into
/// lines with it too (one finder of line ends for the protocol crates).
pub fn find_cr_or_lf(bytes: &[u8]) -> Option<usize> {
    const ONES: u64 = u64::from_le_bytes([0x01; 8]);
    const HIGHS: u64 = u64::from_le_bytes([0x80; 8]);
    const CRS: u64 = u64::from_le_bytes([b'\r'; 8]);
    const LFS: u64 = u64::from_le_bytes([b'\n'; 8]);
    let mut chunks = bytes.chunks_exact(8);
    let mut base = 0;
    for chunk in &mut chunks {
        let word = u64::from_le_bytes(chunk.try_into().expect("chunks of 8"));
        let (cr, lf) = (word ^ CRS, word ^ LFS);
        // A byte of `cr` (or `lf`) is zero where the input byte is CR (LF). The classic
        // "has a zero byte" test flags every zero byte; it may also flag bytes above one
        // (the borrow runs upwards), so only the lowest flag is trusted, and it is exact.
        let zero = (cr.wrapping_sub(ONES) & !cr) | (lf.wrapping_sub(ONES) & !lf);
        let found = zero & HIGHS;
        if found != 0 {
            return Some(base + (found.trailing_zeros() / 8) as usize);
        }
        base += 8;
    }
    chunks.remainder().iter().position(|&b| b == b'\r' || b == b'\n').map(|i| base + i)
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
    fn find_cr_or_lf_agrees_with_a_byte_loop() {
        let slow = |b: &[u8]| b.iter().position(|&b| b == b'\r' || b == b'\n');
        let mut bytes: Vec<u8> = (0..=255u8).filter(|b| !matches!(b, b'\r' | b'\n')).collect();
        assert_eq!(find_cr_or_lf(&bytes), None);
        for len in 0..40 {
            for at in 0..len {
                for special in [b'\r', b'\n'] {
                    // Bytes just above and below CR/LF, and 0x80+, probe the borrow logic.
                    let mut input: Vec<u8> = (0..len).map(|i| [0x0b, 0x0c, 0x0e, 0x8d, 0x00, b'a'][i % 6]).collect();
                    input[at] = special;
                    if at + 1 < len {
                        input[at + 1] = b'\n';
                    }
                    assert_eq!(find_cr_or_lf(&input), slow(&input), "{input:?}");
                }
            }
        }
        bytes.push(b'\n');
        assert_eq!(find_cr_or_lf(&bytes), Some(bytes.len() - 1));
    }

    #[test]
    fn a_lf_past_the_limit_is_too_long_even_after_its_cr() {
        let limits = Limits { max_request_line: 16, ..Limits::default() };
        assert_eq!(scan_whole_with(b"GET /01234567 H\r\n", &limits), Err(Error::RequestLineTooLong));
        let fits = scan_whole_with(b"GET /0123456 H\r\nHost: a\r\n\r\n", &limits);
        assert_eq!(fits.map(|span| span.map(|s| s.end)), Ok(Some(27)));
    }

    fn scan_whole_with(input: &[u8], limits: &Limits) -> Result<Option<HeadSpan>, Error> {
        HeadScan::default().advance(input, limits)
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
