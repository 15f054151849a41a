//! The counters behind `GET /metrics`, kept per loop so that counting costs the hot path no
//! lock and no contended atomic: each loop writes only its own cache line, with a plain load
//! and store (one writer, so no read-modify-write is needed), and a scrape — rare — reads and
//! sums every loop's.
//!
//! ```text
//!  loop 0: [connections ×4 | published | deliveries ×4 | slow dropped]  ─┐ (own line, Relaxed)
//!  loop 1: [connections ×4 | published | deliveries ×4 | slow dropped]  ─┼──▶ scrape: Σ loops
//!  …                                                                     ─┘
//! ```
//!
//! A sum read while loops count may be a few events behind; each counter only grows (the
//! connection gauges are per loop, so each loop's part never goes below zero).

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

/// What a connection currently is, as the `technique` label of `talkback_connections` names
/// it: plain HTTP (short polls and publishes included), an SSE stream, a WebSocket, a parked
/// long-poll.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConnKind {
    /// Reading requests (or a `POST` whose answer is held).
    Http = 0,
    /// An event stream (the demo page's counter stream too).
    Sse = 1,
    /// A WebSocket.
    WebSocket = 2,
    /// A long-poll waiting for a message.
    LongPoll = 3,
}

impl ConnKind {
    /// Every kind, in label order.
    pub const ALL: [ConnKind; 4] = [ConnKind::Http, ConnKind::Sse, ConnKind::WebSocket, ConnKind::LongPoll];

    /// The label value.
    pub fn label(self) -> &'static str {
        ["http", "sse", "websocket", "longpoll"][self as usize]
    }
}

/// How a message was delivered, as the `technique` label of `talkback_deliveries_total` names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Delivered {
    /// In a short poll's answer.
    Poll = 0,
    /// In a long-poll's answer.
    LongPoll = 1,
    /// As an SSE event.
    Sse = 2,
    /// As a WebSocket frame.
    WebSocket = 3,
}

impl Delivered {
    /// Every technique, in label order.
    pub const ALL: [Delivered; 4] = [Delivered::Poll, Delivered::LongPoll, Delivered::Sse, Delivered::WebSocket];

    /// The label value.
    pub fn label(self) -> &'static str {
        ["poll", "longpoll", "sse", "websocket"][self as usize]
    }
}

/// One loop's counters, alone on their cache lines (128 bytes: two lines, for the CPUs whose
/// prefetcher pulls lines in pairs), so loops never write the same line.
#[derive(Debug, Default)]
#[repr(align(128))]
struct LoopMeters {
    connections: [AtomicU64; 4],
    published: AtomicU64,
    deliveries: [AtomicU64; 4],
    slow_dropped: AtomicU64,
}

/// Every loop's counters.
#[derive(Debug)]
pub struct Meters {
    loops: Box<[LoopMeters]>,
}

impl Meters {
    /// Counters for `loops` loops.
    pub fn new(loops: usize) -> Arc<Meters> {
        Arc::new(Meters { loops: (0..loops.max(1)).map(|_| LoopMeters::default()).collect() })
    }

    /// The sums over every loop, now.
    pub fn totals(&self) -> Totals {
        let mut totals = Totals::default();
        for meters in &self.loops {
            for (total, cell) in totals.connections.iter_mut().zip(&meters.connections) {
                *total += cell.load(Ordering::Relaxed);
            }
            for (total, cell) in totals.deliveries.iter_mut().zip(&meters.deliveries) {
                *total += cell.load(Ordering::Relaxed);
            }
            totals.published += meters.published.load(Ordering::Relaxed);
            totals.slow_dropped += meters.slow_dropped.load(Ordering::Relaxed);
        }
        totals
    }
}

/// The counters summed over the loops.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Totals {
    /// Open connections, by [`ConnKind`].
    pub connections: [u64; 4],
    /// Messages published.
    pub published: u64,
    /// Messages delivered, by [`Delivered`].
    pub deliveries: [u64; 4],
    /// Subscribers dropped for a full output queue.
    pub slow_dropped: u64,
}

/// One loop's pen: it writes that loop's counters only (so it lives on that loop's thread).
#[derive(Debug)]
pub struct Meter {
    all: Arc<Meters>,
    index: usize,
}

/// Adds `by` to a counter only this thread writes: a load and a store, no locked instruction.
fn add(cell: &AtomicU64, by: u64) {
    cell.store(cell.load(Ordering::Relaxed).wrapping_add(by), Ordering::Relaxed);
}

impl Meter {
    /// Loop `index`'s pen on `all`.
    pub fn new(all: Arc<Meters>, index: usize) -> Meter {
        let index = index.min(all.loops.len() - 1);
        Meter { all, index }
    }

    /// Counters of its own (a loop made alone, in a test).
    pub fn solo() -> Meter {
        Meter::new(Meters::new(1), 0)
    }

    /// Every loop's counters (for the scrape).
    pub fn all(&self) -> &Meters {
        &self.all
    }

    fn mine(&self) -> &LoopMeters {
        &self.all.loops[self.index]
    }

    /// A connection stopped being `from` and became `to` (`None`: not yet, or no more).
    pub fn moved(&self, from: Option<ConnKind>, to: Option<ConnKind>) {
        if from == to {
            return;
        }
        let cells = &self.mine().connections;
        if let Some(from) = from {
            add(&cells[from as usize], u64::MAX); // minus one, wrapping
        }
        if let Some(to) = to {
            add(&cells[to as usize], 1);
        }
    }

    /// A message was published.
    pub fn published(&self) {
        add(&self.mine().published, 1);
    }

    /// `messages` were delivered by `technique`.
    pub fn delivered(&self, technique: Delivered, messages: u64) {
        if messages > 0 {
            add(&self.mine().deliveries[technique as usize], messages);
        }
    }

    /// A slow consumer was dropped.
    pub fn slow_dropped(&self) {
        add(&self.mine().slow_dropped, 1);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_loop_counts_alone_and_the_scrape_sums_them() {
        let all = Meters::new(2);
        let (a, b) = (Meter::new(Arc::clone(&all), 0), Meter::new(Arc::clone(&all), 1));
        a.moved(None, Some(ConnKind::Http));
        a.moved(Some(ConnKind::Http), Some(ConnKind::WebSocket));
        b.moved(None, Some(ConnKind::Http));
        b.moved(Some(ConnKind::Http), None);
        a.published();
        b.published();
        a.delivered(Delivered::Sse, 3);
        b.delivered(Delivered::Sse, 2);
        b.slow_dropped();
        let totals = all.totals();
        assert_eq!(totals.connections, [0, 0, 1, 0]);
        assert_eq!((totals.published, totals.deliveries[Delivered::Sse as usize], totals.slow_dropped), (2, 5, 1));
        assert!(std::mem::align_of::<LoopMeters>() >= 128, "one loop per cache line pair");
    }
}
