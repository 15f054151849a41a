//! One message as the hub keeps it: its bytes once, and what each transport writes around them.
//!
//! ```text
//!  POST "hi" (id 7) ──▶ event ▕id: 7⏎data: hi⏎⏎▏   SSE: the event, whole (one shared slice)
//!                                       └┬┘
//!                                       text       WebSocket: 81 02 ┊ text
//!                                                  JSON: {"id":7,"data":" ┊ text ┊ "}
//!                                                  WebSocket, talkback.json: 81 14 ┊ the JSON
//! ```
//!
//! A `talkback.json` WebSocket frame is the JSON element behind a frame header of its length
//! ([`Encoded::ws_json_header`]): nothing more is kept for it — the element is built around
//! the shared text, or is the escaped element already kept (and counted) for `/poll`.
//!
//! The SSE event is the message's one copy: for a one-line text (most messages) the text is a
//! range of it, and the WebSocket frame and the JSON element are written around that range —
//! their few bytes of framing into the connection's own output, the text shared (or copied,
//! when it is short). Only a form that differs is built as well: the text of a multi-line
//! message (the event splits it into `data:` lines), the element of a text JSON must escape.

use std::ops::Range;
use std::sync::Arc;
use std::sync::atomic::AtomicUsize;

use talkback_longpoll::{
    JSON_ELEMENT_TAIL, MessageId, encode_json_element, encode_json_element_head, json_element_len, json_verbatim,
};
use talkback_ws::{FrameHeader, OpCode, RSV1};

use super::deflated::Deflated;

/// One message, kept once, shared by every subscriber on every loop.
#[derive(Debug)]
pub struct Encoded {
    /// The channel-local id.
    pub id: MessageId,
    /// `id: N\ndata: …\n\n`: what every SSE subscriber is sent, and for a one-line text the
    /// only copy of it.
    event: Arc<[u8]>,
    /// The bytes the text is in: `event` itself, or (a multi-line text) a copy of its own.
    text_in: Arc<[u8]>,
    /// Where in `text_in`.
    text: Range<usize>,
    /// `{"id":N,"data":"…"}`, kept only when escaping changed the text.
    escaped: Option<Arc<[u8]>>,
    /// The text (and the JSON element's body) compressed for WebSocket subscribers, once per
    /// window size (`deflated.rs`).
    deflated: Deflated,
    /// Loops that have not delivered it yet; the last one takes it off the hub's backlog.
    pub(super) undelivered: AtomicUsize,
}

/// A message's JSON element (`{"id":N,"data":"…"}`), as it is kept.
#[derive(Debug, Clone, Copy)]
pub enum Json<'m> {
    /// Built around the text: [`encode_json_element_head`], the text as it is,
    /// [`JSON_ELEMENT_TAIL`].
    Framed,
    /// Escaping changed the text: the whole element, kept.
    Escaped(&'m Arc<[u8]>),
}

/// Per retained message, beyond its own blocks: its slot in the channel's log (id, weight,
/// pointer: 3 words) and its entry in the hub's publish order (channel, id: 2 words), which
/// may hold as many stale entries as live ones before it is compacted; and a ring grows by
/// doubling, so either can have twice the capacity it uses.
const SLOTS: usize = 2 * (3 + 2 * 2) * size_of::<usize>();

/// What a heap block of `bytes` costs: an allocator's usual rounding (a word of header,
/// 16-byte granules, never under 32). An estimate, stated so the budget can count what it holds.
fn block(bytes: usize) -> usize {
    (bytes + 8).next_multiple_of(16).max(32)
}

/// A reference count's header in front of an `Arc`'s bytes (strong and weak counts).
const ARC_HEADER: usize = 2 * size_of::<usize>();

impl Encoded {
    /// Encodes `text` (message `id`) for `loops` loops: the SSE event, plus the forms of the
    /// other transports that differ from framing around the text.
    pub(super) fn new(id: MessageId, text: &str, loops: usize) -> Encoded {
        let mut event = Vec::with_capacity(text.len() + 32);
        let in_event = talkback_sse::encode_message(id, text, &mut event);
        let event: Arc<[u8]> = event.into();
        let (text_in, range) = match in_event {
            Some(range) => (Arc::clone(&event), range),
            None => (Arc::from(text.as_bytes()), 0..text.len()),
        };
        let escaped = (!json_verbatim(text)).then(|| {
            let mut element = Vec::with_capacity(text.len() + 32);
            encode_json_element(id, text, &mut element);
            Arc::from(element)
        });
        let deflated = Deflated::default();
        Encoded { id, event, text_in, text: range, escaped, deflated, undelivered: AtomicUsize::new(loops) }
    }

    /// The same message with its compressed payloads (made before the channel's lock).
    pub(super) fn with_deflated(self, deflated: Deflated) -> Encoded {
        Encoded { deflated, ..self }
    }

    /// The text compressed with a `window_bits` window (RFC 7692 §7.2.1, no context
    /// takeover), if it was: the payload of a frame with RSV1, see [`Encoded::ws_deflated_header`].
    pub fn deflated(&self, window_bits: u8) -> Option<&Arc<[u8]>> {
        self.deflated.get(window_bits)
    }

    /// The JSON element's body compressed with a `window_bits` window, if it was: a frame's
    /// payload behind the element's head in a stored block ([`talkback_ws::stored_block`]).
    pub fn deflated_json_body(&self, window_bits: u8) -> Option<&Arc<[u8]>> {
        self.deflated.json_body(window_bits)
    }

    /// The header of the compressed text frame carrying `payload` (RSV1 set, RFC 7692 §6.1).
    pub fn ws_deflated_header(payload: &[u8]) -> FrameHeader {
        FrameHeader { fin: true, rsv: RSV1, opcode: OpCode::Text, mask: None, payload_len: payload.len() as u64 }
    }

