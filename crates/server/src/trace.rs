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
    /// line endings made visible. The credentials in a request head — the `Authorization`
    /// field's value and a `token=` query value — are shown as their length only (see
    /// [`redact`]), so a trace can be shared without the publish token in it.
    pub fn head(&self, id: ConnId, inbound: bool, head: &[u8]) {
        let arrow = if inbound { "<-" } else { "->" };
        let what = if inbound { "request head" } else { "response head" };
        let mut text = format!("{} {arrow} {what} ({} bytes)\n", self.prefix(id), head.len());
        for line in head.split_inclusive(|&b| b == b'\n') {
            if line == b"\r\n" {
                continue;
            }
            text.push_str("        ");
            text.push_str(&escape(&if inbound { redact(line) } else { line.to_vec() }));
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

/// One line of a request head with its credentials replaced by `<N bytes redacted>`: the
/// value of an `Authorization` field after its scheme (`Authorization: Bearer <6 bytes
/// redacted>`), and the value of every `token` parameter in the request line's query.
fn redact(line: &[u8]) -> Vec<u8> {
    let hidden = |n: usize| format!("<{n} bytes redacted>").into_bytes();
    if line.len() > 14 && line[..14].eq_ignore_ascii_case(b"authorization:") {
        let body = line.trim_ascii_end();
        let value = body[14..].trim_ascii_start();
        let scheme = value.iter().position(|&b| b == b' ').map_or(0, |i| i + 1);
        let mut out = body[..body.len() - value.len() + scheme].to_vec();
        out.extend(hidden(value.len() - scheme));
        out.extend_from_slice(&line[body.len()..]);
        return out;
    }
    let Some(query) = line.iter().position(|&b| b == b'?') else { return line.to_vec() };
    let end = (line[query..].iter().position(|&b| b == b' ' || b == b'#')).map_or(line.len(), |i| query + i);
    let mut out = line[..=query].to_vec();
    for (n, pair) in line[query + 1..end].split(|&b| b == b'&').enumerate() {
        if n > 0 {
            out.push(b'&');
        }
        match pair.strip_prefix(b"token=") {
            Some(value) => {
                out.extend_from_slice(b"token=");
                out.extend(hidden(value.len()));
            }
            None => out.extend_from_slice(pair),
        }
    }
    out.extend_from_slice(&line[end..]);
    out
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_trace_shows_no_credentials() {
        let shown = |line: &str| String::from_utf8(redact(line.as_bytes())).unwrap();
        assert_eq!(shown("Authorization: Bearer s3cret\r\n"), "Authorization: Bearer <6 bytes redacted>\r\n");
        assert_eq!(shown("authorization:   Basic dTpw  \r\n"), "authorization:   Basic <4 bytes redacted>  \r\n");
        assert_eq!(shown("Authorization: s3cret\r\n"), "Authorization: <6 bytes redacted>\r\n", "no scheme");
        assert_eq!(
            shown("GET /ch/a/ws?after=3&token=s3cret HTTP/1.1\r\n"),
            "GET /ch/a/ws?after=3&token=<6 bytes redacted> HTTP/1.1\r\n"
        );
        assert_eq!(
            shown("GET /ch/a/ws?token=&x=1 HTTP/1.1\r\n"),
            "GET /ch/a/ws?token=<0 bytes redacted>&x=1 HTTP/1.1\r\n"
        );
        assert_eq!(shown("GET /ch/a/poll?after=3 HTTP/1.1\r\n"), "GET /ch/a/poll?after=3 HTTP/1.1\r\n");
        assert_eq!(shown("Host: x\r\n"), "Host: x\r\n");
    }
}
