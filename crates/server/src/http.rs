//! The HTTP/1.1 side of a connection: decode requests (pipelined, in order), route each one,
//! answer it, and hand the socket over when a request upgrades to a WebSocket, opens an SSE
//! stream or parks as a long-poll.

use talkback_http1::{
    CONTINUE_100, Decoded, Event, Limits, Method, Request, RequestDecoder, ResponseHead, Status, encode_error_response,
};
use talkback_reactor::Cx;

use crate::conn::Conn;
use crate::routes::{self, Route};
use crate::state::{LoopCtx, Service};
use crate::stats::{Counters, Marks, Tag};

/// A connection speaking HTTP/1.1.
#[derive(Debug)]
pub struct HttpConn {
    decoder: RequestDecoder,
    /// The request whose body is being read (answered when the body ends).
    in_flight: Option<InFlight>,
    /// Whether the current deadline is the keep-alive one (idle between requests) rather than
    /// the head/body timeout.
    idle: bool,
    /// Requests answered on this connection.
    pub(crate) requests: u64,
    /// The byte counts when the last request was answered (for the demo page's accounting).
    marks: Marks,
}

/// A request between its head and the end of its body.
#[derive(Debug)]
struct InFlight {
    request: Request,
    route: Route,
    /// Collected only for routes that use the body (echo, publish); bounded by the decoder's
    /// body limit.
    body: Vec<u8>,
}

/// What handling one request did to the connection (short-lived; size does not matter).
#[allow(clippy::large_enum_variant)]
enum Next {
    /// Keep reading requests.
    Continue,
    /// The connection closes after what is queued.
    Close,
    /// The connection is something else now.
    Switch(Conn),
}

impl HttpConn {
    /// A fresh connection: the first request must arrive within the head timeout.
    pub(crate) fn new(state: &LoopCtx, cx: &mut Cx<'_>) -> HttpConn {
        cx.set_deadline(Some(cx.now() + state.options.head_timeout));
        HttpConn::with_limits(limits_for(state))
    }

    /// A connection returning to HTTP after a parked request was answered.
    pub(crate) fn resumed(state: &LoopCtx, cx: &mut Cx<'_>, requests: u64) -> HttpConn {
        cx.set_deadline(Some(cx.now() + state.options.keepalive_timeout));
        let mut http = HttpConn::with_limits(limits_for(state));
        http.idle = true;
        http.requests = requests;
        http.marks = Marks { read: cx.bytes_read(), queued: cx.bytes_queued() };
        http
    }

    fn with_limits(limits: Limits) -> HttpConn {
        HttpConn {
            decoder: RequestDecoder::new(limits),
            in_flight: None,
            idle: false,
            requests: 0,
            marks: Marks::default(),
        }
    }

    /// Decodes and answers every complete request in `input`. Returns the bytes consumed and,
    /// when a request switched protocols, what the connection has become.
    pub(crate) fn on_input(&mut self, input: &[u8], cx: &mut Cx<'_>, state: &mut LoopCtx) -> (usize, Option<Conn>) {
        let mut pos = 0;
        loop {
            let Decoded { consumed, event } = match self.decoder.decode(&input[pos..]) {
                Ok(decoded) => decoded,
                Err(error) => {
                    if let Some(tracer) = &state.tracer {
                        tracer.note(cx.id(), &format!("!! {error} -> {} and close", error.status().code()));
                    }
                    respond_with(cx, state, |out, state| encode_error_response(&error, &state.date, out));
                    cx.close();
                    return (input.len(), Some(Conn::Done));
                }
            };
            let bytes = &input[pos..pos + consumed];
            pos += consumed;
            let next = match event {
                None => break,
                Some(Event::Head(request)) => {
                    if let Some(tracer) = &state.tracer {
                        tracer.head(cx.id(), true, bytes);
                    }
                    self.on_head(request, cx, state)
                }
                Some(Event::Data(data)) => {
                    if let Some(flight) = self.in_flight.as_mut().filter(|f| f.route.wants_body()) {
                        flight.body.extend_from_slice(data);
                    }
                    Next::Continue
                }
                Some(Event::End) => self.on_end(cx, state),
            };
            match next {
                Next::Continue => {}
                Next::Close => {
                    cx.close();
                    return (input.len(), Some(Conn::Done));
                }
                Next::Switch(conn) => return (pos, Some(conn)),
            }
        }
        self.set_timeout(cx, state);
        (pos, None)
    }

    /// Keep-alive idle timeout between requests; head timeout once a request has begun.
    fn set_timeout(&mut self, cx: &mut Cx<'_>, state: &LoopCtx) {
        let idle = self.in_flight.is_none() && self.decoder.is_idle();
        if idle {
            cx.set_deadline(Some(cx.now() + state.options.keepalive_timeout));
        } else if self.idle || self.in_flight.is_some() {
            // A request began (or its body is still coming): it must finish in time.
            cx.set_deadline(Some(cx.now() + state.options.head_timeout));
        }
        self.idle = idle;
    }

