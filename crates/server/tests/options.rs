//! `OPTIONS` on every binary, end to end through the reactor on `127.0.0.1:0`
//! ([RFC 9110 §9.3.7](https://www.rfc-editor.org/rfc/rfc9110#section-9.3.7)): `OPTIONS *` asks
//! about the server as a whole, `OPTIONS /path` about one resource; each is answered 200 with
//! `Allow` listing the methods, `Content-Length: 0` ("A server MUST generate a Content-Length
//! field with a value of "0" if no content is to be sent in the response") and the connection
//! kept. A 405 on the same path carries the same `Allow` (RFC 9110 §15.5.6).

mod common;
use common::spawn;

use talkback_harness::vectors::RFC9112_ASTERISK_FORM;
use talkback_server::{HubRoutes, Service};

/// `OPTIONS target`.
fn options(target: &str) -> Vec<u8> {
    format!("OPTIONS {target} HTTP/1.1\r\nHost: test\r\n\r\n").into_bytes()
}

/// Every binary's server, with its binary's message limit.
const BINARIES: [(&str, Service, usize); 5] = [
    ("http-echo", Service::HttpEcho, 16 << 20),
    ("ws-echo", Service::WsEcho, 16 << 20),
    ("demo", Service::Hub(HubRoutes::ALL), 64 << 10),
    ("sse-echo", Service::Hub(HubRoutes::SSE), 64 << 10),
    ("longpoll-echo", Service::Hub(HubRoutes::LONGPOLL), 64 << 10),
];

/// `(binary, target, Allow)`: `None` where the binary has no such path (404).
#[rustfmt::skip]
const CASES: &[(&str, &str, Option<&str>)] = &[
    ("http-echo", "*", Some("GET, HEAD, POST, PUT, OPTIONS")),
    ("http-echo", "/", Some("GET, HEAD, POST, PUT, OPTIONS")),
    ("http-echo", "/any/path?q=1", Some("GET, HEAD, POST, PUT, OPTIONS")),
    ("ws-echo", "*", Some("GET, OPTIONS")),
    ("ws-echo", "/chat", Some("GET, OPTIONS")),
    ("demo", "*", Some("GET, HEAD, POST, OPTIONS")),
    ("demo", "/", Some("GET, HEAD, OPTIONS")),
    ("demo", "/stats", Some("GET, OPTIONS")),
    ("demo", "/ch/room", Some("POST, OPTIONS")),
    ("demo", "/ch/room/poll", Some("GET, HEAD, OPTIONS")),
    ("demo", "/ch/room/poll?after=abc", Some("GET, HEAD, OPTIONS")),
    ("demo", "/ch/room/longpoll", Some("GET, OPTIONS")),
    ("demo", "/ch/room/sse", Some("GET, OPTIONS")),
    ("demo", "/ch/room/ws", Some("GET, OPTIONS")),
    ("demo", "/metrics", Some("GET, HEAD, OPTIONS")),
    ("demo", "/nowhere", None),
    ("demo", "/ch/a.b", None),
    // HEAD: every hub binary serves GET /metrics (unless --metrics off).
    ("sse-echo", "*", Some("GET, HEAD, POST, OPTIONS")),
    ("sse-echo", "/metrics", Some("GET, HEAD, OPTIONS")),
    ("sse-echo", "/ch/room", Some("POST, OPTIONS")),
    ("sse-echo", "/ch/room/sse", Some("GET, OPTIONS")),
    ("sse-echo", "/ch/room/poll", None),
    ("sse-echo", "/", None),
    ("longpoll-echo", "*", Some("GET, HEAD, POST, OPTIONS")),
    ("longpoll-echo", "/ch/room", Some("POST, OPTIONS")),
    ("longpoll-echo", "/ch/room/poll", Some("GET, HEAD, OPTIONS")),
    ("longpoll-echo", "/ch/room/longpoll", Some("GET, OPTIONS")),
    ("longpoll-echo", "/ch/room/ws", None),
];

/// RFC 9110 §9.3.7, per binary and per path: 200, the path's `Allow`, `Content-Length: 0`, no
/// body, the connection kept (a second `OPTIONS` on it is answered the same).
#[test]
fn rfc9110_9_3_7_options_lists_the_methods_of_each_path_on_every_binary() {
    for (binary, service, max_message) in BINARIES {
        let server = spawn(service, max_message, |_| {});
        let mut client = server.client();
        for &(_, target, allow) in CASES.iter().filter(|case| case.0 == binary) {
            for _ in 0..2 {
                let response = client.request(&options(target));
                let what = format!("{binary}: OPTIONS {target}: {response:?}");
                let Some(allow) = allow else {
                    assert_eq!(response.status, 404, "{what}");
                    continue;
                };
                assert_eq!(response.status, 200, "{what}");
                assert_eq!(response.header("allow"), Some(allow), "{what}");
                assert_eq!(response.header("content-length"), Some("0"), "{what}");
                assert!(response.body.is_empty() && !response.closes(), "{what}");
            }
        }
    }
}

/// RFC 9112 §3.2.4's own asterisk-form example, on every binary: the server-wide methods.
#[test]
fn rfc9112_3_2_4_options_asterisk_example_is_answered_by_every_binary() {
    for (binary, service, max_message) in BINARIES {
        let server = spawn(service, max_message, |_| {});
        let response = server.client().request(RFC9112_ASTERISK_FORM);
        let allow = CASES.iter().find(|case| case.0 == binary && case.1 == "*").and_then(|case| case.2);
        assert_eq!((response.status, response.header("allow")), (200, allow), "{binary}: {response:?}");
    }
}

/// RFC 9110 §15.5.6: the `Allow` of a 405 is the same list `OPTIONS` gives, OPTIONS included.
#[test]
fn rfc9110_15_5_6_a_405_allows_what_options_lists() {
    let refused = [
        ("http-echo", "DELETE", "/x"),
        ("ws-echo", "POST", "/chat"),
        ("demo", "PUT", "/ch/room"),
        ("demo", "POST", "/ch/room/poll"),
        ("demo", "POST", "/stats"),
        ("sse-echo", "DELETE", "/ch/room/sse"),
        ("longpoll-echo", "HEAD", "/ch/room/longpoll"),
    ];
    for (binary, service, max_message) in BINARIES {
        let server = spawn(service, max_message, |_| {});
        for &(_, method, target) in refused.iter().filter(|r| r.0 == binary) {
            let mut client = server.client();
            let refusal = client.request(format!("{method} {target} HTTP/1.1\r\nHost: test\r\n\r\n").as_bytes());
            let listed = client.request(&options(target));
            assert_eq!(refusal.status, 405, "{binary}: {method} {target}: {refusal:?}");
            assert_eq!(refusal.header("allow"), listed.header("allow"), "{binary}: {method} {target}");
            assert!(listed.header("allow").is_some_and(|allow| allow.ends_with("OPTIONS")));
        }
    }
}
