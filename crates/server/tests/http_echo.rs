//! End-to-end tests of `http-echo` through the real reactor: a server on `127.0.0.1:0`, raw
//! clients writing bytes and reading responses with timeouts. Each test is named after the rule
//! it checks (RFC 9112 unless said otherwise) and quotes it.

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::time::{Duration, Instant};

mod common;
use common::spawn_http_echo;

use talkback_harness::vectors::{
    RFC9112_ABSOLUTE_FORM, RFC9112_ASTERISK_FORM, RFC9112_CHUNKED_POST, RFC9112_ORIGIN_FORM,
};
use talkback_harness::{Client, Response};
use talkback_server::Options;

/// What `GET`/`HEAD` answer.
const HELLO: &[u8] = b"Hello from talkback\n";
const GET: &[u8] = b"GET / HTTP/1.1\r\nHost: a\r\n\r\n";

fn post(path: &str, body: &[u8]) -> Vec<u8> {
    let mut bytes = format!("POST {path} HTTP/1.1\r\nHost: a\r\nContent-Length: {}\r\n\r\n", body.len()).into_bytes();
    bytes.extend_from_slice(body);
    bytes
}

/// A 200 with the GET text, on a connection that stays open.
fn assert_hello(response: &Response) {
    assert_eq!((response.status, response.body.as_slice()), (200, HELLO), "{response:?}");
    assert_eq!(response.header("content-type"), Some("text/plain"));
    assert_eq!(response.header("content-length"), Some("20"));
    assert!(!response.closes(), "{response:?}");
}

// ---------------------------------------------------------------------------------------------
// Persistence (RFC 9112 §9.3, §9.6)
// ---------------------------------------------------------------------------------------------

/// RFC 9112 §9.3: "If the received protocol is HTTP/1.1 (or later), the connection will persist
/// after the current response" unless `close` was sent.
#[test]
fn rfc9112_9_3_http11_keeps_alive_by_default() {
    let server = spawn_http_echo(|_| {});
    let mut client = server.client();
    for i in 0..5 {
        assert_hello(&client.request(GET));
        let echoed = client.request(&post("/", format!("request {i}").as_bytes()));
        assert_eq!((echoed.status, echoed.text()), (200, format!("request {i}").as_str()));
        assert!(!echoed.closes());
    }
    assert!(client.is_open_after(Duration::from_millis(100)), "the connection must persist");
}

/// RFC 9112 §9.3: "If the received protocol is HTTP/1.0, the "keep-alive" connection option is
/// present [...] the connection will persist"; "Otherwise, the connection will close after the
/// current response."
#[test]
fn rfc9112_9_3_http10_closes_by_default() {
    let server = spawn_http_echo(|_| {});
    let mut client = server.client();
    let response = client.request(b"GET / HTTP/1.0\r\n\r\n");
    assert_eq!((response.status, response.body.as_slice()), (200, HELLO));
    assert!(response.closes(), "an HTTP/1.0 response that closes says so: {response:?}");
    assert_eq!(client.expect_close(), b"", "nothing after the response, then EOF");
}

/// RFC 9112 §9.3 and Appendix C.2.2: an HTTP/1.0 client that sends `Connection: keep-alive` keeps
/// the connection, and must be told so with `Connection: keep-alive` in the response.
#[test]
fn rfc9112_9_3_http10_keep_alive_persists_and_is_acknowledged() {
    let server = spawn_http_echo(|_| {});
    let mut client = server.client();
    for _ in 0..3 {
        let response = client.request(b"GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n");
        assert_eq!((response.status, response.body.as_slice()), (200, HELLO));
        assert_eq!(response.header("connection"), Some("keep-alive"), "{response:?}");
    }
    let echoed = client.request(b"POST / HTTP/1.0\r\nConnection: keep-alive\r\nContent-Length: 3\r\n\r\nabc");
    assert_eq!((echoed.status, echoed.text(), echoed.header("connection")), (200, "abc", Some("keep-alive")));
    assert!(client.is_open_after(Duration::from_millis(100)));
}

