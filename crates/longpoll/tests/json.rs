//! The JSON batch decodes back to the messages, checked with a minimal RFC 8259 string
//! decoder written here (the crate needs no decoder; tests must not trust the encoder's
//! own idea of escaping).

use talkback_longpoll::{encode_json_array, encode_json_element, encode_json_string, json_array_len};

/// Decodes one JSON string starting at `s[0] == '"'`; returns it and the rest.
fn decode_string(s: &str) -> (String, &str) {
    let mut chars = s.char_indices();
    assert_eq!(chars.next(), Some((0, '"')));
    let mut out = String::new();
    while let Some((i, c)) = chars.next() {
        match c {
            '"' => return (out, &s[i + 1..]),
            '\\' => match chars.next().unwrap().1 {
                'n' => out.push('\n'),
                'r' => out.push('\r'),
                't' => out.push('\t'),
                'b' => out.push('\u{8}'),
                'f' => out.push('\u{c}'),
                'u' => {
                    let hex: String = (0..4).map(|_| chars.next().unwrap().1).collect();
                    out.push(char::from_u32(u32::from_str_radix(&hex, 16).unwrap()).unwrap());
                }
                other => out.push(other), // '"', '\\', '/'
            },
            c => {
                assert!(c >= ' ', "unescaped control character {c:?}");
                out.push(c);
            }
        }
    }
    panic!("unterminated string");
}

/// Decodes `[{"id":N,"data":"…"},…]` exactly as this crate writes it.
fn decode_batch(mut s: &str) -> Vec<(u64, String)> {
    let mut out = Vec::new();
    s = s.strip_prefix('[').unwrap();
    while let Some(rest) = s.strip_prefix("{\"id\":") {
        let digits = rest.find(',').unwrap();
        let id = rest[..digits].parse().unwrap();
        let (data, rest) = decode_string(rest[digits..].strip_prefix(",\"data\":").unwrap());
        out.push((id, data));
        s = rest.strip_prefix('}').unwrap();
        s = s.strip_prefix(',').unwrap_or(s);
    }
    assert_eq!(s, "]");
    out
}

#[test]
fn rfc8259_7_batch_round_trip() {
    let texts = [
        "",
        "hi",
        "\"quoted\"",
        "back\\slash",
        "\n\r\t\u{8}\u{c}",
        "\0\u{1}\u{1f}\u{7f}",
        "é€😀",
        "\u{2028}\u{2029}",
        "/ </script>",
    ];
    let elements: Vec<Vec<u8>> = texts
        .iter()
        .enumerate()
        .map(|(i, t)| {
            let mut e = Vec::new();
            encode_json_element(i as u64 + 1, t, &mut e);
            e
        })
        .collect();
    let mut body = Vec::new();
    encode_json_array(elements.iter().map(Vec::as_slice), &mut body);
    assert_eq!(json_array_len(elements.iter().map(Vec::as_slice)), body.len(), "the length a head announces");
    let decoded = decode_batch(std::str::from_utf8(&body).unwrap());
    let expect: Vec<_> = texts.iter().enumerate().map(|(i, t)| (i as u64 + 1, t.to_string())).collect();
    assert_eq!(decoded, expect);
}

#[test]
fn rfc8259_7_every_control_character_round_trips() {
    for c in (0u32..0x80).filter_map(char::from_u32) {
        let text = format!("a{c}b");
        let mut out = Vec::new();
        encode_json_string(&text, &mut out);
        let (decoded, rest) = decode_string(std::str::from_utf8(&out).unwrap());
        assert_eq!((decoded.as_str(), rest), (text.as_str(), ""), "{c:?}");
    }
}
