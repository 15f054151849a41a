//! The one observer of what crosses the wire: `--trace` (an annotated dump for learners) and
//! the demo page's per-technique accounting. Both hang off two layers only — the connection
//! dispatch (accept, switches, pushes, closes) and the answering layer (heads and bodies in
//! and out) — so the transports carry no accounting fields and the traced server runs the
//! same code as the untraced one, fast paths included: a disabled observer costs a branch.

use std::sync::Arc;

use talkback_http1::Request;
use talkback_reactor::{ConnId, Cx};

use crate::stats::{Answered, Counters, Marks, Stats, Tag};
use crate::trace::Tracer;

/// A tagged stream's or held request's accounting: its tag and the byte counts when it was
/// last accounted. Boxed, so untagged connections (all but the demo page's) pay one pointer.
pub type Accounting = Option<Box<(Tag, Marks)>>;

/// Tracing and accounting for one loop.
#[derive(Debug)]
pub struct Observer {
    tracer: Option<Tracer>,
    stats: Arc<Stats>,
    /// Whether requests are tagged at all (only the server with the demo page counts).
    counts: bool,
}

/// Where a connection's byte counts stand now.
fn marks(cx: &Cx<'_>) -> Marks {
    Marks { read: cx.bytes_read(), queued: cx.bytes_queued() }
}

impl Observer {
    /// An observer that traces when `tracer` is given and counts tagged requests when `counts`.
    pub fn new(tracer: Option<Tracer>, stats: Arc<Stats>, counts: bool) -> Observer {
        Observer { tracer, stats, counts }
    }

    /// The page counters (for the stats stream).
    pub fn stats(&self) -> &Stats {
        &self.stats
    }

    /// Whether `--trace` is on.
    pub fn tracing(&self) -> bool {
        self.tracer.is_some()
    }

    /// A one-line trace note, formatted only when tracing.
    pub fn note(&self, id: ConnId, text: impl FnOnce() -> String) {
        if let Some(tracer) = &self.tracer {
            tracer.note(id, &text());
        }
    }

    /// A request head as it arrived.
    pub fn head_in(&self, id: ConnId, head: &[u8]) {
        if let Some(tracer) = &self.tracer {
            tracer.head(id, true, head);
        }
    }

    /// Bytes received or sent that are not a head: a request body, a pushed event or frame.
    pub fn payload(&self, id: ConnId, inbound: bool, label: &str, bytes: &[u8]) {
        if let Some(tracer) = &self.tracer
            && !bytes.is_empty()
        {
            tracer.payload(id, inbound, label, bytes);
        }
    }

    /// What a responder wrote: a response head, then (if any) body bytes.
    pub fn written(&self, id: ConnId, written: &[u8]) {
        let Some(tracer) = &self.tracer else { return };
        let head_len = written.windows(4).position(|w| w == b"\r\n\r\n").map_or(written.len(), |i| i + 4);
        tracer.head(id, false, &written[..head_len]);
        if written.len() > head_len {
            tracer.payload(id, false, "response body", &written[head_len..]);
        }
    }

    /// The demo page's tag of a request, when this server counts and the request has one.
    pub fn tag(&self, request: &Request) -> Option<Tag> {
        if self.counts { Tag::from_request(request) } else { None }
    }

    /// A request on an HTTP connection was answered: count it under its tag (if any) with the
    /// bytes since `marks`, which move on either way.
    pub fn answered(&self, tag: Option<&Tag>, answered: Answered, cx: &Cx<'_>, marks: &mut Marks) {
        let bytes = marks.advance(self::marks(cx));
        if let Some(tag) = tag {
            self.stats.add(tag, answered.counters(bytes));
        }
    }

    /// A tagged request becomes a stream or a held request: its accounting travels with the
    /// connection from here, starting from the HTTP connection's `marks`.
    pub fn carry(&self, tag: Option<Tag>, marks: Marks) -> Accounting {
        tag.map(|tag| Box::new((tag, marks)))
    }

    /// A stream's traffic since it was last accounted: `requests` (1 for its opening request)
    /// and `messages` delivered, plus the bytes the reactor counted.
    pub fn stream_traffic(&self, accounting: &mut Accounting, cx: &Cx<'_>, requests: u64, messages: u64) {
        let Some(tagged) = accounting else { return };
        let (tag, marks) = &mut **tagged;
        let (bytes_in, bytes_out) = marks.advance(self::marks(cx));
        self.stats.add(tag, Counters { requests, empty: 0, messages, bytes_in, bytes_out });
    }

    /// A held request was answered at last: count it as one request, like any other.
    pub fn held_answered(&self, accounting: &mut Accounting, answered: Answered, cx: &Cx<'_>) {
        if let Some(tagged) = accounting.take() {
            let (tag, mut marks) = *tagged;
            self.stats.add(&tag, answered.counters(marks.advance(self::marks(cx))));
        }
    }
}
