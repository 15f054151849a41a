//! Which answer a request gets: the URL contract of the README ("The hub's URLs") in one
//! place, and what the connection becomes after it ([`Handled`]).
//!
//! | service | request | route |
//! |---|---|---|
//! | http-echo | `GET`/`HEAD` any path | a short text |
//! | http-echo | `POST`/`PUT` any path | the body echoed |
//! | ws-echo | `GET` any path with `Upgrade: websocket` | WebSocket echo (plain GET → 426) |
//! | hub | `POST /ch/{c}` | publish; 200 with the new id |
//! | hub | `GET /ch/{c}/poll?after=N` | short poll |
//! | hub | `GET /ch/{c}/longpoll?after=N&timeout=S` | long-poll |
//! | hub | `GET /ch/{c}/sse` | Server-Sent Events |
//! | hub | `GET /ch/{c}/ws?after=N` | WebSocket subscriber and publisher (`talkback.json`: ids) |
//! | hub | `GET /metrics` | Prometheus text format (unless `--metrics off`) |
//! | hub | `GET /talkback.js` | the browser client (falls back WS → SSE → long-poll → poll) |
//! | demo | `GET /` | the demo page |
//! | demo | `GET /stats?page=ID` | the page's counters (SSE) |
//! | every binary | `OPTIONS` a path it serves | 200 with `Allow`: that path's methods |
//! | every binary | `OPTIONS *` | 200 with `Allow`: every method the server answers |
//!
//! A method a path does not take gets 405 with the same `Allow` (RFC 9110 §15.5.6).
//!
//! Before a request is routed, the guard reads its credential and its origin ([`Access`]);
//! here they become answers: a publish without the token gets 401, a WebSocket from an
//! unlisted origin 403, and the readable resources (`POST /ch/{c}`, poll, long-poll, SSE, the
//! client module, which a page on another origin imports in CORS mode) their
//! CORS fields — a preflight `OPTIONS` 204 with the `Access-Control-Allow-*` fields.

use talkback_http1::{Method, Request, Status};
use talkback_longpoll::{ChannelQuery, MessageId};
use talkback_reactor::Cx;

use crate::answer::{Cors, ReplyTo, respond};
use crate::guard::{ALLOW_HEADERS, Access, Credential, OriginSeen, PREFLIGHT_MAX_AGE};
use crate::held::Held;
use crate::longpoll::Polled;
use crate::meters::Delivered;
use crate::page::StatsConn;
use crate::publish::Published;
use crate::sse::SseConn;
use crate::state::{HubRoutes, LoopCtx, Service};
use crate::stats::Answered;
use crate::websocket::WsConn;
use crate::{client_js, hub, longpoll, metrics, page, publish, sse, websocket};

/// The answer chosen for a request, decided from its head alone.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Route {
    /// http-echo: a short text.
    EchoText,
    /// http-echo: the body back.
    EchoBody,
    /// A WebSocket upgrade: echo (`channel: None`) or a hub channel, replayed from `after`;
    /// its text messages are published only if `may_publish`.
    WebSocket { channel: Option<String>, after: Option<MessageId>, may_publish: bool },
    /// `POST /ch/{c}`.
    Publish(String),
    /// `GET /ch/{c}/poll`.
    Poll(String, ChannelQuery),
    /// `GET /ch/{c}/longpoll`.
    LongPoll(String, ChannelQuery),
    /// `GET /ch/{c}/sse`.
    Sse(String, ChannelQuery),
    /// `GET /`: the demo page.
    Page,
    /// `GET /talkback.js`: the browser client module.
    Client,
    /// `GET /stats?page=ID`: the demo page's counters as an SSE stream.
    Stats,
    /// `GET /metrics`: the Prometheus text exposition.
    Metrics,
    /// A publish without the publish token: 401 with the challenge for what it carried.
    Unauthorized(Credential),
    /// `OPTIONS`: 200 with the methods the target takes in `Allow`
    /// ([RFC 9110 §9.3.7](https://www.rfc-editor.org/rfc/rfc9110#section-9.3.7)).
    Options { allow: &'static str },
    /// A refusal: status, the `Allow` value for 405, a one-line reason.
    Error { status: Status, allow: Option<&'static str>, reason: &'static str },
}

impl Route {
    /// Whether the request body is needed (others are read and dropped).
    pub(crate) fn wants_body(&self) -> bool {
        matches!(self, Route::EchoBody | Route::Publish(_))
    }

    /// Whether the request is refused from its head alone (its body, if any, is not read).
    pub(crate) fn refuses(&self) -> bool {
        matches!(self, Route::Error { .. } | Route::Unauthorized(_))
    }
}

