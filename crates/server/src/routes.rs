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
//! | hub | `GET /ch/{c}/ws` | WebSocket subscriber and publisher |
//! | demo | `GET /` | the demo page |
//! | demo | `GET /stats?page=ID` | the page's counters (SSE) |
//! | every binary | `OPTIONS` a path it serves | 200 with `Allow`: that path's methods |
//! | every binary | `OPTIONS *` | 200 with `Allow`: every method the server answers |
//!
//! A method a path does not take gets 405 with the same `Allow` (RFC 9110 §15.5.6).

use talkback_http1::{Method, Request, Status};
use talkback_longpoll::ChannelQuery;
use talkback_reactor::Cx;

use crate::answer::{ReplyTo, respond};
use crate::held::Held;
use crate::longpoll::Polled;
use crate::page::StatsConn;
use crate::publish::Published;
use crate::sse::SseConn;
use crate::state::{HubRoutes, LoopCtx, Service};
use crate::stats::Answered;
use crate::websocket::WsConn;
use crate::{hub, longpoll, page, publish, sse, websocket};

/// The answer chosen for a request, decided from its head alone.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Route {
    /// http-echo: a short text.
    EchoText,
    /// http-echo: the body back.
    EchoBody,
    /// A WebSocket upgrade: echo (`None`) or a hub channel.
    WebSocket(Option<String>),
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
    /// `GET /stats?page=ID`: the demo page's counters as an SSE stream.
    Stats,
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
}

const NOT_FOUND: Route = Route::Error { status: Status::NOT_FOUND, allow: None, reason: "no such path" };

fn method_not_allowed(allow: &'static str) -> Route {
    Route::Error { status: Status::METHOD_NOT_ALLOWED, allow: Some(allow), reason: "method not allowed here" }
}

/// http-echo's methods, on every path.
const ECHO_METHODS: &str = "GET, HEAD, POST, PUT, OPTIONS";
/// ws-echo's methods, on every path.
const WS_ECHO_METHODS: &str = "GET, OPTIONS";

/// Chooses the route for a request head.
pub(crate) fn route(service: Service, request: &Request) -> Route {
    let method = &request.method;
    match service {
        Service::HttpEcho => match method {
            Method::Get | Method::Head => Route::EchoText,
            Method::Post | Method::Put => Route::EchoBody,
            Method::Options => Route::Options { allow: ECHO_METHODS },
            _ => method_not_allowed(ECHO_METHODS),
        },
        Service::WsEcho => match method {
            Method::Get => Route::WebSocket(None),
            Method::Options => Route::Options { allow: WS_ECHO_METHODS },
            _ => method_not_allowed(WS_ECHO_METHODS),
        },
        Service::Hub(routes) => hub_route(routes, request),
    }
}

/// What a path names on the hub, before its method is looked at.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum HubPath<'a> {
    /// `*`: the server as a whole (only `OPTIONS` can ask, RFC 9112 §3.2.4).
    Server,
    /// `/`: the demo page.
    Page,
    /// `/stats`: the page's counters.
    Stats,
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
    fn of(routes: HubRoutes, path: &'a str) -> Option<HubPath<'a>> {
        match path {
            "*" => return Some(HubPath::Server),
            "/" if routes.page => return Some(HubPath::Page),
            "/stats" if routes.page => return Some(HubPath::Stats),
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
    fn allow(self, routes: HubRoutes) -> &'static str {
        match self {
            // Every method some path of this server takes: POST always (publish), GET with any
            // reading route, HEAD with the poll or the page.
            HubPath::Server => match (routes.poll || routes.page, routes.longpoll || routes.sse || routes.ws) {
                (true, _) => "GET, HEAD, POST, OPTIONS",
                (false, true) => "GET, POST, OPTIONS",
                (false, false) => "POST, OPTIONS",
            },
            HubPath::Page | HubPath::Poll(_) => "GET, HEAD, OPTIONS",
            HubPath::Channel(_) => "POST, OPTIONS",
            HubPath::Stats | HubPath::LongPoll(_) | HubPath::Sse(_) | HubPath::Ws(_) => "GET, OPTIONS",
        }
    }
}

fn hub_route(routes: HubRoutes, request: &Request) -> Route {
    let method = &request.method;
    let Some(resource) = HubPath::of(routes, request.path()) else { return NOT_FOUND };
    let allow = resource.allow(routes);
    let get = matches!(method, Method::Get | Method::Head);
    match (resource, method) {
        (_, Method::Options) => return Route::Options { allow },
        (HubPath::Page, _) if get => return Route::Page,
        (HubPath::Stats, Method::Get) => return Route::Stats,
        (HubPath::Server | HubPath::Page | HubPath::Stats, _) => return method_not_allowed(allow),
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
        (HubPath::Channel(channel), Method::Post) => Route::Publish(channel.to_owned()),
        (HubPath::Poll(channel), _) if get => Route::Poll(channel.to_owned(), query),
        (HubPath::LongPoll(channel), Method::Get) => Route::LongPoll(channel.to_owned(), query),
        (HubPath::Sse(channel), Method::Get) => Route::Sse(channel.to_owned(), query),
        (HubPath::Ws(channel), Method::Get) => Route::WebSocket(Some(channel.to_owned())),
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
    WebSocket(Box<WsConn>),
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
    request: &Request,
    body: &[u8],
    requests: u64,
    cx: &mut Cx<'_>,
    state: &mut LoopCtx,
) -> Handled {
    let to = ReplyTo::of(request);
    let answered = match route {
        Route::EchoText => {
            respond(cx, state, to, Status::OK, &[("Content-Type", b"text/plain")], b"Hello from talkback\n")
        }
        Route::EchoBody => {
            let content_type = request.header("content-type").unwrap_or(b"application/octet-stream");
            respond(cx, state, to, Status::OK, &[("Content-Type", content_type)], body)
        }
        Route::WebSocket(channel) => {
            return match websocket::upgrade(request, channel.as_deref(), cx, state) {
                Ok(ws) => Handled::Switch(Switch::WebSocket(ws)),
                Err(refused) => Handled::Refused(refused),
            };
        }
        Route::Publish(channel) => match publish::publish(channel, body, to, requests, cx, state) {
            Published::Answered(answered) => answered,
            Published::Held(held) => return Handled::Switch(Switch::Held(held)),
        },
        Route::Poll(channel, query) => longpoll::answer_poll(channel, query, to, cx, state),
        Route::LongPoll(channel, query) => match longpoll::answer_longpoll(channel, query, to, requests, cx, state) {
            Polled::Answered(answered) => answered,
            Polled::Held(held) => return Handled::Switch(Switch::Held(held)),
        },
        Route::Sse(channel, query) => match sse::open(channel, query, request, cx, state) {
            Ok(sse) => return Handled::Switch(Switch::Sse(sse)),
            Err(refused) => refused,
        },
        Route::Options { allow } => respond(cx, state, to, Status::OK, &[("Allow", allow.as_bytes())], b""),
        Route::Page => page::answer(to, cx, state),
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
