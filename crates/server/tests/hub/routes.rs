//! Every route of the URL contract and every error answer (README, "The hub's URLs").

use super::*;

#[test]
fn publish_answers_the_new_id_counting_per_channel() {
    let server = spawn_hub(|_| {});
    let mut client = server.client();
    assert_eq!([1, 2, 3].map(|_| publish(&mut client, "ids-a", "x")), [1, 2, 3]);
    assert_eq!(publish(&mut client, "ids-b", "y"), 1, "ids are per channel");
    assert_eq!(publish(&mut client, "ids-a", "z"), 4);
    let name = "A".repeat(64);
    assert_eq!(publish(&mut client, &name, "longest name"), 1, "a 64-character name is valid");
}

/// Every refusal of the URL contract: (name, request, status, `Allow`).
#[test]
fn routes_refuse_unknown_paths_wrong_methods_and_bad_queries() {
    let long_name = format!("/ch/{}", "a".repeat(65));
    let cases: &[(&str, Vec<u8>, u16, Option<&str>)] = &[
        ("unknown path", get("/nowhere"), 404, None),
        ("no channel", get("/ch/"), 404, None),
        ("bad character in the name", get("/ch/a.b/poll"), 404, None),
        ("name over 64 characters", get(&format!("{long_name}/poll")), 404, None),
        ("unknown technique", get("/ch/x/stream"), 404, None),
        ("too deep", get("/ch/x/poll/more"), 404, None),
        ("GET the channel", get("/ch/x"), 405, Some("POST, OPTIONS")),
        (
            "PUT the channel",
            b"PUT /ch/x HTTP/1.1\r\nHost: t\r\nContent-Length: 0\r\n\r\n".to_vec(),
            405,
            Some("POST, OPTIONS"),
        ),
        ("DELETE the channel", b"DELETE /ch/x HTTP/1.1\r\nHost: t\r\n\r\n".to_vec(), 405, Some("POST, OPTIONS")),
        ("POST poll", post("/ch/x/poll", b""), 405, Some("GET, HEAD, OPTIONS")),
        ("POST longpoll", post("/ch/x/longpoll", b""), 405, Some("GET, OPTIONS")),
        ("POST sse", post("/ch/x/sse", b""), 405, Some("GET, OPTIONS")),
        ("POST ws", post("/ch/x/ws", b""), 405, Some("GET, OPTIONS")),
        ("HEAD longpoll", b"HEAD /ch/x/longpoll HTTP/1.1\r\nHost: t\r\n\r\n".to_vec(), 405, Some("GET, OPTIONS")),
        ("after not a number", get("/ch/x/poll?after=abc"), 400, None),
        ("after negative", get("/ch/x/poll?after=-1"), 400, None),
        ("after twice", get("/ch/x/poll?after=1&after=2"), 400, None),
        ("timeout not a number", get("/ch/x/longpoll?after=0&timeout=soon"), 400, None),
        ("lastEventId not a number", get("/ch/x/sse?lastEventId=x"), 400, None),
    ];
    let server = spawn_hub(|_| {});
    for (name, request, status, allow) in cases {
        let mut client = server.client();
        let response = client.request(request);
        assert_eq!(response.status, *status, "{name}: {response:?}");
        assert_eq!(response.header("allow"), *allow, "{name}: Allow");
    }
}

#[test]
fn a_refused_request_with_a_body_is_answered_then_closed() {
    let server = spawn_hub(|_| {});
    let mut client = server.client();
    client.send(b"PUT /ch/x HTTP/1.1\r\nHost: t\r\nContent-Length: 5\r\n\r\n");
    let response = client.read_response();
    assert_eq!((response.status, response.header("allow")), (405, Some("POST, OPTIONS")));
    client.expect_close();
}

#[test]
fn publish_rejects_a_body_that_is_not_utf8_with_400() {
    let server = spawn_hub(|_| {});
    let mut client = server.client();
    let response = client.request(&post("/ch/utf8", b"caf\xe9"));
    assert_eq!(response.status, 400, "{response:?}");
    assert_eq!(publish(&mut client, "utf8", "café"), 1, "the refused message took no id");
}

#[test]
fn publish_over_the_message_limit_is_413_before_the_body() {
    let server = spawn_hub(|_| {});
    let mut client = server.client();
    let exact = "m".repeat(64 << 10);
    assert_eq!(publish(&mut client, "big", &exact), 1, "exactly the limit is accepted");
    let mut client = server.client();
    client.send(format!("POST /ch/big HTTP/1.1\r\nHost: t\r\nContent-Length: {}\r\n\r\n", (64 << 10) + 1).as_bytes());
    let response = client.read_response();
    assert_eq!(response.status, 413, "{response:?}");
    client.expect_close();
    let poll = server.client().request(&get("/ch/big/poll?after=1"));
    assert_eq!(poll.status, 204, "the refused message was not published");
}

#[test]
fn publish_accepts_a_chunked_body_and_refuses_one_over_the_limit() {
    let server = spawn_hub(|_| {});
    let mut client = server.client();
    let chunked =
        b"POST /ch/chunk HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n2\r\nde\r\n0\r\n\r\n";
    let response = client.request(chunked);
    assert_eq!((response.status, response.text()), (200, "1"), "{response:?}");
    assert_eq!(batch_of(&client.request(&get("/ch/chunk/poll"))), [(1, "abcde".to_string())]);
    let mut client = server.client();
    let chunk = "x".repeat(16 << 10);
    client.send(b"POST /ch/chunk HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n");
    for _ in 0..5 {
        client.send(format!("{:x}\r\n{chunk}\r\n", chunk.len()).as_bytes());
    }
    let response = client.read_response();
    assert_eq!(response.status, 413, "80 KiB in chunks over a 64 KiB limit: {response:?}");
    assert_eq!(server.client().request(&get("/ch/chunk/poll?after=1")).status, 204, "nothing published");
}

/// RFC 9110 §6.5.1: a `Content-Length` (or any field that must not be a trailer) in the
/// trailer section of a chunked publish refuses it: 400, closed, and nothing published.
#[test]
fn rfc9110_6_5_1_a_publish_with_a_prohibited_trailer_is_refused_and_not_published() {
    let server = spawn_hub(|_| {});
    let mut client = server.client();
    client.send(b"POST /ch/trailer HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nhi\r\n0\r\nContent-Length: 2\r\n\r\n");
    let response = client.read_response();
    assert_eq!((response.status, response.closes()), (400, true), "{response:?}");
    client.expect_close();
    assert_eq!(server.client().request(&get("/ch/trailer/poll")).status, 204, "nothing published");
}

#[test]
fn publish_with_expect_100_continue_gets_100_then_200() {
    let server = spawn_hub(|_| {});
    let mut client = server.client();
    client.send(b"POST /ch/cont HTTP/1.1\r\nHost: t\r\nContent-Length: 5\r\nExpect: 100-continue\r\n\r\n");
    assert_eq!(client.read_until(b"\r\n\r\n"), b"HTTP/1.1 100 Continue\r\n\r\n");
    client.send(b"hello");
    let response = client.read_response();
    assert_eq!((response.status, response.text()), (200, "1"));
}

#[test]
fn trailing_slash_after_the_channel_is_an_unknown_path() {
    let server = spawn_hub(|_| {});
    assert_eq!(server.client().request(&get("/ch/slash/")).status, 404);
    assert_eq!(server.client().request(&post("/ch/slash/", b"m")).status, 404);
}
