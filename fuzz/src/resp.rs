//! `resp_decoder`: the bytes a Redis server sends, through the RESP2 [`Decoder`], under the
//! default limits and under small ones.
//!
//! Asserted, besides "no panic":
//! - the bytes fed whole, in two and in three pieces, and a byte at a time give the same
//!   values and the same error (the decoder promises the result does not depend on the split);
//! - an error is sticky;
//! - each decoded value, written again by [`encode_value`], decodes back to itself (the
//!   decoder accepts only what the encoder can write).

use talkback_resp::{DecodeError, Decoder, Limits, Value, encode_value};

use crate::{pieces, split_points};

/// Small limits, reachable with short inputs.
pub const SMALL: Limits = Limits { max_line: 16, max_bulk: 32, max_array: 4, max_depth: 3, max_reply: 96 };

/// The whole check, for one input.
pub fn check(data: &[u8]) {
    for limits in [Limits::default(), SMALL] {
        let whole = decode(limits, &[data]);
        let [a, b, c] = split_points(data);
        assert_eq!(decode(limits, &pieces(data, &[a])), whole, "split at {a}");
        assert_eq!(decode(limits, &pieces(data, &[b, c])), whole, "split at {b} and {c}");
        if data.len() <= 256 {
            let bytes: Vec<&[u8]> = data.chunks(1).collect();
            assert_eq!(decode(limits, &bytes), whole, "a byte at a time");
        }
        for value in &whole.0 {
            let mut wire = Vec::new();
            encode_value(&mut wire, value);
            assert_eq!(decode(Limits::default(), &[&wire]), (vec![value.clone()], None), "{value:?} re-encoded");
        }
    }
}

/// Feeds `pieces`, taking every value after each, until the first error.
pub fn decode(limits: Limits, pieces: &[&[u8]]) -> (Vec<Value>, Option<DecodeError>) {
    let mut decoder = Decoder::new(limits);
    let mut values = Vec::new();
    for piece in pieces {
        decoder.feed(piece);
        loop {
            match decoder.next_value() {
                Ok(Some(value)) => values.push(value),
                Ok(None) => break,
                Err(error) => {
                    assert_eq!(decoder.next_value(), Err(error.clone()), "the error is sticky");
                    return (values, Some(error));
                }
            }
        }
    }
    (values, None)
}