/// RFC 9112 §9.6: "A server that receives a "close" connection option MUST initiate closure of
/// the connection after it sends the final response to the request that contained the "close"
/// connection option. The server SHOULD send a "close" connection option in its final response."
#[test]
fn rfc9112_9_6_connection_close_is_answered_then_closed() {
    let server = spawn_http_echo(|_| {});
    let mut client = server.client();
    assert_hello(&client.request(GET));
    let response = client.request(b"GET / HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n");
    assert_eq!((response.status, response.body.as_slice()), (200, HELLO));
    assert_eq!(response.header("connection"), Some("close"));
    assert_eq!(client.expect_close(), b"");
}

/// RFC 9110 §7.6.1: `Connection` is a list of case-insensitive options; `close` counts wherever
/// it appears in it.
#[test]
fn rfc9110_7_6_1_close_is_found_in_a_connection_list() {
    let server = spawn_http_echo(|_| {});
    let mut client = server.client();
    let response = client.request(b"GET / HTTP/1.1\r\nHost: a\r\nConnection: x-custom, CLOSE\r\n\r\n");
    assert_eq!((response.status, response.closes()), (200, true), "{response:?}");
    assert_eq!(client.expect_close(), b"");
}

/// RFC 9112 §9.6: "A server that receives a "close" connection option [...] MUST NOT process
/// any further requests received on that connection" — the pipelined request after it is
/// ignored.
#[test]
fn rfc9112_9_6_requests_after_close_are_not_processed() {
    let server = spawn_http_echo(|_| {});
    let mut client = server.client();
    client.send(b"GET / HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\nPOST / HTTP/1.1\r\nHost: a\r\nContent-Length: 1\r\n\r\nx");
    let response = client.read_response();
    assert_eq!((response.status, response.closes()), (200, true));
    assert_eq!(client.expect_close(), b"", "the second request must not be answered");
}

// ---------------------------------------------------------------------------------------------
// Pipelining, HEAD, 100-continue, chunked bodies
// ---------------------------------------------------------------------------------------------

/// RFC 9112 §9.3.2: "A server MAY process a sequence of pipelined requests in parallel if they
/// all have safe methods, but it MUST send the corresponding responses in the same order that
/// the requests were received."
#[test]
fn rfc9112_9_3_2_pipelined_requests_are_answered_in_order() {
    let server = spawn_http_echo(|_| {});
    let mut client = server.client();
    let mut batch = Vec::new();
    let mut expected = Vec::new();
    for i in 0..16 {
        match i % 4 {
            0 | 2 => {
                batch.extend_from_slice(format!("GET /{i} HTTP/1.1\r\nHost: a\r\n\r\n").as_bytes());
                expected.push(HELLO.to_vec());
            }
            1 => {
                let body = format!("body of request {i}: {}", "x".repeat(i * 100));
                batch.extend_from_slice(&post(&format!("/{i}"), body.as_bytes()));
                expected.push(body.into_bytes());
            }
            _ => {
                // PUT with a chunked body: de-chunked and echoed with a Content-Length.
                let request = format!(
                    "PUT /{i} HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nput\r\n2\r\n{i:02}\r\n0\r\n\r\n"
                );
                batch.extend_from_slice(request.as_bytes());
                expected.push(format!("put{i:02}").into_bytes());
            }
        }
    }
    client.send(&batch);
    for (i, body) in expected.iter().enumerate() {
        let response = client.read_response();
        assert_eq!(response.status, 200, "response {i}");
        assert_eq!(response.text(), String::from_utf8_lossy(body), "response {i} out of order or wrong");
    }
    assert!(client.is_open_after(Duration::from_millis(100)), "no extra bytes, still open");
}

/// RFC 9110 §9.3.2: "The HEAD method is identical to GET except that the server MUST NOT send
/// content in the response"; "the server SHOULD send the same header fields". A body would
/// corrupt the framing of the next pipelined response, so the GET after it must parse.
#[test]
fn rfc9110_9_3_2_head_has_length_but_no_body() {
    let server = spawn_http_echo(|_| {});
    let mut client = server.client();
    client.send(b"HEAD / HTTP/1.1\r\nHost: a\r\n\r\nGET / HTTP/1.1\r\nHost: a\r\n\r\n");
    let head = client.read_response_to(true);
    assert_eq!(head.status, 200);
    assert_eq!(head.header("content-length"), Some("20"), "HEAD says the length GET would have");
    assert_eq!(head.header("content-type"), Some("text/plain"));
    assert!(head.body.is_empty());
    // Had the server sent a body after the HEAD head, this would read it as a status line.
    assert_hello(&client.read_response());
}

