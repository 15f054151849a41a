//! The specifications' own example bytes, named once and used at every test level.

/// RFC 6455 §1.3: the sample `Sec-WebSocket-Key` from the opening handshake.
pub const RFC6455_SAMPLE_KEY: &str = "dGhlIHNhbXBsZSBub25jZQ==";
/// RFC 6455 §1.3: the `Sec-WebSocket-Accept` the server must answer to [`RFC6455_SAMPLE_KEY`].
pub const RFC6455_SAMPLE_ACCEPT: &str = "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=";

/// RFC 6455 §5.7: a single-frame unmasked text message "Hello".
pub const RFC6455_UNMASKED_HELLO: &[u8] = &[0x81, 0x05, 0x48, 0x65, 0x6c, 0x6c, 0x6f];
/// RFC 6455 §5.7: a single-frame masked text message "Hello".
pub const RFC6455_MASKED_HELLO: &[u8] = &[0x81, 0x85, 0x37, 0xfa, 0x21, 0x3d, 0x7f, 0x9f, 0x4d, 0x51, 0x58];
/// RFC 6455 §5.7: a fragmented unmasked text message, first frame ("Hel").
pub const RFC6455_FRAGMENT_1: &[u8] = &[0x01, 0x03, 0x48, 0x65, 0x6c];
/// RFC 6455 §5.7: a fragmented unmasked text message, last frame ("lo").
pub const RFC6455_FRAGMENT_2: &[u8] = &[0x80, 0x02, 0x6c, 0x6f];
/// RFC 6455 §5.7: an unmasked Ping with body "Hello".
pub const RFC6455_UNMASKED_PING: &[u8] = &[0x89, 0x05, 0x48, 0x65, 0x6c, 0x6c, 0x6f];
/// RFC 6455 §5.7: a masked Pong with body "Hello" (the answer to the Ping).
pub const RFC6455_MASKED_PONG: &[u8] = &[0x8a, 0x85, 0x37, 0xfa, 0x21, 0x3d, 0x7f, 0x9f, 0x4d, 0x51, 0x58];

/// RFC 9112 §3.2.1: an origin-form request (the example `GET /where?q=now` with its Host).
pub const RFC9112_ORIGIN_FORM: &[u8] = b"GET /where?q=now HTTP/1.1\r\nHost: www.example.org\r\n\r\n";
/// RFC 9112 §3.2.2: an absolute-form request.
pub const RFC9112_ABSOLUTE_FORM: &[u8] =
    b"GET http://www.example.org/pub/WWW/TheProject.html HTTP/1.1\r\nHost: www.example.org\r\n\r\n";
/// RFC 9112 §3.2.3: an authority-form request (CONNECT only).
pub const RFC9112_AUTHORITY_FORM: &[u8] = b"CONNECT www.example.com:80 HTTP/1.1\r\nHost: www.example.com:80\r\n\r\n";
/// RFC 9112 §3.2.4: an asterisk-form request (OPTIONS only).
pub const RFC9112_ASTERISK_FORM: &[u8] = b"OPTIONS * HTTP/1.1\r\nHost: www.example.org:8001\r\n\r\n";
/// RFC 9112 §7.1: a chunked request body ("Wikipedia" split in chunks, with an extension).
pub const RFC9112_CHUNKED_POST: &[u8] =
    b"POST /echo HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n4;ext=1\r\nWiki\r\n5\r\npedia\r\n0\r\n\r\n";

/// WHATWG "Server-sent events", the stock-ticker example stream (two `data` lines, one event).
pub const WHATWG_SSE_STOCK: &[u8] = b"data: YHOO\ndata: +2\ndata: 10\n\n";
/// WHATWG "Server-sent events", the example with a comment, ids and an event without an id.
pub const WHATWG_SSE_COMMENT_AND_IDS: &[u8] =
    b": test stream\n\ndata: first event\nid: 1\n\ndata:second event\nid\n\ndata:  third event\n";
/// WHATWG "Server-sent events", the example whose two `data` fields give the same event twice.
pub const WHATWG_SSE_TWO_FORMS: &[u8] = b"data\n\ndata\ndata\n\ndata:\n";

/// RFC 7692 §7.2.3.1: "Hello" compressed, one unmasked frame with RSV1 (server to client).
pub const RFC7692_COMPRESSED_HELLO: &[u8] = &[0xc1, 0x07, 0xf2, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00];
/// RFC 7692 §7.2.3.1: the same compressed "Hello" in two fragments; RSV1 on the first only.
pub const RFC7692_COMPRESSED_FRAGMENT_1: &[u8] = &[0x41, 0x03, 0xf2, 0x48, 0xcd];
/// RFC 7692 §7.2.3.1: the second fragment.
pub const RFC7692_COMPRESSED_FRAGMENT_2: &[u8] = &[0x80, 0x04, 0xc9, 0xc9, 0x07, 0x00];
/// RFC 7692 §7.2.3.2: a second "Hello" after the first, with context takeover (a back-reference).
pub const RFC7692_TAKEOVER_HELLO: &[u8] = &[0xc1, 0x05, 0xf2, 0x00, 0x11, 0x00, 0x00];
/// RFC 7692 §7.2.3.3: "Hello" in a DEFLATE block with no compression.
pub const RFC7692_STORED_HELLO: &[u8] = &[0xc1, 0x0b, 0x00, 0x05, 0x00, 0xfa, 0xff, 0x48, 0x65, 0x6c, 0x6c, 0x6f, 0x00];
