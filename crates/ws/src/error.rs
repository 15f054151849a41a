//! Errors, split by fault: [`Error`] is a peer that broke RFC 6455 (untrusted bytes can cause
//! it, and each variant knows the close code to send); [`SendError`] is misuse of our own API
//! (no bytes from the network can cause it).

use std::fmt;

/// A protocol violation by the peer. Each variant cites the rule it breaks; `close_code()`
/// is the status code the connection is failed with ([RFC 6455 §7.4.1](https://www.rfc-editor.org/rfc/rfc6455#section-7.4.1)).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Error {
    /// RSV1–3 set, but no extension was negotiated (§5.2: "MUST be 0 unless an extension is
    /// negotiated that defines meanings for non-zero values").
    ReservedBitsSet,
    /// RSV1 on a control frame ([RFC 7692 §6.1](https://www.rfc-editor.org/rfc/rfc7692#section-6.1):
    /// "An endpoint MUST NOT set the "Per-Message Compressed" bit of control frames").
    CompressedControlFrame,
    /// RSV1 on a continuation frame (RFC 7692 §6.1: the bit is set on "the first frame of the
    /// message" only, and §6.2 fails a receiver that sees it elsewhere).
    CompressedContinuation,
    /// A compressed message whose payload is not valid DEFLATE data (RFC 7692 §6.2: the
    /// endpoint fails the connection; 1002, as any framing-level violation).
    BadDeflateData,
    /// Opcode 0x3–0x7 or 0xB–0xF (§5.2: "If an unknown opcode is received, the receiving
    /// endpoint MUST _Fail the WebSocket Connection_").
    ReservedOpcode(u8),
    /// A client frame without a mask (§5.1: "a server MUST close the connection upon receiving
    /// a frame that is not masked").
    UnmaskedClientFrame,
    /// A masked server frame (§5.1: "A client MUST close a connection if it detects a masked frame").
    MaskedServerFrame,
    /// A 64-bit payload length with the most significant bit set (§5.2).
    LengthMsbSet,
    /// A length written in more bytes than needed (§5.2: "the minimal number of bytes MUST be used").
    NonMinimalLength,
    /// A control frame with more than 125 bytes of payload (§5.5).
    ControlFrameTooLong,
    /// A control frame with FIN=0 (§5.5: "Control frames MUST NOT be fragmented").
    FragmentedControlFrame,
    /// A continuation frame with no fragmented message in progress (§5.4).
    ContinuationWithoutStart,
    /// A new text or binary frame while a fragmented message is unfinished (§5.4: fragments of
    /// one message MUST NOT be interleaved with another).
    MessageStartWhileFragmented,
    /// Text (or a close reason) that is not UTF-8 (§8.1); detected as soon as the bytes so far
    /// can no longer begin a valid sequence.
    InvalidUtf8,
    /// A frame longer than `Config::max_frame_size`, refused from its header (§10.4).
    FrameTooLarge,
    /// A message longer than `Config::max_message_size`, refused from a header (§10.4) — or,
    /// compressed, as soon as inflating it passes the limit (RFC 7692 §8.1).
    MessageTooLarge,
    /// A close frame whose payload is 1 byte: a code needs 2 (§5.5.1).
    CloseLengthOne,
    /// A close code that may not be sent on the wire (§7.4.1, §7.4.2).
    InvalidCloseCode(u16),
}

impl Error {
    /// The close status code to fail the connection with (§7.4.1): 1002 protocol error,
    /// 1007 invalid payload data, 1009 message too big.
    pub fn close_code(&self) -> u16 {
        match self {
            Error::InvalidUtf8 => 1007,
            Error::FrameTooLarge | Error::MessageTooLarge => 1009,
            _ => 1002,
        }
    }

    /// A short reason for the close frame and logs (fits the 123-byte reason limit).
    pub fn reason(&self) -> &'static str {
        match self {
            Error::ReservedBitsSet => "reserved bits set",
            Error::CompressedControlFrame => "compressed control frame",
            Error::CompressedContinuation => "RSV1 on a continuation frame",
            Error::BadDeflateData => "corrupt deflate data",
            Error::ReservedOpcode(_) => "reserved opcode",
            Error::UnmaskedClientFrame => "client frame not masked",
            Error::MaskedServerFrame => "server frame masked",
            Error::LengthMsbSet => "64-bit length has MSB set",
            Error::NonMinimalLength => "length not minimally encoded",
            Error::ControlFrameTooLong => "control frame over 125 bytes",
            Error::FragmentedControlFrame => "fragmented control frame",
            Error::ContinuationWithoutStart => "continuation without a message",
            Error::MessageStartWhileFragmented => "new message inside a fragmented one",
            Error::InvalidUtf8 => "invalid UTF-8",
            Error::FrameTooLarge => "frame too large",
            Error::MessageTooLarge => "message too large",
            Error::CloseLengthOne => "close payload of 1 byte",
            Error::InvalidCloseCode(_) => "invalid close code",
        }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::ReservedOpcode(op) => write!(f, "reserved opcode {op:#x}")?,
            Error::InvalidCloseCode(code) => write!(f, "invalid close code {code}")?,
            other => f.write_str(other.reason())?,
        }
        write!(f, " (close {})", self.close_code())
    }
}

impl std::error::Error for Error {}

/// Misuse of the sending API: nothing a peer sends can cause one of these.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SendError {
    /// A close frame was already sent (or the connection failed): no more data or pings (§5.5.1).
    Closed,
    /// A ping or close payload over 125 bytes (close: reason over 123 bytes) (§5.5).
    ControlTooLong,
    /// A close code an endpoint may not send (1005, 1006, 1015, or outside the valid ranges) (§7.4).
    InvalidCloseCode(u16),
}

impl fmt::Display for SendError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SendError::Closed => f.write_str("connection is closing or closed"),
            SendError::ControlTooLong => f.write_str("control payload over 125 bytes"),
            SendError::InvalidCloseCode(code) => write!(f, "close code {code} may not be sent"),
        }
    }
}

impl std::error::Error for SendError {}