    /// The SSE event, whole: `id: N\ndata: …\n\n`.
    pub fn sse(&self) -> &Arc<[u8]> {
        &self.event
    }

    /// The text, as shared bytes and the range of them it is.
    pub fn text(&self) -> (&Arc<[u8]>, Range<usize>) {
        (&self.text_in, self.text.clone())
    }

    /// The text's bytes.
    pub fn text_bytes(&self) -> &[u8] {
        &self.text_in[self.text.clone()]
    }

    /// The header of the WebSocket text frame (unmasked, server to client) that carries the
    /// text: 2 to 10 bytes, written before it.
    pub fn ws_header(&self) -> FrameHeader {
        FrameHeader { fin: true, rsv: 0, opcode: OpCode::Text, mask: None, payload_len: self.text.len() as u64 }
    }

    /// The header of the WebSocket text frame that carries the JSON element instead (the
    /// `talkback.json` subprotocol).
    pub fn ws_json_header(&self) -> FrameHeader {
        FrameHeader { fin: true, rsv: 0, opcode: OpCode::Text, mask: None, payload_len: self.json_len() as u64 }
    }

    /// How the JSON element is kept.
    pub fn json(&self) -> Json<'_> {
        match &self.escaped {
            Some(element) => Json::Escaped(element),
            None => Json::Framed,
        }
    }

    /// The JSON element's length.
    pub fn json_len(&self) -> usize {
        match &self.escaped {
            Some(element) => element.len(),
            None => json_element_len(self.id, self.text.len()),
        }
    }

    /// Appends the JSON element, copying the text.
    pub fn encode_json(&self, out: &mut Vec<u8>) {
        match &self.escaped {
            Some(element) => out.extend_from_slice(element),
            None => {
                encode_json_element_head(self.id, out);
                out.extend_from_slice(self.text_bytes());
                out.extend_from_slice(JSON_ELEMENT_TAIL);
            }
        }
    }

    /// What keeping this message costs, in bytes, as the hub's budget counts it: every block
    /// it holds (the event; the separate text and JSON element when there are any; itself
    /// behind its reference counts; each compressed payload, and the list of them), each as an
    /// allocator rounds it, plus its slots in the channel's log and the hub's publish order.
    pub fn retained_bytes(&self) -> usize {
        let own_text = !Arc::ptr_eq(&self.text_in, &self.event);
        let text = if own_text { block(ARC_HEADER + self.text_in.len()) } else { 0 };
        let escaped = self.escaped.as_ref().map_or(0, |e| block(ARC_HEADER + e.len()));
        let deflated: usize = self.deflated.blocks().map(|len| block(ARC_HEADER + len)).sum();
        let list: usize = self.deflated.list_lengths().map(|n| block(n * 24)).sum();
        block(ARC_HEADER + size_of::<Encoded>())
            + block(ARC_HEADER + self.event.len())
            + text
            + escaped
            + deflated
            + list
            + SLOTS
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn json(message: &Encoded) -> Vec<u8> {
        let mut out = Vec::new();
        message.encode_json(&mut out);
        assert_eq!(out.len(), message.json_len());
        out
    }

    fn frame(message: &Encoded) -> Vec<u8> {
        let mut out = Vec::new();
        message.ws_header().encode(&mut out);
        out.extend_from_slice(message.text_bytes());
        out
    }

    #[test]
    fn a_one_line_text_is_kept_once_inside_its_sse_event() {
        let message = Encoded::new(7, "hi", 1);
        assert_eq!(&message.sse()[..], b"id: 7\ndata: hi\n\n");
        let (bytes, range) = message.text();
        assert!(Arc::ptr_eq(bytes, message.sse()), "the text is a range of the event");
        assert_eq!(range, 12..14);
        assert_eq!(frame(&message), b"\x81\x02hi");
        assert!(matches!(message.json(), Json::Framed));
        assert_eq!(json(&message), br#"{"id":7,"data":"hi"}"#);
    }

    #[test]
    fn only_the_forms_that_differ_are_built_as_well() {
        let lines = Encoded::new(1, "a\nb", 1);
        assert_eq!(&lines.sse()[..], b"id: 1\ndata: a\ndata: b\n\n");
        assert!(!Arc::ptr_eq(lines.text().0, lines.sse()), "split into data: lines: the text is kept beside");
        assert_eq!(lines.text_bytes(), b"a\nb");
        assert_eq!(json(&lines), br#"{"id":1,"data":"a\nb"}"#);
        assert!(matches!(lines.json(), Json::Escaped(_)));
        let quoted = Encoded::new(2, r#"say "hi""#, 1);
        assert!(Arc::ptr_eq(quoted.text().0, quoted.sse()), "one line: still inside the event");
        assert_eq!(json(&quoted), br#"{"id":2,"data":"say \"hi\""}"#);
        assert_eq!(frame(&quoted), b"\x81\x08say \"hi\"");
    }

    #[test]
    fn retained_bytes_count_every_block_kept() {
        let text = "x".repeat(60 * 1024);
        let once = Encoded::new(1, &text, 2);
        let cost = once.retained_bytes();
        assert!(cost > text.len() && cost < text.len() + 512, "{cost}: the text once, plus framing and slots");
        let twice = Encoded::new(1, &format!("{text}\n"), 2);
        assert!(twice.retained_bytes() > 3 * text.len(), "event, text and escaped element: all three counted");
        let small = Encoded::new(1, &"x".repeat(30), 2);
        assert!(small.retained_bytes() < 400, "{}", small.retained_bytes());
    }
}
