//! The HTTP/1.1 side of a connection: decode requests (pipelined, in order), route each one,
//! answer it, and say what the connection becomes when a request upgrades to a WebSocket,
//! opens an SSE stream or is held (a parked long-poll, a held `POST`).

use talkback_http1::{
    CONTINUE_100, Decoded, Event, Limits, Request, RequestDecoder, ResponseHead, Status, encode_error_response,
};
use talkback_reactor::Cx;

use crate::answer::{Cors, respond_with};
use crate::observe::Accounting;
use crate::routes::{self, Handled, Route, Switch};
use crate::state::{LoopCtx, Service};
use crate::stats::{Answered, Marks};

/// A connection speaking HTTP/1.1.
#[derive(Debug)]
pub(crate) struct HttpConn {
    decoder: RequestDecoder,
    /// The request whose body is being read (answered when the body ends).
    in_flight: Option<InFlight>,
    /// Whether the current deadline is the keep-alive one (idle between requests) rather than
    /// the head/body timeout.
    idle: bool,
    /// Requests answered on this connection.
    requests: u64,
    /// The byte counts when the last request was answered (for the demo page's accounting).
    marks: Marks,
    /// The server is draining: the request in flight is answered with `Connection: close`.
    draining: bool,
}

/// A request between its head and the end of its body.
#[derive(Debug)]
struct InFlight {
    request: Request,
    route: Route,
    cors: Cors,
    /// Collected only for routes that use the body (echo, publish); bounded by the decoder's
    /// body limit.
    body: Vec<u8>,
}

/// What the connection becomes when it stops reading requests.
#[derive(Debug)]
pub(crate) enum Became {
    /// A stream or a held request, with the demo page's accounting of its request.
    Switch(Switch, Accounting),
    /// Closing after what is queued (the request asked, or an error was answered).
    Closing,
}

/// What handling one request did to the connection (short-lived; size does not matter).
enum Next {
    /// Keep reading requests.
    Continue,
    /// The connection is something else now.
    Became(Became),
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
            draining: false,
        }
    }

    /// Decodes and answers every complete request in `input`. Returns the bytes consumed and,
    /// when a request switched protocols, what the connection has become.
    pub(crate) fn on_input(&mut self, input: &[u8], cx: &mut Cx<'_>, state: &mut LoopCtx) -> (usize, Option<Became>) {
        let mut pos = 0;
        loop {
            let Decoded { consumed, event } = match self.decoder.decode(&input[pos..]) {
                Ok(decoded) => decoded,
                Err(error) => {
                    state.observer.note(cx.id(), || format!("!! {error} -> {} and close", error.status().code()));
                    respond_with(cx, state, |out, state| encode_error_response(&error, &state.date, out));
                    cx.close();
                    return (input.len(), Some(Became::Closing));
                }
            };
            let bytes = &input[pos..pos + consumed];
            pos += consumed;
            let next = match event {
                None => break,
                Some(Event::Head(request)) => {
                    state.observer.head_in(cx.id(), bytes);
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
                Next::Became(Became::Closing) => {
                    cx.close();
                    return (input.len(), Some(Became::Closing));
                }
                Next::Became(became) => return (pos, Some(became)),
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
            state.observer.note(cx.id(), || "keep-alive idle timeout: close".into());
        } else {
            state.observer.note(cx.id(), || "request not received in time: 408 and close".into());
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

    /// The server is draining: a connection between requests closes now (RFC 9112 §9.6 lets
    /// a server close an idle connection; the client opens a new one elsewhere). One in the
    /// middle of a request answers it, with `Connection: close`, and closes after. Returns
    /// whether it closed.
    pub(crate) fn drain(&mut self, cx: &mut Cx<'_>, state: &LoopCtx) -> bool {
        if self.in_flight.is_none() && self.decoder.is_idle() {
            state.observer.note(cx.id(), || "draining: idle keep-alive connection, close".into());
            cx.close();
            return true;
        }
        state.observer.note(cx.id(), || "draining: the request in flight is answered, then close".into());
        self.draining = true;
        if let Some(flight) = self.in_flight.as_mut() {
            flight.request.keep_alive = false; // its head is in; its body is still coming
        }
        false
    }

    /// Whether [`HttpConn::drain`] left it answering a request in flight.
    pub(crate) fn is_draining(&self) -> bool {
        self.draining
    }

    fn on_head(&mut self, mut request: Request, cx: &mut Cx<'_>, state: &mut LoopCtx) -> Next {
        if self.draining {
            request.keep_alive = false; // answered with `Connection: close`, then closed
        }
        let (route, cors) = routes::route(state, &request);
        let has_body = request.content_length != Some(0);
        if route.refuses() && has_body {
            // Answer before the body, then close rather than read a body nobody wants.
            let mut close_request = request;
            close_request.keep_alive = false;
            return self.answer(&close_request, &route, cors, &[], cx, state);
        }
        if request.expect_continue && has_body && route.wants_body() {
            respond_with(cx, state, |out, _| out.extend_from_slice(CONTINUE_100));
        }
        if !has_body {
            // The decoder's next event is `End`, at once and consuming nothing: answer now
            // rather than park the request in `in_flight` until then.
            let next = self.answer(&request, &route, cors, &[], cx, state);
            self.decoder.recycle(request);
            return next;
        }
        self.in_flight = Some(InFlight { request, route, cors, body: Vec::new() });
        Next::Continue
    }

    fn on_end(&mut self, cx: &mut Cx<'_>, state: &mut LoopCtx) -> Next {
        let Some(InFlight { request, route, cors, body }) = self.in_flight.take() else {
            return Next::Continue;
        };
        let next = self.answer(&request, &route, cors, &body, cx, state);
        // The next request on this connection is decoded into this one's buffers.
        self.decoder.recycle(request);
        next
    }

    /// Answers one complete request, and counts it for the demo page when it is tagged.
    fn answer(
        &mut self,
        request: &Request,
        route: &Route,
        cors: Cors,
        body: &[u8],
        cx: &mut Cx<'_>,
        state: &mut LoopCtx,
    ) -> Next {
        self.requests += 1;
        state.observer.payload(cx.id(), true, "request body", body);
        let tag = state.observer.tag(request);
        let answered: Answered = match routes::handle(route, cors, request, body, self.requests, cx, state) {
            Handled::Switch(switch) => {
                // The stream or held request carries on the accounting from here.
                return Next::Became(Became::Switch(switch, state.observer.carry(tag, self.marks)));
            }
            Handled::Refused(answered) => {
                state.observer.answered(tag.as_ref(), answered, cx, &mut self.marks);
                return Next::Became(Became::Closing);
            }
            Handled::Answered(answered) => answered,
        };
        state.observer.answered(tag.as_ref(), answered, cx, &mut self.marks);
        if request.keep_alive { Next::Continue } else { Next::Became(Became::Closing) }
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
