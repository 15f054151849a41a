//! Incremental UTF-8 for text messages ([RFC 6455 §8.1](https://www.rfc-editor.org/rfc/rfc6455#section-8.1)):
//! payload pieces arrive in any split (across frames, and across reads inside a frame) and
//! must fail **as soon as** the bytes so far can no longer be valid UTF-8 (Autobahn 6.4.x).
//!
//! The trick is `std::str::Utf8Error::error_len()`: `Some(n)` means an invalid sequence is
//! already present; `None` means the input merely ends inside a sequence that could still be
//! completed. std checks the tight second-byte ranges (`E0 A0..BF`, `ED 80..9F`, `F0 90..BF`,
//! `F4 80..8F`), so a truncated prefix such as `ED A0` (a surrogate) is reported invalid at
//! once rather than when its last byte arrives.
//!
//! Each byte is validated exactly once: valid text is appended to the message's `String` as
//! it is checked; only the up-to-3-byte incomplete tail of a code point waits for more.

use crate::Error;

/// A text message being assembled: the validated text so far plus an incomplete code point.
#[derive(Debug, Default)]
pub(crate) struct TextAssembler {
    /// Validated text.
    text: String,
    /// The start of a code point split at the end of the previous piece (at most 3 bytes).
    tail: [u8; 4],
    /// How many bytes of `tail` are in use.
    tail_len: usize,
}

impl TextAssembler {
    /// Bytes held so far (text plus incomplete tail).
    pub(crate) fn len(&self) -> usize {
        self.text.len() + self.tail_len
    }

    /// Validates and appends the next piece of payload.
    pub(crate) fn push(&mut self, mut piece: &[u8]) -> Result<(), Error> {
        if self.tail_len > 0 {
            piece = self.complete_tail(piece)?;
            if self.tail_len > 0 {
                return Ok(()); // the piece ran out inside the same code point
            }
        }
        let (head, tail) = piece.split_at(incomplete_suffix_start(piece));
        let text = std::str::from_utf8(head).map_err(|_| Error::InvalidUtf8)?;
        self.text.push_str(text);
        if !tail.is_empty() {
            match std::str::from_utf8(tail) {
                // A lead byte plus fewer continuation bytes than it needs, so far all valid.
                Err(e) if e.error_len().is_none() => {
                    self.tail[..tail.len()].copy_from_slice(tail);
                    self.tail_len = tail.len();
                }
                _ => return Err(Error::InvalidUtf8),
            }
        }
        Ok(())
    }

    /// Feeds bytes into the incomplete tail until it forms one character; returns the rest.
    fn complete_tail<'a>(&mut self, piece: &'a [u8]) -> Result<&'a [u8], Error> {
        let width = match self.tail[0] {
            0xC2..=0xDF => 2,
            0xE0..=0xEF => 3,
            _ => 4, // only valid lead bytes are ever kept
        };
        let take = (width - self.tail_len).min(piece.len());
        self.tail[self.tail_len..self.tail_len + take].copy_from_slice(&piece[..take]);
        let held = self.tail_len + take;
        match std::str::from_utf8(&self.tail[..held]) {
            Ok(ch) => {
                self.text.push_str(ch);
                self.tail_len = 0;
            }
            Err(e) if e.error_len().is_some() => return Err(Error::InvalidUtf8),
            Err(_) => self.tail_len = held,
        }
        Ok(&piece[take..])
    }

    /// Ends the message: an incomplete code point at the end is invalid.
    pub(crate) fn finish(&mut self) -> Result<String, Error> {
        if self.tail_len > 0 {
            self.tail_len = 0;
            self.text.clear();
            return Err(Error::InvalidUtf8);
        }
        Ok(std::mem::take(&mut self.text))
    }

    /// Drops a message in progress.
    pub(crate) fn clear(&mut self) {
        self.text.clear();
        self.tail_len = 0;
    }
}

/// Where the last code point of `piece` starts if it is cut short, else `piece.len()`.
/// Splitting there lets `from_utf8` see every complete character exactly once.
fn incomplete_suffix_start(piece: &[u8]) -> usize {
    let len = piece.len();
    for back in 1..=len.min(3) {
        let i = len - back;
        let byte = piece[i];
        if byte & 0xC0 != 0x80 {
            let width = match byte {
                0xC0..=0xDF => 2,
                0xE0..=0xEF => 3,
                0xF0..=0xF7 => 4,
                _ => 1,
            };
            return if back < width { i } else { len };
        }
    }
    len
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Pushes `pieces` in order; returns the result and how many pieces were accepted
    /// before the first error.
    fn feed(pieces: &[&[u8]]) -> (Result<String, Error>, usize) {
        let mut asm = TextAssembler::default();
        let mut fed = 0;
        for piece in pieces {
            if let Err(e) = asm.push(piece) {
                return (Err(e), fed);
            }
            fed += 1;
        }
        (asm.finish(), fed)
    }

    #[test]
    fn rfc6455_8_1_accepts_valid_text_at_every_split() {
        let text = "κόσμε — 𝄞 Hello-µ@ßöäüàá-UTF-8!!";
        let bytes = text.as_bytes();
        for cut in 0..=bytes.len() {
            let (a, b) = bytes.split_at(cut);
            assert_eq!(feed(&[a, b]).0.as_deref(), Ok(text), "cut {cut}");
        }
        let singles: Vec<&[u8]> = bytes.chunks(1).collect();
        assert_eq!(feed(&singles).0.as_deref(), Ok(text));
    }

    #[test]
    fn rfc6455_8_1_fails_fast_on_a_prefix_that_cannot_be_valid() {
        // ED A0 starts a surrogate: invalid before the third byte arrives (Autobahn 6.4.x).
        let (res, fed) = feed(&[b"ab\xED", b"\xA0", b"\x80more"]);
        assert_eq!((res, fed), (Err(Error::InvalidUtf8), 1));
        // F4 90 is above U+10FFFF.
        let (res, fed) = feed(&[b"\xF4", b"\x90", b"\x80\x80"]);
        assert_eq!((res, fed), (Err(Error::InvalidUtf8), 1));
        // An invalid byte in the middle of a piece fails that piece.
        let (res, fed) = feed(&[b"ok\xC0\xAFrest", b"x"]);
        assert_eq!((res, fed), (Err(Error::InvalidUtf8), 0));
    }

    #[test]
    fn rfc6455_8_1_rejects_truncated_code_point_at_message_end() {
        let (res, fed) = feed(&[b"ab\xE2\x82"]);
        assert_eq!((res, fed), (Err(Error::InvalidUtf8), 1));
    }

    #[test]
    fn rfc6455_8_1_agrees_with_std_on_every_short_sequence() {
        let interesting = [
            0x00, 0x7F, 0x80, 0xBF, 0xC0, 0xC2, 0xDF, 0xE0, 0xED, 0xEF, 0xF0, 0xF4, 0xF5, 0xFF, 0x9F, 0xA0, 0x90, 0x8F,
        ];
        for &a in &interesting {
            for &b in &interesting {
                for &c in &interesting {
                    for &d in &interesting {
                        let bytes = [a, b, c, d];
                        let expect = std::str::from_utf8(&bytes).is_ok();
                        for cut in 0..=4 {
                            let (x, y) = bytes.split_at(cut);
                            assert_eq!(feed(&[x, y]).0.is_ok(), expect, "{bytes:02x?} cut {cut}");
                        }
                    }
                }
            }
        }
    }
}
