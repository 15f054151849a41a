//! The decoder against the spec's own examples and the rules of "RESP protocol spec", each
//! fed at every split point: a reply that arrives in two reads of any sizes decodes the same.

use talkback_resp::{DecodeError, Decoder, Limits, Value, encode_command, encode_value};

fn bulk(bytes: &[u8]) -> Value {
    Value::Bulk(bytes.to_vec())
}

/// Decodes `wire` fed whole, then split at every point, then a byte at a time; all must agree.
fn decode_everywhere(wire: &[u8]) -> Vec<Result<Value, DecodeError>> {
    let whole = decode_in(&[wire]);
    for split in 0..=wire.len() {
        let (a, b) = wire.split_at(split);
        assert_eq!(decode_in(&[a, b]), whole, "split at {split} of {:?}", String::from_utf8_lossy(wire));
    }
    let bytes: Vec<&[u8]> = wire.chunks(1).collect();
    assert_eq!(decode_in(&bytes), whole, "a byte at a time");
    whole
}

fn decode_in(chunks: &[&[u8]]) -> Vec<Result<Value, DecodeError>> {
    let mut decoder = Decoder::default();
    let mut out = Vec::new();
    for chunk in chunks {
        decoder.feed(chunk);
        loop {
            match decoder.next_value() {
                Ok(Some(value)) => out.push(Ok(value)),
                Ok(None) => break,
                Err(error) => {
                    out.push(Err(error));
                    return out;
                }
            }
        }
    }
    out
}

fn values(wire: &[u8]) -> Vec<Value> {
    decode_everywhere(wire).into_iter().map(|v| v.expect("valid RESP")).collect()
}

#[test]
fn simple_strings_errors_and_integers_are_one_line_each() {
    assert_eq!(
        values(b"+OK\r\n-ERR unknown command 'foo'\r\n:1000\r\n:-1\r\n:0\r\n"),
        vec![
            Value::Simple("OK".into()),
            Value::Error("ERR unknown command 'foo'".into()),
            Value::Integer(1000),
            Value::Integer(-1),
            Value::Integer(0)
        ]
    );
}

#[test]
fn bulk_strings_are_binary_safe_and_length_prefixed() {
    // "Bulk strings": the payload may hold CR, LF, and any byte; only the length says where it ends.
    assert_eq!(values(b"$5\r\nhello\r\n$0\r\n\r\n$4\r\na\r\nb\r\n"), vec![bulk(b"hello"), bulk(b""), bulk(b"a\r\nb")]);
}

#[test]
fn a_null_bulk_string_and_a_null_array_are_nil() {
    // "Null bulk strings" `$-1`, "Null arrays" `*-1`; an empty array `*0` is not nil.
    assert_eq!(values(b"$-1\r\n*-1\r\n*0\r\n"), vec![Value::Nil, Value::Nil, Value::Array(vec![])]);
}

#[test]
fn arrays_nest_and_mix_types() {
    // The spec's example of a nested array: [[1, 2, 3], ["Hello", Error("World")]].
    let wire = b"*2\r\n*3\r\n:1\r\n:2\r\n:3\r\n*2\r\n+Hello\r\n-World\r\n";
    assert_eq!(
        values(wire),
        vec![Value::Array(vec![
            Value::Array(vec![Value::Integer(1), Value::Integer(2), Value::Integer(3)]),
            Value::Array(vec![Value::Simple("Hello".into()), Value::Error("World".into())]),
        ])]
    );
    // "Null elements in arrays": ["hello", nil, "world"].
    assert_eq!(
        values(b"*3\r\n$5\r\nhello\r\n$-1\r\n$5\r\nworld\r\n"),
        vec![Value::Array(vec![bulk(b"hello"), Value::Nil, bulk(b"world")])]
    );
}

#[test]
fn a_pubsub_push_is_an_array_like_any_reply() {
    let wire = b"*3\r\n$9\r\nsubscribe\r\n$4\r\nroom\r\n:1\r\n*3\r\n$7\r\nmessage\r\n$4\r\nroom\r\n$2\r\nhi\r\n";
    let pushes = values(wire);
    assert_eq!(pushes[0], Value::Array(vec![bulk(b"subscribe"), bulk(b"room"), Value::Integer(1)]));
    assert_eq!(pushes[1], Value::Array(vec![bulk(b"message"), bulk(b"room"), bulk(b"hi")]));
}

#[test]
fn what_the_encoder_writes_the_decoder_reads_back() {
    let samples = vec![
        Value::Simple("PONG".into()),
        Value::Error("NOSCRIPT No matching script".into()),
        Value::Integer(i64::MIN),
        Value::Integer(i64::MAX),
        bulk(b"\x00\xff\r\n"),
        Value::Nil,
        Value::Array(vec![Value::Array(vec![bulk(b"1-0"), Value::Array(vec![bulk(b"d"), bulk(b"x")])]), Value::Nil]),
    ];
    let mut wire = Vec::new();
    for value in &samples {
        encode_value(&mut wire, value);
    }
    assert_eq!(values(&wire), samples);
    let mut command = Vec::new();
    encode_command(&mut command, &["XRANGE", "log:room", "-", "+"]);
    assert_eq!(
        values(&command),
        vec![Value::Array(["XRANGE", "log:room", "-", "+"].map(|a| bulk(a.as_bytes())).to_vec())]
    );
}

