//! The demo page at `/` (plain HTML, CSS and JavaScript embedded in the binary, no build step)
//! and the stream of counters it shows: `GET /stats?page=ID`, an SSE stream of the page's
//! per-technique accounting (see [`crate::stats`]).
//!
//! The page is also the reference client for resuming: each of its four panes keeps a cursor
//! (the last id it showed), and after a drop reconnects with a capped, jittered back-off and
//! asks for what came after it — `after=` for the polls, `Last-Event-ID` for SSE, `?after=` with
//! the `talkback.json` subprotocol for the WebSocket. `tests/e2e/e2e.mjs` takes the page
//! offline, cuts its connections and publishes meanwhile, then checks every pane shows every
//! message once and in order.

use std::time::Duration;

use talkback_http1::{Request, Status};
use talkback_reactor::Cx;

use crate::answer::{ReplyTo, respond, respond_reason, respond_with};
use crate::state::LoopCtx;
use crate::stats::Answered;

/// The page itself.
const INDEX_HTML: &[u8] = include_bytes!("../static/index.html");

/// How often the counters are sent when they changed.
const STATS_INTERVAL: Duration = Duration::from_millis(250);

/// `GET /`: the page.
pub fn answer(to: ReplyTo, cx: &mut Cx<'_>, state: &LoopCtx) -> Answered {
    let headers: [(&str, &[u8]); 2] = [("Content-Type", b"text/html; charset=utf-8"), ("Cache-Control", b"no-cache")];
    respond(cx, state, to, Status::OK, &headers, INDEX_HTML)
}

/// The page's counter stream.
#[derive(Debug)]
pub struct StatsConn {
    page: Box<str>,
    /// The version of the counters last sent.
    seen: u64,
    /// Intervals since something was last sent (a comment keeps proxies from timing out).
    quiet: u32,
}

/// `GET /stats?page=ID`: opens the counter stream (400 without a valid page id).
pub fn open_stats(request: &Request, cx: &mut Cx<'_>, state: &LoopCtx) -> Result<StatsConn, Answered> {
    let page = request.query().unwrap_or("").split('&').find_map(|pair| pair.strip_prefix("page="));
    let Some(page) = page.filter(|p| (1..=32).contains(&p.len()) && p.bytes().all(|b| b.is_ascii_alphanumeric()))
    else {
        let reason = b"stats needs ?page=ID (1-32 letters or digits)\n";
        return Err(respond_reason(cx, state, ReplyTo::of(request), Status::BAD_REQUEST, reason));
    };
    respond_with(cx, state, |out, state| {
        let _ = talkback_sse::encode_stream_head_with_date(state.date.value(), out);
    });
    let mut stats = StatsConn { page: page.into(), seen: u64::MAX, quiet: 0 };
    stats.send_if_changed(cx, state);
    cx.set_deadline(Some(cx.now() + STATS_INTERVAL));
    Ok(stats)
}

impl StatsConn {
    fn send_if_changed(&mut self, cx: &mut Cx<'_>, state: &LoopCtx) {
        match state.observer.stats().json_if_changed(&self.page, &mut self.seen) {
            Some(json) => {
                self.quiet = 0;
                if let Ok(event) = talkback_sse::Event::new(&json).with_event("stats") {
                    cx.with_output(|out| event.encode(out));
                }
            }
            None => {
                self.quiet += 1;
                if self.quiet * STATS_INTERVAL.as_millis() as u32 >= 15_000 {
                    self.quiet = 0;
                    cx.with_output(|out| talkback_sse::encode_comment("heartbeat", out));
                }
            }
        }
    }

    /// Every interval: send the counters if they moved.
    pub fn on_deadline(&mut self, cx: &mut Cx<'_>, state: &LoopCtx) {
        if cx.over_output_cap() {
            cx.abort();
            return;
        }
        self.send_if_changed(cx, state);
        cx.set_deadline(Some(cx.now() + STATS_INTERVAL));
    }
}