/// RFC 9110 §10.1.1: "A server that receives a 100-continue expectation in an HTTP/1.1 request
/// [...] MAY [...] send an immediate 100 (Continue) response" before the content arrives; the
/// client then sends the body and gets the final response.
#[test]
fn rfc9110_10_1_1_100_continue_arrives_before_the_body_is_sent() {
    let server = spawn_http_echo(|_| {});
    let mut client = server.client();
    client.send(b"POST /upload HTTP/1.1\r\nHost: a\r\nExpect: 100-continue\r\nContent-Length: 11\r\n\r\n");
    let interim = client.read_until(b"\r\n\r\n");
    assert_eq!(interim, b"HTTP/1.1 100 Continue\r\n\r\n");
    // Nothing more until the body is sent: the final response must wait for it.
    assert!(client.is_open_after(Duration::from_millis(100)));
    assert_eq!(client.take_buffered(), b"", "a response arrived before the body was sent");
    client.send(b"hello world");
    let response = client.read_response();
    assert_eq!((response.status, response.text()), (200, "hello world"));
    assert!(!response.closes());
}

/// RFC 9110 §10.1.1: "A server MAY omit sending a 100 (Continue) response if it has already
/// received some or all of the content" — and a request with no content (Content-Length: 0) has
/// nothing to wait for: the final response is the only one.
#[test]
fn rfc9110_10_1_1_no_100_continue_without_content() {
    let server = spawn_http_echo(|_| {});
    let mut client = server.client();
    let response = client.request(b"POST / HTTP/1.1\r\nHost: a\r\nExpect: 100-continue\r\nContent-Length: 0\r\n\r\n");
    assert_eq!((response.status, response.body.len()), (200, 0), "{response:?}");
    assert!(client.is_open_after(Duration::from_millis(100)), "no stray 100 Continue after the answer");
}

/// RFC 9110 §10.1.1: "A server that responds with a final status code before reading the entire
/// request content SHOULD indicate whether it intends to close the connection" — a refused
/// method with an announced body gets 405 without a 100, then the close.
#[test]
fn rfc9110_10_1_1_refused_request_gets_final_status_instead_of_100() {
    let server = spawn_http_echo(|_| {});
    let mut client = server.client();
    client.send(b"DELETE /x HTTP/1.1\r\nHost: a\r\nExpect: 100-continue\r\nContent-Length: 5\r\n\r\n");
    let response = client.read_response();
    assert_eq!(response.status, 405, "{response:?}");
    assert_eq!(response.header("allow"), Some("GET, HEAD, POST, PUT, OPTIONS"));
    assert!(response.closes());
    assert_eq!(client.expect_close(), b"");
}

/// RFC 9110 §10.1.1: "A server that receives a 100-continue expectation in an HTTP/1.0 request
/// MUST ignore that expectation" — the only response is the final one.
#[test]
fn rfc9110_10_1_1_http10_expectation_is_ignored() {
    let server = spawn_http_echo(|_| {});
    let mut client = server.client();
    client.send(b"POST / HTTP/1.0\r\nExpect: 100-continue\r\nContent-Length: 2\r\n\r\nhi");
    let response = client.read_response();
    assert_eq!((response.status, response.text()), (200, "hi"), "no 100 Continue to HTTP/1.0");
    assert_eq!(client.expect_close(), b"");
}

/// RFC 9110 §15.5.6: "The origin server MUST generate an Allow header field in a 405 response
/// containing a list of the target resource's currently supported methods."
#[test]
fn rfc9110_15_5_6_other_methods_get_405_with_allow() {
    let server = spawn_http_echo(|_| {});
    let mut client = server.client();
    let response = client.request(b"DELETE / HTTP/1.1\r\nHost: a\r\n\r\n");
    assert_eq!(response.status, 405, "{response:?}");
    assert_eq!(response.header("allow"), Some("GET, HEAD, POST, PUT, OPTIONS"));
    // A 405 to a request without content does not cost the connection.
    assert_hello(&client.request(GET));
}