#[test]
fn resp3_types_and_garbage_are_not_resp2() {
    for (wire, byte) in [(&b"_\r\n"[..], b'_'), (b"#t\r\n", b'#'), (b"%1\r\n", b'%'), (b"GET x\r\n", b'G')] {
        assert_eq!(decode_everywhere(wire), vec![Err(DecodeError::UnknownType(byte))]);
    }
}

#[test]
fn lengths_and_integers_must_be_numbers() {
    for wire in [&b":\r\n"[..], b":12a\r\n", b":--1\r\n", b"$x\r\n", b"*1.5\r\n", b":9223372036854775808\r\n"] {
        assert_eq!(decode_everywhere(wire), vec![Err(DecodeError::BadNumber)], "{:?}", String::from_utf8_lossy(wire));
    }
    assert_eq!(decode_everywhere(b":-9223372036854775808\r\n"), vec![Ok(Value::Integer(i64::MIN))]);
    assert_eq!(decode_everywhere(b"$-2\r\n"), vec![Err(DecodeError::NegativeLength)]);
}

#[test]
fn lines_end_with_crlf_only() {
    assert_eq!(decode_everywhere(b"+OK\nmore\r\n"), vec![Err(DecodeError::BareLineEnd)]);
    assert_eq!(decode_everywhere(b"+O\rK\r\n"), vec![Err(DecodeError::BareLineEnd)]);
    assert_eq!(decode_everywhere(b"$2\r\nhiXX"), vec![Err(DecodeError::MissingCrlf)]);
    assert_eq!(decode_everywhere(b"+\xff\r\n"), vec![Err(DecodeError::NotUtf8)]);
}

#[test]
fn an_error_is_final_for_the_connection() {
    let mut decoder = Decoder::default();
    decoder.feed(b"?\r\n+OK\r\n");
    assert_eq!(decoder.next_value(), Err(DecodeError::UnknownType(b'?')));
    assert_eq!(decoder.next_value(), Err(DecodeError::UnknownType(b'?')), "sticky");
}

#[test]
fn every_limit_is_enforced_before_anything_is_allocated_for_it() {
    let limits = Limits { max_line: 16, max_bulk: 10, max_array: 3, max_depth: 2, max_reply: 40 };
    let decode = |wire: &[u8]| {
        let mut decoder = Decoder::new(limits);
        decoder.feed(wire);
        decoder.next_value()
    };
    assert_eq!(decode(b"+0123456789abcdefX"), Err(DecodeError::LineTooLong), "without its CRLF yet");
    // max_line counts the type byte and not the CRLF.
    assert_eq!(decode(b"+0123456789abcdef\r\n"), Err(DecodeError::LineTooLong));
    assert_eq!(decode(b"+0123456789abcde\r\n"), Ok(Some(Value::Simple("0123456789abcde".into()))));
    // A huge claimed length fails at once; no 9 GB buffer is reserved for it.
    assert_eq!(decode(b"$9000000000\r\n"), Err(DecodeError::BulkTooLarge));
    assert_eq!(decode(b"$11\r\n"), Err(DecodeError::BulkTooLarge));
    assert_eq!(decode(b"*4\r\n"), Err(DecodeError::ArrayTooLarge));
    assert_eq!(decode(b"*1\r\n*1\r\n*1\r\n:1\r\n"), Err(DecodeError::TooDeep));
    assert_eq!(decode(b"*1\r\n*1\r\n:1\r\n"), Ok(Some(Value::Array(vec![Value::Array(vec![Value::Integer(1)])]))));
    // 3 bulk strings of 10 bytes: 3 × (4 + 12) = 48 wire bytes in one reply > 40.
    assert_eq!(decode(b"*3\r\n$10\r\n0123456789\r\n$10\r\n0123456789\r\n$10\r\n"), Err(DecodeError::ReplyTooLarge));
}

#[test]
fn the_reply_limit_counts_one_reply_not_the_connection() {
    let limits = Limits { max_reply: 8, ..Limits::default() };
    let mut decoder = Decoder::new(limits);
    for _ in 0..100 {
        decoder.feed(b":12345\r\n");
        assert_eq!(decoder.next_value(), Ok(Some(Value::Integer(12345))));
    }
    assert!(decoder.is_between_replies());
}

#[test]
fn the_buffer_does_not_grow_with_the_connection() {
    let mut decoder = Decoder::default();
    let mut wire = Vec::new();
    encode_value(&mut wire, &bulk(&[b'x'; 1000]));
    for _ in 0..10_000 {
        decoder.feed(&wire[..500]);
        assert_eq!(decoder.next_value(), Ok(None));
        decoder.feed(&wire[500..]);
        assert!(decoder.next_value().unwrap().is_some());
    }
    assert_eq!(decoder.buffered(), 0);
}
