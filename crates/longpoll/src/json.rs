//! The body of a poll or long-poll answer: `[{"id":1,"data":"…"},…]` (RFC 8259).
//!
//! The hub encodes each message once, as an element, when it is published; an answer is then
//! `[`, the batch's elements joined by `,`, and `]` — no per-request escaping. Most texts need
//! no escaping at all: their element is [`encode_json_element_head`], the text as it is, and
//! [`JSON_ELEMENT_TAIL`], so the hub keeps only the text and writes the frame around it.

use talkback_http1::push_decimal;

use crate::log::MessageId;

/// The response header that tells a poll or long-poll client how many messages it missed:
/// `Talkback-Missed: 17` when its cursor was older than the retained history. The body stays
/// a plain array of messages, so clients that ignore the header still work.
pub const MISSED_HEADER: &str = "Talkback-Missed";

/// The `Content-Type` of a batch.
pub const CONTENT_TYPE: &str = "application/json";

/// What closes an element after its string's last byte: `"}`.
pub const JSON_ELEMENT_TAIL: &[u8] = b"\"}";

/// Appends `{"id":N,"data":"…"}`.
pub fn encode_json_element(id: MessageId, data: &str, out: &mut Vec<u8>) {
    out.extend_from_slice(b"{\"id\":");
    push_decimal(out, id);
    out.extend_from_slice(b",\"data\":");
    encode_json_string(data, out);
    out.push(b'}');
}

/// Appends `{"id":N,"data":"`: an element up to the first byte of its string. For a text that
/// [`json_verbatim`] accepts, this, the text and [`JSON_ELEMENT_TAIL`] are exactly what
/// [`encode_json_element`] writes.
pub fn encode_json_element_head(id: MessageId, out: &mut Vec<u8>) {
    out.extend_from_slice(b"{\"id\":");
    push_decimal(out, id);
    out.extend_from_slice(b",\"data\":\"");
}

/// The length of the element of message `id` whose text, `text_len` bytes, needs no escaping:
/// [`encode_json_element_head`], the text, [`JSON_ELEMENT_TAIL`].
pub fn json_element_len(id: MessageId, text_len: usize) -> usize {
    let digits = id.checked_ilog10().map_or(1, |d| d as usize + 1);
    b"{\"id\":,\"data\":\"".len() + digits + text_len + JSON_ELEMENT_TAIL.len()
}

/// Whether [`encode_json_string`] copies `text` unchanged between its quotes: no quotation
/// mark, reverse solidus or control character (RFC 8259 §7). Eight bytes at a time (safe
/// SWAR, as the CR/LF finder of the http1 crate): a hub checks every message it keeps.
pub fn json_verbatim(text: &str) -> bool {
    const ONES: u64 = u64::from_le_bytes([0x01; 8]);
    const HIGHS: u64 = u64::from_le_bytes([0x80; 8]);
    const SPACES: u64 = u64::from_le_bytes([0x20; 8]);
    const QUOTES: u64 = u64::from_le_bytes([b'"'; 8]);
    const BACKSLASHES: u64 = u64::from_le_bytes([b'\\'; 8]);
    let mut chunks = text.as_bytes().chunks_exact(8);
    for chunk in &mut chunks {
        let word = u64::from_le_bytes(chunk.try_into().expect("chunks of 8"));
        let (quote, backslash) = (word ^ QUOTES, word ^ BACKSLASHES);
        // The classic word tests "some byte is below 0x20" and "some byte is zero" (here: is
        // a quote, is a backslash). A borrow may flag more bytes than the first, never fewer,
        // so as yes-or-no answers they are exact.
        let below = word.wrapping_sub(SPACES) & !word;
        let zero = (quote.wrapping_sub(ONES) & !quote) | (backslash.wrapping_sub(ONES) & !backslash);
        if (below | zero) & HIGHS != 0 {
            return false;
        }
    }
    !chunks.remainder().iter().any(|&b| b == b'"' || b == b'\\' || b < 0x20)
}