/// RFC 9112 §7.1: "The chunked transfer coding wraps content in order to transfer it as a series
/// of chunks" — the spec-shaped body (with a chunk extension, §7.1.1) arriving one byte per
/// segment is reassembled and echoed.
#[test]
fn rfc9112_7_1_chunked_body_trickled_byte_by_byte_is_echoed() {
    let server = spawn_http_echo(|_| {});
    let mut client = server.client();
    client.send_slowly(RFC9112_CHUNKED_POST, Duration::from_millis(2));
    let response = client.read_response();
    assert_eq!((response.status, response.text()), (200, "Wikipedia"));
    assert_eq!(response.header("content-length"), Some("9"));
    assert_hello(&client.request(GET));
}

/// RFC 9112 §7.1.2 and RFC 9110 §6.5.1: a permitted trailer is read and dropped — "A recipient
/// MUST NOT merge a trailer field into a header section" — so the echo's `Content-Type` is the
/// head's, and the trailer appears nowhere in the answer.
#[test]
fn rfc9110_6_5_1_a_permitted_trailer_is_dropped_not_merged() {
    let server = spawn_http_echo(|_| {});
    let mut client = server.client();
    let request = b"POST / HTTP/1.1\r\nHost: a\r\nContent-Type: text/x-test\r\nTransfer-Encoding: chunked\r\n\r\n\
                    2\r\nhi\r\n0\r\nX-Checksum: 42\r\n\r\n";
    let response = client.request(request);
    assert_eq!((response.status, response.text()), (200, "hi"), "{response:?}");
    assert_eq!(response.header("content-type"), Some("text/x-test"));
    assert_eq!(response.header("x-checksum"), None);
    assert_hello(&client.request(GET));
}

/// RFC 9110 §6.5.1: a field that frames, routes, authenticates or types the content cannot be
/// a trailer ("A sender MUST NOT generate" one). A request with one is refused with 400 and the
/// connection closed, before anything is echoed — whatever the field would have changed.
#[test]
fn rfc9110_6_5_1_a_prohibited_trailer_is_refused_with_400_and_close() {
    let server = spawn_http_echo(|_| {});
    for trailer in ["Content-Type: text/html", "Content-Length: 99", "Host: elsewhere", "Authorization: Basic eDp5"] {
        let mut client = server.client();
        let request = format!(
            "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nhi\r\n0\r\n{trailer}\r\n\r\n{}",
            String::from_utf8_lossy(GET)
        );
        let response = client.request(request.as_bytes());
        assert_eq!((response.status, response.closes()), (400, true), "{trailer}: {response:?}");
        assert!(response.text().contains("trailer"), "{trailer}: {response:?}");
        assert_eq!(client.expect_close(), b"", "{trailer}: the GET behind it is not answered");
    }
}

/// RFC 9112 §2.2: "a server that is expecting to receive and parse a request-line SHOULD ignore
/// at least one empty line (CRLF) received prior to the request-line" — a stray CRLF after a
/// body (some old clients send one) is not an error.
#[test]
fn rfc9112_2_2_empty_lines_before_a_request_line_are_ignored() {
    let server = spawn_http_echo(|_| {});
    let mut client = server.client();
    let mut bytes = post("/", b"abc");
    bytes.extend_from_slice(b"\r\n\r\n");
    bytes.extend_from_slice(GET);
    client.send(&bytes);
    assert_eq!(client.read_response().text(), "abc");
    assert_hello(&client.read_response());
}

