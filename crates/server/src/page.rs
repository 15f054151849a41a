//! The demo page at `/`: plain HTML, CSS and JavaScript embedded in the binary.

use talkback_http1::{Request, Status};
use talkback_reactor::Cx;

use crate::http::respond;
use crate::state::LoopCtx;

/// The page itself (see `static/index.html`).
const INDEX_HTML: &[u8] = include_bytes!("../static/index.html");

/// `GET /`: the page.
pub(crate) fn answer(request: &Request, cx: &mut Cx<'_>, state: &LoopCtx) {
    let headers: [(&str, &[u8]); 2] = [("Content-Type", b"text/html; charset=utf-8"), ("Cache-Control", b"no-cache")];
    respond(cx, state, request, Status::OK, &headers, INDEX_HTML);
}