/// Appends `[`, the elements separated by `,`, and `]`: exactly
/// [`json_array_len`]`(elements)` bytes.
pub fn encode_json_array<'e>(elements: impl IntoIterator<Item = &'e [u8]>, out: &mut Vec<u8>) {
    let mut count = 0;
    for (i, element) in elements.into_iter().enumerate() {
        out.extend_from_slice(json_array_before(i));
        out.extend_from_slice(element);
        count += 1;
    }
    if count == 0 {
        out.push(b'[');
    }
    out.extend_from_slice(JSON_ARRAY_END);
}

/// What goes before element `index` of a JSON array (RFC 8259 §5): `[` before the first, `,`
/// before every other. For a writer that writes the elements in pieces (some copied, some
/// shared from where they are kept), with [`JSON_ARRAY_END`] after the last one.
pub const fn json_array_before(index: usize) -> &'static [u8] {
    if index == 0 { b"[" } else { b"," }
}

/// What closes a JSON array that has at least one element (see [`json_array_before`]).
pub const JSON_ARRAY_END: &[u8] = b"]";

/// How many bytes [`encode_json_array`] writes for `elements`, without writing them: `[` and
/// `]`, the elements, and one `,` between each two. A response needs its `Content-Length`
/// before its body, so the caller can write the head with this, then stream the array
/// after it — or reserve exactly once.
pub fn json_array_len<'e>(elements: impl IntoIterator<Item = &'e [u8]>) -> usize {
    json_array_len_of(elements.into_iter().map(<[u8]>::len))
}

/// [`json_array_len`] from the elements' lengths alone (for elements written in pieces).
pub fn json_array_len_of(lengths: impl IntoIterator<Item = usize>) -> usize {
    let (count, bytes) = lengths.into_iter().fold((0usize, 0usize), |(count, bytes), len| (count + 1, bytes + len));
    2 + bytes + count.saturating_sub(1)
}

/// Appends `text` as a JSON string. RFC 8259 §7: "All Unicode characters may be placed within
/// the quotation marks, except for the characters that MUST be escaped: quotation mark,
/// reverse solidus, and the control characters (U+0000 through U+001F)." Those become `\"`,
/// `\\`, `\n`, `\r`, `\t` and `\u00XX`; everything else — including U+2028 and U+2029, which
/// JavaScript accepts in strings since ES2019 and `JSON.parse` always did — is copied as is.
pub fn encode_json_string(text: &str, out: &mut Vec<u8>) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let bytes = text.as_bytes();
    out.push(b'"');
    let mut copied = 0;
    for (i, &b) in bytes.iter().enumerate() {
        let escape: &[u8] = match b {
            b'"' => b"\\\"",
            b'\\' => b"\\\\",
            b'\n' => b"\\n",
            b'\r' => b"\\r",
            b'\t' => b"\\t",
            0..=0x1f => &[b'\\', b'u', b'0', b'0', HEX[usize::from(b >> 4)], HEX[usize::from(b & 15)]],
            _ => continue,
        };
        out.extend_from_slice(&bytes[copied..i]);
        out.extend_from_slice(escape);
        copied = i + 1;
    }
    out.extend_from_slice(&bytes[copied..]);
    out.push(b'"');
}

#[cfg(test)]
mod tests {
    use super::*;

    /// RFC 8259 §5: `[`, values separated by `,`, `]` — written whole, or in pieces with
    /// `json_array_before` and `JSON_ARRAY_END`, the same bytes and the length said in advance.
    #[test]
    fn rfc8259_5_an_array_in_pieces_is_the_array_whole() {
        for elements in [&[][..], &[&b"1"[..]][..], &[&b"1"[..], b"{}", b"\"x\""][..]] {
            let mut whole = Vec::new();
            encode_json_array(elements.iter().copied(), &mut whole);
            let mut pieces = Vec::new();
            for (i, element) in elements.iter().enumerate() {
                pieces.extend_from_slice(json_array_before(i));
                pieces.extend_from_slice(element);
            }
            pieces.extend_from_slice(if elements.is_empty() { b"[]" } else { JSON_ARRAY_END });
            assert_eq!(whole, pieces);
            assert_eq!(json_array_len(elements.iter().copied()), whole.len());
            assert_eq!(json_array_len_of(elements.iter().map(|e| e.len())), whole.len());
        }
    }