const ORIGIN_NOT_ALLOWED: Route =
    Route::Error { status: Status::FORBIDDEN, allow: None, reason: "this Origin may not open a WebSocket here" };

const MALFORMED_ORIGIN: Route =
    Route::Error { status: Status::FORBIDDEN, allow: None, reason: "malformed Origin: expected scheme://host[:port]" };

const NOT_FOUND: Route = Route::Error { status: Status::NOT_FOUND, allow: None, reason: "no such path" };

fn method_not_allowed(allow: &'static str) -> Route {
    Route::Error { status: Status::METHOD_NOT_ALLOWED, allow: Some(allow), reason: "method not allowed here" }
}

/// http-echo's methods, on every path.
const ECHO_METHODS: &str = "GET, HEAD, POST, PUT, OPTIONS";
/// ws-echo's methods, on every path.
const WS_ECHO_METHODS: &str = "GET, OPTIONS";

/// Chooses the route for a request head, and the CORS fields of its answers: the guard reads
/// the head first (the token and the origin), then the path and the method decide.
pub(crate) fn route(state: &LoopCtx, request: &Request) -> (Route, Cors) {
    let access = state.guard.read(request);
    let method = &request.method;
    let route = match state.service {
        Service::HttpEcho => match method {
            Method::Get | Method::Head => Route::EchoText,
            Method::Post | Method::Put => Route::EchoBody,
            Method::Options => Route::Options { allow: ECHO_METHODS },
            _ => method_not_allowed(ECHO_METHODS),
        },
        Service::WsEcho => match method {
            _ if access.origin == OriginSeen::Malformed => MALFORMED_ORIGIN,
            Method::Get if !access.origin.may_open_websocket() => ORIGIN_NOT_ALLOWED,
            Method::Get => Route::WebSocket { channel: None, after: None, may_publish: false },
            Method::Options => Route::Options { allow: WS_ECHO_METHODS },
            _ => method_not_allowed(WS_ECHO_METHODS),
        },
        Service::Hub(routes) => {
            let Some(resource) = HubPath::of(routes, state.options.metrics, request.path()) else {
                return (NOT_FOUND, Cors::Off);
            };
            return (hub_route(resource, request, access), resource.cors(access.origin));
        }
    };
    (route, Cors::Off)
}

