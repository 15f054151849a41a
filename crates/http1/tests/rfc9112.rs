//! RFC 9112 request handling, as a table of cases. Each case is fed whole, one byte at
//! a time and at every two-way split, and must give the same events every time.

use talkback_http1::{Decoded, Error, Event, Limits, Method, Request, RequestDecoder};

/// What a case must produce: the body of its (first) request, or an error status.
type Expect = Result<&'static [u8], u16>;

/// `(name, rule, input, expect)`.
type Case = (&'static str, &'static str, Vec<u8>, Expect);

const GET: &[u8] = b"GET / HTTP/1.1\r\nHost: a\r\n\r\n";

fn post(fields: &str, body: &str) -> Vec<u8> {
    format!("POST /ch/room HTTP/1.1\r\nHost: a\r\n{fields}\r\n{body}").into_bytes()
}

fn chunked(body: &str) -> Vec<u8> {
    post("Transfer-Encoding: chunked\r\n", body)
}

fn head(lines: &str) -> Vec<u8> {
    format!("{lines}\r\n\r\n").into_bytes()
}

#[rustfmt::skip]
fn cases() -> Vec<Case> {
    vec![
        ("get_origin_form", "RFC 9112 §3.2.1", GET.to_vec(), Ok(b"")),
        ("leading_empty_line", "RFC 9112 §2.2", [b"\r\n", GET].concat(), Ok(b"")),
        ("http10_needs_no_host", "RFC 9112 §3.2", head("GET / HTTP/1.0"), Ok(b"")),
        ("absolute_form", "RFC 9112 §3.2.2", head("GET http://a/x HTTP/1.1\r\nHost: a"), Ok(b"")),
        ("empty_host_no_authority", "RFC 9110 §7.2", head("GET urn:x HTTP/1.1\r\nHost:"), Ok(b"")),
        ("connect_authority_form", "RFC 9112 §3.2.3", head("CONNECT a:443 HTTP/1.1\r\nHost: a:443"), Ok(b"")),
        ("options_asterisk", "RFC 9112 §3.2.4", head("OPTIONS * HTTP/1.1\r\nHost: a"), Ok(b"")),
        ("ipv6_host", "RFC 9112 §3.2", head("GET / HTTP/1.1\r\nHost: [::1]:8080"), Ok(b"")),
        ("obs_text_value", "RFC 9110 §5.5", head("GET / HTTP/1.1\r\nHost: a\r\nX: caf\u{e9}\t!"), Ok(b"")),
        ("content_length", "RFC 9112 §6.2", post("Content-Length: 5\r\n", "hello"), Ok(b"hello")),
        ("same_cl_list", "RFC 9110 §8.6", post("Content-Length: 5, 5\r\n", "hello"), Ok(b"hello")),
        ("same_cl_twice", "RFC 9110 §8.6", post("Content-Length: 5\r\nContent-Length: 5\r\n", "hello"), Ok(b"hello")),
        ("chunked", "RFC 9112 §7.1", chunked("5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n"), Ok(b"hello world")),
        ("chunked_mixed_case", "RFC 9112 §6.1", post("Transfer-Encoding: Chunked\r\n", "A\r\n0123456789\r\n0\r\n\r\n"), Ok(b"0123456789")),
        ("chunk_extensions", "RFC 9112 §7.1.1", chunked("5;a=b;c;d=\"x y\\\"\"\r\nhello\r\n0;z\r\n\r\n"), Ok(b"hello")),
        ("chunk_trailers", "RFC 9112 §7.1.2", chunked("2\r\nhi\r\n0\r\nX-Sum: 1\r\nY:\r\n\r\n"), Ok(b"hi")),
        ("expect_100_continue", "RFC 9110 §10.1.1", post("Expect: 100-continue\r\nContent-Length: 2\r\n", "hi"), Ok(b"hi")),
        // Request-line and version.
        ("double_space", "RFC 9112 §3", head("GET  / HTTP/1.1\r\nHost: a"), Err(400)),
        ("bad_method", "RFC 9112 §3.1", head("G@T / HTTP/1.1\r\nHost: a"), Err(400)),
        ("version_2_0", "RFC 9110 §15.6.6", head("GET / HTTP/2.0\r\nHost: a"), Err(505)),
        ("version_1_2", "RFC 9110 §15.6.6", head("GET / HTTP/1.2\r\nHost: a"), Err(505)),
        ("http2_preface", "RFC 9110 §15.6.6", b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n".to_vec(), Err(505)),
        ("version_lowercase", "RFC 9112 §2.3", head("GET / http/1.1\r\nHost: a"), Err(400)),
        ("version_missing", "RFC 9112 §3", head("GET /"), Err(400)),
        // Line endings.
        ("bare_lf_head", "RFC 9112 §2.2", b"GET / HTTP/1.1\nHost: a\n\n".to_vec(), Err(400)),
        ("bare_cr_value", "RFC 9112 §2.2", head("GET / HTTP/1.1\r\nHost: a\rb"), Err(400)),
        // Request-target forms.
        ("asterisk_with_get", "RFC 9112 §3.2.4", head("GET * HTTP/1.1\r\nHost: a"), Err(400)),
        ("authority_with_get", "RFC 9112 §3.2.3", head("GET a:443 HTTP/1.1\r\nHost: a"), Err(400)),
        ("connect_origin_form", "RFC 9112 §3.2.3", head("CONNECT / HTTP/1.1\r\nHost: a"), Err(400)),
        ("origin_without_slash", "RFC 9112 §3.2.1", head("GET a/b HTTP/1.1\r\nHost: a"), Err(400)),
        ("non_ascii_target", "RFC 9112 §3.2", [&b"GET /\xc3\xa9 HTTP/1.1\r\nHost: a\r\n\r\n"[..]].concat(), Err(400)),
        // Host.
        ("missing_host", "RFC 9112 §3.2", head("GET / HTTP/1.1"), Err(400)),
        ("duplicate_host", "RFC 9112 §3.2", head("GET / HTTP/1.1\r\nHost: a\r\nHost: a"), Err(400)),
        ("host_userinfo", "RFC 9112 §3.2", head("GET / HTTP/1.1\r\nHost: u@a"), Err(400)),
        ("host_path", "RFC 9112 §3.2", head("GET / HTTP/1.1\r\nHost: a/b"), Err(400)),
        ("host_bad_port", "RFC 9112 §3.2", head("GET / HTTP/1.1\r\nHost: a:8o"), Err(400)),
        ("empty_host_origin_form", "RFC 9110 §7.2", head("GET / HTTP/1.1\r\nHost:"), Err(400)),
        // Field syntax.
        ("obs_fold", "RFC 9112 §5.2", head("GET / HTTP/1.1\r\nHost: a\r\nX: 1\r\n 2"), Err(400)),
        ("space_before_colon", "RFC 9112 §5.1", head("GET / HTTP/1.1\r\nHost : a"), Err(400)),
        ("tab_before_colon", "RFC 9112 §5.1", head("GET / HTTP/1.1\r\nHost\t: a"), Err(400)),
        ("name_not_token", "RFC 9110 §5.1", head("GET / HTTP/1.1\r\nHost: a\r\nX(y): 1"), Err(400)),
        ("no_colon", "RFC 9110 §5.1", head("GET / HTTP/1.1\r\nHost: a\r\nX"), Err(400)),
        ("nul_in_value", "RFC 9110 §5.5", head("GET / HTTP/1.1\r\nHost: a\r\nX: a\0b"), Err(400)),
        ("ctl_in_value", "RFC 9110 §5.5", head("GET / HTTP/1.1\r\nHost: a\r\nX: a\x01"), Err(400)),
        ("del_in_value", "RFC 9110 §5.5", head("GET / HTTP/1.1\r\nHost: a\r\nX: a\x7f"), Err(400)),
        // Framing: the request-smuggling rules.
        ("te_and_cl", "RFC 9112 §6.1", post("Content-Length: 3\r\nTransfer-Encoding: chunked\r\n", ""), Err(400)),
        ("cl_and_te", "RFC 9112 §6.1", post("Transfer-Encoding: chunked\r\nContent-Length: 3\r\n", ""), Err(400)),
        ("cl_list_differs", "RFC 9112 §6.3", post("Content-Length: 5, 6\r\n", "hello"), Err(400)),
        ("cl_lines_differ", "RFC 9112 §6.3", post("Content-Length: 5\r\nContent-Length: 6\r\n", ""), Err(400)),
        ("cl_not_digits", "RFC 9110 §8.6", post("Content-Length: 5a\r\n", ""), Err(400)),
        ("cl_signed", "RFC 9110 §8.6", post("Content-Length: +5\r\n", ""), Err(400)),
        ("cl_empty", "RFC 9110 §8.6", post("Content-Length:\r\n", ""), Err(400)),
        ("cl_overflow", "RFC 9110 §8.6", post("Content-Length: 18446744073709551616\r\n", ""), Err(400)),
        ("te_chunked_not_final", "RFC 9112 §6.3", post("Transfer-Encoding: chunked, gzip\r\n", ""), Err(400)),
        ("te_without_chunked", "RFC 9112 §6.3", post("Transfer-Encoding: gzip\r\n", ""), Err(400)),
        ("te_chunked_twice", "RFC 9112 §7", post("Transfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n", ""), Err(400)),
        ("te_unknown_coding", "RFC 9112 §6.1", post("Transfer-Encoding: foo, chunked\r\n", ""), Err(501)),
        ("te_in_http10", "RFC 9112 §6.1", head("POST / HTTP/1.0\r\nTransfer-Encoding: chunked"), Err(400)),
        ("expect_unknown", "RFC 9110 §10.1.1", post("Expect: 200-ok\r\nContent-Length: 0\r\n", ""), Err(417)),
        // Chunk lines.
        ("chunk_bare_semicolon", "RFC 9112 §7.1.1", chunked("5;\r\nhello\r\n0\r\n\r\n"), Err(400)),
        ("chunk_ext_not_token", "RFC 9112 §7.1.1", chunked("5;a(b\r\nhello\r\n0\r\n\r\n"), Err(400)),
        ("chunk_ws_after_size", "RFC 9112 §7.1.1", chunked("5 \r\nhello\r\n0\r\n\r\n"), Err(400)),
        ("chunk_ws_before_ext", "RFC 9112 §7.1.1", chunked("5 ;a\r\nhello\r\n0\r\n\r\n"), Err(400)),
        ("chunk_bare_lf", "RFC 9112 §7.1", chunked("5\nhello\r\n0\r\n\r\n"), Err(400)),
        ("chunk_empty_size", "RFC 9112 §7.1", chunked("\r\nhello\r\n0\r\n\r\n"), Err(400)),
        ("chunk_not_hex", "RFC 9112 §7.1", chunked("0x5\r\nhello\r\n0\r\n\r\n"), Err(400)),
        ("chunk_overflow", "RFC 9112 §7.1", chunked("10000000000000005\r\nhello\r\n0\r\n\r\n"), Err(400)),
        ("chunk_data_no_crlf", "RFC 9112 §7.1", chunked("5\r\nhelloX\r\n0\r\n\r\n"), Err(400)),
        ("chunk_data_bare_lf", "RFC 9112 §7.1", chunked("5\r\nhello\n0\r\n\r\n"), Err(400)),
        ("trailer_obs_fold", "RFC 9112 §7.1.2", chunked("0\r\nX: 1\r\n 2\r\n\r\n"), Err(400)),
        ("trailer_space_before_colon", "RFC 9112 §7.1.2", chunked("0\r\nX : 1\r\n\r\n"), Err(400)),
        // Fields that must not be trailers: refused, never merged (RFC 9110 §6.5.1).
        ("trailer_content_length", "RFC 9110 §6.5.1", chunked("2\r\nhi\r\n0\r\nContent-Length: 9\r\n\r\n"), Err(400)),
        ("trailer_transfer_encoding", "RFC 9110 §6.5.1", chunked("2\r\nhi\r\n0\r\nTransfer-Encoding: chunked\r\n\r\n"), Err(400)),
        ("trailer_host", "RFC 9110 §6.5.1", chunked("2\r\nhi\r\n0\r\nHost: evil\r\n\r\n"), Err(400)),
        ("trailer_authorization", "RFC 9110 §6.5.1", chunked("2\r\nhi\r\n0\r\nAuthorization: Basic eDp5\r\n\r\n"), Err(400)),
        ("trailer_cookie", "RFC 9110 §6.5.1", chunked("2\r\nhi\r\n0\r\nCookie: a=b\r\n\r\n"), Err(400)),
        ("trailer_content_type", "RFC 9110 §6.5.1", chunked("2\r\nhi\r\n0\r\nContent-Type: text/html\r\n\r\n"), Err(400)),
        ("trailer_content_encoding", "RFC 9110 §6.5.1", chunked("2\r\nhi\r\n0\r\nContent-Encoding: gzip\r\n\r\n"), Err(400)),
        ("trailer_expect", "RFC 9110 §6.5.1", chunked("2\r\nhi\r\n0\r\nExpect: 100-continue\r\n\r\n"), Err(400)),
        ("trailer_range", "RFC 9110 §6.5.1", chunked("2\r\nhi\r\n0\r\nRange: bytes=0-1\r\n\r\n"), Err(400)),
        ("trailer_connection", "RFC 9110 §6.5.1", chunked("2\r\nhi\r\n0\r\nConnection: close\r\n\r\n"), Err(400)),
        ("trailer_after_allowed_one", "RFC 9110 §6.5.1", chunked("2\r\nhi\r\n0\r\nX-Sum: 1\r\ncontent-LENGTH: 9\r\n\r\n"), Err(400)),
        ("trailer_allowed_is_dropped", "RFC 9112 §7.1.2", chunked("2\r\nhi\r\n0\r\nServer-Timing: db;dur=5\r\nX-Content-Length: 9\r\n\r\n"), Ok(b"hi")),
        // Limits.
        ("cl_over_limit", "RFC 9110 §15.5.14", post("Content-Length: 1048577\r\n", ""), Err(413)),
        ("chunks_over_limit", "RFC 9110 §15.5.14", chunked("8\r\n12345678\r\n100000\r\n"), Err(413)),
    ]
}

/// Limits small enough that their cases can be split at every byte quickly.
const SMALL: Limits = Limits { max_request_line: 32, max_head: 96, max_headers: 4, max_body: 16, max_trailers: 24 };

/// Cases run with [`SMALL`] limits: each limit, and the largest input under it.
#[rustfmt::skip]
fn small_limit_cases() -> Vec<Case> {
    vec![
        ("request_line_at_limit", "RFC 9112 §3", head(&format!("GET /{} HTTP/1.1\r\nHost: a", "x".repeat(16))), Ok(b"")),
        ("request_line_too_long", "RFC 9112 §3", head(&format!("GET /{} HTTP/1.1\r\nHost: a", "x".repeat(17))), Err(414)),
        ("head_at_limit", "RFC 6585 §5", head(&format!("GET / HTTP/1.1\r\nHost: a\r\nX: {}", "x".repeat(64))), Ok(b"")),
        ("head_too_large", "RFC 6585 §5", head(&format!("GET / HTTP/1.1\r\nHost: a\r\nX: {}", "x".repeat(65))), Err(431)),
        ("fields_at_limit", "RFC 6585 §5", head("GET / HTTP/1.1\r\nHost: a\r\nA: 1\r\nB: 2\r\nC: 3"), Ok(b"")),
        ("too_many_fields", "RFC 6585 §5", head("GET / HTTP/1.1\r\nHost: a\r\nA: 1\r\nB: 2\r\nC: 3\r\nD: 4"), Err(431)),
        ("body_at_limit", "RFC 9110 §15.5.14", post("Content-Length: 16\r\n", "0123456789abcdef"), Ok(b"0123456789abcdef")),
        ("cl_over_limit", "RFC 9110 §15.5.14", post("Content-Length: 17\r\n", ""), Err(413)),
        ("chunks_over_limit", "RFC 9110 §15.5.14", chunked("8\r\n01234567\r\n9\r\n012345678\r\n0\r\n\r\n"), Err(413)),
        ("trailers_at_limit", "RFC 9112 §7.1.2", chunked("1\r\na\r\n0\r\nA: 1234567890123456789\r\n\r\n"), Ok(b"a")),
        ("trailers_too_large", "RFC 9112 §7.1.2", chunked("1\r\na\r\n0\r\nA: 12345678901234567890\r\n\r\n"), Err(431)),
    ]
}

/// The default limits, with inputs just past them (too long to split at every byte).
fn default_limit_cases() -> Vec<Case> {
    let long_line = head(&format!("GET /{} HTTP/1.1\r\nHost: a", "x".repeat(8200)));
    let big_field = head(&format!("GET / HTTP/1.1\r\nHost: a\r\nX: {}", "x".repeat(17000)));
    let many = (0..101).map(|i| format!("\r\nX-{i}: 1")).collect::<String>();
    let trailers = (0..900).map(|i| format!("X-{i}: 1\r\n")).collect::<String>();
    let body = format!("1\r\na\r\n0\r\n{trailers}\r\n");
    vec![
        ("request_line_too_long", "RFC 9112 §3", long_line, Err(414)),
        ("head_too_large", "RFC 6585 §5", big_field, Err(431)),
        ("too_many_fields", "RFC 6585 §5", head(&format!("GET / HTTP/1.1{many}")), Err(431)),
        ("trailers_too_large", "RFC 9112 §7.1.2", chunked(&body), Err(431)),
        ("chunk_line_too_long", "RFC 9112 §7.1.1", chunked(&format!("5;a={}\r\n", "x".repeat(5000))), Err(400)),
    ]
}

/// What a decode run produced, with adjacent `Data` pieces merged.
#[derive(Debug, PartialEq)]
enum Seen {
    Head(Box<Request>),
    Data(Vec<u8>),
    End,
}

/// Feeds `pieces` in turn, decoding after each; stops at the first error.
fn run(pieces: &[&[u8]]) -> (Vec<Seen>, Option<Error>) {
    run_with(&Limits::default(), pieces)
}

fn run_with(limits: &Limits, pieces: &[&[u8]]) -> (Vec<Seen>, Option<Error>) {
    let mut decoder = RequestDecoder::new(limits.clone());
    let mut buf = Vec::new();
    let mut seen = Vec::new();
    for piece in pieces {
        buf.extend_from_slice(piece);
        loop {
            let Decoded { consumed, event } = match decoder.decode(&buf) {
                Ok(decoded) => decoded,
                Err(err) => return (seen, Some(err)),
            };
            match (event, seen.last_mut()) {
                (None, _) => {
                    assert_eq!(consumed, 0, "need-more consumes nothing");
                    break;
                }
                (Some(Event::Data(d)), Some(Seen::Data(acc))) => acc.extend_from_slice(d),
                (Some(Event::Data(d)), _) => seen.push(Seen::Data(d.to_vec())),
                (Some(Event::Head(r)), _) => seen.push(Seen::Head(Box::new(r))),
                (Some(Event::End), _) => seen.push(Seen::End),
            }
            buf.drain(..consumed);
        }
    }
    (seen, None)
}

/// The same input, split three ways, must decode the same; returns that outcome.
/// `stride` 1 tries every two-way split.
fn run_splits(limits: &Limits, input: &[u8], stride: usize) -> (Vec<Seen>, Option<Error>) {
    let whole = run_with(limits, &[input]);
    let bytes: Vec<&[u8]> = input.chunks(1).collect();
    assert_eq!(run_with(limits, &bytes), whole, "one byte at a time");
    for at in (1..input.len()).step_by(stride) {
        let (a, b) = input.split_at(at);
        assert_eq!(run_with(limits, &[a, b]), whole, "split at {at}");
    }
    whole
}

fn run_every_split(input: &[u8]) -> (Vec<Seen>, Option<Error>) {
    run_splits(&Limits::default(), input, 1)
}

fn check_with(limits: &Limits, stride: usize, (name, rule, input, expect): Case) {
    let (seen, err) = run_splits(limits, &input, stride);
    let context = format!("{name} ({rule})");
    match expect {
        Err(status) => {
            let err = err.unwrap_or_else(|| panic!("{context}: accepted, {seen:?}"));
            assert_eq!(err.status().0, status, "{context}: {err}");
        }
        Ok(body) => {
            assert_eq!(err, None, "{context}");
            assert!(matches!(seen.first(), Some(Seen::Head(_))), "{context}");
            let data = seen.iter().find_map(|s| match s {
                Seen::Data(d) => Some(&d[..]),
                _ => None,
            });
            assert_eq!(data.unwrap_or_default(), body, "{context}");
            assert_eq!(seen.last(), Some(&Seen::End), "{context}");
        }
    }
}

#[test]
fn rfc9112_table_every_split_agrees() {
    for (name, rule, input, expect) in cases() {
        check_with(&Limits::default(), 1, (name, rule, input, expect));
    }
}

#[test]
fn limits_table_every_split_agrees() {
    for case in small_limit_cases() {
        check_with(&SMALL, 1, case);
    }
}

#[test]
fn default_limits_hold_for_long_inputs() {
    for case in default_limit_cases() {
        check_with(&Limits::default(), 97, case);
    }
}

fn case(name: &str) -> (&'static str, &'static str, Vec<u8>, Expect) {
    cases().into_iter().find(|c| c.0 == name).expect("case exists")
}

#[test]
fn rfc9112_6_1_rejects_te_and_cl() {
    let (name, rule, input, expect) = case("te_and_cl");
    check_with(&Limits::default(), 1, (name, rule, input, expect));
}

#[test]
fn rfc9112_6_3_rejects_differing_content_lengths() {
    let (name, rule, input, expect) = case("cl_list_differs");
    check_with(&Limits::default(), 1, (name, rule, input, expect));
}

#[test]
fn rfc9110_15_5_14_refuses_large_content_length_before_the_body() {
    // No body byte is needed: the error comes with the head.
    let (seen, err) = run(&[&post("Content-Length: 2000000\r\n", "")]);
    assert_eq!((seen, err), (vec![], Some(Error::ContentLengthTooLarge)));
}

/// RFC 9110 §6.5.1: "A recipient MUST NOT merge a trailer field into a header section unless
/// [...] that definition explicitly permits and defines how trailer field values can be safely
/// merged." A permitted trailer is dropped: the request is the head's, field for field. Every
/// field that must not be a trailer ("message framing, routing, authentication, request
/// modifiers, response controls, or content format") refuses the request, its body never ends,
/// and what the head said stays what the head said.
#[test]
fn rfc9110_6_5_1_trailers_are_never_merged_and_prohibited_ones_refuse_the_request() {
    let body = "2\r\nhi\r\n0\r\n";
    let plain = run(&[&chunked(&format!("{body}\r\n"))]);
    let (seen, err) = run(&[&chunked(&format!("{body}X-Sum: 1\r\nServer-Timing: a\r\n\r\n"))]);
    assert_eq!((&seen, err), (&plain.0, None), "a permitted trailer changes nothing");
    let Some(Seen::Head(request)) = seen.first() else { panic!("{seen:?}") };
    assert_eq!((request.header("x-sum"), request.header("server-timing")), (None, None));
    for name in talkback_http1::PROHIBITED_TRAILERS {
        let input = chunked(&format!("{body}{name}: injected\r\n\r\n"));
        let (seen, err) = run_every_split(&input);
        assert_eq!(err, Some(Error::ProhibitedTrailer), "{name}");
        assert_eq!(err.map(|e| e.status().0), Some(400));
        assert!(!seen.contains(&Seen::End), "{name}: the request never ends, so it is never answered");
        let Some(Seen::Head(request)) = seen.first() else { panic!("{seen:?}") };
        assert_ne!(request.header(name), Some(&b"injected"[..]), "{name} merged");
    }
}

#[test]
fn rfc9112_9_3_2_pipelined_requests_decode_in_order() {
    let second = post("Content-Length: 2\r\n", "hi");
    let third = chunked("3\r\nabc\r\n0\r\n\r\n");
    let input = [GET, &second, &third, GET].concat();
    let (seen, err) = run_every_split(&input);
    assert_eq!(err, None);
    let shape: Vec<String> = seen
        .iter()
        .map(|s| match s {
            Seen::Head(r) => format!("{} {}", r.method.as_str(), r.path()),
            Seen::Data(d) => String::from_utf8_lossy(d).into_owned(),
            Seen::End => "end".to_owned(),
        })
        .collect();
    let expected = ["GET /", "end", "POST /ch/room", "hi", "end", "POST /ch/room", "abc", "end", "GET /", "end"];
    assert_eq!(shape, expected);
}

#[test]
fn rfc9112_9_3_keep_alive_and_close() {
    let flags = |input: Vec<u8>| match run(&[&input]).0.first() {
        Some(Seen::Head(r)) => (r.keep_alive, r.method == Method::Get),
        other => panic!("{other:?}"),
    };
    assert_eq!(flags(GET.to_vec()), (true, true));
    assert_eq!(flags(head("GET / HTTP/1.1\r\nHost: a\r\nConnection: x, Close")), (false, true));
    assert_eq!(flags(head("GET / HTTP/1.0")), (false, true));
    assert_eq!(flags(head("GET / HTTP/1.0\r\nConnection: keep-alive")), (true, true));
}

#[test]
fn rfc9110_10_1_1_expect_100_continue_is_flagged() {
    let input = post("Expect: 100-continue\r\nContent-Length: 2\r\n", "");
    let mut decoder = RequestDecoder::new(Limits::default());
    match decoder.decode(&input) {
        Ok(Decoded { event: Some(Event::Head(r)), .. }) => assert!(r.expect_continue),
        other => panic!("{other:?}"),
    }
    assert!(!decoder.is_idle());
}

/// xorshift64*: deterministic, no dependency.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
}