/// RFC 9112 §6.3 item 6: a request with Content-Length has exactly that many bytes of content,
/// whatever the method. A GET's body that looks like a request must not be answered as one
/// (the shape of a request-smuggling attempt).
#[test]
fn rfc9112_6_3_content_length_frames_a_get_body() {
    let server = spawn_http_echo(|_| {});
    let mut client = server.client();
    let smuggled = b"GET /smuggled HTTP/1.1\r\nHost: a\r\n\r\n";
    let mut bytes = format!("GET / HTTP/1.1\r\nHost: a\r\nContent-Length: {}\r\n\r\n", smuggled.len()).into_bytes();
    bytes.extend_from_slice(smuggled);
    bytes.extend_from_slice(&post("/", b"after"));
    client.send(&bytes);
    assert_hello(&client.read_response());
    let next = client.read_response();
    assert_eq!((next.status, next.text()), (200, "after"), "the GET body was parsed as a request");
    assert!(client.is_open_after(Duration::from_millis(100)));
    assert_eq!(client.take_buffered(), b"", "a third response: the body was answered");
}

/// RFC 9112 §3.2.2: "a server MUST accept the absolute-form in requests" — the spec's example.
#[test]
fn rfc9112_3_2_2_absolute_form_example_is_answered() {
    let server = spawn_http_echo(|_| {});
    assert_hello(&server.client().request(RFC9112_ABSOLUTE_FORM));
}

/// RFC 9112 §3.2.1: the origin-form example request is answered (and the vector with it).
#[test]
fn rfc9112_3_2_1_origin_form_example_is_answered() {
    let server = spawn_http_echo(|_| {});
    assert_hello(&server.client().request(RFC9112_ORIGIN_FORM));
}

// ---------------------------------------------------------------------------------------------
// Malformed requests: the status, `Connection: close`, then the close
// ---------------------------------------------------------------------------------------------

/// Small limits so that each limit case is a few hundred bytes.
fn small_limits(options: &mut Options) {
    options.http.max_request_line = 64;
    options.http.max_head = 512;
    options.http.max_headers = 8;
    options.http.max_body = 1024;
}

fn head_with(fields: &str) -> Vec<u8> {
    format!("GET / HTTP/1.1\r\nHost: a\r\n{fields}\r\n").into_bytes()
}

