//! The five RESP2 types ("RESP protocol description").

/// One RESP2 value: a whole reply, a push, or one element of an array.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Value {
    /// `+OK\r\n`: a short status, never containing CR or LF.
    Simple(String),
    /// `-ERR unknown command\r\n`: the server refused one command; the connection goes on.
    Error(String),
    /// `:42\r\n`: a signed 64-bit integer.
    Integer(i64),
    /// `$5\r\nhello\r\n`: binary-safe bytes, length first.
    Bulk(Vec<u8>),
    /// `*2\r\n…`: values of any type, nested.
    Array(Vec<Value>),
    /// `$-1\r\n` or `*-1\r\n`: no value (a missing key, a timed-out blocking read).
    Nil,
}

impl Value {
    /// The integer, if this is one.
    pub fn as_integer(&self) -> Option<i64> {
        match self {
            Value::Integer(n) => Some(*n),
            _ => None,
        }
    }

    /// The bytes of a bulk or simple string.
    pub fn as_bytes(&self) -> Option<&[u8]> {
        match self {
            Value::Bulk(bytes) => Some(bytes),
            Value::Simple(text) => Some(text.as_bytes()),
            _ => None,
        }
    }

    /// The elements, if this is an array.
    pub fn as_array(&self) -> Option<&[Value]> {
        match self {
            Value::Array(items) => Some(items),
            _ => None,
        }
    }

    /// The message of an error reply, if this is one.
    pub fn as_error(&self) -> Option<&str> {
        match self {
            Value::Error(message) => Some(message),
            _ => None,
        }
    }
}
