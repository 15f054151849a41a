//! Who may publish (`--publish-token`), from which Origin a WebSocket may open and a page may
//! read (`--allow-origin`, CORS): every rule over real sockets.

use super::*;

const TOKEN: &str = "s3cret-T0ken";

fn guarded(opts: impl FnOnce(&mut talkback_server::Options)) -> talkback_harness::TestServer {
    spawn_hub(|options| {
        options.publish_token = Some(TOKEN.to_string());
        opts(options);
    })
}

fn post_with(target: &str, body: &str, extra: &str) -> Vec<u8> {
    format!("POST {target} HTTP/1.1\r\nHost: test\r\nContent-Length: {}\r\n{extra}\r\n{body}", body.len()).into_bytes()
}

fn get_with(target: &str, extra: &str) -> Vec<u8> {
    format!("GET {target} HTTP/1.1\r\nHost: test\r\n{extra}\r\n").into_bytes()
}

fn assert_nothing_published(server: &talkback_harness::TestServer, channel: &str) {
    let poll = server.client().request(&get(&format!("/ch/{channel}/poll")));
    assert_eq!(poll.status, 204, "nothing was published: {poll:?}");
}

#[test]
fn rfc6750_3_a_post_without_the_token_gets_401_and_a_bearer_challenge() {
    let server = guarded(|_| {});
    let response = server.client().request(&post("/ch/t1", b"hello"));
    assert_eq!(response.status, 401, "{response:?}");
    assert_eq!(response.header("www-authenticate"), Some(r#"Bearer realm="talkback""#));
    assert_eq!(response.header("content-type"), Some("text/plain; charset=utf-8"));
    assert_nothing_published(&server, "t1");
}

#[test]
fn rfc6750_3_1_a_wrong_token_is_invalid_token_and_the_answer_says_nothing_about_the_token() {
    let server = guarded(|_| {});
    for presented in ["s3cret-T0ke", "s3cret-T0ken2", "x"] {
        let response =
            server.client().request(&post_with("/ch/t2", "hi", &format!("Authorization: Bearer {presented}\r\n")));
        assert_eq!(response.status, 401, "{presented}: {response:?}");
        assert_eq!(response.header("www-authenticate"), Some(r#"Bearer realm="talkback", error="invalid_token""#));
        let whole = format!("{response:?}");
        assert!(!whole.contains(TOKEN) && !whole.contains("s3cret"), "nothing leaks: {whole}");
        assert!(response.body.len() < 80, "a short body");
    }
    assert_nothing_published(&server, "t2");
}

#[test]
fn rfc6750_3_1_a_malformed_authorization_is_invalid_request_with_a_short_body() {
    let server = guarded(|_| {});
    for header in
        ["Bearer", "Bearer two words", "Bearer a,b", "Bearer s3cret-T0ken\r\nAuthorization: Bearer s3cret-T0ken"]
    {
        let response = server.client().request(&post_with("/ch/t3", "hi", &format!("Authorization: {header}\r\n")));
        assert_eq!(response.status, 401, "{header:?}: {response:?}");
        assert_eq!(response.header("www-authenticate"), Some(r#"Bearer realm="talkback", error="invalid_request""#));
        assert!(response.body.len() < 80 && !response.text().contains(TOKEN));
    }
    let basic = server.client().request(&post_with("/ch/t3", "hi", "Authorization: Basic czNjcmV0\r\n"));
    assert_eq!(
        basic.header("www-authenticate"),
        Some(r#"Bearer realm="talkback""#),
        "another scheme: no Bearer credential"
    );
    assert_nothing_published(&server, "t3");
}

#[test]
fn rfc6750_2_1_a_post_with_the_token_publishes_and_reading_stays_open() {
    let server = guarded(|_| {});
    let mut client = server.client();
    let response = client.request(&post_with("/ch/t4", "hello", &format!("Authorization: Bearer {TOKEN}\r\n")));
    assert_eq!((response.status, response.text()), (200, "1"), "{response:?}");
    let poll = client.request(&get("/ch/t4/poll"));
    assert_eq!(batch_of(&poll), [(1, "hello".to_string())], "polling needs no token");
    let mut sse = Sse::open(server.addr(), "/ch/t4/sse?lastEventId=0", "");
    assert_eq!(sse.messages(1), [(1, "hello".to_string())], "nor does SSE");
}

#[test]
fn a_websocket_without_the_token_listens_but_its_text_gets_close_1008() {
    let server = guarded(|_| {});
    let mut ws = Ws::open(server.addr(), "/ch/t5/ws");
    let mut publisher = server.client();
    let authorized = format!("Authorization: Bearer {TOKEN}\r\n");
    assert_eq!(publisher.request(&post_with("/ch/t5", "posted", &authorized)).status, 200);
    assert_eq!(ws.next_text(), "posted", "subscribing stays open");
    ws.send_text("not allowed");
    match ws.next_event() {
        Event::Close(Some(frame)) => assert_eq!(frame.code, 1008, "RFC 6455 §7.4.1 policy violation: {frame:?}"),
        other => panic!("expected close 1008, got {other:?}"),
    }
    let poll = publisher.request(&get("/ch/t5/poll"));
    assert_eq!(batch_of(&poll), [(1, "posted".to_string())], "the socket's text was not published");
}

#[test]
fn a_websocket_whose_upgrade_carried_the_token_publishes() {
    let server = guarded(|_| {});
    let (mut by_query, _) = Ws::connect(server.addr(), &format!("/ch/t6/ws?token={TOKEN}"), &[], "").expect("101");
    by_query.send_text("by query");
    assert_eq!(by_query.next_text(), "by query");
    let header = format!("Authorization: Bearer {TOKEN}\r\n");
    let (mut by_header, _) = Ws::connect(server.addr(), "/ch/t6/ws", &[], &header).expect("101");
    by_header.send_text("by header");
    assert_eq!(by_header.next_text(), "by header");
    let poll = server.client().request(&get("/ch/t6/poll"));
    assert_eq!(batch_of(&poll), [(1, "by query".to_string()), (2, "by header".to_string())]);
}

#[test]
fn a_websocket_upgrade_with_a_wrong_or_malformed_token_is_refused_with_401() {
    let server = guarded(|_| {});
    for target in ["/ch/t7/ws?token=nope", "/ch/t7/ws?token=%zz"] {
        let refused = Ws::connect(server.addr(), target, &[], "").err().expect("refused before the upgrade");
        assert_eq!(refused.status, 401, "{target}: {refused:?}");
        assert!(refused.header("www-authenticate").is_some_and(|v| v.starts_with("Bearer ")));
    }
}

#[test]
fn without_the_token_flag_anyone_publishes_and_no_cors_field_is_sent() {
    let server = spawn_hub(|_| {});
    let origin = "Origin: https://elsewhere.example\r\n";
    let response = server.client().request(&post_with("/ch/open", "hi", origin));
    assert_eq!(response.status, 200);
    assert_eq!((response.header("access-control-allow-origin"), response.header("vary")), (None, None));
    let poll = server.client().request(&get_with("/ch/open/poll", origin));
    assert_eq!(poll.header("access-control-allow-origin"), None, "same-origin only for CORS");
    let (mut ws, _) =
        Ws::connect(server.addr(), "/ch/open/ws", &[], origin).expect("any Origin's WebSocket (today's behaviour)");
    ws.send_text("from anywhere");
    assert_eq!(ws.next_text(), "from anywhere");
}

// ─── Origins ────────────────────────────────────────────────────────────────────────────────

fn listing(origins: &[&str]) -> talkback_harness::TestServer {
    let origins: Vec<String> = origins.iter().map(|o| o.to_string()).collect();
    spawn_hub(move |options| options.allow_origins = origins)
}

#[test]
fn rfc6455_10_2_a_websocket_from_an_unlisted_origin_is_refused_with_403() {
    let server = listing(&["https://app.example"]);
    let refused = Ws::connect(server.addr(), "/ch/o1/ws", &[], "Origin: https://evil.example\r\n").err().expect("403");
    assert_eq!(refused.status, 403, "{refused:?}");
    assert!(refused.body.len() < 80);
    let malformed = Ws::connect(server.addr(), "/ch/o1/ws", &[], "Origin: evil.example\r\n").err().expect("403");
    assert_eq!(malformed.status, 403, "a malformed Origin: {malformed:?}");
    let two = "Origin: https://app.example\r\nOrigin: https://evil.example\r\n";
    assert_eq!(Ws::connect(server.addr(), "/ch/o1/ws", &[], two).err().expect("403").status, 403, "two Origins");
    for (extra, what) in [
        ("Origin: https://app.example\r\n", "listed"),
        ("", "no Origin: not a browser"),
        ("Origin: http://test\r\n", "the hub's own origin (Host: test): its demo page"),
    ] {
        let (mut ws, _) =
            Ws::connect(server.addr(), "/ch/o1/ws", &[], extra).unwrap_or_else(|r| panic!("{what}: {r:?}"));
        ws.send_text(what);
        assert_eq!(ws.next_text(), what);
    }
}

#[test]
fn ws_echo_checks_the_origin_too() {
    let server = common::spawn(Service::WsEcho, 16 << 20, |options| {
        options.allow_origins = vec!["https://app.example".to_string()];
    });
    let refused = Ws::connect(server.addr(), "/any", &[], "Origin: https://evil.example\r\n").err().expect("403");
    assert_eq!(refused.status, 403);
    let (mut ws, _) = Ws::connect(server.addr(), "/any", &[], "Origin: https://app.example\r\n").expect("101");
    ws.send_text("echo");
    assert_eq!(ws.next_text(), "echo");
}

#[test]
fn fetch_cors_a_listed_origin_gets_allow_origin_and_vary_on_every_readable_route() {
    let server = listing(&["https://app.example"]);
    let origin = "Origin: https://app.example\r\n";
    let mut client = server.client();
    let published = client.request(&post_with("/ch/c1", "hi", origin));
    assert_eq!(published.status, 200);
    for response in [
        published,
        client.request(&get_with("/ch/c1/poll", origin)),
        client.request(&get_with("/ch/c1/poll?after=1", origin)),
        client.request(&get_with("/ch/c1/longpoll?after=0", origin)),
        client.request(&get_with("/ch/c1/longpoll?after=1&timeout=0", origin)),
        client.request(&get_with("/ch/c1/poll?after=x", origin)),
    ] {
        assert_eq!(response.header("access-control-allow-origin"), Some("https://app.example"), "{response:?}");
        assert_eq!(response.header("vary"), Some("Origin"), "{response:?}");
        assert_eq!(response.header("access-control-expose-headers"), Some("Talkback-Missed, Retry-After"));
    }
    let sse = Sse::open(server.addr(), "/ch/c1/sse", origin);
    assert_eq!(sse.header("access-control-allow-origin"), Some("https://app.example"));
    assert_eq!(sse.header("vary"), Some("Origin"));
}

#[test]
fn fetch_cors_an_unlisted_origin_gets_vary_and_no_allow_origin() {
    let server = listing(&["https://app.example"]);
    let mut client = server.client();
    let response = client.request(&post_with("/ch/c2", "hi", "Origin: https://evil.example\r\n"));
    assert_eq!(response.status, 200, "the server answers; the browser keeps the answer from the page");
    assert_eq!((response.header("access-control-allow-origin"), response.header("vary")), (None, Some("Origin")));
    let malformed = client.request(&get_with("/ch/c2/poll", "Origin: not an origin\r\n"));
    assert_eq!(malformed.status, 403, "a malformed Origin: {malformed:?}");
    let any = listing(&["*"]);
    let response = any.client().request(&get_with("/ch/c2/poll", "Origin: https://whoever.example\r\n"));
    assert_eq!(response.header("access-control-allow-origin"), Some("*"));
}

#[test]
fn fetch_cors_preflight_from_a_listed_origin_is_204_with_the_allow_fields() {
    let server = listing(&["https://app.example"]);
    let preflight = "Origin: https://app.example\r\nAccess-Control-Request-Method: POST\r\n\
                     Access-Control-Request-Headers: authorization, content-type\r\n";
    let mut client = server.client();
    let response = client.request(format!("OPTIONS /ch/p1 HTTP/1.1\r\nHost: test\r\n{preflight}\r\n").as_bytes());
    assert_eq!(response.status, 204, "{response:?}");
    assert_eq!(response.header("access-control-allow-origin"), Some("https://app.example"));
    assert_eq!(response.header("access-control-allow-methods"), Some("POST, OPTIONS"));
    let headers = response.header("access-control-allow-headers").unwrap_or("").to_ascii_lowercase();
    for needed in ["authorization", "content-type", "last-event-id"] {
        assert!(headers.contains(needed), "{headers}");
    }
    assert_eq!(response.header("access-control-max-age"), Some("600"));
    assert_eq!(response.header("vary"), Some("Origin"));
    let sse = client.request(
        b"OPTIONS /ch/p1/sse HTTP/1.1\r\nHost: test\r\nOrigin: https://app.example\r\nAccess-Control-Request-Method: GET\r\n\r\n",
    );
    assert_eq!((sse.status, sse.header("access-control-allow-methods")), (204, Some("GET, OPTIONS")));
    let unlisted = "Origin: https://evil.example\r\nAccess-Control-Request-Method: POST\r\n";
    let response = client.request(format!("OPTIONS /ch/p1 HTTP/1.1\r\nHost: test\r\n{unlisted}\r\n").as_bytes());
    assert_eq!(response.status, 200, "a plain OPTIONS answer: the browser's preflight fails");
    assert_eq!(response.header("access-control-allow-origin"), None);
}

#[test]
fn a_cross_origin_publish_without_the_token_reads_its_401() {
    let server = spawn_hub(|options| {
        options.publish_token = Some(TOKEN.to_string());
        options.allow_origins = vec!["https://app.example".to_string()];
    });
    let response = server.client().request(&post_with("/ch/c3", "hi", "Origin: https://app.example\r\n"));
    assert_eq!(response.status, 401);
    assert_eq!(response.header("access-control-allow-origin"), Some("https://app.example"), "the page can read why");
}

#[test]
fn the_echo_hubs_take_the_token_and_the_origins() {
    for routes in [HubRoutes::SSE, HubRoutes::LONGPOLL] {
        let server = common::spawn(Service::Hub(routes), 64 << 10, |options| {
            options.publish_token = Some(TOKEN.to_string());
            options.allow_origins = vec!["https://app.example".to_string()];
        });
        let refused = server.client().request(&post("/ch/e", b"x"));
        assert_eq!(refused.status, 401, "{routes:?}");
        assert!(refused.closes(), "refused before its body: the connection closes");
        let ok = server.client().request(&post_with(
            "/ch/e",
            "x",
            &format!("Authorization: Bearer {TOKEN}\r\nOrigin: https://app.example\r\n"),
        ));
        assert_eq!(ok.status, 200);
        assert_eq!(ok.header("access-control-allow-origin"), Some("https://app.example"));
    }
}