/// `(name, rule, request bytes, status)`: every class of malformed request and what it earns.
fn malformed_cases() -> Vec<(&'static str, &'static str, Vec<u8>, u16)> {
    let chunked = |body: &str| format!("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n{body}");
    let many_fields: String = (0..9).map(|i| format!("X-F{i}: {i}\r\n")).collect();
    vec![
        (
            "Transfer-Encoding and Content-Length",
            "RFC 9112 §6.1: a server MAY reject a request that contains both [...] the connection MUST be closed",
            b"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\nContent-Length: 5\r\n\r\n0\r\n\r\n".to_vec(),
            400,
        ),
        (
            "invalid Content-Length",
            "RFC 9112 §6.3 item 5: an invalid Content-Length [...] the server MUST respond with 400",
            b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5x\r\n\r\nhello".to_vec(),
            400,
        ),
        (
            "differing duplicate Content-Length",
            "RFC 9112 §6.3 item 5: multiple Content-Length field lines with differing values",
            b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\nhello!".to_vec(),
            400,
        ),
        (
            "Transfer-Encoding not ending in chunked",
            "RFC 9112 §6.3 item 4: chunked is not the final encoding [...] MUST respond with 400",
            chunked("").replace("chunked", "chunked, gzip").into_bytes(),
            400,
        ),
        (
            "unknown transfer coding",
            "RFC 9112 §6.1: a transfer coding it does not understand SHOULD respond with 501",
            chunked("0\r\n\r\n").replace("chunked", "snappy, chunked").into_bytes(),
            501,
        ),
        (
            "obs-fold",
            "RFC 9112 §5.2: a server that receives an obs-fold [...] MUST either reject the message [with] 400",
            head_with("X-A: 1\r\n  continued\r\n"),
            400,
        ),
        (
            "whitespace before the colon",
            "RFC 9112 §5.1: a server MUST reject [...] whitespace between a field name and colon with 400",
            head_with("X-A : 1\r\n"),
            400,
        ),
        (
            "HTTP/2.0 on the HTTP/1 wire",
            "RFC 9110 §15.6.6: 505 (HTTP Version Not Supported)",
            b"GET / HTTP/2.0\r\nHost: a\r\n\r\n".to_vec(),
            505,
        ),
        (
            "request-line over the limit",
            "RFC 9112 §3: a server that receives a request-target longer than it wishes to parse MUST respond with 414",
            format!("GET /{} HTTP/1.1\r\nHost: a\r\n\r\n", "a".repeat(100)).into_bytes(),
            414,
        ),
        (
            "head over the limit",
            "RFC 6585 §5: 431 Request Header Fields Too Large",
            head_with(&format!("X-Big: {}\r\n", "b".repeat(600))),
            431,
        ),
        ("too many header fields", "RFC 6585 §5: 431 Request Header Fields Too Large", head_with(&many_fields), 431),
        (
            "declared body over the limit (head only)",
            "RFC 9110 §15.5.14: 413 Content Too Large, sent before any body is read",
            b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 1025\r\n\r\n".to_vec(),
            413,
        ),
        (
            "chunks over the body limit",
            "RFC 9110 §15.5.14: 413 Content Too Large",
            chunked(&format!("401\r\n{}\r\n0\r\n\r\n", "c".repeat(0x401))).into_bytes(),
            413,
        ),
        (
            "bare LF in a chunk line",
            "RFC 9112 §7.1: chunk = chunk-size [ chunk-ext ] CRLF (no bare LF is accepted here)",
            chunked("5\nhello\r\n0\r\n\r\n").into_bytes(),
            400,
        ),
        (
            "chunk-size not hexadecimal",
            "RFC 9112 §7.1: chunk-size = 1*HEXDIG",
            chunked("zz\r\nhello\r\n0\r\n\r\n").into_bytes(),
            400,
        ),
        (
            "bare LF in the head",
            "RFC 9112 §2.2: we do not take the MAY accept a bare LF option",
            b"GET / HTTP/1.1\nHost: a\r\n\r\n".to_vec(),
            400,
        ),
        (
            "HTTP/1.1 without Host",
            "RFC 9112 §3.2: a server MUST respond with 400 to any HTTP/1.1 request message that lacks a Host",
            b"GET / HTTP/1.1\r\nX-A: 1\r\n\r\n".to_vec(),
            400,
        ),
        (
            "two Host fields",
            "RFC 9112 §3.2: [...] or that contains more than one Host header field line",
            head_with("Host: b\r\n"),
            400,
        ),
        (
            "asterisk-form with GET",
            "RFC 9112 §3.2.4: the asterisk-form is only used for a server-wide OPTIONS request",
            b"GET * HTTP/1.1\r\nHost: a\r\n\r\n".to_vec(),
            400,
        ),
        (
            "control character in a field value",
            "RFC 9110 §5.5: a recipient [...] CR, LF, NUL [or other CTLs] MUST either reject the message",
            head_with("X-A: a\x01b\r\n"),
            400,
        ),
        (
            "Content-Length with a sign",
            "RFC 9110 §8.6: Content-Length = 1*DIGIT",
            b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: +2\r\n\r\nhi".to_vec(),
            400,
        ),
        (
            "an expectation other than 100-continue",
            "RFC 9110 §10.1.1: a server that receives an Expect field value containing a member other than \
             100-continue MAY respond with a 417 (Expectation Failed)",
            b"POST / HTTP/1.1\r\nHost: a\r\nExpect: teapot\r\nContent-Length: 2\r\n\r\nhi".to_vec(),
            417,
        ),
        (
            "Transfer-Encoding in HTTP/1.0",
            "RFC 9112 §6.1: [...] MUST treat the message as if the framing is faulty",
            b"POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n".to_vec(),
            400,
        ),
    ]
}

