//! Commands and values into bytes ("Sending commands to a Redis server").

use talkback_http1::decimal::push_decimal;

use crate::Value;

/// Appends one command to `out`: an array of bulk strings, the command's name first.
///
/// ```
/// let mut out = Vec::new();
/// talkback_resp::encode_command(&mut out, &["INCR", "id:room"]);
/// assert_eq!(out, b"*2\r\n$4\r\nINCR\r\n$7\r\nid:room\r\n");
/// ```
///
/// Every argument goes as a bulk string, so any bytes are safe in any argument: the length
/// comes first and the payload is never scanned ("Bulk strings").
pub fn encode_command<A: AsRef<[u8]>>(out: &mut Vec<u8>, args: &[A]) {
    out.push(b'*');
    push_decimal(out, args.len() as u64);
    out.extend_from_slice(b"\r\n");
    for arg in args {
        push_bulk(out, arg.as_ref());
    }
}

/// Appends any value — what a server writes. The client side never needs it; tests and the
/// fake servers in them do.
///
/// A simple string or error containing CR or LF cannot be written as one ("Simple strings":
/// they "cannot contain CR or LF"), so each such byte is replaced by a space.
pub fn encode_value(out: &mut Vec<u8>, value: &Value) {
    match value {
        Value::Simple(text) => push_line(out, b'+', text.as_bytes()),
        Value::Error(text) => push_line(out, b'-', text.as_bytes()),
        Value::Integer(n) => {
            out.push(b':');
            if *n < 0 {
                out.push(b'-');
            }
            push_decimal(out, n.unsigned_abs());
            out.extend_from_slice(b"\r\n");
        }
        Value::Bulk(bytes) => push_bulk(out, bytes),
        Value::Array(items) => {
            out.push(b'*');
            push_decimal(out, items.len() as u64);
            out.extend_from_slice(b"\r\n");
            for item in items {
                encode_value(out, item);
            }
        }
        Value::Nil => out.extend_from_slice(b"$-1\r\n"),
    }
}

fn push_bulk(out: &mut Vec<u8>, bytes: &[u8]) {
    out.push(b'$');
    push_decimal(out, bytes.len() as u64);
    out.extend_from_slice(b"\r\n");
    out.extend_from_slice(bytes);
    out.extend_from_slice(b"\r\n");
}

fn push_line(out: &mut Vec<u8>, kind: u8, text: &[u8]) {
    out.push(kind);
    out.extend(text.iter().map(|&b| if b == b'\r' || b == b'\n' { b' ' } else { b }));
    out.extend_from_slice(b"\r\n");
}

#[cfg(test)]
mod tests {
    use super::*;

    fn encoded(value: &Value) -> Vec<u8> {
        let mut out = Vec::new();
        encode_value(&mut out, value);
        out
    }

    #[test]
    fn a_command_is_an_array_of_bulk_strings() {
        let mut out = Vec::new();
        encode_command(&mut out, &[&b"SET"[..], b"k", b"a\r\nb"]);
        assert_eq!(out, b"*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$4\r\na\r\nb\r\n", "payloads are not scanned");
        out.clear();
        encode_command::<&[u8]>(&mut out, &[]);
        assert_eq!(out, b"*0\r\n");
    }

    #[test]
    fn every_type_has_its_first_byte() {
        assert_eq!(encoded(&Value::Simple("OK".into())), b"+OK\r\n");
        assert_eq!(encoded(&Value::Error("ERR no".into())), b"-ERR no\r\n");
        assert_eq!(encoded(&Value::Integer(-7)), b":-7\r\n");
        assert_eq!(encoded(&Value::Integer(i64::MIN)), b":-9223372036854775808\r\n");
        assert_eq!(encoded(&Value::Bulk(Vec::new())), b"$0\r\n\r\n", "empty is not nil");
        assert_eq!(encoded(&Value::Nil), b"$-1\r\n");
        let nested = Value::Array(vec![Value::Integer(1), Value::Array(vec![Value::Nil])]);
        assert_eq!(encoded(&nested), b"*2\r\n:1\r\n*1\r\n$-1\r\n");
    }

    #[test]
    fn simple_strings_cannot_carry_a_line_end() {
        assert_eq!(encoded(&Value::Simple("a\r\nb".into())), b"+a  b\r\n");
    }
}
