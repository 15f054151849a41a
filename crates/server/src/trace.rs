//! `--trace`: an annotated wire dump on stderr, for learners. Each line names the connection,
//! the direction (`<-` received from the peer, `->` sent to it) and what crossed the wire.

use std::io::Write;
use std::time::Instant;

use talkback_reactor::ConnId;

/// Writes trace lines; `None` in the loop state when tracing is off (costs one branch).
#[derive(Debug)]
pub struct Tracer {
    started: Instant,
    /// Which event loop this tracer belongs to (connection numbers are per loop).
    loop_index: usize,
}

impl Tracer {
    /// A tracer for loop `loop_index` whose timestamps count from now.
    pub fn new(loop_index: usize) -> Tracer {
        Tracer { started: Instant::now(), loop_index }
    }

    fn prefix(&self, id: ConnId) -> String {
        let elapsed = self.started.elapsed();
        let (secs, millis) = (elapsed.as_secs(), elapsed.subsec_millis());
        format!("{secs:>4}.{millis:03} L{} conn#{}.{}", self.loop_index, id.slot, id.generation)
    }

    /// A one-line event: a connection opened, a request parked, a frame decoded.
    pub fn note(&self, id: ConnId, text: &str) {
        let line = format!("{} {text}\n", self.prefix(id));
        let _ = std::io::stderr().lock().write_all(line.as_bytes());
    }

    /// An HTTP head as it crossed the wire, one indented line per line of the head, with the
    /// line endings made visible.
    pub fn head(&self, id: ConnId, inbound: bool, head: &[u8]) {
        let arrow = if inbound { "<-" } else { "->" };
        let what = if inbound { "request head" } else { "response head" };
        let mut text = format!("{} {arrow} {what} ({} bytes)\n", self.prefix(id), head.len());
        for line in head.split_inclusive(|&b| b == b'\n') {
            if line == b"\r\n" {
                continue;
            }
            text.push_str("        ");
            text.push_str(&escape(line));
            text.push('\n');
        }
        let _ = std::io::stderr().lock().write_all(text.as_bytes());
    }

    /// A body or payload, previewed.
    pub fn payload(&self, id: ConnId, inbound: bool, label: &str, bytes: &[u8]) {
        let arrow = if inbound { "<-" } else { "->" };
        let shown = &bytes[..bytes.len().min(80)];
        let more = if bytes.len() > shown.len() { "…" } else { "" };
        self.note(id, &format!("{arrow} {label} ({} bytes) \"{}{more}\"", bytes.len(), escape(shown)));
    }
}

/// Shows bytes as text with CR, LF, tabs and non-printables escaped.
pub fn escape(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len());
    for chunk in bytes.utf8_chunks() {
        for c in chunk.valid().chars() {
            match c {
                '\r' => out.push_str("\\r"),
                '\n' => out.push_str("\\n"),
                '\t' => out.push_str("\\t"),
                '"' => out.push_str("\\\""),
                c if c.is_control() => out.push_str(&format!("\\x{:02x}", c as u32)),
                c => out.push(c),
            }
        }
        for b in chunk.invalid() {
            out.push_str(&format!("\\x{b:02x}"));
        }
    }
    out
}