/// Every malformed-request class gets exactly its status with `Connection: close`, then the
/// server closes (RFC 9112 §6.3: "the server MUST respond with a 400 (Bad Request) status code
/// and then close the connection"; the same for every framing or limit error here). Failures
/// are collected so one run lists every case that is wrong.
#[test]
fn rfc9112_malformed_requests_get_their_status_then_close() {
    let server = spawn_http_echo(small_limits);
    // A sanity check that the small limits still admit an ordinary request.
    assert_hello(&server.client().request(GET));
    let mut failures = Vec::new();
    for (name, rule, bytes, status) in malformed_cases() {
        let outcome = catch_unwind(AssertUnwindSafe(|| {
            let mut client = server.client();
            client.send(&bytes);
            let response = client.read_response();
            assert_eq!(response.status, status, "{response:?}");
            assert_eq!(response.header("connection"), Some("close"), "{response:?}");
            assert_eq!(client.expect_close(), b"", "bytes after the error response");
        }));
        if let Err(panic) = outcome {
            let why = panic.downcast_ref::<String>().cloned().unwrap_or_default();
            failures.push(format!("{name} ({rule}): {why}"));
        }
    }
    assert!(failures.is_empty(), "{} case(s) failed:\n{}", failures.len(), failures.join("\n"));
}

/// RFC 9110 §15.5.14 and README, "Limits" (413 *before* reading the body): a client that announces a
/// too-large body but has not sent a byte of it gets the 413 at once; it does not have to send
/// the body first.
#[test]
fn rfc9110_15_5_14_413_is_sent_before_the_body() {
    let server = spawn_http_echo(small_limits);
    let mut client = server.client();
    client.send(b"PUT / HTTP/1.1\r\nHost: a\r\nContent-Length: 1000000\r\n\r\n");
    let response = client.read_response();
    assert_eq!((response.status, response.closes()), (413, true), "{response:?}");
    assert_eq!(client.expect_close(), b"");
}

/// RFC 9112 §3: a request line of exactly the limit (CRLF included) is accepted; one byte more
/// is refused with 414. Guards an off-by-one in either direction.
#[test]
fn rfc9112_3_request_line_limit_is_exact() {
    let server = spawn_http_echo(small_limits);
    // "GET /" + path + " HTTP/1.1\r\n" = 5 + n + 11 bytes.
    let at_limit = format!("GET /{} HTTP/1.1\r\nHost: a\r\n\r\n", "p".repeat(64 - 16));
    assert_hello(&server.client().request(at_limit.as_bytes()));
    let over = format!("GET /{} HTTP/1.1\r\nHost: a\r\n\r\n", "p".repeat(64 - 15));
    let mut client = server.client();
    assert_eq!(client.request(over.as_bytes()).status, 414);
    assert_eq!(client.expect_close(), b"");
}

/// RFC 9112 §3.2.4: the asterisk-form example (OPTIONS *) is well-formed, and asks about the
/// server as a whole (RFC 9110 §9.3.7): 200 with every method http-echo takes.
#[test]
fn rfc9112_3_2_4_options_asterisk_is_well_formed() {
    let server = spawn_http_echo(|_| {});
    let mut client = server.client();
    let response = client.request(RFC9112_ASTERISK_FORM);
    assert_eq!(response.status, 200, "{response:?}");
    assert_eq!(response.header("allow"), Some("GET, HEAD, POST, PUT, OPTIONS"));
}

// ---------------------------------------------------------------------------------------------
// Connections do not disturb each other; timeouts; limits on connections; half-close
// ---------------------------------------------------------------------------------------------

/// Isolation: a client sending garbage is answered 400 and closed; another client on the same
/// loop, in the middle of its own request at that moment, is not disturbed.
#[test]
fn garbage_from_one_client_does_not_disturb_another() {
    let server = spawn_http_echo(|options| options.threads = 1);
    let mut good = server.client();
    assert_hello(&good.request(GET));
    good.send(b"POST / HTTP/1.1\r\nHost: a\r\nContent-Len");
    for garbage in [
        &b"\x00\x01\x02 garbage\r\n\r\n"[..],
        b"GET /\x7f HTTP/1.1\r\n\r\n",
        b"HELLO\r\n\r\n",
        b"GET / HTTP/1.1\r\n: x\r\n\r\n",
    ] {
        let mut bad = server.client();
        bad.send(garbage);
        let refused = bad.read_response();
        assert_eq!((refused.status, refused.closes()), (400, true), "{garbage:?} -> {refused:?}");
        assert_eq!(bad.expect_close(), b"");
    }
    good.send(b"gth: 4\r\n\r\nfine");
    let response = good.read_response();
    assert_eq!((response.status, response.text()), (200, "fine"));
    assert_hello(&good.request(GET));
}

