use super::*;

/// RFC 6455 §1.3's sample key and the accept value it must produce.
use talkback_harness::vectors::{RFC6455_SAMPLE_ACCEPT as ACCEPT, RFC6455_SAMPLE_KEY as KEY};

fn request(headers: &[(&str, &str)]) -> Request {
    let mut req = Request::new(Method::Get, "/chat".into(), Version::Http11);
    for (name, value) in headers {
        req.push_header(name, value.as_bytes());
    }
    req
}

fn good() -> Vec<(&'static str, &'static str)> {
    vec![
        ("Host", "server.example.com"),
        ("Upgrade", "websocket"),
        ("Connection", "keep-alive, Upgrade"),
        ("Sec-WebSocket-Key", KEY),
        ("Origin", "http://example.com"),
        ("Sec-WebSocket-Protocol", "chat, superchat"),
        ("Sec-WebSocket-Version", "13"),
    ]
}

fn without(name: &str) -> Vec<(&'static str, &'static str)> {
    good().into_iter().filter(|(n, _)| *n != name).collect()
}

fn with(name: &'static str, value: &'static str) -> Vec<(&'static str, &'static str)> {
    let mut headers = without(name);
    headers.push((name, value));
    headers
}

#[test]
fn rfc6455_1_3_accept_key_of_the_sample_nonce() {
    assert_eq!(accept_key(KEY.as_bytes()), ACCEPT);
}

#[test]
fn rfc6455_4_2_2_accepts_the_section_1_3_request_and_picks_a_protocol() {
    let policy = ServerPolicy { protocols: vec!["superchat".into(), "chat".into()], origin: None, deflate: None };
    let accepted = accept(&request(&good()), &policy).unwrap();
    assert_eq!(accepted.protocol(), Some("superchat"));
    let mut out = Vec::new();
    accepted.encode_response(&mut out);
    let expect = format!(
        "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
         Sec-WebSocket-Accept: {ACCEPT}\r\nSec-WebSocket-Protocol: superchat\r\n\r\n"
    );
    assert_eq!(String::from_utf8(out).unwrap(), expect);
}

#[test]
fn rfc6455_4_2_1_refusal_table() {
    let cases: Vec<(&str, Request, HandshakeError, u16)> = vec![
        ("plain GET", request(&[("Host", "x")]), HandshakeError::NoUpgrade, 426),
        (
            "not GET",
            {
                let mut r = request(&good());
                r.method = Method::Post;
                r
            },
            HandshakeError::NotGet,
            400,
        ),
        (
            "HTTP/1.0",
            {
                let mut r = request(&good());
                r.version = Version::Http10;
                r
            },
            HandshakeError::NotHttp11,
            400,
        ),
        ("upgrade h2c", request(&with("Upgrade", "h2c")), HandshakeError::UpgradeNotWebsocket, 400),
        ("no Connection", request(&without("Connection")), HandshakeError::ConnectionNotUpgrade, 400),
        ("no version", request(&without("Sec-WebSocket-Version")), HandshakeError::UnsupportedVersion, 426),
        ("version 8", request(&with("Sec-WebSocket-Version", "8")), HandshakeError::UnsupportedVersion, 426),
        ("no key", request(&without("Sec-WebSocket-Key")), HandshakeError::BadKey, 400),
        ("short key", request(&with("Sec-WebSocket-Key", "AAAA")), HandshakeError::BadKey, 400),
        (
            "key not base64",
            request(&with("Sec-WebSocket-Key", "!!!!!!!!!!!!!!!!!!!!!!==")),
            HandshakeError::BadKey,
            400,
        ),
    ];
    for (name, req, expect, status) in cases {
        let err = accept(&req, &ServerPolicy::default()).unwrap_err();
        assert_eq!((&err, err.status()), (&expect, status), "{name}");
    }
}

#[test]
fn rfc6455_4_4_version_refusal_is_426_naming_13() {
    let err = accept(&request(&with("Sec-WebSocket-Version", "8")), &ServerPolicy::default());
    let mut out = Vec::new();
    err.unwrap_err().encode_response(&mut out);
    let text = String::from_utf8(out).unwrap();
    assert!(text.starts_with("HTTP/1.1 426 Upgrade Required\r\n"), "{text}");
    assert!(text.contains("\r\nSec-WebSocket-Version: 13\r\n"));
    assert!(text.contains("\r\nUpgrade: websocket\r\n"));
    assert!(text.contains("\r\nConnection: close\r\n"));
}