/// What a path names on the hub, before its method is looked at.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum HubPath<'a> {
    /// `*`: the server as a whole (only `OPTIONS` can ask, RFC 9112 §3.2.4).
    Server,
    /// `/`: the demo page.
    Page,
    /// `/talkback.js`: the client module.
    Client,
    /// `/stats`: the page's counters.
    Stats,
    /// `/metrics`: the Prometheus exposition.
    Metrics,
    /// `/ch/{c}`: publish.
    Channel(&'a str),
    /// `/ch/{c}/poll`.
    Poll(&'a str),
    /// `/ch/{c}/longpoll`.
    LongPoll(&'a str),
    /// `/ch/{c}/sse`.
    Sse(&'a str),
    /// `/ch/{c}/ws`.
    Ws(&'a str),
}

impl<'a> HubPath<'a> {
    /// The resource `path` names on a hub with `routes`, if any.
    fn of(routes: HubRoutes, metrics: bool, path: &'a str) -> Option<HubPath<'a>> {
        match path {
            "*" => return Some(HubPath::Server),
            "/" if routes.page => return Some(HubPath::Page),
            "/talkback.js" => return Some(HubPath::Client),
            "/stats" if routes.page => return Some(HubPath::Stats),
            "/metrics" if metrics => return Some(HubPath::Metrics),
            _ => {}
        }
        let rest = path.strip_prefix("/ch/")?;
        let (channel, tail) = match rest.split_once('/') {
            Some((_, "")) => return None, // `/ch/{c}/` is not `/ch/{c}`
            Some((channel, tail)) => (channel, tail),
            None => (rest, ""),
        };
        if !hub::is_valid_channel(channel) {
            return None;
        }
        Some(match tail {
            "" => HubPath::Channel(channel),
            "poll" if routes.poll => HubPath::Poll(channel),
            "longpoll" if routes.longpoll => HubPath::LongPoll(channel),
            "sse" if routes.sse => HubPath::Sse(channel),
            "ws" if routes.ws => HubPath::Ws(channel),
            _ => return None,
        })
    }

    /// The methods this resource takes: the `Allow` of its `OPTIONS` and 405 answers.
    fn allow(self) -> &'static str {
        match self {
            // Every method some path of this server takes: POST (publish), GET and HEAD (every
            // hub serves its client module, /talkback.js).
            HubPath::Server => "GET, HEAD, POST, OPTIONS",
            HubPath::Page | HubPath::Client | HubPath::Poll(_) | HubPath::Metrics => "GET, HEAD, OPTIONS",
            HubPath::Channel(_) => "POST, OPTIONS",
            HubPath::Stats | HubPath::LongPoll(_) | HubPath::Sse(_) | HubPath::Ws(_) => "GET, OPTIONS",
        }
    }

    /// The CORS fields of this resource's answers for a request from `origin`: the resources
    /// a page on another origin reads (publish, poll, long-poll, SSE) carry them when
    /// `--allow-origin` is given; the rest never do (a WebSocket is not CORS: its Origin is
    /// checked at the handshake instead).
    fn cors(self, origin: OriginSeen) -> Cors {
        let readable = matches!(
            self,
            HubPath::Channel(_) | HubPath::Client | HubPath::Poll(_) | HubPath::LongPoll(_) | HubPath::Sse(_)
        );
        match origin {
            OriginSeen::Unchecked => Cors::Off,
            _ if !readable => Cors::Off,
            OriginSeen::Listed(n) => Cors::Allow(n),
            _ => Cors::Vary,
        }
    }
}

fn hub_route(resource: HubPath<'_>, request: &Request, access: Access) -> Route {
    let method = &request.method;
    let allow = resource.allow();
    let get = matches!(method, Method::Get | Method::Head);
    if access.origin == OriginSeen::Malformed {
        return MALFORMED_ORIGIN;
    }
    match (resource, method) {
        (_, Method::Options) => return Route::Options { allow },
        (HubPath::Metrics, _) if get => return Route::Metrics,
        (HubPath::Page, _) if get => return Route::Page,
        (HubPath::Client, _) if get => return Route::Client,
        (HubPath::Stats, Method::Get) => return Route::Stats,
        (HubPath::Server | HubPath::Page | HubPath::Client | HubPath::Stats | HubPath::Metrics, _) => {
            return method_not_allowed(allow);
        }
        _ => {}
    }
    let query = match ChannelQuery::parse(request.query().unwrap_or("").as_bytes()) {
        Ok(query) => query,
        Err(_) => {
            return Route::Error {
                status: Status::BAD_REQUEST,
                allow: None,
                reason: "bad query: after, timeout and lastEventId are decimal numbers",
            };
        }
    };
    match (resource, method) {
        (HubPath::Channel(_), Method::Post) if !access.credential.may_publish() => {
            Route::Unauthorized(access.credential)
        }
        (HubPath::Channel(channel), Method::Post) => Route::Publish(channel.to_owned()),
        (HubPath::Poll(channel), _) if get => Route::Poll(channel.to_owned(), query),
        (HubPath::LongPoll(channel), Method::Get) => Route::LongPoll(channel.to_owned(), query),
        (HubPath::Sse(channel), Method::Get) => Route::Sse(channel.to_owned(), query),
        (HubPath::Ws(_), Method::Get) if !access.origin.may_open_websocket() => ORIGIN_NOT_ALLOWED,
        // A wrong or malformed token is refused, not quietly taken as none: the client means
        // to publish and should know it cannot.
        (HubPath::Ws(_), Method::Get) if matches!(access.credential, Credential::Wrong | Credential::Malformed) => {
            Route::Unauthorized(access.credential)
        }
        (HubPath::Ws(channel), Method::Get) => Route::WebSocket {
            channel: Some(channel.to_owned()),
            after: query.after,
            may_publish: access.credential.may_publish(),
        },
        _ => method_not_allowed(allow),
    }
}

/// What handling a request did to the connection.
#[derive(Debug)]
pub(crate) enum Handled {
    /// Answered; the connection reads the next request (or closes, if the request asked).
    Answered(Answered),
    /// Answered, and the connection closes after it (a refused upgrade).
    Refused(Answered),
    /// The connection is something else now (its opening is written).
    Switch(Switch),
}

/// What a connection becomes when it stops being plain request/response.
#[derive(Debug)]
pub(crate) enum Switch {
    /// Upgraded to a WebSocket.
    WebSocket(WsConn),
    /// An open event stream.
    Sse(SseConn),
    /// A request whose answer waits (a parked long-poll, a held `POST`).
    Held(Held),
    /// The demo page's counter stream.
    Stats(StatsConn),
}

/// Answers a complete request.
pub(crate) fn handle(
    route: &Route,
    cors: Cors,
    request: &Request,
    body: &[u8],
    requests: u64,
    cx: &mut Cx<'_>,
    state: &mut LoopCtx,
) -> Handled {
    let to = ReplyTo::of(request).with_cors(cors);
    let answered = match route {
        Route::EchoText => {
            respond(cx, state, to, Status::OK, &[("Content-Type", b"text/plain")], b"Hello from talkback\n")
        }
        Route::EchoBody => {
            let content_type = request.header("content-type").unwrap_or(b"application/octet-stream");
            respond(cx, state, to, Status::OK, &[("Content-Type", content_type)], body)
        }
        Route::WebSocket { channel, after, may_publish } => {
            let hub = channel.as_deref().map(|name| websocket::HubSide {
                channel: name,
                after: *after,
                may_publish: *may_publish,
            });
            return match websocket::upgrade(request, hub, cx, state) {
                Ok(ws) => Handled::Switch(Switch::WebSocket(ws)),
                Err(refused) => Handled::Refused(refused),
            };
        }
        Route::Publish(channel) => match publish::publish(channel, body, to, requests, cx, state) {
            Published::Answered(answered) => answered,
            Published::Held(held) => return Handled::Switch(Switch::Held(held)),
        },
        Route::Poll(channel, query) => {
            let answered = longpoll::answer_poll(channel, query, to, cx, state);
            state.meter.delivered(Delivered::Poll, answered.messages);
            answered
        }
        Route::LongPoll(channel, query) => match longpoll::answer_longpoll(channel, query, to, requests, cx, state) {
            Polled::Answered(answered) => {
                state.meter.delivered(Delivered::LongPoll, answered.messages);
                answered
            }
            Polled::Held(held) => return Handled::Switch(Switch::Held(held)),
        },
        Route::Sse(channel, query) => match sse::open(channel, query, request, to, cx, state) {
            Ok(sse) => return Handled::Switch(Switch::Sse(sse)),
            Err(refused) => refused,
        },
        Route::Options { allow } => answer_options(allow, request, to, cx, state),
        Route::Metrics => metrics::answer(to, cx, state),
        Route::Unauthorized(credential) => answer_unauthorized(*credential, to, cx, state),
        Route::Page => page::answer(to, cx, state),
        Route::Client => client_js::answer(to, cx, state),
        Route::Stats => match page::open_stats(request, cx, state) {
            Ok(stats) => return Handled::Switch(Switch::Stats(stats)),
            Err(answered) => answered,
        },
        Route::Error { status, allow, reason } => {
            let mut text = String::with_capacity(reason.len() + 1);
            text.push_str(reason);
            text.push('\n');
            let mut headers: Vec<(&str, &[u8])> = vec![("Content-Type", b"text/plain; charset=utf-8")];
            if let Some(allow) = allow {
                headers.push(("Allow", allow.as_bytes()));
            }
            respond(cx, state, to, *status, &headers, text.as_bytes())
        }
    };
    Handled::Answered(answered)
}

/// `OPTIONS`: 200 with `Allow`; or, a CORS preflight from a listed origin (Fetch,
/// "CORS-preflight request": it carries `Access-Control-Request-Method`), 204 with the
/// `Access-Control-Allow-*` fields as well.
fn answer_options(allow: &str, request: &Request, to: ReplyTo, cx: &mut Cx<'_>, state: &LoopCtx) -> Answered {
    let preflight = matches!(to.cors, Cors::Allow(_)) && request.header("access-control-request-method").is_some();
    if !preflight {
        return respond(cx, state, to, Status::OK, &[("Allow", allow.as_bytes())], b"");
    }
    let headers: [(&str, &[u8]); 4] = [
        ("Allow", allow.as_bytes()),
        ("Access-Control-Allow-Methods", allow.as_bytes()),
        ("Access-Control-Allow-Headers", ALLOW_HEADERS),
        ("Access-Control-Max-Age", PREFLIGHT_MAX_AGE),
    ];
    respond(cx, state, to, Status::NO_CONTENT, &headers, b"")
}

/// 401 with the Bearer challenge for what the request carried (RFC 6750 §3) and a one-line
/// reason that says nothing about the token.
fn answer_unauthorized(credential: Credential, to: ReplyTo, cx: &mut Cx<'_>, state: &LoopCtx) -> Answered {
    let reason = credential.reason();
    let mut text = String::with_capacity(reason.len() + 1);
    text.push_str(reason);
    text.push('\n');
    let headers: [(&str, &[u8]); 2] =
        [("Content-Type", b"text/plain; charset=utf-8"), ("WWW-Authenticate", credential.challenge())];
    respond(cx, state, to, Status::UNAUTHORIZED, &headers, text.as_bytes())
}