/// Mutates a seed: flip, insert, delete or duplicate bytes, favouring the bytes that
/// matter to framing.
fn mutate(rng: &mut Rng, seed: &[u8]) -> Vec<u8> {
    const INTERESTING: &[u8] = b"\r\n :;,\"\\\t0fF\x00\x7f\x80";
    let mut input = seed.to_vec();
    for _ in 0..1 + rng.below(4) {
        let at = rng.below(input.len() + 1);
        let byte = match rng.below(2) {
            0 => INTERESTING[rng.below(INTERESTING.len())],
            _ => rng.next() as u8,
        };
        match rng.below(4) {
            0 if at < input.len() => input[at] = byte,
            1 => input.insert(at, byte),
            2 if at < input.len() => drop(input.remove(at)),
            _ => {
                let end = (at + rng.below(8)).min(input.len());
                let copy = input[at..end].to_vec();
                input.splice(at..at, copy);
            }
        }
    }
    input
}

#[test]
fn never_panics_and_agrees_across_splits_on_mutated_input() {
    let seeds: Vec<Vec<u8>> = cases().into_iter().map(|c| c.2).filter(|input| input.len() < 512).collect();
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    for round in 0..4000 {
        let input = match round % 10 {
            0 => (0..rng.below(64)).map(|_| rng.next() as u8).collect(),
            _ => {
                let seed = &seeds[rng.below(seeds.len())];
                mutate(&mut rng, seed)
            }
        };
        let whole = run(&[&input]);
        let bytes: Vec<&[u8]> = input.chunks(1).collect();
        assert_eq!(run(&bytes), whole, "byte at a time: {input:?}");
        let (a, b) = input.split_at(rng.below(input.len() + 1));
        assert_eq!(run(&[a, b]), whole, "two pieces: {input:?}");
        if let Some(err) = whole.1 {
            assert!(matches!(err.status().0, 400 | 413 | 414 | 417 | 431 | 501 | 505));
        }
    }
}