    fn string(text: &str) -> String {
        let mut out = Vec::new();
        encode_json_string(text, &mut out);
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn rfc8259_7_escapes_quote_backslash_and_controls() {
        let cases = [
            ("", r#""""#),
            ("plain é😀", "\"plain é😀\""),
            ("say \"hi\"", r#""say \"hi\"""#),
            ("back\\slash", r#""back\\slash""#),
            ("a\nb\rc\td", r#""a\nb\rc\td""#),
            ("\0\u{1}\u{1f}\u{7f}", "\"\\u0000\\u0001\\u001f\u{7f}\""),
            ("\u{8}\u{c}", r#""\u0008\u000c""#),
            ("\u{2028}\u{2029}", "\"\u{2028}\u{2029}\""),
            ("</script>", r#""</script>""#),
        ];
        for (input, expect) in cases {
            assert_eq!(string(input), expect, "{input:?}");
        }
    }

    #[test]
    fn element_and_array() {
        let mut a = Vec::new();
        encode_json_element(1, "hi", &mut a);
        assert_eq!(a, br#"{"id":1,"data":"hi"}"#);
        let mut b = Vec::new();
        encode_json_element(2, "\"", &mut b);
        let mut out = Vec::new();
        encode_json_array([a.as_slice(), b.as_slice()], &mut out);
        assert_eq!(out, br#"[{"id":1,"data":"hi"},{"id":2,"data":"\""}]"#);
        out.clear();
        encode_json_array([], &mut out);
        assert_eq!(out, b"[]");
    }

    #[test]
    fn a_verbatim_text_is_head_text_tail_and_the_length_says_so() {
        let cases =
            [("", true), ("plain é😀 </script>", true), ("say \"hi\"", false), ("a\\b", false), ("a\nb", false)];
        for (text, verbatim) in cases {
            assert_eq!(json_verbatim(text), verbatim, "{text:?}");
            for id in [0, 9, 10, 99_999, u64::MAX] {
                let mut whole = Vec::new();
                encode_json_element(id, text, &mut whole);
                if verbatim {
                    let mut framed = Vec::new();
                    encode_json_element_head(id, &mut framed);
                    framed.extend_from_slice(text.as_bytes());
                    framed.extend_from_slice(JSON_ELEMENT_TAIL);
                    assert_eq!(framed, whole, "{text:?} id {id}");
                    assert_eq!(json_element_len(id, text.len()), whole.len(), "{text:?} id {id}");
                }
            }
        }
    }

    #[test]
    fn json_verbatim_agrees_with_a_byte_loop_at_every_position() {
        let slow = |b: &[u8]| !b.iter().any(|&b| b == b'"' || b == b'\\' || b < 0x20);
        // Bytes around the special ones, and 0x80+ (UTF-8 sequences), probe the borrows.
        for len in 0..40 {
            let base: String = (0..len).map(|i| ['a', ' ', '!', '#', '[', ']', '\u{7f}', 'é'][i % 8]).collect();
            assert!(json_verbatim(&base), "{base:?}");
            for at in 0..base.len() {
                for special in [b'"', b'\\', 0x00, 0x1f, b'\n'] {
                    let mut bytes = base.clone().into_bytes();
                    if bytes[at] >= 0x80 {
                        continue; // keep the text UTF-8: replace ASCII bytes only
                    }
                    bytes[at] = special;
                    let text = String::from_utf8(bytes).unwrap();
                    assert_eq!(json_verbatim(&text), slow(text.as_bytes()), "{text:?}");
                }
            }
        }
    }

    #[test]
    fn json_array_len_is_the_encoded_length() {
        let elements: Vec<Vec<u8>> = (0..5u64)
            .map(|id| {
                let mut e = Vec::new();
                encode_json_element(id * 999, &"x".repeat(id as usize), &mut e);
                e
            })
            .collect();
        for n in 0..=elements.len() {
            let batch = || elements[..n].iter().map(Vec::as_slice);
            let mut out = Vec::new();
            encode_json_array(batch(), &mut out);
            assert_eq!(json_array_len(batch()), out.len(), "{n} elements");
        }
        assert_eq!(json_array_len([]), 2, "[]");
        assert_eq!(json_array_len([&b"{}"[..]]), 4, "[{{}}]: no comma for one element");
        assert_eq!(json_array_len([&b""[..], b""]), 3, "[,]: the comma counts even between empties");
    }
}
