//! Decimal numbers on the wire: the one writer and the one strict parser that every protocol
//! crate uses — `Content-Length` here
//! ([RFC 9110 §8.6](https://www.rfc-editor.org/rfc/rfc9110#section-8.6): `1*DIGIT`), the SSE
//! `id:` and `retry:` fields (WHATWG HTML "Parsing an event stream": a retry value "consists of
//! only ASCII digits"), and the hub's message ids and query values.
//!
//! One definition, so that "what is a number" cannot differ between a request head, an event
//! stream and a query string.

/// A byte string that is not a decimal `u64`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DecimalError {
    /// Empty, or a byte that is not an ASCII digit: `""`, `" 1"`, `"+1"`, `"-1"`, `"1.0"`,
    /// `"0x1"`, a non-ASCII digit such as `"١"`. Wins over [`DecimalError::Overflow`]: a
    /// long string with a stray byte is not a number at all.
    NotDecimal,
    /// Only digits, but the number is above `u64::MAX` (`18446744073709551616` and up).
    Overflow,
}

impl std::fmt::Display for DecimalError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            DecimalError::NotDecimal => "not one or more ASCII digits",
            DecimalError::Overflow => "decimal number above u64::MAX",
        })
    }
}

impl std::error::Error for DecimalError {}

/// Appends `n` in decimal: no allocation, no formatting machinery, no leading zeros (`0` is
/// `"0"`). The digits are written backwards into a 20-byte stack buffer (`u64::MAX` has 20)
/// and copied out in one piece.
///
/// ```
/// let mut out = b"Content-Length: ".to_vec();
/// talkback_http1::push_decimal(&mut out, 1234);
/// assert_eq!(out, b"Content-Length: 1234");
/// ```
#[inline]
pub fn push_decimal(out: &mut Vec<u8>, mut n: u64) {
    let mut digits = [0u8; 20];
    let mut i = digits.len();
    loop {
        i -= 1;
        digits[i] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    out.extend_from_slice(&digits[i..]);
}

/// Parses `1*DIGIT` as a `u64`: one or more ASCII digits and nothing else — no sign, no
/// whitespace, no `0x`; leading zeros are allowed (`007` is 7). Trim the value first where the
/// grammar allows whitespace around it.
///
/// ```
/// use talkback_http1::{DecimalError, parse_decimal};
/// assert_eq!(parse_decimal(b"007"), Ok(7));
/// assert_eq!(parse_decimal(b"+7"), Err(DecimalError::NotDecimal));
/// assert_eq!(parse_decimal(b"18446744073709551616"), Err(DecimalError::Overflow));
/// ```
pub fn parse_decimal(bytes: &[u8]) -> Result<u64, DecimalError> {
    if bytes.is_empty() {
        return Err(DecimalError::NotDecimal);
    }
    // `None` once the value has overflowed; keep scanning, since a non-digit still wins.
    let mut n = Some(0u64);
    for &b in bytes {
        let digit = b.wrapping_sub(b'0');
        if digit > 9 {
            return Err(DecimalError::NotDecimal);
        }
        n = n.and_then(|n| n.checked_mul(10)?.checked_add(u64::from(digit)));
    }
    n.ok_or(DecimalError::Overflow)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn written(n: u64) -> Vec<u8> {
        let mut out = Vec::new();
        push_decimal(&mut out, n);
        out
    }

    #[test]
    fn push_decimal_matches_std_formatting() {
        for n in [0, 1, 7, 9, 10, 42, 99, 100, 101, 999, 1000, 1_048_576, u64::MAX / 10, u64::MAX - 1, u64::MAX] {
            assert_eq!(written(n), n.to_string().into_bytes(), "{n}");
        }
        let mut out = b"id: ".to_vec();
        push_decimal(&mut out, 5);
        assert_eq!(out, b"id: 5", "appends, keeps what was there");
    }

    #[test]
    fn round_trip_at_every_digit_count() {
        let mut n = 1u64;
        loop {
            for m in [n - 1, n, n + 1, n.saturating_mul(9)] {
                assert_eq!(parse_decimal(&written(m)), Ok(m), "{m}");
            }
            match n.checked_mul(10) {
                Some(next) => n = next,
                None => break,
            }
        }
        assert_eq!(parse_decimal(&written(u64::MAX)), Ok(u64::MAX));
    }

    /// RFC 9110 §8.6 `Content-Length = 1*DIGIT`, and WHATWG "Parsing an event stream": "If the
    /// field value consists of only ASCII digits". Both say: digits, at least one, nothing else.
    #[test]
    fn rfc9110_8_6_and_whatwg_retry_only_ascii_digits() {
        use DecimalError::{NotDecimal, Overflow};
        let cases: &[(&str, &[u8], Result<u64, DecimalError>)] = &[
            ("one digit", b"0", Ok(0)),
            ("leading zeros", b"007", Ok(7)),
            ("many leading zeros", b"00000000000000000000000042", Ok(42)),
            ("u64::MAX", b"18446744073709551615", Ok(u64::MAX)),
            ("u64::MAX + 1", b"18446744073709551616", Err(Overflow)),
            ("far above", b"99999999999999999999999", Err(Overflow)),
            ("empty", b"", Err(NotDecimal)),
            ("plus sign", b"+1", Err(NotDecimal)),
            ("minus sign", b"-1", Err(NotDecimal)),
            ("leading space", b" 1", Err(NotDecimal)),
            ("trailing space", b"1 ", Err(NotDecimal)),
            ("tab", b"1\t", Err(NotDecimal)),
            ("fraction", b"1.0", Err(NotDecimal)),
            ("hex", b"0x1f", Err(NotDecimal)),
            ("exponent", b"1e3", Err(NotDecimal)),
            ("percent-encoded", b"%31", Err(NotDecimal)),
            ("list", b"5,5", Err(NotDecimal)),
            ("Arabic-Indic digit", "١".as_bytes(), Err(NotDecimal)),
            ("fullwidth digit", "１".as_bytes(), Err(NotDecimal)),
            ("byte below '0'", b"/", Err(NotDecimal)),
            ("byte above '9'", b":", Err(NotDecimal)),
            ("NUL", b"1\0", Err(NotDecimal)),
            ("a stray byte wins over overflow", b"99999999999999999999999x", Err(NotDecimal)),
        ];
        for &(name, input, expect) in cases {
            assert_eq!(parse_decimal(input), expect, "{name}");
        }
    }

    #[test]
    fn parse_agrees_with_std_on_every_byte_at_every_position() {
        for b in 0..=255u8 {
            for input in [vec![b], vec![b'1', b], vec![b, b'1'], vec![b'1', b, b'1']] {
                let std = std::str::from_utf8(&input).ok().filter(|s| s.bytes().all(|b| b.is_ascii_digit()));
                let expect = std.map(|s| s.parse::<u64>().unwrap());
                assert_eq!(parse_decimal(&input).ok(), expect, "{input:?}");
            }
        }
    }
}