/// RFC 9110 §6.6.1: "An origin server with a clock [...] MUST generate a Date header field in
/// all 2xx, 3xx, and 4xx responses": a refusal written with the server's date carries it (the
/// fuzzer's server_handler target found the 426 without one).
#[test]
fn rfc9110_6_6_1_refusal_with_date_carries_it() {
    let err = accept(&request(&without("Upgrade")), &ServerPolicy::default()).unwrap_err();
    let mut out = Vec::new();
    err.encode_response_with_date(Some(b"Sun, 06 Nov 1994 08:49:37 GMT"), &mut out);
    let text = String::from_utf8(out).unwrap();
    assert!(text.starts_with("HTTP/1.1 426 Upgrade Required\r\n"), "{text}");
    assert!(text.contains("\r\nDate: Sun, 06 Nov 1994 08:49:37 GMT\r\n"), "{text}");
    let (head, body) = text.split_once("\r\n\r\n").unwrap();
    assert!(head.contains(&format!("Content-Length: {}", body.len())), "{text}");
}

#[test]
fn rfc6455_10_2_origin_policy_refuses_with_403() {
    let policy = ServerPolicy {
        protocols: vec![],
        origin: Some(Box::new(|origin| origin == Some(b"http://good.example"))),
        deflate: None,
    };
    let err = accept(&request(&good()), &policy).unwrap_err();
    assert_eq!((err.clone(), err.status()), (HandshakeError::OriginRefused, 403));
    let ok = request(&with("Origin", "http://good.example"));
    assert_eq!(accept(&ok, &policy).unwrap().protocol(), None);
}

/// A server response to `client`'s request, built by the server-side code.
fn response_for(client: &ClientHandshake, protocol: Option<&str>) -> Vec<u8> {
    let mut req = request(&without("Sec-WebSocket-Key"));
    req.push_header("Sec-WebSocket-Key", client.key().as_bytes());
    let policy =
        ServerPolicy { protocols: protocol.into_iter().map(String::from).collect(), origin: None, deflate: None };
    let mut out = Vec::new();
    accept(&req, &policy).unwrap().encode_response(&mut out);
    out
}

#[test]
fn rfc6455_4_1_client_accepts_a_valid_101_and_keeps_following_bytes() {
    let mut client = ClientHandshake::new("server.example.com", "/chat", &["chat"]);
    let mut req = Vec::new();
    client.encode_request(&mut req);
    let text = String::from_utf8(req).unwrap();
    assert!(text.starts_with("GET /chat HTTP/1.1\r\nHost: server.example.com\r\n"));
    assert!(text.contains("Sec-WebSocket-Protocol: chat\r\n"));

    let mut bytes = response_for(&client, Some("chat"));
    let head_len = bytes.len();
    bytes.extend_from_slice(&[0x81, 0x05, b'H', b'e', b'l', b'l', b'o']);
    for cut in 0..head_len {
        assert_eq!(client.handle_response(&bytes[..cut]), Ok(None), "cut {cut}");
    }
    let done = client.handle_response(&bytes).unwrap();
    assert_eq!(done, Some((head_len, Some("chat".to_owned()))));
}

#[test]
fn rfc6455_4_1_client_rejects_bad_responses() {
    let mut client = ClientHandshake::new("h", "/", &[]);
    let good = String::from_utf8(response_for(&client, None)).unwrap();
    let cases = [
        ("not 101", good.replace("101 Switching Protocols", "200 OK"), HandshakeError::Status(200)),
        ("no upgrade", good.replace("Upgrade: websocket\r\n", ""), HandshakeError::MissingUpgrade),
        ("bad accept", good.replace("Accept: ", "Accept: x"), HandshakeError::BadAccept),
        (
            "unoffered protocol",
            good.replace("\r\n\r\n", "\r\nSec-WebSocket-Protocol: chat\r\n\r\n"),
            HandshakeError::UnofferedProtocol,
        ),
    ];
    for (name, response, expect) in cases {
        let mut fresh = client.clone();
        assert_eq!(fresh.handle_response(response.as_bytes()), Err(expect), "{name}");
    }
    assert_eq!(client.handle_response(good.as_bytes()), Ok(Some((good.len(), None))));
}

/// §1.3's sample key is `base64("the sample nonce")`: `with_nonce` puts exactly those bytes on
/// the wire, so a seeded nonce gives the same request every run, and `new` a fresh one.
#[test]
fn rfc6455_4_1_seeded_nonce_gives_the_same_request_every_time() {
    let sample = ClientHandshake::with_nonce("server.example.com", "/chat", &[], *b"the sample nonce");
    assert_eq!(sample.key(), KEY);
    let request = |nonce: [u8; 16]| {
        let mut out = Vec::new();
        ClientHandshake::with_nonce("server.example.com", "/chat", &["chat"], nonce).encode_request(&mut out);
        out
    };
    assert_eq!(request(nonce(Some(5))), request(nonce(Some(5))));
    assert_ne!(request(nonce(Some(5))), request(nonce(Some(6))));
    let fresh = || ClientHandshake::new("h", "/", &[]).key().to_owned();
    assert_ne!(fresh(), fresh(), "unseeded: a new nonce per handshake");
    // The key is 16 bytes in base64: 24 characters ending in "==" (§4.1 item 7).
    let seeded = ClientHandshake::with_nonce("h", "/", &[], nonce(Some(5)));
    assert_eq!((seeded.key().len(), &seeded.key()[22..]), (24, "=="));
}