    /// The head timeout or the keep-alive timeout passed.
    pub(crate) fn on_deadline(&mut self, cx: &mut Cx<'_>, state: &mut LoopCtx) {
        if self.idle {
            if let Some(tracer) = &state.tracer {
                tracer.note(cx.id(), "keep-alive idle timeout: close");
            }
        } else {
            if let Some(tracer) = &state.tracer {
                tracer.note(cx.id(), "request not received in time: 408 and close");
            }
            let status = Status::REQUEST_TIMEOUT;
            respond_with(cx, state, |out, state| {
                let body = b"request timeout: the head was not received in time\n";
                ResponseHead::new(status)
                    .header("Content-Type", b"text/plain; charset=utf-8")
                    .content_length(body.len() as u64)
                    .close(true)
                    .encode(&state.date, out);
                out.extend_from_slice(body);
            });
        }
        cx.close();
    }

    fn on_head(&mut self, request: Request, cx: &mut Cx<'_>, state: &mut LoopCtx) -> Next {
        let route = routes::route(state.service, &request);
        let has_body = request.content_length != Some(0);
        if let Route::Error { .. } = route
            && has_body
        {
            // Answer before the body, then close rather than read a body nobody wants.
            let close_request = request_with_close(request);
            return self.answer(&close_request, &route, &[], cx, state);
        }
        if request.expect_continue && has_body && route.wants_body() {
            cx.write(CONTINUE_100);
            if let Some(tracer) = &state.tracer {
                tracer.head(cx.id(), false, CONTINUE_100);
            }
        }
        if !has_body {
            // The decoder's next event is `End`, at once and consuming nothing: answer now
            // rather than park the request in `in_flight` until then.
            let next = self.answer(&request, &route, &[], cx, state);
            self.decoder.recycle(request);
            return next;
        }
        self.in_flight = Some(InFlight { request, route, body: Vec::new() });
        Next::Continue
    }

    fn on_end(&mut self, cx: &mut Cx<'_>, state: &mut LoopCtx) -> Next {
        let Some(InFlight { request, route, body }) = self.in_flight.take() else {
            return Next::Continue;
        };
        let next = self.answer(&request, &route, &body, cx, state);
        // The next request on this connection is decoded into this one's buffers.
        self.decoder.recycle(request);
        next
    }

    /// Answers one complete request.
    fn answer(&mut self, request: &Request, route: &Route, body: &[u8], cx: &mut Cx<'_>, state: &mut LoopCtx) -> Next {
        self.requests += 1;
        if let (Some(tracer), false) = (&state.tracer, body.is_empty()) {
            tracer.payload(cx.id(), true, "request body", body);
        }
        let next = routes::handle(route, request, body, self.requests, cx, state);
        // Only the demo page tags its requests; other services never look.
        let counts = matches!(state.service, Service::Hub(routes) if routes.page);
        let tag = if counts { Tag::from_request(request) } else { None };
        match (next, tag) {
            (Some(mut conn), tag) => {
                // The stream or parked request carries on the accounting from here.
                conn.attach_accounting(tag, self.marks, cx, state);
                Next::Switch(conn)
            }
            (None, tag) => {
                let (bytes_in, bytes_out) =
                    self.marks.advance(Marks { read: cx.bytes_read(), queued: cx.bytes_queued() });
                if let Some(tag) = tag {
                    let (status, messages) = state.last_answer.get();
                    let empty = u64::from(status == 204);
                    state.stats.add(&tag, Counters { requests: 1, empty, messages, bytes_in, bytes_out });
                }
                if request.keep_alive { Next::Continue } else { Next::Close }
            }
        }
    }
}

/// The decoder limits for this service: the hub's body limit is its message limit.
fn limits_for(state: &LoopCtx) -> Limits {
    let mut limits = state.options.http.clone();
    if let Service::Hub(_) = state.service {
        limits.max_body = limits.max_body.min(state.options.max_message as u64);
    }
    limits
}

/// The same request, marked to close after its answer.
fn request_with_close(mut request: Request) -> Request {
    request.keep_alive = false;
    request
}

/// Encodes a response into the connection's output, tracing its head when asked.
pub(crate) fn respond_with(cx: &mut Cx<'_>, state: &LoopCtx, encode: impl FnOnce(&mut Vec<u8>, &LoopCtx)) {
    let id = cx.id();
    cx.with_output(|out| {
        let start = out.len();
        encode(out, state);
        if let Some(tracer) = &state.tracer {
            let written = &out[start..];
            let head_len = written.windows(4).position(|w| w == b"\r\n\r\n").map_or(written.len(), |i| i + 4);
            tracer.head(id, false, &written[..head_len]);
            if written.len() > head_len {
                tracer.payload(id, false, "response body", &written[head_len..]);
            }
        }
    });
}

/// A whole response with a `Content-Length` body, `Connection` set from the request, and no
/// body bytes for HEAD.
pub(crate) fn respond(
    cx: &mut Cx<'_>,
    state: &LoopCtx,
    request: &Request,
    status: Status,
    headers: &[(&str, &[u8])],
    body: &[u8],
) {
    state.last_answer.set((status.code(), 0));
    respond_with(cx, state, |out, state| {
        let head = ResponseHead::new(status).connection_for(request).fields(headers);
        head.content_length(body.len() as u64).encode(&state.date, out);
        if request.method != Method::Head && !status.forbids_framing() {
            out.extend_from_slice(body);
        }
    });
}