/// README, "Limits" (slow-loris defence) and RFC 9110 §15.5.9 (408 Request Timeout: "the server did not
/// receive a complete request message within the time that it was prepared to wait"): half a
/// head, then silence, earns a 408 with `Connection: close` after `head_timeout`.
#[test]
fn rfc9110_15_5_9_half_a_head_gets_408_then_close() {
    let server = spawn_http_echo(|options| options.head_timeout = Duration::from_secs(1));
    let mut client = server.client();
    let started = Instant::now();
    client.send(b"GET / HTTP/1.1\r\nHost: a\r\n");
    let response = client.read_response();
    let waited = started.elapsed();
    assert_eq!((response.status, response.closes()), (408, true), "{response:?}");
    assert!(waited >= Duration::from_millis(900) && waited < Duration::from_secs(3), "408 after {waited:?}");
    assert_eq!(client.expect_close(), b"");
}

/// RFC 9112 §9.8: "A server SHOULD sustain persistent connections" but may close idle ones; the
/// close of an idle connection is silent — no 408 to a client that has not started a request,
/// since RFC 9112 §9.5 warns a client may be sending one at that moment.
#[test]
fn rfc9112_9_5_idle_keep_alive_connection_is_closed_silently() {
    let server = spawn_http_echo(|options| options.keepalive_timeout = Duration::from_secs(1));
    let mut client = server.client();
    assert_hello(&client.request(GET));
    let started = Instant::now();
    assert_eq!(client.expect_close(), b"", "an idle close sends no bytes");
    let waited = started.elapsed();
    assert!(waited >= Duration::from_millis(900) && waited < Duration::from_secs(3), "closed after {waited:?}");
}

/// The head timeout bounds the whole head, not each byte, yet a slow but complete request within
/// it is served: one byte every 5 ms.
#[test]
fn slow_request_within_the_head_timeout_is_answered() {
    let server = spawn_http_echo(|options| options.head_timeout = Duration::from_secs(2));
    let mut client = server.client();
    client.send_slowly(b"GET /slowly HTTP/1.1\r\nHost: a\r\n\r\n", Duration::from_millis(5));
    assert_hello(&client.read_response());
}

/// README, "Limits" ("connections: new ones refused without disturbing the others"): with
/// `max_connections = 4`, a 5th connection is closed without a byte while the four go on being
/// served; when one of them leaves, a new one is served again.
#[test]
fn max_connections_refuses_the_extra_without_disturbing_the_others() {
    let server = spawn_http_echo(|options| {
        options.threads = 1;
        options.max_connections = 4;
    });
    let mut four: Vec<Client> = (0..4).map(|_| server.client()).collect();
    for client in &mut four {
        assert_hello(&client.request(GET));
    }
    let mut fifth = server.client();
    assert_eq!(fifth.expect_close(), b"", "the 5th connection is refused");
    for client in &mut four {
        assert_hello(&client.request(GET));
    }
    drop(four.pop());
    // The freed slot is reusable once the server has seen the close.
    let deadline = Instant::now() + Duration::from_secs(3);
    loop {
        let mut again = server.client();
        again.set_timeout(Duration::from_millis(500));
        let served = catch_unwind(AssertUnwindSafe(|| again.request(GET))).is_ok_and(|r| r.status == 200);
        if served {
            break;
        }
        assert!(Instant::now() < deadline, "a slot freed by a client that left is never reused");
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// RFC 9112 §9.6: a client that half-closes after its request ("sends a FIN") still gets the
/// response; the server then closes its side too.
#[test]
fn rfc9112_9_6_half_closed_client_still_gets_its_response() {
    let server = spawn_http_echo(|_| {});
    let mut client = server.client();
    client.set_timeout(Duration::from_secs(2));
    client.send(&post("/", b"last words"));
    client.shutdown_write();
    let response = client.read_response();
    assert_eq!((response.status, response.text()), (200, "last words"));
    assert_eq!(client.expect_close(), b"");
}
