//! `GET /talkback.js`, the browser client module, and `--transports`, which takes subscribe
//! routes away (the client's fallbacks are checked in real Chromium: tests/e2e/client.mjs).

use super::*;

use talkback_server::client_js::TALKBACK_JS;

fn head(target: &str) -> Vec<u8> {
    format!("HEAD {target} HTTP/1.1\r\nHost: t\r\n\r\n").into_bytes()
}

/// RFC 9239 §6: `text/javascript` is the type of JavaScript — and the only kind a browser
/// runs as a module script (HTML, "fetch a single module script": a JavaScript MIME type).
#[test]
fn talkback_js_is_served_as_a_javascript_module_by_every_hub_binary() {
    for (name, service) in
        [("demo", HubRoutes::ALL), ("sse-echo", HubRoutes::SSE), ("longpoll-echo", HubRoutes::LONGPOLL)]
    {
        let server = common::spawn(Service::Hub(service), 64 << 10, |_| {});
        let mut client = server.client();
        let response = client.request(&get("/talkback.js"));
        assert_eq!(response.status, 200, "{name}: {response:?}");
        assert_eq!(response.header("content-type"), Some("text/javascript; charset=utf-8"), "{name}");
        assert_eq!(response.header("cache-control"), Some("no-cache"), "{name}");
        assert_eq!(response.body, TALKBACK_JS, "{name}: the embedded module, byte for byte");
        let text = response.text();
        assert!(text.contains("export function subscribe(channel, options = {})"), "{name}");
        assert!(text.contains("export class Subscription extends EventTarget"), "{name}");
    }
}

/// RFC 9110 §9.3.2: HEAD is GET without the content.
#[test]
fn rfc9110_9_3_2_head_of_talkback_js_has_its_length_and_no_body() {
    let server = spawn_hub(|_| {});
    let mut client = server.client();
    let response = client.request(&head("/talkback.js"));
    assert_eq!(response.status, 200, "{response:?}");
    assert_eq!(response.header("content-length"), Some(TALKBACK_JS.len().to_string().as_str()));
    assert!(response.body.is_empty());
    let response = client.request(&post("/talkback.js", b""));
    assert_eq!((response.status, response.header("allow")), (405, Some("GET, HEAD, OPTIONS")), "{response:?}");
}

/// A page on another origin imports the module in CORS mode (HTML, "fetch a single module
/// script": mode "cors"), so with `--allow-origin` the answer carries the CORS fields.
#[test]
fn talkback_js_carries_cors_fields_for_a_listed_origin() {
    let server = spawn_hub(|o| o.allow_origins = vec!["http://app.example".into()]);
    let mut client = server.client();
    let request = b"GET /talkback.js HTTP/1.1\r\nHost: t\r\nOrigin: http://app.example\r\n\r\n";
    let response = client.request(request);
    assert_eq!(response.status, 200);
    assert_eq!(response.header("access-control-allow-origin"), Some("http://app.example"), "{response:?}");
}

/// `--transports` leaves routes out: what is not offered answers 404, as on a binary that
/// never had it — a WebSocket upgrade included, which a browser reports as a failed socket.
#[test]
fn transports_flag_leaves_the_other_subscribe_routes_out_with_404() {
    let server = spawn_hub(|o| {
        o.transports = talkback_server::options::Transports { websocket: false, sse: false, longpoll: true, poll: true }
    });
    let mut client = server.client();
    assert_eq!(client.request(&get("/ch/t/sse")).status, 404);
    let upgrade = b"GET /ch/t/ws HTTP/1.1\r\nHost: t\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
        Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n";
    assert_eq!(try_request(server.addr(), upgrade).map(|r| r.status), Some(404), "the upgrade is refused");
    assert_eq!(client.request(&get("/ch/t/poll")).status, 204, "the offered ones still answer");
    assert_eq!(publish(&mut client, "t", "still published"), 1, "publishing is not a transport");
    assert_eq!(client.request(&get("/talkback.js")).status, 200);
}
