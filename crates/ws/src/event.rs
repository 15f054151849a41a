//! [`Event`]: what a peer said, one value per message or control frame.

use crate::{CloseFrame, OpCode, encode_frame};

/// What the peer said. Control-frame replies (pong, close echo) are already queued when
/// `poll_event` returns the event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    /// A complete text message, validated as UTF-8.
    Text(String),
    /// A complete binary message.
    Binary(Vec<u8>),
    /// A ping; the pong echoing its payload is already queued (§5.5.2).
    Ping(Vec<u8>),
    /// A pong (§5.5.3): an answer to our ping, or an unsolicited heartbeat.
    Pong(Vec<u8>),
    /// The peer's close frame (`None`: it had no status code). Returning it from `poll_event`
    /// queues our echo (unless we closed first); then `is_closed()`, and the server closes
    /// TCP (§7.1.1).
    Close(Option<CloseFrame>),
}

impl Event {
    /// Appends this event as the one frame a peer would have sent for it (`mask`: `Some` for
    /// a client's frame). Feeding the bytes to a `Connection` of the other role gives the
    /// event back; the pair is the decode/encode round trip for `Event`.
    pub fn encode(&self, mask: Option<[u8; 4]>, out: &mut Vec<u8>) {
        match self {
            Event::Text(text) => encode_frame(OpCode::Text, text.as_bytes(), mask, out),
            Event::Binary(data) => encode_frame(OpCode::Binary, data, mask, out),
            Event::Ping(data) => encode_frame(OpCode::Ping, data, mask, out),
            Event::Pong(data) => encode_frame(OpCode::Pong, data, mask, out),
            Event::Close(frame) => {
                let mut payload = Vec::new();
                if let Some(frame) = frame {
                    frame.encode(&mut payload);
                }
                encode_frame(OpCode::Close, &payload, mask, out);
            }
        }
    }
}
